"""The standalone preview server: the blueprint in its own Flask app, served by livereload.

livereload serves the WSGI app and pushes a reload over a websocket to every open page when a
file under the emails root changes. Its file check runs every 100 ms here (its default is
800 ms), and its rule of ignoring changes within 3 s of the previous reload is switched off,
so a save shows up in the browser in a few hundred milliseconds, every time.

Every handler checks the ``Host`` header (see :mod:`.guard`), the websocket its ``Origin``
too, and the port is bound before the server says where it serves: a busy port is one line.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import secrets
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask
from livereload import Server
from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler
from livereload.server import LiveScriptContainer
from livereload.watcher import Watcher
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import PeriodicCallback
from tornado.netutil import bind_sockets

from ..errors import ConfigError
from ..extension import EmailKit
from . import guard
from .views import preview_blueprint

logger = logging.getLogger("emailkit.preview")
access_logger = logging.getLogger("emailkit.preview.access")
POLL_MILLISECONDS = 100
_FROM_ENVIRONMENT = ("EMAILKIT_PREVIEW_RECIPIENTS", guard.ALLOWED_HOSTS_KEY)


def create_preview_app(root: str | Path, **config: Any) -> Flask:
    """A Flask app serving the preview of the emails under ``root`` at ``/``.

    It runs in debug mode without an SMTP server unless ``MAIL_SERVER`` is configured (or in
    the environment), so "send a test" writes to the outbox the viewer shows.
    ``EMAILKIT_PREVIEW_RECIPIENTS`` and ``EMAILKIT_PREVIEW_ALLOWED_HOSTS`` (comma-separated)
    are read from the environment too.
    """
    app = Flask("emailkit_preview", instance_path=str(Path(root).resolve().parent / "instance"))
    app.debug = True
    app.config.update(SECRET_KEY=secrets.token_hex(32), EMAILKIT_ROOT=str(root))
    for key in _FROM_ENVIRONMENT:
        if os.environ.get(key):
            app.config[key] = os.environ[key]
    app.config.update(config)
    EmailKit(app)
    app.register_blueprint(preview_blueprint(root), url_prefix="/")

    @app.after_request
    def secured(response: Any) -> Any:
        """The blueprint sets its own; this covers answers from outside it (an unknown URL)."""
        if "X-Frame-Options" not in response.headers:
            response.headers.update(guard.security_headers(part=response.mimetype != "text/html"))
        return response

    return app


class _FastWatcher(Watcher):
    """livereload's polling watcher, checking every 100 ms instead of 800 ms."""

    def start(self, callback: Any) -> bool:
        PeriodicCallback(callback, POLL_MILLISECONDS).start()
        return True


class _HostChecked:
    """Answers 400 to a request whose ``Host`` is not the preview's (DNS rebinding)."""

    allowed: tuple[str, ...] = ()

    def set_default_headers(self) -> None:
        for name, value in guard.security_headers(part=True).items():  # livereload.js, 400s
            self.set_header(name, value)  # type: ignore[attr-defined]

    def prepare(self) -> Any:
        request = self.request  # type: ignore[attr-defined]
        if not guard.host_is_allowed(request.headers.get("Host"), self.allowed):
            self.set_status(400)  # type: ignore[attr-defined]
            self.set_header("Content-Type", "text/plain; charset=utf-8")  # type: ignore[attr-defined]
            self.finish(guard.HOST_REFUSED)  # type: ignore[attr-defined]
            return None
        return super().prepare()  # type: ignore[misc]


class _PageHandler(_HostChecked, web.FallbackHandler):
    """The Flask app's pages."""


class _ScriptHandler(_HostChecked, LiveReloadJSHandler):
    """livereload.js."""


class _ReloadSocket(_HostChecked, LiveReloadHandler):
    """The reload websocket, open to the preview's own pages only (livereload allows any)."""

    def check_origin(self, origin: str) -> bool:
        host = self.request.headers.get("Host")
        return guard.host_is_allowed(host, self.allowed) and guard.origin_is_same(origin, host)


def _log_request(handler: web.RequestHandler) -> None:
    """One access-log line per request (livereload's own logging prints each one twice)."""
    _log_line(handler.get_status(), handler.request)


def _log_line(status: int, request: Any) -> None:
    level = logging.INFO if status < 400 else logging.WARNING
    milliseconds = 1000 * request.request_time()
    access_logger.log(level, "%d %s %s %.0fms", status, request.method, request.uri, milliseconds)


class _PreviewServer(Server):
    """livereload's server on sockets bound beforehand, with the Host and Origin checks, without
    its script injection (the viewer pages load the script themselves, and raw .html answers
    stay exactly what the email renders to) and without its /forcereload and log handlers."""

    def __init__(self, app: Any, *, sockets: list[socket.socket], allowed: tuple[str, ...]):
        super().__init__(app, watcher=_FastWatcher())
        self.sockets = sockets
        self.allowed = allowed

    def application(self, port: int, host: str, **kwargs: Any) -> None:
        LiveReloadHandler.watcher = self.watcher
        LiveReloadHandler.live_css = False
        allowed = {"allowed": self.allowed}
        pages = type("Pages", (_PageHandler,), allowed)
        script = type("Script", (_ScriptHandler,), allowed)
        reload_socket = type("ReloadSocket", (_ReloadSocket,), allowed)
        fallback = LiveScriptContainer(self.app, b"")
        fallback._log = _log_line  # type: ignore[method-assign]
        application = web.Application(
            handlers=[
                (r"/livereload", reload_socket),
                (r"/livereload.js", script),
                (r".*", pages, {"fallback": fallback}),
            ],
            log_function=_log_request,
        )
        server = HTTPServer(application)
        server.add_sockets(self.sockets)

    def _setup_logging(self) -> None:
        """The preview configures its own logging (see :func:`serve`)."""


def is_loopback(host: str) -> bool:
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (socket.gaierror, ValueError):
        return False


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on ``host``:``port``; a busy port is a :class:`ConfigError` naming a
    free one to try."""
    try:
        return bind_sockets(port, address=host)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} is in use; try --port {_next_free_port(host, port)}"
            ) from None
        if error.errno == errno.EACCES:
            raise ConfigError(
                f"no permission to listen on port {port}; try --port {max(port, 1024) + 1}"
            ) from None
        raise ConfigError(
            f"cannot listen on {host}:{port} ({error.strerror}); try --host 127.0.0.1"
        ) from None
    except socket.gaierror as error:
        raise ConfigError(
            f"cannot listen on {host!r} ({error.strerror}); try --host 127.0.0.1"
        ) from None


def _next_free_port(host: str, port: int) -> int:
    for candidate in range(port + 1, min(port + 100, 65536)):
        try:
            for sock in bind_sockets(candidate, address=host):
                sock.close()
        except OSError:
            continue
        return candidate
    return 0


def _configure_logging() -> None:
    """Request and reload lines on stderr, once each, unless the program set up logging."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    for name in ("emailkit", "tornado.access"):
        logging.getLogger(name).setLevel(logging.INFO)
    logging.getLogger("livereload").setLevel(logging.WARNING)


def serve(
    root: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    allowed_hosts: Iterable[str] = (),
) -> None:
    """Serve the preview of ``root`` until interrupted, reloading pages as files change.

    ``allowed_hosts`` adds host names the preview answers to besides localhost, IP addresses
    and ``host`` (say, a name that points at a development VM).
    """
    root = Path(root).resolve()
    allowed = (*guard.allowed_hosts(os.environ.get(guard.ALLOWED_HOSTS_KEY)), *allowed_hosts)
    allowed = guard.allowed_hosts([*allowed, host])
    sockets = bind(host, port)
    _configure_logging()
    if not is_loopback(host):
        logger.warning(
            "The preview server listens on %s: other machines can see your emails and their "
            "sample data. Use --host 127.0.0.1 unless you mean it.",
            host,
        )
    app = create_preview_app(
        root, EMAILKIT_PREVIEW_LIVERELOAD_PORT=port, EMAILKIT_PREVIEW_ALLOWED_HOSTS=allowed
    )
    LiveReloadHandler.DEFAULT_RELOAD_TIME = 0
    server = _PreviewServer(app.wsgi_app, sockets=sockets, allowed=allowed)
    server.watch(str(root), ignore=lambda path: "__pycache__" in path.split(os.sep))
    shown = f"[{host}]" if ":" in host else host
    print(f"emailkit preview of {root} on http://{shown}:{port}/", flush=True)
    server.serve(host=host, port=port, debug=False, live_css=False, restart_delay=0)
