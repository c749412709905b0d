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
//! periods and totals, and the finish step turns those into the summary.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::{sort_to_indices, take};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use rayon::prelude::*;

use crate::core::engine::groups::{group_ids, take_rows};
use crate::core::engine::parallel::{install, map_ranges};
use crate::core::engine::state::{meta, with_metadata, Analysis, MergeInput, Meta};
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{local_micros, Freq, Zone};
use crate::core::input::{f64_chunks, require_no_nulls, small_int, value_f64, Column};

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

fn prepare<'a>(
    customer: &'a Column,
    time: &'a Column,
    amount: Option<&'a Column>,
) -> KpiResult<Log<'a>> {
    let n = customer.len();
    for other in std::iter::once(time).chain(amount) {
        if other.len() != n {
            return Err(KpiError::LengthMismatch {
                left: customer.name.clone(),
                left_len: n,
                right: other.name.clone(),
                right_len: other.len(),
            });
        }
    }
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

/// The calibration summary (transactions up to `calibration_end`, as [`rfm_summary`] with that
/// observation end) of every customer first seen by then, plus the holdout columns over
/// (calibration_end, observation_end]: `frequency_holdout` (distinct purchase periods),
/// `monetary_value_holdout` (mean transaction amount, as lifetimes) and `duration_holdout`
/// (periods between the two ends ÷ multiplier).
pub fn rfm_split(
    customer: &Column,
    time: &Column,
    amount: Option<&Column>,
    spec: &RfmSpec,
    calibration_end: i64,
    observation_end: Option<i64>,
) -> KpiResult<RecordBatch> {
    check_spec(spec)?;
    let log = prepare(customer, time, amount)?;
    let cal_period = spec.unit.ordinal(calibration_end);
    let (cal, latest) = stats(
        &log,
        spec,
        Window {
            upto: Some(calibration_end),
            ..Window::default()
        },
    )?;
    let end = observation_end.or(latest).unwrap_or(calibration_end);
    if end <= calibration_end {
        return Err(KpiError::param(
            "observation_end",
            "must be after calibration_end (the holdout period would be empty)",
        ));
    }
    let (hold, _) = stats(
        &log,
        spec,
        Window {
            after: Some(calibration_end),
            upto: Some(end),
            last_period: None,
        },
    )?;
    let g = log.groups;
    let (mut periods, mut total, mut rows) = (vec![0.0; g], vec![0.0; g], vec![0.0; g]);
    for h in hold.iter().flatten() {
        let c = h.customer as usize;
        periods[c] = h.periods;
        total[c] = h.total;
        rows[c] = h.rows;
    }
    drop(hold);
    let mut columns = finish(&cal, cal_period, spec, amount.is_some());
    let (keys, sorted) = customer_keys(&log, &cal)?;
    let cal = cal.iter().flatten();
    let duration = (spec.unit.ordinal(end) - cal_period) as f64 / spec.multiplier;
    columns.push((
        "frequency_holdout",
        cal.clone().map(|s| periods[s.customer as usize]).collect(),
    ));
    if amount.is_some() {
        columns.push((
            "monetary_value_holdout",
            cal.clone()
                .map(|s| {
                    let c = s.customer as usize;
                    if rows[c] > 0.0 {
                        total[c] / rows[c]
                    } else {
                        0.0
                    }
                })
                .collect(),
        ));
    }
    columns.push(("duration_holdout", vec![duration; cal.count()]));
    build(&customer.name, keys, sorted, columns)
}

// ------------------------------------------------------------------------------------------
// The RFM summary as an analysis of the partial → merge → finish protocol
// (docs/architecture.md (partial state → merge → finish)). A state holds one row per customer
// (first and last period, distinct periods, first-period and all-period totals) and the
// latest time of its rows. Distinct periods cannot be added up, so every customer's rows must
// be in one partition (the Dask driver shuffles on the customer): states then hold disjoint
// customers, and their merge, a concatenation, is exact.

const STATE_COLUMNS: [&str; 5] = ["first", "first_total", "last", "periods", "total"];
/// Latest transaction time of the state's rows (wall-clock microseconds), empty without rows.
const LATEST_KEY: &str = "kpikit.rfm_summary.latest";
/// Whether the rows had amounts (adds `monetary_value`).
const AMOUNT_KEY: &str = "kpikit.rfm_summary.amount";
/// The finish settings: `freq_multiplier`, `include_first`, `observation_end` (wall-clock
/// microseconds, empty for the latest time) and the zone (so that states of different zones
/// do not merge).
const MULTIPLIER_KEY: &str = "kpikit.rfm_summary.freq_multiplier";
const INCLUDE_FIRST_KEY: &str = "kpikit.rfm_summary.include_first";
const END_KEY: &str = "kpikit.rfm_summary.observation_end";
const ZONE_KEY: &str = "kpikit.rfm_summary.tz";
/// Whether the state's customers are in ascending key order already (a partial state of
/// dense integer keys), which spares the finish a sort.
const SORTED_KEY: &str = "kpikit.rfm_summary.sorted";

/// The columns and settings of [`RfmSummary`]'s partial step. `observation_end` is a
/// wall-clock time in microseconds in `spec.zone` (default: the latest transaction).
#[derive(Clone, Copy)]
pub struct RfmInput<'a> {
    pub customer: &'a Column,
    pub time: &'a Column,
    pub amount: Option<&'a Column>,
    pub spec: RfmSpec,
    pub observation_end: Option<i64>,
}

/// `kpikit.rfm_summary`: frequency, recency, T (and monetary_value) per customer.
pub struct RfmSummary;

impl Analysis for RfmSummary {
    const NAME: &'static str = "rfm_summary";
    type Input<'a> = RfmInput<'a>;

    fn partial(input: &RfmInput<'_>) -> KpiResult<RecordBatch> {
        let spec = &input.spec;
        check_spec(spec)?;
        let log = prepare(input.customer, input.time, input.amount)?;
        let window = Window {
            last_period: input.observation_end.map(|e| spec.unit.ordinal(e)),
            ..Window::default()
        };
        let (stats, latest) = stats(&log, spec, window)?;
        let (keys, sorted) = customer_keys(&log, &stats)?;
        let stats: Vec<Stats> = stats.into_iter().flatten().collect();
        let text = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
        let metadata = HashMap::from([
            (meta::ANALYSIS.to_string(), Self::NAME.to_string()),
            (meta::FREQ.to_string(), spec.unit.label()),
            (meta::SKIPPED_ROWS.to_string(), "0".to_string()),
            (MULTIPLIER_KEY.to_string(), spec.multiplier.to_string()),
            (
                INCLUDE_FIRST_KEY.to_string(),
                spec.include_first.to_string(),
            ),
            (END_KEY.to_string(), text(input.observation_end)),
            (ZONE_KEY.to_string(), format!("{:?}", spec.zone)),
            (LATEST_KEY.to_string(), text(latest)),
            (AMOUNT_KEY.to_string(), input.amount.is_some().to_string()),
            (SORTED_KEY.to_string(), sorted.to_string()),
        ]);
        let fields = vec![
            Field::new(&log.customer.name, keys.data_type().clone(), true),
            Field::new(STATE_COLUMNS[0], DataType::Int64, false),
            f64_field(STATE_COLUMNS[1]),
            Field::new(STATE_COLUMNS[2], DataType::Int64, false),
            f64_field(STATE_COLUMNS[3]),
            f64_field(STATE_COLUMNS[4]),
        ];
        let columns: Vec<ArrayRef> = vec![
            keys,
            Arc::new(Int64Array::from_iter_values(stats.iter().map(|s| s.first))),
            Arc::new(Float64Array::from_iter_values(
                stats.iter().map(|s| s.first_total),
            )),
            Arc::new(Int64Array::from_iter_values(stats.iter().map(|s| s.last))),
            Arc::new(Float64Array::from_iter_values(
                stats.iter().map(|s| s.periods),
            )),
            Arc::new(Float64Array::from_iter_values(
                stats.iter().map(|s| s.total),
            )),
        ];
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new_with_metadata(fields, metadata)),
            columns,
        )?)
    }

    /// The states concatenated, the latest time the latest of theirs. A customer in two states
    /// means the log was not split by customer: an error naming the column, since distinct
    /// periods cannot be added up.
    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        let input = MergeInput::check(states, Self::NAME, &[LATEST_KEY, SORTED_KEY])?;
        let mut latest: Option<i64> = None;
        for s in states {
            let schema = s.schema();
            let l: Option<i64> = Meta::of(&schema, Self::NAME)?.parse_opt(LATEST_KEY)?;
            latest = latest.max(l);
        }
        let plain = input.plain[0].schema();
        let all = arrow::compute::concat_batches(&plain, &input.plain)
            .map_err(|e| KpiError::param("states", format!("states differ in columns: {e}")))?;
        let name = plain.field(0).name().clone();
        let keys = Column::from_array(&name, all.column(0).clone());
        let groups = group_ids(std::slice::from_ref(&keys))?;
        if groups.first_row.len() != all.num_rows() {
            let mut seen = vec![false; groups.first_row.len()];
            let mut bad = BadRows::default();
            for (row, id) in groups.ids.iter().enumerate() {
                if std::mem::replace(&mut seen[*id as usize], true) {
                    bad.push(row, || "in two partitions".to_string());
                }
            }
            KpiError::check_rows(
                &name,
                "must have all its rows in one partition (shuffle on the customer column first)",
                bad,
            )?;
        }
        let sorted =
            states.len() == 1 && Meta::of(&states[0].schema(), Self::NAME)?.parse(SORTED_KEY)?;
        input.finish(
            all,
            &[
                (LATEST_KEY, latest.map_or(String::new(), |l| l.to_string())),
                (SORTED_KEY, sorted.to_string()),
            ],
        )
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        let schema = state.schema();
        let m = Meta::of(&schema, Self::NAME)?;
        let spec = RfmSpec {
            unit: Unit::from_label(m.get(meta::FREQ)?)?,
            multiplier: m.parse(MULTIPLIER_KEY)?,
            include_first: m.parse(INCLUDE_FIRST_KEY)?,
            // Not read by the finish: times in the state are wall-clock already.
            zone: Zone::Utc,
        };
        check_spec(&spec)?;
        let observation_end: Option<i64> = m.parse_opt(END_KEY)?;
        let latest: Option<i64> = m.parse_opt(LATEST_KEY)?;
        let has_amount: bool = m.parse(AMOUNT_KEY)?;
        let sorted: bool = m.parse(SORTED_KEY)?;
        if state.num_columns() != 1 + STATE_COLUMNS.len()
            || STATE_COLUMNS
                .iter()
                .enumerate()
                .any(|(i, c)| schema.field(i + 1).name() != c)
        {
            return Err(KpiError::param(
                "state",
                "not an rfm_summary state (columns)",
            ));
        }
        let int = |i: usize| {
            state
                .column(i)
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| KpiError::param("state", "not an rfm_summary state (column types)"))
        };
        let float = |i: usize| {
            state
                .column(i)
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| KpiError::param("state", "not an rfm_summary state (column types)"))
        };
        let (f, ft, l, p, t) = (
            int(1)?.values(),
            float(2)?.values(),
            int(3)?.values(),
            float(4)?.values(),
            float(5)?.values(),
        );
        let stats: Vec<Stats> = (0..state.num_rows())
            .map(|i| Stats {
                customer: i as u32,
                first: f[i],
                first_total: ft[i],
                last: l[i],
                periods: p[i],
                total: t[i],
                rows: 0.0,
            })
            .collect();
        let end_period = match observation_end.or(latest) {
            Some(e) => spec.unit.ordinal(e),
            None => 0,
        };
        let columns = finish(&[stats], end_period, &spec, has_amount);
        let out = build(
            schema.field(0).name(),
            state.column(0).clone(),
            sorted,
            columns,
        )?;
        // Rows left out before the partial step (`invalid="skip"`) are reported through the
        // result's metadata, the one channel for them (docs/vocabulary.md).
        match m.skipped_rows()? {
            0 => Ok(out),
            n => with_metadata(
                out,
                HashMap::from([(meta::SKIPPED_ROWS.to_string(), n.to_string())]),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::Float64Type;

    use crate::core::engine::analyses;

    const DAY: i64 = 86_400_000_000;

    fn input<'a>(
        customer: &'a Column,
        time: &'a Column,
        amount: Option<&'a Column>,
        spec: &RfmSpec,
        observation_end: Option<i64>,
    ) -> RfmInput<'a> {
        RfmInput {
            customer,
            time,
            amount,
            spec: *spec,
            observation_end,
        }
    }

    fn summary(
        customer: &Column,
        time: &Column,
        amount: Option<&Column>,
        spec: &RfmSpec,
        observation_end: Option<i64>,
    ) -> KpiResult<RecordBatch> {
        rfm_summary(&input(customer, time, amount, spec, observation_end))
    }

    fn spec() -> RfmSpec {
        RfmSpec {
            unit: Unit::Calendar(Freq::Day),
            multiplier: 1.0,
            include_first: false,
            zone: Zone::Utc,
        }
    }

    fn col(b: &RecordBatch, name: &str) -> Vec<f64> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Float64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn same_day_purchases_merge_and_first_period_is_not_counted() {
        // Customer a: day 0 (10 + 5), day 3 (20), day 7 (40); b: day 2 only. End = day 7.
        // a: periods {0, 3, 7} → frequency 2, recency 7, T 7, monetary (20 + 40) / 2 = 30.
        // b: frequency 0, recency 0, T 5, monetary 0.
        let customer = Column::from_array(
            "customer",
            Arc::new(StringArray::from(vec!["a", "a", "b", "a", "a"])),
        );
        let time = Column::from_array(
            "time",
            Arc::new(TimestampMicrosecondArray::from(vec![
                DAY / 2,
                DAY / 3,
                2 * DAY,
                3 * DAY,
                7 * DAY + 5,
            ])),
        );
        let amount = Column::from_array(
            "amount",
            Arc::new(Float64Array::from(vec![10.0, 5.0, 99.0, 20.0, 40.0])),
        );
        let out = summary(&customer, &time, Some(&amount), &spec(), None).unwrap();
        assert_eq!(col(&out, "frequency"), vec![2.0, 0.0]);
        assert_eq!(col(&out, "recency"), vec![7.0, 0.0]);
        assert_eq!(col(&out, "T"), vec![7.0, 5.0]);
        assert_eq!(col(&out, "monetary_value"), vec![30.0, 0.0]);
        // Ending on day 3 drops the day-7 purchase: a has periods {0, 3}.
        let out = summary(&customer, &time, Some(&amount), &spec(), Some(3 * DAY)).unwrap();
        assert_eq!(col(&out, "frequency"), vec![1.0, 0.0]);
        assert_eq!(col(&out, "T"), vec![3.0, 1.0]);
        assert_eq!(col(&out, "monetary_value"), vec![20.0, 0.0]);
    }

    #[test]
    fn integer_customers_come_out_in_ascending_order() {
        // Customers first seen in the order 7, −3, 2, 5 (dense range: counting placement) and
        // 10^12, −4 (span too wide: comparison sort); each buys on day 0 and day k.
        use arrow::array::Int64Array;
        for ids in [vec![7i64, -3, 2, 5], vec![1_000_000_000_000, -4]] {
            let mut c = vec![];
            let mut t = vec![];
            for (k, id) in ids.iter().enumerate() {
                c.extend([*id, *id]);
                t.extend([0, (k as i64 + 1) * DAY]);
            }
            let customer = Column::from_array("customer", Arc::new(Int64Array::from(c)));
            let time = Column::from_array("time", Arc::new(TimestampMicrosecondArray::from(t)));
            let out = summary(&customer, &time, None, &spec(), None).unwrap();
            let got: Vec<i64> = out.column(0).as_primitive::<Int64Type>().values().to_vec();
            let mut want = ids.clone();
            want.sort();
            assert_eq!(got, want);
            // Customer ids[k] bought on day k + 1: recency k + 1 follows its row.
            let recency = col(&out, "recency");
            for (row, id) in got.iter().enumerate() {
                let k = ids.iter().position(|v| v == id).unwrap();
                assert_eq!(recency[row], (k + 1) as f64);
            }
        }
    }

    #[test]
    fn states_per_customer_partition_finish_to_the_summary() {
        // Partition 1 holds a (days 0, 0, 3, 7), partition 2 holds b (day 2). The latest day
        // (7) is only in partition 1, yet b's T counts to it: T_b = 7 − 2 = 5.
        let col = |name: &str, a: ArrayRef| Column::from_array(name, a);
        let p1 = (
            col(
                "customer",
                Arc::new(StringArray::from(vec!["a", "a", "a", "a"])),
            ),
            col(
                "time",
                Arc::new(TimestampMicrosecondArray::from(vec![
                    DAY / 2,
                    DAY / 3,
                    3 * DAY,
                    7 * DAY,
                ])),
            ),
            col(
                "amount",
                Arc::new(Float64Array::from(vec![10.0, 5.0, 20.0, 40.0])),
            ),
        );
        let p2 = (
            col("customer", Arc::new(StringArray::from(vec!["b"]))),
            col(
                "time",
                Arc::new(TimestampMicrosecondArray::from(vec![2 * DAY])),
            ),
            col("amount", Arc::new(Float64Array::from(vec![99.0]))),
        );
        let states: Vec<RecordBatch> = [&p2, &p1]
            .iter()
            .map(|(c, t, a)| RfmSummary::partial(&input(c, t, Some(a), &spec(), None)).unwrap())
            .collect();
        let out = analyses::finish(&analyses::merge(&states).unwrap()).unwrap();
        assert_eq!(col_of(&out, "frequency"), vec![2.0, 0.0]);
        assert_eq!(col_of(&out, "recency"), vec![7.0, 0.0]);
        assert_eq!(col_of(&out, "T"), vec![7.0, 5.0]);
        assert_eq!(col_of(&out, "monetary_value"), vec![30.0, 0.0]);
        // The same customer in two states: refused, naming the column.
        let again = RfmSummary::partial(&input(&p1.0, &p1.1, Some(&p1.2), &spec(), None)).unwrap();
        let err = analyses::merge(&[states[1].clone(), again]).unwrap_err();
        assert!(err.to_string().contains("one partition"), "{err}");
        // States of other settings do not merge; another analysis' finish refuses the state.
        let weekly = RfmSpec {
            unit: Unit::Calendar(Freq::Week { week_start: 0 }),
            ..spec()
        };
        let week = RfmSummary::partial(&input(&p2.0, &p2.1, Some(&p2.2), &weekly, None)).unwrap();
        let err = analyses::merge(&[states[1].clone(), week]).unwrap_err();
        assert!(err.to_string().contains("kpikit.freq"), "{err}");
        let err = crate::core::kernels::survey::Nps::finish(&states[0]).unwrap_err();
        assert!(err.to_string().contains("not a nps state"), "{err}");
    }

    fn col_of(b: &RecordBatch, name: &str) -> Vec<f64> {
        col(b, name)
    }

    // ---- Property: the partitioned kernel against a plain per-customer reference ----------

    use std::collections::BTreeMap;

    /// A customer key in its own order: (value, "") for integers, (0, text) for strings.
    type Key = (i64, String);

    fn shown(k: &Key) -> String {
        if k.1.is_empty() {
            k.0.to_string()
        } else {
            k.1.clone()
        }
    }

    /// Per customer, period → amounts in row order, of the rows with `after < time <= upto`
    /// and period <= `last_period`.
    type Ref = BTreeMap<Key, BTreeMap<i64, Vec<f64>>>;

    fn reference(
        keys: &[Key],
        times: &[i64],
        amounts: &[f64],
        after: Option<i64>,
        upto: Option<i64>,
        last_period: Option<i64>,
    ) -> Ref {
        let mut out = Ref::new();
        for i in 0..keys.len() {
            let (t, p) = (times[i], times[i].div_euclid(DAY));
            if after.is_some_and(|a| t <= a)
                || upto.is_some_and(|u| t > u)
                || last_period.is_some_and(|l| p > l)
            {
                continue;
            }
            out.entry(keys[i].clone())
                .or_default()
                .entry(p)
                .or_default()
                .push(amounts[i]);
        }
        out
    }

    /// Expected (frequency, recency, T, monetary_value) of one customer, straight from the
    /// definitions (docs/conventions.md#rfm-summaries).
    fn expected(periods: &BTreeMap<i64, Vec<f64>>, end: i64, m: f64, first: bool) -> [f64; 4] {
        let totals: Vec<f64> = periods.values().map(|v| v.iter().sum()).collect();
        let (p0, p1) = (
            *periods.keys().next().unwrap(),
            *periods.keys().last().unwrap(),
        );
        let n = totals.len() as f64;
        let (f, mv) = if first {
            (n, totals.iter().sum::<f64>() / n)
        } else if n > 1.0 {
            (n - 1.0, totals[1..].iter().sum::<f64>() / (n - 1.0))
        } else {
            (0.0, 0.0)
        };
        [f, (p1 - p0) as f64 / m, (end - p0) as f64 / m, mv]
    }

    /// The output's customer column as text, checking it is ascending in its own type.
    fn out_keys(b: &RecordBatch) -> Vec<String> {
        let c = b.column(0);
        let keys: Vec<String> = match c.data_type() {
            DataType::Utf8 => {
                let v: Vec<String> = c
                    .as_string::<i32>()
                    .iter()
                    .map(|s| s.unwrap().to_string())
                    .collect();
                assert!(v.windows(2).all(|w| w[0] < w[1]), "{v:?}");
                v
            }
            _ => {
                let c = arrow::compute::cast(c, &DataType::Int64).unwrap();
                let v = c.as_primitive::<Int64Type>().values().to_vec();
                assert!(v.windows(2).all(|w| w[0] < w[1]), "{v:?}");
                v.iter().map(|x| x.to_string()).collect()
            }
        };
        keys
    }

    /// Customer keys of kind 0 (dense Int64 with negatives), 1 (Int64 spread too wide for
    /// dense ids), 2 (strings), 3 (dense Int32).
    fn key_column(kind: u8, ks: &[i64]) -> (Column, Vec<Key>) {
        let value = |k: i64| match kind {
            0 | 3 => k - 5,
            1 => k * 1_000_000_000_000 - 7,
            _ => k,
        };
        let text: Vec<Key> = ks
            .iter()
            .map(|&k| match kind {
                2 => (0, format!("c{k}")),
                _ => (value(k), String::new()),
            })
            .collect();
        let array: ArrayRef = match kind {
            2 => Arc::new(StringArray::from_iter_values(text.iter().map(|k| &k.1))),
            3 => Arc::new(arrow::array::Int32Array::from_iter_values(
                ks.iter().map(|&k| value(k) as i32),
            )),
            _ => Arc::new(Int64Array::from_iter_values(ks.iter().map(|&k| value(k)))),
        };
        (Column::from_array("customer", array), text)
    }

    fn check_log(
        kind: u8,
        ks: &[i64],
        times: &[i64],
        amounts: &[f64],
        include_first: bool,
        end_day: Option<i64>,
        cal_day: i64,
    ) {
        let (customer, text) = key_column(kind, ks);
        let time = Column::from_array(
            "time",
            Arc::new(TimestampMicrosecondArray::from(times.to_vec())),
        );
        let amount = Column::from_array("amount", Arc::new(Float64Array::from(amounts.to_vec())));
        let spec = RfmSpec {
            multiplier: 2.0,
            include_first,
            ..spec()
        };
        let latest = *times.iter().max().unwrap();
        // rfm_summary, observation end at the end of `end_day` (or the latest time).
        let obs = end_day.map(|d| d * DAY + DAY - 1);
        let out = summary(&customer, &time, Some(&amount), &spec, obs).unwrap();
        let want = reference(&text, times, amounts, None, None, end_day);
        let end = end_day.unwrap_or(latest.div_euclid(DAY));
        let got_keys = out_keys(&out);
        assert_eq!(got_keys, want.keys().map(shown).collect::<Vec<_>>());
        let cols = ["frequency", "recency", "T", "monetary_value"].map(|c| col(&out, c));
        for (row, periods) in want.values().enumerate() {
            let e = expected(periods, end, 2.0, include_first);
            for k in 0..4 {
                assert_eq!(cols[k][row], e[k], "column {k}, row {row}");
            }
        }
        // Split by customer into three partitions (as the Dask driver's shuffle does), a state
        // each, merged and finished through the registry: the one-pass table, exactly.
        let part_of = |k: i64| k.rem_euclid(3) as usize;
        let states: Vec<RecordBatch> = (0..3)
            .map(|p| {
                let rows: Vec<usize> = (0..ks.len()).filter(|&i| part_of(ks[i]) == p).collect();
                let pick = |c: &Column| Column::from_array(&c.name, take_rows(c, &rows).unwrap());
                let (c, t, a) = (pick(&customer), pick(&time), pick(&amount));
                RfmSummary::partial(&input(&c, &t, Some(&a), &spec, obs)).unwrap()
            })
            .collect();
        let merged = analyses::finish(&analyses::merge(&states).unwrap()).unwrap();
        assert_eq!(merged, out);
        // rfm_split: calibration up to the end of `cal_day`, holdout to the latest time.
        let cal_end = cal_day * DAY + DAY - 1;
        if latest <= cal_end {
            return;
        }
        let out = rfm_split(&customer, &time, Some(&amount), &spec, cal_end, None).unwrap();
        let cal = reference(&text, times, amounts, None, Some(cal_end), None);
        let hold = reference(&text, times, amounts, Some(cal_end), Some(latest), None);
        assert_eq!(out_keys(&out), cal.keys().map(shown).collect::<Vec<_>>());
        let names = [
            "frequency",
            "recency",
            "T",
            "monetary_value",
            "frequency_holdout",
            "monetary_value_holdout",
            "duration_holdout",
        ];
        let cols = names.map(|c| col(&out, c));
        for (row, (key, periods)) in cal.iter().enumerate() {
            let e = expected(periods, cal_day, 2.0, include_first);
            let h = hold.get(key);
            let rows = h.map_or(0, |h| h.values().map(|v| v.len()).sum::<usize>());
            let total: f64 = h.map_or(0.0, |h| h.values().flatten().sum());
            let want = [
                e[0],
                e[1],
                e[2],
                e[3],
                h.map_or(0.0, |h| h.len() as f64),
                if rows > 0 { total / rows as f64 } else { 0.0 },
                (latest.div_euclid(DAY) - cal_day) as f64 / 2.0,
            ];
            for k in 0..names.len() {
                assert_eq!(cols[k][row], want[k], "{}, row {row}", names[k]);
            }
        }
    }

    proptest::proptest! {
        // Unordered logs with same-day repeats, over dense, spread, text and Int32 keys, with
        // 1 to 16,384 rows per partition (many partitions, customers split across them).
        #[test]
        fn partitioned_kernel_matches_a_per_customer_reference(
            rows in proptest::collection::vec((0i64..40, -30i64..24 * 20, -8i64..400), 1..120),
            kind in 0u8..4,
            part in proptest::sample::select(vec![1usize, 2, 5, 16_384]),
            include_first in proptest::bool::ANY,
            end_day in proptest::option::of(-1i64..20),
            cal_day in 0i64..15,
        ) {
            PART_ROWS.with(|c| c.set(part));
            let ks: Vec<i64> = rows.iter().map(|r| r.0).collect();
            // Hours from day 0 (some before 1970), amounts in quarters: sums are exact.
            let times: Vec<i64> = rows.iter().map(|r| r.1 * 3_600_000_000).collect();
            let amounts: Vec<f64> = rows.iter().map(|r| r.2 as f64 / 4.0).collect();
            let end_day = end_day.filter(|&d| {
                times.iter().any(|t| t.div_euclid(DAY) <= d)
            });
            check_log(kind, &ks, &times, &amounts, include_first, end_day, cal_day);
        }
    }

    #[test]
    fn many_ranges_and_partitions_match_the_reference() {
        // 400,000 rows (several row ranges of the parallel split) of 150,000 customers in
        // scrambled order, about 600 partitions: every customer's rows come from several
        // ranges, and same-day repeats merge across them.
        let n = 400_000u64;
        let mix = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
        let ks: Vec<i64> = (0..n).map(|i| (mix(i) % 150_000) as i64).collect();
        let times: Vec<i64> = (0..n)
            .map(|i| (mix(i + n) % (60 * 24)) as i64 * 3_600_000_000)
            .collect();
        let amounts: Vec<f64> = (0..n)
            .map(|i| (mix(i + 2 * n) % 1000) as f64 / 4.0)
            .collect();
        PART_ROWS.with(|c| c.set(1_000));
        for kind in [0, 2] {
            check_log(kind, &ks, &times, &amounts, false, Some(40), 30);
        }
    }
}
