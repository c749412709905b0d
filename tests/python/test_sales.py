"""Deal metrics and quota attainment: published examples, hand-computed groups, every input
library, a pandas reference, partitions, errors."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import kpikit
from kpikit import _kpikit

DEAL_COLS = dict(created="created", closed="closed", amount="amount", won="won")


def _deals(rows: list[tuple[str, str | None, float, bool | None]], **extra: list[Any]) -> pd.DataFrame:
    """Deals from (created, closed, amount, won) tuples; dates as UTC timestamps."""
    df = pd.DataFrame(rows, columns=["created", "closed", "amount", "won"])
    df["created"] = pd.to_datetime(df.created).dt.tz_localize("UTC")
    df["closed"] = pd.to_datetime(df.closed).dt.tz_localize("UTC")
    df["won"] = df.won.astype("boolean")
    for k, v in extra.items():
        df[k] = v
    return df


# ---------------------------------------------------------------------------------------------
# Published examples (docs/conventions.md#sales-marketing-and-support)
# ---------------------------------------------------------------------------------------------


def test_published_sales_velocity_example() -> None:
    # 40 open opportunities × 25,000 average deal × 25 % win rate / 90-day cycle = 2,777.78 per day.
    rows = [("2026-01-01", None, 10_000.0, None)] * 40  # open at the end
    rows += [("2026-01-01", "2026-04-01", 25_000.0, True)]  # won after 90 days
    rows += [("2026-01-01", "2026-02-01", 5_000.0, False)] * 3  # lost
    out = kpikit.deal_metrics(_deals(rows), freq=None, **DEAL_COLS)
    r = out.iloc[0]
    assert (r.deals_created, r.deals_closed, r.deals_won, r.deals_lost, r.deals_open) == (44, 4, 1, 3, 40)
    assert r.win_rate == 0.25 and r.avg_deal_size == 25_000 and r.sales_cycle_days == 90
    assert r.pipeline_velocity == pytest.approx(2_777.777_78, abs=1e-5)


def test_published_close_rate_example() -> None:
    # 10 won of 40 opportunities created = 25 % close rate; win rate 10 won of 25 closed = 40 %.
    rows = [("2026-01-05", "2026-01-20", 1_000.0, True)] * 10
    rows += [("2026-01-05", "2026-01-25", 1_000.0, False)] * 15
    rows += [("2026-01-05", None, 1_000.0, None)] * 15
    r = kpikit.deal_metrics(_deals(rows), freq="month", **DEAL_COLS).iloc[0]
    assert r.close_rate == 0.25
    assert r.win_rate == 0.4
    assert r.deals_open == 15


def test_published_quota_example() -> None:
    # Jan 42.5k of 50k (85 %), Feb 55k of 50k (110 %) → period-to-date 97.5k / 100k = 97.5 %
    # (not the mean of 85 % and 110 %, which is the same here, so March checks it differs:
    # Mar 52.5k → 150k / 150k = 100 %).
    months = pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"])
    actuals = pd.DataFrame({"rep": "ana", "month": months, "amount": [42_500.0, 55_000.0, 52_500.0]})
    quotas = pd.DataFrame({"rep": "ana", "month": months, "quota": 50_000.0})
    out = kpikit.quota_attainment(actuals, quotas, rep="rep", time="month")
    assert out.attainment.tolist() == pytest.approx([0.85, 1.10, 1.05])
    assert out.attainment_to_date.tolist() == pytest.approx([0.85, 0.975, 1.0])
    assert out.quota_to_date.tolist() == [50_000, 100_000, 150_000]
    assert out.share_at_quota.tolist() == [0.0, 1.0, 1.0]


# ---------------------------------------------------------------------------------------------
# Hand-computed grouped cases
# ---------------------------------------------------------------------------------------------


def _two_owner_deals() -> pd.DataFrame:
    rows = [
        # ana
        ("2026-01-10", "2026-02-09", 1_000.0, True),  # Q1 → Q1, 30 days, won
        ("2026-02-01", "2026-04-02", 3_000.0, True),  # Q1 → Q2, 60 days, won
        ("2026-03-01", "2026-03-11", 400.0, False),  # Q1 → Q1, 10 days, lost
        ("2026-03-15", None, 900.0, None),  # open from Q1 on
        # ben
        ("2026-01-05", "2026-01-25", 2_000.0, True),  # Q1 → Q1, 20 days, won
        ("2026-04-01", "2026-05-01", 500.0, False),  # Q2 → Q2, 30 days, lost
        ("2026-05-01", "2026-06-30", 6_000.0, True),  # Q2 → Q2, 60 days, won
    ]
    return _deals(rows, rep=["ana"] * 4 + ["ben"] * 3)


def test_grouped_by_owner_and_quarter_closed_cohort() -> None:
    out = kpikit.deal_metrics(_two_owner_deals(), rep="rep", **DEAL_COLS)
    assert out.rep.tolist() == ["ana", "ana", "ben", "ben"]
    assert out.period.dt.strftime("%Y-%m-%d").tolist() == ["2026-01-01", "2026-04-01"] * 2
    assert out.deals_created.tolist() == [4, 0, 1, 2]
    assert out.deals_closed.tolist() == [2, 1, 1, 2]
    assert out.deals_won.tolist() == [1, 1, 1, 1]
    assert out.deals_lost.tolist() == [1, 0, 0, 1]
    # ana: 4 created − 2 closed = 2 open at the end of Q1; Q2 closes one → 1. ben: 0, then 0.
    assert out.deals_open.tolist() == [2, 1, 0, 0]
    assert out.win_rate.tolist() == [0.5, 1.0, 1.0, 0.5]
    # close rate: ana Q1 1 won / 4 created; Q2 0 created → null; ben 1/1, 1/2.
    assert out.close_rate.tolist()[0] == 0.25 and np.isnan(out.close_rate[1])
    assert out.close_rate.tolist()[2:] == [1.0, 0.5]
    assert out.won_revenue.tolist() == [1_000, 3_000, 2_000, 6_000]
    assert out.sales_cycle_days.tolist() == [30, 60, 20, 60]
    # ana Q1 velocity: 2 open × 1,000 × 0.5 / 30 days.
    assert out.pipeline_velocity[0] == pytest.approx(2 * 1_000 * 0.5 / 30)
    # ben Q2: 0 open → 0 per day.
    assert out.pipeline_velocity[3] == 0.0


def test_created_cohort_and_cycle_of_closed() -> None:
    out = kpikit.deal_metrics(_two_owner_deals(), rep="rep", cohort="created", cycle_of="closed", **DEAL_COLS)
    # ana: all three closed deals were created in Q1 → Q1 has 3 closed, 2 won, 1 lost; Q2 none.
    assert out.deals_closed.tolist() == [3, 0, 1, 2]
    assert out.deals_won.tolist() == [2, 0, 1, 1]
    assert out.win_rate.tolist()[:1] == [2 / 3] and np.isnan(out.win_rate[1])
    assert out.close_rate[0] == 0.5  # 2 won of 4 created
    # Open balance does not depend on the cohort.
    assert out.deals_open.tolist() == [2, 1, 0, 0]
    # Cycles of all closed deals: ana Q1 30, 60, 10 → mean 33.33, median 30, p90 30 + 0.8 × 30 = 54.
    assert out.sales_cycle_days[0] == pytest.approx(100 / 3)
    assert out.sales_cycle_days_median[0] == 30
    assert out.sales_cycle_days_p90[0] == pytest.approx(54.0)
    # Median deal size over won only: ana Q1 1,000 and 3,000 → 2,000.
    assert out.median_deal_size[0] == 2_000
    assert out.won_revenue[1] == 0.0 and np.isnan(out.avg_deal_size[1])


def test_by_segment_and_monthly_gaps() -> None:
    df = _two_owner_deals().assign(region=["EU", "US", "EU", "US", "EU", "EU", "US"])
    out = kpikit.deal_metrics(df, by="region", freq="month", **DEAL_COLS)
    # Months 2026-01 … 2026-06 for each region: 12 rows, gaps filled with zeros.
    assert len(out) == 12 and out.region.tolist() == ["EU"] * 6 + ["US"] * 6
    eu = out[out.region == "EU"]
    assert eu.deals_created.tolist() == [2, 0, 1, 1, 0, 0]
    # EU open: Jan 2 created − 1 closed (ben's) = 1; Feb ana's closes → 0; Mar +1 −1 = 0; Apr +1 = 1; May −1 = 0.
    assert eu.deals_open.tolist() == [1, 0, 0, 1, 0, 0]


def test_time_zones_and_timestamp_units() -> None:
    # Closed 2026-03-31 23:30 UTC is already Q2 in Tokyo; the cycle is measured in UTC: 2 h = 1/12 day.
    df = pd.DataFrame({
        "created": pd.to_datetime(["2026-03-31 21:30"]).tz_localize("UTC"),
        "closed": pd.to_datetime(["2026-03-31 23:30"]).tz_localize("UTC"),
        "amount": [100.0],
        "won": [True],
    })
    utc = kpikit.deal_metrics(df, **DEAL_COLS)
    tokyo = kpikit.deal_metrics(df, tz="Asia/Tokyo", **DEAL_COLS)
    assert utc.period.dt.strftime("%Y-%m-%d").tolist() == ["2026-01-01"]
    assert tokyo.period.dt.strftime("%Y-%m-%d").tolist() == ["2026-04-01"]
    assert utc.sales_cycle_days[0] == pytest.approx(1 / 12) and tokyo.sales_cycle_days[0] == pytest.approx(1 / 12)
    # Across the Paris DST change (2026-03-29 02:00 → 03:00) 24 wall-clock hours are 23 real ones.
    paris = pd.DataFrame({
        "created": pd.to_datetime(["2026-03-28 12:00"]).tz_localize("Europe/Paris"),
        "closed": pd.to_datetime(["2026-03-29 12:00"]).tz_localize("Europe/Paris"),
        "amount": [1.0],
        "won": [True],
    })
    assert kpikit.deal_metrics(paris, **DEAL_COLS).sales_cycle_days[0] == pytest.approx(23 / 24)
    # Seconds, milliseconds, nanoseconds and dates give the same whole-day cycles.
    created, closed = pd.to_datetime(["2026-01-01", "2026-01-11"]), pd.to_datetime(["2026-02-01", "2026-03-01"])
    for unit in ("s", "ms", "ns"):
        t = pa.table({
            "created": pa.array(created, pa.timestamp(unit)),
            "closed": pa.array(closed, pa.timestamp(unit, tz="UTC")),
            "amount": [1.0, 2.0],
            "won": [True, True],
        })
        assert kpikit.deal_metrics(t, freq=None, output="pandas", **DEAL_COLS).sales_cycle_days[0] == 40.0  # (31 + 49) / 2
    d = pa.table({"created": pa.array(created.date, pa.date32()), "closed": pa.array(closed.date, pa.date32()),
                  "amount": [1.0, 2.0], "won": [1, 1]})
    assert kpikit.deal_metrics(d, freq=None, output="pandas", **DEAL_COLS).sales_cycle_days_median[0] == 40.0


def test_demo_company_deals() -> None:
    deals = kpikit.datasets.demo(seed=3, scale=0.05).deals
    out = kpikit.deal_metrics(deals, deal="deal_id", rep="owner", **DEAL_COLS)
    assert out.deals_created.sum() == len(deals)
    assert out.deals_won.sum() == int(deals.won.eq(True).sum())
    assert out.won_revenue.sum() == pytest.approx(deals.amount[deals.won.eq(True)].sum())
    last = out.groupby("owner", observed=True).deals_open.last().sum()
    assert last == int(deals.closed.isna().sum())


# ---------------------------------------------------------------------------------------------
# Every input library, outputs
# ---------------------------------------------------------------------------------------------


def test_every_input_library_gives_the_same_numbers(make_table: Any) -> None:
    df = _two_owner_deals()
    data = {
        "created": list(df.created),
        "closed": [None if pd.isna(t) else t for t in df.closed],
        "amount": list(df.amount),
        "won": [None if pd.isna(w) else bool(w) for w in df.won],
        "rep": list(df.rep),
    }
    out = kpikit.deal_metrics(make_table(data), rep="rep", output="pandas", **DEAL_COLS)
    expected = kpikit.deal_metrics(df, rep="rep", **DEAL_COLS)
    pd.testing.assert_frame_equal(out, expected)
    assert out.deals_won.tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("output", ["polars", "arrow"])
def test_output_kinds(output: str) -> None:
    out = kpikit.deal_metrics(_two_owner_deals(), rep="rep", output=output, **DEAL_COLS)
    assert out.to_pandas().deals_created.tolist() == [4, 0, 1, 2]


# ---------------------------------------------------------------------------------------------
# Errors and invalid="skip"
# ---------------------------------------------------------------------------------------------


def test_invalid_deals_name_column_rule_and_rows() -> None:
    good = ("2026-01-01", "2026-01-10", 10.0, True)
    cases = [
        (("2026-01-10", "2026-01-01", 10.0, True), '"closed": a deal cannot close before it was created'),
        (("2026-01-10", None, 10.0, True), '"won": an open deal (closed missing) cannot be won'),
        (("2026-01-10", "2026-01-12", 10.0, None), '"won": a closed deal needs won true or false'),
        (("2026-01-10", "2026-01-12", -5.0, False), '"amount": amounts must not be negative'),
        (("2026-01-10", "2026-01-12", None, True), '"amount": a won deal needs an amount'),
        ((None, "2026-01-12", 1.0, False), '"created": created times must not be missing'),
    ]
    for bad, message in cases:
        df = _deals([good, good, bad, good])
        with pytest.raises(kpikit.InputError) as err:
            kpikit.deal_metrics(df, **DEAL_COLS)
        msg = str(err.value)
        assert message in msg, msg
        assert "1 row(s), e.g. row 2" in msg, msg
        with pytest.warns(kpikit.SkippedRowsWarning) as caught:
            skipped = kpikit.deal_metrics(df, invalid="skip", **DEAL_COLS)
        assert [w.message.count for w in caught] == [1] and "skipped_rows" not in skipped.attrs
        assert skipped.deals_created.sum() == 3 and skipped.deals_won.sum() == 3
    with pytest.raises(kpikit.InputError, match=r'"closed": .*row 0: 2026-01-01 00:00:00 < created 2026-01-10'):
        kpikit.deal_metrics(_deals([cases[0][0]]), **DEAL_COLS)


def test_repeated_deal_ids_are_rejected_or_skipped() -> None:
    df = _two_owner_deals().assign(id=[1, 2, 3, 4, 5, 2, 3])
    with pytest.raises(kpikit.InputError, match=r'"id": deal ids must be present and unique.*2 row\(s\), e.g. row 5: repeated; row 6'):
        kpikit.deal_metrics(df, deal="id", **DEAL_COLS)
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        out = kpikit.deal_metrics(df, deal="id", invalid="skip", **DEAL_COLS)
    assert [w.message.count for w in caught] == [2] and out.deals_created.sum() == 5


def test_schema_and_parameter_errors() -> None:
    df = _two_owner_deals()
    with pytest.raises(kpikit.SchemaError, match='column "amt" not found'):
        kpikit.deal_metrics(df, created="created", closed="closed", amount="amt", won="won")
    with pytest.raises(kpikit.SchemaError, match='"rep" must be numeric'):
        kpikit.deal_metrics(df, created="created", closed="closed", amount="rep", won="won")
    with pytest.raises(kpikit.SchemaError, match='"rep" must be boolean'):
        kpikit.deal_metrics(df, created="created", closed="closed", amount="amount", won="rep")
    with pytest.raises(kpikit.ParameterError, match='"cohort"'):
        kpikit.deal_metrics(df, cohort="opened", **DEAL_COLS)
    with pytest.raises(kpikit.ParameterError, match='"cycle_of"'):
        kpikit.deal_metrics(df, cycle_of="lost", **DEAL_COLS)
    with pytest.raises(kpikit.ParameterError, match='"freq"'):
        kpikit.deal_metrics(df, freq="fortnight", **DEAL_COLS)


def test_quota_errors_and_gaps() -> None:
    months = pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-01"])
    actuals = pd.DataFrame({"rep": ["ana", "ana", "ben"], "t": months + pd.Timedelta(days=3), "amount": [10.0, 30.0, 5.0]})
    quotas = pd.DataFrame({"rep": ["ana", "ben"], "t": months[[0, 2]], "quota": [20.0, 0.0]})
    out = kpikit.quota_attainment(actuals, quotas, rep="rep", time="t")
    assert out.rep.tolist() == ["ana", "ana", "ben", "ben"]
    # ana: Jan 10/20; Feb no quota → null, to date 40/20; ben: quota 0 → null.
    assert out.attainment.tolist()[0] == 0.5 and out.attainment.isna().tolist()[1:] == [True, True, True]
    assert out.attainment_to_date.tolist()[:2] == [0.5, 2.0]
    # Jan: owners with a quota > 0: only ana (0.5) → 0 of 1.
    assert out.share_at_quota.tolist()[0] == 0.0
    dup = pd.concat([quotas, quotas.iloc[[0]]])
    with pytest.raises(kpikit.InputError, match=r'"quota": a rep can have one quota per period: 1 row\(s\), e.g. row 2'):
        kpikit.quota_attainment(actuals, dup, rep="rep", time="t")
    with pytest.raises(kpikit.InputError, match=r'"quota": quotas must be present and not negative.*row 1: -1'):
        kpikit.quota_attainment(actuals, quotas.assign(quota=[1.0, -1.0]), rep="rep", time="t")
    with pytest.raises(kpikit.ParameterError, match="to_date"):
        kpikit.quota_attainment(actuals, quotas, rep="rep", time="t", to_date="decade")
    # Quarter-to-date restarts in April; different owner column types still match.
    q = kpikit.quota_attainment(
        pd.DataFrame({"rep": ["a"] * 4, "t": pd.to_datetime(["2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"]), "amount": 1.0}),
        pa.table({"owner": pa.array(["a"] * 4).dictionary_encode(), "m": pd.to_datetime(["2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"]), "quota": [2.0] * 4}),
        rep="rep", time="t", quota_rep="owner", quota_period="m", to_date="quarter",
    )
    assert q.actual_to_date.tolist() == [1, 2, 1, 2]
    assert q.attainment_to_date.tolist() == [0.5] * 4


# ---------------------------------------------------------------------------------------------
# Partitions merge exactly; a pandas reference
# ---------------------------------------------------------------------------------------------


def _random_deals(rng: np.random.Generator, n: int) -> pd.DataFrame:
    base = pd.Timestamp("2025-01-01")
    created = base + pd.to_timedelta(rng.integers(0, 500, n), unit="D") + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
    cycle = pd.to_timedelta(rng.integers(0, 200 * 86_400, n), unit="s")
    is_open = rng.random(n) < 0.3
    closed = pd.Series(created + cycle).where(~is_open)
    won = pd.Series(rng.random(n) < 0.4, dtype="boolean").where(~is_open)
    return pd.DataFrame({
        "created": created,
        "closed": closed,
        "amount": rng.integers(0, 100, n) * 100.0,
        "won": won,
        "rep": rng.choice(["a", "b", "c"], n),
    })


def test_partitions_merge_exactly() -> None:
    df = _random_deals(np.random.default_rng(3), 2_000)
    opts = dict(created="created", closed="closed", amount="amount", won="won", rep="rep", freq="quarter",
                cycle_of="closed")
    whole = _kpikit.finish(_kpikit.deal_metrics(df, **opts))
    cuts = [0, 0, 300, 301, 1_500, 2_000]
    parts = [_kpikit.deal_metrics(df.iloc[a:b], **opts) for a, b in itertools.pairwise(cuts)]
    merged = _kpikit.finish(_kpikit.merge(parts[::-1]))
    assert pa.table(whole).equals(pa.table(merged))
    with pytest.raises(kpikit.ParameterError, match="different"):
        _kpikit.merge([parts[1], _kpikit.deal_metrics(df, **{**opts, "freq": "month"})])
    # A deals state is no state of another analysis.
    with pytest.raises(kpikit.ParameterError, match="not a lead_metrics state"):
        _kpikit.merge([_kpikit.lead_metrics(df, created="created"), parts[1]])


def _reference(df: pd.DataFrame) -> pd.DataFrame:
    """Straightforward pandas deal metrics per (rep, quarter), closed cohort, cycle of won deals."""
    cq = df.created.dt.to_period("Q")
    xq = df.closed.dt.to_period("Q")
    lo, hi = min(cq.min(), xq.min() if xq.notna().any() else cq.min()), max(cq.max(), xq.max() if xq.notna().any() else cq.max())
    quarters = pd.period_range(lo, hi, freq="Q")
    rows = []
    for rep in sorted(df.rep.unique()):
        d = df[df.rep == rep]
        dc, dx = cq[df.rep == rep], xq[df.rep == rep]
        for q in quarters:
            closed = d[dx == q]
            won = closed[closed.won.astype(bool)]
            cycles = (won.closed - won.created).dt.total_seconds() / 86_400
            created = int((dc == q).sum())
            open_ = int(((dc <= q) & (dx.isna() | (dx > q))).sum())
            rows.append({
                "rep": rep,
                "period": q.start_time,
                "deals_created": created,
                "deals_closed": len(closed),
                "deals_won": len(won),
                "deals_open": open_,
                "win_rate": len(won) / len(closed) if len(closed) else np.nan,
                "close_rate": len(won) / created if created else np.nan,
                "won_revenue": won.amount.sum(),
                "avg_deal_size": won.amount.mean(),
                "median_deal_size": won.amount.median(),
                "sales_cycle_days": cycles.mean(),
                "sales_cycle_days_median": cycles.median(),
                "sales_cycle_days_p90": np.quantile(cycles, 0.9) if len(cycles) else np.nan,
            })
    ref = pd.DataFrame(rows)
    ref["pipeline_velocity"] = ref.deals_open * ref.avg_deal_size * ref.win_rate / ref.sales_cycle_days.where(ref.sales_cycle_days > 0)
    return ref


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 80))
def test_matches_pandas_reference(seed: int, n: int) -> None:
    df = _random_deals(np.random.default_rng(seed), n)
    out = kpikit.deal_metrics(df, rep="rep", **DEAL_COLS)
    ref = _reference(df)
    assert out.rep.tolist() == ref.rep.tolist()
    assert out.period.tolist() == ref.period.tolist()
    for c in ["deals_created", "deals_closed", "deals_won", "deals_open"]:
        assert out[c].tolist() == ref[c].tolist(), c
    for c in ref.columns[6:]:
        assert np.allclose(out[c].astype(float), ref[c].astype(float), equal_nan=True, rtol=1e-9), c


def test_bad_rows_are_named_by_their_position_in_a_large_table() -> None:
    # 300,000 deals are read in parallel row ranges and, within a range, in blocks: a bad row
    # far from the start must still be named by its row number in the caller's table.
    n = 300_000
    created = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n) % 1000, unit="h")
    amount = np.full(n, 100.0)
    amount[[9_000, 250_001]] = -5.0
    deals = pd.DataFrame(
        {"created": created, "closed": created + pd.Timedelta(days=3), "amount": amount, "won": np.arange(n) % 2 == 0}
    )
    kw: dict[str, Any] = dict(created="created", closed="closed", amount="amount", won="won")
    with pytest.raises(kpikit.InputError, match=r'"amount".*2 row\(s\), e\.g\. row 9000: -5; row 250001: -5'):
        kpikit.deal_metrics(deals, **kw)
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        out = kpikit.deal_metrics(deals, **kw, invalid="skip")
    assert [w.message.count for w in caught] == [2]
    assert out.deals_closed.sum() == n - 2 and out.deals_won.sum() == n // 2 - 1  # row 9000 was a won deal


# ---------------------------------------------------------------------------------------------
# One vocabulary (docs/vocabulary.md): names, units, output library, categories, freq words
# ---------------------------------------------------------------------------------------------


def test_renamed_parameters_are_refused_under_their_old_names() -> None:
    months = pd.to_datetime(["2026-01-01", "2026-02-01"])
    actuals = pd.DataFrame({"rep": "ana", "month": months, "amount": [1.0, 2.0]})
    quotas = pd.DataFrame({"rep": "ana", "month": months, "quota": 2.0})
    with pytest.raises(TypeError, match="period"):
        kpikit.quota_attainment(actuals, quotas, rep="rep", period="month")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="actual"):
        kpikit.quota_attainment(actuals, quotas, rep="rep", time="month", actual="amount")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        kpikit.quota_attainment(actuals=actuals, quotas=quotas, rep="rep", time="month")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        kpikit.deal_metrics(deals=_two_owner_deals(), **DEAL_COLS)  # type: ignore[call-arg]
    out = kpikit.quota_attainment(actuals, quotas, rep="rep", time="month")
    assert out.attainment.tolist() == [0.5, 1.0]


def test_sales_cycle_in_the_unit_asked_for() -> None:
    df = _two_owner_deals()
    days = kpikit.deal_metrics(df, rep="rep", **DEAL_COLS)
    hours = kpikit.deal_metrics(df, rep="rep", unit="hours", **DEAL_COLS)
    assert "sales_cycle_days" not in hours.columns
    # ana Q1 30 days = 720 h; ana Q2 60 d; ben 20 d, 60 d.
    assert hours.sales_cycle_hours.tolist() == [720.0, 1440.0, 480.0, 1440.0]
    assert hours.sales_cycle_hours_median.tolist() == [720.0, 1440.0, 480.0, 1440.0]
    # Velocity stays per day whatever the unit.
    assert hours.pipeline_velocity.tolist() == days.pipeline_velocity.tolist()
    minutes = kpikit.deal_metrics(df, rep="rep", unit="minutes", **DEAL_COLS)
    assert minutes.sales_cycle_minutes_p90[0] == 30 * 1440
    with pytest.raises(kpikit.ParameterError, match='"unit"'):
        kpikit.deal_metrics(df, unit="weeks", **DEAL_COLS)


def test_output_follows_the_input_library() -> None:
    import polars as pl

    df = _two_owner_deals()
    as_polars = kpikit.deal_metrics(pl.from_pandas(df), rep="rep", **DEAL_COLS)
    assert isinstance(as_polars, pl.DataFrame) and as_polars["deals_created"].to_list() == [4, 0, 1, 2]
    as_arrow = kpikit.deal_metrics(pa.Table.from_pandas(df), rep="rep", **DEAL_COLS)
    assert isinstance(as_arrow, pa.Table) and as_arrow["deals_won"].to_pylist() == [1, 1, 1, 1]
    assert isinstance(kpikit.deal_metrics(pl.from_pandas(df), output="pandas", **DEAL_COLS), pd.DataFrame)
    months = pd.to_datetime(["2026-01-01"])
    q = kpikit.quota_attainment(pl.DataFrame({"rep": ["a"], "t": months, "amount": [3.0]}),
                                pd.DataFrame({"rep": ["a"], "t": months, "quota": [4.0]}), rep="rep", time="t")
    assert isinstance(q, pl.DataFrame) and q["attainment"].to_list() == [0.75]


def test_categorical_owner_keeps_its_categories_and_order() -> None:
    df = _two_owner_deals()
    df["rep"] = pd.Categorical(df.rep, categories=["ben", "cy", "ana"])
    out = kpikit.deal_metrics(df, rep="rep", freq=None, **DEAL_COLS)
    assert isinstance(out.rep.dtype, pd.CategoricalDtype) and list(out.rep.cat.categories) == ["ben", "cy", "ana"]
    # ben first (category order): 3 created, 3 closed, 2 won; cy has no deal (zeros, no win
    # rate); ana 4, 3, 2.
    assert out.rep.tolist() == ["ben", "cy", "ana"]
    assert out.deals_created.tolist() == [3, 0, 4] and out.deals_won.tolist() == [2, 0, 2]
    assert out.won_revenue.tolist() == [8_000.0, 0.0, 4_000.0]
    assert pd.isna(out.win_rate[1])


@pytest.mark.parametrize("alias, word", [("Q", "quarter"), ("QS", "quarter"), ("ME", "month"), ("1mo", "month"), ("W-SUN", "week")])
def test_foreign_frequency_spellings_are_refused(alias: str, word: str) -> None:
    with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
        kpikit.deal_metrics(_two_owner_deals(), freq=alias, **DEAL_COLS)
    months = pd.to_datetime(["2026-01-01"])
    t = pd.DataFrame({"rep": ["a"], "t": months, "amount": [1.0], "quota": [1.0]})
    with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
        kpikit.quota_attainment(t, t, rep="rep", time="t", freq=alias)
    with pytest.raises(kpikit.ParameterError, match='"to_date"'):
        kpikit.quota_attainment(t, t, rep="rep", time="t", to_date="YE")


def test_a_segment_named_period_is_refused() -> None:
    df = _two_owner_deals().rename(columns={"rep": "period"})
    with pytest.raises(kpikit.ParameterError, match=r'"by".*period'):
        kpikit.deal_metrics(df, rep="period", **DEAL_COLS)


def test_won_as_zero_or_one() -> None:
    df = _two_owner_deals()
    as_int = df.assign(won=df.won.astype("Int64"))
    pd.testing.assert_frame_equal(kpikit.deal_metrics(as_int, rep="rep", **DEAL_COLS), kpikit.deal_metrics(df, rep="rep", **DEAL_COLS))


def test_won_outside_zero_and_one_is_an_input_error() -> None:
    df = _two_owner_deals()
    df = df.assign(won=df.won.astype("Int64"))
    df.loc[0, "won"] = 2
    with pytest.raises(kpikit.InputError, match=r'"won": values must be true/false or 0/1: 1 row\(s\), e\.g\. row 0: 2'):
        kpikit.deal_metrics(df, rep="rep", **DEAL_COLS)
    # The same from pyarrow, and a fraction in a float column; invalid="skip" does not make
    # such a column readable (it is not a bad row but a column that is not a flag).
    with pytest.raises(kpikit.InputError, match='"won": values must be true/false or 0/1'):
        kpikit.deal_metrics(pa.Table.from_pandas(df), rep="rep", **DEAL_COLS)
    halves = _two_owner_deals().assign(won=lambda d: d.won.astype("Float64").fillna(0.5))
    with pytest.raises(kpikit.InputError, match=r'"won": values must be true/false or 0/1.*: 0\.5'):
        kpikit.deal_metrics(halves, rep="rep", invalid="skip", **DEAL_COLS)


def test_won_as_float_zero_or_one_with_nan_as_missing() -> None:
    df = _two_owner_deals()
    as_float = df.assign(won=df.won.astype("Float64").astype(float))  # NA → NaN
    pd.testing.assert_frame_equal(kpikit.deal_metrics(as_float, rep="rep", **DEAL_COLS),
                                  kpikit.deal_metrics(df, rep="rep", **DEAL_COLS))


@pytest.mark.parametrize("kw", [dict(tz=5), dict(week_start=1.0), dict(rep=1), dict(by=2.5), dict(by=["x", 1]),
                                dict(deal=3), dict(created=1.0), dict(unit=2), dict(cohort=1), dict(freq=1.5)])
def test_parameters_of_the_wrong_type_are_parameter_errors(kw: dict[str, Any]) -> None:
    name = next(iter(kw))
    with pytest.raises(kpikit.ParameterError, match=f'"{name}"'):
        kpikit.deal_metrics(_two_owner_deals(), **{**DEAL_COLS, **kw})


def test_categorical_owner_orders_rows_like_a_string_owner() -> None:
    # Owner-major with the periods within, as for a string owner; only the owners' order follows
    # the categories.
    df = _two_owner_deals()
    plain = kpikit.deal_metrics(df, rep="rep", **DEAL_COLS)
    df["rep"] = pd.Categorical(df.rep, categories=["ben", "ana"])
    out = kpikit.deal_metrics(df, rep="rep", **DEAL_COLS)
    assert out.rep.tolist() == ["ben", "ben", "ana", "ana"]
    assert out.period.dt.strftime("%Y-%m-%d").tolist() == ["2026-01-01", "2026-04-01"] * 2
    assert out.deals_created.tolist() == [1, 2, 4, 0] and out.deals_open.tolist() == [0, 0, 2, 1]
    reordered = plain.iloc[[2, 3, 0, 1]].reset_index(drop=True)
    pd.testing.assert_frame_equal(out.assign(rep=out.rep.astype(str)), reordered.assign(rep=reordered.rep.astype(str)))


def test_quota_attainment_refuses_a_dask_dataframe_by_name() -> None:
    dd = pytest.importorskip("dask.dataframe")
    t = pd.DataFrame({"rep": ["a"], "t": pd.to_datetime(["2026-01-01"]), "amount": [1.0], "quota": [2.0]})
    with pytest.raises(kpikit.SchemaError, match=r"Dask DataFrame.*compute"):
        kpikit.quota_attainment(dd.from_pandas(t, npartitions=1), t, rep="rep", time="t")


def test_polars_enum_owner_keeps_its_categories() -> None:
    import polars as pl

    df = pl.from_pandas(_two_owner_deals()).with_columns(pl.col("rep").cast(pl.Enum(["ben", "cy", "ana"])))
    out = kpikit.deal_metrics(df, rep="rep", freq=None, **DEAL_COLS)
    # Rows in the Enum's order (ben before ana), the column categorical (polars reads Arrow
    # dictionaries back as Categorical, not as the Enum).
    assert isinstance(out, pl.DataFrame) and isinstance(out.schema["rep"], (pl.Categorical, pl.Enum))
    assert out["rep"].to_list() == ["ben", "cy", "ana"] and out["deals_created"].to_list() == [3, 0, 4]
