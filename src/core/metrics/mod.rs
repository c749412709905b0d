//! Metric knowledge: the catalog of every metric kpikit computes ([`catalog`], kept as data in
//! `catalog.json`) and the elementwise business formulas ([`formulas`]).

pub mod catalog;
pub mod formulas;
