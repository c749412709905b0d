//! RFM summaries of a transaction log, following the conventions of lifetimes'
//! `summary_data_from_transaction_data` (CONVENTIONS.md §3.1):
//!
//! - times are bucketed into periods of `freq`; transactions in the same period merge into one
//!   (their amounts summed); periods after the observation end's period are dropped;
//! - frequency = distinct purchase periods − 1 (repeat periods), recency = last − first period,
//!   T = observation end − first period, both in periods ÷ `freq_multiplier`;
//! - monetary_value = mean of the repeat (non-first) period totals, 0 without repeats.
//!
//! Computed as partial → merge → finish: each row range (in parallel) yields every row's period
//! and amount; the merge buckets the rows by customer (a counting sort on dense customer ids,
//! never a sort of the whole log); each customer's few rows are then reduced to first and last
//! period, distinct periods and totals, and finished into the summary.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::{sort_to_indices, take};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use rayon::prelude::*;

use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::groups::{group_ids, take_rows};
use crate::core::input::{f64_chunks, require_no_nulls, small_int, value_f64, Column};
use crate::core::parallel::{install, map_ranges};
use crate::core::time::{local_micros, Freq, Zone};

/// The period length RFM times are counted in: a calendar period, or a fixed number of
/// microseconds (hours, minutes, seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    Calendar(Freq),
    Fixed(i64),
}

impl Unit {
    /// pandas-style aliases as lifetimes takes them: "D", "W" (weeks ending Sunday), "M", "Q",
    /// "Y", "h", "min", "s", or the words "day", "week", "month", "quarter", "year", "hour",
    /// "minute", "second".
    pub fn parse(s: &str) -> KpiResult<Unit> {
        match s.trim() {
            "h" | "H" | "hour" | "hours" => Ok(Unit::Fixed(3_600_000_000)),
            "min" | "T" | "minute" | "minutes" => Ok(Unit::Fixed(60_000_000)),
            "s" | "S" | "second" | "seconds" => Ok(Unit::Fixed(1_000_000)),
            other => Freq::parse(other, 0).map(Unit::Calendar),
        }
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

/// The checked inputs, with global customer ids.
struct Log<'a> {
    customer: &'a Column,
    time: &'a Column,
    amount: Option<&'a Column>,
    ids: Vec<u32>,
    first_row: Vec<usize>,
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
    let (ids, first_row) = match dense_ids(customer)? {
        Some(dense) => dense,
        None => {
            let groups = group_ids(std::slice::from_ref(customer))?;
            (groups.ids, groups.first_row)
        }
    };
    Ok(Log {
        customer,
        time,
        amount,
        ids,
        first_row,
    })
}

/// Integer customer ids over a short range (as [`dense_order`] allows): id = value − lowest,
/// read straight from the values instead of hashing every row. Ids that never occur have no
/// rows, so no statistics, and their `first_row` (usize::MAX) is never read.
fn dense_ids(customer: &Column) -> KpiResult<Option<(Vec<u32>, Vec<usize>)>> {
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
        for &v in c.as_primitive::<Int64Type>().values() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let limit = 4 * customer.len() as i64 + 65_536;
    let Some(span) = hi
        .checked_sub(lo)
        .and_then(|s| s.checked_add(1))
        .filter(|&s| s <= limit.min(u32::MAX as i64))
    else {
        return Ok(None);
    };
    let mut first_row = vec![usize::MAX; span as usize];
    let mut ids = Vec::with_capacity(customer.len());
    for c in &chunks {
        for &v in c.as_primitive::<Int64Type>().values() {
            let id = (v - lo) as usize;
            if first_row[id] == usize::MAX {
                first_row[id] = ids.len();
            }
            ids.push(id as u32);
        }
    }
    Ok(Some((ids, first_row)))
}

/// Marks a row the window leaves out.
const DROPPED: i64 = i64::MIN;

/// Partial step over rows `start..start+len`: each row's period (or [`DROPPED`]) and amount,
/// and the latest time seen.
type Part = (Vec<i64>, Vec<f64>, Option<i64>);

fn partial(log: &Log, spec: &RfmSpec, window: Window, start: usize, len: usize) -> KpiResult<Part> {
    let times = local_micros(&log.time.slice(start, len), spec.zone)?;
    let amounts = match log.amount {
        Some(a) => Some(f64_chunks(&a.slice(start, len))?),
        None => None,
    };
    let mut bad_time = BadRows::default();
    let mut bad_amount = BadRows::default();
    let mut periods = Vec::with_capacity(len);
    let mut values = Vec::with_capacity(if amounts.is_some() { len } else { 0 });
    let mut latest: Option<i64> = None;
    let mut row = start;
    for (k, chunk) in times.iter().enumerate() {
        for i in 0..chunk.len() {
            let global = row;
            row += 1;
            if let Some(a) = &amounts {
                match value_f64(&a[k], i) {
                    Some(v) if v.is_finite() => values.push(v),
                    // An infinite amount would make the customer's monetary value NaN.
                    Some(v) => {
                        bad_amount.push(global, || format!("{v}"));
                        values.push(0.0);
                    }
                    None => {
                        bad_amount.push(global, || "missing".into());
                        values.push(0.0);
                    }
                }
            }
            if chunk.is_null(i) {
                bad_time.push(global, || "missing".into());
                periods.push(DROPPED);
                continue;
            }
            let us = chunk.value(i);
            latest = Some(latest.map_or(us, |l| l.max(us)));
            let period = spec.unit.ordinal(us);
            let out = window.after.is_some_and(|a| us <= a)
                || window.upto.is_some_and(|u| us > u)
                || window.last_period.is_some_and(|l| period > l);
            periods.push(if out { DROPPED } else { period });
        }
    }
    KpiError::check_rows(&log.time.name, "must not be missing", bad_time)?;
    if let Some(a) = log.amount {
        KpiError::check_rows(&a.name, "must not be missing, NaN or infinite", bad_amount)?;
    }
    Ok((periods, values, latest))
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

/// Merge and reduce: the kept rows of all ranges bucketed by customer (a counting sort on the
/// dense customer ids: linear, and 16 bytes a row), then each customer's few rows sorted by
/// period (stably, so same-period amounts add in row order) and reduced, customers in
/// parallel blocks.
fn customer_stats(log: &Log, parts: Vec<Part>) -> Vec<Stats> {
    let g = log.first_row.len();
    let mut start = vec![0usize; g + 1];
    let mut row = 0;
    for (periods, _, _) in &parts {
        for p in periods {
            if *p != DROPPED {
                start[log.ids[row] as usize + 1] += 1;
            }
            row += 1;
        }
    }
    for c in 0..g {
        start[c + 1] += start[c];
    }
    let mut all: Vec<(i64, f64)> = vec![(0, 0.0); start[g]];
    let mut next = start[..g].to_vec();
    let mut row = 0;
    for (periods, values, _) in parts {
        for (i, p) in periods.into_iter().enumerate() {
            if p != DROPPED {
                let c = log.ids[row] as usize;
                all[next[c]] = (p, values.get(i).copied().unwrap_or(0.0));
                next[c] += 1;
            }
            row += 1;
        }
    }
    drop(next);
    // Blocks of whole customers of about 64k rows each.
    let mut blocks: Vec<(usize, &mut [(i64, f64)])> = Vec::new();
    let mut rest: &mut [(i64, f64)] = &mut all;
    let mut c = 0;
    while c < g {
        let from = start[c];
        let mut to = c + 1;
        while to < g && start[to + 1] - from < 65_536 {
            to += 1;
        }
        let (block, tail) = rest.split_at_mut(start[to] - from);
        blocks.push((c, block));
        rest = tail;
        c = to;
    }
    let start = &start;
    let per_block: Vec<Vec<Stats>> = install(|| {
        blocks
            .into_par_iter()
            .map(|(c0, block)| {
                let mut out = Vec::new();
                let base = start[c0];
                let mut c = c0;
                while c < g && start[c] - base < block.len() {
                    let rows = &mut block[start[c] - base..start[c + 1] - base];
                    if let Some(s) = reduce(c as u32, rows) {
                        out.push(s);
                    }
                    c += 1;
                }
                out
            })
            .collect()
    });
    per_block.into_iter().flatten().collect()
}

fn reduce(customer: u32, rows: &mut [(i64, f64)]) -> Option<Stats> {
    if rows.is_empty() {
        return None;
    }
    rows.sort_by_key(|r| r.0);
    let first = rows[0].0;
    let mut s = Stats {
        customer,
        first,
        first_total: 0.0,
        last: rows[rows.len() - 1].0,
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

fn stats(log: &Log, spec: &RfmSpec, window: Window) -> KpiResult<(Vec<Stats>, Option<i64>)> {
    let parts = map_ranges(log.ids.len(), |r| {
        partial(log, spec, window, r.start, r.end - r.start)
    })?;
    let latest = parts.iter().filter_map(|p| p.2).max();
    Ok((customer_stats(log, parts), latest))
}

/// One customer's summary (finish step).
struct Summary {
    customer: u32,
    frequency: f64,
    recency: f64,
    t: f64,
    monetary: f64,
}

fn finish(stats: &[Stats], end_period: i64, spec: &RfmSpec) -> Vec<Summary> {
    stats
        .iter()
        .map(|s| {
            let (frequency, monetary) = if spec.include_first {
                (s.periods, s.total / s.periods)
            } else if s.periods > 1.0 {
                (
                    s.periods - 1.0,
                    (s.total - s.first_total) / (s.periods - 1.0),
                )
            } else {
                (0.0, 0.0)
            };
            Summary {
                customer: s.customer,
                frequency,
                recency: (s.last - s.first) as f64 / spec.multiplier,
                t: (end_period - s.first) as f64 / spec.multiplier,
                monetary,
            }
        })
        .collect()
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

/// Output columns for `summaries`, rows ordered by customer value.
fn build(log: &Log, summaries: &[Summary], extra: Vec<(&str, Vec<f64>)>) -> KpiResult<RecordBatch> {
    let rows: Vec<usize> = summaries
        .iter()
        .map(|s| log.first_row[s.customer as usize])
        .collect();
    let keys = take_rows(log.customer, &rows)?;
    let order: UInt32Array = match dense_order(&keys)? {
        Some(order) => order,
        None => sort_to_indices(&keys, None, None)?,
    };
    let mut fields = vec![Field::new(
        &log.customer.name,
        keys.data_type().clone(),
        true,
    )];
    let mut columns: Vec<ArrayRef> = vec![take(keys.as_ref(), &order, None)?];
    let mut push = |name: &str, values: Vec<f64>| -> KpiResult<()> {
        let a = Float64Array::from(values);
        fields.push(f64_field(name));
        columns.push(take(&a, &order, None)?);
        Ok(())
    };
    push("frequency", summaries.iter().map(|s| s.frequency).collect())?;
    push("recency", summaries.iter().map(|s| s.recency).collect())?;
    push("T", summaries.iter().map(|s| s.t).collect())?;
    if log.amount.is_some() {
        push(
            "monetary_value",
            summaries.iter().map(|s| s.monetary).collect(),
        )?;
    }
    for (name, values) in extra {
        push(name, values)?;
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// frequency, recency, T (and monetary_value with `amount`) per customer. `observation_end`
/// is a wall-clock time in microseconds in `spec.zone` (default: the latest transaction).
pub fn rfm_summary(
    customer: &Column,
    time: &Column,
    amount: Option<&Column>,
    spec: &RfmSpec,
    observation_end: Option<i64>,
) -> KpiResult<RecordBatch> {
    check_spec(spec)?;
    let log = prepare(customer, time, amount)?;
    let window = Window {
        last_period: observation_end.map(|e| spec.unit.ordinal(e)),
        ..Window::default()
    };
    let (stats, latest) = stats(&log, spec, window)?;
    let end_period = match window.last_period {
        Some(p) => p,
        None => latest.map_or(0, |l| spec.unit.ordinal(l)),
    };
    let summaries = finish(&stats, end_period, spec);
    build(&log, &summaries, vec![])
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
    let summaries = finish(&cal, cal_period, spec);
    let g = log.first_row.len();
    let (mut periods, mut total, mut rows) = (vec![0.0; g], vec![0.0; g], vec![0.0; g]);
    for h in &hold {
        let c = h.customer as usize;
        periods[c] = h.periods;
        total[c] = h.total;
        rows[c] = h.rows;
    }
    let duration = (spec.unit.ordinal(end) - cal_period) as f64 / spec.multiplier;
    let mut extra = vec![(
        "frequency_holdout",
        summaries
            .iter()
            .map(|s| periods[s.customer as usize])
            .collect(),
    )];
    if amount.is_some() {
        extra.push((
            "monetary_value_holdout",
            summaries
                .iter()
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
    extra.push(("duration_holdout", vec![duration; summaries.len()]));
    build(&log, &summaries, extra)
}

// ------------------------------------------------------------------------------------------
// Per-partition states for distributed RFM (kpikit.dask.rfm_summary): each partition holds
// all rows of its customers (shuffled on customer), reduces them to per-customer statistics
// and its latest time; the finish step concatenates the states and computes T from the
// latest time over all partitions (or the observation end).

const STATE_COLUMNS: [&str; 5] = ["first", "first_total", "last", "periods", "total"];
const LATEST_KEY: &str = "kpikit.rfm_latest";
const AMOUNT_KEY: &str = "kpikit.rfm_amount";

/// The partial state of one partition: its customers with first and last period, distinct
/// periods, first-period and all-period totals; the latest time (microseconds, wall clock in
/// `spec.zone`) and whether amounts were given, as metadata.
pub fn rfm_state(
    customer: &Column,
    time: &Column,
    amount: Option<&Column>,
    spec: &RfmSpec,
    observation_end: Option<i64>,
) -> KpiResult<RecordBatch> {
    let log = prepare(customer, time, amount)?;
    let window = Window {
        last_period: observation_end.map(|e| spec.unit.ordinal(e)),
        ..Window::default()
    };
    let (stats, latest) = stats(&log, spec, window)?;
    let rows: Vec<usize> = stats
        .iter()
        .map(|s| log.first_row[s.customer as usize])
        .collect();
    let keys = take_rows(log.customer, &rows)?;
    let mut meta = std::collections::HashMap::new();
    meta.insert(
        LATEST_KEY.to_string(),
        latest.map_or(String::new(), |l| l.to_string()),
    );
    meta.insert(AMOUNT_KEY.to_string(), amount.is_some().to_string());
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
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}

/// Merge and finish the partitions' states into the summary of [`rfm_summary`]. A customer in
/// two states means the log was not split by customer: an error, since distinct periods
/// cannot be added up.
pub fn finish_rfm(
    states: &[RecordBatch],
    spec: &RfmSpec,
    observation_end: Option<i64>,
) -> KpiResult<RecordBatch> {
    check_spec(spec)?;
    let Some(first) = states.first() else {
        return Err(KpiError::param(
            "states",
            "at least one partial state is needed",
        ));
    };
    let meta = |b: &RecordBatch, k: &str| -> KpiResult<String> {
        b.schema().metadata().get(k).cloned().ok_or_else(|| {
            KpiError::param("states", format!("not an RFM state (no {k:?} metadata)"))
        })
    };
    let has_amount = meta(first, AMOUNT_KEY)? == "true";
    let mut latest: Option<i64> = None;
    for b in states {
        let l = meta(b, LATEST_KEY)?;
        if !l.is_empty() {
            let v: i64 = l
                .parse()
                .map_err(|_| KpiError::param("states", "bad latest-time metadata"))?;
            latest = Some(latest.map_or(v, |m| m.max(v)));
        }
    }
    let schema = first.schema();
    let plain = Arc::new(Schema::new(schema.fields().clone()));
    let batches: Vec<RecordBatch> = states
        .iter()
        .map(|b| RecordBatch::try_new(plain.clone(), b.columns().to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| KpiError::param("states", format!("states differ in columns: {e}")))?;
    let all = arrow::compute::concat_batches(&plain, &batches)?;
    let name = schema.field(0).name().clone();
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
    let col_i64 = |i: usize| all.column(i).as_primitive::<Int64Type>().values().to_vec();
    let col_f64 = |i: usize| {
        all.column(i)
            .as_primitive::<Float64Type>()
            .values()
            .to_vec()
    };
    let (f, ft, l, p, t) = (col_i64(1), col_f64(2), col_i64(3), col_f64(4), col_f64(5));
    let stats: Vec<Stats> = (0..all.num_rows())
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
    let end_period = match observation_end {
        Some(e) => spec.unit.ordinal(e),
        None => latest.map_or(0, |l| spec.unit.ordinal(l)),
    };
    let summaries = finish(&stats, end_period, spec);
    let amount_col = Column::from_array("amount", Arc::new(Float64Array::from(vec![0.0; 0])));
    let log = Log {
        customer: &keys,
        time: &keys,
        amount: has_amount.then_some(&amount_col),
        ids: vec![],
        first_row: (0..all.num_rows()).collect(),
    };
    build(&log, &summaries, vec![])
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::Float64Type;

    const DAY: i64 = 86_400_000_000;

    fn spec() -> RfmSpec {
        RfmSpec {
            unit: Unit::parse("D").unwrap(),
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
        let out = rfm_summary(&customer, &time, Some(&amount), &spec(), None).unwrap();
        assert_eq!(col(&out, "frequency"), vec![2.0, 0.0]);
        assert_eq!(col(&out, "recency"), vec![7.0, 0.0]);
        assert_eq!(col(&out, "T"), vec![7.0, 5.0]);
        assert_eq!(col(&out, "monetary_value"), vec![30.0, 0.0]);
        // Ending on day 3 drops the day-7 purchase: a has periods {0, 3}.
        let out = rfm_summary(&customer, &time, Some(&amount), &spec(), Some(3 * DAY)).unwrap();
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
            let out = rfm_summary(&customer, &time, None, &spec(), None).unwrap();
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
            .map(|(c, t, a)| rfm_state(c, t, Some(a), &spec(), None).unwrap())
            .collect();
        let out = finish_rfm(&states, &spec(), None).unwrap();
        assert_eq!(col_of(&out, "frequency"), vec![2.0, 0.0]);
        assert_eq!(col_of(&out, "recency"), vec![7.0, 0.0]);
        assert_eq!(col_of(&out, "T"), vec![7.0, 5.0]);
        assert_eq!(col_of(&out, "monetary_value"), vec![30.0, 0.0]);
        // The same customer in two states: refused, naming the column.
        let again = rfm_state(&p1.0, &p1.1, Some(&p1.2), &spec(), None).unwrap();
        let err = finish_rfm(&[states[1].clone(), again], &spec(), None).unwrap_err();
        assert!(err.to_string().contains("one partition"), "{err}");
    }

    fn col_of(b: &RecordBatch, name: &str) -> Vec<f64> {
        col(b, name)
    }
}
