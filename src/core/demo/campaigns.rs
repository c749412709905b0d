//! E-mail campaigns: each month a newsletter to every signed-up user (first Tuesday), and a
//! second send (third Thursday) alternating a webinar invitation to free users and a product
//! update to customers. Audiences are counted from the leads at send time; each stage is a
//! binomial draw from the one before (delivery ~97 %, opens ~20–35 % and clicks ~2–5 % of
//! delivered, conversions a few % of clicks). Campaign spend is a share of the month's e-mail
//! spend row, so campaigns never cost more than the channel.

use super::funnel::Lead;
use super::model::*;
use super::rng::{Rng, Stream};

pub const KINDS: [&str; 3] = ["newsletter", "webinar", "product_update"];
const NEWSLETTER: u8 = 0;
const WEBINAR: u8 = 1;
const PRODUCT_UPDATE: u8 = 2;

/// Per kind: share of the audience mailed (opted in), open rate and click-through rate of
/// delivered mail, conversion rate of clicks, median revenue per conversion (currency units).
struct KindModel {
    reach: f64,
    open: f64,
    ctr: f64,
    convert: f64,
    value: f64,
}

const KIND_MODELS: [KindModel; 3] = [
    KindModel {
        reach: 0.92,
        open: 0.24,
        ctr: 0.028,
        convert: 0.05,
        value: 1_500.0,
    },
    KindModel {
        reach: 0.90,
        open: 0.21,
        ctr: 0.022,
        convert: 0.06,
        value: 1_800.0,
    },
    KindModel {
        reach: 0.97,
        open: 0.33,
        ctr: 0.045,
        convert: 0.08,
        value: 600.0,
    },
];

pub struct Campaign {
    pub kind: u8,
    pub sent_at: i64,
    pub sent: i64,
    pub delivered: i64,
    pub opened: i64,
    pub clicked: i64,
    pub converted: i64,
    pub spend_cents: i64,
    pub revenue_cents: i64,
}

/// First day (day number) with the given weekday on or after `day`.
fn next_weekday(day: i64, wd: i64) -> i64 {
    day + (wd - weekday(day)).rem_euclid(7)
}

/// Campaigns in send order; a send with no audience (tiny scales, first months) is skipped.
/// `spend` is the spend table's rows (month, channel, cents).
pub fn campaigns(
    seed: u64,
    leads: &[Lead],
    spend: &[(usize, usize, i64)],
    cal: &Calendar,
) -> Vec<Campaign> {
    let mut signed: Vec<i64> = leads.iter().filter_map(|l| l.signed).collect();
    let mut bought: Vec<i64> = leads.iter().filter_map(|l| l.customer).collect();
    signed.sort_unstable();
    bought.sort_unstable();
    let before = |times: &[i64], t: i64| times.partition_point(|x| *x < t) as u64;
    let mut email_spend = [0i64; MONTHS];
    for &(m, ch, cents) in spend {
        if ch == EMAIL as usize {
            email_spend[m] = cents;
        }
    }
    let mut out = Vec::with_capacity(2 * MONTHS);
    for (m, &month_email) in email_spend.iter().enumerate() {
        let first = cal.month_start_day(m);
        let sends = [
            (NEWSLETTER, next_weekday(first, 1), 10),
            (
                if m % 2 == 0 { WEBINAR } else { PRODUCT_UPDATE },
                next_weekday(first, 3) + 14,
                15,
            ),
        ];
        for (slot, (kind, day, hour)) in sends.into_iter().enumerate() {
            let mut r = Rng::stream(seed, Stream::Campaigns, (m * 2 + slot) as u64);
            let sent_at = day * crate::core::input::time::US_PER_DAY
                + hour * US_PER_HOUR
                + r.range_i64(0, 30) * US_PER_MINUTE;
            let (users, customers) = (before(&signed, sent_at), before(&bought, sent_at));
            let audience = match kind {
                NEWSLETTER => users,
                WEBINAR => users - customers,
                _ => customers,
            };
            let k = &KIND_MODELS[kind as usize];
            // Each send has its own subject line: rates vary by about ±15 % around the kind's.
            let vary = |r: &mut Rng, p: f64| (p * r.lognormal(1.0, 0.15)).min(0.9);
            let sent = r.binomial(audience, k.reach);
            if sent == 0 {
                continue;
            }
            let delivery_p = 0.955 + 0.03 * r.f64();
            let delivered = r.binomial(sent, delivery_p);
            let open_p = vary(&mut r, k.open);
            let opened = r.binomial(delivered, open_p);
            // Clicks come from openers: P(click | open) = CTR / open rate.
            let click_p = (vary(&mut r, k.ctr) / open_p).min(1.0);
            let clicked = r.binomial(opened, click_p);
            let convert_p = vary(&mut r, k.convert);
            let converted = r.binomial(clicked, convert_p);
            let revenue = converted as f64 * r.lognormal(k.value, 0.25);
            let spend_cents = (month_email as f64 * (0.25 + 0.1 * r.f64())).round() as i64;
            out.push(Campaign {
                kind,
                sent_at,
                sent: sent as i64,
                delivered: delivered as i64,
                opened: opened as i64,
                clicked: clicked as i64,
                converted: converted as i64,
                spend_cents: spend_cents.max(1),
                revenue_cents: (revenue * 100.0).round() as i64,
            });
        }
    }
    out
}
