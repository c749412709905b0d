"""The KPI report: kpikit's main job, one self-contained HTML file for a company.

:func:`report` evaluates a scorecard over a bundle of sources and lays out, in order: the
headline (north star and status counts), the scorecard (values, targets, 95 % intervals,
significance, anomalies, check-in notes), the customer-journey view, each KPI's trend against
its target, MRR movements, the funnel, the retention heat map and active users — each chart
drawn with matplotlib and embedded as a PNG, so the file works offline and can be mailed.
Sections whose source the bundle lacks are left out and listed at the end.
"""

from __future__ import annotations

import base64
import html
import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._kpikit import __version__ as _version
from ._render import STATUS_COLOURS, check_currency, format_value, period_label, records
from .exceptions import ParameterError
from .scorecard import Scorecard, ScorecardResult
from .sources import Sources

__all__ = ["report", "Report"]

_STATUS_ORDER = ["achieved", "on_track", "at_risk", "behind", "overdue", "no_data", "not_started"]


@dataclass
class Report:
    """A rendered report: ``html`` (one self-contained document), the scorecard result it
    shows, the journey view it shows, and the sections it has (and those left out, with the
    reason)."""

    html: str
    scorecard: ScorecardResult
    sections: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    #: The journey view shown (None without its sources).
    journey: Any = None

    def write(self, path: str | Path) -> Path:
        """Write the HTML document to ``path`` (UTF-8) and return the path."""
        target = Path(path)
        target.write_text(self.html, encoding="utf-8")
        return target

    def _repr_html_(self) -> str:
        # A notebook shows the body only: the document's own <html>/<head> would fight the page's.
        start = self.html.index("<body>") + len("<body>")
        return self.html[start : self.html.rindex("</body>")]


class _Progress:
    """Step lines on stderr ("[3/9] journey view … 0.4 s"), so a long run shows where it is."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = total, enabled, 0

    def step(self, label: str, work: Callable[[], Any]) -> Any:
        self.done += 1
        started = time.perf_counter()
        if self.enabled:
            print(f"[{self.done}/{self.total}] {label} …", end="", file=sys.stderr, flush=True)
        try:
            result = work()
        except BaseException:
            if self.enabled:  # end the step's line, so an error message starts on its own
                print(file=sys.stderr, flush=True)
            raise
        if self.enabled:
            print(f" {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        return result


def _png(fig: Any, alt: str) -> str:
    """A matplotlib figure as an embedded <img> (PNG, base64) with its alt text, then closed.

    Drawn at twice the pixels it is shown at (220 dpi shown as 110), so it stays sharp on a
    high-density screen, when zoomed and on paper."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=220, bbox_inches="tight")
    plt.close(fig)
    png = buffer.getvalue()
    width = int.from_bytes(png[16:20], "big") // 2  # the IHDR chunk's width, in pixels
    data = base64.b64encode(png).decode("ascii")
    return (f'<img class="chart" alt="{html.escape(alt, quote=True)}" width="{width}" '
            f'src="data:image/png;base64,{data}"/>')


def _chart(draw: Callable[[Any], Any], alt: str, width: float = 9.0, height: float = 3.6) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    draw(ax)
    fig.tight_layout()
    return _png(fig, alt)


def _section(name: str, title: str, body: str) -> str:
    return f"<section id='{name}'><h2>{html.escape(title)}</h2>{body}</section>"


def _trend_alt(result: ScorecardResult) -> str:
    """What the KPI trend charts show: each KPI's latest value, period, status and direction."""
    parts = []
    for r in records(result.rows):
        if r.value != r.value:
            parts.append(f"{r.kpi}: no data")
            continue
        way = ("" if r.change != r.change or r.change == 0 else ", up" if r.change > 0 else ", down")
        parts.append(f"{r.kpi}: {format_value(r.value, r.unit, result.currency)} in {r.period_label}{way}, "
                     f"{r.status.replace('_', ' ')}")
    return "Trend of each KPI against its target. " + "; ".join(parts) + "."


def _funnel_alt(cohorts: pd.DataFrame, stages: list[str]) -> str:
    """What the funnel chart shows: how many reach each stage, and the share reaching the last."""
    counts = cohorts.groupby("step", sort=True)["converted"].sum() if "step" in cohorts else pd.Series(dtype=float)
    if "complete" in cohorts:
        done = cohorts[cohorts["complete"].fillna(False).astype(bool)]
        counts = done.groupby("step", sort=True)["converted"].sum()
    if counts.empty:
        return "Funnel: " + " → ".join(stages) + "."
    reached = [f"{format_value(float(n), 'count')} {_stage_words(stages[i])}" for i, n in enumerate(counts.tolist()[: len(stages)])]
    share = counts.iloc[-1] / counts.iloc[0] if counts.iloc[0] else float("nan")
    return (f"Funnel of the cohorts whose window has closed: {', '.join(reached)}; {format_value(share, 'fraction')} "
            "of entries reach the last stage.")


def _stage_words(column: str) -> str:
    """A stage column in words: "signed_up_at" → "signed up"."""
    return column.removesuffix("_at").replace("_", " ")


def _headline(result: ScorecardResult) -> str:
    rows = result.rows
    counts = rows["status"].value_counts()
    chips = "".join(
        f"<span style='background:{STATUS_COLOURS[s]};color:white;border-radius:3px;padding:2px 8px;margin-right:6px'>"
        f"{counts[s]} {s.replace('_', ' ')}</span>"
        for s in _STATUS_ORDER if s in counts
    )
    star = rows[rows["north_star"]]
    lead = ""
    if len(star):
        r = star.iloc[0]
        money = result.currency
        target = "better than the period before" if r["target"] != r["target"] else format_value(r["target"], r["unit"], money)
        figure = (f"no data ({html.escape(str(r['reason']))})" if r["value"] != r["value"] else
                  f"{format_value(r['value'], r['unit'], money)} in {html.escape(r['period_label'])}")
        lead = (
            f"<div style='font-size:130%;margin:8px 0'>★ North star — <b>{html.escape(r['kpi'])}</b>: "
            f"{figure} (target {target}, {r['status'].replace('_', ' ')})</div>"
        )
    return lead + f"<div>{chips}</div>"


def _notes(result: ScorecardResult) -> str:
    items = [
        f"<li><b>{html.escape(kpi)}</b>, {html.escape(period)}: {html.escape(text)}</li>"
        for kpi, notes in result.notes.items() for period, text in sorted(notes.items())
    ]
    return f"<ul>{''.join(items)}</ul>" if items else ""


# Screen: a column of at most 1100 px with a margin; below 600 px (a phone, 390 px) the
# scorecard drops its owner, change and trend columns and shows the period under the KPI's name,
# and wide tables scroll inside their box, never the page. Print (A4): each section starts a page, and no chart, table row or journey stage is cut.
_STYLE = """
*{box-sizing:border-box}
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;padding:0 20px;
color:#212529}
h1{font-size:1.6em;margin-bottom:0} h2{font-size:1.2em;border-bottom:1px solid #dee2e6;padding-bottom:4px;margin-top:32px}
.meta{color:#868e96} table{font-size:0.92em} .rules{color:#495057;font-size:0.85em}
.scroll{overflow-x:auto;max-width:100%} img.chart{max-width:100%;height:auto;display:block}
.pill,.nowrap{white-space:nowrap} h1,h2,.meta,li{overflow-wrap:anywhere} .sub{color:#868e96;font-size:80%} .note{color:#495057;font-size:85%}
.incomplete{font-style:italic} .changes li{margin:2px 0} .status-history td{padding:1px 8px} .dot{font-size:1.1em}
@media (max-width:600px){
 body{margin:12px auto;padding:0 10px}
 h1{font-size:1.3em}
 .scorecard th:nth-child(2),.scorecard td:nth-child(2),.scorecard th:nth-child(3),.scorecard td:nth-child(3),
 .scorecard th:nth-child(6),.scorecard td:nth-child(6),.scorecard th:nth-child(8),.scorecard td:nth-child(8){display:none}
 .scorecard .period-inline{display:block!important}
 .scorecard{font-size:85%} .scorecard td,.scorecard th{padding:3px 3px!important} .scorecard .ci{display:none}
 .journey .between{display:none}
}
@media print{
 @page{size:A4;margin:14mm}
 body{max-width:none;margin:0;padding:0;font-size:10pt}
 section{break-before:page} section#headline,section#scorecard{break-before:auto}
 h2{break-after:avoid} img.chart,tr,.stage,li{break-inside:avoid}
 .scroll{overflow:visible}
}
"""

_RULES = """<div class='rules'><p><b>How to read this report.</b> Each KPI is a catalog metric
(<code>kpikit.metric(id)</code>) judged per period against its target. Status: <i>achieved</i> — the
target is met by its deadline; <i>on track</i> — met (ongoing target), or a straight line through the
last periods reaches it by the deadline; <i>at risk</i> — short by no more than the at-risk band;
<i>behind</i> — short by more; <i>overdue</i> — the deadline passed unmet; <i>no data</i>,
<i>not started</i>. Only complete periods count. Rates with counts carry a Wilson 95 % interval, and
a change is called significant only when a two-proportion z-test says so at 5 %; NPS carries its own
95 % interval. An anomaly is a value whose modified z-score against the previous six values
(median and MAD) exceeds 3.5.</p></div>"""


def report(
    sources: Sources,
    scorecard: Scorecard | None = None,
    *,
    title: str = "KPI report",
    as_of: Any = None,
    freq: str = "month",
    progress: bool = False,
    currency: str | None = None,
    checkins: str | Path | None = None,
) -> Report:
    """Evaluate ``scorecard`` over ``sources`` and render the full report as one HTML document.

    Sections, each present when its sources are: headline (north star, count of KPIs per
    status), scorecard (KPIs reading a source whose data check failed are marked), data checks
    (:func:`kpikit.check`: freshness against ``as_of`` — default today —, gaps, drops,
    duplicates, missing keys, out-of-range values), customer journey (``freq``), KPI trends against targets, MRR movements
    (net new MRR = new + expansion + reactivation − contraction − churned), funnel (leads'
    stages, complete cohorts), retention heat map (monthly first-activity cohorts of the
    events, rate = retained ÷ cohort size), active users (DAU, WAU, MAU, DAU/MAU), check-in
    notes, and how to read the statuses. Charts need matplotlib (the ``plot`` extra).

    Parameters
    ----------
    sources : kpikit.Sources
    scorecard : kpikit.Scorecard, optional
        Default :meth:`kpikit.Scorecard.executive`.
    title : str
    as_of : date, optional
        Only periods ending by this day count (default: the last day the sources reach);
        freshness is judged against it (default: today).
    freq : {"week", "month", "quarter", "year"}
        The journey view's period.
    progress : bool
        Print each step and its time on stderr.
    currency : str, optional
        The ISO 4217 code of the sources' money (``"USD"``, ``"EUR"``): amounts are shown with
        its symbol and thousands separators.
    checkins : path, optional
        A check-in store (a directory; :func:`kpikit.history`): the run records every KPI's
        period, value, target, status and note there as the check-in of its as-of day
        (replacing an earlier run of the same day), and the report gains "Since the last
        check-in" (status changes, values moved, targets changed, notes added, each KPI's
        status at every check-in).

    Examples
    --------
    >>> import kpikit
    >>> r = kpikit.report(kpikit.Sources.demo(scale=0.05), title="Demo")
    >>> r.sections[:3]
    ['headline', 'scorecard', 'data_checks']
    >>> r.html.startswith("<!DOCTYPE html>")
    True
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ParameterError("kpikit.report draws its charts with matplotlib: pip install 'kpikit[plot]'") from e

    from . import plot
    from ._history import parse_window
    from .activity import active_users
    from .check import check
    from .funnel import funnel_from_stages
    from .journey import journey
    from .retention import retention
    from .revenue import mrr_movements

    code = check_currency(currency)
    card = scorecard if scorecard is not None else Scorecard.executive()
    roles = set(sources.roles())
    steps = 4 + sum(role in roles for role in ("subscriptions", "leads", "events")) + ("events" in roles)
    bar = _Progress(steps, progress)
    sections: list[str] = []
    skipped: dict[str, str] = {}
    parts: list[str] = []

    checks = bar.step("data checks", lambda: check(sources, as_of=as_of))
    result = bar.step("scorecard", lambda: card.evaluate(sources, as_of=as_of, checks=checks, currency=code))
    end = pd.Timestamp(as_of) if as_of is not None else sources.data_end()
    sections.append("headline")
    parts.append(_section("headline", "Headline", _headline(result)))
    sections.append("scorecard")
    parts.append(_section("scorecard", "Scorecard", result._repr_html_()))
    sections.append("data_checks")
    failed = sorted(checks.failed_roles())
    verdict = (f"<p style='color:#c92a2a'>⚠ Failed: {', '.join(failed)} — KPIs reading these sources are marked "
               "in the scorecard.</p>" if failed else "")
    checked = checks._repr_html_()
    if checks.as_of is not None:
        # The report states its as-of date once, at the top; freshness judged on another day
        # (today, when the report has no as_of) says so in words.
        day = pd.Timestamp(checks.as_of)
        same = end is not None and day.normalize() == end.normalize()
        caption = "" if same else f"<p class='meta'>Freshness judged on {day.day} {day:%B %Y} (today).</p>"
        checked = checked.replace(f"<div style='color:#495057'>Data checks as of {day:%Y-%m-%d}</div>", caption)
    parts.append(_section("data_checks", "Data checks", f"{verdict}<div class='scroll'>{checked}</div>"))

    view = None
    journey_roles = {"leads", "subscriptions", "events", "deals", "responses"}
    if roles & journey_roles:
        view = bar.step("journey view", lambda: journey(
            sources, freq=freq, as_of=as_of, cadences={k.metric: k.cadence for k in reversed(card.kpis)}, currency=code))
        sections.append("journey")
        parts.append(_section("journey", "Customer journey", view._repr_html_()))
    else:
        skipped["journey"] = "no leads, subscriptions, events, deals or responses source"

    with plt.rc_context({"figure.max_open_warning": 0}):
        trends = bar.step("KPI trend charts", lambda: _png(plot.scorecard(result), _trend_alt(result)))
        sections.append("kpi_trends")
        parts.append(_section("kpi_trends", "KPI trends against targets", trends))

        if sources.subscriptions is not None:
            table, cols = sources.subscriptions
            keys = {k: cols[k] for k in ("customer", "period", "mrr", "started", "ended", "amount", "interval") if k in cols}
            keys.update({new: cols[old] for old, new in (("start", "started"), ("end", "ended")) if old in cols})

            def revenue_section() -> str:
                moves = mrr_movements(table, freq="month", output="pandas", **keys)
                if end is not None:
                    moves = moves[pd.to_datetime(moves["period"]) <= end]
                last = moves.iloc[-1] if len(moves) else None
                alt = "Monthly MRR movements: new, expansion and reactivation MRR above zero, contraction and churned below."
                if last is not None:
                    when = period_label(last["period"], "month")
                    alt += (f" In {when}: ending MRR {format_value(last['ending_mrr'], 'currency', code)}, net new MRR "
                            f"{format_value(last['net_new_mrr'], 'currency', code)}.")
                chart = _chart(lambda ax: plot.mrr_movements(moves, ax=ax, currency=code), alt)
                return _section("mrr_movements", "MRR movements", chart)

            parts.append(bar.step("MRR movements", revenue_section))
            sections.append("mrr_movements")
        else:
            skipped["mrr_movements"] = "no subscriptions source"

        if sources.leads is not None and "stages" in sources.leads[1]:
            table, cols = sources.leads
            stages = list(cols["stages"])
            window = cols.get("window")

            def funnel_section() -> str:
                cohorts = funnel_from_stages(table, stages=stages, window=window, freq="month", output="pandas")
                if window is None:  # no window: no cohort is ever complete (null), every lead so far counts
                    cohorts = cohorts.drop(columns="complete", errors="ignore")
                elif end is not None:
                    # Complete as of the report's day, as the scorecard and journey count them
                    # (docs/conventions.md#kpis), not as of the data's last day.
                    ends = pd.to_datetime(cohorts["period"]) + pd.DateOffset(months=1) + parse_window(window)
                    cutoff = end.normalize() + pd.Timedelta(days=1)
                    cohorts = cohorts.assign(complete=cohorts["complete"].fillna(False).astype(bool) & (ends <= cutoff))
                within = (f"conversion within {html.escape(str(window))} of entering; cohorts whose window has closed"
                          if window is not None else "no conversion window: every lead so far")
                alt = _funnel_alt(cohorts, stages)
                return _section("funnel", "Funnel", f"<p class='meta'>{' → '.join(html.escape(_stage_words(s)) for s in stages)}; {within}.</p>"
                                + _chart(lambda ax: plot.funnel(cohorts, ax=ax), alt, height=2.8))

            parts.append(bar.step("funnel", funnel_section))
            sections.append("funnel")
        else:
            skipped["funnel"] = "no leads source with stages"

        if sources.events is not None:
            table, cols = sources.events

            def retention_section() -> str:
                triangle = retention(table, user=cols["user"], time=cols["time"], freq="month", output="pandas")
                if end is not None:  # periods that have ended by the report's day only
                    c = pd.to_datetime(triangle["cohort"])
                    month = c.dt.year * 12 + c.dt.month - 1 + triangle["period_number"]
                    last = end.normalize() + pd.Timedelta(days=1)
                    triangle = triangle[month + 1 <= last.year * 12 + last.month - 1].reset_index(drop=True)
                first = triangle[triangle["period_number"] == 1]
                mean = (float(first["retained"].sum()) / float(first["cohort_size"].sum())
                        if "retained" in first and "cohort_size" in first and first["cohort_size"].sum() else float("nan"))
                alt = (f"Heat map of the share of each monthly cohort of first-active users active again 1, 2, 3… months "
                       f"later ({triangle['cohort'].nunique()} cohorts)"
                       + (f"; one month later {format_value(mean, 'fraction')} on average." if mean == mean else "."))
                return _section("retention", "Retention by first-activity cohort (monthly)",
                                _chart(lambda ax: plot.retention_heatmap(triangle, ax=ax), alt, height=4.8))

            def activity_section() -> str:
                activity = active_users(table, user=cols["user"], time=cols["time"], freq="day", output="pandas")
                if end is not None:
                    activity = activity[pd.to_datetime(activity["period"]) <= end].reset_index(drop=True)
                alt = "Daily, weekly and monthly active users, and DAU/MAU."
                if len(activity):
                    last = activity.iloc[-1]
                    alt = (f"Daily, weekly and monthly active users, and DAU/MAU. On {pd.Timestamp(last['period']):%d %b %Y}: "
                           f"{last['dau']:,.0f} daily, {last['mau']:,.0f} monthly active users.")
                return _section("active_users", "Active users", _chart(lambda ax: plot.active_users(activity, ax=ax), alt))

            parts.append(bar.step("retention cohorts", retention_section))
            parts.append(bar.step("active users", activity_section))
            sections += ["retention", "active_users"]
        else:
            skipped["retention"] = skipped["active_users"] = "no events source"

    if checkins is not None:
        from ._checkins import checkin, history as read_history, record, render_changes

        day = end if end is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)
        now = checkin(result.rows, day, result.notes)
        past = read_history(checkins)
        sections.insert(2, "since_last_checkin")
        parts.insert(2, _section("since_last_checkin", "Since the last check-in", render_changes(past, now, day, code)))
        record(checkins, now)  # after the report is built: a failed run records nothing

    notes = _notes(result)
    if notes:
        sections.append("notes")
        parts.append(_section("notes", "Check-in notes", notes))
    if skipped:
        parts.append(_section("not_shown", "Not shown", "<ul>" + "".join(
            f"<li>{html.escape(k.replace('_', ' '))}: {html.escape(v)}</li>" for k, v in skipped.items()) + "</ul>"))
    parts.append(_RULES)

    span = f"As of {end.day} {end:%B %Y}" if end is not None else "no dated data"
    document = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><div class='meta'>{span} · generated "
        f"{pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC by kpikit {_version}</div>"
        + "".join(parts)
        + "</body></html>\n"
    )
    return Report(document, result, sections, skipped, view)
