"""Adversarial inputs for every public table function.

Each function gets a small valid base table; every mutation below is applied to it and the call
must end in one of two ways: a documented result, or a ``KpikitError`` subclass whose message
names the offending column. Never another exception type, never a crash, and the caller's table
is never changed. ``CASES_TRIED`` counts the (case, function, library) combinations tried.
"""

from __future__ import annotations

import copy
import datetime
import io
import math
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import kpikit
from conftest import TABLE_MAKERS
from kpikit import KpikitError

T0 = pd.Timestamp("2026-01-05 10:00")


def days(*ds: float) -> list[pd.Timestamp]:
    return [T0 + pd.Timedelta(days=d) for d in ds]


@dataclass
class Spec:
    """One public function: its base table, how to call it and what each column holds."""

    data: dict[str, list[Any]]
    call: Callable[[Any], Any]
    ids: tuple[str, ...] = ()  # identifiers and segments: any hashable type works
    nums: tuple[str, ...] = ()  # numeric measures
    times: tuple[str, ...] = ()  # timestamps
    # Columns whose nulls are documented to mean something ("not yet reached", "open deal"...):
    # all-null there must give a result, not an error.
    nullable: tuple[str, ...] = ()
    other: dict[str, Any] = field(default_factory=dict)


def _quota_table() -> pa.Table:
    return pa.table({"rep": ["ana", "ana", "bo"], "month": days(0, 31, 0), "quota": [100.0, 100.0, 50.0]})


SPECS: dict[str, Spec] = {
    "nps": Spec(
        {"score": [10, 9, 8, 7, 3, 0], "t": days(0, 1, 2, 40, 41, 42), "seg": list("aabbab")},
        lambda t: kpikit.nps(t, score="score", time="t", freq="month", by="seg", output="pandas"),
        ids=("seg",),
        nums=("score",),
        times=("t",),
    ),
    "csat": Spec(
        {"score": [5, 4, 3, 2, 1, 5], "t": days(0, 1, 2, 40, 41, 42), "seg": list("aabbab")},
        lambda t: kpikit.csat(t, score="score", time="t", freq="month", by="seg", output="pandas"),
        ids=("seg",),
        nums=("score",),
        times=("t",),
    ),
    "mrr": Spec(
        {
            "customer": [1, 2, 3, 4],
            "start": days(0, 10, 35, 60),
            "end": [None, *days(70), None, None],
            "amount": [100.0, 50.0, 1200.0, 30.0],
            "interval": ["month", "month", "year", "month"],
        },
        lambda t: kpikit.mrr(t, customer="customer", started="start", ended="end", amount="amount", interval="interval", output="pandas"),
        ids=("customer",),
        nums=("amount",),
        times=("start", "end"),
        nullable=("end",),
    ),
    "mrr_movements": Spec(
        {
            "customer": [1, 1, 1, 2, 2, 3],
            "month": days(0, 31, 62, 31, 62, 62),
            "mrr": [100.0, 150.0, 120.0, 50.0, 0.0, 70.0],
            "seg": list("aaabbb"),
        },
        lambda t: kpikit.mrr_movements(t, customer="customer", period="month", mrr="mrr", by="seg", output="pandas"),
        ids=("customer", "seg"),
        nums=("mrr",),
        times=("month",),
    ),
    "revenue_metrics": Spec(
        {
            "customer": [1, 1, 1, 2, 2, 3],
            "month": days(0, 31, 62, 31, 62, 62),
            "mrr": [100.0, 150.0, 120.0, 50.0, 0.0, 70.0],
        },
        lambda t: kpikit.revenue_metrics(t, customer="customer", period="month", mrr="mrr", output="pandas"),
        ids=("customer",),
        nums=("mrr",),
        times=("month",),
    ),
    "revenue_cohorts": Spec(
        {
            "customer": [1, 1, 1, 2, 2, 3],
            "month": days(0, 31, 62, 31, 62, 62),
            "mrr": [100.0, 150.0, 120.0, 50.0, 0.0, 70.0],
        },
        lambda t: kpikit.revenue_cohorts(t, customer="customer", period="month", mrr="mrr", output="pandas"),
        ids=("customer",),
        nums=("mrr",),
        times=("month",),
    ),
    "deal_metrics": Spec(
        {
            "deal": [1, 2, 3, 4],
            "owner": ["ana", "ana", "bo", "bo"],
            "created": days(0, 5, 27, 55),
            "closed": [*days(30, 65, 47), None],
            "amount": [1000.0, 3000.0, 500.0, 800.0],
            "won": [True, True, False, None],
        },
        lambda t: kpikit.deal_metrics(
            t, deal="deal", rep="owner", created="created", closed="closed", amount="amount", won="won", freq="month",
            output="pandas",
        ),
        ids=("deal", "owner"),
        nums=("amount",),
        times=("created", "closed"),
    ),
    "quota_attainment": Spec(
        {"rep": ["ana", "ana", "bo"], "month": days(0, 31, 0), "amount": [90.0, 120.0, 50.0]},
        lambda t: kpikit.quota_attainment(t, _quota_table(), rep="rep", time="month", output="pandas"),
        nums=("amount",),
        times=("month",),
    ),
    "lead_metrics": Spec(
        {
            "created": days(0, 4, 28, 31, 33),
            "qualified": [*days(1), None, *days(29, 32), None],
            "converted": [None, None, *days(55), None, None],
            "revenue": [None, None, 500.0, None, None],
            "seg": list("aabba"),
        },
        lambda t: kpikit.lead_metrics(
            t, created="created", qualified="qualified", converted="converted", revenue="revenue", by="seg", output="pandas"
        ),
        ids=("seg",),
        nums=("revenue",),
        times=("created", "qualified", "converted"),
        nullable=("qualified", "converted", "revenue"),
    ),
    "support_metrics": Spec(
        {
            "opened": days(0, 1, 25),
            "resolved": [*days(0.2, 2), None],
            "first_response": [*days(0.1, 1.5), None],
            "handle_seconds": [600.0, 1200.0, None],
            "team": ["x", "y", "x"],
        },
        lambda t: kpikit.support_metrics(
            t,
            opened="opened",
            resolved="resolved",
            first_response="first_response",
            handle_seconds="handle_seconds",
            by="team",
            output="pandas",
        ),
        ids=("team",),
        nums=("handle_seconds",),
        times=("opened", "resolved", "first_response"),
        nullable=("resolved", "first_response", "handle_seconds"),
    ),
    "campaign_metrics": Spec(
        {
            "name": ["spring", "spring", "summer"],
            "t": days(0, 1, 40),
            "delivered": [600, 400, 500],
            "opened": [150, 100, 200],
            "clicked": [30, 20, 25],
            "converted": [3, 2, 5],
            "spend": [100.0, 100.0, 250.0],
            "revenue": [400.0, 200.0, 250.0],
        },
        lambda t: kpikit.campaign_metrics(
            t,
            deliveries="delivered",
            opens="opened",
            clicks="clicked",
            conversions="converted",
            cost="spend",
            revenue="revenue",
            by="name",
            time="t",
            freq="month",
            output="pandas",
        ),
        ids=("name",),
        nums=("delivered", "opened", "clicked", "converted", "spend", "revenue"),
        times=("t",),
    ),
    "onboarding_time": Spec(
        {"signed": days(0, 8, 18), "first_value": [*days(4, 18), None], "seg": list("aab")},
        lambda t: kpikit.onboarding_time(t, started="signed", first_value="first_value", by="seg", output="pandas"),
        ids=("seg",),
        times=("signed", "first_value"),
        nullable=("first_value",),
    ),
    "active_users": Spec(
        {"user": [1, 2, 1, 3, 2], "time": days(0, 1, 2, 2, 9)},
        lambda t: kpikit.active_users(t, user="user", time="time", windows={"dau": 1, "wau": 7}, output="pandas"),
        ids=("user",),
        times=("time",),
    ),
    "stickiness": Spec(
        {"user": [1, 1, 1, 2, 3], "time": days(0, 0.5, 2, 1, 3)},
        lambda t: kpikit.stickiness(t, user="user", time="time", output="pandas"),
        ids=("user",),
        times=("time",),
    ),
    "lifecycle": Spec(
        {"user": [1, 1, 1, 2, 3], "time": days(0, 1, 3, 1, 3)},
        lambda t: kpikit.lifecycle(t, user="user", time="time", output="pandas"),
        ids=("user",),
        times=("time",),
    ),
    "retention": Spec(
        {"user": [1, 2, 1, 3, 2, 1], "time": days(0, 1, 8, 8, 15, 16)},
        lambda t: kpikit.retention(t, user="user", time="time", freq="week", output="pandas"),
        ids=("user",),
        times=("time",),
    ),
    "funnel": Spec(
        {
            "user": [1, 1, 2, 3, 3, 4],
            "time": days(0, 0.1, 0, 0, 2, 1),
            "event": ["signup", "upgrade", "signup", "signup", "upgrade", "upgrade"],
        },
        lambda t: kpikit.funnel(t, user="user", time="time", steps=["signup", "upgrade"], output="pandas"),
        ids=("user",),
        times=("time",),
    ),
    "funnel_from_stages": Spec(
        {
            "visited_at": days(0, 0, 1, 2),
            "signed_up_at": [*days(1, 2), None, *days(3)],
            "customer_at": [*days(5), None, None, None],
            "seg": list("abab"),
        },
        lambda t: kpikit.funnel_from_stages(t, stages=["visited_at", "signed_up_at", "customer_at"], by="seg", output="pandas"),
        ids=("seg",),
        times=("visited_at", "signed_up_at", "customer_at"),
        nullable=("signed_up_at", "customer_at"),
    ),
    "rfm_summary": Spec(
        {"customer": [1, 1, 2, 1, 1], "time": days(0, 0.3, 2, 3, 7), "amount": [10.0, 5.0, 99.0, 20.0, 40.0]},
        lambda t: kpikit.rfm_summary(t, customer="customer", time="time", amount="amount", output="pandas"),
        ids=("customer",),
        nums=("amount",),
        times=("time",),
    ),
    "rfm_split": Spec(
        {"customer": [1, 1, 2, 1, 1], "time": days(0, 1, 2, 5, 7), "amount": [10.0, 5.0, 99.0, 20.0, 40.0]},
        lambda t: kpikit.rfm_split(t, customer="customer", time="time", amount="amount", calibration_end="2026-01-08", output="pandas"),
        ids=("customer",),
        nums=("amount",),
        times=("time",),
    ),
}

FUNCTIONS = sorted(SPECS)

CASES_TRIED = 0


def test_every_public_table_function_is_covered() -> None:
    # Every public function of kpikit that takes a table is in SPECS; the others are classes,
    # modules or the journey view (a composition of funnel and retention, tested there).
    not_tables = {
        "__version__",
        "SkippedRowsWarning",
        "KpikitError",
        "SchemaError",
        "InputError",
        "ParameterError",
        "datasets",
        "formulas",
        "KPI",
        "catalog",
        "metric",
        "register_metric",
        "Scorecard",
        "ScorecardResult",
        "Sources",
        "clv",
        "plot",
        "journey",
        "JourneyResult",
        # Over a Sources bundle or a spec file, not a table: tested in test_check and test_report.
        "check",
        "CheckResult",
        "report",
        "Report",
        "load_spec",
        # A database source for a Sources bundle, not a table function: tested in test_sql_sources.
        "sql",
        "Spec",
        # Reads a check-in store (a directory of Parquet files): tested in test_report_checkins.
        "history",
    }
    assert set(kpikit.__all__) - not_tables == set(SPECS)


# ----------------------------------------------------------------------------------------------
# Running one case
# ----------------------------------------------------------------------------------------------


def fingerprint(table: Any) -> bytes:
    """Bytes that change when any value, type or chunk layout of ``table`` changes."""
    if isinstance(table, pd.DataFrame):
        # Not pickle.dumps(table): pandas caches derived data on the frame, which changes it.
        cols = [(c, str(table[c].dtype), table[c].tolist()) for c in table.columns]
        return pickle.dumps((cols, table.index.tolist()))
    if isinstance(table, pl.DataFrame):
        table = table.to_arrow()
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue()


def run(name: str, table: Any, column: str | tuple[str, ...] | None = None) -> Any:
    """Call ``name`` on ``table``: the result, or the KpikitError it raised (naming ``column``,
    or one of several columns when a rule ties them together, such as time order).

    Any other exception type fails the test, and so does a change to the caller's table.
    """
    global CASES_TRIED
    CASES_TRIED += 1
    before = fingerprint(copy.deepcopy(table))
    try:
        out = SPECS[name].call(table)
    except KpikitError as e:
        if column is not None:
            names = (column,) if isinstance(column, str) else column
            # Quoted alone ("score") or in a list of columns ("visited_at, signed_up_at").
            named = any(re.search(rf'"(?:[^"]*, )?{re.escape(c)}(?:, [^"]*)?"', str(e)) for c in names)
            assert named, f"{name}: message does not name {column!r}: {e}"
        out = e
    assert fingerprint(table) == before, f"{name} changed its input"
    if not isinstance(out, Exception):
        assert isinstance(out, pd.DataFrame)
        assert_no_infinite(name, out)
    return out


def assert_no_infinite(name: str, out: pd.DataFrame) -> None:
    """Results hold numbers or nulls; an infinity is always a silently wrong number."""
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c].dtype):
            v = out[c].to_numpy(dtype=float, na_value=np.nan)
            assert not np.isinf(v).any(), f"{name}: column {c} holds an infinity"


def base_table(name: str) -> pa.Table:
    return pa.table(SPECS[name].data)


def replace(t: pa.Table, column: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    return t.set_column(t.column_names.index(column), column, values)


def set_value(t: pa.Table, column: str, row: int, value: Any) -> pa.Table:
    values = t.column(column).to_pylist()
    values[row] = value
    return replace(t, column, pa.array(values, type=t.schema.field(column).type))


# ----------------------------------------------------------------------------------------------
# Base results, empty and one-row tables, in every input library
# ----------------------------------------------------------------------------------------------

BASE: dict[str, pd.DataFrame] = {}


def base_result(name: str) -> pd.DataFrame:
    if name not in BASE:
        out = run(name, base_table(name))
        assert isinstance(out, pd.DataFrame), out
        assert len(out) > 0
        BASE[name] = out
    return BASE[name]


@pytest.mark.parametrize("library", list(TABLE_MAKERS))
@pytest.mark.parametrize("name", FUNCTIONS)
def test_base_table_gives_the_same_result_in_every_library(name: str, library: str) -> None:
    want = base_result(name)
    got = run(name, TABLE_MAKERS[library](SPECS[name].data))
    assert isinstance(got, pd.DataFrame), got
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


# Functions whose empty input gives documented rows of zeros rather than an empty table: a
# funnel without segments always lists its steps, and quota attainment has a row per quota
# period (nothing sold).
EMPTY_KEEPS_ROWS = {
    "funnel": ["entered", "converted"],
    "quota_attainment": ["actual", "actual_to_date"],
}


@pytest.mark.parametrize("library", list(TABLE_MAKERS))
@pytest.mark.parametrize("name", FUNCTIONS)
def test_empty_table_gives_an_empty_result_with_the_same_columns(name: str, library: str) -> None:
    want = base_result(name)
    empty = pa.table(SPECS[name].data).slice(0, 0)
    table = empty if library.startswith("pyarrow") else TABLE_MAKERS[library](empty.to_pydict())
    if library == "pandas":
        table = empty.to_pandas()
    elif library == "polars":
        table = pl.from_arrow(empty)
    elif library == "pandas[pyarrow]":
        table = empty.to_pandas(types_mapper=pd.ArrowDtype)
    out = run(name, table)
    if name == "rfm_split":
        # Without transactions there is no observation end to default to: the error says so.
        assert isinstance(out, kpikit.ParameterError) and '"observation_end"' in str(out), out
        return
    assert isinstance(out, pd.DataFrame), out
    assert list(out.columns) == list(want.columns)
    if name in EMPTY_KEEPS_ROWS:
        zeros = EMPTY_KEEPS_ROWS[name]
        assert len(out) > 0 and (out[zeros].to_numpy() == 0).all(), out
    else:
        assert len(out) == 0, out


@pytest.mark.parametrize("library", list(TABLE_MAKERS))
@pytest.mark.parametrize("name", FUNCTIONS)
def test_one_row(name: str, library: str) -> None:
    one = {k: v[:1] for k, v in SPECS[name].data.items()}
    out = run(name, TABLE_MAKERS[library](one))
    if name == "rfm_split":
        # One transaction: the observation end defaults to it, before calibration_end.
        assert isinstance(out, kpikit.ParameterError) and '"observation_end"' in str(out), out
        return
    if name == "funnel":
        # The one row is a signup: the step "upgrade" names an event the log does not have.
        assert isinstance(out, kpikit.InputError) and "'upgrade' never occurs" in str(out), out
        return
    assert isinstance(out, pd.DataFrame), out
    assert len(out) >= 1


# ----------------------------------------------------------------------------------------------
# Value mutations (pyarrow input: exact control of types and nulls)
# ----------------------------------------------------------------------------------------------


def cases(kind: str, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(n, c) for n in FUNCTIONS if n not in skip for c in getattr(SPECS[n], kind)]


def all_columns() -> list[tuple[str, str]]:
    return [(n, c) for n in FUNCTIONS for c in SPECS[n].data]


@pytest.mark.parametrize(("name", "column"), all_columns())
def test_all_nulls_in_a_column(name: str, column: str) -> None:
    t = base_table(name)
    t = replace(t, column, pa.nulls(t.num_rows, type=t.schema.field(column).type))
    # A rule may tie columns together (a closed deal needs won): the message names one of them.
    out = run(name, t, tuple(SPECS[name].data))
    if column in SPECS[name].nullable:
        assert isinstance(out, pd.DataFrame), out


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(("name", "column"), cases("nums"))
def test_nan_and_infinities_are_rejected_with_the_column(name: str, column: str, value: float) -> None:
    t = base_table(name)
    t = replace(t, column, pa.array(t.column(column).to_pylist(), pa.float64()))
    t = set_value(t, column, 1, value)
    out = run(name, t, column)
    if math.isnan(value) and column in SPECS[name].nullable:
        # Documented: NaN reads as missing (pandas' own missing marker for floats).
        assert isinstance(out, pd.DataFrame), out
        pd.testing.assert_frame_equal(out, run(name, set_value(t, column, 1, None)))
    else:
        assert isinstance(out, KpikitError), f"{name}: {value} in {column} gave a result\n{out}"


@pytest.mark.parametrize(("name", "column"), cases("nums"))
def test_huge_amounts_never_give_an_infinity(name: str, column: str) -> None:
    # 1e300 is finite but its sums and products are not: an error or finite numbers only.
    t = base_table(name)
    t = replace(t, column, pa.array(t.column(column).to_pylist(), pa.float64()))
    run(name, set_value(t, column, 0, 1e300), column)


@pytest.mark.parametrize(("name", "column"), cases("nums"))
def test_negative_amounts(name: str, column: str) -> None:
    t = base_table(name)
    values = t.column(column).to_pylist()
    row = next(i for i, v in enumerate(values) if v is not None)
    t = set_value(t, column, row, -abs(values[row]) - 1)
    run(name, t, column)


@pytest.mark.parametrize(
    "when", [pd.Timestamp("1900-01-01"), pd.Timestamp("1969-12-31 23:59:59"), pd.Timestamp("2200-06-01")]
)
@pytest.mark.parametrize(("name", "column"), cases("times"))
def test_timestamps_before_1970_and_far_in_the_future(name: str, column: str, when: pd.Timestamp) -> None:
    t = base_table(name)
    t = set_value(t, column, 0, when)
    # Moving one time can break a time-order rule with another column: either may be named.
    # A weekly retention triangle from 1900 is over the documented size cap: that error names
    # the parameter to change instead.
    try:
        SPECS[name].call(t)
    except kpikit.ParameterError as e:
        if "outlying times" in str(e):
            return
    except KpikitError:
        pass
    run(name, t, SPECS[name].times)


@pytest.mark.parametrize(("name", "column"), cases("times", skip=("quota_attainment", "rfm_split")))
def test_whole_table_shifted_before_1970_gives_the_same_counts(name: str, column: str) -> None:
    # (quota_attainment and rfm_split are left out: the quotas table and calibration_end hold
    # dates of their own that would have to move too.)
    # Every time column moved back by the same whole number of 400-year cycles (the calendar
    # repeats exactly) leaves every count and rate unchanged; only the period labels move.
    t = base_table(name)
    shift = pd.Timedelta(days=146_097)
    for c in SPECS[name].times:
        t = replace(t, c, pa.array([None if v is None else v - shift for v in t.column(c).to_pylist()], t.column(c).type))
    out = run(name, t)
    want = base_result(name)
    assert isinstance(out, pd.DataFrame), out
    numeric = [
        c
        for c in want.columns
        if pd.api.types.is_numeric_dtype(want[c].dtype) and not pd.api.types.is_datetime64_any_dtype(want[c].dtype)
    ]
    pd.testing.assert_frame_equal(out[numeric], want[numeric], check_dtype=False)


@pytest.mark.parametrize(("name", "column"), cases("times"))
def test_mixed_time_zones(name: str, column: str) -> None:
    t = base_table(name)
    aware = t.column(column).cast(pa.timestamp("us", tz="Europe/Berlin"))
    run(name, replace(t, column, aware), column)


def test_mixed_time_zones_across_tables() -> None:
    # Actuals in naive local time, quotas tz-aware: both read as UTC instants.
    t = base_table("quota_attainment")
    quotas = _quota_table()
    quotas = replace(quotas, "month", quotas.column("month").cast(pa.timestamp("us", tz="UTC")))
    out = kpikit.quota_attainment(t, quotas, rep="rep", time="month", output="pandas")
    pd.testing.assert_frame_equal(out, base_result("quota_attainment"))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_unsorted_rows_give_the_same_result(name: str) -> None:
    t = base_table(name)
    out = run(name, t.take(list(range(t.num_rows))[::-1]))
    assert isinstance(out, pd.DataFrame), out
    want = base_result(name)
    if name == "mrr":
        # mrr lists customers in order of first appearance: the same rows, in another order.
        keys = ["customer", "period"]
        out, want = (d.sort_values(keys, ignore_index=True) for d in (out, want))
    pd.testing.assert_frame_equal(out, want)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_duplicated_rows(name: str) -> None:
    t = base_table(name)
    run(name, pa.concat_tables([t, t]))


ID_TYPES = {
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "string": pa.string(),
    "large_string": pa.large_string(),
    "string_view": pa.string_view(),
    "dictionary": pa.dictionary(pa.int32(), pa.string()),
    "dictionary8": pa.dictionary(pa.int8(), pa.large_string()),
}


def id_values(t: pa.Table, column: str) -> list[Any]:
    """The column's ids as small non-negative integers, in order of first appearance."""
    seen: dict[Any, int] = {}
    return [None if v is None else seen.setdefault(v, len(seen)) for v in t.column(column).to_pylist()]


@pytest.mark.parametrize("type_name", list(ID_TYPES))
@pytest.mark.parametrize(("name", "column"), cases("ids"))
def test_ids_of_every_type_give_the_same_numbers(name: str, column: str, type_name: str) -> None:
    t = base_table(name)
    values = id_values(t, column)
    typ = ID_TYPES[type_name]
    if pa.types.is_integer(typ):
        arr = pa.array(values, typ)
    else:
        arr = pa.array([None if v is None else f"id{v}" for v in values], pa.string()).cast(typ)
    out = run(name, replace(t, column, arr), column)
    assert isinstance(out, pd.DataFrame), out
    want = base_result(name)
    assert list(out.columns) == list(want.columns)
    # Ids only label groups: every number except the group label itself is unchanged.
    numeric = [c for c in want.columns if c != column and pd.api.types.is_numeric_dtype(want[c].dtype)]
    pd.testing.assert_frame_equal(out[numeric], want[numeric], check_dtype=False)


@pytest.mark.parametrize(("name", "column"), cases("ids"))
def test_dictionary_chunks_with_different_dictionaries(name: str, column: str) -> None:
    t = base_table(name)
    values = [f"id{v}" for v in id_values(t, column)]
    cut = len(values) // 2
    # The same ids, but each chunk has its own dictionary in its own order.
    first = pa.array(values[:cut]).dictionary_encode()
    second = pa.DictionaryArray.from_arrays(
        pa.array([sorted(set(values[cut:]), reverse=True).index(v) for v in values[cut:]], pa.int32()),
        pa.array(sorted(set(values[cut:]), reverse=True)),
    )
    chunked = pa.chunked_array([first, second], type=pa.dictionary(pa.int32(), pa.string()))
    mixed = run(name, replace(t, column, chunked), column)
    plain = run(name, replace(t, column, pa.array(values)), column)
    assert isinstance(mixed, pd.DataFrame), mixed
    # A dictionary segment comes back categorical (docs/vocabulary.md); its values and order
    # are those of the plain column.
    categorical = [c for c in mixed.columns if isinstance(mixed[c].dtype, pd.CategoricalDtype)]
    assert all(set(mixed[c].cat.categories) == set(values) for c in categorical)
    mixed = mixed.astype({c: object for c in categorical})
    if name == "mrr":  # customers in order of first appearance, as in the unsorted test
        mixed, plain = (d.sort_values(["customer", "period"], ignore_index=True) for d in (mixed, plain))
    if column in mixed.columns and isinstance(mixed[column].dtype, pd.CategoricalDtype):
        # A dictionary segment comes back categorical (docs/vocabulary.md), its categories sorted.
        assert list(mixed[column].cat.categories) == sorted(set(values))
        mixed[column] = mixed[column].astype(plain[column].dtype)
    pd.testing.assert_frame_equal(mixed, plain, check_dtype=False)


def test_pandas_object_column_with_mixed_types() -> None:
    # A pandas object column holding ints and strings cannot become Arrow: the error names it.
    df = pd.DataFrame({"user": [1, "b", 2], "time": days(0, 1, 2)})
    out = run("stickiness", df, "user")
    assert isinstance(out, kpikit.SchemaError), out


@pytest.mark.parametrize(("name", "column"), all_columns())
def test_missing_column(name: str, column: str) -> None:
    t = base_table(name)
    out = run(name, t.drop_columns([column]), column)
    assert isinstance(out, kpikit.SchemaError), out


@pytest.mark.parametrize(("name", "column"), all_columns())
def test_misnamed_column(name: str, column: str) -> None:
    t = base_table(name)
    t = t.rename_columns([c.upper() if c == column else c for c in t.column_names])
    out = run(name, t, column)
    assert isinstance(out, kpikit.SchemaError), out


@pytest.mark.parametrize(("name", "column"), cases("nums") + cases("times"))
def test_strings_where_numbers_or_times_belong(name: str, column: str) -> None:
    t = base_table(name)
    as_text = pa.array([None if v is None else str(v) for v in t.column(column).to_pylist()], pa.string())
    out = run(name, replace(t, column, as_text), column)
    assert isinstance(out, kpikit.SchemaError), out


# ----------------------------------------------------------------------------------------------
# Many segments
# ----------------------------------------------------------------------------------------------


def test_a_million_distinct_segments() -> None:
    n = 1_000_000
    seg = pa.array(np.arange(n)).cast(pa.string())
    scores = pa.array(np.arange(n) % 11)
    out = kpikit.nps(pa.table({"score": scores, "seg": seg}), score="score", by="seg", output="arrow")
    assert out.num_rows == n
    # Segment i has one answer, i mod 11: a promoter (100) for 9, 10, a detractor (-100) below 7.
    nps = out.column("nps").to_numpy()
    want = np.where(np.arange(n) % 11 >= 9, 100.0, np.where(np.arange(n) % 11 <= 6, -100.0, 0.0))
    order = np.argsort(out.column("seg").to_numpy(zero_copy_only=False).astype(np.int64))
    assert (nps[order] == want).all()


def test_many_distinct_segments_in_mrr_movements() -> None:
    # 10^5 here (10^6 takes ~100 s in a debug build, ~10 s for nps above).
    n = 100_000
    seg = np.arange(n)
    table = pa.table(
        {
            "customer": np.arange(n),
            "month": pa.array(np.full(n, np.datetime64("2026-01-01", "us"))),
            "mrr": np.full(n, 10.0),
            "seg": seg,
        }
    )
    out = kpikit.mrr_movements(table, customer="customer", period="month", mrr="mrr", by="seg", output="arrow")
    assert out.num_rows == n
    assert pa.compute.sum(out.column("new_mrr")).as_py() == 10.0 * n


# ----------------------------------------------------------------------------------------------
# Regressions: one test per bug this suite or the fuzz-style Rust test found
# ----------------------------------------------------------------------------------------------


def test_regression_revenue_metrics_of_an_empty_table() -> None:
    # Panicked ("no entry found for key") on a rate column that no row had created.
    out = kpikit.revenue_metrics(base_table("revenue_metrics").slice(0, 0), customer="customer", period="month", mrr="mrr", output="pandas")
    assert len(out) == 0 and "net_revenue_retention" in out.columns


def test_regression_polars_all_null_column() -> None:
    # polars' export of a Null-dtype column was rejected by the Arrow C data interface.
    df = pl.DataFrame({"created": [T0], "qualified": [None], "converted": [None], "revenue": [None]})
    out = kpikit.lead_metrics(df, created="created", qualified="qualified", converted="converted", revenue="revenue",
                              output="pandas")
    assert out[["leads", "qualified_leads", "converted_leads"]].iloc[0].tolist() == [1, 0, 0]


def test_regression_infinite_amounts_are_rejected() -> None:
    # inf in a deal amount used to give won_revenue = inf and avg_deal_size = inf.
    t = set_value(base_table("deal_metrics"), "amount", 0, math.inf)
    with pytest.raises(kpikit.InputError, match='column "amount": values must be finite'):
        SPECS["deal_metrics"].call(t)


def test_regression_categorical_with_unused_category_and_missing_value() -> None:
    # Grouping indexed past its renumbering table (the null group came after an unused value).
    df = pd.DataFrame({"score": [10, 0, 10], "seg": pd.Categorical(["a", None, "a"], categories=["a", "unused"])})
    out = kpikit.nps(df, score="score", by="seg")
    # The unused category has its row (no answers, no NPS), the missing segment comes last.
    assert out["seg"].tolist()[:2] == ["a", "unused"] and pd.isna(out["seg"][2])
    assert out["responses"].tolist() == [2, 0, 1] and out["nps"].tolist()[::2] == [100.0, -100.0]
    # And a categorical with no categories at all (every value missing).
    df = pd.DataFrame({"score": [10, 0], "seg": pd.Categorical([None, None], categories=[])})
    assert kpikit.nps(df, score="score", by="seg")["responses"].tolist() == [2]


def test_regression_times_outside_the_calendar_name_the_column() -> None:
    # i64::MIN microseconds overflowed period arithmetic (a panic) or built giant grids.
    # (i64::MIN itself is pandas' NaT, a missing time: see test_interop.py.)
    t = pa.table({"score": [10, 9], "t": pa.array([0, -(2**63) + 1], pa.timestamp("us"))})
    with pytest.raises(kpikit.InputError, match='column "t": times must fall in the years 1 to 9999: 1 row'):
        kpikit.nps(t, score="score", time="t", freq="day")


def test_regression_a_stray_time_cannot_make_a_huge_gap_filled_result() -> None:
    # Daily periods from year 1 to 2026 would be ~740 000 rows per segment x 4 segments: an
    # error naming freq instead of minutes of work and gigabytes of empty rows.
    t = pa.table(
        {
            "score": [10] * 4,
            "t": pa.array([datetime.datetime(1, 1, 1), *[datetime.datetime(2026, 1, 1)] * 3], pa.timestamp("us")),
            "seg": list("abcd"),
        }
    )
    with pytest.raises(kpikit.ParameterError, match='parameter "freq": the data spans'):
        kpikit.nps(t, score="score", time="t", freq="day", by="seg")
    # Yearly periods over the same span are fine: 2026 periods x 4 segments.
    assert len(kpikit.nps(t, score="score", time="t", freq="year", by="seg")) == 2026 * 4


def test_regression_retention_triangle_is_capped() -> None:
    # Daily cohorts from year 1 to 2026: ~2.7e11 triangle cells, a hang before the cap.
    t = pa.table({"user": [1, 2], "time": pa.array([datetime.datetime(1, 1, 1), datetime.datetime(2026, 1, 1)], pa.timestamp("us"))})
    with pytest.raises(kpikit.ParameterError, match='parameter "freq": cohorts from'):
        kpikit.retention(t, user="user", time="time", freq="day")


def test_count_of_inputs_tried() -> None:
    # Runs last in this file (pytest keeps file order): the count goes into the closing note.
    print(f"\nadversarial inputs tried: {CASES_TRIED}")
    assert CASES_TRIED > 0
