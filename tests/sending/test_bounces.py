"""Reading bounces and complaints (emailkit.sending.deliverylog.bounces) from the fixtures in
tests/sending/bounces/, and the VERP tokens they carry (emailkit.sending.verp)."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from emailkit.errors import ConfigError
from emailkit.sending.deliverylog.bounces import COMPLAINT, HARD, SOFT, parse
from emailkit.sending.verp import (
    bounce_address,
    envelope_sender,
    make_token,
    read_token,
    secret_keys,
    token_of,
    verp_address,
)

FIXTURES = Path(__file__).parent / "bounces"
SECRET = "test-secret-key"
BOUNCES = "bounces@mail.example.com"
MESSAGE_ID = "<176458410012.4242.1234567890@acme.example.com>"
RCPT = "ada@example.org"


def fixture(name: str, token: str | None = None, rcpt: str = RCPT, message_id: str = MESSAGE_ID):
    """The fixture's bytes with its placeholders filled in."""
    token = token or make_token(SECRET, message_id, rcpt)
    data = (FIXTURES / name).read_bytes()
    return (
        data.replace(b"@@TOKEN@@", token.encode())
        .replace(b"@@RCPT@@", rcpt.encode())
        .replace(b"@@MESSAGE_ID@@", message_id.encode())
    )


def only(report):
    assert len(report.events) == 1, report
    return report.events[0]


# -- the formats real MTAs write ------------------------------------------------------------


def test_a_postfix_bounce_is_a_hard_bounce_with_status_diagnostic_and_token():
    report = parse(fixture("postfix_hard.eml"), bounce_address=BOUNCES)
    event = only(report)
    assert report.kind == "dsn" and not report.problems
    assert event.kind == HARD
    assert event.recipient == RCPT
    assert event.status == "5.1.1"
    assert event.diagnostic.startswith("550 5.1.1 <ada@example.org>: Recipient address rejected")
    assert event.message_id == MESSAGE_ID
    assert read_token(SECRET, event.token).names(MESSAGE_ID, RCPT)


def test_a_postfix_delay_warning_is_a_soft_bounce():
    event = only(parse(fixture("postfix_delayed.eml"), bounce_address=BOUNCES))
    assert (event.kind, event.status) == (SOFT, "4.4.1")
    assert "Connection timed out" in event.diagnostic


def test_an_exim_dsn_is_read_from_its_delivery_status_part():
    report = parse(fixture("exim_dsn.eml"), bounce_address=BOUNCES)
    event = only(report)
    assert (report.kind, event.kind, event.status, event.source) == ("dsn", HARD, "5.0.0", "dsn")
    assert "account that you tried to reach is disabled" in event.diagnostic
    assert event.message_id == MESSAGE_ID and event.token


def test_an_exim_bounce_without_a_report_is_read_by_flufl_bounce():
    report = parse(fixture("exim_classic.eml"), bounce_address=BOUNCES)
    event = only(report)
    assert (report.kind, event.kind, event.recipient) == ("other", HARD, RCPT)
    assert event.source == "flufl.bounce"
    assert event.message_id == MESSAGE_ID  # found in the returned copy
    assert event.token


def test_rfc3464s_simple_example_failed_with_a_4xx_status_is_soft():
    """Action: failed, Status: 4.0.0 (given up after 5 days): the address may still work."""
    event = only(parse(fixture("rfc3464_simple.eml"), bounce_address=BOUNCES))
    assert (event.kind, event.status, event.diagnostic) == (
        SOFT,
        "4.0.0",
        "426 connection timed out",
    )


def test_rfc3464s_multi_recipient_example_gives_one_event_per_recipient():
    report = parse(fixture("rfc3464_multi.eml"))
    assert [(e.kind, e.recipient, e.status) for e in report.events] == [
        (HARD, "arathib@vnet.ibm.com", "5.0.0"),
        (SOFT, "johnh@hpnjld.njd.hp.com", "4.0.0"),
        (HARD, "wsnell@sdcc13.ucsd.edu", "5.0.0"),
    ]
    assert all(e.message_id == MESSAGE_ID and e.token is None for e in report.events)


def test_rfc5965s_example_is_a_complaint_naming_the_recipient():
    report = parse(fixture("arf_rfc5965.eml"), bounce_address=BOUNCES)
    event = only(report)
    assert (report.kind, event.kind, event.recipient) == ("arf", COMPLAINT, RCPT)
    assert event.message_id == MESSAGE_ID
    assert event.diagnostic == "abuse SomeGenerator/1.0"
    assert read_token(SECRET, event.token).names(MESSAGE_ID, RCPT)


def test_a_yahoo_style_report_with_the_recipient_redacted_still_carries_the_token():
    event = only(parse(fixture("arf_yahoo.eml"), bounce_address=BOUNCES))
    assert event.kind == COMPLAINT
    assert read_token(SECRET, event.token).names(MESSAGE_ID, RCPT)


def test_an_out_of_office_reply_is_no_bounce():
    report = parse(fixture("out_of_office.eml"), bounce_address=BOUNCES)
    assert report.events == [] and report.kind == "none"
    assert report.problems == ["not a bounce or complaint that emailkit can read"]


# -- bad input: a clear line each, never a traceback ----------------------------------------


def test_a_truncated_dsn_says_so_and_records_nothing():
    report = parse(fixture("truncated.eml"), bounce_address=BOUNCES)
    assert report.events == []
    assert "malformed: CloseBoundaryNotFoundDefect" in report.problems
    assert any("action 'fai'" in line and "not a bounce" in line for line in report.problems)


def test_a_report_without_its_status_part_says_so():
    report = parse(fixture("no_status_part.eml"), bounce_address=BOUNCES)
    assert report.events == []
    assert report.problems == ["a delivery-status report without its message/delivery-status part"]


def test_non_utf8_headers_and_fields_are_read_with_replacement_characters():
    report = parse(fixture("non_utf8_headers.eml"), bounce_address=BOUNCES)
    event = only(report)
    assert report.subject.startswith("Unzustellbare R\ufffdckmeldung")
    assert event.kind == HARD and event.diagnostic.endswith("Benutzer unbekannt: M\ufffdller")


def test_a_10_mb_bounce_is_read_up_to_the_limit_and_still_understood():
    bounce = fixture("postfix_hard.eml")
    cut = bounce.rindex(b"--3C1A5E0A2B")
    padding = b"X" * 998 + b"\n"
    huge = bounce[:cut] + padding * (10 * 1024 * 1024 // len(padding)) + bounce[cut:]
    assert len(huge) > 10 * 1024 * 1024
    report = parse(huge, bounce_address=BOUNCES, limit=1024 * 1024)
    assert report.size == len(huge)
    assert report.problems[0] == (
        f"message is {len(huge)} bytes: read the first {1024 * 1024}, ignored the rest"
    )
    assert only(report).kind == HARD


@given(st.binary(max_size=3000))
def test_any_bytes_give_a_report_never_an_exception(data):
    report = parse(data, bounce_address=BOUNCES)
    assert report.kind in ("dsn", "arf", "other", "none", "unreadable")
    for event in report.events:
        assert event.kind in (HARD, SOFT, COMPLAINT)


@given(st.binary(max_size=400))
def test_garbage_inside_a_delivery_status_part_never_raises(garbage):
    bounce = fixture("postfix_hard.eml")
    start = bounce.index(b"Reporting-MTA")
    end = bounce.index(b"--3C1A5E0A2B", start)
    report = parse(bounce[:start] + garbage + bounce[end:], bounce_address=BOUNCES)
    assert all(e.kind in (HARD, SOFT) for e in report.events)


# -- VERP tokens ------------------------------------------------------------------------------

addresses = st.builds(
    lambda local, domain: f"{local}@{domain}.example",
    st.text(string.ascii_letters + string.digits + ".-_+", min_size=1, max_size=30),
    st.text(string.ascii_lowercase, min_size=1, max_size=20),
)
message_ids = st.builds(
    lambda left, right: f"<{left}@{right}>",
    st.text(string.ascii_letters + string.digits + ".", min_size=1, max_size=60),
    st.text(string.ascii_lowercase + ".", min_size=1, max_size=30),
)
LOCAL_PART = set(string.ascii_letters + string.digits + "-_.=")


@given(message_ids, addresses)
def test_a_token_round_trips_in_any_case_and_fits_a_local_part(message_id, address):
    token = make_token(SECRET, message_id, address)
    assert set(token) <= LOCAL_PART
    assert len("bounces+" + token) <= 64
    for seen in (token, token.upper(), token.lower()):
        ref = read_token(SECRET, seen)
        assert ref is not None and ref.names(message_id, address)


@given(message_ids, addresses, st.integers(min_value=0), st.sampled_from("abcxyz234567-."))
def test_an_altered_token_is_refused(message_id, address, position, replacement):
    token = make_token(SECRET, message_id, address)
    index = position % len(token)
    altered = token[:index] + replacement + token[index + 1 :]
    if altered.lower() != token.lower():
        assert read_token(SECRET, altered) is None


@given(message_ids, addresses)
def test_a_token_signed_with_another_key_is_refused(message_id, address):
    assert read_token("another-key", make_token(SECRET, message_id, address)) is None


@pytest.mark.parametrize("junk", ["", "x", "a" * 42, "é" * 42, "a" * 500, "..--..", "a.b"])
def test_junk_is_not_a_token(junk):
    assert read_token(SECRET, junk) is None


def test_the_token_is_found_in_the_bounce_address_in_any_case():
    assert token_of("Bounces+ABC@Mail.Example.com", BOUNCES) == "ABC"
    assert token_of("<bounces+abc@mail.example.com>", BOUNCES) == "abc"
    assert token_of("bounces@mail.example.com", BOUNCES) is None
    assert token_of("other+abc@mail.example.com", BOUNCES) is None
    assert token_of("bounces+abc@evil.example", BOUNCES) is None


def test_the_envelope_sender_is_the_verp_address_in_an_app_that_sets_one():
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, EMAILKIT_BOUNCE_ADDRESS=BOUNCES)

    class Sent:
        msgId = MESSAGE_ID
        sender = "Acme <noreply@acme.example.com>"

    with app.app_context():
        sender = envelope_sender(Sent(), RCPT)
    local, _, domain = sender.rpartition("@")
    assert domain == "mail.example.com" and local.startswith("bounces+")
    assert read_token(SECRET, local.removeprefix("bounces+")).names(MESSAGE_ID, RCPT)
    assert envelope_sender(Sent(), RCPT) == Sent.sender  # no app: the message's own sender


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"EMAILKIT_BOUNCE_ADDRESS": "Bounces <b@x.example>", "SECRET_KEY": "k"}, "plain address"),
        ({"EMAILKIT_BOUNCE_ADDRESS": "b+x@x.example", "SECRET_KEY": "k"}, "no +"),
        ({"EMAILKIT_BOUNCE_ADDRESS": "b" * 30 + "@x.example", "SECRET_KEY": "k"}, "within SMTP"),
        ({"EMAILKIT_BOUNCE_ADDRESS": "bounces@x.example"}, "SECRET_KEY"),
    ],
)
def test_a_bounce_address_that_cannot_carry_a_token_is_a_config_error(config, problem):
    with pytest.raises(ConfigError, match=problem):
        bounce_address(config)


def test_without_a_bounce_address_there_is_no_verp():
    assert verp_address({"SECRET_KEY": SECRET}, MESSAGE_ID, RCPT) is None


def test_tokens_signed_before_a_key_rotation_verify_with_the_fallback_key():
    token = make_token("old-key", MESSAGE_ID, RCPT)
    rotated = secret_keys({"SECRET_KEY": "new-key", "SECRET_KEY_FALLBACKS": ["old-key"]})
    assert read_token(rotated, token).names(MESSAGE_ID, RCPT)
    assert read_token(secret_keys({"SECRET_KEY": "new-key"}), token) is None
    from_environment = secret_keys({"SECRET_KEY": "new", "SECRET_KEY_FALLBACKS": "a,old-key"})
    assert read_token(from_environment, token) is not None
