//! The protocol every analysis follows: partial state → merge → finish
//! (docs/architecture.md (partial state → merge → finish)).
//!
//! A *state* is a small Arrow record batch (counts, sums or per-key lists) whose schema
//! metadata says which analysis made it ([`meta::ANALYSIS`]) and with which settings. States
//! of disjoint row sets merge exactly, so a table split into partitions (threads, Dask workers)
//! gives the numbers of a single pass. Every setting the finish step needs is written into the
//! state by the partial step: a state finishes on its own, wherever it travelled.
//!
//! This module holds the pieces every analysis shares: the [`Analysis`] trait, the metadata
//! keys and their reader ([`Meta`]), the merge prologue ([`MergeInput`]), the bad-row
//! setting ([`Invalid`]) and the partial step over row ranges ([`partial_in_ranges`]). [`crate::core::engine::analyses`] dispatches a state to its analysis by name.

use std::collections::HashMap;
use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};

use crate::core::engine::groups::Categories;
use crate::core::engine::parallel::map_ranges;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::Column;

/// Metadata keys shared by every state. An analysis may add its own under `kpikit.<name>.…`.
pub mod meta {
    /// Name of the analysis that made the state (its public function's name).
    pub const ANALYSIS: &str = "kpikit.analysis";
    /// Period granularity label (`Freq::label`), empty without periods.
    pub const FREQ: &str = "kpikit.freq";
    /// Number of segment key columns after the period column.
    pub const SEGMENTS: &str = "kpikit.segments";
    /// Rows left out before they could be given a group (`invalid="skip"`); summed by a merge.
    pub const SKIPPED_ROWS: &str = "kpikit.skipped_rows";
    /// The `invalid=` setting the state was made with.
    pub const INVALID: &str = "kpikit.invalid";
    /// The categories of categorical segment columns (JSON of
    /// [`crate::core::engine::groups::Categories`]); absent when no segment is categorical.
    /// A merge takes their union.
    pub const CATEGORIES: &str = "kpikit.categories";
}

/// One analysis in the partial → merge → finish protocol.
///
/// `partial` reads one table (or partition) and returns its state, with [`meta::ANALYSIS`] =
/// [`Analysis::NAME`] and every setting in the metadata; `merge` combines states of disjoint
/// row sets made with equal settings; `finish` turns a (merged) state into the result table.
/// For every split of the rows, `finish(merge(partials))` equals `finish(partial(all rows))`.
pub trait Analysis {
    /// The public function's name, written in every state.
    const NAME: &'static str;
    /// Columns and settings the partial step reads.
    type Input<'a>;
    fn partial(input: &Self::Input<'_>) -> KpiResult<RecordBatch>;
    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch>;
    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch>;
}

/// What to do with rows that break an input rule (`invalid=`, docs/vocabulary.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Fail with an error naming the rows (the default).
    Raise,
    /// Leave them out of every figure and count them (`skipped` column or
    /// [`meta::SKIPPED_ROWS`]).
    Skip,
}

impl Invalid {
    pub fn parse(s: &str) -> KpiResult<Invalid> {
        match s {
            "raise" => Ok(Invalid::Raise),
            "skip" => Ok(Invalid::Skip),
            _ => Err(KpiError::param(
                "invalid",
                format!("{s:?} is not one of \"raise\", \"skip\""),
            )),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Invalid::Raise => "raise",
            Invalid::Skip => "skip",
        }
    }
}

/// Reader of a state's metadata; every error names the key and the analysis expected.
pub struct Meta<'a> {
    map: &'a HashMap<String, String>,
    what: &'static str,
}

impl<'a> Meta<'a> {
    /// The metadata of `schema`, which must be a state of analysis `what`.
    pub fn of(schema: &'a SchemaRef, what: &'static str) -> KpiResult<Meta<'a>> {
        let m = Meta {
            map: schema.metadata(),
            what,
        };
        let name = m.map.get(meta::ANALYSIS).map(String::as_str);
        if name != Some(what) {
            return Err(KpiError::param(
                "state",
                format!(
                    "not a {what} state (made by {})",
                    name.map_or_else(|| "no kpikit analysis".to_string(), |n| format!("{n:?}"))
                ),
            ));
        }
        Ok(m)
    }

    pub fn get(&self, key: &str) -> KpiResult<&'a str> {
        self.map.get(key).map(String::as_str).ok_or_else(|| {
            KpiError::param(
                "state",
                format!("not a {} state (no {key:?} metadata)", self.what),
            )
        })
    }

    pub fn parse<T: FromStr>(&self, key: &str) -> KpiResult<T> {
        let v = self.get(key)?;
        v.parse::<T>()
            .map_err(|_| KpiError::param("state", format!("bad {key:?} metadata: {v:?}")))
    }

    /// An optional value: empty text means absent.
    pub fn parse_opt<T: FromStr>(&self, key: &str) -> KpiResult<Option<T>> {
        if self.get(key)?.is_empty() {
            return Ok(None);
        }
        self.parse(key).map(Some)
    }

    /// Rows skipped before grouping (0 when the state records none).
    pub fn skipped_rows(&self) -> KpiResult<u64> {
        match self.map.get(meta::SKIPPED_ROWS) {
            None => Ok(0),
            Some(_) => self.parse(meta::SKIPPED_ROWS),
        }
    }
}

/// States ready to merge: checked to come from one analysis with equal settings, stripped of
/// their metadata (so that their schemas compare field by field).
pub struct MergeInput {
    /// The first state's metadata, the merged state's starting point.
    pub metadata: HashMap<String, String>,
    /// The states without metadata.
    pub plain: Vec<RecordBatch>,
    /// Sum of the states' skipped rows.
    pub skipped_rows: u64,
}

impl MergeInput {
    /// Check `states` for a merge of analysis `what`: at least one, every metadata value equal
    /// to the first state's except [`meta::SKIPPED_ROWS`] (summed) and the `varying` keys (the
    /// analysis combines those itself, e.g. a data horizon).
    pub fn check(
        states: &[RecordBatch],
        what: &'static str,
        varying: &[&str],
    ) -> KpiResult<MergeInput> {
        let first = states
            .first()
            .ok_or_else(|| KpiError::param("states", "at least one partial state is needed"))?;
        let first_schema = first.schema();
        let m0 = Meta::of(&first_schema, what)?;
        let mut skipped_rows = 0u64;
        for s in states {
            let schema = s.schema();
            let m = Meta::of(&schema, what)?;
            skipped_rows += m.skipped_rows()?;
            let settings = |m: &Meta<'_>| -> Vec<(String, String)> {
                let mut kv: Vec<(String, String)> = m
                    .map
                    .iter()
                    .filter(|(k, _)| {
                        k.as_str() != meta::SKIPPED_ROWS
                            && k.as_str() != meta::CATEGORIES
                            && !varying.contains(&k.as_str())
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                kv.sort();
                kv
            };
            let (a, b) = (settings(&m0), settings(&m));
            if a != b {
                let differs = a
                    .iter()
                    .chain(&b)
                    .map(|(k, _)| k)
                    .find(|k| m0.map.get(*k) != m.map.get(*k))
                    .cloned()
                    .unwrap_or_default();
                return Err(KpiError::param(
                    "states",
                    format!(
                        "partial {what} states were made with different settings ({differs:?}: {:?} vs {:?})",
                        m0.map.get(&differs).map(String::as_str).unwrap_or(""),
                        m.map.get(&differs).map(String::as_str).unwrap_or("")
                    ),
                ));
            }
        }
        // Partitions may know different categories (an Arrow dictionary per batch): the merged
        // state knows them all.
        let mut metadata = first_schema.metadata().clone();
        let mut categories: Option<Categories> = None;
        for s in states {
            if let Some(c) = categories_of(s)? {
                match categories.as_mut() {
                    Some(all) => all.union(&c),
                    None => categories = Some(c),
                }
            }
        }
        if let Some(c) = categories {
            metadata.insert(meta::CATEGORIES.into(), c.to_json());
        }
        let plain = states
            .iter()
            .map(|s| {
                RecordBatch::try_new(
                    Arc::new(Schema::new(s.schema().fields().clone())),
                    s.columns().to_vec(),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(MergeInput {
            metadata,
            plain,
            skipped_rows,
        })
    }

    /// `merged` (the combined plain states) with the first state's metadata and the summed
    /// skipped rows; `updates` replace further keys (the `varying` ones).
    pub fn finish(
        mut self,
        merged: RecordBatch,
        updates: &[(&str, String)],
    ) -> KpiResult<RecordBatch> {
        if self.metadata.contains_key(meta::SKIPPED_ROWS) {
            self.metadata
                .insert(meta::SKIPPED_ROWS.into(), self.skipped_rows.to_string());
        }
        for (k, v) in updates {
            self.metadata.insert((*k).into(), v.clone());
        }
        with_metadata(merged, self.metadata)
    }
}

/// The partial state of `n` rows computed per row range on all threads (`part` of each range),
/// then the exact merge of the ranges' states (`merge`, not called for a single range): the
/// same state as one pass, since states of disjoint rows merge exactly.
pub fn partial_in_ranges(
    n: usize,
    part: impl Fn(Range<usize>) -> KpiResult<RecordBatch> + Sync + Send,
    merge: impl FnOnce(&[RecordBatch]) -> KpiResult<RecordBatch>,
) -> KpiResult<RecordBatch> {
    let mut parts = map_ranges(n, part)?;
    match parts.len() {
        1 => Ok(parts.pop().expect("one part")),
        _ => merge(&parts),
    }
}

/// `state` with the categories of its categorical `segments` in its metadata
/// ([`meta::CATEGORIES`]), for the finish to give every category its rows
/// (docs/conventions.md, "Complete grids"). Unchanged when no segment is categorical.
pub fn with_categories(state: RecordBatch, segments: &[Column]) -> KpiResult<RecordBatch> {
    let Some(c) = Categories::of_columns(segments)? else {
        return Ok(state);
    };
    let mut metadata = state.schema().metadata().clone();
    metadata.insert(meta::CATEGORIES.into(), c.to_json());
    with_metadata(state, metadata)
}

/// The categories a state carries ([`meta::CATEGORIES`]), None when it carries none.
pub fn categories_of(state: &RecordBatch) -> KpiResult<Option<Categories>> {
    state
        .schema()
        .metadata()
        .get(meta::CATEGORIES)
        .map(|s| Categories::from_json(s))
        .transpose()
}

/// `batch` with its schema's metadata replaced by `metadata`.
pub fn with_metadata(
    batch: RecordBatch,
    metadata: HashMap<String, String>,
) -> KpiResult<RecordBatch> {
    let schema = Arc::new(Schema::new_with_metadata(
        batch.schema().fields().clone(),
        metadata,
    ));
    Ok(RecordBatch::try_new(schema, batch.columns().to_vec())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array};
    use arrow::datatypes::{DataType, Field};

    fn state(name: &str, freq: &str, skipped: u64, v: i64) -> RecordBatch {
        let md = HashMap::from([
            (meta::ANALYSIS.to_string(), name.to_string()),
            (meta::FREQ.to_string(), freq.to_string()),
            (meta::SKIPPED_ROWS.to_string(), skipped.to_string()),
        ]);
        let schema = Schema::new_with_metadata(vec![Field::new("n", DataType::Int64, false)], md);
        let col: ArrayRef = Arc::new(Int64Array::from(vec![v]));
        RecordBatch::try_new(Arc::new(schema), vec![col]).unwrap()
    }

    #[test]
    fn merge_sums_skipped_rows_and_keeps_settings() {
        let m = MergeInput::check(
            &[state("nps", "month", 2, 1), state("nps", "month", 3, 2)],
            "nps",
            &[],
        )
        .unwrap();
        assert_eq!(m.skipped_rows, 5);
        assert!(m.plain[0].schema().metadata().is_empty());
        let out = m.finish(state("x", "", 0, 0), &[]).unwrap();
        let schema = out.schema();
        let md = Meta::of(&schema, "nps").unwrap();
        assert_eq!(md.skipped_rows().unwrap(), 5);
        assert_eq!(md.get(meta::FREQ).unwrap(), "month");
    }

    #[test]
    fn merge_refuses_other_analyses_and_settings() {
        let e = MergeInput::check(&[state("csat", "month", 0, 1)], "nps", &[])
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a nps state"), "{e}");
        let e = MergeInput::check(
            &[state("nps", "month", 0, 1), state("nps", "week", 0, 1)],
            "nps",
            &[],
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("kpikit.freq"), "{e}");
        assert!(MergeInput::check(&[], "nps", &[]).is_err());
        // A key the analysis combines itself may differ.
        assert!(MergeInput::check(
            &[state("nps", "month", 0, 1), state("nps", "week", 0, 1)],
            "nps",
            &[meta::FREQ]
        )
        .is_ok());
    }

    #[test]
    fn merge_unites_the_categories_of_the_states() {
        use crate::core::engine::groups::{Categories, SegmentCategories};
        let with = |values: &[&str]| {
            let c = Categories(vec![Some(SegmentCategories {
                data_type: "Utf8".into(),
                values: values.iter().map(|v| v.to_string()).collect(),
            })]);
            let s = state("nps", "month", 0, 1);
            let mut md = s.schema().metadata().clone();
            md.insert(meta::CATEGORIES.into(), c.to_json());
            with_metadata(s, md).unwrap()
        };
        // Partitions that know different categories (and one that is not categorical) merge.
        let m = MergeInput::check(
            &[
                with(&["b", "a"]),
                state("nps", "month", 0, 1),
                with(&["a", "c"]),
            ],
            "nps",
            &[],
        )
        .unwrap();
        let out = m.finish(state("x", "", 0, 0), &[]).unwrap();
        let c = categories_of(&out).unwrap().unwrap();
        assert_eq!(c.0[0].as_ref().unwrap().values, vec!["b", "a", "c"]);
        assert!(categories_of(&state("nps", "month", 0, 1))
            .unwrap()
            .is_none());
    }

    #[test]
    fn invalid_round_trips_and_names_the_parameter() {
        for i in [Invalid::Raise, Invalid::Skip] {
            assert_eq!(Invalid::parse(i.label()).unwrap(), i);
        }
        let e = Invalid::parse("drop").err().unwrap();
        assert!(e.to_string().contains("invalid"), "{e}");
    }
}
