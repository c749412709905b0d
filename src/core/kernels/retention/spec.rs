//! The conventions of a retention analysis (docs/conventions.md#retention): who is in a
//! cohort, when a return counts, brackets, period boundaries, the rate's reference and base,
//! and the vendors' presets (docs/conventions.md#retention-presets), defined here once and
//! read by the Python package through the binding.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int32Array, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Date32Type, TimeUnit, TimestampMicrosecondType};

use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::{Freq, US_PER_DAY};

/// Microseconds in an hour.
pub const US_PER_HOUR: i64 = 3_600_000_000;

/// The periods of a retention analysis: calendar days, weeks or months, or local hours
/// (PostHog's hourly retention; docs/conventions.md#retention).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Hour,
    Calendar(Freq),
}

impl From<Freq> for Period {
    fn from(f: Freq) -> Period {
        Period::Calendar(f)
    }
}

impl Period {
    /// The period ordinal containing a wall-clock time in microseconds.
    #[inline]
    pub fn ordinal_of_micros(&self, local_us: i64) -> i64 {
        match self {
            Period::Hour => local_us.div_euclid(US_PER_HOUR),
            Period::Calendar(f) => f.ordinal_of_micros(local_us),
        }
    }

    /// The first instant (wall-clock µs) of the period with this ordinal.
    pub fn start_micros(&self, ordinal: i64) -> i64 {
        match self {
            Period::Hour => ordinal * US_PER_HOUR,
            Period::Calendar(f) => f.start_day(ordinal) * US_PER_DAY,
        }
    }

    /// A stable text form, stored with partial states.
    pub fn label(&self) -> String {
        match self {
            Period::Hour => "hour".into(),
            Period::Calendar(f) => f.label(),
        }
    }

    pub fn from_label(s: &str) -> KpiResult<Period> {
        if s == "hour" {
            Ok(Period::Hour)
        } else {
            Ok(Period::Calendar(Freq::from_label(s)?))
        }
    }

    /// Cohort labels of period ordinals: dates (Date32) for calendar periods, the hour's
    /// wall-clock start (a zone-less µs timestamp) for hours.
    pub fn labels(&self, ordinals: impl IntoIterator<Item = i64>) -> KpiResult<ArrayRef> {
        Ok(match self {
            Period::Hour => Arc::new(TimestampMicrosecondArray::from_iter_values(
                ordinals.into_iter().map(|o| o * US_PER_HOUR),
            )),
            Period::Calendar(f) => arrow::compute::cast(
                &(Arc::new(Int32Array::from_iter_values(
                    ordinals.into_iter().map(|o| f.start_day(o) as i32),
                )) as ArrayRef),
                &DataType::Date32,
            )?,
        })
    }

    /// The period ordinals of cohort labels made by [`Period::labels`].
    pub fn ordinals_of(&self, labels: &ArrayRef) -> KpiResult<Vec<i64>> {
        match (self, labels.data_type()) {
            (Period::Hour, DataType::Timestamp(TimeUnit::Microsecond, _)) => Ok(labels
                .as_primitive::<TimestampMicrosecondType>()
                .values()
                .iter()
                .map(|&us| us.div_euclid(US_PER_HOUR))
                .collect()),
            (Period::Calendar(f), DataType::Date32) => Ok(labels
                .as_primitive::<Date32Type>()
                .values()
                .iter()
                .map(|&d| f.ordinal_of_day(d as i64))
                .collect()),
            (_, other) => Err(KpiError::param(
                "state",
                format!("bad retention cohort column of type {other}"),
            )),
        }
    }
}

/// Who belongs to a cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CohortKind {
    /// A user is in the cohort of their first start event only.
    FirstTime,
    /// A user is in every cohort period in which they did a start event.
    Recurring,
}

/// When a return counts for period k.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Returned in period k itself.
    On,
    /// Returned in period k or any later one.
    OnOrAfter,
    /// Returned in some period 1..=k (Mixpanel's "on or before"): the users ever back by
    /// period k; with a value, the cumulative sum over periods 0..=k (e.g. 30-day LTV).
    OnOrBefore,
    /// Returned in every period 1..=k (Mixpanel's streak mode); with a value, the sum over
    /// period k's returns of those users.
    Streak,
}

/// How periods after the start are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Windows {
    /// Calendar periods: period k is the k-th calendar period after the cohort's.
    Calendar,
    /// Per user, from the start event: period k is [k, k + 1) × (1, 7 or 30) × 24 h.
    Rolling24h,
}

/// The denominator of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// Period 0 (the cohort size, or its value).
    Total,
    /// The previous period.
    Previous,
}

/// Whom the user rate of period k is out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The whole cohort.
    Cohort,
    /// The members for whom period k has begun by the end of the data (Amplitude: "users who
    /// have reached that point"). Differs from the cohort only with rolling windows, where
    /// each member's periods start at their own start event.
    Reached,
}

/// All the conventions of one retention analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionSpec {
    pub period: Period,
    pub cohort: CohortKind,
    pub mode: Mode,
    /// Bracket sizes in periods: `[1, 2, 4]` → bracket 1 = period 1, 2 = periods 2–3,
    /// 3 = periods 4–7. None: one bracket per period.
    pub brackets: Option<Vec<u32>>,
    pub windows: Windows,
    pub reference: Reference,
    pub base: Base,
    /// Return events a member needs in a period (or bracket) for it to count as a return
    /// (`min_returns=`; 1: any return).
    pub min_returns: u32,
}

const COHORTS: &[(&str, CohortKind)] = &[
    ("first_time", CohortKind::FirstTime),
    ("recurring", CohortKind::Recurring),
];
const MODES: &[(&str, Mode)] = &[
    ("on", Mode::On),
    ("on_or_after", Mode::OnOrAfter),
    ("on_or_before", Mode::OnOrBefore),
    ("streak", Mode::Streak),
];
const BOUNDARIES: &[(&str, Windows)] = &[
    ("calendar", Windows::Calendar),
    ("rolling_24h", Windows::Rolling24h),
];
const REFERENCES: &[(&str, Reference)] = &[
    ("total", Reference::Total),
    ("previous", Reference::Previous),
];
const BASES: &[(&str, Base)] = &[("cohort", Base::Cohort), ("reached", Base::Reached)];

/// The option named `s` of parameter `name`, or an error listing the options.
fn pick<T: Copy>(name: &str, s: &str, options: &[(&str, T)]) -> KpiResult<T> {
    options
        .iter()
        .find(|(k, _)| *k == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(k, _)| format!("{k:?}")).collect();
            KpiError::param(name, format!("{s:?} is not one of {}", names.join(", ")))
        })
}

/// The name of option `v`.
fn name_of<T: PartialEq>(v: T, options: &[(&'static str, T)]) -> &'static str {
    options
        .iter()
        .find(|(_, x)| *x == v)
        .map(|(k, _)| *k)
        .expect("every option has a name")
}

/// The settings a preset gives, in this order (`reference` is never a preset's).
pub const PRESET_KEYS: [&str; 4] = ["cohort", "mode", "boundaries", "base"];

/// kpikit's own settings, where neither a keyword nor a preset gives one.
pub const DEFAULTS: [&str; 4] = ["first_time", "on", "calendar", "cohort"];

/// What each vendor's preset sets (docs/conventions.md#retention-presets). PostHog counts a
/// user in the cohort of their first start event, "on" a calendar period; Amplitude measures
/// periods as rolling 24-hour windows from the start event and divides by the users who have
/// reached each period; Mixpanel puts a user in every cohort in which they did the start event
/// and counts "on or after", in rolling windows.
pub const PRESETS: &[(&str, [&str; 4])] = &[
    ("posthog", ["first_time", "on", "calendar", "cohort"]),
    ("amplitude", ["first_time", "on", "rolling_24h", "reached"]),
    (
        "mixpanel",
        ["recurring", "on_or_after", "rolling_24h", "cohort"],
    ),
];

/// The settings of `preset` in [`PRESET_KEYS`] order (None: kpikit's [`DEFAULTS`]).
pub fn preset(name: Option<&str>) -> KpiResult<[&'static str; 4]> {
    match name {
        None => Ok(DEFAULTS),
        Some(n) => PRESETS
            .iter()
            .find(|(p, _)| *p == n)
            .map(|(_, s)| *s)
            .ok_or_else(|| {
                let names: Vec<String> = PRESETS.iter().map(|(p, _)| format!("{p:?}")).collect();
                KpiError::param(
                    "preset",
                    format!("{n:?} is not one of {}", names.join(", ")),
                )
            }),
    }
}

/// The convention keywords of a call, as given: `None` takes the preset's (or kpikit's) value.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings<'a> {
    pub preset: Option<&'a str>,
    pub cohort: Option<&'a str>,
    pub mode: Option<&'a str>,
    pub boundaries: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub base: Option<&'a str>,
}

/// Bounds of `brackets`: how many, and the periods in one (a century of days).
pub const MAX_BRACKETS: usize = 10_000;
pub const MAX_BRACKET: u32 = 36_600;

impl RetentionSpec {
    /// The spec of a call: periods of `freq` (hour, day, week or month), the brackets, and
    /// each convention from its keyword, else the preset, else kpikit's default.
    pub fn new(
        freq: impl Into<Period>,
        brackets: Option<Vec<u32>>,
        s: &Settings<'_>,
    ) -> KpiResult<RetentionSpec> {
        let freq = freq.into();
        if !matches!(
            freq,
            Period::Hour | Period::Calendar(Freq::Day | Freq::Week { .. } | Freq::Month)
        ) {
            return Err(KpiError::param(
                "freq",
                "must be \"hour\", \"day\", \"week\" or \"month\"",
            ));
        }
        if let Some(b) = &brackets {
            if b.is_empty() || b.contains(&0) {
                return Err(KpiError::param(
                    "brackets",
                    "must be a non-empty list of positive bracket sizes, e.g. [1, 2, 4]",
                ));
            }
            if b.len() > MAX_BRACKETS || b.iter().any(|&s| s > MAX_BRACKET) {
                return Err(KpiError::param(
                    "brackets",
                    format!("at most {MAX_BRACKETS} brackets of 1 to {MAX_BRACKET} periods each"),
                ));
            }
        }
        let p = preset(s.preset)?;
        let spec = RetentionSpec {
            period: freq,
            cohort: pick("cohort", s.cohort.unwrap_or(p[0]), COHORTS)?,
            mode: pick("mode", s.mode.unwrap_or(p[1]), MODES)?,
            brackets,
            windows: pick("boundaries", s.boundaries.unwrap_or(p[2]), BOUNDARIES)?,
            reference: pick("reference", s.reference.unwrap_or("total"), REFERENCES)?,
            base: pick("base", s.base.unwrap_or(p[3]), BASES)?,
            min_returns: 1,
        };
        if spec.base == Base::Reached && spec.mode == Mode::OnOrBefore {
            // A member back in period 1 counts "on or before" period 5 without having reached it.
            return Err(KpiError::param(
                "base",
                "\"reached\" applies to modes \"on\", \"on_or_after\" and \"streak\"",
            ));
        }
        Ok(spec)
    }

    /// The same spec where a period counts as a return only with at least `n` return events.
    pub fn with_min_returns(mut self, n: u32) -> KpiResult<RetentionSpec> {
        if n == 0 {
            return Err(KpiError::param("min_returns", "must be at least 1"));
        }
        self.min_returns = n;
        Ok(self)
    }

    /// Anchor rows of the state (each member's start, for [`Base::Reached`]) are needed.
    pub(crate) fn keeps_anchors(&self) -> bool {
        self.base == Base::Reached && self.windows == Windows::Rolling24h
    }

    /// Length of a rolling period in microseconds (a month is 30 days, as in Amplitude; an
    /// hour is an hour).
    pub(crate) fn rolling_len(&self) -> i64 {
        match self.period {
            Period::Hour => US_PER_HOUR,
            Period::Calendar(Freq::Day) => US_PER_DAY,
            Period::Calendar(Freq::Week { .. }) => 7 * US_PER_DAY,
            Period::Calendar(_) => 30 * US_PER_DAY,
        }
    }

    /// First period number of every cell: cell 0 is period 0, then one per period or bracket.
    /// None for periods beyond the last bracket.
    pub(crate) fn cell_of(&self, k: i64) -> Option<i64> {
        match &self.brackets {
            None => Some(k),
            Some(b) => {
                if k == 0 {
                    return Some(0);
                }
                let mut start = 1i64;
                for (j, size) in b.iter().enumerate() {
                    if k < start + *size as i64 {
                        return Some(j as i64 + 1);
                    }
                    start += *size as i64;
                }
                None
            }
        }
    }

    /// The cell a return in period `k` counts in: past the last bracket, only "on or after"
    /// counts it (in the last bracket).
    pub(crate) fn return_cell(&self, k: i64) -> Option<i64> {
        match (self.cell_of(k), &self.brackets) {
            (Some(x), _) => Some(x),
            (None, Some(b)) if self.mode == Mode::OnOrAfter => Some(b.len() as i64),
            (None, _) => None,
        }
    }

    /// The first period number of cell `c`.
    pub(crate) fn cell_start(&self, c: i64) -> i64 {
        match &self.brackets {
            None => c,
            Some(b) => {
                if c == 0 {
                    0
                } else {
                    1 + b[..(c - 1) as usize].iter().map(|&s| s as i64).sum::<i64>()
                }
            }
        }
    }

    /// A stable text form stored with partial states; [`RetentionSpec::from_label`] reads it.
    pub fn label(&self) -> String {
        let brackets = self.brackets.as_ref().map_or(String::new(), |b| {
            b.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        });
        [
            self.period.label().as_str(),
            name_of(self.cohort, COHORTS),
            name_of(self.mode, MODES),
            &brackets,
            name_of(self.windows, BOUNDARIES),
            name_of(self.reference, REFERENCES),
            name_of(self.base, BASES),
            &self.min_returns.to_string(),
        ]
        .join(";")
    }

    pub fn from_label(s: &str) -> KpiResult<RetentionSpec> {
        let bad = || KpiError::param("state", "bad retention metadata");
        let p: Vec<&str> = s.split(';').collect();
        if p.len() != 8 {
            return Err(bad());
        }
        let brackets = if p[3].is_empty() {
            None
        } else {
            Some(
                p[3].split(',')
                    .map(|x| x.parse::<u32>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| bad())?,
            )
        };
        let settings = Settings {
            preset: None,
            cohort: Some(p[1]),
            mode: Some(p[2]),
            boundaries: Some(p[4]),
            reference: Some(p[5]),
            base: Some(p[6]),
        };
        RetentionSpec::new(Period::from_label(p[0])?, brackets, &settings)?
            .with_min_returns(p[7].parse().map_err(|_| bad())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_win_over_the_preset_and_the_preset_over_the_defaults() {
        let week = Freq::Week { week_start: 0 };
        let plain = RetentionSpec::new(week, None, &Settings::default()).unwrap();
        assert_eq!(
            (plain.cohort, plain.mode, plain.windows, plain.base),
            (
                CohortKind::FirstTime,
                Mode::On,
                Windows::Calendar,
                Base::Cohort
            )
        );
        let mix = Settings {
            preset: Some("mixpanel"),
            mode: Some("on"),
            ..Settings::default()
        };
        let s = RetentionSpec::new(week, None, &mix).unwrap();
        assert_eq!(
            (s.cohort, s.mode, s.windows, s.base),
            (
                CohortKind::Recurring,
                Mode::On,
                Windows::Rolling24h,
                Base::Cohort
            )
        );
        let amp = Settings {
            preset: Some("amplitude"),
            ..Settings::default()
        };
        let s = RetentionSpec::new(week, Some(vec![1, 2]), &amp).unwrap();
        assert_eq!(s.base, Base::Reached);
        assert_eq!(RetentionSpec::from_label(&s.label()).unwrap(), s);
        let e = preset(Some("heap")).unwrap_err().to_string();
        assert!(e.contains("preset") && e.contains("\"posthog\""), "{e}");
        let e = RetentionSpec::new(Freq::Year, None, &Settings::default()).unwrap_err();
        assert!(e.to_string().contains("freq"), "{e}");
    }
}
