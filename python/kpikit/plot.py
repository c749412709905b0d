"""Standard charts of kpikit results, drawn with matplotlib (imported only when a chart is
drawn; install it with the ``plot`` extra). Every function returns the matplotlib ``Axes``
(:func:`scorecard` returns the ``Figure`` of its grid).

Which chart for which table (:func:`auto` picks it from the columns):

===========================================  ==============================================
table                                        chart
===========================================  ==============================================
``KPI.evaluate``, ``ScorecardResult``        :func:`kpi_trend`, :func:`scorecard`
``mrr_movements``                            :func:`mrr_movements` (bars per movement)
``funnel``, ``funnel_from_stages``           :func:`funnel` (users per step)
``retention``, ``revenue_cohorts``           :func:`retention_heatmap` (cohort triangle)
``active_users``                             :func:`active_users` (DAU/WAU/MAU, DAU/MAU)
``lifecycle``                                :func:`lifecycle` (new, returning, … dormant)
``stickiness``                               :func:`stickiness` (users per active intervals)
``nps``, ``csat``                            :func:`trend` with the 95 % interval band
``revenue_metrics``, ``deal_metrics``,       :func:`trend` of the chosen column(s), one
``lead_metrics``, ``support_metrics``,       line per segment
``campaign_metrics``, ``quota_attainment``,
``onboarding_time``, ``mrr``
``rfm_summary`` + a fitted model             :func:`frequency_recency_matrix`,
                                             :func:`calibration_vs_holdout`
===========================================  ==============================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._render import STATUS_COLOURS
from .exceptions import ParameterError

__all__ = [
    "frequency_recency_matrix",
    "calibration_vs_holdout",
    "kpi_trend",
    "scorecard",
    "trend",
    "mrr_movements",
    "funnel",
    "retention_heatmap",
    "active_users",
    "lifecycle",
    "stickiness",
    "auto",
]


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
        z = model.conditional_probability_alive({"frequency": x.ravel(), "recency": tx.ravel(), "T": np.full(x.size, T)})
        label = "probability alive"
    else:
        z = model.conditional_expected_number_of_purchases_up_to_time(
            {"frequency": x.ravel(), "recency": tx.ravel(), "T": np.full(x.size, T)}, t=t
        )
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
            {"frequency": freq, "recency": np.asarray(split["recency"], dtype=float), "T": np.asarray(split["T"], dtype=float)},
            t=np.asarray(split["duration_holdout"], dtype=float),
        ),
        dtype=float,
    )
    actual = np.asarray(split["frequency_holdout"], dtype=float)
    group = np.minimum(freq, n - 1).astype(int)
    xs = np.arange(n)
    present = np.array([(group == g).any() for g in xs])
    mean_actual = np.array([actual[group == g].mean() if p else np.nan for g, p in zip(xs, present, strict=True)])
    mean_pred = np.array([predicted[group == g].mean() if p else np.nan for g, p in zip(xs, present, strict=True)])
    ax = _axes(ax)
    ax.plot(xs, mean_actual, marker="o", label="actual")
    ax.plot(xs, mean_pred, marker="s", label="predicted")
    ax.set_xlabel(f"purchases in the calibration period ({n - 1}+ pooled)")
    ax.set_ylabel("mean purchases in the holdout period")
    ax.legend()
    return ax




def _frame(table: Any) -> Any:
    """Any kpikit output (pandas, polars, pyarrow) as pandas."""
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        return table
    if hasattr(table, "to_pandas"):
        return table.to_pandas()
    raise ParameterError(f"expected a table (pandas, polars or pyarrow), got {type(table).__name__}")


def _plain(text: str) -> str:
    """Text from the data (a KPI's name, a segment, a column) drawn as written: matplotlib reads
    a pair of ``$`` as mathtext ("Spend ($k) per logo ($k)" would turn into maths, and an
    unknown command in it fails the whole chart), so each ``$`` is escaped; control characters,
    which no font draws, are shown escaped as ``repr`` writes them."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text).replace("$", r"\$")


def _date_axis(ax: Any, labelsize: int = 8) -> None:
    """Dates on the x axis as few, level labels in words ("2026", "Apr", "Jul"): matplotlib's
    concise formatter instead of rotated ISO dates."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.tick_params(axis="x", labelrotation=0, labelsize=labelsize)


def _need(frame: Any, columns: list[str], chart: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParameterError(f"kpikit.plot.{chart}: the table has no column {missing[0]!r} (it has {list(frame.columns)})")


def kpi_trend(history: Any, kpi: str | None = None, *, unit: str | None = None, currency: str | None = None,
              ax: Any = None) -> Any:
    """A KPI's values over time against its target, each point coloured by its status.

    The target is drawn as a line (a step line for ``target="previous"``), a range as a band
    between ``target_low`` and ``target_high``; where the history has the 95 % interval
    (``ci_low``/``ci_high``) it is shaded, and anomalies (``anomaly`` = true) are ringed.
    Fractions are shown as percentages (value × 100 %). With a scorecard result, the KPI's
    periods that are not complete yet (the current quarter, cohorts still converting) are drawn
    hollow over a hatched band labelled "incomplete": shown, never judged.

    Parameters
    ----------
    history : DataFrame or ScorecardResult
        A :meth:`kpikit.KPI.evaluate` result, or a scorecard result with ``kpi`` naming one of
        its KPIs.
    kpi : str, optional
        The KPI's name, with a scorecard result (also the chart's title).
    unit : str, optional
        The metric's unit (default: the scorecard's, else none).
    currency : str, optional
        The ISO code of money, named on the axis (default: the scorecard's).
    ax : matplotlib Axes, optional

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import pandas as pd, kpikit
    >>> history = pd.DataFrame({"period": pd.date_range("2026-01-01", periods=4, freq="MS"),
    ...                         "churn": [0.05, 0.04, 0.023, 0.019]})
    >>> judged = kpikit.KPI("churn", target=0.02, direction="decrease").evaluate(history)
    >>> ax = kpikit.plot.kpi_trend(judged, "Customer churn", unit="fraction")
    >>> ax.get_lines()[0].get_ydata().round(1).tolist()   # value, in percent
    [5.0, 4.0, 2.3, 1.9]
    """
    import pandas as pd

    partial = None
    if hasattr(history, "histories"):
        if kpi is None or kpi not in history.histories:
            raise ParameterError(f"kpikit.plot.kpi_trend: name one of the scorecard's KPIs: {sorted(history.histories)}")
        rows = history.rows[history.rows["kpi"] == kpi]
        unit = unit or str(rows["unit"].iloc[0])
        partial = getattr(history, "incomplete", {}).get(kpi)
        currency = currency or getattr(history, "currency", None)
        history = history.histories[kpi]
    h = _frame(history)
    _need(h, ["period", "value", "status"], "kpi_trend")
    scale = 100.0 if unit == "fraction" else 1.0
    x = pd.to_datetime(h["period"])
    ax = _axes(ax)
    ax.plot(x, h["value"].astype(float) * scale, color="#343a40", linewidth=1.5, label="value", zorder=2)
    colours = [STATUS_COLOURS.get(str(s), "#868e96") for s in h["status"]]
    ax.scatter(x, h["value"].astype(float) * scale, c=colours, s=28, zorder=3)
    if "ci_low" in h and h["ci_low"].notna().any():
        ax.fill_between(x, h["ci_low"].astype(float) * scale, h["ci_high"].astype(float) * scale,
                        color="#adb5bd", alpha=0.3, linewidth=0, label="95 % interval")
    if "target_low" in h:
        ax.fill_between(x, h["target_low"].astype(float) * scale, h["target_high"].astype(float) * scale,
                        color="#37b24d", alpha=0.15, linewidth=0, label="target range")
    elif "target" in h and h["target"].notna().any():
        ax.step(x, h["target"].astype(float) * scale, where="mid", color="#37b24d", linestyle="--", linewidth=1.2,
                label="target")
    if "anomaly" in h:
        flagged = h["anomaly"].fillna(False).astype(bool).to_numpy()
        if flagged.any():
            ax.scatter(x[flagged], h["value"].astype(float)[flagged] * scale, s=140, facecolors="none",
                       edgecolors="#c92a2a", linewidths=1.5, zorder=4, label="anomaly")
    if partial is not None and len(partial):
        px = pd.to_datetime(partial["period"])
        step = (x.iloc[-1] - x.iloc[-2]) if len(x) > 1 else pd.Timedelta(days=30)
        ax.axvspan(px.min() - step / 2, px.max() + step / 2, facecolor="none", edgecolor="#adb5bd", hatch="///",
                   linewidth=0, label="incomplete", zorder=0)
        ax.scatter(px, partial["value"].astype(float) * scale, s=28, facecolors="white", edgecolors="#495057",
                   zorder=3)
    ax.set_ylabel({"fraction": "%", "currency": currency or "amount", "score": "points"}.get(unit or "", unit or "value"))
    if kpi:
        status = str(h["status"].iloc[-1]).replace("_", " ") if len(h) else "no data"
        ax.set_title(_plain(f"{kpi} — {status}"), fontsize=10)
    ax.legend(fontsize=7, loc="best")
    _date_axis(ax)
    return ax


def scorecard(result: Any, *, ncols: int = 3, width: float = 4.0, height: float = 2.6) -> Any:
    """Every KPI of an evaluated scorecard as a small :func:`kpi_trend` chart, in a grid.

    The grid has ceil(KPIs / ncols) rows; the north star comes first.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kpikit
    >>> card = kpikit.Scorecard([kpikit.KPI("customer_churn_rate", target=0.03),
    ...                          kpikit.KPI("win_rate", target=0.25, cadence="quarter")])
    >>> fig = kpikit.plot.scorecard(card.evaluate(kpikit.Sources.demo(scale=0.05)), ncols=2)
    >>> len([a for a in fig.axes if a.get_visible()])
    2
    """
    import matplotlib.pyplot as plt

    names = list(result.rows.sort_values("north_star", ascending=False, kind="stable")["kpi"])
    if ncols < 1:
        raise ParameterError("parameter 'ncols': must be >= 1")
    nrows = max(1, -(-len(names) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i < len(names):
            kpi_trend(result, names[i], ax=ax)
        else:
            ax.set_visible(False)
    fig.tight_layout()
    return fig


def trend(table: Any, /, y: str | list[str], *, by: str | None = None, ci: tuple[str, str] | None = None,
          percent: bool | None = None, ax: Any = None) -> Any:
    """Any per-period kpikit table as lines over ``period``: one line per column of ``y`` (or
    per segment of ``by``), with a shaded interval band when ``ci`` = (low, high) columns are
    given (``nps``: ``("nps_ci_low", "nps_ci_high")``). Rates (columns whose values all lie in
    [0, 1] and whose name ends in ``rate``, ``retention``, ``csat``, ``share`` or ``dau_mau``)
    are shown as percentages, value × 100 %, unless ``percent`` says otherwise.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kpikit
    >>> d = kpikit.datasets.demo(scale=0.05)
    >>> monthly = kpikit.nps(d.responses, score="score", time="time", freq="quarter")
    >>> ax = kpikit.plot.trend(monthly, "nps", ci=("nps_ci_low", "nps_ci_high"))
    >>> len(ax.get_lines()) == 1 and len(ax.collections) == 1
    True
    """
    import pandas as pd

    f = _frame(table)
    ys = [y] if isinstance(y, str) else list(y)
    _need(f, ["period", *ys, *([by] if by else []), *(ci or ())], "trend")
    if by is not None and len(ys) != 1:
        raise ParameterError("kpikit.plot.trend: with by=, give one column y")
    ax = _axes(ax)

    def as_percent(col: str) -> bool:
        if percent is not None:
            return percent
        v = f[col].dropna().astype(float)
        return col.endswith(("rate", "retention", "csat", "share", "dau_mau")) and bool(((v >= 0) & (v <= 1)).all())

    groups = [(str(k), g) for k, g in f.groupby(by, sort=True)] if by else [(None, f)]
    for key, g in groups:
        for col in ys:
            scale = 100.0 if as_percent(col) else 1.0
            x = pd.to_datetime(g["period"])
            ax.plot(x, g[col].astype(float) * scale, marker="o", markersize=3, label=_plain(str(key if by else col)))
            if ci is not None:
                ax.fill_between(x, g[ci[0]].astype(float) * scale, g[ci[1]].astype(float) * scale, alpha=0.2,
                                linewidth=0)
    ax.set_ylabel(_plain(ys[0]) + (" (%)" if as_percent(ys[0]) else "") if len(ys) == 1 else "value")
    if by or len(ys) > 1:
        ax.legend(fontsize=8)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return ax


_MOVEMENTS = [("new_mrr", 1, "#37b24d"), ("expansion_mrr", 1, "#74b816"), ("reactivation_mrr", 1, "#1c7ed6"),
              ("contraction_mrr", -1, "#f59f00"), ("churned_mrr", -1, "#e03131")]


def mrr_movements(table: Any, /, *, currency: str | None = None, ax: Any = None) -> Any:
    """MRR movements per period as bars: new, expansion and reactivation MRR above zero,
    contraction and churned MRR below, and the net new MRR as a line:

        net_new_mrr = new + expansion + reactivation − contraction − churned

    Segments (a ``by=`` table) are summed per period; ``currency`` (an ISO code) names the
    axis's money.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kpikit
    >>> d = kpikit.datasets.demo(scale=0.05)
    >>> m = kpikit.mrr_movements(d.subscriptions, customer="customer_id", period="month", mrr="mrr")
    >>> ax = kpikit.plot.mrr_movements(m)
    >>> bool((ax.get_lines()[0].get_ydata() == m.net_new_mrr.to_numpy()).all())
    True
    """
    import pandas as pd

    f = _frame(table)
    _need(f, ["period", "net_new_mrr", *(c for c, _, _ in _MOVEMENTS)], "mrr_movements")
    f = f.groupby("period", sort=True)[[c for c, _, _ in _MOVEMENTS] + ["net_new_mrr"]].sum().reset_index()
    x = pd.to_datetime(f["period"])
    width = 0.8 * (x.diff().median().days if len(x) > 1 else 28)
    ax = _axes(ax)
    up = np.zeros(len(f))
    down = np.zeros(len(f))
    for col, sign, colour in _MOVEMENTS:
        v = f[col].astype(float).to_numpy()
        base = up if sign > 0 else down
        ax.bar(x, sign * v, width=width, bottom=base, color=colour, label=col.removesuffix("_mrr"))
        if sign > 0:
            up = up + v
        else:
            down = down - v
    ax.plot(x, f["net_new_mrr"].astype(float).to_numpy(), color="#212529", marker="o", markersize=3, label="net new")
    ax.axhline(0, color="#868e96", linewidth=0.8)
    ax.set_ylabel(f"MRR ({currency})" if currency else "MRR")
    ax.legend(fontsize=7, ncol=3)
    _date_axis(ax)
    return ax


def funnel(table: Any, /, *, entry_period: Any = None, ax: Any = None) -> Any:
    """A funnel as horizontal bars: users who reached each step, labelled with the conversion
    from the previous step and from the first.

        reached(step 1) = entered(step 1); reached(step k) = converted(step k)

    A per-period funnel (``freq=``) is summed over the cohorts whose window has closed
    (``complete``), or shown for one ``entry_period``.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kpikit
    >>> d = kpikit.datasets.demo(scale=0.05)
    >>> f = kpikit.funnel_from_stages(d.leads, stages=["visited_at", "signed_up_at", "pql_at", "customer_at"])
    >>> ax = kpikit.plot.funnel(f)
    >>> [int(p.get_width()) for p in ax.patches] == [int(f.entered[0]), *f.converted[1:].astype(int)]
    True
    """
    import pandas as pd

    f = _frame(table)
    _need(f, ["step", "entered", "converted"], "funnel")
    if "period" in f.columns:
        if entry_period is not None:
            f = f[pd.to_datetime(f["period"]) == pd.Timestamp(entry_period)]
        elif "complete" in f.columns:
            f = f[f["complete"].astype(bool)]
        if f.empty:
            raise ParameterError("kpikit.plot.funnel: no complete cohort (or no such period) in the table")
    name = "step_name" if "step_name" in f.columns else "step"
    g = f.groupby("step", sort=True).agg(entered=("entered", "sum"), converted=("converted", "sum"), name=(name, "first"))
    reached = np.concatenate([[g["entered"].iloc[0]], g["converted"].iloc[1:].to_numpy()]).astype(float)
    ax = _axes(ax)
    # Stage columns in words ("signed_up_at" → "signed up"): the chart is read, not queried.
    labels = [_plain(str(n)).removesuffix("_at").replace("_", " ") for n in g["name"]]
    ypos = np.arange(len(g))[::-1]
    ax.barh(ypos, reached, color="#4c6ef5")
    ax.set_yticks(ypos, labels)
    for i, (y, v) in enumerate(zip(ypos, reached, strict=True)):
        text = f"{v:,.0f}"
        if i > 0 and reached[i - 1] > 0:
            text += f"  ({100 * v / reached[i - 1]:.1f} % of previous, {100 * v / reached[0]:.1f} % of first)"
        ax.text(v, y, " " + text, va="center", fontsize=8)
    positive = reached[reached > 0]
    if len(positive) and positive.max() / positive.min() > 20:
        # Steps a hundred times apart: a log axis, or the last steps are slivers.
        ax.set_xscale("log")
        ax.set_xlim(positive.min() / 2, positive.max() * 40)
        ax.set_xlabel("people reaching each stage (log scale)")
    else:
        ax.set_xlim(0, reached.max() * 1.6 if reached.max() > 0 else 1)
        ax.set_xlabel("people reaching each stage")
    return ax


def retention_heatmap(table: Any, /, *, value: str | None = None, ax: Any = None) -> Any:
    """A cohort triangle as a heat map: one row per cohort, one column per period since the
    cohort started, each cell the retention rate (× 100 %):

        rate(cohort, k) = retained(cohort, k) / cohort_size(cohort)

    Takes :func:`kpikit.retention` (``rate``) or :func:`kpikit.revenue_cohorts`
    (``logo_retention``, or ``value="net_mrr_retention"``).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kpikit
    >>> d = kpikit.datasets.demo(scale=0.05)
    >>> r = kpikit.retention(d.events, user="user_id", time="time", freq="month")
    >>> ax = kpikit.plot.retention_heatmap(r)
    >>> ax.images[0].get_array().shape == (r.cohort.nunique(), r.period_number.max() + 1)
    True
    """
    import pandas as pd

    f = _frame(table)
    if "period_number" not in f.columns and {"cohort", "period"} <= set(f.columns):
        c = pd.to_datetime(f["cohort"])
        p = pd.to_datetime(f["period"])
        f = f.assign(period_number=(p.dt.year - c.dt.year) * 12 + (p.dt.month - c.dt.month))
    value = value or ("rate" if "rate" in f.columns else "logo_retention")
    _need(f, ["cohort", "period_number", value], "retention_heatmap")
    grid = f.pivot_table(index="cohort", columns="period_number", values=value, aggfunc="first").sort_index()
    ax = _axes(ax)
    cells = grid.to_numpy(dtype=float) * 100.0
    # The colour scale spans the later periods (period 0 is 100 % by definition and would wash
    # every other cell out); cells above it are drawn at its darkest.
    later = cells[:, 1:] if cells.shape[1] > 1 else cells
    top = float(np.nanmax(later)) if np.isfinite(later).any() else 100.0
    top = max(top, 1.0)
    image = ax.imshow(cells, aspect="auto", interpolation="nearest", cmap="YlGnBu", vmin=0, vmax=top)
    ax.figure.colorbar(image, ax=ax, label=f"{_plain(value).replace('_', ' ')} (%)")
    if cells.size <= 900:  # numbers in the cells while they fit
        size = 7 if cells.shape[1] <= 16 else 5
        for (row, col), v in np.ndenumerate(cells):
            if np.isfinite(v):
                ax.text(col, row, f"{v:.0f}", ha="center", va="center", fontsize=size,
                        color="white" if v > 0.55 * top else "#212529")
    step = max(1, len(grid) // 12)
    ax.set_yticks(range(0, len(grid), step), [pd.Timestamp(c).strftime("%Y-%m") for c in grid.index[::step]], fontsize=7)
    ax.set_xlabel("periods since the cohort started")
    ax.set_ylabel("cohort")
    return ax


def active_users(table: Any, /, *, ax: Any = None) -> Any:
    """DAU, WAU and MAU over time, with the stickiness ratio DAU/MAU = DAU ÷ MAU on a second
    axis (in %; for daily data its 7-day mean, from the first full 30-day window). Other window
    columns of the table are drawn too.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kpikit
    >>> d = kpikit.datasets.demo(scale=0.05)
    >>> a = kpikit.active_users(d.events, user="user_id", time="time", freq="week")
    >>> ax = kpikit.plot.active_users(a)
    >>> [line.get_label() for line in ax.get_lines()]
    ['dau', 'wau', 'mau']
    """
    import pandas as pd

    f = _frame(table)
    _need(f, ["period"], "active_users")
    skip = {"period", "active_users", "dau_mau"}
    windows = [c for c in f.columns if c not in skip and not c.endswith("_mau") and f[c].dtype.kind in "iuf"]
    if "by" in f.attrs or any(f[c].dtype == object for c in f.columns if c != "period"):
        raise ParameterError("kpikit.plot.active_users: plot one segment at a time (filter the table first)")
    x = pd.to_datetime(f["period"])
    ax = _axes(ax)
    for c in windows:
        ax.plot(x, f[c].astype(float), label=c)
    ax.set_ylabel("active users")
    handles, names = ax.get_legend_handles_labels()
    if "dau_mau" in f.columns:
        ratio = f["dau_mau"].astype(float).to_numpy() * 100
        daily = len(x) > 1 and (x.diff().median() == pd.Timedelta(days=1))
        label = "DAU/MAU (right, %)"
        if daily:
            # The first 29 days' MAU window is not full yet (windows at the start cover only the
            # days the data has): their ratio starts at 100 % and means nothing. Weekends swing
            # the daily ratio by a factor of three: the line is its 7-day mean.
            ratio = pd.Series(np.where(x < x.min() + pd.Timedelta(days=29), np.nan, ratio)).rolling(7).mean().to_numpy()
            label = "DAU/MAU, 7-day mean (right, %)"
        right = ax.twinx()
        line = right.plot(x, ratio, color="#495057", linestyle="--", linewidth=1.2, label=label)
        right.set_ylabel("DAU/MAU (%)")
        handles, names = handles + line, [*names, label]
    ax.legend(handles, names, fontsize=8, loc="upper left")
    _date_axis(ax)
    return ax


_LIFECYCLE = [("new", "#37b24d"), ("returning", "#4c6ef5"), ("resurrecting", "#f59f00"), ("dormant", "#e03131")]


def lifecycle(table: Any, /, *, ax: Any = None) -> Any:
    """Users per lifecycle status and period as stacked bars: new, returning and resurrecting
    above zero, dormant (negative counts) below; ``active`` = new + returning + resurrecting.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kpikit
    >>> d = kpikit.datasets.demo(scale=0.05)
    >>> life = kpikit.lifecycle(d.events, user="user_id", time="time", freq="month")
    >>> ax = kpikit.plot.lifecycle(life)
    >>> len(ax.patches) == 4 * len(life)
    True
    """
    import pandas as pd

    f = _frame(table)
    _need(f, ["period", *(c for c, _ in _LIFECYCLE)], "lifecycle")
    x = pd.to_datetime(f["period"])
    width = 0.8 * (x.diff().median().days if len(x) > 1 else 1)
    ax = _axes(ax)
    base = np.zeros(len(f))
    for col, colour in _LIFECYCLE:
        v = f[col].astype(float).to_numpy()
        if col == "dormant":
            ax.bar(x, v, width=width, color=colour, label=col)
        else:
            ax.bar(x, v, width=width, bottom=base, color=colour, label=col)
            base = base + v
    ax.axhline(0, color="#868e96", linewidth=0.8)
    ax.set_ylabel("users")
    ax.legend(fontsize=8, ncol=4)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return ax


def stickiness(table: Any, /, *, ax: Any = None) -> Any:
    """Users by number of active intervals as bars (PostHog's stickiness), share = users ÷ all
    users on the labels.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kpikit
    >>> d = kpikit.datasets.demo(scale=0.05)
    >>> s = kpikit.stickiness(d.events, user="user_id", time="time", start="2026-10-01", end="2026-11-01")
    >>> ax = kpikit.plot.stickiness(s)
    >>> [int(p.get_height()) for p in ax.patches] == s.users.astype(int).tolist()
    True
    """
    f = _frame(table)
    _need(f, ["intervals", "users"], "stickiness")
    ax = _axes(ax)
    ax.bar(f["intervals"].astype(int), f["users"].astype(float), color="#4c6ef5")
    ax.set_xlabel("active intervals")
    ax.set_ylabel("users")
    return ax


def auto(table: Any, /, *, ax: Any = None) -> Any:
    """The obvious chart of a kpikit table, chosen from its columns (see the module's table):
    a movement table gets :func:`mrr_movements`, a funnel :func:`funnel`, a cohort triangle
    :func:`retention_heatmap`, and so on; any other per-period table gets :func:`trend` of its
    headline column (the first rate or value column = the table's namesake).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import kpikit
    >>> d = kpikit.datasets.demo(scale=0.05)
    >>> rated = d.tickets.dropna(subset=["csat"])
    >>> ax = kpikit.plot.auto(kpikit.csat(rated, score="csat", time="opened", freq="month"))
    >>> ax.get_ylabel()
    'csat (%)'
    """
    if hasattr(table, "histories"):
        return scorecard(table)
    f = _frame(table)
    cols = set(f.columns)
    if {"value", "status", "period"} <= cols:
        return kpi_trend(f, ax=ax)
    if {"new_mrr", "churned_mrr", "net_new_mrr"} <= cols:
        return mrr_movements(f, ax=ax)
    if {"step", "entered", "converted"} <= cols:
        return funnel(f, ax=ax)
    if {"cohort", "period_number"} <= cols or {"cohort", "logo_retention"} <= cols:
        return retention_heatmap(f, ax=ax)
    if {"new", "returning", "resurrecting", "dormant"} <= cols:
        return lifecycle(f, ax=ax)
    if {"intervals", "users"} <= cols:
        return stickiness(f, ax=ax)
    if {"dau", "dau_mau"} <= cols:
        return active_users(f, ax=ax)
    for headline, ci in (("nps", ("nps_ci_low", "nps_ci_high")), ("csat", ("csat_ci_low", "csat_ci_high"))):
        if headline in cols:
            return trend(f, headline, ci=ci, ax=ax)
    by = "segment" if "segment" in cols else None
    for headline in ("mrr", "win_rate", "attainment", "qualified_leads", "tickets_opened", "open_rate",
                     "onboarding_days_median", "onboarding_days"):
        if headline in cols and "period" in cols:
            return trend(f, headline, by=by, ax=ax)
    raise ParameterError(f"kpikit.plot.auto: no chart known for a table with columns {sorted(cols)}; "
                         "use kpikit.plot.trend(table, column)")


def __dir__() -> list[str]:
    # The namespace shows the public API only; imports are not part of it (docs/vocabulary.md).
    return sorted(__all__)
