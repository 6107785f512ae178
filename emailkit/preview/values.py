"""Parse the editor's text into field values by the field's annotation, never evaluating it:
scalars from their text, lists, dicts and dataclasses from JSON, within bounds."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import json
import math
import typing
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ContextError
from .fields import FieldSpec, is_union, type_label, unwrap_optional

# Bounds on what the editor parses: a value beyond them is refused beside its field, before
# the JSON parser, int() or the renderer meet it (a RecursionError or ValueError otherwise).
MAX_CHARACTERS = 20_000  # a URL holds the values: the server takes 64 KB of headers

MAX_DEPTH = 50

MAX_DIGITS = 4_300  # Python's own limit on int() from text (sys.get_int_max_str_digits)


class FieldError(ContextError):
    """A value typed into the editor that does not fit its field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse(email: str, spec: FieldSpec, raw: Any) -> Any:
    """The typed value of ``raw`` (a string, a boolean, or None) for the field ``spec``."""
    where = f"{email}.{spec.name}"
    if raw is None:
        if spec.optional:
            return None
        raise FieldError(spec.name, f"{where} cannot be None; type a {spec.label} value.")
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        raise FieldError(spec.name, f"{where} takes true or false; tick or untick the box.")
    if not isinstance(raw, str):
        raise FieldError(spec.name, f"{where}: expected text, got {type(raw).__name__}.")
    if len(raw) > MAX_CHARACTERS:
        raise FieldError(
            spec.name,
            f"{where} is {len(raw):,} characters long; the editor takes at most "
            f"{MAX_CHARACTERS:,}. Shorten the value.",
        )
    if spec.kind == "json":
        data = _json(spec.name, where, raw)
        inner, _ = unwrap_optional(spec.annotation)
        return convert(inner, data, where, optional=spec.optional)
    inner, _ = unwrap_optional(spec.annotation)
    return convert(inner, raw if spec.kind == "text" else raw.strip(), where, text=True)


def _json(field: str, where: str, raw: str) -> Any:
    """``raw`` parsed as strict JSON: finite numbers, integers of at most MAX_DIGITS digits,
    nested at most MAX_DEPTH deep; anything else a :class:`FieldError` naming the field."""

    def refuse(message: str) -> typing.NoReturn:
        raise FieldError(field, f"{where}: {message}")

    def integer(text: str) -> int:
        if len(text.lstrip("-")) > MAX_DIGITS:
            refuse(f"a number has {len(text.lstrip('-')):,} digits; at most {MAX_DIGITS:,}.")
        return int(text)

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            refuse(f"{text} is too large for a float; write a finite number.")
        return value

    def constant(name: str) -> typing.NoReturn:
        refuse(f"{name} is not a number JSON allows; write a finite number.")

    depth = nesting(raw)
    if depth > MAX_DEPTH:
        refuse(f"the JSON is nested {depth} levels deep; at most {MAX_DEPTH}. Flatten it.")
    try:
        return json.loads(raw, parse_int=integer, parse_float=number, parse_constant=constant)
    except json.JSONDecodeError as error:
        raise FieldError(
            field,
            f"{where} is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}); fix the JSON.",
        ) from None
    except RecursionError:  # a stack smaller than MAX_DEPTH allows
        refuse("the JSON is nested too deep; flatten it.")


def nesting(raw: str) -> int:
    """How deep the brackets of the JSON text ``raw`` nest, strings skipped (the parser
    recurses once per level: it must not meet a depth near the interpreter's limit)."""
    deepest = depth = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def convert(annotation: Any, data: Any, where: str, *, text: bool = False, optional=False) -> Any:
    """JSON ``data`` (or a form's ``text``) as a value of ``annotation``, checked all the way
    down; :class:`FieldError` names the path (``receipt.items[0].quantity``) and the fix."""
    field = _field_of(where)
    if data is None and (optional or annotation is Any or annotation is type(None)):
        return None

    def fail(expected: str) -> typing.NoReturn:
        shown = json.dumps(data, ensure_ascii=False) if not text else repr(data)
        raise FieldError(field, f"{where}: expected {expected}, got {shown[:80]}.")

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return data
    if is_union(annotation):
        members = [a for a in args if a is not type(None)]
        if data is None and len(members) < len(args):
            return None
        for member in members:
            try:
                return convert(member, data, where, text=text)
            except FieldError:
                continue
        fail(type_label(annotation))
    if annotation is str:
        return data if isinstance(data, str) else fail("text")
    if annotation is bool:
        if isinstance(data, bool):
            return data
        if text and data in ("true", "false"):
            return data == "true"
        fail("true or false")
    if annotation is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        if text:
            digits = len(str(data).strip().lstrip("+-"))
            if digits > MAX_DIGITS:
                raise FieldError(
                    field, f"{where}: the number has {digits:,} digits; at most {MAX_DIGITS:,}."
                )
            try:
                return int(data)
            except ValueError:
                pass
        fail("a whole number, e.g. 3")
    if annotation is float:
        number: float | None = None
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            with contextlib.suppress(OverflowError):  # an int too large for a float
                number = float(data)
        elif text:
            try:
                number = float(data)
            except ValueError:
                fail("a number, e.g. 2.5")
        if number is not None and math.isfinite(number):
            return number
        fail("a finite number, e.g. 2.5 (not inf or nan)")
    if annotation is Decimal:
        if isinstance(data, (str, int, float)) and not isinstance(data, bool):
            try:
                value = Decimal(str(data).strip())
            except InvalidOperation:
                fail('a decimal number, e.g. "12.50"')
            if value.is_finite() and abs(value.adjusted()) <= MAX_DIGITS:
                return value
        fail('a decimal number, e.g. "12.50"')
    if annotation in (dt.date, dt.datetime, dt.time):
        if isinstance(data, str):
            try:
                moment = annotation.fromisoformat(data.strip())
            except ValueError:
                moment = None
            # date.fromisoformat takes no time, but a datetime is also a date: keep them apart
            if moment is not None and (annotation is not dt.date or type(moment) is dt.date):
                return moment
        example = {dt.date: "2026-03-14", dt.datetime: "2026-03-14T09:30", dt.time: "09:30"}
        fail(f"a {annotation.__name__} written like {example[annotation]}")
    if annotation is uuid.UUID:
        try:
            return uuid.UUID(str(data))
        except ValueError:
            fail("a UUID")
    if origin is typing.Literal:
        for choice in args:
            if data == choice or (text and data == str(choice)):
                return choice
        fail("one of " + ", ".join(json.dumps(c) for c in args))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        for member in annotation:
            if data == member.value or str(member.value) == data:
                return member
        fail("one of " + ", ".join(str(m.value) for m in annotation))
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        if not isinstance(data, list):
            fail("a JSON list [...]")
        kind = origin or annotation
        if kind is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(data):
                fail(f"a list of {len(args)} items")
            pairs = enumerate(zip(args, data, strict=True))
            return tuple(convert(a, d, f"{where}[{i}]") for i, (a, d) in pairs)
        item = args[0] if args else Any
        items = [convert(item, d, f"{where}[{i}]") for i, d in enumerate(data)]
        return kind(items)
    if origin is dict or annotation is dict:
        if not isinstance(data, dict):
            fail("a JSON object {...}")
        value_type = args[1] if len(args) == 2 else Any
        return {k: convert(value_type, v, f"{where}[{json.dumps(k)}]") for k, v in data.items()}
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        return _dataclass(annotation, data, where, fail)
    if isinstance(annotation, type) and isinstance(data, annotation):
        return data
    fail(type_label(annotation) + " (this type cannot be edited here)")


def _dataclass(cls: type, data: Any, where: str, fail: Any) -> Any:
    if not isinstance(data, dict):
        fail(f"a JSON object of {cls.__name__}'s fields")
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        hints = {}
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [key for key in data if key not in fields]
    if unknown:
        raise FieldError(
            _field_of(where),
            f"{where}: {cls.__name__} has no field {unknown[0]!r}; "
            f"its fields are {', '.join(fields)}.",
        )
    values = {}
    for name, spec in fields.items():
        if name in data:
            values[name] = convert(hints.get(name, Any), data[name], f"{where}.{name}")
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise FieldError(
                _field_of(where),
                f"{where}: {cls.__name__} needs {name!r}; add it to the object.",
            )
    return cls(**values)


def _field_of(where: str) -> str:
    """The email's field a path such as ``receipt.items[0].quantity`` starts at."""
    return where.split(".", 1)[-1].split("[")[0].split(".")[0]
