"""No secret in any output: a debug-mode app prints smtplib's SMTP dialogue, never the login."""

from __future__ import annotations

import base64
import logging

import pytest
from flask import Flask

from emailkit import EmailKit

from .conftest import SHIPPED_ROOT

USER, PASSWORD = "mailer", "s3cret-Pa55"


def secret_forms() -> list[str]:
    """The password as it may appear: plain, and base64 as AUTH PLAIN and AUTH LOGIN send it."""
    forms = [PASSWORD]
    for raw in (f"\0{USER}\0{PASSWORD}", PASSWORD, f"{USER}\0{PASSWORD}"):
        encoded = base64.b64encode(raw.encode()).decode()
        forms += [encoded, encoded.rstrip("=")]
    return forms


def debug_app(tmp_path, sink, **config) -> Flask:
    app = Flask("debug_secrets", instance_path=str(tmp_path / "instance"))
    app.debug = True  # Flask-Mail's MAIL_DEBUG follows it: smtplib prints what it sends
    app.config.update(
        MAIL_SERVER=sink.host,
        MAIL_PORT=sink.port,
        MAIL_USERNAME=USER,
        MAIL_PASSWORD=config.pop("MAIL_PASSWORD", PASSWORD),
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
        EMAILKIT_SMTP_TIMEOUT=5,
        EMAILKIT_ROOT=str(SHIPPED_ROOT),
        **config,
    )
    EmailKit(app)
    assert app.extensions["mail"].debug, "MAIL_DEBUG is off: nothing would be printed"
    return app


def send_one(app: Flask) -> None:
    from emails.welcome import Welcome

    with app.app_context():
        Welcome(user_name="Ada", confirm_url="https://acme.example.com/c").send(
            to="ada@example.com"
        )


def assert_no_secret(output: str) -> None:
    for form in secret_forms():
        assert form not in output, f"{form!r} in the output"


def test_debug_output_over_starttls_never_shows_the_password(
    tmp_path, tls_smtp_server, capfd, caplog
):
    caplog.set_level(logging.DEBUG)
    tls = {"MAIL_USE_TLS": True} if tls_smtp_server.mode == "starttls" else {"MAIL_USE_SSL": True}
    app = debug_app(
        tmp_path, tls_smtp_server, EMAILKIT_SMTP_CAFILE=str(tls_smtp_server.cafile), **tls
    )
    send_one(app)
    assert tls_smtp_server.logins == [(USER, PASSWORD)]  # it did log in
    out, err = capfd.readouterr()
    assert "send: " in err and "mail from" in err.lower()  # the debug output is there
    assert "login not shown" in err
    assert_no_secret(out + err + caplog.text)


def test_debug_output_on_loopback_never_shows_the_password(tmp_path, smtp_server, capfd):
    app = debug_app(tmp_path, smtp_server)
    send_one(app)
    assert smtp_server.logins == [(USER, PASSWORD)]
    _, err = capfd.readouterr()
    assert "mail from" in err.lower()
    assert_no_secret(err)


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_no_login_mechanism_shows_the_password_in_debug_output(
    tmp_path, smtp_server, capfd, monkeypatch, mechanism
):
    import smtplib

    login = smtplib.SMTP.login

    def only(self, user, password, **kwargs):  # as if the server offered just one
        self.esmtp_features["auth"] = mechanism
        return login(self, user, password, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "login", only)
    send_one(debug_app(tmp_path, smtp_server))
    assert smtp_server.logins == [(USER, PASSWORD)]
    _, err = capfd.readouterr()
    assert "mail from" in err.lower()
    assert_no_secret(err)


def test_a_failed_login_in_debug_mode_shows_no_password(tmp_path, smtp_server, capfd, caplog):
    from emailkit import SendError

    app = debug_app(
        tmp_path, smtp_server, EMAILKIT_SEND_ATTEMPTS=1, MAIL_PASSWORD="wr0ng-" + PASSWORD
    )
    with pytest.raises(SendError) as caught:
        send_one(app)
    _, err = capfd.readouterr()
    assert_no_secret(err + caplog.text + str(caught.value))
    assert "wr0ng" not in err + caplog.text + str(caught.value)
