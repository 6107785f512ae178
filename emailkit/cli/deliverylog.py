"""The delivery log's commands: ``emailkit suppress ...`` and ``emailkit activity``.

Under ``flask emailkit`` they use the app's log; standalone, ``$EMAILKIT_DATABASE`` or the
SQLite file in ``./instance/emailkit`` (where a Flask app in this folder keeps it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
from flask import current_app, has_app_context

from ..errors import ConfigError
from ..extension import kit
from ..sending.deliverylog import REASONS, DeliveryLog, MessageRecord, Suppression, from_config


def _log() -> DeliveryLog:
    if has_app_context() and "emailkit" in current_app.extensions:
        log = kit.log
        where = f"the app {current_app.name!r}"
    else:
        log = from_config(os.environ, Path.cwd() / "instance")
        where = "this environment"
    if log is None:
        raise ConfigError(
            f"the delivery log is off in {where} (EMAILKIT_DELIVERY_LOG = False): "
            "there is no activity or suppression list to show"
        )
    return log


def _time(value: Any) -> str:
    return str(value.strftime("%Y-%m-%d %H:%M:%SZ"))


def _suppression_dict(entry: Suppression) -> dict[str, Any]:
    return {
        "address": entry.address,
        "category": entry.category,
        "reason": entry.reason,
        "detail": entry.detail,
        "created_at": entry.created_at.isoformat(),
    }


def _message_dict(record: MessageRecord) -> dict[str, Any]:
    return {
        "message_id": record.message_id,
        "email": record.email,
        "locale": record.locale,
        "category": record.category,
        "sender": record.sender,
        "recipients": record.recipients,
        "idempotency_key": record.idempotency_key,
        "relay": record.relay,
        "attempts": record.attempts,
        "status": record.status,
        "last_reply": record.last_reply,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "events": [
            {
                "kind": event.kind,
                "recipient": event.recipient,
                "detail": event.detail,
                "time": event.time.isoformat(),
            }
            for event in record.events
        ],
    }


def add_commands(group: click.Group, reports_errors: Any) -> None:
    """Add ``suppress`` and ``activity`` to ``group`` (``emailkit`` and ``flask emailkit``)."""

    @group.group("suppress")
    def suppress_group() -> None:
        """The suppression list: addresses no email (or no email of a category) goes to.

        Sending leaves suppressed recipients out; a bounce (5xx at RCPT) adds one.
        """

    @suppress_group.command("list")
    @click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
    @reports_errors
    def suppress_list(output: str) -> None:
        """Show every suppressed address, its scope and why."""
        entries = _log().suppressions.list()
        if output == "json":
            click.echo(json.dumps([_suppression_dict(e) for e in entries], indent=2))
            return
        if not entries:
            click.echo("No suppressed addresses.")
        for entry in entries:
            scope = entry.category or "(all mail)"
            detail = f"  {entry.detail}" if entry.detail else ""
            click.echo(
                f"{entry.address}  {scope}  {entry.reason}  {_time(entry.created_at)}{detail}"
            )

    @suppress_group.command("add")
    @click.argument("address")
    @click.option("--category", "-c", help="only this category of email (default: all mail)")
    @click.option("--reason", type=click.Choice(REASONS), default="manual", show_default=True)
    @click.option("--detail", help="a note kept with the entry")
    @reports_errors
    def suppress_add(address: str, category: str | None, reason: str, detail: str | None) -> None:
        """Stop sending to ADDRESS (all mail, or --category only)."""
        scope = f"{category} mail" if category else "all mail"
        if _log().suppressions.add(address, category=category, reason=reason, detail=detail):
            click.echo(f"Suppressed {address} for {scope}.")
        else:
            click.echo(f"{address} was already suppressed for {scope}.")

    @suppress_group.command("remove")
    @click.argument("address")
    @click.option("--category", "-c", help="the category's entry (default: the all-mail one)")
    @reports_errors
    def suppress_remove(address: str, category: str | None) -> None:
        """Send to ADDRESS again (its all-mail entry, or the --category one)."""
        scope = f"{category} mail" if category else "all mail"
        if not _log().suppressions.remove(address, category=category):
            raise ConfigError(
                f"{address} is not suppressed for {scope}; `emailkit suppress list` shows "
                "the entries"
            )
        click.echo(f"{address} gets {scope} again.")

    @group.command("activity")
    @click.option("--to", "to", help="messages to this address")
    @click.option("--message-id", help="the message with this Message-ID")
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(1))
    @click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
    @click.option(
        "--purge", is_flag=True, help="first delete entries older than EMAILKIT_LOG_RETENTION_DAYS"
    )
    @reports_errors
    def activity(
        to: str | None, message_id: str | None, limit: int, output: str, purge: bool
    ) -> None:
        """Show the newest messages in the delivery log and what happened to each."""
        log = _log()
        if purge:
            count = log.purge()
            click.echo(
                f"Purged {count} message(s) older than {log.retention.days} day(s).", err=True
            )
        found = log.find(to=to, message_id=message_id, limit=limit)
        if output == "json":
            click.echo(json.dumps([_message_dict(r) for r in found], indent=2, ensure_ascii=False))
            return
        if not found:
            click.echo("No messages found.")
        for record in found:
            extra = [f"via {record.relay}"] if record.relay else []
            if record.idempotency_key:
                extra.append(f"key {record.idempotency_key}")
            click.echo(
                f"{_time(record.created_at)}  {record.status:10} {record.email}"
                f"{f' ({record.locale})' if record.locale else ''}  {record.message_id}"
            )
            click.echo(f"  to {', '.join(record.recipients)}  {'  '.join(extra)}".rstrip())
            for event in record.events:
                who = f" {event.recipient}" if event.recipient else ""
                detail = f": {event.detail}" if event.detail else ""
                click.echo(f"    {_time(event.time)}  {event.kind}{who}{detail}")
