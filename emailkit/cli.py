"""The ``flask emailkit`` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .extension import kit

emailkit_commands = AppGroup("emailkit", help="Work with the app's emails (emailkit).")


@emailkit_commands.command("resend-failed")
def resend_failed() -> None:
    """Send the messages in the failed-mail folder again.

    Delivered messages leave the folder; the others stay, and the command exits with 1.
    """
    folder = kit.failed
    waiting = len(folder)
    if not waiting:
        click.echo(f"No failed mail in {folder.path}.")
        return
    report = kit.resend_failed()
    click.echo(f"Resent {report.sent} of {waiting} message(s) from {folder.path}.")
    for failure in report.failed:
        click.echo(f"still failing: {failure.saved_to}: {failure.reason}", err=True)
    if report.failed:
        raise SystemExit(1)
