"""What building the message bytes costs on top of rendering, per message.

    python bench/message.py [--count 1000] [--rounds 7]

Renders the shipped receipt (its default sample) with fresh values every iteration (order
number, customer, recipient address), so no cache of a previous message helps, and prints
microseconds per message for:

- render: ``Receipt(...).render()``;
- render + bytes: the same, then ``.message(to, sender=...).as_bytes()`` (addresses parsed
  and validated, headers encoded and folded, parts in quoted-printable);
- headers only: a message with the same subject and addresses and an empty body: the
  header part of the difference;
- headers alone: a message with the same subject and addresses and an empty body, i.e.
  the header work that render + bytes includes;

once with the receipt as shipped (an ASCII subject) and once in euros, whose subject holds
"€" and so is RFC 2047-encoded. The difference is the cost of the message bytes. Timings on
a shared machine are noisy: compare figures from one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emailkit import Rendered  # noqa: E402
from emails.receipt import Receipt  # noqa: E402

SENDER = "Acme Shop <orders@acme.example.com>"


def best_us(ways: dict[str, Callable[[int], object]], count: int, rounds: int) -> dict[str, float]:
    """Each way's best round of ``count`` calls, in microseconds per call; the ways take
    turns round by round, so a busy moment on a shared machine hits them alike."""
    best = dict.fromkeys(ways, float("inf"))
    fresh = 0
    for _ in range(rounds):
        for name, work in ways.items():
            start = time.perf_counter()
            for _ in range(count):
                fresh += 1
                work(fresh)
            best[name] = min(best[name], (time.perf_counter() - start) / count * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per way (best kept)")
    args = parser.parse_args()
    base = Receipt.previews()["default"].field_values()

    for label, currency in (("as shipped", "USD"), ("in euros", "EUR")):

        def email(index: int, currency: str = currency) -> Receipt:
            values = {**base, "order_number": f"A-{index:06d}", "currency": currency}
            return Receipt(**{**values, "customer_name": f"Customer {index}"})

        rendered = email(1).render()
        bare = Rendered(rendered.email, rendered.subject, None, "")

        def render(index: int, email: Callable[[int], Receipt] = email) -> object:
            return email(index).render()

        def render_bytes(index: int, email: Callable[[int], Receipt] = email) -> bytes:
            message = email(index).render().message(f"c{index}@example.com", sender=SENDER)
            return message.as_bytes()

        def headers_only(index: int, bare: Rendered = bare) -> bytes:
            return bare.message(f"c{index}@example.com", sender=SENDER).as_bytes()

        size = len(render_bytes(0))
        us = best_us(
            {"render": render, "render + bytes": render_bytes, "headers only": headers_only},
            args.count,
            args.rounds,
        )
        print(f"receipt {label}: subject {rendered.subject!r}, message {size:,} bytes")
        print(f"  render          {us['render']:8.1f} us")
        extra = us["render + bytes"] - us["render"]
        print(f"  render + bytes  {us['render + bytes']:8.1f} us  (+{extra:.1f} us for the bytes)")
        print(f"  headers only    {us['headers only']:8.1f} us  (that message, empty body)")


if __name__ == "__main__":
    main()
