//! The company's fixed facts: its calendar, channels, plans, sales reps, and the parameters of
//! its funnel. Everything here is a constant or derived from constants, never from today's date.

use crate::core::input::time::{Freq, US_PER_DAY};

/// Months covered: 2024-11 … 2026-10.
pub const MONTHS: usize = 24;
/// Month ordinal (months since 1970-01) of 2024-11, the first month.
pub const FIRST_MONTH: i64 = (2024 - 1970) * 12 + 10;
/// The last three months (from 2026-08) carry the paid-social campaign of the journey signal.
pub const CAMPAIGN_FIRST_MONTH: usize = MONTHS - 3;

pub const US_PER_HOUR: i64 = 3_600_000_000;
pub const US_PER_MINUTE: i64 = 60_000_000;

/// Day numbers (days since 1970-01-01) of each month start, plus the end of the span.
#[derive(Debug, Clone)]
pub struct Calendar {
    month_day: [i64; MONTHS + 1],
    /// Month index of every day of the span (avoids calendar maths in the hot loops).
    day_month: Vec<u8>,
}

impl Calendar {
    pub fn new() -> Calendar {
        let mut month_day = [0i64; MONTHS + 1];
        for (m, d) in month_day.iter_mut().enumerate() {
            *d = Freq::Month.start_day(FIRST_MONTH + m as i64);
        }
        let mut day_month = Vec::with_capacity((month_day[MONTHS] - month_day[0]) as usize);
        for m in 0..MONTHS {
            for _ in month_day[m]..month_day[m + 1] {
                day_month.push(m as u8);
            }
        }
        Calendar {
            month_day,
            day_month,
        }
    }

    pub fn start_day(&self) -> i64 {
        self.month_day[0]
    }
    /// First day after the span (exclusive end).
    pub fn end_day(&self) -> i64 {
        self.month_day[MONTHS]
    }
    pub fn days(&self) -> usize {
        self.day_month.len()
    }
    /// Exclusive end of the span in microseconds: every generated time is before it.
    pub fn end_us(&self) -> i64 {
        self.end_day() * US_PER_DAY
    }
    pub fn month_start_day(&self, m: usize) -> i64 {
        self.month_day[m]
    }
    pub fn month_start_us(&self, m: usize) -> i64 {
        self.month_day[m] * US_PER_DAY
    }
    /// Month index of a day number inside the span.
    #[inline]
    pub fn month_of_day(&self, day: i64) -> usize {
        self.day_month[(day - self.start_day()) as usize] as usize
    }
    /// Month index of an instant inside the span.
    #[inline]
    pub fn month_of_us(&self, t: i64) -> usize {
        self.month_of_day(t.div_euclid(US_PER_DAY))
    }
}

/// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
#[inline]
pub fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

#[inline]
pub fn is_weekend(day: i64) -> bool {
    weekday(day) >= 5
}

// --- acquisition channels -----------------------------------------------------------------

/// Lead channels; spend has these plus "sales".
pub const CHANNELS: [&str; 6] = [
    "organic",
    "paid_search",
    "paid_social",
    "referral",
    "email",
    "outbound",
];
pub const SPEND_CHANNELS: [&str; 7] = [
    "organic",
    "paid_search",
    "paid_social",
    "referral",
    "email",
    "outbound",
    "sales",
];
pub const PAID_SOCIAL: u8 = 2;
pub const REFERRAL: u8 = 3;
pub const EMAIL: u8 = 4;
pub const SALES: usize = 6;

/// How visitors of one channel move down the funnel.
pub struct ChannelModel {
    /// Share of ordinary (non-campaign) traffic.
    pub share: f64,
    /// Probability a visitor signs up.
    pub signup: f64,
    /// Probability a signed-up user becomes a product-qualified lead.
    pub pql: f64,
    /// Probability a PQL is worked by sales (a deal) rather than buying self-serve.
    pub sales_assisted: f64,
    /// Probability a self-serve PQL buys.
    pub self_serve_buy: f64,
    /// Median days from signup to PQL.
    pub pql_days: f64,
    /// Marketing cost per visitor (currency units).
    pub cost_per_visit: f64,
}

pub const CHANNEL_MODELS: [ChannelModel; 6] = [
    ChannelModel {
        share: 0.35,
        signup: 0.050,
        pql: 0.34,
        sales_assisted: 0.35,
        self_serve_buy: 0.30,
        pql_days: 6.0,
        cost_per_visit: 2.0,
    },
    ChannelModel {
        share: 0.20,
        signup: 0.070,
        pql: 0.32,
        sales_assisted: 0.40,
        self_serve_buy: 0.28,
        pql_days: 5.0,
        cost_per_visit: 12.0,
    },
    ChannelModel {
        share: 0.15,
        signup: 0.040,
        pql: 0.26,
        sales_assisted: 0.30,
        self_serve_buy: 0.24,
        pql_days: 7.0,
        cost_per_visit: 5.0,
    },
    ChannelModel {
        share: 0.10,
        signup: 0.100,
        pql: 0.42,
        sales_assisted: 0.35,
        self_serve_buy: 0.36,
        pql_days: 4.0,
        cost_per_visit: 0.5,
    },
    ChannelModel {
        share: 0.10,
        signup: 0.060,
        pql: 0.30,
        sales_assisted: 0.35,
        self_serve_buy: 0.28,
        pql_days: 6.0,
        cost_per_visit: 1.5,
    },
    ChannelModel {
        share: 0.10,
        signup: 0.030,
        pql: 0.45,
        sales_assisted: 0.90,
        self_serve_buy: 0.20,
        pql_days: 8.0,
        cost_per_visit: 30.0,
    },
];

/// Extra paid-social traffic of the campaign, as a fraction of ordinary daily traffic.
pub const CAMPAIGN_EXTRA_TRAFFIC: f64 = 0.35;
/// Campaign visitors sign up easily (a free-trial offer) but rarely become PQLs.
pub const CAMPAIGN_SIGNUP: f64 = 0.11;
pub const CAMPAIGN_PQL: f64 = 0.08;
/// A bonus paid per referred customer, on top of the per-visit cost.
pub const REFERRAL_BONUS: f64 = 300.0;
/// Sales cost per deal opened, and commission on won annual contract value.
pub const SALES_COST_PER_DEAL: f64 = 1_000.0;
pub const SALES_COMMISSION: f64 = 0.10;
/// Fixed monthly tooling cost per spend channel at scale 1 (keeps every cell positive).
pub const FIXED_MONTHLY_COST: f64 = 1_500.0;

/// Visitors over the 24 months at scale 1 (about a million product events follow from them).
pub const VISITORS_AT_SCALE_1: f64 = 240_000.0;

// --- plans -------------------------------------------------------------------------------

pub const PLANS: [&str; 3] = ["starter", "growth", "enterprise"];
pub const STARTER: u8 = 0;
pub const ENTERPRISE: u8 = 2;

pub struct PlanModel {
    pub base_cents: i64,
    pub included_seats: u32,
    pub seat_cents: i64,
    /// Monthly probability that a paying customer leaves.
    pub churn: f64,
    /// Mean extra seats bought at the start, beyond the included ones.
    pub extra_seats: f64,
    /// Expected support tickets per paying month.
    pub tickets_per_month: f64,
    /// Mean of the latent NPS answer at the start of the span.
    pub nps_mean: f64,
}

pub const PLAN_MODELS: [PlanModel; 3] = [
    PlanModel {
        base_cents: 4_900,
        included_seats: 2,
        seat_cents: 1_200,
        churn: 0.032,
        extra_seats: 0.8,
        tickets_per_month: 0.25,
        nps_mean: 7.5,
    },
    PlanModel {
        base_cents: 19_900,
        included_seats: 5,
        seat_cents: 2_900,
        churn: 0.021,
        extra_seats: 3.0,
        tickets_per_month: 0.5,
        nps_mean: 7.9,
    },
    PlanModel {
        base_cents: 99_900,
        included_seats: 20,
        seat_cents: 3_900,
        churn: 0.009,
        extra_seats: 15.0,
        tickets_per_month: 1.4,
        nps_mean: 8.3,
    },
];

/// Monthly recurring revenue in cents for a plan, seat count and discount (percent).
pub fn mrr_cents(plan: u8, seats: u32, discount_pct: u32) -> i64 {
    let p = &PLAN_MODELS[plan as usize];
    let list = p.base_cents + (seats.saturating_sub(p.included_seats) as i64) * p.seat_cents;
    // Round half up to whole cents.
    (list * (100 - discount_pct.min(100) as i64) + 50) / 100
}

/// Plan mix at purchase: self-serve buyers go small, sales closes bigger plans.
pub const SELF_SERVE_PLAN_MIX: [f64; 3] = [0.70, 0.27, 0.03];
pub const SALES_PLAN_MIX: [f64; 3] = [0.15, 0.55, 0.30];

pub const REGIONS: [&str; 4] = ["NA", "EMEA", "APAC", "LATAM"];
pub const REGION_MIX: [f64; 4] = [0.45, 0.30, 0.15, 0.10];

// --- sales team --------------------------------------------------------------------------

pub struct Rep {
    pub name: &'static str,
    /// Share of deals assigned.
    pub weight: f64,
    pub win_rate: f64,
    /// Median sales cycle in days.
    pub cycle_days: f64,
}

pub const REPS: [Rep; 8] = [
    Rep {
        name: "Ava Chen",
        weight: 1.2,
        win_rate: 0.32,
        cycle_days: 28.0,
    },
    Rep {
        name: "Ben Okafor",
        weight: 1.0,
        win_rate: 0.27,
        cycle_days: 35.0,
    },
    Rep {
        name: "Carla Ruiz",
        weight: 1.0,
        win_rate: 0.24,
        cycle_days: 45.0,
    },
    Rep {
        name: "Dev Patel",
        weight: 0.9,
        win_rate: 0.30,
        cycle_days: 60.0,
    },
    Rep {
        name: "Elena Novak",
        weight: 1.1,
        win_rate: 0.22,
        cycle_days: 30.0,
    },
    Rep {
        name: "Finn Larsen",
        weight: 0.8,
        win_rate: 0.18,
        cycle_days: 75.0,
    },
    Rep {
        name: "Grace Kim",
        weight: 1.0,
        win_rate: 0.28,
        cycle_days: 40.0,
    },
    Rep {
        name: "Hugo Martin",
        weight: 0.9,
        win_rate: 0.20,
        cycle_days: 52.0,
    },
];

// --- product events and support ------------------------------------------------------------

pub const EVENTS: [&str; 6] = [
    "signup",
    "login",
    "feature_used",
    "report_created",
    "invite_sent",
    "upgrade",
];
pub const EV_SIGNUP: u8 = 0;
pub const EV_LOGIN: u8 = 1;
pub const EV_FEATURE: u8 = 2;
pub const EV_REPORT: u8 = 3;
pub const EV_INVITE: u8 = 4;
pub const EV_UPGRADE: u8 = 5;

pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

/// A time of day (microseconds after midnight) clustered around office hours.
pub fn office_time(r: &mut super::rng::Rng, peak_hour: f64) -> i64 {
    let hours = if r.chance(0.85) {
        peak_hour + 3.0 * r.normal()
    } else {
        24.0 * r.f64()
    };
    ((hours * US_PER_HOUR as f64) as i64).rem_euclid(US_PER_DAY)
}
