//! Data integrity: the row-level checks behind `kpikit.check`.
//!
//! One pass per rule over a table, each returning how many rows break it and up to five example
//! rows: missing values in key columns, repeated keys, values off their range, timestamps out of
//! order, and rows per calendar period with the empty periods and sudden drops in volume flagged.
//! A rule whose column is missing or has the wrong type becomes a finding of its own instead of an
//! error, so one bad column does not hide what is wrong with the others.
//!
//! One file on purpose: every rule writes findings of the same shape through the same helpers;
//! about a third of the length is the unit tests.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, Int64Builder,
    ListBuilder, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use crate::core::engine::parallel::map_ranges;
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{is_temporal, local_micros, DayOrdinals, Freq, Zone};
use crate::core::input::{f64_chunks, is_numeric, value_f64, Column, Table};

/// One row-level rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// The column has no missing values (null, or NaN in a float column).
    NotNull { column: String },
    /// No two rows share the same values in `columns` (rows with a missing key are left to
    /// `NotNull`).
    Unique { columns: Vec<String> },
    /// Present values lie in `[min, max]` (either bound optional) and, if `integer`, are whole.
    Range {
        column: String,
        min: Option<f64>,
        max: Option<f64>,
        integer: bool,
    },
    /// The timestamps of `columns` never go back in time along a row: every present value is at
    /// or after every present value of an earlier column (missing values are skipped).
    Ordered { columns: Vec<String> },
    /// Rows where `when` holds must satisfy `then` (e.g. a won deal must have closed).
    Implies {
        when: (String, Cond),
        then: (String, Cond),
    },
}

/// A per-row condition on one column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cond {
    /// Not null (nor NaN).
    Present,
    /// True (a boolean, or a non-zero number).
    True,
}

impl Cond {
    pub fn parse(s: &str) -> KpiResult<Cond> {
        match s {
            "present" => Ok(Cond::Present),
            "true" => Ok(Cond::True),
            _ => Err(KpiError::param(
                "implies",
                format!("unknown condition {s:?}; use \"present\" or \"true\""),
            )),
        }
    }

    fn word(&self) -> &'static str {
        match self {
            Cond::Present => "present",
            Cond::True => "true",
        }
    }
}

impl Rule {
    /// The check's name, as it appears in the findings table.
    pub fn check(&self) -> &'static str {
        match self {
            Rule::NotNull { .. } => "nulls",
            Rule::Unique { .. } => "duplicates",
            Rule::Range { .. } => "out_of_range",
            Rule::Ordered { .. } => "order",
            Rule::Implies { .. } => "consistency",
        }
    }

    fn columns(&self) -> Vec<String> {
        match self {
            Rule::NotNull { column } | Rule::Range { column, .. } => vec![column.clone()],
            Rule::Unique { columns } | Rule::Ordered { columns } => columns.clone(),
            Rule::Implies { when, then } => vec![when.0.clone(), then.0.clone()],
        }
    }

    /// The rule in words, for messages.
    pub fn describe(&self) -> String {
        match self {
            Rule::NotNull { .. } => "must not be missing".into(),
            Rule::Unique { .. } => "must be unique".into(),
            Rule::Range {
                min, max, integer, ..
            } => {
                let kind = if *integer {
                    "a whole number"
                } else {
                    "a number"
                };
                match (min, max) {
                    (Some(lo), Some(hi)) => format!("must be {kind} from {lo} to {hi}"),
                    (Some(lo), None) => format!("must be {kind} ≥ {lo}"),
                    (None, Some(hi)) => format!("must be {kind} ≤ {hi}"),
                    (None, None) => format!("must be {kind}"),
                }
            }
            Rule::Ordered { columns } => {
                format!("must be in time order ({})", columns.join(" → "))
            }
            Rule::Implies { when, then } => format!(
                "a row with {} {} needs {} {}",
                when.0,
                when.1.word(),
                then.0,
                then.1.word()
            ),
        }
    }
}

/// Most periods `trailing`, `min_trailing` and `season` may span.
pub const MAX_TRAILING: usize = 1_000;

/// Rows per period of one time column, and the rule that flags a sudden drop in volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    pub column: String,
    pub freq: Freq,
    /// Periods ending after this day (days since 1970-01-01, exclusive end) are still running and
    /// are not judged for drops.
    pub judged_until: Option<i64>,
    /// A period drops when its rows < `drop_ratio` × the median rows of the `trailing` periods
    /// before it.
    pub drop_ratio: f64,
    pub trailing: usize,
    /// Fewer earlier periods than this in the span: not judged (no history to compare with).
    pub min_trailing: usize,
    /// Compare a period with the periods `season`, 2 × `season`, … before it (7 for days: a
    /// Saturday with the Saturdays before it, since weekends are quiet in business data).
    pub season: usize,
    /// Drops are judged only when the trailing median is at least this many rows: with fewer,
    /// halving is ordinary noise (a Poisson count of 20 falls below 10 with probability 0.5 %).
    pub drop_min_median: f64,
    /// An empty period is a gap only when the trailing median is at least this many rows (an
    /// empty Sunday in a source with one row per Sunday is normal; Poisson(5) is 0 with
    /// probability 0.7 %).
    pub gap_min_median: f64,
}

/// What is asked of one table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checks {
    pub rules: Vec<Rule>,
    /// Time columns whose first and last values give the table's time span.
    pub time: Vec<String>,
    pub volume: Option<Volume>,
}

/// One broken rule: the check, the column(s), the rule in words and the rows that break it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub check: String,
    pub column: String,
    pub rule: String,
    pub rows: BadRows,
}

/// First and last wall-clock time (µs) of a time column and how many rows have one.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub column: String,
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub present: usize,
}

/// Rows of one period of the volume column, from the first period with rows to the last.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodRows {
    pub ordinal: i64,
    pub rows: usize,
    pub first_row: Option<usize>,
    /// Median rows of up to `trailing` earlier periods of the same season (None without any).
    pub trailing_median: Option<f64>,
    pub gap: bool,
    pub drop: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub rows: usize,
    pub findings: Vec<Finding>,
    pub spans: Vec<Span>,
    pub periods: Vec<PeriodRows>,
}

/// Run every check on `table`.
pub fn check(table: &Table, checks: &Checks) -> KpiResult<Report> {
    if let Some(v) = &checks.volume {
        // `trailing` × `season` periods back from any period: bounded, so never an overflow.
        let max = MAX_TRAILING as i128;
        KpiError::int_param::<usize>("trailing", v.trailing as i128, 1, max)?;
        KpiError::int_param::<usize>("min_trailing", v.min_trailing as i128, 0, max)?;
        KpiError::int_param::<usize>("season", v.season as i128, 1, max)?;
    }
    let n = table.num_rows();
    let mut report = Report {
        rows: n,
        ..Report::default()
    };
    for rule in &checks.rules {
        let cols = match usable(table, &rule.columns(), rule, &mut report.findings)? {
            Some(c) => c,
            None => continue,
        };
        let rows = match rule {
            Rule::NotNull { .. } => missing_rows(&cols[0])?,
            Rule::Unique { .. } => duplicate_rows(&cols)?,
            Rule::Range {
                min, max, integer, ..
            } => out_of_range_rows(&cols[0], *min, *max, *integer)?,
            Rule::Ordered { .. } => disordered_rows(&cols)?,
            Rule::Implies { when, then } => inconsistent_rows(&cols[0], when.1, &cols[1], then.1)?,
        };
        if !rows.is_empty() {
            report.findings.push(Finding {
                check: rule.check().into(),
                column: rule.columns().join(", "),
                rule: rule.describe(),
                rows,
            });
        }
    }
    for name in &checks.time {
        let probe = Rule::Ordered {
            columns: vec![name.clone()],
        };
        if let Some(cols) = usable(table, &probe.columns(), &probe, &mut report.findings)? {
            report.spans.push(span(&cols[0])?);
        }
    }
    if let Some(v) = &checks.volume {
        let probe = Rule::Ordered {
            columns: vec![v.column.clone()],
        };
        if let Some(cols) = usable(table, &probe.columns(), &probe, &mut report.findings)? {
            report.periods = period_rows(&cols[0], v)?;
        }
    }
    Ok(report)
}

/// The rule's columns, or None after recording why they cannot be checked (missing column,
/// wrong type). A column reported once is not reported again by later rules.
fn usable(
    table: &Table,
    names: &[String],
    rule: &Rule,
    findings: &mut Vec<Finding>,
) -> KpiResult<Option<Vec<Column>>> {
    let mut cols = Vec::with_capacity(names.len());
    for (k, name) in names.iter().enumerate() {
        let problem = match table.column(name) {
            Err(KpiError::MissingColumn { available, .. }) => Some((
                "missing_column",
                format!("not in the table, which has {available:?}"),
            )),
            Err(e) => return Err(e),
            Ok(col) => {
                let dt = col.data_type();
                let dt = match &dt {
                    DataType::Dictionary(_, v) => v.as_ref().clone(),
                    other => other.clone(),
                };
                let wrong = match rule {
                    Rule::Range { .. } => (!is_numeric(&dt)).then_some("numeric"),
                    Rule::Ordered { .. } => (!is_temporal(&dt)).then_some("a timestamp or date"),
                    Rule::Implies { when, then } => {
                        let cond = if k == 0 { when.1 } else { then.1 };
                        (cond == Cond::True && !(is_numeric(&dt) || dt == DataType::Boolean))
                            .then_some("boolean (or 0/1)")
                    }
                    _ => None,
                };
                match wrong {
                    Some(expected) => Some(("wrong_type", format!("must be {expected}, got {dt}"))),
                    None => {
                        cols.push(col);
                        None
                    }
                }
            }
        };
        if let Some((check, why)) = problem {
            if !findings
                .iter()
                .any(|f| f.column == *name && f.check == check)
            {
                findings.push(Finding {
                    check: check.into(),
                    column: name.clone(),
                    rule: why,
                    rows: BadRows {
                        count: table.num_rows(),
                        examples: vec![],
                    },
                });
            }
            return Ok(None);
        }
    }
    Ok(Some(cols))
}

/// Split `cols` (same length, same chunking) into row ranges, run `f` on each slice with its
/// first global row, and merge the bad rows in row order.
fn scan<F>(cols: &[Column], f: F) -> KpiResult<BadRows>
where
    F: Fn(&[Column], usize) -> KpiResult<BadRows> + Sync + Send,
{
    let n = cols.first().map_or(0, Column::len);
    let parts = map_ranges(n, |r| {
        let sliced: Vec<Column> = cols.iter().map(|c| c.slice(r.start, r.len())).collect();
        f(&sliced, r.start)
    })?;
    let mut all = BadRows::default();
    for p in parts {
        all.merge(p);
    }
    Ok(all)
}

/// Rows with a null (or, in a float column, NaN).
fn missing_rows(col: &Column) -> KpiResult<BadRows> {
    let float = matches!(
        col.data_type(),
        DataType::Float16 | DataType::Float32 | DataType::Float64
    );
    scan(std::slice::from_ref(col), |cols, start| {
        let mut bad = BadRows::default();
        let mut at = start;
        if float {
            for c in f64_chunks(&cols[0])? {
                for i in 0..c.len() {
                    if value_f64(&c, i).is_none() {
                        bad.push(at + i, || "null".into());
                    }
                }
                at += c.len();
            }
        } else {
            for c in &cols[0].chunks {
                if c.null_count() > 0 || matches!(c.data_type(), DataType::Null) {
                    for i in 0..c.len() {
                        if c.is_null(i) || matches!(c.data_type(), DataType::Null) {
                            bad.push(at + i, || "null".into());
                        }
                    }
                }
                at += c.len();
            }
        }
        Ok(bad)
    })
}

/// Rows whose key (all columns present) was already seen in an earlier row.
fn duplicate_rows(cols: &[Column]) -> KpiResult<BadRows> {
    let groups = crate::core::engine::groups::group_ids(cols)?;
    let n = groups.ids.len();
    let mut complete = vec![true; n];
    for col in cols {
        let mut at = 0;
        for c in &col.chunks {
            if c.null_count() > 0 || matches!(c.data_type(), DataType::Null) {
                for i in 0..c.len() {
                    if c.is_null(i) || matches!(c.data_type(), DataType::Null) {
                        complete[at + i] = false;
                    }
                }
            }
            at += c.len();
        }
    }
    let mut bad = BadRows::default();
    for (row, &id) in groups.ids.iter().enumerate() {
        let first = groups.first_row[id as usize];
        if complete[row] && first != row {
            bad.push(row, || format!("same key as row {first}"));
        }
    }
    Ok(bad)
}

/// Present values outside `[min, max]`, or not whole when `integer`.
fn out_of_range_rows(
    col: &Column,
    min: Option<f64>,
    max: Option<f64>,
    integer: bool,
) -> KpiResult<BadRows> {
    let (lo, hi) = (
        min.unwrap_or(f64::NEG_INFINITY),
        max.unwrap_or(f64::INFINITY),
    );
    scan(std::slice::from_ref(col), |cols, start| {
        let mut bad = BadRows::default();
        let mut at = start;
        for c in f64_chunks(&cols[0])? {
            for i in 0..c.len() {
                if let Some(v) = value_f64(&c, i) {
                    if v < lo || v > hi || (integer && v.fract() != 0.0) || v.is_infinite() {
                        bad.push(at + i, || format!("{v}"));
                    }
                }
            }
            at += c.len();
        }
        Ok(bad)
    })
}

/// Rows where a present timestamp is earlier than a present timestamp of an earlier column.
fn disordered_rows(cols: &[Column]) -> KpiResult<BadRows> {
    scan(cols, |cols, start| {
        let micros: Vec<Vec<Int64Array>> = cols
            .iter()
            .map(|c| local_micros(c, Zone::Utc))
            .collect::<KpiResult<_>>()?;
        let mut bad = BadRows::default();
        let mut at = start;
        for k in 0..micros[0].len() {
            let len = micros[0][k].len();
            for i in 0..len {
                let mut latest: Option<(usize, i64)> = None;
                for (j, chunks) in micros.iter().enumerate() {
                    let a = &chunks[k];
                    if a.is_null(i) {
                        continue;
                    }
                    let v = a.value(i);
                    match latest {
                        Some((p, before)) if v < before => {
                            let (earlier, later) = (&cols[p].name, &cols[j].name);
                            bad.push(at + i, || format!("{later} before {earlier}"));
                            break;
                        }
                        _ => latest = Some((j, v)),
                    }
                }
            }
            at += len;
        }
        Ok(bad)
    })
}

/// Whether `cond` holds, row by row.
fn holds(col: &Column, cond: Cond) -> KpiResult<Vec<bool>> {
    let mut out = Vec::with_capacity(col.len());
    let float = matches!(
        col.data_type(),
        DataType::Float16 | DataType::Float32 | DataType::Float64
    );
    for c in &col.chunks {
        match (cond, c.data_type()) {
            (_, DataType::Null) => out.extend(std::iter::repeat_n(false, c.len())),
            (Cond::Present, _) if float => {
                let f = arrow::compute::cast(c, &DataType::Float64)?;
                let f = f.as_any().downcast_ref::<Float64Array>().expect("cast");
                out.extend((0..f.len()).map(|i| value_f64(f, i).is_some()));
            }
            (Cond::Present, _) => out.extend((0..c.len()).map(|i| c.is_valid(i))),
            (Cond::True, _) => {
                let b = arrow::compute::cast(c, &DataType::Boolean)?;
                let b = b.as_any().downcast_ref::<BooleanArray>().expect("cast");
                out.extend(b.iter().map(|v| v == Some(true)));
            }
        }
    }
    Ok(out)
}

/// Rows where `when` holds on the first column and `then` fails on the second.
fn inconsistent_rows(when: &Column, if_: Cond, then: &Column, need: Cond) -> KpiResult<BadRows> {
    let (a, b) = (holds(when, if_)?, holds(then, need)?);
    let mut bad = BadRows::default();
    for (row, (x, y)) in a.iter().zip(&b).enumerate() {
        if *x && !*y {
            bad.push(row, || {
                format!(
                    "{} {} but {} not {}",
                    when.name,
                    if_.word(),
                    then.name,
                    need.word()
                )
            });
        }
    }
    Ok(bad)
}

/// First and last time of a column (µs, wall clock; zone-aware columns in UTC).
fn span(col: &Column) -> KpiResult<Span> {
    let mut out = Span {
        column: col.name.clone(),
        first: None,
        last: None,
        present: 0,
    };
    for a in local_micros(col, Zone::Utc)? {
        out.present += a.len() - a.null_count();
        if let Some(lo) = arrow::compute::min(&a) {
            out.first = Some(out.first.map_or(lo, |f| f.min(lo)));
        }
        if let Some(hi) = arrow::compute::max(&a) {
            out.last = Some(out.last.map_or(hi, |l| l.max(hi)));
        }
    }
    Ok(out)
}

/// Rows per period from the first period with rows to the last, empty periods included, with
/// gaps and drops flagged.
///
/// The trailing median of period `p` is the median rows of periods `p − s`, `p − 2s`, …,
/// `p − trailing·s` that lie in the span (`s` = `season`; empty periods count as 0).
/// Gap: `rows = 0` and trailing median ≥ `gap_min_median`.
/// Drop: `rows > 0`, the period has ended (its end ≤ `judged_until`), at least `min_trailing`
/// earlier periods, trailing median ≥ `drop_min_median` and `rows < drop_ratio × median`.
pub fn period_rows(col: &Column, v: &Volume) -> KpiResult<Vec<PeriodRows>> {
    let freq = v.freq;
    let parts = map_ranges(col.len(), |r| {
        let sliced = col.slice(r.start, r.len());
        let mut cache = DayOrdinals::new(freq);
        let mut counts: HashMap<i64, (usize, usize)> = HashMap::new();
        let mut at = r.start;
        for a in local_micros(&sliced, Zone::Utc)? {
            for i in 0..a.len() {
                if !a.is_null(i) {
                    let o = cache.of_micros(a.value(i));
                    counts.entry(o).or_insert((0, at + i)).0 += 1;
                }
            }
            at += a.len();
        }
        Ok(counts)
    })?;
    let mut counts: HashMap<i64, (usize, usize)> = HashMap::new();
    for part in parts {
        for (o, (rows, first)) in part {
            let e = counts.entry(o).or_insert((0, first));
            e.0 += rows;
            e.1 = e.1.min(first);
        }
    }
    let (Some(&lo), Some(&hi)) = (counts.keys().min(), counts.keys().max()) else {
        return Ok(vec![]);
    };
    let mut out: Vec<PeriodRows> = Vec::with_capacity((hi - lo + 1) as usize);
    for o in lo..=hi {
        let (rows, first_row) = match counts.get(&o) {
            Some(&(r, f)) => (r, Some(f)),
            None => (0, None),
        };
        let season = v.season.max(1) as i64;
        let earlier: Vec<f64> = (1..=v.trailing as i64)
            .map(|k| o - k * season)
            .take_while(|&e| e >= lo)
            .map(|e| out[(e - lo) as usize].rows as f64)
            .collect();
        let judged = earlier.len();
        let trailing_median = (judged > 0).then(|| median(earlier));
        let ended = v
            .judged_until
            .is_none_or(|end| freq.start_day(o + 1) <= end);
        let drop = rows > 0
            && ended
            && judged >= v.min_trailing.max(1)
            && trailing_median
                .is_some_and(|m| m >= v.drop_min_median && (rows as f64) < v.drop_ratio * m);
        let gap = rows == 0 && trailing_median.is_some_and(|m| m >= v.gap_min_median);
        out.push(PeriodRows {
            ordinal: o,
            rows,
            first_row,
            trailing_median,
            gap,
            drop,
        });
    }
    Ok(out)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let m = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[m]
    } else {
        (xs[m - 1] + xs[m]) / 2.0
    }
}

/// The report as three tables: findings (check, column, rule, count, examples, values), spans (column,
/// first, last, present) and periods (period, rows, first_row, trailing_median, gap, drop).
pub fn report_batches(
    report: &Report,
    freq: Freq,
) -> KpiResult<(RecordBatch, RecordBatch, RecordBatch)> {
    let f = &report.findings;
    let mut examples = ListBuilder::new(Int64Builder::new());
    let mut values = ListBuilder::new(StringBuilder::new());
    for x in f {
        for e in &x.rows.examples {
            examples.values().append_value(e.row as i64);
            values.values().append_value(&e.value);
        }
        examples.append(true);
        values.append(true);
    }
    let strings = |g: &dyn Fn(&Finding) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(f.iter().map(g)))
    };
    let findings = RecordBatch::try_from_iter(vec![
        ("check", strings(&|x| x.check.as_str())),
        ("column", strings(&|x| x.column.as_str())),
        ("rule", strings(&|x| x.rule.as_str())),
        (
            "count",
            Arc::new(Int64Array::from_iter_values(
                f.iter().map(|x| x.rows.count as i64),
            )) as ArrayRef,
        ),
        ("examples", Arc::new(examples.finish()) as ArrayRef),
        ("values", Arc::new(values.finish()) as ArrayRef),
    ])?;
    let s = &report.spans;
    let ts = |g: &dyn Fn(&Span) -> Option<i64>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(
            s.iter().map(g).collect::<Vec<_>>(),
        ))
    };
    let spans = RecordBatch::try_from_iter(vec![
        (
            "column",
            Arc::new(StringArray::from_iter_values(
                s.iter().map(|x| x.column.as_str()),
            )) as ArrayRef,
        ),
        ("first", ts(&|x| x.first)),
        ("last", ts(&|x| x.last)),
        (
            "present",
            Arc::new(Int64Array::from_iter_values(
                s.iter().map(|x| x.present as i64),
            )) as ArrayRef,
        ),
    ])?;
    let p = &report.periods;
    let periods = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("period", DataType::Date32, false),
            Field::new("rows", DataType::Int64, false),
            Field::new("first_row", DataType::Int64, true),
            Field::new("trailing_median", DataType::Float64, true),
            Field::new("gap", DataType::Boolean, false),
            Field::new("drop", DataType::Boolean, false),
        ])),
        vec![
            Arc::new(Date32Array::from_iter_values(
                p.iter().map(|x| freq.start_day(x.ordinal) as i32),
            )),
            Arc::new(Int64Array::from_iter_values(
                p.iter().map(|x| x.rows as i64),
            )),
            Arc::new(Int64Array::from(
                p.iter()
                    .map(|x| x.first_row.map(|r| r as i64))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                p.iter().map(|x| x.trailing_median).collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(
                p.iter().map(|x| x.gap).collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(
                p.iter().map(|x| x.drop).collect::<Vec<_>>(),
            )),
        ],
    )?;
    debug_assert!(matches!(
        spans.schema().field(1).data_type(),
        DataType::Timestamp(TimeUnit::Microsecond, None)
    ));
    Ok((findings, spans, periods))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::input::f64_column;
    use crate::core::input::time::{days_from_civil, US_PER_DAY};
    use arrow::array::StringArray;

    fn table(cols: Vec<(&str, ArrayRef)>) -> Table {
        let batch = RecordBatch::try_from_iter(cols).unwrap();
        Table::from_batches(vec![batch.clone()], &batch.schema())
    }

    fn ts(days: &[Option<i64>]) -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(
            days.iter()
                .map(|d| d.map(|d| d * US_PER_DAY))
                .collect::<Vec<_>>(),
        ))
    }

    fn rows(b: &BadRows) -> Vec<usize> {
        b.examples.iter().map(|e| e.row).collect()
    }

    #[test]
    fn nulls_count_null_and_nan() {
        let t = table(vec![
            (
                "x",
                f64_column("x", vec![Some(1.0), None, Some(f64::NAN), Some(2.0)]).chunks[0].clone(),
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a"), None, None, Some("b")])) as ArrayRef,
            ),
        ]);
        let checks = Checks {
            rules: vec![
                Rule::NotNull { column: "x".into() },
                Rule::NotNull { column: "s".into() },
            ],
            ..Checks::default()
        };
        let r = check(&t, &checks).unwrap();
        assert_eq!(r.findings.len(), 2);
        assert_eq!(
            (r.findings[0].rows.count, rows(&r.findings[0].rows)),
            (2, vec![1, 2])
        );
        assert_eq!(
            (r.findings[1].rows.count, rows(&r.findings[1].rows)),
            (2, vec![1, 2])
        );
    }

    #[test]
    fn duplicates_are_the_repeats_and_skip_missing_keys() {
        // keys: (a,1) (b,1) (a,1) (a,2) (a,1) (null,1) (null,1)
        // repeats of an earlier complete key: rows 2 and 4 (both repeat row 0).
        let t = table(vec![
            (
                "c",
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    Some("b"),
                    Some("a"),
                    Some("a"),
                    Some("a"),
                    None,
                    None,
                ])) as ArrayRef,
            ),
            (
                "p",
                Arc::new(Int64Array::from(vec![1, 1, 1, 2, 1, 1, 1])) as ArrayRef,
            ),
        ]);
        let checks = Checks {
            rules: vec![Rule::Unique {
                columns: vec!["c".into(), "p".into()],
            }],
            ..Checks::default()
        };
        let r = check(&t, &checks).unwrap();
        let f = &r.findings[0];
        assert_eq!(
            (f.check.as_str(), f.column.as_str()),
            ("duplicates", "c, p")
        );
        assert_eq!((f.rows.count, rows(&f.rows)), (2, vec![2, 4]));
        assert_eq!(f.rows.examples[0].value, "same key as row 0");
    }

    #[test]
    fn ranges_check_bounds_and_whole_numbers() {
        // NPS scale 0..=10 whole: -1 (row 1), 11 (row 3) and 7.5 (row 4) break it; null is skipped.
        let t = table(vec![(
            "score",
            f64_column(
                "score",
                vec![
                    Some(0.0),
                    Some(-1.0),
                    None,
                    Some(11.0),
                    Some(7.5),
                    Some(10.0),
                ],
            )
            .chunks[0]
                .clone(),
        )]);
        let checks = Checks {
            rules: vec![Rule::Range {
                column: "score".into(),
                min: Some(0.0),
                max: Some(10.0),
                integer: true,
            }],
            ..Checks::default()
        };
        let f = &check(&t, &checks).unwrap().findings[0];
        assert_eq!((f.rows.count, rows(&f.rows)), (3, vec![1, 3, 4]));
        assert_eq!(f.rule, "must be a whole number from 0 to 10");
    }

    #[test]
    fn order_skips_missing_stages_and_compares_with_the_latest_seen() {
        // stages a → b → c (days): row 0 in order; row 1 c before a with b missing;
        // row 2 b before a; row 3 only one value; row 4 equal times are in order.
        let t = table(vec![
            ("a", ts(&[Some(1), Some(5), Some(5), None, Some(3)])),
            ("b", ts(&[Some(2), None, Some(4), None, Some(3)])),
            ("c", ts(&[Some(3), Some(4), Some(9), Some(1), Some(3)])),
        ]);
        let checks = Checks {
            rules: vec![Rule::Ordered {
                columns: vec!["a".into(), "b".into(), "c".into()],
            }],
            ..Checks::default()
        };
        let f = &check(&t, &checks).unwrap().findings[0];
        assert_eq!((f.rows.count, rows(&f.rows)), (2, vec![1, 2]));
        assert_eq!(f.rows.examples[0].value, "c before a");
        assert_eq!(f.rows.examples[1].value, "b before a");
    }

    #[test]
    fn implications_between_columns() {
        // won true needs closed present: row 1 (won, open) breaks it; row 2 (open, not won)
        // and row 3 (won null) do not.
        let t = table(vec![
            (
                "won",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(true),
                    Some(false),
                    None,
                ])) as ArrayRef,
            ),
            ("closed", ts(&[Some(1), None, None, Some(2)])),
        ]);
        let rule = Rule::Implies {
            when: ("won".into(), Cond::True),
            then: ("closed".into(), Cond::Present),
        };
        let checks = Checks {
            rules: vec![rule.clone()],
            ..Checks::default()
        };
        let f = &check(&t, &checks).unwrap().findings[0];
        assert_eq!(
            (f.check.as_str(), f.rows.count, rows(&f.rows)),
            ("consistency", 1, vec![1])
        );
        assert_eq!(f.rule, "a row with won true needs closed present");
        assert_eq!(f.rows.examples[0].value, "won true but closed not present");
    }

    #[test]
    fn missing_and_wrong_type_columns_become_findings() {
        let t = table(vec![(
            "s",
            Arc::new(StringArray::from(vec!["1", "2"])) as ArrayRef,
        )]);
        let checks = Checks {
            rules: vec![
                Rule::NotNull {
                    column: "gone".into(),
                },
                Rule::Range {
                    column: "s".into(),
                    min: Some(0.0),
                    max: None,
                    integer: false,
                },
            ],
            time: vec!["gone".into()],
            volume: None,
        };
        let r = check(&t, &checks).unwrap();
        let got: Vec<(&str, &str)> = r
            .findings
            .iter()
            .map(|f| (f.check.as_str(), f.column.as_str()))
            .collect();
        // "gone" is reported once although two checks need it.
        assert_eq!(got, vec![("missing_column", "gone"), ("wrong_type", "s")]);
    }

    #[test]
    fn span_and_daily_volume_with_gap_and_drop() {
        // Days 0..=9 from 2024-01-01: 10 rows a day on days 0-5, none on day 6, 4 rows on day 7,
        // 10 on day 8, 1 on day 9 (still running: judged_until = day 9, so not judged).
        let d0 = days_from_civil(2024, 1, 1);
        let mut days = vec![];
        for (d, k) in [
            (0, 10),
            (1, 10),
            (2, 10),
            (3, 10),
            (4, 10),
            (5, 10),
            (7, 4),
            (8, 10),
            (9, 1),
        ] {
            days.extend(std::iter::repeat_n(Some(d0 + d), k));
        }
        days.push(None);
        let t = table(vec![("time", ts(&days))]);
        let checks = Checks {
            rules: vec![],
            time: vec!["time".into()],
            volume: Some(Volume {
                column: "time".into(),
                freq: Freq::Day,
                judged_until: Some(d0 + 9),
                drop_ratio: 0.5,
                trailing: 6,
                min_trailing: 3,
                season: 1,
                drop_min_median: 5.0,
                gap_min_median: 5.0,
            }),
        };
        let r = check(&t, &checks).unwrap();
        assert_eq!(r.rows, 76);
        assert_eq!(
            r.spans[0],
            Span {
                column: "time".into(),
                first: Some(d0 * US_PER_DAY),
                last: Some((d0 + 9) * US_PER_DAY),
                present: 75
            }
        );
        let p = &r.periods;
        assert_eq!(p.len(), 10);
        assert!(p[6].gap && !p[6].drop && p[6].first_row.is_none());
        // Day 7: trailing days 1..6 = [10,10,10,10,10,0] → median 10; 4 < 0.5 × 10 → drop.
        assert_eq!(p[7].trailing_median, Some(10.0));
        assert!(p[7].drop);
        assert_eq!(p[7].first_row, Some(60));
        // Day 8: trailing [10,10,10,10,0,4] → median 10; 10 ≥ 5.
        assert!(!p[8].drop);
        // Day 9 has 1 row but is not judged; days 0-2 have fewer than 3 earlier periods.
        assert!(!p[9].drop);
        assert_eq!(p[0].trailing_median, None);
        assert!(!p[2].drop && p[2].trailing_median == Some(10.0));
    }

    #[test]
    fn weekly_season_and_small_counts() {
        // Four weeks of days from Monday 2024-01-01: weekdays 40 rows, weekends 4, except the
        // Saturday of week 4 (day 26) with 0 rows and the Tuesday of week 4 (day 22) with 10.
        // Same-weekday medians: Saturdays 4 (< gap_min_median 5: no gap), Tuesdays 40
        // (10 < 0.5 × 40: drop). Without the season the weekend days would be drops.
        let d0 = days_from_civil(2024, 1, 1);
        let mut days = vec![];
        for d in 0..28 {
            let k = match d {
                26 => 0,
                22 => 10,
                _ if d % 7 >= 5 => 4,
                _ => 40,
            };
            days.extend(std::iter::repeat_n(Some(d0 + d), k));
        }
        let t = table(vec![("time", ts(&days))]);
        let volume = |season| Volume {
            column: "time".into(),
            freq: Freq::Day,
            judged_until: None,
            drop_ratio: 0.5,
            trailing: 6,
            min_trailing: 3,
            season,
            drop_min_median: 20.0,
            gap_min_median: 5.0,
        };
        let p = period_rows(&t.column("time").unwrap(), &volume(7)).unwrap();
        let flagged: Vec<(usize, bool, bool)> = p
            .iter()
            .enumerate()
            .filter(|(_, x)| x.gap || x.drop)
            .map(|(i, x)| (i, x.gap, x.drop))
            .collect();
        assert_eq!(flagged, vec![(22, false, true)]);
        assert_eq!(p[26].trailing_median, Some(4.0));
        assert_eq!(p[22].trailing_median, Some(40.0));
        // Day-over-day: Saturday 2024-01-13 (day 12; days 6-11 = [4,40,40,40,40,40], median 40)
        // drops and the empty Saturday (day 26; median 40) is a gap.
        let p = period_rows(&t.column("time").unwrap(), &volume(1)).unwrap();
        assert!(p[12].drop);
        assert!(p[26].gap);
    }

    #[test]
    fn scans_agree_across_many_ranges() {
        // Large enough for several parallel ranges: every 1000th value is negative.
        let n = 600_000;
        let values: Vec<Option<f64>> = (0..n)
            .map(|i| Some(if i % 1000 == 7 { -1.0 } else { 1.0 }))
            .collect();
        let t = table(vec![("x", f64_column("x", values).chunks[0].clone())]);
        let checks = Checks {
            rules: vec![Rule::Range {
                column: "x".into(),
                min: Some(0.0),
                max: None,
                integer: false,
            }],
            ..Checks::default()
        };
        let f = &check(&t, &checks).unwrap().findings[0];
        assert_eq!(f.rows.count, 600);
        assert_eq!(rows(&f.rows), vec![7, 1007, 2007, 3007, 4007]);
    }

    #[test]
    fn batches_have_the_documented_columns() {
        let r = Report {
            rows: 3,
            findings: vec![Finding {
                check: "nulls".into(),
                column: "x".into(),
                rule: "must not be missing".into(),
                rows: BadRows::default(),
            }],
            spans: vec![],
            periods: vec![PeriodRows {
                ordinal: 1,
                rows: 2,
                first_row: Some(0),
                trailing_median: None,
                gap: false,
                drop: false,
            }],
        };
        let (f, s, p) = report_batches(&r, Freq::Month).unwrap();
        assert_eq!(f.num_rows(), 1);
        assert_eq!(f.schema().field(5).name(), "values");
        assert_eq!(s.num_rows(), 0);
        let dates = p.column(0).as_any().downcast_ref::<Date32Array>().unwrap();
        assert_eq!(dates.value(0) as i64, days_from_civil(1970, 2, 1));
    }
}
