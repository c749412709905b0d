//! Support metrics (`support_metrics`): tickets opened and resolved, backlog, resolution and
//! first-response times, handle time (docs/conventions.md#sales-marketing-and-support).

use std::ops::Range;

use arrow::array::{ArrayRef, RecordBatch};

use crate::core::engine::state::Analysis;
use crate::core::error::KpiResult;
use crate::core::input::Column;

use super::acc::{Acc, Layout, Rule};
use super::finish::{durations, f64_col, i64_col, lay_out, rates};
use super::merge::merge_states;
use super::partial::{given, key, partial_state, Common, Part};
use super::read::{fmt_us, NONE};
use crate::core::input::time::Unit;

/// The columns and settings of [`SupportMetrics`].
#[derive(Debug, Clone, Copy)]
pub struct Tickets<'a> {
    pub opened: &'a Column,
    /// Without it, tickets resolved and the backlog are null (unknown).
    pub resolved: Option<&'a Column>,
    pub first_response: Option<&'a Column>,
    pub handle_seconds: Option<&'a Column>,
    pub unit: Unit,
    pub common: Common<'a>,
}

/// Support metrics per (period, segments…) group.
pub struct SupportMetrics;

const LAYOUT: Layout = Layout {
    counts: &["opened", "resolved", "handled"],
    sums: &["handle_seconds"],
    lists: &["resolution_micros", "first_response_micros"],
};

impl Analysis for SupportMetrics {
    const NAME: &'static str = "support_metrics";
    type Input<'a> = Tickets<'a>;

    fn partial(t: &Tickets<'_>) -> KpiResult<RecordBatch> {
        let settings = vec![
            (key(Self::NAME, "unit"), t.unit.label().to_string()),
            given(Self::NAME, &[("resolved", t.resolved)]),
        ];
        partial_state(
            Self::NAME,
            &LAYOUT,
            &t.common,
            t.opened.len(),
            settings,
            |r, seg, n_seg| part(t, r, seg, n_seg),
        )
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge_states(states, Self::NAME)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        let laid = lay_out(state, Self::NAME, &LAYOUT)?;
        let unit = Unit::parse(&laid.setting("unit")?)?;
        let given = laid.given()?;
        let opened = laid.counts("opened")?;
        let resolved = laid.counts("resolved")?;
        let handled = laid.counts("handled")?;
        let handle = laid.sums("handle_seconds")?;
        let delta: Vec<i64> = opened.iter().zip(&resolved).map(|(a, b)| a - b).collect();
        let backlog = laid.running(&delta);
        let res = laid.summary("resolution_micros")?;
        let first = laid.summary("first_response_micros")?;
        let aht = rates(&handle, &handled);
        let r = &["resolved"];
        let mut out: Vec<(String, ArrayRef)> = vec![
            ("tickets_opened".into(), i64_col(opened)),
            ("tickets_resolved".into(), given.keep(r, i64_col(resolved))),
            ("backlog".into(), given.keep(r, i64_col(backlog))),
        ];
        out.extend(durations("resolution", &res, unit));
        out.extend(durations("first_response", &first, unit));
        out.push(("avg_handle_seconds".into(), f64_col(aht)));
        laid.batch(out)
    }
}

fn part(t: &Tickets, r: Range<usize>, seg: &[u32], n_segments: usize) -> KpiResult<(Acc, usize)> {
    let rules: [Rule; 4] = [
        (Some(t.opened), "opened", "opened times must not be missing"),
        (
            t.resolved,
            "resolved",
            "a ticket cannot be resolved before it was opened",
        ),
        (
            t.first_response,
            "first_response",
            "a ticket cannot be answered before it was opened",
        ),
        (
            t.handle_seconds,
            "handle_seconds",
            "handle times must not be negative",
        ),
    ];
    let mut p = Part::new(&LAYOUT, &t.common, r, &rules);
    let opened = p.times(t.opened)?;
    let resolved = t.resolved.map(|c| p.times(c)).transpose()?;
    let first = t.first_response.map(|c| p.times(c)).transpose()?;
    let handle = t.handle_seconds.map(|c| p.numbers(c)).transpose()?;
    p.prepare(
        &[Some(&opened), resolved.as_ref(), first.as_ref()],
        n_segments,
    );
    for i in 0..p.n {
        let o = opened.at[i];
        if o == NONE {
            p.rules.bad(0, i, || "missing".into());
            continue;
        }
        let rv = resolved.as_ref().map_or(NONE, |x| x.at[i]);
        if rv != NONE && rv < o {
            p.rules
                .bad(1, i, || format!("{} < opened {}", fmt_us(rv), fmt_us(o)));
            continue;
        }
        let f = first.as_ref().map_or(NONE, |x| x.at[i]);
        if f != NONE && f < o {
            p.rules
                .bad(2, i, || format!("{} < opened {}", fmt_us(f), fmt_us(o)));
            continue;
        }
        let h = handle.as_ref().and_then(|h| h[i]);
        if let Some(h) = h.filter(|h| *h < 0.0) {
            p.rules.bad(3, i, || format!("{h}"));
            continue;
        }
        let (g, oo) = (seg[i], opened.ord[i]);
        p.acc.count(oo, g, 0);
        if rv != NONE {
            let ro = resolved.as_ref().expect("present").ord[i];
            p.acc.count(ro, g, 1);
            p.acc.push(ro, g, 0, (rv - o) as f64);
        }
        if f != NONE {
            let fo = first.as_ref().expect("present").ord[i];
            p.acc.push(fo, g, 1, (f - o) as f64);
        }
        if let Some(h) = h {
            p.acc.count(oo, g, 2);
            p.acc.sum(oo, g, 0, h);
        }
    }
    p.done()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{common, f64_at, twice};
    use super::*;
    use crate::core::input::time::US_PER_DAY;
    use arrow::array::TimestampMicrosecondArray;
    use std::sync::Arc;

    #[test]
    fn merged_through_the_registry_in_the_unit_asked() {
        // Resolved after 4 h and 24 h; one still open.
        let opened = Column::from_array(
            "opened",
            Arc::new(TimestampMicrosecondArray::from(vec![0, 0, US_PER_DAY])),
        );
        let resolved = Column::from_array(
            "resolved",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(4 * 3_600_000_000),
                Some(US_PER_DAY),
                None,
            ])),
        );
        let st = SupportMetrics::partial(&Tickets {
            opened: &opened,
            resolved: Some(&resolved),
            first_response: None,
            handle_seconds: None,
            unit: Unit::Hours,
            common: common(&[]),
        })
        .unwrap();
        let out = twice(st);
        assert_eq!(f64_at(&out, "tickets_opened"), Some(6.0));
        assert_eq!(f64_at(&out, "backlog"), Some(2.0));
        assert_eq!(f64_at(&out, "resolution_hours"), Some(14.0));
        assert_eq!(f64_at(&out, "resolution_hours_median"), Some(14.0));
        // p90 of [4, 4, 24, 24]: h = 2.7 → 24.
        assert_eq!(f64_at(&out, "resolution_hours_p90"), Some(24.0));
        assert_eq!(f64_at(&out, "first_response_hours"), None);
    }
}
