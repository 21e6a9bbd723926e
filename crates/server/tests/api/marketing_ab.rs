//! A/B tests of email campaigns (issue 12 §8) on both engines: variants defined and checked,
//! members assigned by the seed exactly as `assign` says (the same seed assigns the same people
//! alike), the test share mailed each their variant, the result with the chi-square test of
//! `rapport_analytics::ab`, and the decision taken once by two processes racing, its winner
//! mailed to the rest only — every member gets one mail in all.

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use rapport_domain::marketing::ab::assign;
use rapport_domain::marketing::email::MarketingLimits;
use rapport_store::Store;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, Backend, TestApp};
use crate::ui::{page, session};

/// Runs `q` on the database directly (as the email machinery's events would).
async fn run(app: &TestApp, q: &str) {
    let mut db = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(q.to_string())).execute(&mut db).await.unwrap();
}

/// `(person_id, text)` pairs of `q`.
async fn pairs(app: &TestApp, q: &str) -> Vec<(i64, Option<String>)> {
    let mut db = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    sqlx::query_as(sqlx::AssertSqlSafe(q.to_string())).fetch_all(&mut db).await.unwrap()
}

async fn number(app: &TestApp, q: &str) -> i64 {
    let mut db = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(q.to_string())).fetch_one(&mut db).await.unwrap();
    n
}

async fn created(app: &TestApp, path: &str, body: Value) -> i64 {
    let r = app.post(path, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn email_campaign(app: &TestApp, name: &str, people: &[i64]) -> i64 {
    let body = json!({"name": name, "channel": "email", "currency": "USD", "starts_on": "2026-01-01", "ends_on": "2026-12-31"});
    let c = created(app, "/api/v1/campaigns", body).await;
    let r = app.post(&format!("/api/v1/campaigns/{c}/members"), json!({"person_ids": people})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    c
}

/// Every mail of every live sending written, handed over and confirmed, until the sendings are done.
async fn deliver_all(store: &Store) {
    let limits = MarketingLimits { frequency_days: 7, ..MarketingLimits::default() };
    for _ in 0..30 {
        store.expand_campaign_sends(100).await.unwrap();
        let batch = store.claim_marketing_mail("sender", 60, 500, &limits).await.unwrap();
        let ids: Vec<i64> = batch.iter().map(|m| m.id).collect();
        assert_eq!(store.mails_sending(&ids, "sender", 60).await.unwrap().len(), ids.len());
        store.mails_sent(&ids, "sender").await.unwrap();
    }
}

fn definition(a: i64, b: i64, seed: i64) -> Value {
    json!({"variants": [{"template_id": a}, {"template_id": b, "subject": "Beta for {{name}}"}],
           "test_percent": 50, "wait_minutes": 60, "metric": "clicks", "fallback": "A", "seed": seed})
}

#[tokio::test]
async fn an_ab_test_assigns_by_seed_mails_its_variants_and_sends_the_winner_once() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        let tpl = |subject: &str| json!({"name": subject, "subject": subject, "text_body": "Hello {{name}}: https://shop.example/x"});
        let a = created(&app, "/api/v1/email_templates", tpl("Alpha")).await;
        let b = created(&app, "/api/v1/email_templates", tpl("Beta")).await;
        let mut people = vec![];
        for i in 0..160 {
            people.push(
                app.customer(json!({"name": format!("P{i:03}"), "email": format!("p{i}@example.com")})).await["id"].as_i64().unwrap(),
            );
        }
        let c = email_campaign(&app, "Spring test", &people).await;

        // Bad definitions name their fields; a test only on an email campaign.
        let r = app
            .call(
                Method::PUT,
                &format!("/api/v1/campaigns/{c}/variants"),
                Some(&app.token),
                Some(json!({"variants": [{"template_id": a}]})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["variants"]);
        let bad = json!({"variants": [{"template_id": a}, {"template_id": 999_999}], "fallback": "A"});
        let r = app.call(Method::PUT, &format!("/api/v1/campaigns/{c}/variants"), Some(&app.token), Some(bad), &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["variants[1].template_id"]);
        assert_eq!(app.get(&format!("/api/v1/campaigns/{c}/variants")).await.status, StatusCode::NOT_FOUND);

        let r = app.call(Method::PUT, &format!("/api/v1/campaigns/{c}/variants"), Some(&app.token), Some(definition(a, b, 7)), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["state"].as_str(), r.body["variants"][1]["key"].as_str()), (Some("draft"), Some("B")));
        let r = app.post(&format!("/api/v1/campaigns/{c}/variants/send"), json!({})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(r.body["state"], "testing");
        let again = app.post(&format!("/api/v1/campaigns/{c}/variants/send"), json!({})).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        let redefine =
            app.call(Method::PUT, &format!("/api/v1/campaigns/{c}/variants"), Some(&app.token), Some(definition(a, b, 8)), &[]).await;
        assert_eq!(redefine.status, StatusCode::CONFLICT, "a started test keeps its variants: {}", redefine.body);

        // Each member's variant is exactly the seed's, and a second campaign with the seed agrees.
        let stored =
            pairs(&app, &format!("SELECT person_id, ab_variant FROM campaign_members WHERE campaign_id = {c} ORDER BY person_id")).await;
        let want: Vec<(i64, Option<String>)> =
            people.iter().map(|p| (*p, assign(7, *p, 50, 2).map(|v| ["A", "B"][v].to_string()))).collect();
        assert_eq!(stored, want);
        let tested: Vec<i64> = stored.iter().filter(|s| s.1.is_some()).map(|s| s.0).collect();
        assert!((50..=110).contains(&tested.len()), "about half tested: {}", tested.len());
        let twin = email_campaign(&app, "Twin", &people).await;
        let r =
            app.call(Method::PUT, &format!("/api/v1/campaigns/{twin}/variants"), Some(&app.token), Some(definition(a, b, 7)), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        // Only the test share is mailed, each with their variant's subject.
        deliver_all(&app.store).await;
        // The test's mails are all out, the test waits to decide: a plain sending now is refused
        // (it would mail the test share twice and pre-empt the winner).
        let plain = app.post(&format!("/api/v1/campaigns/{c}/send"), json!({"template_id": a})).await;
        assert_eq!(plain.status, StatusCode::CONFLICT, "{}", plain.body);
        assert!(plain.body["detail"].as_str().unwrap_or("").contains("A/B test is running"), "{}", plain.body);
        let mails = pairs(&app, &format!("SELECT person_id, subject FROM mail_queue WHERE campaign_id = {c} ORDER BY person_id")).await;
        assert_eq!(mails.len(), tested.len());
        for (p, subject) in &mails {
            let v = stored.iter().find(|s| s.0 == *p).unwrap().1.clone().unwrap();
            let name = format!("P{:03}", people.iter().position(|x| x == p).unwrap());
            let expect = if v == "A" { "Alpha".to_string() } else { format!("Beta for {name}") };
            assert_eq!(subject.as_deref(), Some(expect.as_str()));
        }

        // People click B far more (human clicks reach the member's milestones; machine ones never do).
        let (ka, kb) = (6, 30);
        for (key, n) in [("A", ka), ("B", kb)] {
            let ids: Vec<String> = stored.iter().filter(|s| s.1.as_deref() == Some(key)).take(n).map(|s| s.0.to_string()).collect();
            run(&app, &format!("UPDATE campaign_members SET clicked_at = '2026-03-01T10:00:00Z', opened_at = '2026-03-01T10:00:00Z', status = 'clicked' WHERE campaign_id = {c} AND person_id IN ({})", ids.join(", "))).await;
        }
        let r = app.get(&format!("/api/v1/campaigns/{c}/ab_result")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["decided"], false);
        let delivered = |k: &str| stored.iter().filter(|s| s.1.as_deref() == Some(k)).count() as u64;
        let (na, nb) = (delivered("A"), delivered("B"));
        assert_eq!((r.body["variants"][0]["delivered"].as_u64(), r.body["variants"][1]["successes"].as_u64()), (Some(na), Some(kb as u64)));
        assert_eq!(r.body["rest"].as_u64(), Some((people.len() - tested.len()) as u64));
        let want = rapport_analytics::ab::rate_test(&[(ka as u64, na), (kb as u64, nb)]).unwrap();
        assert!((r.body["chi_square"].as_f64().unwrap() - want.statistic).abs() < 1e-9, "{}", r.body);
        assert!((r.body["p_value"].as_f64().unwrap() - want.p_value).abs() < 1e-12);
        assert!(want.p_value < 0.05, "the data is built to differ: {want:?}");

        // Not due yet: nothing is decided.
        assert_eq!(rapport_server::marketing::ab::run_decisions(&app.store, "one", Duration::minutes(1), Utc::now()).await.unwrap(), 0);
        // Due: two processes race; one decides, the winner's sending is written once.
        // Two servers' stores on one PostgreSQL database; on SQLite (one process per file) the
        // two runners share its one writer.
        let other = match app.backend {
            Backend::Postgres => Store::connect(&app.url).await.unwrap(),
            Backend::Sqlite => app.store.clone(),
        };
        let later = Utc::now() + Duration::minutes(61);
        let (x, y) = tokio::join!(
            rapport_server::marketing::ab::run_decisions(&app.store, "one", Duration::minutes(1), later),
            rapport_server::marketing::ab::run_decisions(&other, "two", Duration::minutes(1), later)
        );
        assert_eq!(x.unwrap() + y.unwrap(), 1);
        assert!(!other.decide_ab_test(c, "A", &json!({}), "late").await.unwrap(), "a decided test is not decided again");
        let rest_sends = number(&app, &format!("SELECT COUNT(*) FROM campaign_sends WHERE campaign_id = {c} AND ab_phase = 'rest'")).await;
        assert_eq!(rest_sends, 1);
        let r = app.get(&format!("/api/v1/campaigns/{c}/ab_result")).await;
        assert_eq!(
            (r.body["decided"].as_bool(), r.body["outcome"].as_str(), r.body["send_variant"].as_str()),
            (Some(true), Some("winner"), Some("B")),
            "{}",
            r.body
        );

        // The rest get B; nobody gets two mails.
        deliver_all(&app.store).await;
        let all = pairs(&app, &format!("SELECT person_id, subject FROM mail_queue WHERE campaign_id = {c} ORDER BY person_id")).await;
        assert_eq!(all.len(), people.len(), "one mail per member");
        for (p, subject) in &all {
            if !tested.contains(p) {
                assert!(subject.as_deref().unwrap().starts_with("Beta for "), "{p}: {subject:?}");
            }
        }
        let admin = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, &format!("/marketing/campaigns/{c}/ab"), &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Decided: Variant B wins on clicks"), "{html}");
        assert!(html.contains(&format!("{:.3}", want.statistic)), "the chi-square is shown");

        // The twin, started with the same seed, assigns its members alike; delivered without a
        // single click it is too small to tell, and its two deciders race to write the fallback once.
        let r = app.post(&format!("/api/v1/campaigns/{twin}/variants/send"), json!({})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        let twin_stored =
            pairs(&app, &format!("SELECT person_id, ab_variant FROM campaign_members WHERE campaign_id = {twin} ORDER BY person_id")).await;
        assert_eq!(twin_stored, stored);
        deliver_all(&app.store).await;
        let r = app.get(&format!("/api/v1/campaigns/{twin}/ab_result")).await;
        assert_eq!((r.body["outcome"].as_str(), r.body["send_variant"].as_str()), (Some("too_small"), Some("A")), "{}", r.body);
        let (x, y) = tokio::join!(app.store.decide_ab_test(twin, "A", &r.body, "one"), other.decide_ab_test(twin, "A", &r.body, "two"));
        assert_eq!([x.unwrap(), y.unwrap()].iter().filter(|d| **d).count(), 1);
        if app.backend == Backend::Postgres {
            other.close().await;
        }
    });
}
