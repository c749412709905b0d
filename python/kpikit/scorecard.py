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

from ._history import metric_history
from ._render import STATUS_COLOURS, format_value, is_true, records, sparkline
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
            # The catalog's counts, unless the KPI names its own count columns.
            counts = m.counts is not None and kpi.numerator is None
            history = metric_history(sources, m.id, kpi.cadence, cutoff, computed, needed_by=f"KPI {kpi.label!r}",
                                     counts=counts)
            if history.empty:
                raise ParameterError(f"KPI {kpi.label!r}: no complete {kpi.cadence} in the sources up to {end}")
            if counts:
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
        def k(metric_id: str, **kw: Any) -> KPI:
            return KPI(metric_id, owner=owner, **kw)

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



def _render_html(result: ScorecardResult) -> str:
    head = "".join(f"<th style='text-align:left;padding:4px 8px'>{h}</th>" for h in
                   ["KPI", "owner", "period", "value", "target", "change", "status", "trend"])
    body = []
    rows = result.rows
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
        target = format_value(r.target, r.unit)
        history = result.histories[r.kpi]["value"].tolist()
        period = pd.Timestamp(r.period).strftime("%Y-%m") if r.period == r.period else "–"
        note = result.notes.get(r.kpi, {}).get(period, "")
        note_html = f"<div style='color:#495057;font-size:85%'>✎ {html.escape(note)}</div>" if note else ""
        ci = ""
        if r.ci_low == r.ci_low and r.ci_high == r.ci_high:
            ci = f"<div style='color:#868e96;font-size:80%'>95 % CI {format_value(r.ci_low, r.unit)} – {format_value(r.ci_high, r.unit)}</div>"
        anomaly = (" <span style='color:#c92a2a' title='sudden spike or drop: modified z-score over the trailing periods "
                   "above 3.5'>⚠ anomaly</span>") if is_true(r.anomaly) else ""
        check = ""
        if "data_check" in rows.columns and isinstance(r.data_check, str) and r.data_check == "failed":
            check = " <span style='color:#c92a2a' title='a source of this KPI failed its data check'>⚠ data check failed</span>"
        weight = "font-size:110%;background:#f8f9fa" if r.north_star else ""
        body.append(
            f"<tr style='border-top:1px solid #e9ecef;{weight}'>"
            f"<td style='padding:4px 8px'><b>{html.escape(r.kpi)}</b>{star}{note_html}</td>"
            f"<td style='padding:4px 8px'>{html.escape(r.owner if isinstance(r.owner, str) else '')}</td>"
            f"<td style='padding:4px 8px'>{period}</td>"
            f"<td style='padding:4px 8px;text-align:right'>{format_value(r.value, r.unit)}{ci}</td>"
            f"<td style='padding:4px 8px;text-align:right'>{target}</td>"
            f"<td style='padding:4px 8px;color:{tone}'>{arrow}{anomaly}</td>"
            f"<td style='padding:4px 8px'><span style='background:{colour};color:white;border-radius:3px;padding:1px 6px'>"
            f"{r.status.replace('_', ' ')}</span>{check}</td>"
            f"<td style='padding:4px 8px'>{sparkline(history, colour)}</td>"
            "</tr>"
        )
    return f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
