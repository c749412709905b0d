"""Customer lifetime value: RFM summaries of transaction logs and the buy-till-you-die models.

The models are fitted by maximum likelihood in the Rust core (quasi-Newton on log-parameters,
identical (frequency, recency, T) rows collapsed with weights); the classes here only hold the
fitted parameters and call the core for predictions. Equations: docs/conventions.md#btyd-models
and the papers cited on each class.

Every function and method that reads customers takes a table first (positional): a pandas or
polars DataFrame, a pyarrow Table or a dict of arrays, with the columns :func:`rfm_summary`
writes (``frequency``, ``recency``, ``T``, ``monetary_value``). Everything else is a keyword
(docs/vocabulary.md#customer-lifetime-value).
"""

from __future__ import annotations

import abc
import math
import sys
from typing import TYPE_CHECKING, Any, Self, overload

import numpy as np

from . import _kpikit
from ._analysis import Analysis, choice, freq as check_freq, is_dask, output_of, run
from ._convert import table_input, table_output, time_zone, warn_skipped
from ._settings import checked, moment
from ._typing import Output, Real, TableLike, column_function, column_method, curve_method, table_function
from .exceptions import KpikitError, ParameterError, SchemaError

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

__all__ = [
    "rfm_summary",
    "rfm_split",
    "BetaGeo",
    "ParetoNBD",
    "GammaGamma",
    "ShiftedBetaGeo",
    "BetaGeoBetaBinom",
    "customer_lifetime_value",
    "expected_cumulative_transactions",
    "alive_path",
    "calibration_vs_holdout",
]


def __dir__() -> list[str]:
    # The namespace shows the public API only; imports are not part of it (docs/vocabulary.md).
    return sorted(__all__)


#: Period lengths an RFM summary can bucket times in (the core counts minutes and hours as
#: fixed lengths, the others on the calendar).
_RFM_FREQS = ("minute", "hour", "day", "week", "month", "quarter", "year")


def _wall_micros(name: str, value: Any, tz: str) -> int | None:
    """The date or time setting ``name`` as wall-clock microseconds in ``tz`` (naive times are
    taken as local to it); microsecond arithmetic, so dates up to 9999-12-31 work."""
    ts = moment(name, value)
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_convert(tz).tz_localize(None)
    return int(ts.as_unit("us").asm8.view("i8"))


_SKIP_RULE = "missing customer or time, or amount missing, NaN or infinite"


def _warn_skipped(result: Any, analysis: str) -> None:
    """Report the rows the core left out (``invalid="skip"``), which it counts in the result's
    metadata (docs/vocabulary.md)."""
    import pyarrow as pa

    skipped = int((pa.table(result).schema.metadata or {}).get(b"kpikit.skipped_rows", 0) or 0)
    if skipped:
        warn_skipped(analysis, skipped, _SKIP_RULE)


def _rfm_output(result: Any, library: str, analysis: str, tz: str | None = None) -> Any:
    """An RFM table in the caller's library. pandas output keeps one block per column
    (``split_blocks``): the core's float and integer columns (no nulls) become views of the
    Arrow buffers instead of being copied into one 2-D block, which for millions of customers
    is most of the call's time after the kernel (fresh pages to fault in and fill)."""
    import pyarrow as pa

    # Skipped rows were reported already, once (by the caller or the Dask driver).
    table = pa.table(result).replace_schema_metadata(None)
    if library != "pandas":
        return table_output(table, library, analysis=analysis, tz=tz)
    frame = table.to_pandas(split_blocks=True, date_as_object=False)
    if tz is not None:
        frame.attrs["tz"] = tz  # as table_output says the zone
    return frame


def _rfm_state(table: Any, o: dict[str, Any]) -> Any:
    """The partial state of ``table`` (a partition: all rows of its customers); rows the core
    skips are counted in its metadata, summed by the merge."""
    return _kpikit.rfm_summary(table, **o)


# Every customer's rows in one partition: the states hold disjoint customers, and the core's
# merge concatenates them (docs/conventions.md#rfm-summaries).
_RFM = Analysis("rfm_summary", state=_rfm_state, shuffle="customer")


@table_function
@checked
def rfm_summary(
    table: TableLike,
    /,
    *,
    customer: str,
    time: str,
    amount: str | None = None,
    freq: str = "day",
    freq_multiplier: float = 1,
    observation_end: Any = None,
    include_first: bool = False,
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    partitioned: bool = False,
    output: Output | None = None,
) -> Any:
    """Frequency, recency, T and monetary value per customer from a transaction log.

    Follows the conventions of lifetimes' ``summary_data_from_transaction_data``
    (docs/conventions.md#rfm-summaries): times are bucketed into periods of ``freq``; several
    transactions in the same period count as one (amounts summed); periods after
    ``observation_end``'s period are dropped. Then

        frequency = purchase periods − 1                      (repeat purchases)
        recency = (last period − first period) / freq_multiplier
        T = (observation_end's period − first period) / freq_multiplier
        monetary_value = mean of the repeat periods' totals   (0 without repeats)

    With ``include_first=True`` the first period counts too: frequency = purchase periods and
    monetary_value is the mean over all periods (recency and T are unchanged).

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per transaction. Streamed in its Arrow chunks; never sorted as a whole. A Dask
        DataFrame is shuffled on ``customer`` (every customer's rows in one partition), each
        partition reduced to its customers' periods and totals where it lives, and T counted
        once from the latest time of all partitions: the result equals the single-machine one.
    customer : str
        Customer id column (any type; missing ids raise).
    time : str
        Transaction time column (timestamp of any unit, naive or zone-aware, or date).
    amount : str, optional
        Transaction value column; adds ``monetary_value``.
    freq : {"minute", "hour", "day", "week", "month", "quarter", "year"}, default "day"
        Period length. lifetimes' ``"D"``, ``"W"``, ``"M"``, ``"h"``, ``"min"`` are ``"day"``,
        ``"week"`` (with the default ``week_start="monday"``: weeks ending on Sunday, as
        pandas' ``"W"``), ``"month"``, ``"hour"``, ``"minute"``.
    freq_multiplier : float, default 1
        Divides recency and T (``freq="hour", freq_multiplier=24`` gives days at hour
        resolution; ``freq="day", freq_multiplier=7`` weeks at day resolution).
    observation_end : datetime-like, optional
        End of observation, its period included (default: the latest transaction).
    include_first : bool, default False
        Count the first purchase period too (lifetimes' ``include_first_transaction``).
    tz : str, optional
        Time zone the periods are counted in; naive timestamps are taken as local to it.
        Default: the zone of the zone-aware time columns, else UTC (the result says which:
        ``attrs["tz"]`` in pandas, schema metadata ``kpikit.tz`` in Arrow).
    week_start : str, default "monday"
        First day of a week for ``freq="week"``.
    invalid : {"raise", "skip"}, default "raise"
        Rows with a missing customer or time, or an amount that is missing, NaN or infinite,
        raise an :class:`~kpikit.InputError` naming the rows; ``"skip"`` leaves them out and
        reports how many with a :class:`~kpikit.SkippedRowsWarning`.
    partitioned : bool, default False
        Dask input only: every customer's rows are already in one partition, so the shuffle is
        skipped (a customer found in two partitions raises an InputError).
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (docs/vocabulary.md).

    Returns
    -------
    DataFrame
        One row per customer (sorted by id): the customer column, ``frequency``, ``recency``,
        ``T`` and, with ``amount``, ``monetary_value``.

    Examples
    --------
    Customer "a" buys on 1 Jan (twice), 4 Jan and 8 Jan; "b" once on 3 Jan:

    >>> import pandas as pd, kpikit
    >>> log = pd.DataFrame({
    ...     "customer": ["a", "a", "b", "a", "a"],
    ...     "time": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-03 00:00",
    ...                             "2024-01-04 00:00", "2024-01-08 00:00"]),
    ...     "amount": [10.0, 5.0, 99.0, 20.0, 40.0]})
    >>> kpikit.rfm_summary(log, customer="customer", time="time", amount="amount")
      customer  frequency  recency    T  monetary_value
    0        a        2.0      7.0  7.0            30.0
    1        b        0.0      0.0  5.0             0.0

    The same log as a Dask DataFrame gives the same table:

    >>> import dask.dataframe as dd
    >>> kpikit.rfm_summary(dd.from_pandas(log, npartitions=2), customer="customer", time="time")["T"].tolist()
    [7.0, 5.0]
    """
    library = output_of(table, output)
    tz = time_zone(table, [time], tz)
    options: dict[str, Any] = {
        "customer": customer,
        "time": time,
        "amount": amount,
        "freq": check_freq(freq, _RFM_FREQS),
        "week_start": week_start,
        "freq_multiplier": float(freq_multiplier),
        "observation_end": _wall_micros("observation_end", observation_end, tz),
        "include_first": include_first,
        "tz": tz,
        "invalid": choice("invalid", invalid, ("raise", "skip")),
    }
    if not is_dask(table):
        rows = table_input(table, [customer, time, amount])
        result = _kpikit.finish(_kpikit.rfm_summary(rows, **options))
        _warn_skipped(result, "rfm_summary")
        return _rfm_output(result, library, "rfm_summary", tz)
    result = run(_RFM, table, columns=[customer, time, amount], options=options, output="arrow", partitioned=partitioned)
    return _rfm_output(result, library, "rfm_summary", tz)


@table_function
@checked
def rfm_split(
    table: TableLike,
    /,
    *,
    customer: str,
    time: str,
    calibration_end: Any,
    observation_end: Any = None,
    amount: str | None = None,
    freq: str = "day",
    freq_multiplier: float = 1,
    include_first: bool = False,
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """RFM of a calibration period plus what each customer did in the holdout period after it.

    The calibration columns are :func:`rfm_summary` of the transactions up to
    ``calibration_end`` (with it as the observation end), for every customer first seen by
    then. Over the holdout (``calibration_end``, ``observation_end``], as lifetimes'
    ``calibration_and_holdout_data`` (docs/conventions.md#rfm-summaries):

        frequency_holdout = distinct purchase periods in the holdout
        monetary_value_holdout = mean holdout transaction amount   (0 without any)
        duration_holdout = (observation_end's period − calibration_end's period) / freq_multiplier

    Parameters
    ----------
    table : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per transaction (not a Dask DataFrame).
    calibration_end : datetime-like
        Last instant of the calibration period, its period included.
    observation_end : datetime-like, optional
        End of the holdout, its period included; defaults to the latest transaction and must
        be after ``calibration_end``.
    customer, time, amount, freq, freq_multiplier, include_first, tz, week_start, invalid, output
        As in :func:`rfm_summary`.

    Returns
    -------
    DataFrame
        The customer column, ``frequency``, ``recency``, ``T`` [, ``monetary_value``],
        ``frequency_holdout`` [, ``monetary_value_holdout``], ``duration_holdout``.

    Examples
    --------
    >>> import pandas as pd, kpikit
    >>> log = pd.DataFrame({
    ...     "customer": ["a", "a", "b", "a", "a"],
    ...     "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
    ...                             "2024-01-06", "2024-01-08"])})
    >>> kpikit.rfm_split(log, customer="customer", time="time", calibration_end="2024-01-04")
      customer  frequency  recency    T  frequency_holdout  duration_holdout
    0        a        1.0      1.0  3.0                2.0               4.0
    1        b        0.0      0.0  1.0                0.0               4.0
    """
    if is_dask(table):
        raise SchemaError(
            "rfm_split takes a table on one machine, not a Dask DataFrame: the holdout split has "
            "no partial state to merge; compute the transactions of interest first"
        )
    library = output_of(table, output)
    period = check_freq(freq, _RFM_FREQS)
    tz = time_zone(table, [time], tz)
    cal = _wall_micros("calibration_end", calibration_end, tz)
    if cal is None:
        raise ParameterError('parameter "calibration_end": a time is required')
    rows = table_input(table, [customer, time, amount])
    result = _kpikit.rfm_split(
        rows,
        customer=customer,
        time=time,
        calibration_end=cal,
        amount=amount,
        freq=period,
        week_start=week_start,
        freq_multiplier=float(freq_multiplier),
        observation_end=_wall_micros("observation_end", observation_end, tz),
        include_first=include_first,
        tz=tz,
        invalid=choice("invalid", invalid, ("raise", "skip")),
    )
    _warn_skipped(result, "rfm_split")
    return _rfm_output(result, library, "rfm_split", tz)


def _floats(values: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))


def _is_column(value: Any) -> bool:
    """Whether ``value`` is one column of numbers (a list, array or Series), not a table."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return True
    for module, names in (("pandas", ("Series",)), ("polars", ("Series",)), ("pyarrow", ("Array", "ChunkedArray"))):
        lib = sys.modules.get(module)
        if lib is not None and isinstance(value, tuple(getattr(lib, n) for n in names)):
            return True
    return False


def _column(table: Any, name: str) -> Any:
    """Column ``name`` of a table of customers (pandas, polars, Arrow or a dict of arrays), as
    float64 with NaN for missing."""
    try:
        found, names = _lookup(table, name)
        values = None if found is None else np.asarray(found, dtype=np.float64)
    except KpikitError:
        raise
    except Exception as e:  # each library has its own conversion errors
        raise SchemaError(f'column "{name}" must be numeric: {e}') from None
    if values is None:
        raise SchemaError(f"column {name!r} not found; the table has columns {names}")
    return values


def _lookup(table: Any, name: str) -> tuple[Any, list[str]]:
    """Column ``name`` of ``table`` (None when it has none) and the table's column names."""
    pd = sys.modules.get("pandas")
    pl = sys.modules.get("polars")
    pa = sys.modules.get("pyarrow")
    if pd is not None and isinstance(table, pd.DataFrame):
        names = [str(c) for c in table.columns]
        found = table[name].to_numpy(dtype=np.float64, na_value=np.nan) if name in table.columns else None
    elif pl is not None and isinstance(table, pl.DataFrame):
        names = list(table.columns)
        found = table[name].cast(pl.Float64).to_numpy() if name in names else None
    elif isinstance(table, dict):
        names = [str(c) for c in table]
        found = table.get(name)
    else:
        arrow_like = hasattr(table, "__arrow_c_stream__") or hasattr(table, "__arrow_c_array__")
        if is_dask(table) or _is_column(table) or not arrow_like:
            raise SchemaError(
                f"expected a table of customers (pandas or polars DataFrame, pyarrow Table, or a dict of "
                f"arrays such as {{{name!r}: [...]}}), got {type(table).__name__}"
            )
        import pyarrow

        arrow = table if pa is not None and isinstance(table, pa.Table) else pyarrow.table(table)
        names = list(arrow.column_names)
        found = arrow.column(name).to_numpy() if name in names else None
    return found, names


def _weights(table: Any, weights: str | None) -> np.ndarray | None:
    if weights is None:
        return None
    if not isinstance(weights, str):
        raise ParameterError('parameter "weights": name a column of the table (a str), or None')
    return _floats(_column(table, weights))


def _like(values: np.ndarray, table: Any, name: str) -> Any:
    """Per-customer predictions in the table's library: a pandas Series on the DataFrame's
    index, a polars Series, a pyarrow Array; a numpy array for a dict of arrays, a float when
    every value in it is a number."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(table, pd.DataFrame) and values.shape == (len(table),):
        return pd.Series(values, index=table.index, name=name)
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(table, pl.DataFrame):
        return pl.Series(name, values.reshape(-1))
    if isinstance(table, dict):
        return float(values) if values.ndim == 0 else values
    pa = sys.modules.get("pyarrow")
    if pa is not None and not (pd is not None and isinstance(table, pd.DataFrame)):
        return pa.array(values.reshape(-1))
    return values


def _shape_like(result: np.ndarray, *inputs: Any) -> Any:
    """A prediction shaped like its input: float for scalars, Series for Series/DataFrames."""
    if all(np.ndim(i) == 0 for i in inputs):
        return float(result.reshape(-1)[0])
    for i in inputs:
        index = getattr(i, "index", None)
        # (a list's .index is a method, not an index)
        if index is not None and not callable(index) and len(index) == result.size:
            import pandas as pd

            return pd.Series(result.reshape(-1), index=index)
    return result


def _check_months(months: Any) -> int:
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise ParameterError(f'parameter "months": must be a whole number of months, at least 1, got {months!r}')
    return int(months)


class _Model(abc.ABC):
    """Holds fitted parameters; fitting and predicting happen in the core."""

    _name = ""
    _param_names: tuple[str, ...] = ()

    def __init__(self, *, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = float(penalizer_coef)
        self.params_: dict[str, float] | None = None
        self.standard_errors_: dict[str, float | None] | None = None
        self.log_likelihood_: float | None = None
        self.iterations_: int | None = None
        self.max_frequency_: float | None = None
        self.max_T_: float | None = None

    def _store(self, fit: dict[str, Any]) -> None:
        self.params_ = dict(zip(self._param_names, fit["params"], strict=True))
        self.standard_errors_ = dict(zip(self._param_names, fit["std_errors"], strict=True))
        self.log_likelihood_ = float(fit["log_likelihood"])
        self.iterations_ = int(fit["iterations"])

    def _p(self) -> list[float]:
        if self.params_ is None:
            raise KpikitError(f"{type(self).__name__} is not fitted yet; call fit(...) first")
        return [self.params_[n] for n in self._param_names]

    def _given(self, params: Any) -> list[float]:
        """``params`` (a dict by name, or values in the model's order) as the core takes them;
        None for the model's own."""
        if params is None:
            return self._p()
        names = self._param_names
        if isinstance(params, dict):
            missing = [n for n in names if n not in params]
            extra = [str(n) for n in params if n not in names]
            if missing or extra:
                raise ParameterError(
                    f'parameter "params": {type(self).__name__} takes {", ".join(names)}; missing {missing}, unknown {extra}'
                )
            return [float(params[n]) for n in names]
        values = [float(v) for v in params]
        if len(values) != len(names):
            raise ParameterError(
                f'parameter "params": {type(self).__name__} takes {len(names)} values ({", ".join(names)}), got {len(values)}'
            )
        return values

    @abc.abstractmethod
    def _likelihood_rows(self, table: Any, weights: str | None) -> tuple[Any, Any, Any, Any]:
        """The model's likelihood inputs (three columns and the weights) read from ``table``."""

    def log_likelihood(self, table: Any, /, *, params: Any = None, weights: str | None = None) -> float:
        """Total log-likelihood Σ_i w_i · ln L(params | customer i) of ``table`` at ``params``.

        ``table`` is what :meth:`fit` takes; ``params`` a dict by parameter name or the values
        in the order of ``params_`` (default: the model's own, fitted or set). At the fitted
        parameters it equals ``log_likelihood_`` (without the penalty). Evaluated in log space,
        so extreme parameters (1e-6, 1e6) give a finite number (docs/clv.md).
        """
        a, b, c, w = self._likelihood_rows(table, weights)
        return float(_kpikit.clv_log_likelihood(self._name, self._given(params), a, b, c, weights=w))

    @property
    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and 95 % Wald intervals, as a DataFrame."""
        import pandas as pd

        p = self._p()
        se = [self.standard_errors_[n] if self.standard_errors_ else None for n in self._param_names]
        rows = []
        for name, v, s in zip(self._param_names, p, se, strict=True):
            s = math.nan if s is None else s
            rows.append((name, v, s, v - 1.959963984540054 * s, v + 1.959963984540054 * s))
        return pd.DataFrame(rows, columns=["param", "coef", "se", "lower 95%", "upper 95%"]).set_index("param")

    def __repr__(self) -> str:
        if self.params_ is None:
            return f"{type(self).__name__}(penalizer_coef={self.penalizer_coef}) (not fitted)"
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        if self.log_likelihood_ is None:  # parameters given, not fitted
            return f"{type(self).__name__}({ps})"
        return f"{type(self).__name__}({ps}; log-likelihood {self.log_likelihood_:.2f})"

    def _repr_html_(self) -> str:
        if self.params_ is None:
            return f"<pre>{self!r}</pre>"
        html: str = self.summary.to_html()
        return f"<p><b>{type(self).__name__}</b>, log-likelihood {self.log_likelihood_:.2f}</p>{html}"

    def _predict(self, what: str, t: Any, x: Any, tx: Any, big_t: Any) -> np.ndarray:
        """The core's prediction ``what``, shaped as its inputs broadcast together."""
        values = [np.asarray(v, dtype=np.float64) for v in (t, x, tx, big_t)]
        try:
            arrays = np.broadcast_arrays(*values)
        except ValueError:
            shapes = ", ".join(str(v.shape) for v in values)
            raise ParameterError(f"the inputs have lengths that do not match: shapes {shapes}") from None
        flat = [_floats(a) for a in arrays]
        out = np.asarray(_kpikit.clv_predict(self._name, what, self._p(), *flat))
        return out.reshape(arrays[0].shape)


class _PurchaseModel(_Model):
    """Shared fit and predictions of the (frequency, recency, T) models."""

    def _likelihood_rows(self, table: Any, weights: str | None) -> tuple[Any, Any, Any, Any]:
        x, tx, t = (_floats(_column(table, n)) for n in ("frequency", "recency", "T"))
        return x, tx, t, _weights(table, weights)

    def fit(self, table: TableLike, /, *, weights: str | None = None, initial_params: Any = None) -> Self:
        """Fit by maximum likelihood to customers' (frequency, recency, T).

        ``table`` holds one row per customer with columns ``frequency``, ``recency`` and ``T``
        (an :func:`rfm_summary`; a dict of arrays works too). ``weights`` names a column
        counting how many customers each row stands for. Raises :class:`~kpikit.KpikitError`
        saying why and what to try when the fit cannot converge.
        """
        x, tx, t = (_column(table, n) for n in ("frequency", "recency", "T"))
        fit = _kpikit.clv_fit(
            self._name,
            _floats(x),
            _floats(tx),
            _floats(t),
            weights=_weights(table, weights),
            penalizer_coef=self.penalizer_coef,
            initial_params=None if initial_params is None else [float(v) for v in initial_params],
        )
        self._store(fit)
        # The extent of the data, for charts (kpikit.plot) that lay out a grid over it.
        self.max_frequency_ = float(np.max(_floats(x)))
        self.max_T_ = float(np.max(_floats(t)))
        return self

    @curve_method
    def expected_number_of_purchases_up_to_time(self, t: Any, /) -> Any:
        """E[X(t)]: expected repeat purchases of a new customer in (0, t]; ``t`` a number or
        an array of horizons."""
        zero = np.zeros(np.shape(t))
        return _shape_like(self._predict("expected", t, zero, zero, zero), t)

    @column_method
    def conditional_expected_number_of_purchases_up_to_time(self, table: TableLike, /, *, t: Any) -> Any:
        """E[Y(t) | x, t_x, T]: expected purchases of each customer of ``table`` (columns
        ``frequency``, ``recency``, ``T``) in the next ``t`` periods (a number, or one per
        customer)."""
        x, tx, bt = (_column(table, n) for n in ("frequency", "recency", "T"))
        return _like(self._predict("conditional", t, x, tx, bt), table, "expected_purchases")

    predict = conditional_expected_number_of_purchases_up_to_time

    # fmt: off
    @overload
    def probability_of_n_purchases_up_to_time(self, t: Real, n: Real) -> float: ...
    @overload
    def probability_of_n_purchases_up_to_time(self, t: pd.Series[Any], n: Any) -> pd.Series[float]: ...
    @overload
    def probability_of_n_purchases_up_to_time(self, t: Any, n: pd.Series[Any]) -> pd.Series[float]: ...
    @overload
    def probability_of_n_purchases_up_to_time(self, t: npt.ArrayLike, n: npt.ArrayLike) -> npt.NDArray[np.float64]: ...
    # fmt: on
    def probability_of_n_purchases_up_to_time(self, t: Any, n: Any) -> Any:
        """P(X(t) = n): probability a new customer makes exactly n repeat purchases in (0, t]."""
        zero = np.zeros(np.broadcast(np.asarray(t), np.asarray(n)).shape)
        return _shape_like(self._predict("p_n", t, n, zero, zero), t, n)

    @column_method
    def conditional_probability_alive(self, table: TableLike, /) -> Any:
        """P(alive | x, t_x, T): probability each customer of ``table`` (columns ``frequency``,
        ``recency``, ``T``) is still active at T."""
        x, tx, bt = (_column(table, n) for n in ("frequency", "recency", "T"))
        return _like(self._predict("alive", 0.0, x, tx, bt), table, "probability_alive")


class BetaGeo(_PurchaseModel):
    """BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005, *Marketing Science*).

    While active a customer buys at rate λ ~ Gamma(r, α); after each purchase they become
    inactive with probability p ~ Beta(a, b). With x repeat purchases, recency t_x and age T:

        P(alive) = 1 / (1 + 1[x>0] · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
        E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))]

    Parameters
    ----------
    penalizer_coef : float, default 0
        L2 penalty ``penalizer_coef × Σ params²`` added to the mean negative log-likelihood
        (0.001–0.1 helps small or degenerate data).

    Examples
    --------
    >>> import pandas as pd, kpikit
    >>> rfm = pd.DataFrame({"frequency": [0, 1, 2, 0, 6, 1, 0, 5, 0, 2] * 20,
    ...                     "recency": [0, 5, 20, 0, 39, 2, 0, 37, 0, 3] * 20,
    ...                     "T": [40, 38, 39, 20, 40, 30, 35, 38, 10, 25] * 20})
    >>> bg = kpikit.clv.BetaGeo().fit(rfm)
    >>> sorted(bg.params_)
    ['a', 'alpha', 'b', 'r']

    A customer without repeat purchases is alive for sure (the model's dropout follows a
    purchase); predictions for one customer take a dict of numbers:

    >>> bg.conditional_probability_alive({"frequency": 0, "recency": 0, "T": 40})
    1.0
    """

    _name = "BetaGeo"
    _param_names = ("r", "alpha", "a", "b")


class ParetoNBD(_PurchaseModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 note).

    Purchase rate λ ~ Gamma(r, α) while alive; lifetime exponential with rate μ ~ Gamma(s, β):

        E[X(t)] = rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)]
        E[Y(t) | x, t_x, T] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive)

    The likelihood needs 2F1, evaluated in log space with the 1 − z transformation near 1.
    ``probability_of_n_purchases_up_to_time`` follows Fader & Hardie's note 012 (2006).

    Examples
    --------
    >>> import kpikit
    >>> m = kpikit.clv.ParetoNBD()
    >>> m.params_ = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    >>> round(m.expected_number_of_purchases_up_to_time(39.0), 3)
    1.213
    >>> round(m.probability_of_n_purchases_up_to_time(39.0, 0), 3)
    0.594
    """

    _name = "ParetoNBD"
    _param_names = ("r", "alpha", "s", "beta")


class BetaGeoBetaBinom(_PurchaseModel):
    """BG/BB model of repeat transactions at discrete opportunities (Fader, Hardie & Shang 2010,
    *Marketing Science* 29(6)).

    Each customer has n transaction opportunities (a yearly appeal, a weekly event): while
    alive they transact at each with probability p ~ Beta(α, β), and before each they die with
    probability θ ~ Beta(γ, δ). A customer is a row of ``frequency`` x (transactions after the
    first), ``recency`` t_x (the opportunity of the last one, 0 without any) and ``T`` = n (the
    opportunities observed), all whole numbers: an :func:`rfm_summary` with ``freq`` the
    opportunity's period (``"year"`` for yearly appeals) gives them. With B the beta function:

        L(x, t_x, n) = B(α+x, β+n−x)/B(α, β) · B(γ, δ+n)/B(γ, δ)
                     + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α, β) · B(γ+1, δ+t_x+i)/B(γ, δ)
        P(alive at n+m | x, t_x, n) = B(α+x, β+n−x)/B(α, β) · B(γ, δ+n+m)/B(γ, δ) / L
        E[X(t)] = α/(α+β) · Σ_{s=1}^{t} B(γ, δ+s)/B(γ, δ)
        E[X(n, n+t) | x, t_x, n] = B(α+x+1, β+n−x)/B(α, β) · Σ_{s=n+1}^{n+t} B(γ, δ+s)/B(γ, δ) / L

    ``t`` counts opportunities (whole numbers). ``conditional_probability_alive`` takes
    ``t`` = m, the opportunities ahead (default 1: the paper's P(alive) at the next
    opportunity); ``probability_of_n_purchases_up_to_time`` and ``customer_lifetime_value``
    are for the continuous-time models.

    Examples
    --------
    The paper's 11,104 first-time donors of 1995 with 6 repeat opportunities (1996–2001),
    summarised by pattern with the number of donors of each:

    >>> import pandas as pd, kpikit
    >>> donors = pd.DataFrame({
    ...     "frequency": [0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6],
    ...     "recency": [0, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 3, 4, 5, 6, 4, 5, 6, 5, 6, 6],
    ...     "T": 6,
    ...     "donors": [3464, 1091, 277, 129, 78, 119, 129, 613, 255, 155, 173, 234,
    ...                322, 181, 225, 357, 240, 284, 512, 335, 728, 1203]})
    >>> bgbb = kpikit.clv.BetaGeoBetaBinom().fit(donors, weights="donors")
    >>> {k: round(v, 3) for k, v in bgbb.params_.items()}
    {'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
    >>> round(bgbb.log_likelihood_, 1)
    -33225.6

    A donor who gave in 4 of the 6 years, the last in 2001, over the next 5 years:

    >>> one = {"frequency": 4, "recency": 6, "T": 6}
    >>> round(bgbb.conditional_probability_alive(one), 3)
    0.93
    >>> round(bgbb.conditional_expected_number_of_purchases_up_to_time(one, t=5), 2)
    2.71
    """

    _name = "BetaGeoBetaBinom"
    _param_names = ("alpha", "beta", "gamma", "delta")

    @column_method
    def conditional_probability_alive(self, table: TableLike, /, *, t: Any = 1) -> Any:
        """P(alive at opportunity T + t | x, t_x, T) of each customer of ``table`` (columns
        ``frequency``, ``recency``, ``T``); ``t`` whole opportunities ahead (a number, or one
        per customer), 1 by default (the next opportunity), 0 for the last one observed."""
        x, tx, bt = (_column(table, n) for n in ("frequency", "recency", "T"))
        return _like(self._predict("alive", t, x, tx, bt), table, "probability_alive")


class GammaGamma(_Model):
    """Gamma-Gamma model of average spend (Fader, Hardie & Lee 2005; Fader & Hardie 2013 note).

    Fitted on repeat customers (frequency > 0) with their mean repeat spend m̄; predicts

        E[M | x, m̄] = p (v + x·m̄) / (p·x + q − 1)      (x = 0: p·v / (q − 1))

    It assumes spend is independent of purchase frequency; check their correlation first.

    Examples
    --------
    >>> import kpikit
    >>> gg = kpikit.clv.GammaGamma()
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> round(gg.conditional_expected_average_profit({"frequency": 2, "monetary_value": 30.0}), 2)
    30.94
    """

    _name = "GammaGamma"
    _param_names = ("p", "q", "v")

    def _likelihood_rows(self, table: Any, weights: str | None) -> tuple[Any, Any, Any, Any]:
        x, m = (_floats(_column(table, n)) for n in ("frequency", "monetary_value"))
        return x, m, np.zeros(0), _weights(table, weights)

    def fit(self, table: TableLike, /, *, weights: str | None = None, initial_params: Any = None) -> GammaGamma:
        """Fit to customers' (frequency, monetary_value): ``table`` has those columns (an
        :func:`rfm_summary` with ``amount``; a dict of arrays works too). Customers with
        frequency 0 are left out. ``weights`` names a column counting how many customers each
        row stands for.
        """
        frequency, monetary_value = (_column(table, n) for n in ("frequency", "monetary_value"))
        fit = _kpikit.clv_fit_gamma_gamma(
            _floats(frequency),
            _floats(monetary_value),
            weights=_weights(table, weights),
            penalizer_coef=self.penalizer_coef,
            initial_params=None if initial_params is None else [float(v) for v in initial_params],
        )
        self._store(fit)
        return self

    @column_method
    def conditional_expected_average_profit(self, table: TableLike, /) -> Any:
        """E[M | x, m̄]: expected average spend per future transaction of each customer of
        ``table`` (columns ``frequency`` and ``monetary_value``)."""
        frequency, monetary_value = (_column(table, n) for n in ("frequency", "monetary_value"))
        zero = np.zeros(np.broadcast(frequency, monetary_value).shape)
        spend = self._predict("spend", zero, frequency, monetary_value, monetary_value)
        return _like(spend, table, "expected_average_profit")


class ShiftedBetaGeo(_Model):
    """Shifted-beta-geometric model of contract renewals (Fader & Hardie 2007).

    Each customer churns at the end of a period with probability θ ~ Beta(α, β):

        P(churn in period t) = B(α+1, β+t−1) / B(α, β)
        S(t) = B(α, β+t) / B(α, β)                     (survival after t periods)
        r(t) = (β + t − 1) / (α + β + t − 1)            (retention rate in period t)

    Examples
    --------
    Fader & Hardie's "regular" cohort (survivors per year, out of 1000):

    >>> import kpikit
    >>> sbg = kpikit.clv.ShiftedBetaGeo().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> {k: round(v, 3) for k, v in sbg.params_.items()}
    {'alpha': 0.704, 'beta': 1.182}

    Discounted expected residual lifetime (periods, 10 % discount) after 0, 1, 2, 3 renewals:
    the longer a customer has stayed, the longer they are expected to stay.

    >>> sbg.expected_residual_lifetime([0, 1, 2, 3], discount_rate=0.1).round(2).tolist()
    [2.96, 4.1, 4.87, 5.44]
    """

    _name = "ShiftedBetaGeo"
    _param_names = ("alpha", "beta")

    def fit(self, table: Any, /, *, weights: str | None = None, initial_params: Any = None) -> ShiftedBetaGeo:
        """Fit to a cohort's survivors, or to customers.

        ``table`` is either one column of survivor counts n0 ≥ n1 ≥ … (active at the start of
        each period: a list, array or Series), or a table of customers with columns
        ``periods`` (periods observed, whole numbers ≥ 1) and ``churned`` (whether the customer
        churned in the last of them); ``weights`` then names a column counting how many
        customers each row stands for.
        """
        t, c, w = self._renewals(table, weights)
        fit = _kpikit.clv_fit_shifted_beta_geo(
            t,
            c,
            w,
            penalizer_coef=self.penalizer_coef,
            initial_params=None if initial_params is None else [float(v) for v in initial_params],
        )
        self._store(fit)
        return self

    @staticmethod
    def _renewals(table: Any, weights: str | None) -> tuple[Any, list[bool], Any]:
        """(periods, churned, weights) rows of survivor counts or of a table of customers."""
        if _is_column(table):
            if weights is not None:
                raise ParameterError(
                    'parameter "weights": survivor counts carry their own weights; give a table of customers to weight rows'
                )
            t, c, w = _kpikit.clv_survivor_rows(_floats(np.asarray(table, dtype=np.float64)))
            return t, c, w
        t = _floats(_column(table, "periods"))
        churned = _column(table, "churned")
        if np.isnan(churned).any():
            raise ParameterError('column "churned": must not be missing (whether each customer churned)')
        w = np.ones(len(t)) if weights is None else _weights(table, weights)
        return t, [bool(v) for v in churned], w

    def _likelihood_rows(self, table: Any, weights: str | None) -> tuple[Any, Any, Any, Any]:
        t, c, w = self._renewals(table, weights)
        return t, np.asarray(c, dtype=np.float64), np.zeros(0), _floats(w)

    def _curve(self, what: str, t: Any) -> Any:
        zero = np.zeros(np.shape(t))
        return _shape_like(self._predict(what, t, zero, zero, zero), t)

    @curve_method
    def survival_function(self, t: Any, /) -> Any:
        """S(t): share of a cohort still active after t periods."""
        return self._curve("survival", t)

    @curve_method
    def retention_rate(self, t: Any, /) -> Any:
        """r(t) = S(t) / S(t−1): share of those active in period t−1 who renew into period t."""
        return self._curve("retention", t)

    @curve_method
    def probability_of_churn(self, t: Any, /) -> Any:
        """P(T = t): probability a new customer churns in period t."""
        return self._curve("churn", t)

    # fmt: off
    @overload
    def expected_residual_lifetime(self, renewals: Real = 0, /, *, discount_rate: float = 0.1) -> float: ...
    @overload
    def expected_residual_lifetime(self, renewals: pd.Series[Any], /, *, discount_rate: float = 0.1) -> pd.Series[float]: ...
    @overload
    def expected_residual_lifetime(self, renewals: npt.ArrayLike, /, *, discount_rate: float = 0.1) -> npt.NDArray[np.float64]: ...
    # fmt: on
    def expected_residual_lifetime(self, renewals: Any = 0, /, *, discount_rate: float = 0.1) -> Any:
        """Discounted expected residual lifetime (DERL, Fader & Hardie 2010, eq. 6), in periods.

        For a customer who has made ``renewals`` renewals (n − 1) and is about to decide on the
        next, with discount rate d per period:

            DERL = Σ_{t>=n} S(t)/S(n−1) / (1+d)^(t−n)
                 = (β+n−1)/(α+β+n−1) · 2F1(1, β+n; α+β+n; 1/(1+d))

        Multiplied by the margin per period it is the customer's residual lifetime value
        (the current period's payment not included).
        """
        if not discount_rate > 0:
            raise ParameterError(f'parameter "discount_rate": must be > 0, got {discount_rate}')
        d = np.full(np.shape(renewals), float(discount_rate))
        zero = np.zeros(np.shape(renewals))
        return _shape_like(self._predict("residual_lifetime", renewals, d, zero, zero), renewals)


@column_function
@checked
def customer_lifetime_value(
    table: TableLike,
    /,
    *,
    transaction_model: BetaGeo | ParetoNBD | BetaGeoBetaBinom,
    spend_model: GammaGamma | None = None,
    monetary_value: str | None = None,
    months: int | None = None,
    discount_rate: float = 0.01,
    freq: str | None = None,
    opportunities: int | None = None,
) -> Any:
    """Discounted expected value of each customer over the next ``months`` months.

    As lifetimes (docs/conventions.md#lifetime-value): with f the model time units per month
    (``freq``: "hour" 720, "day" 30, "week" 4.345, "month" 1), m the expected value per
    transaction and E[Y(t)] the conditional expected purchases,

        clv = Σ_{i=1..months} m · (E[Y(i·f)] − E[Y((i−1)·f)]) / (1 + discount_rate)^i

    A :class:`BetaGeoBetaBinom` model counts opportunities instead of months: with E[Y_{n+s}]
    its expected transaction at the s-th opportunity ahead (Fader, Hardie & Shang 2010) and
    ``discount_rate`` d per opportunity,

        clv = m · Σ_{s=1..N} E[Y_{n+s} | x, t_x, n] / (1 + d)^s
            = m · B(α+x+1, β+n−x)/B(α, β) · Σ_{s=1..N} B(γ, δ+n+s)/B(γ, δ) / (1 + d)^s / L

    over N = ``opportunities`` (default: every future opportunity, the paper's discounted
    expected residual transactions, DERT, which needs d > 0); ``months`` and ``freq`` do not
    apply to it.

    m is the Gamma-Gamma expected spend of ``spend_model``, or, with ``monetary_value``, the
    values of that column taken as they are (e.g. each customer's observed mean, or a margin
    per transaction computed elsewhere). Give exactly one of the two.

    Parameters
    ----------
    table : pandas or polars DataFrame, pyarrow Table, or a dict of arrays
        One row per customer with columns ``frequency``, ``recency``, ``T`` (an
        :func:`rfm_summary`), in the time unit the transaction model was fitted in, and
        ``monetary_value`` for ``spend_model`` (an :func:`rfm_summary` with ``amount``).
    transaction_model : BetaGeo, ParetoNBD or BetaGeoBetaBinom
        Fitted purchase model.
    spend_model : GammaGamma, optional
        Fitted spend model: m = E[M | frequency, monetary_value].
    monetary_value : str, optional
        Column of the value per transaction of each customer (a finite number >= 0), used as m
        instead of a spend model.
    months : int, default 12
        Horizon, in months (lifetimes' ``time``); BG/NBD and Pareto/NBD.
    discount_rate : float, default 0.01
        Monthly discount rate; per opportunity for BG/BB.
    freq : {"hour", "day", "week", "month"}, default "day"
        The time unit of ``recency`` and ``T``: the ``freq`` the RFM table was made with
        (times ``freq_multiplier``: days ÷ 7 are ``"week"``); BG/NBD and Pareto/NBD.
    opportunities : int, optional
        BG/BB only: the horizon in opportunities (default: all future ones).

    Returns
    -------
    Series
        ``clv`` per customer in the table's library: a pandas Series on the DataFrame's index,
        a polars Series, a pyarrow Array, or a numpy array for a dict.

    Examples
    --------
    >>> import pandas as pd, kpikit
    >>> bg, gg = kpikit.clv.BetaGeo(), kpikit.clv.GammaGamma()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> rfm = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43],
    ...                     "T": [38.86, 38.86], "monetary_value": [0.0, 22.35]})
    >>> clv = kpikit.clv.customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, months=12, freq="week")
    >>> clv.round(2).tolist()
    [8.37, 36.29]

    The same customers valued at a margin of 5 and 8 per transaction, without a spend model:

    >>> rfm["margin"] = [5.0, 8.0]
    >>> kpikit.clv.customer_lifetime_value(rfm, transaction_model=bg, monetary_value="margin",
    ...                                    months=12, freq="week").round(2).tolist()
    [1.19, 11.77]

    A BG/BB donor with 4 gifts in 6 yearly appeals, the last in the 6th, worth 50 a gift, over
    the next 5 appeals at 10 % a year:

    >>> bgbb = kpikit.clv.BetaGeoBetaBinom()
    >>> bgbb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    >>> donor = {"frequency": [4], "recency": [6], "T": [6], "gift": [50.0]}
    >>> kpikit.clv.customer_lifetime_value(donor, transaction_model=bgbb, monetary_value="gift",
    ...                                    opportunities=5, discount_rate=0.1).round(2).tolist()
    [103.87]

    Over every future appeal (the paper's DERT times the gift):

    >>> kpikit.clv.customer_lifetime_value(donor, transaction_model=bgbb, monetary_value="gift",
    ...                                    discount_rate=0.1).round(2).tolist()
    [213.41]
    """
    if isinstance(transaction_model, BetaGeoBetaBinom):
        return _bgbb_lifetime_value(
            table, transaction_model, spend_model, monetary_value, months, discount_rate, freq, opportunities
        )
    if opportunities is not None:
        raise ParameterError('parameter "opportunities": only a BetaGeoBetaBinom model counts opportunities; use months')
    months = 12 if months is None else months
    # The spelling of freq is checked here like everywhere; which units a lifetime value takes,
    # and their lengths in a month, the core decides.
    unit = check_freq("day" if freq is None else freq)
    if not isinstance(transaction_model, (BetaGeo, ParetoNBD)):
        raise ParameterError('parameter "transaction_model": must be a fitted BetaGeo, ParetoNBD or BetaGeoBetaBinom')
    if (spend_model is None) == (monetary_value is None):
        raise ParameterError(
            'parameters "spend_model" and "monetary_value": give exactly one (a fitted GammaGamma, '
            "or the name of a column of values per transaction)"
        )
    if spend_model is not None and not isinstance(spend_model, GammaGamma):
        raise ParameterError('parameter "spend_model": must be a fitted GammaGamma')
    if monetary_value is not None and not isinstance(monetary_value, str):
        raise ParameterError('parameter "monetary_value": name a column of the table (a str)')
    horizon = _check_months(months)
    x, tx, bt = (_floats(_column(table, n)) for n in ("frequency", "recency", "T"))
    spend, spend_column = _spend(table, x, spend_model, monetary_value)
    values = _kpikit.customer_lifetime_value(
        transaction_model._name,
        transaction_model._p(),
        spend,
        x,
        tx,
        bt,
        months=horizon,
        discount_rate=float(discount_rate),
        freq=unit,
        spend_column=spend_column,
    )
    return _like(np.asarray(values), table, "clv")


def _spend(table: Any, x: np.ndarray, spend_model: GammaGamma | None, monetary_value: str | None) -> tuple[np.ndarray, str]:
    """The value per transaction m of each customer, and the name errors give it: the spend
    model's prediction, or the table's column."""
    if spend_model is not None:
        money = _floats(_column(table, "monetary_value"))
        zero = np.zeros(np.broadcast(x, money).shape)
        return _floats(spend_model._predict("spend", zero, x, money, money)), "spend"
    assert monetary_value is not None
    return _floats(_column(table, monetary_value)), monetary_value


def _bgbb_lifetime_value(
    table: Any,
    model: BetaGeoBetaBinom,
    spend_model: GammaGamma | None,
    monetary_value: str | None,
    months: Any,
    discount_rate: float,
    freq: Any,
    opportunities: Any,
) -> Any:
    """:func:`customer_lifetime_value` of a BG/BB model: discounted expected transactions per
    opportunity (docs/conventions.md#lifetime-value)."""
    for name, value in (("months", months), ("freq", freq)):
        if value is not None:
            raise ParameterError(
                f'parameter "{name}": a BetaGeoBetaBinom model counts opportunities, not months; '
                "give opportunities (the horizon) and discount_rate per opportunity"
            )
    if (spend_model is None) == (monetary_value is None):
        raise ParameterError(
            'parameters "spend_model" and "monetary_value": give exactly one (a fitted GammaGamma, '
            "or the name of a column of values per transaction)"
        )
    if spend_model is not None and not isinstance(spend_model, GammaGamma):
        raise ParameterError('parameter "spend_model": must be a fitted GammaGamma')
    if monetary_value is not None and not isinstance(monetary_value, str):
        raise ParameterError('parameter "monetary_value": name a column of the table (a str)')
    if opportunities is not None and (
        isinstance(opportunities, bool) or not isinstance(opportunities, (int, np.integer)) or opportunities < 1
    ):
        raise ParameterError(
            f'parameter "opportunities": must be a whole number of opportunities, at least 1, got {opportunities!r}'
        )
    x, tx, n = (_floats(_column(table, c)) for c in ("frequency", "recency", "T"))
    spend, spend_column = _spend(table, x, spend_model, monetary_value)
    values = _kpikit.clv_bgbb_lifetime_value(
        model._p(),
        spend,
        x,
        tx,
        n,
        opportunities=None if opportunities is None else int(opportunities),
        discount_rate=float(discount_rate),
        spend_column=spend_column,
    )
    return _like(np.asarray(values), table, "clv")


# ---------------------------------------------------------------------------------------------
# Model checks after a fit: lifetimes' expected_cumulative_transactions, calculate_alive_path
# and the data of plot_calibration_purchases_vs_holdout_purchases (docs/conventions.md#model-checks).
# ---------------------------------------------------------------------------------------------

_PURCHASE_MODELS = "a fitted BetaGeo, ParetoNBD or BetaGeoBetaBinom"


def _purchase_model(model: Any) -> _PurchaseModel:
    if not isinstance(model, _PurchaseModel):
        raise ParameterError(f'parameter "model": must be {_PURCHASE_MODELS}, got {type(model).__name__}')
    return model


def _one_machine(table: Any, analysis: str) -> None:
    """The model checks read a log on one machine (their tables are small; the log is read once)."""
    if is_dask(table):
        raise SchemaError(
            f"{analysis} takes a table on one machine, not a Dask DataFrame: compute the transactions "
            "of interest first (e.g. a sample of customers)"
        )


def _whole(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ParameterError(f'parameter "{name}": must be a whole number >= {lo}, got {value!r}')
    return int(value)


@table_function
@checked
def expected_cumulative_transactions(
    table: TableLike,
    /,
    *,
    model: BetaGeo | ParetoNBD | BetaGeoBetaBinom,
    customer: str,
    time: str,
    t: int,
    freq: str = "day",
    freq_multiplier: int = 1,
    incremental: bool = False,
    tz: str | None = None,
    week_start: str = "monday",
    output: Output | None = None,
) -> Any:
    """Actual against expected repeat transactions, period by period since the log's start.

    As lifetimes' ``expected_cumulative_transactions`` (docs/conventions.md#model-checks):
    periods of ``freq`` count from the period of the log's first transaction (period 0); each
    customer's first purchase period is their birth, every later period with a purchase a
    repeat transaction (several in one period count once). For row k = 0 … ⌊t/m⌋ − 1
    (m = ``freq_multiplier``), covering periods 0 … e − 1 with e = (k+1)·m,

        actual_k    = repeat transactions in periods 0 … e − 1
        predicted_k = Σ_{p < e} n_p · E[X((e − p)/m)]

    n_p the customers born in period p and E[X(t)] the model's expected repeat transactions of
    a new customer in (0, t] (periods ÷ m are the model's time unit, as in the RFM table it was
    fitted on). Transactions from period t on are left out. With ``incremental=True`` each row
    holds its own interval's transactions instead (the differences; lifetimes'
    ``plot_incremental_transactions``, whose first row is empty where this one is row 0).

    Parameters
    ----------
    table : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per transaction.
    model : BetaGeo, ParetoNBD or BetaGeoBetaBinom
        Fitted purchase model (BG/BB: one opportunity a period, ``freq_multiplier=1``).
    customer, time : str
        Customer id and transaction time columns.
    t : int
        Periods to track (lifetimes' ``t``).
    freq, freq_multiplier, tz, week_start
        As in :func:`rfm_summary`.
    incremental : bool, default False
        Per-interval instead of cumulative numbers.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's.

    Returns
    -------
    DataFrame
        ``period`` (k, lifetimes' index), ``actual`` and ``predicted``.

    Examples
    --------
    Customer "a" is born on day 0 and buys again on days 2 and 3, "b" is born on day 1, "c" on
    day 3; with a BG/NBD the expected repeat transactions through day 3 are
    E[X(4)] + E[X(3)] + E[X(1)] (the ages of a, b and c):

    >>> import pandas as pd, kpikit
    >>> log = pd.DataFrame({"customer": ["a", "b", "a", "a", "c"],
    ...                     "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
    ...                                             "2024-01-04", "2024-01-04"])})
    >>> bg = kpikit.clv.BetaGeo()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> track = kpikit.clv.expected_cumulative_transactions(log, model=bg, customer="customer",
    ...                                                     time="time", t=4)
    >>> track["actual"].tolist()
    [0.0, 0.0, 1.0, 2.0]
    >>> e = bg.expected_number_of_purchases_up_to_time([4, 3, 1])
    >>> bool(abs(track["predicted"].iloc[3] - e.sum()) < 1e-12)
    True
    """
    _one_machine(table, "expected_cumulative_transactions")
    m = _purchase_model(model)
    library = output_of(table, output)
    tz = time_zone(table, [time], tz)
    rows = table_input(table, [customer, time])
    result = _kpikit.clv_cumulative_transactions(
        rows,
        model=m._name,
        params=m._p(),
        customer=customer,
        time=time,
        t=_whole("t", t, 1),
        freq_multiplier=_whole("freq_multiplier", freq_multiplier, 1),
        freq=check_freq(freq, _RFM_FREQS),
        week_start=week_start,
        tz=tz,
    )
    if incremental:
        import pyarrow as pa

        tracked = pa.table(result)
        columns: dict[str, pa.Array[Any]] = {"period": tracked.column("period").combine_chunks()}
        for name in ("actual", "predicted"):
            values = tracked.column(name).to_numpy()
            columns[name] = pa.array(np.diff(values, prepend=0.0))
        result = pa.table(columns)
    return table_output(result, library, analysis="expected_cumulative_transactions")


@table_function
@checked
def alive_path(
    table: TableLike,
    /,
    *,
    model: BetaGeo | ParetoNBD | BetaGeoBetaBinom,
    customer: str,
    time: str,
    t: int | None = None,
    freq: str = "day",
    freq_multiplier: float = 1,
    tz: str | None = None,
    week_start: str = "monday",
    output: Output | None = None,
) -> Any:
    """P(alive) of each customer at each period since their first purchase.

    As lifetimes' ``calculate_alive_path`` (docs/conventions.md#model-checks), for every
    customer of the log: at period T = 0, 1, … after the customer's first purchase period,
    from the purchases up to it (several in one period count once),

        frequency = purchase periods in 0 … T, minus 1
        recency   = the last of them (÷ freq_multiplier)
        p_alive   = P(alive | frequency, recency, T ÷ freq_multiplier)

    (BG/BB: P(alive at opportunity T), one opportunity a period). A path runs to T = ``t``,
    further when the customer's purchases do (as lifetimes); without ``t`` to the log's last
    period, where it ends at :meth:`~BetaGeo.conditional_probability_alive` of the customer's
    :func:`rfm_summary` row.

    Parameters
    ----------
    table : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per transaction (of one customer, for lifetimes' single path, or of many).
    model : BetaGeo, ParetoNBD or BetaGeoBetaBinom
        Fitted purchase model.
    customer, time : str
        Customer id and transaction time columns.
    t : int, optional
        Periods of each path (lifetimes' ``t``).
    freq, freq_multiplier, tz, week_start
        As in :func:`rfm_summary`.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's.

    Returns
    -------
    DataFrame
        One row per customer and period (customers in key order): the customer column, ``T``,
        ``frequency``, ``recency`` and ``p_alive``.

    Examples
    --------
    A customer buying on days 0 and 2, followed for 4 days with a BG/NBD: alive for sure until
    the repeat purchase (a BG/NBD customer drops out only just after one), then less and less
    sure as no other purchase follows.

    >>> import pandas as pd, kpikit
    >>> log = pd.DataFrame({"customer": [1, 1], "time": pd.to_datetime(["2024-01-01", "2024-01-03"])})
    >>> bg = kpikit.clv.BetaGeo()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> path = kpikit.clv.alive_path(log, model=bg, customer="customer", time="time", t=4)
    >>> path[["T", "frequency", "recency"]].values.tolist()
    [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 1.0, 2.0], [3.0, 1.0, 2.0], [4.0, 1.0, 2.0]]
    >>> path["p_alive"].round(3).tolist()
    [1.0, 1.0, 0.754, 0.719, 0.686]
    """
    _one_machine(table, "alive_path")
    m = _purchase_model(model)
    library = output_of(table, output)
    tz = time_zone(table, [time], tz)
    rows = table_input(table, [customer, time])
    result = _kpikit.clv_alive_path(
        rows,
        model=m._name,
        params=m._p(),
        customer=customer,
        time=time,
        t=None if t is None else _whole("t", t, 0),
        freq=check_freq(freq, _RFM_FREQS),
        week_start=week_start,
        freq_multiplier=float(freq_multiplier),
        tz=tz,
    )
    return table_output(result, library, analysis="alive_path")


@table_function
@checked
def calibration_vs_holdout(
    table: TableLike,
    /,
    *,
    model: BetaGeo | ParetoNBD | BetaGeoBetaBinom,
    kind: str = "frequency",
    n: int = 7,
    output: Output | None = None,
) -> Any:
    """Mean actual and predicted holdout purchases per group of calibration customers.

    The data of lifetimes' ``plot_calibration_purchases_vs_holdout_purchases``
    (docs/conventions.md#model-checks): ``table`` is an :func:`rfm_split`, ``model`` fitted on
    its calibration columns. Customers are grouped by calibration ``frequency`` x (or, with
    ``kind="time_since_last_purchase"``, by T − t_x), values of n − 1 and more pooled into one
    group keyed n − 1 (as :func:`kpikit.plot.calibration_vs_holdout` draws them), and per group

        actual    = mean of frequency_holdout
        predicted = mean of E[Y(duration_holdout) | x, t_x, T]

    Below n − 1 the groups are lifetimes' ``groupby(kind).mean()``; lifetimes shows the first
    ``n`` groups without pooling the rest.

    Parameters
    ----------
    table : pandas or polars DataFrame, pyarrow Table, or a dict of arrays
        Columns ``frequency``, ``recency``, ``T``, ``frequency_holdout``, ``duration_holdout``.
    model : BetaGeo, ParetoNBD or BetaGeoBetaBinom
        Purchase model fitted on the calibration columns.
    kind : {"frequency", "time_since_last_purchase"}, default "frequency"
        What customers are grouped by (lifetimes' ``kind``).
    n : int, default 7
        Number of groups: values of n − 1 and more form the last.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (pandas for a dict).

    Returns
    -------
    DataFrame
        The group column (named as ``kind``), ``customers``, ``actual`` and ``predicted``.

    Examples
    --------
    >>> import pandas as pd, kpikit
    >>> split = pd.DataFrame({"frequency": [0, 1, 1, 2], "recency": [0, 5, 3, 8], "T": [9, 10, 10, 10],
    ...                       "frequency_holdout": [0, 1, 2, 3], "duration_holdout": 4.0})
    >>> bg = kpikit.clv.BetaGeo()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> kpikit.clv.calibration_vs_holdout(split, model=bg, n=2)[["frequency", "customers", "actual"]]
       frequency  customers  actual
    0        0.0        1.0     0.0
    1        1.0        3.0     2.0
    """
    m = _purchase_model(model)
    grouping = choice("kind", kind, ("frequency", "time_since_last_purchase"))
    library = output_of(table, output)
    columns = ("frequency", "recency", "T", "frequency_holdout", "duration_holdout")
    x, tx, bt, holdout, duration = (_floats(_column(table, c)) for c in columns)
    key, customers, actual, predicted = _kpikit.clv_holdout_by_group(
        m._name, m._p(), x, tx, bt, holdout, duration, by=grouping, n=_whole("n", n, 1)
    )
    import pyarrow as pa

    result = pa.table({grouping: key, "customers": customers, "actual": actual, "predicted": predicted})
    return table_output(result, library, analysis="calibration_vs_holdout")
