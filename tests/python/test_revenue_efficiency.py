"""Lifetime value at zero churn (``ltv_zero_churn`` and the presets' rules) and the sales and
capital efficiency ratios (magic number, burn multiple, capital efficiency), hand-computed
(docs/conventions.md#revenue-rates, docs/conventions.md#sales-and-capital-efficiency)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import kpikit
from kpikit import formulas


def snapshots(history: dict[str, list[float]]) -> pd.DataFrame:
    """customer → MRR per month from 2026-01 (0 = no row)."""
    rows = [(c, pd.Timestamp(2026, 1 + i, 1), v) for c, values in history.items() for i, v in enumerate(values) if v > 0]
    return pd.DataFrame(rows, columns=["customer", "month", "mrr"])


def rates(history: dict[str, list[float]], **kw: Any) -> pd.DataFrame:
    return kpikit.revenue_metrics(snapshots(history), customer="customer", period="month", mrr="mrr", **kw)


# --- LTV when churn is zero -----------------------------------------------------------------------

STEADY = {"a": [100, 100, 100], "b": [50, 50, 50]}  # nobody leaves: churn 0 in February and March


def test_zero_churn_is_null_by_default_and_as_chartmogul_says() -> None:
    # ARPA 75, churn 0: no finite lifetime. ChartMogul computes LTV only when churn is not 0.
    assert rates(STEADY).ltv.isna().all()
    assert rates(STEADY, preset="chartmogul").ltv.isna().all()
    assert kpikit.revenue.CONVENTIONS["ltv_zero_churn"] == "null"
    assert kpikit.revenue.PRESETS["chartmogul"]["ltv_zero_churn"] == "null"


def test_zero_churn_keyword_values() -> None:
    assert rates(STEADY, ltv_zero_churn="zero").ltv.tolist()[1:] == [0.0, 0.0]
    # Stripe's rule: 1.67 % churn assumed at 0 %: 75 / 0.0167 = 4491.017964…
    assumed = rates(STEADY, ltv_zero_churn=0.0167).ltv.tolist()
    assert pd.isna(assumed[0])  # January: no starting customers, churn unknown, LTV unknown
    assert assumed[1:] == pytest.approx([75 / 0.0167] * 2, rel=1e-12)
    # ChartMogul's six-month average of 0 is 0 as well; its preset with "zero" gives 0.
    assert rates(STEADY, preset="chartmogul", ltv_zero_churn="zero").ltv.tolist()[2] == 0.0
    # A churn above zero is untouched: ARPA 100 / churn 1/2 = 200 whatever the keyword.
    assert rates({"a": [100, 100], "b": [50, 0]}, ltv_zero_churn=0.0167).ltv.tolist()[1] == 200.0


def test_stripe_preset_assumes_its_floor_and_the_movements_carry_it() -> None:
    assert kpikit.revenue.PRESETS["stripe"]["ltv_zero_churn"] == 0.0167
    direct = rates(STEADY, preset="stripe").ltv.tolist()
    assert direct[1:] == pytest.approx([75 / 0.0167] * 2, rel=1e-12)
    m = kpikit.mrr_movements(snapshots(STEADY), customer="customer", period="month", mrr="mrr", preset="stripe")
    assert m.attrs["conventions"]["ltv_zero_churn"] == 0.0167
    assert kpikit.revenue_metrics(m).ltv.tolist()[1:] == pytest.approx([75 / 0.0167] * 2, rel=1e-12)


@pytest.mark.parametrize("bad", ["infinite", 0.0, 1.5, -0.1, "0"])
def test_bad_zero_churn_values_are_refused(bad: Any) -> None:
    with pytest.raises(kpikit.ParameterError, match="ltv_zero_churn"):
        rates(STEADY, ltv_zero_churn=bad)


# --- magic number, burn multiple, capital efficiency --------------------------------------------

SPEND = pd.DataFrame(
    {
        "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]),
        "amount": [600.0, 1000.0, 500.0],
        "burn": [2000.0, 1200.0, -100.0],
    }
)


def test_magic_number_burn_multiple_and_capital_efficiency_by_hand() -> None:
    r = rates({"a": [100, 150, 130]}, spend=SPEND, spend_time="month", spend_amount="amount", spend_net_burn="burn")
    # February: net new ARR (150 − 100) × 12 = 600 over January's spend 600 → 1.0; March:
    # (130 − 150) × 12 = −240 over February's 1000 → −0.24. January has no starting MRR.
    assert r.magic_number.tolist()[1:] == pytest.approx([1.0, -0.24], rel=1e-12)
    assert pd.isna(r.magic_number[0])
    assert r.net_burn.tolist() == [2000.0, 1200.0, -100.0]
    # February: 1200 burned for 600 of net new ARR → 2.0, and 600 / 1200 = 0.5. March: ARR
    # fell (no burn multiple) and cash came in (no capital efficiency).
    assert r.burn_multiple.tolist()[1] == 2.0 and r.capital_efficiency.tolist()[1] == 0.5
    assert pd.isna(r.burn_multiple[2]) and pd.isna(r.capital_efficiency[2])
    assert pd.isna(r.burn_multiple[0]) and pd.isna(r.capital_efficiency[0])
    # The formulas give the same from the columns.
    assert formulas.burn_multiple(1200.0, 600.0) == 2.0 and formulas.capital_efficiency(600.0, 1200.0) == 0.5
    # Without spend_net_burn, no burn columns; spend not reaching January: February unknown.
    later = rates({"a": [100, 150, 130]}, spend=SPEND.iloc[1:], spend_time="month")
    assert "burn_multiple" not in later.columns
    assert pd.isna(later.magic_number[1]) and later.magic_number[2] == pytest.approx(-0.24)


def test_quarterly_magic_number_is_the_usual_definition() -> None:
    # Q1 ends at 120 MRR, Q2 at 180; Q1's sales and marketing spend is 300. Revenue as the run
    # rate 3 × MRR: (540 − 360) × 4 / 300 = 2.4 = (180 − 120) × 12 / 300.
    spend = pd.DataFrame({"month": pd.date_range("2026-01-01", periods=6, freq="MS"), "amount": [100.0] * 6})
    r = rates({"a": [100, 100, 120, 120, 120, 180]}, freq="quarter", spend=spend, spend_time="month")
    assert r.period.tolist() == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-04-01")]
    assert r.magic_number.tolist()[1] == pytest.approx(2.4, rel=1e-12)


def test_net_burn_must_be_given() -> None:
    spend = SPEND.assign(burn=[1.0, None, 2.0])
    with pytest.raises(kpikit.InputError, match=r'"burn".*row 1'):
        rates({"a": [100, 150, 130]}, spend=spend, spend_time="month", spend_net_burn="burn")


def test_the_executive_scorecard_reads_the_magic_number() -> None:
    ids = [k.metric for k in kpikit.Scorecard.executive().kpis]
    assert ids[-1] == "magic_number"
    m = kpikit.metric("magic_number")
    assert (m.unit, m.direction, m.cadence, m.function, m.column) == (
        "ratio",
        "increase",
        "quarter",
        "revenue_metrics",
        "magic_number",
    )
    for id in ("burn_multiple", "capital_efficiency"):
        assert kpikit.metric(id).function == f"formulas.{id}"
    sources = kpikit.Sources.demo(scale=0.05)
    card = kpikit.Scorecard([k for k in kpikit.Scorecard.executive().kpis if k.metric == "magic_number"])
    row = card.evaluate(sources).to_frame().iloc[0]
    subs, cols = sources.subscriptions
    spend, spend_cols = sources.spend
    q = kpikit.revenue_metrics(
        subs, freq="quarter", spend=spend, spend_time=spend_cols["time"], spend_amount=spend_cols["amount"], **cols
    ).set_index("period")
    assert row.value == q.loc[row.period, "magic_number"] and not pd.isna(row.value)
