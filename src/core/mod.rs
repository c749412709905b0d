//! The pure-Rust core: Arrow in, Arrow out, one error type. No Python types here.
//!
//! The folders are the layers of the design (docs/architecture.md), each building only on the
//! ones before it:
//!
//! 1. [`input`]: columns as they arrive, calendar time, event logs and the row-level integrity
//!    checks;
//! 2. [`engine`]: the partial state → merge → finish protocol, the registry of analyses,
//!    grouping and the gap-free grid, threads and shared statistics;
//! 3. [`kernels`]: the analyses themselves, one folder or file per family (revenue, sales,
//!    activity, retention, funnel, survey, clv);
//! 4. [`metrics`]: the metric catalog and the elementwise formulas;
//! 5. [`kpi`]: KPIs judged against objectives, and change signals.
//!
//! [`demo`] generates the demo company's tables and is used by none of the above.

pub mod demo;
pub mod engine;
pub mod error;
pub mod input;
pub mod kernels;
pub mod kpi;
pub mod metrics;

pub use error::{KpiError, KpiResult};
