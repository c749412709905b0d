//! Visitors down the funnel: visit → signup → PQL → (deal) → customer.
//!
//! Each visitor is simulated from its own stream. Visit days follow the company's traffic curve
//! (growing, quieter at weekends, plus the campaign in the last three months) through its
//! inverse CDF, so lead ids increase with the visit day.

use rayon::prelude::*;

use super::model::*;
use super::rng::{Rng, Stream};
use crate::core::input::time::US_PER_DAY;

/// A sales deal opened for a PQL.
#[derive(Debug, Clone)]
pub struct Deal {
    pub owner: u8,
    pub created: i64,
    /// None while still open at the end of the span.
    pub closed: Option<i64>,
    pub won: Option<bool>,
    /// Annual contract value quoted, in cents.
    pub amount_cents: i64,
}

/// The plan a buyer starts on (or a deal quotes).
#[derive(Debug, Clone, Copy)]
pub struct Start {
    pub plan: u8,
    pub seats: u32,
    pub discount_pct: u32,
}

#[derive(Debug, Clone)]
pub struct Lead {
    pub visited: i64,
    pub signed: Option<i64>,
    pub pql: Option<i64>,
    pub customer: Option<i64>,
    pub channel: u8,
    /// Came in through the paid-social campaign (low intent).
    pub campaign: bool,
    pub deal: Option<Box<Deal>>,
    /// The first plan, for leads that became customers.
    pub start: Option<Start>,
}

/// Cumulative traffic share by day of the span, ending at 1.
pub struct Traffic {
    cdf: Vec<f64>,
    campaign_start_day: i64,
}

impl Traffic {
    pub fn new(cal: &Calendar) -> Traffic {
        let campaign_start_day = cal.month_start_day(CAMPAIGN_FIRST_MONTH);
        let days = cal.days();
        let mut acc = 0.0;
        let mut cdf = Vec::with_capacity(days);
        for i in 0..days {
            let day = cal.start_day() + i as i64;
            // Traffic nearly doubles over two years; B2B visitors are rarer at weekends.
            let mut w = 1.0 + 0.9 * i as f64 / days as f64;
            if is_weekend(day) {
                w *= 0.6;
            }
            if day >= campaign_start_day {
                w *= 1.0 + CAMPAIGN_EXTRA_TRAFFIC;
            }
            acc += w;
            cdf.push(acc);
        }
        for c in &mut cdf {
            *c /= acc;
        }
        Traffic {
            cdf,
            campaign_start_day,
        }
    }

    /// Day index (from the span start) holding traffic quantile `q` in [0, 1).
    fn day_index(&self, q: f64) -> usize {
        self.cdf
            .partition_point(|c| *c <= q)
            .min(self.cdf.len() - 1)
    }
}

/// Simulate `n` visitors in parallel; the result is in lead-id order.
pub fn simulate(seed: u64, n: usize, cal: &Calendar, traffic: &Traffic) -> Vec<Lead> {
    (0..n)
        .into_par_iter()
        .with_min_len(4096)
        .map(|i| simulate_one(seed, i, n, cal, traffic))
        .collect()
}

fn days_us(days: f64) -> i64 {
    (days * US_PER_DAY as f64) as i64
}

/// Seconds-to-days floor for every stage delay, so stage times are strictly ordered.
const MIN_DELAY_US: i64 = 1_000_000;

fn simulate_one(seed: u64, i: usize, n: usize, cal: &Calendar, traffic: &Traffic) -> Lead {
    let mut r = Rng::stream(seed, Stream::Leads, i as u64);
    let end = cal.end_us();
    // Stratified quantile: visitor i owns the slice [i/n, (i+1)/n) of the traffic curve.
    let q = (i as f64 + r.f64()) / n as f64;
    let day = cal.start_day() + traffic.day_index(q) as i64;
    let visited = day * US_PER_DAY + office_time(&mut r, 14.0);

    let campaign = day >= traffic.campaign_start_day
        && r.chance(CAMPAIGN_EXTRA_TRAFFIC / (1.0 + CAMPAIGN_EXTRA_TRAFFIC));
    let channel = if campaign {
        PAID_SOCIAL
    } else {
        let shares: [f64; 6] = std::array::from_fn(|c| CHANNEL_MODELS[c].share);
        r.pick(&shares) as u8
    };
    let model = &CHANNEL_MODELS[channel as usize];
    let mut lead = Lead {
        visited,
        signed: None,
        pql: None,
        customer: None,
        channel,
        campaign,
        deal: None,
        start: None,
    };

    let signup_p = if campaign {
        CAMPAIGN_SIGNUP
    } else {
        model.signup
    };
    if !r.chance(signup_p) {
        return lead;
    }
    // Most sign up in the same session, the rest come back days later.
    let delay = if r.chance(0.6) {
        r.exp(20.0) * 60e6
    } else {
        r.exp(3.0) * US_PER_DAY as f64
    };
    let signed = visited + MIN_DELAY_US + delay as i64;
    if signed >= end {
        return lead;
    }
    lead.signed = Some(signed);

    let pql_p = if campaign { CAMPAIGN_PQL } else { model.pql };
    if !r.chance(pql_p) {
        return lead;
    }
    let pql = signed + MIN_DELAY_US + days_us(r.lognormal(model.pql_days, 0.8));
    if pql >= end {
        return lead;
    }
    lead.pql = Some(pql);

    if r.chance(model.sales_assisted) {
        // Sales works the PQL: a deal opens within days; its cycle and odds depend on the rep.
        let owner = r.pick(&REPS.map(|rep| rep.weight)) as u8;
        let rep = &REPS[owner as usize];
        let created = pql + MIN_DELAY_US + days_us(r.exp(2.0));
        if created >= end {
            return lead;
        }
        let start = draw_start(&mut r, &SALES_PLAN_MIX, true);
        let amount_cents = 12 * mrr_cents(start.plan, start.seats, start.discount_pct);
        let won = r.chance(rep.win_rate);
        // Bigger plans take longer; lost deals tend to die a little sooner than wins close.
        let size = if start.plan == ENTERPRISE { 1.5 } else { 1.0 };
        let cycle = r.lognormal(rep.cycle_days * size * if won { 1.0 } else { 0.8 }, 0.5);
        let closed = created + MIN_DELAY_US + days_us(cycle);
        let mut deal = Deal {
            owner,
            created,
            closed: None,
            won: None,
            amount_cents,
        };
        if closed < end {
            deal.closed = Some(closed);
            deal.won = Some(won);
            if won {
                lead.customer = Some(closed);
                lead.start = Some(start);
            }
        }
        lead.deal = Some(Box::new(deal));
    } else if r.chance(model.self_serve_buy) {
        let bought = pql + MIN_DELAY_US + days_us(r.lognormal(9.0, 0.7));
        if bought < end {
            lead.customer = Some(bought);
            lead.start = Some(draw_start(&mut r, &SELF_SERVE_PLAN_MIX, false));
        }
    }
    lead
}

fn draw_start(r: &mut Rng, mix: &[f64; 3], sales: bool) -> Start {
    let plan = r.pick(mix) as u8;
    let p = &PLAN_MODELS[plan as usize];
    let seats = p.included_seats + r.poisson(p.extra_seats);
    // Sales negotiates 0–20 % off in steps of 5; self-serve pays list price.
    let discount_pct = if sales { 5 * r.below(5) as u32 } else { 0 };
    Start {
        plan,
        seats,
        discount_pct,
    }
}
