"""Where in the HTML grammar a stretch of template text ends, so a Jinja tag there can be
protected the right way (a comment between elements, a bare word inside a tag)."""

from __future__ import annotations

import re

_RAW_TEXT = {"style", "script", "title", "textarea"}
_TAG_NAME = re.compile(r"</?([A-Za-z][\w:-]*)")


class HtmlContext:
    """Tracks where in the HTML grammar the text fed so far ends."""

    CONTENT, TAG_OPEN, TAG, COMMENT, RAW_TEXT = range(5)

    def __init__(self) -> None:
        self.state = self.CONTENT
        self.element = ""
        self._quote = ""
        self._closing = False

    def feed(self, data: str) -> None:
        pos, end = 0, len(data)
        while pos < end:
            if self.state == self.CONTENT:
                pos = data.find("<", pos)
                if pos < 0:
                    return
                if data.startswith("<!--", pos):
                    self.state, pos = self.COMMENT, pos + 4
                elif pos + 1 == end:
                    self.state, pos = self.TAG_OPEN, end
                else:
                    pos = self._open_tag(data, pos + 1)
            elif self.state == self.TAG_OPEN:
                self.state = self.CONTENT
                pos = self._open_tag("<" + data, 1) - 1
            elif self.state == self.TAG:
                pos = self._in_tag(data, pos)
            elif self.state == self.COMMENT:
                found = data.find("-->", pos)
                if found < 0:
                    return
                self.state, pos = self.CONTENT, found + 3
            else:
                closing = re.compile(rf"</{self.element}\b", re.IGNORECASE).search(data, pos)
                if closing is None:
                    return
                self.state, self._closing, self._quote = self.TAG, True, ""
                pos = closing.end()

    def _open_tag(self, data: str, pos: int) -> int:
        """``pos`` is just after a ``<``; enter a tag if one starts there."""
        char = data[pos]
        if not (char.isalpha() or char in "/!?"):
            return pos
        match = _TAG_NAME.match(data, pos - 1)
        self.element = match.group(1).lower() if match else ""
        self._closing = char == "/"
        self._quote = ""
        self.state = self.TAG
        return match.end() if match else pos + 1

    def _in_tag(self, data: str, pos: int) -> int:
        for index in range(pos, len(data)):
            char = data[index]
            if self._quote:
                if char == self._quote:
                    self._quote = ""
            elif char in "\"'":
                self._quote = char
            elif char == ">":
                opens_raw = not self._closing and self.element in _RAW_TEXT
                self.state = self.RAW_TEXT if opens_raw else self.CONTENT
                return index + 1
        return len(data)
