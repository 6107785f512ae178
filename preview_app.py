"""Start the preview server on the shipped emails: ``python preview_app.py [--port 5000]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from flask import Flask, Response, abort, render_template_string

from emailkit import discover

INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>emailkit preview</title></head>
<body style="font-family: system-ui, sans-serif; margin: 2rem">
<h1>Emails in {{ root }}</h1>
{% for name, cls in emails.items() %}
  <h2>{{ name }}</h2>
  <ul>
  {% for sample, email in cls.previews().items() %}
    <li><a href="{{ url_for('html', name=name, sample=sample) }}">{{ sample }}</a>
      (<a href="{{ url_for('text', name=name, sample=sample) }}">text</a>):
      {{ email.render().subject }}</li>
  {% endfor %}
  </ul>
{% endfor %}
</body></html>
"""


def create_app(root: Path) -> Flask:
    app = Flask(__name__)

    def sample_of(name: str, sample: str):
        emails = discover(root)
        if name not in emails or sample not in emails[name].previews():
            abort(404)
        return emails[name].previews()[sample].render()

    @app.get("/")
    def index() -> str:
        return render_template_string(INDEX, root=root, emails=discover(root))

    @app.get("/<name>/<sample>.html")
    def html(name: str, sample: str) -> str:
        return sample_of(name, sample).html or ""

    @app.get("/<name>/<sample>.txt")
    def text(name: str, sample: str) -> Response:
        return Response(sample_of(name, sample).text, mimetype="text/plain")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--emails", type=Path, default=Path(__file__).parent / "emails")
    args = parser.parse_args()
    create_app(args.emails.resolve()).run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
