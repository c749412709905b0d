//! Bindings of `core::revenue`: MRR per customer, and the MRR movement ledger as
//! partial → merge → finish.

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, merge_states, read_table, table_out, AnyInt};
use crate::core::input::Table;
use crate::core::revenue::{self, ColumnNames, Conventions, RevenueInput, Snapshot};
use crate::core::revenue_metrics as rates;
use crate::core::time::{parse_weekday, Freq, Zone};
use crate::core::KpiResult;

/// The call's input columns, read in the core from the keywords.
struct Spec {
    names: ColumnNames,
    freq: String,
    week_start: String,
    snapshot: String,
    tz: String,
}

impl Spec {
    #[allow(clippy::too_many_arguments)]
    fn new(
        customer: String,
        period: Option<String>,
        mrr: Option<String>,
        start: Option<String>,
        end: Option<String>,
        amount: Option<String>,
        interval: Option<String>,
        by: Vec<String>,
        freq: &str,
        week_start: &str,
        snapshot: &str,
        tz: &str,
    ) -> Spec {
        Spec {
            names: ColumnNames {
                customer,
                period,
                mrr,
                start,
                end,
                amount,
                interval,
                by,
            },
            freq: freq.into(),
            week_start: week_start.into(),
            snapshot: snapshot.into(),
            tz: tz.into(),
        }
    }

    fn input(&self, table: &Table) -> KpiResult<RevenueInput> {
        RevenueInput::from_table(
            table,
            &self.names,
            Snapshot::parse(&self.snapshot)?,
            Freq::parse(&self.freq, parse_weekday(&self.week_start)?)?,
            self.tz.parse::<Zone>()?,
        )
    }
}

fn conventions(preset: Option<&str>, overrides: &[(String, String)]) -> KpiResult<Conventions> {
    let mut c = match preset {
        Some(p) => Conventions::preset(p)?,
        None => Conventions::default(),
    };
    for (k, v) in overrides {
        c.set(k, v)?;
    }
    Ok(c)
}

/// MRR per customer per period (customer, period, mrr).
#[pyfunction]
#[pyo3(signature = (table, customer, *, period=None, mrr=None, start=None, end=None, amount=None, interval=None, freq="month", week_start="monday", snapshot="end", tz="UTC"))]
#[allow(clippy::too_many_arguments)]
pub fn customer_mrr(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    period: Option<String>,
    mrr: Option<String>,
    start: Option<String>,
    end: Option<String>,
    amount: Option<String>,
    interval: Option<String>,
    freq: &str,
    week_start: &str,
    snapshot: &str,
    tz: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let spec = Spec::new(
        customer,
        period,
        mrr,
        start,
        end,
        amount,
        interval,
        Vec::new(),
        freq,
        week_start,
        snapshot,
        tz,
    );
    table_out(enter(py, move || {
        revenue::customer_mrr(&spec.input(&table)?)
    })?)
}

/// The movements of one customer partition: its partial state (flows per period and segments,
/// to merge and finish), or with `detail` the per-customer ledger (one pass, not mergeable).
#[pyfunction]
#[pyo3(signature = (table, customer, *, period=None, mrr=None, start=None, end=None, amount=None, interval=None, freq="month", week_start="monday", snapshot="end", tz="UTC", by=Vec::new(), preset=None, conventions=Vec::new(), detail=false))]
#[allow(clippy::too_many_arguments)]
pub fn movements(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    period: Option<String>,
    mrr: Option<String>,
    start: Option<String>,
    end: Option<String>,
    amount: Option<String>,
    interval: Option<String>,
    freq: &str,
    week_start: &str,
    snapshot: &str,
    tz: &str,
    by: Vec<String>,
    preset: Option<String>,
    conventions: Vec<(String, String)>,
    detail: bool,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let spec = Spec::new(
        customer, period, mrr, start, end, amount, interval, by, freq, week_start, snapshot, tz,
    );
    table_out(enter(py, move || {
        let conv = self::conventions(preset.as_deref(), &conventions)?;
        let input = spec.input(&table)?;
        if detail {
            revenue::movement_ledger(&input, &conv)
        } else {
            revenue::movement_state(&input, &conv)
        }
    })?)
}

/// Merge the states of customer partitions (flows add up).
#[pyfunction]
pub fn merge_movement_states(py: Python<'_>, states: Vec<AnyRecordBatch>) -> PyResult<PyTable> {
    merge_states(py, states, revenue::merge_movement_states)
}

/// Finish a movement state into one row per period (and segment).
#[pyfunction]
pub fn finish_movements(py: Python<'_>, state: AnyRecordBatch) -> PyResult<PyTable> {
    let state = read_table(state)?;
    table_out(enter(py, move || {
        revenue::finish_movements(&state.single_batch()?)
    })?)
}

/// kpikit's default conventions and every preset's, as one JSON object
/// `{"default": {...}, "presets": {"chartmogul": {...}, ...}}`: the Python package reads them
/// from here so that the core stays the one place they are defined.
#[pyfunction]
pub fn revenue_conventions() -> PyResult<String> {
    let mut presets = Vec::new();
    for name in revenue::PRESETS {
        let c = Conventions::preset(name).map_err(super::error::PyKpiError::from)?;
        presets.push(format!("{name:?}: {}", c.to_json()));
    }
    Ok(format!(
        "{{\"default\": {}, \"presets\": {{{}}}}}",
        Conventions::default().to_json(),
        presets.join(", ")
    ))
}

/// Revenue rates per period (and segment) from a movement table; `ledger_conventions` is the
/// JSON the movements were computed with, when known.
#[pyfunction]
#[pyo3(signature = (movements, *, freq="month", week_start="monday", ledger_conventions=None, preset=None, conventions=Vec::new(), gross_margin=None, cac_lag=AnyInt(0), spend=None, spend_time="month", spend_amount="amount", tz="UTC"), text_signature = "(movements, *, freq=\"month\", week_start=\"monday\", ledger_conventions=None, preset=None, conventions=..., gross_margin=None, cac_lag=0, spend=None, spend_time=\"month\", spend_amount=\"amount\", tz=\"UTC\")")]
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
    tz: &str,
) -> PyResult<PyTable> {
    let movements = read_table(movements)?;
    let (spend_time, spend_amount) = (spend_time.to_string(), spend_amount.to_string());
    let spend = spend.map(read_table).transpose()?;
    let (freq, week_start, tz) = (freq.to_string(), week_start.to_string(), tz.to_string());
    table_out(enter(py, move || {
        let ledger = ledger_conventions
            .as_deref()
            .map(Conventions::from_json)
            .transpose()?;
        let opts = rates::MetricOptions {
            conventions: rates::rate_conventions(ledger, preset.as_deref(), &conventions)?,
            freq: Freq::parse(&freq, parse_weekday(&week_start)?)?,
            gross_margin,
            cac_lag: cac_lag.bounded("cac_lag", 0, rates::MAX_CAC_LAG.into())?,
        };
        let spend = spend.as_ref().map(|t| rates::Spend {
            table: t,
            time: spend_time,
            amount: spend_amount,
            zone: Zone::Utc,
        });
        let zone = tz.parse::<Zone>()?;
        let spend = spend.map(|s| rates::Spend { zone, ..s });
        rates::revenue_metrics(&movements, &opts, spend.as_ref())
    })?)
}

/// The revenue cohort state of one customer partition (changes per cohort and period).
#[pyfunction]
#[pyo3(signature = (table, customer, *, period=None, mrr=None, start=None, end=None, amount=None, interval=None, freq="month", week_start="monday", snapshot="end", tz="UTC"))]
#[allow(clippy::too_many_arguments)]
pub fn cohort_state(
    py: Python<'_>,
    table: AnyRecordBatch,
    customer: String,
    period: Option<String>,
    mrr: Option<String>,
    start: Option<String>,
    end: Option<String>,
    amount: Option<String>,
    interval: Option<String>,
    freq: &str,
    week_start: &str,
    snapshot: &str,
    tz: &str,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    let spec = Spec::new(
        customer,
        period,
        mrr,
        start,
        end,
        amount,
        interval,
        Vec::new(),
        freq,
        week_start,
        snapshot,
        tz,
    );
    table_out(enter(py, move || {
        revenue::cohort_state(&spec.input(&table)?)
    })?)
}

/// Merge the cohort states of customer partitions.
#[pyfunction]
pub fn merge_cohort_states(py: Python<'_>, states: Vec<AnyRecordBatch>) -> PyResult<PyTable> {
    merge_states(py, states, revenue::merge_cohort_states)
}

/// Finish a cohort state into the long-form triangle.
#[pyfunction]
pub fn finish_cohorts(py: Python<'_>, state: AnyRecordBatch) -> PyResult<PyTable> {
    let state = read_table(state)?;
    table_out(enter(py, move || {
        revenue::finish_cohorts(&state.single_batch()?)
    })?)
}
