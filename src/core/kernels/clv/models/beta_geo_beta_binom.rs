//! BG/BB (Fader, Hardie & Shang 2010, "Customer-Base Analysis in a Discrete-Time
//! Noncontractual Setting", Marketing Science 29(6)): repeat transactions at n discrete
//! opportunities (docs/conventions.md#btyd-models). Params [alpha, beta, gamma, delta].
//!
//! While alive a customer transacts at each opportunity with probability p ~ Beta(α, β); before
//! each opportunity an alive customer dies with probability θ ~ Beta(γ, δ). A customer is
//! (x, t_x, n): x transactions in n opportunities, the last at opportunity t_x (0 without any).

use super::*;
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::kernels::clv::optim::{maximise, Fit, Options};
use crate::core::kernels::clv::special::{hyp2f1, ln_beta, ln_gamma};

pub const BETA_GEO_BETA_BINOM_PARAMS: [&str; 4] = ["alpha", "beta", "gamma", "delta"];

/// Log-likelihood of one customer (the paper's eq. 5), a sum of positive terms added in log
/// space:
///   L = B(α+x, β+n−x)/B(α, β) · B(γ, δ+n)/B(γ, δ)
///     + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α, β) · B(γ+1, δ+t_x+i)/B(γ, δ).
/// The first term is "alive through opportunity n", the i-th "died just after t_x + i".
pub fn bgbb_ll_one(p: &[f64], x: f64, tx: f64, n: f64) -> f64 {
    let (alpha, beta, gamma, delta) = (p[0], p[1], p[2], p[3]);
    let (lb_ab, lb_gd) = (ln_beta(alpha, beta), ln_beta(gamma, delta));
    let mut ll = ln_beta(alpha + x, beta + n - x) - lb_ab + ln_beta(gamma, delta + n) - lb_gd;
    let dead = (n - tx).max(0.0) as u64;
    for i in 0..dead {
        let i = i as f64;
        let term = ln_beta(alpha + x, beta + tx - x + i) - lb_ab
            + ln_beta(gamma + 1.0, delta + tx + i)
            - lb_gd;
        ll = log_add_exp(ll, term);
    }
    ll
}

/// Total weighted BG/BB log-likelihood of collapsed rows (n in the `t` slot).
pub fn bgbb_ll(p: &[f64], d: &Collapsed) -> f64 {
    par_sum(d.x.len(), |i| {
        d.w[i] * bgbb_ll_one(p, d.x[i], d.tx[i], d.t[i])
    })
}

/// The rules of a discrete-time customer beyond those of [`collapse`]: x, t_x and n whole
/// numbers, and x <= t_x with t_x = 0 exactly when x = 0 (the last of x transactions is at
/// opportunity t_x).
pub fn check_discrete(x: &[f64], tx: &[f64], n: &[f64]) -> KpiResult<()> {
    let mut bad_whole = BadRows::default();
    let mut bad_order = BadRows::default();
    for i in 0..x.len().min(tx.len()).min(n.len()) {
        let whole = |v: f64| v.is_finite() && v.fract() == 0.0;
        if !(whole(x[i]) && whole(tx[i]) && whole(n[i])) {
            bad_whole.push(i, || {
                format!("frequency {} recency {} T {}", x[i], tx[i], n[i])
            });
        } else if x[i] > tx[i] || (x[i] == 0.0) != (tx[i] == 0.0) {
            bad_order.push(i, || format!("frequency {} recency {}", x[i], tx[i]));
        }
    }
    KpiError::check_rows(
        "frequency",
        "must be whole numbers of transactions and opportunities (frequency, recency, T) for a discrete-time model",
        bad_whole,
    )?;
    KpiError::check_rows(
        "recency",
        "must be the opportunity of the last transaction: frequency <= recency, and recency 0 exactly when frequency is 0",
        bad_order,
    )
}

pub fn fit_bgbb(d: &Collapsed, initial: Option<&[f64]>, opts: &Options) -> KpiResult<Fit> {
    check_discrete(&d.x, &d.tx, &d.t)?;
    let start = start_or(
        initial,
        vec![1.0, 1.0, 1.0, 1.0],
        &BETA_GEO_BETA_BINOM_PARAMS,
    )?;
    maximise(
        "BetaGeoBetaBinom",
        &BETA_GEO_BETA_BINOM_PARAMS,
        &|p: &[f64]| bgbb_ll(p, d),
        d.total_weight(),
        &start,
        opts,
    )
}

/// Beyond this many opportunities a sum of survival ratios uses its closed form.
const SUM_MAX: f64 = 10_000.0;

/// Σ_{s=1}^{k} B(γ, δ+s)/B(γ, δ): the expected number of the next k opportunities a customer
/// alive now is alive at. Term by term with the ratio B(γ, δ+s)/B(γ, δ+s−1) = (δ+s−1)/(γ+δ+s−1)
/// (all terms positive, no cancellation); for long horizons the closed form
///   δ/(γ−1) · [1 − Γ(γ+δ) Γ(1+δ+k) / (Γ(γ+δ+k) Γ(1+δ))]
/// (away from γ = 1, where it is 0/0).
fn alive_sum(gamma: f64, delta: f64, k: f64) -> f64 {
    if k > SUM_MAX && (gamma - 1.0).abs() > 1e-3 {
        let ratio = (ln_gamma(gamma + delta) + ln_gamma(1.0 + delta + k)
            - ln_gamma(gamma + delta + k)
            - ln_gamma(1.0 + delta))
        .exp();
        return delta / (gamma - 1.0) * (1.0 - ratio);
    }
    let (mut term, mut sum) = (1.0, 0.0);
    for s in 1..=(k as u64) {
        let s = s as f64;
        term *= (delta + s - 1.0) / (gamma + delta + s - 1.0);
        sum += term;
    }
    sum
}

/// P(alive at opportunity n + m | x, t_x, n) (the paper's eq. 11 for m = 1):
///   B(α+x, β+n−x)/B(α, β) · B(γ, δ+n+m)/B(γ, δ) / L(x, t_x, n).
pub fn bgbb_p_alive(p: &[f64], x: f64, tx: f64, n: f64, m: f64) -> f64 {
    let (alpha, beta, gamma, delta) = (p[0], p[1], p[2], p[3]);
    let num = ln_beta(alpha + x, beta + n - x) - ln_beta(alpha, beta)
        + ln_beta(gamma, delta + n + m)
        - ln_beta(gamma, delta);
    (num - bgbb_ll_one(p, x, tx, n)).exp().min(1.0)
}

/// E[X(k)]: expected transactions of a new customer in the first k opportunities (eq. 9):
///   α/(α+β) · Σ_{s=1}^{k} B(γ, δ+s)/B(γ, δ).
pub fn bgbb_expected(p: &[f64], k: f64) -> f64 {
    p[0] / (p[0] + p[1]) * alive_sum(p[2], p[3], k)
}

/// E[X(n, n+n*) | x, t_x, n]: expected transactions in the next n* opportunities (eq. 13):
///   B(α+x+1, β+n−x)/B(α, β) · B(γ, δ+n)/B(γ, δ) / L · Σ_{s=1}^{n*} B(γ, δ+n+s)/B(γ, δ+n)
/// (alive at n, times the posterior mean of p, times the opportunities still alive at).
pub fn bgbb_conditional(p: &[f64], n_star: f64, x: f64, tx: f64, n: f64) -> f64 {
    let (alpha, beta, gamma, delta) = (p[0], p[1], p[2], p[3]);
    let ln_front = ln_beta(alpha + x + 1.0, beta + n - x) - ln_beta(alpha, beta)
        + ln_beta(gamma, delta + n)
        - ln_beta(gamma, delta)
        - bgbb_ll_one(p, x, tx, n);
    ln_front.exp() * alive_sum(gamma, delta + n, n_star)
}

/// Discounted expected transactions over the next `horizon` opportunities (all of them for
/// None), with discount rate `d` per opportunity (docs/conventions.md#btyd-models). The
/// expected transaction at opportunity n+s is "alive at n+s" times the posterior mean of p:
///   E[Y_{n+s} | x, t_x, n] = B(α+x+1, β+n−x)/B(α, β) · B(γ, δ+n+s)/B(γ, δ) / L,
/// so with F = B(α+x+1, β+n−x)/B(α, β) · B(γ, δ+n)/B(γ, δ) / L,
///   Σ_{s=1}^{N} E[Y_{n+s}] / (1+d)^s = F · Σ_{s=1}^{N} B(γ, δ+n+s)/B(γ, δ+n) / (1+d)^s.
/// Without a bound the sum is the paper's DERT (eq. 14):
///   F · (δ+n)/(γ+δ+n) / (1+d) · 2F1(1, δ+n+1; γ+δ+n+1; 1/(1+d))    (d > 0),
/// since the ratio of consecutive terms is (δ+n+s)/(γ+δ+n+s) / (1+d).
pub fn bgbb_discounted(
    p: &[f64],
    x: f64,
    tx: f64,
    n: f64,
    horizon: Option<u64>,
    d: f64,
) -> KpiResult<f64> {
    let (alpha, beta, gamma, delta) = (p[0], p[1], p[2], p[3]);
    let ln_front = ln_beta(alpha + x + 1.0, beta + n - x) - ln_beta(alpha, beta)
        + ln_beta(gamma, delta + n)
        - ln_beta(gamma, delta)
        - bgbb_ll_one(p, x, tx, n);
    let dn = delta + n;
    let sum = match horizon {
        Some(k) => {
            let (mut term, mut sum) = (1.0, 0.0);
            for s in 1..=k {
                let s = s as f64;
                term *= (dn + s - 1.0) / (gamma + dn + s - 1.0) / (1.0 + d);
                sum += term;
            }
            sum
        }
        None => {
            let z = 1.0 / (1.0 + d);
            dn / (gamma + dn) * z * hyp2f1(1.0, dn + 1.0, gamma + dn + 1.0, z)?.value()
        }
    };
    Ok(ln_front.exp() * sum)
}
