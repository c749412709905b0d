"""Date ranges (``start=``/``end=``) of active users and retention: hand-computed cases, a
plain pandas reference on random event logs, Dask, polars and Arrow input, time zones and
bad bounds (docs/conventions.md#date-ranges)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import kpikit

D0 = dt.datetime(2026, 3, 2)  # a Monday


def at(d: int, hour: int = 0) -> dt.datetime:
    return D0 + dt.timedelta(days=d, hours=hour)


def frame(rows: list[tuple[Any, int]], **extra: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({"user": [r[0] for r in rows], "time": [at(r[1], 12) for r in rows], **extra})


# ---------------------------------------------------------------- active users, by hand


def test_active_users_over_a_range_leave_out_other_events_and_show_empty_days() -> None:
    # a: days 0, 1, 4; b: day 2; c: day 9 (after the range). Range: days 1 to 5.
    log = frame([("a", 0), ("a", 1), ("a", 4), ("b", 2), ("c", 9)])
    out = kpikit.active_users(log, user="user", time="time", windows={"dau": 1, "w3": 3},
                              start=at(1).date(), end=at(6).date())
    assert [p.date() for p in out.period] == [at(d).date() for d in range(1, 6)]
    assert out.dau.tolist() == [1, 1, 0, 1, 0]
    # Day 1's window (days −1…1) has only a's day 1: day 0 is outside the range.
    assert out.w3.tolist() == [1, 2, 2, 2, 1]
    assert out.active_users.tolist() == [1, 1, 0, 1, 0]


def test_active_users_weekly_range_and_an_open_end() -> None:
    # Weeks start on Monday D0. Range from day 3 (Thursday) on, no end: the first week is
    # labelled by its Monday and counts only days 3…6.
    log = frame([("a", 1), ("b", 3), ("a", 8), ("c", 20)])
    out = kpikit.active_users(log, user="user", time="time", freq="week", windows={"dau": 1}, start=at(3))
    assert [p.date() for p in out.period] == [at(0).date(), at(7).date(), at(14).date()]
    assert out.active_users.tolist() == [1, 1, 1]
    # Only an end: the data's first period to the end's.
    out = kpikit.active_users(log, user="user", time="time", windows={"dau": 1}, end=at(4))
    assert out.dau.tolist() == [1, 0, 1]


def test_a_segment_whose_rows_are_all_outside_the_range_keeps_its_rows() -> None:
    log = frame([("a", 0), ("b", 1), ("c", 5)], plan=["x", "y", "z"])
    out = kpikit.active_users(log, user="user", time="time", windows={"dau": 1}, by="plan",
                              start=at(1).date(), end=at(3).date())
    assert out.plan.tolist() == ["x", "x", "y", "y", "z", "z"]
    assert out.dau.tolist() == [0, 0, 1, 0, 0, 0]


def test_an_event_filter_and_a_range_together() -> None:
    log = frame([("a", 0), ("a", 1), ("b", 1), ("b", 2)], event=["login", "login", "view", "login"])
    out = kpikit.active_users(log, user="user", time="time", windows={"dau": 1}, events="login",
                              start=at(1).date(), end=at(3).date())
    assert out.dau.tolist() == [1, 1]


# ---------------------------------------------------------------- retention, by hand


def test_retention_over_a_range_starts_cohorts_in_it_and_shows_cells_up_to_its_end() -> None:
    # a: days 0, 2, 3; b: days 1, 2; c: day 6. Range: days 1 to 4 (end day 5 exclusive).
    log = frame([("a", 0), ("a", 2), ("a", 3), ("b", 1), ("b", 2), ("c", 6)])
    out = kpikit.retention(log, user="user", time="time", freq="day", start=at(1).date(), end=at(5).date())
    # a's first event in the range is day 2 (day 0 is left out): cohort day 1 {b}, day 2 {a},
    # days 3 and 4 empty; every cell begun by day 4 is shown.
    assert [c.date() for c in out.cohort] == [at(d).date() for d in (1, 1, 1, 1, 2, 2, 2, 3, 3, 4)]
    assert out.period_number.tolist() == [0, 1, 2, 3, 0, 1, 2, 0, 1, 0]
    assert out.cohort_size.tolist() == [1, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    assert out.retained.tolist() == [1, 1, 0, 0, 1, 1, 0, 0, 0, 0]
    # Recurring cohorts: b's day 2 and a's day 3 make cohorts of their own.
    rec = kpikit.retention(log, user="user", time="time", freq="day", cohort="recurring",
                           start=at(1).date(), end=at(5).date())
    assert rec.cohort_size.tolist() == [1, 1, 1, 1, 2, 2, 2, 1, 1, 0]
    assert rec.retained.tolist() == [1, 1, 0, 0, 2, 1, 0, 1, 0, 0]


def test_retention_curve_and_presets_over_a_range() -> None:
    log = frame([("a", 0), ("a", 2), ("a", 3), ("b", 1), ("b", 2), ("c", 6)])
    curve = kpikit.retention(log, user="user", time="time", freq="day", curve=True,
                             start=at(1).date(), end=at(5).date())
    # Cohorts with members: day 1 {b} and day 2 {a}. Period 1: both back; period 2: neither.
    assert curve.period_number.tolist()[:3] == [0, 1, 2]
    assert curve.weighted_rate.tolist()[:3] == [1.0, 1.0, 0.0]
    # Amplitude's rolling periods also see only the range's events.
    amp = kpikit.retention(log, user="user", time="time", freq="day", preset="amplitude",
                           start=at(1).date(), end=at(5).date())
    assert amp.cohort_size.iloc[0] == 1 and set(amp.cohort) == {pd.Timestamp(at(d).date()) for d in range(1, 5)}


# ---------------------------------------------------------------- bounds and zones


@pytest.mark.parametrize("fn", ["active_users", "retention"])
def test_bad_bounds_are_parameter_errors(fn: str) -> None:
    log = frame([("a", 0)])
    f = getattr(kpikit, fn)
    with pytest.raises(kpikit.ParameterError, match="end"):
        f(log, user="user", time="time", start=at(2).date(), end=at(1).date())
    with pytest.raises(kpikit.ParameterError, match="end"):
        f(log, user="user", time="time", start=at(2), end=at(2))
    with pytest.raises(kpikit.ParameterError, match="start"):
        f(log, user="user", time="time", start=20260101)
    with pytest.raises(kpikit.ParameterError, match="end"):
        f(log, user="user", time="time", end="not a date")


def test_bounds_are_read_in_the_zone_of_the_periods() -> None:
    # Berlin times: a at 00:30 on day 1 (23:30 UTC on day 0), b at noon on day 1.
    berlin = pd.DatetimeIndex([at(1).replace(minute=30), at(1, 12)]).tz_localize("Europe/Berlin")
    log = pd.DataFrame({"user": ["a", "b"], "time": berlin})
    # A naive bound is Berlin wall time: day 1 from midnight holds both.
    out = kpikit.active_users(log, user="user", time="time", windows={"dau": 1}, start=at(1), end=at(2))
    assert out.dau.tolist() == [2]
    # An aware bound is converted: 01:00 UTC on day 1 is 02:00 in Berlin, after a's event.
    start = pd.Timestamp(at(1, 1)).tz_localize("UTC")
    out = kpikit.active_users(log, user="user", time="time", windows={"dau": 1}, start=start, end=at(2))
    assert out.dau.tolist() == [1]
    ret = kpikit.retention(log, user="user", time="time", freq="day", start=start, end=at(2))
    assert ret.cohort_size.tolist() == [1]


# ---------------------------------------------------------------- plain reference


def reference_active(log: pd.DataFrame, start: int, end: int, windows: dict[str, int]) -> pd.DataFrame:
    """Daily active users over [day start, day end) from the events in it, by brute force."""
    days = (log.time - pd.Timestamp(D0)).dt.days
    kept = log[(days >= start) & (days < end)].assign(day=days)
    rows = []
    for t in range(start, end):
        row = {"active_users": kept[kept.day == t].user.nunique()}
        for name, w in windows.items():
            row[name] = kept[(kept.day > t - w) & (kept.day <= t)].user.nunique()
        rows.append(row)
    return pd.DataFrame(rows)


def reference_retention(log: pd.DataFrame, start: int, end: int, recurring: bool) -> dict[tuple[int, int], tuple[int, int]]:
    """(cohort day, k) → (cohort size, retained "on" day k) over [start, end), by brute force."""
    days = (log.time - pd.Timestamp(D0)).dt.days
    kept = log[(days >= start) & (days < end)].assign(day=days)
    active = {u: set(g.day) for u, g in kept.groupby("user")}
    members: dict[int, list[Any]] = {c: [] for c in range(start, end)}
    for u, ds in active.items():
        for c in sorted(ds) if recurring else [min(ds)]:
            members[c].append(u)
    out = {}
    for c in range(start, end):
        for k in range(end - c):
            out[(c, k)] = (len(members[c]), sum(1 for u in members[c] if c + k in active[u]))
    return out


events = st.lists(st.tuples(st.integers(0, 9), st.integers(0, 20), st.integers(0, 23)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(rows=events, start=st.integers(-3, 18), length=st.integers(1, 12))
def test_ranged_active_users_equal_a_plain_reference(rows: list[tuple[int, int, int]], start: int, length: int) -> None:
    log = pd.DataFrame({"user": [r[0] for r in rows], "time": pd.to_datetime([at(r[1], r[2]) for r in rows])})
    windows = {"dau": 1, "w3": 3, "w7": 7}
    out = kpikit.active_users(log, user="user", time="time", windows=windows, start=at(start), end=at(start + length))
    ref = reference_active(log, start, start + length, windows)
    assert [p.date() for p in out.period] == [at(d).date() for d in range(start, start + length)]
    for c in ["active_users", *windows]:
        assert out[c].tolist() == ref[c].tolist(), c


@settings(max_examples=60, deadline=None)
@given(rows=events, start=st.integers(-3, 18), length=st.integers(1, 12), recurring=st.booleans())
def test_ranged_retention_equals_a_plain_reference(
    rows: list[tuple[int, int, int]], start: int, length: int, recurring: bool
) -> None:
    log = pd.DataFrame({"user": [r[0] for r in rows], "time": pd.to_datetime([at(r[1], r[2]) for r in rows])})
    out = kpikit.retention(log, user="user", time="time", freq="day", cohort="recurring" if recurring else "first_time",
                           start=at(start), end=at(start + length))
    ref = reference_retention(log, start, start + length, recurring)
    got = {
        ((c - pd.Timestamp(D0)).days, k): (n, r)
        for c, k, n, r in zip(out.cohort, out.period_number, out.cohort_size, out.retained, strict=True)
    }
    assert got == ref


# ---------------------------------------------------------------- Dask, polars, Arrow


def random_log(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "user": rng.integers(0, 40, n),
        "time": pd.Timestamp(D0) + pd.to_timedelta(rng.integers(0, 60 * 24, n), "h"),
        "event": rng.choice(["view", "buy"], n),
        "plan": rng.choice(["a", "b"], n),
    })


def test_dask_agrees_with_one_machine_over_a_range() -> None:
    dd = pytest.importorskip("dask.dataframe")
    log = random_log(1)
    ddf = dd.from_pandas(log, npartitions=3)
    rng = {"start": at(10), "end": at(45, 6)}
    for freq in ["day", "week"]:
        one = kpikit.active_users(log, user="user", time="time", freq=freq, by="plan", **rng)
        many = kpikit.active_users(ddf, user="user", time="time", freq=freq, by="plan", **rng)
        pd.testing.assert_frame_equal(one, many.reset_index(drop=True))
    for kw in [{}, {"preset": "amplitude"}, {"preset": "mixpanel", "return_event": "buy"}, {"curve": True}]:
        one = kpikit.retention(log, user="user", time="time", freq="week", **rng, **kw)
        many = kpikit.retention(ddf, user="user", time="time", freq="week", **rng, **kw)
        pd.testing.assert_frame_equal(one, many.reset_index(drop=True))


def test_polars_and_arrow_input_give_the_pandas_numbers() -> None:
    pl = pytest.importorskip("polars")
    log = random_log(2)
    rng = {"start": at(5).date(), "end": at(30).date()}
    for fn, kw in [(kpikit.active_users, {"freq": "week"}), (kpikit.retention, {"freq": "week"})]:
        want = fn(log, user="user", time="time", **kw, **rng)
        for data in [pl.from_pandas(log), pa.Table.from_pandas(log, preserve_index=False)]:
            got = fn(data, user="user", time="time", output="pandas", **kw, **rng)
            pd.testing.assert_frame_equal(want, got, check_dtype=False)


def test_lifecycle_and_stickiness_convert_an_aware_bound_to_the_zone() -> None:
    # 00:30 in Berlin on Mar 3 is 23:30 UTC on Mar 2: in UTC (the naive column's zone) the range
    # starts on Mar 2, not on Mar 3 as the bound's wall time would say.
    log = frame([("a", 0), ("a", 1), ("b", 2)])
    start = pd.Timestamp("2026-03-03 00:30", tz="Europe/Berlin")
    life = kpikit.lifecycle(log, user="user", time="time", start=start, end=at(3).date())
    assert [p.date() for p in life.period] == [at(d).date() for d in range(3)]
    assert life.new.tolist() == [1, 0, 1]
    sticky = kpikit.stickiness(log, user="user", time="time", start=start, end=at(3).date())
    assert sticky.intervals.tolist() == [1, 2, 3]


# ---------------------------------------------------------------- hourly retention


def test_hourly_retention_by_hand() -> None:
    # a: 09:10, 10:59, 12:00; b: 09:30, 11:05 — on day 0. c: 10:20.
    t = [at(0, 9).replace(minute=10), at(0, 10).replace(minute=59), at(0, 12), at(0, 9).replace(minute=30),
         at(0, 11).replace(minute=5), at(0, 10).replace(minute=20)]
    log = pd.DataFrame({"user": ["a", "a", "a", "b", "b", "c"], "time": t})
    out = kpikit.retention(log, user="user", time="time", freq="hour")
    # Cohort 09:00 {a, b}: back at 10 {a}, 11 {b}, 12 {a}; cohort 10:00 {c}: nobody back (the
    # last cohort is the last with a member, as with days).
    assert [str(c) for c in out.cohort.unique()] == ["2026-03-02 09:00:00", "2026-03-02 10:00:00"]
    assert out.cohort_size.tolist() == [2, 2, 2, 2, 1, 1, 1]
    assert out.retained.tolist() == [2, 1, 1, 1, 1, 0, 0]
    # A range of 10:00–12:00: a's and c's first events in it are at 10, b's at 11.
    ranged = kpikit.retention(log, user="user", time="time", freq="hour", start=at(0, 10), end=at(0, 12))
    assert ranged.cohort_size.tolist() == [2, 2, 1]
    assert ranged.retained.tolist() == [2, 0, 1]
    # Dask and polars give the same numbers.
    dd = pytest.importorskip("dask.dataframe")
    many = kpikit.retention(dd.from_pandas(log, npartitions=2), user="user", time="time", freq="hour")
    pd.testing.assert_frame_equal(out, many.reset_index(drop=True))
