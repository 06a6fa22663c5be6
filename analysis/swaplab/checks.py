"""The one value checker behind scenario keys, model knobs and sweep specs.

Each caller keeps its own error class and message (``<where>: must be <allowed>, got <value>``);
the shape they share is here: a kind (``bool``, ``choice``, ``int``, ``float``, ``number``,
``str`` (non-empty), ``text`` (any string)), an optional range and choices, and the
human-readable description of what is allowed.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["BadValue", "check_value", "describe"]


class BadValue(ValueError):
    """``check_value`` rejected a value; the caller raises its own one-line error."""


def describe(kind: str, lo: float | None = None, hi: float | None = None,
             lo_open: bool = False, choices: tuple[str, ...] = ()) -> str:
    """What a value of this kind and range may be, for an error message."""
    if kind == "bool":
        return "true or false"
    if kind == "choice":
        return "one of " + ", ".join(repr(c) for c in choices)
    if kind == "str":
        return "a non-empty string"
    if kind == "text":
        return "a string"
    what = "an integer" if kind == "int" else "a number"
    left = "(" if lo_open else "["
    if lo is not None and hi is not None:
        return f"{what} in {left}{lo:g}, {hi:g}]"
    if lo is not None:
        return f"{what} {'>' if lo_open else '>='} {lo:g}"
    return what


def check_value(kind: str, value: Any, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, choices: tuple[str, ...] = (),
                whole_floats: bool = False) -> Any:
    """``value`` checked against the kind and range and normalised (``float`` -> float,
    ``number`` kept as given); raise :class:`BadValue` otherwise.  ``whole_floats``: an
    ``int`` may be given as a float with no fractional part (``3.0``)."""
    if kind == "bool":
        if not isinstance(value, bool):
            raise BadValue
        return value
    if kind in ("str", "text"):
        if not isinstance(value, str) or (kind == "str" and not value):
            raise BadValue
        return value
    if kind == "choice":
        if value not in choices:
            raise BadValue
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue
    if kind == "int":
        if isinstance(value, float):
            if not (whole_floats and value.is_integer()):
                raise BadValue
            value = int(value)
    else:  # "float" or "number"
        if not math.isfinite(value):
            raise BadValue
        if kind == "float":
            value = float(value)
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise BadValue
    if hi is not None and value > hi:
        raise BadValue
    return value
