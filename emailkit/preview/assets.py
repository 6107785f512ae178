"""Images in the preview: an email's relative ``<img src>`` files, and the ``cid:`` parts of
messages in the outbox (which otherwise show as broken images).

The viewer's frame loads ``/<email>/<sample>.html``, so a relative ``src="logo.png"`` already
points at ``/<email>/logo.png`` (and ``../_assets/logo.png`` at ``/_assets/logo.png``): those
URLs answer with the file, resolved exactly as sending resolves it
(:func:`emailkit.mime.images.resolve`), so the raw HTML needs no rewriting and only files in an
email's folder or ``_assets/`` are ever served. ``cid:`` references, which no URL can reach,
are pointed at the file they name (:func:`emailkit.mime.images.named_by_cid`).
"""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Response, abort, request, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import BaseConverter

from ..errors import TemplateError
from ..mime import images
from ..sending.mailfolder import StoredMessage
from .catalog import Catalog


class ImagePath(BaseConverter):
    """A relative path ending in an image file name: ``logo.png``, ``img/hero.JPG``.

    Weighted before the default converter so ``/<email>/logo.png`` is the image, not a sample.
    """

    regex = r"(?:[^/]+/)*[^/]+\.(?i:png|jpe?g|gif|webp|svg)"
    weight = 50
    part_isolating = False


def image_url(root: Path, email: str) -> Callable[[str], str | None]:
    """A :func:`emailkit.mime.images.rewrite` replacement with absolute preview URLs, for HTML shown
    where relative paths do not resolve (the editor's ``srcdoc`` frame)."""

    def replace(src: str) -> str | None:
        if images.is_local(src):
            return url_for(".image", email=email, src=urlsplit(src).path)
        return cid_url(root, email, src)

    return replace


def cid_url(root: Path, email: str, src: str) -> str | None:
    """The preview URL of the file a ``cid:`` reference names, if there is one."""
    if not src.lower().startswith("cid:"):
        return None
    found = images.named_by_cid(root, email, src[4:])
    return url_for(".image", email=email, src=found[0]) if found else None


def show_images(html: str, root: Path, email: str) -> str:
    """The email's HTML with its relative and ``cid:`` images at absolute preview URLs."""
    return images.rewrite(html, image_url(root, email))


def show_cid_images(html: str, root: Path, email: str) -> str:
    """The email's HTML with only its ``cid:`` images pointed at the preview: relative paths
    resolve by themselves from ``/<email>/<sample>.html``."""
    return images.rewrite(html, lambda src: cid_url(root, email, src))


def show_inline_parts(html: str, stem: str) -> str:
    """A stored message's HTML with ``cid:`` images loaded from its own inline parts."""
    return images.rewrite(
        html,
        lambda src: (
            url_for(".outbox_part", stem=stem, cid=unquote(src[4:]))
            if src.lower().startswith("cid:")
            else None
        ),
    )


def inline_part(raw: bytes, cid: str) -> EmailMessage | None:
    """The part of a serialised message whose Content-ID is ``cid``."""
    parsed = message_from_bytes(raw, policy=default_policy)
    for part in parsed.walk():
        if (part.get("Content-ID") or "").strip().strip("<>") == cid:
            return part  # type: ignore[return-value]
    return None


def add_image_routes(
    blueprint: Blueprint, catalog: Catalog, stored: Callable[[str], StoredMessage]
) -> None:
    """``/<email>/<path>.png`` (or another image type): a relative image of the email, as
    sending would embed it; ``/_assets/<path>`` one of the shared folder;
    ``/outbox/<stem>/part?cid=...``: an inline part of a message in the outbox."""

    @blueprint.record_once
    def add_converter(state: BlueprintSetupState) -> None:
        state.app.url_map.converters.setdefault("emailkit_image", ImagePath)

    @blueprint.get("/<email>/<emailkit_image:src>")
    def image(email: str, src: str) -> Response:
        if email not in catalog.emails and email != images.ASSETS:
            abort(404)
        try:
            found = images.resolve(catalog.root, email, src)
        except TemplateError:
            abort(404)
        return _image_response(found.data(), images.content_type(found.path))

    @blueprint.get("/outbox/<stem>/part")
    def outbox_part(stem: str) -> Response:
        part = inline_part(stored(stem).read(), request.args.get("cid", ""))
        if part is None or part.get_content_maintype() != "image":
            abort(404)
        return _image_response(part.get_content(), part.get_content_type())


def _image_response(data: bytes, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # An SVG opened on its own must not run scripts on the preview's origin.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
