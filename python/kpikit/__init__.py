"""kpikit: business metrics and KPIs, computed in Rust over Apache Arrow.

Tables in (pandas, polars, pyarrow or any Arrow stream), tidy tables out: one row per period
and segment, rates as fractions, money in the input's unit.
"""

# No `from __future__ import annotations` here: it would bind the name `annotations` in the
# package namespace, which exports the public API only.
from . import _kpikit, datasets, formulas
from .exceptions import InputError, KpikitError, ParameterError, SchemaError, SkippedRowsWarning
from .catalog import catalog, metric, register_metric
from .kpi import KPI
from .sources import Sources
from .scorecard import Scorecard, ScorecardResult
from .revenue import mrr, mrr_movements, revenue_cohorts, revenue_metrics
from .survey import csat, nps
from .funnel import funnel, funnel_from_stages

# Sales, marketing, support and onboarding metrics.
from .sales import campaign_metrics, deal_metrics, lead_metrics, onboarding_time, quota_attainment, support_metrics

# Customer lifetime value.
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
    "SkippedRowsWarning",
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
    # Sales, marketing, support and onboarding metrics.
    "deal_metrics",
    "quota_attainment",
    "lead_metrics",
    "support_metrics",
    "campaign_metrics",
    "onboarding_time",
    "funnel",
    "funnel_from_stages",
    # Customer lifetime value.
    "clv",
    "plot",
    "rfm_summary",
    "rfm_split",
    "active_users",
    "stickiness",
    "lifecycle",
    "retention",
]

# The customer-journey view.
from .journey import JourneyResult, journey  # noqa: E402

__all__ += ["journey", "JourneyResult"]

# The report: kpikit's main job.
from .report import Report, report  # noqa: E402

__all__ += ["report", "Report"]
from .spec import Spec, load_spec  # noqa: E402

__all__ += ["load_spec", "Spec"]

# Data integrity checks.
from .check import CheckResult, check  # noqa: E402

__all__ += ["check", "CheckResult"]
