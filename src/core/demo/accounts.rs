//! Paying customers month by month: MRR snapshots, NPS answers and support tickets.
//!
//! Each customer is simulated from its own streams (one per table), starting in the month of its
//! `customer_at`: churn with a plan-dependent hazard, reactivation after a gap, seat expansion
//! and contraction, plan upgrades and downgrades.

use rayon::prelude::*;

use super::funnel::Start;
use super::model::*;
use super::rng::{Rng, Stream};

/// One customer's purchase, the input of the simulation.
pub struct Buyer {
    pub customer_at: i64,
    pub start: Start,
}

pub struct SubRow {
    pub month: u8,
    pub plan: u8,
    pub mrr_cents: i64,
}

pub struct Response {
    pub time: i64,
    pub score: i8,
    pub plan: u8,
}

pub struct Ticket {
    pub opened: i64,
    pub first_response: Option<i64>,
    pub resolved: Option<i64>,
    pub handle_seconds: i64,
    pub priority: u8,
    pub csat: Option<i8>,
}

pub struct Account {
    pub region: u8,
    pub months: Vec<SubRow>,
    pub responses: Vec<Response>,
    pub tickets: Vec<Ticket>,
    /// Bit m set when the customer pays in month m.
    pub paying_mask: u32,
    /// Bit m set when the customer moved to a bigger plan in month m.
    pub upgrade_mask: u32,
}

/// Simulate every customer in parallel; `buyers[k]` is customer number k.
pub fn simulate(seed: u64, buyers: &[Buyer], cal: &Calendar) -> Vec<Account> {
    buyers
        .par_iter()
        .enumerate()
        .with_min_len(256)
        .map(|(k, b)| simulate_one(seed, k as u64, b, cal))
        .collect()
}

fn simulate_one(seed: u64, k: u64, buyer: &Buyer, cal: &Calendar) -> Account {
    let mut r = Rng::stream(seed, Stream::Accounts, k);
    let mut rr = Rng::stream(seed, Stream::Responses, k);
    let mut rt = Rng::stream(seed, Stream::Tickets, k);
    let region = r.pick(&REGION_MIX) as u8;
    let m0 = cal.month_of_us(buyer.customer_at);
    let Start {
        mut plan,
        mut seats,
        discount_pct,
    } = buyer.start;
    let mut acc = Account {
        region,
        months: Vec::new(),
        responses: Vec::new(),
        tickets: Vec::new(),
        paying_mask: 0,
        upgrade_mask: 0,
    };
    let mut paying = true;
    let mut returns_in: Option<usize> = None;
    // When paying began in the current run (the purchase, or the reactivation).
    let mut since = buyer.customer_at;
    for m in m0..MONTHS {
        if m > m0 {
            if paying {
                // New customers are likelier to leave in their first quarter.
                let early = if m - m0 <= 3 { 1.4 } else { 1.0 };
                if r.chance(PLAN_MODELS[plan as usize].churn * early) {
                    paying = false;
                    if r.chance(0.3) {
                        returns_in = Some(m + 1 + r.below(6) as usize);
                    }
                } else {
                    change_plan(&mut r, &mut plan, &mut seats, m, &mut acc.upgrade_mask);
                }
            } else if returns_in == Some(m) {
                paying = true;
                returns_in = None;
                since = cal.month_start_us(m) + r.range_i64(0, 3 * 86_400_000_000);
                // A returning customer comes back smaller.
                seats = PLAN_MODELS[plan as usize]
                    .included_seats
                    .max(seats.saturating_sub(seats / 3));
            }
        }
        if !paying {
            continue;
        }
        acc.paying_mask |= 1 << m;
        acc.months.push(SubRow {
            month: m as u8,
            plan,
            mrr_cents: mrr_cents(plan, seats, discount_pct),
        });
        // Paying time within this month: from the (re)start if it fell in it, to the month end.
        let lo = since.max(cal.month_start_us(m));
        let hi = cal.month_start_us(m + 1);
        if rr.chance(0.12) {
            let time = rr.range_i64(lo, hi);
            acc.responses.push(Response {
                time,
                score: nps_score(&mut rr, plan, m),
                plan,
            });
        }
        let n = rt.poisson(PLAN_MODELS[plan as usize].tickets_per_month);
        for _ in 0..n {
            acc.tickets
                .push(ticket(&mut rt, plan, lo, hi, cal.end_us()));
        }
    }
    acc.tickets.sort_by_key(|t| t.opened);
    acc
}

/// A month's expansion or contraction for a customer who stays.
fn change_plan(r: &mut Rng, plan: &mut u8, seats: &mut u32, m: usize, upgrades: &mut u32) {
    let u = r.f64();
    if u < 0.012 {
        if *plan < ENTERPRISE {
            *plan += 1;
            *seats = (*seats).max(PLAN_MODELS[*plan as usize].included_seats);
            *upgrades |= 1 << m;
        }
    } else if u < 0.062 {
        *seats += 1 + r.below(((*seats / 4).max(1)) as u64) as u32;
    } else if u < 0.092 {
        let drop = 1 + r.below(((*seats / 6).max(1)) as u64) as u32;
        *seats = seats.saturating_sub(drop).max(1);
    } else if u < 0.096 && *plan > STARTER {
        *plan -= 1;
    }
}

/// A 0–10 answer: better on bigger plans, and improving slowly over the span.
fn nps_score(r: &mut Rng, plan: u8, month: usize) -> i8 {
    let latent = PLAN_MODELS[plan as usize].nps_mean + 0.04 * month as f64 + 2.0 * r.normal();
    latent.round().clamp(0.0, 10.0) as i8
}

const PRIORITY_MIX: [[f64; 4]; 3] = [
    [0.35, 0.45, 0.15, 0.05],
    [0.30, 0.45, 0.18, 0.07],
    [0.20, 0.40, 0.28, 0.12],
];
/// Median hours to first response, to resolution after it, and handling minutes, by priority.
const RESPONSE_HOURS: [f64; 4] = [8.0, 3.0, 0.75, 0.2];
const RESOLVE_HOURS: [f64; 4] = [36.0, 20.0, 8.0, 3.0];
const HANDLE_MINUTES: [f64; 4] = [10.0, 15.0, 30.0, 60.0];

fn ticket(r: &mut Rng, plan: u8, lo: i64, hi: i64, end: i64) -> Ticket {
    // Tickets mostly arrive on weekdays: redraw a weekend day up to twice.
    let mut opened = r.range_i64(lo, hi);
    for _ in 0..2 {
        if !is_weekend(opened.div_euclid(crate::core::input::time::US_PER_DAY)) {
            break;
        }
        opened = r.range_i64(lo, hi);
    }
    let priority = r.pick(&PRIORITY_MIX[plan as usize]) as u8;
    let p = priority as usize;
    let hours = |h: f64| (h * US_PER_HOUR as f64) as i64;
    let first = opened + US_PER_MINUTE + hours(r.lognormal(RESPONSE_HOURS[p], 0.9));
    let resolve_h = r.lognormal(RESOLVE_HOURS[p], 1.0);
    let resolved = first + hours(resolve_h);
    let handle_seconds = (r.lognormal(HANDLE_MINUTES[p], 0.7) * 60.0).round() as i64;
    // Slow resolutions disappoint; not every customer rates the ticket.
    let rated = r.chance(0.45);
    let latent = 4.4 - 0.35 * (1.0 + resolve_h / 24.0).ln() + 0.9 * r.normal();
    let (first_response, resolved, csat) = if first >= end {
        (None, None, None)
    } else if resolved >= end {
        (Some(first), None, None)
    } else {
        let csat = rated.then(|| latent.round().clamp(1.0, 5.0) as i8);
        (Some(first), Some(resolved), csat)
    };
    Ticket {
        opened,
        first_response,
        resolved,
        handle_seconds,
        priority,
        csat,
    }
}
