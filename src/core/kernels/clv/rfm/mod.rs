//! RFM summaries of a transaction log, following the conventions of lifetimes'
//! `summary_data_from_transaction_data` (docs/conventions.md#rfm-summaries):
//!
//! - times are bucketed into periods of `freq`; transactions in the same period merge into one
//!   (their amounts summed); periods after the observation end's period are dropped;
//! - frequency = distinct purchase periods − 1 (repeat periods), recency = last − first period,
//!   T = observation end − first period, both in periods ÷ `freq_multiplier`;
//! - monetary_value = mean of the repeat (non-first) period totals, 0 without repeats.
//!
//! Computed as partial → merge → finish: each row range (in parallel) computes its rows' periods
//! and splits the rows into partitions of consecutive customer ids; the merge gathers each
//! partition's rows from all ranges and buckets them by customer (counting sorts, never a sort
//! of the whole log), reduces each customer's few rows to first and last period, distinct
//! periods and totals, and the finish step turns those into the summary.//!
//! Files: this one buckets and reduces the log (partial step, merge, finish columns);
//! `split` is the calibration/holdout split; `state` the summary as an analysis of the
//! partial → merge → finish protocol.

mod split;
mod state;
#[cfg(test)]
mod tests;

pub use split::rfm_split;
pub use state::{RfmInput, RfmSummary};

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, UInt32Array,
};
use arrow::compute::{sort_to_indices, take};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use rayon::prelude::*;

use crate::core::engine::groups::{group_ids, take_rows};
use crate::core::engine::parallel::{install, map_ranges};
use crate::core::engine::state::{meta, with_metadata, Analysis, Invalid, MergeInput, Meta};
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{local_micros, Freq, Zone};
use crate::core::input::{
    check_same_len, f64_chunks, require_no_nulls, small_int, value_f64, Column,
};

/// The period length RFM times are counted in: a calendar period, or a fixed number of
/// microseconds (hours, minutes, seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    Calendar(Freq),
    Fixed(i64),
}

impl Unit {
    /// The fixed-length units: "hour", "minute", "second" (and lifetimes' "h", "min", "s");
    /// None for anything else, which is a calendar period (`Freq`).
    pub fn fixed(s: &str) -> Option<Unit> {
        match s.trim() {
            "h" | "H" | "hour" | "hours" => Some(Unit::Fixed(3_600_000_000)),
            "min" | "T" | "minute" | "minutes" => Some(Unit::Fixed(60_000_000)),
            "s" | "S" | "second" | "seconds" => Some(Unit::Fixed(1_000_000)),
            _ => None,
        }
    }

    /// The unit's name, read back by [`Unit::from_label`].
    pub fn label(&self) -> String {
        match self {
            Unit::Calendar(f) => f.label(),
            Unit::Fixed(3_600_000_000) => "hour".into(),
            Unit::Fixed(60_000_000) => "minute".into(),
            Unit::Fixed(1_000_000) => "second".into(),
            Unit::Fixed(us) => format!("{us}us"),
        }
    }

    pub fn from_label(s: &str) -> KpiResult<Unit> {
        if let Some(u) = Unit::fixed(s) {
            return Ok(u);
        }
        if let Some(us) = s.strip_suffix("us").and_then(|n| n.parse::<i64>().ok()) {
            return Ok(Unit::Fixed(us));
        }
        Freq::from_label(s).map(Unit::Calendar)
    }

    #[inline]
    pub fn ordinal(&self, local_us: i64) -> i64 {
        match self {
            Unit::Calendar(f) => f.ordinal_of_micros(local_us),
            Unit::Fixed(us) => local_us.div_euclid(*us),
        }
    }
}

/// Settings shared by [`rfm_summary`] and [`rfm_split`].
#[derive(Debug, Clone, Copy)]
pub struct RfmSpec {
    pub unit: Unit,
    pub multiplier: f64,
    pub include_first: bool,
    pub zone: Zone,
    /// Rows with a missing customer or time, or an amount that is missing, NaN or infinite:
    /// refused naming them, or left out and counted (docs/vocabulary.md).
    pub invalid: Invalid,
}

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    after: Option<i64>,
    upto: Option<i64>,
    last_period: Option<i64>,
}

/// Customer ids of the rows.
enum Ids {
    /// Integer keys over a short range: id = value − `lo`, read straight from the values (as
    /// Int64 chunks) instead of hashing every row. Ids are in key order, so statistics made in
    /// id order are already sorted by customer; ids that never occur simply have no rows.
    Dense { values: Column, lo: i64 },
    /// Any other key: ids in order of first appearance, with each id's first row.
    Hashed {
        ids: Vec<u32>,
        first_row: Vec<usize>,
    },
}

/// The checked inputs, with customer ids `0..groups`.
struct Log<'a> {
    customer: &'a Column,
    time: &'a Column,
    amount: Option<&'a Column>,
    ids: Ids,
    groups: usize,
}

impl Log<'_> {
    /// Append the ids of rows `start..start+len` to `out`.
    fn ids_into(&self, start: usize, len: usize, out: &mut Vec<u32>) {
        match &self.ids {
            Ids::Dense { values, lo } => {
                for c in values.slice(start, len).chunks {
                    out.extend(
                        c.as_primitive::<Int64Type>()
                            .values()
                            .iter()
                            .map(|&v| (v - lo) as u32),
                    );
                }
            }
            Ids::Hashed { ids, .. } => out.extend_from_slice(&ids[start..start + len]),
        }
    }
}

/// The transaction columns the summary reads: with `Invalid::Skip`, without the rows it
/// leaves out (a missing customer or time, or an amount that is missing, NaN or infinite),
/// and how many those were. With `Invalid::Raise` the columns as given: [`prepare`] and the
/// partial step refuse such rows, naming them.
struct Kept {
    customer: Column,
    time: Column,
    amount: Option<Column>,
    skipped: u64,
}

impl Kept {
    fn of(
        customer: &Column,
        time: &Column,
        amount: Option<&Column>,
        spec: &RfmSpec,
    ) -> KpiResult<Kept> {
        let as_given = Kept {
            customer: customer.clone(),
            time: time.clone(),
            amount: amount.cloned(),
            skipped: 0,
        };
        // Lengths that differ are reported by `prepare`.
        let n = customer.len();
        if spec.invalid == Invalid::Raise || time.len() != n || amount.is_some_and(|a| a.len() != n)
        {
            return Ok(as_given);
        }
        let mut keep = Vec::with_capacity(n);
        for chunk in &customer.chunks {
            keep.extend((0..chunk.len()).map(|i| chunk.is_valid(i)));
        }
        let mut row = 0;
        for chunk in local_micros(time, spec.zone)? {
            for i in 0..chunk.len() {
                keep[row] &= chunk.is_valid(i);
                row += 1;
            }
        }
        if let Some(a) = amount {
            let mut row = 0;
            for chunk in f64_chunks(a)? {
                for i in 0..chunk.len() {
                    keep[row] &= value_f64(&chunk, i).is_some_and(f64::is_finite);
                    row += 1;
                }
            }
        }
        let kept = keep.iter().filter(|k| **k).count();
        if kept == n {
            return Ok(as_given);
        }
        let mask = BooleanArray::from(keep);
        Ok(Kept {
            customer: filtered(customer, &mask)?,
            time: filtered(time, &mask)?,
            amount: amount.map(|a| filtered(a, &mask)).transpose()?,
            skipped: (n - kept) as u64,
        })
    }
}

/// The rows of `column` where `mask` (one entry per row) is true, chunk by chunk.
fn filtered(column: &Column, mask: &BooleanArray) -> KpiResult<Column> {
    let mut start = 0;
    let mut chunks = Vec::with_capacity(column.chunks.len());
    for c in &column.chunks {
        let m = mask.slice(start, c.len());
        chunks.push(arrow::compute::filter(c, &m)?);
        start += c.len();
    }
    Ok(Column::new(column.name.clone(), chunks))
}

fn prepare<'a>(
    customer: &'a Column,
    time: &'a Column,
    amount: Option<&'a Column>,
) -> KpiResult<Log<'a>> {
    check_same_len(customer, std::iter::once(time).chain(amount))?;
    require_no_nulls(customer)?;
    let (ids, groups) = match dense_range(customer)? {
        Some((values, lo, span)) => (Ids::Dense { values, lo }, span),
        None => {
            let g = group_ids(std::slice::from_ref(customer))?;
            let groups = g.first_row.len();
            (
                Ids::Hashed {
                    ids: g.ids,
                    first_row: g.first_row,
                },
                groups,
            )
        }
    };
    Ok(Log {
        customer,
        time,
        amount,
        ids,
        groups,
    })
}

/// Integer customer keys spanning a short range (at most 4 × rows + 65,536 values, so the
/// per-id work stays proportional to the rows): the keys as Int64 chunks, the lowest and the
/// span. None for other keys.
fn dense_range(customer: &Column) -> KpiResult<Option<(Column, i64, usize)>> {
    if !small_int(&customer.data_type()) || customer.is_empty() {
        return Ok(None);
    }
    let chunks: Vec<ArrayRef> = customer
        .chunks
        .iter()
        .map(|c| arrow::compute::cast(c, &DataType::Int64))
        .collect::<Result<_, _>>()?;
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for c in &chunks {
        let (l, h) = c
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .fold((i64::MAX, i64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        lo = lo.min(l);
        hi = hi.max(h);
    }
    let limit = 4 * customer.len() as i64 + 65_536;
    let span = hi
        .checked_sub(lo)
        .and_then(|s| s.checked_add(1))
        .filter(|&s| s <= limit.min(u32::MAX as i64));
    Ok(span.map(|s| (Column::new(&customer.name, chunks), lo, s as usize)))
}

// Rows are bucketed by customer in two levels, so that no step writes at random over memory
// much larger than the caches (with millions of customers, a one-level counting sort misses
// the cache on nearly every row): each row range first splits its rows into partitions of
// 2^bits consecutive customer ids (a few hundred sequential output streams), then each
// partition, whose rows and per-customer counters fit in cache, is sorted by customer and its
// customers reduced. Partitions in id order and customers in id order within them give the
// statistics in id order.
//
// A row is kept as one u64 key (its id within the partition above its period) and its amount.
// Times are checked to lie in the years 1 to 9999, so even second periods (±2.6 × 10¹¹) fit
// in 40 bits once offset by 2³⁹, leaving 24 bits for the id within the partition.

const PERIOD_BITS: u32 = 40;
const PERIOD_BIAS: i64 = 1 << 39;
const PERIOD_MASK: u64 = (1 << PERIOD_BITS) - 1;
/// Marks a row the window leaves out (not a valid biased period).
const DROPPED: u64 = u64::MAX;

#[derive(Debug, Clone, Copy)]
struct Layout {
    bits: u32,
    parts: usize,
}

thread_local! {
    /// Target rows per partition; tests lower it to get many partitions from small logs.
    static PART_ROWS: std::cell::Cell<usize> = const { std::cell::Cell::new(16_384) };
}

impl Layout {
    /// About 16k rows a partition (their keys, amounts and the partition's per-customer
    /// counters stay in L2), at most 4,096 partitions (streams written at once per range).
    fn new(rows: usize, groups: usize) -> Layout {
        let want =
            (PART_ROWS.with(|c| c.get()) as u128 * groups as u128).div_ceil(rows.max(1) as u128);
        let mut bits = want.next_power_of_two().trailing_zeros();
        let fewest = (groups.div_ceil(4_096).max(1))
            .next_power_of_two()
            .trailing_zeros();
        bits = bits.max(fewest).min(64 - PERIOD_BITS);
        let parts = groups.div_ceil(1 << bits).max(1);
        Layout { bits, parts }
    }
}

/// Partial step over rows `start..start+len`: their kept rows split by partition, and the
/// latest time seen.
struct Bucketed {
    /// Where each partition's rows start in `keys` (`parts + 1` entries).
    offsets: Vec<usize>,
    keys: Vec<u64>,
    /// Amounts aligned with `keys`; empty without an amount column.
    amounts: Vec<f64>,
    latest: Option<i64>,
}

fn partial(
    log: &Log,
    spec: &RfmSpec,
    window: Window,
    layout: Layout,
    start: usize,
    len: usize,
) -> KpiResult<Bucketed> {
    let mut bad_amount = BadRows::default();
    let mut amounts = Vec::with_capacity(if log.amount.is_some() { len } else { 0 });
    if let Some(a) = log.amount {
        let mut row = start;
        for chunk in f64_chunks(&a.slice(start, len))? {
            let values = chunk.values();
            // The common case in one branch-free check (NaN and infinities are not finite).
            if chunk.null_count() == 0 && values.iter().fold(true, |ok, v| ok & v.is_finite()) {
                amounts.extend_from_slice(values);
                row += values.len();
                continue;
            }
            for i in 0..chunk.len() {
                match value_f64(&chunk, i) {
                    Some(v) if v.is_finite() => amounts.push(v),
                    // An infinite amount would make the customer's monetary value NaN.
                    Some(v) => {
                        bad_amount.push(row, || format!("{v}"));
                        amounts.push(0.0);
                    }
                    None => {
                        bad_amount.push(row, || "missing".into());
                        amounts.push(0.0);
                    }
                }
                row += 1;
            }
        }
    }
    let mut bad_time = BadRows::default();
    let mut periods: Vec<u64> = Vec::with_capacity(len);
    let mut latest: Option<i64> = None;
    let mut row = start;
    for chunk in local_micros(&log.time.slice(start, len), spec.zone)? {
        for i in 0..chunk.len() {
            row += 1;
            if chunk.is_null(i) {
                bad_time.push(row - 1, || "missing".into());
                periods.push(DROPPED);
                continue;
            }
            let us = chunk.value(i);
            latest = Some(latest.map_or(us, |l| l.max(us)));
            let period = spec.unit.ordinal(us);
            let out = window.after.is_some_and(|a| us <= a)
                || window.upto.is_some_and(|u| us > u)
                || window.last_period.is_some_and(|l| period > l);
            let biased = period.wrapping_add(PERIOD_BIAS) as u64;
            if biased > PERIOD_MASK {
                return Err(KpiError::Internal(format!(
                    "period {period} of row {} out of the packed range",
                    row - 1
                )));
            }
            periods.push(if out { DROPPED } else { biased });
        }
    }
    KpiError::check_rows(&log.time.name, "must not be missing", bad_time)?;
    if let Some(a) = log.amount {
        KpiError::check_rows(&a.name, "must not be missing, NaN or infinite", bad_amount)?;
    }
    let mut ids = Vec::with_capacity(len);
    log.ids_into(start, len, &mut ids);
    let bits = layout.bits;
    let mut offsets = vec![0usize; layout.parts + 1];
    for (&id, &p) in ids.iter().zip(&periods) {
        if p != DROPPED {
            offsets[(id >> bits) as usize + 1] += 1;
        }
    }
    for k in 0..layout.parts {
        offsets[k + 1] += offsets[k];
    }
    let kept = offsets[layout.parts];
    let mut next = offsets[..layout.parts].to_vec();
    let mut keys = vec![0u64; kept];
    let mut kept_amounts = vec![0.0; if log.amount.is_some() { kept } else { 0 }];
    let local = (1u32 << bits).wrapping_sub(1);
    for (i, (&id, &p)) in ids.iter().zip(&periods).enumerate() {
        if p == DROPPED {
            continue;
        }
        let part = (id >> bits) as usize;
        let at = next[part];
        next[part] += 1;
        keys[at] = (((id & local) as u64) << PERIOD_BITS) | p;
        if let Some(v) = amounts.get(i) {
            kept_amounts[at] = *v;
        }
    }
    Ok(Bucketed {
        offsets,
        keys,
        amounts: kept_amounts,
        latest,
    })
}

/// One customer's purchase periods, reduced: what the finish step needs.
#[derive(Debug, Clone, Copy)]
struct Stats {
    customer: u32,
    first: i64,
    first_total: f64,
    last: i64,
    periods: f64,
    total: f64,
    rows: f64,
}

/// Merge and reduce, partitions in parallel: a partition's rows from every range (in range
/// order, so each customer's rows stay in row order) counting-sorted by customer, then each
/// customer's few rows sorted by period (stably, so same-period amounts add in row order) and
/// reduced. Statistics per partition, in id order.
fn customer_stats(log: &Log, layout: Layout, parts: &[Bucketed]) -> Vec<Vec<Stats>> {
    let has_amount = log.amount.is_some();
    let width = 1usize << layout.bits;
    install(|| {
        (0..layout.parts)
            .into_par_iter()
            // Scratch reused across partitions: no fresh pages to fault in for each.
            .map_init(
                || (Vec::new(), Vec::new(), Vec::new()),
                |(start, next, rows), p| {
                    let base = p * width;
                    let customers = width.min(log.groups - base);
                    start.clear();
                    start.resize(customers + 1, 0usize);
                    for b in parts {
                        for &k in &b.keys[b.offsets[p]..b.offsets[p + 1]] {
                            start[(k >> PERIOD_BITS) as usize + 1] += 1;
                        }
                    }
                    for c in 0..customers {
                        start[c + 1] += start[c];
                    }
                    rows.clear();
                    rows.resize(start[customers], (0u64, 0.0f64));
                    next.clear();
                    next.extend_from_slice(&start[..customers]);
                    for b in parts {
                        for j in b.offsets[p]..b.offsets[p + 1] {
                            let k = b.keys[j];
                            let c = (k >> PERIOD_BITS) as usize;
                            let v = if has_amount { b.amounts[j] } else { 0.0 };
                            rows[next[c]] = (k & PERIOD_MASK, v);
                            next[c] += 1;
                        }
                    }
                    let mut out = Vec::new();
                    for c in 0..customers {
                        let seg = &mut rows[start[c]..start[c + 1]];
                        if let Some(s) = reduce((base + c) as u32, seg) {
                            out.push(s);
                        }
                    }
                    out
                },
            )
            .collect()
    })
}

/// One customer's rows (biased period, amount), in row order.
fn reduce(customer: u32, rows: &mut [(u64, f64)]) -> Option<Stats> {
    if rows.is_empty() {
        return None;
    }
    rows.sort_by_key(|r| r.0);
    let first = rows[0].0;
    let unbias = |p: u64| p as i64 - PERIOD_BIAS;
    let mut s = Stats {
        customer,
        first: unbias(first),
        first_total: 0.0,
        last: unbias(rows[rows.len() - 1].0),
        periods: 0.0,
        total: 0.0,
        rows: rows.len() as f64,
    };
    let mut prev = None;
    for &(p, v) in rows.iter() {
        if prev != Some(p) {
            s.periods += 1.0;
            prev = Some(p);
        }
        if p == first {
            s.first_total += v;
        }
        s.total += v;
    }
    Some(s)
}

/// Statistics of every customer with kept rows (per partition, in id order) and the latest
/// time of the log.
fn stats(log: &Log, spec: &RfmSpec, window: Window) -> KpiResult<(Vec<Vec<Stats>>, Option<i64>)> {
    let n = log.customer.len();
    let layout = Layout::new(n, log.groups);
    let parts = map_ranges(n, |r| {
        partial(log, spec, window, layout, r.start, r.end - r.start)
    })?;
    let latest = parts.iter().filter_map(|p| p.latest).max();
    let stats = customer_stats(log, layout, &parts);
    Ok((stats, latest))
}

/// Per customer of `stats` (in order), the `K` values `f` gives, as `K` columns; partitions in
/// parallel, each writing its own slice of the columns.
fn columns_of<T, const K: usize>(
    stats: &[Vec<Stats>],
    f: impl Fn(&Stats) -> [T; K] + Sync,
) -> Vec<Vec<T>>
where
    T: Copy + Default + Send + Sync,
{
    let total: usize = stats.iter().map(Vec::len).sum();
    let mut columns: Vec<Vec<T>> = (0..K).map(|_| vec![T::default(); total]).collect();
    let mut rests: Vec<&mut [T]> = columns.iter_mut().map(|c| c.as_mut_slice()).collect();
    let mut pieces: Vec<Vec<&mut [T]>> = Vec::with_capacity(stats.len());
    for part in stats {
        let mut piece = Vec::with_capacity(K);
        for rest in rests.iter_mut() {
            let (head, tail) = std::mem::take(rest).split_at_mut(part.len());
            piece.push(head);
            *rest = tail;
        }
        pieces.push(piece);
    }
    install(|| {
        stats.par_iter().zip(pieces).for_each(|(part, mut piece)| {
            for (i, s) in part.iter().enumerate() {
                for (k, v) in f(s).into_iter().enumerate() {
                    piece[k][i] = v;
                }
            }
        })
    });
    columns
}

/// Output columns: frequency, recency, T and (with amounts) monetary_value of each customer
/// (finish step), in the order of `stats`.
fn finish(
    stats: &[Vec<Stats>],
    end_period: i64,
    spec: &RfmSpec,
    has_amount: bool,
) -> Vec<(&'static str, Vec<f64>)> {
    let m = spec.multiplier;
    let include_first = spec.include_first;
    let columns = columns_of(stats, |s| {
        let (frequency, monetary) = if include_first {
            (s.periods, s.total / s.periods)
        } else if s.periods > 1.0 {
            (
                s.periods - 1.0,
                (s.total - s.first_total) / (s.periods - 1.0),
            )
        } else {
            (0.0, 0.0)
        };
        [
            frequency,
            (s.last - s.first) as f64 / m,
            (end_period - s.first) as f64 / m,
            monetary,
        ]
    });
    let names = ["frequency", "recency", "T", "monetary_value"];
    let keep = if has_amount { 4 } else { 3 };
    names.into_iter().zip(columns).take(keep).collect()
}

fn check_spec(spec: &RfmSpec) -> KpiResult<()> {
    if !(spec.multiplier.is_finite() && spec.multiplier > 0.0) {
        return Err(KpiError::param(
            "freq_multiplier",
            format!("must be a positive number, got {}", spec.multiplier),
        ));
    }
    Ok(())
}

fn f64_field(name: &str) -> Field {
    Field::new(name, DataType::Float64, false)
}

/// The customer key of each id in `customers`, and whether they come out ascending (dense
/// integer keys in id order: no sort, no gather through first rows).
fn customer_keys(log: &Log, stats: &[Vec<Stats>]) -> KpiResult<(ArrayRef, bool)> {
    match &log.ids {
        Ids::Dense { lo, .. } => {
            let lo = *lo;
            let values = columns_of(stats, |s| [lo + s.customer as i64]).remove(0);
            let keys: ArrayRef = Arc::new(Int64Array::from(values));
            let dt = log.customer.data_type();
            let keys = if dt == DataType::Int64 {
                keys
            } else {
                arrow::compute::cast(&keys, &dt)?
            };
            Ok((keys, true))
        }
        Ids::Hashed { first_row, .. } => {
            let rows: Vec<usize> = stats
                .iter()
                .flatten()
                .map(|s| first_row[s.customer as usize])
                .collect();
            Ok((take_rows(log.customer, &rows)?, false))
        }
    }
}

/// The ascending order of distinct integer customer ids spanning a short range (at most
/// 4 × their number + 65,536): one pass placing each at its value's slot and one over the
/// slots, instead of a comparison sort of millions of keys. None for other keys.
fn dense_order(keys: &ArrayRef) -> KpiResult<Option<UInt32Array>> {
    if !small_int(keys.data_type()) || keys.null_count() > 0 || keys.is_empty() {
        return Ok(None);
    }
    let cast = arrow::compute::cast(keys, &DataType::Int64)?;
    let values = cast.as_primitive::<Int64Type>().values();
    let (lo, hi) = values
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let span = hi.checked_sub(lo).and_then(|s| s.checked_add(1));
    let limit = 4 * values.len() as i64 + 65_536;
    let Some(span) = span.filter(|&s| s <= limit) else {
        return Ok(None);
    };
    let mut slots = vec![u32::MAX; span as usize];
    for (i, &v) in values.iter().enumerate() {
        slots[(v - lo) as usize] = i as u32;
    }
    Ok(Some(UInt32Array::from_iter_values(
        slots.into_iter().filter(|&i| i != u32::MAX),
    )))
}

/// The output table: `keys` (named `name`) and the f64 `columns`, rows ordered by key (sorted
/// here unless `sorted`).
fn build(
    name: &str,
    keys: ArrayRef,
    sorted: bool,
    columns: Vec<(&str, Vec<f64>)>,
) -> KpiResult<RecordBatch> {
    let order: Option<UInt32Array> = if sorted {
        None
    } else {
        Some(match dense_order(&keys)? {
            Some(order) => order,
            None => sort_to_indices(&keys, None, None)?,
        })
    };
    let ordered = |a: ArrayRef| -> KpiResult<ArrayRef> {
        Ok(match &order {
            Some(o) => take(a.as_ref(), o, None)?,
            None => a,
        })
    };
    let mut fields = vec![Field::new(name, keys.data_type().clone(), true)];
    let mut out: Vec<ArrayRef> = vec![ordered(keys)?];
    for (name, values) in columns {
        fields.push(f64_field(name));
        out.push(ordered(Arc::new(Float64Array::from(values)))?);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), out)?)
}

/// frequency, recency, T (and monetary_value with `amount`) per customer: [`RfmSummary`]'s
/// partial state of the whole log, finished.
pub fn rfm_summary(input: &RfmInput<'_>) -> KpiResult<RecordBatch> {
    RfmSummary::finish(&RfmSummary::partial(input)?)
}
