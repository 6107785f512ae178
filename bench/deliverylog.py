"""What the delivery log costs ``send_many``: throughput into a local SMTP sink (aiosmtpd on
127.0.0.1, a process of its own) with the log off, on SQLite (the default), and on PostgreSQL.

    python bench/deliverylog.py [--chunk 400] [--rounds 16]

One process holds an app for each way, each with its own pool of connections to the sink,
and the ways take turns sending a chunk of receipts of about 20 KB each (``--chunk``),
``--rounds`` times, in orders where each way follows each other one equally often. Two of
the apps have the log off: "off again" against "off" is the control, what the machine's
noise alone makes of two identical ways. The cost the target is judged on is each round's
rate with the log against the mean of the same round's two rates without it, the median of
those paired ratios: on this shared 2-core machine the rate moves by 10-30 % from one run to
the next, so ways measured far apart in time cannot be compared, while chunks of a second
or so, taken in turn, see about the same machine. Target: logging costs at most 10 %.

It also prints CPU per message: the sending process's (its writer thread included), the
sink's, and the database server's (PostgreSQL's processes; SQLite runs in the sending
process). With both cores busy, that sum is what throughput is made of.

PostgreSQL is Debian's 15, started by this script as in the tests (``initdb``/``pg_ctl`` as
the ``postgres`` user on a free loopback port), with its default durability (``fsync`` on).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_BIN = Path("/usr/lib/postgresql/15/bin")
TICK = os.sysconf("SC_CLK_TCK")

from bench.network import free_port  # noqa: E402
from bench.send import receipts, run_sink  # noqa: E402


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes so far (0 for one that has ended)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


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
        self.postmaster = int(Path(data, "postmaster.pid").read_text().split()[0])

    def _run(self, *command: object) -> None:
        subprocess.run(
            [str(c) for c in command], check=True, capture_output=True, cwd=self.folder,
            **self.user,  # type: ignore[arg-type]
        )  # fmt: skip

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, WAL writer, checkpointer...)."""
        pids = [self.postmaster]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[1]) == self.postmaster:
                    pids.append(int(entry.name))
        return pids

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


def make_app(name: str, url: str, port: int, instance: Path):
    """An app sending to the sink with the log at ``url`` (``off``: no log)."""
    from flask import Flask

    from emailkit import EmailKit

    app = Flask(f"emailkit_bench_{name}", instance_path=str(instance), root_path=str(REPO))
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
        EMAILKIT_SEND_ATTEMPTS=1,
        EMAILKIT_HANDLE_SIGNALS=False,
    )
    if url == "off":
        app.config["EMAILKIT_DELIVERY_LOG"] = False
    else:
        app.config["EMAILKIT_DATABASE"] = url
    EmailKit(app)
    return app


class Way:
    """One app and what its chunks measured."""

    def __init__(self, name: str, app, server_pids) -> None:
        self.name = name
        self.app = app
        self.server_pids = server_pids  # () -> the pids whose CPU counts as this way's server
        self.rates: list[float] = []
        self.cpu: dict[str, list[float]] = {"sender": [], "sink": [], "database": []}
        self.sent = 0

    def send(self, first: int, count: int, sink: int) -> None:
        from emailkit.extension import kit

        database = self.server_pids()
        with self.app.app_context():
            before = (time.process_time(), cpu_seconds([sink]), cpu_seconds(database))
            start = time.perf_counter()
            items = enumerate(receipts(count), start=first)
            report = kit.send_many((email, f"customer{n}@example.com") for n, email in items)
            elapsed = time.perf_counter() - start
            after = (time.process_time(), cpu_seconds([sink]), cpu_seconds(database))
        assert report.sent == count, report.failed[:3]
        self.sent += count
        self.rates.append(count / elapsed)
        for part, was, now in zip(self.cpu, before, after, strict=True):
            self.cpu[part].append((now - was) / count * 1000)

    def logged(self) -> int:
        from emailkit.extension import kit

        with self.app.app_context():
            log = kit.log
            return 0 if log is None else len(log.find(limit=self.sent + 1000, with_events=False))


def balanced_orders(n: int) -> list[list[int]]:
    """Orders of ``n`` ways in which each way follows each other way equally often (a
    Williams design), so that what one way leaves behind (the database's background work,
    a warm or cold cache) does not always land on the same next way."""
    first = [0]
    for step in range(1, n):
        first.append((step + 1) // 2 if step % 2 else n - step // 2)
    orders = [[(way + shift) % n for way in first] for shift in range(n)]
    return orders if n % 2 == 0 else orders + [order[::-1] for order in orders]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=400, help="messages per turn")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink(args.port)
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
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        urls = {"off": "off", "off again": "off", "sqlite": f"sqlite:///{scratch / 'log.sqlite3'}"}
        if postgres is not None:
            urls["postgresql"] = postgres.new_database("bench")
        ways = [
            Way(name, make_app(name, url, port, scratch / "instance"),
                postgres.pids if name == "postgresql" and postgres else list)
            for name, url in urls.items()
        ]  # fmt: skip
        for way in ways:  # connect, create the tables, fill the caches before the clock starts
            way.send(10**9, 50, sink.pid)
            way.rates.clear()
            for spent in way.cpu.values():
                spent.clear()
        orders = balanced_orders(len(ways))
        for round_ in range(args.rounds):
            for index in orders[round_ % len(orders)]:
                ways[index].send(round_ * args.chunk, args.chunk, sink.pid)
        for way in ways[2:]:
            assert way.logged() == way.sent, (way.name, way.logged(), way.sent)
    finally:
        if sink.stdin:
            sink.stdin.close()
        sink.wait(timeout=30)
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    report(ways, args)


def report(ways: list[Way], args: argparse.Namespace) -> None:
    print(
        f"send_many, {args.rounds} rounds of {args.chunk} receipts (~20 KB) per way into a "
        "local aiosmtpd sink; medians of the rounds"
    )
    columns = f"{'sender':>7}{'sink':>7}{'database':>9}{'sum':>7}"
    print(f"  {'log':14}{'msg/s':>8}   CPU ms/msg: {columns}")
    for way in ways:
        cpu = {part: statistics.median(spent) for part, spent in way.cpu.items()}
        print(
            f"  {way.name:14}{statistics.median(way.rates):8,.0f}   {'':12}{cpu['sender']:7.2f}"
            f"{cpu['sink']:7.2f}{cpu['database']:9.2f}{sum(cpu.values()):7.2f}"
        )
    off, again = ways[0], ways[1]
    rounds = range(len(off.rates))
    compare(again, "off again vs off", off.rates, [total(off, n) for n in rounds], "control")
    # Each round's baseline: the mean of its two chunks without the log.
    rates = [(off.rates[n] + again.rates[n]) / 2 for n in rounds]
    cpu = [(total(off, n) + total(again, n)) / 2 for n in rounds]
    for way in ways[2:]:
        compare(way, f"{way.name} vs both off", rates, cpu, "target <= 10 %")


def total(way: Way, round_: int) -> float:
    """The CPU per message of one of ``way``'s rounds: sender, sink and database."""
    return sum(spent[round_] for spent in way.cpu.values())


def compare(way: Way, name: str, rates: list[float], cpu: list[float], target: str) -> None:
    """Print ``way``'s cost against the baseline's ``rates`` and ``cpu``, round by round."""
    ratios = sorted(rate / base for rate, base in zip(way.rates, rates, strict=True))
    costs = [total(way, n) / base for n, base in enumerate(cpu)]
    quarter = len(ratios) // 4
    print(
        f"{name}: {1 - statistics.median(ratios):+.1%} slower ({target}; middle half of the "
        f"{len(ratios)} paired rounds {1 - ratios[-1 - quarter]:+.1%} to "
        f"{1 - ratios[quarter]:+.1%}), {statistics.median(costs):.3f}x the CPU per message"
    )


if __name__ == "__main__":
    main()
