"""The plain-text part, generated from the rendered HTML when an email has no ``body.txt``.

Built on inscriptis, which lays out tables as aligned columns (receipts stay readable) and
skips what CSS hides (the preheader). Links read ``text (url)``, as people write them.
"""

from __future__ import annotations

import re

from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_document_state import HtmlDocumentState
from inscriptis.model.tag import CustomHtmlTagHandlerMapping

# Private-use characters mark where a link starts and ends; replaced once the text is laid out.
_OPEN, _HREF, _CLOSE = "\ue000", "\ue001", "\ue002"
_MARKED_LINK = re.compile(f"{_OPEN}(.*?){_HREF}(.*?){_CLOSE}", re.DOTALL)


def _link_start(state: HtmlDocumentState, attrs: dict[str, str]) -> None:
    href = (attrs.get("href") or "").strip()
    state.link_target = "" if href.startswith("#") else href
    if state.link_target:
        state.tags[-1].write(_OPEN)


def _link_end(state: HtmlDocumentState) -> None:
    if state.link_target:
        state.tags[-1].write(f"{_HREF}{state.link_target}{_CLOSE}")


def _spell_out(match: re.Match[str]) -> str:
    shown, target = match.group(1).strip(), match.group(2)
    bare = target.removeprefix("mailto:")
    if not shown or shown in (target, bare):
        return bare
    return f"{match.group(1)} ({bare})"


_CONFIG = ParserConfig(
    display_images=False,
    display_links=False,
    custom_html_tag_handler_mapping=CustomHtmlTagHandlerMapping(
        start_tag_mapping={"a": _link_start}, end_tag_mapping={"a": _link_end}
    ),
)


def html_to_text(html: str) -> str:
    """Readable plain text for ``html``: paragraphs, aligned tables, ``text (url)`` links."""
    text = _MARKED_LINK.sub(_spell_out, get_text(html, _CONFIG))
    lines = [line.rstrip() for line in text.splitlines()]
    text = "\n".join(lines).strip("\n")
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text + "\n"
