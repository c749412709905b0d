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


def _leads(n: int = 4_000) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    t0 = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 200 * 86400, n), unit="s")
    gaps = [pd.to_timedelta(rng.exponential(d, n) * 86400, unit="s").round("s") for d in (2, 5, 20)]
    keep = [rng.random(n) < p for p in (0.3, 0.5, 0.4)]
    visited = t0
    signed = (visited + gaps[0]).where(keep[0])
    pql = (signed + gaps[1]).where(keep[1] & keep[0])
    customer = (pql + gaps[2]).where(keep[2] & keep[1] & keep[0])
    return pd.DataFrame(
        {
            "visited_at": visited,
            "signed_up_at": signed,
            "pql_at": pql,
            "customer_at": customer,
            "channel": rng.choice(["organic", "paid", "referral"], n),
        }
    )


def test_funnel_from_stages_on_a_cluster_equals_one_machine(client: Client) -> None:
    df = _leads()
    kw = dict(window="30d", by="channel", freq="month", histogram=True)
    expected = kpikit.funnel_from_stages(df, **kw)
    # Five partitions plus an empty one (filtered away): medians and p90 stay exact.
    ddf = dd.from_pandas(df, npartitions=5)
    ddf = dd.concat([ddf, ddf[ddf.channel == "none"]])
    got = kpikit.dask.funnel_from_stages(ddf, **kw)
    pd.testing.assert_frame_equal(got, expected)
    assert got.converted.sum() > 0


def test_funnel_from_stages_errors_name_the_partition(client: Client) -> None:
    df = _leads(40)
    df.loc[25, "signed_up_at"] = df.loc[25, "visited_at"] - pd.Timedelta("1h")
    with pytest.raises(kpikit.InputError, match=r"partition 2: .*row 5: signed_up_at before visited_at"):
        kpikit.dask.funnel_from_stages(dd.from_pandas(df, npartitions=4, sort=False))
