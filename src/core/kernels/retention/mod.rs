//! Retention cohorts over an event log (docs/conventions.md#retention): users enter a cohort by
//! a start event and are retained in a later period by a return event.
//!
//! - [`spec`]: the conventions of one analysis and the vendors' presets.
//! - [`kernel`]: the per-user kernels that count cells (cohort, period number).
//! - [`analysis`]: the [`analysis::Retention`] analysis — partial state, merge.
//! - [`finish`]: the cohort triangle and the mean curve of a state.

pub mod analysis;
mod finish;
mod kernel;
pub mod spec;

/// Event logs for the unit tests of the family.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};

    use crate::core::engine::state::Invalid;
    use crate::core::input::events::EventLog;
    use crate::core::input::time::{Zone, US_PER_DAY};
    use crate::core::input::Column;

    /// One event per (user, day, event name), at midnight UTC.
    pub fn log(users: Vec<i64>, days: Vec<i64>, events: Vec<&str>) -> EventLog {
        EventLog {
            user: Column::from_array("u", Arc::new(Int64Array::from(users))),
            time: Column::from_array(
                "t",
                Arc::new(TimestampMicrosecondArray::from(
                    days.iter().map(|d| d * US_PER_DAY).collect::<Vec<_>>(),
                )),
            ),
            zone: Zone::Utc,
            event: Some(Column::from_array("e", Arc::new(StringArray::from(events)))),
            segments: vec![],
            invalid: Invalid::Raise,
        }
    }
}
