"""The on-disk compile cache: a new process reuses compiled emails, never a stale one."""

from __future__ import annotations

from pathlib import Path

import pytest

from emailkit.templating import compilecache, inline
from emailkit.templating import templates as templates_module
from emailkit.templating.templates import Templates

LAYOUT = (
    '<html><head><link rel="stylesheet" href="base.css"></head><body>'
    '<div style="display:none">{% block preheader %}{% endblock %}</div>'
    "{% block content %}{% endblock %}"
    '{% include "_partials/footer.html" %}</body></html>'
)
BODY = (
    '{% extends "_layouts/base.html" %}{% block preheader %}Hidden {{ name }}{% endblock %}'
    '{% block content %}<h1 class="title">Hello {{ name }}</h1>'
    '<p><a href="https://x.test/{{ name }}">your page</a></p>{% endblock %}'
)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(compilecache.VARIABLE, str(folder))
    return folder


@pytest.fixture
def email_folder(emails_root):
    emails_root.write("_layouts/base.css", "h1 { color: red }")
    emails_root.write("_layouts/base.html", LAYOUT)
    emails_root.write("_partials/footer.html", "<p class='footer'>Acme</p>")
    return emails_root.email(
        "note", subject_txt="Hi {{ name }}", body_html=BODY, style_css=".title { margin: 0 }"
    )


def render(root, name="Ada"):
    """Compile and render as a new process would: a fresh Templates on the root."""
    compiled = Templates(root).compiled("note")
    context = {"name": name, "locale": "", "lang": "en", "dir": "ltr"}
    html = compiled.html.render(context)
    text = compiled.generated_text.render(context, html) if compiled.generated_text else None
    return html, text, compiled


def refuse_compiling(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("compiled although the cache holds the result")

    monkeypatch.setattr(inline, "inline_template", fail)
    monkeypatch.setattr(templates_module, "compile_text", fail)


def test_a_new_process_uses_the_cached_html_and_text(cache_dir, email_folder, monkeypatch):
    html, text, compiled = render(email_folder.parent)
    assert (
        'style="color:red' in html
        and text == "Hello Ada\n\nyour page (https://x.test/Ada)\n\nAcme\n"
    )
    assert compiled.text_reason is None
    assert list((cache_dir / "compiled").rglob("*.bin"))
    refuse_compiling(monkeypatch)
    # Checked against the conversion once, in the first process: not again.
    assert Templates(email_folder.parent).compiled("note").generated_text.verified
    assert render(email_folder.parent)[:2] == (html, text)


@pytest.mark.parametrize(
    ("relative", "content", "expected"),
    [
        ("note/body.html", BODY.replace("Hello", "Welcome"), "Welcome"),
        ("note/style.css", ".title { margin: 0; font-weight: bold }", "font-weight:bold"),
        ("_layouts/base.css", "h1 { color: green }", "color:green"),
        ("_layouts/base.html", LAYOUT.replace("<body>", "<body><p>Banner</p>"), "Banner"),
        ("_partials/footer.html", "<p class='footer'>Acme Inc.</p>", "Acme Inc."),
    ],
)
def test_any_edited_source_is_compiled_again(cache_dir, email_folder, relative, content, expected):
    before, _, _ = render(email_folder.parent)
    assert expected not in before
    (email_folder.parent / relative).write_text(content, encoding="utf-8")
    html, text, _ = render(email_folder.parent)
    assert expected in html
    if expected.isalpha():
        assert expected in text


def test_a_corrupt_cache_is_compiled_again(cache_dir, email_folder):
    html, text, _ = render(email_folder.parent)
    files = [path for path in cache_dir.rglob("*") if path.is_file()]
    assert files
    for number, path in enumerate(files):
        path.write_bytes(b"" if number % 2 else b"emailkit-compiled-1\n\x00garbage")
    assert render(email_folder.parent)[:2] == (html, text)


def test_an_entry_from_other_library_versions_is_not_used(cache_dir, monkeypatch):
    cache = compilecache.current()
    assert cache is not None and cache.root == cache_dir
    key = cache.key("html", "note/body.html", "source")
    monkeypatch.setattr(compilecache, "_versions", lambda: "Jinja2=99")
    assert cache.key("html", "note/body.html", "source") != key


def test_the_cache_can_be_moved_or_turned_off(tmp_path, email_folder, monkeypatch):
    monkeypatch.setenv(compilecache.VARIABLE, "off")
    assert compilecache.current() is None
    render(email_folder.parent)
    monkeypatch.delenv(compilecache.VARIABLE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compilecache.directory() == tmp_path / "xdg" / "emailkit"


def test_the_compile_reason_is_cached_too(cache_dir, emails_root, monkeypatch):
    folder = emails_root.email(
        "note",
        subject_txt="Hi",
        body_html='<html><body><table><tr><td colspan="2">{{ name }}</td></tr>'
        "<tr><td>1</td><td>2</td></tr></table></body></html>",
    )
    _, text, compiled = render(folder.parent)
    assert text is None and "several columns" in compiled.text_reason
    refuse_compiling(monkeypatch)
    assert render(folder.parent)[2].text_reason == compiled.text_reason


def test_the_stamp_covers_every_module_of_the_package_subpackages_included():
    """A changed module anywhere in emailkit (templating/text/, mime/...) compiles again."""
    compilecache._versions.cache_clear()
    try:
        stamp = compilecache._versions()
    finally:
        compilecache._versions.cache_clear()
    package = Path(compilecache.__file__).parents[1]
    modules = {str(path.relative_to(package)) for path in package.rglob("*.py")}
    stamped = {line.split(":", 1)[0] for line in stamp.splitlines() if ".py:" in line}
    assert modules == stamped
    assert {"templating/text/template.py", "mime/message.py", "model/email.py"} <= stamped
