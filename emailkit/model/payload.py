"""An email's field values as JSON data for a queue, and back: plain JSON types, plus Decimal,
dates, times and UUIDs tagged; anything else is refused naming the field."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..errors import ContextError

_TAG = "__emailkit__"


def encode(value: Any, where: str) -> Any:
    """``value`` as JSON data: plain JSON types, plus Decimal, dates, times and UUIDs tagged.

    Anything else raises :class:`ContextError` naming the field, at enqueue time.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [encode(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        if _TAG in value or not all(isinstance(key, str) for key in value):
            raise ContextError(f"{where}: dict keys must be strings (and not {_TAG!r})")
        return {key: encode(item, f"{where}[{key!r}]") for key, item in value.items()}
    for kind, types in (
        ("decimal", Decimal),
        ("datetime", dt.datetime),
        ("date", dt.date),
        ("time", dt.time),
        ("uuid", uuid.UUID),
    ):
        if isinstance(value, types):
            text = value.isoformat() if hasattr(value, "isoformat") else str(value)
            return {_TAG: kind, "value": text}
    raise ContextError(
        f"{where} is a {type(value).__name__}, which send_later cannot carry: a queued email "
        "holds JSON data (str, numbers, bools, None, lists, dicts, Decimal, dates, UUIDs). "
        "Pass plain data, or an id the worker looks the object up by."
    )


_DECODERS: dict[str, Callable[[str], Any]] = {
    "decimal": Decimal,
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "uuid": uuid.UUID,
}


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, dict):
        kind = value.get(_TAG)
        if kind is None:
            return {key: decode(item) for key, item in value.items()}
        return _DECODERS[kind](value["value"])
    return value
