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
