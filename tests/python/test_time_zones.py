"""Period assignment in a time zone equals pandas', for every row order.

kpikit turns each zone-aware time into wall-clock time in ``tz`` and counts calendar periods on
that; the reference is pandas' ``tz_convert(zone)`` followed by ``to_period``. The zones are
chosen for their transitions: Asia/Tehran changes at 20:30 UTC, America/St_Johns at 03:31 or
02:31 UTC, Australia/Lord_Howe moves by half an hour, Europe/Berlin and America/Sao_Paulo change
on the hour (Sao_Paulo at local midnight, so a day is skipped or repeated), UTC never. Times are
drawn near the transitions of 2008–2022, often several within one UTC hour (the rows that a
per-hour offset cache mixed up), and fed in time order, reversed or shuffled; and near the
transitions of 2100–2259, where the zone database's rules go on without listed transitions.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import kpikit

ZONES = ["Asia/Tehran", "America/St_Johns", "Australia/Lord_Howe", "Europe/Berlin", "America/Sao_Paulo", "UTC"]
# kpikit's frequency and the pandas period alias with the same calendar periods ("W" is weeks
# ending Sunday, i.e. starting Monday: kpikit's default week).
FREQS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
START, END = pd.Timestamp("2008-01-01", tz="UTC"), pd.Timestamp("2023-01-01", tz="UTC")
HOUR_NS = 3_600 * 10**9


@cache
def transition_hours(zone: str, start: pd.Timestamp = START, end: pd.Timestamp = END) -> np.ndarray:
    """UTC hours (ns since 1970) at whose start the zone's offset differs from the next hour's:
    every offset change from `start` to `end` lies in one of these hours (or at its end)."""
    hours = pd.date_range(start, end, freq="h").as_unit("ns")
    offsets = (hours.tz_convert(zone).tz_localize(None) - hours.tz_localize(None)).asi8
    changed = np.flatnonzero(offsets[1:] != offsets[:-1])
    if start == START:  # every zone but UTC changed its clocks in 2008–2022
        assert len(changed) >= (0 if zone == "UTC" else 10), (zone, len(changed))
    return hours.asi8[changed]


@st.composite
def instants(draw: st.DrawFn, zone: str, start: pd.Timestamp = START, end: pd.Timestamp = END) -> list[int]:
    """Nanoseconds since 1970 (whole seconds): clusters of times in or around transition hours
    (within the hour, two hours or two days) and some anywhere in 2008–2022. Uniform draws from a drawn
    seed: hypothesis' own integers favour the ends of a range, not the minutes around a
    transition."""
    hours = transition_hours(zone, start, end)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out: list[int] = []
    for _ in range(draw(st.integers(1, 4))):
        if len(hours) and draw(st.booleans()):
            base = int(hours[draw(st.integers(0, len(hours) - 1))])
            reach = draw(st.sampled_from([0, 2, 48])) * 3_600  # 0: within the transition hour
            seconds = rng.integers(-reach, reach + 3_600, draw(st.integers(1, 12)))
            out += [base + int(s) * 10**9 for s in seconds]
        else:
            out.append(int(rng.integers(start.value // 10**9, end.value // 10**9)) * 10**9)
    return out


def in_some_order(data: st.DataObject, values: list) -> list:
    """The values in time order, reversed, or shuffled: a cache must not depend on the order."""
    how = data.draw(st.sampled_from(["sorted", "reversed", "shuffled"]))
    if how == "shuffled":
        return list(data.draw(st.permutations(values)))
    return sorted(values, reverse=how == "reversed")


def pandas_periods(ns: list[int], zone: str, alias: str) -> pd.Series:
    """Start date of each time's period, by pandas."""
    local = pd.to_datetime(pd.Series(ns), utc=True).dt.tz_convert(zone).dt.tz_localize(None)
    return local.dt.to_period(alias).dt.start_time


def counts_by_period(periods: pd.Series) -> dict[pd.Timestamp, int]:
    return {pd.Timestamp(k): int(v) for k, v in periods.value_counts().items()}


def kpikit_counts(ns: list[int], zone: str, freq: str) -> dict[pd.Timestamp, int]:
    """Responses per period from kpikit.nps: every row counts once in its period."""
    table = pd.DataFrame({"score": np.full(len(ns), 10), "t": pd.to_datetime(pd.Series(ns), utc=True)})
    out = kpikit.nps(table, score="score", time="t", freq=freq, tz=zone)
    out = out[out.responses > 0]
    return {pd.Timestamp(p): int(n) for p, n in zip(out.period, out.responses, strict=True)}


@pytest.mark.parametrize("freq", list(FREQS))
@pytest.mark.parametrize(
    ("zone", "times"),
    [
        # Asia/Tehran: 20:10 UTC is 23:40 on the 21st (+03:30), 20:40 UTC 01:10 on the 22nd (+04:30).
        ("Asia/Tehran", ["2021-03-21 20:10", "2021-03-21 20:40"]),
        # America/St_Johns: 03:20 UTC is 23:50 on the 13th (−03:30), 03:40 UTC 01:10 on the 14th.
        ("America/St_Johns", ["2010-03-14 03:20", "2010-03-14 03:40"]),
        # Australia/Lord_Howe: 15:20 UTC is 01:50 (+10:30), 15:40 UTC 02:40 (+11:00).
        ("Australia/Lord_Howe", ["2010-10-02 15:20", "2010-10-02 15:40"]),
    ],
)
def test_known_instants_land_in_their_periods_in_both_row_orders(zone: str, times: list[str], freq: str) -> None:
    ns = [pd.Timestamp(t, tz="UTC").value for t in times]
    want = counts_by_period(pandas_periods(ns, zone, FREQS[freq]))
    assert kpikit_counts(ns, zone, freq) == want
    assert kpikit_counts(ns[::-1], zone, freq) == want
    if freq == "day" and zone != "Australia/Lord_Howe":
        assert len(want) == 2  # the two instants are on different local days


@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), freq=st.sampled_from(list(FREQS)))
def test_period_assignment_equals_pandas(data: st.DataObject, zone: str, freq: str) -> None:
    ns = in_some_order(data, data.draw(instants(zone)))
    assert kpikit_counts(ns, zone, freq) == counts_by_period(pandas_periods(ns, zone, FREQS[freq]))


REFERENCE = pd.Timestamp("2005-06-01 00:00", tz="UTC").value  # no transition anywhere near


@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_minute_periods_of_rfm_equal_pandas(data: st.DataObject, zone: str) -> None:
    # One customer per drawn time, each with a first purchase at REFERENCE: the customer's
    # recency in minutes is the minute period of the drawn time minus REFERENCE's, on the
    # wall clock of the zone.
    ns = in_some_order(data, data.draw(instants(zone)))
    n = len(ns)
    log = pd.DataFrame(
        {
            "customer": np.r_[np.arange(n), np.arange(n)],
            "t": pd.to_datetime(pd.Series([REFERENCE] * n + ns), utc=True),
        }
    )
    # The reference rows first or last (drawn times stay in their order), or all shuffled.
    order = data.draw(st.sampled_from(["first", "last", "shuffled"]))
    rows = {"first": range(2 * n), "last": [*range(n, 2 * n), *range(n)]}.get(order) or data.draw(st.permutations(range(2 * n)))
    log = log.iloc[list(rows)].reset_index(drop=True)
    got = kpikit.rfm_summary(log, customer="customer", time="t", freq="minute", tz=zone).sort_values("customer")
    local = pd.to_datetime(pd.Series([REFERENCE, *ns]), utc=True).dt.tz_convert(zone).dt.tz_localize(None)
    minutes = local.dt.floor("min").astype("int64") // (60 * 10**9)
    want = (minutes.iloc[1:] - minutes.iloc[0]).to_numpy(dtype=float)
    assert got.recency.tolist() == want.tolist()


# After 2099 the zone database's rules go on (summer time every year); pandas follows them.
FAR_START, FAR_END = pd.Timestamp("2100-01-01", tz="UTC"), pd.Timestamp("2260-01-01", tz="UTC")


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Australia/Lord_Howe", "America/New_York", "America/Sao_Paulo", "Asia/Tehran", "Africa/Casablanca"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), freq=st.sampled_from(["day", "week"]))
def test_period_assignment_after_2099_equals_pandas(data: st.DataObject, zone: str, freq: str) -> None:
    ns = in_some_order(data, data.draw(instants(zone, FAR_START, FAR_END)))
    assert kpikit_counts(ns, zone, freq) == counts_by_period(pandas_periods(ns, zone, FREQS[freq]))


# The default zone (tz=None): a zone-aware time column is counted in its own zone, naive times
# in UTC (docs/conventions.md, "Calendar periods"). Each time below is 00:30 on the first of a
# month in Berlin (+01:00 in winter), i.e. 23:30 UTC on the last day of the month before: in
# UTC it would land one month early.
BERLIN_STARTS = ["2026-01-01 00:30", "2026-02-01 00:30", "2026-03-01 00:30"]
MONTHS = [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01"), pd.Timestamp("2026-03-01")]
LIBRARIES = ["pandas", "polars", "pyarrow"]


def berlin(times: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(times).tz_localize("Europe/Berlin"))


def as_library(frame: pd.DataFrame, library: str):
    if library == "polars":
        import polars as pl

        out = pl.from_pandas(frame)
        assert out.schema["time"].time_zone == "Europe/Berlin"
        return out
    if library == "pyarrow":
        import pyarrow as pa

        out = pa.Table.from_pandas(frame, preserve_index=False)
        assert out.schema.field("time").type.tz == "Europe/Berlin"
        return out
    return frame


def periods(result, column: str = "period") -> list[pd.Timestamp]:
    """The period labels of any library's result, as naive timestamps."""
    import pyarrow as pa

    if isinstance(result, pd.DataFrame):
        values = result[column].tolist()
    else:
        values = (result if isinstance(result, pa.Table) else result.to_arrow()).column(column).to_pylist()
    return [pd.Timestamp(v) for v in values]


def zone_of(result) -> str | None:
    """The zone a result says it was counted in (pandas attrs, Arrow schema metadata)."""
    import pyarrow as pa

    if isinstance(result, pd.DataFrame):
        return result.attrs.get("tz")
    if isinstance(result, pa.Table):
        raw = (result.schema.metadata or {}).get(b"kpikit.tz")
        return None if raw is None else raw.decode()
    return None  # polars has no table metadata


def snapshots() -> pd.DataFrame:
    return pd.DataFrame({"customer": ["a"] * 3, "time": berlin(BERLIN_STARTS), "mrr": [10.0, 20.0, 30.0]})


def responses() -> pd.DataFrame:
    return pd.DataFrame({"score": [10, 9, 0], "time": berlin(BERLIN_STARTS)})


def journey() -> pd.DataFrame:
    # User a signs up at the start of January (Berlin), user b at the start of March; each
    # buys two days later.
    times = ["2026-01-01 00:30", "2026-01-03 12:00", "2026-03-01 00:10", "2026-03-03 12:00"]
    return pd.DataFrame({"user": ["a", "a", "b", "b"], "time": berlin(times),
                         "event": ["signup", "buy", "signup", "buy"]})


CALLS = {
    # name: (data, call, period column, expected periods with tz=None)
    "mrr_movements": (snapshots, lambda t, **kw: kpikit.mrr_movements(t, customer="customer", period="time", mrr="mrr", **kw),
                      "period", MONTHS),
    "nps": (responses, lambda t, **kw: kpikit.nps(t, score="score", time="time", freq="month", **kw), "period", MONTHS),
    "active_users": (snapshots, lambda t, **kw: kpikit.active_users(t, user="customer", time="time", freq="month",
                                                                      windows={"dau": 1}, **kw), "period", MONTHS),
    "retention": (snapshots, lambda t, **kw: kpikit.retention(t, user="customer", time="time", freq="month", **kw),
                  "cohort", [MONTHS[0]] * 3),
    "funnel": (journey, lambda t, **kw: kpikit.funnel(t, user="user", time="time", steps=["signup", "buy"],
                                                      freq="month", **kw), "period", [m for m in MONTHS for _ in "12"]),
}


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("name", list(CALLS))
def test_zone_aware_times_are_counted_in_their_own_zone_by_default(name: str, library: str) -> None:
    data, call, column, want = CALLS[name]
    result = call(as_library(data(), library))
    assert periods(result, column) == want
    if library != "polars":
        assert zone_of(result) == "Europe/Berlin"


def test_the_hand_computed_figures_follow_the_periods() -> None:
    # Beyond the labels, each month's own rows are counted in it.
    moved = CALLS["mrr_movements"][1](snapshots())
    assert moved.ending_mrr.tolist() == [10.0, 20.0, 30.0]
    nps = CALLS["nps"][1](responses())
    assert (nps.promoters.tolist(), nps.detractors.tolist()) == ([1, 1, 0], [0, 0, 1])
    funnel = CALLS["funnel"][1](journey())
    # January: a signed up and bought; February: nobody entered; March: b.
    assert funnel[funnel.step == 2].entered.tolist() == [1, 0, 1]


@pytest.mark.parametrize("name", list(CALLS))
def test_an_explicit_tz_still_wins(name: str) -> None:
    data, call, column, want = CALLS[name]
    result = call(data(), tz="UTC")
    # In UTC every time is on the last day of the month before: every label moves back a month.
    shifted = [m - pd.DateOffset(months=1) for m in want]
    assert periods(result, column) == shifted
    assert zone_of(result) == "UTC"
    # Another zone converts too: at 00:30 Berlin it is already 08:30 in Tokyo, the same month.
    assert periods(call(data(), tz="Asia/Tokyo", output="arrow"), column) == want


@pytest.mark.parametrize("name", list(CALLS))
def test_naive_times_are_utc_by_default_and_wall_time_in_an_explicit_tz(name: str) -> None:
    data, call, column, want = CALLS[name]
    naive = data()
    naive["time"] = naive["time"].dt.tz_localize(None)  # the Berlin wall times, without a zone
    result = call(naive)
    assert periods(result, column) == want  # wall time: 00:30 on the 1st is in its month
    assert zone_of(result) == "UTC"
    assert zone_of(call(naive, tz="America/New_York")) == "America/New_York"
    assert periods(call(naive, tz="America/New_York"), column) == want


def test_the_dask_path_uses_the_columns_zone_too() -> None:
    dd = pytest.importorskip("dask.dataframe")
    for name in ("mrr_movements", "nps", "active_users", "retention", "funnel"):
        data, call, column, want = CALLS[name]
        result = call(dd.from_pandas(data(), npartitions=2))
        assert periods(result, column) == want, name
        assert zone_of(result) == "Europe/Berlin", name


def test_time_columns_in_different_zones_need_tz() -> None:
    leads = pd.DataFrame({
        "created": berlin(["2026-01-01 00:30"]),
        "converted": pd.Series(pd.to_datetime(["2026-01-05"]).tz_localize("America/New_York")),
    })
    with pytest.raises(kpikit.ParameterError, match=r'"tz".*"created" in Europe/Berlin.*"converted" in America/New_York'):
        kpikit.funnel_from_stages(leads, stages=["created", "converted"], freq="month")
    # tz= settles it; so do columns in one zone.
    out = kpikit.funnel_from_stages(leads, stages=["created", "converted"], freq="month", tz="Europe/Berlin")
    assert periods(out) == [MONTHS[0], MONTHS[0]] and out.attrs["tz"] == "Europe/Berlin"
    same = leads.assign(converted=leads.converted.dt.tz_convert("Europe/Berlin"))
    assert kpikit.funnel_from_stages(same, stages=["created", "converted"], freq="month").attrs["tz"] == "Europe/Berlin"


def test_every_function_with_tz_defaults_to_none() -> None:
    import inspect

    with_tz = [name for name in kpikit.__all__ if callable(f := getattr(kpikit, name))
               and "tz" in getattr(inspect.signature(f) if inspect.isfunction(f) else None, "parameters", {})]
    assert len(with_tz) >= 15, with_tz
    for name in with_tz:
        assert inspect.signature(getattr(kpikit, name)).parameters["tz"].default is None, name
