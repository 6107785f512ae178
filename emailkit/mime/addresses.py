"""Addresses as callers give them, turned into mailboxes that are valid on the wire.

``to``, ``cc``, ``bcc``, ``reply_to`` and ``sender`` take ``"ada@example.com"``,
``"Ada <ada@example.com>"``, a ``(name, address)`` pair, or a list of those. A string holding
several addresses (``"a@x.com, b@y.com"``) is used whole; one that cannot be read whole (a
``;`` list, a group, a comment, a stray ``>``) is refused with :class:`AddressError`, as are
values of other types. Nothing is ever silently dropped.

Validity is syntax (email-validator's), not the domain's category: ``ada@shop.test``,
``root@localhost`` and ``ops@corp.local`` are accepted. Domains are kept in their ASCII (IDNA)
form, the form they take in the header and in the SMTP envelope alike.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from email.policy import strict
from typing import NamedTuple

from ..errors import AddressError
from . import headers

Recipient = str | tuple[str, str]

# Forms read without the standard library's parser (fast, and tested to agree with it):
# a bare address, and "Name <address>" with a name of plain words or in quotes.
_ADDR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+"
_BARE = re.compile(rf"({_ADDR})\Z")
_NAMED = re.compile(
    rf"""(?:([A-Za-z0-9!#$%&'*+/^_`{{|}}~-]+(?: [A-Za-z0-9!#$%&'*+/^_`{{|}}~-]+)*)"""
    rf"""|"([\x20\x21\x23-\x5b\x5d-\x7e]*)") <({_ADDR})>\Z"""
)
# A local part email-validator accepts without a doubt: atoms of ASCII atext joined by dots.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


class Mailbox(NamedTuple):
    """One address: ``name`` (the display name, ``""`` for none) and ``address``."""

    name: str
    address: str

    @property
    def recipient(self) -> Recipient:
        """As Flask-Mail takes it: the address, or ``(name, address)``."""
        return (self.name, self.address) if self.name else self.address


def mailboxes(field: str, value: object, *, email: str = "") -> list[Mailbox]:
    """Every mailbox in ``value`` (None, an address string, a pair or an iterable of those)."""
    return read(field, value, email=email)[0]


def read(field: str, value: object, *, email: str = "") -> tuple[list[Mailbox], list[Recipient]]:
    """The mailboxes in ``value``, and its items one address each: an item holding one
    address is kept as given, one holding several (``"a@x, b@y"``) is split, and one whose
    domain is not ASCII is given in its ASCII form, the form Flask-Mail's envelope needs."""
    if value is None:
        return [], []
    items: Iterable[object]
    if isinstance(value, (str, tuple)):
        items = [value]
    elif isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise _type_error(field, value, email)
    else:
        items = value
    all_found: list[Mailbox] = []
    given: list[Recipient] = []
    for index, item in enumerate(items):
        if not isinstance(item, (str, tuple)):
            name = field if isinstance(value, (str, tuple)) else f"{field}[{index}]"
            raise _type_error(name, item, email)
        found = _read(field, item, email)
        all_found.extend(found)
        if len(found) == 1 and found[0].address in item:  # substring, or the pair's address
            given.append(item)  # type: ignore[arg-type]
        else:
            given.extend(m.recipient for m in found)
    return all_found, given


def one_mailbox(field: str, value: object, *, email: str = "") -> Mailbox | None:
    """The single mailbox of ``value`` (None for none); several are refused.

    A message has one From address: several would need a Sender header naming who sent it.
    """
    found = mailboxes(field, value, email=email)
    if len(found) > 1:
        raise AddressError(
            f"{_where(email)}{field} holds {len(found)} addresses "
            f"({', '.join(m.address for m in found)}); a message is sent from one address. "
            "Pass one address, and put the others in reply_to= if replies should reach them."
        )
    return found[0] if found else None


def _read(field: str, value: str | tuple[object, ...], email: str) -> list[Mailbox]:
    if isinstance(value, tuple):
        return [_pair(field, value, email)]
    headers.check(field, value, email=email)
    found = _parse(value)
    if isinstance(found, str):
        raise AddressError(
            f"{_where(email)}{field} address {value!r} is not valid: {found} "
            "Fix the address, or pass a list of addresses or (name, address) pairs."
        )
    return [_checked(field, value, mailbox, email) for mailbox in found]


def _pair(field: str, value: tuple[object, ...], email: str) -> Mailbox:
    if len(value) != 2 or not all(isinstance(part, str) for part in value):
        raise AddressError(
            f"{_where(email)}{field} got the tuple {value!r}; a tuple is a (name, address) "
            "pair of two strings. Pass ('Ada Lovelace', 'ada@example.com'), or a list for "
            "several addresses."
        )
    name, address = value
    assert isinstance(name, str) and isinstance(address, str)
    headers.check(f"{field} display name", name, email=email)
    parsed = _parse(address)
    if isinstance(parsed, str) or len(parsed) != 1 or parsed[0].name:
        raise AddressError(
            f"{_where(email)}{field} address {address!r} (in the pair {value!r}) is not one "
            "bare address. Put the name first and one address second; use a list of pairs "
            "for several addresses."
        )
    if "@" in name and _problem(name) is None and name != address:
        raise AddressError(
            f"{_where(email)}{field} got {value!r}, two addresses in a tuple; a tuple is a "
            "(name, address) pair. Pass a list for several addresses."
        )
    return _checked(field, address, Mailbox(name, parsed[0].address), email)


def _checked(field: str, given: str, mailbox: Mailbox, email: str) -> Mailbox:
    problem, address = validate(mailbox.address)
    if problem is not None:
        raise AddressError(
            f"{_where(email)}{field} address {given!r} is not valid: {problem} Fix the address."
        )
    return Mailbox(mailbox.name, address)


def validate(address: str) -> tuple[str | None, str]:
    """Why ``address`` is not valid (None if it is), and the address with its domain in
    ASCII. Syntax only, whatever the domain's category.

    A plain dot-atom local part (``ada.lovelace+news``) at a domain seen before costs a
    pattern match: recipients are new on every message, their domains are not.
    """
    local, at, domain = address.rpartition("@")
    if at and len(local) <= 64 and _DOT_ATOM.match(local):
        problem, ascii_domain = _check_domain(domain)
        if problem is None and len(local) + 1 + len(ascii_domain) <= 254:
            return None, address if ascii_domain == domain else f"{local}@{ascii_domain}"
    return _validate(address)


@functools.lru_cache(maxsize=4096)
def _parse(value: str) -> list[Mailbox] | str:
    """The mailboxes of an address string, or why it cannot be read whole (cached: senders
    repeat on every message)."""
    problem = headers.forbidden(value)
    if problem is not None:
        return f"it contains {problem}."
    simple = _BARE.match(value)
    if simple:
        return [Mailbox("", value)]
    named = _NAMED.match(value)
    if named and "=?" not in value:
        return [Mailbox(named.group(1) or named.group(2) or "", named.group(3))]
    return _parse_with_stdlib(value)


def _parse_with_stdlib(value: str) -> list[Mailbox] | str:
    if not value.strip():
        return "it is empty."
    try:
        header = strict.header_factory("to", value)
    except Exception:  # the parser of Python 3.11 raises IndexError on some malformed input
        return "it cannot be read as an address list."
    invalid = [defect for defect in header.defects if not _obsolete(defect)]
    if invalid:
        hint = " Separate addresses with commas, not semicolons." if ";" in value else ""
        return f"{str(invalid[0]).rstrip('.')}.{hint}"
    if any(group.display_name is not None for group in header.groups):
        return (
            "it is an address group ('name: addresses;'), whose name would not be kept; "
            "pass the addresses as a list."
        )
    if _has_comment(header._parse_tree):  # type: ignore[attr-defined]
        return (
            "it holds a comment in parentheses, which would be dropped; put a display name "
            "in quotes ('\"Acme (EU)\" <ops@acme.example>') or pass (name, address)."
        )
    found = [Mailbox(a.display_name, a.addr_spec) for a in header.addresses]
    if not found:
        return "it holds no address."
    return found


def _obsolete(defect: Exception) -> bool:
    # "Ada M. Lovelace <a@x.com>" is obsolete syntax (a period in a name), still unambiguous.
    return type(defect).__name__ == "ObsoleteHeaderDefect"


def _has_comment(token: object) -> bool:
    if getattr(token, "token_type", None) == "comment":
        return True
    return isinstance(token, list) and any(_has_comment(child) for child in token)


def _problem(address: str) -> str | None:
    return validate(address)[0]


@functools.lru_cache(maxsize=4096)
def _validate(address: str) -> tuple[str | None, str]:
    # email-validator is imported by the first address checked, not by `import emailkit`:
    # compiling its patterns costs some 20 ms that a process which only renders never needs.
    from email_validator import EmailNotValidError, validate_email

    local, at, domain = address.rpartition("@")
    if not at:
        return "An email address must have an @-sign.", address
    neutral, special = _neutral(domain)
    try:
        checked = validate_email(
            f"{local}@{neutral}",
            check_deliverability=False,
            allow_smtputf8=False,
            globally_deliverable=False,
        )
    except EmailNotValidError as error:
        return str(error), address
    if domain.isascii():
        return None, address
    return None, f"{local}@{_restore(checked.ascii_domain, special)}"


@functools.lru_cache(maxsize=1024)
def _check_domain(domain: str) -> tuple[str | None, str]:
    """Why ``domain`` is not valid after an @ (None if it is), and its ASCII form."""
    from email_validator import EmailNotValidError, validate_email

    neutral, special = _neutral(domain)
    try:
        checked = validate_email(
            f"a@{neutral}", check_deliverability=False, globally_deliverable=False
        )
    except EmailNotValidError as error:
        return str(error), domain
    return None, domain if domain.isascii() else _restore(checked.ascii_domain, special)


def _restore(ascii_domain: str, special: str) -> str:
    return ascii_domain[: -len(special)] + special if special else ascii_domain


def _neutral(domain: str) -> tuple[str, str]:
    """``domain`` with a special-use suffix (``test``, ``local``, ``localhost``...) replaced
    by letters of the same length, so email-validator checks its syntax, not its category;
    and the suffix replaced."""
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    lowered = domain.lower()
    for special in SPECIAL_USE_DOMAIN_NAMES:
        if lowered == special or lowered.endswith("." + special):
            keep = len(domain) - len(special)
            return domain[:keep] + re.sub("[^.]", "x", special), domain[keep:]
    return domain, ""


def _type_error(field: str, value: object, email: str) -> AddressError:
    hint = " (decode bytes to str first)" if isinstance(value, (bytes, bytearray)) else ""
    return AddressError(
        f"{_where(email)}{field} takes an address string, a (name, address) pair or a list of "
        f"those, not {type(value).__name__} {value!r}{hint}."
    )


def _where(email: str) -> str:
    return f"{email}: " if email else ""
