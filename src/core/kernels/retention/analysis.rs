//! The [`Retention`] analysis as partial → merge → finish (docs/conventions.md#retention).
//!
//! The partial state counts, per (cohort, period number), the users retained (period 0: the
//! cohort size) and, with an amount column, the sum of the amounts over the counted return
//! events. Every user's rows must be in one partition (a shuffle by user); then the counts of
//! several partitions add up exactly. Whether the finish gives the triangle or the mean curve
//! (`curve=`) is written into the state.

use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};

use crate::core::engine::state::{meta, Analysis, MergeInput, Meta};
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::events::EventLog;
use crate::core::input::time::TimeRange;
use crate::core::input::Column;
use crate::core::kernels::activity::entities::{entities, event_flags, range_flags, RowFlags};

use super::finish::{retention_curve, triangle};
use super::kernel::{calendar_bits, calendar_cells, general_cells};
use super::spec::{RetentionSpec, Windows};

/// The spec's label ([`RetentionSpec::label`]).
pub(super) const META_SPEC: &str = "kpikit.retention.spec";
/// The latest wall-clock time of the data, µs (empty: no row); merged as the latest.
pub(super) const META_END: &str = "kpikit.retention.data_end";
/// Whether the state has a `value` column (`amount=`).
pub(super) const META_VALUE: &str = "kpikit.retention.value";
/// Whether the finish gives the mean curve instead of the triangle (`curve=`).
pub(super) const META_CURVE: &str = "kpikit.retention.curve";
/// The start and return event names the state was made with: states counting different
/// events must not merge.
const META_EVENTS: &str = "kpikit.retention.events";

/// The event log and settings of [`Retention`].
#[derive(Debug, Clone, Copy)]
pub struct RetentionInput<'a> {
    pub log: &'a EventLog,
    /// Event names that start a cohort (`start_event=`); None: every event.
    pub start_events: Option<&'a [String]>,
    /// Event names that count as a return (`return_event=`); None: every event.
    pub return_events: Option<&'a [String]>,
    /// Money amounts summed over the counted return events (`amount=`).
    pub amount: Option<&'a Column>,
    pub spec: &'a RetentionSpec,
    /// Finish into the mean curve instead of the cohort triangle.
    pub curve: bool,
    /// Count only events in this range; the cohorts are its periods' and the cells shown
    /// those begun by its end (docs/conventions.md#date-ranges). Unbounded: the data's.
    pub range: TimeRange,
}

/// Retention cohorts: per (cohort, period number) the users retained (and amounts), finished
/// into the cohort triangle or the mean retention curve.
pub struct Retention;

impl Analysis for Retention {
    const NAME: &'static str = "retention";
    type Input<'a> = RetentionInput<'a>;

    fn partial(input: &RetentionInput<'_>) -> KpiResult<RecordBatch> {
        state(input)
    }

    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        merge(states)
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        let curve: bool = Meta::of(&state.schema(), Retention::NAME)?.parse(META_CURVE)?;
        if curve {
            retention_curve(state)
        } else {
            triangle(state)
        }
    }
}

/// The partial state: rows (cohort Date32, period_number, retained[, value]) with the spec,
/// the end of the data, the finish asked for and the skipped rows in the metadata.
fn state(input: &RetentionInput<'_>) -> KpiResult<RecordBatch> {
    let RetentionInput {
        log,
        start_events,
        return_events,
        amount: value,
        spec,
        curve,
        range,
    } = *input;
    let ent = entities(log)?;
    let lists: Vec<&[String]> = [start_events, return_events]
        .iter()
        .map(|l| l.unwrap_or(&[]))
        .collect();
    let event_col = if start_events.is_some() || return_events.is_some() {
        Some(log.event.as_ref().ok_or_else(|| {
            KpiError::param("event", "start_event / return_event need the event column")
        })?)
    } else {
        None
    };
    // Without a list, every event starts (bit 0) or returns (bit 1).
    let default_bits = u8::from(start_events.is_none()) | (u8::from(return_events.is_none()) << 1);
    // With a range, every row's flags are made up front (the default bits included) and those
    // of the rows outside it cleared: such rows neither start nor return.
    let ranged = if range.is_bounded() {
        let flags = event_col.map(|c| event_flags(c, &lists)).transpose()?;
        Some(range_flags(log, range, flags.as_deref(), default_bits)?)
    } else {
        None
    };
    let default_bits = if ranged.is_some() { 0 } else { default_bits };
    // The bit-set and sorted-key paths see whether a member returned in a period, not how
    // often: a minimum number of returns goes through the general path.
    let lean_conventions =
        spec.windows == Windows::Calendar && value.is_none() && spec.min_returns == 1;
    let lean = if lean_conventions {
        let row_flags = match &ranged {
            Some(f) => RowFlags::Rows(f),
            None => event_col.map_or(RowFlags::None, |c| RowFlags::Lists(c, &lists)),
        };
        calendar_bits(log, &ent, row_flags, default_bits, spec)?
    } else {
        None
    };
    let (mut cells, mut end, skipped) = match lean {
        Some(x) => x,
        None => {
            let flags = match ranged {
                Some(f) => Some(f),
                None => event_col.map(|c| event_flags(c, &lists)).transpose()?,
            };
            if lean_conventions {
                calendar_cells(log, &ent, flags.as_deref(), default_bits, spec)?
            } else {
                general_cells(log, &ent, flags.as_deref(), default_bits, value, spec)?
            }
        }
    };
    let freq = spec.period;
    // The range's first and last cohorts, empty or not, bound the triangle's cohorts (the
    // finish fills those between), and its end is the end the cells are shown up to.
    if let Some(s) = range.start {
        cells
            .entry((freq.ordinal_of_micros(s), 0))
            .or_insert((0, 0.0));
    }
    if let Some(last) = range.last_micros() {
        cells
            .entry((freq.ordinal_of_micros(last), 0))
            .or_insert((0, 0.0));
        end = end.max(last);
    }
    let mut keys: Vec<(i64, i64)> = cells.keys().copied().collect();
    keys.sort_unstable();
    let cohort = freq.labels(keys.iter().map(|k| k.0))?;
    let mut fields = vec![
        Field::new("cohort", cohort.data_type().clone(), false),
        Field::new("period_number", DataType::Int64, false),
        Field::new("retained", DataType::Int64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        cohort,
        Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| k.1))),
        Arc::new(Int64Array::from_iter_values(
            keys.iter().map(|k| cells[k].0),
        )),
    ];
    if value.is_some() {
        fields.push(Field::new("value", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from_iter_values(
            keys.iter().map(|k| cells[k].1),
        )));
    }
    let mut meta = StdHashMap::new();
    meta.insert(meta::ANALYSIS.to_string(), Retention::NAME.to_string());
    meta.insert(meta::FREQ.to_string(), freq.label());
    meta.insert(meta::INVALID.to_string(), log.invalid.label().to_string());
    meta.insert(META_CURVE.to_string(), curve.to_string());
    meta.insert(
        META_EVENTS.to_string(),
        [start_events, return_events]
            .map(|l| l.map_or("*".to_string(), |l| l.join("\u{1f}")))
            .join("\u{1e}"),
    );
    meta.insert(META_SPEC.to_string(), spec.label());
    meta.insert(
        META_END.to_string(),
        if end == i64::MIN {
            String::new()
        } else {
            end.to_string()
        },
    );
    meta.insert(META_VALUE.to_string(), value.is_some().to_string());
    meta.insert(meta::SKIPPED_ROWS.to_string(), skipped.to_string());
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, meta)),
        columns,
    )?)
}

/// What a state's metadata says.
pub(super) struct Info {
    pub label: String,
    pub end: Option<i64>,
    pub value: bool,
    pub skipped: u64,
}

pub(super) fn info(schema: &SchemaRef) -> KpiResult<Info> {
    let m = Meta::of(schema, Retention::NAME)?;
    Ok(Info {
        label: m.get(META_SPEC)?.to_string(),
        end: m.parse_opt(META_END)?,
        value: m.parse(META_VALUE)?,
        skipped: m.skipped_rows()?,
    })
}

/// Merge retention states of user-disjoint partitions: counts and values add up, the data end
/// is the latest.
fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    let input = MergeInput::check(states, Retention::NAME, &[META_END])?;
    let mut cells: StdHashMap<(i64, i64), (i64, f64)> = StdHashMap::new();
    let mut end: Option<i64> = None;
    let mut value = false;
    let mut period = None;
    for (s, plain) in states.iter().zip(&input.plain) {
        let i = info(&s.schema())?;
        value = i.value;
        end = end.max(i.end);
        let p = RetentionSpec::from_label(&i.label)?.period;
        period = Some(p);
        let c = p.ordinals_of(plain.column(0))?;
        let k = plain.column(1).as_primitive::<Int64Type>();
        let r = plain.column(2).as_primitive::<Int64Type>();
        let v = i
            .value
            .then(|| plain.column(3).as_primitive::<Float64Type>());
        for (j, &o) in c.iter().enumerate().take(plain.num_rows()) {
            let e = cells.entry((o, k.value(j))).or_insert((0, 0.0));
            e.0 += r.value(j);
            e.1 += v.map_or(0.0, |v| v.value(j));
        }
    }
    let mut keys: Vec<(i64, i64)> = cells.keys().copied().collect();
    keys.sort_unstable();
    let period = period.ok_or_else(|| KpiError::param("states", "no state to merge"))?;
    let mut columns: Vec<ArrayRef> = vec![
        period.labels(keys.iter().map(|k| k.0))?,
        Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| k.1))),
        Arc::new(Int64Array::from_iter_values(
            keys.iter().map(|k| cells[k].0),
        )),
    ];
    if value {
        columns.push(Arc::new(Float64Array::from_iter_values(
            keys.iter().map(|k| cells[k].1),
        )));
    }
    let merged = RecordBatch::try_new(input.plain[0].schema(), columns)?;
    let end = end.map_or(String::new(), |e| e.to_string());
    input.finish(merged, &[(META_END, end)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::engine::analyses;
    use crate::core::input::time::{Freq, US_PER_DAY};
    use crate::core::kernels::retention::spec::{
        Base, CohortKind, Mode, Period, Reference, Settings, US_PER_HOUR,
    };
    use crate::core::kernels::retention::testing::log;

    fn input<'a>(l: &'a EventLog, spec: &'a RetentionSpec, curve: bool) -> RetentionInput<'a> {
        RetentionInput {
            log: l,
            start_events: None,
            return_events: None,
            amount: None,
            spec,
            curve,
            range: TimeRange::default(),
        }
    }

    fn run(l: &EventLog, spec: &RetentionSpec) -> RecordBatch {
        Retention::finish(&Retention::partial(&input(l, spec, false)).unwrap()).unwrap()
    }

    fn i64s(b: &RecordBatch, name: &str) -> Vec<i64> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn on_versus_on_or_after_and_first_time_versus_recurring() {
        // User 1: days 0, 2. User 2: days 0, 1, 3. User 3: day 1.
        let l = log(vec![1, 1, 2, 2, 2, 3], vec![0, 2, 0, 1, 3, 1], vec!["x"; 6]);
        let spec = |cohort, mode| RetentionSpec {
            period: Freq::Day.into(),
            cohort,
            mode,
            brackets: None,
            windows: Windows::Calendar,
            reference: Reference::Total,
            base: Base::Cohort,
            min_returns: 1,
        };
        let s = spec(CohortKind::FirstTime, Mode::On);
        let out = run(&l, &s);
        // Cohort day 0 (users 1, 2): k=1 {2}, k=2 {1}, k=3 {2}; cohort day 1 (user 3): nothing.
        assert_eq!(i64s(&out, "period_number"), vec![0, 1, 2, 3, 0, 1, 2]);
        assert_eq!(i64s(&out, "retained"), vec![2, 1, 1, 1, 1, 0, 0]);
        let s = spec(CohortKind::FirstTime, Mode::OnOrAfter);
        let out = run(&l, &s);
        assert_eq!(i64s(&out, "retained"), vec![2, 2, 2, 1, 1, 0, 0]);
        let s = spec(CohortKind::Recurring, Mode::On);
        let out = run(&l, &s);
        // Recurring: user 2 also in cohorts 1 and 3, user 1 in cohort 2.
        // Cohort 0 {1, 2}: 2, 1, 1, 1; cohort 1 {2, 3}: 2, 0, 1 (user 2 on day 3);
        // cohort 2 {1}: 1, 0; cohort 3 {2}: 1.
        assert_eq!(
            i64s(&out, "cohort_size"),
            vec![2, 2, 2, 2, 2, 2, 2, 1, 1, 1]
        );
        assert_eq!(i64s(&out, "retained"), vec![2, 1, 1, 1, 2, 0, 1, 1, 0, 1]);
    }

    #[test]
    fn a_period_with_fewer_returns_than_min_returns_is_not_a_return() {
        // User 1: day 0, day 1 (one event), day 2 (two). User 2: day 0, day 1 (two events).
        let l = log(
            vec![1, 1, 1, 1, 2, 2, 2],
            vec![0, 1, 2, 2, 0, 1, 1],
            vec!["x"; 7],
        );
        let once = RetentionSpec::new(Freq::Day, None, &Settings::default()).unwrap();
        assert_eq!(i64s(&run(&l, &once), "retained"), vec![2, 2, 1]);
        // Twice: day 1 only user 2, day 2 only user 1.
        let twice = once.clone().with_min_returns(2).unwrap();
        assert_eq!(i64s(&run(&l, &twice), "retained"), vec![2, 1, 1]);
        // On or after: user 1 (day 2) and user 2 (day 1) are back by day 1; only user 1 by day 2.
        let mut after = twice.clone();
        after.mode = Mode::OnOrAfter;
        assert_eq!(i64s(&run(&l, &after), "retained"), vec![2, 2, 1]);
        // Three: nobody.
        let thrice = once.clone().with_min_returns(3).unwrap();
        assert_eq!(i64s(&run(&l, &thrice), "retained"), vec![2, 0, 0]);
        assert_eq!(RetentionSpec::from_label(&thrice.label()).unwrap(), thrice);
        assert!(once.with_min_returns(0).is_err());
    }

    #[test]
    fn a_range_leaves_out_the_events_outside_it_and_shows_its_cohorts_up_to_its_end() {
        // User 1: days 0, 2, 3; user 2: days 1, 2; user 3: day 5. Range: days 1 to 3. User 1's
        // first event in the range is on day 2 (day 0 is left out), user 3 is outside it.
        let l = log(vec![1, 1, 1, 2, 2, 3], vec![0, 2, 3, 1, 2, 5], vec!["x"; 6]);
        let spec = RetentionSpec::new(Freq::Day, None, &Settings::default()).unwrap();
        let range = TimeRange::new(Some(US_PER_DAY), Some(4 * US_PER_DAY)).unwrap();
        // One return suffices: the calendar paths; two (nobody has them): the general path.
        for (min_returns, retained) in [(1, [1, 1, 0, 1, 1, 0]), (2, [1, 0, 0, 1, 0, 0])] {
            let s = spec.clone().with_min_returns(min_returns).unwrap();
            let mut i = input(&l, &s, false);
            i.range = range;
            let out = Retention::finish(&Retention::partial(&i).unwrap()).unwrap();
            // Cohort day 1 {2}: k=1 (day 2) 1, k=2 (day 3) 0; cohort day 2 {1}: k=1 (day 3) 1;
            // cohort day 3: empty.
            assert_eq!(i64s(&out, "cohort_size"), vec![1, 1, 1, 1, 1, 0]);
            assert_eq!(i64s(&out, "period_number"), vec![0, 1, 2, 0, 1, 0]);
            assert_eq!(i64s(&out, "retained"), retained.to_vec());
        }
        // A range reaching past the data: cohorts up to day 6, cells up to day 6.
        let range = TimeRange::new(Some(4 * US_PER_DAY), Some(7 * US_PER_DAY)).unwrap();
        let mut i = input(&l, &spec, false);
        i.range = range;
        let out = Retention::finish(&Retention::partial(&i).unwrap()).unwrap();
        // Cohorts day 4 (empty, k 0..2), day 5 {3} (k 0..1), day 6 (empty).
        assert_eq!(i64s(&out, "period_number"), vec![0, 1, 2, 0, 1, 0]);
        assert_eq!(i64s(&out, "cohort_size"), vec![0, 0, 0, 1, 1, 0]);
        // The rolling path too: general cells.
        let rolling = RetentionSpec::new(
            Freq::Day,
            None,
            &Settings {
                preset: Some("amplitude"),
                ..Settings::default()
            },
        )
        .unwrap();
        let mut i = input(&l, &rolling, false);
        i.range = range;
        let out = Retention::finish(&Retention::partial(&i).unwrap()).unwrap();
        assert_eq!(i64s(&out, "cohort_size")[0], 0);
        assert_eq!(out.num_rows(), 6);
    }

    #[test]
    fn hourly_cohorts_are_labelled_by_their_hour() {
        // User 1: hours 0, 1, 3; user 2: hours 0, 2 (of day 10).
        let mut l = log(vec![1, 1, 1, 2, 2], vec![0; 5], vec!["x"; 5]);
        let hours = [0, 1, 3, 0, 2].map(|h: i64| 10 * US_PER_DAY + h * US_PER_HOUR);
        l.time = Column::from_array(
            "t",
            Arc::new(arrow::array::TimestampMicrosecondArray::from(
                hours.to_vec(),
            )),
        );
        let spec = RetentionSpec::new(Period::Hour, None, &Settings::default()).unwrap();
        let amounts = Column::from_array("a", Arc::new(Float64Array::from(vec![1.0; 5])));
        for amount in [None, Some(&amounts)] {
            let mut i = input(&l, &spec, false);
            i.amount = amount;
            let state = Retention::partial(&i).unwrap();
            let out = Retention::finish(&Retention::merge(&[state]).unwrap()).unwrap();
            // Cohort hour 0 {1, 2}: back in hour 1 {1}, 2 {2}, 3 {1}; no later cohort has a
            // member, so hour 0's is the only one (as with days).
            assert_eq!(i64s(&out, "period_number"), vec![0, 1, 2, 3]);
            assert_eq!(i64s(&out, "retained"), vec![2, 1, 1, 1]);
            let cohort = out.column_by_name("cohort").unwrap();
            assert_eq!(
                cohort
                    .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                    .values()
                    .to_vec(),
                vec![10 * US_PER_DAY; 4]
            );
        }
        assert_eq!(
            RetentionSpec::from_label(&spec.label()).unwrap().period,
            Period::Hour
        );
    }

    #[test]
    fn merged_user_disjoint_states_equal_one_pass() {
        // 60 users over 40 days; a state per third of the users (and an empty one) merges into
        // the numbers of one pass, directly and through the registry, for triangle and curve,
        // with and without amounts, calendar and rolling.
        let mut next = crate::core::kernels::activity::testing::numbers(99);
        let (mut users, mut days, mut amounts) = (vec![], vec![], vec![]);
        for _ in 0..600 {
            users.push(next(60) as i64);
            days.push(next(40) as i64);
            amounts.push(next(100) as f64 / 4.0);
        }
        let part = |keep: &dyn Fn(i64) -> bool| {
            let rows: Vec<usize> = (0..users.len()).filter(|&i| keep(users[i])).collect();
            let l = log(
                rows.iter().map(|&i| users[i]).collect(),
                rows.iter().map(|&i| days[i]).collect(),
                vec!["x"; rows.len()],
            );
            let a = Column::from_array(
                "amount",
                Arc::new(Float64Array::from(
                    rows.iter().map(|&i| amounts[i]).collect::<Vec<_>>(),
                )),
            );
            (l, a)
        };
        let whole = part(&|_| true);
        let parts: Vec<_> = (0..3)
            .map(|p| part(&move |u| u % 3 == p))
            .chain([part(&|_| false)])
            .collect();
        for (boundaries, preset) in [("calendar", None), ("rolling_24h", Some("amplitude"))] {
            let settings = Settings {
                preset,
                boundaries: Some(boundaries),
                ..Settings::default()
            };
            let spec = RetentionSpec::new(Freq::Week { week_start: 0 }, None, &settings).unwrap();
            for (curve, amount) in [(false, false), (true, false), (false, true), (true, true)] {
                let state = |(l, a): &(EventLog, Column)| {
                    let mut i = input(l, &spec, curve);
                    i.amount = amount.then_some(a);
                    Retention::partial(&i).unwrap()
                };
                let one = Retention::finish(&state(&whole)).unwrap();
                let states: Vec<RecordBatch> = parts.iter().map(state).collect();
                let merged = Retention::finish(&Retention::merge(&states).unwrap()).unwrap();
                let what = format!("{boundaries} curve={curve} amount={amount}");
                assert_eq!(one.columns(), merged.columns(), "{what}");
                let by_name = analyses::finish(&analyses::merge(&states).unwrap()).unwrap();
                assert_eq!(one.columns(), by_name.columns(), "{what}");
                assert!(one.num_rows() > 2, "{what}");
            }
        }
    }

    #[test]
    fn the_curve_setting_travels_in_the_state_and_other_states_are_refused() {
        // Users 1, 2 start on day 0; user 1 is back on day 1.
        let l = log(vec![1, 2, 1], vec![0, 0, 1], vec!["x"; 3]);
        let spec = RetentionSpec::new(Freq::Day, None, &Settings::default()).unwrap();
        let curve = Retention::partial(&input(&l, &spec, true)).unwrap();
        let out = analyses::finish(&curve).unwrap();
        assert_eq!(i64s(&out, "period_number"), vec![0, 1]);
        let rate = out.column_by_name("weighted_rate").unwrap();
        assert_eq!(
            rate.as_primitive::<Float64Type>().values().to_vec(),
            vec![1.0, 0.5]
        );
        // A triangle state and a curve state were asked for different results.
        let triangle = Retention::partial(&input(&l, &spec, false)).unwrap();
        let e = Retention::merge(&[triangle, curve])
            .unwrap_err()
            .to_string();
        assert!(e.contains("kpikit.retention.curve"), "{e}");
        // A state of another analysis.
        let other = crate::core::kernels::activity::active_users::ActiveUsers::partial(
            &crate::core::kernels::activity::active_users::ActiveUsersInput {
                log: &l,
                freq: Freq::Day,
                windows: &[("dau".to_string(), 1)],
                events: None,
                range: TimeRange::default(),
            },
        )
        .unwrap();
        let e = Retention::finish(&other).unwrap_err().to_string();
        assert!(e.contains("not a retention state"), "{e}");
    }
}
