"""Header values as they go on the wire: checked, RFC 2047-encoded and folded.

Every value that reaches a header passes :func:`check` first: CR, LF, NUL, the other C0
controls, DEL and the Unicode line breaks are refused with :class:`HeaderError`, never turned
into spaces. The writers then keep every line within 998 octets (78 where the value allows)
and every encoded-word within RFC 2047's 75 characters.

Short plain-ASCII values, the usual case, are written as they are; longer ones are folded at
their spaces. Other text goes through :func:`encoded_words`, a few lines that cost about a
hundredth of ``email.header`` (the non-ASCII subject of every message). ``email.policy`` is not
used for these: on Python 3.11 its folder writes 77-character encoded-words for long ASCII
words and leaves a 1,500-character display name on one line. MIME parameters that need
RFC 2231 (long or non-ASCII filenames) do go through ``email.policy``. The property tests
check every path against the standard library's parser.
"""

from __future__ import annotations

import base64
import re
from bisect import bisect_right
from collections.abc import Sequence
from email.policy import SMTP
from itertools import accumulate

from .errors import HeaderError

CRLF = "\r\n"
LINE = 78  # RFC 5322: lines SHOULD stay within 78 characters (and MUST within 998)
WORD_LINE = 76  # RFC 2047: a line holding an encoded-word is at most 76 characters
MAX_LINE = 998

# C0 controls (TAB included: the writers never keep it exactly), DEL, U+0085, U+2028 and
# U+2029 (line breaks to Unicode), and lone surrogates, which no encoder can write.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029\ud800-\udfff]")
_NAMES = {
    "\r": "a line break (CR)",
    "\n": "a line break (LF)",
    "\x00": "a NUL character",
    "\t": "a tab",
    "\x85": "a line break (U+0085 NEXT LINE)",
    "\u2028": "a line break (U+2028 LINE SEPARATOR)",
    "\u2029": "a line break (U+2029 PARAGRAPH SEPARATOR)",
}
# Printable ASCII that no reader could take for an encoded-word (``=?`` starts one).
_PLAIN = re.compile(r"(?:[\x21-\x7e]+(?: [\x21-\x7e]+)*)?\Z")
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


def forbidden(value: str) -> str | None:
    """What makes ``value`` unfit for a header (e.g. "a line break (LF) at position 3"), or None."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        what = f"a lone surrogate (U+{ord(char):04X}), which is not text"
    else:
        what = _NAMES.get(char, f"a control character (U+{ord(char):04X})")
    return f"{what} at position {found.start()}"


def check(field: str, value: str, *, email: str = "") -> None:
    """Refuse ``value`` for header ``field`` if it holds a line break or control character."""
    problem = forbidden(value)
    if problem is not None:
        raise HeaderError(
            f"{_where(email)}{field} contains {problem} ({_excerpt(value)}); a header value "
            "must be one line of text. Remove line breaks and control characters from it."
        )


def is_plain(value: str) -> bool:
    """Printable ASCII, single spaces between words, no encoded-word look-alike: safe as is."""
    return value.isascii() and _PLAIN.match(value) is not None and "=?" not in value


def unstructured(name: str, value: str) -> str:
    """A free-text value (Subject, or a non-ASCII extra header), folded, without ``name: ``.

    It parses back to exactly ``value``. Non-ASCII text becomes RFC 2047 encoded-words.
    """
    if is_plain(value):
        if len(name) + len(value) <= LINE - 2:
            return value
        words = value.split(" ")
        if max(map(len, words)) < LINE - 1:
            return fold(name, words, limit=LINE)
    words = encoded_words(value, first=WORD_LINE - len(name) - 2)
    return fold(name, words, limit=WORD_LINE)


def raw(name: str, value: str) -> str:
    """An extra header's ASCII value as given, folded only at its spaces.

    Nothing is encoded: the header may be structured (List-Unsubscribe, References), where an
    encoded-word is not allowed. Raises HeaderError when a word cannot fit a line.
    """
    if len(name) + len(value) <= LINE - 2:
        return value
    words = value.split(" ")
    longest = max(words, key=len)
    if len(longest) + 1 > MAX_LINE or len(name) + 2 + len(words[0]) > MAX_LINE:
        raise HeaderError(
            f"header {name!r} has a word of {len(longest):,} characters "
            f"({_excerpt(longest)}); a header line holds at most {MAX_LINE} octets. "
            "Shorten the value or break it with spaces where its syntax allows."
        )
    return fold(name, words, limit=LINE)


def fold(name: str, tokens: list[str], *, limit: int) -> str:
    """``tokens`` joined by single spaces, each space becoming a fold where a line would
    pass ``limit``; a token longer than that gets a line of its own (the first stays on the
    line of ``name:``, which some parsers would otherwise read with a leading space).

    Unfolding (removing each CRLF) gives back the joined tokens exactly.
    """
    lines: list[str] = []
    current: list[str] = []
    used = len(name) + 1  # "Name:"
    for token in tokens:
        width = 1 + len(token)
        if used + width > limit and any(current):  # never leave a line of only whitespace
            lines.append(" ".join(current))
            current, used = [], 0
        current.append(token)
        used += width
    lines.append(" ".join(current))
    return (CRLF + " ").join(lines)


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


def mime_parameters(name: str, value: str, params: list[tuple[str, str]]) -> str:
    """``value; key="..."`` for Content-Type and Content-Disposition, RFC 2231-encoded
    (with continuations) by the standard library when a value is not short plain ASCII."""
    simple = [f'{key}="{param}"' for key, param in params if _simple_parameter(param)]
    if len(simple) == len(params):
        parts = [value, *simple]
        return fold(name, [f"{part};" for part in parts[:-1]] + parts[-1:], limit=LINE)
    source = "; ".join([value, *(f"{key}*=utf-8''{_percent(param)}" for key, param in params)])
    folded = SMTP.header_factory(name, source).fold(policy=SMTP)
    return folded[len(name) + 1 : -len(CRLF)].removeprefix(" ")


def _simple_parameter(value: str) -> bool:
    return (
        value.isascii()
        and len(value) <= 60
        and value.isprintable()
        and '"' not in value
        and "\\" not in value
        and value.strip() == value
        and "=?" not in value
        and "  " not in value
    )


def _percent(value: str) -> str:
    safe = b"!#$&+-.^_`|~"
    return "".join(
        chr(byte) if (chr(byte).isalnum() and byte < 128) or byte in safe else f"%{byte:02X}"
        for byte in value.encode("utf-8")
    )


def _where(email: str) -> str:
    return f"{email}: " if email else ""


def _excerpt(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*\Z")
_QUOTABLE = re.compile(r"[\x20-\x7e]*\Z")


def address_list(name: str, mailboxes: Sequence[tuple[str, str]]) -> str:
    """From/To/Cc/Reply-To: ``(display name, address)`` pairs, folded between words.

    A display name is written as plain words or in quotes when short printable ASCII, else
    as encoded-words; addresses are ASCII (see :mod:`emailkit.addresses`).
    """
    tokens: list[str] = []
    last = len(mailboxes) - 1
    for index, (display, address) in enumerate(mailboxes):
        comma = "," if index < last else ""
        if display:
            tokens.extend(_name_tokens(display))
            tokens.append(f"<{address}>{comma}")
        else:
            tokens.append(f"{address}{comma}")
    if len(tokens) == 1 and len(name) + len(tokens[0]) <= LINE - 2:
        return tokens[0]
    return fold(name, tokens, limit=WORD_LINE)


def _name_tokens(display: str) -> list[str]:
    if display.isascii() and "=?" not in display:
        if _ATOMS.match(display):
            words = display.split(" ")
            if max(map(len, words)) < WORD_LINE - 1:
                return words
        elif _QUOTABLE.match(display) and len(display) < WORD_LINE // 2:
            return ['"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"']
    return encoded_words(display)
