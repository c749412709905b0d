//! Shifted-beta-geometric contract renewals: likelihood with its gradient, fit, survival
//! and residual lifetime.

use super::*;
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::kernels::clv::optim::{maximise_with_gradient, Fit, Options};
use crate::core::kernels::clv::special::{digamma, hyp2f1, ln_beta};

// ------------------------------------------------------------------------------------------
// Shifted-beta-geometric (Fader & Hardie 2007), params [alpha, beta]. A row is a customer (or
// a group of them, with weight) observed for `periods` renewal periods who either churned in
// the last of them or is still active.

pub const SHIFTED_BETA_GEO_PARAMS: [&str; 2] = ["alpha", "beta"];

/// P(T = t) = B(α+1, β+t−1)/B(α, β): churn in period t (t = 1, 2, …).
pub fn sbg_ln_p_churn(p: &[f64], t: f64) -> f64 {
    ln_beta(p[0] + 1.0, p[1] + t - 1.0) - ln_beta(p[0], p[1])
}

/// S(t) = B(α, β+t)/B(α, β): still active after t periods.
pub fn sbg_ln_survival(p: &[f64], t: f64) -> f64 {
    ln_beta(p[0], p[1] + t) - ln_beta(p[0], p[1])
}

/// Discounted expected residual lifetime (Fader & Hardie 2010, "Customer-base valuation in a
/// contractual setting", Marketing Science 29(1), eq. 6) of a customer who has made
/// `renewals` renewals (n − 1 in the paper) and is about to decide on the next, in periods:
///   DERL = Σ_{t>=n} S(t)/S(n−1) / (1+d)^(t−n)
///        = (β+n−1)/(α+β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d)).
pub fn sbg_residual_lifetime(p: &[f64], renewals: f64, discount_rate: f64) -> KpiResult<f64> {
    let (al, be) = (p[0], p[1]);
    if !(discount_rate > 0.0 && discount_rate.is_finite()) {
        return Err(KpiError::param(
            "discount_rate",
            format!(
                "must be > 0 (with 0 the expected lifetime can be infinite), got {discount_rate}"
            ),
        ));
    }
    if !(renewals >= 0.0 && renewals.fract() == 0.0) {
        return Err(KpiError::param(
            "renewals",
            format!("must be a whole number >= 0, got {renewals}"),
        ));
    }
    let n = renewals + 1.0;
    let f = hyp2f1(1.0, be + n, al + be + n, 1.0 / (1.0 + discount_rate))?;
    Ok((be + n - 1.0) / (al + be + n - 1.0) * f.sign * f.ln_abs.exp())
}

/// Rows from a cohort's survivors n₀ … n_k: n_{t−1} − n_t churned in period t, n_k survive.
pub fn sbg_rows_from_survivors(survivors: &[f64]) -> KpiResult<(Vec<f64>, Vec<bool>, Vec<f64>)> {
    let mut bad = BadRows::default();
    for i in 0..survivors.len() {
        let ok = survivors[i].is_finite()
            && survivors[i] >= 0.0
            && (i == 0 || survivors[i] <= survivors[i - 1]);
        if !ok {
            bad.push(i, || format!("{}", survivors[i]));
        }
    }
    KpiError::check_rows(
        "survivors",
        "must be non-negative and never increase (n0 >= n1 >= ...)",
        bad,
    )?;
    if survivors.len() < 2 {
        return Err(KpiError::param(
            "survivors",
            "needs the starting count and at least one later period",
        ));
    }
    let (mut periods, mut churned, mut weights) = (vec![], vec![], vec![]);
    for t in 1..survivors.len() {
        periods.push(t as f64);
        churned.push(true);
        weights.push(survivors[t - 1] - survivors[t]);
    }
    periods.push((survivors.len() - 1) as f64);
    churned.push(false);
    weights.push(survivors[survivors.len() - 1]);
    Ok((periods, churned, weights))
}

pub fn sbg_ll(p: &[f64], periods: &[f64], churned: &[bool], w: &[f64]) -> f64 {
    (0..periods.len())
        .filter(|&i| w[i] > 0.0)
        .map(|i| {
            w[i] * if churned[i] {
                sbg_ln_p_churn(p, periods[i])
            } else {
                sbg_ln_survival(p, periods[i])
            }
        })
        .sum()
}

/// sBG log-likelihood and its gradient in (α, β):
///   ∂ ln P(T=t)/∂α = ψ(α+1) − ψ(α) + ψ(α+β) − ψ(α+β+t)
///   ∂ ln P(T=t)/∂β = ψ(β+t−1) − ψ(β) + ψ(α+β) − ψ(α+β+t)
///   ∂ ln S(t)/∂α = ψ(α+β) − ψ(α+β+t)
///   ∂ ln S(t)/∂β = ψ(β+t) − ψ(β) + ψ(α+β) − ψ(α+β+t).
pub fn sbg_ll_grad(p: &[f64], periods: &[f64], churned: &[bool], w: &[f64]) -> (f64, Vec<f64>) {
    let (al, be) = (p[0], p[1]);
    let (psi_a, psi_a1, psi_b, psi_ab) = (
        digamma(al),
        digamma(al + 1.0),
        digamma(be),
        digamma(al + be),
    );
    let mut out = [0.0; 3];
    for i in (0..periods.len()).filter(|&i| w[i] > 0.0) {
        let t = periods[i];
        let psi_abt = digamma(al + be + t);
        let v = if churned[i] {
            [
                sbg_ln_p_churn(p, t),
                psi_a1 - psi_a + psi_ab - psi_abt,
                digamma(be + t - 1.0) - psi_b + psi_ab - psi_abt,
            ]
        } else {
            [
                sbg_ln_survival(p, t),
                psi_ab - psi_abt,
                digamma(be + t) - psi_b + psi_ab - psi_abt,
            ]
        };
        for k in 0..3 {
            out[k] += w[i] * v[k];
        }
    }
    (out[0], out[1..].to_vec())
}

pub fn fit_shifted_beta_geo(
    periods: &[f64],
    churned: &[bool],
    w: &[f64],
    initial: Option<&[f64]>,
    opts: &Options,
) -> KpiResult<Fit> {
    let mut bad = BadRows::default();
    for i in 0..periods.len() {
        let ok = periods[i] >= 1.0 && periods[i].fract() == 0.0 && w[i] >= 0.0;
        if !ok {
            bad.push(i, || format!("periods {} weight {}", periods[i], w[i]));
        }
    }
    KpiError::check_rows(
        "periods",
        "must be whole numbers >= 1 (the renewal period of churn, or periods observed) with weights >= 0",
        bad,
    )?;
    let tw: f64 = w.iter().sum();
    if tw <= 0.0 {
        return Err(KpiError::param("periods", "no customers to fit"));
    }
    let start = start_or(initial, vec![1.0, 1.0], &SHIFTED_BETA_GEO_PARAMS)?;
    maximise_with_gradient(
        "ShiftedBetaGeo",
        &SHIFTED_BETA_GEO_PARAMS,
        &|p: &[f64]| sbg_ll_grad(p, periods, churned, w),
        tw,
        &start,
        opts,
    )
}
