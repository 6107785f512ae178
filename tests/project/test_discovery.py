from __future__ import annotations

import pytest

from emailkit import Email, LoadError, TemplateError, default_root, discover

from ..conftest import SHIPPED_ROOT

CLASS = """
from emailkit import Email

class {name}(Email):
    user: str
"""


def test_discovers_every_shipped_email():
    emails = discover(SHIPPED_ROOT)
    assert set(emails) == {"welcome", "password_reset", "receipt", "digest", "newsletter"}
    assert all(issubclass(cls, Email) for cls in emails.values())


def test_discovered_classes_are_the_ones_the_application_imports():
    from emails.welcome import Welcome

    assert discover(SHIPPED_ROOT)["welcome"] is Welcome


def test_every_shipped_email_has_at_least_two_previews():
    for name, cls in discover(SHIPPED_ROOT).items():
        assert len(cls.previews()) >= 2, name


def test_underscore_folders_are_not_emails(emails_root):
    emails_root.write("_layouts/base.html", "<html></html>")
    emails_root.write("hello/__init__.py", CLASS.format(name="Hello"))
    emails_root.write("hello/subject.txt", "Hi {{ user }}")
    emails_root.write("hello/body.txt", "Body")
    emails = discover(emails_root.path)
    assert list(emails) == ["hello"]
    assert emails["hello"](user="Ada").render().subject == "Hi Ada"


def test_root_outside_sys_path_imports_under_a_private_package(emails_root):
    emails_root.write("hello/__init__.py", CLASS.format(name="Hello"))
    emails_root.write("hello/subject.txt", "Hi")
    emails_root.write("hello/body.txt", "Body")
    cls = discover(emails_root.path)["hello"]
    assert cls.__module__.startswith("_emailkit_root_")
    assert discover(emails_root.path)["hello"] is cls


def test_folder_with_templates_but_no_module_is_an_error(emails_root):
    emails_root.write("orphan/subject.txt", "Hi")
    with pytest.raises(TemplateError, match=r"orphan: has templates but no __init__.py"):
        discover(emails_root.path)


def test_folder_with_templates_but_no_class_is_an_error(emails_root):
    emails_root.write("empty/__init__.py", "")
    emails_root.write("empty/subject.txt", "Hi")
    with pytest.raises(TemplateError, match="defines no Email subclass"):
        discover(emails_root.path)


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(TemplateError, match="does not exist"):
        discover(tmp_path / "nope")


def test_default_root_is_emails_in_the_working_directory_or_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("EMAILKIT_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_root() == tmp_path / "emails"
    monkeypatch.setenv("EMAILKIT_ROOT", str(tmp_path / "mail"))
    assert default_root() == tmp_path / "mail"


def test_a_syntax_error_in_an_email_module_names_email_file_and_line(emails_root):
    emails_root.write("hello/__init__.py", CLASS.format(name="Hello") + "    oops(\n")
    emails_root.write("hello/subject.txt", "Hi")
    with pytest.raises(LoadError) as raised:
        discover(emails_root.path)
    error = raised.value
    assert (error.email, error.filename) == ("hello", "hello/__init__.py")
    assert error.lineno in (5, 6)  # where the parser gives up on the open parenthesis
    assert str(error).startswith(f"hello: hello/__init__.py, line {error.lineno}: SyntaxError:")
    assert isinstance(error.__cause__, SyntaxError)


def test_an_exception_while_importing_names_the_line_that_raised(emails_root):
    emails_root.write("hello/helpers.py", "def plan():\n    return PLANS['pro']\n")
    emails_root.write(
        "hello/__init__.py",
        "from emailkit import Email\nfrom .helpers import plan\n\nDEFAULT = plan()\n",
    )
    with pytest.raises(
        LoadError, match=r"^hello: hello/helpers.py, line 2: NameError: name 'PLANS'"
    ):
        discover(emails_root.path)


def test_a_module_that_is_not_utf8_is_a_load_error(emails_root):
    path = emails_root.write("hello/__init__.py", CLASS.format(name="Hello"))
    path.write_bytes(path.read_bytes() + 'NOTE = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(LoadError, match=r"^hello: hello/__init__.py, line 5: SyntaxError: .*utf-8"):
        discover(emails_root.path)


def test_with_an_errors_dict_the_broken_folder_is_recorded_and_the_others_load(emails_root):
    emails_root.write("broken/__init__.py", "import nothing_called_this\n")
    emails_root.write("hello/__init__.py", CLASS.format(name="Hello"))
    emails_root.write("hello/subject.txt", "Hi")
    errors: dict[str, Exception] = {}
    assert list(discover(emails_root.path, errors=errors)) == ["hello"]
    assert isinstance(errors["broken"], LoadError)
    assert "ModuleNotFoundError" in str(errors["broken"])
