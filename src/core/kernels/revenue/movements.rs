//! The MRR movements as partial → merge → finish ([`MrrMovements`]).

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, RecordBatch, UInt64Array,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema, SchemaRef};

use super::conventions::*;
use super::customers::*;
use super::input::*;
use super::series::*;
use super::walk::*;
use crate::core::engine::groups::{distinct_first_rows, grid, merge_sum, take_rows};
use crate::core::engine::state::{
    categories_of, meta, with_categories, Analysis, MergeInput, Meta,
};
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::{start_dates, Freq};
use crate::core::input::Column;

/// Start day of the last period of the data (empty: no data); the latest of the states when
/// they merge.
pub(super) const META_HORIZON: &str = "kpikit.horizon";
/// The conventions (JSON) the movements were classified with; the finished table carries them
/// too, for the rates.
pub(super) const META_CONVENTIONS: &str = "kpikit.conventions";
/// Money columns of the state are in hundredths of the input unit.
pub(super) const META_UNIT: &str = "kpikit.money_unit";

/// The input of [`MrrMovements`]: the revenue columns and the conventions to classify with.
#[derive(Debug, Clone, Copy)]
pub struct MovementsInput<'a> {
    pub revenue: &'a RevenueInput,
    pub conventions: &'a Conventions,
}

/// MRR movements per (period, segments…): new, expansion, contraction, churn, reactivation
/// and, with segments, moves between them, with the starting and ending balances.
pub struct MrrMovements;

impl Analysis for MrrMovements {
    const NAME: &'static str = "mrr_movements";
    type Input<'a> = MovementsInput<'a>;

    fn partial(input: &MovementsInput<'_>) -> KpiResult<RecordBatch> {
        with_categories(
            partial_state(input.revenue, input.conventions)?,
            &input.revenue.segments,
        )
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge_states(states)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        finish_state(state)
    }
}

/// Segment values (one column per segment) of the segment groups `segs`.
pub(super) fn segment_columns(
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

/// The partial state: per (period, segments…), the flows of [`FLOWS`] (MRR in cents).
/// Partition the input by customer; states then merge exactly.
fn partial_state(input: &RevenueInput, conv: &Conventions) -> KpiResult<RecordBatch> {
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
    if prep.segmented {
        // A segment none of whose customers ever had MRR gets a zero row at the last period,
        // so that it has its rows of the result (docs/conventions.md, "Complete grids").
        if let Some(h) = prep.horizon {
            let mut seen = vec![false; prep.segment_groups.len()];
            for k in &keys {
                seen[k.1 as usize] = true;
            }
            keys.extend((0..seen.len()).filter(|&g| !seen[g]).map(|g| (h, g as u32)));
        }
    }
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
            keys.iter().map(|k| sums.get(k).map_or(0, |f| f[j])),
        )));
    }
    let mut meta = StdHashMap::new();
    meta.insert(meta::ANALYSIS.into(), MrrMovements::NAME.into());
    meta.insert(meta::FREQ.into(), input.freq.label());
    meta.insert(meta::SEGMENTS.into(), input.segments.len().to_string());
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
struct StateInfo {
    freq: Freq,
    n_segments: usize,
    /// Start day of the last period of the data (None: no data).
    horizon: Option<i64>,
    conventions: Conventions,
}

fn state_info(schema: &SchemaRef) -> KpiResult<StateInfo> {
    let m = Meta::of(schema, MrrMovements::NAME)?;
    Ok(StateInfo {
        freq: Freq::from_label(m.get(meta::FREQ)?)?,
        n_segments: m.parse(meta::SEGMENTS)?,
        horizon: m.parse_opt(META_HORIZON)?,
        conventions: Conventions::from_json(m.get(META_CONVENTIONS)?)?,
    })
}

/// Merge the states of customer partitions (every customer's rows in one partition): flows add
/// up, the horizon is the latest.
fn merge_states(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let input = MergeInput::check(states, MrrMovements::NAME, &[META_HORIZON])?;
    let mut horizon = None;
    let mut n_segments = 0;
    for s in states {
        let info = state_info(&s.schema())?;
        horizon = horizon.max(info.horizon);
        n_segments = info.n_segments;
    }
    let merged = merge_sum(&input.plain, 1 + n_segments)?;
    let horizon = horizon.map(|h| h.to_string()).unwrap_or_default();
    input.finish(merged, &[(META_HORIZON, horizon)])
}

/// Movements per period (and segment) from a state: one row per period from the first with MRR
/// to the last of the data, gaps filled, segments sorted. Balances are cumulated changes:
/// `ending_mrr = Σ mrr_change` up to the period, `starting_mrr` = the previous ending.
fn finish_state(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let info = state_info(&state.schema())?;
    let categories = categories_of(state)?;
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
            distinct_first_rows(&seg_cols)?
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
    let g = grid(
        &state,
        true,
        info.n_segments,
        Some(info.freq),
        categories.as_ref(),
    )?;
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
    out.push(("reactivated_and_churned_mrr".into(), money(&v[FLASH_RM])));
    let fields: Vec<Field> = out
        .iter()
        .map(|(name, a)| Field::new(name, a.data_type().clone(), true))
        .collect();
    let mut meta = StdHashMap::new();
    meta.insert(META_CONVENTIONS.into(), info.conventions.to_json());
    meta.insert(meta::FREQ.into(), info.freq.label());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        out.into_iter().map(|x| x.1).collect(),
    )?)
}
