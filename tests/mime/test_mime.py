from __future__ import annotations

import email.policy
import re
from email import message_from_bytes
from email.header import decode_header, make_header

import flask_mail
import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from emailkit import AddressError, Email, HeaderError, Message, Rendered, attachment, inline_image


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


# Addresses: several in one string, any domain category, wrong types.


def sent(smtp_server, message):
    """Send ``message`` through Flask-Mail to the real sink; what arrived and its envelope."""
    app, mail = mail_app(smtp_server)
    with app.app_context():
        mail.send(message)
    envelope = smtp_server.envelopes[-1]
    raw = envelope.original_content
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    return message_from_bytes(raw, policy=email.policy.strict), envelope


def test_a_string_of_several_addresses_is_used_whole_in_header_and_envelope(rendered, smtp_server):
    message = rendered.message(
        "ada@example.com, Bob Smith <bob@example.com>",
        cc='"Lovelace, Carol" <carol@example.com>, dave@example.com',
        bcc="eve@example.com, frank@example.com",
        reply_to="help@acme.example.com, sales@acme.example.com",
        sender="noreply@acme.example.com",
    )
    parsed, envelope = sent(smtp_server, message)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ada@example.com", "bob@example.com"]
    assert parsed["To"].addresses[1].display_name == "Bob Smith"
    assert [a.display_name for a in parsed["Cc"].addresses] == ["Lovelace, Carol", ""]
    assert [a.addr_spec for a in parsed["Reply-To"].addresses] == [
        "help@acme.example.com",
        "sales@acme.example.com",
    ]
    assert parsed["Bcc"] is None
    assert sorted(envelope.rcpt_tos) == [
        "ada@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
        "eve@example.com",
        "frank@example.com",
    ]
    assert envelope.mail_from == "noreply@acme.example.com"
    assert message.recipients == ["ada@example.com", ("Bob Smith", "bob@example.com")]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"to": "ada@example.com; bob@example.com"}, "commas, not semicolons"),
        ({"cc": "Team: ada@example.com, bob@example.com;"}, "group"),
        ({"bcc": "ada@example.com (Ada)"}, "comment"),
        ({"reply_to": "Lovelace, Ada <ada@example.com>"}, "not valid"),
        ({"to": ["ok@example.com", "ada@example.com bob@example.com"]}, "not valid"),
        ({"sender": "ada@example.com, bob@example.com"}, "one address"),
        ({"to": ("ada@example.com", "bob@example.com")}, "two addresses in a tuple"),
    ],
)
def test_a_string_that_cannot_be_used_whole_is_refused_and_nothing_is_sent(
    rendered, smtp_server, kwargs, reason
):
    kwargs.setdefault("to", "ok@example.com")
    field = next(iter(k for k in kwargs if k != "to"), "to")
    with pytest.raises(AddressError, match=rf"^note: {field}.*{reason}"):
        rendered.message(**kwargs)
    assert smtp_server.envelopes == []


def test_several_default_senders_are_refused_naming_the_setting(rendered):
    app, _ = mail_app()
    app.extensions["mail"].default_sender = "a@example.com, b@example.com"
    with app.app_context(), pytest.raises(AddressError, match=r"MAIL_DEFAULT_SENDER.*2 addresses"):
        rendered.message("ada@example.com")


@pytest.mark.parametrize(
    "address", ["ada@shop.test", "root@localhost", "ops@corp.local", "x@mail.example"]
)
def test_addresses_at_test_local_and_intranet_domains_are_accepted(rendered, smtp_server, address):
    sender = "app@" + address.split("@")[1]
    parsed, envelope = sent(smtp_server, rendered.message(address, sender=sender))
    assert parsed["To"].addresses[0].addr_spec == address
    assert envelope.rcpt_tos == [address]


@pytest.mark.parametrize(
    "address", ["ada@", "@example.com", "ada@exa mple.com", "ada@-example.com", "a..b@x.com"]
)
def test_malformed_addresses_are_still_refused(rendered, address):
    with pytest.raises(AddressError, match="not valid"):
        rendered.message(address)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (123, "not int 123"),
        (b"ada@example.com", "decode bytes"),
        (("x",), "pair of two strings"),
        (("Ada", b"ada@example.com"), "pair of two strings"),
        ([None], r"to\[0\] takes"),
        ({"ada@example.com": "Ada"}, "not dict"),
        (["ok@example.com", 7], r"to\[1\] takes"),
    ],
)
def test_wrong_types_get_an_address_error(rendered, value, shown):
    with pytest.raises(AddressError, match=shown):
        rendered.message(value)


# Every value that reaches a header.

BAD_CHARACTERS = ["\r", "\n", "\x00", "\x1b", "\t", "\x7f", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("bad", BAD_CHARACTERS)
@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda r, s: Rendered("note", f"Hi{s}there", "<p>x</p>").message("a@x.io"), "subject"),
        (lambda r, s: r.message(("Ada" + s, "ada@example.com")), "to display name"),
        (lambda r, s: r.message("a@x.io", sender=(s, "a@x.io")), "sender display name"),
        (lambda r, s: r.message("a@x.io", headers={"X-Tag": f"a{s}b"}), "header 'X-Tag'"),
        (lambda r, s: r.message("a@x.io", headers={f"X-{s}": "a"}), "header name"),
        (
            lambda r, s: r.message("a@x.io", attachments=[attachment(b"d", filename=f"a{s}.pdf")]),
            r"attachments\[0\] filename",
        ),
        (
            lambda r, s: r.message(
                "a@x.io", attachments=[attachment(b"d", "a.pdf", content_type=f"text/{s}plain")]
            ),
            r"attachments\[0\] content type",
        ),
        (
            lambda r, s: Rendered("note", "S", '<img src="cid:logo">').message(
                "a@x.io", attachments=[inline_image(f"logo{s}", b"png", "image/png")]
            ),
            "",
        ),
        (
            lambda r, s: Rendered(
                "note", "S", "<p>x</p>", unsubscribe_url=f"https://x.io/u{s}1"
            ).message("a@x.io"),
            "unsubscribe_url",
        ),
    ],
)
def test_controls_and_line_breaks_are_refused_naming_the_field(rendered, build, field, bad):
    with pytest.raises(HeaderError, match=rf"^note: {field}"):
        build(rendered, bad)


def test_a_crlf_in_a_filename_cannot_write_a_header_of_its_own(rendered, smtp_server):
    evil = attachment(b"d", filename="a.pdf\r\nBcc: victim@example.com")
    with pytest.raises(HeaderError, match=r"attachments\[0\] filename contains a line break"):
        rendered.message("ada@example.com", attachments=[evil])
    assert smtp_server.envelopes == []


def test_a_field_with_a_unicode_line_break_is_refused_in_the_subject(emails_root):
    folder = emails_root.email("note", subject_txt="Hi {{ name }}", body_txt="Body")

    class Note(Email):
        template = folder
        name: str

    for bad in ["\u2028", "\x85", "\x00"]:
        with pytest.raises(HeaderError, match=r"Note: subject.txt takes field 'name'"):
            Note(name=f"Ada{bad}Lovelace").render()


@pytest.mark.parametrize(
    ("name", "argument"),
    [
        ("From", "sender="),
        ("to", "to="),
        ("CC", "cc="),
        ("Bcc", "bcc="),
        ("Reply-To", "reply_to="),
        ("Date", "date"),
        ("Message-ID", "message_id="),
        ("MIME-Version", "MIME structure"),
        ("Content-Type", "attachments="),
        ("content-transfer-encoding", "attachments="),
        ("Subject", "subject.txt"),
    ],
)
def test_extra_headers_cannot_replace_the_headers_emailkit_writes(rendered, name, argument):
    with pytest.raises(HeaderError, match=rf"header '{name}' is written by emailkit.*{argument}"):
        rendered.message("ada@example.com", headers={name: "x"})


@pytest.mark.parametrize("name", ["X Tag", "X:Tag", "", "Ünï", "X" * 77, "X-Tag\x7f"])
def test_extra_header_names_must_be_field_names(rendered, name):
    with pytest.raises(HeaderError, match="not a valid field name"):
        rendered.message("ada@example.com", headers={name: "x"})


def test_content_language_and_x_headers_are_still_allowed(rendered, smtp_server):
    message = rendered.message(
        "ada@example.com",
        sender="a@example.com",
        headers={"Content-Language": "de", "X-Campaign": "spring sale"},
    )
    parsed, _ = sent(smtp_server, message)
    assert parsed["Content-Language"] == "de"
    assert parsed["X-Campaign"] == "spring sale"


def test_long_values_keep_every_line_within_998_octets_and_arrive_intact(smtp_server):
    subject = "x" * 3000
    names = [("N" * 1500, "n@example.com"), ("é" * 1500, "e@example.com")]
    many = [(f"Person {i} Ünïcode", f"p{i}@example.com") for i in range(200)]
    filename = "Résumé " * 280 + ".pdf"
    url = "https://acme.example.com/unsubscribe/" + "t" * 930
    message = Rendered("note", subject, "<p>x</p>", unsubscribe_url=url).message(
        [*names, *many],
        sender=("S" * 1500, "noreply@acme.example.com"),
        attachments=[attachment(b"data", filename=filename)],
        headers={"X-Long": " ".join(["word"] * 400)},
    )
    parsed, envelope = sent(smtp_server, message)
    raw = envelope.original_content
    assert all(len(word) <= 75 for word in re.findall(rb"=\?[^?]+\?[bq]\?[^?]*\?=", raw))
    assert parsed["Subject"] == subject
    assert len(parsed["To"].addresses) == 202
    assert parsed["To"].addresses[2].display_name == "Person 0 Ünïcode"
    assert parsed["From"].addresses[0].addr_spec == "noreply@acme.example.com"
    assert parsed["List-Unsubscribe"] == f"<{url}>"
    assert parsed["X-Long"] == " ".join(["word"] * 400)
    assert parsed.get_payload()[1].get_filename() == filename.strip()
    assert parsed.get_payload()[1]["Content-Disposition"].params["filename"] == filename
    assert len(envelope.rcpt_tos) == 202
    # Display names made of several encoded-words, decoded as RFC 2047 says (see
    # test_header_properties for why not through the modern parser).
    decoded = str(make_header(decode_header(re.search(r"^(.*) <", raw_from(raw)).group(1))))
    assert decoded == "S" * 1500


def raw_from(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").decode("ascii")
    return next(line[len("From: ") :] for line in head.split("\r\n") if line.startswith("From:"))


def test_an_unsubscribe_url_too_long_for_a_header_line_is_refused(rendered):
    url = "https://acme.example.com/u/" + "t" * 1500
    with pytest.raises(HeaderError, match=r"unsubscribe_url .* 1,527 characters long"):
        Rendered("note", "S", "<p>x</p>", unsubscribe_url=url).message("ada@example.com")


def test_a_header_word_too_long_for_a_line_is_refused(rendered):
    with pytest.raises(HeaderError, match="header 'X-Token' has a word of 3,000 characters"):
        rendered.message("ada@example.com", headers={"X-Token": "t" * 3000})


@pytest.mark.parametrize(
    "message_id", ["no-brackets@x.io", "<a b@x.io>", "<a@x.io>\r\nX: y", "<no-at>", "<@x.io>"]
)
def test_a_bad_message_id_is_refused(rendered, message_id):
    with pytest.raises(HeaderError, match="message_id"):
        rendered.message("ada@example.com", message_id=message_id)


def test_wrong_types_reach_no_server_and_right_ones_arrive_whole(rendered, smtp_server):
    for wrong in (123, b"ada@example.com", ("x",), [("Ada", "ada@example.com"), None]):
        with pytest.raises(AddressError):
            rendered.message(wrong, sender="a@example.com")
    assert smtp_server.connections == 0
    right = (a for a in [("Ada", "ada@example.com"), "bob@example.com, carol@example.com"])
    parsed, envelope = sent(smtp_server, rendered.message(right, sender="a@example.com"))
    assert [a.addr_spec for a in parsed["To"].addresses] == [
        "ada@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    assert sorted(envelope.rcpt_tos) == ["ada@example.com", "bob@example.com", "carol@example.com"]


def test_a_given_message_id_is_written_as_given(rendered):
    message = rendered.message("ada@example.com", message_id="<order-42.1@acme.example.com>")
    assert parse(message)["Message-ID"] == "<order-42.1@acme.example.com>"


def test_an_idn_sender_reaches_the_envelope_in_the_form_the_header_has(rendered, smtp_server):
    # IDNA 2008 keeps ß (xn--strae-oqa); Python's "idna" codec, which Flask-Mail's envelope
    # would use on the name as given, maps it to "ss": another domain.
    message = rendered.message("ada@straße.example", sender=("Acme", "shop@straße.example"))
    parsed, envelope = sent(smtp_server, message)
    assert parsed["From"].addresses[0].domain == "xn--strae-oqa.example"
    assert envelope.mail_from == "shop@xn--strae-oqa.example"
    assert envelope.rcpt_tos == ["ada@xn--strae-oqa.example"]
    assert parsed["To"].addresses[0].domain == "xn--strae-oqa.example"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(st.sampled_from("ab <>=\"' :"), max_size=8),
            st.builds(
                lambda scheme, ident: f'src="{scheme}{ident}"',
                st.sampled_from(["cid:", "CID:", "Cid:"]),
                st.text(st.sampled_from("abc.@1"), min_size=1, max_size=6),
            ),
        ),
        max_size=12,
    )
)
def test_cid_references_match_the_case_blind_pattern(pieces):
    from emailkit.mime.message import _CID_REFERENCE, cid_references

    html = "".join(pieces)
    assert cid_references(html) == set(_CID_REFERENCE.findall(html))
