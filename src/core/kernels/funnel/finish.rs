//! The per-step table of a funnel state, and the time-to-convert histograms
//! (docs/conventions.md#funnels).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Float64Builder, Int32Array, Int64Array,
    Int64Builder, ListBuilder, RecordBatch, StringArray, UInt64Array,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema};

use super::rules::{Bins, Order};
use super::state::{durations_col, from_first_col, reached_col, Info};
use crate::core::engine::groups::grid;
use crate::core::engine::state::{categories_of, meta};
use crate::core::engine::stats::quantiles;
use crate::core::error::KpiResult;
use crate::core::input::time::US_PER_DAY;

/// Mean, median and p90 columns of one kind of duration, and its histogram.
struct Times {
    mean: Vec<Option<f64>>,
    median: Vec<Option<f64>>,
    p90: Vec<Option<f64>>,
    hist_from: ListBuilder<Float64Builder>,
    hist_count: ListBuilder<Int64Builder>,
}

impl Times {
    fn new() -> Times {
        Times {
            mean: Vec::new(),
            median: Vec::new(),
            p90: Vec::new(),
            hist_from: ListBuilder::new(Float64Builder::new()),
            hist_count: ListBuilder::new(Int64Builder::new()),
        }
    }

    /// The figures of durations `d` (microseconds) in units of `per` microseconds.
    fn push(&mut self, d: &[i64], per: f64, bins: Option<Bins>) {
        if d.is_empty() {
            self.mean.push(None);
            self.median.push(None);
            self.p90.push(None);
        } else {
            let sum: i128 = d.iter().map(|&x| x as i128).sum();
            self.mean.push(Some(sum as f64 / d.len() as f64 / per));
            let mut v: Vec<f64> = d.iter().map(|&x| x as f64).collect();
            let [median, p90] = quantiles(&mut v, [0.5, 0.9]);
            self.median.push(median.map(|q| q / per));
            self.p90.push(p90.map(|q| q / per));
        }
        if let Some(b) = bins {
            histogram(d, b, per, &mut self.hist_from, &mut self.hist_count);
        }
    }
}

/// The per-step table from a funnel state of analysis `name`.
///
/// One row per (entry period, segments…, step). Row k describes arriving at step k:
/// `entered` = journeys that reached step k−1 (for step 1: those that reached step 1),
/// `converted` = those of them that reached step k, `conversion_from_previous =
/// converted / entered`, `conversion_from_first = converted / (journeys that reached step 1)`
/// (null when the denominator is 0). Time to convert: mean, median and p90 (linear
/// interpolation between order statistics, exact) of the time from step k−1 to step k of the
/// converted journeys; `time_from_first_*` the same of the time from step 1 to step k (on the
/// last row: the whole funnel); null for step 1 and when nobody converted. With periods,
/// `complete` says whether every entry of the period has had its full window by the latest
/// time in the data (null without a window). With a histogram, list columns give the lower
/// bin edges (in the unit) and the count of each bin, of both kinds of time.
pub(crate) fn finish(state: &RecordBatch, name: &'static str) -> KpiResult<RecordBatch> {
    let info = Info::read(&state.schema(), name)?;
    let (unit, bins) = (info.finish.unit, info.finish.bins);
    let n = info.steps.len();
    let has_period = info.freq.is_some();
    let n_keys = info.n_keys();
    let g = grid(
        state,
        has_period,
        info.n_segments,
        info.freq,
        categories_of(state)?.as_ref(),
    )?;
    let rows = g.source.len();
    let idx =
        UInt64Array::from_iter_values((0..rows).flat_map(|r| std::iter::repeat_n(r as u64, n)));
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (j, k) in g.keys.iter().enumerate() {
        let name = state.schema().field(j).name().clone();
        fields.push(Field::new(name, k.data_type().clone(), true));
        columns.push(take(k.as_ref(), &idx, None)?);
    }
    let reached = |src: Option<usize>, s: usize| -> i64 {
        src.map_or(0, |r| {
            state
                .column(reached_col(n_keys, s))
                .as_primitive::<Int64Type>()
                .value(r)
        })
    };
    let list = |src: Option<usize>, col: usize| -> Vec<i64> {
        src.map_or_else(Vec::new, |r| {
            let l = state.column(col).as_list::<i32>();
            l.value(r).as_primitive::<Int64Type>().values().to_vec()
        })
    };
    let per = unit.micros();
    let (mut step, mut names, mut entered, mut converted) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut from_first, mut from_prev) = (Vec::new(), Vec::new());
    let (mut to_convert, mut since_first) = (Times::new(), Times::new());
    let any_order = Order::parse(&info.order).is_ok_and(Order::any_order);
    let unordered = info.order == Order::Unordered.label();
    for &src in &g.source {
        let first = reached(src, 0);
        for s in 0..n {
            step.push(s as i32 + 1);
            names.push(if any_order && (s > 0 || unordered) {
                format!("any {} of {n} steps", s + 1)
            } else {
                info.steps[s].clone()
            });
            let conv = reached(src, s);
            let ent = if s == 0 { conv } else { reached(src, s - 1) };
            entered.push(ent);
            converted.push(conv);
            from_first.push((first > 0).then(|| conv as f64 / first as f64));
            from_prev.push((ent > 0).then(|| conv as f64 / ent as f64));
            let (d, f) = if s == 0 {
                (Vec::new(), Vec::new())
            } else {
                (
                    list(src, durations_col(n_keys, n, s)),
                    list(src, from_first_col(n_keys, n, s)),
                )
            };
            to_convert.push(&d, per, bins);
            since_first.push(&f, per, bins);
        }
    }
    let u = unit.label();
    let mut push = |f: Field, a: ArrayRef| {
        fields.push(f);
        columns.push(a);
    };
    push(
        Field::new("step", DataType::Int32, false),
        Arc::new(Int32Array::from(step)),
    );
    push(
        Field::new("step_name", DataType::Utf8, false),
        Arc::new(StringArray::from(names)),
    );
    push(
        Field::new("entered", DataType::Int64, false),
        Arc::new(Int64Array::from(entered)),
    );
    push(
        Field::new("converted", DataType::Int64, false),
        Arc::new(Int64Array::from(converted)),
    );
    let Times {
        mean,
        median,
        p90,
        hist_from: mut h_from,
        hist_count: mut h_count,
    } = to_convert;
    let Times {
        mean: f_mean,
        median: f_median,
        p90: f_p90,
        hist_from: mut fh_from,
        hist_count: mut fh_count,
    } = since_first;
    for (label, v) in [
        ("conversion_from_first".to_string(), from_first),
        ("conversion_from_previous".to_string(), from_prev),
        (format!("time_to_convert_mean_{u}"), mean),
        (format!("time_to_convert_median_{u}"), median),
        (format!("time_to_convert_p90_{u}"), p90),
        (format!("time_from_first_mean_{u}"), f_mean),
        (format!("time_from_first_median_{u}"), f_median),
        (format!("time_from_first_p90_{u}"), f_p90),
    ] {
        push(
            Field::new(label, DataType::Float64, true),
            Arc::new(Float64Array::from(v)),
        );
    }
    if let Some(freq) = info.freq {
        let dates = g.keys[0].as_primitive::<Date32Type>();
        let complete: BooleanArray = (0..rows)
            .flat_map(|r| {
                let end_day = freq.start_day(freq.ordinal_of_day(dates.value(r) as i64) + 1);
                let v = match (info.window, info.as_of) {
                    // Saturating: a window may be up to 9·10¹⁸ µs, beyond any time plus it.
                    (Some(w), Some(a)) => Some((end_day * US_PER_DAY).saturating_add(w) <= a),
                    (Some(_), None) => Some(false),
                    _ => None,
                };
                std::iter::repeat_n(v, n)
            })
            .collect();
        push(
            Field::new("complete", DataType::Boolean, true),
            Arc::new(complete),
        );
    }
    if bins.is_some() {
        for (prefix, from, count) in [
            ("histogram", &mut h_from, &mut h_count),
            ("from_first_histogram", &mut fh_from, &mut fh_count),
        ] {
            let a = from.finish();
            push(
                Field::new(format!("{prefix}_from_{u}"), a.data_type().clone(), true),
                Arc::new(a),
            );
            let c = count.finish();
            push(
                Field::new(format!("{prefix}_count"), c.data_type().clone(), true),
                Arc::new(c),
            );
        }
    }
    let md = HashMap::from([(
        meta::SKIPPED_ROWS.to_string(),
        info.skipped_rows.to_string(),
    )]);
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, md)),
        columns,
    )?)
}

/// Equal-width bins from the smallest to the largest duration (in `unit`); the last bin
/// includes its upper edge. An empty distribution gives empty lists.
fn histogram(
    d: &[i64],
    bins: Bins,
    per: f64,
    from: &mut ListBuilder<Float64Builder>,
    count: &mut ListBuilder<Int64Builder>,
) {
    if !d.is_empty() {
        let k = match bins {
            Bins::Auto => ((d.len() as f64).cbrt().ceil() as usize).clamp(1, 60),
            Bins::Count(k) => k.max(1),
        };
        let lo = *d.iter().min().expect("non-empty");
        let hi = *d.iter().max().expect("non-empty");
        let width = (hi - lo) as f64 / k as f64;
        let mut counts = vec![0i64; k];
        for &x in d {
            let b = if width == 0.0 {
                0
            } else {
                (((x - lo) as f64 / width) as usize).min(k - 1)
            };
            counts[b] += 1;
        }
        for b in 0..k {
            from.values()
                .append_value((lo as f64 + b as f64 * width) / per);
        }
        count.values().append_slice(&counts);
    }
    from.append(true);
    count.append(true);
}
