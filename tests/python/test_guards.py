"""Parameters and values at their limits: a kpikit error naming the parameter or column, never a
panic, an interpreter abort, a foreign exception or a saturated number.

Every size-like parameter has a documented bound; beyond it (negative, zero where a count is
needed, huge, or an int no machine type holds) the call raises ``ParameterError`` naming the
parameter. Values that would make a sum infinite or a monthly amount saturate raise
``InputError`` naming the column and rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import kpikit
from kpikit import _kpikit
from kpikit.exceptions import InputError, ParameterError

HUGE = [2**31, 2**40, 2**62, 2**63, 2**64, 2**70, 2**200]


def assert_no_panic(capfd: pytest.CaptureFixture[str]) -> None:
    """A caught panic still prints "thread ... panicked" on stderr: there must be none."""
    err = capfd.readouterr().err
    assert "panicked" not in err, err


# --- survey scales -------------------------------------------------------------------------------


def _answers() -> pd.DataFrame:
    return pd.DataFrame({"score": [1, 2, 4, 5, 5]})


@pytest.mark.parametrize(
    "scale",
    [
        (-(2**63), 2**63 - 1),  # was: index out of bounds (hi - lo wrapped)
        (-(2**63), 0),  # was: capacity overflow
        (0, 2**63 - 1),
        (-(2**70), 2**70),
        (5, 1),
        (3, 3),
        (0, 101),  # wider than 100
        (1_000_000, 1_000_001 + 1),  # beyond the ends' bound
    ],
)
def test_csat_scale_out_of_bounds_is_a_parameter_error(scale: tuple[int, int], capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ParameterError, match='"score_range"'):
        kpikit.csat(_answers(), score="score", score_range=scale, threshold=scale[0])
    assert_no_panic(capfd)


def test_csat_at_the_scale_bounds_is_exact() -> None:
    # The widest scale at the lowest end: scores −1,000,000 … −999,900, threshold −999,901.
    lo = -1_000_000
    df = pd.DataFrame({"score": [lo, lo + 99, lo + 100, lo + 100]})
    out = kpikit.csat(df, score="score", score_range=(lo, lo + 100), threshold=lo + 99)
    assert out.responses.tolist() == [4]
    assert out.satisfied.tolist() == [3]
    assert out.mean_score.tolist() == [(4 * lo + 299) / 4]


@pytest.mark.parametrize("threshold", [2**63, 2**70, -(2**70), 0, 6])
def test_csat_threshold_off_the_scale_is_a_parameter_error(threshold: int) -> None:
    with pytest.raises(ParameterError, match='"threshold"'):
        kpikit.csat(_answers(), score="score", score_range=(1, 5), threshold=threshold)


# --- funnel histogram and exclusions -------------------------------------------------------------


def _leads() -> pd.DataFrame:
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    return pd.DataFrame(
        {
            "a": [t0, t0, t0],
            "b": [t0 + pd.Timedelta(days=1), t0 + pd.Timedelta(days=3), pd.NaT],
        }
    )


@pytest.mark.parametrize("bins", [*HUGE, 10_001])
def test_funnel_histogram_beyond_its_bound_is_a_parameter_error(bins: int, capfd: pytest.CaptureFixture[str]) -> None:
    # 2**40 bins used to abort the interpreter on an 8 TB allocation; 2**62 to panic.
    with pytest.raises(ParameterError, match='"histogram"'):
        kpikit.funnel_from_stages(_leads(), stages=["a", "b"], histogram=bins)
    assert_no_panic(capfd)


def test_funnel_histogram_at_its_bound_works() -> None:
    out = kpikit.funnel_from_stages(_leads(), stages=["a", "b"], histogram=10_000)
    counts = list(out.histogram_count.iloc[1])  # step 2: times from a to b
    assert len(counts) == 10_000
    assert int(np.sum(counts)) == 2  # the two converted leads, 1 and 3 days
    assert counts[0] == 1 and counts[-1] == 1


@pytest.mark.parametrize("bad", [(-1, 1), (0, 2**70), (0, 32)])
def test_funnel_exclusion_steps_out_of_range_are_a_parameter_error(bad: tuple[int, int]) -> None:
    import pyarrow as pa

    log = pd.DataFrame({"user": [1, 1], "time": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True), "event": ["s", "u"]})
    table = pa.Table.from_pandas(log, preserve_index=False)
    with pytest.raises(ParameterError, match='"exclusions"'):
        _kpikit.funnel(table, user="user", time="time", event="event", steps=[["s"], ["u"]], exclusions=[("x", *bad)])


# --- activity and retention ----------------------------------------------------------------------


def _events(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user": [1, 2, 1, 2, 1, 3][:n],
            "time": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-09", "2026-01-10", "2026-01-20", "2026-01-21"][:n], utc=True),
            "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0][:n],
        }
    )


@pytest.mark.parametrize("days", [-1, 0, 3661, *HUGE])
def test_active_users_window_beyond_its_bound_is_a_parameter_error(days: int) -> None:
    with pytest.raises(ParameterError, match='"windows"'):
        kpikit.active_users(_events(), user="user", time="time", windows={"dau": days})


@pytest.mark.parametrize("min_events", [-1, 0, *(h for h in HUGE if h >= 2**32)])
def test_stickiness_min_events_beyond_its_bound_is_a_parameter_error(min_events: int) -> None:
    with pytest.raises(ParameterError, match='"min_events"'):
        kpikit.stickiness(_events(), user="user", time="time", min_events=min_events)


@pytest.mark.parametrize("size", [-1, 0, 36_601, *HUGE])
def test_retention_brackets_beyond_their_bound_are_a_parameter_error(size: int) -> None:
    with pytest.raises(ParameterError, match='"brackets"'):
        kpikit.retention(_events(), user="user", time="time", freq="day", brackets=[1, size])


def test_retention_brackets_at_their_bound_work() -> None:
    out = kpikit.retention(_events(), user="user", time="time", freq="day", brackets=[1, 36_600])
    assert len(out) > 0


@pytest.mark.parametrize("bad", [np.inf, -np.inf, 1e300, -1e15])
def test_retention_value_non_finite_or_huge_is_an_input_error_naming_column_and_rows(bad: float) -> None:
    # inf used to make the sums inf and the rates NaN or 0; 1e300 to overflow them.
    events = _events()
    events.loc[[2, 4], "value"] = bad
    with pytest.raises(InputError, match=r'column "value".*2 row\(s\), e\.g\. row 2: .*; row 4: '):
        kpikit.retention(events, user="user", time="time", freq="week", amount="value")


def test_retention_value_with_missing_and_large_finite_values_is_summed() -> None:
    events = _events()
    events.loc[0, "value"] = np.nan  # missing: adds nothing
    events.loc[1, "value"] = 9e13
    out = kpikit.retention(events, user="user", time="time", freq="week", amount="value")
    assert np.isfinite(out.filter(like="value").to_numpy(dtype=float)).all()


# --- revenue ---------------------------------------------------------------------------------------


def _subscriptions(interval: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": ["a", "b"],
            "started": pd.to_datetime(["2026-01-01", "2026-01-01"]),
            "amount": [100.0, 1_000_000.0],
            "interval": interval,
        }
    )


def test_fractional_interval_scales_the_monthly_amount() -> None:
    out = kpikit.mrr(_subscriptions([0.5, 12.0]), customer="customer", started="started", amount="amount", interval="interval")
    jan = out[out.period == pd.Timestamp("2026-01-01")].set_index("customer").mrr
    assert jan.to_dict() == {"a": 200.0, "b": pytest.approx(1_000_000 / 12, abs=0.005)}


def test_tiny_interval_is_the_same_input_error_in_mrr_and_mrr_movements() -> None:
    # 1e6 per 1e-12 months: 1e18 a month. kpikit.mrr used to saturate at i64::MAX cents
    # (9.22e16) where mrr_movements raised.
    subs = _subscriptions([1.0, 1e-12])
    kw = {"customer": "customer", "started": "started", "amount": "amount", "interval": "interval"}
    with pytest.raises(InputError) as a:
        kpikit.mrr(subs, **kw)
    with pytest.raises(InputError) as b:
        kpikit.mrr_movements(subs, **kw)
    assert str(a.value) == str(b.value)
    assert str(a.value).startswith('column "interval": amount / interval (the monthly amount) must be at most 90071992547409')
    assert "1 row(s), e.g. row 1:" in str(a.value)


@pytest.mark.parametrize("lag", [-1, 1_201, *HUGE])
def test_cac_lag_beyond_its_bound_is_a_parameter_error(lag: int) -> None:
    subs = pd.DataFrame({"customer": ["a"], "period": pd.to_datetime(["2026-01-01"]), "mrr": [10.0]})
    moves = kpikit.mrr_movements(subs, customer="customer", period="period", mrr="mrr")
    spend = pd.DataFrame({"month": pd.to_datetime(["2026-01-01"]), "amount": [5.0]})
    with pytest.raises(ParameterError, match='"cac_lag"'):
        kpikit.revenue_metrics(moves, spend=spend, cac_lag=lag)


# --- the core bindings' other size-like parameters --------------------------------------------------


@pytest.mark.parametrize(("name", "bad"), [("months", -1), ("months", 0), ("months", 1_201), ("months", 2**70), ("discount_rate", -1.0), ("discount_rate", float("nan")), ("discount_rate", float("inf"))])
def test_lifetime_value_parameters_beyond_their_bounds_are_a_parameter_error(name: str, bad: float) -> None:
    ones = np.ones(2)
    args: dict[str, Any] = {"months": 12, "discount_rate": 0.01, "freq": "day"}
    args[name] = bad
    with pytest.raises(ParameterError, match=f'"{name}"'):
        _kpikit.customer_lifetime_value("BetaGeo", [0.24, 4.41, 0.79, 2.43], ones, ones, ones, 2 * ones, **args)


@pytest.mark.parametrize(("name", "bad"), [("trailing", 0), ("trailing", 1_001), ("season", 2**64), ("min_trailing", -1), ("season", 0)])
def test_volume_check_parameters_beyond_their_bounds_are_a_parameter_error(name: str, bad: int) -> None:
    import pyarrow as pa

    table = pa.table({"t": pa.array(pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True))})
    with pytest.raises(ParameterError, match=f'"{name}"'):
        _kpikit.check(table, time=["t"], period="t", **{name: bad})


@pytest.mark.parametrize(("name", "bad"), [("pace_periods", 1), ("pace_periods", 10_001), ("pace_periods", 2**70), ("anomaly_periods", -1), ("anomaly_periods", 2**64)])
def test_kpi_lookbacks_beyond_their_bounds_are_a_parameter_error(name: str, bad: int) -> None:
    import pyarrow as pa

    history = pa.table({"period": pa.array(pd.to_datetime(["2026-01-01", "2026-02-01"])), "value": [1.0, 2.0]})
    with pytest.raises(ParameterError, match=f'"{name}"'):
        _kpikit.kpi_evaluate(history, period="period", value="value", target=3.0, **{name: bad})


@pytest.mark.parametrize("seed", [-1, 2**64, 2**70])
def test_demo_seed_beyond_u64_is_a_parameter_error(seed: int) -> None:
    with pytest.raises(ParameterError, match='"seed"'):
        _kpikit.demo_company(seed, 0.01)


@pytest.mark.parametrize(("start", "end"), [(-(2**62), None), (None, 2**62), (-800_000, 0)])
def test_stickiness_range_outside_the_calendar_is_a_parameter_error(start: int | None, end: int | None) -> None:
    import pyarrow as pa

    table = pa.table({"user": [1], "time": pa.array(pd.to_datetime(["2026-01-01"], utc=True))})
    with pytest.raises(ParameterError, match=r'"start"|"end"'):
        _kpikit.stickiness(table, user="user", time="time", start=start, end=end)


@pytest.mark.parametrize("periods", [1_201, 2**31])
def test_ltv_churn_periods_beyond_its_bound_is_a_parameter_error(periods: int) -> None:
    # Every row averages churn over that many earlier periods: 2**31 was an endless loop.
    subs = pd.DataFrame({"customer": ["a"], "period": pd.to_datetime(["2026-01-01"]), "mrr": [10.0]})
    moves = kpikit.mrr_movements(subs, customer="customer", period="period", mrr="mrr")
    with pytest.raises(ParameterError, match='"ltv_churn_periods"'):
        kpikit.revenue_metrics(moves, ltv_churn_periods=periods)


def test_funnel_window_of_any_length_marks_periods_incomplete(capfd: pytest.CaptureFixture[str]) -> None:
    # The longest window (just under 9·10¹⁸ µs, 14,880,000 weeks) added to the end of a period
    # in 9999 used to overflow.
    t0 = pd.Timestamp("9999-06-01", tz="UTC")
    leads = pd.DataFrame({"a": [t0, t0], "b": [t0 + pd.Timedelta(days=1), pd.NaT]})
    out = kpikit.funnel_from_stages(leads, stages=["a", "b"], window="14880000w", freq="month")
    assert out.complete.tolist() == [False, False]
    assert_no_panic(capfd)
