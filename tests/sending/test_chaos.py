"""Seeded chaos against the real aiosmtpd sink: nothing lost, nothing doubled.

The sink refuses recipients, answers 421/451/452 at MAIL, RCPT and DATA, 550s, drops the
line part-way through the data or after it, takes a message and then drops the line before
saying so, and stalls. Whatever happens, each recipient of each message is either in the
sink or in the failed-mail folder; a recipient gets a message twice only where the sink
logged that it took the message and then dropped the line.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import wait
from email import message_from_bytes

import pytest

from emailkit import SendError
from emailkit.extension import kit

from ..conftest import Chaos
from .test_sending import make_app, welcome

RATES = {
    "connect": [("drop", 0.02)],
    "ehlo": [("421", 0.02)],
    "mail": [("421", 0.02), ("451", 0.02), ("452", 0.01), ("550", 0.005)],
    "rcpt": [("452", 0.03), ("451", 0.02), ("421", 0.005), ("550", 0.01)],
    "data": [
        ("451", 0.02),
        ("421", 0.01),
        ("552", 0.005),
        ("drop_mid", 0.02),
        ("drop", 0.01),
        ("accept_drop", 0.015),
        ("stall", 0.004),
    ],
}


def recipients_of(i: int) -> dict:
    """Message i goes to u{i}; every 4th also to a cc, every 10th to a mailbox that is gone."""
    options: dict = {}
    if i % 4 == 0:
        options["cc"] = [f"c{i}@example.com"]
    if i % 10 == 0:
        options["bcc"] = [f"gone{i}@example.com"]
    return options


def everyone(i: int) -> list[str]:
    options = recipients_of(i)
    return [f"u{i}@example.com", *options.get("cc", []), *options.get("bcc", [])]


@pytest.mark.parametrize(
    ("way", "count", "seed"), [("send_many", 500, 11), ("send_async", 200, 12), ("send", 100, 13)]
)
def test_chaos_loses_nothing_and_doubles_only_what_the_server_took(
    tmp_path, smtp_server, way, count, seed, artifacts
):
    app = make_app(
        tmp_path,
        smtp_server,
        EMAILKIT_SMTP_TIMEOUT=0.5,  # a stall costs this much
        MAIL_MAX_EMAILS=10,
        EMAILKIT_ASYNC_WORKERS=4,
        # As many connections as before the pool; 16 under chaos: tests/sending/test_pool.py.
        EMAILKIT_SMTP_CONNECTIONS=4,
    )
    for i in range(0, count, 10):
        smtp_server.refuse(f"gone{i}@example.com", "550")
    smtp_server.chaos = Chaos(seed, RATES)
    # Each kind the accounting below is about happens at least once, whatever order threads
    # draw the seeded faults in (send_async's order varies from run to run).
    for stage, fault in (("data", "accept_drop"), ("data", "drop_mid"), ("rcpt", "452")):
        smtp_server.fail(stage, fault)
    errors: list[SendError] = []
    with app.app_context():
        if way == "send_many":
            kit.send_many(
                (welcome(f"U{i}"), f"u{i}@example.com", recipients_of(i)) for i in range(count)
            )
        elif way == "send_async":
            futures = [
                welcome(f"U{i}").send_async(to=f"u{i}@example.com", **recipients_of(i))
                for i in range(count)
            ]
            wait(futures, timeout=120)
            errors = [f.exception() for f in futures if f.exception() is not None]
        else:
            for i in range(count):
                try:
                    welcome(f"U{i}").send(to=f"u{i}@example.com", **recipients_of(i))
                except SendError as error:
                    errors.append(error)
        kept_meta = [stored.meta for stored in kit.failed]
    smtp_server.chaos = None

    delivered = Counter(r for e in smtp_server.envelopes for r in e.rcpt_tos)
    kept = Counter(r for meta in kept_meta for r in meta["recipients"])
    all_recipients = {r for i in range(count) for r in everyone(i)}
    # Nothing lost: every recipient is in the sink or kept.
    assert set(delivered) | set(kept) == all_recipients
    assert set(delivered) <= all_recipients and set(kept) <= all_recipients
    assert max(kept.values(), default=1) == 1  # kept once

    # Nothing doubled, except where the server took a message and then dropped the line.
    taken_then_dropped = Counter(
        detail for stage, fault, detail in smtp_server.log if fault == "accept_drop"
    )
    ids = {
        r: message_from_bytes(e.original_content)["Message-ID"]
        for e in smtp_server.envelopes
        for r in e.rcpt_tos
    }
    for recipient, copies in delivered.items():
        if copies > 1 or recipient in kept:  # delivered twice, or delivered and kept
            extra = copies - 1 + (recipient in kept)
            assert taken_then_dropped[ids[recipient]] >= extra, (recipient, copies)

    # The callers were told: every kept recipient was reported, none that was delivered.
    if way != "send_many":
        reported = Counter(r for error in errors for r in error.recipients)
        assert reported == kept
    for meta in kept_meta:
        assert not set(meta["recipients"]) & set(meta.get("delivered", []))

    messages_delivered = sum(
        all(delivered[r] for r in everyone(i)) and not any(kept[r] for r in everyone(i))
        for i in range(count)
    )
    messages_kept = sum(any(kept[r] for r in everyone(i)) for i in range(count))
    faults = Counter(f"{stage}:{fault}" for stage, fault, _ in smtp_server.log)
    figures = {
        "way": way,
        "messages": count,
        "seed": seed,
        "delivered": messages_delivered,
        "kept": messages_kept,
        "recipients": len(all_recipients),
        "recipients_delivered": len(delivered),
        "recipients_kept": len(kept),
        "duplicate_copies": sum(n - 1 for n in delivered.values()),
        "accept_then_drop_faults": sum(taken_then_dropped.values()),
        "faults": dict(sorted(faults.items())),
    }
    print("chaos:", json.dumps(figures))
    (artifacts / f"chaos-{way}.json").write_text(json.dumps(figures, indent=2))
    assert messages_delivered + messages_kept == count
    assert faults["data:accept_drop"] and faults["data:drop_mid"] and faults["rcpt:452"]
