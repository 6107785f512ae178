"""An email folder's compiled templates, ready to render, and what a subject refuses: a value
that brings a line break into it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import (
    Template,
)

from ..mime.headers import forbidden
from .loader import mtime
from .text.values import GeneratedText


class LineBreakInHeader(Exception):
    """Raised while rendering a subject when a value brings a line break (CR, LF, U+2028...)
    or another control character into it: collapsing it to a space would change the value."""

    def __init__(self, value: object) -> None:
        super().__init__(value)
        self.value = value


def single_line(value: object) -> object:
    if (
        value is not None
        and not isinstance(value, (int, float))
        and forbidden(str(value)) is not None
    ):
        raise LineBreakInHeader(value)
    return value


@dataclass(frozen=True)
class CompiledEmail:
    """The templates of one email folder, ready to render.

    ``html`` already has its CSS inlined unless ``inline_reason`` says why it could not be,
    in which case the caller inlines ``html``'s output (with ``css`` added) on every render.
    ``html_source`` is the template as written, used to report errors at their real line.
    """

    name: str
    root: Path
    locale: str | None
    content_locale: str | None
    subject: Template
    text: Template | None
    html: Template | None
    html_source: Template | None
    css: str
    inline_reason: str | None
    uptodate_checks: tuple[Callable[[], bool], ...]
    mjml: bool = False  # html_source is MJML: the per-render way compiles it after rendering
    # Without body.txt: the text template derived from the HTML, or why there is none.
    generated_text: GeneratedText | None = None
    text_reason: str | None = None

    @property
    def inlines_per_render(self) -> bool:
        return self.inline_reason is not None

    def is_uptodate(self) -> bool:
        templates = (self.subject, self.text, self.html_source)
        return all(check() for check in self.uptodate_checks) and all(
            template.is_up_to_date for template in templates if template is not None
        )


def unchanged(path: Path) -> Callable[[], bool]:
    """A check that ``path`` still has the modification time (or absence) it has now."""
    stamp = mtime(path)
    return lambda: mtime(path) == stamp
