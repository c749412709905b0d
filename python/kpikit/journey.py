"""The customer-journey view: awareness → consideration → decision → retention, each stage's
metrics for the latest complete period and the one before, and dissonance between stages.

Adjacent stages must be read together: a rising visitor→signup rate with a falling
signup→PQL rate is one signal (more, weaker signups), not two unrelated numbers. Each metric's
history is computed by the same catalog recipes as :class:`kpikit.Scorecard` and its change
judged by :class:`kpikit.KPI` (with the two-proportion test where the counts exist).
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._history import PERIODS, metric_history, missing_columns
from ._render import check_currency, format_value, is_true, period_label, records
from .catalog import definitions, metric
from .exceptions import ParameterError
from .kpi import KPI
from .sources import Sources

__all__ = ["journey", "JourneyResult", "STAGES"]


def _layout() -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """The stages and their metrics in journey order, and each stage's conversion rate (the
    one compared with its neighbours' for dissonance), from the catalog's journey places."""
    placed = sorted((m.journey.order, m.stage, m.id, m.journey.stage_rate)
                    for m in definitions().values() if m.journey is not None)
    stages: dict[str, tuple[str, ...]] = {}
    rates: dict[str, str] = {}
    for _, stage, id, stage_rate in placed:
        stages[stage] = (*stages.get(stage, ()), id)
        if stage_rate:
            rates[stage] = id
    return stages, rates


#: The journey's stages and their metrics (catalog ids), in order: the catalog's journey places.
STAGES: dict[str, tuple[str, ...]]
STAGES, _STAGE_RATE = _layout()

_COLUMNS = ["stage", "metric", "name", "unit", "direction", "cadence", "period", "period_label", "value", "previous_period", "previous",
            "change", "improved", "significant", "ci_low", "ci_high"]


@dataclass
class JourneyResult:
    """The journey view: one row per metric (``to_frame``) and the dissonant stage pairs."""

    rows: pd.DataFrame
    dissonance: pd.DataFrame
    freq: str
    currency: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per metric: stage, metric, name, unit, direction, cadence, period,
        period_label (as people read it: "Oct 2026", "Q3 2026"), value,
        previous_period, previous, change, improved, significant, ci_low, ci_high."""
        return self.rows.copy()

    def _repr_html_(self) -> str:
        return _render_html(self)


def journey(sources: Sources, *, freq: str = "month", as_of: Any = None, cadences: Any = None,
            currency: str | None = None) -> JourneyResult:
    """The customer journey from ``sources``: each stage's metrics for the latest complete
    period and the previous one, and dissonance between adjacent stages.

    Stages and metrics (catalog ids, :data:`STAGES`, from each metric's ``journey`` place in
    the catalog): awareness (``visitors``,
    ``visitor_signup_rate``), consideration (``signups``, ``signup_pql_rate``,
    ``time_to_pql_days``), decision (``pql_customer_rate``, ``avg_deal_size``,
    ``sales_cycle_days``, ``lead_conversion_rate``, ``cac_payback_months``), retention
    (``dau_mau``, ``customer_churn_rate``, ``expansion_rate``, ``nps``). A metric whose sources
    the bundle lacks is left out.

    Per metric: ``value`` in the latest complete period by ``as_of`` (default: the last day
    the sources reach; a cohort of leads counts once its conversion window has closed too),
    labelled with that period (each figure carries its own: a funnel rate's latest complete
    cohort is older than the latest month of visitors), ``previous`` in the period before, ``change`` = value − previous,
    ``improved`` = whether it moved the favourable way, and for rates with counts k of n the
    Wilson 95 % interval (``ci_low``, ``ci_high``) and ``significant``: the two-proportion
    z-test, z = (p₂ − p₁) / √(p̄(1−p̄)(1/n₁ + 1/n₂)), |z| > 1.959964 (see :class:`kpikit.KPI`).

    Dissonance: for adjacent stages, their conversion rates (visitor→signup, signup→PQL,
    PQL→customer, customer churn) move in opposite favourable directions — one improved and
    the other worsened — and both changes are significant. Without counts a change cannot be
    told from noise, so it is never flagged.

    Parameters
    ----------
    sources : kpikit.Sources
    freq : {"week", "month", "quarter", "year"}, default "month"
    as_of : date, optional
        Only periods ending by this day count (default: :meth:`Sources.data_end`).
    cadences : mapping, optional
        A period per metric id overriding ``freq`` (the report passes its KPIs' cadences, so a
        KPI's metric shows the same period and value as in the scorecard).
    currency : str, optional
        The ISO code money is shown in.

    Returns
    -------
    JourneyResult
        ``to_frame()`` (one row per metric), ``dissonance`` (stage pairs: upper_stage,
        upper_metric, upper_change, lower_stage, lower_metric, lower_change) and an HTML view.

    Examples
    --------
    >>> import kpikit
    >>> j = kpikit.journey(kpikit.Sources.demo(scale=0.05))
    >>> j.to_frame().stage.unique().tolist()
    ['awareness', 'consideration', 'decision', 'retention']
    """
    if freq not in PERIODS or freq == "day":
        raise ParameterError(f"parameter 'freq': {freq!r} is not one of 'week', 'month', 'quarter', 'year'")
    code = check_currency(currency)
    cadences = dict(cadences or {})
    end = pd.Timestamp(as_of) if as_of is not None else sources.data_end()
    cutoff = None if end is None else end.normalize() + pd.Timedelta(days=1)
    roles = set(sources.roles())
    declared = {role: getattr(sources, role)[1] for role in roles}
    cache: dict[tuple[str, str], Any] = {}
    rows = []
    for stage, ids in STAGES.items():
        for metric_id in ids:
            m = metric(metric_id)
            # A metric whose function needs a column key the bundle does not declare (leads
            # with stages only have no lead_metrics) is left out, as a missing source is.
            if not set(m.inputs) <= roles or missing_columns(metric_id, declared):
                continue
            counts = m.counts is not None
            cadence = cadences.get(metric_id, freq)
            history = metric_history(sources, metric_id, cadence, cutoff, cache, needed_by="journey")
            row: dict[str, Any] = {"stage": stage, "metric": metric_id, "name": m.name, "unit": m.unit,
                                   "direction": m.direction, "cadence": cadence}
            if history.empty:
                rows.append(row)
                continue
            kpi = KPI(metric_id, target="previous", direction=m.direction, cadence=cadence,
                      numerator="numerator" if counts else None, denominator="denominator" if counts else None)
            judged = kpi.evaluate(history, value=metric_id)
            last = judged.iloc[-1]
            row.update(period=last["period"], period_label=period_label(last["period"], cadence), value=last["value"], change=last["change"], improved=last["improved"])
            if len(judged) > 1:
                row.update(previous_period=judged["period"].iloc[-2], previous=judged["value"].iloc[-2])
            if counts:
                row.update(significant=last["significant"], ci_low=last["ci_low"], ci_high=last["ci_high"])
            rows.append(row)
    frame = pd.DataFrame(rows).reindex(columns=_COLUMNS)
    for c in ("value", "previous", "change", "ci_low", "ci_high"):
        frame[c] = frame[c].astype(float)
    for c in ("improved", "significant"):
        frame[c] = frame[c].astype("boolean")
    return JourneyResult(frame, _dissonance(frame), freq, code)



def _dissonance(frame: pd.DataFrame) -> pd.DataFrame:
    by_metric = frame.set_index("metric")
    stages = list(STAGES)
    pairs = []
    for upper, lower in itertools.pairwise(stages):
        if upper not in _STAGE_RATE or lower not in _STAGE_RATE:
            continue
        a, b = _STAGE_RATE[upper], _STAGE_RATE[lower]
        if a not in by_metric.index or b not in by_metric.index:
            continue
        ra, rb = by_metric.loc[a], by_metric.loc[b]
        if ra["period"] != rb["period"]:
            continue  # not the same period: nothing to read together
        sig = is_true(ra["significant"]) and is_true(rb["significant"])
        if sig and pd.notna(ra["improved"]) and pd.notna(rb["improved"]) and bool(ra["improved"]) != bool(rb["improved"]):
            pairs.append({"upper_stage": upper, "upper_metric": a, "upper_change": ra["change"],
                          "lower_stage": lower, "lower_metric": b, "lower_change": rb["change"]})
    return pd.DataFrame(pairs, columns=["upper_stage", "upper_metric", "upper_change", "lower_stage", "lower_metric", "lower_change"])


def _arrow(row: pd.Series) -> str:
    change = row["change"]
    if pd.isna(change) or change == 0:
        return '<span style="color:#868e96">→</span>'
    colour = "#868e96" if pd.isna(row["improved"]) else ("#2b8a3e" if row["improved"] else "#e03131")
    mark = "▲" if change > 0 else "▼"
    star = "<sup title='significant at 5 %'>*</sup>" if is_true(row["significant"]) else ""
    return f'<span style="color:{colour}">{mark}</span>{star}'


_EMPTY = "<tr><td style='color:#868e96'>no sources</td></tr>"


def _render_html(result: JourneyResult) -> str:
    frame = result.rows
    flagged = set(result.dissonance["upper_stage"]) | set(result.dissonance["lower_stage"])
    cells = []
    for stage in STAGES:
        part = frame[frame["stage"] == stage]
        border = "2px solid #e03131" if stage in flagged else "1px solid #dee2e6"
        lines = []
        for _, r in part.iterrows():
            money = result.currency
            prev = format_value(r["previous"], r["unit"], money)
            label = r["period_label"] if isinstance(r["period_label"], str) else "no complete period"
            before = f"was {prev}" if prev != "–" else ""
            lines.append(
                f"<tr><td style='padding:2px 4px'>{html.escape(str(r['name']))}"
                f"<div class='period' style='color:#868e96;font-size:85%'>{html.escape(label)}</div></td>"
                f"<td style='padding:2px 4px;text-align:right;white-space:nowrap;vertical-align:top'>"
                f"<b>{format_value(r['value'], r['unit'], money)}</b> {_arrow(r)}"
                f"<div style='color:#868e96;font-size:85%'>{before}</div></td></tr>"
            )
        cells.append(
            f"<div class='stage' style='border:{border};padding:6px;flex:1 1 250px;min-width:0'>"
            f"<div style='font-weight:bold;text-transform:capitalize'>{stage}</div>"
            f"<table style='font-size:90%;width:100%'>{''.join(lines) or _EMPTY}</table></div>"
        )
    notes = "".join(
        f"<div style='color:#c92a2a;margin-top:4px'>⚠ Dissonance: {html.escape(metric(d.upper_metric).name)} "
        f"{'up' if d.upper_change > 0 else 'down'} while {html.escape(metric(d.lower_metric).name)} "
        f"{'up' if d.lower_change > 0 else 'down'} ({d.upper_stage} → {d.lower_stage}), both significant at 5 %.</div>"
        for d in records(result.dissonance)
    )
    periods = frame["period_label"].dropna().unique()
    title = ("Customer journey, " + periods[0] if len(periods) == 1 else
             "Customer journey: each figure's latest complete period, under its name")
    return (
        f"<div class='journey'><div style='font-weight:bold'>{html.escape(title)}</div>"
        "<div class='stages' style='display:flex;flex-wrap:wrap;gap:4px;align-items:stretch'>"
        + "<div class='between' style='align-self:center;color:#868e96;width:10px;font-size:80%'>→</div>".join(cells)
        + "</div>"
        "<div style='color:#868e96;font-size:85%'>value ▲▼ against the period before (grey, under it); green = the "
        "favourable way; * = significant change (two-proportion test, 5 %). A funnel cohort counts once its "
        "conversion window has closed.</div>" + notes + "</div>"
    )
