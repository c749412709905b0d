"""kpikit.dask on a real dask.distributed LocalCluster equals the single-machine result."""

from __future__ import annotations

from collections.abc import Iterator

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import kpikit
import kpikit.dask


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as c:
            yield c


def _answers(n: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "score": rng.integers(0, 11, n),
            "plan": rng.choice(["starter", "growth", "enterprise"], n),
            "t": pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 300 * 86400, n), unit="s"),
        }
    )


def test_nps_on_a_cluster_equals_one_machine(client: Client) -> None:
    df = _answers()
    expected = kpikit.nps(df, score="score", time="t", freq="month", by="plan")
    # Seven partitions, two of them empty (filtered away).
    ddf = dd.from_pandas(df, npartitions=5)
    ddf = dd.concat([ddf, ddf[ddf.score > 100], ddf[ddf.score < -1]])
    assert ddf.npartitions == 15
    got = kpikit.dask.nps(ddf, score="score", time="t", freq="month", by="plan")
    pd.testing.assert_frame_equal(got, expected)


def test_csat_on_a_cluster_equals_one_machine(client: Client) -> None:
    df = _answers().assign(score=lambda d: d.score % 5 + 1)
    expected = kpikit.csat(df, score="score", by="plan")
    got = kpikit.dask.csat(dd.from_pandas(df, npartitions=4), score="score", by="plan")
    pd.testing.assert_frame_equal(got, expected)


def test_errors_name_the_partition(client: Client) -> None:
    df = _answers(40)
    df.loc[25, "score"] = 12
    with pytest.raises(kpikit.InputError, match=r"partition 2: .*\"score\".*row 5: 12"):
        kpikit.dask.nps(dd.from_pandas(df, npartitions=4, sort=False), score="score")


def _events(n: int = 4_000) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "user": rng.integers(0, 300, n),
            "time": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 120 * 86400, n), unit="s"),
            "event": rng.choice(["signup", "login", "view"], n),
            "plan": rng.choice(["free", "pro"], n),
            "amount": rng.random(n).round(2),
        }
    )


def test_active_users_on_a_cluster_equals_one_machine(client: Client) -> None:
    df = _events()
    expected = kpikit.active_users(df, user="user", time="time", by="plan", events=["login", "view"])
    ddf = dd.from_pandas(df, npartitions=5)
    ddf = dd.concat([ddf, ddf[ddf.user < -1]])  # empty partitions too
    got = kpikit.dask.active_users(ddf, user="user", time="time", by="plan", events=["login", "view"])
    pd.testing.assert_frame_equal(got, expected)
    weekly = kpikit.dask.active_users(ddf, user="user", time="time", freq="week")
    pd.testing.assert_frame_equal(weekly, kpikit.active_users(df, user="user", time="time", freq="week"))


@pytest.mark.parametrize("preset", [None, "amplitude", "mixpanel"])
def test_retention_on_a_cluster_equals_one_machine(client: Client, preset: str | None) -> None:
    df = _events()
    kw = dict(user="user", time="time", start_event="signup", return_event=["login", "view"], period="week", value="amount", preset=preset)
    expected = kpikit.retention(df, **kw)
    ddf = dd.from_pandas(df, npartitions=4)
    ddf = dd.concat([ddf, ddf[ddf.user < -1]])
    pd.testing.assert_frame_equal(kpikit.dask.retention(ddf, **kw), expected, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(kpikit.dask.retention(ddf, curve=True, **kw), kpikit.retention(df, curve=True, **kw), check_exact=False, rtol=1e-12)
