"""Checks of the text part: present, no markup written into body.txt, the HTML's links in it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..model.email import Email
from ..templating.templates import HTML, TEXT
from ..templating.text.html2text import html_to_text
from ..templating.text.values import Irregular, finish
from . import Finding
from .source import EmailSources

if TYPE_CHECKING:
    from .markup import Sample

_TAG_IN_TEXT = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|&(nbsp|amp|lt|gt|quot|#\d+);")
_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")


def check_sample(cls: type[Email], sample: Sample) -> list[Finding]:
    text = sample.rendered.text
    if not text.strip():
        return [
            Finding.of(
                cls,
                "error",
                "text.empty",
                "the text part is empty",
                "write body.txt, or put readable content in body.html",
                sample.name,
            )
        ]
    if sample.document is None:
        return []
    findings = []
    for anchor in sample.document.iter("a"):
        href = (anchor.get("href") or "").strip()
        label = " ".join(anchor.text_content().split())
        if href.startswith(("http://", "https://")) and label and href not in text:
            findings.append(
                Finding.of(
                    cls,
                    "info",
                    "text.link-missing",
                    f"the link {label!r} ({href}) is not in the text part",
                    "add the URL to body.txt so text-only readers can follow it",
                    sample.name,
                )
            )
    return findings


def check_generated(cls: type[Email], samples: list[Sample]) -> list[Finding]:
    """Without body.txt: whether the text is generated at compile time, and, for every
    sample, that the generated text is the conversion of its HTML."""
    findings = []
    for locale in sorted({sample.rendered.locale or "" for sample in samples}):
        compiled = cls.templates().compiled(cls._require_folder().name, locale or None)
        if compiled.text is not None or compiled.html is None:
            continue
        if compiled.generated_text is None:
            findings.append(
                Finding.of(
                    cls,
                    "info",
                    "text.per-render",
                    "the text part is converted from body.html on every render (about 1 ms "
                    f"a message): {compiled.text_reason}",
                    "write body.txt, or change the construct the message names so the text can be "
                    "compiled once",
                    where=(f"{compiled.name}/{HTML}", None),
                )
            )
            continue
        for sample in samples:
            if (sample.rendered.locale or "") != locale or sample.rendered.html is None:
                continue
            context = sample.email.template_context(locale or None)
            if compiled.content_locale != compiled.locale:
                continue  # render() adjusts lang and dir; its first render is verified
            try:
                text = finish(compiled.generated_text.template.render(context))
            except Irregular:
                continue  # this sample's text is converted per render: exact
            expected = html_to_text(sample.rendered.html)
            if text != expected:
                findings.append(
                    Finding.of(
                        cls,
                        "warning",
                        "text.generated-differs",
                        "the text generated at compile time differs from the conversion of "
                        "the HTML for this sample; emailkit converts on every render when it "
                        "sees this",
                        "write body.txt, and report the template shape to emailkit",
                        sample.name,
                        where=(f"{compiled.name}/{HTML}", None),
                    )
                )
    return findings


def check_template(cls: type[Email], sources: EmailSources) -> list[Finding]:
    """Markup written into body.txt: it shows up literally in plain-text clients."""
    if TEXT not in sources.parts:
        return []
    name = f"{sources.folder}/{TEXT}"
    findings = []
    for number, line in enumerate(sources.text_lines(name), 1):
        for match in _TAG_IN_TEXT.finditer(_JINJA_TAG.sub("", line)):
            findings.append(
                Finding.of(
                    cls,
                    "warning",
                    "text.markup",
                    f"body.txt contains markup {match.group()!r}",
                    "write plain text: tags and entities show up as they are",
                    where=(name, number),
                )
            )
    return findings
