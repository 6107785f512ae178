"""The delivery log's store on SQLite and on a real PostgreSQL server: idempotency claims,
suppressions, retention, address normalisation."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emailkit.sending.deliverylog import DeliveryLog, messages, normalise_address


def test_a_second_message_with_the_same_key_is_a_duplicate_of_the_first(log):
    first = log.queued(
        "<1@x>", email="receipt", recipients=["ada@example.com"], idempotency_key="k"
    )
    second = log.queued(
        "<2@x>", email="receipt", recipients=["ada@example.com"], idempotency_key="k"
    )
    assert (first.duplicate, first.message_id) == (False, "<1@x>")
    assert (second.duplicate, second.message_id) == (True, "<1@x>")
    assert log.message("<2@x>") is None


def test_a_key_stays_taken_once_sent_and_is_free_again_after_a_failure(log):
    log.queued("<1@x>", recipients=["ada@example.com"], idempotency_key="sent")
    log.sent("<1@x>", ["ada@example.com"], reply="250 2.0.0 queued as 1")
    assert log.queued("<2@x>", recipients=["ada@example.com"], idempotency_key="sent").duplicate

    log.queued("<3@x>", recipients=["ada@example.com"], idempotency_key="failed")
    log.failed("<3@x>", ["ada@example.com"], "550 5.1.1 No such user")
    again = log.queued("<4@x>", recipients=["ada@example.com"], idempotency_key="failed")
    assert (again.duplicate, again.message_id) == (False, "<4@x>")
    assert log.message("<4@x>").idempotency_key == "failed"
    assert log.message("<3@x>").idempotency_key is None  # released, its history kept
    assert log.message("<3@x>").status == "failed"


def test_the_same_message_again_is_due_only_to_recipients_not_yet_sent(log):
    recipients = ["ada@example.com", "bob@example.com"]
    log.queued("<1@x>", recipients=recipients, idempotency_key="k")
    log.sent("<1@x>", ["ada@EXAMPLE.com"])
    retry = log.queued("<1@x>", recipients=recipients, idempotency_key="k")
    assert (retry.duplicate, retry.recipients) == (False, ["bob@example.com"])
    log.sent("<1@x>", ["bob@example.com"])
    assert log.queued("<1@x>", recipients=recipients, idempotency_key="k").duplicate


def test_threads_racing_for_one_key_leave_exactly_one_winner(log):
    barrier = threading.Barrier(6)
    claims = []

    def claim(number: int) -> None:
        barrier.wait()
        claims.append(log.queued(f"<{number}@x>", recipients=["a@b.c"], idempotency_key="race"))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [c for c in claims if not c.duplicate]
    assert len(winners) == 1
    assert {c.message_id for c in claims} == {winners[0].message_id}


def test_an_all_mail_suppression_blocks_every_category_an_unsubscribe_only_its_own(log):
    assert log.suppressions.add("ada@Example.com", reason="complaint", detail="ARF report")
    assert not log.suppressions.add("ada@example.COM", reason="manual")  # already there
    assert log.unsubscribed("bob@example.com", "newsletter")
    addresses = ["ada@example.com", "bob@example.com", "carol@example.com"]

    assert set(log.suppressions.blocking(addresses, None)) == {"ada@example.com"}
    blocked = log.suppressions.blocking(addresses, "newsletter")
    assert set(blocked) == {"ada@example.com", "bob@example.com"}
    assert blocked["ada@example.com"].reason == "complaint"
    assert "unsubscribed" in blocked["bob@example.com"].describe()
    assert set(log.suppressions.blocking(addresses, "offers")) == {"ada@example.com"}

    assert log.suppressions.remove("bob@example.com", category="newsletter")
    assert not log.suppressions.remove("bob@example.com")  # no all-mail entry to lift
    assert [s.address for s in log.suppressions.list()] == ["ada@example.com"]


def test_a_hard_bounce_suppresses_a_soft_one_is_only_an_event(log):
    log.queued("<1@x>", recipients=["ada@example.com", "bob@example.com"])
    assert not log.bounced("<1@x>", "bob@example.com", "4.2.2 mailbox full", hard=False)
    assert log.bounced("<1@x>", "ada@example.com", "5.1.1 no such user")
    assert [s.address for s in log.suppressions.list()] == ["ada@example.com"]
    assert [e.kind for e in log.events_for("bob@example.com")] == ["bounced"]


def test_activity_finds_messages_by_address_or_message_id_with_their_timeline(log):
    log.queued("<1@x>", email="welcome", recipients=["Ada <ada@Example.com>"], relay="smtp:25")
    log.deferred("<1@x>", ["ada@example.com"], "421 4.3.2 try later", attempts=1)
    log.sent("<1@x>", ["ada@example.com"], reply="250 2.0.0 Ok: queued as 7", attempts=2)
    log.queued("<2@x>", email="receipt", recipients=["bob@example.com"])

    (found,) = log.find(to="ADA@example.com".replace("ADA", "ada"))
    assert found.message_id == "<1@x>"
    assert [e.kind for e in found.events] == ["queued", "deferred", "sent"]
    assert (found.status, found.attempts, found.relay) == ("sent", 2, "smtp:25")
    assert found.last_reply == "250 2.0.0 Ok: queued as 7"
    assert log.message("2@x").email == "receipt"  # angle brackets optional
    assert log.find(to="nobody@example.com") == []
    assert log.find(to="a%@example.com") == []  # LIKE wildcards are literal


def test_purge_removes_messages_and_events_past_the_retention_but_keeps_suppressions(log):
    log.queued("<old@x>", recipients=["ada@example.com"], idempotency_key="old")
    log.sent("<old@x>", ["ada@example.com"])
    log.queued("<new@x>", recipients=["ada@example.com"])
    log.suppressions.add("ada@example.com", reason="bounce")
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=31)
    with log.connect() as connection:
        connection.execute(
            messages.update().where(messages.c.message_id == "<old@x>").values(created_at=long_ago)
        )
        connection.execute(
            sa.text("UPDATE emailkit_events SET time = :t WHERE message_id = '<old@x>'"),
            {"t": long_ago},
        )
    assert log.purge() == 1
    assert log.message("<old@x>") is None
    assert [m.message_id for m in log.find()] == ["<new@x>"]
    assert log.suppressions.list()
    # The key of a purged message is free again.
    assert not log.queued("<again@x>", recipients=["a@b.c"], idempotency_key="old").duplicate


def test_the_database_url_is_checked_with_a_clear_error(tmp_path):
    from emailkit import ConfigError

    with pytest.raises(ConfigError, match="EMAILKIT_DATABASE 'not a url'"):
        DeliveryLog("not a url").find()
    with pytest.raises(ConfigError, match="pip install"):
        DeliveryLog("mysql+nosuchdriver://u@h/db").find()


# -- address normalisation ---------------------------------------------------------------

local_parts = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,20}", fullmatch=True)
labels = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,10}[A-Za-z0-9]", fullmatch=True)
domains = st.lists(labels, min_size=2, max_size=4).map(".".join)


@given(local_parts, domains, st.sampled_from(["", "Ada Lovelace ", '"Lovelace, Ada" ']))
def test_normalised_addresses_ignore_the_domains_case_and_the_display_name(local, domain, name):
    plain = f"{local}@{domain}"
    written = f"{name}<{local}@{domain.upper()}>" if name else f" {local}@{domain.swapcase()} "
    normal = normalise_address(written)
    assert normal == f"{local}@{domain.lower()}"
    assert normalise_address(normal) == normal  # idempotent
    assert normalise_address(plain.lower()) != normal or local == local.lower()  # local kept


@given(local_parts, st.sampled_from(["bücher.example", "BÜCHER.example", "xn--bcher-kva.EXAMPLE"]))
def test_an_international_domain_is_stored_in_its_ascii_form(local, domain):
    assert normalise_address(f"{local}@{domain}") == f"{local}@xn--bcher-kva.example"


# Any text a database stores: no lone surrogates, and no NUL (PostgreSQL's text refuses it;
# test_deliverylog_sending shows a batch holding one is still recorded but for that message).
storable = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
field_text = st.one_of(st.none(), st.text(storable, max_size=40))


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    count=st.sampled_from([1, 49, 50, 51, 137]),
    email=st.text(storable, max_size=30),
    detail=field_text,
    locale=field_text,
    attempts=st.integers(0, 2**31 - 1),
    when=st.datetimes(dt.datetime(1970, 1, 2), dt.datetime(2200, 1, 1)),
)
def test_a_batch_is_stored_as_sqlalchemys_own_insert_stores_it(
    log, count, email, detail, locale, attempts, when
):
    """send_many's writer inserts many rows to a statement with values it adapts itself:
    every column reads back byte for byte as a plain SQLAlchemy insert of the same rows
    stores it, whatever the text (quotes, ``?``, ``%(x)s``, any script) and row count."""
    from emailkit.sending.deliverylog import events
    from emailkit.sending.deliverylog.records import message_row, new_event

    run = uuid.uuid4().hex
    now = when.replace(tzinfo=dt.timezone.utc)

    def batch(way: str) -> tuple[list[dict], list[dict]]:
        rows, evs = [], []
        for n in range(count):
            message_id = f"<{run}.{way}.{n}@x>"
            row = message_row(message_id, email=email, recipients=[f"{n}@example.com"],
                              locale=locale, sender="a@b.example", now=now)  # fmt: skip
            row.update(attempts=attempts, last_reply=detail, status="sent")
            rows.append(row)
            evs.append(new_event(message_id, f"{n}@example.com", "sent", now, detail))
        return rows, evs

    log.write_many(*batch("bulk"))
    plain_rows, plain_events = batch("plain")
    with log.connect() as connection:
        connection.execute(messages.insert(), plain_rows)
        connection.execute(events.insert(), plain_events)

    def stored(table: sa.Table, way: str) -> list[tuple]:
        # As stored: SQLite's times as their text, not parsed back; message_ref is the
        # Message-ID's digest, which differs between the two ways' IDs.
        columns = [
            sa.type_coerce(c, sa.String) if isinstance(c.type, sa.DateTime) else c
            for c in table.columns
            if c.key not in ("id", "message_ref")
        ]
        with log.engine.connect() as connection:
            found = connection.execute(
                sa.select(*columns)
                .where(table.c.message_id.like(f"<{run}.{way}.%"))
                .order_by(table.c.id)
            ).all()
        return [tuple(v.replace(f".{way}.", ".") if isinstance(v, str) else v for v in row)
                for row in found]  # fmt: skip

    from emailkit.sending.verp import message_ref

    for table in (messages, events):
        bulk = stored(table, "bulk")
        assert len(bulk) == count
        assert bulk == stored(table, "plain")
    with log.engine.connect() as connection:
        refs = connection.execute(
            sa.select(messages.c.message_id, messages.c.message_ref).where(
                messages.c.message_id.like(f"<{run}.bulk.%")
            )
        ).all()
    assert all(ref == message_ref(message_id) for message_id, ref in refs)
    record = log.message(f"<{run}.bulk.0@x>")
    assert (record.email, record.locale, record.attempts, record.created_at) == (
        email, locale, attempts, now,
    )  # fmt: skip
