//! The public web-to-lead endpoint and form (issue 9 §1): leads from the web, no sign-in,
//! with a honeypot, a per-address throttle kept in the database and an admin-set list of
//! sites allowed to submit.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::{Res, TestApp};

/// A submission from `ip` as the server sees a connection from it, with `headers`; the body is
/// JSON unless `form` is given.
pub(crate) async fn send(router: &axum::Router, ip: &str, headers: &[(&str, &str)], body: Value, form: Option<&str>) -> Res {
    let mut req = Request::builder().method(Method::POST).uri("/api/v1/web_to_lead");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = match form {
        Some(f) => req.header("content-type", "application/x-www-form-urlencoded").body(Body::from(f.to_string())),
        None => req.header("content-type", "application/json").body(Body::from(body.to_string())),
    }
    .unwrap();
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Res { status, headers, body }
}

async fn submit(app: &TestApp, ip: &str, body: Value) -> Res {
    send(&app.router, ip, &[], body, None).await
}

/// Every person with this email (admin's view), straight from the list.
async fn people_with(app: &TestApp, email: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/customers?email={email}")).await.body["data"].as_array().cloned().unwrap_or_default()
}

async fn notes_of(app: &TestApp, person: &Value) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/activities?customer_id={}&kind=note&sort=id", person["id"])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"].as_array().cloned().unwrap()
}

#[tokio::test]
async fn a_new_email_becomes_a_new_lead_and_a_known_one_records_the_interest() {
    each_backend!(|app| {
        let acme = app.company(json!({"name": "Acme Tools"})).await;
        let r = submit(
            &app,
            "203.0.113.1",
            json!({"name": "Ann Web", "email": "Ann.Web@Example.com", "phone": "+44 20 7946 0958", "company_name": "ACME tools", "message": "Quote for 40 seats", "website": ""}),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        let answer = r.body.clone();
        assert_eq!(answer["status"], "received");
        let found = people_with(&app, "ann.web@example.com").await;
        assert_eq!(found.len(), 1);
        let p = &found[0];
        assert_eq!(
            (p["name"].as_str(), p["lifecycle_stage"].as_str(), p["lead_status"].as_str()),
            (Some("Ann Web"), Some("lead"), Some("new"))
        );
        assert_eq!(
            (p["source"].as_str(), p["needs"].as_str(), p["phone"].as_str()),
            (Some("web form"), Some("Quote for 40 seats"), Some("+442079460958"))
        );
        assert_eq!((&p["owner_id"], &p["company_id"]), (&json!(null), &acme["id"]), "unowned (the lead pool), linked to the company named");
        let notes = notes_of(&app, p).await;
        assert_eq!(notes.len(), 1);
        assert!(notes[0]["body"].as_str().unwrap().ends_with("Quote for 40 seats"));

        // The same email again: the same answer, no second person, the interest recorded.
        let version = p["version"].as_i64().unwrap();
        let r = submit(
            &app,
            "203.0.113.2",
            json!({"name": "Someone Else", "email": "ann.web@example.com", "phone": "+1 415 555 0134", "message": "Also interested in onboarding"}),
        )
        .await;
        assert_eq!((r.status, &r.body), (StatusCode::ACCEPTED, &answer), "a known email is not told apart");
        let found = people_with(&app, "ann.web@example.com").await;
        assert_eq!(found.len(), 1, "no duplicate");
        let p = &found[0];
        assert_eq!(p["version"].as_i64(), Some(version + 1));
        let needs = p["needs"].as_str().unwrap();
        assert!(needs.starts_with("Quote for 40 seats\n\n[") && needs.ends_with(", web form] Also interested in onboarding"), "{needs}");
        assert_eq!(
            (p["name"].as_str(), p["phone"].as_str()),
            (Some("Ann Web"), Some("+442079460958")),
            "what an anonymous visitor typed does not overwrite the person"
        );
        let notes = notes_of(&app, p).await;
        assert_eq!(notes.len(), 2);
        let body = notes[1]["body"].as_str().unwrap();
        assert!(body.contains("Name: Someone Else") && body.contains("Phone: +14155550134"), "what they typed is in the note: {body}");

        // Written as the system, audited.
        let r = app.get(&format!("/api/v1/audit_log?object=customer&record_id={}", p["id"])).await;
        let ours = r.body.as_array().cloned().unwrap_or_default();
        let actions: Vec<&str> = ours.iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions, ["update", "create"], "{}", r.body);
        assert!(ours.iter().all(|e| e["actor_id"].is_null()), "by the system");
    });
}

#[tokio::test]
async fn bots_filling_the_honeypot_are_answered_alike_and_leave_nothing() {
    each_backend!(|app| {
        let r = submit(&app, "198.51.100.7", json!({"name": "Bot", "email": "bot@spam.example", "website": "http://spam.example"})).await;
        assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::ACCEPTED, Some("received")));
        // Even an invalid body: a bot learns nothing from validation.
        let r = submit(&app, "198.51.100.7", json!({"email": "nope", "website": "x"})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        assert!(people_with(&app, "bot@spam.example").await.is_empty());
        assert_eq!(app.get("/api/v1/customers").await.body["data"], json!([]));
        assert_eq!(app.get("/api/v1/activities").await.body["data"], json!([]));
    });
}

#[tokio::test]
async fn bad_submissions_name_their_fields_and_forms_post_too() {
    each_backend!(|app| {
        let r = submit(&app, "192.0.2.10", json!({"email": "not an email", "phone": "12"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["name", "email", "phone"]);
        let r = submit(&app, "192.0.2.10", json!({"name": "X", "email": "x@example.com", "owner_id": 1})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["owner_id".to_string()]));
        let r =
            send(&app.router, "192.0.2.11", &[], json!(null), Some("name=Form+Person&email=form%40example.com&message=Hi&website=")).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(people_with(&app, "form@example.com").await.len(), 1);
    });
}

#[tokio::test]
async fn a_flood_past_the_throttle_is_refused_for_every_server_process() {
    each_backend!(|app| {
        // A second server process over the same database.
        let other_store = rapport_store::Store::connect(&app.url).await.unwrap();
        let other = rapport_server::build_app(rapport_server::AppState::new(other_store.clone(), rapport_server::Config::default()));
        let lead = |i: usize| json!({"name": format!("Flood {i}"), "email": format!("flood{i}@example.com")});
        for i in 0..5 {
            let router = if i % 2 == 0 { &app.router } else { &other };
            let r = send(router, "203.0.113.50", &[], lead(i), None).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "submission {i}: {}", r.body);
        }
        for (i, router) in [(5, &other), (6, &app.router)] {
            let r = send(router, "203.0.113.50", &[], lead(i), None).await;
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "submission {i}: {}", r.body);
            let secs: i64 = r.header("retry-after").parse().unwrap_or(0);
            assert!((1..=600).contains(&secs), "Retry-After within the 10-minute window: {secs}");
            assert_eq!(r.header("content-type"), "application/problem+json");
        }
        let r = send(&other, "203.0.113.50", &[], json!({"name": "Bot", "website": "x"}), None).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "bots count too");
        assert_eq!(
            app.get("/api/v1/customers?limit=100").await.body["data"].as_array().unwrap().len(),
            5,
            "only the first five were stored"
        );
        // Another address is not held back; nor is the same one once its window is over.
        assert_eq!(send(&app.router, "203.0.113.51", &[], lead(7), None).await.status, StatusCode::ACCEPTED);
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.url).await.unwrap();
        sqlx::raw_sql("UPDATE web_lead_throttle SET window_start = '2000-01-01T00:00:00.000000Z' WHERE client = '203.0.113.50'")
            .execute(&mut conn)
            .await
            .unwrap();
        assert_eq!(send(&other, "203.0.113.50", &[], lead(8), None).await.status, StatusCode::ACCEPTED);
        // IPv6 hosts count per /64.
        for i in 0..5 {
            assert_eq!(send(&app.router, &format!("[2001:db8:7:7::{i}]"), &[], lead(20 + i), None).await.status, StatusCode::ACCEPTED);
        }
        assert_eq!(send(&app.router, "[2001:db8:7:7:ffff::9]", &[], lead(30), None).await.status, StatusCode::TOO_MANY_REQUESTS);
        other_store.close().await;
    });
}

#[tokio::test]
async fn browsers_on_sites_not_listed_are_refused_and_admins_list_them() {
    each_backend!(|app| {
        let lead = json!({"name": "Ori Gin", "email": "ori@example.com"});
        let r = send(&app.router, "192.0.2.1", &[("origin", "https://www.partner.example")], lead.clone(), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(r.error_fields(), ["Origin"]);
        let r = send(&app.router, "192.0.2.1", &[("origin", "null")], lead.clone(), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(people_with(&app, "ori@example.com").await.is_empty());

        // Our own pages are always allowed.
        let own = [("origin", "http://crm.example.test:8080"), ("host", "crm.example.test:8080")];
        assert_eq!(
            send(&app.router, "192.0.2.1", &own, json!({"name": "Own", "email": "own@example.com"}), None).await.status,
            StatusCode::ACCEPTED
        );

        // Settings are for admins.
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let r = app.call(Method::GET, "/api/v1/settings/web_form", Some(&rep), None, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app
            .call(Method::PATCH, "/api/v1/settings/web_form", Some(&rep), Some(json!({"allowed_origins": ["https://evil.example"]})), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let s = app.get("/api/v1/settings/web_form").await;
        assert_eq!((s.status, &s.body["allowed_origins"], &s.body["version"]), (StatusCode::OK, &json!([]), &json!(0)));
        let r = app
            .patch("/api/v1/settings/web_form", json!({"allowed_origins": ["https://www.partner.example", "partner.example"]}), Some(0))
            .await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["allowed_origins.1".to_string()]));
        let r = app.patch("/api/v1/settings/web_form", json!({"default_owner_id": 999}), Some(0)).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["default_owner_id".to_string()]));
        let r = app.patch("/api/v1/settings/web_form", json!({"allowed_origins": ["https://WWW.partner.example/"]}), Some(0)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((&r.body["allowed_origins"], &r.body["version"]), (&json!(["https://www.partner.example"]), &json!(1)));
        let r = app.patch("/api/v1/settings/web_form", json!({"allowed_origins": []}), Some(0)).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "a stale If-Match");

        let r = send(&app.router, "192.0.2.1", &[("origin", "https://www.partner.example")], lead.clone(), None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(r.header("access-control-allow-origin"), "https://www.partner.example");
        assert_eq!(people_with(&app, "ori@example.com").await.len(), 1);
        let r = send(&app.router, "192.0.2.1", &[("origin", "https://partner.example")], lead.clone(), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "another host of the same domain is another origin");

        // The CORS preflight of a listed site's page.
        let pre = |origin: &'static str| {
            let router = app.router.clone();
            async move {
                let req = Request::builder()
                    .method(Method::OPTIONS)
                    .uri("/api/v1/web_to_lead")
                    .header("origin", origin)
                    .header("access-control-request-method", "POST")
                    .body(Body::empty())
                    .unwrap();
                router.oneshot(req).await.unwrap()
            }
        };
        let ok = pre("https://www.partner.example").await;
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        assert_eq!(ok.headers()["access-control-allow-origin"], "https://www.partner.example");
        assert_eq!(pre("https://evil.example").await.status(), StatusCode::FORBIDDEN);

        // An admin-chosen default owner gets the new leads.
        let rep_id = app.call(Method::GET, "/api/v1/users/me", Some(&rep), None, &[]).await.body["id"].clone();
        let r = app.patch("/api/v1/settings/web_form", json!({"default_owner_id": rep_id}), Some(1)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(submit(&app, "192.0.2.2", json!({"name": "Owned", "email": "owned@example.com"})).await.status, StatusCode::ACCEPTED);
        assert_eq!(people_with(&app, "owned@example.com").await[0]["owner_id"], rep_id);
        let r = app.call(Method::GET, "/api/v1/customers?email=owned@example.com", Some(&rep), None, &[]).await;
        assert_eq!(r.body["data"].as_array().map(Vec::len), Some(1), "the rep reaches the leads given to them");
    });
}
