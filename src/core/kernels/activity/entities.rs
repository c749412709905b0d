//! The rows of an event log grouped per entity (user, or segment × user), shared by every
//! analysis of the journey family (docs/conventions.md#journey): entity ids, event-name flags,
//! the parallel row scan (missing users and times per `invalid=`), the counting sort by entity
//! and the per-entity fold.

use std::ops::Range;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::datatypes::{DataType, Int64Type};
use rayon::prelude::*;

use crate::core::engine::groups::{group_ids, take_rows};
use crate::core::engine::parallel::{install, map_ranges};
use crate::core::engine::state::Invalid;
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::events::EventLog;
use crate::core::input::time::{local_micros, TimeRange};
use crate::core::input::{small_int, Column};

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

pub(crate) fn int64_chunks(col: &Column) -> KpiResult<Vec<Int64Array>> {
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
            crate::core::input::for_each_dictionary_key(d, |k| {
                out.push(k.map_or(0, |k| value_flags[k]))
            });
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
        // At most two runs of blocks per thread: every run makes (zeroes) and merges an
        // accumulator, which is a grid over segments × days for some analyses (tens of MiB with
        // a thousand segments), so one per block cost more than the entities themselves.
        let min_len = blocks
            .len()
            .div_ceil(2 * rayon::current_num_threads())
            .max(1);
        blocks
            .into_par_iter()
            .with_min_len(min_len)
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
pub(crate) fn segment_keys(log: &EventLog, ent: &Entities) -> KpiResult<Vec<ArrayRef>> {
    log.segments
        .iter()
        .map(|c| take_rows(c, &ent.segment_rows))
        .collect()
}

pub(crate) fn n_segments(ent: &Entities) -> usize {
    ent.segment_rows.len().max(1)
}

/// Earliest and latest wall-clock time of the log (every row, on all threads), None if empty.
pub(crate) fn time_bounds(log: &EventLog) -> KpiResult<Option<(i64, i64)>> {
    min_max(log.time.len(), |r| {
        local_micros(&log.time.slice(r.start, r.len()), log.zone)
    })
}

/// Per row, its event flags (`flags`, 0 without) with `always` set, and cleared for the rows
/// outside `range`: the analyses' `keep(flags)` then leaves those rows out while their users
/// and segments still exist (docs/conventions.md, "Complete grids"). Rows with a missing time
/// keep their flags: the row scan reports them per `invalid=`.
pub(crate) fn range_flags(
    log: &EventLog,
    range: TimeRange,
    flags: Option<&[u8]>,
    always: u8,
) -> KpiResult<Vec<u8>> {
    let parts = map_ranges(log.time.len(), |r| {
        let mut out = Vec::with_capacity(r.len());
        for a in local_micros(&log.time.slice(r.start, r.len()), log.zone)? {
            for i in 0..a.len() {
                let row = r.start + out.len();
                let f = flags.map_or(0, |f| f[row]) | always;
                out.push(if a.is_null(i) || range.contains(a.value(i)) {
                    f
                } else {
                    0
                });
            }
        }
        Ok(out)
    })?;
    Ok(parts.concat())
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
pub(crate) struct PresentUsers {
    pub count: usize,
    /// Dense ids only: per 64-id word, its present-id bits and its rank.
    rank: Option<Vec<(u64, u32)>>,
}

impl PresentUsers {
    pub(crate) fn of(log: &EventLog, ent: &Entities) -> KpiResult<PresentUsers> {
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
    pub(crate) fn index(&self, id: u32) -> usize {
        match &self.rank {
            None => id as usize,
            Some(rank) => {
                let (bits, r) = rank[id as usize / 64];
                r as usize + (bits & ((1u64 << (id % 64)) - 1)).count_ones() as usize
            }
        }
    }

    /// Segment of the `u`-th present user (dense ids come only without segments).
    pub(crate) fn segment(&self, ent: &Entities, u: usize) -> usize {
        match self.rank {
            None => ent.segment_of[u] as usize,
            Some(_) => 0,
        }
    }
}
