//! Sales, marketing, support and onboarding metrics over their own tables (CRM deals, leads,
//! help-desk tickets, e-mail campaigns, quotas), written as partial → merge → finish
//! (docs/architecture.md (partial state → merge → finish), definitions in
//! docs/conventions.md#sales-marketing-and-support).
//!
//! **State.** A partial state has one row per (period, segments…) group with three kinds of
//! value columns: counts (Int64, added on merge), sums (Float64, added on merge) and value lists
//! (List<Float64>, concatenated on merge). Lists keep every won amount and every duration, so
//! medians and percentiles are exact; they are found by selection, and list sums are correctly
//! rounded, so a merged state gives the figures of one pass whatever the partitioning (float
//! addition in list order would depend on it). The lists cost 8 bytes per won deal or measured
//! duration. Every setting the finish needs (unit, cohort, the columns given) is in the state's
//! metadata.
//!
//! **Periods.** A row contributes to the period of each of its events: a deal is counted as
//! created in the period of `created` and closes in the period of `closed`. Snapshot figures
//! (deals open, tickets in backlog at period end) are rebuilt at finish by cumulating
//! created − closed (opened − resolved) over the gap-free grid, so they merge exactly too.
//!
//! **Durations** are computed from the instants (zone-aware timestamps compare in UTC; naive
//! timestamps and dates as wall-clock time), in any unit, and reported in `unit=`, which the
//! output columns name. Periods are counted on the calendar of `tz`.
//!
//! Files: `read` (time, number and 0/1 columns; units), `acc` (the per-slot accumulator and
//! the row rules), `partial` (the threaded partial step, one row range's reader and rule table, the state batch), `merge`,
//! `finish` (the grid, list summaries, exact sums); one file per analysis: `deals`
//! ([`deals::DealMetrics`]), `leads`, `support`, `campaigns`, `onboarding`, and `quota`
//! (quota attainment, which has no partial state).

mod acc;
pub mod campaigns;
pub mod deals;
mod finish;
pub mod leads;
mod merge;
pub mod onboarding;
pub mod partial;
pub mod quota;
pub mod read;
pub mod support;
#[cfg(test)]
mod testing;
