//! Bindings of `core::activity` and `core::retention`: active users, stickiness, lifecycle and
//! retention cohorts over event logs.

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, read_table, table_out, AnyInt};
use crate::core::activity::{self, NewUser, MAX_WINDOW_DAYS};
use crate::core::events::EventLog;
use crate::core::input::Table;
use crate::core::retention::{self, RetentionSpec, MAX_BRACKET};
use crate::core::state::Invalid;
use crate::core::time::{parse_weekday, Freq, Zone};
use crate::core::KpiResult;

/// The event log of a table: user and time columns, the event column when needed, segments.
fn event_log(
    table: &Table,
    user: &str,
    time: &str,
    event: Option<&str>,
    by: &[String],
    tz: &str,
    invalid: &str,
) -> KpiResult<EventLog> {
    Ok(EventLog {
        user: table.column(user)?,
        time: table.column(time)?,
        zone: tz.parse::<Zone>()?,
        event: event.map(|e| table.column(e)).transpose()?,
        segments: table.columns(by)?,
        invalid: Invalid::parse(invalid)?,
    })
}

/// Partial state of active users (per day and segment: window deltas and period users).
#[pyfunction]
#[pyo3(signature = (table, user, time, *, freq="day", week_start="monday", windows, by=Vec::new(), event=None, events=None, tz="UTC", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn active_users_state(
    py: Python<'_>,
    table: AnyRecordBatch,
    user: String,
    time: String,
    freq: &str,
    week_start: &str,
    windows: Vec<(String, AnyInt)>,
    by: Vec<String>,
    event: Option<String>,
    events: Option<Vec<String>>,
    tz: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, week_start, tz, invalid) = (
        freq.to_string(),
        week_start.to_string(),
        tz.to_string(),
        invalid.to_string(),
    );
    let state = enter(py, move || {
        let log = event_log(
            &table,
            &user,
            &time,
            events.as_ref().and(event.as_deref()),
            &by,
            &tz,
            &invalid,
        )?;
        let freq = Freq::parse(&freq, parse_weekday(&week_start)?)?;
        let windows = windows
            .into_iter()
            .map(|(name, days)| {
                let days = days.bounded("windows", 1, MAX_WINDOW_DAYS.into())?;
                Ok((name, days))
            })
            .collect::<KpiResult<Vec<_>>>()?;
        activity::active_users_state(&log, freq, &windows, events.as_deref())
    })?;
    table_out(state)
}

/// Merge active-users states of user-disjoint partitions.
#[pyfunction]
pub fn merge_active_users_states(py: Python<'_>, states: Vec<AnyRecordBatch>) -> PyResult<PyTable> {
    let batches = states
        .into_iter()
        .map(|s| {
            read_table(s)
                .and_then(|t| Ok(t.single_batch().map_err(super::error::PyKpiError::from)?))
        })
        .collect::<PyResult<Vec<_>>>()?;
    table_out(enter(py, move || {
        activity::merge_active_users_states(&batches)
    })?)
}

/// Finish an active-users state.
#[pyfunction]
pub fn finish_active_users(py: Python<'_>, state: AnyRecordBatch) -> PyResult<PyTable> {
    let state = read_table(state)?;
    table_out(enter(py, move || {
        activity::finish_active_users(&state.single_batch()?)
    })?)
}

/// Users by number of active intervals (PostHog's stickiness).
#[pyfunction]
#[pyo3(signature = (table, user, time, *, freq="day", week_start="monday", start=None, end=None, cumulative=false, min_events=AnyInt(1), tz="UTC", invalid="raise"), text_signature = "(table, user, time, *, freq=\"day\", week_start=\"monday\", start=None, end=None, cumulative=False, min_events=1, tz=\"UTC\", invalid=\"raise\")")]
#[allow(clippy::too_many_arguments)]
pub fn stickiness(
    py: Python<'_>,
    table: AnyRecordBatch,
    user: String,
    time: String,
    freq: &str,
    week_start: &str,
    start: Option<i64>,
    end: Option<i64>,
    cumulative: bool,
    min_events: AnyInt,
    tz: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, week_start, tz, invalid) = (
        freq.to_string(),
        week_start.to_string(),
        tz.to_string(),
        invalid.to_string(),
    );
    table_out(enter(py, move || {
        let log = event_log(&table, &user, &time, None, &[], &tz, &invalid)?;
        let freq = Freq::parse(&freq, parse_weekday(&week_start)?)?;
        let min_events = min_events.bounded("min_events", 1, u32::MAX.into())?;
        activity::stickiness(&log, freq, start, end, cumulative, min_events)
    })?)
}

/// New, returning, resurrecting and dormant users per period.
#[pyfunction]
#[pyo3(signature = (table, user, time, *, freq="day", week_start="monday", created=None, preset="posthog", tz="UTC", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn lifecycle(
    py: Python<'_>,
    table: AnyRecordBatch,
    user: String,
    time: String,
    freq: &str,
    week_start: &str,
    created: Option<String>,
    preset: &str,
    tz: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, week_start, tz, invalid, preset) = (
        freq.to_string(),
        week_start.to_string(),
        tz.to_string(),
        invalid.to_string(),
        preset.to_string(),
    );
    table_out(enter(py, move || {
        let log = event_log(&table, &user, &time, None, &[], &tz, &invalid)?;
        let freq = Freq::parse(&freq, parse_weekday(&week_start)?)?;
        let created = created.map(|c| table.column(&c)).transpose()?;
        activity::lifecycle(&log, freq, created.as_ref(), NewUser::parse(&preset)?)
    })?)
}

/// Partial state of retention: users retained (and amount) per cohort and period number.
#[pyfunction]
#[pyo3(signature = (table, user, time, *, event=None, start_events=None, return_events=None, amount=None, freq="week", week_start="monday", cohort="first_time", mode="on", brackets=None, boundaries="calendar", reference="total", base="cohort", tz="UTC", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn retention_state(
    py: Python<'_>,
    table: AnyRecordBatch,
    user: String,
    time: String,
    event: Option<String>,
    start_events: Option<Vec<String>>,
    return_events: Option<Vec<String>>,
    amount: Option<String>,
    freq: &str,
    week_start: &str,
    cohort: &str,
    mode: &str,
    brackets: Option<Vec<AnyInt>>,
    boundaries: &str,
    reference: &str,
    base: &str,
    tz: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let args: Vec<String> = [
        freq, week_start, cohort, mode, boundaries, reference, tz, invalid, base,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    table_out(enter(py, move || {
        let needs_event = start_events.is_some() || return_events.is_some();
        let log = event_log(
            &table,
            &user,
            &time,
            event.as_deref().filter(|_| needs_event),
            &[],
            &args[6],
            &args[7],
        )?;
        let brackets = brackets
            .map(|b| {
                b.into_iter()
                    .map(|size| size.bounded("brackets", 1, MAX_BRACKET.into()))
                    .collect::<KpiResult<Vec<u32>>>()
            })
            .transpose()?;
        let mut spec =
            RetentionSpec::parse(&args[0], &args[2], &args[3], brackets, &args[4], &args[5])?
                .with_base(&args[8])?;
        if let Freq::Week { .. } = spec.period {
            spec.period = Freq::Week {
                week_start: parse_weekday(&args[1])?,
            };
        }
        let amount = amount.map(|v| table.column(&v)).transpose()?;
        retention::retention_state(
            &log,
            start_events.as_deref(),
            return_events.as_deref(),
            amount.as_ref(),
            &spec,
        )
    })?)
}

/// Merge retention states of user-disjoint partitions.
#[pyfunction]
pub fn merge_retention_states(py: Python<'_>, states: Vec<AnyRecordBatch>) -> PyResult<PyTable> {
    let batches = states
        .into_iter()
        .map(|s| {
            read_table(s)
                .and_then(|t| Ok(t.single_batch().map_err(super::error::PyKpiError::from)?))
        })
        .collect::<PyResult<Vec<_>>>()?;
    table_out(enter(py, move || {
        retention::merge_retention_states(&batches)
    })?)
}

/// Finish a retention state: the cohort triangle, or the mean curve with `curve=True`.
#[pyfunction]
#[pyo3(signature = (state, *, curve=false))]
pub fn finish_retention(py: Python<'_>, state: AnyRecordBatch, curve: bool) -> PyResult<PyTable> {
    let state = read_table(state)?;
    table_out(enter(py, move || {
        let s = state.single_batch()?;
        if curve {
            retention::retention_curve(&s)
        } else {
            retention::finish_retention(&s)
        }
    })?)
}
