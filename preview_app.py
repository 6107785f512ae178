"""Start the preview server on the shipped emails: ``python preview_app.py [--port 5000]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from emailkit import EmailError
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
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        help="also answer requests for this host name (localhost and IP addresses always work)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        serve(args.emails, host=args.host, port=args.port, allowed_hosts=args.allow_host)
    except EmailError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
