//! Every analysis by name (docs/architecture.md (partial state → merge → finish)): a state, wherever it was made,
//! is merged and finished by the analysis its metadata names, so one merge and one finish
//! serve all of them.

use arrow::array::RecordBatch;

use crate::core::engine::state::{meta, Analysis};
use crate::core::error::{KpiError, KpiResult};
use crate::core::kernels::activity::active_users::ActiveUsers;
use crate::core::kernels::clv::rfm::RfmSummary;
use crate::core::kernels::funnel::events::Funnel;
use crate::core::kernels::funnel::stages::FunnelFromStages;
use crate::core::kernels::retention::analysis::Retention;
use crate::core::kernels::revenue::cohorts::RevenueCohorts;
use crate::core::kernels::revenue::movements::MrrMovements;
use crate::core::kernels::survey::{Csat, Nps};
// sales
use crate::core::kernels::sales::{
    campaigns::CampaignMetrics, deals::DealMetrics, leads::LeadMetrics, onboarding::OnboardingTime,
    support::SupportMetrics,
};

/// Lists the analyses once: their names and the dispatch of merge and finish.
macro_rules! analyses {
    ($($a:ty),* $(,)?) => {
        /// The name of every analysis (each is also its public function's name).
        pub const NAMES: &[&str] = &[$(<$a as Analysis>::NAME),*];

        fn merge_by_name(name: &str, states: &[RecordBatch]) -> Option<KpiResult<RecordBatch>> {
            $(if name == <$a as Analysis>::NAME {
                return Some(<$a as Analysis>::merge(states));
            })*
            None
        }

        fn finish_by_name(name: &str, state: &RecordBatch) -> Option<KpiResult<RecordBatch>> {
            $(if name == <$a as Analysis>::NAME {
                return Some(<$a as Analysis>::finish(state));
            })*
            None
        }
    };
}

analyses!(
    Nps,
    Csat,
    // activity and retention
    ActiveUsers,
    Retention,
    // sales
    DealMetrics,
    LeadMetrics,
    SupportMetrics,
    CampaignMetrics,
    OnboardingTime,
    // customer lifetime value
    RfmSummary,
    // funnels
    Funnel,
    FunnelFromStages,
    // revenue
    MrrMovements,
    RevenueCohorts,
);

/// The analysis that made `state`, from its metadata.
fn name_of(state: &RecordBatch) -> KpiResult<String> {
    state
        .schema()
        .metadata()
        .get(meta::ANALYSIS)
        .cloned()
        .ok_or_else(|| KpiError::param("state", "not a kpikit state (no analysis metadata)"))
}

fn unknown(name: &str) -> KpiError {
    KpiError::param(
        "state",
        format!("made by {name:?}, which is none of {NAMES:?}"),
    )
}

/// Merge states of disjoint row sets, made by one analysis with equal settings.
pub fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let first = states
        .first()
        .ok_or_else(|| KpiError::param("states", "at least one partial state is needed"))?;
    let name = name_of(first)?;
    merge_by_name(&name, states).unwrap_or_else(|| Err(unknown(&name)))
}

/// The result of a (merged) state.
pub fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
    let name = name_of(state)?;
    finish_by_name(&name, state).unwrap_or_else(|| Err(unknown(&name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::engine::state::Invalid;
    use crate::core::input::Column;
    use crate::core::kernels::survey::{Scale, Scores};
    use arrow::array::Int64Array;
    use std::sync::Arc;

    #[test]
    fn a_state_is_merged_and_finished_by_the_analysis_it_names() {
        let score = Column::from_array("s", Arc::new(Int64Array::from(vec![10, 9, 3, 8])));
        let input = Scores {
            score: &score,
            periods: None,
            segments: &[],
            scale: Scale::NPS,
            invalid: Invalid::Raise,
        };
        let state = Nps::partial(&input).unwrap();
        let merged = merge(&[state.clone(), state]).unwrap();
        let out = finish(&merged).unwrap();
        // 4 promoters, 2 detractors of 8 → +25.
        let nps = out.column_by_name("nps").unwrap();
        let nps = nps
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap();
        assert!((nps.value(0) - 25.0).abs() < 1e-12);
        assert!(NAMES.contains(&"nps") && NAMES.contains(&"csat"));
    }

    #[test]
    fn a_foreign_table_is_not_a_state() {
        let batch = RecordBatch::new_empty(Arc::new(arrow::datatypes::Schema::empty()));
        let e = finish(&batch).unwrap_err().to_string();
        assert!(e.contains("not a kpikit state"), "{e}");
        assert!(merge(&[]).is_err());
    }
}
