"""KPIs: status rules on hand-made histories for every status and direction, ranges, targets
below the start value, deadlines, gaps, every input library, and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import kpikit
from kpikit.kpi import STATUSES


def history(values: list[float | None], start: str = "2026-01-01", freq: str = "MS") -> pd.DataFrame:
    return pd.DataFrame({"period": pd.date_range(start, periods=len(values), freq=freq), "nrr": values})


def test_increase_towards_a_deadline_every_status(make_table: Callable[[dict[str, list[Any]]], Any]) -> None:
    # NRR from 1.00 to 1.10 by May, tracked from February; at risk within 0.025.
    # Jan: before the start. Feb: 1.00, no trend yet, 0.10 short: behind. Mar: trend 0.02 a month
    # through 1.00, 1.02 → 1.02 + 0.02 × 2 = 1.06 in May: behind. Apr: no value: no data.
    # May: 1.09 with the trend through Feb, Mar, May (slope 0.03) projects 1.09 at May: 0.01
    # short, at risk. Jun: 1.12, met: achieved. Jul: 1.05 after the deadline: overdue.
    h = history([0.9, 1.00, 1.02, None, 1.09, 1.12, 1.05])
    table = make_table({"period": h.period.tolist(), "nrr": h.nrr.tolist()})
    kpi = kpikit.KPI("nrr", target=1.10, start="2026-02-01", deadline="2026-05-31", thresholds={"at_risk": 0.025})
    r = kpi.evaluate(table, output="pandas")
    assert r.status.tolist() == ["not_started", "behind", "behind", "no_data", "at_risk", "achieved", "overdue"]
    # Attainment from the first tracked value 1.00: (1.09 − 1.00) / (1.10 − 1.00) = 0.9.
    assert r.attainment[4] == pytest.approx(0.9)
    assert r.projected[2] == pytest.approx(1.06)
    assert r.improved.tolist()[1:3] == [True, True] and r.improved[6] == False  # noqa: E712 - a numpy bool is not the False singleton
    assert set(r.status) <= set(STATUSES)


def test_decrease_inferred_from_a_target_below_the_start() -> None:
    # Target 2 % below the first value 5 %: a decrease, read from the start value.
    h = pd.DataFrame({"period": pd.date_range("2026-01-01", periods=3, freq="MS"), "churn": [0.05, 0.03, 0.02]})
    r = kpikit.KPI("churn", target=0.02).evaluate(h)
    assert r.status.tolist() == ["behind", "behind", "on_track"]
    # (0.05 − 0.03) / (0.05 − 0.02)
    assert r.attainment.tolist() == pytest.approx([0.0, 2 / 3, 1.0])
    assert r.improved.tolist()[1:] == [True, True]


def test_a_range_to_stay_in() -> None:
    h = pd.DataFrame({"period": pd.date_range("2026-01-01", periods=4, freq="MS"), "churn": [0.015, 0.021, 0.03, 0.01]})
    r = kpikit.KPI("churn", target=(0.01, 0.02), thresholds={"at_risk": 0.002}).evaluate(h)
    # 0.021 is 0.001 above the range (inside the band), 0.03 is 0.01 above; 0.01 is the edge.
    assert r.status.tolist() == ["on_track", "at_risk", "behind", "on_track"]
    assert r.target_low.tolist() == [0.01] * 4 and r.target_high.tolist() == [0.02] * 4
    assert r.improved.tolist()[1:] == [False, False, True]


def test_quarterly_history_with_a_missing_quarter_counts_calendar_periods() -> None:
    # Q1 100, Q2 missing, Q3 120, target 150 by Q4: the trend is 10 a quarter (100 → 120 over two
    # quarters), so Q3 projects 130 at Q4: behind.
    h = pd.DataFrame({"period": pd.to_datetime(["2026-01-01", "2026-07-01"]), "arr": [100.0, 120.0]})
    r = kpikit.KPI("arr", target=150.0, cadence="quarter", deadline="2026-12-31").evaluate(h)
    assert r.period.dt.month.tolist() == [1, 4, 7]
    assert r.status.tolist() == ["behind", "no_data", "behind"]
    assert r.projected[2] == pytest.approx(130.0)


def test_kpi_over_revenue_metrics_of_the_demo_company() -> None:
    d = kpikit.datasets.demo()
    rates = kpikit.revenue_metrics(d.subscriptions, customer="customer_id", period="month", mrr="mrr")
    kpi = kpikit.KPI("net_revenue_retention", target=1.0, direction="increase", owner="customer success")
    r = kpi.evaluate(rates)
    assert len(r) == len(rates)
    # Every month with a value is judged against the target 1.0 exactly as written.
    met = rates.net_revenue_retention >= 1.0
    judged = r.status[rates.net_revenue_retention.notna()]
    assert (judged[met] == "on_track").all() and (judged[~met] != "on_track").all()


def test_bad_kpis_and_histories() -> None:
    h = history([1.0, 1.1])
    with pytest.raises(kpikit.ParameterError, match="neutral"):
        kpikit.KPI("nrr", target=1.2, direction="neutral").evaluate(h)
    with pytest.raises(kpikit.ParameterError, match="low end above"):
        kpikit.KPI("nrr", target=(2.0, 1.0)).evaluate(h)
    with pytest.raises(kpikit.ParameterError, match="thresholds"):
        kpikit.KPI("nrr", target=1.2, thresholds={"red": 0.1})
    with pytest.raises(kpikit.ParameterError, match="deadline"):
        kpikit.KPI("nrr", target=1.2, start="2026-03-01", deadline="2026-01-01").evaluate(h)
    dup = pd.concat([h, h.iloc[:1]], ignore_index=True)
    with pytest.raises(kpikit.InputError, match=r"period.*one row per period.*row 2"):
        kpikit.KPI("nrr", target=1.2).evaluate(dup)
    with pytest.raises(kpikit.SchemaError, match="mrr"):
        kpikit.KPI("mrr", target=1.2).evaluate(h)
