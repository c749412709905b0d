"""Catalog integrity: every definition is computable by the function it names and lands in the
column it names; every public metric function has definitions; user metrics behave like
built-ins."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import kpikit
from kpikit._history import compute

DEMO = kpikit.datasets.demo(seed=0, scale=0.1)

# How each table function is called on the demo company.
CALLS: dict[str, Callable[[], Any]] = {
    "revenue_metrics": lambda: kpikit.revenue_metrics(
        DEMO.subscriptions, customer="customer_id", period="month", mrr="mrr", spend=DEMO.spend
    ),
    "mrr_movements": lambda: kpikit.mrr_movements(DEMO.subscriptions, customer="customer_id", period="month", mrr="mrr"),
    "revenue_cohorts": lambda: kpikit.revenue_cohorts(DEMO.subscriptions, customer="customer_id", period="month", mrr="mrr"),
    "nps": lambda: kpikit.nps(DEMO.responses, score="score", time="time", freq="quarter"),
    # Unrated tickets are no answer, not bad rows: only rated ones are scored.
    "csat": lambda: kpikit.csat(DEMO.tickets.dropna(subset=["csat"]), score="csat", time="opened", freq="month"),
    "deal_metrics": lambda: kpikit.deal_metrics(
        DEMO.deals, deal="deal_id", rep="owner", created="created", closed="closed", amount="amount", won="won"
    ),
    "quota_attainment": lambda: kpikit.quota_attainment(
        DEMO.deals[DEMO.deals.won.eq(True)], DEMO.quotas, rep="owner", time="closed", quota_period="month"
    ),
    "lead_metrics": lambda: kpikit.lead_metrics(
        # Revenue of a lead: the won deals of the customer it became (a lead without revenue has none).
        DEMO.leads.assign(revenue=DEMO.leads.customer_id.map(DEMO.deals[DEMO.deals.won.eq(True)].groupby("customer_id").amount.sum())),
        created="visited_at", qualified="pql_at", converted="customer_at", revenue="revenue",
    ),
    "campaign_metrics": lambda: kpikit.campaign_metrics(
        DEMO.campaigns, time="sent_at", sends="sent", deliveries="delivered", opens="opened", clicks="clicked",
        conversions="converted", cost="spend", revenue="revenue",
    ),
    "support_metrics": lambda: kpikit.support_metrics(
        DEMO.tickets, opened="opened", resolved="resolved", first_response="first_response", handle_seconds="handle_seconds",
        unit="hours",
    ),
    "onboarding_time": lambda: kpikit.onboarding_time(DEMO.leads.dropna(subset=["signed_up_at"]), started="signed_up_at", first_value="pql_at"),
    "funnel_from_stages": lambda: kpikit.funnel_from_stages(DEMO.leads, window="90d"),
    "active_users": lambda: kpikit.active_users(DEMO.events, user="user_id", time="time"),
    "retention": lambda: kpikit.retention(DEMO.events, user="user_id", time="time", freq="month"),
    "lifecycle": lambda: kpikit.lifecycle(DEMO.events, user="user_id", time="time", freq="month"),
    "rfm_summary": lambda: kpikit.rfm_summary(DEMO.deals.dropna(subset=["closed", "customer_id"]), customer="customer_id", time="closed", amount="amount"),
}
RESULTS: dict[str, Any] = {}


def _result(function: str) -> Any:
    if function not in RESULTS:
        RESULTS[function] = CALLS[function]()
    return RESULTS[function]


BUILTIN = kpikit.catalog().query("builtin")


@pytest.mark.parametrize("id", BUILTIN.id.tolist())
def test_every_metric_is_computable(id: str) -> None:
    m = kpikit.metric(id)
    if m.function.startswith("formulas."):
        assert callable(getattr(kpikit.formulas, m.function.split(".", 1)[1]))
        return
    out = _result(m.function)
    assert m.column in out.columns, f"{m.function} has no column {m.column!r}"
    for key, value in m.select.items():
        out = out[out[key] == value]
    assert len(out) > 0
    values = out[m.column]
    assert values.notna().any(), f"{id}: no value on the demo company"


SMALL = kpikit.Sources.demo(scale=0.05)
SMALL_RESULTS: dict[tuple[str, str], Any] = {}


def _columns_of(m: Any, function: str) -> set[str]:
    """The columns of ``function``'s result on the small demo company, run the way the
    scorecard runs it (the catalog's recipe), or for a formula the name of its series."""
    if function.startswith("formulas."):
        f = getattr(kpikit.formulas, function.split(".", 1)[1])
        required = [n for n, p in inspect.signature(f).parameters.items() if p.default is p.empty]
        return {f(**{n: pd.Series([4.0, 2.0]) for n in required}).name}
    return set(compute(SMALL, function, m.cadence, SMALL_RESULTS, needed_by=m.id).columns)


COMPUTED = [i for i in BUILTIN.id if kpikit.metric(i).recipe is not None or kpikit.metric(i).function.startswith("formulas.")]


@pytest.mark.parametrize("id", COMPUTED)
def test_the_catalog_names_columns_the_results_have(id: str) -> None:
    # The catalog, not Python, maps an id to the column carrying its value (user_retention_rate
    # → rate, visitors → converted of the first step…); every name it gives must exist.
    m = kpikit.metric(id)
    columns = _columns_of(m, m.function)
    assert m.column in columns, f"{m.function} has no column {m.column!r}"
    assert set(m.select) <= columns
    if m.interval is not None:
        assert set(m.interval) <= columns
    if m.counts is not None:
        assert {m.counts.numerator, m.counts.denominator} <= _columns_of(m, m.counts.function or m.function)


def test_recipes_cover_the_scorecards_functions_and_formulas_name_their_series() -> None:
    assert len(COMPUTED) >= 50
    with_recipe = {kpikit.metric(i).function for i in COMPUTED if kpikit.metric(i).recipe is not None}
    assert with_recipe == {"revenue_metrics", "mrr_movements", "deal_metrics", "lead_metrics", "support_metrics",
                           "nps", "csat", "funnel_from_stages", "active_users"}
    # A formula's value is its series, named like the formula: 12 ids that are their column.
    margin = kpikit.formulas.gross_margin(pd.Series([10.0]), cogs=pd.Series([4.0])).to_frame()
    assert kpikit.metric("gross_margin").values(margin).tolist() == [0.6]
    different = [i for i in BUILTIN.id if kpikit.metric(i).column != i]
    assert len(different) == 12, different


def test_every_public_metric_function_has_definitions() -> None:
    table_functions = set(CALLS)
    defined = set(BUILTIN.function)
    assert table_functions <= defined, table_functions - defined
    # Each of those is a public function of kpikit.
    assert all(f in kpikit.__all__ for f in table_functions)


def test_filters_and_lookup() -> None:
    retail = kpikit.catalog(industry="retail")
    assert {"inventory_turnover", "sales_per_square_foot"} <= set(retail.id)
    assert set(kpikit.catalog(stage="awareness").stage) == {"awareness"}
    assert set(kpikit.catalog(direction="decrease").direction) == {"decrease"}
    with pytest.raises(kpikit.ParameterError, match="net_revenue_retention"):
        kpikit.metric("net_revenue_retension")


def test_user_metrics_behave_like_builtins() -> None:
    m = kpikit.register_metric(
        "mrr_per_open_ticket", name="MRR per open ticket", formula="mrr / backlog", expression="mrr / backlog",
        unit="currency", direction="increase", department="support", stage="retention",
    )
    assert "mrr_per_open_ticket" in set(kpikit.catalog().id)
    assert kpikit.metric("mrr_per_open_ticket") == m and not m.builtin
    frame = pd.DataFrame({"period": pd.date_range("2026-01-01", periods=3, freq="MS"), "mrr": [100.0, 120.0, 150.0], "backlog": [10, 10, 10]})
    frame["mrr_per_open_ticket"] = m.values(frame)
    # The KPI takes its direction (increase) from the user's definition: 15 ≥ 12 is met.
    r = kpikit.KPI("mrr_per_open_ticket", target=12.0).evaluate(frame)
    assert r.status.tolist() == ["behind", "on_track", "on_track"]
    with pytest.raises(kpikit.ParameterError, match="dollars"):
        kpikit.register_metric("x", name="x", formula="x", expression="a", unit="dollars", direction="increase", department="finance")
    with pytest.raises(kpikit.ParameterError, match="already a metric"):
        kpikit.register_metric("mrr", name="x", formula="x", expression="a", unit="currency", direction="increase", department="finance")


def test_kpi_direction_comes_from_the_catalog() -> None:
    # Churn's catalog direction is decrease: with a target above the first value, inference
    # from the start would say increase; the catalog says otherwise.
    h = pd.DataFrame({"period": pd.date_range("2026-01-01", periods=2, freq="MS"), "customer_churn_rate": [0.01, 0.015]})
    r = kpikit.KPI("customer_churn_rate", target=0.02).evaluate(h)
    assert r.status.tolist() == ["on_track", "on_track"]
    assert r.improved[1] == False  # noqa: E712 - a numpy bool is not the False singleton (churn went up)
