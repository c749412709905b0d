//! BG/NBD (Fader, Hardie & Lee 2005): likelihood with its gradient, fit and predictions.

use super::*;
use crate::core::error::KpiResult;
use crate::core::kernels::clv::optim::{maximise_with_gradient, Fit, Options};
use crate::core::kernels::clv::special::{digamma, hyp2f1, ln_beta, ln_gamma};

// ------------------------------------------------------------------------------------------
// BG/NBD (Fader, Hardie & Lee 2005), params [r, alpha, a, b].

pub const BETA_GEO_PARAMS: [&str; 4] = ["r", "alpha", "a", "b"];

/// Log-likelihood of one customer:
/// L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
///   + 1[x>0] · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)).
pub fn beta_geo_ll_one(p: &[f64], x: f64, tx: f64, t: f64) -> f64 {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let lb = ln_beta(a, b);
    let a2 = ln_beta(a, b + x) - lb - (r + x) * (alpha + t).ln();
    let a3 = if x > 0.0 {
        ln_beta(a + 1.0, b + x - 1.0) - lb - (r + x) * (alpha + tx).ln()
    } else {
        f64::NEG_INFINITY
    };
    a1 + log_add_exp(a2, a3)
}

pub fn beta_geo_ll(p: &[f64], d: &Collapsed) -> f64 {
    beta_geo_ll_grad(p, d).0
}

/// The terms of the BG/NBD log-likelihood and its gradient that depend on x only.
pub(super) struct BetaGeoPerX {
    /// ln Γ(r+x) − ln Γ(r) + r ln α − ln B(a, b)
    c1: f64,
    /// ln B(a, b+x), ln B(a+1, b+x−1) (−∞ for x = 0)
    c2: f64,
    c3: f64,
    /// ∂c1/∂r; ∂(c2 − ln B(a,b))/∂a, /∂b; ∂(c3 − ln B(a,b))/∂a, /∂b.
    dr: f64,
    da2: f64,
    db2: f64,
    da3: f64,
    db3: f64,
}

/// Total weighted BG/NBD log-likelihood and its gradient in (r, α, a, b). With
/// A₂ = ln B(a, b+x) − ln B(a, b) − (r+x) ln(α+T), A₃ the same with B(a+1, b+x−1) and t_x,
/// ll = ln Γ(r+x) − ln Γ(r) + r ln α + ln(e^A₂ + e^A₃), and with w₂ = e^A₂/(e^A₂ + e^A₃):
///   ∂ll/∂r = ψ(r+x) − ψ(r) + ln α − w₂ ln(α+T) − w₃ ln(α+t_x)
///   ∂ll/∂α = r/α − (r+x) (w₂/(α+T) + w₃/(α+t_x))
///   ∂ll/∂a = w₂ (ψ(a+b) − ψ(a+b+x)) + w₃ (ψ(a+1) − ψ(a) + ψ(a+b) − ψ(a+b+x))
///   ∂ll/∂b = w₂ (ψ(b+x) − ψ(b) + ψ(a+b) − ψ(a+b+x)) + w₃ (ψ(b+x−1) − ψ(b) + ψ(a+b) − ψ(a+b+x)).
/// The gamma and digamma terms depend on x only and are computed once per distinct x.
pub fn beta_geo_ll_grad(p: &[f64], d: &Collapsed) -> (f64, Vec<f64>) {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    let lb = ln_beta(a, b);
    let (psi_r, psi_a, psi_a1, psi_b, psi_ab) = (
        digamma(r),
        digamma(a),
        digamma(a + 1.0),
        digamma(b),
        digamma(a + b),
    );
    let ln_alpha = alpha.ln();
    let per_x: Vec<BetaGeoPerX> =
        d.xs.iter()
            .map(|&x| {
                let psi_abx = digamma(a + b + x);
                let (c3, da3, db3) = if x > 0.0 {
                    (
                        ln_beta(a + 1.0, b + x - 1.0),
                        psi_a1 - psi_a + psi_ab - psi_abx,
                        digamma(b + x - 1.0) - psi_b + psi_ab - psi_abx,
                    )
                } else {
                    (f64::NEG_INFINITY, 0.0, 0.0)
                };
                BetaGeoPerX {
                    c1: ln_gamma(r + x) - ln_gamma(r) + r * ln_alpha - lb,
                    c2: ln_beta(a, b + x),
                    c3,
                    dr: digamma(r + x) - psi_r + ln_alpha,
                    da2: psi_ab - psi_abx,
                    db2: digamma(b + x) - psi_b + psi_ab - psi_abx,
                    da3,
                    db3,
                }
            })
            .collect();
    let v = par_sum_k(d.x.len(), |i| {
        let k = &per_x[d.xi[i] as usize];
        let rx = r + d.x[i];
        let (at, atx) = (alpha + d.t[i], alpha + d.tx[i]);
        let (la, lt) = (at.ln(), atx.ln());
        let a2 = k.c2 - rx * la;
        let a3 = k.c3 - rx * lt;
        let m = a2.max(a3);
        let (e2, e3) = ((a2 - m).exp(), (a3 - m).exp());
        let sum = e2 + e3;
        let (w2, w3) = (e2 / sum, e3 / sum);
        let wi = d.w[i];
        [
            wi * (k.c1 + m + sum.ln()),
            wi * (k.dr - w2 * la - w3 * lt),
            wi * (r / alpha - rx * (w2 / at + w3 / atx)),
            wi * (w2 * k.da2 + w3 * k.da3),
            wi * (w2 * k.db2 + w3 * k.db3),
        ]
    });
    (v[0], v[1..].to_vec())
}

pub fn fit_beta_geo(d: &Collapsed, initial: Option<&[f64]>, opts: &Options) -> KpiResult<Fit> {
    let start = start_or(
        initial,
        vec![1.0, mean_t(d).max(1.0), 1.0, 1.0],
        &BETA_GEO_PARAMS,
    )?;
    maximise_with_gradient(
        "BetaGeo",
        &BETA_GEO_PARAMS,
        &|p: &[f64]| beta_geo_ll_grad(p, d),
        d.total_weight(),
        &start,
        opts,
    )
}

/// P(alive | x, t_x, T) = 1 / (1 + 1[x>0] · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)).
pub fn beta_geo_p_alive(p: &[f64], x: f64, tx: f64, t: f64) -> f64 {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    if x <= 0.0 {
        return 1.0;
    }
    let ln_odds = (a / (b + x - 1.0)).ln() + (r + x) * ((alpha + t) / (alpha + tx)).ln();
    1.0 / (1.0 + ln_odds.exp())
}

/// E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))].
pub fn beta_geo_expected(p: &[f64], t: f64) -> KpiResult<f64> {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    if t <= 0.0 {
        return Ok(0.0);
    }
    let f = hyp2f1(r, b, a + b - 1.0, t / (alpha + t))?;
    let tail = f.sign * (r * (alpha / (alpha + t)).ln() + f.ln_abs).exp();
    Ok((a + b - 1.0) / (a - 1.0) * (1.0 - tail))
}

/// E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ·
/// ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] · P(alive | x, t_x, T).
pub fn beta_geo_conditional(p: &[f64], t: f64, x: f64, tx: f64, big_t: f64) -> KpiResult<f64> {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    if t <= 0.0 {
        return Ok(0.0);
    }
    let f = hyp2f1(r + x, b + x, a + b + x - 1.0, t / (alpha + big_t + t))?;
    let tail = f.sign * ((r + x) * ((alpha + big_t) / (alpha + big_t + t)).ln() + f.ln_abs).exp();
    Ok((a + b + x - 1.0) / (a - 1.0) * (1.0 - tail) * beta_geo_p_alive(p, x, tx, big_t))
}

/// P(X(t) = n) = B(a, b+n)/B(a, b) · Γ(r+n)/(Γ(r) n!) · (α/(α+t))^r (t/(α+t))^n
///   + 1[n>0] · B(a+1, b+n−1)/B(a, b) · [1 − (α/(α+t))^r Σ_{j<n} Γ(r+j)/(Γ(r) j!) (t/(α+t))^j].
pub fn beta_geo_p_n(p: &[f64], t: f64, n: f64) -> f64 {
    let (r, alpha, a, b) = (p[0], p[1], p[2], p[3]);
    let lb = ln_beta(a, b);
    let lp = (alpha / (alpha + t)).ln();
    let lq = (t / (alpha + t)).ln();
    let nb = |j: f64| ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0) + r * lp + j * lq;
    let first = (ln_beta(a, b + n) - lb + nb(n)).exp();
    if n <= 0.0 {
        return first;
    }
    let cdf: f64 = (0..n as usize).map(|j| nb(j as f64).exp()).sum();
    first + (ln_beta(a + 1.0, b + n - 1.0) - lb).exp() * (1.0 - cdf).max(0.0)
}
