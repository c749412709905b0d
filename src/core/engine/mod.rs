//! The machinery every analysis runs on: the partial state → merge → finish protocol
//! ([`state`]), every analysis by name ([`analyses`]), grouping and the gap-free (segment ×
//! period) grid ([`groups`]), threads ([`parallel`]) and the statistics analyses share
//! ([`stats`]).

pub mod analyses;
pub mod groups;
pub mod parallel;
pub mod state;
pub mod stats;
