//! The models by name: the fit of a purchase model, and the predictions of the fitted models,
//! one function per prediction, each taking the model and its inputs (docs/conventions.md#btyd-models, docs/conventions.md#lifetime-value). Every
//! input is checked here, naming its column or parameter: a prediction of a customer who
//! cannot exist (negative recency, recency past T, NaN) is an error, never a number.

use std::collections::HashMap;

use super::models::{
    beta_geo_conditional, beta_geo_expected, beta_geo_p_alive, beta_geo_p_n, bgbb_conditional,
    bgbb_discounted, bgbb_expected, bgbb_p_alive, check_discrete, fit_beta_geo, fit_bgbb,
    fit_pareto, gamma_gamma_expected, par_map, pareto_conditional, pareto_expected, pareto_p_alive,
    pareto_p_n, sbg_ln_p_churn, sbg_ln_survival, sbg_residual_lifetime, Collapsed,
    BETA_GEO_BETA_BINOM_PARAMS, BETA_GEO_PARAMS, GAMMA_GAMMA_PARAMS, PARETO_PARAMS,
    SHIFTED_BETA_GEO_PARAMS,
};
use super::optim::{Fit, Options};
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::check_same_len_of;

/// The models of `kpikit.clv`, by their class names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    BetaGeo,
    ParetoNbd,
    GammaGamma,
    ShiftedBetaGeo,
    BetaGeoBetaBinom,
}

impl Model {
    pub fn parse(name: &str) -> KpiResult<Model> {
        match name {
            "BetaGeo" => Ok(Model::BetaGeo),
            "ParetoNBD" => Ok(Model::ParetoNbd),
            "GammaGamma" => Ok(Model::GammaGamma),
            "ShiftedBetaGeo" => Ok(Model::ShiftedBetaGeo),
            "BetaGeoBetaBinom" => Ok(Model::BetaGeoBetaBinom),
            other => Err(KpiError::param(
                "model",
                format!(
                    "unknown model {other:?}; use BetaGeo, ParetoNBD, GammaGamma, ShiftedBetaGeo or BetaGeoBetaBinom"
                ),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Model::BetaGeo => "BetaGeo",
            Model::ParetoNbd => "ParetoNBD",
            Model::GammaGamma => "GammaGamma",
            Model::ShiftedBetaGeo => "ShiftedBetaGeo",
            Model::BetaGeoBetaBinom => "BetaGeoBetaBinom",
        }
    }

    fn param_names(self) -> &'static [&'static str] {
        match self {
            Model::BetaGeo => &BETA_GEO_PARAMS,
            Model::ParetoNbd => &PARETO_PARAMS,
            Model::GammaGamma => &GAMMA_GAMMA_PARAMS,
            Model::ShiftedBetaGeo => &SHIFTED_BETA_GEO_PARAMS,
            Model::BetaGeoBetaBinom => &BETA_GEO_BETA_BINOM_PARAMS,
        }
    }

    /// `params` checked for this model: one per parameter, each finite and positive (every
    /// parameter of these models is a shape or a scale).
    pub(super) fn params(self, params: &[f64]) -> KpiResult<Params<'_>> {
        let names = self.param_names();
        if params.len() != names.len() {
            return Err(KpiError::param(
                "params",
                format!(
                    "{} has {} parameters ({}), got {}",
                    self.name(),
                    names.len(),
                    names.join(", "),
                    params.len()
                ),
            ));
        }
        if let Some((n, v)) = names
            .iter()
            .zip(params)
            .find(|(_, v)| !(v.is_finite() && **v > 0.0))
        {
            return Err(KpiError::param(
                "params",
                format!(
                    "{} parameter {n} must be a finite number > 0, got {v}",
                    self.name()
                ),
            ));
        }
        Ok(Params(params))
    }

    /// This model, which must be one of `allowed` for prediction `what`.
    fn one_of(self, what: &str, allowed: &[Model]) -> KpiResult<Model> {
        if allowed.contains(&self) {
            return Ok(self);
        }
        Err(KpiError::param(
            "model",
            format!("{} has no prediction {what:?}", self.name()),
        ))
    }
}

/// Parameters checked against their model.
#[derive(Clone, Copy)]
pub(super) struct Params<'a>(pub(super) &'a [f64]);

/// Fit a purchase model (BetaGeo, ParetoNBD or BetaGeoBetaBinom) to collapsed customer rows.
pub fn fit_purchases(
    model: Model,
    rows: &Collapsed,
    initial: Option<&[f64]>,
    opts: &Options,
) -> KpiResult<Fit> {
    match model.one_of("fit", &PURCHASE)? {
        Model::BetaGeo => fit_beta_geo(rows, initial, opts),
        Model::BetaGeoBetaBinom => fit_bgbb(rows, initial, opts),
        _ => fit_pareto(rows, initial, opts),
    }
}

/// Customers as the purchase models take them: repeat purchases (`frequency`), `recency` and
/// age (`T`), one entry each, in the model's time unit.
#[derive(Debug, Clone, Copy)]
pub struct Customers<'a> {
    pub frequency: &'a [f64],
    pub recency: &'a [f64],
    pub t: &'a [f64],
}

impl Customers<'_> {
    fn len(&self) -> usize {
        self.frequency.len()
    }

    /// The rules of an RFM summary (docs/conventions.md#rfm-summaries): frequency a finite
    /// number >= 0, 0 <= recency <= T, all finite.
    pub(super) fn check(&self) -> KpiResult<()> {
        same_len(&[
            ("frequency", self.frequency),
            ("recency", self.recency),
            ("T", self.t),
        ])?;
        let (mut bad_x, mut bad_t, mut bad_tx) =
            (BadRows::default(), BadRows::default(), BadRows::default());
        for i in 0..self.len() {
            let (x, tx, t) = (self.frequency[i], self.recency[i], self.t[i]);
            if !(x.is_finite() && x >= 0.0) {
                bad_x.push(i, || format!("{x}"));
            }
            if !(t.is_finite() && t >= 0.0) {
                bad_t.push(i, || format!("{t}"));
            }
            if !(tx.is_finite() && tx >= 0.0 && tx <= t) {
                bad_tx.push(i, || format!("recency {tx} with T {t}"));
            }
        }
        KpiError::check_rows("frequency", "must be a finite number >= 0", bad_x)?;
        KpiError::check_rows("T", "must be a finite number >= 0", bad_t)?;
        KpiError::check_rows(
            "recency",
            "must be finite and satisfy 0 <= recency <= T",
            bad_tx,
        )
    }
}

pub(super) fn same_len(arrays: &[(&str, &[f64])]) -> KpiResult<()> {
    check_same_len_of(
        (arrays[0].0, arrays[0].1.len()),
        arrays[1..].iter().map(|&(name, a)| (name, a.len())),
    )
}

/// Every value of `values` (named `name`) satisfies `ok` (described by `rule`).
fn check_each(name: &str, values: &[f64], rule: &str, ok: impl Fn(f64) -> bool) -> KpiResult<()> {
    let mut bad = BadRows::default();
    for (i, &v) in values.iter().enumerate() {
        if !ok(v) {
            bad.push(i, || format!("{v}"));
        }
    }
    KpiError::check_rows(name, rule, bad)
}

/// Every value of the method argument `name` satisfies `ok` (described by `rule`): a
/// `ParameterError` naming the argument and the first value that does not.
fn check_arg(name: &str, values: &[f64], rule: &str, ok: impl Fn(f64) -> bool) -> KpiResult<()> {
    match values.iter().find(|v| !ok(**v)) {
        Some(v) => Err(KpiError::param(name, format!("{rule}, got {v}"))),
        None => Ok(()),
    }
}

fn horizons(t: &[f64]) -> KpiResult<()> {
    check_arg("t", t, "must be a finite number >= 0", |v| {
        v.is_finite() && v >= 0.0
    })
}

/// The models of repeat purchases: (frequency, recency, T) customers.
const PURCHASE: [Model; 3] = [Model::BetaGeo, Model::ParetoNbd, Model::BetaGeoBetaBinom];
/// The continuous-time ones (P(X(t) = n) and the monthly lifetime value).
const CONTINUOUS: [Model; 2] = [Model::BetaGeo, Model::ParetoNbd];

/// BG/BB counts opportunities: horizons are whole numbers.
fn opportunities(model: Model, t: &[f64]) -> KpiResult<()> {
    if model != Model::BetaGeoBetaBinom {
        return Ok(());
    }
    check_arg("t", t, "must be a whole number of opportunities", |v| {
        v.fract() == 0.0
    })
}

/// E[X(t)]: expected repeat purchases of a new customer in (0, t], per horizon `t`.
pub fn expected_purchases(model: Model, params: &[f64], t: &[f64]) -> KpiResult<Vec<f64>> {
    let model = model.one_of("expected", &PURCHASE)?;
    let Params(p) = model.params(params)?;
    horizons(t)?;
    opportunities(model, t)?;
    match model {
        Model::BetaGeo => par_map(t.len(), |i| beta_geo_expected(p, t[i])),
        Model::BetaGeoBetaBinom => par_map(t.len(), |i| Ok(bgbb_expected(p, t[i]))),
        _ => par_map(t.len(), |i| Ok(pareto_expected(p, t[i]))),
    }
}

/// E[Y(t) | x, t_x, T]: expected purchases of each customer in the next `t[i]` periods.
pub fn conditional_expected_purchases(
    model: Model,
    params: &[f64],
    t: &[f64],
    customers: &Customers<'_>,
) -> KpiResult<Vec<f64>> {
    let model = model.one_of("conditional", &PURCHASE)?;
    let Params(p) = model.params(params)?;
    customers.check()?;
    same_len(&[("frequency", customers.frequency), ("t", t)])?;
    horizons(t)?;
    opportunities(model, t)?;
    let Customers {
        frequency: x,
        recency: tx,
        t: bt,
    } = *customers;
    if model == Model::BetaGeoBetaBinom {
        check_discrete(x, tx, bt)?;
    }
    match model {
        Model::BetaGeo => par_map(t.len(), |i| {
            beta_geo_conditional(p, t[i], x[i], tx[i], bt[i])
        }),
        Model::BetaGeoBetaBinom => par_map(t.len(), |i| {
            Ok(bgbb_conditional(p, t[i], x[i], tx[i], bt[i]))
        }),
        _ => par_map(t.len(), |i| pareto_conditional(p, t[i], x[i], tx[i], bt[i])),
    }
}

/// P(alive | x, t_x, T) of each customer.
pub fn probability_alive(
    model: Model,
    params: &[f64],
    customers: &Customers<'_>,
) -> KpiResult<Vec<f64>> {
    let model = model.one_of("alive", &CONTINUOUS)?;
    let Params(p) = model.params(params)?;
    customers.check()?;
    let Customers {
        frequency: x,
        recency: tx,
        t: bt,
    } = *customers;
    match model {
        Model::BetaGeo => par_map(x.len(), |i| Ok(beta_geo_p_alive(p, x[i], tx[i], bt[i]))),
        _ => par_map(x.len(), |i| pareto_p_alive(p, x[i], tx[i], bt[i])),
    }
}

/// P(alive at opportunity T + `ahead[i]` | x, t_x, T) of each BG/BB customer (T the
/// opportunities observed; `ahead` 1 is the paper's P(alive in the next opportunity)).
pub fn probability_alive_ahead(
    params: &[f64],
    ahead: &[f64],
    customers: &Customers<'_>,
) -> KpiResult<Vec<f64>> {
    let model = Model::BetaGeoBetaBinom;
    let Params(p) = model.params(params)?;
    customers.check()?;
    same_len(&[("frequency", customers.frequency), ("t", ahead)])?;
    horizons(ahead)?;
    opportunities(model, ahead)?;
    let Customers {
        frequency: x,
        recency: tx,
        t: n,
    } = *customers;
    check_discrete(x, tx, n)?;
    par_map(x.len(), |i| {
        Ok(bgbb_p_alive(p, x[i], tx[i], n[i], ahead[i]))
    })
}

/// P(X(t) = n): probability a new customer makes exactly `n[i]` repeat purchases in (0, t[i]].
pub fn probability_of_n_purchases(
    model: Model,
    params: &[f64],
    t: &[f64],
    n: &[f64],
) -> KpiResult<Vec<f64>> {
    let model = model.one_of("p_n", &CONTINUOUS)?;
    let Params(p) = model.params(params)?;
    same_len(&[("t", t), ("n", n)])?;
    horizons(t)?;
    check_arg("n", n, "must be a whole number >= 0", |v| {
        v.is_finite() && v >= 0.0 && v.fract() == 0.0
    })?;
    match model {
        Model::BetaGeo => par_map(t.len(), |i| Ok(beta_geo_p_n(p, t[i], n[i]))),
        _ => par_map(t.len(), |i| pareto_p_n(p, t[i], n[i])),
    }
}

/// E[M | x, m̄]: the Gamma-Gamma expected average spend per future transaction of each
/// customer (`frequency` repeat purchases of mean value `monetary_value`).
pub fn expected_average_profit(
    params: &[f64],
    frequency: &[f64],
    monetary_value: &[f64],
) -> KpiResult<Vec<f64>> {
    let Params(p) = Model::GammaGamma.params(params)?;
    same_len(&[("frequency", frequency), ("monetary_value", monetary_value)])?;
    check_each(
        "frequency",
        frequency,
        "must be a finite number >= 0",
        |v| v.is_finite() && v >= 0.0,
    )?;
    check_each(
        "monetary_value",
        monetary_value,
        "must be a finite number >= 0",
        |v| v.is_finite() && v >= 0.0,
    )?;
    par_map(frequency.len(), |i| {
        Ok(gamma_gamma_expected(p, frequency[i], monetary_value[i]))
    })
}

/// Periods of the shifted-beta-geometric curves: whole numbers from `lo` on.
fn periods(t: &[f64], lo: f64) -> KpiResult<()> {
    check_arg(
        "t",
        t,
        &format!("must be a whole number of periods >= {lo}"),
        |v| v.is_finite() && v >= lo && v.fract() == 0.0,
    )
}

/// S(t) = B(α, β+t)/B(α, β): share of a cohort still active after `t` periods.
pub fn survival(params: &[f64], t: &[f64]) -> KpiResult<Vec<f64>> {
    let Params(p) = Model::ShiftedBetaGeo.params(params)?;
    periods(t, 0.0)?;
    par_map(t.len(), |i| Ok(sbg_ln_survival(p, t[i]).exp()))
}

/// r(t) = (β + t − 1)/(α + β + t − 1) = S(t)/S(t−1): the share of those active in period
/// t − 1 who renew into period t (t >= 1).
pub fn retention_rate(params: &[f64], t: &[f64]) -> KpiResult<Vec<f64>> {
    let Params(p) = Model::ShiftedBetaGeo.params(params)?;
    periods(t, 1.0)?;
    let (alpha, beta) = (p[0], p[1]);
    par_map(t.len(), |i| {
        Ok((beta + t[i] - 1.0) / (alpha + beta + t[i] - 1.0))
    })
}

/// P(T = t) = B(α+1, β+t−1)/B(α, β): probability a new customer churns in period t (t >= 1).
pub fn probability_of_churn(params: &[f64], t: &[f64]) -> KpiResult<Vec<f64>> {
    let Params(p) = Model::ShiftedBetaGeo.params(params)?;
    periods(t, 1.0)?;
    par_map(t.len(), |i| Ok(sbg_ln_p_churn(p, t[i]).exp()))
}

/// Discounted expected residual lifetime after `renewals[i]` renewals at `discount_rate[i]`
/// per period (see [`sbg_residual_lifetime`]).
pub fn residual_lifetime(
    params: &[f64],
    renewals: &[f64],
    discount_rate: &[f64],
) -> KpiResult<Vec<f64>> {
    let Params(p) = Model::ShiftedBetaGeo.params(params)?;
    same_len(&[("renewals", renewals), ("discount_rate", discount_rate)])?;
    par_map(renewals.len(), |i| {
        sbg_residual_lifetime(p, renewals[i], discount_rate[i])
    })
}

/// The prediction a model class method asks for, by the name the binding passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prediction {
    Expected,
    Conditional,
    Alive,
    PN,
    Spend,
    Survival,
    Retention,
    Churn,
    ResidualLifetime,
}

impl Prediction {
    pub fn parse(what: &str) -> KpiResult<Prediction> {
        Ok(match what {
            "expected" => Prediction::Expected,
            "conditional" => Prediction::Conditional,
            "alive" => Prediction::Alive,
            "p_n" => Prediction::PN,
            "spend" => Prediction::Spend,
            "survival" => Prediction::Survival,
            "retention" => Prediction::Retention,
            "churn" => Prediction::Churn,
            "residual_lifetime" => Prediction::ResidualLifetime,
            other => {
                return Err(KpiError::param(
                    "what",
                    format!("unknown prediction {other:?}"),
                ))
            }
        })
    }
}

/// Prediction `what` of `model` over aligned inputs: `t` the horizon (periods, renewals),
/// `a`, `b`, `c` the per-customer columns the prediction reads, in this order:
/// conditional and alive (frequency, recency, T), p_n (n), spend (frequency,
/// monetary_value), residual_lifetime (discount rate).
pub fn predict(
    model: Model,
    what: Prediction,
    params: &[f64],
    t: &[f64],
    a: &[f64],
    b: &[f64],
    c: &[f64],
) -> KpiResult<Vec<f64>> {
    let customers = Customers {
        frequency: a,
        recency: b,
        t: c,
    };
    let sbg = |what: &str| model.one_of(what, &[Model::ShiftedBetaGeo]);
    match what {
        Prediction::Expected => expected_purchases(model, params, t),
        Prediction::Conditional => conditional_expected_purchases(model, params, t, &customers),
        Prediction::Alive if model == Model::BetaGeoBetaBinom => {
            probability_alive_ahead(params, t, &customers)
        }
        Prediction::Alive => probability_alive(model, params, &customers),
        Prediction::PN => probability_of_n_purchases(model, params, t, a),
        Prediction::Spend => {
            model.one_of("spend", &[Model::GammaGamma])?;
            expected_average_profit(params, a, b)
        }
        Prediction::Survival => sbg("survival").and_then(|_| survival(params, t)),
        Prediction::Retention => sbg("retention").and_then(|_| retention_rate(params, t)),
        Prediction::Churn => sbg("churn").and_then(|_| probability_of_churn(params, t)),
        Prediction::ResidualLifetime => {
            sbg("residual_lifetime").and_then(|_| residual_lifetime(params, t, a))
        }
    }
}

/// Model time units per month of the `freq` an RFM table was made with, for the lifetime
/// value (lifetimes' factors, docs/conventions.md#lifetime-value).
pub fn units_per_month(freq: &str) -> KpiResult<f64> {
    Ok(match freq {
        "hour" => 720.0,
        "day" => 30.0,
        "week" => 4.345,
        "month" => 1.0,
        other => {
            return Err(KpiError::param(
                "freq",
                format!(
                    "{other:?} is not a time unit of a lifetime value; use \"hour\", \"day\", \"week\" or \"month\""
                ),
            ))
        }
    })
}

/// Longest horizon of [`customer_lifetime_value`], in months (a century).
pub const MAX_CLV_MONTHS: usize = 1_200;

/// Discounted customer lifetime value (lifetimes' convention, docs/conventions.md#lifetime-value):
/// with E[Y(t)] the conditional expected purchases of the purchase `model`, m the expected
/// spend per purchase and f the model's time units per month (`units_per_month`),
///   clv_i = m_i · Σ_{k=1..months} (E[Y(k·f)] − E[Y((k−1)·f)]) / (1 + d)^k.
/// `spend_column` names the spend in errors: the spend model's prediction ("spend") or the
/// table's column of values per transaction.
/// The discounted purchase sum depends on (x, t_x, T) only, so it is computed once per distinct
/// row (a million customers have far fewer distinct rows) and scaled by each customer's spend.
/// `months` is wide so that any integer a caller passes reaches the bound check.
#[allow(clippy::too_many_arguments)]
pub fn customer_lifetime_value(
    model: Model,
    params: &[f64],
    spend: &[f64],
    spend_column: &str,
    customers: &Customers<'_>,
    months: i128,
    discount_rate: f64,
    units_per_month: f64,
) -> KpiResult<Vec<f64>> {
    let model = model.one_of("clv", &CONTINUOUS)?;
    let Params(p) = model.params(params)?;
    let months: usize = KpiError::int_param("months", months, 1, MAX_CLV_MONTHS as i128)?;
    // (1 + d)^k must stay a positive finite divisor: d > −1 (−1 divides by zero).
    if !(discount_rate.is_finite() && discount_rate > -1.0) {
        return Err(KpiError::param(
            "discount_rate",
            format!("must be a finite monthly rate greater than -1, got {discount_rate}"),
        ));
    }
    if !(units_per_month.is_finite() && units_per_month > 0.0) {
        return Err(KpiError::param(
            "freq",
            format!("time units per month must be a positive number, got {units_per_month}"),
        ));
    }
    customers.check()?;
    same_len(&[("frequency", customers.frequency), (spend_column, spend)])?;
    check_each(spend_column, spend, "must be a finite number >= 0", |v| {
        v.is_finite() && v >= 0.0
    })?;
    let Customers {
        frequency: x,
        recency: tx,
        t: big_t,
    } = *customers;
    let cond = |t: f64, i: usize| match model {
        Model::BetaGeo => beta_geo_conditional(p, t, x[i], tx[i], big_t[i]),
        _ => pareto_conditional(p, t, x[i], tx[i], big_t[i]),
    };
    per_distinct_row(customers, spend, |i| {
        let (mut sum, mut prev) = (0.0, 0.0);
        for step in 1..=months {
            let now = cond(step as f64 * units_per_month, i)?;
            sum += (now - prev) / (1.0 + discount_rate).powi(step as i32);
            prev = now;
        }
        Ok(sum)
    })
}

/// `spend[i]` times `f` of customer i, with `f` evaluated once per distinct (x, t_x, T) row
/// (a million customers have far fewer distinct rows).
fn per_distinct_row(
    customers: &Customers<'_>,
    spend: &[f64],
    f: impl Fn(usize) -> KpiResult<f64> + Sync + Send,
) -> KpiResult<Vec<f64>> {
    let Customers {
        frequency: x,
        recency: tx,
        t: big_t,
    } = *customers;
    let mut index: HashMap<(u64, u64, u64), usize> = HashMap::new();
    let mut distinct: Vec<usize> = Vec::new();
    let row_of: Vec<usize> = (0..x.len())
        .map(|i| {
            *index
                .entry((x[i].to_bits(), tx[i].to_bits(), big_t[i].to_bits()))
                .or_insert_with(|| {
                    distinct.push(i);
                    distinct.len() - 1
                })
        })
        .collect();
    let per_row = par_map(distinct.len(), |k| f(distinct[k]))?;
    Ok((0..x.len())
        .map(|i| spend[i] * per_row[row_of[i]])
        .collect())
}

/// Longest finite horizon of [`bgbb_lifetime_value`], in opportunities.
pub const MAX_CLV_OPPORTUNITIES: usize = 1_000_000;

/// Discounted lifetime value of BG/BB customers (docs/conventions.md#lifetime-value): with
/// E[Y_{n+s}] the expected transaction at the s-th opportunity ahead and m_i the value per
/// transaction,
///   clv_i = m_i · Σ_{s=1}^{N} E[Y_{n+s} | x_i, t_x,i, n_i] / (1 + d)^s,
/// d the discount rate per opportunity and N = `opportunities` (None: every future
/// opportunity, the paper's DERT, which needs d > 0). See [`bgbb_discounted`].
pub fn bgbb_lifetime_value(
    params: &[f64],
    spend: &[f64],
    spend_column: &str,
    customers: &Customers<'_>,
    opportunities: Option<i128>,
    discount_rate: f64,
) -> KpiResult<Vec<f64>> {
    let Params(p) = Model::BetaGeoBetaBinom.params(params)?;
    let horizon: Option<u64> = opportunities
        .map(|k| KpiError::int_param("opportunities", k, 1, MAX_CLV_OPPORTUNITIES as i128))
        .transpose()?;
    if !(discount_rate.is_finite() && discount_rate > -1.0) {
        return Err(KpiError::param(
            "discount_rate",
            format!("must be a finite rate per opportunity greater than -1, got {discount_rate}"),
        ));
    }
    if horizon.is_none() && discount_rate <= 0.0 {
        return Err(KpiError::param(
            "discount_rate",
            format!(
                "must be > 0 to sum every future opportunity (the sum may not converge otherwise), got {discount_rate}; or give opportunities"
            ),
        ));
    }
    customers.check()?;
    same_len(&[("frequency", customers.frequency), (spend_column, spend)])?;
    check_each(spend_column, spend, "must be a finite number >= 0", |v| {
        v.is_finite() && v >= 0.0
    })?;
    let Customers {
        frequency: x,
        recency: tx,
        t: n,
    } = *customers;
    check_discrete(x, tx, n)?;
    per_distinct_row(customers, spend, |i| {
        bgbb_discounted(p, x[i], tx[i], n[i], horizon, discount_rate)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BG: [f64; 4] = [0.243, 4.414, 0.793, 2.426];

    fn customers<'a>(x: &'a [f64], tx: &'a [f64], t: &'a [f64]) -> Customers<'a> {
        Customers {
            frequency: x,
            recency: tx,
            t,
        }
    }

    #[test]
    fn impossible_customers_are_refused_naming_the_column() {
        // (frequency, recency, T, the column named)
        type Case<'a> = (&'a [f64], &'a [f64], &'a [f64], &'a str);
        let cases: [Case; 6] = [
            (&[2.0], &[-1.0], &[38.0], "recency"),
            (&[2.0], &[f64::NAN], &[38.0], "recency"),
            (&[2.0], &[40.0], &[38.0], "recency"),
            (&[-1.0], &[1.0], &[38.0], "frequency"),
            (&[2.0], &[1.0], &[-5.0], "T"),
            (&[f64::INFINITY], &[1.0], &[38.0], "frequency"),
        ];
        for (x, tx, t, column) in cases {
            let c = customers(x, tx, t);
            for e in [
                probability_alive(Model::BetaGeo, &BG, &c).unwrap_err(),
                conditional_expected_purchases(Model::ParetoNbd, &BG, &[1.0], &c).unwrap_err(),
                customer_lifetime_value(Model::BetaGeo, &BG, &[1.0], "spend", &c, 12, 0.01, 4.345)
                    .unwrap_err(),
            ] {
                assert!(
                    matches!(&e, KpiError::InvalidValues { column: c, .. } if c == column),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn parameters_out_of_range_are_refused_naming_them() {
        let c = customers(&[2.0], &[30.43], &[38.86]);
        let clv = |months: i128, d: f64| {
            customer_lifetime_value(Model::BetaGeo, &BG, &[22.35], "spend", &c, months, d, 4.345)
        };
        for (months, d, name) in [
            (0, 0.01, "months"),
            (1_201, 0.01, "months"),
            (12, -1.0, "discount_rate"),
            (12, f64::NAN, "discount_rate"),
            (12, f64::INFINITY, "discount_rate"),
        ] {
            let e = clv(months, d).unwrap_err();
            assert!(
                matches!(&e, KpiError::InvalidParameter { name: n, .. } if n == name),
                "{e}"
            );
        }
        let e = probability_alive(Model::BetaGeo, &BG[..3], &c).unwrap_err();
        assert!(e.to_string().contains("4 parameters"), "{e}");
        let e = probability_alive(Model::BetaGeo, &[0.2, -1.0, 0.8, 2.4], &c).unwrap_err();
        assert!(e.to_string().contains("alpha"), "{e}");
        let e = survival(&BG[..2], &[1.5]).unwrap_err();
        assert!(e.to_string().contains("whole number"), "{e}");
        let e = predict(
            Model::GammaGamma,
            Prediction::Alive,
            &[1.0; 3],
            &[0.0],
            &[0.0],
            &[0.0],
            &[0.0],
        )
        .unwrap_err();
        assert!(e.to_string().contains("no prediction"), "{e}");
    }

    #[test]
    fn lifetime_value_matches_the_sum_it_is_defined_by() {
        // One customer, three months at 4.345 weeks a month, 1 % a month: the definition
        // summed by hand from the conditional expectation.
        let c = customers(&[2.0], &[30.43], &[38.86]);
        let got =
            customer_lifetime_value(Model::BetaGeo, &BG, &[22.35], "spend", &c, 3, 0.01, 4.345)
                .unwrap()[0];
        let e = |k: f64| beta_geo_conditional(&BG, k * 4.345, 2.0, 30.43, 38.86).unwrap();
        let want = 22.35
            * ((e(1.0) - e(0.0)) / 1.01
                + (e(2.0) - e(1.0)) / 1.01f64.powi(2)
                + (e(3.0) - e(2.0)) / 1.01f64.powi(3));
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        // Retention is the ratio of consecutive survivals.
        let p = [0.704, 1.182];
        let s = survival(&p, &[2.0, 3.0]).unwrap();
        let r = retention_rate(&p, &[3.0]).unwrap();
        assert!((r[0] - s[1] / s[0]).abs() < 1e-12);
    }

    #[test]
    fn bgbb_lifetime_value_matches_the_sum_of_per_opportunity_expectations() {
        // The donation data's published parameters (Fader, Hardie & Shang 2010, Table 2); a
        // donor with 4 gifts in 6 opportunities, the last at 6, valued at 50 per gift.
        let p = [1.204, 0.750, 0.657, 2.783];
        let c = customers(&[4.0], &[6.0], &[6.0]);
        let e = |k: f64| bgbb_conditional(&p, k, 4.0, 6.0, 6.0);
        for (horizon, d) in [(5i128, 0.1), (40, 0.0), (3, -0.2)] {
            let got = bgbb_lifetime_value(&p, &[50.0], "spend", &c, Some(horizon), d).unwrap()[0];
            let want: f64 = (1..=horizon)
                .map(|s| (e(s as f64) - e(s as f64 - 1.0)) / (1.0 + d).powi(s as i32))
                .sum::<f64>()
                * 50.0;
            assert!(
                (got - want).abs() < 1e-10 * want,
                "{horizon} {d}: {got} vs {want}"
            );
        }
        // Every future opportunity (2F1) is the limit of long finite sums.
        let all = bgbb_lifetime_value(&p, &[1.0], "spend", &c, None, 0.1).unwrap()[0];
        let long = bgbb_lifetime_value(&p, &[1.0], "spend", &c, Some(2_000), 0.1).unwrap()[0];
        assert!((all - long).abs() < 1e-12 * all, "{all} vs {long}");
        // A horizon without end needs a discount; a fractional customer is refused.
        let e = bgbb_lifetime_value(&p, &[1.0], "spend", &c, None, 0.0).unwrap_err();
        assert!(e.to_string().contains("discount_rate"), "{e}");
        let frac = customers(&[1.5], &[2.0], &[6.0]);
        assert!(bgbb_lifetime_value(&p, &[1.0], "spend", &frac, Some(3), 0.1).is_err());
    }
}
