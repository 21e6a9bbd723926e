use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::json;

use crate::each_backend;

#[tokio::test]
async fn login_gives_a_token_and_wrong_passwords_get_401() {
    each_backend!(|app| {
        let r = app
            .call(Method::POST, "/api/v1/auth/login", None, Some(json!({"email": "ADMIN@example.com", "password": "nope nope nope"})), &[])
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.header("content-type"), "application/problem+json");
        let me = app.get("/api/v1/users/me").await;
        assert_eq!(me.body["email"], "admin@example.com");
        assert!(me.body.get("password_hash").is_none(), "never expose the hash");
    });
}

#[tokio::test]
async fn every_route_but_login_refuses_missing_or_wrong_tokens() {
    each_backend!(|app| {
        let routes = [
            (Method::GET, "/api/v1/customers"),
            (Method::POST, "/api/v1/customers"),
            (Method::GET, "/api/v1/customers/1"),
            (Method::PATCH, "/api/v1/customers/1"),
            (Method::DELETE, "/api/v1/customers/1"),
            (Method::GET, "/api/v1/companies"),
            (Method::POST, "/api/v1/companies"),
            (Method::GET, "/api/v1/companies/1"),
            (Method::PATCH, "/api/v1/companies/1"),
            (Method::DELETE, "/api/v1/companies/1"),
            (Method::GET, "/api/v1/custom_fields"),
            (Method::POST, "/api/v1/custom_fields"),
            (Method::DELETE, "/api/v1/custom_fields/1"),
            (Method::GET, "/api/v1/users"),
            (Method::POST, "/api/v1/users"),
            (Method::GET, "/api/v1/users/me"),
            (Method::POST, "/api/v1/auth/logout"),
        ];
        for (m, path) in routes {
            for token in [None, Some("rpt_not-a-real-token")] {
                let r = app.call(m.clone(), path, token, Some(json!({})), &[]).await;
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{m} {path} with {token:?}");
                assert_eq!(r.body["status"], 401);
            }
        }
    });
}

#[tokio::test]
async fn logout_revokes_the_token() {
    each_backend!(|app| {
        let token = app.login(crate::helpers::ADMIN_EMAIL, crate::helpers::PASSWORD).await;
        let r = app.call(Method::POST, "/api/v1/auth/logout", Some(&token), None, &[]).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let r = app.call(Method::GET, "/api/v1/users/me", Some(&token), None, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        // Other sessions of the same user are untouched.
        assert_eq!(app.get("/api/v1/users/me").await.status, StatusCode::OK);
    });
}

#[tokio::test]
async fn roles_are_checked_on_every_call() {
    each_backend!(|app| {
        let viewer = app.user_token("viewer@example.com", Role::Viewer).await;
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        // Unowned, so that the rep reaches it too.
        let c = app.customer(json!({"name": "Ann Lee", "owner_id": null})).await;
        let path = format!("/api/v1/customers/{}", c["id"]);
        assert_eq!(app.call(Method::GET, &path, Some(&viewer), None, &[]).await.status, StatusCode::OK);
        let r = app.call(Method::PATCH, &path, Some(&viewer), Some(json!({"name": "X"})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = app.call(Method::POST, "/api/v1/customers", Some(&viewer), Some(json!({"email": "bad"})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "authorization comes before validation: {}", r.body);
        assert_eq!(app.call(Method::PATCH, &path, Some(&rep), Some(json!({"name": "Ann B. Lee"})), &[]).await.status, StatusCode::OK);
        let r = app
            .call(
                Method::POST,
                "/api/v1/users",
                Some(&rep),
                Some(json!({"email": "x@example.com", "name": "X", "password": "long enough pw", "role": "admin"})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app
            .post("/api/v1/users", json!({"email": "new@example.com", "name": "New", "password": "long enough pw", "role": "marketer"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let r = app
            .post("/api/v1/users", json!({"email": "NEW@example.com", "name": "New", "password": "long enough pw", "role": "marketer"}))
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        let r = app.post("/api/v1/users", json!({"email": "short@example.com", "name": "S", "password": "short", "role": "viewer"})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["password".to_string()]));
    });
}
