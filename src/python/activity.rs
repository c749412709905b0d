//! Bindings of `core::kernels::activity` and `core::kernels::retention`: active users, stickiness, lifecycle and
//! retention cohorts over event logs. `active_users` and `retention` return partial states
//! (merged and finished by `state::merge` / `state::finish`); `stickiness` and `lifecycle`
//! return their result.

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, freq, read_table, table_out, zone, AnyInt};
use crate::core::engine::state::{Analysis, Invalid};
use crate::core::input::events::EventLog;
use crate::core::input::time::TimeRange;
use crate::core::input::Table;
use crate::core::kernels::activity::active_users::{
    ActiveUsers, ActiveUsersInput, MAX_WINDOW_DAYS,
};
use crate::core::kernels::activity::lifecycle::NewUser;
use crate::core::kernels::activity::stickiness::{Period, StickinessInput};
use crate::core::kernels::retention::analysis::{Retention, RetentionInput};
use crate::core::kernels::retention::spec::{
    self, Period as RetentionPeriod, RetentionSpec, Settings, MAX_BRACKET,
};
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
        zone: zone(tz)?,
        event: event.map(|e| table.column(e)).transpose()?,
        segments: table.columns(by)?,
        invalid: Invalid::parse(invalid)?,
    })
}

/// Partial active-users state (per day and segment: window deltas and period users).
#[pyfunction]
#[pyo3(signature = (table, *, user, time, freq="day", windows, by=Vec::new(), events=None, event="event", tz="UTC", week_start="monday", invalid="raise", start=None, end=None))]
#[allow(clippy::too_many_arguments)]
pub fn active_users(
    py: Python<'_>,
    table: AnyRecordBatch,
    user: String,
    time: String,
    freq: &str,
    windows: Vec<(String, AnyInt)>,
    by: Vec<String>,
    events: Option<Vec<String>>,
    event: &str,
    tz: &str,
    week_start: &str,
    invalid: &str,
    start: Option<i64>,
    end: Option<i64>,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, event, tz, week_start, invalid) = (
        freq.to_string(),
        event.to_string(),
        tz.to_string(),
        week_start.to_string(),
        invalid.to_string(),
    );
    let state = enter(py, move || {
        let range = TimeRange::new(start, end)?;
        let log = event_log(
            &table,
            &user,
            &time,
            events.as_ref().map(|_| event.as_str()),
            &by,
            &tz,
            &invalid,
        )?;
        let windows = windows
            .into_iter()
            .map(|(name, days)| Ok((name, days.bounded("windows", 1, MAX_WINDOW_DAYS.into())?)))
            .collect::<KpiResult<Vec<_>>>()?;
        ActiveUsers::partial(&ActiveUsersInput {
            log: &log,
            freq: self::freq(&freq, &week_start)?,
            windows: &windows,
            events: events.as_deref(),
            range,
        })
    })?;
    table_out(state)
}

/// Users by number of active intervals (PostHog's stickiness), over the whole table.
#[pyfunction]
#[pyo3(signature = (table, *, user, time, freq="day", start=None, end=None, cumulative=false, min_events=AnyInt(1), max_events=None, events=None, event="event", tz="UTC", week_start="monday", invalid="raise", interval_count=AnyInt(1)), text_signature = "(table, *, user, time, freq=\"day\", start=None, end=None, cumulative=False, min_events=1, max_events=None, events=None, event=\"event\", tz=\"UTC\", week_start=\"monday\", invalid=\"raise\", interval_count=1)")]
#[allow(clippy::too_many_arguments)]
pub fn stickiness(
    py: Python<'_>,
    table: AnyRecordBatch,
    user: String,
    time: String,
    freq: &str,
    start: Option<i64>,
    end: Option<i64>,
    cumulative: bool,
    min_events: AnyInt,
    max_events: Option<AnyInt>,
    events: Option<Vec<String>>,
    event: &str,
    tz: &str,
    week_start: &str,
    invalid: &str,
    interval_count: AnyInt,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, event, tz, week_start, invalid) = (
        freq.to_string(),
        event.to_string(),
        tz.to_string(),
        week_start.to_string(),
        invalid.to_string(),
    );
    table_out(enter(py, move || {
        let log = event_log(
            &table,
            &user,
            &time,
            events.as_ref().map(|_| event.as_str()),
            &[],
            &tz,
            &invalid,
        )?;
        let period = if freq == "hour" {
            Period::Hour
        } else {
            Period::Calendar(self::freq(&freq, &week_start)?)
        };
        crate::core::kernels::activity::stickiness::stickiness(&StickinessInput {
            log: &log,
            freq: period,
            interval_count: interval_count.bounded("interval_count", 1, u32::MAX.into())?,
            start_day: start,
            end_day: end,
            cumulative,
            min_events: min_events.bounded("min_events", 1, u32::MAX.into())?,
            max_events: max_events
                .map(|m| m.bounded("max_events", 1, u32::MAX.into()))
                .transpose()?,
            events: events.as_deref(),
        })
    })?)
}

/// New, returning, resurrecting and dormant users per period, over the whole table.
#[pyfunction]
#[pyo3(signature = (table, *, user, time, freq="day", created=None, preset=None, tz="UTC", week_start="monday", invalid="raise", start=None, end=None))]
#[allow(clippy::too_many_arguments)]
pub fn lifecycle(
    py: Python<'_>,
    table: AnyRecordBatch,
    user: String,
    time: String,
    freq: &str,
    created: Option<String>,
    preset: Option<String>,
    tz: &str,
    week_start: &str,
    invalid: &str,
    start: Option<i64>,
    end: Option<i64>,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, tz, week_start, invalid) = (
        freq.to_string(),
        tz.to_string(),
        week_start.to_string(),
        invalid.to_string(),
    );
    table_out(enter(py, move || {
        let log = event_log(&table, &user, &time, None, &[], &tz, &invalid)?;
        let created = created.map(|c| table.column(&c)).transpose()?;
        crate::core::kernels::activity::lifecycle::lifecycle(
            &log,
            self::freq(&freq, &week_start)?,
            created.as_ref(),
            NewUser::parse(preset.as_deref())?,
            (start, end),
        )
    })?)
}

/// Partial retention state: users retained (and amounts) per cohort and period number, with
/// the finish (`curve`) it is to get.
#[pyfunction]
#[pyo3(signature = (table, *, user, time, start_event=None, return_event=None, freq="week", cohort=None, mode=None, brackets=None, boundaries=None, reference="total", base=None, amount=None, preset=None, curve=false, min_returns=None, event="event", tz="UTC", week_start="monday", invalid="raise", start=None, end=None))]
#[allow(clippy::too_many_arguments)]
pub fn retention(
    py: Python<'_>,
    table: AnyRecordBatch,
    user: String,
    time: String,
    start_event: Option<Vec<String>>,
    return_event: Option<Vec<String>>,
    freq: &str,
    cohort: Option<String>,
    mode: Option<String>,
    brackets: Option<Vec<AnyInt>>,
    boundaries: Option<String>,
    reference: &str,
    base: Option<String>,
    amount: Option<String>,
    preset: Option<String>,
    curve: bool,
    min_returns: Option<AnyInt>,
    event: &str,
    tz: &str,
    week_start: &str,
    invalid: &str,
    start: Option<i64>,
    end: Option<i64>,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (freq, reference, event, tz, week_start, invalid) = (
        freq.to_string(),
        reference.to_string(),
        event.to_string(),
        tz.to_string(),
        week_start.to_string(),
        invalid.to_string(),
    );
    table_out(enter(py, move || {
        let range = TimeRange::new(start, end)?;
        let needs_event = start_event.is_some() || return_event.is_some();
        let log = event_log(
            &table,
            &user,
            &time,
            needs_event.then_some(event.as_str()),
            &[],
            &tz,
            &invalid,
        )?;
        let brackets = brackets
            .map(|b| {
                b.into_iter()
                    .map(|size| size.bounded("brackets", 1, MAX_BRACKET.into()))
                    .collect::<KpiResult<Vec<u32>>>()
            })
            .transpose()?;
        let settings = Settings {
            preset: preset.as_deref(),
            cohort: cohort.as_deref(),
            mode: mode.as_deref(),
            boundaries: boundaries.as_deref(),
            reference: Some(&reference),
            base: base.as_deref(),
        };
        let min_returns =
            min_returns.map_or(Ok(1), |n| n.bounded("min_returns", 1, u32::MAX.into()))?;
        let period = if freq == "hour" {
            RetentionPeriod::Hour
        } else {
            RetentionPeriod::Calendar(self::freq(&freq, &week_start)?)
        };
        let spec =
            RetentionSpec::new(period, brackets, &settings)?.with_min_returns(min_returns)?;
        let amount = amount.map(|v| table.column(&v)).transpose()?;
        Retention::partial(&RetentionInput {
            log: &log,
            start_events: start_event.as_deref(),
            return_events: return_event.as_deref(),
            amount: amount.as_ref(),
            spec: &spec,
            curve,
            range,
        })
    })?)
}

/// kpikit's retention conventions and every preset's, `(defaults, [(preset, settings)…])`,
/// each settings a list of (keyword, value): the Python package reads them from here so that
/// the core stays the one place they are defined.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn retention_presets() -> (
    Vec<(&'static str, &'static str)>,
    Vec<(&'static str, Vec<(&'static str, &'static str)>)>,
) {
    let pairs = |values: [&'static str; 4]| spec::PRESET_KEYS.into_iter().zip(values).collect();
    (
        pairs(spec::DEFAULTS),
        spec::PRESETS
            .iter()
            .map(|(name, values)| (*name, pairs(*values)))
            .collect(),
    )
}
