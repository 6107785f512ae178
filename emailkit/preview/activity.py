"""The preview's Activity page (messages in the delivery log, each with its timeline of
events, searched by address or Message-ID) and the suppression list, with remove.

Removing is a POST behind the blueprint's Host and Origin checks and Flask-WTF's CSRF token,
like the send form.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from ..sending.deliverylog import DeliveryLog, MessageRecord

_LIMIT = 50


def _log() -> DeliveryLog | None:
    state: Any = current_app.extensions.get("emailkit")
    recorder = getattr(getattr(state, "deliverer", None), "log", None)
    return getattr(recorder, "log", None)


def search(log: DeliveryLog, query: str) -> list[MessageRecord]:
    """Messages matching ``query``: a Message-ID (``<...>`` or not), else a recipient."""
    query = query.strip()
    if not query:
        return log.find(limit=_LIMIT)
    if query.startswith("<"):
        return log.find(message_id=query, limit=_LIMIT)
    return log.find(to=query, limit=_LIMIT) or log.find(message_id=query, limit=_LIMIT)


def add_activity_routes(blueprint: Blueprint) -> None:
    """``/activity`` and ``/suppressions`` (with ``/suppressions/remove``)."""

    @blueprint.get("/activity")
    def activity() -> ResponseReturnValue:
        log = _log()
        query = request.args.get("q", "")[:998]
        found = search(log, query) if log is not None else []
        return render_template(
            "emailkit_preview/activity.html", log=log, query=query, messages=found
        )

    @blueprint.get("/suppressions")
    def suppressions() -> ResponseReturnValue:
        log = _log()
        entries = log.suppressions.list() if log is not None else []
        return render_template(
            "emailkit_preview/suppressions.html",
            log=log,
            entries=entries,
            csrf_token=generate_csrf,
        )

    @blueprint.post("/suppressions/remove")
    def remove_suppression() -> ResponseReturnValue:
        log = _log()
        if log is None:
            abort(404)
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            abort(400, "The form expired; reload the page and try again.")
        address = (request.form.get("address") or "").strip()
        category = (request.form.get("category") or "").strip() or None
        scope = f"{category} mail" if category else "all mail"
        if address and log.suppressions.remove(address, category=category):
            flash(f"{address} gets {scope} again.")
        else:
            flash(f"{address or 'That address'} was not suppressed for {scope}.")
        return redirect(url_for(".suppressions"))
