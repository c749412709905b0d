"""KPIs: a metric tied to an objective — a target, a direction, a cadence, an owner — and the
status of each period of the metric's history against it.

All KPIs are metrics; not all metrics are KPIs. A metric (``net_revenue_retention``, a column of
:func:`kpikit.revenue_metrics`) explains; a KPI (NRR ≥ 110 % by the end of the quarter, owned by
the head of customer success) decides. The judging rules live in the Rust core.

Status rules and change signals: docs/conventions.md#kpis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _kpikit
from ._analysis import output_of
from ._convert import table_input, table_output
from ._typing import Output
from .exceptions import ParameterError

__all__ = ["KPI", "STATUSES"]

#: Every status a period can get, from the Power BI goals vocabulary plus ``no_data``.
STATUSES = ("not_started", "no_data", "on_track", "at_risk", "behind", "achieved", "overdue")


def _columns(table: Any) -> list[str]:
    """A table's column names (pandas, polars, Arrow), or none."""
    names = table.column_names if hasattr(table, "column_names") else getattr(table, "columns", None)
    return [str(c) for c in names] if names is not None else []


def _date_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    import pandas as pd

    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    except (ValueError, TypeError):
        raise ParameterError(f"parameter {name!r}: {value!r} is not a date") from None


@dataclass(frozen=True)
class KPI:
    """A metric tied to an objective, judged period by period.

    Parameters
    ----------
    metric : str
        The metric's id: the column of the history holding it (``value=`` overrides).
    target : float, (low, high) or "previous"
        A value to reach (or get down to), a range to stay in ("keep churn between 1 % and
        2 %": ``target=(0.01, 0.02)``), or ``"previous"``: do at least as well as the period
        before ("keep growing qualified leads").
    direction : {"increase", "decrease", "neutral"}, optional
        The favourable direction. By default the catalog's (:func:`kpikit.metric`); a range is
        neutral; a metric outside the catalog reads it from the start value: a target above the
        start is an increase, below it a decrease (as OKR trackers do).
    cadence : {"day", "week", "month", "quarter", "year"}, default "month"
        The review period; the history has one row per period of it. The aliases the analyses
        take ("D", "W", "M", "Q", "Y", "quarterly"…) are read as these names.
    owner, name : str, optional
        Who answers for it, and its display name (default: the metric id).
    start, deadline : date, optional
        First period tracked (earlier ones are ``not_started``), and the period by which the
        target must be met. Without a deadline the target is ongoing: each period meets it or
        not.
    thresholds : mapping, optional
        ``{"at_risk": band}``: a value (or, with a deadline, the projected value) short of the
        target by at most ``band`` — in the metric's unit — is at risk rather than behind.
        Default 0.
    start_value : float, optional
        What progress is measured from (default: the first value from ``start``).
    pace_periods : int, default 3
        Recent periods whose straight-line trend is projected to the deadline.
    notes : mapping, optional
        Check-in notes per period (``{"2026-03": "pricing change"}``), kept with the KPI.
    numerator, denominator : str, optional
        Columns of the history holding the counts behind a rate (e.g. ``"churned_customers"``
        of ``"starting_customers"``). With them each period also gets ``ci_low``/``ci_high``
        and ``significant``; without them those columns are absent.
    anomaly_periods : int, default 6
        How many earlier values the ``anomaly`` flag is scored against.

    Notes
    -----
    Per period, as of that period (value v, target t, start value s):

    * ``attainment`` = (v − s) / (t − s) for an increase, (s − v) / (s − t) for a decrease
      (1 = target met; above 1 = beyond it); when the start already meets the target there is
      no distance to measure: 1 if met, 0 if not; 1 inside a range and null outside it;
    * ``change`` = v − previous value, ``improved`` = whether it moved the favourable way
      (towards the range, for a range; null when unchanged);
    * ``status``: ``not_started`` before ``start``; ``no_data`` without a value; target met:
      ``achieved`` (with a deadline) or ``on_track`` (ongoing); past the deadline and not met:
      ``overdue``; before the deadline: the straight line through the last ``pace_periods``
      values is projected to the deadline (``projected``) — ``on_track`` if it meets the target,
      ``at_risk`` if short by at most the band, ``behind`` otherwise; an ongoing target not
      met: ``at_risk`` within the band, else ``behind``;
    * ``target="previous"``: each period's target is the previous value; at least as good is
      ``on_track``, short by at most the band ``at_risk``, else ``behind``; the first period,
      with nothing to compare to, is ``not_started``; no attainment or projection;
    * with counts k of n: ``ci_low``/``ci_high`` = the Wilson 95 % interval of p = k/n,
      (p + z²/2n ∓ z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n) with z = 1.959964 (null when n = 0);
      ``significant`` = the two-proportion z-test of the change from the previous period with
      counts, z = (p₂ − p₁) / √(p̄(1−p̄)(1/n₁ + 1/n₂)) with the pooled p̄ = (k₁+k₂)/(n₁+n₂),
      true when |z| > 1.959964 (5 %, two-sided); a pooled rate of 0 or 1 is no change (false);
    * ``anomaly`` = a sudden spike or drop: with m and MAD the median and the median absolute
      deviation of the previous ``anomaly_periods`` values (missing periods skipped),
      |v − m| / (1.4826 · MAD) > 3.5 (Iglewicz and Hoaglin's modified z-score); null with
      fewer earlier values, and null when MAD = 0 — a flat run has no spread to judge a
      departure by, and flagging any departure would flag each step of a small count.

    Examples
    --------
    Churn down from 5 % to 2 % a month, at risk within half a point:

    >>> import pandas as pd, kpikit
    >>> history = pd.DataFrame({"period": pd.date_range("2026-01-01", periods=4, freq="MS"),
    ...                         "customer_churn_rate": [0.05, 0.04, 0.023, 0.019]})
    >>> kpi = kpikit.KPI("customer_churn_rate", target=0.02, thresholds={"at_risk": 0.005})
    >>> kpi.evaluate(history)[["attainment", "status"]]
       attainment    status
    0    0.000000    behind
    1    0.333333    behind
    2    0.900000   at_risk
    3    1.033333  on_track
    """

    metric: str
    target: float | tuple[float, float] | str
    direction: str | None = None
    cadence: str = "month"
    owner: str | None = None
    start: Any = None
    deadline: Any = None
    thresholds: Mapping[str, float] | None = None
    name: str | None = None
    start_value: float | None = None
    pace_periods: int = 3
    notes: Mapping[str, str] = field(default_factory=dict)
    numerator: str | None = None
    denominator: str | None = None
    anomaly_periods: int = 6

    def __post_init__(self) -> None:
        from ._history import normalize_freq

        cadence = normalize_freq(self.cadence)
        if cadence is None:
            raise ParameterError(f"parameter 'cadence': {self.cadence!r} is not one of 'day', 'week', 'month', 'quarter', "
                                 "'year' (or an alias: 'D', 'W', 'M', 'Q', 'Y')")
        object.__setattr__(self, "cadence", cadence)  # "Q" and "quarter" are one cadence
        from .catalog import resolve

        if isinstance(self.metric, str):
            try:
                canonical = resolve(self.metric)
            except ParameterError:  # a metric outside the catalog: judged from its history alone
                canonical = self.metric
            if canonical != self.metric:
                # An alias names the catalog's metric (docs/conventions.md#metric-names); a history
                # may still carry its values under the name given.
                object.__setattr__(self, "_given", self.metric)
                object.__setattr__(self, "metric", canonical)
        unknown = set(self.thresholds or {}) - {"at_risk"}
        if unknown:
            raise ParameterError(f"parameter 'thresholds': unknown key {sorted(unknown)[0]!r}; the key is 'at_risk'")
        if (self.numerator is None) != (self.denominator is None):
            raise ParameterError("parameter 'numerator': give both the numerator and the denominator columns, or neither")
        if self.anomaly_periods < 1:
            raise ParameterError(f"parameter 'anomaly_periods': {self.anomaly_periods} is not a positive number of periods")
        if self.direction is not None and self.direction not in ("increase", "decrease", "neutral"):
            raise ParameterError(f"parameter 'direction': {self.direction!r} is not increase, decrease or neutral")

    @property
    def label(self) -> str:
        """The display name: ``name``, or the metric id."""
        return self.name or self.metric

    def _direction(self) -> str | None:
        """The given direction, else the catalog's for a single target (None: read it from the
        start value in the core)."""
        if self.direction is not None or isinstance(self.target, tuple):
            return self.direction
        from .catalog import definitions

        known = definitions().get(self.metric)
        return known.direction if known is not None and known.direction != "neutral" else None

    def evaluate(self, history: Any, /, *, period: str = "period", value: str | None = None, output: Output | None = None) -> Any:
        """Judge each period of a metric history (a table with ``period`` and the metric column).

        Returns one row per period from the first to the last of the history: ``period``,
        ``value``, ``target`` (or ``target_low``/``target_high``), ``attainment``, ``change``,
        ``improved``, ``projected``, ``status``, with counts ``ci_low``, ``ci_high`` and
        ``significant``, and ``anomaly`` (see the class notes for the rules). The result comes
        back in the history's library unless ``output`` says otherwise.
        """
        library = output_of(history, output)
        column = value or self.metric
        given = getattr(self, "_given", None)
        if value is None and given is not None and column not in _columns(history) and given in _columns(history):
            column = given
        counts = [c for c in (self.numerator, self.denominator) if c is not None]
        table = table_input(history, [period, column, *counts])
        low = high = target = None
        previous = False
        if isinstance(self.target, str):
            if self.target != "previous":
                raise ParameterError(f"parameter 'target': {self.target!r} is not a number, a range or 'previous'")
            previous = True
        elif isinstance(self.target, tuple):
            if len(self.target) != 2:
                raise ParameterError(f"parameter 'target': a range is (low, high), got {self.target!r}")
            low, high = float(self.target[0]), float(self.target[1])
        else:
            target = float(self.target)
        result = _kpikit.kpi_evaluate(
            table,
            period=period,
            value=column,
            freq=self.cadence,
            target=target,
            low=low,
            high=high,
            previous=previous,
            direction=self._direction(),
            start_value=self.start_value,
            start=_date_text(self.start, "start"),
            deadline=_date_text(self.deadline, "deadline"),
            at_risk_band=float((self.thresholds or {}).get("at_risk", 0.0)),
            pace_periods=self.pace_periods,
            numerator=self.numerator,
            denominator=self.denominator,
            anomaly_periods=self.anomaly_periods,
        )
        return table_output(result, library)
