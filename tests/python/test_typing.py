"""Return types for type checkers: a table function's result is typed in the library it comes
back in (docs/vocabulary.md#return-types), and every setting keeps its own type.

One mypy run over a small script of calls; each ``reveal_type`` line states the type it must
show, and the formulas' and models' calls are run too, to check the type is what they return.
pyarrow ships no type information: the run reads the ``pyarrow-stubs`` package (the ``test``
extra), without which every pyarrow type is ``Any``.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

pytest.importorskip("mypy")
try:
    importlib.metadata.version("pyarrow-stubs")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("pyarrow-stubs is not installed (the test extra)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
PANDAS = "pandas.core.frame.DataFrame"
POLARS = "polars.dataframe.frame.DataFrame"
ARROW = "pyarrow.__lib_pxi.table.Table"
SERIES = "pandas.core.series.Series[float]"
PL_SERIES = "polars.series.series.Series"
ARROW_ARRAY = "pyarrow.__lib_pxi.array.DoubleArray"
NDARRAY = "numpy.ndarray[tuple[Any, ...], numpy.dtype[numpy.float64]]"
ANY_FORMULA = f"{SERIES} | {PL_SERIES} | {ARROW_ARRAY} | {NDARRAY} | list[float | None] | float | None"

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
    ("kpikit.clv.customer_lifetime_value(pl_df, transaction_model=bg, spend_model=gg)", PL_SERIES),
    ("kpikit.clv.customer_lifetime_value(pa_t, transaction_model=bg, spend_model=gg)", ARROW_ARRAY),
    ("kpikit.clv.BetaGeo().fit(pd_df)", "kpikit.clv.BetaGeo"),
    ("bg.summary", PANDAS),
    ("kpikit.clv.ParetoNBD().fit(pl_df, weights='w')", "kpikit.clv.ParetoNBD"),
    ("kpikit.clv.GammaGamma().fit(customers)", "kpikit.clv.GammaGamma"),
    ("bg.log_likelihood(customers)", "float"),
    # A library chosen at run time: any of the three.
    ('kpikit.nps(pd_df, score="score", output=where)', f"{PANDAS} | {POLARS} | {ARROW}"),
    ('kpikit.quota_attainment(pd_df, pl_df, rep="r", time="t", output=passed_on)', f"{PANDAS} | {POLARS} | {ARROW}"),
]

# Elementwise formulas: the result is in the first library among the operands (pandas, polars,
# Arrow, numpy, lists, numbers); operands passed by keyword give any of the kinds. The models'
# predictions: per customer in the table's library; over horizons, shaped like the horizons.
# These calls run too (test_the_static_type_is_what_runs).
RUNNING = [
    ("kpikit.formulas.ratio(pd_series, 2)", SERIES),
    ("kpikit.formulas.ratio(2, pd_series)", SERIES),
    ("kpikit.formulas.ratio(pl_series, pd_series)", SERIES),
    ("kpikit.formulas.ratio(np_array, pl_series)", PL_SERIES),
    ("kpikit.formulas.conversion_rate(pa_array, numbers)", ARROW_ARRAY),
    ("kpikit.formulas.roi(pa_chunked, 1.5)", ARROW_ARRAY),
    ("kpikit.formulas.share(numbers, np_array)", NDARRAY),
    ("kpikit.formulas.churn_rate(numbers, 100)", "list[float | None]"),
    ("kpikit.formulas.cac(1_000, 0)", "float | None"),
    ("kpikit.formulas.cagr(100, pl_series, 2)", PL_SERIES),
    ("kpikit.formulas.pipeline_velocity(40, 25_000, 0.25, np_array)", NDARRAY),
    ("kpikit.formulas.ltv(200, 0.02, gross_margin=0.8)", "float | None"),
    ("kpikit.formulas.cac_payback_months(pd_series, 200)", SERIES),
    ("kpikit.formulas.growth_rate(pl_series, periods=2)", PL_SERIES),
    ("kpikit.formulas.gross_margin(pd_series, cogs=pd_series)", ANY_FORMULA),
    ("kpikit.clv.customer_lifetime_value(columns_of_customers, transaction_model=bg, spend_model=gg)", NDARRAY),
    (
        "kpikit.clv.customer_lifetime_value({'frequency': 2, 'recency': 30.0, 'T': 40.0, 'm': 20.0}, transaction_model=bg, monetary_value='m')",
        NDARRAY,
    ),
    ("bg.conditional_expected_number_of_purchases_up_to_time(customers, t=10)", SERIES),
    ("bg.predict(pl_customers, t=10)", PL_SERIES),
    ("bg.conditional_probability_alive(pa_customers)", ARROW_ARRAY),
    ("bg.conditional_probability_alive(columns_of_customers)", NDARRAY),
    ("bg.conditional_probability_alive({'frequency': 2, 'recency': 30.0, 'T': 40.0})", "float"),
    ("bgbb.conditional_probability_alive(customers, t=2)", SERIES),
    ("gg.conditional_expected_average_profit(pl_customers)", PL_SERIES),
    ("bg.expected_number_of_purchases_up_to_time(10)", "float"),
    ("bg.expected_number_of_purchases_up_to_time(pd_series)", SERIES),
    ("bg.expected_number_of_purchases_up_to_time(pl_series)", NDARRAY),
    ("bg.probability_of_n_purchases_up_to_time(10, numbers)", NDARRAY),
    ("sbg.survival_function(3)", "float"),
    ("sbg.retention_rate(pd_series)", SERIES),
    ("sbg.probability_of_churn(np_array)", NDARRAY),
    ("sbg.expected_residual_lifetime()", "float"),
    ("sbg.expected_residual_lifetime(pd_series, discount_rate=0.05)", SERIES),
]

# Calls a type checker must refuse: the settings keep their names and types, ``output`` is
# keyword-only, a formula takes numbers and columns.
REFUSED = [
    ('kpikit.nps(pd_df, scor="score")', 'Unexpected keyword argument "scor"'),
    ('kpikit.nps(pd_df, score="score", freq=7)', "No overload variant"),
    ('kpikit.mrr_movements(pd_df, customer="c", output="excel")', "No overload variant"),
    ('kpikit.quota_attainment(pd_df, rep="r", time="t")', "No overload variant"),
    ('kpikit.nps(pd_df, "arrow", score="score")', "is deprecated: output is keyword-only"),
    ('kpikit.quota_attainment(pd_df, pl_df, "polars", rep="r", time="t")', "is deprecated: output is keyword-only"),
    ('kpikit.formulas.ratio("a", pd_series)', 'incompatible type "str"'),
    ("kpikit.formulas.ratio(pd_series, pd_series, pd_series)", "No overload variant"),
    ("kpikit.formulas.ratio(numerator=pd_series, denominatr=pd_series)", 'Unexpected keyword argument "denominatr"'),
    ("kpikit.formulas.growth_rate(pd_series, periods=1.5)", "No overload variant"),
    ("bg.conditional_probability_alive(customers, t=2)", "No overload variant"),
    ("bg.conditional_expected_number_of_purchases_up_to_time(customers, 10)", "No overload variant"),
    ("sbg.expected_residual_lifetime(2, 0.1)", "No overload variant"),
]


def _script() -> str:
    lines = [
        "from typing import Any",
        "import dask.dataframe as dd",
        "import numpy as np",
        "import numpy.typing as npt",
        "import pandas as pd",
        "import polars as pl",
        "import pyarrow as pa",
        "import kpikit",
        "import kpikit.dask",
        "from kpikit._typing import Output",
        "",
        "def calls(pd_df: pd.DataFrame, pd_series: pd.Series[float], pl_df: pl.DataFrame, pl_lazy: pl.LazyFrame,",
        "          pa_t: pa.Table, dd_df: dd.DataFrame, columns: dict[str, list[int]], where: Output, passed_on: Output | None,",
        "          bg: kpikit.clv.BetaGeo, gg: kpikit.clv.GammaGamma, bgbb: kpikit.clv.BetaGeoBetaBinom,",
        "          sbg: kpikit.clv.ShiftedBetaGeo, pl_series: pl.Series, pa_array: pa.DoubleArray,",
        "          pa_chunked: pa.ChunkedArray[pa.DoubleScalar], np_array: npt.NDArray[np.float64], numbers: list[float],",
        "          customers: pd.DataFrame, pl_customers: pl.DataFrame, pa_customers: pa.Table,",
        "          columns_of_customers: dict[str, list[float]]) -> None:",
    ]
    lines += [f"    reveal_type({call})" for call, _ in CASES + RUNNING]
    lines += [f"    {call}" for call, _ in REFUSED]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[int, str]]:
    """mypy's output over the script, and the script's line number of each call."""
    tmp = tmp_path_factory.mktemp("typing")
    script = _script()
    (tmp / "calls.py").write_text(script)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), *sys.path])}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--show-error-codes",
            # output passed by position matches an overload marked deprecated (kpikit._typing).
            "--enable-error-code",
            "deprecated",
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


@pytest.mark.parametrize("call, expected", CASES + RUNNING, ids=[c for c, _ in CASES + RUNNING])
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
    expected_lines = {n for n, text in numbers.items() if any(call in text for call, _ in CASES + RUNNING + REFUSED)}
    stray = [
        line for line in report.splitlines() if line.startswith("calls.py:") and int(line.split(":")[1]) not in expected_lines
    ]
    assert stray == []
    assert not [line for line in report.splitlines() if line and not line.startswith("calls.py:")]


def _values() -> dict[str, Any]:
    """The script's variables used by RUNNING, as real objects (models with published
    parameters: BG/NBD and Gamma-Gamma of the CDNOW sample, Fader, Hardie & Lee 2005)."""
    import polars as pl

    import kpikit

    customers = {
        "frequency": [2.0, 0.0, 5.0],
        "recency": [30.0, 0.0, 35.0],
        "T": [40.0, 40.0, 38.0],
        "monetary_value": [20.0, 0.0, 35.0],
    }
    bg = kpikit.clv.BetaGeo()
    bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    bgbb = kpikit.clv.BetaGeoBetaBinom()
    bgbb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    gg = kpikit.clv.GammaGamma()
    gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    sbg = kpikit.clv.ShiftedBetaGeo()
    sbg.params_ = {"alpha": 0.704, "beta": 1.182}
    return {
        "kpikit": kpikit,
        "pd_series": pd.Series([1.0, 2.0, 3.0], index=[10, 11, 12]),
        "pl_series": pl.Series([1.0, 2.0, 3.0]),
        "pa_array": pa.array([1.0, 2.0, 3.0]),
        "pa_chunked": pa.chunked_array([[1.0], [2.0, 3.0]]),
        "np_array": np.array([1.0, 2.0, 3.0]),
        "numbers": [1.0, 2.0, 3.0],
        "customers": pd.DataFrame(customers),
        "pl_customers": pl.DataFrame(customers),
        "pa_customers": pa.table(customers),
        "columns_of_customers": customers,
        "bg": bg,
        "bgbb": bgbb,
        "gg": gg,
        "sbg": sbg,
    }


# The class a revealed type names, as the run's type is named (pyarrow's stub modules are
# pyarrow.lib at run time).
RUNTIME_NAMES = {
    SERIES: "pandas.Series",
    PL_SERIES: "polars.Series",
    ARROW_ARRAY: "pyarrow.DoubleArray",
    NDARRAY: "numpy.ndarray",
    "list[float | None]": "builtins.list",
    "float": "builtins.float",
}


@pytest.mark.parametrize("call, expected", RUNNING, ids=[c for c, _ in RUNNING])
def test_the_static_type_is_what_runs(call: str, expected: str) -> None:
    pytest.importorskip("polars")
    result = eval(call, _values())  # the call exactly as the script writes it
    parts = [expected] if expected in RUNTIME_NAMES else expected.split(" | ")
    allowed = {RUNTIME_NAMES[t] for t in parts if t in RUNTIME_NAMES}
    if "None" in parts:
        allowed.add("builtins.NoneType")
    if expected == ANY_FORMULA:
        allowed = {"pandas.Series"}  # by keyword: any kind statically, the operands' at run time
    kind = type(result)
    name = f"{kind.__module__.split('.')[0]}.{kind.__name__}"
    assert name in allowed, f"{call} returned {name}, typed {expected}"
    if kind is float:
        assert np.isfinite(result)
    if kind is list:
        assert all(v is None or type(v) is float for v in result)
