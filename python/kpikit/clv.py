"""Customer lifetime value: RFM summaries of transaction logs and the buy-till-you-die models.

The models are fitted by maximum likelihood in the Rust core (quasi-Newton on log-parameters,
identical (frequency, recency, T) rows collapsed with weights); the classes here only hold the
fitted parameters and call the core for predictions. Equations: docs/conventions.md#btyd-models
and the papers cited on each class.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _kpikit
from ._convert import check_output, table_input, table_output
from ._typing import Output, TableLike
from .exceptions import KpikitError, ParameterError

__all__ = [
    "rfm_summary",
    "rfm_split",
    "BetaGeo",
    "ParetoNBD",
    "GammaGamma",
    "ShiftedBetaGeo",
    "customer_lifetime_value",
]

# Model time units per month for customer_lifetime_value (lifetimes' convention).
_FACTORS = {"W": 4.345, "M": 1.0, "D": 30.0, "H": 720.0, "h": 720.0}


def _wall_micros(value: Any, tz: str) -> int | None:
    """A time as wall-clock microseconds in ``tz`` (naive times are taken as local to it)."""
    if value is None:
        return None
    import pandas as pd

    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(tz).tz_localize(None)
    return int((ts - pd.Timestamp(0)) // pd.Timedelta(microseconds=1))


def _rfm_output(result: Any, output: Output) -> Any:
    """An RFM table in the library asked for. pandas output keeps one block per column
    (``split_blocks``): the core's float and integer columns (no nulls) become views of the
    Arrow buffers instead of being copied into one 2-D block, which for millions of customers
    is most of the call's time after the kernel (fresh pages to fault in and fill)."""
    if output != "pandas":
        return table_output(result, output)
    import pyarrow as pa

    return pa.table(result).to_pandas(split_blocks=True, date_as_object=False)


def rfm_summary(
    transactions: TableLike,
    *,
    customer: str,
    time: str,
    amount: str | None = None,
    freq: str = "D",
    freq_multiplier: float = 1,
    observation_end: Any = None,
    include_first: bool = False,
    tz: str = "UTC",
    output: Output = "pandas",
) -> Any:
    """Frequency, recency, T and monetary value per customer from a transaction log.

    Follows the conventions of lifetimes' ``summary_data_from_transaction_data``: times are
    bucketed into periods of ``freq``; several transactions in the same period count as one
    (amounts summed); periods after ``observation_end``'s period are dropped. Then

        frequency = purchase periods − 1                      (repeat purchases)
        recency = (last period − first period) / freq_multiplier
        T = (observation_end's period − first period) / freq_multiplier
        monetary_value = mean of the repeat periods' totals   (0 without repeats)

    With ``include_first=True`` the first period counts too: frequency = purchase periods and
    monetary_value is the mean over all periods (recency and T are unchanged).

    Parameters
    ----------
    transactions : pandas or polars DataFrame, pyarrow Table, or any Arrow stream
        One row per transaction. Streamed in its Arrow chunks; never sorted as a whole.
    customer : str
        Customer id column (any type; missing ids raise).
    time : str
        Transaction time (timestamp of any unit, naive or zone-aware, or date).
    amount : str, optional
        Transaction value; adds ``monetary_value``.
    freq : str, default "D"
        Period: "D", "W" (weeks ending Sunday, as pandas), "M", "Q", "Y", "h", "min", "s".
    freq_multiplier : float, default 1
        Divides recency and T (``freq="h", freq_multiplier=24`` gives days at hour resolution).
    observation_end : datetime-like, optional
        End of observation (default: the latest transaction).
    include_first : bool, default False
    tz : str, default "UTC"
        Zone periods are counted in; naive times are taken as local to it.
    output : {"pandas", "polars", "arrow"}, default "pandas"

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
    """
    check_output(output)
    result = _kpikit.rfm_summary(
        table_input(transactions, [customer, time, amount]),
        customer=customer,
        time=time,
        amount=amount,
        freq=freq,
        freq_multiplier=float(freq_multiplier),
        observation_end=_wall_micros(observation_end, tz),
        include_first=include_first,
        tz=tz,
    )
    return _rfm_output(result, output)


def rfm_split(
    transactions: TableLike,
    *,
    customer: str,
    time: str,
    calibration_end: Any,
    observation_end: Any = None,
    amount: str | None = None,
    freq: str = "D",
    freq_multiplier: float = 1,
    include_first: bool = False,
    tz: str = "UTC",
    output: Output = "pandas",
) -> Any:
    """RFM of a calibration period plus what each customer did in the holdout period after it.

    The calibration columns are :func:`rfm_summary` of the transactions up to
    ``calibration_end`` (with it as the observation end), for every customer first seen by
    then. Over the holdout (``calibration_end``, ``observation_end``], as lifetimes'
    ``calibration_and_holdout_data``:

        frequency_holdout = distinct purchase periods in the holdout
        monetary_value_holdout = mean holdout transaction amount   (0 without any)
        duration_holdout = (observation_end's period − calibration_end's period) / freq_multiplier

    Parameters are those of :func:`rfm_summary`; ``observation_end`` defaults to the latest
    transaction and must be after ``calibration_end``.

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
    check_output(output)
    cal = _wall_micros(calibration_end, tz)
    if cal is None:
        raise ParameterError('parameter "calibration_end": a time is required')
    result = _kpikit.rfm_split(
        table_input(transactions, [customer, time, amount]),
        customer=customer,
        time=time,
        calibration_end=cal,
        amount=amount,
        freq=freq,
        freq_multiplier=float(freq_multiplier),
        observation_end=_wall_micros(observation_end, tz),
        include_first=include_first,
        tz=tz,
    )
    return _rfm_output(result, output)


def _floats(values: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(-1))


def _columns(frequency: Any, recency: Any, T: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    """(frequency, recency, T) from three arrays, or from a DataFrame's columns."""
    if recency is None and T is None and hasattr(frequency, "columns"):
        df = frequency
        return tuple(df[n] for n in names)
    return (frequency, recency, T)


def _shape_like(result: np.ndarray, *inputs: Any) -> Any:
    """A prediction shaped like its input: float for scalars, Series for Series/DataFrames."""
    if all(np.ndim(i) == 0 for i in inputs):
        return float(result[0])
    for i in inputs:
        index = getattr(i, "index", None)
        # (a list's .index is a method, not an index)
        if index is not None and not callable(index) and len(index) == len(result):
            import pandas as pd

            return pd.Series(result, index=index)
    return result


class _Model:
    """Holds fitted parameters; fitting and predicting happen in the core."""

    _name = ""
    _param_names: tuple[str, ...] = ()

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = float(penalizer_coef)
        self.params_: dict[str, float] | None = None
        self.standard_errors_: dict[str, float | None] | None = None
        self.log_likelihood_: float | None = None
        self.iterations_: int | None = None
        self.max_frequency_: float | None = None
        self.max_T_: float | None = None

    def _store(self, fit: dict[str, Any]) -> None:
        self.params_ = dict(zip(self._param_names, fit["params"]))
        self.standard_errors_ = dict(zip(self._param_names, fit["std_errors"]))
        self.log_likelihood_ = float(fit["log_likelihood"])
        self.iterations_ = int(fit["iterations"])

    def _p(self) -> list[float]:
        if self.params_ is None:
            raise KpikitError(f"{type(self).__name__} is not fitted yet; call fit(...) first")
        return [self.params_[n] for n in self._param_names]

    @property
    def summary(self) -> Any:
        """Parameters with standard errors and 95 % Wald intervals, as a DataFrame."""
        import pandas as pd

        p = self._p()
        se = [self.standard_errors_[n] if self.standard_errors_ else None for n in self._param_names]
        rows = []
        for name, v, s in zip(self._param_names, p, se):
            s = math.nan if s is None else s
            rows.append((name, v, s, v - 1.959963984540054 * s, v + 1.959963984540054 * s))
        return pd.DataFrame(rows, columns=["param", "coef", "se", "lower 95%", "upper 95%"]).set_index("param")

    def __repr__(self) -> str:
        if self.params_ is None:
            return f"{type(self).__name__}(penalizer_coef={self.penalizer_coef}) (not fitted)"
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({ps}; log-likelihood {self.log_likelihood_:.2f})"

    def _repr_html_(self) -> str:
        if self.params_ is None:
            return f"<pre>{self!r}</pre>"
        html: str = self.summary.to_html()
        return f"<p><b>{type(self).__name__}</b>, log-likelihood {self.log_likelihood_:.2f}</p>{html}"

    def _predict(self, what: str, t: Any, x: Any, tx: Any, big_t: Any) -> np.ndarray:
        arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (t, x, tx, big_t)))
        flat = [_floats(a) for a in arrays]
        return np.asarray(_kpikit.clv_predict(self._name, what, self._p(), *flat))


class _PurchaseModel(_Model):
    """Shared fit and predictions of the (frequency, recency, T) models."""

    def fit(
        self,
        frequency: Any,
        recency: Any = None,
        T: Any = None,
        weights: Any = None,
        initial_params: Any = None,
    ) -> Any:
        """Fit by maximum likelihood to customers' (frequency, recency, T).

        ``frequency`` may be a DataFrame with those columns (an :func:`rfm_summary`). Raises
        :class:`~kpikit.KpikitError` saying why and what to try when the fit cannot converge.
        """
        x, tx, t = _columns(frequency, recency, T, ("frequency", "recency", "T"))
        fit = _kpikit.clv_fit(
            self._name,
            _floats(x),
            _floats(tx),
            _floats(t),
            weights=None if weights is None else _floats(weights),
            penalizer_coef=self.penalizer_coef,
            initial_params=None if initial_params is None else [float(v) for v in initial_params],
        )
        self._store(fit)
        # The extent of the data, for charts (kpikit.plot) that lay out a grid over it.
        self.max_frequency_ = float(np.max(_floats(x)))
        self.max_T_ = float(np.max(_floats(t)))
        return self

    def expected_number_of_purchases_up_to_time(self, t: Any) -> Any:
        """E[X(t)]: expected repeat purchases of a new customer in (0, t]."""
        zero = np.zeros(np.shape(t))
        return _shape_like(self._predict("expected", t, zero, zero, zero), t)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any = None, T: Any = None
    ) -> Any:
        """E[Y(t) | x, t_x, T]: expected purchases in the next t periods of each customer."""
        x, tx, bt = _columns(frequency, recency, T, ("frequency", "recency", "T"))
        return _shape_like(self._predict("conditional", t, x, tx, bt), t, x)

    predict = conditional_expected_number_of_purchases_up_to_time

    def probability_of_n_purchases_up_to_time(self, t: Any, n: Any) -> Any:
        """P(X(t) = n): probability a new customer makes exactly n repeat purchases in (0, t]."""
        zero = np.zeros(np.broadcast(np.asarray(t), np.asarray(n)).shape)
        return _shape_like(self._predict("p_n", t, n, zero, zero), t, n)

    def conditional_probability_alive(self, frequency: Any, recency: Any = None, T: Any = None) -> Any:
        """P(alive | x, t_x, T): probability each customer is still active at T."""
        x, tx, bt = _columns(frequency, recency, T, ("frequency", "recency", "T"))
        return _shape_like(self._predict("alive", 0.0, x, tx, bt), x)


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
    >>> float(bg.conditional_probability_alive(0, 0, 40))
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
    >>> round(gg.conditional_expected_average_profit(2, 30.0), 2)
    30.94
    """

    _name = "GammaGamma"
    _param_names = ("p", "q", "v")

    def fit(
        self,
        frequency: Any,
        monetary_value: Any = None,
        weights: Any = None,
        initial_params: Any = None,
    ) -> GammaGamma:
        """Fit to (frequency, monetary_value) of customers; those with frequency 0 are left out.

        ``frequency`` may be a DataFrame with both columns.
        """
        if monetary_value is None and hasattr(frequency, "columns"):
            frequency, monetary_value = frequency["frequency"], frequency["monetary_value"]
        fit = _kpikit.clv_fit_gamma_gamma(
            _floats(frequency),
            _floats(monetary_value),
            weights=None if weights is None else _floats(weights),
            penalizer_coef=self.penalizer_coef,
            initial_params=None if initial_params is None else [float(v) for v in initial_params],
        )
        self._store(fit)
        return self

    def conditional_expected_average_profit(self, frequency: Any, monetary_value: Any = None) -> Any:
        """E[M | x, m̄]: expected average spend per future transaction of each customer."""
        if monetary_value is None and hasattr(frequency, "columns"):
            frequency, monetary_value = frequency["frequency"], frequency["monetary_value"]
        zero = np.zeros(np.broadcast(np.asarray(frequency), np.asarray(monetary_value)).shape)
        return _shape_like(self._predict("spend", zero, frequency, monetary_value, monetary_value), frequency)


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

    def fit(
        self,
        survivors: Any = None,
        *,
        periods: Any = None,
        churned: Any = None,
        weights: Any = None,
        initial_params: Any = None,
    ) -> ShiftedBetaGeo:
        """Fit to a cohort's survivors n0 ≥ n1 ≥ … (active at the start of each period), or to
        customers: ``periods`` observed (whole numbers ≥ 1) and whether they ``churned`` in
        the last of them."""
        if survivors is not None:
            t, c, w = _kpikit.clv_survivor_rows(_floats(survivors))
        else:
            if periods is None or churned is None:
                raise ParameterError('parameter "survivors": give survivors, or periods and churned')
            t = _floats(periods)
            c = [bool(v) for v in np.asarray(churned).reshape(-1)]
            w = np.ones(len(t)) if weights is None else _floats(weights)
        fit = _kpikit.clv_fit_shifted_beta_geo(
            t,
            c,
            w,
            penalizer_coef=self.penalizer_coef,
            initial_params=None if initial_params is None else [float(v) for v in initial_params],
        )
        self._store(fit)
        return self

    def _curve(self, what: str, t: Any) -> Any:
        zero = np.zeros(np.shape(t))
        return _shape_like(self._predict(what, t, zero, zero, zero), t)

    def survival_function(self, t: Any) -> Any:
        """S(t): share of a cohort still active after t periods."""
        return self._curve("survival", t)

    def retention_rate(self, t: Any) -> Any:
        """r(t) = S(t) / S(t−1): share of those active in period t−1 who renew into period t."""
        return self._curve("retention", t)

    def probability_of_churn(self, t: Any) -> Any:
        """P(T = t): probability a new customer churns in period t."""
        return self._curve("churn", t)

    def expected_residual_lifetime(self, renewals: Any = 0, discount_rate: float = 0.1) -> Any:
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


def customer_lifetime_value(
    transaction_model: BetaGeo | ParetoNBD,
    spend_model: GammaGamma,
    rfm: Any,
    time: int = 12,
    discount_rate: float = 0.01,
    freq: str = "D",
) -> Any:
    """Discounted expected value of each customer over the next ``time`` months.

    As lifetimes: with f the model time units per month (``freq``: "D" 30, "W" 4.345, "M" 1,
    "H" 720), m the Gamma-Gamma expected spend and E[Y(t)] the conditional expected purchases,

        clv = Σ_{i=1..time} m · (E[Y(i·f)] − E[Y((i−1)·f)]) / (1 + discount_rate)^i

    ``discount_rate`` is monthly. ``rfm`` has columns frequency, recency, T and
    monetary_value, in the time unit the transaction model was fitted in.

    Examples
    --------
    >>> import pandas as pd, kpikit
    >>> bg, gg = kpikit.clv.BetaGeo(), kpikit.clv.GammaGamma()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> rfm = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43],
    ...                     "T": [38.86, 38.86], "monetary_value": [0.0, 22.35]})
    >>> kpikit.clv.customer_lifetime_value(bg, gg, rfm, time=12, freq="W").round(2).tolist()
    [8.37, 36.29]
    """
    if freq not in _FACTORS:
        raise ParameterError(f'parameter "freq": {freq!r} is not one of "D", "W", "M", "H"')
    if not isinstance(transaction_model, (BetaGeo, ParetoNBD)):
        raise ParameterError('parameter "transaction_model": must be a fitted BetaGeo or ParetoNBD')
    spend = spend_model.conditional_expected_average_profit(
        _floats(rfm["frequency"]), _floats(rfm["monetary_value"])
    )
    values = _kpikit.clv_lifetime_value(
        transaction_model._name,
        transaction_model._p(),
        _floats(spend),
        _floats(rfm["frequency"]),
        _floats(rfm["recency"]),
        _floats(rfm["T"]),
        time=int(time),
        discount_rate=float(discount_rate),
        factor=_FACTORS[freq],
    )
    import pandas as pd

    return pd.Series(np.asarray(values), index=getattr(rfm, "index", None), name="clv")
