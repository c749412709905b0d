//! The settings of a funnel: conversion window, step order, attribution, counting, the tools'
//! presets (docs/conventions.md#funnel-presets) and the finish options (unit, histogram), which
//! a state carries in its metadata.

use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::{Freq, Unit, Zone, US_PER_DAY};

/// Most steps a funnel may have (step sets are u32 bit masks).
pub const MAX_STEPS: usize = 32;

/// A conversion window: `"14d"`, `"36h"`, `"90min"`, `"2w"`, `"30s"`, `"500ms"`, `"1us"`, as
/// microseconds. `None`/`"none"` means no window.
pub fn parse_window(s: Option<&str>) -> KpiResult<Option<i64>> {
    let Some(s) = s.map(str::trim) else {
        return Ok(None);
    };
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bad = || {
        KpiError::param(
            "window",
            format!("{s:?} is not a positive duration such as \"14d\", \"36h\", \"90min\", \"2w\", \"30s\""),
        )
    };
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| bad())?;
    let per: f64 = match unit.trim() {
        "us" => 1.0,
        "ms" => 1e3,
        "s" | "sec" | "seconds" => 1e6,
        "m" | "min" | "minutes" => 6e7,
        "h" | "hours" => 3.6e9,
        "d" | "D" | "days" => US_PER_DAY as f64,
        "w" | "W" | "weeks" => 7.0 * US_PER_DAY as f64,
        _ => return Err(bad()),
    };
    let us = (value * per).round();
    if !(1.0..9.0e18).contains(&us) {
        return Err(bad());
    }
    Ok(Some(us as i64))
}

/// Entry periods of a funnel ("conversion trends").
#[derive(Debug, Clone, Copy)]
pub struct EntryPeriods {
    pub zone: Zone,
    pub freq: Freq,
}

pub(crate) fn check_steps(n: usize) -> KpiResult<()> {
    if n == 0 || n > MAX_STEPS {
        return Err(KpiError::param(
            "steps",
            format!("a funnel needs 1 to {MAX_STEPS} steps, got {n}"),
        ));
    }
    Ok(())
}

/// Most bins a histogram may have (each is a value in every step's row).
pub const MAX_HISTOGRAM_BINS: usize = 10_000;

/// Histogram bins of a time-to-convert distribution.
#[derive(Debug, Clone, Copy)]
pub enum Bins {
    /// PostHog's automatic count: clamp(ceil(cbrt(n)), 1, 60).
    Auto,
    Count(usize),
}

impl Bins {
    /// The `histogram=` setting as the bindings pass it: None (no histogram), 0 (automatic
    /// bins) or a number of bins, at most [`MAX_HISTOGRAM_BINS`].
    pub fn from_setting(k: Option<i128>) -> KpiResult<Option<Bins>> {
        match k {
            None => Ok(None),
            Some(0) => Ok(Some(Bins::Auto)),
            Some(k) => Ok(Some(Bins::Count(KpiError::int_param::<usize>(
                "histogram",
                k,
                1,
                MAX_HISTOGRAM_BINS as i128,
            )?))),
        }
    }

    /// The setting as state metadata: "auto" or the bin count.
    pub(crate) fn label(self) -> String {
        match self {
            Bins::Auto => "auto".into(),
            Bins::Count(k) => k.to_string(),
        }
    }

    pub(crate) fn from_label(s: &str) -> KpiResult<Option<Bins>> {
        match s {
            "" => Ok(None),
            "auto" => Ok(Some(Bins::Auto)),
            k => Bins::from_setting(Some(k.parse::<i128>().map_err(|_| {
                KpiError::param("state", format!("bad histogram metadata: {k:?}"))
            })?)),
        }
    }
}

/// How the finished table reports times (`unit=`, `histogram=`), fixed at partial time so that
/// a state finishes on its own (docs/architecture.md (partial state → merge → finish)).
#[derive(Debug, Clone, Copy)]
pub struct FinishOptions {
    pub unit: Unit,
    pub bins: Option<Bins>,
}

impl Default for FinishOptions {
    fn default() -> Self {
        FinishOptions {
            unit: Unit::Days,
            bins: None,
        }
    }
}

/// How steps must follow one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// In order; other events (including repeats of step events) may come in between.
    Ordered,
    /// In order with no other event of the user in between.
    Strict,
    /// Step 1 first, then the other steps in any order (Amplitude's "any order").
    AnyAfterFirst,
    /// Any step may start; a journey reaches step n when n distinct steps happened within the
    /// window from the first of them (PostHog's "any order", its unordered funnel).
    Unordered,
}

impl Order {
    /// The `order=` setting; the old `"any"` is refused with the two names that replace it
    /// (docs/conventions.md#funnels).
    pub fn parse(s: &str) -> KpiResult<Order> {
        match s {
            "ordered" => Ok(Order::Ordered),
            "strict" => Ok(Order::Strict),
            "any_after_first" => Ok(Order::AnyAfterFirst),
            "unordered" => Ok(Order::Unordered),
            "any" => Err(KpiError::param(
                "order",
                "\"any\" is ambiguous and no longer accepted: \"any_after_first\" is step 1 first, then the other steps in any order (what \"any\" meant, Amplitude's any order); \"unordered\" lets any step start (PostHog's any order)",
            )),
            o => Err(KpiError::param(
                "order",
                format!("{o:?} is not one of \"ordered\", \"strict\", \"any_after_first\", \"unordered\""),
            )),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Order::Ordered => "ordered",
            Order::Strict => "strict",
            Order::AnyAfterFirst => "any_after_first",
            Order::Unordered => "unordered",
        }
    }

    /// Whether steps are filled in any order (the result names row k "any k of n steps").
    pub(crate) fn any_order(self) -> bool {
        matches!(self, Order::AnyAfterFirst | Order::Unordered)
    }
}

/// Which event's segment values a journey is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    FirstTouch,
    LastTouch,
    /// Step N (0-based here); journeys that did not reach it are left out.
    Step(usize),
}

/// Whether each user counts once or every attempt counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Uniques,
    Totals,
}

/// A funnel's rules after presets and defaults are applied.
#[derive(Debug, Clone)]
pub struct FunnelRules {
    pub window: Option<i64>,
    pub order: Order,
    pub attribution: Attribution,
    pub count: Count,
}

/// The defaults each tool's preset sets (docs/conventions.md#funnel-presets): PostHog 14-day
/// window, Amplitude 30 days, Mixpanel 7 days; all ordered, first touch, unique users.
pub fn preset_defaults(
    name: &str,
) -> KpiResult<(&'static str, &'static str, &'static str, &'static str)> {
    match name {
        "posthog" => Ok(("14d", "ordered", "first_touch", "uniques")),
        "amplitude" => Ok(("30d", "ordered", "first_touch", "uniques")),
        "mixpanel" => Ok(("7d", "ordered", "first_touch", "uniques")),
        _ => Err(KpiError::param(
            "preset",
            format!("{name:?} is not one of \"posthog\", \"amplitude\", \"mixpanel\""),
        )),
    }
}

impl FunnelRules {
    /// Rules from explicit choices, falling back to the preset's, then to kpikit's defaults
    /// (14 days, ordered, first touch, uniques).
    pub fn resolve(
        preset: Option<&str>,
        window: Option<&str>,
        order: Option<&str>,
        attribution: Option<&str>,
        count: Option<&str>,
        n_steps: usize,
    ) -> KpiResult<FunnelRules> {
        let d = match preset {
            Some(p) => preset_defaults(p)?,
            None => ("14d", "ordered", "first_touch", "uniques"),
        };
        let order = Order::parse(order.unwrap_or(d.1))?;
        let attribution = match attribution.unwrap_or(d.2) {
            "first_touch" => Attribution::FirstTouch,
            "last_touch" => Attribution::LastTouch,
            a => {
                let bad = || {
                    KpiError::param(
                        "attribution",
                        format!("{a:?} is not \"first_touch\", \"last_touch\" or \"step:N\" with N from 1 to {n_steps}"),
                    )
                };
                let k: usize = a
                    .strip_prefix("step:")
                    .and_then(|k| k.trim().parse().ok())
                    .ok_or_else(bad)?;
                if k == 0 || k > n_steps {
                    return Err(bad());
                }
                Attribution::Step(k - 1)
            }
        };
        let count = match count.unwrap_or(d.3) {
            "uniques" => Count::Uniques,
            "totals" => Count::Totals,
            c => {
                return Err(KpiError::param(
                    "count",
                    format!("{c:?} is not one of \"uniques\", \"totals\""),
                ))
            }
        };
        Ok(FunnelRules {
            window: parse_window(Some(window.unwrap_or(d.0)))?,
            order,
            attribution,
            count,
        })
    }
}

/// An exclusion: a user doing `event` after step `from` and before step `to` (0-based) of an
/// attempt spoils that attempt.
#[derive(Debug, Clone)]
pub struct Exclusion {
    pub event: String,
    pub from: usize,
    pub to: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000;

    #[test]
    fn windows_parse_to_microseconds() {
        assert_eq!(parse_window(Some("14d")).unwrap(), Some(14 * US_PER_DAY));
        assert_eq!(parse_window(Some("90min")).unwrap(), Some(90 * 60_000_000));
        assert_eq!(parse_window(Some("1.5h")).unwrap(), Some(H * 3 / 2));
        assert_eq!(parse_window(None).unwrap(), None);
        assert!(parse_window(Some("0d")).is_err());
        assert!(parse_window(Some("fortnight")).is_err());
    }

    #[test]
    fn the_old_any_order_is_refused_with_both_new_names() {
        let e = Order::parse("any").unwrap_err().to_string();
        assert!(e.starts_with("parameter \"order\""), "{e}");
        assert!(
            e.contains("any_after_first") && e.contains("unordered"),
            "{e}"
        );
        for o in [
            Order::Ordered,
            Order::Strict,
            Order::AnyAfterFirst,
            Order::Unordered,
        ] {
            assert_eq!(Order::parse(o.label()).unwrap(), o);
        }
    }

    #[test]
    fn histogram_settings_round_trip_and_are_bounded() {
        assert!(Bins::from_setting(None).unwrap().is_none());
        for k in [Some(0), Some(7), Some(MAX_HISTOGRAM_BINS as i128)] {
            let b = Bins::from_setting(k).unwrap().unwrap();
            assert_eq!(
                Bins::from_label(&b.label()).unwrap().unwrap().label(),
                b.label()
            );
        }
        // Bins beyond the bound are refused before anything is allocated (2^40 bins: 8 TB).
        for k in [-1, MAX_HISTOGRAM_BINS as i128 + 1, 1 << 40, i128::MAX] {
            let err = Bins::from_setting(Some(k)).unwrap_err().to_string();
            assert!(err.starts_with("parameter \"histogram\""), "{err}");
        }
    }
}
