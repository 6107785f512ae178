"""What the commands share: the emails root, samples, the sending app, one-line errors."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask, current_app, has_app_context

from ..errors import ConfigError, EmailError, SampleError
from ..extension import EmailKit, kit
from ..model.email import Email, preview_samples
from ..project.discovery import discover
from ..project.settings import load_settings

F = TypeVar("F", bound=Callable[..., Any])
PREVIEW_TO = "Ada Lovelace <ada@example.com>"


def reports_errors(command: F) -> F:
    """Turn emailkit's errors into one clear line and exit code 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EmailError as error:
            raise click.ClickException(" ".join(str(error).split())) from error

    return run  # type: ignore[return-value]


def emails_root() -> Path:
    explicit = click.get_current_context().find_root().params.get("emails")
    if explicit:
        return Path(explicit).resolve()
    if has_app_context() and "emailkit" in current_app.extensions:
        return current_app.extensions["emailkit"].root
    return load_settings().root


def load_emails(unloaded: dict[str, Exception] | None = None) -> dict[str, type[Email]]:
    """The emails of the root; with ``unloaded``, a folder that does not import is recorded
    there instead of stopping every other email."""
    return discover(emails_root(), errors=unloaded)


def one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def pick_sample(name: str, sample: str | None) -> tuple[type[Email], str, Email]:
    unloaded: dict[str, Exception] = {}
    emails = load_emails(unloaded)
    if name in unloaded:
        raise unloaded[name]  # only this email is broken: the others render
    if name not in emails:
        known = ", ".join(sorted([*emails, *unloaded]))
        raise ConfigError(f"no email {name!r} under {emails_root()}; there are: {known}")
    broken: dict[str, SampleError] = {}
    previews = preview_samples(emails[name], broken)
    if sample in broken or (sample is None and not previews and broken):
        raise broken[sample or next(iter(broken))]
    if not previews:
        raise ConfigError(f"{name}: previews() returns no samples; add one")
    chosen = sample or ("default" if "default" in previews else next(iter(previews)))
    if chosen not in previews:
        known = ", ".join([*previews, *broken])
        raise ConfigError(f"{name} has no sample {chosen!r}; it has: {known}")
    return emails[name], chosen, previews[chosen]


def app_sender() -> object:
    """The app's ``MAIL_DEFAULT_SENDER`` under ``flask``; standalone, none (the environment's
    and the project's come next, see :func:`default_sender`)."""
    return current_app.config.get("MAIL_DEFAULT_SENDER") if has_app_context() else None


@contextmanager
def sending_app() -> Iterator[None]:
    """The app to send with: the current one under ``flask``, else one from the environment."""
    if has_app_context():
        kit.state()
        yield
        return
    app = Flask("emailkit_cli", instance_path=str(Path.cwd() / "instance"))
    sender = load_settings().sender  # the From the preview and `render -p eml` show
    if sender and not os.environ.get("MAIL_DEFAULT_SENDER"):
        app.config["MAIL_DEFAULT_SENDER"] = sender
    EmailKit(app)
    with app.app_context():
        yield
