//! Results of one pass, not mergeable: MRR per customer and period, and the per-customer ledger.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use super::conventions::*;
use super::customers::*;
use super::input::*;
use super::movements::*;
use super::walk::*;
use crate::core::engine::groups::take_rows;
use crate::core::error::KpiResult;
use crate::core::input::time::{start_dates, Freq};

/// MRR per customer per period: `customer`, `period` (start date), `mrr` (float64, input unit);
/// one row per period with MRR, ordered by customer (first appearance) then period.
pub fn mrr(input: &RevenueInput) -> KpiResult<RecordBatch> {
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

/// The per-customer ledger: one row per customer, period and segment in which the customer has
/// MRR at either end of the period (or joined and churned within it), ordered by customer (first
/// appearance) then period. Columns: customer, period, segments, starting_mrr, the movements,
/// (moved_in_mrr, moved_out_mrr with segments), ending_mrr, and `movement` (new, reactivation,
/// expansion, contraction, unchanged, churn, moved_in, moved_out, new_and_churn,
/// reactivation_and_churn).
pub fn movement_ledger(input: &RevenueInput, conv: &Conventions) -> KpiResult<RecordBatch> {
    let prep = prepare(input)?;
    let horizon = prep.horizon.unwrap_or(i64::MIN);
    let moves = !input.segments.is_empty();
    // One part per range of customers, in customer order, each written column by column.
    let parts = over_customers(
        input,
        &prep,
        Vec::new,
        |acc: &mut Vec<LedgerPart>, c, s| {
            if acc.is_empty() {
                acc.push(LedgerPart::default());
            }
            let part = &mut acc[0];
            walk(s, conv, input.freq, horizon, true, &mut |e| {
                part.push(c, &e, moves)
            })
        },
        |mut a, b| {
            a.extend(b);
            a
        },
    )?;
    let cust_rows: Vec<usize> = concat(&parts, |p| &p.cust)
        .into_iter()
        .map(|c| prep.customers.first_row[c as usize])
        .collect();
    let period = concat(&parts, |p| &p.period);
    let mut out: Vec<(String, ArrayRef)> = vec![
        (
            input.customer.name.clone(),
            take_rows(&input.customer, &cust_rows)?,
        ),
        (
            "period".into(),
            Arc::new(Date32Array::from(period_starts(input.freq, &period))),
        ),
    ];
    drop((cust_rows, period));
    if moves {
        let segs = concat(&parts, |p| &p.seg);
        for (c, a) in input
            .segments
            .iter()
            .zip(segment_columns(input, &prep, &segs)?)
        {
            out.push((c.name.clone(), a));
        }
    }
    for (j, name) in LEDGER_MONEY.iter().enumerate() {
        if moves || !matches!(*name, "moved_in_mrr" | "moved_out_mrr") {
            let col = concat(&parts, |p| &p.money[j]);
            out.push(((*name).into(), Arc::new(Float64Array::from(col))));
        }
    }
    let labels = concat(&parts, |p| &p.label);
    out.push((
        "movement".into(),
        Arc::new(StringArray::from_iter_values(labels)),
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

/// The money columns of the ledger, in output order (`moved_in_mrr` and `moved_out_mrr` only
/// with segments).
const LEDGER_MONEY: [&str; 9] = [
    "starting_mrr",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "moved_in_mrr",
    "moved_out_mrr",
    "ending_mrr",
];

/// The ledger rows of one range of customers, column by column. A walk [`Entry`] carries every
/// flow (about 200 bytes a row) while the ledger shows nine amounts: collecting entries and
/// reading them back column by column was most of the ledger's time.
#[derive(Default)]
struct LedgerPart {
    cust: Vec<u32>,
    period: Vec<i64>,
    seg: Vec<u32>,
    /// Amounts in the input unit, one vector per [`LEDGER_MONEY`] column.
    money: [Vec<f64>; 9],
    label: Vec<&'static str>,
}

impl LedgerPart {
    fn push(&mut self, c: u32, e: &Entry, moves: bool) {
        self.cust.push(c);
        self.period.push(e.period);
        self.seg.push(e.seg);
        let amounts = [
            e.starting,
            e.flows[NEW],
            e.flows[EXP],
            e.flows[CONTR],
            e.flows[CHURN],
            e.flows[REACT],
            e.flows[MIN],
            e.flows[MOUT],
            e.ending,
        ];
        for (j, (col, v)) in self.money.iter_mut().zip(amounts).enumerate() {
            if moves || !(j == 6 || j == 7) {
                col.push(v as f64 / CENTS);
            }
        }
        self.label.push(e.label);
    }
}

/// One column of every part, in order.
fn concat<T: Copy>(parts: &[LedgerPart], col: impl Fn(&LedgerPart) -> &[T]) -> Vec<T> {
    let mut v = Vec::with_capacity(parts.iter().map(|p| col(p).len()).sum());
    for p in parts {
        v.extend_from_slice(col(p));
    }
    v
}

/// Start dates (days since the epoch) of period ordinals: a ledger has a few dozen distinct
/// periods over millions of rows, so each start is computed once.
fn period_starts(freq: Freq, periods: &[i64]) -> Vec<i32> {
    let (lo, hi) = periods
        .iter()
        .fold((i64::MAX, i64::MIN), |(a, b), &p| (a.min(p), b.max(p)));
    if lo > hi || (hi - lo) as u128 >= periods.len() as u128 + 4096 {
        return start_dates(freq, periods.iter().map(|&p| Some(p)))
            .values()
            .to_vec();
    }
    let table: Vec<i32> = (lo..=hi).map(|p| freq.start_day(p) as i32).collect();
    periods.iter().map(|&p| table[(p - lo) as usize]).collect()
}
