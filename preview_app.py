"""Start the preview server on the shipped emails: ``python preview_app.py [--port 5000]``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from emailkit.preview import serve


def main() -> None:
    parser = argparse.ArgumentParser(description="Preview the emails in the browser.")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument(
        "--emails",
        type=Path,
        default=Path(__file__).resolve().parent / "emails",
        help="emails root (default: emails/ beside this file)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    serve(args.emails, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
