//! The binding layer: argument conversion, GIL release and error mapping. No formulas here.

mod convert;
mod error;
mod formulas;
mod survey;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
pub mod _kpikit {
    #[pymodule_export]
    use super::formulas::{buffer_addresses, formula};
    #[pymodule_export]
    use super::survey::{csat, merge_score_counts, nps, score_counts};

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("debug_build", cfg!(debug_assertions))
    }
}
