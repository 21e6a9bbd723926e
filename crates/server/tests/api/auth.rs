use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::json;
use sqlx::Connection;

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

/// A login request through the router, as one of many clients.
async fn login_status(router: axum::Router, password: String) -> StatusCode {
    let body = json!({"email": crate::helpers::ADMIN_EMAIL, "password": password}).to_string();
    let req = axum::http::Request::post("/api/v1/auth/login").header("content-type", "application/json").body(axum::body::Body::from(body));
    tower::ServiceExt::oneshot(router, req.unwrap()).await.unwrap().status()
}

/// Issue 8, item 4: the lockout holds when the guesses come all at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_get_five_checks_then_429() {
    each_backend!(|app| {
        let mut guesses = tokio::task::JoinSet::new();
        for i in 0..60 {
            guesses.spawn(login_status(app.router.clone(), format!("wrong guess number {i}")));
        }
        let statuses = guesses.join_all().await;
        let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let locked = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert!(checked <= 5, "{checked} passwords were checked: {statuses:?}");
        assert_eq!(locked, 60 - checked, "{statuses:?}");
        let audit = app.get("/api/v1/audit_log?action=login_failed&limit=100").await;
        assert_eq!(audit.body.as_array().unwrap().len(), checked, "one login_failed row per checked password");
        let r = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": crate::helpers::ADMIN_EMAIL, "password": crate::helpers::PASSWORD})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the right password waits for the lock to end too");
        // Fifteen minutes later, as time would have it, the lock is over.
        let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
        sqlx::raw_sql(
            "UPDATE login_throttle SET window_start = '2000-01-01T00:00:00.000000Z', locked_until = '2000-01-01T00:15:00.000000Z'",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        app.login(crate::helpers::ADMIN_EMAIL, crate::helpers::PASSWORD).await;
    });
}

/// Issue 8, item 7: two admins demoting each other at the same moment leave one admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admins_demoting_each_other_at_once_leave_one_admin() {
    each_backend!(|app| {
        let me = app.get("/api/v1/users/me").await.body["id"].as_i64().unwrap();
        let viewer = app.user_token("viewer@example.com", Role::Viewer).await;
        let users = || async { app.get_as(&viewer, "/api/v1/users").await.body.as_array().unwrap().clone() };
        let mut survivor = (me, app.token.clone());
        for round in 0..6 {
            let email = format!("admin{round}@example.com");
            let r = app
                .call(
                    Method::POST,
                    "/api/v1/users",
                    Some(&survivor.1),
                    Some(json!({"email": email, "name": "Admin", "password": crate::helpers::PASSWORD, "role": "admin"})),
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            let other = (r.body["id"].as_i64().unwrap(), app.login(&email, crate::helpers::PASSWORD).await);
            // One demotes, the other disables, each aiming at the other.
            let patch = |(from, to): ((i64, String), (i64, String)), body: serde_json::Value| {
                let router = app.router.clone();
                tokio::spawn(async move {
                    let req = axum::http::Request::patch(format!("/api/v1/users/{}", to.0))
                        .header("authorization", format!("Bearer {}", from.1))
                        .header("content-type", "application/json")
                        .body(axum::body::Body::from(body.to_string()))
                        .unwrap();
                    tower::ServiceExt::oneshot(router, req).await.unwrap().status()
                })
            };
            let a = patch((survivor.clone(), other.clone()), json!({"role": "viewer"}));
            let b = patch((other.clone(), survivor.clone()), json!({"is_active": false}));
            let (a, b) = (a.await.unwrap(), b.await.unwrap());
            assert!(a.is_success() != b.is_success(), "round {round}: exactly one succeeds, got {a} and {b}");
            // The loser is refused by the winner's change: its user demoted (403), changed since
            // read (412), the last admin (422), or, when the disabling committed before the
            // demoting request was even authenticated, its token revoked (401). On SQLite a write
            // runs to its commit without yielding, so the two may well run one after the other.
            for s in [a, b].into_iter().filter(|s| !s.is_success()) {
                let refusals =
                    [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::PRECONDITION_FAILED, StatusCode::UNPROCESSABLE_ENTITY];
                assert!(refusals.contains(&s), "{s}");
            }
            let all = users().await;
            let admins: Vec<i64> =
                all.iter().filter(|u| u["role"] == "admin" && u["is_active"] == true).map(|u| u["id"].as_i64().unwrap()).collect();
            assert_eq!(admins.len(), 1, "round {round}: {all:?}");
            if admins[0] == other.0 {
                survivor = other;
            }
        }
        // A stale version is refused like on every other record.
        let id = survivor.0;
        let version = users().await.iter().find(|u| u["id"] == id).unwrap()["version"].as_i64().unwrap();
        let stale = app
            .call(
                Method::PATCH,
                &format!("/api/v1/users/{id}"),
                Some(&survivor.1),
                Some(json!({"name": "Late"})),
                &[("if-match", &(version - 1).to_string())],
            )
            .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    });
}
