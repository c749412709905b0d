"""Headline metrics of a company bundle (the demo company's tables and column names).

This is the first form of kpikit's main job: a short, sourced list of the numbers an executive
asks for first. Each figure is computed with kpikit's kernels and formulas; the pandas code
here only selects the latest periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import formulas
from .revenue import mrr_movements
from .survey import csat, nps

__all__ = ["Headline", "headline_metrics"]


@dataclass(frozen=True)
class Headline:
    """One headline figure: where it belongs, its value and unit, and how it was computed."""

    section: str
    name: str
    value: float | None
    unit: str
    note: str


def headline_metrics(company: Any) -> list[Headline]:
    """Headline metrics of the latest full month (revenue), full quarter (NPS, CSAT) and year (funnel, sales, CAC).

    Formulas: MRR and its movements from :func:`kpikit.mrr_movements`; ARR = 12 × MRR;
    customer churn = customers churned in the month / customers at its start; ARPA = MRR / paying customers; LTV = ARPA / mean monthly churn of the last six
    months; CAC = sales and marketing spend / new customers (trailing twelve months);
    CAC payback = CAC / ARPA; win rate = won / closed deals.

    >>> from kpikit.datasets import demo
    >>> figures = {h.name: h for h in headline_metrics(demo(scale=0.05))}
    >>> figures["ARR"].value == 12 * figures["MRR"].value
    True
    """
    moves = mrr_movements(company.subscriptions, customer="customer_id", period="month", mrr="mrr")
    last_row = moves.iloc[-1]
    last = moves["period"].iloc[-1]
    mrr = float(last_row["ending_mrr"])
    paying = int(last_row["ending_customers"])
    growth = formulas.growth_rate(moves["ending_mrr"]).iloc[-1]
    churn = formulas.churn_rate(moves["churned_customers"], moves["starting_customers"])
    churn_last = churn.iloc[-1]
    churn_avg = float(churn.iloc[-6:].mean())
    arpa = formulas.arpa(mrr, paying)

    year = moves.iloc[-12:]
    year_start = year["period"].iloc[0]
    new_customers = int(year["new_customers"].sum())
    spend = company.spend
    year_spend = float(spend.loc[spend["month"] >= year_start, "amount"].sum())
    cac = formulas.cac(year_spend, new_customers)
    ltv = formulas.ltv(arpa, churn_avg)

    leads = company.leads
    t0 = pd.Timestamp(year_start).tz_localize("UTC")
    recent = leads[leads["visited_at"] >= t0]
    visitors = len(recent)
    signups = int(recent["signed_up_at"].notna().sum())
    pqls = int(recent["pql_at"].notna().sum())
    won_leads = int(recent["customer_at"].notna().sum())

    deals = company.deals
    closed = deals[deals["closed"] >= t0]
    won = closed[closed["won"].astype("boolean").fillna(False)]
    win_rate = formulas.ratio(len(won), len(closed))
    deal_size = formulas.average(float(won["amount"].sum()), len(won))

    # The latest quarter that the data covers completely (the data end with `last`'s month).
    data_end = pd.Timestamp(last) + pd.DateOffset(months=1)

    def latest_full_quarter(table: pd.DataFrame) -> pd.Series:
        ends = table["period"] + pd.DateOffset(months=3)
        return table[ends <= data_end].iloc[-1]

    nps_q = latest_full_quarter(nps(company.responses, score="score", time="time", freq="quarter"))
    rated = company.tickets.dropna(subset=["csat"])
    csat_q = latest_full_quarter(csat(rated, score="csat", time="opened", freq="quarter"))
    quarter = pd.Timestamp(nps_q["period"]).to_period("Q")
    month = pd.Timestamp(last).strftime("%B %Y")

    return [
        Headline("Revenue", "MRR", mrr, "currency", f"{month}"),
        Headline("Revenue", "ARR", 12 * mrr, "currency", "12 × MRR"),
        Headline("Revenue", "MRR growth", growth, "fraction", "on the previous month"),
        Headline("Revenue", "Paying customers", paying, "count", f"{month}"),
        Headline("Revenue", "ARPA", arpa, "currency", "MRR / paying customers"),
        Headline("Retention", "Customer churn", churn_last, "fraction", f"lost in {month} / customers at its start"),
        Headline("Retention", "LTV", ltv, "currency", "ARPA / mean churn of the last 6 months"),
        Headline("Retention", "NPS", nps_q["nps"], "points", f"{quarter}, {int(nps_q['responses'])} responses"),
        Headline("Retention", "CSAT", csat_q["csat"], "fraction", f"{quarter}, support tickets rated 4–5 of 5"),
        Headline("Acquisition", "Visitors", visitors, "count", "last 12 months"),
        Headline("Acquisition", "Visitor → signup", formulas.conversion_rate(signups, visitors), "fraction", "last 12 months"),
        Headline("Acquisition", "Signup → PQL", formulas.conversion_rate(pqls, signups), "fraction", "last 12 months"),
        Headline("Acquisition", "PQL → customer", formulas.conversion_rate(won_leads, pqls), "fraction", "last 12 months"),
        Headline("Acquisition", "CAC", cac, "currency", f"spend / {new_customers} new customers, last 12 months"),
        Headline("Acquisition", "LTV:CAC", formulas.ltv_cac_ratio(ltv, cac), "ratio", ""),
        Headline("Acquisition", "CAC payback", formulas.cac_payback_months(cac, arpa), "months", "CAC / ARPA"),
        Headline("Sales", "Win rate", win_rate, "fraction", f"won / closed deals, {len(closed)} closed in 12 months"),
        Headline("Sales", "Average deal size", deal_size, "currency", "won deals, last 12 months"),
    ]
