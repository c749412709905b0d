//! Bindings of `core::clv`: RFM summaries (Arrow tables) and the lifetime-value models (numpy
//! arrays of customers in, numpy arrays out). Argument conversion only.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, merge_states, read_table, table_out, AnyInt};
use crate::core::clv::models::{self, Collapsed};
use crate::core::clv::optim::{Fit, Options};
use crate::core::clv::rfm::{self, RfmSpec, Unit};
use crate::core::time::Zone;
use crate::core::{KpiError, KpiResult};

fn vec_of(a: &PyReadonlyArray1<'_, f64>) -> Vec<f64> {
    a.as_array().iter().copied().collect()
}

fn spec(freq: &str, freq_multiplier: f64, include_first: bool, tz: &str) -> KpiResult<RfmSpec> {
    Ok(RfmSpec {
        unit: Unit::parse(freq)?,
        multiplier: freq_multiplier,
        include_first,
        zone: tz.parse::<Zone>()?,
    })
}

/// frequency, recency, T [, monetary_value] per customer (lifetimes conventions).
#[pyfunction]
#[pyo3(signature = (table, *, customer, time, amount=None, freq="D", freq_multiplier=1.0, observation_end=None, include_first=false, tz="UTC"))]
#[allow(clippy::too_many_arguments)]
pub fn rfm_summary(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    time: String,
    amount: Option<String>,
    freq: &str,
    freq_multiplier: f64,
    observation_end: Option<i64>,
    include_first: bool,
    tz: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, tz) = (freq.to_string(), tz.to_string());
    table_out(enter(py, move || {
        let spec = spec(&freq, freq_multiplier, include_first, &tz)?;
        let amount = amount.map(|a| table.column(&a)).transpose()?;
        rfm::rfm_summary(
            &table.column(&customer)?,
            &table.column(&time)?,
            amount.as_ref(),
            &spec,
            observation_end,
        )
    })?)
}

/// The calibration summary plus holdout columns.
#[pyfunction]
#[pyo3(signature = (table, *, customer, time, calibration_end, amount=None, freq="D", freq_multiplier=1.0, observation_end=None, include_first=false, tz="UTC"))]
#[allow(clippy::too_many_arguments)]
pub fn rfm_split(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    time: String,
    calibration_end: i64,
    amount: Option<String>,
    freq: &str,
    freq_multiplier: f64,
    observation_end: Option<i64>,
    include_first: bool,
    tz: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, tz) = (freq.to_string(), tz.to_string());
    table_out(enter(py, move || {
        let spec = spec(&freq, freq_multiplier, include_first, &tz)?;
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

/// One partition's RFM state (per-customer periods and totals, latest time) for
/// `kpikit.dask.rfm_summary`; the partition must hold all rows of its customers.
#[pyfunction]
#[pyo3(signature = (table, *, customer, time, amount=None, freq="D", observation_end=None, tz="UTC"))]
#[allow(clippy::too_many_arguments)]
pub fn rfm_state(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    time: String,
    amount: Option<String>,
    freq: &str,
    observation_end: Option<i64>,
    tz: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, tz) = (freq.to_string(), tz.to_string());
    table_out(enter(py, move || {
        let spec = spec(&freq, 1.0, false, &tz)?;
        let amount = amount.map(|a| table.column(&a)).transpose()?;
        rfm::rfm_state(
            &table.column(&customer)?,
            &table.column(&time)?,
            amount.as_ref(),
            &spec,
            observation_end,
        )
    })?)
}

/// The RFM summary from the partitions' states (concatenated; T from their latest time).
#[pyfunction]
#[pyo3(signature = (states, *, freq="D", freq_multiplier=1.0, observation_end=None, include_first=false, tz="UTC"))]
pub fn finish_rfm(
    py: Python<'_>,
    states: Vec<AnyRecordBatch>,
    freq: &str,
    freq_multiplier: f64,
    observation_end: Option<i64>,
    include_first: bool,
    tz: &str,
) -> PyResult<PyTable> {
    let spec =
        spec(freq, freq_multiplier, include_first, tz).map_err(super::error::PyKpiError::from)?;
    merge_states(py, states, move |all| {
        rfm::finish_rfm(all, &spec, observation_end)
    })
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

fn options(penalizer_coef: f64) -> KpiResult<Options> {
    if !(penalizer_coef.is_finite() && penalizer_coef >= 0.0) {
        return Err(KpiError::param(
            "penalizer_coef",
            format!("must be >= 0, got {penalizer_coef}"),
        ));
    }
    Ok(Options {
        penalizer: penalizer_coef,
        ..Options::default()
    })
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
        let opts = options(penalizer_coef)?;
        let fit = match model.as_str() {
            "BetaGeo" => models::fit_beta_geo(&d, initial_params.as_deref(), &opts)?,
            "ParetoNBD" => models::fit_pareto(&d, initial_params.as_deref(), &opts)?,
            other => return Err(KpiError::param("model", format!("unknown model {other:?}"))),
        };
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
        let fit =
            models::fit_gamma_gamma(&d, initial_params.as_deref(), &options(penalizer_coef)?)?;
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
            &options(penalizer_coef)?,
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

fn same_len(arrays: &[&[f64]]) -> KpiResult<()> {
    if arrays.windows(2).any(|w| w[0].len() != w[1].len()) {
        return Err(KpiError::param(
            "t",
            "arguments must broadcast to the same length",
        ));
    }
    Ok(())
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
        same_len(&[&t, &x, &tx, &bt])?;
        let p = &params;
        let n = t.len();
        let ok = |v: f64| -> KpiResult<f64> { Ok(v) };
        match (model.as_str(), what.as_str()) {
            ("BetaGeo", "expected") => models::par_map(n, |i| models::beta_geo_expected(p, t[i])),
            ("BetaGeo", "conditional") => models::par_map(n, |i| {
                models::beta_geo_conditional(p, t[i], x[i], tx[i], bt[i])
            }),
            ("BetaGeo", "alive") => {
                models::par_map(n, |i| ok(models::beta_geo_p_alive(p, x[i], tx[i], bt[i])))
            }
            ("BetaGeo", "p_n") => models::par_map(n, |i| ok(models::beta_geo_p_n(p, t[i], x[i]))),
            ("ParetoNBD", "p_n") => models::par_map(n, |i| models::pareto_p_n(p, t[i], x[i])),
            ("ParetoNBD", "expected") => {
                models::par_map(n, |i| ok(models::pareto_expected(p, t[i])))
            }
            ("ParetoNBD", "conditional") => models::par_map(n, |i| {
                models::pareto_conditional(p, t[i], x[i], tx[i], bt[i])
            }),
            ("ParetoNBD", "alive") => {
                models::par_map(n, |i| models::pareto_p_alive(p, x[i], tx[i], bt[i]))
            }
            ("GammaGamma", "spend") => {
                models::par_map(n, |i| ok(models::gamma_gamma_expected(p, x[i], tx[i])))
            }
            ("ShiftedBetaGeo", "survival") => {
                models::par_map(n, |i| ok(models::sbg_ln_survival(p, t[i]).exp()))
            }
            ("ShiftedBetaGeo", "churn") => {
                models::par_map(n, |i| ok(models::sbg_ln_p_churn(p, t[i]).exp()))
            }
            ("ShiftedBetaGeo", "residual_lifetime") => {
                models::par_map(n, |i| models::sbg_residual_lifetime(p, t[i], x[i]))
            }
            ("ShiftedBetaGeo", "retention") => {
                models::par_map(n, |i| ok((p[1] + t[i] - 1.0) / (p[0] + p[1] + t[i] - 1.0)))
            }
            (m, w) => Err(KpiError::param(
                "what",
                format!("{m} has no prediction {w:?}"),
            )),
        }
    })?;
    Ok(out.into_pyarray(py))
}

/// Discounted expected value per customer over `time` months (lifetimes' DCF convention).
#[pyfunction]
#[pyo3(signature = (model, params, spend, frequency, recency, T, *, time, discount_rate, factor))]
#[allow(non_snake_case, clippy::too_many_arguments)]
pub fn clv_lifetime_value<'py>(
    py: Python<'py>,
    model: &str,
    params: Vec<f64>,
    spend: PyReadonlyArray1<'py, f64>,
    frequency: PyReadonlyArray1<'py, f64>,
    recency: PyReadonlyArray1<'py, f64>,
    T: PyReadonlyArray1<'py, f64>,
    time: AnyInt,
    discount_rate: f64,
    factor: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (m, x, tx, bt) = (
        vec_of(&spend),
        vec_of(&frequency),
        vec_of(&recency),
        vec_of(&T),
    );
    let model = model.to_string();
    let out = enter(py, move || {
        same_len(&[&m, &x, &tx, &bt])?;
        let time = time.bounded("time", 0, models::MAX_CLV_MONTHS as i128)?;
        models::lifetime_value(
            &model,
            &params,
            &m,
            &x,
            &tx,
            &bt,
            time,
            discount_rate,
            factor,
        )
    })?;
    Ok(out.into_pyarray(py))
}
