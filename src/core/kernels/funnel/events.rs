//! Event funnels ([`Funnel`]): an event log matched against steps per user
//! (docs/conventions.md#funnels).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch};
use rayon::prelude::*;

use super::finish::finish;
use super::matcher::{event_masks, Attempt, Ev, Matcher};
use super::rules::{check_steps, Attribution, Exclusion, FinishOptions, FunnelRules, Order};
use super::state::{flat_i64, groups_of, merge, state_batch, Counts, Info};
use crate::core::engine::groups::{group_ids, take_rows};
use crate::core::engine::parallel::install;
use crate::core::engine::state::{Analysis, Invalid};
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::events::EventLog;
use crate::core::input::time::{local_micros, Freq, Zone};
use crate::core::input::Column;

/// The event log and settings of an event funnel.
#[derive(Debug, Clone)]
pub struct FunnelInput<'a> {
    /// The events; `log.event` is required, `log.zone` is the zone of the entry periods.
    pub log: &'a EventLog,
    /// `steps[k]` lists the event names that fill step k.
    pub steps: &'a [Vec<String>],
    pub exclusions: &'a [Exclusion],
    pub rules: FunnelRules,
    /// Entry periods ("conversion trends"), in `log.zone`.
    pub freq: Option<Freq>,
    pub finish: FinishOptions,
}

/// The funnel of an event log (`kpikit.funnel`).
///
/// Per user, events are sorted by time (ties: the event of the lowest step first, then input
/// order). An attempt starts at a step-1 event (any step's, [`Order::Unordered`]) and fills the
/// steps as [`Order`] says, each event filling at most one step, every step at most `window`
/// after the entry (boundary included). An exclusion event after step `from` and before step
/// `to` spoils the attempt. With [`super::Count::Uniques`] a user counts once, by the attempt
/// that gets furthest (the earliest of equals); users whose every attempt is spoiled are not in
/// the funnel. With [`super::Count::Totals`] every attempt counts, a new one starting after the
/// previous one converted, timed out or was spoiled. Segments come from the attributed event of
/// the counted attempt.
pub struct Funnel;

impl Analysis for Funnel {
    const NAME: &'static str = "funnel";
    type Input<'a> = FunnelInput<'a>;

    fn partial(input: &FunnelInput<'_>) -> KpiResult<RecordBatch> {
        partial(input)
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge(states, Self::NAME)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        finish(state, Self::NAME)
    }
}

fn partial(input: &FunnelInput<'_>) -> KpiResult<RecordBatch> {
    let FunnelInput {
        log,
        steps,
        exclusions,
        ref rules,
        freq,
        finish,
    } = *input;
    let event = log.event.as_ref().ok_or_else(|| {
        KpiError::param(
            "event",
            "an event funnel needs the event column (event=...)",
        )
    })?;
    let n = steps.len();
    check_steps(n)?;
    if exclusions.len() > 32 {
        return Err(KpiError::param("exclusions", "at most 32 exclusions"));
    }
    log.check_lengths()?;
    let n_rows = log.user.len();
    let mut lookup: HashMap<String, (u32, u32)> = HashMap::new();
    for (k, names) in steps.iter().enumerate() {
        if names.is_empty() {
            return Err(KpiError::param(
                "steps",
                format!("step {} has no event names", k + 1),
            ));
        }
        for name in names {
            lookup.entry(name.clone()).or_default().0 |= 1 << k;
        }
    }
    let mut open = vec![0u32; n + 1];
    for (x, e) in exclusions.iter().enumerate() {
        if e.from >= e.to || e.to >= n {
            return Err(KpiError::param(
                "exclusions",
                format!(
                    "{:?}: the exclusion must lie between two steps, from_step < to_step ≤ {n} (got {} and {})",
                    e.event,
                    e.from + 1,
                    e.to + 1
                ),
            ));
        }
        // Unordered steps have no "between step i and step j": an exclusion spans the whole
        // attempt, from its first to its last step, as PostHog requires.
        if rules.order == Order::Unordered && (e.from != 0 || e.to != n - 1) {
            return Err(KpiError::param(
                "exclusions",
                format!(
                    "{:?}: in an unordered funnel an exclusion spans the whole funnel, from_step 1 to to_step {n} (got {} and {})",
                    e.event,
                    e.from + 1,
                    e.to + 1
                ),
            ));
        }
        lookup.entry(e.event.clone()).or_default().1 |= 1 << x;
        // Open while steps from+1 ..= to are filled (1-based: after step `from`, before `to`).
        for item in open.iter_mut().take(e.to + 1).skip(e.from + 1) {
            *item |= 1 << x;
        }
    }

    let (step_mask, excl_mask) = event_masks(event, &lookup)?;
    let (utc, time_ok) = flat_i64(local_micros(&log.time, Zone::Utc)?);
    let user_nulls: Vec<bool> = log
        .user
        .chunks
        .iter()
        .flat_map(|c| (0..c.len()).map(move |i| c.is_null(i)))
        .collect();
    let mut bad_user = BadRows::default();
    let mut bad_time = BadRows::default();
    let mut skipped = 0u64;
    let mut keep = vec![true; n_rows];
    for i in 0..n_rows {
        if user_nulls[i] {
            bad_user.push(i, || "missing".into());
        }
        if !time_ok[i] {
            bad_time.push(i, || "missing".into());
        }
        if user_nulls[i] || !time_ok[i] {
            keep[i] = false;
            skipped += 1;
        }
    }
    if log.invalid == Invalid::Raise {
        let rule = "must not be missing (invalid=\"skip\" leaves such rows out and counts them)";
        KpiError::check_rows(&log.user.name, rule, bad_user)?;
        KpiError::check_rows(&log.time.name, rule, bad_time)?;
    }
    let users = group_ids(std::slice::from_ref(&log.user))?;
    let need_all = rules.order == Order::Strict;
    let rank = |m: u32| {
        if m == 0 {
            32u8
        } else {
            m.trailing_zeros() as u8
        }
    };
    // (user, time, rank, row): sorting these orders every user's events.
    let mut order: Vec<(u32, i64, u8, u32)> = (0..n_rows)
        .filter(|&i| keep[i] && (need_all || step_mask[i] != 0 || excl_mask[i] != 0))
        .map(|i| (users.ids[i], utc[i], rank(step_mask[i]), i as u32))
        .collect();
    install(|| order.par_sort_unstable());
    let ev: Vec<Ev> = order
        .iter()
        .map(|&(_, t, _, row)| Ev {
            t,
            steps: step_mask[row as usize],
            excl: excl_mask[row as usize],
            row,
        })
        .collect();
    // User boundaries, then users in parallel blocks.
    let mut bounds: Vec<usize> = vec![0];
    for i in 1..order.len() {
        if order[i].0 != order[i - 1].0 {
            bounds.push(i);
        }
    }
    bounds.push(order.len());
    if order.is_empty() {
        bounds = vec![0];
    }
    drop(order);
    let matcher = Matcher {
        n,
        order: rules.order,
        window: rules.window,
        open,
    };
    let n_users = bounds.len().saturating_sub(1);
    let block = 4096usize;
    let attempts: Vec<Vec<Attempt>> = install(|| {
        (0..n_users.div_ceil(block))
            .into_par_iter()
            .map(|b| {
                let mut out = Vec::new();
                for u in b * block..((b + 1) * block).min(n_users) {
                    matcher.user(&ev[bounds[u]..bounds[u + 1]], rules.count, &mut out);
                }
                out
            })
            .collect()
    });
    let attempts: Vec<Attempt> = attempts.into_iter().flatten().collect();
    // Attribution: the row whose segment values the journey is counted under.
    let counted: Vec<(usize, &Attempt)> = attempts
        .iter()
        .filter_map(|a| {
            let row = match rules.attribution {
                Attribution::FirstTouch => a.rows[0],
                Attribution::LastTouch => a.rows[a.reached - 1],
                Attribution::Step(s) => {
                    let pos = (0..a.reached).find(|&p| a.filled[p] as usize == s)?;
                    a.rows[pos]
                }
            };
            Some((row as usize, a))
        })
        .collect();
    let mut keys: Vec<Column> = Vec::new();
    let mut as_of = None;
    if let Some(f) = freq {
        let (local, _) = flat_i64(local_micros(&log.time, log.zone)?);
        let ords: Int64Array = counted
            .iter()
            .map(|(_, a)| Some(f.ordinal_of_micros(local[a.rows[0] as usize])))
            .collect();
        keys.push(Column::from_array("period", Arc::new(ords)));
        as_of = (0..n_rows).filter(|&i| keep[i]).map(|i| local[i]).max();
    }
    let rows: Vec<usize> = counted.iter().map(|(r, _)| *r).collect();
    for s in &log.segments {
        keys.push(Column::from_array(s.name.clone(), take_rows(s, &rows)?));
    }
    let groups = groups_of(&keys, counted.len())?;
    let mut counts = Counts::new(n, groups.len());
    for ((_, a), &g) in counted.iter().zip(&groups.ids) {
        counts.add(g as usize, a.reached, &a.times);
    }
    let info = Info {
        name: Funnel::NAME,
        steps: steps.iter().map(|s| s.join(" | ")).collect(),
        n_segments: log.segments.len(),
        freq,
        window: rules.window,
        as_of,
        order: rules.order.label().into(),
        invalid: log.invalid.label(),
        finish,
        skipped_rows: skipped,
    };
    state_batch(&keys, &groups, &counts, &info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::engine::analyses;
    use crate::core::kernels::funnel::rules::Unit;
    use arrow::array::{AsArray, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{Float64Type, Int64Type};

    const MIN: i64 = 60_000_000;

    fn log(rows: &[(i64, i64, &str)]) -> EventLog {
        let user: Int64Array = rows.iter().map(|r| Some(r.0)).collect();
        let time: TimestampMicrosecondArray = rows.iter().map(|r| Some(r.1 * MIN)).collect();
        let event: StringArray = rows.iter().map(|r| Some(r.2)).collect();
        EventLog {
            user: Column::from_array("user", Arc::new(user)),
            time: Column::from_array("time", Arc::new(time)),
            zone: Zone::Utc,
            event: Some(Column::from_array("event", Arc::new(event))),
            segments: vec![],
            invalid: Invalid::Raise,
        }
    }

    fn run(log: &EventLog, steps: &[&str], order: &str, window: &str) -> KpiResult<RecordBatch> {
        let steps: Vec<Vec<String>> = steps.iter().map(|s| vec![s.to_string()]).collect();
        let state = Funnel::partial(&FunnelInput {
            log,
            steps: &steps,
            exclusions: &[],
            rules: FunnelRules::resolve(None, Some(window), Some(order), None, None, steps.len())?,
            freq: None,
            finish: FinishOptions {
                unit: Unit::Minutes,
                bins: None,
            },
        })?;
        analyses::finish(&analyses::merge(&[state])?)
    }

    fn converted(b: &RecordBatch) -> Vec<i64> {
        b.column_by_name("converted")
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn unordered_funnels_may_start_at_any_step() {
        // Steps a, b, c. User 1: c, b, a within 10 minutes. User 2: b, then a 30 minutes later
        // (outside a 20-minute window), then c 5 minutes after a. User 3: c only.
        let l = log(&[
            (1, 0, "c"),
            (1, 4, "b"),
            (1, 10, "a"),
            (2, 0, "b"),
            (2, 30, "a"),
            (2, 35, "c"),
            (3, 0, "c"),
        ]);
        let out = run(&l, &["a", "b", "c"], "unordered", "20min").unwrap();
        // Every user enters; user 1 reaches 3 distinct steps, user 2 two (a, c: the b is
        // outside the window of a; from b nothing follows within 20 minutes), user 3 one.
        assert_eq!(converted(&out), vec![3, 2, 1]);
        // Times from the first to the last step reached: user 1 at 10 min, user 2 at 5 min.
        let f = out
            .column_by_name("time_from_first_mean_minutes")
            .unwrap()
            .as_primitive::<Float64Type>();
        assert_eq!(f.value(1), (4.0 + 5.0) / 2.0);
        assert_eq!(f.value(2), 10.0);
        let names = out.column_by_name("step_name").unwrap().as_string::<i32>();
        assert_eq!(names.value(0), "any 1 of 3 steps");
        // Step 1 first: user 1 enters at a (minute 10) with nothing after it; user 2 enters at
        // a, then c; user 3 never enters.
        let out = run(&l, &["a", "b", "c"], "any_after_first", "20min").unwrap();
        assert_eq!(converted(&out), vec![2, 1, 0]);
    }

    #[test]
    fn an_event_funnel_needs_the_event_column() {
        let mut l = log(&[(1, 0, "a")]);
        l.event = None;
        let e = run(&l, &["a"], "ordered", "1d").unwrap_err().to_string();
        assert!(e.starts_with("parameter \"event\""), "{e}");
    }
}
