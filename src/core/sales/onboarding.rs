//! Time to first value (`onboarding_time`): customers started and reaching their first value
//! moment per start cohort, and how long it took (docs/conventions.md#sales-marketing-and-support).

use std::ops::Range;

use arrow::array::{ArrayRef, RecordBatch};

use crate::core::error::{KpiError, KpiResult};
use crate::core::input::Column;
use crate::core::state::Analysis;

use super::acc::{Acc, Layout, Rules};
use super::finish::{durations, f64_col, i64_col, lay_out, ratio};
use super::merge::merge_states;
use super::partial::{key, partial_state, Common};
use super::read::{fmt_us, read_times, Unit, NONE};

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
        let share: Vec<Option<f64>> = reached
            .iter()
            .zip(&started)
            .map(|(r, s)| ratio(*r as f64, *s as f64))
            .collect();
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
    let (offset, n) = (r.start, seg.len());
    let (freq, zone) = (o.common.freq, o.common.zone);
    let at = |e: KpiError| e.at_offset(offset);
    let times = |c: &Column| read_times(&c.slice(offset, n), zone, freq).map_err(at);
    let start = times(o.started)?;
    let value = times(o.first_value)?;
    let mut acc = Acc::new(&LAYOUT);
    acc.prepare(&[&start, &value], n_segments.max(1));
    let mut rules = Rules::new(
        vec![
            (
                o.started.name.clone(),
                "start times must not be missing".into(),
            ),
            (
                o.first_value.name.clone(),
                "first value cannot come before the start".into(),
            ),
        ],
        offset,
    );
    for (i, &g) in seg.iter().enumerate() {
        let s = start.at[i];
        if s == NONE {
            rules.bad(0, i, || "missing".into());
            continue;
        }
        let v = value.at[i];
        if v != NONE && v < s {
            rules.bad(1, i, || format!("{} < start {}", fmt_us(v), fmt_us(s)));
            continue;
        }
        let so = start.ord[i];
        acc.count(so, g, 0);
        if v != NONE {
            acc.count(so, g, 1);
            acc.push(so, g, 0, (v - s) as f64);
        }
    }
    let skipped = rules.check(o.common.invalid)?;
    Ok((acc, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::analyses;
    use crate::core::state::Invalid;
    use crate::core::time::{Zone, US_PER_DAY};
    use arrow::array::{Array, AsArray, TimestampMicrosecondArray};
    use std::sync::Arc;

    fn times(name: &str, days: &[Option<i64>]) -> Column {
        let v: Vec<Option<i64>> = days.iter().map(|d| d.map(|d| d * US_PER_DAY)).collect();
        Column::from_array(name, Arc::new(TimestampMicrosecondArray::from(v)))
    }

    fn common(segments: &[Column]) -> Common<'_> {
        Common {
            segments,
            freq: None,
            zone: Zone::Utc,
            invalid: Invalid::Raise,
        }
    }

    /// The state merged with itself through the registry, finished by name.
    fn twice(state: RecordBatch) -> RecordBatch {
        analyses::finish(&analyses::merge(&[state.clone(), state]).unwrap()).unwrap()
    }

    fn f64_at(b: &RecordBatch, name: &str) -> Option<f64> {
        let a = b.column_by_name(name).unwrap();
        let a = arrow::compute::cast(a, &arrow::datatypes::DataType::Float64).unwrap();
        let a = a.as_primitive::<arrow::datatypes::Float64Type>();
        a.is_valid(0).then(|| a.value(0))
    }

    #[test]
    fn merged_through_the_registry() {
        let started = times("started", &[Some(0), Some(8), Some(18)]);
        let value = times("value", &[Some(4), Some(18), None]);
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
