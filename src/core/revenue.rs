//! SaaS revenue: MRR per customer per period, and the MRR movement ledger, written as
//! partial → merge → finish.
//!
//! **Money.** Every amount is converted once to integer hundredths of the input unit ("cents":
//! `round(x × 100)`, half away from zero, as ChartMogul rounds each line to integer cents) and
//! all sums, levels and movements are exact `i64` arithmetic on cents. The ledger identity
//! `ending = starting + new + expansion + reactivation − contraction − churned
//! (+ moved_in − moved_out within a segment)` therefore holds exactly in cents; results leave
//! the core as float64 in the input unit (`cents / 100`).
//!
//! **MRR.** From snapshots, a customer's MRR in a period is the sum of its rows in that period
//! (absent = 0); snapshots finer than the period would add up, so they must be at its grain. From subscriptions, the monthly value of a subscription is
//! `amount / months(interval)` (year 12, quarter 3, month 1, week 12/52, or a count of months),
//! rounded to cents per subscription; with `Snapshot::End` a subscription counts in a period when
//! it is active at the last instant of the period (`start < period end ≤ end`, so a subscription
//! ending exactly at midnight on the 1st counts in the month before), with `Snapshot::Average` it
//! counts by the fraction of the period it covers (rounded to cents per customer and period).
//!
//! **Movements.** A customer's MRR is a balance read at period ends; movements are the change
//! between two consecutive period ends, classified per customer (a rise within a month that is
//! undone within the same month nets out): 0 → x is new (first MRR ever) or reactivation (after a
//! churn, within `reactivation_window`, otherwise new again); x → 0 is churn; x → y is expansion
//! or contraction. A customer whose subscriptions all start and end inside one period (zero at
//! both ends) joined and churned in that period; [`SamePeriod`] says how that counts.
//!
//! **Partitions.** The partial state holds, per (period, segments…), only flows: movement sums,
//! customer counts and the change of the MRR and customer balances. When every customer's rows are
//! in one partition, states of partitions add up exactly ([`merge_movement_states`]); the balances
//! (starting, ending) are rebuilt at [`finish_movements`] by cumulating the changes.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    UInt64Array,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema, SchemaRef};
use hashbrown::HashMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::{BadRows, KpiError, KpiResult};
use super::groups::{grid, group_ids, merge_sum, take_rows, Groups};
use super::input::{f64_chunks, require_no_nulls, value_f64, Column, Table};
use super::parallel::fill_ranges;
use super::time::{local_micros, start_dates, DayOrdinals, Freq, Zone, US_PER_DAY};

/// Hundredths of the input unit per unit.
pub const CENTS: f64 = 100.0;
/// Largest amount accepted (2^53 / 100): its cents are still exact in float64 and sums of
/// millions of them fit an i64.
pub const MAX_AMOUNT: f64 = 90_071_992_547_409.0;

// ----------------------------------------------------------------------------------------------
// Conventions
// ----------------------------------------------------------------------------------------------

/// How a customer who joins and churns within one period counts (only observable from
/// subscriptions evaluated at period end: at both period ends such a customer has no MRR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamePeriod {
    /// New (or reactivation) and churn, in MRR and in customer counts (Stripe, Baremetrics,
    /// Maxio). The kpikit default: every MRR change is shown.
    Count,
    /// MRR moves as with `Count` and the customer counts as new, but not as churned
    /// (ChartMogul leaves them out of customer churn).
    Exclude,
    /// Ignored entirely: neither new nor churned, in MRR or counts (ProfitWell nets them out of
    /// new).
    NetOutOfNew,
}

impl SamePeriod {
    pub fn parse(s: &str) -> KpiResult<SamePeriod> {
        match s {
            "count" => Ok(SamePeriod::Count),
            "exclude" => Ok(SamePeriod::Exclude),
            "net_out_of_new" => Ok(SamePeriod::NetOutOfNew),
            _ => Err(KpiError::param(
                "same_period_new_churn",
                format!("{s:?} is not one of \"count\", \"exclude\", \"net_out_of_new\""),
            )),
        }
    }
}

/// How long a churned customer may stay away and still count as reactivated when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// Any gap (ChartMogul, Stripe, ProfitWell, Baremetrics).
    Any,
    /// At most this many whole periods without MRR.
    Periods(u32),
    /// At most this many days from the end of the last period with MRR to the end of the last
    /// period without it (Maxio: 90).
    Days(u32),
}

impl Window {
    /// "any", a number of periods ("3"), or days ("90d", "90 days").
    pub fn parse(s: &str) -> KpiResult<Window> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || {
            KpiError::param(
                "reactivation_window",
                format!("{s:?} is not \"any\", a number of periods (3) or of days (\"90d\")"),
            )
        };
        if t == "any" || t == "none" {
            return Ok(Window::Any);
        }
        if let Ok(n) = t.parse::<u32>() {
            return Ok(Window::Periods(n));
        }
        let days = t
            .strip_suffix("days")
            .or_else(|| t.strip_suffix("day"))
            .or_else(|| t.strip_suffix('d'))
            .ok_or_else(bad)?;
        days.trim()
            .parse::<u32>()
            .map(Window::Days)
            .map_err(|_| bad())
    }
}

/// Most periods `ltv_churn_periods` may average churn over (every row looks them all up).
pub const MAX_LTV_CHURN_PERIODS: u32 = 1_200;

/// Customers a customer-churn rate divides by (used by the rates computed from the ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Denominator {
    /// Customers at the start of the period (ChartMogul, Baremetrics).
    Start,
    /// Customers at the start plus new customers of the period (Stripe).
    StartPlusNew,
}

/// The churn rate lifetime value divides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LtvChurn {
    /// Customer churn rate (ChartMogul, Baremetrics).
    Customer,
    /// Net MRR churn rate, i.e. 1 − net revenue retention as ProfitWell puts it, so expansion,
    /// contraction and reactivation move LTV too.
    NetMrr,
}

/// The conventions of the field (docs/conventions.md#revenue-conventions) that the ledger and
/// the rates built on it depend on. The ledger itself uses `same_period_new_churn` and
/// `reactivation_window`; the others are stored with the state for the rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conventions {
    pub same_period_new_churn: SamePeriod,
    pub reactivation_window: Window,
    pub churn_denominator: Denominator,
    /// Net MRR churn nets reactivation as well as expansion (ChartMogul) or expansion only
    /// (Baremetrics).
    pub net_churn_counts_reactivation: bool,
    /// Net revenue retention counts reactivated MRR (ChartMogul: no).
    pub nrr_counts_reactivation: bool,
    /// The quick ratio's numerator includes reactivation (Baremetrics: no).
    pub quick_ratio_counts_reactivation: bool,
    /// The churn rate of lifetime value.
    pub ltv_churn: LtvChurn,
    /// None: the period's own churn rate; N: the mean of the N previous periods' rates, the
    /// current one excluded (ChartMogul: 6).
    pub ltv_churn_periods: Option<u32>,
}

impl Default for Conventions {
    fn default() -> Self {
        Conventions {
            same_period_new_churn: SamePeriod::Count,
            reactivation_window: Window::Any,
            churn_denominator: Denominator::Start,
            net_churn_counts_reactivation: true,
            nrr_counts_reactivation: false,
            quick_ratio_counts_reactivation: true,
            ltv_churn: LtvChurn::Customer,
            ltv_churn_periods: None,
        }
    }
}

/// Names of the presets, in the order the docs list them.
pub const PRESETS: [&str; 4] = ["chartmogul", "stripe", "baremetrics", "profitwell"];

impl Conventions {
    /// The conventions a tool publishes (docs/conventions.md#revenue-presets). Where a tool says
    /// nothing, the kpikit default stays.
    pub fn preset(name: &str) -> KpiResult<Conventions> {
        let d = Conventions::default();
        Ok(match name {
            "chartmogul" => Conventions {
                same_period_new_churn: SamePeriod::Exclude,
                churn_denominator: Denominator::Start,
                net_churn_counts_reactivation: true,
                nrr_counts_reactivation: false,
                ltv_churn_periods: Some(6),
                ..d
            },
            "stripe" => Conventions {
                same_period_new_churn: SamePeriod::Count,
                churn_denominator: Denominator::StartPlusNew,
                ..d
            },
            "baremetrics" => Conventions {
                same_period_new_churn: SamePeriod::Count,
                churn_denominator: Denominator::Start,
                net_churn_counts_reactivation: false,
                nrr_counts_reactivation: false,
                quick_ratio_counts_reactivation: false,
                ..d
            },
            "profitwell" => Conventions {
                same_period_new_churn: SamePeriod::NetOutOfNew,
                ltv_churn: LtvChurn::NetMrr,
                ..d
            },
            _ => {
                return Err(KpiError::param(
                    "preset",
                    format!("{name:?} is not one of {PRESETS:?}"),
                ))
            }
        })
    }

    /// Override one convention by name from its text form (as the Python keywords pass them).
    pub fn set(&mut self, name: &str, value: &str) -> KpiResult<()> {
        let flag = |v: &str| match v {
            "true" | "True" | "1" => Ok(true),
            "false" | "False" | "0" => Ok(false),
            _ => Err(KpiError::param(name, format!("{v:?} is not true or false"))),
        };
        match name {
            "same_period_new_churn" => self.same_period_new_churn = SamePeriod::parse(value)?,
            "reactivation_window" => self.reactivation_window = Window::parse(value)?,
            "churn_denominator" => {
                self.churn_denominator = match value {
                    "start" => Denominator::Start,
                    "start_plus_new" => Denominator::StartPlusNew,
                    _ => {
                        return Err(KpiError::param(
                            name,
                            format!("{value:?} is not one of \"start\", \"start_plus_new\""),
                        ))
                    }
                }
            }
            "net_churn_counts_reactivation" => self.net_churn_counts_reactivation = flag(value)?,
            "nrr_counts_reactivation" => self.nrr_counts_reactivation = flag(value)?,
            "quick_ratio_counts_reactivation" => {
                self.quick_ratio_counts_reactivation = flag(value)?
            }
            "ltv_churn" => {
                self.ltv_churn = match value {
                    "customer" => LtvChurn::Customer,
                    "net_mrr" => LtvChurn::NetMrr,
                    _ => {
                        return Err(KpiError::param(
                            name,
                            format!("{value:?} is not one of \"customer\", \"net_mrr\""),
                        ))
                    }
                }
            }
            "ltv_churn_periods" => {
                self.ltv_churn_periods = match value {
                    "none" | "None" | "current" => None,
                    v => match v.parse::<u32>() {
                        Ok(n) if n > 0 && n <= MAX_LTV_CHURN_PERIODS => Some(n),
                        _ => {
                            return Err(KpiError::param(
                                name,
                                format!("{v:?} is not None or a number of periods from 1 to {MAX_LTV_CHURN_PERIODS}"),
                            ))
                        }
                    },
                }
            }
            _ => {
                return Err(KpiError::param(
                    name,
                    "is not a convention; use same_period_new_churn, reactivation_window, churn_denominator, net_churn_counts_reactivation, nrr_counts_reactivation, quick_ratio_counts_reactivation, ltv_churn or ltv_churn_periods",
                ))
            }
        }
        Ok(())
    }

    pub fn to_json(self) -> String {
        // Serialising plain enums and bools cannot fail; fall back to an empty object anyway.
        serde_json::to_string(&self).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_json(s: &str) -> KpiResult<Conventions> {
        serde_json::from_str(s)
            .map_err(|e| KpiError::param("state", format!("bad conventions metadata: {e}")))
    }
}

// ----------------------------------------------------------------------------------------------
// Inputs
// ----------------------------------------------------------------------------------------------

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

/// The two input shapes.
#[derive(Debug, Clone)]
pub enum Source {
    /// One row per customer per period (several rows add up): a time in the period and the MRR.
    Snapshots { period: Column, mrr: Column },
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
    pub start: Option<String>,
    pub end: Option<String>,
    pub amount: Option<String>,
    pub interval: Option<String>,
    pub by: Vec<String>,
}

impl RevenueInput {
    /// Look the columns up in `table`: `period` + `mrr` read snapshots, `start` + `amount` (with
    /// optional `end` and `interval`) read subscriptions; mixing the two shapes is an error.
    pub fn from_table(
        table: &Table,
        names: &ColumnNames,
        snapshot: Snapshot,
        freq: Freq,
        zone: Zone,
    ) -> KpiResult<RevenueInput> {
        let snap = names.period.is_some() || names.mrr.is_some();
        let subs = names.start.is_some()
            || names.amount.is_some()
            || names.end.is_some()
            || names.interval.is_some();
        let source = match (snap, subs) {
            (true, false) => {
                let (Some(p), Some(m)) = (&names.period, &names.mrr) else {
                    return Err(KpiError::param(
                        "period",
                        "snapshots need both period= and mrr=",
                    ));
                };
                if snapshot != Snapshot::End {
                    return Err(KpiError::param(
                        "snapshot",
                        "applies to subscriptions (started=, ended=, amount=); snapshots are already one value per period",
                    ));
                }
                Source::Snapshots {
                    period: table.column(p)?,
                    mrr: table.column(m)?,
                }
            }
            (false, true) => {
                let (Some(s), Some(a)) = (&names.start, &names.amount) else {
                    return Err(KpiError::param(
                        "started",
                        "subscriptions need started= and amount= (ended= and interval= are optional)",
                    ));
                };
                Source::Subscriptions {
                    start: table.column(s)?,
                    end: names.end.as_deref().map(|c| table.column(c)).transpose()?,
                    amount: table.column(a)?,
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

const NO_SEG: u32 = u32::MAX;

/// Rows of one input, validated and reduced to numbers.
struct Prepared {
    customers: Groups,
    /// Segment group per row; empty without segments (every row is segment 0, see `seg_at`).
    segs: Vec<u32>,
    segment_groups: Groups,
    segmented: bool,
    rows: Rows,
    /// Last period of the data (None: no rows).
    horizon: Option<i64>,
}

enum Rows {
    Snapshots {
        period: Vec<i64>,
        cents: Vec<i64>,
    },
    Subscriptions {
        start: Vec<i64>,
        end: Vec<Option<i64>>,
        /// Monthly value in cents, rounded per subscription.
        cents: Vec<i64>,
        snapshot: Snapshot,
    },
}

fn check_len(first: &Column, other: &Column) -> KpiResult<()> {
    if first.len() != other.len() {
        return Err(KpiError::LengthMismatch {
            left: first.name.clone(),
            left_len: first.len(),
            right: other.name.clone(),
            right_len: other.len(),
        });
    }
    Ok(())
}

/// Amounts of `col` through `convert` (to cents, or as they are) into `out`, rejecting
/// missing, negative, non-finite and too large values. Rows of `col` are numbered from `first_row`.
fn amounts_into<T>(
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
fn times(col: &Column, zone: Zone, required: bool) -> KpiResult<Vec<Option<i64>>> {
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
fn interval_months(col: &Column) -> KpiResult<Vec<f64>> {
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
    let numeric = super::input::is_numeric(&col.data_type());
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
fn to_cents(v: f64) -> i64 {
    // f64::round rounds half away from zero; values are bounded by MAX_AMOUNT × 100.
    (v * CENTS).round() as i64
}

fn prepare(input: &RevenueInput) -> KpiResult<Prepared> {
    let n = input.customer.len();
    require_no_nulls(&input.customer)?;
    for s in &input.segments {
        check_len(&input.customer, s)?;
    }
    let rows = match &input.source {
        Source::Snapshots { period, mrr } => {
            check_len(&input.customer, period)?;
            check_len(&input.customer, mrr)?;
            // The largest input shape: both columns read on all threads, range by range,
            // straight into cents and period ordinals (no per-row f64 or time copies).
            let mut cents = vec![0i64; n];
            fill_ranges(&mut cents, |r, out| {
                amounts_into(&mrr.slice(r.start, r.len()), r.start, out, to_cents)
            })?;
            let mut ords = vec![0i64; n];
            fill_ranges(&mut ords, |r, out| {
                let mut cache = DayOrdinals::new(input.freq);
                let mut bad = BadRows::default();
                let times = local_micros(&period.slice(r.start, r.len()), input.zone)
                    .map_err(|e| e.at_offset(r.start))?;
                let mut row = 0;
                for a in times {
                    for i in 0..a.len() {
                        if a.is_null(i) {
                            bad.push(r.start + row, || "missing".into());
                        } else {
                            out[row] = cache.of_micros(a.value(i));
                        }
                        row += 1;
                    }
                }
                KpiError::check_rows(&period.name, "must not be missing", bad)
            })?;
            Rows::Snapshots {
                period: ords,
                cents,
            }
        }
        Source::Subscriptions {
            start,
            end,
            amount,
            interval,
            snapshot,
        } => {
            check_len(&input.customer, start)?;
            check_len(&input.customer, amount)?;
            let s = times(start, input.zone, true)?;
            let e = match end {
                Some(c) => {
                    check_len(&input.customer, c)?;
                    times(c, input.zone, false)?
                }
                None => vec![None; n],
            };
            let mut a = vec![0.0; n];
            amounts_into(amount, 0, &mut a, |v| v)?;
            let months = match interval {
                Some(c) => {
                    check_len(&input.customer, c)?;
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
    let customers = super::groups::group_ids(std::slice::from_ref(&input.customer))?;
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

#[inline]
fn period_start_us(freq: Freq, p: i64) -> i64 {
    freq.start_day(p) * US_PER_DAY
}

// ----------------------------------------------------------------------------------------------
// Per-customer MRR series
// ----------------------------------------------------------------------------------------------

/// From `period` on (until the next point), the customer's MRR is `level` in segment `seg`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    period: i64,
    level: i64,
    seg: u32,
}

/// Subscriptions that started and ended inside one period while the customer had no MRR at
/// either end: the peak MRR reached, and its segment.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Flash {
    period: i64,
    peak: i64,
    seg: u32,
}

/// Points and flashes, each in period order (one entry per period at most).
#[derive(Debug, Default)]
struct Series {
    points: Vec<Point>,
    flashes: Vec<Flash>,
}

impl Series {
    /// Emptied for the next customer, keeping the allocations (one per thread, not per customer).
    fn clear(&mut self) {
        self.points.clear();
        self.flashes.clear();
    }

    /// The first period at or after positions (`pi`, `fi`), if any.
    #[inline]
    fn next_period(&self, pi: usize, fi: usize) -> Option<i64> {
        match (self.points.get(pi), self.flashes.get(fi)) {
            (Some(p), Some(f)) => Some(p.period.min(f.period)),
            (Some(p), None) => Some(p.period),
            (None, Some(f)) => Some(f.period),
            (None, None) => None,
        }
    }
}

/// Segment conflicts found in one customer: (row, other row, period).
type Conflict = (usize, usize, i64);

fn add(a: i64, b: i64) -> KpiResult<i64> {
    a.checked_add(b).ok_or_else(|| KpiError::Overflow {
        what: "MRR sum".into(),
    })
}

/// Segment of row `r`: `segs` is empty when the call has no segments (all rows segment 0).
#[inline]
fn seg_at(segs: &[u32], r: usize) -> u32 {
    if segs.is_empty() {
        0
    } else {
        segs[r]
    }
}

/// The one segment of the rows that carry MRR, or the first conflicting pair.
fn one_segment(rows: impl Iterator<Item = usize>, segs: &[u32]) -> Result<u32, (usize, usize)> {
    let mut seen: Option<(u32, usize)> = None;
    for r in rows {
        match seen {
            None => seen = Some((seg_at(segs, r), r)),
            Some((s, first)) if s != seg_at(segs, r) => return Err((first, r)),
            _ => {}
        }
    }
    Ok(seen.map(|s| s.0).unwrap_or(NO_SEG))
}

/// The customer's series from its snapshot `rows` (reordered by period here) into `out`.
fn snapshot_series(
    rows: &mut [usize],
    period: &[i64],
    cents: &[i64],
    segs: &[u32],
    out: &mut Series,
) -> KpiResult<Result<(), Conflict>> {
    rows.sort_by_key(|&r| (period[r], r));
    out.clear();
    let mut i = 0;
    while i < rows.len() {
        let p = period[rows[i]];
        let mut j = i;
        let mut level = 0i64;
        while j < rows.len() && period[rows[j]] == p {
            level = add(level, cents[rows[j]])?;
            j += 1;
        }
        // Every row of the period must agree on the segment, MRR or not.
        let seg = match one_segment(rows[i..j].iter().copied(), segs) {
            Ok(s) => s,
            Err((a, b)) => return Ok(Err((a, b, p))),
        };
        out.points.push(Point {
            period: p,
            level,
            seg: if level > 0 { seg } else { NO_SEG },
        });
        let next = rows.get(j).map(|&r| period[r]);
        if next != Some(p + 1) {
            out.points.push(Point {
                period: p + 1,
                level: 0,
                seg: NO_SEG,
            });
        }
        i = j;
    }
    Ok(Ok(()))
}

/// The customer's series from its subscription `rows` into `out`.
#[allow(clippy::too_many_arguments)]
fn subscription_series(
    rows: &[usize],
    start: &[i64],
    end: &[Option<i64>],
    cents: &[i64],
    segs: &[u32],
    segmented: bool,
    snapshot: Snapshot,
    freq: Freq,
    out: &mut Series,
) -> KpiResult<Result<(), Conflict>> {
    // Step changes of whole monthly values (+ at the first period counted in full, − at the
    // first period no longer counted), and partial values of single periods (averages only).
    let mut steps: Vec<(i64, i64, usize, i32)> = Vec::new(); // period, cents, row, ±1
    let mut partial: Vec<(i64, f64, usize)> = Vec::new(); // period, cents, row
    let mut flash_rows: Vec<(i64, usize)> = Vec::new();
    for &r in rows {
        let c = cents[r];
        let s = start[r];
        let a = freq.ordinal_of_micros(s);
        match snapshot {
            Snapshot::End => match end[r] {
                None => steps.push((a, c, r, 1)),
                Some(e) => {
                    let b = freq.ordinal_of_micros(e);
                    if b > a {
                        steps.push((a, c, r, 1));
                        steps.push((b, -c, r, -1));
                    } else if e > s && c > 0 {
                        flash_rows.push((a, r));
                    }
                }
            },
            Snapshot::Average => {
                let len = |p: i64| (period_start_us(freq, p + 1) - period_start_us(freq, p)) as f64;
                let covered = |p: i64, lo: i64, hi: i64| {
                    let (ps, pe) = (period_start_us(freq, p), period_start_us(freq, p + 1));
                    (hi.min(pe) - lo.max(ps)).max(0) as f64 / len(p)
                };
                match end[r] {
                    Some(e) if e <= s => {}
                    Some(e) if freq.ordinal_of_micros(e) == a => {
                        partial.push((a, c as f64 * covered(a, s, e), r));
                    }
                    _ => {
                        partial.push((a, c as f64 * covered(a, s, i64::MAX), r));
                        steps.push((a + 1, c, r, 1));
                        if let Some(e) = end[r] {
                            let b = freq.ordinal_of_micros(e);
                            steps.push((b, -c, r, -1));
                            let f = covered(b, s, e);
                            if f > 0.0 {
                                partial.push((b, c as f64 * f, r));
                            }
                        }
                    }
                }
            }
        }
    }
    // Additions first, so a subscription added and removed in one period ends up inactive.
    steps.sort_by_key(|x| (x.0, -x.3, x.2));
    partial.sort_by(|x, y| x.0.cmp(&y.0).then(x.2.cmp(&y.2)));
    // Periods where the level may change: every step, and each partial period and the next.
    let mut marks: Vec<i64> = steps.iter().map(|x| x.0).collect();
    for p in &partial {
        marks.push(p.0);
        marks.push(p.0 + 1);
    }
    marks.sort_unstable();
    marks.dedup();

    out.clear();
    let mut level = 0i64;
    // Subscriptions counted in full right now (with positive value: they carry the segment).
    let mut active: Vec<usize> = Vec::new();
    let (mut si, mut pi) = (0, 0);
    for &p in &marks {
        while si < steps.len() && steps[si].0 == p {
            let (_, c, r, d) = steps[si];
            level = add(level, c)?;
            if segmented && cents[r] > 0 {
                if d > 0 {
                    active.push(r);
                } else if let Some(k) = active.iter().position(|&x| x == r) {
                    active.swap_remove(k);
                }
            }
            si += 1;
        }
        let mut part = 0.0;
        // Only segmented calls need to know which subscriptions carry the MRR.
        let mut carriers: Vec<usize> = if segmented {
            active.clone()
        } else {
            Vec::new()
        };
        while pi < partial.len() && partial[pi].0 < p {
            pi += 1;
        }
        let mut k = pi;
        while k < partial.len() && partial[k].0 == p {
            part += partial[k].1;
            if segmented && partial[k].1 > 0.0 {
                carriers.push(partial[k].2);
            }
            k += 1;
        }
        let total = add(level, part.round() as i64)?;
        let seg = if total > 0 && !segmented {
            0
        } else if total > 0 {
            match one_segment(carriers.iter().copied(), segs) {
                Ok(s) => s,
                Err((a, b)) => return Ok(Err((a, b, p))),
            }
        } else {
            NO_SEG
        };
        let pt = Point {
            period: p,
            level: total,
            seg,
        };
        if out.points.last().map(|l| (l.level, l.seg)) != Some((pt.level, pt.seg)) {
            out.points.push(pt);
        }
    }

    // Flashes: subscriptions wholly inside one period (period-end MRR only).
    flash_rows.sort_unstable();
    let mut i = 0;
    while i < flash_rows.len() {
        let p = flash_rows[i].0;
        let mut j = i;
        while j < flash_rows.len() && flash_rows[j].0 == p {
            j += 1;
        }
        let group: Vec<usize> = flash_rows[i..j].iter().map(|x| x.1).collect();
        // Peak of the overlapping intervals: the sum of those covering each start. The flash
        // takes the segment of the subscription starting the peak: it never reaches a period
        // end, so the one-segment-per-period rule does not apply to it.
        let (mut peak, mut peak_row) = (0i64, group[0]);
        for &r in &group {
            let mut sum = 0i64;
            for &q in &group {
                if start[q] <= start[r] && end[q].is_some_and(|e| e > start[r]) {
                    sum = add(sum, cents[q])?;
                }
            }
            if sum > peak {
                peak = sum;
                peak_row = r;
            }
        }
        let seg = seg_at(segs, peak_row);
        out.flashes.push(Flash {
            period: p,
            peak,
            seg,
        });
        i = j;
    }
    Ok(Ok(()))
}

// ----------------------------------------------------------------------------------------------
// The ledger walk
// ----------------------------------------------------------------------------------------------

/// Flow columns of the partial state, in order; all Int64 (MRR in cents).
pub const FLOWS: [&str; 18] = [
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "moved_in_mrr",
    "moved_out_mrr",
    "mrr_change",
    "new_customers",
    "expanded_customers",
    "contracted_customers",
    "churned_customers",
    "reactivated_customers",
    "moved_in_customers",
    "moved_out_customers",
    "customer_change",
    "new_and_churned_customers",
    "new_and_churned_mrr",
];
const NEW: usize = 0;
const EXP: usize = 1;
const CONTR: usize = 2;
const CHURN: usize = 3;
const REACT: usize = 4;
const MIN: usize = 5;
const MOUT: usize = 6;
const DMRR: usize = 7;
const NEW_C: usize = 8;
const EXP_C: usize = 9;
const CONTR_C: usize = 10;
const CHURN_C: usize = 11;
const REACT_C: usize = 12;
const MIN_C: usize = 13;
const MOUT_C: usize = 14;
const DCUST: usize = 15;
const FLASH_C: usize = 16;
/// Peak MRR of customers who joined and churned within the period, whatever the convention:
/// retention rates take it back out of churn, since those customers were not there at the start.
const FLASH_M: usize = 17;
const NF: usize = FLOWS.len();

type Flows = [i64; NF];

/// One ledger row: a customer's movements in one period within one segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub period: i64,
    pub seg: u32,
    pub starting: i64,
    pub ending: i64,
    pub flows: Flows,
    pub label: &'static str,
}

/// Flows summed per (period, segment): a dense table over the periods of the data when it is
/// small (the common case: a few dozen months × a few segments), hashing otherwise.
struct FlowSums {
    first: i64,
    n_periods: usize,
    n_segs: usize,
    dense: Vec<Flows>,
    sparse: HashMap<(i64, u32), Flows>,
    /// A sum left the i64 range: reported by `into_map` (the walk callbacks cannot fail).
    overflowed: bool,
}

/// `x += y`, flagging instead of saturating: a clamped sum would be a silently wrong number.
#[inline]
fn add_flows(x: &mut Flows, y: &Flows, overflowed: &mut bool) {
    for (a, b) in x.iter_mut().zip(y) {
        match a.checked_add(*b) {
            Some(v) => *a = v,
            None => *overflowed = true,
        }
    }
}

impl FlowSums {
    const DENSE_LIMIT: usize = 4096;

    fn new(first: Option<i64>, horizon: i64, n_segs: usize) -> Self {
        let (first, n_periods) = match first {
            Some(f) if horizon >= f => (f, (horizon - f + 1) as usize),
            _ => (0, 0),
        };
        let dense = if n_periods.saturating_mul(n_segs) <= Self::DENSE_LIMIT {
            vec![[0; NF]; n_periods * n_segs]
        } else {
            Vec::new()
        };
        FlowSums {
            first,
            n_periods,
            n_segs,
            dense,
            sparse: HashMap::new(),
            overflowed: false,
        }
    }

    #[inline]
    fn slot(&mut self, period: i64, seg: u32) -> &mut Flows {
        let p = period.wrapping_sub(self.first);
        if !self.dense.is_empty()
            && p >= 0
            && (p as usize) < self.n_periods
            && (seg as usize) < self.n_segs
        {
            &mut self.dense[p as usize * self.n_segs + seg as usize]
        } else {
            self.sparse.entry((period, seg)).or_insert([0; NF])
        }
    }

    #[inline]
    fn add(&mut self, e: Entry) {
        let mut overflowed = self.overflowed;
        add_flows(self.slot(e.period, e.seg), &e.flows, &mut overflowed);
        self.overflowed = overflowed;
    }

    fn absorb(&mut self, other: FlowSums) {
        let mut overflowed = self.overflowed || other.overflowed;
        for (a, b) in self.dense.iter_mut().zip(&other.dense) {
            add_flows(a, b, &mut overflowed);
        }
        for ((p, s), v) in other.sparse {
            add_flows(self.slot(p, s), &v, &mut overflowed);
        }
        self.overflowed = overflowed;
    }

    /// Every (period, segment) that saw an entry; untouched dense cells are left out.
    fn into_map(self) -> KpiResult<HashMap<(i64, u32), Flows>> {
        let mut overflowed = self.overflowed;
        let mut out = self.sparse;
        for (i, v) in self.dense.into_iter().enumerate() {
            if v.iter().any(|&x| x != 0) {
                let key = (
                    self.first + (i / self.n_segs) as i64,
                    (i % self.n_segs) as u32,
                );
                add_flows(out.entry(key).or_insert([0; NF]), &v, &mut overflowed);
            }
        }
        if overflowed {
            return Err(KpiError::Overflow {
                what: "MRR movement sum (cents, 64-bit)".into(),
            });
        }
        Ok(out)
    }
}

/// Walks one customer's series period by period and emits ledger entries. `horizon` cuts the
/// walk; `fill` also emits periods without change (for the detailed ledger).
fn walk(
    series: &Series,
    conv: &Conventions,
    freq: Freq,
    horizon: i64,
    fill: bool,
    emit: &mut dyn FnMut(Entry),
) {
    let (mut level, mut seg) = (0i64, NO_SEG);
    let mut ever = false;
    let mut last_active: i64 = i64::MIN; // last period ending with MRR
    let (mut pi, mut fi) = (0, 0);
    let rejoin = |q: i64, last: i64, ever: bool| -> bool {
        // true: reactivation; false: new
        if !ever {
            return false;
        }
        match conv.reactivation_window {
            Window::Any => true,
            Window::Periods(n) => q.saturating_sub(last).saturating_sub(1) <= n as i64,
            Window::Days(d) => {
                freq.start_day(q) - freq.start_day(last.saturating_add(1)) <= d as i64
            }
        }
    };
    // Periods where something happens: points and flashes merged in period order.
    while let Some(q) = series.next_period(pi, fi) {
        if q > horizon {
            break;
        }
        let (mut new_level, mut new_seg) = (level, seg);
        while pi < series.points.len() && series.points[pi].period == q {
            new_level = series.points[pi].level;
            new_seg = series.points[pi].seg;
            pi += 1;
        }
        let mut flash = None;
        while fi < series.flashes.len() && series.flashes[fi].period == q {
            flash = Some(series.flashes[fi]);
            fi += 1;
        }
        let (s, e) = (level, new_level);
        let mut f: Flows = [0; NF];
        if s == 0 && e == 0 {
            if let Some(fl) = flash.filter(|f| f.peak > 0) {
                let react = rejoin(q, last_active, ever);
                f[FLASH_C] = 1;
                f[FLASH_M] = fl.peak;
                let (m, c) = if react {
                    (REACT, REACT_C)
                } else {
                    (NEW, NEW_C)
                };
                match conv.same_period_new_churn {
                    SamePeriod::Count => {
                        f[m] = fl.peak;
                        f[c] = 1;
                        f[CHURN] = fl.peak;
                        f[CHURN_C] = 1;
                    }
                    SamePeriod::Exclude => {
                        f[m] = fl.peak;
                        f[c] = 1;
                        f[CHURN] = fl.peak;
                    }
                    SamePeriod::NetOutOfNew => {}
                }
                let label = if react {
                    "reactivation_and_churn"
                } else {
                    "new_and_churn"
                };
                emit(Entry {
                    period: q,
                    seg: fl.seg,
                    starting: 0,
                    ending: 0,
                    flows: f,
                    label,
                });
                ever = true;
                last_active = q;
            }
        } else if s == 0 {
            let react = rejoin(q, last_active, ever);
            if react {
                f[REACT] = e;
                f[REACT_C] = 1;
            } else {
                f[NEW] = e;
                f[NEW_C] = 1;
            }
            f[DMRR] = e;
            f[DCUST] = 1;
            emit(Entry {
                period: q,
                seg: new_seg,
                starting: 0,
                ending: e,
                flows: f,
                label: if react { "reactivation" } else { "new" },
            });
            ever = true;
        } else if e == 0 {
            f[CHURN] = s;
            f[CHURN_C] = 1;
            f[DMRR] = -s;
            f[DCUST] = -1;
            emit(Entry {
                period: q,
                seg,
                starting: s,
                ending: 0,
                flows: f,
                label: "churn",
            });
            last_active = q - 1;
        } else {
            let d = e - s;
            let mut g: Flows = [0; NF];
            if d > 0 {
                g[EXP] = d;
                g[EXP_C] = 1;
            } else if d < 0 {
                g[CONTR] = -d;
                g[CONTR_C] = 1;
            }
            if seg == new_seg {
                g[DMRR] = d;
                let label = match d.signum() {
                    1 => "expansion",
                    -1 => "contraction",
                    _ => "unchanged",
                };
                emit(Entry {
                    period: q,
                    seg,
                    starting: s,
                    ending: e,
                    flows: g,
                    label,
                });
            } else {
                // The starting MRR moves with the customer; the change lands in the new segment.
                f[MOUT] = s;
                f[MOUT_C] = 1;
                f[DMRR] = -s;
                f[DCUST] = -1;
                emit(Entry {
                    period: q,
                    seg,
                    starting: s,
                    ending: 0,
                    flows: f,
                    label: "moved_out",
                });
                g[MIN] = s;
                g[MIN_C] = 1;
                g[DMRR] = e;
                g[DCUST] = 1;
                emit(Entry {
                    period: q,
                    seg: new_seg,
                    starting: 0,
                    ending: e,
                    flows: g,
                    label: "moved_in",
                });
            }
        }
        level = new_level;
        seg = new_seg;
        if fill && level > 0 {
            let next = series
                .next_period(pi, fi)
                .unwrap_or(i64::MAX)
                .min(horizon + 1);
            for p in q + 1..next {
                emit(Entry {
                    period: p,
                    seg,
                    starting: level,
                    ending: level,
                    flows: [0; NF],
                    label: "unchanged",
                });
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Driving the computation over all customers
// ----------------------------------------------------------------------------------------------

/// Every customer's rows: customer `c`'s are `starts[c]..starts[c + 1]` in `rows`.
struct CustomerRows {
    starts: Vec<usize>,
    /// Row numbers grouped by customer (a counting sort); None when each customer's rows are
    /// already one run, in order of first appearance (= id order), as exports usually list
    /// them: then `starts` are input rows and the 8-bytes-a-row permutation is not built.
    rows: Option<Vec<usize>>,
}

impl CustomerRows {
    fn new(ids: &[u32], n_customers: usize) -> Self {
        let mut starts = Vec::with_capacity(n_customers + 1);
        let mut prev = u32::MAX;
        let mut in_runs = true;
        for (r, &c) in ids.iter().enumerate() {
            if c != prev {
                // A run of a customer met before (ids count first appearances).
                if c as usize != starts.len() {
                    in_runs = false;
                    break;
                }
                starts.push(r);
                prev = c;
            }
        }
        if in_runs {
            starts.push(ids.len());
            return CustomerRows { starts, rows: None };
        }
        starts.clear();
        starts.resize(n_customers + 1, 0);
        for &c in ids {
            starts[c as usize + 1] += 1;
        }
        for i in 0..n_customers {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut rows = vec![0usize; ids.len()];
        for (r, &c) in ids.iter().enumerate() {
            rows[fill[c as usize]] = r;
            fill[c as usize] += 1;
        }
        CustomerRows {
            starts,
            rows: Some(rows),
        }
    }

    /// Customer `c`'s rows into `out` (replacing its contents).
    #[inline]
    fn fill(&self, c: usize, out: &mut Vec<usize>) {
        let (a, b) = (self.starts[c], self.starts[c + 1]);
        out.clear();
        match &self.rows {
            Some(rows) => out.extend_from_slice(&rows[a..b]),
            None => out.extend(a..b),
        }
    }
}

fn series_of(
    prep: &Prepared,
    rows: &mut [usize],
    freq: Freq,
    out: &mut Series,
) -> KpiResult<Result<(), Conflict>> {
    match &prep.rows {
        Rows::Snapshots { period, cents } => snapshot_series(rows, period, cents, &prep.segs, out),
        Rows::Subscriptions {
            start,
            end,
            cents,
            snapshot,
        } => subscription_series(
            rows,
            start,
            end,
            cents,
            &prep.segs,
            prep.segmented,
            *snapshot,
            freq,
            out,
        ),
    }
}

/// Run `per_customer` over every customer in parallel and fold the results; the first segment
/// conflict (by customer order) becomes an error naming rows.
fn over_customers<T, F, M>(
    input: &RevenueInput,
    prep: &Prepared,
    identity: impl Fn() -> T + Sync + Send,
    per_customer: F,
    merge: M,
) -> KpiResult<T>
where
    T: Send,
    F: Fn(&mut T, u32, &Series) + Sync + Send,
    M: Fn(T, T) -> T + Sync + Send,
{
    let n_customers = prep.customers.len();
    let by_customer = CustomerRows::new(&prep.customers.ids, n_customers);
    // In kpikit's pool, so KPIKIT_MAX_THREADS holds here too (rayon's global pool ignores it).
    let results: Vec<KpiResult<(T, Vec<Conflict>)>> = super::parallel::install(|| {
        let chunk = (n_customers / (rayon::current_num_threads() * 8)).max(256);
        (0..n_customers.div_ceil(chunk))
            .into_par_iter()
            .map(|k| {
                let mut acc = identity();
                let mut conflicts = Vec::new();
                // Scratch reused across the task's customers: no allocation per customer.
                let (mut rows, mut series) = (Vec::new(), Series::default());
                for c in k * chunk..((k + 1) * chunk).min(n_customers) {
                    by_customer.fill(c, &mut rows);
                    match series_of(prep, &mut rows, input.freq, &mut series)? {
                        Ok(()) => per_customer(&mut acc, c as u32, &series),
                        Err(x) => {
                            if conflicts.len() < super::error::MAX_EXAMPLES {
                                conflicts.push(x)
                            }
                        }
                    }
                }
                Ok((acc, conflicts))
            })
            .collect()
    });
    let mut total = identity();
    let mut conflicts = Vec::new();
    for r in results {
        let (acc, c) = r?;
        total = merge(total, acc);
        conflicts.extend(c);
    }
    if !conflicts.is_empty() {
        let mut bad = BadRows::default();
        for (a, b, p) in conflicts {
            let date = start_dates(input.freq, [Some(p)]).value(0);
            bad.push(b, || {
                format!(
                    "same customer and period ({}) as row {a} with another segment",
                    date_text(date as i64)
                )
            });
        }
        let names: Vec<&str> = input.segments.iter().map(|s| s.name.as_str()).collect();
        return Err(KpiError::InvalidValues {
            column: names.join(", "),
            rule: "a customer must have one segment value per period".into(),
            rows: bad,
        });
    }
    Ok(total)
}

fn date_text(day: i64) -> String {
    let (y, m, d) = super::time::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

// ----------------------------------------------------------------------------------------------
// Public kernels
// ----------------------------------------------------------------------------------------------

const META_KIND: &str = "kpikit.kind";
const KIND_STATE: &str = "mrr_movements_state";
const META_FREQ: &str = "kpikit.freq";
const META_SEGMENTS: &str = "kpikit.segments";
const META_HORIZON: &str = "kpikit.horizon";
const META_CONVENTIONS: &str = "kpikit.conventions";
/// Money columns of the state are in hundredths of the input unit.
const META_UNIT: &str = "kpikit.money_unit";

/// MRR per customer per period: `customer`, `period` (start date), `mrr` (float64, input unit);
/// one row per period with MRR, ordered by customer (first appearance) then period.
pub fn customer_mrr(input: &RevenueInput) -> KpiResult<RecordBatch> {
    let prep = prepare(input)?;
    let horizon = prep.horizon.unwrap_or(i64::MIN);
    let conv = Conventions::default();
    let out = over_customers(
        input,
        &prep,
        Vec::new,
        |acc: &mut Vec<(u32, i64, i64)>, c, s| {
            walk(s, &conv, input.freq, horizon, true, &mut |e| {
                if e.ending > 0 {
                    acc.push((c, e.period, e.ending));
                }
            })
        },
        |mut a, b| {
            a.extend(b);
            a
        },
    )?;
    let cust_rows: Vec<usize> = out
        .iter()
        .map(|x| prep.customers.first_row[x.0 as usize])
        .collect();
    let customer = take_rows(&input.customer, &cust_rows)?;
    let period = start_dates(input.freq, out.iter().map(|x| Some(x.1)));
    let mrr: Float64Array = out.iter().map(|x| Some(x.2 as f64 / CENTS)).collect();
    let schema = Schema::new(vec![
        Field::new(&input.customer.name, customer.data_type().clone(), true),
        Field::new("period", DataType::Date32, true),
        Field::new("mrr", DataType::Float64, true),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            customer,
            Arc::new(Date32Array::from(period.values().to_vec())),
            Arc::new(mrr),
        ],
    )?)
}

/// Segment values (one column per segment) of the segment groups `segs`.
fn segment_columns(
    input: &RevenueInput,
    prep: &Prepared,
    segs: &[u32],
) -> KpiResult<Vec<ArrayRef>> {
    let rows: Vec<usize> = segs
        .iter()
        .map(|&g| {
            prep.segment_groups
                .first_row
                .get(g as usize)
                .copied()
                .ok_or_else(|| KpiError::Internal("ledger entry without a segment".into()))
        })
        .collect::<KpiResult<_>>()?;
    input.segments.iter().map(|c| take_rows(c, &rows)).collect()
}

/// The partial state of [`finish_movements`]: per (period, segments…), the flows of
/// [`FLOWS`] (MRR in cents). Partition the input by customer; states then merge exactly.
pub fn movement_state(input: &RevenueInput, conv: &Conventions) -> KpiResult<RecordBatch> {
    let prep = prepare(input)?;
    // Churns after the last period are cut at finish, once the horizon of all partitions is known.
    let horizon = prep.horizon.map(|h| h + 1).unwrap_or(i64::MIN);
    let first = match &prep.rows {
        Rows::Snapshots { period, .. } => period.iter().min().copied(),
        Rows::Subscriptions { start, .. } => {
            start.iter().map(|&s| input.freq.ordinal_of_micros(s)).min()
        }
    };
    let n_segs = prep.segment_groups.len().max(1);
    let new_acc = || FlowSums::new(first, horizon, n_segs);
    let sums = over_customers(
        input,
        &prep,
        new_acc,
        |acc, _c, s| walk(s, conv, input.freq, horizon, false, &mut |e| acc.add(e)),
        |mut a, b| {
            a.absorb(b);
            a
        },
    )?
    .into_map()?;
    let mut keys: Vec<(i64, u32)> = sums.keys().copied().collect();
    keys.sort_unstable();
    let mut fields = vec![Field::new("period", DataType::Date32, true)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(Date32Array::from(
        start_dates(input.freq, keys.iter().map(|k| Some(k.0)))
            .values()
            .to_vec(),
    ))];
    let segs: Vec<u32> = keys.iter().map(|k| k.1).collect();
    for (c, a) in input
        .segments
        .iter()
        .zip(segment_columns(input, &prep, &segs)?)
    {
        fields.push(Field::new(&c.name, a.data_type().clone(), true));
        columns.push(a);
    }
    for (j, name) in FLOWS.iter().enumerate() {
        fields.push(Field::new(*name, DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from_iter_values(
            keys.iter().map(|k| sums[k][j]),
        )));
    }
    let mut meta = StdHashMap::new();
    meta.insert(META_KIND.into(), KIND_STATE.into());
    meta.insert(META_FREQ.into(), input.freq.label());
    meta.insert(META_SEGMENTS.into(), input.segments.len().to_string());
    meta.insert(
        META_HORIZON.into(),
        prep.horizon
            .map(|h| input.freq.start_day(h).to_string())
            .unwrap_or_default(),
    );
    meta.insert(META_CONVENTIONS.into(), conv.to_json());
    meta.insert(META_UNIT.into(), "cents".into());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}

/// What a movement state says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct StateInfo {
    pub freq: Freq,
    pub n_segments: usize,
    /// Start day of the last period of the data (None: no data).
    pub horizon: Option<i64>,
    pub conventions: Conventions,
}

pub fn state_info(schema: &SchemaRef) -> KpiResult<StateInfo> {
    let meta = schema.metadata();
    let get = |k: &str| {
        meta.get(k).ok_or_else(|| {
            KpiError::param(
                "state",
                format!("not an MRR movement state (no {k:?} metadata)"),
            )
        })
    };
    if get(META_KIND)? != KIND_STATE {
        return Err(KpiError::param("state", "not an MRR movement state"));
    }
    let h = get(META_HORIZON)?;
    Ok(StateInfo {
        freq: Freq::from_label(get(META_FREQ)?)?,
        n_segments: get(META_SEGMENTS)?
            .parse()
            .map_err(|_| KpiError::param("state", "bad segments metadata"))?,
        horizon: if h.is_empty() {
            None
        } else {
            Some(
                h.parse()
                    .map_err(|_| KpiError::param("state", "bad horizon metadata"))?,
            )
        },
        conventions: Conventions::from_json(get(META_CONVENTIONS)?)?,
    })
}

/// Merge the states of customer partitions (every customer's rows in one partition): flows add
/// up, the horizon is the latest.
pub fn merge_movement_states(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let first = states
        .first()
        .ok_or_else(|| KpiError::param("states", "at least one partial state is needed"))?;
    let info = state_info(&first.schema())?;
    let mut horizon = info.horizon;
    for s in states {
        let i = state_info(&s.schema())?;
        if i.freq != info.freq
            || i.n_segments != info.n_segments
            || i.conventions != info.conventions
        {
            return Err(KpiError::param(
                "states",
                "partial states were computed with different freq, segments or conventions",
            ));
        }
        horizon = horizon.max(i.horizon);
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
    meta.insert(
        META_HORIZON.into(),
        horizon.map(|h| h.to_string()).unwrap_or_default(),
    );
    let schema = Arc::new(Schema::new_with_metadata(
        merged.schema().fields().clone(),
        meta,
    ));
    Ok(RecordBatch::try_new(schema, merged.columns().to_vec())?)
}

/// Movements per period (and segment) from a state: one row per period from the first with MRR
/// to the last of the data, gaps filled, segments sorted. Balances are cumulated changes:
/// `ending_mrr = Σ mrr_change` up to the period, `starting_mrr` = the previous ending.
pub fn finish_movements(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let info = state_info(&state.schema())?;
    let n_keys = 1 + info.n_segments;
    let dates = state.column(0).as_primitive::<Date32Type>();
    // Drop churns recorded after the last period of the data.
    let keep: arrow::array::BooleanArray = dates
        .iter()
        .map(|d| Some(matches!((d, info.horizon), (Some(d), Some(h)) if (d as i64) <= h)))
        .collect();
    let state = arrow::compute::filter_record_batch(state, &keep)?;
    // A zero row at the horizon for every segment so each one runs to the end of the data.
    let state = if let (Some(h), true) = (info.horizon, state.num_rows() > 0) {
        let seg_cols: Vec<Column> = (1..n_keys)
            .map(|j| {
                Column::from_array(
                    state.schema().field(j).name().clone(),
                    state.column(j).clone(),
                )
            })
            .collect();
        let firsts: Vec<usize> = if seg_cols.is_empty() {
            vec![0]
        } else {
            group_ids(&seg_cols)?.first_row
        };
        let idx = UInt64Array::from_iter_values(firsts.iter().map(|&r| r as u64));
        let mut cols: Vec<ArrayRef> =
            vec![Arc::new(Date32Array::from(vec![h as i32; firsts.len()]))];
        for j in 1..n_keys {
            cols.push(take(state.column(j).as_ref(), &idx, None)?);
        }
        for _ in 0..NF {
            cols.push(Arc::new(Int64Array::from(vec![0i64; firsts.len()])));
        }
        let plain = Arc::new(Schema::new(state.schema().fields().clone()));
        let a = RecordBatch::try_new(plain.clone(), state.columns().to_vec())?;
        let b = RecordBatch::try_new(plain, cols)?;
        merge_sum(&[a, b], n_keys)?
    } else {
        state
    };
    let g = grid(&state, true, info.n_segments, Some(info.freq))?;
    let flow = |j: usize| state.column(n_keys + j).as_primitive::<Int64Type>();
    let flows: Vec<&Int64Array> = (0..NF).map(flow).collect();
    let n = g.source.len();
    let mut v = vec![vec![0i64; n]; NF];
    for (row, src) in g.source.iter().enumerate() {
        if let Some(r) = src {
            for (vj, fj) in v.iter_mut().zip(&flows) {
                vj[row] = fj.value(*r);
            }
        }
    }
    // Cumulate balances along each segment's run of periods: the grid lays every segment out
    // over the same ascending periods, so a run restarts where the period goes back.
    let periods = g.keys[0].as_primitive::<Date32Type>();
    let (mut start_m, mut end_m, mut start_c, mut end_c) =
        (vec![0i64; n], vec![0i64; n], vec![0i64; n], vec![0i64; n]);
    let (mut bal_m, mut bal_c) = (0i64, 0i64);
    for row in 0..n {
        if row == 0 || periods.value(row) <= periods.value(row - 1) {
            bal_m = 0;
            bal_c = 0;
        }
        start_m[row] = bal_m;
        start_c[row] = bal_c;
        bal_m = add(bal_m, v[DMRR][row])?;
        bal_c = add(bal_c, v[DCUST][row])?;
        end_m[row] = bal_m;
        end_c[row] = bal_c;
    }
    let money = |x: &[i64]| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            x.iter().map(|&c| c as f64 / CENTS),
        ))
    };
    let count = |x: &[i64]| -> ArrayRef { Arc::new(Int64Array::from(x.to_vec())) };
    let net: Vec<i64> = (0..n)
        .map(|r| v[NEW][r] + v[EXP][r] + v[REACT][r] - v[CONTR][r] - v[CHURN][r])
        .collect();
    let segmented = info.n_segments > 0;
    let mut out: Vec<(String, ArrayRef)> = Vec::new();
    for j in 0..n_keys {
        out.push((state.schema().field(j).name().clone(), g.keys[j].clone()));
    }
    out.push(("starting_mrr".into(), money(&start_m)));
    out.push(("new_mrr".into(), money(&v[NEW])));
    out.push(("expansion_mrr".into(), money(&v[EXP])));
    out.push(("contraction_mrr".into(), money(&v[CONTR])));
    out.push(("churned_mrr".into(), money(&v[CHURN])));
    out.push(("reactivation_mrr".into(), money(&v[REACT])));
    if segmented {
        out.push(("moved_in_mrr".into(), money(&v[MIN])));
        out.push(("moved_out_mrr".into(), money(&v[MOUT])));
    }
    out.push(("ending_mrr".into(), money(&end_m)));
    out.push(("net_new_mrr".into(), money(&net)));
    out.push(("starting_customers".into(), count(&start_c)));
    out.push(("new_customers".into(), count(&v[NEW_C])));
    out.push(("expanded_customers".into(), count(&v[EXP_C])));
    out.push(("contracted_customers".into(), count(&v[CONTR_C])));
    out.push(("churned_customers".into(), count(&v[CHURN_C])));
    out.push(("reactivated_customers".into(), count(&v[REACT_C])));
    if segmented {
        out.push(("moved_in_customers".into(), count(&v[MIN_C])));
        out.push(("moved_out_customers".into(), count(&v[MOUT_C])));
    }
    out.push(("ending_customers".into(), count(&end_c)));
    out.push(("new_and_churned_customers".into(), count(&v[FLASH_C])));
    out.push(("new_and_churned_mrr".into(), money(&v[FLASH_M])));
    let fields: Vec<Field> = out
        .iter()
        .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
        .collect();
    let mut meta = StdHashMap::new();
    meta.insert(META_CONVENTIONS.into(), info.conventions.to_json());
    meta.insert(META_FREQ.into(), info.freq.label());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        out.into_iter().map(|x| x.1).collect(),
    )?)
}

/// The per-customer ledger: one row per customer, period and segment in which the customer has
/// MRR at either end of the period (or joined and churned within it), ordered by customer (first
/// appearance) then period. Columns: customer, period, segments, starting_mrr, the movements,
/// (moved_in_mrr, moved_out_mrr with segments), ending_mrr, and `movement` (new, reactivation,
/// expansion, contraction, unchanged, churn, moved_in, moved_out, new_and_churn,
/// reactivation_and_churn).
pub fn movement_ledger(input: &RevenueInput, conv: &Conventions) -> KpiResult<RecordBatch> {
    let prep = prepare(input)?;
    let horizon = prep.horizon.unwrap_or(i64::MIN);
    let entries = over_customers(
        input,
        &prep,
        Vec::new,
        |acc: &mut Vec<(u32, Entry)>, c, s| {
            walk(s, conv, input.freq, horizon, true, &mut |e| {
                acc.push((c, e))
            })
        },
        |mut a, b| {
            a.extend(b);
            a
        },
    )?;
    let cust_rows: Vec<usize> = entries
        .iter()
        .map(|x| prep.customers.first_row[x.0 as usize])
        .collect();
    let mut out: Vec<(String, ArrayRef)> = vec![
        (
            input.customer.name.clone(),
            take_rows(&input.customer, &cust_rows)?,
        ),
        (
            "period".into(),
            Arc::new(Date32Array::from(
                start_dates(input.freq, entries.iter().map(|x| Some(x.1.period)))
                    .values()
                    .to_vec(),
            )),
        ),
    ];
    let segs: Vec<u32> = entries.iter().map(|x| x.1.seg).collect();
    for (c, a) in input
        .segments
        .iter()
        .zip(segment_columns(input, &prep, &segs)?)
    {
        out.push((c.name.clone(), a));
    }
    let money = |f: &dyn Fn(&Entry) -> i64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            entries.iter().map(|x| f(&x.1) as f64 / CENTS),
        ))
    };
    out.push(("starting_mrr".into(), money(&|e: &Entry| e.starting)));
    for (name, j) in [
        ("new_mrr", NEW),
        ("expansion_mrr", EXP),
        ("contraction_mrr", CONTR),
        ("churned_mrr", CHURN),
        ("reactivation_mrr", REACT),
    ] {
        out.push((name.into(), money(&|e: &Entry| e.flows[j])));
    }
    if !input.segments.is_empty() {
        out.push(("moved_in_mrr".into(), money(&|e: &Entry| e.flows[MIN])));
        out.push(("moved_out_mrr".into(), money(&|e: &Entry| e.flows[MOUT])));
    }
    out.push(("ending_mrr".into(), money(&|e: &Entry| e.ending)));
    out.push((
        "movement".into(),
        Arc::new(StringArray::from_iter_values(
            entries.iter().map(|x| x.1.label),
        )),
    ));
    let fields: Vec<Field> = out
        .iter()
        .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
        .collect();
    let mut meta = StdHashMap::new();
    meta.insert(META_CONVENTIONS.into(), conv.to_json());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        out.into_iter().map(|x| x.1).collect(),
    )?)
}

// ----------------------------------------------------------------------------------------------
// Revenue cohorts
// ----------------------------------------------------------------------------------------------

const KIND_COHORTS: &str = "revenue_cohorts_state";

/// Cohorts as partial → merge → finish: per (cohort, period) the change in the number of the
/// cohort's customers with MRR and in their MRR (cents); finish cumulates the changes up to the
/// last period of all partitions, so a customer still active in one partition counts until the
/// end of the data seen in another. A customer's cohort is the first period it ends with MRR;
/// it stays there when it leaves and comes back. Partition by customer.
pub fn cohort_state(input: &RevenueInput) -> KpiResult<RecordBatch> {
    let prep = prepare(input)?;
    // Changes after the last period are cut at finish, once the horizon of all partitions is known.
    let horizon = prep.horizon.map(|h| h + 1).unwrap_or(i64::MIN);
    let conv = Conventions::default();
    // The flag records an MRR sum leaving the i64 range (the walk callback cannot fail).
    let (sums, overflowed) = over_customers(
        input,
        &prep,
        || (HashMap::<(i64, i64), (i64, i64)>::new(), false),
        |(acc, overflowed), _c, s| {
            let mut cohort = None;
            walk(s, &conv, input.freq, horizon, false, &mut |e| {
                if e.ending > 0 && cohort.is_none() {
                    cohort = Some(e.period);
                }
                if let Some(c) = cohort {
                    let slot = acc.entry((c, e.period)).or_insert((0, 0));
                    slot.0 += (e.ending > 0) as i64 - (e.starting > 0) as i64;
                    match e
                        .ending
                        .checked_sub(e.starting)
                        .and_then(|d| slot.1.checked_add(d))
                    {
                        Some(v) => slot.1 = v,
                        None => *overflowed = true,
                    }
                }
            })
        },
        |(mut a, mut overflowed), (b, b_overflowed)| {
            overflowed |= b_overflowed;
            for (k, v) in b {
                let slot = a.entry(k).or_insert((0, 0));
                slot.0 += v.0;
                match slot.1.checked_add(v.1) {
                    Some(x) => slot.1 = x,
                    None => overflowed = true,
                }
            }
            (a, overflowed)
        },
    )?;
    if overflowed {
        return Err(KpiError::Overflow {
            what: "MRR cohort sum (cents, 64-bit)".into(),
        });
    }
    let mut keys: Vec<(i64, i64)> = sums.keys().copied().collect();
    keys.sort_unstable();
    let dates = |f: &dyn Fn(&(i64, i64)) -> i64| -> ArrayRef {
        Arc::new(Date32Array::from(
            start_dates(input.freq, keys.iter().map(|k| Some(f(k))))
                .values()
                .to_vec(),
        ))
    };
    let columns: Vec<ArrayRef> = vec![
        dates(&|k| k.0),
        dates(&|k| k.1),
        Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| sums[k].0))),
        Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| sums[k].1))),
    ];
    let fields = vec![
        Field::new("cohort", DataType::Date32, false),
        Field::new("period", DataType::Date32, false),
        Field::new("customer_change", DataType::Int64, false),
        Field::new("mrr_change", DataType::Int64, false),
    ];
    let mut meta = StdHashMap::new();
    meta.insert(META_KIND.into(), KIND_COHORTS.into());
    meta.insert(META_FREQ.into(), input.freq.label());
    meta.insert(
        META_HORIZON.into(),
        prep.horizon
            .map(|h| input.freq.start_day(h).to_string())
            .unwrap_or_default(),
    );
    meta.insert(META_UNIT.into(), "cents".into());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}

/// Freq and horizon (start day of the last period) of a cohort state.
fn cohort_info(schema: &SchemaRef) -> KpiResult<(Freq, Option<i64>)> {
    let meta = schema.metadata();
    if meta.get(META_KIND).map(String::as_str) != Some(KIND_COHORTS) {
        return Err(KpiError::param("state", "not a revenue cohort state"));
    }
    let freq = Freq::from_label(
        meta.get(META_FREQ)
            .ok_or_else(|| KpiError::param("state", "no freq metadata"))?,
    )?;
    let h = meta.get(META_HORIZON).map(String::as_str).unwrap_or("");
    let horizon = if h.is_empty() {
        None
    } else {
        Some(
            h.parse()
                .map_err(|_| KpiError::param("state", "bad horizon metadata"))?,
        )
    };
    Ok((freq, horizon))
}

/// Merge cohort states of customer partitions: counts and MRR add up, the horizon is the latest.
pub fn merge_cohort_states(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let first = states
        .first()
        .ok_or_else(|| KpiError::param("states", "at least one partial state is needed"))?;
    let (freq, mut horizon) = cohort_info(&first.schema())?;
    for s in states {
        let (f, h) = cohort_info(&s.schema())?;
        if f != freq {
            return Err(KpiError::param(
                "states",
                "partial states were computed with different freq",
            ));
        }
        horizon = horizon.max(h);
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
    let merged = merge_sum(&plain, 2)?;
    let mut meta = first.schema().metadata().clone();
    meta.insert(
        META_HORIZON.into(),
        horizon.map(|h| h.to_string()).unwrap_or_default(),
    );
    let fields: Vec<Field> = merged
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(false))
        .collect();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        merged.columns().to_vec(),
    )?)
}

/// The cohort triangle in long form: one row per cohort and period from the cohort's first
/// period to the last of the data, with the cohort's size and starting MRR (its first period),
/// the customers and MRR it retains, and their ratios.
pub fn finish_cohorts(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let (freq, horizon) = cohort_info(&state.schema())?;
    let cohort = state.column(0).as_primitive::<Date32Type>();
    let period = state.column(1).as_primitive::<Date32Type>();
    let customers = state.column(2).as_primitive::<Int64Type>();
    let cents = state.column(3).as_primitive::<Int64Type>();
    let ord = |day: i32| freq.ordinal_of_day(day as i64);
    let mut cells: std::collections::BTreeMap<(i64, i64), (i64, i64)> = Default::default();
    for i in 0..state.num_rows() {
        cells.insert(
            (ord(cohort.value(i)), ord(period.value(i))),
            (customers.value(i), cents.value(i)),
        );
    }
    let last = horizon.map(|h| freq.ordinal_of_day(h));
    let cohorts: std::collections::BTreeSet<i64> = cells.keys().map(|k| k.0).collect();
    let (mut c_col, mut p_col, mut n_col) = (Vec::new(), Vec::new(), Vec::new());
    let (mut size, mut base, mut kept, mut kept_m) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &c in &cohorts {
        let Some(end) = last.filter(|&l| l >= c) else {
            continue;
        };
        let (s, b) = cells.get(&(c, c)).copied().unwrap_or((0, 0));
        let (mut k, mut m) = (0i64, 0i64);
        for p in c..=end {
            let (dk, dm) = cells.get(&(c, p)).copied().unwrap_or((0, 0));
            k += dk;
            m = add(m, dm)?;
            c_col.push(Some(c));
            p_col.push(Some(p));
            n_col.push(p - c);
            size.push(s);
            base.push(b);
            kept.push(k);
            kept_m.push(m);
        }
    }
    let ratio = |a: &[i64], b: &[i64]| -> ArrayRef {
        Arc::new(Float64Array::from_iter(
            a.iter()
                .zip(b)
                .map(|(&x, &y)| (y != 0).then(|| x as f64 / y as f64)),
        ))
    };
    let money = |x: &[i64]| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            x.iter().map(|&c| c as f64 / CENTS),
        ))
    };
    let date = |x: Vec<Option<i64>>| -> ArrayRef {
        Arc::new(Date32Array::from(start_dates(freq, x).values().to_vec()))
    };
    let out: Vec<(&str, ArrayRef)> = vec![
        ("cohort", date(c_col)),
        ("period", date(p_col)),
        ("period_number", Arc::new(Int64Array::from(n_col))),
        ("cohort_size", Arc::new(Int64Array::from(size.clone()))),
        ("cohort_mrr", money(&base)),
        (
            "retained_customers",
            Arc::new(Int64Array::from(kept.clone())),
        ),
        ("retained_mrr", money(&kept_m)),
        ("logo_retention", ratio(&kept, &size)),
        ("net_mrr_retention", ratio(&kept_m, &base)),
    ];
    let fields: Vec<Field> = out
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let mut meta = StdHashMap::new();
    meta.insert(META_FREQ.into(), freq.label());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        out.into_iter().map(|x| x.1).collect(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::days_from_civil;
    use arrow::array::{Float64Array, Int32Array, TimestampMicrosecondArray};
    use arrow::datatypes::Float64Type;

    fn day(y: i64, m: u32, d: u32) -> i32 {
        days_from_civil(y, m, d) as i32
    }

    fn rows_of(by: &CustomerRows, c: usize) -> Vec<usize> {
        let mut out = vec![99];
        by.fill(c, &mut out);
        out
    }

    #[test]
    fn customer_rows_in_runs_or_permuted() {
        // Each customer one run, in id order: the rows are the input rows, no permutation.
        let runs = CustomerRows::new(&[0, 0, 1, 2, 2, 2], 3);
        assert!(runs.rows.is_none());
        assert_eq!(runs.starts, vec![0, 2, 3, 6]);
        assert_eq!(rows_of(&runs, 2), vec![3, 4, 5]);
        // Customer 0 comes back after customer 1: rows grouped by a counting sort.
        let back = CustomerRows::new(&[0, 1, 0, 2, 1], 3);
        assert_eq!(back.starts, vec![0, 2, 4, 5]);
        assert_eq!(back.rows.as_deref(), Some(&[0, 2, 1, 4, 3][..]));
        assert_eq!(rows_of(&back, 1), vec![1, 4]);
        let empty = CustomerRows::new(&[], 0);
        assert_eq!(empty.starts, vec![0]);
    }

    fn strings(name: &str, v: &[&str]) -> Column {
        Column::from_array(name, Arc::new(StringArray::from(v.to_vec())))
    }

    /// Snapshots: (customer, period day, mrr, segment).
    fn snapshots(rows: &[(&str, i32, f64, &str)], by: bool) -> RevenueInput {
        RevenueInput {
            customer: strings("customer", &rows.iter().map(|r| r.0).collect::<Vec<_>>()),
            source: Source::Snapshots {
                period: Column::from_array(
                    "month",
                    Arc::new(Date32Array::from(
                        rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                    )),
                ),
                mrr: Column::from_array(
                    "mrr",
                    Arc::new(Float64Array::from(
                        rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                    )),
                ),
            },
            segments: if by {
                vec![strings(
                    "plan",
                    &rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                )]
            } else {
                vec![]
            },
            freq: Freq::Month,
            zone: Zone::Utc,
        }
    }

    /// Subscriptions: (customer, start day, end day, amount, interval).
    fn subscriptions(
        rows: &[(&str, i32, Option<i32>, f64, &str)],
        snapshot: Snapshot,
    ) -> RevenueInput {
        let us = |d: i32| d as i64 * US_PER_DAY;
        RevenueInput {
            customer: strings("customer", &rows.iter().map(|r| r.0).collect::<Vec<_>>()),
            source: Source::Subscriptions {
                start: Column::from_array(
                    "start",
                    Arc::new(TimestampMicrosecondArray::from(
                        rows.iter().map(|r| us(r.1)).collect::<Vec<_>>(),
                    )),
                ),
                end: Some(Column::from_array(
                    "end",
                    Arc::new(TimestampMicrosecondArray::from(
                        rows.iter().map(|r| r.2.map(us)).collect::<Vec<_>>(),
                    )),
                )),
                amount: Column::from_array(
                    "amount",
                    Arc::new(Float64Array::from(
                        rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                    )),
                ),
                interval: Some(strings(
                    "interval",
                    &rows.iter().map(|r| r.4).collect::<Vec<_>>(),
                )),
                snapshot,
            },
            segments: vec![],
            freq: Freq::Month,
            zone: Zone::Utc,
        }
    }

    fn movements(input: &RevenueInput, conv: &Conventions) -> RecordBatch {
        finish_movements(&movement_state(input, conv).unwrap()).unwrap()
    }

    /// `n` customers starting in the same month at the largest accepted MRR.
    fn at_max_amount(names: &[String]) -> RevenueInput {
        let rows: Vec<(&str, i32, f64, &str)> = names
            .iter()
            .map(|n| (n.as_str(), day(2026, 1, 1), MAX_AMOUNT, "x"))
            .collect();
        snapshots(&rows, false)
    }

    #[test]
    fn movement_and_cohort_sums_beyond_i64_are_an_error_not_clamped() {
        // MAX_AMOUNT is 9_007_199_254_740_900 cents (2^53 - 92). 1 024 of them sum to
        // 2^63 - 94 208, just inside i64; 1 025 do not. The sums used to saturate at i64::MAX
        // silently, a wrong number on the board.
        let names: Vec<String> = (0..1025).map(|i| format!("c{i:04}")).collect();
        let conv = Conventions::default();
        let fits = movements(&at_max_amount(&names[..1024]), &conv);
        let new_mrr = fits
            .column_by_name("new_mrr")
            .unwrap()
            .as_primitive::<Float64Type>()
            .value(0);
        assert_eq!(new_mrr, (i64::MAX - 94_207) as f64 / 100.0);
        assert!(cohort_state(&at_max_amount(&names[..1024])).is_ok());

        let too_many = at_max_amount(&names);
        let err = movement_state(&too_many, &conv).unwrap_err();
        assert!(matches!(err, KpiError::Overflow { .. }), "{err}");
        assert!(err.to_string().contains("overflowed"));
        let err = cohort_state(&too_many).unwrap_err();
        assert!(matches!(err, KpiError::Overflow { .. }), "{err}");
    }

    #[test]
    fn flow_sums_flag_overflow_in_add_absorb_and_dense_to_map() {
        let entry = |v: i64| Entry {
            period: 0,
            seg: 0,
            starting: 0,
            ending: v,
            flows: [v; NF],
            label: "new",
        };
        // Dense cell: two adds past i64::MAX.
        let mut a = FlowSums::new(Some(0), 0, 1);
        a.add(entry(i64::MAX));
        a.add(entry(1));
        assert!(matches!(a.into_map(), Err(KpiError::Overflow { .. })));
        // Each part fits; merging the parts does not.
        let (mut a, mut b) = (FlowSums::new(Some(0), 0, 1), FlowSums::new(Some(0), 0, 1));
        a.add(entry(i64::MAX - 1));
        b.add(entry(2));
        a.absorb(b);
        assert!(matches!(a.into_map(), Err(KpiError::Overflow { .. })));
        // Negative flows (contraction) overflow downwards too.
        let mut a = FlowSums::new(Some(0), 0, 1);
        a.add(entry(i64::MIN));
        a.add(entry(-1));
        assert!(matches!(a.into_map(), Err(KpiError::Overflow { .. })));
        // Within range: exact.
        let mut a = FlowSums::new(Some(0), 0, 1);
        a.add(entry(i64::MAX - 5));
        a.add(entry(5));
        assert_eq!(a.into_map().unwrap()[&(0, 0)], [i64::MAX; NF]);
    }

    fn money(b: &RecordBatch, name: &str) -> Vec<i64> {
        b.column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .as_primitive::<Float64Type>()
            .values()
            .iter()
            .map(|v| (v * 100.0).round() as i64)
            .collect()
    }

    fn counts(b: &RecordBatch, name: &str) -> Vec<i64> {
        b.column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    /// `ending = starting + new + expansion + reactivation − contraction − churned (+ moves)`
    /// on every row, exactly in cents.
    fn assert_identity(b: &RecordBatch) {
        let col = |n: &str| {
            if b.column_by_name(n).is_some() {
                money(b, n)
            } else {
                vec![0; b.num_rows()]
            }
        };
        let (s, e) = (col("starting_mrr"), col("ending_mrr"));
        let (nw, ex, co, ch, re) = (
            col("new_mrr"),
            col("expansion_mrr"),
            col("contraction_mrr"),
            col("churned_mrr"),
            col("reactivation_mrr"),
        );
        let (mi, mo) = (col("moved_in_mrr"), col("moved_out_mrr"));
        for r in 0..b.num_rows() {
            assert_eq!(
                e[r],
                s[r] + nw[r] + ex[r] + re[r] - co[r] - ch[r] + mi[r] - mo[r],
                "row {r}"
            );
        }
    }

    const JAN: (i64, u32) = (2026, 1);

    fn month(k: u32) -> i32 {
        day(JAN.0, JAN.1 + k, 1)
    }

    #[test]
    fn hand_computed_ledger_new_expansion_contraction_churn_reactivation() {
        // A: 100, 150, 120, –, 80; B joins in February at 50.
        let rows = [
            ("A", month(0), 100.0, ""),
            ("A", month(1), 150.0, ""),
            ("A", month(2), 120.0, ""),
            ("A", month(4), 80.0, ""),
            ("B", month(1), 20.0, ""),
            ("B", month(1), 30.0, ""), // two rows of one period add up
            ("B", month(2), 50.0, ""),
            ("B", month(3), 50.0, ""),
            ("B", month(4), 50.0, ""),
        ];
        let out = movements(&snapshots(&rows, false), &Conventions::default());
        assert_eq!(
            out.column(0).as_primitive::<Date32Type>().values().to_vec(),
            (0..5).map(month).collect::<Vec<_>>()
        );
        assert_eq!(
            money(&out, "starting_mrr"),
            vec![0, 10000, 20000, 17000, 5000]
        );
        assert_eq!(money(&out, "new_mrr"), vec![10000, 5000, 0, 0, 0]);
        assert_eq!(money(&out, "expansion_mrr"), vec![0, 5000, 0, 0, 0]);
        assert_eq!(money(&out, "contraction_mrr"), vec![0, 0, 3000, 0, 0]);
        assert_eq!(money(&out, "churned_mrr"), vec![0, 0, 0, 12000, 0]);
        assert_eq!(money(&out, "reactivation_mrr"), vec![0, 0, 0, 0, 8000]);
        assert_eq!(
            money(&out, "ending_mrr"),
            vec![10000, 20000, 17000, 5000, 13000]
        );
        assert_eq!(
            money(&out, "net_new_mrr"),
            vec![10000, 10000, -3000, -12000, 8000]
        );
        assert_eq!(counts(&out, "starting_customers"), vec![0, 1, 2, 2, 1]);
        assert_eq!(counts(&out, "new_customers"), vec![1, 1, 0, 0, 0]);
        assert_eq!(counts(&out, "expanded_customers"), vec![0, 1, 0, 0, 0]);
        assert_eq!(counts(&out, "contracted_customers"), vec![0, 0, 1, 0, 0]);
        assert_eq!(counts(&out, "churned_customers"), vec![0, 0, 0, 1, 0]);
        assert_eq!(counts(&out, "reactivated_customers"), vec![0, 0, 0, 0, 1]);
        assert_eq!(counts(&out, "ending_customers"), vec![1, 2, 2, 1, 2]);
        assert_identity(&out);

        let ledger = movement_ledger(&snapshots(&rows, false), &Conventions::default()).unwrap();
        let labels: Vec<&str> = ledger
            .column_by_name("movement")
            .unwrap()
            .as_string::<i32>()
            .iter()
            .map(|s| s.unwrap_or(""))
            .collect();
        assert_eq!(
            labels,
            vec![
                "new",
                "expansion",
                "contraction",
                "churn",
                "reactivation",
                "new",
                "unchanged",
                "unchanged",
                "unchanged"
            ]
        );
        assert_identity(&ledger);
    }

    #[test]
    fn reactivation_outside_the_window_is_new() {
        // Away in April only: one period, 30 days (1 April → 1 May).
        let rows = [("A", month(2), 100.0, ""), ("A", month(4), 80.0, "")];
        let run = |w: &str| {
            let mut c = Conventions::default();
            c.set("reactivation_window", w).unwrap();
            let out = movements(&snapshots(&rows, false), &c);
            (
                money(&out, "reactivation_mrr")[2],
                money(&out, "new_mrr")[2],
            )
        };
        assert_eq!(run("any"), (8000, 0));
        assert_eq!(run("1"), (8000, 0));
        assert_eq!(run("0"), (0, 8000));
        assert_eq!(run("30d"), (8000, 0));
        assert_eq!(run("29 days"), (0, 8000));
        assert!(Window::parse("soon").is_err());
    }

    #[test]
    fn same_period_join_and_churn_under_each_preset() {
        // X subscribes on 5 January and cancels on 20 January; Y stays from 1 January.
        let rows = [
            ("X", day(2026, 1, 5), Some(day(2026, 1, 20)), 100.0, "month"),
            ("Y", day(2026, 1, 1), None, 600.0, "year"),
            ("Y", day(2026, 2, 10), Some(day(2026, 2, 11)), 1.0, "month"),
        ];
        let input = subscriptions(&rows, Snapshot::End);
        let jan = |preset: &str| {
            let out = movements(&input, &Conventions::preset(preset).unwrap());
            assert_identity(&out);
            let pick = |n: &str| money(&out, n)[0];
            let cnt = |n: &str| counts(&out, n)[0];
            (
                pick("new_mrr"),
                pick("churned_mrr"),
                cnt("new_customers"),
                cnt("churned_customers"),
                cnt("new_and_churned_customers"),
                pick("ending_mrr"),
            )
        };
        // Y's annual 600 is 50 a month; X peaks at 100 within January.
        assert_eq!(jan("stripe"), (15000, 10000, 2, 1, 1, 5000));
        assert_eq!(jan("baremetrics"), (15000, 10000, 2, 1, 1, 5000));
        assert_eq!(jan("chartmogul"), (15000, 10000, 2, 0, 1, 5000));
        assert_eq!(jan("profitwell"), (5000, 0, 1, 0, 1, 5000));
        // Y's one-day extra subscription in February overlaps its running one: netted, no flash.
        let out = movements(&input, &Conventions::default());
        assert_eq!(counts(&out, "new_and_churned_customers"), vec![1, 0]);
        assert_eq!(money(&out, "ending_mrr"), vec![5000, 5000]);
    }

    #[test]
    fn flash_takes_the_segment_of_its_peak() {
        // Two short subscriptions one after the other in January, on different plans.
        let mut input = subscriptions(
            &[
                ("X", day(2026, 1, 2), Some(day(2026, 1, 5)), 10.0, "month"),
                ("X", day(2026, 1, 5), Some(day(2026, 1, 9)), 30.0, "month"),
            ],
            Snapshot::End,
        );
        input.segments = vec![strings("plan", &["basic", "pro"])];
        let out = movements(&input, &Conventions::default());
        assert_identity(&out);
        // The peak of 30 is on pro; basic never appears.
        let plans: Vec<Option<&str>> = out.column(1).as_string::<i32>().iter().collect();
        assert_eq!(plans, vec![Some("pro")]);
        assert_eq!(money(&out, "new_mrr"), vec![3000]);
        assert_eq!(counts(&out, "new_and_churned_customers"), vec![1]);
    }

    #[test]
    fn stripe_glossary_example_is_12500() {
        // 100 subscribers on $100 a month and 50 on $600 a year (Stripe glossary).
        let mut rows = Vec::new();
        let names: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            let (amount, interval) = if i < 100 {
                (100.0, "month")
            } else {
                (600.0, "annual")
            };
            rows.push((n.as_str(), day(2026, 1, 1), None, amount, interval));
        }
        let out = movements(
            &subscriptions(&rows, Snapshot::End),
            &Conventions::default(),
        );
        assert_eq!(money(&out, "ending_mrr"), vec![1_250_000]);
        assert_eq!(counts(&out, "ending_customers"), vec![150]);
    }

    #[test]
    fn intervals_and_period_average() {
        let rows = [
            ("A", day(2026, 1, 1), None, 300.0, "quarter"),
            ("B", day(2026, 1, 1), None, 52.0, "week"),
            ("C", day(2026, 1, 1), None, 60.0, "6"),
            // 16 of January's 31 days, 310 a month → 160 on average; gone on 1 March.
            ("D", day(2026, 1, 16), Some(day(2026, 3, 1)), 310.0, "month"),
        ];
        let mrr = customer_mrr(&subscriptions(&rows, Snapshot::End)).unwrap();
        // Every customer runs to March (D's end); D churns in March.
        assert_eq!(
            money(&mrr, "mrr"),
            vec![10000, 10000, 10000, 22533, 22533, 22533, 1000, 1000, 1000, 31000, 31000]
        );
        let avg = customer_mrr(&subscriptions(&rows, Snapshot::Average)).unwrap();
        let d: Vec<i64> = money(&avg, "mrr")[9..].to_vec();
        assert_eq!(d, vec![16000, 31000]);
        let out = movements(
            &subscriptions(&rows, Snapshot::Average),
            &Conventions::default(),
        );
        assert_identity(&out);
        // D: new 160 in January, expansion 150 in February, churn 310 in March.
        assert_eq!(money(&out, "churned_mrr"), vec![0, 0, 31000]);
        assert_eq!(money(&out, "expansion_mrr"), vec![0, 15000, 0]);
    }

    #[test]
    fn subscription_ending_at_midnight_on_the_first_counts_in_the_month_before() {
        let rows = [("A", day(2026, 1, 10), Some(day(2026, 2, 1)), 10.0, "month")];
        let out = movements(
            &subscriptions(&rows, Snapshot::End),
            &Conventions::default(),
        );
        assert_eq!(money(&out, "new_mrr"), vec![1000, 0]);
        assert_eq!(money(&out, "churned_mrr"), vec![0, 1000]);
    }

    #[test]
    fn segment_moves_and_totals() {
        // A moves from basic (100) to pro (150) in February; B stays in basic.
        let rows = [
            ("A", month(0), 100.0, "basic"),
            ("A", month(1), 150.0, "pro"),
            ("B", month(0), 40.0, "basic"),
            ("B", month(1), 40.0, "basic"),
        ];
        let by = movements(&snapshots(&rows, true), &Conventions::default());
        assert_identity(&by);
        // basic Jan, basic Feb, pro Jan, pro Feb.
        assert_eq!(money(&by, "moved_out_mrr"), vec![0, 10000, 0, 0]);
        assert_eq!(money(&by, "moved_in_mrr"), vec![0, 0, 0, 10000]);
        assert_eq!(money(&by, "expansion_mrr"), vec![0, 0, 0, 5000]);
        assert_eq!(money(&by, "ending_mrr"), vec![14000, 4000, 0, 15000]);
        assert_eq!(counts(&by, "moved_in_customers"), vec![0, 0, 0, 1]);
        let total = movements(&snapshots(&rows, false), &Conventions::default());
        for name in ["new_mrr", "expansion_mrr", "ending_mrr", "starting_mrr"] {
            let b = money(&by, name);
            assert_eq!(
                vec![b[0] + b[2], b[1] + b[3]],
                money(&total, name),
                "{name}"
            );
        }
    }

    #[test]
    fn conflicting_segments_in_one_period_name_the_rows() {
        let rows = [
            ("A", month(0), 100.0, "basic"),
            ("A", month(0), 10.0, "pro"),
            ("B", month(0), 40.0, "basic"),
        ];
        let err = movement_state(&snapshots(&rows, true), &Conventions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"plan\""), "{err}");
        assert!(err.contains("one segment value per period"), "{err}");
        assert!(
            err.contains("row 1: same customer and period (2026-01-01) as row 0"),
            "{err}"
        );
    }

    #[test]
    fn invalid_values_name_column_rule_and_rows() {
        let rows = [
            ("A", month(0), -1.0, ""),
            ("A", month(1), f64::NAN, ""),
            ("A", month(2), f64::INFINITY, ""),
        ];
        let err = movement_state(&snapshots(&rows, false), &Conventions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("column \"mrr\": must be a finite number"),
            "{err}"
        );
        assert!(
            err.contains("row 0: -1")
                && err.contains("row 1: missing")
                && err.contains("row 2: inf"),
            "{err}"
        );

        let mut input = subscriptions(
            &[
                ("A", day(2026, 1, 1), Some(day(2025, 1, 1)), 1.0, "month"),
                ("A", day(2026, 1, 1), None, 1.0, "fortnight"),
            ],
            Snapshot::End,
        );
        let err = customer_mrr(&input).unwrap_err().to_string();
        assert!(
            err.contains("\"interval\"") && err.contains("row 1: \"fortnight\""),
            "{err}"
        );
        if let Source::Subscriptions { interval, .. } = &mut input.source {
            *interval = None;
        }
        let err = customer_mrr(&input).unwrap_err().to_string();
        assert!(
            err.contains("\"end\": must not be before start") && err.contains("row 0"),
            "{err}"
        );

        // A fractional interval scales the amount up: beyond the amounts' bound it is an error
        // of the rows, in the per-customer MRR and the movements alike (never saturated cents).
        let input = subscriptions(
            &[
                ("A", day(2026, 1, 1), None, 100.0, "0.5"),
                ("B", day(2026, 1, 1), None, 1e6, "1e-12"),
            ],
            Snapshot::End,
        );
        let a = customer_mrr(&input).unwrap_err().to_string();
        let b = movement_state(&input, &Conventions::default())
            .unwrap_err()
            .to_string();
        assert_eq!(a, b);
        assert!(
            a.starts_with(
                "column \"interval\": amount / interval (the monthly amount) must be at most"
            ) && a.contains("1 row(s), e.g. row 1: 1000000 per 0.000000000001 months"),
            "{a}"
        );

        let mut input = snapshots(&[("A", month(0), 1.0, "")], false);
        input.customer =
            Column::from_array("customer", Arc::new(Int32Array::from(vec![None::<i32>])));
        let err = customer_mrr(&input).unwrap_err().to_string();
        assert!(
            err.contains("\"customer\": must not be missing: 1 row(s), e.g. row 0"),
            "{err}"
        );
        assert!(Conventions::preset("hubspot").is_err());
        assert!(Conventions::default().set("churn_timing", "x").is_err());
    }

    #[test]
    fn states_of_customer_partitions_merge_to_the_one_pass_result() {
        let rows = [
            ("A", month(0), 100.0, "x"),
            ("A", month(1), 150.0, "y"),
            ("B", month(2), 40.0, "x"),
            ("C", month(0), 10.0, "x"),
            ("C", month(3), 10.0, "x"),
            ("D", month(5), 70.0, "y"),
        ];
        let conv = Conventions::preset("chartmogul").unwrap();
        let whole =
            finish_movements(&movement_state(&snapshots(&rows, true), &conv).unwrap()).unwrap();
        let parts: Vec<RecordBatch> = [
            &rows[0..2],
            &rows[2..3],
            &rows[3..5],
            &rows[5..6],
            &rows[0..0],
        ]
        .iter()
        .map(|p| movement_state(&snapshots(p, true), &conv).unwrap())
        .collect();
        let merged = finish_movements(&merge_movement_states(&parts).unwrap()).unwrap();
        assert_eq!(whole.columns(), merged.columns());
        // A partition alone ends at its own last period; merged, B's April churn is known.
        assert_eq!(
            money(&merged, "churned_mrr").iter().sum::<i64>(),
            100 * (150 + 40 + 10 + 10)
        );
        let other = movement_state(&snapshots(&rows, true), &Conventions::default()).unwrap();
        assert!(merge_movement_states(&[parts[0].clone(), other]).is_err());
    }

    proptest::proptest! {
        // Random monthly histories with gaps, reactivations and segment moves: the identity on
        // every row, starting = previous ending, and segments summing to the totals.
        #[test]
        fn ledger_identity_and_segment_totals(
            hist in proptest::collection::vec(
                (0usize..6, 0u32..8, 0u32..4, 0usize..3), 0..60),
        ) {
            let names = ["a", "b", "c", "d", "e", "f"];
            let plans = ["p", "q", "r"];
            // One row per (customer, month); later duplicates of a pair are dropped.
            let mut seen = std::collections::HashSet::new();
            let rows: Vec<(&str, i32, f64, &str)> = hist
                .iter()
                .filter(|h| seen.insert((h.0, h.1)))
                .map(|h| (names[h.0], month(h.1), h.2 as f64 * 12.5, plans[h.3]))
                .collect();
            for preset in PRESETS {
                let conv = Conventions::preset(preset).unwrap();
                let total = movements(&snapshots(&rows, false), &conv);
                assert_identity(&total);
                let by = movements(&snapshots(&rows, true), &conv);
                assert_identity(&by);
                let (s, e) = (money(&total, "starting_mrr"), money(&total, "ending_mrr"));
                for r in 1..s.len() {
                    proptest::prop_assert_eq!(s[r], e[r - 1]);
                }
                let n = total.num_rows();
                proptest::prop_assert_eq!(by.num_rows() % n.max(1), 0);
                for name in ["starting_mrr", "new_mrr", "expansion_mrr", "contraction_mrr",
                             "churned_mrr", "reactivation_mrr", "ending_mrr", "net_new_mrr"] {
                    let b = money(&by, name);
                    let sums: Vec<i64> = (0..n).map(|p| b.iter().skip(p).step_by(n).sum()).collect();
                    proptest::prop_assert_eq!(sums, money(&total, name), "{}", name);
                }
                for name in ["starting_customers", "new_customers", "churned_customers",
                             "reactivated_customers", "ending_customers"] {
                    let b = counts(&by, name);
                    let sums: Vec<i64> = (0..n).map(|p| b.iter().skip(p).step_by(n).sum()).collect();
                    proptest::prop_assert_eq!(sums, counts(&total, name), "{}", name);
                }
                let ledger = movement_ledger(&snapshots(&rows, true), &conv).unwrap();
                assert_identity(&ledger);
            }
        }
    }
}
