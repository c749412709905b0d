"""kpikit.rfm_summary of a Dask DataFrame, on a real dask.distributed LocalCluster, equals
kpikit.rfm_summary of the same rows in pandas."""

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
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _log(n: int = 5_000) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "customer": rng.choice([f"c{i}" for i in range(400)], n),
            "time": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 200 * 24, n), unit="h"),
            "amount": rng.gamma(2.0, 20.0, n).round(2),
        }
    )


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"amount": "amount"},
        {"amount": "amount", "observation_end": "2025-05-01", "include_first": True},
        {"freq": "week", "amount": "amount"},
        {"freq": "hour", "freq_multiplier": 24},
        {"freq": "week", "week_start": "sunday"},
        {"freq": "month", "amount": "amount", "tz": "Asia/Tokyo"},
    ],
)
def test_rfm_summary_on_a_cluster_equals_one_machine(client: Client, options: dict) -> None:
    df = _log()
    expected = kpikit.rfm_summary(df, customer="customer", time="time", **options)
    ddf = dd.from_pandas(df, npartitions=6)
    got = kpikit.rfm_summary(ddf, customer="customer", time="time", **options)
    assert isinstance(got, pd.DataFrame)  # Dask in, pandas out: the result is small
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True), check_exact=False, rtol=1e-12)


def test_rfm_summary_on_a_cluster_hand_example(client: Client) -> None:
    # a buys on days 0 (10 + 5), 3 (20) and 7 (40); b on day 2 (99); the log ends on day 7.
    # a: frequency 2, recency 7, T 7, monetary (20 + 40) / 2 = 30; b: 0, 0, T 5, 0.
    df = pd.DataFrame(
        {
            "customer": ["a", "a", "b", "a", "a"],
            "time": pd.to_datetime(
                ["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-03 00:00", "2024-01-04 00:00", "2024-01-08 00:00"]
            ),
            "amount": [10.0, 5.0, 99.0, 20.0, 40.0],
        }
    )
    # Each partition sees one customer's rows only after the shuffle; the latest day (7) is
    # in a's partition, yet b's T counts to it.
    got = kpikit.rfm_summary(dd.from_pandas(df, npartitions=3), customer="customer", time="time", amount="amount")
    assert got["customer"].tolist() == ["a", "b"]
    assert got["frequency"].tolist() == [2.0, 0.0]
    assert got["recency"].tolist() == [7.0, 0.0]
    assert got["T"].tolist() == [7.0, 5.0]
    assert got["monetary_value"].tolist() == [30.0, 0.0]


def test_unshuffled_partitions_are_refused(client: Client) -> None:
    # partitioned=True promises each customer's rows are in one partition; here a is split.
    df = pd.DataFrame(
        {"customer": ["a", "b", "a", "b"], "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-06"])}
    )
    ddf = dd.from_pandas(df, npartitions=2, sort=False)
    with pytest.raises(kpikit.InputError, match="one partition"):
        kpikit.rfm_summary(ddf, customer="customer", time="time", partitioned=True)


def test_the_dask_entry_point_is_the_single_machine_function() -> None:
    assert kpikit.dask.rfm_summary is kpikit.rfm_summary


def test_rfm_split_refuses_a_dask_dataframe() -> None:
    df = _log(50)
    with pytest.raises(kpikit.SchemaError, match="Dask"):
        kpikit.rfm_split(dd.from_pandas(df, npartitions=2), customer="customer", time="time", calibration_end="2025-03-01")


def test_invalid_skip_on_a_cluster_warns_with_every_partition_counted(client: Client) -> None:
    df = _log(300)
    dirty = df.copy()
    dirty.loc[[3, 150, 299], "amount"] = [float("nan"), float("inf"), float("nan")]
    dirty.loc[7, "time"] = pd.NaT
    expected = kpikit.rfm_summary(df.drop(index=[3, 7, 150, 299]), customer="customer", time="time", amount="amount")
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        got = kpikit.rfm_summary(dd.from_pandas(dirty, npartitions=4), customer="customer", time="time", amount="amount",
                                 invalid="skip")
    assert len(caught) == 1 and caught[0].message.count == 4
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True), check_exact=False, rtol=1e-12)
