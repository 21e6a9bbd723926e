//! Exports (issue 13 §3): every record type as CSV or JSON lines, as the caller may see it
//! (visibility, PII masking), audited, with spreadsheet formulas neutralized.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{Res, TestApp};

async fn export(app: &TestApp, token: &str, path: &str) -> (Res, String) {
    let r = app.call(Method::GET, path, Some(token), None, &[]).await;
    let text = match &r.body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    (r, text)
}

fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let head = rd.headers().unwrap().iter().map(String::from).collect();
    let rows = rd.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    (head, rows)
}

#[tokio::test]
async fn exports_stream_every_record_as_csv_or_json_lines_with_formulas_neutralized() {
    each_backend!(|app| {
        app.customer(json!({"name": "=cmd|' /C calc'!A0", "email": "ann@example.com", "tags": ["b", "vip"], "address": {"city": "Paris"}}))
            .await;
        let many: Vec<Value> = (0..620).map(|i| json!({"data": {"name": format!("Person {i:04}")}})).collect();
        let r = app.post("/api/v1/customers/batch", json!({"records": many})).await;
        assert_eq!(r.body["created"], 620, "{}", r.body);
        let (r, text) = export(&app, &app.token, "/api/v1/exports/customers?format=csv").await;
        assert_eq!(r.status, StatusCode::OK, "{text}");
        assert!(r.header("content-type").starts_with("text/csv"));
        assert_eq!(r.header("content-disposition"), "attachment; filename=\"customers.csv\"");
        let (head, rows) = csv_rows(&text);
        assert_eq!(rows.len(), 621, "every record, across pages");
        let col = |name: &str| head.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {head:?}"));
        assert_eq!(rows[0][col("name")], "'=cmd|' /C calc'!A0", "a formula is neutralized");
        assert_eq!(rows[0][col("email")], "ann@example.com");
        assert_eq!(rows[0][col("tags")], "b;vip");
        assert_eq!(rows[0][col("address.city")], "Paris");
        assert_eq!(rows[620][col("name")], "Person 0619");

        let (r, text) = export(&app, &app.token, "/api/v1/exports/customers?format=jsonl").await;
        assert_eq!(r.header("content-type"), "application/x-ndjson");
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 621);
        assert_eq!(lines[0]["name"], "=cmd|' /C calc'!A0", "JSON lines keep the value as stored");

        let audit = app.get("/api/v1/audit_log?object=customer&action=export").await;
        assert_eq!(audit.body.as_array().unwrap().len(), 2, "{}", audit.body);

        let p = app.product("EX-1", "=1+1", 100, "EUR").await;
        let c = app.customer(json!({"name": "Buyer"})).await;
        app.paid_order(&c, "2026-03-01", json!([{"product_id": p["id"], "quantity": 2}])).await;
        for kind in [
            "companies",
            "products",
            "opportunities",
            "orders",
            "activities",
            "tickets",
            "campaigns",
            "segments",
            "pipelines",
            "targets",
            "feedback",
            "macros",
        ] {
            let (r, text) = export(&app, &app.token, &format!("/api/v1/exports/{kind}")).await;
            assert_eq!(r.status, StatusCode::OK, "{kind}: {text}");
            assert!(text.starts_with("id,"), "{kind}: {text}");
        }
        let (_, text) = export(&app, &app.token, "/api/v1/exports/orders").await;
        let (head, rows) = csv_rows(&text);
        let lines = &rows[0][head.iter().position(|h| h == "lines").unwrap()];
        assert!(lines.contains("\"quantity\":2"), "order lines as JSON: {lines}");
        let (_, text) = export(&app, &app.token, "/api/v1/exports/products").await;
        assert!(text.contains(",'=1+1,"), "{text}");

        let (r, _) = export(&app, &app.token, "/api/v1/exports/nothing").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let (r, _) = export(&app, &app.token, "/api/v1/exports/customers?format=xml").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    });
}

#[tokio::test]
async fn exports_show_only_what_the_caller_may_see_and_need_the_export_right() {
    each_backend!(|app| {
        app.customer(json!({"name": "Admin's", "email": "admins@example.com"})).await;
        let manager = app.user_token("manager@example.com", Role::Manager).await;
        let r = app
            .call(Method::POST, "/api/v1/customers", Some(&manager), Some(json!({"name": "Manager's", "email": "mine@example.com"})), &[])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let (r, text) = export(&app, &manager, "/api/v1/exports/customers").await;
        assert_eq!(r.status, StatusCode::OK, "{text}");
        let (head, rows) = csv_rows(&text);
        let name = head.iter().position(|h| h == "name").unwrap();
        assert_eq!(rows.iter().map(|r| r[name].as_str()).collect::<Vec<_>>(), ["Manager's"], "only records the caller sees");

        let marketer = app.user_token("marketer@example.com", Role::Marketer).await;
        let (r, text) = export(&app, &marketer, "/api/v1/exports/customers?format=jsonl").await;
        assert_eq!(r.status, StatusCode::OK, "{text}");
        assert!(!text.contains("admins@example.com") && !text.contains("mine@example.com"), "personal data masked: {text}");
        assert!(text.contains("a•••@example.com"), "{text}");

        let viewer = app.user_token("viewer@example.com", Role::Viewer).await;
        let (r, _) = export(&app, &viewer, "/api/v1/exports/customers").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    });
}
