//! Revenue rates per period (and segment): every rate is a view on the MRR movement table.
//!
//! The input is the table [`super::revenue::finish_movements`] returns (or the same columns from
//! anywhere else), so the rates of a Dask run or of a movement table saved last month are
//! computed exactly as those of a single pass. Money is read back into integer cents, sums and
//! differences are exact, and only the final division is floating point. A rate whose
//! denominator is zero is null, never inf.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch};
use arrow::compute::{cast, concat};
use arrow::datatypes::{DataType, Field, Schema};
use hashbrown::HashMap;

use super::conventions::{
    Conventions, Denominator, LtvChurn, LtvZeroChurn, SamePeriod, CENTS, MAX_AMOUNT,
};
use crate::core::engine::groups::group_ids;
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{period_ordinals, start_dates, Freq, Zone};
use crate::core::input::{f64_chunks, value_f64, Column, Table};

/// Money columns the rates read; `new_and_churned_mrr` and `reactivated_and_churned_mrr` may
/// be absent (read as 0).
const MONEY: [&str; 9] = [
    "starting_mrr",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "ending_mrr",
    "new_and_churned_mrr",
    "reactivated_and_churned_mrr",
];
const START_M: usize = 0;
const NEW_M: usize = 1;
const EXP_M: usize = 2;
const CONTR_M: usize = 3;
const CHURN_M: usize = 4;
const REACT_M: usize = 5;
const END_M: usize = 6;
const FLASH_M: usize = 7;
const FLASH_RM: usize = 8;
const OPTIONAL: [&str; 2] = ["new_and_churned_mrr", "reactivated_and_churned_mrr"];

/// Customer counts the rates read.
const COUNTS: [&str; 5] = [
    "starting_customers",
    "new_customers",
    "churned_customers",
    "reactivated_customers",
    "ending_customers",
];
const START_C: usize = 0;
const NEW_C: usize = 1;
const CHURN_C: usize = 2;
const REACT_C: usize = 3;
const END_C: usize = 4;

/// Columns of a movement table that are neither read nor segments.
const OTHER: [&str; 9] = [
    "period",
    "moved_in_mrr",
    "moved_out_mrr",
    "net_new_mrr",
    "expanded_customers",
    "contracted_customers",
    "moved_in_customers",
    "moved_out_customers",
    "new_and_churned_customers",
];

/// Average months in a period of `freq` (Gregorian year of 365.2425 days), to express a
/// lifetime of 1/churn periods in months, the unit of MRR.
pub fn months_per_period(freq: Freq) -> f64 {
    match freq {
        Freq::Day => 12.0 / 365.2425,
        Freq::Week { .. } => 7.0 * 12.0 / 365.2425,
        Freq::Month => 1.0,
        Freq::Quarter => 3.0,
        Freq::Year => 12.0,
    }
}

/// Acquisition spend: a time column and an amount, optionally per segment (the same segment
/// columns as the movement table).
pub struct Spend<'a> {
    pub table: &'a Table,
    pub time: String,
    pub amount: String,
    /// Column of net burn (cash out minus cash in, any sign), summed per period: adds the burn
    /// multiple and capital efficiency.
    pub net_burn: Option<String>,
    pub zone: Zone,
}

/// Longest `cac_lag`, in periods (a century of months).
pub const MAX_CAC_LAG: u32 = 1_200;

/// The settings of [`revenue_metrics`] that are not conventions of the ledger.
#[derive(Debug, Clone, Copy)]
pub struct MetricOptions {
    pub conventions: Conventions,
    pub freq: Freq,
    /// Gross margin as a fraction in (0, 1]; None = 1 (LTV and payback on revenue).
    pub gross_margin: Option<f64>,
    /// Periods between spend and the new customers it buys (CAC of period p = spend of p − lag
    /// / new customers of p), 0 to [`MAX_CAC_LAG`].
    pub cac_lag: u32,
}

/// A column of whole cents (or counts) read from a float column of the movement table.
fn read_whole(col: &Column, scale: f64) -> KpiResult<Vec<i64>> {
    let mut out = Vec::with_capacity(col.len());
    let mut bad = BadRows::default();
    let mut row = 0;
    for chunk in f64_chunks(col)? {
        for i in 0..chunk.len() {
            match value_f64(&chunk, i) {
                Some(v) if v.is_finite() && v.abs() <= MAX_AMOUNT && v >= 0.0 => {
                    let whole = (v * scale).round();
                    if scale == 1.0 && whole != v {
                        bad.push(row, || v.to_string());
                    }
                    out.push(whole as i64);
                }
                Some(v) => {
                    bad.push(row, || v.to_string());
                    out.push(0);
                }
                None => {
                    bad.push(row, || "null".to_string());
                    out.push(0);
                }
            }
            row += 1;
        }
    }
    let rule = if scale == 1.0 {
        "must be a whole, non-negative number of customers"
    } else {
        "must be a finite, non-negative amount"
    };
    KpiError::check_rows(&col.name, rule, bad)?;
    Ok(out)
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den != 0.0).then(|| num / den)
}

/// Row ids of the first rows seen for each (segment, period) pair; duplicates are an error.
fn index_rows(
    seg: &[u32],
    ord: &[i64],
    period_name: &str,
) -> KpiResult<HashMap<(u32, i64), usize>> {
    let mut at = HashMap::with_capacity(ord.len());
    let mut bad = BadRows::default();
    for (row, (&s, &o)) in seg.iter().zip(ord).enumerate() {
        if let Some(first) = at.insert((s, o), row) {
            at.insert((s, o), first);
            bad.push(row, || format!("same period and segment as row {first}"));
        }
    }
    KpiError::check_rows(
        period_name,
        "must have one row per period and segment (is freq that of the movements?)",
        bad,
    )?;
    Ok(at)
}

/// Segment ids of the movement rows and, continuing the same numbering, of the spend rows.
fn segment_ids(
    movements: &Table,
    segments: &[String],
    spend: Option<&Table>,
) -> KpiResult<(Vec<u32>, Vec<u32>)> {
    let n = movements.num_rows();
    let m = spend.map_or(0, |s| s.num_rows());
    if segments.is_empty() {
        return Ok((vec![0; n], vec![0; m]));
    }
    let mut cols = Vec::with_capacity(segments.len());
    for name in segments {
        let mine = movements.column(name)?;
        let mut chunks = mine.chunks.clone();
        if let Some(s) = spend {
            let theirs = s.column(name).map_err(|_| {
                KpiError::param(
                    "spend",
                    format!(
                        "has no column {name:?}: per-segment CAC needs spend per segment (the same columns as by=), or compute the rates without by="
                    ),
                )
            })?;
            let target = mine.data_type();
            for c in &theirs.chunks {
                chunks.push(if c.data_type() == &target {
                    c.clone()
                } else {
                    cast(c, &target)?
                });
            }
        }
        cols.push(Column::new(name.clone(), chunks));
    }
    let ids = group_ids(&cols)?.ids;
    let (a, b) = ids.split_at(n);
    Ok((a.to_vec(), b.to_vec()))
}

/// Cents per (segment, period ordinal).
type SpendSums = HashMap<(u32, i64), i64>;

/// Spend in cents per (segment, period ordinal), and the range of ordinals the spend covers.
fn spend_by_period(
    spend: &Spend,
    amount: &str,
    signed: bool,
    seg: &[u32],
    freq: Freq,
) -> KpiResult<(SpendSums, Option<(i64, i64)>)> {
    let time = spend.table.column(&spend.time)?;
    let amount = spend.table.column(amount)?;
    let low = if signed { -MAX_AMOUNT } else { 0.0 };
    let ords = period_ordinals(&time, spend.zone, freq)?;
    let mut sums: HashMap<(u32, i64), i64> = HashMap::new();
    let mut range: Option<(i64, i64)> = None;
    let (mut bad_t, mut bad_a) = (BadRows::default(), BadRows::default());
    let mut row = 0;
    for (o, a) in ords.iter().zip(f64_chunks(&amount)?) {
        for i in 0..o.len() {
            let v = value_f64(&a, i);
            if o.is_null(i) {
                bad_t.push(row, || "null".to_string());
            } else {
                match v {
                    Some(v) if v.is_finite() && (low..=MAX_AMOUNT).contains(&v) => {
                        let p = o.value(i);
                        let slot = sums.entry((seg[row], p)).or_insert(0);
                        *slot = slot
                            .checked_add((v * CENTS).round() as i64)
                            .ok_or_else(|| KpiError::Overflow {
                                what: "the sum of spend".into(),
                            })?;
                        range = Some(range.map_or((p, p), |(lo, hi)| (lo.min(p), hi.max(p))));
                    }
                    Some(v) => bad_a.push(row, || v.to_string()),
                    None => bad_a.push(row, || "null".to_string()),
                }
            }
            row += 1;
        }
    }
    KpiError::check_rows(&spend.time, "must not be missing", bad_t)?;
    let rule = if signed {
        "must be a finite amount (negative when cash came in)"
    } else {
        "must be a finite, non-negative amount"
    };
    KpiError::check_rows(&amount.name, rule, bad_a)?;
    Ok((sums, range))
}

/// The segment columns of a movement table: every column that is not a movement column (nor
/// a pandas index written out as `__index_level_N__`).
pub fn movement_segments(table: &Table) -> Vec<String> {
    table
        .names()
        .into_iter()
        .filter(|n| {
            !MONEY.contains(&n.as_str())
                && !COUNTS.contains(&n.as_str())
                && !OTHER.contains(&n.as_str())
                && !n.starts_with("__index_level_")
        })
        .collect()
}

/// Revenue rates per row of a movement table (one row per period and segment), in the
/// table's order. See the Python docstring of `kpikit.revenue_metrics` for every formula.
pub fn revenue_metrics(
    movements: &Table,
    opts: &MetricOptions,
    spend: Option<&Spend>,
) -> KpiResult<RecordBatch> {
    let conv = &opts.conventions;
    KpiError::int_param::<u32>("cac_lag", opts.cac_lag.into(), 0, MAX_CAC_LAG.into())?;
    if let Some(k) = conv.ltv_churn_periods {
        let max = super::conventions::MAX_LTV_CHURN_PERIODS.into();
        KpiError::int_param::<u32>("ltv_churn_periods", k.into(), 1, max)?;
    }
    if let Some(g) = opts.gross_margin {
        if !(g > 0.0 && g <= 1.0) {
            return Err(KpiError::param(
                "gross_margin",
                format!("{g} is not a fraction in (0, 1]"),
            ));
        }
    }
    let n = movements.num_rows();
    let period = movements.column("period")?;
    let ord_chunks = period_ordinals(&period, Zone::Utc, opts.freq)?;
    let mut ord = Vec::with_capacity(n);
    let mut bad = BadRows::default();
    for c in &ord_chunks {
        for i in 0..c.len() {
            if c.is_null(i) {
                bad.push(ord.len(), || "null".to_string());
            }
            ord.push(c.value(i));
        }
    }
    KpiError::check_rows("period", "must not be missing", bad)?;

    let mut money: Vec<Vec<i64>> = Vec::with_capacity(MONEY.len());
    for name in MONEY {
        if OPTIONAL.contains(&name) && movements.column(name).is_err() {
            money.push(vec![0; n]);
        } else {
            money.push(read_whole(&movements.column(name)?, CENTS)?);
        }
    }
    let mut counts: Vec<Vec<i64>> = Vec::with_capacity(COUNTS.len());
    for name in COUNTS {
        counts.push(read_whole(&movements.column(name)?, 1.0)?);
    }

    let segments = movement_segments(movements);
    let (seg, spend_seg) = segment_ids(movements, &segments, spend.map(|s| s.table))?;
    let at = index_rows(&seg, &ord, "period")?;

    let gm = opts.gross_margin.unwrap_or(1.0);
    let months = months_per_period(opts.freq);
    let m = |j: usize, r: usize| money[j][r] as f64;
    let c = |j: usize, r: usize| counts[j][r] as f64;
    // A customer who joins (or returns) and churns within one period is in churned MRR (and
    // reactivated MRR) unless the ledger left it out; it was never in the starting MRR, so the
    // rates on the starting MRR take it back out under every preset
    // (docs/conventions.md#revenue-rates).
    let flash_in_churn = conv.same_period_new_churn != SamePeriod::NetOutOfNew;
    let flash = |j: usize, r: usize| if flash_in_churn { m(j, r) } else { 0.0 };

    let mut customer_churn = Vec::with_capacity(n);
    let mut net_churn = Vec::with_capacity(n);
    let mut out: StdHashMap<&str, Vec<Option<f64>>> = StdHashMap::new();
    let mut col = |name: &'static str, v: Option<f64>| out.entry(name).or_default().push(v);
    let mut net_negative = Vec::with_capacity(n);
    let mut arpa_v = Vec::with_capacity(n);
    for r in 0..n {
        let start = m(START_M, r);
        // Churn and reactivation of the starting MRR only, for the rates divided by it.
        let kept_churn = m(CHURN_M, r) - flash(FLASH_M, r);
        let react = m(REACT_M, r) - flash(FLASH_RM, r);
        let lost = kept_churn + m(CONTR_M, r);
        let denominator = match conv.churn_denominator {
            Denominator::Start => c(START_C, r),
            // Stripe: active at the start plus those who started in the window, returning
            // customers included.
            Denominator::StartPlusNew => c(START_C, r) + c(NEW_C, r) + c(REACT_C, r),
        };
        let cc = ratio(c(CHURN_C, r), denominator);
        customer_churn.push(cc);
        let offset = m(EXP_M, r)
            + if conv.net_churn_counts_reactivation {
                react
            } else {
                0.0
            };
        let nc = ratio(lost - offset, start);
        net_churn.push(nc);
        net_negative.push(nc.map(|x| x < 0.0));
        let retained = start - kept_churn - m(CONTR_M, r);
        let arpa = ratio(m(END_M, r) / CENTS, c(END_C, r));
        arpa_v.push(arpa);
        col("mrr", Some(m(END_M, r) / CENTS));
        col("arr", Some(m(END_M, r) * 12.0 / CENTS));
        col("mrr_growth_rate", ratio(m(END_M, r) - start, start));
        col("customer_churn_rate", cc);
        col("gross_mrr_churn_rate", ratio(lost, start));
        col("net_mrr_churn_rate", nc);
        col(
            "net_revenue_retention",
            ratio(
                retained
                    + m(EXP_M, r)
                    + if conv.nrr_counts_reactivation {
                        react
                    } else {
                        0.0
                    },
                start,
            ),
        );
        col("gross_revenue_retention", ratio(retained, start));
        // The quick ratio compares flows, not the starting MRR: a customer who came and went
        // within the period is on both sides as the ledger counts it.
        col(
            "quick_ratio",
            ratio(
                m(NEW_M, r)
                    + m(EXP_M, r)
                    + if conv.quick_ratio_counts_reactivation {
                        m(REACT_M, r)
                    } else {
                        0.0
                    },
                m(CHURN_M, r) + m(CONTR_M, r),
            ),
        );
        col("arpa", arpa);
        col("asp", ratio(m(NEW_M, r) / CENTS, c(NEW_C, r)));
        col("expansion_rate", ratio(m(EXP_M, r), start));
    }

    // Lifetime value: ARPA × margin × months per period / churn per period.
    let churn_of = match conv.ltv_churn {
        LtvChurn::Customer => &customer_churn,
        LtvChurn::NetMrr => &net_churn,
    };
    let mut ltv = Vec::with_capacity(n);
    for r in 0..n {
        let churn = match conv.ltv_churn_periods {
            None => churn_of[r],
            Some(k) => {
                let (mut sum, mut used) = (0.0, 0u32);
                for back in 1..=k as i64 {
                    if let Some(&q) = at.get(&(seg[r], ord[r] - back)) {
                        if let Some(x) = churn_of[q] {
                            sum += x;
                            used += 1;
                        }
                    }
                }
                (used > 0).then(|| sum / used as f64)
            }
        };
        ltv.push(match (arpa_v[r], churn) {
            (Some(a), Some(ch)) if ch > 0.0 => Some(a * gm * months / ch),
            // No churn: no finite lifetime; the convention says what to report
            // (docs/conventions.md#revenue-rates). An unknown churn stays unknown.
            (Some(a), Some(0.0)) => match conv.ltv_zero_churn {
                LtvZeroChurn::Null => None,
                LtvZeroChurn::Zero => Some(0.0),
                LtvZeroChurn::Rate(_) => conv.ltv_zero_churn.rate().map(|x| a * gm * months / x),
            },
            _ => None,
        });
    }

    let mut names: Vec<(String, ArrayRef)> = Vec::new();
    names.push((
        "period".into(),
        cast(
            &start_dates(opts.freq, ord.iter().map(|&o| Some(o))),
            &DataType::Date32,
        )?,
    ));
    for s in &segments {
        let col = movements.column(s)?;
        let refs: Vec<&dyn Array> = col.chunks.iter().map(|a| a.as_ref()).collect();
        let array = if refs.is_empty() {
            arrow::array::new_empty_array(&col.data_type())
        } else {
            concat(&refs)?
        };
        names.push((s.clone(), array));
    }
    // A column is only in `out` once a row pushed to it: none for an empty table.
    let f = |v: Option<&Vec<Option<f64>>>| -> ArrayRef {
        Arc::new(Float64Array::from(v.cloned().unwrap_or_default()))
    };
    for key in ["mrr", "arr"] {
        names.push((key.into(), f(out.get(key))));
    }
    names.push((
        "customers".into(),
        Arc::new(Int64Array::from(counts[END_C].clone())),
    ));
    names.push((
        "new_customers".into(),
        Arc::new(Int64Array::from(counts[NEW_C].clone())),
    ));
    for key in [
        "mrr_growth_rate",
        "customer_churn_rate",
        "gross_mrr_churn_rate",
        "net_mrr_churn_rate",
        "net_revenue_retention",
        "gross_revenue_retention",
        "quick_ratio",
        "arpa",
        "asp",
        "expansion_rate",
    ] {
        names.push((key.into(), f(out.get(key))));
    }
    names.push((
        "net_negative_churn".into(),
        Arc::new(BooleanArray::from(net_negative)),
    ));
    names.push(("ltv".into(), f(Some(&ltv))));

    if let Some(sp) = spend {
        let (sums, range) = spend_by_period(sp, &sp.amount, false, &spend_seg, opts.freq)?;
        let lag = opts.cac_lag as i64;
        // Outside the periods the spend table covers, spend is unknown, not zero.
        let spent_in = |sums: &SpendSums, s: u32, q: i64| match range {
            Some((lo, hi)) if (lo..=hi).contains(&q) => {
                Some(*sums.get(&(s, q)).unwrap_or(&0) as f64 / CENTS)
            }
            _ => None,
        };
        let (mut spent, mut cac, mut ltv_cac, mut payback) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut magic = Vec::with_capacity(n);
        for r in 0..n {
            let s = spent_in(&sums, seg[r], ord[r] - lag);
            // The magic number: the period's net new ARR per unit of the previous period's
            // spend, (ending − starting MRR) × 12 / spend of p − 1 (docs/conventions.md#sales-and-capital-efficiency).
            let net_new_arr = (m(END_M, r) - m(START_M, r)) * 12.0 / CENTS;
            // The first period of a segment in the table has no starting MRR to grow from.
            let has_start = at.contains_key(&(seg[r], ord[r] - 1));
            magic.push(match spent_in(&sums, seg[r], ord[r] - 1) {
                Some(prev) if has_start => ratio(net_new_arr, prev),
                _ => None,
            });
            let k = s.and_then(|s| ratio(s, c(NEW_C, r)));
            spent.push(s);
            cac.push(k);
            ltv_cac.push(match (ltv[r], k) {
                (Some(l), Some(k)) => ratio(l, k),
                _ => None,
            });
            payback.push(match (k, arpa_v[r]) {
                (Some(k), Some(a)) => ratio(k, a * gm),
                _ => None,
            });
        }
        names.push(("spend".into(), f(Some(&spent))));
        names.push(("cac".into(), f(Some(&cac))));
        names.push(("ltv_cac".into(), f(Some(&ltv_cac))));
        names.push(("cac_payback_months".into(), f(Some(&payback))));
        names.push(("magic_number".into(), f(Some(&magic))));
        if let Some(burn_col) = &sp.net_burn {
            let (burns, burn_range) = spend_by_period(sp, burn_col, true, &spend_seg, opts.freq)?;
            let (mut net_burn, mut multiple, mut efficiency) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for r in 0..n {
                let b = match burn_range {
                    Some((lo, hi)) if (lo..=hi).contains(&ord[r]) => {
                        Some(*burns.get(&(seg[r], ord[r])).unwrap_or(&0) as f64 / CENTS)
                    }
                    _ => None,
                };
                let has_start = at.contains_key(&(seg[r], ord[r] - 1));
                let nna = has_start.then(|| (m(END_M, r) - m(START_M, r)) * 12.0 / CENTS);
                net_burn.push(b);
                // Burn per unit of net new ARR: meaningless when ARR did not grow.
                multiple.push(match (b, nna) {
                    (Some(b), Some(a)) if a > 0.0 => Some(b / a),
                    _ => None,
                });
                // Net new ARR per unit burned: meaningless when nothing was burned.
                efficiency.push(match (b, nna) {
                    (Some(b), Some(a)) if b > 0.0 => Some(a / b),
                    _ => None,
                });
            }
            names.push(("net_burn".into(), f(Some(&net_burn))));
            names.push(("burn_multiple".into(), f(Some(&multiple))));
            names.push(("capital_efficiency".into(), f(Some(&efficiency))));
        }
    }

    let fields: Vec<Field> = names
        .iter()
        .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
        .collect();
    let mut meta = StdHashMap::new();
    meta.insert("kpikit.conventions".into(), conv.to_json());
    meta.insert("kpikit.freq".into(), opts.freq.label());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        names.into_iter().map(|x| x.1).collect(),
    )?)
}

/// The conventions of the rates on a movement table computed with `ledger` (None: unknown, e.g.
/// a table from elsewhere): a preset and overrides may change how rates are taken, but not the
/// two conventions the ledger was built with — those need the movements recomputed.
pub fn rate_conventions(
    ledger: Option<Conventions>,
    preset: Option<&str>,
    overrides: &[(String, String)],
) -> KpiResult<Conventions> {
    let mut c = match preset {
        Some(p) => Conventions::preset(p)?,
        None => ledger.unwrap_or_default(),
    };
    for (k, v) in overrides {
        c.set(k, v)?;
    }
    if let Some(l) = ledger {
        let fixed = [
            (
                "same_period_new_churn",
                l.same_period_new_churn != c.same_period_new_churn,
            ),
            (
                "reactivation_window",
                l.reactivation_window != c.reactivation_window,
            ),
        ];
        for (name, differs) in fixed {
            if differs {
                return Err(KpiError::param(
                    name,
                    "differs from the convention the movements were computed with; pass the preset or keyword to mrr_movements (or compute the rates from the subscriptions directly)",
                ));
            }
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Date32Array;

    /// A movement table of two months from (column, [jan, feb]) pairs; the rest zero.
    fn table(values: &[(&str, [f64; 2])]) -> Table {
        let mut fields = vec![Field::new("period", DataType::Date32, true)];
        let mut cols: Vec<ArrayRef> = vec![Arc::new(Date32Array::from(vec![20454, 20485]))];
        for name in MONEY.iter().take(7).chain(COUNTS.iter()) {
            let v = values
                .iter()
                .find(|(n, _)| n == name)
                .map_or([0.0, 0.0], |x| x.1);
            fields.push(Field::new(*name, DataType::Float64, true));
            cols.push(Arc::new(Float64Array::from(v.to_vec())));
        }
        let schema = Arc::new(Schema::new(fields));
        Table::from_batches(
            vec![RecordBatch::try_new(schema.clone(), cols).unwrap()],
            &schema,
        )
    }

    fn rates(t: &Table, conv: Conventions) -> RecordBatch {
        let opts = MetricOptions {
            conventions: conv,
            freq: Freq::Month,
            gross_margin: None,
            cac_lag: 0,
        };
        revenue_metrics(t, &opts, None).unwrap()
    }

    fn get(b: &RecordBatch, name: &str, row: usize) -> Option<f64> {
        let a = b
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        (!a.is_null(row)).then(|| a.value(row))
    }

    #[test]
    fn an_empty_movement_table_gives_an_empty_result() {
        // Regression (adversarial suite): this panicked on a rate column no row had created.
        let batches = table(&[]).into_batches();
        let schema = batches[0].schema();
        let empty = Table::from_batches(vec![batches[0].slice(0, 0)], &schema);
        let out = rates(&empty, Conventions::default());
        assert_eq!(out.num_rows(), 0);
        assert!(out.column_by_name("net_revenue_retention").is_some());
    }

    #[test]
    fn chartmogul_mrr_churn_example() {
        // $100 at the start; $10 churn, $10 contraction, $10 expansion: 20 % gross, 10 % net.
        let t = table(&[
            ("starting_mrr", [0.0, 100.0]),
            ("new_mrr", [100.0, 0.0]),
            ("churned_mrr", [0.0, 10.0]),
            ("contraction_mrr", [0.0, 10.0]),
            ("expansion_mrr", [0.0, 10.0]),
            ("ending_mrr", [100.0, 90.0]),
            ("starting_customers", [0.0, 4.0]),
            ("new_customers", [4.0, 0.0]),
            ("churned_customers", [0.0, 1.0]),
            ("ending_customers", [4.0, 3.0]),
        ]);
        let b = rates(&t, Conventions::preset("chartmogul").unwrap());
        assert_eq!(get(&b, "gross_mrr_churn_rate", 1), Some(0.2));
        assert_eq!(get(&b, "net_mrr_churn_rate", 1), Some(0.1));
        assert_eq!(get(&b, "net_revenue_retention", 1), Some(0.9));
        assert_eq!(get(&b, "customer_churn_rate", 1), Some(0.25));
        // Nothing at the start of January: null, not inf or NaN.
        assert_eq!(get(&b, "gross_mrr_churn_rate", 0), None);
        assert_eq!(get(&b, "arpa", 1), Some(30.0));
    }

    #[test]
    fn whole_counts_and_non_negative_money_are_required() {
        let t = table(&[("new_customers", [1.5, 0.0])]);
        let opts = MetricOptions {
            conventions: Conventions::default(),
            freq: Freq::Month,
            gross_margin: None,
            cac_lag: 0,
        };
        let err = revenue_metrics(&t, &opts, None).unwrap_err().to_string();
        assert!(
            err.contains("new_customers") && err.contains("row 0"),
            "{err}"
        );
    }

    #[test]
    fn stored_ledger_conventions_cannot_be_changed() {
        let ledger = Conventions::preset("chartmogul").unwrap();
        let c = rate_conventions(
            Some(ledger),
            None,
            &[("churn_denominator".into(), "start_plus_new".into())],
        )
        .unwrap();
        assert_eq!(c.churn_denominator, Denominator::StartPlusNew);
        assert_eq!(c.ltv_churn_periods, Some(6));
        assert!(rate_conventions(Some(ledger), Some("stripe"), &[]).is_err());
        assert!(rate_conventions(None, Some("stripe"), &[]).is_ok());
    }

    #[test]
    fn lifetime_is_in_months_whatever_the_period() {
        assert_eq!(months_per_period(Freq::Quarter), 3.0);
        assert!((months_per_period(Freq::Day) * 365.2425 - 12.0).abs() < 1e-12);
    }
}
