"""kpikit.check: data integrity per source, with planted defects and hand-counted findings."""

from __future__ import annotations

from collections.abc import Callable
from statistics import median
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import kpikit
from kpikit import CheckResult, Sources, check
from kpikit.exceptions import ParameterError

T0 = pd.Timestamp("2026-03-02")  # a Monday


def day(d: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=d)


def findings(result: CheckResult, source: str) -> dict[tuple[str, str], tuple[int, list[int], str]]:
    """(check, column) -> (count, examples, severity) of one source."""
    f = result.to_frame()
    f = f[f["source"] == source]
    return {(r.check, r.column): (r.count, list(r.examples), r.severity) for r in f.itertuples(index=False)}


def test_deals_with_planted_defects() -> None:
    deals = pd.DataFrame({
        "deal_id": [1, 2, 2, None, 5, 6, 7],
        "created": [day(0), day(1), day(2), day(3), None, day(5), day(6)],
        "closed": [day(3), day(2), day(4), day(4), day(6), day(4), day(9)],
        "amount": [100.0, 50.0, 70.0, 80.0, 90.0, -10.0, 0.0],
        "won": [True, None, False, True, True, False, True],  # row 1 closed without won
    })
    cols = {"deal": "deal_id", "created": "created", "closed": "closed", "amount": "amount", "won": "won"}
    result = check(Sources(deals=(deals, cols)), as_of=day(9))
    got = findings(result, "deals")
    assert got == {
        ("nulls", "deal_id"): (1, [3], "failed"),        # row 3 has no deal id
        ("nulls", "created"): (1, [4], "failed"),        # row 4 has no created time
        ("duplicates", "deal_id"): (1, [2], "failed"),   # row 2 repeats deal 2 of row 1
        ("out_of_range", "amount"): (1, [5], "failed"),  # −10
        ("order", "created, closed"): (1, [5], "failed"),  # closed day 4 < created day 5
        ("consistency", "closed, won"): (1, [1], "failed"),  # row 1 closed but won missing
    }
    messages = result.to_frame().set_index("check")["message"]
    assert messages["duplicates"] == "deal_id: must be unique: 1 row(s), e.g. row 2: same key as row 1"
    assert messages["consistency"] == ("closed, won: a row with closed present needs won present: 1 row(s), "
                                       "e.g. row 1: closed present but won not present")
    assert result.status("deals") == "failed"
    assert result.failed_roles() == {"deals"}
    s = result.summary().iloc[0]
    # 7 rows; span over created and closed: day 0 … day 9; as_of day 9 → 0 days stale.
    assert (s["rows"], s["first"], s["last"], s["days_stale"]) == (7, day(0), day(9), 0)


def test_subscription_snapshots() -> None:
    subs = pd.DataFrame({
        "customer": ["a", "a", "b", "a", None, "c"],
        "month": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-01", "2026-02-01", "2026-02-01", "2026-02-01"]),
        "mrr": [10.0, 10.0, 20.0, 12.0, 5.0, -3.0],
    })
    result = check(Sources(subscriptions=(subs, {"customer": "customer", "period": "month", "mrr": "mrr"})),
                   as_of="2026-03-15")
    assert findings(result, "subscriptions") == {
        ("nulls", "customer"): (1, [4], "failed"),
        ("duplicates", "customer, month"): (1, [3], "failed"),  # (a, Feb) again
        ("out_of_range", "mrr"): (1, [5], "failed"),
    }
    # February stands for the whole month: covered until 2026-02-28, 15 days before 2026-03-15.
    assert result.summary()["days_stale"].tolist() == [15]


def test_scores_in_every_input_library(make_table: Callable[[dict[str, list[Any]]], Any]) -> None:
    times = [day(i).to_pydatetime() for i in range(6)]
    times[2] = None
    table = make_table({"score": [9.0, 11.0, 3.0, None, -1.0, 7.5], "time": times})
    result = check(Sources(responses=(table, {"score": "score", "time": "time"})), as_of=day(5))
    assert findings(result, "responses") == {
        ("nulls", "score"): (1, [3], "failed"),
        ("nulls", "time"): (1, [2], "failed"),
        # 11 and −1 are off the 0–10 scale; 7.5 is not a whole number.
        ("out_of_range", "score"): (3, [1, 4, 5], "failed"),
    }
    assert result.summary()["rows"].tolist() == [6]


def test_tickets_order_ranges_and_csat() -> None:
    tickets = pd.DataFrame({
        "opened": [day(0), day(1), day(2), day(3), day(4)],
        "first_response": [day(0.1), day(0.5), None, day(3.2), day(4.1)],  # row 1 answered before opened
        "resolved": [day(1), day(2), day(1.5), None, day(5)],  # row 2 resolved before opened
        "handle_seconds": [60, -5, 30, 0, 10],
        "csat": [5.0, None, 0.0, 4.5, 6.0],
    })
    cols = {"opened": "opened", "resolved": "resolved", "first_response": "first_response",
            "handle_seconds": "handle_seconds", "csat": "csat"}
    result = check(Sources(tickets=(tickets, cols)), as_of=day(5))
    assert findings(result, "tickets") == {
        ("out_of_range", "handle_seconds"): (1, [1], "failed"),
        ("out_of_range", "csat"): (3, [2, 3, 4], "failed"),  # 0 and 6 off 1–5, 4.5 not whole
        ("order", "opened, first_response"): (1, [1], "failed"),
        ("order", "opened, resolved"): (1, [2], "failed"),
    }


def test_lead_stages_revenue_and_key() -> None:
    leads = pd.DataFrame({
        "lead": [1, 2, 3, 3, 5],
        "visited": [day(0), day(1), None, day(3), day(4)],
        "signed_up": [day(1), day(0.5), day(2), None, None],  # row 1 signs up before visiting
        "customer": [day(2), None, day(1), day(5), day(3)],   # row 2 before its sign-up; row 4 before its visit
        "revenue": [0.0, 10.0, -1.0, 0.0, 5.0],
    })
    cols = {"lead": "lead", "stages": ["visited", "signed_up", "customer"], "created": "visited",
            "converted": "customer", "revenue": "revenue"}
    result = check(Sources(leads=(leads, cols)), as_of=day(5))
    assert findings(result, "leads") == {
        ("nulls", "visited"): (1, [2], "failed"),
        ("duplicates", "lead"): (1, [3], "failed"),
        ("out_of_range", "revenue"): (1, [2], "failed"),
        # row 1: signed_up < visited; row 2: customer (day 1) < signed_up (day 2);
        # row 4: customer (day 3) < visited (day 4), signed_up missing.
        ("order", "visited, signed_up, customer"): (3, [1, 2, 4], "failed"),
    }


def test_events_have_no_key_but_need_user_and_time() -> None:
    events = pd.DataFrame({"user": [1, 1, None, 2], "time": [day(0), day(0), day(1), day(1)]})
    result = check(Sources(events=(events, {"user": "user", "time": "time"})), as_of=day(1))
    # The repeated (1, day 0) event is normal: events have no key.
    assert findings(result, "events") == {("nulls", "user"): (1, [2], "failed")}


def test_staleness_by_cadence() -> None:
    events = pd.DataFrame({"user": [1, 2], "time": [day(0), day(2)]})
    s = Sources(events=(events, {"user": "user", "time": "time"}))
    # Latest event on day 2; as_of day 7 → 5 days stale > 3.
    result = check(s, as_of=day(7))
    assert findings(result, "events") == {("stale", "time"): (5, [], "warning")}
    assert result.status("events") == "warning" and result.failed_roles() == set()
    assert check(s, as_of=day(7), max_staleness={"events": 5}).status("events") == "ok"

    spend = pd.DataFrame({"month": pd.to_datetime(["2026-07-01", "2026-08-01"]), "amount": [1.0, 2.0]})
    s = Sources(spend=(spend, {"time": "month", "amount": "amount"}))
    # August covers until 2026-08-31: 2026-10-08 is 38 days later (allowed), 2026-10-09 is 39.
    assert check(s, as_of="2026-10-08").status("spend") == "ok"
    assert findings(check(s, as_of="2026-10-09"), "spend") == {("stale", "month"): (39, [], "warning")}


def _daily(counts: list[int]) -> pd.DataFrame:
    times = [day(d) + pd.Timedelta(minutes=k) for d, c in enumerate(counts) for k in range(c)]
    return pd.DataFrame({"user": range(len(times)), "time": times})


def test_gaps_and_drops_compare_same_weekdays() -> None:
    # Six weeks from Monday: weekdays 30 rows, weekends 2. Week 7: Wednesday (day 44) empty,
    # Thursday (day 45) 10 rows (< 0.5 × median 30), weekend days 2 as usual (median 2: not
    # judged). Week 8 Monday (day 49) has 1 row but is after as_of (day 48): not judged.
    counts = [2 if d % 7 >= 5 else 30 for d in range(49)] + [1]
    counts[44], counts[45] = 0, 10
    events = _daily(counts)
    result = check(Sources(events=(events, {"user": "user", "time": "time"})), as_of=day(48))
    first_thursday_row = sum(counts[:45])
    assert findings(result, "events") == {
        ("gaps", "time"): (1, [], "warning"),
        ("volume_drop", "time"): (1, [first_thursday_row], "warning"),
    }
    msg = result.to_frame().set_index("check").loc["gaps", "message"]
    assert "2026-04-15" in msg  # day 44
    assert result.status("events") == "warning"


def _reference_flags(counts: list[int], season: int, judged_days: int) -> tuple[list[int], list[int]]:
    """Gaps and drops by the documented rule, written plainly."""
    first = next(i for i, c in enumerate(counts) if c)
    last = max(i for i, c in enumerate(counts) if c)
    gaps, drops = [], []
    for p in range(first, last + 1):
        earlier = [counts[p - k * season] for k in range(1, 7) if p - k * season >= first]
        m = median(earlier) if earlier else None
        if counts[p] == 0 and m is not None and m >= 5:
            gaps.append(p)
        if counts[p] > 0 and p < judged_days and len(earlier) >= 3 and m is not None and m >= 20 and counts[p] < 0.5 * m:
            drops.append(p)
    return gaps, drops


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=40).filter(any), st.integers(0, 45))
def test_volume_flags_match_a_plain_reference(counts: list[int], as_of: int) -> None:
    result = check(Sources(events=(_daily(counts), {"user": "user", "time": "time"})), as_of=day(as_of))
    periods = result.periods["events"]
    offset = next(i for i, c in enumerate(counts) if c)
    got_gaps = [offset + i for i in periods.index[periods["gap"]]]
    got_drops = [offset + i for i in periods.index[periods["drop"]]]
    # A day has ended by as_of when it is on or before as_of (its end ≤ as_of + 1 day).
    assert (got_gaps, got_drops) == _reference_flags(counts, 7, as_of + 1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]), st.integers(1, 3)), min_size=1, max_size=30))
def test_duplicates_and_nulls_match_pandas(rows: list[tuple[str | None, int]]) -> None:
    subs = pd.DataFrame({
        "customer": pd.array([c for c, _ in rows], dtype="string"),
        "month": pd.to_datetime([f"2026-0{m}-01" for _, m in rows]),
        "mrr": [1.0] * len(rows),
    })
    result = check(Sources(subscriptions=(subs, {"customer": "customer", "period": "month", "mrr": "mrr"})),
                   as_of="2026-03-31")
    got = findings(result, "subscriptions")
    complete = subs.dropna(subset=["customer"])
    dup = complete.duplicated(subset=["customer", "month"])
    expected_dups = list(complete.index[dup])
    if expected_dups:
        assert got[("duplicates", "customer, month")] == (len(expected_dups), expected_dups[:5], "failed")
    else:
        assert ("duplicates", "customer, month") not in got
    nulls = list(subs.index[subs["customer"].isna()])
    assert got.get(("nulls", "customer"), (0, [], "failed")) == (len(nulls), nulls[:5], "failed")


def test_missing_and_mistyped_columns_are_findings() -> None:
    deals = pd.DataFrame({"deal_id": [1, 2], "created": [day(0), day(1)], "amount": ["10", "x"]})
    cols = {"deal": "deal_id", "created": "created", "closed": "closed_at", "amount": "amount"}
    result = check(Sources(deals=(deals, cols)), as_of=day(1))
    got = findings(result, "deals")
    assert got[("missing_column", "closed_at")] == (2, [], "failed")
    assert got[("wrong_type", "amount")] == (2, [], "failed")
    # The span still comes from the columns that exist.
    assert result.summary()["last"].tolist() == [day(1)]


def test_demo_company_has_no_failed_check() -> None:
    sources = Sources.demo()
    result = check(sources, as_of=sources.data_end())
    assert result.failed_roles() == set()
    summary = result.summary()
    assert summary["source"].tolist() == sources.roles()
    for role, rows in zip(summary["source"], summary["rows"], strict=True):
        assert rows == len(getattr(sources, role)[0])
    assert (summary["days_stale"] == 0).all()
    assert result.to_frame().empty  # seed 0 at scale 1 has neither failures nor warnings


def test_result_api_outputs_and_html() -> None:
    events = pd.DataFrame({"user": [1, None], "time": [day(0), day(1)]})
    s = Sources(events=(events, {"user": "user", "time": "time"}))
    result = check(s, as_of=day(1))
    assert list(result.to_frame().columns) == ["source", "check", "column", "severity", "count", "examples", "message"]
    assert list(result.summary().columns) == ["source", "rows", "first", "last", "days_stale", "max_staleness",
                                              "failed", "warnings", "status"]
    assert isinstance(check(s, as_of=day(1), output="polars").to_frame(), pl.DataFrame)
    assert isinstance(check(s, as_of=day(1), output="arrow").summary(), pa.Table)
    page = result._repr_html_()
    assert "#e03131" in page and "events" in page and "must not be missing" in page
    with pytest.raises(ParameterError, match="'deals' was not checked"):
        result.status("deals")
    with pytest.raises(ParameterError, match="unknown roles"):
        check(s, periods={"orders": "day"})
    with pytest.raises(ParameterError, match="output"):
        check(s, output="excel")
    assert kpikit.check is check


def test_empty_source_and_zone_aware_as_of() -> None:
    events = pd.DataFrame({"user": pd.Series([], dtype="int64"), "time": pd.Series([], dtype="datetime64[us, UTC]")})
    # 23:30 in New York on 2 March is 04:30 UTC on 3 March: as_of is the UTC day.
    result = check(Sources(events=(events, {"user": "user", "time": "time"})),
                   as_of=pd.Timestamp("2026-03-02 23:30", tz="America/New_York"))
    assert result.as_of == pd.Timestamp("2026-03-03")
    assert findings(result, "events") == {("empty", ""): (0, [], "warning")}
    s = result.summary().iloc[0]
    assert s["rows"] == 0 and s["days_stale"] is pd.NA and s["last"] is pd.NaT


def test_won_deals_must_be_closed_and_have_an_amount() -> None:
    deals = pd.DataFrame({
        "deal_id": [1, 2, 3, 4],
        "created": [day(0), day(1), day(2), day(3)],
        "closed": [day(2), None, day(4), None],
        "amount": [10.0, 20.0, None, None],
        "won": [True, True, True, None],  # row 1 won but open; row 2 won without amount
    })
    cols = {"deal": "deal_id", "created": "created", "closed": "closed", "amount": "amount", "won": "won"}
    got = findings(check(Sources(deals=(deals, cols)), as_of=day(4)), "deals")
    # Row 3 (open, won unknown, no amount) is a normal open deal.
    assert got == {("consistency", "won, closed"): (1, [1], "failed"),
                   ("consistency", "won, amount"): (1, [2], "failed")}


def test_subscriptions_from_intervals() -> None:
    subs = pd.DataFrame({
        "customer": ["a", "b", "c", None],
        "started": [day(0), day(10), None, day(20)],
        "ended": [day(40), day(5), day(30), None],  # row 1 ends before it starts
        "amount": [100.0, 50.0, -1.0, 20.0],
        "interval": ["month"] * 4,
    })
    cols = {"customer": "customer", "started": "started", "ended": "ended", "amount": "amount", "interval": "interval"}
    result = check(Sources(subscriptions=(subs, cols)), as_of=day(21))
    assert findings(result, "subscriptions") == {
        ("nulls", "customer"): (1, [3], "failed"),
        ("nulls", "started"): (1, [2], "failed"),
        ("out_of_range", "amount"): (1, [2], "failed"),
        ("order", "started, ended"): (1, [1], "failed"),
    }
    # Freshness counts from the latest start (day 20), not from the month: 1 day.
    assert result.summary()["days_stale"].tolist() == [1]
