//! The metric catalog: one definition per metric kpikit computes, kept as data
//! (`catalog.json`, compiled into the crate) and checked here against closed vocabularies, so a
//! typo in a unit or a stage fails the build's tests rather than a user's report.
//!
//! Besides the definitions, the catalog holds what the KPI layer needs to compute a metric from
//! a bundle of sources: each function's recipe (the role it reads and which column keys become
//! which parameters), the counts behind a rate, a function's own interval, and each metric's
//! place in the customer-journey view. The file has two parts, `functions` (recipes, keyed by
//! function) and `metrics`; each metric is handed out with its function's recipe attached.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::error::{KpiError, KpiResult};
use crate::core::kpi::Direction;

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
    Operations,
    People,
}

/// Customer-journey stages (docs/conventions.md#journey-stages), in journey order; `none` for
/// company-level formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
    Manufacturing,
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
    /// Other names of the same metric (vendors', articles'), each found by lookup like the id;
    /// only true synonyms (docs/conventions.md#metric-names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
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
    /// The output column holding it (for a function returning a series, such as a formula,
    /// the series' name).
    pub column: String,
    /// Rows of the output it is read from (column → value), for long outputs such as funnels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub select: BTreeMap<String, String>,
    /// The counts behind a rate, for its Wilson interval and the significance of a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// The function's own 95 % interval of the metric (for metrics that are not a proportion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    /// Its place in the customer-journey view, if it is shown there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey: Option<JourneyPlace>,
    /// How `function` runs over a bundle of sources: filled from the catalog's `functions`
    /// part (a metric entry never sets it); none when the function cannot run from sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<Recipe>,
}

/// The numerator and denominator columns of a rate (counts k of n), read from the output of
/// `function` when given (same periods), else of the metric's own function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub numerator: String,
    pub denominator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

/// The output columns holding the low and high ends of a 95 % interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    pub low: String,
    pub high: String,
}

/// A metric's place in the journey view: `order` across the whole view (stages follow the
/// journey), and `stage_rate` for the one conversion rate per stage that is compared with the
/// neighbouring stages' for dissonance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneyPlace {
    pub order: u32,
    #[serde(default)]
    pub stage_rate: bool,
}

/// How a function is called on a bundle of sources: the table of role `source` first, then
/// for each column key the bundle declares for that role, `columns[key]` = the column name;
/// the `required` keys must be declared; `options` are fixed keyword arguments; each `extra`
/// role, when the bundle has it, adds its table as parameter `table` and its columns likewise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub source: Input,
    pub columns: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<ExtraSource>,
}

/// A second role a recipe passes along when the bundle has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraSource {
    pub source: Input,
    pub table: String,
    pub columns: BTreeMap<String, String>,
}

/// The file's two parts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    functions: BTreeMap<String, Recipe>,
    metrics: Vec<MetricDef>,
}

fn invalid(message: String) -> KpiError {
    KpiError::Internal(message)
}

/// Every definition, in catalog order, with its function's recipe; see [`parse`] for the checks.
pub fn catalog() -> KpiResult<Vec<MetricDef>> {
    parse(CATALOG)
}

/// The definitions of a catalog file. Checked: ids are unique and no text field is empty;
/// every recipe is used and its required keys are among its columns; a metric with counts, an
/// interval or a journey place is computed by a function with a recipe (and so is a counts
/// function); journey places are unique, follow the journey's stage order and name at most
/// one stage rate per stage.
fn parse(text: &str) -> KpiResult<Vec<MetricDef>> {
    let file: CatalogFile = serde_json::from_str(text)
        .map_err(|e| invalid(format!("the metric catalog does not parse: {e}")))?;
    let mut defs = file.metrics;
    let mut seen = std::collections::HashSet::new();
    for d in &mut defs {
        if !seen.insert(d.id.clone()) {
            return Err(invalid(format!(
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
                return Err(invalid(format!("metric {:?} has an empty {field}", d.id)));
            }
        }
        if d.industries.is_empty() || d.inputs.is_empty() {
            return Err(invalid(format!(
                "metric {:?} lists no industries or no inputs",
                d.id
            )));
        }
        if d.recipe.is_some() {
            return Err(invalid(format!(
                "metric {:?} sets a recipe; recipes belong to the functions part",
                d.id
            )));
        }
        d.recipe = file.functions.get(&d.function).cloned();
        let needs_recipe = d.counts.is_some() || d.interval.is_some() || d.journey.is_some();
        if needs_recipe && d.recipe.is_none() {
            return Err(invalid(format!(
                "metric {:?} has counts, an interval or a journey place, but {} has no recipe",
                d.id, d.function
            )));
        }
        if let Some(f) = d.counts.as_ref().and_then(|c| c.function.as_ref()) {
            if !file.functions.contains_key(f) {
                return Err(invalid(format!(
                    "metric {:?} reads its counts from {f}, which has no recipe",
                    d.id
                )));
            }
        }
    }
    for (function, recipe) in &file.functions {
        if !defs.iter().any(|d| &d.function == function) {
            return Err(invalid(format!(
                "the recipe of {function} is used by no metric"
            )));
        }
        if let Some(key) = recipe
            .required
            .iter()
            .find(|k| !recipe.columns.contains_key(*k))
        {
            return Err(invalid(format!(
                "the recipe of {function} requires {key:?}, which is not among its columns"
            )));
        }
    }
    check_journey(&defs)?;
    check_names(&defs)?;
    Ok(defs)
}

/// A metric name as lookups compare it: lower case, every run of other characters than
/// letters and digits one `_`, none at either end ("Visitor-to-signup rate" and
/// `visitor_to_signup_rate` are one name; docs/conventions.md#metric-names).
pub fn name_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_end_matches('_').to_string()
}

/// Ids, names and aliases lead to one metric each: no alias is empty or repeats its own
/// metric's id or name, and no two metrics share a key ([`name_key`]).
fn check_names(defs: &[MetricDef]) -> KpiResult<()> {
    let mut owner: std::collections::HashMap<String, (&str, &str)> =
        std::collections::HashMap::new();
    for d in defs {
        let own = [name_key(&d.id), name_key(&d.name)];
        for alias in &d.aliases {
            let key = name_key(alias);
            if key.is_empty() || own.contains(&key) {
                return Err(invalid(format!(
                    "metric {:?}: alias {alias:?} is empty or repeats its id or name",
                    d.id
                )));
            }
        }
        let mut keys: Vec<(String, &str)> = vec![(own[0].clone(), d.id.as_str())];
        if own[1] != own[0] {
            keys.push((own[1].clone(), d.name.as_str()));
        }
        keys.extend(d.aliases.iter().map(|a| (name_key(a), a.as_str())));
        let mut mine = std::collections::HashSet::new();
        for (key, text) in keys {
            if !mine.insert(key.clone()) {
                return Err(invalid(format!(
                    "metric {:?} lists the name {text:?} twice",
                    d.id
                )));
            }
            if let Some((other, other_text)) = owner.insert(key, (d.id.as_str(), text)) {
                return Err(invalid(format!(
                    "the name {text:?} of metric {:?} is also {other_text:?} of metric {other:?}",
                    d.id
                )));
            }
        }
    }
    Ok(())
}

fn check_journey(defs: &[MetricDef]) -> KpiResult<()> {
    let mut placed: Vec<(u32, Stage, bool, &str)> = defs
        .iter()
        .filter_map(|d| {
            d.journey
                .as_ref()
                .map(|j| (j.order, d.stage, j.stage_rate, d.id.as_str()))
        })
        .collect();
    placed.sort_by_key(|p| p.0);
    for pair in placed.windows(2) {
        let ((a, sa, _, ida), (b, sb, _, idb)) = (pair[0], pair[1]);
        if a == b {
            return Err(invalid(format!(
                "{ida:?} and {idb:?} have the same journey place {a}"
            )));
        }
        if sb < sa {
            return Err(invalid(format!(
                "{idb:?} ({sb:?}) comes after {ida:?} ({sa:?}) in the journey view"
            )));
        }
    }
    let mut rates = std::collections::BTreeSet::new();
    for &(_, stage, rate, id) in &placed {
        if stage == Stage::None {
            return Err(invalid(format!(
                "{id:?} is in the journey view without a stage"
            )));
        }
        if rate && !rates.insert(stage) {
            return Err(invalid(format!(
                "{id:?} is a second stage rate of the {stage:?} stage"
            )));
        }
    }
    Ok(())
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
    // Recipes, counts, intervals and journey places describe built-in functions' outputs.
    if d.recipe.is_some()
        || d.counts.is_some()
        || d.interval.is_some()
        || d.journey.is_some()
        || !d.aliases.is_empty()
    {
        return Err(KpiError::param(
            "definition",
            "recipe, counts, interval, journey and aliases are set by the built-in catalog only",
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
        let with_journey = ok.replace("\"column\"", "\"journey\": {\"order\": 1}, \"column\"");
        assert!(check_definition(&with_journey, &[])
            .unwrap_err()
            .to_string()
            .contains("built-in catalog only"));
    }

    #[test]
    fn metrics_carry_their_recipes_counts_and_journey_places() {
        let defs = catalog().unwrap();
        let by_id = |id: &str| defs.iter().find(|d| d.id == id).unwrap().clone();
        // Every metric of a function with a recipe carries it; formulas have none.
        let nrr = by_id("net_revenue_retention");
        let recipe = nrr.recipe.unwrap();
        assert_eq!(recipe.source, Input::Subscriptions);
        assert_eq!(recipe.extra[0].source, Input::Spend);
        assert!(by_id("gross_margin").recipe.is_none());
        let csat = by_id("csat").recipe.unwrap();
        assert_eq!(csat.columns["csat"], "score");
        assert_eq!(csat.options["invalid"], "skip");
        // Churn's counts come from the movements (customers churned of customers at start).
        let churn = by_id("customer_churn_rate").counts.unwrap();
        assert_eq!(
            (churn.numerator.as_str(), churn.denominator.as_str()),
            ("churned_customers", "starting_customers")
        );
        assert_eq!(churn.function.as_deref(), Some("mrr_movements"));
        assert_eq!(by_id("nps").interval.unwrap().low, "nps_ci_low");
        // The journey view: four stages in order, one stage rate each.
        let mut placed: Vec<_> = defs.iter().filter(|d| d.journey.is_some()).collect();
        placed.sort_by_key(|d| d.journey.as_ref().unwrap().order);
        assert_eq!(placed.first().unwrap().id, "visitors");
        assert_eq!(placed.last().unwrap().id, "nps");
        let rates: Vec<_> = placed
            .iter()
            .filter(|d| d.journey.as_ref().unwrap().stage_rate)
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(
            rates,
            [
                "visitor_signup_rate",
                "signup_pql_rate",
                "pql_customer_rate",
                "customer_churn_rate"
            ]
        );
    }

    /// One metric entry of a catalog file, with `extra` fields.
    fn entry(id: &str, stage: &str, extra: &str) -> String {
        format!(
            r#"{{"id": "{id}", "name": "{id} n", "description": "d", "formula": "f", "unit": "count", "direction": "increase", "department": "sales", "stage": "{stage}", "cadence": "month", "industries": ["saas"], "inputs": ["deals"], "function": "deal_metrics", "column": "m"{extra}}}"#
        )
    }

    /// A catalog file of `functions` and metric entries.
    fn file_of(functions: &str, entries: &[String]) -> String {
        format!(
            r#"{{"functions": {functions}, "metrics": [{}]}}"#,
            entries.join(", ")
        )
    }

    /// A one-metric catalog file (stage decision).
    fn file(functions: &str, extra: &str) -> String {
        file_of(functions, &[entry("m", "decision", extra)])
    }

    #[test]
    fn inconsistent_catalog_files_are_refused() {
        let recipe = r#"{"deal_metrics": {"source": "deals", "columns": {"won": "won"}}}"#;
        assert!(parse(&file(recipe, "")).is_ok());
        let cases = [
            (file("{}", r#", "journey": {"order": 1}"#), "no recipe"),
            (
                file(
                    recipe,
                    r#", "counts": {"numerator": "a", "denominator": "b", "function": "nps"}"#,
                ),
                "nps, which has no recipe",
            ),
            (
                file(recipe, r#", "recipe": {"source": "deals", "columns": {}}"#),
                "functions part",
            ),
            (
                file(
                    r#"{"deal_metrics": {"source": "deals", "columns": {}, "required": ["won"]}}"#,
                    "",
                ),
                "requires \"won\"",
            ),
            (
                file(
                    r#"{"deal_metrics": {"source": "deals", "columns": {}}, "nps": {"source": "responses", "columns": {}}}"#,
                    "",
                ),
                "nps is used by no metric",
            ),
            (
                file_of(
                    recipe,
                    &[entry("m", "none", r#", "journey": {"order": 1}"#)],
                ),
                "without a stage",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn journey_places_follow_the_stages() {
        let recipe = r#"{"deal_metrics": {"source": "deals", "columns": {}}}"#;
        let two = |a: &str, b_stage: &str, b: &str| {
            parse(&file_of(
                recipe,
                &[entry("m", "decision", a), entry("m2", b_stage, b)],
            ))
        };
        let (first, second) = (
            r#", "journey": {"order": 1}"#,
            r#", "journey": {"order": 2}"#,
        );
        assert!(two(first, "decision", second).is_ok());
        assert!(two(first, "retention", second).is_ok());
        let same = two(first, "decision", first);
        assert!(same.unwrap_err().to_string().contains("same journey place"));
        let backwards = two(first, "awareness", second);
        assert!(backwards.unwrap_err().to_string().contains("comes after"));
        let rates = two(
            r#", "journey": {"order": 1, "stage_rate": true}"#,
            "decision",
            r#", "journey": {"order": 2, "stage_rate": true}"#,
        );
        assert!(rates.unwrap_err().to_string().contains("second stage rate"));
    }

    #[test]
    fn formulas_are_read_from_the_series_named_after_them() {
        let defs = catalog().unwrap();
        let formulas: Vec<_> = defs
            .iter()
            .filter_map(|d| d.function.strip_prefix("formulas.").map(|f| (f, d)))
            .collect();
        assert!(formulas.len() >= 10);
        for (name, d) in formulas {
            assert_eq!(d.column, name, "{}", d.id);
        }
    }

    #[test]
    fn names_are_compared_without_case_or_punctuation() {
        assert_eq!(name_key("Visitor-to-Signup Rate"), "visitor_to_signup_rate");
        assert_eq!(name_key("  DAU/MAU ratio "), "dau_mau_ratio");
        assert_eq!(name_key("Visitor→signup rate"), "visitor_signup_rate");
        assert_eq!(name_key("--"), "");
    }

    #[test]
    fn aliases_lead_to_one_metric_each() {
        let defs = catalog().unwrap();
        let by_id = |id: &str| defs.iter().find(|d| d.id == id).unwrap().clone();
        assert!(by_id("customer_churn_rate")
            .aliases
            .contains(&"logo churn".to_string()));
        assert!(by_id("revenue_growth_rate")
            .aliases
            .contains(&"sales growth rate".to_string()));
        let recipe = r#"{"deal_metrics": {"source": "deals", "columns": {}}}"#;
        let with = |a: &str, b: &str| {
            parse(&file_of(
                recipe,
                &[
                    entry("m", "decision", &format!(r#", "aliases": [{a}]"#)),
                    entry("m2", "decision", &format!(r#", "aliases": [{b}]"#)),
                ],
            ))
        };
        assert!(with(r#""deal count""#, r#""deal tally""#).is_ok());
        let cases = [
            // The same alias on two metrics, also when written differently.
            (with(r#""Deal count""#, r#""deal-count""#), "also"),
            // An alias that is another metric's id.
            (with(r#""m2""#, r#""x""#), "also"),
            // An alias repeating its own id, twice the same alias, an empty one.
            (with(r#""M""#, r#""x""#), "repeats its id"),
            (with(r#""a b", "A-B""#, r#""x""#), "twice"),
            (with(r#""!!""#, r#""x""#), "empty"),
        ];
        for (result, expected) in cases {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let ok = r#"{"id": "u", "name": "U", "aliases": ["you"], "description": "d", "formula": "f", "unit": "count", "direction": "increase", "department": "people", "stage": "none", "cadence": "month", "industries": ["manufacturing"], "inputs": ["financials"], "function": "user", "column": "u"}"#;
        assert!(check_definition(ok, &[])
            .unwrap_err()
            .to_string()
            .contains("aliases"));
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
