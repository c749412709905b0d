"""Revenue rates: the vendors' published worked examples under their presets, every input
library, zero denominators, spend and CAC, errors, and a pandas reference on random histories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings, strategies as st

import kpikit

MOVEMENT_ZEROS = {
    "starting_mrr": 0.0,
    "new_mrr": 0.0,
    "expansion_mrr": 0.0,
    "contraction_mrr": 0.0,
    "churned_mrr": 0.0,
    "reactivation_mrr": 0.0,
    "ending_mrr": 0.0,
    "starting_customers": 0,
    "new_customers": 0,
    "churned_customers": 0,
    "reactivated_customers": 0,
    "ending_customers": 0,
}


def movement_rows(*rows: dict[str, Any]) -> dict[str, list[Any]]:
    """A hand-written movement table, one dict per period (months from 2026-01)."""
    out: dict[str, list[Any]] = {"period": [pd.Timestamp(2026, 1 + i, 1) for i in range(len(rows))]}
    for k, zero in MOVEMENT_ZEROS.items():
        out[k] = [r.get(k, zero) for r in rows]
    return out


def snapshots(history: dict[str, list[float]]) -> pd.DataFrame:
    """customer → MRR per month from 2026-01 (0 = no row)."""
    rows = [
        (c, pd.Timestamp(2026, 1 + i, 1), v) for c, values in history.items() for i, v in enumerate(values) if v > 0
    ]
    return pd.DataFrame(rows, columns=["customer", "month", "mrr"])


def metrics(history: dict[str, list[float]], **kw: Any) -> pd.DataFrame:
    return kpikit.revenue_metrics(snapshots(history), customer="customer", period="month", mrr="mrr", **kw)


# --- published worked examples --------------------------------------------------------------------


def test_chartmogul_gross_and_net_mrr_churn() -> None:
    # ChartMogul's MRR churn article: $100 MRR at the start of the month; $10 lost to churn,
    # $10 to contraction, one customer expands by $10. Gross (10 + 10) / 100 = 20 %,
    # net ((10 + 10) − (10 + 0)) / 100 = 10 %.
    r = metrics({"a": [10, 0], "b": [20, 10], "c": [30, 40], "d": [40, 40]}, preset="chartmogul")
    feb = r.iloc[1]
    assert feb.gross_mrr_churn_rate == pytest.approx(0.20)
    assert feb.net_mrr_churn_rate == pytest.approx(0.10)
    # Retention of the starting $100: 100 − 10 − 10 + 10 = 90 (net), 100 − 10 − 10 = 80 (gross).
    assert feb.net_revenue_retention == pytest.approx(0.90)
    assert feb.gross_revenue_retention == pytest.approx(0.80)
    assert feb.expansion_rate == pytest.approx(0.10)
    assert feb.customer_churn_rate == pytest.approx(1 / 4)
    assert not feb.net_negative_churn


def test_chartmogul_ltv_2000_with_six_month_trailing_churn() -> None:
    # ChartMogul's LTV article: ARPA $100 and a 5 % (trailing) customer churn rate give $2,000.
    # 20 customers at $100; each month one leaves and one new one joins at $100, so ARPA stays
    # 100 and monthly churn is 1/20 = 5 %.
    history = {f"c{i}": [100.0, 100.0, 100.0] for i in range(18)}
    history["leaves_feb"] = [100.0, 0.0, 0.0]
    history["leaves_mar"] = [100.0, 100.0, 0.0]
    history["joins_feb"] = [0.0, 100.0, 100.0]
    history["joins_mar"] = [0.0, 0.0, 100.0]
    r = metrics(history)
    assert r.arpa.tolist() == [100.0, 100.0, 100.0]
    assert r.customer_churn_rate.iloc[1:].tolist() == [0.05, 0.05]
    # kpikit default: the period's own churn rate.
    assert r.ltv.iloc[1] == pytest.approx(2000.0)
    # ASP: new MRR / new customers = 100 / 1 (20 × 100 / 20 in January).
    assert r.asp.tolist() == [100.0, 100.0, 100.0]
    cm = metrics(history, preset="chartmogul")
    # ChartMogul: mean of the previous six months' rates, the current one excluded. February's
    # only previous month (January) has no churn rate (no customers at its start): null.
    # March averages February's 5 %: 100 / 0.05.
    assert pd.isna(cm.ltv.iloc[1])
    assert cm.ltv.iloc[2] == pytest.approx(2000.0)


def test_quick_ratio_three_and_a_half() -> None:
    # New $20k, expansion $8k, churn $5k, contraction $3k: (20 + 8) / (5 + 3) = 3.5.
    table = movement_rows(
        {"new_mrr": 100_000.0, "ending_mrr": 100_000.0, "new_customers": 100, "ending_customers": 100},
        {
            "starting_mrr": 100_000.0, "new_mrr": 20_000.0, "expansion_mrr": 8_000.0,
            "churned_mrr": 5_000.0, "contraction_mrr": 3_000.0, "ending_mrr": 120_000.0,
            "starting_customers": 100, "new_customers": 20, "churned_customers": 5, "ending_customers": 115,
        },
    )
    r = kpikit.revenue_metrics(pd.DataFrame(table))
    assert r.quick_ratio.iloc[1] == pytest.approx(3.5)
    # Growth 120k / 100k − 1; ARR 12 × MRR.
    assert r.mrr_growth_rate.iloc[1] == pytest.approx(0.2)
    assert r.arr.tolist() == [1_200_000.0, 1_440_000.0]


def test_baremetrics_quick_ratio_leaves_out_reactivation() -> None:
    table = movement_rows(
        {"new_mrr": 100.0, "ending_mrr": 100.0, "new_customers": 2, "ending_customers": 2},
        {
            "starting_mrr": 100.0, "new_mrr": 30.0, "reactivation_mrr": 10.0, "churned_mrr": 20.0,
            "ending_mrr": 120.0, "starting_customers": 2, "new_customers": 1, "reactivated_customers": 1,
            "churned_customers": 1, "ending_customers": 3,
        },
    )
    # kpikit default counts reactivation: (30 + 10) / 20 = 2; Baremetrics: 30 / 20 = 1.5.
    assert kpikit.revenue_metrics(pd.DataFrame(table)).quick_ratio.iloc[1] == pytest.approx(2.0)
    assert kpikit.revenue_metrics(pd.DataFrame(table), preset="baremetrics").quick_ratio.iloc[1] == pytest.approx(1.5)
    # Net MRR churn: ChartMogul nets reactivation ((20 − 10) / 100), Baremetrics does not (20 / 100).
    assert kpikit.revenue_metrics(pd.DataFrame(table), preset="chartmogul").net_mrr_churn_rate.iloc[1] == pytest.approx(0.1)
    assert kpikit.revenue_metrics(pd.DataFrame(table), preset="baremetrics").net_mrr_churn_rate.iloc[1] == pytest.approx(0.2)
    # NRR counts reactivation only when asked: (100 − 20) / 100, or (100 − 20 + 10) / 100.
    assert kpikit.revenue_metrics(pd.DataFrame(table)).net_revenue_retention.iloc[1] == pytest.approx(0.8)
    assert kpikit.revenue_metrics(pd.DataFrame(table), nrr_counts_reactivation=True).net_revenue_retention.iloc[
        1
    ] == pytest.approx(0.9)


def test_stripe_churn_denominator_counts_new_subscribers() -> None:
    # 10 at the start, 2 new (one of them joins and leaves within February), 2 churn in total.
    subs = pd.DataFrame(
        {
            "customer": [f"c{i}" for i in range(10)] + ["n1", "n2"],
            "start": [pd.Timestamp("2026-01-15")] * 10 + [pd.Timestamp("2026-02-03"), pd.Timestamp("2026-02-05")],
            "end": [pd.NaT] * 9 + [pd.Timestamp("2026-02-10"), pd.NaT, pd.Timestamp("2026-02-20")],
            "amount": [50.0] * 12,
        }
    )
    kw: dict[str, Any] = dict(customer="customer", started="start", ended="end", amount="amount")
    stripe = kpikit.revenue_metrics(subs, preset="stripe", **kw).iloc[1]
    # Stripe: churned / (start + new) = 2 / (10 + 2); the joined-and-churned one is in both.
    assert stripe.customer_churn_rate == pytest.approx(2 / 12)
    cm = kpikit.revenue_metrics(subs, preset="chartmogul", **kw).iloc[1]
    # ChartMogul: joined-and-churned customers are out of churn: 1 / 10.
    assert cm.customer_churn_rate == pytest.approx(1 / 10)
    # Retention is of the starting 10 × $50: the $50 of n2 (joined and left) is not theirs,
    # so GRR = (500 − 50) / 500 under both presets, though churned MRR is $100.
    assert stripe.gross_revenue_retention == pytest.approx(0.9)
    assert cm.gross_revenue_retention == pytest.approx(0.9)
    # Gross MRR churn is on the same starting MRR: only c9's $50 was in it, so 50 / 500 = 1 − GRR
    # (churned MRR, a flow, still shows both).
    assert stripe.gross_mrr_churn_rate == pytest.approx(50 / 500)
    assert cm.gross_mrr_churn_rate == pytest.approx(50 / 500)
    assert kpikit.mrr_movements(subs, preset="stripe", **kw).churned_mrr.iloc[1] == 100.0


def test_profitwell_ltv_uses_net_mrr_churn() -> None:
    # ProfitWell: LTV ≈ ARPU / (1 − retention). ARPU $10 and a steady 4 % loss give $250; at 6 %
    # the naive LTV is 10 / 0.06 = 166.67 (their text says it falls "40 %"; it is a third).
    for lost, expected in [(4, 250.0), (6, 10 / 0.06)]:
        history = {f"c{i}": [10.0, 0.0 if i < lost else 10.0] for i in range(100)}
        r = metrics(history, preset="profitwell")
        assert r.net_mrr_churn_rate.iloc[1] == pytest.approx(lost / 100)
        assert r.ltv.iloc[1] == pytest.approx(expected)


def test_profitwell_new_and_churned_in_one_month_is_ignored() -> None:
    # ProfitWell: pays $100 on the 5th, churns on the 6th of the same month: neither new nor
    # churned. Stripe counts both.
    subs = pd.DataFrame(
        {
            "customer": ["old", "flash"],
            "start": pd.to_datetime(["2025-12-01", "2026-01-05"]),
            "end": pd.to_datetime([None, "2026-01-06"]),
            "amount": [100.0, 100.0],
        }
    )
    kw: dict[str, Any] = dict(customer="customer", started="start", ended="end", amount="amount")
    pw = kpikit.revenue_metrics(subs, preset="profitwell", **kw).iloc[1]
    assert (pw.new_customers, pw.customer_churn_rate, pw.gross_mrr_churn_rate) == (0, 0.0, 0.0)
    st_ = kpikit.revenue_metrics(subs, preset="stripe", **kw).iloc[1]
    assert st_.new_customers == 1 and st_.customer_churn_rate == pytest.approx(1 / 2)


# --- zero denominators, spend, segments -------------------------------------------------------------


def test_zero_denominators_are_null() -> None:
    # January: c alone (nothing at the start). February: a joins, c leaves. March: a leaves,
    # nobody is left. April: d joins an empty company.
    r = metrics({"a": [0.0, 10.0, 0.0, 0.0], "c": [5.0, 0.0, 0.0, 0.0], "d": [0.0, 0.0, 0.0, 7.0]})
    assert r.period.dt.strftime("%Y-%m").tolist() == ["2026-01", "2026-02", "2026-03", "2026-04"]
    jan, feb, mar, apr = (r.iloc[i] for i in range(4))
    assert pd.isna(jan.customer_churn_rate) and pd.isna(jan.net_revenue_retention) and pd.isna(jan.mrr_growth_rate)
    assert feb.customer_churn_rate == 1.0 and feb.gross_revenue_retention == 0.0
    # March: no customers at the end: ARPA, LTV null; no new customers: ASP null.
    assert pd.isna(mar.arpa) and pd.isna(mar.ltv) and pd.isna(mar.asp)
    assert mar.customer_churn_rate == 1.0 and mar.mrr_growth_rate == -1.0
    # April: no MRR at the start: every rate on it is null.
    for rate in ["customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate", "net_revenue_retention", "expansion_rate", "mrr_growth_rate"]:
        assert pd.isna(apr[rate]), rate
    assert pd.isna(apr.net_negative_churn)
    # Nothing lost in a period: quick ratio null, LTV null (churn 0).
    r2 = metrics({"a": [10.0, 10.0]})
    assert pd.isna(r2.quick_ratio.iloc[1]) and pd.isna(r2.ltv.iloc[1])
    assert r2.customer_churn_rate.iloc[1] == 0.0
    assert not np.isinf(r.select_dtypes("number").to_numpy(dtype=float)).any()


def test_cac_payback_and_ltv_cac_with_a_lag() -> None:
    # Each month 10 customers at $100 in Jan, then +2 new per month, none lost except one in Mar.
    history = {f"c{i}": [100.0, 100.0, 100.0] for i in range(10)}
    history["x"] = [100.0, 100.0, 0.0]
    history["n1"] = [0.0, 100.0, 100.0]
    history["n2"] = [0.0, 100.0, 100.0]
    history["n3"] = [0.0, 0.0, 100.0]
    spend = pd.DataFrame({"month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-02-20"]), "amount": [900.0, 500.0, 100.0]})
    r = metrics(history, spend=spend, gross_margin=0.8)
    # February: spend 500 + 100 = 600 for 2 new → CAC 300; ARPA 100 × margin 0.8 → payback 3.75.
    feb = r.iloc[1]
    assert (feb.spend, feb.cac, feb.cac_payback_months) == (600.0, 300.0, pytest.approx(3.75))
    # March: spend unknown (the spend table stops in February).
    assert pd.isna(r.spend.iloc[2]) and pd.isna(r.cac.iloc[2])
    # LTV in March: ARPA 100 × 0.8 / (1/13 churn) = 1040.
    assert r.ltv.iloc[2] == pytest.approx(100 * 0.8 * 13)
    lagged = metrics(history, spend=spend, cac_lag=1, gross_margin=0.8)
    # Lag 1: March's 1 new customer is bought by February's 600.
    assert lagged.cac.iloc[2] == pytest.approx(600.0)
    assert lagged.ltv_cac.iloc[2] == pytest.approx(1040 / 600)
    assert pd.isna(lagged.cac.iloc[0])  # December's spend is unknown


def test_segments_and_spend_per_segment(make_table: Callable[[dict[str, list[Any]]], Any]) -> None:
    subs = make_table(
        {
            "customer": ["a", "a", "b", "b", "c"],
            "month": [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01")] * 2 + [pd.Timestamp("2026-02-01")],
            "mrr": [100.0, 0.001, 50.0, 80.0, 30.0],
            "plan": ["pro", "pro", "basic", "basic", "pro"],
        }
    )
    spend = make_table({"month": [pd.Timestamp("2026-02-01")] * 2, "plan": ["pro", "basic"], "amount": [60.0, 10.0]})
    r = kpikit.revenue_metrics(
        subs, customer="customer", period="month", mrr="mrr", by="plan", spend=spend, output="pandas"
    ).set_index(["plan", "period"])
    # a's 0.001 rounds to 0 cents: a churns in February.
    pro = r.loc[("pro", pd.Timestamp("2026-02-01"))]
    assert pro.customer_churn_rate == 1.0 and pro.cac == 60.0 and pro.new_customers == 1
    basic = r.loc[("basic", pd.Timestamp("2026-02-01"))]
    assert basic.expansion_rate == pytest.approx(30 / 50) and pd.isna(basic.cac)


def test_movement_tables_from_every_library(make_table: Callable[[dict[str, list[Any]]], Any]) -> None:
    table = movement_rows(
        {"new_mrr": 100.0, "ending_mrr": 100.0, "new_customers": 4, "ending_customers": 4},
        {"starting_mrr": 100.0, "churned_mrr": 25.0, "ending_mrr": 75.0, "starting_customers": 4, "churned_customers": 1, "ending_customers": 3},
    )
    r = kpikit.revenue_metrics(make_table(table), output="arrow")
    assert r.column("customer_churn_rate").to_pylist() == [None, 0.25]
    assert r.column("arpa").to_pylist() == [25.0, 25.0]


def test_conventions_travel_with_the_movements() -> None:
    d = kpikit.datasets.demo()
    m = kpikit.mrr_movements(d.subscriptions, customer="customer_id", period="month", mrr="mrr", preset="chartmogul")
    direct = kpikit.revenue_metrics(d.subscriptions, customer="customer_id", period="month", mrr="mrr", preset="chartmogul")
    via = kpikit.revenue_metrics(m)
    pd.testing.assert_frame_equal(direct, via)
    assert via.attrs["conventions"]["ltv_churn_periods"] == 6
    # A rate convention may change on the stored table; a ledger convention may not.
    stripe_rates = kpikit.revenue_metrics(m, churn_denominator="start_plus_new")
    # A larger denominator: never a higher rate. (In the first month Stripe's rate is 0 / new.)
    assert stripe_rates.customer_churn_rate.iloc[0] == 0.0 and pd.isna(via.customer_churn_rate.iloc[0])
    assert (stripe_rates.customer_churn_rate.iloc[1:] <= via.customer_churn_rate.iloc[1:]).all()
    with pytest.raises(kpikit.ParameterError, match="same_period_new_churn"):
        kpikit.revenue_metrics(m, preset="stripe")


# --- errors ------------------------------------------------------------------------------------------


def test_bad_movement_tables_name_column_and_rows() -> None:
    table = movement_rows({"new_mrr": 10.0, "ending_mrr": 10.0, "new_customers": 1, "ending_customers": 1}, {"starting_mrr": 10.0, "ending_mrr": -5.0})
    with pytest.raises(kpikit.InputError, match=r"ending_mrr.*non-negative.*row 1"):
        kpikit.revenue_metrics(pd.DataFrame(table))
    dup = pd.DataFrame(movement_rows({}, {}))
    dup["period"] = pd.Timestamp("2026-01-01")
    with pytest.raises(kpikit.InputError, match=r"period.*one row per period and segment"):
        kpikit.revenue_metrics(dup)
    with pytest.raises(kpikit.SchemaError, match="starting_customers"):
        kpikit.revenue_metrics(pd.DataFrame(movement_rows({})).drop(columns="starting_customers"))
    with pytest.raises(kpikit.ParameterError, match="gross_margin"):
        kpikit.revenue_metrics(pd.DataFrame(movement_rows({})), gross_margin=1.5)
    with pytest.raises(kpikit.ParameterError, match="customer="):
        kpikit.revenue_metrics(pd.DataFrame(movement_rows({})), mrr="mrr")
    bad_spend = pd.DataFrame({"month": pd.to_datetime(["2026-01-01", "2026-01-02"]), "amount": [1.0, float("inf")]})
    with pytest.raises(kpikit.InputError, match=r"amount.*row 1"):
        kpikit.revenue_metrics(pd.DataFrame(movement_rows({})), spend=bad_spend)


# --- against a pandas reference on random histories ---------------------------------------------


def reference(m: pd.DataFrame, conv: dict[str, Any]) -> pd.DataFrame:
    """The rates written out directly from the movement columns (money in whole cents, as the
    numerators of exact rates must be: 0.1 + 0.2 − 0.3 is not 0 in floats)."""
    def div(a: pd.Series, b: pd.Series) -> pd.Series:
        return (a.astype(float) / b.where(b != 0).astype(float)).astype(float)

    money = [c for c in m.columns if c.endswith("_mrr")]
    m = m.assign(**{c: (m[c] * 100).round().astype("int64") for c in money})

    react = m.reactivation_mrr
    start = m.starting_mrr
    den = m.starting_customers + (m.new_customers + m.reactivated_customers if conv["churn_denominator"] == "start_plus_new" else 0)
    counted = conv["same_period_new_churn"] != "net_out_of_new"
    # Rates on the starting MRR count only money that was in it (docs/conventions.md#revenue-rates).
    churn = m.churned_mrr - (m.new_and_churned_mrr if counted else 0)
    kept_react = react - (m.reactivated_and_churned_mrr if counted else 0)
    kept = start - churn - m.contraction_mrr
    out = pd.DataFrame(
        {
            "customer_churn_rate": div(m.churned_customers.astype(float), den.astype(float)),
            "gross_mrr_churn_rate": div(churn + m.contraction_mrr, start),
            "net_mrr_churn_rate": div(
                churn + m.contraction_mrr - m.expansion_mrr - (kept_react if conv["net_churn_counts_reactivation"] else 0), start
            ),
            "net_revenue_retention": div(kept + m.expansion_mrr + (kept_react if conv["nrr_counts_reactivation"] else 0), start),
            "gross_revenue_retention": div(kept, start),
            "quick_ratio": div(
                m.new_mrr + m.expansion_mrr + (react if conv["quick_ratio_counts_reactivation"] else 0),
                m.churned_mrr + m.contraction_mrr,
            ),
            "arpa": div(m.ending_mrr, m.ending_customers) / 100,
            "asp": div(m.new_mrr, m.new_customers) / 100,
        }
    )
    churn = out.customer_churn_rate if conv["ltv_churn"] == "customer" else out.net_mrr_churn_rate
    n = conv["ltv_churn_periods"]
    if n is not None:
        churn = churn.shift(1).rolling(n, min_periods=1).mean()
    out["ltv"] = (out.arpa / churn.where(churn > 0)).astype(float)
    # Zero churn: what ltv_zero_churn says (docs/conventions.md#revenue-rates).
    zero = conv["ltv_zero_churn"]
    if zero == "zero":
        out.loc[churn == 0, "ltv"] = 0.0
    elif zero != "null":
        out.loc[churn == 0, "ltv"] = out.arpa / zero
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from([0.0, 0.0, 10.0, 25.5, 40.0, 99.99]), min_size=6, max_size=6), min_size=1, max_size=12),
    st.sampled_from([None, "chartmogul", "stripe", "baremetrics", "profitwell"]),
)
def test_rates_match_a_pandas_reference(histories: list[list[float]], preset: str | None) -> None:
    data = snapshots({f"c{i}": h for i, h in enumerate(histories)})
    assume(not data.empty)
    m = kpikit.mrr_movements(data, customer="customer", period="month", mrr="mrr", preset=preset)
    r = kpikit.revenue_metrics(m)
    ref = reference(m, m.attrs["conventions"])
    for col in ref.columns:
        np.testing.assert_allclose(r[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float), rtol=1e-12, equal_nan=True, err_msg=col)
    # ARR is exact to the cent: 12 × 99.99 is 1199.88, not float64's 1199.8799999999999.
    assert (r.mrr == m.ending_mrr).all()
    assert (r.arr == (m.ending_mrr * 1200).round() / 100).all()


def test_profitwell_discounted_annual_plan() -> None:
    # ProfitWell subtracts discounts whatever their duration: $120 a year with 10 % off is
    # $9 MRR. kpikit reads amounts after discount, so the discounted price is the amount:
    # 120 × 0.9 / 12 = 9.
    subs = pd.DataFrame({"customer": ["sarah"], "start": pd.to_datetime(["2026-04-15"]), "amount": [120 * 0.9], "interval": ["year"]})
    m = kpikit.mrr(subs, customer="customer", started="start", amount="amount", interval="interval")
    assert m.mrr.tolist() == [9.0]
