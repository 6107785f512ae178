"""RFC 2047 encoded-words: non-ASCII (or otherwise unwritable) header text in 7-bit ASCII.

Hand-written because it is on every message with a non-ASCII subject or display name, and
``email.header`` cost ten times as much; the property tests check it against the standard
library's parser.
"""

from __future__ import annotations

import base64
import re
from bisect import bisect_right
from itertools import accumulate

WORD_LINE = 76  # RFC 2047: a line holding an encoded-word is at most 76 characters

_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[qQbB]\?[^?\s]*\?=")
# RFC 2047 section 5 (3): the characters a Q-encoded word may hold as themselves in a phrase.
_Q_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
# Each character's Q form, grown as characters are seen (bounded), and the same as a table
# for str.translate, which encodes a whole value at C speed.
_Q_PIECES: dict[str, str] = {}
_Q_TABLE: dict[int, str] = {}
_EW_OVERHEAD = len("=?utf-8?q??=")
# One character of Q-encoded UTF-8: a byte as itself, or "=XX" and its continuation bytes.
_Q_CHARACTER = re.compile("=[0-9A-F]{2}(?:=[89AB][0-9A-F])*|[^=]")


def encoded_words(text: str, *, first: int = WORD_LINE - 1) -> list[str]:
    """``text`` as RFC 2047 encoded-words (UTF-8, Q or B, whichever is shorter).

    Each word holds whole characters and is at most 75 characters long; the first at most
    ``first``, or one character if ``first`` leaves no room. Readers join adjacent
    encoded-words without the whitespace between them, so the words decode to ``text``.
    """
    missing = set(text).difference(_Q_PIECES)
    for char in missing:
        if len(_Q_PIECES) >= 4096:  # bounded: text in any script may come through
            break
        _Q_PIECES[char] = _Q_TABLE[ord(char)] = _q_piece(char)
    if missing.issubset(_Q_PIECES):
        q_text = text.translate(_Q_TABLE)
    else:
        q_text = "".join(_Q_PIECES.get(char) or _q_piece(char) for char in text)
    data_length = len(text.encode("utf-8"))
    if len(q_text) <= (data_length + 2) // 3 * 4:
        if len(q_text) + _EW_OVERHEAD <= min(first, WORD_LINE - 1):  # the usual: one word
            return [f"=?utf-8?q?{q_text}?="]
        return _pack_q(q_text, first)
    return _pack_b64(text, first)


def encoded_word(text: str) -> str:
    """``text`` as one encoded-word (Q or B, whichever is shorter), however long.

    For a display name Python's parser (before 3.13, gh-128110) would read back with a space
    between two encoded-words: RFC 2047 caps a word at 75 characters, mail programs read
    longer ones.
    """
    q_text = "".join(_Q_PIECES.get(char) or _q_piece(char) for char in text)
    b_text = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"=?utf-8?q?{q_text}?=" if len(q_text) <= len(b_text) else f"=?utf-8?b?{b_text}?="


def _q_piece(char: str) -> str:
    if char in _Q_SAFE:
        return char
    if char == " ":
        return "_"
    return "".join(f"={byte:02X}" for byte in char.encode("utf-8"))


def _pack_q(q_text: str, first: int) -> list[str]:
    """Q-encoded text cut into words between characters (never inside "=XX" or inside the
    bytes of one character), by bisecting the characters' end offsets."""
    ends = list(accumulate(map(len, _Q_CHARACTER.findall(q_text))))
    words: list[str] = []
    start = 0
    room = min(first, WORD_LINE - 1) - _EW_OVERHEAD
    while start < len(q_text):
        cut = bisect_right(ends, start + room)
        end = ends[cut - 1] if cut and ends[cut - 1] > start else ends[cut]  # one at least
        words.append(f"=?utf-8?q?{q_text[start:end]}?=")
        start, room = end, WORD_LINE - 1 - _EW_OVERHEAD
    return words


def _pack_b64(text: str, first: int) -> list[str]:
    # Base64 turns each 3 bytes into 4 characters: a chunk of n bytes takes 4 * ceil(n / 3).
    words: list[str] = []
    room = (min(first, WORD_LINE - 1) - _EW_OVERHEAD) // 4 * 3
    chunk = bytearray()
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > room and chunk:
            words.append(_b_word(chunk))
            chunk, room = bytearray(), (WORD_LINE - 1 - _EW_OVERHEAD) // 4 * 3
        chunk += data
    words.append(_b_word(chunk))
    return words


def _b_word(data: bytes | bytearray) -> str:
    return f"=?utf-8?b?{base64.b64encode(data).decode('ascii')}?="


def looks_encoded(value: str) -> bool:
    """Whether a reader would decode part of ``value`` as an RFC 2047 encoded-word."""
    return "=?" in value and _ENCODED_WORD.search(value) is not None
