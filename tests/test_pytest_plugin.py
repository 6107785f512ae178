"""The snapshot plugin, run by pytester in fresh projects (each pytest run in a subprocess)."""

from __future__ import annotations

import os
import textwrap
import time

import pytest

PYPROJECT = """
[tool.emailkit]
root = "emails"
snapshots = "tests/snapshots"
"""

CLASS = """
from emailkit import Email

class Hello(Email):
    name: str

    @classmethod
    def previews(cls):
        return {"default": cls(name="Ada"), "second": cls(name="Bob")}
"""


@pytest.fixture(autouse=True)
def not_in_ci(monkeypatch):
    """The inner pytest runs write snapshots, which they refuse in CI (this suite's own CI
    sets CI=true); the tests of that refusal set it again."""
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def project(pytester):
    pytester.makefile(".toml", pyproject=PYPROJECT)
    write(pytester, "emails/hello/__init__.py", CLASS)
    write(pytester, "emails/hello/subject.txt", "Hello {{ name }}")
    write(pytester, "emails/hello/body.txt", "Hi {{ name }}.")
    write(
        pytester,
        "emails/hello/body.html",
        "<html><head><style>p{color:red}</style></head>"
        "<body><h1>Hi</h1><p>Hello {{ name }}</p></body></html>",
    )
    (pytester.path / "tests").mkdir()
    return pytester


def write(pytester, relative, content):
    path = pytester.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    path.write_text(textwrap.dedent(content))
    if existed:  # a later mtime, whatever the clock's resolution
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    return path


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_first_run_writes_snapshots_and_reports_them(project):
    result = run(project)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*emailkit snapshots*",
            "new snapshot written: tests/snapshots/hello/default.subject.txt",
            "new snapshot written: tests/snapshots/hello/default.txt",
            "new snapshot written: tests/snapshots/hello/default.html",
        ]
    )
    folder = project.path / "tests" / "snapshots" / "hello"
    assert (folder / "default.subject.txt").read_text() == "Hello Ada\n"
    assert (folder / "second.txt").read_text() == "Hi Bob.\n"
    html = (folder / "default.html").read_text()
    assert '\n    <p style="color:red">Hello Ada</p>\n' in html  # one element per line
    again = run(project, "-v")
    again.assert_outcomes(passed=2)
    again.stdout.fnmatch_lines(["*tests/snapshots::test_email_snapshot?hello/default? PASSED*"])
    assert "new snapshot" not in again.stdout.str()


def test_changed_rendering_fails_with_a_diff_per_part_then_update_accepts_it(project):
    run(project).assert_outcomes(passed=2)
    write(
        project,
        "emails/hello/body.html",
        "<html><body><h1>Hi</h1><p>Howdy {{ name }}</p></body></html>",
    )
    write(project, "emails/hello/subject.txt", "Greetings {{ name }}")
    failed = run(project)
    failed.assert_outcomes(failed=2)
    failed.stdout.fnmatch_lines(
        [
            "*hello/default: the rendered email differs from its snapshot*",
            "--- subject (*default.subject.txt)",
            "-Hello Ada",
            "+Greetings Ada",
            "--- html (*default.html)",
            '*-*<p style="color:red">Hello Ada</p>',
            "*+*<p>Howdy Ada</p>",
            "Run pytest --emailkit-update to accept the new rendering.",
        ]
    )
    updated = run(project, "--emailkit-update")
    updated.assert_outcomes(passed=2)
    updated.stdout.fnmatch_lines(["snapshot updated: tests/snapshots/hello/default.html"])
    snapshot = project.path / "tests" / "snapshots" / "hello" / "default.subject.txt"
    assert snapshot.read_text() == "Greetings Ada\n"
    run(project).assert_outcomes(passed=2)


def test_snapshots_of_removed_samples_are_reported_stale_and_removed_on_update(project):
    run(project).assert_outcomes(passed=2)
    write(project, "emails/hello/__init__.py", CLASS.replace(', "second": cls(name="Bob")', ""))
    result = run(project)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["stale snapshot (its sample is gone): tests/snapshots/hello/second.html"]
    )
    filtered = run(project, "-k", "nothing-matches-this")
    assert "stale snapshot" not in filtered.stdout.str()  # a partial run cannot tell
    run(project, "--emailkit-update").stdout.fnmatch_lines(
        ["stale snapshot removed: tests/snapshots/hello/second.html"]
    )
    assert not (project.path / "tests" / "snapshots" / "hello" / "second.html").exists()


def test_template_error_fails_the_snapshot_test_naming_file_and_line(project):
    write(project, "emails/hello/body.txt", "line one\n{{ nmae }}")
    result = run(project)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*hello: hello/body.txt, line 2: 'nmae' is undefined*"])


def test_a_sample_that_raises_fails_its_own_email_only_and_keeps_its_snapshots(project):
    run(project).assert_outcomes(passed=2)
    write(project, "emails/hello/__init__.py", CLASS.replace('cls(name="Bob")', "cls(name=1 / 0)"))
    write(project, "emails/other/__init__.py", CLASS.replace("Hello", "Other"))
    write(project, "emails/other/subject.txt", "Other {{ name }}")
    write(project, "emails/other/body.txt", "Hi {{ name }}.")
    result = run(project, "--emailkit-update")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "hello: hello/__init__.py, line 9: previews() raised ZeroDivisionError: division by "
            "zero. Fix that sample*",
        ]
    )
    assert "stale" not in result.stdout.str()
    assert (project.path / "tests" / "snapshots" / "hello" / "second.html").exists()


def test_no_snapshot_tests_without_the_setting_and_the_fixture_works_alone(pytester):
    write(pytester, "emails/hello/__init__.py", CLASS)
    write(pytester, "emails/hello/subject.txt", "Hello {{ name }}")
    write(pytester, "emails/hello/body.txt", "Hi {{ name }}.")
    pytester.makepyfile(
        test_mine="""
        import sys
        sys.path.insert(0, ".")
        from emails.hello import Hello

        def test_hello(email_snapshot):
            email_snapshot(Hello(name="Zoe"), "zoe")
        """
    )
    (pytester.path / "emails" / "__init__.py").write_text("")
    run(pytester).assert_outcomes(passed=1)
    stored = pytester.path / "tests" / "snapshots" / "hello" / "zoe.txt"
    assert stored.read_text() == "Hi Zoe.\n"
    stored.write_text("Hi Someone Else.\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*-Hi Someone Else.", "*+Hi Zoe."])


def test_a_scaffolded_email_passes_its_snapshot_tests_at_once(project):
    from click.testing import CliRunner

    from emailkit.cli import main

    created = CliRunner().invoke(
        main, ["--emails", str(project.path / "emails"), "new", "order_shipped"]
    )
    assert created.exit_code == 0, created.output
    run(project).assert_outcomes(passed=4)
    run(project).assert_outcomes(passed=4)


@pytest.mark.parametrize(("env", "args"), [("true", ()), (None, ("--emailkit-ci",))])
def test_in_ci_a_missing_snapshot_fails_instead_of_being_written(project, monkeypatch, env, args):
    if env:
        monkeypatch.setenv("CI", env)
    result = run(project, *args)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*hello/default: no snapshot, and in CI a missing snapshot fails:",
            "*tests/snapshots/hello/default.subject.txt",
            "Run pytest locally (without CI set) to write it, then commit it; or pass "
            "--emailkit-update to write it here.",
        ]
    )
    assert not (project.path / "tests" / "snapshots").exists()
    assert "new snapshot written" not in result.stdout.str()


def test_in_ci_existing_snapshots_pass_and_update_may_write(project, monkeypatch):
    monkeypatch.setenv("CI", "false")  # not CI: written
    run(project).assert_outcomes(passed=2)
    monkeypatch.setenv("CI", "true")
    run(project).assert_outcomes(passed=2)
    write(project, "emails/hello/__init__.py", CLASS.replace('"second"', '"third"'))
    run(project).assert_outcomes(passed=1, failed=1)
    run(project, "--emailkit-update").assert_outcomes(passed=2)
    assert (project.path / "tests" / "snapshots" / "hello" / "third.html").is_file()


def test_in_ci_the_fixture_fails_on_a_missing_snapshot_too(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    write(pytester, "emails/hello/__init__.py", CLASS)
    write(pytester, "emails/hello/subject.txt", "Hello {{ name }}")
    write(pytester, "emails/hello/body.txt", "Hi {{ name }}.")
    (pytester.path / "emails" / "__init__.py").write_text("")
    pytester.makepyfile(
        test_mine="""
        import sys
        sys.path.insert(0, ".")
        from emails.hello import Hello

        def test_hello(email_snapshot):
            email_snapshot(Hello(name="Zoe"), "zoe")
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*hello/zoe: no snapshot, and in CI a missing snapshot fails:"])
    assert not (pytester.path / "tests" / "snapshots").exists()


def test_one_failing_test_per_broken_sample_and_per_email_that_does_not_import(project):
    write(
        project,
        "emails/hello/__init__.py",
        CLASS.replace('"second": cls(name="Bob")', '"second": cls(name=2), "third": cls()'),
    )
    write(project, "emails/broken/__init__.py", "import nothing_called_this\n")
    write(project, "emails/broken/subject.txt", "Hi")
    result = run(project)
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED tests/snapshots::test_email_snapshot?broken? - *",
            "FAILED tests/snapshots::test_email_snapshot?hello/second? - *",
            "FAILED tests/snapshots::test_email_snapshot?hello/third? - *",
        ]
    )
    result.stdout.fnmatch_lines_random(
        [
            "*hello: hello/__init__.py, line 9: sample 'second' cannot be built: Hello: field "
            "name must be str, got int 2*",
            "*hello: hello/__init__.py, line 9: sample 'third' cannot be built: Hello is missing "
            "field 'name'*",
            "*broken: broken/__init__.py, line 1: ModuleNotFoundError: No module named "
            "'nothing_called_this'*",
        ]
    )


def test_emails_import_the_projects_code_and_are_the_classes_tests_import(project, monkeypatch):
    """No pythonpath setting: the plugin puts the project's root on sys.path, as flask run does
    (PYTHONSAFEPATH keeps `python -m pytest` from putting it there first)."""
    monkeypatch.setenv("PYTHONSAFEPATH", "1")
    write(project, "shop_models.py", "GREETING = 'Hello'\n")
    write(project, "emails/__init__.py", "")
    write(
        project,
        "emails/hello/__init__.py",
        "from shop_models import GREETING\n" + CLASS,
    )
    write(
        project,
        "tests/test_same_class.py",
        """
        from emailkit import discover
        from emails.hello import Hello

        def test_one_class():
            assert discover("emails")["hello"] is Hello
            assert Hello.__module__ == "emails.hello"
        """,
    )
    result = run(project)
    result.assert_outcomes(passed=3)
