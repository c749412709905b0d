//! Funnels: how many entities reach each step of a sequence, how fast, per segment and entry
//! period. Two inputs share one partial state:
//!
//! * [`stage_state`] — the wide shape: one row per lead, one timestamp column per stage (null =
//!   never reached);
//! * [`event_state`] — an event log: per user, the sorted events are matched against the steps
//!   (ordered, strict or any order, with a conversion window and exclusions).
//!
//! Both reduce every entity (or attempt) to a *journey*: how many steps it reached and when. The
//! partial state holds, per group (entry period, segments…), the number of journeys that reached
//! each step and the exact list of step-to-step durations (microseconds). States merge by adding
//! counts and concatenating durations ([`merge_funnel_states`]), so medians and p90 stay exact on
//! a cluster. [`finish_funnel`] turns a state into the per-step table.

use std::collections::HashMap as StdHashMap;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array, Int64Builder,
    ListBuilder, RecordBatch, StringArray, UInt64Array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema, SchemaRef};
use rayon::prelude::*;

use super::error::{BadRows, KpiError, KpiResult};
use super::groups::{grid, group_ids, take_rows, Groups};
use super::input::Column;
use super::parallel::{install, map_ranges};
use super::time::{local_micros, start_dates, Freq, Zone, US_PER_DAY};

const META_STEPS: &str = "kpikit.funnel.steps";
const META_SEGMENTS: &str = "kpikit.funnel.segments";
const META_FREQ: &str = "kpikit.funnel.freq";
const META_WINDOW: &str = "kpikit.funnel.window_us";
const META_AS_OF: &str = "kpikit.funnel.as_of";
const META_ORDER: &str = "kpikit.funnel.order";
/// Rows left out (invalid="skip"); the wrapper reports them with a `SkippedRowsWarning`
/// (docs/vocabulary.md).
pub const META_SKIPPED_ROWS: &str = "kpikit.skipped_rows";
/// Steps are joined with this separator in the metadata (a control character no name uses).
const SEP: &str = "\u{1f}";
/// Most steps a funnel may have (step sets are u32 bit masks).
pub const MAX_STEPS: usize = 32;

/// A conversion window: `"14d"`, `"36h"`, `"90min"`, `"2w"`, `"30s"`, `"500ms"`, `"1us"`, as
/// microseconds. `None`/`"none"` means no window.
pub fn parse_window(s: Option<&str>) -> KpiResult<Option<i64>> {
    let Some(s) = s.map(str::trim) else {
        return Ok(None);
    };
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bad = || {
        KpiError::param(
            "window",
            format!("{s:?} is not a positive duration such as \"14d\", \"36h\", \"90min\", \"2w\", \"30s\""),
        )
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| bad())?;
    let per: f64 = match unit.trim() {
        "us" => 1.0,
        "ms" => 1e3,
        "s" | "sec" | "seconds" => 1e6,
        "m" | "min" | "minutes" => 6e7,
        "h" | "hours" => 3.6e9,
        "d" | "D" | "days" => US_PER_DAY as f64,
        "w" | "W" | "weeks" => 7.0 * US_PER_DAY as f64,
        _ => return Err(bad()),
    };
    let us = (value * per).round();
    if !(1.0..9.0e18).contains(&us) {
        return Err(bad());
    }
    Ok(Some(us as i64))
}

/// Unit of the time-to-convert columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl Unit {
    pub fn parse(s: &str) -> KpiResult<Unit> {
        Ok(match s {
            "seconds" => Unit::Seconds,
            "minutes" => Unit::Minutes,
            "hours" => Unit::Hours,
            "days" => Unit::Days,
            _ => {
                return Err(KpiError::param(
                    "unit",
                    format!("{s:?} is not one of \"seconds\", \"minutes\", \"hours\", \"days\""),
                ))
            }
        })
    }
    fn micros(self) -> f64 {
        match self {
            Unit::Seconds => 1e6,
            Unit::Minutes => 6e7,
            Unit::Hours => 3.6e9,
            Unit::Days => US_PER_DAY as f64,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Minutes => "minutes",
            Unit::Hours => "hours",
            Unit::Days => "days",
        }
    }
}

/// Entry periods of a funnel ("conversion trends").
#[derive(Debug, Clone, Copy)]
pub struct EntryPeriods {
    pub zone: Zone,
    pub freq: Freq,
}

/// What every funnel state records about its call, so merges can check they agree.
#[derive(Debug, Clone, PartialEq)]
struct Info {
    steps: Vec<String>,
    n_segments: usize,
    freq: Option<Freq>,
    window: Option<i64>,
    /// Latest wall-clock time seen in the data (zone of the periods), for complete periods.
    as_of: Option<i64>,
    order: String,
    skipped_rows: u64,
}

impl Info {
    fn metadata(&self) -> StdHashMap<String, String> {
        let mut m = StdHashMap::new();
        m.insert(META_STEPS.into(), self.steps.join(SEP));
        m.insert(META_SEGMENTS.into(), self.n_segments.to_string());
        m.insert(
            META_FREQ.into(),
            self.freq.map(|f| f.label()).unwrap_or_default(),
        );
        m.insert(
            META_WINDOW.into(),
            self.window.map(|w| w.to_string()).unwrap_or_default(),
        );
        m.insert(
            META_AS_OF.into(),
            self.as_of.map(|w| w.to_string()).unwrap_or_default(),
        );
        m.insert(META_ORDER.into(), self.order.clone());
        m.insert(META_SKIPPED_ROWS.into(), self.skipped_rows.to_string());
        m
    }

    fn read(schema: &SchemaRef) -> KpiResult<Info> {
        let meta = schema.metadata();
        let get = |k: &str| {
            meta.get(k).ok_or_else(|| {
                KpiError::param("state", format!("not a funnel state (no {k:?} metadata)"))
            })
        };
        let opt_i64 = |k: &str| -> KpiResult<Option<i64>> {
            let v = get(k)?;
            if v.is_empty() {
                Ok(None)
            } else {
                v.parse()
                    .map(Some)
                    .map_err(|_| KpiError::param("state", format!("bad {k} metadata")))
            }
        };
        let freq = get(META_FREQ)?;
        Ok(Info {
            steps: get(META_STEPS)?.split(SEP).map(str::to_string).collect(),
            n_segments: get(META_SEGMENTS)?
                .parse()
                .map_err(|_| KpiError::param("state", "bad segments metadata"))?,
            freq: if freq.is_empty() {
                None
            } else {
                Some(Freq::from_label(freq)?)
            },
            window: opt_i64(META_WINDOW)?,
            as_of: opt_i64(META_AS_OF)?,
            order: get(META_ORDER)?.clone(),
            skipped_rows: get(META_SKIPPED_ROWS)?
                .parse()
                .map_err(|_| KpiError::param("state", "bad skipped metadata"))?,
        })
    }
}

/// Journeys of one batch of entities: steps reached and the time each step was reached (UTC
/// microseconds, `n` slots per journey, unreached slots unused).
struct Journeys {
    n: usize,
    reached: Vec<u8>,
    times: Vec<i64>,
}

/// Per group: journeys reaching each step and exact step-to-step durations.
fn partial_state(
    keys: Vec<Column>,
    freq: Option<Freq>,
    j: &Journeys,
    info: &Info,
) -> KpiResult<RecordBatch> {
    let n = j.n;
    let groups = groups_of(&keys, j.reached.len())?;
    let ng = groups.len();
    let mut reached = vec![0i64; ng * n];
    let mut durations: Vec<Vec<i64>> = vec![Vec::new(); ng * n];
    for (r, &g) in groups.ids.iter().enumerate() {
        let k = j.reached[r] as usize;
        let g = g as usize;
        let t = &j.times[r * n..r * n + n];
        for s in 0..k {
            reached[g * n + s] += 1;
            if s > 0 {
                durations[g * n + s].push(t[s] - t[s - 1]);
            }
        }
    }
    state_from_counts(&keys, &groups, freq, n, &reached, &durations, info)
}

/// Group ids of the key columns (no keys: one group).
fn groups_of(keys: &[Column], rows: usize) -> KpiResult<Groups> {
    if keys.is_empty() {
        Ok(Groups {
            ids: vec![0; rows],
            first_row: if rows == 0 { vec![] } else { vec![0] },
        })
    } else {
        group_ids(keys)
    }
}

/// The state batch from per-group counts and durations (`group * n + step` layout).
fn state_from_counts(
    keys: &[Column],
    groups: &Groups,
    freq: Option<Freq>,
    n: usize,
    reached: &[i64],
    durations: &[Vec<i64>],
    info: &Info,
) -> KpiResult<RecordBatch> {
    let ng = groups.len();
    // Groups only made of entities that never entered (e.g. a null entry time) are left out.
    let kept: Vec<usize> = (0..ng).filter(|&g| reached[g * n] > 0).collect();
    let first_rows: Vec<usize> = kept.iter().map(|&g| groups.first_row[g]).collect();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let a = take_rows(key, &first_rows)?;
        if let (0, Some(f)) = (i, freq) {
            let dates = start_dates(f, a.as_primitive::<Int64Type>().iter());
            fields.push(Field::new("period", DataType::Date32, true));
            columns.push(cast(&(Arc::new(dates) as ArrayRef), &DataType::Date32)?);
        } else {
            fields.push(Field::new(&key.name, a.data_type().clone(), true));
            columns.push(a);
        }
    }
    state_columns(
        &mut fields,
        &mut columns,
        n,
        |s| kept.iter().map(|&g| reached[g * n + s]).collect(),
        |s, g_out| &durations[kept[g_out] * n + s],
        kept.len(),
    );
    let schema = Arc::new(Schema::new_with_metadata(fields, info.metadata()));
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Append `reached_{s}` and `durations_{s}` columns (see the module docs) for `rows` groups.
fn state_columns<'a>(
    fields: &mut Vec<Field>,
    columns: &mut Vec<ArrayRef>,
    n: usize,
    reached: impl Fn(usize) -> Vec<i64>,
    durations: impl Fn(usize, usize) -> &'a Vec<i64>,
    rows: usize,
) {
    for s in 0..n {
        fields.push(Field::new(format!("reached_{s}"), DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from(reached(s))));
    }
    for s in 1..n {
        let total: usize = (0..rows).map(|g| durations(s, g).len()).sum();
        let mut b = ListBuilder::with_capacity(Int64Builder::with_capacity(total), rows);
        for g in 0..rows {
            b.values().append_slice(durations(s, g));
            b.append(true);
        }
        let a = b.finish();
        fields.push(Field::new(
            format!("durations_{s}"),
            a.data_type().clone(),
            false,
        ));
        columns.push(Arc::new(a));
    }
}

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
}

fn check_steps(n: usize) -> KpiResult<()> {
    if n == 0 || n > MAX_STEPS {
        return Err(KpiError::param(
            "steps",
            format!("a funnel needs 1 to {MAX_STEPS} steps, got {n}"),
        ));
    }
    Ok(())
}

fn flat_i64(chunks: Vec<Int64Array>) -> (Vec<i64>, Vec<bool>) {
    let mut v = Vec::new();
    let mut ok = Vec::new();
    for c in chunks {
        for i in 0..c.len() {
            ok.push(c.is_valid(i));
            v.push(if c.is_valid(i) { c.value(i) } else { 0 });
        }
    }
    (v, ok)
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
                        super::time::check_time_range(&c.name, &t)?;
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

/// The partial state of the wide shape: one row per lead, one timestamp column per stage.
///
/// A lead enters the funnel when its first stage is present. It reaches stage k when stages
/// 1…k are all present, in time order (equal times allowed) and stage k is at most `window`
/// after stage 1 (inclusive). A missing stage ends the lead's progress (later stages do not
/// count, as in any sequential funnel). A present stage earlier than a present stage before it
/// is out of order: [`StageOrder::Raise`] names the rows, [`StageOrder::Skip`] leaves the lead
/// out (counted in `kpikit.skipped_rows`), [`StageOrder::Truncate`] ends the progress there. With `periods`, groups are keyed by the entry period (of stage 1).
pub fn stage_state(
    stages: &[Column],
    segments: &[Column],
    window: Option<i64>,
    periods: Option<EntryPeriods>,
    order: StageOrder,
) -> KpiResult<RecordBatch> {
    check_steps(stages.len())?;
    let n_rows = stages[0].len();
    for c in stages.iter().chain(segments) {
        if c.len() != n_rows {
            return Err(KpiError::LengthMismatch {
                left: stages[0].name.clone(),
                left_len: n_rows,
                right: c.name.clone(),
                right_len: c.len(),
            });
        }
    }
    let names: Vec<String> = stages.iter().map(|c| c.name.clone()).collect();
    let parts = map_ranges(n_rows, |r: Range<usize>| {
        stage_part(stages, segments, window, periods, order, &names, r)
    })?;
    let merged = match parts.len() {
        1 => parts.into_iter().next().expect("one part"),
        _ => merge_funnel_states(&parts)?,
    };
    Ok(merged)
}

// Rows are walked by index across several stage columns at once.
#[allow(clippy::needless_range_loop)]
fn stage_part(
    stages: &[Column],
    segments: &[Column],
    window: Option<i64>,
    periods: Option<EntryPeriods>,
    order: StageOrder,
    names: &[String],
    r: Range<usize>,
) -> KpiResult<RecordBatch> {
    let n = stages.len();
    let len = r.end - r.start;
    let cols: Vec<Column> = stages.iter().map(|c| c.slice(r.start, len)).collect();
    let mut keys: Vec<Column> = Vec::new();
    if let Some(p) = periods {
        let local = local_micros(&cols[0], p.zone)?;
        let ords: Vec<ArrayRef> = local
            .into_iter()
            .map(|a| Arc::new(a.unary::<_, Int64Type>(|t| p.freq.ordinal_of_micros(t))) as ArrayRef)
            .collect();
        keys.push(Column::new("period", ords));
    }
    keys.extend(segments.iter().map(|c| c.slice(r.start, len)));
    let groups = groups_of(&keys, len)?;
    let ng = groups.len();
    let mut reached = vec![0i64; ng * n];
    let mut durations: Vec<Vec<i64>> = vec![Vec::new(); ng * n];
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
                        reached[g * n] += 1;
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
            for s in 0..k {
                reached[g * n + s] += 1;
                if s > 0 {
                    durations[g * n + s].push(t[s] - t[s - 1]);
                }
            }
        }
    }
    KpiError::check_rows(
        &names.join(", "),
        "stages must be in time order (invalid=\"skip\" leaves such leads out, invalid=\"truncate\" ends a lead's progress at the first stage out of order)",
        bad,
    )?;
    let refs: Vec<&Column> = cols.iter().collect();
    let info = Info {
        steps: names.to_vec(),
        n_segments: segments.len(),
        freq: periods.map(|p| p.freq),
        window,
        as_of: periods.and_then(|p| latest_local(&refs, utc_max, p.zone)),
        order: "stages".into(),
        skipped_rows: skipped,
    };
    state_from_counts(
        &keys,
        &groups,
        periods.map(|p| p.freq),
        n,
        &reached,
        &durations,
        &info,
    )
}

/// Merge funnel states of several partitions: counts add up, duration lists concatenate.
pub fn merge_funnel_states(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let first = states
        .first()
        .ok_or_else(|| KpiError::param("states", "at least one partial state is needed"))?;
    let mut info = Info::read(&first.schema())?;
    for s in &states[1..] {
        let other = Info::read(&s.schema())?;
        if other.steps != info.steps
            || other.n_segments != info.n_segments
            || other.freq != info.freq
            || other.window != info.window
            || other.order != info.order
        {
            return Err(KpiError::param(
                "states",
                "partial states come from different funnels; they must come from the same call",
            ));
        }
        info.as_of = match (info.as_of, other.as_of) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        info.skipped_rows += other.skipped_rows;
    }
    let n = info.steps.len();
    let n_keys = info.n_segments + usize::from(info.freq.is_some());
    // Partitions may type a key differently (an empty partition's strings as Null): cast every
    // key to the first real type.
    let mut key_types = Vec::new();
    for j in 0..n_keys {
        // A state with rows decides; an empty partition's type (Null, or float for an empty
        // pandas object column) only when no state has rows.
        let typed = |s: &&RecordBatch| *s.column(j).data_type() != DataType::Null;
        key_types.push(
            states
                .iter()
                .filter(typed)
                .find(|s| s.num_rows() > 0)
                .or_else(|| states.iter().find(typed))
                .map_or(DataType::Null, |s| s.column(j).data_type().clone()),
        );
    }
    let key_cols: Vec<Column> = (0..n_keys)
        .map(|j| {
            let chunks = states
                .iter()
                .map(|s| {
                    let a = s.column(j);
                    if *a.data_type() == key_types[j] {
                        Ok(a.clone())
                    } else {
                        Ok(cast(a, &key_types[j])?)
                    }
                })
                .collect::<KpiResult<Vec<_>>>()?;
            Ok(Column::new(first.schema().field(j).name().clone(), chunks))
        })
        .collect::<KpiResult<_>>()?;
    let total: usize = states.iter().map(|s| s.num_rows()).sum();
    let groups = if n_keys == 0 {
        Groups {
            ids: vec![0; total],
            first_row: if total > 0 { vec![0] } else { vec![] },
        }
    } else {
        group_ids(&key_cols)?
    };
    let ng = groups.len();
    let mut reached = vec![0i64; ng * n];
    let mut durations: Vec<Vec<i64>> = vec![Vec::new(); ng * n];
    let mut row = 0;
    for st in states {
        for i in 0..st.num_rows() {
            let g = groups.ids[row + i] as usize;
            for s in 0..n {
                reached[g * n + s] += st.column(n_keys + s).as_primitive::<Int64Type>().value(i);
            }
            for s in 1..n {
                let list = st.column(n_keys + n + s - 1).as_list::<i32>();
                let vals = list.value(i);
                durations[g * n + s].extend_from_slice(vals.as_primitive::<Int64Type>().values());
            }
        }
        row += st.num_rows();
    }
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (j, c) in key_cols.iter().enumerate() {
        let f = first.schema().field(j).clone();
        columns.push(take_rows(c, &groups.first_row)?);
        fields.push(f.with_data_type(key_types[j].clone()).with_nullable(true));
    }
    state_columns(
        &mut fields,
        &mut columns,
        n,
        |s| (0..ng).map(|g| reached[g * n + s]).collect(),
        |s, g| &durations[g * n + s],
        ng,
    );
    let schema = Arc::new(Schema::new_with_metadata(fields, info.metadata()));
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Linear-interpolation quantile (numpy's default) of sorted-in-place values.
fn quantile(v: &mut [i64], q: f64) -> f64 {
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let (_, lo_v, rest) = v.select_nth_unstable(lo);
    let lo_v = *lo_v as f64;
    let frac = h - lo as f64;
    if frac == 0.0 || rest.is_empty() {
        return lo_v;
    }
    let hi_v = *rest.iter().min().expect("non-empty") as f64;
    lo_v + frac * (hi_v - lo_v)
}

/// Most bins a histogram may have (each is a value in every step's row).
pub const MAX_HISTOGRAM_BINS: usize = 10_000;

/// Histogram bins of a time-to-convert distribution.
#[derive(Debug, Clone, Copy)]
pub enum Bins {
    /// PostHog's automatic count: clamp(ceil(cbrt(n)), 1, 60).
    Auto,
    Count(usize),
}

/// The per-step table from a funnel state.
///
/// One row per (entry period, segments…, step). Row k describes arriving at step k:
/// `entered` = journeys that reached step k−1 (for step 1: those that reached step 1),
/// `converted` = those of them that reached step k, `conversion_from_previous =
/// converted / entered`, `conversion_from_first = converted / (journeys that reached step 1)`
/// (null when the denominator is 0). Time to convert: mean, median and p90 (linear
/// interpolation between order statistics, exact) of the time from step k−1 to step k of the
/// converted journeys, null for step 1 and when nobody converted. With periods, `complete`
/// says whether every entry of the period has had its full window by the latest time in the
/// data (null without a window). With `bins`, two list columns give the histogram: the lower
/// edges (in `unit`) and the count of each bin.
pub fn finish_funnel(
    state: &RecordBatch,
    unit: Unit,
    bins: Option<Bins>,
) -> KpiResult<RecordBatch> {
    if let Some(Bins::Count(k)) = bins {
        KpiError::int_param::<usize>("histogram", k as i128, 1, MAX_HISTOGRAM_BINS as i128)?;
    }
    let info = Info::read(&state.schema())?;
    let n = info.steps.len();
    let has_period = info.freq.is_some();
    let n_keys = info.n_segments + usize::from(has_period);
    let g = grid(state, has_period, info.n_segments, info.freq)?;
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
                .column(n_keys + s)
                .as_primitive::<Int64Type>()
                .value(r)
        })
    };
    let per = unit.micros();
    let (mut step, mut name, mut entered, mut converted) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut from_first, mut from_prev) = (Vec::new(), Vec::new());
    let (mut mean, mut median, mut p90) = (Vec::new(), Vec::new(), Vec::new());
    let mut hist_from: ListBuilder<arrow::array::Float64Builder> =
        ListBuilder::new(arrow::array::Float64Builder::new());
    let mut hist_count: ListBuilder<Int64Builder> = ListBuilder::new(Int64Builder::new());
    let any_order = info.order == "any";
    for &src in &g.source {
        let first = reached(src, 0);
        for s in 0..n {
            step.push(s as i32 + 1);
            name.push(if any_order && s > 0 {
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
            let mut d: Vec<i64> = match (src, s) {
                (Some(r), s) if s > 0 => {
                    let list = state.column(n_keys + n + s - 1).as_list::<i32>();
                    list.value(r).as_primitive::<Int64Type>().values().to_vec()
                }
                _ => Vec::new(),
            };
            if d.is_empty() {
                mean.push(None);
                median.push(None);
                p90.push(None);
            } else {
                let sum: i128 = d.iter().map(|&x| x as i128).sum();
                mean.push(Some(sum as f64 / d.len() as f64 / per));
                median.push(Some(quantile(&mut d, 0.5) / per));
                p90.push(Some(quantile(&mut d, 0.9) / per));
            }
            if let Some(b) = bins {
                histogram(&d, b, per, &mut hist_from, &mut hist_count);
            }
        }
    }
    let u = unit.name();
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
        Arc::new(StringArray::from(name)),
    );
    push(
        Field::new("entered", DataType::Int64, false),
        Arc::new(Int64Array::from(entered)),
    );
    push(
        Field::new("converted", DataType::Int64, false),
        Arc::new(Int64Array::from(converted)),
    );
    for (label, v) in [
        ("conversion_from_first".to_string(), from_first),
        ("conversion_from_previous".to_string(), from_prev),
        (format!("time_to_convert_mean_{u}"), mean),
        (format!("time_to_convert_median_{u}"), median),
        (format!("time_to_convert_p90_{u}"), p90),
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
        let a = hist_from.finish();
        push(
            Field::new(format!("histogram_from_{u}"), a.data_type().clone(), true),
            Arc::new(a),
        );
        let c = hist_count.finish();
        push(
            Field::new("histogram_count", c.data_type().clone(), true),
            Arc::new(c),
        );
    }
    let mut meta = StdHashMap::new();
    meta.insert(META_SKIPPED_ROWS.to_string(), info.skipped_rows.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}

/// Equal-width bins from the smallest to the largest duration (in `unit`); the last bin
/// includes its upper edge. An empty distribution gives empty lists.
fn histogram(
    d: &[i64],
    bins: Bins,
    per: f64,
    from: &mut ListBuilder<arrow::array::Float64Builder>,
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

// ---------------------------------------------------------------------------------------------
// Event funnels
// ---------------------------------------------------------------------------------------------

/// How steps must follow one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// In order; other events (including repeats of step events) may come in between.
    Ordered,
    /// In order with no other event of the user in between.
    Strict,
    /// Step 1 first, then the other steps in any order.
    Any,
}

/// Which event's segment values a journey is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    FirstTouch,
    LastTouch,
    /// Step N (0-based here); journeys that did not reach it are left out.
    Step(usize),
}

/// Whether each user counts once or every attempt counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Uniques,
    Totals,
}

/// A funnel's rules after presets and defaults are applied.
#[derive(Debug, Clone)]
pub struct FunnelRules {
    pub window: Option<i64>,
    pub order: Order,
    pub attribution: Attribution,
    pub count: Count,
}

/// The defaults each tool's preset sets (docs/conventions.md#funnel-presets): PostHog 14-day
/// window, Amplitude 30 days, Mixpanel 7 days; all ordered, first touch, unique users.
pub fn preset_defaults(
    name: &str,
) -> KpiResult<(&'static str, &'static str, &'static str, &'static str)> {
    match name {
        "posthog" => Ok(("14d", "ordered", "first_touch", "uniques")),
        "amplitude" => Ok(("30d", "ordered", "first_touch", "uniques")),
        "mixpanel" => Ok(("7d", "ordered", "first_touch", "uniques")),
        _ => Err(KpiError::param(
            "preset",
            format!("{name:?} is not one of \"posthog\", \"amplitude\", \"mixpanel\""),
        )),
    }
}

impl FunnelRules {
    /// Rules from explicit choices, falling back to the preset's, then to kpikit's defaults
    /// (14 days, ordered, first touch, uniques).
    pub fn resolve(
        preset: Option<&str>,
        window: Option<&str>,
        order: Option<&str>,
        attribution: Option<&str>,
        count: Option<&str>,
        n_steps: usize,
    ) -> KpiResult<FunnelRules> {
        let d = match preset {
            Some(p) => preset_defaults(p)?,
            None => ("14d", "ordered", "first_touch", "uniques"),
        };
        let order = match order.unwrap_or(d.1) {
            "ordered" => Order::Ordered,
            "strict" => Order::Strict,
            "any" => Order::Any,
            o => {
                return Err(KpiError::param(
                    "order",
                    format!("{o:?} is not one of \"ordered\", \"strict\", \"any\""),
                ))
            }
        };
        let attribution = match attribution.unwrap_or(d.2) {
            "first_touch" => Attribution::FirstTouch,
            "last_touch" => Attribution::LastTouch,
            a => {
                let bad = || {
                    KpiError::param(
                        "attribution",
                        format!("{a:?} is not \"first_touch\", \"last_touch\" or \"step:N\" with N from 1 to {n_steps}"),
                    )
                };
                let k: usize = a
                    .strip_prefix("step:")
                    .and_then(|k| k.trim().parse().ok())
                    .ok_or_else(bad)?;
                if k == 0 || k > n_steps {
                    return Err(bad());
                }
                Attribution::Step(k - 1)
            }
        };
        let count = match count.unwrap_or(d.3) {
            "uniques" => Count::Uniques,
            "totals" => Count::Totals,
            c => {
                return Err(KpiError::param(
                    "count",
                    format!("{c:?} is not one of \"uniques\", \"totals\""),
                ))
            }
        };
        Ok(FunnelRules {
            window: parse_window(Some(window.unwrap_or(d.0)))?,
            order,
            attribution,
            count,
        })
    }
}

/// An exclusion: a user doing `event` after step `from` and before step `to` (0-based) of an
/// attempt spoils that attempt.
#[derive(Debug, Clone)]
pub struct Exclusion {
    pub event: String,
    pub from: usize,
    pub to: usize,
}

/// What to do with rows whose user or time is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    Raise,
    Drop,
}

impl Nulls {
    pub fn parse(s: &str) -> KpiResult<Nulls> {
        match s {
            "raise" => Ok(Nulls::Raise),
            "skip" => Ok(Nulls::Drop),
            _ => Err(KpiError::param(
                "invalid",
                format!("{s:?} is not one of \"raise\", \"skip\""),
            )),
        }
    }
}

/// One event of a user, as the matcher sees it.
#[derive(Debug, Clone, Copy)]
struct Ev {
    t: i64,
    steps: u32,
    excl: u32,
    row: u32,
}

/// One attempt through the funnel from an entry event.
#[derive(Debug, Clone)]
struct Attempt {
    reached: usize,
    times: [i64; MAX_STEPS],
    rows: [u32; MAX_STEPS],
    /// Named step filled at each position (differs from the position only in any order).
    filled: [u8; MAX_STEPS],
    excluded: bool,
    /// Index (in the user's events) where a following attempt may start.
    next: usize,
    /// Whether the window, not the end of the events, stopped the attempt.
    window_limited: bool,
}

struct Matcher {
    n: usize,
    order: Order,
    window: Option<i64>,
    /// Bit mask of exclusions open while `k` steps are filled.
    open: Vec<u32>,
}

impl Matcher {
    fn attempt(&self, ev: &[Ev], start: usize) -> Attempt {
        let n = self.n;
        let t0 = ev[start].t;
        let deadline = self.window.map_or(i64::MAX, |w| t0.saturating_add(w));
        let mut a = Attempt {
            reached: 1,
            times: [0; MAX_STEPS],
            rows: [0; MAX_STEPS],
            filled: [0; MAX_STEPS],
            excluded: false,
            next: ev.len(),
            window_limited: false,
        };
        a.times[0] = t0;
        a.rows[0] = ev[start].row;
        let mut done_mask: u32 = 1;
        let mut last_used = start;
        for (j, e) in ev.iter().enumerate().skip(start + 1) {
            if a.reached == n {
                break;
            }
            if e.t > deadline {
                a.window_limited = true;
                a.next = j;
                break;
            }
            let k = a.reached;
            let fill = match self.order {
                Order::Ordered | Order::Strict => (e.steps >> k) & 1 == 1,
                Order::Any => e.steps & !done_mask != 0,
            };
            if fill {
                let step = match self.order {
                    Order::Any => (e.steps & !done_mask).trailing_zeros() as usize,
                    _ => k,
                };
                done_mask |= 1 << step;
                a.times[k] = e.t;
                a.rows[k] = e.row;
                a.filled[k] = step as u8;
                a.reached += 1;
                last_used = j;
                continue;
            }
            if e.excl & self.open[k] != 0 {
                a.excluded = true;
                a.next = j + 1;
                return a;
            }
            if self.order == Order::Strict {
                // Any other event of the user between two steps ends a strict attempt.
                a.next = j;
                return a;
            }
        }
        if a.reached == n {
            a.next = last_used + 1;
        }
        a
    }

    /// The journeys of one user (at most one with uniques).
    fn user(&self, ev: &[Ev], count: Count, out: &mut Vec<Attempt>) {
        match count {
            Count::Uniques => {
                let mut best: Option<Attempt> = None;
                for i in 0..ev.len() {
                    if ev[i].steps & 1 == 0 {
                        continue;
                    }
                    let a = self.attempt(ev, i);
                    if a.excluded {
                        continue;
                    }
                    let stop =
                        a.reached == self.n || (self.order == Order::Ordered && !a.window_limited);
                    // The attempt that gets furthest; the earliest of equals.
                    if best.as_ref().is_none_or(|b| a.reached > b.reached) {
                        best = Some(a);
                    }
                    if stop {
                        break;
                    }
                }
                out.extend(best);
            }
            Count::Totals => {
                let mut pos = 0;
                while let Some(i) = (pos..ev.len()).find(|&i| ev[i].steps & 1 == 1) {
                    let a = self.attempt(ev, i);
                    // A new attempt starts after this one ended: converted, timed out or
                    // excluded; without a window an unfinished attempt never ends.
                    let ended = a.reached == self.n
                        || a.excluded
                        || a.window_limited
                        || self.order == Order::Strict;
                    let next = if ended { a.next.max(i + 1) } else { ev.len() };
                    if !a.excluded {
                        out.push(a);
                    }
                    pos = next;
                }
            }
        }
    }
}

/// Step and exclusion masks for every row of the event column.
fn event_masks(
    col: &Column,
    lookup: &StdHashMap<String, (u32, u32)>,
) -> KpiResult<(Vec<u32>, Vec<u32>)> {
    let mut steps = Vec::with_capacity(col.len());
    let mut excl = Vec::with_capacity(col.len());
    for chunk in &col.chunks {
        match chunk.data_type() {
            DataType::Dictionary(_, _) => {
                let dict = chunk.as_any_dictionary();
                let values = cast(dict.values(), &DataType::Utf8)?;
                let values = values.as_string::<i32>();
                let masks: Vec<(u32, u32)> = (0..values.len())
                    .map(|i| {
                        if values.is_null(i) {
                            (0, 0)
                        } else {
                            lookup.get(values.value(i)).copied().unwrap_or((0, 0))
                        }
                    })
                    .collect();
                let keys = cast(dict.keys(), &DataType::Int64)?;
                let keys = keys.as_primitive::<Int64Type>();
                for i in 0..keys.len() {
                    // `get`: a key outside the dictionary (an invalid array) matches no step.
                    let m = if keys.is_valid(i) {
                        usize::try_from(keys.value(i))
                            .ok()
                            .and_then(|k| masks.get(k).copied())
                            .unwrap_or((0, 0))
                    } else {
                        (0, 0)
                    };
                    steps.push(m.0);
                    excl.push(m.1);
                }
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
                let a = cast(chunk, &DataType::Utf8)?;
                let a = a.as_string::<i32>();
                for i in 0..a.len() {
                    let m = if a.is_valid(i) {
                        lookup.get(a.value(i)).copied().unwrap_or((0, 0))
                    } else {
                        (0, 0)
                    };
                    steps.push(m.0);
                    excl.push(m.1);
                }
            }
            // An empty or all-missing column (e.g. an empty pandas object column) matches nothing.
            _ if chunk.null_count() == chunk.len() => {
                steps.extend(std::iter::repeat_n(0, chunk.len()));
                excl.extend(std::iter::repeat_n(0, chunk.len()));
            }
            other => {
                return Err(KpiError::wrong_type(
                    &col.name,
                    "strings (event names)",
                    other,
                ));
            }
        }
    }
    Ok((steps, excl))
}

/// Columns of an event log for [`event_state`].
pub struct EventLog<'a> {
    pub user: &'a Column,
    pub time: &'a Column,
    pub event: &'a Column,
    pub segments: &'a [Column],
}

/// The partial state of an event funnel. `steps[k]` lists the event names that fill step k.
///
/// Per user, events are sorted by time (ties: the event of the lowest step first, then input
/// order). An attempt starts at a step-1 event and fills the steps in order (see [`Order`]),
/// each event filling at most one step, every step at most `window` after the entry (boundary
/// included). An exclusion event after step `from` and before step `to` spoils the attempt.
/// With [`Count::Uniques`] a user counts once, by the attempt that gets furthest (the earliest
/// of equals); users whose every attempt is spoiled are not in the funnel. With
/// [`Count::Totals`] every attempt counts, a new one starting after the previous one converted,
/// timed out or was spoiled. Segments come from the attributed event of the counted attempt.
pub fn event_state(
    log: &EventLog<'_>,
    steps: &[Vec<String>],
    exclusions: &[Exclusion],
    rules: &FunnelRules,
    periods: Option<EntryPeriods>,
    nulls: Nulls,
) -> KpiResult<RecordBatch> {
    let n = steps.len();
    check_steps(n)?;
    if exclusions.len() > 32 {
        return Err(KpiError::param("exclusions", "at most 32 exclusions"));
    }
    let n_rows = log.user.len();
    for c in [log.time, log.event].into_iter().chain(log.segments) {
        if c.len() != n_rows {
            return Err(KpiError::LengthMismatch {
                left: log.user.name.clone(),
                left_len: n_rows,
                right: c.name.clone(),
                right_len: c.len(),
            });
        }
    }
    let mut lookup: StdHashMap<String, (u32, u32)> = StdHashMap::new();
    for (k, names) in steps.iter().enumerate() {
        if names.is_empty() {
            return Err(KpiError::param(
                "steps",
                format!("step {} has no event names", k + 1),
            ));
        }
        for name in names {
            lookup.entry(name.clone()).or_default().0 |= 1 << k;
        }
    }
    let mut open = vec![0u32; n + 1];
    for (x, e) in exclusions.iter().enumerate() {
        if e.from >= e.to || e.to >= n {
            return Err(KpiError::param(
                "exclusions",
                format!(
                    "{:?}: the exclusion must lie between two steps, from_step < to_step ≤ {n} (got {} and {})",
                    e.event,
                    e.from + 1,
                    e.to + 1
                ),
            ));
        }
        lookup.entry(e.event.clone()).or_default().1 |= 1 << x;
        // Open while steps from+1 ..= to are filled (1-based: after step `from`, before `to`).
        for item in open.iter_mut().take(e.to + 1).skip(e.from + 1) {
            *item |= 1 << x;
        }
    }

    let (step_mask, excl_mask) = event_masks(log.event, &lookup)?;
    let (utc, time_ok) = flat_i64(local_micros(log.time, Zone::Utc)?);
    let user_nulls: Vec<bool> = log
        .user
        .chunks
        .iter()
        .flat_map(|c| (0..c.len()).map(move |i| c.is_null(i)))
        .collect();
    let mut bad_user = BadRows::default();
    let mut bad_time = BadRows::default();
    let mut skipped = 0u64;
    let mut keep = vec![true; n_rows];
    for i in 0..n_rows {
        if user_nulls[i] {
            bad_user.push(i, || "missing".into());
        }
        if !time_ok[i] {
            bad_time.push(i, || "missing".into());
        }
        if user_nulls[i] || !time_ok[i] {
            keep[i] = false;
            skipped += 1;
        }
    }
    if nulls == Nulls::Raise {
        let rule = "must not be missing (invalid=\"skip\" leaves such rows out and counts them)";
        KpiError::check_rows(&log.user.name, rule, bad_user)?;
        KpiError::check_rows(&log.time.name, rule, bad_time)?;
    }
    let users = group_ids(std::slice::from_ref(log.user))?;
    let need_all = rules.order == Order::Strict;
    let rank = |m: u32| {
        if m == 0 {
            32u8
        } else {
            m.trailing_zeros() as u8
        }
    };
    // (user, time, rank, row): sorting these orders every user's events.
    let mut order: Vec<(u32, i64, u8, u32)> = (0..n_rows)
        .filter(|&i| keep[i] && (need_all || step_mask[i] != 0 || excl_mask[i] != 0))
        .map(|i| (users.ids[i], utc[i], rank(step_mask[i]), i as u32))
        .collect();
    install(|| order.par_sort_unstable());
    let ev: Vec<Ev> = order
        .iter()
        .map(|&(_, t, _, row)| Ev {
            t,
            steps: step_mask[row as usize],
            excl: excl_mask[row as usize],
            row,
        })
        .collect();
    // User boundaries, then users in parallel blocks.
    let mut bounds: Vec<usize> = vec![0];
    for i in 1..order.len() {
        if order[i].0 != order[i - 1].0 {
            bounds.push(i);
        }
    }
    bounds.push(order.len());
    if order.is_empty() {
        bounds = vec![0];
    }
    drop(order);
    let matcher = Matcher {
        n,
        order: rules.order,
        window: rules.window,
        open,
    };
    let n_users = bounds.len().saturating_sub(1);
    let block = 4096usize;
    let attempts: Vec<Vec<Attempt>> = install(|| {
        (0..n_users.div_ceil(block))
            .into_par_iter()
            .map(|b| {
                let mut out = Vec::new();
                for u in b * block..((b + 1) * block).min(n_users) {
                    matcher.user(&ev[bounds[u]..bounds[u + 1]], rules.count, &mut out);
                }
                out
            })
            .collect()
    });
    let attempts: Vec<Attempt> = attempts.into_iter().flatten().collect();
    // Attribution: the row whose segment values the journey is counted under.
    let counted: Vec<(usize, &Attempt)> = attempts
        .iter()
        .filter_map(|a| {
            let row = match rules.attribution {
                Attribution::FirstTouch => a.rows[0],
                Attribution::LastTouch => a.rows[a.reached - 1],
                Attribution::Step(s) => {
                    let pos = (0..a.reached)
                        .find(|&p| a.filled[p] as usize == s || (p == 0 && s == 0))?;
                    a.rows[pos]
                }
            };
            Some((row as usize, a))
        })
        .collect();
    let mut j = Journeys {
        n,
        reached: Vec::with_capacity(counted.len()),
        times: Vec::with_capacity(counted.len() * n),
    };
    for (_, a) in &counted {
        j.reached.push(a.reached as u8);
        j.times.extend_from_slice(&a.times[..n]);
    }
    let mut keys: Vec<Column> = Vec::new();
    let mut as_of = None;
    if let Some(p) = periods {
        let (local, _) = flat_i64(local_micros(log.time, p.zone)?);
        let ords: Int64Array = counted
            .iter()
            .map(|(_, a)| Some(p.freq.ordinal_of_micros(local[a.rows[0] as usize])))
            .collect();
        keys.push(Column::from_array("period", Arc::new(ords)));
        as_of = (0..n_rows).filter(|&i| keep[i]).map(|i| local[i]).max();
    }
    let rows: Vec<usize> = counted.iter().map(|(r, _)| *r).collect();
    for s in log.segments {
        keys.push(Column::from_array(s.name.clone(), take_rows(s, &rows)?));
    }
    let info = Info {
        steps: steps.iter().map(|s| s.join(" | ")).collect(),
        n_segments: log.segments.len(),
        freq: periods.map(|p| p.freq),
        window: rules.window,
        as_of,
        order: match rules.order {
            Order::Ordered => "ordered",
            Order::Strict => "strict",
            Order::Any => "any",
        }
        .into(),
        skipped_rows: skipped,
    };
    partial_state(keys, periods.map(|p| p.freq), &j, &info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::TimestampMicrosecondArray;

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
            .as_primitive::<arrow::datatypes::Float64Type>()
            .iter()
            .collect()
    }

    #[test]
    fn windows_parse_to_microseconds() {
        assert_eq!(parse_window(Some("14d")).unwrap(), Some(14 * US_PER_DAY));
        assert_eq!(parse_window(Some("90min")).unwrap(), Some(90 * 60_000_000));
        assert_eq!(parse_window(Some("1.5h")).unwrap(), Some(H * 3 / 2));
        assert_eq!(parse_window(None).unwrap(), None);
        assert!(parse_window(Some("0d")).is_err());
        assert!(parse_window(Some("fortnight")).is_err());
    }

    #[test]
    fn stages_count_prefixes_inside_the_window() {
        // Lead 0: all three stages within 10 h. Lead 1: second stage exactly at the 10 h window
        // (counts), third after it. Lead 2: second stage missing, third present (stops at 1).
        // Lead 3: never entered.
        let a = ts("a", vec![Some(0), Some(0), Some(0), None]);
        let b = ts("b", vec![Some(2 * H), Some(10 * H), None, Some(H)]);
        let c = ts("c", vec![Some(4 * H), Some(11 * H), Some(5 * H), None]);
        let st = stage_state(&[a, b, c], &[], Some(10 * H), None, StageOrder::Raise).unwrap();
        let out = finish_funnel(&st, Unit::Hours, None).unwrap();
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
    }

    #[test]
    fn out_of_order_stages_are_named_or_truncated() {
        let a = ts("visited", vec![Some(5 * H), Some(0)]);
        let b = ts("signed", vec![Some(H), Some(H)]);
        let err = stage_state(&[a.clone(), b.clone()], &[], None, None, StageOrder::Raise)
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 0: signed before visited"), "{err}");
        assert!(err.contains("1 row(s)"), "{err}");
        let st = stage_state(
            &[a.clone(), b.clone()],
            &[],
            None,
            None,
            StageOrder::Truncate,
        )
        .unwrap();
        let out = finish_funnel(&st, Unit::Hours, None).unwrap();
        assert_eq!(i64s(&out, "converted"), vec![2, 1]);
        // Skip: lead 0 is left out entirely and counted; lead 1 converts after 1 h.
        let st = stage_state(&[a, b], &[], None, None, StageOrder::Skip).unwrap();
        let out = finish_funnel(&st, Unit::Hours, None).unwrap();
        assert_eq!(i64s(&out, "converted"), vec![1, 1]);
        assert_eq!(f64s(&out, "time_to_convert_mean_hours")[1], Some(1.0));
        let meta = out.schema().metadata().get(META_SKIPPED_ROWS).cloned();
        assert_eq!(meta.as_deref(), Some("1"));
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
        let whole = stage_state(
            &[a.clone(), b.clone()],
            &[],
            Some(10 * H),
            None,
            StageOrder::Raise,
        )
        .unwrap();
        let parts: Vec<RecordBatch> = [(0usize, 300usize), (300, 0), (300, 700)]
            .iter()
            .map(|&(o, l)| {
                stage_part(
                    &[a.clone(), b.clone()],
                    &[],
                    Some(10 * H),
                    None,
                    StageOrder::Raise,
                    &["a".into(), "b".into()],
                    o..o + l,
                )
            })
            .collect::<KpiResult<_>>()
            .unwrap();
        let merged = merge_funnel_states(&parts).unwrap();
        let x = finish_funnel(&whole, Unit::Days, Some(Bins::Auto)).unwrap();
        let y = finish_funnel(&merged, Unit::Days, Some(Bins::Auto)).unwrap();
        assert_eq!(x.columns(), y.columns());
        // Bins beyond the bound are refused before anything is allocated (2^40 bins: 8 TB).
        for k in [0, MAX_HISTOGRAM_BINS + 1, 1 << 40, usize::MAX] {
            let err = finish_funnel(&whole, Unit::Days, Some(Bins::Count(k)))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("parameter \"histogram\""), "{err}");
        }
        finish_funnel(&whole, Unit::Days, Some(Bins::Count(MAX_HISTOGRAM_BINS))).unwrap();
    }

    #[test]
    fn chunking_and_time_units_do_not_change_the_result() {
        use arrow::array::TimestampSecondArray;
        let a: Vec<Option<i64>> = (0..10).map(|i| Some(i * 3600)).collect();
        let b: Vec<Option<i64>> = (0..10)
            .map(|i| (i % 4 != 0).then_some(i * 3600 + i * 600))
            .collect();
        let us = |v: &[Option<i64>]| v.iter().map(|x| x.map(|s| s * 1_000_000)).collect();
        let one = stage_state(
            &[ts("a", us(&a)), ts("b", us(&b))],
            &[],
            Some(H),
            None,
            StageOrder::Raise,
        )
        .unwrap();
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
        let other = stage_state(&[a_s, b_split], &[], Some(H), None, StageOrder::Raise).unwrap();
        let x = finish_funnel(&one, Unit::Minutes, None).unwrap();
        let y = finish_funnel(&other, Unit::Minutes, None).unwrap();
        assert_eq!(x.columns(), y.columns());
        // Leads 1, 2, 3, 5 convert (lead 0, 4, 8 have no "b"; 6, 7, 9 take 60+ minutes:
        // i × 10 minutes ≤ 60 for i ≤ 6) → i in {1, 2, 3, 5, 6}.
        assert_eq!(i64s(&x, "converted"), vec![10, 5]);
    }
}
