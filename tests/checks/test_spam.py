"""The spam score: Debian's spamd (network tests off) scoring messages as emailkit sends them."""

from __future__ import annotations

import json
import socket
import threading
from email.utils import formatdate, make_msgid

import pytest
from click.testing import CliRunner

from emailkit import Email, discover
from emailkit.checks import run_checks
from emailkit.checks.deliverability import Deliverability
from emailkit.checks.sent import sent_bytes
from emailkit.checks.spam import Spamd, SpamdUnavailable, parse_rules
from emailkit.cli import main
from emailkit.model.email import preview_samples

from ..conftest import SHIPPED_ROOT

SENDER = "Acme <noreply@acme.example.com>"
SPAMMY_HTML = (
    '<html><body><a href="https://bit.ly/3xYzAbC"><img src="https://bit.ly/i1.jpg" '
    'width="600" height="800"></a><a href="https://tinyurl.com/y7abcd"><img '
    'src="https://tinyurl.com/2.jpg" width="600" height="800"></a></body></html>'
)


def client(spamd) -> Spamd:
    return Spamd(spamd.host, spamd.port, timeout=60)


def test_every_shipped_sample_scores_under_one(spamd):
    scores = {}
    for name, cls in discover(SHIPPED_ROOT).items():
        for sample, email in preview_samples(cls).items():
            result = client(spamd).report(sent_bytes(email.render(), SENDER))
            scores[f"{name}/{sample}"] = result.score
            assert result.threshold == 5.0
    assert len(scores) == 16
    assert max(scores.values()) < 1.0, scores


def test_spammy_message_scores_high_with_the_rules_that_say_why(spamd):
    """All-caps subject, image-only HTML, URL shorteners and no text part."""
    message = (
        "From: Deals <deals@acme.example.com>\r\nTo: ada@example.com\r\n"
        "Subject: FREE MONEY WINNER CLAIM YOUR PRIZE NOW\r\n"
        f"Date: {formatdate()}\r\nMessage-ID: {make_msgid()}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/html; charset=utf-8\r\n\r\n{SPAMMY_HTML}\r\n"
    ).encode()
    result = client(spamd).report(message)
    assert result.score >= result.threshold
    hit = {rule.name for rule in result.rules}
    assert {"SUBJ_ALL_CAPS", "MIME_HTML_ONLY", "HTML_IMAGE_ONLY_04"} <= hit
    assert hit & {"SHORTENER_SHORT_IMG", "SHORT_SHORTNER"}
    caps = next(rule for rule in result.rules if rule.name == "SUBJ_ALL_CAPS")
    assert caps.description == "Subject is all capitals" and caps.score > 0


def spammy_email(emails_root) -> type[Email]:
    folder = emails_root.email(
        "promo", subject_txt="FREE MONEY WINNER CLAIM YOUR PRIZE NOW", body_html=SPAMMY_HTML
    )
    namespace = {"template": folder, "previews": classmethod(lambda cls: {"default": cls()})}
    return type("Promo", (Email,), namespace)


def test_check_reports_the_score_and_each_rule_with_what_to_change(emails_root, spamd):
    cls = spammy_email(emails_root)
    report = run_checks(
        {"promo": cls},
        deliverability=Deliverability(spam=True, config={"EMAILKIT_SPAMD": spamd.address}),
    )
    spam = {f.check: f for f in report.findings if f.check.startswith("spam.")}
    score = spam["spam.score"]
    assert "content score" in score.message and "threshold 5" in score.message
    assert spam["spam.SUBJ_ALL_CAPS"].hint == "write the subject in sentence case, not all capitals"
    assert "Subject is all capitals" in spam["spam.SUBJ_ALL_CAPS"].message
    assert any(check.startswith("spam.HTML_IMAGE_ONLY") for check in spam)
    assert all(f.sample == "default" and f.email == "promo" for f in spam.values())


def test_cli_spam_json_and_exit_code(emails_root, spamd, monkeypatch):
    emails_root.email("promo", subject_txt="FREE MONEY WINNER CLAIM YOUR PRIZE NOW")
    emails_root.write("promo/body.html", SPAMMY_HTML)
    emails_root.write(
        "promo/__init__.py",
        """
        from emailkit import Email


        class Promo(Email):
            @classmethod
            def previews(cls):
                return {"default": cls()}
        """,
    )
    monkeypatch.setenv("EMAILKIT_SPAMD", spamd.address)
    args = ["--emails", str(emails_root.path), "check", "--spam", "--format", "json"]
    result = CliRunner().invoke(main, args)
    data = json.loads(result.output)
    checks = {f["check"]: f for f in data["findings"]}
    assert "spam.SUBJ_ALL_CAPS" in checks and "spam.score" in checks
    # Even with a text part written from the HTML, it stays over the threshold: an error.
    assert checks["spam.score"]["severity"] == "error"
    assert result.exit_code == 1


def test_unreachable_spamd_is_one_finding_that_says_how_to_start_one(emails_root, free_port):
    cls = spammy_email(emails_root)
    address = f"127.0.0.1:{free_port}"
    report = run_checks(
        {"promo": cls}, deliverability=Deliverability(spam=True, config={"EMAILKIT_SPAMD": address})
    )
    (unavailable,) = [f for f in report.findings if f.check.startswith("spam.")]
    assert unavailable.check == "spam.unavailable" and unavailable.severity == "error"
    assert address in unavailable.message
    assert "spamd --local" in unavailable.hint and "apt-get install" in unavailable.hint
    assert any(f.check.startswith("support.") for f in report.findings)  # the rest still ran


def test_stalling_spamd_is_a_finding_not_a_hang(emails_root):
    cls = spammy_email(emails_root)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(connection)  # read nothing, answer nothing

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    try:
        report = run_checks(
            {"promo": cls},
            deliverability=Deliverability(
                spam=True, config={"EMAILKIT_SPAMD": address, "EMAILKIT_SPAMD_TIMEOUT": "0.5"}
            ),
        )
    finally:
        done.set()
        listener.close()
        for connection in accepted:
            connection.close()
    (stalled,) = [f for f in report.findings if f.check.startswith("spam.")]
    assert stalled.check == "spam.unavailable"
    assert "did not answer within 0.5 s" in stalled.message


def test_something_else_on_the_port_is_reported(emails_root):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer() -> None:
        connection, _ = listener.accept()
        connection.recv(100)
        connection.sendall(b"220 smtp.example.com ESMTP\r\n")
        connection.close()

    threading.Thread(target=answer, daemon=True).start()
    spamd = Spamd("127.0.0.1", listener.getsockname()[1], timeout=10)
    with pytest.raises(SpamdUnavailable, match="does not speak spamd's protocol"):
        spamd.ping()
    listener.close()


def test_report_table_descriptions_are_joined_across_lines():
    report = (
        "Content analysis details:   (6.2 points, 5.0 required)\n\n"
        " pts rule name              description\n"
        "---- ---------------------- --------------------------------------------------\n"
        " 2.2 EMPTY_MESSAGE          Message appears to have no textual parts\n"
        "-0.0 NO_RELAYS              Informational: message was not relayed via\n"
        "                            SMTP\n"
        " 0.5 SUBJ_ALL_CAPS          Subject is all capitals\n"
    )
    rules = parse_rules(report)
    assert [(r.name, r.score) for r in rules] == [
        ("EMPTY_MESSAGE", 2.2),
        ("NO_RELAYS", -0.0),
        ("SUBJ_ALL_CAPS", 0.5),
    ]
    assert rules[1].description == "Informational: message was not relayed via SMTP"
