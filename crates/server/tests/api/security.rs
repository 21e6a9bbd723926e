//! Issue 3: roles × objects × actions, record visibility, masking, tokens, lockout, audit,
//! privacy requests — each through HTTP, on every backend.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{PASSWORD, TestApp};

/// Which (object, action) each built-in role may do, written out independently of the code.
fn expected(role: Role, object: &str, action: &str) -> bool {
    let people = object == "customer" || object == "company";
    match role {
        Role::Admin => true,
        _ if !people => action == "read" && object != "audit_log",
        Role::Manager => true,
        Role::SalesRep => action != "export",
        Role::SupportAgent => matches!(action, "read" | "update"),
        Role::Marketer | Role::Viewer => action == "read",
    }
}

/// Performs `action` on `object` as `token`; returns the status.
async fn attempt(app: &TestApp, token: &str, object: &str, action: &str) -> StatusCode {
    let call = |m: Method, path: String, body: Option<Value>| async move { app.call(m, &path, Some(token), body, &[]).await.status };
    match (object, action) {
        ("customer" | "company", _) => {
            let plural = if object == "customer" { "customers" } else { "companies" };
            let id = app.post(&format!("/api/v1/{plural}"), json!({"name": "Target", "owner_id": null})).await.body["id"].clone();
            match action {
                "read" => call(Method::GET, format!("/api/v1/{plural}/{id}"), None).await,
                "create" => call(Method::POST, format!("/api/v1/{plural}"), Some(json!({"name": "New"}))).await,
                "update" => call(Method::PATCH, format!("/api/v1/{plural}/{id}"), Some(json!({"name": "Changed"}))).await,
                "delete" => call(Method::DELETE, format!("/api/v1/{plural}/{id}"), None).await,
                "export" if object == "customer" => call(Method::GET, format!("/api/v1/customers/{id}/privacy_export"), None).await,
                _ => StatusCode::NOT_IMPLEMENTED,
            }
        }
        ("custom_field", "read") => call(Method::GET, "/api/v1/custom_fields".into(), None).await,
        ("custom_field", "create") => {
            let key = format!("f{}", rand::random::<u32>());
            call(Method::POST, "/api/v1/custom_fields".into(), Some(json!({"object": "customer", "key": key, "field_type": "text"}))).await
        }
        ("custom_field", "delete") => {
            let key = format!("f{}", rand::random::<u32>());
            let id =
                app.post("/api/v1/custom_fields", json!({"object": "customer", "key": key, "field_type": "text"})).await.body["id"].clone();
            call(Method::DELETE, format!("/api/v1/custom_fields/{id}"), None).await
        }
        ("user", "read") => call(Method::GET, "/api/v1/users".into(), None).await,
        ("user", "create") => {
            let email = format!("u{}@example.com", rand::random::<u32>());
            call(Method::POST, "/api/v1/users".into(), Some(json!({"email": email, "name": "U", "password": PASSWORD, "role": "viewer"})))
                .await
        }
        ("user", "update") => {
            let email = format!("u{}@example.com", rand::random::<u32>());
            let id =
                app.post("/api/v1/users", json!({"email": email, "name": "U", "password": PASSWORD, "role": "viewer"})).await.body["id"]
                    .clone();
            call(Method::PATCH, format!("/api/v1/users/{id}"), Some(json!({"name": "Renamed"}))).await
        }
        ("team", "read") => call(Method::GET, "/api/v1/teams".into(), None).await,
        ("team", "create") => {
            call(Method::POST, "/api/v1/teams".into(), Some(json!({"name": format!("t{}", rand::random::<u32>())}))).await
        }
        ("team", "delete") => {
            let id = app.post("/api/v1/teams", json!({"name": format!("t{}", rand::random::<u32>())})).await.body["id"].clone();
            call(Method::DELETE, format!("/api/v1/teams/{id}"), None).await
        }
        ("role", "read") => call(Method::GET, "/api/v1/roles".into(), None).await,
        ("role", "create") => {
            let body = json!({"name": format!("r{}", rand::random::<u32>()), "permissions": {"grants": {"customer": ["read"]}, "visibility": "own"}});
            call(Method::POST, "/api/v1/roles".into(), Some(body)).await
        }
        ("audit_log", "read") => call(Method::GET, "/api/v1/audit_log".into(), None).await,
        _ => StatusCode::NOT_IMPLEMENTED,
    }
}

#[tokio::test]
async fn permission_matrix_for_every_built_in_role() {
    let cases: &[(&str, &[&str])] = &[
        ("customer", &["read", "create", "update", "delete", "export"]),
        ("company", &["read", "create", "update", "delete"]),
        ("custom_field", &["read", "create", "delete"]),
        ("user", &["read", "create", "update"]),
        ("team", &["read", "create", "delete"]),
        ("role", &["read", "create"]),
        ("audit_log", &["read"]),
    ];
    each_backend!(|app| {
        for role in Role::ALL {
            let token =
                if role == Role::Admin { app.token.clone() } else { app.user_token(&format!("{}@example.com", role.as_str()), role).await };
            for (object, actions) in cases {
                for action in *actions {
                    let status = attempt(&app, &token, object, action).await;
                    let allowed = expected(role, object, action);
                    assert!(status != StatusCode::NOT_IMPLEMENTED);
                    if allowed {
                        assert!(status.is_success(), "{} should {action} {object}: got {status}", role.as_str());
                    } else {
                        assert_eq!(status, StatusCode::FORBIDDEN, "{} must not {action} {object}", role.as_str());
                    }
                }
            }
        }
    });
}

async fn owned_by(app: &TestApp, name: &str, owner: i64) -> Value {
    app.customer(
        json!({"name": name, "email": format!("{}@example.com", name.to_lowercase()), "phone": "+1 415 555 0134", "owner_id": owner}),
    )
    .await
}

async fn user_id(app: &TestApp, token: &str) -> i64 {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn records_outside_a_users_reach_do_not_exist_for_them() {
    each_backend!(|app| {
        let rep_a = app.user_token("a@example.com", Role::SalesRep).await;
        let rep_b = app.user_token("b@example.com", Role::SalesRep).await;
        let rep_c = app.user_token("c@example.com", Role::SalesRep).await;
        let boss = app.user_token("boss@example.com", Role::Manager).await;
        let (a, b, c, m) =
            (user_id(&app, &rep_a).await, user_id(&app, &rep_b).await, user_id(&app, &rep_c).await, user_id(&app, &boss).await);
        let secret = owned_by(&app, "Bsecret", b).await;
        let mine = owned_by(&app, "Amine", a).await;
        let pool = app.customer(json!({"name": "Unowned", "owner_id": null})).await;
        let path = format!("/api/v1/customers/{}", secret["id"]);
        for (m, body) in [(Method::GET, None), (Method::PATCH, Some(json!({"name": "x"}))), (Method::DELETE, None)] {
            let r = app.call(m.clone(), &path, Some(&rep_a), body, &[]).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} on another rep's record must look absent");
        }
        let names = |r: crate::helpers::Res| {
            r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(names(app.get_as(&rep_a, "/api/v1/customers").await), ["Amine", "Unowned"]);
        assert!(names(app.get_as(&rep_a, "/api/v1/customers?q=bsecret").await).is_empty(), "search does not find it");
        assert!(names(app.get_as(&rep_a, format!("/api/v1/customers?owner_id={b}")).await).is_empty());
        assert_eq!(app.get_as(&rep_a, format!("{path}/privacy_export")).await.status, StatusCode::FORBIDDEN);
        let r = app.call(Method::POST, &format!("{path}/erase"), Some(&rep_a), None, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "erasure is a grant of its own, which reps do not hold");

        // A team with visibility "team" shares its members' records with each other; a manager
        // sees all of their teams' records whatever the visibility.
        let t = app.post("/api/v1/teams", json!({"name": "East", "visibility": "team", "member_ids": [a, b, m]})).await;
        assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
        app.post("/api/v1/teams", json!({"name": "West", "visibility": "private", "member_ids": [c, m]})).await;
        let theirs = owned_by(&app, "Cwest", c).await;
        assert_eq!(app.get_as(&rep_a, path.clone()).await.status, StatusCode::OK, "shared within the team");
        assert_eq!(app.get_as(&rep_c, path.clone()).await.status, StatusCode::NOT_FOUND, "not in C's team");
        assert_eq!(app.get_as(&rep_a, format!("/api/v1/customers/{}", theirs["id"])).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get_as(&boss, format!("/api/v1/customers/{}", theirs["id"])).await.status, StatusCode::OK, "manager of West");
        let boss_sees = names(app.get_as(&boss, "/api/v1/customers?limit=500").await);
        assert_eq!(boss_sees.len(), 4, "{boss_sees:?}");
        assert_eq!(
            app.get_as(&rep_c, format!("/api/v1/customers/{}", pool["id"])).await.status,
            StatusCode::OK,
            "unowned records are everyone's"
        );
        // A rep gives records only to members of their teams, never away to nobody.
        let mine_path = format!("/api/v1/customers/{}", mine["id"]);
        let r = app.call(Method::PATCH, &mine_path, Some(&rep_a), Some(json!({"owner_id": c})), &[]).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::FORBIDDEN, vec!["owner_id".to_string()]), "{}", r.body);
        let r = app.call(Method::PATCH, &mine_path, Some(&rep_a), Some(json!({"owner_id": null})), &[]).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::FORBIDDEN, vec!["owner_id".to_string()]), "{}", r.body);
        // Handing a record to someone else takes it out of one's sight (a private team makes
        // them teammates without sharing records).
        app.post("/api/v1/teams", json!({"name": "Pair", "visibility": "private", "member_ids": [a, c]})).await;
        let r = app.call(Method::PATCH, &mine_path, Some(&rep_a), Some(json!({"owner_id": c})), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(app.get_as(&rep_a, format!("/api/v1/customers/{}", mine["id"])).await.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn sensitive_fields_are_masked_without_pii() {
    each_backend!(|app| {
        let viewer = app.user_token("v@example.com", Role::Viewer).await;
        let marketer = app.user_token("m@example.com", Role::Marketer).await;
        let c = app.customer(json!({"name": "Ann", "email": "ann.lee@example.com", "phone": "+1 415 555 0134", "address": {"street": "1 Main St", "city": "Austin"}})).await;
        let path = format!("/api/v1/customers/{}", c["id"]);
        for token in [&viewer, &marketer] {
            let r = app.call(Method::GET, &path, Some(token), None, &[]).await;
            assert_eq!(r.body["email"], "a•••@example.com");
            assert_eq!(r.body["phone"], "+•••••••0134");
            assert_eq!(r.body["address"]["street"], "•••");
            assert_eq!(r.body["address"]["city"], "Austin");
            let list = app.call(Method::GET, "/api/v1/customers", Some(token), None, &[]).await;
            assert_eq!(list.body["data"][0]["email"], "a•••@example.com", "lists mask too");
        }
        assert_eq!(app.get(&path).await.body["email"], "ann.lee@example.com");
        // Admins decide which custom fields count as personal data too.
        let f = app.post("/api/v1/custom_fields", json!({"object": "customer", "key": "salary", "field_type": "number"})).await;
        app.patch(&path, json!({"custom": {"salary": 90000}}), None).await;
        let seen = app.call(Method::GET, &path, Some(&viewer), None, &[]).await;
        assert_eq!(seen.body["custom"]["salary"], 90000);
        let r = app.patch(&format!("/api/v1/custom_fields/{}", f.body["id"]), json!({"sensitive": true}), None).await;
        assert_eq!((r.status, r.body["sensitive"].as_bool()), (StatusCode::OK, Some(true)));
        let masked = app.call(Method::GET, &path, Some(&viewer), None, &[]).await;
        assert_eq!(masked.body["custom"]["salary"], "•••");
        assert_eq!(app.get(&path).await.body["custom"]["salary"], 90000);
        let r = app
            .call(Method::PATCH, &format!("/api/v1/custom_fields/{}", f.body["id"]), Some(&viewer), Some(json!({"sensitive": false})), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    });
}

#[tokio::test]
async fn non_admins_cannot_escalate() {
    each_backend!(|app| {
        for role in [Role::Manager, Role::SalesRep, Role::SupportAgent, Role::Marketer, Role::Viewer] {
            let token = app.user_token(&format!("{}@example.com", role.as_str()), role).await;
            let me = user_id(&app, &token).await;
            let r = app.call(Method::PATCH, &format!("/api/v1/users/{me}"), Some(&token), Some(json!({"role": "admin"})), &[]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{} edited its own role", role.as_str());
            let body = json!({"name": "sneaky", "permissions": {"grants": {"audit_log": ["read"]}, "visibility": "all"}});
            assert_eq!(app.call(Method::POST, "/api/v1/roles", Some(&token), Some(body), &[]).await.status, StatusCode::FORBIDDEN);
            assert_eq!(app.call(Method::GET, "/api/v1/audit_log", Some(&token), None, &[]).await.status, StatusCode::FORBIDDEN);
            let again = app.call(Method::GET, "/api/v1/users/me", Some(&token), None, &[]).await;
            assert_eq!(again.body["role"], role.as_str());
        }
        for m in [Method::DELETE, Method::PATCH, Method::POST, Method::PUT] {
            let r = app.call(m.clone(), "/api/v1/audit_log", Some(&app.token), Some(json!({})), &[]).await;
            assert!(r.status == StatusCode::METHOD_NOT_ALLOWED || r.status == StatusCode::NOT_FOUND, "{m} audit_log: {}", r.status);
        }
        let me = user_id(&app, &app.token).await;
        let r = app.patch(&format!("/api/v1/users/{me}"), json!({"role": "viewer"}), None).await;
        assert_eq!(
            (r.status, r.error_fields()),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["role".to_string()]),
            "the last admin stays admin"
        );
    });
}

#[tokio::test]
async fn custom_roles_grant_exactly_their_permissions() {
    each_backend!(|app| {
        let body = json!({"name": "auditor", "permissions": {"grants": {"customer": ["read", "pii"], "audit_log": ["read"]}, "visibility": "all"}});
        assert_eq!(app.post("/api/v1/roles", body).await.status, StatusCode::CREATED);
        let token = app.user_token("aud@example.com", Role::Viewer).await;
        let id = user_id(&app, &token).await;
        let r = app.patch(&format!("/api/v1/users/{id}"), json!({"role": "auditor"}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let c = app.customer(json!({"name": "Ann", "email": "ann@example.com"})).await;
        let got = app.call(Method::GET, &format!("/api/v1/customers/{}", c["id"]), Some(&token), None, &[]).await;
        assert_eq!(got.body["email"], "ann@example.com", "pii granted");
        assert_eq!(app.call(Method::GET, "/api/v1/audit_log", Some(&token), None, &[]).await.status, StatusCode::OK);
        let r = app.call(Method::PATCH, &format!("/api/v1/customers/{}", c["id"]), Some(&token), Some(json!({"name": "X"})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get("/api/v1/roles").await.body.as_array().unwrap().len(), 7);
        let held = app.delete("/api/v1/roles/auditor").await;
        assert_eq!(held.status, StatusCode::UNPROCESSABLE_ENTITY, "a held role cannot be deleted");
        let bad = app.patch(&format!("/api/v1/users/{id}"), json!({"role": "emperor"}), None).await;
        assert_eq!(bad.error_fields(), vec!["role".to_string()]);
        let audit = app.get("/api/v1/audit_log?object=role").await;
        assert_eq!(audit.body[0]["action"], "permission_change");
        let audit = app.get(&format!("/api/v1/audit_log?object=user&record_id={id}&action=role_change")).await;
        assert_eq!(audit.body[0]["diff"]["role"], json!(["viewer", "auditor"]));
    });
}

#[tokio::test]
async fn tokens_are_scoped_expire_and_revoke() {
    each_backend!(|app| {
        let r = app.post("/api/v1/tokens", json!({"name": "reporting", "scopes": ["read"], "expires_in_days": 7})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let read_only = r.body["token"].as_str().unwrap().to_string();
        let id = r.body["info"]["id"].as_i64().unwrap();
        assert_eq!(app.call(Method::GET, "/api/v1/customers", Some(&read_only), None, &[]).await.status, StatusCode::OK);
        let w = app.call(Method::POST, "/api/v1/customers", Some(&read_only), Some(json!({"name": "X"})), &[]).await;
        assert_eq!(w.status, StatusCode::FORBIDDEN);
        let listed = app.get("/api/v1/tokens").await;
        assert!(
            listed.body.as_array().unwrap().iter().all(|t| t.get("token").is_none() && t.get("token_hash").is_none()),
            "secrets are never listed"
        );
        assert_eq!(app.delete(&format!("/api/v1/tokens/{id}")).await.status, StatusCode::NO_CONTENT);
        assert_eq!(
            app.call(Method::GET, "/api/v1/customers", Some(&read_only), None, &[]).await.status,
            StatusCode::UNAUTHORIZED,
            "revoked tokens replay as 401"
        );
        let rw = app.post("/api/v1/tokens", json!({"name": "sync", "scopes": ["read", "write"]})).await.body["token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            app.call(Method::POST, "/api/v1/customers", Some(&rw), Some(json!({"name": "Y"})), &[]).await.status,
            StatusCode::CREATED
        );
        // Expire it, as time would, and ask a server that has not seen it within the last
        // seconds (another process, or this one after SESSION_TTL).
        crate::helpers::expire_all_tokens(&app).await;
        let other = rapport_store::Store::connect(&app.url).await.unwrap();
        let other = rapport_server::build_app(rapport_server::AppState::new(other, Default::default()));
        let req = axum::http::Request::get("/api/v1/customers")
            .header("authorization", format!("Bearer {rw}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let res = tower::ServiceExt::oneshot(other, req).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "expired tokens are refused");
        let bad = app
            .call(
                Method::POST,
                "/api/v1/tokens",
                Some(&app.login(crate::helpers::ADMIN_EMAIL, PASSWORD).await),
                Some(json!({"name": "x", "scopes": ["admin"]})),
                &[],
            )
            .await;
        assert_eq!(bad.error_fields(), vec!["scopes".to_string()]);
        let audit = app
            .call(Method::GET, "/api/v1/audit_log?object=token", Some(&app.login(crate::helpers::ADMIN_EMAIL, PASSWORD).await), None, &[])
            .await;
        let actions: Vec<&str> = audit.body.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"token_create") && actions.contains(&"token_revoke"), "{actions:?}");
    });
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_every_server_process() {
    each_backend!(|app| {
        let login = |router: axum::Router, password: &'static str| async move {
            let req = axum::http::Request::post("/api/v1/auth/login")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(json!({"email": crate::helpers::ADMIN_EMAIL, "password": password}).to_string()))
                .unwrap();
            tower::ServiceExt::oneshot(router, req).await.unwrap()
        };
        for _ in 0..5 {
            assert_eq!(login(app.router.clone(), "wrong password!").await.status(), StatusCode::UNAUTHORIZED);
        }
        // A second server process over the same database sees the lock.
        let other = rapport_server::build_app(rapport_server::AppState::new(app.store.clone(), Default::default()));
        let locked = login(other, PASSWORD).await;
        assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
        assert!(locked.headers().get("retry-after").is_some());
        let audit = app.get("/api/v1/audit_log?action=login_failed").await;
        assert_eq!(audit.body.as_array().unwrap().len(), 5);
        assert_eq!(audit.body[0]["diff"]["failures"], 5);
    });
}

#[tokio::test]
async fn every_change_is_audited_with_actor_request_and_diff() {
    each_backend!(|app| {
        let me = user_id(&app, &app.token).await;
        let c = app.customer(json!({"name": "Ann", "email": "ann@example.com"})).await;
        let path = format!("/api/v1/customers/{}", c["id"]);
        app.call(Method::PATCH, &path, Some(&app.token), Some(json!({"lifecycle_stage": "customer"})), &[("x-request-id", "req-42")]).await;
        app.delete(&path).await;
        let log = app.get(&format!("/api/v1/audit_log?object=customer&record_id={}", c["id"])).await;
        let entries = log.body.as_array().unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["delete", "update", "create"]);
        let update = &entries[1];
        assert_eq!((update["actor_id"].as_i64(), update["request_id"].as_str()), (Some(me), Some("req-42")));
        assert_eq!(update["diff"]["lifecycle_stage"], json!(["lead", "customer"]));
        assert_eq!(entries[2]["diff"]["after"]["email"], "ann@example.com");
        let page = app.get(&format!("/api/v1/audit_log?limit=1&before_id={}", entries[0]["id"])).await;
        assert_eq!(page.body[0]["id"], entries[1]["id"]);
        let logins = app.get("/api/v1/audit_log?action=login").await;
        assert!(!logins.body.as_array().unwrap().is_empty());
    });
}

#[tokio::test]
async fn privacy_export_and_erasure() {
    each_backend!(|app| {
        let c = app
            .customer(
                json!({"name": "Ann Lee", "email": "ann@example.com", "phone": "+1 415 555 0134", "notes": "likes tea", "tags": ["vip"]}),
            )
            .await;
        let path = format!("/api/v1/customers/{}", c["id"]);
        app.patch(&path, json!({"source": "fair"}), None).await;
        let tea = app.product("TEA", "Tea", 450, "EUR").await;
        app.paid_order(&c, "2025-05-01", json!([{"product_id": tea["id"], "quantity": 2}])).await;
        let export = app.get(&format!("{path}/privacy_export")).await;
        assert_eq!(export.body["purchases"][0]["product"], "Tea", "purchases are part of what is held");
        assert_eq!(
            (export.body["purchases"][0]["status"].as_str(), export.body["purchases"][0]["amount_minor"].as_i64()),
            (Some("paid"), Some(900))
        );
        assert_eq!(export.status, StatusCode::OK);
        assert_eq!(export.body["person"]["email"], "ann@example.com");
        assert_eq!(export.body["history"].as_array().unwrap().len(), 2, "create and update (the order has its own history)");
        let erased = app.post(&format!("{path}/erase"), json!({})).await;
        assert_eq!(erased.status, StatusCode::OK, "{}", erased.body);
        let now = app.get(&path).await.body;
        assert_eq!(now["name"], format!("Erased person {}", c["id"]));
        assert!(now["email"].is_null() && now["phone"].is_null() && now["notes"].is_null());
        let kept = app.get(&format!("{path}/purchases")).await;
        assert_eq!(kept.body[0]["amount_minor"], 900, "order totals stay for accounting");
        assert_eq!(now["tags"], json!([]));
        assert!(app.people("q=ann").await.is_empty(), "no longer findable");
        let log = app.get(&format!("/api/v1/audit_log?object=customer&record_id={}", c["id"])).await;
        let text = log.body.to_string();
        assert!(!text.contains("ann@example.com") && !text.contains("likes tea"), "the history forgets too: {text}");
        let actions: Vec<&str> = log.body.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions[..2], ["erase", "export"]);
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let r = app.call(Method::GET, &format!("{path}/privacy_export"), Some(&rep), None, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "exports need the export permission");
    });
}

#[tokio::test]
async fn responses_carry_security_headers() {
    each_backend!(|app| {
        for path in ["/login", "/api/v1/customers"] {
            let r = app.call(Method::GET, path, Some(&app.token), None, &[]).await;
            assert_eq!(r.header("x-content-type-options"), "nosniff");
            assert_eq!(r.header("x-frame-options"), "DENY");
            assert!(r.header("content-security-policy").contains("frame-ancestors 'none'"));
        }
    });
}
