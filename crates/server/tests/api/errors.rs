//! Issue 8, item 15: every error is problem+json naming what is wrong (path, query, body,
//! method, size), creates answer 201 with `Location`, and `If-Match` guards every PATCH and
//! DELETE of a versioned record.

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
async fn bad_path_and_query_values_are_problems_naming_them() {
    each_backend!(|app| {
        let r = app.get("/api/v1/customers/abc").await;
        problem(&r, StatusCode::BAD_REQUEST);
        assert_eq!(r.error_fields(), ["id"]);
        let r = app.get("/api/v1/customers/99999999999999999999999").await;
        problem(&r, StatusCode::BAD_REQUEST);
        let r = app.delete("/api/v1/teams/1.5").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["id".to_string()]));
        let r = app.get("/api/v1/custom_fields?object=planet").await;
        problem(&r, StatusCode::BAD_REQUEST);
        assert_eq!(r.error_fields(), ["object"]);
        let r = app.get("/api/v1/audit_log?limit=many").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["limit".to_string()]));
        let r = app.get("/api/v1/audit_log?actr_id=1").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["actr_id".to_string()]));
        let r = app.delete("/api/v1/roles/a%00b").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["name".to_string()]));
    });
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
        // Analytics parameters are optional, but what is sent is read strictly too.
        let r = app.call_raw(Method::POST, "/api/v1/analytics/rfm", "application/json", r#"{"k": 3} x"#).await;
        problem(&r, StatusCode::BAD_REQUEST);
        for none in ["", "null"] {
            let r = app.call_raw(Method::POST, "/api/v1/analytics/rfm", "application/json", none).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{none:?}: {}", r.body);
        }
    });
}

#[tokio::test]
async fn list_lengths_are_capped() {
    each_backend!(|app| {
        let emails: Vec<String> = (0..11).map(|i| format!("p{i}@example.com")).collect();
        let r = app.post("/api/v1/customers", json!({"name": "Many", "additional_emails": emails})).await;
        problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["additional_emails"]);
        let phones: Vec<String> = (0..11).map(|i| format!("+1 415 555 01{i:02}")).collect();
        let r = app.post("/api/v1/customers", json!({"name": "Many", "additional_phones": phones})).await;
        assert_eq!(r.error_fields(), ["additional_phones"]);
        let tags: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        let r = app.post("/api/v1/companies", json!({"name": "Many", "tags": tags})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["tags".to_string()]));
        let ten: Vec<String> = (0..10).map(|i| format!("p{i}@example.com")).collect();
        assert_eq!(app.post("/api/v1/customers", json!({"name": "Ten", "additional_emails": ten})).await.status, StatusCode::CREATED);
    });
}

#[tokio::test]
async fn creates_answer_201_with_location() {
    each_backend!(|app| {
        let role = json!({"name": "clerk", "permissions": {"grants": {"customer": ["read"]}, "visibility": "all"}});
        let r = app.post("/api/v1/roles", role.clone()).await;
        assert_eq!((r.status, r.header("location")), (StatusCode::CREATED, "/api/v1/roles/clerk"), "{}", r.body);
        assert_eq!(r.body["version"], 1);
        let again = app.post("/api/v1/roles", role).await;
        assert_eq!(
            (again.status, again.header("location"), again.body["version"].as_i64()),
            (StatusCode::OK, "", Some(2)),
            "a replacement is no create"
        );
        let r = app.post("/api/v1/tokens", json!({"name": "ci", "scopes": ["read"]})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.header("location"), format!("/api/v1/tokens/{}", r.body["info"]["id"]));
        let c = app.customer(json!({"name": "Buyer"})).await;
        let tea = app.product("TEA", "Tea", 450, "EUR").await;
        let r = app.post("/api/v1/orders", json!({"customer_id": c["id"], "lines": [{"product_id": tea["id"]}]})).await;
        assert_eq!((r.status, r.header("location")), (StatusCode::CREATED, format!("/api/v1/orders/{}", r.body["id"]).as_str()));
        let r = app.post("/api/v1/teams", json!({"name": "North"})).await;
        assert_eq!((r.status, r.header("location")), (StatusCode::CREATED, format!("/api/v1/teams/{}", r.body["id"]).as_str()));
    });
}

#[tokio::test]
async fn if_match_guards_every_versioned_patch_and_delete() {
    each_backend!(|app| {
        let stale = |r: &Res, what: &str| {
            assert_eq!((r.status, r.header("content-type")), (StatusCode::PRECONDITION_FAILED, PROBLEM), "{what}: {}", r.body);
        };
        let with = |v: i64| v.to_string();
        // Teams.
        let t = app.post("/api/v1/teams", json!({"name": "North"})).await.body;
        let url = format!("/api/v1/teams/{}", t["id"]);
        let r = app.patch(&url, json!({"name": "North 2"}), Some(1)).await;
        assert_eq!((r.status, r.header("etag")), (StatusCode::OK, "\"2\""));
        stale(&app.call(Method::DELETE, &url, Some(&app.token), None, &[("if-match", &with(1))]).await, "team delete");
        assert_eq!(app.get("/api/v1/teams").await.body.as_array().unwrap().len(), 1, "a stale delete keeps the team");
        let ok = app.call(Method::DELETE, &url, Some(&app.token), None, &[("if-match", "\"2\"")]).await;
        assert_eq!(ok.status, StatusCode::NO_CONTENT);
        // Custom fields.
        let f = app.post("/api/v1/custom_fields", json!({"object": "customer", "key": "tier", "field_type": "text"})).await;
        assert_eq!(f.header("etag"), "\"1\"");
        let url = format!("/api/v1/custom_fields/{}", f.body["id"]);
        let r = app.patch(&url, json!({"label": "Tier"}), Some(1)).await;
        assert_eq!((r.status, r.header("etag")), (StatusCode::OK, "\"2\""), "{}", r.body);
        stale(&app.patch(&url, json!({"label": "Level"}), Some(1)).await, "custom field patch");
        stale(&app.call(Method::DELETE, &url, Some(&app.token), None, &[("if-match", &with(1))]).await, "custom field delete");
        assert_eq!(app.call(Method::DELETE, &url, Some(&app.token), None, &[("if-match", &with(2))]).await.status, StatusCode::NO_CONTENT);
        // Campaigns.
        let body = json!({"name": "Spring", "channel": "email", "budget_minor": 1000, "currency": "EUR", "starts_on": "2024-03-01", "ends_on": "2024-03-31"});
        let c = app.post("/api/v1/campaigns", body.clone()).await.body;
        let url = format!("/api/v1/campaigns/{}", c["id"]);
        assert_eq!(app.patch(&url, body, Some(1)).await.status, StatusCode::OK);
        stale(&app.call(Method::DELETE, &url, Some(&app.token), None, &[("if-match", &with(1))]).await, "campaign delete");
        assert_eq!(app.call(Method::DELETE, &url, Some(&app.token), None, &[("if-match", &with(2))]).await.status, StatusCode::NO_CONTENT);
        // Roles.
        let role = json!({"name": "clerk", "permissions": {"grants": {"customer": ["read"]}, "visibility": "all"}});
        app.post("/api/v1/roles", role.clone()).await;
        app.post("/api/v1/roles", role).await;
        stale(&app.call(Method::DELETE, "/api/v1/roles/clerk", Some(&app.token), None, &[("if-match", &with(1))]).await, "role delete");
        let ok = app.call(Method::DELETE, "/api/v1/roles/clerk", Some(&app.token), None, &[("if-match", &with(2))]).await;
        assert_eq!(ok.status, StatusCode::NO_CONTENT);
        // Users.
        let u = app
            .post("/api/v1/users", json!({"email": "rep@example.com", "name": "Rep", "password": "long enough pw", "role": "sales_rep"}))
            .await
            .body;
        let url = format!("/api/v1/users/{}", u["id"]);
        assert_eq!(app.patch(&url, json!({"name": "Rep 2"}), Some(1)).await.status, StatusCode::OK);
        stale(&app.patch(&url, json!({"name": "Rep 3"}), Some(1)).await, "user patch");
        // A malformed If-Match is a bad request, not "any version".
        let r = app.call(Method::DELETE, "/api/v1/roles/clerk", Some(&app.token), None, &[("if-match", "yesterday")]).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["If-Match".to_string()]));
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
