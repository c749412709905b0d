"""Types of the inputs kpikit accepts (the Arrow PyCapsule protocols)."""

from __future__ import annotations

from typing import Any, Literal, Protocol


class ArrowArrayExportable(Protocol):
    """An object exporting one Arrow array (pyarrow Array, arro3 Array…)."""

    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]: ...


class ArrowStreamExportable(Protocol):
    """An object exporting a stream of Arrow data (pandas, polars, pyarrow tables and series)."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...


#: A table: pandas or polars DataFrame, pyarrow Table or RecordBatch, or any Arrow stream.
TableLike = ArrowStreamExportable | ArrowArrayExportable | Any

#: Where results go: a pandas DataFrame (default), a polars DataFrame or a pyarrow Table.
Output = Literal["pandas", "polars", "arrow"]
