"""How fast the compiled render is, against the ways people inline CSS per email.

Renders the shipped receipt email with 20 line items (subject, text and HTML) and prints
emails/s for each way and its ratio to the others:

    python bench/render.py [--seconds 2]

- jinja only: the templates as written, no CSS inlining (the floor);
- jinja + premailer: premailer.transform on every rendered HTML (the naive way);
- jinja + css_inline: css_inline.inline on every rendered HTML (the fastest per-render inliner);
- emailkit: Receipt(...).render(), CSS inlined once at compile time.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import css_inline  # noqa: E402
import premailer  # noqa: E402

from emails.receipt import Receipt  # noqa: E402


def emails_per_second(render: Callable[[], object], seconds: float) -> float:
    """Best of five rounds of about seconds/5 each."""
    render()
    count = 1
    while True:  # calibrate a batch of about 50 ms
        start = time.perf_counter()
        for _ in range(count):
            render()
        elapsed = time.perf_counter() - start
        if elapsed > 0.05:
            break
        count *= 2
    batches = max(1, int(seconds / 5 / elapsed))
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(batches * count):
            render()
        best = max(best, batches * count / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per way (default 2)")
    args = parser.parse_args()
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)

    email = Receipt.previews()["twenty-items"]
    assert len(email.items) == 20
    compiled = Receipt.templates().compiled(Receipt.email_name)
    assert compiled.inline_reason is None
    context = email.template_context()

    def jinja_only() -> tuple[str, str, str]:
        return (
            compiled.subject.render(context),
            compiled.text.render(context),
            compiled.html_source.render(context),
        )

    def with_premailer() -> str:
        html = jinja_only()[2]
        return premailer.transform(html)

    def with_css_inline() -> str:
        html = jinja_only()[2]
        return css_inline.inline(html)

    def with_emailkit() -> tuple[str, str, str | None]:
        rendered = email.render()
        return rendered.subject, rendered.text, rendered.html

    html = jinja_only()[2]
    ways = {
        "jinja only (floor)": jinja_only,
        "jinja + premailer (naive)": with_premailer,
        "jinja + css_inline": with_css_inline,
        "emailkit compiled render": with_emailkit,
        "premailer alone": lambda: premailer.transform(html),
        "css_inline alone": lambda: css_inline.inline(html),
    }
    rates = {name: emails_per_second(way, args.seconds) for name, way in ways.items()}
    print(
        f"receipt email, {len(email.items)} line items, {len(email.render().html):,} bytes HTML; "
        "subject, text and HTML rendered each time"
    )
    for name, rate in rates.items():
        print(f"  {name:28} {rate:10,.0f} emails/s  {1e6 / rate:8.0f} us each")
    ours = rates["emailkit compiled render"]
    floor = rates["jinja only (floor)"]
    print(f"emailkit vs render + premailer:    {ours / rates['jinja + premailer (naive)']:7.1f}x")
    print(f"emailkit vs render + css_inline:   {ours / rates['jinja + css_inline']:7.1f}x")
    print(f"emailkit cost vs jinja only:       {floor / ours:7.2f}x")
    # Render-then-inline can never beat the render alone: this bounds the first ratio.
    print(f"ceiling of the first ratio here:   {floor / rates['jinja + premailer (naive)']:7.1f}x")


if __name__ == "__main__":
    main()
