"""How fast an MJML email renders compiled once, against compiling MJML on every email.

Renders the shipped newsletter (body.mjml: a lead story and six stories in two-column rows)
with fresh values on every email (a pool of distinct instances, cycled) and prints emails/s
for each way and its ratio to the naive way and to the floor:

    python bench/mjml.py [--seconds 2] [--pool 200]

Then the same for a digest whose story columns come from a loop (three 33% columns per row,
rows from an outer loop, a button in a branch, a web font used only in the loop): written the
natural way, it is compiled once too (MRML saw every loop body and branch, so <head> holds
the styles of all of them).

- naive (premailer): Jinja renders subject, text and body.mjml, MRML's mjml2html compiles the
  MJML, premailer inlines the CSS, on every email (what a per-render MJML binding does);
- naive (css_inline): the same with css_inline, the fastest per-render inliner;
- jinja + mjml2html: no CSS inlining at all (not equivalent output; for scale);
- emailkit: Newsletter(...).render(), MJML compiled and CSS inlined once at compile time;
- floor + context: the same, building the context from the instance first
  (``email.template_context()``: its fields, ``email``, ``lang`` and ``dir``);
- floor: bare Jinja renders of the compiled templates (subject, text, HTML) with a ready
  context, what emailkit's render cannot beat.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# This file is named mjml.py: keep its folder off the path so `import mjml` finds MRML's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))

import css_inline  # noqa: E402
from mjml import mjml2html  # noqa: E402

from emailkit import Email  # noqa: E402
from emailkit.templating.inline import inject_css, inline_css  # noqa: E402
from emails.newsletter import Newsletter, Story  # noqa: E402

NO_FETCH = css_inline.CSSInliner(load_remote_stylesheets=False)  # nothing is ever fetched
LOOPED_DIGEST = """<mjml>
  <mj-head>
    <mj-title>{{ issue }}</mj-title>
    <mj-font name="Lora" href="https://fonts.example.com/css?family=Lora" />
    <mj-attributes>
      <mj-all font-family="Helvetica, Arial, sans-serif" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f4f4f7">
    <mj-section>
      <mj-column>
        <mj-text font-size="20px" font-weight="bold">Hi {{ user_name }}: {{ issue }}</mj-text>
      </mj-column>
    </mj-section>
    {% for row in rows %}
    <mj-section background-color="#ffffff">
      {% for story in row %}
      <mj-column width="33%">
        <mj-image src="{{ story.image_url }}" alt="" href="{{ story.url }}" />
        <mj-text font-family="Lora, Georgia, serif" font-weight="bold">{{ story.title }}</mj-text>
        <mj-text>{{ story.summary }}</mj-text>
        {% if story.kicker %}
        <mj-button href="{{ story.url }}" background-color="#4f46e5">{{ story.kicker }}</mj-button>
        {% endif %}
      </mj-column>
      {% endfor %}
    </mj-section>
    {% endfor %}
  </mj-body>
</mjml>
"""


def calibrate(render: Callable[[], object]) -> int:
    """How many renders make a batch of about 50 ms."""
    render()
    count = 1
    while True:
        start = time.perf_counter()
        for _ in range(count):
            render()
        if time.perf_counter() - start > 0.05:
            return count
        count *= 2


def rates(ways: dict[str, Callable[[], object]], seconds: float) -> dict[str, float]:
    """Emails/s of each way: the best of five rounds, the ways taking turns within each round
    so that load from other processes on this shared machine hits them alike."""
    batches = {name: calibrate(render) for name, render in ways.items()}
    best = dict.fromkeys(ways, 0.0)
    for _ in range(5):
        for name, render in ways.items():
            count = max(1, int(batches[name] * seconds / 5 / 0.05))
            start = time.perf_counter()
            for _ in range(count):
                render()
            best[name] = max(best[name], count / (time.perf_counter() - start))
    return best


def pool(size: int) -> list[Newsletter]:
    """Distinct newsletters: every value differs from one email to the next."""
    emails = []
    for n in range(size):
        stories = [
            Story(
                f"Story {n}-{i}: notes on engines",
                f"Summary {n}-{i}, a sentence or two about what happened.",
                f"https://acme.example.com/s/{n}/{i}",
                f"https://img.example.com/{n}/{i}.png",
                f"Kicker {i}",
            )
            for i in range(6)
        ]
        lead = Story(
            f"Lead story {n}",
            "The paper that defined what a computer can do.",
            f"https://acme.example.com/s/{n}",
            f"https://img.example.com/{n}.png",
            "This week",
        )
        emails.append(
            Newsletter(user_name=f"Reader {n}", issue=f"Issue {n}", lead=lead, stories=stories)
        )
    return emails


def cycling(emails: list[Newsletter], render: Callable[[Newsletter], object]) -> Callable[[], None]:
    state = {"at": 0}

    def step() -> None:
        state["at"] = (state["at"] + 1) % len(emails)
        render(emails[state["at"]])

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per way (default 2)")
    parser.add_argument("--pool", type=int, default=200, help="distinct emails (default 200)")
    args = parser.parse_args()
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)

    emails = pool(args.pool)
    compiled = Newsletter.templates().compiled("newsletter")
    if compiled.inline_reason is not None or compiled.html is None:
        raise SystemExit(f"the newsletter is not on the compiled path: {compiled.inline_reason}")
    source, html, text, subject = (
        compiled.html_source,
        compiled.html,
        compiled.text,
        compiled.subject,
    )
    assert source is not None and text is not None

    def naive(inline: Callable[[str], str]) -> Callable[[Newsletter], object]:
        def render(email: Newsletter) -> object:
            context = email.template_context()
            mjml = source.render(context)
            return (
                subject.render(context),
                text.render(context),
                inline(inject_css(mjml2html(mjml), compiled.css)),
            )

        return render

    contexts = {id(email): email.template_context() for email in emails}

    def floor(email: Newsletter) -> object:
        context = contexts[id(email)]
        return subject.render(context), text.render(context), html.render(context)

    def floor_with_context(email: Newsletter) -> object:
        context = email.template_context()
        return subject.render(context), text.render(context), html.render(context)

    ways: dict[str, Callable[[Newsletter], object]] = {
        "naive (premailer)": naive(inline_css),
        "naive (css_inline)": naive(NO_FETCH.inline),
        "jinja + mjml2html": naive(lambda page: page),
        "emailkit": lambda email: email.render(),
        "floor + context": floor_with_context,
        "floor": floor,
    }
    measured = rates({name: cycling(emails, render) for name, render in ways.items()}, args.seconds)
    report(f"newsletter (MJML), {args.pool} distinct emails", measured, args.seconds)
    with tempfile.TemporaryDirectory() as scratch:
        digest = looped_digest(Path(scratch))
        compiled = digest.templates().compiled("looped_digest")
        if compiled.inline_reason is not None or compiled.html is None:
            raise SystemExit(f"the looped digest is not compiled once: {compiled.inline_reason}")
        digests = [
            digest(user_name=e.user_name, issue=e.issue, rows=[e.stories[:3], e.stories[3:]])
            for e in emails
        ]
        ways = looped_ways(compiled)
        measured = rates(
            {name: cycling(digests, render) for name, render in ways.items()}, args.seconds
        )
        report(f"digest with looped columns (MJML), {args.pool} distinct", measured, args.seconds)


def looped_digest(scratch: Path) -> type[Email]:
    """The looped-column digest as an email folder in ``scratch``."""
    folder = scratch / "looped_digest"
    folder.mkdir()
    (folder / "body.mjml").write_text(LOOPED_DIGEST, encoding="utf-8")
    (folder / "subject.txt").write_text("{{ issue }}", encoding="utf-8")
    (folder / "body.txt").write_text("Hi {{ user_name }}: {{ issue }}", encoding="utf-8")
    annotations = {"user_name": "str", "issue": "str", "rows": "list"}
    return type("LoopedDigest", (Email,), {"template": str(folder), "__annotations__": annotations})


def looped_ways(compiled: object) -> dict[str, Callable[[Email], object]]:
    source, html, text, subject = (
        compiled.html_source,  # type: ignore[attr-defined]
        compiled.html,  # type: ignore[attr-defined]
        compiled.text,  # type: ignore[attr-defined]
        compiled.subject,  # type: ignore[attr-defined]
    )
    css = compiled.css  # type: ignore[attr-defined]

    def naive(inline: Callable[[str], str]) -> Callable[[Email], object]:
        def render(email: Email) -> object:
            context = email.template_context()
            page = mjml2html(source.render(context))
            return subject.render(context), text.render(context), inline(inject_css(page, css))

        return render

    def floor(email: Email) -> object:
        context = email.template_context()
        return subject.render(context), text.render(context), html.render(context)

    return {
        "naive (premailer)": naive(inline_css),
        "naive (css_inline)": naive(NO_FETCH.inline),
        "jinja + mjml2html": naive(lambda page: page),
        "emailkit": lambda email: email.render(),
        "floor + context": floor,
    }


def report(title: str, measured: dict[str, float], seconds: float) -> None:
    naive_rate = measured["naive (premailer)"]
    floor_rate = measured.get("floor", measured["floor + context"])
    print(f"{title}, best of 5 interleaved rounds, {seconds}s a way")
    print(f"{'way':<20} {'emails/s':>10} {'x naive':>9} {'floor/way':>10}")
    for name, rate in measured.items():
        print(f"{name:<20} {rate:>10,.0f} {rate / naive_rate:>9.1f} {floor_rate / rate:>10.2f}")
    print(
        f"emailkit: {measured['emailkit'] / naive_rate:.0f}x the naive way (premailer), "
        f"{measured['emailkit'] / measured['naive (css_inline)']:.1f}x with css_inline, "
        f"{floor_rate / measured['emailkit']:.2f}x the floor's time per email "
        "(targets: >= 20x, <= 1.2x)\n"
    )


if __name__ == "__main__":
    main()
