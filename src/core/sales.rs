//! Sales, marketing, support and onboarding metrics over their own tables (CRM deals, leads,
//! help-desk tickets, e-mail campaigns), written as partial → merge → finish.
//!
//! **State.** A partial state has one row per (period, segments…) group with three kinds of
//! value columns: counts (Int64, added on merge), sums (Float64, added on merge) and value lists
//! (List<Float64>, concatenated on merge). Lists keep every won amount and every duration, so
//! medians and percentiles are exact, and means are computed at finish from the *sorted* list,
//! which makes them identical whatever the partitioning (float addition is not associative; the
//! sorted order is the same for every partitioning). The lists cost 8 bytes per won deal or
//! measured duration.
//!
//! **Periods.** A row contributes to the period of each of its events: a deal is counted as
//! created in the period of `created` and closes in the period of `closed`. Snapshot figures
//! (deals open, tickets in backlog at period end) are rebuilt at finish by cumulating
//! created − closed (opened − resolved) over the gap-free grid, so they merge exactly too.
//!
//! **Durations** are computed from the instants (zone-aware timestamps compare in UTC; naive
//! timestamps and dates as wall-clock time), in any unit, and reported in the unit the output
//! column names (days or hours). Periods are counted on the calendar of `tz`.

use std::borrow::Cow;
use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, ListArray, RecordBatch,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Date32Type, Field, Float64Type, Int64Type, Schema, SchemaRef};
use hashbrown::HashMap;

use super::error::{BadRows, KpiError, KpiResult};
use super::groups::{grid, group_ids, take_rows, Groups};
use super::input::{f64_chunks, value_f64, Column, Table};
use super::parallel::fold_ranges;
use super::state::{meta::SKIPPED_ROWS as META_SKIPPED_ROWS, Invalid};
use super::time::{local_micros, start_dates, Freq, Zone, US_PER_DAY};

const US_PER_HOUR: f64 = 3_600_000_000.0;
/// A missing time or period in the flattened per-row vectors.
const NONE: i64 = i64::MIN;

const META_KIND: &str = "kpikit.sales.kind";
const META_FREQ: &str = "kpikit.freq";
const META_SEGMENTS: &str = "kpikit.segments";
const META_PARAMS: &str = "kpikit.sales.params";

// ----------------------------------------------------------------------------------------------
// The analyses and their options
// ----------------------------------------------------------------------------------------------

/// Which analysis a state belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Deals,
    Leads,
    Support,
    Campaigns,
    Onboarding,
}

/// The state's value columns of one analysis.
struct Layout {
    counts: &'static [&'static str],
    sums: &'static [&'static str],
    lists: &'static [&'static str],
}

impl Kind {
    pub fn parse(s: &str) -> KpiResult<Kind> {
        Ok(match s {
            "deals" => Kind::Deals,
            "leads" => Kind::Leads,
            "support" => Kind::Support,
            "campaigns" => Kind::Campaigns,
            "onboarding" => Kind::Onboarding,
            _ => return Err(KpiError::param("kind", format!("unknown analysis {s:?}"))),
        })
    }

    fn label(&self) -> &'static str {
        match self {
            Kind::Deals => "deals",
            Kind::Leads => "leads",
            Kind::Support => "support",
            Kind::Campaigns => "campaigns",
            Kind::Onboarding => "onboarding",
        }
    }

    fn layout(&self) -> Layout {
        match self {
            // closed_at: deals closed by close period (for the open balance, whatever the cohort);
            // closed/won/lost and the lists: by the cohort's period.
            Kind::Deals => Layout {
                counts: &["created", "closed_at", "closed", "won", "lost"],
                sums: &[],
                lists: &["won_amounts", "cycle_days"],
            },
            Kind::Leads => Layout {
                counts: &["leads", "qualified", "converted"],
                sums: &["revenue"],
                lists: &[],
            },
            Kind::Support => Layout {
                counts: &["opened", "resolved", "handled"],
                sums: &["handle_seconds"],
                lists: &["resolution_hours", "first_response_hours"],
            },
            Kind::Campaigns => Layout {
                counts: &["rows"],
                sums: &[
                    "sent",
                    "delivered",
                    "opened",
                    "clicked",
                    "converted",
                    "spend",
                    "revenue",
                ],
                lists: &[],
            },
            Kind::Onboarding => Layout {
                counts: &["started", "reached"],
                sums: &[],
                lists: &["onboarding_days"],
            },
        }
    }

    /// Input roles: (role, required).
    fn roles(&self) -> &'static [(&'static str, bool)] {
        match self {
            Kind::Deals => &[
                ("created", true),
                ("closed", true),
                ("amount", true),
                ("won", true),
                ("deal", false),
            ],
            Kind::Leads => &[
                ("created", true),
                ("qualified", false),
                ("converted", false),
                ("revenue", false),
            ],
            Kind::Support => &[
                ("opened", true),
                ("resolved", false),
                ("first_response", false),
                ("handle_seconds", false),
            ],
            Kind::Campaigns => &[
                ("time", false),
                ("sent", false),
                ("delivered", false),
                ("opened", false),
                ("clicked", false),
                ("converted", false),
                ("spend", false),
                ("revenue", false),
            ],
            Kind::Onboarding => &[("start", true), ("first_value", true)],
        }
    }

    /// The roles that are times.
    fn time_roles(&self) -> &'static [&'static str] {
        match self {
            Kind::Deals => &["created", "closed"],
            Kind::Leads => &["created", "qualified", "converted"],
            Kind::Support => &["opened", "resolved", "first_response"],
            Kind::Campaigns => &["time"],
            Kind::Onboarding => &["start", "first_value"],
        }
    }

    /// The options the analysis accepts: (name, allowed values; the first is the default).
    fn options(&self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Kind::Deals => &[
                ("cohort", &["closed", "created"]),
                ("cycle_of", &["won", "closed"]),
            ],
            Kind::Leads => &[("cohort", &["created", "event"])],
            Kind::Support => &[],
            Kind::Campaigns => &[
                ("base", &["delivered", "sent"]),
                ("conversion_base", &["clicked", "delivered", "sent"]),
            ],
            Kind::Onboarding => &[],
        }
    }
}

/// What a call asks for: input columns by role, segments, periods, options.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Column name of each role the caller gave (role → column).
    pub columns: StdHashMap<String, String>,
    pub segments: Vec<String>,
    pub freq: Option<Freq>,
    pub zone: Zone,
    pub options: StdHashMap<String, String>,
    pub invalid: Invalid,
}

/// Options checked against the analysis and completed with defaults, in a fixed order.
fn resolve_options(kind: Kind, given: &StdHashMap<String, String>) -> KpiResult<Vec<String>> {
    let allowed = kind.options();
    for k in given.keys() {
        if !allowed.iter().any(|(n, _)| n == k) {
            return Err(KpiError::param(k, "is not an option of this analysis"));
        }
    }
    allowed
        .iter()
        .map(|(name, values)| match given.get(*name) {
            None => Ok(values[0].to_string()),
            Some(v) if values.contains(&v.as_str()) => Ok(v.clone()),
            Some(v) => Err(KpiError::param(
                name,
                format!("{v:?} is not one of {values:?}"),
            )),
        })
        .collect()
}

// ----------------------------------------------------------------------------------------------
// Per-row readers
// ----------------------------------------------------------------------------------------------

/// A time column as instants (for durations) and period ordinals (for grouping), NONE if missing.
struct Times {
    at: Vec<i64>,
    ord: Vec<i64>,
}

/// Days spanning more than this are bucketed by calendar arithmetic row by row instead of a
/// day → period table.
const MAX_DAY_TABLE: i64 = 1 << 20;

fn read_times(col: &Column, zone: Zone, freq: Option<Freq>) -> KpiResult<Times> {
    let flat = |chunks: Vec<Int64Array>| -> Vec<i64> {
        let mut v = Vec::with_capacity(col.len());
        for c in chunks {
            let start = v.len();
            v.extend_from_slice(c.values());
            if let Some(nulls) = c.nulls().filter(|n| n.null_count() > 0) {
                for (slot, valid) in v[start..].iter_mut().zip(nulls.iter()) {
                    if !valid {
                        *slot = NONE;
                    }
                }
            }
        }
        v
    };
    // Zone-aware instants compare in UTC; naive ones are wall-clock time already.
    let at = flat(local_micros(col, Zone::Utc)?);
    let local = if zone == Zone::Utc {
        None
    } else {
        Some(flat(local_micros(col, zone)?))
    };
    let local = local.as_deref().unwrap_or(&at);
    let Some(f) = freq else {
        let ord = local
            .iter()
            .map(|&us| if us == NONE { NONE } else { 0 })
            .collect();
        return Ok(Times { at, ord });
    };
    let day = |us: i64| us.div_euclid(US_PER_DAY);
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for &us in local {
        if us != NONE {
            lo = lo.min(day(us));
            hi = hi.max(day(us));
        }
    }
    let ord = if lo > hi || hi - lo < MAX_DAY_TABLE {
        // Calendar arithmetic once per distinct day.
        let (base, table): (i64, Vec<i64>) = (lo, (lo..=hi).map(|d| f.ordinal_of_day(d)).collect());
        local
            .iter()
            .map(|&us| {
                if us == NONE {
                    NONE
                } else {
                    table[(day(us) - base) as usize]
                }
            })
            .collect()
    } else {
        local
            .iter()
            .map(|&us| {
                if us == NONE {
                    NONE
                } else {
                    f.ordinal_of_micros(us)
                }
            })
            .collect()
    };
    Ok(Times { at, ord })
}

/// The column as numbers (NaN read as missing). An infinity is rejected here for every
/// measure: summed into a total it would silently turn every rate of its group into inf/NaN.
fn read_f64(col: &Column) -> KpiResult<Vec<Option<f64>>> {
    let mut v = Vec::with_capacity(col.len());
    let mut bad = BadRows::default();
    for c in f64_chunks(col)? {
        if c.null_count() == 0 && !c.values().iter().any(|x| x.is_infinite()) {
            // The usual column: no nulls, no infinities; NaN is missing.
            v.extend(c.values().iter().map(|&x| (!x.is_nan()).then_some(x)));
            continue;
        }
        for i in 0..c.len() {
            let x = value_f64(&c, i);
            if let Some(x) = x.filter(|x| x.is_infinite()) {
                bad.push(v.len(), || format!("{x}"));
            }
            v.push(x);
        }
    }
    KpiError::check_rows(&col.name, "values must be finite (not inf or -inf)", bad)?;
    Ok(v)
}

/// One chunk of a boolean column (or 0/1 numbers) as booleans.
fn bool_chunk(name: &str, c: &ArrayRef) -> KpiResult<BooleanArray> {
    Ok(match c.data_type() {
        DataType::Boolean => c.as_boolean().clone(),
        DataType::Null => BooleanArray::new_null(c.len()),
        dt if dt.is_numeric() => arrow::compute::cast(c, &DataType::Boolean)?
            .as_boolean()
            .clone(),
        dt => return Err(KpiError::wrong_type(name, "boolean (or 0/1)", dt)),
    })
}

fn days(us: i64) -> f64 {
    us as f64 / US_PER_DAY as f64
}

fn fmt_us(us: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(t) => t.naive_utc().to_string(),
        None => us.to_string(),
    }
}

// ----------------------------------------------------------------------------------------------
// Accumulating one part
// ----------------------------------------------------------------------------------------------

/// Values of one part gathered per (period ordinal, segment group) slot.
struct Acc {
    n_counts: usize,
    n_sums: usize,
    n_lists: usize,
    index: HashMap<(i64, u32), u32>,
    /// Slot per (period − lo) × segments + segment when the part's periods span a short range.
    dense: Option<(i64, usize, Vec<u32>)>,
    keys: Vec<(i64, u32)>,
    counts: Vec<i64>,
    sums: Vec<f64>,
    lists: Vec<Vec<f64>>,
}

impl Acc {
    fn new(layout: &Layout) -> Acc {
        Acc {
            n_counts: layout.counts.len(),
            n_sums: layout.sums.len(),
            n_lists: layout.lists.len(),
            index: HashMap::new(),
            dense: None,
            keys: Vec::new(),
            counts: Vec::new(),
            sums: Vec::new(),
            lists: Vec::new(),
        }
    }

    /// Look slots up in a table instead of hashing when periods span `lo..=hi` with few segments.
    fn prepare(&mut self, times: &[&Times], n_segments: usize) {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for t in times {
            for &o in &t.ord {
                if o != NONE {
                    lo = lo.min(o);
                    hi = hi.max(o);
                }
            }
        }
        if lo <= hi && (hi - lo + 1).saturating_mul(n_segments as i64) <= 1 << 22 {
            let size = (hi - lo + 1) as usize * n_segments;
            self.dense = Some((lo, n_segments, vec![u32::MAX; size]));
        }
    }

    /// A dense slot table that grows to the periods it meets (for parts read block by block,
    /// whose period range is not known up front).
    fn grow_dense(&mut self, n_segments: usize) {
        self.dense = Some((0, n_segments.max(1), Vec::new()));
    }

    /// Widen the dense table to cover `ord`, or give it up for the hash index when too wide.
    fn widen(&mut self, ord: i64) {
        let Some((lo, width, table)) = self.dense.take() else {
            return;
        };
        let periods = (table.len() / width) as i64;
        let (new_lo, new_hi) = if periods == 0 {
            (ord, ord)
        } else {
            // Room for a few more periods each way, so periods met in random order rarely
            // rebuild the table.
            (ord.min(lo) - 4, ord.max(lo + periods - 1) + 4)
        };
        if (new_hi - new_lo + 1).saturating_mul(width as i64) > 1 << 22 {
            for (s, k) in self.keys.iter().enumerate() {
                self.index.insert(*k, s as u32);
            }
            return;
        }
        let mut grown = vec![u32::MAX; (new_hi - new_lo + 1) as usize * width];
        for (s, &(o, g)) in self.keys.iter().enumerate() {
            grown[(o - new_lo) as usize * width + g as usize] = s as u32;
        }
        self.dense = Some((new_lo, width, grown));
    }

    /// The slot of (period, segment): a table read for a key seen before, else [`Acc::new_slot`].
    #[inline]
    fn slot(&mut self, ord: i64, seg: u32) -> usize {
        if let Some((lo, width, table)) = &self.dense {
            // seg < width, so the cell is inside the table exactly when the period is.
            let rel = ord.wrapping_sub(*lo);
            if rel >= 0 && (rel as usize) < table.len() {
                let i = rel as usize * *width + seg as usize;
                if i < table.len() && table[i] != u32::MAX {
                    return table[i] as usize;
                }
            }
        }
        self.new_slot(ord, seg)
    }

    #[cold]
    #[inline(never)]
    fn new_slot(&mut self, ord: i64, seg: u32) -> usize {
        let s = self.keys.len();
        if let Some((lo, width, table)) = &mut self.dense {
            let rel = ord.wrapping_sub(*lo);
            if rel < 0 || rel as usize >= table.len() / *width {
                self.widen(ord);
                return self.new_slot(ord, seg);
            }
            let cell = &mut table[rel as usize * *width + seg as usize];
            if *cell != u32::MAX {
                return *cell as usize;
            }
            *cell = s as u32;
        } else {
            if let Some(&found) = self.index.get(&(ord, seg)) {
                return found as usize;
            }
            self.index.insert((ord, seg), s as u32);
        }
        self.keys.push((ord, seg));
        self.counts.extend(std::iter::repeat_n(0, self.n_counts));
        self.sums.extend(std::iter::repeat_n(0.0, self.n_sums));
        self.lists
            .extend(std::iter::repeat_with(Vec::new).take(self.n_lists));
        s
    }

    /// Renumber the segments (a part's own ids to global ones); slots are looked up by
    /// hashing afterwards.
    fn rekey(&mut self, map: &[u32]) {
        for k in &mut self.keys {
            k.1 = map[k.1 as usize];
        }
        self.dense = None;
        self.index = self
            .keys
            .iter()
            .enumerate()
            .map(|(s, k)| (*k, s as u32))
            .collect();
    }

    /// Add another part's slots to this one (lists appended after this part's values).
    fn absorb(&mut self, mut other: Acc) {
        for (s, &(ord, seg)) in other.keys.iter().enumerate() {
            let t = self.slot(ord, seg);
            for j in 0..self.n_counts {
                self.counts[t * self.n_counts + j] += other.counts[s * self.n_counts + j];
            }
            for j in 0..self.n_sums {
                self.sums[t * self.n_sums + j] += other.sums[s * self.n_sums + j];
            }
            for j in 0..self.n_lists {
                let from = std::mem::take(&mut other.lists[s * self.n_lists + j]);
                let to = &mut self.lists[t * self.n_lists + j];
                if to.is_empty() {
                    *to = from;
                } else {
                    to.extend_from_slice(&from);
                }
            }
        }
    }

    #[inline]
    fn push_at(&mut self, slot: usize, j: usize, v: f64) {
        self.lists[slot * self.n_lists + j].push(v);
    }

    #[inline]
    fn count(&mut self, ord: i64, seg: u32, j: usize) {
        let s = self.slot(ord, seg);
        self.counts[s * self.n_counts + j] += 1;
    }

    #[inline]
    fn sum(&mut self, ord: i64, seg: u32, j: usize, v: f64) {
        let s = self.slot(ord, seg);
        self.sums[s * self.n_sums + j] += v;
    }

    #[inline]
    fn push(&mut self, ord: i64, seg: u32, j: usize, v: f64) {
        let s = self.slot(ord, seg);
        self.lists[s * self.n_lists + j].push(v);
    }
}

/// Rule violations of one part, in the order the analysis checks its rules.
struct Rules {
    rules: Vec<(String, String, BadRows)>,
    offset: usize,
    skipped: usize,
}

impl Rules {
    fn new(rules: Vec<(String, String)>, offset: usize) -> Rules {
        Rules {
            rules: rules
                .into_iter()
                .map(|(c, r)| (c, r, BadRows::default()))
                .collect(),
            offset,
            skipped: 0,
        }
    }

    /// Record that local row `i` breaks rule `k` (the row is then left out).
    fn bad(&mut self, k: usize, i: usize, value: impl FnOnce() -> String) {
        self.rules[k].2.push(self.offset + i, value);
        self.skipped += 1;
    }

    fn check(self, invalid: Invalid) -> KpiResult<usize> {
        if invalid == Invalid::Raise {
            for (column, rule, rows) in self.rules {
                KpiError::check_rows(
                    &column,
                    &format!("{rule} (invalid=\"skip\" leaves such rows out and counts them)"),
                    rows,
                )?;
            }
        }
        Ok(self.skipped)
    }
}

fn segment_groups(segments: &[Column], n: usize) -> KpiResult<Groups> {
    if segments.is_empty() {
        return Ok(Groups {
            ids: vec![0; n],
            first_row: if n == 0 { vec![] } else { vec![0] },
        });
    }
    group_ids(segments)
}

/// Columns of one part, by role.
struct PartInput<'a> {
    cols: StdHashMap<&'a str, Column>,
    /// Rows repeating an earlier deal id (deal metrics with `deal=`), for the whole input.
    duplicate: Option<&'a [bool]>,
}

impl PartInput<'_> {
    fn get(&self, role: &str) -> Option<&Column> {
        self.cols.get(role)
    }
}

struct Ctx<'a> {
    spec: &'a Spec,
    params: &'a [String],
}

impl Ctx<'_> {
    fn name(&self, role: &str) -> String {
        self.spec
            .columns
            .get(role)
            .cloned()
            .unwrap_or_else(|| role.to_string())
    }
}

/// Accumulate one row range (`seg` = its rows' segment ids, out of `n_segments`): the range's
/// slots and the number of rows it left out.
fn part(
    kind: Kind,
    ctx: &Ctx,
    input: &PartInput,
    seg: &[u32],
    n_segments: usize,
    offset: usize,
) -> KpiResult<(Acc, usize)> {
    let layout = kind.layout();
    let mut acc = Acc::new(&layout);
    let n = seg.len();
    let (spec, freq, zone) = (ctx.spec, ctx.spec.freq, ctx.spec.zone);
    let mut read: StdHashMap<&str, Times> = StdHashMap::new();
    if kind == Kind::Deals {
        // Deals are read block by block (the biggest tables): the slot table grows instead.
        acc.grow_dense(n_segments);
    } else {
        for role in kind.time_roles() {
            if let Some(c) = input.get(role) {
                read.insert(
                    role,
                    read_times(c, zone, freq).map_err(|e| e.at_offset(offset))?,
                );
            }
        }
        acc.prepare(&read.values().collect::<Vec<_>>(), n_segments.max(1));
    }
    let mut times = |role: &str| -> KpiResult<Option<Times>> { Ok(read.remove(role)) };
    // Rows named in errors are positions in the whole input, not in this part.
    let f64_of = |c: &Column| read_f64(c).map_err(|e| e.at_offset(offset));
    let skipped = match kind {
        Kind::Deals => deals_part(ctx, input, seg, n_segments, &mut acc, offset)?,
        Kind::Leads => {
            let created = times("created")?.expect("required");
            let qualified = times("qualified")?;
            let converted = times("converted")?;
            let revenue = input.get("revenue").map(f64_of).transpose()?;
            let by_event = ctx.params[0] == "event";
            let mut rules = Rules::new(
                vec![
                    (
                        ctx.name("created"),
                        "created times must not be missing".into(),
                    ),
                    (
                        ctx.name("qualified"),
                        "a lead cannot qualify before it was created".into(),
                    ),
                    (
                        ctx.name("converted"),
                        "a lead cannot convert before it was created".into(),
                    ),
                    (ctx.name("revenue"), "revenue must not be negative".into()),
                ],
                offset,
            );
            for i in 0..n {
                let c = created.at[i];
                if c == NONE {
                    rules.bad(0, i, || "missing".into());
                    continue;
                }
                let q = qualified.as_ref().map_or(NONE, |t| t.at[i]);
                if q != NONE && q < c {
                    rules.bad(1, i, || format!("{} < created {}", fmt_us(q), fmt_us(c)));
                    continue;
                }
                let v = converted.as_ref().map_or(NONE, |t| t.at[i]);
                if v != NONE && v < c {
                    rules.bad(2, i, || format!("{} < created {}", fmt_us(v), fmt_us(c)));
                    continue;
                }
                let r = revenue.as_ref().and_then(|r| r[i]);
                if let Some(r) = r.filter(|r| *r < 0.0) {
                    rules.bad(3, i, || format!("{r}"));
                    continue;
                }
                let (g, co) = (seg[i], created.ord[i]);
                acc.count(co, g, 0);
                if q != NONE {
                    let o = if by_event {
                        qualified.as_ref().expect("present").ord[i]
                    } else {
                        co
                    };
                    acc.count(o, g, 1);
                }
                if v != NONE {
                    let o = if by_event {
                        converted.as_ref().expect("present").ord[i]
                    } else {
                        co
                    };
                    acc.count(o, g, 2);
                }
                if let Some(r) = r {
                    // Revenue counts with the lead's cohort (or its conversion, by event).
                    let o = match (&converted, by_event) {
                        (Some(t), true) if t.ord[i] != NONE => t.ord[i],
                        _ => co,
                    };
                    acc.sum(o, g, 0, r);
                }
            }
            rules.check(spec.invalid)?
        }
        Kind::Support => {
            let opened = times("opened")?.expect("required");
            let resolved = times("resolved")?;
            let first = times("first_response")?;
            let handle = input.get("handle_seconds").map(f64_of).transpose()?;
            let mut rules = Rules::new(
                vec![
                    (
                        ctx.name("opened"),
                        "opened times must not be missing".into(),
                    ),
                    (
                        ctx.name("resolved"),
                        "a ticket cannot be resolved before it was opened".into(),
                    ),
                    (
                        ctx.name("first_response"),
                        "a ticket cannot be answered before it was opened".into(),
                    ),
                    (
                        ctx.name("handle_seconds"),
                        "handle times must not be negative".into(),
                    ),
                ],
                offset,
            );
            for i in 0..n {
                let o = opened.at[i];
                if o == NONE {
                    rules.bad(0, i, || "missing".into());
                    continue;
                }
                let r = resolved.as_ref().map_or(NONE, |t| t.at[i]);
                if r != NONE && r < o {
                    rules.bad(1, i, || format!("{} < opened {}", fmt_us(r), fmt_us(o)));
                    continue;
                }
                let f = first.as_ref().map_or(NONE, |t| t.at[i]);
                if f != NONE && f < o {
                    rules.bad(2, i, || format!("{} < opened {}", fmt_us(f), fmt_us(o)));
                    continue;
                }
                let h = handle.as_ref().and_then(|h| h[i]);
                if let Some(h) = h.filter(|h| *h < 0.0) {
                    rules.bad(3, i, || format!("{h}"));
                    continue;
                }
                let (g, oo) = (seg[i], opened.ord[i]);
                acc.count(oo, g, 0);
                if r != NONE {
                    let ro = resolved.as_ref().expect("present").ord[i];
                    acc.count(ro, g, 1);
                    acc.push(ro, g, 0, (r - o) as f64 / US_PER_HOUR);
                }
                if f != NONE {
                    let fo = first.as_ref().expect("present").ord[i];
                    acc.push(fo, g, 1, (f - o) as f64 / US_PER_HOUR);
                }
                if let Some(h) = h {
                    acc.count(oo, g, 2);
                    acc.sum(oo, g, 0, h);
                }
            }
            rules.check(spec.invalid)?
        }
        Kind::Campaigns => {
            let time = times("time")?;
            let roles = [
                "sent",
                "delivered",
                "opened",
                "clicked",
                "converted",
                "spend",
                "revenue",
            ];
            let values: Vec<Option<Vec<Option<f64>>>> = roles
                .iter()
                .map(|r| input.get(r).map(f64_of).transpose())
                .collect::<KpiResult<_>>()?;
            let mut rule_list = vec![(ctx.name("time"), "times must not be missing".to_string())];
            for r in roles {
                rule_list.push((
                    ctx.name(r),
                    "values must be present and not negative".into(),
                ));
            }
            let mut rules = Rules::new(rule_list, offset);
            'rows: for i in 0..n {
                let o = match &time {
                    Some(t) if t.at[i] == NONE => {
                        rules.bad(0, i, || "missing".into());
                        continue;
                    }
                    Some(t) => t.ord[i],
                    None => 0,
                };
                for (k, v) in values.iter().enumerate() {
                    if let Some(v) = v {
                        match v[i] {
                            Some(x) if x >= 0.0 => {}
                            Some(x) => {
                                rules.bad(k + 1, i, || format!("{x}"));
                                continue 'rows;
                            }
                            None => {
                                rules.bad(k + 1, i, || "missing".into());
                                continue 'rows;
                            }
                        }
                    }
                }
                let g = seg[i];
                acc.count(o, g, 0);
                for (k, v) in values.iter().enumerate() {
                    if let Some(v) = v {
                        acc.sum(o, g, k, v[i].expect("checked"));
                    }
                }
            }
            rules.check(spec.invalid)?
        }
        Kind::Onboarding => {
            let start = times("start")?.expect("required");
            let value = times("first_value")?.expect("required");
            let mut rules = Rules::new(
                vec![
                    (ctx.name("start"), "start times must not be missing".into()),
                    (
                        ctx.name("first_value"),
                        "first value cannot come before the start".into(),
                    ),
                ],
                offset,
            );
            for (i, &g) in seg.iter().enumerate() {
                let s = start.at[i];
                if s == NONE {
                    rules.bad(0, i, || "missing".into());
                    continue;
                }
                let v = value.at[i];
                if v != NONE && v < s {
                    rules.bad(1, i, || format!("{} < start {}", fmt_us(v), fmt_us(s)));
                    continue;
                }
                let so = start.ord[i];
                acc.count(so, g, 0);
                if v != NONE {
                    acc.count(so, g, 1);
                    acc.push(so, g, 0, days(v - s));
                }
            }
            rules.check(spec.invalid)?
        }
    };
    Ok((acc, skipped))
}

fn deals_part(
    ctx: &Ctx,
    input: &PartInput,
    seg: &[u32],
    n_segments: usize,
    acc: &mut Acc,
    offset: usize,
) -> KpiResult<usize> {
    let n = seg.len();
    let column = |role: &str| input.get(role).expect("required");
    let zone = ctx.spec.zone;
    let mut slots = DaySlots::new(n_segments);
    let mut rules = Rules::new(
        vec![
            (
                ctx.name("created"),
                "created times must not be missing".into(),
            ),
            (
                ctx.name("closed"),
                "a deal cannot close before it was created".into(),
            ),
            (
                ctx.name("won"),
                "an open deal (closed missing) cannot be won".into(),
            ),
            (
                ctx.name("won"),
                "a closed deal needs won true or false".into(),
            ),
            (ctx.name("amount"), "amounts must not be negative".into()),
            (ctx.name("amount"), "a won deal needs an amount".into()),
            (
                ctx.name("deal"),
                "deal ids must be present and unique (this row repeats an earlier deal)".into(),
            ),
        ],
        offset,
    );
    let cols = ["created", "closed", "amount", "won"].map(column);
    // Blocks end where any column's chunk ends, so a block reads one array per column, and
    // are small enough that what is read stays in cache.
    let mut cuts: Vec<usize> = cols.iter().flat_map(|c| c.offsets()).collect();
    cuts.push(n);
    cuts.sort_unstable();
    cuts.dedup();
    let mut start = 0;
    for cut in cuts {
        while start < cut {
            let len = DEAL_BLOCK.min(cut - start);
            let at = |e: KpiError| e.at_offset(offset + start);
            let one = |c: &Column| c.slice(start, len);
            let times = |c: &Column| -> KpiResult<(Int64Array, Int64Array)> {
                let utc = local_micros(&one(c), Zone::Utc).map_err(at)?.remove(0);
                // Zone-aware instants compare in UTC; periods are the zone's wall-clock days.
                let local = if zone == Zone::Utc {
                    utc.clone()
                } else {
                    local_micros(&one(c), zone).map_err(at)?.remove(0)
                };
                Ok((utc, local))
            };
            let (created, created_local) = times(cols[0])?;
            let (closed, closed_local) = times(cols[1])?;
            let amount = f64_chunks(&one(cols[2]))?.remove(0);
            if amount.values().iter().any(|v| v.is_infinite()) {
                // Same check and message as every other measure (read_f64).
                read_f64(&one(cols[2])).map_err(at)?;
            }
            let won = bool_chunk(&cols[3].name, &one(cols[3]).chunks[0])?;
            let block = DealBlock {
                created: &created,
                closed: &closed,
                created_local: &created_local,
                closed_local: &closed_local,
                amount: &amount,
                won: &won,
            };
            deals_block(
                ctx,
                input,
                &seg[start..start + len],
                acc,
                &mut rules,
                start,
                &block,
                &mut slots,
            );
            start += len;
        }
    }
    rules.check(ctx.spec.invalid)
}

/// One block of deals as Arrow arrays (one each; times in microseconds, UTC and local).
struct DealBlock<'a> {
    created: &'a Int64Array,
    closed: &'a Int64Array,
    created_local: &'a Int64Array,
    closed_local: &'a Int64Array,
    amount: &'a Float64Array,
    won: &'a BooleanArray,
}

const DEAL_BLOCK: usize = 1 << 13;

/// The slot of every (local day, segment) met so far in a part: one table read per time
/// instead of the day's period and then the period's slot. Days spanning more than
/// [`DaySlots::MAX_CELLS`] cells are not kept (each such time is looked up in full).
#[derive(Default)]
struct DaySlots {
    lo: i64,
    days: usize,
    width: usize,
    cells: Vec<u32>,
}

impl DaySlots {
    const MAX_CELLS: usize = 1 << 22;

    fn new(n_segments: usize) -> DaySlots {
        DaySlots {
            lo: 0,
            days: 0,
            width: n_segments.max(1),
            cells: Vec::new(),
        }
    }

    #[inline]
    fn slot(&mut self, acc: &mut Acc, freq: Option<Freq>, local_us: i64, seg: u32) -> usize {
        debug_assert!((seg as usize) < self.width);
        let day = local_us.div_euclid(US_PER_DAY);
        let k = day.wrapping_sub(self.lo) as usize;
        if k < self.days {
            let s = self.cells[k * self.width + seg as usize];
            if s != u32::MAX {
                return s as usize;
            }
        }
        self.new_slot(acc, freq, day, seg)
    }

    #[cold]
    #[inline(never)]
    fn new_slot(&mut self, acc: &mut Acc, freq: Option<Freq>, day: i64, seg: u32) -> usize {
        let s = acc.slot(freq.map_or(0, |f| f.ordinal_of_day(day)), seg);
        let k = day.wrapping_sub(self.lo) as usize;
        if seg as usize >= self.width {
            return s;
        }
        let width = self.width;
        if k >= self.days {
            // Room for a few more weeks each way, so days met in random order rarely
            // rebuild the table.
            let (lo, hi) = if self.days == 0 {
                (day - 32, day + 32)
            } else {
                (
                    day.min(self.lo) - 32,
                    day.max(self.lo + self.days as i64 - 1) + 32,
                )
            };
            let days = (hi - lo + 1) as usize;
            if days.saturating_mul(width) > Self::MAX_CELLS {
                return s;
            }
            let mut cells = vec![u32::MAX; days * width];
            for d in 0..self.days {
                let to = (d as i64 + self.lo - lo) as usize * width;
                cells[to..to + width].copy_from_slice(&self.cells[d * width..(d + 1) * width]);
            }
            *self = DaySlots {
                lo,
                days,
                width,
                cells,
            };
        }
        let k = (day - self.lo) as usize;
        self.cells[k * self.width + seg as usize] = s as u32;
        s
    }
}

/// Won deals of a block waiting to be listed: slot, amount, cycle days.
type WonRow = (u32, f64, f64);

/// Count one block of deals (`start` = the block's first row within the part). Rows are
/// checked with one test for "any rule broken" and counted without branching on open, won
/// or lost (those branches follow the data and mispredict): counters of rows that do not
/// apply are added 0, and the values to list are gathered first, then listed.
#[allow(clippy::too_many_arguments)]
fn deals_block(
    ctx: &Ctx,
    input: &PartInput,
    seg: &[u32],
    acc: &mut Acc,
    rules: &mut Rules,
    start: usize,
    rows: &DealBlock,
    slots: &mut DaySlots,
) {
    let freq = ctx.spec.freq;
    let by_created = ctx.params[0] == "created";
    let cycle_of_closed = ctx.params[1] == "closed";
    let (c_nulls, x_nulls) = (rows.created.nulls(), rows.closed.nulls());
    let (w_nulls, a_nulls) = (rows.won.nulls(), rows.amount.nulls());
    let valid = |n: Option<&NullBuffer>, j: usize| n.is_none_or(|n| n.is_valid(j));
    let (created, closed) = (rows.created.values(), rows.closed.values());
    let (created_local, closed_local) = (rows.created_local.values(), rows.closed_local.values());
    let amounts = rows.amount.values();
    let won_bits = rows.won.values();
    let nc = acc.n_counts;
    let mut listed: Vec<WonRow> = Vec::with_capacity(seg.len());
    for (j, &g) in seg.iter().enumerate() {
        let c_ok = valid(c_nulls, j);
        let x_ok = valid(x_nulls, j);
        let w_ok = valid(w_nulls, j);
        let w = w_ok && won_bits.value(j);
        let a = amounts[j];
        let a_ok = valid(a_nulls, j) && !a.is_nan();
        let (c, x) = (created[j], closed[j]);
        let broken = !c_ok
            | (x_ok & (x < c))
            | (!x_ok & w)
            | (x_ok & !w_ok)
            | (a_ok & (a < 0.0))
            | (w & !a_ok);
        if broken || input.duplicate.is_some_and(|d| d[start + j]) {
            deal_rule(rules, start + j, (c_ok, c), (x_ok, x), (w_ok, w), (a_ok, a));
            continue;
        }
        let at_created = slots.slot(acc, freq, created_local[j], g);
        // An open deal's "closed" slot is its created one; its counts there add 0.
        let closed_us = if x_ok {
            closed_local[j]
        } else {
            created_local[j]
        };
        let at_closed = slots.slot(acc, freq, closed_us, g);
        let at = if by_created { at_created } else { at_closed };
        let (closed_n, won_n) = (i64::from(x_ok), i64::from(w));
        let counts = &mut acc.counts;
        counts[at_created * nc] += 1;
        counts[at_closed * nc + 1] += closed_n;
        counts[at * nc + 2] += closed_n;
        counts[at * nc + 3] += won_n;
        counts[at * nc + 4] += closed_n - won_n;
        if w || (cycle_of_closed && x_ok) {
            listed.push((at as u32, if w { a } else { f64::NAN }, days(x - c)));
        }
    }
    for (at, a, cycle) in listed {
        let at = at as usize;
        if !a.is_nan() {
            acc.push_at(at, 0, a);
        }
        acc.push_at(at, 1, cycle);
    }
}

/// The rule a deal breaks (rules in the order [`deals_part`] lists them), recorded.
fn deal_rule(
    rules: &mut Rules,
    i: usize,
    (c_ok, c): (bool, i64),
    (x_ok, x): (bool, i64),
    (w_ok, w): (bool, bool),
    (a_ok, a): (bool, f64),
) {
    if !c_ok {
        rules.bad(0, i, || "missing".into());
    } else if x_ok && x < c {
        rules.bad(1, i, || format!("{} < created {}", fmt_us(x), fmt_us(c)));
    } else if !x_ok && w {
        rules.bad(2, i, || "true".into());
    } else if x_ok && !w_ok {
        rules.bad(3, i, || "missing".into());
    } else if a_ok && a < 0.0 {
        rules.bad(4, i, || format!("{a}"));
    } else if w && !a_ok {
        rules.bad(5, i, || "missing".into());
    } else {
        rules.bad(6, i, || "repeated".into());
    }
}

/// The part's accumulator as a state batch.
fn state_batch(
    kind: Kind,
    ctx: &Ctx,
    acc: Acc,
    segments: &[Column],
    first_row: &[usize],
    skipped: usize,
) -> KpiResult<RecordBatch> {
    let layout = kind.layout();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    if let Some(f) = ctx.spec.freq {
        let dates = start_dates(f, acc.keys.iter().map(|k| Some(k.0)));
        fields.push(Field::new("period", DataType::Date32, true));
        columns.push(arrow::compute::cast(
            &(Arc::new(dates) as ArrayRef),
            &DataType::Date32,
        )?);
    }
    let rows: Vec<usize> = acc.keys.iter().map(|k| first_row[k.1 as usize]).collect();
    for c in segments {
        let a = take_rows(c, &rows)?;
        fields.push(Field::new(&c.name, a.data_type().clone(), true));
        columns.push(a);
    }
    let n = acc.keys.len();
    for (j, name) in layout.counts.iter().enumerate() {
        fields.push(Field::new(format!("n:{name}"), DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from_iter_values(
            (0..n).map(|s| acc.counts[s * acc.n_counts + j]),
        )));
    }
    for (j, name) in layout.sums.iter().enumerate() {
        fields.push(Field::new(format!("s:{name}"), DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from_iter_values(
            (0..n).map(|s| acc.sums[s * acc.n_sums + j]),
        )));
    }
    let mut lists = acc.lists;
    // Sorted here, on all threads, so that the finish step reads each list in place instead
    // of copying and sorting it (a merged state's lists are checked and sorted there).
    let sort = |v: &mut Vec<f64>| v.sort_unstable_by(f64::total_cmp);
    if lists.iter().map(Vec::len).sum::<usize>() < 1 << 16 {
        lists.iter_mut().for_each(sort);
    } else {
        crate::core::parallel::install(|| {
            use rayon::prelude::*;
            lists.par_iter_mut().for_each(sort)
        });
    }
    for (j, name) in layout.lists.iter().enumerate() {
        let per_slot: Vec<Vec<f64>> = (0..n)
            .map(|s| std::mem::take(&mut lists[s * acc.n_lists + j]))
            .collect();
        let a = list_array(per_slot);
        fields.push(Field::new(
            format!("l:{name}"),
            a.data_type().clone(),
            false,
        ));
        columns.push(Arc::new(a));
    }
    let mut meta = StdHashMap::new();
    meta.insert(META_KIND.to_string(), kind.label().to_string());
    meta.insert(
        META_FREQ.to_string(),
        ctx.spec.freq.map(|f| f.label()).unwrap_or_default(),
    );
    meta.insert(META_SEGMENTS.to_string(), segments.len().to_string());
    meta.insert(META_PARAMS.to_string(), ctx.params.join(","));
    meta.insert(META_SKIPPED_ROWS.to_string(), skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}

fn list_array(per_slot: Vec<Vec<f64>>) -> ListArray {
    let offsets = OffsetBuffer::from_lengths(per_slot.iter().map(|v| v.len()));
    // Sized exactly, each slot's list freed once copied: the peak is the values once more.
    let mut flat = Vec::with_capacity(per_slot.iter().map(Vec::len).sum());
    for v in per_slot {
        flat.extend_from_slice(&v);
    }
    let values = Float64Array::from(flat);
    ListArray::new(
        Arc::new(Field::new("item", DataType::Float64, false)),
        offsets,
        Arc::new(values),
        None,
    )
}

/// Rows (global positions) that repeat an earlier deal id or have none.
fn duplicate_deals(col: &Column) -> KpiResult<Vec<bool>> {
    let g = group_ids(std::slice::from_ref(col))?;
    let mut seen = vec![false; g.len()];
    let mut nulls = vec![false; col.len()];
    let mut at = 0;
    for c in &col.chunks {
        if c.null_count() > 0 {
            for i in 0..c.len() {
                nulls[at + i] = c.is_null(i);
            }
        }
        at += c.len();
    }
    Ok(g.ids
        .iter()
        .zip(nulls)
        .map(|(&id, null)| {
            let dup = seen[id as usize];
            seen[id as usize] = true;
            dup || null
        })
        .collect())
}

/// Partial state of one table or partition.
pub fn state(kind: Kind, table: &Table, spec: &Spec) -> KpiResult<RecordBatch> {
    let params = resolve_options(kind, &spec.options)?;
    for role in spec.columns.keys() {
        if !kind.roles().iter().any(|(r, _)| r == role) {
            return Err(KpiError::Internal(format!("unknown role {role:?}")));
        }
    }
    let mut cols: StdHashMap<&str, Column> = StdHashMap::new();
    for (role, required) in kind.roles() {
        match spec.columns.get(*role) {
            Some(name) => {
                cols.insert(role, table.column(name)?);
            }
            None if *required => {
                return Err(KpiError::param(role, "is required (the name of a column)"))
            }
            None => {}
        }
    }
    if kind == Kind::Campaigns && cols.keys().all(|r| *r == "time") {
        return Err(KpiError::param(
            "sent",
            "give at least one of sent=, delivered=, opened=, clicked=, converted=, spend=, revenue=",
        ));
    }
    if kind == Kind::Campaigns && spec.freq.is_some() && !cols.contains_key("time") {
        return Err(KpiError::param(
            "freq",
            "needs a time column (time=...) to bucket",
        ));
    }
    let segments = table.columns(&spec.segments)?;
    let n = table.num_rows();
    let duplicate = match cols.get("deal") {
        Some(c) => Some(duplicate_deals(c)?),
        None => None,
    };
    let ctx = Ctx {
        spec,
        params: &params,
    };
    // Ranges are folded in range order (sums add up the same way whatever the number of
    // threads); each range's segment ids are its own, mapped to global ones as it is folded.
    let mut keys = SegmentKeys {
        cols: &segments,
        first_row: Vec::new(),
    };
    let (acc, skipped, failed) = fold_ranges(
        n,
        (None::<Acc>, 0, None::<KpiError>),
        |r| {
            let len = r.end - r.start;
            let input = PartInput {
                cols: cols
                    .iter()
                    .map(|(k, c)| (*k, c.slice(r.start, len)))
                    .collect(),
                duplicate: duplicate.as_deref().map(|d| &d[r.clone()]),
            };
            let slices: Vec<Column> = segments.iter().map(|c| c.slice(r.start, len)).collect();
            let seg = segment_groups(&slices, len)?;
            let (acc, skipped) = part(kind, &ctx, &input, &seg.ids, seg.len(), r.start)?;
            let firsts: Vec<usize> = seg.first_row.iter().map(|f| r.start + f).collect();
            Ok((acc, skipped, firsts))
        },
        |(acc, skipped, failed), (mut part, n_skipped, firsts)| {
            *skipped += n_skipped;
            match keys.global(&firsts) {
                Ok(map) => part.rekey(&map),
                Err(e) => {
                    failed.get_or_insert(e);
                    return;
                }
            }
            match acc {
                Some(acc) => acc.absorb(part),
                None => *acc = Some(part),
            }
        },
    )?;
    if let Some(e) = failed {
        return Err(e);
    }
    let acc = acc.unwrap_or_else(|| Acc::new(&kind.layout()));
    state_batch(kind, &ctx, acc, &segments, &keys.first_row, skipped)
}

/// The segments met so far, in order of first appearance: where each first appears.
struct SegmentKeys<'a> {
    cols: &'a [Column],
    first_row: Vec<usize>,
}

impl SegmentKeys<'_> {
    /// Global ids of the groups first appearing at rows `firsts` (one range's groups):
    /// those rows are grouped together with the first rows of the groups met before.
    fn global(&mut self, firsts: &[usize]) -> KpiResult<Vec<u32>> {
        if self.cols.is_empty() {
            if self.first_row.is_empty() {
                self.first_row.extend(firsts.first());
            }
            return Ok(vec![0; firsts.len()]);
        }
        let known = self.first_row.len();
        let rows: Vec<usize> = self.first_row.iter().chain(firsts).copied().collect();
        let keys = self
            .cols
            .iter()
            .map(|c| Ok(Column::new(c.name.clone(), vec![take_rows(c, &rows)?])))
            .collect::<KpiResult<Vec<_>>>()?;
        let g = group_ids(&keys)?;
        // The known groups are distinct and in order, so they keep ids 0..known.
        for k in known..g.len() {
            self.first_row.push(rows[g.first_row[k]]);
        }
        Ok(g.ids[known..].to_vec())
    }
}

// ----------------------------------------------------------------------------------------------
// Merge
// ----------------------------------------------------------------------------------------------

struct Info {
    kind: Kind,
    freq: Option<Freq>,
    n_segments: usize,
    params: Vec<String>,
    skipped: u64,
}

fn info(schema: &SchemaRef) -> KpiResult<Info> {
    let meta = schema.metadata();
    let get = |k: &str| {
        meta.get(k).ok_or_else(|| {
            KpiError::param(
                "state",
                format!("not a kpikit sales state (no {k:?} metadata)"),
            )
        })
    };
    let freq = get(META_FREQ)?;
    let params = get(META_PARAMS)?;
    Ok(Info {
        kind: Kind::parse(get(META_KIND)?)?,
        freq: if freq.is_empty() {
            None
        } else {
            Some(Freq::from_label(freq)?)
        },
        n_segments: get(META_SEGMENTS)?
            .parse()
            .map_err(|_| KpiError::param("state", "bad segments metadata"))?,
        params: if params.is_empty() {
            vec![]
        } else {
            params.split(',').map(str::to_string).collect()
        },
        skipped: get(META_SKIPPED_ROWS)?
            .parse()
            .map_err(|_| KpiError::param("state", "bad skipped metadata"))?,
    })
}

/// Merge partial states of several partitions: counts and sums add, lists concatenate.
pub fn merge_states(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let first = states
        .first()
        .ok_or_else(|| KpiError::param("states", "at least one partial state is needed"))?;
    let i0 = info(&first.schema())?;
    let mut skipped = 0;
    for s in states {
        let i = info(&s.schema())?;
        if i.kind != i0.kind
            || i.freq != i0.freq
            || i.n_segments != i0.n_segments
            || i.params != i0.params
            || s.num_columns() != first.num_columns()
        {
            return Err(KpiError::param(
                "states",
                "partial states were computed by different analyses or with different settings",
            ));
        }
        skipped += i.skipped;
    }
    let n_keys = usize::from(i0.freq.is_some()) + i0.n_segments;
    let schema = first.schema();
    let mut fields: Vec<Field> = Vec::new();
    let mut keys: Vec<Column> = Vec::new();
    for j in 0..n_keys {
        // An empty partition may type a key Null, another library Utf8 vs LargeUtf8: cast
        // every key to the first real type.
        let target = states
            .iter()
            .map(|s| s.column(j).data_type().clone())
            .find(|t| *t != DataType::Null)
            .unwrap_or(DataType::Null);
        let chunks = states
            .iter()
            .map(|s| {
                let a = s.column(j);
                if *a.data_type() == target {
                    Ok(a.clone())
                } else {
                    Ok(arrow::compute::cast(a, &target)?)
                }
            })
            .collect::<KpiResult<Vec<_>>>()?;
        fields.push(Field::new(schema.field(j).name(), target, true));
        keys.push(Column::new(schema.field(j).name().clone(), chunks));
    }
    let total: usize = states.iter().map(|s| s.num_rows()).sum();
    let groups = if n_keys == 0 {
        segment_groups(&[], total)?
    } else {
        group_ids(&keys)?
    };
    let mut out: Vec<ArrayRef> = Vec::new();
    for k in &keys {
        out.push(take_rows(k, &groups.first_row)?);
    }
    let ng = groups.len();
    for j in n_keys..schema.fields().len() {
        let f = schema.field(j);
        fields.push(f.clone());
        let mut row = 0;
        match f.data_type() {
            DataType::Int64 => {
                let mut acc = vec![0i64; ng];
                for s in states {
                    for v in s.column(j).as_primitive::<Int64Type>().values() {
                        let g = groups.ids[row] as usize;
                        acc[g] = acc[g].checked_add(*v).ok_or_else(|| KpiError::Overflow {
                            what: format!("sum of {:?}", f.name()),
                        })?;
                        row += 1;
                    }
                }
                out.push(Arc::new(Int64Array::from(acc)));
            }
            DataType::Float64 => {
                let mut acc = vec![0f64; ng];
                for s in states {
                    for v in s.column(j).as_primitive::<Float64Type>().values() {
                        acc[groups.ids[row] as usize] += v;
                        row += 1;
                    }
                }
                out.push(Arc::new(Float64Array::from(acc)));
            }
            _ => {
                let mut acc: Vec<Vec<f64>> = vec![Vec::new(); ng];
                for s in states {
                    let l = s.column(j).as_list::<i32>();
                    for r in 0..l.len() {
                        acc[groups.ids[row] as usize].extend_from_slice(list_values(l, r));
                        row += 1;
                    }
                }
                out.push(Arc::new(list_array(acc)));
            }
        }
    }
    let mut meta = schema.metadata().clone();
    meta.insert(META_SKIPPED_ROWS.to_string(), skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        out,
    )?)
}

fn list_values(l: &ListArray, r: usize) -> &[f64] {
    let offs = l.value_offsets();
    let vals = l.values().as_primitive::<Float64Type>().values();
    &vals[offs[r] as usize..offs[r + 1] as usize]
}

// ----------------------------------------------------------------------------------------------
// Finish
// ----------------------------------------------------------------------------------------------

/// A state laid out on the gap-free (segment × period) grid.
struct Laid<'a> {
    state: &'a RecordBatch,
    n_keys: usize,
    layout: Layout,
    fields: Vec<Field>,
    keys: Vec<ArrayRef>,
    source: Vec<Option<usize>>,
    /// True on the first grid row of every segment (running balances restart there).
    new_segment: Vec<bool>,
}

impl Laid<'_> {
    fn counts(&self, name: &str) -> Vec<i64> {
        let j = self
            .layout
            .counts
            .iter()
            .position(|c| *c == name)
            .expect("layout");
        let a = self
            .state
            .column(self.n_keys + j)
            .as_primitive::<Int64Type>();
        self.source
            .iter()
            .map(|s| s.map_or(0, |r| a.value(r)))
            .collect()
    }

    fn sums(&self, name: &str) -> Vec<f64> {
        let j = self
            .layout
            .sums
            .iter()
            .position(|c| *c == name)
            .expect("layout");
        let off = self.n_keys + self.layout.counts.len();
        let a = self.state.column(off + j).as_primitive::<Float64Type>();
        self.source
            .iter()
            .map(|s| s.map_or(0.0, |r| a.value(r)))
            .collect()
    }

    /// Every group's list, sorted ascending (read in place when the state's list is sorted
    /// already, as a single pass leaves it).
    fn sorted(&self, name: &str) -> Vec<Cow<'_, [f64]>> {
        let j = self
            .layout
            .lists
            .iter()
            .position(|c| *c == name)
            .expect("layout");
        let off = self.n_keys + self.layout.counts.len() + self.layout.sums.len();
        let l = self.state.column(off + j).as_list::<i32>();
        // Groups sort on all threads: the finish step is otherwise the serial tail of a call.
        crate::core::parallel::install(|| {
            use rayon::prelude::*;
            self.source
                .par_iter()
                .map(|s| {
                    let v = s.map_or(&[][..], |r| list_values(l, r));
                    if v.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
                        Cow::Borrowed(v)
                    } else {
                        let mut v = v.to_vec();
                        v.sort_unstable_by(f64::total_cmp);
                        Cow::Owned(v)
                    }
                })
                .collect()
        })
    }

    /// Running total of `delta` within each segment.
    fn running(&self, delta: &[i64]) -> Vec<i64> {
        let mut acc = 0;
        delta
            .iter()
            .zip(&self.new_segment)
            .map(|(d, new)| {
                if *new {
                    acc = 0;
                }
                acc += d;
                acc
            })
            .collect()
    }

    /// The value one period earlier in the same segment (None on a segment's first row).
    fn previous<T: Copy>(&self, v: &[T]) -> Vec<Option<T>> {
        (0..v.len())
            .map(|i| (!self.new_segment[i]).then(|| v[i - 1]))
            .collect()
    }

    fn batch(self, skipped: u64, extra: Vec<(&str, ArrayRef)>) -> KpiResult<RecordBatch> {
        let (mut fields, mut columns) = (self.fields, self.keys);
        for (name, a) in extra {
            fields.push(Field::new(name, a.data_type().clone(), true));
            columns.push(a);
        }
        let mut meta = StdHashMap::new();
        meta.insert(META_SKIPPED_ROWS.to_string(), skipped.to_string());
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new_with_metadata(fields, meta)),
            columns,
        )?)
    }
}

fn lay_out<'a>(state: &'a RecordBatch, info: &Info) -> KpiResult<Laid<'a>> {
    let has_period = info.freq.is_some();
    let g = grid(state, has_period, info.n_segments, info.freq)?;
    let n_keys = usize::from(has_period) + info.n_segments;
    let fields = (0..n_keys)
        .map(|j| {
            Field::new(
                state.schema().field(j).name(),
                g.keys[j].data_type().clone(),
                true,
            )
        })
        .collect();
    let n = g.source.len();
    let new_segment = if has_period {
        // Rows come segment by segment, periods ascending: a segment starts where the date
        // does not increase.
        let d = g.keys[0].as_primitive::<Date32Type>();
        (0..n)
            .map(|i| i == 0 || d.value(i) <= d.value(i - 1))
            .collect()
    } else {
        vec![true; n]
    };
    Ok(Laid {
        state,
        n_keys,
        layout: info.kind.layout(),
        fields,
        keys: g.keys,
        source: g.source,
        new_segment,
    })
}

/// Linear interpolation between closest ranks (numpy's and pandas' default) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

fn mean(sorted: &[f64]) -> Option<f64> {
    (!sorted.is_empty()).then(|| sorted.iter().fold(0.0, |a, b| a + b) / sorted.len() as f64)
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| a / b)
}

fn f64_col(v: Vec<Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

fn i64_col(v: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}

/// Mean, median and 90th percentile of every group's sorted values.
type Stats = Vec<Option<f64>>;

fn summary(lists: &[Cow<[f64]>]) -> (Stats, Stats, Stats) {
    (
        lists.iter().map(|v| mean(v)).collect(),
        lists.iter().map(|v| quantile(v, 0.5)).collect(),
        lists.iter().map(|v| quantile(v, 0.9)).collect(),
    )
}

/// Finish a state into its metrics (the analysis is read from the state's metadata).
pub fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let info = info(&state.schema())?;
    let laid = lay_out(state, &info)?;
    let skipped = info.skipped;
    match info.kind {
        Kind::Deals => {
            let created = laid.counts("created");
            let closed_at = laid.counts("closed_at");
            let closed = laid.counts("closed");
            let won = laid.counts("won");
            let lost = laid.counts("lost");
            let delta: Vec<i64> = created.iter().zip(&closed_at).map(|(a, b)| a - b).collect();
            let open = laid.running(&delta);
            let amounts = laid.sorted("won_amounts");
            let cycles = laid.sorted("cycle_days");
            // fold from +0.0: an empty f64 sum would be -0.0.
            let revenue: Vec<f64> = amounts
                .iter()
                .map(|v| v.iter().fold(0.0, |a, b| a + b))
                .collect();
            let win_rate: Vec<Option<f64>> = won
                .iter()
                .zip(&closed)
                .map(|(w, c)| ratio(*w as f64, *c as f64))
                .collect();
            let close_rate: Vec<Option<f64>> = won
                .iter()
                .zip(&created)
                .map(|(w, c)| ratio(*w as f64, *c as f64))
                .collect();
            let avg: Vec<Option<f64>> = amounts.iter().map(|v| mean(v)).collect();
            let median: Vec<Option<f64>> = amounts.iter().map(|v| quantile(v, 0.5)).collect();
            let (c_mean, c_median, c_p90) = summary(&cycles);
            let velocity: Vec<Option<f64>> = (0..open.len())
                .map(|i| match (avg[i], win_rate[i], c_mean[i]) {
                    (Some(a), Some(w), Some(c)) if c > 0.0 => Some(open[i] as f64 * a * w / c),
                    _ => None,
                })
                .collect();
            laid.batch(
                skipped,
                vec![
                    ("deals_created", i64_col(created)),
                    ("deals_closed", i64_col(closed)),
                    ("deals_won", i64_col(won)),
                    ("deals_lost", i64_col(lost)),
                    ("deals_open", i64_col(open)),
                    ("win_rate", f64_col(win_rate)),
                    ("close_rate", f64_col(close_rate)),
                    ("won_revenue", Arc::new(Float64Array::from(revenue))),
                    ("avg_deal_size", f64_col(avg)),
                    ("median_deal_size", f64_col(median)),
                    ("sales_cycle_days", f64_col(c_mean)),
                    ("sales_cycle_days_median", f64_col(c_median)),
                    ("sales_cycle_days_p90", f64_col(c_p90)),
                    ("pipeline_velocity", f64_col(velocity)),
                ],
            )
        }
        Kind::Leads => {
            let leads = laid.counts("leads");
            let qualified = laid.counts("qualified");
            let converted = laid.counts("converted");
            let revenue = laid.sums("revenue");
            let prev = laid.previous(&qualified);
            let growth: Vec<Option<f64>> = qualified
                .iter()
                .zip(&prev)
                .map(|(q, p)| p.and_then(|p| ratio((q - p) as f64, p as f64)))
                .collect();
            let per = |v: &[i64]| -> Vec<Option<f64>> {
                v.iter()
                    .zip(&leads)
                    .map(|(a, n)| ratio(*a as f64, *n as f64))
                    .collect()
            };
            let qual_rate = per(&qualified);
            let conv_rate = per(&converted);
            let rpl: Vec<Option<f64>> = revenue
                .iter()
                .zip(&leads)
                .map(|(r, n)| ratio(*r, *n as f64))
                .collect();
            laid.batch(
                skipped,
                vec![
                    ("leads", i64_col(leads)),
                    ("qualified_leads", i64_col(qualified)),
                    ("qualified_leads_growth", f64_col(growth)),
                    ("qualification_rate", f64_col(qual_rate)),
                    ("converted_leads", i64_col(converted)),
                    ("lead_conversion_rate", f64_col(conv_rate)),
                    ("revenue", Arc::new(Float64Array::from(revenue))),
                    ("revenue_per_lead", f64_col(rpl)),
                ],
            )
        }
        Kind::Support => {
            let opened = laid.counts("opened");
            let resolved = laid.counts("resolved");
            let handled = laid.counts("handled");
            let handle = laid.sums("handle_seconds");
            let delta: Vec<i64> = opened.iter().zip(&resolved).map(|(a, b)| a - b).collect();
            let backlog = laid.running(&delta);
            let res = laid.sorted("resolution_hours");
            let first = laid.sorted("first_response_hours");
            let aht: Vec<Option<f64>> = handle
                .iter()
                .zip(&handled)
                .map(|(h, n)| ratio(*h, *n as f64))
                .collect();
            let (r_mean, r_median, r_p90) = summary(&res);
            let (f_mean, f_median, f_p90) = summary(&first);
            laid.batch(
                skipped,
                vec![
                    ("tickets_opened", i64_col(opened)),
                    ("tickets_resolved", i64_col(resolved)),
                    ("backlog", i64_col(backlog)),
                    ("resolution_hours", f64_col(r_mean)),
                    ("resolution_hours_median", f64_col(r_median)),
                    ("resolution_hours_p90", f64_col(r_p90)),
                    ("first_response_hours", f64_col(f_mean)),
                    ("first_response_hours_median", f64_col(f_median)),
                    ("first_response_hours_p90", f64_col(f_p90)),
                    ("avg_handle_seconds", f64_col(aht)),
                ],
            )
        }
        Kind::Campaigns => {
            let get = |name: &str| laid.sums(name);
            let (sent, delivered, opened) = (get("sent"), get("delivered"), get("opened"));
            let (clicked, converted) = (get("clicked"), get("converted"));
            let (spend, revenue) = (get("spend"), get("revenue"));
            let base = if info.params[0] == "sent" {
                &sent
            } else {
                &delivered
            };
            let conv_base = match info.params[1].as_str() {
                "delivered" => &delivered,
                "sent" => &sent,
                _ => &clicked,
            };
            let div = |a: &[f64], b: &[f64]| -> ArrayRef {
                f64_col(a.iter().zip(b).map(|(x, y)| ratio(*x, *y)).collect())
            };
            let profit: Vec<f64> = revenue.iter().zip(&spend).map(|(r, s)| r - s).collect();
            let f = |v: &[f64]| -> ArrayRef { Arc::new(Float64Array::from(v.to_vec())) };
            laid.batch(
                skipped,
                vec![
                    ("sent", f(&sent)),
                    ("delivered", f(&delivered)),
                    ("opened", f(&opened)),
                    ("clicked", f(&clicked)),
                    ("converted", f(&converted)),
                    ("spend", f(&spend)),
                    ("revenue", f(&revenue)),
                    ("delivery_rate", div(&delivered, &sent)),
                    ("open_rate", div(&opened, base)),
                    ("click_through_rate", div(&clicked, base)),
                    ("click_to_open_rate", div(&clicked, &opened)),
                    ("conversion_rate", div(&converted, conv_base)),
                    ("cost_per_acquisition", div(&spend, &converted)),
                    ("roi", div(&profit, &spend)),
                ],
            )
        }
        Kind::Onboarding => {
            let started = laid.counts("started");
            let reached = laid.counts("reached");
            let d = laid.sorted("onboarding_days");
            let share: Vec<Option<f64>> = reached
                .iter()
                .zip(&started)
                .map(|(r, s)| ratio(*r as f64, *s as f64))
                .collect();
            let (m, med, p90) = summary(&d);
            laid.batch(
                skipped,
                vec![
                    ("started", i64_col(started)),
                    ("reached_value", i64_col(reached)),
                    ("reached_value_rate", f64_col(share)),
                    ("onboarding_days", f64_col(m)),
                    ("onboarding_days_median", f64_col(med)),
                    ("onboarding_days_p90", f64_col(p90)),
                ],
            )
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Quota attainment (two small tables: no partial state)
// ----------------------------------------------------------------------------------------------

/// One side of quota attainment: owner, period and value columns of one table.
pub struct OwnerValues {
    pub owner: Column,
    pub period: Column,
    pub value: Column,
}

/// The owner columns of both tables as one key column of one type.
fn joint_owner(a: &Column, b: &Column) -> KpiResult<Column> {
    let plain = |c: &Column| -> KpiResult<Vec<ArrayRef>> {
        c.chunks
            .iter()
            .map(|x| match x.data_type() {
                DataType::Dictionary(_, v) => Ok(arrow::compute::cast(x, v)?),
                _ => Ok(x.clone()),
            })
            .collect()
    };
    let (mut ca, mut cb) = (plain(a)?, plain(b)?);
    let ta = ca.first().map(|x| x.data_type().clone());
    let tb = cb.first().map(|x| x.data_type().clone());
    if ta != tb {
        let to_utf8 = |v: &mut Vec<ArrayRef>| -> KpiResult<()> {
            for x in v.iter_mut() {
                *x = arrow::compute::cast(x, &DataType::Utf8)?;
            }
            Ok(())
        };
        to_utf8(&mut ca)?;
        to_utf8(&mut cb)?;
    }
    ca.extend(cb);
    Ok(Column::new(a.name.clone(), ca))
}

/// Quota attainment per owner and period.
///
/// `attainment = actual / quota`; `attainment_to_date = Σ actual / Σ quota` over the periods of
/// the current `to_date` span so far (not the mean of the periods' ratios); `share_at_quota` is
/// the share of the period's owners with a quota above zero whose attainment is at least 1.
/// Actuals are summed per owner and period (so a table of won deals can be passed as it is);
/// an owner may have at most one quota per period. Zero or missing quota → null attainment.
pub fn quota_attainment(
    actuals: &OwnerValues,
    quotas: &OwnerValues,
    freq: Freq,
    zone: Zone,
    to_date: Option<Freq>,
) -> KpiResult<RecordBatch> {
    let owner = joint_owner(&actuals.owner, &quotas.owner)?;
    let (na, nq) = (actuals.owner.len(), quotas.owner.len());
    let mut ords: Vec<i64> = Vec::with_capacity(na + nq);
    let mut values: Vec<f64> = Vec::with_capacity(na + nq);
    for (side, rule) in [
        (actuals, "actuals must not be missing"),
        (quotas, "quotas must be present and not negative"),
    ] {
        let n = side.owner.len();
        for c in [&side.period, &side.value] {
            if c.len() != n {
                return Err(KpiError::LengthMismatch {
                    left: side.owner.name.clone(),
                    left_len: n,
                    right: c.name.clone(),
                    right_len: c.len(),
                });
            }
        }
        let t = read_times(&side.period, zone, Some(freq))?;
        let mut missing = BadRows::default();
        for (i, o) in t.ord.iter().enumerate() {
            if *o == NONE {
                missing.push(i, || "missing".into());
            }
        }
        KpiError::check_rows(&side.period.name, "periods must not be missing", missing)?;
        ords.extend(t.ord);
        let v = read_f64(&side.value)?;
        let mut bad = BadRows::default();
        for (i, x) in v.iter().enumerate() {
            match x {
                Some(x) if std::ptr::eq(side, quotas) && *x < 0.0 => bad.push(i, || format!("{x}")),
                Some(x) => values.push(*x),
                None => bad.push(i, || "missing".into()),
            }
        }
        KpiError::check_rows(&side.value.name, rule, bad)?;
    }
    let ord_col = Column::from_array("period", Arc::new(Int64Array::from(ords.clone())));
    let groups = group_ids(&[ord_col.clone(), owner.clone()])?;
    let ng = groups.len();
    let mut actual = vec![0.0; ng];
    let mut quota: Vec<Option<f64>> = vec![None; ng];
    let mut dup = BadRows::default();
    for (row, &g) in groups.ids.iter().enumerate() {
        let g = g as usize;
        if row < na {
            actual[g] += values[row];
        } else {
            match quota[g] {
                Some(_) => dup.push(row - na, || {
                    "a second quota for this owner and period".into()
                }),
                None => quota[g] = Some(values[row]),
            }
        }
    }
    KpiError::check_rows(
        &quotas.value.name,
        "an owner can have one quota per period",
        dup,
    )?;
    let first_ords = take_rows(&ord_col, &groups.first_row)?;
    let dates = start_dates(freq, first_ords.as_primitive::<Int64Type>().iter());
    let state = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("period", DataType::Date32, true),
            Field::new(&owner.name, owner.data_type(), true),
        ])),
        vec![
            arrow::compute::cast(&(Arc::new(dates) as ArrayRef), &DataType::Date32)?,
            take_rows(&owner, &groups.first_row)?,
        ],
    )?;
    let g = grid(&state, true, 1, Some(freq))?;
    let n = g.source.len();
    let d = g.keys[0].as_primitive::<Date32Type>().clone();
    let act: Vec<f64> = g
        .source
        .iter()
        .map(|s| s.map_or(0.0, |r| actual[r]))
        .collect();
    let quo: Vec<Option<f64>> = g.source.iter().map(|s| s.and_then(|r| quota[r])).collect();
    let att: Vec<Option<f64>> = (0..n)
        .map(|i| quo[i].and_then(|q| ratio(act[i], q)))
        .collect();
    let (mut a_td, mut q_td, mut att_td) = (Vec::new(), Vec::new(), Vec::new());
    let (mut sa, mut sq) = (0.0, 0.0);
    for i in 0..n {
        let span = |k: usize| to_date.map_or(0, |f| f.ordinal_of_day(d.value(k) as i64));
        let new_owner = i == 0 || d.value(i) <= d.value(i - 1);
        if new_owner || span(i) != span(i - 1) {
            sa = 0.0;
            sq = 0.0;
        }
        sa += act[i];
        sq += quo[i].unwrap_or(0.0);
        a_td.push(sa);
        q_td.push(sq);
        att_td.push(ratio(sa, sq));
    }
    // Share of owners at or above quota, per period.
    let mut per_period: HashMap<i32, (i64, i64)> = HashMap::new();
    for i in 0..n {
        if let (Some(q), Some(a)) = (quo[i], att[i]) {
            if q > 0.0 {
                let e = per_period.entry(d.value(i)).or_default();
                e.1 += 1;
                if a >= 1.0 {
                    e.0 += 1;
                }
            }
        }
    }
    let share: Vec<Option<f64>> = (0..n)
        .map(|i| {
            per_period
                .get(&d.value(i))
                .and_then(|(k, m)| ratio(*k as f64, *m as f64))
        })
        .collect();
    let mut fields = vec![
        Field::new("period", DataType::Date32, true),
        Field::new(&owner.name, g.keys[1].data_type().clone(), true),
    ];
    let mut columns = g.keys;
    for (name, a) in [
        ("actual", Arc::new(Float64Array::from(act)) as ArrayRef),
        ("quota", f64_col(quo)),
        ("attainment", f64_col(att)),
        ("actual_to_date", Arc::new(Float64Array::from(a_td))),
        ("quota_to_date", Arc::new(Float64Array::from(q_td))),
        ("attainment_to_date", f64_col(att_td)),
        ("share_at_quota", f64_col(share)),
    ] {
        fields.push(Field::new(name, a.data_type().clone(), true));
        columns.push(a);
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::TimestampMicrosecondArray;

    const DAY: i64 = US_PER_DAY;

    fn deals_table(rows: &[(i64, Option<i64>, f64, Option<bool>)], owners: &[&str]) -> Table {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "created",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
                true,
            ),
            Field::new(
                "closed",
                DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
                true,
            ),
            Field::new("amount", DataType::Float64, true),
            Field::new("won", DataType::Boolean, true),
            Field::new("owner", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(TimestampMicrosecondArray::from(
                    rows.iter().map(|r| r.0 * DAY).collect::<Vec<_>>(),
                )),
                Arc::new(TimestampMicrosecondArray::from(
                    rows.iter()
                        .map(|r| r.1.map(|d| d * DAY))
                        .collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                )),
                Arc::new(BooleanArray::from(
                    rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                )),
                Arc::new(arrow::array::StringArray::from(owners.to_vec())),
            ],
        )
        .unwrap();
        Table::from_batches(vec![batch], &schema)
    }

    fn spec(freq: Option<Freq>, segments: &[&str]) -> Spec {
        let columns = ["created", "closed", "amount", "won"]
            .iter()
            .map(|c| (c.to_string(), c.to_string()))
            .collect();
        Spec {
            columns,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            freq,
            zone: Zone::Utc,
            options: StdHashMap::new(),
            invalid: Invalid::Raise,
        }
    }

    fn f64s(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Float64Type>()
            .iter()
            .collect()
    }

    #[test]
    fn published_velocity_example() {
        // 40 open × 25,000 average won deal × 25 % win rate / 90-day cycle = 2,777.78 per day.
        let mut rows = vec![(0, None, 1.0, None); 40];
        rows.push((0, Some(90), 25_000.0, Some(true)));
        rows.extend(vec![(0, Some(10), 1.0, Some(false)); 3]);
        let owners = vec!["a"; rows.len()];
        let st = state(Kind::Deals, &deals_table(&rows, &owners), &spec(None, &[])).unwrap();
        let out = finish(&st).unwrap();
        let v = f64s(&out, "pipeline_velocity")[0].unwrap();
        assert!((v - 2_777.777_777_8).abs() < 1e-6, "{v}");
        assert_eq!(f64s(&out, "win_rate"), vec![Some(0.25)]);
    }

    #[test]
    fn merged_partitions_equal_one_pass_exactly() {
        let rows: Vec<(i64, Option<i64>, f64, Option<bool>)> = (0..500)
            .map(|i: i64| {
                let closed = (i % 4 != 0).then_some(i + (i * 37) % 150);
                let won = closed.map(|_| i % 3 == 0);
                (i, closed, 0.1 * (i * 7 % 113) as f64, won)
            })
            .collect();
        let owners: Vec<&str> = (0..500).map(|i| ["x", "y", "z"][i % 3]).collect();
        let sp = spec(Some(Freq::Quarter), &["owner"]);
        let whole =
            finish(&state(Kind::Deals, &deals_table(&rows, &owners), &sp).unwrap()).unwrap();
        let parts: Vec<RecordBatch> = [(0, 120), (120, 120), (120, 240), (240, 500)]
            .iter()
            .map(|&(a, b)| {
                let t = deals_table(&rows[a..b], &owners[a..b]);
                state(Kind::Deals, &t, &sp).unwrap()
            })
            .rev()
            .collect();
        let merged = finish(&merge_states(&parts).unwrap()).unwrap();
        for (i, f) in whole.schema().fields().iter().enumerate() {
            assert_eq!(whole.column(i), merged.column(i), "{}", f.name());
        }
    }

    #[test]
    fn row_ranges_with_segments_first_met_late_equal_merged_partitions() {
        // Over 2 row ranges of deals; owner "late" first appears in the last range and "rare"
        // only on every 50,000th row, so ranges meet segments in different orders. Amounts
        // are quarters, so every sum is exact in any order.
        let n = 300_000i64;
        let rows: Vec<(i64, Option<i64>, f64, Option<bool>)> = (0..n)
            .map(|i| {
                let created = (i * 7919) % 700;
                let closed = (i % 5 != 0).then_some(created + (i * 31) % 200);
                (
                    created,
                    closed,
                    0.25 * ((i * 13) % 4000) as f64,
                    closed.map(|_| i % 3 == 0),
                )
            })
            .collect();
        let owners: Vec<&str> = (0..n)
            .map(|i| match i {
                _ if i % 50_000 == 7 => "rare",
                _ if i > 280_000 && i % 2 == 0 => "late",
                _ => ["x", "y", "z"][(i % 3) as usize],
            })
            .collect();
        let sp = spec(Some(Freq::Month), &["owner"]);
        let whole = state(Kind::Deals, &deals_table(&rows, &owners), &sp).unwrap();
        let parts: Vec<RecordBatch> = [(0, 100_000), (100_000, 300_000)]
            .iter()
            .map(|&(a, b)| {
                state(Kind::Deals, &deals_table(&rows[a..b], &owners[a..b]), &sp).unwrap()
            })
            .collect();
        let (whole, merged) = (
            finish(&whole).unwrap(),
            finish(&merge_states(&parts).unwrap()).unwrap(),
        );
        assert_eq!(whole.num_rows(), merged.num_rows());
        for (i, f) in whole.schema().fields().iter().enumerate() {
            assert_eq!(whole.column(i), merged.column(i), "{}", f.name());
        }
        let owner = whole.column_by_name("owner").unwrap().as_string::<i32>();
        let late = (0..whole.num_rows())
            .filter(|&r| owner.value(r) == "late")
            .count();
        assert!(late > 0);
    }

    #[test]
    fn rules_name_column_and_rows() {
        let rows = vec![(5, Some(4), 1.0, Some(true)), (1, None, 1.0, Some(true))];
        let t = deals_table(&rows, &["a", "a"]);
        let err = state(Kind::Deals, &t, &spec(None, &[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("column \"closed\": a deal cannot close before it was created"),
            "{err}"
        );
        let mut sp = spec(None, &[]);
        sp.invalid = Invalid::Skip;
        let st = state(Kind::Deals, &t, &sp).unwrap();
        assert_eq!(st.schema().metadata()[META_SKIPPED_ROWS], "2");
    }

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let v = [10.0, 30.0, 60.0];
        assert_eq!(quantile(&v, 0.5), Some(30.0));
        assert_eq!(quantile(&v, 0.9), Some(54.0)); // 30 + 0.8 × 30
        assert_eq!(quantile(&[], 0.5), None);
    }
}
