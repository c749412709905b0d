//! Reading a revenue input: the two shapes (snapshots, subscriptions), checked and reduced to
//! integer cents and period ordinals once per call.

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use hashbrown::HashMap;

use super::conventions::*;
use crate::core::engine::groups::{group_ids, Groups};
use crate::core::engine::parallel::fill_ranges;
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{local_micros, DayOrdinals, Freq, Zone, US_PER_DAY};
use crate::core::input::{check_same_len, f64_chunks, require_no_nulls, value_f64, Column, Table};

/// How subscriptions are read into a period's MRR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snapshot {
    /// MRR active at the last instant of the period (the default; Recurly, PostHog, Stripe's
    /// end-of-month MRR).
    End,
    /// MRR averaged over the period, by the covered fraction of it.
    Average,
}

impl Snapshot {
    pub fn parse(s: &str) -> KpiResult<Snapshot> {
        match s {
            "end" => Ok(Snapshot::End),
            "average" => Ok(Snapshot::Average),
            _ => Err(KpiError::param(
                "snapshot",
                format!("{s:?} is not one of \"end\", \"average\""),
            )),
        }
    }
}

/// What to do with several snapshot rows of one customer in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// An error naming the rows (the default): a repeated row is usually an export mistake.
    Raise,
    /// Add them up (one row per subscription, say).
    Sum,
}

impl Duplicates {
    pub fn parse(s: &str) -> KpiResult<Duplicates> {
        match s {
            "raise" => Ok(Duplicates::Raise),
            "sum" => Ok(Duplicates::Sum),
            _ => Err(KpiError::param(
                "duplicates",
                format!("{s:?} is not one of \"raise\", \"sum\""),
            )),
        }
    }
}

/// The two input shapes.
#[derive(Debug, Clone)]
pub enum Source {
    /// MRR snapshots: one row per customer per month (`period`, the snapshot's date) with its
    /// MRR. MRR is a balance: a quarter's or a year's MRR is its last month with snapshots
    /// (docs/conventions.md#mrr).
    Snapshots {
        period: Column,
        mrr: Column,
        duplicates: Duplicates,
        /// The snapshot times of the whole data when this input is one partition of it (the
        /// latest time of a period is then known to every partition); None: this input's own.
        times: Option<Column>,
    },
    /// One row per subscription: start, end (null = still active), amount per billing interval
    /// and the interval (none: amounts are monthly already).
    Subscriptions {
        start: Column,
        end: Option<Column>,
        amount: Column,
        interval: Option<Column>,
        snapshot: Snapshot,
    },
}

/// Everything a revenue computation reads.
#[derive(Debug, Clone)]
pub struct RevenueInput {
    pub customer: Column,
    pub source: Source,
    pub segments: Vec<Column>,
    pub freq: Freq,
    pub zone: Zone,
}

/// Column names of a call, as the Python keywords give them.
#[derive(Debug, Clone, Default)]
pub struct ColumnNames {
    pub customer: String,
    pub period: Option<String>,
    pub mrr: Option<String>,
    pub started: Option<String>,
    pub ended: Option<String>,
    pub amount: Option<String>,
    pub interval: Option<String>,
    /// Recurring discount per billing interval, in the amount's unit (null: none).
    pub discount: Option<String>,
    /// Recurring discount as a percentage of the amount, 0 to 100 (null: none).
    pub discount_percent: Option<String>,
    pub by: Vec<String>,
}

impl RevenueInput {
    /// Look the columns up in `table`: `period` + `mrr` read snapshots, `started` + `amount` (with
    /// optional `ended` and `interval`) read subscriptions; mixing the two shapes is an error.
    pub fn from_table(
        table: &Table,
        names: &ColumnNames,
        snapshot: Snapshot,
        duplicates: Duplicates,
        snapshot_times: Option<Column>,
        freq: Freq,
        zone: Zone,
    ) -> KpiResult<RevenueInput> {
        let snap = names.period.is_some() || names.mrr.is_some();
        let discounted = names.discount.is_some() || names.discount_percent.is_some();
        let subs = names.started.is_some()
            || names.amount.is_some()
            || names.ended.is_some()
            || names.interval.is_some();
        let source = match (snap, subs) {
            (true, false) => {
                let (Some(p), Some(m)) = (&names.period, &names.mrr) else {
                    return Err(KpiError::param(
                        "period",
                        "snapshots need both period= and mrr=",
                    ));
                };
                if discounted {
                    return Err(KpiError::param(
                        if names.discount.is_some() { "discount" } else { "discount_percent" },
                        "applies to subscriptions (started=, amount=); a snapshot's MRR is taken as already net of discounts",
                    ));
                }
                if snapshot != Snapshot::End {
                    return Err(KpiError::param(
                        "snapshot",
                        "applies to subscriptions (started=, ended=, amount=); snapshots are already one value per period",
                    ));
                }
                Source::Snapshots {
                    period: table.column(p)?,
                    mrr: table.column(m)?,
                    duplicates,
                    times: snapshot_times,
                }
            }
            (false, true) => {
                let (Some(s), Some(a)) = (&names.started, &names.amount) else {
                    return Err(KpiError::param(
                        "started",
                        "subscriptions need started= and amount= (ended= and interval= are optional)",
                    ));
                };
                let mut amount = table.column(a)?;
                if discounted {
                    let discount = names.discount.as_deref().map(|c| table.column(c)).transpose()?;
                    let percent = names
                        .discount_percent
                        .as_deref()
                        .map(|c| table.column(c))
                        .transpose()?;
                    amount = net_of_discount(&amount, discount.as_ref(), percent.as_ref())?;
                }
                Source::Subscriptions {
                    start: table.column(s)?,
                    end: names.ended.as_deref().map(|c| table.column(c)).transpose()?,
                    amount,
                    interval: names
                        .interval
                        .as_deref()
                        .map(|c| table.column(c))
                        .transpose()?,
                    snapshot,
                }
            }
            (true, true) => {
                return Err(KpiError::param(
                    "period",
                    "give either snapshots (period=, mrr=) or subscriptions (started=, ended=, amount=, interval=), not both",
                ))
            }
            (false, false) => {
                return Err(KpiError::param(
                    "mrr",
                    "give snapshots (period=, mrr=) or subscriptions (started=, ended=, amount=, interval=)",
                ))
            }
        };
        Ok(RevenueInput {
            customer: table.column(&names.customer)?,
            source,
            segments: table.columns(&names.by)?,
            freq,
            zone,
        })
    }
}

/// The amount after a recurring discount, per billing interval (docs/conventions.md#discounts):
/// `amount − discount`, or `amount × (1 − discount_percent / 100)`. A null discount is no
/// discount (a subscription without a coupon); a row may have one kind of discount, not both.
/// A missing or invalid amount stays as it is, for the amount's own check to name.
pub fn net_of_discount(
    amount: &Column,
    discount: Option<&Column>,
    percent: Option<&Column>,
) -> KpiResult<Column> {
    let flat = |c: &Column| -> KpiResult<Vec<Option<f64>>> {
        check_same_len(amount, [c])?;
        let mut out = Vec::with_capacity(c.len());
        for chunk in f64_chunks(c)? {
            for i in 0..chunk.len() {
                out.push(value_f64(&chunk, i));
            }
        }
        Ok(out)
    };
    let a = flat(amount)?;
    let d = discount.map(flat).transpose()?;
    let p = percent.map(flat).transpose()?;
    let (mut bad_d, mut bad_p, mut too_large, mut both) = (
        BadRows::default(),
        BadRows::default(),
        BadRows::default(),
        BadRows::default(),
    );
    let mut out: Vec<Option<f64>> = Vec::with_capacity(a.len());
    for (row, &price) in a.iter().enumerate() {
        let off = d.as_ref().and_then(|d| d[row]);
        let pct = p.as_ref().and_then(|p| p[row]);
        // NaN is missing, as for the amounts.
        let off = off.filter(|v| !v.is_nan());
        let pct = pct.filter(|v| !v.is_nan());
        if off.is_some() && pct.is_some() {
            both.push(row, || "a discount and a discount percentage".into());
        }
        if let Some(x) = off {
            if !(x.is_finite() && x >= 0.0) {
                bad_d.push(row, || format!("{x}"));
            }
        }
        if let Some(x) = pct {
            if !(x.is_finite() && (0.0..=100.0).contains(&x)) {
                bad_p.push(row, || format!("{x}"));
            }
        }
        out.push(match price {
            Some(v) if v.is_finite() && v >= 0.0 => match (off, pct) {
                (Some(x), _) => {
                    if x > v {
                        too_large.push(row, || format!("{x} off an amount of {v}"));
                    }
                    Some((v - x).max(0.0))
                }
                (None, Some(x)) => Some(v * (100.0 - x.clamp(0.0, 100.0)) / 100.0),
                (None, None) => Some(v),
            },
            other => other,
        });
    }
    if let Some(c) = percent {
        KpiError::check_rows(
            &c.name,
            "a row has either a discount or a discount percentage, not both",
            both,
        )?;
        KpiError::check_rows(
            &c.name,
            "must be a percentage from 0 to 100 (null: no discount)",
            bad_p,
        )?;
    }
    if let Some(c) = discount {
        KpiError::check_rows(
            &c.name,
            "must be a finite, non-negative amount per billing interval (null: no discount)",
            bad_d,
        )?;
        KpiError::check_rows(
            &c.name,
            "must not exceed the amount it is taken off",
            too_large,
        )?;
    }
    Ok(Column::from_array(
        amount.name.clone(),
        std::sync::Arc::new(arrow::array::Float64Array::from(out)),
    ))
}

pub(super) const NO_SEG: u32 = u32::MAX;

/// Rows of one input, validated and reduced to numbers.
pub(super) struct Prepared {
    pub(super) customers: Groups,
    /// Segment group per row; empty without segments (every row is segment 0, see `seg_at`).
    pub(super) segs: Vec<u32>,
    pub(super) segment_groups: Groups,
    pub(super) segmented: bool,
    pub(super) rows: Rows,
    /// Last period of the data (None: no rows).
    pub(super) horizon: Option<i64>,
}

pub(super) enum Rows {
    Snapshots {
        /// Period ordinal per row.
        period: Vec<i64>,
        cents: Vec<i64>,
        /// Rows of a period's last snapshot month; None when that is every row.
        kept: Option<Vec<bool>>,
        sum_duplicates: bool,
    },
    Subscriptions {
        start: Vec<i64>,
        end: Vec<Option<i64>>,
        /// Monthly value in cents, rounded per subscription.
        cents: Vec<i64>,
        snapshot: Snapshot,
    },
}

/// Amounts of `col` through `convert` (to cents, or as they are) into `out`, rejecting
/// missing, negative, non-finite and too large values. Rows of `col` are numbered from `first_row`.
pub(super) fn amounts_into<T>(
    col: &Column,
    first_row: usize,
    out: &mut [T],
    convert: impl Fn(f64) -> T,
) -> KpiResult<()> {
    let mut bad = BadRows::default();
    let mut row = 0;
    for chunk in f64_chunks(col)? {
        for i in 0..chunk.len() {
            out[row] = match value_f64(&chunk, i) {
                Some(v) if v.is_finite() && (0.0..=MAX_AMOUNT).contains(&v) => convert(v),
                Some(v) => {
                    bad.push(first_row + row, || format!("{v}"));
                    convert(0.0)
                }
                None => {
                    // NaN and null are the same missing value.
                    bad.push(first_row + row, || "missing".into());
                    convert(0.0)
                }
            };
            row += 1;
        }
    }
    KpiError::check_rows(
        &col.name,
        "must be a finite number from 0 to 90071992547409 and not missing",
        bad,
    )
}

/// Wall-clock microseconds per row; `required` rejects missing values naming the rows.
pub(super) fn times(col: &Column, zone: Zone, required: bool) -> KpiResult<Vec<Option<i64>>> {
    let mut out = Vec::with_capacity(col.len());
    let mut bad = BadRows::default();
    for a in local_micros(col, zone)? {
        for i in 0..a.len() {
            if a.is_null(i) {
                bad.push(out.len(), || "missing".into());
                out.push(None);
            } else {
                out.push(Some(a.value(i)));
            }
        }
    }
    if required {
        KpiError::check_rows(&col.name, "must not be missing", bad)?;
    }
    Ok(out)
}

/// Months in one billing interval, from a name or a number of months.
pub(super) fn interval_months(col: &Column) -> KpiResult<Vec<f64>> {
    let mut out = Vec::with_capacity(col.len());
    let mut bad = BadRows::default();
    let by_name = |s: &str| -> Option<f64> {
        let lower = s.trim().to_ascii_lowercase();
        // "1 month", "1year" name the unit; "12" is a number of months.
        let t = match lower.strip_prefix('1').map(str::trim) {
            Some(rest) if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphabetic()) => rest,
            _ => lower.as_str(),
        };
        match t {
            "month" | "monthly" | "months" | "m" | "mo" => Some(1.0),
            "quarter" | "quarterly" | "q" => Some(3.0),
            "year" | "yearly" | "annual" | "annually" | "y" | "yr" => Some(12.0),
            "week" | "weekly" | "w" | "wk" => Some(12.0 / 52.0),
            other => other
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n > 0.0),
        }
    };
    let numeric = crate::core::input::is_numeric(&col.data_type());
    if numeric {
        for chunk in f64_chunks(col)? {
            for i in 0..chunk.len() {
                let row = out.len();
                match value_f64(&chunk, i) {
                    Some(v) if v.is_finite() && v > 0.0 => out.push(v),
                    Some(v) => {
                        bad.push(row, || format!("{v}"));
                        out.push(1.0)
                    }
                    None => {
                        bad.push(row, || "missing".into());
                        out.push(1.0)
                    }
                }
            }
        }
    } else {
        // Few distinct names repeat over millions of rows: parse each once.
        let mut memo: HashMap<String, Option<f64>> = HashMap::new();
        for chunk in &col.chunks {
            let s = arrow::compute::cast(chunk, &DataType::Utf8).map_err(|_| {
                KpiError::wrong_type(&col.name, "text or a number of months", chunk.data_type())
            })?;
            for v in s.as_string::<i32>().iter() {
                let row = out.len();
                let parsed = v.and_then(|v| match memo.get(v) {
                    Some(m) => *m,
                    None => *memo.entry(v.to_string()).or_insert_with(|| by_name(v)),
                });
                match parsed {
                    Some(m) => out.push(m),
                    None => {
                        bad.push(row, || format!("{:?}", v.unwrap_or("missing")));
                        out.push(1.0)
                    }
                }
            }
        }
    }
    KpiError::check_rows(
        &col.name,
        "must be \"month\", \"quarter\", \"year\", \"week\" or a positive number of months",
        bad,
    )?;
    Ok(out)
}

#[inline]
pub(super) fn to_cents(v: f64) -> i64 {
    // f64::round rounds half away from zero; values are bounded by MAX_AMOUNT × 100.
    (v * CENTS).round() as i64
}

pub(super) fn prepare(input: &RevenueInput) -> KpiResult<Prepared> {
    let n = input.customer.len();
    require_no_nulls(&input.customer)?;
    check_same_len(&input.customer, &input.segments)?;
    let rows = match &input.source {
        Source::Snapshots {
            period,
            mrr,
            duplicates,
            times,
        } => {
            check_same_len(&input.customer, [period, mrr])?;
            // The largest input shape: both columns read on all threads, range by range,
            // straight into cents and wall-clock times (no per-row f64 copies).
            let mut cents = vec![0i64; n];
            fill_ranges(&mut cents, |r, out| {
                amounts_into(&mrr.slice(r.start, r.len()), r.start, out, to_cents)
            })?;
            let mut at = vec![0i64; n];
            fill_ranges(&mut at, |r, out| {
                let mut bad = BadRows::default();
                let times = local_micros(&period.slice(r.start, r.len()), input.zone)
                    .map_err(|e| e.at_offset(r.start))?;
                let mut row = 0;
                for a in times {
                    for i in 0..a.len() {
                        if a.is_null(i) {
                            bad.push(r.start + row, || "missing".into());
                        } else {
                            out[row] = a.value(i);
                        }
                        row += 1;
                    }
                }
                KpiError::check_rows(&period.name, "must not be missing", bad)
            })?;
            let mut ords = vec![0i64; n];
            fill_ranges(&mut ords, |r, out| {
                let mut cache = DayOrdinals::new(input.freq);
                for (o, &t) in out.iter_mut().zip(&at[r]) {
                    *o = cache.of_micros(t);
                }
                Ok(())
            })?;
            // Snapshots are monthly balances (docs/conventions.md#mrr): a period longer than a
            // month reads the last month in it that has any snapshot, over all customers; a
            // month or a shorter period reads its own rows.
            let kept = if matches!(input.freq, Freq::Quarter | Freq::Year) {
                let mut month_of = DayOrdinals::new(Freq::Month);
                let months: Vec<i64> = at.iter().map(|&t| month_of.of_micros(t)).collect();
                let latest = match times {
                    None => LatestTimes::of(&ords, &months),
                    Some(c) => {
                        let mut cache = DayOrdinals::new(input.freq);
                        let (mut o, mut m) = (Vec::new(), Vec::new());
                        for a in local_micros(c, input.zone)? {
                            for v in a.iter().flatten() {
                                o.push(cache.of_micros(v));
                                m.push(month_of.of_micros(v));
                            }
                        }
                        LatestTimes::of(&o, &m)
                    }
                };
                let at_end = |(&o, &m): (&i64, &i64)| latest.get(o).is_none_or(|l| l == m);
                // Monthly snapshots of one month per period keep every row: no mask then.
                if ords.iter().zip(&months).all(at_end) {
                    None
                } else {
                    Some(ords.iter().zip(&months).map(at_end).collect())
                }
            } else {
                None
            };
            Rows::Snapshots {
                period: ords,
                cents,
                kept,
                sum_duplicates: *duplicates == Duplicates::Sum,
            }
        }
        Source::Subscriptions {
            start,
            end,
            amount,
            interval,
            snapshot,
        } => {
            check_same_len(&input.customer, [start, amount])?;
            let s = times(start, input.zone, true)?;
            let e = match end {
                Some(c) => {
                    check_same_len(&input.customer, [c])?;
                    times(c, input.zone, false)?
                }
                None => vec![None; n],
            };
            let mut a = vec![0.0; n];
            amounts_into(amount, 0, &mut a, |v| v)?;
            let months = match interval {
                Some(c) => {
                    check_same_len(&input.customer, [c])?;
                    interval_months(c)?
                }
                None => vec![1.0; n],
            };
            let mut order = BadRows::default();
            for (row, (s, e)) in s.iter().zip(&e).enumerate() {
                if let (Some(s), Some(e)) = (s, e) {
                    if e < s {
                        order.push(row, || "end before start".into());
                    }
                }
            }
            if let Some(c) = end {
                KpiError::check_rows(&c.name, "must not be before start", order)?;
            }
            // A short interval multiplies the amount (0.001 months: 1000 × per month): the
            // monthly amount obeys the amounts' bound too, instead of saturating the cents.
            let mut too_large = BadRows::default();
            let cents = a
                .iter()
                .zip(&months)
                .enumerate()
                .map(|(row, (a, m))| {
                    let monthly = a / m;
                    if monthly <= MAX_AMOUNT {
                        to_cents(monthly)
                    } else {
                        too_large.push(row, || format!("{a} per {m} months = {monthly} per month"));
                        0
                    }
                })
                .collect();
            if let Some(c) = interval {
                KpiError::check_rows(
                    &c.name,
                    "amount / interval (the monthly amount) must be at most 90071992547409",
                    too_large,
                )?;
            }
            Rows::Subscriptions {
                start: s.into_iter().map(|s| s.unwrap_or(0)).collect(),
                end: e,
                cents,
                snapshot: *snapshot,
            }
        }
    };
    let customers = crate::core::engine::groups::group_ids(std::slice::from_ref(&input.customer))?;
    let (segs, segment_groups) = if input.segments.is_empty() {
        (
            Vec::new(),
            Groups {
                ids: vec![],
                first_row: if n > 0 { vec![0] } else { vec![] },
            },
        )
    } else {
        let g = group_ids(&input.segments)?;
        (g.ids.clone(), g)
    };
    let freq = input.freq;
    let horizon = match &rows {
        Rows::Snapshots { period, .. } => period.iter().max().copied(),
        Rows::Subscriptions {
            start,
            end,
            snapshot,
            ..
        } => start
            .iter()
            .zip(end)
            .map(|(s, e)| {
                let last = e.unwrap_or(*s);
                let p = freq.ordinal_of_micros(last);
                // Averaged, a subscription ending inside a period still has MRR there and
                // leaves in the next one.
                if *snapshot == Snapshot::Average && period_start_us(freq, p) != last {
                    p + 1
                } else {
                    p
                }
            })
            .max(),
    };
    Ok(Prepared {
        customers,
        segs,
        segment_groups,
        segmented: !input.segments.is_empty(),
        rows,
        horizon,
    })
}

/// The last month with a snapshot in every period: a period's MRR is read there
/// (docs/conventions.md#mrr).
enum LatestTimes {
    /// Periods `first..first + len` (the usual few dozen months).
    Dense {
        first: i64,
        times: Vec<i64>,
    },
    Sparse(HashMap<i64, i64>),
}

impl LatestTimes {
    /// From the period ordinal and the time of every snapshot row.
    fn of(ords: &[i64], times: &[i64]) -> LatestTimes {
        let (lo, hi) = ords
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &o| (lo.min(o), hi.max(o)));
        if lo <= hi && hi - lo < 1 << 20 {
            let mut latest = vec![i64::MIN; (hi - lo + 1) as usize];
            for (&o, &t) in ords.iter().zip(times) {
                let slot = &mut latest[(o - lo) as usize];
                *slot = (*slot).max(t);
            }
            LatestTimes::Dense {
                first: lo,
                times: latest,
            }
        } else {
            let mut latest = HashMap::new();
            for (&o, &t) in ords.iter().zip(times) {
                let slot = latest.entry(o).or_insert(i64::MIN);
                *slot = (*slot).max(t);
            }
            LatestTimes::Sparse(latest)
        }
    }

    /// The latest month of period `ord`, None when no snapshot falls in it.
    #[inline]
    fn get(&self, ord: i64) -> Option<i64> {
        match self {
            LatestTimes::Dense { first, times } => usize::try_from(ord - first)
                .ok()
                .and_then(|i| times.get(i))
                .copied()
                .filter(|&t| t != i64::MIN),
            LatestTimes::Sparse(m) => m.get(&ord).copied(),
        }
    }
}

#[inline]
pub(super) fn period_start_us(freq: Freq, p: i64) -> i64 {
    freq.start_day(p) * US_PER_DAY
}
