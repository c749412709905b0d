"""Identities the vendors publish between revenue rates, held on random subscription ledgers
for every preset, and the starting-MRR rates against a plain-Python reference.

Customers who join (or return) and churn within one month appear only from subscriptions read
at period ends; they were never in the starting MRR, so no rate on the starting MRR may count
them (docs/conventions.md#revenue-rates)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import assume, given, settings, strategies as st

import kpikit

PRESETS = [None, "chartmogul", "stripe", "baremetrics", "profitwell"]
MONTHS = [datetime(2026, m, 1) for m in range(1, 8)]  # January to July; the data ends in June

# One subscription: customer, start (days after 2026-01-01, at noon), length in days or None
# (still active), monthly amount.
subscription = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e"]),
    st.integers(0, 170),
    st.one_of(st.none(), st.integers(1, 120)),
    st.sampled_from([10.0, 25.5, 40.0, 99.99]),
)


def frame(subs: list[tuple[str, int, int | None, float]]) -> pd.DataFrame:
    start = [datetime(2026, 1, 1, 12) + timedelta(days=d) for _, d, _, _ in subs]
    end = [s + timedelta(days=n) if n is not None else None for s, (_, _, n, _) in zip(start, subs, strict=True)]
    return pd.DataFrame(
        {
            "customer": [s[0] for s in subs],
            "start": pd.to_datetime(start),
            "end": pd.to_datetime(end),
            "amount": [s[3] for s in subs],
        }
    )


def levels(subs: list[tuple[str, int, int | None, float]], period_end: datetime) -> dict[str, int]:
    """Each customer's MRR in cents at a period's last instant: the subscriptions with
    start < end of period ≤ end of subscription."""
    out: dict[str, int] = {}
    for customer, d, n, amount in subs:
        s = datetime(2026, 1, 1, 12) + timedelta(days=d)
        e = None if n is None else s + timedelta(days=n)
        if s < period_end and (e is None or period_end <= e):
            out[customer] = out.get(customer, 0) + round(amount * 100)
    return out


def reference(subs: list[tuple[str, int, int | None, float]], conv: dict[str, Any]) -> pd.DataFrame:
    """Rates on the starting MRR written out from customers' MRR at period ends: only money
    that was in the starting MRR churns or contracts; reactivation is a customer with no MRR at
    the start who had a subscription before and has MRR at the end."""
    rows = []
    customers = {c for c, *_ in subs}
    for p in range(1, 6):  # February to June (January has no starting MRR)
        before, after = levels(subs, MONTHS[p]), levels(subs, MONTHS[p + 1])
        began = MONTHS[p]
        seen = {c for c, d, *_ in subs if datetime(2026, 1, 1, 12) + timedelta(days=d) < began}
        start = sum(before.values())
        churn = contraction = expansion = react = 0
        for c in customers:
            s, e = before.get(c, 0), after.get(c, 0)
            if s > 0 and e == 0:
                churn += s
            elif s > e > 0:
                contraction += s - e
            elif e > s > 0:
                expansion += e - s
            elif s == 0 and e > 0 and c in seen:
                react += e
        net_react = react if conv["net_churn_counts_reactivation"] else 0
        nrr_react = react if conv["nrr_counts_reactivation"] else 0
        rows.append(
            {
                "period": MONTHS[p + 0],
                "gross_mrr_churn_rate": (churn + contraction) / start if start else math.nan,
                "net_mrr_churn_rate": (churn + contraction - expansion - net_react) / start if start else math.nan,
                "net_revenue_retention": (start - churn - contraction + expansion + nrr_react) / start if start else math.nan,
                "gross_revenue_retention": (start - churn - contraction) / start if start else math.nan,
            }
        )
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None)
@given(st.lists(subscription, min_size=1, max_size=14), st.sampled_from(PRESETS))
def test_rates_on_the_starting_mrr_hold_the_vendors_identities(
    subs: list[tuple[str, int, int | None, float]], preset: str | None
) -> None:
    data = frame(subs)
    r = kpikit.revenue_metrics(data, customer="customer", started="start", ended="end", amount="amount", preset=preset)
    conv = r.attrs["conventions"]
    # Only the months with a starting MRR (and up to June, the last month of the data).
    known = r[r.gross_mrr_churn_rate.notna()]
    assume(len(known) > 0)
    # Gross revenue retention is one minus gross MRR churn under every preset: both are on the
    # starting MRR, and neither counts a customer who came and went within the month.
    assert ((known.gross_revenue_retention + known.gross_mrr_churn_rate - 1).abs() < 1e-12).all()
    assert (known.gross_mrr_churn_rate <= 1 + 1e-12).all() and (known.gross_revenue_retention >= -1e-12).all()
    # Baremetrics: NRR = 1 − net MRR churn (both offset expansion only). The same holds for
    # any conventions that read reactivation alike in both.
    if conv["net_churn_counts_reactivation"] == conv["nrr_counts_reactivation"]:
        assert ((known.net_revenue_retention + known.net_mrr_churn_rate - 1).abs() < 1e-12).all()
    if preset == "baremetrics":
        assert conv["net_churn_counts_reactivation"] is False and conv["nrr_counts_reactivation"] is False

    ref = reference(subs, conv).set_index("period")
    got = r.set_index("period")
    for p, row in ref.iterrows():
        if p not in got.index:
            # A month past the last with any change: the ledger has no row, the reference
            # has no starting MRR or nothing moved.
            assert math.isnan(row.gross_mrr_churn_rate) or row.gross_mrr_churn_rate == 0
            continue
        for col in ref.columns:
            want, have = row[col], got.loc[p, col]
            if math.isnan(want):
                assert pd.isna(have), (p, col)
            else:
                assert have == pytest.approx(want, rel=1e-12, abs=1e-12), (p, col, preset)


def test_joined_and_churned_customer_leaves_the_starting_rates_alone() -> None:
    # a (100) and b (50) from January; in February b leaves, a adds a 20 plan, and x signs up
    # for 30 on the 3rd and cancels on the 20th. Starting MRR 150: churn of starting money 50,
    # expansion 20; x's 30 was never in it.
    subs = pd.DataFrame(
        {
            "customer": ["a", "a", "b", "x"],
            "start": pd.to_datetime(["2026-01-01 12:00", "2026-02-05 00:00", "2026-01-01 12:00", "2026-02-03 00:00"]),
            "end": pd.to_datetime([None, None, "2026-02-10", "2026-02-20"]),
            "amount": [100.0, 20.0, 50.0, 30.0],
        }
    )
    cols = dict(customer="customer", started="start", ended="end", amount="amount")
    bare = kpikit.revenue_metrics(subs, **cols, preset="baremetrics").iloc[1]
    assert bare.gross_mrr_churn_rate == pytest.approx(50 / 150)  # not (50 + 30) / 150
    assert bare.net_mrr_churn_rate == pytest.approx((50 - 20) / 150)  # 0.2
    assert bare.net_revenue_retention == pytest.approx((150 - 50 + 20) / 150)  # 0.8 = 1 − 0.2
    assert bare.gross_revenue_retention == pytest.approx(100 / 150)
    # Customer counts follow the tool: Baremetrics churns x like any customer (2 of 2 at the
    # start), ChartMogul leaves x out (1 of 2); the quick ratio's flows include x under count.
    assert bare.customer_churn_rate == 1.0
    assert bare.quick_ratio == pytest.approx((30 + 20) / (50 + 30))
    cm = kpikit.revenue_metrics(subs, **cols, preset="chartmogul").iloc[1]
    assert cm.customer_churn_rate == 0.5
    assert cm.gross_mrr_churn_rate == pytest.approx(50 / 150)
    pw = kpikit.revenue_metrics(subs, **cols, preset="profitwell").iloc[1]
    assert pw.gross_mrr_churn_rate == pytest.approx(50 / 150) and pw.quick_ratio == pytest.approx(20 / 50)


def test_reactivated_and_churned_customer_is_not_kept_reactivation() -> None:
    # r pays 40 in January, leaves, comes back on 3 March and leaves again on 20 March; a (100)
    # stays. March starts with 100: nothing of r's 40 is in it, so net MRR churn is 0 and NRR 1
    # under ChartMogul (which nets reactivation in net churn) as under every preset.
    subs = pd.DataFrame(
        {
            "customer": ["a", "r", "r"],
            "start": pd.to_datetime(["2026-01-01 12:00", "2026-01-01 12:00", "2026-03-03 00:00"]),
            "end": pd.to_datetime([None, "2026-02-10", "2026-03-20"]),
            "amount": [100.0, 40.0, 40.0],
        }
    )
    m = kpikit.mrr_movements(subs, customer="customer", started="start", ended="end", amount="amount")
    march = m.iloc[2]
    assert march.reactivation_mrr == 40 and march.reactivated_and_churned_mrr == 40 and march.new_and_churned_mrr == 40
    for preset in PRESETS:
        r = kpikit.revenue_metrics(subs, customer="customer", started="start", ended="end", amount="amount", preset=preset)
        assert r.iloc[2].net_mrr_churn_rate == 0.0, preset
        assert r.iloc[2].net_revenue_retention == 1.0, preset
