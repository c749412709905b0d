//! The analyses: one folder (or file) per family, each written as partial → merge → finish
//! over the input and engine layers (docs/architecture.md).

// MRR, movements, cohorts and revenue rates over snapshots or subscriptions.
pub mod revenue;
// Sales, marketing, support and onboarding metrics.
pub mod sales;
// Active users, stickiness and lifecycle over event logs.
pub mod activity;
// Cohort retention over event logs.
pub mod retention;
// Stage and event funnels.
pub mod funnel;
// Survey scores: NPS and CSAT.
pub mod survey;
// Customer lifetime value: RFM summaries and BTYD models.
pub mod clv;
