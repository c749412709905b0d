"""kpikit.formulas: hand-computed values, missing values, every input library, zero-copy, errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import kpikit
from kpikit import InputError, ParameterError, SchemaError, _kpikit, formulas

# (formula, arguments, expected) — the arithmetic is in the comment.
HAND: list[tuple[str, tuple[float, ...], float]] = [
    ("ratio", (3, 4), 0.75),  # 3 / 4
    ("conversion_rate", (25, 1000), 0.025),  # 25 / 1000
    ("cagr", (100, 121, 2), 0.1),  # (121 / 100) ** (1 / 2) - 1 = 1.1 - 1
    ("roi", (150, 100), 0.5),  # (150 - 100) / 100
    ("net_profit_margin", (20, 200), 0.1),  # 20 / 200
    ("gross_margin", (200, 150), 0.25),  # (200 - 150) / 200
    ("operating_margin", (30, 200), 0.15),  # 30 / 200
    ("ebit", (1000, 600, 250), 150.0),  # 1000 - 600 - 250
    ("roce", (150, 1000, 250), 0.2),  # 150 / (1000 - 250)
    ("inventory_turnover", (600, 150), 4.0),  # 600 / 150
    ("sales_per_square_foot", (50_000, 2_000), 25.0),  # 50000 / 2000
    ("utilization", (30, 40), 0.75),  # 30 / 40
    ("effective_billable_rate", (9_000, 60), 150.0),  # 9000 / 60
    ("click_through_rate", (50, 2_000), 0.025),  # 50 / 2000
    ("open_rate", (180, 900), 0.2),  # 180 / 900
    ("cart_abandonment_rate", (120, 30), 0.75),  # 1 - 30 / 120
    ("average", (90, 4), 22.5),  # 90 / 4
    ("arpa", (50_000, 250), 200.0),  # 50000 / 250
    ("arpu", (12_000, 400), 30.0),  # 12000 / 400
    ("cac", (30_000, 60), 500.0),  # 30000 / 60
    ("ltv", (200, 0.02, 0.8), 8_000.0),  # 200 * 0.8 / 0.02
    ("ltv_cac_ratio", (8_000, 2_000), 4.0),  # 8000 / 2000
    ("cac_payback_months", (2_000, 200, 0.8), 12.5),  # 2000 / (200 * 0.8) = 2000 / 160
    ("burn_multiple", (1_500_000, 1_000_000), 1.5),  # 1500000 / 1000000
    ("capital_efficiency", (1_000_000, 1_600_000), 0.625),  # 1000000 / 1600000
    ("revenue_per_lead", (10_000, 400), 25.0),  # 10000 / 400
    ("pipeline_velocity", (40, 25_000, 0.25, 90), 2_777.777_777_777_778),  # 40 * 25000 * 0.25 / 90 = 250000 / 90
    ("quota_attainment", (90_000, 120_000), 0.75),  # 90000 / 120000
    ("dau_mau", (1_500, 5_000), 0.3),  # 1500 / 5000
    ("share", (30, 120), 0.25),  # 30 / 120
    ("churn_rate", (5, 200), 0.025),  # 5 / 200
    ("retention_rate", (200, 190, 20), 0.85),  # (190 - 20) / 200 = 170 / 200
    ("engagement_rate", (450, 15_000), 0.03),  # 450 / 15000
    ("share_ratio", (120, 4_800), 0.025),  # 120 / 4800
    ("time_on_site", (9_000, 60), 150.0),  # 9000 s / 60 sessions
    ("market_penetration_rate", (2_500, 50_000), 0.05),  # 2500 / 50000
    ("employee_turnover_rate", (6, 80), 0.075),  # 6 / 80
    ("employee_engagement_score", (156, 240), 0.65),  # 156 / 240
    ("project_completion_rate", (18, 24), 0.75),  # 18 / 24
    ("uptime", (43.2, 43_200), 0.999),  # 1 - 43.2 / 43200 = 1 - 0.001
    ("defect_rate", (12, 4_800), 0.0025),  # 12 / 4800
    ("production_rate", (1_440, 8), 180.0),  # 1440 / 8
    ("sales_efficiency", (600_000, 800_000), 0.75),  # 600000 / 800000
    ("capital_expenditure", (1_300, 1_000, 80), 380.0),  # 1300 - 1000 + 80
    ("roll_forward", (5_000, 400, 150), 5_250.0),  # 5000 + 400 - 150
    ("revenue_per_rep", (1_200_000, 8), 150_000.0),  # 1200000 / 8
    ("net_profit", (500_000, 420_000), 80_000.0),  # 500000 - 420000
    ("revenue", (320, 49.5), 15_840.0),  # 320 * 49.5
    ("upsell_rate", (9, 150), 0.06),  # 9 / 150
]


def test_every_formula_is_covered_and_exported() -> None:
    assert {name for name, _, _ in HAND} | {"growth_rate"} == set(formulas.__all__)
    assert "formulas" in kpikit.__all__ and kpikit.formulas is formulas


@pytest.mark.parametrize(("name", "args", "expected"), HAND, ids=[h[0] for h in HAND])
def test_hand_computed(name: str, args: tuple[float, ...], expected: float) -> None:
    fn = getattr(formulas, name)
    assert fn(*args) == pytest.approx(expected, rel=1e-12)
    # The same numbers as one-row columns give the same value.
    assert fn(*[[a] for a in args]) == pytest.approx([expected], rel=1e-12)


def test_defaults_of_gross_margin_arguments() -> None:
    assert formulas.ltv(200, 0.02) == pytest.approx(10_000.0)  # 200 * 1.0 / 0.02
    assert formulas.cac_payback_months(2_000, 200) == pytest.approx(10.0)  # 2000 / (200 * 1.0)


def test_growth_rate_by_hand() -> None:
    values = [100, 110, 99, None, 50, 0, 10]
    # t=1: (110-100)/100 = 0.1; t=2: (99-110)/110 = -0.1; t=3: missing; t=4: previous missing;
    # t=5: (0-50)/50 = -1; t=6: previous is zero -> missing
    assert formulas.growth_rate(values) == pytest.approx([None, 0.1, -0.1, None, None, -1.0, None])
    # periods=2: t=2: (99-100)/100 = -0.01; t=3: 110 -> missing; t=4: (50-99)/99; t=5: previous missing;
    # t=6: (10-50)/50 = -0.8
    got = formulas.growth_rate(values, periods=2)
    assert got == pytest.approx([None, None, -0.01, None, -49 / 99, None, -0.8])
    # Negative bases use |x|: (-50 - -100) / 100 = 0.5
    assert formulas.growth_rate([-100, -50]) == pytest.approx([None, 0.5])


@pytest.mark.parametrize("periods", [0, -1, 1.5, "1", True, None])
def test_growth_rate_rejects_bad_periods(periods: Any) -> None:
    with pytest.raises(ParameterError, match="periods") as e:
        formulas.growth_rate([1.0, 2.0], periods=periods)
    assert isinstance(e.value, ValueError)


# Formulas whose last argument is a plain denominator.
DIVISIONS = [n for n, args, _ in HAND
             if len(args) == 2 and n not in ("roi", "gross_margin", "cart_abandonment_rate", "uptime", "net_profit", "revenue")]


@pytest.mark.parametrize("name", DIVISIONS)
def test_zero_or_missing_denominator_is_missing(name: str) -> None:
    fn = getattr(formulas, name)
    assert fn(5, 0) is None
    assert fn(0, 0) is None
    assert fn(5, None) is None
    # 6 / 3 = 2; 5 / 0, 5 / NaN and 5 / null are missing
    assert fn([6, 5, 5, 5], [3, 0, float("nan"), None]) == [2.0, None, None, None]
    out = fn(np.array([6.0, 5.0]), np.array([3.0, 0.0]))
    assert out[0] == 2.0 and math.isnan(out[1])


def test_other_zero_denominators_are_missing() -> None:
    assert formulas.roi(10, 0) is None
    assert formulas.gross_margin(0, 10) is None
    assert formulas.cart_abandonment_rate(0, 0) is None
    assert formulas.roce(10, 5, 5) is None  # capital employed 5 - 5 = 0
    assert formulas.ltv(100, 0) is None
    assert formulas.cac_payback_months(100, 50, gross_margin=0) is None
    assert formulas.pipeline_velocity(1, 1, 1, 0) is None
    assert formulas.retention_rate(0, 5, 1) is None
    assert formulas.uptime(1, 0) is None and formulas.uptime(0, 0) is None
    # cagr: start_value <= 0, end_value < 0, years <= 0 are missing; a drop to zero is -100 %
    assert [formulas.cagr(*a) for a in [(0, 1, 1), (-1, 1, 1), (1, -1, 1), (1, 2, 0)]] == [None] * 4
    assert formulas.cagr(10, 0, 1) == -1.0


def test_missing_propagates_without_nan_tricks() -> None:
    # 1 ** NaN would be 1.0 in IEEE arithmetic; a missing input must still give missing.
    assert formulas.cagr(5, 5, float("nan")) is None
    assert formulas.ebit(1, None, 0) is None
    assert formulas.capital_expenditure(1, 1, None) is None and formulas.roll_forward(None, 1, 1) is None
    assert formulas.net_profit(1, float("nan")) is None and formulas.revenue(None, 2) is None
    assert formulas.ratio(pd.Series([1.0, np.nan]), 1).isna().tolist() == [False, True]


# The numbers [6, 5, 9] / [3, 0, None] in every input library, and the output type expected.
MAKERS: dict[str, tuple[Callable[[list[Any]], Any], type]] = {
    "pandas": (lambda v: pd.Series([np.nan if x is None else x for x in v], dtype="float64"), pd.Series),
    "pandas-int": (lambda v: pd.Series(v, dtype="Int64"), pd.Series),
    "pandas[pyarrow]": (lambda v: pd.Series(v, dtype="int64[pyarrow]"), pd.Series),
    "polars": (lambda v: pl.Series(v, dtype=pl.Int32), pl.Series),
    "pyarrow": (lambda v: pa.array(v, type=pa.float64()), pa.Array),
    "pyarrow-chunked": (lambda v: pa.chunked_array([v[:1], [], v[1:]], type=pa.int64()), pa.Array),
    "numpy": (lambda v: np.array([np.nan if x is None else x for x in v]), np.ndarray),
    "numpy-int": (lambda v: np.array([0 if x is None else x for x in v], dtype=np.int16)[:, None][:, 0], np.ndarray),
    "list": (lambda v: list(v), list),
}


def as_list(out: Any) -> list[float | None]:
    """Any result as a list with None for missing (NaN or null)."""
    if isinstance(out, pd.Series):
        out = out.to_numpy()
    if isinstance(out, pl.Series | pa.Array):
        out = out.to_list() if isinstance(out, pl.Series) else out.to_pylist()
    return [None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x) for x in out]


@pytest.mark.parametrize("lib", list(MAKERS))
def test_every_input_library(lib: str) -> None:
    make, out_type = MAKERS[lib]
    num = make([6, 5, 9])
    den = make([3, 0, None])
    out = formulas.ratio(num, den)
    assert isinstance(out, out_type)
    # 6 / 3 = 2; 5 / 0 missing; 9 / missing missing (numpy-int has 0 for missing: 9 / 0)
    assert as_list(out) == [2.0, None, None]
    # A scalar broadcast: [6, 5, 9] / 2
    assert as_list(formulas.ratio(num, 2)) == [3.0, 2.5, 4.5]
    if out_type is pd.Series:
        assert out.dtype == np.float64
    if out_type is pl.Series:
        assert out.dtype == pl.Float64 and out.null_count() == 2
    if out_type is pa.Array:
        assert out.type == pa.float64() and out.null_count == 2
    if out_type is np.ndarray:
        assert out.dtype == np.float64


def test_inputs_are_not_mutated() -> None:
    a = np.array([1.0, 2.0])
    s = pd.Series([4.0, 0.0])
    formulas.ratio(a, s)
    assert a.tolist() == [1.0, 2.0] and s.tolist() == [4.0, 0.0]


def test_scalars_give_a_number() -> None:
    assert formulas.ratio(1, 4) == 0.25 and isinstance(formulas.ratio(1, 4), float)
    assert formulas.ratio(np.float32(1), np.int64(4)) == 0.25


def test_output_precedence_and_pandas_index() -> None:
    idx = pd.Index(["x", "y", "z"], name="region")
    s = pd.Series([1, 2, 3], index=idx)
    # polars first, pandas second: pandas wins, with the pandas argument's index.
    out = formulas.share(pl.Series([1, 1, 3]), s)
    assert isinstance(out, pd.Series)
    assert out.index.equals(idx) and out.tolist() == [1.0, 0.5, 1.0]
    # Series on one index are paired row by row and keep it.
    assert formulas.ratio(s, pd.Series([2, 2, 2], index=idx)).index.equals(idx)
    assert isinstance(formulas.ratio(pa.array([1.0]), np.array([2.0])), pa.Array)
    assert isinstance(formulas.ratio(np.array([1.0]), [2.0]), np.ndarray)


def test_zero_copy_float64() -> None:
    s = pd.Series([1.0, 2.0, 3.0])
    assert _kpikit.column_buffer_addresses(s) == [s.to_numpy().ctypes.data]
    arrow_s = pd.Series([1.0, 2.0], dtype="float64[pyarrow]")
    assert _kpikit.column_buffer_addresses(arrow_s) == [arrow_s.array._pa_array.chunks[0].buffers()[1].address]
    p = pl.Series([1.0, 2.0, 3.0])
    assert _kpikit.column_buffer_addresses(p) == [p.to_numpy(allow_copy=False).ctypes.data]
    a = pa.array([1.0, 2.0])
    assert _kpikit.column_buffer_addresses(a) == [a.buffers()[1].address]
    c = pa.chunked_array([[1.0], [2.0, 3.0]])
    assert _kpikit.column_buffer_addresses(c) == [ch.buffers()[1].address for ch in c.chunks]
    # An integer column has to be converted, so its address differs (the check is not vacuous).
    i = pa.array([1, 2], type=pa.int64())
    assert _kpikit.column_buffer_addresses(i) != [i.buffers()[1].address]


def test_length_mismatch_names_both_parameters() -> None:
    with pytest.raises(InputError, match=r'"numerator" has 3 rows but "denominator" has 2') as e:
        formulas.ratio([1, 2, 3], pd.Series([1, 2]))
    assert isinstance(e.value, ValueError)
    with pytest.raises(InputError, match=r'"revenue" has 2 rows but "operating_expenses" has 1'):
        formulas.ebit([1, 2], 1, [1])


@pytest.mark.parametrize("text", [pd.Series(["a", "b"]), pl.Series(["a", "b"]), pa.array(["a", "b"]), ["a", "b"], "a"])
def test_strings_are_a_schema_error(text: Any) -> None:
    with pytest.raises(SchemaError, match="denominator") as e:
        formulas.ratio([1.0, 2.0], text)
    assert isinstance(e.value, TypeError)


def test_unknown_formula_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="unknown formula"):
        _kpikit.formula("no_such_formula", [1.0])


def _np_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """numpy reference: a / b with non-finite results (zero or NaN denominators, overflow) as NaN."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = a / b
    out[~np.isfinite(out)] = np.nan
    return out


floats = st.one_of(st.just(0.0), st.just(float("nan")), st.floats(-1e6, 1e6, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(floats, floats, floats), min_size=0, max_size=50))
def test_matches_numpy_reference(rows: list[tuple[float, float, float]]) -> None:
    a, b, c = (np.array([r[i] for r in rows], dtype=np.float64) for i in range(3))
    refs = {
        "ratio": (formulas.ratio(a, b), _np_ratio(a, b)),
        "roi": (formulas.roi(a, b), _np_ratio(a - b, b)),
        "gross_margin": (formulas.gross_margin(a, b), _np_ratio(a - b, a)),
        "cart_abandonment_rate": (formulas.cart_abandonment_rate(a, b), 1 - _np_ratio(b, a)),
        "roce": (formulas.roce(a, b, c), _np_ratio(a, b - c)),
        "ebit": (formulas.ebit(a, b, c), a - b - c),
        "retention_rate": (formulas.retention_rate(a, b, c), _np_ratio(b - c, a)),
        "ltv": (formulas.ltv(a, b, c), _np_ratio(a * c, b)),
        "uptime": (formulas.uptime(a, b), 1 - _np_ratio(a, b)),
        "capital_expenditure": (formulas.capital_expenditure(a, b, c), a - b + c),
        "roll_forward": (formulas.roll_forward(a, b, c), a + b - c),
        "net_profit": (formulas.net_profit(a, b), a - b),
        "revenue": (formulas.revenue(a, b), a * b),
    }
    for name, (got, want) in refs.items():
        assert isinstance(got, np.ndarray) and got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True, err_msg=name)


@settings(max_examples=100, deadline=None)
@given(st.lists(floats, min_size=0, max_size=40), st.integers(1, 5))
def test_growth_rate_matches_numpy(values: list[float], periods: int) -> None:
    x = np.array(values, dtype=np.float64)
    want = np.full(len(x), np.nan)
    if len(x) > periods:
        want[periods:] = _np_ratio(x[periods:] - x[:-periods], np.abs(x[:-periods]))
    got = formulas.growth_rate(pd.Series(x), periods=periods)
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-12, equal_nan=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(floats, min_size=1, max_size=30), floats)
def test_scalar_broadcast_equals_constant_column(values: list[float], k: float) -> None:
    col = pa.array(values)
    by_scalar = formulas.churn_rate(col, k)
    by_column = formulas.churn_rate(col, pa.array([k] * len(values)))
    assert by_scalar.equals(by_column)


# --- pandas Series are aligned on their index, as pandas arithmetic aligns them ---------------


def test_aligned_series_pair_by_label_not_by_position() -> None:
    # Same labels in another order: 5/100 for March 1st, 8/200 for March 3rd, whatever the order.
    conversions = pd.Series([8, 5], index=["2026-03-03", "2026-03-01"])
    visits = pd.Series([100, 200], index=["2026-03-01", "2026-03-03"])
    out = formulas.conversion_rate(conversions, visits)
    assert out.to_dict() == {"2026-03-01": 0.05, "2026-03-03": 0.04}
    # The index is the one pandas gives `conversions / visits`.
    assert out.index.equals((conversions / visits).index)


def test_misaligned_series_take_the_outer_join_of_their_indexes() -> None:
    # Labels 1, 2 on one side, 2, 3 on the other: pandas' a / b has 1, 2, 3 with 1 and 3 missing.
    a = pd.Series([10.0, 20.0], index=[1, 2])
    b = pd.Series([4.0, 5.0], index=[2, 3])
    out = formulas.ratio(a, b)
    assert out.index.tolist() == [1, 2, 3] and out.name == "ratio"
    assert out.isna().tolist() == [True, False, True] and out[2] == 5.0  # 20 / 4
    # Three Series: ebit = revenue − cogs − opex over every label of any of them.
    revenue = pd.Series([1000.0, 900.0], index=["q1", "q2"])
    cogs = pd.Series([600.0, 500.0], index=["q2", "q1"])
    opex = pd.Series([250.0, 100.0, 50.0], index=["q1", "q2", "q3"])
    got = formulas.ebit(revenue, cogs, opex)
    want = revenue - cogs - opex
    assert got.index.equals(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), equal_nan=True)
    assert got["q1"] == 250.0 and got["q2"] == 200.0 and math.isnan(got["q3"])


def test_numbers_broadcast_against_aligned_series() -> None:
    a = pd.Series([2.0, 3.0], index=["x", "y"])
    b = pd.Series([4.0, 6.0], index=["y", "x"])
    # ltv = arpa × gross_margin / churn_rate: x 2 × 0.5 / 6, y 3 × 0.5 / 4.
    out = formulas.ltv(a, b, 0.5)
    assert out["x"] == pytest.approx(1 / 6) and out["y"] == pytest.approx(0.375)


def test_a_positional_column_with_misaligned_series_is_refused() -> None:
    a = pd.Series([1.0, 2.0], index=[0, 1])
    b = pd.Series([1.0, 2.0], index=[1, 2])
    with pytest.raises(ParameterError, match=r"'operating_expenses' is paired by position.*different indexes"):
        formulas.ebit(a, b, np.array([1.0, 1.0]))
    # With one index shared by every Series, a positional column pairs by position as before.
    same = pd.Series([5.0, 7.0], index=[1, 0])
    assert formulas.ebit(same, same * 0, [1.0, 2.0]).tolist() == [4.0, 5.0]


def test_repeated_labels_that_cannot_be_paired_are_refused() -> None:
    a = pd.Series([1.0, 2.0, 3.0], index=[0, 0, 1])
    b = pd.Series([1.0, 2.0], index=[0, 2])
    with pytest.raises(ParameterError, match="repeats labels"):
        formulas.ratio(a, b)
    # Repeated labels on the same index on both sides pair by position (pandas does too).
    assert formulas.ratio(a, a * 2).tolist() == [0.5, 0.5, 0.5]


labels = st.lists(st.integers(0, 12), unique=True, max_size=10)


@settings(max_examples=150, deadline=None)
@given(labels, labels, st.data())
def test_alignment_matches_pandas_arithmetic(left: list[int], right: list[int], data: st.DataObject) -> None:
    nonzero = st.floats(0.5, 1e6) | st.floats(-1e6, -0.5)
    a = pd.Series(data.draw(st.lists(nonzero, min_size=len(left), max_size=len(left))), index=left, dtype=float)
    b = pd.Series(data.draw(st.lists(nonzero, min_size=len(right), max_size=len(right))), index=right, dtype=float)
    got = formulas.ratio(a, b)
    want = a / b
    assert got.index.equals(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-15, equal_nan=True)
    got = formulas.roi(a, b)
    np.testing.assert_allclose(got.to_numpy(), ((a - b) / b).to_numpy(), rtol=1e-12, equal_nan=True)


def test_cagr_takes_start_and_end_values() -> None:
    # (121 / 100) ** (1 / 2) − 1 = 0.1; `end` is the range bound everywhere (docs/vocabulary.md).
    assert formulas.cagr(start_value=100, end_value=121, years=2) == pytest.approx(0.1)
    with pytest.raises(TypeError):
        formulas.cagr(begin=100, end=121, years=2)  # type: ignore[call-arg]
    with pytest.raises(InputError, match='"start_value" has 2 rows but "end_value" has 1'):
        formulas.cagr([1.0, 2.0], [3.0], 1)


def _vocabulary_section(title: str) -> dict[str, str]:
    """Parameter -> default of one section of docs/vocabulary.md."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "vocabulary.md").read_text()
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| `")]
    return {cells[1].strip().strip("`"): cells[5].strip().strip("`") for cells in rows}


def test_every_formula_parameter_is_in_the_vocabulary() -> None:
    import inspect

    words = _vocabulary_section("Formulas")
    for name in formulas.__all__:
        for p in inspect.signature(getattr(formulas, name)).parameters.values():
            assert p.name in words, f"formulas.{name}({p.name}) is not in docs/vocabulary.md#formulas"
            default = words[p.name]
            if default not in ("required", "varies"):
                assert repr(p.default) == default, f"formulas.{name}({p.name}={p.default!r}) but the vocabulary says {default}"
    assert "begin" not in words and "end" not in words


def test_new_catalog_formulas_align_pandas_series_by_label() -> None:
    # Downtime is known for Jan and Feb, total time for Feb and Mar: only Feb has both, as in
    # pandas' `1 - down / total`. Feb: 1 - 14.4 / 40320 (28 days of minutes).
    down = pd.Series([43.2, 14.4], index=["2026-01", "2026-02"])
    total = pd.Series([40_320.0, 44_640.0], index=["2026-02", "2026-03"])
    got = formulas.uptime(down, total)
    assert got.index.tolist() == ["2026-01", "2026-02", "2026-03"] and got.name == "uptime"
    assert got.isna().tolist() == [True, False, True]
    assert got["2026-02"] == pytest.approx(1 - 14.4 / 40_320, rel=1e-12)
    # Leavers per average headcount by team, headcounts listed in another order: pairs by label.
    leavers = pd.Series([3, 1], index=["sales", "support"])
    headcount = pd.Series([20, 12], index=["support", "sales"])
    turnover = formulas.employee_turnover_rate(leavers, headcount)
    assert turnover.to_dict() == pytest.approx({"sales": 3 / 12, "support": 1 / 20})
    # A stock rolled forward with a number broadcast: 100 + 10 - 4 and 100 + 0 - 7.
    assert formulas.roll_forward(100, pd.Series([10, 0]), pd.Series([4, 7])).tolist() == [106.0, 93.0]
