//! Arguments in, results out: Arrow tables and columns across the boundary, and `enter`, which
//! runs core work with the GIL released and turns errors and panics into Python exceptions.

use std::panic::{catch_unwind, AssertUnwindSafe};

use arrow::array::{ArrayRef, RecordBatch};
use pyo3::prelude::*;
use pyo3_arrow::input::{AnyArray, AnyRecordBatch};
use pyo3_arrow::PyTable;

use super::error::PyKpiError;
use crate::core::input::time::{parse_weekday, Freq, Zone};
use crate::core::input::{missing_as_null, Column, Table};
use crate::core::{KpiError, KpiResult};

/// Run core work without the GIL. A panic (a kpikit bug) becomes a `KpikitError` asking for a
/// bug report instead of crashing the interpreter.
pub fn enter<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: Send + FnOnce() -> KpiResult<T>,
    T: Send,
{
    py.detach(|| match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            Err(KpiError::Internal(what))
        }
    })
    .map_err(|e| PyKpiError(e).into())
}

/// An integer argument of any size. pyo3's own integer types raise `OverflowError` for a value
/// beyond them (-1 for a count, 2**70) before kpikit sees it; this one keeps the value (beyond
/// ±2**127: saturated, which no bound admits) so that the core's bound check answers with a
/// `ParameterError` naming the parameter. Anything but an int is a `TypeError`, as before.
/// pyo3 shows an `AnyInt` default as `...` in the signature: bindings with such a default state
/// their `text_signature` (checked against the stub by stubtest).
#[derive(Debug, Clone, Copy)]
pub struct AnyInt(pub i128);

impl<'a, 'py> FromPyObject<'a, 'py> for AnyInt {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<i128>() {
            Ok(v) => Ok(AnyInt(v)),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(obj.py()) => {
                let positive = obj.gt(0)?;
                Ok(AnyInt(if positive { i128::MAX } else { i128::MIN }))
            }
            Err(e) => Err(e),
        }
    }
}

impl AnyInt {
    /// The value within `lo..=hi`, or a `ParameterError` naming `name` and the bound.
    pub fn bounded<T: TryFrom<i128>>(self, name: &str, lo: i128, hi: i128) -> KpiResult<T> {
        KpiError::int_param(name, self.0, lo, hi)
    }
}

/// The `freq=` and `week_start=` settings as one period granularity (docs/vocabulary.md).
pub fn freq(freq: &str, week_start: &str) -> KpiResult<Freq> {
    Freq::parse(freq, parse_weekday(week_start)?)
}

/// The `tz=` setting: an IANA zone name or "UTC".
pub fn zone(tz: &str) -> KpiResult<Zone> {
    tz.parse::<Zone>()
}

/// Read a table (anything with `__arrow_c_stream__` / `__arrow_c_array__`) without copying.
pub fn read_table(table: AnyRecordBatch) -> PyResult<Table> {
    let reader = table.into_reader()?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<RecordBatch>, _>>()
        .map_err(PyKpiError::from)?;
    Ok(Table::from_batches(batches, &schema))
}

/// Read partial states (each a table from a partition) and merge them in the core with the GIL
/// released: the one shape every `merge_*_states` binding has.
pub fn merge_states<F>(py: Python<'_>, states: Vec<AnyRecordBatch>, merge: F) -> PyResult<PyTable>
where
    F: Send + FnOnce(&[RecordBatch]) -> KpiResult<RecordBatch>,
{
    let batches = states
        .into_iter()
        .map(|s| read_table(s).map(|t| t.into_batches()))
        .collect::<PyResult<Vec<_>>>()?;
    table_out(enter(py, move || {
        let all: Vec<RecordBatch> = batches.into_iter().flatten().collect();
        merge(&all)
    })?)
}

/// Read one column (array, chunked array, Series) without copying.
pub fn read_column(name: &str, values: AnyArray) -> PyResult<Column> {
    let reader = values.into_reader()?;
    let chunks = reader
        .collect::<Result<Vec<ArrayRef>, _>>()
        .map_err(PyKpiError::from)?;
    let chunks = chunks.iter().map(missing_as_null).collect();
    Ok(Column::new(name, chunks))
}

/// A result batch as a Table that Python reads through `__arrow_c_stream__`.
pub fn table_out(batch: RecordBatch) -> PyResult<PyTable> {
    let schema = batch.schema();
    PyTable::try_new(vec![batch], schema)
}

/// Address of the values buffer of every chunk of every column, as Rust received them. Tests
/// compare these with the caller's own buffers to prove that nothing was copied on the way in.
#[pyfunction]
pub fn table_buffer_addresses(
    table: AnyRecordBatch,
) -> PyResult<std::collections::HashMap<String, Vec<usize>>> {
    let reader = table.into_reader()?;
    let schema = reader.schema();
    let mut out: std::collections::HashMap<String, Vec<usize>> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), Vec::new()))
        .collect();
    for batch in reader {
        let batch = batch.map_err(PyKpiError::from)?;
        for (f, col) in schema.fields().iter().zip(batch.columns()) {
            let data = col.to_data();
            // Buffer 0 holds the values of primitive arrays (offsets for strings).
            let addr = data.buffers().first().map_or(0, |b| b.as_ptr() as usize);
            let elem = data.data_type().primitive_width().unwrap_or(0);
            if let Some(v) = out.get_mut(f.name()) {
                v.push(addr + data.offset() * elem);
            }
        }
    }
    Ok(out)
}
