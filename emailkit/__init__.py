"""emailkit: transactional email as folders of templates plus a small context class."""

from __future__ import annotations

from .context import Email
from .discovery import default_root, discover
from .errors import ContextError, EmailError, HeaderError, TemplateError
from .mime import Message
from .rendering import Rendered

__all__ = [
    "ContextError",
    "Email",
    "EmailError",
    "HeaderError",
    "Message",
    "Rendered",
    "TemplateError",
    "default_root",
    "discover",
]
