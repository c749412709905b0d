//! The metric catalog: one definition per metric kpikit computes, kept as data
//! (`catalog.json`, compiled into the crate) and checked here against closed vocabularies, so a
//! typo in a unit or a stage fails the build's tests rather than a user's report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{KpiError, KpiResult};
use super::kpi::Direction;

const CATALOG: &str = include_str!("catalog.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Fraction,
    Ratio,
    Currency,
    CurrencyPerDay,
    Count,
    Score,
    Days,
    Hours,
    Seconds,
    Months,
    Flag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    Marketing,
    Sales,
    CustomerSuccess,
    Support,
    Finance,
    Product,
}

/// Customer-journey stages (docs/conventions.md#journey-stages); `none` for company-level formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Awareness,
    Consideration,
    Decision,
    Retention,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Industry {
    Saas,
    Ecommerce,
    Retail,
    ProfessionalServices,
    OnlineMedia,
}

/// Source tables a metric reads (docs/conventions.md#source-roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    Subscriptions,
    Spend,
    Events,
    Leads,
    Deals,
    Quotas,
    Responses,
    Tickets,
    Campaigns,
    Transactions,
    Financials,
}

/// One metric definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricDef {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The formula in words.
    pub formula: String,
    pub unit: Unit,
    pub direction: Direction,
    pub department: Department,
    pub stage: Stage,
    pub cadence: Cadence,
    pub industries: Vec<Industry>,
    pub inputs: Vec<Input>,
    /// The kpikit function that computes it (`revenue_metrics`, `formulas.roi`…).
    pub function: String,
    /// The output column holding it.
    pub column: String,
    /// Rows of the output it is read from (column → value), for long outputs such as funnels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub select: BTreeMap<String, String>,
}

/// Every definition, in catalog order; ids are unique and no text field is empty.
pub fn catalog() -> KpiResult<Vec<MetricDef>> {
    let defs: Vec<MetricDef> = serde_json::from_str(CATALOG)
        .map_err(|e| KpiError::Internal(format!("the metric catalog does not parse: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    for d in &defs {
        if !seen.insert(d.id.as_str()) {
            return Err(KpiError::Internal(format!(
                "metric {:?} is defined twice in the catalog",
                d.id
            )));
        }
        for (field, text) in [
            ("name", &d.name),
            ("description", &d.description),
            ("formula", &d.formula),
            ("function", &d.function),
            ("column", &d.column),
        ] {
            if text.trim().is_empty() {
                return Err(KpiError::Internal(format!(
                    "metric {:?} has an empty {field}",
                    d.id
                )));
            }
        }
        if d.industries.is_empty() || d.inputs.is_empty() {
            return Err(KpiError::Internal(format!(
                "metric {:?} lists no industries or no inputs",
                d.id
            )));
        }
    }
    Ok(defs)
}

/// The catalog as JSON (what the Python package reads).
pub fn catalog_json() -> KpiResult<String> {
    serde_json::to_string(&catalog()?)
        .map_err(|e| KpiError::Internal(format!("the metric catalog does not serialise: {e}")))
}

/// A user's definition checked against the same vocabularies as the built-ins (JSON in, the
/// normalised JSON out); `known` ids may not be redefined.
pub fn check_definition(json: &str, known: &[String]) -> KpiResult<String> {
    let d: MetricDef =
        serde_json::from_str(json).map_err(|e| KpiError::param("definition", e.to_string()))?;
    if d.id.trim().is_empty() || !d.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(KpiError::param(
            "id",
            format!("{:?} is not an identifier (letters, digits, _)", d.id),
        ));
    }
    if known.contains(&d.id) {
        return Err(KpiError::param(
            "id",
            format!("{:?} is already a metric of the catalog", d.id),
        ));
    }
    serde_json::to_string(&d).map_err(|e| KpiError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_parses_with_unique_ids() {
        let defs = catalog().unwrap();
        assert!(defs.len() >= 60, "{}", defs.len());
        let nrr = defs
            .iter()
            .find(|d| d.id == "net_revenue_retention")
            .unwrap();
        assert_eq!(nrr.direction, Direction::Increase);
        assert_eq!(nrr.stage, Stage::Retention);
        // The executive seven all have definitions.
        for id in [
            "customer_churn_rate",
            "avg_deal_size",
            "qualified_leads",
            "net_negative_churn",
            "revenue_per_lead",
            "nps",
            "csat",
            "cac_payback_months",
            "ltv_cac",
        ] {
            assert!(defs.iter().any(|d| d.id == id), "{id}");
        }
    }

    #[test]
    fn user_definitions_use_the_same_vocabulary() {
        let ok = r#"{"id": "mrr_per_seat", "name": "MRR per seat", "description": "d", "formula": "mrr / seats", "unit": "currency", "direction": "increase", "department": "finance", "stage": "retention", "cadence": "month", "industries": ["saas"], "inputs": ["subscriptions"], "function": "user", "column": "mrr_per_seat"}"#;
        assert!(check_definition(ok, &[]).is_ok());
        let bad_unit = ok.replace("\"currency\"", "\"dollars\"");
        assert!(check_definition(&bad_unit, &[])
            .unwrap_err()
            .to_string()
            .contains("dollars"));
        assert!(check_definition(ok, &["mrr_per_seat".into()]).is_err());
    }

    #[test]
    fn rates_are_fractions() {
        for d in catalog().unwrap() {
            // A billable rate is money per hour, not a share.
            if d.id.ends_with("_rate") && d.id != "effective_billable_rate" {
                assert!(
                    matches!(d.unit, Unit::Fraction),
                    "{} is a rate but its unit is {:?}",
                    d.id,
                    d.unit
                );
            }
        }
    }
}
