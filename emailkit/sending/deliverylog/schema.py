"""The delivery log's tables (SQLAlchemy Core), its vocabulary, and address normalisation.

Three tables: ``emailkit_messages`` (one row per message sent or queued), ``emailkit_events``
(what happened to it, per recipient) and ``emailkit_suppressions`` (addresses not to mail).
Times are UTC. Addresses are stored normalised (:func:`normalise_address`) so that a lookup
finds ``Ada@Example.COM`` under ``Ada@example.com``.
"""

from __future__ import annotations

import functools
from email.utils import parseaddr

import idna
import sqlalchemy as sa

EVENT_KINDS = (
    "queued",
    "sent",
    "deferred",
    "failed",
    "bounced",
    "complained",
    "unsubscribed",
    "suppressed",
)
"""What an event says happened. ``suppressed``: the recipient was skipped at send because of
the suppression list (nothing was sent to them)."""

STATUSES = ("queued", "deferred", "sent", "partial", "failed", "suppressed")
"""A message's status: ``queued`` (in flight), ``deferred`` (a transient failure, being
retried), ``sent`` (accepted for every recipient), ``partial`` (accepted for some, refused or
suppressed for the others), ``failed`` (not accepted for anyone; an idempotency key may then
be used again), ``suppressed`` (every recipient was on the suppression list)."""

REASONS = ("bounce", "complaint", "manual", "unsubscribe")
"""Why an address is suppressed. ``unsubscribe`` entries name a category."""

ALL_CATEGORIES = ""
"""The ``category`` column's value for a suppression of every email. The API says ``None``;
the table says ``""`` because SQL's unique constraints treat NULLs as distinct."""

metadata = sa.MetaData()

messages = sa.Table(
    "emailkit_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(512), nullable=False, unique=True),
    # emailkit.sending.verp.message_ref(message_id): what a VERP bounce token names.
    sa.Column("message_ref", sa.String(16), index=True),
    sa.Column("email", sa.String(200), nullable=False, default=""),
    sa.Column("locale", sa.String(35)),
    sa.Column("category", sa.String(100)),
    sa.Column("sender", sa.String(320)),
    # JSON list of the normalised envelope recipients.
    sa.Column("recipients", sa.Text, nullable=False, default="[]"),
    sa.Column("idempotency_key", sa.String(255), unique=True),
    sa.Column("relay", sa.String(300)),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(20), nullable=False, default="queued"),
    sa.Column("last_reply", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

events = sa.Table(
    "emailkit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # The message's Message-ID (not a foreign key: bounces may name a purged message).
    sa.Column("message_id", sa.String(512), nullable=True, index=True),
    sa.Column("recipient", sa.String(320), index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False, index=True),
)

suppressions = sa.Table(
    "emailkit_suppressions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("category", sa.String(100), nullable=False, default=ALL_CATEGORIES),
    sa.Column("reason", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("address", "category", name="uq_emailkit_suppressions_address"),
)


@functools.lru_cache(maxsize=4096)  # a message's addresses are normalised 3-4 times
def normalise_address(address: str) -> str:
    """``address`` as the log stores and looks it up: no display name or surrounding space,
    the domain lower-case and in ASCII (IDNA); the local part as given (it may be
    case-sensitive on the receiving server)."""
    text = address.strip()
    if "<" in text or "," in text or '"' in text:
        text = parseaddr(text)[1] or text
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    domain = domain.strip().rstrip(".")
    if domain.isascii():
        return f"{local}@{domain.lower()}"
    try:
        domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        domain = domain.lower()
    return f"{local}@{domain.lower()}"
