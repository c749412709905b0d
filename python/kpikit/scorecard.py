"""Scorecards: many KPIs evaluated over one bundle of sources, rendered for a notebook.

:class:`Sources` names the tables of a company and the columns of each role; a
:class:`Scorecard` computes every KPI's metric history with the catalog's function (each
function once per cadence), judges it (:class:`kpikit.KPI`) and returns a
:class:`ScorecardResult` that renders as an HTML table with status colours and sparklines.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from .catalog import metric
from .exceptions import ParameterError
from .kpi import KPI

__all__ = ["Sources", "Scorecard", "ScorecardResult"]

_PERIOD = {
    "day": pd.DateOffset(days=1),
    "week": pd.DateOffset(weeks=1),
    "month": pd.DateOffset(months=1),
    "quarter": pd.DateOffset(months=3),
    "year": pd.DateOffset(years=1),
}

_STATUS_COLOURS = {
    "achieved": "#2b8a3e",
    "on_track": "#37b24d",
    "at_risk": "#f59f00",
    "behind": "#e03131",
    "overdue": "#c92a2a",
    "no_data": "#868e96",
    "not_started": "#adb5bd",
}


@dataclass(frozen=True)
class Sources:
    """A company's tables and, for each, which column plays which role.

    Each role is ``(table, columns)``; the roles and their column keys:

    * ``subscriptions``: customer, period, mrr (snapshots) — or customer, start, end, amount,
      interval (subscriptions)
    * ``spend``: time, amount
    * ``deals``: deal, owner, created, closed, amount, won
    * ``leads``: stages (list of stage timestamp columns, first = entry), window (the funnel's
      conversion window, e.g. ``"90d"``: a cohort's rates count once it has closed), created,
      qualified, converted, revenue
    * ``responses``: score, time (NPS answers, 0–10)
    * ``tickets``: opened, resolved, first_response, handle_seconds, csat (1–5)
    * ``events``: user, time (product events, for active users and DAU/MAU)

    >>> import kpikit
    >>> s = kpikit.Sources.demo(scale=0.05)
    >>> sorted(s.roles())
    ['deals', 'events', 'leads', 'responses', 'spend', 'subscriptions', 'tickets']
    """

    subscriptions: tuple[Any, Mapping[str, Any]] | None = None
    spend: tuple[Any, Mapping[str, Any]] | None = None
    deals: tuple[Any, Mapping[str, Any]] | None = None
    leads: tuple[Any, Mapping[str, Any]] | None = None
    responses: tuple[Any, Mapping[str, Any]] | None = None
    tickets: tuple[Any, Mapping[str, Any]] | None = None
    events: tuple[Any, Mapping[str, Any]] | None = None

    def roles(self) -> list[str]:
        """The roles this bundle has."""
        return [r for r in ("subscriptions", "spend", "deals", "leads", "responses", "tickets", "events") if getattr(self, r) is not None]

    def data_end(self) -> pd.Timestamp | None:
        """The latest date any source reaches (naive, UTC): the last day of the latest
        snapshot or spend period (``period``/``time`` columns of month starts count as the whole
        month), or the latest event time."""
        latest: list[pd.Timestamp] = []
        for role in self.roles():
            table, cols = getattr(self, role)
            names = [v for k, v in cols.items() if k in ("period", "time", "created", "closed", "opened", "resolved", "start", "end")]
            names += list(cols.get("stages", []))
            for name in names:
                col = _column(table, name)
                if col is None:
                    continue
                t = pd.to_datetime(col, errors="coerce", utc=True).max()
                if t is pd.NaT or t != t:
                    continue
                t = t.tz_convert(None)
                # A month start in a period column stands for the whole month.
                if role in ("subscriptions", "spend") and t == t.normalize() and t.day == 1:
                    t = t + pd.offsets.MonthEnd(0)
                latest.append(t)
        return max(latest) if latest else None

    def get(self, role: str, needed_by: str) -> tuple[Any, Mapping[str, Any]]:
        found = getattr(self, role, None)
        if found is None:
            raise ParameterError(f"{needed_by} needs the {role!r} source, which this bundle does not have")
        return found

    @classmethod
    def demo(cls, seed: int = 0, scale: float = 1.0) -> Sources:
        """The built-in demo company with its column roles. Each lead's revenue is the amount of
        its customer's won deals (the demo's CRM links leads to customers)."""
        from .datasets import demo

        d = demo(seed=seed, scale=scale)
        won = d.deals[d.deals["won"].astype("boolean").fillna(False)]
        revenue = won.groupby("customer_id")["amount"].sum()
        leads = d.leads.assign(revenue=d.leads["customer_id"].map(revenue).fillna(0.0))
        return cls(
            subscriptions=(d.subscriptions, {"customer": "customer_id", "period": "month", "mrr": "mrr"}),
            spend=(d.spend, {"time": "month", "amount": "amount"}),
            deals=(d.deals, {"deal": "deal_id", "owner": "owner", "created": "created", "closed": "closed", "amount": "amount", "won": "won"}),
            leads=(leads, {"stages": ["visited_at", "signed_up_at", "pql_at", "customer_at"], "window": "90d",
                           "created": "visited_at",
                           "qualified": "pql_at", "converted": "customer_at", "revenue": "revenue"}),
            responses=(d.responses, {"score": "score", "time": "time"}),
            tickets=(d.tickets, {"opened": "opened", "resolved": "resolved", "first_response": "first_response",
                                 "handle_seconds": "handle_seconds", "csat": "csat"}),
            events=(d.events, {"user": "user_id", "time": "time"}),
        )


def _column(table: Any, name: str) -> pd.Series | None:
    """One column of a pandas, polars or pyarrow table as a pandas Series (None when absent)."""
    names = table.columns if isinstance(table, pd.DataFrame) else getattr(table, "column_names", None)
    if names is None:
        names = getattr(table, "columns", [])
    if name not in list(names):
        return None
    if isinstance(table, pd.DataFrame):
        return table[name]
    if hasattr(table, "column_names"):  # pyarrow
        return table.column(name).to_pandas()
    return table[name].to_pandas()  # polars


def _pick(columns: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: columns[k] for k in keys if k in columns}


# How each catalog function is computed from a bundle, per period of `freq`.
def _revenue_metrics(s: Sources, freq: str) -> Any:
    from .revenue import revenue_metrics

    table, cols = s.get("subscriptions", "revenue_metrics")
    kw = _pick(cols, "customer", "period", "mrr", "started", "ended", "amount", "interval")
    kw.update({new: cols[old] for old, new in (("start", "started"), ("end", "ended")) if old in cols})
    if s.spend is not None:
        spend, sc = s.spend
        kw.update(spend=spend, spend_time=sc.get("time", "month"), spend_amount=sc.get("amount", "amount"))
    return revenue_metrics(table, freq=freq, output="pandas", **kw)


def _mrr_movements(s: Sources, freq: str) -> Any:
    from .revenue import mrr_movements

    table, cols = s.get("subscriptions", "mrr_movements")
    kw = _pick(cols, "customer", "period", "mrr", "started", "ended", "amount", "interval")
    kw.update({new: cols[old] for old, new in (("start", "started"), ("end", "ended")) if old in cols})
    return mrr_movements(table, freq=freq, output="pandas", **kw)


def _deal_metrics(s: Sources, freq: str) -> Any:
    from .sales import deal_metrics

    table, cols = s.get("deals", "deal_metrics")
    return deal_metrics(table, freq=freq, output="pandas", **_pick(cols, "deal", "created", "closed", "amount", "won"))


def _lead_metrics(s: Sources, freq: str) -> Any:
    from .sales import lead_metrics

    table, cols = s.get("leads", "lead_metrics")
    return lead_metrics(table, freq=freq, output="pandas", **_pick(cols, "created", "qualified", "converted", "revenue"))


def _support_metrics(s: Sources, freq: str) -> Any:
    from .sales import support_metrics

    table, cols = s.get("tickets", "support_metrics")
    return support_metrics(table, freq=freq, unit="hours", output="pandas", **_pick(cols, "opened", "resolved", "first_response", "handle_seconds"))


def _nps(s: Sources, freq: str) -> Any:
    from .survey import nps

    import warnings

    from .exceptions import SkippedRowsWarning

    table, cols = s.get("responses", "nps")
    with warnings.catch_warnings():
        # Off-scale scores are reported by the source's integrity check (kpikit.check), which the
        # scorecard and the report show next to the KPIs they affect.
        warnings.simplefilter("ignore", SkippedRowsWarning)
        return nps(table, score=cols["score"], time=cols["time"], freq=freq, invalid="skip", output="pandas")


def _csat(s: Sources, freq: str) -> Any:
    from .survey import csat

    import pyarrow as pa
    import pyarrow.compute as pc

    from ._convert import table_input

    table, cols = s.get("tickets", "csat")
    # Most tickets are never rated: an unrated ticket is no answer, not a bad one.
    tickets = pa.table(table_input(table, [cols["csat"], cols["opened"]]))
    rated = tickets.filter(pc.is_valid(tickets[cols["csat"]]))
    return csat(rated, score=cols["csat"], time=cols["opened"], freq=freq, invalid="skip", output="pandas")


def _funnel_from_stages(s: Sources, freq: str) -> Any:
    from .funnel import funnel_from_stages

    table, cols = s.get("leads", "funnel_from_stages")
    return funnel_from_stages(table, stages=list(cols["stages"]), window=cols.get("window"), freq=freq, output="pandas")


def _active_users(s: Sources, freq: str) -> Any:
    from .activity import active_users

    table, cols = s.get("events", "active_users")
    return active_users(table, user=cols["user"], time=cols["time"], freq=freq, output="pandas")


# The counts behind each rate: (numerator, denominator) columns, and the function whose output
# holds them when it is not the metric's own. With them a KPI gets its Wilson interval and the
# significance of its change.
_COUNTS: dict[str, tuple[tuple[str, str], str | None]] = {
    "visitor_signup_rate": (("converted", "entered"), None),
    "signup_pql_rate": (("converted", "entered"), None),
    "pql_customer_rate": (("converted", "entered"), None),
    "lead_conversion_rate": (("converted_leads", "leads"), None),
    "customer_churn_rate": (("churned_customers", "starting_customers"), "mrr_movements"),
    "csat": (("satisfied", "responses"), None),
    "win_rate": (("deals_won", "deals_closed"), None),
    "close_rate": (("deals_won", "deals_created"), None),
}

# Metrics whose function reports its own 95 % interval (not a proportion: no Wilson interval).
_INTERVALS: dict[str, tuple[str, str]] = {"nps": ("nps_ci_low", "nps_ci_high")}

_RECIPES: dict[str, Callable[[Sources, str], Any]] = {
    "active_users": _active_users,
    "revenue_metrics": _revenue_metrics,
    "mrr_movements": _mrr_movements,
    "deal_metrics": _deal_metrics,
    "lead_metrics": _lead_metrics,
    "support_metrics": _support_metrics,
    "nps": _nps,
    "csat": _csat,
    "funnel_from_stages": _funnel_from_stages,
}


def _metric_history(
    sources: Sources,
    metric_id: str,
    freq: str,
    cutoff: pd.Timestamp | None,
    cache: dict[tuple[str, str], Any],
    *,
    needed_by: str,
    counts: tuple[str, str] | None = None,
    counts_from: str | None = None,
) -> pd.DataFrame:
    """A catalog metric's history from ``sources``: ``period`` and the metric's id, one row
    per complete period (ending by ``cutoff``). Each catalog function runs once per ``freq``
    (``cache``). ``counts`` = (numerator, denominator) columns of the function's output (of
    ``counts_from``'s output, when the counts come from another function with the same
    periods) are added as ``numerator`` and ``denominator``."""
    m = metric(metric_id)

    def run(function: str) -> Any:
        recipe = _RECIPES.get(function)
        if recipe is None:
            raise ParameterError(f"{needed_by}: metric {m.id!r} is computed by {function}, which cannot run from sources yet")
        if (function, freq) not in cache:
            cache[(function, freq)] = recipe(sources, freq)
        out = cache[(function, freq)]
        for column, value in m.select.items():
            out = out[out[column] == value]
        return out

    out = run(m.function)
    # A conversion cohort whose window has not elapsed yet is still converting: its rates, later
    # steps and times to convert are not final, so only complete cohorts count (entries are).
    first_step_only = "step" in out.columns and bool((out["step"] == 1).all())
    if "complete" in out.columns and not first_step_only and out["complete"].notna().any():
        out = out[out["complete"].fillna(False).astype(bool)]
    history = pd.DataFrame({"period": pd.to_datetime(out["period"]).to_numpy(), m.id: m.values(out).astype(float).to_numpy()})
    if counts is not None:
        src = out if counts_from is None else run(counts_from)
        by_period = src.assign(period=pd.to_datetime(src["period"])).set_index("period")
        for name, column in zip(("numerator", "denominator"), counts):
            history[name] = history["period"].map(by_period[column]).astype(float).to_numpy()
    interval = _INTERVALS.get(m.id)
    if interval is not None:
        by_period = out.assign(period=pd.to_datetime(out["period"])).set_index("period")
        for name, column in zip(("ci_low", "ci_high"), interval):
            history[name] = history["period"].map(by_period[column]).astype(float).to_numpy()
    if cutoff is not None:
        ends = history["period"] + _PERIOD[freq]
        history = history[ends <= cutoff].reset_index(drop=True)
    return history


@dataclass
class ScorecardResult:
    """The evaluated scorecard: one row per KPI for the latest period, plus every history."""

    rows: pd.DataFrame
    histories: dict[str, pd.DataFrame]
    north_star: str | None = None
    notes: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per KPI: kpi, metric, owner, cadence, period, value, previous, change,
        improved, target, attainment, status, unit, ci_low, ci_high (the 95 % interval of the
        value, where the metric has one), significant (the change is significant at 5 %; null
        without counts), anomaly (a sudden spike or drop), north_star, and with ``checks``
        data_check (failed, warning or ok)."""
        return self.rows.copy()

    def _repr_html_(self) -> str:
        return _render_html(self)


@dataclass(frozen=True)
class Scorecard:
    """Many KPIs evaluated together over one bundle of sources.

    Each KPI's metric comes from the catalog (:func:`kpikit.metric`): its function is computed
    once per cadence over the sources, the metric's column (and rows, for long outputs) read as
    a history, and the KPI judged over it. ``north_star`` names the KPI that leads the card.

    >>> import kpikit
    >>> card = kpikit.Scorecard([kpikit.KPI("customer_churn_rate", target=0.03),
    ...                          kpikit.KPI("win_rate", target=0.25, cadence="quarter")])
    >>> result = card.evaluate(kpikit.Sources.demo(scale=0.05))
    >>> result.to_frame()[["kpi", "status"]].shape
    (2, 2)
    """

    kpis: Sequence[KPI]
    north_star: str | None = None

    def __post_init__(self) -> None:
        labels = [k.label for k in self.kpis]
        if len(set(labels)) != len(labels):
            raise ParameterError("Scorecard: two KPIs have the same name; give one of them name=")
        if self.north_star is not None and self.north_star not in labels:
            raise ParameterError(f"Scorecard: north_star {self.north_star!r} is not one of its KPIs")

    def evaluate(self, sources: Sources, *, as_of: Any = None, checks: Any = None) -> ScorecardResult:
        """Compute every KPI's history from ``sources`` and judge it.

        Only complete periods count: a period whose end is after ``as_of`` (default: the last
        day the sources reach, :meth:`Sources.data_end`) is left out, so a quarter that has
        run one month is not judged as if it were over.

        With ``checks`` (a :func:`kpikit.check` result for the same sources) each KPI gets
        ``data_check``: the worst status (failed, warning, ok) among the sources its metric
        reads, so a number built on failed data is marked rather than shown as healthy.
        """
        end = pd.Timestamp(as_of) if as_of is not None else sources.data_end()
        cutoff = None if end is None else end.normalize() + pd.Timedelta(days=1)
        computed: dict[tuple[str, str], Any] = {}
        rows = []
        histories: dict[str, pd.DataFrame] = {}
        for kpi in self.kpis:
            m = metric(kpi.metric)
            counts, counts_from = _COUNTS.get(m.id, (None, None))
            if kpi.numerator is not None:
                counts = None  # the KPI names its own count columns
            history = _metric_history(sources, m.id, kpi.cadence, cutoff, computed, needed_by=f"KPI {kpi.label!r}",
                                      counts=counts, counts_from=counts_from)
            if history.empty:
                raise ParameterError(f"KPI {kpi.label!r}: no complete {kpi.cadence} in the sources up to {end}")
            if counts is not None:
                kpi = replace(kpi, numerator="numerator", denominator="denominator")
            judged = kpi.evaluate(history, value=m.id)
            if "ci_low" in history and "ci_low" not in judged:
                judged = judged.merge(history[["period", "ci_low", "ci_high"]], on="period", how="left")
            histories[kpi.label] = judged
            last = judged.iloc[-1]
            previous = judged["value"].iloc[-2] if len(judged) > 1 else float("nan")
            target: Any = (float(last["target_low"]), float(last["target_high"])) if "target_low" in judged else float(last["target"])
            rows.append({
                "kpi": kpi.label, "metric": m.id, "owner": kpi.owner, "cadence": kpi.cadence,
                "period": last["period"], "value": last["value"], "previous": previous,
                "change": last["change"], "improved": last["improved"], "target": target,
                "attainment": last["attainment"], "status": last["status"], "unit": m.unit,
                "ci_low": last.get("ci_low", float("nan")), "ci_high": last.get("ci_high", float("nan")),
                "significant": last.get("significant", None), "anomaly": last.get("anomaly", None),
                "north_star": kpi.label == self.north_star,
                **({"data_check": _worst([checks.status(r) for r in m.inputs if r in sources.roles()])}
                   if checks is not None else {}),
            })
        frame = pd.DataFrame(rows)
        notes = {k.label: dict(k.notes) for k in self.kpis if k.notes}
        return ScorecardResult(frame, histories, self.north_star, notes)

    @classmethod
    def executive(cls, *, owner: str | None = None) -> Scorecard:
        """The executive set: decreasing churn, increasing deal size, growing qualified leads,
        net negative churn, revenue per lead, NPS and customer satisfaction, sales and capital
        efficiency (CAC payback and LTV:CAC).

        Targets are common SaaS benchmarks, each a documented choice you can replace with
        ``dataclasses.replace`` on the KPI: churn ≤ 2 % a month (at risk up to 2.5 %), net MRR
        churn ≤ 0, NPS ≥ 30, CSAT ≥ 80 %, CAC payback ≤ 12 months, LTV:CAC ≥ 3; deal size,
        qualified leads and revenue per lead are asked to grow (``target="previous"``: each
        period at least the one before). Net revenue retention ≥ 100 % is the north star.

        >>> import kpikit
        >>> [k.metric for k in kpikit.Scorecard.executive().kpis][:3]
        ['net_revenue_retention', 'customer_churn_rate', 'avg_deal_size']
        """
        k = lambda *a, **kw: KPI(*a, owner=owner, **kw)  # noqa: E731
        return cls(
            [
                k("net_revenue_retention", target=1.0, thresholds={"at_risk": 0.01}, name="Net revenue retention"),
                k("customer_churn_rate", target=0.02, thresholds={"at_risk": 0.005}, name="Customer churn"),
                k("avg_deal_size", target="previous", cadence="quarter", name="Average deal size"),
                k("qualified_leads", target="previous", name="Qualified leads"),
                k("net_mrr_churn_rate", target=0.0, direction="decrease", thresholds={"at_risk": 0.005}, name="Net negative churn"),
                k("revenue_per_lead", target="previous", cadence="quarter", name="Revenue per lead"),
                k("nps", target=30.0, cadence="quarter", thresholds={"at_risk": 5.0}, name="NPS"),
                k("csat", target=0.8, thresholds={"at_risk": 0.05}, name="Customer satisfaction"),
                k("cac_payback_months", target=12.0, thresholds={"at_risk": 3.0}, name="CAC payback"),
                k("ltv_cac", target=3.0, thresholds={"at_risk": 0.5}, name="LTV:CAC"),
            ],
            north_star="Net revenue retention",
        )


def _worst(statuses: Sequence[str]) -> str:
    """The worst of data-check statuses: failed, then warning, then ok."""
    for level in ("failed", "warning"):
        if level in statuses:
            return level
    return "ok"


def _format(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, tuple):
        return " – ".join(_format(v, unit) for v in value)
    if unit == "fraction":
        # One decimal, unless rounding would hide a difference that matters: 99.994 % is not
        # 100 %, and 0.04 % churn is not 0 %.
        digits = 1
        while digits < 4 and float(f"{100 * value:.{digits}f}") in (0.0, 100.0, -100.0) and round(100 * value, 9) not in (0.0, 100.0, -100.0):
            digits += 1
        return f"{100 * value:.{digits}f} %"
    if unit in ("currency", "currency_per_day"):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"  # cents matter below 100
    if unit in ("ratio", "months", "days", "hours"):
        return f"{value:.2f}"
    if unit == "score":
        return f"{value:+.0f}"
    if unit == "flag":
        return "yes" if value else "no"
    return f"{value:,.0f}"


def _sparkline(values: Sequence[float], colour: str, width: int = 110, height: int = 24) -> str:
    points = [(i, v) for i, v in enumerate(values) if v == v]
    if len(points) < 2:
        return ""
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)
    xy = " ".join(f"{2 + (width - 4) * i / n:.1f},{height - 2 - (height - 4) * (v - lo) / span:.1f}" for i, v in points)
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{xy}"/></svg>'
    )


def _true(x: Any) -> bool:
    # pd.NA first: `NA == NA` is NA, whose truth value raises.
    return bool(x is not None and x is not pd.NA and x == x and x)


def _render_html(result: ScorecardResult) -> str:
    head = "".join(f"<th style='text-align:left;padding:4px 8px'>{h}</th>" for h in
                   ["KPI", "owner", "period", "value", "target", "change", "status", "trend"])
    body = []
    rows = result.rows
    if len(rows) and rows["north_star"].any():  # the north star leads the card
        rows = pd.concat([rows[rows["north_star"]], rows[~rows["north_star"]]])
    for r in rows.itertuples(index=False):
        colour = _STATUS_COLOURS.get(r.status, "#868e96")
        changed = r.change == r.change and r.change != 0
        arrow = "" if not changed else ("▲" if r.change > 0 else "▼")
        tone = "#2b8a3e" if r.improved is True else "#e03131" if r.improved is False else "#868e96"
        if changed and r.significant is not None and r.significant == r.significant and r.significant is not pd.NA:
            arrow += (" <span title='significant at 5 % (two-proportion z-test)'>significant</span>" if r.significant
                      else " <span style='color:#868e96' title='within noise (two-proportion z-test, 5 %)'>n.s.</span>")
        star = " <span title='north star'>★</span>" if r.north_star else ""
        target = _format(r.target, r.unit)
        history = result.histories[r.kpi]["value"].tolist()
        period = pd.Timestamp(r.period).strftime("%Y-%m") if r.period == r.period else "–"
        note = result.notes.get(r.kpi, {}).get(period, "")
        note_html = f"<div style='color:#495057;font-size:85%'>✎ {html.escape(note)}</div>" if note else ""
        ci = ""
        if r.ci_low == r.ci_low and r.ci_high == r.ci_high:
            ci = f"<div style='color:#868e96;font-size:80%'>95 % CI {_format(r.ci_low, r.unit)} – {_format(r.ci_high, r.unit)}</div>"
        anomaly = (" <span style='color:#c92a2a' title='sudden spike or drop: modified z-score over the trailing periods "
                   "above 3.5'>⚠ anomaly</span>") if _true(r.anomaly) else ""
        check = ""
        if "data_check" in rows.columns and isinstance(getattr(r, "data_check"), str) and r.data_check == "failed":
            check = " <span style='color:#c92a2a' title='a source of this KPI failed its data check'>⚠ data check failed</span>"
        weight = "font-size:110%;background:#f8f9fa" if r.north_star else ""
        body.append(
            f"<tr style='border-top:1px solid #e9ecef;{weight}'>"
            f"<td style='padding:4px 8px'><b>{html.escape(r.kpi)}</b>{star}{note_html}</td>"
            f"<td style='padding:4px 8px'>{html.escape(r.owner if isinstance(r.owner, str) else '')}</td>"
            f"<td style='padding:4px 8px'>{period}</td>"
            f"<td style='padding:4px 8px;text-align:right'>{_format(r.value, r.unit)}{ci}</td>"
            f"<td style='padding:4px 8px;text-align:right'>{target}</td>"
            f"<td style='padding:4px 8px;color:{tone}'>{arrow}{anomaly}</td>"
            f"<td style='padding:4px 8px'><span style='background:{colour};color:white;border-radius:3px;padding:1px 6px'>"
            f"{r.status.replace('_', ' ')}</span>{check}</td>"
            f"<td style='padding:4px 8px'>{_sparkline(history, colour)}</td>"
            "</tr>"
        )
    return f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
