"""kpikit on a Dask cluster: the same analyses over Dask DataFrames, exactly.

Every grouped kernel in kpikit is written as *partial → merge → finish*. Here the partial step
runs on each partition where the data lives (the workers need kpikit installed), the small
partial states travel to the client, and the merge and finish run once. Counts and sums merge
exactly, so the result equals the single-machine result. NPS and CSAT need no shuffle: each
response counts on its own, wherever its partition is.

Memory per worker: one partition's needed columns plus kpikit's working memory for it (about
the size of those columns again); the states are a few kilobytes per segment and period.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _kpikit
from ._convert import check_output, column_list, table_output
from ._typing import Output
from .exceptions import KpikitError

__all__ = ["nps", "csat"]


def _partial(part: Any, index: int, score: str, options: dict[str, Any]) -> Any:
    import pyarrow as pa

    try:
        return pa.table(_kpikit.score_counts(part, score, **options))
    except KpikitError as e:
        # Row numbers in the message count from the start of this partition.
        raise type(e)(f"partition {index}: {e}") from None


def _score_states(ddf: Any, score: str, time: str | None, freq: str | None, by: Any, tz: str, week_start: str, scale: tuple[int, int], invalid: str) -> Any:
    import dask

    segments = column_list(by)
    columns = list(dict.fromkeys(c for c in [score, time, *segments] if c is not None))
    options = dict(time=time, freq=freq, tz=tz, week_start=week_start, by=segments, scale=scale, invalid=invalid)
    parts = ddf[columns].to_delayed()
    states = dask.compute(*[dask.delayed(_partial)(p, i, score, options) for i, p in enumerate(parts)])
    return _kpikit.merge_score_counts(list(states))


def nps(
    ddf: Any,
    *,
    score: str,
    time: str | None = None,
    freq: str | None = None,
    by: str | Sequence[str] | None = None,
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output = "pandas",
) -> Any:
    """Net Promoter Score of a Dask DataFrame, per period and segment: :func:`kpikit.nps` on a cluster.

    nps = 100 × (promoters − detractors) / responses, promoters scoring 9–10 and detractors
    0–6, counted per partition and added up exactly. Parameters and result as in
    :func:`kpikit.nps`; an error names the partition and the row within it.

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> answers = dd.from_pandas(pd.DataFrame({"score": [10] * 3 + [8] * 5 + [3] * 2}), npartitions=3)
    >>> kpikit.dask.nps(answers, score="score").nps.tolist()
    [10.0]
    """
    check_output(output)
    state = _score_states(ddf, score, time, freq, by, tz, week_start, (0, 10), invalid)
    return table_output(_kpikit.nps(state), output)


def csat(
    ddf: Any,
    *,
    score: str,
    time: str | None = None,
    freq: str | None = None,
    by: str | Sequence[str] | None = None,
    scale: tuple[int, int] = (1, 5),
    threshold: int | None = None,
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output = "pandas",
) -> Any:
    """Customer satisfaction of a Dask DataFrame: :func:`kpikit.csat` on a cluster.

    csat = satisfied / responses, a response being satisfied at or above ``threshold`` (the
    top two boxes by default), counted per partition and added up exactly.

    >>> import dask.dataframe as dd, pandas as pd, kpikit.dask
    >>> scores = [5] * 10 + [4] * 20 + [3] * 10 + [2] * 5 + [1] * 5
    >>> kpikit.dask.csat(dd.from_pandas(pd.DataFrame({"s": scores}), npartitions=4), score="s").csat.tolist()
    [0.6]
    """
    check_output(output)
    lo, hi = int(scale[0]), int(scale[1])
    state = _score_states(ddf, score, time, freq, by, tz, week_start, (lo, hi), invalid)
    return table_output(_kpikit.csat(state, threshold=hi - 1 if threshold is None else threshold), output)


# --- activity and retention over event logs --------------------------------------------------
# Distinct-user counts only add up when every user's events are in one partition: the event log
# is shuffled by user first, then each partition makes its partial state.

__all__ += ["active_users", "retention"]


def _by_user(ddf: Any, user: str, columns: list[str]) -> Any:
    return ddf[list(dict.fromkeys(columns))].shuffle(on=user)


def _states(parts: Any, fn: Any) -> list[Any]:
    import dask
    import pyarrow as pa

    states = dask.compute(*[dask.delayed(fn)(p, i) for i, p in enumerate(parts)])
    # Batches unpickled from workers may have buffers that are not aligned for their type,
    # which the Arrow C interface rejects; a take() copies them into fresh, aligned buffers.
    return [s.take(pa.array(range(s.num_rows), pa.int64())) for s in states]


def _named(fn: Any, part: Any, index: int) -> Any:
    import pyarrow as pa

    try:
        table = pa.table(fn(part)).combine_chunks()
    except KpikitError as e:
        raise type(e)(f"partition {index}: {e}") from None
    # One record batch, even for an empty partition, so the state keeps its schema metadata.
    batches = table.to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)


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
                reference, value, preset, event_column, tz, week_start, nulls,
            ),
            part,
            index,
        )

    states = _states(_by_user(ddf, user, cols).to_delayed(), partial)
    merged = _kpikit.merge_retention_states(states)
    return table_output(_kpikit.finish_retention(merged, curve=bool(curve)), output)
