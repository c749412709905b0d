//! Bindings of `core::funnel`: funnels from stage columns or event logs, as partial → merge →
//! finish.

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, merge_states, read_table, table_out, AnyInt};
use crate::core::funnel::{
    self, Bins, EntryPeriods, EventLog, Exclusion, FunnelRules, Nulls, StageOrder, Unit,
    MAX_HISTOGRAM_BINS, MAX_STEPS,
};
use crate::core::time::{parse_weekday, Freq, Zone};
use crate::core::KpiResult;

fn entry_periods(
    freq: Option<&str>,
    tz: &str,
    week_start: &str,
) -> KpiResult<Option<EntryPeriods>> {
    freq.map(|f| {
        Ok(EntryPeriods {
            zone: tz.parse::<Zone>()?,
            freq: Freq::parse(f, parse_weekday(week_start)?)?,
        })
    })
    .transpose()
}

/// Partial state of a funnel over stage timestamp columns (one row per lead).
#[pyfunction]
#[pyo3(signature = (table, stages, *, window=None, by=Vec::new(), freq=None, tz="UTC", week_start="monday", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn funnel_stage_state(
    py: Python<'_>,
    table: AnyRecordBatch,
    stages: Vec<String>,
    window: Option<String>,
    by: Vec<String>,
    freq: Option<String>,
    tz: &str,
    week_start: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (tz, week_start, invalid) = (tz.to_string(), week_start.to_string(), invalid.to_string());
    table_out(enter(py, move || {
        let periods = entry_periods(freq.as_deref(), &tz, &week_start)?;
        funnel::stage_state(
            &table.columns(&stages)?,
            &table.columns(&by)?,
            funnel::parse_window(window.as_deref())?,
            periods,
            StageOrder::parse(&invalid)?,
        )
    })?)
}

/// Partial state of a funnel over an event log (all events of a user in this table).
#[pyfunction]
#[pyo3(signature = (table, *, user, time, event, steps, window=None, order=None, exclusions=Vec::new(), by=Vec::new(), attribution=None, count=None, preset=None, freq=None, tz="UTC", week_start="monday", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn funnel_event_state(
    py: Python<'_>,
    table: AnyRecordBatch,
    user: String,
    time: String,
    event: String,
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
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (tz, week_start, invalid) = (tz.to_string(), week_start.to_string(), invalid.to_string());
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
        let (u, t, e) = (
            table.column(&user)?,
            table.column(&time)?,
            table.column(&event)?,
        );
        let segments = table.columns(&by)?;
        let log = EventLog {
            user: &u,
            time: &t,
            event: &e,
            segments: &segments,
        };
        funnel::event_state(
            &log,
            &steps,
            &exclusions,
            &rules,
            entry_periods(freq.as_deref(), &tz, &week_start)?,
            Nulls::parse(&invalid)?,
        )
    })?)
}

/// Merge funnel states of several partitions (counts add up, durations concatenate).
#[pyfunction]
pub fn merge_funnel_states(py: Python<'_>, states: Vec<AnyRecordBatch>) -> PyResult<PyTable> {
    merge_states(py, states, funnel::merge_funnel_states)
}

/// Finish a funnel state into the per-step table. `histogram`: None, 0 (automatic bins) or a
/// number of bins (at most `MAX_HISTOGRAM_BINS`).
#[pyfunction]
#[pyo3(signature = (state, *, unit="days", histogram=None))]
pub fn finish_funnel(
    py: Python<'_>,
    state: AnyRecordBatch,
    unit: &str,
    histogram: Option<AnyInt>,
) -> PyResult<PyTable> {
    let state = read_table(state)?;
    let unit = unit.to_string();
    table_out(enter(py, move || {
        let bins = match histogram {
            None => None,
            Some(k) => match k.bounded::<usize>("histogram", 0, MAX_HISTOGRAM_BINS as i128)? {
                0 => Some(Bins::Auto),
                k => Some(Bins::Count(k)),
            },
        };
        funnel::finish_funnel(&state.single_batch()?, Unit::parse(&unit)?, bins)
    })?)
}
