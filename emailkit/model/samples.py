"""An email's preview samples: ``previews()`` called and checked, one broken sample apart.

:func:`preview_samples` is what the preview, ``emailkit check``, the command line and the
snapshot tests call. With an ``errors`` dict, a sample whose construction raises
:class:`ContextError` is recorded there and the email's other samples still work: while
``previews()`` runs, :class:`~emailkit.Email` records such a failure in
:data:`BROKEN_SAMPLES` instead of raising.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ContextError, EmailError, SampleError, TemplateError

if TYPE_CHECKING:
    from .email import Email

# id -> (the instance, why it cannot be built, the line in previews() that built it)
_Broken = dict[int, tuple["Email", ContextError, tuple[str | None, int | None]]]
BROKEN_SAMPLES: ContextVar[_Broken | None] = ContextVar("emailkit_broken_samples", default=None)


def preview_samples(
    cls: type[Email], errors: dict[str, SampleError] | None = None
) -> Mapping[str, Email]:
    """``cls.previews()``, checked: a sample that raises, or a return value that is not a dict
    of names to instances of ``cls``, is a :class:`SampleError` naming the email, the file and
    the line in ``previews()`` (an error in one email's samples then stops only that email).

    With ``errors``, a sample whose construction raises :class:`ContextError` (a missing
    field, a value of the wrong type) is recorded there by sample name and left out; the
    email's other samples are returned.
    """
    name = cls.email_name or cls.__name__
    token = BROKEN_SAMPLES.set({}) if errors is not None else None
    try:
        samples = cls.previews()
    except Exception as error:
        filename, lineno = _where(error, cls._folder)
        message = error.message if isinstance(error, TemplateError) else str(error)
        if not isinstance(error, EmailError):
            message = f"{type(error).__name__}: {message}"
        raise SampleError(
            f"previews() raised {message}".rstrip("."),
            email=name,
            filename=filename,
            lineno=lineno,
            hint="Fix that sample: previews() builds every sample for the preview, the "
            "snapshot tests and emailkit check",
        ) from error
    finally:
        broken = BROKEN_SAMPLES.get() or {}
        if token is not None:
            BROKEN_SAMPLES.reset(token)
    where = f"{cls._folder.name}/__init__.py" if cls._folder else None
    if not isinstance(samples, Mapping):
        raise SampleError(
            f"previews() returned a {type(samples).__name__}, not a dict",
            email=name,
            filename=where,
            hint=f'Return named samples: {{"default": cls(...)}} with cls being {cls.__name__}',
        )
    good: dict[str, Email] = {}
    for sample, value in samples.items():
        if not isinstance(sample, str) or not isinstance(value, cls):
            raise SampleError(
                f"previews() maps {sample!r} to {type(value).__name__}, not a {cls.__name__}",
                email=name,
                filename=where,
                hint=f'Return named samples: {{"default": cls(...)}} with cls being {cls.__name__}',
            )
        failure = broken.get(id(value))
        if failure is not None and failure[0] is value and errors is not None:
            cause, (filename, lineno) = failure[1], failure[2]
            problem = SampleError(
                f"sample {sample!r} cannot be built: {cause}".rstrip("."),
                email=name,
                filename=filename or where,
                lineno=lineno,
                hint="Fix that sample in previews(); the email's other samples still work",
            )
            problem.__cause__ = cause
            errors[sample] = problem
            continue
        good[sample] = value
    return good if errors is not None else samples


def caller_in(folder: Path | None) -> tuple[str | None, int | None]:
    """The innermost line of the current call stack inside the email's folder."""
    if folder is None:
        return None, None
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename).resolve()
        if path.is_relative_to(folder):
            return path.relative_to(folder.parent).as_posix(), frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None, None


def _where(error: BaseException, folder: Path | None) -> tuple[str | None, int | None]:
    """The last line of ``error``'s traceback inside the email's folder, relative to the root."""
    found: tuple[str | None, int | None] = (None, None)
    if folder is None:
        return found
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        path = Path(frame.f_code.co_filename).resolve()
        if path.is_relative_to(folder):
            found = (path.relative_to(folder.parent).as_posix(), lineno)
    return found
