"""Large inputs: more than 2^31 rows in total (a chunked column, read chunk by chunk without
concatenation), and string columns over 2 GiB (LargeUtf8, 64-bit offsets).

The inputs are built from shared buffers (the same chunk repeated; strings written into one
numpy block), so the tests need about 5 GB of memory and no data files. Expected values come
from numpy over one chunk, multiplied out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

import kpikit

CHUNK = 2**26  # 67,108,864 rows per chunk
CHUNKS = 33  # 2,214,592,512 rows in total


def test_more_than_2_pow_31_rows_in_a_chunked_column() -> None:
    scores = np.tile(np.arange(11, dtype=np.int8), CHUNK // 11 + 1)[:CHUNK]
    chunk = pa.array(scores)
    table = pa.table({"score": pa.chunked_array([chunk] * CHUNKS)})
    assert table.num_rows == CHUNK * CHUNKS > 2**31
    got = kpikit.nps(table, score="score", output="pandas").iloc[0]
    promoters = int((scores >= 9).sum()) * CHUNKS
    detractors = int((scores <= 6).sum()) * CHUNKS
    assert int(got["responses"]) == CHUNK * CHUNKS
    assert int(got["promoters"]) == promoters and int(got["detractors"]) == detractors
    assert int(got["passives"]) == CHUNK * CHUNKS - promoters - detractors
    assert got["nps"] == 100.0 * (promoters - detractors) / (CHUNK * CHUNKS)


def _long_strings(n: int, width: int, distinct: int) -> pa.Array:
    """n strings of ``width`` bytes ('x' padding after an 8-digit id = row mod distinct) as one
    LargeUtf8 array over a single buffer."""
    ids = np.arange(n) % distinct
    data = np.full((n, width), ord("x"), dtype=np.uint8)
    data[:, :8] = (ids[:, None] // 10 ** np.arange(7, -1, -1)) % 10 + ord("0")
    offsets = np.arange(n + 1, dtype=np.int64) * width
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data.reshape(-1))])


def test_string_columns_over_2_gib_as_segments_and_as_user_ids() -> None:
    n, width = 1_100_000, 2_000
    users = _long_strings(n, width, distinct=n)
    assert users.type == pa.large_string() and users.buffers()[2].size == n * width > 2**31
    times = pa.array(pd.Timestamp("2026-01-01", tz="UTC").value // 1000 + (np.arange(n) % 60) * 86_400_000_000,
                     type=pa.timestamp("us", tz="UTC"))
    # Users as 2 KB strings give the same active users as integer ids.
    by_string = kpikit.active_users(pa.table({"user": users, "time": times}), user="user", time="time", output="pandas")
    by_int = kpikit.active_users(pa.table({"user": pa.array(np.arange(n)), "time": times}), user="user", time="time", output="pandas")
    pd.testing.assert_frame_equal(by_string, by_int)
    assert by_string["dau"].iloc[0] == len(range(0, n, 60))  # rows 0, 60, 120, … fall on day 0

    # The same 2.2 GB column as a segment with three values.
    segments = _long_strings(n, width, distinct=3)
    scores = pa.array(np.arange(n) % 11, type=pa.int8())
    got = kpikit.nps(pa.table({"segment": segments, "score": scores}), score="score", by="segment", output="pandas")
    assert got["responses"].tolist() == [len(range(k, n, 3)) for k in range(3)]
    assert [s[:8] for s in got["segment"]] == ["00000000", "00000001", "00000002"]
    assert all(len(s) == width for s in got["segment"])
    expected = []
    for k in range(3):
        s = np.arange(k, n, 3) % 11
        expected.append(100.0 * ((s >= 9).sum() - (s <= 6).sum()) / len(s))
    np.testing.assert_allclose(got["nps"].to_numpy(), expected, rtol=0, atol=1e-9)
