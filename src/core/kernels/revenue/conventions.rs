//! The revenue conventions (docs/conventions.md#revenue): how movements are classified and
//! which customers the rates divide by, with the presets of the billing tools that define them.

use serde::{Deserialize, Serialize};

use crate::core::error::{KpiError, KpiResult};

/// Hundredths of the input unit per unit.
pub const CENTS: f64 = 100.0;
/// Largest amount accepted (2^53 / 100): its cents are still exact in float64 and sums of
/// millions of them fit an i64.
pub const MAX_AMOUNT: f64 = 90_071_992_547_409.0;

/// How a customer who joins and churns within one period counts (only observable from
/// subscriptions evaluated at period end: at both period ends such a customer has no MRR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamePeriod {
    /// New (or reactivation) and churn, in MRR and in customer counts (Stripe, Baremetrics,
    /// Maxio). The kpikit default: every MRR change is shown.
    Count,
    /// MRR moves as with `Count` and the customer counts as new, but not as churned
    /// (ChartMogul leaves them out of customer churn).
    Exclude,
    /// Ignored entirely: neither new nor churned, in MRR or counts (ProfitWell nets them out of
    /// new).
    NetOutOfNew,
}

impl SamePeriod {
    pub fn parse(s: &str) -> KpiResult<SamePeriod> {
        match s {
            "count" => Ok(SamePeriod::Count),
            "exclude" => Ok(SamePeriod::Exclude),
            "net_out_of_new" => Ok(SamePeriod::NetOutOfNew),
            _ => Err(KpiError::param(
                "same_period_new_churn",
                format!("{s:?} is not one of \"count\", \"exclude\", \"net_out_of_new\""),
            )),
        }
    }
}

/// How long a churned customer may stay away and still count as reactivated when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// Any gap (ChartMogul, Stripe, ProfitWell, Baremetrics).
    Any,
    /// At most this many whole periods without MRR.
    Periods(u32),
    /// At most this many days from the end of the last period with MRR to the end of the last
    /// period without it (Maxio: 90).
    Days(u32),
}

impl Window {
    /// "any", a number of periods ("3"), or days ("90d", "90 days").
    pub fn parse(s: &str) -> KpiResult<Window> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || {
            KpiError::param(
                "reactivation_window",
                format!("{s:?} is not \"any\", a number of periods (3) or of days (\"90d\")"),
            )
        };
        if t == "any" || t == "none" {
            return Ok(Window::Any);
        }
        if let Ok(n) = t.parse::<u32>() {
            return Ok(Window::Periods(n));
        }
        let days = t
            .strip_suffix("days")
            .or_else(|| t.strip_suffix("day"))
            .or_else(|| t.strip_suffix('d'))
            .ok_or_else(bad)?;
        days.trim()
            .parse::<u32>()
            .map(Window::Days)
            .map_err(|_| bad())
    }
}

/// Most periods `ltv_churn_periods` may average churn over (every row looks them all up).
pub const MAX_LTV_CHURN_PERIODS: u32 = 1_200;

/// Customers a customer-churn rate divides by (used by the rates computed from the ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Denominator {
    /// Customers at the start of the period (ChartMogul, Baremetrics).
    Start,
    /// Customers at the start plus new customers of the period (Stripe).
    StartPlusNew,
}

/// The churn rate lifetime value divides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LtvChurn {
    /// Customer churn rate (ChartMogul, Baremetrics).
    Customer,
    /// Net MRR churn rate, i.e. 1 − net revenue retention as ProfitWell puts it, so expansion,
    /// contraction and reactivation move LTV too.
    NetMrr,
}

/// What lifetime value is when its churn rate is zero (docs/conventions.md#revenue-rates): the
/// lifetime 1 / churn has no finite value then, and the tools answer differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LtvZeroChurn {
    /// LTV is null (ChartMogul computes LTV only when churn is not zero). The kpikit default.
    #[default]
    Null,
    /// LTV is 0.
    Zero,
    /// This churn rate, in millionths, is assumed instead (Stripe: 1.67 %).
    Rate(u32),
}

impl LtvZeroChurn {
    /// "null" (or "none"), "zero", or a churn rate in (0, 1] such as "0.0167".
    pub fn parse(s: &str) -> KpiResult<LtvZeroChurn> {
        match s.trim() {
            "null" | "none" | "None" => Ok(LtvZeroChurn::Null),
            "zero" => Ok(LtvZeroChurn::Zero),
            t => match t.parse::<f64>() {
                Ok(r) if r > 0.0 && r <= 1.0 && (r * 1e6).round() >= 1.0 => {
                    Ok(LtvZeroChurn::Rate((r * 1e6).round() as u32))
                }
                _ => Err(KpiError::param(
                    "ltv_zero_churn",
                    format!(
                        "{s:?} is not \"null\", \"zero\" or a churn rate in (0, 1] (0.0167 for 1.67 %)"
                    ),
                )),
            },
        }
    }

    /// The churn rate assumed, for `Rate`.
    pub fn rate(self) -> Option<f64> {
        match self {
            LtvZeroChurn::Rate(ppm) => Some(ppm as f64 / 1e6),
            _ => None,
        }
    }
}

impl Serialize for LtvZeroChurn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LtvZeroChurn::Null => s.serialize_str("null"),
            LtvZeroChurn::Zero => s.serialize_str("zero"),
            LtvZeroChurn::Rate(ppm) => s.serialize_f64(*ppm as f64 / 1e6),
        }
    }
}

impl<'de> Deserialize<'de> for LtvZeroChurn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(t) => t,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Null => "null".into(),
            other => other.to_string(),
        };
        LtvZeroChurn::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The conventions of the field (docs/conventions.md#revenue-conventions) that the ledger and
/// the rates built on it depend on. The ledger itself uses `same_period_new_churn` and
/// `reactivation_window`; the others are stored with the state for the rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conventions {
    pub same_period_new_churn: SamePeriod,
    pub reactivation_window: Window,
    pub churn_denominator: Denominator,
    /// Net MRR churn nets reactivation as well as expansion (ChartMogul) or expansion only
    /// (Baremetrics).
    pub net_churn_counts_reactivation: bool,
    /// Net revenue retention counts reactivated MRR (ChartMogul: no).
    pub nrr_counts_reactivation: bool,
    /// The quick ratio's numerator includes reactivation (Baremetrics: no).
    pub quick_ratio_counts_reactivation: bool,
    /// The churn rate of lifetime value.
    pub ltv_churn: LtvChurn,
    /// None: the period's own churn rate; N: the mean of the N previous periods' rates, the
    /// current one excluded (ChartMogul: 6).
    pub ltv_churn_periods: Option<u32>,
    /// LTV when its churn rate is zero (metadata written before this keyword existed reads as
    /// the default).
    #[serde(default)]
    pub ltv_zero_churn: LtvZeroChurn,
}

impl Default for Conventions {
    fn default() -> Self {
        Conventions {
            same_period_new_churn: SamePeriod::Count,
            reactivation_window: Window::Any,
            churn_denominator: Denominator::Start,
            net_churn_counts_reactivation: true,
            nrr_counts_reactivation: false,
            quick_ratio_counts_reactivation: true,
            ltv_churn: LtvChurn::Customer,
            ltv_churn_periods: None,
            ltv_zero_churn: LtvZeroChurn::Null,
        }
    }
}

/// Names of the presets, in the order the docs list them.
pub const PRESETS: [&str; 4] = ["chartmogul", "stripe", "baremetrics", "profitwell"];

impl Conventions {
    /// The conventions a tool publishes (docs/conventions.md#revenue-presets). Where a tool says
    /// nothing, the kpikit default stays.
    pub fn preset(name: &str) -> KpiResult<Conventions> {
        let d = Conventions::default();
        Ok(match name {
            "chartmogul" => Conventions {
                same_period_new_churn: SamePeriod::Exclude,
                churn_denominator: Denominator::Start,
                net_churn_counts_reactivation: true,
                nrr_counts_reactivation: false,
                ltv_churn_periods: Some(6),
                ltv_zero_churn: LtvZeroChurn::Null,
                ..d
            },
            "stripe" => Conventions {
                same_period_new_churn: SamePeriod::Count,
                churn_denominator: Denominator::StartPlusNew,
                // Stripe assumes a churn rate of 1.67 % when the measured rate is 0 %.
                ltv_zero_churn: LtvZeroChurn::Rate(16_700),
                ..d
            },
            "baremetrics" => Conventions {
                same_period_new_churn: SamePeriod::Count,
                churn_denominator: Denominator::Start,
                net_churn_counts_reactivation: false,
                nrr_counts_reactivation: false,
                quick_ratio_counts_reactivation: false,
                ..d
            },
            "profitwell" => Conventions {
                same_period_new_churn: SamePeriod::NetOutOfNew,
                ltv_churn: LtvChurn::NetMrr,
                ..d
            },
            _ => {
                return Err(KpiError::param(
                    "preset",
                    format!("{name:?} is not one of {PRESETS:?}"),
                ))
            }
        })
    }

    /// The conventions of a call: `preset` (or kpikit's defaults) with `overrides` (name,
    /// value text) applied in order.
    pub fn of_call(preset: Option<&str>, overrides: &[(String, String)]) -> KpiResult<Conventions> {
        let mut c = match preset {
            Some(p) => Conventions::preset(p)?,
            None => Conventions::default(),
        };
        for (k, v) in overrides {
            c.set(k, v)?;
        }
        Ok(c)
    }

    /// kpikit's defaults and every preset as one JSON object `{"default": {...}, "presets":
    /// {"chartmogul": {...}, ...}}`, for the Python package to read (defined once, here).
    pub fn all_json() -> KpiResult<String> {
        let mut presets = Vec::new();
        for name in PRESETS {
            presets.push(format!(
                "{name:?}: {}",
                Conventions::preset(name)?.to_json()
            ));
        }
        Ok(format!(
            "{{\"default\": {}, \"presets\": {{{}}}}}",
            Conventions::default().to_json(),
            presets.join(", ")
        ))
    }

    /// Override one convention by name from its text form (as the Python keywords pass them).
    pub fn set(&mut self, name: &str, value: &str) -> KpiResult<()> {
        let flag = |v: &str| match v {
            "true" | "True" | "1" => Ok(true),
            "false" | "False" | "0" => Ok(false),
            _ => Err(KpiError::param(name, format!("{v:?} is not true or false"))),
        };
        match name {
            "same_period_new_churn" => self.same_period_new_churn = SamePeriod::parse(value)?,
            "reactivation_window" => self.reactivation_window = Window::parse(value)?,
            "churn_denominator" => {
                self.churn_denominator = match value {
                    "start" => Denominator::Start,
                    "start_plus_new" => Denominator::StartPlusNew,
                    _ => {
                        return Err(KpiError::param(
                            name,
                            format!("{value:?} is not one of \"start\", \"start_plus_new\""),
                        ))
                    }
                }
            }
            "net_churn_counts_reactivation" => self.net_churn_counts_reactivation = flag(value)?,
            "nrr_counts_reactivation" => self.nrr_counts_reactivation = flag(value)?,
            "quick_ratio_counts_reactivation" => {
                self.quick_ratio_counts_reactivation = flag(value)?
            }
            "ltv_churn" => {
                self.ltv_churn = match value {
                    "customer" => LtvChurn::Customer,
                    "net_mrr" => LtvChurn::NetMrr,
                    _ => {
                        return Err(KpiError::param(
                            name,
                            format!("{value:?} is not one of \"customer\", \"net_mrr\""),
                        ))
                    }
                }
            }
            "ltv_churn_periods" => {
                self.ltv_churn_periods = match value {
                    "none" | "None" | "current" => None,
                    v => match v.parse::<u32>() {
                        Ok(n) if n > 0 && n <= MAX_LTV_CHURN_PERIODS => Some(n),
                        _ => {
                            return Err(KpiError::param(
                                name,
                                format!("{v:?} is not None or a number of periods from 1 to {MAX_LTV_CHURN_PERIODS}"),
                            ))
                        }
                    },
                }
            }
            "ltv_zero_churn" => self.ltv_zero_churn = LtvZeroChurn::parse(value)?,
            _ => {
                return Err(KpiError::param(
                    name,
                    "is not a convention; use same_period_new_churn, reactivation_window, churn_denominator, net_churn_counts_reactivation, nrr_counts_reactivation, quick_ratio_counts_reactivation, ltv_churn, ltv_churn_periods or ltv_zero_churn",
                ))
            }
        }
        Ok(())
    }

    pub fn to_json(self) -> String {
        // Serialising plain enums and bools cannot fail; fall back to an empty object anyway.
        serde_json::to_string(&self).unwrap_or_else(|_| "{}".into())
    }

    pub fn from_json(s: &str) -> KpiResult<Conventions> {
        serde_json::from_str(s)
            .map_err(|e| KpiError::param("state", format!("bad conventions metadata: {e}")))
    }
}
