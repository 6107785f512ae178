"""Header values as they go on the wire: checked, RFC 2047-encoded and folded.

Every value that reaches a header passes :func:`check` first: CR, LF, NUL, the other C0
controls, DEL and the Unicode line breaks are refused with :class:`HeaderError`, never turned
into spaces. The writers then keep every line within 998 octets (78 where the value allows)
and every encoded-word within RFC 2047's 75 characters.

Short plain-ASCII values, the usual case, are written as they are; longer ones are folded at
their spaces. Other text becomes encoded-words (:mod:`emailkit.mime.rfc2047`, about a tenth of
``email.header``'s cost for the non-ASCII subject of every message). ``email.policy`` is not
used for these: on Python 3.11 its folder writes 77-character encoded-words for long ASCII
words and leaves a 1,500-character display name on one line. MIME parameters that need
RFC 2231 (long or non-ASCII filenames) do go through ``email.policy``. The property tests
check every path against the standard library's parser.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from email.policy import SMTP, strict

from ..errors import HeaderError
from .rfc2047 import WORD_LINE, encoded_word, encoded_words, looks_encoded

CRLF = "\r\n"
LINE = 78  # RFC 5322: lines SHOULD stay within 78 characters (and MUST within 998)
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


# RFC 5322 field names: printable ASCII but the colon.
_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]{1,76}\Z")
# RFC 2045 tokens, for content types and dispositions.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CONTENT_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}\Z")
_DISPOSITION = re.compile(rf"{_TOKEN}\Z")
# What may stand between < and > in a Message-ID or Content-ID: printable ASCII, no space.
_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]{1,900}\Z")
# The longest URL "List-Unsubscribe: <URL>" holds within a line.
_MAX_URL = MAX_LINE - len("List-Unsubscribe: <>")
# Headers the message writes itself, and where their value comes from instead.
_OWNED = {
    "from": "pass sender=... (or set MAIL_DEFAULT_SENDER)",
    "to": "pass to=...",
    "cc": "pass cc=...",
    "bcc": "pass bcc=...",
    "reply-to": "pass reply_to=...",
    "subject": "the subject comes from the email's subject.txt",
    "date": "the date is set when the message is sent",
    "message-id": "pass message_id=...",
    "mime-version": "the MIME structure is written from the parts",
}


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
    as encoded-words; addresses are ASCII (see :mod:`emailkit.mime.addresses`).
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
    """A display name as words that every reader gives back exactly.

    Short printable ASCII is written as it is or quoted; other text as encoded-words. Readers
    that follow RFC 2047 join adjacent encoded-words without the space between them, but
    Python's parser before 3.13 keeps it (gh-128110): so a name is cut only where it has a
    space and an ASCII word beside it, and each run of other words is one encoded-word, longer
    than RFC 2047's 75 characters if it must be. Only a run too long for a header line is cut
    into several.
    """
    if display.isascii() and "=?" not in display:
        if _ATOMS.match(display):
            words = display.split(" ")
            if max(map(len, words)) < WORD_LINE - 1:
                return words
        if _QUOTABLE.match(display):
            quoted = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
            if len(quoted) <= _MAX_NAME_WORD:
                return [quoted]
    words = encoded_words(display)
    if len(words) == 1:
        return words
    tokens = _mixed_tokens(display)
    if max(map(len, tokens)) <= _MAX_NAME_WORD:
        return tokens
    return words


# The longest word of a display name that still fits a line with "Reply-To: " before it.
_MAX_NAME_WORD = MAX_LINE - len("Reply-To: ") - 2
_PLAIN_WORD = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+\Z")


def _mixed_tokens(display: str) -> list[str]:
    """Plain ASCII words as they are, each run of other words between them one encoded-word
    (the whole name one, unless its spaces are single ones between words)."""
    words = display.split(" ")
    if len(words) == 1 or not all(words):  # no space, or leading, trailing or double spaces
        return [encoded_word(display)]
    tokens: list[str] = []
    run: list[str] = []
    for word in words:
        if _PLAIN_WORD.match(word) and "=?" not in word:
            if run:
                tokens.append(encoded_word(" ".join(run)))
                run = []
            tokens.append(word)
        else:
            run.append(word)
    if run:
        tokens.append(encoded_word(" ".join(run)))
    return tokens


# Checks of values that reach a header as given: extra headers, MIME types, ids, URLs.


def check_extra(name: object, value: object, *, email: str = "") -> None:
    """Refuse an extra header (``headers=``) that is not a field name, replaces a header
    emailkit writes, or has a value that cannot be written as given."""
    where = _where(email)
    if not isinstance(name, str) or not _FIELD_NAME.match(name):
        raise HeaderError(
            f"{where}header name {name!r} is not a valid field name: use 1 to 76 printable "
            "ASCII characters without spaces or colons, e.g. 'X-Campaign'."
        )
    lowered = name.lower()
    instead = _OWNED.get(lowered)
    if instead is None and lowered.startswith("content-") and lowered != "content-language":
        instead = "the MIME structure is written from the parts; pass attachments=..."
    if instead is not None:
        raise HeaderError(
            f"{where}header {name!r} is written by emailkit and cannot be set in headers=; "
            f"{instead}."
        )
    if not isinstance(value, str):
        raise HeaderError(f"{where}header {name!r} value must be a str, not {value!r}.")
    check(f"header {name!r}", value, email=email)
    if value.strip() != value:
        raise HeaderError(
            f"{where}header {name!r} value {value[:60]!r} starts or ends with whitespace, "
            "which a header cannot keep; strip it."
        )
    try:
        extra_value(name, value)
    except HeaderError as error:
        raise HeaderError(f"{where}{error}") from None


def extra_value(name: str, value: str) -> str:
    """An extra header's value as written: ASCII as given (folded at spaces), else encoded."""
    if value.isascii() and not looks_encoded(value):
        return raw(name, value)
    return unstructured(name, value)


@functools.lru_cache(maxsize=256)
def content_type_ok(value: str) -> bool:
    """Whether ``value`` is a MIME type (``type/subtype``, parameters allowed)."""
    if _CONTENT_TYPE.match(value):
        return True
    if not value.isascii() or ";" not in value:
        return False
    try:
        parsed = strict.header_factory("content-type", value)
    except Exception:  # the standard library's parser raises on some malformed input
        return False
    return not parsed.defects and _CONTENT_TYPE.match(value.split(";")[0].strip()) is not None


def is_token(value: str) -> bool:
    """An RFC 2045 token, such as a disposition (``attachment``, ``inline``)."""
    return _DISPOSITION.match(value) is not None


def check_id(field: str, value: object, *, email: str = "", brackets: bool = True) -> None:
    """A Message-ID (``<left@right>``) or a Content-ID (without the brackets)."""
    inner = value[1:-1] if brackets and isinstance(value, str) else value
    ok = isinstance(inner, str) and _ID.match(inner) is not None
    if ok and brackets:  # RFC 5322 msg-id: "<" id-left "@" id-right ">"
        left, at, right = str(inner).rpartition("@")
        ok = str(value).startswith("<") and str(value).endswith(">") and all((left, at, right))
    if not ok:
        shape = "'<unique@example.com>' (see email.utils.make_msgid)" if brackets else "'logo'"
        raise HeaderError(
            f"{_where(email)}{field} {value!r} is not valid: use printable ASCII without "
            f"spaces, angle brackets or control characters, like {shape}."
        )


def check_unsubscribe_url(url: str, *, email: str = "") -> None:
    """Refuse an unsubscribe URL that cannot go in ``List-Unsubscribe: <url>`` as it is."""
    check("unsubscribe_url", url, email=email)
    problem = None
    if not url.isascii():
        problem = "holds non-ASCII characters; percent-encode them (RFC 3986)"
    elif any(char in url for char in " <>"):
        problem = "holds a space or an angle bracket; percent-encode it"
    elif len(url) > _MAX_URL:
        problem = (
            f"is {len(url):,} characters long; a header line holds at most "
            f"{MAX_LINE} octets, so keep the URL within {_MAX_URL} characters "
            "(e.g. a short token that your server maps to the long one)"
        )
    if problem:
        where = f"{email}: " if email else ""
        raise HeaderError(f"{where}unsubscribe_url {url[:60]!r} {problem}.")
