"""Folders of ``.eml`` files: the failed-mail folder and the local outbox.

Each message is one ``.eml`` (exactly the bytes that would go to the SMTP server, so any mail
client opens it) and a ``.json`` beside it with what the file cannot say: the envelope
recipients (Bcc never appears in the message), the email's name, and why it is there.
Both are written to a temporary name and renamed, so a crash never leaves half a message.
Customer mail is private: files are 0600 and the folders 0700, whatever the umask.

A message is :meth:`~MailFolder.claim`-ed before it is resent: an exclusive ``flock`` on its
``.eml``, so two ``resend-failed`` runs at once never send it twice. The kernel drops the lock
when its process ends, however it ends, so a crashed run leaves no stale claim behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import flask_mail
from flask import current_app

from ..errors import ConfigError
from ..mime.message import Message
from .transport import Refusals

logger = logging.getLogger("emailkit")

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, so no claims between runs
    fcntl = None  # type: ignore[assignment]

FILE_MODE = 0o600
FOLDER_MODE = 0o700


@dataclass(frozen=True)
class StoredMessage:
    """One message in a :class:`MailFolder`.

    ``problem`` says why it cannot be resent as it is (no or a damaged ``.json``, no
    recipients); such a message is left alone, never sent nor removed.
    """

    path: Path
    meta: dict[str, Any]
    problem: str | None = None

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
        self._make_folder()
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
        self._make_folder()
        digest = hashlib.sha1(str(payload.get("message_id")).encode()).hexdigest()[:12]
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = self.path / f"{stamp}-task-{digest}.task.json"
        data = {"payload": payload, "reason": reason, "saved_at": time.time()}
        _write_atomically(path, json.dumps(data, indent=2).encode())
        return path

    def _make_folder(self) -> None:
        self.path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        info = self.path.stat()
        owner = os.geteuid() if hasattr(os, "geteuid") else info.st_uid
        if info.st_mode & 0o077 and info.st_uid == owner:  # made by an older version
            os.chmod(self.path, stat.S_IMODE(info.st_mode) & ~0o077)

    def __iter__(self) -> Iterator[StoredMessage]:
        if not self.path.is_dir():
            return
        for path in sorted(self.path.glob("*.eml")):
            yield load(path)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @contextmanager
    def claim(self, stored: StoredMessage) -> Iterator[StoredMessage | None]:
        """Hold ``stored`` for this caller alone: yields it as it is now on disk (its sidecar
        read again), or None when another caller holds it or it is gone (sent meanwhile)."""
        try:
            fd = os.open(stored.path, os.O_RDONLY)
        except FileNotFoundError:
            yield None
            return
        try:
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
            # Another caller may have sent and removed it between our open and our lock.
            try:
                current = os.stat(stored.path)
            except FileNotFoundError:
                yield None
                return
            held = os.fstat(fd)
            if (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
                yield None
                return
            yield load(stored.path)
        finally:
            os.close(fd)  # releases the lock

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
        # The message first: a crash in between leaves a stray .json, never a kept .eml
        # that looks undeliverable for want of its envelope.
        stored.path.unlink(missing_ok=True)
        stored.sidecar.unlink(missing_ok=True)


def load(path: Path) -> StoredMessage:
    """The message at ``path`` with its sidecar; ``problem`` set when that is not usable."""
    sidecar = path.with_suffix(".json")
    where = f"its envelope file {sidecar.name}"
    try:
        meta = json.loads(sidecar.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return StoredMessage(path, {}, f"{where} is missing")
    except OSError as error:
        return StoredMessage(path, {}, f"{where} cannot be read: {error}")
    except (UnicodeDecodeError, ValueError) as error:
        return StoredMessage(path, {}, f"{where} is not valid JSON: {error}")
    if not isinstance(meta, dict):
        return StoredMessage(path, {}, f"{where} holds a {type(meta).__name__}, not an object")
    recipients = meta.get("recipients")
    if not (
        isinstance(recipients, list)
        and recipients
        and all(isinstance(r, str) and r for r in recipients)
    ):
        return StoredMessage(path, meta, f"{where} names no recipients (a list of addresses)")
    if not isinstance(meta.get("sender"), str) or not meta["sender"]:
        return StoredMessage(path, meta, f"{where} names no sender")
    return StoredMessage(path, meta)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as file:
            if hasattr(os, "fchmod"):
                os.fchmod(file.fileno(), FILE_MODE)  # whatever the umask
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


class OutboxConnection:
    """Writes each message into the outbox folder instead of sending it anywhere."""

    full = False
    last_reply: str | None = None

    def __init__(self, folder: MailFolder) -> None:
        self.folder = folder

    def send(self, message: Message, recipients: list[str] | None = None) -> Refusals:
        stored = self.folder.save(
            message, email=message.email_name or "message", recipients=recipients
        )
        logger.info(
            "outbox: %s to %s written to %s (no MAIL_SERVER: nothing left this machine)",
            stored.meta["email"],
            ", ".join(stored.recipients),
            stored.path,
        )
        self.last_reply = f"written to {stored.path}"
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        flask_mail.email_dispatched.send(app, message=message)
        return {}

    def send_raw(
        self, sender: str | tuple[str, str], recipients: list[str], data: bytes
    ) -> Refusals:
        raise ConfigError("resending needs an SMTP server; MAIL_SERVER is not set")

    def close(self) -> None:
        pass
