//! Consistency rules of the demo company, checked on small scales.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use arrow::array::{
    Array, AsArray, BooleanArray, Date32Array, DictionaryArray, Float64Array, Int64Array,
    Int8Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Int32Type};

use super::*;
use crate::core::input::time::US_PER_DAY;

/// One shared small company (generation in a debug build is the slow part of these tests).
fn company() -> &'static DemoCompany {
    static C: OnceLock<DemoCompany> = OnceLock::new();
    C.get_or_init(|| demo_company(11, 0.05).expect("valid scale"))
}

fn ts<'a>(b: &'a RecordBatch, name: &str) -> &'a TimestampMicrosecondArray {
    b.column_by_name(name)
        .expect("column")
        .as_any()
        .downcast_ref()
        .expect("timestamp")
}
fn strs<'a>(b: &'a RecordBatch, name: &str) -> &'a StringArray {
    b.column_by_name(name).expect("column").as_string::<i32>()
}
fn i64s<'a>(b: &'a RecordBatch, name: &str) -> &'a Int64Array {
    b.column_by_name(name).expect("column").as_primitive()
}
fn i8s<'a>(b: &'a RecordBatch, name: &str) -> &'a Int8Array {
    b.column_by_name(name).expect("column").as_primitive()
}
fn f64s<'a>(b: &'a RecordBatch, name: &str) -> &'a Float64Array {
    b.column_by_name(name).expect("column").as_primitive()
}
/// The string value of every row of a dictionary column.
fn dict_values(b: &RecordBatch, name: &str) -> Vec<String> {
    let d: &DictionaryArray<Int32Type> = b.column_by_name(name).expect("column").as_dictionary();
    let values = d.values().as_string::<i32>();
    d.keys()
        .values()
        .iter()
        .map(|k| values.value(*k as usize).to_string())
        .collect()
}
fn opt(a: &TimestampMicrosecondArray, i: usize) -> Option<i64> {
    a.is_valid(i).then(|| a.value(i))
}

#[test]
fn same_seed_same_tables_different_seed_different_tables() {
    let a = demo_company(5, 0.02).unwrap();
    let b = demo_company(5, 0.02).unwrap();
    assert_eq!(a, b);
    let c = demo_company(6, 0.02).unwrap();
    for ((name, x), (_, y)) in a.tables().iter().zip(c.tables().iter()) {
        assert_ne!(x, y, "table {name} did not change with the seed");
    }
}

#[test]
fn thread_count_does_not_change_the_tables() {
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| demo_company(3, 0.02).unwrap())
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn scale_must_be_positive_finite_and_bounded() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_SCALE * 2.0] {
        match demo_company(0, bad) {
            Err(KpiError::InvalidParameter { name, .. }) => assert_eq!(name, "scale"),
            other => panic!("scale {bad} gave {other:?}"),
        }
    }
}

#[test]
fn tiny_scale_still_fills_every_table() {
    for seed in 0..3 {
        let c = demo_company(seed, 0.01).unwrap();
        for (name, t) in c.tables() {
            assert!(t.num_rows() > 0, "seed {seed}: {name} is empty");
        }
    }
}

#[test]
fn schemas_have_the_documented_columns_and_types() {
    let c = company();
    let tsu = ts_type();
    let dict = dict_type();
    let expect: [(&str, &[(&str, &DataType)]); 9] = [
        (
            "leads",
            &[
                ("lead_id", &DataType::Int64),
                ("channel", &dict),
                ("visited_at", &tsu),
                ("signed_up_at", &tsu),
                ("pql_at", &tsu),
                ("customer_at", &tsu),
                ("customer_id", &DataType::Utf8),
            ],
        ),
        (
            "events",
            &[
                ("user_id", &DataType::Int64),
                ("customer_id", &DataType::Utf8),
                ("time", &tsu),
                ("event", &dict),
            ],
        ),
        (
            "subscriptions",
            &[
                ("customer_id", &DataType::Utf8),
                ("month", &DataType::Date32),
                ("mrr", &DataType::Float64),
                ("plan", &dict),
                ("region", &dict),
            ],
        ),
        (
            "deals",
            &[
                ("deal_id", &DataType::Int64),
                ("owner", &dict),
                ("customer_id", &DataType::Utf8),
                ("created", &tsu),
                ("closed", &tsu),
                ("amount", &DataType::Float64),
                ("won", &DataType::Boolean),
            ],
        ),
        (
            "responses",
            &[
                ("respondent", &DataType::Utf8),
                ("time", &tsu),
                ("score", &DataType::Int8),
                ("plan", &dict),
                ("region", &dict),
            ],
        ),
        (
            "spend",
            &[
                ("month", &DataType::Date32),
                ("channel", &dict),
                ("amount", &DataType::Float64),
            ],
        ),
        (
            "tickets",
            &[
                ("ticket_id", &DataType::Int64),
                ("customer_id", &DataType::Utf8),
                ("opened", &tsu),
                ("first_response", &tsu),
                ("resolved", &tsu),
                ("handle_seconds", &DataType::Int64),
                ("priority", &dict),
                ("csat", &DataType::Int8),
            ],
        ),
        (
            "quotas",
            &[
                ("owner", &dict),
                ("month", &DataType::Date32),
                ("quota", &DataType::Float64),
            ],
        ),
        (
            "campaigns",
            &[
                ("campaign_id", &DataType::Int64),
                ("campaign", &dict),
                ("sent_at", &tsu),
                ("sent", &DataType::Int64),
                ("delivered", &DataType::Int64),
                ("opened", &DataType::Int64),
                ("clicked", &DataType::Int64),
                ("converted", &DataType::Int64),
                ("spend", &DataType::Float64),
                ("revenue", &DataType::Float64),
            ],
        ),
    ];
    for ((name, batch), (ename, cols)) in c.tables().iter().zip(expect.iter()) {
        assert_eq!(name, ename);
        let got: Vec<(String, DataType)> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        let want: Vec<(String, DataType)> = cols
            .iter()
            .map(|(n, t)| (n.to_string(), (*t).clone()))
            .collect();
        assert_eq!(got, want, "schema of {name}");
    }
    assert_eq!(TABLES, c.tables().map(|t| t.0));
}

#[test]
fn lead_stages_are_ordered_and_customers_have_ids() {
    let l = &company().leads;
    let (v, s, p, c) = (
        ts(l, "visited_at"),
        ts(l, "signed_up_at"),
        ts(l, "pql_at"),
        ts(l, "customer_at"),
    );
    let ids = strs(l, "customer_id");
    let cal = Calendar::new();
    assert!(l.num_rows() > 5_000);
    for i in 0..l.num_rows() {
        let stages = [Some(v.value(i)), opt(s, i), opt(p, i), opt(c, i)];
        // Reached stages form a prefix, in time order, inside the span.
        let reached: Vec<i64> = stages.iter().map_while(|x| *x).collect();
        assert!(
            stages[reached.len()..].iter().all(Option::is_none),
            "row {i}"
        );
        assert!(reached.windows(2).all(|w| w[0] <= w[1]), "row {i}");
        assert!(reached
            .iter()
            .all(|t| *t >= cal.start_day() * US_PER_DAY && *t < cal.end_us()));
        assert_eq!(ids.is_valid(i), c.is_valid(i), "row {i}");
    }
    let lead_ids = i64s(l, "lead_id");
    assert!(lead_ids.values().windows(2).all(|w| w[0] < w[1]));
    let channels: HashSet<String> = dict_values(l, "channel").into_iter().collect();
    assert_eq!(channels.len(), CHANNELS.len());
}

#[test]
fn deals_close_after_creation_and_won_is_null_exactly_while_open() {
    let d = &company().deals;
    let (created, closed) = (ts(d, "created"), ts(d, "closed"));
    let won: &BooleanArray = d.column_by_name("won").unwrap().as_boolean();
    let ids = strs(d, "customer_id");
    let amount = f64s(d, "amount");
    let mut wins = 0;
    let mut decided = 0;
    for i in 0..d.num_rows() {
        assert_eq!(won.is_null(i), closed.is_null(i), "row {i}");
        if closed.is_valid(i) {
            assert!(closed.value(i) >= created.value(i));
            decided += 1;
            wins += won.value(i) as usize;
        }
        assert_eq!(ids.is_valid(i), won.is_valid(i) && won.value(i), "row {i}");
        assert!(amount.value(i) > 0.0);
    }
    let rate = wins as f64 / decided as f64;
    assert!((0.15..0.40).contains(&rate), "win rate {rate}");
    // A won deal's customer bought when the deal closed.
    let l = &company().leads;
    let bought: HashMap<&str, i64> = (0..l.num_rows())
        .filter(|i| strs(l, "customer_id").is_valid(*i))
        .map(|i| {
            (
                strs(l, "customer_id").value(i),
                ts(l, "customer_at").value(i),
            )
        })
        .collect();
    for i in (0..d.num_rows()).filter(|i| ids.is_valid(*i)) {
        assert_eq!(bought[ids.value(i)], closed.value(i));
    }
}

#[test]
fn subscriptions_start_in_the_purchase_month_and_cover_exactly_the_customers() {
    let c = company();
    let s = &c.subscriptions;
    let l = &c.leads;
    let cal = Calendar::new();
    let bought: HashMap<&str, i64> = (0..l.num_rows())
        .filter(|i| strs(l, "customer_id").is_valid(*i))
        .map(|i| {
            (
                strs(l, "customer_id").value(i),
                ts(l, "customer_at").value(i),
            )
        })
        .collect();
    let ids = strs(s, "customer_id");
    let month: &Date32Array = s.column_by_name("month").unwrap().as_primitive();
    let mrr = f64s(s, "mrr");
    let mut first: HashMap<&str, i32> = HashMap::new();
    let mut seen = HashSet::new();
    for i in 0..s.num_rows() {
        let m = month.value(i);
        assert!(seen.insert((ids.value(i), m)), "duplicate month row {i}");
        let e = first.entry(ids.value(i)).or_insert(m);
        *e = (*e).min(m);
        let cents = mrr.value(i) * 100.0;
        assert!(mrr.value(i) > 0.0 && (cents - cents.round()).abs() < 1e-6);
        assert!(m as i64 >= cal.start_day() && (m as i64) < cal.end_day());
    }
    assert_eq!(
        first.keys().copied().collect::<HashSet<_>>(),
        bought.keys().copied().collect::<HashSet<_>>()
    );
    for (id, m) in &first {
        let at_day = bought[id].div_euclid(US_PER_DAY);
        assert_eq!(
            cal.month_start_day(cal.month_of_day(at_day)),
            *m as i64,
            "{id}"
        );
    }
    // Reactivation exists: some customer has a gap between paying months.
    let mut months: HashMap<&str, Vec<i32>> = HashMap::new();
    for i in 0..s.num_rows() {
        months.entry(ids.value(i)).or_default().push(month.value(i));
    }
    let gap = months.values().any(|ms| {
        let mut ms = ms.clone();
        ms.sort();
        ms.windows(2).any(|w| w[1] - w[0] > 31)
    });
    assert!(gap, "no customer ever came back");
}

#[test]
fn responses_and_tickets_are_in_range_and_ordered() {
    let c = company();
    let customers: HashSet<&str> = strs(&c.subscriptions, "customer_id")
        .iter()
        .flatten()
        .collect();
    let r = &c.responses;
    let scores = i8s(r, "score");
    assert!(scores.values().iter().all(|s| (0..=10).contains(s)));
    assert!(strs(r, "respondent")
        .iter()
        .flatten()
        .all(|id| customers.contains(id)));
    let t = &c.tickets;
    let (opened, first, resolved) = (ts(t, "opened"), ts(t, "first_response"), ts(t, "resolved"));
    let csat = i8s(t, "csat");
    let cal = Calendar::new();
    for i in 0..t.num_rows() {
        assert!(opened.value(i) < cal.end_us());
        if let Some(f) = opt(first, i) {
            assert!(f >= opened.value(i));
            if let Some(r) = opt(resolved, i) {
                assert!(r >= f && r < cal.end_us());
            }
        } else {
            assert!(resolved.is_null(i));
        }
        if csat.is_valid(i) {
            assert!((1..=5).contains(&csat.value(i)) && resolved.is_valid(i));
        }
        assert!(i64s(t, "handle_seconds").value(i) >= 0);
    }
    assert!(opened.values().windows(2).all(|w| w[0] <= w[1]));
    assert!(csat.null_count() > 0 && csat.null_count() < t.num_rows());
}

#[test]
fn events_lie_in_the_span_with_one_signup_per_user_at_signup_time() {
    let c = company();
    let l = &c.leads;
    let signed = ts(l, "signed_up_at");
    let lead_ids = i64s(l, "lead_id");
    let signups: HashMap<i64, i64> = (0..l.num_rows())
        .filter(|i| signed.is_valid(*i))
        .map(|i| (lead_ids.value(i), signed.value(i)))
        .collect();
    let bought: HashMap<i64, (String, i64)> = (0..l.num_rows())
        .filter(|i| ts(l, "customer_at").is_valid(*i))
        .map(|i| {
            let id = strs(l, "customer_id").value(i).to_string();
            (lead_ids.value(i), (id, ts(l, "customer_at").value(i)))
        })
        .collect();
    let e = &c.events;
    let (users, times, cust) = (i64s(e, "user_id"), ts(e, "time"), strs(e, "customer_id"));
    let names = dict_values(e, "event");
    let cal = Calendar::new();
    let mut signup_count: HashMap<i64, usize> = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        let (u, t) = (users.value(i), times.value(i));
        assert!(t >= cal.start_day() * US_PER_DAY && t < cal.end_us());
        let s = signups[&u]; // every event belongs to a signed-up lead
        assert!(t >= s);
        if name == "signup" {
            assert_eq!(t, s);
            *signup_count.entry(u).or_default() += 1;
        }
        match bought.get(&u) {
            Some((id, at)) if t >= *at => assert_eq!(cust.value(i), id),
            _ => assert!(cust.is_null(i), "row {i}"),
        }
    }
    assert_eq!(signup_count.len(), signups.len());
    assert!(signup_count.values().all(|n| *n == 1));
    // The bulk of the rows, at about a million per unit of scale.
    assert!(
        (20_000..120_000).contains(&e.num_rows()),
        "{}",
        e.num_rows()
    );
    let kinds: HashSet<&String> = names.iter().collect();
    assert_eq!(kinds.len(), EVENTS.len());
}

#[test]
fn spend_has_every_month_and_channel() {
    let s = &company().spend;
    assert_eq!(s.num_rows(), MONTHS * SPEND_CHANNELS.len());
    assert!(f64s(s, "amount").values().iter().all(|a| *a > 0.0));
    let channels: HashSet<String> = dict_values(s, "channel").into_iter().collect();
    assert_eq!(channels.len(), 7);
    assert!(channels.contains("sales"));
}

#[test]
fn calendar_spans_the_24_fixed_months() {
    let cal = Calendar::new();
    assert_eq!(
        cal.start_day(),
        crate::core::input::time::days_from_civil(2024, 11, 1)
    );
    assert_eq!(
        cal.end_day(),
        crate::core::input::time::days_from_civil(2026, 11, 1)
    );
    assert_eq!(cal.days(), 730);
    assert_eq!(cal.month_of_day(cal.end_day() - 1), MONTHS - 1);
    assert_eq!(mrr_cents(1, 7, 10), (19_900 + 2 * 2_900) * 9 / 10);
}

#[test]
fn quotas_cover_every_deal_owner_and_month_with_realistic_attainment() {
    let c = company();
    let q = &c.quotas;
    assert_eq!(q.num_rows(), MONTHS * REPS.len());
    let owners = dict_values(q, "owner");
    let deal_owners: HashSet<String> = dict_values(&c.deals, "owner").into_iter().collect();
    assert_eq!(owners.iter().cloned().collect::<HashSet<_>>(), deal_owners);
    let month: &Date32Array = q.column_by_name("month").unwrap().as_primitive();
    let quota = f64s(q, "quota");
    let cal = Calendar::new();
    let mut cells = HashSet::new();
    for (i, owner) in owners.iter().enumerate() {
        assert!(cells.insert((owner.clone(), month.value(i))), "row {i}");
        let m = month.value(i) as i64;
        assert_eq!(cal.month_start_day(cal.month_of_day(m)), m);
        // Positive whole hundreds.
        assert!(
            quota.value(i) >= 100.0 && quota.value(i) % 100.0 == 0.0,
            "row {i}"
        );
    }
    // Won amounts against quota over the span: the team near 90 % (wide: few deals at this
    // scale; per-rep attainment is checked at a larger scale in tests/python/test_demo.py).
    let d = &c.deals;
    let won = d.column_by_name("won").unwrap().as_boolean();
    let (amount, closed) = (f64s(d, "amount"), ts(d, "closed"));
    let actual: f64 = (0..d.num_rows())
        .filter(|i| won.is_valid(*i) && won.value(*i) && closed.value(*i) < cal.end_us())
        .map(|i| amount.value(i))
        .sum();
    let team = actual / quota.values().iter().sum::<f64>();
    assert!((0.75..1.1).contains(&team), "team attainment {team}");
}

#[test]
fn campaign_funnels_shrink_stage_by_stage_with_plausible_rates() {
    let c = company();
    let t = &c.campaigns;
    let cal = Calendar::new();
    let n = t.num_rows();
    assert!(n > MONTHS && n <= 2 * MONTHS, "{n}");
    let stages: Vec<&Int64Array> = ["sent", "delivered", "opened", "clicked", "converted"]
        .iter()
        .map(|s| i64s(t, s))
        .collect();
    let mut totals = [0i64; 5];
    for i in 0..n {
        assert!(stages[0].value(i) > 0, "row {i}");
        for k in 0..5 {
            totals[k] += stages[k].value(i);
            if k > 0 {
                assert!(
                    stages[k].value(i) <= stages[k - 1].value(i),
                    "row {i} stage {k}"
                );
            }
        }
        assert!(stages[4].value(i) >= 0);
    }
    let rate = |a: usize, b: usize| totals[a] as f64 / totals[b] as f64;
    assert!(
        (0.95..0.99).contains(&rate(1, 0)),
        "delivery {}",
        rate(1, 0)
    );
    assert!((0.20..0.35).contains(&rate(2, 1)), "open {}", rate(2, 1));
    assert!((0.02..0.05).contains(&rate(3, 1)), "ctr {}", rate(3, 1));
    assert_eq!(
        i64s(t, "campaign_id").values().to_vec(),
        (1..=n as i64).collect::<Vec<_>>()
    );
    let sent_at = ts(t, "sent_at");
    assert!(sent_at.values().windows(2).all(|w| w[0] < w[1]));
    assert!(sent_at
        .values()
        .iter()
        .all(|s| *s >= cal.month_start_us(0) && *s < cal.end_us()));
    // Campaign spend is part of the month's e-mail spend.
    let s = &c.spend;
    let (s_month, s_channel, s_amount) = (
        s.column_by_name("month")
            .unwrap()
            .as_primitive::<arrow::datatypes::Date32Type>(),
        dict_values(s, "channel"),
        f64s(s, "amount"),
    );
    let spend = f64s(t, "spend");
    for m in 0..MONTHS {
        let email = (0..s.num_rows())
            .find(|&i| s_channel[i] == "email" && s_month.value(i) as i64 == cal.month_start_day(m))
            .map(|i| s_amount.value(i))
            .unwrap();
        let campaigns: f64 = (0..n)
            .filter(|&i| cal.month_of_us(sent_at.value(i)) == m)
            .map(|i| spend.value(i))
            .sum();
        assert!(
            campaigns > 0.0 && campaigns < email,
            "month {m}: {campaigns} of {email}"
        );
    }
    let revenue = f64s(t, "revenue");
    assert!((0..n).all(|i| (revenue.value(i) > 0.0) == (stages[4].value(i) > 0)));
    let kinds: HashSet<String> = dict_values(t, "campaign").into_iter().collect();
    assert_eq!(kinds.len(), 3);
}

#[test]
fn planning_tables_are_deterministic_and_follow_the_seed() {
    let (a, b) = (
        demo_company(9, 0.02).unwrap(),
        demo_company(9, 0.02).unwrap(),
    );
    assert_eq!((&a.quotas, &a.campaigns), (&b.quotas, &b.campaigns));
    let c = demo_company(10, 0.02).unwrap();
    assert_ne!(a.quotas, c.quotas);
    assert_ne!(a.campaigns, c.campaigns);
}
