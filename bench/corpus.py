"""How fast each corpus email renders, compiled once, against inlining every rendering.

For every email in tests/corpus (public templates, see tests/corpus/SOURCE.md) prints whether
it compiles once (or why it falls back) and HTML renders per second for:

- emailkit: the compiled template (markup from values inlined alone, see emailkit.fragments);
- render + premailer: the template as written, then premailer with emailkit's options
  (no network), the result emailkit must equal;
- render + css_inline: the template as written, then css_inline (remote stylesheets off);
- bare Jinja: the template as written, no inlining (the floor).

Every rendering gets fresh values (each string field of the sample carries a counter), so no
cache sees the same input twice in a row.

    python bench/corpus.py [--seconds 0.6] [NAME ...]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import css_inline  # noqa: E402
from markupsafe import Markup  # noqa: E402

from emailkit import discover  # noqa: E402
from emailkit.inline import inject_css, inline_css  # noqa: E402

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


def per_second(render: Callable[[dict[str, Any]], object], contexts: list, seconds: float) -> float:
    """Best of three rounds of about seconds/3 each, cycling through the contexts."""
    for context in contexts[:3]:
        render(context)
    best, total = 0.0, len(contexts)
    for _ in range(3):
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            for _ in range(10):
                render(contexts[done % total])
                done += 1
        best = max(best, done / elapsed)
    return best


def ways_for(compiled: Any, inliner: css_inline.CSSInliner) -> dict[str, Callable[[Any], object]]:
    source, css = compiled.html_source, compiled.css

    def naive(context: dict[str, Any]) -> str:
        return inline_css(inject_css(source.render(context), css))

    def with_css_inline(context: dict[str, Any]) -> str:
        return inliner.inline(inject_css(source.render(context), css))

    return {
        "emailkit": naive if compiled.inlines_per_render else compiled.html.render,
        "premailer": naive,
        "css_inline": with_css_inline,
        "jinja": source.render,
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
        rates = {way: per_second(render, contexts, args.seconds) for way, render in ways.items()}
        path = "compiled" if compiled.inline_reason is None else "fallback"
        compiled_count += path == "compiled"
        ratios = (
            rates["emailkit"] / rates["premailer"],
            rates["emailkit"] / rates["css_inline"],
            rates["jinja"] / rates["emailkit"],
        )
        rows.append((name, ratios))
        print(
            f"{name:24} {path:9} {rates['emailkit']:9,.0f} {rates['premailer']:9,.0f} "
            f"{rates['css_inline']:8,.0f} {rates['jinja']:8,.0f} "
            f"{ratios[0]:6.1f}x {ratios[1]:6.1f}x {ratios[2]:7.2f}x"
        )
        if compiled.inline_reason:
            print(f"    falls back: {compiled.inline_reason}")
    print(
        f"{compiled_count} of {len(rows)} compile once. emails/s of the HTML part; 'x prem' and "
        "'x css_i' are emailkit's speed-up, 'jinja/ek' what a compiled render costs over a "
        "bare Jinja render (1.00x = no cost)."
    )


if __name__ == "__main__":
    main()
