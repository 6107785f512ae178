"""Tables whose column widths values decide, laid out when the text template renders.

inscriptis lays a table out as aligned columns, each as wide as its widest cell, so a value in
one cell moves the cells after it. Rather than convert the whole HTML on every render, the
compiled text template writes such a table as its cells (each cell's own text template, with
its alignment) between markers, and :func:`lay_out` pads them into columns the way inscriptis
does (widths from the rendered cells, cells aligned in their column and row, joined by two
spaces). Only plain tables are done so: cells holding inline content (no block, no nested
table), no ``colspan``/``rowspan``; :func:`plain_table` says which.
"""

from __future__ import annotations

import re
from typing import Any

from .values import SOFT, collapse_soft

# Markers the text template writes around each cell (its alignment after the start) and after
# each row; values holding them are converted per render (emailkit.templating.text.values).
CELL_START, CELL, ROW = "\x1d", "\x1f", "\x1e"
# A cell as the text template writes it: its start, alignment and vertical alignment, text, end.
_CELLS = re.compile(f"{CELL_START}(.)(.)([^{CELL}]*){CELL}", re.DOTALL)
_ALIGN = {"left": "<", "right": ">", "center": "^"}
_LAYOUT_ALIGNED = {"center", "right", "middle"}
_ALIGNED = {"<": str.ljust, ">": str.rjust, "^": str.center}
_TRAILING = " " + SOFT
_VALIGN = {"top": "0", "middle": "1", "bottom": "2"}
_INLINE = {"span", "b", "strong", "i", "em", "a", "br", "small", "code", "font", "u", "sup", "sub"}


def plain_table(table: Any, is_statement_row: Any) -> str | None:
    """Why ``table`` cannot be laid out at render time, or None when it can."""
    for row in _rows(table, is_statement_row):
        if row is None:
            continue
        for cell in row:
            if cell.tag not in ("td", "th") or cell.get("colspan") or cell.get("rowspan"):
                return "a cell spanning columns"
            for inner in cell.iter():
                if inner is not cell and isinstance(inner.tag, str) and inner.tag not in _INLINE:
                    return f"a <{inner.tag}> inside a cell"
    return None


def _rows(table: Any, is_statement_row: Any) -> list[Any]:
    """The table's rows in order, ``None`` for a row that only wraps a statement."""
    rows: list[Any] = []
    for child in table:
        if child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(None if is_statement_row(row) else list(row) for row in child)
        elif child.tag == "tr":
            rows.append(None if is_statement_row(child) else list(child))
    return rows


def cell_alignment(cell: Any) -> str:
    """The cell's horizontal and vertical alignment as inscriptis reads them (its own
    ``align``, ``valign`` and ``style`` attributes, in their order), e.g. ``">1"``."""
    align, valign = "<", "1"
    for element in (cell,):
        for name, value in element.attrib.items():
            if name == "style":
                for directive in value.lower().split(";"):
                    key, _, setting = (s.strip() for s in directive.partition(":"))
                    key = key.replace("-webkit-", "")
                    if key == "horizontal-align" and setting in _ALIGN:
                        align = _ALIGN[setting]
                    elif key == "vertical-align" and setting in _VALIGN:
                        valign = _VALIGN[setting]
            elif name == "align" and value in _ALIGN:
                align = _ALIGN[value]
            elif name == "valign" and value in _VALIGN:
                valign = _VALIGN[value]
    return align + valign


def lay_out(rendered: str, indent: str) -> str:
    """The table of rendered rows and cells as inscriptis lays it out, less the spaces
    ending its lines (the text drops them; left in, they cost :func:`finish` a pass).

    Each cell is its alignment then its text: soft spaces resolved, its edge lines dropped,
    no spaces at its lines' ends. One pass reads the cells and the column widths, a second
    pads them (this runs on every render of a receipt, so it is written for speed).
    """
    rows: list[list[tuple[Any, int, list[str]]]] = []
    widths: list[int] = []
    for row_text in rendered.split(ROW)[:-1]:  # nothing after the last row marker
        row = []
        for column, (align, valign, text) in enumerate(_CELLS.findall(row_text)):
            if SOFT in text:
                # Most often a soft space ends the cell's text: stripped with the rest, unless
                # the run starts a line (there its indentation would stay).
                short = text.strip("\n").rstrip(_TRAILING)
                if short and short[-1] != "\n" and SOFT not in short:
                    text = short
                else:
                    text = collapse_soft(text)
            text = text.strip("\n")
            if "\n" in text:
                lines = [line.rstrip() for line in text.split("\n")]
                width = max(map(len, lines))
            else:
                lines = [text.rstrip()]
                width = len(lines[0])
            if column == len(widths):
                widths.append(width)
            elif width > widths[column]:
                widths[column] = width
            row.append((_ALIGNED[align], int(valign), lines))
        rows.append(row)
    out: list[str] = []
    for row in rows:
        height = 1
        for _, _, lines in row:
            if len(lines) > height:
                height = len(lines)
        if height == 1:  # one line, the common case
            out.append(
                "  ".join(
                    [pad(lines[0], widths[c]) for c, (pad, _, lines) in enumerate(row)]
                ).rstrip(" ")
            )
            continue
        columns = []
        for column, (pad, valign, lines) in enumerate(row):
            width = widths[column]
            top = (height - len(lines)) * valign // 2
            blank = " " * width
            padded = [blank] * top + [pad(line, width) for line in lines]
            columns.append(padded + [blank] * (height - len(padded)))
        out.extend(["  ".join(parts).rstrip(" ") for parts in zip(*columns, strict=True)])
    return ("\n" + indent).join(out)


def in_columns(element: Any) -> bool:
    """Whether ``element`` is inside a table (at any depth) that has a row of two cells."""
    for ancestor in (element, *element.iterancestors()):
        if ancestor.tag == "table":
            rows = ancestor.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
            if any(len(row.xpath("./td | ./th")) > 1 for row in rows):
                return True
    return False


def spacer_columns(element: Any) -> bool:
    """Whether every table around ``element`` with several columns has content in one cell
    of each row at most (the others empty spacers, as layout tables have)."""
    for ancestor in (element, *element.iterancestors()):
        if ancestor.tag == "center" or (ancestor.get("align") or "").lower() in _LAYOUT_ALIGNED:
            return False  # centred or right-aligned: the value's width moves the text
        if ancestor.tag != "table":
            continue
        for row in ancestor.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr"):
            cells = row.xpath("./td | ./th")
            if sum(1 for cell in cells if cell.text_content().strip() or len(cell)) > 1:
                return False
    return True


def column_table(element: Any) -> Any | None:
    """The innermost table around ``element`` with content in several cells of a row."""
    for ancestor in (element, *element.iterancestors()):
        if ancestor.tag != "table":
            continue
        for row in ancestor.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr"):
            cells = row.xpath("./td | ./th")
            if sum(1 for cell in cells if cell.text_content().strip() or len(cell)) > 1:
                return ancestor
    return None


FILTERS = {
    "_ek_table": lambda value, indent: lay_out(str(value), indent),
}
