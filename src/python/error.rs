//! The one place where core errors become Python exceptions. The classes are defined in
//! `kpikit/exceptions.py` so that they can also inherit from `TypeError` / `ValueError`.

use pyo3::{import_exception, PyErr};

use crate::core::KpiError;

import_exception!(kpikit.exceptions, KpikitError);
import_exception!(kpikit.exceptions, SchemaError);
import_exception!(kpikit.exceptions, InputError);
import_exception!(kpikit.exceptions, ParameterError);

/// Newtype so the core error can be converted without the core knowing about pyo3.
pub struct PyKpiError(pub KpiError);

impl From<KpiError> for PyKpiError {
    fn from(e: KpiError) -> Self {
        PyKpiError(e)
    }
}

impl From<arrow::error::ArrowError> for PyKpiError {
    fn from(e: arrow::error::ArrowError) -> Self {
        PyKpiError(KpiError::Arrow(e))
    }
}

impl From<PyKpiError> for PyErr {
    fn from(PyKpiError(e): PyKpiError) -> PyErr {
        let msg = e.to_string();
        match e {
            KpiError::MissingColumn { .. } | KpiError::WrongType { .. } => {
                SchemaError::new_err(msg)
            }
            KpiError::InvalidValues { .. }
            | KpiError::LengthMismatch { .. }
            | KpiError::Overflow { .. } => InputError::new_err(msg),
            KpiError::InvalidParameter { .. } => ParameterError::new_err(msg),
            _ => KpikitError::new_err(msg),
        }
    }
}
