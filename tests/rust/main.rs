//! Integration tests of the core's public API (no Python): published worked examples.

use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{Float64Type, Int64Type};
use kpikit::core::engine::state::{Analysis, Invalid};
use kpikit::core::input::time::{days_from_civil, Freq, Zone, US_PER_DAY};
use kpikit::core::input::Column;
use kpikit::core::kernels::survey::{Csat, CsatInput, Nps, Periods, Scale, Scores};

fn scores(counts: &[(i64, usize)]) -> Column {
    let v: Vec<i64> = counts
        .iter()
        .flat_map(|&(s, n)| std::iter::repeat_n(s, n))
        .collect();
    Column::from_array("score", Arc::new(Int64Array::from(v)))
}

#[test]
fn nps_of_thirty_percent_promoters_and_twenty_percent_detractors_is_ten() {
    let state = Nps::partial(&Scores {
        score: &scores(&[(9, 30), (7, 50), (6, 20)]),
        periods: None,
        segments: &[],
        scale: Scale::NPS,
        invalid: Invalid::Raise,
    })
    .unwrap();
    let out = Nps::finish(&state).unwrap();
    let v = out
        .column_by_name("nps")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert!((v.value(0) - 10.0).abs() < 1e-12);
}

#[test]
fn csat_of_thirty_satisfied_in_fifty_is_sixty_percent() {
    let state = Csat::partial(&CsatInput {
        scores: Scores {
            score: &scores(&[(5, 10), (4, 20), (3, 10), (2, 5), (1, 5)]),
            periods: None,
            segments: &[],
            scale: Scale::new(1, 5).unwrap(),
            invalid: Invalid::Raise,
        },
        threshold: 4,
    })
    .unwrap();
    let out = Csat::finish(&state).unwrap();
    let v = out
        .column_by_name("csat")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert!((v.value(0) - 0.6).abs() < 1e-12);
}

#[test]
fn monthly_segments_merge_across_partitions_with_gaps_filled() {
    // Two partitions of a year of answers, one segment absent from the second.
    let start = days_from_civil(2026, 1, 15);
    let make = |days: &[i64], segs: &[&str], vals: &[i64]| {
        let t: Vec<i64> = days.iter().map(|d| (start + d) * US_PER_DAY).collect();
        let periods = Periods {
            time: Column::from_array(
                "t",
                Arc::new(TimestampMicrosecondArray::from(t).with_timezone("UTC")),
            ),
            zone: Zone::Utc,
            freq: Freq::Month,
        };
        Nps::partial(&Scores {
            score: &Column::from_array("score", Arc::new(Int64Array::from(vals.to_vec()))),
            periods: Some(&periods),
            segments: &[Column::from_array(
                "region",
                Arc::new(StringArray::from(segs.to_vec())),
            )],
            scale: Scale::NPS,
            invalid: Invalid::Raise,
        })
        .unwrap()
    };
    let a = make(&[0, 100], &["EMEA", "NA"], &[10, 2]);
    let b = make(&[200], &["EMEA"], &[8]);
    let out = Nps::finish(&Nps::merge(&[a, b]).unwrap()).unwrap();
    // January … August (8 months) × 2 regions.
    assert_eq!(out.num_rows(), 16);
    let responses = out
        .column_by_name("responses")
        .unwrap()
        .as_primitive::<Int64Type>();
    let total: i64 = responses.values().iter().sum();
    assert_eq!(total, 3);
    let score = out.column_by_name("nps").unwrap();
    assert_eq!(score.null_count(), 13);
}

#[test]
fn event_funnels_split_by_user_merge_to_one_pass() {
    use kpikit::core::engine::analyses;
    use kpikit::core::input::events::EventLog;
    use kpikit::core::input::time::Unit;
    use kpikit::core::kernels::funnel::events::{Funnel, FunnelInput};
    use kpikit::core::kernels::funnel::rules::{Bins, FinishOptions, FunnelRules};
    let mut seed = 7u64;
    let rows: Vec<(i64, i64, &str)> = (0..600)
        .map(|_| {
            let user = (next_random(&mut seed) % 60) as i64;
            let minute = (next_random(&mut seed) % 500) as i64;
            let event = ["a", "b", "c", "x"][(next_random(&mut seed) % 4) as usize];
            (user, minute, event)
        })
        .collect();
    let log_of = |keep: &dyn Fn(i64) -> bool| {
        let r: Vec<_> = rows.iter().filter(|r| keep(r.0)).collect();
        let user: Int64Array = r.iter().map(|r| Some(r.0)).collect();
        let time: TimestampMicrosecondArray = r.iter().map(|r| Some(r.1 * 60_000_000)).collect();
        let event: StringArray = r.iter().map(|r| Some(r.2)).collect();
        let plan: StringArray = r
            .iter()
            .map(|r| Some(["p", "q"][(r.0 % 2) as usize]))
            .collect();
        EventLog {
            user: Column::from_array("user", Arc::new(user)),
            time: Column::from_array("time", Arc::new(time)),
            zone: Zone::Utc,
            event: Some(Column::from_array("event", Arc::new(event))),
            segments: vec![Column::from_array("plan", Arc::new(plan))],
            invalid: Invalid::Raise,
        }
    };
    let steps: Vec<Vec<String>> = ["a", "b", "c"]
        .iter()
        .map(|s| vec![s.to_string()])
        .collect();
    for order in ["ordered", "strict", "any_after_first", "unordered"] {
        let state = |log: &EventLog| {
            Funnel::partial(&FunnelInput {
                log,
                steps: &steps,
                exclusions: &[],
                rules: FunnelRules::resolve(None, Some("90min"), Some(order), None, None, 3)
                    .unwrap(),
                freq: Some(Freq::Day),
                start: None,
                end: None,
                finish: FinishOptions {
                    unit: Unit::Minutes,
                    bins: Some(Bins::Auto),
                },
            })
            .unwrap()
        };
        let whole = Funnel::finish(&state(&log_of(&|_| true))).unwrap();
        let parts: Vec<_> = (0..3).map(|k| state(&log_of(&|u| u % 3 == k))).collect();
        let merged = analyses::finish(&analyses::merge(&parts).unwrap()).unwrap();
        assert_eq!(whole.columns(), merged.columns(), "{order}");
        let converted = whole.column_by_name("converted").unwrap();
        assert!(converted
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .any(|&c| c > 0));
    }
}

#[test]
fn stripe_glossary_mrr_is_12500_and_reconciles() {
    use arrow::array::{Date32Array, Float64Array};
    use kpikit::core::engine::state::Analysis;
    use kpikit::core::kernels::revenue::conventions::Conventions;
    use kpikit::core::kernels::revenue::input::{Duplicates, RevenueInput, Source};
    use kpikit::core::kernels::revenue::movements::{MovementsInput, MrrMovements};
    // 100 subscribers on $100 a month and 50 on $600 a year, one snapshot row each in March.
    let n = 150;
    let march = days_from_civil(2026, 3, 1) as i32;
    let mrr: Vec<f64> = (0..n)
        .map(|i| if i < 100 { 100.0 } else { 600.0 / 12.0 })
        .collect();
    let input = RevenueInput {
        customer: Column::from_array("customer", Arc::new(Int64Array::from_iter_values(0..n))),
        source: Source::Snapshots {
            period: Column::from_array(
                "month",
                Arc::new(Date32Array::from(vec![march; n as usize])),
            ),
            mrr: Column::from_array("mrr", Arc::new(Float64Array::from(mrr))),
            duplicates: Duplicates::Raise,
            times: None,
        },
        segments: vec![],
        freq: Freq::Month,
        zone: Zone::Utc,
    };
    let stripe = Conventions::preset("stripe").unwrap();
    let state = MrrMovements::partial(&MovementsInput {
        revenue: &input,
        conventions: &stripe,
    })
    .unwrap();
    let out = MrrMovements::finish(&state).unwrap();
    let f = |name: &str| {
        out.column_by_name(name)
            .unwrap()
            .as_primitive::<Float64Type>()
            .value(0)
    };
    assert_eq!(f("ending_mrr"), 12_500.0);
    assert_eq!(f("new_mrr"), f("ending_mrr") - f("starting_mrr"));
    let customers = out
        .column_by_name("ending_customers")
        .unwrap()
        .as_primitive::<Int64Type>();
    assert_eq!(customers.value(0), 150);
}

// Honest changes: a churn history with the counts behind it, through
// `kpi::evaluate_history`, split over two batches with a missing month.
#[test]
fn kpi_history_with_counts_gets_wilson_intervals_significance_and_anomalies() {
    use arrow::array::{BooleanArray, Date32Array, Float64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use kpikit::core::input::Table;
    use kpikit::core::kpi::{evaluate_history, Direction, Goal, History, Target};

    let schema = Arc::new(Schema::new(vec![
        Field::new("period", DataType::Date32, false),
        Field::new("rate", DataType::Float64, true),
        Field::new("k", DataType::Float64, true),
        Field::new("n", DataType::Float64, true),
    ]));
    let month = |m: u32| days_from_civil(2026, m, 1) as i32;
    let batch = |ms: &[u32], k: &[f64], n: &[f64]| {
        let rate: Vec<f64> = k.iter().zip(n).map(|(a, b)| a / b).collect();
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Date32Array::from(
                    ms.iter().map(|&m| month(m)).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(rate)),
                Arc::new(Float64Array::from(k.to_vec())),
                Arc::new(Float64Array::from(n.to_vec())),
            ],
        )
        .unwrap()
    };
    // Jan 10/100, Feb 14/100, (no March), Apr 50/500, May 80/500.
    let table = Table::from_batches(
        vec![
            batch(&[1, 2], &[10.0, 14.0], &[100.0, 100.0]),
            batch(&[4, 5], &[50.0, 80.0], &[500.0, 500.0]),
        ],
        &schema,
    );
    let history = History {
        table: &table,
        period: "period".into(),
        value: "rate".into(),
        freq: Freq::Month,
        start: None,
        deadline: None,
        numerator: Some("k".into()),
        denominator: Some("n".into()),
        anomaly_periods: 6,
    };
    let objective = Goal {
        target: Target::Value(0.05),
        direction: Some(Direction::Decrease),
        start_value: None,
        at_risk_band: 0.0,
        pace_periods: 3,
    };
    let out = evaluate_history(&history, &objective).unwrap();
    let col = |name: &str| out.column_by_name(name).unwrap().clone();
    let lo = col("ci_low");
    let lo = lo.as_primitive::<Float64Type>();
    let hi = col("ci_high");
    let hi = hi.as_primitive::<Float64Type>();
    // 10 of 100 → Wilson [0.0552, 0.1744] (see core::signals for the arithmetic).
    assert!((lo.value(0) - 0.0552).abs() < 5e-5 && (hi.value(0) - 0.1744).abs() < 5e-5);
    assert!(lo.is_null(2) && hi.is_null(2));
    let sig = col("significant");
    let sig = sig.as_any().downcast_ref::<BooleanArray>().unwrap();
    // Feb vs Jan: z = 0.87 (noise); Apr vs Feb (March missing): 0.14 → 0.10, pooled 64/600,
    // z = −1.18 (noise); May vs Apr: z = 2.82, significant.
    let got: Vec<Option<bool>> = sig.iter().collect();
    assert_eq!(got, [None, Some(false), None, Some(false), Some(true)]);
    // Fewer than six earlier values everywhere: no anomaly verdicts.
    assert_eq!(col("anomaly").null_count(), 5);
    // Counts that are not a proportion are rejected with the rule named.
    let bad = Table::from_batches(vec![batch(&[1], &[3.0], &[2.0])], &schema);
    let err = evaluate_history(
        &History {
            table: &bad,
            ..history
        },
        &objective,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("must not exceed the denominator"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Fuzz-style random inputs: the same drivers as the cargo-fuzz targets in `fuzz/`.
// ---------------------------------------------------------------------------------------------

mod fuzz_inputs;

/// splitmix64: a fixed seed gives the same inputs on every run and machine.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn core_kernels_never_panic_on_random_inputs() {
    // Each kernel gets the same number of random byte strings (0-400 bytes); a panic anywhere
    // (partial state, merge or finish) fails the test with the seed and input to replay it.
    // KPIKIT_FUZZ_CASES=100000 for a longer local run.
    let cases: u64 = std::env::var("KPIKIT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    for (name, target) in fuzz_inputs::TARGETS {
        let started = std::time::Instant::now();
        for case in 0..cases {
            let mut state = case ^ 0x6B70_696B_6974;
            let len = (next_random(&mut state) % 400) as usize;
            let data: Vec<u8> = (0..len).map(|_| next_random(&mut state) as u8).collect();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name} panicked on case {case}: {data:?}");
        }
        eprintln!("{name}: {cases} random inputs in {:?}", started.elapsed());
    }
}

/// Inputs on which libFuzzer found a crash (`cargo fuzz run -a <target>`), kept as regressions.
#[test]
fn fuzz_crashes_found_by_libfuzzer_stay_fixed() {
    // active_users: a segment column on a table with no row took the marker row of an empty
    // segment (docs/conventions.md, "Complete grids") from an empty key array.
    type Case<'a> = (&'a str, fn(&[u8]), &'a [u8]);
    let cases: [Case<'_>; 1] = [(
        "active_users",
        fuzz_inputs::active_users,
        &[0, 0, 0, 0, 0, 0, 0, 0, 79, 255, 243],
    )];
    for (name, target, data) in cases {
        let outcome = std::panic::catch_unwind(|| target(data));
        assert!(outcome.is_ok(), "{name} panicked on {data:?}");
    }
}
