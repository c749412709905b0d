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
use crate::core::input::time::start_dates;

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
