"""Catalog integrity: every definition is computable by the function it names and lands in the
column it names; every public metric function has definitions; user metrics behave like
built-ins; every metric the seed articles name is found, by its id, name or an alias, and is
computable."""

from __future__ import annotations

import csv
import inspect
import re
from collections.abc import Callable
from pathlib import Path
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
    # A one-step funnel counting every event: how count metrics (page views, visits…) are computed.
    "funnel": lambda: kpikit.funnel(DEMO.events, user="user_id", time="time", steps=["login"], count="totals", freq="month"),
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
    # A formula's value is its series, named like the formula: 12 ids that are their column, and
    # 18 more whose formula (growth_rate, roll_forward…) or count (funnel's converted) is shared.
    margin = kpikit.formulas.gross_margin(pd.Series([10.0]), cogs=pd.Series([4.0])).to_frame()
    assert kpikit.metric("gross_margin").values(margin).tolist() == [0.6]
    different = [i for i in BUILTIN.id if kpikit.metric(i).column != i]
    assert len(different) == 30, different


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


# The metrics the five seed articles (the project's reference reading) name: the seed file,
# the words as written, the name looked up (a qualifier such as "quarterly" or "sales-generated"
# left out, the singular) and the catalog id it must lead to.
SEEDS = list(csv.DictReader((Path(__file__).parent / "seed_metrics.csv").read_text(encoding="utf-8").splitlines()))
# Added with the revenue efficiency metrics (magic number, burn multiple) on their own branch.
ELSEWHERE = {"capital_efficiency"}


def test_the_seed_list_covers_every_seed() -> None:
    assert {r["seed"] for r in SEEDS} == {"000_c7d1c30dcddc812b.txt", "001_3fc1cf1b4b12cd3d.txt",
                                          "002_5711b4183edbbbc0.txt", "003_16bdf51313dd18bd.txt",
                                          "004_013ed689a5ec5b50.txt"}
    assert len(SEEDS) == 127 and len({r["metric"] for r in SEEDS}) == 81
    # Eighteen the catalog lacked before aliases and the new entries, among them:
    ids = {r["metric"] for r in SEEDS}
    assert {"social_media_engagement_rate", "capital_expenditure", "share_ratio", "time_on_site",
            "market_penetration_rate", "employee_turnover_rate", "page_views", "market_growth_rate",
            "project_completion_rate", "server_uptime", "employee_engagement_score", "production_output",
            "defect_rate", "revenue_growth_rate", "sales_efficiency", "email_subscribers",
            "webinar_attendance", "memberships_sold"} <= ids


@pytest.mark.parametrize("row", SEEDS, ids=[f"{r['seed'][:3]}-{r['name']}" for r in SEEDS])
def test_every_seed_metric_is_found_and_computable(row: dict[str, str]) -> None:
    if row["metric"] in ELSEWHERE and row["metric"] not in set(BUILTIN.id):
        pytest.skip(f"{row['metric']} comes with the revenue efficiency metrics")
    m = kpikit.metric(row["name"])
    assert m.id == row["metric"], f"{row['name']!r} ({row['seed']}) found {m.id}"
    if m.function.startswith("formulas."):
        assert m.function.split(".", 1)[1] in kpikit.formulas.__all__
        assert m.column == m.function.split(".", 1)[1]
    else:
        # Computed by a table function on the demo company (test_every_metric_is_computable).
        assert m.function in CALLS and m.column in _result(m.function).columns


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def test_ids_names_and_aliases_are_unique() -> None:
    # The core refuses a catalog otherwise; checked here on what Python reads.
    owner: dict[str, str] = {}
    for m in kpikit.catalog().query("builtin").itertuples():
        for text in {_key(m.id), _key(m.name), *map(_key, m.aliases)}:
            assert owner.setdefault(text, m.id) == m.id, f"{text!r}: {owner[text]} and {m.id}"
    assert len(owner) > 250


def test_aliases_resolve_everywhere_a_metric_id_is_taken(tmp_path: Path) -> None:
    from kpikit.catalog import resolve

    assert resolve("Visitor-to-Signup Rate") == resolve("visitor_to_signup_rate") == "visitor_signup_rate"
    assert [kpikit.metric(n).id for n in ("logo churn", "ARPU", "NRR", "Revenue growth rate", "CLV")] == [
        "customer_churn_rate", "arpa", "net_revenue_retention", "revenue_growth_rate", "ltv"]
    assert "logo churn" in kpikit.metric("customer_churn_rate").aliases
    assert kpikit.catalog().set_index("id").loc["visitors", "aliases"][:2] == ["website traffic", "traffic"]
    # A KPI names the metric by its id; its direction is the catalog's (churn: decrease).
    kpi = kpikit.KPI("logo churn", target=0.02)
    assert kpi.metric == "customer_churn_rate" and kpi == kpikit.KPI("customer_churn_rate", target=0.02)
    h = pd.DataFrame({"period": pd.date_range("2026-01-01", periods=2, freq="MS"), "customer_churn_rate": [0.01, 0.015]})
    assert kpi.evaluate(h).status.tolist() == ["on_track", "on_track"]
    # A history holding the values under the name given still works.
    assert kpikit.KPI("Churn rate", target=0.02).evaluate(h.rename(columns={"customer_churn_rate": "Churn rate"})).value.tolist() == [0.01, 0.015]
    # A metric outside the catalog stays as given.
    assert kpikit.KPI("my_own_ratio", target=1.0).metric == "my_own_ratio"
    # Specs: the README's spec with its churn KPI named by an alias.
    spec = (Path(__file__).resolve().parents[2] / "README.md").read_text().split(
        "## The report: from a spec file to one HTML page", 1)[1]
    toml = re.search(r"```toml\n(.*?)```", spec, flags=re.S).group(1)  # type: ignore[union-attr]
    assert 'metric = "customer_churn_rate"' in toml
    DEMO.subscriptions.to_parquet(tmp_path / "subscriptions.parquet")
    DEMO.responses.rename(columns={"time": "answered_at"}).to_csv(tmp_path / "nps.csv", index=False)
    (tmp_path / "kpis.toml").write_text(toml.replace('metric = "customer_churn_rate"', 'metric = "logo churn"'))
    loaded = kpikit.load_spec(tmp_path / "kpis.toml")
    churn = next(k for k in loaded.scorecard.kpis if k.label == "Customer churn")
    assert churn.metric == "customer_churn_rate"
    (tmp_path / "kpis.toml").write_text(toml.replace('metric = "customer_churn_rate"', 'metric = "logo chrun"'))
    with pytest.raises(kpikit.ParameterError, match=r"'logo chrun' is not a catalog metric; did you mean 'logo churn' \(customer_churn_rate\)"):
        kpikit.load_spec(tmp_path / "kpis.toml")


def test_unknown_names_list_close_ids_and_aliases() -> None:
    with pytest.raises(kpikit.ParameterError, match=r"'ARPUU' is not a metric of the catalog; did you mean 'ARPU' \(arpa\)"):
        kpikit.metric("ARPUU")
    with pytest.raises(kpikit.ParameterError, match=r"did you mean 'employee_turnover_rate'"):
        kpikit.metric("employee_turnover_rte")
    with pytest.raises(kpikit.ParameterError, match=r"see kpikit\.catalog"):
        kpikit.metric("zzzz")
    # An alias cannot become a user metric's id: lookups lead to the built-in.
    with pytest.raises(kpikit.ParameterError, match="already a name of the catalog metric 'customer_churn_rate'"):
        kpikit.register_metric("logo_churn", name="x", formula="x", expression="a", unit="fraction",
                               direction="decrease", department="finance")


def test_count_metrics_count_every_row_of_the_table_described() -> None:
    # Page views: one row per view. 2 March: 3 views (two by visitor 1), 3 March: 1 view.
    views = pd.DataFrame({
        "visitor": [1, 1, 2, 3],
        "viewed_at": pd.to_datetime(["2026-03-02 09:00", "2026-03-02 09:05", "2026-03-02 18:00", "2026-03-03 08:00"]).tz_localize("UTC"),
        "event": "page_view",
    })
    m = kpikit.metric("page views")
    assert (m.function, m.column) == ("funnel", "converted")
    out = kpikit.funnel(views, user="visitor", time="viewed_at", steps=["page_view"], count="totals", freq="day")
    assert out[m.column].tolist() == [3, 1]


def test_new_formula_metrics_compute_their_catalog_formula() -> None:
    # Hand-worked: the entry's function over named inputs, read from the series it names.
    cases = {
        "revenue_growth_rate": ((pd.Series([200.0, 230.0]),), [None, 0.15]),  # (230 - 200) / 200
        "server_uptime": ((43.2, 43_200.0), 0.999),  # 1 - 43.2 / 43200
        "employee_retention_rate": ((40.0, 41.0, 5.0), 0.9),  # (41 - 5) / 40
        "email_subscribers": ((5_000.0, 400.0, 150.0), 5_250.0),  # 5000 + 400 - 150
        "time_on_page": ((5_400.0, 120.0), 45.0),  # 5400 s / 120 page views
        "market_share": ((3.0, 60.0), 0.05),  # 3 / 60
    }
    for id, (args, want) in cases.items():
        m = kpikit.metric(id)
        got = getattr(kpikit.formulas, m.function.split(".", 1)[1])(*args)
        if isinstance(got, pd.Series):
            assert got.name == m.column
            got = [None if pd.isna(v) else v for v in got]
            assert got == pytest.approx(want), id
        else:
            assert got == pytest.approx(want, rel=1e-12), id
