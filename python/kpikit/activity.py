"""Activity over event logs: active users (DAU, WAU, MAU, DAU/MAU), stickiness and lifecycle.

The work happens in the Rust core: rows are grouped per user with a counting sort and every
user's days are reduced on all threads, so "a user active on several days counts once" is exact
without a global hash set.

Definitions, and how PostHog's and Amplitude's conventions map to the keywords:
docs/conventions.md#journey.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from . import _kpikit
from ._analysis import Analysis, EventNames, check_segments, choice, freq as check_freq, is_dask, output_of, run
from ._convert import column_list, table_input, table_output, time_zone
from ._settings import checked, local_micros
from ._typing import Output, TableLike, table_function
from .exceptions import ParameterError, SchemaError

__all__ = ["active_users", "lifecycle", "stickiness"]

DEFAULT_WINDOWS: dict[str, int] = {"dau": 1, "wau": 7, "mau": 30}

_US_PER_DAY = 86_400_000_000

#: Periods the activity kernels bucket days in (docs/vocabulary.md).
FREQS = ("day", "week", "month", "quarter", "year")


def event_names(events: str | Sequence[str] | None) -> list[str] | None:
    """``events=`` (one event name or several) as a list of names (None: no filter)."""
    if events is None:
        return None
    if isinstance(events, str):
        return [events]
    return [str(e) for e in events]


def whole(parameter: str, value: Any, what: str = "") -> int:
    """``value`` as an int when it is a whole number (an int, a numpy integer, or a float with
    no fractional part), else a ParameterError naming ``parameter``: a fraction is refused,
    never rounded (docs/vocabulary.md). The range is checked by the core. ``what`` prefixes the
    value in the message (e.g. a window's name)."""
    import numbers

    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return int(number)
    raise ParameterError(f'parameter "{parameter}": {what}{value!r} is not a whole number')


def flag(parameter: str, value: Any) -> bool:
    """``value`` when it is a bool (Python's or numpy's), else a ParameterError naming
    ``parameter``: ``"no"`` or ``2`` is not read as true."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ParameterError(f'parameter "{parameter}": {value!r} is not True or False')


def columns_of(table: Any) -> list[str] | None:
    """The column names of a pandas, polars, Dask or Arrow table (None for other inputs)."""
    if hasattr(table, "collect_schema"):
        # polars: a LazyFrame's columns without the warning `.columns` gives for it.
        return [str(c) for c in table.collect_schema().names()]
    names = getattr(table, "column_names", None)
    if names is None:
        names = getattr(table, "columns", None)
    return None if names is None else [str(c) for c in names]


def check_event_column(table: Any, event: str, used: bool) -> None:
    """Refuse an ``event=`` that names no column while no event filter reads it: ``event=`` is
    the event-name column (docs/vocabulary.md), and an event name passed there would otherwise
    be ignored and every event counted."""
    if used or event == "event":
        return
    names = columns_of(table)
    if names is not None and event not in names:
        raise SchemaError(
            f'parameter "event": column {event!r} not found; the table has {names}. event= names '
            f"the column of event names; to count only some events pass events={event!r}"
        )


def day_number(value: Any, name: str, tz: str, exclusive: bool = False) -> int | None:
    """A date-like value as the day (days since 1970-01-01) of its wall-clock time in ``tz``
    (None stays None), read as every range bound is (:func:`kpikit._settings.local_micros`).
    With ``exclusive`` the value is an exclusive range end and the result the day of the last
    instant before it."""
    us = local_micros(name, value, tz)
    if us is None:
        return None
    return (us - 1 if exclusive else us) // _US_PER_DAY


def _in_memory(table: Any, name: str) -> None:
    """Refuse a Dask DataFrame by name: the core has no partial state (partial → merge →
    finish) for this analysis, so it needs every event in one table."""
    if is_dask(table):
        raise SchemaError(f"{name} takes an in-memory table, not a Dask DataFrame; call .compute() first "
                          "(select the user and time columns first to keep it small)")


def _active_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.active_users(
        table, user=o["user"], time=o["time"], freq=o["freq"], windows=o["windows"], by=o["by"],
        events=o["events"], event=o["event"], tz=o["tz"], week_start=o["week_start"], invalid=o["invalid"],
        start=o["start"], end=o["end"],
    )


# Distinct users only add up over partitions that do not share a user: on Dask the events are
# shuffled by user first (docs/architecture.md).
_ACTIVE_USERS = Analysis("active_users", state=_active_state, shuffle="user")


def _windows(windows: Any) -> list[tuple[str, int]]:
    """``windows=`` as (column name, days) pairs; a length that is not a whole number of days
    is a ParameterError (1.9 days is not read as 1)."""
    if not isinstance(windows, Mapping):
        raise ParameterError(f'parameter "windows": {windows!r} is not a dict of column name to days, e.g. {{"mau": 28}}')
    return [(str(k), whole("windows", v, f"{str(k)!r}: ")) for k, v in windows.items()]


def _active(names: list[str]) -> Any:
    """The names an active-users result proves present: a single event name someone did."""

    def proven(result: Any) -> set[str]:
        import pyarrow.compute as pc

        return set(names) if len(set(names)) == 1 and pc.max(result["active_users"]).as_py() else set()

    return proven


@table_function
@checked
def active_users(
    table: TableLike,
    /,
    *,
    user: str,
    time: str,
    freq: str = "day",
    windows: Mapping[str, int] | None = None,
    start: Any = None,
    end: Any = None,
    by: str | Sequence[str] | None = None,
    events: str | Sequence[str] | None = None,
    event: str = "event",
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
    partitioned: bool = False,
) -> Any:
    """Distinct active users per period over trailing windows of days, and DAU/MAU.

    For a window of ``w`` days and a day ``t``, a user is active when they have at least one
    event on a day in ``t − w + 1 … t`` (the day itself included; windows at the start of the
    data only cover the days the data has). A user active on several days counts once:

        window(t) = |{users with an event on some day in [t − w + 1, t]}|
        dau_mau   = dau / mau            (null when mau = 0)

    With the default ``windows`` that is DAU (1 day), WAU (7) and MAU (30); 28-day MAU is
    ``windows={"dau": 1, "mau": 28}``.

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        The event log, one row per event, in any order; duplicates are harmless. A Dask
        DataFrame is shuffled by user (each user's events in one partition), counted where it
        lives, and the partitions' counts added up exactly.
    user, time : str
        Columns of user ids (any type) and event times (timestamp or date).
    freq : {"day", "week", "month", "quarter", "year"}, default "day"
        Output periods. With a longer period, window columns are taken on the period's last
        day (or the last day of the data if earlier), and ``active_users`` counts the distinct
        users active in the whole period.
    windows : dict of str to int, default {"dau": 1, "wau": 7, "mau": 30}
        Output column name → window length in whole days (1 to 3660); a fraction such as
        1.9 is a :class:`~kpikit.ParameterError`, never rounded.
    start, end : date-like, optional
        The range ``[start, end)`` (end exclusive), read in ``tz``: only events in it count
        (a window at the start of the range covers none of the days before it), and the
        periods are those from the one containing ``start`` to the one containing the last
        instant before ``end``, periods without events included (0 users). Default: the
        data's first and last period (docs/conventions.md#date-ranges).
    by : str or list of str, optional
        Segment columns; a user active in two segments counts in both. Missing segment values
        form their own group.
    events : str or list of str, optional
        Count only events with this name (or one of these names); default every event. A
        name that no row has raises an :class:`~kpikit.InputError` listing the names that
        occur, with a did-you-mean.
    event : str, default "event"
        Column of event names, read only when ``events`` is given.
    tz : str, optional
        Time zone the periods are counted in; naive timestamps are taken as local to it.
        Default: the zone of the zone-aware time columns, else UTC (the result says which:
        ``attrs["tz"]`` in pandas, schema metadata ``kpikit.tz`` in Arrow).
    week_start : str, default "monday"
        First day of a week for ``freq="week"``.
    invalid : {"raise", "skip"}, default "raise"
        A missing user or time raises an :class:`~kpikit.InputError` naming the rows;
        ``"skip"`` leaves such rows out and reports how many with a
        :class:`~kpikit.SkippedRowsWarning`.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (docs/vocabulary.md).
    partitioned : bool, default False
        Dask input only: every user's events already share one partition, so the shuffle is
        skipped.

    Returns
    -------
    DataFrame
        ``period``, the segments, ``active_users`` (distinct users in the period), one column
        per window, and ``dau_mau`` when windows named "dau" and "mau" exist. One row per
        period from the first to the last of the data (or of ``start … end``), gaps included.

    Examples
    --------
    User ``a`` is active on Jan 1 and Jan 3, user ``b`` on Jan 2: on Jan 3 one user was active
    that day and two over the trailing 3 days (Jan 1–3).

    >>> import pandas as pd, kpikit
    >>> log = pd.DataFrame({"user": ["a", "b", "a"],
    ...                     "time": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"])})
    >>> kpikit.active_users(log, user="user", time="time", windows={"dau": 1, "mau": 3})
          period  active_users  dau  mau  dau_mau
    0 2026-01-01             1    1    1      1.0
    1 2026-01-02             1    1    2      0.5
    2 2026-01-03             1    1    2      0.5

    The same call takes a Dask DataFrame:

    >>> import dask.dataframe as dd
    >>> kpikit.active_users(dd.from_pandas(log, npartitions=2), user="user", time="time",
    ...                     windows={"dau": 1, "mau": 3}).mau.tolist()
    [1, 2, 2]

    Over Jan 2–4 only: Jan 1 is left out (also of Jan 2's window), Jan 4 has no event.

    >>> kpikit.active_users(log, user="user", time="time", windows={"dau": 1, "mau": 3},
    ...                     start="2026-01-02", end="2026-01-05")[["period", "dau", "mau"]]
          period  dau  mau
    0 2026-01-02    1    1
    1 2026-01-03    1    2
    2 2026-01-04    0    2
    """
    names = event_names(events)
    check_event_column(table, event, names is not None)
    segments = check_segments(column_list(by))
    wins = _windows(DEFAULT_WINDOWS if windows is None else windows)
    event_column = event if names is not None else None
    # The range bounds are read in the zone the periods are counted in, so it is settled first.
    tz = time_zone(table, [time], tz)
    options = {
        "user": user, "time": time, "freq": check_freq(freq, FREQS), "week_start": week_start, "windows": wins,
        "by": segments, "event": event, "events": names, "tz": tz,
        "start": local_micros("start", start, tz), "end": local_micros("end", end, tz),
        "invalid": choice("invalid", invalid, ("raise", "skip")),
    }
    return run(
        _ACTIVE_USERS, table, columns=[user, time, event_column, *segments], options=options, output=output,
        segments=segments, partitioned=partitioned,
        events=None if names is None else EventNames(event, {"events": names}, _active(names)),
    )


@table_function
@checked
def stickiness(
    table: TableLike,
    /,
    *,
    user: str,
    time: str,
    freq: str = "day",
    start: Any = None,
    end: Any = None,
    cumulative: bool = False,
    min_events: int = 1,
    max_events: int | None = None,
    interval_count: int = 1,
    events: str | Sequence[str] | None = None,
    event: str = "event",
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """How many users were active on exactly (or at least) N intervals: PostHog's stickiness.

    An interval (``interval_count`` periods of ``freq``, one day by default) of ``start … end``
    counts for a user when they had from
    ``min_events`` to ``max_events`` counted events in it (PostHog's criteria: at least N is
    ``min_events=N``, at most N ``max_events=N``, exactly N both); users with no such interval
    are left out, and

        users(N) = |{users active in exactly N intervals}|        (cumulative: at least N)
        share(N) = users(N) / users active in at least one interval   (null when none)

    Parameters
    ----------
    table : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per event, in any order. Not a Dask DataFrame (a SchemaError says to compute
        it first).
    user, time : str
        Columns of user ids and event times.
    freq : {"hour", "day", "week", "month", "quarter", "year"}, default "day"
        Period length (hours are local hours of ``tz``).
    start, end : date-like, optional
        The range ``[start, end)`` (end exclusive, as everywhere in kpikit): the periods from
        the one containing ``start`` to the one containing the last instant before ``end``,
        read to the day (with ``freq="hour"``: every hour of those days).
        Default: the data's first and last period.
    cumulative : bool, default False
        Count users active on at least N intervals ("N days or more") instead of exactly N.
    min_events : int, default 1
        Events a user needs at least in an interval for it to count.
    max_events : int, optional
        Events a user may have at most in an interval for it to count; default no limit.
        ``min_events=N, max_events=N`` counts intervals with exactly N events.
    interval_count : int, default 1
        Periods per interval (PostHog's interval count): ``interval_count=2`` with
        ``freq="day"`` counts 2-day intervals, the first starting with the range's first day;
        a last, shorter interval counts as one. The events of all its periods add up.
    events : str or list of str, optional
        Count only events with this name (or one of these names), as in
        :func:`kpikit.active_users`; the default range is then that of those events.
    event : str, default "event"
        Column of event names, read only when ``events`` is given.
    tz, week_start, invalid, output
        As in :func:`kpikit.active_users`.

    Returns
    -------
    DataFrame
        ``intervals`` (1 … number of intervals in the range), ``users``, ``share``.

    Examples
    --------
    User ``a`` is active on two of the three days, ``b`` on one:

    >>> import pandas as pd, kpikit
    >>> log = pd.DataFrame({"user": ["a", "a", "a", "b"],
    ...                     "time": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-03", "2026-01-02"])})
    >>> kpikit.stickiness(log, user="user", time="time")
       intervals  users  share
    0          1      1    0.5
    1          2      1    0.5
    2          3      0    0.0

    In 2-day intervals (days 1–2 and day 3), ``a`` is active in both, ``b`` in one:

    >>> kpikit.stickiness(log, user="user", time="time", interval_count=2)
       intervals  users  share
    0          1      1    0.5
    1          2      1    0.5
    """
    _in_memory(table, "stickiness")
    names = event_names(events)
    check_event_column(table, event, names is not None)
    tz = time_zone(table, [time], tz)
    options = {
        "user": user, "time": time, "freq": check_freq(freq, ("hour", *FREQS)), "start": day_number(start, "start", tz),
        "end": day_number(end, "end", tz, exclusive=True), "cumulative": flag("cumulative", cumulative),
        "min_events": whole("min_events", min_events),
        "max_events": None if max_events is None else whole("max_events", max_events),
        "interval_count": whole("interval_count", interval_count), "events": names, "event": event, "tz": tz, "week_start": week_start,
        "invalid": choice("invalid", invalid, ("raise", "skip")),
    }
    return run(
        _STICKINESS, table, columns=[user, time, event if names is not None else None], options=options,
        output=output, events=None if names is None else EventNames(event, {"events": names}, _sticky(names)),
    )


def _sticky(names: list[str]) -> Any:
    """The names a stickiness result proves present: a single event name someone did."""

    def proven(result: Any) -> set[str]:
        import pyarrow.compute as pc

        return set(names) if len(set(names)) == 1 and pc.sum(result["users"]).as_py() else set()

    return proven


def _stickiness(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.stickiness(table, **o)


# Whole-table: each user's count of intervals needs all of their rows and the histogram has no
# key to merge by, so the "state" is the result (Dask input is refused above).
_STICKINESS = Analysis("stickiness", state=_stickiness, finish=lambda result, _: result)


@table_function
@checked
def lifecycle(
    table: TableLike,
    /,
    *,
    user: str,
    time: str,
    freq: str = "day",
    created: str | None = None,
    preset: str | None = None,
    start: Any = None,
    end: Any = None,
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """Growth accounting: new, returning, resurrecting and dormant users per period.

    For every period in which a user is active (from the first to the last period of the data):

    - ``returning``: also active in the previous period;
    - ``new``: ``preset="posthog"`` — the period is the user's creation period (the ``created``
      column, else their first active period); a user whose first activity comes after their
      creation period is *resurrecting*, as in PostHog. ``preset="amplitude"`` — the user's
      first active period (first seen), whatever ``created`` says;
    - ``resurrecting``: active, not in the previous period, and not new;
    - ``dormant`` (negative): active in the previous period but not in this one.

    and ``active = new + returning + resurrecting``, ``pulse = (new + resurrecting) / −dormant``
    (Amplitude's Pulse; null when no one went dormant).

    Parameters
    ----------
    table : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per event, in any order. Not a Dask DataFrame (a SchemaError says to compute
        it first).
    user, time : str
        Columns of user ids and event times.
    freq : {"day", "week", "month", "quarter", "year"}, default "day"
        Period length.
    created : str, optional
        Column with the user's creation time (the earliest per user is used; missing values
        fall back to the first active period). Only PostHog's definition reads it.
    preset : {"posthog", "amplitude"}, optional
        Which definition of "new" to use; default PostHog's.
    start, end : date-like, optional
        The range ``[start, end)``, read to the day: the periods shown, from the one containing
        ``start`` to the one containing the last instant before ``end``, periods without events
        included (the users going dormant after the last event). Events outside the range still
        decide the statuses inside it, as in PostHog (a user active the day before ``start`` is
        returning on it, not new). Default: the data's first and last period.
    tz, week_start, invalid, output
        As in :func:`kpikit.active_users`.

    Returns
    -------
    DataFrame
        ``period``, ``new``, ``returning``, ``resurrecting``, ``dormant``, ``active``, ``pulse``.

    Examples
    --------
    ``a`` is active on days 1, 2 and 4, ``b`` on day 2:

    >>> import pandas as pd, kpikit
    >>> log = pd.DataFrame({"user": ["a", "a", "a", "b"],
    ...                     "time": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-04", "2026-01-02"])})
    >>> kpikit.lifecycle(log, user="user", time="time")[["period", "new", "returning", "resurrecting", "dormant"]]
          period  new  returning  resurrecting  dormant
    0 2026-01-01    1          0             0        0
    1 2026-01-02    1          1             0        0
    2 2026-01-03    0          0             0       -2
    3 2026-01-04    0          0             1        0

    Over a range reaching past the data, the day after the last event shows ``a`` going dormant:

    >>> kpikit.lifecycle(log, user="user", time="time", start="2026-01-03", end="2026-01-06")[["period", "resurrecting", "dormant"]]
          period  resurrecting  dormant
    0 2026-01-03             0       -2
    1 2026-01-04             1        0
    2 2026-01-05             0       -1
    """
    _in_memory(table, "lifecycle")
    library = output_of(table, output)
    tz = time_zone(table, [time, created], tz)
    result = _kpikit.lifecycle(
        table_input(table, [user, time, created]),
        user=user,
        time=time,
        freq=check_freq(freq, FREQS),
        week_start=week_start,
        created=created,
        preset=None if preset is None else choice("preset", preset, ("posthog", "amplitude")),
        tz=tz,
        invalid=choice("invalid", invalid, ("raise", "skip")),
        start=day_number(start, "start", tz),
        end=day_number(end, "end", tz, exclusive=True),
    )
    return table_output(result, library, source=table, analysis="lifecycle", tz=tz)
