"""kpikit.dask on a real dask.distributed LocalCluster equals the single-machine result."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
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


def _split_subscriptions() -> tuple[pd.DataFrame, dd.DataFrame]:
    """The demo company's snapshots, cut into partitions that split customers' rows (rows in
    the order of months, not customers), plus two empty partitions."""
    subs = kpikit.datasets.demo(seed=1, scale=0.3).subscriptions.sort_values("month", kind="stable").reset_index(drop=True)
    ddf = dd.from_pandas(subs, npartitions=5, sort=False)
    ddf = dd.concat([ddf, ddf[ddf.mrr < 0], ddf[ddf.mrr < -1]])
    return subs, ddf


def test_mrr_movements_on_a_cluster_equal_one_machine(client: Client) -> None:
    subs, ddf = _split_subscriptions()
    # Every partition of the input holds part of most customers' months.
    firsts = ddf.partitions[0].compute().customer_id
    assert firsts.isin(ddf.partitions[1].compute().customer_id).any()
    kw = dict(customer="customer_id", period="month", mrr="mrr", by="plan", preset="chartmogul")
    expected = kpikit.mrr_movements(subs, **kw)
    got = kpikit.mrr_movements(ddf, **kw)
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs["conventions"] == expected.attrs["conventions"]
    arrow = kpikit.mrr_movements(ddf, output="arrow", **kw)
    assert arrow.equals(pa.table(kpikit.mrr_movements(subs, output="arrow", **kw)))
    assert arrow.schema.metadata[b"kpikit.conventions"]


def test_revenue_metrics_and_cohorts_on_a_cluster_equal_one_machine(client: Client) -> None:
    subs, ddf = _split_subscriptions()
    spend = kpikit.datasets.demo(seed=1, scale=0.3).spend
    kw = dict(customer="customer_id", period="month", mrr="mrr")
    expected = kpikit.revenue_metrics(subs, spend=spend, cac_lag=1, gross_margin=0.8, preset="stripe", **kw)
    got = kpikit.revenue_metrics(ddf, spend=spend, cac_lag=1, gross_margin=0.8, preset="stripe", **kw)
    pd.testing.assert_frame_equal(got, expected)
    # A spend table on the cluster too.
    spread = kpikit.revenue_metrics(ddf, spend=dd.from_pandas(spend, npartitions=2), cac_lag=1, gross_margin=0.8, preset="stripe", **kw)
    pd.testing.assert_frame_equal(spread, expected)
    assert expected.cac.notna().any()
    pd.testing.assert_frame_equal(kpikit.revenue_cohorts(ddf, **kw), kpikit.revenue_cohorts(subs, **kw))


def test_unshuffled_partitions_are_wrong_and_shuffling_fixes_them(client: Client) -> None:
    # Why the shuffle matters: read as partitioned by customer when it is not, a customer whose
    # months sit in two partitions churns in one and is new in the other.
    subs, ddf = _split_subscriptions()
    kw = dict(customer="customer_id", period="month", mrr="mrr")
    truth = kpikit.mrr_movements(subs, **kw)
    wrong = kpikit.mrr_movements(ddf, partitioned=True, **kw)
    assert wrong.new_customers.sum() > truth.new_customers.sum()
    assert kpikit.mrr_movements(ddf, **kw).equals(truth)


def test_revenue_on_a_cluster_refuses_what_needs_one_table(client: Client) -> None:
    _, ddf = _split_subscriptions()
    kw = dict(customer="customer_id", period="month", mrr="mrr")
    with pytest.raises(kpikit.ParameterError, match='"detail"'):
        kpikit.mrr_movements(ddf, detail=True, **kw)
    with pytest.raises(kpikit.ParameterError, match="Dask"):
        kpikit.mrr(ddf, **kw)


# --- deal metrics ---------------------------------------------------------------------------


def _deals(n: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    created = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 400 * 86400, n), unit="s")
    is_open = rng.random(n) < 0.3
    closed = pd.Series(created + pd.to_timedelta(rng.integers(0, 150 * 86400, n), unit="s")).where(~is_open)
    return pd.DataFrame({
        "id": rng.permutation(n),
        "rep": rng.choice(["ana", "ben", "cy"], n),
        "created": created,
        "closed": closed,
        "amount": rng.random(n) * 10_000,  # fractional amounts: sums depend on order unless sorted
        "won": pd.Series(rng.random(n) < 0.4, dtype="boolean").where(~is_open),
    })


DEALS = dict(created="created", closed="closed", amount="amount", won="won")


def test_deal_metrics_on_a_cluster_equals_one_machine(client: Client) -> None:
    assert kpikit.dask.deal_metrics is kpikit.deal_metrics
    df = _deals()
    expected = kpikit.deal_metrics(df, rep="rep", **DEALS)
    ddf = dd.from_pandas(df, npartitions=5)
    ddf = dd.concat([ddf, ddf[ddf.amount < -1]])  # plus empty partitions
    got = kpikit.deal_metrics(ddf, rep="rep", **DEALS)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.deals_created.sum() == len(df)
    # With deal ids: shuffled by id, repeated ids are found across partitions.
    by_id = kpikit.deal_metrics(dd.from_pandas(df, npartitions=4), deal="id", rep="rep", cohort="created", **DEALS)
    pd.testing.assert_frame_equal(by_id, kpikit.deal_metrics(df, deal="id", rep="rep", cohort="created", **DEALS), check_exact=True)
    twice = dd.from_pandas(pd.concat([df.iloc[:10], df.iloc[:1]]), npartitions=3, sort=False)
    with pytest.raises(kpikit.InputError, match=r'partition \d+: .*"id": deal ids must be present and unique.*1 row\(s\)'):
        kpikit.deal_metrics(twice, deal="id", **DEALS)
    # Skipped rows of every partition add up to one warning; the unit applies as on one machine.
    bad = df.assign(amount=df.amount.where(df.index % 1000 != 7, -1.0))
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        skipped = kpikit.deal_metrics(dd.from_pandas(bad, npartitions=3), rep="rep", invalid="skip", unit="hours", **DEALS)
    assert [w.message.count for w in caught] == [3] and skipped.deals_created.sum() == len(df) - 3
    with pytest.warns(kpikit.SkippedRowsWarning):
        single = kpikit.deal_metrics(bad, rep="rep", invalid="skip", unit="hours", **DEALS)
    pd.testing.assert_frame_equal(skipped, single, check_exact=True)
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
    got = kpikit.funnel_from_stages(ddf, **kw)
    pd.testing.assert_frame_equal(got, expected)
    assert got.converted.sum() > 0


def test_funnel_from_stages_errors_name_the_partition(client: Client) -> None:
    df = _leads(40)
    df.loc[25, "signed_up_at"] = df.loc[25, "visited_at"] - pd.Timedelta("1h")
    with pytest.raises(kpikit.InputError, match=r"partition 2: .*row 5: signed_up_at before visited_at"):
        kpikit.funnel_from_stages(dd.from_pandas(df, npartitions=4, sort=False))


def test_funnel_skipped_rows_add_up_over_partitions(client: Client) -> None:
    # Two leads out of order, in different partitions; two events without a user, likewise.
    leads = _leads(40)
    for row in (5, 25):
        leads.loc[row, "signed_up_at"] = leads.loc[row, "visited_at"] - pd.Timedelta("1h")
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        expected = kpikit.funnel_from_stages(leads, invalid="skip")
    with pytest.warns(kpikit.SkippedRowsWarning) as caught_dask:
        got = kpikit.funnel_from_stages(dd.from_pandas(leads, npartitions=4, sort=False), invalid="skip")
    assert [w.message.count for w in caught] == [w.message.count for w in caught_dask] == [2]
    pd.testing.assert_frame_equal(got, expected)
    assert got.converted.iloc[0] == 38
    events = _events(400)
    events.loc[[10, 300], "user"] = None
    with pytest.warns(kpikit.SkippedRowsWarning) as caught_dask:
        got = kpikit.funnel(dd.from_pandas(events, npartitions=3), user="user", time="time", steps=["signup", "login"], invalid="skip")
    assert [w.message.count for w in caught_dask] == [2]
    with pytest.warns(kpikit.SkippedRowsWarning):
        expected = kpikit.funnel(events, user="user", time="time", steps=["signup", "login"], invalid="skip")
    pd.testing.assert_frame_equal(got, expected)


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
    got = kpikit.active_users(ddf, user="user", time="time", by="plan", events=["login", "view"])
    pd.testing.assert_frame_equal(got, expected)
    weekly = kpikit.active_users(ddf, user="user", time="time", freq="week")
    pd.testing.assert_frame_equal(weekly, kpikit.active_users(df, user="user", time="time", freq="week"))
    # Already split by user (each user's events in one partition): no shuffle, same counts.
    by_user = dd.concat([dd.from_pandas(df[df.user % 3 == i], npartitions=1) for i in range(3)])
    got = kpikit.active_users(by_user, user="user", time="time", by="plan", events=["login", "view"], partitioned=True)
    pd.testing.assert_frame_equal(got, expected)
    assert kpikit.dask.active_users is kpikit.active_users


@pytest.mark.parametrize("preset", [None, "amplitude", "mixpanel"])
def test_retention_on_a_cluster_equals_one_machine(client: Client, preset: str | None) -> None:
    df = _events()
    kw = dict(user="user", time="time", start_event="signup", return_event=["login", "view"], freq="week", amount="amount", preset=preset)
    expected = kpikit.retention(df, **kw)
    ddf = dd.from_pandas(df, npartitions=4)
    ddf = dd.concat([ddf, ddf[ddf.user < -1]])
    pd.testing.assert_frame_equal(kpikit.retention(ddf, **kw), expected, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(kpikit.retention(ddf, curve=True, **kw), kpikit.retention(df, curve=True, **kw), check_exact=False, rtol=1e-12)
    assert kpikit.dask.retention is kpikit.retention


@pytest.mark.parametrize(
    "kw",
    [
        dict(steps=["signup", "login", "view"], window="3d", freq="month", histogram=5),
        dict(steps=["signup", ["login", "view"]], order="strict", by="plan", attribution="last_touch", count="totals"),
        dict(steps=["signup", "login"], exclusions=[("view", 1, 2)], preset="mixpanel", order="any_after_first"),
        dict(steps=["login", "signup", "view"], order="unordered", window="2d", histogram=True),
    ],
)
def test_funnel_on_a_cluster_equals_one_machine(client: Client, kw: dict) -> None:
    # 300 users over 4,000 rows split by row into 4 partitions: almost every user's events are
    # in several partitions, so the result is right only if the shuffle by user happens.
    df = _events()
    args = dict(user="user", time="time", event="event", **kw)
    expected = kpikit.funnel(df, **args)
    last = expected[expected.step == expected.step.max()]
    assert last.converted.sum() > 0  # the comparison is about real conversions
    ddf = dd.from_pandas(df, npartitions=4)
    ddf = dd.concat([ddf, ddf[ddf.user < -1]])  # empty partitions too
    assert ddf.npartitions == 8
    got = kpikit.funnel(ddf, **args)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


def test_funnel_on_a_cluster_names_the_partition(client: Client) -> None:
    df = _events(40)
    df.loc[5, "user"] = None
    with pytest.raises(kpikit.InputError, match=r"partition \d+: .*\"user\""):
        kpikit.funnel(dd.from_pandas(df, npartitions=2), user="user", time="time", steps=["signup", "login"])


# --- partitions with misaligned and offset Arrow buffers --------------------------------------
# A partition unpickled on a worker can hold Arrow buffers at any address. arrow-rs reads a
# string column's offsets through the raw pointer while importing it, which aborts a debug
# build (the worker dies) when the offsets are not 4-byte aligned. Every entry point must
# realign its partitions first; these partitions are built on the workers themselves, one byte
# past an 8-byte boundary and sliced one row in, so nothing on the way can realign them.


def _misaligned_array(arr: pa.Array) -> pa.Array:
    """`arr` rebuilt on buffers starting at 1 mod 8, as a slice at offset 1 (the same values)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    padded = pa.concat_arrays([arr.slice(0, 1), arr]) if len(arr) else arr
    buffers = []
    for b in padded.buffers():
        if b is None:
            buffers.append(None)
            continue
        raw = bytearray(b.size + 16)
        start = (8 - np.frombuffer(raw, dtype=np.uint8).ctypes.data % 8) % 8 + 1
        raw[start : start + b.size] = b.to_pybytes()
        buffers.append(pa.py_buffer(raw).slice(start, b.size))
    out = pa.Array.from_buffers(padded.type, len(padded), buffers, null_count=padded.null_count, offset=padded.offset)
    return out.slice(1) if len(arr) else out


def _misaligned_part(part: pd.DataFrame) -> pd.DataFrame:
    """The partition with every column an Arrow-backed pandas column on misaligned buffers."""
    columns = {}
    for name in part.columns:
        arr = pa.array(part[name].reset_index(drop=True), from_pandas=True)
        if pa.types.is_dictionary(arr.type):  # categoricals as strings: Dask cannot shuffle Arrow dictionaries
            arr = arr.cast(arr.type.value_type)
        arr = _misaligned_array(arr)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            assert arr.buffers()[1].address % 4 != 0  # the case that aborted
        columns[name] = pd.arrays.ArrowExtensionArray(arr)
    return pd.DataFrame(columns)


def _misaligned_ddf(df: pd.DataFrame, npartitions: int) -> dd.DataFrame:
    cut = np.array_split(np.arange(len(df)), npartitions)
    return dd.from_map(_misaligned_part, [df.iloc[idx] for idx in cut], meta=_misaligned_part(df.iloc[:0]))


def _stringly_events() -> pd.DataFrame:
    # User ids as strings, so the shuffled column that reaches the kernels is a string column.
    return _events().assign(user=lambda d: "u" + d.user.astype(str))


def test_misaligned_partitions_helper_really_misaligns() -> None:
    arr = _misaligned_array(pa.array(["a", "bb", None, "dddd"]))
    assert arr.to_pylist() == ["a", "bb", None, "dddd"] and arr.offset == 1
    assert all(b.address % 8 == 1 for b in arr.buffers() if b is not None)


def _plain_subscriptions() -> pd.DataFrame:
    """The subscriptions with categorical segments as strings, as the misaligned partitions
    hold them (the single-machine result then has string segments too)."""
    subs = _split_subscriptions()[0]
    return subs.astype({c: str for c in subs.columns if isinstance(subs[c].dtype, pd.CategoricalDtype)})


def _plain_demo(name: str) -> pd.DataFrame:
    """A demo company table with categorical columns as strings, as the misaligned partitions
    hold them."""
    table = getattr(kpikit.datasets.demo(seed=3, scale=0.05), name)
    return table.astype({c: str for c in table.columns if isinstance(table[c].dtype, pd.CategoricalDtype)})


MISALIGNED_CASES = {
    "nps": (lambda: _answers(), lambda f, x, **kw: f.nps(x, score="score", time="t", freq="month", by="plan")),
    "csat": (lambda: _answers().assign(score=lambda d: d.score % 5 + 1), lambda f, x, **kw: f.csat(x, score="score", by="plan")),
    "mrr_movements": (
        lambda: _plain_subscriptions(),
        lambda f, x, **kw: f.mrr_movements(x, customer="customer_id", period="month", mrr="mrr", by="plan", **kw),
    ),
    "revenue_metrics": (
        lambda: _plain_subscriptions(),
        lambda f, x, **kw: f.revenue_metrics(x, customer="customer_id", period="month", mrr="mrr", by="region", **kw),
    ),
    "revenue_cohorts": (
        lambda: _plain_subscriptions(),
        lambda f, x, **kw: f.revenue_cohorts(x, customer="customer_id", period="month", mrr="mrr", **kw),
    ),
    # Without deal ids: no shuffle, the partitions reach the kernel as they were made.
    "deal_metrics": (lambda: _deals(), lambda f, x, **kw: f.deal_metrics(x, rep="rep", **DEALS)),
    "funnel_from_stages": (lambda: _leads(), lambda f, x, **kw: f.funnel_from_stages(x, by="channel", window="30d")),
    "lead_metrics": (
        lambda: _plain_demo("leads"),
        lambda f, x, **kw: f.lead_metrics(x, created="visited_at", qualified="pql_at", converted="customer_at", by="channel"),
    ),
    "support_metrics": (
        lambda: _plain_demo("tickets"),
        lambda f, x, **kw: f.support_metrics(x, opened="opened", resolved="resolved", first_response="first_response", by="priority"),
    ),
    "campaign_metrics": (
        lambda: _plain_demo("campaigns"),
        lambda f, x, **kw: f.campaign_metrics(x, sends="sent", deliveries="delivered", opens="opened", clicks="clicked",
                                              conversions="converted", cost="spend", revenue="revenue", by="campaign",
                                              time="sent_at", freq="month"),
    ),
    "onboarding_time": (
        lambda: _plain_demo("leads").dropna(subset=["signed_up_at"]),
        lambda f, x, **kw: f.onboarding_time(x, started="signed_up_at", first_value="pql_at", by="channel"),
    ),
    "active_users": (lambda: _stringly_events(), lambda f, x, **kw: f.active_users(x, user="user", time="time", by="plan", events=["login", "view"])),
    "retention": (
        lambda: _stringly_events(),
        lambda f, x, **kw: f.retention(x, user="user", time="time", start_event="signup", freq="week", amount="amount"),
    ),
    "funnel": (lambda: _stringly_events(), lambda f, x, **kw: f.funnel(x, user="user", time="time", event="event", steps=["signup", "login"], by="plan")),
    "rfm_summary": (
        lambda: _stringly_events().rename(columns={"user": "customer_id"}),
        lambda f, x, **kw: f.rfm_summary(x, customer="customer_id", time="time", amount="amount", **kw),
    ),
}
PARTITIONED = ["mrr_movements", "revenue_metrics", "revenue_cohorts", "rfm_summary"]  # take partitioned=True


def test_every_dask_function_has_a_misaligned_case() -> None:
    assert set(MISALIGNED_CASES) == set(kpikit.dask.__all__)


@pytest.mark.parametrize("name", sorted(MISALIGNED_CASES))
def test_misaligned_partitions_give_the_single_machine_result(client: Client, name: str) -> None:
    make, call = MISALIGNED_CASES[name]
    df = make()
    expected = call(kpikit, df)
    got = call(kpikit.dask, _misaligned_ddf(df, 4))
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("name", PARTITIONED)
def test_misaligned_partitions_split_by_customer(client: Client, name: str) -> None:
    # partitioned=True skips the shuffle (which would copy the rows to fresh memory), so the
    # kernel receives the misaligned partitions themselves.
    make, call = MISALIGNED_CASES[name]
    df = make().sort_values("customer_id", kind="stable").reset_index(drop=True)
    first_rows = np.flatnonzero(df.customer_id.ne(df.customer_id.shift()).to_numpy())
    cuts = [*first_rows[:: len(first_rows) // 4], len(df)]
    parts = [df.iloc[a:b] for a, b in itertools.pairwise(cuts)]
    assert len(parts) >= 4 and sum(map(len, parts)) == len(df)
    ddf = dd.from_map(_misaligned_part, parts, meta=_misaligned_part(df.iloc[:0]))
    pd.testing.assert_frame_equal(call(kpikit.dask, ddf, partitioned=True), call(kpikit, df), check_exact=False, rtol=1e-12)


def _with_unused_plan(df: pd.DataFrame, column: str = "plan") -> pd.DataFrame:
    """``column`` as a categorical with one more category ("legacy") that no row uses, first."""
    values = sorted(df[column].astype(str).unique())
    return df.assign(**{column: pd.Categorical(df[column].astype(str), categories=["legacy", *values])})


@pytest.mark.parametrize("name", ["nps", "deal_metrics", "funnel", "active_users", "mrr_movements"])
def test_an_unused_category_has_its_rows_on_a_cluster(client: Client, name: str) -> None:
    # Dask categoricals with known categories: every partition (the empty ones too, and after
    # the shuffle by user or customer) knows "legacy", which no row uses.
    calls = {
        "nps": (_answers(), lambda t: kpikit.nps(t, score="score", time="t", freq="month", by="plan")),
        "deal_metrics": (_deals().rename(columns={"rep": "plan"}), lambda t: kpikit.deal_metrics(t, created="created", closed="closed", won="won", amount="amount", by="plan")),
        "funnel": (_events(), lambda t: kpikit.funnel(t, user="user", time="time", steps=["signup", "login"], freq="month", by="plan")),
        "active_users": (_events(), lambda t: kpikit.active_users(t, user="user", time="time", by="plan")),
        "mrr_movements": (_split_subscriptions()[0], lambda t: kpikit.mrr_movements(t, customer="customer_id", period="month", mrr="mrr", by="plan")),
    }
    df, call = calls[name]
    df = _with_unused_plan(df)
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    ddf = dd.concat([ddf, ddf.map_partitions(lambda p: p.iloc[:0])])  # empty partitions too
    assert ddf.plan.cat.known
    expected = call(df)
    got = call(ddf)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    legacy = expected[expected.plan == "legacy"]
    assert expected.plan.tolist()[0] == "legacy" and len(legacy) > 0
    first = expected[expected.plan == expected.plan.cat.categories[1]]
    assert len(legacy) == len(first)
