"""The demo company: determinism, output libraries, scaling, consistency and realism; the
`kpikit demo` command prints the executive scorecard's figures."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import time

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import kpikit
from kpikit.datasets import DemoCompany, demo

TABLES = ["leads", "events", "subscriptions", "deals", "responses", "spend", "tickets", "quotas", "campaigns"]
START = pd.Timestamp("2024-11-01", tz="UTC")
END = pd.Timestamp("2026-11-01", tz="UTC")


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    # Large enough for stable rates (about 300k events), small enough for a debug build.
    return demo(seed=7, scale=0.3)


def month_key(s: pd.Series) -> pd.Series:
    """Months since year 0 (NaN for missing times), for tz-aware or naive datetimes."""
    return s.dt.year * 12 + s.dt.month - 1


def test_same_seed_same_tables_and_other_seed_differs() -> None:
    a, b, c = demo(3, 0.03), demo(3, 0.03), demo(4, 0.03)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
        assert not getattr(a, name).equals(getattr(c, name)), name


def test_polars_and_arrow_hold_the_same_data_as_pandas() -> None:
    pandas_ = demo(5, 0.02)
    arrow = demo(5, 0.02, output="arrow")
    polars = demo(5, 0.02, output="polars")
    for name in TABLES:
        assert isinstance(getattr(arrow, name), pa.Table)
        assert isinstance(getattr(polars, name), pl.DataFrame)
        expected = getattr(pandas_, name)
        # pandas gets nullable booleans (the won flag is null while a deal is open).
        pd.testing.assert_frame_equal(getattr(arrow, name).to_pandas(date_as_object=False, types_mapper={pa.bool_(): pd.BooleanDtype()}.get), expected)
        from_polars = getattr(polars, name).to_pandas()
        assert list(from_polars.columns) == list(expected.columns)
        assert len(from_polars) == len(expected)
        for col in expected.columns:
            left, right = from_polars[col], expected[col]
            if isinstance(right.dtype, pd.CategoricalDtype):
                left, right = left.astype(str), right.astype(str)
            if isinstance(right.dtype, pd.BooleanDtype):
                left = left.astype("boolean")
            pd.testing.assert_series_equal(left, right, check_dtype=False, check_index_type=False)


def test_schema_types() -> None:
    t = demo(0, 0.02, output="arrow")
    utc = pa.timestamp("us", tz="UTC")
    cat = pa.dictionary(pa.int32(), pa.string())
    assert t.leads.schema.types == [pa.int64(), cat, utc, utc, utc, utc, pa.string()]
    assert t.events.schema.names == ["user_id", "customer_id", "time", "event"]
    assert t.subscriptions.schema.types == [pa.string(), pa.date32(), pa.float64(), cat, cat]
    assert t.deals.schema.types == [pa.int64(), cat, pa.string(), utc, utc, pa.float64(), pa.bool_()]
    assert t.responses.schema.types == [pa.string(), utc, pa.int8(), cat, cat]
    assert t.spend.schema.types == [pa.date32(), cat, pa.float64()]
    assert t.tickets.schema.types == [pa.int64(), pa.string(), utc, utc, utc, pa.int64(), cat, pa.int8()]
    assert t.quotas.schema.names == ["owner", "month", "quota"]
    assert t.quotas.schema.types == [cat, pa.date32(), pa.float64()]
    assert t.campaigns.schema.names == [
        "campaign_id", "campaign", "sent_at", "sent", "delivered", "opened", "clicked", "converted", "spend", "revenue"
    ]
    assert t.campaigns.schema.types == [pa.int64(), cat, utc] + [pa.int64()] * 5 + [pa.float64()] * 2


def test_row_counts_grow_about_linearly_with_scale() -> None:
    small, big = demo(2, 0.05), demo(2, 0.2)
    assert len(big.leads) == 4 * len(small.leads)
    for name in ["events", "subscriptions", "deals", "responses", "tickets"]:
        ratio = len(getattr(big, name)) / len(getattr(small, name))
        assert 2.5 < ratio < 6.0, (name, ratio)
    assert len(big.spend) == len(small.spend) == 24 * 7
    assert len(big.quotas) == len(small.quotas) == 24 * 8
    assert len(big.campaigns) == 48  # two sends a month once every audience is non-empty
    assert big.campaigns["sent"].sum() > 3 * small.campaigns["sent"].sum()


def test_scale_must_be_positive() -> None:
    for bad in [0, -1.0, float("nan")]:
        with pytest.raises(kpikit.ParameterError, match="scale"):
            demo(scale=bad)
    with pytest.raises(ValueError, match="seed"):
        demo(seed=-1)
    with pytest.raises(ValueError, match="output"):
        demo(scale=0.01, output="excel")  # type: ignore[arg-type]


def test_tiny_scale_fills_every_table() -> None:
    c = demo(0, 0.01)
    assert all(len(t) > 0 for t in c.tables().values())


def test_repr_and_html() -> None:
    c = demo(0, 0.01)
    text = repr(c)
    assert text.startswith("DemoCompany('Northwind Analytics', 2024-11-01 to 2026-10-31: leads=")
    assert f"tickets={len(c.tickets):,}" in text
    page = c._repr_html_()
    assert f"quotas={len(c.quotas):,}, campaigns={len(c.campaigns):,})" in text
    assert page.count("<tr>") == 10 and "<code>campaigns</code>" in page


def test_lead_stages_are_ordered(company: DemoCompany) -> None:
    leads = company.leads
    stages = ["visited_at", "signed_up_at", "pql_at", "customer_at"]
    assert leads["visited_at"].notna().all()
    for earlier, later in itertools.pairwise(stages):
        reached = leads[later].notna()
        assert leads.loc[reached, earlier].notna().all()
        assert (leads.loc[reached, earlier] <= leads.loc[reached, later]).all()
    assert (leads["customer_id"].notna() == leads["customer_at"].notna()).all()
    assert leads["customer_id"].dropna().is_unique
    for col in stages:
        times = leads[col].dropna()
        assert times.min() >= START and times.max() < END


def test_subscriptions_match_converted_leads(company: DemoCompany) -> None:
    subs, leads = company.subscriptions, company.leads
    converted = leads.dropna(subset=["customer_id"]).set_index("customer_id")
    assert set(subs["customer_id"]) == set(converted.index)
    first = subs.groupby("customer_id")["month"].min()
    expected = month_key(converted["customer_at"]).reindex(first.index)
    assert (month_key(first) == expected).all()
    assert (subs["mrr"] > 0).all()
    assert ((subs["mrr"] * 100).round(6) % 1 == 0).all()
    assert not subs.duplicated(["customer_id", "month"]).any()
    assert set(subs["plan"].cat.categories) == {"starter", "growth", "enterprise"}


def test_deals_are_consistent(company: DemoCompany) -> None:
    deals = company.deals
    assert (deals["won"].isna() == deals["closed"].isna()).all()
    closed = deals.dropna(subset=["closed"])
    assert (closed["closed"] >= closed["created"]).all()
    assert (deals["amount"] > 0).all()
    won = deals["won"].eq(True)
    assert (deals["customer_id"].notna() == won).all()
    when = company.leads.dropna(subset=["customer_id"]).set_index("customer_id")["customer_at"]
    assert (deals.loc[won, "closed"].to_numpy() == when.loc[deals.loc[won, "customer_id"]].to_numpy()).all()
    assert deals["owner"].nunique() == 8


def test_responses_and_tickets_are_in_range(company: DemoCompany) -> None:
    r = company.responses
    assert r["score"].between(0, 10).all()
    assert set(r["respondent"]) <= set(company.subscriptions["customer_id"])
    t = company.tickets
    responded = t["first_response"].notna()
    assert (t.loc[responded, "first_response"] >= t.loc[responded, "opened"]).all()
    resolved = t["resolved"].notna()
    assert responded[resolved].all()
    assert (t.loc[resolved, "resolved"] >= t.loc[resolved, "first_response"]).all()
    assert (t["handle_seconds"] >= 0).all()
    rated = t["csat"].dropna()
    assert rated.between(1, 5).all() and 0 < len(rated) < len(t)
    assert t.loc[t["csat"].notna(), "resolved"].notna().all()


def test_events_are_in_the_span_with_one_signup_per_user(company: DemoCompany) -> None:
    events, leads = company.events, company.leads
    assert events["time"].min() >= START and events["time"].max() < END
    signed = leads.dropna(subset=["signed_up_at"]).set_index("lead_id")["signed_up_at"]
    signups = events[events["event"] == "signup"]
    assert signups["user_id"].is_unique
    assert set(signups["user_id"]) == set(signed.index)
    assert (signups.set_index("user_id")["time"] == signed.loc[signups["user_id"]]).all()
    first = events.groupby("user_id")["time"].min()
    assert (first == signed.loc[first.index]).all()
    assert set(events["event"].cat.categories) >= {"login", "feature_used", "upgrade"}
    # Paying customers are far more active than free users.
    per_user = events.groupby("user_id").size()
    buyers = leads.loc[leads["customer_id"].notna(), "lead_id"]
    assert per_user.reindex(buyers).mean() > 4 * per_user.drop(buyers, errors="ignore").mean()


def test_monthly_logo_churn_is_realistic(company: DemoCompany) -> None:
    subs = company.subscriptions
    active = subs.groupby("month")["customer_id"].apply(set).sort_index()
    months = list(active.index)
    lost = sum(len(active[m] - active[n]) for m, n in itertools.pairwise(months))
    base = sum(len(active[m]) for m in months[:-1])
    assert 0.01 <= lost / base <= 0.05
    # Some churned customers come back after a gap.
    back = sum(len((active[n] - active[m]) & set().union(*(active[k] for k in months[:i]))) for i, (m, n) in enumerate(itertools.pairwise(months)))
    assert back > 0


def test_win_rate_nps_and_cac_are_realistic(company: DemoCompany) -> None:
    decided = company.deals.dropna(subset=["won"])
    assert 0.15 <= decided["won"].astype(bool).mean() <= 0.40
    s = company.responses["score"]
    nps = 100 * ((s >= 9).mean() - (s <= 6).mean())
    assert -20 <= nps <= 70
    cac = company.spend["amount"].sum() / company.leads["customer_id"].notna().sum()
    assert 500 <= cac <= 20_000


def test_journey_signal_in_the_last_three_months(company: DemoCompany) -> None:
    leads = company.leads
    visit_month = month_key(leads["visited_at"])
    last = visit_month.max()
    recent, before = visit_month > last - 3, visit_month.between(last - 8, last - 3)
    signed = leads["signed_up_at"].notna()
    assert signed[recent].mean() > 1.1 * signed[before].mean()
    signups = leads[signed]
    signup_month = month_key(signups["signed_up_at"])
    pql = signups["pql_at"].notna()
    assert pql[signup_month > last - 3].mean() < 0.9 * pql[signup_month.between(last - 8, last - 3)].mean()


def test_quotas_belong_to_the_deal_owners_and_attainment_is_realistic(company: DemoCompany) -> None:
    quotas, deals = company.quotas, company.deals
    assert set(quotas["owner"]) == set(deals["owner"])
    assert not quotas.duplicated(["owner", "month"]).any()
    assert quotas.groupby("owner", observed=True).size().eq(24).all()
    assert (quotas["month"].dt.day == 1).all()
    assert (quotas["quota"] >= 100).all() and (quotas["quota"] % 100 == 0).all()
    # Flat within a calendar quarter.
    quarter = quotas["month"].dt.year * 4 + (quotas["month"].dt.month - 1) // 3
    assert quotas.groupby([quotas["owner"], quarter], observed=True)["quota"].nunique().eq(1).all()
    # Won annual value per rep over the span against the summed quotas (plain pandas).
    won = deals[deals["won"].eq(True)]
    actual = won.groupby("owner", observed=True)["amount"].sum()
    target = quotas.groupby("owner", observed=True)["quota"].sum()
    attainment = actual.reindex(target.index, fill_value=0) / target
    assert attainment.between(0.6, 1.3).all(), attainment
    assert 0.8 <= actual.sum() / target.sum() <= 1.0
    via_kpikit = kpikit.quota_attainment(won, quotas, rep="owner", time="closed", quota_period="month", to_date="all")
    last = via_kpikit[via_kpikit["period"] == via_kpikit["period"].max()]
    last = last.set_index(last["owner"].astype(str))["attainment_to_date"].sort_index()
    expected = attainment.set_axis(attainment.index.astype(str)).sort_index()
    pd.testing.assert_series_equal(last, expected, check_names=False, check_index_type=False)


def test_campaign_funnels_shrink_with_plausible_rates(company: DemoCompany) -> None:
    c = company.campaigns
    stages = ["sent", "delivered", "opened", "clicked", "converted"]
    assert (c["sent"] > 0).all()
    for earlier, later in itertools.pairwise(stages):
        assert (c[later] <= c[earlier]).all(), later
    total = c[[*stages, "spend", "revenue"]].sum()
    assert 0.95 <= total["delivered"] / total["sent"] <= 0.99
    assert 0.20 <= total["opened"] / total["delivered"] <= 0.35
    assert 0.02 <= total["clicked"] / total["delivered"] <= 0.05
    assert c["campaign_id"].tolist() == list(range(1, len(c) + 1))
    assert c["sent_at"].is_monotonic_increasing and c["sent_at"].min() >= START and c["sent_at"].max() < END
    assert set(c["campaign"]) == {"newsletter", "webinar", "product_update"}
    assert ((c["revenue"] > 0) == (c["converted"] > 0)).all()
    # A newsletter goes to every signed-up user of its time (about 92 % opted in).
    signed = company.leads["signed_up_at"].dropna()
    news = c[c["campaign"] == "newsletter"]
    audience = news["sent_at"].map(lambda t: (signed < t).sum())
    assert (news["sent"] <= audience).all()
    assert (news["sent"] >= 0.85 * audience)[audience >= 200].all()
    # Campaign spend is part of the month's e-mail spend.
    email = company.spend[company.spend["channel"] == "email"].set_index("month")["amount"]
    per_month = c.groupby(c["sent_at"].dt.tz_localize(None).dt.to_period("M").dt.to_timestamp())["spend"].sum()
    assert (per_month < email.reindex(per_month.index)).all()


def test_imports_and_runs_quickly_in_a_fresh_interpreter() -> None:
    code = "import kpikit; c = kpikit.datasets.demo(scale=0.05); assert len(c.events) > 0"
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert time.perf_counter() - began < 30


def test_demo_command_prints_the_scorecards_figures(capsys: pytest.CaptureFixture[str]) -> None:
    from kpikit.__main__ import main
    from kpikit._render import format_value

    assert main(["demo", "--scale", "0.05"]) == 0
    printed = capsys.readouterr().out
    lines = printed.split("Executive scorecard (★ north star)\n", 1)[1].splitlines()
    rows = kpikit.Scorecard.executive().evaluate(kpikit.Sources.demo(scale=0.05)).to_frame()
    assert len(lines) == len(rows) == 11
    shown = {}
    for line, r in zip(lines, rows.itertuples(index=False), strict=True):
        m = re.match(r"^ (★| )(.+?) +((?:Q\d|[A-Z][a-z]{2}) \d{4}) +(\S+(?: %| months| points)?) +target +(\S+(?: %| months| points)?) +(.+)$",
                     line)
        assert m is not None, line
        star, kpi, period, value, target, status = m.groups()
        assert (kpi, period, status) == (r.kpi, r.period_label, r.status.replace("_", " "))
        # Money in the demo company's currency, US dollars; every value with its unit.
        assert value == format_value(r.value, r.unit, "USD") and target == format_value(r.target, r.unit, "USD")
        assert (star == "★") == r.north_star
        shown[kpi] = float(value.replace(",", "").replace("$", "").removesuffix(" months").removesuffix(" points").rstrip(" %×"))
    # The printed capital efficiency is revenue_metrics' own, for the same month (one source of
    # truth: no second computation of LTV or CAC).
    d = demo(scale=0.05)
    revenue = kpikit.revenue_metrics(d.subscriptions, customer="customer_id", period="month", mrr="mrr", spend=d.spend)
    last = revenue[pd.to_datetime(revenue["period"]) == rows.set_index("kpi").loc["LTV:CAC", "period"]].iloc[0]
    assert shown["LTV:CAC"] == round(float(last["ltv_cac"]), 2)
    assert shown["CAC payback"] == round(float(last["cac_payback_months"]), 1)  # months, one decimal
