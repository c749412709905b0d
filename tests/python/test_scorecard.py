"""Scorecards: the executive set on the demo company, values equal to the analyses they come
from, complete periods only, the HTML rendering, and errors."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

import kpikit
import kpikit._render
from kpikit.kpi import STATUSES

SOURCES = kpikit.Sources.demo(seed=0, scale=0.3)


def test_executive_scorecard_on_the_demo_company() -> None:
    result = kpikit.Scorecard.executive(owner="CEO").evaluate(SOURCES)
    rows = result.to_frame().set_index("kpi")
    assert len(rows) == 11 and set(rows.status) <= set(STATUSES)
    assert rows.north_star.sum() == 1 and rows.loc["Net revenue retention", "north_star"]
    # The data end on 2026-10-31: October is the last complete month, Q3 the last complete quarter.
    assert SOURCES.data_end().strftime("%Y-%m-%d") == "2026-10-31"
    assert rows.loc["Customer churn", "period"] == pd.Timestamp("2026-10-01")
    assert rows.loc["NPS", "period"] == pd.Timestamp("2026-07-01")
    # Values are the analyses' own numbers for that period.
    subs, cols = SOURCES.subscriptions
    rates = kpikit.revenue_metrics(subs, spend=SOURCES.spend[0], spend_time="month", **cols).set_index("period")
    assert rows.loc["Customer churn", "value"] == rates.loc["2026-10-01", "customer_churn_rate"]
    assert rows.loc["LTV:CAC", "value"] == rates.loc["2026-10-01", "ltv_cac"]
    assert rows.loc["Customer churn", "previous"] == rates.loc["2026-09-01", "customer_churn_rate"]
    answers, rc = SOURCES.responses
    nps = kpikit.nps(answers, score=rc["score"], time=rc["time"], freq="quarter").set_index("period")
    assert rows.loc["NPS", "value"] == nps.loc["2026-07-01", "nps"]
    # Growth KPIs compare with the previous period.
    assert rows.loc["Qualified leads", "target"] == rows.loc["Qualified leads", "previous"]
    # Each status follows from value and target (churn: a decrease with a 0.5-point band).
    churn = rows.loc["Customer churn"]
    expected = "on_track" if churn.value <= 0.02 else "at_risk" if churn.value <= 0.025 else "behind"
    assert churn.status == expected


def test_scorecard_html_has_every_kpi_status_and_sparkline() -> None:
    card = kpikit.Scorecard(
        [kpikit.KPI("customer_churn_rate", target=0.03, name="Churn", notes={"2026-10": "price change"}),
         kpikit.KPI("win_rate", target=0.3, cadence="quarter", owner="VP Sales")],
        north_star="Churn",
    )
    result = card.evaluate(SOURCES)
    page = result._repr_html_()
    assert page.count("<tr") == 3  # header + two KPIs
    # Both are proportions with counts: each value shows its Wilson interval.
    assert page.count("95 % CI") == 2
    # The north star leads the card even when listed later.
    for status in result.to_frame().status:
        assert status.replace("_", " ") in page
    assert len(re.findall(r"<svg ", page)) == 2 and "price change" in page and "★" in page


def test_scorecard_errors() -> None:
    with pytest.raises(kpikit.ParameterError, match="same name 'nps'"):
        kpikit.Scorecard([kpikit.KPI("nps", target=30.0), kpikit.KPI("nps", target=40.0)])
    with pytest.raises(kpikit.ParameterError, match="north_star"):
        kpikit.Scorecard([kpikit.KPI("nps", target=30.0)], north_star="NRR")



def test_a_kpi_without_data_is_no_data_grey_with_its_reason() -> None:
    only_subs = kpikit.Sources(subscriptions=SOURCES.subscriptions)
    result = kpikit.Scorecard([kpikit.KPI("win_rate", target=0.3, name="Win rate"),
                               kpikit.KPI("customer_churn_rate", target=0.02)]).evaluate(only_subs)
    row = result.to_frame().set_index("kpi").loc["Win rate"]
    assert (row.status, row.reason) == ("no_data", "no 'deals' source")
    assert pd.isna(row.value) and pd.isna(row.period) and row.target == 0.3
    page = result._repr_html_()
    grey = kpikit._render.STATUS_COLOURS["no_data"]
    assert f"background:{grey}" in page and "no 'deals' source" in html.unescape(page) and "no data" in page
    early = kpikit.Scorecard([kpikit.KPI("nps", target=30.0, cadence="quarter")]).evaluate(SOURCES, as_of="2024-11-15")
    assert early.to_frame().loc[0, ["status", "reason"]].tolist() == ["no_data", "no complete quarter by 15 Nov 2024"]
