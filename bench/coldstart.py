"""Time from a new process to its first rendered email, compile cache cold and warm.

    python bench/coldstart.py [--runs 5]

Each line is the best of ``--runs`` new processes (wall time, from spawning the
interpreter to its exit), the lines taking turns:

- ``python -c "import flask"``, and a plain Flask app rendering one Jinja template: the bar;
- emailkit rendering the shipped receipt (subject, HTML, text) and the digest (its text is
  generated from the HTML), with an empty compile cache (every process compiles: premailer,
  inscriptis) and with a warm one (the cache filled by a previous process).

Wall time and CPU time (user + system, which the machine's other load disturbs less) are
printed with their ratio to ``import flask``.

emailkit's and the emails' bytecode is written first, as pip writes an installed package's:
Flask is loaded from its ``.pyc`` files, and with ``PYTHONDONTWRITEBYTECODE`` set every
process would otherwise compile emailkit's sources (some 45 ms), measuring the setting.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FLASK_RENDER = """
from flask import Flask, render_template_string
app = Flask(__name__)
with app.app_context():
    render_template_string(
        "<h1>Hi {{ name }}</h1>{% for i in items %}<p>{{ i }}</p>{% endfor %}",
        name="Ada", items=range(20),
    )
"""
EMAILKIT_RENDER = """
from emails.{module} import {cls}
rendered = {cls}.previews()[{sample!r}].render()
rendered.subject, rendered.html, rendered.text
"""


def once(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one new process running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="processes per line (default 7)")
    args = parser.parse_args()
    for folder in ("emailkit", "emails"):
        compileall.compile_dir(REPO / folder, quiet=1)
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch) / "cache"
        env = {**os.environ, "EMAILKIT_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}

        def empty_cache() -> None:
            for path in sorted(cache.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()

        emailkit = {
            module: EMAILKIT_RENDER.format(module=module, cls=cls, sample=sample)
            for module, cls, sample in (
                ("receipt", "Receipt", "twenty-items"),
                ("digest", "Digest", "default"),
            )
        }
        results: dict[str, tuple[float, float]] = {}

        def keep(name: str, seconds: tuple[float, float]) -> None:
            wall, cpu = results.get(name, (float("inf"), float("inf")))
            results[name] = (min(wall, seconds[0]), min(cpu, seconds[1]))

        # Round-robin, so that the shared machine's drifting load weighs on every line.
        for _ in range(args.runs):
            keep('python -c "import flask"', once("import flask", env))
            keep("Flask + Jinja render", once(FLASK_RENDER, env))
            for module, code in emailkit.items():
                empty_cache()
                keep(f"emailkit {module}, cache cold", once(code, env))
                keep(f"emailkit {module}, cache warm", once(code, env))
    flask_wall, flask_cpu = results['python -c "import flask"']
    print(f"time to the first rendered email, best of {args.runs} new processes each")
    print(f"  {'':32} {'wall':>7}  {'':14} {'cpu':>7}")
    for name, (wall, cpu) in results.items():
        print(
            f"  {name:32} {wall:6.3f} s  {wall / flask_wall:5.2f}x flask  "
            f"{cpu:6.3f} s  {cpu / flask_cpu:5.2f}x flask"
        )


if __name__ == "__main__":
    main()
