"""One grid rule for every grouped function (docs/conventions.md, "Complete grids").

Every function with ``by=`` is called on data where segment ``"e"`` has rows, none of which
passes the analysis' rule for being counted (a lead that never entered, events of another
name, customers without MRR, open deals, responses or tickets left out by ``invalid="skip"``),
beside segment ``"x"`` whose rows count, over two months. The result must hold ``"e"`` in every
period that ``"x"`` has, with its counts 0 and its rates null, as an empty period of a counted
segment has.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import kpikit

T = pd.to_datetime
SEG = ["x", "x", "e", "e"]
JAN_FEB = ["2026-01-05", "2026-02-05", "2026-01-06", "2026-02-06"]


def nps(freq: str | None) -> Any:
    rows = pd.DataFrame({"score": [10, 9, None, None], "t": T(JAN_FEB), "seg": SEG})
    return kpikit.nps(rows, score="score", time="t" if freq else None, freq=freq, by="seg", invalid="skip")


def csat(freq: str | None) -> Any:
    rows = pd.DataFrame({"score": [5, 4, None, None], "t": T(JAN_FEB), "seg": SEG})
    return kpikit.csat(rows, score="score", time="t" if freq else None, freq=freq, by="seg", invalid="skip")


def snapshots() -> pd.DataFrame:
    # Customer b (segment e) is on the books at 0 MRR both months: never a paying customer.
    return pd.DataFrame({"customer": ["a", "a", "b", "b"], "month": T(["2026-01-01", "2026-02-01"] * 2),
                         "mrr": [10.0, 20.0, 0.0, 0.0], "seg": SEG})


def mrr_movements(freq: str | None) -> Any:
    return kpikit.mrr_movements(snapshots(), customer="customer", period="month", mrr="mrr", by="seg")


def revenue_metrics(freq: str | None) -> Any:
    return kpikit.revenue_metrics(snapshots(), customer="customer", period="month", mrr="mrr", by="seg")


def deal_metrics(freq: str | None) -> Any:
    # Segment e's deals are still open: created, never closed.
    deals = pd.DataFrame({"created": T(JAN_FEB), "closed": T(["2026-01-09", "2026-02-09", None, None]),
                          "won": [True, False, None, None], "amount": [1.0, 2.0, 3.0, 4.0], "seg": SEG})
    return kpikit.deal_metrics(deals, created="created", closed="closed", won="won", amount="amount", by="seg",
                               freq="month")


def lead_metrics(freq: str | None) -> Any:
    leads = pd.DataFrame({"created": T([*JAN_FEB[:2], None, None]),
                          "converted": T(["2026-01-07", None, None, None]), "seg": SEG})
    return kpikit.lead_metrics(leads, created="created", converted="converted", by="seg", freq="month",
                               invalid="skip")


def support_metrics(freq: str | None) -> Any:
    tickets = pd.DataFrame({"opened": T([*JAN_FEB[:2], None, None]),
                            "resolved": T(["2026-01-07", None, None, None]), "seg": SEG})
    return kpikit.support_metrics(tickets, opened="opened", resolved="resolved", by="seg", freq="month",
                                  invalid="skip")


def campaign_metrics(freq: str | None) -> Any:
    sends = pd.DataFrame({"t": T(JAN_FEB), "sends": [10.0, 20.0, None, None], "opens": [1.0, 2.0, None, None], "seg": SEG})
    return kpikit.campaign_metrics(sends, sends="sends", opens="opens", time="t" if freq else None, freq=freq,
                                   by="seg", invalid="skip")


def onboarding_time(freq: str | None) -> Any:
    rows = pd.DataFrame({"started": T([*JAN_FEB[:2], None, None]),
                         "fv": T(["2026-01-07", None, None, None]), "seg": SEG})
    return kpikit.onboarding_time(rows, started="started", first_value="fv", by="seg", freq="month",
                                  invalid="skip")


def events() -> pd.DataFrame:
    # Segment e's user only browses: never the first step, never a counted event.
    return pd.DataFrame({"user": ["u", "u", "w", "v", "v"],
                         "time": T(["2026-01-05", "2026-01-07", "2026-02-05", "2026-01-06", "2026-02-06"]),
                         "event": ["signup", "buy", "signup", "browse", "browse"], "seg": ["x", "x", "x", "e", "e"]})


def funnel(freq: str | None) -> Any:
    return kpikit.funnel(events(), user="user", time="time", steps=["signup", "buy"], freq=freq, by="seg")


def funnel_from_stages(freq: str | None) -> Any:
    # Segment e's leads never reached the first stage (its time is missing).
    leads = pd.DataFrame({"a": T([*JAN_FEB[:2], None, None]), "b": T(["2026-01-09", None, None, None]), "seg": SEG})
    return kpikit.funnel_from_stages(leads, stages=["a", "b"], freq=freq, by="seg")


def active_users(freq: str | None) -> Any:
    return kpikit.active_users(events(), user="user", time="time", freq=freq or "month", events="signup",
                               windows={"dau": 1}, by="seg")


# function: (call, whether it can run without periods, counts that must be 0, rates that must be null)
CASES: dict[str, tuple[Callable[[str | None], Any], bool, list[str], list[str]]] = {
    "nps": (nps, True, ["responses", "promoters", "detractors"], ["nps", "nps_ci_low"]),
    "csat": (csat, True, ["responses", "satisfied"], ["csat", "mean_score"]),
    "mrr_movements": (mrr_movements, False, ["new_customers", "ending_customers"], []),
    "revenue_metrics": (revenue_metrics, False, ["customers", "new_customers"], ["gross_mrr_churn_rate", "arpa"]),
    "deal_metrics": (deal_metrics, False, ["deals_closed", "deals_won"], ["win_rate", "sales_cycle_days"]),
    "lead_metrics": (lead_metrics, False, ["leads", "converted_leads"], ["lead_conversion_rate"]),
    "support_metrics": (support_metrics, False, ["tickets_opened", "tickets_resolved"], []),
    "campaign_metrics": (campaign_metrics, True, [], ["open_rate"]),
    "onboarding_time": (onboarding_time, False, ["started", "reached_value"], ["reached_value_rate", "onboarding_days"]),
    "funnel": (funnel, True, ["entered", "converted"], ["conversion_from_first", "conversion_from_previous"]),
    "funnel_from_stages": (funnel_from_stages, True, ["entered", "converted"], ["conversion_from_first"]),
    "active_users": (active_users, False, ["active_users", "dau"], []),
}


def test_every_grouped_function_is_walked() -> None:
    import inspect

    grouped = {n for n in kpikit.__all__ if inspect.isfunction(f := getattr(kpikit, n))
               and "by" in inspect.signature(f).parameters}
    assert grouped == set(CASES)


@pytest.mark.parametrize("freq", [None, "month"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_segment_with_no_counted_row_has_its_rows_of_zeros(name: str, freq: str | None) -> None:
    call, without_periods, counts, rates = CASES[name]
    if freq is None and not without_periods:
        pytest.skip("periods are always on")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kpikit.SkippedRowsWarning)
        result = call(freq)
    empty, counted = result[result.seg == "e"], result[result.seg == "x"]
    assert len(counted) > 0
    assert len(empty) == len(counted), result
    if "period" in result.columns:
        assert empty.period.tolist() == counted.period.tolist()
        if freq is not None or not without_periods:
            assert len(set(counted.period)) == 2  # the grid of January and February
    for column in counts:
        assert empty[column].tolist() == [0] * len(empty), column
    for column in rates:
        assert empty[column].isna().all(), column
    if name in ("mrr_movements", "revenue_metrics"):
        assert (empty["ending_mrr" if name == "mrr_movements" else "mrr"] == 0).all()


def test_segments_come_in_value_order_with_the_empty_ones() -> None:
    # "e" sorts before "x": the empty segment takes its place among the others.
    assert funnel_from_stages(None).seg.tolist() == ["e", "e", "x", "x"]
    assert funnel(None).seg.tolist() == ["e", "e", "x", "x"]
