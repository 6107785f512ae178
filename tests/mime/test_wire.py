"""The memoised quoted-printable of :mod:`emailkit.mime.wire` against ``binascii.b2a_qp``, which
it must equal byte for byte, first time and every later time."""

from __future__ import annotations

import binascii
from email import message_from_bytes
from email.policy import strict

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emailkit.mime import wire

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces that sit on b2a_qp's edges: "=" (always escaped), spaces and tabs (escaped only at a
# line's end), "." (escaped alone on a line), NUL and other controls, multi-byte characters
# (never split by a soft break), and runs that bring a line near its 76 characters.
pieces = st.one_of(
    st.sampled_from(["=", " ", "\t", ".", "\n", "\x00", "\x7f", "é", "€", "𝄞", "\u2007", "=?"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=8),
    st.integers(min_value=70, max_value=80).map(lambda n: "a" * n),
    st.integers(min_value=20, max_value=80).map(lambda n: "é" * n),
)
texts = st.lists(pieces, max_size=40).map("".join)


def reference(text: str) -> str:
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii").replace("\n", "\r\n")


@SETTINGS
@given(text=texts)
@example(text="." + "\n" + ".\x00x" + "\n" + "a" * 75 + " \n" + "a" * 76 + " ")
@example(text="a" * 73 + "=é" + "\n" + "a" * 74 + "é\n" + "a " * 40 + "\t")
def test_quoted_printable_equals_b2a_qp_first_time_and_from_the_memo(text):
    expected = reference(text)
    assert wire.quoted_printable(text) == expected
    assert wire.quoted_printable(text) == expected  # now every line comes from the memo


@SETTINGS
@given(text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r")))
def test_quoted_printable_equals_b2a_qp_for_any_text(text):
    assert wire.quoted_printable(text) == reference(text)


def test_memo_stays_exact_as_it_turns_over(monkeypatch):
    monkeypatch.setattr(wire, "_memo", {})
    monkeypatch.setattr(wire, "_MEMO_SIZE", 8)
    static = '<td style="padding:0 8px; color:#33334d">' + "x" * 90 + "€</td>"
    for number in range(60):
        text = f"{static}\nOrder A-{number:06d} for Ada {number} \n{static}\nend"
        assert wire.quoted_printable(text) == reference(text)
        assert len(wire._memo) <= 8
    wire.quoted_printable(static + "\n")
    assert wire._memo[static] == reference(static + "\n")[:-2].replace("=\r\n", "\0")


def test_long_lines_are_computed_but_not_kept(monkeypatch):
    monkeypatch.setattr(wire, "_memo", {})
    long_line = "é=" * wire._MEMO_LINE
    text = f"{long_line}\nshort\n"
    assert wire.quoted_printable(text) == reference(text)
    assert long_line not in wire._memo and "short" in wire._memo


@pytest.mark.parametrize("subtype", ["plain", "html"])
def test_text_part_round_trips_under_the_strict_policy(subtype):
    text = "Total: 60,61 €\r\n" + "<td style='a'>" * 30 + "\rend "
    part = wire.text_part(text, subtype)
    raw = wire.write([("MIME-Version", "1.0")], part)
    parsed = message_from_bytes(raw, policy=strict)
    assert not parsed.defects
    content = parsed.get_content().replace("\r\n", "\n")
    # A lone part's body ends with the line break that ends the message.
    assert content == text.replace("\r\n", "\n").replace("\r", "\n") + "\n"
    assert max(map(len, raw.split(b"\r\n"))) <= 78
