"""Retention cohorts: each convention pinned on a hand-built log, presets, revenue retention,
mean curves, and a plain reference on random event logs."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import kpikit

D0 = dt.datetime(2026, 3, 2)  # a Monday


def at(d: int, hour: int = 0) -> dt.datetime:
    return D0 + dt.timedelta(days=d, hours=hour)


def log(rows: list[tuple[Any, int, str]], **extra: list[Any]) -> dict[str, list[Any]]:
    return {"user": [r[0] for r in rows], "time": [at(r[1]) for r in rows], "event": [r[2] for r in rows], **extra}


# u1: signup day 0, login days 2, 3. u2: signup day 0, login day 1. u3: signup day 1, login day 3.
# u2 signs up again on day 2 (only "recurring" cares). Rows unsorted, one duplicate.
ROWS = [
    (1, 3, "login"),
    (1, 0, "signup"),
    (2, 0, "signup"),
    (2, 1, "login"),
    (1, 2, "login"),
    (3, 1, "signup"),
    (3, 3, "login"),
    (2, 2, "signup"),
    (1, 2, "login"),
]


def daily(t: Any, **kw: Any) -> pd.DataFrame:
    return kpikit.retention(t, user="user", time="time", start_event="signup", return_event="login", freq="day", **kw)


def test_first_time_on_calendar_days(make_table: Any) -> None:
    out = daily(make_table(log(ROWS)), output="pandas")
    # Cohort day 0 = {1, 2}: k1 {2}, k2 {1}, k3 {1}. Cohort day 1 = {3}: k1 none, k2 {3}.
    # u2's second signup (day 2) is not a first time. Cells shown while cohort + k ≤ last day (3).
    assert out.cohort.dt.date.tolist() == [D0.date()] * 4 + [at(1).date()] * 3
    assert out.period_number.tolist() == [0, 1, 2, 3, 0, 1, 2]
    assert out.cohort_size.tolist() == [2, 2, 2, 2, 1, 1, 1]
    assert out.retained.tolist() == [2, 1, 1, 1, 1, 0, 1]
    assert out.rate.tolist() == [1.0, 0.5, 0.5, 0.5, 1.0, 0.0, 1.0]


def test_on_or_after_counts_any_later_return() -> None:
    out = daily(pd.DataFrame(log(ROWS)), mode="on_or_after")
    # Cohort 0: u1 last returns at k3, u2 at k1 → k1 2, k2 1, k3 1. Cohort 1: u3 at k2 → k1 1, k2 1.
    assert out.retained.tolist() == [2, 2, 1, 1, 1, 1, 1]


def test_on_or_before_counts_users_back_by_period_k() -> None:
    out = daily(pd.DataFrame(log(ROWS)), mode="on_or_before")
    # Cohort 0: u2 first back at k1, u1 at k2 → k1 1, k2 2, k3 2. Cohort 1: u3 first back at k2
    # → k1 0, k2 1.
    assert out.retained.tolist() == [2, 1, 2, 2, 1, 0, 1]
    assert out.rate.tolist() == [1.0, 0.5, 1.0, 1.0, 1.0, 0.0, 1.0]


def test_streak_needs_every_period_up_to_k() -> None:
    rows = [(1, 0, "signup"), (1, 1, "login"), (1, 2, "login"), (1, 4, "login"),
            (2, 0, "signup"), (2, 2, "login"), (2, 3, "login"),
            (3, 0, "signup"), (3, 1, "login"), (3, 2, "login"), (3, 3, "login"), (3, 4, "login")]
    out = daily(pd.DataFrame(log(rows)), mode="streak")
    # u1 back on days 1, 2 (day 3 missed) → streak 2; u2 misses day 1 → streak 0; u3 every day
    # → streak 4. k1: u1, u3; k2: u1, u3; k3: u3; k4: u3 (u1's day-4 return breaks no record).
    assert out.retained.tolist() == [3, 2, 2, 1, 1]
    on = daily(pd.DataFrame(log(rows)), mode="on")
    assert on.retained.tolist() == [3, 2, 3, 2, 2]  # the same log, "on": k2 counts u2 too
    # Brackets [1, 2]: bracket 1 = day 1, bracket 2 = days 2–3. u1: b1, b2 → 2; u2: b2 only
    # → 0; u3: b1, b2 → 2.
    br = daily(pd.DataFrame(log(rows)), mode="streak", brackets=[1, 2])
    assert br.retained.tolist() == [3, 2, 2]


def test_on_or_before_value_is_cumulative_revenue_and_streak_value_is_the_streakers() -> None:
    # u1 pays 10 (week 0), 8 (week 1), 4 (week 3); u2 pays 20 (week 0), 6 (week 2).
    rows = [(1, 0, "pay"), (1, 7, "pay"), (1, 21, "pay"), (2, 1, "pay"), (2, 15, "pay")]
    df = pd.DataFrame(log(rows, amount=[10.0, 8.0, 4.0, 20.0, 6.0]))
    kw = dict(user="user", time="time", amount="amount", freq="week")
    ltv = kpikit.retention(df, mode="on_or_before", **kw)
    # Cumulative revenue: w0 30, w1 30 + 8 = 38, w2 38 + 6 = 44, w3 44 + 4 = 48 (30-day LTV
    # style); users back by week k: w1 {1}, w2 {1, 2}, w3 {1, 2}.
    assert ltv.value.tolist() == [30.0, 38.0, 44.0, 48.0]
    assert ltv.retained.tolist() == [2, 1, 2, 2]
    assert ltv.rate.tolist() == pytest.approx([1.0, 38 / 30, 44 / 30, 48 / 30])
    streak = kpikit.retention(df, mode="streak", **kw)
    # Streaks: u1 weeks 1 only (misses week 2), u2 none. Value of week 1 = u1's 8; later 0.
    assert streak.retained.tolist() == [2, 1, 0, 0]
    assert streak.value.tolist() == [30.0, 8.0, 0.0, 0.0]


def test_recurring_cohorts_count_every_start() -> None:
    out = daily(pd.DataFrame(log(ROWS)), cohort="recurring")
    # Day 2 cohort = {u2 (second signup)}: no later login → 1, 0.
    assert out.cohort_size.tolist() == [2, 2, 2, 2, 1, 1, 1, 1, 1]
    assert out.retained.tolist() == [2, 1, 1, 1, 1, 0, 1, 1, 0]


def test_reference_previous_and_brackets() -> None:
    prev = daily(pd.DataFrame(log(ROWS)), reference="previous")
    # Cohort 0: 2 → 1 → 1 → 1: rates 1, 1/2, 1/1, 1/1. Cohort 1: 1 → 0 → 1: 1, 0, null.
    assert prev.rate.tolist()[:6] == [1.0, 0.5, 1.0, 1.0, 1.0, 0.0]
    assert pd.isna(prev.rate.iloc[6])
    br = daily(pd.DataFrame(log(ROWS)), brackets=[1, 2])
    # Bracket 1 = day 1, bracket 2 = days 2–3. Cohort 0: b1 {2}, b2 {1}. Cohort 1: b1 none, b2 {3}.
    assert br.period_number.tolist() == [0, 1, 2, 0, 1, 2]
    assert br.retained.tolist() == [2, 1, 1, 1, 0, 1]


def test_rolling_24h_windows_measure_from_the_start_event() -> None:
    # u1 starts day 0 at 20:00, returns day 1 at 10:00 (14 h later: rolling period 0, calendar 1)
    # and day 2 at 19:00 (47 h: rolling period 1).
    df = pd.DataFrame(
        {"user": [1, 1, 1, 2], "time": [at(0, 20), at(1, 10), at(2, 19), at(2, 21)], "event": ["x"] * 4}
    )
    cal = kpikit.retention(df, user="user", time="time", freq="day")
    # Cohort day 0 {1}: back on days 1 and 2; day 1 is an empty cohort; day 2 {2}.
    assert cal.retained.tolist() == [1, 1, 1, 0, 0, 1]
    roll = kpikit.retention(df, user="user", time="time", freq="day", boundaries="rolling_24h")
    # Cohort day 0: k1 = [24 h, 48 h) holds the 47 h return; k2 starts day 2 00:00 ≤ data end
    # (day 2 21:00) and is shown, empty.
    assert roll.period_number.tolist() == [0, 1, 2, 0, 1, 0]
    assert roll.retained.tolist() == [1, 1, 0, 0, 0, 1]
    amp = kpikit.retention(df, user="user", time="time", freq="day", preset="amplitude")
    # Amplitude's base: u1's own day 2 began at day 2 20:00 ≤ data end, so all cells are reached.
    assert amp.reached.tolist() == [1, 1, 1, 0, 0, 1]
    pd.testing.assert_frame_equal(amp.drop(columns="reached"), roll)


def test_reached_base_counts_only_members_whose_period_has_begun() -> None:
    # u1 starts day 0 at 01:00 and is back 25 h later (rolling day 1); u2 starts day 0 at 20:00
    # and is not back; u3 starts day 1 at 10:00, the end of the data.
    df = pd.DataFrame({"user": [1, 1, 2, 3], "time": [at(0, 1), at(1, 2), at(0, 20), at(1, 10)], "event": ["x"] * 4})
    kw = dict(user="user", time="time", freq="day", boundaries="rolling_24h")
    out = kpikit.retention(df, base="reached", **kw)
    # Cohort day 0: day 1 began for u1 at day 1 01:00 ≤ end (day 1 10:00), for u2 only at day 1
    # 20:00 → reached 1, retained 1, rate 1/1 (the cohort base gives 1/2). Cohort day 1: u3.
    assert out.columns.tolist() == ["cohort", "period_number", "cohort_size", "reached", "retained", "rate"]
    assert out.reached.tolist() == [2, 1, 1]
    assert out.retained.tolist() == [2, 1, 1]
    assert out.rate.tolist() == [1.0, 1.0, 1.0]
    assert kpikit.retention(df, **kw).rate.tolist() == [1.0, 0.5, 1.0]
    curve = kpikit.retention(df, base="reached", curve=True, **kw)
    # k0: (2 + 1) / (2 + 1); k1: only cohort day 0 has begun it → 1 / 1.
    assert curve.base_users.tolist() == [3.0, 1.0]
    assert curve.weighted_rate.tolist() == [1.0, 1.0]
    # With calendar periods every member of a shown cell has reached it.
    cal = kpikit.retention(df, user="user", time="time", freq="day", base="reached")
    assert (cal.reached == cal.cohort_size).all()
    with pytest.raises(kpikit.ParameterError, match="base"):
        kpikit.retention(df, base="reached", mode="on_or_before", **kw)
    with pytest.raises(kpikit.ParameterError, match="base"):
        kpikit.retention(df, base="everyone", **kw)


def test_presets_set_conventions_and_explicit_arguments_win() -> None:
    df = pd.DataFrame(log(ROWS))
    mix = daily(df, preset="mixpanel", boundaries="calendar")
    both = daily(df, cohort="recurring", mode="on_or_after")
    pd.testing.assert_frame_equal(mix, both)
    pd.testing.assert_frame_equal(daily(df, preset="posthog"), daily(df))
    with pytest.raises(kpikit.ParameterError, match="preset"):
        daily(df, preset="heap")
    with pytest.raises(kpikit.ParameterError, match="mode"):
        daily(df, mode="sometimes")


def test_revenue_retention_sums_the_value_of_returns() -> None:
    rows = [(1, 0, "pay"), (1, 7, "pay"), (2, 1, "pay"), (2, 8, "pay"), (2, 9, "pay")]
    df = pd.DataFrame(log(rows, amount=[10.0, 8.0, 20.0, 5.0, 15.0]))
    out = kpikit.retention(df, user="user", time="time", amount="amount", freq="week")
    # One weekly cohort {1, 2}: week 0 revenue 30, week 1 revenue 8 + 5 + 15 = 28.
    assert out.value.tolist() == [30.0, 28.0]
    assert out.rate.tolist() == [1.0, pytest.approx(28 / 30)]
    assert out.retained.tolist() == [2, 2]


def test_mean_curves_weighted_and_simple_exclude_empty_cohorts() -> None:
    # Cohort day 0 = {1, 2}, u1 back on day 1. Day 1: nobody starts (empty). Day 2 = {3}, back day 3.
    rows = [(1, 0, "signup"), (2, 0, "signup"), (1, 1, "login"), (3, 2, "signup"), (3, 3, "login")]
    tri = daily(pd.DataFrame(log(rows)))
    assert tri.cohort_size.tolist() == [2, 2, 2, 2, 0, 0, 0, 1, 1]
    assert tri.rate.iloc[4:7].isna().all()
    curve = daily(pd.DataFrame(log(rows)), curve=True)
    # k0: cohorts 0 and 2 (the empty one is left out). k1: 1/2 and 1/1 → weighted 2/3, simple 3/4.
    # k2, k3: only cohort 0 has begun them → 0/2.
    assert curve.period_number.tolist() == [0, 1, 2, 3]
    assert curve.cohorts.tolist() == [2, 2, 1, 1]
    assert curve.base_users.tolist() == [3, 3, 2, 2]
    assert curve.weighted_rate.tolist() == pytest.approx([1.0, 2 / 3, 0.0, 0.0])
    assert curve.simple_rate.tolist() == pytest.approx([1.0, 0.75, 0.0, 0.0])


def test_invalid_rows_raise_or_are_skipped_with_a_warning() -> None:
    df = pd.DataFrame({"user": [1, 1, 2], "time": [at(0), None, at(1)], "event": ["a"] * 3})
    with pytest.raises(kpikit.InputError, match=r"\"time\".*invalid=\"skip\".*row 1"):
        kpikit.retention(df, user="user", time="time")
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        out = kpikit.retention(df, user="user", time="time", invalid="skip", freq="day")
    assert [w.message.count for w in caught] == [1]
    assert "skipped_rows" not in out.attrs
    # Cohorts day 0 {1} and day 1 {2}: sizes 1, 1 (k0, k1 of day 0) and 1.
    assert out.cohort_size.tolist() == [1, 1, 1]


MODES = ["on", "on_or_after", "on_or_before", "streak"]


def _reference(rows: list[tuple[int, int, int]], mode: str, recurring: bool) -> dict[tuple[int, int], tuple[int, int]]:
    """(cohort day, k) -> (cohort size, retained) with event 0 = start, 1 = return, days calendar."""
    starts: dict[int, list[int]] = defaultdict(list)
    returns: dict[int, set[int]] = defaultdict(set)
    for u, d, e in rows:
        (starts[u].append(d) if e == 0 else returns[u].add(d))
    last = max(d for _, d, _ in rows)
    size: dict[int, int] = defaultdict(int)
    kept: dict[tuple[int, int], int] = defaultdict(int)
    for u, ds in starts.items():
        cohorts = sorted(set(ds)) if recurring else [min(ds)]
        for c in cohorts:
            size[c] += 1
            ks = {r - c for r in returns[u] if r > c}
            for k in range(1, last - c + 1):
                hit = {
                    "on": k in ks,
                    "on_or_after": any(x >= k for x in ks),
                    "on_or_before": any(x <= k for x in ks),
                    "streak": all(j in ks for j in range(1, k + 1)),
                }[mode]
                kept[(c, k)] += hit
    out = {}
    if not size:
        return out
    for c in range(min(size), max(size) + 1):
        for k in range(0, last - c + 1):
            out[(c, k)] = (size[c], size[c] if k == 0 else kept[(c, k)])
    return out


def _one_kind_raises(rows: list[tuple[int, int, int]], call: Any) -> bool:
    """Whether ``rows`` lack one of the two events (0: "start", 1: "back"); the call must then
    raise an InputError naming the name that never occurs instead of giving zeros."""
    kinds = {r[2] for r in rows}
    if kinds == {0, 1}:
        return False
    missing = "back" if kinds == {0} else "start"
    with pytest.raises(kpikit.InputError, match=f"event '{missing}' never occurs"):
        call()
    return True


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 8), st.integers(0, 20), st.integers(0, 1)), min_size=1, max_size=60),
    st.sampled_from(MODES),
    st.booleans(),
)
def test_matches_a_plain_reference(rows: list[tuple[int, int, int]], mode: str, recurring: bool) -> None:
    df = pd.DataFrame(log([(u, d, ["start", "back"][e]) for u, d, e in rows]))
    def call() -> Any:
        return kpikit.retention(
            df, user="user", time="time", start_event="start", return_event="back", freq="day",
            mode=mode, cohort="recurring" if recurring else "first_time",
        )

    if _one_kind_raises(rows, call):
        return
    out = call()
    ref = _reference(rows, mode, recurring)
    got = {
        ((c - D0).days, k): (s, r)
        for c, k, s, r in zip(out.cohort, out.period_number, out.cohort_size, out.retained, strict=True)
    }
    assert got == ref


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 8), st.integers(0, 40), st.integers(0, 1)), min_size=1, max_size=60),
    st.sampled_from(MODES),
    st.booleans(),
    st.sampled_from([None, [1, 2], [3]]),
)
def test_calendar_fast_path_equals_the_general_path(
    rows: list[tuple[int, int, int]], mode: str, recurring: bool, brackets: list[int] | None
) -> None:
    # Without a value column, calendar cohorts use a compact per-user encoding; with one (all
    # zeros here) they take the general path. Users and rates must agree.
    df = pd.DataFrame(log([(u, d, ["start", "back"][e]) for u, d, e in rows], zero=[0.0] * len(rows)))
    kw = dict(user="user", time="time", start_event="start", return_event="back", freq="week", mode=mode,
              cohort="recurring" if recurring else "first_time", brackets=brackets)
    if _one_kind_raises(rows, lambda: kpikit.retention(df, **kw)):
        return
    fast = kpikit.retention(df, **kw)
    general = kpikit.retention(df, amount="zero", **kw)
    pd.testing.assert_frame_equal(fast[["cohort", "period_number", "cohort_size", "retained"]],
                                  general[["cohort", "period_number", "cohort_size", "retained"]])


def _rolling_reference(rows: list[tuple[int, int, int]], mode: str) -> dict[tuple[int, int], tuple[int, int, int]]:
    """Daily rolling windows, first-time cohorts, Amplitude's base: (cohort day, k) ->
    (cohort size, reached, retained); times in whole hours, event 0 = start, 1 = return."""
    first: dict[int, int] = {}
    for u, h, e in sorted(rows, key=lambda r: r[1]):
        if e == 0:
            first.setdefault(u, h)
    end = max(h for _, h, _ in rows)
    members: dict[int, list[int]] = defaultdict(list)
    for u, s in first.items():
        members[s // 24].append(u)
    out: dict[tuple[int, int], tuple[int, int, int]] = {}
    if not members:
        return out
    for c in range(min(members), max(members) + 1):
        k = 0
        while c * 24 + k * 24 <= end:
            reached = retained = 0
            for u in members[c]:
                s = first[u]
                reached += s + 24 * k <= end
                ks = {(h - s) // 24 for v, h, e in rows if v == u and e == 1 and h >= s}
                retained += k == 0 or (k in ks if mode == "on" else any(x >= k for x in ks))
            out[(c, k)] = (len(members[c]), reached, retained)
            k += 1
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 24 * 6), st.integers(0, 1)), min_size=1, max_size=50),
    st.sampled_from(["on", "on_or_after"]),
)
def test_reached_base_matches_a_plain_reference(rows: list[tuple[int, int, int]], mode: str) -> None:
    df = pd.DataFrame(
        {
            "user": [r[0] for r in rows],
            "time": [D0 + dt.timedelta(hours=r[1]) for r in rows],
            "event": [["start", "back"][r[2]] for r in rows],
        }
    )
    def call() -> Any:
        return kpikit.retention(
            df, user="user", time="time", start_event="start", return_event="back", freq="day",
            boundaries="rolling_24h", mode=mode, base="reached",
        )

    if _one_kind_raises(rows, call):
        return
    out = call()
    got = {
        ((c - D0).days, k): (s, r, n)
        for c, k, s, r, n in zip(out.cohort, out.period_number, out.cohort_size, out.reached, out.retained, strict=True)
    }
    assert got == _rolling_reference(rows, mode)


# --- the vocabulary (docs/vocabulary.md) --------------------------------------------------------


@pytest.mark.parametrize(
    "old", [{"period": "day"}, {"event_column": "event"}, {"value": "amount"}, {"nulls": "drop"}, {"windows": "calendar"}]
)
def test_old_parameter_names_are_type_errors(old: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match=next(iter(old))):
        kpikit.retention(pd.DataFrame(log(ROWS)), user="user", time="time", **old)


def test_event_names_the_column_of_event_names() -> None:
    renamed = pd.DataFrame(log(ROWS)).rename(columns={"event": "name"})
    out = kpikit.retention(renamed, user="user", time="time", start_event="signup", return_event="login",
                           freq="day", event="name")
    pd.testing.assert_frame_equal(out, daily(pd.DataFrame(log(ROWS))))
    with pytest.raises(kpikit.SchemaError, match=r"\"event\".*'signup' not found"):
        kpikit.retention(pd.DataFrame(log(ROWS)), user="user", time="time", event="signup")


def test_output_follows_the_input_library() -> None:
    import polars as pl
    import pyarrow as pa

    expected = daily(pd.DataFrame(log(ROWS)))
    got_pl = daily(pl.DataFrame(log(ROWS)))
    got_pa = daily(pa.table(log(ROWS)))
    assert isinstance(got_pl, pl.DataFrame) and isinstance(got_pa, pa.Table)
    assert got_pl["retained"].to_list() == got_pa.column("retained").to_pylist() == [2, 1, 1, 1, 1, 0, 1]
    assert isinstance(daily(pa.table(log(ROWS)), output="pandas"), pd.DataFrame)
    pd.testing.assert_frame_equal(got_pa.to_pandas(date_as_object=False), expected, check_dtype=False)


@pytest.mark.parametrize("alias, word", [("D", "day"), ("W", "week"), ("W-MON", "week"), ("M", "month"), ("ME", "month")])
def test_foreign_frequency_spellings_are_refused(alias: str, word: str) -> None:
    with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
        kpikit.retention(pd.DataFrame(log(ROWS)), user="user", time="time", freq=alias)


def test_unsupported_frequencies_are_refused() -> None:
    with pytest.raises(kpikit.ParameterError, match=r"\"freq\": 'quarter' is not one of 'hour', 'day', 'week', 'month'"):
        kpikit.retention(pd.DataFrame(log(ROWS)), user="user", time="time", freq="quarter")


def test_a_dask_frame_gives_the_same_triangle_and_curve() -> None:
    dd = pytest.importorskip("dask.dataframe")
    df = pd.DataFrame(log(ROWS))
    ddf = dd.from_pandas(df, npartitions=3)
    pd.testing.assert_frame_equal(daily(ddf), daily(df))
    pd.testing.assert_frame_equal(daily(ddf, curve=True), daily(df, curve=True))
    import kpikit.dask

    assert kpikit.dask.retention is kpikit.retention


@pytest.mark.parametrize(
    ("kw", "parameter"),
    [
        ({"brackets": [1, 2.5]}, "brackets"),
        ({"brackets": 3}, "brackets"),
        ({"brackets": [0]}, "brackets"),
        ({"curve": "yes"}, "curve"),
        ({"curve": 1}, "curve"),
    ],
)
def test_a_parameter_that_is_not_what_its_type_says_is_refused_by_name(kw: dict[str, Any], parameter: str) -> None:
    with pytest.raises(kpikit.ParameterError, match=f'"{parameter}"'):
        daily(pd.DataFrame(log(ROWS)), **kw)


def test_non_finite_amounts_stay_refused() -> None:
    rows = log(ROWS, amount=[1.0, 2.0, 3.0, float("inf"), 1.0, 1.0, 1.0, 1.0, 1.0])
    with pytest.raises(kpikit.InputError, match="amount"):
        daily(pd.DataFrame(rows), amount="amount")


def test_min_returns_needs_that_many_return_events_in_the_period() -> None:
    # ROWS: u1 logs in on day 2 twice (one row duplicated) and day 3 once; u2 on day 1 once;
    # u3 on day 3 once. With two logins needed, only u1's day 2 is a return: cohort day 0
    # (u1, u2) has 1 retained on day 2 and none on days 1 and 3.
    once = daily(pd.DataFrame(log(ROWS)))
    twice = daily(pd.DataFrame(log(ROWS)), min_returns=2)
    day0 = twice[twice.cohort == pd.Timestamp(D0)]
    assert day0.retained.tolist() == [2, 0, 1, 0]
    assert once[once.cohort == pd.Timestamp(D0)].retained.tolist() == [2, 1, 1, 1]
    day1 = twice[twice.cohort == pd.Timestamp(at(1))]
    assert day1.retained.tolist() == [1, 0, 0]
    with pytest.raises(kpikit.ParameterError, match='"min_returns"'):
        daily(pd.DataFrame(log(ROWS)), min_returns=1.5)
    with pytest.raises(kpikit.ParameterError, match='"min_returns"'):
        daily(pd.DataFrame(log(ROWS)), min_returns=0)
