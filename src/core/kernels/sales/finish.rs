//! The finish step the sales analyses share: a state laid out on the gap-free (segment ×
//! period) grid, read by name, and the summaries of its value lists (exact sums, means,
//! medians and 90th percentiles by selection; docs/conventions.md#sales-marketing-and-support).

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{Date32Type, Field, Float64Type, Int64Type, Schema};

use crate::core::engine::groups::grid;
use crate::core::engine::state::{categories_of, meta, Meta};
use crate::core::engine::stats::quantiles;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::{Freq, Unit};

use super::acc::Layout;
use super::merge::list_values;
use super::partial::{key, GIVEN};

/// A state laid out on the gap-free (segment × period) grid.
pub(crate) struct Laid<'a> {
    state: &'a RecordBatch,
    name: &'static str,
    n_keys: usize,
    layout: &'a Layout,
    fields: Vec<Field>,
    keys: Vec<ArrayRef>,
    source: Vec<Option<usize>>,
    /// True on the first grid row of every segment (running balances restart there).
    new_segment: Vec<bool>,
    skipped: u64,
}

/// Lay out a state of analysis `name` whose value columns follow `layout`.
pub(crate) fn lay_out<'a>(
    state: &'a RecordBatch,
    name: &'static str,
    layout: &'a Layout,
) -> KpiResult<Laid<'a>> {
    let schema = state.schema();
    let m = Meta::of(&schema, name)?;
    let freq = match m.get(meta::FREQ)? {
        "" => None,
        f => Some(Freq::from_label(f)?),
    };
    let n_segments: usize = m.parse(meta::SEGMENTS)?;
    let skipped = m.skipped_rows()?;
    let has_period = freq.is_some();
    let n_keys = usize::from(has_period) + n_segments;
    let n_values = layout.counts.len() + layout.sums.len() + layout.lists.len();
    if state.num_columns() != n_keys + n_values {
        return Err(KpiError::param(
            "state",
            format!("not a {name} state ({} columns)", state.num_columns()),
        ));
    }
    let g = grid(
        state,
        has_period,
        n_segments,
        freq,
        categories_of(state)?.as_ref(),
    )?;
    let fields = (0..n_keys)
        .map(|j| Field::new(schema.field(j).name(), g.keys[j].data_type().clone(), true))
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
        name,
        n_keys,
        layout,
        fields,
        keys: g.keys,
        source: g.source,
        new_segment,
        skipped,
    })
}

impl Laid<'_> {
    /// The analysis' own setting `setting` (written at partial time).
    pub(crate) fn setting(&self, setting: &str) -> KpiResult<String> {
        let schema = self.state.schema();
        let m = Meta::of(&schema, self.name)?;
        Ok(m.get(&key(self.name, setting))?.to_string())
    }

    fn column(&self, j: usize) -> KpiResult<&ArrayRef> {
        Ok(self.state.column(self.n_keys + j))
    }

    fn wrong(&self, name: &str) -> KpiError {
        KpiError::param(
            "state",
            format!(
                "not a {} state (column {name:?} has the wrong type)",
                self.name
            ),
        )
    }

    pub(crate) fn counts(&self, name: &str) -> KpiResult<Vec<i64>> {
        let j = position(self.layout.counts, name);
        let a = self
            .column(j)?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| self.wrong(name))?;
        Ok(self
            .source
            .iter()
            .map(|s| s.map_or(0, |r| a.value(r)))
            .collect())
    }

    pub(crate) fn sums(&self, name: &str) -> KpiResult<Vec<f64>> {
        let j = self.layout.counts.len() + position(self.layout.sums, name);
        let a = self
            .column(j)?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| self.wrong(name))?;
        Ok(self
            .source
            .iter()
            .map(|s| s.map_or(0.0, |r| a.value(r)))
            .collect())
    }

    /// Summary of every group's list (in any order: a merge concatenates lists in the order
    /// of its states), computed on all threads.
    pub(crate) fn summary(&self, name: &str) -> KpiResult<Vec<Summary>> {
        let j =
            self.layout.counts.len() + self.layout.sums.len() + position(self.layout.lists, name);
        let l = self
            .column(j)?
            .as_list_opt::<i32>()
            .filter(|l| l.values().as_primitive_opt::<Float64Type>().is_some())
            .ok_or_else(|| self.wrong(name))?;
        Ok(crate::core::engine::parallel::install(|| {
            use rayon::prelude::*;
            self.source
                .par_iter()
                .map(|s| Summary::of(s.map_or(&[][..], |r| list_values(l, r))))
                .collect()
        }))
    }

    /// The optional inputs the state was made with (see [`super::partial::given`]).
    pub(crate) fn given(&self) -> KpiResult<Given> {
        let names = self.setting(GIVEN)?;
        Ok(Given(
            names
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect(),
        ))
    }

    /// Running total of `delta` within each segment.
    pub(crate) fn running(&self, delta: &[i64]) -> Vec<i64> {
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
    pub(crate) fn previous<T: Copy>(&self, v: &[T]) -> Vec<Option<T>> {
        (0..v.len())
            .map(|i| (!self.new_segment[i]).then(|| v[i - 1]))
            .collect()
    }

    /// The result: keys, then the `extra` columns, with the skipped rows in the metadata.
    pub(crate) fn batch(self, extra: Vec<(String, ArrayRef)>) -> KpiResult<RecordBatch> {
        let (mut fields, mut columns) = (self.fields, self.keys);
        for (name, a) in extra {
            fields.push(Field::new(name, a.data_type().clone(), true));
            columns.push(a);
        }
        let meta = StdHashMap::from([(meta::SKIPPED_ROWS.to_string(), self.skipped.to_string())]);
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new_with_metadata(fields, meta)),
            columns,
        )?)
    }
}

fn position(names: &[&str], name: &str) -> usize {
    names.iter().position(|c| *c == name).expect("layout")
}

/// Count, exact sum, median and 90th percentile of one group's values.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Summary {
    pub n: usize,
    pub sum: f64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl Summary {
    fn of(values: &[f64]) -> Summary {
        if values.is_empty() {
            return Summary::default();
        }
        // Selection needs a scratch copy (the state is read-only): O(n), no sort.
        let mut v = values.to_vec();
        let [median, p90] = quantiles(&mut v, [0.5, 0.9]);
        Summary {
            n: values.len(),
            sum: exact_sum(values),
            median,
            p90,
        }
    }

    pub(crate) fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

/// The correctly rounded sum of `values` (Shewchuk's exact partials, rounded once at the end,
/// half to even). Unlike a running float sum it does not depend on the order of the values,
/// so a merged state gives the figures of one pass whatever its partitions.
pub(crate) fn exact_sum(values: &[f64]) -> f64 {
    // Whole numbers (durations in microseconds, amounts in whole units) add exactly as
    // integers; one rounding of the integer total is the correctly rounded sum.
    const LIMIT: f64 = 9.2e18;
    if values.iter().all(|v| v.fract() == 0.0 && v.abs() < LIMIT) {
        return values.iter().map(|&v| v as i64 as i128).sum::<i128>() as f64;
    }
    let mut partials: Vec<f64> = Vec::with_capacity(8);
    let mut naive = 0.0;
    for &v in values {
        naive += v;
        let mut x = v;
        let (mut i, mut k) = (0, 0);
        while k < partials.len() {
            let mut y = partials[k];
            k += 1;
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        partials.push(x);
    }
    if !naive.is_finite() {
        // Past f64's range the partials are meaningless; the plain sum says inf (or NaN).
        return naive;
    }
    let Some(mut n) = partials.len().checked_sub(1) else {
        return 0.0;
    };
    let mut hi = partials[n];
    let mut lo = 0.0;
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = partials[n];
        hi = x + y;
        lo = y - (hi - x);
        if lo != 0.0 {
            break;
        }
    }
    // Round half to even across the partials below: when the remainder is exactly half an
    // ulp and the next partial pushes the same way, the sum rounds up.
    if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

pub(crate) fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| a / b)
}

pub(crate) fn f64_col(v: Vec<Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

pub(crate) fn i64_col(v: Vec<i64>) -> ArrayRef {
    Arc::new(Int64Array::from(v))
}

/// `num / den` row by row; null where `den` is 0.
pub(crate) fn rates<A: AsF64, B: AsF64>(num: &[A], den: &[B]) -> Vec<Option<f64>> {
    num.iter()
        .zip(den)
        .map(|(a, b)| ratio(a.as_f64(), b.as_f64()))
        .collect()
}

/// Counts and sums as the floats a rate divides.
pub(crate) trait AsF64: Copy {
    fn as_f64(self) -> f64;
}

impl AsF64 for i64 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl AsF64 for f64 {
    fn as_f64(self) -> f64 {
        self
    }
}

/// The optional inputs a state was made with.
pub(crate) struct Given(Vec<String>);

impl Given {
    pub(crate) fn has(&self, input: &str) -> bool {
        self.0.iter().any(|g| g == input)
    }

    /// `a` when every one of `inputs` was given, else a column of nulls: the figure of an
    /// input that was not given is unknown (missing means null, never 0).
    pub(crate) fn keep(&self, inputs: &[&str], a: ArrayRef) -> ArrayRef {
        if inputs.iter().all(|i| self.has(i)) {
            a
        } else {
            arrow::array::new_null_array(a.data_type(), a.len())
        }
    }
}

/// Mean, median and 90th percentile of durations held in microseconds, in `unit`s, named
/// `<stem>_<unit>`, `…_median`, `…_p90`.
pub(crate) fn durations(stem: &str, summaries: &[Summary], unit: Unit) -> Vec<(String, ArrayRef)> {
    let per = unit.micros();
    let scale = |v: Option<f64>| v.map(|us| us / per);
    let u = unit.label();
    vec![
        (
            format!("{stem}_{u}"),
            f64_col(summaries.iter().map(|s| scale(s.mean())).collect()),
        ),
        (
            format!("{stem}_{u}_median"),
            f64_col(summaries.iter().map(|s| scale(s.median)).collect()),
        ),
        (
            format!("{stem}_{u}_p90"),
            f64_col(summaries.iter().map(|s| scale(s.p90)).collect()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sum_is_correctly_rounded_in_any_order() {
        // 0.1 + 0.2 + 0.3 by running sum is 0.6000000000000001 one way and 0.6 the other;
        // the exact sum rounds once, to 0.6.
        assert_eq!(exact_sum(&[0.1, 0.2, 0.3]), exact_sum(&[0.3, 0.2, 0.1]));
        assert_eq!(exact_sum(&[0.1, 0.2, 0.3]), 0.6);
        assert_eq!(exact_sum(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(exact_sum(&[]), 0.0);
        // Whole numbers take the integer path: 2^53 + 1 + 1 is exact there.
        let big = 9_007_199_254_740_992.0;
        assert_eq!(exact_sum(&[big, 1.0, 1.0]), big + 2.0);
        assert_eq!(exact_sum(&[1.0, big, 1.0]), big + 2.0);
        let v: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() * 1e3).collect();
        let mut r = v.clone();
        r.reverse();
        assert_eq!(exact_sum(&v), exact_sum(&r));
    }
}
