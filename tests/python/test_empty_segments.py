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
import polars as pl
import pyarrow as pa
import pytest

import kpikit

T = pd.to_datetime
#: How a case's pandas table is handed to the function (another library, categorical segments).
Prep = Callable[[pd.DataFrame], Any]


def same(table: pd.DataFrame) -> Any:
    return table

SEG = ["x", "x", "e", "e"]
JAN_FEB = ["2026-01-05", "2026-02-05", "2026-01-06", "2026-02-06"]


def nps(freq: str | None, prep: Prep = same) -> Any:
    rows = pd.DataFrame({"score": [10, 9, None, None], "t": T(JAN_FEB), "seg": SEG})
    return kpikit.nps(prep(rows), score="score", time="t" if freq else None, freq=freq, by="seg", invalid="skip")


def csat(freq: str | None, prep: Prep = same) -> Any:
    rows = pd.DataFrame({"score": [5, 4, None, None], "t": T(JAN_FEB), "seg": SEG})
    return kpikit.csat(prep(rows), score="score", time="t" if freq else None, freq=freq, by="seg", invalid="skip")


def snapshots() -> pd.DataFrame:
    # Customer b (segment e) is on the books at 0 MRR both months: never a paying customer.
    return pd.DataFrame({"customer": ["a", "a", "b", "b"], "month": T(["2026-01-01", "2026-02-01"] * 2),
                         "mrr": [10.0, 20.0, 0.0, 0.0], "seg": SEG})


def mrr_movements(freq: str | None, prep: Prep = same) -> Any:
    return kpikit.mrr_movements(prep(snapshots()), customer="customer", period="month", mrr="mrr", by="seg")


def revenue_metrics(freq: str | None, prep: Prep = same) -> Any:
    return kpikit.revenue_metrics(prep(snapshots()), customer="customer", period="month", mrr="mrr", by="seg")


def deal_metrics(freq: str | None, prep: Prep = same) -> Any:
    # Segment e's deals are still open: created, never closed.
    deals = pd.DataFrame({"created": T(JAN_FEB), "closed": T(["2026-01-09", "2026-02-09", None, None]),
                          "won": [True, False, None, None], "amount": [1.0, 2.0, 3.0, 4.0], "seg": SEG})
    return kpikit.deal_metrics(prep(deals), created="created", closed="closed", won="won", amount="amount", by="seg",
                               freq="month")


def lead_metrics(freq: str | None, prep: Prep = same) -> Any:
    leads = pd.DataFrame({"created": T([*JAN_FEB[:2], None, None]),
                          "converted": T(["2026-01-07", None, None, None]), "seg": SEG})
    return kpikit.lead_metrics(prep(leads), created="created", converted="converted", by="seg", freq="month",
                               invalid="skip")


def support_metrics(freq: str | None, prep: Prep = same) -> Any:
    tickets = pd.DataFrame({"opened": T([*JAN_FEB[:2], None, None]),
                            "resolved": T(["2026-01-07", None, None, None]), "seg": SEG})
    return kpikit.support_metrics(prep(tickets), opened="opened", resolved="resolved", by="seg", freq="month",
                                  invalid="skip")


def campaign_metrics(freq: str | None, prep: Prep = same) -> Any:
    sends = pd.DataFrame({"t": T(JAN_FEB), "sends": [10.0, 20.0, None, None], "opens": [1.0, 2.0, None, None], "seg": SEG})
    return kpikit.campaign_metrics(prep(sends), sends="sends", opens="opens", time="t" if freq else None, freq=freq,
                                   by="seg", invalid="skip")


def onboarding_time(freq: str | None, prep: Prep = same) -> Any:
    rows = pd.DataFrame({"started": T([*JAN_FEB[:2], None, None]),
                         "fv": T(["2026-01-07", None, None, None]), "seg": SEG})
    return kpikit.onboarding_time(prep(rows), started="started", first_value="fv", by="seg", freq="month",
                                  invalid="skip")


def events() -> pd.DataFrame:
    # Segment e's user only browses: never the first step, never a counted event.
    return pd.DataFrame({"user": ["u", "u", "w", "v", "v"],
                         "time": T(["2026-01-05", "2026-01-07", "2026-02-05", "2026-01-06", "2026-02-06"]),
                         "event": ["signup", "buy", "signup", "browse", "browse"], "seg": ["x", "x", "x", "e", "e"]})


def funnel(freq: str | None, prep: Prep = same) -> Any:
    return kpikit.funnel(prep(events()), user="user", time="time", steps=["signup", "buy"], freq=freq, by="seg")


def funnel_from_stages(freq: str | None, prep: Prep = same) -> Any:
    # Segment e's leads never reached the first stage (its time is missing).
    leads = pd.DataFrame({"a": T([*JAN_FEB[:2], None, None]), "b": T(["2026-01-09", None, None, None]), "seg": SEG})
    return kpikit.funnel_from_stages(prep(leads), stages=["a", "b"], freq=freq, by="seg")


def active_users(freq: str | None, prep: Prep = same) -> Any:
    return kpikit.active_users(prep(events()), user="user", time="time", freq=freq or "month", events="signup",
                               windows={"dau": 1}, by="seg")


# function: (call, whether it can run without periods, counts that must be 0, rates that must be null)
CASES: dict[str, tuple[Callable[[str | None, Prep], Any], bool, list[str], list[str]]] = {
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


# --- categories that no row uses ---------------------------------------------------------------
# A categorical segment has rows for every category, as pandas' groupby(observed=False) gives
# them: a category no row uses is laid out like segment "e" above.

#: The categories of "seg": "u" has no row, and the order is not alphabetical.
CATEGORIES = ["x", "u", "e"]


def categorical(library: str) -> Prep:
    """The case's table with "seg" categorical: a pandas categorical, a polars Enum or an Arrow
    dictionary, each with the categories CATEGORIES."""

    def prep(table: pd.DataFrame) -> Any:
        table = table.astype({"seg": pd.CategoricalDtype(CATEGORIES)})
        if library == "polars":
            return pl.from_pandas(table).with_columns(pl.col("seg").cast(pl.String).cast(pl.Enum(CATEGORIES)))
        if library == "arrow":
            return pa.Table.from_pandas(table, preserve_index=False)
        return table

    return prep


def as_pandas(result: Any) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        return result
    return result.to_pandas()


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
@pytest.mark.parametrize("freq", [None, "month"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_category_no_row_uses_has_its_rows_of_zeros(name: str, freq: str | None, library: str) -> None:
    call, without_periods, counts, rates = CASES[name]
    if freq is None and not without_periods:
        pytest.skip("periods are always on")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kpikit.SkippedRowsWarning)
        result = as_pandas(call(freq, categorical(library)))
        plain = call(freq, same)
    seg = result.seg.astype(object)
    # Segment-major in category order, the unused category in its place.
    assert list(dict.fromkeys(seg)) == CATEGORIES, result
    assert list(result.seg.cat.categories) == CATEGORIES
    unused, counted = result[seg == "u"], result[seg == "x"]
    assert len(counted) > 0
    assert len(unused) == len(counted), result
    if "period" in result.columns:
        assert unused.period.tolist() == counted.period.tolist()
    if "step" in result.columns:
        assert unused.step.tolist() == counted.step.tolist()
    for column in counts:
        assert unused[column].tolist() == [0] * len(unused), column
    for column in rates:
        assert unused[column].isna().all(), column
    if name in ("mrr_movements", "revenue_metrics"):
        assert (unused["ending_mrr" if name == "mrr_movements" else "mrr"] == 0).all()
    if library == "pandas":
        # The categories used give the figures of plain string segments.
        used = result[seg != "u"].astype({"seg": object})
        expected = plain.set_index("seg").loc[["x", "e"]].reset_index().astype({"seg": object})
        key = [c for c in ("seg", "period", "step") if c in result.columns]
        pd.testing.assert_frame_equal(
            used.sort_values(key, kind="stable").reset_index(drop=True),
            expected[used.columns].sort_values(key, kind="stable").reset_index(drop=True),
        )


def test_categories_combine_with_the_other_segments_values_as_pandas_does() -> None:
    # Two segment columns: every category of "seg" with every value of "region" that occurs,
    # the missing one included, as pandas' groupby(observed=False, dropna=False).
    rows = pd.DataFrame({
        "score": [10, 0, 9, 7],
        "seg": pd.Categorical(["x", "x", "e", "x"], categories=CATEGORIES),
        "region": ["eu", "us", "eu", None],
    })
    out = kpikit.nps(rows, score="score", by=["seg", "region"])
    reference = rows.assign(n=1).groupby(["seg", "region"], observed=False, dropna=False).n.sum().reset_index()
    assert out.seg.astype(object).tolist() == reference.seg.astype(object).tolist()
    assert out.region.tolist()[:2] == reference.region.tolist()[:2] and pd.isna(out.region[2])
    assert out.responses.tolist() == reference.n.tolist() == [1, 1, 1, 0, 0, 0, 1, 0, 0]
    # x: a promoter in eu, a detractor in us, a passive without a region; u: nobody.
    assert out.nps.tolist()[:3] == [100.0, -100.0, 0.0] and out.nps[3:6].isna().all()


def test_hand_computed_nps_with_an_unused_category() -> None:
    answers = pd.DataFrame({
        "score": [10, 9, 6, 0, 10],
        "t": T(["2026-01-05", "2026-01-20", "2026-02-03", "2026-02-10", "2026-02-11"]),
        "plan": pd.Categorical(["pro", "pro", "free", "free", "pro"], categories=["pro", "team", "free"], ordered=True),
    })
    out = kpikit.nps(answers, score="score", time="t", freq="month", by="plan")
    assert out.plan.tolist() == ["pro", "pro", "team", "team", "free", "free"]
    assert out.period.dt.strftime("%Y-%m").tolist() == ["2026-01", "2026-02"] * 3
    # pro: 2 promoters in January, 1 in February; team: nobody; free: 2 detractors in February.
    assert out.responses.tolist() == [2, 1, 0, 0, 0, 2]
    assert out.detractors.tolist() == [0, 0, 0, 0, 0, 2]
    nps = out.nps.tolist()
    assert nps[0] == nps[1] == 100.0 and nps[5] == -100.0 and out.nps[2:5].isna().all()


def test_hand_computed_funnel_with_an_unused_category() -> None:
    plans = pd.CategoricalDtype(["pro", "team", "free"])
    ev = pd.DataFrame({
        "user": [1, 1, 2, 3],
        "time": T(["2026-01-05", "2026-01-06", "2026-01-05", "2026-01-07"]),
        "event": ["signup", "buy", "signup", "signup"],
        "plan": pd.Series(["free", "free", "pro", "free"], dtype=plans),
    })
    out = kpikit.funnel(ev, user="user", time="time", steps=["signup", "buy"], by="plan")
    assert out.plan.dtype == plans
    assert out.plan.tolist() == ["pro", "pro", "team", "team", "free", "free"]
    # pro: user 2 signs up, never buys; team: nobody; free: users 1 and 3 sign up, 1 buys.
    assert out.entered.tolist() == [1, 1, 0, 0, 2, 2]
    assert out.converted.tolist() == [1, 0, 0, 0, 2, 1]
    assert out.conversion_from_previous.tolist()[4:] == [1.0, 0.5]
    assert out.conversion_from_previous[2:4].isna().all() and out.conversion_from_first[2:4].isna().all()


def test_hand_computed_mrr_movements_with_an_unused_category() -> None:
    # a (pro): 10 in January, 20 in February; b (free): 5 in January, gone in February.
    snaps = pd.DataFrame({
        "customer": ["a", "a", "b"],
        "month": T(["2026-01-01", "2026-02-01", "2026-01-01"]),
        "mrr": [10.0, 20.0, 5.0],
        "plan": pd.Categorical(["pro", "pro", "free"], categories=["pro", "team", "free"]),
    })
    out = kpikit.mrr_movements(snaps, customer="customer", period="month", mrr="mrr", by="plan")
    assert out.plan.tolist() == ["pro", "pro", "team", "team", "free", "free"]
    assert out.new_mrr.tolist() == [10, 0, 0, 0, 5, 0]
    assert out.expansion_mrr.tolist() == [0, 10, 0, 0, 0, 0]
    assert out.churned_mrr.tolist() == [0, 0, 0, 0, 0, 5]
    assert out.starting_mrr.tolist() == [0, 10, 0, 0, 0, 5]
    assert out.ending_mrr.tolist() == [10, 20, 0, 0, 5, 0]
    assert out.ending_customers.tolist() == [1, 1, 0, 0, 1, 0]
    rates = kpikit.revenue_metrics(out)
    assert rates.plan.tolist() == out.plan.tolist()
    # team has no customers at the start of February: no churn rate (not 0).
    assert rates.gross_mrr_churn_rate.tolist()[5] == 1.0 and rates.gross_mrr_churn_rate[2:4].isna().all()
