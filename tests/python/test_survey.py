"""NPS and CSAT: published examples, every input library, a pandas reference, errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import kpikit
from kpikit import _kpikit


def _scores(counts: dict[int, int]) -> list[int]:
    return [s for s, n in counts.items() for _ in range(n)]


def test_published_nps_example() -> None:
    # 30 % promoters, 50 % passives, 20 % detractors: NPS = 30 − 20 = +10.
    df = pd.DataFrame({"score": _scores({10: 15, 9: 15, 8: 25, 7: 25, 6: 10, 0: 10})})
    out = kpikit.nps(df, score="score")
    row = out.iloc[0]
    assert (row.responses, row.promoters, row.passives, row.detractors) == (100, 30, 50, 20)
    assert row.nps == pytest.approx(10.0)
    # Adjusted Wald (Rocks 2016): n' = 103, p' = 30.75/103, d' = 20.75/103.
    p, d = 30.75 / 103, 20.75 / 103
    se = math.sqrt((p + d - (p - d) ** 2) / 103)
    assert row.nps_ci_low == pytest.approx(100 * (p - d - 1.959963984540054 * se))
    assert row.nps_ci_high == pytest.approx(100 * (p - d + 1.959963984540054 * se))


def test_published_csat_example() -> None:
    # 50 responses: 10×5, 20×4, 10×3, 5×2, 5×1 → 30 satisfied of 50 = 60 %.
    df = pd.DataFrame({"score": _scores({5: 10, 4: 20, 3: 10, 2: 5, 1: 5})})
    row = kpikit.csat(df, score="score").iloc[0]
    assert (row.responses, row.satisfied) == (50, 30)
    assert row.csat == pytest.approx(0.6)
    assert row.mean_score == pytest.approx(175 / 50)
    # Wilson 95 % for 30/50.
    assert row.csat_ci_low == pytest.approx(0.461814, abs=1e-6)
    assert row.csat_ci_high == pytest.approx(0.723916, abs=1e-6)


def test_csat_scale_and_threshold() -> None:
    df = pd.DataFrame({"score": [10, 9, 8, 1, 10]})
    # 1–10 scale: the default threshold is the top two boxes, 9–10 → 3 of 5.
    assert kpikit.csat(df, score="score", score_range=(1, 10)).csat.iloc[0] == pytest.approx(0.6)
    assert kpikit.csat(df, score="score", score_range=(1, 10), threshold=8).csat.iloc[0] == pytest.approx(0.8)
    with pytest.raises(kpikit.ParameterError, match="threshold"):
        kpikit.csat(df, score="score", score_range=(1, 10), threshold=11)
    with pytest.raises(kpikit.InputError, match="from 1 to 5"):
        kpikit.csat(df, score="score")


def _reference_nps(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Plain pandas NPS per group."""
    g = df.assign(
        promoter=df.score >= 9, detractor=df.score <= 6, passive=df.score.between(7, 8)
    ).groupby(keys, dropna=False, observed=True)
    ref = pd.DataFrame(
        {
            "responses": g.size(),
            "promoters": g.promoter.sum(),
            "passives": g.passive.sum(),
            "detractors": g.detractor.sum(),
        }
    )
    ref["nps"] = 100 * (ref.promoters - ref.detractors) / ref.responses
    return ref.reset_index()


def test_every_input_library_gives_the_same_numbers(make_table: Any) -> None:
    data = {
        "score": [10, 9, 0, 7, 3, 10, 8, 6, 9, 1],
        "plan": ["pro", "free", "pro", "pro", "free", None, "pro", "free", "pro", None],
        "t": [pd.Timestamp("2026-01-05", tz="UTC") + pd.Timedelta(days=17 * i) for i in range(10)],
    }
    out = kpikit.nps(make_table(data), score="score", time="t", freq="month", by="plan", output="pandas")
    expected = kpikit.nps(pd.DataFrame(data), score="score", time="t", freq="month", by="plan")
    pd.testing.assert_frame_equal(out.reset_index(drop=True), expected)
    # 2026-01 … 2026-06: six months for each of three plans (free, pro, missing), gaps included.
    assert len(out) == 18
    assert out.period.nunique() == 6
    pro = out[out.plan == "pro"]
    assert pro.responses.sum() == 5
    assert pro.nps[pro.responses == 0].isna().all()


@pytest.mark.parametrize("output", ["pandas", "polars", "arrow"])
def test_output_kinds(output: str) -> None:
    df = pd.DataFrame({"score": [10, 0, 8], "seg": ["a", "a", "b"]})
    out = kpikit.nps(df, score="score", by="seg", output=output)
    kind = {"pandas": pd.DataFrame, "polars": pl.DataFrame, "arrow": pa.Table}[output]
    assert isinstance(out, kind)
    as_pd = out if output == "pandas" else out.to_pandas()
    assert as_pd.nps.tolist() == [0.0, 0.0]
    assert as_pd.responses.tolist() == [2, 1]


def test_periods_weeks_time_zones_and_gaps() -> None:
    times = pd.to_datetime(
        ["2026-03-01 23:30", "2026-03-02 08:00", "2026-03-20 12:00"]
    ).tz_localize("UTC")
    df = pd.DataFrame({"score": [10, 0, 9], "t": times})
    weekly = kpikit.nps(df, score="score", time="t", freq="week")
    # Sunday 1 March belongs to the week of Monday 23 February; weeks of 2, 9 and 16 March follow.
    assert weekly.period.dt.strftime("%Y-%m-%d").tolist() == [
        "2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16"
    ]
    assert weekly.responses.tolist() == [1, 1, 0, 1]
    # In Tokyo (UTC+9) the first answer is already Monday 2 March.
    tokyo = kpikit.nps(df, score="score", time="t", freq="week", tz="Asia/Tokyo")
    assert tokyo.responses.tolist() == [2, 0, 1]
    sunday_weeks = kpikit.nps(df, score="score", time="t", freq="week", week_start="sunday")
    assert sunday_weeks.period.dt.strftime("%Y-%m-%d").tolist()[0] == "2026-03-01"
    # Naive timestamps are wall time in tz: no shift.
    naive = df.assign(t=times.tz_localize(None))
    assert kpikit.nps(naive, score="score", time="t", freq="week", tz="Asia/Tokyo").responses.tolist() == [1, 1, 0, 1]


def test_dates_and_timestamp_units_agree() -> None:
    days = pd.to_datetime(["2025-12-31", "2026-01-01", "2026-02-15"])
    scores = [9, 6, 10]
    expected = kpikit.nps(pd.DataFrame({"s": scores, "t": days}), score="s", time="t", freq="quarter")
    for t in (
        pa.array(days.date, pa.date32()),
        pa.array(days.date, pa.date64()),
        pa.array(days, pa.timestamp("s")),
        pa.array(days, pa.timestamp("ms", tz="UTC")),
    ):
        out = kpikit.nps(pa.table({"s": scores, "t": t}), score="s", time="t", freq="quarter", output="pandas")
        pd.testing.assert_frame_equal(out, expected)
    assert expected.responses.tolist() == [1, 2]


def test_invalid_rows_raise_naming_column_rule_and_rows() -> None:
    df = pd.DataFrame({"score": [9, 7.5, None, 11, 3, -1, 2, 12]})
    with pytest.raises(kpikit.InputError) as err:
        kpikit.nps(df, score="score")
    msg = str(err.value)
    assert '"score"' in msg and "whole numbers from 0 to 10" in msg
    assert "5 row(s)" in msg and "row 1: 7.5" in msg and "row 2: missing" in msg and "row 7: 12" in msg
    assert isinstance(err.value, ValueError)


def test_invalid_rows_skipped_and_counted() -> None:
    t = pd.to_datetime(["2026-01-01", "2026-01-02", None, "2026-02-01"]).tz_localize("UTC")
    df = pd.DataFrame({"score": [9, 7.5, 10, 3], "t": t})
    with pytest.raises(kpikit.InputError, match='"t": times must not be missing'):
        kpikit.nps(df.assign(score=[9, 8, 10, 3]), score="score", time="t")
    with pytest.warns(kpikit.SkippedRowsWarning, match="nps: 2 rows skipped") as caught:
        out = kpikit.nps(df, score="score", time="t", invalid="skip")
    assert out.responses.tolist() == [1, 1]
    # One score of 7.5 and one row without a time, in one count.
    assert caught[0].message.count == 2 and "skipped" not in out.columns
    assert out.nps.tolist() == [100.0, -100.0]


def test_schema_and_parameter_errors() -> None:
    df = pd.DataFrame({"score": ["ten", "nine"], "t": ["x", "y"]})
    with pytest.raises(kpikit.SchemaError, match='"score" must be numeric') as err:
        kpikit.nps(df, score="score")
    assert isinstance(err.value, TypeError)
    with pytest.raises(kpikit.SchemaError, match='column "rating" not found'):
        kpikit.nps(df, score="rating")
    ok = pd.DataFrame({"score": [9], "t": ["2026-01-01"]})
    with pytest.raises(kpikit.SchemaError, match='"t" must be a timestamp or date'):
        kpikit.nps(ok, score="score", time="t")
    with pytest.raises(kpikit.ParameterError, match='"freq"'):
        kpikit.nps(ok, score="score", freq="month")
    ok = ok.assign(t=pd.to_datetime(ok.t))
    with pytest.raises(kpikit.ParameterError, match="fortnight"):
        kpikit.nps(ok, score="score", time="t", freq="fortnight")
    with pytest.raises(kpikit.ParameterError, match="time zone"):
        kpikit.nps(ok, score="score", time="t", tz="Mars/Olympus")
    with pytest.raises(kpikit.ParameterError, match="output"):
        kpikit.nps(ok, score="score", output="excel")
    with pytest.raises(ValueError, match="invalid"):
        kpikit.nps(ok, score="score", invalid="ignore")


def test_empty_table_and_all_missing_segment() -> None:
    empty = pd.DataFrame({"score": pd.Series([], dtype="int64")})
    out = kpikit.nps(empty, score="score")
    assert out.responses.tolist() == [0] and out.nps.isna().all()
    with_time = pd.DataFrame({"score": pd.Series([], dtype="int64"), "t": pd.Series([], dtype="datetime64[ns, UTC]")})
    assert len(kpikit.nps(with_time, score="score", time="t")) == 0


def test_input_is_not_mutated() -> None:
    df = pd.DataFrame({"score": [9.0, np.nan, 3.0], "seg": ["a", "b", "a"]})
    before = df.copy()
    with pytest.warns(kpikit.SkippedRowsWarning):
        kpikit.nps(df, score="score", by="seg", invalid="skip")
    pd.testing.assert_frame_equal(df, before)


def test_partitions_merge_exactly() -> None:
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"score": rng.integers(0, 11, 500), "seg": rng.choice(["x", "y", "z"], 500)})
    whole = _kpikit.finish(_kpikit.nps(df, "score", by=["seg"]))
    parts = [_kpikit.nps(df.iloc[a:b], "score", by=["seg"]) for a, b in [(0, 0), (0, 123), (123, 400), (400, 500)]]
    merged = _kpikit.finish(_kpikit.merge(parts))
    assert pa.table(whole).equals(pa.table(merged))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10), st.sampled_from(["a", "b", "c", None]), st.integers(0, 3)),
        min_size=0,
        max_size=60,
    )
)
def test_matches_pandas_reference(rows: list[tuple[int, str | None, int]]) -> None:
    df = pd.DataFrame(rows, columns=["score", "seg", "region"]).astype({"score": "int64", "region": "int64"})
    out = kpikit.nps(df, score="score", by=["seg", "region"])
    if df.empty:
        assert len(out) == 0
        return
    # Both sorted by (seg, region), missing segments last.
    ref = _reference_nps(df, ["seg", "region"])
    assert len(out) == len(ref)
    assert [None if pd.isna(v) else v for v in out.seg] == [None if pd.isna(v) else v for v in ref.seg]
    assert out.region.tolist() == ref.region.tolist()
    for c in ["responses", "promoters", "passives", "detractors"]:
        assert out[c].tolist() == ref[c].tolist()
    assert np.allclose(out.nps, ref.nps)
    # Adjusted-Wald bounds recomputed from the reference counts.
    n = ref.responses + 3
    p, d = (ref.promoters + 0.75) / n, (ref.detractors + 0.75) / n
    se = np.sqrt((p + d - (p - d) ** 2) / n)
    assert np.allclose(out.nps_ci_low, np.maximum(-100, 100 * (p - d - 1.959963984540054 * se)))
    assert np.allclose(out.nps_ci_high, np.minimum(100, 100 * (p - d + 1.959963984540054 * se)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 40)), min_size=1, max_size=60))
def test_csat_monthly_matches_pandas_reference(rows: list[tuple[int, int]]) -> None:
    df = pd.DataFrame(rows, columns=["score", "day"])
    df["t"] = pd.Timestamp("2026-01-20", tz="UTC") + pd.to_timedelta(df.day, unit="D")
    out = kpikit.csat(df, score="score", time="t", freq="month")
    month = df.t.dt.tz_localize(None).dt.to_period("M").dt.start_time
    g = df.assign(month=month, sat=df.score >= 4).groupby("month")
    full = pd.date_range(month.min(), month.max(), freq="MS")
    ref = pd.DataFrame({"responses": g.size(), "satisfied": g.sat.sum(), "mean": g.score.mean()}).reindex(full)
    assert out.period.tolist() == list(full)
    assert out.responses.tolist() == ref.responses.fillna(0).astype(int).tolist()
    assert np.allclose(out.csat, ref.satisfied / ref.responses, equal_nan=True)
    assert np.allclose(out.mean_score, ref["mean"], equal_nan=True)


@pytest.mark.parametrize("arrow_type", [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32()])
def test_integer_scores_give_the_numbers_and_bad_rows_of_float_scores(arrow_type: pa.DataType) -> None:
    # Integer columns are read as they are (no float copy): the same rule, rows and counts.
    scores = [9, None, 11, 3, 10, 7, 0, 12]
    ints = pa.table({"s": pa.array(scores, arrow_type)})
    with pytest.raises(kpikit.InputError) as err:
        kpikit.nps(ints, score="s")
    msg = str(err.value)
    assert "3 row(s)" in msg and "row 1: missing" in msg and "row 2: 11" in msg and "row 7: 12" in msg
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        out = kpikit.nps(ints, score="s", invalid="skip", output="pandas")
    floats = pa.table({"s": pa.array(scores, pa.float64())})
    with pytest.warns(kpikit.SkippedRowsWarning):
        pd.testing.assert_frame_equal(out, kpikit.nps(floats, score="s", invalid="skip", output="pandas"))
    # Kept: 9, 3, 10, 7, 0 -> promoters 9 and 10, passive 7, detractors 3 and 0: 100 × (2 − 2) / 5 = 0.
    counts = out[["responses", "promoters", "passives", "detractors"]].iloc[0].tolist()
    assert counts == [5, 2, 1, 2] and out.nps.iloc[0] == 0.0 and caught[0].message.count == 3
