//! Bindings of `core::kpi`: a metric history judged against an objective.

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, read_table, table_out, AnyInt};
use crate::core::kpi::{self, Direction, History, Objective, Target};
use crate::core::time::{parse_weekday, Freq};
use crate::core::KpiError;

/// Per period of a history: value, target, attainment, change, improved, projected, status,
/// optionally ci_low/ci_high/significant (with counts), and anomaly.
#[pyfunction]
#[pyo3(signature = (history, *, period, value, freq="month", week_start="monday", target=None, low=None, high=None, previous=false, direction=None, start_value=None, start=None, deadline=None, at_risk_band=0.0, pace_periods=AnyInt(3), numerator=None, denominator=None, anomaly_periods=AnyInt(6)), text_signature = "(history, *, period, value, freq=\"month\", week_start=\"monday\", target=None, low=None, high=None, previous=False, direction=None, start_value=None, start=None, deadline=None, at_risk_band=0.0, pace_periods=3, numerator=None, denominator=None, anomaly_periods=6)")]
#[allow(clippy::too_many_arguments)]
pub fn evaluate_kpi(
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
        let target = match (target, low, high, previous) {
            (Some(t), None, None, false) => Target::Value(t),
            (None, Some(l), Some(h), false) => Target::Range(l, h),
            (None, None, None, true) => Target::Previous,
            _ => {
                return Err(KpiError::param(
                    "target",
                    "give one target value, a range (low, high), or \"previous\"",
                ))
            }
        };
        let objective = Objective {
            target,
            direction: match &direction {
                Some(d) => Direction::parse(d)?,
                None => Direction::Increase,
            },
            start_value,
            start: 0,
            deadline: None,
            at_risk_band,
            pace_periods: pace_periods.bounded("pace_periods", 2, kpi::MAX_PERIODS as i128)?,
        };
        let h = History {
            table: &table,
            period,
            value,
            freq: Freq::parse(&freq, parse_weekday(&week_start)?)?,
            start,
            deadline,
            infer_direction: direction.is_none(),
            numerator,
            denominator,
            anomaly_periods: anomaly_periods.bounded(
                "anomaly_periods",
                0,
                kpi::MAX_PERIODS as i128,
            )?,
        };
        kpi::evaluate_history(&h, &objective)
    })?)
}

/// The metric catalog as JSON.
#[pyfunction]
pub fn metric_catalog() -> PyResult<String> {
    Ok(crate::core::catalog::catalog_json().map_err(super::error::PyKpiError::from)?)
}

/// A user's metric definition (JSON) checked against the catalog's vocabularies.
#[pyfunction]
pub fn check_metric_definition(definition: &str, known: Vec<String>) -> PyResult<String> {
    Ok(crate::core::catalog::check_definition(definition, &known)
        .map_err(super::error::PyKpiError::from)?)
}
