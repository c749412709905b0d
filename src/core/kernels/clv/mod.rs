//! Customer lifetime value: RFM summaries of transaction logs and the buy-till-you-die models
//! (BG/NBD, Pareto/NBD, BG/BB, Gamma-Gamma, shifted-beta-geometric) fitted by maximum likelihood.
//!
//! - `rfm`: RFM summaries and holdout splits of a transaction log; `rfm_summary` as an
//!   analysis of the partial → merge → finish protocol.
//! - `models`: the models' likelihoods, fits and per-customer formulas, one file per model.
//! - `likelihood`: every model's log-likelihood at given parameters.
//! - `predict`: the models by name: one function per prediction, taking the model and its
//!   checked inputs, the discounted lifetime value, and the purchase models' fit.
//! - `tracking`, `alive_path`, `holdout`: the model checks lifetimes users reach for after a
//!   fit (expected against actual transactions over time, P(alive) paths, holdout by group).
//! - `optim`, `special`: the quasi-Newton optimiser and the special functions.

pub mod alive_path;
pub mod holdout;
pub mod likelihood;
pub mod models;
pub mod optim;
pub mod predict;
pub mod rfm;
pub mod special;
pub mod tracking;
