//! Stage funnels ([`FunnelFromStages`]): the wide shape, one row per lead and one timestamp
//! column per stage, null when the lead never reached it (docs/conventions.md#funnel-from-stages).

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};

use super::finish::finish;
use super::rules::{check_steps, EntryPeriods, FinishOptions, MAX_STEPS};
use super::state::{groups_of, merge, state_batch, Counts, Info};
use crate::core::engine::state::{partial_in_ranges, with_categories, Analysis};
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{local_micros, period_ordinals, Zone};
use crate::core::input::{check_same_len, Column};

/// What to do with a lead whose stages are out of time order (the `invalid=` policy of
/// docs/vocabulary.md, with one value of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageOrder {
    /// Fail, naming the rows (the default).
    Raise,
    /// Leave the lead out and count it (`kpikit.skipped_rows`).
    Skip,
    /// The lead's progress ends before the first stage that is earlier than a stage before it.
    Truncate,
}

impl StageOrder {
    pub fn parse(s: &str) -> KpiResult<StageOrder> {
        match s {
            "raise" => Ok(StageOrder::Raise),
            "skip" => Ok(StageOrder::Skip),
            "truncate" => Ok(StageOrder::Truncate),
            _ => Err(KpiError::param(
                "invalid",
                format!("{s:?} is not one of \"raise\", \"skip\", \"truncate\""),
            )),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StageOrder::Raise => "raise",
            StageOrder::Skip => "skip",
            StageOrder::Truncate => "truncate",
        }
    }
}

/// Wall-clock time in `zone` of the latest instant in the columns (for incomplete periods).
fn latest_local(cols: &[&Column], utc_max: Option<i64>, zone: Zone) -> Option<i64> {
    let m = utc_max?;
    let aware = cols
        .iter()
        .any(|c| matches!(c.data_type(), DataType::Timestamp(_, Some(_))));
    Some(if aware { zone.local_of(m) } else { m })
}

/// Timestamp columns as chunks of UTC microseconds cut at the same rows (zero-copy when the
/// input is microseconds and the columns share their chunking, as columns of one table do).
fn aligned_micros(cols: &[Column]) -> KpiResult<Vec<Vec<Int64Array>>> {
    let same = cols.iter().all(|c| {
        c.chunks.len() == cols[0].chunks.len()
            && c.chunks
                .iter()
                .zip(&cols[0].chunks)
                .all(|(a, b)| a.len() == b.len())
    });
    let per_col: Vec<Vec<Int64Array>> = cols
        .iter()
        .map(|c| {
            let chunks = c
                .chunks
                .iter()
                .map(|a| match a.data_type() {
                    DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _) => {
                        let t = a.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
                        let t = Int64Array::new(t.values().clone(), t.nulls().cloned());
                        // As local_micros does: durations between checked times cannot overflow.
                        crate::core::input::time::check_time_range(&c.name, &t)?;
                        Ok(t)
                    }
                    _ => {
                        let one = Column::new(c.name.clone(), vec![a.clone()]);
                        Ok(local_micros(&one, Zone::Utc)?.remove(0))
                    }
                })
                .collect::<KpiResult<Vec<_>>>()?;
            if same {
                Ok(chunks)
            } else {
                // Differently chunked columns: one contiguous chunk each.
                let refs: Vec<&dyn Array> = chunks.iter().map(|a| a as &dyn Array).collect();
                let whole = arrow::compute::concat(&refs)?;
                Ok(vec![whole.as_primitive::<Int64Type>().clone()])
            }
        })
        .collect::<KpiResult<_>>()?;
    let n_chunks = per_col[0].len();
    let mut out: Vec<Vec<Int64Array>> = (0..n_chunks).map(|_| Vec::new()).collect();
    for col in per_col {
        for (k, a) in col.into_iter().enumerate() {
            out[k].push(a);
        }
    }
    Ok(out)
}

/// The columns and settings of a stage funnel.
#[derive(Debug, Clone)]
pub struct StageInput<'a> {
    /// The stage timestamp columns, in funnel order (1 to [`MAX_STEPS`]).
    pub stages: &'a [Column],
    pub segments: &'a [Column],
    /// Conversion window from stage 1, microseconds.
    pub window: Option<i64>,
    /// Entry periods ("conversion trends"), keyed by the period of stage 1.
    pub periods: Option<EntryPeriods>,
    pub invalid: StageOrder,
    pub finish: FinishOptions,
}

/// The funnel of the wide shape (`kpikit.funnel_from_stages`).
///
/// A lead enters the funnel when its first stage is present. It reaches stage k when stages
/// 1…k are all present, in time order (equal times allowed) and stage k is at most `window`
/// after stage 1 (inclusive). A missing stage ends the lead's progress (later stages do not
/// count, as in any sequential funnel). A present stage earlier than a present stage before it
/// is out of order: [`StageOrder::Raise`] names the rows, [`StageOrder::Skip`] leaves the lead
/// out (counted in the skipped rows), [`StageOrder::Truncate`] ends the progress there. With
/// `periods`, groups are keyed by the entry period (of stage 1).
pub struct FunnelFromStages;

impl Analysis for FunnelFromStages {
    const NAME: &'static str = "funnel_from_stages";
    type Input<'a> = StageInput<'a>;

    fn partial(input: &StageInput<'_>) -> KpiResult<RecordBatch> {
        let stages = input.stages;
        check_steps(stages.len())?;
        let n_rows = stages[0].len();
        check_same_len(&stages[0], stages.iter().chain(input.segments))?;
        let state = partial_in_ranges(
            n_rows,
            |r: Range<usize>| stage_part(input, r),
            |parts| merge(parts, Self::NAME),
        )?;
        with_categories(state, input.segments)
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge(states, Self::NAME)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        finish(state, Self::NAME)
    }
}

// Rows are walked by index across several stage columns at once.
#[allow(clippy::needless_range_loop)]
pub(crate) fn stage_part(input: &StageInput<'_>, r: Range<usize>) -> KpiResult<RecordBatch> {
    let StageInput {
        stages,
        segments,
        window,
        periods,
        invalid: order,
        finish,
    } = *input;
    let names: Vec<String> = stages.iter().map(|c| c.name.clone()).collect();
    let n = stages.len();
    let len = r.end - r.start;
    let cols: Vec<Column> = stages.iter().map(|c| c.slice(r.start, len)).collect();
    let mut keys: Vec<Column> = Vec::new();
    if let Some(p) = periods {
        let ords: Vec<ArrayRef> = period_ordinals(&cols[0], p.zone, p.freq)?
            .into_iter()
            .map(|a| Arc::new(a) as ArrayRef)
            .collect();
        keys.push(Column::new("period", ords));
    }
    keys.extend(segments.iter().map(|c| c.slice(r.start, len)));
    let groups = groups_of(&keys, len)?;
    let mut counts = Counts::new(n, groups.len());
    let mut bad = BadRows::default();
    let mut skipped = 0u64;
    let mut utc_max: Option<i64> = None;
    let win = window.unwrap_or(i64::MAX);
    // Stage columns as aligned chunks of UTC microseconds (zero-copy for microsecond input).
    let utc = aligned_micros(&cols)?;
    let mut row = 0usize;
    let mut t = [0i64; MAX_STEPS];
    // The latest time is only needed to mark complete periods.
    let track_max = periods.is_some();
    for chunk in &utc {
        let has_nulls: Vec<bool> = chunk.iter().map(|a| a.null_count() > 0).collect();
        let vals: Vec<&[i64]> = chunk.iter().map(|a| a.values().as_ref()).collect();
        // Rows where some stage after the first is present; most leads only have the first
        // stage, and those take the short path below.
        let mut rest: Option<arrow::buffer::BooleanBuffer> = None;
        if (1..n).all(|s| has_nulls[s]) {
            for a in &chunk[1..] {
                let v = a.nulls().expect("has nulls").inner().clone();
                rest = Some(match rest {
                    None => v,
                    Some(r) => &r | &v,
                });
            }
        }
        for i in 0..chunk[0].len() {
            let g = groups.ids[row] as usize;
            if let Some(rest) = &rest {
                if !rest.value(i) {
                    if !(has_nulls[0] && chunk[0].is_null(i)) {
                        counts.reached[g * n] += 1;
                        if track_max {
                            let v = vals[0][i];
                            utc_max = Some(utc_max.map_or(v, |m: i64| m.max(v)));
                        }
                    }
                    row += 1;
                    continue;
                }
            }
            let mut k = 0usize;
            let mut stopped = false;
            let mut last: Option<(usize, i64)> = None; // latest present stage in order so far
            let mut row_max: Option<i64> = None;
            let mut skip = false;
            for s in 0..n {
                if has_nulls[s] && chunk[s].is_null(i) {
                    stopped = true;
                    continue;
                }
                let v = vals[s][i];
                row_max = Some(row_max.map_or(v, |m: i64| m.max(v)));
                match last {
                    Some((ls, lt)) if v < lt => {
                        match order {
                            StageOrder::Raise => bad.push(r.start + row, || {
                                format!("{} before {}", names[s], names[ls])
                            }),
                            StageOrder::Skip => {
                                skip = true;
                                break;
                            }
                            StageOrder::Truncate => {}
                        }
                        stopped = true;
                        continue;
                    }
                    _ => last = Some((s, v)),
                }
                if !stopped {
                    if s > 0 && v.saturating_sub(t[0]) > win {
                        stopped = true;
                        continue;
                    }
                    t[s] = v;
                    k = s + 1;
                }
            }
            row += 1;
            if skip {
                // A skipped lead is left out entirely, its times too (docs/vocabulary.md).
                skipped += 1;
                continue;
            }
            if let (true, Some(v)) = (track_max, row_max) {
                utc_max = Some(utc_max.map_or(v, |m: i64| m.max(v)));
            }
            counts.add(g, k, &t);
        }
    }
    KpiError::check_rows(
        &names.join(", "),
        "stages must be in time order (invalid=\"skip\" leaves such leads out, invalid=\"truncate\" ends a lead's progress at the first stage out of order)",
        bad,
    )?;
    let refs: Vec<&Column> = cols.iter().collect();
    let info = Info {
        name: FunnelFromStages::NAME,
        steps: names,
        n_segments: segments.len(),
        freq: periods.map(|p| p.freq),
        window,
        as_of: periods.and_then(|p| latest_local(&refs, utc_max, p.zone)),
        order: "stages".into(),
        invalid: order.label(),
        finish,
        skipped_rows: skipped,
    };
    state_batch(&keys, &groups, &counts, &info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::engine::analyses;
    use crate::core::engine::state::meta;
    use crate::core::input::time::Unit;
    use crate::core::kernels::funnel::rules::Bins;
    use arrow::array::TimestampMicrosecondArray;
    use arrow::datatypes::Float64Type;

    const H: i64 = 3_600_000_000;

    fn ts(name: &str, v: Vec<Option<i64>>) -> Column {
        Column::from_array(name, Arc::new(TimestampMicrosecondArray::from(v)))
    }

    fn i64s(b: &RecordBatch, name: &str) -> Vec<i64> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    fn f64s(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Float64Type>()
            .iter()
            .collect()
    }

    fn input<'a>(
        stages: &'a [Column],
        window: Option<i64>,
        invalid: StageOrder,
        unit: Unit,
        bins: Option<Bins>,
    ) -> StageInput<'a> {
        StageInput {
            stages,
            segments: &[],
            window,
            periods: None,
            invalid,
            finish: FinishOptions { unit, bins },
        }
    }

    fn run(stages: &[Column], window: Option<i64>, invalid: StageOrder, unit: Unit) -> RecordBatch {
        let st = FunnelFromStages::partial(&input(stages, window, invalid, unit, None)).unwrap();
        FunnelFromStages::finish(&st).unwrap()
    }

    #[test]
    fn stages_count_prefixes_inside_the_window() {
        // Lead 0: all three stages within 10 h. Lead 1: second stage exactly at the 10 h window
        // (counts), third after it. Lead 2: second stage missing, third present (stops at 1).
        // Lead 3: never entered.
        let a = ts("a", vec![Some(0), Some(0), Some(0), None]);
        let b = ts("b", vec![Some(2 * H), Some(10 * H), None, Some(H)]);
        let c = ts("c", vec![Some(4 * H), Some(11 * H), Some(5 * H), None]);
        let out = run(&[a, b, c], Some(10 * H), StageOrder::Raise, Unit::Hours);
        assert_eq!(i64s(&out, "entered"), vec![3, 3, 2]);
        assert_eq!(i64s(&out, "converted"), vec![3, 2, 1]);
        // Step 2 durations: 2 h and 10 h → mean 6, median 6, p90 = 2 + 0.9 × 8 = 9.2.
        assert_eq!(f64s(&out, "time_to_convert_mean_hours")[1], Some(6.0));
        assert_eq!(f64s(&out, "time_to_convert_median_hours")[1], Some(6.0));
        let p90 = f64s(&out, "time_to_convert_p90_hours")[1].unwrap();
        assert!((p90 - 9.2).abs() < 1e-9);
        assert_eq!(
            f64s(&out, "conversion_from_first"),
            vec![Some(1.0), Some(2.0 / 3.0), Some(1.0 / 3.0)]
        );
        // From the first stage: step 2 as above; step 3 only lead 0, 4 h after stage 1 (its
        // step-to-step time is 2 h).
        assert_eq!(
            f64s(&out, "time_from_first_mean_hours"),
            vec![None, Some(6.0), Some(4.0)]
        );
        assert_eq!(f64s(&out, "time_to_convert_mean_hours")[2], Some(2.0));
    }

    #[test]
    fn a_segment_whose_leads_never_entered_has_its_rows_of_zeros() {
        // Segment "x": two leads entering on days 0 and 40 (two months of 1970); segment "e":
        // two leads without the first stage, and its skipped lead (out of order) on day 400
        // must not widen the grid (docs/conventions.md, "Complete grids").
        const D: i64 = 24 * H;
        let a = ts("a", vec![Some(0), Some(40 * D), None, None, Some(400 * D)]);
        let b = ts("b", vec![Some(D), None, Some(3 * D), None, Some(399 * D)]);
        let seg = Column::from_array(
            "seg",
            Arc::new(arrow::array::StringArray::from(vec![
                "x", "x", "e", "e", "e",
            ])),
        );
        let stages = [a, b];
        let segments = [seg];
        for periods in [
            None,
            Some(EntryPeriods {
                zone: Zone::Utc,
                freq: crate::core::input::time::Freq::Month,
            }),
        ] {
            let mut i = input(&stages, None, StageOrder::Skip, Unit::Days, None);
            i.segments = &segments;
            i.periods = periods;
            let out = FunnelFromStages::finish(&FunnelFromStages::partial(&i).unwrap()).unwrap();
            let segs: Vec<String> = out
                .column_by_name("seg")
                .unwrap()
                .as_string::<i32>()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect();
            let (entered, converted) = (i64s(&out, "entered"), i64s(&out, "converted"));
            if periods.is_none() {
                assert_eq!(segs, ["e", "e", "x", "x"]);
                assert_eq!(entered, [0, 0, 2, 2]);
                assert_eq!(converted, [0, 0, 2, 1]);
            } else {
                // January and February for both segments; e's rows are empty.
                assert_eq!(segs, ["e", "e", "e", "e", "x", "x", "x", "x"]);
                assert_eq!(entered, [0, 0, 0, 0, 1, 1, 1, 1]);
                assert_eq!(converted, [0, 0, 0, 0, 1, 1, 1, 0]);
            }
            assert!(f64s(&out, "conversion_from_first")[..2]
                .iter()
                .all(Option::is_none));
        }
    }

    #[test]
    fn out_of_order_stages_are_named_or_truncated() {
        let a = ts("visited", vec![Some(5 * H), Some(0)]);
        let b = ts("signed", vec![Some(H), Some(H)]);
        let stages = [a, b];
        let err =
            FunnelFromStages::partial(&input(&stages, None, StageOrder::Raise, Unit::Hours, None))
                .unwrap_err()
                .to_string();
        assert!(err.contains("row 0: signed before visited"), "{err}");
        assert!(err.contains("1 row(s)"), "{err}");
        let out = run(&stages, None, StageOrder::Truncate, Unit::Hours);
        assert_eq!(i64s(&out, "converted"), vec![2, 1]);
        // Skip: lead 0 is left out entirely and counted; lead 1 converts after 1 h.
        let out = run(&stages, None, StageOrder::Skip, Unit::Hours);
        assert_eq!(i64s(&out, "converted"), vec![1, 1]);
        assert_eq!(f64s(&out, "time_to_convert_mean_hours")[1], Some(1.0));
        let skipped = out.schema().metadata().get(meta::SKIPPED_ROWS).cloned();
        assert_eq!(skipped.as_deref(), Some("1"));
    }

    #[test]
    fn merged_parts_equal_one_pass() {
        let n = 1000;
        let a = ts("a", (0..n).map(|i| Some(i * H)).collect());
        let b = ts(
            "b",
            (0..n)
                .map(|i| (i % 3 != 0).then_some(i * H + (i % 17) * H))
                .collect(),
        );
        let c = ts(
            "c",
            (0..n)
                .map(|i| (i % 5 != 0).then_some(i * H + (i % 23) * H))
                .collect(),
        );
        let stages = [a, b, c];
        let inp = input(
            &stages,
            Some(10 * H),
            StageOrder::Truncate,
            Unit::Days,
            Some(Bins::Auto),
        );
        let whole = FunnelFromStages::partial(&inp).unwrap();
        let parts: Vec<RecordBatch> = [(0usize, 300usize), (300, 0), (300, 700)]
            .iter()
            .map(|&(o, l)| stage_part(&inp, o..o + l))
            .collect::<KpiResult<_>>()
            .unwrap();
        let x = FunnelFromStages::finish(&whole).unwrap();
        let y = FunnelFromStages::finish(&FunnelFromStages::merge(&parts).unwrap()).unwrap();
        assert_eq!(x.columns(), y.columns());
        // The same through the registry, which dispatches on the state's analysis name.
        let z = analyses::finish(&analyses::merge(&parts).unwrap()).unwrap();
        assert_eq!(x.columns(), z.columns());
        assert!(x.column_by_name("from_first_histogram_count").is_some());
    }

    #[test]
    fn a_stage_state_is_not_an_event_funnel_state() {
        let stages = [ts("a", vec![Some(0)]), ts("b", vec![Some(H)])];
        let st =
            FunnelFromStages::partial(&input(&stages, None, StageOrder::Raise, Unit::Days, None))
                .unwrap();
        let e = crate::core::kernels::funnel::events::Funnel::finish(&st)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a funnel state"), "{e}");
        // States made with other settings do not merge.
        let other =
            FunnelFromStages::partial(&input(&stages, None, StageOrder::Raise, Unit::Hours, None))
                .unwrap();
        let e = FunnelFromStages::merge(&[st, other])
            .unwrap_err()
            .to_string();
        assert!(e.contains("kpikit.funnel.unit"), "{e}");
    }

    #[test]
    fn chunking_and_time_units_do_not_change_the_result() {
        use arrow::array::TimestampSecondArray;
        let a: Vec<Option<i64>> = (0..10).map(|i| Some(i * 3600)).collect();
        let b: Vec<Option<i64>> = (0..10)
            .map(|i| (i % 4 != 0).then_some(i * 3600 + i * 600))
            .collect();
        let us = |v: &[Option<i64>]| v.iter().map(|x| x.map(|s| s * 1_000_000)).collect();
        let x = run(
            &[ts("a", us(&a)), ts("b", us(&b))],
            Some(H),
            StageOrder::Raise,
            Unit::Minutes,
        );
        // "a" in seconds and one chunk, "b" in microseconds split in two chunks.
        let a_s = Column::from_array("a", Arc::new(TimestampSecondArray::from(a.clone())));
        let b_us: Vec<Option<i64>> = us(&b);
        let b_split = Column::new(
            "b",
            vec![
                Arc::new(TimestampMicrosecondArray::from(b_us[..3].to_vec())) as ArrayRef,
                Arc::new(TimestampMicrosecondArray::from(b_us[3..].to_vec())) as ArrayRef,
            ],
        );
        let y = run(&[a_s, b_split], Some(H), StageOrder::Raise, Unit::Minutes);
        assert_eq!(x.columns(), y.columns());
        // Leads 0, 4, 8 have no "b"; i × 10 minutes ≤ 60 for i ≤ 6 → i in {1, 2, 3, 5, 6}.
        assert_eq!(i64s(&x, "converted"), vec![10, 5]);
    }
}
