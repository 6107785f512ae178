"""Display names arrive exactly as given: no space put in, none taken out, whatever their
length or script, read back by the standard library's own parser (``email.policy.default``).

Readers that follow RFC 2047 drop the space between two adjacent encoded-words; Python's
parser before 3.13 keeps it (CPython gh-128110). A long name cut into encoded-words anywhere
would read back with spaces inserted there.
"""

from __future__ import annotations

import email.policy
from email import message_from_bytes
from email.header import decode_header, make_header
from email.utils import getaddresses

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emailkit import AddressError, HeaderError, Message
from emailkit.mime import headers

# No controls or line breaks (refused, see test_header_properties), no lone surrogates.
name_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\u2028\u2029"),
    min_size=1,
    max_size=300,
)
long_runs = st.builds(
    lambda char, count: char * count,
    st.characters(blacklist_categories=("Cs", "Cc", "Zs")),
    st.integers(20, 170),
)

LONG_NAMES = [
    "A" * 90,  # ASCII with no space, longer than one encoded-word
    "Ada " + "x" * 80,
    "é" * 60,
    "北京某某科技有限公司客户服务中心北京某某科技有限公司客户服务中心",
    "Jürgen Müller-Lüdenscheidt von und zu Hohenzollern-Sigmaringen GmbH & Co. KG",
    "a" * 74 + " é",
    " leading and trailing spaces, and  two ",
    "=?utf-8?q?looks_encoded?= but is not " * 3,
]


def written(name: str, field: str) -> bytes:
    pair = (name, "ada@example.com")
    options = {"recipients": ["bo@example.com"], "sender": "noreply@acme.example.com"}
    options[field] = pair if field == "sender" else [pair]
    return Message(email_name="names", body="x", **options).as_bytes()


HEADER = {"sender": "From", "recipients": "To", "cc": "Cc", "reply_to": "Reply-To"}


def read_back(raw: bytes, field: str) -> str:
    parsed = message_from_bytes(raw, policy=email.policy.default)
    (found,) = [a for a in parsed[HEADER[field]].addresses if a.addr_spec == "ada@example.com"]
    return found.display_name


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # Any name that fits a header line once encoded (a longer one is cut into encoded-words
    # wherever needed: RFC 2047 readers still join it, Python's parser puts spaces in).
    name=st.one_of(name_text, long_runs).filter(lambda name: len(name.encode()) <= 700),
    field=st.sampled_from(sorted(HEADER)),
)
@example(name="A" * 90, field="recipients")
@example(name="é" * 60, field="sender")
@example(name="0" * 58 + "\x80", field="cc")
def test_any_display_name_round_trips_through_the_message_bytes(name, field):
    try:
        raw = written(name, field)
    except HeaderError:
        assert headers.forbidden(name) is not None
        return
    except AddressError:  # a name that reads as another address
        assert "@" in name or "<" in name
        return
    assert read_back(raw, field) == name
    # RFC 2047 readers (adjacent encoded-words joined) get the same name.
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").decode("ascii")
    line = next(v for v in head.split("\r\n") if v.startswith(HEADER[field] + ":"))
    pairs = getaddresses([line.split(":", 1)[1]])
    names = [str(make_header(decode_header(d))) for d, a in pairs if a == "ada@example.com"]
    assert names == [name]
    assert max(map(len, raw.split(b"\r\n"))) <= 998


@pytest.mark.parametrize("name", LONG_NAMES, ids=[f"name{i}" for i in range(len(LONG_NAMES))])
def test_a_long_display_name_arrives_exactly_as_given(smtp_server, name):
    import smtplib

    raw = written(name, "sender")
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as client:
        client.sendmail("noreply@acme.example.com", ["bo@example.com"], raw)
    (envelope,) = smtp_server.envelopes
    assert read_back(envelope.original_content, "sender") == name
