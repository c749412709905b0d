//! Activity over event logs (docs/conventions.md#journey): active users over trailing windows
//! (DAU, WAU, MAU), stickiness (users by number of active intervals) and lifecycle (new,
//! returning, resurrecting, dormant).
//!
//! Every analysis starts the same way ([`entities`]): rows are checked for missing users and
//! times, filtered by event name, turned into a dense entity id (user, or segment × user) and a
//! value derived from the row's wall-clock time, then grouped per entity with a counting sort.
//! Each entity's rows are then reduced on all threads; per-entity work is what makes "a user
//! active on several days counts once" exact without a global hash set. Retention
//! (`core::retention`) reads its rows through the same module.
//!
//! - [`entities`]: entity ids, event-name flags, the row scan, the per-entity grouping.
//! - [`active_users`]: the [`active_users::ActiveUsers`] analysis (partial → merge → finish).
//! - [`stickiness`]: users by number of active intervals, over the whole table.
//! - [`lifecycle`]: growth accounting per period, over the whole table.

pub mod active_users;
pub(crate) mod entities;
pub mod lifecycle;
pub mod stickiness;

/// Event logs for the unit tests of the family.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use arrow::array::{AsArray, Int64Array, RecordBatch, TimestampMicrosecondArray};
    use arrow::datatypes::Int64Type;

    use crate::core::engine::state::Invalid;
    use crate::core::input::events::EventLog;
    use crate::core::input::time::{Zone, US_PER_DAY};
    use crate::core::input::Column;

    /// One event per (user, day), at 01:00 UTC.
    pub fn log(users: Vec<i64>, days: Vec<i64>) -> EventLog {
        EventLog {
            user: Column::from_array("u", Arc::new(Int64Array::from(users))),
            time: Column::from_array(
                "t",
                Arc::new(TimestampMicrosecondArray::from(
                    days.iter()
                        .map(|d| d * US_PER_DAY + 3_600_000_000)
                        .collect::<Vec<_>>(),
                )),
            ),
            zone: Zone::Utc,
            event: None,
            segments: vec![],
            invalid: Invalid::Raise,
        }
    }

    pub fn i64s(b: &RecordBatch, name: &str) -> Vec<i64> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    /// Pseudo-random numbers below `m` (a 64-bit LCG, high bits): reproducible test logs.
    pub fn numbers(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed;
        move |m| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        }
    }
}
