"""kpikit on a Dask cluster: the same analyses over Dask DataFrames, exactly.

Every grouped kernel in kpikit is written as *partial → merge → finish*. Here the partial step
runs on each partition where the data lives (the workers need kpikit installed), the small
partial states travel to the client, and the merge and finish run once. Counts and sums merge
exactly, so the result equals the single-machine result. NPS and CSAT need no shuffle: each
response counts on its own, wherever its partition is. Revenue needs every row of a customer
in one partition (a customer's movements compare its periods), so those functions shuffle on
the customer column first — skipped with ``partitioned=True`` when the data is already split
by customer (e.g. Parquet files written per customer range).

Memory per worker: one partition's needed columns plus kpikit's working memory for it (about
the size of those columns again); the states are a few kilobytes per segment and period.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _kpikit
from ._convert import aligned, check_output, column_list, table_input, table_output
from ._typing import Output
from .exceptions import KpikitError
from .revenue import _input_options
from .survey import csat, nps

__all__ = ["nps", "csat", "mrr_movements", "revenue_metrics", "revenue_cohorts", "deal_metrics", "funnel_from_stages", "active_users", "retention", "funnel"]


def _to_ipc(state: Any) -> bytes:
    """A partial state as Arrow IPC bytes, the form it travels in from a worker: a pickled table
    can arrive with buffers at unaligned addresses, which Arrow's C interface must not be
    handed; IPC keeps them 8-byte aligned."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, state.schema) as writer:
        # One record batch, even for an empty partition: a state is a batch, not a stream.
        batches = state.combine_chunks().to_batches()
        writer.write_batch(batches[0] if batches else pa.RecordBatch.from_pylist([], schema=state.schema))
    return bytes(sink.getvalue().to_pybytes())


def _read_states(blobs: Sequence[bytes]) -> list[Any]:
    """States from IPC bytes, each read from freshly allocated (64-byte aligned) Arrow memory:
    the bytes object's own buffer carries no alignment promise."""
    import pyarrow as pa

    states = []
    for b in blobs:
        buf = pa.allocate_buffer(len(b))
        memoryview(buf).cast("B")[:] = b
        states.append(pa.ipc.open_stream(buf).read_all())
    return states


def _aligned(part: Any) -> Any:
    """A partition as an Arrow table whose buffers all start at 8-byte boundaries.

    A partition unpickled on a worker can hold Arrow buffers at any address (pickle protocol 5
    hands them over out of band); every partition goes through here before any kernel sees it
    (see :func:`kpikit._convert.aligned`: aligned tables pass without a copy).
    """
    import pyarrow as pa

    return aligned(pa.table(table_input(part, None)))


def _by_customer(ddf: Any, customer: str, columns: list[str], partitioned: bool) -> Any:
    """The needed columns, every customer's rows in one partition."""
    ddf = ddf[columns]
    return ddf if partitioned else ddf.shuffle(on=customer)


def _state(kernel: Any, part: Any, index: int, customer: str, options: dict[str, Any]) -> bytes:
    import pyarrow as pa

    try:
        return _to_ipc(pa.table(kernel(_aligned(part), customer, **options)))
    except KpikitError as e:
        raise type(e)(f"partition {index}: {e}") from None


def _revenue_states(ddf: Any, kernel: Any, customer: str, columns: list[str], partitioned: bool, options: dict[str, Any]) -> list[Any]:
    import dask

    parts = _by_customer(ddf, customer, columns, partitioned).to_delayed()
    return _read_states(dask.compute(*[dask.delayed(_state)(kernel, p, i, customer, options) for i, p in enumerate(parts)]))


def mrr_movements(
    ddf: Any,
    *,
    customer: str,
    period: str | None = None,
    mrr: str | None = None,
    start: str | None = None,
    end: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    freq: str = "month",
    by: str | Sequence[str] | None = None,
    preset: str | None = None,
    snapshot: str = "end",
    tz: str = "UTC",
    week_start: str = "monday",
    partitioned: bool = False,
    output: Output = "pandas",
    **conventions: Any,
) -> Any:
    """MRR movements of a Dask DataFrame: :func:`kpikit.mrr_movements` on a cluster.

    ending_mrr = starting_mrr + new + expansion + reactivation − contraction − churned, per
    period and segment. The rows are shuffled on ``customer`` (unless ``partitioned=True``),
    each partition's flows are computed where it lives, and the flows are added up exactly.
    Parameters and result as in :func:`kpikit.mrr_movements` (not ``detail=True``).

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> snaps = pd.DataFrame({"customer": ["a", "a", "b"], "mrr": [100.0, 150.0, 50.0],
    ...                       "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-02-01"])})
    >>> m = kpikit.dask.mrr_movements(dd.from_pandas(snaps, npartitions=2), customer="customer", period="month", mrr="mrr")
    >>> m.ending_mrr.tolist()
    [100.0, 200.0]
    """
    import json

    from .revenue import _overrides

    check_output(output)
    segments = column_list(by)
    cols = [period, mrr, start, end, amount, interval]
    options = _input_options(period, mrr, start, end, amount, interval, freq, week_start, snapshot, tz)
    columns = list(dict.fromkeys(c for c in [customer, *cols, *segments] if c is not None))
    options.update(by=segments, preset=preset, conventions=_overrides(conventions, "mrr_movements"))
    states = _revenue_states(ddf, _kpikit.movements, customer, columns, partitioned, options)
    import pyarrow as pa

    arrow = pa.table(_kpikit.finish_movements(_kpikit.merge_movement_states(states)))
    out = table_output(arrow, output)
    raw = (arrow.schema.metadata or {}).get(b"kpikit.conventions")
    if output == "pandas" and raw is not None:
        out.attrs["conventions"] = json.loads(raw)
    return out


def revenue_metrics(
    ddf: Any,
    *,
    customer: str,
    spend: Any = None,
    spend_time: str = "month",
    spend_amount: str = "amount",
    cac_lag: int = 0,
    gross_margin: float | None = None,
    freq: str = "month",
    week_start: str = "monday",
    tz: str = "UTC",
    output: Output = "pandas",
    **movement_options: Any,
) -> Any:
    """Revenue rates of a Dask DataFrame: :func:`kpikit.revenue_metrics` on a cluster.

    The movements are computed with :func:`mrr_movements` (shuffled on ``customer``); the rates
    (churn, NRR, GRR, quick ratio, ARPA, LTV, CAC…) are views on that small table, computed once.
    ``spend`` is a small pandas, polars or pyarrow table (a Dask DataFrame is computed first).

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> snaps = pd.DataFrame({"customer": ["a", "b", "a"], "mrr": [60.0, 40.0, 60.0],
    ...                       "month": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-02-01"])})
    >>> r = kpikit.dask.revenue_metrics(dd.from_pandas(snaps, npartitions=2), customer="customer", period="month", mrr="mrr")
    >>> r.gross_revenue_retention.tolist()[1]
    0.6
    """
    from .revenue import revenue_metrics as rates

    check_output(output)
    moves = mrr_movements(ddf, customer=customer, freq=freq, week_start=week_start, tz=tz, output="arrow", **movement_options)
    if spend is not None and hasattr(spend, "compute") and hasattr(spend, "npartitions"):
        spend = spend.compute()
    return rates(moves, spend=spend, spend_time=spend_time, spend_amount=spend_amount, cac_lag=cac_lag,
                 gross_margin=gross_margin, freq=freq, week_start=week_start, tz=tz, output=output)


def revenue_cohorts(
    ddf: Any,
    *,
    customer: str,
    period: str | None = None,
    mrr: str | None = None,
    start: str | None = None,
    end: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    freq: str = "month",
    snapshot: str = "end",
    tz: str = "UTC",
    week_start: str = "monday",
    partitioned: bool = False,
    output: Output = "pandas",
) -> Any:
    """Revenue cohorts of a Dask DataFrame: :func:`kpikit.revenue_cohorts` on a cluster.

    logo_retention = retained_customers / cohort_size and net_mrr_retention = retained_mrr /
    cohort_mrr per first-MRR cohort and period, from per-partition changes merged exactly.

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> snaps = pd.DataFrame({"customer": ["a", "b", "a"], "mrr": [60.0, 40.0, 60.0],
    ...                       "month": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-02-01"])})
    >>> kpikit.dask.revenue_cohorts(dd.from_pandas(snaps, npartitions=2), customer="customer", period="month", mrr="mrr").logo_retention.tolist()
    [1.0, 0.5]
    """
    check_output(output)
    cols = [period, mrr, start, end, amount, interval]
    options = _input_options(period, mrr, start, end, amount, interval, freq, week_start, snapshot, tz)
    columns = list(dict.fromkeys(c for c in [customer, *cols] if c is not None))
    states = _revenue_states(ddf, _kpikit.cohort_state, customer, columns, partitioned, options)
    return table_output(_kpikit.finish_cohorts(_kpikit.merge_cohort_states(states)), output)


# --- Sales ---------------------------------------------------------------------------------


def _sales_partial(part: Any, index: int, kind: str, columns: dict[str, str], options: dict[str, Any]) -> Any:
    import pyarrow as pa

    try:
        state = pa.table(_kpikit.sales_state(kind, _aligned(part), columns, **options))
    except KpikitError as e:
        raise type(e)(f"partition {index}: {e}") from None
    return _to_ipc(state)


def deal_metrics(
    ddf: Any,
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
    """Deal metrics of a Dask DataFrame: :func:`kpikit.deal_metrics` on a cluster, exactly.

    win_rate = deals_won / deals_closed, avg_deal_size = won_revenue / deals_won, and the rest
    as in :func:`kpikit.deal_metrics`. Each deal is one row and counts on its own, so the
    partial state (counts per period and segment plus the exact lists of won amounts and
    cycle lengths) is made per partition and merged; medians and means equal the single
    machine's to the last bit. With ``deal=`` the rows are first shuffled by deal id so a
    repeated id is caught wherever its copies were (row numbers in an error then count within
    the shuffled partition).

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> deals = pd.DataFrame({
    ...     "created": pd.to_datetime(["2026-01-05", "2026-01-10", "2026-02-01", "2026-03-01"]),
    ...     "closed": pd.to_datetime(["2026-02-04", "2026-03-11", "2026-02-21", None]),
    ...     "amount": [1000.0, 3000.0, 500.0, 800.0],
    ...     "won": pd.array([True, True, False, None], dtype="boolean"),
    ... })
    >>> out = kpikit.dask.deal_metrics(dd.from_pandas(deals, npartitions=2), created="created",
    ...                                closed="closed", amount="amount", won="won")
    >>> out[["deals_won", "win_rate", "avg_deal_size"]].round(3)
       deals_won  win_rate  avg_deal_size
    0          2     0.667         2000.0
    """
    import dask

    check_output(output)
    segments = ([owner] if owner is not None else []) + column_list(by)
    roles = {"created": created, "closed": closed, "amount": amount, "won": won, "deal": deal}
    given = {r: c for r, c in roles.items() if c is not None}
    needed = list(dict.fromkeys([*given.values(), *segments]))
    frame = ddf[needed]
    if deal is not None:
        frame = frame.shuffle(on=deal)
    options = dict(by=segments, freq=freq, tz=tz, week_start=week_start,
                   options={"cohort": cohort, "cycle_of": cycle_of}, invalid=invalid)
    parts = frame.to_delayed()
    states = dask.compute(*[dask.delayed(_sales_partial)(p, i, "deals", given, options) for i, p in enumerate(parts)])
    state = _kpikit.merge_sales_states(_read_states(states))
    return table_output(_kpikit.finish_sales(state), output)


# --- funnels -------------------------------------------------------------------------------


def _stage_partial(part: Any, index: int, stages: list[str], options: dict[str, Any]) -> bytes:
    import pyarrow as pa

    try:
        state = pa.table(_kpikit.funnel_stage_state(_aligned(part), stages, **options))
    except KpikitError as e:
        raise type(e)(f"partition {index}: {e}") from None
    return _to_ipc(state)


def funnel_from_stages(
    ddf: Any,
    *,
    stages: Sequence[str] = ("visited_at", "signed_up_at", "pql_at", "customer_at"),
    window: Any = None,
    by: str | Sequence[str] | None = None,
    freq: str | None = None,
    tz: str = "UTC",
    week_start: str = "monday",
    order: str = "raise",
    unit: str = "days",
    histogram: bool | int | None = None,
    output: Output = "pandas",
) -> Any:
    """Funnel over the stage columns of a Dask DataFrame of leads: :func:`kpikit.funnel_from_stages` on a cluster.

    conversion_from_previous = converted / entered per stage, with exact time-to-convert
    mean, median and p90: each partition keeps its leads' counts and step-to-step durations,
    which add up and concatenate exactly (a lead is one row, so no shuffle is needed). The
    states hold one duration per conversion (8 bytes each). Parameters and result as in
    :func:`kpikit.funnel_from_stages`; an error names the partition and the row within it.

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> t = pd.Timestamp("2025-01-01")
    >>> leads = pd.DataFrame({"visited_at": [t] * 4, "signed_up_at": [t + pd.Timedelta("1D"), t + pd.Timedelta("3D"), pd.NaT, pd.NaT]})
    >>> out = kpikit.dask.funnel_from_stages(dd.from_pandas(leads, npartitions=2), stages=["visited_at", "signed_up_at"])
    >>> out.converted.tolist(), out.time_to_convert_median_days.tolist()[1]
    ([4, 2], 2.0)
    """
    import dask

    from .funnel import _check_unit, histogram_bins, window_text

    check_output(output)
    _check_unit(unit)
    stage_list = [str(s) for s in ([stages] if isinstance(stages, str) else stages)]
    segments = column_list(by)
    options = dict(window=window_text(window), by=segments, freq=freq, tz=tz, week_start=week_start, order=order)
    parts = ddf[list(dict.fromkeys([*stage_list, *segments]))].to_delayed()
    states = dask.compute(*[dask.delayed(_stage_partial)(p, i, stage_list, options) for i, p in enumerate(parts)])
    state = _kpikit.merge_funnel_states(_read_states(states))
    return table_output(_kpikit.finish_funnel(state, unit=unit, histogram=histogram_bins(histogram)), output)
# --- activity and retention over event logs --------------------------------------------------
# Distinct-user counts only add up when every user's events are in one partition: the event log
# is shuffled by user first, then each partition makes its partial state.



def _by_user(ddf: Any, user: str, columns: list[str]) -> Any:
    return ddf[list(dict.fromkeys(columns))].shuffle(on=user)


def _states(parts: Any, fn: Any) -> list[Any]:
    import dask

    return _read_states(dask.compute(*[dask.delayed(fn)(p, i) for i, p in enumerate(parts)]))


def _named(fn: Any, part: Any, index: int) -> bytes:
    import pyarrow as pa

    try:
        return _to_ipc(pa.table(fn(_aligned(part))))
    except KpikitError as e:
        raise type(e)(f"partition {index}: {e}") from None


def active_users(
    ddf: Any,
    *,
    user: str,
    time: str,
    freq: str = "day",
    windows: dict[str, int] | None = None,
    by: str | Sequence[str] | None = None,
    event: str | None = None,
    events: Sequence[str] | None = None,
    event_column: str = "event",
    tz: str = "UTC",
    week_start: str = "monday",
    nulls: str = "raise",
    output: Output = "pandas",
) -> Any:
    """Active users of a Dask DataFrame of events: :func:`kpikit.active_users` on a cluster.

    window(t) = distinct users with an event in the w days ending on day t. The events are
    shuffled by user; each partition then records, per day, the change in the number of users
    covered by each window, and these changes add up exactly across user-disjoint partitions.

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> log = pd.DataFrame({"user": [1, 2, 1], "time": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"])})
    >>> kpikit.dask.active_users(dd.from_pandas(log, npartitions=2), user="user", time="time", windows={"dau": 1, "mau": 3}).mau.tolist()
    [1, 2, 2]
    """
    from .activity import DEFAULT_WINDOWS, event_names

    check_output(output)
    names = event_names(event, events)
    segments = column_list(by)
    wins = [(str(k), int(v)) for k, v in (DEFAULT_WINDOWS if windows is None else windows).items()]
    cols = [user, time, *segments] + ([event_column] if names is not None else [])
    options = dict(freq=freq, week_start=week_start, windows=wins, by=segments, event_column=event_column, events=names, tz=tz, nulls=nulls)

    def partial(part: Any, index: int) -> Any:
        return _named(lambda p: _kpikit.active_users_state(p, user, time, **options), part, index)

    states = _states(_by_user(ddf, user, cols).to_delayed(), partial)
    return table_output(_kpikit.finish_active_users(_kpikit.merge_active_users_states(states)), output)


def retention(
    ddf: Any,
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
    """Retention cohorts of a Dask DataFrame of events: :func:`kpikit.retention` on a cluster.

    rate = retained / cohort_size per cohort and period number. The events are shuffled by
    user; each partition counts its users per cell, and the counts add up exactly.

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> log = pd.DataFrame({"user": [1, 2, 1], "time": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-01-13"])})
    >>> kpikit.dask.retention(dd.from_pandas(log, npartitions=2), user="user", time="time").rate.tolist()
    [1.0, 0.5]
    """
    from .retention import retention_state

    check_output(output)
    uses_event = start_event is not None or return_event is not None
    cols = [user, time] + ([event_column] if uses_event else []) + ([value] if value else [])

    def partial(part: Any, index: int) -> Any:
        return _named(
            lambda p: retention_state(
                p, user, time, start_event, return_event, period, cohort, mode, brackets, windows,
                reference, value, preset, event_column, tz, week_start, nulls, base,
            ),
            part,
            index,
        )

    states = _states(_by_user(ddf, user, cols).to_delayed(), partial)
    merged = _kpikit.merge_retention_states(states)
    return table_output(_kpikit.finish_retention(merged, curve=bool(curve)), output)


def funnel(
    ddf: Any,
    *,
    user: str,
    time: str,
    event: str,
    steps: Sequence[str | Sequence[str]],
    window: Any = None,
    order: str | None = None,
    exclusions: Sequence[Any] | None = None,
    by: str | Sequence[str] | None = None,
    attribution: str | None = None,
    count: str | None = None,
    preset: str | None = None,
    freq: str | None = None,
    tz: str = "UTC",
    week_start: str = "monday",
    unit: str = "seconds",
    histogram: bool | int | None = None,
    nulls: str = "raise",
    output: Output = "pandas",
) -> Any:
    """Funnel over a Dask DataFrame of events: :func:`kpikit.funnel` on a cluster.

    conversion_from_previous = converted / entered per step. A user's attempts need all of
    their events, so the events are shuffled by user; each partition then keeps its users'
    counts per step and one duration per conversion, which add up and concatenate exactly
    (time-to-convert medians and p90 are exact). Parameters and result as in
    :func:`kpikit.funnel`; an error names the partition and the row within it.

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> t = pd.Timestamp("2025-01-01")
    >>> log = pd.DataFrame({"user": [1, 2, 1], "time": [t, t, t + pd.Timedelta("2h")], "event": ["signup", "signup", "upgrade"]})
    >>> out = kpikit.dask.funnel(dd.from_pandas(log, npartitions=2), user="user", time="time", event="event", steps=["signup", "upgrade"])
    >>> out.converted.tolist(), out.time_to_convert_mean_seconds.tolist()[1]
    ([2, 1], 7200.0)
    """
    from .funnel import _check_unit, _exclusions, _steps, histogram_bins, window_text

    check_output(output)
    _check_unit(unit)
    step_names = _steps(steps)
    segments = column_list(by)
    options = dict(
        user=user, time=time, event=event, steps=step_names, window=window_text(window), order=order,
        exclusions=_exclusions(exclusions, len(step_names)), by=segments, attribution=attribution,
        count=count, preset=preset, freq=freq, tz=tz, week_start=week_start, nulls=nulls,
    )

    def partial(part: Any, index: int) -> Any:
        return _named(lambda p: _kpikit.funnel_event_state(p, **options), part, index)

    states = _states(_by_user(ddf, user, [user, time, event, *segments]).to_delayed(), partial)
    state = _kpikit.merge_funnel_states(states)
    return table_output(_kpikit.finish_funnel(state, unit=unit, histogram=histogram_bins(histogram)), output)


# --- Customer lifetime value ---------------------------------------------------------------
# kpikit.rfm_summary takes a Dask DataFrame itself (kpikit.clv declares its analysis once).

from .clv import rfm_summary  # noqa: E402

__all__ += ["rfm_summary"]


def __dir__() -> list[str]:
    # The namespace shows the public API only; imports are not part of it (docs/vocabulary.md).
    return sorted(__all__)
