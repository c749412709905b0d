//! Active users over trailing windows of days (DAU, WAU, MAU) and DAU/MAU, as partial →
//! merge → finish (docs/conventions.md#active-users).
//!
//! The state holds, per (day, segments…), the change in the number of users active over each
//! trailing window (+1 the day a user's coverage starts, −1 the day after it ends) and the
//! users active in each period. Over user-disjoint partitions (a shuffle by user) these add up
//! exactly; the finish takes prefix sums over the days of the whole input.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int32Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema, SchemaRef};
use rayon::prelude::*;

use super::entities::{
    by_entity, collect_rows, entities, event_flags, fold_entities, n_segments, range_flags,
    scan_rows, segment_keys, time_bounds, Entities, Part, PresentUsers, RowFlags,
};
use crate::core::engine::groups::{grid, group_ids, merge_sum};
use crate::core::engine::parallel::install;
use crate::core::engine::state::{
    categories_of, meta, with_categories, Analysis, MergeInput, Meta,
};
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::events::EventLog;
use crate::core::input::time::{Freq, TimeRange, US_PER_DAY};
use crate::core::input::Column;

/// The `events=` filter the state was made with (names joined by U+001F): states counting
/// different events must not merge.
const META_FILTER: &str = "kpikit.active_users.events";

const META_WINDOWS: &str = "kpikit.active_users.windows";
/// The day range the state covers (empty: no day); merged as the union.
const META_FIRST_DAY: &str = "kpikit.active_users.first_day";
const META_LAST_DAY: &str = "kpikit.active_users.last_day";

/// A named trailing window of days, e.g. ("mau", 30).
pub type Window = (String, u32);

/// Longest trailing window, in days (ten years).
pub const MAX_WINDOW_DAYS: u32 = 3660;

pub fn check_windows(windows: &[Window]) -> KpiResult<()> {
    if windows.is_empty() {
        return Err(KpiError::param("windows", "at least one window is needed"));
    }
    for (name, days) in windows {
        if *days == 0 || *days > MAX_WINDOW_DAYS {
            return Err(KpiError::param(
                "windows",
                format!("{name:?}: a window is 1 to {MAX_WINDOW_DAYS} days, got {days}"),
            ));
        }
        if matches!(name.as_str(), "period" | "active_users" | "dau_mau") {
            return Err(KpiError::param(
                "windows",
                format!("{name:?} is the name of an output column; pick another window name"),
            ));
        }
    }
    Ok(())
}

/// Per-thread accumulator of the active-users state: deltas per (segment, window, day index)
/// and users per (segment, period index).
struct ActiveAcc {
    delta: Vec<i64>,
    period_users: Vec<i64>,
}

impl ActiveAcc {
    fn add(mut self, other: ActiveAcc) -> ActiveAcc {
        for (x, y) in self.delta.iter_mut().zip(&other.delta) {
            *x += y;
        }
        for (x, y) in self.period_users.iter_mut().zip(&other.period_users) {
            *x += y;
        }
        self
    }
}

/// The day and period ranges an active-users state covers, and how a user's active days add
/// to it.
struct ActiveShape<'a> {
    first: i32,
    last: i32,
    /// Days `first ..= last + longest window` (where coverage ends).
    n_days: usize,
    p_lo: i64,
    n_periods: usize,
    n_win: usize,
    n_seg: usize,
    freq: Freq,
    windows: &'a [Window],
}

impl<'a> ActiveShape<'a> {
    fn new(first: i32, last: i32, freq: Freq, windows: &'a [Window], n_seg: usize) -> Self {
        let empty = first > last;
        let max_w = windows.iter().map(|w| w.1).max().unwrap_or(1) as usize;
        let p_lo = if empty {
            0
        } else {
            freq.ordinal_of_day(first as i64)
        };
        ActiveShape {
            first,
            last,
            n_days: if empty {
                0
            } else {
                (last - first) as usize + max_w + 1
            },
            p_lo,
            n_periods: if empty {
                0
            } else {
                (freq.ordinal_of_day(last as i64) - p_lo + 1) as usize
            },
            n_win: windows.len(),
            n_seg,
            freq,
            windows,
        }
    }

    fn new_acc(&self) -> ActiveAcc {
        ActiveAcc {
            delta: vec![0; self.n_seg * self.n_win * self.n_days],
            period_users: vec![0; self.n_seg * self.n_periods],
        }
    }

    /// One user's distinct active days, ascending.
    fn add_user(&self, acc: &mut ActiveAcc, seg: usize, days: impl Iterator<Item = i32>) {
        let mut days = days.peekable();
        let mut prev_period = i64::MIN;
        while let Some(d) = days.next() {
            self.cover(acc, seg, d, days.peek().copied());
            let p = self.freq.ordinal_of_day(d as i64);
            if p != prev_period {
                self.count_period(acc, seg, p);
                prev_period = p;
            }
        }
    }

    /// A user's active day `d`, followed by their active day `next` (if any).
    #[inline]
    fn cover(&self, acc: &mut ActiveAcc, seg: usize, d: i32, next: Option<i32>) {
        for (w, (_, len)) in self.windows.iter().enumerate() {
            // Active in the window ending on day t for t in [d, d + len); the next active
            // day takes over from there, so coverage intervals do not overlap.
            let end = match next {
                Some(nx) => (d + *len as i32).min(nx),
                None => d + *len as i32,
            };
            let base = (seg * self.n_win + w) * self.n_days;
            acc.delta[base + (d - self.first) as usize] += 1;
            acc.delta[base + (end - self.first) as usize] -= 1;
        }
    }

    /// A user active in period `p` (counted once per period).
    #[inline]
    fn count_period(&self, acc: &mut ActiveAcc, seg: usize, p: i64) {
        acc.period_users[seg * self.n_periods + (p - self.p_lo) as usize] += 1;
    }
}

/// Bytes per input row the per-user day bits of [`active_bits`] may take; wider day ranges or
/// sparser users go through the per-event path (8 bytes per kept row, then sorted per user).
const ACTIVE_BITS_PER_ROW: usize = 8;

/// Active users streamed: per user one bit per day of the data, set while the rows are read
/// range by range (atomic OR, so ranges run in parallel), then folded per user with no sort
/// and no per-event array. None when the bits would exceed `bits_per_row` bytes per input row.
#[allow(clippy::type_complexity)]
fn active_bits<'a>(
    log: &EventLog,
    ent: &Entities,
    flags: Option<&[u8]>,
    bits_per_row: usize,
    shape: &dyn Fn(i32, i32) -> ActiveShape<'a>,
) -> KpiResult<Option<(ActiveAcc, ActiveShape<'a>, usize)>> {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    // Day range of the data (a bound: null users and filtered events are included).
    let Some((lo_us, hi_us)) = time_bounds(log)? else {
        return Ok(None);
    };
    let (lo, hi) = (lo_us.div_euclid(US_PER_DAY), hi_us.div_euclid(US_PER_DAY));
    let n_days = (hi - lo + 1) as usize;
    let users = PresentUsers::of(log, ent)?;
    let n_users = users.count;
    // Day-major bit planes: plane `o` holds one bit per user for day `lo + o`. An event log
    // read in time order has a day or two per row range, so a range's random per-user writes
    // stay within a plane or two (users / 8 bytes: in cache at any scale); a per-user layout
    // would spread them over the whole table, which outgrows the cache as users grow.
    let plane = n_users.div_ceil(64);
    let bytes = n_days.saturating_mul(plane * 8);
    if bytes > bits_per_row.saturating_mul(log.user.len()).max(1 << 20) {
        return Ok(None);
    }
    // Zeroed on all threads: a large table is fresh memory (page faults) on every call.
    let bits: Vec<AtomicU64> = install(|| {
        (0..n_days * plane)
            .into_par_iter()
            .with_min_len(1 << 16)
            .map(|_| AtomicU64::new(0))
            .collect()
    });
    let filtered = flags.is_some();
    // Per range: the first and last day kept (the state's day range).
    let (spans, skipped) = scan_rows(
        log,
        ent,
        RowFlags::from(flags),
        |f| !filtered || f & 1 == 1,
        |_| (i64::MAX, i64::MIN),
        |span, id, us, _, _| {
            let day = us.div_euclid(US_PER_DAY);
            span.0 = span.0.min(day);
            span.1 = span.1.max(day);
            let u = users.index(id);
            let (i, m) = ((day - lo) as usize * plane + u / 64, 1u64 << (u % 64));
            // Most events repeat a day the user already has: a plain load avoids the locked OR.
            if bits[i].load(Relaxed) & m == 0 {
                bits[i].fetch_or(m, Relaxed);
            }
        },
    )?;
    let first = spans.iter().map(|s| s.0).min().unwrap_or(i64::MAX);
    let last = spans.iter().map(|s| s.1).max().unwrap_or(i64::MIN);
    let (first, last) = if first > last {
        (i32::MAX, i32::MIN)
    } else {
        (first as i32, last as i32)
    };
    let shape = shape(first, last);
    // Per block of 64 users (one word of every plane), days in order: a user's active day
    // closes the coverage of their previous one, as `add_user` does along a user's days.
    let acc = install(|| {
        (0..plane)
            .into_par_iter()
            .with_min_len(1 << 8)
            .fold(
                || (shape.new_acc(), [(i32::MIN, i64::MIN); 64]),
                |(mut acc, mut prev), b| {
                    // Per user of the block: last active day so far and its period.
                    prev.fill((i32::MIN, i64::MIN));
                    let seg = |k: usize| users.segment(ent, b * 64 + k);
                    for o in 0..n_days {
                        let mut p = bits[o * plane + b].load(Relaxed);
                        if p == 0 {
                            continue;
                        }
                        let d = (lo + o as i64) as i32;
                        let period = shape.freq.ordinal_of_day(d as i64);
                        while p != 0 {
                            let k = p.trailing_zeros() as usize;
                            p &= p - 1;
                            let (last, last_period) = prev[k];
                            if last != i32::MIN {
                                shape.cover(&mut acc, seg(k), last, Some(d));
                            }
                            if period != last_period {
                                shape.count_period(&mut acc, seg(k), period);
                            }
                            prev[k] = (d, period);
                        }
                    }
                    for (k, &(last, _)) in prev.iter().enumerate() {
                        if last != i32::MIN {
                            shape.cover(&mut acc, seg(k), last, None);
                        }
                    }
                    (acc, prev)
                },
            )
            .map(|(acc, _)| acc)
            .reduce(|| shape.new_acc(), ActiveAcc::add)
    });
    Ok(Some((acc, shape, skipped)))
}

/// Entities renumbered segment by segment (the kept rows' ids rewritten in place), and the
/// segment of each new id. A user's active days write to their segment's part of the
/// accumulator (segments × windows × days): in first-appearance order consecutive entities
/// belong to unrelated segments, and with many segments nearly every write missed the cache.
/// The sums do not depend on the order in which entities are added.
fn by_segment<'e>(
    ent: &'e Entities,
    n_seg: usize,
    parts: &mut [Part<i32>],
) -> std::borrow::Cow<'e, [u32]> {
    if n_seg <= 1 {
        return std::borrow::Cow::Borrowed(&ent.segment_of);
    }
    let mut next = vec![0u32; n_seg + 1];
    for &s in &ent.segment_of {
        next[s as usize + 1] += 1;
    }
    for s in 0..n_seg {
        next[s + 1] += next[s];
    }
    let mut segment_of = vec![0u32; ent.count];
    for s in 0..n_seg {
        segment_of[next[s] as usize..next[s + 1] as usize].fill(s as u32);
    }
    let renumber: Vec<u32> = ent
        .segment_of
        .iter()
        .map(|&s| {
            let id = next[s as usize];
            next[s as usize] += 1;
            id
        })
        .collect();
    install(|| {
        parts.par_iter_mut().for_each(|p| {
            for id in p.ids.iter_mut() {
                *id = renumber[*id as usize];
            }
        })
    });
    std::borrow::Cow::Owned(segment_of)
}

/// The event log and settings of [`ActiveUsers`].
#[derive(Debug, Clone, Copy)]
pub struct ActiveUsersInput<'a> {
    pub log: &'a EventLog,
    pub freq: Freq,
    /// Output column name → window length in days.
    pub windows: &'a [Window],
    /// Count only events with one of these names (`events=`); None: every event.
    pub events: Option<&'a [String]>,
    /// Count only events in this range; its periods are the result's, those without events
    /// included (docs/conventions.md#date-ranges). Unbounded: the data's.
    pub range: TimeRange,
}

/// Distinct active users per period and segment, over trailing windows of days.
///
/// Partial state: per (day, segments…) row, `delta_<window>` columns and `period_users` (see
/// the module docs); merge: over user-disjoint partitions the columns add up and the day range
/// is the union; finish: prefix sums laid out per period.
pub struct ActiveUsers;

impl Analysis for ActiveUsers {
    const NAME: &'static str = "active_users";
    type Input<'a> = ActiveUsersInput<'a>;

    fn partial(i: &ActiveUsersInput<'_>) -> KpiResult<RecordBatch> {
        with_categories(state_with(i, Some(ACTIVE_BITS_PER_ROW))?, &i.log.segments)
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge(states)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        finish(state)
    }
}

/// The partial state with the bit-set budget given (None: always the per-event path).
fn state_with(input: &ActiveUsersInput<'_>, bits_per_row: Option<usize>) -> KpiResult<RecordBatch> {
    let ActiveUsersInput {
        log,
        freq,
        windows,
        events: filter,
        range,
    } = *input;
    check_windows(windows)?;
    let ent = entities(log)?;
    let flags = match (filter, &log.event) {
        (Some(names), Some(col)) => Some(event_flags(col, &[names])?),
        (Some(_), None) => {
            return Err(KpiError::param(
                "event",
                "filtering by event needs the event column",
            ))
        }
        _ => None,
    };
    // Events outside the range are filtered out as events of other names are.
    let flags = if range.is_bounded() {
        Some(range_flags(
            log,
            range,
            flags.as_deref(),
            u8::from(flags.is_none()),
        )?)
    } else {
        flags
    };
    let filtered = flags.is_some();
    let n_seg = n_segments(&ent);
    // The range's days widen the data's, so that its periods without events have rows.
    let (range_first, range_last) = range.days();
    let shape = |first: i32, last: i32| {
        let first = range_first.map_or(first, |d| first.min(d as i32));
        let last = range_last.map_or(last, |d| last.max(d as i32));
        ActiveShape::new(first, last, freq, windows, n_seg)
    };
    let (acc, shape, skipped) = match match bits_per_row {
        Some(budget) => active_bits(log, &ent, flags.as_deref(), budget, &shape)?,
        None => None,
    } {
        Some(done) => done,
        None => {
            let (mut parts, skipped) = collect_rows(
                log,
                &ent,
                flags.as_deref(),
                |f| !filtered || f & 1 == 1,
                |us, _, _| us.div_euclid(US_PER_DAY) as i32,
            )?;
            drop(flags);
            let (mut first, mut last) = (i32::MAX, i32::MIN);
            for p in &parts {
                for &d in &p.vals {
                    first = first.min(d);
                    last = last.max(d);
                }
            }
            let segment_of = by_segment(&ent, n_seg, &mut parts);
            let (offsets, mut days) = by_entity(parts, ent.count);
            let shape = shape(first, last);
            let acc = fold_entities(
                &offsets,
                &mut days,
                || shape.new_acc(),
                |acc, e, ds| {
                    ds.sort_unstable();
                    let distinct = ds.chunk_by(|a, b| a == b).map(|g| g[0]);
                    shape.add_user(acc, segment_of[e] as usize, distinct);
                },
                ActiveAcc::add,
            );
            (acc, shape, skipped)
        }
    };
    let ActiveShape {
        first,
        last,
        n_days,
        p_lo,
        n_periods,
        n_win,
        ..
    } = shape;
    // State rows: every (segment, day) with a non-zero delta, and every (segment, period start)
    // with users, in order of first write. A segment's rows are found through a table over the
    // days (cleared after each segment), not a map keyed by (segment, day): with a thousand
    // segments that map held millions of entries and its hashing was most of the call.
    let day_lo = if n_days == 0 {
        0
    } else {
        (first as i64).min(freq.start_day(p_lo))
    };
    let span = if n_days == 0 {
        0
    } else {
        (first as i64 + n_days as i64 - day_lo) as usize
    };
    let mut slot = vec![usize::MAX; span];
    let mut row_seg: Vec<usize> = Vec::new();
    let mut row_day: Vec<i32> = Vec::new();
    let mut cols: Vec<Vec<i64>> = vec![Vec::new(); n_win + 1];
    for seg in 0..n_seg {
        let seg_start = row_day.len();
        let mut put = |day: i32, col: usize, v: i64| {
            let at = &mut slot[(day as i64 - day_lo) as usize];
            if *at == usize::MAX {
                *at = row_day.len();
                row_seg.push(seg);
                row_day.push(day);
                for c in cols.iter_mut() {
                    c.push(0);
                }
            }
            cols[col][*at] += v;
        };
        for w in 0..n_win {
            let base = (seg * n_win + w) * n_days;
            for i in 0..n_days {
                let v = acc.delta[base + i];
                if v != 0 {
                    put(first + i as i32, w, v);
                }
            }
        }
        for p in 0..n_periods {
            let v = acc.period_users[seg * n_periods + p];
            if v != 0 {
                put(freq.start_day(p_lo + p as i64) as i32, n_win, v);
            }
        }
        for &d in &row_day[seg_start..] {
            slot[(d as i64 - day_lo) as usize] = usize::MAX;
        }
    }
    if !log.segments.is_empty() {
        // A segment none of whose users was active (every event filtered out) keeps a row of
        // zeros, so that it gets its rows of the result (docs/conventions.md, "Complete grids").
        // Such a segment has no row yet.
        let day = if first <= last { first } else { 0 };
        // The segments of the rows (none for an empty table, where `n_seg` is still 1).
        for seg in 0..ent.segment_rows.len() {
            let deltas = &acc.delta[seg * n_win * n_days..(seg + 1) * n_win * n_days];
            let users = &acc.period_users[seg * n_periods..(seg + 1) * n_periods];
            if deltas.iter().chain(users).all(|&v| v == 0) {
                row_seg.push(seg);
                row_day.push(day);
                for c in cols.iter_mut() {
                    c.push(0);
                }
            }
        }
    }
    if log.segments.is_empty() && first <= last && !row_day.contains(&first) {
        // A range with no event in it still has its periods (of zeros): a row of zeros on its
        // first day, which the grid widens to every period.
        row_seg.push(0);
        row_day.push(first);
        for c in cols.iter_mut() {
            c.push(0);
        }
    }
    let seg_keys = segment_keys(log, &ent)?;
    let mut fields = vec![Field::new("day", DataType::Date32, false)];
    let mut columns: Vec<ArrayRef> = vec![arrow::compute::cast(
        &(Arc::new(Int32Array::from(row_day)) as ArrayRef),
        &DataType::Date32,
    )?];
    let idx = arrow::array::UInt64Array::from_iter_values(row_seg.iter().map(|&s| s as u64));
    for (c, k) in log.segments.iter().zip(&seg_keys) {
        let a = arrow::compute::take(k.as_ref(), &idx, None)?;
        fields.push(Field::new(&c.name, a.data_type().clone(), true));
        columns.push(a);
    }
    for (w, (name, _)) in windows.iter().enumerate() {
        fields.push(Field::new(format!("delta_{name}"), DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from(std::mem::take(&mut cols[w]))));
    }
    fields.push(Field::new("period_users", DataType::Int64, false));
    columns.push(Arc::new(Int64Array::from(std::mem::take(&mut cols[n_win]))));
    let mut meta = StdHashMap::new();
    meta.insert(meta::ANALYSIS.to_string(), ActiveUsers::NAME.to_string());
    meta.insert(meta::FREQ.to_string(), freq.label());
    meta.insert(meta::INVALID.to_string(), log.invalid.label().to_string());
    meta.insert(
        META_FILTER.to_string(),
        filter.map_or(String::new(), |f| f.join("\u{1f}")),
    );
    meta.insert(
        META_WINDOWS.to_string(),
        windows
            .iter()
            .map(|(n, d)| format!("{n}={d}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    let (fd, ld) = if first > last {
        (String::new(), String::new())
    } else {
        (first.to_string(), last.to_string())
    };
    meta.insert(META_FIRST_DAY.to_string(), fd);
    meta.insert(META_LAST_DAY.to_string(), ld);
    meta.insert(meta::SEGMENTS.to_string(), log.segments.len().to_string());
    meta.insert(meta::SKIPPED_ROWS.to_string(), skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}

struct ActiveInfo {
    freq: Freq,
    windows: Vec<Window>,
    range: Option<(i32, i32)>,
    n_segments: usize,
    skipped: u64,
}

fn active_info(schema: &SchemaRef) -> KpiResult<ActiveInfo> {
    let m = Meta::of(schema, ActiveUsers::NAME)?;
    let bad = || KpiError::param("state", format!("bad {META_WINDOWS:?} metadata"));
    let windows = m
        .get(META_WINDOWS)?
        .split(',')
        .map(|s| {
            let (n, d) = s.split_once('=').ok_or_else(bad)?;
            Ok((n.to_string(), d.parse().map_err(|_| bad())?))
        })
        .collect::<KpiResult<Vec<Window>>>()?;
    let range = match (m.parse_opt(META_FIRST_DAY)?, m.parse_opt(META_LAST_DAY)?) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };
    Ok(ActiveInfo {
        freq: Freq::from_label(m.get(meta::FREQ)?)?,
        windows,
        range,
        n_segments: m.parse(meta::SEGMENTS)?,
        skipped: m.skipped_rows()?,
    })
}

/// Merge active-users states of user-disjoint partitions (deltas and users add up; the day
/// range is the union).
fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let input = MergeInput::check(states, ActiveUsers::NAME, &[META_FIRST_DAY, META_LAST_DAY])?;
    let mut range: Option<(i32, i32)> = None;
    let mut n_segments = 0;
    for s in states {
        let i = active_info(&s.schema())?;
        n_segments = i.n_segments;
        if let Some((a, b)) = i.range {
            range = Some(match range {
                Some((x, y)) => (x.min(a), y.max(b)),
                None => (a, b),
            });
        }
    }
    let merged = merge_sum(&input.plain, 1 + n_segments)?;
    let (fd, ld) = match range {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (String::new(), String::new()),
    };
    input.finish(merged, &[(META_FIRST_DAY, fd), (META_LAST_DAY, ld)])
}

/// Finish an active-users state: one row per period (first to last, gaps included) and
/// segment, with `active_users` (distinct users active in the period), one column per window
/// (distinct users active over the trailing window ending on the period's last day, or on
/// the last day of the data if that is earlier) and `dau_mau = dau / mau` when windows named
/// "dau" and "mau" exist (null when mau is 0).
fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let schema = state.schema();
    let info = active_info(&schema)?;
    let n_keys = 1 + info.n_segments;
    let n_win = info.windows.len();
    let days = state.column(0).as_primitive::<Date32Type>();
    // Segment ids of the state rows.
    let seg_ids: Vec<u32> = if info.n_segments == 0 {
        vec![0; state.num_rows()]
    } else {
        let cols: Vec<Column> = (1..n_keys)
            .map(|j| Column::from_array(schema.field(j).name().clone(), state.column(j).clone()))
            .collect();
        group_ids(&cols)?.ids
    };
    let n_seg = seg_ids
        .iter()
        .map(|&s| s as usize + 1)
        .max()
        .unwrap_or(0)
        .max(1);
    let (first, last) = info.range.unwrap_or((0, -1));
    let n_days = (last - first + 1).max(0) as usize;
    let freq = info.freq;
    let (p_lo, p_hi) = if n_days == 0 {
        (0, -1)
    } else {
        (
            freq.ordinal_of_day(first as i64),
            freq.ordinal_of_day(last as i64),
        )
    };
    let n_periods = (p_hi - p_lo + 1).max(0) as usize;
    let mut cum = vec![0i64; n_seg * n_win * n_days];
    let mut users = vec![0i64; n_seg * n_periods];
    let deltas: Vec<&Int64Array> = (0..n_win)
        .map(|w| state.column(n_keys + w).as_primitive::<Int64Type>())
        .collect();
    let pu = state.column(n_keys + n_win).as_primitive::<Int64Type>();
    let mut has_rows = vec![false; n_seg];
    for (r, &s) in seg_ids.iter().enumerate() {
        let s = s as usize;
        let d = days.value(r);
        // Every segment of the state has its rows, one with no active user too.
        has_rows[s] = n_periods > 0;
        if pu.value(r) != 0 {
            let p = freq.ordinal_of_day(d as i64);
            if p >= p_lo && p <= p_hi {
                users[s * n_periods + (p - p_lo) as usize] += pu.value(r);
                has_rows[s] = true;
            }
        }
        if d >= first && d <= last {
            for w in 0..n_win {
                cum[(s * n_win + w) * n_days + (d - first) as usize] += deltas[w].value(r);
            }
        }
    }
    for c in cum.chunks_mut(n_days.max(1)) {
        for i in 1..c.len() {
            c[i] += c[i - 1];
        }
    }
    // Layout: a key state with each segment's first and last period, through `grid`.
    let mut key_rows: Vec<usize> = Vec::new();
    let mut key_seg_row = vec![usize::MAX; n_seg];
    for (r, &s) in seg_ids.iter().enumerate() {
        if key_seg_row[s as usize] == usize::MAX && has_rows[s as usize] {
            key_seg_row[s as usize] = r;
        }
    }
    let mut dates: Vec<i32> = Vec::new();
    let mut key_seg: Vec<usize> = Vec::new();
    for (s, &r) in key_seg_row.iter().enumerate() {
        if r != usize::MAX {
            for p in [p_lo, p_hi] {
                key_rows.push(r);
                dates.push(freq.start_day(p) as i32);
                key_seg.push(s);
            }
        }
    }
    let mut key_fields = vec![Field::new("period", DataType::Date32, false)];
    let mut key_cols: Vec<ArrayRef> = vec![arrow::compute::cast(
        &(Arc::new(Int32Array::from(dates)) as ArrayRef),
        &DataType::Date32,
    )?];
    let idx = arrow::array::UInt64Array::from_iter_values(key_rows.iter().map(|&r| r as u64));
    for j in 1..n_keys {
        let a = arrow::compute::take(state.column(j).as_ref(), &idx, None)?;
        key_fields.push(Field::new(
            schema.field(j).name(),
            a.data_type().clone(),
            true,
        ));
        key_cols.push(a);
    }
    let key_state = RecordBatch::try_new(Arc::new(Schema::new(key_fields.clone())), key_cols)?;
    let g = grid(
        &key_state,
        true,
        info.n_segments,
        Some(freq),
        categories_of(state)?.as_ref(),
    )?;
    let out_dates = g.keys[0].as_primitive::<Date32Type>();
    // Segment of each output row: blocks of n_periods rows, one per segment, in grid order. A
    // block without a first row is a category no row uses: nobody active.
    let mut seg_of_out = Vec::with_capacity(g.source.len());
    let mut current = None;
    for (i, src) in g.source.iter().enumerate() {
        if i % n_periods.max(1) == 0 {
            current = src.map(|r| key_seg[r]);
        }
        seg_of_out.push(current);
    }
    let mut active = Vec::with_capacity(g.source.len());
    let mut win_vals: Vec<Vec<i64>> = vec![Vec::with_capacity(g.source.len()); n_win];
    for (i, &s) in seg_of_out.iter().enumerate() {
        let Some(s) = s else {
            active.push(0);
            win_vals.iter_mut().for_each(|v| v.push(0));
            continue;
        };
        let p = freq.ordinal_of_day(out_dates.value(i) as i64);
        active.push(users[s * n_periods + (p - p_lo) as usize]);
        let end_day = (freq.start_day(p + 1) - 1).min(last as i64);
        let di = (end_day - first as i64) as usize;
        for (w, vals) in win_vals.iter_mut().enumerate() {
            vals.push(cum[(s * n_win + w) * n_days + di]);
        }
    }
    let mut fields: Vec<Field> = key_fields
        .iter()
        .zip(&g.keys)
        .map(|(f, a)| Field::new(f.name(), a.data_type().clone(), true))
        .collect();
    let mut columns: Vec<ArrayRef> = g.keys.clone();
    fields.push(Field::new("active_users", DataType::Int64, false));
    columns.push(Arc::new(Int64Array::from(active)));
    let pos = |name: &str| info.windows.iter().position(|w| w.0 == name);
    let ratio = match (pos("dau"), pos("mau")) {
        (Some(a), Some(b)) => Some(
            win_vals[a]
                .iter()
                .zip(&win_vals[b])
                .map(|(&d, &m)| (m > 0).then(|| d as f64 / m as f64))
                .collect::<Float64Array>(),
        ),
        _ => None,
    };
    for ((name, _), vals) in info.windows.iter().zip(win_vals) {
        fields.push(Field::new(name, DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from(vals)));
    }
    if let Some(r) = ratio {
        fields.push(Field::new("dau_mau", DataType::Float64, true));
        columns.push(Arc::new(r));
    }
    let mut meta = StdHashMap::new();
    meta.insert(meta::SKIPPED_ROWS.to_string(), info.skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::engine::analyses;
    use crate::core::kernels::activity::testing::{i64s, log, numbers};
    use arrow::array::StringArray;

    fn input<'a>(
        log: &'a EventLog,
        freq: Freq,
        windows: &'a [Window],
        events: Option<&'a [String]>,
    ) -> ActiveUsersInput<'a> {
        ActiveUsersInput {
            log,
            freq,
            windows,
            events,
            range: TimeRange::default(),
        }
    }

    fn active_users(
        log: &EventLog,
        freq: Freq,
        windows: &[Window],
        events: Option<&[String]>,
    ) -> KpiResult<RecordBatch> {
        finish(&ActiveUsers::partial(&input(log, freq, windows, events))?)
    }

    fn windows() -> Vec<Window> {
        vec![("dau".into(), 1), ("wau".into(), 3)]
    }

    #[test]
    fn streamed_day_bits_and_the_per_event_path_agree() {
        // A pseudo-random log: 300 sparse user ids over 200 days (four words of bits per user), events
        // unsorted, repeated days, and a daily and a weekly table with 1-, 7- and 30-day windows.
        let mut next = numbers(12345);
        let (mut users, mut days) = (Vec::new(), Vec::new());
        for _ in 0..5000 {
            users.push(42 + 7 * next(300) as i64); // dense ids, one in seven present
            days.push(19_000 + next(200) as i64);
        }
        let l = log(users, days);
        let w: Vec<Window> = vec![("dau".into(), 1), ("wau".into(), 7), ("mau".into(), 30)];
        for freq in [Freq::Day, Freq::Week { week_start: 0 }] {
            let bits = state_with(&input(&l, freq, &w, None), Some(usize::MAX)).unwrap();
            let events = state_with(&input(&l, freq, &w, None), None).unwrap();
            assert_eq!(bits, events, "{freq:?}");
            let (a, b) = (finish(&bits), finish(&events));
            assert_eq!(a.unwrap(), b.unwrap());
        }
    }

    #[test]
    fn day_planes_with_segments_filter_and_many_ranges_agree_with_the_per_event_path() {
        // 300 000 events in time order (several row ranges, on several threads), 1 000
        // users in 3 segments (interned ids: blocks of 64 users mix segments), some users
        // only with events the filter drops (present but no active day), 400 days (7 planes'
        // words per user), daily and monthly tables.
        let mut next = numbers(777);
        let n = 300_000;
        let (mut users, mut days, mut names, mut plans) = (vec![], vec![], vec![], vec![]);
        for i in 0..n {
            let u = next(1000) as i64;
            users.push(u);
            days.push(19_000 + (i * 400 / n) as i64);
            // Users 900… only "view" events: filtered out below.
            names.push(if u >= 900 || next(3) == 0 {
                "view"
            } else {
                "login"
            });
            plans.push(["a", "b", "c"][(u % 3) as usize]);
        }
        let mut l = log(users, days);
        l.event = Some(Column::from_array("e", Arc::new(StringArray::from(names))));
        l.segments = vec![Column::from_array(
            "plan",
            Arc::new(StringArray::from(plans)),
        )];
        let w: Vec<Window> = vec![("dau".into(), 1), ("wau".into(), 7), ("mau".into(), 30)];
        let filter = ["login".to_string()];
        for freq in [Freq::Day, Freq::Month] {
            let bits = state_with(&input(&l, freq, &w, Some(&filter)), Some(usize::MAX));
            let events = state_with(&input(&l, freq, &w, Some(&filter)), None);
            let (bits, events) = (bits.unwrap(), events.unwrap());
            assert_eq!(bits, events, "{freq:?}");
            assert_eq!(finish(&bits).unwrap(), finish(&events).unwrap());
        }
    }

    #[test]
    fn many_segments_per_user_match_a_plain_count_of_distinct_users() {
        // 40 integer segments drawn per event, so a user is an entity in many segments and the
        // per-event path renumbers entities segment by segment: both paths against distinct
        // users counted directly per (segment, day) over each trailing window.
        let mut next = numbers(4242);
        let (n, n_days) = (6_000, 60);
        let (mut users, mut days, mut teams) = (vec![], vec![], vec![]);
        for i in 0..n {
            users.push(next(300) as i64);
            days.push(19_000 + (i * n_days / n) as i64);
            teams.push(next(40) as i64);
        }
        let mut l = log(users.clone(), days.clone());
        l.segments = vec![Column::from_array(
            "team",
            Arc::new(Int64Array::from(teams.clone())),
        )];
        let w: Vec<Window> = vec![("dau".into(), 1), ("wau".into(), 7), ("mau".into(), 30)];
        for budget in [Some(usize::MAX), None] {
            let out =
                finish(&state_with(&input(&l, Freq::Day, &w, None), budget).unwrap()).unwrap();
            let period = out
                .column_by_name("period")
                .unwrap()
                .as_primitive::<Date32Type>();
            let team = i64s(&out, "team");
            assert_eq!(out.num_rows(), 40 * n_days);
            for (r, &seg) in team.iter().enumerate().take(out.num_rows()) {
                let t = period.value(r) as i64;
                let distinct = |len: i64| {
                    let mut seen: Vec<i64> = (0..n)
                        .filter(|&i| teams[i] == seg && days[i] <= t && days[i] > t - len)
                        .map(|i| users[i])
                        .collect();
                    seen.sort_unstable();
                    seen.dedup();
                    seen.len() as i64
                };
                assert_eq!(
                    i64s(&out, "active_users")[r],
                    distinct(1),
                    "{budget:?} row {r}"
                );
                for (name, len) in [("dau", 1), ("wau", 7), ("mau", 30)] {
                    assert_eq!(
                        i64s(&out, name)[r],
                        distinct(len),
                        "{budget:?} {name} row {r}"
                    );
                }
            }
        }
    }

    #[test]
    fn trailing_windows_count_each_user_once() {
        // User 1 active days 0, 1, 1, 4; user 2 day 2; user 3 days 0 and 5.
        let l = log(vec![1, 1, 1, 1, 2, 3, 3], vec![0, 1, 1, 4, 2, 0, 5]);
        let out = active_users(&l, Freq::Day, &windows(), None).unwrap();
        assert_eq!(out.num_rows(), 6);
        assert_eq!(i64s(&out, "dau"), vec![2, 1, 1, 0, 1, 1]);
        // 3-day window ending day t covers t-2..t: day 2 → {1,3,2}; day 3 → {1,2};
        // day 4 → {1,2}; day 5 → {1,3}.
        assert_eq!(i64s(&out, "wau"), vec![2, 2, 3, 2, 2, 2]);
        assert_eq!(i64s(&out, "active_users"), i64s(&out, "dau"));
    }

    #[test]
    fn a_range_leaves_out_the_events_outside_it_and_shows_its_days_without_events() {
        // User 1: days 0, 1, 4; user 2: day 2. The range is days 1 to 5: day 0 does not count
        // (not even in day 1's 3-day window), day 3 and day 5 have no event.
        let l = log(vec![1, 1, 1, 2], vec![0, 1, 4, 2]);
        let w = windows();
        let mut i = input(&l, Freq::Day, &w, None);
        i.range = TimeRange::new(Some(US_PER_DAY), Some(6 * US_PER_DAY)).unwrap();
        let out = finish(&ActiveUsers::partial(&i).unwrap()).unwrap();
        assert_eq!(i64s(&out, "dau"), vec![1, 1, 0, 1, 0]);
        assert_eq!(i64s(&out, "wau"), vec![1, 2, 2, 2, 1]);
        // Both paths (bit planes, per event) agree.
        let bits = state_with(&i, Some(usize::MAX)).unwrap();
        assert_eq!(bits, state_with(&i, None).unwrap());
        assert!(TimeRange::new(Some(US_PER_DAY), Some(US_PER_DAY)).is_err());
        // A range after every event: its days, with nobody active.
        i.range = TimeRange::new(Some(10 * US_PER_DAY), Some(12 * US_PER_DAY)).unwrap();
        let out = finish(&ActiveUsers::partial(&i).unwrap()).unwrap();
        assert_eq!(i64s(&out, "dau"), vec![0, 0]);
    }

    #[test]
    fn merged_user_disjoint_states_equal_one_pass() {
        let users: Vec<i64> = (0..500).map(|i| i % 37).collect();
        let days: Vec<i64> = (0..500).map(|i| (i * 7919 % 61) as i64).collect();
        let week = Freq::Week { week_start: 0 };
        let w = windows();
        let all = log(users.clone(), days.clone());
        let whole = ActiveUsers::partial(&input(&all, week, &w, None)).unwrap();
        let mut logs = vec![];
        for part in 0..3 {
            let (u, d): (Vec<i64>, Vec<i64>) = users
                .iter()
                .zip(&days)
                .filter(|(u, _)| *u % 3 == part)
                .map(|(u, d)| (*u, *d))
                .unzip();
            logs.push(log(u, d));
        }
        logs.push(log(vec![], vec![]));
        let states: Vec<RecordBatch> = logs
            .iter()
            .map(|l| ActiveUsers::partial(&input(l, week, &w, None)).unwrap())
            .collect();
        let one_pass = finish(&whole).unwrap();
        assert_eq!(
            one_pass.columns(),
            finish(&merge(&states).unwrap()).unwrap().columns()
        );
        // The same through the registry, which dispatches on the state's analysis name.
        let by_name = analyses::finish(&analyses::merge(&states).unwrap()).unwrap();
        assert_eq!(one_pass.columns(), by_name.columns());
        assert!(i64s(&by_name, "active_users").iter().sum::<i64>() > 0);
    }

    #[test]
    fn states_of_other_settings_or_analyses_are_refused() {
        let l = log(vec![1, 2], vec![0, 1]);
        let a = ActiveUsers::partial(&input(&l, Freq::Day, &windows(), None)).unwrap();
        let b = ActiveUsers::partial(&input(&l, Freq::Month, &windows(), None)).unwrap();
        let e = merge(&[a.clone(), b]).unwrap_err().to_string();
        assert!(e.contains("kpikit.freq"), "{e}");
        // A state of another analysis.
        let other =
            crate::core::kernels::survey::Nps::partial(&crate::core::kernels::survey::Scores {
                score: &Column::from_array("s", Arc::new(Int64Array::from(vec![9, 3]))),
                periods: None,
                segments: &[],
                scale: crate::core::kernels::survey::Scale::NPS,
                invalid: crate::core::engine::state::Invalid::Raise,
            })
            .unwrap();
        let e = finish(&other).unwrap_err().to_string();
        assert!(e.contains("not a active_users state"), "{e}");
    }

    #[test]
    fn string_users_and_segments() {
        let mut l = log(vec![0; 4], vec![0, 0, 1, 1]);
        l.user = Column::from_array("u", Arc::new(StringArray::from(vec!["a", "b", "a", "a"])));
        l.segments = vec![Column::from_array(
            "plan",
            Arc::new(StringArray::from(vec!["y", "x", "y", "y"])),
        )];
        let out = active_users(&l, Freq::Day, &windows(), None).unwrap();
        // Segments sorted: x (b on day 0), then y (a on days 0 and 1).
        assert_eq!(i64s(&out, "dau"), vec![1, 0, 1, 1]);
        assert_eq!(i64s(&out, "wau"), vec![1, 1, 1, 1]);
    }
}
