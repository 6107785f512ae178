"""Sending throughput and memory, into a local SMTP sink (aiosmtpd on 127.0.0.1).

    python bench/send.py [--count 5000] [--memory-counts 1000,20000]

Each way runs in a fresh process, sending receipts of about 20 KB each:

- naive: render, build a plain ``flask_mail.Message`` and ``mail.send`` it, one SMTP
  connection per message;
- send_many: ``EmailKit.send_many`` over a generator, reusing one connection.

It prints messages/s and the ratio, then send_many's peak memory (max RSS) for each of
``--memory-counts`` messages, which should stay flat.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def receipts(count: int):
    """``count`` receipts of about 20 KB of HTML each, made one at a time."""
    from emails.receipt import LineItem, Receipt

    items = [
        LineItem(f"Item number {n}", n % 3 + 1, Decimal(n) + Decimal("0.99")) for n in range(30)
    ]
    for index in range(count):
        yield Receipt(
            customer_name=f"Customer {index}",
            order_number=f"A-{index:06d}",
            ordered_on=dt.date(2026, 3, 14),
            items=items,
            tax_rate=Decimal("20"),
        )


def run_sink(port: int) -> None:
    """An SMTP server that counts messages and keeps none; runs until stdin closes."""
    from aiosmtpd.controller import Controller

    class Counting:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Counting.received += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


def make_app(port: int):
    from flask import Flask

    from emailkit import EmailKit

    app = Flask("bench")
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
        EMAILKIT_SEND_ATTEMPTS=1,
    )
    EmailKit(app)
    return app


def run_way(way: str, count: int, port: int) -> None:
    """Send ``count`` messages one way; print rate, size and peak memory as JSON."""
    import flask_mail

    from emailkit.extension import kit

    app = make_app(port)
    size = len(next(receipts(1)).render().html.encode())
    with app.app_context():
        start = time.perf_counter()
        if way == "naive":
            mail = app.extensions["mail"]
            for index, email in enumerate(receipts(count)):
                rendered = email.render()
                mail.send(
                    flask_mail.Message(
                        rendered.subject,
                        [f"customer{index}@example.com"],
                        body=rendered.text,
                        html=rendered.html,
                    )
                )
        else:
            report = kit.send_many(
                (email, f"customer{index}@example.com")
                for index, email in enumerate(receipts(count))
            )
            assert report.sent == count, report.failed[:3]
        elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rate": count / elapsed, "peak_mb": peak_kib / 1024, "size": size}))


def measure(way: str, count: int, port: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--run", way, "--count", str(count), "--port", str(port)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--memory-counts", default="1000,20000")
    parser.add_argument("--run", choices=["naive", "many", "sink"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run == "sink":
        run_sink(args.port)
        return
    if args.run:
        run_way(args.run, args.count, args.port)
        return

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = subprocess.Popen(
        [sys.executable, __file__, "--run", "sink", "--port", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        naive = measure("naive", args.count, port)
        many = measure("many", args.count, port)
        print(f"{args.count:,} receipts of {naive['size'] / 1024:.1f} KB HTML to a local sink")
        print(f"  naive (mail.send, a connection each)  {naive['rate']:8,.0f} msg/s")
        print(f"  send_many (one reused connection)     {many['rate']:8,.0f} msg/s")
        print(f"send_many vs naive: {many['rate'] / naive['rate']:.2f}x")
        peaks = {
            n: measure("many", n, port)["peak_mb"] for n in map(int, args.memory_counts.split(","))
        }
        for count, peak in peaks.items():
            print(f"  send_many peak memory, {count:>6,} messages: {peak:7.1f} MB")
        print(f"peak memory growth: {max(peaks.values()) - min(peaks.values()):.1f} MB")
    finally:
        if sink.stdin:
            sink.stdin.close()
        sink.wait(timeout=30)


if __name__ == "__main__":
    main()
