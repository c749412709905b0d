//! Activity over event logs: active users over trailing windows (DAU, WAU, MAU), stickiness
//! (users by number of active intervals) and lifecycle (new, returning, resurrecting, dormant).
//!
//! Every analysis starts the same way ([`collect_rows`], [`by_entity`]): rows are checked for
//! missing users and times, filtered by event name, turned into a dense entity id (user, or
//! segment × user) and a value derived from the row's wall-clock time, then grouped per entity
//! with a counting sort. Each entity's rows are then reduced on all threads
//! ([`fold_entities`]); per-entity work is what makes "a user active on several days counts
//! once" exact without a global hash set.
//!
//! Active users is written as partial → merge → finish. Its state holds, per (day, segments…),
//! the change in the number of users active over each trailing window (+1 the day a user's
//! coverage starts, −1 the day after it ends) and the users active in each period. Over
//! user-disjoint partitions (a shuffle by user) these add up exactly; the finish takes prefix
//! sums over the days of the whole input.

use std::collections::HashMap as StdHashMap;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int32Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema, SchemaRef};
use rayon::prelude::*;

use super::error::{BadRows, KpiError, KpiResult};
use super::events::EventLog;
use super::groups::{grid, group_ids, merge_sum, take_rows};
use super::input::{small_int, Column};
use super::parallel::{install, map_ranges};
use super::state::Invalid;
use super::time::{local_micros, Freq, US_PER_DAY};

use super::state::meta::SKIPPED_ROWS as META_SKIPPED_ROWS;

/// How rows map to entities (user, or segment × user).
pub(crate) enum EntityIds {
    /// Integer user ids over a short range: id = value − lo, computed per range, no hashing.
    Dense { lo: i64 },
    /// Ids from interning, one per row.
    Interned(Vec<u32>),
}

pub(crate) struct Entities {
    pub ids: EntityIds,
    pub count: usize,
    /// Segment id of every entity (all 0 without segments).
    pub segment_of: Vec<u32>,
    /// Input row where each segment was first seen (for its key values).
    pub segment_rows: Vec<usize>,
}

fn int64_chunks(col: &Column) -> KpiResult<Vec<Int64Array>> {
    col.chunks
        .iter()
        .map(|c| {
            Ok(arrow::compute::cast(c, &DataType::Int64)?
                .as_primitive::<Int64Type>()
                .clone())
        })
        .collect()
}

pub(crate) fn entities(log: &EventLog) -> KpiResult<Entities> {
    let n = log.user.len();
    if log.segments.is_empty() && small_int(&log.user.data_type()) {
        // Id range on all threads (a serial pass over the column would be most of the
        // call's fixed cost at 10⁷ rows and more).
        let (lo, hi) = min_max(n, |r| int64_chunks(&log.user.slice(r.start, r.len())))?
            .unwrap_or((i64::MAX, i64::MIN));
        if lo > hi {
            return Ok(Entities {
                ids: EntityIds::Dense { lo: 0 },
                count: 0,
                segment_of: vec![],
                segment_rows: vec![0],
            });
        }
        let span = (hi as i128 - lo as i128 + 1) as u128;
        if span <= (4 * n as u128 + 65_536).min(u32::MAX as u128) {
            return Ok(Entities {
                ids: EntityIds::Dense { lo },
                count: span as usize,
                segment_of: vec![0; span as usize],
                segment_rows: vec![0],
            });
        }
    }
    let mut keys = log.segments.clone();
    keys.push(log.user.clone());
    let g = group_ids(&keys)?;
    let (segment_of, segment_rows) = if log.segments.is_empty() {
        (vec![0; g.len()], vec![0])
    } else {
        let s = group_ids(&log.segments)?;
        (g.first_row.iter().map(|&r| s.ids[r]).collect(), s.first_row)
    };
    Ok(Entities {
        count: g.len(),
        ids: EntityIds::Interned(g.ids),
        segment_of,
        segment_rows,
    })
}

/// Per row, a bit mask of the event-name lists the row's event belongs to (bit j: list j).
pub(crate) fn event_flags(col: &Column, lists: &[&[String]]) -> KpiResult<Vec<u8>> {
    let parts = map_ranges(col.len(), |r| {
        let s = col.slice(r.start, r.end - r.start);
        let mut out = Vec::with_capacity(r.end - r.start);
        for c in &s.chunks {
            flags_of_array(&col.name, c, lists, &mut out)?;
        }
        Ok(out)
    })?;
    Ok(parts.concat())
}

fn mask_of(name: Option<&str>, lists: &[&[String]]) -> u8 {
    let mut m = 0u8;
    if let Some(v) = name {
        for (j, l) in lists.iter().enumerate() {
            if l.iter().any(|x| x == v) {
                m |= 1 << j;
            }
        }
    }
    m
}

fn flags_of_array(
    name: &str,
    a: &ArrayRef,
    lists: &[&[String]],
    out: &mut Vec<u8>,
) -> KpiResult<()> {
    match a.data_type() {
        DataType::Utf8 => out.extend(a.as_string::<i32>().iter().map(|v| mask_of(v, lists))),
        DataType::LargeUtf8 => out.extend(a.as_string::<i64>().iter().map(|v| mask_of(v, lists))),
        DataType::Utf8View => out.extend(a.as_string_view().iter().map(|v| mask_of(v, lists))),
        DataType::Null => out.extend(std::iter::repeat_n(0u8, a.len())),
        DataType::Dictionary(_, _) => {
            // Match each dictionary value once, then look the keys up.
            let d = a.as_any_dictionary();
            let mut value_flags = Vec::with_capacity(d.values().len());
            flags_of_array(name, d.values(), lists, &mut value_flags)?;
            out.reserve(a.len());
            super::input::for_each_dictionary_key(d, |k| out.push(k.map_or(0, |k| value_flags[k])));
        }
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => {
            let s = arrow::compute::cast(a, &DataType::Utf8)?;
            flags_of_array(name, &s, lists, out)?;
        }
        other => return Err(KpiError::wrong_type(name, "event names (strings)", other)),
    }
    Ok(())
}

/// The kept rows of one range of the input: entity id and a value made from the row.
pub(crate) struct Part<T> {
    pub ids: Vec<u32>,
    pub vals: Vec<T>,
}

/// Check, filter and map every row on all threads. `keep(flags)` says whether a row with these
/// event flags takes part (flags are 0 without an event column); `map(local_us, flags, row)`
/// makes its value. Returns the parts in row order and the number of rows dropped for a
/// missing user or time (with [`Invalid::Skip`]).
pub(crate) fn collect_rows<T: Send>(
    log: &EventLog,
    ent: &Entities,
    flags: Option<&[u8]>,
    keep: impl Fn(u8) -> bool + Sync + Send,
    map: impl Fn(i64, u8, usize) -> T + Sync + Send,
) -> KpiResult<(Vec<Part<T>>, usize)> {
    scan_rows(
        log,
        ent,
        RowFlags::from(flags),
        keep,
        |len| Part {
            ids: Vec::with_capacity(len),
            vals: Vec::with_capacity(len),
        },
        |p, id, us, f, row| {
            p.ids.push(id);
            p.vals.push(map(us, f, row));
        },
    )
}

/// Where the event flags of a row come from.
#[derive(Clone, Copy)]
pub(crate) enum RowFlags<'a> {
    /// No event column: every row has flags 0.
    None,
    /// Flags of every input row, made beforehand ([`event_flags`]).
    Rows(&'a [u8]),
    /// Made range by range from the event column, so no per-row array of the whole input.
    Lists(&'a Column, &'a [&'a [String]]),
}

impl<'a> From<Option<&'a [u8]>> for RowFlags<'a> {
    fn from(f: Option<&'a [u8]>) -> Self {
        f.map_or(RowFlags::None, RowFlags::Rows)
    }
}

/// Check and filter every row on all threads, handing each kept row to `visit(acc, entity,
/// local_us, flags, row)`, with one accumulator per row range (`init(range_len)`). Returns the
/// accumulators in row order and the number of rows dropped for a missing user or time (with
/// [`Invalid::Skip`]). Nothing per row outlives its range unless `visit` keeps it.
pub(crate) fn scan_rows<A: Send>(
    log: &EventLog,
    ent: &Entities,
    flags: RowFlags<'_>,
    keep: impl Fn(u8) -> bool + Sync + Send,
    init: impl Fn(usize) -> A + Sync + Send,
    visit: impl Fn(&mut A, u32, i64, u8, usize) + Sync + Send,
) -> KpiResult<(Vec<A>, usize)> {
    log.check_lengths()?;
    let n = log.user.len();
    let rule = "must not be missing (invalid=\"skip\" leaves such rows out and counts them)";
    let parts = map_ranges(n, |r: Range<usize>| {
        let len = r.end - r.start;
        let user = log.user.slice(r.start, len);
        let times = local_micros(&log.time.slice(r.start, len), log.zone)?;
        let dense: Option<Vec<Int64Array>> = match ent.ids {
            EntityIds::Dense { .. } => Some(int64_chunks(&user)?),
            EntityIds::Interned(_) => None,
        };
        // Flags of this range, indexed by row − r.start.
        let range_flags: Option<std::borrow::Cow<'_, [u8]>> = match flags {
            RowFlags::None => None,
            RowFlags::Rows(f) => Some(std::borrow::Cow::Borrowed(&f[r.clone()])),
            RowFlags::Lists(col, lists) => {
                let s = col.slice(r.start, len);
                let mut out = Vec::with_capacity(len);
                for c in &s.chunks {
                    flags_of_array(&col.name, c, lists, &mut out)?;
                }
                Some(std::borrow::Cow::Owned(out))
            }
        };
        let flag_of = |row: usize| range_flags.as_ref().map_or(0, |f| f[row - r.start]);
        let mut bad_user = BadRows::default();
        let mut bad_time = BadRows::default();
        let mut skipped = 0usize;
        let mut acc = init(len);
        // Fast path: dense ids, chunks aligned and without nulls (the common case).
        if let (EntityIds::Dense { lo }, Some(d)) = (&ent.ids, &dense) {
            let aligned = d.len() == times.len()
                && d.iter()
                    .zip(&times)
                    .all(|(u, t)| u.len() == t.len() && u.null_count() == 0 && t.null_count() == 0);
            if aligned {
                let mut row = r.start;
                for (u, t) in d.iter().zip(&times) {
                    for (&uv, &tv) in u.values().iter().zip(t.values().iter()) {
                        let f = flag_of(row);
                        if keep(f) {
                            visit(&mut acc, (uv - lo) as u32, tv, f, row);
                        }
                        row += 1;
                    }
                }
                return Ok((acc, 0));
            }
        }
        let mut row = r.start;
        let mut ui = 0usize; // chunk index in user
        let mut uo = 0usize; // offset in that chunk
        for tc in &times {
            for i in 0..tc.len() {
                while ui < user.chunks.len() && uo >= user.chunks[ui].len() {
                    ui += 1;
                    uo = 0;
                }
                let user_null = user.chunks[ui].is_null(uo);
                let time_null = tc.is_null(i);
                if user_null || time_null {
                    if user_null {
                        bad_user.push(row, || "missing".into());
                    }
                    if time_null {
                        bad_time.push(row, || "missing".into());
                    }
                    skipped += 1;
                } else {
                    let f = flag_of(row);
                    if keep(f) {
                        let id = match (&ent.ids, &dense) {
                            (EntityIds::Dense { lo }, Some(d)) => (d[ui].value(uo) - lo) as u32,
                            (EntityIds::Interned(v), _) => v[row],
                            _ => unreachable!("dense ids come with dense chunks"),
                        };
                        visit(&mut acc, id, tc.value(i), f, row);
                    }
                }
                row += 1;
                uo += 1;
            }
        }
        if log.invalid == Invalid::Raise {
            KpiError::check_rows(&log.user.name, rule, bad_user)?;
            KpiError::check_rows(&log.time.name, rule, bad_time)?;
        }
        Ok((acc, skipped))
    })?;
    let skipped = parts.iter().map(|p| p.1).sum();
    Ok((parts.into_iter().map(|p| p.0).collect(), skipped))
}

/// Entities per bucket of the first radix pass: a bucket's counters and values stay in cache.
const BUCKET_BITS: u32 = 12;

/// Counting sort of the kept rows by entity: `vals[offsets[e]..offsets[e + 1]]` are entity
/// `e`'s values, in input order. Two passes, as a radix sort: rows are first moved to buckets
/// of 4096 consecutive entities (a few hundred sequential write streams), then every bucket is
/// placed on its own thread. One direct scatter over millions of entities would miss the cache
/// on nearly every row.
pub(crate) fn by_entity<T: Copy + Default + Send + Sync>(
    parts: Vec<Part<T>>,
    count: usize,
) -> (Vec<usize>, Vec<T>) {
    let mut offsets = vec![0usize; count + 1];
    for p in &parts {
        for &id in &p.ids {
            offsets[id as usize + 1] += 1;
        }
    }
    for e in 0..count {
        offsets[e + 1] += offsets[e];
    }
    let n = offsets[count];
    let n_buckets = count.div_ceil(1 << BUCKET_BITS).max(1);
    let bucket_start = |b: usize| offsets[(b << BUCKET_BITS).min(count)];
    // Pass 1: rows grouped by bucket, input order kept within a bucket.
    let mut tmp_ids = vec![0u32; n];
    let mut tmp_vals = vec![T::default(); n];
    let mut next: Vec<usize> = (0..n_buckets).map(bucket_start).collect();
    for p in parts {
        for (&id, &v) in p.ids.iter().zip(&p.vals) {
            let at = &mut next[(id >> BUCKET_BITS) as usize];
            tmp_ids[*at] = id;
            tmp_vals[*at] = v;
            *at += 1;
        }
    }
    // Pass 2: every bucket's rows to their entity's place, buckets in parallel.
    let mut vals = vec![T::default(); n];
    let mut slices: Vec<(usize, &mut [T])> = Vec::with_capacity(n_buckets);
    let mut rest: &mut [T] = &mut vals;
    for b in 0..n_buckets {
        let len = bucket_start(b + 1) - bucket_start(b);
        let (head, tail) = rest.split_at_mut(len);
        slices.push((b, head));
        rest = tail;
    }
    install(|| {
        slices.into_par_iter().for_each(|(b, out)| {
            let (lo, hi) = (bucket_start(b), bucket_start(b + 1));
            let first = b << BUCKET_BITS;
            let last = ((b + 1) << BUCKET_BITS).min(count);
            let mut at: Vec<usize> = (first..last).map(|e| offsets[e] - lo).collect();
            for (&id, &v) in tmp_ids[lo..hi].iter().zip(&tmp_vals[lo..hi]) {
                let slot = &mut at[id as usize - first];
                out[*slot] = v;
                *slot += 1;
            }
        })
    });
    (offsets, vals)
}

/// Reduce every entity's values on all threads: `f(state, entity, values)` per entity, states
/// of the threads combined with `merge`.
pub(crate) fn fold_entities<T: Send, S: Send>(
    offsets: &[usize],
    vals: &mut [T],
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, usize, &mut [T]) + Sync + Send,
    merge: impl Fn(S, S) -> S + Sync + Send,
) -> S {
    let count = offsets.len().saturating_sub(1);
    // Blocks of whole entities holding about 64k values each.
    let mut blocks: Vec<(Range<usize>, &mut [T])> = Vec::new();
    let mut rest = vals;
    let mut start = 0usize;
    while start < count {
        let mut end = start + 1;
        while end < count && offsets[end] - offsets[start] < 1 << 16 {
            end += 1;
        }
        let (head, tail) = rest.split_at_mut(offsets[end] - offsets[start]);
        blocks.push((start..end, head));
        rest = tail;
        start = end;
    }
    install(|| {
        blocks
            .into_par_iter()
            // fold, not map: one accumulator per rayon split rather than per block.
            .fold(&init, |mut s, (r, block)| {
                let base = offsets[r.start];
                for e in r {
                    let slice = &mut block[offsets[e] - base..offsets[e + 1] - base];
                    if !slice.is_empty() {
                        f(&mut s, e, slice);
                    }
                }
                s
            })
            .reduce(&init, &merge)
    })
}

/// Segment key columns, one row per segment id (empty without segments).
fn segment_keys(log: &EventLog, ent: &Entities) -> KpiResult<Vec<ArrayRef>> {
    log.segments
        .iter()
        .map(|c| take_rows(c, &ent.segment_rows))
        .collect()
}

fn n_segments(ent: &Entities) -> usize {
    ent.segment_rows.len().max(1)
}

fn meta_get<'a>(schema: &'a SchemaRef, k: &str, what: &str) -> KpiResult<&'a String> {
    schema
        .metadata()
        .get(k)
        .ok_or_else(|| KpiError::param("state", format!("not {what} state (no {k:?} metadata)")))
}

fn parse_meta<T: std::str::FromStr>(schema: &SchemaRef, k: &str, what: &str) -> KpiResult<T> {
    meta_get(schema, k, what)?
        .parse::<T>()
        .map_err(|_| KpiError::param("state", format!("bad {k:?} metadata")))
}

// --- active users ---------------------------------------------------------------------------

const META_FREQ: &str = "kpikit.freq";
const META_WINDOWS: &str = "kpikit.windows";
const META_FIRST_DAY: &str = "kpikit.first_day";
const META_LAST_DAY: &str = "kpikit.last_day";
const META_SEGMENTS: &str = "kpikit.segments";
const ACTIVE_STATE: &str = "an active-users";

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

/// Earliest and latest wall-clock time of the log (every row, on all threads), None if empty.
pub(crate) fn time_bounds(log: &EventLog) -> KpiResult<Option<(i64, i64)>> {
    min_max(log.time.len(), |r| {
        local_micros(&log.time.slice(r.start, r.len()), log.zone)
    })
}

/// Smallest and largest non-null value of the Int64 arrays `read(range)` gives for each row
/// range, on all threads; None when every value is null or there are no rows.
fn min_max(
    n: usize,
    read: impl Fn(Range<usize>) -> KpiResult<Vec<Int64Array>> + Sync + Send,
) -> KpiResult<Option<(i64, i64)>> {
    let bounds = map_ranges(n, |r| {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for c in read(r)? {
            if let (Some(a), Some(b)) = (arrow::compute::min(&c), arrow::compute::max(&c)) {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        Ok((lo, hi))
    })?;
    let lo = bounds.iter().map(|b| b.0).min().unwrap_or(i64::MAX);
    let hi = bounds.iter().map(|b| b.1).max().unwrap_or(i64::MIN);
    Ok((lo <= hi).then_some((lo, hi)))
}

/// The users that occur, numbered 0.. in id order. Dense ids can be sparse (ids 42 … 240 000
/// for 14 000 users), and per-user bit sets are sized by the users that exist, not the id range:
/// a bit per id marks the present ones, and a user's index is the number of present ids before
/// it (a popcount rank: one u32 per 64 ids, kept next to the word's bits so that a row's
/// lookup reads one cache line).
struct PresentUsers {
    count: usize,
    /// Dense ids only: per 64-id word, its present-id bits and its rank.
    rank: Option<Vec<(u64, u32)>>,
}

impl PresentUsers {
    fn of(log: &EventLog, ent: &Entities) -> KpiResult<PresentUsers> {
        use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
        let EntityIds::Dense { lo } = ent.ids else {
            return Ok(PresentUsers {
                count: ent.count,
                rank: None,
            });
        };
        let present: Vec<AtomicU64> = (0..ent.count.div_ceil(64))
            .map(|_| AtomicU64::new(0))
            .collect();
        map_ranges(log.user.len(), |r| {
            for c in int64_chunks(&log.user.slice(r.start, r.end - r.start))? {
                for v in c.iter().flatten() {
                    let id = (v - lo) as usize;
                    let m = 1u64 << (id % 64);
                    if present[id / 64].load(Relaxed) & m == 0 {
                        present[id / 64].fetch_or(m, Relaxed);
                    }
                }
            }
            Ok(())
        })?;
        let mut count = 0u32;
        let rank = present
            .into_iter()
            .map(|w| {
                let w = w.into_inner();
                let r = count;
                count += w.count_ones();
                (w, r)
            })
            .collect();
        Ok(PresentUsers {
            count: count as usize,
            rank: Some(rank),
        })
    }

    /// Index of entity `id` (which occurs) among the present users.
    #[inline]
    fn index(&self, id: u32) -> usize {
        match &self.rank {
            None => id as usize,
            Some(rank) => {
                let (bits, r) = rank[id as usize / 64];
                r as usize + (bits & ((1u64 << (id % 64)) - 1)).count_ones() as usize
            }
        }
    }

    /// Segment of the `u`-th present user (dense ids come only without segments).
    fn segment(&self, ent: &Entities, u: usize) -> usize {
        match self.rank {
            None => ent.segment_of[u] as usize,
            Some(_) => 0,
        }
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

/// Partial state of [`active_users`]: per (day, segments…) row, `delta_<window>` columns and
/// `period_users`. See the module docs.
pub fn active_users_state(
    log: &EventLog,
    freq: Freq,
    windows: &[Window],
    filter: Option<&[String]>,
) -> KpiResult<RecordBatch> {
    active_users_state_with(log, freq, windows, filter, Some(ACTIVE_BITS_PER_ROW))
}

/// [`active_users_state`] with the bit-set budget given (None: always the per-event path).
fn active_users_state_with(
    log: &EventLog,
    freq: Freq,
    windows: &[Window],
    filter: Option<&[String]>,
    bits_per_row: Option<usize>,
) -> KpiResult<RecordBatch> {
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
    let filtered = flags.is_some();
    let n_seg = n_segments(&ent);
    let shape = |first: i32, last: i32| ActiveShape::new(first, last, freq, windows, n_seg);
    let (acc, shape, skipped) = match match bits_per_row {
        Some(budget) => active_bits(log, &ent, flags.as_deref(), budget, &shape)?,
        None => None,
    } {
        Some(done) => done,
        None => {
            let (parts, skipped) = collect_rows(
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
            let (offsets, mut days) = by_entity(parts, ent.count);
            let shape = shape(first, last);
            let acc = fold_entities(
                &offsets,
                &mut days,
                || shape.new_acc(),
                |acc, e, ds| {
                    ds.sort_unstable();
                    let distinct = ds.chunk_by(|a, b| a == b).map(|g| g[0]);
                    shape.add_user(acc, ent.segment_of[e] as usize, distinct);
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
    // with users.
    let mut rows: StdHashMap<(usize, i32), usize> = StdHashMap::new();
    let mut row_seg: Vec<usize> = Vec::new();
    let mut row_day: Vec<i32> = Vec::new();
    let mut cols: Vec<Vec<i64>> = vec![Vec::new(); n_win + 1];
    let mut put = |seg: usize, day: i32, col: usize, v: i64, cols: &mut Vec<Vec<i64>>| {
        let r = *rows.entry((seg, day)).or_insert_with(|| {
            row_seg.push(seg);
            row_day.push(day);
            for c in cols.iter_mut() {
                c.push(0);
            }
            row_day.len() - 1
        });
        cols[col][r] += v;
    };
    for seg in 0..n_seg {
        for w in 0..n_win {
            let base = (seg * n_win + w) * n_days;
            for i in 0..n_days {
                let v = acc.delta[base + i];
                if v != 0 {
                    put(seg, first + i as i32, w, v, &mut cols);
                }
            }
        }
        for p in 0..n_periods {
            let v = acc.period_users[seg * n_periods + p];
            if v != 0 {
                let day = freq.start_day(p_lo + p as i64) as i32;
                put(seg, day, n_win, v, &mut cols);
            }
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
    meta.insert(META_FREQ.to_string(), freq.label());
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
    meta.insert(META_SEGMENTS.to_string(), log.segments.len().to_string());
    meta.insert(META_SKIPPED_ROWS.to_string(), skipped.to_string());
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
    let freq = Freq::from_label(meta_get(schema, META_FREQ, ACTIVE_STATE)?)?;
    let windows = meta_get(schema, META_WINDOWS, ACTIVE_STATE)?
        .split(',')
        .map(|s| {
            let (n, d) = s
                .split_once('=')
                .ok_or_else(|| KpiError::param("state", "bad windows metadata"))?;
            Ok((
                n.to_string(),
                d.parse()
                    .map_err(|_| KpiError::param("state", "bad windows metadata"))?,
            ))
        })
        .collect::<KpiResult<Vec<Window>>>()?;
    let fd = meta_get(schema, META_FIRST_DAY, ACTIVE_STATE)?;
    let range = if fd.is_empty() {
        None
    } else {
        Some((
            parse_meta(schema, META_FIRST_DAY, ACTIVE_STATE)?,
            parse_meta(schema, META_LAST_DAY, ACTIVE_STATE)?,
        ))
    };
    Ok(ActiveInfo {
        freq,
        windows,
        range,
        n_segments: parse_meta(schema, META_SEGMENTS, ACTIVE_STATE)?,
        skipped: parse_meta(schema, META_SKIPPED_ROWS, ACTIVE_STATE)?,
    })
}

/// Merge active-users states of user-disjoint partitions (deltas and users add up; the day
/// range is the union).
pub fn merge_active_users_states(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let first = states
        .first()
        .ok_or_else(|| KpiError::param("states", "at least one partial state is needed"))?;
    let info = active_info(&first.schema())?;
    let mut range: Option<(i32, i32)> = None;
    let mut skipped = 0u64;
    for s in states {
        let i = active_info(&s.schema())?;
        if i.freq != info.freq || i.windows != info.windows || i.n_segments != info.n_segments {
            return Err(KpiError::param(
                "states",
                "partial states were computed with different freq, windows or segments",
            ));
        }
        skipped += i.skipped;
        if let Some((a, b)) = i.range {
            range = Some(match range {
                Some((x, y)) => (x.min(a), y.max(b)),
                None => (a, b),
            });
        }
    }
    let plain: Vec<RecordBatch> = states
        .iter()
        .map(|s| {
            RecordBatch::try_new(
                Arc::new(Schema::new(s.schema().fields().clone())),
                s.columns().to_vec(),
            )
        })
        .collect::<Result<_, _>>()?;
    let merged = merge_sum(&plain, 1 + info.n_segments)?;
    let mut meta = first.schema().metadata().clone();
    meta.insert(META_SKIPPED_ROWS.to_string(), skipped.to_string());
    let (fd, ld) = match range {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (String::new(), String::new()),
    };
    meta.insert(META_FIRST_DAY.to_string(), fd);
    meta.insert(META_LAST_DAY.to_string(), ld);
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(
            merged.schema().fields().clone(),
            meta,
        )),
        merged.columns().to_vec(),
    )?)
}

/// Finish an active-users state: one row per period (first to last, gaps included) and
/// segment, with `active_users` (distinct users active in the period), one column per window
/// (distinct users active over the trailing window ending on the period's last day, or on
/// the last day of the data if that is earlier) and `dau_mau = dau / mau` when windows named
/// "dau" and "mau" exist (null when mau is 0).
pub fn finish_active_users(state: &RecordBatch) -> KpiResult<RecordBatch> {
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
    let g = grid(&key_state, true, info.n_segments, Some(freq))?;
    let out_dates = g.keys[0].as_primitive::<Date32Type>();
    // Segment of each output row: blocks of n_periods rows, one per segment, in grid order.
    let mut seg_of_out = Vec::with_capacity(g.source.len());
    let mut current = 0usize;
    for (i, src) in g.source.iter().enumerate() {
        if i % n_periods.max(1) == 0 {
            current = src.map_or(0, |r| key_seg[r]);
        }
        seg_of_out.push(current);
    }
    let mut active = Vec::with_capacity(g.source.len());
    let mut win_vals: Vec<Vec<i64>> = vec![Vec::with_capacity(g.source.len()); n_win];
    for (i, &s) in seg_of_out.iter().enumerate() {
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
    meta.insert(META_SKIPPED_ROWS.to_string(), info.skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}

/// Active users per period and segment: [`active_users_state`] then [`finish_active_users`].
pub fn active_users(
    log: &EventLog,
    freq: Freq,
    windows: &[Window],
    filter: Option<&[String]>,
) -> KpiResult<RecordBatch> {
    finish_active_users(&active_users_state(log, freq, windows, filter)?)
}

// --- stickiness -----------------------------------------------------------------------------

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
    let (first_day, last_day) = (
        super::time::MIN_US.div_euclid(US_PER_DAY),
        super::time::MAX_US.div_euclid(US_PER_DAY),
    );
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
    meta.insert(META_SKIPPED_ROWS.to_string(), skipped.to_string());
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

// --- lifecycle ------------------------------------------------------------------------------

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
    pub fn parse(preset: &str) -> KpiResult<NewUser> {
        match preset {
            "posthog" => Ok(NewUser::CreatedPeriod),
            "amplitude" => Ok(NewUser::FirstActive),
            _ => Err(KpiError::param(
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
pub fn lifecycle(
    log: &EventLog,
    freq: Freq,
    created: Option<&Column>,
    new_user: NewUser,
) -> KpiResult<RecordBatch> {
    let ent = entities(log)?;
    // Creation period per row (i64::MAX: unknown), read once for all rows.
    let created_ords: Option<Vec<i64>> = match created {
        Some(c) => {
            if c.len() != log.user.len() {
                return Err(KpiError::LengthMismatch {
                    left: log.user.name.clone(),
                    left_len: log.user.len(),
                    right: c.name.clone(),
                    right_len: c.len(),
                });
            }
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
    let col = |k: usize| -> Vec<i64> { (0..n).map(|p| counts[4 * p + k]).collect() };
    let (new, ret, res, dor) = (col(0), col(1), col(2), col(3));
    let active: Vec<i64> = (0..n).map(|p| new[p] + ret[p] + res[p]).collect();
    let pulse: Float64Array = (0..n)
        .map(|p| (dor[p] != 0).then(|| (new[p] + res[p]) as f64 / -dor[p] as f64))
        .collect();
    let dates = arrow::compute::cast(
        &(Arc::new(super::time::start_dates(
            freq,
            (0..n).map(|p| Some(lo + p as i64)),
        )) as ArrayRef),
        &DataType::Date32,
    )?;
    let mut meta = StdHashMap::new();
    meta.insert(META_SKIPPED_ROWS.to_string(), skipped.to_string());
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
    use crate::core::time::Zone;
    use arrow::array::{StringArray, TimestampMicrosecondArray};

    fn log(users: Vec<i64>, days: Vec<i64>) -> EventLog {
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

    fn i64s(b: &RecordBatch, name: &str) -> Vec<i64> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    /// Pseudo-random numbers below `m` (a 64-bit LCG, high bits): reproducible test logs.
    fn numbers(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed;
        move |m| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        }
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
            let bits = active_users_state_with(&l, freq, &w, None, Some(usize::MAX)).unwrap();
            let events = active_users_state_with(&l, freq, &w, None, None).unwrap();
            assert_eq!(bits, events, "{freq:?}");
            let (a, b) = (finish_active_users(&bits), finish_active_users(&events));
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
            let bits = active_users_state_with(&l, freq, &w, Some(&filter), Some(usize::MAX));
            let events = active_users_state_with(&l, freq, &w, Some(&filter), None);
            let (bits, events) = (bits.unwrap(), events.unwrap());
            assert_eq!(bits, events, "{freq:?}");
            assert_eq!(
                finish_active_users(&bits).unwrap(),
                finish_active_users(&events).unwrap()
            );
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
    fn merged_user_disjoint_states_equal_one_pass() {
        let users: Vec<i64> = (0..500).map(|i| i % 37).collect();
        let days: Vec<i64> = (0..500).map(|i| (i * 7919 % 61) as i64).collect();
        let whole = active_users_state(
            &log(users.clone(), days.clone()),
            Freq::Week { week_start: 0 },
            &windows(),
            None,
        )
        .unwrap();
        let mut states = vec![];
        for part in 0..3 {
            let (u, d): (Vec<i64>, Vec<i64>) = users
                .iter()
                .zip(&days)
                .filter(|(u, _)| *u % 3 == part)
                .map(|(u, d)| (*u, *d))
                .unzip();
            states.push(
                active_users_state(&log(u, d), Freq::Week { week_start: 0 }, &windows(), None)
                    .unwrap(),
            );
        }
        states.push(
            active_users_state(
                &log(vec![], vec![]),
                Freq::Week { week_start: 0 },
                &windows(),
                None,
            )
            .unwrap(),
        );
        let merged = merge_active_users_states(&states).unwrap();
        let (a, b) = (
            finish_active_users(&whole).unwrap(),
            finish_active_users(&merged).unwrap(),
        );
        assert_eq!(a.columns(), b.columns());
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

    #[test]
    fn lifecycle_statuses_on_a_small_timeline() {
        // User 1: days 0, 1, 3. User 2: day 1. Days 0..3.
        let l = log(vec![1, 1, 1, 2], vec![0, 1, 3, 1]);
        let out = lifecycle(&l, Freq::Day, None, NewUser::CreatedPeriod).unwrap();
        assert_eq!(i64s(&out, "new"), vec![1, 1, 0, 0]);
        assert_eq!(i64s(&out, "returning"), vec![0, 1, 0, 0]);
        assert_eq!(i64s(&out, "resurrecting"), vec![0, 0, 0, 1]);
        assert_eq!(i64s(&out, "dormant"), vec![0, 0, -2, 0]);
    }

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
