"""Shared fixtures: a scratch emails root and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as ParsedMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

pytest_plugins = ("pytester",)

REPO = Path(__file__).resolve().parents[1]
SHIPPED_ROOT = REPO / "emails"


class EmailsRoot:
    """A temporary emails root to write email folders into."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, relative: str, content: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return target

    def email(self, name: str, **files: str) -> Path:
        """Write ``name/<file>`` for each keyword (``body_html`` -> ``body.html``)."""
        folder = self.path / name
        folder.mkdir(parents=True, exist_ok=True)
        for key, content in files.items():
            self.write(f"{name}/{key.replace('_', '.', 1)}", content)
        return folder


@pytest.fixture
def emails_root(tmp_path: Path) -> EmailsRoot:
    root = tmp_path / "emails"
    root.mkdir()
    return EmailsRoot(root)


@dataclass
class SmtpSink:
    """A real SMTP server's record of what it received, and faults it will inject.

    ``fail(stage, fault, times)`` queues faults: stage ``connect`` (fault ``drop``),
    ``ehlo`` (an SMTP code), ``rcpt`` (a code), ``data`` (a code, ``drop`` or ``stall``).
    """

    host: str
    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    connections: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=dict)
    stalled: threading.Event = field(default_factory=threading.Event)

    _parsed: list[ParsedMessage] = field(default_factory=list)

    @property
    def messages(self) -> list[ParsedMessage]:
        # Parsed once each: aiosmtpd reads every attribute of its handler on each connection.
        for envelope in self.envelopes[len(self._parsed) :]:
            self._parsed.append(message_from_bytes(envelope.original_content))
        return list(self._parsed)

    def fail(self, stage: str, fault: str, times: int = 1) -> None:
        self.faults.setdefault(stage, []).extend([fault] * times)

    def next_fault(self, stage: str) -> str | None:
        queue = self.faults.get(stage)
        return queue.pop(0) if queue else None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        fault = self.next_fault("ehlo")
        if fault:  # like a real server: say why, then hang up
            await server.push(f"{fault} 4.3.2 Service not available, closing")
            server.transport.close()
            return []
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, options):
        fault = self.next_fault("rcpt")
        if fault:
            return f"{fault} {'4.2.2 Mailbox busy' if fault < '500' else '5.1.1 No such user'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self.next_fault("data")
        if fault == "drop":
            server.transport.close()
            return "421 dropped"
        if fault == "stall":
            self.stalled.set()
            await asyncio.sleep(3600)  # cancelled when the server stops
        if fault:
            return f"{fault} {'4.3.0 Try again later' if fault < '500' else '5.7.1 Rejected'}"
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        login = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == ("mailer", "s3cret-Pa55"), handled=False)


class _FaultySMTP(SMTP):
    def connection_made(self, transport) -> None:
        sink: SmtpSink = self.event_handler
        sink.connections += 1
        if sink.next_fault("connect") == "drop":
            transport.close()
            return
        super().connection_made(transport)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _FaultySMTP(self.handler, **self.SMTP_kwargs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    return _free_port()


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A real aiosmtpd server on 127.0.0.1; like strict servers it refuses lines over 998 octets.

    It offers AUTH without TLS (loopback only) and accepts mailer / s3cret-Pa55.
    """
    sink = SmtpSink(host="127.0.0.1", port=_free_port())
    controller = _Controller(
        sink,
        hostname=sink.host,
        port=sink.port,
        ready_timeout=10,
        authenticator=sink.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    sink.connections = 0  # the controller's own readiness probe
    try:
        yield sink
    finally:
        controller.stop()


ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder for what the tests leave behind for people to look at (screenshots, timings)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright (scripts/test installs it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@dataclass
class PreviewServer:
    url: str
    root: Path


@contextmanager
def running_preview(folder: Path, env: dict[str, str] | None = None) -> Iterator[PreviewServer]:
    """``preview_app.py`` in its own process, on a copy of the shipped emails in ``folder``;
    its log goes to ``folder/preview.log``."""
    import os
    import shutil
    import subprocess
    import sys
    import time

    root = folder / "emails"
    shutil.copytree(SHIPPED_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    port = _free_port()
    log = open(folder / "preview.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, str(REPO / "preview_app.py"), "--port", str(port), "--emails", str(root)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise RuntimeError((folder / "preview.log").read_text()) from None
            time.sleep(0.05)
    try:
        yield PreviewServer(f"http://127.0.0.1:{port}", root)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def preview_server(tmp_path) -> Iterator[PreviewServer]:
    """``preview_app.py`` in its own process, on a copy of the shipped emails."""
    with running_preview(tmp_path) as server:
        yield server


@dataclass
class RedisServer:
    url: str
    port: int

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """Debian's redis-server on 127.0.0.1 and a free port (scripts/test installs it)."""
    import subprocess
    import time

    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    server = RedisServer(f"redis://127.0.0.1:{port}/0", port)
    deadline = time.monotonic() + 20
    while True:
        try:
            if server.client().ping():
                break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
