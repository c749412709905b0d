//! Gamma-Gamma spend model: likelihood with its gradient, fit and expected spend.

use super::*;
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::check_same_len_of;
use crate::core::kernels::clv::optim::{maximise_with_gradient, Fit, Options};
use crate::core::kernels::clv::special::{digamma, ln_gamma};

// ------------------------------------------------------------------------------------------
// Gamma-Gamma spend model (Fader, Hardie & Lee 2005; Fader & Hardie 2013 note), params
// [p, q, v].

pub const GAMMA_GAMMA_PARAMS: [&str; 3] = ["p", "q", "v"];

/// ln f(m̄ | p, q, v; x) = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + (px−1) ln m̄ + px ln x
///   − (px+q) ln(v + x m̄).
pub fn gamma_gamma_ll_one(pp: &[f64], x: f64, m: f64) -> f64 {
    let (p, q, v) = (pp[0], pp[1], pp[2]);
    let px = p * x;
    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln() + (px - 1.0) * m.ln() + px * x.ln()
        - (px + q) * (v + x * m).ln()
}

/// Spend rows: repeat customers only (x > 0, m̄ > 0), collapsed with weights.
pub fn collapse_spend(x: &[f64], m: &[f64], w: Option<&[f64]>) -> KpiResult<Collapsed> {
    check_same_len_of(("frequency", x.len()), [("monetary_value", m.len())])?;
    let mut bad = BadRows::default();
    for i in 0..x.len() {
        if x[i] > 0.0 && !(m[i].is_finite() && m[i] > 0.0) {
            bad.push(i, || format!("{}", m[i]));
        }
    }
    KpiError::check_rows(
        "monetary_value",
        "must be positive for customers with repeat purchases (frequency > 0); customers with frequency 0 are left out of the fit",
        bad,
    )?;
    let keep: Vec<usize> = (0..x.len()).filter(|&i| x[i] > 0.0).collect();
    let xs: Vec<f64> = keep.iter().map(|&i| x[i]).collect();
    let ms: Vec<f64> = keep.iter().map(|&i| m[i]).collect();
    let ws: Option<Vec<f64>> = w.map(|w| keep.iter().map(|&i| w[i]).collect());
    // Reuse the (x, t_x, T) collapse with m̄ in the recency slot and T = m̄ (always valid).
    let c = collapse(&xs, &ms, &ms, ws.as_deref())?;
    Ok(c)
}

pub fn gamma_gamma_ll(p: &[f64], d: &Collapsed) -> f64 {
    gamma_gamma_ll_grad(p, d).0
}

/// Total weighted Gamma-Gamma log-likelihood (m̄ in the recency slot of `d`) and its gradient:
///   ∂ll/∂p = x (ψ(px+q) − ψ(px) + ln m̄ + ln x − ln(v + x m̄))
///   ∂ll/∂q = ψ(px+q) − ψ(q) + ln v − ln(v + x m̄)
///   ∂ll/∂v = q/v − (px+q)/(v + x m̄).
/// Gamma and digamma terms once per distinct x.
pub fn gamma_gamma_ll_grad(pp: &[f64], d: &Collapsed) -> (f64, Vec<f64>) {
    let (p, q, v) = (pp[0], pp[1], pp[2]);
    let (lgq, psi_q, lv) = (ln_gamma(q), digamma(q), v.ln());
    // Per x: (ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + px ln x, ln x, ψ(px+q), ψ(px)).
    let per_x: Vec<[f64; 4]> =
        d.xs.iter()
            .map(|&x| {
                let px = p * x;
                [
                    ln_gamma(px + q) - ln_gamma(px) - lgq + q * lv + px * x.ln(),
                    x.ln(),
                    digamma(px + q),
                    digamma(px),
                ]
            })
            .collect();
    let out = par_sum_k(d.x.len(), |i| {
        let k = &per_x[d.xi[i] as usize];
        let (x, m) = (d.x[i], d.tx[i]);
        let px = p * x;
        let (lm, lvm) = (m.ln(), (v + x * m).ln());
        let wi = d.w[i];
        [
            wi * (k[0] + (px - 1.0) * lm - (px + q) * lvm),
            wi * x * (k[2] - k[3] + lm + k[1] - lvm),
            wi * (k[2] - psi_q + lv - lvm),
            wi * (q / v - (px + q) / (v + x * m)),
        ]
    });
    (out[0], out[1..].to_vec())
}

pub fn fit_gamma_gamma(d: &Collapsed, initial: Option<&[f64]>, opts: &Options) -> KpiResult<Fit> {
    let tw = d.total_weight();
    let mean_m = d.tx.iter().zip(&d.w).map(|(m, w)| m * w).sum::<f64>() / tw;
    let start = start_or(
        initial,
        vec![1.0, 2.0, mean_m.max(1e-6)],
        &GAMMA_GAMMA_PARAMS,
    )?;
    maximise_with_gradient(
        "GammaGamma",
        &GAMMA_GAMMA_PARAMS,
        &|p: &[f64]| gamma_gamma_ll_grad(p, d),
        tw,
        &start,
        opts,
    )
}

/// E[M | x, m̄] = p (v + x m̄) / (p x + q − 1); x = 0 gives the population mean p v / (q − 1).
pub fn gamma_gamma_expected(pp: &[f64], x: f64, m: f64) -> f64 {
    let (p, q, v) = (pp[0], pp[1], pp[2]);
    let m = if x > 0.0 { m } else { 0.0 };
    p * (v + x * m) / (p * x + q - 1.0)
}
