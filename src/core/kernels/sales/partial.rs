//! The partial step every sales analysis shares: the table is cut into row ranges read on all
//! threads, each range accumulated by the analysis' own kernel into an [`Acc`], the ranges
//! folded in order, and the result written as a state batch with its metadata
//! (docs/architecture.md (partial state → merge → finish)).

use std::collections::HashMap as StdHashMap;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, ListArray, RecordBatch};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Schema};

use crate::core::engine::groups::{group_ids, take_rows, Groups};
use crate::core::engine::parallel::fold_ranges;
use crate::core::engine::state::{meta, with_categories, Invalid};
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::{start_dates, Freq, Zone};
use crate::core::input::Column;

use super::acc::{Acc, Layout, ListValues, Rule, Rules};
use super::read::{read_f64, read_times, Times};

/// What every sales analysis reads besides its own columns: the segment columns (a rep
/// first, when given), the periods and the bad-row setting.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    pub segments: &'a [Column],
    pub freq: Option<Freq>,
    /// Time zone the periods are counted in (durations always compare instants).
    pub zone: Zone,
    pub invalid: Invalid,
}

/// One row range of the partial step: the analysis' columns read over its rows, the
/// accumulator and the rule table, so that an analysis writes only its rules and its row loop.
pub(crate) struct Part {
    offset: usize,
    /// Rows in the range.
    pub n: usize,
    freq: Option<Freq>,
    zone: Zone,
    invalid: Invalid,
    pub acc: Acc,
    pub rules: Rules,
}

impl Part {
    /// The part of rows `rows`, checking `rules` (in the order the row loop checks them).
    pub(crate) fn new(
        layout: &Layout,
        common: &Common,
        rows: Range<usize>,
        rules: &[Rule],
    ) -> Part {
        Part {
            offset: rows.start,
            n: rows.len(),
            freq: common.freq,
            zone: common.zone,
            invalid: common.invalid,
            acc: Acc::new(layout),
            rules: Rules::new(rules, rows.start),
        }
    }

    /// The times of `c` over the range (errors name rows of the whole input).
    pub(crate) fn times(&self, c: &Column) -> KpiResult<Times> {
        read_times(&c.slice(self.offset, self.n), self.zone, self.freq)
            .map_err(|e| e.at_offset(self.offset))
    }

    /// The numbers of `c` over the range.
    pub(crate) fn numbers(&self, c: &Column) -> KpiResult<Vec<Option<f64>>> {
        read_f64(&c.slice(self.offset, self.n)).map_err(|e| e.at_offset(self.offset))
    }

    /// Look slots up in a table over the periods of the `times` read (see [`Acc::prepare`]).
    pub(crate) fn prepare(&mut self, times: &[Option<&Times>], n_segments: usize) {
        let read: Vec<&Times> = times.iter().flatten().copied().collect();
        self.acc.prepare(&read, n_segments.max(1));
    }

    /// The accumulated slots and the number of rows left out; with `invalid="raise"`, the
    /// first rule broken as an error.
    pub(crate) fn done(self) -> KpiResult<(Acc, usize)> {
        let skipped = self.rules.check(self.invalid)?;
        Ok((self.acc, skipped))
    }
}

/// The `given` setting: which optional columns a state was made with, so that finish nulls
/// the figures of the others (missing means null, never 0).
pub(crate) fn given(name: &str, columns: &[(&str, Option<&Column>)]) -> (String, String) {
    let names: Vec<&str> = columns
        .iter()
        .filter(|(_, c)| c.is_some())
        .map(|(n, _)| *n)
        .collect();
    (key(name, GIVEN), names.join(","))
}

/// The name of the [`given`] setting.
pub(crate) const GIVEN: &str = "given";

/// The metadata key of an analysis' own setting.
pub(crate) fn key(name: &str, setting: &str) -> String {
    format!("kpikit.{name}.{setting}")
}

/// Segment ids of `n` rows: one group when there are no segment columns.
pub(crate) fn segment_groups(segments: &[Column], n: usize) -> KpiResult<Groups> {
    if segments.is_empty() {
        return Ok(Groups {
            ids: vec![0; n],
            first_row: if n == 0 { vec![] } else { vec![0] },
        });
    }
    group_ids(segments)
}

/// The partial state of `n` rows. `part(rows, segment ids, number of segments)` accumulates
/// one row range (errors name rows as positions in the whole input) and returns its slots
/// and the number of rows it left out; `settings` are the analysis' own metadata.
pub(crate) fn partial_state<F>(
    name: &'static str,
    layout: &Layout,
    common: &Common,
    n: usize,
    settings: Vec<(String, String)>,
    part: F,
) -> KpiResult<RecordBatch>
where
    F: Fn(Range<usize>, &[u32], usize) -> KpiResult<(Acc, usize)> + Sync + Send,
{
    let segments = common.segments;
    for c in segments {
        if c.len() != n {
            return Err(KpiError::Internal(format!(
                "segment column {:?} has {} rows, not {n}",
                c.name,
                c.len()
            )));
        }
    }
    // Ranges are folded in range order (sums add up the same way whatever the number of
    // threads); each range's segment ids are its own, mapped to global ones as it is folded.
    let mut keys = SegmentKeys {
        cols: segments,
        first_row: Vec::new(),
    };
    let (acc, skipped, failed) = fold_ranges(
        n,
        (None::<Acc>, 0, None::<KpiError>),
        |r| {
            let len = r.end - r.start;
            let slices: Vec<Column> = segments.iter().map(|c| c.slice(r.start, len)).collect();
            let seg = segment_groups(&slices, len)?;
            let (acc, skipped) = part(r.clone(), &seg.ids, seg.len())?;
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
    let acc = acc.unwrap_or_else(|| Acc::new(layout));
    let mut md = StdHashMap::from([
        (meta::ANALYSIS.to_string(), name.to_string()),
        (
            meta::FREQ.to_string(),
            common.freq.map(|f| f.label()).unwrap_or_default(),
        ),
        (meta::SEGMENTS.to_string(), segments.len().to_string()),
        (meta::SKIPPED_ROWS.to_string(), skipped.to_string()),
        (
            meta::INVALID.to_string(),
            common.invalid.label().to_string(),
        ),
    ]);
    md.extend(settings);
    let state = state_batch(layout, common.freq, acc, segments, &keys.first_row, md)?;
    with_categories(state, segments)
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

/// The accumulator as a state batch: keys (period, segments…), then `n:` counts, `s:` sums
/// and `l:` lists, with `metadata`.
fn state_batch(
    layout: &Layout,
    freq: Option<Freq>,
    acc: Acc,
    segments: &[Column],
    first_row: &[usize],
    metadata: StdHashMap<String, String>,
) -> KpiResult<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    // A segment whose rows were all left out of every figure (invalid="skip") gets an empty
    // row without a period, so that it has its rows of the result (docs/conventions.md,
    // "Complete grids").
    let markers: Vec<u32> = if segments.is_empty() {
        Vec::new()
    } else {
        let mut seen = vec![false; first_row.len()];
        for k in &acc.keys {
            seen[k.1 as usize] = true;
        }
        (0..first_row.len() as u32)
            .filter(|&g| !seen[g as usize])
            .collect()
    };
    if let Some(f) = freq {
        let dates = start_dates(
            f,
            acc.keys
                .iter()
                .map(|k| Some(k.0))
                .chain(markers.iter().map(|_| None)),
        );
        fields.push(Field::new("period", DataType::Date32, true));
        columns.push(arrow::compute::cast(
            &(Arc::new(dates) as ArrayRef),
            &DataType::Date32,
        )?);
    }
    let rows: Vec<usize> = acc
        .keys
        .iter()
        .map(|k| first_row[k.1 as usize])
        .chain(markers.iter().map(|&g| first_row[g as usize]))
        .collect();
    for c in segments {
        let a = take_rows(c, &rows)?;
        fields.push(Field::new(&c.name, a.data_type().clone(), true));
        columns.push(a);
    }
    let n = acc.keys.len();
    let empty = markers.len();
    for (j, name) in layout.counts.iter().enumerate() {
        fields.push(Field::new(format!("n:{name}"), DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from_iter_values(
            (0..n)
                .map(|s| acc.counts[s * acc.n_counts + j])
                .chain(std::iter::repeat_n(0, empty)),
        )));
    }
    for (j, name) in layout.sums.iter().enumerate() {
        fields.push(Field::new(format!("s:{name}"), DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from_iter_values(
            (0..n)
                .map(|s| acc.sums[s * acc.n_sums + j])
                .chain(std::iter::repeat_n(0.0, empty)),
        )));
    }
    for (name, l) in layout.lists.iter().zip(acc.lists) {
        let a = grouped(n + empty, l);
        fields.push(Field::new(
            format!("l:{name}"),
            a.data_type().clone(),
            false,
        ));
        columns.push(Arc::new(a));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, metadata)),
        columns,
    )?)
}

/// The values of one list column grouped by slot (a counting sort: one pass to count, one to
/// place), as a List<Float64> array of `n` lists.
fn grouped(n: usize, l: ListValues) -> ListArray {
    let mut start = vec![0usize; n + 1];
    for (slots, _) in l.pieces() {
        for &s in slots {
            start[s as usize + 1] += 1;
        }
    }
    let mut total = 0;
    for x in start.iter_mut() {
        total += *x;
        *x = total;
    }
    let offsets = OffsetBuffer::from_lengths((0..n).map(|i| start[i + 1] - start[i]));
    let mut at = start;
    let mut flat = vec![0.0; total];
    for (slots, values) in l.pieces() {
        for (&s, &v) in slots.iter().zip(values) {
            flat[at[s as usize]] = v;
            at[s as usize] += 1;
        }
    }
    ListArray::new(
        Arc::new(Field::new("item", DataType::Float64, false)),
        offsets,
        Arc::new(Float64Array::from(flat)),
        None,
    )
}

/// One list per slot as a List<Float64> array.
pub(crate) fn list_array(per_slot: Vec<Vec<f64>>) -> ListArray {
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
