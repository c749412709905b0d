//! Bindings of `core::kernels::clv`: RFM summaries (Arrow tables) and the lifetime-value models (numpy
//! arrays of customers in, numpy arrays out). Argument conversion only.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{self, enter, read_table, table_out, AnyInt};
use crate::core::engine::state::{Analysis, Invalid};
use crate::core::kernels::clv::likelihood::{self, Rows};
use crate::core::kernels::clv::models::{self, Collapsed};
use crate::core::kernels::clv::optim::{Fit, Options};
use crate::core::kernels::clv::predict::{self, Customers, Model, Prediction};
use crate::core::kernels::clv::rfm::{self, RfmInput, RfmSpec, RfmSummary, Unit};
use crate::core::kernels::clv::{alive_path, holdout, tracking};
use crate::core::{KpiError, KpiResult};

fn vec_of(a: &PyReadonlyArray1<'_, f64>) -> Vec<f64> {
    a.as_array().iter().copied().collect()
}

/// The RFM settings: `freq` is a fixed length (hour, minute, second) or a calendar period
/// (with `week_start`).
fn spec(
    freq: &str,
    week_start: &str,
    freq_multiplier: f64,
    include_first: bool,
    tz: &str,
    invalid: &str,
) -> KpiResult<RfmSpec> {
    let unit = match Unit::fixed(freq) {
        Some(u) => u,
        None => Unit::Calendar(convert::freq(freq, week_start)?),
    };
    Ok(RfmSpec {
        unit,
        multiplier: freq_multiplier,
        include_first,
        zone: convert::zone(tz)?,
        invalid: Invalid::parse(invalid)?,
    })
}

/// The partial state of `kpikit.rfm_summary` (finished by `_kpikit.finish`): per customer
/// first and last period, distinct periods and totals, with every setting in its metadata.
#[pyfunction]
#[pyo3(signature = (table, *, customer, time, amount=None, freq="day", week_start="monday", freq_multiplier=1.0, observation_end=None, include_first=false, tz="UTC", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn rfm_summary(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    time: String,
    amount: Option<String>,
    freq: &str,
    week_start: &str,
    freq_multiplier: f64,
    observation_end: Option<i64>,
    include_first: bool,
    tz: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, week_start, tz) = (freq.to_string(), week_start.to_string(), tz.to_string());
    let invalid = invalid.to_string();
    table_out(enter(py, move || {
        let spec = spec(
            &freq,
            &week_start,
            freq_multiplier,
            include_first,
            &tz,
            &invalid,
        )?;
        let amount = amount.map(|a| table.column(&a)).transpose()?;
        RfmSummary::partial(&RfmInput {
            customer: &table.column(&customer)?,
            time: &table.column(&time)?,
            amount: amount.as_ref(),
            spec,
            observation_end,
        })
    })?)
}

/// The calibration summary plus holdout columns.
#[pyfunction]
#[pyo3(signature = (table, *, customer, time, calibration_end, amount=None, freq="day", week_start="monday", freq_multiplier=1.0, observation_end=None, include_first=false, tz="UTC", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn rfm_split(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    time: String,
    calibration_end: i64,
    amount: Option<String>,
    freq: &str,
    week_start: &str,
    freq_multiplier: f64,
    observation_end: Option<i64>,
    include_first: bool,
    tz: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, week_start, tz) = (freq.to_string(), week_start.to_string(), tz.to_string());
    let invalid = invalid.to_string();
    table_out(enter(py, move || {
        let spec = spec(
            &freq,
            &week_start,
            freq_multiplier,
            include_first,
            &tz,
            &invalid,
        )?;
        let amount = amount.map(|a| table.column(&a)).transpose()?;
        rfm::rfm_split(
            &table.column(&customer)?,
            &table.column(&time)?,
            amount.as_ref(),
            &spec,
            calibration_end,
            observation_end,
        )
    })?)
}

fn fit_dict<'py>(py: Python<'py>, fit: Fit, rows: usize) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("params", fit.params)?;
    d.set_item("std_errors", fit.std_errors)?;
    d.set_item("log_likelihood", fit.log_likelihood)?;
    d.set_item("iterations", fit.iterations)?;
    d.set_item("distinct_rows", rows)?;
    Ok(d)
}

/// Fit "BetaGeo" or "ParetoNBD" to (frequency, recency, T) rows by maximum likelihood.
#[pyfunction]
#[pyo3(signature = (model, frequency, recency, T, *, weights=None, penalizer_coef=0.0, initial_params=None))]
#[allow(non_snake_case, clippy::too_many_arguments)]
pub fn clv_fit<'py>(
    py: Python<'py>,
    model: &str,
    frequency: PyReadonlyArray1<'py, f64>,
    recency: PyReadonlyArray1<'py, f64>,
    T: PyReadonlyArray1<'py, f64>,
    weights: Option<PyReadonlyArray1<'py, f64>>,
    penalizer_coef: f64,
    initial_params: Option<Vec<f64>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (x, tx, t) = (vec_of(&frequency), vec_of(&recency), vec_of(&T));
    let w = weights.as_ref().map(vec_of);
    let model = model.to_string();
    let (fit, rows) = enter(py, move || {
        let d: Collapsed = models::collapse(&x, &tx, &t, w.as_deref())?;
        let opts = Options::penalized(penalizer_coef)?;
        let fit =
            predict::fit_purchases(Model::parse(&model)?, &d, initial_params.as_deref(), &opts)?;
        Ok((fit, d.x.len()))
    })?;
    fit_dict(py, fit, rows)
}

/// Fit the Gamma-Gamma spend model to repeat customers (frequency > 0).
#[pyfunction]
#[pyo3(signature = (frequency, monetary_value, *, weights=None, penalizer_coef=0.0, initial_params=None))]
pub fn clv_fit_gamma_gamma<'py>(
    py: Python<'py>,
    frequency: PyReadonlyArray1<'py, f64>,
    monetary_value: PyReadonlyArray1<'py, f64>,
    weights: Option<PyReadonlyArray1<'py, f64>>,
    penalizer_coef: f64,
    initial_params: Option<Vec<f64>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (x, m) = (vec_of(&frequency), vec_of(&monetary_value));
    let w = weights.as_ref().map(vec_of);
    let (fit, rows) = enter(py, move || {
        let d = models::collapse_spend(&x, &m, w.as_deref())?;
        let fit = models::fit_gamma_gamma(
            &d,
            initial_params.as_deref(),
            &Options::penalized(penalizer_coef)?,
        )?;
        Ok((fit, d.x.len()))
    })?;
    fit_dict(py, fit, rows)
}

/// Fit the shifted-beta-geometric model to (periods, churned, weight) rows.
#[pyfunction]
#[pyo3(signature = (periods, churned, weights, *, penalizer_coef=0.0, initial_params=None))]
pub fn clv_fit_shifted_beta_geo<'py>(
    py: Python<'py>,
    periods: PyReadonlyArray1<'py, f64>,
    churned: Vec<bool>,
    weights: PyReadonlyArray1<'py, f64>,
    penalizer_coef: f64,
    initial_params: Option<Vec<f64>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (t, w) = (vec_of(&periods), vec_of(&weights));
    let rows = t.len();
    let fit = enter(py, move || {
        if churned.len() != t.len() || w.len() != t.len() {
            return Err(KpiError::param(
                "periods",
                "periods, churned and weights must have the same length",
            ));
        }
        models::fit_shifted_beta_geo(
            &t,
            &churned,
            &w,
            initial_params.as_deref(),
            &Options::penalized(penalizer_coef)?,
        )
    })?;
    fit_dict(py, fit, rows)
}

/// (periods, churned, weights) rows of the sBG fit.
type SurvivorRows<'py> = (
    Bound<'py, PyArray1<f64>>,
    Vec<bool>,
    Bound<'py, PyArray1<f64>>,
);

/// Cohort survivors n0..nk as (periods, churned, weights) rows for the sBG fit.
#[pyfunction]
pub fn clv_survivor_rows<'py>(
    py: Python<'py>,
    survivors: PyReadonlyArray1<'py, f64>,
) -> PyResult<SurvivorRows<'py>> {
    let s = vec_of(&survivors);
    let (t, c, w) = enter(py, move || models::sbg_rows_from_survivors(&s))?;
    Ok((t.into_pyarray(py), c, w.into_pyarray(py)))
}

/// A model's prediction per element: "expected" (t), "conditional" (t, x, t_x, T), "alive"
/// (x, t_x, T), "p_n" (t, n), "spend" (x, m̄; GammaGamma), "survival", "retention", "churn"
/// (t; ShiftedBetaGeo), "residual_lifetime" (t = renewals, x = discount rate; ShiftedBetaGeo).
#[pyfunction]
#[pyo3(signature = (model, what, params, t, frequency, recency, T))]
#[allow(non_snake_case, clippy::too_many_arguments)]
pub fn clv_predict<'py>(
    py: Python<'py>,
    model: &str,
    what: &str,
    params: Vec<f64>,
    t: PyReadonlyArray1<'py, f64>,
    frequency: PyReadonlyArray1<'py, f64>,
    recency: PyReadonlyArray1<'py, f64>,
    T: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (t, x, tx, bt) = (vec_of(&t), vec_of(&frequency), vec_of(&recency), vec_of(&T));
    let (model, what) = (model.to_string(), what.to_string());
    let out = enter(py, move || {
        let (model, what) = (Model::parse(&model)?, Prediction::parse(&what)?);
        predict::predict(model, what, &params, &t, &x, &tx, &bt)
    })?;
    Ok(out.into_pyarray(py))
}

/// Discounted expected value per customer over `months` months (lifetimes' DCF convention);
/// `freq` the time unit of recency and T, `spend_column` the name errors give the spend.
#[pyfunction]
#[pyo3(signature = (model, params, spend, frequency, recency, T, *, months, discount_rate, freq, spend_column="spend"))]
#[allow(non_snake_case, clippy::too_many_arguments)]
pub fn customer_lifetime_value<'py>(
    py: Python<'py>,
    model: &str,
    params: Vec<f64>,
    spend: PyReadonlyArray1<'py, f64>,
    frequency: PyReadonlyArray1<'py, f64>,
    recency: PyReadonlyArray1<'py, f64>,
    T: PyReadonlyArray1<'py, f64>,
    months: AnyInt,
    discount_rate: f64,
    freq: &str,
    spend_column: &str,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (m, x, tx, bt) = (
        vec_of(&spend),
        vec_of(&frequency),
        vec_of(&recency),
        vec_of(&T),
    );
    let (model, freq, spend_column) = (
        model.to_string(),
        freq.to_string(),
        spend_column.to_string(),
    );
    let out = enter(py, move || {
        let customers = Customers {
            frequency: &x,
            recency: &tx,
            t: &bt,
        };
        predict::customer_lifetime_value(
            Model::parse(&model)?,
            &params,
            &m,
            &spend_column,
            &customers,
            months.0,
            discount_rate,
            predict::units_per_month(&freq)?,
        )
    })?;
    Ok(out.into_pyarray(py))
}

/// Total weighted log-likelihood of `model` at `params`: (frequency, recency, T) rows for the
/// purchase models, (frequency, monetary_value) in `a`, `b` for GammaGamma, (periods, churned
/// as 0/1) for ShiftedBetaGeo; `c` is then unused.
#[pyfunction]
#[pyo3(signature = (model, params, a, b, c, *, weights=None))]
pub fn clv_log_likelihood<'py>(
    py: Python<'py>,
    model: &str,
    params: Vec<f64>,
    a: PyReadonlyArray1<'py, f64>,
    b: PyReadonlyArray1<'py, f64>,
    c: PyReadonlyArray1<'py, f64>,
    weights: Option<PyReadonlyArray1<'py, f64>>,
) -> PyResult<f64> {
    let (a, b, c) = (vec_of(&a), vec_of(&b), vec_of(&c));
    let w = weights.as_ref().map(vec_of);
    let model = model.to_string();
    enter(py, move || {
        let model = Model::parse(&model)?;
        let churned: Vec<bool> = b.iter().map(|v| *v != 0.0).collect();
        let rows = match model {
            Model::GammaGamma => Rows::Spend {
                frequency: &a,
                monetary_value: &b,
            },
            Model::ShiftedBetaGeo => Rows::Renewals {
                periods: &a,
                churned: &churned,
            },
            _ => Rows::Customers {
                frequency: &a,
                recency: &b,
                t: &c,
            },
        };
        likelihood::log_likelihood(model, &params, &rows, w.as_deref())
    })
}

/// BG/BB discounted lifetime value per customer: `opportunities` ahead (None: all of them),
/// `discount_rate` per opportunity.
#[pyfunction]
#[pyo3(signature = (params, spend, frequency, recency, T, *, opportunities, discount_rate, spend_column="spend"))]
#[allow(non_snake_case, clippy::too_many_arguments)]
pub fn clv_bgbb_lifetime_value<'py>(
    py: Python<'py>,
    params: Vec<f64>,
    spend: PyReadonlyArray1<'py, f64>,
    frequency: PyReadonlyArray1<'py, f64>,
    recency: PyReadonlyArray1<'py, f64>,
    T: PyReadonlyArray1<'py, f64>,
    opportunities: Option<AnyInt>,
    discount_rate: f64,
    spend_column: &str,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (m, x, tx, n) = (
        vec_of(&spend),
        vec_of(&frequency),
        vec_of(&recency),
        vec_of(&T),
    );
    let spend_column = spend_column.to_string();
    let out = enter(py, move || {
        let customers = Customers {
            frequency: &x,
            recency: &tx,
            t: &n,
        };
        predict::bgbb_lifetime_value(
            &params,
            &m,
            &spend_column,
            &customers,
            opportunities.map(|o| o.0),
            discount_rate,
        )
    })?;
    Ok(out.into_pyarray(py))
}

/// The period of the model checks: a fixed length or a calendar period.
fn unit_of(freq: &str, week_start: &str) -> KpiResult<Unit> {
    Ok(match Unit::fixed(freq) {
        Some(u) => u,
        None => Unit::Calendar(convert::freq(freq, week_start)?),
    })
}

/// Cumulative actual and expected repeat transactions per period (period, actual, predicted).
#[pyfunction]
#[pyo3(signature = (table, *, model, params, customer, time, t, freq_multiplier, freq="day", week_start="monday", tz="UTC"))]
#[allow(clippy::too_many_arguments)]
pub fn clv_cumulative_transactions(
    py: Python<'_>,
    table: AnyRecordBatch,
    model: String,
    params: Vec<f64>,
    customer: String,
    time: String,
    t: AnyInt,
    freq_multiplier: AnyInt,
    freq: &str,
    week_start: &str,
    tz: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, week_start, tz) = (freq.to_string(), week_start.to_string(), tz.to_string());
    table_out(enter(py, move || {
        tracking::cumulative_transactions(
            Model::parse(&model)?,
            &params,
            &table.column(&customer)?,
            &table.column(&time)?,
            unit_of(&freq, &week_start)?,
            convert::zone(&tz)?,
            t.0,
            freq_multiplier.0,
        )
    })?)
}

/// P(alive) per customer and period since their first purchase.
#[pyfunction]
#[pyo3(signature = (table, *, model, params, customer, time, t=None, freq="day", week_start="monday", freq_multiplier=1.0, tz="UTC"))]
#[allow(clippy::too_many_arguments)]
pub fn clv_alive_path(
    py: Python<'_>,
    table: AnyRecordBatch,
    model: String,
    params: Vec<f64>,
    customer: String,
    time: String,
    t: Option<AnyInt>,
    freq: &str,
    week_start: &str,
    freq_multiplier: f64,
    tz: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, week_start, tz) = (freq.to_string(), week_start.to_string(), tz.to_string());
    table_out(enter(py, move || {
        alive_path::alive_path(
            Model::parse(&model)?,
            &params,
            &table.column(&customer)?,
            &table.column(&time)?,
            unit_of(&freq, &week_start)?,
            convert::zone(&tz)?,
            t.map(|t| t.0),
            freq_multiplier,
        )
    })?)
}

/// (group, customers, actual, predicted) arrays of the holdout check by group.
type HoldoutGroups<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
);

/// Mean actual and predicted holdout purchases per calibration frequency (or time since the
/// last purchase), the first `n` groups.
#[pyfunction]
#[pyo3(signature = (model, params, frequency, recency, T, frequency_holdout, duration_holdout, *, by, n))]
#[allow(non_snake_case, clippy::too_many_arguments)]
pub fn clv_holdout_by_group<'py>(
    py: Python<'py>,
    model: &str,
    params: Vec<f64>,
    frequency: PyReadonlyArray1<'py, f64>,
    recency: PyReadonlyArray1<'py, f64>,
    T: PyReadonlyArray1<'py, f64>,
    frequency_holdout: PyReadonlyArray1<'py, f64>,
    duration_holdout: PyReadonlyArray1<'py, f64>,
    by: &str,
    n: AnyInt,
) -> PyResult<HoldoutGroups<'py>> {
    let (x, tx, bt) = (vec_of(&frequency), vec_of(&recency), vec_of(&T));
    let (h, d) = (vec_of(&frequency_holdout), vec_of(&duration_holdout));
    let (model, by) = (model.to_string(), by.to_string());
    let (k, c, a, p) = enter(py, move || {
        let customers = Customers {
            frequency: &x,
            recency: &tx,
            t: &bt,
        };
        holdout::holdout_by_group(
            Model::parse(&model)?,
            &params,
            &customers,
            &h,
            &d,
            holdout::GroupBy::parse(&by)?,
            n.0,
        )
    })?;
    Ok((
        k.into_pyarray(py),
        c.into_pyarray(py),
        a.into_pyarray(py),
        p.into_pyarray(py),
    ))
}
