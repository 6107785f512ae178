"""The preview blueprint: index, viewer, raw parts, outbox and send-a-test.

Routes only ever look names up in the catalog or the outbox listing; no route turns a URL
into a file path, so nothing outside the emails root can be served.
"""

from __future__ import annotations

import fnmatch
from email import message_from_bytes
from email.policy import default as default_policy
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from ..errors import EmailError
from ..project.settings import default_sender
from ..sending.mailfolder import StoredMessage
from . import display, guard
from .activity import add_activity_routes
from .assets import add_image_routes, show_cid_images, show_inline_parts
from .catalog import Catalog, SampleView
from .deliverability import DkimStatus, sections, spamd_address
from .editor import add_editor_routes


def preview_blueprint(root: str | Path, *, name: str = "emailkit_preview") -> Blueprint:
    """A blueprint showing the emails under ``root``; it answers only when the app is in
    debug mode (or ``EMAILKIT_PREVIEW_ENABLED`` is set), so it can stay registered."""
    catalog = Catalog(Path(root))
    blueprint = Blueprint(
        name,
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/_static",
    )

    @blueprint.before_request
    def only_in_development() -> Response | None:
        config = current_app.config
        if not (current_app.debug or config.get("EMAILKIT_PREVIEW_ENABLED")):
            abort(404)
        allowed = guard.allowed_hosts(config.get(guard.ALLOWED_HOSTS_KEY))
        if not guard.host_is_allowed(request.headers.get("Host"), allowed):
            return Response(guard.HOST_REFUSED, 400, mimetype="text/plain")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not guard.origin_is_same(
            request.headers.get("Origin"), request.headers.get("Host"), request.scheme
        ):
            return Response(guard.ORIGIN_REFUSED, 403, mimetype="text/plain")
        catalog.use_sender(default_sender(config.get("MAIL_DEFAULT_SENDER"), catalog.root))
        g.emailkit_dkim = DkimStatus.of(config, catalog.sender)
        catalog.use_signer(g.emailkit_dkim.signer)
        catalog.refresh()
        return None

    @blueprint.after_request
    def secured(response: Response) -> Response:
        response.headers.update(guard.security_headers(part=_is_part(response)))
        return response

    @blueprint.context_processor
    def shared() -> dict[str, Any]:
        return {
            "catalog": catalog,
            "livereload_port": current_app.config.get("EMAILKIT_PREVIEW_LIVERELOAD_PORT"),
            "has_outbox": _outbox() is not None,
            "highlight_css": display.HIGHLIGHT_CSS,
        }

    blueprint.add_app_template_filter(display.linked, "emailkit_linked")
    blueprint.add_app_template_filter(display.saved_at, "emailkit_saved_at")

    @blueprint.get("/")
    def index() -> str:
        views = [catalog.view(email, sample) for email, sample in catalog.samples()]
        return render_template("emailkit_preview/index.html", views=views)

    @blueprint.get("/__version")
    def version() -> Response:
        return jsonify(version=catalog.version)

    @blueprint.get("/<email>/<sample>")
    def viewer(email: str, sample: str) -> tuple[str, int]:
        if email in catalog.problems and email not in catalog.emails:
            return _does_not_load(catalog, email, sample)
        pairs = catalog.samples()
        if f"{email}/{sample}" in catalog.problems and (email, sample) not in pairs:
            return _does_not_load(catalog, email, sample, f"{email}/{sample}")
        state = _viewer_state(catalog.locales(email) if email in catalog.emails else [])
        view = _view(catalog, email, sample, state["locale"])
        if view.html is None and not view.problem and "tab" not in request.args:
            state["tab"] = "text"  # a text-only email opens on what it has
        at = pairs.index((email, sample))
        report = catalog.checks(email)
        deep = catalog.deep.cached(email)
        if deep is None and request.args.get("deliverability") and email in catalog.emails:
            deep = catalog.deep.run(
                email, catalog.emails[email], catalog.sender, current_app.config
            )
        return render_template(
            "emailkit_preview/viewer.html",
            view=view,
            state=state,
            link_state={key: value for key, value in state.items() if value},
            findings=report.for_sample(email, sample),
            scores=report.scores.get(email, {}),
            deliverability=sections(deep, email, sample) if deep is not None else None,
            dkim=g.emailkit_dkim,
            spamd=spamd_address(current_app.config),
            previous=pairs[at - 1] if at > 0 else None,
            next=pairs[at + 1] if at + 1 < len(pairs) else None,
            html_url=url_for(
                ".html",
                email=email,
                sample=sample,
                mode=state["mode"],
                locale=state["locale"] or None,
            ),
            locales=catalog.locales(email),
            source=_source(view, state["source"]),
            recipients=current_app.config.get("EMAILKIT_PREVIEW_RECIPIENTS"),
            csrf_token=generate_csrf,
        ), (500 if view.problem else 200)

    @blueprint.get("/<email>/<sample>.html")
    def html(email: str, sample: str) -> Response:
        view = _view(catalog, email, sample, _locale(catalog, email), require_ok=True)
        if view.html is None:
            message = f"{email} has no HTML part: it is a text-only email (see {sample}.txt)."
            return Response(message, status=404, mimetype="text/plain")
        mode = request.args.get("mode", "light")
        shown = show_cid_images(display.in_mode(view.html or "", mode), catalog.root, email)
        return Response(shown, mimetype="text/html")

    @blueprint.get("/<email>/<sample>.txt")
    def text(email: str, sample: str) -> Response:
        view = _view(catalog, email, sample, _locale(catalog, email), require_ok=True)
        return Response(view.text, mimetype="text/plain")

    @blueprint.get("/<email>/<sample>.eml")
    def eml(email: str, sample: str) -> Response:
        view = _view(catalog, email, sample, _locale(catalog, email), require_ok=True)
        return Response(
            view.eml,
            mimetype="message/rfc822",
            headers={"Content-Disposition": f'attachment; filename="{email}-{sample}.eml"'},
        )

    @blueprint.post("/<email>/<sample>/send")
    def send(email: str, sample: str) -> Response:
        view = _view(catalog, email, sample, require_ok=True)
        allowed = current_app.config.get("EMAILKIT_PREVIEW_RECIPIENTS")
        if not allowed:
            abort(404)
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            abort(400, "The form expired; reload the page and send again.")
        given = (request.form.get("to") or "").strip()
        state: dict[str, Any] = dict(request.args)
        back = redirect(url_for(".viewer", email=email, sample=sample, **state))
        addresses = _addresses(given)
        refused = [address for address in addresses if not _allowed(address, allowed)]
        if not addresses or refused:
            shown = ", ".join(refused) or given or "That address"
            flash(
                f"{shown} {'is' if len(refused) < 2 else 'are'} not allowed: nothing was sent. "
                "See EMAILKIT_PREVIEW_RECIPIENTS.",
                "error",
            )
            return back  # type: ignore[return-value]
        from ..extension import kit

        try:
            instance = catalog.emails[view.email].previews()[view.sample]
            locale = _locale(catalog, email) or None
            message_id = kit.deliver(
                instance.message(addresses, sender=catalog.sender, locale=locale)
            )
        except EmailError as error:
            flash(f"Not sent: {error}", "error")
        else:
            flash(f"Sent to {', '.join(addresses)} ({message_id}).", "success")
        return back  # type: ignore[return-value]

    @blueprint.get("/outbox")
    def outbox() -> str:
        messages = list(reversed(list(_outbox() or [])))
        return render_template("emailkit_preview/outbox.html", messages=messages)

    @blueprint.get("/outbox/<stem>")
    def outbox_message(stem: str) -> str:
        stored = _stored(stem)
        view = _view_of_stored(stored)
        return render_template(
            "emailkit_preview/viewer.html",
            view=view,
            state=_viewer_state([]),
            link_state={},
            locales=[],
            previous=None,
            next=None,
            html_url=url_for(".outbox_html", stem=stem, mode=_viewer_state([])["mode"]),
            source=None,
            recipients=None,
            csrf_token=generate_csrf,
            stored=stored,
            findings=[],
            scores={},
        )

    @blueprint.get("/outbox/<stem>.html")
    def outbox_html(stem: str) -> Response:
        view = _view_of_stored(_stored(stem))
        mode = request.args.get("mode", "light")
        shown = show_inline_parts(display.in_mode(view.html or "", mode), stem)
        return Response(shown, mimetype="text/html")

    @blueprint.get("/outbox/<stem>.eml")
    def outbox_eml(stem: str) -> Response:
        return Response(_stored(stem).read(), mimetype="message/rfc822")

    add_image_routes(blueprint, catalog, _stored)
    add_editor_routes(blueprint, catalog)
    add_activity_routes(blueprint)

    @blueprint.errorhandler(404)
    def not_found(error: Exception) -> tuple[str, int]:
        return render_template("emailkit_preview/not_found.html"), 404

    return blueprint


# Responses that carry an email's own markup, though they are HTML.
_RAW_PARTS = frozenset({"html", "outbox_html"})


def _is_part(response: Response) -> bool:
    """Whether ``response`` is anything but one of the preview's own pages: an email's HTML,
    text, .eml, image or inline part, all served under the CSP that forbids scripts."""
    endpoint = (request.endpoint or "").rpartition(".")[2]
    own_page = response.mimetype in ("text/html", "application/json") and endpoint not in _RAW_PARTS
    return not own_page and endpoint != "static"


def _does_not_load(
    catalog: Catalog, email: str, sample: str, key: str | None = None
) -> tuple[str, int]:
    """The viewer of an email whose folder does not load, or of a sample that cannot be built
    (``key`` names its problem): the error card, not a 404; the page reloads by itself and
    shows the sample once the file is fixed."""
    view = SampleView(email, sample, catalog.problems[key or email])
    page = render_template(
        "emailkit_preview/viewer.html", view=view, previous=None, next=None, failure="does not load"
    )
    return page, 500


def _view(
    catalog: Catalog, email: str, sample: str, locale: str = "", *, require_ok: bool = False
) -> SampleView:
    cls = catalog.emails.get(email)
    if cls is None and email in catalog.problems:
        abort(500, catalog.problems[email].message)
    if cls is None or (email, sample) not in catalog.samples():
        abort(404)
    view = catalog.view(email, sample, locale)
    if require_ok and view.problem:
        abort(500, view.problem.message)
    return view


def _locale(catalog: Catalog, email: str) -> str:
    """The ``locale`` query parameter, when the email has that locale; else the default."""
    value = request.args.get("locale", "")
    return value if value in catalog.locales(email) else ""


def _viewer_state(locales: list[str]) -> dict[str, str]:
    """Tab, width, mode, source and locale, from the URL so a reload keeps them."""
    args = request.args

    def pick(key: str, allowed: tuple[str, ...] | list[str], default: str) -> str:
        value = args.get(key, default)
        return value if value in allowed else default

    return {
        "tab": pick("tab", display.TABS, "html"),
        "width": pick("width", list(display.WIDTHS), "desktop"),
        "mode": pick("mode", display.MODES, "light"),
        "source": pick("source", ("after", "before", "mjml"), "after"),
        "locale": pick("locale", locales, ""),
    }


def _source(view: SampleView, which: str) -> str | None:
    if view.problem:
        return None
    source = view.html_before_inlining if which == "before" else view.html
    if which == "mjml" and view.mjml_source:
        return display.listing(view.mjml_source, "MJML source")
    return display.listing(source) if source else None


def _addresses(given: str) -> list[str]:
    """Every address in the form's field (``a@x, B <b@y>``), bare; [] when one is unreadable."""
    if "\n" in given or "\r" in given:
        return []
    found = getaddresses([given])
    if not found or any("@" not in address or not address for _, address in found):
        return []
    return [address for _, address in found]


def _allowed(address: str, patterns: str | list[str]) -> bool:
    if isinstance(patterns, str):
        patterns = [p.strip() for p in patterns.split(",")]
    address = address.lower()
    return (
        bool(address)
        and "\n" not in address
        and any(fnmatch.fnmatchcase(address, pattern.lower()) for pattern in patterns if pattern)
    )


def _outbox():  # type: ignore[no-untyped-def]
    state = current_app.extensions.get("emailkit")
    return state.deliverer.outbox if state is not None else None


def _stored(stem: str) -> StoredMessage:
    for stored in _outbox() or []:
        if stored.path.stem == stem:
            return stored
    abort(404)


def _view_of_stored(stored: StoredMessage) -> SampleView:
    raw = stored.read()
    parsed = message_from_bytes(raw, policy=default_policy)
    html_part = parsed.get_body(("html",))
    text_part = parsed.get_body(("plain",))
    return SampleView(
        email=str(stored.meta.get("email", "message")),
        sample=stored.path.stem,
        subject=str(parsed.get("Subject", "")),
        html=html_part.get_content() if html_part else None,
        text=text_part.get_content() if text_part else "",
        eml=raw,
        headers=display.headers(raw),
    )


__all__ = ["preview_blueprint"]
