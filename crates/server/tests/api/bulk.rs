//! The bulk paths (the demo company, imports) against the one-by-one ones: the same input
//! written through multi-row statements and through one call per record must give the same
//! records, sealed at rest the same way, found by search and lookups the same way, with every
//! reference pointing where it should.

use rapport_domain::customer::{Address, CustomerInput, LifecycleStage};
use rapport_domain::permissions::Actor;
use rapport_domain::sales::activity::{ActivityInput, ActivityKind};
use rapport_domain::sales::lead::LeadStatus;
use rapport_domain::sales::opportunity::{OpportunityData, OpportunityInput, StageChange};
use rapport_domain::sales::order::{OrderContext, OrderData, OrderInput, OrderLineInput, OrderStatus};
use rapport_domain::sales::pipeline::StageOutcome;
use rapport_domain::sales::product::ProductFacts;
use rapport_domain::values::Region;
use rapport_store::crypto::{Keyring, SharedKeyring};
use serde_json::{Value, json};
use sqlx::{Connection, Row};

use crate::helpers::{TestApp, backends, spawn_app_with_keys};

/// More people than one bulk statement holds, so ids must line up across statements.
const PEOPLE: usize = 310;

/// What a test writes, once in bulk and once record by record.
struct Written {
    people: Vec<i64>,
    orders: Vec<i64>,
    deals: Vec<i64>,
    activities: Vec<i64>,
}

fn person(i: usize, company: i64, owner: i64) -> CustomerInput {
    CustomerInput {
        name: Some(format!("Zoë Bulkperson{i}")),
        email: Some(Some(format!("zoe.{i}@bulk.example"))),
        phone: Some(Some(format!("+1 415 555 {:04}", i))),
        address: Some(Address { street: Some(format!("{i} Hidden Lane")), city: Some("Austin".into()), ..Default::default() }),
        company_id: Some((!i.is_multiple_of(3)).then_some(company)),
        lifecycle_stage: Some(if i.is_multiple_of(2) { LifecycleStage::Lead } else { LifecycleStage::Customer }),
        owner_id: Some(Some(owner)),
        tags: Some(if i.is_multiple_of(4) { vec!["vip".into(), "newsletter".into()] } else { vec![] }),
        needs: Some(i.is_multiple_of(5).then(|| "Wants a quote".into())),
        ..Default::default()
    }
}

/// Writes the same people, orders, deals, activities and lead statuses, in bulk or one by one.
async fn write(app: &TestApp, bulk: bool) -> Written {
    let system = Actor::system();
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let admin: i64 = sqlx::query("SELECT id FROM users WHERE email = 'admin@example.com'").fetch_one(&mut conn).await.unwrap().get("id");
    let company = app.company(json!({"name": "Bulk Corp", "domain": "bulk.example"})).await["id"].as_i64().unwrap();
    let defs = app.store.customer_fields(&system).await.unwrap();
    let data: Vec<_> = (0..PEOPLE).map(|i| person(i, company, admin).apply(None, &defs, Region::US).unwrap()).collect();
    let people = if bulk {
        app.store.create_customers_batch(&system, &data).await.unwrap()
    } else {
        let mut ids = vec![];
        for d in &data {
            ids.push(app.store.create_customer(&system, || Ok::<_, rapport_store::Error>(d.clone())).await.unwrap().id);
        }
        ids
    };

    let p = app.product("BULK-1", "Bulk widget", 1_250, "USD").await;
    let facts =
        ProductFacts { sku: "BULK-1".into(), name: "Bulk widget".into(), unit_price_minor: 1_250, currency: "USD".into(), active: true };
    let lookup = |_| Some(facts.clone());
    let orders: Vec<OrderData> = people
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let lines = (0..1 + i % 3)
                .map(|n| OrderLineInput {
                    product_id: p["id"].as_i64(),
                    quantity: Some(1 + n as i64),
                    discount_bp: Some(500 * (i % 2) as i64),
                    ..Default::default()
                })
                .collect();
            let input = OrderInput {
                customer_id: Some(*c),
                company_id: Some((!i.is_multiple_of(3)).then_some(company)),
                status: Some(OrderStatus::Paid),
                order_date: Some(format!("2026-03-{:02}", 1 + i % 28)),
                lines: Some(lines),
                tax_rate_bp: Some(800),
                ..Default::default()
            };
            input.apply(None, &OrderContext { product: &lookup, now: "2026-03-01T00:00:00.000000Z" }).unwrap()
        })
        .collect();
    let order_ids = if bulk {
        app.store.import_orders(&system, &orders).await.unwrap()
    } else {
        let mut ids = vec![];
        for o in &orders {
            ids.extend(app.store.import_orders(&system, std::slice::from_ref(o)).await.unwrap());
        }
        ids
    };

    let pipelines = app.store.pipeline_set().await.unwrap();
    let pipeline_id = pipelines.default_id().unwrap();
    let first = pipelines.get(pipeline_id).unwrap().keys_with(StageOutcome::Open)[0].to_string();
    let deals: Vec<(OpportunityData, Vec<StageChange>)> = people
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let input = OpportunityInput {
                name: Some(format!("Deal {i}")),
                amount_minor: Some(1_000 * i as i64),
                currency: Some("USD".into()),
                owner_id: Some(Some(admin)),
                customer_id: Some(Some(*c)),
                pipeline_id: Some(pipeline_id),
                stage: Some(first.clone()),
                ..Default::default()
            };
            let at = format!("2026-02-{:02}T10:00:00.000000Z", 1 + i % 28);
            let data = pipelines.with_context(&at, |ctx| input.apply(None, ctx)).unwrap();
            let created = StageChange {
                pipeline_id: Some(pipeline_id),
                from_stage: None,
                to_stage: first.clone(),
                outcome: StageOutcome::Open,
                at,
                actor_id: Some(admin),
            };
            (data, vec![created])
        })
        .collect();
    let deal_ids = if bulk {
        app.store.import_opportunities(&system, &deals).await.unwrap()
    } else {
        let mut ids = vec![];
        for d in &deals {
            ids.extend(app.store.import_opportunities(&system, std::slice::from_ref(d)).await.unwrap());
        }
        ids
    };

    let stamp = "2026-03-01T00:00:00.000000Z";
    let activities: Vec<_> = people
        .iter()
        .zip(&deal_ids)
        .map(|(c, d)| {
            let input = ActivityInput {
                kind: Some(ActivityKind::Task),
                subject: Some("Send the quote".into()),
                due_at: Some(Some("2026-03-05".into())),
                customer_id: Some(Some(*c)),
                opportunity_id: Some(Some(*d)),
                owner_id: Some(Some(admin)),
                assignee_id: Some(Some(admin)),
                ..Default::default()
            };
            input.apply(None, stamp).unwrap()
        })
        .collect();
    let activity_ids = if bulk {
        app.store.create_activities_batch(&system, &activities).await.unwrap()
    } else {
        let mut ids = vec![];
        for a in &activities {
            ids.push(app.store.create_activity(&system, || Ok::<_, rapport_store::Error>(a.clone())).await.unwrap().id);
        }
        ids
    };

    // Lead statuses: a batch of changes in one transaction, or one update each.
    let leads: Vec<i64> = people.iter().step_by(2).copied().collect();
    let input = |n: usize| CustomerInput {
        lead_status: Some(if n.is_multiple_of(2) { LeadStatus::Working } else { LeadStatus::Disqualified }),
        disqualified_reason: Some((!n.is_multiple_of(2)).then(|| "No budget".into())),
        ..Default::default()
    };
    if bulk {
        let changes = leads.iter().enumerate().map(|(n, id)| (*id, move |cur: &_| input(n).apply(Some(cur), &[], Region::US)));
        assert_eq!(app.store.update_customers_batch(&system, changes).await.unwrap(), leads.len());
    } else {
        for (n, id) in leads.iter().enumerate() {
            app.store.update_customer(&system, *id, None, |cur| input(n).apply(Some(cur), &[], Region::US)).await.unwrap();
        }
    }
    Written { people, orders: order_ids, deals: deal_ids, activities: activity_ids }
}

/// A record as the API shows it, without what differs between two writes of it (its times).
async fn shown(app: &TestApp, path: &str) -> Value {
    let mut r = app.get(path).await.body;
    for key in ["created_at", "updated_at", "stage_entered_at", "done_at"] {
        r.as_object_mut().map(|m| m.remove(key));
    }
    r
}

/// The audit actions written for people, in order.
async fn audit_of_people(app: &TestApp) -> Vec<(String, Option<i64>)> {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let rows =
        sqlx::query("SELECT action, record_id FROM audit_log WHERE object = 'customer' ORDER BY id").fetch_all(&mut conn).await.unwrap();
    rows.iter().map(|r| (r.get::<String, _>("action"), r.get::<Option<i64>, _>("record_id"))).collect()
}

#[tokio::test]
async fn bulk_writes_store_what_one_by_one_writes_store() {
    for backend in backends() {
        let bulk = spawn_app_with_keys(backend, Some(SharedKeyring::fixed(Keyring::generate()))).await;
        let single = spawn_app_with_keys(backend, Some(SharedKeyring::fixed(Keyring::generate()))).await;
        let b = write(&bulk, true).await;
        let s = write(&single, false).await;
        assert_eq!(b.people, s.people, "{backend:?}: both fresh databases give the same ids, in input order");
        assert_eq!((&b.orders, &b.deals, &b.activities), (&s.orders, &s.deals, &s.activities));

        for (i, id) in b.people.iter().enumerate() {
            let (x, y) = (shown(&bulk, &format!("/api/v1/customers/{id}")).await, shown(&single, &format!("/api/v1/customers/{id}")).await);
            assert_eq!(x, y, "{backend:?}: person {i}");
            assert_eq!(x["email"], format!("zoe.{i}@bulk.example"), "sealed values open again");
            assert_eq!(x["company_name"].as_str(), (!i.is_multiple_of(3)).then_some("Bulk Corp"), "{x}");
        }
        for (path, ids) in [("orders", &b.orders), ("opportunities", &b.deals), ("activities", &b.activities)] {
            for id in ids.iter().step_by(7) {
                let x = shown(&bulk, &format!("/api/v1/{path}/{id}")).await;
                assert_eq!(x, shown(&single, &format!("/api/v1/{path}/{id}")).await, "{backend:?}: {path} {id}");
                assert!(x["id"].is_i64(), "{x}");
            }
        }
        for (n, (id, person)) in b.deals.iter().zip(&b.people).enumerate().step_by(11) {
            let x = bulk.get(&format!("/api/v1/opportunities/{id}/history")).await.body["changes"].clone();
            assert_eq!(x, single.get(&format!("/api/v1/opportunities/{id}/history")).await.body["changes"]);
            assert_eq!(x.as_array().map(Vec::len), Some(1), "{x}");
            assert_eq!(bulk.get(&format!("/api/v1/opportunities/{id}")).await.body["customer_id"], *person, "deal {n}");
            let bought = bulk.get(&format!("/api/v1/customers/{person}/purchases")).await.body;
            assert_eq!(bought, single.get(&format!("/api/v1/customers/{person}/purchases")).await.body);
            assert_eq!(bought.as_array().map(Vec::len), Some(1 + n % 3), "each line of the person's order: {bought}");
        }
        for app in [&bulk, &single] {
            // Search words, the blind index and the tag table were written for every row.
            assert_eq!(app.people("q=bulkperson301").await, ["Zoë Bulkperson301"], "{backend:?}");
            assert_eq!(app.people("email=ZOE.27@bulk.example").await, ["Zoë Bulkperson27"]);
            let vip = app.all_names("/api/v1/customers?tag=vip&limit=500").await;
            assert_eq!(vip.len(), PEOPLE.div_ceil(4), "{backend:?}: {vip:?}");
            let working = app.all_names("/api/v1/customers?lead_status=working&limit=500").await;
            assert_eq!(working.len(), PEOPLE.div_ceil(2).div_ceil(2), "{backend:?}");
            // Nothing personal in clear at rest.
            let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
            for r in sqlx::query("SELECT email, phone, address_street FROM customers").fetch_all(&mut conn).await.unwrap() {
                for col in 0..3 {
                    let v: String = r.get::<Option<String>, _>(col).unwrap();
                    assert!(v.starts_with("enc1:"), "{backend:?}: stored in clear: {v}");
                }
            }
        }
        // Each lead's change keeps its own audit row: only the creations differ (one row for
        // the batch instead of one per person).
        let (x, y) = (audit_of_people(&bulk).await, audit_of_people(&single).await);
        let updates = |a: &[(String, Option<i64>)]| a.iter().filter(|(act, _)| act == "update").cloned().collect::<Vec<_>>();
        assert_eq!(updates(&x), updates(&y));
        assert_eq!(updates(&x).len(), PEOPLE.div_ceil(2));
        assert_eq!(x.iter().filter(|(a, _)| a == "bulk_create").count(), 1);
        bulk.cleanup().await;
        single.cleanup().await;
    }
}
