"""Data crosses into Rust without copying, and NaN and null are the same missing value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import kpikit
from kpikit import _kpikit
from kpikit._convert import table_input
from test_dask import _misaligned_array

N = 100_000


def _values() -> np.ndarray:
    return np.arange(N, dtype=np.float64) % 11


def test_pandas_numpy_columns_are_not_copied() -> None:
    df = pd.DataFrame({"score": _values(), "n": np.arange(N, dtype=np.int64)})
    seen = _kpikit.table_buffer_addresses(table_input(df, ["score", "n"]))
    assert seen["score"] == [df["score"].to_numpy().ctypes.data]
    assert seen["n"] == [df["n"].to_numpy().ctypes.data]


def test_pandas_arrow_columns_are_not_copied() -> None:
    arr = pa.array(_values())
    df = pd.DataFrame({"score": pd.Series(pd.arrays.ArrowExtensionArray(arr))})
    seen = _kpikit.table_buffer_addresses(table_input(df, ["score"]))
    assert seen["score"] == [arr.buffers()[1].address]


def test_polars_columns_are_not_copied() -> None:
    df = pl.DataFrame({"score": _values()})
    seen = _kpikit.table_buffer_addresses(table_input(df, ["score"]))
    assert seen["score"] == [df["score"].to_numpy().ctypes.data]


def test_pyarrow_chunked_columns_are_not_copied() -> None:
    a, b = pa.array(_values()[: N // 2]), pa.array(_values()[N // 2 :])
    t = pa.Table.from_batches([pa.record_batch({"score": a}), pa.record_batch({"score": b})])
    seen = _kpikit.table_buffer_addresses(table_input(t, ["score"]))
    assert seen["score"] == [a.buffers()[1].address, b.buffers()[1].address]


def test_nan_and_null_are_the_same_missing_value() -> None:
    nan = pd.DataFrame({"score": [9.0, np.nan, 3.0]})
    null = pa.table({"score": pa.array([9.0, None, 3.0])})
    masked = pl.DataFrame({"score": [9.0, None, 3.0]})
    for t in (nan, null, masked):
        with pytest.warns(kpikit.SkippedRowsWarning) as caught:
            r = kpikit.nps(t, score="score", invalid="skip", output="pandas")
        assert r.responses.tolist() == [2] and caught[0].message.count == 1 and r.nps.tolist() == [0.0]
    # A NaN that pyarrow keeps as a float (not null) is missing too.
    pa_nan = pa.table({"score": pa.array([9.0, float("nan"), 3.0], from_pandas=False)})
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        kpikit.nps(pa_nan, score="score", invalid="skip")
    assert caught[0].message.count == 1


@pytest.mark.parametrize(
    "values",
    [
        pa.array(["a", "b", "a"], pa.string()),
        pa.array(["a", "b", "a"], pa.large_string()),
        pa.array(["a", "b", "a"], pa.string_view()),
        pa.array(["a", "b", "a"]).dictionary_encode(),
        pa.array([1, 2, 1], pa.int8()),
        pa.array([1, 2, 1], pa.uint64()),
    ],
    ids=["utf8", "large_utf8", "utf8_view", "dictionary", "int8", "uint64"],
)
def test_segment_columns_of_every_type(values: pa.Array) -> None:
    t = pa.table({"score": [10, 0, 9], "seg": values})
    out = kpikit.nps(t, score="score", by="seg", output="pandas")
    assert out.responses.tolist() == [2, 1]
    assert out.nps.tolist() == [100.0, -100.0]


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"])
def test_scores_of_every_numeric_width(dtype: str) -> None:
    df = pd.DataFrame({"score": np.array([10, 0, 9, 7], dtype=dtype)})
    assert kpikit.nps(df, score="score").nps.tolist() == [25.0]


def test_dictionary_segments_split_over_many_chunks() -> None:
    # Several record batches, each with its own dictionary: the output has each plan once, in
    # the order the dictionaries declare them (b first), as pandas reads such a column.
    batches = [
        pa.record_batch({"score": pa.array([10, 0]), "plan": pa.array(["b", "a"]).dictionary_encode()}),
        pa.record_batch({"score": pa.array([9, 8]), "plan": pa.array(["a", "b"]).dictionary_encode()}),
    ]
    out = kpikit.nps(pa.Table.from_batches(batches), score="score", by="plan", output="pandas")
    assert out.plan.tolist() == ["b", "a"] and list(out.plan.cat.categories) == ["b", "a"]
    assert out.responses.tolist() == [2, 2]
    cat = pd.DataFrame({"score": [10, 0, 9, 8] * 100_000, "plan": pd.Categorical(["b", "a", "a", "b"] * 100_000)})
    assert kpikit.nps(cat, score="score", by="plan").plan.tolist() == ["a", "b"]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", [None, "UTC", "America/New_York"])
def test_pandas_datetime_columns_are_not_copied(unit: str, tz: str | None) -> None:
    times = pd.Series(pd.date_range("2024-01-01", periods=N, freq="min", unit=unit, tz=tz))
    times.iloc[7] = pd.NaT  # pyarrow would scan for NaT and copy nothing but build a bitmap
    df = pd.DataFrame({"t": times})
    naive = df["t"].dt.tz_convert(None) if tz else df["t"]
    seen = _kpikit.table_buffer_addresses(table_input(df, ["t"]))
    assert seen["t"] == [naive.to_numpy().ctypes.data]
    exported = pa.table(table_input(df, ["t"])).column("t").type
    assert exported == pa.Array.from_pandas(times).type  # same unit and zone as pyarrow's


def test_pandas_nat_is_a_missing_time_in_every_unit() -> None:
    # Day 1: two answers, one with a NaT time; day 2: one answer. NaT must be "missing", not
    # a time 292 billion years ago (the smallest int64 it is stored as).
    for unit in ["s", "ms", "us", "ns"]:
        t = pd.Series(pd.to_datetime(["2024-03-01 10:00", None, "2024-03-02 09:00"])).astype(f"datetime64[{unit}]")
        df = pd.DataFrame({"score": [10.0, 0.0, 6.0], "t": t})
        with pytest.raises(kpikit.InputError, match=r'column "t".*row 1: missing'):
            kpikit.nps(df, score="score", time="t", freq="day")
        with pytest.warns(kpikit.SkippedRowsWarning) as caught:
            out = kpikit.nps(df, score="score", time="t", freq="day", invalid="skip")
        assert out.responses.tolist() == [1, 1], unit
        assert out.nps.tolist() == [100.0, -100.0], unit
        assert caught[0].message.count == 1


def test_pandas_nan_in_a_float_key_is_missing() -> None:
    # pandas turns an integer id column with a gap into floats with NaN: the gap is a missing
    # user (left out and counted with invalid="skip"), never a user called NaN.
    ev = pd.DataFrame(
        {"user": [1.0, np.nan, 2.0], "time": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"])}
    )
    with pytest.raises(kpikit.InputError, match=r'column "user".*row 1: missing'):
        kpikit.active_users(ev, user="user", time="time")
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        out = kpikit.active_users(ev, user="user", time="time", invalid="skip")
    assert out.dau.tolist() == [1, 1]
    assert caught[0].message.count == 1


def test_pandas_categorical_codes_are_reused_and_missing_categories_stay_missing() -> None:
    seg = pd.Categorical(["b", None, "a", "b"], categories=["a", "b", "c"])
    df = pd.DataFrame({"score": [10.0, 10.0, 0.0, 8.0], "seg": seg})
    col = pa.table(table_input(df, ["score", "seg"])).column("seg").combine_chunks()
    assert pa.types.is_dictionary(col.type)
    assert col.to_pylist() == ["b", None, "a", "b"]
    out = kpikit.nps(df, score="score", by="seg").set_index("seg")
    # a: one detractor (-100); b: a promoter and a passive (+50); the unnamed segment: one
    # promoter; c has no answers.
    assert out.loc["a", "nps"] == -100.0 and out.loc["b", "nps"] == 50.0


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 1001])
def test_pandas_boolean_columns_become_the_same_bits_as_pyarrow_makes(n: int) -> None:
    rng = np.random.default_rng(n)
    values = rng.random(n) < 0.4
    masked = pd.array(values, dtype="boolean")
    masked[rng.random(n) < 0.3] = pd.NA
    df = pd.DataFrame({"plain": values, "masked": masked})
    # A slice starting at an odd row: the bits are packed from the view's first value.
    for frame in (df, df.iloc[3:] if n > 3 else df):
        got = pa.table(table_input(frame, ["plain", "masked"]))
        for name in ("plain", "masked"):
            expected = pa.Array.from_pandas(frame[name])
            assert got.column(name).combine_chunks().equals(expected), name


def test_deal_outcomes_from_a_pandas_boolean_column_with_missing_values() -> None:
    # Deal 1 open (won missing), deal 2 won, deal 3 lost, deal 4 open with won False.
    created = pd.to_datetime(["2024-01-05", "2024-01-10", "2024-02-01", "2024-02-03"])
    closed = pd.to_datetime([None, "2024-02-10", "2024-03-01", None])
    won = pd.array([None, True, False, False], dtype="boolean")
    deals = pd.DataFrame({"created": created, "closed": closed, "amount": [5.0, 100.0, 50.0, 7.0], "won": won})
    out = kpikit.deal_metrics(deals, created="created", closed="closed", amount="amount", won="won", freq=None)
    row = out.iloc[0]
    assert (row.deals_created, row.deals_closed, row.deals_won, row.deals_lost, row.deals_open) == (4, 2, 1, 1, 2)
    assert row.win_rate == 0.5 and row.avg_deal_size == 100.0
    # The won deal took 31 days (Jan 10 → Feb 10).
    assert row.sales_cycle_days == 31.0


def test_pandas_named_index_and_repeated_column_names() -> None:
    df = pd.DataFrame({"score": [10.0, 0.0, 9.0]}, index=pd.Index(["x", "y", "x"], name="seg"))
    out = kpikit.nps(df, score="score", by="seg").set_index("seg")
    assert out.loc["x", "nps"] == 100.0 and out.loc["y", "nps"] == -100.0
    # A repeated name is ambiguous: named in the error rather than guessed.
    twice = pd.DataFrame([[10.0, 1.0], [0.0, 2.0]], columns=["score", "score"])
    with pytest.raises(kpikit.SchemaError, match=r"column names must be unique: 'score'"):
        kpikit.nps(twice, score="score")
    # A repeated name among the columns a call does not read is no ambiguity: one promoter and
    # one detractor of two answers, NPS 100 × (1 − 1) / 2 = 0.
    unread = pd.DataFrame([[10.0, 1.0, 2.0], [0.0, 2.0, 3.0]], columns=["score", "x", "x"])
    assert kpikit.nps(unread, score="score")["nps"].tolist() == [0.0]


def test_pandas_mixed_object_column_is_named() -> None:
    df = pd.DataFrame({"score": [10.0, 9.0], "seg": pd.Series([1, "a"], dtype=object)})
    with pytest.raises(kpikit.SchemaError, match='column "seg" cannot be converted'):
        kpikit.nps(df, score="score", by="seg")


def test_misaligned_arrow_buffers_are_copied_once_not_read_in_place() -> None:
    # arrow-rs reads a string column's offsets through the buffer pointer on import: a debug
    # build aborts on a misaligned one. Such tables (pyarrow or Arrow-backed pandas) are
    # copied to aligned memory first; aligned ones pass as they are.
    seg = _misaligned_array(pa.array(["a", "b", "a", None]))
    score = _misaligned_array(pa.array([10.0, 0.0, 9.0, 7.0]))
    assert seg.buffers()[1].address % 4 != 0
    t = pa.table({"score": score, "seg": seg})
    want = kpikit.nps(pa.table({"score": [10.0, 0.0, 9.0, 7.0], "seg": ["a", "b", "a", None]}), score="score", by="seg", output="pandas")
    for table in (t, pd.DataFrame({"score": pd.arrays.ArrowExtensionArray(score), "seg": pd.arrays.ArrowExtensionArray(seg)})):
        got = kpikit.nps(table, score="score", by="seg", output="pandas")
        pd.testing.assert_frame_equal(got, want)
    clean = pa.table({"score": pa.array([1.0, 2.0])})
    assert _kpikit.table_buffer_addresses(table_input(clean, ["score"]))["score"] == [clean.column(0).chunks[0].buffers()[1].address]


def test_a_named_series_is_its_one_column_table_in_pandas_and_polars() -> None:
    pd_out = kpikit.nps(pd.Series([9, 10, 3], name="score"), score="score")
    pl_out = kpikit.nps(pl.Series("score", [9, 10, 3]), score="score")
    assert isinstance(pd_out, pd.DataFrame) and isinstance(pl_out, pl.DataFrame)
    # 2 promoters, 1 detractor of 3: +33.3.
    assert pd_out["nps"].tolist() == pytest.approx([100 / 3]) and pl_out["nps"].to_list() == pytest.approx([100 / 3])
    with pytest.raises(kpikit.SchemaError, match="unnamed pandas Series"):
        kpikit.nps(pd.Series([9, 10]), score="score")
    with pytest.raises(kpikit.SchemaError, match="expected a table, got a pyarrow"):
        kpikit.nps(pa.array([9, 10]), score="score")


def test_a_repeated_column_name_is_the_same_schema_error_from_pandas_and_pyarrow() -> None:
    arrays = [pa.array([9, 10]), pa.array([1, 2]), pa.array([3, 4])]
    t = pa.table(arrays, names=["score", "score", "x"])
    frame = pd.DataFrame({"a": [9, 10], "b": [1, 2], "x": [3, 4]}).set_axis(["score", "score", "x"], axis=1)
    for table in (t, frame):
        with pytest.raises(kpikit.SchemaError, match="'score' appears more than once"):
            kpikit.nps(table, score="score")
    # A repeated column the call does not read is no obstacle, as in pandas.
    u = pa.table(arrays, names=["score", "x", "x"])
    assert kpikit.nps(u, score="score", output="pandas")["responses"].tolist() == [2]


def test_a_nan_id_from_pyarrow_is_missing_as_from_pandas() -> None:
    # A NaN customer id was one more customer from pyarrow and missing from pandas.
    rows = {"customer": [1.0, float("nan"), 2.0], "month": pd.to_datetime(["2026-01-01"] * 3), "mrr": [10.0, 30.0, 20.0]}
    from_pandas = pd.DataFrame(rows)
    from_arrow = pa.table({**rows, "customer": pa.array(rows["customer"], from_pandas=False)})
    for t in (from_pandas, from_arrow):
        with pytest.raises(kpikit.InputError, match='"customer"'):
            kpikit.mrr_movements(t, customer="customer", period="month", mrr="mrr")
