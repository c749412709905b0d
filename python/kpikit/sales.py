"""Sales, marketing, support and onboarding metrics over the tables a CRM, an e-mail tool and a
help desk export: deals, quotas, leads, campaigns, tickets.

Everything is computed in the Rust core as *partial → merge → finish* (per period and segment:
counts, sums and the exact lists of amounts and durations), so medians are exact and a Dask
DataFrame gives the same numbers as a single pass: every function here but
:func:`quota_attainment` accepts one. Durations are computed from the timestamps (any unit;
zone-aware ones compare in UTC) and reported in ``unit`` (days by default), which the column
names carry. Rates are fractions; a zero denominator gives null, and so does a figure whose
column was not given (missing means null, never 0).

Definitions and conventions: docs/conventions.md#sales-marketing-and-support; parameter names:
docs/vocabulary.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _kpikit
from ._analysis import Analysis, check_segments, choice, freq as check_freq, is_dask, output_of, run
from ._convert import column_list, table_input, table_output, time_zone
from ._settings import checked
from ._typing import Output, TableLike, table_function, two_table_function
from .exceptions import ParameterError, SchemaError

__all__ = [
    "campaign_metrics",
    "deal_metrics",
    "lead_metrics",
    "onboarding_time",
    "quota_attainment",
    "support_metrics",
]

#: The periods the sales analyses bucket by (docs/vocabulary.md).
_FREQS = ("day", "week", "month", "quarter", "year")

#: The duration units of ``unit=`` (docs/vocabulary.md).
_UNITS = ("days", "hours", "minutes", "seconds")


# Each state step calls the binding named like the public function with the options as given
# (named functions, not lambdas: Dask ships them to its workers).
def _deal_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.deal_metrics(table, **o)


def _lead_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.lead_metrics(table, **o)


def _support_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.support_metrics(table, **o)


def _campaign_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.campaign_metrics(table, **o)


def _onboarding_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.onboarding_time(table, **o)


_DEALS = Analysis("deal_metrics", state=_deal_state)
# With deal ids, every copy of an id must reach one partition for a repeated id to be caught.
_DEALS_BY_ID = Analysis("deal_metrics", state=_deal_state, shuffle="deal")
_LEADS = Analysis("lead_metrics", state=_lead_state)
_SUPPORT = Analysis("support_metrics", state=_support_state)
_CAMPAIGNS = Analysis("campaign_metrics", state=_campaign_state)
_ONBOARDING = Analysis("onboarding_time", state=_onboarding_state)


def _text(parameter: str, value: Any, optional: bool = False) -> Any:
    """``value`` when it is a string (or None where that is allowed), else a ParameterError:
    a column name, zone or weekday given as a number is a mistake, not something to coerce."""
    if isinstance(value, str) or (optional and value is None):
        return value
    raise ParameterError(f'parameter "{parameter}": expected a string{" or None" if optional else ""}, got {value!r}')


def _by(by: Any) -> list[str]:
    """``by=`` as a list of column names; anything but a name or a sequence of names is a
    ParameterError."""
    if by is None or isinstance(by, str):
        return column_list(by)
    if not isinstance(by, Sequence) or not all(isinstance(b, str) for b in by):
        raise ParameterError(f'parameter "by": expected a column name or a list of column names, got {by!r}')
    return list(by)


def _run(
    analysis: Analysis,
    table: Any,
    columns: dict[str, str | None],
    by: str | Sequence[str] | None,
    *,
    freq: str | None,
    tz: str | None,
    week_start: str,
    invalid: str,
    output: str | None,
    rep: str | None = None,
    **settings: Any,
) -> Any:
    """Run ``analysis`` with its column parameters ``columns`` (None: not given), the segment
    columns ``rep`` then ``by``, and further ``settings`` for its binding."""
    columns = {name: _text(name, value, optional=True) for name, value in columns.items()}
    rep = _text("rep", rep, optional=True)
    segments = check_segments(([rep] if rep is not None else []) + _by(by))
    o: dict[str, Any] = {
        **columns,
        "by": segments[1:] if rep is not None else segments,
        "freq": None if freq is None else check_freq(freq, _FREQS),
        "tz": _text("tz", tz, optional=True),
        "week_start": _text("week_start", week_start),
        "invalid": choice("invalid", invalid, ("raise", "skip")),
        **settings,
    }
    if rep is not None:
        o["rep"] = rep
    return run(analysis, table, columns=[*columns.values(), *segments], options=o, output=output, segments=segments)


def _unit(unit: str) -> str:
    return choice("unit", unit, _UNITS)


@table_function
@checked
def deal_metrics(
    table: TableLike,
    /,
    *,
    created: str,
    closed: str,
    amount: str,
    won: str,
    deal: str | None = None,
    rep: str | None = None,
    freq: str | None = "quarter",
    by: str | Sequence[str] | None = None,
    cohort: str = "closed",
    cycle_of: str = "won",
    unit: str = "days",
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """Deal metrics per period, rep and segment: win rate, deal size, sales cycle, velocity.

    Per group and period:

        win_rate          = deals_won / deals_closed            (won / (won + lost))
        close_rate        = deals_won / deals_created
        won_revenue       = Σ amount of won deals
        avg_deal_size     = won_revenue / deals_won              (median_deal_size: their median)
        sales_cycle_days  = mean(closed − created) in days       (median and p90 too)
        pipeline_velocity = deals_open × avg_deal_size × win_rate / sales_cycle_days   (per day)

    ``deals_open`` is the number of deals open at the end of the period (created by then and
    not yet closed). Medians and percentiles interpolate linearly between closest ranks (as
    numpy and pandas do by default) and are exact.

    Conventions (docs/conventions.md#deals; tools differ, both are offered):

    - ``cohort="closed"`` (default, HubSpot-style): a closed deal's outcome, amount and cycle
      count in the period it closed. ``cohort="created"``: in the period it was created (of the
      deals created in Q1, how many were won), so recent periods fill in as deals close.
      ``deals_created`` and ``deals_open`` do not depend on the cohort.
    - ``cycle_of="won"`` (default): the cycle of won deals; ``"closed"`` also counts lost ones.
    - Average deal size is over won deals only.

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per deal (opportunity). A Dask DataFrame is reduced partition by partition
        where it lives and the partial states merged exactly (each deal counts on its own; with
        ``deal=`` the rows are first shuffled by deal id so a repeated id is caught wherever
        its copies are, and row numbers in an error then count within a partition).
    created, closed : str
        Timestamp or date columns; ``closed`` is missing while the deal is open.
    amount : str
        Deal value (not negative; required for won deals).
    won : str
        Outcome of a closed deal, boolean (or 0/1; any other number is an
        :class:`~kpikit.InputError`); missing or false while open.
    deal : str, optional
        Deal id column; when given, ids must be present and unique.
    rep : str, optional
        Column of the deal's owner (the sales rep); the first segment of the result.
    freq : {"day", "week", "month", "quarter", "year"} or None, default "quarter"
        Period length; ``None`` gives one row per group over the whole table (``deals_open``:
        open at the end of the data).
    by : str or list of str, optional
        Further segment columns (region, product…).
    cohort : {"closed", "created"}, default "closed"
    cycle_of : {"won", "closed"}, default "won"
    unit : {"days", "hours", "minutes", "seconds"}, default "days"
        Unit of the sales cycle columns, named ``sales_cycle_<unit>``. ``pipeline_velocity``
        stays per day whatever the unit.
    tz : str, optional
        Time zone the periods are counted in; naive timestamps are taken as local to it
        (durations always compare instants).
        Default: the zone of the zone-aware time columns, else UTC (the result says which:
        ``attrs["tz"]`` in pandas, schema metadata ``kpikit.tz`` in Arrow).
    week_start : str, default "monday"
    invalid : {"raise", "skip"}, default "raise"
        A deal closed before it was created, a won flag on an open deal, a closed deal without
        an outcome, a negative amount, a won deal without an amount, a missing created time or a
        repeated deal id raise an :class:`~kpikit.InputError` naming the column, the rule and
        the rows; ``"skip"`` leaves such rows out and reports how many with a
        :class:`~kpikit.SkippedRowsWarning`.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (docs/vocabulary.md).

    Returns
    -------
    DataFrame
        ``period``, rep and segments as keys (every period from the first to the last, gaps
        included), then ``deals_created``, ``deals_closed``, ``deals_won``, ``deals_lost``,
        ``deals_open``, ``win_rate``, ``close_rate``, ``won_revenue``, ``avg_deal_size``,
        ``median_deal_size``, ``sales_cycle_days``, ``sales_cycle_days_median``,
        ``sales_cycle_days_p90``, ``pipeline_velocity``. Zero denominators give null.

    Examples
    --------
    Four deals in Q1 2026: two won (30 and 60 days), one lost, one still open.

    >>> import pandas as pd, kpikit
    >>> deals = pd.DataFrame({
    ...     "created": pd.to_datetime(["2026-01-05", "2026-01-10", "2026-02-01", "2026-03-01"]),
    ...     "closed": pd.to_datetime(["2026-02-04", "2026-03-11", "2026-02-21", None]),
    ...     "amount": [1000.0, 3000.0, 500.0, 800.0],
    ...     "won": pd.array([True, True, False, None], dtype="boolean"),
    ... })
    >>> out = kpikit.deal_metrics(deals, created="created", closed="closed", amount="amount", won="won")
    >>> out[["deals_created", "deals_closed", "deals_won", "deals_open"]]
       deals_created  deals_closed  deals_won  deals_open
    0              4             3          2           1
    >>> out[["win_rate", "close_rate", "avg_deal_size", "sales_cycle_days"]].round(3)
       win_rate  close_rate  avg_deal_size  sales_cycle_days
    0     0.667         0.5         2000.0              45.0
    >>> out.pipeline_velocity.round(2).tolist()  # 1 × 2000 × 2/3 / 45 per day
    [29.63]

    The same deals as a Dask DataFrame in two partitions give the same figures:

    >>> import dask.dataframe as dd
    >>> kpikit.deal_metrics(dd.from_pandas(deals, npartitions=2), created="created", closed="closed",
    ...                     amount="amount", won="won")[["deals_won", "sales_cycle_days"]]
       deals_won  sales_cycle_days
    0          2              45.0
    """
    return _run(
        _DEALS if deal is None else _DEALS_BY_ID,
        table,
        {"created": created, "closed": closed, "amount": amount, "won": won, "deal": deal},
        by,
        rep=rep,
        freq=freq,
        tz=tz,
        week_start=week_start,
        invalid=invalid,
        output=output,
        cohort=choice("cohort", cohort, ("closed", "created")),
        cycle_of=choice("cycle_of", cycle_of, ("won", "closed")),
        unit=_unit(unit),
    )


@two_table_function
@checked
def quota_attainment(
    actuals: TableLike,
    quotas: TableLike,
    /,
    *,
    rep: str,
    time: str,
    amount: str = "amount",
    quota: str = "quota",
    quota_rep: str | None = None,
    quota_period: str | None = None,
    freq: str = "month",
    to_date: str | None = "year",
    tz: str | None = None,
    output: Output | None = None,
) -> Any:
    """Quota attainment per rep and period, period-to-date, and the share of reps at quota.

        attainment         = actual / quota
        attainment_to_date = Σ actual / Σ quota      (over the periods of the to-date span so far)
        share_at_quota     = reps with attainment ≥ 1 / reps with a quota > 0   (per period)

    Period-to-date attainment is the ratio of the sums, not the mean of the periods' ratios
    (a 42.5k month and a 55k month against 50k each are 97.5 %, whatever the monthly
    percentages). Actuals are summed per rep and period, so a table of won deals (one row
    per deal) can be passed directly.

    Parameters
    ----------
    actuals : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        Rows with a rep, a time (timestamp or date, bucketed to ``freq``) and an amount. Not
        a Dask DataFrame (a SchemaError says to compute it first).
    quotas : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per rep and period with the quota (not negative, at most one per rep and
        period).
    rep : str
        Sales rep (owner) column of ``actuals`` (and of ``quotas`` unless ``quota_rep`` names it there).
    time : str
        Time column of ``actuals`` (a won deal's close time, say), bucketed to ``freq``.
    amount : str, default "amount"
        Amount column of ``actuals``.
    quota : str, default "quota"
        Quota column of ``quotas``.
    quota_rep : str, optional
        Sales rep column of ``quotas`` when it is not named like ``rep``.
    quota_period : str, optional
        Period column of ``quotas`` (any instant in the period) when it is not named like
        ``time``.
    freq : {"day", "week", "month", "quarter", "year"}, default "month"
        The quota period.
    to_date : {"year", "quarter", "all"} or None, default "year"
        Span over which the to-date sums run before restarting (``"all"``/None: never restart).
    tz : str, optional
        As in :func:`kpikit.deal_metrics`.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the library ``actuals`` came in.

    Returns
    -------
    DataFrame
        ``period``, rep, ``actual``, ``quota`` (null without a quota), ``attainment``,
        ``actual_to_date``, ``quota_to_date``, ``attainment_to_date``, ``share_at_quota``;
        every rep in every period from the first to the last. Zero or missing quota gives
        null attainment.

    Examples
    --------
    January 42.5k of 50k, February 55k, March 52.5k:

    >>> import pandas as pd, kpikit
    >>> months = pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"])
    >>> actuals = pd.DataFrame({"rep": "ana", "month": months, "amount": [42_500.0, 55_000.0, 52_500.0]})
    >>> quotas = pd.DataFrame({"rep": "ana", "month": months, "quota": 50_000.0})
    >>> out = kpikit.quota_attainment(actuals, quotas, rep="rep", time="month")
    >>> out[["attainment", "attainment_to_date"]].round(3)
       attainment  attainment_to_date
    0        0.85               0.850
    1        1.10               0.975
    2        1.05               1.000
    """
    if is_dask(actuals) or is_dask(quotas):
        # The core has no partial state (partial → merge → finish) for quotas; say so rather
        # than fail on an unknown table type.
        raise SchemaError("quota_attainment takes in-memory tables, not a Dask DataFrame; call .compute() "
                          "first (the actuals can be summed per rep and period on the cluster)")
    library = output_of(actuals, output)
    for name, value in [("rep", rep), ("time", time), ("amount", amount), ("quota", quota)]:
        _text(name, value)
    tz = time_zone(actuals, [time], _text("tz", tz, optional=True), more=[(quotas, [quota_period or time])])
    _text("quota_rep", quota_rep, optional=True)
    _text("quota_period", quota_period, optional=True)
    freq = check_freq(freq, _FREQS)
    if to_date is not None and to_date != "all":
        to_date = check_freq(to_date, _FREQS, parameter="to_date")
    result = _kpikit.quota_attainment(
        table_input(actuals, [rep, time, amount]),
        table_input(quotas, [quota_rep or rep, quota_period or time, quota]),
        rep=rep,
        time=time,
        amount=amount,
        quota=quota,
        quota_rep=quota_rep,
        quota_period=quota_period,
        freq=freq,
        to_date=to_date,
        tz=tz,
    )
    return table_output(result, library, source=actuals, segments=[rep], analysis="quota_attainment", tz=tz)


@table_function
@checked
def lead_metrics(
    table: TableLike,
    /,
    *,
    created: str,
    qualified: str | None = None,
    converted: str | None = None,
    revenue: str | None = None,
    freq: str | None = "month",
    by: str | Sequence[str] | None = None,
    cohort: str = "created",
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """Leads, qualified leads and their growth, lead conversion rate and revenue per lead.

        qualification_rate     = qualified_leads / leads
        qualified_leads_growth = (qualified_leads − previous period's) / previous period's
        lead_conversion_rate   = converted_leads / leads
        revenue_per_lead       = revenue / leads

    Conventions: ``cohort="created"`` (default) counts a lead's qualification, conversion and
    revenue in the period the lead was created (the share of a month's leads that ever
    converted); ``cohort="event"`` counts them in the period they happened (revenue in the
    period of conversion), which is what a monthly pipeline report shows.

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per lead. A Dask DataFrame is counted partition by partition where it lives
        and the counts merged exactly.
    created : str
        Time the lead was created.
    qualified, converted : str, optional
        Times the lead qualified (MQL/SQL) and converted; missing if it has not. Without the
        column, the figures that need it (``qualified_leads``, ``qualification_rate``,
        ``qualified_leads_growth``; ``converted_leads``, ``lead_conversion_rate``) are null.
    revenue : str, optional
        Revenue from the lead (not negative; a missing value counts as none). Without the
        column, ``revenue`` and ``revenue_per_lead`` are null.
    freq, by, tz, week_start, invalid, output
        As in :func:`kpikit.deal_metrics` (``freq`` default ``"month"``). Rules: created
        present; qualified and converted not before created; revenue not negative.
    cohort : {"created", "event"}, default "created"

    Returns
    -------
    DataFrame
        Keys, then ``leads``, ``qualified_leads``, ``qualified_leads_growth`` (null in a
        segment's first period or after a period without qualified leads),
        ``qualification_rate``, ``converted_leads``, ``lead_conversion_rate``, ``revenue``,
        ``revenue_per_lead``.

    Examples
    --------
    >>> import pandas as pd, kpikit
    >>> leads = pd.DataFrame({
    ...     "created": pd.to_datetime(["2026-01-03", "2026-01-09", "2026-02-02", "2026-02-05", "2026-02-07"]),
    ...     "qualified": pd.to_datetime(["2026-01-04", None, "2026-02-03", "2026-02-06", None]),
    ...     "won": pd.to_datetime([None, None, "2026-03-01", None, None]),
    ... })
    >>> out = kpikit.lead_metrics(leads, created="created", qualified="qualified", converted="won")
    >>> out[["leads", "qualified_leads", "qualified_leads_growth", "lead_conversion_rate"]].round(3)
       leads  qualified_leads  qualified_leads_growth  lead_conversion_rate
    0      2                1                     NaN                 0.000
    1      3                2                     1.0                 0.333
    >>> out.revenue_per_lead.isna().tolist()  # no revenue column: unknown, not 0
    [True, True]
    """
    return _run(
        _LEADS,
        table,
        {"created": created, "qualified": qualified, "converted": converted, "revenue": revenue},
        by,
        freq=freq,
        tz=tz,
        week_start=week_start,
        invalid=invalid,
        output=output,
        cohort=choice("cohort", cohort, ("created", "event")),
    )


@table_function
@checked
def support_metrics(
    table: TableLike,
    /,
    *,
    opened: str,
    resolved: str | None = None,
    first_response: str | None = None,
    handle_seconds: str | None = None,
    by: str | Sequence[str] | None = None,
    freq: str | None = "month",
    unit: str = "days",
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """Support tickets: opened, resolved, backlog, resolution and first-response time, handle time.

        backlog                = Σ opened − Σ resolved up to the end of the period
        resolution_days        = mean(resolved − opened) in days   (median and p90 too)
        first_response_days    = mean(first_response − opened) in days   (median and p90 too)
        avg_handle_seconds     = Σ handle_seconds / tickets with a handle time

    (``_days`` with the default ``unit="days"``; ``unit="hours"`` gives ``resolution_hours``
    and ``first_response_hours``, as help desks usually report them.)

    Timing: a duration counts in the period it ends (resolution time in the period the ticket
    was resolved, first-response time in the period of the first response), as help desks
    report "solved tickets"; handle time counts in the period the ticket was opened. Backlog
    counts tickets of the table only (tickets opened before its first row are unknown).

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per ticket. A Dask DataFrame is reduced partition by partition where it lives
        and the partial states merged exactly.
    opened : str
        Time the ticket was opened.
    resolved, first_response : str, optional
        Times of resolution and first response (missing until they happen; not before opened).
        Without ``resolved``, ``tickets_resolved`` and ``backlog`` are null (unknown).
    handle_seconds : str, optional
        Agent handling time in seconds (not negative). ``avg_handle_seconds`` averages it in
        the column's own unit, seconds, whatever ``unit`` says.
    unit : {"days", "hours", "minutes", "seconds"}, default "days"
        Unit of the resolution and first-response times, which their column names carry.
    by, freq, tz, week_start, invalid, output
        As in :func:`kpikit.deal_metrics` (``freq`` default ``"month"``).

    Returns
    -------
    DataFrame
        Keys, then ``tickets_opened``, ``tickets_resolved``, ``backlog``, ``resolution_days``,
        ``resolution_days_median``, ``resolution_days_p90``, ``first_response_days``,
        ``first_response_days_median``, ``first_response_days_p90``, ``avg_handle_seconds``.

    Examples
    --------
    >>> import pandas as pd, kpikit
    >>> tickets = pd.DataFrame({
    ...     "opened": pd.to_datetime(["2026-01-05 09:00", "2026-01-06 10:00", "2026-01-30 12:00"]),
    ...     "resolved": pd.to_datetime(["2026-01-05 13:00", "2026-01-07 10:00", None]),
    ... })
    >>> out = kpikit.support_metrics(tickets, opened="opened", resolved="resolved", unit="hours")
    >>> out[["tickets_opened", "tickets_resolved", "backlog"]]
       tickets_opened  tickets_resolved  backlog
    0               3                 2        1
    >>> out[["resolution_hours", "resolution_hours_median"]]  # 4 h and 24 h
       resolution_hours  resolution_hours_median
    0              14.0                     14.0
    """
    return _run(
        _SUPPORT,
        table,
        {"opened": opened, "resolved": resolved, "first_response": first_response, "handle_seconds": handle_seconds},
        by,
        freq=freq,
        tz=tz,
        week_start=week_start,
        invalid=invalid,
        output=output,
        unit=_unit(unit),
    )


@table_function
@checked
def campaign_metrics(
    table: TableLike,
    /,
    *,
    sends: str | None = None,
    deliveries: str | None = None,
    opens: str | None = None,
    clicks: str | None = None,
    conversions: str | None = None,
    cost: str | None = None,
    revenue: str | None = None,
    by: str | Sequence[str] | None = None,
    freq: str | None = None,
    time: str | None = None,
    base: str | None = None,
    conversion_base: str = "clicked",
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """E-mail / campaign funnel: open rate, click-through rate, conversion rate, CPA and ROI.

    Counts and money are summed per group (and period) into the columns ``sent``,
    ``delivered``, ``opened``, ``clicked``, ``converted``, ``spend`` and ``revenue``, then

        delivery_rate        = delivered / sent
        open_rate            = opened / base               (base: delivered, or sent)
        click_through_rate   = clicked / base
        click_to_open_rate   = clicked / opened
        conversion_rate      = converted / conversion_base (clicked by default)
        cost_per_acquisition = spend / converted
        roi                  = (revenue − spend) / spend

    Conventions: e-mail tools divide opens and clicks by *delivered* (Mailchimp, HubSpot);
    some by *sent*: ``base`` chooses (default ``"delivered"`` when a deliveries column is
    given, else ``"sent"``). Conversion rate is per click by default; ``conversion_base`` may
    be ``"delivered"`` or ``"sent"``. ROI is a fraction (0.5 = 50 % return on spend).

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per campaign (or campaign and day), with count and money columns. A Dask
        DataFrame is summed partition by partition where it lives and the sums merged.
    sends, deliveries, opens, clicks, conversions : str, optional
        Columns of counts: messages sent, delivered, opened, clicked and conversions.
    cost, revenue : str, optional
        Columns of money spent on (the result calls the sum ``spend``), and earned from, the campaign.
        At least one column must be given; values must be present and not negative. A sum
        whose column is not given is null, and so is every rate that needs it (missing means
        null, never 0).
    by : str or list of str, optional
        Segment columns (campaign, channel…).
    freq : {"day", "week", "month", "quarter", "year"}, optional
        Period length (default ``"month"`` when ``time`` is given); needs ``time``.
    time : str, optional
        The time column to bucket by (no periods without it).
    base : {"delivered", "sent"}, optional
    conversion_base : {"clicked", "delivered", "sent"}, default "clicked"
    tz, week_start, invalid, output
        As in :func:`kpikit.deal_metrics`.

    Returns
    -------
    DataFrame
        Keys, the sums (``sent`` … ``revenue``), then the rates above; zero denominators give
        null.

    Examples
    --------
    >>> import pandas as pd, kpikit
    >>> c = pd.DataFrame({"name": ["spring", "spring", "summer"], "delivered": [600, 400, 500],
    ...                   "opened": [150, 100, 200], "clicked": [30, 20, 25], "converted": [3, 2, 5],
    ...                   "spend": [100.0, 100.0, 250.0], "revenue": [400.0, 200.0, 250.0]})
    >>> out = kpikit.campaign_metrics(c, deliveries="delivered", opens="opened", clicks="clicked",
    ...                               conversions="converted", cost="spend", revenue="revenue", by="name")
    >>> out[["name", "open_rate", "click_through_rate", "conversion_rate"]]
         name  open_rate  click_through_rate  conversion_rate
    0  spring       0.25                0.05              0.1
    1  summer       0.40                0.05              0.2
    >>> out[["name", "cost_per_acquisition", "roi"]]
         name  cost_per_acquisition  roi
    0  spring                  40.0  2.0
    1  summer                  50.0  0.0
    >>> out.delivery_rate.isna().tolist()  # no sends column: unknown, not 0
    [True, True]
    """
    if base is not None:
        base = choice("base", base, ("delivered", "sent"))
    conversion_base = choice("conversion_base", conversion_base, ("clicked", "delivered", "sent"))
    if freq is not None and time is None:
        raise ParameterError('parameter "freq": needs a time column (time=...) to bucket')
    return _run(
        _CAMPAIGNS,
        table,
        {"time": time, "sends": sends, "deliveries": deliveries, "opens": opens, "clicks": clicks,
         "conversions": conversions, "cost": cost, "revenue": revenue},
        by,
        freq=(freq or "month") if time is not None else None,
        tz=tz,
        week_start=week_start,
        invalid=invalid,
        output=output,
        base=base,
        conversion_base=conversion_base,
    )


@table_function
@checked
def onboarding_time(
    table: TableLike,
    /,
    *,
    started: str,
    first_value: str,
    by: str | Sequence[str] | None = None,
    freq: str | None = "month",
    unit: str = "days",
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """Time to first value: days from signup or contract to the first value moment, by cohort.

        onboarding_days    = mean(first_value − started) in days over customers who reached it
                             (median and p90 too)
        reached_value_rate = reached_value / started

    Customers are grouped by the period of ``started`` (their cohort); those who have not
    reached first value yet count in ``started`` only, so recent cohorts' times are biased low
    until they mature (read them with ``reached_value_rate``).

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per customer (or account). A Dask DataFrame is reduced partition by partition
        where it lives and the partial states merged exactly.
    started : str
        Column of signup or contract times.
    first_value : str
        Column of the times of the first value moment (first report, first integration
        live…); missing if not yet reached; not before ``started``.
    unit : {"days", "hours", "minutes", "seconds"}, default "days"
        Unit of the onboarding times, which their column names carry (``onboarding_<unit>``).
    by, freq, tz, week_start, invalid, output
        As in :func:`kpikit.deal_metrics` (``freq`` default ``"month"``).

    Returns
    -------
    DataFrame
        Keys, then ``started``, ``reached_value``, ``reached_value_rate``,
        ``onboarding_days``, ``onboarding_days_median``, ``onboarding_days_p90``.

    Examples
    --------
    >>> import pandas as pd, kpikit
    >>> accounts = pd.DataFrame({
    ...     "signed": pd.to_datetime(["2026-01-02", "2026-01-10", "2026-01-20"]),
    ...     "first_report": pd.to_datetime(["2026-01-06", "2026-01-20", None]),
    ... })
    >>> out = kpikit.onboarding_time(accounts, started="signed", first_value="first_report")
    >>> out[["started", "reached_value", "onboarding_days", "onboarding_days_median"]]  # 4 and 10 days
       started  reached_value  onboarding_days  onboarding_days_median
    0        3              2              7.0                     7.0
    """
    return _run(
        _ONBOARDING,
        table,
        {"started": started, "first_value": first_value},
        by,
        freq=freq,
        tz=tz,
        week_start=week_start,
        invalid=invalid,
        output=output,
        unit=_unit(unit),
    )
