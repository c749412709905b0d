"""Honest changes on KPIs: Wilson intervals and two-proportion significance from the counts
behind a rate, and the median/MAD anomaly flag — hand-computed cases and properties against a
plain-Python reference."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given, settings

import kpikit

Z = 1.959963984540054


def wilson_ref(k: float, n: float) -> tuple[float, float]:
    """Wilson (1927) score interval, written out directly."""
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (0.0 if k == 0 else centre - half), (1.0 if k == n else centre + half)


def z_ref(k1: float, n1: float, k2: float, n2: float) -> float:
    pooled = (k1 + k2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    return 0.0 if var == 0 else (k2 / n2 - k1 / n1) / math.sqrt(var)


def flags(column: Any) -> list[bool | None]:
    """A nullable boolean column as a list, null as None."""
    return [None if pd.isna(a) else bool(a) for a in column]


def anomaly_ref(values: list[float], lookback: int = 6) -> list[bool | None]:
    out: list[bool | None] = []
    for i, x in enumerate(values):
        if i < lookback:
            out.append(None)
            continue
        w = values[i - lookback : i]
        m = statistics.median(w)
        mad = statistics.median(abs(v - m) for v in w)
        out.append(None if mad == 0 else abs(x - m) / (1.4826 * mad) > 3.5)
    return out


def churn_history(churned: list[int], starting: list[int]) -> dict[str, list[Any]]:
    return {
        "period": list(pd.date_range("2026-01-01", periods=len(churned), freq="MS")),
        "customer_churn_rate": [k / n for k, n in zip(churned, starting, strict=True)],
        "churned_customers": churned,
        "starting_customers": starting,
    }


def test_wilson_bounds_and_significance_by_hand(make_table: Callable[[dict[str, list[Any]]], Any]) -> None:
    # Jan 10 of 100: p = 0.1, z²/n = 0.0384146, centre = 0.1192073 / 1.0384146 = 0.114798,
    # half = 1.959964 / 1.0384146 · √(0.0009 + 0.00009604) = 0.059568 → [0.0552, 0.1744].
    # Feb 14 of 100: pooled 24/200 = 0.12, se = √(0.12 · 0.88 · 0.02) = 0.045956,
    # z = 0.04 / 0.045956 = 0.870: not significant.
    # Mar 50 of 500 → Apr 80 of 500: pooled 0.13, se = √(0.13 · 0.87 · 0.004) = 0.0212697,
    # z = 0.06 / 0.0212697 = 2.821 > 1.96: significant. (Mar vs Feb: 0.10 vs 0.14, pooled
    # 64/600, se = √(0.10667 · 0.89333 · 0.012) = 0.033794, z = −1.18: not significant.)
    table = make_table(churn_history([10, 14, 50, 80], [100, 100, 500, 500]))
    kpi = kpikit.KPI("customer_churn_rate", target=0.05, numerator="churned_customers", denominator="starting_customers")
    r = kpi.evaluate(table, output="pandas")
    assert r.ci_low[0] == pytest.approx(0.0552, abs=5e-5)
    assert r.ci_high[0] == pytest.approx(0.1744, abs=5e-5)
    assert flags(r.significant) == [None, False, False, True]
    # 80 of 500: p = 0.16, z²/n = 0.00768291, centre = (0.16 + 0.00384146) / 1.00768291 = 0.162592,
    # half = 1.959964 / 1.00768291 · √(0.0002688 + 0.00000384) = 0.032122 → [0.1305, 0.1947].
    assert r.ci_low[3] == pytest.approx(0.1305, abs=5e-5)
    assert r.ci_high[3] == pytest.approx(0.1947, abs=5e-5)


def test_without_counts_the_columns_are_absent() -> None:
    h = pd.DataFrame(churn_history([1, 2], [10, 10]))
    r = kpikit.KPI("customer_churn_rate", target=0.05).evaluate(h)
    assert "ci_low" not in r and "ci_high" not in r and "significant" not in r
    assert "anomaly" in r


def test_zero_denominators_give_nulls_and_bad_counts_fail() -> None:
    # Feb has no starting customers: no interval, and Mar is tested against Jan (1/10 vs 5/10:
    # pooled 0.3, se = √(0.3 · 0.7 · 0.2) = 0.204939, z = 0.4 / 0.204939 = 1.95: just not significant).
    h = pd.DataFrame({"period": pd.date_range("2026-01-01", periods=3, freq="MS"), "r": [0.1, None, 0.5],
                      "k": [1, 0, 5], "n": [10, 0, 10]})
    r = kpikit.KPI("r", target=0.05, direction="decrease", numerator="k", denominator="n").evaluate(h)
    assert pd.isna(r.ci_low[1]) and pd.isna(r.ci_high[1])
    assert flags(r.significant) == [None, None, False]
    bad = h.assign(k=[1, 0, 11])
    with pytest.raises(kpikit.InputError, match="must not exceed the denominator"):
        kpikit.KPI("r", target=0.05, direction="decrease", numerator="k", denominator="n").evaluate(bad)
    with pytest.raises(kpikit.InputError, match="non-negative"):
        kpikit.KPI("r", target=0.05, direction="decrease", numerator="k", denominator="n").evaluate(h.assign(n=[10, -1, 10]))
    with pytest.raises(kpikit.ParameterError, match="numerator"):
        kpikit.KPI("r", target=0.05, numerator="k")
    with pytest.raises(kpikit.SchemaError, match="nope"):
        kpikit.KPI("r", target=0.05, direction="decrease", numerator="nope", denominator="n").evaluate(h)


def test_mad_anomaly_flags_a_spike_and_a_drop(make_table: Callable[[dict[str, list[Any]]], Any]) -> None:
    # Window 10 12 11 13 12 11: median 11.5, MAD 0.5, σ = 0.7413; 20 scores 8.5 / 0.7413 = 11.5:
    # flagged. Then window 12 11 13 12 11 20: median 12, MAD 1; 13 scores 0.67: not flagged;
    # 3 (window 11 13 12 11 20 13: median 12.5, |dev| 1.5 .5 .5 1.5 7.5 .5 → MAD 1, σ 1.4826)
    # scores 9.5 / 1.4826 = 6.4: flagged.
    values = [10.0, 12.0, 11.0, 13.0, 12.0, 11.0, 20.0, 13.0, 3.0]
    table = make_table({"period": list(pd.date_range("2026-01-01", periods=9, freq="MS")), "leads": values})
    r = kpikit.KPI("leads", target="previous", direction="increase").evaluate(table, output="pandas")
    assert flags(r.anomaly) == [None] * 6 + [True, False, True]
    # A flat window has MAD 0: null by the documented rule; a shorter lookback starts sooner.
    flat = pd.DataFrame({"period": pd.date_range("2026-01-01", periods=7, freq="MS"), "x": [5.0] * 6 + [50.0]})
    assert flags(kpikit.KPI("x", target=1.0, direction="increase").evaluate(flat).anomaly) == [None] * 7
    r3 = kpikit.KPI("leads", target=1.0, direction="increase", anomaly_periods=3).evaluate(table, output="pandas")
    # Window 10 12 11: median 11, MAD 1; 13 scores 2 / 1.4826 = 1.35: not flagged.
    assert flags(r3.anomaly)[:4] == [None, None, None, False]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=2, max_size=14), st.data())
def test_matches_the_reference(churned: list[int], data: st.DataObject) -> None:
    starting = [k + data.draw(st.integers(1, 200)) for k in churned]
    h = pd.DataFrame(churn_history(churned, starting))
    r = kpikit.KPI("customer_churn_rate", target=0.05, numerator="churned_customers", denominator="starting_customers").evaluate(h)
    for i, (k, n) in enumerate(zip(churned, starting, strict=True)):
        lo, hi = wilson_ref(k, n)
        assert r.ci_low[i] == pytest.approx(lo, abs=1e-12)
        assert r.ci_high[i] == pytest.approx(hi, abs=1e-12)
        assert r.ci_low[i] <= k / n <= r.ci_high[i]
        if i > 0:
            z = z_ref(churned[i - 1], starting[i - 1], k, n)
            if abs(abs(z) - Z) > 1e-9:
                assert r.significant[i] == (abs(z) > Z)
    expected = anomaly_ref([k / n for k, n in zip(churned, starting, strict=True)])
    assert [None if pd.isna(a) else bool(a) for a in r.anomaly] == expected
