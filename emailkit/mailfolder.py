"""Folders of ``.eml`` files: the failed-mail folder and the local outbox.

Each message is one ``.eml`` (exactly the bytes that would go to the SMTP server, so any mail
client opens it) and a ``.json`` beside it with what the file cannot say: the envelope
recipients (Bcc never appears in the message), the email's name, and why it is there.
Both are written to a temporary name and renamed, so a crash never leaves half a message.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from .mime import Message


@dataclass(frozen=True)
class StoredMessage:
    """One message in a :class:`MailFolder`."""

    path: Path
    meta: dict[str, Any]

    @property
    def sidecar(self) -> Path:
        return self.path.with_suffix(".json")

    @property
    def recipients(self) -> list[str]:
        return list(self.meta.get("recipients", []))

    @property
    def sender(self) -> str:
        return str(self.meta.get("sender", ""))

    def read(self) -> bytes:
        return self.path.read_bytes()


class MailFolder:
    """A folder of messages, oldest first."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(
        self,
        message: Message,
        *,
        email: str,
        recipients: list[str] | None = None,
        **meta: Any,
    ) -> StoredMessage:
        """Write ``message`` with its envelope and ``meta``; returns where it went.

        ``recipients`` narrows the envelope to those the message is still due to (by default
        all of its own).
        """
        self.path.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1(message.msgId.encode()).hexdigest()[:12]
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time() % 1:.6f}"[1:]
        path = self.path / f"{stamp}-{email}-{digest}.eml"
        copy = 1
        while path.exists():  # the same message kept twice (for different recipients)
            copy += 1
            path = self.path / f"{stamp}-{email}-{digest}-{copy}.eml"
        sender = message.sender
        details = {
            "email": email,
            "message_id": message.msgId,
            "sender": parseaddr(sender)[1] if isinstance(sender, str) else sender[1],
            "recipients": (message.envelope_recipients if recipients is None else list(recipients)),
            "subject": message.subject,
            "saved_at": time.time(),
            **meta,
        }
        _write_atomically(path.with_suffix(".json"), json.dumps(details, indent=2).encode())
        _write_atomically(path, message.as_bytes())
        return StoredMessage(path, details)

    def save_task(self, payload: dict[str, Any], *, reason: str) -> Path:
        """Keep a queued email that could not even be built, as the JSON it was queued as."""
        self.path.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1(str(payload.get("message_id")).encode()).hexdigest()[:12]
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = self.path / f"{stamp}-task-{digest}.task.json"
        data = {"payload": payload, "reason": reason, "saved_at": time.time()}
        _write_atomically(path, json.dumps(data, indent=2).encode())
        return path

    def __iter__(self) -> Iterator[StoredMessage]:
        if not self.path.is_dir():
            return
        for path in sorted(self.path.glob("*.eml")):
            sidecar = path.with_suffix(".json")
            meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
            yield StoredMessage(path, meta)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def readdress(self, stored: StoredMessage, recipients: list[str]) -> StoredMessage:
        """Narrow a kept message to ``recipients``: the others got it and must not again."""
        delivered = [r for r in stored.recipients if r not in recipients]
        meta = {
            **stored.meta,
            "recipients": list(recipients),
            "delivered": [*stored.meta.get("delivered", []), *delivered],
        }
        _write_atomically(stored.sidecar, json.dumps(meta, indent=2).encode())
        return StoredMessage(stored.path, meta)

    def remove(self, stored: StoredMessage) -> None:
        stored.sidecar.unlink(missing_ok=True)
        stored.path.unlink(missing_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
