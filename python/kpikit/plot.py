"""Standard charts of kpikit results, drawn with matplotlib (imported only when a chart is
drawn; install it with the ``plot`` extra). Every function returns the matplotlib ``Axes``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .exceptions import ParameterError

__all__ = ["frequency_recency_matrix", "calibration_vs_holdout"]


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def frequency_recency_matrix(
    model: Any,
    *,
    T: float | None = None,
    t: float = 1.0,
    what: str = "purchases",
    max_frequency: int | None = None,
    max_recency: int | None = None,
    ax: Any = None,
) -> Any:
    """Heat map over frequency x and recency t_x of a customer of age T:

        cell(x, t_x) = E[Y(t) | x, t_x, T]        (what="purchases", the next t periods)
        cell(x, t_x) = P(alive | x, t_x, T)       (what="alive")

    Parameters
    ----------
    model : kpikit.clv.BetaGeo or kpikit.clv.ParetoNBD
        A fitted model.
    T : float, optional
        Customer age (default: the largest T the model was fitted on).
    t : float, default 1
        Horizon of the expected purchases.
    what : {"purchases", "alive"}
    max_frequency, max_recency : int, optional
        Grid extent (default: the largest frequency fitted on, and T).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The image's rows are frequencies 0…max_frequency, columns recencies 0…max_recency.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kpikit
    >>> bg = kpikit.clv.BetaGeo()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> ax = kpikit.plot.frequency_recency_matrix(bg, T=39, what="alive", max_frequency=10)
    >>> ax.images[0].get_array().shape
    (11, 40)
    """
    if what not in ("purchases", "alive"):
        raise ParameterError(f'parameter "what": {what!r} is not one of "purchases", "alive"')
    T = float(T if T is not None else (getattr(model, "max_T_", None) or 0.0))
    if T <= 0:
        raise ParameterError('parameter "T": give the customer age T (the model was not fitted on data here)')
    fmax = int(max_frequency if max_frequency is not None else (getattr(model, "max_frequency_", None) or 10))
    rmax = int(max_recency if max_recency is not None else np.floor(T))
    x, tx = np.meshgrid(np.arange(fmax + 1, dtype=float), np.arange(rmax + 1, dtype=float), indexing="ij")
    if what == "alive":
        z = model.conditional_probability_alive(x.ravel(), tx.ravel(), np.full(x.size, T))
        label = "probability alive"
    else:
        z = model.conditional_expected_number_of_purchases_up_to_time(t, x.ravel(), tx.ravel(), np.full(x.size, T))
        label = f"expected purchases in the next {t:g} periods"
    z = np.asarray(z).reshape(x.shape)
    ax = _axes(ax)
    image = ax.imshow(z, origin="lower", aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("recency (t_x)")
    ax.set_ylabel("frequency (x)")
    ax.set_title(f"{type(model).__name__}: {label}, customers of age T = {T:g}")
    return ax


def calibration_vs_holdout(model: Any, split: Any, *, n: int = 7, ax: Any = None) -> Any:
    """Actual versus predicted holdout purchases, averaged by calibration frequency.

    For customers grouped by calibration frequency x (x >= n - 1 pooled into the last group):

        actual = mean frequency_holdout
        predicted = mean E[Y(duration_holdout) | frequency, recency, T]

    Parameters
    ----------
    model : kpikit.clv.BetaGeo or kpikit.clv.ParetoNBD
        Fitted on the calibration columns of ``split``.
    split : DataFrame
        A :func:`kpikit.rfm_split` result (pandas).
    n : int, default 7
        Number of frequency groups.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        Two lines, "actual" then "predicted", over the groups 0…n−1.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd, kpikit
    >>> bg = kpikit.clv.BetaGeo()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> split = pd.DataFrame({"frequency": [0, 1, 2], "recency": [0.0, 10.0, 30.0], "T": [39.0] * 3,
    ...                       "frequency_holdout": [0.0, 1.0, 2.0], "duration_holdout": [39.0] * 3})
    >>> ax = kpikit.plot.calibration_vs_holdout(bg, split, n=3)
    >>> ax.get_lines()[0].get_ydata().tolist()
    [0.0, 1.0, 2.0]
    """
    if n < 1:
        raise ParameterError('parameter "n": must be >= 1')
    freq = np.asarray(split["frequency"], dtype=float)
    predicted = np.asarray(
        model.conditional_expected_number_of_purchases_up_to_time(
            np.asarray(split["duration_holdout"], dtype=float),
            freq,
            np.asarray(split["recency"], dtype=float),
            np.asarray(split["T"], dtype=float),
        ),
        dtype=float,
    )
    actual = np.asarray(split["frequency_holdout"], dtype=float)
    group = np.minimum(freq, n - 1).astype(int)
    xs = np.arange(n)
    present = np.array([(group == g).any() for g in xs])
    mean_actual = np.array([actual[group == g].mean() if p else np.nan for g, p in zip(xs, present)])
    mean_pred = np.array([predicted[group == g].mean() if p else np.nan for g, p in zip(xs, present)])
    ax = _axes(ax)
    ax.plot(xs, mean_actual, marker="o", label="actual")
    ax.plot(xs, mean_pred, marker="s", label="predicted")
    ax.set_xlabel(f"purchases in the calibration period ({n - 1}+ pooled)")
    ax.set_ylabel("mean purchases in the holdout period")
    ax.legend()
    return ax
