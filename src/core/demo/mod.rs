//! The demo company: "Northwind Analytics", a fictional B2B SaaS business, generated
//! deterministically over 24 months (2024-11-01 to 2026-10-31) as seven Arrow tables.
//!
//! Same `(seed, scale)` → identical tables, whatever the number of threads: every entity
//! (visitor, customer, user, spend cell) draws from its own stream seeded by
//! `(seed, table, entity id)`, and parallel results are collected in entity order.
//!
//! The tables are consistent with one another: customers are the leads that converted, their
//! first subscription month is the month of `customer_at`, won deals produce those customers,
//! product events belong to signed-up leads, spend follows the traffic and deals it paid for.
//! Two planning tables come last, from their own streams (the others are unchanged by them):
//! sales quotas per rep and month set from the won-deal trend, and monthly e-mail campaigns
//! mailed to the signed-up users and customers of the time.
//! Built in: in the last three months a paid-social campaign lifts visitor→signup while
//! signup→PQL falls (low-intent signups), the journey signal kpikit's funnel view looks for.

mod accounts;
mod campaigns;
mod funnel;
mod model;
mod product;
mod quotas;
mod rng;
mod spend;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float64Array, Int32Array, Int64Array,
    Int8Array, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, TimeUnit};

use crate::core::error::{KpiError, KpiResult};
use model::*;

/// The company's name, as shown by the Python wrapper.
pub const COMPANY: &str = "Northwind Analytics";
/// Table names, in the order [`DemoCompany::tables`] returns them.
pub const TABLES: [&str; 9] = [
    "leads",
    "events",
    "subscriptions",
    "deals",
    "responses",
    "spend",
    "tickets",
    "quotas",
    "campaigns",
];
/// Largest accepted scale: about 10⁹ events, already tens of GB in memory.
pub const MAX_SCALE: f64 = 1000.0;

/// The nine tables of the demo company.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCompany {
    pub leads: RecordBatch,
    pub events: RecordBatch,
    pub subscriptions: RecordBatch,
    pub deals: RecordBatch,
    pub responses: RecordBatch,
    pub spend: RecordBatch,
    pub tickets: RecordBatch,
    pub quotas: RecordBatch,
    pub campaigns: RecordBatch,
}

impl DemoCompany {
    /// (name, table) pairs in [`TABLES`] order.
    pub fn tables(&self) -> [(&'static str, &RecordBatch); 9] {
        [
            ("leads", &self.leads),
            ("events", &self.events),
            ("subscriptions", &self.subscriptions),
            ("deals", &self.deals),
            ("responses", &self.responses),
            ("spend", &self.spend),
            ("tickets", &self.tickets),
            ("quotas", &self.quotas),
            ("campaigns", &self.campaigns),
        ]
    }

    pub fn into_tables(self) -> [(&'static str, RecordBatch); 9] {
        [
            ("leads", self.leads),
            ("events", self.events),
            ("subscriptions", self.subscriptions),
            ("deals", self.deals),
            ("responses", self.responses),
            ("spend", self.spend),
            ("tickets", self.tickets),
            ("quotas", self.quotas),
            ("campaigns", self.campaigns),
        ]
    }
}

/// Generate the demo company. `scale` multiplies visitors, and with them customers and events:
/// scale 1 gives about a million product events, scale 0.01 small but non-empty tables.
pub fn demo_company(seed: u64, scale: f64) -> KpiResult<DemoCompany> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(KpiError::param(
            "scale",
            format!("must be a positive number, got {scale}"),
        ));
    }
    if scale > MAX_SCALE {
        return Err(KpiError::param(
            "scale",
            format!("must be at most {MAX_SCALE} (about 10⁹ events), got {scale}"),
        ));
    }
    let cal = Calendar::new();
    let traffic = funnel::Traffic::new(&cal);
    let n = ((VISITORS_AT_SCALE_1 * scale).round() as usize).max(1);
    let leads = funnel::simulate(seed, n, &cal, &traffic);

    // Customer numbers follow purchase time, so cus_000001 is the first customer.
    let mut buyers: Vec<(i64, usize)> = leads
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.customer.map(|t| (t, i)))
        .collect();
    buyers.sort_unstable();
    let mut customer_of_lead: Vec<Option<u32>> = vec![None; n];
    for (k, &(_, i)) in buyers.iter().enumerate() {
        customer_of_lead[i] = Some(k as u32);
    }
    let customer_ids: Vec<String> = (1..=buyers.len()).map(|k| format!("cus_{k:06}")).collect();
    let buyer_inputs: Vec<accounts::Buyer> = buyers
        .iter()
        .filter_map(|&(t, i)| {
            leads[i].start.map(|start| accounts::Buyer {
                customer_at: t,
                start,
            })
        })
        .collect();
    if buyer_inputs.len() != buyers.len() {
        return Err(KpiError::Internal(
            "a demo customer has no starting plan".into(),
        ));
    }
    let accounts = accounts::simulate(seed, &buyer_inputs, &cal);

    let users: Vec<product::User> = leads
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let signed = l.signed?;
            let customer = customer_of_lead[i].map(|k| {
                let a = &accounts[k as usize];
                (k, buyers[k as usize].0, a.paying_mask, a.upgrade_mask)
            });
            Some(product::User {
                user_id: i as i64 + 1,
                signed,
                pql: l.pql,
                campaign: l.campaign,
                customer,
            })
        })
        .collect();

    let ctx = Context {
        cal: &cal,
        customer_ids: &customer_ids,
    };
    let (events, rest) = rayon::join(
        || events_table(&ctx, product::simulate(seed, &users, &cal)),
        || -> KpiResult<_> {
            let spend_rows = spend::spend(seed, scale, &leads, &cal);
            Ok((
                leads_table(&ctx, &leads, &customer_of_lead)?,
                deals_table(&ctx, &leads, &customer_of_lead)?,
                subscriptions_table(&ctx, &accounts)?,
                responses_table(&ctx, &accounts)?,
                tickets_table(&ctx, &accounts)?,
                quotas_table(&ctx, quotas::quotas(seed, &leads, &cal))?,
                campaigns_table(campaigns::campaigns(seed, &leads, &spend_rows, &cal))?,
                spend_table(&ctx, spend_rows)?,
            ))
        },
    );
    let (leads, deals, subscriptions, responses, tickets, quotas, campaigns, spend) = rest?;
    Ok(DemoCompany {
        leads,
        events: events?,
        subscriptions,
        deals,
        responses,
        spend,
        tickets,
        quotas,
        campaigns,
    })
}

struct Context<'a> {
    cal: &'a Calendar,
    customer_ids: &'a [String],
}

impl Context<'_> {
    /// A Utf8 column of customer ids from customer numbers (null stays null).
    fn customer_col(&self, keys: impl Iterator<Item = Option<u32>>, len: usize) -> ArrayRef {
        let mut b = StringBuilder::with_capacity(len, len * 10);
        for k in keys {
            match k {
                Some(k) => b.append_value(&self.customer_ids[k as usize]),
                None => b.append_null(),
            }
        }
        Arc::new(b.finish())
    }

    /// Date32 of a month index.
    fn month_date(&self, m: usize) -> i32 {
        self.cal.month_start_day(m) as i32
    }
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn ts_col(values: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

fn ts_opt_col(values: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

/// A dictionary column with a fixed, complete list of values (categories stay stable even when
/// a small table happens not to use one).
fn dict_col(keys: Vec<i32>, values: &[&str]) -> KpiResult<ArrayRef> {
    let dict = DictionaryArray::<Int32Type>::try_new(
        Int32Array::from(keys),
        Arc::new(StringArray::from(values.to_vec())),
    )?;
    Ok(Arc::new(dict))
}

fn batch(fields: Vec<Field>, columns: Vec<ArrayRef>) -> KpiResult<RecordBatch> {
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

fn leads_table(
    ctx: &Context,
    leads: &[funnel::Lead],
    customer_of_lead: &[Option<u32>],
) -> KpiResult<RecordBatch> {
    let n = leads.len();
    batch(
        vec![
            Field::new("lead_id", DataType::Int64, false),
            Field::new("channel", dict_type(), false),
            Field::new("visited_at", ts_type(), false),
            Field::new("signed_up_at", ts_type(), true),
            Field::new("pql_at", ts_type(), true),
            Field::new("customer_at", ts_type(), true),
            Field::new("customer_id", DataType::Utf8, true),
        ],
        vec![
            Arc::new(Int64Array::from_iter_values(1..=n as i64)),
            dict_col(leads.iter().map(|l| l.channel as i32).collect(), &CHANNELS)?,
            ts_col(leads.iter().map(|l| l.visited).collect()),
            ts_opt_col(leads.iter().map(|l| l.signed).collect()),
            ts_opt_col(leads.iter().map(|l| l.pql).collect()),
            ts_opt_col(leads.iter().map(|l| l.customer).collect()),
            ctx.customer_col(customer_of_lead.iter().copied(), n),
        ],
    )
}

fn events_table(ctx: &Context, ev: product::EventColumns) -> KpiResult<RecordBatch> {
    let n = ev.time.len();
    batch(
        vec![
            Field::new("user_id", DataType::Int64, false),
            Field::new("customer_id", DataType::Utf8, true),
            Field::new("time", ts_type(), false),
            Field::new("event", dict_type(), false),
        ],
        vec![
            Arc::new(Int64Array::from(ev.user)),
            ctx.customer_col(ev.customer.into_iter(), n),
            ts_col(ev.time),
            dict_col(ev.event, &EVENTS)?,
        ],
    )
}

fn deals_table(
    ctx: &Context,
    leads: &[funnel::Lead],
    customer_of_lead: &[Option<u32>],
) -> KpiResult<RecordBatch> {
    // Deal ids follow creation time; the lead index breaks ties so the order is total.
    let mut deals: Vec<(i64, usize, &funnel::Deal)> = leads
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.deal.as_deref().map(|d| (d.created, i, d)))
        .collect();
    deals.sort_unstable_by_key(|&(t, i, _)| (t, i));
    let n = deals.len();
    batch(
        vec![
            Field::new("deal_id", DataType::Int64, false),
            Field::new("owner", dict_type(), false),
            Field::new("customer_id", DataType::Utf8, true),
            Field::new("created", ts_type(), false),
            Field::new("closed", ts_type(), true),
            Field::new("amount", DataType::Float64, false),
            Field::new("won", DataType::Boolean, true),
        ],
        vec![
            Arc::new(Int64Array::from_iter_values(1..=n as i64)),
            dict_col(
                deals.iter().map(|d| d.2.owner as i32).collect(),
                &REPS.map(|r| r.name),
            )?,
            ctx.customer_col(
                deals.iter().map(|&(_, i, d)| {
                    if d.won == Some(true) {
                        customer_of_lead[i]
                    } else {
                        None
                    }
                }),
                n,
            ),
            ts_col(deals.iter().map(|d| d.0).collect()),
            ts_opt_col(deals.iter().map(|d| d.2.closed).collect()),
            Arc::new(Float64Array::from_iter_values(
                deals.iter().map(|d| d.2.amount_cents as f64 / 100.0),
            )),
            Arc::new(deals.iter().map(|d| d.2.won).collect::<BooleanArray>()),
        ],
    )
}

fn subscriptions_table(ctx: &Context, accounts: &[accounts::Account]) -> KpiResult<RecordBatch> {
    let rows: Vec<(u32, &accounts::SubRow, u8)> = accounts
        .iter()
        .enumerate()
        .flat_map(|(k, a)| a.months.iter().map(move |s| (k as u32, s, a.region)))
        .collect();
    batch(
        vec![
            Field::new("customer_id", DataType::Utf8, false),
            Field::new("month", DataType::Date32, false),
            Field::new("mrr", DataType::Float64, false),
            Field::new("plan", dict_type(), false),
            Field::new("region", dict_type(), false),
        ],
        vec![
            ctx.customer_col(rows.iter().map(|r| Some(r.0)), rows.len()),
            Arc::new(Date32Array::from_iter_values(
                rows.iter().map(|r| ctx.month_date(r.1.month as usize)),
            )),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.1.mrr_cents as f64 / 100.0),
            )),
            dict_col(rows.iter().map(|r| r.1.plan as i32).collect(), &PLANS)?,
            dict_col(rows.iter().map(|r| r.2 as i32).collect(), &REGIONS)?,
        ],
    )
}

fn responses_table(ctx: &Context, accounts: &[accounts::Account]) -> KpiResult<RecordBatch> {
    let mut rows: Vec<(u32, &accounts::Response, u8)> = accounts
        .iter()
        .enumerate()
        .flat_map(|(k, a)| a.responses.iter().map(move |s| (k as u32, s, a.region)))
        .collect();
    // Stable sort: equal times keep customer order.
    rows.sort_by_key(|r| r.1.time);
    batch(
        vec![
            Field::new("respondent", DataType::Utf8, false),
            Field::new("time", ts_type(), false),
            Field::new("score", DataType::Int8, false),
            Field::new("plan", dict_type(), false),
            Field::new("region", dict_type(), false),
        ],
        vec![
            ctx.customer_col(rows.iter().map(|r| Some(r.0)), rows.len()),
            ts_col(rows.iter().map(|r| r.1.time).collect()),
            Arc::new(Int8Array::from_iter_values(rows.iter().map(|r| r.1.score))),
            dict_col(rows.iter().map(|r| r.1.plan as i32).collect(), &PLANS)?,
            dict_col(rows.iter().map(|r| r.2 as i32).collect(), &REGIONS)?,
        ],
    )
}

fn spend_table(ctx: &Context, rows: Vec<(usize, usize, i64)>) -> KpiResult<RecordBatch> {
    batch(
        vec![
            Field::new("month", DataType::Date32, false),
            Field::new("channel", dict_type(), false),
            Field::new("amount", DataType::Float64, false),
        ],
        vec![
            Arc::new(Date32Array::from_iter_values(
                rows.iter().map(|r| ctx.month_date(r.0)),
            )),
            dict_col(rows.iter().map(|r| r.1 as i32).collect(), &SPEND_CHANNELS)?,
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.2 as f64 / 100.0),
            )),
        ],
    )
}

fn tickets_table(ctx: &Context, accounts: &[accounts::Account]) -> KpiResult<RecordBatch> {
    let mut rows: Vec<(u32, &accounts::Ticket)> = accounts
        .iter()
        .enumerate()
        .flat_map(|(k, a)| a.tickets.iter().map(move |t| (k as u32, t)))
        .collect();
    // Ticket ids follow opening time; the stable sort keeps customer order for ties.
    rows.sort_by_key(|r| r.1.opened);
    let n = rows.len();
    batch(
        vec![
            Field::new("ticket_id", DataType::Int64, false),
            Field::new("customer_id", DataType::Utf8, false),
            Field::new("opened", ts_type(), false),
            Field::new("first_response", ts_type(), true),
            Field::new("resolved", ts_type(), true),
            Field::new("handle_seconds", DataType::Int64, false),
            Field::new("priority", dict_type(), false),
            Field::new("csat", DataType::Int8, true),
        ],
        vec![
            Arc::new(Int64Array::from_iter_values(1..=n as i64)),
            ctx.customer_col(rows.iter().map(|r| Some(r.0)), n),
            ts_col(rows.iter().map(|r| r.1.opened).collect()),
            ts_opt_col(rows.iter().map(|r| r.1.first_response).collect()),
            ts_opt_col(rows.iter().map(|r| r.1.resolved).collect()),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.1.handle_seconds),
            )),
            dict_col(
                rows.iter().map(|r| r.1.priority as i32).collect(),
                &PRIORITIES,
            )?,
            Arc::new(rows.iter().map(|r| r.1.csat).collect::<Int8Array>()),
        ],
    )
}

fn quotas_table(ctx: &Context, rows: Vec<(usize, u8, i64)>) -> KpiResult<RecordBatch> {
    batch(
        vec![
            Field::new("owner", dict_type(), false),
            Field::new("month", DataType::Date32, false),
            Field::new("quota", DataType::Float64, false),
        ],
        vec![
            dict_col(
                rows.iter().map(|r| r.1 as i32).collect(),
                &REPS.map(|r| r.name),
            )?,
            Arc::new(Date32Array::from_iter_values(
                rows.iter().map(|r| ctx.month_date(r.0)),
            )),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.2 as f64 / 100.0),
            )),
        ],
    )
}

fn campaigns_table(rows: Vec<campaigns::Campaign>) -> KpiResult<RecordBatch> {
    let n = rows.len();
    let count = |f: fn(&campaigns::Campaign) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(rows.iter().map(f)))
    };
    batch(
        vec![
            Field::new("campaign_id", DataType::Int64, false),
            Field::new("campaign", dict_type(), false),
            Field::new("sent_at", ts_type(), false),
            Field::new("sent", DataType::Int64, false),
            Field::new("delivered", DataType::Int64, false),
            Field::new("opened", DataType::Int64, false),
            Field::new("clicked", DataType::Int64, false),
            Field::new("converted", DataType::Int64, false),
            Field::new("spend", DataType::Float64, false),
            Field::new("revenue", DataType::Float64, false),
        ],
        vec![
            Arc::new(Int64Array::from_iter_values(1..=n as i64)),
            dict_col(
                rows.iter().map(|c| c.kind as i32).collect(),
                &campaigns::KINDS,
            )?,
            ts_col(rows.iter().map(|c| c.sent_at).collect()),
            count(|c| c.sent),
            count(|c| c.delivered),
            count(|c| c.opened),
            count(|c| c.clicked),
            count(|c| c.converted),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|c| c.spend_cents as f64 / 100.0),
            )),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|c| c.revenue_cents as f64 / 100.0),
            )),
        ],
    )
}
