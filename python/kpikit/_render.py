"""Rendering helpers shared by the scorecard, the journey view, the report, the charts and the
command line: status colours, how a value of each unit is written, and sparklines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STATUS_COLOURS", "format_value", "is_true", "records", "sparkline"]

#: The colour of each KPI status (:data:`kpikit.kpi.STATUSES`).
STATUS_COLOURS = {
    "achieved": "#2b8a3e",
    "on_track": "#37b24d",
    "at_risk": "#f59f00",
    "behind": "#e03131",
    "overdue": "#c92a2a",
    "no_data": "#868e96",
    "not_started": "#adb5bd",
}


def format_value(value: Any, unit: str) -> str:
    """A value as shown to a reader, by the catalog's unit: fractions in percent, money with
    thousands separators (cents below 100), ratios and durations with two decimals, scores
    signed; missing is "–"; a (low, high) pair is written as a range.

    >>> format_value(0.0004, "fraction"), format_value(12345.6, "currency"), format_value(None, "ratio")
    ('0.04 %', '12,346', '–')
    """
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, tuple):
        return " – ".join(format_value(v, unit) for v in value)
    if unit == "fraction":
        # One decimal, unless rounding would hide a difference that matters: 99.994 % is not
        # 100 %, and 0.04 % churn is not 0 %.
        digits = 1
        while digits < 4 and float(f"{100 * value:.{digits}f}") in (0.0, 100.0, -100.0) and round(100 * value, 9) not in (0.0, 100.0, -100.0):
            digits += 1
        return f"{100 * value:.{digits}f} %"
    if unit in ("currency", "currency_per_day"):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"  # cents matter below 100
    if unit in ("ratio", "months", "days", "hours"):
        return f"{value:.2f}"
    if unit == "score":
        return f"{value:+.0f}"
    if unit == "flag":
        return "yes" if value else "no"
    return f"{value:,.0f}"


def sparkline(values: Sequence[float], colour: str, width: int = 110, height: int = 24) -> str:
    """An inline SVG line of ``values`` (missing ones skipped), scaled to the box; "" with
    fewer than two values."""
    points = [(i, v) for i, v in enumerate(values) if v == v]
    if len(points) < 2:
        return ""
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)
    xy = " ".join(f"{2 + (width - 4) * i / n:.1f},{height - 2 - (height - 4) * (v - lo) / span:.1f}" for i, v in points)
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{xy}"/></svg>'
    )


def is_true(x: Any) -> bool:
    """Whether a nullable flag is set: null (None, NaN, pd.NA) counts as not set."""
    import pandas as pd

    # pd.isna first: `NA == NA` is NA, whose truth value raises.
    return bool(not pd.isna(x) and x)


def records(frame: pd.DataFrame) -> Iterable[Any]:
    """The rows of a frame as named tuples (``itertuples(index=False)``). A field has its
    column's dtype, which a type checker cannot know from the frame's type: rows are ``Any``."""
    return frame.itertuples(index=False)
