//! RFM summaries of a transaction log, following the conventions of lifetimes'
//! `summary_data_from_transaction_data` (CONVENTIONS.md §3.1):
//!
//! - times are bucketed into periods of `freq`; transactions in the same period merge into one
//!   (their amounts summed); periods after the observation end's period are dropped;
//! - frequency = distinct purchase periods − 1 (repeat periods), recency = last − first period,
//!   T = observation end − first period, both in periods ÷ `freq_multiplier`;
//! - monetary_value = mean of the repeat (non-first) period totals, 0 without repeats.
//!
//! Computed as partial → merge → finish: each row range yields its distinct (customer, period)
//! pairs with their totals (sorted, merged within the range); pairs of all ranges merge by
//! adding totals; the finish walks each customer's periods once. Only the distinct pairs are
//! held, never a sorted copy of the log.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, RecordBatch, UInt32Array};
use arrow::compute::{sort_to_indices, take};
use arrow::datatypes::{DataType, Field, Schema};
use rayon::prelude::*;

use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::groups::{group_ids, take_rows};
use crate::core::input::{f64_chunks, require_no_nulls, value_f64, Column};
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

/// One customer's purchases in one period: the partial state.
#[derive(Debug, Clone, Copy)]
struct Pair {
    customer: u32,
    period: i64,
    total: f64,
    rows: u64,
}

/// Which rows a pass takes: wall-clock time in (after, upto], period <= last_period.
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
    let groups = group_ids(std::slice::from_ref(customer))?;
    Ok(Log {
        customer,
        time,
        amount,
        ids: groups.ids,
        first_row: groups.first_row,
    })
}

/// Partial step over rows `start..start+len`: sorted distinct pairs, and the latest time seen.
fn partial(
    log: &Log,
    spec: &RfmSpec,
    window: Window,
    start: usize,
    len: usize,
) -> KpiResult<(Vec<Pair>, Option<i64>)> {
    let times = local_micros(&log.time.slice(start, len), spec.zone)?;
    let amounts = match log.amount {
        Some(a) => Some(f64_chunks(&a.slice(start, len))?),
        None => None,
    };
    let mut bad_time = BadRows::default();
    let mut bad_amount = BadRows::default();
    let mut pairs = Vec::with_capacity(len);
    let mut latest: Option<i64> = None;
    let mut row = start;
    for (k, chunk) in times.iter().enumerate() {
        for i in 0..chunk.len() {
            let global = row;
            row += 1;
            if chunk.is_null(i) {
                bad_time.push(global, || "missing".into());
                continue;
            }
            let us = chunk.value(i);
            let total = match &amounts {
                Some(a) => match value_f64(&a[k], i) {
                    Some(v) => v,
                    None => {
                        bad_amount.push(global, || "missing".into());
                        continue;
                    }
                },
                None => 0.0,
            };
            latest = Some(latest.map_or(us, |l| l.max(us)));
            if window.after.is_some_and(|a| us <= a) || window.upto.is_some_and(|u| us > u) {
                continue;
            }
            let period = spec.unit.ordinal(us);
            if window.last_period.is_some_and(|l| period > l) {
                continue;
            }
            pairs.push(Pair {
                customer: log.ids[global],
                period,
                total,
                rows: 1,
            });
        }
    }
    KpiError::check_rows(&log.time.name, "must not be missing", bad_time)?;
    if let Some(a) = log.amount {
        KpiError::check_rows(&a.name, "must not be missing or NaN", bad_amount)?;
    }
    pairs.sort_unstable_by_key(|p| (p.customer, p.period));
    Ok((dedupe(pairs), latest))
}

/// Merge equal (customer, period) pairs of a sorted list.
fn dedupe(pairs: Vec<Pair>) -> Vec<Pair> {
    let mut out: Vec<Pair> = Vec::with_capacity(pairs.len());
    for p in pairs {
        match out.last_mut() {
            Some(last) if last.customer == p.customer && last.period == p.period => {
                last.total += p.total;
                last.rows += p.rows;
            }
            _ => out.push(p),
        }
    }
    out
}

/// Merge step: the pairs of all ranges, sorted, equal pairs combined.
fn merge(parts: Vec<Vec<Pair>>) -> Vec<Pair> {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or_default();
    }
    let mut all: Vec<Pair> = parts.into_iter().flatten().collect();
    install(|| all.par_sort_unstable_by_key(|p| (p.customer, p.period)));
    dedupe(all)
}

fn pairs(log: &Log, spec: &RfmSpec, window: Window) -> KpiResult<(Vec<Pair>, Option<i64>)> {
    let parts = map_ranges(log.ids.len(), |r| {
        partial(log, spec, window, r.start, r.end - r.start)
    })?;
    let latest = parts.iter().filter_map(|p| p.1).max();
    Ok((merge(parts.into_iter().map(|p| p.0).collect()), latest))
}

/// One customer's summary (finish step).
struct Summary {
    customer: u32,
    frequency: f64,
    recency: f64,
    t: f64,
    monetary: f64,
}

fn finish(pairs: &[Pair], end_period: i64, spec: &RfmSpec) -> Vec<Summary> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < pairs.len() {
        let c = pairs[i].customer;
        let mut j = i;
        let mut total = 0.0;
        while j < pairs.len() && pairs[j].customer == c {
            total += pairs[j].total;
            j += 1;
        }
        let (first, last) = (&pairs[i], &pairs[j - 1]);
        let periods = (j - i) as f64;
        let (frequency, monetary) = if spec.include_first {
            (periods, total / periods)
        } else if periods > 1.0 {
            (periods - 1.0, (total - first.total) / (periods - 1.0))
        } else {
            (0.0, 0.0)
        };
        out.push(Summary {
            customer: c,
            frequency,
            recency: (last.period - first.period) as f64 / spec.multiplier,
            t: (end_period - first.period) as f64 / spec.multiplier,
            monetary,
        });
        i = j;
    }
    out
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

/// Output columns for `summaries`, rows ordered by customer value.
fn build(log: &Log, summaries: &[Summary], extra: Vec<(&str, Vec<f64>)>) -> KpiResult<RecordBatch> {
    let rows: Vec<usize> = summaries
        .iter()
        .map(|s| log.first_row[s.customer as usize])
        .collect();
    let keys = take_rows(log.customer, &rows)?;
    let order: UInt32Array = sort_to_indices(&keys, None, None)?;
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
    let (pairs, latest) = pairs(&log, spec, window)?;
    let end_period = match window.last_period {
        Some(p) => p,
        None => latest.map_or(0, |l| spec.unit.ordinal(l)),
    };
    let summaries = finish(&pairs, end_period, spec);
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
    let (cal, latest) = pairs(
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
    let (hold, _) = pairs(
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
    let (mut periods, mut total, mut rows) = (vec![0.0; g], vec![0.0; g], vec![0u64; g]);
    for p in &hold {
        let c = p.customer as usize;
        periods[c] += 1.0;
        total[c] += p.total;
        rows[c] += p.rows;
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
                    if rows[c] > 0 {
                        total[c] / rows[c] as f64
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
}
