//! Stickiness (docs/conventions.md#stickiness): users by the number of intervals in which they
//! were active, over the whole table (PostHog's stickiness). Not a partial → merge → finish
//! analysis: each user's count of intervals needs all of their rows, and the histogram has no
//! key to merge by, so the table is read in one piece.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};

use super::entities::{by_entity, collect_rows, entities, fold_entities};
use crate::core::error::{KpiError, KpiResult};
use crate::core::events::EventLog;
use crate::core::state::meta;
use crate::core::time::{Freq, MAX_US, MIN_US, US_PER_DAY};

/// PostHog's stickiness: users by the number of intervals (periods of `freq` within
/// `start_day ..= end_day`, default the data's range) in which they had at least `min_events`
/// events. One row per count 1 … number of intervals: `intervals`, `users` (exactly that many,
/// or at least that many when `cumulative`), `share` = users / users with at least one active
/// interval (null when there are none).
pub fn stickiness(
    log: &EventLog,
    freq: Freq,
    start_day: Option<i64>,
    end_day: Option<i64>,
    cumulative: bool,
    min_events: u32,
) -> KpiResult<RecordBatch> {
    if min_events == 0 {
        return Err(KpiError::param("min_events", "must be at least 1"));
    }
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
    let (parts, skipped) = collect_rows(
        log,
        &ent,
        None,
        |_| true,
        |us, _, _| freq.ordinal_of_micros(us),
    )?;
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for p in &parts {
        for &o in &p.vals {
            lo = lo.min(o);
            hi = hi.max(o);
        }
    }
    let lo = start_day.map_or(lo, |d| freq.ordinal_of_day(d));
    let hi = end_day.map_or(hi, |d| freq.ordinal_of_day(d));
    if start_day.is_some() && end_day.is_some() && lo > hi {
        return Err(KpiError::param("start", "must not be after end"));
    }
    let n = if lo > hi { 0 } else { (hi - lo + 1) as usize };
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
                let mut j = i;
                while j < os.len() && os[j] == os[i] {
                    j += 1;
                }
                if os[i] >= lo && os[i] <= hi && (j - i) as u32 >= min_events {
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
    use crate::core::activity::testing::{i64s, log};

    #[test]
    fn stickiness_counts_active_intervals() {
        // User 1 on days 0, 0, 2; user 2 on day 1; user 3 on days 0, 1, 2.
        let l = log(vec![1, 1, 1, 2, 3, 3, 3], vec![0, 0, 2, 1, 0, 1, 2]);
        let out = stickiness(&l, Freq::Day, None, None, false, 1).unwrap();
        assert_eq!(i64s(&out, "users"), vec![1, 1, 1]);
        let out = stickiness(&l, Freq::Day, None, None, true, 1).unwrap();
        assert_eq!(i64s(&out, "users"), vec![3, 2, 1]);
        // At least two events in a day: only user 1 on day 0.
        let out = stickiness(&l, Freq::Day, None, None, false, 2).unwrap();
        assert_eq!(i64s(&out, "users"), vec![1, 0, 0]);
    }
}
