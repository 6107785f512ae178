"""Line breaks in text templates: a tag that ends a line of text keeps the line's break.

Templates are rendered with Jinja's ``trim_blocks`` and ``lstrip_blocks``: a line holding
only a block tag (``{% if %}``, ``{% endfor %}``) or a comment leaves no blank line behind,
which is what HTML and text templates both want. But ``trim_blocks`` also removes the line
break after a tag that ends a line of text, which in ``body.txt`` joins two lines::

    Coupon applied: {{ coupon }}{% endif %}
    View your order

rendered as ``Coupon applied: SPRINGView your order``. For ``.txt`` templates this extension
writes such a tag with Jinja's own ``+%}`` (keep the line break) before the template is
compiled; tags alone on their line, and tags written with ``-%}`` or ``+%}``, are left as
they are. Line numbers do not change. HTML templates are untouched: there a line break
between tags is whitespace the browser collapses.
"""

from __future__ import annotations

from jinja2 import Environment
from jinja2.ext import Extension

_ENDS = {"block_end": "%}", "comment_end": "#}"}
_BEGINS = ("block_begin", "comment_begin")


class TextLineBreaks(Extension):
    """Keeps the line break after a tag that ends a line of text in ``.txt`` templates."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if not (name or "").endswith(".txt") or "\n" not in source:
            return source
        return keep_line_breaks(self.environment, source, name)


def keep_line_breaks(environment: Environment, source: str, name: str | None = None) -> str:
    """``source`` with ``+`` written into each tag that ends a line after text."""
    lexer = environment.overlay(trim_blocks=False, lstrip_blocks=False).lexer
    keep: list[int] = []  # offsets of the "%}" / "#}" to write as "+%}" / "+#}"
    position = 0
    content = False  # the current line has text or a {{ value }} before this point
    content_at_tag = False
    try:
        for _, token, value in lexer.tokeniter(source, name):
            found = source.find(value, position)
            if found < 0:
                return source  # cannot follow the source: leave it to Jinja as written
            position = found + len(value)
            if token == "data":
                line = value.rpartition("\n")
                content = bool(line[2].strip()) if line[1] else content or bool(value.strip())
            elif token == "variable_begin":
                content = True
            elif token in _BEGINS:
                content_at_tag = content
            elif (
                token in _ENDS
                and value == _ENDS[token]
                and content_at_tag
                and source.startswith(("\n", "\r\n"), position)
            ):
                keep.append(found)
    except Exception:  # a syntax error: Jinja reports it, with its line, when compiling
        return source
    for offset in reversed(keep):
        source = source[:offset] + "+" + source[offset:]
    return source
