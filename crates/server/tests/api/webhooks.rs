//! Webhooks (issue 13 §6): subscriptions validated, events written in the change's own
//! transaction, deliveries posted to a real receiver on loopback with a verifiable signature,
//! retried, logged, redelivered, refused on private addresses unless allowed, disabled after a
//! failure streak, and never posted twice at once by two senders.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;
use crate::sla::{created, exec};

/// A webhook receiver on loopback: records every request and answers `status`.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    status: Arc<AtomicU16>,
}

async fn receiver() -> Receiver {
    let seen: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let status = Arc::new(AtomicU16::new(200));
    let (s, st) = (seen.clone(), status.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (s, st) = (s.clone(), st.clone());
            async move {
                s.lock().unwrap().push((headers, body));
                StatusCode::from_u16(st.load(Ordering::SeqCst)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url: format!("http://127.0.0.1:{}/hook?source=rapport", addr.port()), seen, status }
}

async fn allow_private(app: &TestApp, disable_after: i64) {
    let r = app
        .call(
            axum::http::Method::PUT,
            "/api/v1/webhooks/settings",
            Some(&app.token),
            Some(json!({"allow_private_targets": true, "disable_after_failures": disable_after})),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/webhooks/deliveries{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

/// Makes every pending delivery due now, as waiting out its backoff would.
async fn make_due(app: &TestApp) {
    exec(app, &["UPDATE webhook_deliveries SET next_attempt_at = '2000-01-01T00:00:00.000000Z' WHERE state = 'pending'".into()]).await;
}

async fn send(app: &TestApp) -> usize {
    rapport_server::webhooks::deliver_due(&app.store, "test-sender", rapport_server::webhooks::DEFAULT_LEASE_SECS).await.unwrap()
}

#[tokio::test]
async fn subscriptions_are_checked_and_kept_by_admins() {
    each_backend!(|app| {
        let r = app.post("/api/v1/webhooks", json!({"url": "ftp://example.com/x", "events": ["customer.exploded"]})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["url", "events"]);
        let s = created(
            &app,
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/crm", "events": ["customer.created", "order.paid"]}),
        )
        .await;
        let secret = s["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
        assert_eq!(s["events"], json!(["customer.created", "order.paid"]));
        let id = s["id"].as_i64().unwrap();
        let got = app.get(&format!("/api/v1/webhooks/{id}")).await;
        assert!(got.body.get("secret").is_none(), "the secret is shown once: {}", got.body);
        let stale = app.patch(&format!("/api/v1/webhooks/{id}"), json!({"active": false}), Some(7)).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.body);
        let off = app.patch(&format!("/api/v1/webhooks/{id}"), json!({"active": false, "events": ["*"]}), Some(1)).await;
        assert_eq!((off.status, off.body["active"].clone(), off.body["events"].clone()), (StatusCode::OK, json!(false), json!(["*"])));
        let types = app.get("/api/v1/webhooks/event_types").await;
        assert!(types.body["event_types"].as_array().unwrap().contains(&json!("ticket.resolved")));

        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        assert_eq!(app.get_as(&rep, "/api/v1/webhooks").await.status, StatusCode::FORBIDDEN);
        let bad = app
            .call(
                axum::http::Method::PUT,
                "/api/v1/webhooks/settings",
                Some(&app.token),
                Some(json!({"allow_private_targets": true, "disable_after_failures": 0})),
                &[],
            )
            .await;
        assert_eq!((bad.status, bad.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["disable_after_failures".to_string()]));
        assert_eq!(app.delete(&format!("/api/v1/webhooks/{id}")).await.status, StatusCode::NO_CONTENT);
        assert!(app.get("/api/v1/webhooks").await.body.as_array().unwrap().is_empty());
    });
}

#[tokio::test]
async fn events_are_written_with_their_change_and_only_when_wanted() {
    each_backend!(|app| {
        // No subscription: changes write no events.
        app.customer(json!({"name": "Early Bird"})).await;
        let s =
            created(&app, "/api/v1/webhooks", json!({"url": "https://hooks.example.com/a", "events": ["customer.created", "order.paid"]}))
                .await;
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let patched = app.patch(&format!("/api/v1/customers/{}", ann["id"]), json!({"tags": ["vip"]}), Some(1)).await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        // A refused change leaves no event behind.
        let bad = app.post("/api/v1/customers", json!({"name": "", "email": "nope"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let d = deliveries(&app, "").await;
        assert_eq!(d.len(), 1, "one created person, no update (not subscribed), nothing for the refused one: {d:?}");
        assert_eq!(
            (d[0]["event_type"].as_str(), d[0]["state"].as_str(), d[0]["subscription_id"].clone()),
            (Some("customer.created"), Some("pending"), s["id"].clone())
        );

        // A paid order is its own event; a second subscription to everything gets every event.
        created(&app, "/api/v1/webhooks", json!({"url": "https://hooks.example.com/b", "events": ["*"]})).await;
        let widget = app.product("W-1", "Widget", 1000, "USD").await;
        app.paid_order(&ann, "2026-11-02", json!([{"product_id": widget["id"], "quantity": 1}])).await;
        let types: Vec<String> = deliveries(&app, "").await.iter().map(|d| d["event_type"].as_str().unwrap().to_string()).collect();
        assert!(types.iter().filter(|t| *t == "order.paid").count() == 2, "both subscriptions get order.paid: {types:?}");
        assert!(types.contains(&"order.created".to_string()) && types.contains(&"product.created".to_string()), "{types:?}");
        let first_only = deliveries(&app, &format!("?subscription_id={}", s["id"])).await;
        assert_eq!(first_only.iter().map(|d| d["event_type"].as_str().unwrap()).collect::<Vec<_>>(), ["order.paid", "customer.created"]);
        assert_eq!(app.get("/api/v1/webhooks/deliveries?state=lost").await.error_fields(), ["state"]);
    });
}

#[tokio::test]
async fn deliveries_are_signed_retried_logged_and_redelivered() {
    each_backend!(|app| {
        let rx = receiver().await;
        let s = created(&app, "/api/v1/webhooks", json!({"url": rx.url, "events": ["customer.created"]})).await;
        let secret = s["secret"].as_str().unwrap().to_string();
        app.customer(json!({"name": "Ann Lee"})).await;

        // Loopback is refused by default: nothing is posted, the log says why.
        assert_eq!(send(&app).await, 1);
        assert!(rx.seen.lock().unwrap().is_empty());
        let d = deliveries(&app, "").await.remove(0);
        assert_eq!(d["state"], "pending");
        let why = d["last_error"].as_str().unwrap();
        assert!(why.contains("127.0.0.1, a loopback address") && why.contains("allow private targets"), "{why}");
        assert!(d["next_attempt_at"].as_str().unwrap() > rapport_domain::now_rfc3339().as_str(), "backed off");
        assert_eq!(send(&app).await, 0, "not due again yet");

        // Allowed, the receiver fails once, then takes it.
        allow_private(&app, 50).await;
        rx.status.store(500, Ordering::SeqCst);
        make_due(&app).await;
        assert_eq!(send(&app).await, 1);
        let d = deliveries(&app, "").await.remove(0);
        assert_eq!((d["state"].as_str(), d["last_status"].as_i64(), d["attempts"].as_i64()), (Some("pending"), Some(500), Some(2)));
        rx.status.store(204, Ordering::SeqCst);
        make_due(&app).await;
        assert_eq!(send(&app).await, 1);
        let d = deliveries(&app, "").await.remove(0);
        assert_eq!((d["state"].as_str(), d["last_status"].as_i64()), (Some("delivered"), Some(204)));
        let sub = app.get(&format!("/api/v1/webhooks/{}", s["id"])).await.body;
        assert_eq!(sub["failure_streak"], 0);
        assert!(sub["last_success_at"].is_string());

        let seen = rx.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "the failed and the successful post");
        let (headers, body) = &seen[1];
        assert_eq!(seen[0].1, *body, "every attempt posts the same bytes");
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!((event["type"].as_str(), event["object"].as_str()), (Some("customer.created"), Some("customer")));
        assert_eq!(event["data"]["after"]["name"], "Ann Lee");
        assert_eq!(headers["rapport-event-id"].to_str().unwrap(), event["id"].to_string());
        let sig = headers["rapport-signature"].to_str().unwrap();
        let t: i64 = sig.strip_prefix("t=").and_then(|s| s.split(',').next()).unwrap().parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - t).abs() < 60);
        assert_eq!(sig, rapport_server::webhooks::signature(&secret, t, body), "the signature verifies with the secret");
        assert_ne!(sig, rapport_server::webhooks::signature("whsec_other", t, body));

        let log = app.get(&format!("/api/v1/webhooks/deliveries/{}", d["id"])).await.body;
        let statuses: Vec<Value> = log["attempts_log"].as_array().unwrap().iter().map(|a| a["status"].clone()).collect();
        assert_eq!(statuses, [Value::Null, json!(500), json!(204)]);

        // Redelivery posts the same event (same id) again.
        let r = app.post(&format!("/api/v1/webhooks/deliveries/{}/redeliver", d["id"]), json!({})).await;
        assert_eq!((r.status, r.body["state"].as_str()), (StatusCode::OK, Some("pending")), "{}", r.body);
        assert_eq!(send(&app).await, 1);
        let seen = rx.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2].0["rapport-event-id"], seen[1].0["rapport-event-id"]);
        assert_eq!(app.post("/api/v1/webhooks/deliveries/99999/redeliver", json!({})).await.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn a_failing_receiver_is_disabled_after_its_streak_and_can_be_turned_back_on() {
    each_backend!(|app| {
        let rx = receiver().await;
        allow_private(&app, 2).await;
        rx.status.store(503, Ordering::SeqCst);
        let s = created(&app, "/api/v1/webhooks", json!({"url": rx.url, "events": ["company.created"]})).await;
        app.company(json!({"name": "Acme"})).await;
        send(&app).await;
        make_due(&app).await;
        send(&app).await;
        let sub = app.get(&format!("/api/v1/webhooks/{}", s["id"])).await.body;
        assert_eq!((sub["active"].clone(), sub["failure_streak"].clone()), (json!(false), json!(2)));
        assert!(sub["disabled_reason"].as_str().unwrap().contains("2 failed deliveries in a row"), "{sub}");
        make_due(&app).await;
        assert_eq!(send(&app).await, 0, "a disabled subscription gets nothing");
        let audit = app.get("/api/v1/audit_log?object=webhook&action=disable").await;
        assert_eq!(audit.body.as_array().map(Vec::len), Some(1), "{}", audit.body);

        rx.status.store(200, Ordering::SeqCst);
        let on = app.patch(&format!("/api/v1/webhooks/{}", s["id"]), json!({"active": true}), None).await;
        assert_eq!(
            (on.body["active"].clone(), on.body["failure_streak"].clone(), on.body["disabled_reason"].clone()),
            (json!(true), json!(0), Value::Null)
        );
        assert_eq!(send(&app).await, 1, "its pending delivery goes out once it is back on");
        assert_eq!(deliveries(&app, "").await[0]["state"], "delivered");
    });
}

#[tokio::test]
async fn two_senders_never_post_one_event_twice() {
    each_backend!(|app| {
        let rx = receiver().await;
        allow_private(&app, 50).await;
        created(&app, "/api/v1/webhooks", json!({"url": rx.url, "events": ["customer.created"]})).await;
        for i in 0..40 {
            app.customer(json!({"name": format!("Person {i}")})).await;
        }
        let (a, b) = (app.store.clone(), app.store.clone());
        let one = tokio::spawn(async move {
            let mut n = 0;
            while let Ok(k) = rapport_server::webhooks::deliver_due(&a, "sender-a", 30).await {
                if k == 0 {
                    break;
                }
                n += k;
            }
            n
        });
        let two = tokio::spawn(async move {
            let mut n = 0;
            while let Ok(k) = rapport_server::webhooks::deliver_due(&b, "sender-b", 30).await {
                if k == 0 {
                    break;
                }
                n += k;
            }
            n
        });
        let total = one.await.unwrap() + two.await.unwrap();
        assert_eq!(total, 40);
        let mut ids: Vec<String> =
            rx.seen.lock().unwrap().iter().map(|(h, _)| h["rapport-event-id"].to_str().unwrap().to_string()).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!((n, ids.len()), (40, 40), "every event posted exactly once");
        assert!(deliveries(&app, "?limit=500").await.iter().all(|d| d["state"] == "delivered"));
    });
}

#[tokio::test]
async fn admins_subscribe_and_redeliver_on_the_webhooks_page() {
    use crate::helpers::ADMIN_EMAIL;
    use crate::ui::{csrf_of, form, page, session};
    each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/admin/webhooks", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("No subscriptions yet") && html.contains("ticket.resolved"), "{html}");
        let csrf = csrf_of(&html);

        // Bad input is named on the page; nothing is created.
        let (status, _, html) = form(&app, "/admin/webhooks", Some(&cookie), &format!("_csrf={csrf}&url=gopher%3A%2F%2Fx")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("role=\"alert\"") && html.contains("url") && html.contains("events"), "{html}");
        assert!(app.get("/api/v1/webhooks").await.body.as_array().unwrap().is_empty());

        // A subscription shows its secret once.
        let body =
            format!("_csrf={csrf}&url=https%3A%2F%2Fhooks.example.com%2Fcrm&description=ERP&event=customer.created&event=order.paid");
        let (status, _, html) = form(&app, "/admin/webhooks", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"webhook-secret\">whsec_") && html.contains("customer.created, order.paid"), "{html}");
        let (_, html) = page(&app, "/admin/webhooks", &cookie).await;
        assert!(!html.contains("whsec_"), "the secret is not shown again");
        let id = app.get("/api/v1/webhooks").await.body[0]["id"].as_i64().unwrap();

        // Settings, turning it off, and redelivering a delivery.
        let (status, _, html) = form(
            &app,
            "/admin/webhooks/settings",
            Some(&cookie),
            &format!("_csrf={csrf}&allow_private_targets=on&disable_after_failures=7"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let saved = app.get("/api/v1/webhooks/settings").await.body;
        assert_eq!(saved, json!({"allow_private_targets": true, "disable_after_failures": 7}));
        let (status, _, _) = form(&app, "/admin/webhooks/settings", Some(&cookie), &format!("_csrf={csrf}&disable_after_failures=0")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        app.customer(json!({"name": "Ann Lee"})).await;
        let delivery = deliveries(&app, "").await[0]["id"].as_i64().unwrap();
        let (status, _, _) =
            form(&app, &format!("/admin/webhooks/deliveries/{delivery}/redeliver"), Some(&cookie), &format!("_csrf={csrf}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, _) =
            form(&app, &format!("/admin/webhooks/{id}/active"), Some(&cookie), &format!("_csrf={csrf}&version=1&active=false")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.get(&format!("/api/v1/webhooks/{id}")).await.body["active"], false);
        let (_, html) = page(&app, "/admin/webhooks", &cookie).await;
        assert!(html.contains("Turn on") && html.contains("customer.created") && html.contains("Redeliver"), "{html}");

        // Others are refused.
        app.user_token("rep@example.com", Role::SalesRep).await;
        let rep = session(&app, "rep@example.com").await;
        assert_eq!(page(&app, "/admin/webhooks", &rep).await.0, StatusCode::FORBIDDEN);
    });
}
