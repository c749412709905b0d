//! Event funnels ([`Funnel`]): an event log matched against steps per user
//! (docs/conventions.md#funnels).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::compute::{cast, nullif};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use rayon::prelude::*;

use super::finish::finish;
use super::matcher::{event_masks, Attempt, Ev, Matcher};
use super::rules::{check_steps, Attribution, Exclusion, FinishOptions, FunnelRules, Order};
use super::state::{flat_i64, groups_of, merge, state_batch, Counts, Info};
use crate::core::engine::groups::{distinct_first_rows, group_ids, take_rows};
use crate::core::engine::parallel::install;
use crate::core::engine::state::{with_categories, Analysis, Invalid};
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::events::EventLog;
use crate::core::input::time::{local_micros, start_dates, Freq, Zone};
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
    /// Date range of the entries: an attempt counts only when its entry event is at or after
    /// `start` and before `end` (local microseconds in `log.zone`; None: unbounded). Later steps
    /// may fall after `end`, within the window (PostHog: docs/conventions.md#funnel-date-range).
    pub start: Option<i64>,
    pub end: Option<i64>,
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
        with_categories(partial(input)?, &input.log.segments)
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge(states, Self::NAME)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        finish(state, Self::NAME)
    }
}

/// Every counted journey of an event funnel, with the group keys it is counted under.
struct Journeys {
    attempts: Vec<Attempt>,
    /// Per counted journey: (attributed row, index in `attempts`).
    counted: Vec<(usize, usize)>,
    /// Group key columns, one value per counted journey (`period` ordinals first with `freq`),
    /// then one row per segment value of the input with no period (the grid's markers).
    keys: Vec<Column>,
    /// Rows of `keys`: the counted journeys, then the markers.
    key_rows: usize,
    as_of: Option<i64>,
    skipped: u64,
}

fn journeys(input: &FunnelInput<'_>) -> KpiResult<Journeys> {
    let FunnelInput {
        log,
        steps,
        exclusions,
        ref rules,
        freq,
        start,
        end,
        finish: _,
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

    if let (Some(s), Some(e)) = (start, end) {
        if s >= e {
            return Err(KpiError::param("end", "must be after start"));
        }
    }
    let (step_mask, excl_mask) = event_masks(event, &lookup)?;
    let (utc, time_ok) = flat_i64(local_micros(&log.time, Zone::Utc)?);
    // Local times, for entry periods and the date range (both read in the log's zone).
    let ranged = start.is_some() || end.is_some();
    let local = if freq.is_some() || ranged {
        Some(flat_i64(local_micros(&log.time, log.zone)?).0)
    } else {
        None
    };
    let in_range = |i: usize| {
        local
            .as_ref()
            .is_none_or(|l| start.is_none_or(|s| l[i] >= s) && end.is_none_or(|e| l[i] < e))
    };
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
            entry: !ranged || in_range(row as usize),
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
    let counted: Vec<(usize, usize)> = attempts
        .iter()
        .enumerate()
        .filter_map(|(x, a)| {
            let row = match rules.attribution {
                Attribution::FirstTouch => a.rows[0],
                Attribution::LastTouch => a.rows[a.reached - 1],
                Attribution::Step(s) => {
                    let pos = (0..a.reached).find(|&p| a.filled[p] as usize == s)?;
                    a.rows[pos]
                }
            };
            Some((row as usize, x))
        })
        .collect();
    // One row of each segment value of the input follows the journeys, with no period: a
    // segment whose users never entered still gets its rows of zeros (docs/conventions.md,
    // "Complete grids").
    let markers: Vec<usize> = if log.segments.is_empty() {
        Vec::new()
    } else {
        distinct_first_rows(&log.segments)?
    };
    let mut keys: Vec<Column> = Vec::new();
    let mut as_of = None;
    if let (Some(f), Some(local)) = (freq, local.as_ref()) {
        let ords: Int64Array = counted
            .iter()
            .map(|&(_, x)| Some(f.ordinal_of_micros(local[attempts[x].rows[0] as usize])))
            .chain(markers.iter().map(|_| None))
            .collect();
        keys.push(Column::from_array("period", Arc::new(ords)));
        as_of = (0..n_rows).filter(|&i| keep[i]).map(|i| local[i]).max();
    }
    let rows: Vec<usize> = counted
        .iter()
        .map(|(r, _)| *r)
        .chain(markers.iter().copied())
        .collect();
    for s in &log.segments {
        keys.push(Column::from_array(s.name.clone(), take_rows(s, &rows)?));
    }
    Ok(Journeys {
        attempts,
        counted,
        keys,
        key_rows: rows.len(),
        as_of,
        skipped,
    })
}

fn partial(input: &FunnelInput<'_>) -> KpiResult<RecordBatch> {
    let Journeys {
        attempts,
        counted,
        keys,
        key_rows,
        as_of,
        skipped,
    } = journeys(input)?;
    let (log, steps, rules, freq, finish) = (
        input.log,
        input.steps,
        &input.rules,
        input.freq,
        input.finish,
    );
    let n = steps.len();
    let groups = groups_of(&keys, key_rows)?;
    let mut counts = Counts::new(n, groups.len());
    for (&(_, x), &g) in counted.iter().zip(&groups.ids) {
        let a = &attempts[x];
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

/// Who converted and who dropped (`kpikit.funnel(..., detail=True)`; PostHog's persons of a
/// funnel step, docs/conventions.md#funnel-actors): one row per counted journey and step k it
/// entered, so that per group and step the rows are the result's `entered` and those with
/// status "converted" its `converted`:
///
/// * step 1: every journey, "converted" (it reached step 1);
/// * step k ≥ 2: the journeys that reached step k − 1; "converted" when they reached step k,
///   "dropped" when they stopped at k − 1.
///
/// Columns: `period` (with `freq`), the segments, `step`, `step_name`, the user column (the id
/// as given), `status`, `entered_at` (time of the event that filled step k − 1; step 1: its
/// own) and `converted_at` (time of the event that filled step k; null when dropped), both in
/// the type of the time column. Rows run step by step, journeys in the order users are grouped.
pub fn actors(input: &FunnelInput<'_>) -> KpiResult<RecordBatch> {
    let Journeys {
        attempts,
        counted,
        keys,
        ..
    } = journeys(input)?;
    let (log, n) = (input.log, input.steps.len());
    let any_order = input.rules.order.any_order();
    let unordered = input.rules.order == Order::Unordered;
    // (journey position in `counted`, step 0-based) for every output row.
    let mut rows: Vec<(usize, usize)> = Vec::new();
    for s in 0..n {
        for (c, &(_, x)) in counted.iter().enumerate() {
            if attempts[x].reached >= s.max(1) {
                rows.push((c, s));
            }
        }
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let pick: Vec<usize> = rows.iter().map(|&(c, _)| c).collect();
    for (i, key) in keys.iter().enumerate() {
        let a = take_rows(key, &pick)?;
        if let (0, Some(f)) = (i, input.freq) {
            let dates = start_dates(f, a.as_primitive::<Int64Type>().iter());
            fields.push(Field::new("period", DataType::Date32, true));
            columns.push(cast(&(Arc::new(dates) as ArrayRef), &DataType::Date32)?);
        } else {
            fields.push(Field::new(&key.name, a.data_type().clone(), true));
            columns.push(a);
        }
    }
    let step: Int64Array = rows.iter().map(|&(_, s)| Some(s as i64 + 1)).collect();
    let names: StringArray = rows
        .iter()
        .map(|&(_, s)| {
            Some(if any_order && (s > 0 || unordered) {
                format!("any {} of {n} steps", s + 1)
            } else {
                input.steps[s].join(" | ")
            })
        })
        .collect();
    let attempt = |c: usize| &attempts[counted[c].1];
    let done: Vec<bool> = rows.iter().map(|&(c, s)| attempt(c).reached > s).collect();
    let status: StringArray = done
        .iter()
        .map(|&d| Some(if d { "converted" } else { "dropped" }))
        .collect();
    let entry_rows: Vec<usize> = rows
        .iter()
        .map(|&(c, _)| attempt(c).rows[0] as usize)
        .collect();
    let before: Vec<usize> = rows
        .iter()
        .map(|&(c, s)| attempt(c).rows[s.saturating_sub(1)] as usize)
        .collect();
    // A dropped journey has no event at step k: its own earlier row stands in, then is nulled.
    let at: Vec<usize> = rows
        .iter()
        .map(|&(c, s)| attempt(c).rows[s.min(attempt(c).reached - 1)] as usize)
        .collect();
    let converted_at = nullif(
        &take_rows(&log.time, &at)?,
        &done.iter().map(|&d| Some(!d)).collect::<BooleanArray>(),
    )?;
    let user = take_rows(&log.user, &entry_rows)?;
    let entered_at = take_rows(&log.time, &before)?;
    for (name, a) in [
        ("step", Arc::new(step) as ArrayRef),
        ("step_name", Arc::new(names)),
        (log.user.name.as_str(), user),
        ("status", Arc::new(status)),
        ("entered_at", entered_at),
        ("converted_at", converted_at),
    ] {
        fields.push(Field::new(name, a.data_type().clone(), true));
        columns.push(a);
    }
    let schema = Arc::new(Schema::new(fields));
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::engine::analyses;
    use crate::core::input::time::Unit;
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
            start: None,
            end: None,
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

    #[test]
    fn actors_match_the_counts_and_the_range_limits_entries() {
        // Steps a, b, c, 20-minute window. User 1: a, b, c; user 2: a, b; user 3: a; user 4:
        // a at minute 100 only.
        let l = log(&[
            (1, 0, "a"),
            (1, 5, "b"),
            (1, 9, "c"),
            (2, 0, "a"),
            (2, 3, "b"),
            (3, 1, "a"),
            (4, 100, "a"),
        ]);
        let steps: Vec<Vec<String>> = ["a", "b", "c"]
            .iter()
            .map(|s| vec![s.to_string()])
            .collect();
        let input = |start: Option<i64>, end: Option<i64>| FunnelInput {
            log: &l,
            steps: &steps,
            exclusions: &[],
            rules: FunnelRules::resolve(None, Some("20min"), None, None, None, 3).unwrap(),
            freq: None,
            start,
            end,
            finish: FinishOptions {
                unit: Unit::Minutes,
                bins: None,
            },
        };
        let t = actors(&input(None, None)).unwrap();
        let step = t
            .column_by_name("step")
            .unwrap()
            .as_primitive::<Int64Type>();
        let user = t
            .column_by_name("user")
            .unwrap()
            .as_primitive::<Int64Type>();
        let status = t.column_by_name("status").unwrap().as_string::<i32>();
        let got: Vec<(i64, i64, &str)> = (0..t.num_rows())
            .map(|i| (step.value(i), user.value(i), status.value(i)))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 1, "converted"),
                (1, 2, "converted"),
                (1, 3, "converted"),
                (1, 4, "converted"),
                (2, 1, "converted"),
                (2, 2, "converted"),
                (2, 3, "dropped"),
                (2, 4, "dropped"),
                (3, 1, "converted"),
                (3, 2, "dropped"),
            ]
        );
        // converted_at: user 1 reached c at minute 9; user 2 dropped at c (null).
        let at = t
            .column_by_name("converted_at")
            .unwrap()
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        assert_eq!(at.value(8), 9 * MIN);
        assert!(at.is_null(9));
        let entered = t
            .column_by_name("entered_at")
            .unwrap()
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        assert_eq!(entered.value(8), 5 * MIN);
        // Entries in [minute 1, minute 100): user 3 only (users 1, 2 enter at 0, user 4 at 100).
        let state = Funnel::partial(&input(Some(MIN), Some(100 * MIN))).unwrap();
        let out = analyses::finish(&analyses::merge(&[state]).unwrap()).unwrap();
        assert_eq!(converted(&out), vec![1, 0, 0]);
        let e = Funnel::partial(&input(Some(MIN), Some(MIN)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("end"), "{e}");
    }
}
