//! Bindings of `core::kpi`: a metric history judged against an objective.

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{self, enter, read_table, table_out, AnyInt};
use crate::core::kpi::{self, Direction, Goal, History, Target};

/// Per period of a history: value, target, attainment, change, improved, projected, status,
/// optionally ci_low/ci_high/significant (with counts), and anomaly.
#[pyfunction]
#[pyo3(signature = (history, *, period, value, freq="month", week_start="monday", target=None, low=None, high=None, previous=false, direction=None, start_value=None, start=None, deadline=None, at_risk_band=0.0, pace_periods=AnyInt(3), numerator=None, denominator=None, anomaly_periods=AnyInt(6)), text_signature = "(history, *, period, value, freq=\"month\", week_start=\"monday\", target=None, low=None, high=None, previous=False, direction=None, start_value=None, start=None, deadline=None, at_risk_band=0.0, pace_periods=3, numerator=None, denominator=None, anomaly_periods=6)")]
#[allow(clippy::too_many_arguments)]
pub fn kpi_evaluate(
    py: Python<'_>,
    history: AnyRecordBatch,
    period: String,
    value: String,
    freq: &str,
    week_start: &str,
    target: Option<f64>,
    low: Option<f64>,
    high: Option<f64>,
    previous: bool,
    direction: Option<&str>,
    start_value: Option<f64>,
    start: Option<String>,
    deadline: Option<String>,
    at_risk_band: f64,
    pace_periods: AnyInt,
    numerator: Option<String>,
    denominator: Option<String>,
    anomaly_periods: AnyInt,
) -> PyResult<PyTable> {
    let table = read_table(history)?;
    let (freq, week_start) = (freq.to_string(), week_start.to_string());
    let direction: Option<String> = direction.map(str::to_string);
    table_out(enter(py, move || {
        let goal = Goal {
            target: Target::of(target, low, high, previous)?,
            direction: direction.as_deref().map(Direction::parse).transpose()?,
            start_value,
            at_risk_band,
            pace_periods: pace_periods.0,
        };
        let h = History {
            table: &table,
            period,
            value,
            freq: convert::freq(&freq, &week_start)?,
            start,
            deadline,
            numerator,
            denominator,
            anomaly_periods: anomaly_periods.bounded(
                "anomaly_periods",
                0,
                kpi::MAX_PERIODS as i128,
            )?,
        };
        kpi::evaluate_history(&h, &goal)
    })?)
}

/// The metric catalog as JSON (`kpikit.catalog`).
#[pyfunction]
pub fn catalog() -> PyResult<String> {
    Ok(crate::core::metrics::catalog::catalog_json().map_err(super::error::PyKpiError::from)?)
}

/// A user's metric definition (JSON) checked against the catalog's vocabularies, for
/// `kpikit.register_metric`.
#[pyfunction]
pub fn register_metric(definition: &str, known: Vec<String>) -> PyResult<String> {
    Ok(
        crate::core::metrics::catalog::check_definition(definition, &known)
            .map_err(super::error::PyKpiError::from)?,
    )
}
