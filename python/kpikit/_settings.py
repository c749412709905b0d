"""Settings checked against their declared types before any work starts.

Every public function declares the type of each setting in its signature (docs/vocabulary.md
lists them). :func:`checked` holds each value a caller passes to that declaration, so a value
of the wrong kind — a float where a whole number belongs, a number where a word belongs, NaN
where a rate belongs, a word where a list of column names belongs — is a
:class:`~kpikit.ParameterError` naming the setting, never a coerced value, a foreign
exception or a number computed from something else than what was meant.
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import functools
import math
import numbers
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from .exceptions import ParameterError

F = TypeVar("F", bound=Callable[..., Any])


def checked(f: F) -> F:
    """``f`` with every keyword setting a caller passes checked against its annotation."""
    hints: dict[str, Any] | None = None

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal hints
        if hints is None:
            # Resolved on the first call: the module's names all exist by then.
            hints = typing.get_type_hints(f)
        for name, value in kwargs.items():
            hint = hints.get(name)
            if hint is not None and not _matches(value, hint):
                raise ParameterError(f'parameter "{name}": expects {_describe(hint)}, got {_show(value)}')
        return f(*args, **kwargs)

    return typing.cast(F, wrapper)


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the message about the setting
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def _args(hint: Any) -> tuple[Any, ...]:
    return typing.get_args(hint)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _numpy_bool(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the declared type ``hint`` (strictly: no coercion)."""
    if hint is Any or hint is object:
        return True
    if _is_union(hint):
        return any(_matches(value, a) for a in _args(hint))
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return any(value == a and type(value) is type(a) for a in _args(hint))
    if hint is bool:
        return isinstance(value, bool) or _numpy_bool(value)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool) and not _numpy_bool(value)
    if hint is float:
        return (
            isinstance(value, numbers.Real)
            and not isinstance(value, bool)
            and not _numpy_bool(value)
            and math.isfinite(value)
        )
    if hint is str:
        return isinstance(value, str)
    if origin in (list, cabc.Sequence, cabc.Iterable, cabc.Collection, set, frozenset, cabc.Set):
        if isinstance(value, (str, bytes)) or not isinstance(value, cabc.Iterable) or isinstance(value, cabc.Mapping):
            return False
        if origin is list and not isinstance(value, list):
            return False
        item = _args(hint)[0] if _args(hint) else Any
        # An iterator would be consumed here; only sized collections are looked into.
        return not isinstance(value, cabc.Sized) or all(_matches(v, item) for v in value)
    if origin in (dict, cabc.Mapping):
        if not isinstance(value, cabc.Mapping):
            return False
        key, val = _args(hint) if _args(hint) else (Any, Any)
        return all(_matches(k, key) and _matches(v, val) for k, v in value.items())
    if origin is tuple:
        if not isinstance(value, (tuple, list)):
            return False
        items = _args(hint)
        if len(items) == 2 and items[1] is Ellipsis:
            return all(_matches(v, items[0]) for v in value)
        return len(value) == len(items) and all(_matches(v, a) for v, a in zip(value, items, strict=True))
    if origin is not None:
        # Callable[...], type[...] and other generics: their own code checks them.
        return True
    if isinstance(hint, type):
        if getattr(hint, "_is_protocol", False):
            return True
        return isinstance(value, hint)
    return True


def _describe(hint: Any) -> str:
    """The declared type in words an analyst reads."""
    if _is_union(hint):
        parts = [_describe(a) for a in _args(hint)]
        return " or ".join(dict.fromkeys(parts))
    if hint is type(None):
        return "None"
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in _args(hint))
    words = {bool: "True or False", int: "a whole number", float: "a finite number", str: "a text"}
    if hint in words:
        return words[hint]
    if origin in (list, cabc.Sequence, cabc.Iterable, cabc.Collection, set, frozenset, cabc.Set):
        item = _args(hint)[0] if _args(hint) else Any
        return f"a list of {_plural(item)}"
    if origin in (dict, cabc.Mapping):
        key, val = _args(hint) if _args(hint) else (Any, Any)
        return f"a mapping of {_describe(key)} to {_describe(val)}"
    if origin is tuple:
        items = _args(hint)
        if len(items) == 2 and items[1] is Ellipsis:
            return f"a tuple of {_plural(items[0])}"
        return "a pair (" + ", ".join(_describe(a) for a in items) + ")" if len(items) == 2 else (
            "a tuple (" + ", ".join(_describe(a) for a in items) + ")"
        )
    return getattr(hint, "__name__", str(hint))


def _plural(hint: Any) -> str:
    plurals = {int: "whole numbers", float: "finite numbers", str: "texts", bool: "True/False values"}
    return plurals.get(hint, _describe(hint))


def moment(name: str, value: Any) -> Any:
    """A date or time setting (``start``, ``end``, ``as_of``, ``observation_end``…) as a pandas
    Timestamp, or None when ``value`` is None.

    Accepted: ISO text ("2026-03-31", "2026-03-31 12:00"), ``datetime.date``/``datetime``,
    pandas Timestamps and NumPy datetime64. Anything else — a number (which pandas would read
    as nanoseconds since 1970), a boolean, NaN or NaT, text that is not a date, an instant out
    of pandas' range — is a ParameterError naming the setting.
    """
    import datetime as dt

    import numpy as np
    import pandas as pd

    if value is None:
        return None
    if not isinstance(value, (str, dt.date, pd.Timestamp, np.datetime64)):
        raise ParameterError(f'parameter "{name}": expects a date or time, got {_show(value)}')
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as e:
        raise ParameterError(f'parameter "{name}": {_show(value)} is not a date or time ({e})') from None
    if pd.isna(ts):
        raise ParameterError(f'parameter "{name}": {_show(value)} is not a date or time')
    return ts


def local_micros(name: str, value: Any, tz: str) -> int | None:
    """A range bound (``start=``, ``end=``) as microseconds of wall-clock time in ``tz`` since
    1970, or None when ``value`` is None. Read as :func:`moment` reads it; a naive bound is
    wall time in ``tz``, an aware one is converted to ``tz`` first (docs/conventions.md,
    "Calendar periods"). The core compares the rows' local times with it.
    """
    ts = moment(name, value)
    if ts is None:
        return None
    if ts.tzinfo is not None:
        # An unknown zone is left to the core, which names it with the zones it knows.
        with contextlib.suppress(Exception):
            ts = ts.tz_convert(tz)
        ts = ts.tz_localize(None)
    return int(ts.value // 1000)
