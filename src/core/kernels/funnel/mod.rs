//! Funnels: how many entities reach each step of a sequence, how fast, per segment and entry
//! period (docs/conventions.md#funnels). Two analyses share one partial state:
//!
//! * [`FunnelFromStages`] (`stages.rs`) — the wide shape: one row per lead, one timestamp
//!   column per stage (null = never reached);
//! * [`Funnel`] (`events.rs`) — an event log: per user, the sorted events are matched against
//!   the steps (`matcher.rs`: ordered, strict, any order after step 1, or unordered, with a
//!   conversion window and exclusions).
//!
//! Both reduce every entity (or attempt) to a *journey*: how many steps it reached and when.
//! `state.rs` holds the state (per group the journeys that reached each step and the exact
//! lists of step-to-step and from-first durations) and its merge, so medians and p90 stay exact
//! on a cluster; `finish.rs` turns a state into the per-step table and its histograms;
//! `rules.rs` holds the settings (window, order, attribution, counting, presets, finish
//! options), all written into the state at partial time.

pub mod events;
mod finish;
mod matcher;
pub mod rules;
pub mod stages;
mod state;
