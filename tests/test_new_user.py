"""What a new user's first emails get wrong, and the one clear error each gets: in the library,
the command line, the checks and the preview."""

from __future__ import annotations

import json
import re
import sys

import pytest
from click.testing import CliRunner

from emailkit import discover
from emailkit.checks import run_checks
from emailkit.cli import main
from emailkit.errors import ContextError, SampleError, TemplateError
from emailkit.model.email import preview_samples
from emailkit.preview import create_preview_app

from .cli.test_cli import emailkit, one_line_error
from .conftest import REPO

RAISING = """\
from emailkit import Email


class Broken(Email):
    name: str

    @classmethod
    def previews(cls):
        names = ["Ada"]
        return {"default": cls(name=names[3])}
"""

GOOD = """\
from emailkit import Email


class Good(Email):
    name: str = "Ada"

    @classmethod
    def previews(cls):
        return {"default": cls()}
"""


def make(emails_root, name, module, **files):
    emails_root.write(f"{name}/__init__.py", module)
    return emails_root.email(name, subject_txt="Hi", **files)


@pytest.fixture
def broken_root(emails_root):
    make(emails_root, "broken", RAISING, body_txt="Hi {{ name }}")
    make(emails_root, "good", GOOD, body_txt="Hi {{ name }}")
    return emails_root


def test_a_sample_that_raises_names_the_email_file_and_line(broken_root):
    emails = discover(broken_root.path)
    with pytest.raises(SampleError) as raised:
        preview_samples(emails["broken"])
    error = raised.value
    assert (error.email, error.filename, error.lineno) == ("broken", "broken/__init__.py", 10)
    assert "previews() raised IndexError: list index out of range" in str(error)
    assert list(preview_samples(emails["good"])) == ["default"]


def test_previews_returning_no_dict_of_samples_is_a_sample_error(emails_root):
    make(emails_root, "listed", GOOD.replace('{"default": cls()}', "[cls()]"), body_txt="Hi")
    with pytest.raises(SampleError, match=r"previews\(\) returned a list, not a dict"):
        preview_samples(discover(emails_root.path)["listed"])


def test_cli_list_render_and_check_report_the_raising_sample_in_one_line(broken_root):
    listing = emailkit("list", root=broken_root.path)
    assert listing.exit_code == 1, listing.output  # after listing the others
    assert "Traceback" not in listing.output
    assert "  (no samples: broken: broken/__init__.py, line 10: previews() raised IndexError" in (
        listing.output
    )
    assert "  default              Hi" in listing.output  # the other email is still listed
    line = one_line_error(emailkit("render", "broken", root=broken_root.path))
    assert line.startswith("Error: broken: broken/__init__.py, line 10: previews() raised ")
    assert emailkit("render", "good", "-p", "text", root=broken_root.path).output == "Hi Ada\n"
    report = run_checks(discover(broken_root.path))
    (finding,) = [f for f in report.findings if f.check == "render.previews"]
    assert (finding.severity, finding.file, finding.line) == ("error", "broken/__init__.py", 10)


def test_the_preview_shows_the_raising_sample_with_its_file_and_line(broken_root):
    client = create_preview_app(broken_root.path, TESTING=True).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "broken/__init__.py" in page and "IndexError" in page
    assert "list index out of range" in page
    assert client.get("/good/default").status_code == 200


def test_an_unclosed_block_says_where_it_was_opened(emails_root):
    make(
        emails_root,
        "open",
        GOOD,
        body_html="<p>one</p>\n{% for i in [1] %}\n{% if name %}\n<p>x</p>\n{% endfor %}\n",
    )
    cls = discover(emails_root.path)["open"]
    with pytest.raises(TemplateError) as raised:
        cls().render()
    message = str(raised.value)
    assert "open/body.html, line 5: syntax error: Encountered unknown tag 'endfor'" in message
    assert "is 'if' (the {% if %} opened at line 3). Fix the template syntax" in message
    assert ".." not in message
    emails_root.write("open/body.html", "<p>one</p>\n{% set x = 1 %}{% if name %}\n<p>x</p>\n")
    line = one_line_error(emailkit("render", "open", root=emails_root.path))
    assert "line 3: syntax error: Unexpected end of template." in line
    assert "is 'if' (the {% if %} opened at line 2). Fix" in line


@pytest.mark.parametrize("name", ["order-shipped", "café", "Ünïcode_2"])
def test_dashes_dots_and_non_ascii_name_an_email(emails_root, name):
    make(emails_root, name, GOOD, body_html="<p>{{ name }}</p>")
    result = emailkit("render", name, root=emails_root.path)
    assert result.exit_code == 0, result.output
    assert "<p>Ada</p>" in result.output


@pytest.mark.parametrize("name", ["order shipped", "promo!", "v2.reminder"])
def test_a_folder_name_that_cannot_name_an_email_is_one_line_saying_how_to_rename(
    emails_root, name
):
    make(emails_root, name, GOOD, body_html="<p>hi</p>")
    line = one_line_error(emailkit("render", name, root=emails_root.path))
    assert line.startswith(f"Error: {name}: the folder name {name!r} cannot name an email. ")
    listing = emailkit("list", root=emails_root.path)
    assert listing.exit_code == 1
    assert f"(does not load: {name}: the folder name {name!r} cannot name" in listing.output
    assert "Rename the folder with letters, digits, '_' and '-' only" in line
    errors: dict[str, Exception] = {}
    assert discover(emails_root.path, errors=errors) == {}
    assert isinstance(errors[name], TemplateError)


def test_cli_send_takes_the_sender_from_pyproject(smtp_server, tmp_path, monkeypatch, emails_root):
    make(emails_root, "good", GOOD, body_txt="Hi {{ name }}")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.emailkit]\nroot = "emails"\nsender = "Beta Mail <hello@beta.example.com>"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAIL_DEFAULT_SENDER", raising=False)
    env = {"MAIL_SERVER": smtp_server.host, "MAIL_PORT": str(smtp_server.port)}
    result = emailkit("send", "good", "--to", "qa@example.com", root=emails_root.path, env=env)
    assert result.exit_code == 0, result.output
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "hello@beta.example.com"
    assert b"From: Beta Mail <hello@beta.example.com>" in envelope.content


def test_a_text_only_email_opens_on_its_text_and_has_no_html_url(emails_root):
    make(emails_root, "note", GOOD, body_txt="Just {{ name }}.")
    client = create_preview_app(emails_root.path, TESTING=True).test_client()
    page = client.get("/note/default").get_data(as_text=True)
    assert 'data-tab="text"' in page
    assert 'data-tab="html"' in client.get("/note/default?tab=html").get_data(as_text=True)
    missing = client.get("/note/default.html")
    assert missing.status_code == 404
    assert "note has no HTML part: it is a text-only email" in missing.get_data(as_text=True)
    assert client.get("/note/default.txt").get_data(as_text=True) == "Just Ada."


def test_export_names_an_email_whose_samples_raise_and_exits_1(broken_root, tmp_path):
    result = CliRunner().invoke(
        main, ["--emails", str(broken_root.path), "export", str(tmp_path / "site")]
    )
    assert result.exit_code == 1, result.output
    assert (
        "does not load, left out (the index says why): broken: broken/__init__.py, line 10: "
        "previews() raised IndexError: list index out of range." in result.output
    )
    assert (tmp_path / "site" / "good" / "default.html").is_file()
    assert "list index out of range" in (tmp_path / "site" / "index.html").read_text()


# Issue 24: a new user's first hour, second pass.

LINE_ITEMS = """\
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from emailkit import Email


@dataclass
class LineItem:
    name: str
    quantity: int
    price: Decimal


class Order(Email):
    items: list[LineItem]

    @classmethod
    def previews(cls):
        return {{
            "default": cls(items=[LineItem("Sprocket", 2, Decimal("10.00"))]),
            "broken": cls(items={broken}),
        }}
"""


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ("[1, 2]", "field items[0] must be LineItem, got int 1"),
        ('[{"name": "Gear"}]', "field items[0] must be LineItem, got dict {'name': 'Gear'}"),
        (
            '[LineItem("A", 1, Decimal(1)), LineItem("B", "four", Decimal(2))]',
            "field items[1].quantity must be int, got str 'four'",
        ),
    ],
)
def test_list_items_are_checked_naming_the_field_and_index(emails_root, items, message):
    make(emails_root, "order", LINE_ITEMS.format(broken=items), body_txt="{{ items|length }}")
    cls = discover(emails_root.path)["order"]
    with pytest.raises(ContextError, match=re.escape(f"Order: {message}; pass a value")):
        cls.previews()
    # the other sample still works everywhere, the broken one is named with its line
    broken: dict[str, SampleError] = {}
    assert list(preview_samples(cls, broken)) == ["default"]
    assert (broken["broken"].filename, broken["broken"].lineno) == ("order/__init__.py", 23)
    assert f"sample 'broken' cannot be built: Order: {message}" in str(broken["broken"])


def test_a_sample_that_cannot_be_built_breaks_only_itself_in_the_cli(emails_root):
    make(emails_root, "order", LINE_ITEMS.format(broken="[1]"), body_txt="{{ items|length }}")
    make(emails_root, "good", GOOD, body_txt="Hi {{ name }}")
    listing = emailkit("list", root=emails_root.path)
    assert listing.exit_code == 1
    assert "  default              Hi" in listing.output
    assert "  broken               (cannot be built: order: order/__init__.py, line 23: " in (
        listing.output
    )
    assert emailkit("render", "order", "-p", "text", root=emails_root.path).output == "1\n"
    line = one_line_error(emailkit("render", "order", "-s", "broken", root=emails_root.path))
    assert "sample 'broken' cannot be built" in line
    checked = emailkit("check", "--format", "json", root=emails_root.path)
    assert checked.exit_code == 1
    (finding,) = [f for f in json.loads(checked.output)["findings"] if f["severity"] == "error"]
    assert (finding["sample"], finding["file"], finding["line"]) == (
        "broken",
        "order/__init__.py",
        23,
    )


def test_an_email_that_does_not_import_breaks_only_itself_in_the_cli(emails_root):
    emails_root.write("broken/__init__.py", "import nothing_called_this\n")
    make(emails_root, "good", GOOD, body_txt="Hi {{ name }}")
    listing = emailkit("list", root=emails_root.path)
    assert listing.exit_code == 1
    assert "broken\n  (does not load: broken: broken/__init__.py, line 1: " in listing.output
    assert "good\n  default              Hi" in listing.output
    assert emailkit("render", "good", "-p", "text", root=emails_root.path).output == "Hi Ada\n"
    checked = emailkit("check", root=emails_root.path)
    assert checked.exit_code == 1
    assert "does not load: ModuleNotFoundError" in checked.output and "good" in checked.output


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder as the working directory; sys.path restored and the modules imported
    from it forgotten afterwards."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None) or "".join(getattr(module, "__path__", []))
        if where.startswith(str(tmp_path)):
            del sys.modules[name]


def test_emails_import_the_projects_code_and_load_as_its_package(project):
    (project / "first_hour_models.py").write_text("GREETING = 'Hello'\n")
    root = project / "first_hour_mail"
    (root / "hello").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "hello" / "__init__.py").write_text(
        "from first_hour_models import GREETING\n" + GOOD.replace("Good", "Hello")
    )
    (root / "hello" / "subject.txt").write_text("Hi")
    (root / "hello" / "body.txt").write_text("Hi {{ name }}")
    listing = CliRunner().invoke(main, ["--emails", str(root), "list"])
    assert listing.exit_code == 0, listing.output
    cls = discover(root)["hello"]
    assert cls.__module__ == "first_hour_mail.hello"
    from first_hour_mail.hello import Hello  # type: ignore[import-not-found]

    assert cls is Hello


def test_a_root_inside_a_package_loads_by_its_dotted_name(project, monkeypatch):
    root = project / "first_hour_app" / "notifications"
    (root / "hello").mkdir(parents=True)
    (project / "first_hour_app" / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "hello" / "__init__.py").write_text(GOOD.replace("Good", "Hello"))
    (root / "hello" / "subject.txt").write_text("Hi")
    assert discover(root)["hello"].__module__ == "first_hour_app.notifications.hello"


@pytest.mark.parametrize("name", ["order-shipped", "2fa", "café"])
def test_new_accepts_every_name_the_loader_accepts(emails_root, name, project):
    created = emailkit("new", name, root=emails_root.path)
    assert created.exit_code == 0, created.output
    listing = emailkit("list", root=emails_root.path)
    assert listing.exit_code == 0, listing.output
    assert f"{name}\n  default " in listing.output


@pytest.mark.parametrize("name", ["_layouts", "order shipped", "v2.reminder", "promo!"])
def test_new_refuses_the_names_the_loader_refuses(emails_root, name):
    line = one_line_error(emailkit("new", name, root=emails_root.path))
    assert f"{name!r} cannot name an email: use letters, digits, '_' and '-', not starting" in line
    assert not (emails_root.path / name).exists()


def test_the_readme_says_one_thing_about_email_names():
    readme = (REPO / "README.md").read_text()
    assert "lower-case letters" not in readme
    rules = re.findall(r"folder name may hold ([^;)]*)", readme)
    assert [" ".join(rule.split()) for rule in rules] == [
        "letters, digits, `_` and `-`, not starting with `_`"
    ], rules


def test_a_block_tag_ending_a_line_of_text_keeps_its_line_break(emails_root):
    make(
        emails_root,
        "coupon",
        GOOD.replace('name: str = "Ada"', 'name: str = "Ada"\n    coupon: str = "SPRING"'),
        body_txt=(
            "Hi {{ name }}\n{% if coupon %}\nCoupon applied: {{ coupon }}{% endif %}\n"
            "View your order\n{% for i in [1, 2] %}\n- item {{ i }}{# no break lost #}\n"
            "{% endfor %}\nBye {%- if coupon %} now{% endif %}\n"
        ),
        body_html="<p>{% if coupon %}{{ coupon }}{% endif %}\n</p>",
    )
    rendered = discover(emails_root.path)["coupon"]().render()
    assert rendered.text == (
        "Hi Ada\nCoupon applied: SPRING\nView your order\n- item 1\n- item 2\nBye now"
    )
    assert "<p>SPRING</p>" in rendered.html  # HTML keeps trim_blocks as before


def test_the_preheader_keeps_table_cells_apart():
    from emailkit.preview.display import preheader

    html = (
        "<html><body><h1>Thanks</h1><table><tr><td>Sprocket</td><td>2</td><td>€10.00</td></tr>"
        "<tr><td>Gear — <b>large</b></td><td>1</td><td>€22.50</td></tr></table></body></html>"
    )
    assert preheader(html) == "Thanks Sprocket 2 €10.00 Gear — large 1 €22.50"


def test_client_support_findings_name_file_line_and_sample(emails_root):
    make(
        emails_root,
        "flex",
        GOOD.replace('{"default": cls()}', '{"default": cls(), "plain": cls(name="")}'),
        body_html=(
            '<!DOCTYPE html>\n<html lang="{{ lang }}">\n<head><title>x</title></head>\n<body>\n'
            '{% if name %}<div style="display: flex">{{ name }}</div>{% endif %}\n</body>\n</html>'
        ),
    )
    report = run_checks(discover(emails_root.path))
    (flex,) = [f for f in report.findings if f.check == "support.css-display-flex"]
    assert (flex.file, flex.line, flex.sample) == ("flex/body.html", 5, "default")
    assert not [f for f in report.findings if f.check == "support.html-body"]


def test_a_fresh_mjml_scaffold_and_the_starter_pass_check_without_a_warning(emails_root, project):
    assert emailkit("init", root=emails_root.path).exit_code == 0
    assert emailkit("new", "promo", "--mjml", root=emails_root.path).exit_code == 0
    assert emailkit("new", "order-shipped", root=emails_root.path).exit_code == 0
    report = run_checks(discover(emails_root.path))
    assert [f for f in report.findings if f.severity != "info"] == []
    hints = [f.hint for f in report.findings]
    assert not [hint for hint in hints if hint.rstrip().endswith(("named", "the"))]


def test_the_html_scaffold_writes_the_locale_language_and_direction(emails_root):
    make(emails_root, "good", GOOD, body_txt="Hi")
    assert emailkit("new", "alone", root=emails_root.path).exit_code == 0
    source = (emails_root.path / "alone" / "body.html").read_text()
    assert '<html lang="{{ lang }}" dir="{{ dir }}">' in source
    html = discover(emails_root.path)["alone"].previews()["default"].render().html
    assert '<html lang="en" dir="ltr">' in html


def test_send_without_a_sender_says_how_to_set_one(emails_root, monkeypatch, tmp_path):
    make(emails_root, "good", GOOD, body_txt="Hi {{ name }}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAIL_DEFAULT_SENDER", raising=False)
    env = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": "9"}
    line = one_line_error(
        emailkit("send", "good", "--to", "qa@example.com", root=emails_root.path, env=env)
    )
    assert "pass --sender" in line and "under [tool.emailkit] in pyproject.toml" in line


def test_send_takes_the_sender_option(smtp_server, emails_root, monkeypatch, tmp_path):
    make(emails_root, "good", GOOD, body_txt="Hi {{ name }}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAIL_DEFAULT_SENDER", raising=False)
    env = {"MAIL_SERVER": smtp_server.host, "MAIL_PORT": str(smtp_server.port)}
    result = emailkit(
        "send",
        "good",
        "--to",
        "qa@example.com",
        "--sender",
        "QA <qa-bot@acme.example.com>",
        root=emails_root.path,
        env=env,
    )
    assert result.exit_code == 0, result.output
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "qa-bot@acme.example.com"


def test_the_preview_shows_the_other_samples_of_an_email_with_a_broken_one(emails_root):
    make(emails_root, "order", LINE_ITEMS.format(broken="[1]"), body_txt="{{ items|length }}")
    client = create_preview_app(emails_root.path, TESTING=True).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "order/broken" in page and "sample &#39;broken&#39; cannot be built" in page
    assert client.get("/order/default").status_code == 200
    broken = client.get("/order/broken")
    assert broken.status_code == 500
    assert "field items[0] must be LineItem, got int 1" in broken.get_data(as_text=True)


def _readme_tour_tree() -> set[str]:
    readme = (REPO / "README.md").read_text()
    tour = readme[readme.index("## A tour") :]
    start = tour.index("```\nemails/\n") + 4
    block = tour[start : tour.index("```", start)]
    paths, folder = set(), ""
    for line in block.splitlines()[1:]:
        entry = line.split("#")[0].rstrip()
        name = entry.strip()
        if name.endswith("/"):
            folder = name
        elif name:
            paths.add((folder if entry.startswith("    ") else "") + name)
    return paths


def test_the_readme_tour_shows_what_emailkit_init_writes(emails_root):
    root = emails_root.path / "new"
    result = emailkit("init", root=root)
    assert result.exit_code == 0, result.output
    written = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert _readme_tour_tree() == written
    module = (root / "welcome" / "__init__.py").read_text()
    readme = (REPO / "README.md").read_text()
    tour_class = readme[readme.index("class Welcome(Email):  # emails/welcome/__init__.py") :]
    for field in ("    user_name: str", "    confirm_url: str", '    plan: str = "free"'):
        assert field in tour_class and field in module
    assert (
        '"default": cls(user_name="Ada Lovelace", confirm_url="https://example.com/confirm/1")'
        in module
    )
    again = emailkit("init", root=root)
    assert again.exit_code == 1 and "is not empty; emailkit init starts a new emails root" in (
        again.output
    )


def test_the_first_new_email_in_an_empty_root_gets_the_starters_layout(emails_root, project):
    root = emails_root.path / "fresh"
    assert emailkit("new", "promo", root=root).exit_code == 0
    assert (root / "_layouts" / "base.html").is_file() and (root / "_assets" / "logo.png").is_file()
    assert not (root / "welcome").exists()
    html = discover(root)["promo"].previews()["default"].render().html
    assert 'class="button"' in html and "prefers-color-scheme: dark" in html
