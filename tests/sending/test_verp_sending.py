"""Sending with EMAILKIT_BOUNCE_ADDRESS through the aiosmtpd sink: one envelope per recipient
with its own VERP sender, and each recipient still gets the message exactly once when the
server refuses some or drops the connection part-way."""

from __future__ import annotations

import pytest

from emailkit import SendError
from emailkit.extension import kit
from emailkit.sending.verp import read_token

from .test_sending import make_app, welcome

SECRET = "verp-test-secret"
ADA, GRACE = "ada@example.com", "grace@example.com"


@pytest.fixture
def app(tmp_path, smtp_server):
    app = make_app(
        tmp_path,
        smtp_server,
        SECRET_KEY=SECRET,
        EMAILKIT_BOUNCE_ADDRESS="bounces@mail.example.com",
        EMAILKIT_DATABASE=f"sqlite:///{tmp_path / 'log.sqlite3'}",
    )
    with app.app_context():
        yield app
        kit.log.close()


def copies(smtp_server) -> list[tuple[str, str]]:
    return sorted((e.rcpt_tos[0], e.mail_from) for e in smtp_server.envelopes)


def test_each_recipient_has_an_envelope_whose_sender_names_it(app, smtp_server):
    message_id = welcome().send(to=ADA, cc=GRACE)
    found = copies(smtp_server)
    assert [rcpt for rcpt, _ in found] == [ADA, GRACE]
    for rcpt, mail_from in found:
        token = mail_from.removeprefix("bounces+").removesuffix("@mail.example.com")
        assert read_token(SECRET, token).names(message_id, rcpt)
    headers = smtp_server.messages[0]
    assert headers["From"] == "Acme <noreply@acme.example.com>"  # the From header stays
    assert headers["Cc"] == GRACE


def test_a_recipient_refused_at_rcpt_does_not_stop_the_others(app, smtp_server):
    smtp_server.refuse(GRACE, "550")
    with pytest.raises(SendError) as caught:
        welcome().send(to=[ADA, GRACE])
    assert caught.value.recipients == [GRACE]
    assert [rcpt for rcpt, _ in copies(smtp_server)] == [ADA]


def test_a_drop_part_way_sends_the_rest_on_retry_and_nobody_twice(app, smtp_server):
    smtp_server.fail("mail", "", 1)  # the first transaction goes through
    smtp_server.fail("mail", "421", 1)  # the second: the server hangs up
    welcome().send(to=[ADA, GRACE])
    assert [rcpt for rcpt, _ in copies(smtp_server)] == [ADA, GRACE]
    assert [fault for stage, fault, _ in smtp_server.log if stage == "mail"] == ["", "421"]


def test_without_a_bounce_address_one_envelope_carries_every_recipient(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, SECRET_KEY=SECRET)
    with app.app_context():
        welcome().send(to=[ADA, GRACE])
        kit.log.close()
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "noreply@acme.example.com"
    assert sorted(envelope.rcpt_tos) == [ADA, GRACE]
