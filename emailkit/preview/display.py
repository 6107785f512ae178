"""How the viewer presents a message: preheader, headers, dark modes, highlighted source."""

from __future__ import annotations

import re
import time
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from html import escape

import lxml.html
from markupsafe import Markup
from markupsafe import escape as escape_markup
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import HtmlLexer

_DARK = re.compile(r"\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.IGNORECASE)
_LIGHT = re.compile(r"\(\s*prefers-color-scheme\s*:\s*light\s*\)", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u034f\u2007\ufeff\u00ad\xa0"), " ")
# Token spans only: pygments closes and reopens a span at each line end, so every line of its
# output is balanced markup that the listing can wrap on its own.
_FORMATTER = HtmlFormatter(nowrap=True)
HIGHLIGHT_CSS = _FORMATTER.get_style_defs(".listing")

# Gmail and Outlook.com darken messages that have no dark styles by inverting their colours;
# images keep theirs. A CSS filter on the page, undone on images, shows much the same.
_INVERSION = (
    "<style>html{filter:invert(1) hue-rotate(180deg);background:#fff}"
    'img,picture,video,[style*="background-image"]{filter:invert(1) hue-rotate(180deg)}'
    "</style>"
)

# Elements whose text an inbox row shows apart from its neighbours' ("Sprocket 2 €10.00").
_BLOCKS = (
    *("address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "header"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "section", "table"),
    *("tbody", "td", "tfoot", "th", "thead", "tr", "ul"),
)

MODES = ("light", "dark", "inverted")
WIDTHS = {"desktop": "800px", "mobile": "375px", "full": "100%"}
TABS = ("html", "text", "source", "headers", "mime", "checks")


def in_mode(html: str, mode: str) -> str:
    """The HTML as a client in ``mode`` would show it.

    ``dark`` applies the email's own ``prefers-color-scheme: dark`` rules, as Apple Mail does;
    ``inverted`` emulates the forced colour inversion of Gmail and Outlook.com.
    """
    if mode == "dark":
        return _LIGHT.sub("(max-width: 0px)", _DARK.sub("(min-width: 0px)", html))
    if mode == "inverted":
        match = _HEAD_END.search(html)
        at = match.start() if match else 0
        return html[:at] + _INVERSION + html[at:]
    return html


def preheader(html: str) -> str:
    """The text an inbox shows after the subject: a hidden preheader, else the body's start."""
    try:
        body = lxml.html.document_fromstring(html).body
    except (ValueError, lxml.etree.ParserError):
        return ""
    if body is None:
        return ""
    for element in body.iter(*_BLOCKS):  # cells, rows and paragraphs read as separate words
        element.tail = " " + (element.tail or "")
        element.text = " " + (element.text or "")
    for element in body.iter():
        style = (element.get("style") or "").replace(" ", "").lower()
        if "display:none" in style:
            text = _clean(element.text_content())
            if text:
                return text[:140]
    for element in body.iter("style", "script", "title"):
        element.drop_tree()
    return _clean(body.text_content())[:140]


def _clean(text: str) -> str:
    return " ".join(text.translate(_INVISIBLE).split())


def headers(eml: bytes) -> list[tuple[str, str]]:
    """The top-level headers of a serialised message, decoded, plus its size."""
    parsed = BytesHeaderParser(policy=default_policy).parsebytes(eml)
    shown = [(name, str(value)) for name, value in parsed.items()]
    shown.append(("Size", f"{len(eml):,} bytes"))
    return shown


def listing(source: str, label: str = "HTML source") -> str:
    """HTML source as a syntax-highlighted, numbered listing.

    Each line is its own element and its number a CSS counter beside it: long lines wrap under
    their own code, numbers stay level with their line at any width, and copying the code
    copies no numbers (generated content is never part of a selection).
    """
    lines = pygments_highlight(source, HtmlLexer(stripnl=False), _FORMATTER).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    digits = len(str(max(len(lines), 1)))
    body = "\n".join(f'<span class="line">{line}</span>' for line in lines)
    return (
        f'<pre class="listing" style="--digits:{digits}" aria-label="{escape(label)}">'
        f"<code>{body}</code></pre>"
    )


_URL = re.compile(r"https://[^\s<>\"')]+[^\s<>\"').,;:]")


def linked(text: str) -> Markup:
    """``text`` escaped, its https URLs (caniemail's notes) links opening in a new tab."""
    out, at = [], 0
    for match in _URL.finditer(text):
        url = match.group(0)
        out += [
            escape_markup(text[at : match.start()]),
            f'<a href="{escape_markup(url)}" target="_blank" ',
        ]
        out.append(f'rel="noopener noreferrer">{escape_markup(url)}</a>')
        at = match.end()
    out.append(escape_markup(text[at:]))
    return Markup("".join(out))


def saved_at(seconds: float | None) -> str:
    """When an outbox message was kept, in local time: ``2026-03-14 09:30``."""
    if not seconds:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))
