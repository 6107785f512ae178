"""Public transactional templates (tests/corpus, see SOURCE.md): each compiles once and renders
every sample like render-then-premailer, with every network lookup failing."""

from __future__ import annotations

import lxml.html
import pytest

from emailkit import discover
from emailkit.inline import inject_css, inline_css

from .conftest import REPO

CORPUS = REPO / "tests" / "corpus"
EMAILS = discover(CORPUS)

# Emails that still inline on every render, each with the documented reason it must.
JUSTIFIED_FALLBACKS: dict[str, str] = {}

SAMPLES = [
    pytest.param(cls, sample, id=f"{name}/{sample}")
    for name, cls in EMAILS.items()
    for sample in cls.previews()
]


def normalized(html: str) -> str:
    document = lxml.html.document_fromstring(html)
    return " ".join(lxml.html.tostring(document, encoding="unicode").split()).replace("> <", "><")


def test_corpus_is_large_and_varied():
    sources = {name.split("_", 1)[0] for name in EMAILS}
    assert len(EMAILS) >= 15 and len(sources) >= 5
    assert all(set(cls.previews()) >= {"default", "edge"} for cls in EMAILS.values())


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
    naive = inline_css(inject_css(html, compiled.css))
    assert normalized(rendered.html) == normalized(naive)
    assert "<script>" not in rendered.html
    assert "{{" not in rendered.html and "{%" not in rendered.html
