"""emailkit: transactional email as folders of templates plus a small context class."""

from __future__ import annotations

from . import cli as _cli  # noqa: F401  (registers `flask emailkit ...` with the extension)
from .context import Email
from .discovery import default_root, discover
from .errors import (
    AddressError,
    ConfigError,
    ContextError,
    EmailError,
    HeaderError,
    LoadError,
    SampleError,
    SendError,
    TemplateError,
)
from .extension import EmailKit
from .mime import Message, attachment, inline_image
from .rendering import Rendered
from .sending import FailedMessage, SendReport

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
    "TemplateError",
    "attachment",
    "default_root",
    "discover",
    "inline_image",
]
