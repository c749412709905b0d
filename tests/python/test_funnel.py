"""Funnels: hand-built cases pinning each rule, every input library, and plain-Python references."""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import kpikit

T0 = pd.Timestamp("2025-03-03 09:00")
MIN = pd.Timedelta("1min")
H = pd.Timedelta("1h")
D = pd.Timedelta("1D")


def _log(rows: list[tuple[Any, ...]], extra: str | None = None) -> pd.DataFrame:
    """(user, time, event[, extra]) tuples as an event table."""
    cols = ["user", "time", "event"] + ([extra] if extra else [])
    return pd.DataFrame(rows, columns=cols)


def _funnel(events: Any, steps: list[Any], **kw: Any) -> pd.DataFrame:
    return kpikit.funnel(events, user="user", time="time", event="event", steps=steps, **kw)


def _conv(out: pd.DataFrame) -> list[int]:
    return out.converted.tolist()


# --- event funnels: one rule per test ----------------------------------------------------------


def test_window_boundary_is_inclusive() -> None:
    # Window 1 h. User 1 upgrades exactly 1 h after signing up (counts); user 2 one
    # microsecond later (does not).
    ev = _log(
        [
            (1, T0, "signup"),
            (1, T0 + H, "upgrade"),
            (2, T0, "signup"),
            (2, T0 + H + pd.Timedelta("1us"), "upgrade"),
        ]
    )
    out = _funnel(ev, ["signup", "upgrade"], window="1h", unit="minutes")
    assert _conv(out) == [2, 1]
    assert out.entered.tolist() == [2, 2]
    assert out.conversion_from_previous.tolist() == [1.0, 0.5]
    # The one conversion took 60 minutes: mean = median = p90 = 60.
    assert out.time_to_convert_mean_minutes[1] == 60.0
    assert out.time_to_convert_median_minutes[1] == 60.0
    assert out.time_to_convert_p90_minutes[1] == 60.0
    assert np.isnan(out.time_to_convert_mean_minutes[0])


def test_strict_order_is_broken_by_an_intermediate_event() -> None:
    # User 1: signup, page_view, upgrade → strict stops at step 1 (page_view in between);
    # user 2: signup, upgrade back to back → converts either way.
    ev = _log(
        [
            (1, T0, "signup"),
            (1, T0 + MIN, "page_view"),
            (1, T0 + 2 * MIN, "upgrade"),
            (2, T0, "signup"),
            (2, T0 + 5 * MIN, "upgrade"),
        ]
    )
    assert _conv(_funnel(ev, ["signup", "upgrade"], order="strict")) == [2, 1]
    assert _conv(_funnel(ev, ["signup", "upgrade"], order="ordered")) == [2, 2]


def test_exclusion_between_steps_removes_the_user() -> None:
    # Steps signup → trial → upgrade, exclusion "cancel" between steps 1 and 2.
    # User 1: signup, cancel, trial, upgrade → spoiled, not in the funnel at all.
    # User 2: signup, trial, cancel, upgrade → cancel after step 2: counts, converts fully.
    # User 3: signup, cancel (never trials) → spoiled while the gap 1→2 is open: removed.
    ev = _log(
        [
            (1, T0, "signup"),
            (1, T0 + MIN, "cancel"),
            (1, T0 + 2 * MIN, "trial"),
            (1, T0 + 3 * MIN, "upgrade"),
            (2, T0, "signup"),
            (2, T0 + MIN, "trial"),
            (2, T0 + 2 * MIN, "cancel"),
            (2, T0 + 3 * MIN, "upgrade"),
            (3, T0, "signup"),
            (3, T0 + MIN, "cancel"),
        ]
    )
    steps = ["signup", "trial", "upgrade"]
    assert _conv(_funnel(ev, steps)) == [3, 2, 2]
    out = _funnel(ev, steps, exclusions=[("cancel", 1, 2)])
    assert _conv(out) == [1, 1, 1]
    # The dict form, and an exclusion over the whole funnel (1 → 3) spoils users 1, 2 and 3.
    assert _conv(_funnel(ev, steps, exclusions=[{"event": "cancel", "from_step": 1, "to_step": 3}])) == [0, 0, 0]
    with pytest.raises(kpikit.ParameterError, match="exclusions"):
        _funnel(ev, steps, exclusions=[("cancel", 2, 2)])


def test_a_repeated_step_needs_as_many_events() -> None:
    # Steps search → search → buy. User 1 searches once then buys: one event fills one step,
    # so user 1 stops at step 1. User 2 searches twice then buys: all three steps.
    ev = _log(
        [
            (1, T0, "search"),
            (1, T0 + MIN, "buy"),
            (2, T0, "search"),
            (2, T0 + MIN, "search"),
            (2, T0 + 3 * MIN, "buy"),
        ]
    )
    out = _funnel(ev, ["search", "search", "buy"], unit="minutes")
    assert _conv(out) == [2, 1, 1]
    # User 2: 1 minute between the searches, 2 minutes to buy.
    assert out.time_to_convert_median_minutes.tolist()[1:] == [1.0, 2.0]


def test_the_attempt_that_gets_furthest_counts() -> None:
    # Window 14 days. User 1 signs up on day 0 (nothing follows within 14 days), again on day
    # 20, upgrades on day 21: the second attempt reaches step 2, time to convert 1 day.
    ev = _log([(1, T0, "signup"), (1, T0 + 20 * D, "signup"), (1, T0 + 21 * D, "upgrade")])
    out = _funnel(ev, ["signup", "upgrade"], unit="days")
    assert _conv(out) == [1, 1]
    assert out.time_to_convert_mean_days[1] == 1.0
    # Totals: the first attempt times out (day 14) and counts as a drop; the second converts.
    tot = _funnel(ev, ["signup", "upgrade"], count="totals")
    assert _conv(tot) == [2, 1]


def test_step_lists_and_any_order() -> None:
    # Step 2 is "viewed a report" = either of two names. User 1: signup, csv_export, invite
    # (A, B-variant, C). User 2: signup, invite, pdf_export (A, C, B): ordered reaches 2 steps,
    # any order all 3.
    ev = _log(
        [
            (1, T0, "signup"),
            (1, T0 + MIN, "csv_export"),
            (1, T0 + 2 * MIN, "invite"),
            (2, T0, "signup"),
            (2, T0 + MIN, "invite"),
            (2, T0 + 2 * MIN, "pdf_export"),
        ]
    )
    steps = ["signup", ["csv_export", "pdf_export"], "invite"]
    assert _conv(_funnel(ev, steps)) == [2, 2, 1]
    out = _funnel(ev, steps, order="any_after_first")
    assert _conv(out) == [2, 2, 2]
    assert out.step_name.tolist() == ["signup", "any 2 of 3 steps", "any 3 of 3 steps"]


def test_unordered_funnels_count_distinct_steps_from_any_start() -> None:
    # PostHog's "any order" step order (https://posthog.com/docs/product-analytics/funnels,
    # "Step order"): the steps may happen in any sequence; a person reaches step n when n of the
    # steps happened within the conversion window (docs/conventions.md#funnels).
    # Steps signup, invite, export; window 1 h.
    # User 1: export, invite, signup within 30 min → 3 steps (unordered), but never enters a
    #   funnel that needs signup first with anything after it → 1 step (any_after_first).
    # User 2: invite, then signup 2 h later, export 10 min after that → from invite nothing
    #   within the hour; from signup: signup, export → 2 steps.
    # User 3: export twice → 1 distinct step.
    ev = _log(
        [
            (1, T0, "export"),
            (1, T0 + 10 * MIN, "invite"),
            (1, T0 + 30 * MIN, "signup"),
            (2, T0, "invite"),
            (2, T0 + 2 * H, "signup"),
            (2, T0 + 2 * H + 10 * MIN, "export"),
            (3, T0, "export"),
            (3, T0 + MIN, "export"),
        ]
    )
    steps = ["signup", "invite", "export"]
    out = _funnel(ev, steps, order="unordered", window="1h", unit="minutes")
    assert _conv(out) == [3, 2, 1]
    assert out.entered.tolist() == [3, 3, 2]
    assert out.step_name.tolist() == ["any 1 of 3 steps", "any 2 of 3 steps", "any 3 of 3 steps"]
    # Times between consecutive distinct steps: user 1 takes 10 then 20 min, user 2 10 min.
    assert out.time_to_convert_mean_minutes.tolist()[1:] == [10.0, 20.0]
    # From the first step: to the second 10 min (both users), to the third 30 min (user 1).
    assert out.time_from_first_mean_minutes.tolist()[1:] == [10.0, 30.0]
    first = _funnel(ev, steps, order="any_after_first", window="1h", unit="minutes")
    assert _conv(first) == [2, 1, 0]
    assert first.step_name.tolist() == ["signup", "any 2 of 3 steps", "any 3 of 3 steps"]


def test_the_old_any_order_is_refused_naming_both_meanings() -> None:
    ev = _log([(1, T0, "a"), (1, T0 + MIN, "b")])
    with pytest.raises(kpikit.ParameterError, match=r'"any_after_first".*"unordered"'):
        _funnel(ev, ["a", "b"], order="any")


def test_unordered_exclusions_span_the_whole_funnel() -> None:
    # PostHog's unordered funnels only take exclusions from the first to the last step. User 1
    # does b, x, a: the attempt from b is spoiled by x, the one from a (nothing after it) is
    # not, so user 1 counts at step 1 only; user 2 does a, b, then x (after the last step:
    # converts).
    ev = _log([(1, T0, "b"), (1, T0 + MIN, "x"), (1, T0 + 2 * MIN, "a"), (2, T0, "a"), (2, T0 + MIN, "b"), (2, T0 + 2 * MIN, "x")])
    out = _funnel(ev, ["a", "b"], order="unordered", exclusions=[("x", 1, 2)])
    assert _conv(out) == [2, 1]
    # Without the exclusion, user 1 converts too (b then a).
    assert _conv(_funnel(ev, ["a", "b"], order="unordered")) == [2, 2]
    with pytest.raises(kpikit.ParameterError, match="spans the whole funnel"):
        _funnel(ev, ["a", "b", "x"], order="unordered", exclusions=[("x", 1, 2)])


def test_time_to_convert_over_the_whole_funnel() -> None:
    # PostHog's time to convert (https://posthog.com/docs/product-analytics/funnels, "Time to
    # convert") runs from the first to the last step of those who converted; kpikit gives it on
    # every row from step 1 (docs/conventions.md#funnels).
    # User 1: a, b after 1 h, c after 3 h more (4 h in all). User 2: a, b after 2 h, c after
    # 6 h more (8 h). User 3: a, b after 5 h, stops.
    ev = _log(
        [
            (1, T0, "a"), (1, T0 + H, "b"), (1, T0 + 4 * H, "c"),
            (2, T0, "a"), (2, T0 + 2 * H, "b"), (2, T0 + 8 * H, "c"),
            (3, T0, "a"), (3, T0 + 5 * H, "b"),
        ]
    )
    out = _funnel(ev, ["a", "b", "c"], unit="hours", histogram=2)
    # Step b: 1, 2, 5 h from a (the same as step to step): mean 8/3, median 2, p90 = 2 + 0.8 × 3.
    assert out.time_from_first_mean_hours[1] == pytest.approx(8 / 3)
    assert out.time_from_first_median_hours[1] == 2.0
    assert out.time_from_first_p90_hours[1] == pytest.approx(4.4)
    # Step c, the whole funnel: 4 and 8 h → mean 6, median 6, p90 = 4 + 0.9 × 4 = 7.6; the
    # step-to-step times are 3 and 6 h.
    assert out.time_from_first_mean_hours[2] == 6.0
    assert out.time_from_first_median_hours[2] == 6.0
    assert out.time_from_first_p90_hours[2] == pytest.approx(7.6)
    assert out.time_to_convert_mean_hours[2] == 4.5
    assert np.isnan(out.time_from_first_mean_hours[0])
    # Two equal bins from 4 to 8 h: [4, 6) holds 4 h, [6, 8] holds 8 h.
    assert list(out.from_first_histogram_from_hours[2]) == [4.0, 6.0]
    assert list(out.from_first_histogram_count[2]) == [1, 1]
    assert list(out.histogram_from_hours[2]) == [3.0, 4.5]
    # The same over stage columns.
    leads = pd.DataFrame(
        {
            "a": [T0, T0, T0],
            "b": [T0 + H, T0 + 2 * H, T0 + 5 * H],
            "c": [T0 + 4 * H, T0 + 8 * H, pd.NaT],
        }
    )
    st_out = kpikit.funnel_from_stages(leads, stages=["a", "b", "c"], unit="hours")
    assert st_out.time_from_first_mean_hours.tolist()[1:] == pytest.approx([8 / 3, 6.0])


def test_breakdown_attribution() -> None:
    # Each event carries the plan the user was on. User 1 signs up on "free", upgrades on "pro";
    # user 2 signs up on "free" and stops.
    ev = _log(
        [
            (1, T0, "signup", "free"),
            (1, T0 + H, "upgrade", "pro"),
            (2, T0, "signup", "free"),
        ],
        extra="plan",
    )
    steps = ["signup", "upgrade"]
    first = _funnel(ev, steps, by="plan")
    # First touch: both users under "free": 2 entered, 1 converted. "pro" occurs in the input,
    # so it has its rows, empty (docs/conventions.md, "Complete grids").
    assert first.plan.tolist() == ["free", "free", "pro", "pro"]
    assert _conv(first) == [2, 1, 0, 0]
    last = _funnel(ev, steps, by="plan", attribution="last_touch")
    # Last touch: user 1 under "pro" (converted), user 2 under "free" (its last step is 1).
    assert last.plan.tolist() == ["free", "free", "pro", "pro"]
    assert _conv(last) == [1, 0, 1, 1]
    step2 = _funnel(ev, steps, by="plan", attribution="step:2")
    # Step 2: only users who reached step 2 are attributed; user 2 is left out ("free" is
    # empty).
    assert step2.plan.tolist() == ["free", "free", "pro", "pro"]
    assert _conv(step2) == [0, 0, 1, 1]
    with pytest.raises(kpikit.ParameterError, match="attribution"):
        _funnel(ev, steps, attribution="step:3")


def test_presets_set_the_window_and_explicit_values_win() -> None:
    # Upgrade 8 days after sign-up: inside PostHog's 14 days, outside Mixpanel's 7.
    ev = _log([(1, T0, "signup"), (1, T0 + 8 * D, "upgrade")])
    steps = ["signup", "upgrade"]
    assert _conv(_funnel(ev, steps, preset="posthog")) == [1, 1]
    assert _conv(_funnel(ev, steps, preset="amplitude")) == [1, 1]
    assert _conv(_funnel(ev, steps, preset="mixpanel")) == [1, 0]
    assert _conv(_funnel(ev, steps, preset="mixpanel", window="8d")) == [1, 1]
    assert _conv(_funnel(ev, steps, window="none")) == [1, 1]
    assert _conv(_funnel(ev, steps, window=pd.Timedelta("7D"))) == [1, 0]
    with pytest.raises(kpikit.ParameterError, match="preset"):
        _funnel(ev, steps, preset="heap")


def test_conversion_trends_mark_incomplete_periods() -> None:
    # Entries in January (user 1) and February (user 2); the data ends 2025-02-20.
    # Window 7 days: January's window ends 2025-02-08 ≤ 2025-02-20 → complete; February's
    # ends 2025-03-08 → not complete.
    ev = _log(
        [
            (1, pd.Timestamp("2025-01-10"), "signup"),
            (1, pd.Timestamp("2025-01-12"), "upgrade"),
            (2, pd.Timestamp("2025-02-20"), "signup"),
        ]
    )
    out = _funnel(ev, ["signup", "upgrade"], window="7d", freq="month")
    assert out.period.astype(str).tolist() == ["2025-01-01"] * 2 + ["2025-02-01"] * 2
    assert _conv(out) == [1, 1, 1, 0]
    assert out.complete.tolist() == [True, True, False, False]


def test_any_library_unsorted_duplicates(make_table: Any) -> None:
    # Users a, b, c; rows shuffled, one exact duplicate, a single-event user (d).
    rows = [
        ("b", T0 + 2 * MIN, "upgrade"),
        ("a", T0 + 3 * MIN, "upgrade"),
        ("a", T0, "signup"),
        ("c", T0 + MIN, "signup"),
        ("b", T0, "signup"),
        ("b", T0, "signup"),
        ("d", T0, "page_view"),
    ]
    data = {"user": [r[0] for r in rows], "time": [r[1] for r in rows], "event": [r[2] for r in rows]}
    out = _funnel(make_table(data), ["signup", "upgrade"], unit="minutes", output="pandas")
    # a, b, c enter; a converts after 3 min, b after 2 min → mean 2.5, median 2.5,
    # p90 = 2 + 0.9 × (3 − 2) = 2.9.
    assert _conv(out) == [3, 2]
    assert out.time_to_convert_mean_minutes[1] == pytest.approx(2.5)
    assert out.time_to_convert_median_minutes[1] == pytest.approx(2.5)
    assert out.time_to_convert_p90_minutes[1] == pytest.approx(2.9)


def test_null_users_and_times_are_named_or_dropped() -> None:
    ev = pd.DataFrame(
        {
            "user": [1.0, None, 2.0, 2.0],
            "time": [T0, T0, pd.NaT, T0 + MIN],
            "event": ["signup", "signup", "signup", "upgrade"],
        }
    )
    with pytest.raises(kpikit.InputError, match=r'"user".*1 row\(s\), e\.g\. row 1: missing'):
        _funnel(ev, ["signup", "upgrade"])
    with pytest.raises(kpikit.InputError, match=r'"time".*row 2: missing'):
        _funnel(ev.assign(user=[1.0, 3.0, 2.0, 2.0]), ["signup", "upgrade"])
    with pytest.warns(kpikit.SkippedRowsWarning, match="funnel: 2 rows skipped") as caught:
        out = _funnel(ev, ["signup", "upgrade"], invalid="skip")
    # Rows 1 and 2 skipped; user 2's upgrade has no sign-up left: only user 1 enters.
    assert _conv(out) == [1, 0]
    assert [w.message.count for w in caught] == [2]
    assert "skipped_rows" not in out.attrs and "skipped" not in out.columns


def test_histogram_on_request() -> None:
    # Conversions after 1, 2, 3 and 10 minutes, 3 bins of width 3: [1, 4) [4, 7) [7, 10].
    rows = []
    for u, m in enumerate([1, 2, 3, 10]):
        rows += [(u, T0, "a"), (u, T0 + m * MIN, "b")]
    out = _funnel(_log(rows), ["a", "b"], unit="minutes", histogram=3)
    assert out.histogram_from_minutes[1].tolist() == [1.0, 4.0, 7.0]
    assert out.histogram_count[1].tolist() == [3, 0, 1]
    assert out.histogram_count[0].tolist() == []


def test_demo_events_funnel() -> None:
    demo = kpikit.datasets.demo()
    out = kpikit.funnel(demo.events, user="user_id", time="time", event="event", steps=["signup", "upgrade"], window="none")
    ev = demo.events
    # Without a window: every user with a signup enters; converted = users with an upgrade
    # after their first signup.
    first_signup = ev[ev.event == "signup"].groupby("user_id").time.min()
    upgrades = ev[ev.event == "upgrade"].merge(first_signup.rename("s"), left_on="user_id", right_index=True)
    assert out.converted.tolist() == [len(first_signup), upgrades[upgrades.time >= upgrades.s].user_id.nunique()]


# --- funnel_from_stages -----------------------------------------------------------------------


def test_stages_window_gaps_and_times() -> None:
    # Window 10 days from the visit. Lead 0: visit, sign-up day 2, customer day 6.
    # Lead 1: sign-up exactly on day 10 (counts), customer day 11 (outside).
    # Lead 2: no sign-up but a customer date: stops at the visit (a missing stage ends progress).
    # Lead 3: never visited (not in the funnel).
    leads = pd.DataFrame(
        {
            "visited_at": [T0, T0, T0, pd.NaT],
            "signed_up_at": [T0 + 2 * D, T0 + 10 * D, pd.NaT, T0],
            "customer_at": [T0 + 6 * D, T0 + 11 * D, T0 + D, pd.NaT],
        }
    )
    out = kpikit.funnel_from_stages(leads, stages=["visited_at", "signed_up_at", "customer_at"], window="10d")
    assert out.entered.tolist() == [3, 3, 2]
    assert out.converted.tolist() == [3, 2, 1]
    assert out.conversion_from_first.tolist() == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert out.conversion_from_previous.tolist() == pytest.approx([1.0, 2 / 3, 1 / 2])
    # Sign-up took 2 and 10 days: mean 6, median 6, p90 = 2 + 0.9 × 8 = 9.2.
    assert out.time_to_convert_mean_days[1] == pytest.approx(6.0)
    assert out.time_to_convert_median_days[1] == pytest.approx(6.0)
    assert out.time_to_convert_p90_days[1] == pytest.approx(9.2)
    assert out.time_to_convert_median_days[2] == pytest.approx(4.0)
    # No window: lead 1 becomes a customer too (1 day after sign-up).
    nowin = kpikit.funnel_from_stages(leads, stages=["visited_at", "signed_up_at", "customer_at"])
    assert nowin.converted.tolist() == [3, 2, 2]


def test_stages_out_of_order_are_named_or_truncated(make_table: Any) -> None:
    data = {
        "visited_at": [T0, T0, T0 + D],
        "signed_up_at": [T0 + H, T0 - H, T0 + 2 * D],
        "pql_at": [T0 + 2 * H, T0 + 2 * H, T0],
    }
    stages = ["visited_at", "signed_up_at", "pql_at"]
    with pytest.raises(kpikit.InputError, match=r"2 row\(s\), e\.g\. row 1: signed_up_at before visited_at; row 2: pql_at before signed_up_at"):
        kpikit.funnel_from_stages(make_table(data), stages=stages)
    out = kpikit.funnel_from_stages(make_table(data), stages=stages, invalid="truncate", output="pandas")
    # Lead 1 stops at the visit, lead 2 at the sign-up.
    assert out.converted.tolist() == [3, 2, 1]
    # Skip: leads 1 and 2 are left out; lead 0 goes all the way (1 h, then 1 h more).
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        out = kpikit.funnel_from_stages(make_table(data), stages=stages, invalid="skip", output="pandas", unit="hours")
    assert [w.message.count for w in caught] == [2]
    assert out.converted.tolist() == [1, 1, 1]
    assert out.time_to_convert_mean_hours.tolist()[1:] == [1.0, 1.0]


def test_stages_trends_and_segments_on_the_demo_company() -> None:
    leads = kpikit.datasets.demo().leads.iloc[::4]  # every 4th lead keeps the reference quick
    stages = ["visited_at", "signed_up_at", "pql_at", "customer_at"]
    out = kpikit.funnel_from_stages(leads, by="channel", freq="quarter", window="90d")
    ref = _stage_reference(leads, stages, 90 * 86_400_000_000, by="channel", freq="QS")
    _compare(out, ref, keys=["period", "channel"], unit_us=86_400_000_000, unit="days")
    # The last quarter's leads have not all had 90 days by the end of the data.
    last = out.period.max()
    assert not out[out.period == last].complete.any()
    assert out[out.period == out.period.min()].complete.all()


# --- plain-Python references ------------------------------------------------------------------


def _quantile(v: list[int], q: float) -> float:
    s = sorted(v)
    h = (len(s) - 1) * q
    lo = int(h // 1)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def _rows_from_journeys(journeys: dict[Any, list[tuple[int, list[int]]]], n: int, unit_us: int) -> dict[Any, list[dict[str, Any]]]:
    """Per group: the expected rows from (steps reached, step times) of every journey."""
    out = {}
    for key, js in journeys.items():
        reached = [sum(1 for r, _ in js if r > s) for s in range(n)]
        rows = []
        for s in range(n):
            ent = reached[s - 1] if s else reached[0]
            conv = reached[s]
            d = [t[s] - t[s - 1] for r, t in js if r > s] if s else []
            f = [t[s] - t[0] for r, t in js if r > s] if s else []
            rows.append(
                {
                    "entered": ent,
                    "converted": conv,
                    "conversion_from_first": conv / reached[0] if reached[0] else None,
                    "conversion_from_previous": conv / ent if ent else None,
                    "mean": sum(d) / len(d) / unit_us if d else None,
                    "median": _quantile(d, 0.5) / unit_us if d else None,
                    "p90": _quantile(d, 0.9) / unit_us if d else None,
                    "first_mean": sum(f) / len(f) / unit_us if f else None,
                    "first_median": _quantile(f, 0.5) / unit_us if f else None,
                    "first_p90": _quantile(f, 0.9) / unit_us if f else None,
                }
            )
        out[key] = rows
    return out


def _compare(out: pd.DataFrame, ref: dict[Any, list[dict[str, Any]]], keys: list[str], unit_us: int, unit: str) -> None:
    n = out.step.max()
    got: dict[Any, list[dict[str, Any]]] = {}
    for _, r in out.iterrows():
        key = tuple(None if pd.isna(r[k]) else (str(pd.Timestamp(r[k]).date()) if k == "period" else r[k]) for k in keys)
        got.setdefault(key, []).append(r)
    for key, rows in ref.items():
        assert key in got, key
        for s in range(n):
            g, e = got[key][s], rows[s]
            assert (g.entered, g.converted) == (e["entered"], e["converted"]), (key, s)
            for col, name in [
                ("conversion_from_first", "conversion_from_first"),
                ("conversion_from_previous", "conversion_from_previous"),
                (f"time_to_convert_mean_{unit}", "mean"),
                (f"time_to_convert_median_{unit}", "median"),
                (f"time_to_convert_p90_{unit}", "p90"),
                (f"time_from_first_mean_{unit}", "first_mean"),
                (f"time_from_first_median_{unit}", "first_median"),
                (f"time_from_first_p90_{unit}", "first_p90"),
            ]:
                if e[name] is None:
                    assert pd.isna(g[col]), (key, s, col)
                else:
                    assert g[col] == pytest.approx(e[name], rel=1e-9, abs=1e-9), (key, s, col)
    # Groups absent from the reference have nobody in them.
    for key, rows in got.items():
        if key not in ref:
            assert all(r.entered == 0 for r in rows), key


def _stage_reference(leads: pd.DataFrame, stages: list[str], window: int | None, by: str | None = None, freq: str | None = None) -> dict[Any, list[dict[str, Any]]]:
    journeys: dict[Any, list[tuple[int, list[int]]]] = {}
    # Microseconds since the epoch (None when missing), one list per stage.
    cols = [[None if pd.isna(v) else v.value // 1000 for v in leads[s]] for s in stages]
    first = leads[stages[0]]
    if freq:
        first = first.dt.tz_localize(None) if first.dt.tz is not None else first
        periods = [None if pd.isna(v) else str(v.to_period(freq[0]).start_time.date()) for v in first]
    segs = list(leads[by]) if by else None
    for i in range(len(leads)):
        ts = [c[i] for c in cols]
        if ts[0] is None:
            continue
        k = 0
        for s, t in enumerate(ts):
            if t is None or (s and t < ts[s - 1]) or (window is not None and t - ts[0] > window):
                break
            k = s + 1
        key: tuple[Any, ...] = ()
        if freq:
            key += (periods[i],)
        if segs is not None:
            key += (segs[i],)
        journeys.setdefault(key, []).append((k, ts))
    return _rows_from_journeys(journeys, len(stages), 86_400_000_000)


def _event_reference(
    rows: list[tuple[Any, int, str, Any]],
    steps: list[list[str]],
    window: int | None,
    order: str,
    exclusions: list[tuple[str, int, int]],
    count: str,
    attribution: str,
) -> dict[Any, list[tuple[int, list[int]]]]:
    """Journeys per segment, straight from the documented rules (times in microseconds)."""
    n = len(steps)

    def matches(name: str, s: int) -> bool:
        return name in steps[s]

    def rank(name: str) -> int:
        return min([s for s in range(n) if matches(name, s)], default=32)

    excl_names = {x[0] for x in exclusions}
    journeys: dict[Any, list[tuple[int, list[int]]]] = {}
    order_rows = sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1], rank(rows[i][2]), i))
    for _, idx in itertools.groupby(order_rows, key=lambda i: rows[i][0]):
        evs = [rows[i] for i in idx]
        if order != "strict":
            evs = [e for e in evs if rank(e[2]) < 32 or e[2] in excl_names]

        def attempt(evs: list[tuple[Any, int, str, Any]], i: int) -> dict[str, Any]:
            """Fill steps from entry i of this key's events: k steps filled, their times, segments
            and named steps."""
            t0 = evs[i][1]
            a: dict[str, Any] = {"times": [t0], "segs": [evs[i][3]], "named": [rank(evs[i][2])], "last": i, "excluded": False, "limited": False, "stop": len(evs)}
            for j in range(i + 1, len(evs)):
                k = len(a["times"])
                if k == n:
                    break
                name, t = evs[j][2], evs[j][1]
                if window is not None and t - t0 > window:
                    a.update(limited=True, stop=j)
                    break
                if order in ("any_after_first", "unordered"):
                    free = [s for s in range(n) if s not in a["named"] and matches(name, s)]
                    step = min(free) if free else None
                else:
                    step = k if matches(name, k) else None
                if step is not None:
                    a["times"].append(t)
                    a["segs"].append(evs[j][3])
                    a["named"].append(step)
                    a["last"] = j
                    continue
                # k steps filled; exclusion (event, from_step, to_step), 1-based, is open when
                # step from_step is reached and to_step not yet.
                if any(name == x and lo <= k < hi for x, lo, hi in exclusions):
                    a.update(excluded=True, stop=j + 1)
                    break
                if order == "strict":
                    a.update(stop=j)
                    break
            a["k"] = len(a["times"])
            return a

        found = []
        # Unordered: any step's event starts an attempt (at its lowest step).
        entries = [i for i in range(len(evs)) if (rank(evs[i][2]) < 32 if order == "unordered" else matches(evs[i][2], 0))]
        if count == "uniques":
            # Every entry tried; the furthest non-excluded attempt, the earliest of equals.
            best = None
            for i in entries:
                a = attempt(evs, i)
                if not a["excluded"] and (best is None or a["k"] > best["k"]):
                    best = a
            found = [best] if best is not None else []
        else:
            pos = 0
            while True:
                nxt_entries = [i for i in entries if i >= pos]
                if not nxt_entries:
                    break
                i = nxt_entries[0]
                a = attempt(evs, i)
                if not a["excluded"]:
                    found.append(a)
                if a["k"] == n:
                    pos = a["last"] + 1
                elif a["excluded"] or a["limited"] or order == "strict":
                    pos = max(a["stop"], i + 1)
                else:
                    break  # an unfinished attempt without a timeout never ends
        for a in found:
            if attribution == "first_touch":
                seg = a["segs"][0]
            elif attribution == "last_touch":
                seg = a["segs"][-1]
            else:
                want = int(attribution.split(":")[1]) - 1
                if want not in a["named"]:
                    continue
                seg = a["segs"][a["named"].index(want)]
            journeys.setdefault((seg,), []).append((a["k"], a["times"]))
    return journeys


EVENTS = ["A", "B", "C", "X", "Y"]


@st.composite
def event_logs(draw: Any) -> list[tuple[int, int, str, str]]:
    n = draw(st.integers(0, 40))
    return [
        (
            draw(st.integers(0, 5)),
            draw(st.integers(0, 120)) * 60_000_000,
            draw(st.sampled_from(EVENTS)),
            draw(st.sampled_from(["p", "q"])),
        )
        for _ in range(n)
    ]


@settings(max_examples=150, deadline=None)
@given(
    log=event_logs(),
    steps=st.sampled_from([[["A"], ["B"]], [["A"], ["B"], ["C"]], [["A"], ["A"], ["B"]], [["A"], ["B", "C"], ["A"]], [["A", "B"], ["C"]]]),
    window=st.sampled_from([None, 10, 30, 60]),
    order=st.sampled_from(["ordered", "strict", "any_after_first", "unordered"]),
    excl=st.sampled_from([[], [("X", 1, 2)], [("X", 1, 2), ("Y", 1, 2)]]),
    count=st.sampled_from(["uniques", "totals"]),
    attribution=st.sampled_from(["first_touch", "last_touch", "step:2"]),
)
def test_event_funnel_matches_reference(log: Any, steps: Any, window: Any, order: str, excl: Any, count: str, attribution: str) -> None:
    excl = [x for x in excl if x[2] <= len(steps)]
    if order == "unordered":
        # An unordered funnel's exclusions span the whole funnel.
        excl = [(x[0], 1, len(steps)) for x in excl]
    df = pd.DataFrame(
        {
            "user": [r[0] for r in log],
            "time": pd.to_datetime([T0 + pd.Timedelta(microseconds=r[1]) for r in log]).astype("datetime64[us]"),
            "event": [r[2] for r in log],
            "plan": [r[3] for r in log],
        }
    )
    call = dict(
        window=f"{window}min" if window else "none", order=order, exclusions=excl, count=count, by="plan",
        attribution=attribution, unit="minutes",
    )
    # A step or exclusion name that no row has is a typo: an InputError naming it, not zeros
    # (an empty log stays an empty funnel).
    absent = sorted(({n for s in steps for n in s} | {x[0] for x in excl}) - {r[2] for r in log})
    if log and absent:
        with pytest.raises(kpikit.InputError, match="never occurs") as e:
            _funnel(df, steps, **call)
        assert all(f"{n!r} never occurs" in str(e.value) for n in absent)
        return
    out = _funnel(df, steps, **call)
    ref = _rows_from_journeys(
        _event_reference(log, steps, window and window * 60_000_000, order, excl, count, attribution),
        len(steps),
        60_000_000,
    )
    _compare(out, ref, keys=["plan"], unit_us=60_000_000, unit="minutes")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 100)),
            st.one_of(st.none(), st.integers(0, 100)),
            st.one_of(st.none(), st.integers(0, 100)),
            st.sampled_from(["x", "y", None]),
        ),
        max_size=50,
    ),
    st.sampled_from([None, 20, 50]),
)
def test_stage_funnel_matches_reference(leads: list[Any], window: int | None) -> None:
    base = pd.Timestamp("2025-01-01", tz="UTC")
    df = pd.DataFrame(
        {
            s: pd.Series([base + pd.Timedelta(hours=r[i]) if r[i] is not None else pd.NaT for r in leads], dtype="datetime64[us, UTC]")
            for i, s in enumerate(["a", "b", "c"])
        }
    ).assign(seg=[r[3] for r in leads])
    out = kpikit.funnel_from_stages(df, stages=["a", "b", "c"], window=f"{window}h" if window else None, by="seg", unit="hours", invalid="truncate")
    ref = _stage_reference(df, ["a", "b", "c"], window and window * 3_600_000_000, by="seg")
    # The reference keys missing segments as NaN/None; kpikit's output as None.
    ref = {tuple(None if (k is None or (isinstance(k, float) and np.isnan(k))) else k for k in key): v for key, v in ref.items()}
    times = ("mean", "median", "p90", "first_mean", "first_median", "first_p90")
    ref_hours = {k: [dict(r, **{t: r[t] and r[t] * 24 for t in times}) for r in v] for k, v in ref.items()}
    _compare(out, ref_hours, keys=["seg"], unit_us=3_600_000_000, unit="hours")


def test_output_libraries() -> None:
    ev = _log([(1, T0, "a"), (1, T0 + MIN, "b")])
    pl_out = _funnel(ev, ["a", "b"], output="polars")
    arrow_out = _funnel(ev, ["a", "b"], output="arrow")
    assert pl_out["converted"].to_list() == [1, 1]
    assert isinstance(arrow_out, pa.Table) and arrow_out.column("converted").to_pylist() == [1, 1]


# --- the vocabulary (docs/vocabulary.md) ----------------------------------------------------


def test_both_funnels_report_days_by_default_and_event_is_the_event_column() -> None:
    # One conversion after 36 hours = 1.5 days, in either shape. `event=` is not given: the
    # event-name column is "event" by default.
    ev = _log([(1, T0, "signup"), (1, T0 + 36 * H, "upgrade")])
    out = kpikit.funnel(ev, user="user", time="time", steps=["signup", "upgrade"])
    assert out.time_to_convert_mean_days.tolist()[1] == 1.5
    leads = pd.DataFrame({"visited_at": [T0], "signed_up_at": [T0 + 36 * H]})
    stages = kpikit.funnel_from_stages(leads, stages=["visited_at", "signed_up_at"])
    assert stages.time_to_convert_mean_days.tolist()[1] == 1.5
    # The event column can have any name.
    renamed = kpikit.funnel(ev.rename(columns={"event": "name"}), user="user", time="time", event="name", steps=["signup", "upgrade"])
    assert _conv(renamed) == [1, 1]


def test_old_parameter_names_are_refused() -> None:
    ev = _log([(1, T0, "signup")])
    with pytest.raises(TypeError, match="nulls"):
        _funnel(ev, ["signup"], nulls="drop")
    leads = pd.DataFrame({"visited_at": [T0], "signed_up_at": [T0 + H]})
    with pytest.raises(TypeError, match="order"):
        kpikit.funnel_from_stages(leads, stages=["visited_at", "signed_up_at"], order="truncate")
    with pytest.raises(TypeError, match="leads"):
        kpikit.funnel_from_stages(leads=leads)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="events"):
        kpikit.funnel(events=ev, user="user", time="time", steps=["signup"])  # type: ignore[call-arg]
    # The old bad-row spellings are not values of invalid= either.
    with pytest.raises(kpikit.ParameterError, match='"invalid"'):
        _funnel(ev, ["signup"], invalid="drop")
    with pytest.raises(kpikit.ParameterError, match='"invalid"'):
        kpikit.funnel_from_stages(leads, stages=["visited_at", "signed_up_at"], invalid="ignore")
    with pytest.raises(kpikit.ParameterError, match='"unit"'):
        _funnel(ev, ["signup"], unit="weeks")


def test_output_follows_the_input_library() -> None:
    ev = _log([(1, T0, "signup"), (1, T0 + H, "upgrade"), (2, T0, "signup")])
    leads = pd.DataFrame({"visited_at": [T0, T0], "signed_up_at": [T0 + H, pd.NaT]})
    stages = ["visited_at", "signed_up_at"]
    for make, kind in [(lambda d: d, pd.DataFrame), (pl.from_pandas, pl.DataFrame), (pa.Table.from_pandas, pa.Table)]:
        out = _funnel(make(ev), ["signup", "upgrade"])
        assert isinstance(out, kind)
        assert _as_pandas(out).converted.tolist() == [2, 1]
        out = kpikit.funnel_from_stages(make(leads), stages=stages)
        assert isinstance(out, kind) and _as_pandas(out).converted.tolist() == [2, 1]
    assert isinstance(_funnel(pl.from_pandas(ev), ["signup", "upgrade"], output="arrow"), pa.Table)


def _as_pandas(out: Any) -> pd.DataFrame:
    return out if isinstance(out, pd.DataFrame) else out.to_pandas()


def test_categorical_segments_keep_their_categories_and_order() -> None:
    # Plans in category order pro, team, free (not alphabetical); nobody is on "team".
    plans = pd.CategoricalDtype(["pro", "team", "free"])
    ev = _log(
        [(1, T0, "signup", "free"), (1, T0 + H, "upgrade", "free"), (2, T0, "signup", "pro"), (3, T0, "signup", "free")],
        extra="plan",
    ).astype({"plan": plans})
    out = _funnel(ev, ["signup", "upgrade"], by="plan")
    assert out.plan.dtype == plans
    # pro first: 1 entered, 0 upgraded; team (nobody): zeros and no rates; free: 2 entered,
    # 1 upgraded.
    assert out.plan.tolist() == ["pro", "pro", "team", "team", "free", "free"]
    assert _conv(out) == [1, 0, 0, 0, 2, 1]
    assert out.entered.tolist()[2:4] == [0, 0] and out.conversion_from_first[2:4].isna().all()
    leads = pd.DataFrame({"visited_at": [T0, T0, T0], "signed_up_at": [T0 + D, pd.NaT, T0 + D], "plan": ["free", "pro", "pro"]})
    out = kpikit.funnel_from_stages(leads.astype({"plan": plans}), stages=["visited_at", "signed_up_at"], by="plan")
    assert out.plan.dtype == plans
    assert out.plan.tolist() == ["pro", "pro", "team", "team", "free", "free"]
    assert out.converted.tolist() == [2, 1, 0, 0, 1, 1]


def test_skipped_rows_warn_for_every_library() -> None:
    ev = pd.DataFrame({"user": [1.0, None, 1.0], "time": [T0, T0, T0 + H], "event": ["signup", "signup", "upgrade"]})
    for table in (ev, pl.from_pandas(ev), pa.Table.from_pandas(ev)):
        with pytest.warns(kpikit.SkippedRowsWarning) as caught:
            out = _funnel(table, ["signup", "upgrade"], invalid="skip", output="pandas")
        assert [w.message.count for w in caught] == [1]
        assert _conv(out) == [1, 1] and "skipped" not in out.columns
    # Nothing skipped, nothing reported.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _funnel(ev.dropna(), ["signup", "upgrade"], invalid="skip")


@pytest.mark.parametrize("alias, word", [("M", "month"), ("MS", "month"), ("QS", "quarter"), ("1mo", "month"), ("W-SUN", "week"), ("D", "day")])
def test_foreign_frequency_spellings_are_refused(alias: str, word: str) -> None:
    ev = _log([(1, T0, "signup")])
    with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
        _funnel(ev, ["signup"], freq=alias)
    leads = pd.DataFrame({"visited_at": [T0]})
    with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
        kpikit.funnel_from_stages(leads, stages=["visited_at"], freq=alias)
    with pytest.raises(kpikit.ParameterError, match='"freq"'):
        kpikit.funnel_from_stages(leads, stages=["visited_at"], freq="hour")


def test_a_segment_named_like_a_result_key_is_refused() -> None:
    ev = _log([(1, T0, "signup", "x")], extra="step")
    with pytest.raises(kpikit.ParameterError, match=r'"by".*step'):
        _funnel(ev, ["signup"], by="step")


@pytest.mark.parametrize(
    "exclusions",
    [
        ("cancel", 1, 2),  # one exclusion without the enclosing list
        [("cancel", 1)],  # two numbers are missing one
        [{"from_step": 1, "to_step": 2}],  # no event
        [{"event": "cancel", "from": 1, "to": 2}],  # misspelt keys would be ignored silently
        [(None, 1, 2)],
        [("cancel", "1", "2")],
        [("cancel", 1.0, 2.0)],
        [("cancel", True, 2)],
        ["cancel"],
        "cancel",
        [("cancel", 2, 2)],
        5,
    ],
)
def test_malformed_exclusions_are_parameter_errors(exclusions: Any) -> None:
    ev = _log([(1, T0, "signup"), (1, T0 + H, "cancel"), (1, T0 + 2 * H, "upgrade")])
    with pytest.raises(kpikit.ParameterError, match='"exclusions"'):
        _funnel(ev, ["signup", "upgrade"], exclusions=exclusions)
    # Well-formed, the same exclusion spoils user 1's only attempt (numpy integers are fine).
    assert _conv(_funnel(ev, ["signup", "upgrade"], exclusions=[("cancel", np.int64(1), 2)])) == [0, 0]
    assert _conv(_funnel(ev, ["signup", "upgrade"], exclusions=[{"event": "cancel"}])) == [0, 0]


@pytest.mark.parametrize("steps", ["signup", [], ["signup", 3], ["signup", []], [{"signup": 1}], None])
def test_malformed_steps_are_parameter_errors(steps: Any) -> None:
    with pytest.raises(kpikit.ParameterError, match='"steps"'):
        _funnel(_log([(1, T0, "signup")]), steps)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(*[st.one_of(st.none(), st.integers(0, 50))] * 3, st.sampled_from(["x", "y"])),
        min_size=1,
        max_size=40,
    ),
)
def test_skipping_out_of_order_leads_equals_leaving_them_out(leads: list[Any]) -> None:
    # invalid="skip" gives the funnel of the leads whose present stages are in time order, with
    # freq= too (a skipped lead's times do not move the end of the data), and counts the others.
    base = pd.Timestamp("2025-01-01")
    df = pd.DataFrame({s: [base + pd.Timedelta(days=r[i]) if r[i] is not None else pd.NaT for r in leads] for i, s in enumerate("abc")})
    df["seg"] = [r[3] for r in leads]

    def in_order(r: Any) -> bool:
        present = [v for v in r[:3] if v is not None]
        return present == sorted(present)

    keep = [in_order(r) for r in leads]
    kw: dict[str, Any] = dict(stages=["a", "b", "c"], by="seg", window="20d", freq="week")
    if all(keep):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = kpikit.funnel_from_stages(df, invalid="skip", **kw)
    else:
        with pytest.warns(kpikit.SkippedRowsWarning) as caught:
            got = kpikit.funnel_from_stages(df, invalid="skip", **kw)
        assert [w.message.count for w in caught] == [keep.count(False)]
    want = kpikit.funnel_from_stages(df[keep].reset_index(drop=True), **kw)
    # A segment whose leads were all skipped still occurs in the input: it has its rows, empty
    # (docs/conventions.md, "Complete grids"); the others are those of the kept leads.
    extra = ~got.seg.isin(set(want.seg))
    assert (got[extra].entered == 0).all() and (got[extra].converted == 0).all()
    assert set(got[extra].seg) <= {r[3] for r, k in zip(leads, keep, strict=True) if not k}
    pd.testing.assert_frame_equal(got[~extra].reset_index(drop=True), want)


# --- who converted and who dropped (detail=True), date ranges ----------------------------------


def test_detail_lists_who_converted_and_who_dropped_at_each_step() -> None:
    # Steps a, b, c within 1 hour. u1: a, b (+10 min), c (+30 min); u2: a, b (+5 min); u3: a;
    # u4: b only (never enters). Step 2 entered by u1, u2, u3 (u3 dropped); step 3 by u1, u2
    # (u2 dropped). Hand-worked; the drop-off convention is PostHog's persons of a step.
    log = _log([
        ("u1", T0, "a"), ("u1", T0 + 10 * MIN, "b"), ("u1", T0 + 30 * MIN, "c"),
        ("u2", T0, "a"), ("u2", T0 + 5 * MIN, "b"),
        ("u3", T0 + H, "a"),
        ("u4", T0, "b"),
    ])
    out = _funnel(log, ["a", "b", "c"], window="1h", detail=True)
    got = sorted(zip(out.step, out.user, out.status, strict=True))
    assert got == [
        (1, "u1", "converted"), (1, "u2", "converted"), (1, "u3", "converted"),
        (2, "u1", "converted"), (2, "u2", "converted"), (2, "u3", "dropped"),
        (3, "u1", "converted"), (3, "u2", "dropped"),
    ]
    assert out.step.is_monotonic_increasing
    row = out[(out.step == 3) & (out.user == "u1")].iloc[0]
    assert (row.entered_at, row.converted_at) == (T0 + 10 * MIN, T0 + 30 * MIN)
    row = out[(out.step == 3) & (out.user == "u2")].iloc[0]
    assert row.entered_at == T0 + 5 * MIN and pd.isna(row.converted_at)
    assert list(out.columns) == ["step", "step_name", "user", "status", "entered_at", "converted_at"]
    # The counts agree with the funnel of the same arguments.
    counts = _funnel(log, ["a", "b", "c"], window="1h")
    assert counts.entered.tolist() == [3, 3, 2] and _conv(counts) == [3, 2, 1]
    # A misspelt step is still an error with detail=True.
    with pytest.raises(kpikit.InputError, match="never occurs"):
        _funnel(log, ["a", "bb"], detail=True)


def test_the_date_range_limits_entries_not_later_steps() -> None:
    # PostHog counts an entry when its first step is inside the range; later steps may fall
    # after the end, within the window. u1 enters on day 0 and converts on day 1; u2 enters on
    # day 1 (after the end); u3 enters the day before the start.
    log = _log([
        ("u1", T0, "a"), ("u1", T0 + D, "b"),
        ("u2", T0 + D, "a"), ("u2", T0 + D + H, "b"),
        ("u3", T0 - D, "a"), ("u3", T0 + H, "b"),
    ])
    start, end = T0.normalize(), T0.normalize() + D
    out = _funnel(log, ["a", "b"], window="3d", start=start, end=end)
    assert out.entered.tolist() == [1, 1] and _conv(out) == [1, 1]
    # Bounds in text and as dates read the same; an aware bound is read in tz.
    assert _conv(_funnel(log, ["a", "b"], window="3d", start=str(start.date()), end=end.date())) == [1, 1]
    aware = _funnel(log, ["a", "b"], window="3d", start=start.tz_localize("UTC"), end=end.tz_localize("UTC"))
    assert _conv(aware) == [1, 1]
    # No bound: all three enter.
    assert _conv(_funnel(log, ["a", "b"], window="3d")) == [3, 3]
    with pytest.raises(kpikit.ParameterError, match='"start"'):
        _funnel(log, ["a", "b"], start=3)
    with pytest.raises(kpikit.ParameterError, match='"end"'):
        _funnel(log, ["a", "b"], start=end, end=start)


@settings(max_examples=120, deadline=None)
@given(
    log=event_logs(),
    steps=st.sampled_from([[["A"], ["B"]], [["A"], ["B"], ["C"]], [["A"], ["A"], ["B"]], [["A", "B"], ["C"]]]),
    window=st.sampled_from([None, 10, 60]),
    order=st.sampled_from(["ordered", "strict", "any_after_first", "unordered"]),
    count=st.sampled_from(["uniques", "totals"]),
    attribution=st.sampled_from(["first_touch", "last_touch", "step:2"]),
    bounds=st.tuples(st.one_of(st.none(), st.integers(0, 120)), st.one_of(st.none(), st.integers(1, 121))),
    freq=st.sampled_from([None, "day"]),
)
def test_detail_agrees_with_the_counts(
    log: Any, steps: Any, window: Any, order: str, count: str, attribution: str, bounds: Any, freq: Any
) -> None:
    df = pd.DataFrame(
        {
            "user": [r[0] for r in log],
            "time": pd.to_datetime([T0 + pd.Timedelta(microseconds=r[1]) for r in log]).astype("datetime64[us]"),
            "event": [r[2] for r in log],
            "plan": [r[3] for r in log],
        }
    )
    lo, hi = bounds
    if lo is not None and hi is not None and lo >= hi:
        hi = lo + 1
    call = dict(
        window=f"{window}min" if window else "none", order=order, count=count, by="plan", attribution=attribution,
        freq=freq, start=None if lo is None else T0 + lo * MIN, end=None if hi is None else T0 + hi * MIN,
    )
    if log and {n for s in steps for n in s} - {r[2] for r in log}:
        return  # a step no row has is an error, tested above
    out = _funnel(df, steps, **call)
    people = _funnel(df, steps, detail=True, **call)
    keys = (["period"] if freq else []) + ["plan", "step"]
    entered = people.groupby(keys).size()
    converted = people[people.status == "converted"].groupby(keys).size()
    expected = out.set_index(keys)
    assert entered.reindex(expected.index, fill_value=0).tolist() == expected.entered.tolist()
    assert converted.reindex(expected.index, fill_value=0).tolist() == expected.converted.tolist()
    assert len(people) == int(expected.entered.sum())
    # Uniques: a user once per step; a dropped user has no conversion time, a converted one has.
    if count == "uniques":
        assert not people.duplicated(["step", "user"]).any()
    assert people.converted_at.isna().tolist() == (people.status == "dropped").tolist()
    # Every entry event is inside the range.
    first = people[people.step == 1]
    if lo is not None:
        assert (first.entered_at >= T0 + lo * MIN).all()
    if hi is not None:
        assert (first.entered_at < T0 + hi * MIN).all()


def test_detail_on_a_dask_dataframe_equals_one_machine() -> None:
    dd = pytest.importorskip("dask.dataframe")
    events = kpikit.datasets.demo(seed=0, scale=0.05).events
    kw: dict[str, Any] = dict(user="user_id", time="time", steps=["signup", "report_created", "upgrade"], window="14d")
    one = kpikit.funnel(events, detail=True, **kw)
    many = kpikit.funnel(dd.from_pandas(events, npartitions=3), detail=True, **kw)
    keys = ["step", "user_id"]
    pd.testing.assert_frame_equal(
        one.sort_values(keys).reset_index(drop=True), many.sort_values(keys).reset_index(drop=True)
    )
    assert many.step.is_monotonic_increasing
    counts = kpikit.funnel(events, **kw)
    assert one.groupby("step").size().tolist() == counts.entered.tolist()
