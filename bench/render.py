"""How fast a whole message is produced, against the ways people render and inline per email.

    python bench/render.py [--seconds 1]

Scenarios, each with fresh values on every render (new names, amounts, dates and
notifications from a pool far larger than any cache; emailkit's and Babel's value caches
cleared before each way), plus the old fixed sample for comparison:

- receipt (fresh): the shipped receipt with 20 line items, Babel filters, a body.txt;
- digest (fresh): the shipped digest, which has no body.txt (text generated from the HTML);
- digest + body.txt (fresh): the same digest with a hand-written body.txt, the bar for the
  generated text;
- receipt (one sample): the shipped twenty-items sample rendered over and over.

Ways, each giving subject, HTML and text:

- bare jinja + babel: the templates as written in a plain Jinja environment, Babel's
  format_* called as usual, no CSS inlining (the floor); the digest's text converted with
  inscriptis like the other per-render ways (there is no body.txt to render);
- jinja + premailer / jinja + css_inline: the same, then CSS inlined per render;
- emailkit render: Email.render() (CSS inlined at compile time, compiled formats, text
  template), text included;
- emailkit message: render plus the message bytes (Message.as_bytes()), the whole cost.

All ways are timed in the same run, round-robin (5 rounds, best batch of each), in CPU time
of this process (time.process_time): on a shared machine, wall time mostly measures the
other processes. Compare ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import logging
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import css_inline  # noqa: E402
import premailer  # noqa: E402
from babel import dates as babel_dates  # noqa: E402
from babel import numbers as babel_numbers  # noqa: E402
from jinja2 import Environment, StrictUndefined, pass_context, select_autoescape  # noqa: E402

from emailkit.templating.i18n import locales  # noqa: E402
from emailkit.templating.inline import PREMAILER_OPTIONS, inject_css  # noqa: E402
from emailkit.templating.loader import EmailLoader  # noqa: E402
from emailkit.templating.text.html2text import html_to_text  # noqa: E402
from emails.digest import Digest, Notification  # noqa: E402
from emails.receipt import LineItem, Receipt  # noqa: E402

POOL = 4000
NAMES = ["Ada", "Grace", "Łucja", "Émile", "山田 花子", "Alan", "Hedy", "Katherine", "Barbara"]
WORDS = ["notes", "compiler", "report", "draft", "« J'accuse…! »", "budget", "plan", "bug"]
DIGEST_TEXT = """Hi {{ user_name }}, here is what happened {{ period }}

{% for n in notifications %}
{{ n.actor }} {{ n.action }} {{ n.target }} ({{ n.url }})
{{ n.when }}

{% else %}
You are all caught up: nothing new {{ period }}.
{% endfor %}
You get this digest because of your notification settings ({{ settings_url }}).
Unsubscribe: {{ unsubscribe_url }}
"""


def receipts(rng: random.Random, cls: type[Receipt] = Receipt) -> list[Receipt]:
    out = []
    for index in range(POOL):
        items = [
            LineItem(
                f"{rng.choice(WORDS).title()} {index}-{n}",
                rng.randint(1, 5),
                Decimal(rng.randint(99, 250_000)) / 100,
                rng.choice([None, "Blue", "Large"]),
            )
            for n in range(20)
        ]
        out.append(
            cls(
                customer_name=f"{rng.choice(NAMES)} {index}",
                order_number=f"A-{100000 + index}",
                ordered_on=dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 3000)),
                items=items,
                shipping=Decimal(rng.randint(0, 2000)) / 100,
                tax_rate=Decimal(rng.choice([0, 5, 8, 20])),
                discount_code=rng.choice([None, "SPRING10"]),
                discount_percent=Decimal(rng.choice([0, 10, 15])),
                currency=rng.choice(["EUR", "USD", "GBP", "JPY"]),
            )
        )
    return out


def digests(rng: random.Random, cls: type[Digest]) -> list[Digest]:
    out = []
    for index in range(POOL):
        notifications = [
            Notification(
                f"{rng.choice(NAMES)} {rng.randint(1, 999)}",
                rng.choice(["commented on", "shared", "mentioned you in"]),
                f"{rng.choice(WORDS)} #{rng.randint(1, 99999)}",
                f"https://acme.example.com/n/{index}-{n}",
                rng.choice(["Monday", "Tuesday", "yesterday", "lundi"]),
            )
            for n in range(rng.randint(0, 8))
        ]
        out.append(
            cls(
                user_name=f"{rng.choice(NAMES)} {index}",
                period="this week",
                notifications=notifications,
            )
        )
    return out


def bare_environment() -> Environment:
    """Jinja as usually set up, with Babel's format_* functions as filters."""
    env = Environment(
        loader=EmailLoader(REPO / "emails"),
        autoescape=select_autoescape(("html",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]

    def locale_of(context: Any) -> str:
        return context.get("locale") or "en"

    env.filters.update(
        currency=pass_context(
            lambda c, v, code, format=None: babel_numbers.format_currency(
                v, code, format=format, locale=locale_of(c)
            )
        ),
        date=pass_context(
            lambda c, v, format="medium": babel_dates.format_date(v, format, locale=locale_of(c))
        ),
    )
    return env


class Way:
    """One way of producing an email, timed in batches of about ``batch`` seconds."""

    def __init__(self, render: Callable[[], object], batch: float) -> None:
        self.render = render
        render()
        count, elapsed = 1, 0.0
        while elapsed < 0.02:
            start = time.process_time()
            for _ in range(count):
                render()
            elapsed = time.process_time() - start
            count *= 2
        self.count = max(1, int(batch / (elapsed / (count // 2))))
        self.best = 0.0

    def run(self) -> None:
        clear_value_caches()
        render, count = self.render, self.count
        start = time.process_time()
        for _ in range(count):
            render()
        self.best = max(self.best, count / (time.process_time() - start))


def measure(ways: list[Way], rounds: int) -> None:
    """Round-robin over every way, keeping each one's best batch: load that drifts during
    the run then weighs on all ways alike."""
    for _ in range(rounds):
        for way in ways:
            way.run()


def clear_value_caches() -> None:
    locales._format_datetime.cache_clear()
    locales._format_time.cache_clear()


def scenario(
    emails: Iterator[Any], folder: str, text_template: str | None, batch: float
) -> dict[str, Way]:
    env = bare_environment()
    subject = env.get_template(f"{folder}/subject.txt")
    html_template = env.get_template(f"{folder}/body.html")
    text = env.from_string(text_template) if text_template else None
    css = (REPO / "emails" / folder / "style.css").read_text()

    def bare(email: Any) -> tuple[str, str, str]:
        context = email.template_context()
        html = html_template.render(context)
        body = text.render(context) if text else ""
        return subject.render(context), html, body

    def finish_text(html: str, body: str) -> str:
        return body if text else html_to_text(html)

    def with_premailer(email: Any) -> tuple[str, str, str]:
        title_, html, body = bare(email)
        inlined = premailer.Premailer(**PREMAILER_OPTIONS).transform(inject_css(html, css))
        return title_, inlined, finish_text(html, body)

    def with_css_inline(email: Any) -> tuple[str, str, str]:
        title_, html, body = bare(email)
        return title_, css_inline.inline(inject_css(html, css)), finish_text(html, body)

    def emailkit_render(email: Any) -> tuple[str, str | None, str]:
        rendered = email.render()
        return rendered.subject, rendered.html, rendered.text

    def emailkit_message(email: Any) -> bytes:
        rendered = email.render()
        return rendered.message("someone@example.com", sender="shop@example.com").as_bytes()

    def message_bytes_only() -> Callable[[], bytes]:
        rendered = [next(emails).render() for _ in range(200)]
        for item in rendered:
            item.text  # noqa: B018 - the text part is not what this measures
        cycle = itertools.cycle(rendered)
        return lambda: (
            next(cycle).message("someone@example.com", sender="shop@example.com").as_bytes()
        )

    ways: dict[str, Callable[[Any], object]] = {
        "bare jinja + babel (floor)": bare,
        "jinja + premailer": with_premailer,
        "jinja + css_inline": with_css_inline,
        "emailkit render": emailkit_render,
        "emailkit message (+bytes)": emailkit_message,
    }
    timed = {name: Way(lambda way=way: way(next(emails)), batch) for name, way in ways.items()}
    timed["message bytes alone"] = Way(message_bytes_only(), batch)
    return timed


def report(title: str, timed: dict[str, Way]) -> dict[str, float]:
    rates = {name: way.best for name, way in timed.items()}
    print(f"\n{title}")
    for name, rate in rates.items():
        print(f"  {name:30} {rate:10,.0f} emails/s  {1e6 / rate:8.0f} us each")
    ours = rates["emailkit message (+bytes)"]
    floor = rates["bare jinja + babel (floor)"]
    print(f"  emailkit message vs bare jinja + babel:   {ours / floor:6.2f}x")
    print(f"  emailkit render  vs bare jinja + babel:   {rates['emailkit render'] / floor:6.2f}x")
    print(f"  emailkit message vs jinja + premailer:    {ours / rates['jinja + premailer']:6.1f}x")
    print(f"  emailkit message vs jinja + css_inline:   {ours / rates['jinja + css_inline']:6.1f}x")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="time per way, in 5 rounds (default 1)"
    )
    args = parser.parse_args()
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
    rng = random.Random(13)

    with tempfile.TemporaryDirectory() as scratch:
        # The digest with a hand-written body.txt, in a copy of the emails root.
        copy = Path(scratch) / "emails"
        shutil.copytree(REPO / "emails", copy, ignore=shutil.ignore_patterns("__pycache__"))
        (copy / "digest" / "body.txt").write_text(DIGEST_TEXT, encoding="utf-8")

        class DigestWithText(Digest):
            template = str(copy / "digest")

        # The receipt without its body.txt: the text part is generated from the HTML.
        shutil.copytree(copy / "receipt", copy / "receipt_no_text")
        (copy / "receipt_no_text" / "body.txt").unlink()

        class ReceiptWithoutText(Receipt):
            template = str(copy / "receipt_no_text")

        no_text = ReceiptWithoutText.templates().compiled("receipt_no_text")
        print(
            "receipt without body.txt: "
            f"{'generated' if no_text.generated_text else no_text.text_reason}"
        )

        compiled = Digest.templates().compiled("digest")
        print(f"digest text: {'generated' if compiled.generated_text else compiled.text_reason}")
        print(f"One run, ways interleaved; {POOL} distinct emails per fresh-values pool.")

        receipt_text = (REPO / "emails" / "receipt" / "body.txt").read_text()
        batch = args.seconds / 5
        scenarios = {
            "receipt, 20 line items, fresh values": scenario(
                itertools.cycle(receipts(rng)), "receipt", receipt_text, batch
            ),
            "digest (no body.txt: generated text), fresh values": scenario(
                itertools.cycle(digests(rng, Digest)), "digest", None, batch
            ),
            "digest + hand-written body.txt, fresh values": scenario(
                itertools.cycle(digests(rng, DigestWithText)), "digest", DIGEST_TEXT, batch
            ),
            "receipt without body.txt (text generated), fresh values": scenario(
                itertools.cycle(receipts(rng, ReceiptWithoutText)), "receipt", None, batch
            ),
            "receipt, the twenty-items sample over and over (caches flatter this one)": scenario(
                itertools.repeat(Receipt.previews()["twenty-items"]), "receipt", receipt_text, batch
            ),
        }
        measure([way for ways in scenarios.values() for way in ways.values()], rounds=5)
        receipt, digest, with_text, without_text, _ = (
            report(title, ways) for title, ways in scenarios.items()
        )

    key = "emailkit message (+bytes)"
    print("\ntargets")
    print(
        f"  generated-text digest vs digest with body.txt (message): "
        f"{with_text[key] / digest[key]:5.2f}x the cost (target <= 1.3x)"
    )
    print(
        f"  receipt without body.txt vs with one (message):         "
        f"{receipt[key] / without_text[key]:5.2f}x the cost (target <= 1.3x)"
    )
    print(
        f"  fresh receipt message vs bare jinja + babel:           "
        f"{receipt[key] / receipt['bare jinja + babel (floor)']:5.2f}x the rate (target >= 2.5x)"
    )
    per_message = 1e6 / receipt[key] - 1e6 / receipt["emailkit render"]
    print(f"  receipt message bytes beyond the render:              {per_message:5.0f} us")


if __name__ == "__main__":
    main()
