//! Elementwise business formulas over columns and scalars (ratios, margins, SaaS unit economics…).
//!
//! Every formula is one closure over plain `f64`s; the machinery around it is written once:
//! scalars broadcast against columns, columns must have equal lengths, chunks are read in place
//! (zero-copy when they are float64 already) and a result that is missing, NaN or infinite —
//! a missing input or a zero denominator — comes out as null. Nothing here ever panics on data.

use arrow::array::BooleanBufferBuilder;
use arrow::array::{Array, Float64Array};
use arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};

use crate::core::error::{KpiError, KpiResult};
use crate::core::input::{f64_chunks, Column};

/// One argument of a formula: a named column or a scalar broadcast to every row.
#[derive(Debug, Clone)]
pub enum Operand {
    Column(Column),
    /// `None` is a missing scalar: every result row is missing.
    Scalar {
        name: String,
        value: Option<f64>,
    },
}

impl Operand {
    pub fn scalar(name: impl Into<String>, value: Option<f64>) -> Self {
        Operand::Scalar {
            name: name.into(),
            value,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Operand::Column(c) => &c.name,
            Operand::Scalar { name, .. } => name,
        }
    }
}

/// A formula's result: a column when any argument was a column, otherwise one number.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Column(Float64Array),
    Scalar(Option<f64>),
}

/// A missing input (null or NaN) or a non-finite result (zero denominator, overflow) is missing.
#[inline]
fn finite(y: f64) -> Option<f64> {
    y.is_finite().then_some(y)
}

/// An operand ready for the row loop: float64 chunks with their global start rows, or a scalar.
enum Src {
    Chunks {
        starts: Vec<usize>,
        chunks: Vec<Float64Array>,
    },
    Scalar(Option<f64>),
}

/// Read operands as float64 and check that all columns have the same length (`None` when
/// every operand is a scalar).
fn prepare(ops: &[&Operand]) -> KpiResult<(Vec<Src>, Option<usize>)> {
    let mut len: Option<(&str, usize)> = None;
    let mut srcs = Vec::with_capacity(ops.len());
    for op in ops {
        match op {
            Operand::Scalar { value, .. } => srcs.push(Src::Scalar(value.filter(|v| !v.is_nan()))),
            Operand::Column(col) => {
                let chunks = f64_chunks(col)?;
                let n = col.len();
                match len {
                    Some((first, first_len)) if first_len != n => {
                        return Err(KpiError::LengthMismatch {
                            left: first.to_string(),
                            left_len: first_len,
                            right: col.name.clone(),
                            right_len: n,
                        })
                    }
                    Some(_) => {}
                    None => len = Some((&col.name, n)),
                }
                srcs.push(Src::Chunks {
                    starts: col.offsets(),
                    chunks,
                });
            }
        }
    }
    Ok((srcs, len.map(|(_, n)| n)))
}

/// Row boundaries where any column starts a new chunk, so every segment between two of them
/// lies inside one chunk of every column.
fn segments(srcs: &[Src], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = srcs
        .iter()
        .flat_map(|s| match s {
            Src::Chunks { starts, .. } => starts.clone(),
            Src::Scalar(_) => Vec::new(),
        })
        .filter(|&s| s < len)
        .chain([0, len])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// One operand restricted to a segment: its values slice, or a constant.
#[derive(Clone, Copy)]
enum View<'a> {
    Slice(&'a [f64]),
    Const(f64),
}

impl View<'_> {
    /// Row `i` of the segment; validity is applied afterwards, in bulk.
    #[inline(always)]
    fn at(&self, i: usize) -> f64 {
        match *self {
            View::Const(v) => v,
            View::Slice(values) => values[i],
        }
    }
}

/// Validity of one column as one bitmap over all rows (`None` when it has no nulls).
fn validity(chunks: &[Float64Array], len: usize) -> Option<BooleanBuffer> {
    if chunks.iter().all(|c| c.null_count() == 0) {
        return None;
    }
    let mut bits = BooleanBufferBuilder::new(len);
    for c in chunks {
        match c.nulls() {
            Some(n) => bits.append_buffer(n.inner()),
            None => bits.append_n(c.len(), true),
        }
    }
    Some(bits.finish())
}

/// Evaluate `f` row by row over `N` operands with broadcasting. Written once; every formula
/// below is a closure handed to it. Values are computed in a tight loop without branching on
/// nulls; the result's validity is then built in bulk from finiteness and the inputs' bitmaps.
pub fn map_n<const N: usize>(ops: [&Operand; N], f: impl Fn([f64; N]) -> f64) -> KpiResult<Value> {
    let (srcs, len) = prepare(&ops)?;
    let Some(len) = len else {
        // All scalars: one evaluation.
        let mut xs = [0.0; N];
        for (x, s) in xs.iter_mut().zip(&srcs) {
            match s {
                Src::Scalar(Some(v)) => *x = *v,
                _ => return Ok(Value::Scalar(None)),
            }
        }
        return Ok(Value::Scalar(finite(f(xs))));
    };
    if srcs.iter().any(|s| matches!(s, Src::Scalar(None))) {
        return Ok(Value::Column(Float64Array::new_null(len)));
    }
    let mut values: Vec<f64> = Vec::with_capacity(len);
    let cuts = segments(&srcs, len);
    for w in cuts.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        let mut views = [View::Const(0.0); N];
        for (view, src) in views.iter_mut().zip(&srcs) {
            *view = match src {
                Src::Scalar(v) => View::Const(v.unwrap_or(f64::NAN)),
                Src::Chunks { starts, chunks } => {
                    // The chunk holding row `lo`: the last one starting at or before it.
                    let k = starts.partition_point(|&s| s <= lo).saturating_sub(1);
                    let at = lo - starts[k];
                    View::Slice(&chunks[k].values()[at..at + (hi - lo)])
                }
            };
        }
        values.extend((0..hi - lo).map(|i| {
            let xs: [f64; N] = std::array::from_fn(|k| views[k].at(i));
            // A NaN input is missing even where `f` would hide it (1 ** NaN is 1).
            if xs.iter().any(|x| x.is_nan()) {
                f64::NAN
            } else {
                f(xs)
            }
        }));
    }
    let mut valid = BooleanBuffer::collect_bool(len, |i| values[i].is_finite());
    for src in &srcs {
        if let Src::Chunks { chunks, .. } = src {
            if let Some(bits) = validity(chunks, len) {
                valid = &valid & &bits;
            }
        }
    }
    let nulls = NullBuffer::new(valid);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    Ok(Value::Column(Float64Array::new(
        ScalarBuffer::from(values),
        nulls,
    )))
}

/// Address of the values buffer of every chunk as the formulas read it: equal to the caller's
/// buffer addresses when the input was float64 (the proof that nothing was copied).
pub fn buffer_addresses(col: &Column) -> KpiResult<Vec<usize>> {
    Ok(f64_chunks(col)?
        .iter()
        .map(|c| c.values().inner().as_ptr() as usize)
        .collect())
}

/// Period-over-period growth of one series: `(x[t] − x[t−periods]) / |x[t−periods]|`.
/// The first `periods` rows, and rows whose earlier value is missing or zero, are missing.
/// `periods` must be a whole number ≥ 1 (given as a scalar operand so the registry stays uniform).
pub fn growth_rate(values: &Operand, periods: &Operand) -> KpiResult<Value> {
    let lag = match periods {
        Operand::Scalar { value: Some(p), .. }
            if *p >= 1.0 && p.fract() == 0.0 && *p < usize::MAX as f64 =>
        {
            *p as usize
        }
        other => {
            return Err(KpiError::param(
                other.name(),
                "must be a whole number of periods, at least 1",
            ))
        }
    };
    let col = match values {
        // A single number has no earlier period to compare with.
        Operand::Scalar { .. } => return Ok(Value::Scalar(None)),
        Operand::Column(c) => c,
    };
    let chunks = f64_chunks(col)?;
    // The lag crosses chunk borders, so read through one contiguous array (a copy only when
    // the caller's column has several chunks).
    let flat = match chunks.as_slice() {
        [one] => one.clone(),
        _ => {
            let refs: Vec<&dyn Array> = chunks.iter().map(|c| c as &dyn Array).collect();
            let joined = arrow::compute::concat(&refs)?;
            arrow::array::AsArray::as_primitive::<arrow::datatypes::Float64Type>(&joined).clone()
        }
    };
    let get = |i: usize| crate::core::input::value_f64(&flat, i);
    let out: Float64Array = (0..flat.len())
        .map(|t| {
            let prev = t.checked_sub(lag).and_then(get)?;
            finite((get(t)? - prev) / prev.abs())
        })
        .collect();
    Ok(Value::Column(out))
}

/// Defines each formula as a public function over operands and lists it in [`REGISTRY`].
macro_rules! formulas {
    ($( $(#[$doc:meta])* $name:ident ( $($arg:ident),+ ) = |$($x:ident),+| $body:expr; )*) => {
        $(
            $(#[$doc])*
            pub fn $name($($arg: &Operand),+) -> KpiResult<Value> {
                map_n([$($arg),+], |[$($x),+]| $body)
            }
        )*

        /// Every formula by its Python name: parameter names and the function over operands.
        pub const REGISTRY: &[Formula] = &[
            $(Formula {
                name: stringify!($name),
                params: &[$(stringify!($arg)),+],
                eval: |a| match a {
                    [$($arg),+] => $name($($arg),+),
                    _ => Err(arity(stringify!($name), a.len())),
                },
            },)*
            Formula {
                name: "growth_rate",
                params: &["values", "periods"],
                eval: |a| match a {
                    [values, periods] => growth_rate(values, periods),
                    _ => Err(arity("growth_rate", a.len())),
                },
            },
        ];
    };
}

/// A registered formula.
pub struct Formula {
    pub name: &'static str,
    pub params: &'static [&'static str],
    pub eval: fn(&[Operand]) -> KpiResult<Value>,
}

fn arity(name: &str, got: usize) -> KpiError {
    let want = lookup(name).map_or(0, |f| f.params.len());
    KpiError::param(name, format!("takes {want} arguments, got {got}"))
}

/// The formula called `name`, or an `InvalidParameter` error listing the known names.
pub fn lookup(name: &str) -> KpiResult<&'static Formula> {
    REGISTRY.iter().find(|f| f.name == name).ok_or_else(|| {
        let known: Vec<&str> = REGISTRY.iter().map(|f| f.name).collect();
        KpiError::param(
            "name",
            format!("unknown formula {name:?}; known: {}", known.join(", ")),
        )
    })
}

/// Evaluate the formula `name` on operands given in its parameter order.
pub fn evaluate(name: &str, args: &[Operand]) -> KpiResult<Value> {
    (lookup(name)?.eval)(args)
}

formulas! {
    /// numerator / denominator.
    ratio(numerator, denominator) = |n, d| n / d;
    /// conversions / total.
    conversion_rate(conversions, total) = |c, t| c / t;
    /// (end_value / start_value)^(1 / years) − 1; missing when start_value ≤ 0, end_value < 0 or years ≤ 0.
    cagr(start_value, end_value, years) = |b, e, y| if b > 0.0 && e >= 0.0 && y > 0.0 {
        (e / b).powf(1.0 / y) - 1.0
    } else {
        f64::NAN
    };
    /// (gain − cost) / cost, gain being the total return from the investment.
    roi(gain, cost) = |g, c| (g - c) / c;
    /// net_profit / revenue.
    net_profit_margin(net_profit, revenue) = |p, r| p / r;
    /// (revenue − cogs) / revenue.
    gross_margin(revenue, cogs) = |r, c| (r - c) / r;
    /// operating_income / revenue.
    operating_margin(operating_income, revenue) = |o, r| o / r;
    /// revenue − cogs − operating_expenses (currency).
    ebit(revenue, cogs, operating_expenses) = |r, c, o| r - c - o;
    /// ebit / (total_assets − current_liabilities).
    roce(ebit, total_assets, current_liabilities) = |e, a, l| e / (a - l);
    /// cogs / average_inventory.
    inventory_turnover(cogs, average_inventory) = |c, i| c / i;
    /// sales / square_feet.
    sales_per_square_foot(sales, square_feet) = |s, f| s / f;
    /// billable_hours / available_hours.
    utilization(billable_hours, available_hours) = |b, a| b / a;
    /// revenue / hours_worked.
    effective_billable_rate(revenue, hours_worked) = |r, h| r / h;
    /// clicks / impressions.
    click_through_rate(clicks, impressions) = |c, i| c / i;
    /// opens / delivered.
    open_rate(opens, delivered) = |o, d| o / d;
    /// 1 − purchases / carts.
    cart_abandonment_rate(carts, purchases) = |c, p| 1.0 - p / c;
    /// total / count.
    average(total, count) = |t, c| t / c;
    /// Average revenue per account: mrr / accounts.
    arpa(mrr, accounts) = |m, a| m / a;
    /// Average revenue per user: revenue / users.
    arpu(revenue, users) = |r, u| r / u;
    /// Customer acquisition cost: sales and marketing spend / new customers.
    cac(spend, new_customers) = |s, n| s / n;
    /// Customer lifetime value: arpa × gross_margin / churn_rate.
    ltv(arpa, churn_rate, gross_margin) = |a, c, g| a * g / c;
    /// ltv / cac.
    ltv_cac_ratio(ltv, cac) = |l, c| l / c;
    /// Months to earn back the acquisition cost: cac / (arpa × gross_margin).
    cac_payback_months(cac, arpa, gross_margin) = |c, a, g| c / (a * g);
    /// Burn multiple: net_burn / net_new_arr; missing unless ARR grew (docs/conventions.md#sales-and-capital-efficiency).
    burn_multiple(net_burn, net_new_arr) = |b, a| if a > 0.0 { b / a } else { f64::NAN };
    /// Capital efficiency: net_new_arr / net_burn; missing unless cash was burned.
    capital_efficiency(net_new_arr, net_burn) = |a, b| if b > 0.0 { a / b } else { f64::NAN };
    /// revenue / leads.
    revenue_per_lead(revenue, leads) = |r, l| r / l;
    /// opportunities × average_deal_size × win_rate / sales_cycle_days (currency per day).
    pipeline_velocity(opportunities, average_deal_size, win_rate, sales_cycle_days) =
        |o, s, w, d| o * s * w / d;
    /// actual / quota.
    quota_attainment(actual, quota) = |a, q| a / q;
    /// Stickiness: dau / mau.
    dau_mau(dau, mau) = |d, m| d / m;
    /// part / total.
    share(part, total) = |p, t| p / t;
    /// lost / starting.
    churn_rate(lost, starting) = |l, s| l / s;
    /// (ending − new) / starting.
    retention_rate(starting, ending, new) = |s, e, n| (e - n) / s;
    /// Social media engagement rate: engagements / audience.
    engagement_rate(engagements, audience) = |e, a| e / a;
    /// Content shares per view: shares / views.
    share_ratio(shares, views) = |s, v| s / v;
    /// Average time on site per session: session_seconds / sessions (seconds).
    time_on_site(session_seconds, sessions) = |t, s| t / s;
    /// customers / market_size.
    market_penetration_rate(customers, market_size) = |c, m| c / m;
    /// separations / average_headcount.
    employee_turnover_rate(separations, average_headcount) = |s, h| s / h;
    /// Share of favourable answers in an engagement survey: favourable / answers.
    employee_engagement_score(favourable, answers) = |f, a| f / a;
    /// completed / projects.
    project_completion_rate(completed, projects) = |c, p| c / p;
    /// Availability: 1 − downtime / total_time.
    uptime(downtime, total_time) = |d, t| 1.0 - d / t;
    /// defects / units.
    defect_rate(defects, units) = |d, u| d / u;
    /// Units produced per hour: units / hours.
    production_rate(units, hours) = |u, h| u / h;
    /// new_arr / sales_marketing_spend.
    sales_efficiency(new_arr, sales_marketing_spend) = |n, s| n / s;
    /// ppe_end − ppe_start + depreciation (currency).
    capital_expenditure(ppe_end, ppe_start, depreciation) = |e, s, d| e - s + d;
    /// A stock rolled forward: starting + added − removed.
    roll_forward(starting, added, removed) = |s, a, r| s + a - r;
    /// revenue / reps.
    revenue_per_rep(revenue, reps) = |r, n| r / n;
    /// revenue − expenses (currency).
    net_profit(revenue, expenses) = |r, e| r - e;
    /// units_sold × average_price (currency).
    revenue(units_sold, average_price) = |u, p| u * p;
    /// upsold_customers / customers.
    upsell_rate(upsold_customers, customers) = |u, c| u / c;
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, StringArray};
    use proptest::prelude::*;
    use std::sync::Arc;

    use crate::core::input::f64_column;

    fn col(name: &str, v: &[Option<f64>]) -> Operand {
        Operand::Column(f64_column(name, v.to_vec()))
    }

    fn s(name: &str, v: f64) -> Operand {
        Operand::scalar(name, Some(v))
    }

    fn values(v: Value) -> Vec<Option<f64>> {
        match v {
            Value::Column(a) => a.iter().collect(),
            Value::Scalar(x) => vec![x],
        }
    }

    fn close(got: Vec<Option<f64>>, want: &[Option<f64>]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            match (g, w) {
                (Some(g), Some(w)) => assert!(
                    (g - w).abs() < 1e-9 * w.abs().max(1.0),
                    "{got:?} vs {want:?}"
                ),
                _ => assert_eq!(g, w, "{got:?} vs {want:?}"),
            }
        }
    }

    /// Evaluate `name` on scalars only.
    fn one(name: &str, args: &[f64]) -> Option<f64> {
        let ops: Vec<Operand> = args.iter().map(|&v| s("x", v)).collect();
        match evaluate(name, &ops).unwrap() {
            Value::Scalar(x) => x,
            Value::Column(_) => panic!("scalars gave a column"),
        }
    }

    #[test]
    fn every_formula_by_hand() {
        let cases: &[(&str, &[f64], f64)] = &[
            ("ratio", &[3.0, 4.0], 0.75),
            ("conversion_rate", &[25.0, 1000.0], 0.025),
            // (121 / 100)^(1/2) − 1 = 1.1 − 1
            ("cagr", &[100.0, 121.0, 2.0], 0.1),
            // (150 − 100) / 100
            ("roi", &[150.0, 100.0], 0.5),
            ("net_profit_margin", &[20.0, 200.0], 0.1),
            // (200 − 150) / 200
            ("gross_margin", &[200.0, 150.0], 0.25),
            ("operating_margin", &[30.0, 200.0], 0.15),
            // 1000 − 600 − 250
            ("ebit", &[1000.0, 600.0, 250.0], 150.0),
            // 150 / (1000 − 250)
            ("roce", &[150.0, 1000.0, 250.0], 0.2),
            ("inventory_turnover", &[600.0, 150.0], 4.0),
            ("sales_per_square_foot", &[50_000.0, 2_000.0], 25.0),
            ("utilization", &[30.0, 40.0], 0.75),
            ("effective_billable_rate", &[9_000.0, 60.0], 150.0),
            ("click_through_rate", &[50.0, 2_000.0], 0.025),
            ("open_rate", &[180.0, 900.0], 0.2),
            // 1 − 30 / 120
            ("cart_abandonment_rate", &[120.0, 30.0], 0.75),
            ("average", &[90.0, 4.0], 22.5),
            ("arpa", &[50_000.0, 250.0], 200.0),
            ("arpu", &[12_000.0, 400.0], 30.0),
            ("cac", &[30_000.0, 60.0], 500.0),
            // 200 × 0.8 / 0.02
            ("ltv", &[200.0, 0.02, 0.8], 8_000.0),
            ("ltv_cac_ratio", &[8_000.0, 2_000.0], 4.0),
            // 2000 / (200 × 0.8)
            ("cac_payback_months", &[2_000.0, 200.0, 0.8], 12.5),
            // 1.5M burned for 1M of net new ARR; its inverse.
            ("burn_multiple", &[1_500_000.0, 1_000_000.0], 1.5),
            ("capital_efficiency", &[1_000_000.0, 1_600_000.0], 0.625),
            ("revenue_per_lead", &[10_000.0, 400.0], 25.0),
            // 40 × 25000 × 0.25 / 90
            (
                "pipeline_velocity",
                &[40.0, 25_000.0, 0.25, 90.0],
                250_000.0 / 90.0,
            ),
            ("quota_attainment", &[90_000.0, 120_000.0], 0.75),
            ("dau_mau", &[1_500.0, 5_000.0], 0.3),
            ("share", &[30.0, 120.0], 0.25),
            ("churn_rate", &[5.0, 200.0], 0.025),
            // (190 − 20) / 200
            ("retention_rate", &[200.0, 190.0, 20.0], 0.85),
            // 450 / 15,000
            ("engagement_rate", &[450.0, 15_000.0], 0.03),
            ("share_ratio", &[120.0, 4_800.0], 0.025),
            // 9,000 seconds over 60 sessions
            ("time_on_site", &[9_000.0, 60.0], 150.0),
            ("market_penetration_rate", &[2_500.0, 50_000.0], 0.05),
            // 6 leavers / 80 employees on average
            ("employee_turnover_rate", &[6.0, 80.0], 0.075),
            ("employee_engagement_score", &[156.0, 240.0], 0.65),
            ("project_completion_rate", &[18.0, 24.0], 0.75),
            // 1 − 43.2 minutes down / 43,200 minutes in 30 days
            ("uptime", &[43.2, 43_200.0], 0.999),
            ("defect_rate", &[12.0, 4_800.0], 0.0025),
            ("production_rate", &[1_440.0, 8.0], 180.0),
            ("sales_efficiency", &[600_000.0, 800_000.0], 0.75),
            // 1,300 − 1,000 + 80
            ("capital_expenditure", &[1_300.0, 1_000.0, 80.0], 380.0),
            // 5,000 + 400 − 150
            ("roll_forward", &[5_000.0, 400.0, 150.0], 5_250.0),
            ("revenue_per_rep", &[1_200_000.0, 8.0], 150_000.0),
            ("net_profit", &[500_000.0, 420_000.0], 80_000.0),
            ("revenue", &[320.0, 49.5], 15_840.0),
            ("upsell_rate", &[9.0, 150.0], 0.06),
        ];
        assert_eq!(
            cases.len() + 1,
            REGISTRY.len(),
            "every formula but growth_rate has a case"
        );
        for (name, args, want) in cases {
            close(vec![one(name, args)], &[Some(*want)]);
        }
        assert!(
            (one("pipeline_velocity", &[40.0, 25_000.0, 0.25, 90.0]).unwrap() - 2_777.78).abs()
                < 0.01
        );
    }

    #[test]
    fn zero_denominators_and_cagr_domain_are_missing() {
        assert_eq!(one("ratio", &[1.0, 0.0]), None);
        assert_eq!(one("ratio", &[0.0, 0.0]), None);
        assert_eq!(one("roce", &[1.0, 5.0, 5.0]), None);
        assert_eq!(one("cart_abandonment_rate", &[0.0, 0.0]), None);
        assert_eq!(one("cagr", &[0.0, 10.0, 2.0]), None);
        assert_eq!(one("cagr", &[-1.0, 10.0, 2.0]), None);
        assert_eq!(one("cagr", &[1.0, -1.0, 2.0]), None);
        assert_eq!(one("cagr", &[1.0, 10.0, 0.0]), None);
        // A drop to zero is a legitimate −100 %.
        assert_eq!(one("cagr", &[10.0, 0.0, 1.0]), Some(-1.0));
    }

    #[test]
    fn columns_broadcast_scalars_and_propagate_missing() {
        let n = col(
            "n",
            &[Some(1.0), None, Some(f64::NAN), Some(3.0), Some(4.0)],
        );
        let d = s("d", 2.0);
        close(
            values(ratio(&n, &d).unwrap()),
            &[Some(0.5), None, None, Some(1.5), Some(2.0)],
        );
        let z = col(
            "z",
            &[Some(2.0), Some(2.0), Some(2.0), Some(0.0), Some(4.0)],
        );
        close(
            values(ratio(&n, &z).unwrap()),
            &[Some(0.5), None, None, None, Some(1.0)],
        );
        let missing = Operand::scalar("d", None);
        close(values(ratio(&n, &missing).unwrap()), &[None; 5]);
        assert_eq!(ratio(&s("a", 1.0), &missing).unwrap(), Value::Scalar(None));
        // NaN in a power would otherwise come back as 1.
        assert_eq!(one("cagr", &[5.0, 5.0, f64::NAN]), None);
    }

    #[test]
    fn columns_with_different_chunks_align_by_row() {
        let a = Operand::Column(Column::new(
            "a",
            vec![
                Arc::new(Float64Array::from(vec![1.0, 2.0])),
                Arc::new(Float64Array::from(Vec::<f64>::new())),
                Arc::new(Float64Array::from(vec![3.0, 4.0, 5.0])),
            ],
        ));
        let b = Operand::Column(Column::new(
            "b",
            vec![
                Arc::new(Int32Array::from(vec![1])),
                Arc::new(Int32Array::from(vec![2, 3, 4, 5])),
            ],
        ));
        close(
            values(ebit(&a, &b, &s("o", 1.0)).unwrap()),
            &[Some(-1.0); 5],
        );
    }

    #[test]
    fn growth_rate_lags_and_checks_periods() {
        let v = Operand::Column(Column::new(
            "values",
            vec![
                Arc::new(Float64Array::from(vec![100.0, 110.0])),
                Arc::new(Float64Array::from(vec![
                    Some(99.0),
                    None,
                    Some(-50.0),
                    Some(0.0),
                ])),
            ],
        ));
        // 110/100 − 1; (99 − 110)/110; after a null, missing; (−50 − ·) missing; (0 − (−50)) / 50
        close(
            values(growth_rate(&v, &s("periods", 1.0)).unwrap()),
            &[None, Some(0.1), Some(-0.1), None, None, Some(1.0)],
        );
        // (99 − 100)/100; then missing; (−50 − 99)/99; 0 − missing
        close(
            values(growth_rate(&v, &s("periods", 2.0)).unwrap()),
            &[None, None, Some(-0.01), None, Some(-149.0 / 99.0), None],
        );
        for bad in [0.0, -1.0, 1.5, f64::NAN] {
            let err = growth_rate(&v, &s("periods", bad)).unwrap_err();
            assert!(
                matches!(err, KpiError::InvalidParameter { ref name, .. } if name == "periods")
            );
        }
        assert_eq!(
            growth_rate(&s("values", 3.0), &s("periods", 1.0)).unwrap(),
            Value::Scalar(None)
        );
    }

    #[test]
    fn errors_name_parameters() {
        let err = ratio(
            &col("numerator", &[Some(1.0); 3]),
            &col("denominator", &[Some(1.0); 2]),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "\"numerator\" has 3 rows but \"denominator\" has 2; they must align row by row"
        );
        let text = Operand::Column(Column::from_array(
            "total",
            Arc::new(StringArray::from(vec!["a"])),
        ));
        let err = share(&s("part", 1.0), &text).unwrap_err();
        assert!(matches!(err, KpiError::WrongType { ref column, .. } if column == "total"));
        assert!(matches!(
            evaluate("nope", &[]),
            Err(KpiError::InvalidParameter { .. })
        ));
        assert!(matches!(
            evaluate("ratio", &[s("a", 1.0)]),
            Err(KpiError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn float64_input_is_read_in_place() {
        let arr = Float64Array::from(vec![1.0, 2.0]);
        let addr = arr.values().inner().as_ptr() as usize;
        let c = Column::from_array("x", Arc::new(arr));
        assert_eq!(buffer_addresses(&c).unwrap(), vec![addr]);
    }

    proptest! {
        #[test]
        fn scalar_broadcast_equals_constant_column(
            xs in proptest::collection::vec(proptest::option::of(-1e6f64..1e6), 0..40),
            k in -1e3f64..1e3,
        ) {
            let n = xs.len();
            let a = col("a", &xs);
            let by_scalar = values(gross_margin(&a, &s("b", k)).unwrap());
            let by_column = values(gross_margin(&a, &col("b", &vec![Some(k); n])).unwrap());
            prop_assert_eq!(by_scalar, by_column);
        }

        #[test]
        fn results_are_finite_or_missing(
            xs in proptest::collection::vec(prop_oneof![Just(0.0), Just(f64::NAN), -1e3f64..1e3], 1..30),
        ) {
            let a = col("a", &xs.iter().map(|&x| Some(x)).collect::<Vec<_>>());
            let b = col("b", &xs.iter().rev().map(|&x| Some(x)).collect::<Vec<_>>());
            for f in REGISTRY.iter().filter(|f| f.params.len() == 2 && f.name != "growth_rate") {
                let out = values((f.eval)(&[a.clone(), b.clone()]).unwrap());
                prop_assert_eq!(out.len(), xs.len());
                for (i, y) in out.iter().enumerate() {
                    let missing_in = xs[i].is_nan() || xs[xs.len() - 1 - i].is_nan();
                    prop_assert!(y.is_none_or(|v| v.is_finite()));
                    if missing_in { prop_assert!(y.is_none()); }
                }
            }
        }
    }
}
