//! Bindings of the protocol every analysis follows (`core::engine::analyses`): one merge and one finish
//! for the states of all of them.

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, merge_states, read_table, table_out};
use crate::core::engine::analyses;

/// Merge the partial states of disjoint row sets (partitions) into one state.
#[pyfunction]
pub fn merge(py: Python<'_>, states: Vec<AnyRecordBatch>) -> PyResult<PyTable> {
    merge_states(py, states, analyses::merge)
}

/// The result of a (merged) state, computed by the analysis that made it.
#[pyfunction]
pub fn finish(py: Python<'_>, state: AnyRecordBatch) -> PyResult<PyTable> {
    let state = read_table(state)?;
    table_out(enter(py, move || analyses::finish(&state.single_batch()?))?)
}
