//! Bindings of `core::kernels::sales`: the partial states of deal, lead, support, campaign and
//! onboarding metrics (merged and finished by `state::merge` / `state::finish`), and quota
//! attainment, named like the public functions.

use arrow::array::RecordBatch;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{enter, freq, read_table, table_out, zone};
use crate::core::engine::state::{Analysis, Invalid};
use crate::core::input::time::{Freq, Unit};
use crate::core::input::{Column, Table};
use crate::core::kernels::sales::campaigns::{CampaignMetrics, Campaigns};
use crate::core::kernels::sales::deals::{Cohort, CycleOf, DealMetrics, Deals};
use crate::core::kernels::sales::leads::{LeadCohort, LeadMetrics, Leads};
use crate::core::kernels::sales::onboarding::{Onboarding, OnboardingTime};
use crate::core::kernels::sales::partial::Common;
use crate::core::kernels::sales::quota::{self, QuotaColumns};
use crate::core::kernels::sales::support::{SupportMetrics, Tickets};
use crate::core::{KpiError, KpiResult};

/// The settings every sales analysis shares, as given.
struct Shared {
    by: Vec<String>,
    freq: Option<String>,
    tz: String,
    week_start: String,
    invalid: String,
}

impl Shared {
    fn new(
        by: Vec<String>,
        freq: Option<String>,
        tz: &str,
        week_start: &str,
        invalid: &str,
    ) -> Self {
        Shared {
            by,
            freq,
            tz: tz.into(),
            week_start: week_start.into(),
            invalid: invalid.into(),
        }
    }

    /// The segment columns (`first`, then `by`) and the common settings, passed to `f`.
    fn with<T>(
        &self,
        table: &Table,
        first: Option<&str>,
        f: impl FnOnce(Common<'_>) -> KpiResult<T>,
    ) -> KpiResult<T> {
        let names: Vec<String> = first
            .map(str::to_string)
            .into_iter()
            .chain(self.by.iter().cloned())
            .collect();
        let segments = table.columns(&names)?;
        f(Common {
            segments: &segments,
            freq: self
                .freq
                .as_deref()
                .map(|f| freq(f, &self.week_start))
                .transpose()?,
            zone: zone(&self.tz)?,
            invalid: Invalid::parse(&self.invalid)?,
        })
    }
}

/// One sales analysis' partial step with the GIL released: the `required` columns, then the
/// `optional` ones (when named), then the segments (`rep` first) and settings, handed to `f`.
fn partial<const R: usize, const O: usize>(
    py: Python<'_>,
    table: AnyRecordBatch,
    shared: Shared,
    rep: Option<String>,
    required: [String; R],
    optional: [Option<String>; O],
    f: impl Send + FnOnce([Column; R], [Option<Column>; O], Common<'_>) -> KpiResult<RecordBatch>,
) -> PyResult<PyTable> {
    let table = read_table(table)?;
    table_out(enter(py, move || {
        let required = all(required.map(|n| table.column(&n)))?;
        let optional = all(optional.map(|n| n.map(|n| table.column(&n)).transpose()))?;
        shared.with(&table, rep.as_deref(), |common| {
            f(required, optional, common)
        })
    })?)
}

/// The values, or the first error in order.
fn all<T, const N: usize>(items: [KpiResult<T>; N]) -> KpiResult<[T; N]> {
    let values = items.into_iter().collect::<KpiResult<Vec<T>>>()?;
    <[T; N]>::try_from(values).map_err(|_| KpiError::Internal("column count changed".into()))
}

/// Partial deal metrics state per (period, rep, segments…) group.
#[pyfunction]
#[pyo3(signature = (table, *, created, closed, amount, won, deal=None, rep=None, by=Vec::new(), freq=None, cohort="closed", cycle_of="won", unit="days", tz="UTC", week_start="monday", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn deal_metrics(
    py: Python<'_>,
    table: AnyRecordBatch,
    created: String,
    closed: String,
    amount: String,
    won: String,
    deal: Option<String>,
    rep: Option<String>,
    by: Vec<String>,
    freq: Option<String>,
    cohort: &str,
    cycle_of: &str,
    unit: &str,
    tz: &str,
    week_start: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let s = Shared::new(by, freq, tz, week_start, invalid);
    let (cohort, cycle_of, unit) = (cohort.to_string(), cycle_of.to_string(), unit.to_string());
    let columns = [created, closed, amount, won];
    partial(
        py,
        table,
        s,
        rep,
        columns,
        [deal],
        move |c, [deal], common| {
            let [created, closed, amount, won] = &c;
            DealMetrics::partial(&Deals {
                created,
                closed,
                amount,
                won,
                deal: deal.as_ref(),
                cohort: Cohort::parse(&cohort)?,
                cycle_of: CycleOf::parse(&cycle_of)?,
                unit: Unit::parse(&unit)?,
                common,
            })
        },
    )
}

/// Partial lead metrics state per (period, segments…) group.
#[pyfunction]
#[pyo3(signature = (table, *, created, qualified=None, converted=None, revenue=None, by=Vec::new(), freq=None, cohort="created", tz="UTC", week_start="monday", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn lead_metrics(
    py: Python<'_>,
    table: AnyRecordBatch,
    created: String,
    qualified: Option<String>,
    converted: Option<String>,
    revenue: Option<String>,
    by: Vec<String>,
    freq: Option<String>,
    cohort: &str,
    tz: &str,
    week_start: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let s = Shared::new(by, freq, tz, week_start, invalid);
    let cohort = cohort.to_string();
    let optional = [qualified, converted, revenue];
    partial(
        py,
        table,
        s,
        None,
        [created],
        optional,
        move |[created], o, common| {
            let [qualified, converted, revenue] = &o;
            LeadMetrics::partial(&Leads {
                created: &created,
                qualified: qualified.as_ref(),
                converted: converted.as_ref(),
                revenue: revenue.as_ref(),
                cohort: LeadCohort::parse(&cohort)?,
                common,
            })
        },
    )
}

/// Partial support metrics state per (period, segments…) group.
#[pyfunction]
#[pyo3(signature = (table, *, opened, resolved=None, first_response=None, handle_seconds=None, by=Vec::new(), freq=None, unit="days", tz="UTC", week_start="monday", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn support_metrics(
    py: Python<'_>,
    table: AnyRecordBatch,
    opened: String,
    resolved: Option<String>,
    first_response: Option<String>,
    handle_seconds: Option<String>,
    by: Vec<String>,
    freq: Option<String>,
    unit: &str,
    tz: &str,
    week_start: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let s = Shared::new(by, freq, tz, week_start, invalid);
    let unit = unit.to_string();
    let optional = [resolved, first_response, handle_seconds];
    partial(
        py,
        table,
        s,
        None,
        [opened],
        optional,
        move |[opened], o, common| {
            let [resolved, first_response, handle_seconds] = &o;
            SupportMetrics::partial(&Tickets {
                opened: &opened,
                resolved: resolved.as_ref(),
                first_response: first_response.as_ref(),
                handle_seconds: handle_seconds.as_ref(),
                unit: Unit::parse(&unit)?,
                common,
            })
        },
    )
}

/// Partial campaign metrics state per (period, segments…) group.
#[pyfunction]
#[pyo3(signature = (table, *, sends=None, deliveries=None, opens=None, clicks=None, conversions=None, cost=None, revenue=None, by=Vec::new(), freq=None, time=None, base=None, conversion_base="clicked", tz="UTC", week_start="monday", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn campaign_metrics(
    py: Python<'_>,
    table: AnyRecordBatch,
    sends: Option<String>,
    deliveries: Option<String>,
    opens: Option<String>,
    clicks: Option<String>,
    conversions: Option<String>,
    cost: Option<String>,
    revenue: Option<String>,
    by: Vec<String>,
    freq: Option<String>,
    time: Option<String>,
    base: Option<String>,
    conversion_base: &str,
    tz: &str,
    week_start: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let s = Shared::new(by, freq, tz, week_start, invalid);
    let conversion_base = conversion_base.to_string();
    let optional = [
        time,
        sends,
        deliveries,
        opens,
        clicks,
        conversions,
        cost,
        revenue,
    ];
    partial(py, table, s, None, [], optional, move |[], o, common| {
        let [time, sends, deliveries, opens, clicks, conversions, cost, revenue] = &o;
        CampaignMetrics::partial(&Campaigns {
            time: time.as_ref(),
            sends: sends.as_ref(),
            deliveries: deliveries.as_ref(),
            opens: opens.as_ref(),
            clicks: clicks.as_ref(),
            conversions: conversions.as_ref(),
            cost: cost.as_ref(),
            revenue: revenue.as_ref(),
            base: base.as_deref(),
            conversion_base: &conversion_base,
            common,
        })
    })
}

/// Partial time-to-first-value state per (start period, segments…) group.
#[pyfunction]
#[pyo3(signature = (table, *, started, first_value, by=Vec::new(), freq=None, unit="days", tz="UTC", week_start="monday", invalid="raise"))]
#[allow(clippy::too_many_arguments)]
pub fn onboarding_time(
    py: Python<'_>,
    table: AnyRecordBatch,
    started: String,
    first_value: String,
    by: Vec<String>,
    freq: Option<String>,
    unit: &str,
    tz: &str,
    week_start: &str,
    invalid: &str,
) -> PyResult<PyTable> {
    let s = Shared::new(by, freq, tz, week_start, invalid);
    let unit = unit.to_string();
    let columns = [started, first_value];
    partial(py, table, s, None, columns, [], move |c, [], common| {
        let [started, first_value] = &c;
        OnboardingTime::partial(&Onboarding {
            started,
            first_value,
            unit: Unit::parse(&unit)?,
            common,
        })
    })
}

/// Quota attainment per rep and period from a table of actuals and a table of quotas.
#[pyfunction]
#[pyo3(signature = (actuals, quotas, *, rep, time, amount="amount", quota="quota", quota_rep=None, quota_period=None, freq="month", to_date=Some("year".to_string()), tz="UTC"))]
#[allow(clippy::too_many_arguments)]
pub fn quota_attainment(
    py: Python<'_>,
    actuals: AnyRecordBatch,
    quotas: AnyRecordBatch,
    rep: String,
    time: String,
    amount: &str,
    quota: &str,
    quota_rep: Option<String>,
    quota_period: Option<String>,
    freq: &str,
    to_date: Option<String>,
    tz: &str,
) -> PyResult<PyTable> {
    let (actuals, quotas) = (read_table(actuals)?, read_table(quotas)?);
    let (amount, quota, freq, tz) = (
        amount.to_string(),
        quota.to_string(),
        freq.to_string(),
        tz.to_string(),
    );
    table_out(enter(py, move || {
        let names = QuotaColumns {
            rep: &rep,
            time: &time,
            amount: &amount,
            quota: &quota,
            quota_rep: quota_rep.as_deref(),
            quota_period: quota_period.as_deref(),
        };
        let (a, q) = names.read(&actuals, &quotas)?;
        quota::quota_attainment(
            &a,
            &q,
            Freq::parse(&freq, 0)?,
            zone(&tz)?,
            quota::parse_to_date(to_date.as_deref())?,
        )
    })?)
}
