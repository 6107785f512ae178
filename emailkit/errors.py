"""The exceptions emailkit raises, all under :class:`EmailError`.

Each message says what failed, where (email, file, line or field) and what to do about it.
"""

from __future__ import annotations


class EmailError(Exception):
    """Base of every error emailkit raises; catch it to handle them all."""


class ContextError(EmailError, TypeError):
    """An email was built with a missing, unknown or reserved field."""


class TemplateError(EmailError):
    """A template could not be found, compiled or rendered.

    ``email``, ``filename`` and ``lineno`` locate the problem where it could be traced;
    ``hint`` says what to do.
    """

    def __init__(
        self,
        message: str,
        *,
        email: str | None = None,
        filename: str | None = None,
        lineno: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.email = email
        self.filename = filename
        self.lineno = lineno
        self.hint = hint
        super().__init__(self._describe())

    def in_email(self, email: str) -> TemplateError:
        """This error, naming ``email`` (errors raised below an email do not know it)."""
        if self.email:
            return self
        error = TemplateError(
            self.message, email=email, filename=self.filename, lineno=self.lineno, hint=self.hint
        )
        error.__cause__ = self.__cause__
        return error

    def _describe(self) -> str:
        where = []
        if self.email:
            where.append(self.email)
        if self.filename:
            where.append(self.filename + (f", line {self.lineno}" if self.lineno else ""))
        text = ": ".join([*where, self.message]) if where else self.message
        if not self.hint:
            return text
        return f"{text} {self.hint}" if text.endswith((".", "!", "?")) else f"{text}. {self.hint}"


class LoadError(TemplateError):
    """An email folder could not be loaded: its ``__init__.py`` does not import, or one of its
    files cannot be read (not UTF-8). ``__cause__`` is the original exception."""


class SampleError(TemplateError):
    """An email's ``previews()`` raised, or returned something other than named samples of the
    email; ``filename`` and ``lineno`` point at the line in ``previews()`` that failed."""


class HeaderError(EmailError, ValueError):
    """A header value (subject, address, extra header) holds a CR or LF; nothing was sent."""


class AddressError(EmailError, ValueError):
    """An address (recipient, sender, reply-to) is malformed; nothing was sent."""


class ConfigError(EmailError):
    """emailkit or Flask-Mail is not set up well enough to send; the message says what to set."""


class SendError(EmailError):
    """A message could not be delivered; it was kept in the failed-mail folder.

    ``smtp_code`` and ``smtp_reply`` are the server's last answer when there was one,
    ``saved_to`` the ``.eml`` file to resend later.
    """

    def __init__(
        self,
        message: str,
        *,
        email: str = "",
        recipients: list[str] | None = None,
        message_id: str = "",
        attempts: int = 0,
        smtp_code: int | None = None,
        smtp_reply: str | None = None,
        saved_to: str | None = None,
    ) -> None:
        super().__init__(message)
        self.email = email
        self.recipients = recipients or []
        self.message_id = message_id
        self.attempts = attempts
        self.smtp_code = smtp_code
        self.smtp_reply = smtp_reply
        self.saved_to = saved_to


class SuppressedError(SendError):
    """Every recipient of a message is on the suppression list (a bounce, a complaint, a
    manual entry, or an unsubscribe from the email's category): nothing was sent, and
    nothing was kept in the failed-mail folder (``saved_to`` is None). ``reasons`` maps each
    address to why; lift an entry with ``emailkit suppress remove ADDRESS``."""

    def __init__(
        self,
        message: str,
        *,
        email: str = "",
        recipients: list[str] | None = None,
        message_id: str = "",
        reasons: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, email=email, recipients=recipients, message_id=message_id)
        self.reasons = dict(reasons or {})
