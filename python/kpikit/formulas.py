"""Elementwise business formulas: ratios, margins, growth, SaaS unit economics, sales and marketing rates.

Every argument may be a column — a pandas Series (numpy or Arrow dtype), a polars Series, a
pyarrow Array or ChunkedArray, a 1-D numpy array or a list — or a number (``int``, ``float``
or ``None``). Numbers broadcast against columns. Any integer or float type works.

Pairing rows: pandas Series are aligned on their index, as pandas arithmetic aligns them
(``a / b``): when their indexes differ, the result's index is the outer join of them all, in
the order pandas gives it, and a label missing from one Series makes that row missing. Other
columns (polars, Arrow, numpy, lists) have no index and are paired by position; they must have
equal lengths. Mixing the two is refused with a :class:`~kpikit.ParameterError` when the pandas
Series' indexes differ (which Series' rows a position belongs to would be a guess): align the
Series first, or pass ``.to_numpy()``. Parameter names: docs/vocabulary.md#formulas.

The computation runs in Rust over Arrow, reading pandas, polars and pyarrow float64 data in
place without copying. The result follows the caller:

* any pandas Series in the arguments → pandas Series (float64, NaN for missing) with the
  (aligned) index of the pandas arguments;
* otherwise a polars Series → polars Series (Float64, null for missing);
* otherwise a pyarrow Array or ChunkedArray → pyarrow Array (float64, null);
* otherwise a numpy array → numpy float64 array (NaN);
* otherwise a list → list of float / None;
* numbers only → a float, or None when missing.

Missing values: NaN and null are the same "missing" and propagate. A zero or missing
denominator gives a missing result, never ``inf`` or an exception; so does any result that
would not be a finite number. Rates are fractions (0.25, not 25).

Errors: columns of different lengths raise :class:`~kpikit.InputError` naming both parameters;
a non-numeric column (strings…) raises :class:`~kpikit.SchemaError` (also a ``TypeError``).

Examples
--------
pandas pairs rows by label, so do the formulas: the visits of 2 March have no conversions
row, so their rate is missing, exactly as ``conversions / visits`` in pandas.

>>> import pandas as pd
>>> from kpikit import formulas
>>> conversions = pd.Series([5, 8], index=["2026-03-01", "2026-03-03"])
>>> visits = pd.Series([100, 50, 200], index=["2026-03-01", "2026-03-02", "2026-03-03"])
>>> formulas.conversion_rate(conversions, visits)
2026-03-01    0.05
2026-03-02     NaN
2026-03-03    0.04
Name: conversion_rate, dtype: float64
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, overload

from . import _kpikit
from ._typing import (
    ArrowOperand,
    FormulaResult,
    ListOperand,
    Number,
    NumpyOperand,
    Operand,
    PolarsOperand,
    formula2,
    formula3,
    formula4,
    margin_formula,
)
from .exceptions import ParameterError, SchemaError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    import polars as pl
    import pyarrow as pa

__all__ = [
    "ratio",
    "conversion_rate",
    "growth_rate",
    "cagr",
    "roi",
    "net_profit_margin",
    "gross_margin",
    "operating_margin",
    "ebit",
    "roce",
    "inventory_turnover",
    "sales_per_square_foot",
    "utilization",
    "effective_billable_rate",
    "click_through_rate",
    "open_rate",
    "cart_abandonment_rate",
    "average",
    "arpa",
    "arpu",
    "cac",
    "ltv",
    "ltv_cac_ratio",
    "cac_payback_months",
    "burn_multiple",
    "capital_efficiency",
    "revenue_per_lead",
    "pipeline_velocity",
    "quota_attainment",
    "dau_mau",
    "share",
    "churn_rate",
    "retention_rate",
    "engagement_rate",
    "share_ratio",
    "time_on_site",
    "market_penetration_rate",
    "employee_turnover_rate",
    "employee_engagement_score",
    "project_completion_rate",
    "uptime",
    "defect_rate",
    "production_rate",
    "sales_efficiency",
    "capital_expenditure",
    "roll_forward",
    "revenue_per_rep",
    "net_profit",
    "revenue",
    "upsell_rate",
]


def __dir__() -> list[str]:
    # The namespace shows the public API only; imports are not part of it (docs/vocabulary.md).
    return sorted(__all__)


# Output kinds in order of precedence: the first kind present among the arguments wins.
_KINDS = ("pandas", "polars", "arrow", "numpy", "list", "scalar")


def _kind(value: Any) -> str:
    """Which library an argument comes from (decides the output type)."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(value, pd.Series):
        return "pandas"
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(value, pl.Series):
        return "polars"
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(value, (pa.Array, pa.ChunkedArray)):
        return "arrow"
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.ndarray):
        return "numpy"
    if isinstance(value, (list, tuple)):
        return "list"
    if hasattr(value, "__arrow_c_array__") or hasattr(value, "__arrow_c_stream__"):
        return "arrow"
    return "scalar"


def _operand(name: str, value: Any, kind: str) -> Any:
    """An argument as the extension takes it: an Arrow-exporting column, a float or None.

    pandas (3.x), polars and pyarrow objects export Arrow themselves, so nothing is copied;
    numpy arrays and lists go through ``pa.array`` (zero-copy for contiguous numeric numpy).
    """
    if kind == "scalar":
        if value is None:
            return None
        if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
            raise SchemaError(f"parameter {name!r} must be numeric, got {type(value).__name__}")
        return float(value)
    if kind == "pandas" and not hasattr(value, "__arrow_c_stream__"):
        import pyarrow as pa  # pandas < 3 has no PyCapsule export on Series

        return pa.Array.from_pandas(value)
    if kind in ("numpy", "list"):
        import numpy as np
        import pyarrow as pa

        if kind == "numpy":
            if value.ndim != 1:
                raise SchemaError(f"parameter {name!r} must be one-dimensional, got {value.ndim} dimensions")
            value = np.ascontiguousarray(value)
        try:
            return pa.array(value)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise SchemaError(f"parameter {name!r} must be numeric: {e}") from None
    return value


def _wrap(result: Any, kind: str, name: str, like: Any) -> Any:
    """The extension's float64 Arrow result as the caller's type."""
    if kind == "scalar":
        return result
    import pyarrow as pa

    arr = pa.array(result)
    if kind == "arrow":
        return arr
    if kind == "list":
        return arr.to_pylist()
    if kind == "polars":
        import polars as pl

        return pl.Series(name, arr)
    values = arr.to_numpy(zero_copy_only=False, writable=True)
    if kind == "numpy":
        return values
    import pandas as pd

    return pd.Series(values, index=like.index, name=name, copy=False)


def _align(args: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """The pandas Series among ``args`` aligned on their index as pandas arithmetic aligns them
    (outer join); ``args`` unchanged when they share one index."""
    series = [p for p, k in kinds.items() if k == "pandas"]
    first = args[series[0]].index
    if all(args[p].index.equals(first) for p in series[1:]):
        return args
    positional = [p for p, k in kinds.items() if k not in ("pandas", "scalar")]
    if positional:
        raise ParameterError(
            f"parameter {positional[0]!r} is paired by position, but the pandas Series "
            f"{', '.join(repr(p) for p in series)} have different indexes and are aligned on them; "
            "align the Series first (Series.align) or pass every column without an index (.to_numpy())"
        )
    # pandas' own join decides the labels and their order, so the result is the index that
    # `a / b` would have.
    joined = args[series[0]]
    for p in series[1:]:
        joined, _ = joined.align(args[p], join="outer")
    index = joined.index
    aligned = dict(args)
    for p in series:
        try:
            aligned[p] = args[p].reindex(index)
        except ValueError as e:  # repeated labels cannot be matched one to one
            raise ParameterError(
                f"parameter {p!r}: its index repeats labels and differs from the other Series' index, "
                f"so rows cannot be paired by label ({e})"
            ) from None
    return aligned


def _evaluate(name: str, **args: Any) -> Any:
    """Run formula ``name`` in Rust on keyword arguments given in its parameter order."""
    periods = args.get("periods")
    if name == "growth_rate" and (isinstance(periods, bool) or not isinstance(periods, int) or periods < 1):
        raise ParameterError(f'parameter "periods": must be a whole number of periods, at least 1, got {periods!r}')
    kinds = {p: _kind(v) for p, v in args.items()}
    if sum(k == "pandas" for k in kinds.values()) > 1:
        args = _align(args, kinds)
    out = min(kinds.values(), key=_KINDS.index)
    like = next((args[p] for p, k in kinds.items() if k == "pandas"), None)
    operands = [_operand(p, v, kinds[p]) for p, v in args.items()]
    return _wrap(_kpikit.formula(name, operands), out, name, like)


@formula2
def ratio(numerator: Operand, denominator: Operand) -> Any:
    """Any ratio of two quantities.

    ``ratio = numerator / denominator``, in numerator units per denominator unit.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    numerator, denominator
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 3 / 4 = 0.75; 1 / 0 has no value
    >>> from kpikit import formulas
    >>> formulas.ratio([3, 1], [4, 0])
    [0.75, None]
    """
    return _evaluate("ratio", numerator=numerator, denominator=denominator)


@formula2
def conversion_rate(conversions: Operand, total: Operand) -> Any:
    """Share of visitors, leads or trials that converted.

    ``conversion_rate = conversions / total``, in a fraction (0.25 is 25 %).

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    conversions, total
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 25 conversions out of 1,000 visits: 25 / 1000 = 0.025
    >>> from kpikit import formulas
    >>> formulas.conversion_rate(25, 1000)
    0.025
    """
    return _evaluate("conversion_rate", conversions=conversions, total=total)


# fmt: off
# The overloads of formula2 and its siblings (kpikit._typing), for the one formula with a setting.
@overload
def growth_rate(values: Number, /, periods: int = 1) -> float | None: ...  # type: ignore[overload-overlap, unused-ignore]
@overload
def growth_rate(values: ListOperand, /, periods: int = 1) -> list[float | None]: ...  # type: ignore[overload-overlap, unused-ignore]
@overload
def growth_rate(values: NumpyOperand, /, periods: int = 1) -> npt.NDArray[np.float64]: ...  # type: ignore[overload-overlap, unused-ignore]
@overload
def growth_rate(values: ArrowOperand, /, periods: int = 1) -> pa.DoubleArray: ...  # type: ignore[overload-overlap, unused-ignore]
@overload
def growth_rate(values: PolarsOperand, /, periods: int = 1) -> pl.Series: ...  # type: ignore[overload-overlap, unused-ignore]
@overload
def growth_rate(values: Operand, /, periods: int = 1) -> pd.Series[float]: ...
@overload
def growth_rate(*, values: Operand, periods: int = 1) -> FormulaResult: ...
# fmt: on
def growth_rate(values: Operand, periods: int = 1) -> Any:
    """Period-over-period growth of one series.

    ``growth_rate = (x[t] − x[t−periods]) / |x[t−periods]|``, in a fraction (0.1 is 10 % growth).

    The first ``periods`` values are missing, and so is every value whose earlier value is zero or missing. ``periods`` must be a whole number ≥ 1, otherwise :class:`~kpikit.ParameterError`. Never inf or an error.

    Parameters
    ----------
    values, periods
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # (110 − 100) / 100 = 0.1; (99 − 110) / 110 = −0.1
    >>> import pandas as pd
    >>> from kpikit import formulas
    >>> formulas.growth_rate(pd.Series([100, 110, 99]))
    0     NaN
    1     0.1
    2    -0.1
    Name: growth_rate, dtype: float64
    """
    return _evaluate("growth_rate", values=values, periods=periods)


@formula3
def cagr(start_value: Operand, end_value: Operand, years: Operand) -> Any:
    """Compound annual growth rate.

    ``cagr = (end_value / start_value) ** (1 / years) − 1``, in a fraction per year.

    Missing when ``start_value`` ≤ 0, ``end_value`` < 0 or ``years`` ≤ 0 (no meaningful compound rate). Never inf or an error.

    Parameters
    ----------
    start_value, end_value, years
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 100 → 121 in two years: sqrt(1.21) − 1 = 0.1
    >>> from kpikit import formulas
    >>> round(formulas.cagr(100, 121, 2), 10)
    0.1
    """
    return _evaluate("cagr", start_value=start_value, end_value=end_value, years=years)


@formula2
def roi(gain: Operand, cost: Operand) -> Any:
    """Return on investment; ``gain`` is the total return from the investment.

    ``roi = (gain − cost) / cost``, in a fraction (0.5 is 50 %).

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    gain, cost
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # (150 − 100) / 100 = 0.5
    >>> from kpikit import formulas
    >>> formulas.roi(150, 100)
    0.5
    """
    return _evaluate("roi", gain=gain, cost=cost)


@formula2
def net_profit_margin(net_profit: Operand, revenue: Operand) -> Any:
    """Net profit margin.

    ``net_profit_margin = net_profit / revenue``, in a fraction of revenue.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    net_profit, revenue
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 20 / 200 = 0.1
    >>> from kpikit import formulas
    >>> formulas.net_profit_margin([20, 5], [200, 0])
    [0.1, None]
    """
    return _evaluate("net_profit_margin", net_profit=net_profit, revenue=revenue)


@formula2
def gross_margin(revenue: Operand, cogs: Operand) -> Any:
    """Gross margin (cogs: cost of goods sold).

    ``gross_margin = (revenue − cogs) / revenue``, in a fraction of revenue.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    revenue, cogs
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # (200 − 150) / 200 = 0.25
    >>> from kpikit import formulas
    >>> formulas.gross_margin(200, 150)
    0.25
    """
    return _evaluate("gross_margin", revenue=revenue, cogs=cogs)


@formula2
def operating_margin(operating_income: Operand, revenue: Operand) -> Any:
    """Operating margin.

    ``operating_margin = operating_income / revenue``, in a fraction of revenue.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    operating_income, revenue
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 30 / 200 = 0.15
    >>> from kpikit import formulas
    >>> formulas.operating_margin(30, 200)
    0.15
    """
    return _evaluate("operating_margin", operating_income=operating_income, revenue=revenue)


@formula3
def ebit(revenue: Operand, cogs: Operand, operating_expenses: Operand) -> Any:
    """Earnings before interest and taxes.

    ``ebit = revenue − cogs − operating_expenses``, in currency (the inputs' unit).

    There is no denominator; a missing input gives a missing result.

    Parameters
    ----------
    revenue, cogs, operating_expenses
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 1000 − 600 − 250 = 150
    >>> from kpikit import formulas
    >>> formulas.ebit(1000, 600, 250)
    150.0
    """
    return _evaluate("ebit", revenue=revenue, cogs=cogs, operating_expenses=operating_expenses)


@formula3
def roce(ebit: Operand, total_assets: Operand, current_liabilities: Operand) -> Any:
    """Return on capital employed.

    ``roce = ebit / (total_assets − current_liabilities)``, in a fraction per period.

    Capital employed (``total_assets − current_liabilities``) of zero gives a missing value. Never inf or an error.

    Parameters
    ----------
    ebit, total_assets, current_liabilities
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 150 / (1000 − 250) = 0.2
    >>> from kpikit import formulas
    >>> formulas.roce(150, 1000, 250)
    0.2
    """
    return _evaluate("roce", ebit=ebit, total_assets=total_assets, current_liabilities=current_liabilities)


@formula2
def inventory_turnover(cogs: Operand, average_inventory: Operand) -> Any:
    """Inventory turnover.

    ``inventory_turnover = cogs / average_inventory``, in turns per period.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    cogs, average_inventory
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 600 / 150 = 4 turns
    >>> from kpikit import formulas
    >>> formulas.inventory_turnover(600, 150)
    4.0
    """
    return _evaluate("inventory_turnover", cogs=cogs, average_inventory=average_inventory)


@formula2
def sales_per_square_foot(sales: Operand, square_feet: Operand) -> Any:
    """Retail sales per square foot of selling space.

    ``sales_per_square_foot = sales / square_feet``, in currency per square foot.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    sales, square_feet
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 50,000 / 2,000 = 25
    >>> from kpikit import formulas
    >>> formulas.sales_per_square_foot(50_000, 2_000)
    25.0
    """
    return _evaluate("sales_per_square_foot", sales=sales, square_feet=square_feet)


@formula2
def utilization(billable_hours: Operand, available_hours: Operand) -> Any:
    """Utilization rate of billable staff.

    ``utilization = billable_hours / available_hours``, in a fraction of available time.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    billable_hours, available_hours
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 30 / 40 = 0.75
    >>> from kpikit import formulas
    >>> formulas.utilization(30, 40)
    0.75
    """
    return _evaluate("utilization", billable_hours=billable_hours, available_hours=available_hours)


@formula2
def effective_billable_rate(revenue: Operand, hours_worked: Operand) -> Any:
    """Revenue earned per hour actually worked.

    ``effective_billable_rate = revenue / hours_worked``, in currency per hour.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    revenue, hours_worked
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 9,000 / 60 = 150
    >>> from kpikit import formulas
    >>> formulas.effective_billable_rate(9_000, 60)
    150.0
    """
    return _evaluate("effective_billable_rate", revenue=revenue, hours_worked=hours_worked)


@formula2
def click_through_rate(clicks: Operand, impressions: Operand) -> Any:
    """Click-through rate.

    ``click_through_rate = clicks / impressions``, in a fraction of impressions.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    clicks, impressions
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 50 / 2,000 = 0.025
    >>> import numpy as np
    >>> from kpikit import formulas
    >>> formulas.click_through_rate(np.array([50, 0]), np.array([2_000, 0]))
    array([0.025,   nan])
    """
    return _evaluate("click_through_rate", clicks=clicks, impressions=impressions)


@formula2
def open_rate(opens: Operand, delivered: Operand) -> Any:
    """E-mail open rate.

    ``open_rate = opens / delivered``, in a fraction of delivered e-mails.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    opens, delivered
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 180 / 900 = 0.2
    >>> from kpikit import formulas
    >>> formulas.open_rate(180, 900)
    0.2
    """
    return _evaluate("open_rate", opens=opens, delivered=delivered)


@formula2
def cart_abandonment_rate(carts: Operand, purchases: Operand) -> Any:
    """Share of shopping carts not turned into a purchase.

    ``cart_abandonment_rate = 1 − purchases / carts``, in a fraction of carts.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    carts, purchases
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 1 − 30 / 120 = 0.75
    >>> from kpikit import formulas
    >>> formulas.cart_abandonment_rate(120, 30)
    0.75
    """
    return _evaluate("cart_abandonment_rate", carts=carts, purchases=purchases)


@formula2
def average(total: Operand, count: Operand) -> Any:
    """Average of a total over a count (order value, deal size…).

    ``average = total / count``, in the total's unit per item.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    total, count
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 90 / 4 = 22.5
    >>> from kpikit import formulas
    >>> formulas.average(90, 4)
    22.5
    """
    return _evaluate("average", total=total, count=count)


@formula2
def arpa(mrr: Operand, accounts: Operand) -> Any:
    """Average revenue per account.

    ``arpa = mrr / accounts``, in currency per account per period.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    mrr, accounts
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 50,000 / 250 = 200
    >>> from kpikit import formulas
    >>> formulas.arpa(50_000, 250)
    200.0
    """
    return _evaluate("arpa", mrr=mrr, accounts=accounts)


@formula2
def arpu(revenue: Operand, users: Operand) -> Any:
    """Average revenue per user.

    ``arpu = revenue / users``, in currency per user per period.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    revenue, users
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 12,000 / 400 = 30
    >>> from kpikit import formulas
    >>> formulas.arpu(12_000, 400)
    30.0
    """
    return _evaluate("arpu", revenue=revenue, users=users)


@formula2
def cac(spend: Operand, new_customers: Operand) -> Any:
    """Customer acquisition cost.

    ``cac = sales and marketing spend / new customers``, in currency per customer.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    spend, new_customers
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 30,000 / 60 = 500
    >>> from kpikit import formulas
    >>> formulas.cac(30_000, 60)
    500.0
    """
    return _evaluate("cac", spend=spend, new_customers=new_customers)


@margin_formula
def ltv(arpa: Operand, churn_rate: Operand, gross_margin: Operand = 1.0) -> Any:
    """Customer lifetime value.

    ``ltv = arpa × gross_margin / churn_rate``, in currency per customer (arpa and churn_rate over the same period).

    A zero or missing ``churn_rate`` gives a missing value. Never inf or an error.

    Parameters
    ----------
    arpa, churn_rate, gross_margin
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 200 × 0.8 / 0.02 = 8,000
    >>> from kpikit import formulas
    >>> formulas.ltv(200, 0.02, gross_margin=0.8)
    8000.0
    """
    return _evaluate("ltv", arpa=arpa, churn_rate=churn_rate, gross_margin=gross_margin)


@formula2
def ltv_cac_ratio(ltv: Operand, cac: Operand) -> Any:
    """LTV to CAC ratio.

    ``ltv_cac_ratio = ltv / cac``, in a ratio (3.0 means LTV is three times CAC).

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    ltv, cac
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 8,000 / 2,000 = 4
    >>> from kpikit import formulas
    >>> formulas.ltv_cac_ratio(8_000, 2_000)
    4.0
    """
    return _evaluate("ltv_cac_ratio", ltv=ltv, cac=cac)


@margin_formula
def cac_payback_months(cac: Operand, arpa: Operand, gross_margin: Operand = 1.0) -> Any:
    """Months of gross profit needed to earn back CAC.

    ``cac_payback_months = cac / (arpa × gross_margin)``, in months (with monthly arpa).

    A zero or missing ``arpa × gross_margin`` gives a missing value. Never inf or an error.

    Parameters
    ----------
    cac, arpa, gross_margin
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 2,000 / (200 × 0.8) = 12.5
    >>> from kpikit import formulas
    >>> formulas.cac_payback_months(2_000, 200, gross_margin=0.8)
    12.5
    """
    return _evaluate("cac_payback_months", cac=cac, arpa=arpa, gross_margin=gross_margin)


@formula2
def burn_multiple(net_burn: Operand, net_new_arr: Operand) -> Any:
    """Burn multiple (David Sacks, Craft Ventures): cash burned per unit of net new ARR.

    ``burn_multiple = net_burn / net_new_arr``, a ratio (below 1 is excellent, above 2 a
    concern). Missing unless ``net_new_arr > 0``: the ratio means nothing when ARR did not grow.
    ``net_burn`` is cash out minus cash in over the period (negative when cash came in).
    ``kpikit.revenue_metrics(..., spend_net_burn=...)`` computes it per period from
    subscriptions (docs/conventions.md#sales-and-capital-efficiency).

    Parameters
    ----------
    net_burn, net_new_arr
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 1,500,000 burned while ARR grew by 1,000,000: 1.5
    >>> from kpikit import formulas
    >>> formulas.burn_multiple(1_500_000, 1_000_000)
    1.5
    >>> formulas.burn_multiple(500_000, -20_000) is None
    True
    """
    return _evaluate("burn_multiple", net_burn=net_burn, net_new_arr=net_new_arr)


@formula2
def capital_efficiency(net_new_arr: Operand, net_burn: Operand) -> Any:
    """Capital efficiency: net new ARR per unit of net burn (Bessemer's efficiency score).

    ``capital_efficiency = net_new_arr / net_burn``, a ratio, the inverse of
    :func:`burn_multiple`. Missing unless ``net_burn > 0`` (nothing burned: no ratio).
    ``kpikit.revenue_metrics(..., spend_net_burn=...)`` computes it per period from
    subscriptions (docs/conventions.md#sales-and-capital-efficiency).

    Parameters
    ----------
    net_new_arr, net_burn
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 1,000,000 of net new ARR for 1,600,000 burned: 0.625
    >>> from kpikit import formulas
    >>> formulas.capital_efficiency(1_000_000, 1_600_000)
    0.625
    """
    return _evaluate("capital_efficiency", net_new_arr=net_new_arr, net_burn=net_burn)


@formula2
def revenue_per_lead(revenue: Operand, leads: Operand) -> Any:
    """Revenue per lead.

    ``revenue_per_lead = revenue / leads``, in currency per lead.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    revenue, leads
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 10,000 / 400 = 25
    >>> from kpikit import formulas
    >>> formulas.revenue_per_lead(10_000, 400)
    25.0
    """
    return _evaluate("revenue_per_lead", revenue=revenue, leads=leads)


@formula4
def pipeline_velocity(opportunities: Operand, average_deal_size: Operand, win_rate: Operand, sales_cycle_days: Operand) -> Any:
    """Sales pipeline velocity.

    ``pipeline_velocity = opportunities × average_deal_size × win_rate / sales_cycle_days``, in currency per day.

    A zero or missing ``sales_cycle_days`` gives a missing value. Never inf or an error.

    Parameters
    ----------
    opportunities, average_deal_size, win_rate, sales_cycle_days
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 40 × 25,000 × 0.25 / 90 = 2,777.78
    >>> from kpikit import formulas
    >>> round(formulas.pipeline_velocity(40, 25_000, 0.25, 90), 2)
    2777.78
    """
    return _evaluate(
        "pipeline_velocity",
        opportunities=opportunities,
        average_deal_size=average_deal_size,
        win_rate=win_rate,
        sales_cycle_days=sales_cycle_days,
    )


@formula2
def quota_attainment(actual: Operand, quota: Operand) -> Any:
    """Sales quota attainment.

    ``quota_attainment = actual / quota``, in a fraction of quota (1.0 is 100 %).

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    actual, quota
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 90,000 / 120,000 = 0.75
    >>> import polars as pl
    >>> from kpikit import formulas
    >>> formulas.quota_attainment(pl.Series([90_000, 60_000]), 120_000).to_list()
    [0.75, 0.5]
    """
    return _evaluate("quota_attainment", actual=actual, quota=quota)


@formula2
def dau_mau(dau: Operand, mau: Operand) -> Any:
    """Stickiness: daily over monthly active users.

    ``dau_mau = dau / mau``, in a fraction.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    dau, mau
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 1,500 / 5,000 = 0.3
    >>> from kpikit import formulas
    >>> formulas.dau_mau(1_500, 5_000)
    0.3
    """
    return _evaluate("dau_mau", dau=dau, mau=mau)


@formula2
def share(part: Operand, total: Operand) -> Any:
    """Share of a part in a total (market share, revenue mix…).

    ``share = part / total``, in a fraction of the total.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    part, total
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 30 / 120 = 0.25
    >>> import pyarrow as pa
    >>> from kpikit import formulas
    >>> formulas.share(pa.array([30, 60]), 120).to_pylist()
    [0.25, 0.5]
    """
    return _evaluate("share", part=part, total=total)


@formula2
def churn_rate(lost: Operand, starting: Operand) -> Any:
    """Churn rate: customers (or revenue) lost over the period.

    ``churn_rate = lost / starting``, in a fraction of the starting count per period.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    lost, starting
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 5 / 200 = 0.025
    >>> from kpikit import formulas
    >>> formulas.churn_rate(5, 200)
    0.025
    """
    return _evaluate("churn_rate", lost=lost, starting=starting)


@formula3
def retention_rate(starting: Operand, ending: Operand, new: Operand) -> Any:
    """Customer retention rate.

    ``retention_rate = (ending − new) / starting``, in a fraction of the starting count.

    A zero or missing ``starting`` gives a missing value. Never inf or an error.

    Parameters
    ----------
    starting, ending, new
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # (190 − 20) / 200 = 0.85
    >>> from kpikit import formulas
    >>> formulas.retention_rate(200, 190, 20)
    0.85
    """
    return _evaluate("retention_rate", starting=starting, ending=ending, new=new)


@formula2
def engagement_rate(engagements: Operand, audience: Operand) -> Any:
    """Social media engagement rate: interactions with posts per person reached.

    ``engagement_rate = engagements / audience``, in a fraction (likes, comments, shares and clicks per person reached, or per follower or impression: say which in the KPI's name).

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    engagements, audience
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 450 interactions from 15,000 people reached: 450 / 15000 = 0.03
    >>> from kpikit import formulas
    >>> formulas.engagement_rate(450, 15_000)
    0.03
    """
    return _evaluate("engagement_rate", engagements=engagements, audience=audience)


@formula2
def share_ratio(shares: Operand, views: Operand) -> Any:
    """Share ratio: how often content is passed on, per view.

    ``share_ratio = shares / views``, in shares per view.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    shares, views
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 120 shares of 4,800 views: 120 / 4800 = 0.025
    >>> from kpikit import formulas
    >>> formulas.share_ratio([120, 30], [4_800, 0])
    [0.025, None]
    """
    return _evaluate("share_ratio", shares=shares, views=views)


@formula2
def time_on_site(session_seconds: Operand, sessions: Operand) -> Any:
    """Time on site: the average length of a visit.

    ``time_on_site = session_seconds / sessions``, in seconds per session.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    session_seconds, sessions
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 9,000 seconds over 60 sessions: 150 seconds, two and a half minutes
    >>> from kpikit import formulas
    >>> formulas.time_on_site(9_000, 60)
    150.0
    """
    return _evaluate("time_on_site", session_seconds=session_seconds, sessions=sessions)


@formula2
def market_penetration_rate(customers: Operand, market_size: Operand) -> Any:
    """Market penetration rate: customers as a share of the target market.

    ``market_penetration_rate = customers / market_size``, in a fraction of the potential customers.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    customers, market_size
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 2,500 customers of 50,000 potential ones: 0.05
    >>> from kpikit import formulas
    >>> formulas.market_penetration_rate(2_500, 50_000)
    0.05
    """
    return _evaluate("market_penetration_rate", customers=customers, market_size=market_size)


@formula2
def employee_turnover_rate(separations: Operand, average_headcount: Operand) -> Any:
    """Employee turnover rate: leavers per average employee over the period.

    ``employee_turnover_rate = separations / average_headcount``, in a fraction per period (average headcount: usually the mean of the start and end headcounts).

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    separations, average_headcount
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 6 leavers with 80 employees on average: 6 / 80 = 0.075
    >>> from kpikit import formulas
    >>> formulas.employee_turnover_rate(6, 80)
    0.075
    """
    return _evaluate("employee_turnover_rate", separations=separations, average_headcount=average_headcount)


@formula2
def employee_engagement_score(favourable: Operand, answers: Operand) -> Any:
    """Employee engagement score: the share of favourable answers to an engagement survey.

    ``employee_engagement_score = favourable / answers``, in a fraction (favourable: agree or strongly agree).

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    favourable, answers
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 156 favourable answers of 240: 0.65
    >>> from kpikit import formulas
    >>> formulas.employee_engagement_score(156, 240)
    0.65
    """
    return _evaluate("employee_engagement_score", favourable=favourable, answers=answers)


@formula2
def project_completion_rate(completed: Operand, projects: Operand) -> Any:
    """Project completion rate: projects completed of those due.

    ``project_completion_rate = completed / projects``, in a fraction of the projects due in the period.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    completed, projects
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 18 of 24 projects due were completed: 0.75
    >>> from kpikit import formulas
    >>> formulas.project_completion_rate(18, 24)
    0.75
    """
    return _evaluate("project_completion_rate", completed=completed, projects=projects)


@formula2
def uptime(downtime: Operand, total_time: Operand) -> Any:
    """Uptime (availability): the share of the time a service was up.

    ``uptime = 1 − downtime / total_time``, in a fraction of the time (both in one unit).

    A zero or missing ``total_time`` gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    downtime, total_time
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 43.2 minutes down in a 30-day month (43,200 minutes): 1 − 0.001 = 0.999
    >>> from kpikit import formulas
    >>> round(formulas.uptime(43.2, 43_200), 10)
    0.999
    """
    return _evaluate("uptime", downtime=downtime, total_time=total_time)


@formula2
def defect_rate(defects: Operand, units: Operand) -> Any:
    """Defect rate: the share of units found defective.

    ``defect_rate = defects / units``, in a fraction of the units produced or inspected.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    defects, units
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 12 defective units of 4,800: 0.0025
    >>> from kpikit import formulas
    >>> formulas.defect_rate(12, 4_800)
    0.0025
    """
    return _evaluate("defect_rate", defects=defects, units=units)


@formula2
def production_rate(units: Operand, hours: Operand) -> Any:
    """Production rate: units produced per hour.

    ``production_rate = units / hours``, in units per hour of production.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    units, hours
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 1,440 units in an 8-hour shift: 180 per hour
    >>> from kpikit import formulas
    >>> formulas.production_rate(1_440, 8)
    180.0
    """
    return _evaluate("production_rate", units=units, hours=hours)


@formula2
def sales_efficiency(new_arr: Operand, sales_marketing_spend: Operand) -> Any:
    """Sales efficiency: new annual recurring revenue per unit of sales and marketing spend.

    ``sales_efficiency = new_arr / sales_marketing_spend``, a ratio (new ARR of the period, spend of the same period).

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    new_arr, sales_marketing_spend
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 600,000 of new ARR for 800,000 spent: 0.75
    >>> from kpikit import formulas
    >>> formulas.sales_efficiency(600_000, 800_000)
    0.75
    """
    return _evaluate("sales_efficiency", new_arr=new_arr, sales_marketing_spend=sales_marketing_spend)


@formula3
def capital_expenditure(ppe_end: Operand, ppe_start: Operand, depreciation: Operand) -> Any:
    """Capital expenditure (capex) from two balance sheets.

    ``capital_expenditure = ppe_end − ppe_start + depreciation``, in currency (PP&E: net property, plant and equipment; depreciation of the period between them).

    A missing input gives a missing value (null / NaN / None), never an error.

    Parameters
    ----------
    ppe_end, ppe_start, depreciation
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # PP&E 1,000 → 1,300 with 80 depreciated in between: 1300 − 1000 + 80 = 380
    >>> from kpikit import formulas
    >>> formulas.capital_expenditure(1_300, 1_000, 80)
    380.0
    """
    return _evaluate("capital_expenditure", ppe_end=ppe_end, ppe_start=ppe_start, depreciation=depreciation)


@formula3
def roll_forward(starting: Operand, added: Operand, removed: Operand) -> Any:
    """A stock rolled forward over a period (list subscribers, page likes, backlog).

    ``roll_forward = starting + added − removed``, in the stock's unit at the period end.

    A missing input gives a missing value (null / NaN / None), never an error.

    Parameters
    ----------
    starting, added, removed
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 5,000 subscribers, 400 joined, 150 left: 5,250
    >>> from kpikit import formulas
    >>> formulas.roll_forward(5_000, 400, 150)
    5250.0
    """
    return _evaluate("roll_forward", starting=starting, added=added, removed=removed)


@formula2
def revenue_per_rep(revenue: Operand, reps: Operand) -> Any:
    """Revenue per sales rep.

    ``revenue_per_rep = revenue / reps``, in currency per sales representative.

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    revenue, reps
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 1,200,000 closed by 8 reps: 150,000 each
    >>> from kpikit import formulas
    >>> formulas.revenue_per_rep(1_200_000, 8)
    150000.0
    """
    return _evaluate("revenue_per_rep", revenue=revenue, reps=reps)


@formula2
def net_profit(revenue: Operand, expenses: Operand) -> Any:
    """Net profit: revenue less every expense.

    ``net_profit = revenue − expenses``, in currency (expenses: cost of sales, operating expenses, interest and taxes).

    A missing input gives a missing value (null / NaN / None), never an error.

    Parameters
    ----------
    revenue, expenses
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 500,000 − 420,000
    >>> from kpikit import formulas
    >>> formulas.net_profit(500_000, 420_000)
    80000.0
    """
    return _evaluate("net_profit", revenue=revenue, expenses=expenses)


@formula2
def revenue(units_sold: Operand, average_price: Operand) -> Any:
    """Revenue from units sold and their average selling price.

    ``revenue = units_sold × average_price``, in currency.

    A missing input gives a missing value (null / NaN / None), never an error.

    Parameters
    ----------
    units_sold, average_price
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 320 units at 49.50 on average
    >>> from kpikit import formulas
    >>> formulas.revenue(320, 49.5)
    15840.0
    """
    return _evaluate("revenue", units_sold=units_sold, average_price=average_price)


@formula2
def upsell_rate(upsold_customers: Operand, customers: Operand) -> Any:
    """Upsell rate: customers who bought more, of those at the start.

    ``upsell_rate = upsold_customers / customers``, in a fraction (with :func:`kpikit.mrr_movements`: expanded_customers / starting_customers).

    A zero or missing denominator gives a missing value (null / NaN / None), never inf or an error.

    Parameters
    ----------
    upsold_customers, customers
        Each a column (pandas or polars Series, pyarrow Array or ChunkedArray, numpy array,
        list) or a number; see :mod:`kpikit.formulas`.

    Returns
    -------
    The caller's column type (float64) or, for numbers only, a float or None.

    Examples
    --------
    # 9 of 150 customers expanded: 0.06
    >>> from kpikit import formulas
    >>> formulas.upsell_rate(9, 150)
    0.06
    """
    return _evaluate("upsell_rate", upsold_customers=upsold_customers, customers=customers)
