//! Customer lifetime value: RFM summaries of transaction logs and the buy-till-you-die models
//! (BG/NBD, Pareto/NBD, Gamma-Gamma, shifted-beta-geometric) fitted by maximum likelihood.

pub mod models;
pub mod optim;
pub mod rfm;
pub mod special;
