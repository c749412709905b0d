//! kpikit: business metrics and KPIs over Apache Arrow.
//!
//! [`core`] is pure Rust (Arrow in, Arrow out, one error type) and builds without Python
//! (`cargo test --no-default-features`). The `python` feature adds the pyo3 binding layer that
//! the `kpikit` Python package loads as `kpikit._kpikit`.

pub mod core;

#[cfg(feature = "python")]
mod python;
