"""Transport security against a real aiosmtpd with STARTTLS and with implicit TLS."""

from __future__ import annotations

import logging

import pytest

from emailkit import ConfigError, SendError
from emailkit.extension import kit
from emailkit.sending.smtpsettings import is_loopback
from emailkit.sending.transport import envelope_address

from ..conftest import start_tls_sink
from .test_sending import make_app, welcome

CREDENTIALS = {"MAIL_USERNAME": "mailer", "MAIL_PASSWORD": "s3cret-Pa55"}


def tls_app(tmp_path, sink, **config):
    mode = {"MAIL_USE_TLS": True} if sink.mode == "starttls" else {"MAIL_USE_SSL": True}
    return make_app(tmp_path, sink, **mode, **CREDENTIALS, **config)


def test_unknown_certificate_is_refused_before_any_password_is_sent(tmp_path, tls_smtp_server):
    app = tls_app(tmp_path, tls_smtp_server)
    with app.app_context(), pytest.raises(SendError) as caught:
        welcome().send(to="ada@example.com")
    message = str(caught.value)
    assert "certificate was refused: unable to get local issuer certificate" in message
    assert "EMAILKIT_SMTP_CAFILE" in message
    assert caught.value.attempts == 1  # not a transient failure: no retries
    assert tls_smtp_server.logins == []
    assert "AUTH" not in tls_smtp_server.commands
    assert tls_smtp_server.envelopes == []
    with app.app_context():
        assert len(kit.failed) == 1  # kept, to resend once the CA is configured


def test_private_ca_is_trusted_with_emailkit_smtp_cafile(tmp_path, tls_smtp_server):
    app = tls_app(tmp_path, tls_smtp_server, EMAILKIT_SMTP_CAFILE=str(tls_smtp_server.cafile))
    with app.app_context():
        message_id = welcome().send(to="ada@example.com")
    assert [m["Message-ID"] for m in tls_smtp_server.messages] == [message_id]
    assert tls_smtp_server.logins == [("mailer", "s3cret-Pa55")]
    if tls_smtp_server.mode == "starttls":
        assert tls_smtp_server.commands[:2] == ["STARTTLS", "AUTH"]


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_certificate_for_another_host_name_is_refused(tmp_path, test_ca, mode):
    sink, controller = start_tls_sink(test_ca, tmp_path, mode, names=("mail.example.com",))
    try:
        app = tls_app(tmp_path, sink, EMAILKIT_SMTP_CAFILE=str(sink.cafile))
        with app.app_context(), pytest.raises(SendError, match="IP address mismatch"):
            welcome().send(to="ada@example.com")
        assert sink.logins == [] and sink.envelopes == []
    finally:
        controller.stop()


def test_turning_verification_off_warns_on_every_connection(tmp_path, tls_smtp_server, caplog):
    app = tls_app(tmp_path, tls_smtp_server, EMAILKIT_SMTP_VERIFY=False)
    with app.app_context(), caplog.at_level(logging.WARNING, logger="emailkit"):
        welcome().send(to="ada@example.com")
        welcome().send(to="bob@example.com")
    warnings = [r for r in caplog.records if "certificate is not checked" in r.getMessage()]
    assert len(warnings) == 2
    assert len(tls_smtp_server.envelopes) == 2
    assert "s3cret-Pa55" not in caplog.text


def test_starttls_required_but_not_offered_is_refused_without_login(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, MAIL_USE_TLS=True, **CREDENTIALS)
    with app.app_context(), pytest.raises(SendError, match="does not offer STARTTLS"):
        welcome().send(to="ada@example.com")
    assert smtp_server.logins == [] and smtp_server.envelopes == []


def test_credentials_over_plain_smtp_to_a_remote_host_are_refused_at_start(tmp_path):
    class Remote:
        host, port = "smtp.acme.example.com", 25

    with pytest.raises(ConfigError, match=r"set MAIL_USE_TLS .* or MAIL_USE_SSL"):
        make_app(tmp_path, Remote, **CREDENTIALS)
    # Without credentials, or with the explicit setting, the app starts.
    make_app(tmp_path, Remote)
    make_app(tmp_path, Remote, EMAILKIT_SMTP_ALLOW_PLAINTEXT_AUTH=True, **CREDENTIALS)


def test_credentials_over_plain_smtp_to_loopback_are_allowed(tmp_path, smtp_server):
    app = make_app(tmp_path, smtp_server, **CREDENTIALS)
    with app.app_context():
        welcome().send(to="ada@example.com")
    assert smtp_server.logins == [("mailer", "s3cret-Pa55")]


def test_a_cafile_that_cannot_be_read_is_a_clear_error_at_start(tmp_path, smtp_server):
    with pytest.raises(ConfigError, match=r"EMAILKIT_SMTP_CAFILE .* could not be loaded"):
        make_app(tmp_path, smtp_server, MAIL_USE_TLS=True, EMAILKIT_SMTP_CAFILE="/nope.pem")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True),
     ("10.0.0.1", False), ("smtp.example.com", False), ("localhost.example.com", False)],
)  # fmt: skip
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_envelope_addresses_use_idna_domains():
    assert envelope_address("ada@bücher.de") == "ada@xn--bcher-kva.de"
    assert envelope_address(("Ada", "ada@bücher.de")) == "ada@xn--bcher-kva.de"
    assert envelope_address("Ada <ada@example.com>") == "ada@example.com"
    assert envelope_address("jürgen@example.com") == "jürgen@example.com"  # needs SMTPUTF8
