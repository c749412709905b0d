"""Scorecards: many KPIs evaluated over one bundle of sources, rendered for a notebook.

A :class:`Scorecard` computes every KPI's metric history over a :class:`kpikit.Sources`
bundle with the catalog's function and recipe (each function once per cadence), judges it
(:class:`kpikit.KPI`) and returns a :class:`ScorecardResult` that renders as an HTML table
with status colours and sparklines.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from ._history import metric_history, missing_columns
from ._render import STATUS_COLOURS, check_currency, format_value, is_true, period_label, records, sparkline
from .catalog import metric
from .exceptions import ParameterError
from .kpi import KPI
from .sources import Sources

__all__ = ["Scorecard", "ScorecardResult"]

@dataclass
class ScorecardResult:
    """The evaluated scorecard: one row per KPI for the latest period, plus every history."""

    rows: pd.DataFrame
    histories: dict[str, pd.DataFrame]
    north_star: str | None = None
    notes: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Each KPI's periods after its last complete one (period, value): shown as incomplete, never judged.
    incomplete: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: The ISO code money is shown in (None: amounts without a symbol).
    currency: str | None = None
    as_of: pd.Timestamp | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per KPI: kpi, metric, owner, cadence, period, period_label (the period as
        people read it: "Q3 2026", "Oct 2026"), value, previous, change, improved, target,
        target_rule (value, range, or previous: the period before), attainment, status, unit,
        ci_low, ci_high (the 95 % interval of the value, where the
        metric has one), significant (the change is significant at 5 %; null without counts),
        anomaly (a sudden spike or drop), north_star, reason (why a KPI has no data),
        incomplete_period and incomplete_value (the latest period that is not complete yet,
        and its value so far: never judged), and with ``checks`` data_check (failed, warning
        or ok)."""
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
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ParameterError(f"Scorecard: two KPIs have the same name {twice[0]!r}; give one of them name=")
        if self.north_star is not None and self.north_star not in labels:
            raise ParameterError(f"Scorecard: north_star {self.north_star!r} is not one of its KPIs")

    def evaluate(self, sources: Sources, *, as_of: Any = None, checks: Any = None, currency: str | None = None) -> ScorecardResult:
        """Compute every KPI's history from ``sources`` and judge it.

        Only complete periods are judged: a period whose end is after ``as_of`` (default: the
        last day the sources reach, :meth:`Sources.data_end`), or a cohort of leads whose
        conversion window has not closed by then, is kept aside as incomplete (its value so far
        is shown, never a status, change, significance or anomaly), so a quarter that has run
        one month is not judged as if it were over.

        A KPI whose source the bundle lacks, or without any complete period, has status
        ``no_data`` and a ``reason``. With ``checks`` (a :func:`kpikit.check` result for the
        same sources) each KPI gets ``data_check``: the worst status (failed, warning, ok)
        among the sources its metric reads, so a number built on failed data is marked rather
        than shown as healthy. ``currency`` (an ISO code) is how money is shown.
        """
        code = check_currency(currency)
        end = pd.Timestamp(as_of) if as_of is not None else sources.data_end()
        cutoff = None if end is None else end.normalize() + pd.Timedelta(days=1)
        computed: dict[tuple[str, str], Any] = {}
        rows = []
        histories: dict[str, pd.DataFrame] = {}
        incomplete: dict[str, pd.DataFrame] = {}
        roles = set(sources.roles())
        declared = {role: getattr(sources, role)[1] for role in roles}
        for kpi in self.kpis:
            m = metric(kpi.metric)
            rule = "previous" if isinstance(kpi.target, str) else "range" if isinstance(kpi.target, tuple) else "value"
            base = {"kpi": kpi.label, "metric": m.id, "owner": kpi.owner, "cadence": kpi.cadence, "unit": m.unit,
                    "target_rule": rule, "north_star": kpi.label == self.north_star}
            if checks is not None:
                base["data_check"] = _worst([checks.status(r) for r in m.inputs if r in roles])
            lacking = [r for r in m.inputs if r not in roles]
            reason = (f"no {' or '.join(repr(r) for r in lacking)} source" if lacking else None)
            if reason is None and missing_columns(m.id, declared):
                function, role, key = missing_columns(m.id, declared)[0]
                reason = f"the {role!r} source declares no {key!r} column, which {function} needs"
            if reason is not None:
                rows.append(_no_data(kpi, base, reason))
                histories[kpi.label] = pd.DataFrame(columns=["period", "value", "status"])
                continue
            # The catalog's counts, unless the KPI names its own count columns.
            counts = m.counts is not None and kpi.numerator is None
            history = metric_history(sources, m.id, kpi.cadence, cutoff, computed, needed_by=f"KPI {kpi.label!r}",
                                     counts=counts, incomplete=True)
            done = history["complete"].to_numpy()
            last_done = history["period"][done].max() if done.any() else None
            tail = history[~done]
            if last_done is not None:
                tail = tail[tail["period"] > last_done]
            tail = tail[["period", m.id]].rename(columns={m.id: "value"}).reset_index(drop=True)
            incomplete[kpi.label] = tail
            partial = {"incomplete_period": tail["period"].iloc[-1] if len(tail) else pd.NaT,
                       "incomplete_value": float(tail["value"].iloc[-1]) if len(tail) else float("nan")}
            history = history[done].drop(columns="complete").reset_index(drop=True)
            if history.empty:
                by = f" by {end.day} {end:%b %Y}" if end is not None else ""
                rows.append(_no_data(kpi, {**base, **partial}, f"no complete {kpi.cadence}{by}"))
                histories[kpi.label] = pd.DataFrame(columns=["period", "value", "status"])
                continue
            if counts:
                kpi = replace(kpi, numerator="numerator", denominator="denominator")
            judged = kpi.evaluate(history, value=m.id)
            if "ci_low" in history and "ci_low" not in judged:
                judged = judged.merge(history[["period", "ci_low", "ci_high"]], on="period", how="left")
            histories[kpi.label] = judged
            last = judged.iloc[-1]
            previous = judged["value"].iloc[-2] if len(judged) > 1 else float("nan")
            target: Any = (float(last["target_low"]), float(last["target_high"])) if "target_low" in judged else float(last["target"])
            no_value = last["value"] != last["value"]
            rows.append({
                **base, "period": last["period"], "period_label": period_label(last["period"], kpi.cadence),
                "value": last["value"], "previous": previous,
                "change": last["change"], "improved": last["improved"], "target": target,
                "attainment": last["attainment"], "status": last["status"],
                "ci_low": last.get("ci_low", float("nan")), "ci_high": last.get("ci_high", float("nan")),
                "significant": last.get("significant", None), "anomaly": last.get("anomaly", None),
                "reason": f"no value for {period_label(last['period'], kpi.cadence)}" if no_value else None,
                **partial,
            })
        frame = pd.DataFrame(rows)
        frame["period"] = pd.to_datetime(frame["period"])
        notes = {k.label: dict(k.notes) for k in self.kpis if k.notes}
        return ScorecardResult(frame, histories, self.north_star, notes, incomplete, code, end)

    @classmethod
    def executive(cls, *, owner: str | None = None) -> Scorecard:
        """The executive set: decreasing churn, increasing deal size, growing qualified leads,
        net negative churn, revenue per lead, NPS and customer satisfaction, sales and capital
        efficiency (CAC payback, LTV:CAC and the SaaS magic number).

        Targets are common SaaS benchmarks, each a documented choice you can replace with
        ``dataclasses.replace`` on the KPI: churn ≤ 2 % a month (at risk up to 2.5 %), net MRR
        churn ≤ 0, NPS ≥ 30, CSAT ≥ 80 %, CAC payback ≤ 12 months, LTV:CAC ≥ 3, magic number
        ≥ 0.75 a quarter (at risk from 0.5); deal size,
        qualified leads and revenue per lead are asked to grow (``target="previous"``: each
        period at least the one before). Net revenue retention ≥ 100 % is the north star.
        Each KPI is owned by the role that answers for it (``owner=`` gives them all one owner).

        >>> import kpikit
        >>> [k.metric for k in kpikit.Scorecard.executive().kpis][:3]
        ['net_revenue_retention', 'customer_churn_rate', 'avg_deal_size']
        """
        def k(metric_id: str, **kw: Any) -> KPI:
            return KPI(metric_id, owner=owner or _OWNERS[metric_id], **kw)

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
                # The burn multiple would need net burn, which sources do not carry (spend is
                # sales and marketing only): the magic number stands for capital efficiency
                # (docs/conventions.md#sales-and-capital-efficiency).
                k("magic_number", target=0.75, cadence="quarter", thresholds={"at_risk": 0.25}, name="Magic number"),
            ],
            north_star="Net revenue retention",
        )


# Who answers for each executive KPI: the role whose work moves it.
_OWNERS = {
    "net_revenue_retention": "Head of Customer Success", "customer_churn_rate": "Head of Customer Success",
    "avg_deal_size": "Head of Sales", "qualified_leads": "Head of Marketing", "net_mrr_churn_rate": "CFO",
    "revenue_per_lead": "Head of Marketing", "nps": "Head of Customer Success", "csat": "Head of Support",
    "cac_payback_months": "CFO", "ltv_cac": "CFO", "magic_number": "CFO",
}


def _no_data(kpi: KPI, base: dict[str, Any], reason: str) -> dict[str, Any]:
    """The row of a KPI that has no data to judge: status ``no_data`` and why."""
    target: Any = (tuple(float(t) for t in kpi.target) if isinstance(kpi.target, tuple)
                   else float("nan") if isinstance(kpi.target, str) else float(kpi.target))
    return {"incomplete_period": pd.NaT, "incomplete_value": float("nan"), **base, "period": pd.NaT,
            "period_label": "–", "value": float("nan"), "previous": float("nan"), "change": float("nan"),
            "improved": None, "target": target, "attainment": float("nan"), "status": "no_data",
            "ci_low": float("nan"), "ci_high": float("nan"), "significant": None, "anomaly": None, "reason": reason}


def _worst(statuses: Sequence[str]) -> str:
    """The worst of data-check statuses: failed, then warning, then ok."""
    for level in ("failed", "warning"):
        if level in statuses:
            return level
    return "ok"



def note_for(notes: dict[str, str], period: Any, cadence: str) -> str:
    """A KPI's check-in note for ``period``: keyed by its month (``"2026-10"``), its day or its
    label as people read it (``"Q3 2026"``)."""
    if period is None or pd.isna(period):
        return ""
    t = pd.Timestamp(period)
    for key in (period_label(t, cadence), f"{t:%Y-%m}", f"{t:%Y-%m-%d}"):
        if key in notes:
            return notes[key]
    return ""


def _render_html(result: ScorecardResult) -> str:
    head = "".join(f"<th style='text-align:left;padding:4px 8px'>{h}</th>" for h in
                   ["KPI", "owner", "period", "value", "target", "change", "status", "trend"])
    body = []
    rows = result.rows
    money = result.currency
    if len(rows) and rows["north_star"].any():  # the north star leads the card
        rows = pd.concat([rows[rows["north_star"]], rows[~rows["north_star"]]])
    for r in records(rows):
        colour = STATUS_COLOURS.get(r.status, "#868e96")
        changed = r.change == r.change and r.change != 0
        arrow = "" if not changed else ("▲" if r.change > 0 else "▼")
        tone = "#2b8a3e" if r.improved is True else "#e03131" if r.improved is False else "#868e96"
        if changed and r.significant is not None and r.significant == r.significant and r.significant is not pd.NA:
            arrow += (" <span title='significant at 5 % (two-proportion z-test)'>significant</span>" if r.significant
                      else " <span style='color:#868e96' title='within noise (two-proportion z-test, 5 %)'>n.s.</span>")
        star = " <span title='north star'>★</span>" if r.north_star else ""
        target = "better than the period before" if r.target != r.target else format_value(r.target, r.unit, money)
        history = result.histories[r.kpi]["value"].tolist()
        note = note_for(result.notes.get(r.kpi, {}), r.period, r.cadence)
        note_html = f"<div class='note' style='color:#495057;font-size:85%'>✎ {html.escape(note)}</div>" if note else ""
        ci = ""
        if r.ci_low == r.ci_low and r.ci_high == r.ci_high:
            ci = f"<div class='sub ci' style='color:#868e96;font-size:80%'>95 % CI {format_value(r.ci_low, r.unit, money)} – {format_value(r.ci_high, r.unit, money)}</div>"
        partial = ""
        if pd.notna(r.incomplete_period):
            partial = (f"<div class='sub incomplete' style='color:#868e96;font-size:80%;font-style:italic' title='not complete yet: not judged'>{period_label(r.incomplete_period, r.cadence)} so far: "
                       f"{format_value(r.incomplete_value, r.unit, money)} (incomplete)</div>")
        anomaly = (" <span style='color:#c92a2a' title='sudden spike or drop: modified z-score over the trailing periods "
                   "above 3.5'>⚠ anomaly</span>") if is_true(r.anomaly) else ""
        check = ""
        if "data_check" in rows.columns and isinstance(r.data_check, str) and r.data_check == "failed":
            check = " <span style='color:#c92a2a' title='a source of this KPI failed its data check'>⚠ data check failed</span>"
        reason = (f"<div class='sub' style='color:#868e96;font-size:80%'>{html.escape(r.reason)}</div>" if isinstance(r.reason, str) and r.reason else "")
        weight = "font-size:110%;background:#f8f9fa" if r.north_star else ""
        value = ("<span style='color:#868e96'>no data</span>" if r.value != r.value
                 else f"<span style='white-space:nowrap'>{format_value(r.value, r.unit, money)}</span>")
        body.append(
            f"<tr class='status-{r.status}' style='border-top:1px solid #e9ecef;{weight}'>"
            f"<td style='padding:4px 8px'><b>{html.escape(r.kpi)}</b>{star}"
            # The period again, shown under the name where the period column is hidden (a phone).
            f"<div class='period-inline' style='display:none;color:#868e96;font-size:85%'>{html.escape(r.period_label)}</div>"
            f"{note_html}</td>"
            f"<td style='padding:4px 8px'>{html.escape(r.owner if isinstance(r.owner, str) else '')}</td>"
            f"<td style='padding:4px 8px' class='nowrap'>{html.escape(r.period_label)}</td>"
            f"<td style='padding:4px 8px;text-align:right'>{value}{ci}{partial}</td>"
            f"<td style='padding:4px 8px;text-align:right'>{target}</td>"
            f"<td style='padding:4px 8px;color:{tone}'>{arrow}{anomaly}</td>"
            f"<td style='padding:4px 8px'><span class='pill' style='background:{colour};color:white;border-radius:3px;padding:1px 6px;white-space:nowrap'>"
            f"{r.status.replace('_', ' ')}</span>{check}{reason}</td>"
            f"<td style='padding:4px 8px'>{sparkline(history, colour)}</td>"
            "</tr>"
        )
    return (f"<div class='scroll'><table class='scorecard' style='border-collapse:collapse'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")
