"""Lead, support, campaign and onboarding metrics: hand-computed cases, every input library,
pandas references, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import kpikit


def _ts(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, format="ISO8601")).dt.tz_localize("UTC")


# ---------------------------------------------------------------------------------------------
# Leads
# ---------------------------------------------------------------------------------------------


def _leads() -> pd.DataFrame:
    return pd.DataFrame({
        "created": _ts(["2026-01-03", "2026-01-09", "2026-01-20", "2026-02-02", "2026-02-05", "2026-03-07"]),
        "mql": _ts(["2026-01-04", None, "2026-02-10", "2026-02-03", "2026-02-06", None]),
        "won": _ts([None, None, "2026-03-01", None, "2026-02-20", None]),
        "revenue": [None, None, 1200.0, None, 600.0, None],
        "channel": ["ads", "seo", "ads", "ads", "seo", "seo"],
    })


def test_leads_by_created_cohort() -> None:
    out = kpikit.lead_metrics(_leads(), created="created", qualified="mql", converted="won", revenue="revenue")
    # Jan: 3 leads, 2 qualified (one qualified in Feb, still the Jan cohort), 1 converted, 1,200 revenue.
    # Feb: 2 leads, 2 qualified, 1 converted, 600. Mar: 1 lead, none.
    assert out.leads.tolist() == [3, 2, 1]
    assert out.qualified_leads.tolist() == [2, 2, 0]
    # Growth: Feb (2 − 2) / 2 = 0; Mar (0 − 2) / 2 = −1; Jan has no previous period.
    assert np.isnan(out.qualified_leads_growth[0]) and out.qualified_leads_growth.tolist()[1:] == [0.0, -1.0]
    assert out.lead_conversion_rate.tolist() == [1 / 3, 0.5, 0.0]
    assert out.revenue_per_lead.tolist() == [400.0, 300.0, 0.0]
    assert out.qualification_rate.tolist() == [2 / 3, 1.0, 0.0]


def test_leads_by_event_period_and_segments() -> None:
    out = kpikit.lead_metrics(_leads(), created="created", qualified="mql", converted="won", revenue="revenue", cohort="event")
    # Qualifications by their own month: Jan 1, Feb 3, Mar 0; conversions: Feb 1, Mar 1.
    assert out.qualified_leads.tolist() == [1, 3, 0]
    assert out.converted_leads.tolist() == [0, 1, 1]
    # Revenue in the month of conversion: Feb 600, Mar 1,200.
    assert out.revenue.tolist() == [0.0, 600.0, 1200.0]
    seg = kpikit.lead_metrics(_leads(), created="created", qualified="mql", by="channel")
    assert seg.channel.tolist() == ["ads"] * 3 + ["seo"] * 3
    assert seg.leads.tolist() == [2, 1, 0, 1, 1, 1]
    # ads qualified: Jan 2, Feb 1, Mar 0 → growth −0.5, −1; seo: 0, 1, 0 → null (from 0), −1.
    g = seg.qualified_leads_growth.tolist()
    assert g[1:3] == [-0.5, -1.0] and np.isnan(g[4]) and g[5] == -1.0


def test_lead_errors() -> None:
    df = _leads()
    df.loc[4, "mql"] = pd.Timestamp("2026-01-01", tz="UTC")
    with pytest.raises(kpikit.InputError, match=r'"mql": a lead cannot qualify before it was created.*row 4'):
        kpikit.lead_metrics(df, created="created", qualified="mql")
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        out = kpikit.lead_metrics(df, created="created", qualified="mql", invalid="skip")
    assert [w.message.count for w in caught] == [1] and out.leads.sum() == 5
    with pytest.raises(kpikit.InputError, match='"revenue": revenue must not be negative'):
        kpikit.lead_metrics(_leads().assign(revenue=-1.0), created="created", revenue="revenue")
    with pytest.raises(kpikit.ParameterError, match='"cohort"'):
        kpikit.lead_metrics(df, created="created", cohort="closed")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 120), st.one_of(st.none(), st.integers(0, 60)), st.sampled_from("xy")), min_size=1, max_size=50))
def test_leads_match_pandas_reference(rows: list[tuple[int, int | None, str]]) -> None:
    base = pd.Timestamp("2026-01-01")
    df = pd.DataFrame({
        "created": [base + pd.Timedelta(days=c) for c, _, _ in rows],
        "qualified": [None if q is None else base + pd.Timedelta(days=c + q) for c, q, _ in rows],
        "seg": [s for _, _, s in rows],
    })
    df["qualified"] = pd.to_datetime(df.qualified)
    out = kpikit.lead_metrics(df, created="created", qualified="qualified", by="seg")
    month = df.created.dt.to_period("M")
    months = pd.period_range(month.min(), month.max(), freq="M")
    ref = (
        df.assign(month=month, q=df.qualified.notna())
        .groupby(["seg", "month"]).agg(leads=("q", "size"), qualified=("q", "sum"))
        .reindex(pd.MultiIndex.from_product([sorted(df.seg.unique()), months]), fill_value=0)
    )
    prev = ref.qualified.groupby(level=0).shift(1)
    growth = ((ref.qualified - prev) / prev.where(prev != 0)).to_numpy(dtype=float)
    assert out.leads.tolist() == ref.leads.tolist()
    assert out.qualified_leads.tolist() == ref.qualified.tolist()
    assert np.allclose(out.qualified_leads_growth.to_numpy(dtype=float), growth, equal_nan=True)


# ---------------------------------------------------------------------------------------------
# Support
# ---------------------------------------------------------------------------------------------


def _tickets() -> pd.DataFrame:
    return pd.DataFrame({
        "opened": _ts(["2026-01-05 09:00", "2026-01-06 10:00", "2026-01-30 12:00", "2026-02-03 08:00"]),
        "resolved": _ts(["2026-01-05 13:00", "2026-01-07 10:00", "2026-02-02 12:00", None]),
        "first": _ts(["2026-01-05 09:30", "2026-01-06 12:00", "2026-02-01 12:00", None]),
        "handle": [600, 1200, None, 300],
        "priority": ["high", "low", "high", "low"],
    })


def test_support_hand_computed() -> None:
    out = kpikit.support_metrics(_tickets(), opened="opened", resolved="resolved", first_response="first", handle_seconds="handle", unit="hours")
    assert out.tickets_opened.tolist() == [3, 1]
    assert out.tickets_resolved.tolist() == [2, 1]
    # Backlog: Jan 3 − 2 = 1; Feb + 1 − 1 = 1.
    assert out.backlog.tolist() == [1, 1]
    # Resolved in Jan: 4 h and 24 h → mean 14, median 14, p90 4 + 0.9 × 20 = 22; Feb: 72 h.
    assert out.resolution_hours.tolist() == [14.0, 72.0]
    assert out.resolution_hours_p90[0] == pytest.approx(22.0)
    # First responses: Jan 0.5 h and 2 h; Feb (answered 1 Feb) 48 h.
    assert out.first_response_hours.tolist() == [1.25, 48.0]
    # Handle time of tickets opened in Jan: (600 + 1200) / 2 (the third has none); Feb 300.
    assert out.avg_handle_seconds.tolist() == [900.0, 300.0]
    by = kpikit.support_metrics(_tickets(), opened="opened", resolved="resolved", by="priority")
    assert by.priority.tolist() == ["high", "high", "low", "low"]
    assert by.backlog.tolist() == [1, 0, 0, 1]


def test_support_errors_and_every_library(make_table: Any) -> None:
    df = _tickets()
    data = {c: [None if pd.isna(v) else v for v in df[c]] for c in df.columns}
    out = kpikit.support_metrics(make_table(data), opened="opened", resolved="resolved", first_response="first", handle_seconds="handle", by="priority",
                                 output="pandas")
    expected = kpikit.support_metrics(df, opened="opened", resolved="resolved", first_response="first", handle_seconds="handle", by="priority")
    pd.testing.assert_frame_equal(out, expected)
    bad = df.assign(handle=[600, -1, None, 300])
    with pytest.raises(kpikit.InputError, match=r'"handle": handle times must not be negative.*row 1: -1'):
        kpikit.support_metrics(bad, opened="opened", handle_seconds="handle")
    bad = df.copy()
    bad.loc[2, "resolved"] = pd.Timestamp("2026-01-01", tz="UTC")
    with pytest.raises(kpikit.InputError, match=r'"resolved": a ticket cannot be resolved before it was opened.*row 2'):
        kpikit.support_metrics(bad, opened="opened", resolved="resolved")


def test_support_on_demo_tickets() -> None:
    tickets = kpikit.datasets.demo(seed=2, scale=0.05).tickets
    out = kpikit.support_metrics(tickets, opened="opened", resolved="resolved", first_response="first_response", unit="hours",
                                 handle_seconds="handle_seconds", by="priority")
    assert out.tickets_opened.sum() == len(tickets)
    end = out.groupby("priority", observed=True).backlog.last().sum()
    assert end == int(tickets.resolved.isna().sum())
    hours = (tickets.resolved - tickets.opened).dt.total_seconds() / 3600
    assert out.resolution_hours.mul(out.tickets_resolved).sum() == pytest.approx(hours.sum())


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 90 * 24), st.one_of(st.none(), st.integers(0, 40 * 24))), min_size=1, max_size=50))
def test_support_matches_pandas_reference(rows: list[tuple[int, int | None]]) -> None:
    base = pd.Timestamp("2026-01-01")
    df = pd.DataFrame({
        "opened": [base + pd.Timedelta(hours=o) for o, _ in rows],
        "resolved": pd.to_datetime([None if r is None else base + pd.Timedelta(hours=o + r) for o, r in rows]),
    })
    out = kpikit.support_metrics(df, opened="opened", resolved="resolved", unit="hours")
    om, rm = df.opened.dt.to_period("M"), df.resolved.dt.to_period("M")
    months = pd.period_range(min(om.min(), rm.min() if rm.notna().any() else om.min()), max(om.max(), rm.max() if rm.notna().any() else om.max()), freq="M")
    hours = (df.resolved - df.opened).dt.total_seconds() / 3600
    opened = om.value_counts().reindex(months, fill_value=0)
    resolved = rm.value_counts().reindex(months, fill_value=0)
    assert out.tickets_opened.tolist() == opened.tolist()
    assert out.backlog.tolist() == (opened - resolved).cumsum().tolist()
    assert np.allclose(out.resolution_hours, hours.groupby(rm).mean().reindex(months), equal_nan=True)
    assert np.allclose(out.resolution_hours_median, hours.groupby(rm).median().reindex(months), equal_nan=True)


# ---------------------------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------------------------


def _campaigns() -> pd.DataFrame:
    return pd.DataFrame({
        "name": ["spring", "spring", "summer"],
        "day": pd.to_datetime(["2026-03-30", "2026-04-02", "2026-06-01"]),
        "sent": [700, 500, 500],
        "delivered": [600, 400, 500],
        "opened": [150, 100, 200],
        "clicked": [30, 20, 25],
        "converted": [3, 2, 5],
        "spend": [100.0, 100.0, 0.0],
        "revenue": [400.0, 200.0, 250.0],
    })


COUNTS = dict(sends="sent", deliveries="delivered", opens="opened", clicks="clicked", conversions="converted", cost="spend", revenue="revenue")


def test_campaign_rates_and_bases() -> None:
    out = kpikit.campaign_metrics(_campaigns(), by="name", **COUNTS)
    # spring: delivered 1,000 of 1,200 sent; opened 250; clicked 50; converted 5; spend 200; revenue 600.
    s = out.iloc[0]
    assert (s.delivery_rate, s.open_rate, s.click_through_rate) == (1000 / 1200, 0.25, 0.05)
    assert (s.click_to_open_rate, s.conversion_rate, s.cost_per_acquisition, s.roi) == (0.2, 0.1, 40.0, 2.0)
    # summer: spend 0 → ROI null; CPA 0 / 5 = 0.
    assert np.isnan(out.roi[1]) and out.cost_per_acquisition[1] == 0.0
    sent = kpikit.campaign_metrics(_campaigns(), by="name", base="sent", conversion_base="delivered", **COUNTS)
    assert sent.open_rate[0] == 250 / 1200 and sent.conversion_rate[0] == 5 / 1000
    # Without a delivered column the base falls back to sent.
    only_sent = kpikit.campaign_metrics(_campaigns(), sends="sent", opens="opened", by="name")
    assert only_sent.open_rate.tolist() == [250 / 1200, 200 / 500]
    monthly = kpikit.campaign_metrics(_campaigns(), time="day", freq="month", **COUNTS)
    assert monthly.period.dt.strftime("%Y-%m").tolist() == ["2026-03", "2026-04", "2026-05", "2026-06"]
    assert monthly.opened.tolist() == [150, 100, 0, 200]
    assert np.isnan(monthly.open_rate[2])


def test_campaign_errors(make_table: Any) -> None:
    df = _campaigns().assign(clicked=[30, -2, 25])
    data = {c: list(df[c]) for c in df.columns}
    with pytest.raises(kpikit.InputError, match=r'"clicked": values must be present and not negative.*row 1: -2'):
        kpikit.campaign_metrics(make_table(data), **COUNTS)
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        out = kpikit.campaign_metrics(make_table(data), invalid="skip", output="pandas", **COUNTS)
    assert [w.message.count for w in caught] == [1] and out.sent.tolist() == [1200.0]
    with pytest.raises(kpikit.ParameterError, match="freq"):
        kpikit.campaign_metrics(df, sends="sent", freq="month")
    with pytest.raises(kpikit.ParameterError, match="at least one"):
        kpikit.campaign_metrics(df, by="name")


# ---------------------------------------------------------------------------------------------
# Onboarding
# ---------------------------------------------------------------------------------------------


def test_onboarding_by_cohort_and_segment() -> None:
    df = pd.DataFrame({
        "signed": _ts(["2026-01-02", "2026-01-10", "2026-01-20", "2026-01-25", "2026-02-01"]),
        "value": _ts(["2026-01-06", "2026-01-20", None, "2026-03-01 12:00", "2026-02-02"]),
        "plan": ["a", "a", "b", "b", "a"],
    })
    out = kpikit.onboarding_time(df, started="signed", first_value="value")
    # Jan cohort: 4 started, 3 reached after 4, 10 and 35.5 days → mean 16.5, median 10,
    # p90 10 + 0.8 × 25.5 = 30.4. Feb: 1 day.
    assert out.started.tolist() == [4, 1] and out.reached_value.tolist() == [3, 1]
    assert out.reached_value_rate.tolist() == [0.75, 1.0]
    assert out.onboarding_days.tolist() == [16.5, 1.0]
    assert out.onboarding_days_median.tolist() == [10.0, 1.0]
    assert out.onboarding_days_p90[0] == pytest.approx(30.4)
    by = kpikit.onboarding_time(df, started="signed", first_value="value", by="plan", freq=None)
    assert by.plan.tolist() == ["a", "b"] and by.onboarding_days_median.tolist() == [4.0, 35.5]
    bad = df.assign(value=_ts(["2026-01-01", None, None, None, None]))
    with pytest.raises(kpikit.InputError, match=r'"value": first value cannot come before the start.*1 row\(s\), e.g. row 0: 2026-01-01 00:00:00 < start'):
        kpikit.onboarding_time(bad, started="signed", first_value="value")


# ---------------------------------------------------------------------------------------------
# One vocabulary (docs/vocabulary.md): missing means null, units, names, Dask input
# ---------------------------------------------------------------------------------------------


def test_lead_figures_without_their_column_are_null_not_zero() -> None:
    out = kpikit.lead_metrics(_leads(), created="created")
    assert out.leads.tolist() == [3, 2, 1]
    for c in ("qualified_leads", "qualified_leads_growth", "qualification_rate", "converted_leads",
              "lead_conversion_rate", "revenue", "revenue_per_lead"):
        assert out[c].isna().all(), c
    # With the column, a period without revenue is a real 0 (March: one lead, none converted).
    out = kpikit.lead_metrics(_leads(), created="created", converted="won", revenue="revenue")
    assert out.revenue.tolist() == [1200.0, 600.0, 0.0] and out.revenue_per_lead.tolist() == [400.0, 300.0, 0.0]
    assert out.qualified_leads.isna().all() and out.lead_conversion_rate.tolist() == [1 / 3, 0.5, 0.0]


def test_support_durations_default_to_days() -> None:
    days = kpikit.support_metrics(_tickets(), opened="opened", resolved="resolved", first_response="first")
    assert "resolution_hours" not in days.columns
    # Resolved in Jan: 4 h and 24 h → mean 14 h = 7/12 day; Feb 72 h = 3 days.
    assert days.resolution_days.tolist() == pytest.approx([14 / 24, 3.0], rel=1e-15)
    assert days.resolution_days_median.tolist() == pytest.approx([14 / 24, 3.0], rel=1e-15)
    assert days.first_response_days.tolist() == pytest.approx([1.25 / 24, 2.0], rel=1e-15)
    minutes = kpikit.support_metrics(_tickets(), opened="opened", resolved="resolved", unit="minutes")
    assert minutes.resolution_minutes.tolist() == [840.0, 4320.0]
    with pytest.raises(kpikit.ParameterError, match='"unit"'):
        kpikit.support_metrics(_tickets(), opened="opened", unit="h")


def test_support_without_a_resolved_column_has_no_backlog() -> None:
    out = kpikit.support_metrics(_tickets(), opened="opened", handle_seconds="handle")
    assert out.tickets_opened.tolist() == [3, 1] and out.avg_handle_seconds.tolist() == [900.0, 300.0]
    assert out.tickets_resolved.isna().all() and out.backlog.isna().all() and out.resolution_days.isna().all()


def test_campaign_figures_without_their_column_are_null_not_zero() -> None:
    out = kpikit.campaign_metrics(_campaigns(), deliveries="delivered", clicks="clicked", cost="spend", by="name")
    # spring: 1,000 delivered, 50 clicks, 200 spend.
    assert out.delivered.tolist() == [1000.0, 500.0] and out.click_through_rate.tolist() == [0.05, 0.05]
    for c in ("sent", "opened", "converted", "revenue", "delivery_rate", "open_rate", "click_to_open_rate",
              "conversion_rate", "cost_per_acquisition", "roi"):
        assert out[c].isna().all(), c
    with pytest.raises(kpikit.ParameterError, match='"base"'):
        kpikit.campaign_metrics(_campaigns(), sends="sent", base="opened")


def test_renamed_parameters_are_refused_under_their_old_names() -> None:
    with pytest.raises(TypeError, match="opened"):
        kpikit.campaign_metrics(_campaigns(), sends="sent", opened="opened")  # type: ignore[call-arg]
    accounts = pd.DataFrame({"signed": _ts(["2026-01-02"]), "value": _ts(["2026-01-05"])})
    with pytest.raises(TypeError, match="start"):
        kpikit.onboarding_time(accounts, start="signed", first_value="value")  # type: ignore[call-arg]
    out = kpikit.onboarding_time(accounts, started="signed", first_value="value", unit="hours")
    assert out.onboarding_hours.tolist() == [72.0] and "onboarding_days" not in out.columns
    with pytest.raises(TypeError):
        kpikit.lead_metrics(leads=_leads(), created="created")  # type: ignore[call-arg]


def test_skipped_rows_warn_for_every_output_library() -> None:
    import polars as pl
    import pyarrow as pa

    # The third account has no signup time: skipped. Of the other two, one reached value in 3 days.
    df = pd.DataFrame({"signed": _ts(["2026-01-02", "2026-01-10", None]), "value": _ts(["2026-01-05", None, "2026-01-04"])})
    for table in (df, pl.from_pandas(df), pa.Table.from_pandas(df)):
        with pytest.warns(kpikit.SkippedRowsWarning) as caught:
            out = kpikit.onboarding_time(table, started="signed", first_value="value", invalid="skip")
        assert [w.message.count for w in caught] == [1]
        assert type(out) is type(table)
        as_pandas = pa.table(out).to_pandas() if not isinstance(out, pd.DataFrame) else out
        assert as_pandas.started.tolist() == [2] and as_pandas.onboarding_days.tolist() == [3.0]
        assert "skipped" not in as_pandas.columns


@pytest.mark.parametrize("name", ["lead_metrics", "support_metrics", "campaign_metrics", "onboarding_time"])
def test_a_dask_dataframe_gives_the_single_machine_result(name: str) -> None:
    dd = pytest.importorskip("dask.dataframe")
    calls = {
        "lead_metrics": (_leads(), dict(created="created", qualified="mql", converted="won", revenue="revenue", by="channel")),
        "support_metrics": (_tickets(), dict(opened="opened", resolved="resolved", first_response="first", by="priority")),
        "campaign_metrics": (_campaigns(), dict(time="day", by="name", **COUNTS)),
        "onboarding_time": (
            pd.DataFrame({"signed": _ts(["2026-01-02", "2026-01-10", "2026-02-20"]), "value": _ts(["2026-01-05", None, "2026-03-01"])}),
            dict(started="signed", first_value="value"),
        ),
    }
    df, kw = calls[name]
    f = getattr(kpikit, name)
    expected = f(df, **kw)
    got = f(dd.from_pandas(df, npartitions=2), **kw)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert len(expected) > 0
