//! The event log every journey analysis reads: who did something, when, optionally which event
//! and in which segment (docs/conventions.md#journey).

use crate::core::engine::state::Invalid;
use crate::core::error::KpiResult;
use crate::core::input::time::Zone;
use crate::core::input::{check_same_len, Column};

/// An event log: who did something when, optionally which event and in which segment.
#[derive(Debug, Clone)]
pub struct EventLog {
    pub user: Column,
    pub time: Column,
    pub zone: Zone,
    /// Event names; needed when a filter or a start / return event is given.
    pub event: Option<Column>,
    pub segments: Vec<Column>,
    /// What to do with rows whose user or time is missing.
    pub invalid: Invalid,
}

impl EventLog {
    /// Every column has as many rows as the user column.
    pub fn check_lengths(&self) -> KpiResult<()> {
        check_same_len(
            &self.user,
            std::iter::once(&self.time)
                .chain(self.event.as_ref())
                .chain(&self.segments),
        )
    }
}
