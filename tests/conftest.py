"""Shared fixtures: a scratch emails root and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as ParsedMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

REPO = Path(__file__).resolve().parents[1]
SHIPPED_ROOT = REPO / "emails"


class EmailsRoot:
    """A temporary emails root to write email folders into."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, relative: str, content: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return target

    def email(self, name: str, **files: str) -> Path:
        """Write ``name/<file>`` for each keyword (``body_html`` -> ``body.html``)."""
        folder = self.path / name
        folder.mkdir(parents=True, exist_ok=True)
        for key, content in files.items():
            self.write(f"{name}/{key.replace('_', '.', 1)}", content)
        return folder


@pytest.fixture
def emails_root(tmp_path: Path) -> EmailsRoot:
    root = tmp_path / "emails"
    root.mkdir()
    return EmailsRoot(root)


@dataclass
class SmtpSink:
    """What the test SMTP server received."""

    host: str
    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    @property
    def messages(self) -> list[ParsedMessage]:
        return [message_from_bytes(envelope.original_content) for envelope in self.envelopes]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        self.received.set()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A real aiosmtpd server on 127.0.0.1; like strict servers it refuses lines over 998 octets."""
    sink = SmtpSink(host="127.0.0.1", port=_free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port, ready_timeout=10)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
