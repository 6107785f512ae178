"""How fast each corpus email renders, compiled once, against inlining every rendering.

For every email in tests/corpus (public templates, see tests/corpus/SOURCE.md) prints whether
it compiles once (or why it falls back) and HTML renders per second for:

- emailkit: the compiled template (markup from values inlined alone, see
  emailkit.templating.fragments);
- render + premailer: the template as written, then premailer with emailkit's options
  (no network), the result emailkit must equal;
- render + css_inline: the template as written, then css_inline (remote stylesheets off);
- bare Jinja: the template as written, no inlining (the floor; MJML compiled by MRML).

The emailkit way is the HTML part of ``Email.render()``: the compiled template, or, where a
value's markup cannot be inlined alone or the template never compiles, the per-render way.

Every rendering gets fresh values (each string field of the sample carries a counter), so no
cache sees the same input twice in a row. The ways run in turn in short batches and each
figure is the median batch, so a busy shared machine slows them alike.

    python bench/corpus.py [--seconds 0.6] [NAME ...]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# bench/mjml.py sits beside this file: keep the folder off the path so `import mjml` finds MRML's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))

import css_inline  # noqa: E402
from markupsafe import Markup  # noqa: E402

from emailkit import discover  # noqa: E402
from emailkit.model.rendering import render_html  # noqa: E402
from emailkit.templating.inline import inject_css, inline_css  # noqa: E402
from emailkit.templating.mjml import compiler as mjml  # noqa: E402

CORPUS = REPO / "tests" / "corpus"


def fresh_contexts(context: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``count`` copies of ``context`` whose string values each end with their copy's number."""
    contexts = []
    for number in range(count):
        copy = dict(context)
        for key, value in context.items():
            if isinstance(value, Markup):
                copy[key] = value + Markup(f" <b>{number}</b>")
            elif isinstance(value, str) and key not in ("lang", "dir", "locale"):
                copy[key] = f"{value} {number}"
        contexts.append(copy)
    return contexts


def rates(ways: dict[str, Callable[[Any], object]], contexts: list, seconds: float) -> dict:
    """Renders per second of each way: the median of short batches run in turn, so the noise
    of a shared machine hits every way alike."""
    sizes = {}
    for way, render in ways.items():  # a batch of about 20 ms each
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < 0.02:
            render(contexts[count % len(contexts)])
            count += 1
        sizes[way] = max(1, int(count * 0.02 / elapsed))
    samples: dict[str, list[float]] = {way: [] for way in ways}
    rounds = max(5, int(seconds / 0.02 / len(ways)))
    done = 0
    for _ in range(rounds):
        for way, render in ways.items():
            start = time.perf_counter()
            for _ in range(sizes[way]):
                render(contexts[done % len(contexts)])
                done += 1
            samples[way].append(sizes[way] / (time.perf_counter() - start))
    return {way: statistics.median(values) for way, values in samples.items()}


def ways_for(compiled: Any, inliner: css_inline.CSSInliner) -> dict[str, Callable[[Any], object]]:
    source, css = compiled.html_source, compiled.css
    name = str(source.name)

    def html_of(context: dict[str, Any]) -> str:
        html = source.render(context)
        return mjml.to_html(html, name) if compiled.mjml else html

    def naive(context: dict[str, Any]) -> str:
        return inline_css(inject_css(html_of(context), css))

    def with_css_inline(context: dict[str, Any]) -> str:
        return inliner.inline(inject_css(html_of(context), css))

    return {
        # what Email.render() does for the HTML part, fallbacks included
        "emailkit": lambda context: render_html(compiled, context),
        "premailer": naive,
        "css_inline": with_css_inline,
        "jinja": html_of,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="corpus emails (default: all)")
    parser.add_argument("--seconds", type=float, default=0.6, help="time per way and email")
    args = parser.parse_args()
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
    logging.getLogger("emailkit").setLevel(logging.ERROR)
    inliner = css_inline.CSSInliner(load_remote_stylesheets=False)

    header = f"{'email':24} {'path':9} {'emailkit':>9} {'premailer':>9} {'css_inl':>8} {'jinja':>8}"
    print(header + f" {'x prem':>7} {'x css_i':>7} {'jinja/ek':>8}")
    compiled_count, rows = 0, []
    for name, cls in discover(CORPUS).items():
        if args.names and name not in args.names:
            continue
        compiled = cls.templates().compiled(name)
        assert compiled.html is not None and compiled.html_source is not None
        contexts = fresh_contexts(cls.previews()["default"].template_context(), 200)

        ways = ways_for(compiled, inliner)
        rate = rates(ways, contexts, args.seconds * len(ways))
        path = "compiled" if compiled.inline_reason is None else "fallback"
        compiled_count += path == "compiled"
        ratios = (
            rate["emailkit"] / rate["premailer"],
            rate["emailkit"] / rate["css_inline"],
            rate["jinja"] / rate["emailkit"],
        )
        rows.append((name, ratios))
        print(
            f"{name:24} {path:9} {rate['emailkit']:9,.0f} {rate['premailer']:9,.0f} "
            f"{rate['css_inline']:8,.0f} {rate['jinja']:8,.0f} "
            f"{ratios[0]:6.1f}x {ratios[1]:6.1f}x {ratios[2]:7.2f}x"
        )
        if compiled.inline_reason:
            print(f"    falls back: {compiled.inline_reason}")
    print(
        f"{compiled_count} of {len(rows)} compile once. emails/s of the HTML part; 'x prem' and "
        "'x css_i' are emailkit's speed-up, 'jinja/ek' what a compiled render costs over a "
        "bare Jinja render (1.00x = no cost); for MJML, 'jinja' includes mjml2html."
    )
    if rows:
        name, ratios = min(rows, key=lambda row: row[1][1])
        print(f"slowest against render + css_inline: {name} at {ratios[1]:.2f}x (target >= 1x)")


if __name__ == "__main__":
    main()
