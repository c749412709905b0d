//! Expected against actual repeat transactions over time (lifetimes'
//! `expected_cumulative_transactions`, docs/conventions.md#model-checks), and the per-customer
//! purchase periods it and the P(alive) paths (`alive_path`) read from a transaction log.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};

use super::predict::{expected_purchases, Model};
use super::rfm::Unit;
use crate::core::engine::groups::{group_ids, Groups};
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{local_micros, Zone};
use crate::core::input::{require_no_nulls, Column};

/// Longest tracking horizon, in periods: the expected curve costs periods² / multiplier.
pub const MAX_TRACKING_PERIODS: usize = 20_000;

/// A log's customers and their distinct purchase periods.
pub(super) struct Periods {
    pub groups: Groups,
    /// (customer id, period) pairs, sorted and without repeats: transactions in the same
    /// period are one purchase (docs/conventions.md#rfm-summaries).
    pub pairs: Vec<(u32, i64)>,
    /// The latest period of the log.
    pub last: i64,
}

/// The distinct (customer, period) purchases of a log; customers and times must not be
/// missing, and the log must have a transaction.
pub(super) fn customer_periods(
    customer: &Column,
    time: &Column,
    unit: Unit,
    zone: Zone,
) -> KpiResult<Periods> {
    if time.len() != customer.len() {
        return Err(KpiError::LengthMismatch {
            left: customer.name.clone(),
            left_len: customer.len(),
            right: time.name.clone(),
            right_len: time.len(),
        });
    }
    require_no_nulls(customer)?;
    let groups = group_ids(std::slice::from_ref(customer))?;
    let mut bad = BadRows::default();
    let mut pairs = Vec::with_capacity(customer.len());
    let mut row = 0;
    for chunk in local_micros(time, zone)? {
        for i in 0..chunk.len() {
            if chunk.is_valid(i) {
                pairs.push((groups.ids[row], unit.ordinal(chunk.value(i))));
            } else {
                bad.push(row, || "missing".into());
            }
            row += 1;
        }
    }
    KpiError::check_rows(&time.name, "must not be missing", bad)?;
    let Some(last) = pairs.iter().map(|p| p.1).max() else {
        return Err(KpiError::param(
            "table",
            "the table has no transactions to track",
        ));
    };
    pairs.sort_unstable();
    pairs.dedup();
    Ok(Periods {
        groups,
        pairs,
        last,
    })
}

/// Cumulative actual and expected repeat transactions, lifetimes' way: periods of `unit` are
/// counted from the log's first period (period 0); the first purchase period of each
/// customer is their birth, every later purchase period a repeat transaction. For row k
/// (k = 0 .. ⌊t/m⌋ − 1, m = `multiplier`), with e = (k+1)·m the periods it covers,
///   actual_k    = repeat transactions in periods 0 .. e−1
///   predicted_k = Σ_{p < e} n_p · E[X((e − p)/m)]
/// where n_p is the number of customers born in period p and E[X(t)] the model's expected
/// repeat transactions of a new customer (periods ÷ m are the model's time unit).
/// Transactions from period t on are ignored.
#[allow(clippy::too_many_arguments)]
pub fn cumulative_transactions(
    model: Model,
    params: &[f64],
    customer: &Column,
    time: &Column,
    unit: Unit,
    zone: Zone,
    t: i128,
    multiplier: i128,
) -> KpiResult<RecordBatch> {
    let t: usize = KpiError::int_param("t", t, 1, MAX_TRACKING_PERIODS as i128)?;
    let m: usize = KpiError::int_param("freq_multiplier", multiplier, 1, t as i128)?;
    if model == Model::BetaGeoBetaBinom && m != 1 {
        return Err(KpiError::param(
            "freq_multiplier",
            "must be 1 for BetaGeoBetaBinom: its time unit is one opportunity, a whole period",
        ));
    }
    let periods = customer_periods(customer, time, unit, zone)?;
    let start = periods.pairs.iter().map(|p| p.1).min().unwrap_or(0);
    let mut births = vec![0.0; t];
    let mut repeats = vec![0.0; t];
    let mut previous: Option<u32> = None;
    for &(c, period) in &periods.pairs {
        // A customer's first pair is their first period: sorted by (customer, period).
        let rel = (period - start) as usize;
        let born = previous != Some(c);
        previous = Some(c);
        if rel >= t {
            continue;
        }
        if born {
            births[rel] += 1.0;
        } else {
            repeats[rel] += 1.0;
        }
    }
    // E[X(u/m)] for the ages u = 1..t a cohort can reach, once each.
    let ages: Vec<f64> = (1..=t).map(|u| u as f64 / m as f64).collect();
    let expected = expected_purchases(model, params, &ages)?;
    let rows = t / m;
    let (mut actual, mut predicted) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    let mut so_far = 0.0;
    for k in 0..rows {
        let end = (k + 1) * m;
        so_far += repeats[end - m..end].iter().sum::<f64>();
        actual.push(so_far);
        predicted.push(
            (0..end)
                .map(|p| births[p] * expected[end - p - 1])
                .sum::<f64>(),
        );
    }
    let schema = Schema::new(vec![
        Field::new("period", DataType::Int64, false),
        Field::new("actual", DataType::Float64, false),
        Field::new("predicted", DataType::Float64, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..rows as i64)),
        Arc::new(Float64Array::from(actual)),
        Arc::new(Float64Array::from(predicted)),
    ];
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::input::time::Freq;
    use arrow::array::{AsArray, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::Float64Type;

    const DAY: i64 = 86_400_000_000;

    fn log(rows: &[(&str, i64)]) -> (Column, Column) {
        let c: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let t: Vec<i64> = rows.iter().map(|r| r.1 * DAY).collect();
        (
            Column::from_array("customer", Arc::new(StringArray::from(c))),
            Column::from_array("time", Arc::new(TimestampMicrosecondArray::from(t))),
        )
    }

    #[test]
    fn cumulative_transactions_by_hand() {
        // a born day 0, repeats days 2 (twice: one purchase) and 3; b born day 1, repeat
        // day 4; c born day 3. Over t = 4 days: repeats by day 0, 1, 0, 1, 1 → cumulative
        // 0, 0, 1, 2; births n_0 = n_1 = n_3 = 1.
        let (c, t) = log(&[
            ("a", 0),
            ("b", 1),
            ("a", 2),
            ("a", 2),
            ("a", 3),
            ("c", 3),
            ("b", 4),
        ]);
        let p = [0.243, 4.414, 0.793, 2.426];
        let day = Unit::Calendar(Freq::parse("day", 0).unwrap());
        let out =
            cumulative_transactions(Model::BetaGeo, &p, &c, &t, day, Zone::Utc, 4, 1).unwrap();
        let col = |n: &str| {
            out.column_by_name(n)
                .unwrap()
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        };
        assert_eq!(col("actual"), vec![0.0, 0.0, 1.0, 2.0]);
        let e = expected_purchases(Model::BetaGeo, &p, &[1.0, 2.0, 3.0, 4.0]).unwrap();
        let want = [e[0], e[1] + e[0], e[2] + e[1], e[3] + e[2] + e[0]];
        for (g, w) in col("predicted").iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        // Two days a step: rows cover days 0–1 and 0–3; ages in steps of two days.
        let out =
            cumulative_transactions(Model::BetaGeo, &p, &c, &t, day, Zone::Utc, 4, 2).unwrap();
        let col2 = |n: &str| {
            out.column_by_name(n)
                .unwrap()
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        };
        assert_eq!(col2("actual"), vec![0.0, 2.0]);
        let e = expected_purchases(Model::BetaGeo, &p, &[0.5, 1.0, 1.5, 2.0]).unwrap();
        let want = [e[1] + e[0], e[3] + e[2] + e[0]];
        for (g, w) in col2("predicted").iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        let e = cumulative_transactions(
            Model::BetaGeoBetaBinom,
            &[1.0; 4],
            &c,
            &t,
            day,
            Zone::Utc,
            4,
            2,
        )
        .unwrap_err();
        assert!(e.to_string().contains("freq_multiplier"), "{e}");
    }
}
