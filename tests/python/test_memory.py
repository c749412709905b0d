"""Repeated calls do not grow memory, and concurrent calls agree with serial ones."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import kpikit

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    # /proc/self/statm: size resident shared ... in pages.
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def snapshots(n_customers: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2024-01-01", periods=12, freq="MS").to_numpy()
    customer = np.repeat(np.arange(n_customers), 12)
    month = np.tile(months, n_customers)
    mrr = np.round(rng.choice([0.0, 50.0, 100.0, 250.0], customer.size), 2)
    return pa.table({"customer": customer, "month": month, "mrr": mrr, "plan": rng.choice(["a", "b"], customer.size)})


def events(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    t = np.datetime64("2025-01-01T00:00:00", "us") + rng.integers(0, 180 * 86_400, n).astype("timedelta64[s]")
    return pa.table(
        {
            "user": rng.integers(0, n // 10, n),
            "time": t,
            "event": rng.choice(["signup", "view", "upgrade"], n),
        }
    )


def deals(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    created = np.datetime64("2025-01-01", "us") + rng.integers(0, 300, n).astype("timedelta64[D]")
    closed = created + rng.integers(1, 90, n).astype("timedelta64[D]")
    return pa.table(
        {
            "created": created,
            "closed": closed,
            "amount": rng.integers(100, 10_000, n).astype(float),
            "won": rng.random(n) < 0.3,
            "owner": rng.choice(["ana", "bo", "cy"], n),
        }
    )


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("mrr_movements", lambda: kpikit.mrr_movements(SNAPS, customer="customer", period="month", mrr="mrr", by="plan")),
        ("retention", lambda: kpikit.retention(EVENTS, user="user", time="time", freq="week")),
    ],
)
def test_rss_does_not_grow_over_100_calls(name: str, call: Callable[[], Any]) -> None:
    for _ in range(5):  # warm-up: allocator pools, rayon threads, lazily imported modules
        call()
    gc.collect()
    before = rss_bytes()
    for _ in range(100):
        call()
    gc.collect()
    grown = rss_bytes() - before
    # A leak of one input copy per call would be ~100 x several MB; allow allocator noise.
    assert grown < 20 * 2**20, f"{name}: RSS grew by {grown / 2**20:.1f} MB over 100 calls"


SNAPS = snapshots(2_000)  # 24 000 rows
EVENTS = events(30_000)


CONCURRENT: dict[str, Callable[[int], Any]] = {
    "mrr_movements": lambda s: kpikit.mrr_movements(
        snapshots(300, s), customer="customer", period="month", mrr="mrr", by="plan", output="pandas"
    ),
    "revenue_cohorts": lambda s: kpikit.revenue_cohorts(
        snapshots(300, s), customer="customer", period="month", mrr="mrr", output="pandas"
    ),
    "retention": lambda s: kpikit.retention(events(5_000, s), user="user", time="time", freq="week", output="pandas"),
    "funnel": lambda s: kpikit.funnel(
        events(5_000, s), user="user", time="time", steps=["signup", "view", "upgrade"], output="pandas"
    ),
    "active_users": lambda s: kpikit.active_users(events(5_000, s), user="user", time="time", windows={"dau": 1, "wau": 7}, output="pandas"),
    "deal_metrics": lambda s: kpikit.deal_metrics(
        deals(2_000, s), created="created", closed="closed", amount="amount", won="won", by="owner", freq="month",
        output="pandas",
    ),
}


@pytest.mark.parametrize("name", list(CONCURRENT))
def test_many_threads_give_the_serial_results(name: str) -> None:
    call = CONCURRENT[name]
    seeds = list(range(8)) * 2  # each input twice, on different threads at the same time
    serial = {s: call(s) for s in set(seeds)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(call, seeds))
    for s, got in zip(seeds, parallel, strict=True):
        pd.testing.assert_frame_equal(got, serial[s])
    # Different inputs give different results, so the comparison above can fail.
    assert not serial[0].equals(serial[1])
