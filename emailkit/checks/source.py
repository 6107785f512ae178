"""The template sources behind an email, and tracing an element back to its line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from lxml.html import HtmlElement

from ..model.email import Email
from ..templating.flatten import Flattened, flatten
from ..templating.tags import Tag, Unflattenable
from ..templating.templates import HTML, SUBJECT, TEXT

_TRACED_ATTRIBUTES = ("class", "id", "src", "href", "alt", "role", "title")


@dataclass
class EmailSources:
    """The templates of one email: each part flattened, and every file's lines."""

    cls: type[Email]
    locale: str | None = None

    @cached_property
    def folder(self) -> str:
        return self.cls._require_folder().name

    def _source(self, name: str) -> str:
        templates = self.cls.templates()
        source, _, _ = templates.env.loader.get_source(templates.env, name)  # type: ignore[union-attr]
        return source

    @cached_property
    def parts(self) -> dict[str, Flattened]:
        """Each part that exists (subject.txt, body.txt, body.html) in the locale, flattened."""
        found = {}
        templates = self.cls.templates()
        for part in (SUBJECT, TEXT, HTML):
            name = templates.part_name(self.folder, part, self.locale)
            if (templates.root / name).is_file():
                try:
                    found[part] = flatten(name, self._source)
                except Unflattenable:
                    found[part] = Flattened((), tuple(_scan_file(self._source, name)), (name,))
        return found

    @cached_property
    def lines(self) -> dict[str, list[str]]:
        """Every template file the HTML part reads, by name, as lines."""
        names = self.parts[HTML].names if HTML in self.parts else ()
        return {name: self._source(name).splitlines() for name in names}

    def text_lines(self, name: str) -> list[str]:
        return self._source(name).splitlines()

    def tags(self, part: str | None = None) -> list[Tag]:
        """The Jinja tags of ``part`` (subject.txt, body.txt, body.html), or of every part."""
        chosen = [self.parts[part]] if part is not None else list(self.parts.values())
        return [p for f in chosen for p in (*f.prelude, *f.parts) if isinstance(p, Tag)]

    def locate(self, element: HtmlElement) -> tuple[str | None, int | None]:
        """The file and line that most likely wrote ``element``."""
        opening = re.compile(rf"<{re.escape(str(element.tag))}\b", re.IGNORECASE)
        literals = [
            value
            for key in _TRACED_ATTRIBUTES
            for value in [(element.get(key) or "").strip()]
            if value and len(value) > 2
        ]
        best: tuple[int, str, int] | None = None
        for name, lines in self.lines.items():
            for number, line in enumerate(lines, 1):
                if not opening.search(line):
                    continue
                score = sum(1 for value in literals if value in line)
                if best is None or score > best[0]:
                    best = (score, name, number)
        if best is None:
            flattened = self.parts.get(HTML)
            return (flattened.names[0] if flattened else f"{self.folder}/{HTML}", None)
        return best[1], best[2]


def _scan_file(get_source, name: str):  # type: ignore[no-untyped-def]
    from ..templating.tags import scan

    return scan(get_source(name), name)
