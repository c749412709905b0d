//! The buy-till-you-die models: BG/NBD, Pareto/NBD, Gamma-Gamma and shifted-beta-geometric.
//! Likelihoods and predictions follow the published equations (docs/conventions.md#btyd-models).
//!
//! Notation: x = repeat purchases (frequency), t_x = recency, T = age, all in one time unit.

use std::collections::HashMap;

use rayon::prelude::*;

use super::optim::{maximise_with_gradient, Fit, Options};
use super::special::{digamma, hyp2f1, ln_beta, ln_gamma};
use crate::core::engine::parallel::install;
use crate::core::error::{BadRows, KpiError, KpiResult};

/// Identical (frequency, recency, T) rows collapsed into one with their summed weight: the
/// likelihood is evaluated once per distinct row (the grouping with weights that lifetimes users
/// do by hand for speed and convergence, done always).
#[derive(Debug, Clone, Default)]
pub struct Collapsed {
    pub x: Vec<f64>,
    pub tx: Vec<f64>,
    pub t: Vec<f64>,
    pub w: Vec<f64>,
    /// The distinct frequencies, and each row's index into them: the gamma and beta function
    /// terms of a likelihood depend on x only, so they are computed once per distinct x.
    pub xs: Vec<f64>,
    pub xi: Vec<u32>,
}

impl Collapsed {
    pub fn total_weight(&self) -> f64 {
        self.w.iter().sum()
    }
}

/// Check and collapse customer rows. Rules: values finite, frequency >= 0, 0 <= recency <= T,
/// weights >= 0.
pub fn collapse(x: &[f64], tx: &[f64], t: &[f64], w: Option<&[f64]>) -> KpiResult<Collapsed> {
    let n = x.len();
    for (name, len) in [("recency", tx.len()), ("T", t.len())] {
        if len != n {
            return Err(KpiError::LengthMismatch {
                left: "frequency".into(),
                left_len: n,
                right: name.into(),
                right_len: len,
            });
        }
    }
    if let Some(w) = w {
        if w.len() != n {
            return Err(KpiError::LengthMismatch {
                left: "frequency".into(),
                left_len: n,
                right: "weights".into(),
                right_len: w.len(),
            });
        }
    }
    let mut bad_x = BadRows::default();
    let mut bad_tx = BadRows::default();
    let mut bad_w = BadRows::default();
    for i in 0..n {
        if !(x[i].is_finite() && x[i] >= 0.0) {
            bad_x.push(i, || format!("{}", x[i]));
        }
        if !(tx[i].is_finite() && t[i].is_finite() && tx[i] >= 0.0 && tx[i] <= t[i]) {
            bad_tx.push(i, || format!("recency {} with T {}", tx[i], t[i]));
        }
        if let Some(w) = w {
            if !(w[i].is_finite() && w[i] >= 0.0) {
                bad_w.push(i, || format!("{}", w[i]));
            }
        }
    }
    KpiError::check_rows("frequency", "must be a finite number >= 0", bad_x)?;
    KpiError::check_rows("recency", "must satisfy 0 <= recency <= T", bad_tx)?;
    KpiError::check_rows("weights", "must be finite and >= 0", bad_w)?;
    let mut index: HashMap<(u64, u64, u64), usize> = HashMap::new();
    let mut out = Collapsed::default();
    for i in 0..n {
        let wi = w.map_or(1.0, |w| w[i]);
        let key = (x[i].to_bits(), tx[i].to_bits(), t[i].to_bits());
        match index.get(&key) {
            Some(&j) => out.w[j] += wi,
            None => {
                index.insert(key, out.x.len());
                out.x.push(x[i]);
                out.tx.push(tx[i]);
                out.t.push(t[i]);
                out.w.push(wi);
            }
        }
    }
    if out.total_weight() <= 0.0 {
        return Err(KpiError::param(
            "frequency",
            "at least one customer (with positive weight) is needed to fit a model",
        ));
    }
    let mut seen: HashMap<u64, u32> = HashMap::new();
    for v in &out.x {
        let next = out.xs.len() as u32;
        let k = *seen.entry(v.to_bits()).or_insert_with(|| {
            out.xs.push(*v);
            next
        });
        out.xi.push(k);
    }
    Ok(out)
}

/// Σ over rows of `f(i)`, on all threads for large inputs. Fixed-size blocks summed in order,
/// so the result does not depend on the number of threads.
fn par_sum(n: usize, f: impl Fn(usize) -> f64 + Sync) -> f64 {
    const BLOCK: usize = 4096;
    if n <= BLOCK {
        return (0..n).map(&f).sum();
    }
    let blocks: Vec<f64> = install(|| {
        (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| (b * BLOCK..((b + 1) * BLOCK).min(n)).map(&f).sum::<f64>())
            .collect()
    });
    blocks.iter().sum()
}

/// [`par_sum`] of a value and its gradient (K numbers per row), same fixed blocks.
fn par_sum_k<const K: usize>(n: usize, f: impl Fn(usize) -> [f64; K] + Sync) -> [f64; K] {
    const BLOCK: usize = 4096;
    let block = |b: usize| {
        let mut acc = [0.0; K];
        for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
            let v = f(i);
            for k in 0..K {
                acc[k] += v[k];
            }
        }
        acc
    };
    let blocks: Vec<[f64; K]> = if n <= BLOCK {
        vec![block(0)]
    } else {
        install(|| (0..n.div_ceil(BLOCK)).into_par_iter().map(block).collect())
    };
    let mut total = [0.0; K];
    for v in &blocks {
        for k in 0..K {
            total[k] += v[k];
        }
    }
    total
}

/// `f(i)` for every customer, in parallel.
pub fn par_map(n: usize, f: impl Fn(usize) -> KpiResult<f64> + Sync + Send) -> KpiResult<Vec<f64>> {
    install(|| (0..n).into_par_iter().map(f).collect())
}

#[inline]
fn log_add_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// ln(e^a − e^b) for a >= b (−∞ when they are equal).
#[inline]
fn log_sub_exp(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY {
        return a;
    }
    let d = b - a;
    if d >= 0.0 {
        return f64::NEG_INFINITY;
    }
    a + (-d.exp()).ln_1p()
}

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
struct BetaGeoPerX {
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

/// Default start: lifetimes-like unit parameters, with α at the scale of the data's T.
fn start_or(initial: Option<&[f64]>, default: Vec<f64>, names: &[&str]) -> KpiResult<Vec<f64>> {
    match initial {
        Some(v) if v.len() != names.len() => Err(KpiError::param(
            "initial_params",
            format!("needs {} values ({})", names.len(), names.join(", ")),
        )),
        Some(v) => Ok(v.to_vec()),
        None => Ok(default),
    }
}

fn mean_t(d: &Collapsed) -> f64 {
    let tw = d.total_weight();
    (d.t.iter().zip(&d.w).map(|(t, w)| t * w).sum::<f64>() / tw).max(1e-3)
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

// ------------------------------------------------------------------------------------------
// Pareto/NBD (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 note), params
// [r, alpha, s, beta].

pub const PARETO_PARAMS: [&str; 4] = ["r", "alpha", "s", "beta"];

/// (ln of the "alive at T" term, ln of the "died in (t_x, T]" term) of the likelihood, both
/// without the common factor Γ(r+x) α^r β^s / Γ(r).
fn pareto_terms(p: &[f64], x: f64, tx: f64, t: f64) -> KpiResult<(f64, f64)> {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let l1 = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
    let (m, bb) = if alpha >= beta {
        (alpha, s + 1.0)
    } else {
        (beta, r + x)
    };
    let k = r + s + x;
    let diff = (alpha - beta).abs();
    let part = |u: f64| -> KpiResult<f64> {
        let f = hyp2f1(k, bb, k + 1.0, diff / (m + u))?;
        Ok(f.ln_abs - k * (m + u).ln())
    };
    // A0 = F(t_x) − F(T) > 0: the integral of the death time over (t_x, T].
    let l2 = (s / k).ln() + log_sub_exp(part(tx)?, part(t)?);
    Ok((l1, l2))
}

pub fn pareto_ll_one(p: &[f64], x: f64, tx: f64, t: f64) -> KpiResult<f64> {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let (l1, l2) = pareto_terms(p, x, tx, t)?;
    Ok(ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln() + log_add_exp(l1, l2))
}

pub fn pareto_ll(p: &[f64], d: &Collapsed) -> f64 {
    par_sum(d.x.len(), |i| {
        pareto_ll_one(p, d.x[i], d.tx[i], d.t[i]).map_or(f64::NAN, |v| d.w[i] * v)
    })
}

/// ln ₂F₁(k, b; k+1; z) and the derivatives of ln F (∂/∂k with c = k+1 moving too, ∂/∂b, ∂/∂z), the
/// hypergeometric term of the Pareto/NBD likelihood. With uₙ = (b)ₙ zⁿ/n! (all terms positive
/// for b > 0, 0 <= z < 1):
///   F = Σ uₙ k/(k+n),  ∂F/∂k = Σ uₙ n/(k+n)²,  ∂F/∂b = Σ uₙ k/(k+n) Σ_{j<n} 1/(b+j),
///   ∂F/∂z = Σ n uₙ k/(k+n) / z  (= kb/(k+1) · ₂F₁(k+1, b+1; k+2; z), used above 0.9).
/// The series is summed for z <= 0.9. Above, F comes from [`hyp2f1`] and the two parameter
/// derivatives from central differences of ln F (step 1e-5 relative; error ~1e-10, far below
/// the fit's tolerance): their series converge too slowly near z = 1.
fn pareto_hyp_grad(k: f64, b: f64, z: f64) -> KpiResult<[f64; 4]> {
    if z > 0.9 {
        let dz = |ln_f: f64| -> KpiResult<f64> {
            let g = hyp2f1(k + 1.0, b + 1.0, k + 2.0, z)?;
            Ok(k * b / (k + 1.0) * (g.ln_abs - ln_f).exp())
        };
        let lnf = |k: f64, b: f64| hyp2f1(k, b, k + 1.0, z).map(|f| f.ln_abs);
        let f = lnf(k, b)?;
        let (hk, hb) = (1e-5 * k.max(1e-3), 1e-5 * b.max(1e-3));
        let gk = (lnf(k + hk, b)? - lnf(k - hk, b)?) / (2.0 * hk);
        let gb = (lnf(k, b + hb)? - lnf(k, b - hb)?) / (2.0 * hb);
        return Ok([f, gk, gb, dz(f)?]);
    }
    let (mut u, mut f, mut fk, mut fb, mut fz) = (1.0f64, 1.0f64, 0.0f64, 0.0f64, 0.0f64);
    let (mut harmonic, mut ln_scale) = (0.0f64, 0.0f64);
    let mut converged = z == 0.0;
    for n in 0..100_000usize {
        if converged {
            break;
        }
        let nf = n as f64;
        harmonic += 1.0 / (b + nf);
        u *= (b + nf) / (nf + 1.0) * z;
        let n1 = nf + 1.0;
        let term = u * k / (k + n1);
        f += term;
        fk += u * n1 / ((k + n1) * (k + n1));
        fb += term * harmonic;
        fz += term * n1;
        // Once the ratio of successive uₙ, q = (b+n)z/(n+1), is below 1 it keeps falling
        // towards z, so the tails (terms weighted by up to 1 + harmonic + n, growing at most
        // linearly) are below u (1 + harmonic + n) / (1 − q)².
        let q = (b + n1) / (n1 + 1.0) * z;
        if q < 1.0 {
            let tail = u * (1.0 + harmonic + n1) / ((1.0 - q) * (1.0 - q));
            converged = tail <= 1e-17 * f;
        }
        if f > 1e250 {
            u *= 1e-250;
            f *= 1e-250;
            fk *= 1e-250;
            fb *= 1e-250;
            fz *= 1e-250;
            ln_scale += 250.0 * std::f64::consts::LN_10;
        }
    }
    if !converged {
        return Err(KpiError::NotConverged {
            what: "Pareto/NBD hypergeometric term".into(),
            reason: format!("series for k={k}, b={b}, z={z} did not converge"),
        });
    }
    // ∂F/∂z = Σ n cₙ / z (at z = 0 the first coefficient, kb/(k+1)).
    let gz = if z == 0.0 {
        k * b / (k + 1.0)
    } else {
        fz / (z * f)
    };
    Ok([f.ln() + ln_scale, fk / f, fb / f, gz])
}

/// Weighted Pareto/NBD log-likelihood and its gradient in (r, α, s, β). Per customer, with
/// k = r+s+x and (m, b, δ) = (α, s+1, α−β) if α >= β else (β, r+x, β−α):
///   ll = ln Γ(r+x) − ln Γ(r) + r ln α + s ln β + ln(e^l₁ + e^l₂),
///   l₁ = −(r+x) ln(α+T) − s ln(β+T),
///   l₂ = ln(s/k) + ln(e^P(t_x) − e^P(T)),  P(u) = ln ₂F₁(k, b; k+1; δ/(m+u)) − k ln(m+u).
/// The derivatives of P use ∂ ln F/∂k, ∂b, ∂z ([`pareto_hyp_grad`]) and the chain rule through
/// k, b and z = δ/(m+u); the rest is elementary.
pub fn pareto_ll_grad(p: &[f64], d: &Collapsed) -> (f64, Vec<f64>) {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let (ln_alpha, ln_beta_) = (alpha.ln(), beta.ln());
    let psi_r = digamma(r);
    let per_x: Vec<[f64; 2]> =
        d.xs.iter()
            .map(|&x| [ln_gamma(r + x) - ln_gamma(r), digamma(r + x) - psi_r])
            .collect();
    let a_ge_b = alpha >= beta;
    let diff = (alpha - beta).abs();
    // ∂P(u)/∂(r, α, s, β).
    let part = |x: f64, u: f64| -> KpiResult<(f64, [f64; 4])> {
        let k = r + s + x;
        let (m, bb, other) = if a_ge_b {
            (alpha, s + 1.0, beta)
        } else {
            (beta, r + x, alpha)
        };
        let mu = m + u;
        let z = diff / mu;
        let [lnf, gk, gb, gz] = pareto_hyp_grad(k, bb, z)?;
        let lmu = mu.ln();
        let val = lnf - k * lmu;
        // z = (m − other)/(m + u): ∂z/∂m = (other + u)/(m + u)², ∂z/∂other = −1/(m + u).
        let dm = gz * (other + u) / (mu * mu) - k / mu;
        let dother = -gz / mu;
        let g = if a_ge_b {
            [gk - lmu, dm, gk + gb - lmu, dother]
        } else {
            [gk + gb - lmu, dother, gk - lmu, dm]
        };
        Ok((val, g))
    };
    let v = par_sum_k(d.x.len(), |i| {
        let (x, tx, t, wi) = (d.x[i], d.tx[i], d.t[i], d.w[i]);
        let [c_gamma, c_psi] = per_x[d.xi[i] as usize];
        let k = r + s + x;
        let (lat, lbt) = ((alpha + t).ln(), (beta + t).ln());
        let l1 = -(r + x) * lat - s * lbt;
        let dl1 = [-lat, -(r + x) / (alpha + t), -lbt, -s / (beta + t)];
        let (Ok((ptx, gtx)), Ok((pt, gt))) = (part(x, tx), part(x, t)) else {
            return [f64::NAN; 5];
        };
        let l2 = (s / k).ln() + log_sub_exp(ptx, pt);
        // ∂ ln(e^P(t_x) − e^P(T)) = (∂P(t_x) − e ∂P(T)) / (1 − e), e = e^(P(T) − P(t_x)).
        let e = (pt - ptx).exp();
        let mut dl2 = [-1.0 / k, 0.0, 1.0 / s - 1.0 / k, 0.0];
        for j in 0..4 {
            dl2[j] += (gtx[j] - e * gt[j]) / (1.0 - e);
        }
        let top = l1.max(l2);
        let (e1, e2) = ((l1 - top).exp(), (l2 - top).exp());
        let (w1, w2) = (e1 / (e1 + e2), e2 / (e1 + e2));
        let mix = |j: usize| {
            if w2 == 0.0 {
                w1 * dl1[j]
            } else {
                w1 * dl1[j] + w2 * dl2[j]
            }
        };
        [
            wi * (c_gamma + r * ln_alpha + s * ln_beta_ + top + (e1 + e2).ln()),
            wi * (c_psi + ln_alpha + mix(0)),
            wi * (r / alpha + mix(1)),
            wi * (ln_beta_ + mix(2)),
            wi * (s / beta + mix(3)),
        ]
    });
    (v[0], v[1..].to_vec())
}

pub fn fit_pareto(d: &Collapsed, initial: Option<&[f64]>, opts: &Options) -> KpiResult<Fit> {
    let mt = mean_t(d).max(1.0);
    let start = start_or(initial, vec![1.0, mt, 1.0, mt], &PARETO_PARAMS)?;
    maximise_with_gradient(
        "ParetoNBD",
        &PARETO_PARAMS,
        &|p: &[f64]| pareto_ll_grad(p, d),
        d.total_weight(),
        &start,
        opts,
    )
}

pub fn pareto_p_alive(p: &[f64], x: f64, tx: f64, t: f64) -> KpiResult<f64> {
    let (l1, l2) = pareto_terms(p, x, tx, t)?;
    Ok((l1 - log_add_exp(l1, l2)).exp())
}

/// E[X(t)] = rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)].
pub fn pareto_expected(p: &[f64], t: f64) -> f64 {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    if (s - 1.0).abs() < 1e-10 {
        // Limit s → 1: rβ/α · ln(1 + t/β).
        return r * beta / alpha * (1.0 + t / beta).ln();
    }
    r * beta / (alpha * (s - 1.0)) * (1.0 - (beta / (beta + t)).powf(s - 1.0))
}

/// E[Y(t) | x, t_x, T] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive).
pub fn pareto_conditional(p: &[f64], t: f64, x: f64, tx: f64, big_t: f64) -> KpiResult<f64> {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let scale = (r + x) * (beta + big_t) / (alpha + big_t);
    let growth = if (s - 1.0).abs() < 1e-10 {
        (1.0 + t / (beta + big_t)).ln()
    } else {
        (1.0 - ((beta + big_t) / (beta + big_t + t)).powf(s - 1.0)) / (s - 1.0)
    };
    Ok(scale * growth * pareto_p_alive(p, x, tx, big_t)?)
}

/// P(X(t) = n) for a new customer (Fader & Hardie 2006, "Deriving an expression for
/// P(X(t) = x) under the Pareto/NBD model", brucehardie.com note 012):
///   P = Γ(r+n)/(Γ(r) n!) (α/(α+t))^r (t/(α+t))^n (β/(β+t))^s
///     + α^r β^s B(r+n, s+1)/B(r, s) · [B₁ − Σ_{j=0..n} Γ(r+s+j)/(Γ(r+s) j!) t^j B₂(j)]
/// with, for α >= β, B₁ = ₂F₁(r+s, s+1; r+s+n+1; (α−β)/α) / α^(r+s) and
/// B₂(j) = ₂F₁(r+s+j, s+1; r+s+n+1; (α−β)/(α+t)) / (α+t)^(r+s+j); for α < β the same with
/// α ↔ β and s+1 → r+n. The second term is the chance of dying before t after n purchases.
pub fn pareto_p_n(p: &[f64], t: f64, n: f64) -> KpiResult<f64> {
    if n >= PARETO_P_N_CLOSED_FORM_MAX && t > 0.0 {
        return pareto_p_n_by_quadrature(p, t, n);
    }
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    if !(n >= 0.0 && n.fract() == 0.0) {
        return Err(KpiError::param(
            "n",
            format!("must be a whole number >= 0, got {n}"),
        ));
    }
    let nb = |j: f64| ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0);
    let alive = if t > 0.0 {
        (nb(n)
            + r * (alpha / (alpha + t)).ln()
            + n * (t / (alpha + t)).ln()
            + s * (beta / (beta + t)).ln())
        .exp()
    } else if n == 0.0 {
        1.0
    } else {
        0.0
    };
    if t <= 0.0 {
        return Ok(alive);
    }
    let (m, b2) = if alpha >= beta {
        (alpha, s + 1.0)
    } else {
        (beta, r + n)
    };
    let diff = (alpha - beta).abs();
    let c = r + s + n + 1.0;
    let ln_b1 = {
        let f = hyp2f1(r + s, b2, c, diff / m)?;
        f.ln_abs - (r + s) * m.ln()
    };
    // ln Σ_j Γ(r+s+j)/(Γ(r+s) j!) t^j B₂(j), summed in log space.
    let mut ln_sum = f64::NEG_INFINITY;
    for j in 0..=(n as usize) {
        let jf = j as f64;
        let f = hyp2f1(r + s + jf, b2, c, diff / (m + t))?;
        let term = ln_gamma(r + s + jf) - ln_gamma(r + s) - ln_gamma(jf + 1.0)
            + if j > 0 { jf * t.ln() } else { 0.0 }
            + f.ln_abs
            - (r + s + jf) * (m + t).ln();
        ln_sum = log_add_exp(ln_sum, term);
    }
    // B₁ − Σ loses digits as the sum approaches B₁, and ₂F₁ with large parameters near z = 1
    // loses accuracy (many purchases n): there, integrate over the death time instead.
    let died = if n < PARETO_P_N_CLOSED_FORM_MAX && ln_sum - ln_b1 < (1.0f64 - 1e-4).ln() {
        let ln_front = r * alpha.ln() + s * beta.ln() + ln_beta(r + n, s + 1.0) - ln_beta(r, s);
        (ln_front + log_sub_exp(ln_b1, ln_sum)).exp()
    } else {
        pareto_p_n_died(p, t, n)
    };
    Ok(alive + died.max(0.0))
}

/// Up to this many purchases P(X(t) = n) uses the closed form (checked against quadrature in
/// the tests); from here on the quadrature.
const PARETO_P_N_CLOSED_FORM_MAX: f64 = 30.0;

fn pareto_p_n_by_quadrature(p: &[f64], t: f64, n: f64) -> KpiResult<f64> {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    if n.fract() != 0.0 {
        return Err(KpiError::param(
            "n",
            format!("must be a whole number >= 0, got {n}"),
        ));
    }
    let alive = (ln_gamma(r + n) - ln_gamma(r) - ln_gamma(n + 1.0)
        + r * (alpha / (alpha + t)).ln()
        + n * (t / (alpha + t)).ln()
        + s * (beta / (beta + t)).ln())
    .exp();
    Ok(alive + pareto_p_n_died(p, t, n))
}

/// Gauss-Legendre 8-point nodes and weights on [−1, 1] (positive half).
const GL8: [(f64, f64); 4] = [
    (0.183_434_642_495_649_8, 0.362_683_783_378_362),
    (0.525_532_409_916_329, 0.313_706_645_877_887_3),
    (0.796_666_477_413_626_7, 0.222_381_034_453_374_5),
    (0.960_289_856_497_536_3, 0.101_228_536_290_376_3),
];

/// The "n purchases, then died before t" part of P(X(t) = n) as an integral over the death
/// time τ: ∫₀ᵗ NB(n; τ) · s β^s / (β+τ)^(s+1) dτ, NB(n; τ) = Γ(r+n)/(Γ(r) n!) (α/(α+τ))^r
/// (τ/(α+τ))^n. With τ = t u², 64 panels of 8-point Gauss-Legendre in u.
fn pareto_p_n_died(p: &[f64], t: f64, n: f64) -> f64 {
    let (r, alpha, s, beta) = (p[0], p[1], p[2], p[3]);
    let c =
        ln_gamma(r + n) - ln_gamma(r) - ln_gamma(n + 1.0) + r * alpha.ln() + s.ln() + s * beta.ln();
    let f = |u: f64| -> f64 {
        let tau = t * u * u;
        if tau <= 0.0 {
            return 0.0;
        }
        (c + n * tau.ln() - (r + n) * (alpha + tau).ln() - (s + 1.0) * (beta + tau).ln()).exp()
            * 2.0
            * t
            * u
    };
    const PANELS: usize = 64;
    let h = 1.0 / PANELS as f64;
    let mut total = 0.0;
    for k in 0..PANELS {
        let mid = (k as f64 + 0.5) * h;
        for (x, w) in GL8 {
            total += w * (f(mid - x * h / 2.0) + f(mid + x * h / 2.0));
        }
    }
    total * h / 2.0
}

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
    if m.len() != x.len() {
        return Err(KpiError::LengthMismatch {
            left: "frequency".into(),
            left_len: x.len(),
            right: "monetary_value".into(),
            right_len: m.len(),
        });
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_x_sums_equal_the_row_by_row_likelihoods() {
        let x = [0.0, 1.0, 1.0, 4.0, 0.0, 7.0];
        let tx = [0.0, 3.5, 20.0, 30.0, 0.0, 12.0];
        let t = [10.0, 38.0, 38.0, 39.0, 2.0, 12.5];
        let d = collapse(&x, &tx, &t, Some(&[1.0, 2.0, 1.0, 0.5, 3.0, 1.0])).unwrap();
        let p = [0.243, 4.414, 0.793, 2.426];
        let rows: f64 = (0..d.x.len())
            .map(|i| d.w[i] * beta_geo_ll_one(&p, d.x[i], d.tx[i], d.t[i]))
            .sum();
        assert!((beta_geo_ll(&p, &d) - rows).abs() < 1e-10 * rows.abs());
        let g = collapse_spend(&x, &[0.0, 20.0, 35.0, 12.5, 0.0, 40.0], None).unwrap();
        let gp = [6.25, 3.74, 15.44];
        let rows: f64 = (0..g.x.len())
            .map(|i| g.w[i] * gamma_gamma_ll_one(&gp, g.x[i], g.tx[i]))
            .sum();
        assert!((gamma_gamma_ll(&gp, &g) - rows).abs() < 1e-10 * rows.abs());
    }

    /// A small deterministic generator (xorshift) for random test points.
    struct Rng(u64);
    impl Rng {
        fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            lo + (hi - lo) * (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Analytic gradient against central differences of the value, relative tolerance.
    fn check_gradient(name: &str, p: &[f64], f: &super::super::optim::LlGrad<'_>, tol: f64) {
        let (v, g) = f(p);
        assert!(v.is_finite(), "{name} at {p:?}: {v}");
        for j in 0..p.len() {
            let h = 1e-6 * p[j];
            let mut q = p.to_vec();
            q[j] = p[j] + h;
            let up = f(&q).0;
            q[j] = p[j] - h;
            let down = f(&q).0;
            let fd = (up - down) / (2.0 * h);
            let scale = fd.abs().max(g[j].abs()).max(1.0);
            assert!(
                (g[j] - fd).abs() <= tol * scale,
                "{name} d/d{j} at {p:?}: analytic {} vs finite difference {fd}",
                g[j]
            );
        }
    }

    #[test]
    fn analytic_gradients_match_finite_differences_at_random_points() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Customers: one-time buyers, repeat buyers, recency 0 and recency = T among them.
        let mut x = vec![0.0, 1.0, 3.0, 12.0];
        let mut tx = vec![0.0, 0.0, 20.0, 31.0];
        let mut t = vec![35.0, 10.0, 20.0, 39.0];
        for _ in 0..200 {
            let ti = rng.uniform(0.5, 60.0);
            let xi = (rng.uniform(0.0, 15.0)).floor();
            x.push(xi);
            tx.push(if xi > 0.0 { rng.uniform(0.0, ti) } else { 0.0 });
            t.push(ti);
        }
        let w: Vec<f64> = (0..x.len()).map(|_| rng.uniform(0.1, 3.0)).collect();
        let d = collapse(&x, &tx, &t, Some(&w)).unwrap();
        let m: Vec<f64> = (0..x.len()).map(|_| rng.uniform(1.0, 200.0)).collect();
        let g = collapse_spend(&x, &m, Some(&w)).unwrap();
        let (periods, churned, sw) =
            sbg_rows_from_survivors(&[1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0])
                .unwrap();
        for _ in 0..25 {
            let p = [
                rng.uniform(0.05, 5.0),
                rng.uniform(0.5, 50.0),
                rng.uniform(0.05, 5.0),
                rng.uniform(0.05, 10.0),
            ];
            check_gradient("BG/NBD", &p, &|q| beta_geo_ll_grad(q, &d), 1e-6);
            let gp = [
                rng.uniform(0.3, 20.0),
                rng.uniform(0.3, 20.0),
                rng.uniform(0.5, 100.0),
            ];
            check_gradient("Gamma-Gamma", &gp, &|q| gamma_gamma_ll_grad(q, &g), 1e-6);
            let sp = [rng.uniform(0.05, 10.0), rng.uniform(0.05, 10.0)];
            check_gradient(
                "sBG",
                &sp,
                &|q| sbg_ll_grad(q, &periods, &churned, &sw),
                1e-6,
            );
        }
    }

    #[test]
    fn pareto_gradient_matches_finite_differences_at_random_points() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        // One-time buyers, recency 0 and recency close to T among the customers.
        let mut x = vec![0.0, 1.0, 3.0, 40.0];
        let mut tx = vec![0.0, 0.0, 19.9, 31.0];
        let mut t = vec![35.0, 10.0, 20.0, 39.0];
        for _ in 0..150 {
            let ti = rng.uniform(0.5, 60.0);
            let xi = (rng.uniform(0.0, 15.0)).floor();
            x.push(xi);
            tx.push(if xi > 0.0 { rng.uniform(0.0, ti) } else { 0.0 });
            t.push(ti);
        }
        let w: Vec<f64> = (0..x.len()).map(|_| rng.uniform(0.1, 3.0)).collect();
        let d = collapse(&x, &tx, &t, Some(&w)).unwrap();
        // The value is the existing likelihood's.
        let p = [0.553, 10.578, 0.606, 11.669];
        let (v, _) = pareto_ll_grad(&p, &d);
        assert!((v - pareto_ll(&p, &d)).abs() < 1e-10 * v.abs());
        let mut points = vec![
            p,
            [0.553, 11.669, 0.606, 10.578],
            // α ≫ β and α ≪ β: z = |α−β|/(m+u) above 0.9, the finite-difference branch.
            [0.8, 400.0, 0.7, 2.0],
            [1.2, 1.0, 0.4, 300.0],
        ];
        for _ in 0..30 {
            points.push([
                rng.uniform(0.05, 5.0),
                rng.uniform(0.5, 80.0),
                rng.uniform(0.05, 5.0),
                rng.uniform(0.5, 80.0),
            ]);
        }
        for p in points {
            let f = |q: &[f64]| pareto_ll_grad(q, &d);
            check_gradient("Pareto/NBD", &p, &f, 1e-6);
            assert!(
                (f(&p).0 - pareto_ll(&p, &d)).abs() < 1e-9 * f(&p).0.abs(),
                "{p:?}"
            );
        }
    }

    #[test]
    fn pareto_hypergeometric_derivatives_match_differences_of_hyp2f1() {
        // The series branch (z <= 0.9) against central differences of the general ₂F₁.
        for (k, b, z) in [
            (0.7, 1.6, 0.3),
            (15.2, 1.6, 0.85),
            (3.0, 40.5, 0.6),
            (0.2, 0.9, 0.9),
        ] {
            let [lnf, gk, gb, gz] = pareto_hyp_grad(k, b, z).unwrap();
            let ln = |k: f64, b: f64, z: f64| hyp2f1(k, b, k + 1.0, z).unwrap().ln_abs;
            assert!((lnf - ln(k, b, z)).abs() < 1e-13 * lnf.abs().max(1.0));
            let h = 1e-6;
            let fk = (ln(k + h, b, z) - ln(k - h, b, z)) / (2.0 * h);
            let fb = (ln(k, b + h, z) - ln(k, b - h, z)) / (2.0 * h);
            let fz = (ln(k, b, z + h) - ln(k, b, z - h)) / (2.0 * h);
            for (got, want) in [(gk, fk), (gb, fb), (gz, fz)] {
                assert!(
                    (got - want).abs() < 1e-7 * want.abs().max(1.0),
                    "{k},{b},{z}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn per_x_likelihood_equals_the_row_formula() {
        // beta_geo_ll_grad's value (terms per distinct x) against beta_geo_ll_one row by row.
        let x = [0.0, 2.0, 2.0, 5.0];
        let tx = [0.0, 10.0, 30.5, 37.0];
        let t = [38.0, 38.0, 38.0, 38.0];
        let d = collapse(&x, &tx, &t, None).unwrap();
        let p = [0.5, 6.0, 1.2, 3.1];
        let rows: f64 = (0..4).map(|i| beta_geo_ll_one(&p, x[i], tx[i], t[i])).sum();
        assert!((beta_geo_ll_grad(&p, &d).0 - rows).abs() < 1e-11 * rows.abs());
    }

    #[test]
    fn pareto_p_n_closed_form_agrees_with_the_death_time_quadrature() {
        // Both branches (α < β and α > β), small and large t.
        for p in [
            [0.553, 10.578, 0.606, 11.669],
            [1.3, 2.0, 2.5, 30.0],
            [1.3, 90.0, 2.5, 30.0],
            [0.2, 0.5, 0.3, 0.1],
        ] {
            for t in [0.5, 10.0, 39.0, 200.0] {
                for n in 0..30 {
                    let n = n as f64;
                    let closed = pareto_p_n(&p, t, n).unwrap();
                    let quad = pareto_p_n_by_quadrature(&p, t, n).unwrap();
                    assert!(
                        (closed - quad).abs() <= 1e-8 * quad.abs() + 1e-300,
                        "{p:?} t {t} n {n}: {closed} vs {quad}"
                    );
                }
            }
        }
    }

    #[test]
    fn beta_geo_p_alive_is_one_without_repeat_purchases() {
        assert_eq!(
            beta_geo_p_alive(&[0.243, 4.414, 0.793, 2.426], 0.0, 0.0, 38.86),
            1.0
        );
    }

    #[test]
    fn beta_geo_probabilities_of_n_sum_to_one() {
        let p = [0.243, 4.414, 0.793, 2.426];
        let total: f64 = (0..400).map(|n| beta_geo_p_n(&p, 39.0, n as f64)).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
    }

    /// Σ_{t>=n} S(t)/S(n−1) / (1+d)^(t−n) summed term by term (retention rates
    /// (β+t−1)/(α+β+t−1)); the terms fall at least like (1/(1+d))^k, so stopping when a term is
    /// below 1e-18 of the sum leaves a tail below 1e-18 · (1+d)/d of it.
    fn derl_by_summation(al: f64, be: f64, renewals: f64, d: f64) -> f64 {
        let n = renewals + 1.0;
        let (mut total, mut cond, mut disc, mut t) = (0.0, 1.0, 1.0, n);
        loop {
            cond *= (be + t - 1.0) / (al + be + t - 1.0);
            let term = cond * disc;
            total += term;
            if term < 1e-18 * total {
                return total;
            }
            disc /= 1.0 + d;
            t += 1.0;
        }
    }

    #[test]
    fn sbg_residual_lifetime_where_alpha_minus_one_is_near_an_integer() {
        // CI's hypothesis find: α = 2.00001 (c − a − b = α − 1 = 1.00001), β = 1, no renewals,
        // d = 0.0625 gave 0.7955028151813546 (3e-8 off) from the ₂F₁ connection formula.
        let got = sbg_residual_lifetime(&[2.00001, 1.0], 0.0, 0.0625).unwrap();
        let want = derl_by_summation(2.00001, 1.0, 0.0, 0.0625);
        assert!((want - 0.795_502_838_721_917_7).abs() < 1e-15);
        assert!((got - want).abs() < 1e-13 * want, "{got} vs {want}");
        for al in [
            1.0,
            1.0 + 1e-9,
            2.0 - 1e-7,
            3.0,
            3.00001,
            0.99999,
            5.0 + 1e-4,
        ] {
            for be in [0.3, 1.0, 4.7] {
                for renewals in [0.0, 1.0, 7.0, 30.0] {
                    for d in [0.02, 0.0625, 0.1, 0.5] {
                        let got = sbg_residual_lifetime(&[al, be], renewals, d).unwrap();
                        let want = derl_by_summation(al, be, renewals, d);
                        assert!(
                            (got - want).abs() < 1e-12 * want,
                            "α {al} β {be} n {renewals} d {d}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn sbg_published_regular_cohort() {
        // Fader & Hardie (2007), "regular" customers: % surviving after years 0..7.
        let s = [1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0];
        let (t, c, w) = sbg_rows_from_survivors(&s).unwrap();
        let fit = fit_shifted_beta_geo(&t, &c, &w, None, &Options::default()).unwrap();
        assert!((fit.params[0] - 0.704).abs() < 5e-4, "{:?}", fit.params);
        assert!((fit.params[1] - 1.182).abs() < 5e-4, "{:?}", fit.params);
    }
}
