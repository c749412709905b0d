"""Metric histories from a :class:`~kpikit.Sources` bundle, shared by the scorecard and the
journey view: each catalog function runs by its recipe (catalog data, :class:`Recipe`), the
metric's column and rows are read as a history of complete periods, with the counts or the
interval the catalog names for it."""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .catalog import Recipe, metric, recipe
from .exceptions import ParameterError, SkippedRowsWarning
from .sources import Sources

__all__ = ["DAILY_MEAN", "PERIODS", "compute", "metric_history", "missing_columns", "missing_keys", "normalize_freq", "parse_window"]

#: The length of each period a KPI can be reviewed at.
PERIODS: dict[str, pd.DateOffset] = {
    "day": pd.DateOffset(days=1),
    "week": pd.DateOffset(weeks=1),
    "month": pd.DateOffset(months=1),
    "quarter": pd.DateOffset(months=3),
    "year": pd.DateOffset(years=1),
}


#: Metrics whose value for a week, month, quarter or year is the mean of their daily values
#: (docs/conventions.md#kpis): DAU/MAU of a month is how sticky its days were on average, not the
#: ratio on its last day, which a weekend would halve.
DAILY_MEAN = frozenset({"dau_mau"})

# The aliases of each period the core accepts (pandas' and spelled out), src/core/time.rs.
_FREQ_ALIASES = {
    "day": ("day", "daily", "d", "1d"), "week": ("week", "weekly", "w", "1w", "w-sun"),
    "month": ("month", "monthly", "m", "ms", "me", "1m"), "quarter": ("quarter", "quarterly", "q", "qs", "qe"),
    "year": ("year", "yearly", "annual", "y", "ys", "ye", "a"),
}


def normalize_freq(freq: Any) -> str | None:
    """A period's name (``"quarter"``) from any alias the core accepts (``"Q"``, ``"QS"``,
    ``"quarterly"``); None when it is none.

    >>> normalize_freq("Q"), normalize_freq("month"), normalize_freq("fortnight")
    ('quarter', 'month', None)
    """
    if not isinstance(freq, str):
        return None
    lower = freq.strip().lower()
    return next((name for name, aliases in _FREQ_ALIASES.items() if lower in aliases), None)


_PANDAS_FREQ = {"week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}


# The conversion window's units as the core reads them (src/core/funnel.rs), in microseconds.
_WINDOW_UNITS = {"us": 1, "ms": 1_000, "s": 10**6, "sec": 10**6, "seconds": 10**6, "m": 60 * 10**6,
                 "min": 60 * 10**6, "minutes": 60 * 10**6, "h": 3_600 * 10**6, "hours": 3_600 * 10**6,
                 "d": 86_400 * 10**6, "D": 86_400 * 10**6, "days": 86_400 * 10**6,
                 "w": 604_800 * 10**6, "W": 604_800 * 10**6, "weeks": 604_800 * 10**6}


def parse_window(text: Any) -> pd.Timedelta | None:
    """A conversion window (``"90d"``, ``"36h"``, ``"2w"``, ``"none"``) as a duration, read as
    the funnel reads it; None for no window. Anything else (``"3 months"``: a month has no fixed
    length) raises :class:`~kpikit.ParameterError`.

    >>> parse_window("90d"), parse_window(None)
    (Timedelta('90 days 00:00:00'), None)
    """
    if text is None or (isinstance(text, str) and text.strip().lower() == "none"):
        return None
    raw = str(text).strip()
    split = next((i for i, c in enumerate(raw) if not (c.isdigit() or c == ".")), len(raw))
    number, unit = raw[:split], raw[split:].strip()
    try:
        us = round(float(number) * _WINDOW_UNITS[unit])
    except (KeyError, ValueError):
        us = 0
    if not 1 <= us < 9 * 10**18:
        raise ParameterError(f"window {text!r} is not a positive duration such as \"14d\", \"36h\", \"90min\" or "
                             "\"2w\" (months and years have no fixed length)")
    return pd.Timedelta(microseconds=us)


def _function(name: str) -> Any:
    """A kpikit function by its catalog name (``"nps"``, ``"formulas.roi"``)."""
    found: Any = importlib.import_module(__package__ or "kpikit")
    for part in name.split("."):
        found = getattr(found, part)
    return found


def _keywords(columns: Any, wanted: Any) -> dict[str, Any]:
    # A list of columns (a funnel's stages) is passed as a list, whatever sequence it came as.
    return {param: list(columns[key]) if isinstance(columns[key], (list, tuple)) else columns[key]
            for key, param in wanted.items() if key in columns}


def missing_keys(function: str, columns: Mapping[str, Any]) -> list[str]:
    """The column keys catalog function ``function`` needs that a source declaring ``columns``
    lacks: its recipe's required keys, and the keys feeding a parameter without a default (a
    leads source with stages only cannot run ``lead_metrics``, which needs ``created``)."""
    r = recipe(function)
    if r is None:
        return []
    parameters = inspect.signature(_function(function)).parameters
    needed = [*r.required, *(key for key, param in r.columns.items()
                             if param in parameters and parameters[param].default is inspect.Parameter.empty)]
    return [key for key in dict.fromkeys(needed) if key not in columns]


def missing_columns(metric_id: str, declared: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """``(function, role, key)`` for each column key that the functions computing a metric (its
    own, and the one of its counts) need from a declared role (role → its column keys) and it
    lacks. Roles not declared at all are not listed here."""
    m = metric(metric_id)
    functions = [m.function, *([m.counts.function] if m.counts is not None and m.counts.function else [])]
    lacking = []
    for function in dict.fromkeys(functions):
        r = recipe(function)
        if r is not None and r.source in declared:
            lacking += [(function, r.source, key) for key in missing_keys(function, declared[r.source])]
    return lacking


def _call(sources: Sources, function: str, r: Recipe, freq: str) -> Any:
    table, columns = sources.get(r.source, function)
    missing = missing_keys(function, columns)
    if missing:
        raise ParameterError(f"{function} needs the column key {missing[0]!r} of the {r.source!r} source, which the "
                             "bundle does not declare")
    keywords = _keywords(columns, r.columns)
    keywords.update(r.options)
    for extra in r.extra:
        found = getattr(sources, extra.source, None)
        if found is not None:
            keywords[extra.table] = found[0]
            keywords.update(_keywords(found[1], extra.columns))
    with warnings.catch_warnings():
        # Rows a recipe skips (off-scale scores, unrated tickets) are reported by the source's
        # integrity check (kpikit.check), shown beside the KPIs they affect.
        warnings.simplefilter("ignore", SkippedRowsWarning)
        # The histories below read pandas, whatever library the sources are in.
        return _function(function)(table, freq=freq, output="pandas", **keywords)


def compute(sources: Sources, function: str, freq: str, cache: dict[tuple[str, str], Any], *, needed_by: str) -> Any:
    """The output of catalog function ``function`` over ``sources`` per ``freq`` period, run
    by its recipe once per (function, freq) in ``cache``."""
    r = recipe(function)
    if r is None:
        raise ParameterError(f"{needed_by} is computed by {function}, which cannot run from sources yet")
    if (function, freq) not in cache:
        cache[(function, freq)] = _call(sources, function, r, freq)
    return cache[(function, freq)]


def metric_history(
    sources: Sources,
    metric_id: str,
    freq: str,
    cutoff: pd.Timestamp | None,
    cache: dict[tuple[str, str], Any],
    *,
    needed_by: str,
    counts: bool = True,
    incomplete: bool = False,
) -> pd.DataFrame:
    """A catalog metric's history from ``sources``: ``period`` and the metric's id, one row
    per complete period.

    A period is complete when it has ended by ``cutoff``, and, for a cohort of leads with a
    conversion window (the leads source's ``window``), when the window of its last lead has
    closed by ``cutoff`` too: a cohort still converting would read as a drop. With
    ``incomplete`` the incomplete periods are kept, after the complete ones, and the column
    ``complete`` says which is which; they must never be judged (docs/conventions.md#kpis).

    With ``counts`` and a metric that has them in the catalog, the rate's numerator and
    denominator columns (of the output of the counts' function, same periods) are added as
    ``numerator`` and ``denominator``; a metric with its own interval gets ``ci_low`` and
    ``ci_high``. A metric of :data:`DAILY_MEAN` is the mean of its daily values per period.
    """
    m = metric(metric_id)
    daily = m.id in DAILY_MEAN and freq != "day"

    def run(function: str) -> Any:
        out = compute(sources, function, "day" if daily else freq, cache, needed_by=f"{needed_by}: metric {m.id!r}")
        for column, value in m.select.items():
            out = out[out[column] == value]
        return out

    out = run(m.function)
    r = recipe(m.function)
    window = None
    leads = getattr(sources, "leads", None)
    if r is not None and r.source == "leads" and leads is not None:
        window = parse_window(leads[1].get("window"))
    # A conversion cohort whose window has not elapsed yet is still converting: its rates, later
    # steps and times to convert are not final, so only complete cohorts count (entries are).
    first_step_only = "step" in out.columns and bool((out["step"] == 1).all())
    if first_step_only:
        window = None
    cohort_done = pd.Series(True, index=out.index)
    if "complete" in out.columns and not first_step_only and out["complete"].notna().any():
        cohort_done = out["complete"].fillna(False).astype(bool)
    if daily:
        days = pd.to_datetime(out["period"])
        starts = days.dt.tz_localize(None) if days.dt.tz is not None else days
        starts = starts.dt.to_period(_PANDAS_FREQ[freq]).dt.start_time
        values = m.values(out).astype(float)
        mean = values.groupby(starts.to_numpy()).mean()
        history = pd.DataFrame({"period": mean.index.to_numpy(), m.id: mean.to_numpy()})
        done = pd.Series(True, index=history.index)
    else:
        history = pd.DataFrame({"period": pd.to_datetime(out["period"]).to_numpy(), m.id: m.values(out).astype(float).to_numpy()})
        done = pd.Series(cohort_done.to_numpy(), index=history.index)
    if counts and m.counts is not None and not daily:
        src = out if m.counts.function is None else run(m.counts.function)
        by_period = src.assign(period=pd.to_datetime(src["period"])).set_index("period")
        for name, column in zip(("numerator", "denominator"), (m.counts.numerator, m.counts.denominator), strict=True):
            history[name] = history["period"].map(by_period[column]).astype(float).to_numpy()
    if m.interval is not None and not daily:
        by_period = out.assign(period=pd.to_datetime(out["period"])).set_index("period")
        for name, column in zip(("ci_low", "ci_high"), m.interval, strict=True):
            history[name] = history["period"].map(by_period[column]).astype(float).to_numpy()
    if cutoff is not None:
        ends = history["period"] + PERIODS[freq]
        done &= (ends <= cutoff).to_numpy()
        if window is not None:
            done &= (ends + window <= cutoff).to_numpy()
        # A period starting after the cutoff has no data as of it at all: never kept.
        history = history[(history["period"] < cutoff).to_numpy()]
        done = done[history.index]
    history = history.reset_index(drop=True)
    done = done.reset_index(drop=True)
    if not incomplete:
        return history[done.to_numpy()].reset_index(drop=True)
    history["complete"] = done.to_numpy()
    return history
