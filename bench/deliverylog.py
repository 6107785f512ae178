"""What the delivery log costs ``send_many``: throughput into a local SMTP sink (aiosmtpd on
127.0.0.1) with the log off, on SQLite (the default), and on PostgreSQL.

    python bench/deliverylog.py [--count 2000] [--rounds 3]

Each way runs in a fresh process sending receipts of about 20 KB each; the ways take turns
for ``--rounds`` rounds. It prints the best rate of each, and the cost the target is judged
on: each round's rate with the log against the same round's rate without it, the median of
those paired ratios. (The machine is shared: from one run to the next the rate without the
log moved by 10 %, more than the log costs, while two ways run back to back see about the
same machine.) PostgreSQL is Debian's 15, started by this script as in the
tests (``initdb``/``pg_ctl`` as the ``postgres`` user on a free loopback port), with its
default durability (``fsync`` on, like production). Target: logging costs at most 10 %.
It also prints the sending process's CPU time per message, which a busy machine disturbs
less than throughput (the PostgreSQL server's own CPU is not in it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_BIN = Path("/usr/lib/postgresql/15/bin")

from bench.send import receipts, run_sink  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_way(url: str, count: int, port: int, instance: str) -> None:
    """Send ``count`` receipts with the log at ``url`` (``off``: no log); print the rate."""
    from flask import Flask

    from emailkit import EmailKit
    from emailkit.extension import kit

    app = Flask("emailkit_bench", instance_path=instance, root_path=str(REPO))
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
        EMAILKIT_SEND_ATTEMPTS=1,
    )
    if url == "off":
        app.config["EMAILKIT_DELIVERY_LOG"] = False
    else:
        app.config["EMAILKIT_DATABASE"] = url
    EmailKit(app)
    with app.app_context():
        if kit.log is not None:
            kit.log.find(limit=1)  # connect and create the tables before the clock starts
        kit.send_many((e, "warmup@example.com") for e in receipts(20))
        start, cpu = time.perf_counter(), time.process_time()
        report = kit.send_many(
            (email, f"customer{index}@example.com") for index, email in enumerate(receipts(count))
        )
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert report.sent == count, report.failed[:3]
        if kit.log is not None:
            assert len(kit.log.find(limit=count + 100, with_events=False)) >= count
    print(json.dumps({"rate": count / elapsed, "cpu_ms": cpu / count * 1000}))


class Postgres:
    """A throwaway cluster, as tests/conftest.py's postgres_server fixture makes one."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="emailkit-bench-pg-"))
        self.user: dict[str, object] = {}
        if os.geteuid() == 0:
            self.user = {"user": "postgres", "group": "postgres"}
            shutil.chown(self.folder, "postgres", "postgres")
        self.port = free_port()
        data = str(self.folder / "data")
        self._run(PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth=trust")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} "
        options += f"-c unix_socket_directories={self.folder}"
        self._run(PG_BIN / "pg_ctl", "-D", data, "-l", str(self.folder / "log"), "-o", options,
                  "-w", "start")  # fmt: skip
        self.data = data

    def _run(self, *command: object) -> None:
        subprocess.run(
            [str(c) for c in command], check=True, capture_output=True, cwd=self.folder,
            **self.user,  # type: ignore[arg-type]
        )  # fmt: skip

    def new_database(self, name: str) -> str:
        import sqlalchemy as sa

        engine = sa.create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres",
            isolation_level="AUTOCOMMIT",
        )
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink(args.port)
        return
    if args.run:
        run_way(args.run, args.count, args.port, args.instance)
        return

    port = free_port()
    scratch = Path(tempfile.mkdtemp(prefix="emailkit-bench-log-"))
    sink = subprocess.Popen(
        [sys.executable, __file__, "--sink", "--port", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    postgres = Postgres() if (PG_BIN / "initdb").exists() else None
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}  # this process's CPU per message (not the database server's)
    paired: dict[str, list[float]] = {}  # each round's rate with the log / without it
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        for round_ in range(args.rounds):
            ways = {"off": "off", "sqlite": f"sqlite:///{scratch / f'log{round_}.sqlite3'}"}
            if postgres is not None:
                ways["postgresql"] = postgres.new_database(f"bench_{round_}")
            for name, url in ways.items():
                done = subprocess.run(
                    [sys.executable, __file__, "--run", url, "--count", str(args.count),
                     "--port", str(port), "--instance", str(scratch / "instance")],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                result = json.loads(done.stdout.strip().splitlines()[-1])
                best[name] = max(best.get(name, 0.0), result["rate"])
                cpu[name] = min(cpu.get(name, float("inf")), result["cpu_ms"])
                if name == "off":
                    off_rate = result["rate"]
                else:
                    paired.setdefault(name, []).append(result["rate"] / off_rate)
    finally:
        if sink.stdin:
            sink.stdin.close()
        sink.wait(timeout=30)
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"send_many, {args.count:,} receipts of ~20 KB to a local sink, best of {args.rounds}")
    for name, rate in best.items():
        print(f"  log {name:10} {rate:8,.0f} msg/s  {cpu[name]:6.2f} ms CPU/msg")
    for name, ratios in paired.items():
        median = statistics.median(ratios)
        print(
            f"{name} vs off: {1 - median:+.1%} slower (median of {len(ratios)} paired rounds, "
            f"from {1 - max(ratios):+.1%} to {1 - min(ratios):+.1%}; target <= 10 %); best "
            f"rates {best[name] / best['off']:.3f}x, {cpu[name] / cpu['off']:.3f}x CPU per message"
        )


if __name__ == "__main__":
    main()
