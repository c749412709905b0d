"""The core runs without the GIL: Python threads keep running, and concurrent calls agree."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa

import kpikit
from kpikit import _kpikit


def _responses(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "score": rng.integers(0, 11, n),
            "seg": rng.choice(["a", "b", "c"], n),
            "t": pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365 * 86400, n), unit="s"),
        }
    )


def test_a_python_thread_keeps_running_during_a_call() -> None:
    # The raw core call on an Arrow table, so that no pandas conversion (which may release the
    # GIL itself) is inside the measured call: only the Rust kernel.
    table = pa.table(_responses(2_000_000))
    _kpikit.nps(table, "score", time="t", by=["seg"])  # warm up
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    worker = threading.Thread(target=count)
    worker.start()
    time.sleep(0.05)
    before = ticks
    started = time.perf_counter()
    _kpikit.nps(table, "score", time="t", by=["seg"])
    elapsed = time.perf_counter() - started
    during = ticks - before
    stop.set()
    worker.join()
    # Had the kernel held the GIL, the counting thread could not run at all during the call.
    assert elapsed > 0
    assert during > 10_000, f"only {during} ticks in {elapsed:.3f} s"


def test_concurrent_calls_give_the_serial_results() -> None:
    frames = [_responses(20_000, seed) for seed in range(8)]
    serial = [kpikit.nps(f, score="score", time="t", by="seg") for f in frames]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda f: kpikit.nps(f, score="score", time="t", by="seg"), frames))
    for a, b in zip(serial, parallel, strict=True):
        pd.testing.assert_frame_equal(a, b)
