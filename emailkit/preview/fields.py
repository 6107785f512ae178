"""The sample editor's form: one input per field of an email, from the field's annotation.

Values arrive as text (or true/false, or null) and are parsed by type, never evaluated:
``int``, ``float``, ``Decimal``, dates, ``Literal`` and ``Enum`` choices from their text;
lists, dicts and dataclasses from JSON, converted recursively by their own annotations.
A value that does not parse raises :class:`FieldError` saying which field and what to write.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import inspect
import json
import math
import types
import typing
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ContextError
from ..model.email import _MISSING, Email

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
        inner, optional = _unwrap_optional(annotation)
        kind, choices = _kind(inner)
        found.append(
            FieldSpec(
                name=name,
                kind=kind,
                annotation=annotation,
                label=_label(annotation),
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


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if _is_union(annotation):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) < len(typing.get_args(annotation)):
            if len(members) == 1:
                return members[0], True
            return typing.Union[tuple(members)], True  # noqa: UP007 - built at run time
    return annotation, False


def _is_union(annotation: Any) -> bool:
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


def _label(annotation: Any) -> str:
    """A short name for a type: ``list[LineItem]``, ``str | None``, ``Literal['a', 'b']``."""
    if annotation is Any:
        return "any (JSON)"
    if annotation is type(None):
        return "None"
    args = typing.get_args(annotation)
    if _is_union(annotation):
        return " | ".join(_label(arg) for arg in args)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(arg) for arg in args) + "]"
    if origin is not None and args:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join('...' if a is Ellipsis else _label(a) for a in args)}]"
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
        inner, _ = _unwrap_optional(spec.annotation)
        return convert(inner, data, where, optional=spec.optional)
    inner, _ = _unwrap_optional(spec.annotation)
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
    if _is_union(annotation):
        members = [a for a in args if a is not type(None)]
        if data is None and len(members) < len(args):
            return None
        for member in members:
            try:
                return convert(member, data, where, text=text)
            except FieldError:
                continue
        fail(_label(annotation))
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
    fail(_label(annotation) + " (this type cannot be edited here)")


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
