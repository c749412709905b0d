"""Types of the inputs kpikit accepts (the Arrow PyCapsule protocols) and of the tables it returns.

A table function's result is in the caller's library (docs/vocabulary.md#return-types): the
library of ``output=`` when it is given, else the input's own. :func:`table_function` states
that rule once for type checkers, so ``reveal_type(kpikit.nps(frame, score="score"))`` is a
pandas DataFrame for a pandas ``frame``, while each function keeps its own signature (its
settings, their types and defaults) for both the checker and ``inspect.signature``.

pandas, polars and pyarrow are imported for the type checker only: importing kpikit does not
import polars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, Protocol, TypeAlias, cast, overload

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    import polars as pl
    import pyarrow as pa


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


class DaskFrame(Protocol):
    """A Dask DataFrame, known by its partitions (so that Dask need not be installed)."""

    @property
    def npartitions(self) -> int: ...


#: Inputs whose results come back as a pandas DataFrame when ``output`` is not given: pandas
#: DataFrames and Series, Dask DataFrames (computed to pandas) and dicts of columns.
PandasInput: TypeAlias = "pd.DataFrame | pd.Series[Any] | DaskFrame | dict[str, Any] | Sequence[pd.DataFrame]"
#: Inputs whose results come back as a polars DataFrame when ``output`` is not given.
PolarsInput: TypeAlias = "pl.DataFrame | pl.LazyFrame | pl.Series | Sequence[pl.DataFrame]"

#: Any input of a table function: a table, or a list of partitions of one.
TableInput: TypeAlias = "TableLike | Sequence[TableLike]"

#: A result whose library is chosen at run time (``output=`` a variable, or None passed on).
AnyTable: TypeAlias = "pd.DataFrame | pl.DataFrame | pa.Table"

P = ParamSpec("P")


class TableFunction(Protocol[P]):
    """A function of one table (positional) and settings (``P``, by keyword) returning a table
    in the caller's library. ``output`` is matched first when it is passed (a variable, or
    None written out, gives any of the three), then the input's type; any other input (a
    pyarrow Table, an Arrow stream, a database source) gives a pyarrow Table.

    ``output`` stands before ``*args`` because a type checker allows no keyword-only parameter
    beside a ParamSpec; a caller passes it by keyword, as the function itself requires (a
    checker would also let it through as the second positional argument, which the function
    refuses with a TypeError when called).
    The overlap ignores: mypy sees that ``*args`` could take ``output``'s place positionally,
    which the functions' keyword-only settings rule out.
    """

    # fmt: off
    @overload
    def __call__(self, table: TableInput, /, output: Literal["pandas"], *args: P.args, **kwargs: P.kwargs) -> pd.DataFrame: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableInput, /, output: Literal["polars"], *args: P.args, **kwargs: P.kwargs) -> pl.DataFrame: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableInput, /, output: Literal["arrow"], *args: P.args, **kwargs: P.kwargs) -> pa.Table: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableInput, /, output: Output | None, *args: P.args, **kwargs: P.kwargs) -> AnyTable: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: PandasInput, /, *args: P.args, **kwargs: P.kwargs) -> pd.DataFrame: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: PolarsInput, /, *args: P.args, **kwargs: P.kwargs) -> pl.DataFrame: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableInput, /, *args: P.args, **kwargs: P.kwargs) -> pa.Table: ...
    # fmt: on


class TwoTableFunction(Protocol[P]):
    """As :class:`TableFunction` for a function of two tables; the result follows the first."""

    # fmt: off
    @overload
    def __call__(self, table: TableInput, other: TableLike, /, output: Literal["pandas"], *args: P.args, **kwargs: P.kwargs) -> pd.DataFrame: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableInput, other: TableLike, /, output: Literal["polars"], *args: P.args, **kwargs: P.kwargs) -> pl.DataFrame: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableInput, other: TableLike, /, output: Literal["arrow"], *args: P.args, **kwargs: P.kwargs) -> pa.Table: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableInput, other: TableLike, /, output: Output | None, *args: P.args, **kwargs: P.kwargs) -> AnyTable: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: PandasInput, other: TableLike, /, *args: P.args, **kwargs: P.kwargs) -> pd.DataFrame: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: PolarsInput, other: TableLike, /, *args: P.args, **kwargs: P.kwargs) -> pl.DataFrame: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableInput, other: TableLike, /, *args: P.args, **kwargs: P.kwargs) -> pa.Table: ...
    # fmt: on


class ColumnFunction(Protocol[P]):
    """A function of one table (positional) and settings returning one value per row, in the
    table's library: a pandas Series, a polars Series, a numpy array (or a float) for a dict
    of arrays, a pyarrow Array for Arrow input."""

    # fmt: off
    @overload
    def __call__(self, table: pd.DataFrame, /, *args: P.args, **kwargs: P.kwargs) -> pd.Series[float]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: pl.DataFrame, /, *args: P.args, **kwargs: P.kwargs) -> pl.Series: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: dict[str, Any], /, *args: P.args, **kwargs: P.kwargs) -> npt.NDArray[np.float64] | float: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableLike, /, *args: P.args, **kwargs: P.kwargs) -> pa.Array: ...  # type: ignore[type-arg, unused-ignore]
    # fmt: on


def table_function(f: Callable[Concatenate[Any, P], Any]) -> TableFunction[P]:
    """``f`` itself (nothing changes at run time), typed as returning a table in the caller's
    library (:class:`TableFunction`)."""
    # The Protocol states what f does with `output` and its table, which f's own annotations cannot.
    return cast("TableFunction[P]", f)


def two_table_function(f: Callable[Concatenate[Any, Any, P], Any]) -> TwoTableFunction[P]:
    """``f`` itself, typed as :class:`TwoTableFunction` (the result follows the first table)."""
    return cast("TwoTableFunction[P]", f)


def column_function(f: Callable[Concatenate[Any, P], Any]) -> ColumnFunction[P]:
    """``f`` itself, typed as :class:`ColumnFunction` (one value per row of the table)."""
    return cast("ColumnFunction[P]", f)
