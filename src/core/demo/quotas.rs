//! Sales quotas per rep and month, set the way a sales plan would: the team's bookings trend,
//! split half by territory (deal share and a blend of the rep's and the team's win rate), half
//! by the rep's share of won value,
//! stretched a little above the plan, constant within a calendar quarter and rounded to
//! hundreds. Team attainment lands around 90 %, reps between about 70 % and 120 %.

use super::funnel::Lead;
use super::model::*;
use super::rng::{Rng, Stream};

/// Quotas sit this far above the bookings trend (so the team reaches about 1 / 1.1 ≈ 91 %).
const STRETCH: f64 = 1.1;
/// The first months have no pipeline yet: trend fitted from here on.
const FIT_FROM: usize = 3;
/// Smallest quota in cents (tiny scales with almost no won deals).
const MIN_QUOTA_CENTS: i64 = 10_000;

/// (month, owner, quota in cents), every month for every rep, month by month.
pub fn quotas(seed: u64, leads: &[Lead], cal: &Calendar) -> Vec<(usize, u8, i64)> {
    let mut won = [0f64; MONTHS];
    let mut by_rep = [0f64; REPS.len()];
    for d in leads.iter().filter_map(|l| l.deal.as_deref()) {
        if let (Some(c), Some(true)) = (d.closed, d.won) {
            won[cal.month_of_us(c)] += d.amount_cents as f64;
            by_rep[d.owner as usize] += d.amount_cents as f64;
        }
    }
    let plan = bookings_plan(&won);
    // A rep's share: half the territory model, half the pipeline the rep actually works.
    let mean_win = REPS.iter().map(|r| r.win_rate).sum::<f64>() / REPS.len() as f64;
    let model: Vec<f64> = REPS
        .iter()
        .map(|r| r.weight * 0.5 * (r.win_rate + mean_win))
        .collect();
    let (model_total, won_total) = (model.iter().sum::<f64>(), by_rep.iter().sum::<f64>());
    let expected: Vec<f64> = model
        .iter()
        .zip(by_rep)
        .map(|(m, w)| {
            let actual = if won_total > 0.0 {
                w / won_total
            } else {
                m / model_total
            };
            0.5 * m / model_total + 0.5 * actual
        })
        .collect();
    let total: f64 = expected.iter().sum();
    let quarter = |m: usize| (FIRST_MONTH as usize + m) / 3;
    let mut rows = Vec::with_capacity(MONTHS * REPS.len());
    for m in 0..MONTHS {
        // The quarter's average plan, so a quota stays flat through its quarter.
        let months: Vec<usize> = (0..MONTHS).filter(|&k| quarter(k) == quarter(m)).collect();
        let q_plan = months.iter().map(|&k| plan[k]).sum::<f64>() / months.len() as f64;
        for (o, e) in expected.iter().enumerate() {
            // Negotiated per rep and quarter: ±6 %.
            let key = (o * 64 + quarter(m) - quarter(0)) as u64;
            let mut r = Rng::stream(seed, Stream::Quotas, key);
            let noise = 1.0 + 0.06 * (2.0 * r.f64() - 1.0);
            let cents = q_plan * e / total * STRETCH * noise;
            let rounded = (cents / 10_000.0).round() as i64 * 10_000;
            rows.push((m, o as u8, rounded.max(MIN_QUOTA_CENTS)));
        }
    }
    rows
}

/// Least-squares line through the monthly won amounts from [`FIT_FROM`] on, with the first
/// months ramping up to it; never below a quarter of the mean month.
fn bookings_plan(won: &[f64; MONTHS]) -> [f64; MONTHS] {
    let xs: Vec<f64> = (FIT_FROM..MONTHS).map(|m| m as f64).collect();
    let ys = &won[FIT_FROM..];
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = sxy / sxx;
    let floor = 0.25 * my;
    std::array::from_fn(|m| {
        let line = (my + slope * (m as f64 - mx)).max(floor);
        if m < FIT_FROM {
            line * (m + 1) as f64 / (FIT_FROM + 1) as f64
        } else {
            line
        }
    })
}
