//! Bindings of `core::sales`: one partial-state entry point for the sales, lead, support,
//! campaign and onboarding analyses (the analysis is `kind`), the merge, the finish, and quota
//! attainment.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, merge_states, read_table, table_out};
use crate::core::sales::{self, Kind, OwnerValues, Spec};
use crate::core::state::Invalid;
use crate::core::time::{parse_weekday, Freq, Zone};

/// Partial state of one table or partition. `columns` maps each role (created, closed…) to a
/// column name; `options` holds the analysis' conventions (cohort, cycle_of…).
#[pyfunction]
#[pyo3(signature = (kind, table, columns, *, by=Vec::new(), freq=None, tz="UTC", week_start="monday", options=HashMap::new(), invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn sales_state(
    py: Python<'_>,
    kind: &str,
    table: AnyRecordBatch,
    columns: HashMap<String, String>,
    by: Vec<String>,
    freq: Option<String>,
    tz: &str,
    week_start: &str,
    options: HashMap<String, String>,
    invalid: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let (kind, tz, week_start, invalid) = (
        kind.to_string(),
        tz.to_string(),
        week_start.to_string(),
        invalid.to_string(),
    );
    let state = enter(py, move || {
        let kind = Kind::parse(&kind)?;
        let freq = freq
            .map(|f| Freq::parse(&f, parse_weekday(&week_start)?))
            .transpose()?;
        let spec = Spec {
            columns,
            segments: by,
            freq,
            zone: tz.parse::<Zone>()?,
            options,
            invalid: Invalid::parse(&invalid)?,
        };
        sales::state(kind, &table, &spec)
    })?;
    table_out(state)
}

/// Merge partial states of several partitions (counts and sums add, value lists concatenate).
#[pyfunction]
pub fn merge_sales_states(py: Python<'_>, states: Vec<AnyRecordBatch>) -> PyResult<PyTable> {
    merge_states(py, states, sales::merge_states)
}

/// Finish a state into its metrics.
#[pyfunction]
pub fn finish_sales(py: Python<'_>, state: AnyRecordBatch) -> PyResult<PyTable> {
    let state = read_table(state)?;
    table_out(enter(py, move || sales::finish(&state.single_batch()?))?)
}

/// Quota attainment per owner and period from a table of actuals and a table of quotas.
#[pyfunction]
#[pyo3(signature = (actuals, quotas, *, owner, period, actual, quota, quota_owner, quota_period, freq="month", tz="UTC", to_date=None))]
#[allow(clippy::too_many_arguments)]
pub fn quota_attainment(
    py: Python<'_>,
    actuals: AnyRecordBatch,
    quotas: AnyRecordBatch,
    owner: String,
    period: String,
    actual: String,
    quota: String,
    quota_owner: String,
    quota_period: String,
    freq: &str,
    tz: &str,
    to_date: Option<String>,
) -> PyResult<PyTable> {
    let (actuals, quotas) = (read_table(actuals)?, read_table(quotas)?);
    let (freq, tz) = (freq.to_string(), tz.to_string());
    table_out(enter(py, move || {
        let a = OwnerValues {
            owner: actuals.column(&owner)?,
            period: actuals.column(&period)?,
            value: actuals.column(&actual)?,
        };
        let q = OwnerValues {
            owner: quotas.column(&quota_owner)?,
            period: quotas.column(&quota_period)?,
            value: quotas.column(&quota)?,
        };
        let to_date = match to_date.as_deref() {
            None | Some("all") => None,
            Some(f) => Some(Freq::parse(f, 0).map_err(|_| {
                crate::core::KpiError::param(
                    "to_date",
                    format!("{f:?} is not one of \"quarter\", \"year\", \"all\""),
                )
            })?),
        };
        sales::quota_attainment(&a, &q, Freq::parse(&freq, 0)?, tz.parse::<Zone>()?, to_date)
    })?)
}
