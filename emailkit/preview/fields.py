"""The sample editor's form: one input per field of an email, from the field's annotation.

Values arrive as text (or true/false, or null) and are parsed by type, never evaluated:
``int``, ``float``, ``Decimal``, dates, ``Literal`` and ``Enum`` choices from their text;
lists, dicts and dataclasses from JSON, converted recursively by their own annotations.
A value that does not parse raises :class:`FieldError` saying which field and what to write.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import inspect
import json
import types
import typing
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..model.email import _MISSING, Email


@dataclass(frozen=True)
class FieldSpec:
    """How the editor shows one field: ``kind`` picks the input, ``label`` is its type."""

    name: str
    kind: str  # text, int, float, decimal, bool, date, datetime, choice, json
    annotation: Any
    label: str
    optional: bool
    required: bool
    choices: tuple[str, ...] = ()


def specs(cls: type[Email]) -> list[FieldSpec]:
    """The form of ``cls``: its fields in declaration order, typed from their annotations."""
    hints = _hints(cls)
    found = []
    for name, default in cls._fields.items():
        annotation = hints.get(name, Any)
        inner, optional = unwrap_optional(annotation)
        kind, choices = _kind(inner)
        found.append(
            FieldSpec(
                name=name,
                kind=kind,
                annotation=annotation,
                label=type_label(annotation),
                optional=optional,
                required=default is _MISSING,
                choices=choices,
            )
        )
    return found


def _hints(cls: type[Email]) -> dict[str, Any]:
    """The fields' annotations as types; one that cannot be resolved (a name imported only
    for type checkers) is ``Any``, edited as JSON, without losing the others."""
    try:
        return typing.get_type_hints(cls)
    except Exception:
        pass
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, annotation in inspect.get_annotations(klass).items():
            if name not in cls._fields:
                continue
            probe = type("_Probe", (), {"__annotations__": {name: annotation}})
            probe.__module__ = klass.__module__
            try:
                hints[name] = typing.get_type_hints(probe)[name]
            except Exception:
                hints[name] = Any
    return hints


def unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if is_union(annotation):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) < len(typing.get_args(annotation)):
            if len(members) == 1:
                return members[0], True
            return typing.Union[tuple(members)], True  # noqa: UP007 - built at run time
    return annotation, False


def is_union(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin is typing.Union or origin is types.UnionType


def _kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    if annotation is str:
        return "text", ()
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if annotation is Decimal:
        return "decimal", ()
    if annotation is dt.datetime:
        return "datetime", ()
    if annotation is dt.date:
        return "date", ()
    if typing.get_origin(annotation) is typing.Literal:
        return "choice", tuple(str(v) for v in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "choice", tuple(str(member.value) for member in annotation)
    return "json", ()


def type_label(annotation: Any) -> str:
    """A short name for a type: ``list[LineItem]``, ``str | None``, ``Literal['a', 'b']``."""
    if annotation is Any:
        return "any (JSON)"
    if annotation is type(None):
        return "None"
    args = typing.get_args(annotation)
    if is_union(annotation):
        return " | ".join(type_label(arg) for arg in args)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(arg) for arg in args) + "]"
    if origin is not None and args:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join('...' if a is Ellipsis else type_label(a) for a in args)}]"
    return getattr(annotation, "__name__", str(annotation))


def form_value(spec: FieldSpec, value: Any) -> str | bool | None:
    """What the field's input shows for ``value`` (None: the "None" box is ticked)."""
    if value is None:
        return None
    if spec.kind == "bool":
        return bool(value)
    if spec.kind == "json":
        # A value JSON cannot hold (an arbitrary object) shows as text; editing it then says
        # the type cannot be edited here, while leaving it alone keeps the sample's value.
        return json.dumps(to_json(value), ensure_ascii=False, indent=2, default=repr)
    if spec.kind == "choice" and isinstance(value, enum.Enum):
        return str(value.value)
    if spec.kind == "datetime" and isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes" if not value.second else "seconds")
    return str(value)


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data: dataclasses as objects, Decimal and dates as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return to_json(value.value)
    if isinstance(value, (Decimal, dt.date, dt.time, uuid.UUID)):
        return value.isoformat() if isinstance(value, (dt.date, dt.time)) else str(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    return value
