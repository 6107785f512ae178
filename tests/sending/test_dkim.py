"""DKIM signing: every message that reaches a real SMTP server (aiosmtpd on 127.0.0.1) carries a
signature dkimpy verifies against the public key, whatever path sent it."""

from __future__ import annotations

import os
import stat

import dkim
import pytest
from click.testing import CliRunner
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from emailkit import ConfigError, EmailKit, SendError
from emailkit.cli import main
from emailkit.extension import kit
from emailkit.mime.message import Message
from emailkit.sending.dkim import DkimSigner, aligned, generate

from ..conftest import SHIPPED_ROOT


@pytest.fixture(scope="session", params=["rsa", "ed25519"])
def key_pair(request):
    return generate("acme.example.com", "mail2026", request.param)


def dns_for(pair):
    """A DNS TXT lookup that knows only this key's record: verification without a network."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        if name.decode().rstrip(".") == pair.record_name:
            return pair.record_value.encode()
        return None

    return lookup


def verifies(data: bytes, pair) -> bool:
    return bool(dkim.verify(data, dnsfunc=dns_for(pair)))


def make_app(tmp_path, server, pair, **config) -> Flask:
    app = Flask("dkim_test", instance_path=str(tmp_path / "instance"))
    app.config.update(
        TESTING=True,
        MAIL_SERVER=server.host,
        MAIL_PORT=server.port,
        MAIL_DEFAULT_SENDER="Acme <noreply@acme.example.com>",
        MAIL_SUPPRESS_SEND=False,
        EMAILKIT_RETRY_DELAY=0.01,
        EMAILKIT_RETRY_MAX_DELAY=0.02,
        EMAILKIT_SMTP_TIMEOUT=5,
        EMAILKIT_ROOT=str(SHIPPED_ROOT),
        EMAILKIT_DKIM_DOMAIN="acme.example.com",
        EMAILKIT_DKIM_SELECTOR="mail2026",
        EMAILKIT_DKIM_PRIVATE_KEY=pair.private_pem.decode(),
    )
    app.config.update(config)
    EmailKit(app)
    return app


def welcome(name: str = "Ada"):
    from emails.welcome import Welcome

    return Welcome(user_name=name, confirm_url="https://acme.example.com/c/1")


def receipt():
    from emails.receipt import Receipt

    return Receipt.previews()[next(iter(Receipt.previews()))]


def received(server) -> list[bytes]:
    return [envelope.original_content for envelope in server.envelopes]


def test_send_signs_the_bytes_as_sent_and_a_tampered_copy_fails(tmp_path, smtp_server, key_pair):
    app = make_app(tmp_path, smtp_server, key_pair)
    with app.app_context():
        welcome().send(to="ada@example.com", cc="carol@example.com", bcc="boss@example.com")
    (data,) = received(smtp_server)
    assert data.startswith(b"DKIM-Signature: v=1; a=" + key_pair.algorithm.encode())
    assert verifies(data, key_pair)
    signature = dkim.DKIM(data)
    signature.verify(dnsfunc=dns_for(key_pair))
    signed = set(signature.include_headers)
    for name in (b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"mime-version"):
        assert name in signed
    assert b"bcc" not in signed
    assert not verifies(data.replace(b"Welcome to Acme", b"Welcome to Acne", 1), key_pair)
    body_at = data.index(b"\r\n\r\n") + 4
    assert not verifies(data[:body_at] + data[body_at:].replace(b"a", b"b", 1), key_pair)
    # A second From added on the way breaks the signature (From is signed once more).
    assert not verifies(b"From: mallory@evil.example\r\n" + data, key_pair)


def test_message_with_attachments_and_non_ascii_headers_verifies(tmp_path, smtp_server, key_pair):
    app = make_app(tmp_path, smtp_server, key_pair)
    with app.app_context():
        receipt().send(to="Zoë Ünïcode <zoe@example.com>", headers={"X-Campaign": "été"})
    (data,) = received(smtp_server)
    assert verifies(data, key_pair)


def test_send_async_send_many_and_celery_are_signed(tmp_path, smtp_server, key_pair):
    from celery import Celery

    from emailkit.celery import register_tasks

    app = make_app(tmp_path, smtp_server, key_pair, MAIL_MAX_EMAILS=2)
    celery_app = Celery("dkim_eager")
    celery_app.conf.update(task_always_eager=True, task_eager_propagates=True)
    register_tasks(celery_app, app)
    with app.app_context():
        futures = [welcome(f"Async{i}").send_async(to=f"a{i}@example.com") for i in range(2)]
        for future in futures:
            future.result(timeout=30)
        report = kit.send_many((welcome(f"Bulk{i}"), f"b{i}@example.com") for i in range(5))
        assert report.sent == 5
        welcome("Queued").send_later(to="q@example.com")
    messages = received(smtp_server)
    assert len(messages) == 8
    assert all(verifies(data, key_pair) for data in messages)
    assert all(data.count(b"DKIM-Signature:") == 1 for data in messages)


def test_kept_message_is_signed_when_resent_not_when_kept(
    tmp_path, free_port, smtp_server, key_pair
):
    class Dead:
        host, port = "127.0.0.1", free_port

    down = make_app(tmp_path, Dead, key_pair, EMAILKIT_SEND_ATTEMPTS=1)
    with down.app_context(), pytest.raises(SendError):
        welcome().send(to="ada@example.com")
    with down.app_context():
        (kept,) = list(kit.failed)
        assert b"DKIM-Signature" not in kept.read()  # a signature's t= would go stale on disk

    up = make_app(tmp_path, smtp_server, key_pair)
    result = up.test_cli_runner().invoke(args=["emailkit", "resend-failed"])
    assert result.exit_code == 0, result.output
    (data,) = received(smtp_server)
    assert verifies(data, key_pair)


def test_key_from_a_file_and_from_the_environment(tmp_path, smtp_server, key_pair, monkeypatch):
    path = tmp_path / "dkim.pem"
    path.write_bytes(key_pair.private_pem)
    monkeypatch.setenv("EMAILKIT_DKIM_DOMAIN", "acme.example.com")
    monkeypatch.setenv("EMAILKIT_DKIM_SELECTOR", "mail2026")
    monkeypatch.setenv("EMAILKIT_DKIM_PRIVATE_KEY", str(path))
    app = make_app(
        tmp_path,
        smtp_server,
        key_pair,
        EMAILKIT_DKIM_DOMAIN=None,
        EMAILKIT_DKIM_SELECTOR=None,
        EMAILKIT_DKIM_PRIVATE_KEY=None,
    )
    with app.app_context():
        welcome().send(to="ada@example.com")
    assert verifies(received(smtp_server)[0], key_pair)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"this is not a key\n", "is not a PEM private key"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a PEM private"),
        (None, "cannot read the key file"),
    ],
)
def test_unreadable_key_is_a_config_error_at_start(tmp_path, smtp_server, content, says):
    path = tmp_path / "key.pem"
    if content is not None:
        path.write_bytes(content)
    app = Flask("dkim_bad", instance_path=str(tmp_path / "instance"))
    app.config.update(
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        EMAILKIT_DKIM_DOMAIN="acme.example.com",
        EMAILKIT_DKIM_SELECTOR="s1",
        EMAILKIT_DKIM_PRIVATE_KEY=str(path),
    )
    with pytest.raises(ConfigError, match=says) as raised:
        EmailKit(app)
    assert "EMAILKIT_DKIM_PRIVATE_KEY" in str(raised.value)
    assert smtp_server.envelopes == []


def test_key_text_never_appears_in_an_error(key_pair):
    broken = key_pair.private_pem.decode().replace("\n", "\nX", 3)
    with pytest.raises(ConfigError) as raised:
        DkimSigner.from_config(
            {
                "EMAILKIT_DKIM_DOMAIN": "acme.example.com",
                "EMAILKIT_DKIM_SELECTOR": "s1",
                "EMAILKIT_DKIM_PRIVATE_KEY": broken,
            }
        )
    assert "BEGIN" not in str(raised.value).replace("'-----BEGIN PRIVATE KEY-----'", "").replace(
        "'-----BEGIN RSA PRIVATE KEY-----'", ""
    )
    assert broken.splitlines()[2] not in str(raised.value)


def test_half_configured_dkim_is_refused(monkeypatch):
    for key in ("EMAILKIT_DKIM_DOMAIN", "EMAILKIT_DKIM_SELECTOR", "EMAILKIT_DKIM_PRIVATE_KEY"):
        monkeypatch.delenv(key, raising=False)
    assert DkimSigner.from_config({}) is None
    with pytest.raises(ConfigError, match="EMAILKIT_DKIM_SELECTOR, EMAILKIT_DKIM_PRIVATE_KEY"):
        DkimSigner.from_config({"EMAILKIT_DKIM_DOMAIN": "acme.example.com"})


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_keygen_writes_a_private_key_only_its_owner_reads_and_prints_the_record(
    tmp_path, algorithm
):
    runner = CliRunner()
    args = ["dkim", "keygen", "--domain", "acme.example.com", "--selector", "s1"]
    args += ["--algorithm", algorithm, "--output", str(tmp_path / "s1.pem")]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    key = tmp_path / "s1.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert "s1._domainkey.acme.example.com. IN TXT" in result.output
    assert f"k={algorithm}" in result.output
    signer = DkimSigner.from_config(
        {
            "EMAILKIT_DKIM_DOMAIN": "acme.example.com",
            "EMAILKIT_DKIM_SELECTOR": "s1",
            "EMAILKIT_DKIM_PRIVATE_KEY": str(key),
        }
    )
    assert signer is not None and signer.algorithm.startswith(algorithm)
    again = runner.invoke(main, args)
    assert again.exit_code == 1 and "exists" in again.output


def test_relaxed_alignment():
    assert aligned("acme.example.com", "acme.example.com")
    assert aligned("mail.acme.example.com", "acme.example.com")
    assert not aligned("acme.example.com", "mailer.example.net")


@given(
    subject=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200),
    name=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
    body=st.text(st.characters(blacklist_categories=("Cs",)), max_size=500),
)
@settings(max_examples=40, deadline=None)
def test_any_subject_name_and_body_verify_after_folding_and_encoding(subject, name, body):
    pair = _ED25519
    signer = DkimSigner.from_config(
        {
            "EMAILKIT_DKIM_DOMAIN": pair.domain,
            "EMAILKIT_DKIM_SELECTOR": pair.selector,
            "EMAILKIT_DKIM_PRIVATE_KEY": pair.private_pem.decode(),
        }
    )
    assert signer is not None
    message = Message(
        subject=subject,
        recipients=[(name, "ada@example.com")],
        body=body,
        html=f"<p>{body}</p>",
        sender="Acme <noreply@acme.example.com>",
        message_id="<1@acme.example.com>",
    )
    assert verifies(signer.sign(message.as_bytes()), pair)


_ED25519 = generate("acme.example.com", "prop", "ed25519")


def test_check_warns_when_the_from_domain_does_not_align(monkeypatch):
    from emailkit import discover
    from emailkit.checks import run_checks

    monkeypatch.setenv("EMAILKIT_DKIM_DOMAIN", "mailer.example.net")
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "Acme <noreply@acme.example.com>")
    report = run_checks(discover(SHIPPED_ROOT), only=["welcome"])
    (warning,) = [f for f in report.findings if f.check == "dkim.alignment"]
    assert warning.severity == "warning"
    assert "acme.example.com does not align with the DKIM domain d=mailer.example.net" in (
        warning.message
    )
    monkeypatch.setenv("EMAILKIT_DKIM_DOMAIN", "example.com")
    report = run_checks(discover(SHIPPED_ROOT), only=["welcome"])
    assert not [f for f in report.findings if f.check == "dkim.alignment"]


def test_sending_is_unaffected_by_checks_that_cannot_run(
    tmp_path, smtp_server, free_port, key_pair
):
    app = make_app(
        tmp_path,
        smtp_server,
        key_pair,
        EMAILKIT_SPAMD=f"127.0.0.1:{free_port}",
        EMAILKIT_CHROMIUM="/nonexistent/chromium",
    )
    with app.app_context():
        welcome().send(to="ada@example.com")
    assert verifies(received(smtp_server)[0], key_pair)
