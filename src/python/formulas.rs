//! Binding of `core::metrics::formulas`: one generic entry point that takes the formula's name and its
//! arguments (columns or scalars) in parameter order. Argument conversion only.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;
use pyo3_arrow::PyArray;

use super::convert::{enter, read_column};
use crate::core::metrics::formulas::{self, Operand, Value};

/// One argument as Python passes it: an Arrow column (tried first, so a one-element Series is
/// never read as a number) or a scalar, `None` being missing.
#[derive(FromPyObject)]
pub enum PyOperand {
    Column(AnyArray),
    Scalar(Option<f64>),
}

/// The result: a float64 Arrow array, or a float / `None` when every argument was a scalar.
#[derive(IntoPyObject)]
pub enum PyValue {
    Column(PyArray),
    Scalar(Option<f64>),
}

/// Evaluate the formula `name` on `args`, given in the order of its parameters.
#[pyfunction]
pub fn formula(py: Python<'_>, name: &str, args: Vec<PyOperand>) -> PyResult<PyValue> {
    let spec = enter(py, || formulas::lookup(name))?;
    // Surplus or missing arguments are reported by the core; unnamed extras get a position.
    let ops = args
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let pname = spec
                .params
                .get(i)
                .map_or_else(|| format!("argument {i}"), |p| p.to_string());
            Ok(match a {
                PyOperand::Column(c) => Operand::Column(read_column(&pname, c)?),
                PyOperand::Scalar(v) => Operand::scalar(pname, v),
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(match enter(py, move || (spec.eval)(&ops))? {
        Value::Column(arr) => PyValue::Column(PyArray::new(
            Arc::new(arr),
            Arc::new(Field::new(spec.name, DataType::Float64, true)),
        )),
        Value::Scalar(v) => PyValue::Scalar(v),
    })
}

/// Values-buffer address of every chunk as the formulas read it (private: proves zero-copy).
#[pyfunction]
pub fn column_buffer_addresses(py: Python<'_>, column: AnyArray) -> PyResult<Vec<usize>> {
    let col = read_column("column", column)?;
    enter(py, move || formulas::buffer_addresses(&col))
}
