"""Event names that never occur: an InputError with the values that do and a did-you-mean.

A misspelled step, filter, start or return event used to give zeros (a funnel nobody converts
in, an empty triangle); an empty result is reserved for data that is really empty
(docs/conventions.md#journey). Every input library gives the same message."""

from __future__ import annotations

import re
from typing import Any

import dask.dataframe as dd
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import kpikit
from kpikit._analysis import names_present

T0 = pd.Timestamp("2025-03-03 09:00")
H = pd.Timedelta("1h")
D = pd.Timedelta("1D")

# u1: signup, feature_used 1 h later, upgrade 1 day later; u2: signup, feature_used 2 h later;
# u3: signup only; u4: login only. Week of 2025-03-03; u1 and u2 log in the next week.
ROWS = [
    (1, T0, "signup"), (1, T0 + H, "feature_used"), (1, T0 + D, "upgrade"),
    (2, T0, "signup"), (2, T0 + 2 * H, "feature_used"),
    (3, T0, "signup"),
    (4, T0, "login"),
    (1, T0 + 7 * D, "login"), (2, T0 + 8 * D, "login"),
]
PRESENT = "The 4 event names that occur: 'feature_used', 'login', 'signup', 'upgrade'."


def log(kind: str = "pandas", rows: list[tuple[Any, ...]] = ROWS) -> Any:
    """The event log as pandas (strings or categorical), polars (strings or categorical) or
    pyarrow (strings or dictionary)."""
    df = pd.DataFrame(rows, columns=["user", "time", "event"])
    df["time"] = df["time"].astype("datetime64[us]")
    if kind == "pandas":
        return df
    if kind == "pandas-category":
        return df.astype({"event": "category"})
    if kind == "polars":
        return pl.from_pandas(df)
    if kind == "polars-categorical":
        return pl.from_pandas(df).with_columns(pl.col("event").cast(pl.Categorical))
    table = pa.Table.from_pandas(df, preserve_index=False)
    if kind == "arrow-dictionary":
        return table.set_column(2, "event", table.column("event").dictionary_encode())
    assert kind == "arrow"
    return table


KINDS = ["pandas", "pandas-category", "polars", "polars-categorical", "arrow", "arrow-dictionary"]

CALLS = {
    # The reproducers: each gave zeros or an empty table.
    "funnel-typo": (
        lambda t: kpikit.funnel(t, user="user", time="time", steps=["signup", "feature_use", "upgrade"]),
        'parameter "steps": event \'feature_use\' never occurs in column "event" (did you mean \'feature_used\'?). ',
    ),
    "funnel-case": (
        lambda t: kpikit.funnel(t, user="user", time="time", steps=["Signup", "feature_used"]),
        'parameter "steps": event \'Signup\' never occurs in column "event" (did you mean \'signup\'?). ',
    ),
    "funnel-alternative": (
        # The step is reached through "feature_used": the result alone cannot tell.
        lambda t: kpikit.funnel(t, user="user", time="time", steps=["signup", ["feature_used", "featur_usd"]]),
        'parameter "steps": event \'featur_usd\' never occurs in column "event" (did you mean \'feature_used\'?). ',
    ),
    "funnel-exclusion": (
        lambda t: kpikit.funnel(t, user="user", time="time", steps=["signup", "upgrade"], exclusions=[("logon", 1, 2)]),
        'parameter "exclusions": event \'logon\' never occurs in column "event" (did you mean \'login\'?). ',
    ),
    "retention-start": (
        lambda t: kpikit.retention(t, user="user", time="time", start_event="Signup"),
        'parameter "start_event": event \'Signup\' never occurs in column "event" (did you mean \'signup\'?). ',
    ),
    "retention-return": (
        lambda t: kpikit.retention(t, user="user", time="time", start_event="signup", return_event=["login", "upgarde"]),
        'parameter "return_event": event \'upgarde\' never occurs in column "event" (did you mean \'upgrade\'?). ',
    ),
    "retention-curve": (
        lambda t: kpikit.retention(t, user="user", time="time", start_event="sign_up", curve=True),
        'parameter "start_event": event \'sign_up\' never occurs in column "event" (did you mean \'signup\'?). ',
    ),
    "active-users": (
        lambda t: kpikit.active_users(t, user="user", time="time", events="sigup"),
        'parameter "events": event \'sigup\' never occurs in column "event" (did you mean \'signup\'?). ',
    ),
    "no-close-match": (
        lambda t: kpikit.active_users(t, user="user", time="time", events=["login", "zzz"]),
        'parameter "events": event \'zzz\' never occurs in column "event". ',
    ),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", list(CALLS))
def test_a_name_that_never_occurs_raises_with_the_values_and_a_guess(case: str, kind: str) -> None:
    call, first = CALLS[case]
    with pytest.raises(kpikit.InputError) as e:
        call(log(kind))
    # Same message from every library: the parameter, the name, the guess, then the values.
    assert str(e.value) == first + PRESENT


def test_every_missing_name_is_named_once_with_its_parameter() -> None:
    with pytest.raises(kpikit.InputError) as e:
        kpikit.retention(log(), user="user", time="time", start_event=["Signup", "Signup"], return_event="logn")
    assert str(e.value) == (
        'parameter "start_event": event \'Signup\' never occurs in column "event" (did you mean \'signup\'?); '
        'parameter "return_event": event \'logn\' never occurs in column "event" (did you mean \'login\'?). '
        + PRESENT
    )


def test_a_name_equal_but_for_case_is_preferred_to_a_closer_spelling() -> None:
    # difflib alone would pick "Signups" (one letter away, same case) for "Signup".
    rows = [*ROWS, (5, T0, "Signups")]
    with pytest.raises(kpikit.InputError, match=r"did you mean 'signup'\?"):
        kpikit.funnel(log("pandas", rows), user="user", time="time", steps=["Signup"])


def test_the_list_shows_twenty_sorted_values_and_counts_the_rest() -> None:
    rows = [(i, T0, f"e{i:02d}") for i in range(25)]
    with pytest.raises(kpikit.InputError) as e:
        kpikit.active_users(log("arrow", rows), user="user", time="time", events="nope")
    shown = ", ".join(f"'e{i:02d}'" for i in range(20))
    assert str(e.value).endswith(f"The 25 event names that occur: {shown} and 5 more.")


@pytest.mark.parametrize("kind", ["pandas-category", "polars-categorical", "arrow-dictionary"])
def test_a_declared_category_that_no_row_uses_never_occurs(kind: str) -> None:
    # "churned" is a category of the column but no event has it: a filter on it would match
    # nothing, so it is a name that never occurs, and the list shows only the used ones.
    df = log("pandas")
    df["event"] = pd.Categorical(df["event"], categories=["churned", "feature_used", "login", "signup", "upgrade"])
    table: Any = df
    if kind == "polars-categorical":
        table = pl.from_pandas(df)
    elif kind == "arrow-dictionary":
        table = pa.Table.from_pandas(df, preserve_index=False)
    if kind == "arrow-dictionary":
        assert "churned" in table.column("event").chunk(0).dictionary.to_pylist()
    with pytest.raises(kpikit.InputError) as e:
        kpikit.funnel(table, user="user", time="time", steps=["signup", "churned"])
    assert str(e.value) == 'parameter "steps": event \'churned\' never occurs in column "event". ' + PRESENT


# --- correct names: the numbers of before -------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_correct_names_give_the_hand_computed_numbers(kind: str) -> None:
    t = log(kind)
    out = kpikit.funnel(t, user="user", time="time", steps=["signup", "feature_used", "upgrade"], output="pandas")
    # 3 sign up; u1 and u2 use the feature (after 1 h and 2 h); u1 upgrades 23 h later.
    assert out.converted.tolist() == [3, 2, 1]
    assert out.time_to_convert_mean_days.tolist()[1:] == [1.5 / 24, 23 / 24]
    alt = kpikit.funnel(t, user="user", time="time", steps=["signup", ["upgrade", "feature_used"]],
                        exclusions=[("login", 1, 2)], output="pandas")
    assert alt.converted.tolist() == [3, 2]
    ret = kpikit.retention(t, user="user", time="time", start_event="signup", return_event="login", output="pandas")
    assert ret[["period_number", "cohort_size", "retained"]].values.tolist() == [[0, 3, 3], [1, 3, 2]]
    act = kpikit.active_users(t, user="user", time="time", freq="week", events=["signup", "upgrade"], output="pandas")
    assert act.active_users.tolist() == [3]


def test_names_that_occur_but_match_no_journey_give_zeros_not_an_error() -> None:
    # "upgrade" occurs, but only before the signups of u2 and u3, and u1 never signs up: a real
    # zero. "login" is a return only in the cohort's own week: no one is retained in week 1.
    rows = [(1, T0, "upgrade"), (2, T0, "upgrade"), (2, T0 + H, "signup"), (3, T0 + H, "signup"), (3, T0 + 2 * H, "login")]
    out = kpikit.funnel(log("pandas", rows), user="user", time="time", steps=["signup", "upgrade"])
    assert out.converted.tolist() == [2, 0]
    ret = kpikit.retention(log("pandas", [*rows, (4, T0 + 8 * D, "signup")]), user="user", time="time",
                           start_event="signup", return_event="login")
    assert ret.retained.tolist() == [2, 0, 1]


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_table_gives_the_empty_result(kind: str) -> None:
    t = log(kind, ROWS[:0]) if kind.startswith("pandas") else log(kind)[:0]
    assert kpikit.funnel(t, user="user", time="time", steps=["signup", "upgrade"], output="pandas").converted.tolist() == [0, 0]
    assert len(kpikit.retention(t, user="user", time="time", start_event="signup", output="pandas")) == 0
    assert len(kpikit.active_users(t, user="user", time="time", events="signup", output="pandas")) == 0


def test_missing_event_names_are_not_values_and_an_all_missing_column_holds_none() -> None:
    rows = [*ROWS, (5, T0, None)]
    with pytest.raises(kpikit.InputError, match=re.escape(PRESENT)):
        kpikit.active_users(log("pandas", rows), user="user", time="time", events="x")
    empty = [(1, T0, None), (2, T0, None)]
    with pytest.raises(kpikit.InputError, match=r"The column holds no event name \(every value is missing\)"):
        kpikit.active_users(log("arrow", empty), user="user", time="time", events="signup")


def test_a_one_shot_arrow_stream_is_checked_too() -> None:
    reader = log("arrow").to_reader()
    with pytest.raises(kpikit.InputError) as e:
        CALLS["funnel-typo"][0](reader)
    assert str(e.value) == CALLS["funnel-typo"][1] + PRESENT
    out = kpikit.funnel(log("arrow").to_reader(), user="user", time="time", steps=["signup", "feature_used", "upgrade"])
    assert out.column("converted").to_pylist() == [3, 2, 1]


# --- Dask -----------------------------------------------------------------------------------------


def test_dask_input_gives_the_same_error_and_the_same_numbers() -> None:
    ddf = dd.from_pandas(log(), npartitions=3)
    for case in ("funnel-typo", "funnel-exclusion", "retention-return", "active-users"):
        call, first = CALLS[case]
        with pytest.raises(kpikit.InputError) as e:
            call(ddf)
        assert str(e.value) == first + PRESENT
    out = kpikit.funnel(ddf, user="user", time="time", steps=["signup", ["feature_used", "upgrade"]], exclusions=[("login", 1, 2)])
    assert out.converted.tolist() == [3, 2]
    empty = dd.from_pandas(log().iloc[:0], npartitions=1)
    assert len(kpikit.active_users(empty, user="user", time="time", events="signup")) == 0


# --- the lookup itself ---------------------------------------------------------------------------


def test_the_lookup_reads_every_chunk_and_slice_until_each_name_is_seen() -> None:
    # 300 000 rows in two chunks, read in slices of 64 Ki rows and more: "late" is the last row.
    first = pa.array(["a"] * 150_000)
    second = pa.array(["b"] * 149_999 + ["late"])
    column = pa.chunked_array([first, second])
    assert names_present(column, ["late", "a", "missing"]) == {"late", "a"}
    codes = pa.chunked_array([first.dictionary_encode(), second.dictionary_encode()])
    assert names_present(codes, ["late", "b", "missing"]) == {"late", "b"}
    assert names_present(pa.chunked_array([second.cast(pa.string_view())]), ["late"]) == {"late"}
