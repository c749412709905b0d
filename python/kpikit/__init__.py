"""kpikit: business metrics and KPIs, computed in Rust over Apache Arrow.

Tables in (pandas, polars, pyarrow or any Arrow stream), tidy tables out: one row per period
and segment, rates as fractions, money in the input's unit.
"""

# No `from __future__ import annotations` here: it would bind the name `annotations` in the
# package namespace, which exports the public API only.
from . import _kpikit, clv, datasets, formulas, plot
from ._checkins import history
from ._sql import sql
from .activity import active_users, lifecycle, stickiness
from .catalog import catalog, metric, register_metric
from .check import CheckResult, check
from .clv import rfm_split, rfm_summary
from .exceptions import InputError, KpikitError, ParameterError, SchemaError, SkippedRowsWarning
from .funnel import funnel, funnel_from_stages
from .journey import JourneyResult, journey
from .kpi import KPI
from .report import Report, report
from .retention import retention
from .revenue import mrr, mrr_movements, revenue_cohorts, revenue_metrics
from .sales import campaign_metrics, deal_metrics, lead_metrics, onboarding_time, quota_attainment, support_metrics
from .scorecard import Scorecard, ScorecardResult
from .sources import Sources
from .spec import Spec, load_spec
from .survey import csat, nps

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
    # The customer-journey view.
    "journey",
    "JourneyResult",
    # The report: kpikit's main job.
    "report",
    "Report",
    "load_spec",
    "Spec",
    "history",
    # Database sources.
    "sql",
    # Data integrity checks.
    "check",
    "CheckResult",
]
