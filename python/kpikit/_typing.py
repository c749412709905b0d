"""Types of the inputs kpikit accepts (the Arrow PyCapsule protocols) and of the tables it returns.

A table function's result is in the caller's library (docs/vocabulary.md#return-types): the
library of ``output=`` when it is given, else the input's own. :func:`table_function` states
that rule once for type checkers, so ``reveal_type(kpikit.nps(frame, score="score"))`` is a
pandas DataFrame for a pandas ``frame``, while each function keeps its own signature (its
settings, their types and defaults) for both the checker and ``inspect.signature``.

An elementwise formula's result follows its arguments (the first library among pandas,
polars, Arrow, numpy, lists and numbers, in that order; docs/vocabulary.md#formulas):
:func:`formula2` and its siblings state that rule for formulas of one shape, so
``reveal_type(formulas.ratio(series, 2))`` is a pandas Series. A fitted CLV model's
predictions follow its table of customers (:func:`column_method`) or its horizons
(:func:`curve_method`).

pandas, polars and pyarrow are imported for the type checker only: importing kpikit does not
import polars.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, Protocol, TypeAlias, cast, overload

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    import polars as pl
    import pyarrow as pa
    from typing_extensions import deprecated
else:

    def deprecated(message: str) -> Callable[[Any], Any]:
        # Only the type checker reads the mark; typing_extensions need not be installed.
        return lambda f: f


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
    beside a ParamSpec (PEP 612), and dropping the ParamSpec from those overloads would leave
    the settings unchecked whenever ``output`` is given. ``output`` passed by position (a
    TypeError at run time) matches the first overload instead, which is marked deprecated so
    that the checker reports it: mypy with the ``deprecated`` error code enabled (kpikit's own
    configuration enables it), pyright with ``reportDeprecated``.
    The overlap ignores: mypy sees that ``*args`` could take ``output``'s place positionally,
    which the functions' keyword-only settings rule out.
    """

    # fmt: off
    @overload
    @deprecated("output is keyword-only (a TypeError when called): write output=...")
    def __call__(self, table: TableInput, output: Output | None, /, *args: P.args, **kwargs: P.kwargs) -> AnyTable: ...  # type: ignore[overload-overlap, unused-ignore]
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
    @deprecated("output is keyword-only (a TypeError when called): write output=...")
    def __call__(self, table: TableInput, other: TableLike, output: Output | None, /, *args: P.args, **kwargs: P.kwargs) -> AnyTable: ...  # type: ignore[overload-overlap, unused-ignore]
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
    table's library: a pandas Series, a polars Series, a numpy array for a dict of arrays, a
    pyarrow Array for Arrow input."""

    # fmt: off
    @overload
    def __call__(self, table: pd.DataFrame, /, *args: P.args, **kwargs: P.kwargs) -> pd.Series[float]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: pl.DataFrame, /, *args: P.args, **kwargs: P.kwargs) -> pl.Series: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: Mapping[str, Any], /, *args: P.args, **kwargs: P.kwargs) -> npt.NDArray[np.float64]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableLike, /, *args: P.args, **kwargs: P.kwargs) -> pa.DoubleArray: ...
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


# Elementwise formulas. Each operand kind below admits the kinds that rank under it, so that the
# first overload an argument list matches, trying the narrowest kind first, is the kind that
# decides the result at run time (pandas > polars > Arrow > numpy > list > number).

#: A number (an int, a float, a numpy number).
Real: TypeAlias = "float | np.integer[Any] | np.floating[Any]"
#: A number or ``None`` (missing).
Number: TypeAlias = "Real | None"
#: A list (or tuple) of numbers, or a number.
ListOperand: TypeAlias = "Sequence[Number] | Number"
#: A 1-D numpy array, or any operand ranking under it.
NumpyOperand: TypeAlias = "npt.NDArray[Any] | ListOperand"


class ArrowChunkedArray(Protocol):
    """A pyarrow ChunkedArray, known by its chunks (a pandas or polars Series exports an Arrow
    stream too, but has no ``num_chunks``)."""

    @property
    def num_chunks(self) -> int: ...

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...


#: An Arrow array (pyarrow Array or ChunkedArray, or any object exporting one Arrow array), or
#: any operand ranking under it. Structural, so that pandas and polars Series never match it.
ArrowOperand: TypeAlias = "ArrowArrayExportable | ArrowChunkedArray | NumpyOperand"
#: A polars Series, or any operand ranking under it.
PolarsOperand: TypeAlias = "pl.Series | ArrowOperand"
#: Any operand of a formula: a pandas Series, or any operand ranking under it.
Operand: TypeAlias = "pd.Series[Any] | PolarsOperand"

#: A formula's result when its operands' kinds are not known from their positions (some were
#: passed by keyword): any of the six.
FormulaResult: TypeAlias = (
    "pd.Series[float] | pl.Series | pa.DoubleArray | npt.NDArray[np.float64] | list[float | None] | float | None"
)


class Formula2(Protocol[P]):
    """An elementwise formula of two operands, its result in the first library among them
    (:data:`Operand`). Operands passed by position give the precise type; passed by keyword,
    their names and types are checked and the result is any of the kinds (:data:`FormulaResult`).
    """

    # fmt: off
    @overload
    def __call__(self, a: Number, b: Number, /) -> float | None: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: ListOperand, b: ListOperand, /) -> list[float | None]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: NumpyOperand, b: NumpyOperand, /) -> npt.NDArray[np.float64]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: ArrowOperand, b: ArrowOperand, /) -> pa.DoubleArray: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: PolarsOperand, b: PolarsOperand, /) -> pl.Series: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: Operand, b: Operand, /) -> pd.Series[float]: ...
    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> FormulaResult: ...
    # fmt: on


class MarginFormula(Protocol[P]):
    """As :class:`Formula2`, with a third operand ``gross_margin`` (1 when not given)."""

    # fmt: off
    @overload
    def __call__(self, a: Number, b: Number, /, gross_margin: Number = ...) -> float | None: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: ListOperand, b: ListOperand, /, gross_margin: ListOperand = ...) -> list[float | None]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: NumpyOperand, b: NumpyOperand, /, gross_margin: NumpyOperand = ...) -> npt.NDArray[np.float64]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: ArrowOperand, b: ArrowOperand, /, gross_margin: ArrowOperand = ...) -> pa.DoubleArray: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: PolarsOperand, b: PolarsOperand, /, gross_margin: PolarsOperand = ...) -> pl.Series: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: Operand, b: Operand, /, gross_margin: Operand = ...) -> pd.Series[float]: ...
    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> FormulaResult: ...
    # fmt: on


class Formula3(Protocol[P]):
    """As :class:`Formula2`, for three operands."""

    # fmt: off
    @overload
    def __call__(self, a: Number, b: Number, c: Number, /) -> float | None: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: ListOperand, b: ListOperand, c: ListOperand, /) -> list[float | None]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: NumpyOperand, b: NumpyOperand, c: NumpyOperand, /) -> npt.NDArray[np.float64]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: ArrowOperand, b: ArrowOperand, c: ArrowOperand, /) -> pa.DoubleArray: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: PolarsOperand, b: PolarsOperand, c: PolarsOperand, /) -> pl.Series: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: Operand, b: Operand, c: Operand, /) -> pd.Series[float]: ...
    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> FormulaResult: ...
    # fmt: on


class Formula4(Protocol[P]):
    """As :class:`Formula2`, for four operands."""

    # fmt: off
    @overload
    def __call__(self, a: Number, b: Number, c: Number, d: Number, /) -> float | None: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: ListOperand, b: ListOperand, c: ListOperand, d: ListOperand, /) -> list[float | None]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: NumpyOperand, b: NumpyOperand, c: NumpyOperand, d: NumpyOperand, /) -> npt.NDArray[np.float64]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: ArrowOperand, b: ArrowOperand, c: ArrowOperand, d: ArrowOperand, /) -> pa.DoubleArray: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: PolarsOperand, b: PolarsOperand, c: PolarsOperand, d: PolarsOperand, /) -> pl.Series: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, a: Operand, b: Operand, c: Operand, d: Operand, /) -> pd.Series[float]: ...
    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> FormulaResult: ...
    # fmt: on


def formula2(f: Callable[P, Any]) -> Formula2[P]:
    """``f`` itself (nothing changes at run time), typed as :class:`Formula2`."""
    # The Protocol states how the operands' kinds decide the result, which f's own annotations cannot.
    return cast("Formula2[P]", f)


def margin_formula(f: Callable[P, Any]) -> MarginFormula[P]:
    """``f`` itself, typed as :class:`MarginFormula`."""
    return cast("MarginFormula[P]", f)


def formula3(f: Callable[P, Any]) -> Formula3[P]:
    """``f`` itself, typed as :class:`Formula3`."""
    return cast("Formula3[P]", f)


def formula4(f: Callable[P, Any]) -> Formula4[P]:
    """``f`` itself, typed as :class:`Formula4`."""
    return cast("Formula4[P]", f)


# Fitted models of customer lifetime value (kpikit.clv): their predictions as methods.


class Predictions(Protocol[P]):
    """As :class:`ColumnFunction`, for a model's predictions: one per customer of the table, and
    a float for a dict of numbers (one customer)."""

    # fmt: off
    @overload
    def __call__(self, table: pd.DataFrame, /, *args: P.args, **kwargs: P.kwargs) -> pd.Series[float]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: pl.DataFrame, /, *args: P.args, **kwargs: P.kwargs) -> pl.Series: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: Mapping[str, Real], /, *args: P.args, **kwargs: P.kwargs) -> float: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: Mapping[str, Any], /, *args: P.args, **kwargs: P.kwargs) -> npt.NDArray[np.float64]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, table: TableLike, /, *args: P.args, **kwargs: P.kwargs) -> pa.DoubleArray: ...
    # fmt: on


class ColumnMethod(Protocol[P]):
    """A method of a fitted model taking a table of customers (positional) and settings: read
    from a model, its :class:`Predictions`."""

    def __get__(self, instance: object, owner: type | None = None, /) -> Predictions[P]: ...


def column_method(f: Callable[Concatenate[Any, Any, P], Any]) -> ColumnMethod[P]:
    """``f`` itself (a method), typed as :class:`ColumnMethod`."""
    return cast("ColumnMethod[P]", f)


class Curve(Protocol[P]):
    """A function of horizons ``t`` (positional) and settings, shaped like ``t``: a float for a
    number, a pandas Series on ``t``'s index for a pandas Series, else a numpy array (lists,
    numpy arrays, polars Series and Arrow arrays alike)."""

    # fmt: off
    @overload
    def __call__(self, t: Real, /, *args: P.args, **kwargs: P.kwargs) -> float: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, t: pd.Series[Any], /, *args: P.args, **kwargs: P.kwargs) -> pd.Series[float]: ...  # type: ignore[overload-overlap, unused-ignore]
    @overload
    def __call__(self, t: npt.ArrayLike | ArrowArrayExportable, /, *args: P.args, **kwargs: P.kwargs) -> npt.NDArray[np.float64]: ...
    # fmt: on


class CurveMethod(Protocol[P]):
    """A method of a fitted model of horizons ``t``: read from a model, a :class:`Curve`."""

    def __get__(self, instance: object, owner: type | None = None, /) -> Curve[P]: ...


def curve_method(f: Callable[Concatenate[Any, Any, P], Any]) -> CurveMethod[P]:
    """``f`` itself (a method), typed as :class:`CurveMethod`."""
    return cast("CurveMethod[P]", f)
