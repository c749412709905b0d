//! Bindings of `core::survey`: NPS and CSAT as partial → merge → finish.

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, merge_states, read_table, table_out, AnyInt};
use crate::core::survey::{self, Invalid, Periods, Scale};
use crate::core::time::{parse_weekday, Freq, Zone};
use crate::core::KpiError;

/// Partial state: score counts per (period, segments…) group of one table or partition.
#[pyfunction]
#[pyo3(signature = (table, score, *, time=None, freq=None, tz="UTC", week_start="monday", by=Vec::new(), scale=(AnyInt(0), AnyInt(10)), invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn score_counts(
    py: Python<'_>,
    table: AnyRecordBatch,
    score: String,
    time: Option<String>,
    freq: Option<String>,
    tz: &str,
    week_start: &str,
    by: Vec<String>,
    scale: (AnyInt, AnyInt),
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let tz = tz.to_string();
    let week_start = week_start.to_string();
    let invalid = invalid.to_string();
    let state = enter(py, move || {
        let scale = Scale::new(scale.0 .0, scale.1 .0)?;
        let invalid = Invalid::parse(&invalid)?;
        let periods = match (time, freq) {
            (Some(t), f) => Some(Periods {
                time: table.column(&t)?,
                zone: tz.parse::<Zone>()?,
                freq: Freq::parse(f.as_deref().unwrap_or("month"), parse_weekday(&week_start)?)?,
            }),
            (None, Some(_)) => {
                return Err(KpiError::param(
                    "freq",
                    "needs a time column (time=...) to bucket",
                ))
            }
            (None, None) => None,
        };
        let segments = table.columns(&by)?;
        survey::score_counts(
            &table.column(&score)?,
            periods.as_ref(),
            &segments,
            scale,
            invalid,
        )
    })?;
    table_out(state)
}

/// Merge partial states of several partitions (counts add up).
#[pyfunction]
pub fn merge_score_counts(py: Python<'_>, states: Vec<AnyRecordBatch>) -> PyResult<PyTable> {
    merge_states(py, states, survey::merge_score_counts)
}

/// Finish a 0–10 score-count state into NPS per group.
#[pyfunction]
pub fn nps(py: Python<'_>, state: AnyRecordBatch) -> PyResult<PyTable> {
    let state = read_table(state)?;
    table_out(enter(py, move || survey::nps(&state.single_batch()?))?)
}

/// Finish a score-count state into CSAT per group.
#[pyfunction]
#[pyo3(signature = (state, *, threshold))]
pub fn csat(py: Python<'_>, state: AnyRecordBatch, threshold: AnyInt) -> PyResult<PyTable> {
    let state = read_table(state)?;
    table_out(enter(py, move || {
        survey::csat(&state.single_batch()?, threshold.0)
    })?)
}
