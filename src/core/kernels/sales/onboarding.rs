//! Time to first value (`onboarding_time`): customers started and reaching their first value
//! moment per start cohort, and how long it took (docs/conventions.md#sales-marketing-and-support).

use std::ops::Range;

use arrow::array::{ArrayRef, RecordBatch};

use crate::core::engine::state::Analysis;
use crate::core::error::KpiResult;
use crate::core::input::Column;

use super::acc::{Acc, Layout, Rule};
use super::finish::{durations, f64_col, i64_col, lay_out, rates};
use super::merge::merge_states;
use super::partial::{key, partial_state, Common, Part};
use super::read::{fmt_us, NONE};
use crate::core::input::time::Unit;

/// The columns and settings of [`OnboardingTime`].
#[derive(Debug, Clone, Copy)]
pub struct Onboarding<'a> {
    pub started: &'a Column,
    /// Missing while the customer has not reached first value.
    pub first_value: &'a Column,
    pub unit: Unit,
    pub common: Common<'a>,
}

/// Time to first value per (start period, segments…) group.
pub struct OnboardingTime;

const LAYOUT: Layout = Layout {
    counts: &["started", "reached"],
    sums: &[],
    lists: &["onboarding_micros"],
};

impl Analysis for OnboardingTime {
    const NAME: &'static str = "onboarding_time";
    type Input<'a> = Onboarding<'a>;

    fn partial(o: &Onboarding<'_>) -> KpiResult<RecordBatch> {
        let settings = vec![(key(Self::NAME, "unit"), o.unit.label().to_string())];
        partial_state(
            Self::NAME,
            &LAYOUT,
            &o.common,
            o.started.len(),
            settings,
            |r, seg, n_seg| part(o, r, seg, n_seg),
        )
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge_states(states, Self::NAME)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        let laid = lay_out(state, Self::NAME, &LAYOUT)?;
        let unit = Unit::parse(&laid.setting("unit")?)?;
        let started = laid.counts("started")?;
        let reached = laid.counts("reached")?;
        let d = laid.summary("onboarding_micros")?;
        let share = rates(&reached, &started);
        let mut out: Vec<(String, ArrayRef)> = vec![
            ("started".into(), i64_col(started)),
            ("reached_value".into(), i64_col(reached)),
            ("reached_value_rate".into(), f64_col(share)),
        ];
        out.extend(durations("onboarding", &d, unit));
        laid.batch(out)
    }
}

fn part(
    o: &Onboarding,
    r: Range<usize>,
    seg: &[u32],
    n_segments: usize,
) -> KpiResult<(Acc, usize)> {
    let rules: [Rule; 2] = [
        (
            Some(o.started),
            "started",
            "start times must not be missing",
        ),
        (
            Some(o.first_value),
            "first_value",
            "first value cannot come before the start",
        ),
    ];
    let mut p = Part::new(&LAYOUT, &o.common, r, &rules);
    let start = p.times(o.started)?;
    let value = p.times(o.first_value)?;
    p.prepare(&[Some(&start), Some(&value)], n_segments);
    for (i, &g) in seg.iter().enumerate() {
        let s = start.at[i];
        if s == NONE {
            p.rules.bad(0, i, || "missing".into());
            continue;
        }
        let v = value.at[i];
        if v != NONE && v < s {
            p.rules
                .bad(1, i, || format!("{} < start {}", fmt_us(v), fmt_us(s)));
            continue;
        }
        let so = start.ord[i];
        p.acc.count(so, g, 0);
        if v != NONE {
            p.acc.count(so, g, 1);
            p.acc.push(so, g, 0, (v - s) as f64);
        }
    }
    p.done()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{common, days, f64_at, twice};
    use super::*;

    #[test]
    fn merged_through_the_registry() {
        let started = days("started", &[Some(0), Some(8), Some(18)]);
        let value = days("value", &[Some(4), Some(18), None]);
        let st = OnboardingTime::partial(&Onboarding {
            started: &started,
            first_value: &value,
            unit: Unit::Days,
            common: common(&[]),
        })
        .unwrap();
        let out = twice(st);
        assert_eq!(f64_at(&out, "started"), Some(6.0));
        assert_eq!(f64_at(&out, "onboarding_days"), Some(7.0));
        assert_eq!(f64_at(&out, "onboarding_days_median"), Some(7.0));
        let r = f64_at(&out, "reached_value_rate").unwrap();
        assert!((r - 2.0 / 3.0).abs() < 1e-15);
    }
}
