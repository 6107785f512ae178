"""The one-click unsubscribe endpoint (RFC 8058) that ``EmailKit.init_app`` registers.

``POST <path>/<token>`` with the body ``List-Unsubscribe=One-Click`` (what Gmail and Yahoo
send) suppresses the token's address for its category at once: no login, no redirect, no
CSRF token (the signed token is the proof; Flask-WTF's CSRFProtect is told to exempt it).
``GET`` only shows a page with one button that makes that POST, so a link scanner that
follows the URL unsubscribes nobody. A forged or altered token is a 400 that changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template_string, request

from . import unsubscribe
from .verp import secret_keys

logger = logging.getLogger("emailkit")

NAME = "emailkit_unsubscribe"
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the URL holds the token
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}
button{font:inherit;padding:.5rem 1.25rem;cursor:pointer}</style></head>
<body><h1>{{ title }}</h1><p>{{ text }}</p>
{% if button %}<form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form>{% endif %}
</body></html>
"""


def _page(title: str, text: str, status: int = 200, *, button: bool = False) -> Response:
    body = render_template_string(_PAGE, title=title, text=text, button=button)
    return Response(body, status, mimetype="text/html", headers=_HEADERS)


def _refused() -> Response:
    return _page(
        "This link does not work",
        "The unsubscribe link is incomplete or has been altered, so nothing was changed. "
        "Use the link from the email itself.",
        400,
    )


def _read(token: str) -> tuple[str, str] | None:
    keys = secret_keys(current_app.config)
    return unsubscribe.read_token(keys, token) if keys else None


def blueprint() -> Blueprint:
    """The endpoint's blueprint (no URL prefix of its own: see :func:`register`)."""
    pages = Blueprint(NAME, __name__)

    @pages.get("/<token>")
    def confirm(token: str) -> Response:
        found = _read(token)
        if found is None:
            return _refused()
        address, category = found
        return _page(
            "Unsubscribe",
            f"Stop sending {category} mail to {address}?",
            button=True,
        )

    @pages.post("/<token>")
    def one_click(token: str) -> Response:
        found = _read(token)
        if found is None:
            logger.warning("unsubscribe: a forged or altered token was refused (400)")
            return _refused()
        if request.form.get("List-Unsubscribe") != "One-Click":
            return _page(
                "Not unsubscribed",
                "This request did not say List-Unsubscribe=One-Click, so nothing was changed.",
                400,
            )
        address, category = found
        state = current_app.extensions.get("emailkit")
        log = getattr(getattr(getattr(state, "deliverer", None), "log", None), "log", None)
        if log is None:
            logger.error(
                "unsubscribe: %s from %s mail could not be recorded: the delivery log is off "
                "(EMAILKIT_DELIVERY_LOG)",
                address,
                category,
            )
            return _page(
                "Not unsubscribed",
                "Unsubscribing is not available right now; please try again later.",
                503,
            )
        log.unsubscribed(address, category, detail="one-click (RFC 8058)")
        logger.info("unsubscribe: %s from %s mail (one-click)", address, category)
        return _page("Unsubscribed", f"{address} will get no more {category} mail from us.")

    return pages


def register(app: Flask) -> None:
    """Serve the endpoint at ``EMAILKIT_UNSUBSCRIBE_PATH`` [/unsubscribe], exempt from
    Flask-WTF's CSRF check whether CSRFProtect is set up before or after EmailKit."""
    if NAME in app.blueprints:
        return
    pages = blueprint()
    app.register_blueprint(pages, url_prefix=unsubscribe.path(app.config))

    def exempt_from_csrf() -> None:
        if request.blueprint == NAME:
            csrf: Any = current_app.extensions.get("csrf")
            if csrf is not None:
                csrf.exempt(pages)

    # First of the app's hooks, so it runs before CSRFProtect's check of the same request.
    app.before_request_funcs.setdefault(None, []).insert(0, exempt_from_csrf)
