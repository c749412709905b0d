"""One number per metric and period, each labelled with its period as people read it, and
only complete periods judged: the demo report's scorecard, journey box, charts and terminal
agree, and incomplete periods (the current quarter, lead cohorts still converting) are shown
as such without a status, change, significance mark or anomaly."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

import kpikit
from kpikit._render import format_value, period_label

SCALE = 0.2


@pytest.fixture(scope="module")
def demo_report() -> kpikit.Report:
    return kpikit.report(kpikit.Sources.demo(scale=SCALE), title="Demo", currency="USD")


def test_periods_are_written_as_people_read_them() -> None:
    t = pd.Timestamp("2026-07-01")
    assert [period_label(t, c) for c in ("quarter", "month", "year")] == ["Q3 2026", "Jul 2026", "2026"]
    assert period_label(pd.Timestamp("2026-10-05"), "week") == "week of 5 Oct 2026"
    assert period_label(pd.Timestamp("2026-12-28"), "quarter") == "Q4 2026" and period_label(pd.NaT, "month") == "–"


def test_the_as_of_date_is_stated_once_and_no_period_is_a_bare_iso_month(demo_report: kpikit.Report) -> None:
    assert demo_report.html.count("As of 31 October 2026") == 1
    assert "data checks as of" not in demo_report.html.lower()
    assert "Freshness judged on" in demo_report.html  # no as_of given: freshness is judged today
    rows = demo_report.scorecard.to_frame().set_index("kpi")
    assert rows.loc["NPS", "period_label"] == "Q3 2026" and rows.loc["Customer churn", "period_label"] == "Oct 2026"
    # Neither "2026-07" nor "month of 2026-10-01": every shown period is a label.
    body = re.sub(r"<img[^>]*>", "", demo_report.html)
    assert not re.search(r">\s*20\d\d-\d\d\s*<", body) and "month of" not in body


def test_a_metric_and_period_has_one_value_in_scorecard_and_journey(demo_report: kpikit.Report) -> None:
    card = demo_report.scorecard.to_frame().set_index("metric")
    journey = demo_report.journey.to_frame().set_index("metric")
    shared = sorted(set(card.index) & set(journey.index))
    assert {"avg_deal_size", "nps", "customer_churn_rate", "cac_payback_months"} <= set(shared)
    for m in shared:
        assert journey.loc[m, "period_label"] == card.loc[m, "period_label"], m
        assert journey.loc[m, "value"] == card.loc[m, "value"], m
    # Average deal size and NPS: the scorecard's quarter in both places, as printed in the HTML.
    html = demo_report.html
    for m in ("avg_deal_size", "nps"):
        shown = format_value(card.loc[m, "value"], card.loc[m, "unit"], "USD")
        assert html.count(shown) >= 2, (m, shown)
    # Every journey figure carries its own period: funnel rates' latest complete cohort is older
    # than the latest month of visitors, and both labels are printed under the figures' names.
    assert journey.loc["visitors", "period_label"] == "Oct 2026"
    assert journey.loc["visitor_signup_rate", "period_label"] == "Jul 2026"
    box = demo_report.journey._repr_html_()
    assert box.count("class='period'") == journey["period_label"].notna().sum() == len(journey)


def test_the_terminal_prints_the_reports_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    from kpikit.__main__ import main

    assert main(["demo", "--scale", str(SCALE)]) == 0
    printed = capsys.readouterr().out
    assert "as of 31 Oct 2026" in printed
    rows = kpikit.Scorecard.executive().evaluate(kpikit.Sources.demo(scale=SCALE), currency="USD").to_frame()
    journey = kpikit.journey(kpikit.Sources.demo(scale=SCALE), cadences={"avg_deal_size": "quarter", "nps": "quarter"})
    payback = rows.set_index("kpi").loc["CAC payback"]
    # One code path: the journey's CAC payback is the scorecard's, and LTV:CAC and payback are
    # printed once, from the scorecard (no second headline computation).
    assert journey.to_frame().set_index("metric").loc["cac_payback_months", "value"] == payback.value
    for label in ("CAC payback", "LTV:CAC"):
        r = rows.set_index("kpi").loc[label]
        lines = [t for t in printed.splitlines() if label in t]
        assert len(lines) == 1 and format_value(r.value, r.unit) in lines[0] and r.period_label in lines[0]


def test_incomplete_cohorts_and_periods_are_shown_never_judged(demo_report: kpikit.Report) -> None:
    sources = kpikit.Sources.demo(scale=SCALE)
    rows = demo_report.scorecard.to_frame().set_index("kpi")
    # Leads of Aug–Oct 2026 have not had their 90 days by 31 Oct: qualified leads are judged on
    # July's cohort against June's, and October's count so far is shown as incomplete.
    leads, lc = sources.leads
    lm = kpikit.lead_metrics(leads, created=lc["created"], qualified=lc["qualified"], converted=lc["converted"],
                             revenue=lc["revenue"], freq="month").set_index("period")
    q = rows.loc["Qualified leads"]
    assert (q.period_label, q.value, q.previous) == ("Jul 2026", lm.loc["2026-07-01", "qualified_leads"],
                                                     lm.loc["2026-06-01", "qualified_leads"])
    assert q.incomplete_period == pd.Timestamp("2026-10-01") and q.incomplete_value == lm.loc["2026-10-01", "qualified_leads"]
    # The quarter of October is running: deal size is judged on Q3 against Q2.
    deals, dc = sources.deals
    by_quarter = kpikit.deal_metrics(deals, freq="quarter", **{k: v for k, v in dc.items() if k != "owner"}).set_index("period")
    d = rows.loc["Average deal size"]
    assert (d.period_label, d.value, d.target) == ("Q3 2026", by_quarter.loc["2026-07-01", "avg_deal_size"],
                                                   by_quarter.loc["2026-04-01", "avg_deal_size"])
    assert d.incomplete_value == by_quarter.loc["2026-10-01", "avg_deal_size"]
    # The history that statuses, arrows, significance and anomalies come from has no incomplete period.
    for label, history in demo_report.scorecard.histories.items():
        tail = demo_report.scorecard.incomplete[label]
        assert not set(history["period"]) & set(tail["period"]), label
    # The lead conversion of the journey: July's cohort (its window closed), not October's 0.1 %.
    j = demo_report.journey.to_frame().set_index("metric").loc["lead_conversion_rate"]
    assert j.period == pd.Timestamp("2026-07-01")
    assert j.value == lm.loc["2026-07-01", "lead_conversion_rate"]
    # The scorecard shows the incomplete value beside the judged one.
    assert "so far:" in demo_report.html and "(incomplete)" in demo_report.html


def test_monthly_dau_mau_is_the_mean_of_daily_values() -> None:
    sources = kpikit.Sources.demo(scale=SCALE)
    events, ec = sources.events
    daily = kpikit.active_users(events, user=ec["user"], time=ec["time"], freq="day")
    days = daily[(daily["period"] >= pd.Timestamp("2026-10-01")) & (daily["period"] <= pd.Timestamp("2026-10-31"))]
    assert len(days) == 31
    card = kpikit.Scorecard([kpikit.KPI("dau_mau", target=0.1)]).evaluate(sources).to_frame().iloc[0]
    assert card.period_label == "Oct 2026" and card.value == pytest.approx(days["dau_mau"].mean(), rel=1e-12)
    # Not the last day's ratio (31 Oct 2026 is a Saturday).
    assert card.value != pytest.approx(days["dau_mau"].iloc[-1])


def test_trend_charts_hatch_the_incomplete_period(demo_report: kpikit.Report) -> None:
    import matplotlib.pyplot as plt

    ax = kpikit.plot.kpi_trend(demo_report.scorecard, "Average deal size")
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1 and "incomplete" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(ax.figure)
    ax = kpikit.plot.kpi_trend(demo_report.scorecard, "Customer churn")  # October is complete
    assert not [p for p in ax.patches if p.get_hatch()]
    plt.close(ax.figure)


def test_an_earlier_as_of_ends_every_section_there() -> None:
    sources = kpikit.Sources.demo(scale=SCALE)
    r = kpikit.report(sources, as_of="2026-06-30", currency="USD")
    alts = dict(re.findall(r"<section id='(\w+)'><h2>[^<]*</h2>(?:<p class='meta'>[^<]*</p>)?<img class=\"chart\" alt=\"([^\"]*)\"",
                           r.html))
    assert "In Jun 2026: ending MRR $" in alts["mrr_movements"] and "On 30 Jun 2026:" in alts["active_users"]
    # Cohorts: the last is June's (its month 0), 20 of them from Nov 2024.
    assert "(20 cohorts)" in alts["retention"]
    # The funnel counts the cohorts whose 90 days had passed by 30 June: those of March or before.
    leads, lc = sources.leads
    f = kpikit.funnel_from_stages(leads, stages=lc["stages"], window=lc["window"], freq="month")
    visited = f[(f.step == 1) & (pd.to_datetime(f.period) <= pd.Timestamp("2026-03-01"))].entered.sum()
    assert f"{visited:,} visited" in alts["funnel"]
    rows = r.scorecard.to_frame().set_index("kpi")
    assert rows.loc["Customer churn", "period_label"] == "Jun 2026" and rows.loc["NPS", "period_label"] == "Q2 2026"
