//! Issue 12's segments at a million people, on both engines: order statistics come from
//! `customer_order_stats`, which the triggers on orders keep right through every order write
//! (create, pay, delete), and a count with order statistics, tags and engagement reads each as
//! one set probed per person — never a correlated subquery per person, never the orders table.
//! The plans are the engines' own, planned as for a large table (see `list_plans`).

use axum::http::StatusCode;
use rapport_domain::permissions::Actor;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::{Backend, TestApp};

async fn count(app: &TestApp, rules: Value) -> i64 {
    let r = app.post("/api/v1/segments/preview_count", json!({"rules": rules})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["count"].as_i64().unwrap()
}

fn cond(field: &str, op: &str, value: Value) -> Value {
    json!({"field": field, "op": op, "value": value})
}

async fn stats(app: &TestApp) -> Vec<(i64, i64, i64, String)> {
    let mut db = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let q = "SELECT customer_id, total_spend, order_count, last_order_date FROM customer_order_stats ORDER BY customer_id";
    sqlx::query_as(q).fetch_all(&mut db).await.unwrap()
}

#[tokio::test]
async fn order_statistics_follow_each_order_write_and_people_without_orders_count_as_zero() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann"})).await;
        let bob = app.customer(json!({"name": "Bob"})).await;
        let _cy = app.customer(json!({"name": "Cy"})).await;
        let (a, b) = (ann["id"].as_i64().unwrap(), bob["id"].as_i64().unwrap());
        let plan = app.product("P1", "Plan", 10_000, "EUR").await;
        let paid = app.paid_order(&ann, "2026-02-01", json!([{"product_id": plan["id"], "quantity": 3}])).await;
        let draft =
            app.post("/api/v1/orders", json!({"customer_id": b, "order_date": "2026-03-05", "lines": [{"product_id": plan["id"]}]})).await;
        assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
        let spent = |n: i64| cond("orders.total_spend", "gte", json!(n));
        assert_eq!(stats(&app).await, [(a, 30_000, 1, "2026-02-01".to_string())], "a draft is no purchase");
        assert_eq!(count(&app, spent(20_000)).await, 1);
        assert_eq!(count(&app, cond("orders.count", "eq", json!(0))).await, 2, "Bob (a draft only) and Cy");
        assert_eq!(count(&app, cond("orders.total_spend", "lt", json!(100))).await, 2, "holds for no orders: spend 0");

        // Bob's order confirmed and paid: his row appears.
        let id = draft.body["id"].as_i64().unwrap();
        for action in ["confirm", "pay"] {
            let r = app.post(&format!("/api/v1/orders/{id}/{action}"), json!({})).await;
            assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
        }
        assert_eq!(stats(&app).await.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(), [(a, 30_000), (b, 10_000)]);
        assert_eq!(count(&app, spent(10_000)).await, 2);
        assert_eq!(count(&app, cond("orders.last_order_date", "gte", json!("2026-03-01"))).await, 1, "Bob's");
        assert_eq!(count(&app, cond("orders.last_order_date", "is_empty", Value::Null)).await, 1, "Cy");

        // Ann's order deleted: her row goes, she counts as no orders again.
        let r = app.delete(&format!("/api/v1/orders/{}", paid["id"])).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        assert_eq!(stats(&app).await.iter().map(|s| s.0).collect::<Vec<_>>(), [b]);
        assert_eq!(count(&app, spent(20_000)).await, 0);
        assert_eq!(count(&app, cond("orders.count", "lte", json!(0))).await, 2, "Ann and Cy");
        assert_eq!(count(&app, json!({"not": cond("orders.count", "lte", json!(0))})).await, 1, "the exact complement: Bob");
    });
}

/// One transaction that writes the paid orders of many people (a restore, an import of orders,
/// a batch) keeps each one's statistics. The PostgreSQL trigger took an advisory lock per
/// person, held to the end of the transaction: past a few thousand people the server's lock
/// table was full ("out of shared memory"), and a SQLite backup of the demo did not restore.
#[tokio::test]
async fn one_transaction_writing_the_orders_of_many_people_keeps_their_statistics() {
    const PEOPLE: i64 = 20_000;
    each_backend!(|app| {
        let mut db = sqlx::AnyConnection::connect(&app.url).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        let at = "'2026-02-01T00:00:00.000000Z'";
        let people = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {PEOPLE}) \
             INSERT INTO customers (name, sort_name, lifecycle_stage, created_at, updated_at) \
             SELECT 'Bulk ' || i, 'bulk ' || i, 'customer', {at}, {at} FROM n"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(people)).execute(&mut *tx).await.unwrap();
        let orders = format!(
            "INSERT INTO orders (customer_id, status, currency, sort_name, total_minor, order_date, created_at, updated_at) \
             SELECT id, 'paid', 'EUR', 'bulk', 2500, '2026-02-01', {at}, {at} FROM customers WHERE sort_name LIKE 'bulk %'"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(orders)).execute(&mut *tx).await.expect("the orders of every person in one transaction");
        tx.commit().await.unwrap();
        let all = stats(&app).await;
        assert_eq!(all.len() as i64, PEOPLE);
        assert!(all.iter().all(|s| (s.1, s.2, s.3.as_str()) == (2500, 1, "2026-02-01")), "{:?}", &all[..3]);
        assert_eq!(count(&app, cond("orders.total_spend", "gte", json!(2500))).await, PEOPLE);
    });
}

#[tokio::test]
async fn a_count_with_order_statistics_tags_and_engagement_reads_each_as_one_set() {
    each_backend!(|app| {
        let c = app
            .post(
                "/api/v1/campaigns",
                json!({"name": "Spring", "channel": "email", "currency": "EUR", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}),
            )
            .await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
        let c = c.body["id"].clone();
        let rules = json!({"all": [
            cond("orders.total_spend", "gte", json!(50_000)),
            cond("orders.count", "lt", json!(3)),
            cond("orders.last_order_date", "within_last_days", json!(90)),
            cond("tag", "has", json!("vip")),
            {"any": [cond("engagement.opened", "eq", c.clone()), cond("engagement.clicked", "eq", c.clone())]},
            {"not": cond("engagement.received", "eq", c.clone())}
        ]});
        let plan = app.store.explain_preview_count(&Actor::system(), &rules).await.unwrap();
        if std::env::var("SHOW_PLANS").is_ok() {
            eprintln!("{plan}");
        }
        assert!(!plan.replace("customer_order_stats", "").contains("orders"), "never the orders table:\n{plan}");
        assert!(plan.contains("customer_order_stats") || plan.contains("SCAN os"), "the statistics come from their table:\n{plan}");
        match app.backend {
            Backend::Sqlite => {
                assert!(!plan.contains("CORRELATED"), "no subquery per person:\n{plan}");
                for l in plan.lines().filter(|l| l.contains(" cm") || l.contains(" tg")) {
                    assert!(l.contains("INDEX"), "members and tags through their indexes: {l}\n{plan}");
                }
            }
            Backend::Postgres => {
                // A subplan's own node is headed `SubPlan n`; where it is used says `hashed`.
                for l in plan.lines().filter(|l| l.contains("SubPlan") && !l.trim_start().starts_with("SubPlan")) {
                    assert!(l.contains("hashed"), "no subquery per person: {l}\n{plan}");
                }
                assert!(!plan.contains("Seq Scan on campaign_members") && !plan.contains("Seq Scan on customer_tags"), "{plan}");
            }
        }
    });
}
