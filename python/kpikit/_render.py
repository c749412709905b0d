"""Rendering helpers shared by the scorecard, the journey view, the report, the charts and the
command line: status colours, how a value of each unit is written, and sparklines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STATUS_COLOURS", "CURRENCY_SYMBOLS", "check_currency", "format_value", "is_true", "period_label", "records",
           "sparkline"]

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


#: Symbols written before an amount, by ISO 4217 code; any other code is written as its code.
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩",
                    "BRL": "R$", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "MXN": "MX$", "ILS": "₪",
                    "CHF": "CHF ", "SEK": "SEK ", "NOK": "NOK ", "DKK": "DKK ", "PLN": "PLN "}

# The unit shown after a value of each catalog unit (docs/conventions.md#kpis: every value shown
# carries its unit, so "9.04" is never left to guess between months and a ratio).
_SUFFIX = {"months": " months", "days": " days", "hours": " h", "score": " points", "ratio": "×"}


def check_currency(code: Any, name: str = "currency") -> str | None:
    """An ISO 4217 currency code, upper-cased (``"eur"`` → ``"EUR"``), or None for None.

    >>> check_currency("eur")
    'EUR'
    """
    from .exceptions import ParameterError

    if code is None:
        return None
    if not isinstance(code, str) or not code.isascii() or not code.isalpha() or len(code) != 3:
        raise ParameterError(f"parameter {name!r}: {code!r} is not an ISO 4217 currency code (three letters, "
                             "e.g. 'USD', 'EUR')")
    return code.upper()


def format_value(value: Any, unit: str, currency: str | None = None) -> str:
    """A value as shown to a reader, by the catalog's unit, with its unit: fractions in
    percent, money with thousands separators (cents below 100) and, with ``currency`` (an ISO
    code), its symbol; ratios with two decimals and "×", durations with their unit (months and
    days one decimal), scores signed in points; missing is "–"; a (low, high) pair is a range.

    >>> format_value(0.0004, "fraction"), format_value(12345.6, "currency"), format_value(None, "ratio")
    ('0.04 %', '12,346', '–')
    >>> format_value(12345.6, "currency", "USD"), format_value(-250.0, "currency", "EUR"), format_value(9.04, "months")
    ('$12,346', '-€250', '9.0 months')
    """
    if value is None or (isinstance(value, float) and value != value) or value is _NA():
        return "–"
    if isinstance(value, tuple):
        return " – ".join(format_value(v, unit, currency) for v in value)
    if unit == "fraction":
        # One decimal, unless rounding would hide a difference that matters: 99.994 % is not
        # 100 %, and 0.04 % churn is not 0 %.
        digits = 1
        while digits < 4 and float(f"{100 * value:.{digits}f}") in (0.0, 100.0, -100.0) and round(100 * value, 9) not in (0.0, 100.0, -100.0):
            digits += 1
        return f"{100 * value:.{digits}f} %"
    if unit in ("currency", "currency_per_day"):
        amount = f"{abs(value):,.0f}" if abs(value) >= 100 else f"{abs(value):,.2f}"  # cents matter below 100
        per_day = " a day" if unit == "currency_per_day" else ""
        if currency is None:
            return f"{'-' if value < 0 else ''}{amount}{per_day}"
        symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
        return f"{'-' if value < 0 else ''}{symbol}{amount}{per_day}"
    if unit in ("months", "days"):
        return f"{value:.1f}{_SUFFIX[unit]}"
    if unit in _SUFFIX:
        return (f"{value:+.0f}" if unit == "score" else f"{value:.2f}") + _SUFFIX[unit]
    if unit == "flag":
        return "yes" if value else "no"
    return f"{value:,.0f}"


def _NA() -> Any:
    import pandas as pd

    return pd.NA


def period_label(period: Any, cadence: str) -> str:
    """A period as people read it, by its cadence: "Q3 2026", "Oct 2026", "week of 5 Oct 2026",
    "5 Oct 2026", "2026"; missing is "–".

    >>> import pandas as pd
    >>> t = pd.Timestamp("2026-07-01")
    >>> period_label(t, "quarter"), period_label(t, "month"), period_label(pd.Timestamp("2026-10-05"), "week")
    ('Q3 2026', 'Jul 2026', 'week of 5 Oct 2026')
    """
    import pandas as pd

    if period is None or pd.isna(period):
        return "–"
    t = pd.Timestamp(period)
    if cadence == "quarter":
        return f"Q{t.quarter} {t.year}"
    if cadence == "month":
        return f"{t:%b %Y}"
    if cadence == "week":
        return f"week of {t.day} {t:%b %Y}"
    if cadence == "year":
        return f"{t.year}"
    return f"{t.day} {t:%b %Y}"


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
