from __future__ import annotations

import email.policy
from email import message_from_bytes

import flask_mail
import pytest
from flask import Flask

from emailkit import Email, HeaderError, Message, Rendered


@pytest.fixture
def rendered() -> Rendered:
    return Rendered(
        email="note",
        subject="Grüße from Acme",
        html="<html><body><p>Héllo <b>Ada</b></p></body></html>",
        text_part="Héllo Ada\n",
    )


def parse(message: Message):
    return message_from_bytes(message.as_bytes(), policy=email.policy.default)


def mail_app(server=None) -> tuple[Flask, flask_mail.Mail]:
    app = Flask("mime-test")
    app.config.update(MAIL_DEFAULT_SENDER="Acme <noreply@acme.example.com>")
    if server is not None:
        app.config.update(MAIL_SERVER=server.host, MAIL_PORT=server.port)
    return app, flask_mail.Mail(app)


def test_message_is_multipart_alternative_text_first_then_html_in_utf8(rendered):
    parsed = parse(rendered.message("ada@example.com", sender="noreply@acme.example.com"))
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.get_payload()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert text.get_content().replace("\r\n", "\n") == "Héllo Ada\n"
    assert html.get_content().startswith("<html>")
    assert "<b>Ada</b>" in html.get_content()


def test_headers_and_recipients(rendered):
    message = rendered.message(
        ["ada@example.com", ("Bob Smith", "bob@example.com")],
        cc="carol@example.com",
        bcc=["dave@example.com"],
        reply_to="help@acme.example.com",
        sender=("Acme", "noreply@acme.example.com"),
        headers={"X-Campaign": "welcome"},
    )
    parsed = parse(message)
    assert parsed["Subject"] == "Grüße from Acme"
    assert parsed["From"] == "Acme <noreply@acme.example.com>"
    assert parsed["To"] == "ada@example.com, Bob Smith <bob@example.com>"
    assert parsed["Cc"] == "carol@example.com"
    assert parsed["Bcc"] is None  # never written into the message
    assert parsed["Reply-To"] == "help@acme.example.com"
    assert parsed["X-Campaign"] == "welcome"
    assert parsed["Message-ID"] == message.msgId
    assert parsed["Date"]
    # The envelope holds addresses only (Flask-Mail's connection sends to send_to).
    assert message.send_to == {
        "ada@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
    }


def test_non_ascii_subject_and_display_name_are_encoded(rendered):
    raw = rendered.message(("Zoë", "zoe@example.com"), sender="a@example.com").as_bytes()
    raw.decode("ascii")  # every header is 7-bit
    parsed = message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Grüße from Acme"
    assert parsed["To"] == "Zoë <zoe@example.com>"


def test_attachments_make_a_mixed_message(rendered):
    attachment = flask_mail.Attachment("report.csv", "text/csv", b"a,b\n1,2\n")
    parsed = parse(rendered.message("ada@example.com", attachments=[attachment]))
    assert parsed.get_content_type() == "multipart/mixed"
    alternative, attached = parsed.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert attached.get_filename() == "report.csv"
    assert attached.get_content() == "a,b\n1,2\n"


def test_default_sender_comes_from_flask_mail_config(rendered):
    app, _ = mail_app()
    with app.app_context():
        message = rendered.message("ada@example.com")
    assert message.sender == "Acme <noreply@acme.example.com>"


def test_message_builds_outside_an_app_context(rendered):
    message = rendered.message("ada@example.com")
    assert message.sender is None
    assert b"ada@example.com" in message.as_bytes()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"to": "ada@example.com\r\nBcc: x@example.com"}, "to"),
        ({"cc": ["a@example.com\n"]}, "cc"),
        ({"sender": ("Acme\n", "a@example.com")}, "sender"),
        ({"reply_to": "a@example.com\rX: y"}, "reply_to"),
        ({"headers": {"X-Tag": "a\r\nBcc: x@example.com"}}, "header 'X-Tag'"),
        ({"headers": {"X-Tag\n": "a"}}, "header name"),
    ],
)
def test_line_breaks_in_any_header_are_refused(rendered, kwargs, field):
    kwargs.setdefault("to", "ada@example.com")
    with pytest.raises(HeaderError, match=rf"^note: {field}"):
        rendered.message(**kwargs)


def test_every_line_stays_within_998_octets():
    html = "<html><body><p>" + "x" * 50_000 + " é</p></body></html>"
    message = Rendered(email="n", subject="S", html=html, text_part="y" * 5000).message("a@x.io")
    lines = message.as_bytes().split(b"\r\n")
    assert max(len(line) for line in lines) <= 998


def test_one_line_50kb_html_is_accepted_by_a_strict_smtp_server(smtp_server):
    html = "<html><body><p>" + "é" * 25_000 + "</p></body></html>"
    assert len(html.encode()) > 50_000
    app, mail = mail_app(smtp_server)
    rendered = Rendered(email="n", subject="Long", html=html, text_part="short")
    with app.app_context():
        mail.send(rendered.message("ada@example.com"))
    (received,) = smtp_server.messages
    html_part = received.get_payload()[1]
    assert html_part.get_payload(decode=True).decode("utf-8").rstrip("\r\n") == html


def test_plain_flask_mail_message_with_the_same_html_is_refused(smtp_server):
    """The server in these tests is strict: the guarantee above is not vacuous."""
    import smtplib

    html = "<html><body><p>" + "é" * 25_000 + "</p></body></html>"
    app, mail = mail_app(smtp_server)
    with app.app_context(), pytest.raises(smtplib.SMTPDataError, match="Line too long"):
        mail.send(flask_mail.Message("Long", ["ada@example.com"], body="short", html=html))
    assert smtp_server.envelopes == []


def test_email_message_renders_and_builds(emails_root):
    folder = emails_root.email("note", subject_txt="Hi {{ name }}", body_txt="Body {{ name }}")

    class Note(Email):
        template = folder
        name: str

    parsed = parse(Note(name="Ada").message("ada@example.com", sender="a@example.com"))
    assert parsed["Subject"] == "Hi Ada"
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content().rstrip() == "Body Ada"


def test_long_subject_and_address_lists_are_folded_and_parse_back():
    subject = "Your weekly summary: " + " ".join(f"word{i}" for i in range(60)) + " – fin"
    to = [(f"Person {i} Ünïcode", f"p{i}@example.com") for i in range(40)]
    message = Rendered(email="n", subject=subject, html=None, text_part="x").message(to)
    raw = message.as_bytes()
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    parsed = message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == subject
    assert len(parsed["To"].addresses) == 40
    assert parsed["To"].addresses[39].display_name == "Person 39 Ünïcode"


def test_non_ascii_filename_and_idn_domain():
    from emailkit import attachment

    message = Rendered(email="n", subject="S", html="<p>x</p>", text_part="x").message(
        "ada@bücher.example", attachments=[attachment(b"data", filename="Résumé 2026.pdf")]
    )
    parsed = parse(message)
    assert parsed["To"] == "ada@xn--bcher-kva.example"
    assert parsed.get_payload()[1].get_filename() == "Résumé 2026.pdf"
    assert parsed.get_payload()[1].get_content() == b"data"


def test_serialised_message_is_7bit_with_crlf_line_ends(rendered):
    raw = rendered.message("ada@example.com", sender="a@example.com").as_bytes()
    raw.decode("ascii")
    assert b"\n" not in raw.replace(b"\r\n", b"")
