//! Stickiness (docs/conventions.md#stickiness): users by the number of intervals in which they
//! were active, over the whole table (PostHog's stickiness). Not a partial → merge → finish
//! analysis: each user's count of intervals needs all of their rows, and the histogram has no
//! key to merge by, so the table is read in one piece.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};

use super::entities::{by_entity, collect_rows, entities, event_flags, fold_entities};
use crate::core::engine::state::meta;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::events::EventLog;
use crate::core::input::time::{Freq, MAX_US, MIN_US, US_PER_DAY};

/// The period stickiness counts in: an hour, or a calendar period of the core's frequencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Hour,
    Calendar(Freq),
}

const US_PER_HOUR: i64 = 3_600_000_000;

impl Period {
    fn of_micros(self, local_us: i64) -> i64 {
        match self {
            Period::Hour => local_us.div_euclid(US_PER_HOUR),
            Period::Calendar(f) => f.ordinal_of_micros(local_us),
        }
    }

    /// The first (`last = false`) or last period of a day.
    fn of_day(self, day: i64, last: bool) -> i64 {
        match self {
            Period::Hour => day * 24 + if last { 23 } else { 0 },
            Period::Calendar(f) => f.ordinal_of_day(day),
        }
    }
}

/// The event log and settings of [`stickiness`].
#[derive(Debug, Clone, Copy)]
pub struct StickinessInput<'a> {
    pub log: &'a EventLog,
    /// Period length (an interval is `interval_count` of them).
    pub freq: Period,
    /// Periods per interval (PostHog's interval count): 2 with days counts 2-day intervals,
    /// the first starting with the range's first period (a last, shorter interval is kept).
    pub interval_count: u32,
    /// First and last day of the range (days since 1970-01-01); None: the counted events'.
    pub start_day: Option<i64>,
    pub end_day: Option<i64>,
    /// Count users active in at least N intervals instead of exactly N.
    pub cumulative: bool,
    /// Events a user needs in an interval for it to count: at least `min_events` and, when
    /// given, at most `max_events` (both equal: exactly N; PostHog's stickiness criteria).
    pub min_events: u32,
    pub max_events: Option<u32>,
    /// Count only events with one of these names (`events=`); None: every event.
    pub events: Option<&'a [String]>,
}

/// PostHog's stickiness: users by the number of intervals (periods of `freq` within
/// `start_day ..= end_day`, default the range of the counted events) in which they had from
/// `min_events` to `max_events` counted events. One row per count 1 … number of intervals:
/// `intervals`, `users` (exactly that many, or at least that many when `cumulative`), `share` =
/// users / users with at least one active interval (null when there are none).
pub fn stickiness(input: &StickinessInput<'_>) -> KpiResult<RecordBatch> {
    let StickinessInput {
        log,
        freq,
        interval_count,
        start_day,
        end_day,
        cumulative,
        min_events,
        max_events,
        events,
    } = *input;
    if interval_count == 0 {
        return Err(KpiError::param("interval_count", "must be at least 1"));
    }
    if min_events == 0 {
        return Err(KpiError::param("min_events", "must be at least 1"));
    }
    if let Some(max) = max_events.filter(|&m| m < min_events) {
        return Err(KpiError::param(
            "max_events",
            format!("{max} is below min_events ({min_events}): no interval could count"),
        ));
    }
    let max_events = max_events.unwrap_or(u32::MAX);
    // Days of the calendar's years 1 to 9999: the range's length (one count per interval) and
    // its calendar arithmetic stay bounded.
    let (first_day, last_day) = (MIN_US.div_euclid(US_PER_DAY), MAX_US.div_euclid(US_PER_DAY));
    for (name, day) in [("start", start_day), ("end", end_day)] {
        if let Some(d) = day.filter(|d| !(first_day..=last_day).contains(d)) {
            return Err(KpiError::param(
                name,
                format!("day {d} since 1970-01-01 is outside the years 1 to 9999"),
            ));
        }
    }
    let ent = entities(log)?;
    let flags = match (events, &log.event) {
        (Some(names), Some(col)) => Some(event_flags(col, &[names])?),
        (Some(_), None) => {
            return Err(KpiError::param(
                "event",
                "filtering by event needs the event column",
            ))
        }
        (None, _) => None,
    };
    let filtered = flags.is_some();
    let (parts, skipped) = collect_rows(
        log,
        &ent,
        flags.as_deref(),
        |f| !filtered || f & 1 == 1,
        |us, _, _| freq.of_micros(us),
    )?;
    drop(flags);
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for p in &parts {
        for &o in &p.vals {
            lo = lo.min(o);
            hi = hi.max(o);
        }
    }
    let lo = start_day.map_or(lo, |d| freq.of_day(d, false));
    let hi = end_day.map_or(hi, |d| freq.of_day(d, true));
    if start_day.is_some() && end_day.is_some() && lo > hi {
        return Err(KpiError::param("start", "must not be after end"));
    }
    // Periods are numbered from the range's first; an interval is `interval_count` of them.
    let k = interval_count as i64;
    let n = if lo > hi {
        0
    } else {
        ((hi - lo) / k + 1) as usize
    };
    let bucket = |o: i64| (o >= lo && o <= hi).then(|| (o - lo) / k);
    let (offsets, mut ords) = by_entity(parts, ent.count);
    let hist = fold_entities(
        &offsets,
        &mut ords,
        || vec![0i64; n + 1],
        |h, _, os| {
            os.sort_unstable();
            let mut active = 0usize;
            let mut i = 0;
            while i < os.len() {
                let b = bucket(os[i]);
                let mut j = i;
                while j < os.len() && bucket(os[j]) == b {
                    j += 1;
                }
                if b.is_some() && (min_events as usize..=max_events as usize).contains(&(j - i)) {
                    active += 1;
                }
                i = j;
            }
            h[active] += 1;
        },
        |mut a, b| {
            for (x, y) in a.iter_mut().zip(&b) {
                *x += y;
            }
            a
        },
    );
    let total: i64 = hist[1..].iter().sum();
    let mut users: Vec<i64> = hist[1..].to_vec();
    if cumulative {
        for i in (0..users.len().saturating_sub(1)).rev() {
            users[i] += users[i + 1];
        }
    }
    let share: Float64Array = users
        .iter()
        .map(|&u| (total > 0).then(|| u as f64 / total as f64))
        .collect();
    let mut meta = StdHashMap::new();
    meta.insert(meta::SKIPPED_ROWS.to_string(), skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(
            vec![
                Field::new("intervals", DataType::Int64, false),
                Field::new("users", DataType::Int64, false),
                Field::new("share", DataType::Float64, true),
            ],
            meta,
        )),
        vec![
            Arc::new(Int64Array::from_iter_values(1..=n as i64)),
            Arc::new(Int64Array::from(users)),
            Arc::new(share),
        ],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::input::Column;
    use crate::core::kernels::activity::testing::{i64s, log};

    fn input(l: &EventLog) -> StickinessInput<'_> {
        StickinessInput {
            log: l,
            freq: Period::Calendar(Freq::Day),
            interval_count: 1,
            start_day: None,
            end_day: None,
            cumulative: false,
            min_events: 1,
            max_events: None,
            events: None,
        }
    }

    #[test]
    fn stickiness_counts_active_intervals() {
        // User 1 on days 0, 0, 2; user 2 on day 1; user 3 on days 0, 1, 2.
        let l = log(vec![1, 1, 1, 2, 3, 3, 3], vec![0, 0, 2, 1, 0, 1, 2]);
        let out = stickiness(&input(&l)).unwrap();
        assert_eq!(i64s(&out, "users"), vec![1, 1, 1]);
        let cumulative = StickinessInput {
            cumulative: true,
            ..input(&l)
        };
        assert_eq!(
            i64s(&stickiness(&cumulative).unwrap(), "users"),
            vec![3, 2, 1]
        );
        // At least two events in a day: only user 1 on day 0.
        let at_least_2 = StickinessInput {
            min_events: 2,
            ..input(&l)
        };
        assert_eq!(
            i64s(&stickiness(&at_least_2).unwrap(), "users"),
            vec![1, 0, 0]
        );
    }

    #[test]
    fn at_most_and_exactly_n_events_per_interval() {
        // Events per day — user 1: day 0 ×2, day 2 ×1; user 2: day 1 ×1; user 3: days 0, 1, 2
        // ×1 each. At most one event: user 1 counts day 2 only (1 interval), user 2 one,
        // user 3 three → users by intervals [2, 0, 1].
        let l = log(vec![1, 1, 1, 2, 3, 3, 3], vec![0, 0, 2, 1, 0, 1, 2]);
        let at_most_1 = StickinessInput {
            max_events: Some(1),
            ..input(&l)
        };
        assert_eq!(
            i64s(&stickiness(&at_most_1).unwrap(), "users"),
            vec![2, 0, 1]
        );
        // Exactly two: user 1 on day 0 only.
        let exactly_2 = StickinessInput {
            min_events: 2,
            max_events: Some(2),
            ..input(&l)
        };
        assert_eq!(
            i64s(&stickiness(&exactly_2).unwrap(), "users"),
            vec![1, 0, 0]
        );
        let empty = StickinessInput {
            min_events: 3,
            max_events: Some(2),
            ..input(&l)
        };
        let e = stickiness(&empty).unwrap_err().to_string();
        assert!(e.contains("max_events"), "{e}");
    }

    #[test]
    fn an_event_filter_counts_only_those_events() {
        // "a" events — user 1: days 0, 2; user 3: days 0, 2; user 2 has none and is left out.
        let mut l = log(vec![1, 1, 1, 2, 3, 3, 3], vec![0, 0, 2, 1, 0, 1, 2]);
        l.event = Some(Column::from_array(
            "e",
            Arc::new(arrow::array::StringArray::from(vec![
                "a", "b", "a", "b", "a", "b", "a",
            ])),
        ));
        let names = ["a".to_string()];
        let only_a = StickinessInput {
            events: Some(&names),
            ..input(&l)
        };
        let out = stickiness(&only_a).unwrap();
        assert_eq!(i64s(&out, "users"), vec![0, 2, 0]);
        let share = out.column_by_name("share").unwrap();
        let share = share.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(share.values().to_vec(), vec![0.0, 1.0, 0.0]);
    }

    #[test]
    fn two_day_intervals_and_hours() {
        // Days 0..4 (five days: intervals {0,1}, {2,3}, {4}). User 1: days 0, 1 (one interval);
        // user 2: days 1, 2 (two intervals); user 3: days 0, 4 (two intervals).
        let l = log(vec![1, 1, 2, 2, 3, 3], vec![0, 1, 1, 2, 0, 4]);
        let two = StickinessInput {
            interval_count: 2,
            ..input(&l)
        };
        assert_eq!(i64s(&stickiness(&two).unwrap(), "users"), vec![1, 2, 0]);
        // At least two events in a 2-day interval: user 1 ({0,1}: 2), user 2 (none: 1 and 1),
        // user 3 (none).
        let two_events = StickinessInput {
            min_events: 2,
            ..two
        };
        assert_eq!(
            i64s(&stickiness(&two_events).unwrap(), "users"),
            vec![1, 0, 0]
        );
        // Hours of day 0 and 1 (the range: 48 hours, every event at midnight): users 1, 2, 3
        // active in 2, 1 (day 2 is outside), 1 hours.
        let hours = StickinessInput {
            freq: Period::Hour,
            start_day: Some(0),
            end_day: Some(1),
            ..input(&l)
        };
        let out = stickiness(&hours).unwrap();
        assert_eq!(out.num_rows(), 48);
        assert_eq!(i64s(&out, "users")[..3], [2, 1, 0]);
        let zero = StickinessInput {
            interval_count: 0,
            ..input(&l)
        };
        assert!(stickiness(&zero)
            .unwrap_err()
            .to_string()
            .contains("interval_count"));
    }
}
