"""kpikit: business metrics and KPIs, computed in Rust over Apache Arrow.

Tables in (pandas, polars, pyarrow or any Arrow stream), tidy tables out: one row per period
and segment, rates as fractions, money in the input's unit.
"""

from __future__ import annotations

from . import _kpikit, datasets, formulas
from .exceptions import InputError, KpikitError, ParameterError, SchemaError
from .revenue import mrr, mrr_movements
from .survey import csat, nps
from .activity import active_users, lifecycle, stickiness
from .retention import retention

__version__: str = _kpikit.__version__

__all__ = [
    "__version__",
    "KpikitError",
    "SchemaError",
    "InputError",
    "ParameterError",
    "nps",
    "csat",
    "datasets",
    "formulas",
    "mrr",
    "mrr_movements",
    "active_users",
    "stickiness",
    "lifecycle",
    "retention",
]
