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
from .activity import active_users
from .exceptions import KpikitError
from .retention import retention
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


# active_users and retention take a Dask DataFrame themselves (kpikit.activity, kpikit.retention).


# --- Customer lifetime value ---------------------------------------------------------------
# kpikit.rfm_summary takes a Dask DataFrame itself (kpikit.clv declares its analysis once).

from .clv import rfm_summary  # noqa: E402

__all__ += ["rfm_summary"]


def __dir__() -> list[str]:
    # The namespace shows the public API only; imports are not part of it (docs/vocabulary.md).
    return sorted(__all__)
