//! Unit tests of the revenue kernels: hand-computed ledgers, conventions, inputs, merges.

use super::cohorts::*;
use super::conventions::*;
use super::customers::*;
use super::input::*;
use super::ledger::*;
use super::movements::*;
use super::walk::*;
use std::sync::Arc;

use arrow::array::{AsArray, Date32Array, RecordBatch, StringArray};
use arrow::datatypes::{Date32Type, Int64Type};

use crate::core::engine::state::Analysis;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::{Freq, Zone, US_PER_DAY};
use crate::core::input::Column;

use crate::core::input::time::days_from_civil;
use arrow::array::{Float64Array, Int32Array, TimestampMicrosecondArray};
use arrow::datatypes::Float64Type;

fn movement_state(input: &RevenueInput, conv: &Conventions) -> KpiResult<RecordBatch> {
    MrrMovements::partial(&MovementsInput {
        revenue: input,
        conventions: conv,
    })
}

fn finish_movements(state: &RecordBatch) -> KpiResult<RecordBatch> {
    MrrMovements::finish(state)
}

fn merge_movement_states(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
    MrrMovements::merge(states)
}

fn cohort_state(input: &RevenueInput) -> KpiResult<RecordBatch> {
    RevenueCohorts::partial(input)
}

fn day(y: i64, m: u32, d: u32) -> i32 {
    days_from_civil(y, m, d) as i32
}

fn rows_of(by: &CustomerRows, c: usize) -> Vec<usize> {
    let mut out = vec![99];
    by.fill(c, &mut out);
    out
}

#[test]
fn customer_rows_in_runs_or_permuted() {
    // Each customer one run, in id order: the rows are the input rows, no permutation.
    let runs = CustomerRows::new(&[0, 0, 1, 2, 2, 2], 3);
    assert!(runs.rows.is_none());
    assert_eq!(runs.starts, vec![0, 2, 3, 6]);
    assert_eq!(rows_of(&runs, 2), vec![3, 4, 5]);
    // Customer 0 comes back after customer 1: rows grouped by a counting sort.
    let back = CustomerRows::new(&[0, 1, 0, 2, 1], 3);
    assert_eq!(back.starts, vec![0, 2, 4, 5]);
    assert_eq!(back.rows.as_deref(), Some(&[0, 2, 1, 4, 3][..]));
    assert_eq!(rows_of(&back, 1), vec![1, 4]);
    let empty = CustomerRows::new(&[], 0);
    assert_eq!(empty.starts, vec![0]);
}

fn strings(name: &str, v: &[&str]) -> Column {
    Column::from_array(name, Arc::new(StringArray::from(v.to_vec())))
}

/// Snapshots: (customer, period day, mrr, segment).
fn snapshots(rows: &[(&str, i32, f64, &str)], by: bool) -> RevenueInput {
    RevenueInput {
        customer: strings("customer", &rows.iter().map(|r| r.0).collect::<Vec<_>>()),
        source: Source::Snapshots {
            period: Column::from_array(
                "month",
                Arc::new(Date32Array::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
            ),
            mrr: Column::from_array(
                "mrr",
                Arc::new(Float64Array::from(
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                )),
            ),
            duplicates: Duplicates::Raise,
            times: None,
        },
        segments: if by {
            vec![strings(
                "plan",
                &rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )]
        } else {
            vec![]
        },
        freq: Freq::Month,
        zone: Zone::Utc,
    }
}

/// Subscriptions: (customer, start day, end day, amount, interval).
fn subscriptions(rows: &[(&str, i32, Option<i32>, f64, &str)], snapshot: Snapshot) -> RevenueInput {
    let us = |d: i32| d as i64 * US_PER_DAY;
    RevenueInput {
        customer: strings("customer", &rows.iter().map(|r| r.0).collect::<Vec<_>>()),
        source: Source::Subscriptions {
            start: Column::from_array(
                "start",
                Arc::new(TimestampMicrosecondArray::from(
                    rows.iter().map(|r| us(r.1)).collect::<Vec<_>>(),
                )),
            ),
            end: Some(Column::from_array(
                "end",
                Arc::new(TimestampMicrosecondArray::from(
                    rows.iter().map(|r| r.2.map(us)).collect::<Vec<_>>(),
                )),
            )),
            amount: Column::from_array(
                "amount",
                Arc::new(Float64Array::from(
                    rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                )),
            ),
            interval: Some(strings(
                "interval",
                &rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            )),
            snapshot,
        },
        segments: vec![],
        freq: Freq::Month,
        zone: Zone::Utc,
    }
}

fn movements(input: &RevenueInput, conv: &Conventions) -> RecordBatch {
    finish_movements(&movement_state(input, conv).unwrap()).unwrap()
}

/// `n` customers starting in the same month at the largest accepted MRR.
fn at_max_amount(names: &[String]) -> RevenueInput {
    let rows: Vec<(&str, i32, f64, &str)> = names
        .iter()
        .map(|n| (n.as_str(), day(2026, 1, 1), MAX_AMOUNT, "x"))
        .collect();
    snapshots(&rows, false)
}

#[test]
fn movement_and_cohort_sums_beyond_i64_are_an_error_not_clamped() {
    // MAX_AMOUNT is 9_007_199_254_740_900 cents (2^53 - 92). 1 024 of them sum to
    // 2^63 - 94 208, just inside i64; 1 025 do not. The sums used to saturate at i64::MAX
    // silently, a wrong number on the board.
    let names: Vec<String> = (0..1025).map(|i| format!("c{i:04}")).collect();
    let conv = Conventions::default();
    let fits = movements(&at_max_amount(&names[..1024]), &conv);
    let new_mrr = fits
        .column_by_name("new_mrr")
        .unwrap()
        .as_primitive::<Float64Type>()
        .value(0);
    assert_eq!(new_mrr, (i64::MAX - 94_207) as f64 / 100.0);
    assert!(cohort_state(&at_max_amount(&names[..1024])).is_ok());

    let too_many = at_max_amount(&names);
    let err = movement_state(&too_many, &conv).unwrap_err();
    assert!(matches!(err, KpiError::Overflow { .. }), "{err}");
    assert!(err.to_string().contains("overflowed"));
    let err = cohort_state(&too_many).unwrap_err();
    assert!(matches!(err, KpiError::Overflow { .. }), "{err}");
}

#[test]
fn flow_sums_flag_overflow_in_add_absorb_and_dense_to_map() {
    let entry = |v: i64| Entry {
        period: 0,
        seg: 0,
        starting: 0,
        ending: v,
        flows: [v; NF],
        label: "new",
    };
    // Dense cell: two adds past i64::MAX.
    let mut a = FlowSums::new(Some(0), 0, 1);
    a.add(entry(i64::MAX));
    a.add(entry(1));
    assert!(matches!(a.into_map(), Err(KpiError::Overflow { .. })));
    // Each part fits; merging the parts does not.
    let (mut a, mut b) = (FlowSums::new(Some(0), 0, 1), FlowSums::new(Some(0), 0, 1));
    a.add(entry(i64::MAX - 1));
    b.add(entry(2));
    a.absorb(b);
    assert!(matches!(a.into_map(), Err(KpiError::Overflow { .. })));
    // Negative flows (contraction) overflow downwards too.
    let mut a = FlowSums::new(Some(0), 0, 1);
    a.add(entry(i64::MIN));
    a.add(entry(-1));
    assert!(matches!(a.into_map(), Err(KpiError::Overflow { .. })));
    // Within range: exact.
    let mut a = FlowSums::new(Some(0), 0, 1);
    a.add(entry(i64::MAX - 5));
    a.add(entry(5));
    assert_eq!(a.into_map().unwrap()[&(0, 0)], [i64::MAX; NF]);
}

fn money(b: &RecordBatch, name: &str) -> Vec<i64> {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_primitive::<Float64Type>()
        .values()
        .iter()
        .map(|v| (v * 100.0).round() as i64)
        .collect()
}

fn counts(b: &RecordBatch, name: &str) -> Vec<i64> {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

/// `ending = starting + new + expansion + reactivation − contraction − churned (+ moves)`
/// on every row, exactly in cents.
fn assert_identity(b: &RecordBatch) {
    let col = |n: &str| {
        if b.column_by_name(n).is_some() {
            money(b, n)
        } else {
            vec![0; b.num_rows()]
        }
    };
    let (s, e) = (col("starting_mrr"), col("ending_mrr"));
    let (nw, ex, co, ch, re) = (
        col("new_mrr"),
        col("expansion_mrr"),
        col("contraction_mrr"),
        col("churned_mrr"),
        col("reactivation_mrr"),
    );
    let (mi, mo) = (col("moved_in_mrr"), col("moved_out_mrr"));
    for r in 0..b.num_rows() {
        assert_eq!(
            e[r],
            s[r] + nw[r] + ex[r] + re[r] - co[r] - ch[r] + mi[r] - mo[r],
            "row {r}"
        );
    }
}

const JAN: (i64, u32) = (2026, 1);

fn month(k: u32) -> i32 {
    day(JAN.0, JAN.1 + k, 1)
}

#[test]
fn hand_computed_ledger_new_expansion_contraction_churn_reactivation() {
    // A: 100, 150, 120, –, 80; B joins in February at 50.
    let rows = [
        ("A", month(0), 100.0, ""),
        ("A", month(1), 150.0, ""),
        ("A", month(2), 120.0, ""),
        ("A", month(4), 80.0, ""),
        ("B", month(1), 20.0, ""),
        ("B", month(1), 30.0, ""), // two subscriptions at one snapshot time: summed below
        ("B", month(2), 50.0, ""),
        ("B", month(3), 50.0, ""),
        ("B", month(4), 50.0, ""),
    ];
    let out = movements(&summed(snapshots(&rows, false)), &Conventions::default());
    assert_eq!(
        out.column(0).as_primitive::<Date32Type>().values().to_vec(),
        (0..5).map(month).collect::<Vec<_>>()
    );
    assert_eq!(
        money(&out, "starting_mrr"),
        vec![0, 10000, 20000, 17000, 5000]
    );
    assert_eq!(money(&out, "new_mrr"), vec![10000, 5000, 0, 0, 0]);
    assert_eq!(money(&out, "expansion_mrr"), vec![0, 5000, 0, 0, 0]);
    assert_eq!(money(&out, "contraction_mrr"), vec![0, 0, 3000, 0, 0]);
    assert_eq!(money(&out, "churned_mrr"), vec![0, 0, 0, 12000, 0]);
    assert_eq!(money(&out, "reactivation_mrr"), vec![0, 0, 0, 0, 8000]);
    assert_eq!(
        money(&out, "ending_mrr"),
        vec![10000, 20000, 17000, 5000, 13000]
    );
    assert_eq!(
        money(&out, "net_new_mrr"),
        vec![10000, 10000, -3000, -12000, 8000]
    );
    assert_eq!(counts(&out, "starting_customers"), vec![0, 1, 2, 2, 1]);
    assert_eq!(counts(&out, "new_customers"), vec![1, 1, 0, 0, 0]);
    assert_eq!(counts(&out, "expanded_customers"), vec![0, 1, 0, 0, 0]);
    assert_eq!(counts(&out, "contracted_customers"), vec![0, 0, 1, 0, 0]);
    assert_eq!(counts(&out, "churned_customers"), vec![0, 0, 0, 1, 0]);
    assert_eq!(counts(&out, "reactivated_customers"), vec![0, 0, 0, 0, 1]);
    assert_eq!(counts(&out, "ending_customers"), vec![1, 2, 2, 1, 2]);
    assert_identity(&out);

    let ledger =
        movement_ledger(&summed(snapshots(&rows, false)), &Conventions::default()).unwrap();
    let labels: Vec<&str> = ledger
        .column_by_name("movement")
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap_or(""))
        .collect();
    assert_eq!(
        labels,
        vec![
            "new",
            "expansion",
            "contraction",
            "churn",
            "reactivation",
            "new",
            "unchanged",
            "unchanged",
            "unchanged"
        ]
    );
    assert_identity(&ledger);
}

#[test]
fn reactivation_outside_the_window_is_new() {
    // Away in April only: one period, 30 days (1 April → 1 May).
    let rows = [("A", month(2), 100.0, ""), ("A", month(4), 80.0, "")];
    let run = |w: &str| {
        let mut c = Conventions::default();
        c.set("reactivation_window", w).unwrap();
        let out = movements(&snapshots(&rows, false), &c);
        (
            money(&out, "reactivation_mrr")[2],
            money(&out, "new_mrr")[2],
        )
    };
    assert_eq!(run("any"), (8000, 0));
    assert_eq!(run("1"), (8000, 0));
    assert_eq!(run("0"), (0, 8000));
    assert_eq!(run("30d"), (8000, 0));
    assert_eq!(run("29 days"), (0, 8000));
    assert!(Window::parse("soon").is_err());
}

#[test]
fn same_period_join_and_churn_under_each_preset() {
    // X subscribes on 5 January and cancels on 20 January; Y stays from 1 January.
    let rows = [
        ("X", day(2026, 1, 5), Some(day(2026, 1, 20)), 100.0, "month"),
        ("Y", day(2026, 1, 1), None, 600.0, "year"),
        ("Y", day(2026, 2, 10), Some(day(2026, 2, 11)), 1.0, "month"),
    ];
    let input = subscriptions(&rows, Snapshot::End);
    let jan = |preset: &str| {
        let out = movements(&input, &Conventions::preset(preset).unwrap());
        assert_identity(&out);
        let pick = |n: &str| money(&out, n)[0];
        let cnt = |n: &str| counts(&out, n)[0];
        (
            pick("new_mrr"),
            pick("churned_mrr"),
            cnt("new_customers"),
            cnt("churned_customers"),
            cnt("new_and_churned_customers"),
            pick("ending_mrr"),
        )
    };
    // Y's annual 600 is 50 a month; X peaks at 100 within January.
    assert_eq!(jan("stripe"), (15000, 10000, 2, 1, 1, 5000));
    assert_eq!(jan("baremetrics"), (15000, 10000, 2, 1, 1, 5000));
    assert_eq!(jan("chartmogul"), (15000, 10000, 2, 0, 1, 5000));
    assert_eq!(jan("profitwell"), (5000, 0, 1, 0, 1, 5000));
    // Y's one-day extra subscription in February overlaps its running one: netted, no flash.
    let out = movements(&input, &Conventions::default());
    assert_eq!(counts(&out, "new_and_churned_customers"), vec![1, 0]);
    assert_eq!(money(&out, "ending_mrr"), vec![5000, 5000]);
}

#[test]
fn flash_takes_the_segment_of_its_peak() {
    // Two short subscriptions one after the other in January, on different plans.
    let mut input = subscriptions(
        &[
            ("X", day(2026, 1, 2), Some(day(2026, 1, 5)), 10.0, "month"),
            ("X", day(2026, 1, 5), Some(day(2026, 1, 9)), 30.0, "month"),
        ],
        Snapshot::End,
    );
    input.segments = vec![strings("plan", &["basic", "pro"])];
    let out = movements(&input, &Conventions::default());
    assert_identity(&out);
    // The peak of 30 is on pro; basic occurs in the input, so it has its row, with no
    // movement (docs/conventions.md, "Complete grids").
    let plans: Vec<Option<&str>> = out.column(1).as_string::<i32>().iter().collect();
    assert_eq!(plans, vec![Some("basic"), Some("pro")]);
    assert_eq!(money(&out, "new_mrr"), vec![0, 3000]);
    assert_eq!(counts(&out, "new_and_churned_customers"), vec![0, 1]);
}

#[test]
fn stripe_glossary_example_is_12500() {
    // 100 subscribers on $100 a month and 50 on $600 a year (Stripe glossary).
    let mut rows = Vec::new();
    let names: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
    for (i, n) in names.iter().enumerate() {
        let (amount, interval) = if i < 100 {
            (100.0, "month")
        } else {
            (600.0, "annual")
        };
        rows.push((n.as_str(), day(2026, 1, 1), None, amount, interval));
    }
    let out = movements(
        &subscriptions(&rows, Snapshot::End),
        &Conventions::default(),
    );
    assert_eq!(money(&out, "ending_mrr"), vec![1_250_000]);
    assert_eq!(counts(&out, "ending_customers"), vec![150]);
}

#[test]
fn intervals_and_period_average() {
    let rows = [
        ("A", day(2026, 1, 1), None, 300.0, "quarter"),
        ("B", day(2026, 1, 1), None, 52.0, "week"),
        ("C", day(2026, 1, 1), None, 60.0, "6"),
        // 16 of January's 31 days, 310 a month → 160 on average; gone on 1 March.
        ("D", day(2026, 1, 16), Some(day(2026, 3, 1)), 310.0, "month"),
    ];
    let end = mrr(&subscriptions(&rows, Snapshot::End)).unwrap();
    // Every customer runs to March (D's end); D churns in March.
    assert_eq!(
        money(&end, "mrr"),
        vec![10000, 10000, 10000, 22533, 22533, 22533, 1000, 1000, 1000, 31000, 31000]
    );
    let avg = mrr(&subscriptions(&rows, Snapshot::Average)).unwrap();
    let d: Vec<i64> = money(&avg, "mrr")[9..].to_vec();
    assert_eq!(d, vec![16000, 31000]);
    let out = movements(
        &subscriptions(&rows, Snapshot::Average),
        &Conventions::default(),
    );
    assert_identity(&out);
    // D: new 160 in January, expansion 150 in February, churn 310 in March.
    assert_eq!(money(&out, "churned_mrr"), vec![0, 0, 31000]);
    assert_eq!(money(&out, "expansion_mrr"), vec![0, 15000, 0]);
}

#[test]
fn subscription_ending_at_midnight_on_the_first_counts_in_the_month_before() {
    let rows = [("A", day(2026, 1, 10), Some(day(2026, 2, 1)), 10.0, "month")];
    let out = movements(
        &subscriptions(&rows, Snapshot::End),
        &Conventions::default(),
    );
    assert_eq!(money(&out, "new_mrr"), vec![1000, 0]);
    assert_eq!(money(&out, "churned_mrr"), vec![0, 1000]);
}

#[test]
fn segment_moves_and_totals() {
    // A moves from basic (100) to pro (150) in February; B stays in basic.
    let rows = [
        ("A", month(0), 100.0, "basic"),
        ("A", month(1), 150.0, "pro"),
        ("B", month(0), 40.0, "basic"),
        ("B", month(1), 40.0, "basic"),
    ];
    let by = movements(&snapshots(&rows, true), &Conventions::default());
    assert_identity(&by);
    // basic Jan, basic Feb, pro Jan, pro Feb.
    assert_eq!(money(&by, "moved_out_mrr"), vec![0, 10000, 0, 0]);
    assert_eq!(money(&by, "moved_in_mrr"), vec![0, 0, 0, 10000]);
    assert_eq!(money(&by, "expansion_mrr"), vec![0, 0, 0, 5000]);
    assert_eq!(money(&by, "ending_mrr"), vec![14000, 4000, 0, 15000]);
    assert_eq!(counts(&by, "moved_in_customers"), vec![0, 0, 0, 1]);
    let total = movements(&snapshots(&rows, false), &Conventions::default());
    for name in ["new_mrr", "expansion_mrr", "ending_mrr", "starting_mrr"] {
        let b = money(&by, name);
        assert_eq!(
            vec![b[0] + b[2], b[1] + b[3]],
            money(&total, name),
            "{name}"
        );
    }
}

#[test]
fn conflicting_segments_in_one_period_name_the_rows() {
    let rows = [
        ("A", month(0), 100.0, "basic"),
        ("A", month(0), 10.0, "pro"),
        ("B", month(0), 40.0, "basic"),
    ];
    let err = movement_state(&summed(snapshots(&rows, true)), &Conventions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"plan\""), "{err}");
    assert!(err.contains("one segment value per period"), "{err}");
    assert!(
        err.contains("row 1: same customer and period (2026-01-01) as row 0"),
        "{err}"
    );
}

#[test]
fn invalid_values_name_column_rule_and_rows() {
    let rows = [
        ("A", month(0), -1.0, ""),
        ("A", month(1), f64::NAN, ""),
        ("A", month(2), f64::INFINITY, ""),
    ];
    let err = movement_state(&snapshots(&rows, false), &Conventions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("column \"mrr\": must be a finite number"),
        "{err}"
    );
    assert!(
        err.contains("row 0: -1") && err.contains("row 1: missing") && err.contains("row 2: inf"),
        "{err}"
    );

    let mut input = subscriptions(
        &[
            ("A", day(2026, 1, 1), Some(day(2025, 1, 1)), 1.0, "month"),
            ("A", day(2026, 1, 1), None, 1.0, "fortnight"),
        ],
        Snapshot::End,
    );
    let err = mrr(&input).unwrap_err().to_string();
    assert!(
        err.contains("\"interval\"") && err.contains("row 1: \"fortnight\""),
        "{err}"
    );
    if let Source::Subscriptions { interval, .. } = &mut input.source {
        *interval = None;
    }
    let err = mrr(&input).unwrap_err().to_string();
    assert!(
        err.contains("\"end\": must not be before start") && err.contains("row 0"),
        "{err}"
    );

    // A fractional interval scales the amount up: beyond the amounts' bound it is an error
    // of the rows, in the per-customer MRR and the movements alike (never saturated cents).
    let input = subscriptions(
        &[
            ("A", day(2026, 1, 1), None, 100.0, "0.5"),
            ("B", day(2026, 1, 1), None, 1e6, "1e-12"),
        ],
        Snapshot::End,
    );
    let a = mrr(&input).unwrap_err().to_string();
    let b = movement_state(&input, &Conventions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(a, b);
    assert!(
        a.starts_with(
            "column \"interval\": amount / interval (the monthly amount) must be at most"
        ) && a.contains("1 row(s), e.g. row 1: 1000000 per 0.000000000001 months"),
        "{a}"
    );

    let mut input = snapshots(&[("A", month(0), 1.0, "")], false);
    input.customer = Column::from_array("customer", Arc::new(Int32Array::from(vec![None::<i32>])));
    let err = mrr(&input).unwrap_err().to_string();
    assert!(
        err.contains("\"customer\": must not be missing: 1 row(s), e.g. row 0"),
        "{err}"
    );
    assert!(Conventions::preset("hubspot").is_err());
    assert!(Conventions::default().set("churn_timing", "x").is_err());
}

#[test]
fn states_of_customer_partitions_merge_to_the_one_pass_result() {
    let rows = [
        ("A", month(0), 100.0, "x"),
        ("A", month(1), 150.0, "y"),
        ("B", month(2), 40.0, "x"),
        ("C", month(0), 10.0, "x"),
        ("C", month(3), 10.0, "x"),
        ("D", month(5), 70.0, "y"),
    ];
    let conv = Conventions::preset("chartmogul").unwrap();
    let whole = finish_movements(&movement_state(&snapshots(&rows, true), &conv).unwrap()).unwrap();
    let parts: Vec<RecordBatch> = [
        &rows[0..2],
        &rows[2..3],
        &rows[3..5],
        &rows[5..6],
        &rows[0..0],
    ]
    .iter()
    .map(|p| movement_state(&snapshots(p, true), &conv).unwrap())
    .collect();
    let merged = finish_movements(&merge_movement_states(&parts).unwrap()).unwrap();
    assert_eq!(whole.columns(), merged.columns());
    // A partition alone ends at its own last period; merged, B's April churn is known.
    assert_eq!(
        money(&merged, "churned_mrr").iter().sum::<i64>(),
        100 * (150 + 40 + 10 + 10)
    );
    let other = movement_state(&snapshots(&rows, true), &Conventions::default()).unwrap();
    assert!(merge_movement_states(&[parts[0].clone(), other]).is_err());
}

proptest::proptest! {
    // Random monthly histories with gaps, reactivations and segment moves: the identity on
    // every row, starting = previous ending, and segments summing to the totals.
    #[test]
    fn ledger_identity_and_segment_totals(
        hist in proptest::collection::vec(
            (0usize..6, 0u32..8, 0u32..4, 0usize..3), 0..60),
    ) {
        let names = ["a", "b", "c", "d", "e", "f"];
        let plans = ["p", "q", "r"];
        // One row per (customer, month); later duplicates of a pair are dropped.
        let mut seen = std::collections::HashSet::new();
        let rows: Vec<(&str, i32, f64, &str)> = hist
            .iter()
            .filter(|h| seen.insert((h.0, h.1)))
            .map(|h| (names[h.0], month(h.1), h.2 as f64 * 12.5, plans[h.3]))
            .collect();
        for preset in PRESETS {
            let conv = Conventions::preset(preset).unwrap();
            let total = movements(&snapshots(&rows, false), &conv);
            assert_identity(&total);
            let by = movements(&snapshots(&rows, true), &conv);
            assert_identity(&by);
            let (s, e) = (money(&total, "starting_mrr"), money(&total, "ending_mrr"));
            for r in 1..s.len() {
                proptest::prop_assert_eq!(s[r], e[r - 1]);
            }
            let n = total.num_rows();
            proptest::prop_assert_eq!(by.num_rows() % n.max(1), 0);
            for name in ["starting_mrr", "new_mrr", "expansion_mrr", "contraction_mrr",
                         "churned_mrr", "reactivation_mrr", "ending_mrr", "net_new_mrr"] {
                let b = money(&by, name);
                let sums: Vec<i64> = (0..n).map(|p| b.iter().skip(p).step_by(n).sum()).collect();
                proptest::prop_assert_eq!(sums, money(&total, name), "{}", name);
            }
            for name in ["starting_customers", "new_customers", "churned_customers",
                         "reactivated_customers", "ending_customers"] {
                let b = counts(&by, name);
                let sums: Vec<i64> = (0..n).map(|p| b.iter().skip(p).step_by(n).sum()).collect();
                proptest::prop_assert_eq!(sums, counts(&total, name), "{}", name);
            }
            let ledger = movement_ledger(&snapshots(&rows, true), &conv).unwrap();
            assert_identity(&ledger);
        }
    }
}

/// `input` with its snapshot rows at one time added up (`duplicates="sum"`).
fn summed(mut input: RevenueInput) -> RevenueInput {
    if let Source::Snapshots { duplicates, .. } = &mut input.source {
        *duplicates = Duplicates::Sum;
    }
    input
}

#[test]
fn repeated_snapshot_rows_name_the_rows_unless_summed() {
    let rows = [
        ("A", month(0), 100.0, ""),
        ("B", month(0), 20.0, ""),
        ("B", month(0), 30.0, ""),
    ];
    let err = mrr(&snapshots(&rows, false)).unwrap_err().to_string();
    assert!(err.contains("customer, month"), "{err}");
    assert!(err.contains("one snapshot row per period"), "{err}");
    assert!(
        err.contains("row 2: same customer and period as row 1"),
        "{err}"
    );
    let err = movement_state(&snapshots(&rows, false), &Conventions::default()).unwrap_err();
    assert!(err.to_string().contains("row 2"), "{err}");
    let out = mrr(&summed(snapshots(&rows, false))).unwrap();
    let m = out.column(2).as_primitive::<Float64Type>();
    assert_eq!(m.values().to_vec(), vec![100.0, 50.0]);
}

/// Month-start snapshots of A (100, 100, 120 | 120, 90, 90), B (50, 50, – | –, 60, 60) and
/// C (–, 30, 30 | 30, 30, –) over two quarters.
fn monthly_rows() -> Vec<(&'static str, i32, f64, &'static str)> {
    let mut rows = Vec::new();
    for (c, values) in [
        ("A", [100.0, 100.0, 120.0, 120.0, 90.0, 90.0]),
        ("B", [50.0, 50.0, 0.0, 0.0, 60.0, 60.0]),
        ("C", [0.0, 30.0, 30.0, 30.0, 30.0, 0.0]),
    ] {
        for (k, v) in values.iter().enumerate() {
            if *v > 0.0 {
                rows.push((c, month(k as u32), *v, ""));
            }
        }
    }
    rows
}

fn quarterly(input: RevenueInput) -> RevenueInput {
    RevenueInput {
        freq: Freq::Quarter,
        ..input
    }
}

#[test]
fn a_quarter_reads_the_snapshot_at_its_end() {
    // By hand: Q1 ends with March (A 120, C 30), Q2 with June (A 90, B 60). B's January and
    // February never reach a quarter end: B is new in Q2; C churns in Q2; A contracts 30.
    let rows = monthly_rows();
    let out = movements(&quarterly(snapshots(&rows, false)), &Conventions::default());
    assert_eq!(money(&out, "ending_mrr"), vec![15_000, 15_000]);
    assert_eq!(money(&out, "new_mrr"), vec![15_000, 6_000]);
    assert_eq!(money(&out, "contraction_mrr"), vec![0, 3_000]);
    assert_eq!(money(&out, "churned_mrr"), vec![0, 3_000]);
    assert_eq!(money(&out, "reactivation_mrr"), vec![0, 0]);
    assert_eq!(counts(&out, "ending_customers"), vec![2, 2]);
    assert_identity(&out);
    // The same ends as the monthly ledger's March and June.
    let monthly = movements(&snapshots(&rows, false), &Conventions::default());
    let m = money(&monthly, "ending_mrr");
    assert_eq!((m[2], m[5]), (15_000, 15_000));
}

#[test]
fn partitions_read_the_period_ends_of_the_whole_data() {
    // C's partition alone has no June snapshot: given the snapshot times of all the data, it
    // reads June (C absent: churned) instead of May.
    let rows = monthly_rows();
    let all_times = Column::from_array(
        "month",
        Arc::new(Date32Array::from(
            rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        )),
    );
    let with_times = |part: &[(&str, i32, f64, &str)]| {
        let mut input = quarterly(snapshots(part, false));
        if let Source::Snapshots { times, .. } = &mut input.source {
            *times = Some(all_times.clone());
        }
        input
    };
    let conv = Conventions::default();
    let (ab, c): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.0 != "C");
    let states = [
        movement_state(&with_times(&ab), &conv).unwrap(),
        movement_state(&with_times(&c), &conv).unwrap(),
    ];
    let whole = movements(&quarterly(snapshots(&rows, false)), &conv);
    let merged = crate::core::engine::analyses::finish(
        &crate::core::engine::analyses::merge(&states).unwrap(),
    )
    .unwrap();
    assert_eq!(whole.columns(), merged.columns());
    // Without the times, C's partition would end Q2 in May, still with 30.
    let alone = movements(&quarterly(snapshots(&c, false)), &conv);
    assert_eq!(money(&alone, "ending_mrr"), vec![3_000, 3_000]);
}

#[test]
fn states_merge_and_finish_by_name_and_are_refused_by_other_analyses() {
    let rows = [
        ("A", month(0), 100.0, "x"),
        ("A", month(1), 150.0, "y"),
        ("B", month(2), 40.0, "x"),
        ("C", month(0), 10.0, "x"),
        ("C", month(3), 10.0, "x"),
        ("D", month(5), 70.0, "y"),
    ];
    let conv = Conventions::default();
    let cuts = [&rows[0..2], &rows[2..3], &rows[3..6]];
    // Movements, by segment: one pass equals the merge of customer partitions.
    let whole = movements(&snapshots(&rows, true), &conv);
    let parts: Vec<RecordBatch> = cuts
        .iter()
        .map(|p| movement_state(&snapshots(p, true), &conv).unwrap())
        .collect();
    let merged = crate::core::engine::analyses::merge(&parts).unwrap();
    assert_eq!(
        crate::core::engine::analyses::finish(&merged)
            .unwrap()
            .columns(),
        whole.columns()
    );
    // Cohorts likewise.
    let one = cohort_state(&snapshots(&rows, false)).unwrap();
    let cohort_parts: Vec<RecordBatch> = cuts
        .iter()
        .map(|p| cohort_state(&snapshots(p, false)).unwrap())
        .collect();
    let a = crate::core::engine::analyses::finish(&one).unwrap();
    let b = crate::core::engine::analyses::finish(
        &crate::core::engine::analyses::merge(&cohort_parts).unwrap(),
    )
    .unwrap();
    assert_eq!(a.columns(), b.columns());
    assert!(a.num_rows() > 0);
    // A state of one analysis is not the other's.
    let e = RevenueCohorts::finish(&merged).unwrap_err().to_string();
    assert!(e.contains("not a revenue_cohorts state"), "{e}");
    let e = MrrMovements::finish(&one).unwrap_err().to_string();
    assert!(e.contains("not a mrr_movements state"), "{e}");
    assert!(crate::core::engine::analyses::merge(&[merged, one]).is_err());
}
