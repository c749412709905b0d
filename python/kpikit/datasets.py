"""Built-in data sets: the demo company, a fictional B2B SaaS business to try every metric on.

The data is generated in the Rust core, deterministically: the same ``seed`` and ``scale``
always give the same tables, on any machine and with any number of threads.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, fields
from typing import Any

from . import _kpikit
from ._convert import check_output, table_output
from ._typing import Output
from .exceptions import ParameterError

__all__ = ["DemoCompany", "demo"]

#: The company and the 24 calendar months it covers (fixed; never depends on today's date).
COMPANY = "Northwind Analytics"
START = "2024-11-01"
END = "2026-10-31"


@dataclass(frozen=True, eq=False)
class DemoCompany:
    """The nine tables of the demo company (see :func:`demo` for their columns)."""

    leads: Any
    events: Any
    subscriptions: Any
    deals: Any
    responses: Any
    spend: Any
    tickets: Any
    quotas: Any
    campaigns: Any

    def tables(self) -> dict[str, Any]:
        """``{table name: table}`` for every table, in a fixed order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def _row_counts(self) -> dict[str, int]:
        return {name: len(t) for name, t in self.tables().items()}

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={n:,}" for name, n in self._row_counts().items())
        return f"DemoCompany({COMPANY!r}, {START} to {END}: {counts})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{html.escape(name)}</code></td><td style='text-align:right'>{n:,}</td></tr>"
            for name, n in self._row_counts().items()
        )
        return (
            f"<div><strong>{html.escape(COMPANY)}</strong> ({START} to {END})"
            f"<table><thead><tr><th>table</th><th>rows</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )


def demo(seed: int = 0, scale: float = 1.0, *, output: Output | None = None) -> DemoCompany:
    """The demo company: a fictional B2B SaaS business over 24 months (2024-11 to 2026-10).

    Deterministic: the same ``seed`` and ``scale`` give identical tables. ``scale`` multiplies
    visitors, customers and events; ``scale=1`` has about a million product events (and takes
    well under a second in a release build), ``scale=0.01`` gives small but non-empty tables.

    The tables are consistent with one another: every ``customer_id`` in ``subscriptions`` is a
    lead that converted, its first month is the month of the lead's ``customer_at``, won deals
    produce those customers, events belong to signed-up leads, and spend follows the traffic
    and deals it paid for; quotas belong to the deals' owners and campaigns go to the users
    and customers of their time. In the last three months a paid-social campaign lifts the
    visitor→signup rate while the signup→PQL rate falls: low-intent signups.

    Tables (times are UTC timestamps, ``month`` columns the first day of the month; categorical
    columns are categories in pandas):

    - ``leads``: one row per website visitor: ``lead_id``, ``channel`` (organic, paid_search,
      paid_social, referral, email, outbound), ``visited_at``, ``signed_up_at``, ``pql_at``,
      ``customer_at`` (null if the stage was never reached by the end of the span),
      ``customer_id`` (``"cus_000042"``; null unless converted).
    - ``events``: product events of signed-up users: ``user_id`` (the user's ``lead_id``),
      ``customer_id`` (set on events at or after the user's ``customer_at``), ``time``,
      ``event`` (signup, login, feature_used, report_created, invite_sent, upgrade). One
      ``signup`` per user, at ``signed_up_at``. Ordered by user, then time.
    - ``subscriptions``: one row per customer per paying month: ``customer_id``, ``month``,
      ``mrr`` (whole cents), ``plan`` (starter, growth, enterprise), ``region`` (NA, EMEA,
      APAC, LATAM). Churn, expansion, contraction and reactivation after a gap.
    - ``deals``: sales-assisted deals: ``deal_id``, ``owner``, ``customer_id`` (won deals),
      ``created``, ``closed`` and ``won`` (both null while open), ``amount`` (annual value).
    - ``responses``: NPS answers: ``respondent`` (a customer_id), ``time``, ``score`` (0–10),
      ``plan``, ``region``.
    - ``spend``: ``month``, ``channel`` (the lead channels plus ``sales``), ``amount``.
    - ``tickets``: ``ticket_id``, ``customer_id``, ``opened``, ``first_response`` and
      ``resolved`` (null until they happen), ``handle_seconds``, ``priority`` (low, normal,
      high, urgent), ``csat`` (1–5, null when not rated).
    - ``quotas``: one row per sales rep (the deals' ``owner``) and ``month``: ``quota``, the
      won annual value expected that month (whole hundreds; flat within a quarter). Set from
      the won-deal trend and each rep's territory, a little above it: the team reaches about
      90 %, reps about 70–120 % over the span.
    - ``campaigns``: e-mail sends, two a month: ``campaign_id``, ``campaign`` (newsletter to
      every signed-up user, webinar invitation to free users, product_update to customers),
      ``sent_at``, the counts ``sent``, ``delivered``, ``opened``, ``clicked``, ``converted``
      (each at most the one before; delivery ~97 %, opens ~20–35 % and clicks ~2–5 % of
      delivered), ``spend`` (part of the month's ``email`` spend) and ``revenue``.

    Parameters
    ----------
    seed : int, default 0
        Any non-negative integer below 2**64.
    scale : float, default 1.0
        Size multiplier, greater than 0 (at most 1000).
    output : {None, "pandas", "polars", "arrow"}, default None
        The tables' library; ``None`` gives pandas (there is no input library to follow).

    Returns
    -------
    DemoCompany
        One attribute per table; ``.tables()`` gives them as a dict.

    Examples
    --------
    >>> import kpikit
    >>> company = kpikit.datasets.demo(seed=1, scale=0.02)
    >>> list(company.tables())
    ['leads', 'events', 'subscriptions', 'deals', 'responses', 'spend', 'tickets', 'quotas', 'campaigns']
    >>> list(company.subscriptions.columns)
    ['customer_id', 'month', 'mrr', 'plan', 'region']
    >>> company.events.equals(kpikit.datasets.demo(seed=1, scale=0.02).events)
    True
    """
    output = "pandas" if output is None else output
    check_output(output)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ParameterError(f'parameter "seed": must be an integer from 0 to 2**64 - 1, got {seed!r}')
    tables = _kpikit.demo_company(seed, float(scale))
    return DemoCompany(**{name: table_output(t, output) for name, t in tables.items()})


def __dir__() -> list[str]:
    # The namespace shows the public API only; imports are not part of it (docs/vocabulary.md).
    return sorted(__all__)
