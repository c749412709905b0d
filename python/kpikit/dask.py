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

__all__ = ["nps", "csat", "deal_metrics"]


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


# --- Sales (issue 8) ------------------------------------------------------------------------


def _sales_partial(part: Any, index: int, kind: str, columns: dict[str, str], options: dict[str, Any]) -> Any:
    import pyarrow as pa

    try:
        state = pa.table(_kpikit.sales_state(kind, part, columns, **options))
    except KpikitError as e:
        raise type(e)(f"partition {index}: {e}") from None
    # Sent as Arrow IPC bytes: a pickled table can come back with buffers at unaligned
    # addresses, which Arrow's C interface must not be handed; IPC keeps them 8-byte aligned.
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, state.schema) as writer:
        writer.write_table(state)
    return sink.getvalue().to_pybytes()


def _read_states(blobs: Sequence[bytes]) -> list[Any]:
    import pyarrow as pa

    return [pa.ipc.open_stream(pa.py_buffer(b)).read_all() for b in blobs]


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
