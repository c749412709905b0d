//! The log-likelihood of every model at given parameters, not only at its fit (what lifetimes
//! and CLVTools offer for comparing parameter sets and fits by hand; docs/clv.md). The same
//! total weighted log-likelihood a fit maximises, with the same input checks, evaluated in log
//! space (log-gamma and log-beta differences, sums of terms by log-sum-exp) so that extreme
//! parameters (1e-6, 1e6) give a finite number.

use super::models::{
    beta_geo_ll, bgbb_ll, check_discrete, collapse, collapse_spend, gamma_gamma_ll, par_map,
    pareto_ll_one, sbg_ll, Collapsed,
};
use super::predict::{Model, Params};
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::check_same_len_of;

/// Rows of one model's data, named as its `fit` takes them.
pub enum Rows<'a> {
    /// BetaGeo, ParetoNBD, BetaGeoBetaBinom: frequency, recency, T (opportunities for BG/BB).
    Customers {
        frequency: &'a [f64],
        recency: &'a [f64],
        t: &'a [f64],
    },
    /// GammaGamma: frequency and mean repeat spend (customers with frequency 0 do not count).
    Spend {
        frequency: &'a [f64],
        monetary_value: &'a [f64],
    },
    /// ShiftedBetaGeo: periods observed and whether the customer churned in the last of them.
    Renewals {
        periods: &'a [f64],
        churned: &'a [bool],
    },
}

/// Σ_i w_i · ln L(params | row i) of `model` (weights default to 1).
pub fn log_likelihood(
    model: Model,
    params: &[f64],
    rows: &Rows<'_>,
    weights: Option<&[f64]>,
) -> KpiResult<f64> {
    let Params(p) = model.params(params)?;
    let purchases = |x: &[f64], tx: &[f64], t: &[f64]| -> KpiResult<Collapsed> {
        collapse_or_empty(x, |x| collapse(x, tx, t, weights))
    };
    let ll = match (model, rows) {
        (
            Model::BetaGeo | Model::ParetoNbd | Model::BetaGeoBetaBinom,
            Rows::Customers {
                frequency,
                recency,
                t,
            },
        ) => {
            let d = purchases(frequency, recency, t)?;
            match model {
                Model::BetaGeo => beta_geo_ll(p, &d),
                Model::BetaGeoBetaBinom => {
                    check_discrete(&d.x, &d.tx, &d.t)?;
                    bgbb_ll(p, &d)
                }
                _ => {
                    // Row by row, so that a ₂F₁ that fails to converge is an error, not NaN.
                    let each = par_map(d.x.len(), |i| {
                        Ok(d.w[i] * pareto_ll_one(p, d.x[i], d.tx[i], d.t[i])?)
                    })?;
                    each.iter().sum()
                }
            }
        }
        (
            Model::GammaGamma,
            Rows::Spend {
                frequency,
                monetary_value,
            },
        ) => {
            let d = collapse_or_empty(frequency, |x| collapse_spend(x, monetary_value, weights))?;
            gamma_gamma_ll(p, &d)
        }
        (Model::ShiftedBetaGeo, Rows::Renewals { periods, churned }) => {
            let w = weights.map_or_else(|| vec![1.0; periods.len()], <[f64]>::to_vec);
            check_renewals(periods, churned, &w)?;
            sbg_ll(p, periods, churned, &w)
        }
        _ => {
            return Err(KpiError::param(
                "model",
                format!("{} takes other rows", model.name()),
            ))
        }
    };
    if !ll.is_finite() {
        return Err(KpiError::param(
            "params",
            format!(
                "the {} log-likelihood is not finite at these parameters ({ll})",
                model.name()
            ),
        ));
    }
    Ok(ll)
}

/// The collapse of `x`'s rows; no rows (or none with weight) have log-likelihood 0 here, not
/// the fit's "at least one customer is needed".
fn collapse_or_empty(
    x: &[f64],
    collapse: impl FnOnce(&[f64]) -> KpiResult<Collapsed>,
) -> KpiResult<Collapsed> {
    match collapse(x) {
        Err(KpiError::InvalidParameter { ref reason, .. }) if reason.contains("at least one") => {
            Ok(Collapsed::default())
        }
        other => other,
    }
}

/// The sBG rows' rules (as its fit): whole periods >= 1, weights >= 0, aligned lengths.
fn check_renewals(periods: &[f64], churned: &[bool], w: &[f64]) -> KpiResult<()> {
    check_same_len_of(
        ("periods", periods.len()),
        [("churned", churned.len()), ("weights", w.len())],
    )?;
    let mut bad = BadRows::default();
    for i in 0..periods.len() {
        let ok = periods[i] >= 1.0
            && periods[i].is_finite()
            && periods[i].fract() == 0.0
            && w[i].is_finite()
            && w[i] >= 0.0;
        if !ok {
            bad.push(i, || format!("periods {} weight {}", periods[i], w[i]));
        }
    }
    KpiError::check_rows(
        "periods",
        "must be whole numbers >= 1 with weights >= 0",
        bad,
    )
}
