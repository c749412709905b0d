"""Activity over event logs: active users (DAU, WAU, MAU, DAU/MAU), stickiness and lifecycle.

The work happens in the Rust core: rows are grouped per user with a counting sort and every
user's days are reduced on all threads, so "a user active on several days counts once" is exact
without a global hash set.

Definitions, and how PostHog's and Amplitude's conventions map to the keywords:
docs/conventions.md#journey.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from . import _kpikit
from ._convert import check_output, column_list, table_input, table_output
from ._typing import Output, TableLike
from .exceptions import ParameterError

__all__ = ["active_users", "stickiness", "lifecycle"]

DEFAULT_WINDOWS: dict[str, int] = {"dau": 1, "wau": 7, "mau": 30}


def event_names(event: str | None, events: Sequence[str] | None) -> list[str] | None:
    """``event=`` / ``events=`` as one list of names (None: no filter)."""
    if event is not None and events is not None:
        raise ParameterError('parameter "event": give either event= (one name) or events= (a list), not both')
    if event is not None:
        return [str(event)]
    if events is not None:
        if isinstance(events, str):
            return [events]
        return [str(e) for e in events]
    return None


def day_number(value: Any, name: str) -> int | None:
    """A date-like value as days since 1970-01-01 (None stays None)."""
    if value is None:
        return None
    try:
        import pandas as pd

        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as e:
        raise ParameterError(f'parameter "{name}": {value!r} is not a date') from e
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return (ts.date() - _dt.date(1970, 1, 1)).days


def active_users(
    table: TableLike,
    /,
    *,
    user: str,
    time: str,
    freq: str = "day",
    windows: Mapping[str, int] | None = None,
    by: str | Sequence[str] | None = None,
    event: str | None = None,
    events: Sequence[str] | None = None,
    event_column: str = "event",
    tz: str = "UTC",
    week_start: str = "monday",
    nulls: str = "raise",
    output: Output = "pandas",
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
    table : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        The event log, one row per event, in any order; duplicates are harmless. (Positional:
        ``events=`` is the event-name filter.)
    user, time : str
        Columns of user ids (any type) and event times (timestamp or date).
    freq : {"day", "week", "month", "quarter", "year"}, default "day"
        Output periods. With a longer period, window columns are taken on the period's last
        day (or the last day of the data if earlier), and ``active_users`` counts the distinct
        users active in the whole period.
    windows : dict of str to int, default {"dau": 1, "wau": 7, "mau": 30}
        Output column name → window length in days.
    by : str or list of str, optional
        Segment columns; a user active in two segments counts in both.
    event, events : str or list of str, optional
        Count only events with this name / one of these names (in ``event_column``).
    event_column : str, default "event"
        Column of event names, read only when ``event`` or ``events`` is given.
    tz : str, default "UTC"
        Time zone the days are counted in; naive timestamps are taken as local to it.
    week_start : str, default "monday"
    nulls : {"raise", "drop"}, default "raise"
        A missing user or time raises an :class:`~kpikit.InputError` naming the rows;
        ``"drop"`` leaves such rows out and reports their number in
        ``DataFrame.attrs["skipped_rows"]``.
    output : {"pandas", "polars", "arrow"}, default "pandas"

    Returns
    -------
    DataFrame
        ``period``, the segments, ``active_users`` (distinct users in the period), one column
        per window, and ``dau_mau`` when windows named "dau" and "mau" exist. One row per
        period from the first to the last of the data, gaps included.

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
    """
    check_output(output)
    names = event_names(event, events)
    segments = column_list(by)
    wins = [(str(k), int(v)) for k, v in (DEFAULT_WINDOWS if windows is None else windows).items()]
    state = _kpikit.active_users_state(
        table_input(table, [user, time, event_column if names is not None else None, *segments]),
        user,
        time,
        freq=freq,
        week_start=week_start,
        windows=wins,
        by=segments,
        event_column=event_column,
        events=names,
        tz=tz,
        nulls=nulls,
    )
    return table_output(_kpikit.finish_active_users(state), output)


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
    tz: str = "UTC",
    week_start: str = "monday",
    nulls: str = "raise",
    output: Output = "pandas",
) -> Any:
    """How many users were active on exactly (or at least) N intervals: PostHog's stickiness.

    An interval (a day by default) of ``start … end`` counts for a user when they had at least
    ``min_events`` events in it; users with no such interval are left out, and

        users(N) = |{users active in exactly N intervals}|        (cumulative: at least N)
        share(N) = users(N) / users active in at least one interval   (null when none)

    Parameters
    ----------
    table : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per event, in any order.
    user, time : str
        Columns of user ids and event times.
    freq : {"day", "week", "month", "quarter", "year"}, default "day"
        Interval length.
    start, end : date-like, optional
        First and last day of the range (inclusive; the intervals containing them). Default:
        the data's first and last interval.
    cumulative : bool, default False
        Count users active on at least N intervals ("N days or more") instead of exactly N.
    min_events : int, default 1
        Events a user needs in an interval for it to count (PostHog's stickiness criteria).
    tz, week_start, nulls, output
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
    """
    check_output(output)
    return table_output(
        _kpikit.stickiness(
            table_input(table, [user, time]),
            user,
            time,
            freq=freq,
            week_start=week_start,
            start=day_number(start, "start"),
            end=day_number(end, "end"),
            cumulative=bool(cumulative),
            min_events=int(min_events),
            tz=tz,
            nulls=nulls,
        ),
        output,
    )


def lifecycle(
    table: TableLike,
    /,
    *,
    user: str,
    time: str,
    freq: str = "day",
    created: str | None = None,
    preset: str = "posthog",
    tz: str = "UTC",
    week_start: str = "monday",
    nulls: str = "raise",
    output: Output = "pandas",
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
        One row per event, in any order.
    user, time : str
        Columns of user ids and event times.
    freq : {"day", "week", "month", "quarter", "year"}, default "day"
    created : str, optional
        Column with the user's creation time (the earliest per user is used; missing values
        fall back to the first active period). Only PostHog's definition reads it.
    preset : {"posthog", "amplitude"}, default "posthog"
        Which definition of "new" to use.
    tz, week_start, nulls, output
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
    """
    check_output(output)
    return table_output(
        _kpikit.lifecycle(
            table_input(table, [user, time, created]),
            user,
            time,
            freq=freq,
            week_start=week_start,
            created=created,
            preset=preset,
            tz=tz,
            nulls=nulls,
        ),
        output,
    )
