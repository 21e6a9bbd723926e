//! Incremental sync (`updated_since`, `sync_token`): every change exactly in commit order, so a
//! client polling at any moment never skips one (issue 8, item 12).

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::{Backend, TestApp, backends, spawn_app};

/// One poll: the records returned and the token to resume from.
async fn poll(app: &TestApp, list: &str, query: &str) -> (Vec<Value>, String) {
    let r = app.get(&format!("/api/v1/{list}?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["next_cursor"].is_null(), "one page is enough here");
    (r.body["data"].as_array().unwrap().clone(), r.body["sync_token"].as_str().expect("sync listings carry a sync token").to_string())
}

fn ids(records: &[Value]) -> Vec<i64> {
    records.iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_sync_token_resumes_after_the_last_change_seen() {
    each_backend!(|app| {
        let a = app.customer(json!({"name": "A", "email": "a@example.com"})).await;
        let b = app.customer(json!({"name": "B"})).await;
        let (first, token) = poll(&app, "customers", "updated_since=2000-01-01").await;
        assert_eq!(ids(&first), [a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap()]);
        let (none, same) = poll(&app, "customers", &format!("sync_token={token}")).await;
        assert!(none.is_empty());
        assert_eq!(same, token, "nothing new: the token stays");
        app.patch(&format!("/api/v1/customers/{}", b["id"]), json!({"source": "x"}), None).await;
        app.delete(&format!("/api/v1/customers/{}", a["id"])).await;
        let (changes, _) = poll(&app, "customers", &format!("sync_token={token}")).await;
        assert_eq!(ids(&changes), [b["id"].as_i64().unwrap(), a["id"].as_i64().unwrap()], "in the order they were made");
        let tombstone = changes[1].as_object().unwrap();
        assert!(tombstone["deleted_at"].is_string());
        assert_eq!(tombstone["name"], "");
        assert_eq!(tombstone["email"], json!(null), "a tombstone carries nothing personal: {tombstone:?}");
        let bad = app.get("/api/v1/customers?sync_token=bogus").await;
        assert_eq!((bad.status, bad.error_fields()), (StatusCode::BAD_REQUEST, vec!["cursor".to_string()]));
    });
}

/// Two PostgreSQL transactions that take their timestamps in one order and commit in the other:
/// the first renames a company, writing the company row (its `updated_at` and its place in the
/// change order taken), then waits on a row lock the test holds on one of its people while the
/// second commits; a client polling in between, and again after the first commits, sees both. (On SQLite writers take turns, so the
/// interleaving cannot happen.)
#[tokio::test]
async fn a_change_committed_late_is_not_skipped() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    let first = app.company(json!({"name": "First"})).await;
    let person = app.customer(json!({"name": "Pat", "company_id": first["id"]})).await;
    let second = app.company(json!({"name": "Second"})).await;
    let (_, token) = poll(&app, "companies", "updated_since=2000-01-01").await;
    // Hold the person's row, so the rename waits inside its transaction after writing the company.
    let mut holder = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SELECT id FROM customers WHERE id = {} FOR UPDATE", person["id"])))
        .execute(&mut holder)
        .await
        .unwrap();
    let late = {
        let router = app.router.clone();
        let token = app.token.clone();
        let path = format!("/api/v1/companies/{}", first["id"]);
        tokio::spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::builder()
                .method("PATCH")
                .uri(path)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(json!({"name": "First, renamed"}).to_string()))
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        })
    };
    wait_for_a_lock_wait(&app).await;
    let early = app.patch(&format!("/api/v1/companies/{}", second["id"]), json!({"industry": "early"}), None).await;
    assert_eq!(early.status, StatusCode::OK);
    // A client polls between the commits, then again after both: whatever it was shown between
    // (the early change now, or nothing until the late one is in), the two polls together hold
    // each change exactly once.
    let (between, token) = poll(&app, "companies", &format!("sync_token={token}")).await;
    assert!(!ids(&between).contains(&first["id"].as_i64().unwrap()), "the waiting change is not committed yet");
    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    assert_eq!(late.await.unwrap(), StatusCode::OK);
    let late_record = app.get(&format!("/api/v1/companies/{}", first["id"])).await.body;
    assert!(late_record["updated_at"].as_str() < early.body["updated_at"].as_str(), "the late commit took its time first");
    let (after, _) = poll(&app, "companies", &format!("sync_token={token}")).await;
    let mut seen = ids(&between);
    seen.extend(ids(&after));
    seen.sort();
    let mut both = vec![first["id"].as_i64().unwrap(), second["id"].as_i64().unwrap()];
    both.sort();
    assert_eq!(seen, both, "the late commit is not skipped, and nothing is served twice");
    let renamed = between.iter().chain(&after).find(|c| c["id"] == first["id"]).unwrap();
    assert_eq!(renamed["name"], "First, renamed");
    app.cleanup().await;
}

/// Waits (bounded) until some backend of the test database waits for a lock.
async fn wait_for_a_lock_wait(app: &TestApp) {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    for _ in 0..500 {
        let q = "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
        let n: i64 = sqlx::Row::try_get(&sqlx::query(q).fetch_one(&mut conn).await.unwrap(), "n").unwrap();
        if n > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the first change never reached the held row");
}
