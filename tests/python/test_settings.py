"""Settings are held to their declared types (kpikit._settings): the checks themselves."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import pytest

from kpikit import ParameterError
from kpikit._settings import checked, moment


@checked
def f(
    *,
    n: int = 1,
    rate: float = 0.5,
    flag: bool = False,
    word: str = "a",
    cols: str | Sequence[str] | None = None,
    windows: Mapping[str, int] | None = None,
    pair: tuple[int, int] = (0, 10),
    mode: Literal["x", "y"] = "x",
) -> str:
    return "ok"


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n=3), dict(n=np.int64(3)), dict(rate=2), dict(rate=np.float32(0.25)), dict(flag=np.bool_(True)),
        dict(cols="a"), dict(cols=["a", "b"]), dict(cols=("a",)), dict(windows={"mau": 30}),
        dict(pair=(1, 5)), dict(pair=[1, 5]), dict(mode="y"), dict(cols=None),
    ],
)
def test_values_of_the_declared_type_pass(kwargs: dict[str, object]) -> None:
    assert f(**kwargs) == "ok"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(n=2.5), 'parameter "n": expects a whole number, got 2.5'),
        (dict(n=2.0), "expects a whole number, got 2.0"),
        (dict(n=True), "got True"),
        (dict(rate=math.nan), 'parameter "rate": expects a finite number, got nan'),
        (dict(rate=math.inf), "finite number"),
        (dict(rate="0.5"), "finite number"),
        (dict(flag=1), 'parameter "flag": expects True or False, got 1'),
        (dict(word=5), 'parameter "word": expects a text, got 5'),
        (dict(cols=5), 'parameter "cols": expects a text or a list of texts or None, got 5'),
        (dict(cols=["a", 1]), "a list of texts"),
        (dict(windows={"w": 1.9}), 'parameter "windows": expects a mapping of a text to a whole number or None'),
        (dict(windows=[("w", 1)]), "mapping"),
        (dict(pair=(1.5, 5)), 'parameter "pair": expects a pair (a whole number, a whole number)'),
        (dict(pair=(1, 2, 3)), "pair"),
        (dict(mode="z"), "expects one of 'x', 'y', got 'z'"),
    ],
)
def test_values_of_another_kind_are_named_parameter_errors(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ParameterError) as e:
        f(**kwargs)
    assert words in str(e.value)


def test_the_wrapper_keeps_the_signature_and_the_docs() -> None:
    import inspect

    assert list(inspect.signature(f).parameters) == ["n", "rate", "flag", "word", "cols", "windows", "pair", "mode"]
    assert f.__name__ == "f"


@pytest.mark.parametrize(
    "value", ["2026-03-31", dt.date(2026, 3, 31), dt.datetime(2026, 3, 31), pd.Timestamp("2026-03-31"), np.datetime64("2026-03-31")]
)
def test_dates_in_every_usual_form(value: object) -> None:
    assert moment("end", value) == pd.Timestamp("2026-03-31")


@pytest.mark.parametrize("value", [5, 1.5, math.nan, True, "bogus", "", [], pd.NaT, "99999-01-01", object()])
def test_anything_else_is_not_a_date(value: object) -> None:
    with pytest.raises(ParameterError, match='parameter "end"'):
        moment("end", value)
    assert moment("end", None) is None
