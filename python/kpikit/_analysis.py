"""One driver for every analysis, on one machine and on a Dask cluster.

The core computes each analysis as *partial state → merge → finish* (docs/architecture.md): the
state of a table is a small Arrow table of counts and sums (or per-key lists), states of
partitions merge exactly, and the finish turns a state into the result. An analysis declares
once what it needs (:class:`Analysis`); :func:`run` executes it on a table (state, then finish)
or on a Dask DataFrame (a state per partition where the data lives, merged on the client, then
finished), so every public function takes either with one signature and one docstring.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._convert import OUTPUTS, check_output, table_input, table_output
from .exceptions import KpikitError, ParameterError

#: Builds a state from an Arrow table (the needed columns only) and the analysis' options.
StateFn = Callable[[Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class Analysis:
    """What one analysis needs, declared once.

    ``state(table, options)`` builds a partial state from an Arrow table, ``merge(states)``
    merges the states of partitions, ``finish(state, options)`` turns a state into the result.
    ``shuffle`` names the option holding the key column whose rows must all be in one partition
    (revenue: the customer, whose movements compare its periods); ``None`` when every row counts
    on its own, wherever its partition is.
    """

    name: str
    state: StateFn
    merge: Callable[[list[Any]], Any]
    finish: Callable[[Any, dict[str, Any]], Any]
    shuffle: str | None = None


def is_dask(table: Any) -> bool:
    """Whether ``table`` is a Dask DataFrame (without importing Dask when it is not loaded)."""
    dd = sys.modules.get("dask.dataframe")
    return dd is not None and isinstance(table, dd.DataFrame)


def output_of(table: Any, output: str | None) -> str:
    """The library a result goes back in: ``output`` when given, else the input's own."""
    if output is not None:
        check_output(output)
        return output
    pd = sys.modules.get("pandas")
    if (pd is not None and isinstance(table, (pd.DataFrame, pd.Series))) or is_dask(table) or isinstance(table, dict):
        return "pandas"
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(table, (pl.DataFrame, pl.LazyFrame)):
        return "polars"
    return "arrow"


def run(
    analysis: Analysis,
    table: Any,
    *,
    columns: Sequence[str | None],
    options: dict[str, Any],
    finish: dict[str, Any] | None = None,
    output: str | None = None,
    segments: Sequence[str] = (),
    partitioned: bool = False,
) -> Any:
    """Run ``analysis`` on a table or a Dask DataFrame and return the result in the caller's
    library (see :func:`output_of`).

    ``columns`` are the columns the analysis reads (``None`` entries are ignored), ``options``
    go to the state step and ``finish`` to the finish step; ``segments`` are the ``by`` columns,
    whose categories the result keeps.
    """
    library = output_of(table, output)
    if is_dask(table):
        state = _dask_state(analysis, table, _unique(columns), options, partitioned)
    else:
        state = analysis.state(table_input(table, columns), options)
    result = analysis.finish(state, finish or {})
    return table_output(result, library, source=table, segments=segments, analysis=analysis.name)


def _unique(columns: Sequence[str | None]) -> list[str]:
    return list(dict.fromkeys(c for c in columns if c is not None))


def _dask_state(analysis: Analysis, ddf: Any, columns: list[str], options: dict[str, Any], partitioned: bool) -> Any:
    """The merged state of every partition: partials where the data lives, merged once."""
    from dask.base import compute
    from dask.delayed import delayed

    missing = [c for c in columns if c not in ddf.columns]
    if missing:
        # The core names a missing column with the full list; on Dask, selecting it would fail
        # earlier with a KeyError from Dask.
        from .exceptions import SchemaError

        raise SchemaError(f"column {missing[0]!r} not found; the table has {list(ddf.columns)}")
    ddf = ddf[columns]
    if analysis.shuffle is not None and not partitioned:
        ddf = ddf.shuffle(on=options[analysis.shuffle])
    parts = ddf.to_delayed()
    tasks = [delayed(_partial)(analysis.state, p, i, options) for i, p in enumerate(parts)]
    blobs = compute(*tasks)  # type: ignore[no-untyped-call]  # dask.base.compute is not annotated
    return analysis.merge(_read_states(blobs))


def _partial(state: StateFn, part: Any, index: int, options: dict[str, Any]) -> bytes:
    """One partition's state, as Arrow IPC bytes (the form it travels in to the client)."""
    import pyarrow as pa

    from ._convert import aligned

    try:
        # A partition unpickled on a worker can hold Arrow buffers at any address; `aligned`
        # copies only then (the C data interface must not be handed unaligned buffers).
        return _to_ipc(pa.table(state(aligned(pa.table(table_input(part, None))), options)))
    except KpikitError as e:
        # Row numbers in the message count from the start of this partition.
        raise type(e)(f"partition {index}: {e}") from None


def _to_ipc(state: Any) -> bytes:
    """A state as Arrow IPC bytes: a pickled table can arrive with unaligned buffers; IPC keeps
    them aligned."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, state.schema) as writer:
        # One record batch, even for an empty partition: a state is a batch, not a stream.
        batches = state.combine_chunks().to_batches()
        writer.write_batch(batches[0] if batches else pa.RecordBatch.from_pylist([], schema=state.schema))
    return bytes(sink.getvalue().to_pybytes())


def _read_states(blobs: Sequence[bytes]) -> list[Any]:
    """States from IPC bytes, each read from freshly allocated (64-byte aligned) Arrow memory:
    a bytes object's buffer carries no alignment promise."""
    import pyarrow as pa

    states = []
    for b in blobs:
        buf = pa.allocate_buffer(len(b))
        memoryview(buf).cast("B")[:] = b
        # The one batch itself: `read_all` drops a zero-row batch (an empty partition's
        # state), and an empty table carries no state for the merge.
        states.append(pa.ipc.open_stream(buf).read_next_batch())
    return states


#: The spellings of ``freq``, shortest period first (docs/vocabulary.md).
FREQS = ("minute", "hour", "day", "week", "month", "quarter", "year")

# Other libraries' spellings, refused with the word to use. pandas labels "ME"/"QE"/"YE" periods
# by their end and kpikit labels every period by its start, so accepting aliases would shift
# labels silently; polars' "1m" is a minute, not a month.
_FOREIGN = {
    "min": "minute", "t": "minute", "1min": "minute", "1m": "minute",
    "h": "hour", "1h": "hour", "hourly": "hour",
    "d": "day", "1d": "day", "daily": "day",
    "w": "week", "1w": "week", "weekly": "week",
    "m": "month", "ms": "month", "me": "month", "1mo": "month", "monthly": "month",
    "q": "quarter", "qs": "quarter", "qe": "quarter", "1q": "quarter", "quarterly": "quarter",
    "y": "year", "ys": "year", "ye": "year", "a": "year", "as": "year", "1y": "year", "yearly": "year", "annual": "year",
}


def freq(value: Any, supported: Sequence[str] = FREQS, parameter: str = "freq") -> str:
    """``value`` when it is one of kpikit's period words that the function supports, else a
    ParameterError naming the word to use."""
    if isinstance(value, str) and value in supported:
        return value
    words = ", ".join(repr(f) for f in supported)
    if isinstance(value, str):
        lower = value.strip().lower()
        word = _FOREIGN.get(lower) or (lower if lower in FREQS else None)
        if lower.startswith("w-"):
            word = "week"
        if word is not None and word in supported:
            raise ParameterError(
                f'parameter "{parameter}": {value!r} is not a kpikit frequency; write {word!r} '
                f"(kpikit labels every period by its first day; weeks start on week_start=)"
            )
    raise ParameterError(f'parameter "{parameter}": {value!r} is not one of {words}')


def check_segments(segments: Sequence[str], keys: Sequence[str] = ("period",)) -> list[str]:
    """The ``by`` columns, refusing one named like a key column of the result."""
    clash = [s for s in segments if s in keys]
    if clash:
        raise ParameterError(
            f'parameter "by": a segment column may not be named {clash[0]!r}, the name of a key '
            "column of the result; rename it first (e.g. df.rename(columns={...}))"
        )
    return list(segments)


def choice(parameter: str, value: Any, allowed: Sequence[str]) -> str:
    """``value`` when it is one of ``allowed``, else a ParameterError listing them."""
    if not isinstance(value, str) or value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ParameterError(f'parameter "{parameter}": {value!r} is not one of {listed}')
    return value


__all__ = ["Analysis", "run", "is_dask", "output_of", "choice", "freq", "check_segments", "FREQS", "OUTPUTS"]
