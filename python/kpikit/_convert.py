"""Inputs to Arrow and results back to the caller's library. No computation happens here."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

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
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(table, pd.DataFrame):
        if wanted is not None and all(c in table.columns for c in wanted):
            table = table[wanted]
        return _PandasFrame(table)
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
        if wanted is not None and all(c in table.column_names for c in wanted):
            return table.select(wanted)
        return table
    if hasattr(table, "__arrow_c_stream__") or hasattr(table, "__arrow_c_array__"):
        return table
    if isinstance(table, dict):
        import pyarrow as pa

        return pa.table(table)
    raise SchemaError(
        f"expected a table (pandas or polars DataFrame, pyarrow Table, or an Arrow stream), got {type(table).__name__}"
    )


class _PandasFrame:
    """A pandas DataFrame whose Arrow export failure names the column as a SchemaError.

    pandas converts through pyarrow on export; an object column mixing types (ints and
    strings, say) raises pyarrow's own ``ArrowInvalid`` / ``ArrowTypeError`` there.
    """

    __slots__ = ("frame",)

    def __init__(self, frame: Any) -> None:
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        import pyarrow as pa

        try:
            return self.frame.__arrow_c_stream__(requested_schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
            column = _failed_column(str(e), self.frame.columns)
            where = f'column "{column}"' if column is not None else "a column"
            raise SchemaError(
                f"{where} cannot be converted to Arrow (mixed value types in an object column?): {e}"
            ) from e


def _failed_column(message: str, columns: Iterable[Any]) -> str | None:
    """The column pyarrow names in a conversion error ("... for column user with type ...")."""
    for c in columns:
        if f"column {c} with type" in message:
            return str(c)
    return None


def check_output(output: str) -> None:
    if output not in OUTPUTS:
        raise ParameterError(f'parameter "output": {output!r} is not one of "pandas", "polars", "arrow"')


def table_output(result: Any, output: str) -> Any:
    """A result table from the core in the library the caller asked for.

    Metadata kpikit attaches (for example ``skipped_rows``) lands in ``DataFrame.attrs`` for
    pandas and stays in the schema metadata for Arrow.
    """
    check_output(output)
    import pyarrow as pa

    table = pa.table(result)
    if output == "arrow":
        return table
    if output == "polars":
        import polars as pl

        return pl.from_arrow(table)
    df = table.to_pandas(date_as_object=False)
    meta = table.schema.metadata or {}
    skipped = meta.get(b"kpikit.skipped_rows")
    if skipped is not None:
        df.attrs["skipped_rows"] = int(skipped)
    return df
