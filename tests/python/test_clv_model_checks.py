"""The analyses after a fit (lifetimes' ``expected_cumulative_transactions``,
``calculate_alive_path`` and the data of ``plot_calibration_purchases_vs_holdout_purchases``),
the BG/BB lifetime value, and ``rfm_split`` without calibration transactions.

lifetimes is not a dependency: each reference follows lifetimes' documented algorithm (its
``utils`` and ``plotting`` docstrings), written here in plain pandas/numpy. Data: the CDNOW
sample shipped with lifetimes 0.11.3 (MIT licence, tests/data/lifetimes); BG/NBD parameters
of Fader, Hardie & Lee (2005) on CDNOW in weeks (r 0.243, α 4.414, a 0.793, b 2.426); BG/BB
parameters of Fader, Hardie & Shang (2010) on the donation data.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kpikit
from kpikit.clv import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ParetoNBD,
    alive_path,
    calibration_vs_holdout,
    customer_lifetime_value,
    expected_cumulative_transactions,
)
from kpikit.exceptions import InputError, ParameterError

DATA = Path(__file__).parent.parent / "data" / "lifetimes"
BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
BGBB = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


def _model(cls: type, params: dict[str, float]):  # type: ignore[no-untyped-def]
    m = cls()
    m.params_ = dict(params)
    return m


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None, names=["master_id", "id", "date", "cds", "dollars"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    return raw[["id", "date", "dollars"]]


# --- rfm_split without calibration transactions ---------------------------------------------


def test_rfm_split_without_calibration_transactions_raises_naming_them() -> None:
    # lifetimes' calibration_and_holdout_data raises on an empty calibration period.
    log = pd.DataFrame({"c": ["a", "b", "a"], "t": pd.to_datetime(["2024-01-05 00:00", "2024-01-04 10:30", "2024-01-09 00:00"])})
    with pytest.raises(InputError) as e:
        kpikit.rfm_split(log, customer="c", time="t", calibration_end="2024-01-03")
    msg = str(e.value)
    assert "calibration_end" in msg and "2024-01-04 10:30:00" in msg and '"t"' in msg, msg
    # The first transaction's time is a valid calibration end (times compare as given).
    out = kpikit.rfm_split(log, customer="c", time="t", calibration_end="2024-01-04 10:30")
    assert out["c"].tolist() == ["b"]


# --- BG/BB lifetime value ------------------------------------------------------------------


def _ln_b(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _bgbb_by_hand(x: int, tx: int, n: int, horizon: int, d: float) -> float:
    """Σ_s E[Y_{n+s}] / (1+d)^s from the paper's likelihood (eq. 5) and the posterior."""
    a, b, g, de = BGBB["alpha"], BGBB["beta"], BGBB["gamma"], BGBB["delta"]
    lik = math.exp(_ln_b(a + x, b + n - x) - _ln_b(a, b) + _ln_b(g, de + n) - _ln_b(g, de))
    for i in range(n - tx):
        lik += math.exp(_ln_b(a + x, b + tx - x + i) - _ln_b(a, b) + _ln_b(g + 1, de + tx + i) - _ln_b(g, de))
    total = 0.0
    for s in range(1, horizon + 1):
        e = math.exp(_ln_b(a + x + 1, b + n - x) - _ln_b(a, b) + _ln_b(g, de + n + s) - _ln_b(g, de)) / lik
        total += e / (1 + d) ** s
    return total


def test_bgbb_lifetime_value_by_hand_and_as_the_discounted_conditional_expectations() -> None:
    bgbb = _model(BetaGeoBetaBinom, BGBB)
    donors = pd.DataFrame({"frequency": [0, 4, 6, 1], "recency": [0, 6, 6, 2], "T": 6, "gift": [50.0, 50.0, 20.0, 10.0]})
    got = customer_lifetime_value(donors, transaction_model=bgbb, monetary_value="gift", opportunities=5, discount_rate=0.1)
    want = [
        g * _bgbb_by_hand(x, tx, 6, 5, 0.1)
        for x, tx, g in zip(donors["frequency"], donors["recency"], donors["gift"], strict=True)
    ]
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-10)
    # The same sum from the model's conditional expectations over 1..5 opportunities.
    e = [bgbb.conditional_expected_number_of_purchases_up_to_time(donors, t=s).to_numpy() for s in range(6)]
    brute = sum((e[s] - e[s - 1]) / 1.1**s for s in range(1, 6)) * donors["gift"].to_numpy()
    np.testing.assert_allclose(got.to_numpy(), brute, rtol=1e-10)
    # Every future opportunity: the limit of long sums (DERT), here at 10 % a year.
    dert = customer_lifetime_value(donors, transaction_model=bgbb, monetary_value="gift", discount_rate=0.1)
    long = [
        g * _bgbb_by_hand(x, tx, 6, 600, 0.1)
        for x, tx, g in zip(donors["frequency"], donors["recency"], donors["gift"], strict=True)
    ]
    np.testing.assert_allclose(dert.to_numpy(), long, rtol=1e-9)
    # A Gamma-Gamma spend works as for the other models.
    gg = _model(GammaGamma, {"p": 6.25, "q": 3.74, "v": 15.44})
    donors["monetary_value"] = donors["gift"]
    with_gg = customer_lifetime_value(donors, transaction_model=bgbb, spend_model=gg, opportunities=5, discount_rate=0.1)
    spend = gg.conditional_expected_average_profit(donors).to_numpy()
    np.testing.assert_allclose(with_gg.to_numpy(), spend * got.to_numpy() / donors["gift"].to_numpy(), rtol=1e-10)


def test_bgbb_lifetime_value_refuses_months_and_continuous_options() -> None:
    bgbb = _model(BetaGeoBetaBinom, BGBB)
    one = {"frequency": [4], "recency": [6], "T": [6], "gift": [50.0]}
    for kwargs in ({"months": 12}, {"freq": "week"}):
        with pytest.raises(ParameterError, match=next(iter(kwargs))):
            customer_lifetime_value(one, transaction_model=bgbb, monetary_value="gift", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="discount_rate"):
        customer_lifetime_value(one, transaction_model=bgbb, monetary_value="gift", discount_rate=0.0)
    with pytest.raises(ParameterError, match="opportunities"):
        customer_lifetime_value(one, transaction_model=bgbb, monetary_value="gift", opportunities=0)
    with pytest.raises(InputError, match="recency"):
        customer_lifetime_value(
            {"frequency": [2], "recency": [0], "T": [6], "gift": [1.0]}, transaction_model=bgbb, monetary_value="gift"
        )
    with pytest.raises(ParameterError, match="opportunities"):
        customer_lifetime_value(one, transaction_model=_model(BetaGeo, BG), monetary_value="gift", opportunities=5)


# --- expected cumulative transactions ----------------------------------------------------------


def _tracking_reference(log: pd.DataFrame, model: object, t: int, m: int) -> pd.DataFrame:
    """lifetimes' expected_cumulative_transactions, weekly (pandas 'W' periods), as its
    source describes it: periods from the first transaction's period; first purchase periods
    are births; predicted at each step the births times E[X(age)]."""
    periods = log["date"].dt.to_period("W")
    start = periods.min()
    rel = (periods - start).map(lambda d: d.n)
    pairs = pd.DataFrame({"id": log["id"], "p": rel}).drop_duplicates()
    pairs = pairs[pairs["p"] < t]
    first = pairs.groupby("id")["p"].transform("min")
    births = np.bincount(pairs.loc[pairs["p"] == first, "p"], minlength=t)
    repeats = np.bincount(pairs.loc[pairs["p"] != first, "p"], minlength=t)
    actual, predicted = [], []
    for k in range(t // m):
        end = (k + 1) * m
        actual.append(repeats[:end].sum())
        ages = (end - np.arange(end)) / m
        predicted.append(float((births[:end] * model.expected_number_of_purchases_up_to_time(ages)).sum()))  # type: ignore[attr-defined]
    return pd.DataFrame({"period": range(t // m), "actual": np.array(actual, dtype=float), "predicted": predicted})


@pytest.mark.parametrize("m", [1, 2])
def test_expected_cumulative_transactions_on_cdnow(cdnow: pd.DataFrame, m: int) -> None:
    for cls, params in ((BetaGeo, BG), (ParetoNBD, PARETO)):
        model = _model(cls, params)
        got = expected_cumulative_transactions(
            cdnow, model=model, customer="id", time="date", t=78, freq="week", freq_multiplier=m
        )
        want = _tracking_reference(cdnow, model, 78, m)
        assert got["period"].tolist() == want["period"].tolist()
        assert got["actual"].tolist() == want["actual"].tolist()
        np.testing.assert_allclose(got["predicted"], want["predicted"], rtol=1e-12)
    # CDNOW's 2,357 customers all arrive in weeks 0–12; through week 78 (the sample's last)
    # their repeat purchase weeks are the summary's frequencies, 4,004 in all.
    summary = kpikit.rfm_summary(cdnow, customer="id", time="date", freq="week")
    got = expected_cumulative_transactions(cdnow, model=_model(BetaGeo, BG), customer="id", time="date", t=79, freq="week")
    assert got["actual"].iloc[-1] == summary["frequency"].sum() == 4004


def test_incremental_transactions_are_the_differences(cdnow: pd.DataFrame) -> None:
    model = _model(BetaGeo, BG)
    kw = {"model": model, "customer": "id", "time": "date", "t": 30, "freq": "week"}
    cum = expected_cumulative_transactions(cdnow, **kw)  # type: ignore[arg-type]
    inc = expected_cumulative_transactions(cdnow, incremental=True, **kw)  # type: ignore[arg-type]
    for c in ("actual", "predicted"):
        np.testing.assert_allclose(inc[c].cumsum(), cum[c], rtol=1e-12)
        assert inc[c].iloc[0] == cum[c].iloc[0]


def test_expected_cumulative_transactions_of_a_bgbb() -> None:
    # Yearly opportunities: donor a gives in 2020, 2021, 2023; b in 2021, 2022. Births
    # n_0 = n_1 = 1, repeats in years 1, 2, 3: cumulative 0, 1, 2, 3.
    log = pd.DataFrame(
        {"donor": list("aabab"), "time": pd.to_datetime(["2020-03-01", "2021-05-01", "2021-06-01", "2023-01-01", "2022-01-01"])}
    )
    bgbb = _model(BetaGeoBetaBinom, BGBB)
    got = expected_cumulative_transactions(log, model=bgbb, customer="donor", time="time", t=4, freq="year")
    assert got["actual"].tolist() == [0.0, 1.0, 2.0, 3.0]
    e = bgbb.expected_number_of_purchases_up_to_time(np.arange(1, 5))
    np.testing.assert_allclose(got["predicted"], [e[0], e[1] + e[0], e[2] + e[1], e[3] + e[2]], rtol=1e-12)
    with pytest.raises(ParameterError, match="freq_multiplier"):
        expected_cumulative_transactions(log, model=bgbb, customer="donor", time="time", t=4, freq="year", freq_multiplier=2)
    with pytest.raises(ParameterError, match='"t"'):
        expected_cumulative_transactions(log, model=bgbb, customer="donor", time="time", t=0, freq="year")
    with pytest.raises(ParameterError, match="model"):
        expected_cumulative_transactions(log, model=GammaGamma(), customer="donor", time="time", t=4)  # type: ignore[arg-type]


# --- P(alive) paths -----------------------------------------------------------------------


def _alive_path_reference(dates: pd.Series, model: object, t: int) -> list[float]:
    """lifetimes' calculate_alive_path: daily purchases from the first one, padded with zeros
    to t + 1 days; frequency = cumulative purchase days − 1, recency = last purchase day."""
    days = (dates - dates.min()).dt.days
    bought = np.zeros(max(t + 1, days.max() + 1))
    bought[days.unique()] = 1
    frequency = np.cumsum(bought) - 1
    recency = np.maximum.accumulate(np.where(bought > 0, np.arange(len(bought)), 0))
    table = {"frequency": frequency, "recency": recency.astype(float), "T": np.arange(len(bought), dtype=float)}
    return list(model.conditional_probability_alive(table))  # type: ignore[attr-defined]


def test_alive_path_of_cdnow_customers(cdnow: pd.DataFrame) -> None:
    # Daily model time: the weekly parameters with α in days.
    model = _model(BetaGeo, {**BG, "alpha": BG["alpha"] * 7})
    ids = [4, 21, 50, 1000]
    few = cdnow[cdnow["id"].isin(ids)]
    got = alive_path(few, model=model, customer="id", time="date", t=200)
    for i in ids:
        want = _alive_path_reference(few.loc[few["id"] == i, "date"], model, 200)
        path = got[got["id"] == i]
        assert path["T"].tolist() == list(range(len(want)))
        np.testing.assert_allclose(path["p_alive"], want, rtol=1e-12)
    assert got["id"].tolist() == sorted(got["id"].tolist())


@pytest.mark.parametrize("cls,params", [(BetaGeo, BG), (ParetoNBD, PARETO)])
def test_alive_path_ends_at_the_summary_p_alive(cdnow: pd.DataFrame, cls: type, params: dict[str, float]) -> None:
    # Without t every path runs to the log's last week, where it is the summary's customer.
    model = _model(cls, params)
    paths = alive_path(cdnow, model=model, customer="id", time="date", freq="week")
    last = paths.groupby("id").tail(1).reset_index(drop=True)
    summary = kpikit.rfm_summary(cdnow, customer="id", time="date", freq="week")
    assert last["id"].tolist() == summary["id"].tolist()
    np.testing.assert_array_equal(
        last[["frequency", "recency", "T"]].to_numpy(), summary[["frequency", "recency", "T"]].to_numpy()
    )
    np.testing.assert_allclose(last["p_alive"], model.conditional_probability_alive(summary), rtol=1e-12)


def test_alive_path_of_a_bgbb_donor() -> None:
    # Gifts in years 0, 2, 3 of 5: P(alive at opportunity T) from (x, t_x, T) up to T.
    log = pd.DataFrame({"donor": 1, "time": pd.to_datetime(["2020-01-01", "2022-01-01", "2023-01-01"])})
    bgbb = _model(BetaGeoBetaBinom, BGBB)
    got = alive_path(log, model=bgbb, customer="donor", time="time", freq="year", t=5)
    rows = {"frequency": [0, 0, 1, 2, 2, 2], "recency": [0, 0, 2, 3, 3, 3], "T": [0, 1, 2, 3, 4, 5]}
    np.testing.assert_allclose(got["p_alive"], bgbb.conditional_probability_alive(rows, t=0), rtol=1e-12)
    assert got["p_alive"].iloc[0] == 1.0


# --- calibration against holdout by group ---------------------------------------------------


def test_calibration_vs_holdout_on_cdnow(cdnow: pd.DataFrame) -> None:
    split = kpikit.rfm_split(cdnow, customer="id", time="date", calibration_end="1997-09-28", freq="week")
    bg = BetaGeo().fit(split)
    for kind in ("frequency", "time_since_last_purchase"):
        got = calibration_vs_holdout(split, model=bg, kind=kind)
        # lifetimes: predictions at the holdout duration, groupby(kind).mean(); values of
        # n − 1 = 6 and more pooled (as kpikit.plot draws them).
        ref = split.assign(
            time_since_last_purchase=split["T"] - split["recency"],
            model_predictions=bg.conditional_expected_number_of_purchases_up_to_time(split, t=split["duration_holdout"].iloc[0]),
        )
        grouped = ref.groupby(ref[kind].clip(upper=6.0))
        want = grouped[["frequency_holdout", "model_predictions"]].mean()
        assert got[kind].tolist() == want.index.tolist()
        assert got["customers"].tolist() == grouped.size().tolist()
        np.testing.assert_allclose(got["actual"], want["frequency_holdout"], rtol=1e-12)
        np.testing.assert_allclose(got["predicted"], want["model_predictions"], rtol=1e-12)
        # Below the pooled group, lifetimes' own groups.
        plain = ref.groupby(kind)[["frequency_holdout"]].mean()
        below = got[got[kind] < 6.0]
        np.testing.assert_allclose(below["actual"], plain.loc[below[kind], "frequency_holdout"], rtol=1e-12)
    got = calibration_vs_holdout(split, model=bg, n=3)
    assert got["frequency"].tolist() == [0.0, 1.0, 2.0]
    assert got["customers"].sum() == len(split)
    with pytest.raises(ParameterError, match='"kind"'):
        calibration_vs_holdout(split, model=bg, kind="recency")
    with pytest.raises(InputError, match="frequency_holdout"):
        calibration_vs_holdout(split.assign(frequency_holdout=-1.0), model=bg)


def test_model_checks_take_polars_and_refuse_dask() -> None:
    import dask.dataframe as dd
    import polars as pl

    from kpikit.exceptions import SchemaError

    log = pd.DataFrame({"customer": [1, 1, 2], "time": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"])})
    bg = _model(BetaGeo, BG)
    path = alive_path(pl.from_pandas(log), model=bg, customer="customer", time="time")
    assert isinstance(path, pl.DataFrame)
    assert path["customer"].to_list() == [1, 1, 1, 2, 2]
    assert path["p_alive"].to_list() == alive_path(log, model=bg, customer="customer", time="time")["p_alive"].tolist()
    for f in (alive_path, expected_cumulative_transactions):
        with pytest.raises(SchemaError, match="Dask"):
            f(dd.from_pandas(log, npartitions=1), model=bg, customer="customer", time="time", t=2)
