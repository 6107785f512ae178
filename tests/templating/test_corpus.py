"""Public transactional templates (tests/corpus, see SOURCE.md): each compiles once and renders
every sample like render-then-premailer, with every network lookup failing."""

from __future__ import annotations

import pytest

from emailkit import discover
from emailkit.templating.documents import canonical
from emailkit.templating.inline import inject_css, inline_css
from emailkit.templating.mjml import compiler as mjml

from ..conftest import REPO

CORPUS = REPO / "tests" / "corpus"
EMAILS = discover(CORPUS)

# Emails that still inline on every render, each with the documented reason it must.
JUSTIFIED_FALLBACKS: dict[str, str] = {}

SAMPLES = [
    pytest.param(cls, sample, id=f"{name}/{sample}")
    for name, cls in EMAILS.items()
    for sample in cls.previews()
]


def test_corpus_is_large_and_varied():
    sources = {name.split("_", 1)[0] for name in EMAILS}
    assert len(EMAILS) >= 31 and len(sources) >= 11
    assert sum(cls.templates().compiled(name).mjml for name, cls in EMAILS.items()) >= 4
    assert all(set(cls.previews()) >= {"default", "edge"} for cls in EMAILS.values())


def test_at_least_95_percent_compile_once(no_network):
    compiled = [cls.templates().compiled(name) for name, cls in EMAILS.items()]
    assert sum(c.inline_reason is None for c in compiled) >= 0.95 * len(compiled)


@pytest.mark.parametrize("name", sorted(EMAILS))
def test_every_corpus_email_compiles_once(name, no_network):
    compiled = EMAILS[name].templates().compiled(name)
    assert compiled.inline_reason == JUSTIFIED_FALLBACKS.get(name)


@pytest.mark.parametrize(("cls", "sample"), SAMPLES)
def test_corpus_sample_renders_like_render_then_premailer(cls, sample, no_network):
    email = cls.previews()[sample]
    compiled = cls.templates().compiled(cls.email_name)
    rendered = email.render()
    assert rendered.subject and rendered.html
    html = compiled.html_source.render(email.template_context())
    if compiled.mjml:
        html = mjml.to_html(html, str(compiled.html_source.name))
    naive = inline_css(inject_css(html, compiled.css))
    assert canonical(rendered.html) == canonical(naive)
    assert "<script>" not in rendered.html
    assert "{{" not in rendered.html and "{%" not in rendered.html
