//! Issue 12 §3: a campaign's sending at the recipient's local time and within sending windows,
//! on both engines. Each mail is written with the instant it may go out in its recipient's
//! zone (the person's `time_zone`, else the company's, else the sending's), hand-computed here
//! across a daylight-saving change; the claim holds back a mail whose window is closed.

use axum::http::StatusCode;
use chrono::{Datelike, Duration, Utc};
use rapport_domain::marketing::email::MarketingLimits;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::TestApp;

async fn exec(app: &TestApp, q: &str) {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(q.to_string())).execute(&mut conn).await.unwrap();
}

async fn rows(app: &TestApp, q: &str) -> Vec<(String, String, String)> {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    sqlx::query_as(sqlx::AssertSqlSafe(q.to_string())).fetch_all(&mut conn).await.unwrap()
}

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.post(path, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.body);
    r.body
}

async fn campaign_with(app: &TestApp, name: &str, people: &[i64]) -> i64 {
    let c = created(
        app,
        "/api/v1/campaigns",
        json!({"name": name, "channel": "email", "budget_minor": 0, "currency": "USD", "starts_on": "2026-01-01", "ends_on": "2030-12-31"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let r = app.post(&format!("/api/v1/campaigns/{c}/members"), json!({"person_ids": people})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    c
}

async fn expand_now(app: &TestApp) {
    // The sending's start has come (as time would bring it).
    exec(app, "UPDATE campaign_sends SET send_at = '2000-01-01T00:00:00.000000Z'").await;
    for _ in 0..5 {
        app.store.expand_campaign_sends(100).await.unwrap();
    }
}

#[tokio::test]
async fn each_mail_waits_for_the_local_start_in_its_recipients_zone_and_windows_hold_the_rest() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        for object in ["customer", "company"] {
            created(
                &app,
                "/api/v1/custom_fields",
                json!({"object": object, "key": "time_zone", "label": "Time zone", "field_type": "text"}),
            )
            .await;
        }
        let t = created(&app, "/api/v1/email_templates", json!({"name": "Hi", "subject": "Hi {{name}}", "text_body": "Hello"})).await["id"]
            .as_i64()
            .unwrap();
        let sydney = app.company(json!({"name": "Harbour Pty", "custom": {"time_zone": "Australia/Sydney"}})).await;
        let ann = app.customer(json!({"name": "Ann", "email": "ann@example.com", "custom": {"time_zone": "Europe/Berlin"}})).await["id"]
            .as_i64()
            .unwrap();
        let bob =
            app.customer(json!({"name": "Bob", "email": "bob@example.com", "company_id": sydney["id"]})).await["id"].as_i64().unwrap();
        let cy = app.customer(json!({"name": "Cy", "email": "cy@example.com"})).await["id"].as_i64().unwrap();
        let dee = app.customer(json!({"name": "Dee", "email": "dee@example.com", "custom": {"time_zone": "Not/AZone"}})).await["id"]
            .as_i64()
            .unwrap();
        let c = campaign_with(&app, "Morning", &[ann, bob, cy, dee]).await;

        let r = app
            .post(
                &format!("/api/v1/campaigns/{c}/send"),
                json!({"template_id": t, "local_send_at": "2030-04-01T09:00", "time_zone": "Mars/Base"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["time_zone"]);
        let r = app
            .post(
                &format!("/api/v1/campaigns/{c}/send"),
                json!({"template_id": t, "local_send_at": "2030-04-01T09:00", "time_zone": "America/New_York"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        // Expansion starts when the earliest zone (UTC+14) reaches 09:00.
        assert_eq!(r.body["send_at"], "2030-03-31T19:00:00.000000Z");
        assert_eq!(r.body["local_send_at"], "2030-04-01T09:00:00");
        expand_now(&app).await;
        // Monday 1 April 2030, 09:00 local: Berlin moved to summer time (UTC+2) on 31 March;
        // Sydney is still on summer time (UTC+11) until 7 April; New York is on EDT (UTC-4).
        let got =
            rows(&app, &format!("SELECT to_addr, next_attempt_at, time_zone FROM mail_queue WHERE campaign_id = {c} ORDER BY to_addr"))
                .await;
        let want = [
            ("ann@example.com", "2030-04-01T07:00:00.000000Z", "Europe/Berlin"),
            ("bob@example.com", "2030-03-31T22:00:00.000000Z", "Australia/Sydney"),
            ("cy@example.com", "2030-04-01T13:00:00.000000Z", "America/New_York"),
            ("dee@example.com", "2030-04-01T13:00:00.000000Z", "America/New_York"),
        ];
        let got: Vec<(&str, &str, &str)> = got.iter().map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())).collect();
        assert_eq!(got, want);
        let limits = MarketingLimits { frequency_days: 7, ..MarketingLimits::default() };
        assert!(app.store.claim_marketing_mail("m", 60, 10, &limits).await.unwrap().is_empty(), "nothing is due before its morning");

        // Windows: every day but today (UTC), so the window is closed now for a recipient in
        // UTC; the mail waits for tomorrow's opening, and a mail due meanwhile (a retry) is put
        // back there by the claim.
        app.post(&format!("/api/v1/campaigns/{c}/send/actions"), json!({"action": "cancel"})).await;
        let eve = app.customer(json!({"name": "Eve", "email": "eve@example.com"})).await["id"].as_i64().unwrap();
        let c2 = campaign_with(&app, "Windowed", &[eve]).await;
        let today = Utc::now().date_naive();
        let days: Vec<&str> = rapport_domain::marketing::windows::DAYS
            .iter()
            .enumerate()
            .filter(|(i, _)| *i as u32 != today.weekday().num_days_from_monday())
            .map(|(_, d)| *d)
            .collect();
        let r = app
            .post(
                &format!("/api/v1/campaigns/{c2}/send"),
                json!({"template_id": t, "window": {"days": days, "start": "00:00", "end": "23:59"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(r.body["window"]["start"], "00:00");
        expand_now(&app).await;
        let tomorrow = format!("{}T00:00:00.000000Z", today + Duration::days(1));
        let got = rows(&app, &format!("SELECT to_addr, next_attempt_at, time_zone FROM mail_queue WHERE campaign_id = {c2}")).await;
        assert_eq!(got, [("eve@example.com".to_string(), tomorrow.clone(), "UTC".to_string())]);
        exec(&app, &format!("UPDATE mail_queue SET next_attempt_at = '2000-01-01T00:00:00.000000Z' WHERE campaign_id = {c2}")).await;
        assert!(app.store.claim_marketing_mail("m", 60, 10, &limits).await.unwrap().is_empty(), "held back: the window is closed");
        let got =
            rows(&app, &format!("SELECT state, next_attempt_at, CAST(attempts AS TEXT) FROM mail_queue WHERE campaign_id = {c2}")).await;
        assert_eq!(got, [("queued".to_string(), tomorrow, "0".to_string())]);
    });
}
