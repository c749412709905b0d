"""Revenue cohorts: a hand-computed triangle, returning customers, partitions merged exactly,
every input library, and a pandas reference on random histories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings, strategies as st

import kpikit


def snapshots(history: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        (c, pd.Timestamp(2026, 1 + i, 1), v) for c, values in history.items() for i, v in enumerate(values) if v > 0
    ]
    return pd.DataFrame(rows, columns=["customer", "month", "mrr"])


def cohorts(data: Any, **kw: Any) -> pd.DataFrame:
    return kpikit.revenue_cohorts(data, customer="customer", period="month", mrr="mrr", **kw)


def test_hand_computed_triangle_with_a_returning_customer(make_table: Callable[[dict[str, list[Any]]], Any]) -> None:
    # January cohort: a (100) and b (50). b leaves in February and returns in April at 70: it
    # stays in the January cohort. c joins in March at 40 (March cohort).
    history = {"a": [100.0, 100.0, 110.0, 110.0], "b": [50.0, 0.0, 0.0, 70.0], "c": [0.0, 0.0, 40.0, 40.0]}
    data = snapshots(history)
    r = cohorts(make_table({k: data[k].tolist() for k in data.columns}), output="pandas")
    jan = r[r.cohort == pd.Timestamp("2026-01-01")]
    assert jan.period_number.tolist() == [0, 1, 2, 3]
    assert jan.cohort_size.tolist() == [2] * 4 and jan.cohort_mrr.tolist() == [150.0] * 4
    assert jan.retained_customers.tolist() == [2, 1, 1, 2]
    assert jan.retained_mrr.tolist() == [150.0, 100.0, 110.0, 180.0]
    assert jan.logo_retention.tolist() == [1.0, 0.5, 0.5, 1.0]
    # 180 / 150: expansion and reactivation lift net MRR retention above 1.
    assert jan.net_mrr_retention.tolist() == pytest.approx([1.0, 100 / 150, 110 / 150, 1.2])
    mar = r[r.cohort == pd.Timestamp("2026-03-01")]
    assert mar.retained_customers.tolist() == [1, 1] and mar.period.dt.month.tolist() == [3, 4]
    assert len(r) == 6  # no February cohort: nobody started then


def test_open_subscriptions_count_to_the_end_of_the_data_across_partitions() -> None:
    # An open-ended subscription in one partition keeps counting until the last period that
    # another partition reaches.
    subs = pd.DataFrame(
        {
            "customer": ["early", "late"],
            "start": pd.to_datetime(["2026-01-10", "2026-04-10"]),
            "end": pd.to_datetime([None, "2026-05-20"]),
            "amount": [10.0, 20.0],
        }
    )
    kw: dict[str, Any] = dict(customer="customer", started="start", ended="end", amount="amount")
    whole = kpikit.revenue_cohorts(subs, **kw)
    parts = kpikit.revenue_cohorts([subs.iloc[:1], subs.iloc[1:], subs.iloc[:0]], **kw)
    pd.testing.assert_frame_equal(whole, parts)
    early = whole[whole.cohort == pd.Timestamp("2026-01-01")]
    assert early.period.dt.month.tolist() == [1, 2, 3, 4, 5]
    assert early.retained_customers.tolist() == [1] * 5


def reference(data: pd.DataFrame) -> pd.DataFrame:
    """The triangle written directly: first month per customer, then sums per cohort and month."""
    m = kpikit.mrr(data, customer="customer", period="month", mrr="mrr")
    m["cohort"] = m.groupby("customer").period.transform("min")
    cells = m.groupby(["cohort", "period"]).agg(retained_customers=("customer", "size"), retained_mrr=("mrr", "sum"))
    last = m.period.max()
    rows = []
    for c in sorted(m.cohort.unique()):
        base = cells.loc[(c, c)]
        for p in pd.date_range(c, last, freq="MS"):
            k, v = cells.loc[(c, p)] if (c, p) in cells.index else (0, 0.0)
            rows.append((c, p, int(base.retained_customers), base.retained_mrr, int(k), v))
    return pd.DataFrame(rows, columns=["cohort", "period", "cohort_size", "cohort_mrr", "retained_customers", "retained_mrr"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 0.0, 10.0, 25.5, 99.99]), min_size=6, max_size=6), min_size=1, max_size=15))
def test_triangle_matches_a_pandas_reference(histories: list[list[float]]) -> None:
    data = snapshots({f"c{i}": h for i, h in enumerate(histories)})
    assume(not data.empty)
    r = cohorts(data)
    ref = reference(data)
    assert r.cohort.tolist() == ref.cohort.tolist() and r.period.tolist() == ref.period.tolist()
    for col in ["cohort_size", "retained_customers"]:
        assert r[col].tolist() == ref[col].tolist(), col
    for col in ["cohort_mrr", "retained_mrr"]:
        np.testing.assert_allclose(r[col], ref[col], rtol=1e-12, err_msg=col)
    np.testing.assert_allclose(r.logo_retention, ref.retained_customers / ref.cohort_size, rtol=1e-12)
    # Splitting the customers into partitions changes nothing.
    ids = sorted(data.customer.unique())
    parts = [data[data.customer.isin(ids[i::3])] for i in range(3)]
    pd.testing.assert_frame_equal(cohorts(parts), r)


def test_demo_company_cohorts_agree_with_the_movements() -> None:
    d = kpikit.datasets.demo()
    r = kpikit.revenue_cohorts(d.subscriptions, customer="customer_id", period="month", mrr="mrr")
    m = kpikit.mrr_movements(d.subscriptions, customer="customer_id", period="month", mrr="mrr")
    # Summed over cohorts, the retained customers and MRR of a period are all customers and MRR.
    by_period = r.groupby("period")[["retained_customers", "retained_mrr"]].sum()
    assert by_period.retained_customers.tolist() == m.ending_customers.tolist()
    np.testing.assert_allclose(by_period.retained_mrr, m.ending_mrr, rtol=1e-12)
    # A cohort's size is the new customers of its first month.
    sizes = r[r.period_number == 0].set_index("cohort").cohort_size
    assert sizes.tolist() == m.set_index("period").new_customers.loc[sizes.index].tolist()
