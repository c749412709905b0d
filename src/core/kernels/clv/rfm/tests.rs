//! Tests of the RFM summary and split: hand-worked logs and a per-customer reference.

use super::*;
use arrow::array::{AsArray, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::Float64Type;

use crate::core::engine::analyses;

const DAY: i64 = 86_400_000_000;

fn input<'a>(
    customer: &'a Column,
    time: &'a Column,
    amount: Option<&'a Column>,
    spec: &RfmSpec,
    observation_end: Option<i64>,
) -> RfmInput<'a> {
    RfmInput {
        customer,
        time,
        amount,
        spec: *spec,
        observation_end,
    }
}

fn summary(
    customer: &Column,
    time: &Column,
    amount: Option<&Column>,
    spec: &RfmSpec,
    observation_end: Option<i64>,
) -> KpiResult<RecordBatch> {
    rfm_summary(&input(customer, time, amount, spec, observation_end))
}

fn spec() -> RfmSpec {
    RfmSpec {
        unit: Unit::Calendar(Freq::Day),
        multiplier: 1.0,
        include_first: false,
        zone: Zone::Utc,
        invalid: Invalid::Raise,
    }
}

fn col(b: &RecordBatch, name: &str) -> Vec<f64> {
    b.column_by_name(name)
        .unwrap()
        .as_primitive::<Float64Type>()
        .values()
        .to_vec()
}

#[test]
fn same_day_purchases_merge_and_first_period_is_not_counted() {
    // Customer a: day 0 (10 + 5), day 3 (20), day 7 (40); b: day 2 only. End = day 7.
    // a: periods {0, 3, 7} → frequency 2, recency 7, T 7, monetary (20 + 40) / 2 = 30.
    // b: frequency 0, recency 0, T 5, monetary 0.
    let customer = Column::from_array(
        "customer",
        Arc::new(StringArray::from(vec!["a", "a", "b", "a", "a"])),
    );
    let time = Column::from_array(
        "time",
        Arc::new(TimestampMicrosecondArray::from(vec![
            DAY / 2,
            DAY / 3,
            2 * DAY,
            3 * DAY,
            7 * DAY + 5,
        ])),
    );
    let amount = Column::from_array(
        "amount",
        Arc::new(Float64Array::from(vec![10.0, 5.0, 99.0, 20.0, 40.0])),
    );
    let out = summary(&customer, &time, Some(&amount), &spec(), None).unwrap();
    assert_eq!(col(&out, "frequency"), vec![2.0, 0.0]);
    assert_eq!(col(&out, "recency"), vec![7.0, 0.0]);
    assert_eq!(col(&out, "T"), vec![7.0, 5.0]);
    assert_eq!(col(&out, "monetary_value"), vec![30.0, 0.0]);
    // Ending on day 3 drops the day-7 purchase: a has periods {0, 3}.
    let out = summary(&customer, &time, Some(&amount), &spec(), Some(3 * DAY)).unwrap();
    assert_eq!(col(&out, "frequency"), vec![1.0, 0.0]);
    assert_eq!(col(&out, "T"), vec![3.0, 1.0]);
    assert_eq!(col(&out, "monetary_value"), vec![20.0, 0.0]);
}

#[test]
fn integer_customers_come_out_in_ascending_order() {
    // Customers first seen in the order 7, −3, 2, 5 (dense range: counting placement) and
    // 10^12, −4 (span too wide: comparison sort); each buys on day 0 and day k.
    use arrow::array::Int64Array;
    for ids in [vec![7i64, -3, 2, 5], vec![1_000_000_000_000, -4]] {
        let mut c = vec![];
        let mut t = vec![];
        for (k, id) in ids.iter().enumerate() {
            c.extend([*id, *id]);
            t.extend([0, (k as i64 + 1) * DAY]);
        }
        let customer = Column::from_array("customer", Arc::new(Int64Array::from(c)));
        let time = Column::from_array("time", Arc::new(TimestampMicrosecondArray::from(t)));
        let out = summary(&customer, &time, None, &spec(), None).unwrap();
        let got: Vec<i64> = out.column(0).as_primitive::<Int64Type>().values().to_vec();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(got, want);
        // Customer ids[k] bought on day k + 1: recency k + 1 follows its row.
        let recency = col(&out, "recency");
        for (row, id) in got.iter().enumerate() {
            let k = ids.iter().position(|v| v == id).unwrap();
            assert_eq!(recency[row], (k + 1) as f64);
        }
    }
}

#[test]
fn states_per_customer_partition_finish_to_the_summary() {
    // Partition 1 holds a (days 0, 0, 3, 7), partition 2 holds b (day 2). The latest day
    // (7) is only in partition 1, yet b's T counts to it: T_b = 7 − 2 = 5.
    let col = |name: &str, a: ArrayRef| Column::from_array(name, a);
    let p1 = (
        col(
            "customer",
            Arc::new(StringArray::from(vec!["a", "a", "a", "a"])),
        ),
        col(
            "time",
            Arc::new(TimestampMicrosecondArray::from(vec![
                DAY / 2,
                DAY / 3,
                3 * DAY,
                7 * DAY,
            ])),
        ),
        col(
            "amount",
            Arc::new(Float64Array::from(vec![10.0, 5.0, 20.0, 40.0])),
        ),
    );
    let p2 = (
        col("customer", Arc::new(StringArray::from(vec!["b"]))),
        col(
            "time",
            Arc::new(TimestampMicrosecondArray::from(vec![2 * DAY])),
        ),
        col("amount", Arc::new(Float64Array::from(vec![99.0]))),
    );
    let states: Vec<RecordBatch> = [&p2, &p1]
        .iter()
        .map(|(c, t, a)| RfmSummary::partial(&input(c, t, Some(a), &spec(), None)).unwrap())
        .collect();
    let out = analyses::finish(&analyses::merge(&states).unwrap()).unwrap();
    assert_eq!(col_of(&out, "frequency"), vec![2.0, 0.0]);
    assert_eq!(col_of(&out, "recency"), vec![7.0, 0.0]);
    assert_eq!(col_of(&out, "T"), vec![7.0, 5.0]);
    assert_eq!(col_of(&out, "monetary_value"), vec![30.0, 0.0]);
    // The same customer in two states: refused, naming the column.
    let again = RfmSummary::partial(&input(&p1.0, &p1.1, Some(&p1.2), &spec(), None)).unwrap();
    let err = analyses::merge(&[states[1].clone(), again]).unwrap_err();
    assert!(err.to_string().contains("one partition"), "{err}");
    // States of other settings do not merge; another analysis' finish refuses the state.
    let weekly = RfmSpec {
        unit: Unit::Calendar(Freq::Week { week_start: 0 }),
        ..spec()
    };
    let week = RfmSummary::partial(&input(&p2.0, &p2.1, Some(&p2.2), &weekly, None)).unwrap();
    let err = analyses::merge(&[states[1].clone(), week]).unwrap_err();
    assert!(err.to_string().contains("kpikit.freq"), "{err}");
    let err = crate::core::kernels::survey::Nps::finish(&states[0]).unwrap_err();
    assert!(err.to_string().contains("not a nps state"), "{err}");
}

fn col_of(b: &RecordBatch, name: &str) -> Vec<f64> {
    col(b, name)
}

// ---- Property: the partitioned kernel against a plain per-customer reference ----------

use std::collections::BTreeMap;

/// A customer key in its own order: (value, "") for integers, (0, text) for strings.
type Key = (i64, String);

fn shown(k: &Key) -> String {
    if k.1.is_empty() {
        k.0.to_string()
    } else {
        k.1.clone()
    }
}

/// Per customer, period → amounts in row order, of the rows with `after < time <= upto`
/// and period <= `last_period`.
type Ref = BTreeMap<Key, BTreeMap<i64, Vec<f64>>>;

fn reference(
    keys: &[Key],
    times: &[i64],
    amounts: &[f64],
    after: Option<i64>,
    upto: Option<i64>,
    last_period: Option<i64>,
) -> Ref {
    let mut out = Ref::new();
    for i in 0..keys.len() {
        let (t, p) = (times[i], times[i].div_euclid(DAY));
        if after.is_some_and(|a| t <= a)
            || upto.is_some_and(|u| t > u)
            || last_period.is_some_and(|l| p > l)
        {
            continue;
        }
        out.entry(keys[i].clone())
            .or_default()
            .entry(p)
            .or_default()
            .push(amounts[i]);
    }
    out
}

/// Expected (frequency, recency, T, monetary_value) of one customer, straight from the
/// definitions (docs/conventions.md#rfm-summaries).
fn expected(periods: &BTreeMap<i64, Vec<f64>>, end: i64, m: f64, first: bool) -> [f64; 4] {
    let totals: Vec<f64> = periods.values().map(|v| v.iter().sum()).collect();
    let (p0, p1) = (
        *periods.keys().next().unwrap(),
        *periods.keys().last().unwrap(),
    );
    let n = totals.len() as f64;
    let (f, mv) = if first {
        (n, totals.iter().sum::<f64>() / n)
    } else if n > 1.0 {
        (n - 1.0, totals[1..].iter().sum::<f64>() / (n - 1.0))
    } else {
        (0.0, 0.0)
    };
    [f, (p1 - p0) as f64 / m, (end - p0) as f64 / m, mv]
}

/// The output's customer column as text, checking it is ascending in its own type.
fn out_keys(b: &RecordBatch) -> Vec<String> {
    let c = b.column(0);
    let keys: Vec<String> = match c.data_type() {
        DataType::Utf8 => {
            let v: Vec<String> = c
                .as_string::<i32>()
                .iter()
                .map(|s| s.unwrap().to_string())
                .collect();
            assert!(v.windows(2).all(|w| w[0] < w[1]), "{v:?}");
            v
        }
        _ => {
            let c = arrow::compute::cast(c, &DataType::Int64).unwrap();
            let v = c.as_primitive::<Int64Type>().values().to_vec();
            assert!(v.windows(2).all(|w| w[0] < w[1]), "{v:?}");
            v.iter().map(|x| x.to_string()).collect()
        }
    };
    keys
}

/// Customer keys of kind 0 (dense Int64 with negatives), 1 (Int64 spread too wide for
/// dense ids), 2 (strings), 3 (dense Int32).
fn key_column(kind: u8, ks: &[i64]) -> (Column, Vec<Key>) {
    let value = |k: i64| match kind {
        0 | 3 => k - 5,
        1 => k * 1_000_000_000_000 - 7,
        _ => k,
    };
    let text: Vec<Key> = ks
        .iter()
        .map(|&k| match kind {
            2 => (0, format!("c{k}")),
            _ => (value(k), String::new()),
        })
        .collect();
    let array: ArrayRef = match kind {
        2 => Arc::new(StringArray::from_iter_values(text.iter().map(|k| &k.1))),
        3 => Arc::new(arrow::array::Int32Array::from_iter_values(
            ks.iter().map(|&k| value(k) as i32),
        )),
        _ => Arc::new(Int64Array::from_iter_values(ks.iter().map(|&k| value(k)))),
    };
    (Column::from_array("customer", array), text)
}

fn check_log(
    kind: u8,
    ks: &[i64],
    times: &[i64],
    amounts: &[f64],
    include_first: bool,
    end_day: Option<i64>,
    cal_day: i64,
) {
    let (customer, text) = key_column(kind, ks);
    let time = Column::from_array(
        "time",
        Arc::new(TimestampMicrosecondArray::from(times.to_vec())),
    );
    let amount = Column::from_array("amount", Arc::new(Float64Array::from(amounts.to_vec())));
    let spec = RfmSpec {
        multiplier: 2.0,
        include_first,
        ..spec()
    };
    let latest = *times.iter().max().unwrap();
    // rfm_summary, observation end at the end of `end_day` (or the latest time).
    let obs = end_day.map(|d| d * DAY + DAY - 1);
    let out = summary(&customer, &time, Some(&amount), &spec, obs).unwrap();
    let want = reference(&text, times, amounts, None, None, end_day);
    let end = end_day.unwrap_or(latest.div_euclid(DAY));
    let got_keys = out_keys(&out);
    assert_eq!(got_keys, want.keys().map(shown).collect::<Vec<_>>());
    let cols = ["frequency", "recency", "T", "monetary_value"].map(|c| col(&out, c));
    for (row, periods) in want.values().enumerate() {
        let e = expected(periods, end, 2.0, include_first);
        for k in 0..4 {
            assert_eq!(cols[k][row], e[k], "column {k}, row {row}");
        }
    }
    // Split by customer into three partitions (as the Dask driver's shuffle does), a state
    // each, merged and finished through the registry: the one-pass table, exactly.
    let part_of = |k: i64| k.rem_euclid(3) as usize;
    let states: Vec<RecordBatch> = (0..3)
        .map(|p| {
            let rows: Vec<usize> = (0..ks.len()).filter(|&i| part_of(ks[i]) == p).collect();
            let pick = |c: &Column| Column::from_array(&c.name, take_rows(c, &rows).unwrap());
            let (c, t, a) = (pick(&customer), pick(&time), pick(&amount));
            RfmSummary::partial(&input(&c, &t, Some(&a), &spec, obs)).unwrap()
        })
        .collect();
    let merged = analyses::finish(&analyses::merge(&states).unwrap()).unwrap();
    assert_eq!(merged, out);
    // rfm_split: calibration up to the end of `cal_day`, holdout to the latest time.
    let cal_end = cal_day * DAY + DAY - 1;
    let first = *times.iter().min().unwrap();
    if first > cal_end {
        // No transaction in the calibration period: refused, naming the parameter and the
        // first transaction's date (the times are whole hours).
        let e = rfm_split(&customer, &time, Some(&amount), &spec, cal_end, None).unwrap_err();
        let (y, m, d) = crate::core::input::time::civil_from_days(first.div_euclid(DAY));
        let hour = first.rem_euclid(DAY) / 3_600_000_000;
        let shown = if hour == 0 {
            format!("{y:04}-{m:02}-{d:02}")
        } else {
            format!("{y:04}-{m:02}-{d:02} {hour:02}:00:00")
        };
        let msg = e.to_string();
        assert!(
            matches!(&e, KpiError::InvalidValues { column, .. } if column == "time"),
            "{e}"
        );
        assert!(
            msg.contains("calibration_end") && msg.contains(&shown),
            "{msg}"
        );
        return;
    }
    if latest <= cal_end {
        return;
    }
    let out = rfm_split(&customer, &time, Some(&amount), &spec, cal_end, None).unwrap();
    let cal = reference(&text, times, amounts, None, Some(cal_end), None);
    let hold = reference(&text, times, amounts, Some(cal_end), Some(latest), None);
    assert_eq!(out_keys(&out), cal.keys().map(shown).collect::<Vec<_>>());
    let names = [
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ];
    let cols = names.map(|c| col(&out, c));
    for (row, (key, periods)) in cal.iter().enumerate() {
        let e = expected(periods, cal_day, 2.0, include_first);
        let h = hold.get(key);
        let rows = h.map_or(0, |h| h.values().map(|v| v.len()).sum::<usize>());
        let total: f64 = h.map_or(0.0, |h| h.values().flatten().sum());
        let want = [
            e[0],
            e[1],
            e[2],
            e[3],
            h.map_or(0.0, |h| h.len() as f64),
            if rows > 0 { total / rows as f64 } else { 0.0 },
            (latest.div_euclid(DAY) - cal_day) as f64 / 2.0,
        ];
        for k in 0..names.len() {
            assert_eq!(cols[k][row], want[k], "{}, row {row}", names[k]);
        }
    }
}

proptest::proptest! {
    // Unordered logs with same-day repeats, over dense, spread, text and Int32 keys, with
    // 1 to 16,384 rows per partition (many partitions, customers split across them).
    #[test]
    fn partitioned_kernel_matches_a_per_customer_reference(
        rows in proptest::collection::vec((0i64..40, -30i64..24 * 20, -8i64..400), 1..120),
        kind in 0u8..4,
        part in proptest::sample::select(vec![1usize, 2, 5, 16_384]),
        include_first in proptest::bool::ANY,
        end_day in proptest::option::of(-1i64..20),
        cal_day in 0i64..15,
    ) {
        PART_ROWS.with(|c| c.set(part));
        let ks: Vec<i64> = rows.iter().map(|r| r.0).collect();
        // Hours from day 0 (some before 1970), amounts in quarters: sums are exact.
        let times: Vec<i64> = rows.iter().map(|r| r.1 * 3_600_000_000).collect();
        let amounts: Vec<f64> = rows.iter().map(|r| r.2 as f64 / 4.0).collect();
        let end_day = end_day.filter(|&d| {
            times.iter().any(|t| t.div_euclid(DAY) <= d)
        });
        check_log(kind, &ks, &times, &amounts, include_first, end_day, cal_day);
    }
}

#[test]
fn many_ranges_and_partitions_match_the_reference() {
    // 400,000 rows (several row ranges of the parallel split) of 150,000 customers in
    // scrambled order, about 600 partitions: every customer's rows come from several
    // ranges, and same-day repeats merge across them.
    let n = 400_000u64;
    let mix = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    let ks: Vec<i64> = (0..n).map(|i| (mix(i) % 150_000) as i64).collect();
    let times: Vec<i64> = (0..n)
        .map(|i| (mix(i + n) % (60 * 24)) as i64 * 3_600_000_000)
        .collect();
    let amounts: Vec<f64> = (0..n)
        .map(|i| (mix(i + 2 * n) % 1000) as f64 / 4.0)
        .collect();
    PART_ROWS.with(|c| c.set(1_000));
    for kind in [0, 2] {
        check_log(kind, &ks, &times, &amounts, false, Some(40), 30);
    }
}

#[test]
fn skip_leaves_out_invalid_rows_and_counts_them() {
    // Rows: a day 0 (10), a day 3 (NaN amount), missing customer day 1, b day 2 (5),
    // a day 5 (missing time), a day 6 (20). Kept: a {0, 6}, b {2}: a frequency 1, recency 6,
    // T 6, monetary 20; b frequency 0, T 4. Three rows skipped.
    let customer = Column::from_array(
        "customer",
        Arc::new(StringArray::from(vec![
            Some("a"),
            Some("a"),
            None,
            Some("b"),
            Some("a"),
            Some("a"),
        ])),
    );
    let time = Column::from_array(
        "time",
        Arc::new(TimestampMicrosecondArray::from(vec![
            Some(0),
            Some(3 * DAY),
            Some(DAY),
            Some(2 * DAY),
            None,
            Some(6 * DAY),
        ])),
    );
    let amount = Column::from_array(
        "amount",
        Arc::new(Float64Array::from(vec![
            10.0,
            f64::NAN,
            1.0,
            5.0,
            1.0,
            20.0,
        ])),
    );
    let skip = RfmSpec {
        invalid: Invalid::Skip,
        ..spec()
    };
    let out = summary(&customer, &time, Some(&amount), &skip, None).unwrap();
    assert_eq!(col(&out, "frequency"), [1.0, 0.0]);
    assert_eq!(col(&out, "recency"), [6.0, 0.0]);
    assert_eq!(col(&out, "T"), [6.0, 4.0]);
    assert_eq!(col(&out, "monetary_value"), [20.0, 0.0]);
    assert_eq!(out.schema().metadata()[meta::SKIPPED_ROWS], "3");
    let split = rfm_split(
        &customer,
        &time,
        Some(&amount),
        &skip,
        2 * DAY + DAY - 1,
        None,
    )
    .unwrap();
    assert_eq!(col(&split, "frequency_holdout"), [1.0, 0.0]);
    assert_eq!(split.schema().metadata()[meta::SKIPPED_ROWS], "3");
    // The default refuses them, naming the column.
    let err = summary(&customer, &time, Some(&amount), &spec(), None).unwrap_err();
    assert!(err.to_string().contains("customer"), "{err}");
}
