"""Shared fixtures: a scratch emails root and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import random
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
from hypothesis import settings as hypothesis_settings

pytest_plugins = ("pytester",)

# Property tests explore new examples on every local run; in CI they replay a fixed sequence, so
# a landing is decided by the code, not by the draw (a failure prints how to reproduce it).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

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


@pytest.fixture(scope="session", autouse=True)
def _compile_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled emails go to a scratch folder, not the user's cache."""
    saved = os.environ.get("EMAILKIT_CACHE_DIR")
    os.environ["EMAILKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("compile-cache"))
    yield
    if saved is None:
        os.environ.pop("EMAILKIT_CACHE_DIR", None)
    else:
        os.environ["EMAILKIT_CACHE_DIR"] = saved


@pytest.fixture
def emails_root(tmp_path: Path) -> EmailsRoot:
    root = tmp_path / "emails"
    root.mkdir()
    return EmailsRoot(root)


_LOOPBACK = {"localhost", "127.0.0.1", "::1", "", None}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every non-loopback name lookup or connection fail; the hosts tried are recorded."""
    tried: list[str] = []
    lookup, connect = socket.getaddrinfo, socket.create_connection

    def guarded_lookup(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host not in _LOOPBACK:
            tried.append(str(host))
            raise socket.gaierror(f"test without network: lookup of {host!r}")
        return lookup(host, *args, **kwargs)

    def guarded_connect(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        if address[0] not in _LOOPBACK:
            tried.append(str(address[0]))
            raise OSError(f"test without network: connection to {address!r}")
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    monkeypatch.setattr(socket, "create_connection", guarded_connect)
    yield tried
    assert tried == [], f"network lookups were attempted: {tried}"


@dataclass
class Chaos:
    """Seeded random faults: for each stage, ``(fault, probability)`` pairs tried in order."""

    seed: int
    rates: dict[str, list[tuple[str, float]]]
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def pick(self, stage: str) -> str | None:
        roll = self.rng.random()
        for fault, rate in self.rates.get(stage, []):
            if roll < rate:
                return fault
            roll -= rate
        return None


@dataclass
class SmtpSink:
    """A real SMTP server's record of what it received, and faults it will inject.

    ``fail(stage, fault, times)`` queues faults: stage ``connect`` (fault ``drop``),
    ``ehlo``, ``mail`` and ``rcpt`` (an SMTP code), ``data`` (a code, ``drop`` after the
    data arrived, ``drop_mid`` part-way through the data, ``accept_drop``: the message is
    taken, then the line drops before the reply, or ``stall``). ``refuse(address, code)``
    refuses one recipient at RCPT (``times`` times, or always). ``chaos`` draws faults at
    random instead when no queued fault is due. Every fault applied is logged in ``log`` as
    ``(stage, fault, detail)``, with the Message-ID for faults at DATA.
    """

    host: str
    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    connections: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=dict)
    refusals: dict[str, list[str | None]] = field(default_factory=dict)
    chaos: Chaos | None = None
    data_delay: float = 0.0
    pipelining: bool = True  # advertised, as Postfix, Exim and the big relays do
    quits: int = 0
    controller: object = field(default=None, repr=False)
    transports: list = field(default_factory=list, repr=False)
    log: list[tuple[str, str, str | None]] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)

    _parsed: list[ParsedMessage] = field(default_factory=list)

    @property
    def messages(self) -> list[ParsedMessage]:
        # Parsed once each: aiosmtpd reads every attribute of its handler on each connection.
        for envelope in self.envelopes[len(self._parsed) :]:
            self._parsed.append(message_from_bytes(envelope.original_content))
        return list(self._parsed)

    def hang_up(self, stop_listening: bool = False) -> None:
        """Close every open connection (as an idle timeout would); with ``stop_listening``
        refuse new ones too (the relay is gone). Returns once done."""
        done = threading.Event()

        def close() -> None:
            if stop_listening:
                self.controller.server.close()
            for transport in self.transports:
                transport.close()
            done.set()

        self.controller.loop.call_soon_threadsafe(close)
        done.wait(10)

    def fail(self, stage: str, fault: str, times: int = 1) -> None:
        self.faults.setdefault(stage, []).extend([fault] * times)

    def refuse(self, address: str, code: str, times: int | None = None) -> None:
        """Refuse ``address`` at RCPT with ``code``, ``times`` times (None: always)."""
        self.refusals[address] = [code] * times if times else [code, None]

    def next_fault(self, stage: str, detail: str | None = None, log: bool = True) -> str | None:
        queue = self.faults.get(stage)
        fault = queue.pop(0) if queue else None
        if fault is None and not queue and self.chaos is not None:
            fault = self.chaos.pick(stage)
        if fault is not None and log:
            self.log.append((stage, fault, detail))
        return fault

    def _refusal(self, address: str) -> str | None:
        codes = self.refusals.get(address)
        if not codes:
            return None
        if codes[-1] is None:  # always
            return codes[0]
        return codes.pop(0)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        fault = self.next_fault("ehlo")
        if fault:  # like a real server: say why, then hang up
            await server.push(f"{fault} 4.3.2 Service not available, closing")
            server.transport.close()
            return []
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.commands.append("MAIL")
        fault = self.next_fault("mail", address)
        if fault == "421":  # the reply goes out, then the server hangs up
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 Service not available, closing"
        if fault:
            return f"{fault} {'4.3.1 Try again later' if fault < '500' else '5.7.1 Refused'}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        fault = self._refusal(address)
        if fault:
            self.log.append(("rcpt", fault, address))
        else:
            fault = self.next_fault("rcpt", address)
        if fault:
            return f"{fault} {'4.2.2 Mailbox busy' if fault < '500' else '5.1.1 No such user'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = getattr(session, "data_fault", None)
        session.data_fault = None
        if fault:
            self.log.append(("data", fault, _message_id(envelope)))
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if fault == "drop":
            server.transport.close()
            return "421 dropped"
        if fault == "accept_drop":  # taken for delivery, but the client never hears so
            self.envelopes.append(envelope)
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


def _message_id(envelope: Envelope) -> str | None:
    content = envelope.original_content or b""
    return message_from_bytes(content.split(b"\r\n\r\n", 1)[0])["Message-ID"]


class _FaultySMTP(SMTP):
    def connection_made(self, transport) -> None:
        sink: SmtpSink = self.event_handler
        sink.connections += 1
        sink.transports.append(transport)
        if sink.next_fault("connect") == "drop":
            transport.close()
            return
        super().connection_made(transport)

    async def smtp_QUIT(self, arg: str) -> None:
        self.event_handler.quits += 1
        await super().smtp_QUIT(arg)

    async def smtp_AUTH(self, arg: str) -> None:
        self.event_handler.commands.append("AUTH")
        await super().smtp_AUTH(arg)

    async def smtp_STARTTLS(self, arg: str) -> None:
        self.event_handler.commands.append("STARTTLS")
        await super().smtp_STARTTLS(arg)

    async def smtp_DATA(self, arg: str) -> None:
        sink: SmtpSink = self.event_handler
        if not (self.envelope and self.envelope.rcpt_tos):
            return await super().smtp_DATA(arg)
        fault = sink.next_fault("data", log=False)
        if fault != "drop_mid":
            self.session.data_fault = fault
            return await super().smtp_DATA(arg)
        sink.log.append(("data", fault, None))
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.readuntil(b"\r\n")  # a line of the message, then the line drops
        self.transport.close()
        return None


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
    with running_sink() as sink:
        yield sink


@contextmanager
def running_sink(port: int | None = None) -> Iterator[SmtpSink]:
    """The ``smtp_server`` fixture's server, on ``port`` or a free one."""
    sink = SmtpSink(host="127.0.0.1", port=port or _free_port())
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
    sink.controller = controller
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class TlsSmtpSink(SmtpSink):
    """An SmtpSink behind TLS: ``mode`` ``starttls`` or ``ssl`` (implicit TLS), with a
    certificate for ``127.0.0.1`` from a CA of the test's making (PEM in ``cafile``)."""

    mode: str = "starttls"
    cafile: Path | None = None


@pytest.fixture(scope="session")
def test_ca():
    """A private certificate authority (trustme), and a server certificate for 127.0.0.1."""
    import trustme

    return trustme.CA()


def start_tls_sink(ca, folder: Path, mode: str, names: tuple[str, ...] = ("127.0.0.1",)):
    """A TLS SmtpSink whose certificate names ``names``; returns (sink, controller)."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    cafile = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    sink = TlsSmtpSink(host="127.0.0.1", port=_free_port(), mode=mode, cafile=cafile)
    tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    if mode == "ssl":  # all TLS from the start (aiosmtpd's auth_require_tls means STARTTLS)
        tls = {"ssl_context": context, "auth_require_tls": False}
    controller = _Controller(
        sink,
        hostname=sink.host,
        port=sink.port,
        ready_timeout=10,
        authenticator=sink.authenticate,
        **tls,
    )
    controller.start()
    sink.connections = 0
    sink.log.clear()
    return sink, controller


@pytest.fixture(params=["starttls", "ssl"])
def tls_smtp_server(request, test_ca, tmp_path) -> Iterator[TlsSmtpSink]:
    """A real aiosmtpd on 127.0.0.1 with STARTTLS (required before AUTH) or implicit TLS."""
    sink, controller = start_tls_sink(test_ca, tmp_path, request.param)
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class PostfixSink:
    """Postfix's ``smtp-sink`` (it advertises PIPELINING) on 127.0.0.1; each message it takes
    is dumped into ``folder``."""

    host: str
    port: int
    folder: Path

    @property
    def received(self) -> list[bytes]:
        return [path.read_bytes() for path in sorted(self.folder.glob("msg-*"))]


SMTP_SINK = "/usr/sbin/smtp-sink"


@contextmanager
def running_smtp_sink(folder: Path, *options: str) -> Iterator[PostfixSink]:
    """``smtp-sink`` with ``options`` (``-r rcpt`` soft-refuses every RCPT, ...)."""
    import subprocess
    import time

    if not os.path.exists(SMTP_SINK):
        if os.environ.get("CI"):
            raise RuntimeError("smtp-sink is missing: scripts/test installs postfix")
        pytest.skip("Postfix's smtp-sink is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    # One file a message: smtp-sink appends a unique id to the template.
    command = [SMTP_SINK, "-d", str(folder / "msg-%H%M%S."), *options]
    if os.geteuid() == 0:  # it refuses to run as root without being told whom to run as
        command += ["-u", "root"]
    process = subprocess.Popen(
        [*command, f"127.0.0.1:{port}", "100"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.02)
    try:
        yield PostfixSink("127.0.0.1", port, folder)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def postfix_sink(tmp_path) -> Iterator[PostfixSink]:
    with running_smtp_sink(tmp_path / "smtp-sink") as sink:
        yield sink


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


PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust authentication, user postgres)."""

    port: int
    _count: int = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import sqlalchemy as sa

        self._count += 1
        name = f"emailkit_test_{os.getpid()}_{self._count}"
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Debian's PostgreSQL 15 (scripts/test installs it): ``initdb`` in a temporary folder and
    ``pg_ctl`` on a free loopback port, run as the ``postgres`` user when we are root."""
    import shutil
    import subprocess
    import tempfile

    if not (PG_BIN / "initdb").exists():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not installed ({PG_BIN}); scripts/test installs it")
        pytest.skip(f"PostgreSQL is not installed ({PG_BIN})")
    as_user: dict[str, object] = {}
    folder = Path(tempfile.mkdtemp(prefix="emailkit-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = {"user": "postgres", "group": "postgres"}
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    port = _free_port()

    def run(*command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, timeout=120, cwd=folder, **as_user)

    run(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder}"
    options += " -c fsync=off -c max_connections=50"
    run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", options,
        "-w", "-t", "60", "start")  # fmt: skip
    try:
        yield PostgresServer(port)
    finally:
        run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class SpamdServer:
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


SPAMD = "/usr/sbin/spamd"


@pytest.fixture(scope="session")
def spamd(tmp_path_factory) -> Iterator[SpamdServer]:
    """Debian's spamd on 127.0.0.1 and a free port, network tests off (scripts/test installs
    it); one for the whole session: it takes seconds to load its rules."""
    import subprocess
    import time

    from emailkit.checks.spam import Spamd, SpamdUnavailable

    if not os.path.exists(SPAMD):
        message = f"{SPAMD} is missing: apt-get install spamassassin spamd (scripts/test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    folder = tmp_path_factory.mktemp("spamd")
    command = [SPAMD, "--local", "-x", "-i", "127.0.0.1", "-A", "127.0.0.1", "-p", str(port)]
    command += ["-m", "1", "--min-children=1", "--min-spare=1", "--max-spare=1"]
    command += ["--syslog=stderr", "--pidfile", str(folder / "spamd.pid")]
    if os.geteuid() == 0:
        command += ["-u", "nobody"]  # spamd will not run as root
    log = (folder / "spamd.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = SpamdServer("127.0.0.1", port)
    client = Spamd(server.host, port, timeout=10)
    deadline = time.monotonic() + 90
    while True:
        try:
            client.ping()
            break
        except SpamdUnavailable:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"spamd did not start: {(folder / 'spamd.log').read_text()[-2000:]}"
                ) from None
            time.sleep(0.1)
    try:
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
