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


# --- funnels -------------------------------------------------------------------------------

__all__ += ["funnel_from_stages"]


def _stage_partial(part: Any, index: int, stages: list[str], options: dict[str, Any]) -> bytes:
    import pyarrow as pa

    try:
        state = pa.table(_kpikit.funnel_stage_state(part, stages, **options))
    except KpikitError as e:
        raise type(e)(f"partition {index}: {e}") from None
    # As Arrow IPC bytes: a pickled table can arrive with buffers that are not 8-byte aligned,
    # which Arrow's C data interface does not accept.
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, state.schema) as writer:
        writer.write_table(state)
    return bytes(sink.getvalue())


def _aligned_state(data: bytes) -> Any:
    """A state from IPC bytes, read from freshly allocated (64-byte aligned) Arrow memory."""
    import pyarrow as pa

    buf = pa.allocate_buffer(len(data))
    memoryview(buf).cast("B")[:] = data
    return pa.ipc.open_stream(buf).read_all()


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
    state = _kpikit.merge_funnel_states([_aligned_state(s) for s in states])
    return table_output(_kpikit.finish_funnel(state, unit=unit, histogram=histogram_bins(histogram)), output)
