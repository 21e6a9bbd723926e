//! The batch API (issue 13 §1): per-record results in order, all or nothing or best effort,
//! upserts by a unique key, the 1,000-record limit, `Idempotency-Key`, and an audit row (and
//! so a webhook event) per record.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{Res, TestApp};

async fn batch(app: &TestApp, plural: &str, body: Value, key: Option<&str>) -> Res {
    let headers: Vec<(&str, &str)> = key.map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
    app.call(Method::POST, &format!("/api/v1/{plural}/batch"), Some(&app.token), Some(body), &headers).await
}

fn statuses(r: &Res) -> Vec<i64> {
    r.body["results"].as_array().unwrap().iter().map(|x| x["status"].as_i64().unwrap()).collect()
}

async fn audit_creates(app: &TestApp, object: &str) -> usize {
    let r = app.get(&format!("/api/v1/audit_log?object={object}&action=create&limit=500")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().unwrap().len()
}

#[tokio::test]
async fn best_effort_writes_the_good_records_and_reports_each_in_order() {
    each_backend!(|app| {
        let body = json!({"mode": "best_effort", "records": [
            {"data": {"name": "Ann", "email": "ann@example.com"}},
            {"data": {"name": "Bad", "email": "not an email"}},
            {"data": {"email": "noname@example.com"}},
            {"data": {"name": "Cy", "nope": 1}},
            {"data": {"name": "Dee"}},
        ]});
        let r = batch(&app, "customers", body, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(statuses(&r), [201, 422, 422, 422, 201], "{}", r.body);
        let results = r.body["results"].as_array().unwrap();
        assert_eq!(results[1]["error"]["errors"][0]["field"], "records[1].email", "{}", r.body);
        assert_eq!(results[2]["error"]["errors"][0]["field"], "records[2].name");
        assert_eq!(results[3]["error"]["errors"][0]["field"], "records[3].nope", "{}", r.body);
        assert_eq!((r.body["created"].as_i64(), r.body["failed"].as_i64()), (Some(2), Some(3)));
        let mut names = app.people("").await;
        names.sort();
        assert_eq!(names, ["Ann", "Dee"]);
        let ann = results[0]["id"].as_i64().unwrap();
        assert_eq!(app.get(&format!("/api/v1/customers/{ann}")).await.body["email"], "ann@example.com");
        assert_eq!(audit_creates(&app, "customer").await, 2, "one audit row per written record, none for refused ones");
    });
}

#[tokio::test]
async fn all_or_nothing_writes_nothing_when_one_record_fails() {
    each_backend!(|app| {
        let body = json!({"records": [{"data": {"name": "Ann"}}, {"data": {"name": ""}}, {"data": {"name": "Bo"}}]});
        let r = batch(&app, "customers", body, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(statuses(&r), [424, 422, 424], "{}", r.body);
        assert_eq!(r.body["mode"], "all_or_nothing");
        assert_eq!(r.body["results"][0]["outcome"], "rolled_back");
        assert!(app.people("").await.is_empty(), "nothing written");
        assert_eq!(audit_creates(&app, "customer").await, 0);
        // A duplicate inside the batch fails at the database, and still undoes the rest.
        let dup =
            json!({"records": [{"data": {"name": "A", "email": "x@example.com"}}, {"data": {"name": "B", "email": "X@example.com"}}]});
        let r = batch(&app, "customers", dup, None).await;
        assert_eq!(statuses(&r), [424, 409], "{}", r.body);
        assert_eq!(r.body["results"][1]["error"]["errors"][0]["field"], "records[1].email");
        assert!(app.people("").await.is_empty());
        let ok = json!({"records": [{"data": {"name": "Ann"}}, {"data": {"name": "Bo"}}]});
        let r = batch(&app, "customers", ok, None).await;
        assert_eq!(statuses(&r), [201, 201]);
        assert_eq!(app.people("").await.len(), 2);
    });
}

#[tokio::test]
async fn upserts_by_external_id_or_email_create_once_and_update_after() {
    each_backend!(|app| {
        let body = |city: &str| {
            json!({"operation": "upsert", "mode": "best_effort", "records": [
                {"data": {"external_id": "crm-1", "name": "Ann", "address": {"city": city}}},
                {"data": {"external_id": "crm-2", "name": "Bo"}},
                {"data": {"name": "No key"}},
            ]})
        };
        let first = batch(&app, "customers", body("Paris"), None).await;
        assert_eq!(statuses(&first), [201, 201, 422], "{}", first.body);
        assert_eq!(first.body["results"][2]["error"]["errors"][0]["field"], "records[2].external_id");
        let second = batch(&app, "customers", body("Lyon"), None).await;
        assert_eq!(statuses(&second), [200, 200, 422], "{}", second.body);
        assert_eq!(second.body["results"][0]["id"], first.body["results"][0]["id"]);
        assert_eq!(second.body["results"][0]["version"], 2);
        assert_eq!(app.people("").await.len(), 2, "the same upsert twice creates nothing twice");
        let ann = app.get("/api/v1/customers?external_id=crm-1").await;
        assert_eq!(ann.body["data"][0]["address"]["city"], "Lyon", "{}", ann.body);

        let by_email = json!({"operation": "upsert", "upsert_key": "email", "records": [
            {"data": {"email": "ZOE@Example.com", "name": "Zoë"}}]});
        let r = batch(&app, "customers", by_email.clone(), None).await;
        assert_eq!(statuses(&r), [201]);
        let again =
            json!({"operation": "upsert", "upsert_key": "email", "records": [{"data": {"email": "zoe@example.com", "notes": "again"}}]});
        let r2 = batch(&app, "customers", again, None).await;
        assert_eq!(statuses(&r2), [200], "{}", r2.body);
        assert_eq!(r2.body["results"][0]["id"], r.body["results"][0]["id"]);
        assert_eq!(app.people("").await.len(), 3);

        let bad_key = json!({"operation": "upsert", "upsert_key": "phone", "records": [{"data": {"name": "x"}}]});
        let r = batch(&app, "customers", bad_key, None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["upsert_key"]);

        // Products upsert by SKU, companies by domain; updates name their record and version.
        let p = json!({"operation": "upsert", "records": [{"data": {"sku": "ab-1", "name": "Widget", "unit_price_minor": 100, "currency": "EUR"}}]});
        assert_eq!(statuses(&batch(&app, "products", p, None).await), [201]);
        let p2 = json!({"operation": "upsert", "records": [{"data": {"sku": "AB-1", "unit_price_minor": 250}}]});
        let r = batch(&app, "products", p2, None).await;
        assert_eq!(statuses(&r), [200], "{}", r.body);
        let id = r.body["results"][0]["id"].as_i64().unwrap();
        assert_eq!(app.get(&format!("/api/v1/products/{id}")).await.body["unit_price_minor"], 250);
        let c = json!({"operation": "upsert", "upsert_key": "domain", "records": [
            {"data": {"domain": "https://www.acme.io/x", "name": "Acme"}}, {"data": {"domain": "acme.io", "industry": "Tools"}}]});
        let r = batch(&app, "companies", c, None).await;
        assert_eq!(statuses(&r), [201, 200], "{}", r.body);
        let stale = json!({"operation": "update", "mode": "best_effort", "records": [
            {"id": id, "version": 1, "data": {"name": "Old"}}, {"id": id, "version": 2, "data": {"name": "New"}}, {"data": {"name": "no id"}}]});
        let r = batch(&app, "products", stale, None).await;
        assert_eq!(statuses(&r), [412, 200, 422], "{}", r.body);
    });
}

#[tokio::test]
async fn a_batch_takes_at_most_a_thousand_records() {
    each_backend!(|app| {
        let records: Vec<Value> = (0..1001).map(|i| json!({"data": {"name": format!("P{i}")}})).collect();
        let r = batch(&app, "customers", json!({"records": records}), None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["records"]);
        let r = batch(&app, "customers", json!({"records": []}), None).await;
        assert_eq!(r.error_fields(), ["records"]);
        let records: Vec<Value> = (0..1000).map(|i| json!({"data": {"name": format!("P{i:04}")}})).collect();
        let r = batch(&app, "activities", json!({"records": [{"data": {"kind": "note"}}]}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = batch(&app, "customers", json!({"records": records}), None).await;
        assert_eq!(r.body["created"], 1000, "{}", r.body["results"][0]);
        assert_eq!(app.people("").await.len(), 1000);
    });
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_response_and_writes_nothing_again() {
    each_backend!(|app| {
        let body = json!({"mode": "best_effort", "records": [{"data": {"name": "Ann"}}, {"data": {"name": ""}}]});
        let first = batch(&app, "customers", body.clone(), Some("key-1")).await;
        assert_eq!(statuses(&first), [201, 422]);
        assert_eq!(first.headers.get("idempotent-replayed"), None);
        let again = batch(&app, "customers", body.clone(), Some("key-1")).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body, first.body, "the stored response");
        assert_eq!(again.header("idempotent-replayed"), "true");
        assert_eq!(app.people("").await, ["Ann"], "the retry changed nothing");
        assert_eq!(audit_creates(&app, "customer").await, 1);

        let other = json!({"records": [{"data": {"name": "Someone else"}}]});
        let r = batch(&app, "customers", other.clone(), Some("key-1")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["Idempotency-Key"]);
        // Keys are per path and per user: the same key elsewhere is another request.
        let p = json!({"records": [{"data": {"sku": "K-1", "name": "K", "unit_price_minor": 1, "currency": "EUR"}}]});
        assert_eq!(statuses(&batch(&app, "products", p, Some("key-1")).await), [201]);
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let r = app.call(Method::POST, "/api/v1/customers/batch", Some(&rep), Some(other), &[("idempotency-key", "key-1")]).await;
        assert_eq!(statuses(&r), [201], "{}", r.body);
        // An all-or-nothing failure is stored too: its retry writes nothing.
        let failing = json!({"records": [{"data": {"name": "Cy"}}, {"data": {"name": ""}}]});
        let r1 = batch(&app, "customers", failing.clone(), Some("key-2")).await;
        let r2 = batch(&app, "customers", failing, Some("key-2")).await;
        assert_eq!((statuses(&r1), r2.body.clone()), (vec![424, 422], r1.body.clone()));
        let bad = app
            .call(
                Method::POST,
                "/api/v1/customers/batch",
                Some(&app.token),
                Some(json!({"records": [{"data": {"name": "x"}}]})),
                &[("idempotency-key", "")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.error_fields(), ["Idempotency-Key"]);
    });
}

#[tokio::test]
async fn batch_records_keep_the_callers_permissions_and_visibility() {
    each_backend!(|app| {
        let viewer = app.user_token("viewer@example.com", Role::Viewer).await;
        let r = app
            .call(Method::POST, "/api/v1/customers/batch", Some(&viewer), Some(json!({"records": [{"data": {"name": "x"}}]})), &[])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(statuses(&r), [403]);
        let other = app.user_token("other@example.com", Role::SalesRep).await;
        let hidden = app.call(Method::POST, "/api/v1/customers", Some(&other), Some(json!({"name": "Hidden"})), &[]).await;
        let id = hidden.body["id"].as_i64().unwrap();
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let r = app
            .call(
                Method::POST,
                "/api/v1/customers/batch",
                Some(&rep),
                Some(json!({"operation": "update", "records": [{"id": id, "data": {"name": "Mine now"}}]})),
                &[],
            )
            .await;
        assert_eq!(statuses(&r), [404], "{}", r.body);
    });
}
