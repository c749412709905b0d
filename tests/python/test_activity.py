"""Active users, stickiness and lifecycle: hand-built timelines, every input library, a plain
Python reference on random event logs, and bad input."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import kpikit

D0 = dt.datetime(2026, 3, 2, 10, 0)  # a Monday


def day(n: int, hour: int = 0) -> dt.datetime:
    return D0 + dt.timedelta(days=n, hours=hour)


def log(pairs: list[tuple[Any, int]], **extra: list[Any]) -> dict[str, list[Any]]:
    return {"user": [u for u, _ in pairs], "time": [day(d) for _, d in pairs], **extra}


# --- active users -----------------------------------------------------------------------------


def test_window_boundary_is_inclusive_of_the_day_and_ends_after_w_days(make_table: Any) -> None:
    # "a" is active on day 0 only (twice), "b" on day 6, "c" on day 7; rows unsorted.
    t = make_table(log([("c", 7), ("a", 0), ("b", 6), ("a", 0)]))
    out = kpikit.active_users(t, user="user", time="time", windows={"dau": 1, "wau": 7}, output="pandas")
    assert out.period.dt.date.tolist() == [(D0 + dt.timedelta(days=i)).date() for i in range(8)]
    assert out.dau.tolist() == [1, 0, 0, 0, 0, 0, 1, 1]
    # WAU on day 6 covers days 0–6: {a, b} = 2; on day 7 covers days 1–7: {b, c} = 2 (a drops out).
    assert out.wau.tolist() == [1, 1, 1, 1, 1, 1, 2, 2]
    assert out.active_users.tolist() == out.dau.tolist()
    assert "dau_mau" not in out.columns


def test_dau_mau_is_null_when_mau_is_zero() -> None:
    # Active on day 0 and day 40: with a 30-day MAU, days 30–39 have MAU 0.
    out = kpikit.active_users(pd.DataFrame(log([(1, 0), (1, 40)])), user="user", time="time")
    assert out.mau.iloc[29] == 1 and out.mau.iloc[30] == 0
    assert out.dau_mau.iloc[0] == 1.0
    assert out.dau_mau.iloc[30:40].isna().all()
    assert out.dau_mau.iloc[40] == 1.0


def test_weekly_periods_take_windows_on_the_last_day() -> None:
    # Week 1: users 1 (day 0), 2 (day 3). Week 2: user 1 on day 8 (a Tuesday); the data end there.
    out = kpikit.active_users(
        pd.DataFrame(log([(1, 0), (2, 3), (1, 8)])), user="user", time="time", freq="week", windows={"dau": 1, "wau": 7}
    )
    assert out.active_users.tolist() == [2, 1]
    # Week 1 ends Sunday (day 6): DAU 0, WAU {1, 2}. Week 2 is cut at day 8: DAU {1}, WAU days 2–8 {2, 1}.
    assert out.dau.tolist() == [0, 1]
    assert out.wau.tolist() == [2, 2]


def test_segments_and_event_filter(make_table: Any) -> None:
    t = make_table(
        log(
            [(1, 0), (1, 1), (2, 1), (3, 1)],
            plan=["pro", "pro", "free", "pro"],
            event=["login", "view", "login", "login"],
        )
    )
    out = kpikit.active_users(t, user="user", time="time", by="plan", events="login", windows={"dau": 1, "wau": 7}, output="pandas")
    # free: user 2 on day 1. pro logins: user 1 day 0, user 3 day 1.
    assert out.plan.tolist() == ["free", "free", "pro", "pro"]
    assert out.dau.tolist() == [0, 1, 1, 1]
    assert out.wau.tolist() == [0, 1, 1, 2]
    both = kpikit.active_users(t, user="user", time="time", events=["login", "view"], windows={"dau": 1}, output="pandas")
    assert both.dau.tolist() == [1, 3]


def test_missing_users_raise_or_are_dropped_and_counted() -> None:
    df = pd.DataFrame({"user": ["a", None, "b"], "time": [day(0), day(1), pd.NaT]})
    with pytest.raises(kpikit.InputError, match=r"\"user\".*row 1"):
        kpikit.active_users(df, user="user", time="time")
    with pytest.raises(kpikit.InputError):
        kpikit.active_users(df.assign(user=["a", "x", "b"]), user="user", time="time")
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        out = kpikit.active_users(df, user="user", time="time", invalid="skip")
    # Row 1 has no user, row 2 no time: both left out, counted once.
    assert [w.message.count for w in caught] == [2]
    assert out.dau.tolist() == [1]
    assert "skipped_rows" not in out.attrs and "skipped" not in out.columns


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        # 1.9 days was read as 1 day, 2.5 events as 2: a fraction is refused, not rounded.
        (lambda df: kpikit.active_users(df, user="user", time="time", windows={"w": 1.9}), "windows"),
        (lambda df: kpikit.active_users(df, user="user", time="time", windows={"dau": "7"}), "windows"),
        (lambda df: kpikit.active_users(df, user="user", time="time", windows=[("dau", 1)]), "windows"),
        (lambda df: kpikit.active_users(df, user="user", time="time", windows={"dau": -1}), "windows"),
        (lambda df: kpikit.active_users(df, user="user", time="time", windows={"dau": float("nan")}), "windows"),
        (lambda df: kpikit.stickiness(df, user="user", time="time", min_events=2.5), "min_events"),
        (lambda df: kpikit.stickiness(df, user="user", time="time", min_events=True), "min_events"),
        (lambda df: kpikit.stickiness(df, user="user", time="time", cumulative="no"), "cumulative"),
    ],
)
def test_a_parameter_that_is_not_a_whole_number_is_refused_by_name(call: Any, parameter: str) -> None:
    df = pd.DataFrame(log([(1, 0), (1, 1)]))
    with pytest.raises(kpikit.ParameterError, match=f'"{parameter}"'):
        call(df)


def test_whole_numbers_of_any_integer_type_are_taken() -> None:
    import numpy as np

    df = pd.DataFrame(log([(1, 0), (2, 1), (1, 2)]))
    plain = kpikit.active_users(df, user="user", time="time", windows={"dau": 1, "w": 2})
    # numpy integers are the same windows; a float is refused, even a whole one (a window is a
    # count of days, docs/vocabulary.md).
    for w in (np.int32(2), np.int64(2)):
        out = kpikit.active_users(df, user="user", time="time", windows={"dau": 1, "w": w})
        assert out.w.tolist() == plain.w.tolist() == [1, 2, 2]
    with pytest.raises(kpikit.ParameterError, match='"windows": expects a mapping of a text to a whole number'):
        kpikit.active_users(df, user="user", time="time", windows={"dau": 1, "w": 2.0})


def test_bad_parameters() -> None:
    df = pd.DataFrame(log([(1, 0)]))
    with pytest.raises(kpikit.ParameterError, match="windows"):
        kpikit.active_users(df, user="user", time="time", windows={"dau": 0})
    with pytest.raises(kpikit.ParameterError, match="invalid"):
        kpikit.active_users(df, user="user", time="time", invalid="drop")
    with pytest.raises(kpikit.SchemaError, match="nope"):
        kpikit.active_users(df, user="nope", time="time")


def _active_reference(pairs: list[tuple[int, int]], windows: dict[str, int]) -> pd.DataFrame:
    days_of: dict[int, set[int]] = defaultdict(set)
    for u, d in pairs:
        days_of[u].add(d)
    lo, hi = min(d for _, d in pairs), max(d for _, d in pairs)
    rows = []
    for t in range(lo, hi + 1):
        row = {"active_users": sum(t in ds for ds in days_of.values())}
        for name, w in windows.items():
            row[name] = sum(any(t - w < d <= t for d in ds) for ds in days_of.values())
        rows.append(row)
    return pd.DataFrame(rows)


events_st = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 60)), min_size=1, max_size=80)


@settings(max_examples=60, deadline=None)
@given(events_st, st.integers(1, 10), st.integers(1, 40))
def test_active_users_match_a_plain_reference(pairs: list[tuple[int, int]], w1: int, w2: int) -> None:
    windows = {"dau": 1, "wk": w1, "mau": w2}
    out = kpikit.active_users(pd.DataFrame(log(pairs)), user="user", time="time", windows=windows)
    ref = _active_reference(pairs, windows)
    for c in ["active_users", "dau", "wk", "mau"]:
        assert out[c].tolist() == ref[c].tolist(), c
    expected = [d / m if m else None for d, m in zip(ref.dau, ref.mau, strict=True)]
    assert [None if pd.isna(x) else x for x in out.dau_mau] == expected


def test_large_input_runs_in_parallel_ranges_and_equals_reference() -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    n = 400_000
    pairs = list(zip(rng.integers(0, 5000, n).tolist(), rng.integers(0, 90, n).tolist(), strict=True))
    out = kpikit.active_users(pd.DataFrame(log(pairs)), user="user", time="time", windows={"dau": 1, "wau": 7})
    df = pd.DataFrame(pairs, columns=["u", "d"]).drop_duplicates()
    dau = df.groupby("d").u.nunique().reindex(range(90), fill_value=0)
    assert out.dau.tolist() == dau.tolist()
    wau = [df[(df.d > t - 7) & (df.d <= t)].u.nunique() for t in range(90)]
    assert out.wau.tolist() == wau


# --- stickiness -------------------------------------------------------------------------------


def test_stickiness_exact_cumulative_and_min_events(make_table: Any) -> None:
    # a: days 0 (×2), 1, 2 → 3 days; b: day 1 → 1; c: days 0, 2 (×2) → 2; single-event user d on day 4.
    t = make_table(log([("a", 0), ("a", 0), ("a", 1), ("a", 2), ("b", 1), ("c", 0), ("c", 2), ("c", 2), ("d", 4)]))
    out = kpikit.stickiness(t, user="user", time="time", output="pandas")
    assert out.intervals.tolist() == [1, 2, 3, 4, 5]
    assert out.users.tolist() == [2, 1, 1, 0, 0]
    assert out.share.tolist() == [0.5, 0.25, 0.25, 0.0, 0.0]
    cum = kpikit.stickiness(t, user="user", time="time", cumulative=True, output="pandas")
    assert cum.users.tolist() == [4, 2, 1, 0, 0]
    # Two events a day: a on day 0, c on day 2 → both on exactly one day.
    two = kpikit.stickiness(t, user="user", time="time", min_events=2, output="pandas")
    assert two.users.tolist() == [2, 0, 0, 0, 0]
    # Range [day 0, day 2) = days 0–1 only: a on 2 days, b 1, c 1; d is outside.
    rng = kpikit.stickiness(t, user="user", time="time", start=day(0).date(), end=str(day(2).date()), output="pandas")
    assert rng.users.tolist() == [2, 1]
    # The end is exclusive to the instant: an end at day 2, 01:00 takes in day 2 (a and c on 3 and 2 days).
    late = kpikit.stickiness(t, user="user", time="time", start=day(0).date(), end=day(2).replace(hour=1), output="pandas")
    assert late.users.tolist() == [1, 1, 1]


@settings(max_examples=40, deadline=None)
@given(events_st, st.integers(1, 3), st.sampled_from([None, 0, 1, 2]))
def test_stickiness_matches_a_plain_reference(pairs: list[tuple[int, int]], k: int, extra: int | None) -> None:
    # Intervals with from k to k + extra events (no upper limit when extra is None).
    most = None if extra is None else k + extra
    out = kpikit.stickiness(pd.DataFrame(log(pairs)), user="user", time="time", min_events=k, max_events=most)
    df = pd.DataFrame(pairs, columns=["u", "d"])
    per_day = df.groupby(["u", "d"]).size()
    counted = (per_day >= k) & (per_day <= (len(pairs) if most is None else most))
    active = counted.groupby(level="u").sum()
    n = df.d.max() - df.d.min() + 1
    expected = [int((active == i).sum()) for i in range(1, n + 1)]
    assert out.users.tolist() == expected


def test_stickiness_at_most_and_exactly_n_events(make_table: Any) -> None:
    # Events per day — a: day 0 ×2, days 1, 2 ×1; b: day 1 ×1; c: day 0 ×1, day 2 ×2; d: day 4 ×1.
    t = make_table(log([("a", 0), ("a", 0), ("a", 1), ("a", 2), ("b", 1), ("c", 0), ("c", 2), ("c", 2), ("d", 4)]))
    # At most one event: a on days 1, 2 (2 intervals), b 1, c day 0 (1), d 1.
    most = kpikit.stickiness(t, user="user", time="time", max_events=1, output="pandas")
    assert most.users.tolist() == [3, 1, 0, 0, 0]
    assert most.share.tolist() == [0.75, 0.25, 0.0, 0.0, 0.0]
    # Exactly two: a on day 0, c on day 2; b and d are left out.
    exactly = kpikit.stickiness(t, user="user", time="time", min_events=2, max_events=2, output="pandas")
    assert exactly.users.tolist() == [2, 0, 0, 0, 0]
    assert exactly.share.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    with pytest.raises(kpikit.ParameterError, match="max_events"):
        kpikit.stickiness(t, user="user", time="time", min_events=3, max_events=2)
    with pytest.raises(kpikit.ParameterError, match="max_events"):
        kpikit.stickiness(t, user="user", time="time", max_events=1.5)


def test_stickiness_counts_only_the_events_asked_for(make_table: Any) -> None:
    # "login" — a: days 0, 2; b: day 1; "view" — a: day 1, c: days 0–2. Only logins: the range is
    # days 0–2 (3 intervals), a on 2 of them, b on 1; c has no login and is left out.
    rows = [("a", 0, "login"), ("a", 1, "view"), ("a", 2, "login"), ("b", 1, "login"),
            ("c", 0, "view"), ("c", 1, "view"), ("c", 2, "view")]
    t = make_table(log([(u, d) for u, d, _ in rows], event=[e for _, _, e in rows]))
    out = kpikit.stickiness(t, user="user", time="time", events="login", output="pandas")
    assert out.users.tolist() == [1, 1, 0]
    assert out.share.tolist() == [0.5, 0.5, 0.0]
    both = kpikit.stickiness(t, user="user", time="time", events=["login", "view"], output="pandas")
    assert both.users.tolist() == [1, 0, 2]
    with pytest.raises(kpikit.InputError, match="Login"):
        kpikit.stickiness(t, user="user", time="time", events="Login")


# --- lifecycle --------------------------------------------------------------------------------


def test_lifecycle_statuses_posthog_and_amplitude(make_table: Any) -> None:
    # Days 0–4. a: 0, 1, 3. b: 1, 2 (created on day 0). c: 4 (single event).
    pairs = [("a", 3), ("a", 0), ("b", 1), ("a", 1), ("b", 2), ("c", 4), ("a", 1)]
    created = {"a": day(0), "b": day(0), "c": day(4)}
    t = make_table(log(pairs, created=[created[u] for u, _ in pairs]))
    ph = kpikit.lifecycle(t, user="user", time="time", created="created", output="pandas")
    # PostHog: a new on 0, returning 1, dormant 2, resurrecting 3, dormant 4.
    #          b created day 0 but first active day 1 → resurrecting 1, returning 2, dormant 3.
    #          c new on 4.
    assert ph.new.tolist() == [1, 0, 0, 0, 1]
    assert ph.returning.tolist() == [0, 1, 1, 0, 0]
    assert ph.resurrecting.tolist() == [0, 1, 0, 1, 0]
    assert ph.dormant.tolist() == [0, 0, -1, -1, -1]
    assert ph.active.tolist() == [1, 2, 1, 1, 1]
    # Pulse on day 3: (0 + 1) / 1.
    assert ph.pulse.tolist()[3] == 1.0 and pd.isna(ph.pulse.iloc[0])
    amp = kpikit.lifecycle(t, user="user", time="time", created="created", preset="amplitude", output="pandas")
    # Amplitude: b is new in its first active period (day 1).
    assert amp.new.tolist() == [1, 1, 0, 0, 1]
    assert amp.resurrecting.tolist() == [0, 0, 0, 1, 0]
    # Without a created column PostHog's "new" is the first active period too.
    assert kpikit.lifecycle(t, user="user", time="time", output="pandas").new.tolist() == [1, 1, 0, 0, 1]


@settings(max_examples=40, deadline=None)
@given(events_st)
def test_lifecycle_matches_a_plain_reference(pairs: list[tuple[int, int]]) -> None:
    out = kpikit.lifecycle(pd.DataFrame(log(pairs)), user="user", time="time")
    days_of: dict[int, set[int]] = defaultdict(set)
    for u, d in pairs:
        days_of[u].add(d)
    lo, hi = min(d for _, d in pairs), max(d for _, d in pairs)
    for i, t in enumerate(range(lo, hi + 1)):
        new = sum(t in ds and min(ds) == t for ds in days_of.values())
        ret = sum(t in ds and t - 1 in ds for ds in days_of.values())
        res = sum(t in ds and t - 1 not in ds and min(ds) < t for ds in days_of.values())
        dor = -sum(t not in ds and t - 1 in ds for ds in days_of.values())
        assert (out.new[i], out.returning[i], out.resurrecting[i], out.dormant[i]) == (new, ret, res, dor)


# --- the vocabulary (docs/vocabulary.md) --------------------------------------------------------


@pytest.mark.parametrize(
    "fn, old",
    [
        (kpikit.active_users, {"nulls": "drop"}),
        (kpikit.active_users, {"event_column": "event"}),
        (kpikit.stickiness, {"nulls": "drop"}),
        (kpikit.lifecycle, {"nulls": "drop"}),
    ],
)
def test_old_parameter_names_are_type_errors(fn: Any, old: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match=next(iter(old))):
        fn(pd.DataFrame(log([(1, 0)])), user="user", time="time", **old)


def test_an_event_name_given_as_the_event_column_is_refused() -> None:
    # event= names the column; the old event="login" (a value) must not silently count every event.
    df = pd.DataFrame(log([(1, 0), (2, 0)], event=["login", "view"]))
    with pytest.raises(kpikit.SchemaError, match=r"\"event\".*'login' not found.*events='login'"):
        kpikit.active_users(df, user="user", time="time", event="login")
    # A renamed event column is read when events= filters.
    out = kpikit.active_users(df.rename(columns={"event": "name"}), user="user", time="time", event="name", events="view")
    assert out.dau.tolist() == [1]


def test_output_follows_the_input_library() -> None:
    import polars as pl
    import pyarrow as pa

    data = log([("a", 0), ("a", 1), ("b", 1)])
    calls = [
        lambda t, **kw: kpikit.active_users(t, user="user", time="time", windows={"dau": 1}, **kw),
        lambda t, **kw: kpikit.stickiness(t, user="user", time="time", **kw),
        lambda t, **kw: kpikit.lifecycle(t, user="user", time="time", **kw),
    ]
    for call in calls:
        expected = call(pd.DataFrame(data))
        assert isinstance(expected, pd.DataFrame)
        got_pl = call(pl.DataFrame(data))
        assert isinstance(got_pl, pl.DataFrame)
        got_pa = call(pa.table(data))
        assert isinstance(got_pa, pa.Table)
        assert isinstance(call(pl.DataFrame(data), output="pandas"), pd.DataFrame)
        pd.testing.assert_frame_equal(got_pa.to_pandas(date_as_object=False), expected, check_dtype=False)
    assert call(pa.table(data)).column("new").to_pylist() == [1, 1]  # type: ignore[operator]


def test_a_categorical_segment_keeps_its_categories_and_order() -> None:
    # pro: user 1 on days 0 and 1, user 3 on day 1; free: user 2 on day 1. "team" is unused.
    df = pd.DataFrame(log([(1, 0), (1, 1), (2, 1), (3, 1)]))
    df["plan"] = pd.Categorical(["pro", "pro", "free", "pro"], categories=["pro", "team", "free"], ordered=True)
    out = kpikit.active_users(df, user="user", time="time", by="plan", windows={"dau": 1})
    assert isinstance(out.plan.dtype, pd.CategoricalDtype) and out.plan.cat.ordered
    assert list(out.plan.cat.categories) == ["pro", "team", "free"]
    # Segment-major as without categories, the segment in category order (pro before free,
    # not alphabetical), periods within; team, which nobody is on, has its rows of zeros
    # (docs/conventions.md, "Complete grids").
    assert out.plan.tolist() == ["pro", "pro", "team", "team", "free", "free"]
    assert out.dau.tolist() == [1, 2, 0, 0, 0, 1]
    assert out.active_users.tolist()[2:4] == [0, 0]


def test_skipped_rows_warn_in_stickiness_and_lifecycle() -> None:
    # Row 1 has no user: a (days 0, 2) is all that is left.
    df = pd.DataFrame({"user": ["a", None, "a"], "time": [day(0), day(1), day(2)]})
    with pytest.raises(kpikit.InputError, match=r"\"user\".*invalid=\"skip\".*row 1"):
        kpikit.stickiness(df, user="user", time="time")
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        sticky = kpikit.stickiness(df, user="user", time="time", invalid="skip")
    assert [w.message.count for w in caught] == [1]
    assert sticky.users.tolist() == [0, 1, 0]
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        life = kpikit.lifecycle(df, user="user", time="time", invalid="skip")
    assert [w.message.count for w in caught] == [1]
    assert life.new.tolist() == [1, 0, 0] and life.dormant.tolist() == [0, -1, 0] and life.resurrecting.tolist() == [0, 0, 1]


@pytest.mark.parametrize("alias, word", [("D", "day"), ("W", "week"), ("M", "month"), ("MS", "month"), ("1mo", "month")])
def test_foreign_frequency_spellings_are_refused(alias: str, word: str) -> None:
    df = pd.DataFrame(log([(1, 0)]))
    for fn in (kpikit.active_users, kpikit.stickiness, kpikit.lifecycle):
        with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
            fn(df, user="user", time="time", freq=alias)


def test_stickiness_and_lifecycle_refuse_a_dask_dataframe_by_name() -> None:
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(pd.DataFrame(log([(1, 0), (2, 1)])), npartitions=1)
    for fn in (kpikit.stickiness, kpikit.lifecycle):
        with pytest.raises(kpikit.SchemaError, match=r"Dask DataFrame.*compute"):
            fn(ddf, user="user", time="time")


def test_active_users_on_a_dask_dataframe_equals_one_machine() -> None:
    dd = pytest.importorskip("dask.dataframe")
    import kpikit.dask

    df = pd.DataFrame(log([("a", 0), ("b", 1), ("a", 2), ("c", 2), ("b", 9)], plan=list("ppfpf")))
    got = kpikit.active_users(dd.from_pandas(df, npartitions=3), user="user", time="time", by="plan", windows={"dau": 1, "wau": 7})
    expected = kpikit.active_users(df, user="user", time="time", by="plan", windows={"dau": 1, "wau": 7})
    pd.testing.assert_frame_equal(got, expected)
    # Plan f: a on day 2, b on day 9; the WAU of day 9 (days 3–9) is {b}.
    assert got[got.plan == "f"].wau.tolist()[-1] == 1
    assert kpikit.dask.active_users is kpikit.active_users


def test_stickiness_over_intervals_of_several_periods_and_hours() -> None:
    # a: days 0, 1, 3; b: days 1, 2; c: day 4 (twice). Five days in 2-day intervals: {0,1},
    # {2,3}, {4}. a is active in 2 intervals, b in 2, c in 1. Hand-worked (PostHog's interval
    # count: docs/conventions.md#stickiness).
    t = log([("a", 0), ("a", 1), ("a", 3), ("b", 1), ("b", 2), ("c", 4), ("c", 4)])
    out = kpikit.stickiness(t, user="user", time="time", interval_count=2, output="pandas")
    assert out.intervals.tolist() == [1, 2, 3]
    assert out.users.tolist() == [1, 2, 0]
    # At least two events in an interval: a ({0,1}), c ({4}); b has one event in each.
    two = kpikit.stickiness(t, user="user", time="time", interval_count=2, min_events=2, output="pandas")
    assert two.users.tolist() == [2, 0, 0]
    # Exactly one event: a ({2,3}), b ({0,1} and {2,3}).
    one = kpikit.stickiness(t, user="user", time="time", interval_count=2, max_events=1, output="pandas")
    assert one.users.tolist() == [1, 1, 0]
    # Hours: every event is at 10:00, so a user is active in as many hours as days.
    hours = kpikit.stickiness(t, user="user", time="time", freq="hour", output="pandas")
    assert len(hours) == 4 * 24 + 1  # day 0, 10:00 … day 4, 10:00
    assert hours.users.tolist()[:3] == [1, 1, 1]
    ranged = kpikit.stickiness(
        t, user="user", time="time", freq="hour", start=day(0).date(), end=day(1).date(), output="pandas"
    )
    assert len(ranged) == 24 and ranged.users.tolist()[0] == 1  # a, at 10:00 of day 0
    with pytest.raises(kpikit.ParameterError, match="interval_count"):
        kpikit.stickiness(t, user="user", time="time", interval_count=0)
    with pytest.raises(kpikit.ParameterError, match="interval_count"):
        kpikit.stickiness(t, user="user", time="time", interval_count=1.5)


def test_lifecycle_over_a_range_shows_empty_periods_and_reads_history() -> None:
    # a: days 0, 1, 3; b: day 1. Range days 1 … 5: day 1 a returning (active on day 0, before
    # the range) and b new; day 2 both dormant; day 3 a resurrecting; day 4 a dormant (the day
    # after the last event); day 5 empty. Hand-worked.
    t = log([("a", 0), ("a", 1), ("a", 3), ("b", 1)])
    out = kpikit.lifecycle(t, user="user", time="time", start=day(1).date(), end=day(6).date(), output="pandas")
    assert [d.date() for d in out.period] == [day(k).date() for k in range(1, 6)]
    assert out.new.tolist() == [1, 0, 0, 0, 0]
    assert out.returning.tolist() == [1, 0, 0, 0, 0]
    assert out.resurrecting.tolist() == [0, 0, 1, 0, 0]
    assert out.dormant.tolist() == [0, -2, 0, -1, 0]
    with pytest.raises(kpikit.ParameterError, match="start"):
        kpikit.lifecycle(t, user="user", time="time", start=day(3).date(), end=day(1).date())
    with pytest.raises(kpikit.ParameterError, match="end"):
        kpikit.lifecycle(t, user="user", time="time", end=float("nan"))
