"""kpikit on a Dask cluster: the same analyses over Dask DataFrames, exactly.

Every function here *is* the single-machine function (``kpikit.dask.nps is kpikit.nps``): give
it a Dask DataFrame and it computes a partial state on each partition where the data lives
(the workers need kpikit installed), brings the small states to the client, merges them
exactly and finishes once, so the result equals the single-machine result
(docs/architecture.md). NPS, CSAT, deal, lead, support, campaign and onboarding metrics and
stage funnels need no shuffle: each row counts on its own, wherever its partition is. Revenue
follows a customer over time and active users, retention and event funnels follow a user, so
those shuffle on that key first — skipped with ``partitioned=True`` when the data is already
split by it (e.g. Parquet files written per customer range).

Memory per worker: one partition's needed columns plus kpikit's working memory for it (about
the size of those columns again); the states are a few kilobytes per segment and period.
"""

from .activity import active_users
from .clv import rfm_summary
from .funnel import funnel, funnel_from_stages
from .retention import retention
from .revenue import mrr_movements, revenue_cohorts, revenue_metrics
from .sales import campaign_metrics, deal_metrics, lead_metrics, onboarding_time, support_metrics
from .survey import csat, nps

__all__ = [
    "active_users",
    "campaign_metrics",
    "csat",
    "deal_metrics",
    "funnel",
    "funnel_from_stages",
    "lead_metrics",
    "mrr_movements",
    "nps",
    "onboarding_time",
    "retention",
    "revenue_cohorts",
    "revenue_metrics",
    "rfm_summary",
    "support_metrics",
]


def __dir__() -> list[str]:
    # The module's namespace is its public API (docs/vocabulary.md).
    return sorted([*__all__, "__doc__", "__name__"])
