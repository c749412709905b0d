//! Arbitrary bytes -> Arrow inputs and parameters -> one core kernel, end to end (partial
//! state, merge, finish). Shared by the cargo-fuzz targets in `fuzz/` (included by path) and
//! the seeded random-input test in `main.rs`, so both exercise the same code.
//!
//! A kernel may return any `KpiError` for nonsense input; what must never happen is a panic
//! (an index out of bounds, an overflow in debug builds, an `unwrap` on a bad assumption...).

#![allow(dead_code)]

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, Int8Array,
    RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow::datatypes::{Field, Int32Type, Schema};
use kpikit::core::engine::state::{Analysis, Invalid};
use kpikit::core::input::events::EventLog;
use kpikit::core::input::time::{Freq, Unit, Zone, US_PER_DAY};
use kpikit::core::input::{Column, Table};
use kpikit::core::kernels::funnel::rules::{EntryPeriods, FinishOptions};
use kpikit::core::kernels::funnel::stages::{FunnelFromStages, StageInput, StageOrder};
use kpikit::core::kernels::retention::analysis::{Retention, RetentionInput};
use kpikit::core::kernels::retention::spec::{RetentionSpec, Settings};
use kpikit::core::kernels::revenue::cohorts::RevenueCohorts;
use kpikit::core::kernels::revenue::conventions::Conventions;
use kpikit::core::kernels::revenue::input::{Duplicates, RevenueInput, Snapshot, Source};
use kpikit::core::kernels::revenue::movements::{MovementsInput, MrrMovements};
use kpikit::core::kernels::sales;
use kpikit::core::kernels::survey::{Nps, Periods, Scale, Scores};

/// Reads the fuzz bytes as a stream of small decisions; past the end every read is 0.
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, pos: 0 }
    }

    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    pub fn pick(&mut self, n: usize) -> usize {
        self.u8() as usize % n.max(1)
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    pub fn i64(&mut self) -> i64 {
        let mut v = [0u8; 8];
        for b in &mut v {
            *b = self.u8();
        }
        i64::from_le_bytes(v)
    }
}

/// 2026-01-01 in microseconds: most generated times fall within a few years of it.
const BASE_US: i64 = 20_454 * US_PER_DAY;

/// A timestamp column (microseconds, naive or with a zone) in one or two chunks.
fn times(b: &mut Bytes, name: &str, n: usize) -> Column {
    let tz: Option<&str> = match b.pick(4) {
        0 => Some("UTC"),
        1 => Some("Europe/Berlin"),
        _ => None,
    };
    let v: Vec<Option<i64>> = (0..n)
        // Hostile values are rare enough that most inputs get past validation.
        .map(|_| match b.pick(48) {
            0 => None,
            1 => Some(i64::MIN),
            2 => Some(i64::MAX),
            3 => Some(b.i64()),
            4 => Some(-2_208_988_800_000_000), // 1900-01-01
            5 => Some(7_258_118_400_000_000),  // 2200-01-01
            k => Some(BASE_US + (b.u8() as i64 - 64) * US_PER_DAY * (k as i64 % 8 - 3)),
        })
        .collect();
    let arr = TimestampMicrosecondArray::from(v).with_timezone_opt(tz);
    chunked(b, name, Arc::new(arr))
}

/// Ids (customers, users, deals) or segment labels: few distinct values, in varied types.
fn ids(b: &mut Bytes, name: &str, n: usize) -> Column {
    let v: Vec<Option<u8>> = (0..n)
        .map(|_| {
            let x = b.u8();
            (x != 255).then_some(x % 6)
        })
        .collect();
    let arr: ArrayRef = match b.pick(5) {
        0 => Arc::new(Int64Array::from(
            v.iter().map(|x| x.map(i64::from)).collect::<Vec<_>>(),
        )),
        1 => Arc::new(Int8Array::from(
            v.iter().map(|x| x.map(|x| x as i8)).collect::<Vec<_>>(),
        )),
        2 => Arc::new(UInt64Array::from(
            v.iter()
                .map(|x| x.map(|x| u64::MAX - x as u64))
                .collect::<Vec<_>>(),
        )),
        3 => {
            let names: Vec<Option<String>> =
                v.iter().map(|x| x.map(|x| format!("id{x}"))).collect();
            Arc::new(
                names
                    .iter()
                    .map(|x| x.as_deref())
                    .collect::<DictionaryArray<Int32Type>>(),
            )
        }
        _ => Arc::new(StringArray::from(
            v.iter()
                .map(|x| x.map(|x| format!("id{x}")))
                .collect::<Vec<_>>(),
        )),
    };
    chunked(b, name, arr)
}

/// Numbers from a palette of ordinary and hostile values.
fn numbers(b: &mut Bytes, name: &str, n: usize) -> Column {
    let v: Vec<Option<f64>> = (0..n)
        .map(|_| match b.pick(64) {
            0 => None,
            1 => Some(f64::NAN),
            2 => Some(f64::INFINITY),
            3 => Some(f64::NEG_INFINITY),
            4 => Some(1e300),
            5 => Some(-1.0),
            6 => Some(90_071_992_547_409.0),
            7 => Some(f64::from_bits(b.i64() as u64)),
            8 => Some(0.0),
            k => Some((b.u8() as f64) * (k % 8) as f64 / 4.0),
        })
        .collect();
    chunked(b, name, Arc::new(Float64Array::from(v)))
}

/// Integer scores around 0..10, with out-of-range and missing values.
fn scores(b: &mut Bytes, name: &str, n: usize) -> Column {
    let v: Vec<Option<i64>> = (0..n)
        .map(|_| match b.pick(40) {
            0 => None,
            1 => Some(b.i64()),
            k => Some(k as i64 % 12 - 1),
        })
        .collect();
    chunked(b, name, Arc::new(Int64Array::from(v)))
}

fn bools(b: &mut Bytes, name: &str, n: usize) -> Column {
    let v: Vec<Option<bool>> = (0..n)
        .map(|_| match b.pick(3) {
            0 => None,
            1 => Some(true),
            _ => Some(false),
        })
        .collect();
    chunked(b, name, Arc::new(BooleanArray::from(v)))
}

/// The array in one chunk, or cut in two (possibly empty) chunks.
fn chunked(b: &mut Bytes, name: &str, arr: ArrayRef) -> Column {
    if b.bool() {
        let cut = b.pick(arr.len() + 1);
        Column::new(
            name,
            vec![arr.slice(0, cut), arr.slice(cut, arr.len() - cut)],
        )
    } else {
        Column::from_array(name, arr)
    }
}

fn rows(b: &mut Bytes) -> usize {
    b.pick(48)
}

fn freq(b: &mut Bytes) -> Freq {
    [Freq::Day, Freq::Month, Freq::Quarter, Freq::Year][b.pick(4)]
}

fn zone(b: &mut Bytes) -> Zone {
    let name = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"][b.pick(4)];
    name.parse::<Zone>().expect("a known zone")
}

/// A table of the given columns (all of one length), as the bindings hand it to the core.
fn table(columns: &[Column]) -> Table {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(&c.name, c.data_type(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|c| {
            let refs: Vec<&dyn Array> = c.chunks.iter().map(|a| a.as_ref()).collect();
            arrow::compute::concat(&refs).expect("same type")
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).expect("equal lengths");
    Table::from_batches(vec![batch], &schema)
}

/// NPS: score counts per period and segment, merged with itself, finished.
pub fn survey(data: &[u8]) {
    let mut b = Bytes::new(data);
    let n = rows(&mut b);
    let score = scores(&mut b, "score", n);
    let periods = b.bool().then(|| Periods {
        time: times(&mut b, "t", n),
        zone: zone(&mut b),
        freq: freq(&mut b),
    });
    let segments = if b.bool() {
        vec![ids(&mut b, "seg", n)]
    } else {
        vec![]
    };
    let invalid = if b.bool() {
        Invalid::Raise
    } else {
        Invalid::Skip
    };
    let input = Scores {
        score: &score,
        periods: periods.as_ref(),
        segments: &segments,
        scale: Scale::NPS,
        invalid,
    };
    if let Ok(state) = Nps::partial(&input) {
        if let Ok(merged) = Nps::merge(&[state.clone(), state]) {
            let _ = Nps::finish(&merged);
        }
    }
}

/// MRR movements and cohorts from snapshots or subscriptions.
pub fn revenue(data: &[u8]) {
    let mut b = Bytes::new(data);
    let n = rows(&mut b);
    let customer = ids(&mut b, "customer", n);
    let source = if b.bool() {
        Source::Snapshots {
            period: times(&mut b, "month", n),
            mrr: numbers(&mut b, "mrr", n),
            duplicates: if b.bool() {
                Duplicates::Sum
            } else {
                Duplicates::Raise
            },
            times: None,
        }
    } else {
        Source::Subscriptions {
            start: times(&mut b, "start", n),
            end: b.bool().then(|| times(&mut b, "end", n)),
            amount: numbers(&mut b, "amount", n),
            interval: None,
            snapshot: if b.bool() {
                Snapshot::End
            } else {
                Snapshot::Average
            },
        }
    };
    let segments = if b.bool() {
        vec![ids(&mut b, "seg", n)]
    } else {
        vec![]
    };
    let input = RevenueInput {
        customer,
        source,
        segments,
        freq: [Freq::Month, Freq::Quarter, Freq::Day][b.pick(3)],
        zone: zone(&mut b),
    };
    let conventions = Conventions::default();
    let movements = MovementsInput {
        revenue: &input,
        conventions: &conventions,
    };
    if let Ok(state) = MrrMovements::partial(&movements) {
        let _ = MrrMovements::finish(&state);
    }
    if let Ok(state) = RevenueCohorts::partial(&input) {
        let _ = RevenueCohorts::finish(&state);
    }
}

/// A funnel over stage timestamp columns (funnel_from_stages).
pub fn funnel_stages(data: &[u8]) {
    let mut b = Bytes::new(data);
    let n = rows(&mut b);
    let k = 1 + b.pick(4);
    let stages: Vec<Column> = (0..k)
        .map(|i| times(&mut b, &format!("stage{i}"), n))
        .collect();
    let segments = if b.bool() {
        vec![ids(&mut b, "seg", n)]
    } else {
        vec![]
    };
    // Windows as parse_window gives them: positive microseconds below 9e18.
    let window = match b.pick(3) {
        0 => None,
        1 => Some(1 + b.i64().rem_euclid(9_000_000_000_000_000_000)),
        _ => Some((1 + b.u8() as i64) * US_PER_DAY),
    };
    let periods = b.bool().then(|| EntryPeriods {
        zone: zone(&mut b),
        freq: freq(&mut b),
    });
    let order = if b.bool() {
        StageOrder::Raise
    } else {
        StageOrder::Truncate
    };
    let input = StageInput {
        stages: &stages,
        segments: &segments,
        window,
        periods,
        invalid: order,
        finish: FinishOptions::default(),
    };
    if let Ok(state) = FunnelFromStages::partial(&input) {
        if let Ok(merged) = FunnelFromStages::merge(&[state.clone(), state]) {
            let _ = FunnelFromStages::finish(&merged);
        }
    }
}

/// Retention cohorts over an event log.
pub fn retention(data: &[u8]) {
    let mut b = Bytes::new(data);
    let n = rows(&mut b);
    let log = EventLog {
        user: ids(&mut b, "user", n),
        time: times(&mut b, "time", n),
        zone: zone(&mut b),
        event: None,
        segments: vec![],
        invalid: if b.bool() {
            Invalid::Raise
        } else {
            Invalid::Skip
        },
    };
    let period = [Freq::Day, Freq::Week { week_start: 0 }, Freq::Month][b.pick(3)];
    let settings = Settings {
        cohort: Some(["first_time", "recurring"][b.pick(2)]),
        mode: Some(["on", "on_or_after"][b.pick(2)]),
        boundaries: Some(["calendar", "rolling_24h"][b.pick(2)]),
        reference: Some(["total", "previous"][b.pick(2)]),
        ..Settings::default()
    };
    let brackets = b
        .bool()
        .then(|| vec![1 + b.pick(3) as u32, 1 + b.pick(5) as u32]);
    let Ok(spec) = RetentionSpec::new(period, brackets, &settings) else {
        return;
    };
    let value = b.bool().then(|| numbers(&mut b, "value", n));
    for curve in [false, true] {
        let input = RetentionInput {
            log: &log,
            start_events: None,
            return_events: None,
            amount: value.as_ref(),
            spec: &spec,
            curve,
            range: kpikit::core::input::time::TimeRange::default(),
        };
        if let Ok(state) = Retention::partial(&input) {
            if let Ok(merged) = Retention::merge(&[state.clone(), state]) {
                let _ = Retention::finish(&merged);
            }
        }
    }
}

/// Deal metrics (win rate, cycle, velocity) per period and rep.
pub fn deals(data: &[u8]) {
    use kpikit::core::engine::analyses;
    use kpikit::core::kernels::sales::deals::{Cohort, CycleOf, DealMetrics, Deals};
    let mut b = Bytes::new(data);
    let n = rows(&mut b);
    let created = times(&mut b, "created", n);
    let closed = times(&mut b, "closed", n);
    let amount = numbers(&mut b, "amount", n);
    let won = bools(&mut b, "won", n);
    let deal = b.bool().then(|| ids(&mut b, "deal", n));
    let segments: Vec<Column> = if b.bool() {
        vec![ids(&mut b, "rep", n)]
    } else {
        vec![]
    };
    let input = Deals {
        created: &created,
        closed: &closed,
        amount: &amount,
        won: &won,
        deal: deal.as_ref(),
        cohort: if b.bool() {
            Cohort::Closed
        } else {
            Cohort::Created
        },
        cycle_of: if b.bool() {
            CycleOf::Won
        } else {
            CycleOf::Closed
        },
        unit: Unit::Days,
        common: sales::partial::Common {
            segments: &segments,
            freq: b.bool().then(|| freq(&mut b)),
            zone: zone(&mut b),
            invalid: if b.bool() {
                Invalid::Raise
            } else {
                Invalid::Skip
            },
        },
    };
    if let Ok(state) = DealMetrics::partial(&input) {
        if let Ok(merged) = analyses::merge(&[state.clone(), state]) {
            let _ = analyses::finish(&merged);
        }
    }
}

/// An event-name column drawn from a few names (one of them never matched), in one or two chunks.
fn event_names(b: &mut Bytes, name: &str, n: usize) -> Column {
    const NAMES: [&str; 4] = ["a", "b", "c", "zz"];
    let v: Vec<Option<&str>> = (0..n)
        .map(|_| {
            let x = b.u8();
            (x != 255).then(|| NAMES[x as usize % NAMES.len()])
        })
        .collect();
    let arr: ArrayRef = if b.bool() {
        Arc::new(v.iter().copied().collect::<DictionaryArray<Int32Type>>())
    } else {
        Arc::new(StringArray::from(v))
    };
    chunked(b, name, arr)
}

/// An event log with names and an optional segment.
fn event_log(b: &mut Bytes, n: usize) -> EventLog {
    EventLog {
        user: ids(b, "user", n),
        time: times(b, "time", n),
        zone: zone(b),
        event: Some(event_names(b, "event", n)),
        segments: if b.bool() {
            vec![ids(b, "seg", n)]
        } else {
            vec![]
        },
        invalid: if b.bool() {
            Invalid::Raise
        } else {
            Invalid::Skip
        },
    }
}

fn some_names(b: &mut Bytes) -> Option<Vec<String>> {
    b.bool().then(|| {
        ["a", "b", "c"][..1 + b.pick(3)]
            .iter()
            .map(|s| s.to_string())
            .collect()
    })
}

/// An event funnel (`kpikit.funnel`) under every order, count and attribution.
pub fn funnel_events(data: &[u8]) {
    use kpikit::core::kernels::funnel::events::{Funnel, FunnelInput};
    use kpikit::core::kernels::funnel::rules::{
        Attribution, Bins, Count, Exclusion, FunnelRules, Order,
    };
    let mut b = Bytes::new(data);
    let n = rows(&mut b);
    let log = event_log(&mut b, n);
    let k = 1 + b.pick(4);
    let names = ["a", "b", "c", "zz"];
    let steps: Vec<Vec<String>> = (0..k)
        .map(|_| {
            let mut step = vec![names[b.pick(4)].to_string()];
            if b.pick(4) == 0 {
                step.push(names[b.pick(4)].to_string());
            }
            step
        })
        .collect();
    let exclusions: Vec<Exclusion> = if b.bool() && k > 1 {
        let from = b.pick(k - 1);
        vec![Exclusion {
            event: names[b.pick(4)].to_string(),
            from,
            to: from + 1 + b.pick(k - from - 1),
        }]
    } else {
        vec![]
    };
    let rules = FunnelRules {
        window: match b.pick(3) {
            0 => None,
            1 => Some(1 + b.i64().rem_euclid(9_000_000_000_000_000_000)),
            _ => Some((1 + b.u8() as i64) * US_PER_DAY),
        },
        order: [
            Order::Ordered,
            Order::Strict,
            Order::AnyAfterFirst,
            Order::Unordered,
        ][b.pick(4)],
        attribution: match b.pick(3) {
            0 => Attribution::FirstTouch,
            1 => Attribution::LastTouch,
            _ => Attribution::Step(b.pick(k)),
        },
        count: if b.bool() {
            Count::Uniques
        } else {
            Count::Totals
        },
    };
    let finish = kpikit::core::kernels::funnel::rules::FinishOptions {
        unit: [Unit::Seconds, Unit::Minutes, Unit::Hours, Unit::Days][b.pick(4)],
        bins: match b.pick(3) {
            0 => None,
            1 => Some(Bins::Auto),
            _ => Some(Bins::Count(1 + b.pick(50))),
        },
    };
    // A date range of the entries: either bound, both (possibly reversed), or none.
    let bound = |b: &mut Bytes| {
        b.bool()
            .then(|| BASE_US + b.i64().rem_euclid(400 * US_PER_DAY) - 200 * US_PER_DAY)
    };
    let (start, end) = (bound(&mut b), bound(&mut b));
    let input = FunnelInput {
        log: &log,
        steps: &steps,
        exclusions: &exclusions,
        rules,
        freq: b.bool().then(|| freq(&mut b)),
        start,
        end,
        finish,
    };
    if let Ok(state) = Funnel::partial(&input) {
        if let Ok(merged) = Funnel::merge(&[state.clone(), state]) {
            let _ = Funnel::finish(&merged);
        }
    }
    // Who converted and who dropped, from the same journeys.
    let _ = kpikit::core::kernels::funnel::events::actors(&input);
}

/// Active users over trailing windows (`kpikit.active_users`).
pub fn active_users(data: &[u8]) {
    use kpikit::core::kernels::activity::active_users::{ActiveUsers, ActiveUsersInput};
    let mut b = Bytes::new(data);
    let n = rows(&mut b);
    let log = event_log(&mut b, n);
    let windows: Vec<(String, u32)> = (0..1 + b.pick(3))
        .map(|i| (format!("w{i}"), 1 + b.u8() as u32 * b.pick(15) as u32))
        .collect();
    let events = some_names(&mut b);
    let input = ActiveUsersInput {
        log: &log,
        freq: freq(&mut b),
        windows: &windows,
        events: events.as_deref(),
        range: kpikit::core::input::time::TimeRange::default(),
    };
    if let Ok(state) = ActiveUsers::partial(&input) {
        if let Ok(merged) = ActiveUsers::merge(&[state.clone(), state]) {
            let _ = ActiveUsers::finish(&merged);
        }
    }
}

/// Stickiness (`kpikit.stickiness`) with ranges, criteria and event filters.
pub fn stickiness(data: &[u8]) {
    use kpikit::core::kernels::activity::stickiness::{stickiness, Period, StickinessInput};
    let mut b = Bytes::new(data);
    let n = rows(&mut b);
    let log = event_log(&mut b, n);
    let day = |b: &mut Bytes| BASE_US / US_PER_DAY + b.i64().rem_euclid(4000) - 2000;
    let start_day = b.bool().then(|| day(&mut b));
    let end_day = b.bool().then(|| day(&mut b));
    let min_events = b.pick(4) as u32;
    let max_events = b.bool().then(|| b.pick(6) as u32);
    let events = some_names(&mut b);
    let period = if b.pick(4) == 0 {
        Period::Hour
    } else {
        Period::Calendar(freq(&mut b))
    };
    let _ = stickiness(&StickinessInput {
        log: &log,
        freq: period,
        interval_count: b.pick(5) as u32,
        start_day,
        end_day,
        cumulative: b.bool(),
        min_events,
        max_events,
        events: events.as_deref(),
    });
}

/// Lifecycle (`kpikit.lifecycle`) under both definitions of "new", with or without a creation
/// time column.
pub fn lifecycle(data: &[u8]) {
    use kpikit::core::kernels::activity::lifecycle::{lifecycle, NewUser};
    let mut b = Bytes::new(data);
    let n = rows(&mut b);
    let log = event_log(&mut b, n);
    let created = b.bool().then(|| times(&mut b, "created", n));
    let new_user = if b.bool() {
        NewUser::CreatedPeriod
    } else {
        NewUser::FirstActive
    };
    let day = |b: &mut Bytes| BASE_US / US_PER_DAY + b.i64().rem_euclid(4000) - 2000;
    let range = (b.bool().then(|| day(&mut b)), b.bool().then(|| day(&mut b)));
    let _ = lifecycle(&log, freq(&mut b), created.as_ref(), new_user, range);
}

/// One kernel driver.
pub type Target = fn(&[u8]);

/// Every target by name, for the seeded test and the fuzz binaries.
pub const TARGETS: &[(&str, Target)] = &[
    ("survey", survey),
    ("revenue", revenue),
    ("funnel_stages", funnel_stages),
    ("funnel_events", funnel_events),
    ("retention", retention),
    ("active_users", active_users),
    ("stickiness", stickiness),
    ("lifecycle", lifecycle),
    ("deals", deals),
];
