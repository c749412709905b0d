"""SaaS revenue: MRR per customer, the MRR movement ledger, revenue rates and cohorts.

Everything is computed in the Rust core, in integer hundredths of the input's money unit
("cents"), so the ledger reconciles exactly; results come back as floats in the input's unit.
The movements and cohorts are computed as *partial → merge → finish*: with every customer's rows
in one partition, the per-period flows of the partitions add up exactly, which is how a Dask
DataFrame is computed (shuffled on the customer column, unless ``partitioned=True``).

Definitions, the convention keywords and what each preset sets: docs/conventions.md#revenue;
parameter names: docs/vocabulary.md#revenue.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from . import _kpikit
from ._analysis import Analysis, check_segments, freq as check_freq, is_dask, output_of, run
from ._convert import column_list, table_input, table_output, time_zone
from ._settings import checked
from ._typing import Output, TableLike, table_function
from .exceptions import ParameterError

__all__ = ["mrr", "mrr_movements", "revenue_metrics", "revenue_cohorts", "CONVENTIONS", "PRESETS"]

# The conventions are defined once, in the core; these are read from it.
_DEFINED = json.loads(_kpikit.revenue_conventions())

#: The convention keywords of :func:`mrr_movements` and their kpikit defaults
#: (``reactivation_window="any"``: any gap; a number of periods, or days as ``"90d"``).
CONVENTIONS: dict[str, Any] = _DEFINED["default"]

#: What each preset sets, every keyword included.
PRESETS: dict[str, dict[str, Any]] = _DEFINED["presets"]

#: The period lengths the revenue kernels support.
_FREQS = ("day", "week", "month", "quarter", "year")


def _convention_text(name: str, value: Any) -> str:
    """A convention value in the text form the core parses."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    raise ParameterError(f"parameter {name!r}: {value!r} is not a valid value")


#: Convention keywords that are column parameters elsewhere (docs/vocabulary.md).
_RENAMED = {"start": "started", "end": "ended"}


def _overrides(conventions: dict[str, Any], function: str) -> list[tuple[str, str]]:
    """Convention keywords as (name, text) pairs for the core, unknown names rejected."""
    overrides = []
    for name, value in conventions.items():
        if name in _RENAMED:
            # What Python says of any unknown keyword, with the name to use.
            raise TypeError(
                f"{function}() got an unexpected keyword argument {name!r}; the subscription "
                f"column is {_RENAMED[name]}= (docs/vocabulary.md)"
            )
        if name not in CONVENTIONS:
            raise ParameterError(
                f"parameter {name!r}: not a keyword of {function}; conventions are {', '.join(CONVENTIONS)}"
            )
        overrides.append((name, _convention_text(name, value)))
    return overrides


def _read_options(
    customer: str, period: str | None, mrr: str | None, started: str | None, ended: str | None,
    amount: str | None, interval: str | None, freq: str, week_start: str, snapshot: str, tz: str | None,
    duplicates: str, discount: str | None = None, discount_percent: str | None = None,
) -> dict[str, Any]:
    """How the input is read: the keywords of the core's revenue bindings, plus the customer column."""
    return dict(customer=customer, period=period, mrr=mrr, started=started, ended=ended, amount=amount,
                interval=interval, discount=discount, discount_percent=discount_percent,
                freq=check_freq(freq, _FREQS), week_start=week_start, snapshot=snapshot, tz=tz,
                duplicates=duplicates)


def _zone(table: Any, times: Sequence[str | None], tz: str | None, more: Sequence[tuple[Any, Any]] = ()) -> str:
    """The zone of the call (docs/conventions.md, "Calendar periods"); a list of partitions is
    read by its first table."""
    first = table[0] if isinstance(table, (list, tuple)) and table else table
    return time_zone(first, times, tz, more=more)


def _columns(o: dict[str, Any]) -> list[str | None]:
    """The columns a revenue kernel reads."""
    return [o["customer"], o["period"], o["mrr"], o["started"], o["ended"], o["amount"], o["interval"],
            o["discount"], o["discount_percent"], *o.get("by", [])]


def _kernel(o: dict[str, Any]) -> dict[str, Any]:
    """The options as keywords of a binding (the customer column is positional there)."""
    return {k: v for k, v in o.items() if k != "customer"}


def _movement_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.mrr_movements(table, o["customer"], **_kernel(o))


def _cohort_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.revenue_cohorts(table, o["customer"], **_kernel(o))


def _metrics_of_state(state: Any, f: dict[str, Any]) -> Any:
    """Rates from a movement state: finished into the movement table, whose metadata says which
    conventions it was computed with (preset and keywords were applied by the state step)."""
    import pyarrow as pa

    moved = pa.table(_kpikit.finish(state))
    raw = (moved.schema.metadata or {}).get(b"kpikit.conventions")
    return _kpikit.revenue_metrics(moved, ledger_conventions=None if raw is None else raw.decode(), **f)


_MOVEMENTS = Analysis("mrr_movements", state=_movement_state, shuffle="customer")
# The rates are a view on the finished movements: the same state, another finish.
_METRICS = Analysis("revenue_metrics", state=_movement_state, finish=_metrics_of_state, shuffle="customer")
_COHORTS = Analysis("revenue_cohorts", state=_cohort_state, shuffle="customer")


def _run(
    analysis: Analysis, table: Any, options: dict[str, Any], *, finish: dict[str, Any] | None = None,
    output: str | None, partitioned: bool,
) -> Any:
    """``analysis`` on a table, a Dask DataFrame or a list of customer partitions, as an Arrow
    table with its segments' categories restored, and the library the result goes back in."""
    segments = options.get("by", [])
    if isinstance(table, (list, tuple)):
        if not table:
            raise ParameterError('parameter "table": an empty list of partitions')
        columns = _columns(options)
        options = _with_snapshot_times(table, options)
        state = analysis.merge([analysis.state(table_input(t, columns), options) for t in table])
        result = analysis.finish(state, finish or {})
        arrow = table_output(result, "arrow", source=table[0], segments=segments, analysis=analysis.name,
                             tz=options["tz"])
        return arrow, output_of(table[0], output)
    if is_dask(table) and not partitioned:
        options = _with_snapshot_times(table, options)
    arrow = run(analysis, table, columns=_columns(options), options=options, finish=finish, output="arrow",
                segments=segments, partitioned=partitioned)
    return arrow, output_of(table, output)


def _with_snapshot_times(table: Any, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the distinct snapshot times of every partition (a list of tables or a
    Dask DataFrame): a period's MRR is the snapshot at its latest time in the whole data, which
    one partition alone cannot know (docs/conventions.md#revenue)."""
    period = options.get("period")
    if period is None:
        return options
    import pyarrow as pa
    import pyarrow.compute as pc

    if is_dask(table):
        if period not in table.columns:
            return options  # the core names the missing column
        values = pa.array(table[period].dropna().unique().compute())
    else:
        parts = []
        for t in table:
            data = pa.table(table_input(t, [period]))
            if period not in data.column_names:
                return options
            parts.append(pc.unique(data.column(period).combine_chunks()))
        values = pa.chunked_array(parts) if parts else pa.array([])
    return {**options, "times": values}


def _delivered(arrow: Any, library: str, segments: Sequence[str] = (), order: Sequence[str] = ()) -> Any:
    """The result in ``library``, rows ordered by ``order`` when a segment came back categorical
    (categories in their order, missing last), and for pandas the conventions the result was
    computed with in ``DataFrame.attrs["conventions"]`` (an Arrow result carries them in its
    schema metadata ``kpikit.conventions``; a polars DataFrame has no place for them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if order and any(pa.types.is_dictionary(arrow.schema.field(s).type) for s in segments if s in arrow.column_names):
        keys = []
        for name in order:
            col = arrow.column(name).combine_chunks()
            keys.append(pc.fill_null(col.indices.cast(pa.int32()), 2**31 - 1) if pa.types.is_dictionary(col.type) else col)
        names = [f"k{i}" for i in range(len(keys))]
        arrow = arrow.take(pc.sort_indices(pa.table(keys, names=names), sort_keys=[(n, "ascending") for n in names]))
    out = table_output(arrow, library)
    raw = (arrow.schema.metadata or {}).get(b"kpikit.conventions")
    if library == "pandas" and raw is not None:
        out.attrs["conventions"] = json.loads(raw)
    return out


def _no_dask(table: Any, function: str) -> None:
    if is_dask(table):
        raise ParameterError(
            f'parameter "table": {function} reads one table, not a Dask DataFrame; call compute() first '
            "(mrr_movements, revenue_metrics and revenue_cohorts take a Dask DataFrame as it is)"
        )


@table_function
@checked
def mrr(
    table: TableLike,
    /,
    *,
    customer: str,
    period: str | None = None,
    mrr: str | None = None,
    started: str | None = None,
    ended: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    discount: str | None = None,
    discount_percent: str | None = None,
    freq: str = "month",
    snapshot: str = "end",
    tz: str | None = None,
    duplicates: str = "raise",
    week_start: str = "monday",
    output: Output | None = None,
) -> Any:
    """MRR per customer per period, from snapshots or from subscriptions.

    Two input shapes (docs/conventions.md#mrr):

    * **snapshots** — ``period`` (when the monthly snapshot was taken, any day of the month)
      and ``mrr``. MRR is a balance, not a flow: a period's MRR is the snapshot at the period's
      end. A day, week or month reads its own rows; a quarter or a year reads the last month in
      it with any snapshot (over all customers)::

          mrr(customer, quarter) = mrr of its row in the quarter's last month with data, else 0

      so monthly snapshots read with ``freq="quarter"`` give the March, June, September and
      December values, and a customer missing from a quarter's last snapshot month has no MRR
      at the quarter's end (it churned). Two rows of one customer in one period (in the month
      read) are an error naming them, unless ``duplicates="sum"`` adds them up (one row per
      subscription, say).
    * **subscriptions** — ``started``, ``ended`` (null = still active), ``amount`` per billing
      ``interval``. The monthly value is

          monthly = amount / months(interval)      year 12, quarter 3, month 1, week 12/52,
                                                   or a number of months (6 = half-yearly)

      rounded to cents per subscription (as ChartMogul rounds each line). Without ``interval``
      amounts are monthly already. A recurring discount comes off the amount first
      (docs/conventions.md#discounts)::

          amount − discount                       (discount=: money off per interval)
          amount × (1 − discount_percent / 100)   (discount_percent=: 0 to 100)

      A null discount is none; a one-off coupon is not a discount column (it does not change
      MRR). With ``snapshot="end"`` (default) a subscription counts in a
      period when it is active at the period's last instant, ``started < period end ≤ ended``: a
      subscription ending at midnight on the 1st counts in the month before. With
      ``snapshot="average"`` it counts by the fraction of the period it covers
      (``monthly × covered time / period length``, rounded to cents per customer and period).

    Parameters
    ----------
    table : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per snapshot or per subscription. Not a Dask DataFrame: the result has a row
        per customer and period, as large as the data (compute it first, or use
        :func:`mrr_movements`, which takes one).
    customer : str
        Customer id column (any type; must not be missing).
    period, mrr : str, optional
        Snapshot columns.
    started, ended, amount, interval : str, optional
        Subscription columns: when each subscription started and ended (timestamps or dates),
        the amount billed per interval, and the interval as names ("month", "quarter", "year",
        "week", "annual"…) or numbers of months.
    discount, discount_percent : str, optional
        Subscription columns of a recurring discount: money off per billing interval (in the
        amount's unit), or a percentage of the amount from 0 to 100. Null means no discount; a
        row may have one kind, not both. Not with snapshots (their MRR is net already).
    freq : {"day", "week", "month", "quarter", "year"}, default "month"
        Calendar periods, counted in ``tz`` (naive times are taken as local to it).
    snapshot : {"end", "average"}, default "end"
        How subscriptions are read into a period's MRR (snapshots are one value per period).
    tz : str, optional
        Time zone the periods are counted in; naive timestamps are taken as local to it.
        Default: the zone of the zone-aware time columns, else UTC (the result says which:
        ``attrs["tz"]`` in pandas, schema metadata ``kpikit.tz`` in Arrow).
    duplicates : {"raise", "sum"}, default "raise"
        Several snapshot rows of one customer in one period (in the month read): an
        :class:`InputError` naming the rows, or (``"sum"``) their sum.
    week_start : str, default "monday"
        First day of a week for ``freq="week"``.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (docs/vocabulary.md).

    Returns
    -------
    DataFrame
        ``customer`` (named as in the input), ``period`` (start date), ``mrr``: one row per
        customer and period with MRR above 0, from the first period to the last of the data,
        ordered by customer (first appearance) then period.

    Raises
    ------
    InputError
        Missing customers, periods or start times; negative, non-finite or missing amounts;
        ``ended`` before ``started``; intervals that are not a known name or a positive number;
        a negative discount, one larger than the amount, a percentage outside 0–100, or both
        kinds in one row. The message names the column, the rule and up to five rows.

    Examples
    --------
    Stripe's glossary example: 100 subscribers at $100 a month and 50 at $600 a year make
    MRR = 100 × 100 + 50 × 600 / 12 = 12,500.

    >>> import pandas as pd, kpikit
    >>> subs = pd.DataFrame({
    ...     "customer": range(150),
    ...     "started": pd.Timestamp("2026-01-01"),
    ...     "amount": [100.0] * 100 + [600.0] * 50,
    ...     "interval": ["month"] * 100 + ["year"] * 50,
    ... })
    >>> m = kpikit.mrr(subs, customer="customer", started="started", amount="amount", interval="interval")
    >>> m.groupby("period").mrr.sum()
    period
    2026-01-01    12500.0
    Name: mrr, dtype: float64

    With a forever coupon of 20 % on the yearly plans (Stripe subtracts forever coupons):
    100 × 100 + 50 × 600 × 0.8 / 12 = 12,000.

    >>> subs["off"] = [None] * 100 + [20.0] * 50
    >>> m = kpikit.mrr(subs, customer="customer", started="started", amount="amount", interval="interval",
    ...                discount_percent="off")
    >>> float(m.mrr.sum())
    12000.0
    """
    _no_dask(table, "kpikit.mrr")
    library = output_of(table, output)
    tz = _zone(table, [period, started, ended], tz)
    o = _read_options(customer, period, mrr, started, ended, amount, interval, freq, week_start, snapshot, tz, duplicates,
                      discount, discount_percent)
    result = _kpikit.mrr(table_input(table, _columns(o)), customer, **_kernel(o))
    return table_output(result, library, analysis="mrr", tz=tz)


@table_function
@checked
def mrr_movements(
    table: TableLike | Sequence[TableLike],
    /,
    *,
    customer: str,
    period: str | None = None,
    mrr: str | None = None,
    started: str | None = None,
    ended: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    discount: str | None = None,
    discount_percent: str | None = None,
    freq: str = "month",
    by: str | Sequence[str] | None = None,
    preset: str | None = None,
    detail: bool = False,
    snapshot: str = "end",
    tz: str | None = None,
    duplicates: str = "raise",
    week_start: str = "monday",
    partitioned: bool = False,
    output: Output | None = None,
    **conventions: Any,
) -> Any:
    """MRR movements per period (and segment): the MRR bridge from start to end of each period.

    MRR is a balance read at period ends (see :func:`kpikit.mrr` for both input shapes); each
    customer's change between two consecutive period ends is one movement:

    ===========================  ==================================================
    0 → x, first MRR ever        new
    0 → x, after a churn         reactivation (new again beyond ``reactivation_window``)
    x → y, y > x / y < x         expansion / contraction
    x → 0                        churn
    ===========================  ==================================================

    and every row reconciles exactly (computed in integer cents)::

        ending_mrr = starting_mrr + new_mrr + expansion_mrr + reactivation_mrr
                     − contraction_mrr − churned_mrr  (+ moved_in_mrr − moved_out_mrr)
        net_new_mrr = new_mrr + expansion_mrr + reactivation_mrr − contraction_mrr − churned_mrr

    Movements are net per customer and period: an upgrade undone within the same month does not
    show. A customer whose subscriptions all start and end inside one period (no MRR at either
    end) *joined and churned in the period*; it is counted by ``same_period_new_churn`` and
    always in ``new_and_churned_customers``. This is only visible from subscriptions with
    ``snapshot="end"``: snapshots have one value per period, and averages keep the customer's
    MRR in the period. Definitions: docs/conventions.md#mrr-movements.

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, any Arrow stream, or a list of tables
        As in :func:`kpikit.mrr`. A Dask DataFrame is shuffled on ``customer`` (every customer's
        rows in one partition, unless ``partitioned=True``), each partition's flows are computed
        where it lives and merged exactly on the client. A list is read the same way, as
        partitions of one table split by customer. Both give the one-pass result (not with
        ``detail=True``).
    customer, period, mrr, started, ended, amount, interval, discount, discount_percent, freq, snapshot, tz, duplicates, week_start
        As in :func:`kpikit.mrr`.
    by : str or list of str, optional
        Segment columns (plan, region…); a customer has one segment value per period (two rows
        of one period with different values are an :class:`~kpikit.InputError`). A customer
        moving between segments leaves the old one as ``moved_out_mrr`` (its starting MRR) and
        enters the new one as ``moved_in_mrr`` (the same amount), the change of its MRR being
        expansion or contraction in the new segment. Summed over segments, every column except
        the moves equals the result without ``by``, and the moves cancel out. A categorical
        segment keeps its categories, in their order.
    preset : {"chartmogul", "stripe", "baremetrics", "profitwell"}, optional
        Set the conventions as that tool publishes them (listed in :data:`PRESETS`,
        docs/conventions.md#revenue-presets); keywords given as well override the preset.
    detail : bool, default False
        Return the per-customer ledger instead: one row per customer, period and segment with
        MRR at either end of the period (or that joined and churned in it), with the same money
        columns and a ``movement`` label (new, reactivation, expansion, contraction, unchanged,
        churn, moved_in, moved_out, new_and_churn, reactivation_and_churn). One table only.
    partitioned : bool, default False
        Dask input only: the rows of each customer already share one partition (Parquet files
        written per customer range, say), so the shuffle is skipped. If they do not, a customer
        split over two partitions churns in one and is new in the other.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (pandas for a Dask DataFrame).
    **conventions
        ``same_period_new_churn`` : {"count", "exclude", "net_out_of_new"}, default "count"
            ``"count"`` (Stripe, Baremetrics, Maxio): new (or reactivation) and churn, in MRR and
            customers. ``"exclude"`` (ChartMogul): MRR as with count, counted as a new customer
            but not as churned. ``"net_out_of_new"`` (ProfitWell): in neither.
        ``reactivation_window`` : "any", None, int or str, default "any"
            "any" (or None): a returning customer is a reactivation after any gap (ChartMogul, Stripe,
            Baremetrics, ProfitWell). An int: at most that many whole periods without MRR,
            otherwise new. ``"90d"``: at most 90 days from the end of the last period with MRR to
            the end of the last period without (Maxio uses 90 days).
        ``churn_denominator`` : {"start", "start_plus_new"}, default "start"
        ``net_churn_counts_reactivation`` : bool, default True
        ``nrr_counts_reactivation`` : bool, default False
        ``quick_ratio_counts_reactivation`` : bool, default True
        ``ltv_churn`` : {"customer", "net_mrr"}, default "customer"
        ``ltv_churn_periods`` : int or None, default None
        ``ltv_zero_churn`` : "null", "zero" or float, default "null"
            Conventions of the rates built on the ledger (customer churn divides by customers at
            the start, ChartMogul/Baremetrics, or at the start plus new, Stripe; whether
            reactivation offsets churn in net MRR churn, counts in NRR, and counts in the quick
            ratio; which churn rate lifetime value divides by, over how many previous
            periods it is averaged, and what LTV is when that churn is zero; see
            :func:`revenue_metrics`). They do not change this table;
            they are recorded with it for :func:`revenue_metrics`: a pandas result holds them in
            ``DataFrame.attrs["conventions"]``, an Arrow result in its schema metadata
            ``kpikit.conventions``. A polars DataFrame has no table metadata: give
            :func:`revenue_metrics` the same ``preset`` and keywords again (or ask for
            ``output="arrow"``).

    Returns
    -------
    DataFrame
        One row per segment (sorted; categories in their order) and period from the first with
        MRR to the last of the data (gaps filled): ``period``, the segments, ``starting_mrr``,
        ``new_mrr``, ``expansion_mrr``, ``contraction_mrr``, ``churned_mrr``,
        ``reactivation_mrr``, (``moved_in_mrr``, ``moved_out_mrr`` with ``by``),
        ``ending_mrr``, ``net_new_mrr``, ``starting_customers``, ``new_customers``,
        ``expanded_customers``, ``contracted_customers``, ``churned_customers``,
        ``reactivated_customers``, (``moved_in_customers``, ``moved_out_customers``),
        ``ending_customers``, ``new_and_churned_customers``, ``new_and_churned_mrr`` and
        ``reactivated_and_churned_mrr`` (the part of it of returning customers). ``starting`` of a period is the
        ``ending`` of the one before. With snapshots, a customer without a row in the period
        after its last one churns there, unless that is past the last period of the data.

    Notes
    -----
    No ``invalid=`` parameter: every bad row (a missing customer, period or start time, a
    negative or missing amount, an unknown interval, an end before the start, two segment
    values in one period) raises an :class:`~kpikit.InputError` naming the rows; drop or fix
    them first.

    What the presets cannot reproduce from these inputs: churn timing (ChartMogul's setting for
    the cancel date or the end of the paid period, ProfitWell's end of paid period) is whatever
    date ``ended`` holds; Stripe's and Baremetrics' rolling 30-day windows are calendar periods
    here; trials, past-due and delinquency rules and limited-run coupons apply to the amounts
    before they reach kpikit (recurring discounts have ``discount=`` / ``discount_percent=``); ChartMogul's grouping of activities within minutes is subsumed by netting per
    period. ProfitWell publishes no churn denominator (the default stays).

    Examples
    --------
    Customer a pays 100, then 150, then leaves; b joins at 50 in February:

    >>> import pandas as pd, kpikit
    >>> snaps = pd.DataFrame({
    ...     "customer": ["a", "a", "b", "b"],
    ...     "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-02-01", "2026-03-01"]),
    ...     "mrr": [100.0, 150.0, 50.0, 50.0],
    ... })
    >>> m = kpikit.mrr_movements(snaps, customer="customer", period="month", mrr="mrr")
    >>> m[["period", "starting_mrr", "new_mrr", "expansion_mrr", "churned_mrr", "ending_mrr"]]
          period  starting_mrr  new_mrr  expansion_mrr  churned_mrr  ending_mrr
    0 2026-01-01           0.0    100.0            0.0          0.0       100.0
    1 2026-02-01         100.0     50.0           50.0          0.0       200.0
    2 2026-03-01         200.0      0.0            0.0        150.0        50.0

    The same from a Dask DataFrame (a pandas result):

    >>> import dask.dataframe as dd
    >>> kpikit.mrr_movements(dd.from_pandas(snaps, npartitions=2), customer="customer",
    ...                      period="month", mrr="mrr").ending_mrr.tolist()
    [100.0, 200.0, 50.0]
    """
    tz = _zone(table, [period, started, ended], tz)
    o = _read_options(customer, period, mrr, started, ended, amount, interval, freq, week_start, snapshot, tz, duplicates,
                      discount, discount_percent)
    o.update(by=check_segments(column_list(by)), preset=preset, conventions=_overrides(conventions, "mrr_movements"))
    if not detail:
        arrow, library = _run(_MOVEMENTS, table, o, output=output, partitioned=partitioned)
        return _delivered(arrow, library, o["by"], [*o["by"], "period"])
    if isinstance(table, (list, tuple)) or is_dask(table):
        raise ParameterError(
            'parameter "detail": the per-customer ledger is computed from one table, not from '
            "partitions (a list of tables or a Dask DataFrame)"
        )
    library = output_of(table, output)
    ledger = _kpikit.mrr_movements(table_input(table, _columns(o)), customer, detail=True, **_kernel(o))
    ordered = _in_order(ledger, table, o["by"])
    return _delivered(ordered.replace_schema_metadata({**(ordered.schema.metadata or {}), b"kpikit.tz": tz.encode()}),
                      library)


def _in_order(ledger: Any, source: Any, segments: Sequence[str]) -> Any:
    """The per-customer ledger as Arrow, categorical segments restored and the core's row order
    (customer, then period) kept: restoring categories sorts by period and segments."""
    import pyarrow as pa

    arrow = pa.table(ledger)
    if not segments:
        return arrow
    import numpy as np

    arrow = arrow.append_column("_row", pa.array(np.arange(arrow.num_rows, dtype=np.int64)))
    arrow = table_output(arrow, "arrow", source=source, segments=segments, analysis="mrr_movements")
    if any(pa.types.is_dictionary(arrow.schema.field(s).type) for s in segments):
        arrow = arrow.sort_by("_row")
    return arrow.drop_columns(["_row"])


_MOVEMENT_COLUMNS = ("starting_mrr", "new_mrr", "churned_mrr", "ending_mrr", "starting_customers")


def _ledger_conventions(table: Any) -> str | None:
    """The conventions a movement table was computed with, if it says (pandas attrs, Arrow
    schema metadata; a polars DataFrame cannot say)."""
    attrs = getattr(table, "attrs", None)
    if isinstance(attrs, dict) and isinstance(attrs.get("conventions"), dict):
        return json.dumps(attrs["conventions"])
    schema = getattr(table, "schema", None)
    metadata = getattr(schema, "metadata", None)
    if isinstance(metadata, dict):
        raw = metadata.get(b"kpikit.conventions")
        if raw is not None:
            return raw.decode() if isinstance(raw, bytes) else str(raw)
    return None


@table_function
@checked
def revenue_metrics(
    table: TableLike,
    /,
    *,
    customer: str | None = None,
    period: str | None = None,
    mrr: str | None = None,
    started: str | None = None,
    ended: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    discount: str | None = None,
    discount_percent: str | None = None,
    freq: str = "month",
    by: str | Sequence[str] | None = None,
    preset: str | None = None,
    spend: TableLike | None = None,
    spend_time: str = "month",
    spend_amount: str = "amount",
    spend_net_burn: str | None = None,
    cac_lag: int = 0,
    gross_margin: float | None = None,
    snapshot: str = "end",
    tz: str | None = None,
    duplicates: str = "raise",
    week_start: str = "monday",
    partitioned: bool = False,
    output: Output | None = None,
    **conventions: Any,
) -> Any:
    """Revenue rates per period (and segment), each a view on the MRR movements.

    ``table`` is either a movement table (the result of :func:`mrr_movements`, from any
    library) or, with ``customer=``, the same inputs as :func:`mrr_movements` (a Dask DataFrame
    included). With the movement columns (all money in the input's unit, counts of customers)::

        mrr                       = ending_mrr;  arr = 12 × mrr
        mrr_growth_rate           = ending_mrr / starting_mrr − 1
        customer_churn_rate       = churned_customers / starting_customers
                                    (churn_denominator="start_plus_new": / (starting + new + reactivated))
        gross_mrr_churn_rate      = (kept_churn + contraction_mrr) / starting_mrr
        net_mrr_churn_rate        = (kept_churn + contraction_mrr − expansion_mrr
                                     [− kept_reactivation]) / starting_mrr
        net_revenue_retention     = (starting_mrr − kept_churn − contraction_mrr + expansion_mrr
                                     [+ kept_reactivation]) / starting_mrr
        gross_revenue_retention   = (starting_mrr − kept_churn − contraction_mrr) / starting_mrr
        quick_ratio               = (new_mrr + expansion_mrr [+ reactivation_mrr])
                                    / (churned_mrr + contraction_mrr)
        arpa                      = ending_mrr / ending_customers
        asp                       = new_mrr / new_customers
        expansion_rate            = expansion_mrr / starting_mrr
        net_negative_churn        = net_mrr_churn_rate < 0
        ltv                       = arpa × gross_margin × months per period / churn
        cac                       = spend of period p − cac_lag / new_customers of p
        ltv_cac                   = ltv / cac
        cac_payback_months        = cac / (arpa × gross_margin)
        magic_number              = (ending_mrr − starting_mrr) × 12 / spend of period p − 1
        burn_multiple             = net_burn / ((ending_mrr − starting_mrr) × 12)
        capital_efficiency        = (ending_mrr − starting_mrr) × 12 / net_burn

    The bracketed terms follow the conventions (``net_churn_counts_reactivation``,
    ``nrr_counts_reactivation``, ``quick_ratio_counts_reactivation``). Every rate on the
    starting MRR counts only money that was in it: ``kept_churn`` is churned MRR less that of
    customers who joined (or returned) and churned within the period (``new_and_churned_mrr``),
    ``kept_reactivation`` is reactivated MRR less ``reactivated_and_churned_mrr``, under every
    preset; so gross revenue retention is always 1 − gross MRR churn, and NRR is 1 − net MRR
    churn when both read reactivation alike (Baremetrics). LTV's churn is the
    customer churn rate (``ltv_churn="net_mrr"``: the net MRR churn rate, ProfitWell's
    1 − retention), of the period itself or, with ``ltv_churn_periods=N``, the mean of the N
    previous periods' rates, the current one excluded (ChartMogul uses 6; at the start of the
    data, the previous periods there are). Dividing the monthly ARPA by a per-period churn, the
    lifetime ``1 / churn`` periods is expressed in months (3 per quarter, 12/365.2425 per
    day). A zero churn gives the LTV ``ltv_zero_churn`` says: null (default; ChartMogul), 0, or
    the LTV at an assumed churn rate (Stripe assumes 1.67 %: ``preset="stripe"`` sets 0.0167).
    CAC counts new customers only (reactivations are not acquisitions) and is null in
    periods the spend table does not reach. The magic number compares a period's net new ARR
    with the previous period's spend (with ``freq="quarter"`` the usual quarterly definition);
    burn multiple and capital efficiency need ``spend_net_burn``, and are null when ARR did not
    grow, respectively when nothing was burned. Definitions: docs/conventions.md#revenue-rates
    and docs/conventions.md#sales-and-capital-efficiency.

    Every rate whose denominator is zero (no MRR or no customers at the start, no new
    customers for CAC, no churn for LTV) is null, never inf; the first period of the data has
    no starting MRR, so its rates are null, and so is the ``net_negative_churn`` flag (a
    nullable boolean).

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        A movement table, or the input of :func:`mrr_movements` when ``customer`` is given.
        Columns of a movement table other than the movement columns are read as segments.
    customer : str, optional
        Customer id column of the subscriptions or snapshots; without it ``table`` is a
        movement table.
    period, mrr, started, ended, amount, interval, discount, discount_percent, by, snapshot, tz, duplicates, week_start, partitioned
        As in :func:`mrr_movements` (only with ``customer``).
    freq : {"day", "week", "month", "quarter", "year"}, default "month"
        The periods of the movements.
    preset : {"chartmogul", "stripe", "baremetrics", "profitwell"}, optional
        The conventions of a tool (see :data:`PRESETS`). On a movement table computed earlier
        only the rate conventions may change; changing ``same_period_new_churn`` or
        ``reactivation_window`` needs the movements recomputed (a
        :class:`~kpikit.ParameterError` says so). A pandas or Arrow movement table carries the
        conventions it was computed with; a polars one cannot, so give them again.
    spend : table, optional
        Sales and marketing spend: ``spend_time`` (a date or time in the period) and
        ``spend_amount`` columns, summed per period, and the segment columns when the
        movements have segments. Adds ``spend``, ``cac``, ``ltv_cac``,
        ``cac_payback_months`` and ``magic_number``. A Dask DataFrame is computed first (spend tables are small).
    spend_time : str, default "month"
        Time column of ``spend``.
    spend_amount : str, default "amount"
        Amount column of ``spend``.
    spend_net_burn : str, optional
        Net burn column of ``spend`` (cash out minus cash in, any sign, summed per period):
        adds ``net_burn``, ``burn_multiple`` and ``capital_efficiency``.
    cac_lag : int, default 0
        Periods between spend and the customers it acquires: 1 compares a month's new
        customers with the previous month's spend.
    gross_margin : float, optional
        Fraction in (0, 1] applied to LTV and CAC payback (gross-profit LTV).
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (pandas for a Dask DataFrame).
    **conventions
        The convention keywords of :func:`mrr_movements`.

    Returns
    -------
    DataFrame
        One row per row of the movements (segments and period): ``period``, segments,
        ``mrr``, ``arr``, ``customers``, ``new_customers``, the rates above (fractions, not
        percentages) and, with ``spend``, ``spend``, ``cac``, ``ltv_cac``,
        ``cac_payback_months`` and ``magic_number`` (and with ``spend_net_burn``, ``net_burn``,
        ``burn_multiple`` and ``capital_efficiency``). The conventions used are recorded as by :func:`mrr_movements`.

    Examples
    --------
    ChartMogul's MRR churn example: $100 MRR at the start, $10 lost to churn and $10 to
    contraction while one customer expands by $10: gross MRR churn (10 + 10) / 100 = 20 %,
    net ((10 + 10) − 10) / 100 = 10 %.

    >>> import pandas as pd, kpikit
    >>> snaps = pd.DataFrame({
    ...     "customer": ["a", "b", "c", "d"] * 2,
    ...     "month": pd.to_datetime(["2026-01-01"] * 4 + ["2026-02-01"] * 4),
    ...     "mrr": [10.0, 20.0, 30.0, 40.0, 0.0, 10.0, 40.0, 40.0],
    ... })
    >>> r = kpikit.revenue_metrics(snaps, customer="customer", period="month", mrr="mrr")
    >>> r.loc[1, ["gross_mrr_churn_rate", "net_mrr_churn_rate", "net_revenue_retention"]].tolist()
    [0.2, 0.1, 0.9]
    >>> r.net_negative_churn.tolist()
    [<NA>, False]

    Sales and marketing spent 600 in January and 400 in February; net burn 900 in February.
    February's net new ARR is (90 − 100) × 12 = −120: magic number −120 / 600 = −0.2, and no
    burn multiple (ARR did not grow).

    >>> spend = pd.DataFrame({"month": pd.to_datetime(["2026-01-01", "2026-02-01"]),
    ...                       "amount": [600.0, 400.0], "burn": [1500.0, 900.0]})
    >>> r = kpikit.revenue_metrics(snaps, customer="customer", period="month", mrr="mrr", spend=spend,
    ...                            spend_net_burn="burn")
    >>> r.loc[1, ["magic_number", "burn_multiple", "net_burn"]].tolist()
    [-0.2, nan, 900.0]
    """
    if spend is not None and is_dask(spend):
        spend = cast(Any, spend).compute()
    tz = _zone(table, [period, started, ended] if customer is not None else [], tz,
               more=[] if spend is None else [(spend, [spend_time])])
    rates: dict[str, Any] = dict(
        freq=check_freq(freq, _FREQS), week_start=week_start, gross_margin=gross_margin, cac_lag=cac_lag,
        spend=None if spend is None else table_input(spend, None), spend_time=spend_time, spend_amount=spend_amount,
        spend_net_burn=spend_net_burn, tz=tz,
    )
    if customer is not None:
        o = _read_options(customer, period, mrr, started, ended, amount, interval, freq, week_start, snapshot, tz,
                          duplicates, discount, discount_percent)
        o.update(by=check_segments(column_list(by)), preset=preset,
                 conventions=_overrides(conventions, "revenue_metrics"))
        rates.update(preset=None, conventions=[])
        arrow, library = _run(_METRICS, table, o, finish=rates, output=output, partitioned=partitioned)
        return _delivered(arrow, library, o["by"], [*o["by"], "period"])
    given = [n for n, v in dict(period=period, mrr=mrr, started=started, ended=ended, amount=amount,
                                interval=interval, discount=discount, discount_percent=discount_percent, by=by, duplicates=None if duplicates == "raise" else duplicates,
                                ).items() if v is not None]
    if given:
        raise ParameterError(
            f"parameter {given[0]!r}: only with customer= (the subscription inputs); "
            "a movement table has its own columns"
        )
    if is_dask(table):
        table = cast(Any, table).compute()  # a movement table is small: one row per period and segment
    library = output_of(table, output)
    result = _kpikit.revenue_metrics(table_input(table, None), ledger_conventions=_ledger_conventions(table),
                                     preset=preset, conventions=_overrides(conventions, "revenue_metrics"), **rates)
    import pyarrow as pa

    arrow = pa.table(result)
    # The core writes period, the segments, then the rates from "mrr" on.
    segments = arrow.column_names[1 : arrow.column_names.index("mrr")]
    for name in segments:
        field = arrow.schema.field(name)
        if pa.types.is_dictionary(field.type):
            # The core passes a dictionary segment through; as plain values, the restoring below
            # gives it the source's categories and orderedness.
            column = arrow.column(name).cast(field.type.value_type)
            arrow = arrow.set_column(arrow.column_names.index(name), pa.field(name, column.type), column)
    arrow = table_output(arrow, "arrow", source=table, segments=segments, analysis="revenue_metrics", tz=tz)
    return _delivered(arrow, library, segments, [*segments, "period"])



@table_function
@checked
def revenue_cohorts(
    table: TableLike | Sequence[TableLike],
    /,
    *,
    customer: str,
    period: str | None = None,
    mrr: str | None = None,
    started: str | None = None,
    ended: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    discount: str | None = None,
    discount_percent: str | None = None,
    freq: str = "month",
    snapshot: str = "end",
    tz: str | None = None,
    duplicates: str = "raise",
    week_start: str = "monday",
    partitioned: bool = False,
    output: Output | None = None,
) -> Any:
    """Customer and MRR retention by cohort: the cohort triangle in long form.

    A customer's cohort is the first period it ends with MRR (ChartMogul and Stripe date it by
    the first subscription, the first positive MRR); it stays in that cohort when it leaves and
    comes back. For every cohort and every period from the cohort's first to the last of the
    data::

        cohort_size         = customers of the cohort (with MRR at the end of its first period)
        cohort_mrr          = their MRR at the end of the first period (ChartMogul's cohort value)
        retained_customers  = customers of the cohort with MRR at the end of the period
        retained_mrr        = their MRR at the end of the period
        logo_retention      = retained_customers / cohort_size
        net_mrr_retention   = retained_mrr / cohort_mrr

    so expansion and reactivation raise net MRR retention (it may exceed 1) and logo retention
    counts returning customers again. Both are null for a cohort without MRR (never: every
    cohort has customers with MRR, by definition). Definitions: docs/conventions.md#revenue-cohorts.

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, any Arrow stream, or a list of tables
        As in :func:`mrr_movements`: a Dask DataFrame is shuffled on ``customer`` (unless
        ``partitioned=True``) and a list is read as partitions split by customer; each
        partition's changes are computed on its own and merged exactly.
    customer, period, mrr, started, ended, amount, interval, freq, snapshot, tz, duplicates, week_start, partitioned
        As in :func:`mrr_movements`.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (pandas for a Dask DataFrame).

    Returns
    -------
    DataFrame
        ``cohort``, ``period`` (start dates), ``period_number`` (0 = the cohort's first
        period), ``cohort_size``, ``cohort_mrr``, ``retained_customers``, ``retained_mrr``,
        ``logo_retention`` and ``net_mrr_retention``, ordered by cohort then period.

    Examples
    --------
    a and b start in January (100 and 50); b leaves in February, a expands to 120 in March:

    >>> import pandas as pd, kpikit
    >>> snaps = pd.DataFrame({
    ...     "customer": ["a", "a", "a", "b", "c", "c"],
    ...     "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-01-01",
    ...                              "2026-02-01", "2026-03-01"]),
    ...     "mrr": [100.0, 100.0, 120.0, 50.0, 30.0, 30.0],
    ... })
    >>> c = kpikit.revenue_cohorts(snaps, customer="customer", period="month", mrr="mrr")
    >>> c[["cohort", "period_number", "cohort_size", "retained_customers", "net_mrr_retention"]]
          cohort  period_number  cohort_size  retained_customers  net_mrr_retention
    0 2026-01-01              0            2                   2           1.000000
    1 2026-01-01              1            2                   1           0.666667
    2 2026-01-01              2            2                   1           0.800000
    3 2026-02-01              0            1                   1           1.000000
    4 2026-02-01              1            1                   1           1.000000
    """
    tz = _zone(table, [period, started, ended], tz)
    o = _read_options(customer, period, mrr, started, ended, amount, interval, freq, week_start, snapshot, tz, duplicates,
                      discount, discount_percent)
    arrow, library = _run(_COHORTS, table, o, output=output, partitioned=partitioned)
    return _delivered(arrow, library)
