"""Inputs to Arrow and results back to the caller's library. No computation happens here."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any, cast

from .exceptions import ParameterError, SchemaError

OUTPUTS = ("pandas", "polars", "arrow")


def column_list(by: str | Sequence[str] | None) -> list[str]:
    """``by=`` as a list of column names."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return [str(b) for b in by]


def table_input(table: Any, columns: Iterable[str | None] | None) -> Any:
    """The columns a call needs, as an object exporting an Arrow stream, without copying.

    pandas, polars and pyarrow tables are narrowed to ``columns`` first (pandas and polars
    select lazily, so nothing is copied), which keeps the export from converting columns the
    call never reads. A missing column is left for the core to report with the full list.
    ``columns=None`` keeps every column (the core reads the table's own layout).
    """
    wanted = None if columns is None else list(dict.fromkeys(c for c in columns if c is not None))
    table = _series_as_frame(table)
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(table, pd.DataFrame):
        if wanted is not None and all(c in table.columns for c in wanted):
            # Only the wanted columns are converted; `table[wanted]` would build a new
            # DataFrame first, which costs more than the whole kernel on small tables.
            return aligned(_pandas_table(table, wanted))
        return aligned(_pandas_table(table))
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(table, pl.LazyFrame):
        table = table.collect()
    if pl is not None and isinstance(table, pl.DataFrame):
        if wanted is not None and all(c in table.columns for c in wanted):
            table = table.select(wanted)
        if any(dtype == pl.Null for dtype in table.dtypes):
            # polars exports an all-null column (dtype Null) with a validity buffer that the
            # Arrow C data interface does not allow; pyarrow's export of it is valid.
            return table.to_arrow()
        return table
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(table, (pa.Table, pa.RecordBatch)):
        _check_unique_names(table.column_names, wanted)
        if wanted is not None and all(c in table.column_names for c in wanted):
            table = table.select(wanted)
        return aligned(table)
    if pa is not None and isinstance(table, (pa.Array, pa.ChunkedArray)):
        raise SchemaError(
            f"expected a table, got a pyarrow {type(table).__name__}: wrap it as pa.table({{'name': values}})"
        )
    if hasattr(table, "__arrow_c_stream__") or hasattr(table, "__arrow_c_array__"):
        return table
    if isinstance(table, dict):
        import pyarrow

        return pyarrow.table(table)
    raise SchemaError(
        f"expected a table (pandas or polars DataFrame, pyarrow Table, or an Arrow stream), got {type(table).__name__}"
    )


def _series_as_frame(table: Any) -> Any:
    """A named pandas or polars Series as the one-column table it is (``score=`` names it);
    an unnamed one is a SchemaError, since no column name can find it."""
    pd = sys.modules.get("pandas")
    pl = sys.modules.get("polars")
    if pd is not None and isinstance(table, pd.Series):
        if table.name is None:
            raise SchemaError("expected a table, got an unnamed pandas Series: give it a name (s.rename('score'))")
        return table.to_frame()
    if pl is not None and isinstance(table, pl.Series):
        return table.to_frame()
    return table


def _check_unique_names(names: Iterable[Any], used: list[str] | None) -> None:
    """The columns a call reads (all when ``used`` is None) have unique names, or a SchemaError
    names the repeated ones: the same rule for every library."""
    seen: set[Any] = set()
    twice: list[Any] = []
    for n in names:
        if n in seen and n not in twice:
            twice.append(n)
        seen.add(n)
    repeated = [c for c in twice if used is None or c in used]
    if repeated:
        listed = ", ".join(repr(str(c)) for c in repeated)
        raise SchemaError(f"column names must be unique: {listed} appears more than once")


def _pandas_table(frame: Any, columns: list[str] | None = None) -> Any:
    """A pandas DataFrame (or its ``columns``, all present) as an Arrow table, column by
    column, copying as little as possible.

    pyarrow's ``Table.from_pandas`` scans every float column for NaN and every datetime column
    for NaT to build validity bitmaps, and checks every categorical code: on large tables that
    is a large share of a call's time and a copy of each column. Here float columns (the core
    reads NaN as missing) and datetime64 columns (the core reads pandas' NaT, the smallest
    int64, as a missing time) are handed over as they lie in memory (zero-copy); categoricals
    reuse their codes.
    Everything else (strings, nullable extension types, objects) goes through pyarrow.
    A named index (``df.set_index("user")``) stays readable as a column, as with pyarrow.
    An object column that mixes types, or a repeated column name, raises a SchemaError.
    """
    import pandas as pd
    import pyarrow as pa

    if not frame.columns.is_unique:
        _check_unique_names(frame.columns, columns)
    names: list[str] = []
    arrays: list[Any] = []
    for name in frame.columns if columns is None else columns:
        names.append(str(name))
        arrays.append(_pandas_column(frame[name], str(name)))
    index = frame.index
    if not isinstance(index, pd.RangeIndex):
        for i, level in enumerate(index.names):
            if level is not None and str(level) not in names:
                names.append(str(level))
                arrays.append(_pandas_column(pd.Series(index.get_level_values(i)), str(level)))
    return pa.Table.from_arrays(arrays, names=names)


def _pandas_column(series: Any, name: str) -> Any:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize in (4, 8):
        # Handed over as they lie in memory, NaN included: the core reads a float NaN as
        # missing whichever library the column came from (pandas' missing value, ids with a
        # gap become floats), so no scan for NaN and no mask here.
        return pa.array(np.ascontiguousarray(series.to_numpy(copy=False)), from_pandas=False)
    if (isinstance(dtype, np.dtype) and dtype.kind == "M") or isinstance(dtype, pd.DatetimeTZDtype):
        # UTC instants for zone-aware columns (a view, no copy).
        naive = series.dt.tz_convert(None) if isinstance(dtype, pd.DatetimeTZDtype) else series
        values = naive.to_numpy(copy=False)
        if np.datetime_data(values.dtype)[0] in ("s", "ms", "us", "ns"):
            ints = np.ascontiguousarray(values.view(np.int64))
            return pa.Array.from_buffers(_arrow_time_type(series), len(ints), [None, pa.py_buffer(ints)])  # type: ignore[arg-type]  # see _boolean_bits
    if isinstance(dtype, pd.BooleanDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "b"):
        bits = _boolean_bits(series)
        if bits is not None:
            return bits
    if isinstance(dtype, pd.CategoricalDtype):
        codes = np.ascontiguousarray(series.cat.codes.to_numpy(copy=False))
        missing = codes < 0
        indices = pa.array(codes, mask=missing) if missing.any() else pa.array(codes)
        categories = _pandas_column(pd.Series(dtype.categories), name)
        return pa.DictionaryArray.from_arrays(indices, categories, ordered=bool(dtype.ordered), safe=False)
    try:
        return pa.Array.from_pandas(series)
    except pa.ArrowException as e:
        raise SchemaError(
            f'column "{name}" cannot be converted to Arrow (mixed value types in an object column?): {e}'
        ) from e


def _boolean_bits(series: Any) -> Any:
    """A numpy bool or pandas "boolean" column as an Arrow boolean array, packed to bits
    directly (pyarrow goes through a per-value conversion: 6 ms against 0.3 ms for 2.5 million
    values). A "boolean" column's values and mask are its array's ``_data`` and ``_mask``;
    None when a pandas version lays it out otherwise (pyarrow converts it then)."""
    import numpy as np
    import pyarrow as pa

    array = series.array
    data = array.to_numpy() if series.dtype == np.dtype(bool) else getattr(array, "_data", None)
    mask = None if series.dtype == np.dtype(bool) else getattr(array, "_mask", None)
    if not isinstance(data, np.ndarray) or data.dtype != np.dtype(bool):
        return None
    if mask is not None and (not isinstance(mask, np.ndarray) or mask.shape != data.shape):
        return None
    nulls = 0 if mask is None else int(np.count_nonzero(mask))
    validity = None
    if mask is not None and nulls:
        packed = np.packbits(mask, bitorder="little")
        np.invert(packed, out=packed)
        validity = pa.py_buffer(packed)  # type: ignore[arg-type]
    # numpy arrays export the buffer protocol; numpy declares it to type checkers for Python 3.12+ only.
    values = pa.py_buffer(np.packbits(data, bitorder="little"))  # type: ignore[arg-type]
    return pa.Array.from_buffers(pa.bool_(), len(data), [validity, values], null_count=nulls)


# pandas time dtype -> its Arrow type. Asking pyarrow (an empty conversion) costs ~0.1 ms a
# call; a process meets only a handful of such dtypes.
_ARROW_TIME_TYPES: dict[Any, Any] = {}


def _arrow_time_type(series: Any) -> Any:
    """The Arrow type of a datetime64 or zone-aware series: unit and zone as pyarrow names them."""
    import pyarrow as pa

    dtype = series.dtype
    found = _ARROW_TIME_TYPES.get(dtype)
    if found is None:
        found = pa.Array.from_pandas(series.iloc[:0]).type
        if len(_ARROW_TIME_TYPES) < 64:
            _ARROW_TIME_TYPES[dtype] = found
    return found


def aligned(table: Any) -> Any:
    """The table, or a copy of it on fresh memory when any buffer does not start at an 8-byte
    boundary (Arrow read at an odd offset of a file or bytes object, a pickled partition).
    arrow-rs's C data interface import reads a string column's offsets through such a pointer
    before it realigns anything: a debug build aborts, a release build has undefined behaviour.
    Aligned tables (nearly all) pass without a copy; the check looks at buffer addresses only.
    """
    import pyarrow as pa

    columns = table.columns
    if all(_buffers_aligned(chunk) for column in columns for chunk in getattr(column, "chunks", [column])):
        return table
    # An IPC round trip writes every buffer to new, 64-byte aligned memory.
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write(table)
    return pa.ipc.open_stream(sink.getvalue()).read_all()


def _buffers_aligned(array: Any) -> bool:
    """Whether every buffer of an Arrow array (children and dictionary included) starts at an
    8-byte boundary."""
    if any(b is not None and b.address % 8 for b in array.buffers()):
        return False
    dictionary = getattr(array, "dictionary", None)
    return dictionary is None or _buffers_aligned(dictionary)


def time_zone(
    table: Any, columns: Iterable[str | None], tz: str | None, *, more: Sequence[tuple[Any, Iterable[str | None]]] = ()
) -> str:
    """The zone a call counts calendar periods in (docs/conventions.md, "Calendar periods").

    An explicit ``tz`` wins. With ``tz=None`` it is the zone of the zone-aware time columns among
    ``columns`` (pandas ``datetime64[ns, zone]``, polars ``Datetime(time_zone=...)``, Arrow
    ``timestamp(unit, tz)``), and UTC when none is zone-aware (naive times, dates). Columns in
    different zones are a ParameterError: the calendar would be ambiguous. ``more`` holds
    further (table, columns) pairs of a call that reads several tables.
    """
    if tz is not None:
        return tz
    zones: dict[str, str] = {}
    for source, names in [(table, columns), *more]:
        wanted = [c for c in dict.fromkeys(names) if c is not None]
        zones.update({name: zone for name, zone in _column_zones(source, wanted).items() if zone})
    distinct = sorted(set(zones.values()))
    if len(distinct) > 1:
        listed = ", ".join(f'"{name}" in {zone}' for name, zone in zones.items())
        raise ParameterError(
            f'parameter "tz": the time columns are in different zones ({listed}); pass tz= to say which '
            "zone the calendar periods are counted in"
        )
    return distinct[0] if distinct else "UTC"


def _column_zones(table: Any, names: list[str]) -> dict[str, str | None]:
    """The time zone of each of ``names`` in ``table`` that is a zone-aware time column (as
    Arrow names it), None for the other columns; columns not found and tables whose schema
    cannot be read without consuming them are left out (their times count as naive)."""
    import pyarrow as pa

    pd = sys.modules.get("pandas")
    pl = sys.modules.get("polars")
    out: dict[str, str | None] = {}
    if pd is not None and isinstance(table, pd.Series):
        table = table.to_frame() if table.name is not None else table
    if (pd is not None and isinstance(table, pd.DataFrame)) or (hasattr(table, "dtypes") and hasattr(table, "npartitions")):
        # pandas, and Dask through its pandas metadata.
        frame = table if pd is not None and isinstance(table, pd.DataFrame) else getattr(table, "_meta", None)
        if frame is None or pd is None:
            return out
        for name in names:
            if name in frame.columns and frame.columns.is_unique:
                dtype = frame.dtypes[name]
                if isinstance(dtype, pd.DatetimeTZDtype):
                    out[name] = _arrow_time_type(frame[name]).tz
        return out
    if pl is not None and isinstance(table, (pl.DataFrame, pl.LazyFrame, pl.Series)):
        schema = table.to_frame().schema if isinstance(table, pl.Series) else table.collect_schema()
        for name in names:
            dtype = schema.get(name)
            if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
                out[name] = dtype.time_zone
        return out
    schema = None
    if isinstance(table, (pa.Table, pa.RecordBatch, pa.RecordBatchReader)):
        schema = table.schema
    elif isinstance(table, dict):
        try:
            schema = pa.table({k: v for k, v in table.items() if k in names}).schema
        except (TypeError, ValueError, pa.ArrowException):
            return out  # table_input reports what it cannot read
    elif callable(getattr(table, "schema", None)) and hasattr(table, "chunks"):
        schema = table.schema()  # a database source: one query that returns no row
    if schema is None:
        return out
    for name in names:
        index = schema.get_field_index(name)  # -1 also for a repeated name, refused later
        if index >= 0:
            kind = schema.field(index).type
            if pa.types.is_timestamp(kind) and kind.tz is not None:
                out[name] = kind.tz
    return out


def check_output(output: str) -> None:
    if output not in OUTPUTS:
        raise ParameterError(f'parameter "output": {output!r} is not one of "pandas", "polars", "arrow"')


def table_output(
    result: Any,
    output: str,
    *,
    source: Any = None,
    segments: Sequence[str] = (),
    analysis: str = "",
    tz: str | None = None,
) -> Any:
    """A result table from the core in the library the caller asked for.

    ``tz`` is the zone the call counted periods in: Arrow results carry it as the schema
    metadata key ``kpikit.tz``, pandas results as ``attrs["tz"]`` (docs/conventions.md).

    Segment columns that were categorical in ``source`` come back categorical with the same
    categories in the same order, rows ordered by those categories (docs/vocabulary.md). Boolean
    flags become pandas' nullable ``boolean``. Rows the core skipped (``invalid="skip"``) are
    reported once, by a :class:`~kpikit.SkippedRowsWarning`.
    """
    check_output(output)
    import pyarrow as pa

    table = pa.table(result)
    if source is not None and segments:
        table = _restore_categories(table, source, segments)
    meta = table.schema.metadata or {}
    skipped = int(meta.get(b"kpikit.skipped_rows", 0) or 0)
    if skipped:
        warn_skipped(analysis, skipped)
    if tz is not None:
        table = table.replace_schema_metadata({**meta, b"kpikit.tz": tz.encode()})
    elif b"kpikit.tz" in meta:
        tz = meta[b"kpikit.tz"].decode()  # an Arrow result of this function, passed on
    if output == "arrow":
        return table
    if output == "polars":
        return _polars(table)
    import pandas as pd

    # Converting columns on pyarrow's threads costs more than it saves on small results.
    nullable: dict[Any, Any] = {pa.bool_(): pd.BooleanDtype()}
    frame = table.to_pandas(
        date_as_object=False,
        use_threads=table.num_rows >= 100_000,
        types_mapper=nullable.get,
    )
    if tz is not None:
        frame.attrs["tz"] = tz
    return frame


def _polars(table: Any) -> Any:
    """An Arrow table as a polars DataFrame, string dictionary columns as ``Enum``s of their
    categories in order (a polars ``Categorical`` would forget the order)."""
    import polars as pl
    import pyarrow as pa

    # A table (not an array) comes back as a DataFrame.
    frame = cast(pl.DataFrame, pl.from_arrow(table))
    enums = {}
    for field in table.schema:
        if pa.types.is_dictionary(field.type) and field.type.value_type in (pa.string(), pa.large_string()):
            chunks = table.column(field.name).unify_dictionaries().chunks
            if chunks:
                enums[field.name] = pl.Enum([c for c in chunks[0].dictionary.to_pylist() if c is not None])
    if not enums:
        return frame
    return frame.with_columns([pl.col(n).cast(pl.String).cast(e) for n, e in enums.items()])


def warn_skipped(analysis: str, count: int, rule: str = "") -> None:
    """Report rows left out by ``invalid="skip"`` (the one channel for every output library)."""
    import warnings

    from .exceptions import SkippedRowsWarning

    what = f"{analysis}: " if analysis else ""
    why = f" ({rule})" if rule else ""
    warnings.warn(SkippedRowsWarning(f"{what}{count} rows skipped{why}", count=count, rule=rule), stacklevel=4)


def _restore_categories(table: Any, source: Any, segments: Sequence[str]) -> Any:
    """``table`` with each categorical segment of ``source`` as a dictionary column holding the
    source's categories in their order, rows stably re-sorted on the key columns by that order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    restored = False
    for name in segments:
        if name not in table.column_names:
            continue
        found = _source_categories(source, name)
        if found is None:
            continue
        categories, ordered = found
        column = table.column(name)
        if pa.types.is_string_view(column.type):
            # polars hands strings over as string_view, which index_in has no kernel for.
            column = column.cast(pa.large_string())
        try:
            categories = categories.cast(column.type) if categories.type != column.type else categories
            indices = pc.index_in(column, value_set=categories).combine_chunks().cast(pa.int32())
        except pa.ArrowException:
            # Values Arrow cannot match to the categories: the column stays as the core gave it.
            continue
        array = pa.DictionaryArray.from_arrays(indices, categories, ordered=ordered)
        table = table.set_column(table.column_names.index(name), pa.field(name, array.type), array)
        restored = True
    if not restored:
        return table
    # Segments before the period, as the core orders rows (segment-major, periods within), so a
    # categorical segment changes only the order of its values, not the layout of the result.
    keys = [c for c in table.column_names if c in segments] + [c for c in table.column_names if c == "period"]
    sort_keys = []
    for c in keys:
        col = table.column(c)
        # A missing segment sorts after every category, as in pandas' groupby(dropna=False).
        sort_keys.append(pc.fill_null(col.combine_chunks().indices, 2**31 - 1) if pa.types.is_dictionary(col.type) else col)
    names = [f"k{i}" for i in range(len(sort_keys))]
    order = pc.sort_indices(pa.table(sort_keys, names=names), sort_keys=[(n, "ascending") for n in names])
    return table.take(order)


def _source_categories(source: Any, name: str) -> tuple[Any, bool] | None:
    """The categories (an Arrow array, in order) and orderedness of a categorical column of a
    pandas, Dask, polars or Arrow table; None when the column is not categorical."""
    import pyarrow as pa

    pd = sys.modules.get("pandas")
    dtype = None
    if (pd is not None and isinstance(source, pd.DataFrame)) or (hasattr(source, "dtypes") and hasattr(source, "npartitions")):
        dtype = source.dtypes.get(name)
    if pd is not None and isinstance(dtype, pd.CategoricalDtype):
        if dtype.categories is None:
            return None
        return pa.array(dtype.categories.to_numpy()), bool(dtype.ordered)
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(source, pl.DataFrame) and name in source.columns:
        pdtype = source.schema[name]
        if isinstance(pdtype, pl.Enum):
            return pa.array(pdtype.categories.to_list()), True
        if isinstance(pdtype, pl.Categorical):
            # A Categorical's physical order is the order values were first met: no meaning.
            # (polars 2 has no list of a Categorical's categories: the values present, sorted.)
            return pa.array(sorted(source[name].drop_nulls().unique().cast(pl.String).to_list())), False
        return None
    if isinstance(source, (pa.Table, pa.RecordBatch)) and name in source.column_names:
        column = source.column(name)
        if pa.types.is_dictionary(column.type):
            chunks = column.unify_dictionaries().chunks if isinstance(column, pa.ChunkedArray) else [column]
            if chunks and isinstance(chunks[0], pa.DictionaryArray):
                # The dictionary's order, as pandas keeps a categorical's (pandas reads an Arrow
                # dictionary as categories in that order), so every library gives one order.
                return chunks[0].dictionary, bool(column.type.ordered)
    return None
