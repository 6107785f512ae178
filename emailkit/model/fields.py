"""Checking field values against their simple annotations when an email is built.

A wrong type would otherwise pass construction and fail much later, deep inside a filter
(Babel's ``format_currency`` given a str says ``AssertionError: .``). Only annotations whose
meaning is plain are checked: ``str``, ``int``, ``float``, ``Decimal``, ``bool``, ``date``,
``datetime``, ``list[...]``, ``dict[..., ...]`` and ``Optional[...]`` / ``X | None`` of them.
The items of a list or dict are checked too: an item of a project's own class must be an
instance of it (``list[LineItem]`` refuses ``[1, 2]`` and dicts), and a dataclass item's fields
are checked against their own annotations (``items[0].quantity``). Anything else at the top
(a project's own class, ``Any``, protocols) is taken on trust.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import sys
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_PLAIN: dict[type, tuple[type, ...]] = {
    str: (str,),
    bool: (bool,),
    int: (int,),
    float: (float, int),
    Decimal: (Decimal, int),
    datetime.date: (datetime.date,),
    datetime.datetime: (datetime.datetime,),
}
_UNION_TYPES: tuple[Any, ...] = (typing.Union, types.UnionType)
UNCHECKED = object()


def resolve(owner: type, annotation: object) -> object:
    """The annotation as an object (string annotations evaluated in the class's module), or
    :data:`UNCHECKED` when it cannot be evaluated or is not a simple one."""
    if isinstance(annotation, str):
        module = sys.modules.get(owner.__module__)
        namespace = dict(vars(module)) if module is not None else {}
        try:
            annotation = eval(annotation, namespace, dict(vars(owner)))  # the class's own text
        except Exception:
            return UNCHECKED
    return annotation if _is_simple(annotation) else UNCHECKED


def _is_simple(annotation: object) -> bool:
    if annotation is None or annotation is type(None):
        return True
    if isinstance(annotation, type) and annotation in _PLAIN:
        return True
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in _UNION_TYPES:
        return all(_is_simple(argument) for argument in arguments)
    # A list or dict is checked as one even when its items are a project's own class.
    return (origin is list and len(arguments) == 1) or (origin is dict and len(arguments) == 2)


def mismatch(value: object, annotation: object, where: str, depth: int = 0) -> str | None:
    """Why ``value`` does not fit ``annotation`` (naming ``where`` inside it), or None."""
    if annotation is Any or depth > _MAX_DEPTH:
        return None
    if annotation is None or annotation is type(None):
        return None if value is None else _says(where, "None", value)
    if typing.get_origin(annotation) is None and isinstance(annotation, type):
        if annotation not in _PLAIN:
            return _item_mismatch(value, annotation, where, depth) if depth else None
        accepted = _PLAIN[annotation]
        fits = isinstance(value, accepted) and not (
            isinstance(value, bool) and annotation is not bool
        )
        if annotation is datetime.date and isinstance(value, datetime.datetime):
            fits = True  # a datetime is a date, as typing has it
        return None if fits else _says(where, _name(annotation), value)
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in _UNION_TYPES:
        if not _is_simple(annotation) or any(
            mismatch(value, option, where, depth) is None for option in arguments
        ):
            return None
        return _says(where, _name(annotation), value)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            return _says(where, _name(annotation), value)
        for index, item in enumerate(value):
            problem = mismatch(item, arguments[0], f"{where}[{index}]", depth + 1)
            if problem:
                return problem
        return None
    if origin is dict:
        if not isinstance(value, Mapping):
            return _says(where, _name(annotation), value)
        for key, item in value.items():
            problem = mismatch(key, arguments[0], f"a key of {where}", depth + 1) or mismatch(
                item, arguments[1], f"{where}[{key!r}]", depth + 1
            )
            if problem:
                return problem
        return None
    return None


_MAX_DEPTH = 8  # nested lists of dataclasses holding lists...: deep enough, and no cycles


def _item_mismatch(value: object, cls: type, where: str, depth: int) -> str | None:
    """An item of a list or dict annotated with a project's own class: an instance of it,
    and for a dataclass, fields that fit their annotations."""
    try:
        fits = isinstance(value, cls)
    except TypeError:  # a Protocol or TypedDict cannot say: taken on trust
        return None
    if not fits:
        return _says(where, _name(cls), value)
    kind: type = type(value)
    if not dataclasses.is_dataclass(kind):
        return None
    for name, annotation in _dataclass_hints(kind).items():
        problem = mismatch(getattr(value, name, None), annotation, f"{where}.{name}", depth + 1)
        if problem:
            return problem
    return None


@functools.cache
def _dataclass_hints(cls: type) -> dict[str, object]:
    """The checkable annotations of a dataclass's fields (resolved once per class)."""
    found: dict[str, object] = {}
    for field in dataclasses.fields(cls):
        annotation = resolve(cls, field.type)
        if annotation is UNCHECKED and isinstance(field.type, type):
            annotation = field.type
        if annotation is not UNCHECKED:
            found[field.name] = annotation
    return found


def _name(annotation: object) -> str:
    """How the annotation reads in the source: ``list[LineItem]``, ``date or None``."""
    if annotation is None or annotation is type(None):
        return "None"
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in _UNION_TYPES:
        return " or ".join(_name(argument) for argument in arguments)
    if origin is not None and arguments:
        return f"{getattr(origin, '__name__', origin)}[{', '.join(map(_name, arguments))}]"
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _says(where: str, expected: str, value: object) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{where} must be {expected}, got {type(value).__name__} {shown}"
