"""``emailkit bounces ingest PATH...``: bounces and complaints into the delivery log.

PATH is a raw message, an mbox, a Maildir, or ``-`` for one message on stdin (what an MTA
alias pipes). Under ``flask emailkit`` the app's config is used (``SECRET_KEY``,
``EMAILKIT_BOUNCE_ADDRESS``, the log); standalone, the same names from the environment.

Exit codes (an MTA reads them): 0 every input was read, whatever it held (forged, unknown
and not-a-bounce messages are logged and dropped, so the MTA does not retry them); 1 a PATH
could not be read; 75 (EX_TEMPFAIL) the delivery log could not be written, or the config is
wrong (EMAILKIT_BOUNCE_ADDRESS...): the MTA keeps the message and tries again later, so
nothing is lost; 2 wrong usage.
"""

from __future__ import annotations

import logging
import mailbox
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import click
import sqlalchemy as sa
from flask import current_app, has_app_context

from ..errors import EmailError
from ..sending.deliverylog.bounces import MAX_BYTES
from ..sending.deliverylog.ingest import Ingester
from .deliverylog import _log as delivery_log

EX_TEMPFAIL = 75
_CHUNK = 1 << 16


def _read_bounded(stream: BinaryIO | Any, limit: int) -> tuple[bytes, int]:
    """The first ``limit`` bytes and the whole size; the rest is drained unkept (a pipe's
    writer is not left blocked)."""
    data = stream.read(limit)
    size = len(data)
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
    return data, size


def _messages(path: str, limit: int) -> Iterator[tuple[tuple[bytes, int], str]]:
    """Each message in ``path`` (its start and size) with a name for the log; OSError if it
    cannot be read."""
    if path == "-":
        yield _read_bounded(sys.stdin.buffer, limit), "stdin"
        return
    target = Path(path)
    if target.is_dir():
        if not all((target / sub).is_dir() for sub in ("cur", "new", "tmp")):
            raise OSError(f"{path} is a folder but not a Maildir (no cur/, new/, tmp/)")
        box: mailbox.Mailbox[Any] = mailbox.Maildir(target, factory=None, create=False)
    else:
        with target.open("rb") as stream:
            if stream.read(5) != b"From ":
                stream.seek(0)
                yield _read_bounded(stream, limit), path
                return
        box = mailbox.mbox(target, factory=None, create=False)
    try:
        for key in box.iterkeys():
            with box.get_file(key) as stream:
                yield _read_bounded(stream, limit), f"{path}#{key}"
    finally:
        box.close()


def add_commands(group: click.Group) -> None:
    """Add ``bounces ingest`` to ``group`` (``emailkit`` and ``flask emailkit``)."""

    @group.group("bounces")
    def bounces_group() -> None:
        """Bounces and complaints: read them into the delivery log."""

    @bounces_group.command("ingest")
    @click.argument("paths", nargs=-1, required=True)
    @click.option(
        "--max-bytes",
        type=click.IntRange(1024),
        default=MAX_BYTES,
        show_default=True,
        help="read at most this much of each message (the rest of a huge one is ignored)",
    )
    @click.option("--quiet", "-q", is_flag=True, help="print only the totals")
    def ingest_command(paths: tuple[str, ...], max_bytes: int, quiet: bool) -> None:
        """Record the bounces (RFC 3464), complaints (ARF) and other bounces in PATHS.

        PATH is a message file, an mbox, a Maildir, or - for one message on stdin (pipe an
        MTA alias to it). A hard bounce or a complaint suppresses the address; soft bounces
        do after EMAILKIT_SOFT_BOUNCE_LIMIT (3) messages within
        EMAILKIT_SOFT_BOUNCE_WINDOW_DAYS (7). Exit codes: 0 all read, 1 a PATH unreadable,
        75 the delivery log unreachable (the MTA retries later), 2 wrong usage.
        """
        if not logging.getLogger().handlers:  # the lines are printed below, not twice
            logging.getLogger("emailkit.bounces").addHandler(logging.NullHandler())
        config = current_app.config if has_app_context() else os.environ
        try:
            ingester = Ingester(delivery_log(), config, max_bytes=max_bytes)
        except (sa.exc.SQLAlchemyError, EmailError) as error:  # a bad bounce address...
            click.echo(
                f"emailkit bounces: {' '.join(str(error).split())}; exiting {EX_TEMPFAIL} so "
                "the MTA keeps the message until this is fixed",
                err=True,
            )
            raise SystemExit(EX_TEMPFAIL) from None
        delivered_to = os.environ.get("ORIGINAL_RECIPIENT") or os.environ.get("RECIPIENT")
        unreadable = 0
        try:
            for path in paths:
                try:
                    for (data, size), source in _messages(path, max_bytes):
                        ingester.ingest(
                            data,
                            source,
                            delivered_to=delivered_to if path == "-" else None,
                            size=size,
                        )
                except OSError as error:
                    unreadable += 1
                    click.echo(f"emailkit bounces: {path}: {error.strerror or error}", err=True)
        except (sa.exc.SQLAlchemyError, EmailError) as error:
            # A database that is down or misconfigured: the MTA keeps the message meanwhile.
            click.echo(
                "emailkit bounces: the delivery log could not be written "
                f"({type(error).__name__}: {' '.join(str(error).split())[:300]}); "
                f"exiting {EX_TEMPFAIL} so the MTA retries later",
                err=True,
            )
            raise SystemExit(EX_TEMPFAIL) from None
        report = ingester.report
        if not quiet:
            for line in report.lines:
                click.echo(line)
        click.echo(
            f"{report.messages} message(s): {report.recorded} event(s) recorded, "
            f"{report.ignored} ignored, {report.not_bounces} not a bounce; "
            f"{len(report.suppressed)} address(es) suppressed"
            + (f" ({', '.join(report.suppressed)})" if report.suppressed else "")
        )
        if unreadable:
            raise SystemExit(1)
