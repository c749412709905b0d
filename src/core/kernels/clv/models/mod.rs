//! The buy-till-you-die models: BG/NBD, Pareto/NBD, BG/BB, Gamma-Gamma and shifted-beta-geometric.
//! Likelihoods and predictions follow the published equations (docs/conventions.md#btyd-models).
//!
//! Notation: x = repeat purchases (frequency), t_x = recency, T = age, all in one time unit.
//!
//! - `beta_geo`: BG/NBD; `beta_geo_beta_binom`: the discrete-time BG/BB; `pareto`:
//!   Pareto/NBD; `gamma_gamma`: Gamma-Gamma spend; `shifted_beta_geo`: the contractual sBG.
//!   This file: the collapsed customer rows and the helpers every likelihood shares (parallel
//!   sums, log-space addition, starting values).

mod beta_geo;
mod beta_geo_beta_binom;
mod gamma_gamma;
mod pareto;
mod shifted_beta_geo;
#[cfg(test)]
mod tests;

pub use beta_geo::*;
pub use beta_geo_beta_binom::*;
pub use gamma_gamma::*;
pub use pareto::*;
pub use shifted_beta_geo::*;

use std::collections::HashMap;

use rayon::prelude::*;

use crate::core::engine::parallel::install;
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::check_same_len_of;

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
    check_same_len_of(
        ("frequency", n),
        [("recency", tx.len()), ("T", t.len())]
            .into_iter()
            .chain(w.map(|w| ("weights", w.len()))),
    )?;
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
