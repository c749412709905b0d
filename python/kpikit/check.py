"""Data integrity: is every source of a :class:`kpikit.Sources` bundle fit to compute KPIs from?

:func:`check` maps each source (role) to its rules — which columns are keys, which ranges the
analyses accept, which timestamps must come in order, at which cadence rows arrive — runs the
row-level work in the Rust core (``_kpikit.check``) and returns a :class:`CheckResult`.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import _kpikit
from ._convert import check_output, table_input
from ._render import records
from .exceptions import ParameterError
from .sources import Sources

__all__ = ["check", "CheckResult"]

ROLES = ("subscriptions", "spend", "deals", "leads", "responses", "tickets", "events")

# Which findings make the numbers wrong (or an analysis raise) and which only ask for a look.
FAILED_CHECKS = ("missing_column", "wrong_type", "nulls", "duplicates", "out_of_range", "order", "consistency")
WARNING_CHECKS = ("empty", "stale", "gaps", "volume_drop")

# Each role's natural cadence: the period rows are counted in, and how many days may pass after
# the data ends before it counts as stale. Month-cadence sources (a row per month) cover the
# whole month of their latest timestamp; the next month is due a week after it ends (31 + 7).
# Deals and survey answers arrive a few a day, so a day without one is normal: weeks.
PERIODS = {"subscriptions": "month", "spend": "month", "deals": "week", "leads": "day",
           "responses": "week", "tickets": "day", "events": "day"}
MAX_STALENESS = {"subscriptions": 38, "spend": 38, "deals": 7, "leads": 3, "responses": 7,
                 "tickets": 3, "events": 3}

# A volume drop: rows < DROP_RATIO × the trailing median, the median rows of the TRAILING
# periods before (days: the same weekday of the 6 weeks before, as weekends are quiet), judged
# for periods that have ended by as_of, with at least MIN_TRAILING periods before them and a
# median of at least DROP_MIN_MEDIAN rows (below that, halving is Poisson noise). An empty period
# is a gap when its trailing median is at least GAP_MIN_MEDIAN rows.
DROP_RATIO = 0.5
TRAILING = 6
MIN_TRAILING = 3
DROP_MIN_MEDIAN = 20.0
GAP_MIN_MEDIAN = 5.0

_SEVERITY_COLOURS = {"failed": "#e03131", "warning": "#f59f00", "ok": "#37b24d"}
_UNITS = {"day": "day", "week": "week", "month": "month"}


@dataclass(frozen=True)
class _Plan:
    """What to check in one source: the rule lists the core takes, and its cadence."""

    not_null: list[str]
    unique: list[list[str]]
    ranges: list[tuple[str, float | None, float | None, bool]]
    ordered: list[list[str]]
    time: list[str]
    period: str | None
    month_coverage: bool = False
    implies: list[tuple[str, str, str, str]] = field(default_factory=list)

    def columns(self) -> list[str]:
        names = [*self.not_null, *(c for u in self.unique for c in u), *(r[0] for r in self.ranges),
                 *(c for o in self.ordered for c in o), *self.time, *(c for i in self.implies for c in (i[0], i[2]))]
        return list(dict.fromkeys(names))


def _plan(role: str, cols: Mapping[str, Any]) -> _Plan:
    """The rules of one role, from the columns its mapping names (absent keys are not checked)."""

    def has(*keys: str) -> list[str]:
        return [cols[k] for k in keys if cols.get(k) is not None]

    def non_negative(*keys: str) -> list[tuple[str, float | None, float | None, bool]]:
        return [(c, 0.0, None, False) for c in has(*keys)]

    if role == "subscriptions":
        if cols.get("period") is not None:  # monthly snapshots: one row per customer and month
            return _Plan(has("customer", "period", "mrr"), [has("customer", "period")], non_negative("mrr"),
                         [], has("period"), cols["period"], month_coverage=True)
        return _Plan(has("customer", "started", "amount"), [], non_negative("amount"),
                     [has("started", "ended")], has("started"), cols.get("started"))
    if role == "spend":
        return _Plan(has("time", "amount"), [], non_negative("amount"), [], has("time"), cols.get("time"),
                     month_coverage=True)
    if role == "deals":
        # What deal_metrics requires of won: an open deal is not won, a closed one says whether it
        # was, and a won deal has an amount.
        won, closed, amount = cols.get("won"), cols.get("closed"), cols.get("amount")
        implies = [*([(won, "true", closed, "present"), (closed, "present", won, "present")] if won and closed else []),
                   *([(won, "true", amount, "present")] if won and amount else [])]
        return _Plan(has("deal", "created"), [has("deal")] if has("deal") else [], non_negative("amount"),
                     [has("created", "closed")], has("created", "closed"), cols.get("created"), implies=implies)
    if role == "leads":
        stages = list(cols.get("stages") or []) or has("created", "qualified", "converted")
        created = cols.get("created") or (stages[0] if stages else None)
        key = has("lead")
        return _Plan([*key, *([created] if created else [])], [key] if key else [], non_negative("revenue"),
                     [stages], stages or has("created"), created)
    if role == "responses":
        return _Plan(has("score", "time"), [], [(c, 0.0, 10.0, True) for c in has("score")], [], has("time"),
                     cols.get("time"))
    if role == "tickets":
        return _Plan(has("opened"), [], [*non_negative("handle_seconds"), *[(c, 1.0, 5.0, True) for c in has("csat")]],
                     [has("opened", "first_response"), has("opened", "resolved")],
                     has("opened", "first_response", "resolved"), cols.get("opened"))
    if role == "events":
        return _Plan(has("user", "time"), [], [], [], has("time"), cols.get("time"))
    raise ParameterError(f"check: unknown source role {role!r}; the roles are {', '.join(ROLES)}")


def _as_of_day(as_of: Any) -> pd.Timestamp:
    t = pd.Timestamp.now(tz="UTC") if as_of is None else pd.Timestamp(as_of)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t.normalize()


def _epoch_days(t: pd.Timestamp) -> int:
    return int((t - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1))


@dataclass
class CheckResult:
    """The integrity findings of every source, and each source's summary and status.

    ``findings`` and ``sources`` are the frames behind :meth:`to_frame` and :meth:`summary`;
    ``periods`` holds, per source, its rows per period (period, rows, first_row,
    trailing_median, gap, drop) from the first period with rows to the last.
    """

    findings: pd.DataFrame
    sources: pd.DataFrame
    as_of: pd.Timestamp
    output: str = "pandas"
    periods: dict[str, pd.DataFrame] = field(default_factory=dict)

    def _out(self, frame: pd.DataFrame) -> Any:
        if self.output == "pandas":
            return frame.copy()
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.output == "arrow":
            return table
        import polars as pl

        return pl.from_arrow(table)

    def to_frame(self) -> Any:
        """One row per finding: source, check, column, severity, count, examples (up to five row
        positions), message. ``count`` is rows for row checks, periods for gaps and drops, days for
        staleness."""
        return self._out(self.findings)

    def summary(self) -> Any:
        """One row per source: source, rows, first, last, days_stale, max_staleness, failed,
        warnings, status."""
        return self._out(self.sources)

    def status(self, role: str) -> str:
        """``"ok"``, ``"warning"`` or ``"failed"`` for one checked source."""
        match = self.sources.loc[self.sources["source"] == role, "status"]
        if match.empty:
            raise ParameterError(f"check: {role!r} was not checked; checked: {', '.join(self.sources['source'])}")
        return str(match.iloc[0])

    def failed_roles(self) -> set[str]:
        """The sources with at least one failed check (KPIs computed from them are not trustworthy)."""
        return set(self.sources.loc[self.sources["status"] == "failed", "source"])

    def _repr_html_(self) -> str:
        return _render_html(self)


def check(
    sources: Sources,
    *,
    as_of: Any = None,
    output: str | None = None,
    periods: Mapping[str, str] | None = None,
    max_staleness: Mapping[str, int] | None = None,
) -> CheckResult:
    """Check every source of a bundle: rows, time span, freshness, empty periods and volume
    drops, duplicate keys, missing keys and out-of-range values.

    Rules per source (a rule is only applied when the mapping names its columns):

    * subscriptions (snapshots): customer, period and mrr present; (customer, period) unique;
      mrr ≥ 0. From subscriptions: customer, started, amount present; amount ≥ 0; ended ≥ started.
    * spend: time and amount present; amount ≥ 0.
    * deals: deal and created present; deal unique; amount ≥ 0; closed ≥ created; a won deal
      is closed and has an amount; a closed deal has won true or false.
    * leads: created (first stage) present, and lead unique when a ``lead`` key is given;
      stage timestamps never go back in time (missing stages skipped); revenue ≥ 0.
    * responses: score and time present; score a whole number from 0 to 10.
    * tickets: opened present; first_response ≥ opened; resolved ≥ opened; handle_seconds ≥ 0;
      csat a whole number from 1 to 5.
    * events: user and time present (no key: repeated events are normal).

    Severity: a missing or wrongly typed column, missing keys, duplicate keys, out-of-range
    values, timestamps out of order and inconsistent rows are **failed** (the analyses would raise or the numbers
    would be wrong); staleness, empty periods and volume drops are **warnings**. A source's
    status is the worst of its findings (``ok`` without any).

    Freshness: ``days_stale = as_of − last day covered``, where the last day covered is the date
    of the latest timestamp, or for month-cadence sources (subscriptions snapshots, spend) the
    last day of its month; stale when ``days_stale > max_staleness`` (days: events, leads,
    tickets 3; deals, responses 7; subscriptions, spend 38 = the next month plus a week).

    Volume: rows are counted per period (day: events, leads, tickets; week: deals, responses;
    month: subscriptions, spend) from the first period with rows to the last. The trailing
    median of a period is ``median(rows of the 6 periods before it)`` — for days, of the same
    weekday in the 6 weeks before, since weekends are quiet. A period that has ended by
    ``as_of`` drops when ``rows < 0.5 × trailing median`` (with at least 3 periods before it
    and a median of at least 20 rows: below that, halving is ordinary noise). An empty period is
    a gap when its trailing median is at least 5 rows (an empty Sunday is normal for a source
    with one row per Sunday).

    Parameters
    ----------
    sources : Sources
        The bundle to check; every role it has is checked.
    as_of : date-like, optional
        The day the data should be current on (default: today, UTC). Periods ending after it
        are still running and are not judged for drops.
    output : {None, "pandas", "polars", "arrow"}, default None
        Library of the tables ``to_frame()`` and ``summary()`` return; ``None`` gives pandas
        (a bundle has no one input library to follow).
    periods : mapping, optional
        Per role, a period to count rows in instead of the default ("day", "week", "month").
    max_staleness : mapping, optional
        Per role, the days after which the data counts as stale.

    Returns
    -------
    CheckResult
        ``to_frame()`` (one row per finding), ``summary()`` (one row per source),
        ``status(role)``, ``failed_roles()``; renders as an HTML table in Jupyter.

    Examples
    --------
    >>> import kpikit
    >>> s = kpikit.Sources.demo(scale=0.05)
    >>> result = kpikit.check(s, as_of="2026-10-31")
    >>> result.failed_roles()
    set()
    >>> result.status("deals")
    'ok'
    >>> result.summary()[["source", "rows", "days_stale", "status"]].head(3)
              source  rows  days_stale status
    0  subscriptions   530           0     ok
    1          spend   168           0     ok
    2          deals    79           2     ok
    """
    if not isinstance(sources, Sources):
        raise ParameterError(f"check: sources must be a kpikit.Sources, got {type(sources).__name__}")
    output = "pandas" if output is None else output
    check_output(output)
    day = _as_of_day(as_of)
    cadence = {**PERIODS, **dict(periods or {})}
    staleness = {**MAX_STALENESS, **dict(max_staleness or {})}
    for name, table in (("periods", cadence), ("max_staleness", staleness)):
        unknown = set(table) - set(ROLES)
        if unknown:
            raise ParameterError(f"check: {name} names unknown roles {sorted(unknown)}; the roles are {', '.join(ROLES)}")
    findings: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    per_period: dict[str, pd.DataFrame] = {}
    for role in sources.roles():
        table, cols = getattr(sources, role)
        plan = _plan(role, cols)
        freq = cadence[role]
        rows, found, spans, counts = _kpikit.check(
            table_input(table, plan.columns()), not_null=plan.not_null, unique=[u for u in plan.unique if u],
            ranges=plan.ranges, ordered=[o for o in plan.ordered if len(o) >= 2], implies=plan.implies, time=plan.time,
            period=plan.period, freq=freq, judged_until=_epoch_days(day) + 1,
            drop_ratio=DROP_RATIO, trailing=TRAILING, min_trailing=MIN_TRAILING, season=7 if freq == "day" else 1,
            drop_min_median=DROP_MIN_MEDIAN, gap_min_median=GAP_MIN_MEDIAN,
        )
        found_df = _frame(found)
        for r in records(found_df):
            if r.check in ("missing_column", "wrong_type"):
                message = f"column {r.column!r} {r.rule}"
            else:
                shown = "; ".join(f"row {i}: {v}" for i, v in zip(r.examples, r.values, strict=True))
                message = f"{r.column}: {r.rule}: {r.count} row(s), e.g. {shown}"
            findings.append(_finding(role, r.check, r.column, int(r.count), [int(x) for x in r.examples], message))
        spans_df = _frame(spans)
        first = pd.to_datetime(spans_df["first"]).min() if len(spans_df) else pd.NaT
        last = pd.to_datetime(spans_df["last"]).max() if len(spans_df) else pd.NaT
        days_stale: int | None = None
        if isinstance(last, pd.Timestamp):  # not NaT (no spans, or no time values)
            covered = last.normalize() + (pd.offsets.MonthEnd(0) if plan.month_coverage and freq == "month" else pd.Timedelta(0))
            days_stale = int((day - covered.normalize()) // pd.Timedelta(days=1))
            if days_stale > staleness[role]:
                findings.append(_finding(role, "stale", ", ".join(plan.time), days_stale, [],
                                         f"latest timestamp {last:%Y-%m-%d} is {days_stale} days before "
                                         f"as_of {day:%Y-%m-%d} (max {staleness[role]})"))
        if rows == 0:
            findings.append(_finding(role, "empty", "", 0, [], "the source has no rows"))
        counts_df = _frame(counts)
        per_period[role] = counts_df
        findings += _volume_findings(role, plan.period or "", freq, counts_df)
        summaries.append({"source": role, "rows": int(rows), "first": first, "last": last,
                          "days_stale": days_stale, "max_staleness": staleness[role]})
    frame = pd.DataFrame(findings, columns=["source", "check", "column", "severity", "count", "examples", "message"])
    summary = pd.DataFrame(summaries, columns=["source", "rows", "first", "last", "days_stale", "max_staleness"])
    if not summary.empty:
        summary["days_stale"] = summary["days_stale"].astype("Int64")
    failed = frame[frame["severity"] == "failed"].groupby("source").size()
    warned = frame[frame["severity"] == "warning"].groupby("source").size()
    summary["failed"] = summary["source"].map(failed).fillna(0).astype("int64")
    summary["warnings"] = summary["source"].map(warned).fillna(0).astype("int64")
    summary["status"] = ["failed" if f else "warning" if w else "ok" for f, w in zip(summary["failed"], summary["warnings"], strict=True)]
    return CheckResult(frame, summary, day, output, per_period)


def _frame(table: Any) -> pd.DataFrame:
    import pyarrow as pa

    frame: pd.DataFrame = pa.table(table).to_pandas(date_as_object=False)
    return frame


def _finding(source: str, check: str, column: str, count: int, examples: list[int], message: str) -> dict[str, Any]:
    severity = "failed" if check in FAILED_CHECKS else "warning"
    return {"source": source, "check": check, "column": column, "severity": severity, "count": count,
            "examples": examples, "message": message}


def _volume_findings(role: str, column: str, freq: str, counts: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    unit = _UNITS.get(freq, freq)

    def label(d: pd.Timestamp) -> str:
        return f"{d:%Y-%m}" if freq == "month" else f"{d:%Y-%m-%d}"

    gaps = counts[counts["gap"]]
    if len(gaps):
        shown = ", ".join(label(d) for d in gaps["period"].head(5))
        out.append(_finding(role, "gaps", column, len(gaps), [],
                            f"{len(gaps)} {unit}(s) without rows inside the span, e.g. {shown}"))
    drops = counts[counts["drop"]]
    if len(drops):
        shown = "; ".join(f"{label(r.period)}: {r.rows} rows vs median {r.trailing_median:g}"
                          for r in records(drops.head(3)))
        before = f"the same weekday of the {TRAILING} weeks before" if freq == "day" else f"the {TRAILING} {unit}s before"
        out.append(_finding(role, "volume_drop", column, len(drops), [int(x) for x in drops["first_row"].head(5)],
                            f"{len(drops)} {unit}(s) with fewer than {DROP_RATIO:.0%} of the median rows of "
                            f"{before}, e.g. {shown}"))
    return out


def _badge(text: str) -> str:
    colour = _SEVERITY_COLOURS.get(text, "#868e96")
    return f"<span style='background:{colour};color:white;border-radius:3px;padding:1px 6px'>{html.escape(text)}</span>"


def _cell(value: Any, right: bool = False) -> str:
    align = ";text-align:right" if right else ""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value) or value is pd.NA:
        text = "–"
    elif isinstance(value, (pd.Timestamp, dt.datetime)):
        text = f"{value:%Y-%m-%d}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = html.escape(str(value))
    return f"<td style='padding:4px 8px{align}'>{text}</td>"


def _render_html(result: CheckResult) -> str:
    def th(hs: list[str]) -> str:
        return "".join(f"<th style='text-align:left;padding:4px 8px'>{h}</th>" for h in hs)

    rows = []
    for r in records(result.sources):
        stale = None if r.days_stale is pd.NA else int(r.days_stale)
        rows.append(
            f"<tr><td style='padding:4px 8px'><b>{html.escape(r.source)}</b></td>{_cell(int(r.rows), True)}"
            f"{_cell(r.first)}{_cell(r.last)}{_cell(stale, True)}"
            f"<td style='padding:4px 8px'>{_badge(r.status)}</td></tr>"
        )
    table = (f"<table style='border-collapse:collapse'><thead><tr>"
             f"{th(['source', 'rows', 'first', 'last', 'days stale', 'status'])}</tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>")
    found = []
    for f in records(result.findings):
        examples = ", ".join(str(x) for x in f.examples) or "–"
        found.append(
            f"<tr>{_cell(f.source)}{_cell(f.check)}<td style='padding:4px 8px'>{_badge(f.severity)}</td>"
            f"{_cell(int(f.count), True)}{_cell(examples)}{_cell(f.message)}</tr>"
        )
    details = (f"<table style='border-collapse:collapse;margin-top:8px'><thead><tr>"
               f"{th(['source', 'check', 'severity', 'count', 'example rows', 'message'])}</tr></thead>"
               f"<tbody>{''.join(found)}</tbody></table>") if found else ""
    caption = f"<div style='color:#495057'>Data checks as of {result.as_of:%Y-%m-%d}</div>"
    return caption + table + details
