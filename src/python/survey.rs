//! Bindings of `core::kernels::survey`: the partial states of NPS and CSAT (merged and finished by
//! `state::merge` / `state::finish`).

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, freq, read_table, table_out, zone, AnyInt};
use crate::core::engine::state::{Analysis, Invalid};
use crate::core::input::Table;
use crate::core::kernels::survey::{Csat, CsatInput, Nps, Periods, Scale, Scores};
use crate::core::{KpiError, KpiResult};

/// The columns and settings both survey metrics read, borrowed from `table`.
struct Settings {
    score: String,
    time: Option<String>,
    freq: Option<String>,
    tz: String,
    week_start: String,
    by: Vec<String>,
    scale: (AnyInt, AnyInt),
    invalid: String,
}

impl Settings {
    /// Run `f` on the resolved columns and settings.
    fn with_scores<T>(
        &self,
        table: &Table,
        f: impl FnOnce(Scores<'_>) -> KpiResult<T>,
    ) -> KpiResult<T> {
        let periods = match (&self.time, &self.freq) {
            (Some(t), f) => Some(Periods {
                time: table.column(t)?,
                zone: zone(&self.tz)?,
                freq: freq(f.as_deref().unwrap_or("month"), &self.week_start)?,
            }),
            (None, Some(_)) => {
                return Err(KpiError::param(
                    "freq",
                    "needs a time column (time=...) to bucket",
                ))
            }
            (None, None) => None,
        };
        let score = table.column(&self.score)?;
        let segments = table.columns(&self.by)?;
        f(Scores {
            score: &score,
            periods: periods.as_ref(),
            segments: &segments,
            scale: Scale::new(self.scale.0 .0, self.scale.1 .0)?,
            invalid: Invalid::parse(&self.invalid)?,
        })
    }
}

/// Partial NPS state: 0–10 score counts per (period, segments…) group.
#[pyfunction]
#[pyo3(signature = (table, score, *, time=None, freq=None, tz="UTC", week_start="monday", by=Vec::new(), invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn nps(
    py: Python<'_>,
    table: AnyRecordBatch,
    score: String,
    time: Option<String>,
    freq: Option<String>,
    tz: &str,
    week_start: &str,
    by: Vec<String>,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let s = Settings {
        score,
        time,
        freq,
        tz: tz.into(),
        week_start: week_start.into(),
        by,
        scale: (AnyInt(0), AnyInt(10)),
        invalid: invalid.into(),
    };
    table_out(enter(py, move || {
        s.with_scores(&table, |x| Nps::partial(&x))
    })?)
}

/// Partial CSAT state: score counts per group, with the lowest satisfied score.
#[pyfunction]
#[pyo3(signature = (table, score, *, threshold, score_range, time=None, freq=None, tz="UTC", week_start="monday", by=Vec::new(), invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn csat(
    py: Python<'_>,
    table: AnyRecordBatch,
    score: String,
    threshold: AnyInt,
    score_range: (AnyInt, AnyInt),
    time: Option<String>,
    freq: Option<String>,
    tz: &str,
    week_start: &str,
    by: Vec<String>,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let s = Settings {
        score,
        time,
        freq,
        tz: tz.into(),
        week_start: week_start.into(),
        by,
        scale: score_range,
        invalid: invalid.into(),
    };
    table_out(enter(py, move || {
        s.with_scores(&table, |scores| {
            Csat::partial(&CsatInput {
                scores,
                threshold: threshold.0,
            })
        })
    })?)
}
