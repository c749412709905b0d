//! Lead metrics (`lead_metrics`): leads, qualified and converted leads, their rates and
//! growth, revenue per lead (docs/conventions.md#sales-marketing-and-support).

use std::ops::Range;

use arrow::array::RecordBatch;

use crate::core::engine::state::Analysis;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::Column;

use super::acc::{Acc, Layout, Rule};
use super::finish::{f64_col, i64_col, lay_out, rates, ratio};
use super::merge::merge_states;
use super::partial::{given, key, partial_state, Common, Part};
use super::read::{fmt_us, NONE};

/// In which period a lead's qualification, conversion and revenue count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadCohort {
    /// The period the lead was created (the default).
    Created,
    /// The period each happened (revenue: the period of conversion).
    Event,
}

impl LeadCohort {
    pub fn parse(s: &str) -> KpiResult<LeadCohort> {
        match s {
            "created" => Ok(LeadCohort::Created),
            "event" => Ok(LeadCohort::Event),
            _ => Err(KpiError::param(
                "cohort",
                format!("{s:?} is not one of \"created\", \"event\""),
            )),
        }
    }

    fn label(self) -> &'static str {
        match self {
            LeadCohort::Created => "created",
            LeadCohort::Event => "event",
        }
    }
}

/// The columns and settings of [`LeadMetrics`]; a figure whose column is not given is null.
#[derive(Debug, Clone, Copy)]
pub struct Leads<'a> {
    pub created: &'a Column,
    pub qualified: Option<&'a Column>,
    pub converted: Option<&'a Column>,
    pub revenue: Option<&'a Column>,
    pub cohort: LeadCohort,
    pub common: Common<'a>,
}

/// Lead metrics per (period, segments…) group.
pub struct LeadMetrics;

const LAYOUT: Layout = Layout {
    counts: &["leads", "qualified", "converted"],
    sums: &["revenue"],
    lists: &[],
};

impl Analysis for LeadMetrics {
    const NAME: &'static str = "lead_metrics";
    type Input<'a> = Leads<'a>;

    fn partial(l: &Leads<'_>) -> KpiResult<RecordBatch> {
        let given = given(
            Self::NAME,
            &[
                ("qualified", l.qualified),
                ("converted", l.converted),
                ("revenue", l.revenue),
            ],
        );
        let settings = vec![
            (key(Self::NAME, "cohort"), l.cohort.label().to_string()),
            given,
        ];
        partial_state(
            Self::NAME,
            &LAYOUT,
            &l.common,
            l.created.len(),
            settings,
            |r, seg, n_seg| part(l, r, seg, n_seg),
        )
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge_states(states, Self::NAME)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        let laid = lay_out(state, Self::NAME, &LAYOUT)?;
        let given = laid.given()?;
        let leads = laid.counts("leads")?;
        let qualified = laid.counts("qualified")?;
        let converted = laid.counts("converted")?;
        let revenue = laid.sums("revenue")?;
        let prev = laid.previous(&qualified);
        let growth: Vec<Option<f64>> = qualified
            .iter()
            .zip(&prev)
            .map(|(q, p)| p.and_then(|p| ratio((q - p) as f64, p as f64)))
            .collect();
        let qual_rate = rates(&qualified, &leads);
        let conv_rate = rates(&converted, &leads);
        let rpl = rates(&revenue, &leads);
        let (q, c, r) = (&["qualified"], &["converted"], &["revenue"]);
        laid.batch(vec![
            ("leads".into(), i64_col(leads)),
            ("qualified_leads".into(), given.keep(q, i64_col(qualified))),
            (
                "qualified_leads_growth".into(),
                given.keep(q, f64_col(growth)),
            ),
            (
                "qualification_rate".into(),
                given.keep(q, f64_col(qual_rate)),
            ),
            ("converted_leads".into(), given.keep(c, i64_col(converted))),
            (
                "lead_conversion_rate".into(),
                given.keep(c, f64_col(conv_rate)),
            ),
            (
                "revenue".into(),
                given.keep(r, f64_col(revenue.into_iter().map(Some).collect())),
            ),
            ("revenue_per_lead".into(), given.keep(r, f64_col(rpl))),
        ])
    }
}

fn part(l: &Leads, r: Range<usize>, seg: &[u32], n_segments: usize) -> KpiResult<(Acc, usize)> {
    let rules: [Rule; 4] = [
        (
            Some(l.created),
            "created",
            "created times must not be missing",
        ),
        (
            l.qualified,
            "qualified",
            "a lead cannot qualify before it was created",
        ),
        (
            l.converted,
            "converted",
            "a lead cannot convert before it was created",
        ),
        (l.revenue, "revenue", "revenue must not be negative"),
    ];
    let mut p = Part::new(&LAYOUT, &l.common, r, &rules);
    let created = p.times(l.created)?;
    let qualified = l.qualified.map(|c| p.times(c)).transpose()?;
    let converted = l.converted.map(|c| p.times(c)).transpose()?;
    let revenue = l.revenue.map(|c| p.numbers(c)).transpose()?;
    p.prepare(
        &[Some(&created), qualified.as_ref(), converted.as_ref()],
        n_segments,
    );
    let by_event = l.cohort == LeadCohort::Event;
    for i in 0..p.n {
        let c = created.at[i];
        if c == NONE {
            p.rules.bad(0, i, || "missing".into());
            continue;
        }
        let q = qualified.as_ref().map_or(NONE, |t| t.at[i]);
        if q != NONE && q < c {
            p.rules
                .bad(1, i, || format!("{} < created {}", fmt_us(q), fmt_us(c)));
            continue;
        }
        let v = converted.as_ref().map_or(NONE, |t| t.at[i]);
        if v != NONE && v < c {
            p.rules
                .bad(2, i, || format!("{} < created {}", fmt_us(v), fmt_us(c)));
            continue;
        }
        let rev = revenue.as_ref().and_then(|r| r[i]);
        if let Some(x) = rev.filter(|x| *x < 0.0) {
            p.rules.bad(3, i, || format!("{x}"));
            continue;
        }
        let (g, co) = (seg[i], created.ord[i]);
        p.acc.count(co, g, 0);
        if q != NONE {
            let o = if by_event {
                qualified.as_ref().expect("present").ord[i]
            } else {
                co
            };
            p.acc.count(o, g, 1);
        }
        if v != NONE {
            let o = if by_event {
                converted.as_ref().expect("present").ord[i]
            } else {
                co
            };
            p.acc.count(o, g, 2);
        }
        if let Some(x) = rev {
            // Revenue counts with the lead's cohort (or its conversion, by event).
            let o = match (&converted, by_event) {
                (Some(t), true) if t.ord[i] != NONE => t.ord[i],
                _ => co,
            };
            p.acc.sum(o, g, 0, x);
        }
    }
    p.done()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{common, days, f64_at, twice};
    use super::*;

    #[test]
    fn merged_through_the_registry_and_missing_columns_null() {
        let created = days("created", &[Some(0), Some(1), Some(2), Some(3)]);
        let qualified = days("qualified", &[Some(1), None, Some(3), None]);
        let st = LeadMetrics::partial(&Leads {
            created: &created,
            qualified: Some(&qualified),
            converted: None,
            revenue: None,
            cohort: LeadCohort::Created,
            common: common(&[]),
        })
        .unwrap();
        let out = twice(st);
        assert_eq!(f64_at(&out, "leads"), Some(8.0));
        assert_eq!(f64_at(&out, "qualification_rate"), Some(0.5));
        // Not given: unknown, not 0.
        assert_eq!(f64_at(&out, "lead_conversion_rate"), None);
        assert_eq!(f64_at(&out, "revenue_per_lead"), None);
    }
}
