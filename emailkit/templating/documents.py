"""Whether two HTML renderings are the same document, as a browser would read them.

Compiled and per-render HTML are compared after parsing, not as text: an optional end tag
written one way and left out the other (``<li></li><li>``), attribute order or quoting, runs
of whitespace, or a ``style`` written ``a:b;c:d`` against ``a: b; c: d`` make no difference to
the document a client builds. What is compared: the element tree; each element's attributes
(URLs with non-ASCII characters percent-encoded, legacy colours such as ``bgcolor="#c00"``
expanded); its inline style as declarations (property
names lower-cased, values with whitespace collapsed and quotes made alike, a later declaration
of a property replacing an earlier one); its text with whitespace collapsed (text of
whitespace only between elements dropped); and comments (Outlook's conditional comments
carry markup).
"""

from __future__ import annotations

import re
from typing import Any

_SPACE = re.compile(r"\s+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Attributes holding a URL, where a browser reads "é" and "%C3%A9" alike (libxml2, under
# premailer, writes non-ASCII characters of these attributes percent-encoded).
# Legacy colour attributes (premailer writes bgcolor from background-color, expanded).
_COLOUR_ATTRIBUTES = {"bgcolor", "color", "text", "link", "vlink", "alink"}
_SHORT_HEX = re.compile(r"#[0-9a-f]{3}")
_URL_ATTRIBUTES = {"href", "src", "action", "background", "cite", "longdesc", "usemap"}
_IMPORTANT = re.compile(r"\s*!\s*important\s*$", re.IGNORECASE)

Canonical = tuple[Any, ...]


def same_document(first: str, second: str) -> bool:
    """Whether ``first`` and ``second`` parse to the same document (see the module)."""
    return first == second or canonical(first) == canonical(second)


def covers_head(wider: str, narrower: str) -> bool:
    """Whether the ``<head>`` of ``wider`` holds everything the one of ``narrower`` does:
    each of its elements and comments, and each rule of its stylesheets (``@media`` rules
    taken apart). Extra rules are allowed: they style elements the document lacks."""
    import lxml.html

    heads = []
    for html in (wider, narrower):
        try:
            heads.append(lxml.html.document_fromstring(html).find("head"))
        except Exception:
            return False
    outer, inner = heads
    if outer is None or inner is None:
        return outer is None and inner is None
    rules: set[str] = set()
    nodes: set[Canonical] = set()
    for child in outer:
        if child.tag == "style":
            rules.update(css_rules(child.text or ""))
        nodes.add(_node(child))
    for child in inner:
        if child.tag == "style":
            if not css_rules(child.text or "") <= rules:
                return False
        elif _node(child) not in nodes:
            return False
    return True


def css_rules(css: str) -> set[str]:
    """The rules of a stylesheet as whitespace-collapsed text, a rule inside ``@media`` (or
    another grouping at-rule) prefixed with its condition."""
    found: set[str] = set()
    _collect_rules(_SPACE.sub(" ", css), "", found)
    return found


def _collect_rules(css: str, prefix: str, found: set[str]) -> None:
    depth, start, opened = 0, 0, 0
    for at, char in enumerate(css):
        if char == "{":
            if depth == 0:
                opened = at
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                prelude, body = css[start:opened].strip(), css[opened + 1 : at]
                if prelude.startswith("@") and "{" in body:
                    _collect_rules(body, f"{prefix}{prelude}|", found)
                else:
                    declarations = ";".join(d.strip() for d in body.split(";") if d.strip())
                    found.add(f"{prefix}{prelude}{{{declarations}}}")
                start = at + 1
        elif char == ";" and depth == 0:
            if css[start:at].strip():
                found.add(prefix + css[start:at].strip())
            start = at + 1
    if css[start:].strip():
        found.add(prefix + css[start:].strip())


def canonical(html: str) -> Canonical:
    """A comparable form of the parsed document ``html``."""
    import lxml.etree  # here: rendering from the compile cache need not import lxml
    import lxml.html

    try:
        document = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return ("unparsable", _text(html))
    doctype = document.getroottree().docinfo.doctype
    return (_text(doctype), _node(document))


def style_declarations(style: str) -> tuple[tuple[str, str], ...]:
    """``style`` as a browser reads it: the declarations in order, each property once (its
    last declaration, or its last ``!important`` one), empty ones dropped."""
    found: dict[str, tuple[str, bool]] = {}
    for declaration in _split(style):
        name, colon, value = declaration.partition(":")
        name = name.strip().lower()
        if not colon or not name:
            continue
        important = bool(_IMPORTANT.search(value))
        value = _IMPORTANT.sub("", value)
        value = _SPACE.sub(" ", value.replace("'", '"')).strip()
        if not value:
            continue
        if name in found and found[name][1] and not important:
            continue  # an earlier !important one wins
        found.pop(name, None)
        found[name] = (value + (" !important" if important else ""), important)
    return tuple((name, value) for name, (value, _) in found.items())


def _split(style: str) -> list[str]:
    """Declarations split at ``;`` outside quotes and parentheses."""
    out: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in style:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == ";" and depth == 0:
            out.append("".join(current))
            current = []
            continue
        current.append(char)
    out.append("".join(current))
    return out


def _colour(value: str) -> str:
    """A legacy colour attribute as a browser reads it: ``#c00`` is ``#cc0000``."""
    value = value.strip().lower()
    if _SHORT_HEX.fullmatch(value):
        return "#" + "".join(digit * 2 for digit in value[1:])
    return value


def _percent_encoded(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode())


def _text(text: str | None) -> str:
    return _SPACE.sub(" ", text or "").strip()


def _node(element: Any) -> Canonical:
    import lxml.etree

    if element.tag is lxml.etree.Comment:
        return ("#comment", _text(element.text))
    if not isinstance(element.tag, str):  # processing instructions, entities
        return ("#other", _text(str(element)))
    attributes: list[tuple[str, object]] = []
    for name, value in element.attrib.items():
        if name.lower() == "style":
            attributes.append((name.lower(), style_declarations(value)))
        elif name.lower() in _COLOUR_ATTRIBUTES:
            if _colour(value) not in ("", "transparent"):  # a browser ignores those
                attributes.append((name.lower(), _colour(value)))
        elif name.lower() in _URL_ATTRIBUTES:
            attributes.append((name.lower(), _NON_ASCII.sub(_percent_encoded, value.strip())))
        else:
            attributes.append((name.lower(), value))
    children: list[Any] = []
    if _text(element.text):
        children.append(_text(element.text))
    for child in element:
        children.append(_node(child))
        if _text(child.tail):
            children.append(_text(child.tail))
    return (element.tag.lower(), tuple(sorted(attributes)), tuple(children))
