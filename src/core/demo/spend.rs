//! Marketing and sales spend per month and channel, sized from the funnel it paid for: cost per
//! visitor by channel, referral bonuses per referred customer, and for sales a cost per deal
//! opened plus commission on won contract value. A fixed tooling cost per cell keeps every
//! amount positive even at tiny scales.

use super::funnel::Lead;
use super::model::*;
use super::rng::{Rng, Stream};

/// (month, channel, amount in cents), one row per month and spend channel.
pub fn spend(seed: u64, scale: f64, leads: &[Lead], cal: &Calendar) -> Vec<(usize, usize, i64)> {
    let mut visitors = [[0u64; 6]; MONTHS];
    let mut referred = [0u64; MONTHS];
    let mut deals_opened = [0u64; MONTHS];
    let mut won_acv_cents = [0i64; MONTHS];
    for l in leads {
        visitors[cal.month_of_us(l.visited)][l.channel as usize] += 1;
        if let (Some(at), REFERRAL) = (l.customer, l.channel) {
            referred[cal.month_of_us(at)] += 1;
        }
        if let Some(d) = &l.deal {
            deals_opened[cal.month_of_us(d.created)] += 1;
            if let (Some(c), Some(true)) = (d.closed, d.won) {
                won_acv_cents[cal.month_of_us(c)] += d.amount_cents;
            }
        }
    }
    let mut rows = Vec::with_capacity(MONTHS * SPEND_CHANNELS.len());
    for m in 0..MONTHS {
        for ch in 0..SPEND_CHANNELS.len() {
            let variable = if ch == SALES {
                deals_opened[m] as f64 * SALES_COST_PER_DEAL
                    + SALES_COMMISSION * won_acv_cents[m] as f64 / 100.0
            } else {
                let mut v = visitors[m][ch] as f64 * CHANNEL_MODELS[ch].cost_per_visit;
                if ch == REFERRAL as usize {
                    v += referred[m] as f64 * REFERRAL_BONUS;
                }
                v
            };
            // Invoices never match the model exactly: ±8 % noise per cell.
            let mut r = Rng::stream(seed, Stream::Spend, (m * SPEND_CHANNELS.len() + ch) as u64);
            let noise = 1.0 + 0.08 * (2.0 * r.f64() - 1.0);
            let amount = (FIXED_MONTHLY_COST * scale + variable) * noise;
            rows.push((m, ch, ((amount * 100.0).round() as i64).max(1)));
        }
    }
    rows
}
