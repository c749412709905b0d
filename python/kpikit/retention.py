"""Retention cohorts over event logs, with PostHog, Amplitude and Mixpanel conventions.

Computed in the Rust core as *partial → merge → finish*: users retained per cohort and period
number (additive over user-disjoint partitions), then the triangle or the mean curve.

Definitions and what each preset sets: docs/conventions.md#retention.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _kpikit
from ._convert import check_output, table_input, table_output
from ._typing import Output, TableLike
from .exceptions import ParameterError

__all__ = ["retention", "RETENTION_PRESETS"]

#: What each preset sets (explicit arguments win; docs/conventions.md#retention-presets).
#: PostHog counts a user
#: in the cohort of their first start event, "on" a calendar period; Amplitude measures
#: periods as rolling 24-hour windows from the start event; Mixpanel puts a user in every
#: cohort in which they did the start event and defaults to "on or after", rolling windows.
#: Amplitude's rates are out of the users who have reached each period (``base="reached"``).
RETENTION_PRESETS: dict[str, dict[str, str]] = {
    "posthog": {"cohort": "first_time", "mode": "on", "windows": "calendar", "base": "cohort"},
    "amplitude": {"cohort": "first_time", "mode": "on", "windows": "rolling_24h", "base": "reached"},
    "mixpanel": {"cohort": "recurring", "mode": "on_or_after", "windows": "rolling_24h", "base": "cohort"},
}

_DEFAULTS = {"cohort": "first_time", "mode": "on", "windows": "calendar", "base": "cohort"}


def _names(v: str | Sequence[str] | None) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def resolve(preset: str | None, **given: str | None) -> dict[str, str]:
    """Explicit arguments, else the preset's, else the defaults."""
    if preset is not None and preset not in RETENTION_PRESETS:
        raise ParameterError(f'parameter "preset": {preset!r} is not one of "posthog", "amplitude", "mixpanel"')
    base = dict(_DEFAULTS, **(RETENTION_PRESETS[preset] if preset else {}))
    return {k: (v if v is not None else base[k]) for k, v in given.items()}


def retention_state(
    table: TableLike,
    user: str,
    time: str,
    start_event: Any,
    return_event: Any,
    period: str,
    cohort: str | None,
    mode: str | None,
    brackets: Sequence[int] | None,
    windows: str | None,
    reference: str,
    value: str | None,
    preset: str | None,
    event_column: str,
    tz: str,
    week_start: str,
    nulls: str,
    base: str | None = None,
) -> Any:
    """The partial state of :func:`retention` for one table or partition."""
    conv = resolve(preset, cohort=cohort, mode=mode, windows=windows, base=base)
    starts, returns = _names(start_event), _names(return_event)
    uses_event = starts is not None or returns is not None
    return _kpikit.retention_state(
        table_input(table, [user, time, event_column if uses_event else None, value]),
        user,
        time,
        event_column=event_column,
        start_events=starts,
        return_events=returns,
        value=value,
        period=period,
        week_start=week_start,
        cohort=conv["cohort"],
        mode=conv["mode"],
        brackets=None if brackets is None else [int(b) for b in brackets],
        windows=conv["windows"],
        reference=reference,
        base=conv["base"],
        tz=tz,
        nulls=nulls,
    )


def retention(
    table: TableLike,
    /,
    *,
    user: str,
    time: str,
    start_event: str | Sequence[str] | None = None,
    return_event: str | Sequence[str] | None = None,
    period: str = "week",
    cohort: str | None = None,
    mode: str | None = None,
    brackets: Sequence[int] | None = None,
    windows: str | None = None,
    reference: str = "total",
    base: str | None = None,
    value: str | None = None,
    preset: str | None = None,
    curve: bool = False,
    event_column: str = "event",
    tz: str = "UTC",
    week_start: str = "monday",
    nulls: str = "raise",
    output: Output = "pandas",
) -> Any:
    """Retention cohorts: of the users who started in a period, how many came back k periods later.

    A user enters a cohort with a start event and is retained in period k ≥ 1 by a return
    event in that period; period 0 holds the whole cohort. For each cohort and period number

        rate = retained / cohort_size                     (reference="total")
        rate = retained(k) / retained(k − 1)              (reference="previous")

    (null when the denominator is 0). With ``value=`` the same ratios of the summed column over
    the counted return events give revenue retention (period 0: returns in the cohort period at
    or after the start).

    Parameters
    ----------
    table : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per event, in any order.
    user, time : str
        Columns of user ids and event times.
    start_event, return_event : str or list of str, optional
        Event names (in ``event_column``) that start a cohort / count as a return. Default:
        any event.
    period : {"day", "week", "month"}, default "week"
    cohort : {"first_time", "recurring"}
        ``first_time``: a user is in the cohort of their first start event only.
        ``recurring``: in every period in which they did a start event (each measured from
        the first start event of that period).
    mode : {"on", "on_or_after", "on_or_before", "streak"}
        ``on``: returned in period k itself. ``on_or_after``: returned in period k or later.
        ``on_or_before`` (Mixpanel): returned in some period 1…k — the users back by period
        k; with ``value=`` the cumulative sum over periods 0…k (e.g. 30-day LTV per cohort).
        ``streak`` (Mixpanel's streak mode): returned in every period 1…k; with ``value=``
        the sum over period k's returns of those users. With ``brackets`` these read
        brackets instead of periods.
    brackets : list of int, optional
        Bracket sizes in periods, as PostHog's custom brackets: ``[1, 2, 4]`` → bracket 1 =
        period 1, bracket 2 = periods 2–3, bracket 3 = periods 4–7; ``period_number`` is then
        the bracket number.
    windows : {"calendar", "rolling_24h"}
        ``calendar``: period k is the k-th calendar period after the cohort's.
        ``rolling_24h``: per user, period k is ``[k, k + 1)`` × 24 h (× 7 for weeks, × 30 for
        months) after the start event; for daily periods times are rounded down to the hour,
        as in Amplitude. Cohorts are still labelled by the calendar period of the start.
    reference : {"total", "previous"}, default "total"
    base : {"cohort", "reached"}
        Whom the user rate is out of (``reference="total"``): the whole cohort, or, as
        Amplitude, the members for whom period k has begun by the end of the data
        (``rate = retained / reached``, a ``reached`` column is added; the mean curve is then
        Σ retained / Σ reached). The two differ only with rolling windows, where each member's
        periods start at their own start event. Not with ``mode="on_or_before"``.
    value : str, optional
        Numeric column to sum over return events (revenue retention); missing values count 0.
    preset : {"posthog", "amplitude", "mixpanel"}, optional
        Sets ``cohort``, ``mode``, ``windows`` and ``base`` as the tool does (see
        ``kpikit.retention.RETENTION_PRESETS``); explicit arguments win. Without a preset:
        first_time, on, calendar, cohort.
    curve : bool, default False
        Return the mean retention curve instead of the triangle: per period number,
        ``cohorts`` (cohorts with the cell shown and a non-zero denominator; empty cohorts
        are left out), ``base_users`` (or ``base_value``), ``retained`` (or ``value``),
        ``weighted_rate = Σ retained / Σ base`` (weighted by cohort size) and
        ``simple_rate`` (the plain mean of the cohorts' rates).
    event_column, tz, week_start, nulls, output
        As in :func:`kpikit.active_users`.

    Returns
    -------
    DataFrame
        ``cohort`` (start date of the cohort period), ``period_number``, ``cohort_size``,
        ``retained``, ``value`` (with ``value=``), ``rate``: one row per cohort (first to last,
        gaps included with size 0) and period number whose period has begun by the end of the
        data (a triangle).

    Examples
    --------
    Two users start in the week of Jan 5; one comes back the next week:

    >>> import pandas as pd, kpikit
    >>> log = pd.DataFrame({"user": [1, 2, 1],
    ...                     "time": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-01-13"])})
    >>> kpikit.retention(log, user="user", time="time", period="week")
          cohort  period_number  cohort_size  retained  rate
    0 2026-01-05              0            2         2   1.0
    1 2026-01-05              1            2         1   0.5
    """
    check_output(output)
    state = retention_state(
        table, user, time, start_event, return_event, period, cohort, mode, brackets, windows,
        reference, value, preset, event_column, tz, week_start, nulls, base,
    )
    return table_output(_kpikit.finish_retention(state, curve=bool(curve)), output)
