//! P(alive) of each customer period by period (lifetimes' `calculate_alive_path`,
//! docs/conventions.md#model-checks): the probability alive at each period since the
//! customer's first purchase, given the purchases up to then.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, RecordBatch};
use arrow::compute::sort_to_indices;
use arrow::datatypes::{DataType, Field, Schema};

use super::models::{beta_geo_p_alive, bgbb_p_alive, par_map, pareto_p_alive};
use super::predict::{Model, Params};
use super::rfm::Unit;
use super::tracking::customer_periods;
use crate::core::engine::groups::take_rows;
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::time::Zone;
use crate::core::input::Column;

/// Longest path of one customer, in periods.
pub const MAX_PATH_PERIODS: usize = 100_000;

/// One row per customer and period T = 0, 1, … since their first purchase period, with
///   frequency = purchase periods in 0..=T − 1,  recency = last purchase period <= T,
///   p_alive = P(alive | frequency, recency/m, T/m)
/// (m = `multiplier`; for BetaGeoBetaBinom, m = 1 and P(alive at opportunity T)). A path runs
/// to period `t` (lifetimes' t), further when the customer's purchases do (as lifetimes),
/// or without `t` to the log's last period (where it equals the RFM summary's P(alive)).
/// Customers in key order.
#[allow(clippy::too_many_arguments)]
pub fn alive_path(
    model: Model,
    params: &[f64],
    customer: &Column,
    time: &Column,
    unit: Unit,
    zone: Zone,
    t: Option<i128>,
    multiplier: f64,
) -> KpiResult<RecordBatch> {
    let model = match model {
        Model::BetaGeo | Model::ParetoNbd | Model::BetaGeoBetaBinom => model,
        other => {
            return Err(KpiError::param(
                "model",
                format!(
                    "{} has no P(alive); use BetaGeo, ParetoNBD or BetaGeoBetaBinom",
                    other.name()
                ),
            ))
        }
    };
    let Params(p) = model.params(params)?;
    let t: Option<usize> = t
        .map(|t| KpiError::int_param("t", t, 0, MAX_PATH_PERIODS as i128))
        .transpose()?;
    if !(multiplier.is_finite() && multiplier > 0.0) {
        return Err(KpiError::param(
            "freq_multiplier",
            format!("must be a positive number, got {multiplier}"),
        ));
    }
    if model == Model::BetaGeoBetaBinom && multiplier != 1.0 {
        return Err(KpiError::param(
            "freq_multiplier",
            "must be 1 for BetaGeoBetaBinom: its time unit is one opportunity, a whole period",
        ));
    }
    let periods = customer_periods(customer, time, unit, zone)?;
    // Each customer's purchase periods relative to the first: a slice of `pairs`.
    let pairs = &periods.pairs;
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(periods.groups.len());
    let mut at = 0;
    while at < pairs.len() {
        let c = pairs[at].0;
        let end = at + pairs[at..].partition_point(|q| q.0 == c);
        spans.push((at, end));
        at = end;
    }
    // Customers in key order.
    let firsts: Vec<usize> = spans
        .iter()
        .map(|&(s, _)| periods.groups.first_row[pairs[s].0 as usize])
        .collect();
    let keys = take_rows(customer, &firsts)?;
    let order = sort_to_indices(&keys, None, None)?;
    let (mut who, mut big_t, mut x, mut tx) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &o in order.values() {
        let (s, e) = spans[o as usize];
        let first = pairs[s].1;
        let last_purchase = (pairs[e - 1].1 - first) as usize;
        let length = match t {
            Some(t) => t.max(last_purchase),
            None => (periods.last - first) as usize,
        };
        if length > MAX_PATH_PERIODS {
            return Err(KpiError::param(
                "t",
                format!("a path of {length} periods is longer than {MAX_PATH_PERIODS}; use a longer freq"),
            ));
        }
        let (mut seen, mut recent, mut next) = (0.0, 0.0, s);
        for step in 0..=length {
            while next < e && (pairs[next].1 - first) as usize <= step {
                seen += 1.0;
                recent = step as f64;
                next += 1;
            }
            who.push(firsts[o as usize]);
            big_t.push(step as f64);
            x.push(seen - 1.0);
            tx.push(recent);
        }
    }
    let m = multiplier;
    let alive = par_map(x.len(), |i| match model {
        Model::BetaGeo => Ok(beta_geo_p_alive(p, x[i], tx[i] / m, big_t[i] / m)),
        Model::ParetoNbd => pareto_p_alive(p, x[i], tx[i] / m, big_t[i] / m),
        _ => Ok(bgbb_p_alive(p, x[i], tx[i], big_t[i], 0.0)),
    })?;
    let key = take_rows(customer, &who)?;
    let schema = Schema::new(vec![
        Field::new(&customer.name, key.data_type().clone(), false),
        Field::new("T", DataType::Float64, false),
        Field::new("frequency", DataType::Float64, false),
        Field::new("recency", DataType::Float64, false),
        Field::new("p_alive", DataType::Float64, false),
    ]);
    let scaled = |v: Vec<f64>| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(v.into_iter().map(|v| v / m)))
    };
    let columns: Vec<ArrayRef> = vec![
        key,
        scaled(big_t),
        Arc::new(Float64Array::from(x)),
        scaled(tx),
        Arc::new(Float64Array::from(alive)),
    ];
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::input::time::Freq;
    use arrow::array::{AsArray, Int64Array, TimestampMicrosecondArray};
    use arrow::datatypes::Float64Type;

    const DAY: i64 = 86_400_000_000;

    #[test]
    fn path_by_hand() {
        // Customer 7 buys on days 10, 12 (twice) and 14; customer 3 on day 11 only; the log
        // ends on day 14. Customer 7's path: T 0..4, frequency 0,0,1,1,2, recency 0,0,2,2,4;
        // customer 3's T 0..3 without repeats.
        let c = Column::from_array("id", Arc::new(Int64Array::from(vec![7, 7, 3, 7, 7])));
        let t = Column::from_array(
            "time",
            Arc::new(TimestampMicrosecondArray::from(vec![
                10 * DAY,
                12 * DAY,
                11 * DAY,
                12 * DAY + 5,
                14 * DAY,
            ])),
        );
        let p = [0.243, 4.414, 0.793, 2.426];
        let day = Unit::Calendar(Freq::parse("day", 0).unwrap());
        let out = alive_path(Model::BetaGeo, &p, &c, &t, day, Zone::Utc, None, 1.0).unwrap();
        let col = |n: &str| {
            out.column_by_name(n)
                .unwrap()
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        };
        let ids: Vec<i64> = out
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .values()
            .to_vec();
        assert_eq!(ids, vec![3, 3, 3, 3, 7, 7, 7, 7, 7]);
        assert_eq!(col("T"), vec![0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            col("frequency"),
            vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 2.0]
        );
        assert_eq!(
            col("recency"),
            vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 4.0]
        );
        let (x, tx, big_t) = (col("frequency"), col("recency"), col("T"));
        for (i, alive) in col("p_alive").into_iter().enumerate() {
            assert_eq!(alive, beta_geo_p_alive(&p, x[i], tx[i], big_t[i]));
        }
        // With t = 2, customer 7's path still runs to its last purchase (day 14 = T 4).
        let out = alive_path(Model::BetaGeo, &p, &c, &t, day, Zone::Utc, Some(2), 1.0).unwrap();
        assert_eq!(out.num_rows(), 3 + 5);
    }
}
