"""A company's tables and the role each column plays: the input of scorecards, the journey
view, data checks and the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .exceptions import ParameterError

__all__ = ["Sources"]

_ROLES = ("subscriptions", "spend", "deals", "leads", "responses", "tickets", "events")


@dataclass(frozen=True)
class Sources:
    """A company's tables and, for each, which column plays which role.

    Each role is ``(table, columns)``; the roles and their column keys:

    * ``subscriptions``: customer, period, mrr (snapshots) — or customer, started, ended, amount,
      interval (subscriptions)
    * ``spend``: time, amount
    * ``deals``: deal, owner, created, closed, amount, won
    * ``leads``: stages (list of stage timestamp columns, first = entry), window (the funnel's
      conversion window, e.g. ``"90d"``: a cohort's rates count once it has closed), created,
      qualified, converted, revenue
    * ``responses``: score, time (NPS answers, 0–10)
    * ``tickets``: opened, resolved, first_response, handle_seconds, csat (1–5)
    * ``events``: user, time (product events, for active users and DAU/MAU)

    Which function reads which keys is catalog data (:func:`kpikit.catalog.recipe`).

    >>> import kpikit
    >>> s = kpikit.Sources.demo(scale=0.05)
    >>> sorted(s.roles())
    ['deals', 'events', 'leads', 'responses', 'spend', 'subscriptions', 'tickets']
    """

    subscriptions: tuple[Any, Mapping[str, Any]] | None = None
    spend: tuple[Any, Mapping[str, Any]] | None = None
    deals: tuple[Any, Mapping[str, Any]] | None = None
    leads: tuple[Any, Mapping[str, Any]] | None = None
    responses: tuple[Any, Mapping[str, Any]] | None = None
    tickets: tuple[Any, Mapping[str, Any]] | None = None
    events: tuple[Any, Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        # A database source (kpikit.sql) or another Arrow stream is read once, here, and only
        # the columns its role names: every view of the bundle reads the same rows.
        from ._sql import resolve

        for role in _ROLES:
            found = getattr(self, role)
            if found is not None:
                object.__setattr__(self, role, resolve(role, found))

    def roles(self) -> list[str]:
        """The roles this bundle has."""
        return [r for r in _ROLES if getattr(self, r) is not None]

    def data_end(self) -> pd.Timestamp | None:
        """The latest date any source reaches (naive, UTC): the last day of the latest
        snapshot or spend period (``period``/``time`` columns of month starts count as the whole
        month), or the latest event time."""
        latest: list[pd.Timestamp] = []
        for role in self.roles():
            table, cols = getattr(self, role)
            names = [v for k, v in cols.items() if k in ("period", "time", "created", "closed", "opened", "resolved", "started", "ended")]
            names += list(cols.get("stages", []))
            for name in names:
                col = _column(table, name)
                if col is None:
                    continue
                t = pd.to_datetime(col, errors="coerce", utc=True).max()
                if not isinstance(t, pd.Timestamp):  # NaT: no time in the column
                    continue
                t = t.tz_convert(None)
                # A month start in a period column stands for the whole month.
                if role in ("subscriptions", "spend") and t == t.normalize() and t.day == 1:
                    t = t + pd.offsets.MonthEnd(0)
                latest.append(t)
        return max(latest) if latest else None

    def get(self, role: str, needed_by: str) -> tuple[Any, Mapping[str, Any]]:
        """The ``(table, columns)`` of a role; a :class:`~kpikit.ParameterError` naming
        ``needed_by`` when the bundle lacks it."""
        found: tuple[Any, Mapping[str, Any]] | None = getattr(self, role, None) if role in _ROLES else None
        if found is None:
            raise ParameterError(f"{needed_by} needs the {role!r} source, which this bundle does not have")
        return found

    @classmethod
    def demo(cls, seed: int = 0, scale: float = 1.0) -> Sources:
        """The built-in demo company with its column roles. Each lead's revenue is the amount of
        its customer's won deals (the demo's CRM links leads to customers)."""
        from .datasets import demo

        d = demo(seed=seed, scale=scale)
        won = d.deals[d.deals["won"].astype("boolean").fillna(False)]
        revenue = won.groupby("customer_id")["amount"].sum()
        leads = d.leads.assign(revenue=d.leads["customer_id"].map(revenue).fillna(0.0))
        return cls(
            subscriptions=(d.subscriptions, {"customer": "customer_id", "period": "month", "mrr": "mrr"}),
            spend=(d.spend, {"time": "month", "amount": "amount"}),
            deals=(d.deals, {"deal": "deal_id", "owner": "owner", "created": "created", "closed": "closed", "amount": "amount", "won": "won"}),
            leads=(leads, {"stages": ["visited_at", "signed_up_at", "pql_at", "customer_at"], "window": "90d",
                           "created": "visited_at",
                           "qualified": "pql_at", "converted": "customer_at", "revenue": "revenue"}),
            responses=(d.responses, {"score": "score", "time": "time"}),
            tickets=(d.tickets, {"opened": "opened", "resolved": "resolved", "first_response": "first_response",
                                 "handle_seconds": "handle_seconds", "csat": "csat"}),
            events=(d.events, {"user": "user_id", "time": "time"}),
        )


def _column(table: Any, name: str) -> pd.Series | None:
    """One column of a pandas, polars or pyarrow table as a pandas Series (None when absent)."""
    names = table.columns if isinstance(table, pd.DataFrame) else getattr(table, "column_names", None)
    if names is None:
        names = getattr(table, "columns", [])
    if name not in list(names):
        return None
    if isinstance(table, pd.DataFrame):
        return table[name]
    if hasattr(table, "column_names"):  # pyarrow
        arrow_column: pd.Series = table.column(name).to_pandas()
        return arrow_column
    polars_column: pd.Series = table[name].to_pandas()
    return polars_column
