"""Every setting of every public table function, given a value of the wrong kind.

The function's own signature is walked: each keyword-only setting (not the columns, which
test_adversarial mutates) is given, one at a time, values an analyst might type by mistake or
a program might pass (a float where a count belongs, a negative, a huge integer, NaN, an
infinity, an empty or unknown word, a list, a dict, a boolean), on top of the valid base call
of test_adversarial. The call must either give a result or raise a ``KpikitError``; a
``ParameterError`` must name the setting. Never a TypeError, ValueError, OverflowError or a
crash from inside, and never a silently coerced value: a float with a fraction is refused
where a whole number belongs.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import pandas as pd
import pytest

import kpikit
from kpikit import KpikitError, ParameterError
from test_adversarial import FUNCTIONS, SPECS, base_table

# Settings that name columns (test_adversarial covers those) or choose the result's library.
COLUMN_KINDS = {"column", "table", "operand"}

BAD_VALUES: list[Any] = [
    -1,
    0,
    2**70,
    1.5,
    math.nan,
    math.inf,
    "",
    "bogus",
    [],
    {},
    True,
    object(),
]


def _vocabulary_kinds() -> dict[str, str]:
    """Parameter name → kind (column, value, table, operand) from docs/vocabulary.md."""
    from test_vocabulary import vocabulary

    return {name: kind for name, (kind, _default) in vocabulary().items()}


def _settings(name: str) -> list[str]:
    kinds = _vocabulary_kinds()
    sig = inspect.signature(getattr(kpikit, name))
    return [
        p.name
        for p in sig.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
        and kinds.get(p.name, "value") not in COLUMN_KINDS
        and p.name not in ("output",)
    ]


CASES = [(name, setting) for name in FUNCTIONS for setting in _settings(name)]


def _call_with(name: str, setting: str, value: Any) -> Any:
    """The base call of ``name`` with ``setting`` replaced by ``value``."""
    real = getattr(kpikit, name)

    def patched(*args: Any, **kwargs: Any) -> Any:
        kwargs[setting] = value
        return real(*args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(kpikit, name, patched)
    try:
        return SPECS[name].call(base_table(name))
    finally:
        mp.undo()


@pytest.mark.parametrize(("name", "setting"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_a_wrong_value_of_a_setting_is_a_kpikit_error_naming_it(name: str, setting: str) -> None:
    problems = []
    for value in BAD_VALUES:
        try:
            out = _call_with(name, setting, value)
        except ParameterError as e:
            if setting not in str(e):
                problems.append(f"{value!r}: ParameterError without the name: {e}")
            continue
        except KpikitError:
            continue
        except Exception as e:  # any foreign exception is the failure this test reports
            problems.append(f"{value!r}: {type(e).__name__}: {e}")
            continue
        if not isinstance(out, pd.DataFrame):
            problems.append(f"{value!r}: returned {type(out).__name__}")
        elif isinstance(value, float) and not value.is_integer() and not math.isnan(value) and not math.isinf(value):
            # Accepted a fraction: only fine where the setting is a real number.
            sig = inspect.signature(getattr(kpikit, name)).parameters[setting]
            if sig.annotation in ("int", "int | None") or isinstance(sig.default, bool):
                problems.append(f"{value!r}: a fraction accepted by an integer setting")
    assert not problems, f"{name}({setting}=…):\n" + "\n".join(problems)


def test_every_function_has_settings_under_test() -> None:
    # The walk found the settings of the functions (not an empty parametrisation).
    assert len(CASES) > 60, CASES
    assert {n for n, _ in CASES} == set(FUNCTIONS) - {n for n in FUNCTIONS if not _settings(n)}
