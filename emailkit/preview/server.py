"""The standalone preview server: the blueprint in its own Flask app, served by livereload.

livereload serves the WSGI app and pushes a reload over a websocket to every open page when a
file under the emails root changes. Its file check runs every 100 ms here (its default is
800 ms), and its rule of ignoring changes within 3 s of the previous reload is switched off,
so a save shows up in the browser in a few hundred milliseconds, every time.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import socket
from pathlib import Path
from typing import Any

from flask import Flask
from livereload import Server
from livereload.handlers import LiveReloadHandler
from livereload.server import LiveScriptContainer
from livereload.watcher import Watcher
from tornado import web
from tornado.ioloop import PeriodicCallback

from ..extension import EmailKit
from .views import preview_blueprint

logger = logging.getLogger("emailkit.preview")
POLL_MILLISECONDS = 100


def create_preview_app(root: str | Path, **config: Any) -> Flask:
    """A Flask app serving the preview of the emails under ``root`` at ``/``.

    It runs in debug mode without an SMTP server unless ``MAIL_SERVER`` is configured (or in
    the environment), so "send a test" writes to the outbox the viewer shows.
    """
    app = Flask("emailkit_preview", instance_path=str(Path(root).resolve().parent / "instance"))
    app.debug = True
    app.config.update(SECRET_KEY=secrets.token_hex(32), EMAILKIT_ROOT=str(root))
    app.config.update(config)
    EmailKit(app)
    app.register_blueprint(preview_blueprint(root), url_prefix="/")
    return app


class _FastWatcher(Watcher):
    """livereload's polling watcher, checking every 100 ms instead of 800 ms."""

    def start(self, callback: Any) -> bool:
        PeriodicCallback(callback, POLL_MILLISECONDS).start()
        return True


class _PreviewServer(Server):
    """livereload's server without its script injection: the viewer pages load the script
    themselves, and raw .html answers stay exactly what the email renders to."""

    def get_web_handlers(self, script: bytes) -> list[Any]:
        fallback = LiveScriptContainer(self.app, b"")
        return [(r".*", web.FallbackHandler, {"fallback": fallback})]


def is_loopback(host: str) -> bool:
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (socket.gaierror, ValueError):
        return False


def serve(root: str | Path, *, host: str = "127.0.0.1", port: int = 5000) -> None:
    """Serve the preview of ``root`` until interrupted, reloading pages as files change."""
    root = Path(root).resolve()
    if not is_loopback(host):
        logger.warning(
            "The preview server listens on %s: other machines can see your emails and their "
            "sample data. Use --host 127.0.0.1 unless you mean it.",
            host,
        )
    app = create_preview_app(root, EMAILKIT_PREVIEW_LIVERELOAD_PORT=port)
    LiveReloadHandler.DEFAULT_RELOAD_TIME = 0
    server = _PreviewServer(app.wsgi_app, watcher=_FastWatcher())
    server.watch(str(root), ignore=lambda path: "__pycache__" in path.split(os.sep))
    print(f"emailkit preview of {root} on http://{host}:{port}/", flush=True)
    server.serve(host=host, port=port, debug=False, live_css=False, restart_delay=0)
