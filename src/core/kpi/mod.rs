//! KPIs: a metric's history judged against an objective — attainment, change and status.
//!
//! A KPI is a metric plus a target (a value, or a range to stay in), a favourable direction, an
//! optional start value and deadline, and an at-risk band. Each period of the history is judged
//! as of that period, from the values up to it, so a history shows how the KPI's status moved.
//!
//! The KPI layer (docs/architecture.md), with the change signals it reports ([`signals`]).

pub mod signals;

use serde::{Deserialize, Serialize};

use crate::core::error::{KpiError, KpiResult};

/// Which way a metric should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Increase,
    Decrease,
    /// Neither way is better in itself (only ranges make sense as targets).
    Neutral,
}

impl Direction {
    pub fn parse(s: &str) -> KpiResult<Direction> {
        match s {
            "increase" => Ok(Direction::Increase),
            "decrease" => Ok(Direction::Decrease),
            "neutral" => Ok(Direction::Neutral),
            _ => Err(KpiError::param(
                "direction",
                format!("{s:?} is not one of \"increase\", \"decrease\", \"neutral\""),
            )),
        }
    }
}

/// What the KPI aims at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Reach (increase) or get down to (decrease) this value.
    Value(f64),
    /// Stay within [low, high].
    Range(f64, f64),
    /// Do at least as well as the period before ("keep growing"): each period's target is the
    /// previous value.
    Previous,
}

impl Target {
    /// The one target form a KPI states (docs/conventions.md#kpi-status): a value, a range
    /// (low and high together), or doing better than the previous period.
    pub fn of(
        value: Option<f64>,
        low: Option<f64>,
        high: Option<f64>,
        previous: bool,
    ) -> KpiResult<Target> {
        match (value, low, high, previous) {
            (Some(t), None, None, false) => Ok(Target::Value(t)),
            (None, Some(l), Some(h), false) => Ok(Target::Range(l, h)),
            (None, None, None, true) => Ok(Target::Previous),
            _ => Err(KpiError::param(
                "target",
                "give one target value, a range (low, high), or \"previous\"",
            )),
        }
    }
}

/// A KPI's objective as the public API states it (`kpikit.KPI`): the target, the direction
/// (None: read from the start value, as OKR trackers do: a target above it is an increase,
/// below it a decrease, a range neutral) and the pace settings.
#[derive(Debug, Clone, Copy)]
pub struct Goal {
    pub target: Target,
    pub direction: Option<Direction>,
    pub start_value: Option<f64>,
    pub at_risk_band: f64,
    /// Wide, so that any integer a caller passes reaches the bound check.
    pub pace_periods: i128,
}

/// The status vocabulary (Power BI goals' set; docs/conventions.md#kpi-status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    NotStarted,
    /// A tracked period without a value (PerformancePoint's no-data band).
    NoData,
    OnTrack,
    AtRisk,
    Behind,
    Achieved,
    Overdue,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::NotStarted => "not_started",
            Status::NoData => "no_data",
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::Behind => "behind",
            Status::Achieved => "achieved",
            Status::Overdue => "overdue",
        }
    }
}

/// Most periods `pace_periods` and `anomaly_periods` may look back over.
pub const MAX_PERIODS: usize = 10_000;

/// A KPI's objective, with periods counted as positions in the history (0 = first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    pub target: Target,
    pub direction: Direction,
    /// Value progress is measured from; None = the first value of the history from `start`.
    pub start_value: Option<f64>,
    /// First period the KPI is tracked (earlier periods are not started).
    pub start: usize,
    /// Last period by which the target must be reached; None = an ongoing target, met or not
    /// in each period.
    pub deadline: Option<usize>,
    /// Width of the at-risk band beside the target, in the metric's unit.
    pub at_risk_band: f64,
    /// Recent periods whose straight-line trend is projected to the deadline.
    pub pace_periods: usize,
}

/// One period's judgement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    pub attainment: Option<f64>,
    pub change: Option<f64>,
    pub improved: Option<bool>,
    /// Value a straight line through recent periods reaches at the deadline.
    pub projected: Option<f64>,
    pub status: Status,
}

impl Objective {
    pub fn validate(&self) -> KpiResult<()> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(KpiError::param(name, format!("{v} is not a finite number")))
            }
        };
        match self.target {
            Target::Value(t) => {
                finite("target", t)?;
                if self.direction == Direction::Neutral {
                    return Err(KpiError::param(
                        "direction",
                        "a neutral metric has no better side of a single target; give a range (low, high)",
                    ));
                }
            }
            Target::Previous => {
                if self.direction == Direction::Neutral {
                    return Err(KpiError::param(
                        "direction",
                        "a target of doing better than the previous period needs a direction",
                    ));
                }
            }
            Target::Range(lo, hi) => {
                finite("target", lo)?;
                finite("target", hi)?;
                if lo > hi {
                    return Err(KpiError::param(
                        "target",
                        format!("range ({lo}, {hi}) has its low end above its high end"),
                    ));
                }
            }
        }
        if !(self.at_risk_band >= 0.0 && self.at_risk_band.is_finite()) {
            return Err(KpiError::param(
                "thresholds",
                format!(
                    "at-risk band {} is not a non-negative number",
                    self.at_risk_band
                ),
            ));
        }
        if self.pace_periods < 2 {
            return Err(KpiError::param(
                "pace_periods",
                "a trend needs at least 2 periods",
            ));
        }
        KpiError::int_param::<usize>(
            "pace_periods",
            self.pace_periods as i128,
            2,
            MAX_PERIODS as i128,
        )?;
        if let Some(s) = self.start_value {
            finite("start_value", s)?;
        }
        if let Some(d) = self.deadline {
            if d < self.start {
                return Err(KpiError::param("deadline", "is before the start"));
            }
        }
        Ok(())
    }

    /// How far `v` is from meeting the target, in the metric's unit (0 = met).
    fn shortfall(&self, v: f64) -> f64 {
        match (self.target, self.direction) {
            (Target::Value(t), Direction::Decrease) => (v - t).max(0.0),
            (Target::Value(t), _) => (t - v).max(0.0),
            (Target::Range(lo, hi), _) => (lo - v).max(v - hi).max(0.0),
            // Resolved to a value per period before it is measured against.
            (Target::Previous, _) => 0.0,
        }
    }

    /// The status of a shortfall: none is on track, one within the at-risk band at risk,
    /// a larger one behind.
    fn status_of(&self, gap: f64) -> Status {
        if gap == 0.0 {
            Status::OnTrack
        } else if gap <= self.at_risk_band {
            Status::AtRisk
        } else {
            Status::Behind
        }
    }

    /// Direction-aware progress from the start value: (v − s) / (t − s) for an increase,
    /// (s − v) / (s − t) for a decrease; when the start already met the target (no distance to
    /// cover), 1 if the target is met and 0 if not. Ranges have no single target to progress to: 1 inside, else None.
    fn attainment(&self, v: f64, s: f64) -> Option<f64> {
        match self.target {
            Target::Value(t) => {
                let (num, den) = match self.direction {
                    Direction::Decrease => (s - v, s - t),
                    _ => (v - s, t - s),
                };
                // A start already at or beyond the target leaves no distance to progress over:
                // met is 1, missed is 0.
                if den <= 0.0 {
                    Some(if self.shortfall(v) == 0.0 { 1.0 } else { 0.0 })
                } else {
                    Some(num / den)
                }
            }
            Target::Range(..) => (self.shortfall(v) == 0.0).then_some(1.0),
            Target::Previous => None,
        }
    }

    fn improved(&self, prev: f64, v: f64) -> Option<bool> {
        match (self.target, self.direction) {
            (Target::Range(..), _) | (_, Direction::Neutral) => {
                // Moving towards (or staying within) the range is the favourable way.
                let (a, b) = (self.shortfall(prev), self.shortfall(v));
                if a == b {
                    None
                } else {
                    Some(b < a)
                }
            }
            (_, Direction::Increase) => (v != prev).then_some(v > prev),
            (_, Direction::Decrease) => (v != prev).then_some(v < prev),
        }
    }
}

/// Periods judged against the previous value: met (at least as good, the favourable way) is on
/// track, short by at most the band at risk, else behind; a period without an earlier value
/// to compare with is not started. No attainment or projection: there is no fixed goal.
fn evaluate_against_previous(values: &[Option<f64>], obj: &Objective) -> Vec<Judgement> {
    let mut out = Vec::with_capacity(values.len());
    let mut prev: Option<f64> = None;
    for (i, v) in values.iter().enumerate() {
        let v = v.filter(|x| x.is_finite());
        let change = prev.zip(v).map(|(p, x)| x - p);
        let improved = prev.zip(v).and_then(|(p, x)| {
            let o = Objective {
                target: Target::Value(p),
                ..*obj
            };
            o.improved(p, x)
        });
        let status = match (v, prev) {
            _ if i < obj.start => Status::NotStarted,
            (None, _) => Status::NoData,
            (Some(_), None) => Status::NotStarted,
            (Some(x), Some(p)) => {
                let gap = Objective {
                    target: Target::Value(p),
                    ..*obj
                }
                .shortfall(x);
                obj.status_of(gap)
            }
        };
        out.push(Judgement {
            attainment: None,
            change,
            improved,
            projected: None,
            status,
        });
        if v.is_some() {
            prev = v;
        }
    }
    out
}

/// Least-squares slope of `ys` against 0, 1, 2…
fn slope(ys: &[(usize, f64)]) -> Option<f64> {
    if ys.len() < 2 {
        return None;
    }
    let n = ys.len() as f64;
    let mx = ys.iter().map(|p| p.0 as f64).sum::<f64>() / n;
    let my = ys.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = ys.iter().map(|p| (p.0 as f64 - mx).powi(2)).sum();
    let sxy: f64 = ys.iter().map(|p| (p.0 as f64 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Judge every period of a history (`values[i]` = the metric in period i; None = no value).
///
/// Status rules, as of period i with value v:
/// 1. before `start`: not started; a tracked period without a value: no data;
/// 2. the target is met (v ≥ target for an increase, ≤ for a decrease, inside a range): achieved
///    when the KPI has a deadline, on track when it is an ongoing target;
/// 3. past the deadline and not met: overdue;
/// 4. with a deadline: project a straight line through the last `pace_periods` values to the
///    deadline; on track if the projection meets the target, at risk if it falls short by at
///    most the at-risk band, behind otherwise (with fewer than two values, v itself is used);
/// 5. an ongoing target not met: at risk within the band, behind beyond it.
pub fn evaluate(values: &[Option<f64>], obj: &Objective) -> KpiResult<Vec<Judgement>> {
    obj.validate()?;
    if obj.target == Target::Previous {
        return Ok(evaluate_against_previous(values, obj));
    }
    let start_value = obj.start_value.or_else(|| {
        values
            .iter()
            .skip(obj.start)
            .find_map(|v| v.filter(|x| x.is_finite()))
    });
    let mut out = Vec::with_capacity(values.len());
    let mut prev: Option<f64> = None;
    for (i, v) in values.iter().enumerate() {
        let v = v.filter(|x| x.is_finite());
        let change = match (prev, v) {
            (Some(p), Some(x)) => Some(x - p),
            _ => None,
        };
        let improved = match (prev, v) {
            (Some(p), Some(x)) => obj.improved(p, x),
            _ => None,
        };
        let Some(x) = v.filter(|_| i >= obj.start) else {
            out.push(Judgement {
                attainment: None,
                change,
                improved,
                projected: None,
                status: if i < obj.start {
                    Status::NotStarted
                } else {
                    Status::NoData
                },
            });
            prev = v.or(prev);
            continue;
        };
        let attainment = start_value.and_then(|s| obj.attainment(x, s));
        let mut projected = None;
        let status = if obj.shortfall(x) == 0.0 {
            if obj.deadline.is_some() {
                Status::Achieved
            } else {
                Status::OnTrack
            }
        } else {
            match obj.deadline {
                Some(d) if i > d => Status::Overdue,
                Some(d) => {
                    let recent: Vec<(usize, f64)> = (obj.start..=i)
                        .rev()
                        .filter_map(|j| values[j].filter(|y| y.is_finite()).map(|y| (j, y)))
                        .take(obj.pace_periods)
                        .collect();
                    let p = slope(&recent).map_or(x, |b| x + b * (d - i) as f64);
                    projected = Some(p);
                    obj.status_of(obj.shortfall(p))
                }
                None => {
                    if obj.shortfall(x) <= obj.at_risk_band {
                        Status::AtRisk
                    } else {
                        Status::Behind
                    }
                }
            }
        };
        out.push(Judgement {
            attainment,
            change,
            improved,
            projected,
            status,
        });
        prev = Some(x);
    }
    Ok(out)
}

/// A KPI over a metric history table: `period` (dates or times, one row per period of `freq`)
/// and `value`; `start` and `deadline` are dates (`YYYY-MM-DD`), read as the periods containing
/// them. The history is laid out over every period from its first to its last (a missing
/// period has no value), so trends count calendar periods, not rows.
pub struct History<'a> {
    pub table: &'a crate::core::input::Table,
    pub period: String,
    pub value: String,
    pub freq: crate::core::input::time::Freq,
    pub start: Option<String>,
    pub deadline: Option<String>,
    /// Columns holding the counts behind a rate (value ≈ numerator / denominator): adds
    /// `ci_low`, `ci_high` (Wilson 95 %) and `significant` (two-proportion z-test of the change
    /// from the previous period with counts, 5 %). Both or neither.
    pub numerator: Option<String>,
    pub denominator: Option<String>,
    /// Earlier values the `anomaly` flag is scored against (see `signals::anomalies`).
    pub anomaly_periods: usize,
}

fn day_of(name: &str, text: &str) -> KpiResult<i64> {
    let d = chrono::NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
        .map_err(|_| KpiError::param(name, format!("{text:?} is not a date (YYYY-MM-DD)")))?;
    Ok(crate::core::input::time::days_from_civil(
        chrono::Datelike::year(&d) as i64,
        chrono::Datelike::month(&d),
        chrono::Datelike::day(&d),
    ))
}

/// Judge a metric history table against `goal`; see [`evaluate`] for the rules. The start
/// and deadline are the positions of `history.start` / `history.deadline`.
pub fn evaluate_history(history: &History, goal: &Goal) -> KpiResult<arrow::array::RecordBatch> {
    use crate::core::error::BadRows;
    use crate::core::input::time::{period_ordinals, start_dates, Zone};
    use crate::core::input::{f64_chunks, value_f64};
    use arrow::array::{Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    KpiError::int_param::<usize>(
        "anomaly_periods",
        history.anomaly_periods as i128,
        0,
        MAX_PERIODS as i128,
    )?;
    let objective = &Objective {
        target: goal.target,
        // Replaced below when read from the start value.
        direction: goal.direction.unwrap_or(Direction::Increase),
        start_value: goal.start_value,
        start: 0,
        deadline: None,
        at_risk_band: goal.at_risk_band,
        pace_periods: KpiError::int_param(
            "pace_periods",
            goal.pace_periods,
            2,
            MAX_PERIODS as i128,
        )?,
    };

    let freq = history.freq;
    let periods = history.table.column(&history.period)?;
    let values = history.table.column(&history.value)?;
    let mut ords = Vec::new();
    let mut bad = BadRows::default();
    for c in period_ordinals(&periods, Zone::Utc, freq)? {
        for i in 0..c.len() {
            if c.is_null(i) {
                bad.push(ords.len(), || "missing".into());
            }
            ords.push(c.value(i));
        }
    }
    KpiError::check_rows(&history.period, "must not be missing", bad)?;
    let mut vals = Vec::with_capacity(ords.len());
    for c in f64_chunks(&values)? {
        for i in 0..c.len() {
            vals.push(value_f64(&c, i));
        }
    }
    let (first, last) = match (ords.iter().min(), ords.iter().max()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (0, -1),
    };
    let n = (last - first + 1).max(0) as usize;
    let mut series: Vec<Option<f64>> = vec![None; n];
    let mut seen = vec![usize::MAX; n];
    let mut dup = BadRows::default();
    for (row, (&o, &v)) in ords.iter().zip(&vals).enumerate() {
        let k = (o - first) as usize;
        if seen[k] != usize::MAX {
            let earlier = seen[k];
            dup.push(row, || format!("same period as row {earlier}"));
        }
        seen[k] = row;
        series[k] = v;
    }
    KpiError::check_rows(&history.period, "must have one row per period", dup)?;
    let counts = match (&history.numerator, &history.denominator) {
        (None, None) => None,
        (Some(num), Some(den)) => {
            let mut per_period: [Vec<Option<f64>>; 2] = [vec![None; n], vec![None; n]];
            for (slot, name) in [num, den].into_iter().enumerate() {
                let col = history.table.column(name)?;
                let mut row = 0usize;
                let mut bad = BadRows::default();
                for c in f64_chunks(&col)? {
                    for i in 0..c.len() {
                        let v = value_f64(&c, i);
                        if let Some(x) = v.filter(|x| !(x.is_finite() && *x >= 0.0)) {
                            bad.push(row, || x.to_string());
                        }
                        per_period[slot][(ords[row] - first) as usize] = v;
                        row += 1;
                    }
                }
                KpiError::check_rows(name, "must be a non-negative count", bad)?;
            }
            let [k, d] = per_period;
            let mut bad = BadRows::default();
            for (row, &o) in ords.iter().enumerate() {
                let j = (o - first) as usize;
                if let (Some(a), Some(b)) = (k[j], d[j]) {
                    if a > b {
                        bad.push(row, || format!("{a} > {b}"));
                    }
                }
            }
            KpiError::check_rows(num, "must not exceed the denominator", bad)?;
            Some((k, d))
        }
        _ => {
            return Err(KpiError::param(
                "numerator",
                "give both the numerator and the denominator columns, or neither",
            ))
        }
    };
    let position = |name: &str, text: &Option<String>| -> KpiResult<Option<i64>> {
        text.as_deref()
            .map(|t| day_of(name, t).map(|d| freq.ordinal_of_day(d) - first))
            .transpose()
    };
    let start = position("start", &history.start)?.unwrap_or(0);
    let deadline = position("deadline", &history.deadline)?;
    if let Some(d) = deadline {
        if d < start {
            return Err(KpiError::param("deadline", "is before the start"));
        }
    }
    // A start after the history, or a deadline before it, still judges every period.
    let mut obj = Objective {
        start: start.clamp(0, n as i64) as usize,
        deadline: deadline.filter(|&d| d >= 0).map(|d| d as usize),
        ..*objective
    };
    if goal.direction.is_none() {
        obj.direction = match obj.target {
            Target::Range(..) => Direction::Neutral,
            Target::Previous => {
                return Err(KpiError::param(
                    "direction",
                    "not given; doing better than the previous period needs one",
                ))
            }
            Target::Value(t) => {
                let s = obj.start_value.or_else(|| {
                    series
                        .iter()
                        .skip(obj.start)
                        .find_map(|v| v.filter(|x| x.is_finite()))
                });
                match s {
                    Some(s) if t < s => Direction::Decrease,
                    Some(_) => Direction::Increase,
                    None => {
                        return Err(KpiError::param(
                            "direction",
                            "not given, and the history has no value to read it from",
                        ))
                    }
                }
            }
        };
    }
    let judged = evaluate(&series, &obj)?;
    // A deadline before the first period: every unmet period is overdue.
    let overdue_all = matches!(deadline, Some(d) if d < 0);
    let f = |x: Vec<Option<f64>>| -> ArrayRef { Arc::new(Float64Array::from(x)) };
    let (lo, hi) = match objective.target {
        Target::Value(t) => (t, t),
        Target::Range(a, b) => (a, b),
        Target::Previous => (f64::NAN, f64::NAN),
    };
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        (
            "period",
            arrow::compute::cast(
                &start_dates(freq, (0..n).map(|k| Some(first + k as i64))),
                &DataType::Date32,
            )?,
        ),
        ("value", f(series.clone())),
    ];
    match objective.target {
        Target::Value(_) => cols.push(("target", f(vec![Some(lo); n]))),
        Target::Previous => {
            // Each period's target is the last value before it.
            let mut last = None;
            let mut t = Vec::with_capacity(n);
            for v in &series {
                t.push(last);
                if v.is_some() {
                    last = *v;
                }
            }
            cols.push(("target", f(t)));
        }
        Target::Range(..) => {
            cols.push(("target_low", f(vec![Some(lo); n])));
            cols.push(("target_high", f(vec![Some(hi); n])));
        }
    }
    cols.push((
        "attainment",
        f(judged.iter().map(|j| j.attainment).collect()),
    ));
    cols.push(("change", f(judged.iter().map(|j| j.change).collect())));
    cols.push((
        "improved",
        Arc::new(BooleanArray::from(
            judged.iter().map(|j| j.improved).collect::<Vec<_>>(),
        )),
    ));
    cols.push(("projected", f(judged.iter().map(|j| j.projected).collect())));
    cols.push((
        "status",
        Arc::new(StringArray::from_iter_values(judged.iter().map(|j| {
            let s = if overdue_all
                && !matches!(
                    j.status,
                    Status::Achieved | Status::OnTrack | Status::NotStarted | Status::NoData
                ) {
                Status::Overdue
            } else {
                j.status
            };
            s.label()
        }))),
    ));
    if let Some((k, d)) = &counts {
        let ci: Vec<Option<(f64, f64)>> = k
            .iter()
            .zip(d)
            .map(|(a, b)| {
                a.zip(*b)
                    .and_then(|(a, b)| crate::core::engine::stats::wilson(a, b))
            })
            .collect();
        // The change tested is the one `change` reports: from the last earlier period with
        // counts to this one.
        let mut last: Option<(f64, f64)> = None;
        let mut sig = Vec::with_capacity(n);
        for (a, b) in k.iter().zip(d) {
            let now = a.zip(*b).filter(|p| p.1 > 0.0);
            sig.push(match (last, now) {
                (Some((k1, n1)), Some((k2, n2))) => {
                    crate::core::kpi::signals::significant_change(k1, n1, k2, n2)
                }
                _ => None,
            });
            if now.is_some() {
                last = now;
            }
        }
        cols.push(("ci_low", f(ci.iter().map(|c| c.map(|c| c.0)).collect())));
        cols.push(("ci_high", f(ci.iter().map(|c| c.map(|c| c.1)).collect())));
        cols.push(("significant", Arc::new(BooleanArray::from(sig))));
    }
    cols.push((
        "anomaly",
        Arc::new(BooleanArray::from(crate::core::kpi::signals::anomalies(
            &series,
            history.anomaly_periods,
        ))),
    ));
    let fields: Vec<Field> = cols
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), true))
        .collect();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        cols.into_iter().map(|c| c.1).collect(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(target: Target, direction: Direction) -> Objective {
        Objective {
            target,
            direction,
            start_value: None,
            start: 0,
            deadline: None,
            at_risk_band: 0.0,
            pace_periods: 3,
        }
    }

    fn statuses(values: &[Option<f64>], o: &Objective) -> Vec<&'static str> {
        evaluate(values, o)
            .unwrap()
            .iter()
            .map(|j| j.status.label())
            .collect()
    }

    #[test]
    fn increase_with_a_deadline_uses_the_pace() {
        // NRR from 1.00 towards 1.10 by period 4. Periods 0–2 climb 0.02 a period: the line
        // through them reaches 1.04 + 0.02 × 2 = 1.08 at period 4, 0.02 short: behind without
        // a band, at risk with a 0.025 band.
        let mut o = obj(Target::Value(1.10), Direction::Increase);
        o.deadline = Some(4);
        let v = [
            Some(1.00),
            Some(1.02),
            Some(1.04),
            Some(1.10),
            Some(1.09),
            Some(1.05),
        ];
        // Period 0 has no trend yet (1.00 is 0.10 short); period 3 meets the target; period 4
        // (the deadline) projects 1.09 (slope 0.025 through 1.04, 1.10, 1.09) at itself;
        // period 5 is past the deadline.
        assert_eq!(
            statuses(&v, &o),
            ["behind", "behind", "behind", "achieved", "behind", "overdue"]
        );
        o.at_risk_band = 0.025;
        assert_eq!(
            statuses(&v, &o),
            ["behind", "at_risk", "at_risk", "achieved", "at_risk", "overdue"]
        );
        let j = evaluate(&v, &o).unwrap();
        // Attainment from the start value 1.00: (1.04 − 1) / (1.10 − 1) = 0.4.
        assert!((j[2].attainment.unwrap() - 0.4).abs() < 1e-12);
        assert!((j[2].projected.unwrap() - 1.08).abs() < 1e-12);
        assert_eq!(j[4].improved, Some(false));
    }

    #[test]
    fn decrease_below_the_start_value_and_ongoing_targets() {
        // Churn from 5 % down to 2 %, ongoing: met = on track; 2.3 % with a 0.5-point band =
        // at risk; 4 % = behind.
        let mut o = obj(Target::Value(0.02), Direction::Decrease);
        o.at_risk_band = 0.005;
        let v = [Some(0.05), Some(0.04), Some(0.023), Some(0.019)];
        assert_eq!(
            statuses(&v, &o),
            ["behind", "behind", "at_risk", "on_track"]
        );
        let j = evaluate(&v, &o).unwrap();
        // (0.05 − 0.023) / (0.05 − 0.02) = 0.9
        assert!((j[2].attainment.unwrap() - 0.9).abs() < 1e-12);
        assert_eq!(j[1].improved, Some(true));
    }

    #[test]
    fn ranges_not_started_and_missing_values() {
        // Keep churn between 1 % and 2 %, tracked from period 1.
        let mut o = obj(Target::Range(0.01, 0.02), Direction::Neutral);
        o.start = 1;
        o.at_risk_band = 0.002;
        let v = [
            Some(0.03),
            Some(0.015),
            None,
            Some(0.021),
            Some(0.005),
            Some(0.012),
        ];
        assert_eq!(
            statuses(&v, &o),
            [
                "not_started",
                "on_track",
                "no_data",
                "at_risk",
                "behind",
                "on_track"
            ]
        );
        let j = evaluate(&v, &o).unwrap();
        assert_eq!(j[1].attainment, Some(1.0));
        assert_eq!(j[3].attainment, None);
        // 0.005 is 0.005 below the range, 0.021 was 0.001 above it: moved away.
        assert_eq!(j[4].improved, Some(false));
        assert_eq!(j[5].improved, Some(true));
        // The change skips the missing period: 0.021 − 0.015.
        assert!((j[3].change.unwrap() - 0.006).abs() < 1e-12);
    }

    #[test]
    fn a_start_beyond_the_target_has_no_progress_to_measure() {
        // NRR ≥ 1.00 starting at 1.05: 0.9995 misses (0), 1.02 meets (1), never 1.01.
        let o = obj(Target::Value(1.0), Direction::Increase);
        let j = evaluate(&[Some(1.05), Some(0.9995), Some(1.02)], &o).unwrap();
        let a: Vec<_> = j.iter().map(|j| j.attainment).collect();
        assert_eq!(a, [Some(1.0), Some(0.0), Some(1.0)]);
    }

    #[test]
    fn doing_better_than_the_previous_period() {
        let mut o = obj(Target::Previous, Direction::Increase);
        o.at_risk_band = 1.0;
        // 10, 12 (better), 11.5 (0.5 short: at risk), missing, 9 (2.5 short of 11.5: behind).
        let v = [Some(10.0), Some(12.0), Some(11.5), None, Some(9.0)];
        assert_eq!(
            statuses(&v, &o),
            ["not_started", "on_track", "at_risk", "no_data", "behind"]
        );
        o.direction = Direction::Neutral;
        assert!(evaluate(&v, &o).is_err());
    }

    #[test]
    fn bad_objectives_are_parameter_errors() {
        let mut o = obj(Target::Value(1.0), Direction::Neutral);
        assert!(evaluate(&[Some(1.0)], &o).is_err());
        o = obj(Target::Range(2.0, 1.0), Direction::Neutral);
        assert!(evaluate(&[Some(1.0)], &o).is_err());
        o = obj(Target::Value(f64::NAN), Direction::Increase);
        assert!(evaluate(&[Some(1.0)], &o).is_err());
    }
}
