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
    by_entity, collect_rows, entities, event_flags, fold_entities, scan_rows, Entities, RowFlags,
};
use super::error::{BadRows, KpiError, KpiResult};
use super::events::EventLog;
use super::input::{f64_chunks, value_f64, Column};
use super::revenue::conventions::MAX_AMOUNT;
use super::state::meta::SKIPPED_ROWS as META_SKIPPED_ROWS;
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
    /// Returned in some period 1..=k (Mixpanel's "on or before"): the users ever back by
    /// period k; with a value, the cumulative sum over periods 0..=k (e.g. 30-day LTV).
    OnOrBefore,
    /// Returned in every period 1..=k (Mixpanel's streak mode); with a value, the sum over
    /// period k's returns of those users.
    Streak,
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

/// Whom the user rate of period k is out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The whole cohort.
    Cohort,
    /// The members for whom period k has begun by the end of the data (Amplitude: "users who
    /// have reached that point"). Differs from the cohort only with rolling windows, where
    /// each member's periods start at their own start event.
    Reached,
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
    pub base: Base,
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

/// Bounds of `brackets`: how many, and the periods in one (a century of days).
pub const MAX_BRACKETS: usize = 10_000;
pub const MAX_BRACKET: u32 = 36_600;

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
                    "freq",
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
            if b.len() > MAX_BRACKETS || b.iter().any(|&s| s > MAX_BRACKET) {
                return Err(KpiError::param(
                    "brackets",
                    format!("at most {MAX_BRACKETS} brackets of 1 to {MAX_BRACKET} periods each"),
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
                &[
                    ("on", Mode::On),
                    ("on_or_after", Mode::OnOrAfter),
                    ("on_or_before", Mode::OnOrBefore),
                    ("streak", Mode::Streak),
                ],
            )?,
            brackets,
            windows: pick(
                "boundaries",
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
            base: Base::Cohort,
        })
    }

    /// The same spec with the rate base `"cohort"` or `"reached"`.
    pub fn with_base(mut self, base: &str) -> KpiResult<RetentionSpec> {
        self.base = pick(
            "base",
            base,
            &[("cohort", Base::Cohort), ("reached", Base::Reached)],
        )?;
        if self.base == Base::Reached && self.mode == Mode::OnOrBefore {
            // A member back in period 1 counts "on or before" period 5 without having reached it.
            return Err(KpiError::param(
                "base",
                "\"reached\" applies to modes \"on\", \"on_or_after\" and \"streak\"",
            ));
        }
        Ok(self)
    }

    /// Anchor rows of the state (each member's start, for [`Base::Reached`]) are needed.
    fn keeps_anchors(&self) -> bool {
        self.base == Base::Reached && self.windows == Windows::Rolling24h
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

    /// The cell a return in period `k` counts in: past the last bracket, only "on or after"
    /// counts it (in the last bracket).
    fn return_cell(&self, k: i64) -> Option<i64> {
        match (self.cell_of(k), &self.brackets) {
            (Some(x), _) => Some(x),
            (None, Some(b)) if self.mode == Mode::OnOrAfter => Some(b.len() as i64),
            (None, _) => None,
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
            "{};{};{};{};{};{};{}",
            self.period.label(),
            match self.cohort {
                CohortKind::FirstTime => "first_time",
                CohortKind::Recurring => "recurring",
            },
            match self.mode {
                Mode::On => "on",
                Mode::OnOrAfter => "on_or_after",
                Mode::OnOrBefore => "on_or_before",
                Mode::Streak => "streak",
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
            match self.base {
                Base::Cohort => "cohort",
                Base::Reached => "reached",
            },
        )
    }

    pub fn from_label(s: &str) -> KpiResult<RetentionSpec> {
        let p: Vec<&str> = s.split(';').collect();
        if p.len() != 7 {
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
        let mut spec =
            RetentionSpec::parse("day", p[1], p[2], brackets, p[4], p[5])?.with_base(p[6])?;
        spec.period = Freq::from_label(p[0])?;
        Ok(spec)
    }
}

/// One kept event of the general path: wall-clock µs and flags (bit 0: a start event, bit 1:
/// a return event) packed as `t << 2 | flags`, so without a value an event is one integer
/// (8 bytes, sorted by time as is) rather than a padded struct.
trait Ev: Copy + Default + Send + Sync {
    fn key(&self) -> i64;
    fn value(&self) -> f64;
    fn t(&self) -> i64 {
        self.key() >> 2
    }
    fn flags(&self) -> u8 {
        (self.key() & 3) as u8
    }
}

impl Ev for i64 {
    fn key(&self) -> i64 {
        *self
    }
    fn value(&self) -> f64 {
        0.0
    }
}

/// An event with the value column's number.
#[derive(Clone, Copy, Default)]
struct Valued(i64, f64);

impl Ev for Valued {
    fn key(&self) -> i64 {
        self.0
    }
    fn value(&self) -> f64 {
        self.1
    }
}

fn pack(us: i64, flags: u8) -> i64 {
    // ±2^60 µs is ±36,000 years: only saturated out-of-range times are clamped.
    (us.clamp(-(1 << 60), (1 << 60) - 1) << 2) | i64::from(flags & 3)
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
    let event_col = if start_events.is_some() || return_events.is_some() {
        Some(log.event.as_ref().ok_or_else(|| {
            KpiError::param("event", "start_event / return_event need the event column")
        })?)
    } else {
        None
    };
    // Without a list, every event starts (bit 0) or returns (bit 1).
    let default_bits = u8::from(start_events.is_none()) | (u8::from(return_events.is_none()) << 1);
    let lean = if spec.windows == Windows::Calendar && value.is_none() {
        let row_flags = event_col.map_or(RowFlags::None, |c| RowFlags::Lists(c, &lists));
        calendar_bits(log, &ent, row_flags, default_bits, spec)?
    } else {
        None
    };
    let (cells, end, skipped) = match lean {
        Some(x) => x,
        None => {
            let flags = event_col.map(|c| event_flags(c, &lists)).transpose()?;
            if spec.windows == Windows::Calendar && value.is_none() {
                calendar_cells(log, &ent, flags.as_deref(), default_bits, spec)?
            } else {
                general_cells(log, &ent, flags.as_deref(), default_bits, value, spec)?
            }
        }
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
    let keep = |f: u8| (f | default_bits) != 0;
    match value {
        None => {
            let rows = collect_rows(log, ent, flags, keep, |us, f, _| pack(us, f | default_bits))?;
            general_fold(rows, ent, spec)
        }
        Some(c) => {
            // A missing value adds nothing; an infinite or huge one would make every sum it
            // joins infinite (or NaN), so it is an error naming the rows. The bound is that
            // of revenue amounts: sums of any number of such values stay finite.
            let mut values = Vec::with_capacity(c.len());
            let mut bad = BadRows::default();
            for a in f64_chunks(c)? {
                for i in 0..a.len() {
                    let v = value_f64(&a, i).unwrap_or(0.0);
                    if v.abs() > MAX_AMOUNT {
                        bad.push(values.len(), || format!("{v}"));
                    }
                    values.push(v);
                }
            }
            KpiError::check_rows(
                &c.name,
                "must be a finite number from -90071992547409 to 90071992547409 (or missing)",
                bad,
            )?;
            let rows = collect_rows(log, ent, flags, keep, |us, f, row| {
                Valued(pack(us, f | default_bits), values[row])
            })?;
            drop(values);
            general_fold(rows, ent, spec)
        }
    }
}

fn general_fold<E: Ev>(
    (parts, skipped): (Vec<super::activity::Part<E>>, usize),
    ent: &Entities,
    spec: &RetentionSpec,
) -> KpiResult<(Cells, i64, usize)> {
    let mut end = i64::MIN;
    for p in &parts {
        for e in &p.vals {
            end = end.max(e.t());
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
            es.sort_unstable_by_key(|e| e.key());
            // Anchors: the first start event (first_time) or the first in each cohort period.
            let mut anchors: Vec<(i64, i64)> = Vec::new(); // (time, cohort ordinal)
            for e in es.iter().filter(|e| e.flags() & 1 == 1) {
                let c = freq.ordinal_of_micros(e.t());
                if anchors.last().is_none_or(|a| a.1 != c) {
                    anchors.push((e.t(), c));
                    if spec.cohort == CohortKind::FirstTime {
                        break;
                    }
                }
            }
            let mut per_cell: Vec<(i64, f64)> = Vec::new(); // (cell, value) of the counted returns
            for &(s, c) in &anchors {
                per_cell.clear();
                let s_r = round(s);
                let from = es.partition_point(|e| e.t() < s);
                for e in es[from..].iter().filter(|e| e.flags() & 2 == 2) {
                    let k = if rolling {
                        (round(e.t()) - s_r).div_euclid(len)
                    } else {
                        freq.ordinal_of_micros(e.t()) - c
                    };
                    let Some(cell) = spec.return_cell(k) else {
                        continue;
                    };
                    per_cell.push((cell, e.value()));
                }
                if spec.keeps_anchors() {
                    // Anchor row: period number −1 − (start − cohort start) in µs.
                    let offset = s_r - freq.start_day(c) * US_PER_DAY;
                    acc.entry((c, -1 - offset)).or_insert((0, 0.0)).0 += 1;
                }
                // Cell 0: every member of the cohort; its value is that of period-0 returns.
                let v0: f64 = per_cell.iter().filter(|x| x.0 == 0).map(|x| x.1).sum();
                let e0 = acc.entry((c, 0)).or_insert((0, 0.0));
                e0.0 += 1;
                e0.1 += v0;
                let mut later: Vec<(i64, f64)> =
                    per_cell.iter().filter(|x| x.0 > 0).copied().collect();
                later.sort_unstable_by_key(|x| x.0);
                count_member(spec.mode, &later, |cell, n, v| {
                    let e = acc.entry((c, cell)).or_insert((0, 0.0));
                    e.0 += n;
                    e.1 += v;
                });
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

/// Bytes per input row the per-user bit sets of [`calendar_bits`] may take; wider period
/// ranges or sparser users go through [`calendar_cells`] (about 20 bytes per kept row).
const BITS_BUDGET_PER_ROW: usize = 8;

/// Calendar periods without a value column, streamed: per user, one bit per period of the data
/// for "did a start event" and one for "did a return event", set while the rows are read range
/// by range (atomic OR, so ranges run in parallel), then folded per user. No per-event array
/// of the input is made. None when those bit sets would exceed [`BITS_BUDGET_PER_ROW`].
///
/// The bits lie period by period (a plane of one bit per user for each period and kind): rows
/// come in time order, so a range writes a plane or two that stay in cache whatever the number
/// of users, and threads on different periods write different cache lines. Laid out user by
/// user, every row hit a random place in a table that outgrew the cache at 10⁵–10⁶ users.
fn calendar_bits(
    log: &EventLog,
    ent: &Entities,
    flags: RowFlags<'_>,
    default_bits: u8,
    spec: &RetentionSpec,
) -> KpiResult<Option<(Cells, i64, usize)>> {
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
    let freq = spec.period;
    // Period range of the data (a bound: null users and filtered events are included).
    let Some((lo_us, hi_us)) = super::activity::time_bounds(log)? else {
        return Ok(None);
    };
    let (lo, hi) = (freq.ordinal_of_micros(lo_us), freq.ordinal_of_micros(hi_us));
    let n_periods = (hi - lo + 1) as usize;
    let words = n_periods.div_ceil(64);
    let bytes = ent.count.saturating_mul(words * 16);
    if bytes
        > BITS_BUDGET_PER_ROW
            .saturating_mul(log.user.len())
            .max(1 << 20)
    {
        return Ok(None);
    }
    // Plane 2o holds the start bits of period lo + o, plane 2o + 1 its return bits; user e is
    // bit e % 64 of word e / 64 of a plane.
    let plane = ent.count.div_ceil(64);
    let bits: Vec<AtomicU64> = (0..plane * n_periods * 2)
        .map(|_| AtomicU64::new(0))
        .collect();
    let max_ord = AtomicI64::new(i64::MIN);
    let set = |i: usize, m: u64| {
        // Most events repeat a period the user already has: a plain load avoids the locked OR.
        if bits[i].load(Relaxed) & m == 0 {
            bits[i].fetch_or(m, Relaxed);
        }
    };
    // Per range: the last day seen and its period (events come mostly in time order, and a
    // month's ordinal takes a calendar conversion), and the latest period kept.
    let (_, skipped) = scan_rows(
        log,
        ent,
        flags,
        |f| (f | default_bits) != 0,
        |_| (i64::MIN, 0i64, i64::MIN),
        |acc, id, us, f, _| {
            let day = us.div_euclid(US_PER_DAY);
            if day != acc.0 {
                *acc = (day, freq.ordinal_of_day(day) - lo, acc.2);
            }
            let o = acc.1 as usize;
            if acc.1 > acc.2 {
                acc.2 = acc.1;
                max_ord.fetch_max(acc.1, Relaxed);
            }
            let f = f | default_bits;
            let base = 2 * o * plane + id as usize / 64;
            let m = 1u64 << (id % 64);
            if f & 1 != 0 {
                set(base, m);
            }
            if f & 2 != 0 {
                set(base + plane, m);
            }
        },
    )?;
    let max_ord = max_ord.into_inner();
    let end = if max_ord == i64::MIN {
        i64::MIN
    } else {
        freq.start_day(max_ord + lo) * US_PER_DAY
    };
    let bits: Vec<u64> = bits.into_iter().map(AtomicU64::into_inner).collect();
    // Counts per (cohort − lo, cell), dense when small.
    let n_cells = spec.brackets.as_ref().map_or(n_periods, |b| b.len() + 1);
    let dense = n_periods.saturating_mul(n_cells) <= 1 << 16;
    enum Acc {
        Dense(Vec<i64>),
        Map(Cells),
    }
    let add = |acc: &mut Acc, c: usize, cell: i64, n: i64| match acc {
        Acc::Dense(v) => v[c * n_cells + cell as usize] += n,
        Acc::Map(m) => m.entry((c as i64, cell)).or_insert((0, 0.0)).0 += n,
    };
    // A user's start and return bits gathered from the planes (`block`: the planes' words of
    // the user's block of 64) into `u` (start words, then return words).
    let per_user =
        |acc: &mut Acc, later: &mut Vec<(i64, f64)>, block: &[u64], u: &mut [u64], b: usize| {
            u.fill(0);
            for o in 0..n_periods {
                u[o / 64] |= ((block[2 * o] >> b) & 1) << (o % 64);
                u[words + o / 64] |= ((block[2 * o + 1] >> b) & 1) << (o % 64);
            }
            let (starts, returns) = u.split_at(words);
            for c in ones(starts, 0) {
                add(acc, c, 0, 1);
                later.clear();
                later.extend(
                    ones(returns, c + 1)
                        .map_while(|o| spec.return_cell((o - c) as i64))
                        .map(|cell| (cell, 0.0)),
                );
                count_member(spec.mode, later, |cell, n, _| {
                    if n > 0 {
                        add(acc, c, cell, n);
                    }
                });
                if spec.cohort == CohortKind::FirstTime {
                    break;
                }
            }
        };
    let new_acc = || {
        if dense {
            Acc::Dense(vec![0; n_periods * n_cells])
        } else {
            Acc::Map(Cells::new())
        }
    };
    let acc = crate::core::parallel::install(|| {
        use rayon::prelude::*;
        (0..plane)
            .into_par_iter()
            .with_min_len(1 << 8)
            .fold(
                || {
                    (
                        new_acc(),
                        Vec::new(),
                        vec![0u64; 2 * n_periods],
                        vec![0u64; 2 * words],
                    )
                },
                |(mut acc, mut later, mut block, mut u), k| {
                    for (j, w) in block.iter_mut().enumerate() {
                        *w = bits[j * plane + k];
                    }
                    // Users of the block with any bit (ids past the last user have none).
                    let mut present = block.iter().fold(0u64, |a, w| a | w);
                    while present != 0 {
                        let b = present.trailing_zeros() as usize;
                        present &= present - 1;
                        per_user(&mut acc, &mut later, &block, &mut u, b);
                    }
                    (acc, later, block, u)
                },
            )
            .map(|x| x.0)
            .reduce(&new_acc, |a, b| match (a, b) {
                (Acc::Dense(mut x), Acc::Dense(y)) => {
                    x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
                    Acc::Dense(x)
                }
                (Acc::Map(x), Acc::Map(y)) => Acc::Map(merge_cells(x, y)),
                _ => unreachable!("all accumulators are of one kind"),
            })
    });
    let mut cells = Cells::new();
    match acc {
        Acc::Dense(v) => {
            for (i, &n) in v.iter().enumerate().filter(|x| *x.1 > 0) {
                let (c, cell) = (i / n_cells, i % n_cells);
                cells.insert((c as i64 + lo, cell as i64), (n, 0.0));
            }
        }
        Acc::Map(m) => {
            for ((c, cell), x) in m {
                cells.insert((c + lo, cell), x);
            }
        }
    }
    Ok(Some((cells, end, skipped)))
}

/// Positions of the set bits of `words` from `from` on, ascending.
pub(crate) fn ones(words: &[u64], from: usize) -> impl Iterator<Item = usize> + '_ {
    words
        .iter()
        .enumerate()
        .skip(from / 64)
        .flat_map(move |(i, &w)| {
            let w = if i == from / 64 {
                w & (u64::MAX << (from % 64))
            } else {
                w
            };
            BitIter(w).map(move |b| i * 64 + b)
        })
}

struct BitIter(u64);

impl Iterator for BitIter {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.0 == 0 {
            return None;
        }
        let b = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1;
        Some(b)
    }
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
            let mut later: Vec<(i64, f64)> = Vec::new();
            for (i, &(c, f)) in periods.iter().enumerate() {
                if f & 1 == 0 {
                    continue;
                }
                acc.entry((c, 0)).or_insert((0, 0.0)).0 += 1;
                later.clear();
                later.extend(
                    periods[i + 1..]
                        .iter()
                        .filter(|p| p.1 & 2 == 2)
                        .map_while(|p| spec.return_cell(p.0 - c))
                        .map(|cell| (cell, 0.0)),
                );
                count_member(spec.mode, &later, |cell, n, _| {
                    acc.entry((c, cell)).or_insert((0, 0.0)).0 += n;
                });
                if spec.cohort == CohortKind::FirstTime {
                    break;
                }
            }
        },
        merge_cells,
    );
    Ok((cells, end, skipped))
}

/// What one cohort member adds to the cells of its cohort, from its returns after period 0:
/// `later` = (cell ≥ 1, value) ascending by cell, a cell repeated per return. `add(cell, users,
/// value)`. Each mode counts the member once per cell it is retained in:
/// - on: every cell with a return;
/// - on_or_after: cells 1..=last return, value of cell j = returns in cells ≥ j;
/// - on_or_before: only the first cell with a return, and each cell's own value — the finish
///   takes running sums over the cells ([`cells_of`]), because the cells a member counts in run
///   to the end of the data, which a partition does not know;
/// - streak: cells 1, 2, … while each has a return.
fn count_member(mode: Mode, later: &[(i64, f64)], mut add: impl FnMut(i64, i64, f64)) {
    let mut distinct: Vec<(i64, f64)> = Vec::with_capacity(later.len());
    for &(cell, v) in later {
        match distinct.last_mut() {
            Some(last) if last.0 == cell => last.1 += v,
            _ => distinct.push((cell, v)),
        }
    }
    match mode {
        Mode::On => distinct.iter().for_each(|&(cell, v)| add(cell, 1, v)),
        Mode::OnOrAfter => {
            if let Some(&(max_cell, _)) = distinct.last() {
                let mut suffix = 0.0;
                let mut i = distinct.len();
                for cell in (1..=max_cell).rev() {
                    while i > 0 && distinct[i - 1].0 >= cell {
                        suffix += distinct[i - 1].1;
                        i -= 1;
                    }
                    add(cell, 1, suffix);
                }
            }
        }
        Mode::OnOrBefore => {
            for (i, &(cell, v)) in distinct.iter().enumerate() {
                add(cell, i64::from(i == 0), v);
            }
        }
        Mode::Streak => {
            for (&(cell, v), want) in distinct.iter().zip(1..) {
                if cell != want {
                    break;
                }
                add(cell, 1, v);
            }
        }
    }
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
    /// Members for whom the cell's first period has begun ([`Base::Reached`]).
    reached: i64,
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
    // Per cohort: (start offset in µs, members), for the reached base.
    let mut anchors: StdHashMap<i64, Vec<(i64, i64)>> = StdHashMap::new();
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for j in 0..state.num_rows() {
        let o = freq.ordinal_of_day(c.value(j) as i64);
        lo = lo.min(o);
        hi = hi.max(o);
        if k.value(j) < 0 {
            anchors
                .entry(o)
                .or_default()
                .push((-1 - k.value(j), r.value(j)));
            continue;
        }
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
                "freq",
                format!(
                    "cohorts from {} to {} make a triangle of more than {MAX_CELLS} cells; \
                     check the time column for outlying times or use a longer freq",
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
        let mut cum = (0i64, 0.0f64);
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
            let (mut ret, mut val) = map.get(&(o, cell)).copied().unwrap_or((0, 0.0));
            // Members whose own period first_k has begun: all of them with calendar periods.
            let reached = if spec.keeps_anchors() {
                let limit = end - start_us - first_k * spec.rolling_len();
                anchors
                    .get(&o)
                    .map_or(0, |a| a.iter().filter(|x| x.0 <= limit).map(|x| x.1).sum())
            } else {
                size
            };
            if spec.mode == Mode::OnOrBefore {
                // The state holds first returns and each cell's own value: running sums.
                if cell > 0 {
                    cum.0 += ret;
                    ret = cum.0;
                }
                cum.1 += val;
                val = cum.1;
            }
            let (num, den) = match (inf.value, spec.reference, prev) {
                (false, Reference::Total, _) | (false, Reference::Previous, None) => {
                    (ret as f64, reached as f64)
                }
                (false, Reference::Previous, Some(p)) => (ret as f64, p.0 as f64),
                (true, Reference::Total, _) | (true, Reference::Previous, None) => (val, v0),
                (true, Reference::Previous, Some(p)) => (val, p.1),
            };
            out.push(Cell {
                cohort_day: freq.start_day(o) as i32,
                k: cell,
                size,
                reached,
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
    let (cells, inf, spec) = cells_of(state)?;
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
    if spec.base == Base::Reached {
        fields.insert(3, Field::new("reached", DataType::Int64, false));
        columns.insert(
            3,
            Arc::new(Int64Array::from_iter_values(
                cells.iter().map(|c| c.reached),
            )),
        );
    }
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
    use crate::core::state::Invalid;
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
            invalid: Invalid::Raise,
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
            base: Base::Cohort,
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
    fn counts(c: &Cells) -> Vec<((i64, i64), i64)> {
        let mut v: Vec<_> = c
            .iter()
            .filter(|x| x.1 .0 != 0)
            .map(|(k, x)| (*k, x.0))
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn streamed_bits_sorted_keys_and_general_path_agree() {
        // A pseudo-random log over 91 days (two words of bits per user for daily periods).
        let mut x: u64 = 7;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        let (mut users, mut days, mut events) = (vec![], vec![], vec![]);
        for _ in 0..400 {
            users.push(next(30) as i64);
            days.push(next(91) as i64);
            events.push(["s", "r", "x"][next(3) as usize]);
        }
        let l = log(users, days, events);
        let ent = entities(&l).unwrap();
        let lists_owned = [
            vec!["s".to_string()],
            vec!["r".to_string(), "s".to_string()],
        ];
        let lists: Vec<&[String]> = lists_owned.iter().map(|v| v.as_slice()).collect();
        let flags = event_flags(l.event.as_ref().unwrap(), &lists).unwrap();
        let row_flags = RowFlags::Lists(l.event.as_ref().unwrap(), &lists);
        for period in ["day", "week", "month"] {
            for cohort in ["first_time", "recurring"] {
                for mode in ["on", "on_or_after", "on_or_before", "streak"] {
                    for brackets in [None, Some(vec![1, 2]), Some(vec![3])] {
                        let spec = RetentionSpec::parse(
                            period, cohort, mode, brackets, "calendar", "total",
                        )
                        .unwrap();
                        let bits = calendar_bits(&l, &ent, row_flags, 0, &spec)
                            .unwrap()
                            .unwrap();
                        let keys = calendar_cells(&l, &ent, Some(&flags), 0, &spec).unwrap();
                        let general =
                            general_cells(&l, &ent, Some(&flags), 0, None, &spec).unwrap();
                        let what = format!("{period} {cohort} {mode} {:?}", spec.brackets);
                        assert_eq!(counts(&bits.0), counts(&keys.0), "{what}");
                        assert_eq!(counts(&bits.0), counts(&general.0), "{what}");
                        assert_eq!(bits.1, keys.1, "{what}");
                    }
                }
            }
        }
    }
}
