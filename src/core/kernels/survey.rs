//! Survey scores: NPS and CSAT, written as partial → merge → finish.
//!
//! The partial state is the distribution of integer scores per group (optional period, then
//! segments): one Int64 column per score value plus the count of skipped rows. States of
//! different partitions merge by adding counts ([`merge_score_counts`]), so the finished numbers
//! are exactly those of a single pass. [`nps`] and [`csat`] finish a state.
//!
//! One file on purpose: NPS and CSAT share the state, its merge and its finish but for the
//! score bands; about a third of the length is the unit tests.

use std::collections::HashMap as StdHashMap;

use hashbrown::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch};
use arrow::compute::filter;
use arrow::datatypes::{
    ArrowNativeType, ArrowPrimitiveType, DataType, Field, Int64Type, Schema, SchemaRef,
};

use crate::core::engine::groups::{grid, group_ids, merge_sum, take_rows, Groups};
use crate::core::engine::state::{
    categories_of, meta, partial_in_ranges, with_categories, Analysis, Invalid, MergeInput, Meta,
};
use crate::core::engine::stats::{wilson, Z95};
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{
    local_micros, period_ordinals, start_dates, DayOrdinals, Freq, Zone,
};
use crate::core::input::{check_same_len, f64_chunks, value_f64, Column};

/// Bucketing of a time column into calendar periods.
#[derive(Debug, Clone)]
pub struct Periods {
    pub time: Column,
    pub zone: Zone,
    pub freq: Freq,
}

/// An inclusive integer score scale, e.g. 0..=10 for NPS or 1..=5 for CSAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub lo: i64,
    pub hi: i64,
}

/// Bounds of a score scale: its ends within ±`MAX_SCALE_END`, at most `MAX_SCALE_WIDTH` apart
/// (one count per score is kept for every group).
pub const MAX_SCALE_END: i64 = 1_000_000;
pub const MAX_SCALE_WIDTH: i64 = 100;

impl Scale {
    pub const NPS: Scale = Scale { lo: 0, hi: 10 };

    /// A scale `lo..=hi`; wide (i128) ends so that any integer reaches the bound check.
    pub fn new(lo: impl Into<i128>, hi: impl Into<i128>) -> KpiResult<Scale> {
        let (lo, hi) = (lo.into(), hi.into());
        let end = i128::from(MAX_SCALE_END);
        if lo >= hi || hi - lo > i128::from(MAX_SCALE_WIDTH) || lo < -end || hi > end {
            return Err(KpiError::param(
                "score_range",
                format!("({lo}, {hi}) must be two integers low < high, at most {MAX_SCALE_WIDTH} apart, from -{MAX_SCALE_END} to {MAX_SCALE_END}"),
            ));
        }
        // In range of i64 by the checks above.
        Ok(Scale {
            lo: lo as i64,
            hi: hi as i64,
        })
    }

    fn width(&self) -> usize {
        (self.hi - self.lo + 1) as usize
    }
}

const META_SCALE: &str = "kpikit.scale";
const META_THRESHOLD: &str = "kpikit.csat.threshold";

/// Which survey metric a score-count state is finished into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Net Promoter Score (needs the 0–10 scale).
    Nps,
    /// Customer satisfaction: share of scores at least `threshold`.
    Csat { threshold: i64 },
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Metric::Nps => Nps::NAME,
            Metric::Csat { .. } => Csat::NAME,
        }
    }

    /// The metric's rule on the scale, checked before any row is read.
    fn check(self, scale: Scale) -> KpiResult<()> {
        match self {
            Metric::Nps if scale != Scale::NPS => Err(KpiError::param(
                "score_range",
                "NPS needs scores on the 0–10 scale",
            )),
            Metric::Csat { threshold } if threshold < scale.lo || threshold > scale.hi => {
                Err(KpiError::param(
                    "threshold",
                    format!("{threshold} is off the scale {}–{}", scale.lo, scale.hi),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The columns and settings of a survey analysis.
#[derive(Debug, Clone, Copy)]
pub struct Scores<'a> {
    pub score: &'a Column,
    pub periods: Option<&'a Periods>,
    pub segments: &'a [Column],
    pub scale: Scale,
    pub invalid: Invalid,
}

/// NPS per (period, segments…) group: partial = score counts, merge = counts add up.
pub struct Nps;

impl Analysis for Nps {
    const NAME: &'static str = "nps";
    type Input<'a> = Scores<'a>;

    fn partial(s: &Scores<'_>) -> KpiResult<RecordBatch> {
        score_counts(
            s.score,
            s.periods,
            s.segments,
            s.scale,
            s.invalid,
            Metric::Nps,
        )
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge_score_counts(states, Self::NAME)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        nps(state)
    }
}

/// The input of [`Csat`]: the scores and the lowest satisfied score.
#[derive(Debug, Clone, Copy)]
pub struct CsatInput<'a> {
    pub scores: Scores<'a>,
    /// Wide, so that any integer a caller passes reaches the range check.
    pub threshold: i128,
}

/// CSAT per (period, segments…) group, from the same score counts as [`Nps`].
pub struct Csat;

impl Analysis for Csat {
    const NAME: &'static str = "csat";
    type Input<'a> = CsatInput<'a>;

    fn partial(c: &CsatInput<'_>) -> KpiResult<RecordBatch> {
        let s = &c.scores;
        let threshold = i64::try_from(c.threshold)
            .ok()
            .filter(|t| (s.scale.lo..=s.scale.hi).contains(t))
            .ok_or_else(|| {
                KpiError::param(
                    "threshold",
                    format!(
                        "{} is off the scale {}–{}",
                        c.threshold, s.scale.lo, s.scale.hi
                    ),
                )
            })?;
        score_counts(
            s.score,
            s.periods,
            s.segments,
            s.scale,
            s.invalid,
            Metric::Csat { threshold },
        )
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge_score_counts(states, Self::NAME)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        csat(state)
    }
}

/// Count scores per (period, segments…) group.
///
/// Rules: a score must be present (not null or NaN), a whole number, and on the scale; a time,
/// when periods are asked for, must be present. With [`Invalid::Raise`] the first broken rule
/// fails the call naming up to five rows; with [`Invalid::Skip`] broken rows are left out and
/// counted in their group's `skipped` column (rows without a time, which have no group, in the
/// state's `kpikit.skipped_rows` metadata).
fn score_counts(
    score: &Column,
    periods: Option<&Periods>,
    segments: &[Column],
    scale: Scale,
    invalid: Invalid,
    metric: Metric,
) -> KpiResult<RecordBatch> {
    metric.check(scale)?;
    let n = score.len();
    check_same_len(score, periods.map(|p| &p.time).into_iter().chain(segments))?;
    // Large inputs: the partial step per row range on all threads, then the exact merge.
    let state = partial_in_ranges(
        n,
        |r| {
            let len = r.end - r.start;
            let periods = periods.map(|p| Periods {
                time: p.time.slice(r.start, len),
                ..p.clone()
            });
            let segments: Vec<Column> = segments.iter().map(|c| c.slice(r.start, len)).collect();
            score_counts_part(
                &score.slice(r.start, len),
                periods.as_ref(),
                &segments,
                scale,
                invalid,
                r.start,
                metric,
            )
        },
        |parts| merge_score_counts(parts, metric.name()),
    )?;
    with_categories(state, segments)
}

/// [`score_counts`] of the rows of one range; `offset` makes reported row numbers global.
fn score_counts_part(
    score: &Column,
    periods: Option<&Periods>,
    segments: &[Column],
    scale: Scale,
    invalid: Invalid,
    offset: usize,
    metric: Metric,
) -> KpiResult<RecordBatch> {
    let Counted {
        ords,
        segs,
        groups,
        counts,
        skipped_rows,
    } = match fused_counts(score, periods, segments, scale, invalid, offset)? {
        Some(c) => c,
        None => general_counts(score, periods, segments, scale, invalid, offset)?,
    };
    let width = scale.width() + 1; // slot 0: skipped

    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    if let (Some(p), Some(ords)) = (periods, ords) {
        let dates = start_dates(p.freq, ords.into_iter().map(Some));
        let dates = arrow::compute::cast(&(Arc::new(dates) as ArrayRef), &DataType::Date32)?;
        fields.push(Field::new("period", DataType::Date32, true));
        columns.push(dates);
    }
    for (seg, a) in segments.iter().zip(segs) {
        fields.push(Field::new(&seg.name, a.data_type().clone(), true));
        columns.push(a);
    }
    fields.push(Field::new("skipped", DataType::Int64, false));
    for v in scale.lo..=scale.hi {
        fields.push(Field::new(format!("score_{v}"), DataType::Int64, false));
    }
    for slot in 0..width {
        let col: Int64Array = (0..groups).map(|g| counts[g * width + slot]).collect();
        columns.push(Arc::new(col));
    }
    let mut md = StdHashMap::from([
        (meta::ANALYSIS.to_string(), metric.name().to_string()),
        (
            meta::FREQ.to_string(),
            periods.map(|p| p.freq.label()).unwrap_or_default(),
        ),
        (META_SCALE.to_string(), format!("{} {}", scale.lo, scale.hi)),
        (meta::SEGMENTS.to_string(), segments.len().to_string()),
        (meta::INVALID.to_string(), invalid.label().to_string()),
        (meta::SKIPPED_ROWS.to_string(), skipped_rows.to_string()),
    ]);
    if let Metric::Csat { threshold } = metric {
        md.insert(META_THRESHOLD.to_string(), threshold.to_string());
    }
    let meta = md;
    let schema = Arc::new(Schema::new_with_metadata(fields, meta));
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Score counts of one range, before they are laid out as a state: per group (in order of
/// first appearance over the keys period, segments…, as [`group_ids`] numbers them) its
/// period ordinal and segment values, and `width` counts (slot 0: skipped rows).
struct Counted {
    ords: Option<Vec<i64>>,
    segs: Vec<ArrayRef>,
    groups: usize,
    counts: Vec<i64>,
    skipped_rows: usize,
}

/// [`Counted`] by separate passes: score codes, period ordinals, group ids, counts. Any input.
fn general_counts(
    score: &Column,
    periods: Option<&Periods>,
    segments: &[Column],
    scale: Scale,
    invalid: Invalid,
    offset: usize,
) -> KpiResult<Counted> {
    let n = score.len();
    // Score index per row (score − lo), or -1 for a row that breaks a rule.
    let mut codes: Vec<i16> = Vec::with_capacity(n);
    let mut bad = BadRows::default();
    if !integer_codes(score, scale, &mut codes, &mut bad, offset) {
        float_codes(score, scale, &mut codes, &mut bad, offset)?;
    }
    if invalid == Invalid::Raise {
        KpiError::check_rows(
            &score.name,
            &format!(
                "scores must be whole numbers from {} to {} and not missing (invalid=\"skip\" leaves such rows out and counts them)",
                scale.lo, scale.hi
            ),
            bad,
        )?;
    }
    let mut keys: Vec<Column> = Vec::new();
    let mut keep: Option<Vec<bool>> = None;
    if let Some(p) = periods {
        let ords = period_ordinals(&p.time, p.zone, p.freq)?;
        let mut missing = BadRows::default();
        let mut at = 0;
        for a in &ords {
            if a.null_count() > 0 {
                for i in 0..a.len() {
                    if a.is_null(i) {
                        missing.push(offset + at + i, || "missing".to_string());
                    }
                }
            }
            at += a.len();
        }
        if !missing.is_empty() {
            if invalid == Invalid::Raise {
                KpiError::check_rows(
                    &p.time.name,
                    "times must not be missing (invalid=\"skip\" leaves such rows out and counts them)",
                    missing,
                )?;
            }
            keep = Some(
                ords.iter()
                    .flat_map(|a| (0..a.len()).map(move |i| a.is_valid(i)))
                    .collect(),
            );
        }
        keys.push(Column::new(
            "period",
            ords.into_iter().map(|a| Arc::new(a) as ArrayRef).collect(),
        ));
    }
    keys.extend(segments.iter().cloned());

    let mut skipped_rows = 0usize;
    if let Some(mask) = &keep {
        skipped_rows = mask.iter().filter(|k| !**k).count();
        keys = keys
            .iter()
            .map(|c| filter_column(c, mask))
            .collect::<KpiResult<_>>()?;
        codes = codes
            .iter()
            .zip(mask)
            .filter(|(_, k)| **k)
            .map(|(c, _)| *c)
            .collect();
    }

    let groups = if keys.is_empty() {
        Groups {
            ids: vec![0; codes.len()],
            first_row: if codes.is_empty() { vec![] } else { vec![0] },
        }
    } else {
        group_ids(&keys)?
    };
    let width = scale.width() + 1; // slot 0: skipped
    let mut counts = vec![0i64; groups.len() * width];
    for (g, c) in groups.ids.iter().zip(&codes) {
        counts[*g as usize * width + (*c + 1) as usize] += 1;
    }

    let mut key_iter = keys.iter();
    let ords = match periods {
        Some(_) => {
            let taken = take_rows(key_iter.next().expect("period key"), &groups.first_row)?;
            Some(taken.as_primitive::<Int64Type>().iter().flatten().collect())
        }
        None => None,
    };
    let segs = key_iter
        .map(|seg| take_rows(seg, &groups.first_row))
        .collect::<KpiResult<_>>()?;
    Ok(Counted {
        ords,
        segs,
        groups: groups.len(),
        counts,
        skipped_rows,
    })
}

/// [`Counted`] in one pass over the rows for the usual call: integer scores, periods, and no
/// segment or one dictionary-encoded segment (a categorical), every column chunked alike.
/// Each row's score is checked and coded, its period read from the day cache, its segment
/// from the dictionary key, and counted in its (period, segment) group, numbered in order of
/// first appearance as [`group_ids`] numbers the pairs. None for any other input, which
/// [`general_counts`] reads; the results are the same.
fn fused_counts(
    score: &Column,
    periods: Option<&Periods>,
    segments: &[Column],
    scale: Scale,
    invalid: Invalid,
    offset: usize,
) -> KpiResult<Option<Counted>> {
    use arrow::datatypes::{Int16Type, Int32Type, Int8Type, UInt16Type, UInt32Type, UInt8Type};
    let Some(p) = periods else {
        return Ok(None);
    };
    let seg = match segments {
        [] => None,
        [s] => Some(s),
        _ => return Ok(None),
    };
    let lens = |c: &Column| c.chunks.iter().map(|a| a.len()).collect::<Vec<_>>();
    let score_lens = lens(score);
    if lens(&p.time) != score_lens || seg.is_some_and(|s| lens(s) != score_lens) {
        return Ok(None);
    }
    // Per segment chunk: its keys and the segment code of each dictionary value.
    let mut seg_chunks: Vec<SegmentKeys<'_>> = Vec::new();
    let mut seg_width = 1;
    if let Some(s) = seg {
        let mut values: Vec<ArrayRef> = Vec::with_capacity(s.chunks.len());
        for c in &s.chunks {
            let DataType::Dictionary(key, value) = c.data_type() else {
                return Ok(None);
            };
            if !matches!(**key, DataType::Int8 | DataType::Int16 | DataType::Int32)
                || matches!(**value, DataType::Dictionary(_, _))
            {
                return Ok(None);
            }
            values.push(c.as_any_dictionary().values().clone());
        }
        if values.is_empty() {
            return Ok(None);
        }
        // Equal values of different chunks' dictionaries are one segment; a null key, a null
        // value (and a NaN) are the null segment, as `group_ids` has them: a null after the
        // values gives that segment's code.
        let value_type = values[0].data_type().clone();
        values.push(arrow::array::new_null_array(&value_type, 1));
        let value_groups = group_ids(&[Column::new(s.name.clone(), values)])?;
        let null_code = *value_groups.ids.last().expect("the null after the values");
        seg_width = value_groups.len();
        let mut at = 0;
        for c in &s.chunks {
            let d = c.as_any_dictionary();
            let n_values = d.values().len();
            seg_chunks.push(SegmentKeys {
                keys: d.keys(),
                codes: value_groups.ids[at..at + n_values].to_vec(),
                null_code,
            });
            at += n_values;
        }
    }
    // A time column the period step refuses is left to the general path, which checks the
    // scores first and so reports the same error first.
    let Ok(local) = local_micros(&p.time, p.zone) else {
        return Ok(None);
    };
    let mut pass = FusedPass {
        scale,
        raise: invalid == Invalid::Raise,
        width: scale.width() + 1,
        seg_width,
        cache: DayOrdinals::new(p.freq),
        slots: HashMap::new(),
        last: None,
        table: Vec::new(),
        ords: Vec::new(),
        rows: Vec::new(),
        counts: Vec::new(),
        bad: BadRows::default(),
        missing: BadRows::default(),
        skipped_rows: 0,
    };
    let mut at = 0;
    for (j, chunk) in score.chunks.iter().enumerate() {
        let time = &local[j];
        let keys = seg_chunks.get(j);
        macro_rules! run {
            ($t:ty) => {
                match keys.map(|k| k.keys.data_type()) {
                    None => pass.chunk::<$t, Int8Type>(chunk, time, None, offset, at),
                    Some(DataType::Int8) => {
                        pass.chunk::<$t, Int8Type>(chunk, time, keys, offset, at)
                    }
                    Some(DataType::Int16) => {
                        pass.chunk::<$t, Int16Type>(chunk, time, keys, offset, at)
                    }
                    _ => pass.chunk::<$t, Int32Type>(chunk, time, keys, offset, at),
                }
            };
        }
        match score.data_type() {
            DataType::Int8 => run!(Int8Type),
            DataType::Int16 => run!(Int16Type),
            DataType::Int32 => run!(Int32Type),
            DataType::Int64 => run!(Int64Type),
            DataType::UInt8 => run!(UInt8Type),
            DataType::UInt16 => run!(UInt16Type),
            DataType::UInt32 => run!(UInt32Type),
            _ => return Ok(None),
        }
        at += chunk.len();
    }
    if pass.raise {
        KpiError::check_rows(
            &score.name,
            &format!(
                "scores must be whole numbers from {} to {} and not missing (invalid=\"skip\" leaves such rows out and counts them)",
                scale.lo, scale.hi
            ),
            pass.bad,
        )?;
        KpiError::check_rows(
            &p.time.name,
            "times must not be missing (invalid=\"skip\" leaves such rows out and counts them)",
            pass.missing,
        )?;
    }
    let segs = match seg {
        Some(s) => vec![take_rows(s, &pass.rows)?],
        None => Vec::new(),
    };
    Ok(Some(Counted {
        groups: pass.rows.len(),
        ords: Some(pass.ords),
        segs,
        counts: pass.counts,
        skipped_rows: pass.skipped_rows,
    }))
}

/// One chunk of a dictionary segment: its keys and the segment code of each of its values.
struct SegmentKeys<'a> {
    keys: &'a dyn Array,
    codes: Vec<u32>,
    null_code: u32,
}

/// The state of [`fused_counts`]' pass.
struct FusedPass {
    scale: Scale,
    raise: bool,
    /// Counts per group (slot 0: skipped rows), and segment codes per period.
    width: usize,
    seg_width: usize,
    cache: DayOrdinals,
    /// Period ordinal → its row of `table` (`seg_width` group ids, u32::MAX: none yet).
    slots: HashMap<i64, usize>,
    /// The last period met and its slot: rows usually come in time order.
    last: Option<(i64, usize)>,
    table: Vec<u32>,
    /// Per group: its period ordinal and first row (in the range).
    ords: Vec<i64>,
    rows: Vec<usize>,
    counts: Vec<i64>,
    bad: BadRows,
    missing: BadRows,
    skipped_rows: usize,
}

impl FusedPass {
    /// Count the rows of one chunk (rows `at..` of the range, which starts at input row
    /// `offset`).
    fn chunk<T: ArrowPrimitiveType, K: ArrowPrimitiveType>(
        &mut self,
        score: &ArrayRef,
        time: &Int64Array,
        seg: Option<&SegmentKeys<'_>>,
        offset: usize,
        at: usize,
    ) {
        let score = score.as_primitive::<T>();
        let keys = seg.map(|s| (s.keys.as_primitive::<K>(), s));
        let (lo, hi) = (self.scale.lo, self.scale.hi);
        for i in 0..score.len() {
            let row = offset + at + i;
            // to_i64 is exact for every integer type read here.
            let v = score.value(i).to_i64().unwrap_or(i64::MIN);
            let code = if score.is_null(i) {
                self.bad.push(row, || "missing".to_string());
                -1
            } else if v >= lo && v <= hi {
                v - lo
            } else {
                self.bad.push(row, || format!("{v}"));
                -1
            };
            if time.is_null(i) {
                if self.raise {
                    self.missing.push(row, || "missing".to_string());
                }
                self.skipped_rows += 1;
                continue;
            }
            let ord = self.cache.of_micros(time.value(i));
            let seg_code = match keys {
                None => 0,
                Some((k, s)) => match s.codes.len() {
                    0 => s.null_code,
                    n if k.is_valid(i) => s.codes[k.value(i).as_usize().min(n - 1)],
                    _ => s.null_code,
                },
            } as usize;
            let slot = match self.last {
                Some((o, slot)) if o == ord => slot,
                _ => {
                    let next = self.slots.len();
                    let slot = *self.slots.entry(ord).or_insert(next);
                    if slot == next {
                        self.table
                            .extend(std::iter::repeat_n(u32::MAX, self.seg_width));
                    }
                    self.last = Some((ord, slot));
                    slot
                }
            };
            let cell = &mut self.table[slot * self.seg_width + seg_code];
            if *cell == u32::MAX {
                *cell = self.rows.len() as u32;
                self.rows.push(at + i);
                self.ords.push(ord);
                self.counts.extend(std::iter::repeat_n(0, self.width));
            }
            self.counts[*cell as usize * self.width + (code + 1) as usize] += 1;
        }
    }
}

/// Score codes (score − lo, or -1 for a row that breaks a rule) of a float or any other numeric
/// column, read as f64.
fn float_codes(
    score: &Column,
    scale: Scale,
    codes: &mut Vec<i16>,
    bad: &mut BadRows,
    offset: usize,
) -> KpiResult<()> {
    let mut row = offset;
    for chunk in f64_chunks(score)? {
        for i in 0..chunk.len() {
            let code = match value_f64(&chunk, i) {
                Some(v) if v.fract() == 0.0 && v >= scale.lo as f64 && v <= scale.hi as f64 => {
                    (v as i64 - scale.lo) as i16
                }
                Some(v) => {
                    bad.push(row, || format!("{v}"));
                    -1
                }
                None => {
                    bad.push(row, || "missing".to_string());
                    -1
                }
            };
            codes.push(code);
            row += 1;
        }
    }
    Ok(())
}

/// [`float_codes`] for integer columns (the usual type of scores), read as they are: no
/// float copy of the column and no whole-number test. False (nothing read) for other types.
fn integer_codes(
    score: &Column,
    scale: Scale,
    codes: &mut Vec<i16>,
    bad: &mut BadRows,
    offset: usize,
) -> bool {
    fn read<T: ArrowPrimitiveType>(
        chunks: &[ArrayRef],
        scale: Scale,
        codes: &mut Vec<i16>,
        bad: &mut BadRows,
        offset: usize,
    ) {
        let mut row = offset;
        for chunk in chunks {
            let a = chunk.as_primitive::<T>();
            for (i, v) in a.values().iter().enumerate() {
                // to_i64 is exact for every type `small_int` admits.
                let v = v.to_i64().unwrap_or(i64::MIN);
                let code = if a.is_null(i) {
                    bad.push(row, || "missing".to_string());
                    -1
                } else if v >= scale.lo && v <= scale.hi {
                    (v - scale.lo) as i16
                } else {
                    bad.push(row, || format!("{v}"));
                    -1
                };
                codes.push(code);
                row += 1;
            }
        }
    }
    use arrow::datatypes::{Int16Type, Int32Type, Int8Type, UInt16Type, UInt32Type, UInt8Type};
    let chunks = &score.chunks;
    match score.data_type() {
        DataType::Int8 => read::<Int8Type>(chunks, scale, codes, bad, offset),
        DataType::Int16 => read::<Int16Type>(chunks, scale, codes, bad, offset),
        DataType::Int32 => read::<Int32Type>(chunks, scale, codes, bad, offset),
        DataType::Int64 => read::<Int64Type>(chunks, scale, codes, bad, offset),
        DataType::UInt8 => read::<UInt8Type>(chunks, scale, codes, bad, offset),
        DataType::UInt16 => read::<UInt16Type>(chunks, scale, codes, bad, offset),
        DataType::UInt32 => read::<UInt32Type>(chunks, scale, codes, bad, offset),
        _ => return false,
    }
    true
}

fn filter_column(c: &Column, mask: &[bool]) -> KpiResult<Column> {
    let mut at = 0;
    let mut chunks = Vec::with_capacity(c.chunks.len());
    for a in &c.chunks {
        let m = BooleanArray::from(mask[at..at + a.len()].to_vec());
        chunks.push(filter(a.as_ref(), &m)?);
        at += a.len();
    }
    Ok(Column::new(c.name.clone(), chunks))
}

/// What a score-count state says about itself.
struct StateInfo {
    freq: Option<Freq>,
    scale: Scale,
    n_segments: usize,
    skip: bool,
    skipped_rows: u64,
    metric: Metric,
}

fn state_info(schema: &SchemaRef) -> KpiResult<StateInfo> {
    let name = schema.metadata().get(meta::ANALYSIS).map(String::as_str);
    let m = Meta::of(
        schema,
        if name == Some(Csat::NAME) {
            Csat::NAME
        } else {
            Nps::NAME
        },
    )?;
    let freq = m
        .parse_opt::<String>(meta::FREQ)?
        .map(|f| Freq::from_label(&f))
        .transpose()?;
    let bounds: Vec<i64> = m
        .get(META_SCALE)?
        .split(' ')
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| KpiError::param("state", "bad scale metadata"))
        })
        .collect::<KpiResult<_>>()?;
    if bounds.len() != 2 {
        return Err(KpiError::param("state", "bad scale metadata"));
    }
    let metric = if name == Some(Csat::NAME) {
        Metric::Csat {
            threshold: m.parse(META_THRESHOLD)?,
        }
    } else {
        Metric::Nps
    };
    Ok(StateInfo {
        freq,
        scale: Scale::new(bounds[0], bounds[1])?,
        n_segments: m.parse(meta::SEGMENTS)?,
        skip: Invalid::parse(m.get(meta::INVALID)?)? == Invalid::Skip,
        skipped_rows: m.skipped_rows()?,
        metric,
    })
}

/// Merge score-count states of several partitions into one (counts add up).
fn merge_score_counts(states: &[RecordBatch], what: &'static str) -> KpiResult<RecordBatch> {
    let input = MergeInput::check(states, what, &[])?;
    let info = state_info(&states[0].schema())?;
    let n_keys = usize::from(info.freq.is_some()) + info.n_segments;
    let merged = merge_sum(&input.plain, n_keys)?;
    input.finish(merged, &[])
}

/// A state laid out on the output grid, before the metric columns are added.
struct GridCounts {
    keys: Vec<ArrayRef>,
    fields: Vec<Field>,
    /// Per output row, the count of each score slot (0 = skipped, 1.. = scores).
    counts: Vec<Vec<i64>>,
}

fn grid_counts(state: &RecordBatch, info: &StateInfo) -> KpiResult<GridCounts> {
    let has_period = info.freq.is_some();
    let g = grid(
        state,
        has_period,
        info.n_segments,
        info.freq,
        categories_of(state)?.as_ref(),
    )?;
    let n_keys = usize::from(has_period) + info.n_segments;
    let width = info.scale.width() + 1;
    let slots: Vec<&Int64Array> = (0..width)
        .map(|j| state.column(n_keys + j).as_primitive::<Int64Type>())
        .collect();
    let counts = g
        .source
        .iter()
        .map(|src| match src {
            Some(r) => slots.iter().map(|a| a.value(*r)).collect(),
            None => vec![0; width],
        })
        .collect();
    let fields = (0..n_keys)
        .map(|j| {
            let f = state.schema().field(j).clone();
            Field::new(f.name(), g.keys[j].data_type().clone(), true)
        })
        .collect();
    Ok(GridCounts {
        keys: g.keys,
        fields,
        counts,
    })
}

/// The output batch: key columns, then the metric columns, then `skipped` when rows were skipped.
fn finish_batch(
    grid: GridCounts,
    info: &StateInfo,
    extra: Vec<(&str, ArrayRef)>,
) -> KpiResult<RecordBatch> {
    let GridCounts {
        keys: mut columns,
        mut fields,
        counts,
    } = grid;
    for (name, a) in extra {
        fields.push(Field::new(name, a.data_type().clone(), true));
        columns.push(a);
    }
    if info.skip {
        fields.push(Field::new("skipped", DataType::Int64, false));
        columns.push(Arc::new(
            counts.iter().map(|c| c[0]).collect::<Int64Array>(),
        ));
    }
    let meta = StdHashMap::from([(
        meta::SKIPPED_ROWS.to_string(),
        info.skipped_rows.to_string(),
    )]);
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}

/// Net Promoter Score per group from a 0–10 score-count state.
///
/// promoters score 9–10, passives 7–8, detractors 0–6;
/// `nps = 100 × (promoters − detractors) / responses`, in −100…100.
/// The 95 % interval is the adjusted-Wald interval of Rocks (2016, "Interval estimation for
/// the net promoter score", The American Statistician 70(4)): each answer scores +1 / 0 / −1;
/// add 3/4 of an answer to promoters and to detractors and 3/2 to passives
/// (n' = n + 3, p' = (promoters + ¾) / n', d' = (detractors + ¾) / n'), then
/// `se = sqrt((p' + d' − (p' − d')²) / n')` and the bounds are `100 × ((p' − d') ± z × se)`,
/// clipped to ±100. Unlike the plain Wald interval it does not collapse to a point when every
/// answer is a promoter. A group with no responses has null nps and bounds.
fn nps(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let info = state_info(&state.schema())?;
    info.metric.check(info.scale)?;
    let grid = grid_counts(state, &info)?;
    let counts = &grid.counts;
    let mut resp = Vec::new();
    let (mut pro, mut pas, mut det) = (Vec::new(), Vec::new(), Vec::new());
    let (mut score, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new());
    for c in counts {
        let s = &c[1..];
        let d: i64 = s[0..=6].iter().sum();
        let pa: i64 = s[7..=8].iter().sum();
        let p: i64 = s[9..=10].iter().sum();
        let n = d + pa + p;
        resp.push(n);
        pro.push(p);
        pas.push(pa);
        det.push(d);
        if n == 0 {
            score.push(None);
            lo.push(None);
            hi.push(None);
        } else {
            let v = 100.0 * (p - d) as f64 / n as f64;
            let (lo_v, hi_v) = nps_interval(p, d, n, Z95);
            score.push(Some(v));
            lo.push(Some(lo_v));
            hi.push(Some(hi_v));
        }
    }
    let arr = |v: Vec<i64>| Arc::new(Int64Array::from(v)) as ArrayRef;
    let farr = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
    finish_batch(
        grid,
        &info,
        vec![
            ("responses", arr(resp)),
            ("promoters", arr(pro)),
            ("passives", arr(pas)),
            ("detractors", arr(det)),
            ("nps", farr(score)),
            ("nps_ci_low", farr(lo)),
            ("nps_ci_high", farr(hi)),
        ],
    )
}

/// Adjusted-Wald interval for NPS (Rocks 2016), in NPS points, clipped to ±100.
pub fn nps_interval(promoters: i64, detractors: i64, n: i64, z: f64) -> (f64, f64) {
    let n_adj = n as f64 + 3.0;
    let p = (promoters as f64 + 0.75) / n_adj;
    let d = (detractors as f64 + 0.75) / n_adj;
    let center = p - d;
    let se = ((p + d - center * center).max(0.0) / n_adj).sqrt();
    (
        (100.0 * (center - z * se)).max(-100.0),
        (100.0 * (center + z * se)).min(100.0),
    )
}

/// Customer satisfaction per group from a score-count state.
///
/// `csat = satisfied / responses`, where a response is satisfied when its score is at least
/// `threshold` (4 on a 1–5 scale: the positive-score method); a fraction in 0…1 with a 95 %
/// Wilson interval. `mean_score` is the plain mean of the scores. A group with no responses
/// has null csat, bounds and mean.
fn csat(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let info = state_info(&state.schema())?;
    let Metric::Csat { threshold } = info.metric else {
        return Err(KpiError::param("state", "not a csat state"));
    };
    info.metric.check(info.scale)?;
    let grid = grid_counts(state, &info)?;
    let counts = &grid.counts;
    let (mut resp, mut sat) = (Vec::new(), Vec::new());
    let (mut rate, mut lo, mut hi, mut mean) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let first_sat = (threshold - info.scale.lo) as usize; // on the scale: 0..=100
    for c in counts {
        let s = &c[1..];
        let n: i64 = s.iter().sum();
        let k: i64 = s[first_sat..].iter().sum();
        // Wide: scores up to ±10⁶ times counts up to 2⁶³ cannot overflow an i128.
        let total: i128 = s
            .iter()
            .enumerate()
            .map(|(j, m)| i128::from(info.scale.lo + j as i64) * i128::from(*m))
            .sum();
        resp.push(n);
        sat.push(k);
        rate.push((n > 0).then(|| k as f64 / n as f64));
        let ci = wilson(k as f64, n as f64);
        lo.push(ci.map(|c| c.0));
        hi.push(ci.map(|c| c.1));
        mean.push((n > 0).then(|| total as f64 / n as f64));
    }
    finish_batch(
        grid,
        &info,
        vec![
            ("responses", Arc::new(Int64Array::from(resp)) as ArrayRef),
            ("satisfied", Arc::new(Int64Array::from(sat))),
            ("csat", Arc::new(Float64Array::from(rate))),
            ("csat_ci_low", Arc::new(Float64Array::from(lo))),
            ("csat_ci_high", Arc::new(Float64Array::from(hi))),
            ("mean_score", Arc::new(Float64Array::from(mean))),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Date32Array, Int32Array, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::Float64Type;

    fn col_i(name: &str, v: Vec<Option<i32>>) -> Column {
        Column::from_array(name, Arc::new(Int32Array::from(v)))
    }

    fn f64s(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Float64Type>()
            .iter()
            .collect()
    }

    fn i64s(b: &RecordBatch, name: &str) -> Vec<i64> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn published_nps_example_thirty_promoters_twenty_detractors() {
        // 30 % promoters, 50 % passives, 20 % detractors → NPS +10.
        let mut v = vec![Some(10); 30];
        v.extend(vec![Some(8); 50]);
        v.extend(vec![Some(3); 20]);
        let st = score_counts(
            &col_i("score", v),
            None,
            &[],
            Scale::NPS,
            Invalid::Raise,
            Metric::Nps,
        )
        .unwrap();
        let out = nps(&st).unwrap();
        assert_eq!(i64s(&out, "responses"), vec![100]);
        assert_eq!(i64s(&out, "promoters"), vec![30]);
        assert_eq!(i64s(&out, "detractors"), vec![20]);
        assert!((f64s(&out, "nps")[0].unwrap() - 10.0).abs() < 1e-12);
        // Adjusted Wald: n' = 103, p' = 30.75/103, d' = 20.75/103, centre 9.7087,
        // se = sqrt((0.298544 + 0.201456 − 0.097087²) / 103) = 0.069013 → 9.7087 ± 13.5264.
        let lo = f64s(&out, "nps_ci_low")[0].unwrap();
        let hi = f64s(&out, "nps_ci_high")[0].unwrap();
        assert!((lo - -3.8177).abs() < 1e-3, "{lo}");
        assert!((hi - 23.2351).abs() < 1e-3, "{hi}");
    }

    #[test]
    fn scales_beyond_their_bounds_are_parameter_errors_without_overflow() {
        // hi − lo of these wrapped in i64 (an index out of bounds, a capacity overflow).
        for (lo, hi) in [
            (i64::MIN, i64::MAX),
            (i64::MIN, 0),
            (0, i64::MAX),
            (5, 1),
            (3, 3),
            (0, 101),
            (MAX_SCALE_END - 1, MAX_SCALE_END + 1),
        ] {
            let err = Scale::new(lo, hi).unwrap_err().to_string();
            assert!(err.starts_with("parameter \"score_range\""), "{err}");
        }
        let widest = Scale::new(-MAX_SCALE_END, -MAX_SCALE_END + 100).unwrap();
        let scores = col_i("s", vec![Some(-1_000_000), Some(-999_901), Some(-999_900)]);
        let input = |threshold: i128| CsatInput {
            scores: Scores {
                score: &scores,
                periods: None,
                segments: &[],
                scale: widest,
                invalid: Invalid::Raise,
            },
            threshold,
        };
        let out = Csat::finish(&Csat::partial(&input(-999_901)).unwrap()).unwrap();
        assert_eq!(f64s(&out, "csat"), vec![Some(2.0 / 3.0)]);
        assert_eq!(f64s(&out, "mean_score"), vec![Some(-2_999_801.0 / 3.0)]);
        for t in [i128::from(i64::MAX) + 1, -(1i128 << 100), 0] {
            let err = Csat::partial(&input(t)).unwrap_err().to_string();
            assert!(err.starts_with("parameter \"threshold\""), "{err}");
        }
        // NPS is defined on 0–10 only.
        let err = Nps::partial(&input(0).scores).unwrap_err().to_string();
        assert!(err.starts_with("parameter \"score_range\""), "{err}");
    }

    #[test]
    fn published_csat_example_sixty_percent() {
        let mut v = vec![Some(5); 10];
        v.extend(vec![Some(4); 20]);
        v.extend(vec![Some(3); 10]);
        v.extend(vec![Some(2); 5]);
        v.extend(vec![Some(1); 5]);
        let st = score_counts(
            &col_i("score", v),
            None,
            &[],
            Scale::new(1, 5).unwrap(),
            Invalid::Raise,
            Metric::Csat { threshold: 4 },
        )
        .unwrap();
        let out = Csat::finish(&st).unwrap();
        assert_eq!(f64s(&out, "csat"), vec![Some(0.6)]);
        assert_eq!(f64s(&out, "mean_score"), vec![Some(3.5)]); // 175 / 50
        let (lo, hi) = wilson(30.0, 50.0).unwrap();
        assert!(lo < 0.6 && hi > 0.6 && (lo - 0.4618).abs() < 1e-3 && (hi - 0.7239).abs() < 1e-3);
    }

    #[test]
    fn invalid_scores_are_named_or_skipped_and_counted() {
        let s = Column::from_array(
            "score",
            Arc::new(Float64Array::from(vec![
                Some(9.0),
                Some(7.5),
                None,
                Some(11.0),
                Some(f64::NAN),
            ])),
        );
        let err = score_counts(&s, None, &[], Scale::NPS, Invalid::Raise, Metric::Nps)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"score\""), "{err}");
        assert!(err.contains("4 row(s)"), "{err}");
        assert!(
            err.contains("row 1: 7.5")
                && err.contains("row 2: missing")
                && err.contains("row 3: 11"),
            "{err}"
        );
        let st = score_counts(&s, None, &[], Scale::NPS, Invalid::Skip, Metric::Nps).unwrap();
        let out = nps(&st).unwrap();
        assert_eq!(i64s(&out, "responses"), vec![1]);
        assert_eq!(i64s(&out, "skipped"), vec![4]);
        assert_eq!(f64s(&out, "nps"), vec![Some(100.0)]);
    }

    #[test]
    fn periods_have_no_gaps_and_segments_are_sorted() {
        let day = 86_400_000_000i64;
        // Jan, Jan, Mar (Feb empty) for segment "b"; Mar for "a".
        let t = TimestampMicrosecondArray::from(vec![
            Some(day * 20_089), // 2025-01-01
            Some(day * 20_100),
            Some(day * 20_150), // 2025-03-02
            Some(day * 20_155),
        ]);
        let time = Column::from_array("t", Arc::new(t));
        let seg = Column::from_array(
            "plan",
            Arc::new(StringArray::from(vec!["b", "b", "b", "a"])),
        );
        let scores = col_i("score", vec![Some(10), Some(0), Some(9), Some(8)]);
        let periods = Periods {
            time,
            zone: Zone::Utc,
            freq: Freq::Month,
        };
        let st = score_counts(
            &scores,
            Some(&periods),
            &[seg],
            Scale::NPS,
            Invalid::Raise,
            Metric::Nps,
        )
        .unwrap();
        let out = nps(&st).unwrap();
        let dates: Vec<i32> = out
            .column(0)
            .as_any()
            .downcast_ref::<Date32Array>()
            .unwrap()
            .values()
            .to_vec();
        assert_eq!(dates, vec![20_089, 20_120, 20_148, 20_089, 20_120, 20_148]);
        let plans: Vec<&str> = out
            .column(1)
            .as_string::<i32>()
            .iter()
            .map(|s| s.unwrap())
            .collect();
        assert_eq!(plans, vec!["a", "a", "a", "b", "b", "b"]);
        assert_eq!(i64s(&out, "responses"), vec![0, 0, 1, 2, 0, 1]);
        assert_eq!(
            f64s(&out, "nps"),
            vec![None, None, Some(0.0), Some(0.0), None, Some(100.0)]
        );
    }

    #[test]
    fn merging_partitions_equals_one_pass() {
        let scores: Vec<Option<i32>> = (0..200).map(|i| Some(i * 7 % 11)).collect();
        let segs: Vec<&str> = (0..200).map(|i| ["x", "y", "z"][i % 3]).collect();
        let whole = score_counts(
            &col_i("s", scores.clone()),
            None,
            &[Column::from_array(
                "g",
                Arc::new(StringArray::from(segs.clone())),
            )],
            Scale::NPS,
            Invalid::Raise,
            Metric::Nps,
        )
        .unwrap();
        let parts: Vec<RecordBatch> = [(0, 50), (50, 50), (100, 0), (100, 100)]
            .iter()
            .map(|&(a, len)| {
                score_counts(
                    &col_i("s", scores[a..a + len].to_vec()),
                    None,
                    &[Column::from_array(
                        "g",
                        Arc::new(StringArray::from(segs[a..a + len].to_vec())),
                    )],
                    Scale::NPS,
                    Invalid::Raise,
                    Metric::Nps,
                )
                .unwrap()
            })
            .collect();
        let merged = merge_score_counts(&parts, Nps::NAME).unwrap();
        let (a, b) = (
            Nps::finish(&whole).unwrap(),
            Nps::finish(&Nps::merge(&parts).unwrap()).unwrap(),
        );
        assert_eq!(a.columns(), nps(&merged).unwrap().columns());
        assert_eq!(a.columns(), b.columns());
    }

    #[test]
    fn empty_input_without_groups_gives_one_row_with_null_score() {
        let st = score_counts(
            &col_i("s", vec![]),
            None,
            &[],
            Scale::NPS,
            Invalid::Raise,
            Metric::Nps,
        )
        .unwrap();
        let out = nps(&st).unwrap();
        assert_eq!(out.num_rows(), 1);
        assert_eq!(i64s(&out, "responses"), vec![0]);
        assert_eq!(f64s(&out, "nps"), vec![None]);
    }

    #[test]
    fn parallel_partial_equals_one_pass_and_reports_global_rows() {
        let n = 300_000usize;
        let day = 86_400_000_000i64;
        let scores = col_i("s", (0..n).map(|i| Some((i * 31 % 11) as i32)).collect());
        let segs = Column::from_array(
            "g",
            Arc::new(StringArray::from(
                (0..n)
                    .map(|i| ["x", "y", "z", "w"][i * 7 % 4])
                    .collect::<Vec<_>>(),
            )),
        );
        let time = Column::from_array(
            "t",
            Arc::new(TimestampMicrosecondArray::from(
                (0..n).map(|i| (i as i64 % 400) * day).collect::<Vec<_>>(),
            )),
        );
        let periods = Periods {
            time,
            zone: Zone::Utc,
            freq: Freq::Month,
        };
        let seg_slice = std::slice::from_ref(&segs);
        let par = score_counts(
            &scores,
            Some(&periods),
            seg_slice,
            Scale::NPS,
            Invalid::Raise,
            Metric::Nps,
        )
        .unwrap();
        let one = score_counts_part(
            &scores,
            Some(&periods),
            seg_slice,
            Scale::NPS,
            Invalid::Raise,
            0,
            Metric::Nps,
        )
        .unwrap();
        assert_eq!(nps(&par).unwrap().columns(), nps(&one).unwrap().columns());

        let mut bad: Vec<Option<i32>> = (0..n).map(|_| Some(5)).collect();
        bad[5] = Some(11);
        bad[290_000] = None;
        let err = score_counts(
            &col_i("s", bad),
            None,
            &[],
            Scale::NPS,
            Invalid::Raise,
            Metric::Nps,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("2 row(s), e.g. row 5: 11; row 290000: missing"),
            "{err}"
        );
    }

    /// A chunked column of `chunks` row counts over `array(rows)`.
    fn chunked(
        name: &str,
        sizes: &[usize],
        array: impl Fn(std::ops::Range<usize>) -> ArrayRef,
    ) -> Column {
        let mut at = 0;
        let chunks = sizes
            .iter()
            .map(|&n| {
                at += n;
                array(at - n..at)
            })
            .collect();
        Column::new(name, chunks)
    }

    proptest::proptest! {
        // The one-pass count agrees with the separate passes: same groups in the same order,
        // same counts, periods and segment values, same skipped rows, same error.
        #[test]
        fn the_fused_pass_counts_as_the_separate_passes(
            rows in proptest::collection::vec(
                (
                    proptest::option::of(-1i8..12),
                    proptest::option::of(0i64..120),
                    proptest::option::of(0i8..6),
                ),
                0..80,
            ),
            cut in 0usize..80,
            values in proptest::collection::vec(proptest::option::of(0u8..3), 0..4),
            skip in proptest::bool::ANY,
            with_segment in proptest::bool::ANY,
        ) {
            let n = rows.len();
            let sizes = if cut < n { vec![cut, n - cut] } else { vec![n] };
            let names = ["eu", "us", "apac"];
            let score = chunked("score", &sizes, |r| {
                Arc::new(arrow::array::Int8Array::from_iter(rows[r].iter().map(|x| x.0)))
            });
            let time = chunked("time", &sizes, |r| {
                Arc::new(TimestampMicrosecondArray::from_iter(
                    rows[r].iter().map(|x| x.1.map(|d| d * 5 * 86_400_000_000 + 3_600_000_000)),
                ))
            });
            // The second chunk's dictionary lists the values backwards.
            let seg = chunked("region", &sizes, |r| {
                let mut vals: Vec<Option<&str>> = values.iter().map(|v| v.map(|v| names[v as usize])).collect();
                if r.start > 0 {
                    vals.reverse();
                }
                let keys: Vec<Option<i8>> = rows[r]
                    .iter()
                    // An empty dictionary (an all-missing categorical) has null keys only.
                    .map(|x| x.2.filter(|_| !vals.is_empty()).map(|k| k % vals.len() as i8))
                    .collect();
                Arc::new(arrow::array::DictionaryArray::<arrow::datatypes::Int8Type>::new(
                    arrow::array::Int8Array::from(keys),
                    Arc::new(StringArray::from(vals)),
                ))
            });
            let periods = Periods { time, zone: Zone::Utc, freq: Freq::Month };
            let segments = if with_segment { vec![seg] } else { vec![] };
            let invalid = if skip { Invalid::Skip } else { Invalid::Raise };
            let fused = fused_counts(&score, Some(&periods), &segments, Scale::NPS, invalid, 7);
            let general = general_counts(&score, Some(&periods), &segments, Scale::NPS, invalid, 7);
            match (fused, general) {
                (Ok(f), Ok(g)) => {
                    let f = f.expect("the fused pass reads this input");
                    proptest::prop_assert_eq!(f.groups, g.groups);
                    proptest::prop_assert_eq!(f.counts, g.counts);
                    proptest::prop_assert_eq!(f.ords, g.ords);
                    proptest::prop_assert_eq!(f.segs, g.segs);
                    proptest::prop_assert_eq!(f.skipped_rows, g.skipped_rows);
                }
                (Err(f), Err(g)) => proptest::prop_assert_eq!(f.to_string(), g.to_string()),
                (f, g) => proptest::prop_assert!(false, "fused {:?} against {:?}", f.map(|c| c.map(|c| c.groups)), g.map(|c| c.groups)),
            }
        }
    }
}
