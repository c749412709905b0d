//! The finish of a retention state (docs/conventions.md#retention): the cohort triangle
//! ([`triangle`]) or the mean retention curve ([`retention_curve`]), both from the shown cells
//! ([`cells_of`]): only cells whose period has begun by the end of the data.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};

use crate::core::engine::state::meta;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::{civil_from_days, US_PER_DAY};

use super::analysis::{info, Info};
use super::spec::{Base, Mode, Period, Reference, RetentionSpec, Windows, US_PER_HOUR};

/// One shown cell of the triangle.
struct Cell {
    /// The cohort's period ordinal.
    cohort: i64,
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
    let c = spec.period.ordinals_of(state.column(0))?;
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
    for (j, &o) in c.iter().enumerate().take(state.num_rows()) {
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
                let us = freq.start_micros(o);
                let (y, m, d) = civil_from_days(us.div_euclid(US_PER_DAY));
                let h = us.rem_euclid(US_PER_DAY) / US_PER_HOUR;
                if freq == Period::Hour {
                    format!("{y:04}-{m:02}-{d:02} {h:02}:00")
                } else {
                    format!("{y:04}-{m:02}-{d:02}")
                }
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
        let start_us = freq.start_micros(o);
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
                cohort: o,
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
pub(super) fn triangle(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let (cells, inf, spec) = cells_of(state)?;
    let cohort = spec.period.labels(cells.iter().map(|c| c.cohort))?;
    let mut fields = vec![
        Field::new("cohort", cohort.data_type().clone(), false),
        Field::new("period_number", DataType::Int64, false),
        Field::new("cohort_size", DataType::Int64, false),
        Field::new("retained", DataType::Int64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        cohort,
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
    m.insert(meta::SKIPPED_ROWS.to_string(), inf.skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, m)),
        columns,
    )?)
}

/// The mean retention curve: per period number, over the cohorts whose cell is shown and whose
/// denominator is not 0 (empty cohorts are left out), `cohorts`, the summed numerator and
/// denominator, `weighted_rate = Σ numerator / Σ denominator` (weighted by cohort size) and
/// `simple_rate` = the plain mean of the cohorts' rates.
pub(super) fn retention_curve(state: &RecordBatch) -> KpiResult<RecordBatch> {
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
    m.insert(meta::SKIPPED_ROWS.to_string(), inf.skipped.to_string());
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
