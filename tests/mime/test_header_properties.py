"""Property tests: whatever goes into a header, the message raises an emailkit error or parses
under ``email.policy.strict`` without defects, gives every value back exactly, and keeps every
line within 998 octets (every encoded-word within 75 characters, but in display names).

Python 3.11's header parser keeps the space between two encoded-words in a display name
(CPython gh-128110, fixed later); RFC 2047 section 6.2 says to drop it, as mail programs do.
So a display name is cut into encoded-words only beside a plain ASCII word, and a run of other
text is one encoded-word, longer than 75 characters if need be; only a name too long for a
line is cut anywhere. Display names are compared through ``email.header.decode_header``, which
follows the RFC, and through the modern parser for every name that fits a line.
"""

from __future__ import annotations

import email.policy
import re
import smtplib
import string
from email import message_from_bytes
from email.header import decode_header, make_header
from email.utils import getaddresses

import flask_mail
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emailkit import AddressError, EmailError, HeaderError, Message, attachment
from emailkit.mime import addresses, headers, rfc2047

# A filename or address list through the standard library's parser costs a few ms: fewer runs.
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")

# Any text, controls and line breaks included; no lone surrogates (not str data of real use).
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
long_text = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=200, max_size=1500),
    st.builds(
        lambda c, n: c * n, st.characters(blacklist_categories=("Cs", "Cc")), st.integers(500, 3000)
    ),
)
header_text = st.one_of(any_text, long_text)
atext = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
local_part = st.text(st.sampled_from(atext), min_size=1, max_size=20)
# IDNA (RFC 5891 4.2.3.1) reserves "--" in a label's third and fourth places for "xn--".
label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True).filter(
    lambda text: text[2:4] != "--"
)
domain = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(label, min_size=1, max_size=3),
    st.sampled_from(["com", "test", "local", "example", "io", "bücher.example"]),
)
address = st.builds(lambda local, host: f"{local}@{host}", local_part, domain).filter(
    lambda a: ".." not in a and not a.startswith(".") and ".@" not in a
)
display_name = st.one_of(
    any_text, st.text(st.sampled_from(atext + ' .,"\\<>()@:;'), max_size=80), long_text
)


def build(**kwargs) -> bytes:
    kwargs.setdefault("recipients", ["ada@example.com"])
    kwargs.setdefault("sender", "noreply@acme.example.com")
    kwargs.setdefault("body", "x")
    return Message(email_name="prop", **kwargs).as_bytes()


def parse(raw: bytes):
    """The message under the strict policy, after checking lines, words and defects."""
    raw.decode("ascii")
    lines = raw.split(b"\r\n")
    assert max(map(len, lines)) <= 998
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head.replace(b"\r\n", b"")
    for line in re.split(rb"\r\n(?![ \t])", head):  # each header, folded
        if not re.match(rb"(?i)(from|to|cc|reply-to):", line):
            for word in ENCODED_WORD.findall(line):
                assert len(word) <= 75, word
    message = message_from_bytes(raw, policy=email.policy.strict)
    for part in message.walk():
        assert not part.defects
        for name, value in part.items():
            assert not getattr(value, "defects", ()), (name, value, value.defects)
    return message


def raw_header(raw: bytes, name: str) -> str:
    """A header's value as written, unfolded."""
    match = re.search(
        rb"(?im)^" + re.escape(name.encode()) + rb":[ ]?([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", raw
    )
    assert match, name
    return match.group(1).replace(b"\r\n", b"").decode("ascii")


def rfc2047_names(raw: bytes, name: str) -> list[tuple[str, str]]:
    """(display name, address) pairs as RFC 2047 decodes them (whitespace between adjacent
    encoded-words dropped)."""
    pairs = getaddresses([raw_header(raw, name)])
    return [(str(make_header(decode_header(display))), addr) for display, addr in pairs]


@SETTINGS
@given(subject=header_text)
@example(subject="x" * 3000)
@example(subject="é" * 3000)
@example(subject="=?utf-8?q?not_encoded?= really")
@example(subject="  two  spaces  ")
@example(subject="Grüße\u2028from Acme")
def test_any_subject_is_refused_or_kept_exactly(subject):
    try:
        raw = build(subject=subject)
    except HeaderError:
        assert headers.forbidden(subject) is not None
        return
    assert headers.forbidden(subject) is None
    parsed = parse(raw)
    assert parsed["Subject"] == (subject or None)


@SETTINGS
@given(name=display_name, addr=address, field=st.sampled_from(["recipients", "sender", "cc"]))
@example(name="N" * 1500, addr="ada@example.com", field="recipients")
@example(name="é" * 1500, addr="ada@example.com", field="sender")
@example(name='Lovelace, "Ada" \\ (Countess)', addr="ada@shop.test", field="cc")
def test_any_display_name_is_refused_or_kept_exactly(name, addr, field):
    try:
        raw = build(**{field: [(name, addr)] if field != "sender" else (name, addr)})
    except HeaderError:
        assert headers.forbidden(name) is not None
        return
    except AddressError:  # a name that is another address: two addresses in a pair
        assert "@" in name
        return
    header = {"recipients": "To", "sender": "From", "cc": "Cc"}[field]
    parsed = parse(raw)
    expected = addresses.mailboxes("x", addr)[0].address
    assert rfc2047_names(raw, header) == [(name, expected)]
    (found,) = parsed[header].addresses
    assert found.addr_spec == expected
    if len(name.encode("utf-8")) <= 700:  # any name that fits a header line
        assert found.display_name == name


@SLOW
@given(st.lists(st.tuples(display_name, address), min_size=1, max_size=40))
def test_address_lists_of_any_length_fold_and_keep_every_address(pairs):
    try:
        message = Message(recipients=pairs, sender="a@example.com", body="x")
    except HeaderError:
        assert any(headers.forbidden(name) for name, _ in pairs)
        return
    except AddressError:
        assert any("@" in name for name, _ in pairs)
        return
    raw = message.as_bytes()
    parse(raw)
    expected = [(name, addresses.mailboxes("x", a)[0].address) for name, a in pairs]
    written = rfc2047_names(raw, "To")
    assert written == list(dict.fromkeys(expected))
    assert message.envelope_recipients == list(dict.fromkeys(a for _, a in expected))


@SETTINGS
@given(name=st.text(st.characters(max_codepoint=0x7F), min_size=0, max_size=90), value=header_text)
@example(name="X-Campaign", value="welcome")
@example(name="List-Unsubscribe", value="<https://acme.example.com/u/" + "a" * 940 + ">")
@example(name="X-Tag", value="Grüße " * 300)
def test_any_extra_header_is_refused_or_kept_exactly(name, value):
    try:
        raw = build(extra_headers={name: value})
    except HeaderError:
        return
    assert re.fullmatch(r"[\x21-\x39\x3b-\x7e]{1,76}", name)
    assert name.lower() not in {"from", "to", "cc", "bcc", "date", "message-id", "subject"}
    parsed = parse(raw)
    assert parsed[name] == value
    if value.isascii():  # ASCII values are never encoded: they may be structured
        assert raw_header(raw, name).replace("\r\n", "") == value


@SLOW
@given(
    # email.policy folds RFC 2231 parameters in time quadratic in their length (60 ms for
    # 2,000 characters): the long ones are the explicit examples.
    filename=st.one_of(any_text.filter(bool), st.text(min_size=100, max_size=300)),
    content_type=st.one_of(
        st.sampled_from(["application/pdf", "text/csv; charset=utf-8", "image/png"]), any_text
    ),
)
@example(filename="f" * 2000 + ".pdf", content_type="application/pdf")
@example(filename="Résumé " * 300 + ".pdf", content_type="application/pdf")
@example(filename="a.txt\r\nX-Evil: 1", content_type="text/plain")
def test_any_attachment_filename_is_refused_or_kept_exactly(filename, content_type):
    try:
        raw = build(attachments=[attachment(b"data", filename=filename, content_type=content_type)])
    except HeaderError:
        return
    assert headers.forbidden(filename) is None
    parsed = parse(raw)
    part = parsed.get_payload()[1]
    assert part["Content-Disposition"].params["filename"] == filename
    assert part["Content-Type"].params["name"] == filename
    if content_type:  # else guessed from the filename
        assert part.get_content_type() == content_type.split(";")[0].strip().lower()
    assert part.get_content() == b"data" or part.get_content() == "data"


@SETTINGS
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=3000))
@example(text="x" * 5000 + "\r\n" + "é" * 2000)
def test_any_body_round_trips_within_998_octets(text):
    parsed = parse(build(body=text, html=f"<p>{text}</p>"))
    plain, html = parsed.get_payload()
    # Line ends become CRLF on the wire (any of CRLF, CR, LF in the text is one line end).
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    decoded = [
        p.get_payload(decode=True).decode("utf-8").replace("\r\n", "\n") for p in (plain, html)
    ]
    assert decoded == [expected, f"<p>{expected}</p>"]


# The fast paths, against the standard library they stand in for.


@SETTINGS
@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=70))
def test_fast_ascii_subject_parses_as_the_policy_fold_does(value):
    fast = headers.unstructured("Subject", value)
    policy = email.policy.SMTP.header_factory("Subject", value).fold(policy=email.policy.SMTP)
    ours = message_from_bytes(f"Subject: {fast}\r\n\r\n".encode(), policy=email.policy.strict)
    theirs = message_from_bytes(policy.encode() + b"\r\n", policy=email.policy.strict)
    assert ours["Subject"] == value
    if headers.is_plain(value):
        assert fast == value
        assert theirs["Subject"] == value  # the policy loses edge and double spaces


@SETTINGS
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200))
@example("=??Q??=")  # looks like an empty encoded-word: the policy's own fold loses it
def test_hand_encoded_words_parse_as_the_policy_fold_does(value):
    words = rfc2047.encoded_words(value, first=60)
    assert all(len(word) <= 75 for word in words) and len(words[0]) <= 60
    ours = message_from_bytes(
        ("Subject: " + "\r\n ".join(words) + "\r\n\r\n").encode(),
        policy=email.policy.strict,
    )
    policy = email.policy.SMTP.header_factory("Subject", value).fold(policy=email.policy.SMTP)
    theirs = message_from_bytes(policy.encode() + b"\r\n", policy=email.policy.strict)
    assert ours["Subject"] == value
    # The policy drops edge whitespace, and text that reads as an encoded-word ("=??Q??=")
    # comes back from its own fold decoded, or empty: compare where it keeps the value.
    if value.strip() == value and "  " not in value and "=?" not in value:
        assert theirs["Subject"] == value


@SETTINGS
@given(
    name=st.one_of(
        st.just(""),
        st.from_regex(
            r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/^_`{|}~-]+){0,3}", fullmatch=True
        ),
        st.builds(
            lambda s: f'"{s}"',
            st.text(
                st.sampled_from(string.printable[:94].replace('"', "").replace("\\", "") + " "),
                max_size=30,
            ),
        ),
    ),
    addr=address,
)
def test_fast_address_parse_agrees_with_the_standard_library(name, addr):
    value = f"{name} <{addr}>" if name else addr
    assert addresses._parse(value) == addresses._parse_with_stdlib(value)


@SETTINGS
@given(name=display_name, addr=address)
def test_envelope_addresses_survive_flask_mails_sanitizing(name, addr):
    """Flask-Mail's connection sends to ``sanitize_address(message.sender)``: the address
    SMTP gets from it is the one in From."""
    try:
        message = Message(recipients=[addr], sender=(name, addr), body="x")
    except (HeaderError, AddressError):
        return
    sent = smtplib.quoteaddr(flask_mail.sanitize_address(message.sender))
    assert sent == f"<{message.envelope_sender}>"
    assert {smtplib.quoteaddr(flask_mail.sanitize_address(a)) for a in message.send_to} == {
        f"<{message.envelope_sender}>"
    }


def test_every_refusal_is_an_emailkit_error():
    assert issubclass(HeaderError, EmailError)


@SETTINGS
@given(local=st.text(st.sampled_from(atext + "."), min_size=1, max_size=70), host=domain)
@example(local="a" * 64, host="example.com")
@example(local="a" * 65, host="example.com")
@example(local="ada", host="x" * 250 + ".com")
def test_fast_address_check_agrees_with_email_validator(local, host):
    address = f"{local}@{host}"
    assert addresses.validate(address) == addresses._validate(address)


@SETTINGS
@given(
    name=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=36),
    addr=address.filter(str.isascii),
)
def test_fast_display_names_parse_as_the_policy_fold_does(name, addr):
    from email.headerregistry import Address

    ours = headers.address_list("To", [(name, addr)])
    policy = email.policy.SMTP.header_factory("To", [Address(name, addr_spec=addr)])
    theirs = policy.fold(policy=email.policy.SMTP)
    mine = message_from_bytes(f"To: {ours}\r\n\r\n".encode(), policy=email.policy.strict)
    stdlib = message_from_bytes(theirs.encode() + b"\r\n", policy=email.policy.strict)
    assert mine["To"].addresses[0].display_name == name
    assert mine["To"].addresses[0].addr_spec == addr
    # The policy drops edge and double spaces, and folds a name that reads as an
    # encoded-word ("=??Q??=") to nothing at all ("To:  <0@0.com>"); ours encodes it.
    if name.strip() == name and "  " not in name and "=?" not in name:
        assert mine["To"].addresses == stdlib["To"].addresses
