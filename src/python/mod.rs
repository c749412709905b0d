//! The binding layer: argument conversion, GIL release and error mapping. No formulas here.

mod activity;
mod clv;
mod convert;
mod demo;
mod error;
mod formulas;
mod funnel;
mod kpi;
mod revenue;
mod sales;
mod state;
mod survey;
// Data integrity checks behind `kpikit.check`.
mod integrity;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
pub mod _kpikit {
    #[pymodule_export]
    use super::activity::{active_users, lifecycle, retention, retention_presets, stickiness};
    #[pymodule_export]
    use super::clv::{
        clv_fit, clv_fit_gamma_gamma, clv_fit_shifted_beta_geo, clv_log_likelihood, clv_predict,
        clv_survivor_rows, customer_lifetime_value, rfm_split, rfm_summary,
    };
    // The model checks after a fit, and the BG/BB lifetime value.
    #[pymodule_export]
    use super::clv::{
        clv_alive_path, clv_bgbb_lifetime_value, clv_cumulative_transactions, clv_holdout_by_group,
    };
    #[pymodule_export]
    use super::convert::table_buffer_addresses;
    #[pymodule_export]
    use super::demo::demo_company;
    #[pymodule_export]
    use super::formulas::{column_buffer_addresses, formula};
    #[pymodule_export]
    use super::funnel::{funnel, funnel_from_stages};
    #[pymodule_export]
    use super::kpi::{catalog, kpi_evaluate, register_metric};
    #[pymodule_export]
    use super::revenue::{
        mrr, mrr_movements, revenue_cohorts, revenue_conventions, revenue_metrics,
    };
    #[pymodule_export]
    use super::survey::{csat, nps};
    // The protocol: one merge and one finish for every analysis's states.
    #[pymodule_export]
    use super::state::{finish, merge};
    // Sales, marketing, support and onboarding metrics.
    #[pymodule_export]
    use super::sales::{
        campaign_metrics, deal_metrics, lead_metrics, onboarding_time, quota_attainment,
        support_metrics,
    };
    // Data integrity checks.
    #[pymodule_export]
    use super::integrity::check;

    #[pymodule_init]
    fn init(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
        use pyo3::types::PyModuleMethods;
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add("debug_build", cfg!(debug_assertions))?;
        #[cfg(feature = "test-hooks")]
        {
            use pyo3::types::PyAnyMethods;
            // setattr, not add: a private test hook stays out of __all__ and the stub.
            m.setattr("_panic", pyo3::wrap_pyfunction!(super::panic_for_tests, m)?)?;
        }
        Ok(())
    }
}

/// Panics inside the core call path; only in builds with the `test-hooks` feature.
#[cfg(feature = "test-hooks")]
#[pyfunction]
fn panic_for_tests(py: Python<'_>, message: String) -> PyResult<()> {
    convert::enter(py, move || -> crate::core::KpiResult<()> {
        panic!("{message}")
    })
}
