//! Calibration against holdout by group (the data of lifetimes'
//! `plot_calibration_purchases_vs_holdout_purchases`, docs/conventions.md#model-checks).

use super::predict::{conditional_expected_purchases, same_len, Customers, Model};
use crate::core::error::{BadRows, KpiError, KpiResult};

/// What customers are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Calibration frequency x.
    Frequency,
    /// Time since the last calibration purchase, T − t_x.
    TimeSinceLastPurchase,
}

impl GroupBy {
    pub fn parse(s: &str) -> KpiResult<GroupBy> {
        match s {
            "frequency" => Ok(GroupBy::Frequency),
            "time_since_last_purchase" => Ok(GroupBy::TimeSinceLastPurchase),
            other => Err(KpiError::param(
                "by",
                format!("{other:?} is not a grouping; use \"frequency\" or \"time_since_last_purchase\""),
            )),
        }
    }
}

/// Per group (ascending): the group's value, its number of customers, the mean actual holdout
/// purchases and the mean of the model's E[Y(duration) | x, t_x, T]. Values of n − 1 and more
/// form one group, keyed n − 1 (as `kpikit.plot.calibration_vs_holdout` pools them; below it
/// the groups are lifetimes' `groupby(kind).mean()`). Returned as (key, customers, actual,
/// predicted) columns.
pub type Grouped = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

pub fn holdout_by_group(
    model: Model,
    params: &[f64],
    customers: &Customers<'_>,
    holdout: &[f64],
    duration: &[f64],
    by: GroupBy,
    n: i128,
) -> KpiResult<Grouped> {
    let n: usize = KpiError::int_param("n", n, 1, u32::MAX as i128)?;
    same_len(&[
        ("frequency", customers.frequency),
        ("frequency_holdout", holdout),
        ("duration_holdout", duration),
    ])?;
    let mut bad = BadRows::default();
    for (i, &v) in holdout.iter().enumerate() {
        if !(v.is_finite() && v >= 0.0) {
            bad.push(i, || format!("{v}"));
        }
    }
    KpiError::check_rows("frequency_holdout", "must be a finite number >= 0", bad)?;
    // Durations and customers are checked by the prediction, naming their columns.
    let predicted = conditional_expected_purchases(model, params, duration, customers)?;
    let cap = (n - 1) as f64;
    let key = |i: usize| {
        let v = match by {
            GroupBy::Frequency => customers.frequency[i],
            GroupBy::TimeSinceLastPurchase => customers.t[i] - customers.recency[i],
        };
        v.min(cap)
    };
    let mut order: Vec<usize> = (0..holdout.len()).collect();
    order.sort_by(|&a, &b| key(a).total_cmp(&key(b)));
    let mut out: Grouped = Default::default();
    let mut at = 0;
    while at < order.len() {
        let k = key(order[at]);
        let (mut count, mut actual, mut expected) = (0.0, 0.0, 0.0);
        while at < order.len() && key(order[at]) == k {
            count += 1.0;
            actual += holdout[order[at]];
            expected += predicted[order[at]];
            at += 1;
        }
        out.0.push(k);
        out.1.push(count);
        out.2.push(actual / count);
        out.3.push(expected / count);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_hand() {
        // Frequencies 1, 0, 1, 2: groups 0 (one customer), 1 (two), 2 (one); n = 2 pools
        // frequencies 1 and more.
        let (x, tx, t) = (
            [1.0, 0.0, 1.0, 2.0],
            [5.0, 0.0, 3.0, 8.0],
            [10.0, 9.0, 10.0, 10.0],
        );
        let c = Customers {
            frequency: &x,
            recency: &tx,
            t: &t,
        };
        let p = [0.243, 4.414, 0.793, 2.426];
        let d = [4.0; 4];
        let (k, count, actual, predicted) = holdout_by_group(
            Model::BetaGeo,
            &p,
            &c,
            &[1.0, 0.0, 2.0, 5.0],
            &d,
            GroupBy::Frequency,
            2,
        )
        .unwrap();
        assert_eq!((k, count), (vec![0.0, 1.0], vec![1.0, 3.0]));
        assert_eq!(actual, vec![0.0, 8.0 / 3.0]);
        let e = conditional_expected_purchases(Model::BetaGeo, &p, &d, &c).unwrap();
        assert_eq!(predicted[0], e[1]);
        assert!((predicted[1] - (e[0] + e[2] + e[3]) / 3.0).abs() < 1e-15);
        // By time since the last purchase: 5, 9, 7, 2.
        let (k, ..) = holdout_by_group(
            Model::BetaGeo,
            &p,
            &c,
            &[1.0, 0.0, 2.0, 5.0],
            &d,
            GroupBy::TimeSinceLastPurchase,
            10,
        )
        .unwrap();
        assert_eq!(k, vec![2.0, 5.0, 7.0, 9.0]);
        let e = holdout_by_group(
            Model::BetaGeo,
            &p,
            &c,
            &[1.0, -1.0, 2.0, 5.0],
            &d,
            GroupBy::Frequency,
            2,
        )
        .unwrap_err();
        assert!(e.to_string().contains("frequency_holdout"), "{e}");
    }
}
