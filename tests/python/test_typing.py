"""Return types for type checkers: a table function's result is typed in the library it comes
back in (docs/vocabulary.md#return-types), and every setting keeps its own type.

One mypy run over a small script of calls; each ``reveal_type`` line states the type it must
show. pyarrow ships no type information, so the run reads a two-class stand-in for it
(``pyarrow.lib.Table``, where the real class lives) — without one every pyarrow type is ``Any``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parents[2]
PANDAS = "pandas.core.frame.DataFrame"
POLARS = "polars.dataframe.frame.DataFrame"
ARROW = "pyarrow.lib.Table"

# Each call, and the type mypy must reveal for it.
CASES = [
    ('kpikit.nps(pd_df, score="score")', PANDAS),
    ('kpikit.nps(pl_df, score="score")', POLARS),
    ('kpikit.nps(pa_t, score="score")', ARROW),
    ('kpikit.nps(pd_df, score="score", output="arrow")', ARROW),
    ('kpikit.nps(pl_df, score="score", output="pandas")', PANDAS),
    ('kpikit.csat(pa_t, score="score", output="polars")', POLARS),
    ('kpikit.mrr_movements(pl_df, customer="c", period="p", mrr="m")', POLARS),
    ('kpikit.mrr_movements([pd_df, pd_df], customer="c", period="p", mrr="m")', PANDAS),
    ('kpikit.mrr_movements(pd_df, customer="c", period="p", mrr="m", output="arrow")', ARROW),
    ('kpikit.funnel(pa_t, user="u", time="t", steps=["a", "b"], output="polars")', POLARS),
    ('kpikit.retention(pl_df, user="u", time="t", freq="month")', POLARS),
    ('kpikit.deal_metrics(pd_df, created="c", closed="d", amount="a", won="w")', PANDAS),
    ('kpikit.rfm_summary(pd_series, customer="c", time="t")', PANDAS),
    ('kpikit.lifecycle(pl_lazy, user="u", time="t")', POLARS),
    ('kpikit.quota_attainment(pl_df, pd_df, rep="r", time="t")', POLARS),
    ('kpikit.quota_attainment(pd_df, pl_df, rep="r", time="t", output="arrow")', ARROW),
    # Dask DataFrames are computed to pandas; the Dask entry points are the same functions.
    ('kpikit.dask.active_users(dd_df, user="u", time="t")', PANDAS),
    ('kpikit.dask.revenue_metrics(dd_df, customer="c", period="p", mrr="m")', PANDAS),
    ('kpikit.nps(columns, score="score")', PANDAS),
    ("kpikit.catalog()", PANDAS),
    # One value per customer, in the table's library; a fitted model is its own class.
    (
        "kpikit.clv.customer_lifetime_value(pd_df, transaction_model=bg, spend_model=gg)",
        "pandas.core.series.Series[float]",
    ),
    ("kpikit.clv.customer_lifetime_value(pl_df, transaction_model=bg, spend_model=gg)", "polars.series.series.Series"),
    ("kpikit.clv.customer_lifetime_value(pa_t, transaction_model=bg, spend_model=gg)", "pyarrow.lib.Array"),
    ("kpikit.clv.BetaGeo().fit(pd_df)", "kpikit.clv.BetaGeo"),
    ("bg.summary", PANDAS),
    # A library chosen at run time: any of the three.
    ('kpikit.nps(pd_df, score="score", output=where)', f"{PANDAS} | {POLARS} | {ARROW}"),
    ('kpikit.quota_attainment(pd_df, pl_df, rep="r", time="t", output=passed_on)', f"{PANDAS} | {POLARS} | {ARROW}"),
]

# Calls a type checker must refuse: the settings keep their names and types.
REFUSED = [
    ('kpikit.nps(pd_df, scor="score")', 'Unexpected keyword argument "scor"'),
    ('kpikit.nps(pd_df, score="score", freq=7)', "No overload variant"),
    ('kpikit.mrr_movements(pd_df, customer="c", output="excel")', "No overload variant"),
    ('kpikit.quota_attainment(pd_df, rep="r", time="t")', "No overload variant"),
]

PYARROW_STAND_IN = {
    "pyarrow/__init__.pyi": """
        from typing import Any
        from pyarrow.lib import Array as Array, RecordBatch as RecordBatch, Table as Table
        def __getattr__(name: str) -> Any: ...
    """,
    "pyarrow/lib.pyi": """
        from typing import Any
        class Table: ...
        class Array: ...
        class RecordBatch: ...
        def __getattr__(name: str) -> Any: ...
    """,
}


def _script() -> str:
    lines = [
        "from typing import Any",
        "import dask.dataframe as dd",
        "import pandas as pd",
        "import polars as pl",
        "import pyarrow as pa",
        "import kpikit",
        "import kpikit.dask",
        "from kpikit._typing import Output",
        "",
        "def calls(pd_df: pd.DataFrame, pd_series: pd.Series[float], pl_df: pl.DataFrame, pl_lazy: pl.LazyFrame,",
        "          pa_t: pa.Table, dd_df: dd.DataFrame, columns: dict[str, list[int]], where: Output, passed_on: Output | None,",
        "          bg: kpikit.clv.BetaGeo, gg: kpikit.clv.GammaGamma) -> None:",
    ]
    lines += [f"    reveal_type({call})" for call, _ in CASES]
    lines += [f"    {call}" for call, _ in REFUSED]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[int, str]]:
    """mypy's output over the script, and the script's line number of each call."""
    tmp = tmp_path_factory.mktemp("typing")
    for name, text in PYARROW_STAND_IN.items():
        (tmp / "stubs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "stubs" / name).write_text(textwrap.dedent(text).lstrip())
    script = _script()
    (tmp / "calls.py").write_text(script)
    env = {**os.environ, "MYPYPATH": str(tmp / "stubs"), "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), *sys.path])}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--show-error-codes",
            "--cache-dir",
            str(tmp / "cache"),
            "--python-version",
            "3.11",
            "calls.py",
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "calls.py" in run.stdout, run.stdout + run.stderr
    numbers = {i + 1: line.strip() for i, line in enumerate(script.splitlines())}
    return run.stdout, numbers


def _lines_about(report: str, numbers: dict[int, str], call: str) -> list[str]:
    line = next(n for n, text in numbers.items() if call in text)
    return [m.group(1) for m in re.finditer(rf"^calls\.py:{line}: (.*)$", report, re.M)]


@pytest.mark.parametrize("call, expected", CASES, ids=[c for c, _ in CASES])
def test_the_result_is_typed_in_the_library_it_comes_back_in(
    mypy_report: tuple[str, dict[int, str]], call: str, expected: str
) -> None:
    report, numbers = mypy_report
    found = _lines_about(report, numbers, f"reveal_type({call})")
    assert found == [f'note: Revealed type is "{expected}"'], "\n".join(found) or report


@pytest.mark.parametrize("call, error", REFUSED, ids=[c for c, _ in REFUSED])
def test_settings_keep_their_names_and_types(mypy_report: tuple[str, dict[int, str]], call: str, error: str) -> None:
    report, numbers = mypy_report
    found = [f for f in _lines_about(report, numbers, call) if f.startswith("error:")]
    assert any(error in f for f in found), "\n".join(found) or report


def test_only_the_script_is_reported(mypy_report: tuple[str, dict[int, str]]) -> None:
    # Nothing but the expected notes and errors: no error inside kpikit, no unexpected Any.
    report, numbers = mypy_report
    expected_lines = {n for n, text in numbers.items() if any(call in text for call, _ in CASES + REFUSED)}
    stray = [
        line for line in report.splitlines() if line.startswith("calls.py:") and int(line.split(":")[1]) not in expected_lines
    ]
    assert stray == []
    assert not [line for line in report.splitlines() if line and not line.startswith("calls.py:")]
