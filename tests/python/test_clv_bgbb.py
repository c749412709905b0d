"""BG/BB, log-likelihoods at given parameters, and lifetime values from a monetary column.

Published figures: Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time
Noncontractual Setting", Marketing Science 29(6), on their donation data (11,104 first-time
donors of 1995, 6 repeat opportunities 1996–2001): α = 1.204, β = 0.750, γ = 0.657,
δ = 2.783, log-likelihood −33,225.6. The summarised data is lifetimes' ``donations.csv``
(MIT licence, tests/data/lifetimes).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kpikit
from kpikit.clv import BetaGeo, BetaGeoBetaBinom, GammaGamma, ParetoNBD, ShiftedBetaGeo, customer_lifetime_value

DATA = Path(__file__).parent.parent / "data" / "lifetimes"
PAPER = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "donations.csv")
    return raw.rename(columns={"n": "T", "n_custs": "donors"})


@pytest.fixture(scope="module")
def fitted(donations: pd.DataFrame) -> BetaGeoBetaBinom:
    return BetaGeoBetaBinom().fit(donations, weights="donors")


def test_donations_fixture_is_the_papers_cohort(donations: pd.DataFrame) -> None:
    assert donations["donors"].sum() == 11_104
    assert (donations["T"] == 6).all()
    # Table 1 of the paper: 3,464 donors never gave again, 1,203 gave in every year.
    assert donations.loc[donations["frequency"] == 0, "donors"].item() == 3464
    assert donations.loc[donations["frequency"] == 6, "donors"].item() == 1203


def test_published_parameters_and_log_likelihood(fitted: BetaGeoBetaBinom) -> None:
    assert fitted.params_ is not None and fitted.standard_errors_ is not None
    for name, value in PAPER.items():
        assert fitted.params_[name] == pytest.approx(value, abs=5e-4), fitted.params_
    assert fitted.log_likelihood_ == pytest.approx(-33_225.6, abs=0.05)
    assert all(se is not None and 0 < se < 1 for se in fitted.standard_errors_.values())
    assert list(fitted.summary.index) == ["alpha", "beta", "gamma", "delta"]


# --- a plain reference of the paper's formulas (math.lgamma, term by term) -------------------


def ln_b(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def likelihood(p: dict[str, float], x: int, tx: int, n: int) -> float:
    a, b, g, d = p["alpha"], p["beta"], p["gamma"], p["delta"]
    total = math.exp(ln_b(a + x, b + n - x) - ln_b(a, b) + ln_b(g, d + n) - ln_b(g, d))
    for i in range(n - tx):
        total += math.exp(ln_b(a + x, b + tx - x + i) - ln_b(a, b) + ln_b(g + 1, d + tx + i) - ln_b(g, d))
    return total


def alive(p: dict[str, float], x: int, tx: int, n: int, m: int) -> float:
    a, b, g, d = p["alpha"], p["beta"], p["gamma"], p["delta"]
    num = math.exp(ln_b(a + x, b + n - x) - ln_b(a, b) + ln_b(g, d + n + m) - ln_b(g, d))
    return num / likelihood(p, x, tx, n)


def expected_future(p: dict[str, float], x: int, tx: int, n: int, k: int) -> float:
    # Σ over the next k opportunities of P(alive there) × E[p | history].
    a, b = p["alpha"], p["beta"]
    return sum(alive(p, x, tx, n, m) for m in range(1, k + 1)) * (a + x) / (a + b + n)


def test_predictions_match_the_papers_formulas(fitted: BetaGeoBetaBinom) -> None:
    rows = pd.DataFrame({"frequency": [0, 1, 3, 6, 2], "recency": [0, 1, 6, 6, 5], "T": [6, 6, 6, 6, 9]})
    triples = list(zip(rows["frequency"], rows["recency"], rows["T"], strict=True))
    want = [alive(PAPER, x, tx, n, 1) for x, tx, n in triples]
    m = BetaGeoBetaBinom()
    m.params_ = dict(PAPER)
    assert m.conditional_probability_alive(rows).tolist() == pytest.approx(want, rel=1e-12)
    want0 = [alive(PAPER, x, tx, n, 0) for x, tx, n in triples]
    assert m.conditional_probability_alive(rows, t=0).tolist() == pytest.approx(want0, rel=1e-12)
    # Someone who gave at every opportunity is alive for sure at the last one.
    assert want0[3] == pytest.approx(1.0)
    got = m.conditional_expected_number_of_purchases_up_to_time(rows, t=5)
    assert got.tolist() == pytest.approx([expected_future(PAPER, x, tx, n, 5) for x, tx, n in triples], rel=1e-12)
    # A new customer: α/(α+β) × Σ_{s=1..t} P(alive at s), the paper's eq. 9 in closed form.
    a, b, g, d = PAPER.values()
    for t in (1, 6, 11):
        closed = (
            a
            / (a + b)
            * d
            / (g - 1)
            * (1 - math.exp(math.lgamma(g + d) - math.lgamma(g + d + t) + math.lgamma(1 + d + t) - math.lgamma(1 + d)))
        )
        assert m.expected_number_of_purchases_up_to_time(t) == pytest.approx(closed, rel=1e-12)
    # At the fit: the log-likelihood at given parameters is the fit's.
    assert fitted.log_likelihood(
        pd.read_csv(DATA / "donations.csv").rename(columns={"n": "T"}), weights="n_custs"
    ) == pytest.approx(fitted.log_likelihood_, rel=1e-12)


def test_discrete_rows_are_checked() -> None:
    m = BetaGeoBetaBinom()
    m.params_ = dict(PAPER)
    with pytest.raises(kpikit.InputError, match="frequency"):
        m.conditional_probability_alive({"frequency": [1.5], "recency": [2], "T": [6]})
    with pytest.raises(kpikit.InputError, match="recency"):
        m.conditional_probability_alive({"frequency": [3], "recency": [2], "T": [6]})
    with pytest.raises(kpikit.InputError, match="recency"):
        BetaGeoBetaBinom().fit({"frequency": [0, 1], "recency": [2, 1], "T": [6, 6]})
    with pytest.raises(kpikit.ParameterError, match='"t"'):
        m.conditional_expected_number_of_purchases_up_to_time({"frequency": [1], "recency": [1], "T": [6]}, t=0.5)
    with pytest.raises(kpikit.ParameterError, match="no prediction"):
        m.probability_of_n_purchases_up_to_time(3, 1)


# --- log-likelihoods at given parameters --------------------------------------------------------

CUSTOMERS = {"frequency": [0, 3, 1, 6], "recency": [0, 7, 2, 9], "T": [10, 10, 10, 10]}
DISCRETE = {"frequency": [0, 3, 1, 6, 2], "recency": [0, 5, 1, 6, 4], "T": [6, 6, 6, 6, 6]}
SPEND = {"frequency": [1, 3, 6], "monetary_value": [20.0, 35.5, 12.25]}
RENEWALS = {"periods": [1, 3, 4, 7], "churned": [True, True, False, False]}
LO, HI = 1e-6, 1e6

# Σ ln L of the rows above, computed with mpmath 1.4 at 60 significant digits from the
# published closed forms (the Pareto/NBD one with mpmath's own 2F1): an independent
# evaluation in arbitrary precision, against kpikit's log-space one in double precision.
REFERENCE = [
    (BetaGeo, CUSTOMERS, [LO] * 4, -59.279488383398872061),
    (BetaGeo, CUSTOMERS, [HI] * 4, -34.569224183756854724),
    (BetaGeo, CUSTOMERS, [LO, HI, LO, HI], -174.12109454640859876),
    (BetaGeo, CUSTOMERS, [HI, LO, HI, LO], -62400912.806429943217),
    (BetaGeo, CUSTOMERS, [LO, LO, HI, HI], -61.708209291517944769),
    (BetaGeo, CUSTOMERS, [HI, HI, LO, LO], -34.07902131960116928),
    (BetaGeo, CUSTOMERS, [0.5, 3.0, 0.7, 2.0], -24.113333547223466461),
    (ParetoNBD, CUSTOMERS, [LO] * 4, -58.991848938271567528),
    (ParetoNBD, CUSTOMERS, [HI] * 4, -38.643112535751064348),
    (ParetoNBD, CUSTOMERS, [LO, HI, LO, HI], -174.12109454641959867),
    (ParetoNBD, CUSTOMERS, [HI, LO, HI, LO], -92565513.001321655676),
    (ParetoNBD, CUSTOMERS, [LO, LO, HI, HI], -74.706917918456738459),
    (ParetoNBD, CUSTOMERS, [HI, HI, LO, LO], -39.743000197955031596),
    (ParetoNBD, CUSTOMERS, [0.5, 3.0, 0.7, 2.0], -25.209451734529292461),
    (BetaGeoBetaBinom, DISCRETE, [LO] * 4, -53.49401261145334311),
    (BetaGeoBetaBinom, DISCRETE, [HI] * 4, -23.653386984556484462),
    (BetaGeoBetaBinom, DISCRETE, [LO, HI, LO, HI], -215.56756622071541814),
    (BetaGeoBetaBinom, DISCRETE, [HI, LO, HI, LO], -349.44601426464470479),
    (BetaGeoBetaBinom, DISCRETE, [LO, LO, HI, HI], -47.464802224164978824),
    (BetaGeoBetaBinom, DISCRETE, [HI, HI, LO, LO], -20.085718559260495452),
    (BetaGeoBetaBinom, DISCRETE, [0.5, 3.0, 0.7, 2.0], -21.864532071870202769),
    (GammaGamma, SPEND, [LO] * 3, -51.652355921436026424),
    (GammaGamma, SPEND, [HI] * 3, -88865748.875554681481),
    (GammaGamma, SPEND, [LO, HI, LO], -53407742.038617092192),
    (GammaGamma, SPEND, [HI, LO, HI], -95372056.897185956863),
    (GammaGamma, SPEND, [HI, HI, LO], -46901237.075828811154),
    (GammaGamma, SPEND, [2.0, 3.0, 15.0], -12.746949931660498419),
    (ShiftedBetaGeo, RENEWALS, [LO, LO], -17.281252744091055288),
    (ShiftedBetaGeo, RENEWALS, [HI, HI], -10.397194708438429502),
    (ShiftedBetaGeo, RENEWALS, [LO, HI], -55.26204423187009648),
    (ShiftedBetaGeo, RENEWALS, [HI, LO], -212.67718296281882285),
    (ShiftedBetaGeo, RENEWALS, [0.7, 1.2], -5.9535378698470376694),
]


@pytest.mark.parametrize(("model", "rows", "params", "want"), REFERENCE)
def test_log_likelihood_at_extreme_parameters_matches_a_high_precision_reference(
    model: type, rows: dict[str, list[float]], params: list[float], want: float
) -> None:
    got = model().log_likelihood(rows, params=params)
    assert math.isfinite(got)
    # Log-gamma differences of arguments near 1e6 carry ~1e-9 absolute error each.
    assert got == pytest.approx(want, rel=1e-9, abs=1e-6)


def test_log_likelihood_equals_the_fits_and_takes_parameters_by_name() -> None:
    cdnow = pd.read_csv(DATA / "cdnow_customers_summary.csv")
    bg = BetaGeo().fit(cdnow)
    assert bg.log_likelihood(cdnow) == pytest.approx(bg.log_likelihood_, rel=1e-12)
    assert bg.params_ is not None
    by_name = bg.log_likelihood(cdnow, params=dict(bg.params_))
    assert by_name == bg.log_likelihood(cdnow)
    # The fitted parameters are the best: any other set has a lower log-likelihood.
    worse = {k: v * 1.1 for k, v in bg.params_.items()}
    assert bg.log_likelihood(cdnow, params=worse) < bg.log_likelihood_
    # Weights count rows: two copies of every row double the log-likelihood.
    doubled = cdnow.assign(w=2.0)
    assert bg.log_likelihood(doubled, weights="w") == pytest.approx(2 * bg.log_likelihood_, rel=1e-12)
    sbg = ShiftedBetaGeo().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    assert sbg.log_likelihood([1000, 631, 468, 382, 326, 289, 262, 241]) == pytest.approx(sbg.log_likelihood_, rel=1e-12)
    with pytest.raises(kpikit.ParameterError, match="params"):
        bg.log_likelihood(cdnow, params=[1.0, 2.0])
    with pytest.raises(kpikit.ParameterError, match="params"):
        bg.log_likelihood(cdnow, params={"r": 1.0})
    with pytest.raises(kpikit.ParameterError, match="alpha"):
        bg.log_likelihood(cdnow, params=[0.2, -1.0, 0.8, 2.4])
    with pytest.raises(kpikit.InputError, match="recency"):
        bg.log_likelihood({"frequency": [1], "recency": [5], "T": [3]})


# --- lifetime value from a monetary column ------------------------------------------------------


def test_lifetime_value_from_a_monetary_column_by_hand() -> None:
    bg = BetaGeo()
    bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    rfm = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86], "margin": [8.0]})
    # Two months of 4.345 weeks at 1 % a month: m · (E1 / 1.01 + (E2 − E1) / 1.01²) with E the
    # conditional expected purchases after 4.345 and 8.69 weeks.
    e1 = bg.conditional_expected_number_of_purchases_up_to_time(rfm, t=4.345).item()
    e2 = bg.conditional_expected_number_of_purchases_up_to_time(rfm, t=8.69).item()
    want = 8.0 * (e1 / 1.01 + (e2 - e1) / 1.01**2)
    got = customer_lifetime_value(rfm, transaction_model=bg, monetary_value="margin", months=2, freq="week")
    assert got.item() == pytest.approx(want, rel=1e-12)
    # Value is linear in the monetary column: 0 gives 0.
    zero = customer_lifetime_value(rfm.assign(margin=0.0), transaction_model=bg, monetary_value="margin", freq="week")
    assert zero.item() == 0.0


def test_lifetime_value_spend_arguments_are_checked() -> None:
    bg, gg = BetaGeo(), GammaGamma()
    bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    rfm = {
        "frequency": np.array([2.0]),
        "recency": np.array([30.0]),
        "T": np.array([38.0]),
        "monetary_value": np.array([20.0]),
        "margin": np.array([-1.0]),
    }
    with pytest.raises(kpikit.ParameterError, match="exactly one"):
        customer_lifetime_value(rfm, transaction_model=bg)
    with pytest.raises(kpikit.ParameterError, match="exactly one"):
        customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, monetary_value="monetary_value")
    with pytest.raises(kpikit.InputError, match="margin"):
        customer_lifetime_value(rfm, transaction_model=bg, monetary_value="margin")
    # Which time units a lifetime value takes is the core's table.
    with pytest.raises(kpikit.ParameterError, match="freq"):
        customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, freq="quarter")
