"""The :class:`Email` base class: the fields an email's templates use, and its preview samples."""

from __future__ import annotations

import copy
import inspect
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ContextError, TemplateError
from ..mime.message import Message, Recipient
from ..mime.options import MESSAGE_OPTIONS, QUEUE_OPTIONS, check_options, without
from ..sending import unsubscribe
from ..sending.dispatch import current_dispatcher, current_scheduler
from ..templating.i18n import locales
from ..templating.templates import Templates, for_root
from . import fields as fieldtypes
from .rendering import Rendered, render
from .samples import BROKEN_SAMPLES, caller_in, preview_samples  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from concurrent.futures import Future

    from typing_extensions import Unpack

    from ..mime.options import MessageOptions, QueueOptions

_MISSING: Any = object()
RESERVED = frozenset(
    {
        "email",
        "template",
        "email_name",
        "fields",
        "field_values",
        "template_context",
        "previews",
        "render",
        "message",
        "send",
        "send_async",
        "send_later",
        "locale",
    }
)


def _is_classvar(annotation: object) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))
    return getattr(annotation, "__origin__", None) is ClassVar or annotation is ClassVar


class Email:
    """Base class of an email: annotated class attributes are its fields.

    The templates live in the folder of the module that defines the subclass (or in
    ``template``, a path relative to that module); the folder's name is the email's name.
    Templates see every field by name and the instance as ``email``.
    """

    template: ClassVar[str | os.PathLike[str] | None] = None
    email_name: ClassVar[str] = ""
    #: What kind of mail this is (``"newsletter"``...): an unsubscribe from that category
    #: suppresses it. None (password resets, receipts): only bounces, complaints and manual
    #: suppressions stop it.
    category: ClassVar[str | None] = None
    _fields: ClassVar[dict[str, Any]] = {}
    _annotations: ClassVar[dict[str, tuple[type, object]]] = {}
    _field_types: ClassVar[dict[str, object] | None] = None
    _folder: ClassVar[Path | None] = None
    _templates: ClassVar[Templates | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names: list[str] = []
        annotations: dict[str, tuple[type, object]] = {}
        for klass in reversed(cls.__mro__):
            if klass is Email or not issubclass(klass, Email):
                continue
            for name, annotation in inspect.get_annotations(klass).items():
                if name.startswith("_") or _is_classvar(annotation):
                    continue
                annotations[name] = (klass, annotation)  # a subclass may narrow the type
                if name in names:
                    continue
                if name in RESERVED:
                    raise ContextError(
                        f"{cls.__name__}: field {name!r} is a reserved name on Email; "
                        "rename the field."
                    )
                names.append(name)
        cls._fields = {name: getattr(cls, name, _MISSING) for name in names}
        cls._annotations = annotations
        cls._field_types = None
        cls._folder = _template_folder(cls)
        if "email_name" not in cls.__dict__ and cls._folder is not None:
            cls.email_name = cls._folder.name
        category = cls.__dict__.get("category")
        if (
            category is not None
            and "category" not in cls._fields
            and not (isinstance(category, str) and category.strip())
        ):
            raise ContextError(
                f"{cls.__name__}.category is {category!r}: it names the kind of mail, such as "
                '"newsletter" (a non-empty str), or is None for mail everyone must get.'
            )

    def __init__(self, *args: Any, **values: Any) -> None:
        cls = type(self)
        try:
            cls._check_values(args, values)
        except ContextError as error:
            deferred = BROKEN_SAMPLES.get()
            if deferred is None:
                raise
            # Inside preview_samples(errors=...): this sample alone is broken; the others of
            # the same previews() still get built.
            deferred[id(self)] = (self, error, caller_in(cls._folder))
            values = {name: value for name, value in values.items() if name in cls._fields}
        for name, default in cls._fields.items():
            if name in values:
                value = values[name]
            else:
                value = copy.copy(default) if isinstance(default, (list, dict, set)) else default
            setattr(self, name, None if value is _MISSING else value)

    @classmethod
    def _check_values(cls, args: tuple[Any, ...], values: dict[str, Any]) -> None:
        """Raise :class:`ContextError` unless ``values`` are keyword values of the fields,
        none missing, each of its annotated type."""
        if args:
            raise ContextError(
                f"{cls.__name__} takes its fields as keyword arguments, "
                f"e.g. {cls.__name__}({', '.join(f'{n}=...' for n in cls._fields)})"
            )
        unknown = [name for name in values if name not in cls._fields]
        if unknown:
            raise ContextError(
                f"{cls.__name__} has no field {unknown[0]!r}; its fields are "
                f"{_listing(cls._fields)}. Declare it on the class or fix the name."
            )
        missing = [n for n, d in cls._fields.items() if d is _MISSING and n not in values]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            raise ContextError(
                f"{cls.__name__} is missing field{plural} {', '.join(map(repr, missing))}; pass "
                f"{', '.join(f'{n}=...' for n in missing)} or give the field{plural} a default."
            )
        types = cls._types()
        for name, value in values.items():
            annotation = types.get(name, fieldtypes.UNCHECKED)
            if annotation is not fieldtypes.UNCHECKED:
                problem = fieldtypes.mismatch(value, annotation, name)
                if problem:
                    raise ContextError(
                        f"{cls.__name__}: field {problem}; pass a value of that type "
                        "or change the annotation."
                    )

    @classmethod
    def _types(cls) -> dict[str, object]:
        """The fields' annotations that can be checked, resolved on first use (string
        annotations may name classes defined further down the module)."""
        found = cls.__dict__.get("_field_types")
        if found is None:
            found = {
                name: fieldtypes.resolve(owner, annotation)
                for name, (owner, annotation) in cls._annotations.items()
            }
            cls._field_types = found
        return found

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The names of the declared fields, in declaration order."""
        return tuple(cls._fields)

    def field_values(self) -> dict[str, Any]:
        """The field values of this instance, by name."""
        return {name: getattr(self, name) for name in self._fields}

    def template_context(self, locale: str | None = None) -> dict[str, Any]:
        """What the templates see: every field, the instance as ``email``, and ``locale``,
        ``lang`` and ``dir`` (see :mod:`emailkit.templating.i18n.locales`)."""
        context = self.field_values()
        context["email"] = self
        context.update(locales.template_context(locale))
        return context

    @classmethod
    def previews(cls) -> Mapping[str, Email]:
        """Named sample instances for the preview server, snapshot tests and checks."""
        return {}

    @classmethod
    def templates(cls) -> Templates:
        """The :class:`~emailkit.templating.templates.Templates` of the root this email's folder is
        in."""
        found = cls.__dict__.get("_templates")
        if found is None:  # looked up once per class: resolving the path costs syscalls
            found = for_root(cls._require_folder().parent)
            cls._templates = found
        return found

    @classmethod
    def _require_folder(cls) -> Path:
        if cls._folder is None:
            raise TemplateError(
                f"{cls.__name__} has no template folder",
                hint="Define it in an email folder's __init__.py or set `template = PATH`.",
            )
        return cls._folder

    @classmethod
    def locales(cls) -> list[str]:
        """The locales this email has variants or catalogs for (besides the default)."""
        return cls.templates().locales(cls._require_folder().name)

    def render(self, locale: str | None = None) -> Rendered:
        """Render subject, text and HTML (CSS inlined) in ``locale``; without one, in the
        app's ``EMAILKIT_DEFAULT_LOCALE`` (a name, or a callable returning one) if any."""
        folder = self._require_folder()
        locale = locale or default_locale()
        if locale:
            locales.parse(locale)  # an unknown name is an error, not a silent fallback
        compiled = self.templates().compiled(folder.name, locale)
        return render(self, compiled)

    def message(
        self,
        to: Recipient | Iterable[Recipient] | None = None,
        *,
        message_id: str | None = None,
        **options: Unpack[MessageOptions],
    ) -> Message:
        """Render in ``locale`` and build a Flask-Mail message (see :meth:`Rendered.message`).

        ``idempotency_key`` travels with the message to the delivery log: sending a second
        message with the same key sends nothing and returns the first one's Message-ID.
        """
        check_options(options, MESSAGE_OPTIONS, "message")
        rendered = self.render(options.get("locale"))
        message = rendered.message(
            to, message_id=message_id, **without(options, "locale", "idempotency_key")
        )
        message.locale = rendered.locale
        message.category = None if "category" in self._fields else type(self).category
        unsubscribe.add_headers(message)  # RFC 8058 one-click, for mail of a category
        key = options.get("idempotency_key")
        if key is not None:
            message.idempotency_key = _idempotency_key(key, type(self).__name__)
        return message

    def send(self, to: Recipient | Iterable[Recipient], **options: Unpack[MessageOptions]) -> str:
        """Render (in ``locale``) and send now through the app's EmailKit; returns the Message-ID.

        Transient failures are retried; a message that still fails raises
        :class:`~emailkit.SendError` and is kept in the failed-mail folder. Suppressed
        recipients are left out (:class:`~emailkit.SuppressedError` if none is left). With
        an ``idempotency_key`` already sent or in flight nothing is sent and the first
        message's Message-ID is returned.
        """
        check_options(options, MESSAGE_OPTIONS, "send")
        dispatcher = current_dispatcher()
        return dispatcher.deliver(self.message(to, **options))

    def send_async(
        self, to: Recipient | Iterable[Recipient], **options: Unpack[MessageOptions]
    ) -> Future[str]:
        """Render now, send on the app's thread pool; the future gives the Message-ID.

        Rendering and address errors raise here; sending errors are logged and set on the
        future. Queued mail is still sent when the process exits normally.
        """
        check_options(options, MESSAGE_OPTIONS, "send_async")
        dispatcher = current_dispatcher()
        return dispatcher.deliver_async(self.message(to, **options))

    def send_later(
        self,
        to: Recipient | Iterable[Recipient],
        *,
        countdown: float | None = None,
        eta: Any = None,
        queue: str | None = None,
        **options: Unpack[QueueOptions],
    ) -> str:
        """Queue on Celery (see :mod:`emailkit.celery`); returns the Message-ID it will carry.

        Field values travel as JSON: a value that cannot raises ContextError here.
        """
        check_options(options, QUEUE_OPTIONS, "send_later")
        return current_scheduler().send_later(
            self, to, countdown=countdown, eta=eta, queue=queue, **options
        )

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in self.field_values().items())
        return f"{type(self).__name__}({values})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.field_values() == other.field_values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


def default_locale() -> str | None:
    """``EMAILKIT_DEFAULT_LOCALE`` of the current app: a locale name, or a callable (such as
    the signed-in user's language) returning one or None."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    setting = current_app.config.get("EMAILKIT_DEFAULT_LOCALE")
    value = setting() if callable(setting) else setting
    return str(value) if value else None


def _idempotency_key(key: object, email: str) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > 255 or not key.isprintable():
        raise ContextError(
            f"{email}: idempotency_key must be a non-empty str of at most 255 printable "
            f"characters (such as an order or request id), not {key!r}"
        )
    return key


def _listing(fields: Mapping[str, Any]) -> str:
    return ", ".join(fields) if fields else "(none)"


def _template_folder(cls: type[Email]) -> Path | None:
    module = sys.modules.get(cls.__module__)
    module_file = getattr(module, "__file__", None)
    base = Path(module_file).resolve().parent if module_file else None
    template = cls.__dict__.get("template")
    if template is not None:
        path = Path(template)
        if not path.is_absolute():
            if base is None:
                return None
            path = base / path
        return path.resolve()
    if base is None:
        return None
    return base
