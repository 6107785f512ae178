"""Images by relative path: ``<img src="logo.png">`` in a template, from the email's folder or the
root's shared ``_assets/`` folder.

Sending embeds each such image once as an inline ``cid:`` part of multipart/related (or, with
``EMAILKIT_IMAGE_URL`` set, points it at that public URL prefix plus the file's path under the
emails root); the preview and the static export show the same file. Only files inside the
email's folder or ``_assets/`` are ever read: ``../``, absolute paths and symlinks that lead
elsewhere are refused with an error naming the email and the ``src``.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import mimetypes
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import flask_mail
from flask import current_app, has_app_context

from ..errors import TemplateError
from .message import cid_references, inline_image, with_wire_part

ASSETS = "_assets"
URL_SETTING = "EMAILKIT_IMAGE_URL"

_IMG_SRC = re.compile(r"""(<img\b[^>]*?\ssrc\s*=\s*)(["'])(.*?)(\2)""", re.IGNORECASE | re.DOTALL)
_HAS_IMG = re.compile(r"<img\b", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_NOT_ID = re.compile(r"[^A-Za-z0-9-]+")
_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg")


def is_local(src: str) -> bool:
    """True for a relative path such as ``logo.png``: not a URL, ``cid:``, ``data:`` or ``//``."""
    src = src.strip()
    return bool(src) and not _SCHEME.match(src) and not src.startswith(("//", "#", "{"))


def local_sources(html: str) -> list[str]:
    """The ``src`` of every ``<img>`` in ``html`` that is a relative path, once each."""
    if not _HAS_IMG.search(html):
        return []
    found = (_attribute(match.group(3)) for match in _IMG_SRC.finditer(html))
    return list(dict.fromkeys(src for src in found if is_local(src)))


def rewrite(html: str, replace: Callable[[str], str | None]) -> str:
    """``html`` with the ``src`` of each ``<img>`` replaced by ``replace(src)`` (None keeps it).
    The new value is written HTML-escaped, between the quotes the template used."""
    if not _HAS_IMG.search(html):
        return html

    def substitute(match: re.Match[str]) -> str:
        src = _attribute(match.group(3))
        new = replace(src)
        if new is None:
            return match.group()
        mark = match.group(2)
        escaped = new.replace("&", "&amp;").replace(mark, "&#34;" if mark == '"' else "&#39;")
        return f"{match.group(1)}{match.group(2)}{escaped}{match.group(4)}"

    return _IMG_SRC.sub(substitute, html)


def _attribute(raw: str) -> str:
    """An attribute's value as written in HTML, with its character references decoded."""
    return html_lib.unescape(raw).strip() if "&" in raw else raw.strip()


@dataclass(frozen=True)
class Image:
    """A resolved local image: the file, and its path relative to the emails root."""

    src: str
    path: Path
    relative: str

    def data(self) -> bytes:
        return _read(self.path)[0]


@dataclass(frozen=True)
class _Resolved:
    image: Image
    stamp: tuple[int, int, int]
    shadow: Path | None  # the email's own file that would take precedence if it appeared

    def still_valid(self) -> bool:
        try:
            stat = os.stat(self.image.path)
        except OSError:
            return False
        if (stat.st_ino, stat.st_mtime_ns, stat.st_size) != self.stamp:
            return False
        return self.shadow is None or not os.path.lexists(self.shadow)


_resolved: dict[tuple[str, str, str], _Resolved] = {}


def resolve(root: Path, email: str, src: str) -> Image:
    """The file ``src`` names for the email ``email``: looked up in the email's folder, then in
    ``_assets/``. Raises :class:`TemplateError` when it is missing or would leave them.

    Sending resolves the same images for every message, so answers are cached and checked
    with one ``stat`` (a changed, replaced or newly shadowed file is resolved again).
    """
    key = (str(root), email, src)
    cached = _resolved.get(key)
    if cached is not None and cached.still_valid():
        return cached.image
    image = _resolve(root.resolve(), email, src)
    stat = os.stat(image.path)
    own = root.resolve() / email / unquote(urlsplit(src.strip()).path)
    shadow = None if image.relative.startswith(f"{email}/") else own
    _resolved[key] = _Resolved(image, (stat.st_ino, stat.st_mtime_ns, stat.st_size), shadow)
    return image


def _resolve(root: Path, email: str, src: str) -> Image:
    name = unquote(urlsplit(src.strip()).path)
    if not name or name.startswith(("/", "\\")) or Path(name).is_absolute():
        raise TemplateError(
            f"image {src!r} is an absolute path",
            email=email,
            hint=f'Write it relative to {email}/ or {ASSETS}/ (e.g. src="logo.png").',
        )
    bases = [root / email, root / ASSETS]
    for base in bases:
        candidate = base / name
        if not candidate.is_file():
            continue
        real = candidate.resolve()
        allowed = [b.resolve() for b in bases if b.is_dir()]
        if not any(real.is_relative_to(b) for b in allowed):
            raise TemplateError(
                f"image {src!r} leads outside {email}/ and {ASSETS}/ (to {real})",
                email=email,
                hint=f"Put the file itself in {root / email} or {root / ASSETS}.",
            )
        if not content_type(real).startswith("image/"):
            raise TemplateError(
                f"image {src!r} is not an image file (by its name)",
                email=email,
                hint="Point the src at a .png, .jpg, .gif, .webp or .svg file.",
            )
        return Image(src, real, candidate.relative_to(root).as_posix())
    raise TemplateError(
        f"image {src!r} not found in {email}/ or {ASSETS}/",
        email=email,
        hint=f"Add the file to {root / email} or {root / ASSETS}, or fix the src.",
    )


def named_by_cid(root: Path, email: str, cid: str) -> tuple[str, Image] | None:
    """For previews: the file an explicit ``cid:`` reference names by convention, if any.

    ``cid:logo.png`` (or ``cid:logo`` with ``logo.png``, ``.jpg``, ``.gif``, ``.webp`` or
    ``.svg``) in the email's folder or ``_assets/``, so a template written for
    :func:`~emailkit.inline_image` shows its image without sending. Returns the name found
    and the image; None when no such file is allowed.
    """
    cid = unquote(cid).strip()
    for name in (cid, *(cid + extension for extension in _EXTENSIONS)):
        try:
            return name, resolve(root, email, name)
        except TemplateError:
            continue
    return None


def preview_parts(html: str, root: Path, email: str) -> list[flask_mail.Attachment]:
    """Inline parts for the ``cid:`` references of ``html`` that :func:`named_by_cid` finds,
    so the preview can build the message a sender would pass them to."""
    parts = []
    for cid in sorted(cid_references(html)):
        found = named_by_cid(root, email, cid)
        if found is not None:
            part = inline_image(cid, found[1].data(), content_type(found[1].path))
            part.filename = found[1].path.name
            parts.append(part)
    return parts


def url_prefix() -> str | None:
    """``EMAILKIT_IMAGE_URL`` of the current app: images then link there instead of being
    embedded (``https://cdn.example.com/emails/`` + ``_assets/logo.png``)."""
    if not has_app_context():
        return None
    value = current_app.config.get(URL_SETTING)
    return str(value) if value else None


def embed(
    html: str, root: Path, email: str, prefix: str | None = None
) -> tuple[str, list[flask_mail.Attachment]]:
    """``html`` ready to send: each local image becomes ``cid:`` plus an inline part (one per
    file), or with ``prefix`` an absolute URL under it. Errors name the email and the src.

    One pass over the HTML; each file's part is built and encoded once per version of the
    file (see :func:`_inline_part`), so a message pays a ``stat`` per image, not an encoding.
    """
    if not _HAS_IMG.search(html):
        return html, []
    parts: dict[str, flask_mail.Attachment] = {}  # one part per content, however many srcs
    base = None if not prefix else prefix if prefix.endswith("/") else prefix + "/"

    def replace(src: str) -> str | None:
        if not is_local(src):
            return None
        image = resolve(root, email, src)
        if base is not None:
            return base + quote(image.relative)
        part = _inline_part(image)
        cid = _cid(part)
        parts.setdefault(cid, part)
        return "cid:" + cid

    return rewrite(html, replace), list(parts.values())


def _cid(part: flask_mail.Attachment) -> str:
    return str(part.headers["Content-ID"])[1:-1]


# Per image file: the data object _read returned, and the part built from it (encoded).
_parts: dict[Path, tuple[bytes, flask_mail.Attachment]] = {}


def _inline_part(image: Image) -> flask_mail.Attachment:
    """A new inline part for ``image``, carrying the encoding made once for its content."""
    data, cid = _read(image.path)
    cached = _parts.get(image.path)
    if cached is None or cached[0] is not data:  # a new version of the file was read
        part = inline_image(cid, data, content_type(image.path))
        part.filename = image.path.name
        cached = _parts[image.path] = (data, with_wire_part(part))
    model = cached[1]
    part = flask_mail.Attachment(
        model.filename, model.content_type, data, "inline", headers={"Content-ID": f"<{cid}>"}
    )
    part.wire_part = model.wire_part  # type: ignore[attr-defined]
    return part


def content_id(filename: str, data: bytes) -> str:
    """A Content-ID naming the file and its content, the same for the same image every time."""
    stem = _NOT_ID.sub("-", Path(filename).stem).strip("-")[:40] or "image"
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:16]}@emailkit"


def content_type(path: Path) -> str:
    """The MIME type of an image file, by its name."""
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


_cache: dict[Path, tuple[int, int, bytes, str]] = {}
_cache_lock = threading.Lock()


def _read(path: Path) -> tuple[bytes, str]:
    """The file's bytes and Content-ID, read and hashed again only when the file changed."""
    stat = os.stat(path)
    cached = _cache.get(path)
    if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2], cached[3]
    data = path.read_bytes()
    cid = content_id(path.name, data)
    with _cache_lock:
        _cache[path] = (stat.st_mtime_ns, stat.st_size, data, cid)
    return data, cid
