"""Properties of campaign_metrics, quota_attainment and onboarding_time against straightforward
pandas references on random small tables: every sum, rate, mean and quantile equal."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

import kpikit

CHANNELS = ["email", "ads", "social"]


def _same(a: float, b: float) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or a != a) and (b is None or b != b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


campaign_rows = st.lists(
    st.tuples(
        st.sampled_from(CHANNELS),
        st.integers(0, 50),  # sent
        st.integers(0, 50),  # delivered (may exceed sent: the formulas do not assume an order)
        st.integers(0, 30),  # opened
        st.integers(0, 20),  # clicked
        st.integers(0, 10),  # converted
        st.integers(0, 5_000),  # spend in cents
        st.integers(0, 20_000),  # revenue in cents
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(campaign_rows)
def test_campaign_metrics_match_pandas(rows: list[tuple]) -> None:
    df = pd.DataFrame(rows, columns=["channel", "sent", "delivered", "opened", "clicked", "converted", "spend", "revenue"])
    df["spend"] = df["spend"] / 100
    df["revenue"] = df["revenue"] / 100
    got = kpikit.campaign_metrics(df, sends="sent", deliveries="delivered", opens="opened", clicks="clicked",
                                  conversions="converted", cost="spend", revenue="revenue", by="channel")
    ref = df.groupby("channel").sum()
    got = got.set_index("channel")
    assert sorted(got.index) == sorted(ref.index)

    def rate(a: float, b: float) -> float:
        return a / b if b != 0 else float("nan")

    for channel, r in ref.iterrows():
        g = got.loc[channel]
        for c in ("sent", "delivered", "opened", "clicked", "converted"):
            assert int(g[c]) == int(r[c])
        assert math.isclose(g["spend"], r["spend"], abs_tol=1e-9) and math.isclose(g["revenue"], r["revenue"], abs_tol=1e-9)
        expected = {
            "delivery_rate": rate(r["delivered"], r["sent"]),
            "open_rate": rate(r["opened"], r["delivered"]),  # base = delivered when given
            "click_through_rate": rate(r["clicked"], r["delivered"]),
            "click_to_open_rate": rate(r["clicked"], r["opened"]),
            "conversion_rate": rate(r["converted"], r["clicked"]),
            "cost_per_acquisition": rate(r["spend"], r["converted"]),
            "roi": rate(r["revenue"] - r["spend"], r["spend"]),
        }
        for c, v in expected.items():
            assert _same(float(g[c]) if pd.notna(g[c]) else float("nan"), v), (c, g[c], v)


OWNERS = ["ana", "ben", "cho"]
MONTHS = pd.date_range("2025-11-01", periods=4, freq="MS")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(OWNERS), st.integers(0, 3), st.integers(0, 27), st.integers(0, 100)),
             min_size=1, max_size=25),
    st.lists(st.tuples(st.sampled_from(OWNERS), st.integers(0, 3), st.integers(1, 200)), min_size=1, max_size=12,
             unique_by=lambda t: (t[0], t[1])),
)
def test_quota_attainment_matches_pandas(deals: list[tuple], quotas: list[tuple]) -> None:
    actuals = pd.DataFrame({
        "owner": [d[0] for d in deals],
        "closed": [MONTHS[d[1]] + pd.Timedelta(days=d[2]) for d in deals],
        "amount": [float(d[3]) for d in deals],
    })
    q = pd.DataFrame({"owner": [x[0] for x in quotas], "month": [MONTHS[x[1]] for x in quotas],
                      "quota": [float(x[2]) for x in quotas]})
    got = kpikit.quota_attainment(actuals, q, rep="owner", time="closed", quota_period="month", freq="month",
                                  to_date="year")
    got = got.assign(period=pd.to_datetime(got["period"])).set_index(["owner", "period"])
    sums = actuals.assign(period=actuals["closed"].dt.to_period("M").dt.to_timestamp()).groupby(["owner", "period"])["amount"].sum()
    quota = q.set_index(["owner", "month"])["quota"]
    for (owner, period), g in got.iterrows():
        actual = float(sums.get((owner, period), 0.0))
        assert math.isclose(g["actual"], actual, abs_tol=1e-9)
        qv = quota.get((owner, period))
        if qv is None:
            assert pd.isna(g["quota"]) and pd.isna(g["attainment"])
        else:
            assert g["quota"] == qv and math.isclose(g["attainment"], actual / qv)
        # Year to date: the ratio of the sums over this owner's periods of the same year so far.
        span = [p for p in MONTHS if p.year == period.year and p <= period]
        a_sum = sum(float(sums.get((owner, p), 0.0)) for p in span)
        q_sum = sum(float(quota.get((owner, p), 0.0)) for p in span)
        assert math.isclose(g["actual_to_date"], a_sum, abs_tol=1e-9)
        if q_sum > 0:
            assert math.isclose(g["attainment_to_date"], a_sum / q_sum)
        else:
            assert pd.isna(g["attainment_to_date"])
    # Share at quota per period: owners with attainment >= 1 among owners with a quota > 0.
    for _, block in got.reset_index().groupby("period"):
        with_quota = block[block["quota"].fillna(0) > 0]
        share = block["share_at_quota"].iloc[0]
        if len(with_quota):
            assert math.isclose(share, (with_quota["attainment"] >= 1).mean())
        else:
            assert pd.isna(share)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 80), st.one_of(st.none(), st.integers(0, 40 * 24))), min_size=1, max_size=40))
def test_onboarding_time_matches_pandas(rows: list[tuple]) -> None:
    start = pd.Timestamp("2026-01-01", tz="UTC")
    df = pd.DataFrame({
        "signed": [start + pd.Timedelta(days=r[0]) for r in rows],
        "first_value": pd.to_datetime([start + pd.Timedelta(days=r[0], hours=r[1]) if r[1] is not None else pd.NaT
                                       for r in rows], utc=True),
    })
    got = kpikit.onboarding_time(df, started="signed", first_value="first_value", freq="month")
    got = got.assign(period=pd.to_datetime(got["period"], utc=True)).set_index("period")
    cohort = df["signed"].dt.tz_convert(None).dt.to_period("M").dt.to_timestamp().dt.tz_localize("UTC")
    days = (df["first_value"] - df["signed"]).dt.total_seconds() / 86_400
    for period, g in got.iterrows():
        members = days[cohort == period]
        reached = members.dropna().to_numpy()
        assert int(g["started"]) == len(members) and int(g["reached_value"]) == len(reached)
        if len(members):
            assert math.isclose(g["reached_value_rate"], len(reached) / len(members))
        if len(reached):
            assert math.isclose(g["onboarding_days"], reached.mean(), rel_tol=1e-12)
            assert math.isclose(g["onboarding_days_median"], float(np.median(reached)), rel_tol=1e-12)
            assert math.isclose(g["onboarding_days_p90"], float(np.quantile(reached, 0.9)), rel_tol=1e-12)
        else:
            assert pd.isna(g["onboarding_days"]) and pd.isna(g["onboarding_days_median"])
