//! Issue 10, item 1: on SQLite concurrent writes share one COMMIT (group commit), yet each request
//! keeps its own outcome: failing ones among them roll back alone, leaving no row and no audit
//! row, while the others commit, each with its audit row. The same holds on PostgreSQL, where
//! every request has a transaction of its own.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::each_backend;

async fn create(router: axum::Router, token: String, body: Value) -> (StatusCode, Value) {
    let req = axum::http::Request::post("/api/v1/customers")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let res = tower::ServiceExt::oneshot(router, req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_creates_among_concurrent_ones_roll_back_alone() {
    each_backend!(|app| {
        app.customer(json!({"name": "Holder", "email": "taken@example.com"})).await;
        // Every fifth request fails inside its transaction: a taken email (the INSERT hits the
        // unique index) or a company that does not exist (found missing after the owner check).
        let mut creates = tokio::task::JoinSet::new();
        for i in 0..50 {
            let body = match i % 10 {
                4 => json!({"name": format!("Dup {i}"), "email": "taken@example.com"}),
                9 => json!({"name": format!("Orphan {i}"), "email": format!("p{i}@example.com"), "company_id": 999_999}),
                _ => json!({"name": format!("Good {i}"), "email": format!("p{i}@example.com")}),
            };
            let (router, token) = (app.router.clone(), app.token.clone());
            creates.spawn(async move { (i, create(router, token, body).await) });
        }
        let mut good = vec![];
        for (i, (status, body)) in creates.join_all().await {
            match i % 10 {
                4 => {
                    assert_eq!(status, StatusCode::CONFLICT, "{i}: {body}");
                    assert_eq!(body["errors"][0]["field"], "email", "{body}");
                }
                9 => {
                    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{i}: {body}");
                    assert_eq!(body["errors"][0]["field"], "company_id", "{body}");
                }
                _ => {
                    assert_eq!(status, StatusCode::CREATED, "{i}: {body}");
                    assert_eq!(body["name"], format!("Good {i}"));
                    good.push(body["id"].as_i64().unwrap());
                }
            }
        }
        assert_eq!(good.len(), 40);
        // Exactly the good ones exist, each readable at once and with its own audit row.
        let mut names = app.people("limit=100").await;
        names.sort();
        let mut expected: Vec<String> = (0..50).filter(|i| i % 5 != 4).map(|i| format!("Good {i}")).collect();
        expected.push("Holder".into());
        expected.sort();
        assert_eq!(names, expected);
        for id in &good {
            let audit = app.get(&format!("/api/v1/audit_log?object=customer&record_id={id}")).await;
            let actions: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
            assert_eq!(actions, ["create"], "{id}");
        }
        let creates = app.get("/api/v1/audit_log?object=customer&action=create&limit=500").await;
        assert_eq!(creates.body.as_array().unwrap().len(), 41, "no audit row for a create that failed");
        // Change sequences are one per committed request, so sync sees each create once.
        let synced = app.get("/api/v1/customers?updated_since=2000-01-01&limit=500").await;
        assert_eq!(synced.status, StatusCode::OK, "{}", synced.body);
        let mut ids: Vec<i64> = synced.body["data"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 41);
    });
}
