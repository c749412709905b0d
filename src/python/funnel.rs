//! Bindings of `core::kernels::funnel`: the partial states of `funnel` (an event log) and
//! `funnel_from_stages` (stage columns), merged and finished by `state::merge` / `state::finish`.

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{self, enter, read_table, table_out, zone, AnyInt};
use crate::core::engine::state::{Analysis, Invalid};
use crate::core::input::events::EventLog;
use crate::core::input::time::Unit;
use crate::core::kernels::funnel::events::{actors, Funnel, FunnelInput};
use crate::core::kernels::funnel::rules::{
    parse_window, Bins, EntryPeriods, Exclusion, FinishOptions, FunnelRules, MAX_STEPS,
};
use crate::core::kernels::funnel::stages::{FunnelFromStages, StageInput, StageOrder};
use crate::core::KpiResult;

fn finish_options(unit: &str, histogram: Option<AnyInt>) -> KpiResult<FinishOptions> {
    Ok(FinishOptions {
        unit: Unit::parse(unit)?,
        bins: Bins::from_setting(histogram.map(|k| k.0))?,
    })
}

/// Partial state of a funnel over stage timestamp columns (one row per lead).
#[pyfunction]
#[pyo3(signature = (table, stages, *, window=None, by=Vec::new(), freq=None, tz="UTC", week_start="monday", unit="days", histogram=None, invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn funnel_from_stages(
    py: Python<'_>,
    table: AnyRecordBatch,
    stages: Vec<String>,
    window: Option<String>,
    by: Vec<String>,
    freq: Option<String>,
    tz: &str,
    week_start: &str,
    unit: &str,
    histogram: Option<AnyInt>,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (tz, week_start, unit, invalid) = (
        tz.to_string(),
        week_start.to_string(),
        unit.to_string(),
        invalid.to_string(),
    );
    let f = freq;
    table_out(enter(py, move || {
        let periods = f
            .map(|f| {
                Ok::<_, crate::core::KpiError>(EntryPeriods {
                    zone: zone(&tz)?,
                    freq: convert::freq(&f, &week_start)?,
                })
            })
            .transpose()?;
        FunnelFromStages::partial(&StageInput {
            stages: &table.columns(&stages)?,
            segments: &table.columns(&by)?,
            window: parse_window(window.as_deref())?,
            periods,
            invalid: StageOrder::parse(&invalid)?,
            finish: finish_options(&unit, histogram)?,
        })
    })?)
}

/// Partial state of a funnel over an event log (all events of a user in this table); with
/// `detail`, the table of who converted and who dropped instead. `start`/`end`: local
/// microseconds in `tz` bounding the entry events.
#[pyfunction]
#[pyo3(signature = (table, *, user, time, event=None, steps, window=None, order=None, exclusions=Vec::new(), by=Vec::new(), attribution=None, count=None, preset=None, freq=None, tz="UTC", week_start="monday", unit="days", histogram=None, invalid="raise", start=None, end=None, detail=false))]
#[allow(clippy::too_many_arguments)]
pub fn funnel(
    py: Python<'_>,
    table: AnyRecordBatch,
    user: String,
    time: String,
    event: Option<String>,
    steps: Vec<Vec<String>>,
    window: Option<String>,
    order: Option<String>,
    exclusions: Vec<(String, AnyInt, AnyInt)>,
    by: Vec<String>,
    attribution: Option<String>,
    count: Option<String>,
    preset: Option<String>,
    freq: Option<String>,
    tz: &str,
    week_start: &str,
    unit: &str,
    histogram: Option<AnyInt>,
    invalid: &str,
    start: Option<i64>,
    end: Option<i64>,
    detail: bool,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (tz, week_start, unit, invalid) = (
        tz.to_string(),
        week_start.to_string(),
        unit.to_string(),
        invalid.to_string(),
    );
    let f = freq;
    table_out(enter(py, move || {
        let rules = FunnelRules::resolve(
            preset.as_deref(),
            window.as_deref(),
            order.as_deref(),
            attribution.as_deref(),
            count.as_deref(),
            steps.len(),
        )?;
        let step = |i: AnyInt| i.bounded::<usize>("exclusions", 0, MAX_STEPS as i128 - 1);
        let exclusions: Vec<Exclusion> = exclusions
            .into_iter()
            .map(|(event, from, to)| {
                Ok(Exclusion {
                    event,
                    from: step(from)?,
                    to: step(to)?,
                })
            })
            .collect::<KpiResult<_>>()?;
        let log = EventLog {
            user: table.column(&user)?,
            time: table.column(&time)?,
            zone: zone(&tz)?,
            event: event.as_deref().map(|e| table.column(e)).transpose()?,
            segments: table.columns(&by)?,
            invalid: Invalid::parse(&invalid)?,
        };
        let input = FunnelInput {
            log: &log,
            steps: &steps,
            exclusions: &exclusions,
            rules,
            freq: f.map(|f| convert::freq(&f, &week_start)).transpose()?,
            start,
            end,
            finish: finish_options(&unit, histogram)?,
        };
        if detail {
            actors(&input)
        } else {
            Funnel::partial(&input)
        }
    })?)
}
