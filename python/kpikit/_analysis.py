"""One driver for every analysis, on one machine and on a Dask cluster.

The core computes each analysis as *partial state → merge → finish* (docs/architecture.md): the
state of a table is a small Arrow table of counts and sums (or per-key lists), states of
partitions merge exactly, and the finish turns a state into the result. An analysis declares
once what it needs (:class:`Analysis`); :func:`run` executes it on a table (state, then finish)
or on a Dask DataFrame (a state per partition where the data lives, merged on the client, then
finished), so every public function takes either with one signature and one docstring.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import _kpikit
from ._convert import OUTPUTS, check_output, table_input, table_output, time_zone
from ._sql import SqlSource
from .exceptions import InputError, KpikitError, ParameterError

#: Builds a state from an Arrow table (the needed columns only) and the analysis' options.
StateFn = Callable[[Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class Analysis:
    """What one analysis needs, declared once.

    ``state(table, options)`` builds a partial state from an Arrow table, ``merge(states)``
    merges the states of partitions, ``finish(state, options)`` turns a state into the result.
    A state names the analysis that made it and carries its settings, so the core's one
    ``merge`` and one ``finish`` serve every analysis (the defaults).
    ``shuffle`` names the option holding the key column whose rows must all be in one partition
    (revenue: the customer, whose movements compare its periods); ``None`` when every row counts
    on its own, wherever its partition is.
    """

    name: str
    state: StateFn
    merge: Callable[[list[Any]], Any] = _kpikit.merge
    finish: Callable[[Any, dict[str, Any]], Any] = lambda state, _: _kpikit.finish(state)
    shuffle: str | None = None


@dataclass(frozen=True)
class EventNames:
    """The event names a call matches on, checked against its event column after the run.

    ``names`` maps each parameter (``steps``, ``exclusions``, ``events``…) to the names it
    gives; ``proven(result)`` returns the names the result itself shows to occur (a single-name
    step that some user reached), which then need no look at the data. An event name that
    never occurs is an :class:`~kpikit.InputError` (docs/conventions.md#journey).
    """

    column: str
    names: Mapping[str, Sequence[str]]
    proven: Callable[[Any], set[str]]

    def wanted(self) -> list[str]:
        return list(dict.fromkeys(n for names in self.names.values() for n in names))


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
    if pl is not None and isinstance(table, (pl.DataFrame, pl.LazyFrame, pl.Series)):
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
    events: EventNames | None = None,
) -> Any:
    """Run ``analysis`` on a table or a Dask DataFrame and return the result in the caller's
    library (see :func:`output_of`).

    ``columns`` are the columns the analysis reads (``None`` entries are ignored), ``options``
    go to the state step and ``finish`` to the finish step; ``segments`` are the ``by`` columns,
    whose categories the result keeps; ``events`` the event names to check (:class:`EventNames`).
    An option ``tz`` of None becomes the zone of the time columns (:func:`time_zone`, the same
    for every partition of a Dask DataFrame); the result says which zone was used.
    """
    library = output_of(table, output)
    zone = None
    if "tz" in options:
        zone = time_zone(table, columns, options["tz"])
        options = {**options, "tz": zone}
    wanted = [] if events is None else events.wanted()
    if isinstance(table, SqlSource) and events is not None:
        # The event names are looked up in the data after the run: read it once, its columns only.
        table = table.read(_unique(columns))
    if is_dask(table):
        state, seen = _dask_state(analysis, table, _unique(columns), options, partitioned, events)
        result = analysis.finish(state, finish or {})
        if events is not None and seen is not None and not set(wanted) <= seen:
            raise never_occurring(events, seen, lambda: _dask_values(table, events.column))
    elif isinstance(table, SqlSource) and events is None:
        # A database source (kpikit.sql): read batch by batch, one partial state per chunk.
        state = _stream_state(analysis, table, _unique(columns), options, partitioned)
        result = analysis.finish(state, finish or {})
    else:
        data = table_input(table, columns)
        if events is not None and wanted:
            data = _rereadable(data)
        state = analysis.state(data, options)
        result = analysis.finish(state, finish or {})
        if events is not None and wanted:
            _check_in_memory(events, data, result)
    return table_output(result, library, source=table, segments=segments, analysis=analysis.name, tz=zone)


def _stream_state(analysis: Analysis, source: Any, columns: list[str], options: dict[str, Any], partitioned: bool) -> Any:
    """The merged state of a database source's chunks (``source.chunks``): each chunk's partial
    state is built as it arrives and the chunk dropped, as for a Dask partition; a key the
    analysis needs whole (``shuffle``) is never split between chunks."""
    import pyarrow as pa

    from ._convert import aligned

    order = None if analysis.shuffle is None or partitioned else options[analysis.shuffle]
    blobs: list[bytes] = []
    first = 0
    for chunk in source.chunks(columns, order=order):
        try:
            blobs.append(_to_ipc(pa.table(analysis.state(aligned(chunk), options))))
        except KpikitError as e:
            # Row numbers in the message count from the start of this chunk.
            raise type(e)(f"{source.name}, rows from {first:,}: {e}") from None
        first += chunk.num_rows
    return analysis.merge(_read_states(blobs))


def _unique(columns: Sequence[str | None]) -> list[str]:
    return list(dict.fromkeys(c for c in columns if c is not None))


def _dask_state(
    analysis: Analysis, ddf: Any, columns: list[str], options: dict[str, Any], partitioned: bool,
    events: EventNames | None,
) -> tuple[Any, set[str] | None]:
    """The merged state of every partition (partials where the data lives, merged once) and
    the named events seen in some partition (None when the data has no row)."""
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
    look = None if events is None else (events.column, events.wanted())
    tasks = [delayed(_partial)(analysis.state, p, i, options, look) for i, p in enumerate(parts)]
    outs = compute(*tasks)  # type: ignore[no-untyped-call]  # dask.base.compute is not annotated
    state = analysis.merge(_read_states([blob for blob, _, _ in outs]))
    if not any(rows for _, _, rows in outs):
        return state, None
    return state, set().union(*(seen for _, seen, _ in outs))


def _partial(
    state: StateFn, part: Any, index: int, options: dict[str, Any], look: tuple[str, list[str]] | None
) -> tuple[bytes, set[str], int]:
    """One partition's state, as Arrow IPC bytes (the form it travels in to the client), the
    names of ``look`` (event column, names) it holds and its number of rows.

    The names are looked up here, in the task that already holds the partition in memory, so
    a Dask input costs no second read of the data nor a second shuffle: one vectorised lookup
    over the event column that stops as soon as every name has been seen."""
    import pyarrow as pa

    from ._convert import aligned

    try:
        # A partition unpickled on a worker can hold Arrow buffers at any address; `aligned`
        # copies only then (the C data interface must not be handed unaligned buffers).
        data = aligned(pa.table(table_input(part, None)))
        blob = _to_ipc(pa.table(state(data, options)))
    except KpikitError as e:
        # Row numbers in the message count from the start of this partition.
        raise type(e)(f"partition {index}: {e}") from None
    if look is None or data.num_rows == 0:
        return blob, set(), data.num_rows
    return blob, names_present(data.column(look[0]), look[1]), data.num_rows


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


def _rereadable(data: Any) -> Any:
    """``data`` in a form that can be read twice (by the core, then by the event-name check).

    pandas, polars and pyarrow tables are; another Arrow stream (a RecordBatchReader) may be
    readable once only, so its batches are gathered into a pyarrow Table first. That is no
    copy: the core would hold every batch in memory too, and it reads the Table's buffers."""
    import pyarrow as pa

    pl = sys.modules.get("polars")
    if isinstance(data, (pa.Table, pa.RecordBatch)) or (pl is not None and isinstance(data, pl.DataFrame)):
        return data
    from ._convert import aligned

    try:
        return aligned(pa.table(data))
    except (TypeError, ValueError, pa.ArrowException):
        return data  # Not a stream pyarrow reads: left to the core, unchecked.


def _check_in_memory(events: EventNames, data: Any, result: Any) -> None:
    """Raise when a name of ``events`` never occurs in the event column of ``data`` (the Arrow
    input the core read). Names the result proves present are not looked up, so the usual
    call (each step or filter one name, someone reached it) reads no data at all."""
    import pyarrow as pa

    pl = sys.modules.get("polars")
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        table = data
    elif pl is not None and isinstance(data, pl.DataFrame):
        table = pa.table(data.select(events.column))
    else:
        return  # A stream _rereadable could not gather: the core has read it, once.
    if table.num_rows == 0 or events.column not in table.column_names:
        return  # An empty table gives the empty result (docs/conventions.md#journey).
    missing = [n for n in events.wanted() if n not in events.proven(pa.table(result))]
    if not missing:
        return
    column = table.column(events.column)
    seen = names_present(column, missing)
    if len(seen) < len(missing):
        raise never_occurring(events, seen | (set(events.wanted()) - set(missing)), lambda: values_present(column))


def _text(array: Any) -> Any:
    """An Arrow array of event names as strings pyarrow's lookups take (None: not names)."""
    import pyarrow as pa

    t = array.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return array
    try:
        # string_view (polars' strings) has no lookup kernel; integers and booleans are read
        # as their text, as the core reads them.
        return array.cast(pa.large_string())
    except pa.ArrowException:
        # A type with no text form (lists, structs…): not event names.
        return None


def _chunk_names(chunk: Any, wanted: set[str]) -> set[str]:
    """The names of ``wanted`` that occur in one Arrow array of event names."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(chunk.type) or not wanted:
        return set()
    values = pa.array(sorted(wanted), type=pa.large_string())
    if pa.types.is_dictionary(chunk.type):
        # Only the dictionary is matched against the names; then whether the rows use the
        # codes found (a declared category that no row uses never occurs).
        dictionary = _text(chunk.dictionary)
        if dictionary is None:
            return set(wanted)
        codes = np.flatnonzero(pc.is_in(dictionary, value_set=values).to_numpy(zero_copy_only=False))
        if codes.size == 0:
            return set()
        indices = chunk.indices
        used = pc.unique(indices.filter(pc.is_in(indices, value_set=pa.array(codes).cast(indices.type))))
        return {str(dictionary[i].as_py()) for i in used.to_pylist()}
    text = _text(chunk)
    if text is None:
        return set(wanted)  # Not event names: the core has refused the column already.
    return {str(v) for v in pc.unique(text.filter(pc.is_in(text, value_set=values))).to_pylist()}


def names_present(column: Any, names: Iterable[str]) -> set[str]:
    """The ``names`` that occur in an Arrow column of event names.

    The column is read in slices of growing length (64 Ki rows, doubling up to 4 Mi) and the
    reading stops once every name has been seen: names that occur cost a small look at the
    data's start, and only a name that never occurs (or occurs late) reads all of it."""
    import pyarrow as pa

    wanted = set(names)
    found: set[str] = set()
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    step = 1 << 16
    for chunk in chunks:
        start = 0
        while start < len(chunk) and not wanted <= found:
            found |= _chunk_names(chunk.slice(start, step), wanted - found)
            start += step
            step = min(step * 2, 1 << 22)
        if wanted <= found:
            break
    return found


def values_present(column: Any) -> list[str]:
    """Every distinct event name of an Arrow column, missing values left out (error path)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out: set[str] = set()
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        if isinstance(chunk, pa.DictionaryArray):  # an Arrow dictionary type
            dictionary = _text(chunk.dictionary)
            codes = pc.unique(chunk.indices.drop_null()).to_pylist()
            if dictionary is not None:
                out |= {dictionary[i].as_py() for i in codes} - {None}
            continue
        text = _text(chunk)
        if text is not None:
            out |= set(pc.unique(text.drop_null()).to_pylist())
    return sorted(str(v) for v in out)


def _dask_values(ddf: Any, column: str) -> list[str]:
    """Every distinct event name of a Dask column (one more pass, on the error path only)."""
    values = ddf[column].dropna().unique().compute()
    return sorted({str(v) for v in values})


#: How many of the values that occur an error lists.
SHOWN_VALUES = 20


def did_you_mean(value: str, values: Sequence[str]) -> str | None:
    """The value of ``values`` closest to ``value``: one equal but for case first, else
    difflib's closest match (ignoring case); None when nothing is close."""
    folded: dict[str, str] = {}
    for v in values:
        folded.setdefault(v.casefold(), v)
    if value.casefold() in folded:
        return folded[value.casefold()]
    close = difflib.get_close_matches(value.casefold(), list(folded), n=1)
    return folded[close[0]] if close else None


def never_occurring(events: EventNames, seen: set[str], values: Callable[[], list[str]]) -> InputError:
    """The InputError for the names of ``events`` not in ``seen``: each with its parameter and
    a did-you-mean, then the values the column does hold (the first 20, sorted, and how many
    more). ``values`` lists those values; it is called only here, on the error path."""
    present = values()
    problems = []
    for parameter, names in events.names.items():
        for name in dict.fromkeys(names):
            if name in seen:
                continue
            guess = did_you_mean(name, present)
            hint = f" (did you mean {guess!r}?)" if guess is not None else ""
            problems.append(f'parameter "{parameter}": event {name!r} never occurs in column "{events.column}"{hint}')
    if not present:
        held = "The column holds no event name (every value is missing)."
    else:
        shown = ", ".join(repr(v) for v in present[:SHOWN_VALUES])
        more = f" and {len(present) - SHOWN_VALUES} more" if len(present) > SHOWN_VALUES else ""
        held = f"The {len(present)} event names that occur: {shown}{more}."
    return InputError("; ".join(problems) + ". " + held)


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


__all__ = [
    "Analysis", "EventNames", "run", "is_dask", "output_of", "choice", "freq", "check_segments", "names_present",
    "values_present", "did_you_mean", "never_occurring", "FREQS", "OUTPUTS",
]
