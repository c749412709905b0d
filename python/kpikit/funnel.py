"""Funnels: how many users (or leads) reach each step, how fast, per segment and entry period.

Two shapes of input, one result:

* :func:`funnel_from_stages` — the wide shape, one row per lead and one timestamp column per
  stage (``visited_at``, ``signed_up_at``, ``pql_at``, ``customer_at``);
* :func:`funnel` — an event log (user, time, event name), matched against steps with the
  conventions of PostHog, Amplitude and Mixpanel as parameters and presets.

Both are computed in the Rust core as *partial → merge → finish*: per group the number of
journeys reaching each step and the exact list of step-to-step durations, so counts, means,
medians and p90 are exact, also when merged across Dask partitions: each function takes a
table or a Dask DataFrame (the analysis is declared once and run by ``_analysis.run``).

Definitions and what each preset sets: docs/conventions.md#funnels.
"""

from __future__ import annotations

import datetime as _dt
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import _kpikit
from ._analysis import Analysis, EventNames, check_segments, choice, freq as check_freq, run
from ._convert import column_list, time_zone
from ._settings import checked, local_micros
from ._typing import Output, TableLike, table_function
from .exceptions import ParameterError

__all__ = ["funnel", "funnel_from_stages"]

DEFAULT_STAGES = ("visited_at", "signed_up_at", "pql_at", "customer_at")
UNITS = ("seconds", "minutes", "hours", "days")
FREQS = ("day", "week", "month", "quarter", "year")
# Key columns of a funnel result, which a segment column may not shadow.
KEYS = ("period", "step", "step_name")


def window_text(window: Any) -> str | None:
    """A conversion window as the core's text form ("14d", "90min", "1234us"), or None."""
    if window is None:
        return None
    if isinstance(window, str):
        return window
    if isinstance(window, _dt.timedelta):  # also pandas.Timedelta
        us = round(window.total_seconds() * 1_000_000)
        return f"{us}us"
    try:
        import numpy as np

        if isinstance(window, np.timedelta64):
            return f"{int(window.astype('timedelta64[us]').astype('int64'))}us"
    except ImportError:  # pragma: no cover - numpy comes with pandas and pyarrow
        pass
    raise ParameterError(f'parameter "window": {window!r} is not a duration such as "14d" or a timedelta')


def histogram_bins(histogram: bool | int | None) -> int | None:
    """``histogram=`` as the core's argument: None (off), 0 (automatic bins) or a bin count."""
    if histogram is None or histogram is False:
        return None
    if histogram is True:
        return 0
    if isinstance(histogram, int) and histogram > 0:
        return histogram
    raise ParameterError(f'parameter "histogram": {histogram!r} is not True, False, None or a positive number of bins')


def _stage_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.funnel_from_stages(
        table, o["stages"], window=o["window"], by=o["by"], freq=o["freq"], tz=o["tz"],
        week_start=o["week_start"], unit=o["unit"], histogram=o["histogram"], invalid=o["invalid"],
    )


def _event_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.funnel(
        table, user=o["user"], time=o["time"], event=o["event"], steps=o["steps"], window=o["window"],
        order=o["order"], exclusions=o["exclusions"], by=o["by"], attribution=o["attribution"],
        count=o["count"], preset=o["preset"], freq=o["freq"], tz=o["tz"], week_start=o["week_start"],
        unit=o["unit"], histogram=o["histogram"], invalid=o["invalid"], start=o["start"], end=o["end"],
        detail=o["detail"],
    )


def _concat(states: list[Any]) -> Any:
    """Actor tables of partitions that share no user, as one table (docs/conventions.md#funnel-actors)."""
    import pyarrow as pa

    tables = [pa.table(s) for s in states]
    return pa.concat_tables(tables).combine_chunks() if tables else None


def _by_step(table: Any, options: dict[str, Any]) -> Any:
    """Actor rows step by step (stable: each partition's order within a step is kept)."""
    import pyarrow as pa

    t = pa.table(table)
    return t.take(pa.compute.sort_indices(t, sort_keys=[("step", "ascending")])) if t.num_rows else t


# A lead is one row, so stage funnels need no shuffle; an event funnel matches each user's
# events together, so every event of a user must be in one partition. Finish options (unit,
# histogram) travel in the state, so the default merge and finish serve both.
_STAGES = Analysis("funnel_from_stages", state=_stage_state)
_EVENTS = Analysis("funnel", state=_event_state, shuffle="user")
# Who converted and who dropped: each partition's rows are final (its users are its own), so
# merging is concatenating.
_ACTORS = Analysis("funnel", state=_event_state, merge=_concat, finish=_by_step, shuffle="user")


def _settings(by: Any, freq: str | None, unit: str, histogram: Any) -> tuple[list[str], dict[str, Any]]:
    """The segment columns and the finish options (which go into the state), checked."""
    if freq is not None:
        check_freq(freq, FREQS)
    finish = dict(unit=choice("unit", unit, UNITS), histogram=histogram_bins(histogram))
    return check_segments(column_list(by), KEYS), finish


@table_function
@checked
def funnel_from_stages(
    table: TableLike,
    /,
    *,
    stages: Sequence[str] = DEFAULT_STAGES,
    window: str | _dt.timedelta | None = None,
    by: str | Sequence[str] | None = None,
    freq: str | None = None,
    tz: str | None = None,
    week_start: str = "monday",
    unit: str = "days",
    histogram: bool | int | None = None,
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """Funnel over stage timestamp columns: leads reaching each stage, conversion and time to convert.

    One row per lead; each stage is a timestamp column, null when the lead never reached it.
    A lead enters at the first stage and reaches stage k when stages 1…k are all present, in
    time order (equal times allowed) and stage k is at most ``window`` after stage 1 (a stage
    exactly at the limit counts). A missing stage ends the lead's progress: later stages do not
    count (a customer without a PQL date stops at sign-up). Row k of the result describes
    arriving at stage k:

        entered                  = leads that reached stage k−1   (stage 1: leads that reached it)
        converted                = leads that reached stage k
        conversion_from_previous = converted / entered
        conversion_from_first    = converted / leads that reached stage 1
        time_to_convert_*        = mean, median, p90 of (stage k time − stage k−1 time)
        time_from_first_*        = mean, median, p90 of (stage k time − stage 1 time)

    over the converted leads (on the last row, ``time_from_first_*`` covers the whole funnel), in ``unit`` (default days). Median and p90 are exact
    (numpy's default linear interpolation between order statistics). Rates with a zero
    denominator and times with nobody converting are null. Definitions:
    docs/conventions.md#funnel-from-stages.

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per lead. A Dask DataFrame is counted partition by partition where it lives
        (a lead is one row: no shuffle) and the counts and durations merged exactly.
    stages : list of str, default ``("visited_at", "signed_up_at", "pql_at", "customer_at")``
        Timestamp (or date) columns in funnel order; 1 to 32 of them.
    window : str or timedelta, optional
        Conversion window measured from stage 1, e.g. ``"30d"``, ``"36h"``, ``"2w"``; boundary
        included. Default: no limit.
    by : str or list of str, optional
        Segment columns (channel, plan…); missing values form their own segment.
    freq : {"day", "week", "month", "quarter", "year"}, optional
        Conversion trends: one funnel per entry period (the period of stage 1, in ``tz``), every
        period from the first to the last, and a ``complete`` column, true when every lead of the
        period has had its full ``window`` by the latest timestamp in the data (null without a
        window: conversion can still happen).
    tz : str, optional
        Time zone the periods are counted in; naive timestamps are taken as local to it.
        Default: the zone of the zone-aware time columns, else UTC (the result says which:
        ``attrs["tz"]`` in pandas, schema metadata ``kpikit.tz`` in Arrow).
    week_start : str, default "monday"
        First day of a week for ``freq="week"``.
    unit : {"seconds", "minutes", "hours", "days"}, default "days"
        Unit of the time-to-convert columns (their names end in it).
    histogram : bool or int, optional
        Add ``histogram_from_<unit>`` (lower bin edges) and ``histogram_count`` list columns
        of the step-to-step times, and ``from_first_histogram_from_<unit>`` and
        ``from_first_histogram_count`` of the times from stage 1: equal-width bins from the
        fastest to the slowest conversion; ``True`` picks
        clamp(ceil(cbrt(n)), 1, 60) bins (PostHog's rule), an int that many.
    invalid : {"raise", "skip", "truncate"}, default "raise"
        A lead with a present stage earlier than a present stage before it is out of order:
        ``"raise"`` fails with an :class:`~kpikit.InputError` naming the rows; ``"skip"``
        leaves such leads out and reports how many with a :class:`~kpikit.SkippedRowsWarning`;
        ``"truncate"`` keeps them, their progress ending before the stage out of order.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (docs/vocabulary.md).

    Returns
    -------
    DataFrame
        ``period`` (with ``freq``), the segments, ``step`` (1-based), ``step_name``,
        ``entered``, ``converted``, ``conversion_from_first``, ``conversion_from_previous``,
        ``time_to_convert_mean_<unit>``, ``time_to_convert_median_<unit>``,
        ``time_to_convert_p90_<unit>``, ``time_from_first_mean_<unit>``,
        ``time_from_first_median_<unit>``, ``time_from_first_p90_<unit>``, then ``complete``
        (with ``freq``) and the histograms.

    Examples
    --------
    Three leads: one goes all the way, one signs up 2 days after its visit, one only visits.

    >>> import pandas as pd, kpikit
    >>> t = pd.Timestamp("2025-01-01")
    >>> leads = pd.DataFrame({
    ...     "visited_at": [t, t, t],
    ...     "signed_up_at": [t + pd.Timedelta("1D"), t + pd.Timedelta("2D"), pd.NaT],
    ...     "customer_at": [t + pd.Timedelta("5D"), pd.NaT, pd.NaT],
    ... })
    >>> out = kpikit.funnel_from_stages(leads, stages=["visited_at", "signed_up_at", "customer_at"])
    >>> print(out[["step_name", "entered", "converted", "conversion_from_first", "time_to_convert_median_days"]].to_string())
          step_name  entered  converted  conversion_from_first  time_to_convert_median_days
    0    visited_at        3          3               1.000000                          NaN
    1  signed_up_at        3          2               0.666667                          1.5
    2   customer_at        2          1               0.333333                          4.0
    """
    stage_list = [str(s) for s in ([stages] if isinstance(stages, str) else stages)]
    segments, finish = _settings(by, freq, unit, histogram)
    options = dict(
        stages=stage_list, window=window_text(window), by=segments, freq=freq, tz=tz, week_start=week_start,
        invalid=choice("invalid", invalid, ("raise", "skip", "truncate")), **finish,
    )
    return run(_STAGES, table, columns=[*stage_list, *segments], options=options, output=output,
               segments=segments)


def _steps(steps: Any) -> list[list[str]]:
    """``steps=`` as the core's list of name lists: each step a name or a list of names."""
    example = 'e.g. ["signup", "upgrade"] or ["signup", ["csv_export", "pdf_export"]]'
    if isinstance(steps, (str, Mapping)) or not isinstance(steps, Iterable):
        raise ParameterError(f'parameter "steps": give a list of steps, {example}; got {steps!r}')
    out = []
    for s in steps:
        names = [s] if isinstance(s, str) else list(s) if isinstance(s, Iterable) and not isinstance(s, Mapping) else None
        if not names or not all(isinstance(x, str) for x in names):
            raise ParameterError(f'parameter "steps": each step is an event name or a list of event names, {example}; got {s!r}')
        out.append(names)
    return out


def _exclusions(exclusions: Any, n_steps: int) -> list[tuple[str, int, int]]:
    """``exclusions=`` as the core's (event, from, to) triples, 0-based, each one checked."""
    if exclusions is None:
        return []
    form = '(event, from_step, to_step) or {"event": …, "from_step": …, "to_step": …}'
    if isinstance(exclusions, (str, Mapping)) or not isinstance(exclusions, Sequence) or (
        len(exclusions) == 3 and isinstance(exclusions[0], str) and not isinstance(exclusions[1], (str, Sequence, Mapping))
    ):
        raise ParameterError(f'parameter "exclusions": give a list of {form}; got {exclusions!r}')
    out = []
    for x in exclusions:
        if isinstance(x, Mapping):
            unknown = sorted(str(k) for k in x if k not in ("event", "from_step", "to_step"))
            if unknown or "event" not in x:
                problem = f"unknown key {unknown[0]!r}" if unknown else 'no "event" key'
                raise ParameterError(f'parameter "exclusions": {x!r} has {problem}; write {form}')
            event, lo, hi = x["event"], x.get("from_step", 1), x.get("to_step", n_steps)
        elif isinstance(x, Sequence) and not isinstance(x, str) and len(x) == 3:
            event, lo, hi = x
        else:
            raise ParameterError(f'parameter "exclusions": {x!r} is not {form}')
        if not isinstance(event, str):
            raise ParameterError(f'parameter "exclusions": the event of {x!r} is not an event name (a str)')
        try:
            if isinstance(lo, bool) or isinstance(hi, bool):
                raise TypeError
            lo, hi = operator.index(lo), operator.index(hi)
        except TypeError:
            raise ParameterError(f'parameter "exclusions": the steps of {x!r} are not whole numbers') from None
        if not 1 <= lo < hi <= n_steps:
            raise ParameterError(
                f'parameter "exclusions": {event!r} needs 1 ≤ from_step < to_step ≤ {n_steps}, got {lo} and {hi}'
            )
        out.append((event, lo - 1, hi - 1))
    return out


def _reached(steps: list[list[str]], order: str | None) -> Any:
    """The names a funnel result proves present: those of one-name steps someone reached. In
    any-order funnels row k is "any k of n steps", which proves no name, except step 1 when it
    must come first."""
    named = {"unordered": 0, "any_after_first": 1}.get(order or "", len(steps))

    def proven(result: Any) -> set[str]:
        import pyarrow as pa
        import pyarrow.compute as pc

        reached = set()
        actors = "status" in result.column_names  # the detail table (detail=True)
        # Only the columns read: pyarrow cannot filter polars' string_view segment columns.
        result = result.select(["step", "status" if actors else "converted"])
        for k, names in enumerate(steps[:named], start=1):
            if len(names) == 1:
                rows = result.filter(pc.equal(result["step"], pa.scalar(k)))
                if actors:
                    rows = rows.filter(pc.equal(rows["status"], pa.scalar("converted")))
                if rows.num_rows if actors else pc.sum(rows["converted"]).as_py():
                    reached.add(names[0])
        return reached

    return proven


@table_function
@checked
def funnel(
    table: TableLike,
    /,
    *,
    user: str,
    time: str,
    event: str = "event",
    steps: Sequence[str | Sequence[str]],
    window: str | _dt.timedelta | None = None,
    order: str | None = None,
    exclusions: Sequence[Any] | None = None,
    by: str | Sequence[str] | None = None,
    attribution: str | None = None,
    count: str | None = None,
    preset: str | None = None,
    freq: str | None = None,
    tz: str | None = None,
    week_start: str = "monday",
    unit: str = "days",
    histogram: bool | int | None = None,
    invalid: str = "raise",
    start: Any = None,
    end: Any = None,
    detail: bool = False,
    output: Output | None = None,
) -> Any:
    """Funnel over an event log: users reaching each step, conversion and time to convert.

    Per user, events are sorted by time (simultaneous events: the one of the lowest step first).
    An *attempt* starts at a step-1 event and fills the steps after it; every step must come at
    most ``window`` after the entry (a step exactly at the limit counts) and each event fills at
    most one step, so a step listed twice needs two events. A user counts once, by the attempt
    that gets furthest (the earliest of equals, Amplitude's "earliest longest path"). Row k of
    the result describes arriving at step k:

        entered                  = users (attempts) that reached step k−1   (step 1: that reached it)
        converted                = users (attempts) that reached step k
        conversion_from_previous = converted / entered
        conversion_from_first    = converted / users that reached step 1
        time_to_convert_*        = mean, median, p90 of (step k time − step k−1 time)
        time_from_first_*        = mean, median, p90 of (step k time − step 1 time)

    of the counted attempts (on the last row, ``time_from_first_*`` covers the whole funnel), in ``unit`` (default days; PostHog reports seconds, pass
    ``unit="seconds"`` to compare). Median and p90 are exact (linear interpolation between
    order statistics). Zero denominators give null. Definitions and presets:
    docs/conventions.md#funnels.

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per event, in any order; duplicates and single-event users are fine. A Dask
        DataFrame is shuffled by ``user`` (a user's attempts need all of their events), each
        partition is counted where it lives and the counts and durations merged exactly.
    user, time : str
        Columns of the user id (any type) and the event time (timestamp or date).
    event : str, default "event"
        Column of the event name (strings or categorical).
    steps : list of str or list of lists of str
        Event names of each step; a list means any of those names (1 to 32 steps). A name
        (of a step or an exclusion) that no row has raises an :class:`~kpikit.InputError`
        listing the names that occur, with a did-you-mean.
    window : str or timedelta, optional
        Conversion window from the entry event, e.g. ``"14d"``, ``"1h"``; ``"none"`` for no
        limit. Default 14 days (or the preset's).
    order : {"ordered", "strict", "any_after_first", "unordered"}, default "ordered"
        ``"ordered"``: steps in order, other events in between allowed; ``"strict"``: no other
        event of the user between two steps (PostHog strict, Amplitude exact order);
        ``"any_after_first"``: step 1 first, then the other steps in any order, row k counting
        users who completed step 1 and k−1 of the others (Amplitude's any order);
        ``"unordered"``: any step may start, row k counting users with k distinct steps within
        the window from the first of them (PostHog's any order; exclusions then span the whole
        funnel). With either, ``step_name`` reads "any k of n steps". The old ``"any"`` is
        refused with a message naming both.
    exclusions : list of (event, from_step, to_step) or dicts with those keys, optional
        A user doing ``event`` after step ``from_step`` and before step ``to_step`` (1-based) of
        an attempt spoils that attempt (before the window closes, when ``to_step`` is never
        reached); a user whose every attempt is spoiled is not in the funnel at all (PostHog).
        An exclusion at the same instant as the step that closes the gap does not count. In
        the dict form ``from_step`` defaults to 1 and ``to_step`` to the last step.
    by : str or list of str, optional
        Segment columns of the events (e.g. plan, country).
    attribution : {"first_touch", "last_touch", "step:N"}, default "first_touch"
        Whose segment values a user is counted under: the entry event's, the last reached
        step's, or step N's (users not reaching step N are left out).
    count : {"uniques", "totals"}, default "uniques"
        ``"totals"`` counts every attempt: a new one starts at the next step-1 event after the
        previous attempt converted, timed out or was spoiled (Mixpanel's totals); without a
        window an unfinished attempt never ends.
    preset : {"posthog", "amplitude", "mixpanel"}, optional
        The tool's defaults for the parameters left unset: PostHog 14-day window, Amplitude 30
        days, Mixpanel 7 days (all ordered, first touch, uniques). Not reproduced: Mixpanel's
        timing from the most recent step-1 event, Amplitude's one-second tie rule.
    freq : {"day", "week", "month", "quarter", "year"}, optional
        Conversion trends: one funnel per entry period (of the counted attempt's entry event),
        with a ``complete`` column as in :func:`funnel_from_stages`.
    tz, week_start : str
        Time zone and first weekday of the periods.
    unit : {"seconds", "minutes", "hours", "days"}, default "days"
        Unit of the time-to-convert columns (their names end in it).
    histogram : bool or int, optional
        Time-to-convert histogram columns, as in :func:`funnel_from_stages`.
    invalid : {"raise", "skip"}, default "raise"
        Rows with a missing user or time raise an :class:`~kpikit.InputError` naming them;
        ``"skip"`` leaves them out and reports how many with a
        :class:`~kpikit.SkippedRowsWarning`. A missing event name simply matches no step.
    start, end : date-like, optional
        Date range of the entries ``[start, end)``, read in ``tz``: an attempt counts only when
        its entry event (step 1; in an unordered funnel, its first step) is inside it, as in
        PostHog; its later steps may fall after ``end``, within the window. Events before
        ``start`` never count. Default: every entry.
    detail : bool, default False
        Return who converted and who dropped instead of the counts (PostHog's persons of a
        step): one row per counted user (per attempt with ``count="totals"``) and step it
        entered, so that per group and step the rows are ``entered`` and those with
        ``status == "converted"`` are ``converted`` (docs/conventions.md#funnel-actors).
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (docs/vocabulary.md).

    Returns
    -------
    DataFrame
        As :func:`funnel_from_stages`: ``period``, segments, ``step``, ``step_name``,
        ``entered``, ``converted``, the two conversion rates, time to convert from the step
        before and from step 1 (mean, median, p90), ``complete`` with ``freq``, histograms on
        request. With ``detail=True``: ``period`` (with ``freq``), segments, ``step``,
        ``step_name``, the ``user`` column, ``status`` (``"converted"``: reached step k;
        ``"dropped"``: reached step k − 1 but not k; step 1 lists every entrant as converted),
        ``entered_at`` (time of step k − 1, step 1: its own) and ``converted_at`` (time of step
        k, null when dropped), rows ordered by step.

    Examples
    --------
    User 1 signs up and upgrades 2 hours later; user 2 only signs up; user 3 upgrades without
    signing up (never enters):

    >>> import pandas as pd, kpikit
    >>> t = pd.Timestamp("2025-01-01")
    >>> events = pd.DataFrame({
    ...     "user": [1, 1, 2, 3],
    ...     "time": [t, t + pd.Timedelta("2h"), t, t],
    ...     "event": ["signup", "upgrade", "signup", "upgrade"],
    ... })
    >>> out = kpikit.funnel(events, user="user", time="time", steps=["signup", "upgrade"], unit="hours")
    >>> print(out[["step_name", "entered", "converted", "conversion_from_previous", "time_to_convert_mean_hours"]].to_string())
      step_name  entered  converted  conversion_from_previous  time_to_convert_mean_hours
    0    signup        2          2                       1.0                         NaN
    1   upgrade        2          1                       0.5                         2.0

    A misspelt step is an error, not a funnel nobody converts in:

    >>> kpikit.funnel(events, user="user", time="time", steps=["signup", "upgrad"])
    Traceback (most recent call last):
    ...
    kpikit.exceptions.InputError: parameter "steps": event 'upgrad' never occurs in column "event" (did you mean 'upgrade'?). The 2 event names that occur: 'signup', 'upgrade'.

    Who converted and who dropped at each step:

    >>> people = kpikit.funnel(events, user="user", time="time", steps=["signup", "upgrade"], detail=True)
    >>> print(people[["step", "user", "status", "converted_at"]].to_string())
       step  user     status        converted_at
    0     1     1  converted 2025-01-01 00:00:00
    1     1     2  converted 2025-01-01 00:00:00
    2     2     1  converted 2025-01-01 02:00:00
    3     2     2    dropped                 NaT
    """
    step_names = _steps(steps)
    excluded = _exclusions(exclusions, len(step_names))
    segments, finish = _settings(by, freq, unit, histogram)
    # The range bounds are read in the zone the periods are counted in, so it is settled first.
    tz = time_zone(table, [time], tz)
    options = dict(
        user=user, time=time, event=event, steps=step_names, window=window_text(window), order=order,
        exclusions=excluded, by=segments, attribution=attribution, count=count,
        preset=preset, freq=freq, tz=tz, week_start=week_start, invalid=choice("invalid", invalid, ("raise", "skip")),
        start=local_micros("start", start, tz), end=local_micros("end", end, tz), detail=detail, **finish,
    )
    if detail and user in (*segments, *KEYS, "status", "entered_at", "converted_at"):
        raise ParameterError(f'parameter "user": {user!r} is also a column of the detail table; rename it')
    # A step or exclusion name that never occurs is a typo, not a funnel nobody converts in.
    names = EventNames(event, {"steps": [n for names in step_names for n in names],
                               "exclusions": [e for e, _, _ in excluded]}, _reached(step_names, order))
    return run(_ACTORS if detail else _EVENTS, table, columns=[user, time, event, *segments], options=options,
               output=output, segments=segments, events=names)
