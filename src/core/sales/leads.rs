//! Lead metrics (`lead_metrics`): leads, qualified and converted leads, their rates and
//! growth, revenue per lead (docs/conventions.md#sales-marketing-and-support).

use std::ops::Range;

use arrow::array::{ArrayRef, RecordBatch};

use crate::core::error::{KpiError, KpiResult};
use crate::core::input::Column;
use crate::core::state::Analysis;

use super::acc::{Acc, Layout, Rules};
use super::finish::{f64_col, i64_col, lay_out, nulls_like, ratio};
use super::merge::merge_states;
use super::partial::{key, partial_state, Common};
use super::read::{fmt_us, read_f64, read_times, NONE};

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

/// Which optional columns a state was made with (`q`, `c`, `r`), so that finish nulls the rest.
const GIVEN: &str = "given";

impl Analysis for LeadMetrics {
    const NAME: &'static str = "lead_metrics";
    type Input<'a> = Leads<'a>;

    fn partial(l: &Leads<'_>) -> KpiResult<RecordBatch> {
        let given: String = [(l.qualified, 'q'), (l.converted, 'c'), (l.revenue, 'r')]
            .iter()
            .filter(|(c, _)| c.is_some())
            .map(|(_, k)| *k)
            .collect();
        let settings = vec![
            (key(Self::NAME, "cohort"), l.cohort.label().to_string()),
            (key(Self::NAME, GIVEN), given),
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
        let given = laid.setting(GIVEN)?;
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
        let per = |v: &[i64]| -> Vec<Option<f64>> {
            v.iter()
                .zip(&leads)
                .map(|(a, n)| ratio(*a as f64, *n as f64))
                .collect()
        };
        let qual_rate = per(&qualified);
        let conv_rate = per(&converted);
        let rpl: Vec<Option<f64>> = revenue
            .iter()
            .zip(&leads)
            .map(|(r, n)| ratio(*r, *n as f64))
            .collect();
        let (q, c, r) = (
            given.contains('q'),
            given.contains('c'),
            given.contains('r'),
        );
        // Missing means null, never 0 (docs/conventions.md#sales-marketing-and-support).
        let keep = |on: bool, a: ArrayRef| if on { a } else { nulls_like(&a) };
        laid.batch(vec![
            ("leads".into(), i64_col(leads)),
            ("qualified_leads".into(), keep(q, i64_col(qualified))),
            ("qualified_leads_growth".into(), keep(q, f64_col(growth))),
            ("qualification_rate".into(), keep(q, f64_col(qual_rate))),
            ("converted_leads".into(), keep(c, i64_col(converted))),
            ("lead_conversion_rate".into(), keep(c, f64_col(conv_rate))),
            (
                "revenue".into(),
                keep(r, f64_col(revenue.into_iter().map(Some).collect())),
            ),
            ("revenue_per_lead".into(), keep(r, f64_col(rpl))),
        ])
    }
}

fn part(l: &Leads, r: Range<usize>, seg: &[u32], n_segments: usize) -> KpiResult<(Acc, usize)> {
    let (offset, n) = (r.start, seg.len());
    let (freq, zone) = (l.common.freq, l.common.zone);
    let at = |e: KpiError| e.at_offset(offset);
    let times = |c: &Column| read_times(&c.slice(offset, n), zone, freq).map_err(at);
    let created = times(l.created)?;
    let qualified = l.qualified.map(times).transpose()?;
    let converted = l.converted.map(times).transpose()?;
    let revenue = l
        .revenue
        .map(|c| read_f64(&c.slice(offset, n)).map_err(at))
        .transpose()?;
    let mut acc = Acc::new(&LAYOUT);
    let read: Vec<_> = [Some(&created), qualified.as_ref(), converted.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    acc.prepare(&read, n_segments.max(1));
    let by_event = l.cohort == LeadCohort::Event;
    let name =
        |c: Option<&Column>, role: &str| c.map_or_else(|| role.to_string(), |c| c.name.clone());
    let mut rules = Rules::new(
        vec![
            (
                l.created.name.clone(),
                "created times must not be missing".into(),
            ),
            (
                name(l.qualified, "qualified"),
                "a lead cannot qualify before it was created".into(),
            ),
            (
                name(l.converted, "converted"),
                "a lead cannot convert before it was created".into(),
            ),
            (
                name(l.revenue, "revenue"),
                "revenue must not be negative".into(),
            ),
        ],
        offset,
    );
    for i in 0..n {
        let c = created.at[i];
        if c == NONE {
            rules.bad(0, i, || "missing".into());
            continue;
        }
        let q = qualified.as_ref().map_or(NONE, |t| t.at[i]);
        if q != NONE && q < c {
            rules.bad(1, i, || format!("{} < created {}", fmt_us(q), fmt_us(c)));
            continue;
        }
        let v = converted.as_ref().map_or(NONE, |t| t.at[i]);
        if v != NONE && v < c {
            rules.bad(2, i, || format!("{} < created {}", fmt_us(v), fmt_us(c)));
            continue;
        }
        let rev = revenue.as_ref().and_then(|r| r[i]);
        if let Some(x) = rev.filter(|x| *x < 0.0) {
            rules.bad(3, i, || format!("{x}"));
            continue;
        }
        let (g, co) = (seg[i], created.ord[i]);
        acc.count(co, g, 0);
        if q != NONE {
            let o = if by_event {
                qualified.as_ref().expect("present").ord[i]
            } else {
                co
            };
            acc.count(o, g, 1);
        }
        if v != NONE {
            let o = if by_event {
                converted.as_ref().expect("present").ord[i]
            } else {
                co
            };
            acc.count(o, g, 2);
        }
        if let Some(x) = rev {
            // Revenue counts with the lead's cohort (or its conversion, by event).
            let o = match (&converted, by_event) {
                (Some(t), true) if t.ord[i] != NONE => t.ord[i],
                _ => co,
            };
            acc.sum(o, g, 0, x);
        }
    }
    let skipped = rules.check(l.common.invalid)?;
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
    fn merged_through_the_registry_and_missing_columns_null() {
        let created = times("created", &[Some(0), Some(1), Some(2), Some(3)]);
        let qualified = times("qualified", &[Some(1), None, Some(3), None]);
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
