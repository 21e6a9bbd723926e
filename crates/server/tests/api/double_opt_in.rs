//! Issue 12 §4: double opt-in on both engines. Signing up on the public form queues a
//! transactional confirmation mail with a signed link and records no consent; a GET of the
//! link (what a mail scanner does) changes nothing; the page's POST records the consent with
//! its time, the confirming client's IP, the source and the legal basis, once; a forged token
//! is not found. With the web form's switch off (single opt-in), a sign-up is consent at once.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use sqlx::Connection;
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::ui::{csrf_of, form, page, session};
use crate::web_to_lead::send;

async fn texts(app: &TestApp, q: &str) -> Vec<String> {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(q.to_string())).fetch_all(&mut conn).await.unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

/// A POST of the confirmation page's form from `ip`; the status and the page.
async fn post_from(app: &TestApp, ip: &str, path: &str) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn a_signup_is_consent_only_once_its_link_is_confirmed_by_a_post() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        let r =
            send(&app.router, "203.0.113.7", &[], json!({"name": "Ann Lee", "email": "ann@example.com", "subscribe": "true"}), None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        // Without the box ticked nobody is asked.
        send(&app.router, "203.0.113.8", &[], json!({"name": "Bob Roe", "email": "bob@example.com"}), None).await;
        let mails = texts(&app, "SELECT to_addr FROM mail_queue WHERE subject = 'Please confirm your subscription'").await;
        assert_eq!(mails, ["ann@example.com"]);
        let kind = texts(&app, "SELECT kind FROM mail_queue WHERE to_addr = 'ann@example.com'").await;
        assert_eq!(kind, ["transactional"], "a confirmation is transactional: no opt-out or frequency cap holds it");
        let body = texts(&app, "SELECT text_body FROM mail_queue WHERE to_addr = 'ann@example.com'").await.remove(0);
        let link = body.split_whitespace().find(|w| w.starts_with("https://crm.example.com/m/confirm/")).unwrap().to_string();
        let path = link.trim_start_matches("https://crm.example.com").to_string();
        let person = texts(&app, "SELECT CAST(person_id AS TEXT) FROM marketing_confirmations").await.remove(0);
        let consents = format!("/api/v1/customers/{person}/consents");
        assert_eq!(app.get(&consents).await.body, json!([]), "no consent before confirmation");

        // A scanner's GET shows the page and changes nothing.
        let page = app.call(Method::GET, &path, None, None, &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.body.as_str().unwrap_or_default().to_string();
        assert!(html.contains("Yes, subscribe me") && html.contains("a***@example.com"), "{html}");
        assert_eq!(app.get(&consents).await.body, json!([]));

        let (status, html) = post_from(&app, "198.51.100.4", &path).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("You are subscribed"), "{html}");
        let (status, _) = post_from(&app, "198.51.100.5", &path).await;
        assert_eq!(status, StatusCode::OK, "confirming again is fine");
        let list = app.get(&consents).await.body;
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 1, "recorded once: {list:?}");
        let c = &list[0];
        assert_eq!(
            (c["topic"].as_str(), c["granted"].as_bool(), c["legal_basis"].as_str(), c["source"].as_str(), c["ip"].as_str()),
            (Some("newsletter"), Some(true), Some("consent"), Some("signup_form"), Some("198.51.100.4")),
            "{c}"
        );
        assert!(c["at"].as_str().is_some_and(|a| a.starts_with("20")), "{c}");

        // A forged token is not found.
        let last = if path.ends_with('0') { '1' } else { '0' };
        let forged = format!("{}{last}", &path[..path.len() - 1]);
        assert_eq!(app.call(Method::GET, &forged, None, None, &[]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(post_from(&app, "198.51.100.4", &forged).await.0, StatusCode::NOT_FOUND);
    });
}

/// The web form's double opt-in switch: on by default (the form promises a confirmation mail);
/// an admin turns it off on the settings page, and a sign-up is then consent at once, with the
/// submitter's IP, and no confirmation mail; the API turns it on again.
#[tokio::test]
async fn with_single_opt_in_a_signup_is_consent_at_once() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        assert_eq!(app.get("/api/v1/settings/web_form").await.body["double_opt_in"], true, "double opt-in is the default");
        let form_page = |app: &TestApp| {
            let app = app.router.clone();
            async move {
                let res = app.oneshot(Request::get("/forms/lead").body(Body::empty()).unwrap()).await.unwrap();
                String::from_utf8_lossy(&axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()).into_owned()
            }
        };
        assert!(form_page(&app).await.contains("we mail you a link to confirm first"));

        let admin = session(&app, ADMIN_EMAIL).await;
        let (_, html) = page(&app, "/admin/web_form", &admin).await;
        assert!(html.contains("name=\"double_opt_in\" value=\"on\" checked"), "{html}");
        let body = format!("_csrf={}&version=0&allowed_origins=&default_owner_id=", csrf_of(&html));
        let (status, _, _) = form(&app, "/admin/web_form", Some(&admin), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "an unticked box turns it off");
        assert_eq!(app.get("/api/v1/settings/web_form").await.body["double_opt_in"], false);
        assert!(!form_page(&app).await.contains("confirm first"), "the form no longer promises a confirmation mail");

        let r =
            send(&app.router, "203.0.113.9", &[], json!({"name": "Cy Dee", "email": "cy@example.com", "subscribe": "true"}), None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        let mails = texts(&app, "SELECT to_addr FROM mail_queue WHERE subject = 'Please confirm your subscription'").await;
        assert!(mails.is_empty(), "no confirmation is asked: {mails:?}");
        let consents =
            texts(&app, "SELECT topic || ' ' || ip || ' ' || source || ' ' || legal_basis FROM marketing_consents WHERE granted = 1").await;
        assert_eq!(consents, ["newsletter 203.0.113.9 signup_form consent"]);

        let r = app.patch("/api/v1/settings/web_form", json!({"double_opt_in": true}), Some(1)).await;
        assert_eq!((r.status, &r.body["double_opt_in"]), (StatusCode::OK, &json!(true)), "{}", r.body);
        send(&app.router, "203.0.113.10", &[], json!({"name": "Di Eve", "email": "di@example.com", "subscribe": "true"}), None).await;
        let mails = texts(&app, "SELECT to_addr FROM mail_queue WHERE subject = 'Please confirm your subscription'").await;
        assert_eq!(mails, ["di@example.com"]);
        assert_eq!(texts(&app, "SELECT topic FROM marketing_consents WHERE granted = 1").await.len(), 1, "Di's consent waits for her link");
    });
}
