//! The pure-Rust core: Arrow in, Arrow out, one error type. No Python types here.

pub mod activity;
pub mod demo;
pub mod error;
pub mod formulas;
pub mod groups;
pub mod input;
pub mod parallel;
pub mod retention;
pub mod revenue;
pub mod survey;
pub mod time;

pub use error::{KpiError, KpiResult};
