//! Retention cohorts over an event log, written as partial → merge → finish.
//!
//! Users enter a cohort by a start event and are retained in a later period by a return event.
//! The partial state counts, per (cohort, period number), the users retained (period 0: the
//! cohort size) and, with a value column, the sum of the value over the counted return events.
//! Every user's rows must be in one partition (a shuffle by user); then the counts of several
//! partitions add up exactly. The finish lays out the cohort triangle (only cells whose period
//! has begun by the end of the data) and the mean curves.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Float64Array, Int32Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Field, Float64Type, Int64Type, Schema, SchemaRef};

use super::activity::{
    by_entity, collect_rows, entities, event_flags, fold_entities, Entities, EventLog,
    META_SKIPPED_ROWS,
};
use super::error::{KpiError, KpiResult};
use super::input::{f64_chunks, value_f64, Column};
use super::time::{Freq, US_PER_DAY};

const US_PER_HOUR: i64 = 3_600_000_000;

/// Who belongs to a cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohortKind {
    /// A user is in the cohort of their first start event only.
    FirstTime,
    /// A user is in every cohort period in which they did a start event.
    Recurring,
}

/// When a return counts for period k.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Returned in period k itself.
    On,
    /// Returned in period k or any later one.
    OnOrAfter,
}

/// How periods after the start are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Windows {
    /// Calendar periods: period k is the k-th calendar period after the cohort's.
    Calendar,
    /// Per user, from the start event: period k is [k, k + 1) × (1, 7 or 30) × 24 h.
    Rolling24h,
}

/// The denominator of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// Period 0 (the cohort size, or its value).
    Total,
    /// The previous period.
    Previous,
}

/// All the conventions of one retention analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionSpec {
    pub period: Freq,
    pub cohort: CohortKind,
    pub mode: Mode,
    /// Bracket sizes in periods: `[1, 2, 4]` → bracket 1 = period 1, 2 = periods 2–3,
    /// 3 = periods 4–7. None: one bracket per period.
    pub brackets: Option<Vec<u32>>,
    pub windows: Windows,
    pub reference: Reference,
}

fn pick<T: Copy>(name: &str, s: &str, options: &[(&str, T)]) -> KpiResult<T> {
    options
        .iter()
        .find(|(k, _)| *k == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(k, _)| format!("{k:?}")).collect();
            KpiError::param(name, format!("{s:?} is not one of {}", names.join(", ")))
        })
}

impl RetentionSpec {
    pub fn parse(
        period: &str,
        cohort: &str,
        mode: &str,
        brackets: Option<Vec<u32>>,
        windows: &str,
        reference: &str,
    ) -> KpiResult<RetentionSpec> {
        let period = match Freq::parse(period, 0)? {
            f @ (Freq::Day | Freq::Week { .. } | Freq::Month) => f,
            _ => {
                return Err(KpiError::param(
                    "period",
                    "must be \"day\", \"week\" or \"month\"",
                ))
            }
        };
        if let Some(b) = &brackets {
            if b.is_empty() || b.contains(&0) {
                return Err(KpiError::param(
                    "brackets",
                    "must be a non-empty list of positive bracket sizes, e.g. [1, 2, 4]",
                ));
            }
        }
        Ok(RetentionSpec {
            period,
            cohort: pick(
                "cohort",
                cohort,
                &[
                    ("first_time", CohortKind::FirstTime),
                    ("recurring", CohortKind::Recurring),
                ],
            )?,
            mode: pick(
                "mode",
                mode,
                &[("on", Mode::On), ("on_or_after", Mode::OnOrAfter)],
            )?,
            brackets,
            windows: pick(
                "windows",
                windows,
                &[
                    ("calendar", Windows::Calendar),
                    ("rolling_24h", Windows::Rolling24h),
                ],
            )?,
            reference: pick(
                "reference",
                reference,
                &[
                    ("total", Reference::Total),
                    ("previous", Reference::Previous),
                ],
            )?,
        })
    }

    /// Length of a rolling period in microseconds (a month is 30 days, as in Amplitude).
    fn rolling_len(&self) -> i64 {
        US_PER_DAY
            * match self.period {
                Freq::Day => 1,
                Freq::Week { .. } => 7,
                _ => 30,
            }
    }

    /// First period number of every cell: cell 0 is period 0, then one per period or bracket.
    /// None for periods beyond the last bracket.
    fn cell_of(&self, k: i64) -> Option<i64> {
        match &self.brackets {
            None => Some(k),
            Some(b) => {
                if k == 0 {
                    return Some(0);
                }
                let mut start = 1i64;
                for (j, size) in b.iter().enumerate() {
                    if k < start + *size as i64 {
                        return Some(j as i64 + 1);
                    }
                    start += *size as i64;
                }
                None
            }
        }
    }

    /// The first period number of cell `c`.
    fn cell_start(&self, c: i64) -> i64 {
        match &self.brackets {
            None => c,
            Some(b) => {
                if c == 0 {
                    0
                } else {
                    1 + b[..(c - 1) as usize].iter().map(|&s| s as i64).sum::<i64>()
                }
            }
        }
    }

    /// A stable text form stored with partial states; [`RetentionSpec::from_label`] reads it.
    pub fn label(&self) -> String {
        let brackets = self.brackets.as_ref().map_or(String::new(), |b| {
            b.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        });
        format!(
            "{};{};{};{};{};{}",
            self.period.label(),
            match self.cohort {
                CohortKind::FirstTime => "first_time",
                CohortKind::Recurring => "recurring",
            },
            match self.mode {
                Mode::On => "on",
                Mode::OnOrAfter => "on_or_after",
            },
            brackets,
            match self.windows {
                Windows::Calendar => "calendar",
                Windows::Rolling24h => "rolling_24h",
            },
            match self.reference {
                Reference::Total => "total",
                Reference::Previous => "previous",
            },
        )
    }

    pub fn from_label(s: &str) -> KpiResult<RetentionSpec> {
        let p: Vec<&str> = s.split(';').collect();
        if p.len() != 6 {
            return Err(KpiError::param("state", "bad retention metadata"));
        }
        let brackets = if p[3].is_empty() {
            None
        } else {
            Some(
                p[3].split(',')
                    .map(|x| x.parse::<u32>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| KpiError::param("state", "bad retention metadata"))?,
            )
        };
        let mut spec = RetentionSpec::parse("day", p[1], p[2], brackets, p[4], p[5])?;
        spec.period = Freq::from_label(p[0])?;
        Ok(spec)
    }
}

#[derive(Clone, Copy, Default)]
struct Ev {
    /// Wall-clock microseconds.
    t: i64,
    /// bit 0: a start event, bit 1: a return event.
    flags: u8,
    value: f64,
}

/// Per-thread counts: (cohort ordinal, cell) → (users, value sum).
type Cells = hashbrown::HashMap<(i64, i64), (i64, f64)>;

const META_SPEC: &str = "kpikit.retention";
const META_END: &str = "kpikit.data_end";
const META_VALUE: &str = "kpikit.value";
const STATE: &str = "a retention";

/// Partial state of [`retention`]: rows (cohort Date32, period_number, retained[, value]) with
/// the spec, the end of the data and the skipped rows in the metadata.
pub fn retention_state(
    log: &EventLog,
    start_events: Option<&[String]>,
    return_events: Option<&[String]>,
    value: Option<&Column>,
    spec: &RetentionSpec,
) -> KpiResult<RecordBatch> {
    let ent = entities(log)?;
    let lists: Vec<&[String]> = [start_events, return_events]
        .iter()
        .map(|l| l.unwrap_or(&[]))
        .collect();
    let flags = if start_events.is_some() || return_events.is_some() {
        let col = log.event.as_ref().ok_or_else(|| {
            KpiError::param("event", "start_event / return_event need the event column")
        })?;
        Some(event_flags(col, &lists)?)
    } else {
        None
    };
    // Without a list, every event starts (bit 0) or returns (bit 1).
    let default_bits = u8::from(start_events.is_none()) | (u8::from(return_events.is_none()) << 1);
    let (cells, end, skipped) = if spec.windows == Windows::Calendar && value.is_none() {
        calendar_cells(log, &ent, flags.as_deref(), default_bits, spec)?
    } else {
        general_cells(log, &ent, flags.as_deref(), default_bits, value, spec)?
    };
    let freq = spec.period;
    let mut keys: Vec<(i64, i64)> = cells.keys().copied().collect();
    keys.sort_unstable();
    let cohort: Int32Array = keys
        .iter()
        .map(|k| Some(freq.start_day(k.0) as i32))
        .collect();
    let mut fields = vec![
        Field::new("cohort", DataType::Date32, false),
        Field::new("period_number", DataType::Int64, false),
        Field::new("retained", DataType::Int64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        arrow::compute::cast(&(Arc::new(cohort) as ArrayRef), &DataType::Date32)?,
        Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| k.1))),
        Arc::new(Int64Array::from_iter_values(
            keys.iter().map(|k| cells[k].0),
        )),
    ];
    if value.is_some() {
        fields.push(Field::new("value", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from_iter_values(
            keys.iter().map(|k| cells[k].1),
        )));
    }
    let mut meta = StdHashMap::new();
    meta.insert(META_SPEC.to_string(), spec.label());
    meta.insert(
        META_END.to_string(),
        if end == i64::MIN {
            String::new()
        } else {
            end.to_string()
        },
    );
    meta.insert(META_VALUE.to_string(), value.is_some().to_string());
    meta.insert(META_SKIPPED_ROWS.to_string(), skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}

/// Any conventions: every kept event with its time, flags and value, per user.
fn general_cells(
    log: &EventLog,
    ent: &Entities,
    flags: Option<&[u8]>,
    default_bits: u8,
    value: Option<&Column>,
    spec: &RetentionSpec,
) -> KpiResult<(Cells, i64, usize)> {
    let values: Option<Vec<f64>> = match value {
        Some(c) => {
            let mut v = Vec::with_capacity(c.len());
            for a in f64_chunks(c)? {
                v.extend((0..a.len()).map(|i| value_f64(&a, i).unwrap_or(0.0)));
            }
            Some(v)
        }
        None => None,
    };
    let (parts, skipped) = collect_rows(
        log,
        ent,
        flags,
        |f| (f | default_bits) != 0,
        |us, f, row| Ev {
            t: us,
            flags: f | default_bits,
            value: values.as_ref().map_or(0.0, |v| v[row]),
        },
    )?;
    drop(values);
    let mut end = i64::MIN;
    for p in &parts {
        for e in &p.vals {
            end = end.max(e.t);
        }
    }
    let (offsets, mut evs) = by_entity(parts, ent.count);
    let freq = spec.period;
    let rolling = spec.windows == Windows::Rolling24h;
    let len = spec.rolling_len();
    // Amplitude rounds daily rolling times down to the hour.
    let round = |t: i64| {
        if rolling && freq == Freq::Day {
            t.div_euclid(US_PER_HOUR) * US_PER_HOUR
        } else {
            t
        }
    };
    let cells = fold_entities(
        &offsets,
        &mut evs,
        Cells::new,
        |acc, _, es| {
            es.sort_unstable_by_key(|e| e.t);
            // Anchors: the first start event (first_time) or the first in each cohort period.
            let mut anchors: Vec<(i64, i64)> = Vec::new(); // (time, cohort ordinal)
            for e in es.iter().filter(|e| e.flags & 1 == 1) {
                let c = freq.ordinal_of_micros(e.t);
                if anchors.last().is_none_or(|a| a.1 != c) {
                    anchors.push((e.t, c));
                    if spec.cohort == CohortKind::FirstTime {
                        break;
                    }
                }
            }
            let mut per_cell: Vec<(i64, f64)> = Vec::new(); // (cell, value) of the counted returns
            for &(s, c) in &anchors {
                per_cell.clear();
                let s_r = round(s);
                let from = es.partition_point(|e| e.t < s);
                for e in es[from..].iter().filter(|e| e.flags & 2 == 2) {
                    let k = if rolling {
                        (round(e.t) - s_r).div_euclid(len)
                    } else {
                        freq.ordinal_of_micros(e.t) - c
                    };
                    let cell = match spec.cell_of(k) {
                        Some(x) => x,
                        // Past the last bracket: counts only "on or after" the last one.
                        None if spec.mode == Mode::OnOrAfter => {
                            spec.brackets.as_ref().map_or(k, |b| b.len() as i64)
                        }
                        None => continue,
                    };
                    per_cell.push((cell, e.value));
                }
                // Cell 0: every member of the cohort; its value is that of period-0 returns.
                let v0: f64 = per_cell.iter().filter(|x| x.0 == 0).map(|x| x.1).sum();
                let e0 = acc.entry((c, 0)).or_insert((0, 0.0));
                e0.0 += 1;
                e0.1 += v0;
                let mut later: Vec<(i64, f64)> =
                    per_cell.iter().filter(|x| x.0 > 0).copied().collect();
                later.sort_unstable_by_key(|x| x.0);
                match spec.mode {
                    Mode::On => {
                        let mut i = 0;
                        while i < later.len() {
                            let cell = later[i].0;
                            let mut v = 0.0;
                            while i < later.len() && later[i].0 == cell {
                                v += later[i].1;
                                i += 1;
                            }
                            let e = acc.entry((c, cell)).or_insert((0, 0.0));
                            e.0 += 1;
                            e.1 += v;
                        }
                    }
                    Mode::OnOrAfter => {
                        if let Some(&(max_cell, _)) = later.last() {
                            // Value of cell j: returns in cell j or later.
                            let mut suffix = 0.0;
                            let mut i = later.len();
                            for cell in (1..=max_cell).rev() {
                                while i > 0 && later[i - 1].0 >= cell {
                                    suffix += later[i - 1].1;
                                    i -= 1;
                                }
                                let e = acc.entry((c, cell)).or_insert((0, 0.0));
                                e.0 += 1;
                                e.1 += suffix;
                            }
                        }
                    }
                }
            }
        },
        |mut a, b| {
            for (k, (n, v)) in b {
                let e = a.entry(k).or_insert((0, 0.0));
                e.0 += n;
                e.1 += v;
            }
            a
        },
    );
    Ok((cells, end, skipped))
}

/// Calendar periods without a value column: only a user's distinct (period, flags) pairs
/// matter, so each event is one u32 `(period − base) << 2 | flags` and a user's events sort
/// and deduplicate as plain integers, six times less memory than the general path.
fn calendar_cells(
    log: &EventLog,
    ent: &Entities,
    flags: Option<&[u8]>,
    default_bits: u8,
    spec: &RetentionSpec,
) -> KpiResult<(Cells, i64, usize)> {
    const BASE: i64 = 1 << 29;
    let freq = spec.period;
    let (parts, skipped) = collect_rows(
        log,
        ent,
        flags,
        |f| (f | default_bits) != 0,
        |us, f, _| {
            let o = (freq.ordinal_of_micros(us) + BASE).clamp(0, (1 << 30) - 1) as u32;
            (o << 2) | u32::from(f | default_bits)
        },
    )?;
    let mut max_key = 0u32;
    let mut any = false;
    for p in &parts {
        if let Some(m) = p.vals.iter().max() {
            max_key = max_key.max(*m);
            any = true;
        }
    }
    let end = if any {
        freq.start_day((max_key >> 2) as i64 - BASE) * US_PER_DAY
    } else {
        i64::MIN
    };
    let (offsets, mut keys) = by_entity(parts, ent.count);
    let cells = fold_entities(
        &offsets,
        &mut keys,
        Cells::new,
        |acc, _, ks| {
            ks.sort_unstable();
            // Distinct periods with their combined flags.
            let mut periods: Vec<(i64, u8)> = Vec::new();
            for &k in ks.iter() {
                let (o, f) = ((k >> 2) as i64 - BASE, (k & 3) as u8);
                match periods.last_mut() {
                    Some(last) if last.0 == o => last.1 |= f,
                    _ => periods.push((o, f)),
                }
            }
            for (i, &(c, f)) in periods.iter().enumerate() {
                if f & 1 == 0 {
                    continue;
                }
                acc.entry((c, 0)).or_insert((0, 0.0)).0 += 1;
                let later = || periods[i + 1..].iter().filter(|p| p.1 & 2 == 2);
                match spec.mode {
                    Mode::On => {
                        let mut last_cell = -1;
                        for &(o, _) in later() {
                            let cell = match spec.cell_of(o - c) {
                                Some(x) => x,
                                None => break,
                            };
                            if cell != last_cell {
                                acc.entry((c, cell)).or_insert((0, 0.0)).0 += 1;
                                last_cell = cell;
                            }
                        }
                    }
                    Mode::OnOrAfter => {
                        if let Some(&(o, _)) = later().next_back() {
                            let k = o - c;
                            let max_cell = spec.cell_of(k).unwrap_or_else(|| {
                                spec.brackets.as_ref().map_or(k, |b| b.len() as i64)
                            });
                            for cell in 1..=max_cell {
                                acc.entry((c, cell)).or_insert((0, 0.0)).0 += 1;
                            }
                        }
                    }
                }
                if spec.cohort == CohortKind::FirstTime {
                    break;
                }
            }
        },
        merge_cells,
    );
    Ok((cells, end, skipped))
}

fn merge_cells(mut a: Cells, b: Cells) -> Cells {
    for (k, (n, v)) in b {
        let e = a.entry(k).or_insert((0, 0.0));
        e.0 += n;
        e.1 += v;
    }
    a
}

fn meta<'a>(schema: &'a SchemaRef, k: &str) -> KpiResult<&'a String> {
    schema
        .metadata()
        .get(k)
        .ok_or_else(|| KpiError::param("state", format!("not {STATE} state (no {k:?} metadata)")))
}

struct Info {
    label: String,
    end: Option<i64>,
    value: bool,
    skipped: u64,
}

fn info(schema: &SchemaRef) -> KpiResult<Info> {
    let end = meta(schema, META_END)?;
    Ok(Info {
        label: meta(schema, META_SPEC)?.clone(),
        end: if end.is_empty() {
            None
        } else {
            Some(
                end.parse()
                    .map_err(|_| KpiError::param("state", "bad data end metadata"))?,
            )
        },
        value: meta(schema, META_VALUE)? == "true",
        skipped: meta(schema, META_SKIPPED_ROWS)?
            .parse()
            .map_err(|_| KpiError::param("state", "bad skipped metadata"))?,
    })
}

/// Merge retention states of user-disjoint partitions: counts and values add up, the data end
/// is the latest.
pub fn merge_retention_states(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let first = states
        .first()
        .ok_or_else(|| KpiError::param("states", "at least one partial state is needed"))?;
    let i0 = info(&first.schema())?;
    let mut cells: StdHashMap<(i32, i64), (i64, f64)> = StdHashMap::new();
    let mut end: Option<i64> = None;
    let mut skipped = 0u64;
    for s in states {
        let i = info(&s.schema())?;
        if i.label != i0.label || i.value != i0.value {
            return Err(KpiError::param(
                "states",
                "partial states were computed with different retention settings",
            ));
        }
        skipped += i.skipped;
        end = match (end, i.end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let c = s.column(0).as_primitive::<Date32Type>();
        let k = s.column(1).as_primitive::<Int64Type>();
        let r = s.column(2).as_primitive::<Int64Type>();
        let v = i0.value.then(|| s.column(3).as_primitive::<Float64Type>());
        for j in 0..s.num_rows() {
            let e = cells.entry((c.value(j), k.value(j))).or_insert((0, 0.0));
            e.0 += r.value(j);
            e.1 += v.map_or(0.0, |v| v.value(j));
        }
    }
    let mut keys: Vec<(i32, i64)> = cells.keys().copied().collect();
    keys.sort_unstable();
    let schema = first.schema();
    let mut columns: Vec<ArrayRef> = vec![
        arrow::compute::cast(
            &(Arc::new(Int32Array::from_iter_values(keys.iter().map(|k| k.0))) as ArrayRef),
            &DataType::Date32,
        )?,
        Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| k.1))),
        Arc::new(Int64Array::from_iter_values(
            keys.iter().map(|k| cells[k].0),
        )),
    ];
    if i0.value {
        columns.push(Arc::new(Float64Array::from_iter_values(
            keys.iter().map(|k| cells[k].1),
        )));
    }
    let mut m = schema.metadata().clone();
    m.insert(META_SKIPPED_ROWS.to_string(), skipped.to_string());
    m.insert(
        META_END.to_string(),
        end.map_or(String::new(), |e| e.to_string()),
    );
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(schema.fields().clone(), m)),
        columns,
    )?)
}

/// One shown cell of the triangle.
struct Cell {
    cohort_day: i32,
    k: i64,
    size: i64,
    retained: i64,
    value: f64,
    /// Numerator and denominator of the rate (users or value).
    num: f64,
    den: f64,
}

/// Most cells a retention triangle may have.
const MAX_CELLS: i64 = 10_000_000;

fn cells_of(state: &RecordBatch) -> KpiResult<(Vec<Cell>, Info, RetentionSpec)> {
    let inf = info(&state.schema())?;
    let spec = &RetentionSpec::from_label(&inf.label)?;
    let c = state.column(0).as_primitive::<Date32Type>();
    let k = state.column(1).as_primitive::<Int64Type>();
    let r = state.column(2).as_primitive::<Int64Type>();
    let v = inf
        .value
        .then(|| state.column(3).as_primitive::<Float64Type>());
    let freq = spec.period;
    let mut map: StdHashMap<(i64, i64), (i64, f64)> = StdHashMap::new();
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for j in 0..state.num_rows() {
        let o = freq.ordinal_of_day(c.value(j) as i64);
        lo = lo.min(o);
        hi = hi.max(o);
        map.insert((o, k.value(j)), (r.value(j), v.map_or(0.0, |v| v.value(j))));
    }
    let mut out = Vec::new();
    let Some(end) = inf.end else {
        return Ok((out, inf, spec.clone()));
    };
    let last_ord = freq.ordinal_of_micros(end);
    let n_cells = spec.brackets.as_ref().map(|b| b.len() as i64);
    // The triangle grows with the square of the span: a stray early time (year 1, a 1900
    // placeholder) with daily cohorts would be trillions of cells. Count before building.
    let mut total: i64 = 0;
    for o in lo..=hi {
        let shown = (last_ord - o + 1).max(1);
        total = total.saturating_add(n_cells.map_or(shown, |n| shown.min(n + 1)));
        if total > MAX_CELLS {
            let date = |o: i64| {
                let (y, m, d) = super::time::civil_from_days(freq.start_day(o));
                format!("{y:04}-{m:02}-{d:02}")
            };
            return Err(KpiError::param(
                "period",
                format!(
                    "cohorts from {} to {} make a triangle of more than {MAX_CELLS} cells; \
                     check the time column for outlying times or use a longer period",
                    date(lo),
                    date(hi),
                ),
            ));
        }
    }
    for o in lo..=hi {
        let (size, v0) = map.get(&(o, 0)).copied().unwrap_or((0, 0.0));
        let start_us = freq.start_day(o) * US_PER_DAY;
        let mut prev: Option<(i64, f64)> = None;
        let mut cell = 0i64;
        loop {
            if n_cells.is_some_and(|n| cell > n) {
                break;
            }
            let first_k = spec.cell_start(cell);
            // A cell is shown once its first period has begun by the end of the data.
            let begun = match spec.windows {
                Windows::Calendar => o + first_k <= last_ord,
                Windows::Rolling24h => start_us + first_k * spec.rolling_len() <= end,
            };
            if !begun {
                break;
            }
            let (ret, val) = map.get(&(o, cell)).copied().unwrap_or((0, 0.0));
            let (num, den) = match (inf.value, spec.reference, prev) {
                (false, Reference::Total, _) | (false, Reference::Previous, None) => {
                    (ret as f64, size as f64)
                }
                (false, Reference::Previous, Some(p)) => (ret as f64, p.0 as f64),
                (true, Reference::Total, _) | (true, Reference::Previous, None) => (val, v0),
                (true, Reference::Previous, Some(p)) => (val, p.1),
            };
            out.push(Cell {
                cohort_day: freq.start_day(o) as i32,
                k: cell,
                size,
                retained: ret,
                value: val,
                num,
                den,
            });
            prev = Some((ret, val));
            cell += 1;
        }
    }
    Ok((out, inf, spec.clone()))
}

/// The cohort triangle in long form: one row per cohort (first to last, gaps included) and
/// period number whose period has begun by the end of the data. `rate = retained /
/// cohort_size` (reference total) or `retained / retained of the previous period` (previous);
/// with a value column the same ratios of `value`. Null when the denominator is 0.
pub fn finish_retention(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let (cells, inf, _) = cells_of(state)?;
    let mut fields = vec![
        Field::new("cohort", DataType::Date32, false),
        Field::new("period_number", DataType::Int64, false),
        Field::new("cohort_size", DataType::Int64, false),
        Field::new("retained", DataType::Int64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        arrow::compute::cast(
            &(Arc::new(Int32Array::from_iter_values(
                cells.iter().map(|c| c.cohort_day),
            )) as ArrayRef),
            &DataType::Date32,
        )?,
        Arc::new(Int64Array::from_iter_values(cells.iter().map(|c| c.k))),
        Arc::new(Int64Array::from_iter_values(cells.iter().map(|c| c.size))),
        Arc::new(Int64Array::from_iter_values(
            cells.iter().map(|c| c.retained),
        )),
    ];
    if inf.value {
        fields.push(Field::new("value", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from_iter_values(
            cells.iter().map(|c| c.value),
        )));
    }
    fields.push(Field::new("rate", DataType::Float64, true));
    columns.push(Arc::new(
        cells
            .iter()
            .map(|c| (c.den != 0.0).then(|| c.num / c.den))
            .collect::<Float64Array>(),
    ));
    let mut m = StdHashMap::new();
    m.insert(META_SKIPPED_ROWS.to_string(), inf.skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, m)),
        columns,
    )?)
}

/// The mean retention curve: per period number, over the cohorts whose cell is shown and whose
/// denominator is not 0 (empty cohorts are left out), `cohorts`, the summed numerator and
/// denominator, `weighted_rate = Σ numerator / Σ denominator` (weighted by cohort size) and
/// `simple_rate` = the plain mean of the cohorts' rates.
pub fn retention_curve(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let (cells, inf, _) = cells_of(state)?;
    let mut by_k: std::collections::BTreeMap<i64, (i64, f64, f64, f64)> = Default::default();
    for c in cells.iter().filter(|c| c.den != 0.0) {
        let e = by_k.entry(c.k).or_insert((0, 0.0, 0.0, 0.0));
        e.0 += 1;
        e.1 += c.num;
        e.2 += c.den;
        e.3 += c.num / c.den;
    }
    let ks: Vec<i64> = by_k.keys().copied().collect();
    let vals: Vec<(i64, f64, f64, f64)> = by_k.values().copied().collect();
    let what = if inf.value { "value" } else { "retained" };
    let base = if inf.value {
        "base_value"
    } else {
        "base_users"
    };
    let mut m = StdHashMap::new();
    m.insert(META_SKIPPED_ROWS.to_string(), inf.skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(
            vec![
                Field::new("period_number", DataType::Int64, false),
                Field::new("cohorts", DataType::Int64, false),
                Field::new(base, DataType::Float64, false),
                Field::new(what, DataType::Float64, false),
                Field::new("weighted_rate", DataType::Float64, true),
                Field::new("simple_rate", DataType::Float64, true),
            ],
            m,
        )),
        vec![
            Arc::new(Int64Array::from(ks)),
            Arc::new(Int64Array::from_iter_values(vals.iter().map(|v| v.0))),
            Arc::new(Float64Array::from_iter_values(vals.iter().map(|v| v.2))),
            Arc::new(Float64Array::from_iter_values(vals.iter().map(|v| v.1))),
            Arc::new(Float64Array::from_iter_values(
                vals.iter().map(|v| v.1 / v.2),
            )),
            Arc::new(Float64Array::from_iter_values(
                vals.iter().map(|v| v.3 / v.0 as f64),
            )),
        ],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::activity::Nulls;
    use crate::core::time::Zone;
    use arrow::array::{StringArray, TimestampMicrosecondArray};

    fn log(users: Vec<i64>, days: Vec<i64>, events: Vec<&str>) -> EventLog {
        EventLog {
            user: Column::from_array("u", Arc::new(Int64Array::from(users))),
            time: Column::from_array(
                "t",
                Arc::new(TimestampMicrosecondArray::from(
                    days.iter().map(|d| d * US_PER_DAY).collect::<Vec<_>>(),
                )),
            ),
            zone: Zone::Utc,
            event: Some(Column::from_array("e", Arc::new(StringArray::from(events)))),
            segments: vec![],
            nulls: Nulls::Raise,
        }
    }

    fn i64s(b: &RecordBatch, name: &str) -> Vec<i64> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn on_versus_on_or_after_and_first_time_versus_recurring() {
        // User 1: days 0, 2. User 2: days 0, 1, 3. User 3: day 1.
        let l = log(vec![1, 1, 2, 2, 2, 3], vec![0, 2, 0, 1, 3, 1], vec!["x"; 6]);
        let spec = |cohort, mode| RetentionSpec {
            period: Freq::Day,
            cohort,
            mode,
            brackets: None,
            windows: Windows::Calendar,
            reference: Reference::Total,
        };
        let s = spec(CohortKind::FirstTime, Mode::On);
        let out = finish_retention(&retention_state(&l, None, None, None, &s).unwrap()).unwrap();
        // Cohort day 0 (users 1, 2): k=1 {2}, k=2 {1}, k=3 {2}; cohort day 1 (user 3): nothing.
        assert_eq!(i64s(&out, "period_number"), vec![0, 1, 2, 3, 0, 1, 2]);
        assert_eq!(i64s(&out, "retained"), vec![2, 1, 1, 1, 1, 0, 0]);
        let s = spec(CohortKind::FirstTime, Mode::OnOrAfter);
        let out = finish_retention(&retention_state(&l, None, None, None, &s).unwrap()).unwrap();
        assert_eq!(i64s(&out, "retained"), vec![2, 2, 2, 1, 1, 0, 0]);
        let s = spec(CohortKind::Recurring, Mode::On);
        let out = finish_retention(&retention_state(&l, None, None, None, &s).unwrap()).unwrap();
        // Recurring: user 2 also in cohorts 1 and 3, user 1 in cohort 2.
        // Cohort 0 {1, 2}: 2, 1, 1, 1; cohort 1 {2, 3}: 2, 0, 1 (user 2 on day 3);
        // cohort 2 {1}: 1, 0; cohort 3 {2}: 1.
        assert_eq!(
            i64s(&out, "cohort_size"),
            vec![2, 2, 2, 2, 2, 2, 2, 1, 1, 1]
        );
        assert_eq!(i64s(&out, "retained"), vec![2, 1, 1, 1, 2, 0, 1, 1, 0, 1]);
    }
}
