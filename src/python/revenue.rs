//! Bindings of `core::kernels::revenue`: MRR per customer, the MRR movements and cohorts (partial
//! states, merged and finished by `_kpikit.merge` / `_kpikit.finish`), and the revenue rates.

use pyo3::prelude::*;
use pyo3_arrow::input::{AnyArray, AnyRecordBatch};
use pyo3_arrow::PyTable;

use super::convert::{self, enter, read_column, read_table, table_out, AnyInt};
use crate::core::engine::state::Analysis;
use crate::core::input::{Column, Table};
use crate::core::kernels::revenue::cohorts::RevenueCohorts;
use crate::core::kernels::revenue::conventions::Conventions;
use crate::core::kernels::revenue::input::{ColumnNames, Duplicates, RevenueInput, Snapshot};
use crate::core::kernels::revenue::ledger;
use crate::core::kernels::revenue::metrics as rates;
use crate::core::kernels::revenue::movements::{MovementsInput, MrrMovements};
use crate::core::KpiResult;

/// The call's input columns and how they are read, converted in the core. `times` are the
/// snapshot times of the whole data when the table is one partition of it (Dask).
struct Spec {
    names: ColumnNames,
    freq: String,
    week_start: String,
    snapshot: String,
    tz: String,
    duplicates: String,
    times: Option<Column>,
}

impl Spec {
    /// The source a call names: the customer column, the optional `[period, mrr, started,
    /// ended, amount, interval, discount, discount_percent]` columns, the segments, and the settings `[freq, week_start,
    /// snapshot, tz, duplicates]` as given (read in the core by [`Spec::input`]).
    fn read(
        customer: String,
        columns: [Option<String>; 8],
        by: Vec<String>,
        settings: [&str; 5],
        times: Option<AnyArray>,
    ) -> PyResult<Spec> {
        let [period, mrr, started, ended, amount, interval, discount, discount_percent] = columns;
        let [freq, week_start, snapshot, tz, duplicates] = settings.map(str::to_string);
        Ok(Spec {
            names: ColumnNames {
                customer,
                period,
                mrr,
                started,
                ended,
                amount,
                interval,
                discount,
                discount_percent,
                by,
            },
            freq,
            week_start,
            snapshot,
            tz,
            duplicates,
            times: times.map(|t| read_column("times", t)).transpose()?,
        })
    }

    fn input(&self, table: &Table) -> KpiResult<RevenueInput> {
        RevenueInput::from_table(
            table,
            &self.names,
            Snapshot::parse(&self.snapshot)?,
            Duplicates::parse(&self.duplicates)?,
            self.times.clone(),
            convert::freq(&self.freq, &self.week_start)?,
            convert::zone(&self.tz)?,
        )
    }
}

/// MRR per customer per period (customer, period, mrr).
#[pyfunction]
#[pyo3(signature = (table, customer, *, period=None, mrr=None, started=None, ended=None, amount=None, interval=None, discount=None, discount_percent=None, freq="month", week_start="monday", snapshot="end", tz="UTC", duplicates="raise", times=None))]
#[allow(clippy::too_many_arguments)]
pub fn mrr(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    period: Option<String>,
    mrr: Option<String>,
    started: Option<String>,
    ended: Option<String>,
    amount: Option<String>,
    interval: Option<String>,
    discount: Option<String>,
    discount_percent: Option<String>,
    freq: &str,
    week_start: &str,
    snapshot: &str,
    tz: &str,
    duplicates: &str,
    times: Option<AnyArray>,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let columns = [
        period,
        mrr,
        started,
        ended,
        amount,
        interval,
        discount,
        discount_percent,
    ];
    let settings = [freq, week_start, snapshot, tz, duplicates];
    let spec = Spec::read(customer, columns, Vec::new(), settings, times)?;
    table_out(enter(py, move || ledger::mrr(&spec.input(&table)?))?)
}

/// The MRR movements of one customer partition as a partial state (flows per period and
/// segments), or with `detail` the per-customer ledger (one pass, not mergeable).
#[pyfunction]
#[pyo3(signature = (table, customer, *, period=None, mrr=None, started=None, ended=None, amount=None, interval=None, discount=None, discount_percent=None, freq="month", week_start="monday", snapshot="end", tz="UTC", duplicates="raise", times=None, by=Vec::new(), preset=None, conventions=Vec::new(), detail=false))]
#[allow(clippy::too_many_arguments)]
pub fn mrr_movements(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    period: Option<String>,
    mrr: Option<String>,
    started: Option<String>,
    ended: Option<String>,
    amount: Option<String>,
    interval: Option<String>,
    discount: Option<String>,
    discount_percent: Option<String>,
    freq: &str,
    week_start: &str,
    snapshot: &str,
    tz: &str,
    duplicates: &str,
    times: Option<AnyArray>,
    by: Vec<String>,
    preset: Option<String>,
    conventions: Vec<(String, String)>,
    detail: bool,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let columns = [
        period,
        mrr,
        started,
        ended,
        amount,
        interval,
        discount,
        discount_percent,
    ];
    let settings = [freq, week_start, snapshot, tz, duplicates];
    let spec = Spec::read(customer, columns, by, settings, times)?;
    table_out(enter(py, move || {
        let conventions = Conventions::of_call(preset.as_deref(), &conventions)?;
        let revenue = spec.input(&table)?;
        if detail {
            ledger::movement_ledger(&revenue, &conventions)
        } else {
            MrrMovements::partial(&MovementsInput {
                revenue: &revenue,
                conventions: &conventions,
            })
        }
    })?)
}

/// The MRR cohorts of one customer partition as a partial state (changes per cohort and
/// period).
#[pyfunction]
#[pyo3(signature = (table, customer, *, period=None, mrr=None, started=None, ended=None, amount=None, interval=None, discount=None, discount_percent=None, freq="month", week_start="monday", snapshot="end", tz="UTC", duplicates="raise", times=None))]
#[allow(clippy::too_many_arguments)]
pub fn revenue_cohorts(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    period: Option<String>,
    mrr: Option<String>,
    started: Option<String>,
    ended: Option<String>,
    amount: Option<String>,
    interval: Option<String>,
    discount: Option<String>,
    discount_percent: Option<String>,
    freq: &str,
    week_start: &str,
    snapshot: &str,
    tz: &str,
    duplicates: &str,
    times: Option<AnyArray>,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let columns = [
        period,
        mrr,
        started,
        ended,
        amount,
        interval,
        discount,
        discount_percent,
    ];
    let settings = [freq, week_start, snapshot, tz, duplicates];
    let spec = Spec::read(customer, columns, Vec::new(), settings, times)?;
    table_out(enter(py, move || {
        RevenueCohorts::partial(&spec.input(&table)?)
    })?)
}

/// kpikit's default conventions and every preset's, as one JSON object
/// `{"default": {...}, "presets": {"chartmogul": {...}, ...}}`: the Python package reads them
/// from here so that the core stays the one place they are defined.
#[pyfunction]
pub fn revenue_conventions() -> PyResult<String> {
    Conventions::all_json().map_err(|e| super::error::PyKpiError::from(e).into())
}

/// Revenue rates per period (and segment) from a movement table; `ledger_conventions` is the
/// JSON the movements were computed with, when known.
#[pyfunction]
#[pyo3(signature = (movements, *, freq="month", week_start="monday", ledger_conventions=None, preset=None, conventions=Vec::new(), gross_margin=None, cac_lag=AnyInt(0), spend=None, spend_time="month", spend_amount="amount", spend_net_burn=None, tz="UTC"), text_signature = "(movements, *, freq=\"month\", week_start=\"monday\", ledger_conventions=None, preset=None, conventions=..., gross_margin=None, cac_lag=0, spend=None, spend_time=\"month\", spend_amount=\"amount\", spend_net_burn=None, tz=\"UTC\")")]
#[allow(clippy::too_many_arguments)]
pub fn revenue_metrics(
    py: Python<'_>,
    movements: AnyRecordBatch,
    freq: &str,
    week_start: &str,
    ledger_conventions: Option<String>,
    preset: Option<String>,
    conventions: Vec<(String, String)>,
    gross_margin: Option<f64>,
    cac_lag: AnyInt,
    spend: Option<AnyRecordBatch>,
    spend_time: &str,
    spend_amount: &str,
    spend_net_burn: Option<String>,
    tz: &str,
) -> PyResult<PyTable> {
    let movements = read_table(movements)?;
    let spend = spend.map(read_table).transpose()?;
    let (freq, week_start, tz) = (freq.to_string(), week_start.to_string(), tz.to_string());
    let (spend_time, spend_amount) = (spend_time.to_string(), spend_amount.to_string());
    table_out(enter(py, move || {
        let ledger = ledger_conventions
            .as_deref()
            .map(Conventions::from_json)
            .transpose()?;
        let opts = rates::MetricOptions {
            conventions: rates::rate_conventions(ledger, preset.as_deref(), &conventions)?,
            freq: convert::freq(&freq, &week_start)?,
            gross_margin,
            cac_lag: cac_lag.bounded("cac_lag", 0, rates::MAX_CAC_LAG.into())?,
        };
        let zone = convert::zone(&tz)?;
        let spend = spend.as_ref().map(|t| rates::Spend {
            table: t,
            time: spend_time,
            amount: spend_amount,
            net_burn: spend_net_burn,
            zone,
        });
        rates::revenue_metrics(&movements, &opts, spend.as_ref())
    })?)
}
