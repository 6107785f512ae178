"""The preview server: every email and sample in the browser, reloading as files change."""

from __future__ import annotations

from .server import create_preview_app, serve
from .views import preview_blueprint

__all__ = ["create_preview_app", "preview_blueprint", "serve"]
