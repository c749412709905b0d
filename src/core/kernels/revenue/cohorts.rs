//! MRR cohorts as partial → merge → finish ([`RevenueCohorts`]).

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema, SchemaRef};
use hashbrown::HashMap;

use super::conventions::*;
use super::customers::*;
use super::input::*;
use super::movements::*;
use super::series::*;
use super::walk::*;
use crate::core::engine::groups::merge_sum;
use crate::core::engine::state::{meta, Analysis, MergeInput, Meta};
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::{start_dates, Freq};

/// MRR cohorts: per first period with MRR (the cohort) and later period, the cohort's customers
/// and MRR still there.
pub struct RevenueCohorts;

impl Analysis for RevenueCohorts {
    const NAME: &'static str = "revenue_cohorts";
    type Input<'a> = RevenueInput;

    fn partial(input: &RevenueInput) -> KpiResult<RecordBatch> {
        partial_state(input)
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge_states(states)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        finish_state(state)
    }
}

/// Cohorts as partial → merge → finish: per (cohort, period) the change in the number of the
/// cohort's customers with MRR and in their MRR (cents); finish cumulates the changes up to the
/// last period of all partitions, so a customer still active in one partition counts until the
/// end of the data seen in another. A customer's cohort is the first period it ends with MRR;
/// it stays there when it leaves and comes back. Partition by customer.
fn partial_state(input: &RevenueInput) -> KpiResult<RecordBatch> {
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
    meta.insert(meta::ANALYSIS.into(), RevenueCohorts::NAME.into());
    meta.insert(meta::FREQ.into(), input.freq.label());
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
    let m = Meta::of(schema, RevenueCohorts::NAME)?;
    Ok((
        Freq::from_label(m.get(meta::FREQ)?)?,
        m.parse_opt(META_HORIZON)?,
    ))
}

/// Merge cohort states of customer partitions: counts and MRR add up, the horizon is the latest.
fn merge_states(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let input = MergeInput::check(states, RevenueCohorts::NAME, &[META_HORIZON])?;
    let mut horizon = None;
    for s in states {
        horizon = horizon.max(cohort_info(&s.schema())?.1);
    }
    let merged = merge_sum(&input.plain, 2)?;
    let fields: Vec<Field> = merged
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(false))
        .collect();
    let merged = RecordBatch::try_new(Arc::new(Schema::new(fields)), merged.columns().to_vec())?;
    let horizon = horizon.map(|h| h.to_string()).unwrap_or_default();
    input.finish(merged, &[(META_HORIZON, horizon)])
}

/// The cohort triangle in long form: one row per cohort and period from the cohort's first
/// period to the last of the data, with the cohort's size and starting MRR (its first period),
/// the customers and MRR it retains, and their ratios.
fn finish_state(state: &RecordBatch) -> KpiResult<RecordBatch> {
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
    meta.insert(meta::FREQ.into(), freq.label());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        out.into_iter().map(|x| x.1).collect(),
    )?)
}
