//! SaaS revenue: MRR per customer per period, the MRR movement ledger, MRR cohorts and the
//! revenue rates, the grouped ones written as partial → merge → finish.
//!
//! **Money.** Every amount is converted once to integer hundredths of the input unit ("cents":
//! `round(x × 100)`, half away from zero, as ChartMogul rounds each line to integer cents) and
//! all sums, levels and movements are exact `i64` arithmetic on cents. The ledger identity
//! `ending = starting + new + expansion + reactivation − contraction − churned
//! (+ moved_in − moved_out within a segment)` therefore holds exactly in cents; results leave
//! the core as float64 in the input unit (`cents / 100`).
//!
//! **MRR.** MRR is a balance (a stock), read at period ends (docs/conventions.md#revenue).
//! From snapshots, a customer's MRR in a period is its snapshot at the period's end: the rows of
//! the latest snapshot instant of the data within the period (so monthly snapshots read
//! quarterly give the March, June… values, never their sum); a customer absent from that
//! snapshot has no MRR then. From subscriptions, the monthly value of a subscription is
//! `amount / months(interval)` (year 12, quarter 3, month 1, week 12/52, or a count of months),
//! rounded to cents per subscription; with `Snapshot::End` a subscription counts in a period when
//! it is active at the last instant of the period (`start < period end ≤ end`, so a subscription
//! ending exactly at midnight on the 1st counts in the month before), with `Snapshot::Average` it
//! counts by the fraction of the period it covers (rounded to cents per customer and period).
//!
//! **Movements.** Movements are the change between two consecutive period ends, classified per
//! customer (a rise within a month that is undone within the same month nets out): 0 → x is new
//! (first MRR ever) or reactivation (after a churn, within `reactivation_window`, otherwise new
//! again); x → 0 is churn; x → y is expansion or contraction. A customer whose subscriptions all
//! start and end inside one period (zero at both ends) joined and churned in that period;
//! [`conventions::SamePeriod`] says how that counts.
//!
//! **Partitions.** The partial state holds, per (period, segments…), only flows: movement sums,
//! customer counts and the change of the MRR and customer balances. When every customer's rows are
//! in one partition, states of partitions add up exactly ([`movements::MrrMovements`]); the
//! balances (starting, ending) are rebuilt at finish by cumulating the changes.
//!
//! **Files.** `conventions` (money units, the convention keywords and presets), `input` (the two
//! input shapes, validated into cents and period ordinals), `series` (one customer's MRR over
//! time), `walk` (classification into movements and their sums), `customers` (all customers in
//! parallel), `movements` (the mergeable movement state), `ledger` (MRR per customer and the
//! per-customer ledger, one pass), `cohorts` (the mergeable cohort state), `metrics` (the rates
//! read from a movement table); unit tests in `tests`.

pub mod cohorts;
pub mod conventions;
mod customers;
pub mod input;
pub mod ledger;
pub mod metrics;
pub mod movements;
mod series;
mod walk;

#[cfg(test)]
mod tests;
