"""Sales, marketing, support and onboarding metrics over the tables a CRM, an e-mail tool and a
help desk export: deals, quotas, leads, campaigns, tickets.

Everything is computed in the Rust core as *partial → merge → finish* (per period and segment:
counts, sums and the exact lists of amounts and durations), so medians are exact and a Dask
run gives the same numbers as a single pass. Durations are computed from the timestamps (any
unit; zone-aware ones compare in UTC) and reported in the unit the column name says. Rates are
fractions; a zero denominator gives null.

Definitions and conventions: docs/conventions.md#sales-marketing-and-support.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _kpikit
from ._convert import check_output, column_list, table_input, table_output
from ._typing import Output, TableLike

__all__ = [
    "deal_metrics",
    "quota_attainment",
    "lead_metrics",
    "support_metrics",
    "campaign_metrics",
    "onboarding_time",
]


def _state(
    kind: str,
    table: TableLike,
    columns: dict[str, str | None],
    by: Sequence[str],
    freq: str | None,
    tz: str,
    week_start: str,
    options: dict[str, str],
    invalid: str,
) -> Any:
    given = {role: name for role, name in columns.items() if name is not None}
    return _kpikit.sales_state(
        kind,
        table_input(table, [*given.values(), *by]),
        given,
        by=list(by),
        freq=freq,
        tz=tz,
        week_start=week_start,
        options=options,
        invalid=invalid,
    )


def _run(kind: str, table: TableLike, columns: dict[str, str | None], by: Sequence[str], freq: str | None,
         tz: str, week_start: str, options: dict[str, str], invalid: str, output: str) -> Any:
    check_output(output)
    state = _state(kind, table, columns, by, freq, tz, week_start, options, invalid)
    return table_output(_kpikit.finish_sales(state), output)


def deal_metrics(
    deals: TableLike,
    *,
    deal: str | None = None,
    owner: str | None = None,
    created: str,
    closed: str,
    amount: str,
    won: str,
    freq: str | None = "quarter",
    by: str | Sequence[str] | None = None,
    cohort: str = "closed",
    cycle_of: str = "won",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output = "pandas",
) -> Any:
    """Deal metrics per period, owner and segment: win rate, deal size, sales cycle, velocity.

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
    deals : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per deal (opportunity).
    deal : str, optional
        Deal id column; when given, ids must be present and unique.
    owner : str, optional
        Owner (sales rep) column; the first segment of the result.
    created, closed : str
        Timestamp or date columns; ``closed`` is missing while the deal is open.
    amount : str
        Deal value (not negative; required for won deals).
    won : str
        Boolean (or 0/1) outcome of a closed deal; missing or false while open.
    freq : {"day", "week", "month", "quarter", "year"} or None, default "quarter"
        Period length; ``None`` gives one row per group over the whole table (``deals_open``:
        open at the end of the data).
    by : str or list of str, optional
        Further segment columns (region, product…).
    cohort : {"closed", "created"}, default "closed"
    cycle_of : {"won", "closed"}, default "won"
    tz : str, default "UTC"
        Time zone the periods are counted in (durations always compare instants).
    week_start : str, default "monday"
    invalid : {"raise", "skip"}, default "raise"
        A deal closed before it was created, a won flag on an open deal, a closed deal without
        an outcome, a negative amount, a won deal without an amount, a missing created time or a
        repeated deal id raise an :class:`~kpikit.InputError` naming the column, the rule and
        the rows; ``"skip"`` leaves such rows out and counts them in
        ``DataFrame.attrs["skipped_rows"]``.
    output : {"pandas", "polars", "arrow"}, default "pandas"

    Returns
    -------
    DataFrame
        ``period``, owner and segments as keys (every period from the first to the last, gaps
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
    ...     "won": [True, True, False, None],
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
    """
    segments = ([owner] if owner is not None else []) + column_list(by)
    return _run(
        "deals",
        deals,
        {"created": created, "closed": closed, "amount": amount, "won": won, "deal": deal},
        segments,
        freq,
        tz,
        week_start,
        {"cohort": cohort, "cycle_of": cycle_of},
        invalid,
        output,
    )


def quota_attainment(
    actuals: TableLike,
    quotas: TableLike,
    *,
    owner: str,
    period: str,
    actual: str = "amount",
    quota: str = "quota",
    quota_owner: str | None = None,
    quota_period: str | None = None,
    freq: str = "month",
    to_date: str | None = "year",
    tz: str = "UTC",
    output: Output = "pandas",
) -> Any:
    """Quota attainment per owner and period, period-to-date, and the share of owners at quota.

        attainment         = actual / quota
        attainment_to_date = Σ actual / Σ quota      (over the periods of the to-date span so far)
        share_at_quota     = owners with attainment ≥ 1 / owners with a quota > 0   (per period)

    Period-to-date attainment is the ratio of the sums, not the mean of the periods' ratios
    (a 42.5k month and a 55k month against 50k each are 97.5 %, whatever the monthly
    percentages). Actuals are summed per owner and period, so a table of won deals (one row
    per deal) can be passed directly.

    Parameters
    ----------
    actuals : table
        Rows with an owner, a time (timestamp or date, bucketed to ``freq``) and an amount.
    quotas : table
        One row per owner and period with the quota (not negative, at most one per owner and
        period).
    owner, period : str
        Owner and time columns of ``actuals`` (and of ``quotas`` unless ``quota_owner`` /
        ``quota_period`` name them differently there).
    actual : str, default "amount"
        Amount column of ``actuals``.
    quota : str, default "quota"
        Quota column of ``quotas``.
    freq : str, default "month"
        The quota period.
    to_date : {"year", "quarter", "all"} or None, default "year"
        Span over which the to-date sums run before restarting (``"all"``/None: never restart).
    tz : str, default "UTC"
    output : {"pandas", "polars", "arrow"}, default "pandas"

    Returns
    -------
    DataFrame
        ``period``, owner, ``actual``, ``quota`` (null without a quota), ``attainment``,
        ``actual_to_date``, ``quota_to_date``, ``attainment_to_date``, ``share_at_quota``;
        every owner in every period from the first to the last. Zero or missing quota gives
        null attainment.

    Examples
    --------
    January 42.5k of 50k, February 55k, March 52.5k:

    >>> import pandas as pd, kpikit
    >>> months = pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"])
    >>> actuals = pd.DataFrame({"rep": "ana", "month": months, "amount": [42_500.0, 55_000.0, 52_500.0]})
    >>> quotas = pd.DataFrame({"rep": "ana", "month": months, "quota": 50_000.0})
    >>> out = kpikit.quota_attainment(actuals, quotas, owner="rep", period="month")
    >>> out[["attainment", "attainment_to_date"]].round(3)
       attainment  attainment_to_date
    0        0.85               0.850
    1        1.10               0.975
    2        1.05               1.000
    """
    check_output(output)
    q_owner = quota_owner or owner
    q_period = quota_period or period
    result = _kpikit.quota_attainment(
        table_input(actuals, [owner, period, actual]),
        table_input(quotas, [q_owner, q_period, quota]),
        owner=owner,
        period=period,
        actual=actual,
        quota=quota,
        quota_owner=q_owner,
        quota_period=q_period,
        freq=freq,
        tz=tz,
        to_date=to_date,
    )
    return table_output(result, output)


def lead_metrics(
    leads: TableLike,
    *,
    created: str,
    qualified: str | None = None,
    converted: str | None = None,
    revenue: str | None = None,
    freq: str | None = "month",
    by: str | Sequence[str] | None = None,
    cohort: str = "created",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output = "pandas",
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
    leads : table
        One row per lead.
    created : str
        Time the lead was created.
    qualified, converted : str, optional
        Times the lead qualified (MQL/SQL) and converted; missing if it has not.
    revenue : str, optional
        Revenue from the lead (not negative; missing counts as none).
    freq, by, tz, week_start, invalid, output
        As in :func:`kpikit.deal_metrics` (``freq`` default ``"month"``). Rules: created
        present; qualified and converted not before created; revenue not negative.

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
    """
    return _run(
        "leads",
        leads,
        {"created": created, "qualified": qualified, "converted": converted, "revenue": revenue},
        column_list(by),
        freq,
        tz,
        week_start,
        {"cohort": cohort},
        invalid,
        output,
    )


def support_metrics(
    tickets: TableLike,
    *,
    opened: str,
    resolved: str | None = None,
    first_response: str | None = None,
    handle_seconds: str | None = None,
    by: str | Sequence[str] | None = None,
    freq: str | None = "month",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output = "pandas",
) -> Any:
    """Support tickets: opened, resolved, backlog, resolution and first-response time, handle time.

        backlog                = Σ opened − Σ resolved up to the end of the period
        resolution_hours       = mean(resolved − opened) in hours   (median and p90 too)
        first_response_hours   = mean(first_response − opened) in hours   (median and p90 too)
        avg_handle_seconds     = Σ handle_seconds / tickets with a handle time

    Timing: a duration counts in the period it ends (resolution time in the period the ticket
    was resolved, first-response time in the period of the first response), as help desks
    report "solved tickets"; handle time counts in the period the ticket was opened. Backlog
    counts tickets of the table only (tickets opened before its first row are unknown).

    Parameters
    ----------
    tickets : table
        One row per ticket.
    opened : str
        Time the ticket was opened.
    resolved, first_response : str, optional
        Times of resolution and first response (missing until they happen; not before opened).
    handle_seconds : str, optional
        Agent handling time in seconds (not negative).
    by, freq, tz, week_start, invalid, output
        As in :func:`kpikit.deal_metrics` (``freq`` default ``"month"``).

    Returns
    -------
    DataFrame
        Keys, then ``tickets_opened``, ``tickets_resolved``, ``backlog``, ``resolution_hours``,
        ``resolution_hours_median``, ``resolution_hours_p90``, ``first_response_hours``,
        ``first_response_hours_median``, ``first_response_hours_p90``, ``avg_handle_seconds``.

    Examples
    --------
    >>> import pandas as pd, kpikit
    >>> tickets = pd.DataFrame({
    ...     "opened": pd.to_datetime(["2026-01-05 09:00", "2026-01-06 10:00", "2026-01-30 12:00"]),
    ...     "resolved": pd.to_datetime(["2026-01-05 13:00", "2026-01-07 10:00", None]),
    ... })
    >>> out = kpikit.support_metrics(tickets, opened="opened", resolved="resolved")
    >>> out[["tickets_opened", "tickets_resolved", "backlog"]]
       tickets_opened  tickets_resolved  backlog
    0               3                 2        1
    >>> out[["resolution_hours", "resolution_hours_median"]]  # 4 h and 24 h
       resolution_hours  resolution_hours_median
    0              14.0                     14.0
    """
    return _run(
        "support",
        tickets,
        {"opened": opened, "resolved": resolved, "first_response": first_response, "handle_seconds": handle_seconds},
        column_list(by),
        freq,
        tz,
        week_start,
        {},
        invalid,
        output,
    )


def campaign_metrics(
    campaigns: TableLike,
    *,
    sent: str | None = None,
    delivered: str | None = None,
    opened: str | None = None,
    clicked: str | None = None,
    converted: str | None = None,
    spend: str | None = None,
    revenue: str | None = None,
    by: str | Sequence[str] | None = None,
    freq: str | None = None,
    time: str | None = None,
    base: str | None = None,
    conversion_base: str = "clicked",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output = "pandas",
) -> Any:
    """E-mail / campaign funnel: open rate, click-through rate, conversion rate, CPA and ROI.

    Counts and money are summed per group (and period), then

        delivery_rate        = delivered / sent
        open_rate            = opened / base               (base: delivered, or sent)
        click_through_rate   = clicked / base
        click_to_open_rate   = clicked / opened
        conversion_rate      = converted / conversion_base (clicked by default)
        cost_per_acquisition = spend / converted
        roi                  = (revenue − spend) / spend

    Conventions: e-mail tools divide opens and clicks by *delivered* (Mailchimp, HubSpot);
    some by *sent*: ``base`` chooses (default ``"delivered"`` when a delivered column is given,
    else ``"sent"``). Conversion rate is per click by default; ``conversion_base`` may be
    ``"delivered"`` or ``"sent"``. ROI is a fraction (0.5 = 50 % return on spend).

    Parameters
    ----------
    campaigns : table
        One row per campaign (or campaign and day), with count and money columns.
    sent, delivered, opened, clicked, converted, spend, revenue : str, optional
        Column names (at least one); values must be present and not negative. Columns not
        given sum to 0.
    by : str or list of str, optional
        Segment columns (campaign, channel…).
    freq, time : str, optional
        Period length and the time column to bucket by (no periods without ``time``).
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
    >>> out = kpikit.campaign_metrics(c, delivered="delivered", opened="opened", clicked="clicked",
    ...                               converted="converted", spend="spend", revenue="revenue", by="name")
    >>> out[["name", "open_rate", "click_through_rate", "conversion_rate"]]
         name  open_rate  click_through_rate  conversion_rate
    0  spring       0.25                0.05              0.1
    1  summer       0.40                0.05              0.2
    >>> out[["name", "cost_per_acquisition", "roi"]]
         name  cost_per_acquisition  roi
    0  spring                  40.0  2.0
    1  summer                  50.0  0.0
    """
    if base is None:
        base = "delivered" if delivered is not None else "sent"
    if freq is not None and time is None:
        from .exceptions import ParameterError

        raise ParameterError('parameter "freq": needs a time column (time=...) to bucket')
    return _run(
        "campaigns",
        campaigns,
        {
            "time": time,
            "sent": sent,
            "delivered": delivered,
            "opened": opened,
            "clicked": clicked,
            "converted": converted,
            "spend": spend,
            "revenue": revenue,
        },
        column_list(by),
        (freq or "month") if time is not None else None,
        tz,
        week_start,
        {"base": base, "conversion_base": conversion_base},
        invalid,
        output,
    )


def onboarding_time(
    table: TableLike,
    *,
    start: str,
    first_value: str,
    by: str | Sequence[str] | None = None,
    freq: str | None = "month",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output = "pandas",
) -> Any:
    """Time to first value: days from signup or contract to the first value moment, by cohort.

        onboarding_days    = mean(first_value − start) in days over customers who reached it
                             (median and p90 too)
        reached_value_rate = reached_value / started

    Customers are grouped by the period of ``start`` (their cohort); those who have not reached
    first value yet count in ``started`` only, so recent cohorts' times are biased low until
    they mature (read them with ``reached_value_rate``).

    Parameters
    ----------
    table : table
        One row per customer (or account).
    start : str
        Signup or contract time.
    first_value : str
        Time of the first value moment (first report, first integration live…); missing if not
        yet reached; not before ``start``.
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
    >>> out = kpikit.onboarding_time(accounts, start="signed", first_value="first_report")
    >>> out[["started", "reached_value", "onboarding_days", "onboarding_days_median"]]  # 4 and 10 days
       started  reached_value  onboarding_days  onboarding_days_median
    0        3              2              7.0                     7.0
    """
    return _run(
        "onboarding",
        table,
        {"start": start, "first_value": first_value},
        column_list(by),
        freq,
        tz,
        week_start,
        {},
        invalid,
        output,
    )
