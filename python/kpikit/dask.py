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
from .sales import deal_metrics
from .funnel import funnel, funnel_from_stages
from .revenue import mrr_movements, revenue_cohorts, revenue_metrics
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


# --- Customer lifetime value ---------------------------------------------------------------

__all__ += ["rfm_summary"]


def rfm_summary(
    ddf: Any,
    *,
    customer: str,
    time: str,
    amount: str | None = None,
    freq: str = "D",
    freq_multiplier: float = 1,
    observation_end: Any = None,
    include_first: bool = False,
    tz: str = "UTC",
    partitioned: bool = False,
    output: Output = "pandas",
) -> Any:
    """RFM summary of a Dask DataFrame of transactions: :func:`kpikit.rfm_summary` on a cluster.

    frequency = purchase periods − 1, recency = last − first period, T = observation end's
    period − first period (÷ ``freq_multiplier``), monetary_value = mean of the repeat periods'
    totals. The log is shuffled on ``customer`` (unless ``partitioned=True``); each partition
    reduces its customers to (first period, last period, distinct periods, totals) and its
    latest time; the states are concatenated and T is finished once from the latest time of
    all partitions (or ``observation_end``), so the result equals the single-machine one.

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> log = pd.DataFrame({"customer": ["a", "a", "b", "a"],
    ...                     "time": pd.to_datetime(["2024-01-01", "2024-01-04", "2024-01-03", "2024-01-08"])})
    >>> kpikit.dask.rfm_summary(dd.from_pandas(log, npartitions=2), customer="customer", time="time")["T"].tolist()
    [7.0, 5.0]
    """
    from .clv import _wall_micros

    check_output(output)
    end = _wall_micros(observation_end, tz)
    cols = list(dict.fromkeys(c for c in [customer, time, amount] if c is not None))
    options = dict(customer=customer, time=time, amount=amount, freq=freq, observation_end=end, tz=tz)
    parts = _by_customer(ddf, customer, cols, partitioned).to_delayed()

    def partial(part: Any, index: int) -> Any:
        return _named(lambda p: _kpikit.rfm_state(p, **options), part, index)

    states = _states(parts, partial)
    result = _kpikit.finish_rfm(
        states,
        freq=freq,
        freq_multiplier=float(freq_multiplier),
        observation_end=end,
        include_first=include_first,
        tz=tz,
    )
    return table_output(result, output)
