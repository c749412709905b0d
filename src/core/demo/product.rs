//! Product events of signed-up users: a "signup" at `signed_up_at`, then active days.
//!
//! A user is active on a day with a probability that depends on where they are in the journey:
//! new free users decay quickly to a small plateau, users evaluating around their PQL moment are
//! busy, paying customers are steadily active, lapsed customers rarely return. Weekends are
//! quiet. An active day is one session: a login, then feature use, reports and invites.

use rayon::prelude::*;

use super::model::*;
use super::rng::{Rng, Stream};
use crate::core::input::time::US_PER_DAY;

/// What the event simulation needs to know about one signed-up user.
pub struct User {
    pub user_id: i64,
    pub signed: i64,
    pub pql: Option<i64>,
    pub campaign: bool,
    /// (customer number, customer_at, paying months, upgrade months) for buyers.
    pub customer: Option<(u32, i64, u32, u32)>,
}

/// Events of a run of users, column by column.
#[derive(Default)]
pub struct EventColumns {
    pub user: Vec<i64>,
    pub time: Vec<i64>,
    pub event: Vec<i32>,
    /// Customer number, for events at or after the user's `customer_at`.
    pub customer: Vec<Option<u32>>,
}

/// Simulate users in parallel in fixed-size chunks, concatenated in user order.
pub fn simulate(seed: u64, users: &[User], cal: &Calendar) -> EventColumns {
    // Daily activity decay of a new free user, tabulated once.
    let decay: Vec<f64> = (0..cal.days()).map(|k| (-(k as f64) / 5.0).exp()).collect();
    let parts: Vec<EventColumns> = users
        .par_chunks(512)
        .map(|chunk| {
            let mut out = EventColumns::default();
            let mut buf = Vec::new();
            for u in chunk {
                user_events(seed, u, cal, &decay, &mut buf);
                for &(t, e) in &buf {
                    out.user.push(u.user_id);
                    out.time.push(t);
                    out.event.push(e as i32);
                    out.customer.push(match u.customer {
                        Some((k, at, _, _)) if t >= at => Some(k),
                        _ => None,
                    });
                }
            }
            out
        })
        .collect();
    let total: usize = parts.iter().map(|p| p.time.len()).sum();
    let mut all = EventColumns {
        user: Vec::with_capacity(total),
        time: Vec::with_capacity(total),
        event: Vec::with_capacity(total),
        customer: Vec::with_capacity(total),
    };
    for p in parts {
        all.user.extend_from_slice(&p.user);
        all.time.extend_from_slice(&p.time);
        all.event.extend_from_slice(&p.event);
        all.customer.extend_from_slice(&p.customer);
    }
    all
}

/// One user's events, sorted by time, into `buf`.
fn user_events(seed: u64, u: &User, cal: &Calendar, decay: &[f64], buf: &mut Vec<(i64, u8)>) {
    buf.clear();
    let mut r = Rng::stream(seed, Stream::Events, u.user_id as u64);
    let end = cal.end_us();
    let signed_day = u.signed.div_euclid(US_PER_DAY);
    let pql_day = u.pql.map(|t| t.div_euclid(US_PER_DAY));
    let customer_day = u.customer.map(|c| c.1.div_euclid(US_PER_DAY));
    // Campaign signups came for the offer, not the product.
    let intent = if u.campaign { 0.6 } else { 1.0 };
    let mut events = Vec::new();
    events.push((u.signed, EV_SIGNUP));
    for day in signed_day..cal.end_day() {
        let age = (day - signed_day) as usize;
        let paying_now = match (u.customer, customer_day) {
            (Some((_, _, mask, _)), Some(cd)) => {
                day >= cd && mask >> cal.month_of_day(day) & 1 == 1
            }
            _ => false,
        };
        let lapsed = customer_day.is_some_and(|cd| day >= cd) && !paying_now;
        let evaluating = pql_day.is_some_and(|pd| day + 7 >= pd && day <= pd + 21);
        let mut p = if paying_now {
            0.5
        } else if evaluating {
            0.45
        } else if lapsed {
            0.03
        } else {
            intent * (0.035 + 0.5 * decay[age])
        };
        if is_weekend(day) {
            p *= 0.3;
        }
        if !r.chance(p) {
            continue;
        }
        let mut t = day * US_PER_DAY + office_time(&mut r, 13.0);
        events.push((t, EV_LOGIN));
        let (features, reports, invite) = if paying_now {
            (2.8, 0.6, 0.06)
        } else {
            (1.5, 0.15, 0.02)
        };
        let n_features = r.poisson(features);
        let n_reports = r.poisson(reports);
        for code in std::iter::repeat_n(EV_FEATURE, n_features as usize)
            .chain(std::iter::repeat_n(EV_REPORT, n_reports as usize))
        {
            t += US_PER_MINUTE / 2 + (r.exp(4.0) * US_PER_MINUTE as f64) as i64;
            events.push((t, code));
        }
        if r.chance(invite) {
            t += US_PER_MINUTE / 2 + (r.exp(2.0) * US_PER_MINUTE as f64) as i64;
            events.push((t, EV_INVITE));
        }
    }
    if let Some((_, at, _, upgrades)) = u.customer {
        // Buying is an upgrade from the free plan; later moves to a bigger plan are too.
        events.push((at, EV_UPGRADE));
        for m in 0..MONTHS {
            if upgrades >> m & 1 == 1 {
                let t = cal.month_start_us(m) + office_time(&mut r, 11.0);
                events.push((t, EV_UPGRADE));
            }
        }
    }
    // Keep the signup first and alone at its instant, and everything inside the span.
    buf.push(events[0]);
    buf.extend(
        events[1..]
            .iter()
            .filter(|(t, _)| *t > u.signed && *t < end),
    );
    buf.sort_unstable();
}
