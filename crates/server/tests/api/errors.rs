//! Issue 8, item 15: every error is problem+json naming what is wrong (body, method, size).

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::each_backend;
use crate::helpers::Res;

const PROBLEM: &str = "application/problem+json";

fn problem(r: &Res, status: StatusCode) {
    assert_eq!((r.status, r.header("content-type")), (status, PROBLEM), "{}", r.body);
    assert_eq!(r.body["status"], status.as_u16(), "{}", r.body);
}

#[tokio::test]
async fn nul_characters_are_refused_naming_the_field() {
    // PostgreSQL cannot store NUL in text (it answered 500): refused up front on both engines.
    each_backend!(|app| {
        let r = app.get("/api/v1/customers?q=a%00b").await;
        problem(&r, StatusCode::BAD_REQUEST);
        assert_eq!(r.error_fields(), ["q"]);
        let r = app.post("/api/v1/customers", json!({"name": "Nul\u{0}l", "custom": {}})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["name".to_string()]));
        let r = app.post("/api/v1/customers", json!({"name": "Ann", "tags": ["ok", "n\u{0}"]})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["tags.1".to_string()]));
        let r = app.post("/api/v1/auth/login", json!({"email": "a\u{0}@example.com", "password": "x"})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["email".to_string()]));
    });
}

#[tokio::test]
async fn wrong_methods_answer_405_problems_with_allow() {
    each_backend!(|app| {
        let r = app.call(Method::PUT, "/api/v1/customers", Some(&app.token), Some(json!({})), &[]).await;
        problem(&r, StatusCode::METHOD_NOT_ALLOWED);
        assert!(r.header("allow").contains("GET") && r.header("allow").contains("POST"), "Allow: {}", r.header("allow"));
        let r = app.call(Method::DELETE, "/api/v1/audit_log", Some(&app.token), None, &[]).await;
        problem(&r, StatusCode::METHOD_NOT_ALLOWED);
    });
}

#[tokio::test]
async fn bodies_too_large_trailing_or_not_json_are_problems() {
    each_backend!(|app| {
        let huge = json!({"name": "x".repeat(3 * 1024 * 1024)});
        let r = app.post("/api/v1/customers", huge).await;
        problem(&r, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(r.error_fields(), ["body"]);
        let r = app.call_raw(Method::POST, "/api/v1/customers", "application/json", r#"{"name": "Ann"} {"name": "Bob"}"#).await;
        problem(&r, StatusCode::BAD_REQUEST);
        assert_eq!(r.error_fields(), ["body"]);
        let r = app.call_raw(Method::POST, "/api/v1/customers", "application/json", r#"{"name": "Ann"}]"#).await;
        problem(&r, StatusCode::BAD_REQUEST);
        let r = app.call_raw(Method::POST, "/api/v1/customers", "text/plain", r#"{"name": "Ann"}"#).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["Content-Type".to_string()]));
        // Surrounding whitespace is not trailing data.
        let r = app.call_raw(Method::POST, "/api/v1/customers", "application/json", " {\"name\": \"Ann\"}\n").await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    });
}

#[tokio::test]
async fn healthz_keeps_database_errors_in_the_log() {
    each_backend!(|app| {
        app.store.close().await;
        let r = app.call(Method::GET, "/healthz", None, None, &[]).await;
        problem(&r, StatusCode::SERVICE_UNAVAILABLE);
        let text = r.body.to_string().to_lowercase();
        assert!(!text.contains("pool") && !text.contains("closed") && !text.contains("sqlx"), "no database error text: {text}");
    });
}
