"""“Copy as Python”: an edited sample written as the ``previews()`` entry that makes it.

Names come from the email's own module where it imports them (``dt.date(...)`` when it did
``import datetime as dt``, ``LineItem(...)`` for its dataclass), so the text pastes as is.
Long values break over lines the way ruff would format them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import sys
import uuid
from typing import Any

from ..model.email import _MISSING, Email

WIDTH = 100


def sample_source(cls: type[Email], sample: str, values: dict[str, Any]) -> str:
    """``"sample": cls(field=..., ...),`` for the fields that are required or not default."""
    names = _Names(cls)
    shown = {
        name: value
        for name, value in values.items()
        if cls._fields.get(name, _MISSING) is _MISSING or not _same(cls._fields[name], value)
    }
    arguments = [
        f"{name}={_format(value, names, 4, len(name) + 2)}" for name, value in shown.items()
    ]
    head = f"{json.dumps(sample, ensure_ascii=False)}: cls("
    needs = "".join(f"# add to the module's imports: {line}\n" for line in sorted(names.missing))
    one_line = head + ", ".join(arguments) + "),"
    if len(one_line) + 4 <= WIDTH and "\n" not in one_line:
        return needs + one_line
    return needs + head + "\n" + "".join(f"    {a},\n" for a in arguments) + "),"


def _same(default: Any, value: Any) -> bool:
    try:
        return type(default) is type(value) and bool(default == value)
    except Exception:
        return False


class _Names:
    """How the email's module spells classes and modules it imported."""

    def __init__(self, cls: type[Email]) -> None:
        module = sys.modules.get(cls.__module__)
        self.globals = vars(module) if module else {}
        self.missing: set[str] = set()

    def of_class(self, klass: type) -> str:
        for name, value in self.globals.items():
            if value is klass:
                return name
        module = sys.modules.get(klass.__module__)
        for name, value in self.globals.items():
            if module is not None and value is module:
                return f"{name}.{klass.__qualname__}"
        top = klass.__qualname__.split(".")[0]
        self.missing.add(f"from {klass.__module__} import {top}")
        return klass.__qualname__


def _format(value: Any, names: _Names, indent: int, before: int = 0) -> str:
    """``value`` as source starting ``before`` characters into a line indented by ``indent``;
    broken over lines, one item each, when it would not fit on that line."""
    flat = _flat(value, names)
    if indent + before + len(flat) + 1 <= WIDTH or not _breakable(value):
        return flat
    pad = " " * indent
    inner = indent + 4
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_format(v, names, inner) for v in value]
        opening, closing = _brackets(value)
        return opening + "\n" + "".join(f"{pad}    {i},\n" for i in items) + pad + closing
    if isinstance(value, dict):
        items = [
            f"{_flat(k, names)}: {_format(v, names, inner, len(_flat(k, names)) + 2)}"
            for k, v in value.items()
        ]
        return "{\n" + "".join(f"{pad}    {i},\n" for i in items) + pad + "}"
    fields = [f for f in dataclasses.fields(value) if f.init]
    items = [
        f"{f.name}={_format(getattr(value, f.name), names, inner, len(f.name) + 1)}" for f in fields
    ]
    return (
        f"{names.of_class(type(value))}(\n" + "".join(f"{pad}    {i},\n" for i in items) + pad + ")"
    )


def _breakable(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset, dict)) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    )


def _brackets(value: Any) -> tuple[str, str]:
    if isinstance(value, tuple):
        return "(", ")"
    if isinstance(value, (set, frozenset)):
        return ("{", "}") if value else ("set(", ")")
    return "[", "]"


def _flat(value: Any, names: _Names) -> str:
    if isinstance(value, str):
        # a valid Python literal, double-quoted; escapes for what would not paste (controls,
        # lone surrogates, line separators)
        text = json.dumps(value, ensure_ascii=False)
        return text if text.isprintable() else repr(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'  # float("inf"), float("nan"): repr's inf does not run
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, enum.Enum):
        return f"{names.of_class(type(value))}.{value.name}"
    if isinstance(value, decimal.Decimal):
        return f"{names.of_class(decimal.Decimal)}({json.dumps(str(value))})"
    if isinstance(value, uuid.UUID):
        return f"{names.of_class(uuid.UUID)}({json.dumps(str(value))})"
    if isinstance(value, (dt.datetime, dt.time)) and value.tzinfo is not None:
        naive = repr(value.replace(tzinfo=None))
        zone = _zone(value.tzinfo, names)
        return f"{names.of_class(type(value))}{naive[naive.index('(') : -1]}, tzinfo={zone})"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return names.of_class(type(value)) + repr(value)[repr(value).index("(") :]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [f for f in dataclasses.fields(value) if f.init]
        inner = ", ".join(f"{f.name}={_flat(getattr(value, f.name), names)}" for f in fields)
        return f"{names.of_class(type(value))}({inner})"
    if isinstance(value, (list, tuple, set, frozenset)):
        opening, closing = _brackets(value)
        items = [_flat(v, names) for v in value]
        trailing = "," if isinstance(value, tuple) and len(items) == 1 else ""
        return opening + ", ".join(items) + trailing + closing
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{_flat(k, names)}: {_flat(v, names)}" for k, v in value.items()) + "}"
        )
    return repr(value)


def _zone(zone: dt.tzinfo, names: _Names) -> str:
    """A time zone as source: ``dt.timezone.utc``, ``dt.timezone(dt.timedelta(seconds=3600))``
    or ``ZoneInfo("Europe/Paris")``."""
    if zone is dt.timezone.utc:
        return f"{names.of_class(dt.timezone)}.utc"
    if isinstance(zone, dt.timezone):
        offset = zone.utcoffset(None).total_seconds()
        seconds = int(offset) if offset == int(offset) else offset
        return f"{names.of_class(dt.timezone)}({names.of_class(dt.timedelta)}(seconds={seconds}))"
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return f"{names.of_class(type(zone))}({json.dumps(key)})"
    return repr(zone)
