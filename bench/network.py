"""Sending at network speed: msg/s through a loopback proxy that delays each direction.

    python bench/network.py [--delay 0.025]

A relay is 20-100 ms away; a sink on 127.0.0.1 hides that. Here ``tests/netproxy.py``
(its own process) adds ``--delay`` each way (25 ms: a 50 ms round trip) in front of
Postfix's ``smtp-sink`` (it advertises PIPELINING) and in front of an aiosmtpd sink (made to
advertise it too). Each way runs in a fresh process, sending the shipped receipt (about
20 KB; the Celery way sends the welcome email, whose fields are JSON):

- send_many over 1 and over 16 pooled connections;
- a send_async burst of 300 with the default settings;
- sequential send() on a warm pool (one connection, a message at a time);
- a warm Celery worker (concurrency 4, Redis broker; 16 messages first) working off 300
  send_later;
- Flask-Mail's loop (``mail.send`` per message: a connection each), the old way;
- the ceiling: a minimal pipelining client on raw sockets sending pre-built bytes over the
  same number of connections (1 and 16).

One run; it prints msg/s and the ratios the targets are stated in.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or (process and process.poll() is not None):
                raise RuntimeError(f"nothing listens on {port}") from None
            time.sleep(0.05)


# Servers, each in its own process ------------------------------------------------------------


def run_aiosmtpd(port: int, counter: str) -> None:
    """An aiosmtpd sink that advertises PIPELINING and counts messages into ``counter``."""
    from aiosmtpd.controller import Controller

    class Counting:
        received = 0

        async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
            session.host_name = hostname
            responses.insert(-1, "250-PIPELINING")
            return responses

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            Counting.received += 1
            Path(counter + ".tmp").write_text(str(Counting.received))
            os.replace(counter + ".tmp", counter)  # a reader never sees it half written
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


def run_proxy(upstream: int, port_file: str, delay: float) -> None:
    from tests.netproxy import DelayProxy

    proxy = DelayProxy(("127.0.0.1", upstream), delay)
    proxy.start()
    Path(port_file).write_text(str(proxy.port))
    sys.stdin.read()
    proxy.stop()


class Sink:
    """A sink process, the delaying proxy in front of it, and how to count what arrived."""

    def __init__(self, kind: str, folder: Path, delay: float) -> None:
        self.kind = kind
        self.folder = folder
        self.counter = folder / "count"
        port = free_port()
        if kind == "smtp-sink":
            (folder / "dump").mkdir()
            command = ["/usr/sbin/smtp-sink", "-d", str(folder / "dump" / "m-%H%M%S.")]
            if os.geteuid() == 0:
                command += ["-u", "root"]
            self.process = subprocess.Popen(
                [*command, f"127.0.0.1:{port}", "256"], stdin=subprocess.PIPE
            )
        else:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--run", "aiosmtpd", "--port", str(port),
                 "--counter", str(self.counter)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            )  # fmt: skip
        wait_port(port, self.process)
        port_file = folder / "proxy-port"
        self.proxy = subprocess.Popen(
            [sys.executable, __file__, "--run", "proxy", "--port", str(port),
             "--counter", str(port_file), "--delay", str(delay)],
            stdin=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            assert time.monotonic() < deadline, "the proxy did not start"
            time.sleep(0.05)
        self.port = int(port_file.read_text())

    def received(self) -> int:
        if self.kind == "smtp-sink":
            return len(os.listdir(self.folder / "dump"))
        return int(self.counter.read_text()) if self.counter.exists() else 0

    def stop(self) -> None:
        for process in (self.proxy, self.process):
            if process.stdin:
                process.stdin.close()
            process.terminate()
            process.wait(timeout=10)


# The ways, each in a fresh process -----------------------------------------------------------


def make_app(port: int, **config: object):  # type: ignore[no-untyped-def]
    from flask import Flask

    from emailkit import EmailKit

    app = Flask("bench", instance_path=tempfile.mkdtemp())
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
        EMAILKIT_ROOT=str(REPO / "emails"),
        **config,
    )
    EmailKit(app)
    return app


def run_way(way: str, port: int, count: int, connections: int) -> float:
    from send import receipts

    from emailkit.extension import kit

    if way == "ceiling":
        return ceiling(port, count, connections)
    with make_app(port).app_context():  # compile the template outside the timed part
        next(receipts(1)).message("warm@example.com")
    if way == "flask_mail":
        app = make_app(port)
        mail = app.extensions["mail"]
        with app.app_context():
            start = time.perf_counter()
            for index, email in enumerate(receipts(count)):
                message = email.message(f"customer{index}@example.com")
                mail.send(message)  # Flask-Mail opens and closes a connection for each
            return count / (time.perf_counter() - start)
    if way == "send_many":
        app = make_app(port, EMAILKIT_SMTP_CONNECTIONS=connections)
        with app.app_context():
            start = time.perf_counter()
            report = kit.send_many(
                (email, f"customer{index}@example.com")
                for index, email in enumerate(receipts(count))
            )
            elapsed = time.perf_counter() - start
        assert report.sent == count, report.failed[:3]
        return count / elapsed
    if way == "send_async":
        from concurrent.futures import wait

        app = make_app(port)  # the defaults
        with app.app_context():
            emails = list(receipts(count))
            start = time.perf_counter()
            futures = [e.send_async(to=f"customer{i}@example.com") for i, e in enumerate(emails)]
            wait(futures)
            elapsed = time.perf_counter() - start
        assert all(f.exception() is None for f in futures)
        return count / elapsed
    if way == "send":
        app = make_app(port)
        with app.app_context():
            emails = list(receipts(count + 1))
            emails[0].send(to="warm@example.com")  # the pool's connection is open from here
            start = time.perf_counter()
            for index, email in enumerate(emails[1:]):
                email.send(to=f"customer{index}@example.com")
            return count / (time.perf_counter() - start)
    raise ValueError(way)


def ceiling(port: int, count: int, connections: int) -> float:
    """A minimal pipelining client: pre-built bytes, MAIL/RCPT/DATA in one write."""
    from send import receipts

    app = make_app(port)
    with app.app_context():
        data = next(receipts(1)).message("x@example.com").as_bytes()
    body = data.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n"
    share = [count // connections + (i < count % connections) for i in range(connections)]

    def client(n: int) -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            reader = sock.makefile("rb")

            def reply() -> bytes:
                while True:
                    line = reader.readline()
                    if line[3:4] != b"-":
                        return line

            reply()
            sock.sendall(b"EHLO bench\r\n")
            reply()
            for i in range(n):
                sock.sendall(
                    b"MAIL FROM:<noreply@acme.example.com>\r\n"
                    + f"RCPT TO:<c{i}@example.com>\r\n".encode()
                    + b"DATA\r\n"
                )
                assert reply()[:3] == b"250" and reply()[:3] == b"250"
                assert reply()[:3] == b"354"
                sock.sendall(body)
                assert reply()[:3] == b"250"
            sock.sendall(b"QUIT\r\n")
            reply()

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count / (time.perf_counter() - start)


CELERY_APP = """
import os
from celery import Celery
from flask import Flask
from emailkit import EmailKit
from emailkit.celery import register_tasks

flask_app = Flask("bench_celery", instance_path=os.environ["EK_INSTANCE"])
flask_app.config.update(
    MAIL_SERVER="127.0.0.1",
    MAIL_PORT=int(os.environ["EK_SMTP_PORT"]),
    MAIL_DEFAULT_SENDER="noreply@acme.example.com",
    EMAILKIT_ROOT=os.environ["EK_ROOT"],
)
EmailKit(flask_app)
celery_app = Celery("bench_celery", broker=os.environ["EK_BROKER"])
celery_app.conf.update(worker_prefetch_multiplier=4, worker_hijack_root_logger=False,
                       broker_connection_retry_on_startup=True)
register_tasks(celery_app, flask_app)
"""


def celery_rate(sink: Sink, count: int, folder: Path) -> float:
    """300 send_later worked off by a worker of concurrency 4: msg/s from the first enqueue
    to the last message at the sink."""
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wait_port(redis_port, redis)
    (folder / "bench_celery.py").write_text(CELERY_APP)
    env = {
        **os.environ,
        "EK_INSTANCE": str(folder / "instance"),
        "EK_SMTP_PORT": str(sink.port),
        "EK_BROKER": f"redis://127.0.0.1:{redis_port}/0",
        "EK_ROOT": str(REPO / "emails"),
        "PYTHONPATH": os.pathsep.join([str(REPO), str(folder)]),
    }
    log = open(folder / "worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bench_celery", "worker", "--concurrency", "4",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while " ready." not in (folder / "worker.log").read_text():
            assert worker.poll() is None and time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)
        # A warm worker, as in production: each process has compiled the email and opened
        # its pooled connection before the timed burst.
        before = sink.received()
        subprocess.run(
            [sys.executable, __file__, "--run", "enqueue", "--count", "16"],
            cwd=folder, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        while sink.received() - before < 16:
            assert time.monotonic() < deadline + 120, (folder / "worker.log").read_text()[-2000:]
            time.sleep(0.01)
        before = sink.received()
        done = subprocess.run(
            [sys.executable, __file__, "--run", "enqueue", "--count", str(count),
             "--connections", "16"],
            cwd=folder, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        started = float(done.stdout.split()[-1])
        deadline = time.monotonic() + 300
        while sink.received() - before < count:
            assert time.monotonic() < deadline, (folder / "worker.log").read_text()[-2000:]
            time.sleep(0.01)
        return count / (time.time() - started)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
        redis.terminate()
        redis.wait(timeout=10)


def run_enqueue(count: int, first: int = 0) -> None:
    import bench_celery  # type: ignore[import-not-found]

    from emails.welcome import Welcome

    app = bench_celery.flask_app
    with app.app_context():
        emails = [Welcome(user_name=f"U{i}", confirm_url="https://acme.example.com/c")
                  for i in range(first, first + count)]  # fmt: skip
        start = time.time()
        for i, email in enumerate(emails, first):
            email.send_later(to=f"u{i}@example.com")
    print(start)


def measure(way: str, port: int, count: int, connections: int = 1) -> float:
    done = subprocess.run(
        [sys.executable, __file__, "--run", way, "--port", str(port), "--count", str(count),
         "--connections", str(connections)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"{way}: {done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.025, help="seconds each way")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--counter", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run == "aiosmtpd":
        return run_aiosmtpd(args.port, args.counter)
    if args.run == "proxy":
        return run_proxy(args.port, args.counter, args.delay)
    if args.run == "enqueue":  # --connections: the first message's number
        return run_enqueue(args.count, args.connections if args.connections > 1 else 0)
    if args.run:
        print(run_way(args.run, args.port, args.count, args.connections))
        return

    rtt = args.delay * 2 * 1000
    for kind in ("smtp-sink", "aiosmtpd"):
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            sink = Sink(kind, folder, args.delay)
            try:
                rates = {
                    "send_many, 1 connection": measure("send_many", sink.port, 60, 1),
                    "ceiling, 1 connection": measure("ceiling", sink.port, 60, 1),
                    "send_many, 16 connections": measure("send_many", sink.port, 600, 16),
                    "ceiling, 16 connections": measure("ceiling", sink.port, 600, 16),
                    "send_async burst of 300 (defaults)": measure("send_async", sink.port, 300),
                    "send() one after another, warm pool": measure("send", sink.port, 40),
                    "Flask-Mail loop (a connection each)": measure("flask_mail", sink.port, 20),
                }
                (folder / "celery").mkdir()
                rates["Celery worker, concurrency 4, 300 send_later"] = celery_rate(
                    sink, 300, folder / "celery"
                )
            finally:
                sink.stop()
        print(f"\n{kind} behind a proxy adding {args.delay * 1000:g} ms each way ({rtt:g} ms RTT)")
        for name, rate in rates.items():
            print(f"  {name:<46} {rate:8.1f} msg/s")
        many16, ceiling16 = rates["send_many, 16 connections"], rates["ceiling, 16 connections"]
        many1, ceiling1 = rates["send_many, 1 connection"], rates["ceiling, 1 connection"]
        flask_mail = rates["Flask-Mail loop (a connection each)"]
        print(
            f"  send_many 16 conns / ceiling 16 conns: {many16 / ceiling16:.2f}x (target >= 0.75)"
        )
        print(f"  send_many 1 conn / ceiling 1 conn:     {many1 / ceiling1:.2f}x")
        print(f"  send_many 16 conns / Flask-Mail loop:  {many16 / flask_mail:.1f}x")
        warm = rates["send() one after another, warm pool"]
        print(f"  send() warm / Flask-Mail loop:         {warm / flask_mail:.1f}x")


if __name__ == "__main__":
    main()
