"""The journey view: values equal the underlying analyses on the demo company; dissonance on a
hand-made funnel (significant opposite moves flagged, noise not)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import kpikit
from kpikit.journey import STAGES


@pytest.fixture(scope="module")
def demo() -> tuple[kpikit.Sources, kpikit.JourneyResult]:
    s = kpikit.Sources.demo(scale=0.2)
    return s, kpikit.journey(s)


def latest_two(frame: pd.DataFrame, column: str, cutoff: pd.Timestamp, **select: str) -> tuple[pd.Timestamp, float, float]:
    for k, v in select.items():
        frame = frame[frame[k] == v]
    frame = frame[pd.to_datetime(frame["period"]) + pd.DateOffset(months=1) <= cutoff]
    return pd.Timestamp(frame["period"].iloc[-1]), float(frame[column].iloc[-1]), float(frame[column].iloc[-2])


def test_stages_come_from_the_catalogs_journey_places() -> None:
    # The documented layout (kpikit.journey's docstring), read from the catalog's data.
    assert STAGES == {
        "awareness": ("visitors", "visitor_signup_rate"),
        "consideration": ("signups", "signup_pql_rate", "time_to_pql_days"),
        "decision": ("pql_customer_rate", "avg_deal_size", "sales_cycle_days", "lead_conversion_rate", "cac_payback_months"),
        "retention": ("dau_mau", "customer_churn_rate", "expansion_rate", "nps"),
    }
    rates = [m for ms in STAGES.values() for m in ms if kpikit.metric(m).journey.stage_rate]  # type: ignore[union-attr]
    assert rates == ["visitor_signup_rate", "signup_pql_rate", "pql_customer_rate", "customer_churn_rate"]
    assert all(kpikit.metric(m).stage == stage for stage, ms in STAGES.items() for m in ms)


def test_demo_values_equal_the_underlying_analyses(demo: tuple[kpikit.Sources, kpikit.JourneyResult]) -> None:
    s, j = demo
    f = j.to_frame().set_index("metric")
    assert list(f["stage"].unique()) == list(STAGES)
    assert list(f.index) == [m for ms in STAGES.values() for m in ms]
    cutoff = s.data_end().normalize() + pd.Timedelta(days=1)
    leads, lc = s.leads
    funnel = kpikit.funnel_from_stages(leads, stages=lc["stages"], window=lc["window"], freq="month")
    # Later steps count only for cohorts whose 90-day window has closed; entries are final.
    closed = funnel[funnel["complete"].astype(bool)]
    closed = closed[pd.to_datetime(closed["period"]) + pd.DateOffset(months=1) + pd.Timedelta(days=90) <= cutoff]
    subs, _ = s.subscriptions
    spend, _ = s.spend
    revenue = kpikit.revenue_metrics(subs, customer="customer_id", period="month", mrr="mrr", spend=spend, spend_time="month", spend_amount="amount", freq="month")
    moves = kpikit.mrr_movements(subs, customer="customer_id", period="month", mrr="mrr", freq="month")
    deals = kpikit.deal_metrics(s.deals[0], deal="deal_id", created="created", closed="closed", amount="amount", won="won", freq="month")
    lm = kpikit.lead_metrics(leads, created="visited_at", qualified="pql_at", converted="customer_at", revenue="revenue", freq="month")
    daily = kpikit.active_users(s.events[0], user="user_id", time="time", freq="day")
    # Monthly DAU/MAU is the mean of the month's daily DAU/MAU (docs/conventions.md#kpis).
    events = (daily.assign(period=pd.to_datetime(daily["period"]).dt.to_period("M").dt.start_time)
              .groupby("period", as_index=False)["dau_mau"].mean())
    # A cohort of leads counts once its 90-day conversion window has closed by the cutoff.
    lm_closed = lm[pd.to_datetime(lm["period"]) + pd.DateOffset(months=1) + pd.Timedelta(days=90) <= cutoff]
    nps = kpikit.nps(s.responses[0], score="score", time="time", freq="month", invalid="skip")
    expected = {
        "visitors": latest_two(funnel, "converted", cutoff, step_name="visited_at"),
        "visitor_signup_rate": latest_two(closed, "conversion_from_previous", cutoff, step_name="signed_up_at"),
        "signups": latest_two(closed, "converted", cutoff, step_name="signed_up_at"),
        "signup_pql_rate": latest_two(closed, "conversion_from_previous", cutoff, step_name="pql_at"),
        "time_to_pql_days": latest_two(closed, "time_to_convert_mean_days", cutoff, step_name="pql_at"),
        "pql_customer_rate": latest_two(closed, "conversion_from_previous", cutoff, step_name="customer_at"),
        "avg_deal_size": latest_two(deals, "avg_deal_size", cutoff),
        "sales_cycle_days": latest_two(deals, "sales_cycle_days", cutoff),
        "lead_conversion_rate": latest_two(lm_closed, "lead_conversion_rate", cutoff),
        "cac_payback_months": latest_two(revenue, "cac_payback_months", cutoff),
        "dau_mau": latest_two(events, "dau_mau", cutoff),
        "customer_churn_rate": latest_two(revenue, "customer_churn_rate", cutoff),
        "expansion_rate": latest_two(revenue, "expansion_rate", cutoff),
        "nps": latest_two(nps, "nps", cutoff),
    }
    for m, (period, value, previous) in expected.items():
        row = f.loc[m]
        assert row["period"] == period, m
        assert row["value"] == pytest.approx(value, rel=1e-12), m
        assert row["previous"] == pytest.approx(previous, rel=1e-12), m
        assert row["change"] == pytest.approx(value - previous, rel=1e-9, abs=1e-12), m
    # Customer churn's counts come from the MRR movements of the same month: its interval is
    # the Wilson interval of churned / starting customers.
    last = moves[pd.to_datetime(moves["period"]) == f.loc["customer_churn_rate", "period"]].iloc[0]
    k, n = float(last["churned_customers"]), float(last["starting_customers"])
    assert k / n == pytest.approx(f.loc["customer_churn_rate", "value"], rel=1e-12)
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert f.loc["customer_churn_rate", "ci_low"] == pytest.approx(centre - half, rel=1e-12)
    # Favourable way: churn and cycle length down is an improvement, the rest up.
    for m, row in f.iterrows():
        if pd.notna(row["change"]) and row["change"] != 0:
            up = row["change"] > 0
            assert bool(row["improved"]) == (up if row["direction"] == "increase" else not up), m
    # Rates without counts (DAU/MAU, expansion) have no significance.
    assert pd.isna(f.loc["dau_mau", "significant"]) and pd.isna(f.loc["expansion_rate", "ci_low"])
    html = j._repr_html_()
    for stage in STAGES:
        assert stage in html
    assert "Visitor→signup rate" in html


def leads_table(months: dict[str, tuple[int, int, int, int]]) -> pd.DataFrame:
    """Per month (visitors, signups, PQLs, customers): the first `signups` visitors sign up a
    day later, the first `PQLs` of them qualify a day after that, and so on."""
    rows = []
    for month, (v, s, p, c) in months.items():
        start = pd.Timestamp(month)
        for i in range(v):
            t = start + pd.Timedelta(minutes=10 * i)
            rows.append({
                "visited_at": t,
                "signed_up_at": t + pd.Timedelta(days=1) if i < s else pd.NaT,
                "pql_at": t + pd.Timedelta(days=2) if i < p else pd.NaT,
                "customer_at": t + pd.Timedelta(days=3) if i < c else pd.NaT,
            })
    return pd.DataFrame(rows)


def funnel_sources(months: dict[str, tuple[int, int, int, int]]) -> kpikit.Sources:
    stages = ["visited_at", "signed_up_at", "pql_at", "customer_at"]
    cols = {"stages": stages, "created": "visited_at", "qualified": "pql_at", "converted": "customer_at"}
    return kpikit.Sources(leads=(leads_table(months), cols))


def test_dissonance_when_signups_rise_and_qualification_falls_significantly() -> None:
    # Jan: 1000 visitors, 100 signups (10 %), 50 PQLs (50 % of signups), 10 customers (20 %).
    # Feb: 1000 visitors, 200 signups (20 %), 40 PQLs (20 %), 8 customers (20 %).
    # Visitor→signup: pooled 300/2000 = 0.15, se = √(0.15 · 0.85 · 0.002) = 0.015969,
    # z = 0.10 / 0.015969 = 6.26: significant, up. Signup→PQL: pooled 90/300 = 0.3,
    # se = √(0.3 · 0.7 · (1/100 + 1/200)) = 0.056125, z = −0.30 / 0.056125 = −5.35: significant,
    # down. → awareness/consideration dissonance. PQL→customer unchanged (0.2 → 0.2): no flag.
    j = kpikit.journey(funnel_sources({"2026-01-01": (1000, 100, 50, 10), "2026-02-01": (1000, 200, 40, 8)}), as_of="2026-02-28")
    f = j.to_frame().set_index("metric")
    assert f.loc["visitor_signup_rate", ["value", "previous"]].tolist() == pytest.approx([0.2, 0.1])
    assert f.loc["signup_pql_rate", ["value", "previous"]].tolist() == pytest.approx([0.2, 0.5])
    assert bool(f.loc["visitor_signup_rate", "significant"]) and bool(f.loc["signup_pql_rate", "significant"])
    assert not bool(f.loc["pql_customer_rate", "significant"])
    d = j.dissonance
    assert d[["upper_stage", "lower_stage"]].values.tolist() == [["awareness", "consideration"]]
    assert d["upper_change"].iloc[0] == pytest.approx(0.1)
    assert d["lower_change"].iloc[0] == pytest.approx(-0.3)
    # Only the leads source: no deal, revenue, event or survey metrics.
    assert set(f.index) == {"visitors", "visitor_signup_rate", "signups", "signup_pql_rate", "time_to_pql_days",
                            "pql_customer_rate", "lead_conversion_rate"}
    html = j._repr_html_()
    assert "Dissonance" in html and "no sources" in html  # retention has none here


def test_opposite_moves_within_noise_are_not_dissonance() -> None:
    # Jan 100 visitors, 10 signups, 5 PQLs; Feb 100, 14, 5. Visitor→signup 0.10 → 0.14:
    # pooled 0.12, se = √(0.12 · 0.88 · 0.02) = 0.045956, z = 0.87; signup→PQL 0.5 → 0.357:
    # pooled 10/24, se = √(0.41667 · 0.58333 · (1/10 + 1/14)) = 0.20412, z = −0.70. Opposite
    # directions, neither significant: no dissonance.
    j = kpikit.journey(funnel_sources({"2026-01-01": (100, 10, 5, 1), "2026-02-01": (100, 14, 5, 1)}), as_of="2026-02-28")
    f = j.to_frame().set_index("metric")
    assert bool(f.loc["visitor_signup_rate", "improved"]) and not bool(f.loc["signup_pql_rate", "improved"])
    assert f.loc["visitor_signup_rate", "significant"] == False  # noqa: E712 - a numpy bool is not the False singleton
    assert j.dissonance.empty
    assert "Dissonance" not in j._repr_html_()


def test_only_complete_periods_and_bad_freq() -> None:
    s = funnel_sources({"2026-01-01": (100, 10, 5, 1), "2026-02-01": (100, 14, 5, 1)})
    # As of 27 February, February is not over: January is the latest period, with no previous.
    f = kpikit.journey(s, as_of="2026-02-27").to_frame().set_index("metric")
    assert f.loc["visitor_signup_rate", "period"] == pd.Timestamp("2026-01-01")
    assert f.loc["visitor_signup_rate", "value"] == pytest.approx(0.1)
    assert pd.isna(f.loc["visitor_signup_rate", "previous"])
    with pytest.raises(kpikit.ParameterError, match="freq"):
        kpikit.journey(s, freq="fortnight")
