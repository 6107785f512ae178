"""The plain-text part, generated from the rendered HTML when an email has no ``body.txt``.

Built on inscriptis, which lays out tables as aligned columns (receipts stay readable) and
skips what CSS hides (the preheader). Links read ``text (url)``, as people write them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # inscriptis is imported on first use: rendering from compiled text needs none
    from inscriptis.model.config import ParserConfig
    from inscriptis.model.html_document_state import HtmlDocumentState

# Private-use characters mark where a link starts and ends; replaced once the text is laid out.
OPEN, HREF, CLOSE = "\ue000", "\ue001", "\ue002"
MARKED_LINK = re.compile(f"{OPEN}(.*?){HREF}(.*?){CLOSE}", re.DOTALL)


def _link_start(state: HtmlDocumentState, attrs: dict[str, str]) -> None:
    href = (attrs.get("href") or "").strip()
    state.link_target = "" if href.startswith("#") else href
    if state.link_target:
        state.tags[-1].write(OPEN)


def _link_end(state: HtmlDocumentState) -> None:
    if state.link_target:
        state.tags[-1].write(f"{HREF}{state.link_target}{CLOSE}")


def spell_link(label: str, target: str) -> str:
    """A link as people write it in plain text: ``label (url)``, or the bare URL when the
    label is empty or says the URL itself."""
    shown = label.strip()
    bare = target.removeprefix("mailto:")
    if not shown or shown in (target, bare):
        return bare
    return f"{label} ({bare})"


def _spell_out(match: re.Match[str]) -> str:
    return spell_link(match.group(1), match.group(2))


@cache
def config() -> ParserConfig:
    """The inscriptis settings: no images, links marked for :func:`tidy` to spell out."""
    from inscriptis.model.config import ParserConfig
    from inscriptis.model.tag import CustomHtmlTagHandlerMapping

    return ParserConfig(
        display_images=False,
        display_links=False,
        custom_html_tag_handler_mapping=CustomHtmlTagHandlerMapping(
            start_tag_mapping={"a": _link_start}, end_tag_mapping={"a": _link_end}
        ),
    )


def html_to_text(html: str) -> str:
    """Readable plain text for ``html``: paragraphs, aligned tables, ``text (url)`` links."""
    import lxml.html
    from inscriptis.html_engine import Inscriptis

    if not html.strip():
        return tidy("")
    document = lxml.html.document_fromstring(html)
    prepare(document)
    return tidy(Inscriptis(document, config()).get_text())


# What hides an element from readers, however the CSS says it (a class rule inlined, or
# `!important`, which inscriptis would take for another display value): preheaders use them.
_HIDING = re.compile(
    r"(?:^|;)\s*(?:display\s*:\s*none|mso-hide\s*:\s*all|max-height\s*:\s*0(?:px|em|%)?)"
    r"\s*(?:!\s*important\s*)?(?:;|$)",
    re.IGNORECASE,
)
_IMPORTANT = re.compile(r"\s*!\s*important", re.IGNORECASE)


def is_hidden(style: str) -> bool:
    """Whether an inline ``style`` hides its element (``display:none``, ``mso-hide:all``
    or ``max-height:0``, with or without ``!important``)."""
    return bool(_HIDING.search(style))


def prepare(document: Any) -> None:
    """Drop the elements a style hides (keeping the text after them) and the ``!important``
    marks inscriptis cannot read, before laying ``document`` out."""
    for element in list(document.iter()):
        style = element.get("style") if isinstance(element.tag, str) else None
        if not style:
            continue
        if is_hidden(style):
            parent = element.getparent()
            if parent is not None:
                element.drop_tree()  # lxml.html: the tail stays in place
            continue
        if "!" in style:
            element.set("style", _IMPORTANT.sub("", style))


def tidy(laid_out: str, spell: Callable[[re.Match[str]], str] = _spell_out) -> str:
    """Finish inscriptis' output: links spelled out, no trailing spaces, no runs of blank
    lines, one final newline."""
    text = MARKED_LINK.sub(spell, laid_out) if OPEN in laid_out else laid_out
    lines = [line.rstrip() for line in text.splitlines()]
    text = "\n".join(lines).strip("\n")
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text + "\n"
