//! Binding of `core::demo`: the demo company as a dict of Arrow tables.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::{enter, table_out, AnyInt};
use crate::core::demo;
use crate::core::engine::parallel::install;

/// Generate the demo company; returns {table name: Arrow table} in `core::demo::TABLES` order.
#[pyfunction]
#[pyo3(signature = (seed=AnyInt(0), scale=1.0), text_signature = "(seed=0, scale=1.0)")]
pub fn demo_company(py: Python<'_>, seed: AnyInt, scale: f64) -> PyResult<Bound<'_, PyDict>> {
    // In kpikit's pool, not rayon's global one: only kpikit's pool is rebuilt after a fork.
    let company = enter(py, move || {
        let seed = seed.bounded("seed", 0, u64::MAX.into())?;
        install(|| demo::demo_company(seed, scale))
    })?;
    let out = PyDict::new(py);
    for (name, batch) in company.into_tables() {
        out.set_item(name, table_out(batch)?)?;
    }
    Ok(out)
}
