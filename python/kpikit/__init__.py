"""kpikit: business metrics and KPIs, computed in Rust over Apache Arrow.

Tables in (pandas, polars, pyarrow or any Arrow stream), tidy tables out: one row per period
and segment, rates as fractions, money in the input's unit.
"""

from __future__ import annotations

from . import _kpikit, datasets, formulas
from .exceptions import InputError, KpikitError, ParameterError, SchemaError
from .catalog import catalog, metric, register_metric
from .kpi import KPI
from .sources import Sources
from .scorecard import Scorecard, ScorecardResult
from .revenue import mrr, mrr_movements, revenue_cohorts, revenue_metrics
from .survey import csat, nps
from .funnel import funnel, funnel_from_stages

# Sales, marketing, support and onboarding metrics (issue 8).
from .sales import campaign_metrics, deal_metrics, lead_metrics, onboarding_time, quota_attainment, support_metrics

# Customer lifetime value (issue #5).
from . import clv, plot
from .clv import rfm_split, rfm_summary
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
    "revenue_metrics",
    "revenue_cohorts",
    "KPI",
    "catalog",
    "metric",
    "register_metric",
    "Scorecard",
    "ScorecardResult",
    "Sources",
    # Sales, marketing, support and onboarding metrics (issue 8).
    "deal_metrics",
    "quota_attainment",
    "lead_metrics",
    "support_metrics",
    "campaign_metrics",
    "onboarding_time",
    "funnel",
    "funnel_from_stages",
    # Customer lifetime value (issue #5).
    "clv",
    "plot",
    "rfm_summary",
    "rfm_split",
    "active_users",
    "stickiness",
    "lifecycle",
    "retention",
]

# The customer-journey view (issue 9, item 5).
from .journey import JourneyResult, journey  # noqa: E402

__all__ += ["journey", "JourneyResult"]

# The report: kpikit's main job (issue 9, item 6).
from .report import Report, report  # noqa: E402

__all__ += ["report", "Report"]
from .spec import Spec, load_spec  # noqa: E402

__all__ += ["load_spec", "Spec"]

# Data integrity checks (issue 9, item 7).
from .check import CheckResult, check  # noqa: E402

__all__ += ["check", "CheckResult"]
