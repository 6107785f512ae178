"""Images in the preview: an email's relative ``<img src>`` files, and the ``cid:`` parts of
messages in the outbox (which otherwise show as broken images).

A relative ``src`` is served through ``/<email>/_image?src=...`` and resolved exactly as sending
resolves it (:func:`emailkit.images.resolve`): only files in the email's folder or ``_assets/``.
The ``src`` travels as a query parameter so the browser never normalises a ``../`` away.
"""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import unquote

from flask import Blueprint, Response, abort, request, url_for

from .. import images
from ..errors import TemplateError
from ..mailfolder import StoredMessage
from .catalog import Catalog


def image_url(root: Path, email: str) -> Callable[[str], str | None]:
    """A :func:`emailkit.images.rewrite` replacement pointing local images at the preview, and
    ``cid:`` references at the file they name (see :func:`emailkit.images.named_by_cid`)."""

    def replace(src: str) -> str | None:
        if images.is_local(src):
            return url_for(".image", email=email, src=src)
        if src.lower().startswith("cid:"):
            found = images.named_by_cid(root, email, src[4:])
            return url_for(".image", email=email, src=found[0]) if found else None
        return None

    return replace


def show_images(html: str, root: Path, email: str) -> str:
    """The email's HTML with its relative (and cid:) images loaded from the preview server."""
    return images.rewrite(html, image_url(root, email))


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
    """``/<email>/_image?src=...``: a relative image of the email, as sending would embed it;
    ``/outbox/<stem>/part?cid=...``: an inline part of a message in the outbox."""

    @blueprint.get("/<email>/_image")
    def image(email: str) -> Response:
        if email not in catalog.emails:
            abort(404)
        try:
            found = images.resolve(catalog.root, email, request.args.get("src", ""))
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
