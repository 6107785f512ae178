"""What the deliverability checks look at: settings from the app or the environment, and a
sample's message exactly as it would be sent."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import current_app, has_app_context

from ..model.rendering import Rendered

#: The recipient of the messages the checks build (as the viewer's).
CHECK_RECIPIENT = "Ada Lovelace <ada@example.com>"


def setting(config: Mapping[str, Any] | None, key: str) -> str | None:
    """``key`` from ``config`` (by default the current app's), else from the environment."""
    if config is None:
        config = current_app.config if has_app_context() else {}
    value = config.get(key)
    if value in (None, ""):
        value = os.environ.get(key)
    return str(value).strip() if value not in (None, "") else None


def sent_bytes(rendered: Rendered, sender: str) -> bytes:
    """The whole message as sent: headers, text and HTML parts, inline images, attachments."""
    message = rendered.message(CHECK_RECIPIENT, sender=sender)
    message.freeze()
    return message.as_bytes()
