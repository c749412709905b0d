//! The pure-Rust core: Arrow in, Arrow out, one error type. No Python types here.

pub mod activity;
pub mod analyses;
pub mod catalog;
pub mod demo;
pub mod error;
pub mod events;
pub mod formulas;
pub mod funnel;
pub mod groups;
pub mod input;
pub mod kpi;
pub mod parallel;
pub mod retention;
pub mod revenue;
pub mod state;
pub mod stats;
pub mod survey;
pub mod time;

pub use error::{KpiError, KpiResult};

// Sales, marketing, support and onboarding metrics.
pub mod sales;
// Customer lifetime value: RFM summaries and BTYD models.
pub mod clv;
// Honest changes (docs/conventions.md#change-signals): Wilson intervals, two-proportion tests,
// robust anomaly flags.
pub mod signals;
// Data integrity checks.
pub mod integrity;
