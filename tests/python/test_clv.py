"""Customer lifetime value: rfm_summary / rfm_split and the BTYD models in kpikit.clv.

Published figures: Fader, Hardie & Lee (2005) on the CDNOW sample (BG/NBD, Pareto/NBD,
Gamma-Gamma) and Fader & Hardie (2007) for the shifted-beta-geometric model. The CDNOW files
come from the MIT-licensed lifetimes 0.11.3 (tests/data/lifetimes, with its licence).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import kpikit
from kpikit.clv import BetaGeo, GammaGamma, ParetoNBD, ShiftedBetaGeo, customer_lifetime_value

DATA = Path(__file__).parent.parent / "data" / "lifetimes"
CDNOW = [0.243, 4.414, 0.793, 2.426]  # r, alpha, a, b (Fader, Hardie & Lee 2005)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_spend() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def cdnow_transactions() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None, names=["master_id", "id", "date", "cds", "dollars"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    return raw


# --- a straightforward pandas reference of the lifetimes conventions -------------------------


def reference_rfm(log: pd.DataFrame, end_day: int | None, include_first: bool = False) -> pd.DataFrame:
    """Daily periods; columns customer, day (int), amount. Written plainly, row by row."""
    if end_day is None:
        end_day = int(log["day"].max())
    kept = log[log["day"] <= end_day]
    per_period = kept.groupby(["customer", "day"], as_index=False)["amount"].sum().sort_values(["customer", "day"])
    rows = []
    for c, g in per_period.groupby("customer"):
        days, totals = g["day"].tolist(), g["amount"].tolist()
        k = len(days)
        if include_first:
            freq, money = k, sum(totals) / k
        else:
            freq, money = k - 1, (sum(totals[1:]) / (k - 1) if k > 1 else 0.0)
        rows.append((c, float(freq), float(days[-1] - days[0]), float(end_day - days[0]), money))
    out = pd.DataFrame(rows, columns=["customer", "frequency", "recency", "T", "monetary_value"])
    return out.astype({c: float for c in ["frequency", "recency", "T", "monetary_value"]})


def _log_table(make_table: Any, customers: list[int], days: list[int], amounts: list[float]) -> Any:
    base = pd.Timestamp("2024-01-01")
    times = [base + pd.Timedelta(days=d, hours=(i * 7) % 24) for i, d in enumerate(days)]
    return make_table({"customer": customers, "time": times, "amount": amounts})


def test_rfm_summary_hand_example_in_every_input_library(make_table: Any) -> None:
    # a: days 0, 0, 3, 7 → periods {0, 3, 7}: frequency 2, recency 7, T 7, monetary (20+40)/2.
    # b: day 2 only → frequency 0, recency 0, T = 7 − 2 = 5, monetary 0.
    t = _log_table(make_table, [1, 1, 2, 1, 1], [0, 0, 2, 3, 7], [10.0, 5.0, 99.0, 20.0, 40.0])
    out = kpikit.rfm_summary(t, customer="customer", time="time", amount="amount", output="pandas")
    assert out["customer"].tolist() == [1, 2]
    assert out["frequency"].tolist() == [2.0, 0.0]
    assert out["recency"].tolist() == [7.0, 0.0]
    assert out["T"].tolist() == [7.0, 5.0]
    assert out["monetary_value"].tolist() == [30.0, 0.0]


def test_include_first_counts_the_first_period() -> None:
    # a: period totals 15, 20, 40 → frequency 3, monetary 75 / 3 = 25.
    t = _log_table(pd.DataFrame, [1, 1, 2, 1, 1], [0, 0, 2, 3, 7], [10.0, 5.0, 99.0, 20.0, 40.0])
    out = kpikit.rfm_summary(t, customer="customer", time="time", amount="amount", include_first=True, output="pandas")
    assert out["frequency"].tolist() == [3.0, 1.0]
    assert out["monetary_value"].tolist() == [25.0, 99.0]


def test_weeks_and_hours_with_multiplier() -> None:
    # 2024-01-01 is a Monday: pandas "W" weeks end on Sunday, so days 0 and 6 share a week.
    log = pd.DataFrame(
        {
            "customer": [1, 1, 1],
            "time": pd.to_datetime(["2024-01-01 00:00", "2024-01-07 23:00", "2024-01-15 12:00"]),
        }
    )
    w = kpikit.rfm_summary(log, customer="customer", time="time", freq="week")
    assert (w["frequency"][0], w["recency"][0], w["T"][0]) == (1.0, 2.0, 2.0)
    # Hours / 24: recency = (14 days 12 h) / 24 h = 14.5 days.
    h = kpikit.rfm_summary(log, customer="customer", time="time", freq="hour", freq_multiplier=24)
    assert (h["frequency"][0], h["recency"][0], h["T"][0]) == (2.0, 14.5, 14.5)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 60), st.integers(0, 1000)), min_size=1, max_size=80),
    st.one_of(st.none(), st.integers(0, 70)),
    st.booleans(),
    st.sampled_from([1, 1000]),
)
def test_rfm_summary_matches_the_pandas_reference(
    rows: list[tuple[int, int, int]], end: int | None, include_first: bool, spread: int
) -> None:
    log = pd.DataFrame(rows, columns=["customer", "day", "amount"]).astype({"amount": float})
    # Spread ids (-2500, -1500, …): integer ids with gaps and negatives, read as dense ids.
    log["customer"] = log["customer"] * spread - (2500 if spread > 1 else 0)
    log["time"] = pd.Timestamp("2023-03-01") + pd.to_timedelta(log["day"], unit="D") + pd.Timedelta(hours=5)
    want = reference_rfm(log, end, include_first)
    end_time = None if end is None else pd.Timestamp("2023-03-01") + pd.Timedelta(days=end, hours=23)
    got = kpikit.rfm_summary(
        log, customer="customer", time="time", amount="amount", observation_end=end_time, include_first=include_first
    )
    assert got["customer"].tolist() == want["customer"].tolist()
    for c in ["frequency", "recency", "T", "monetary_value"]:
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-12, err_msg=c)


def test_rfm_summary_reproduces_the_published_cdnow_summary(cdnow_transactions: pd.DataFrame, cdnow: pd.DataFrame) -> None:
    # The 39-week calibration period of Fader, Hardie & Lee (2005): days / 7 as the time unit.
    out = kpikit.rfm_summary(
        cdnow_transactions,
        customer="id",
        time="date",
        freq="day",
        freq_multiplier=7,
        observation_end="1997-09-30",
    )
    out = out.set_index("id")
    ref = cdnow.set_index("ID")
    assert len(out) == len(ref) == 2357
    assert (out["frequency"] == ref["frequency"]).all()
    np.testing.assert_allclose(out["recency"], ref["recency"], atol=0.005)
    np.testing.assert_allclose(out["T"], ref["T"], atol=0.005)


def test_rfm_split_holdout_columns(make_table: Any) -> None:
    # Calibration to day 4 (inclusive); holdout days 5–10.
    # a: cal days 0, 1 (totals 10, 30) → freq 1, recency 1, T 4, monetary 30;
    #    holdout days 6 (5 + 7), 8 (12) → 2 periods; mean transaction (5 + 7 + 12) / 3 = 8.
    #    T = day 4 (calibration_end's period) − day 0 = 4.
    # b: cal day 3 → freq 0, T 1; holdout nothing. c: first seen in the holdout → left out.
    t = _log_table(
        make_table,
        [1, 1, 2, 1, 1, 1, 3],
        [0, 1, 3, 6, 6, 8, 9],
        [10.0, 30.0, 4.0, 5.0, 7.0, 12.0, 50.0],
    )
    out = kpikit.rfm_split(
        t,
        customer="customer",
        time="time",
        amount="amount",
        calibration_end="2024-01-05 00:00",  # day 4 at midnight: day-4 rows after it fall out
        observation_end="2024-01-11",
        output="pandas",
    )
    assert out["customer"].tolist() == [1, 2]
    assert out["frequency"].tolist() == [1.0, 0.0]
    assert out["recency"].tolist() == [1.0, 0.0]
    assert out["T"].tolist() == [4.0, 1.0]
    assert out["monetary_value"].tolist() == [30.0, 0.0]
    assert out["frequency_holdout"].tolist() == [2.0, 0.0]
    assert out["monetary_value_holdout"].tolist() == [8.0, 0.0]
    assert out["duration_holdout"].tolist() == [6.0, 6.0]


def test_rfm_errors_name_the_column_and_rows() -> None:
    log = pd.DataFrame({"customer": [1, 2, 3], "time": pd.to_datetime(["2024-01-01", None, "2024-01-03"])})
    with pytest.raises(kpikit.InputError, match=r'"time": must not be missing: 1 row\(s\), e.g. row 1'):
        kpikit.rfm_summary(log, customer="customer", time="time")
    with pytest.raises(kpikit.SchemaError, match="not found"):
        kpikit.rfm_summary(log, customer="who", time="time")
    with pytest.raises(kpikit.ParameterError, match="freq_multiplier"):
        kpikit.rfm_summary(log.dropna(), customer="customer", time="time", freq_multiplier=0)


# --- BG/NBD -------------------------------------------------------------------------------------


def bg_ll_reference(p: list[float], x: float, tx: float, T: float) -> float:
    """The BG/NBD likelihood of one customer (FHL 2005 eq. 6), evaluated plainly."""
    r, alpha, a, b = p
    lb = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    def beta(u: float, v: float) -> float:
        return math.exp(math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v) - lb)

    common = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r
    like = beta(a, b + x) * common / (alpha + T) ** (r + x)
    if x > 0:
        like += beta(a + 1, b + x - 1) * common / (alpha + tx) ** (r + x)
    return math.log(like)


def bg_ll_integral(p: list[float], x: int, tx: float, T: float) -> float:
    """The same likelihood by integrating the individual-level one over λ ~ Gamma(r, α)
    numerically (p ~ Beta(a, b) integrated with beta functions): u = λ^r removes the λ^(r−1)
    singularity at 0."""
    r, alpha, a, b = p
    lb = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    e1 = math.exp(math.lgamma(a) + math.lgamma(b + x) - math.lgamma(a + b + x) - lb)
    e2 = math.exp(math.lgamma(a + 1) + math.lgamma(b + x - 1) - math.lgamma(a + b + x) - lb) if x > 0 else 0.0
    u = np.linspace(0.0, (60.0 / alpha) ** r, 400_001)
    lam = u ** (1.0 / r)
    f = np.exp(-alpha * lam) * lam**x * (e1 * np.exp(-lam * T) + e2 * np.exp(-lam * tx))
    integral = float(np.sum((f[1:] + f[:-1]) / 2 * np.diff(u)))
    return math.log(alpha**r / math.gamma(r) / r * integral)


def hyp2f1_series(a: float, b: float, c: float, z: float) -> float:
    term, total, n = 1.0, 1.0, 0
    while abs(term) > 1e-17 * abs(total):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        n += 1
    return total


def test_beta_geo_reproduces_fader_hardie_lee_on_cdnow(cdnow: pd.DataFrame) -> None:
    bg = BetaGeo().fit(cdnow[["frequency", "recency", "T"]])
    assert bg.params_ is not None and bg.standard_errors_ is not None
    for name, want in zip(["r", "alpha", "a", "b"], CDNOW, strict=True):
        assert bg.params_[name] == pytest.approx(want, abs=0.0015), name
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert all(se is not None and se > 0 for se in bg.standard_errors_.values())
    # The reported log-likelihood is the sum of the plainly evaluated one at the fitted values.
    p = [bg.params_[n] for n in ("r", "alpha", "a", "b")]
    direct = sum(bg_ll_reference(p, *row) for row in cdnow[["frequency", "recency", "T"]].itertuples(index=False))
    assert bg.log_likelihood_ == pytest.approx(direct, rel=1e-10)


@pytest.mark.parametrize("x, tx, T", [(0, 0.0, 38.86), (2, 30.43, 38.86), (7, 29.0, 32.5)])
def test_beta_geo_likelihood_matches_numeric_integration(x: int, tx: float, T: float) -> None:
    assert bg_ll_reference(CDNOW, x, tx, T) == pytest.approx(bg_ll_integral(CDNOW, x, tx, T), abs=1e-6)


def test_beta_geo_predictions_match_the_formulas() -> None:
    bg = BetaGeo()
    bg.params_ = dict(zip(["r", "alpha", "a", "b"], CDNOW, strict=True))
    r, alpha, a, b = CDNOW
    t = np.array([1.0, 10.0, 39.0, 78.0])
    want = [(a + b - 1) / (a - 1) * (1 - (alpha / (alpha + s)) ** r * hyp2f1_series(r, b, a + b - 1, s / (alpha + s))) for s in t]
    np.testing.assert_allclose(bg.expected_number_of_purchases_up_to_time(t), want, rtol=1e-10)
    # Conditional expectation for x = 2, t_x = 30.43, T = 38.86 over the next 39 weeks.
    x, tx, T, s = 2, 30.43, 38.86, 39.0
    alive = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))
    cond = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + s)) ** (r + x) * hyp2f1_series(r + x, b + x, a + b + x - 1, s / (alpha + T + s)))
        * alive
    )
    one = {"frequency": x, "recency": tx, "T": T}
    assert bg.conditional_probability_alive(one) == pytest.approx(alive, rel=1e-12)
    assert bg.conditional_expected_number_of_purchases_up_to_time(one, t=s) == pytest.approx(cond, rel=1e-10)


def test_beta_geo_properties() -> None:
    bg = BetaGeo()
    bg.params_ = dict(zip(["r", "alpha", "a", "b"], CDNOW, strict=True))
    # P(alive) = 1 without repeat purchases, whatever the age.
    np.testing.assert_array_equal(
        bg.conditional_probability_alive({"frequency": np.zeros(4), "recency": np.zeros(4), "T": [1.0, 10, 50, 500]}), 1.0
    )
    # Expected purchases increase with t, unconditionally and conditionally.
    t = np.linspace(0.5, 200, 60)
    assert np.all(np.diff(bg.expected_number_of_purchases_up_to_time(t)) > 0)
    assert np.all(
        np.diff(bg.conditional_expected_number_of_purchases_up_to_time({"frequency": 3, "recency": 20.0, "T": 38.0}, t=t)) > 0
    )
    # P(X(t) = n) over n sums to 1 and its mean is E[X(t)].
    n = np.arange(300)
    pn = bg.probability_of_n_purchases_up_to_time(39.0, n)
    assert pn.sum() == pytest.approx(1.0, abs=1e-9)
    assert (pn * n).sum() == pytest.approx(bg.expected_number_of_purchases_up_to_time(39.0), rel=1e-8)


def test_beta_geo_recovers_parameters_from_simulated_customers() -> None:
    rng = np.random.default_rng(7)
    true = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 3.0}
    n, T = 6000, 52.0
    lam = rng.gamma(true["r"], 1 / true["alpha"], n)
    p = rng.beta(true["a"], true["b"], n)
    x = np.zeros(n)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p[i]:
                break
    bg = BetaGeo().fit({"frequency": x, "recency": tx, "T": np.full(n, T)})
    assert bg.params_ is not None and bg.standard_errors_ is not None
    for k, v in true.items():
        se = bg.standard_errors_[k]
        assert se is not None
        assert abs(bg.params_[k] - v) < 4 * se, (k, bg.params_[k], se)


def test_weights_are_the_same_as_repeated_rows(cdnow: pd.DataFrame) -> None:
    grouped = cdnow.groupby(["frequency", "recency", "T"], as_index=False).size()
    a = BetaGeo().fit(grouped, weights="size")
    b = BetaGeo().fit(cdnow)
    assert a.params_ is not None and b.params_ is not None
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-6)


def test_penalizer_shrinks_and_fits_that_cannot_converge_say_why(cdnow: pd.DataFrame) -> None:
    # Nobody ever comes back: the dropout and rate parameters are not identified.
    with pytest.raises(kpikit.KpikitError, match=r"did not converge.*penalizer_coef"):
        BetaGeo().fit({"frequency": np.zeros(50), "recency": np.zeros(50), "T": np.full(50, 30.0)})
    # Purchases at one steady rate (Poisson counts, uniform recency): no heterogeneity in the
    # dropout probability, so the likelihood keeps rising as a, b → ∞ with a/(a+b) fixed;
    # reported, not returned. A penalty gives the same data a proper maximum.
    rng = np.random.default_rng(1)
    x = rng.poisson(1.0, 300).astype(float)
    tx = np.where(x > 0, rng.uniform(1, 30, 300), 0.0)
    with pytest.raises(kpikit.KpikitError, match=r"no proper maximum.*penalizer_coef"):
        BetaGeo().fit({"frequency": x, "recency": tx, "T": np.full(300, 30.0)})
    assert BetaGeo(penalizer_coef=0.1).fit({"frequency": x, "recency": tx, "T": np.full(300, 30.0)}).params_ is not None
    # The penalty shrinks the CDNOW estimates towards zero.
    free = BetaGeo().fit(cdnow)
    shrunk = BetaGeo(penalizer_coef=0.1).fit(cdnow)
    assert free.params_ is not None and shrunk.params_ is not None
    assert sum(v * v for v in shrunk.params_.values()) < sum(v * v for v in free.params_.values())
    with pytest.raises(kpikit.InputError, match=r'"recency": must satisfy 0 <= recency <= T: 1 row\(s\), e.g. row 1'):
        BetaGeo().fit({"frequency": [1, 2], "recency": [3.0, 9.0], "T": [5.0, 8.0]})
    with pytest.raises(kpikit.KpikitError, match="not fitted"):
        BetaGeo().conditional_probability_alive({"frequency": 1, "recency": 1.0, "T": 2.0})


# --- Pareto/NBD, Gamma-Gamma, CLV, sBG ----------------------------------------------------------


def test_pareto_nbd_reproduces_the_published_cdnow_fit(cdnow: pd.DataFrame) -> None:
    m = ParetoNBD().fit(cdnow)
    assert m.params_ is not None
    for name, want in [("r", 0.553), ("alpha", 10.578), ("s", 0.606), ("beta", 11.669)]:
        assert m.params_[name] == pytest.approx(want, rel=2e-3), name
    # E[X(t)] = rβ/(α(s−1)) (1 − (β/(β+t))^(s−1)), evaluated here.
    r, alpha, s, beta = (m.params_[k] for k in ("r", "alpha", "s", "beta"))
    t = 39.0
    assert m.expected_number_of_purchases_up_to_time(t) == pytest.approx(
        r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1)), rel=1e-12
    )
    assert m.conditional_probability_alive({"frequency": 0, "recency": 0.0, "T": 38.86}) < 1.0
    alive = m.conditional_probability_alive(cdnow)
    assert ((alive > 0) & (alive <= 1)).all()


def test_gamma_gamma_reproduces_the_published_cdnow_fit(cdnow_spend: pd.DataFrame) -> None:
    gg = GammaGamma().fit({"frequency": cdnow_spend["x"], "monetary_value": cdnow_spend["zbar"]})
    assert gg.params_ is not None
    for name, want in [("p", 6.25), ("q", 3.74), ("v", 15.44)]:
        assert gg.params_[name] == pytest.approx(want, abs=0.01), name
    p, q, v = (gg.params_[k] for k in ("p", "q", "v"))
    # E[M | x, m̄] = p(v + x m̄)/(px + q − 1); x = 0 → pv/(q − 1).
    assert gg.conditional_expected_average_profit({"frequency": 3, "monetary_value": 40.0}) == pytest.approx(
        p * (v + 120) / (3 * p + q - 1)
    )
    assert gg.conditional_expected_average_profit({"frequency": 0, "monetary_value": 0.0}) == pytest.approx(p * v / (q - 1))


def test_customer_lifetime_value_matches_the_discounted_sum() -> None:
    bg, gg = BetaGeo(), GammaGamma()
    bg.params_ = dict(zip(["r", "alpha", "a", "b"], CDNOW, strict=True))
    gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    rfm = pd.DataFrame(
        {"frequency": [0, 2, 5], "recency": [0.0, 30.43, 35.0], "T": [38.86, 38.86, 37.0], "monetary_value": [0.0, 22.35, 41.0]}
    )
    got = customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, months=6, discount_rate=0.02, freq="week")
    for i, row in rfm.iterrows():
        m = gg.conditional_expected_average_profit(row.to_dict())
        e = [bg.conditional_expected_number_of_purchases_up_to_time(row.to_dict(), t=k * 4.345) for k in range(7)]
        want = sum(m * (e[k] - e[k - 1]) / 1.02**k for k in range(1, 7))
        assert got[i] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(
    "survivors, alpha, beta",
    [
        ([1000, 631, 468, 382, 326, 289, 262, 241], 0.704, 1.182),  # "regular"
        ([1000, 869, 743, 653, 593, 551, 517, 491], 0.668, 3.806),  # "high end"
    ],
)
def test_shifted_beta_geo_reproduces_fader_hardie_2007(survivors: list[int], alpha: float, beta: float) -> None:
    m = ShiftedBetaGeo().fit(survivors)
    assert m.params_ is not None
    assert m.params_["alpha"] == pytest.approx(alpha, abs=6e-4)
    assert m.params_["beta"] == pytest.approx(beta, abs=6e-4)
    a, b = m.params_["alpha"], m.params_["beta"]
    # r(t) = (β + t − 1)/(α + β + t − 1) = S(t)/S(t − 1), and S(0) = 1.
    t = np.arange(1, 10, dtype=float)
    s = m.survival_function(np.arange(0, 10, dtype=float))
    assert s[0] == pytest.approx(1.0)
    np.testing.assert_allclose(m.retention_rate(t), (b + t - 1) / (a + b + t - 1), rtol=1e-12)
    np.testing.assert_allclose(s[1:] / s[:-1], (b + t - 1) / (a + b + t - 1), rtol=1e-10)
    # Per-customer rows give the same fit as the survivor counts.
    periods = [t for t in range(1, len(survivors)) for _ in range(survivors[t - 1] - survivors[t])]
    periods += [len(survivors) - 1] * survivors[-1]
    churned = [True] * (survivors[0] - survivors[-1]) + [False] * survivors[-1]
    c = ShiftedBetaGeo().fit({"periods": periods, "churned": churned})
    assert c.params_ is not None
    assert c.params_["alpha"] == pytest.approx(a, rel=1e-5)


def test_rfm_summary_over_many_row_ranges_matches_grouped_pandas() -> None:
    # 400,000 rows in shuffled order and three record batches: several row ranges run in
    # parallel and their (customer, day) pairs merge across ranges.
    rng = np.random.default_rng(3)
    n = 400_000
    log = pd.DataFrame(
        {
            "customer": rng.integers(0, 20_000, n),
            "day": rng.integers(0, 400, n),
            "amount": rng.integers(1, 100, n).astype(float),
        }
    )
    log["time"] = pd.Timestamp("2022-01-01") + pd.to_timedelta(log["day"], unit="D")
    import pyarrow as pa

    table = pa.table(log[["customer", "time", "amount"]])
    table = pa.Table.from_batches(table.to_batches(max_chunksize=150_000))
    got = kpikit.rfm_summary(
        table, customer="customer", time="time", amount="amount", observation_end="2022-12-31", output="pandas"
    )
    kept = log[log["day"] <= 364]
    per = kept.groupby(["customer", "day"], as_index=False)["amount"].sum().sort_values(["customer", "day"])
    g = per.groupby("customer")
    first_total = g["amount"].first()
    k = g["day"].count()
    want = pd.DataFrame(
        {
            "frequency": (k - 1).astype(float),
            "recency": (g["day"].max() - g["day"].min()).astype(float),
            "T": (364 - g["day"].min()).astype(float),
            "monetary_value": ((g["amount"].sum() - first_total) / (k - 1)).where(k > 1, 0.0),
        }
    )
    got = got.set_index("customer")
    assert got.index.tolist() == want.index.tolist()
    for c in want.columns:
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-12, err_msg=c)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 40), st.integers(0, 100)), min_size=1, max_size=60),
    st.integers(0, 30),
)
def test_rfm_split_matches_the_pandas_reference(rows: list[tuple[int, int, int]], cal_day: int) -> None:
    log = pd.DataFrame(rows, columns=["customer", "day", "amount"]).astype({"amount": float})
    log["time"] = pd.Timestamp("2023-03-01") + pd.to_timedelta(log["day"], unit="D") + pd.Timedelta(hours=5)
    end_day = 45
    cal_end = pd.Timestamp("2023-03-01") + pd.Timedelta(days=cal_day, hours=12)
    cal = log[log["time"] <= cal_end]
    hold = log[(log["time"] > cal_end) & (log["day"] <= end_day)]
    want = reference_rfm(cal, cal_day).set_index("customer")
    want["frequency_holdout"] = hold.groupby("customer")["day"].nunique().reindex(want.index).fillna(0.0)
    want["monetary_value_holdout"] = hold.groupby("customer")["amount"].mean().reindex(want.index).fillna(0.0)
    want["duration_holdout"] = float(end_day - cal_day)
    if cal.empty:
        # No calibration transactions: refused naming the parameter (as lifetimes refuses it).
        with pytest.raises(kpikit.InputError, match="calibration_end"):
            kpikit.rfm_split(log, customer="customer", time="time", calibration_end=cal_end)
        return
    got = kpikit.rfm_split(
        log,
        customer="customer",
        time="time",
        amount="amount",
        calibration_end=cal_end,
        observation_end=pd.Timestamp("2023-03-01") + pd.Timedelta(days=end_day, hours=23),
    ).set_index("customer")
    assert got.index.tolist() == want.index.tolist()
    for c in want.columns:
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-12, err_msg=c)


def test_pareto_nbd_alive_and_conditional_match_the_formulas() -> None:
    # Fader & Hardie (2005) note, eqs. for P(alive) and E[Y(t) | x, t_x, T], with α >= β:
    # A0 = F(t_x) − F(T), F(u) = 2F1(r+s+x, s+1; r+s+x+1; (α−β)/(α+u)) / (α+u)^(r+s+x).
    m = ParetoNBD()
    r, alpha, s, beta = 0.553, 12.5, 0.606, 11.669
    m.params_ = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    for x, tx, T in [(2, 30.43, 38.86), (5, 10.0, 38.0), (1, 1.71, 38.86)]:
        k = r + s + x

        def F(u: float, k: float) -> float:
            return hyp2f1_series(k, s + 1, k + 1, (alpha - beta) / (alpha + u)) / (alpha + u) ** k

        a0 = F(tx, k) - F(T, k)
        alive = 1 / (1 + s / k * (alpha + T) ** (r + x) * (beta + T) ** s * a0)
        one = {"frequency": x, "recency": tx, "T": T}
        assert m.conditional_probability_alive(one) == pytest.approx(alive, rel=1e-10)
        t = 26.0
        cond = (r + x) * (beta + T) / ((alpha + T) * (s - 1)) * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) * alive
        assert m.conditional_expected_number_of_purchases_up_to_time(one, t=t) == pytest.approx(cond, rel=1e-10)


# --- charts -------------------------------------------------------------------------------------


def test_frequency_recency_matrix_shows_the_model_predictions(cdnow: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    bg = BetaGeo().fit(cdnow)
    ax = kpikit.plot.frequency_recency_matrix(bg, t=10)
    z = ax.images[0].get_array()
    # Defaults: frequencies 0…max fitted (29), recencies 0…floor(max T) (38), T = max T.
    assert z.shape == (30, 39)
    T = float(cdnow["T"].max())
    assert z[3, 20] == pytest.approx(
        bg.conditional_expected_number_of_purchases_up_to_time({"frequency": 3, "recency": 20.0, "T": T}, t=10)
    )
    alive = kpikit.plot.frequency_recency_matrix(bg, T=30, what="alive", max_frequency=5, max_recency=30)
    za = alive.images[0].get_array()
    assert za.shape == (6, 31)
    assert (za[0] == 1.0).all()  # no repeat purchases: alive for sure
    assert za[5, 30] > za[5, 2]  # recent buyers are likelier alive
    with pytest.raises(kpikit.ParameterError, match='"what"'):
        kpikit.plot.frequency_recency_matrix(bg, what="spend")


def test_calibration_vs_holdout_plots_group_means() -> None:
    import matplotlib

    matplotlib.use("Agg")
    bg = BetaGeo()
    bg.params_ = dict(zip(["r", "alpha", "a", "b"], CDNOW, strict=True))
    split = pd.DataFrame(
        {
            "frequency": [0, 0, 1, 4, 9],
            "recency": [0.0, 0.0, 5.0, 20.0, 30.0],
            "T": [39.0, 20.0, 39.0, 39.0, 35.0],
            "frequency_holdout": [0.0, 1.0, 2.0, 3.0, 5.0],
            "duration_holdout": [39.0] * 5,
        }
    )
    ax = kpikit.plot.calibration_vs_holdout(bg, split, n=3)
    actual, predicted = (line.get_ydata() for line in ax.get_lines())
    # Groups: x = 0 → rows 0, 1; x = 1 → row 2; x >= 2 → rows 3, 4.
    np.testing.assert_allclose(actual, [0.5, 2.0, 4.0])
    pred = bg.conditional_expected_number_of_purchases_up_to_time(split, t=39.0)
    np.testing.assert_allclose(predicted, [pred[:2].mean(), pred[2], pred[3:].mean()])


def test_rfm_edge_cases_empty_log_string_ids_and_zone() -> None:
    empty = pd.DataFrame({"customer": pd.Series([], dtype="int64"), "time": pd.Series([], dtype="datetime64[us]")})
    out = kpikit.rfm_summary(empty, customer="customer", time="time")
    assert len(out) == 0 and list(out.columns) == ["customer", "frequency", "recency", "T"]
    # Categorical ids; 23:30 UTC on 1 Jan is 2 Jan in Tokyo, so the two purchases fall on
    # different Tokyo days but the same UTC day.
    log = pd.DataFrame(
        {
            "customer": pd.Categorical(["x", "x"]),
            "time": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 23:30"]).tz_localize("UTC"),
        }
    )
    utc = kpikit.rfm_summary(log, customer="customer", time="time")
    tokyo = kpikit.rfm_summary(log, customer="customer", time="time", tz="Asia/Tokyo")
    assert utc["customer"].astype(str).tolist() == ["x"]
    assert (utc["frequency"][0], tokyo["frequency"][0]) == (0.0, 1.0)


# --- the vocabulary (docs/vocabulary.md#customer-lifetime-value) --------------------------------


def _hand_log() -> pd.DataFrame:
    # a buys on days 0 (10 + 5), 3 (20) and 7 (40); b on day 2 (99): a is (2, 7, 7, 30), b (0, 0, 5, 0).
    return pd.DataFrame(
        {
            "customer": ["a", "a", "b", "a", "a"],
            "time": pd.to_datetime(
                ["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-03 00:00", "2024-01-04 00:00", "2024-01-08 00:00"]
            ),
            "amount": [10.0, 5.0, 99.0, 20.0, 40.0],
        }
    )


def test_rfm_output_follows_the_input_library() -> None:
    import polars as pl
    import pyarrow as pa

    log = _hand_log()
    for call in (kpikit.rfm_summary, lambda t, **kw: kpikit.rfm_split(t, calibration_end="2024-01-05", **kw)):
        assert isinstance(call(log, customer="customer", time="time", amount="amount"), pd.DataFrame)
        polars_out = call(pl.from_pandas(log), customer="customer", time="time", amount="amount")
        assert isinstance(polars_out, pl.DataFrame)
        arrow_out = call(pa.Table.from_pandas(log), customer="customer", time="time", amount="amount")
        assert isinstance(arrow_out, pa.Table)
        assert isinstance(call(log, customer="customer", time="time", output="polars"), pl.DataFrame)
    out = kpikit.rfm_summary(pl.from_pandas(log), customer="customer", time="time", amount="amount")
    assert out["frequency"].to_list() == [2.0, 0.0] and out["T"].to_list() == [7.0, 5.0]
    assert out["monetary_value"].to_list() == [30.0, 0.0]


@pytest.mark.parametrize(
    "alias, word", [("D", "day"), ("W", "week"), ("M", "month"), ("h", "hour"), ("min", "minute"), ("W-SUN", "week")]
)
def test_rfm_refuses_pandas_aliases_with_the_word_to_use(alias: str, word: str) -> None:
    log = _hand_log()
    with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
        kpikit.rfm_summary(log, customer="customer", time="time", freq=alias)
    with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
        kpikit.rfm_split(log, customer="customer", time="time", calibration_end="2024-01-05", freq=alias)
    with pytest.raises(kpikit.ParameterError, match=r'"freq".*not one of'):
        kpikit.rfm_summary(log, customer="customer", time="time", freq="second")


def test_rfm_weeks_start_on_week_start() -> None:
    # Saturday 6 and Sunday 7 January 2024. Weeks from Monday (lifetimes' "W", ending on
    # Sunday): one week, frequency 0. Weeks from Sunday: Sunday opens a new week, frequency 1,
    # recency 1 week.
    log = pd.DataFrame({"customer": [1, 1], "time": pd.to_datetime(["2024-01-06 12:00", "2024-01-07 12:00"])})
    monday = kpikit.rfm_summary(log, customer="customer", time="time", freq="week")
    sunday = kpikit.rfm_summary(log, customer="customer", time="time", freq="week", week_start="sunday")
    assert (monday["frequency"][0], monday["recency"][0]) == (0.0, 0.0)
    assert (sunday["frequency"][0], sunday["recency"][0]) == (1.0, 1.0)
    with pytest.raises(kpikit.ParameterError, match='"week_start"'):
        kpikit.rfm_summary(log, customer="customer", time="time", freq="week", week_start="someday")


def test_old_names_and_positions_are_type_errors(cdnow: pd.DataFrame) -> None:
    log = _hand_log()
    with pytest.raises(TypeError):
        kpikit.rfm_summary(transactions=log, customer="customer", time="time")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        kpikit.rfm_summary(log, "customer", "time")  # type: ignore[misc]
    bg, gg = BetaGeo(), GammaGamma()
    bg.params_ = dict(zip(["r", "alpha", "a", "b"], CDNOW, strict=True))
    gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    rfm = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86], "monetary_value": [22.35]})
    with pytest.raises(TypeError):
        customer_lifetime_value(bg, gg, rfm)  # type: ignore[misc]
    with pytest.raises(TypeError):
        customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, time=12)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        bg.conditional_probability_alive(2, 30.43, 38.86)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ShiftedBetaGeo().fit(periods=[1, 2], churned=[True, False])  # type: ignore[call-arg]


def test_customer_lifetime_value_takes_the_freq_words() -> None:
    bg, gg = BetaGeo(), GammaGamma()
    bg.params_ = dict(zip(["r", "alpha", "a", "b"], CDNOW, strict=True))
    gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    rfm = pd.DataFrame(
        {"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86], "monetary_value": [0.0, 22.35]}, index=["x", "y"]
    )
    weekly = customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, months=12, freq="week")
    assert weekly.index.tolist() == ["x", "y"] and weekly.name == "clv"
    assert weekly.round(2).tolist() == [8.37, 36.29]  # lifetimes' CDNOW figures (see the docstring)
    # 30 model days a month against 4.345 weeks: the same customers are worth more per month.
    daily = customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, months=12)
    assert (daily > weekly).all()
    for alias, word in [("W", "week"), ("D", "day"), ("M", "month"), ("H", "hour")]:
        with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
            customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, freq=alias)
    with pytest.raises(kpikit.ParameterError, match=r'"freq".*not a time unit of a lifetime value'):
        customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, freq="quarter")
    for bad in (0, -3, 1.5, True):
        with pytest.raises(kpikit.ParameterError, match='"months"'):
            customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, months=bad)
    with pytest.raises(kpikit.ParameterError, match='"spend_model"'):
        customer_lifetime_value(rfm, transaction_model=bg, spend_model=bg)  # type: ignore[arg-type]


def test_predictions_follow_the_table_library() -> None:
    import polars as pl
    import pyarrow as pa

    bg = BetaGeo()
    bg.params_ = dict(zip(["r", "alpha", "a", "b"], CDNOW, strict=True))
    rfm = pd.DataFrame({"frequency": [0.0, 2.0], "recency": [0.0, 30.43], "T": [38.86, 38.86]}, index=[10, 20])
    r, alpha, a, b = CDNOW
    # x = 2, t_x = 30.43, T = 38.86: P(alive) = 1 / (1 + a/(b+1) · ((α+T)/(α+t_x))^(r+2)); x = 0: 1.
    alive = 1 / (1 + a / (b + 1) * ((alpha + 38.86) / (alpha + 30.43)) ** (r + 2))
    got = bg.conditional_probability_alive(rfm)
    assert isinstance(got, pd.Series) and got.index.tolist() == [10, 20]
    assert got.tolist() == pytest.approx([1.0, alive], rel=1e-12)
    polars_got = bg.conditional_probability_alive(pl.from_pandas(rfm))
    assert isinstance(polars_got, pl.Series) and polars_got.to_list() == pytest.approx([1.0, alive], rel=1e-12)
    arrow_got = bg.conditional_probability_alive(pa.Table.from_pandas(rfm, preserve_index=False))
    assert isinstance(arrow_got, pa.Array) and arrow_got.to_pylist() == pytest.approx([1.0, alive], rel=1e-12)
    with pytest.raises(kpikit.SchemaError, match="'recency' not found"):
        bg.conditional_probability_alive(rfm.drop(columns="recency"))
    with pytest.raises(kpikit.SchemaError, match="table of customers"):
        bg.conditional_probability_alive(rfm["frequency"])
    # One horizon per customer.
    per_customer = bg.predict(rfm, t=np.array([0.0, 10.0]))
    assert per_customer[10] == 0.0 and per_customer[20] > 0


def test_fit_weights_name_a_column() -> None:
    # sBG on customers: the "regular" cohort as rows weighted by their counts equals the survivors.
    survivors = [1000, 631, 468, 382, 326, 289, 262, 241]
    rows = [{"periods": t, "churned": True, "n": survivors[t - 1] - survivors[t]} for t in range(1, len(survivors))]
    rows.append({"periods": len(survivors) - 1, "churned": False, "n": survivors[-1]})
    weighted = ShiftedBetaGeo().fit(pd.DataFrame(rows), weights="n")
    counts = ShiftedBetaGeo().fit(survivors)
    assert weighted.params_ is not None and counts.params_ is not None
    assert weighted.params_["alpha"] == pytest.approx(counts.params_["alpha"], rel=1e-5)
    assert weighted.params_["alpha"] == pytest.approx(0.704, abs=6e-4)
    with pytest.raises(kpikit.ParameterError, match='"weights"'):
        BetaGeo().fit(pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0]}), weights=[1.0])  # type: ignore[arg-type]


def _clv_vocabulary() -> dict[str, str]:
    """Parameter -> default over every table of docs/vocabulary.md."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "vocabulary.md").read_text()
    rows = [line.split("|") for line in text.splitlines() if line.startswith("| `")]
    return {cells[1].strip().strip("`"): cells[5].strip().strip("`") for cells in rows}


def test_clv_signatures_use_only_the_vocabulary() -> None:
    import inspect

    words = _clv_vocabulary()
    methods = [
        BetaGeo.fit,
        GammaGamma.fit,
        ShiftedBetaGeo.fit,
        BetaGeo.predict,
        BetaGeo.conditional_probability_alive,
        GammaGamma.conditional_expected_average_profit,
    ]
    functions = [getattr(kpikit.clv, n) for n in kpikit.clv.__all__ if inspect.isfunction(getattr(kpikit.clv, n))]
    for f in functions + methods:
        params = [p for p in inspect.signature(f).parameters.values() if p.name != "self"]
        assert params[0].name == "table" and params[0].kind is inspect.Parameter.POSITIONAL_ONLY, f.__qualname__
        for p in params[1:]:
            assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{f.__qualname__}({p.name}) is not keyword-only"
            if p.name == "t":  # the prediction horizon, named as in the papers
                continue
            assert p.name in words, f"{f.__qualname__}({p.name}) is not in docs/vocabulary.md"
            if words[p.name] not in ("required", "varies"):
                assert repr(p.default).replace("'", '"') == words[p.name], f"{f.__qualname__}({p.name}={p.default!r})"


def _dirty_log() -> pd.DataFrame:
    # The hand log plus four bad rows: no customer, no time (NaT), a NaN and an infinite amount.
    bad = pd.DataFrame(
        {
            "customer": [None, "a", "b", "a"],
            "time": pd.to_datetime(["2024-01-02", None, "2024-01-05", "2024-01-06"]),
            "amount": [1.0, 2.0, float("nan"), float("inf")],
        }
    )
    return pd.concat([_hand_log(), bad], ignore_index=True)


def test_invalid_skip_leaves_bad_rows_out_and_warns_once() -> None:
    import polars as pl
    import pyarrow as pa

    log = _dirty_log()
    with pytest.raises(kpikit.InputError, match='"customer"'):
        kpikit.rfm_summary(log, customer="customer", time="time", amount="amount")
    clean = kpikit.rfm_summary(_hand_log(), customer="customer", time="time", amount="amount")
    for table in (log, pl.from_pandas(log), pa.Table.from_pandas(log, preserve_index=False)):
        with pytest.warns(kpikit.SkippedRowsWarning) as caught:
            out = kpikit.rfm_summary(table, customer="customer", time="time", amount="amount", invalid="skip", output="pandas")
        assert len(caught) == 1 and caught[0].message.count == 4
        pd.testing.assert_frame_equal(out, clean)
    # The same rows out of a holdout split: a keeps (1 Jan, 4 Jan) in calibration, 8 Jan in the holdout.
    with pytest.warns(kpikit.SkippedRowsWarning) as caught:
        split = kpikit.rfm_split(
            log, customer="customer", time="time", amount="amount", calibration_end="2024-01-05", invalid="skip"
        )
    assert caught[0].message.count == 4
    assert split["frequency"].tolist() == [1.0, 0.0] and split["frequency_holdout"].tolist() == [1.0, 0.0]
    assert split["monetary_value_holdout"].tolist() == [40.0, 0.0]
    with pytest.raises(kpikit.ParameterError, match='"invalid"'):
        kpikit.rfm_summary(log, customer="customer", time="time", invalid="drop")


def test_a_text_column_of_customers_is_a_schema_error() -> None:
    import polars as pl

    bg = BetaGeo()
    bg.params_ = dict(zip(["r", "alpha", "a", "b"], CDNOW, strict=True))
    rfm = pd.DataFrame({"frequency": ["two"], "recency": [1.0], "T": [2.0]})
    for table in (rfm, pl.from_pandas(rfm), {"frequency": ["two"], "recency": [1.0], "T": [2.0]}):
        with pytest.raises(kpikit.SchemaError, match='"frequency" must be numeric'):
            bg.conditional_probability_alive(table)


# --- customers and parameters a model cannot take are refused, naming them ---------------------

_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def _fitted() -> tuple[BetaGeo, GammaGamma]:
    bg, gg = BetaGeo(), GammaGamma()
    bg.params_, gg.params_ = dict(_BG), dict(_GG)
    return bg, gg


def _two_customers(**change: float) -> pd.DataFrame:
    rfm = pd.DataFrame({"frequency": [0.0, 2.0], "recency": [0.0, 30.43], "T": [38.86, 38.86], "monetary_value": [0.0, 22.35]})
    for column, value in change.items():
        rfm.loc[1, column] = value
    return rfm


@pytest.mark.parametrize(
    ("months", "discount_rate", "name"),
    [
        (2.5, 0.01, "months"),
        (0, 0.01, "months"),
        (True, 0.01, "months"),
        (12, -1.0, "discount_rate"),
        (12, float("nan"), "discount_rate"),
        (12, float("inf"), "discount_rate"),
    ],
)
def test_lifetime_value_refuses_parameters_it_would_coerce_or_overflow(months: Any, discount_rate: float, name: str) -> None:
    # months=2.5 once became 2 and discount_rate=-1 gave inf for everyone, NaN was accepted.
    bg, gg = _fitted()
    with pytest.raises(kpikit.ParameterError, match=f'"{name}"'):
        customer_lifetime_value(
            _two_customers(), transaction_model=bg, spend_model=gg, months=months, discount_rate=discount_rate, freq="week"
        )


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("recency", -1.0),
        ("recency", float("nan")),
        ("recency", 50.0),
        ("T", -5.0),
        ("T", float("inf")),
        ("frequency", -1.0),
        ("frequency", float("nan")),
        ("monetary_value", float("nan")),
        ("monetary_value", -3.0),
    ],
)
def test_lifetime_value_and_predictions_refuse_impossible_customers(column: str, value: float) -> None:
    # Negative recency once gave a clv (0.71) and NaN recency a NaN clv, without a word.
    bg, gg = _fitted()
    rfm = _two_customers(**{column: value})
    with pytest.raises(kpikit.InputError, match=f'column "{column}"'):
        customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, freq="week")
    if column != "monetary_value":
        with pytest.raises(kpikit.InputError, match=f'column "{column}"'):
            bg.conditional_probability_alive(rfm)
        with pytest.raises(kpikit.InputError, match=f'column "{column}"'):
            bg.conditional_expected_number_of_purchases_up_to_time(rfm, t=10.0)


def test_predictions_refuse_parameters_of_another_shape() -> None:
    bg, _ = _fitted()
    bg.params_ = {**_BG, "alpha": -4.4}
    with pytest.raises(kpikit.ParameterError, match="alpha"):
        bg.conditional_probability_alive(_two_customers())
    with pytest.raises(kpikit.ParameterError, match='"t"'):
        _fitted()[0].expected_number_of_purchases_up_to_time(-1.0)
    sbg = ShiftedBetaGeo()
    sbg.params_ = {"alpha": 0.704, "beta": 1.182}
    with pytest.raises(kpikit.ParameterError, match='"t"'):
        sbg.retention_rate(0.0)  # periods count from 1


# --- the RFM summary as a partial state: split by customer, merged, finished -------------------


def test_rfm_states_of_customer_partitions_merge_to_the_one_pass_summary() -> None:
    import pyarrow as pa

    from kpikit import _kpikit

    rng = np.random.default_rng(7)
    n = 2_000
    log = pa.table(
        {
            "customer": rng.integers(0, 150, n),
            "time": pa.array(pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400 * 24, n), unit="h")),
            "amount": rng.uniform(1.0, 50.0, n),
        }
    )
    settings: dict[str, Any] = {
        "customer": "customer",
        "time": "time",
        "amount": "amount",
        "freq": "week",
        "freq_multiplier": 2.0,
        "include_first": True,
    }
    one = pa.table(_kpikit.finish(_kpikit.rfm_summary(log, **settings)))
    customers = log["customer"].to_numpy()
    parts = [log.filter(pa.array(customers % 3 == k)) for k in range(3)]
    states = [_kpikit.rfm_summary(p, **settings) for p in reversed(parts)]
    merged = pa.table(_kpikit.finish(_kpikit.merge(states)))
    assert merged.equals(one)
    # By hand for one customer: weekly periods (Monday starts), include_first counts them all.
    c = int(customers[0])
    times = pd.Series(log["time"].to_pandas()[customers == c])
    weeks = sorted(set(times.dt.to_period("W-SUN")))
    row = one.filter(pa.compute.equal(one["customer"], c)).to_pylist()[0]
    assert row["frequency"] == len(weeks)
    assert row["recency"] == (weeks[-1] - weeks[0]).n / 2.0
    # A customer in two partitions cannot be merged exactly (distinct periods do not add up).
    half = [log.slice(0, n // 2), log.slice(n // 2)]
    with pytest.raises(kpikit.InputError, match="one partition"):
        _kpikit.merge([_kpikit.rfm_summary(p, **settings) for p in half])
    # Another setting does not merge; another analysis' state is refused.
    other = _kpikit.rfm_summary(parts[0], **{**settings, "freq_multiplier": 1.0})
    with pytest.raises(kpikit.ParameterError, match="freq_multiplier"):
        _kpikit.merge([states[0], other])
