"""MRR and MRR movements: hand-computed ledgers, published examples, every input library,
segments summing to totals, errors naming rows, and a pandas reference on random histories."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import kpikit
from kpikit import _kpikit

MONEY = ["starting_mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr", "ending_mrr"]


def cents(s: pd.Series) -> list[int]:
    return [round(v * 100) for v in s]


def assert_reconciles(df: pd.DataFrame) -> None:
    """ending = starting + new + expansion + reactivation − contraction − churned (+ moves), in cents."""
    c = {k: np.array(cents(df[k])) if k in df else np.zeros(len(df), dtype=int) for k in [*MONEY, "moved_in_mrr", "moved_out_mrr", "net_new_mrr"]}
    lhs = c["ending_mrr"]
    rhs = (
        c["starting_mrr"] + c["new_mrr"] + c["expansion_mrr"] + c["reactivation_mrr"]
        - c["contraction_mrr"] - c["churned_mrr"] + c["moved_in_mrr"] - c["moved_out_mrr"]
    )
    assert (lhs == rhs).all()
    if "net_new_mrr" in df:
        net = c["new_mrr"] + c["expansion_mrr"] + c["reactivation_mrr"] - c["contraction_mrr"] - c["churned_mrr"]
        assert (c["net_new_mrr"] == net).all()


SNAPSHOTS = {
    # Monthly snapshots taken on the 1st. a: 100, 150, 120, –, 80 (reactivation); b joins in
    # February at 50, from two subscriptions (two rows at one snapshot time, 20 + 30; they add
    # up with duplicates="sum", see SUMMED).
    "customer": ["a", "a", "a", "a", "b", "b", "b", "b", "b"],
    "month": [pd.Timestamp(d) for d in ["2026-01-01", "2026-02-01", "2026-03-01", "2026-05-01", "2026-02-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"]],
    "mrr": [100.0, 150.0, 120.0, 80.0, 20.0, 30.0, 50.0, 50.0, 50.0],
    "plan": ["basic", "pro", "pro", "basic", "basic", "basic", "basic", "basic", "basic"],
}
#: The keywords that read SNAPSHOTS (b's two February rows are two subscriptions).
SUMMED: dict[str, Any] = dict(duplicates="sum")


def test_hand_computed_ledger() -> None:
    out = kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum")
    assert out.period.dt.strftime("%Y-%m").tolist() == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    assert out.starting_mrr.tolist() == [0, 100, 200, 170, 50]
    assert out.new_mrr.tolist() == [100, 50, 0, 0, 0]
    assert out.expansion_mrr.tolist() == [0, 50, 0, 0, 0]
    assert out.contraction_mrr.tolist() == [0, 0, 30, 0, 0]
    assert out.churned_mrr.tolist() == [0, 0, 0, 120, 0]
    assert out.reactivation_mrr.tolist() == [0, 0, 0, 0, 80]
    assert out.ending_mrr.tolist() == [100, 200, 170, 50, 130]
    assert out.net_new_mrr.tolist() == [100, 100, -30, -120, 80]
    assert out.starting_customers.tolist() == [0, 1, 2, 2, 1]
    assert out.new_customers.tolist() == [1, 1, 0, 0, 0]
    assert out.expanded_customers.tolist() == [0, 1, 0, 0, 0]
    assert out.contracted_customers.tolist() == [0, 0, 1, 0, 0]
    assert out.churned_customers.tolist() == [0, 0, 0, 1, 0]
    assert out.reactivated_customers.tolist() == [0, 0, 0, 0, 1]
    assert out.ending_customers.tolist() == [1, 2, 2, 1, 2]
    assert "moved_in_mrr" not in out
    assert_reconciles(out)
    assert out.attrs["conventions"]["same_period_new_churn"] == "count"

    # Within a one-period window a is reactivated; with window 0 it is new again.
    strict = kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum", reactivation_window=0)
    assert strict.reactivation_mrr.tolist()[-1] == 0 and strict.new_mrr.tolist()[-1] == 80
    assert strict.new_customers.tolist()[-1] == 1
    days = kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum", reactivation_window="30d")
    assert days.reactivation_mrr.tolist()[-1] == 80  # April has 30 days


def test_detail_ledger() -> None:
    led = kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum", detail=True)
    assert list(led.columns) == ["customer", "period", *MONEY, "movement"]
    a = led[led.customer == "a"]
    assert a.movement.tolist() == ["new", "expansion", "contraction", "churn", "reactivation"]
    assert a.starting_mrr.tolist() == [0, 100, 150, 120, 0]
    assert a.ending_mrr.tolist() == [100, 150, 120, 0, 80]
    assert led[led.customer == "b"].movement.tolist() == ["new", "unchanged", "unchanged", "unchanged"]
    assert_reconciles(led)
    # The ledger sums to the movements table.
    totals = kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum")
    summed = led.groupby("period")[MONEY].sum().reset_index()
    pd.testing.assert_frame_equal(summed[MONEY], totals[MONEY], check_dtype=False)


def test_segments_sum_to_totals_and_moves_cancel() -> None:
    df = pd.DataFrame(SNAPSHOTS)
    by = kpikit.mrr_movements(df, customer="customer", period="month", mrr="mrr", duplicates="sum", by="plan")
    total = kpikit.mrr_movements(df, customer="customer", period="month", mrr="mrr", duplicates="sum")
    assert_reconciles(by)
    assert by.plan.tolist() == ["basic"] * 5 + ["pro"] * 5
    pro = by[by.plan == "pro"]
    # a moves basic → pro in February with 100 and expands by 50 there; back to basic in May.
    assert pro.moved_in_mrr.tolist() == [0, 100, 0, 0, 0]
    assert pro.expansion_mrr.tolist() == [0, 50, 0, 0, 0]
    assert pro.churned_mrr.tolist() == [0, 0, 0, 120, 0]
    assert by[by.plan == "basic"].moved_out_mrr.tolist() == [0, 100, 0, 0, 0]
    grouped = by.groupby("period")
    for col in [*MONEY, "net_new_mrr", "starting_customers", "new_customers", "churned_customers", "ending_customers"]:
        assert grouped[col].sum().tolist() == total[col].tolist(), col
    assert (grouped.moved_in_mrr.sum() == grouped.moved_out_mrr.sum()).all()


def test_same_period_join_and_churn_under_each_preset() -> None:
    # x subscribes on 5 January and cancels on 20 January; y has 600 a year from 1 January.
    subs = pd.DataFrame({
        "customer": ["x", "y"],
        "start": pd.to_datetime(["2026-01-05", "2026-01-01"]),
        "end": pd.to_datetime(["2026-01-20", None]),
        "amount": [100.0, 600.0],
        "interval": ["month", "year"],
    })
    cols = dict(customer="customer", started="start", ended="end", amount="amount", interval="interval")
    expected = {
        # preset: (new_mrr, churned_mrr, new_customers, churned_customers)
        "stripe": (150, 100, 2, 1),
        "baremetrics": (150, 100, 2, 1),
        "chartmogul": (150, 100, 2, 0),
        "profitwell": (50, 0, 1, 0),
    }
    for preset, want in expected.items():
        row = kpikit.mrr_movements(subs, preset=preset, **cols).iloc[0]
        assert (row.new_mrr, row.churned_mrr, row.new_customers, row.churned_customers) == want, preset
        assert row.ending_mrr == 50 and row.new_and_churned_customers == 1
    # A keyword overrides the preset.
    row = kpikit.mrr_movements(subs, preset="profitwell", same_period_new_churn="count", **cols).iloc[0]
    assert (row.new_mrr, row.churned_customers) == (150, 1)
    led = kpikit.mrr_movements(subs, preset="profitwell", detail=True, **cols)
    assert led.movement.tolist() == ["new_and_churn", "new"]
    # Averaged over January, x has 100 × 15/31 and churns in February.
    avg = kpikit.mrr_movements(subs, snapshot="average", **cols)
    assert avg.new_mrr.tolist() == [round(50 * 31 / 31 + 100 * 15 / 31, 2), 0]
    assert avg.churned_mrr.tolist() == [0, 48.39]


def test_presets_are_recorded() -> None:
    df = pd.DataFrame(SNAPSHOTS)
    out = kpikit.mrr_movements(df, customer="customer", period="month", mrr="mrr", duplicates="sum", preset="stripe")
    assert out.attrs["conventions"]["churn_denominator"] == "start_plus_new"
    for name, values in kpikit.revenue.PRESETS.items():
        conv = kpikit.mrr_movements(df, customer="customer", period="month", mrr="mrr", duplicates="sum", preset=name).attrs["conventions"]
        for key, value in values.items():
            assert conv[key] == value, (name, key)


def test_stripe_glossary_mrr_is_12500() -> None:
    # 100 subscribers on Plan A ($100/month) and 50 on Plan B ($600/year).
    subs = pd.DataFrame({
        "customer": range(150),
        "start": pd.Timestamp("2026-03-01"),
        "amount": [100.0] * 100 + [600.0] * 50,
        "interval": ["month"] * 100 + ["year"] * 50,
    })
    m = kpikit.mrr(subs, customer="customer", started="start", amount="amount", interval="interval")
    assert m.mrr.sum() == 12_500
    mv = kpikit.mrr_movements(subs, customer="customer", started="start", amount="amount", interval="interval")
    assert mv.ending_mrr.tolist() == [12_500] and mv.new_customers.tolist() == [150]


def test_intervals_normalise_to_a_month() -> None:
    subs = pd.DataFrame({
        "customer": ["q", "w", "h", "n"],
        "start": pd.to_datetime(["2026-01-01"] * 4),
        "amount": [300.0, 52.0, 60.0, 24.0],
        "interval": ["quarterly", "week", "6", "annual"],
    })
    m = kpikit.mrr(subs, customer="customer", started="start", amount="amount", interval="interval")
    assert dict(zip(m.customer, m.mrr, strict=True)) == {"q": 100.0, "w": 225.33, "h": 10.0, "n": 2.0}
    months = subs.assign(interval=[3, 12 / 52, 6, 12])
    m2 = kpikit.mrr(months, customer="customer", started="start", amount="amount", interval="interval")
    assert m2.mrr.tolist() == m.mrr.tolist()


def test_mrr_snapshots_and_period_end_rule() -> None:
    subs = pd.DataFrame({
        "customer": [1, 1],
        "start": pd.to_datetime(["2026-01-10", "2026-03-01"]),
        "end": pd.to_datetime(["2026-02-01", "2026-03-31"]),
        "amount": [10.0, 30.0],
    })
    m = kpikit.mrr(subs, customer="customer", started="start", ended="end", amount="amount")
    # Ends at midnight on 1 February: counted in January. Ends on 31 March: not at the end of March.
    assert m.period.dt.strftime("%Y-%m").tolist() == ["2026-01"]
    assert m.mrr.tolist() == [10.0]
    snaps = kpikit.mrr(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum")
    assert snaps[snaps.customer == "b"].mrr.tolist() == [50, 50, 50, 50]
    assert len(snaps) == 8


def test_every_input_library_gives_the_same_numbers(make_table: Any) -> None:
    data = {
        "customer": [1, 1, 2, 3, 3, 4],
        "start": [pd.Timestamp(d, tz="UTC") for d in ["2026-01-03", "2026-03-10", "2026-01-20", "2026-02-01", "2026-02-05", "2026-04-02"]],
        "end": [pd.Timestamp("2026-02-15", tz="UTC"), None, pd.Timestamp("2026-05-01", tz="UTC"), pd.Timestamp("2026-02-10", tz="UTC"), None, None],
        "amount": [120.0, 30.0, 50.0, 10.0, 1200.0, 75.5],
        "interval": ["year", "month", "month", "month", "year", "month"],
        "region": ["eu", "eu", "us", "us", "us", "eu"],
    }
    cols = dict(customer="customer", started="start", ended="end", amount="amount", interval="interval", by="region")
    out = kpikit.mrr_movements(make_table(data), output="pandas", **cols)
    expected = kpikit.mrr_movements(pd.DataFrame(data), **cols)
    pd.testing.assert_frame_equal(out.reset_index(drop=True), expected)
    assert_reconciles(out)
    eu = out[out.region == "eu"]
    # 1: 10 from January, churns in February, reactivated at 30 in March; 4 joins in April at 75.50.
    assert eu.ending_mrr.tolist() == [10, 0, 30, 105.5, 105.5]
    assert eu.reactivation_mrr.tolist() == [0, 0, 30, 0, 0]
    led = kpikit.mrr_movements(make_table(data), detail=True, output="pandas", **cols)
    assert_reconciles(led)


@pytest.mark.parametrize("output", ["pandas", "polars", "arrow"])
def test_output_kinds(output: str) -> None:
    out = kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum", output=output)
    kind = {"pandas": pd.DataFrame, "polars": pl.DataFrame, "arrow": pa.Table}[output]
    assert isinstance(out, kind)
    assert len(out) == 5


def test_errors_name_column_rule_and_rows() -> None:
    df = pd.DataFrame(SNAPSHOTS)
    bad = df.assign(mrr=[100.0, -5.0, np.nan, np.inf, 1.0, 1.0, 1.0, 1.0, 1.0])
    with pytest.raises(kpikit.InputError) as err:
        kpikit.mrr_movements(bad, customer="customer", period="month", mrr="mrr", duplicates="sum")
    msg = str(err.value)
    assert '"mrr"' in msg and "finite number" in msg and "3 row(s)" in msg
    assert "row 1: -5" in msg and "row 2: missing" in msg and "row 3: inf" in msg
    with pytest.raises(kpikit.InputError, match=r'"customer": must not be missing: 1 row\(s\), e.g. row 0'):
        kpikit.mrr(df.assign(customer=[None, *df.customer[1:]]), customer="customer", period="month", mrr="mrr", duplicates="sum")
    with pytest.raises(kpikit.InputError, match=r'"month": must not be missing.*row 4'):
        kpikit.mrr(df.assign(month=df.month.where(df.index != 4)), customer="customer", period="month", mrr="mrr", duplicates="sum")
    conflict = df.assign(plan=["basic", "pro", "pro", "basic", "basic", "pro", "basic", "basic", "basic"])
    with pytest.raises(kpikit.InputError) as err:
        kpikit.mrr_movements(conflict, customer="customer", period="month", mrr="mrr", duplicates="sum", by="plan")
    assert '"plan": a customer must have one segment value per period' in str(err.value)
    assert "row 5: same customer and period (2026-02-01) as row 4" in str(err.value)

    subs = pd.DataFrame({
        "customer": [1, 2, 3],
        "start": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]),
        "end": pd.to_datetime(["2026-03-01", "2026-01-01", None]),
        "amount": [10.0, 10.0, 10.0],
        "interval": ["month", "fortnightly", "year"],
    })
    cols = dict(customer="customer", started="start", ended="end", amount="amount")
    with pytest.raises(kpikit.InputError, match=r'"interval".*row 1: "fortnightly"'):
        kpikit.mrr(subs, interval="interval", **cols)
    with pytest.raises(kpikit.InputError, match=r'"end": must not be before start: 1 row\(s\), e.g. row 1'):
        kpikit.mrr(subs, **cols)


def test_parameter_errors() -> None:
    df = pd.DataFrame(SNAPSHOTS)
    cols = dict(customer="customer", period="month", mrr="mrr", duplicates="sum")
    with pytest.raises(kpikit.ParameterError, match="preset"):
        kpikit.mrr_movements(df, preset="hubspot", **cols)
    with pytest.raises(kpikit.ParameterError, match="churn_timing"):
        kpikit.mrr_movements(df, churn_timing="cancel", **cols)
    with pytest.raises(kpikit.ParameterError, match="same_period_new_churn"):
        kpikit.mrr_movements(df, same_period_new_churn="maybe", **cols)
    with pytest.raises(kpikit.ParameterError, match="reactivation_window"):
        kpikit.mrr_movements(df, reactivation_window="soon", **cols)
    with pytest.raises(kpikit.ParameterError, match="snapshot"):
        kpikit.mrr_movements(df, snapshot="average", **cols)
    with pytest.raises(kpikit.ParameterError, match="not both"):
        kpikit.mrr(df, customer="customer", period="month", mrr="mrr", duplicates="sum", started="month")
    with pytest.raises(kpikit.ParameterError, match="period= and mrr="):
        kpikit.mrr(df, customer="customer", period="month")
    with pytest.raises(kpikit.SchemaError, match='"month" must be a timestamp or date'):
        kpikit.mrr(df.assign(month="x"), **cols)


def test_partitions_by_customer_merge_exactly() -> None:
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({
        "customer": rng.integers(0, 60, n),
        "month": pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "mrr": rng.integers(0, 5, n) * 12.5,
    })
    df["plan"] = np.where(df.customer % 3 == 0, "a", "b")
    kw: dict[str, Any] = dict(period="month", mrr="mrr", by=["plan"], preset="chartmogul", duplicates="sum")
    whole = _kpikit.finish(_kpikit.mrr_movements(df, "customer", **kw))
    # Each partition is given the snapshot times of the whole data, as the Python layer does:
    # a period's end is its latest snapshot time over all partitions.
    times = pa.array(df.month)
    parts = [_kpikit.mrr_movements(df[df.customer % 4 == k], "customer", times=times, **kw) for k in range(4)]
    merged = _kpikit.finish(_kpikit.merge(parts))
    assert pa.table(whole).equals(pa.table(merged))
    # The same through the public function, partitions given as a list.
    public = kpikit.mrr_movements([df[df.customer % 4 == k] for k in range(4)], customer="customer", **kw)
    pd.testing.assert_frame_equal(public, kpikit.mrr_movements(df, customer="customer", **kw))
    with pytest.raises(kpikit.ParameterError, match="detail"):
        kpikit.mrr_movements([df], customer="customer", detail=True, **kw)


def test_empty_input() -> None:
    empty = pd.DataFrame({"customer": pd.Series([], dtype="int64"), "month": pd.Series([], dtype="datetime64[ns]"), "mrr": pd.Series([], dtype="float64")})
    out = kpikit.mrr_movements(empty, customer="customer", period="month", mrr="mrr")
    assert len(out) == 0 and "ending_mrr" in out
    assert len(kpikit.mrr(empty, customer="customer", period="month", mrr="mrr")) == 0


# --- pandas reference on random subscription histories -------------------------------------

def _reference(subs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-customer ledger and per-period totals, straight from the definitions (month ends,
    any-gap reactivation, same-period join and churn counted)."""
    subs = subs.assign(
        # Rounded half away from zero, to cents, per subscription.
        c=np.floor(subs.amount / subs.months * 100 + 0.5).astype("int64"),
        m0=subs.start.dt.to_period("M"),
        m1=subs.end.dt.to_period("M"),
    )
    horizon = max(subs.m0.max(), subs.m1.max())
    months = pd.period_range(subs.m0.min(), horizon, freq="M")
    grid = subs.merge(pd.DataFrame({"month": months}), how="cross")
    boundary = grid.month.dt.end_time.dt.normalize() + pd.Timedelta(days=1)
    grid["active"] = (grid.start < boundary) & (grid.end.isna() | (grid.end >= boundary))
    level = grid[grid.active].groupby(["customer", "month"]).agg(end_mrr=("c", "sum"), plan=("plan", "first"))
    flash = subs[(subs.m0 == subs.m1) & (subs.end > subs.start)].groupby(["customer", "m0"]).c.max()
    full = pd.MultiIndex.from_product([sorted(subs.customer.unique()), months], names=["customer", "month"])
    led = level.reindex(full).reset_index()
    led["end_mrr"] = led.end_mrr.fillna(0).astype("int64")
    led["start"] = led.groupby("customer").end_mrr.shift(1, fill_value=0)
    led["flash"] = [flash.get((c, m), 0) if s == 0 and e == 0 else 0 for c, m, s, e in zip(led.customer, led.month, led.start, led.end_mrr, strict=True)]
    seen = (led.end_mrr > 0) | (led.flash > 0)
    led["ever"] = seen.groupby(led.customer).transform(lambda s: s.shift(1, fill_value=False).cummax())
    joins = (led.start == 0) & (led.end_mrr > 0)
    both = (led.start > 0) & (led.end_mrr > 0)
    led["new"] = np.where(joins & ~led.ever, led.end_mrr, 0) + np.where(~led.ever, led.flash, 0)
    led["reactivation"] = np.where(joins & led.ever, led.end_mrr, 0) + np.where(led.ever, led.flash, 0)
    led["expansion"] = np.where(both, (led.end_mrr - led.start).clip(lower=0), 0)
    led["contraction"] = np.where(both, (led.start - led.end_mrr).clip(lower=0), 0)
    led["churned"] = np.where((led.start > 0) & (led.end_mrr == 0), led.start, 0) + led.flash
    led["new_c"] = ((joins & ~led.ever) | ((led.flash > 0) & ~led.ever)).astype(int)
    led["churned_c"] = (((led.start > 0) & (led.end_mrr == 0)) | (led.flash > 0)).astype(int)
    led = led[(led.start > 0) | (led.end_mrr > 0) | (led.flash > 0)]
    first = led.month.min()
    totals = led.groupby("month")[["start", "new", "expansion", "contraction", "churned", "reactivation", "end_mrr", "new_c", "churned_c"]].sum()
    totals = totals.reindex(pd.period_range(first, horizon, freq="M"), fill_value=0)
    return led.reset_index(drop=True), totals


@st.composite
def histories(draw: Any) -> pd.DataFrame:
    """Per customer, consecutive non-overlapping subscriptions with gaps (so reactivations), short
    ones inside a month (joined and churned), plan changes (segment moves) and open ends."""
    rows = []
    for customer in range(draw(st.integers(1, 6))):
        day = draw(st.integers(0, 60))
        for _ in range(draw(st.integers(1, 4))):
            day += draw(st.sampled_from([0, 0, 3, 20, 45, 90]))
            length = draw(st.sampled_from([1, 10, 31, 59, 120, 400, None]))
            amount = draw(st.sampled_from([9.99, 10.0, 25.5, 120.0, 600.0]))
            interval, months = draw(st.sampled_from([("month", 1), ("quarter", 3), ("year", 12)]))
            plan = draw(st.sampled_from(["basic", "pro"]))
            start = pd.Timestamp("2026-01-01") + pd.Timedelta(days=day)
            end = None if length is None else start + pd.Timedelta(days=length)
            rows.append((customer, start, end, amount, interval, months, plan))
            if length is None:
                break
            day += length
    return pd.DataFrame(rows, columns=["customer", "start", "end", "amount", "interval", "months", "plan"]).astype({"end": "datetime64[ns]"})


@settings(max_examples=80, deadline=None)
@given(histories())
def test_matches_pandas_reference(subs: pd.DataFrame) -> None:
    cols = dict(customer="customer", started="start", ended="end", amount="amount", interval="interval")
    led_ref, tot_ref = _reference(subs)
    out = kpikit.mrr_movements(subs, **cols)
    assert_reconciles(out)
    assert out.period.dt.to_period("M").tolist() == list(tot_ref.index)
    for col, ref in [("starting_mrr", "start"), ("new_mrr", "new"), ("expansion_mrr", "expansion"),
                     ("contraction_mrr", "contraction"), ("churned_mrr", "churned"),
                     ("reactivation_mrr", "reactivation"), ("ending_mrr", "end_mrr"),
                     ("new_customers", "new_c"), ("churned_customers", "churned_c")]:
        got = cents(out[col]) if col.endswith("_mrr") else out[col].tolist()
        assert got == tot_ref[ref].tolist(), col

    led = kpikit.mrr_movements(subs, detail=True, **cols)
    assert_reconciles(led)
    assert list(zip(led.customer, led.period.dt.to_period("M"), strict=True)) == list(zip(led_ref.customer, led_ref.month, strict=True))
    assert cents(led.ending_mrr) == led_ref.end_mrr.tolist()
    assert cents(led.churned_mrr) == led_ref.churned.tolist()
    assert cents(led.reactivation_mrr) == led_ref.reactivation.tolist()

    # Segments: every plan's rows reconcile, sum to the totals, and the moves cancel.
    by = kpikit.mrr_movements(subs, by="plan", **cols)
    assert_reconciles(by)
    g = by.groupby("period")
    for col in [*MONEY, "new_customers", "churned_customers", "ending_customers"]:
        assert np.allclose(g[col].sum().to_numpy(), out[col].to_numpy()), col
    assert np.allclose(g.moved_in_mrr.sum(), g.moved_out_mrr.sum())
    # Each plan's ending MRR is the MRR of customers on that plan at the period end.
    ref_plan = led_ref[led_ref.end_mrr > 0].groupby(["plan", "month"]).end_mrr.sum()
    for plan, month, ending in zip(by.plan, by.period.dt.to_period("M"), cents(by.ending_mrr), strict=True):
        assert ending == ref_plan.get((plan, month), 0)


def test_snapshot_movements_do_not_depend_on_row_order_or_chunks() -> None:
    """300,000 customer-month rows (three row ranges, read on several threads): customers listed
    together, the same rows shuffled, and an Arrow table of 1,000-row chunks give the same
    movements, equal to a pandas reference of the month totals."""
    rng = np.random.default_rng(7)
    n_customers = 30_000
    months = pd.date_range("2025-01-01", periods=10, freq="MS")
    # Each customer: MRR in whole cents for 10 months, with zeros (churn, reactivation).
    level = rng.choice([0, 0, 1999, 4950, 12000], size=(n_customers, 10)) * rng.integers(1, 4, (n_customers, 1))
    df = pd.DataFrame(
        {
            "customer": np.repeat([f"c{i:05d}" for i in range(n_customers)], 10),
            "month": np.tile(months, n_customers),
            "mrr": level.reshape(-1) / 100,
        }
    )
    kw = dict(customer="customer", period="month", mrr="mrr")
    listed = kpikit.mrr_movements(df, **kw)
    shuffled = kpikit.mrr_movements(df.sample(frac=1, random_state=3), **kw)
    table = pa.Table.from_pandas(df, preserve_index=False)
    chunked = kpikit.mrr_movements(pa.Table.from_batches(table.to_batches(max_chunksize=1_000)), output="pandas", **kw)
    pd.testing.assert_frame_equal(listed, shuffled)
    pd.testing.assert_frame_equal(listed, chunked)
    # Reference: month-over-month changes per customer (a customer's month before its first
    # row and after its last have no MRR; every customer has all 10 months here).
    cur = level
    prev = np.concatenate([np.zeros((n_customers, 1), dtype=level.dtype), level[:, :-1]], axis=1)
    ever = np.maximum.accumulate(prev > 0, axis=1)
    joins = (prev == 0) & (cur > 0)
    first = int(np.argmax((cur > 0).any(axis=0)))
    expected = {
        "new_mrr": np.where(joins & ~ever, cur, 0).sum(axis=0),
        "reactivation_mrr": np.where(joins & ever, cur, 0).sum(axis=0),
        "expansion_mrr": np.where((prev > 0) & (cur > prev), cur - prev, 0).sum(axis=0),
        "contraction_mrr": np.where((cur > 0) & (prev > cur), prev - cur, 0).sum(axis=0),
        "churned_mrr": np.where((prev > 0) & (cur == 0), prev, 0).sum(axis=0),
        "ending_mrr": cur.sum(axis=0),
    }
    got = listed.set_index("period").loc[months[first:]]
    for col, want in expected.items():
        assert cents(got[col]) == want[first:].tolist(), col


# --- one vocabulary (docs/vocabulary.md) ------------------------------------------------------

SUBS = {
    # x: 100 a month from January; y: 1,200 a year from February, ended on 1 April; z: 30 a
    # month from March.
    "customer": ["x", "y", "z"],
    "started": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]),
    "ended": pd.to_datetime([None, "2026-04-01", None]),
    "amount": [100.0, 1200.0, 30.0],
    "interval": ["month", "year", "month"],
    "plan": ["pro", "team", "pro"],
}
SUB_COLS = dict(customer="customer", started="started", ended="ended", amount="amount", interval="interval")


def test_subscription_columns_are_started_and_ended() -> None:
    out = kpikit.mrr_movements(pd.DataFrame(SUBS), **SUB_COLS)
    # y counts at the ends of February and March (ended at midnight on 1 April: the end of March).
    assert out.ending_mrr.tolist() == [100, 200, 230, 130]
    assert out.churned_mrr.tolist() == [0, 0, 0, 100]
    m = kpikit.mrr(pd.DataFrame(SUBS), **SUB_COLS)
    assert m[m.customer == "y"].mrr.tolist() == [100, 100]


@pytest.mark.parametrize("function", ["mrr", "mrr_movements", "revenue_metrics", "revenue_cohorts"])
@pytest.mark.parametrize("old", ["start", "end"])
def test_the_old_column_names_are_a_type_error(function: str, old: str) -> None:
    kw = {k: v for k, v in SUB_COLS.items() if k != {"start": "started", "end": "ended"}[old]}
    with pytest.raises(TypeError, match=f"{old!r}"):
        getattr(kpikit, function)(pd.DataFrame(SUBS), **kw, **{old: old + "ed"})


def test_the_table_is_positional_only() -> None:
    with pytest.raises(TypeError):
        kpikit.mrr_movements(table=pd.DataFrame(SUBS), **SUB_COLS)  # type: ignore[misc]


@pytest.mark.parametrize("function", ["mrr", "mrr_movements", "revenue_metrics", "revenue_cohorts"])
def test_output_follows_the_input_library(function: str) -> None:
    f = getattr(kpikit, function)
    df = pd.DataFrame(SUBS)
    expected = f(df, **SUB_COLS)
    assert isinstance(expected, pd.DataFrame)
    assert isinstance(f(pl.from_pandas(df), **SUB_COLS), pl.DataFrame)
    arrow = pa.Table.from_pandas(df, preserve_index=False)
    assert isinstance(f(arrow, **SUB_COLS), pa.Table)
    assert isinstance(f(df, output="polars", **SUB_COLS), pl.DataFrame)
    # The same numbers whatever the library.
    for table in (pl.from_pandas(df), arrow):
        pd.testing.assert_frame_equal(f(table, output="pandas", **SUB_COLS), expected)


def test_conventions_are_reachable_for_pandas_and_arrow_output() -> None:
    df = pd.DataFrame(SNAPSHOTS)
    cols = dict(customer="customer", period="month", mrr="mrr", duplicates="sum", preset="chartmogul")
    pandas = kpikit.mrr_movements(df, **cols)
    arrow = kpikit.mrr_movements(df, output="arrow", **cols)
    assert pandas.attrs["conventions"] == kpikit.revenue.PRESETS["chartmogul"]
    assert json.loads(arrow.schema.metadata[b"kpikit.conventions"]) == kpikit.revenue.PRESETS["chartmogul"]
    # Rates from either movement table apply ChartMogul's LTV churn averaged over 6 periods.
    direct = kpikit.revenue_metrics(df, **cols)
    pd.testing.assert_frame_equal(kpikit.revenue_metrics(arrow, output="pandas"), direct)
    # ChartMogul's LTV: May's ARPA 65 over April-and-before's mean churn (0 + 0 + 0.5) / 3 =
    # 390; kpikit's own: April's 100 / 0.5 = 100 and none in May (no churn).
    assert pd.isna(direct.ltv[3]) and direct.ltv[4] == 390.0
    # A polars DataFrame has no table metadata: the preset is given again, as documented;
    # without it the rates are kpikit's defaults.
    polars = kpikit.mrr_movements(df, output="polars", **cols)
    default = kpikit.revenue_metrics(polars, output="pandas")
    assert default.ltv[3] == 100.0 and pd.isna(default.ltv[4])
    again = kpikit.revenue_metrics(polars, preset="chartmogul", output="pandas")
    pd.testing.assert_frame_equal(again, direct)
    assert kpikit.revenue_metrics(df, **cols, output="arrow").schema.metadata[b"kpikit.conventions"]


def test_net_negative_churn_is_a_nullable_boolean() -> None:
    # January: nothing at the start (null flag); February: a 100 → 150 expansion against no
    # churn, net MRR churn −50 %: negative; March: 150 → 120, net churn +20 %.
    snaps = pd.DataFrame({"customer": ["a"] * 3, "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]), "mrr": [100.0, 150.0, 120.0]})
    cols = dict(customer="customer", period="month", mrr="mrr")
    r = kpikit.revenue_metrics(snaps, **cols)
    assert str(r.net_negative_churn.dtype) == "boolean"
    assert r.net_negative_churn.tolist() == [pd.NA, True, False]
    assert r.net_mrr_churn_rate.tolist()[1:] == pytest.approx([-0.5, 0.2])
    assert kpikit.revenue_metrics(pl.from_pandas(snaps), **cols).schema["net_negative_churn"] == pl.Boolean
    assert kpikit.revenue_metrics(snaps, output="arrow", **cols).schema.field("net_negative_churn").type == pa.bool_()


def _categorical_snapshots() -> pd.DataFrame:
    df = pd.DataFrame(SNAPSHOTS)
    # Categories in a meaning order (not alphabetical), one of them unused.
    return df.assign(plan=pd.Categorical(df.plan, categories=["pro", "enterprise", "basic"], ordered=True))


def test_categorical_segments_keep_their_categories_and_order() -> None:
    df = _categorical_snapshots()
    cols = dict(customer="customer", period="month", mrr="mrr", duplicates="sum", by="plan")
    plain = kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), **cols)
    out = kpikit.mrr_movements(df, **cols)
    assert isinstance(out.plan.dtype, pd.CategoricalDtype) and out.plan.dtype.ordered
    assert list(out.plan.cat.categories) == ["pro", "enterprise", "basic"]
    # pro's rows first (its category comes first), each segment's periods in order; the
    # figures are those of the string segments. enterprise, which no customer is on, has its
    # months at zero (docs/conventions.md, "Complete grids").
    assert out.plan.tolist() == ["pro"] * 5 + ["enterprise"] * 5 + ["basic"] * 5
    assert out.period.tolist() == plain.period.tolist()[:5] * 3
    assert out.ending_mrr.tolist() == [0, 150, 120, 0, 0] + [0] * 5 + [100, 50, 50, 50, 130]
    used = out[out.plan != "enterprise"].reset_index(drop=True)
    expected = plain.assign(plan=plain.plan.astype(df.plan.dtype)).sort_values(["plan", "period"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(used, expected)
    unused = out[out.plan == "enterprise"].drop(columns=["plan", "period"])
    assert (unused == 0).all().all()
    rates = kpikit.revenue_metrics(df, **cols)
    assert list(rates.plan.cat.categories) == ["pro", "enterprise", "basic"]
    assert rates.plan.tolist() == ["pro"] * 5 + ["enterprise"] * 5 + ["basic"] * 5
    assert rates[rates.plan == "enterprise"].gross_mrr_churn_rate.isna().all()
    # From the movement table too.
    pd.testing.assert_frame_equal(kpikit.revenue_metrics(out), rates)
    # The ledger keeps its customer-then-period order.
    led = kpikit.mrr_movements(df, detail=True, **cols)
    assert isinstance(led.plan.dtype, pd.CategoricalDtype)
    plain_led = kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), detail=True, **cols)
    pd.testing.assert_frame_equal(led, plain_led.assign(plan=plain_led.plan.astype(df.plan.dtype)))
    assert led.customer.tolist() == sorted(led.customer)


def test_arrow_dictionary_segments_come_back_as_dictionaries() -> None:
    table = pa.Table.from_pandas(_categorical_snapshots(), preserve_index=False)
    out = kpikit.mrr_movements(table, customer="customer", period="month", mrr="mrr", duplicates="sum", by="plan")
    assert pa.types.is_dictionary(out.schema.field("plan").type)
    assert out.column("plan").to_pylist() == ["pro"] * 5 + ["enterprise"] * 5 + ["basic"] * 5


def test_a_segment_named_period_is_refused() -> None:
    df = pd.DataFrame(SNAPSHOTS).rename(columns={"plan": "period"})
    with pytest.raises(kpikit.ParameterError, match=r'"by".*period'):
        kpikit.mrr_movements(df, customer="customer", period="month", mrr="mrr", duplicates="sum", by="period")


@pytest.mark.parametrize("alias, word", [("M", "month"), ("MS", "month"), ("QS", "quarter"), ("1mo", "month"), ("D", "day"), ("W-MON", "week")])
@pytest.mark.parametrize("function", ["mrr", "mrr_movements", "revenue_metrics", "revenue_cohorts"])
def test_foreign_frequency_spellings_are_refused(function: str, alias: str, word: str) -> None:
    with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
        getattr(kpikit, function)(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum", freq=alias)


def test_unsupported_frequencies_are_refused() -> None:
    with pytest.raises(kpikit.ParameterError, match='"freq": \'hour\' is not one of'):
        kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum", freq="hour")
    with pytest.raises(kpikit.ParameterError, match='"freq"'):
        kpikit.revenue_metrics(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum", freq="hour")


def test_quarters_are_the_word() -> None:
    q = kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum", freq="quarter")
    # A quarter's MRR is its last snapshot (docs/conventions.md#mrr): Q1 ends with March's
    # (a 120, b 50), Q2 with May's, the latest of the data (a 80, b 50).
    assert q.period.tolist() == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-04-01")]
    assert q.ending_mrr.tolist() == [170, 130]
    assert q.new_mrr.tolist() == [170, 0]
    assert q.contraction_mrr.tolist() == [0, 40]


def _snapshots(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer", "month", "mrr"]).assign(month=lambda d: pd.to_datetime(d.month))


#: Month-start snapshots of three customers over two quarters, and what a quarter reads:
#: a 100, 100, 120 | 120, 90, 90 — b 50, 50, – | –, 60, 60 — c –, 30, 30 | 30, 30, –.
MONTHLY = _snapshots([
    ("a", "2026-01-01", 100.0), ("a", "2026-02-01", 100.0), ("a", "2026-03-01", 120.0),
    ("a", "2026-04-01", 120.0), ("a", "2026-05-01", 90.0), ("a", "2026-06-01", 90.0),
    ("b", "2026-01-01", 50.0), ("b", "2026-02-01", 50.0),
    ("b", "2026-05-01", 60.0), ("b", "2026-06-01", 60.0),
    ("c", "2026-02-01", 30.0), ("c", "2026-03-01", 30.0),
    ("c", "2026-04-01", 30.0), ("c", "2026-05-01", 30.0),
])


def test_quarterly_mrr_is_the_snapshot_at_each_quarter_end() -> None:
    # By hand: Q1 ends with March (a 120, c 30: b left in March), Q2 with June (a 90, b 60: c
    # left in June). Q2 from Q1: a contracts 30, c churns 30, and b is new at 60 (its January
    # and February never reached a quarter end).
    cols = dict(customer="customer", period="month", mrr="mrr", freq="quarter")
    q = kpikit.mrr_movements(MONTHLY, **cols)
    assert q.period.dt.strftime("%Y-%m").tolist() == ["2026-01", "2026-04"]
    assert q.starting_mrr.tolist() == [0, 150]
    assert q.new_mrr.tolist() == [150, 60]
    assert q.contraction_mrr.tolist() == [0, 30]
    assert q.churned_mrr.tolist() == [0, 30]
    assert q.reactivation_mrr.tolist() == [0, 0]
    assert q.ending_mrr.tolist() == [150, 150]
    assert q.ending_customers.tolist() == [2, 2]
    assert_reconciles(q)
    # The quarter ends equal the monthly figures of March and June.
    monthly = kpikit.mrr_movements(MONTHLY, customer="customer", period="month", mrr="mrr").set_index("period")
    assert q.ending_mrr.tolist() == monthly.loc[["2026-03-01", "2026-06-01"], "ending_mrr"].tolist()
    per_customer = kpikit.mrr(MONTHLY, customer="customer", period="month", mrr="mrr", freq="quarter")
    assert sorted(zip(per_customer.customer, per_customer.period.dt.month, per_customer.mrr, strict=True)) == [
        ("a", 1, 120.0), ("a", 4, 90.0), ("b", 4, 60.0), ("c", 1, 30.0),
    ]
    # Rates read the same quarter ends: ARR = 12 × the quarter-end MRR.
    r = kpikit.revenue_metrics(MONTHLY, **cols)
    assert r.arr.tolist() == [12 * 150.0, 12 * 150.0]
    cohorts = kpikit.revenue_cohorts(MONTHLY, **cols)
    assert cohorts.retained_mrr.tolist() == [150.0, 90.0, 60.0]
    # Partitions (a list, a Dask DataFrame) read the same quarter ends, although partition
    # {c} alone has no June snapshot.
    parts = [MONTHLY[MONTHLY.customer != "c"], MONTHLY[MONTHLY.customer == "c"]]
    split = kpikit.mrr_movements(parts, **cols)
    assert split.ending_mrr.tolist() == [150, 150] and split.churned_mrr.tolist() == [0, 30]
    import dask.dataframe as dd

    ddf = dd.from_pandas(MONTHLY.sort_values("customer"), npartitions=3)
    assert kpikit.mrr_movements(ddf, **cols).ending_mrr.tolist() == [150, 150]
    assert kpikit.revenue_metrics(ddf, **cols).arr.tolist() == [1800.0, 1800.0]


def test_snapshots_on_any_day_of_the_month_are_that_month_and_a_quarter_reads_its_last_month() -> None:
    # Snapshots dated on each customer's invoice day: every one is its month's MRR.
    df = _snapshots([("a", "2026-01-03", 100.0), ("b", "2026-01-20", 50.0), ("a", "2026-02-03", 100.0),
                     ("b", "2026-02-20", 50.0), ("a", "2026-03-03", 120.0)])
    monthly = kpikit.mrr_movements(df, customer="customer", period="month", mrr="mrr")
    assert monthly.ending_mrr.tolist() == [150.0, 150.0, 120.0]
    # By quarter: March (the last month with data) over every customer; b has no March row, so
    # it churned in Q1 and never counts (joined and left inside the quarter).
    quarterly = kpikit.mrr_movements(df, customer="customer", period="month", mrr="mrr", freq="quarter")
    assert quarterly.ending_mrr.tolist() == [120.0] and quarterly.new_mrr.tolist() == [120.0]
    # Two rows of one customer in one month are refused: which of them is the month's MRR?
    twice = _snapshots([("a", "2026-01-01", 100.0), ("a", "2026-01-15", 120.0), ("b", "2026-01-01", 50.0)])
    with pytest.raises(kpikit.InputError, match=r"row 1: same customer and period as row 0"):
        kpikit.mrr(twice, customer="customer", period="month", mrr="mrr")


def test_repeated_snapshot_rows_raise_unless_summed() -> None:
    df = pd.DataFrame(SNAPSHOTS)
    cols = dict(customer="customer", period="month", mrr="mrr")
    for function in (kpikit.mrr, kpikit.mrr_movements, kpikit.revenue_metrics, kpikit.revenue_cohorts):
        with pytest.raises(kpikit.InputError, match=r"customer, month.*one snapshot row per period.*row 5") as e:
            function(df, **cols)
        assert 'duplicates="sum"' in str(e.value)
    summed = kpikit.mrr(df, duplicates="sum", **cols)
    assert summed[summed.customer == "b"].mrr.tolist() == [50.0, 50.0, 50.0, 50.0]
    with pytest.raises(kpikit.ParameterError, match="duplicates"):
        kpikit.mrr(df, duplicates="first", **cols)


def test_no_bad_row_parameter_bad_rows_raise() -> None:
    # mrr_movements has no invalid= (a keyword it does not know is refused, not ignored).
    with pytest.raises(kpikit.ParameterError, match="invalid"):
        kpikit.mrr_movements(pd.DataFrame(SNAPSHOTS), customer="customer", period="month", mrr="mrr", duplicates="sum", invalid="skip")


def test_every_convention_keyword_is_in_the_vocabulary() -> None:
    from test_vocabulary import vocabulary

    words = vocabulary()
    assert "conventions" in words
    for name, default in kpikit.revenue.CONVENTIONS.items():
        assert name in words, f"convention {name} is not in docs/vocabulary.md"
        assert words[name][1] == repr(default).replace("'", '"'), name
