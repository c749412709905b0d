//! Lifecycle (docs/conventions.md#lifecycle): growth accounting per period — new, returning,
//! resurrecting and dormant users — over the whole table. Not a partial → merge → finish
//! analysis: a user's status in a period depends on their previous period and their first
//! one, so every user's rows are read together.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};

use super::entities::{by_entity, collect_rows, entities, fold_entities};
use crate::core::engine::state::meta;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::events::EventLog;
use crate::core::input::time::{local_micros, start_dates, Freq};
use crate::core::input::{check_same_len, Column};

/// Which definition of a "new" user [`lifecycle`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewUser {
    /// PostHog: new in the period the user was created in (the `created` column, else the
    /// first active period); a first activity after the creation period is "resurrecting".
    CreatedPeriod,
    /// Amplitude: new in the user's first active period, whatever the creation time.
    FirstActive,
}

impl NewUser {
    /// The definition of `preset=` (None: PostHog's, docs/conventions.md#lifecycle).
    pub fn parse(preset: Option<&str>) -> KpiResult<NewUser> {
        match preset.unwrap_or("posthog") {
            "posthog" => Ok(NewUser::CreatedPeriod),
            "amplitude" => Ok(NewUser::FirstActive),
            preset => Err(KpiError::param(
                "preset",
                format!("{preset:?} is not one of \"posthog\", \"amplitude\""),
            )),
        }
    }
}

#[derive(Clone, Copy, Default)]
struct LifeRow {
    ord: i64,
    created: i64,
}

/// Growth accounting per period (first to last active period, gaps included): `new`,
/// `returning` (active in the previous period too), `resurrecting` (active, not in the
/// previous period, not new), `dormant` (active in the previous period, not in this one;
/// negative), `active = new + returning + resurrecting` and Amplitude's
/// `pulse = (new + resurrecting) / −dormant` (null when no one went dormant).
///
/// `range`: the first and last day (days since 1970-01-01, both included) whose periods the
/// result shows; None: the data's. Every event still counts for the statuses (a user active
/// before the range is returning, not new, in its first period), and the periods of the range
/// without events appear (the dormant users of the period after the last event).
pub fn lifecycle(
    log: &EventLog,
    freq: Freq,
    created: Option<&Column>,
    new_user: NewUser,
    range: (Option<i64>, Option<i64>),
) -> KpiResult<RecordBatch> {
    let (first, last) = (
        range.0.map(|d| freq.ordinal_of_day(d)),
        range.1.map(|d| freq.ordinal_of_day(d)),
    );
    if let (Some(a), Some(b)) = (first, last) {
        if a > b {
            return Err(KpiError::param("start", "must not be after end"));
        }
    }
    // Days of the years 1 to 9999 only: the range's length (one row per period) stays bounded.
    let (min_day, max_day) = (
        crate::core::input::time::MIN_US.div_euclid(crate::core::input::time::US_PER_DAY),
        crate::core::input::time::MAX_US.div_euclid(crate::core::input::time::US_PER_DAY),
    );
    for (name, day) in [("start", range.0), ("end", range.1)] {
        if let Some(d) = day.filter(|d| !(min_day..=max_day).contains(d)) {
            return Err(KpiError::param(
                name,
                format!("day {d} since 1970-01-01 is outside the years 1 to 9999"),
            ));
        }
    }
    let ent = entities(log)?;
    // Creation period per row (i64::MAX: unknown), read once for all rows.
    let created_ords: Option<Vec<i64>> = match created {
        Some(c) => {
            check_same_len(&log.user, [c])?;
            let mut v = Vec::with_capacity(c.len());
            for a in local_micros(c, log.zone)? {
                for i in 0..a.len() {
                    v.push(if a.is_null(i) {
                        i64::MAX
                    } else {
                        freq.ordinal_of_micros(a.value(i))
                    });
                }
            }
            Some(v)
        }
        None => None,
    };
    let (parts, skipped) = collect_rows(
        log,
        &ent,
        None,
        |_| true,
        |us, _, row| LifeRow {
            ord: freq.ordinal_of_micros(us),
            created: created_ords.as_ref().map_or(i64::MAX, |c| c[row]),
        },
    )?;
    drop(created_ords);
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for p in &parts {
        for r in &p.vals {
            lo = lo.min(r.ord);
            hi = hi.max(r.ord);
        }
    }
    // The periods shown, then the periods computed: the shown ones and the data's.
    let (show_lo, show_hi) = (first.unwrap_or(lo), last.unwrap_or(hi));
    let (lo, hi) = if show_lo > show_hi {
        (lo, hi)
    } else {
        (lo.min(show_lo), hi.max(show_hi))
    };
    let n = if lo > hi { 0 } else { (hi - lo + 1) as usize };
    let (offsets, mut rows) = by_entity(parts, ent.count);
    // Per period: new, returning, resurrecting, dormant.
    let counts = fold_entities(
        &offsets,
        &mut rows,
        || vec![0i64; 4 * n],
        |c, _, rs| {
            let created = rs.iter().map(|r| r.created).min().unwrap_or(i64::MAX);
            rs.sort_unstable_by_key(|r| r.ord);
            let mut prev: Option<i64> = None;
            let first = rs[0].ord;
            let created = if created == i64::MAX { first } else { created };
            let mut i = 0;
            while i < rs.len() {
                let cur = rs[i].ord;
                let status = match prev {
                    None => match new_user {
                        NewUser::CreatedPeriod if created == cur => 0,
                        NewUser::FirstActive => 0,
                        _ => 2,
                    },
                    Some(p) if p == cur - 1 => 1,
                    Some(_) => 2,
                };
                c[4 * (cur - lo) as usize + status] += 1;
                while i < rs.len() && rs[i].ord == cur {
                    i += 1;
                }
                let next = rs.get(i).map(|r| r.ord);
                if next != Some(cur + 1) && cur < hi {
                    c[4 * (cur + 1 - lo) as usize + 3] -= 1;
                }
                prev = Some(cur);
            }
        },
        |mut a, b| {
            for (x, y) in a.iter_mut().zip(&b) {
                *x += y;
            }
            a
        },
    );
    let shown: Vec<usize> = if show_lo > show_hi {
        vec![]
    } else {
        ((show_lo - lo) as usize..=(show_hi - lo) as usize).collect()
    };
    let col = |k: usize| -> Vec<i64> { shown.iter().map(|&p| counts[4 * p + k]).collect() };
    let (new, ret, res, dor) = (col(0), col(1), col(2), col(3));
    let m = shown.len();
    let active: Vec<i64> = (0..m).map(|p| new[p] + ret[p] + res[p]).collect();
    let pulse: Float64Array = (0..m)
        .map(|p| (dor[p] != 0).then(|| (new[p] + res[p]) as f64 / -dor[p] as f64))
        .collect();
    let dates = arrow::compute::cast(
        &(Arc::new(start_dates(
            freq,
            shown.iter().map(|&p| Some(lo + p as i64)),
        )) as ArrayRef),
        &DataType::Date32,
    )?;
    let mut meta = StdHashMap::new();
    meta.insert(meta::SKIPPED_ROWS.to_string(), skipped.to_string());
    let i64col = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(
            vec![
                Field::new("period", DataType::Date32, false),
                Field::new("new", DataType::Int64, false),
                Field::new("returning", DataType::Int64, false),
                Field::new("resurrecting", DataType::Int64, false),
                Field::new("dormant", DataType::Int64, false),
                Field::new("active", DataType::Int64, false),
                Field::new("pulse", DataType::Float64, true),
            ],
            meta,
        )),
        vec![
            dates,
            i64col(new),
            i64col(ret),
            i64col(res),
            i64col(dor),
            i64col(active),
            Arc::new(pulse),
        ],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::kernels::activity::testing::{i64s, log};

    #[test]
    fn lifecycle_statuses_on_a_small_timeline() {
        // User 1: days 0, 1, 3. User 2: day 1. Days 0..3.
        let l = log(vec![1, 1, 1, 2], vec![0, 1, 3, 1]);
        let out = lifecycle(&l, Freq::Day, None, NewUser::CreatedPeriod, (None, None)).unwrap();
        assert_eq!(i64s(&out, "new"), vec![1, 1, 0, 0]);
        assert_eq!(i64s(&out, "returning"), vec![0, 1, 0, 0]);
        assert_eq!(i64s(&out, "resurrecting"), vec![0, 0, 0, 1]);
        assert_eq!(i64s(&out, "dormant"), vec![0, 0, -2, 0]);
        // Days 1 to 5: day 1 keeps user 1 returning (active on day 0, before the range), day 4
        // shows user 1 going dormant after its last event, day 5 is empty.
        let out = lifecycle(
            &l,
            Freq::Day,
            None,
            NewUser::CreatedPeriod,
            (Some(1), Some(5)),
        )
        .unwrap();
        assert_eq!(i64s(&out, "new"), vec![1, 0, 0, 0, 0]);
        assert_eq!(i64s(&out, "returning"), vec![1, 0, 0, 0, 0]);
        assert_eq!(i64s(&out, "resurrecting"), vec![0, 0, 1, 0, 0]);
        assert_eq!(i64s(&out, "dormant"), vec![0, -2, 0, -1, 0]);
        let e = lifecycle(
            &l,
            Freq::Day,
            None,
            NewUser::CreatedPeriod,
            (Some(3), Some(1)),
        );
        assert!(e.unwrap_err().to_string().contains("start"));
    }
}
