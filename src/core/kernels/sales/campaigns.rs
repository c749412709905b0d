//! Campaign metrics (`campaign_metrics`): sums of sends, deliveries, opens, clicks,
//! conversions, cost and revenue, and the rates between them
//! (docs/conventions.md#sales-marketing-and-support).

use std::ops::Range;

use arrow::array::{ArrayRef, RecordBatch};

use crate::core::engine::state::Analysis;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::Column;

use super::acc::{Acc, Layout, Rule};
use super::finish::{f64_col, lay_out, rates, ratio};
use super::merge::merge_states;
use super::partial::{given, key, partial_state, Common, Part};
use super::read::NONE;

/// The sums of the state and of the result, in the order of [`Campaigns::sums`].
const SUMS: [&str; 7] = [
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "spend",
    "revenue",
];

/// The columns and settings of [`CampaignMetrics`]; at least one sum column must be given.
#[derive(Debug, Clone, Copy)]
pub struct Campaigns<'a> {
    /// The time to bucket by (no periods without it; `common.freq` needs it).
    pub time: Option<&'a Column>,
    pub sends: Option<&'a Column>,
    pub deliveries: Option<&'a Column>,
    pub opens: Option<&'a Column>,
    pub clicks: Option<&'a Column>,
    pub conversions: Option<&'a Column>,
    pub cost: Option<&'a Column>,
    pub revenue: Option<&'a Column>,
    /// Denominator of open and click-through rates: "delivered" or "sent"; None: delivered
    /// when deliveries are given, else sent.
    pub base: Option<&'a str>,
    /// Denominator of the conversion rate: "clicked", "delivered" or "sent".
    pub conversion_base: &'a str,
    pub common: Common<'a>,
}

impl<'a> Campaigns<'a> {
    fn sums(&self) -> [Option<&'a Column>; 7] {
        [
            self.sends,
            self.deliveries,
            self.opens,
            self.clicks,
            self.conversions,
            self.cost,
            self.revenue,
        ]
    }
}

/// Campaign metrics per (period, segments…) group.
pub struct CampaignMetrics;

const LAYOUT: Layout = Layout {
    counts: &["rows"],
    sums: &SUMS,
    lists: &[],
};

fn one_of(parameter: &str, value: &str, allowed: &[&str]) -> KpiResult<String> {
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(KpiError::param(
            parameter,
            format!("{value:?} is not one of {allowed:?}"),
        ))
    }
}

impl Analysis for CampaignMetrics {
    const NAME: &'static str = "campaign_metrics";
    type Input<'a> = Campaigns<'a>;

    fn partial(c: &Campaigns<'_>) -> KpiResult<RecordBatch> {
        let sums = c.sums();
        if sums.iter().all(Option::is_none) {
            return Err(KpiError::param(
                "sends",
                "give at least one of sends=, deliveries=, opens=, clicks=, conversions=, cost=, revenue=",
            ));
        }
        if c.common.freq.is_some() && c.time.is_none() {
            return Err(KpiError::param(
                "freq",
                "needs a time column (time=...) to bucket",
            ));
        }
        let default_base = if c.deliveries.is_some() {
            "delivered"
        } else {
            "sent"
        };
        let base = one_of(
            "base",
            c.base.unwrap_or(default_base),
            &["delivered", "sent"],
        )?;
        let conversion_base = one_of(
            "conversion_base",
            c.conversion_base,
            &["clicked", "delivered", "sent"],
        )?;
        let inputs: Vec<(&str, Option<&Column>)> = SUMS.into_iter().zip(sums).collect();
        let settings = vec![
            (key(Self::NAME, "base"), base),
            (key(Self::NAME, "conversion_base"), conversion_base),
            given(Self::NAME, &inputs),
        ];
        let n = c
            .time
            .or(sums.into_iter().flatten().next())
            .map_or(0, Column::len);
        partial_state(
            Self::NAME,
            &LAYOUT,
            &c.common,
            n,
            settings,
            |r, seg, n_seg| part(c, r, seg, n_seg),
        )
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge_states(states, Self::NAME)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        let laid = lay_out(state, Self::NAME, &LAYOUT)?;
        let given = laid.given()?;
        let base = laid.setting("base")?;
        let conversion_base = laid.setting("conversion_base")?;
        let mut v: Vec<Vec<f64>> = Vec::new();
        for s in SUMS {
            v.push(laid.sums(s)?);
        }
        let sum = |name: &str| &v[SUMS.iter().position(|s| *s == name).expect("a sum")];
        // A rate is null when a sum it divides was not given.
        let div = |a: &str, b: &str| given.keep(&[a, b], f64_col(rates(sum(a), sum(b))));
        let profit: Vec<Option<f64>> = sum("revenue")
            .iter()
            .zip(sum("spend"))
            .map(|(r, s)| ratio(r - s, *s))
            .collect();
        let mut out: Vec<(String, ArrayRef)> = SUMS
            .iter()
            .map(|s| {
                let col = f64_col(sum(s).iter().map(|x| Some(*x)).collect());
                (s.to_string(), given.keep(&[*s], col))
            })
            .collect();
        out.extend([
            ("delivery_rate".into(), div("delivered", "sent")),
            ("open_rate".into(), div("opened", &base)),
            ("click_through_rate".into(), div("clicked", &base)),
            ("click_to_open_rate".into(), div("clicked", "opened")),
            ("conversion_rate".into(), div("converted", &conversion_base)),
            ("cost_per_acquisition".into(), div("spend", "converted")),
            (
                "roi".into(),
                given.keep(&["revenue", "spend"], f64_col(profit)),
            ),
        ]);
        laid.batch(out)
    }
}

fn part(c: &Campaigns, r: Range<usize>, seg: &[u32], n_segments: usize) -> KpiResult<(Acc, usize)> {
    let columns = c.sums();
    let mut rules: Vec<Rule> = vec![(c.time, "time", "times must not be missing")];
    for (col, s) in columns.iter().zip(SUMS) {
        rules.push((*col, s, "values must be present and not negative"));
    }
    let mut p = Part::new(&LAYOUT, &c.common, r, &rules);
    let time = c.time.map(|t| p.times(t)).transpose()?;
    let values: Vec<Option<Vec<Option<f64>>>> = columns
        .iter()
        .map(|col| col.map(|x| p.numbers(x)).transpose())
        .collect::<KpiResult<_>>()?;
    p.prepare(&[time.as_ref()], n_segments);
    'rows: for i in 0..p.n {
        let o = match &time {
            Some(t) if t.at[i] == NONE => {
                p.rules.bad(0, i, || "missing".into());
                continue;
            }
            Some(t) => t.ord[i],
            None => 0,
        };
        for (k, v) in values.iter().enumerate() {
            if let Some(v) = v {
                match v[i] {
                    Some(x) if x >= 0.0 => {}
                    Some(x) => {
                        p.rules.bad(k + 1, i, || format!("{x}"));
                        continue 'rows;
                    }
                    None => {
                        p.rules.bad(k + 1, i, || "missing".into());
                        continue 'rows;
                    }
                }
            }
        }
        let g = seg[i];
        p.acc.count(o, g, 0);
        for (k, v) in values.iter().enumerate() {
            if let Some(v) = v {
                p.acc.sum(o, g, k, v[i].expect("checked"));
            }
        }
    }
    p.done()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{common, f64_at, twice};
    use super::*;
    use arrow::array::Float64Array;
    use std::sync::Arc;

    #[test]
    fn merged_through_the_registry_with_the_default_base() {
        let delivered = Column::from_array("d", Arc::new(Float64Array::from(vec![600.0, 400.0])));
        let opened = Column::from_array("o", Arc::new(Float64Array::from(vec![150.0, 100.0])));
        let st = CampaignMetrics::partial(&Campaigns {
            time: None,
            sends: None,
            deliveries: Some(&delivered),
            opens: Some(&opened),
            clicks: None,
            conversions: None,
            cost: None,
            revenue: None,
            base: None,
            conversion_base: "clicked",
            common: common(&[]),
        })
        .unwrap();
        let out = twice(st);
        assert_eq!(f64_at(&out, "delivered"), Some(2000.0));
        assert_eq!(f64_at(&out, "open_rate"), Some(0.25));
        assert_eq!(f64_at(&out, "sent"), None);
        assert_eq!(f64_at(&out, "delivery_rate"), None);
    }
}
