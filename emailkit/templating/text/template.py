"""The plain-text part as a template, derived once from the CSS-inlined HTML template.

Converting each rendered HTML with inscriptis costs about 1 ms a message. Instead the inlined
HTML template is converted once with every Jinja tag swapped for a placeholder word (as the
CSS inlining protects tags): the text inscriptis lays out, with the placeholders put back as
tags, is a template whose render gives the text of the rendered HTML at the cost of a Jinja
render (:mod:`emailkit.templating.text.values` holds what that render does). What that cannot
promise is refused at compile time (:class:`NotCompilable`, the caller converts per render): text
whose layout depends on values (table columns as wide as their values, centred text, ``<pre>``),
tags in layout attributes, statements that the HTML parser moves.
"""

from __future__ import annotations

import re
from typing import Any

from ..tags import Tag, scan
from .html2text import MARKED_LINK, config, is_hidden, prepare, spell_link
from .source import (
    INDENT,
    NotCompilable,
    as_written,
    check_order,
    check_vanished,
    tag_source,
    write_template,
)
from .tables import (
    CELL,
    CELL_START,
    ROW,
    cell_alignment,
    column_table,
    in_columns,
    plain_table,
    spacer_columns,
)
from .values import NARROW

_TABLE_STRUCTURE = {"table", "thead", "tbody", "tfoot"}
_ROWS = {"tr"}
_VOID = {"br", "img", "hr", "input", "meta", "link", "wbr", "area", "col", "embed", "source"}
_LAYOUT_ATTRIBUTES = {"style", "align", "valign", "colspan", "rowspan", "width", "hidden"}
_TRANSPARENT = {"block", "endblock", "with", "endwith", "set"}
_PAD = "w" * NARROW
_WHITE_SPACE_PRE = re.compile(r"white-space\s*:\s*pre", re.IGNORECASE)


def compile_text(source: str, *, cell: bool = False) -> str:
    """Template source for the text of ``source``, a CSS-inlined HTML template (``cell``:
    the content of a table cell, whose edge lines :mod:`emailkit.templating.text.tables` drops)."""
    import lxml.html  # compile time only: a process with warm caches never loads them
    from inscriptis.html_engine import Inscriptis

    parts = scan(source)
    prelude: list[str] = []
    while parts and (_is_blank(parts[0]) or _is_prelude(parts[0])):
        part = parts.pop(0)
        if isinstance(part, Tag):
            prelude.append(part.text)
    items: list[str | int] = []
    tags: list[Tag] = []
    for part in parts:
        if isinstance(part, str):
            items.append(part)
        elif part.kind == "raw":
            items.append(part.raw_content)
        elif part.kind != "comment":
            items.append(len(tags))
            tags.append(part)
    prefix = "ekt"
    while prefix in source:
        prefix += "z"
    token = re.compile(rf"{prefix}(\d+)w*y")

    def html(padded: int, wrapped: set[int]) -> str:
        """The HTML with placeholders; those with ``index % 2 == padded`` made wider."""
        out = []
        for item in items:
            if isinstance(item, str):
                out.append(item)
                continue
            word = f"{prefix}{item}{_PAD if item % 2 == padded else ''}y"
            out.append(f"<tr><td>{word}</td></tr>" if item in wrapped else word)
        return "".join(out)

    def laid_out_with(padded: int) -> str:
        document = lxml.html.document_fromstring(html(padded, wrapped).strip())
        prepare(document)
        _lay_out_at_render(document, value_tables, token, tags, prefix)
        _relocate(document, token, tags)
        text = Inscriptis(document, config()).get_text()
        return "\n".join(line.rstrip() for line in text.split("\n"))

    value_tables: dict[int, int] = {}  # ordinal among the tables -> its tag, once made
    wrapped, columned = _place(html(-1, set()), token, tags, value_tables)
    laid_out = laid_out_with(-1)
    canonical = _canonical(laid_out, token)
    if any(_canonical(laid_out_with(padded), token) != canonical for padded in (0, 1)):
        raise NotCompilable(
            "the text layout depends on how wide values are (a table with several columns "
            "or aligned cells around a tag)"
        )
    found = [int(match.group(1)) for match in token.finditer(laid_out)]
    check_order(tags, [index for index in found if tags[index].kind != "table"])
    check_vanished(tags, set(found))

    def spell_static(match: re.Match[str]) -> str:
        if token.search(match.group()):
            return match.group()  # spelled out at run time, with the values
        return spell_link(match.group(1), match.group(2))

    laid_out = MARKED_LINK.sub(spell_static, laid_out)
    return "".join(prelude) + write_template(laid_out, token, tags, columned, lenient=cell)


def _is_blank(part: str | Tag) -> bool:
    return isinstance(part, str) and not part.strip()


def _is_prelude(part: str | Tag) -> bool:
    return isinstance(part, Tag) and (
        part.kind == "comment" or (part.keyword == "set" and "=" in part.body)
    )


def _relocate(document: Any, token: re.Pattern[str], tags: list[Tag]) -> None:
    """Move statements that open or close an element's content into its first or last
    text: on a line of their own they would count as content, and the margin inscriptis
    drops at the start and end of an element would show. Only statements whose body renders
    once (blocks, include scopes): moving a loop or a condition across the element's
    boundary would change what repeats or what is left out."""

    def statements_only(text: str | None) -> bool:
        if not text or not token.search(text) or token.sub("", text).strip():
            return False
        return all(tags[int(m.group(1))].keyword in _TRANSPARENT for m in token.finditer(text))

    for element in list(document.iter()):
        if not isinstance(element.tag, str) or not len(element):
            continue
        if element.tag in _ROWS or element.tag in _TABLE_STRUCTURE:
            continue
        if statements_only(element.text):
            target = _first_text(element[0])
            if target is not None:
                moved = "".join(m.group() for m in token.finditer(element.text))
                element.text = None
                _put(target, moved, first=True)
        last = element[-1]
        if statements_only(last.tail):
            target = _last_text(last)
            if target is not None:
                moved = "".join(m.group() for m in token.finditer(last.tail))
                last.tail = None
                _put(target, moved, first=False)


def _opaque(element: Any) -> bool:
    return (
        not isinstance(element.tag, str)
        or element.tag in _VOID
        or is_hidden(element.get("style") or "")
    )


def _first_text(element: Any) -> tuple[Any, str] | None:
    """Where the first text of ``element`` goes: (element, "text") or (element, "tail")."""
    if _opaque(element):
        return None
    if element.text and element.text.strip():
        return element, "text"
    if len(element):
        found = _first_text(element[0])
        if found is not None:
            return found
    if element.tag in _TABLE_STRUCTURE or element.tag in _ROWS:
        return None
    return element, "text"


def _last_text(element: Any) -> tuple[Any, str] | None:
    if _opaque(element):
        return None
    if len(element):
        last = element[-1]
        if last.tail and last.tail.strip():
            return last, "tail"
        found = _last_text(last)
        if found is not None:
            return found
        if element.tag not in _TABLE_STRUCTURE and element.tag not in _ROWS:
            return last, "tail"
        return None
    if element.tag in _TABLE_STRUCTURE or element.tag in _ROWS:
        return None
    return element, "text"


def _put(target: tuple[Any, str], tokens: str, *, first: bool) -> None:
    element, where = target
    current = getattr(element, where) or ""
    setattr(element, where, tokens + current if first else current + tokens)


def _canonical(text: str, token: re.Pattern[str]) -> str:
    return token.sub(lambda match: f"\x00{match.group(1)}\x00", text)


def _lay_out_at_render(
    document: Any,
    value_tables: dict[int, int],
    token: re.Pattern[str],
    tags: list[Tag],
    prefix: str,
) -> None:
    """Put a placeholder in place of each table whose columns values size: the text
    template writes its cells there, laid out at render time
    (:mod:`emailkit.templating.text.tables`)."""
    import lxml.html

    if not value_tables:
        return
    tables = document.xpath("//table")
    for ordinal in sorted(value_tables):
        table = tables[ordinal]
        if value_tables[ordinal] < 0:
            value_tables[ordinal] = len(tags)
            tags.append(_table_tag(table, token, tags))
        word = f"{prefix}{value_tables[ordinal]}y"
        placeholder = lxml.html.fromstring(f"<table><tr><td>{word}</td></tr></table>")
        placeholder.tail = table.tail
        table.getparent().replace(table, placeholder)


def _table_tag(table: Any, token: re.Pattern[str], tags: list[Tag]) -> Tag:
    """The text template of ``table``: its rows, each cell its own text template."""
    import lxml.html

    def statement_of(row: Any) -> int | None:
        cells = list(row)
        text = (cells[0].text or "").strip() if len(cells) == 1 and not len(cells[0]) else ""
        match = token.fullmatch(text)
        return int(match.group(1)) if match and tags[int(match.group(1))].kind == "stmt" else None

    first = token.search(lxml.html.tostring(table, encoding="unicode"))
    where = tags[int(first.group(1))] if first else Tag("stmt", "a table", 0)
    reason = plain_table(table, lambda row: statement_of(row) is not None)
    if reason is not None:
        raise NotCompilable(
            f"{as_written(where)} is in a table with several columns, laid out as wide as their "
            f"values ({reason})"
        )
    out = ["{%+ filter _ek_table(" + INDENT + ") +%}"]
    rows = [
        row
        for child in table
        for row in (child if child.tag in ("thead", "tbody", "tfoot") else [child])
        if row.tag == "tr"
    ]
    for row in rows:
        index = statement_of(row)
        if index is not None:
            out.append(tag_source(tags[index]))
            continue
        for cell in row:
            inner = (cell.text or "") + "".join(
                lxml.html.tostring(child, encoding="unicode") for child in cell
            )
            # Literal braces stay text; the placeholders become their tags again.
            inner = inner.replace("{", "&#123;")
            source = token.sub(lambda m: tags[int(m.group(1))].text, inner)
            text = compile_text(f"<table><tr><td>{source}</td></tr></table>", cell=True)
            alignment = cell_alignment(cell)
            out.append(f"{CELL_START}{alignment}{text}{CELL}")
        out.append(ROW)
    out.append("{%+ endfilter +%}")
    return Tag("table", "".join(out), where.lineno, where.origin)


def _place(
    html: str, token: re.Pattern[str], tags: list[Tag], value_tables: dict[int, int]
) -> tuple[set[int], set[int]]:
    """Refuse tags where the text cannot follow them; return the statements between table
    rows, which must be wrapped in a row of their own to stay in place, and the tags in
    tables with several columns (whose values are checked to be no wider than tried)."""
    import lxml.html

    wrapped: set[int] = set()
    columned: set[int] = set()
    document = lxml.html.document_fromstring(html)
    prepare(document)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions: their tags vanish
        for name, value in element.attrib.items():
            for match in token.finditer(name):
                raise NotCompilable(f"{as_written(tags[int(match.group(1))])} writes attributes")
            for match in token.finditer(value):
                tag = tags[int(match.group(1))]
                if tag.kind != "var":
                    raise NotCompilable(f"{as_written(tag)} inside the {name}= attribute")
                if name.lower() == "style" and not _lays_out(value, match.start()):
                    continue  # a colour or a font: nothing the text layout reads
                if name.lower() in _LAYOUT_ATTRIBUTES:
                    raise NotCompilable(f"{as_written(tag)} in {name}= decides the text layout")
        preformatted = any(
            _preformatted(ancestor)
            for ancestor in element.iterancestors()
            if isinstance(ancestor.tag, str)
        )
        parent = element.getparent()
        for text, container in ((element.text, element), (element.tail, parent)):
            if not text or container is None:
                continue
            for match in token.finditer(text):
                index = int(match.group(1))
                tag = tags[index]
                in_cell = container.tag not in _TABLE_STRUCTURE and container.tag not in _ROWS
                if in_cell and in_columns(container) and not spacer_columns(container):
                    table = column_table(container)
                    if table is None:  # centred in a layout table
                        raise NotCompilable(
                            f"{as_written(tag)} is in a table with several columns, laid out as "
                            "wide as their values"
                        )
                    # Columns as wide as their values: laid out when the template renders.
                    value_tables.setdefault(document.xpath("//table").index(table), -1)
                    continue
                if in_columns(container):
                    # A layout table whose other cells are empty: compile_text lays the page
                    # out with placeholders of two widths, refusing it if the text moves.
                    columned.add(index)
                if preformatted or (container is element and _preformatted(element)):
                    raise NotCompilable(f"{as_written(tag)} in preformatted text")
                if container.tag in _TABLE_STRUCTURE:
                    if tag.kind == "var" or tag.kind == "trans":
                        raise NotCompilable(f"{as_written(tag)} prints text between table rows")
                    wrapped.add(index)
                elif container.tag == "tr":
                    raise NotCompilable(f"{as_written(tag)} between the cells of a table row")
    return wrapped, columned


# The properties the text layout reads (inscriptis, and the hiding in
# emailkit.templating.text.html2text).
_LAYOUT_PROPERTIES = re.compile(
    r"^(?:-webkit-)?(?:display|white-space|margin-(?:top|bottom|before|after)|padding-(?:left|"
    r"start)|vertical-align|horizontal-align|mso-hide|max-height)$",
    re.IGNORECASE,
)


def _lays_out(style: str, at: int) -> bool:
    """Whether the value at ``at`` in ``style`` sets a property the text layout reads (or
    stands where a property name goes)."""
    declaration = style[:at].rsplit(";", 1)[-1]
    name, colon, _ = declaration.partition(":")
    return not colon or bool(_LAYOUT_PROPERTIES.match(name.strip()))


def _preformatted(element: Any) -> bool:
    return element.tag in ("pre", "textarea") or bool(
        _WHITE_SPACE_PRE.search(element.get("style") or "")
    )
