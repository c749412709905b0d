"""Retention cohorts over event logs, with PostHog, Amplitude and Mixpanel conventions.

Computed in the Rust core as *partial → merge → finish*: users retained per cohort and period
number (additive over user-disjoint partitions), then the triangle or the mean curve.

Definitions and what each preset sets: docs/conventions.md#retention.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _kpikit
from ._analysis import Analysis, EventNames, choice, freq as check_freq, run
from ._convert import time_zone
from ._settings import checked, local_micros
from ._typing import Output, TableLike, table_function
from .activity import check_event_column, event_names, flag, whole
from .exceptions import ParameterError

__all__ = ["RETENTION_PRESETS", "retention"]

def _presets() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    defaults, presets = _kpikit.retention_presets()
    return dict(defaults), {name: dict(settings) for name, settings in presets}


#: kpikit's own settings, and what each preset sets (explicit arguments win;
#: docs/conventions.md#retention-presets), as the core defines them. PostHog counts a user in
#: the cohort of their first start event, "on" a calendar period; Amplitude measures periods as
#: rolling 24-hour windows from the start event, out of the users who have reached each period
#: (``base="reached"``); Mixpanel puts a user in every cohort in which they did the start event
#: and counts "on or after", in rolling windows.
_DEFAULTS, RETENTION_PRESETS = _presets()

#: Periods retention is counted in (hours are local hours of ``tz``).
FREQS = ("hour", "day", "week", "month")


def _state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.retention(
        table, user=o["user"], time=o["time"], start_event=o["start_event"], return_event=o["return_event"],
        freq=o["freq"], cohort=o["cohort"], mode=o["mode"], brackets=o["brackets"], boundaries=o["boundaries"],
        reference=o["reference"], base=o["base"], amount=o["amount"], preset=o["preset"], curve=o["curve"],
        min_returns=o["min_returns"],
        event=o["event"], tz=o["tz"], week_start=o["week_start"], invalid=o["invalid"], start=o["start"], end=o["end"],
    )


# Users retained per cell only add up over partitions that do not share a user: on Dask the
# events are shuffled by user first (docs/architecture.md). The state carries `curve`, so the
# default finish gives the triangle or the curve.
_RETENTION = Analysis("retention", state=_state, shuffle="user")


def _sizes(brackets: Any) -> list[Any]:
    """``brackets=`` as a list (one size is not a list of sizes)."""
    if not isinstance(brackets, (str, bytes, dict)):
        try:
            return list(brackets)
        except TypeError:
            pass
    raise ParameterError(f'parameter "brackets": {brackets!r} is not a list of bracket sizes, e.g. [1, 2, 4]')


def _returned(starts: list[str] | None, returns: list[str] | None) -> Any:
    """The names a retention result (triangle or curve) proves present: a single start event
    when some cohort has members, a single return event when someone was retained in a
    period after the cohort's."""

    def proven(result: Any) -> set[str]:
        import pyarrow as pa
        import pyarrow.compute as pc

        found = set()
        columns = result.column_names
        # The triangle counts users in cohort_size and retained, the curve in base_users and
        # retained; a curve of amounts (base_value, value) proves nothing: amounts may be 0.
        size = next((c for c in ("cohort_size", "base_users") if c in columns), None)
        if starts is not None and len(starts) == 1 and size is not None and pc.max(result[size]).as_py():
            found.add(starts[0])
        if returns is not None and len(returns) == 1 and "retained" in columns:
            later = result.filter(pc.greater(result["period_number"], pa.scalar(0)))
            if pc.max(later["retained"]).as_py():
                found.add(returns[0])
        return found

    return proven


@table_function
@checked
def retention(
    table: TableLike,
    /,
    *,
    user: str,
    time: str,
    start_event: str | Sequence[str] | None = None,
    return_event: str | Sequence[str] | None = None,
    freq: str = "week",
    start: Any = None,
    end: Any = None,
    cohort: str | None = None,
    mode: str | None = None,
    brackets: Sequence[int] | None = None,
    boundaries: str | None = None,
    reference: str = "total",
    base: str | None = None,
    amount: str | None = None,
    preset: str | None = None,
    curve: bool = False,
    min_returns: int = 1,
    event: str = "event",
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
    partitioned: bool = False,
) -> Any:
    """Retention cohorts: of the users who started in a period, how many came back k periods later.

    A user enters a cohort with a start event and is retained in period k ≥ 1 by a return
    event in that period; period 0 holds the whole cohort. For each cohort and period number

        rate = retained / cohort_size                     (reference="total")
        rate = retained(k) / retained(k − 1)              (reference="previous")

    (null when the denominator is 0). With ``amount=`` the same ratios of the summed amounts
    of the counted return events give revenue retention (period 0: returns in the cohort
    period at or after the start).

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per event, in any order. A Dask DataFrame is shuffled by user (each user's
        events in one partition), counted where it lives, and the partitions' counts added up
        exactly.
    user, time : str
        Columns of user ids and event times.
    start_event, return_event : str or list of str, optional
        Event names (in the ``event`` column) that start a cohort / count as a return.
        Default: any event. A name that no row has raises an :class:`~kpikit.InputError`
        listing the names that occur, with a did-you-mean.
    freq : {"hour", "day", "week", "month"}, default "week"
        Length of the cohort periods and of the periods counted after them. Hours are local
        hours of ``tz`` (PostHog's hourly retention); their cohorts are labelled by the
        hour's start, a time rather than a date.
    start, end : date-like, optional
        The range ``[start, end)`` (end exclusive), read in ``tz``: events outside it are
        left out (they neither start a cohort nor count as a return, so a first-time cohort
        is that of the first start event in the range), the cohorts are those of the periods
        from ``start``'s to that of the last instant before ``end``, empty ones included, and
        a cell is shown once its period has begun before ``end``. Default: the data's
        (docs/conventions.md#date-ranges).
    cohort : {"first_time", "recurring"}
        ``first_time``: a user is in the cohort of their first start event only.
        ``recurring``: in every period in which they did a start event (each measured from
        the first start event of that period).
    mode : {"on", "on_or_after", "on_or_before", "streak"}
        ``on``: returned in period k itself. ``on_or_after``: returned in period k or later.
        ``on_or_before`` (Mixpanel): returned in some period 1…k — the users back by period
        k; with ``amount=`` the cumulative sum over periods 0…k (e.g. 30-day LTV per cohort).
        ``streak`` (Mixpanel's streak mode): returned in every period 1…k; with ``amount=``
        the sum over period k's returns of those users. With ``brackets`` these read
        brackets instead of periods.
    brackets : list of int, optional
        Bracket sizes in periods, as PostHog's custom brackets: ``[1, 2, 4]`` → bracket 1 =
        period 1, bracket 2 = periods 2–3, bracket 3 = periods 4–7; ``period_number`` is then
        the bracket number.
    boundaries : {"calendar", "rolling_24h"}
        Where period k begins and ends. ``calendar``: period k is the k-th calendar period
        after the cohort's. ``rolling_24h``: per user, period k is ``[k, k + 1)`` × 24 h
        (× 7 for weeks, × 30 for months) after the start event; for daily periods times are
        rounded down to the hour, as in Amplitude. Cohorts are still labelled by the calendar
        period of the start.
    reference : {"total", "previous"}, default "total"
        What a rate compares to: the cohort (or base), or the previous period's retained.
    base : {"cohort", "reached"}
        Whom the user rate is out of (``reference="total"``): the whole cohort, or, as
        Amplitude, the members for whom period k has begun by the end of the data
        (``rate = retained / reached``, a ``reached`` column is added; the mean curve is then
        Σ retained / Σ reached). The two differ only with rolling boundaries, where each
        member's periods start at their own start event. Not with ``mode="on_or_before"``.
    amount : str, optional
        Column of money amounts to sum over return events (revenue retention); missing
        amounts count 0. The sums are in the result's ``value`` column.
    preset : {"posthog", "amplitude", "mixpanel"}, optional
        Sets ``cohort``, ``mode``, ``boundaries`` and ``base`` as the tool does (see
        ``kpikit.retention.RETENTION_PRESETS``); explicit arguments win. Without a preset:
        first_time, on, calendar, cohort.
    curve : bool, default False
        Return the mean retention curve instead of the triangle: per period number,
        ``cohorts`` (cohorts with the cell shown and a non-zero denominator; empty cohorts
        are left out), ``base_users`` (or ``base_value``), ``retained`` (or ``value``),
        ``weighted_rate = Σ retained / Σ base`` (weighted by cohort size) and
        ``simple_rate`` (the plain mean of the cohorts' rates).
    min_returns : int, default 1
        Return events a member needs in a period (or bracket) for it to count as a return;
        with 2, a single visit in period k does not make the member retained in k. The
        modes then read "returned" as "returned at least ``min_returns`` times".
    event : str, default "event"
        Column of event names, read only when ``start_event`` or ``return_event`` is given.
    tz, week_start, invalid, output, partitioned
        As in :func:`kpikit.active_users`.

    Returns
    -------
    DataFrame
        ``cohort`` (start date of the cohort period), ``period_number``, ``cohort_size``,
        ``retained``, ``value`` (with ``amount=``), ``rate``: one row per cohort (first to
        last, gaps included with size 0) and period number whose period has begun by the end
        of the data, or of the range ``start … end`` (a triangle).

    Examples
    --------
    Two users start in the week of Jan 5; one comes back the next week:

    >>> import pandas as pd, kpikit
    >>> log = pd.DataFrame({"user": [1, 2, 1],
    ...                     "time": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-01-13"])})
    >>> kpikit.retention(log, user="user", time="time", freq="week")
          cohort  period_number  cohort_size  retained  rate
    0 2026-01-05              0            2         2   1.0
    1 2026-01-05              1            2         1   0.5

    The same call takes a Dask DataFrame:

    >>> import dask.dataframe as dd
    >>> kpikit.retention(dd.from_pandas(log, npartitions=2), user="user", time="time").rate.tolist()
    [1.0, 0.5]

    Over the three weeks from Jan 5, the empty week of Jan 19 is a cohort too and the week of
    Jan 5 has its period 2:

    >>> kpikit.retention(log, user="user", time="time", start="2026-01-05", end="2026-01-26")
          cohort  period_number  cohort_size  retained  rate
    0 2026-01-05              0            2         2   1.0
    1 2026-01-05              1            2         1   0.5
    2 2026-01-05              2            2         0   0.0
    3 2026-01-12              0            0         0   NaN
    4 2026-01-12              1            0         0   NaN
    5 2026-01-19              0            0         0   NaN
    """
    starts, returns = event_names(start_event), event_names(return_event)
    uses_event = starts is not None or returns is not None
    check_event_column(table, event, uses_event)
    event_column = event if uses_event else None
    # The range bounds are read in the zone the periods are counted in, so it is settled first.
    tz = time_zone(table, [time], tz)
    options = {
        "start": local_micros("start", start, tz), "end": local_micros("end", end, tz),
        "user": user, "time": time, "event": event, "start_event": starts, "return_event": returns,
        "amount": amount, "freq": check_freq(freq, FREQS), "week_start": week_start, "cohort": cohort,
        "mode": mode, "brackets": None if brackets is None else [whole("brackets", b) for b in _sizes(brackets)],
        "boundaries": boundaries, "reference": reference, "base": base, "preset": preset, "curve": flag("curve", curve),
        "min_returns": whole("min_returns", min_returns),
        "tz": tz, "invalid": choice("invalid", invalid, ("raise", "skip")),
    }
    named = {p: n for p, n in (("start_event", starts), ("return_event", returns)) if n is not None}
    names = EventNames(event, named, _returned(starts, returns)) if named else None
    return run(
        _RETENTION, table, columns=[user, time, event_column, amount], options=options,
        output=output, partitioned=partitioned, events=names,
    )
