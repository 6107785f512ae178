"""emailkit: transactional email as folders of templates plus a small context class.

Rendering needs only the names imported here eagerly. The sending side (``EmailKit``,
``SendReport``, ``FailedMessage``) is loaded on first access (PEP 562), so that a process which
only renders does not pay for Flask-Mail's sender, tenacity, the thread pool or the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    AddressError,
    ConfigError,
    ContextError,
    EmailError,
    HeaderError,
    LoadError,
    SampleError,
    SendError,
    SuppressedError,
    TemplateError,
)
from .mime.message import Message, attachment, inline_image
from .model.email import Email
from .model.rendering import Rendered
from .project.discovery import default_root, discover

if TYPE_CHECKING:
    from .extension import EmailKit
    from .sending.deliverer import FailedMessage, SendReport


def __getattr__(name: str) -> Any:
    value: Any
    if name == "EmailKit":
        # Whoever sets up the extension wants `flask emailkit ...`: the CLI module adds its
        # commands to the extension's registry when imported (extension never imports cli).
        from . import cli  # noqa: F401
        from .extension import EmailKit as value
    elif name in ("FailedMessage", "SendReport"):
        from .sending import deliverer

        value = getattr(deliverer, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AddressError",
    "ConfigError",
    "ContextError",
    "Email",
    "EmailError",
    "EmailKit",
    "FailedMessage",
    "HeaderError",
    "LoadError",
    "Message",
    "Rendered",
    "SampleError",
    "SendError",
    "SendReport",
    "SuppressedError",
    "TemplateError",
    "attachment",
    "default_root",
    "discover",
    "inline_image",
]
