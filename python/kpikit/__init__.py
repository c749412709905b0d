"""kpikit: business metrics and KPIs, computed in Rust over Apache Arrow.

Tables in (pandas, polars, pyarrow or any Arrow stream), tidy tables out: one row per period
and segment, rates as fractions, money in the input's unit.
"""

from __future__ import annotations

from . import _kpikit, datasets, formulas
from .exceptions import InputError, KpikitError, ParameterError, SchemaError
from .revenue import mrr, mrr_movements
from .survey import csat, nps

# Customer lifetime value (issue #5).
from . import clv, plot
from .clv import rfm_split, rfm_summary

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
    # Customer lifetime value (issue #5).
    "clv",
    "plot",
    "rfm_summary",
    "rfm_split",
]
