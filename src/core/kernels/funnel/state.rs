//! The funnel state both funnels share, and its merge.
//!
//! Per group (entry period, segments…): `reached_{s}`, the journeys that reached step s (0-based);
//! `durations_{s}` (s ≥ 1), the exact list of times from step s−1 to step s; `from_first_{s}`
//! (s ≥ 2), the exact list of times from step 0 to step s (for s = 1 that is `durations_1`).
//! Times are microseconds. States merge by adding counts and concatenating lists, so means,
//! medians and p90 stay exact across partitions. Every setting, finish options included, is in
//! the metadata ([`Info`]).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, Int64Builder, ListBuilder, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};

use super::rules::{Bins, FinishOptions};
use crate::core::engine::groups::{group_ids, take_rows, Groups};
use crate::core::engine::state::{meta, MergeInput, Meta};
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::{start_dates, Freq, Unit};
use crate::core::input::Column;

const META_STEPS: &str = "kpikit.funnel.steps";
const META_WINDOW: &str = "kpikit.funnel.window_us";
/// Latest wall-clock time in the data; the one setting a merge combines (the maximum).
const META_AS_OF: &str = "kpikit.funnel.as_of";
const META_ORDER: &str = "kpikit.funnel.order";
const META_UNIT: &str = "kpikit.funnel.unit";
const META_HISTOGRAM: &str = "kpikit.funnel.histogram";
/// Steps are joined with this separator in the metadata (a control character no name uses).
const SEP: &str = "\u{1f}";

/// What every funnel state records about its call.
#[derive(Debug, Clone)]
pub(crate) struct Info {
    /// The analysis that made the state ([`super::Funnel`] or [`super::FunnelFromStages`]).
    pub name: &'static str,
    pub steps: Vec<String>,
    pub n_segments: usize,
    pub freq: Option<Freq>,
    pub window: Option<i64>,
    /// Latest wall-clock time seen in the data (zone of the periods), for complete periods.
    pub as_of: Option<i64>,
    /// `order=` label of an event funnel, `"stages"` for a stage funnel.
    pub order: String,
    /// The `invalid=` setting's label.
    pub invalid: &'static str,
    pub finish: FinishOptions,
    pub skipped_rows: u64,
}

impl Info {
    pub fn metadata(&self) -> HashMap<String, String> {
        let opt = |v: Option<i64>| v.map(|w| w.to_string()).unwrap_or_default();
        HashMap::from([
            (meta::ANALYSIS.into(), self.name.into()),
            (
                meta::FREQ.into(),
                self.freq.map(|f| f.label()).unwrap_or_default(),
            ),
            (meta::SEGMENTS.into(), self.n_segments.to_string()),
            (meta::INVALID.into(), self.invalid.into()),
            (meta::SKIPPED_ROWS.into(), self.skipped_rows.to_string()),
            (META_STEPS.into(), self.steps.join(SEP)),
            (META_WINDOW.into(), opt(self.window)),
            (META_AS_OF.into(), opt(self.as_of)),
            (META_ORDER.into(), self.order.clone()),
            (META_UNIT.into(), self.finish.unit.label().into()),
            (
                META_HISTOGRAM.into(),
                self.finish.bins.map(Bins::label).unwrap_or_default(),
            ),
        ])
    }

    /// The settings of `schema`, which must be a state of analysis `name`.
    pub fn read(schema: &SchemaRef, name: &'static str) -> KpiResult<Info> {
        let m = Meta::of(schema, name)?;
        let invalid = match m.get(meta::INVALID)? {
            "raise" => "raise",
            "skip" => "skip",
            "truncate" => "truncate",
            v => {
                return Err(KpiError::param(
                    "state",
                    format!("bad invalid metadata: {v:?}"),
                ))
            }
        };
        Ok(Info {
            name,
            steps: m.get(META_STEPS)?.split(SEP).map(str::to_string).collect(),
            n_segments: m.parse(meta::SEGMENTS)?,
            freq: m
                .parse_opt::<String>(meta::FREQ)?
                .map(|f| Freq::from_label(&f))
                .transpose()?,
            window: m.parse_opt(META_WINDOW)?,
            as_of: m.parse_opt(META_AS_OF)?,
            order: m.get(META_ORDER)?.to_string(),
            invalid,
            finish: FinishOptions {
                unit: Unit::parse(m.get(META_UNIT)?)?,
                bins: Bins::from_label(m.get(META_HISTOGRAM)?)?,
            },
            skipped_rows: m.skipped_rows()?,
        })
    }

    /// Number of key columns (period, then segments) before the counts.
    pub fn n_keys(&self) -> usize {
        self.n_segments + usize::from(self.freq.is_some())
    }
}

/// Index of `reached_{s}` in a state with `k` key columns and `n` steps.
pub(crate) fn reached_col(k: usize, s: usize) -> usize {
    k + s
}

/// Index of `durations_{s}` (s ≥ 1).
pub(crate) fn durations_col(k: usize, n: usize, s: usize) -> usize {
    k + n + s - 1
}

/// Index of the times from step 0 to step s (s ≥ 1): `durations_1` for s = 1, else
/// `from_first_{s}`.
pub(crate) fn from_first_col(k: usize, n: usize, s: usize) -> usize {
    if s == 1 {
        durations_col(k, n, 1)
    } else {
        k + n + (n - 1) + s - 2
    }
}

/// Per-group counts and time lists (`group * n + step` layout), as they accumulate.
pub(crate) struct Counts {
    pub n: usize,
    pub reached: Vec<i64>,
    pub durations: Vec<Vec<i64>>,
    pub from_first: Vec<Vec<i64>>,
}

impl Counts {
    pub fn new(n: usize, groups: usize) -> Counts {
        Counts {
            n,
            reached: vec![0; groups * n],
            durations: vec![Vec::new(); groups * n],
            from_first: vec![Vec::new(); groups * n],
        }
    }

    /// A journey of group `g` that reached `k` steps at times `t[..k]`.
    pub fn add(&mut self, g: usize, k: usize, t: &[i64]) {
        let n = self.n;
        for s in 0..k {
            self.reached[g * n + s] += 1;
            if s > 0 {
                self.durations[g * n + s].push(t[s] - t[s - 1]);
            }
            if s > 1 {
                self.from_first[g * n + s].push(t[s] - t[0]);
            }
        }
    }
}

/// Group ids of the key columns (no keys: one group).
pub(crate) fn groups_of(keys: &[Column], rows: usize) -> KpiResult<Groups> {
    if keys.is_empty() {
        Ok(Groups {
            ids: vec![0; rows],
            first_row: if rows == 0 { vec![] } else { vec![0] },
        })
    } else {
        group_ids(keys)
    }
}

/// The state batch from per-group counts; the first key is the period ordinal with `freq`.
pub(crate) fn state_batch(
    keys: &[Column],
    groups: &Groups,
    counts: &Counts,
    info: &Info,
) -> KpiResult<RecordBatch> {
    let n = counts.n;
    // Every group is kept, those made only of entities that never entered too (their period
    // is null): their segment still gets its rows of zeros in the result (docs/conventions.md,
    // "Complete grids"). A group that never entered has a null period (no entry time) when
    // periods are keyed; `grid` gives such rows no period of their own.
    let kept: Vec<usize> = (0..groups.len()).collect();
    let first_rows: Vec<usize> = kept.iter().map(|&g| groups.first_row[g]).collect();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let a = take_rows(key, &first_rows)?;
        if let (0, Some(f)) = (i, info.freq) {
            // No period for a group nobody entered (a lead skipped for its stage order has a
            // period of its own, which must not widen the grid).
            let ords = a.as_primitive::<Int64Type>();
            let dates = start_dates(
                f,
                ords.iter()
                    .zip(&kept)
                    .map(|(o, &g)| o.filter(|_| counts.reached[g * n] > 0)),
            );
            fields.push(Field::new("period", DataType::Date32, true));
            columns.push(cast(&(Arc::new(dates) as ArrayRef), &DataType::Date32)?);
        } else {
            fields.push(Field::new(&key.name, a.data_type().clone(), true));
            columns.push(a);
        }
    }
    count_columns(&mut fields, &mut columns, counts, &kept);
    let schema = Arc::new(Schema::new_with_metadata(fields, info.metadata()));
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Append the `reached_{s}`, `durations_{s}` and `from_first_{s}` columns of groups `rows`.
fn count_columns(fields: &mut Vec<Field>, columns: &mut Vec<ArrayRef>, c: &Counts, rows: &[usize]) {
    let n = c.n;
    for s in 0..n {
        fields.push(Field::new(format!("reached_{s}"), DataType::Int64, false));
        let v: Int64Array = rows.iter().map(|&g| c.reached[g * n + s]).collect();
        columns.push(Arc::new(v));
    }
    let mut lists = |name: &str, from: usize, lists: &[Vec<i64>]| {
        for s in from..n {
            let total: usize = rows.iter().map(|&g| lists[g * n + s].len()).sum();
            let mut b = ListBuilder::with_capacity(Int64Builder::with_capacity(total), rows.len());
            for &g in rows {
                b.values().append_slice(&lists[g * n + s]);
                b.append(true);
            }
            let a = b.finish();
            fields.push(Field::new(
                format!("{name}_{s}"),
                a.data_type().clone(),
                false,
            ));
            columns.push(Arc::new(a));
        }
    };
    lists("durations", 1, &c.durations);
    lists("from_first", 2, &c.from_first);
}

/// Merge funnel states of analysis `name` made of disjoint rows: counts add up, time lists
/// concatenate, the data horizon is the latest of the states'.
pub(crate) fn merge(states: &[RecordBatch], name: &'static str) -> KpiResult<RecordBatch> {
    let input = MergeInput::check(states, name, &[META_AS_OF])?;
    let mut as_of: Option<i64> = None;
    for s in states {
        let schema = s.schema();
        if let Some(a) = Meta::of(&schema, name)?.parse_opt::<i64>(META_AS_OF)? {
            as_of = Some(as_of.map_or(a, |m| m.max(a)));
        }
    }
    let info = Info::read(&states[0].schema(), name)?;
    let states = &input.plain;
    let first = &states[0];
    let n = info.steps.len();
    let n_keys = info.n_keys();
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
    let groups = groups_of(&key_cols, total)?;
    let ng = groups.len();
    let mut c = Counts::new(n, ng);
    let mut row = 0;
    for st in states {
        for i in 0..st.num_rows() {
            let g = groups.ids[row + i] as usize;
            for s in 0..n {
                c.reached[g * n + s] += st
                    .column(reached_col(n_keys, s))
                    .as_primitive::<Int64Type>()
                    .value(i);
            }
            for s in 1..n {
                extend(
                    &mut c.durations[g * n + s],
                    st.column(durations_col(n_keys, n, s)),
                    i,
                );
            }
            for s in 2..n {
                extend(
                    &mut c.from_first[g * n + s],
                    st.column(from_first_col(n_keys, n, s)),
                    i,
                );
            }
        }
        row += st.num_rows();
    }
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (j, col) in key_cols.iter().enumerate() {
        let f = first.schema().field(j).clone();
        columns.push(take_rows(col, &groups.first_row)?);
        fields.push(f.with_data_type(key_types[j].clone()).with_nullable(true));
    }
    let all: Vec<usize> = (0..ng).collect();
    count_columns(&mut fields, &mut columns, &c, &all);
    let merged = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    input.finish(
        merged,
        &[(META_AS_OF, as_of.map(|a| a.to_string()).unwrap_or_default())],
    )
}

/// Append row `i` of the list column `lists` to `dst`.
fn extend(dst: &mut Vec<i64>, lists: &ArrayRef, i: usize) {
    let v = lists.as_list::<i32>().value(i);
    dst.extend_from_slice(v.as_primitive::<Int64Type>().values());
}

/// Chunks of i64 as one vector of values (0 where null) and one of validity.
pub(crate) fn flat_i64(chunks: Vec<Int64Array>) -> (Vec<i64>, Vec<bool>) {
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
