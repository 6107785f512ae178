"""The command line: ``emailkit ...``, and the same commands as ``flask emailkit ...``.

Standalone, the emails root comes from ``--emails``, ``[tool.emailkit] root`` or
``$EMAILKIT_ROOT``, and sending uses the ``MAIL_*`` environment variables. Under ``flask``,
both come from the app. Every error is one line naming the email, file and line, exit code 1.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from ..extension import register_commands
from ..project.settings import put_project_on_path
from .bounces import add_commands as add_bounce_commands
from .commands import add_commands
from .common import reports_errors
from .deliverylog import add_commands as add_deliverylog_commands


@click.group(
    help="Work with the emails of a project: list, render, check, preview, send, scaffold."
)
@click.option(
    "--emails",
    type=click.Path(file_okay=False, path_type=Path),
    help="emails root (default: [tool.emailkit] root in pyproject.toml, $EMAILKIT_ROOT, emails/)",
)
@click.version_option(package_name="Flask-EmailKit")
def main(emails: Path | None) -> None:
    put_project_on_path()


emailkit_commands = AppGroup("emailkit", help="Work with the app's emails (emailkit).")

add_commands(main)
add_commands(emailkit_commands)
add_deliverylog_commands(main, reports_errors)
add_deliverylog_commands(emailkit_commands, reports_errors)
add_bounce_commands(main)
add_bounce_commands(emailkit_commands)
register_commands(emailkit_commands)
