//! Issue 12's review gaps, on both engines: one person taken out of a drip sequence (API and
//! the sequence page's button) runs no further step and loses the mail still queued for them;
//! entering and leaving a sequence are on the person's timeline; a company's timeline carries
//! the marketing messages of its people, each naming the person.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use rapport_domain::marketing::email::MarketingLimits;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::ui::{csrf_of, form, page, session};

async fn texts(app: &TestApp, q: &str) -> Vec<String> {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(q.to_string())).fetch_all(&mut conn).await.unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

async fn created(app: &TestApp, path: &str, body: Value) -> i64 {
    let r = app.post(path, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn email_campaign(app: &TestApp, name: &str) -> i64 {
    let body = json!({"name": name, "channel": "email", "currency": "USD", "starts_on": "2026-01-01", "ends_on": "2026-12-31"});
    created(app, "/api/v1/campaigns", body).await
}

async fn timeline(app: &TestApp, path: &str) -> Vec<Value> {
    let r = app.get(&format!("{path}/timeline?limit=100")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"].as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_person_taken_out_of_a_sequence_runs_no_more_steps_and_the_timeline_shows_entering_and_leaving() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        let c = email_campaign(&app, "Onboarding").await;
        let tpl = |s: &str| json!({"name": s, "subject": s, "text_body": "Hello {{name}}. https://shop.example/start"});
        let first = created(&app, "/api/v1/email_templates", tpl("Welcome")).await;
        let second = created(&app, "/api/v1/email_templates", tpl("Tips")).await;
        let steps = json!([{"type": "send_email", "template_id": first}, {"type": "wait", "days": 2}, {"type": "send_email", "template_id": second}]);
        let id = created(&app, "/api/v1/sequences", json!({"name": "Welcome drip", "campaign_id": c, "steps": steps})).await;
        let ann = app.customer(json!({"name": "Ann Lee", "email": "ann@example.com"})).await["id"].as_i64().unwrap();
        let bob = app.customer(json!({"name": "Bob Roe", "email": "bob@example.com"})).await["id"].as_i64().unwrap();
        let path = format!("/api/v1/sequences/{id}/enrollments");
        assert_eq!(app.post(&path, json!({"person_ids": [ann, bob]})).await.body["enrolled"], 2);
        assert_eq!(app.post(&format!("/api/v1/sequences/{id}/actions"), json!({"action": "activate"})).await.status, StatusCode::OK);
        let t0 = Utc::now() + Duration::minutes(1);
        app.store.run_sequences(t0, 100).await.unwrap();

        // Both first mails are queued; Ann is taken out before hers goes.
        let rows = app.get(&path).await.body["data"].as_array().unwrap().clone();
        let enrollment = |p: i64| rows.iter().find(|e| e["person_id"] == p).unwrap()["id"].as_i64().unwrap();
        let exit = format!("{path}/{}/exit", enrollment(ann));
        let r = app.post(&exit, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["state"].as_str(), r.body["person_id"].as_i64()), (Some("exited"), Some(ann)));
        assert_eq!(r.body["history"][0]["step"], 0, "the steps run so far stay");
        let again = app.post(&exit, json!({})).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        assert!(again.body["detail"].as_str().unwrap().contains("left the sequence already"), "{}", again.body);
        assert_eq!(app.post(&format!("{path}/999999/exit"), json!({})).await.status, StatusCode::NOT_FOUND);
        let audited =
            texts(&app, &format!("SELECT action FROM audit_log WHERE object = 'sequence' AND record_id = {id} AND action = 'exit'")).await;
        assert_eq!(audited, ["exit"]);

        // Only Bob's queued mail goes; two days on only Bob gets the second step.
        let limits = MarketingLimits { frequency_days: 7, ..MarketingLimits::default() };
        let claimed = app.store.claim_marketing_mail("m", 60, 10, &limits).await.unwrap();
        assert_eq!(claimed.iter().map(|m| m.to_addr.as_str()).collect::<Vec<_>>(), ["bob@example.com"]);
        let skipped = texts(&app, &format!("SELECT state FROM mail_queue WHERE sequence_id = {id} AND person_id = {ann}")).await;
        assert_eq!(skipped, ["skipped"]);
        app.store.run_sequences(t0 + Duration::days(2), 100).await.unwrap();
        let to = texts(&app, &format!("SELECT to_addr FROM mail_queue WHERE sequence_id = {id} ORDER BY id")).await;
        assert_eq!(to, ["ann@example.com", "bob@example.com", "bob@example.com"]);

        // Ann's timeline: entered by hand, then taken out; Bob's: entered, then finished.
        let events = timeline(&app, &format!("/api/v1/customers/{ann}")).await;
        let seq: Vec<&Value> = events.iter().filter(|e| e["record_type"] == "sequence").collect();
        assert_eq!(
            seq.iter().map(|e| (e["kind"].as_str().unwrap(), e["summary"].as_str().unwrap())).collect::<Vec<_>>(),
            [("sequence_left", "Taken out of the sequence"), ("sequence_enrolled", "Entered the sequence (by hand)")]
        );
        assert_eq!(
            (seq[0]["title"].as_str(), seq[0]["link"].as_str()),
            (Some("Welcome drip"), Some(format!("/marketing/sequences/{id}").as_str()))
        );
        let events = timeline(&app, &format!("/api/v1/customers/{bob}")).await;
        let left: Vec<&str> = events.iter().filter(|e| e["kind"] == "sequence_left").map(|e| e["summary"].as_str().unwrap()).collect();
        assert_eq!(left, ["Finished the sequence"]);

        // The page offers "Take out" for active enrollments only, and its button exits.
        let carl = app.customer(json!({"name": "Carl Poe", "email": "carl@example.com"})).await["id"].as_i64().unwrap();
        app.post(&path, json!({"person_ids": [carl]})).await;
        let carl_e =
            app.get(&path).await.body["data"].as_array().unwrap().iter().find(|e| e["person_id"] == carl).unwrap()["id"].as_i64().unwrap();
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, &format!("/marketing/sequences/{id}"), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        let button = format!("/marketing/sequences/{id}/enrollments/{carl_e}/exit");
        assert!(html.contains(&button), "Carl is active: {html}");
        assert!(!html.contains(&format!("/enrollments/{}/exit", enrollment(ann))), "Ann left already");
        let body = serde_urlencoded::to_string([("_csrf", csrf_of(&html))]).unwrap();
        let (status, _, _) = form(&app, &button, Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let state = texts(&app, &format!("SELECT state FROM sequence_enrollments WHERE id = {carl_e}")).await;
        assert_eq!(state, ["exited"]);
        let (_, html) = page(&app, &format!("/customers/{carl}"), &cookie).await;
        assert!(html.contains("Taken out of the sequence") && html.contains("Sequence"), "the person's page shows it");
    });
}

#[tokio::test]
async fn a_company_timeline_carries_its_peoples_marketing_messages_naming_each_person() {
    each_backend!(|app| {
        let acme = created(&app, "/api/v1/companies", json!({"name": "Acme"})).await;
        let ann = app.customer(json!({"name": "Ann Lee", "email": "ann@example.com", "company_id": acme})).await["id"].as_i64().unwrap();
        let zed = app.customer(json!({"name": "Zed Out", "email": "zed@example.com"})).await["id"].as_i64().unwrap();
        let c = email_campaign(&app, "Spring sale").await;
        let r = app.post(&format!("/api/v1/campaigns/{c}/members"), json!({"person_ids": [ann, zed]})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for p in [ann, zed] {
            let r = app.post(&format!("/api/v1/campaigns/{c}/members/{p}/responses"), json!({"state": "clicked"})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let events = timeline(&app, &format!("/api/v1/companies/{acme}")).await;
        let messages: Vec<&Value> = events.iter().filter(|e| e["record_type"] == "campaign").collect();
        assert!(kinds(&events).contains(&"message_clicked"), "{events:?}");
        assert!(messages.iter().all(|e| e["summary"].as_str().unwrap().contains("(Ann Lee)")), "only Ann's, named: {messages:?}");
        let click = messages.iter().find(|e| e["kind"] == "message_clicked").unwrap();
        assert_eq!(click["summary"], "Clicked a link (Ann Lee) · email campaign");
        assert_eq!(click["title"], "Spring sale");
        // On Ann's own timeline she is not named; deleting the campaign takes it off the company's.
        let own = timeline(&app, &format!("/api/v1/customers/{ann}")).await;
        let own_click = own.iter().find(|e| e["kind"] == "message_clicked").unwrap();
        assert_eq!(own_click["summary"], "Clicked a link · email campaign");
        assert_eq!(app.delete(&format!("/api/v1/campaigns/{c}")).await.status, StatusCode::NO_CONTENT);
        assert!(!kinds(&timeline(&app, &format!("/api/v1/companies/{acme}")).await).iter().any(|k| k.starts_with("message_")));
    });
}

#[tokio::test]
async fn the_ab_page_defines_the_test_names_refused_fields_starts_it_and_shows_the_result() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        let tpl = |s: &str| json!({"name": s, "subject": s, "text_body": "Hello {{name}}: https://shop.example/x"});
        let a = created(&app, "/api/v1/email_templates", tpl("Alpha")).await;
        let b = created(&app, "/api/v1/email_templates", tpl("Beta")).await;
        let c = email_campaign(&app, "Spring test").await;
        let mut people = vec![];
        for i in 0..40 {
            people.push(
                app.customer(json!({"name": format!("P{i:02}"), "email": format!("p{i}@example.com")})).await["id"].as_i64().unwrap(),
            );
        }
        assert_eq!(app.post(&format!("/api/v1/campaigns/{c}/members"), json!({"person_ids": people})).await.status, StatusCode::OK);
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (_, html) = page(&app, &format!("/marketing/campaigns/{c}"), &cookie).await;
        assert!(html.contains(&format!("href=\"/marketing/campaigns/{c}/ab\"")), "the campaign page links the A/B test");
        let path = format!("/marketing/campaigns/{c}/ab");
        let (status, html) = page(&app, &path, &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"ab-define-form\"") && !html.contains("id=\"ab-start-form\""), "define first: {html}");
        let csrf = csrf_of(&html);
        let post = |fields: Vec<(&'static str, String)>| {
            let mut pairs = vec![("_csrf", csrf.clone())];
            pairs.extend(fields);
            serde_urlencoded::to_string(pairs).unwrap()
        };
        let fields = |second: i64| {
            vec![
                ("template_0", a.to_string()),
                ("subject_0", String::new()),
                ("template_1", second.to_string()),
                ("subject_1", "Beta for {{name}}".to_string()),
                ("template_2", String::new()),
                ("test_percent", "50".to_string()),
                ("wait_minutes", "30".to_string()),
                ("metric", "clicks".to_string()),
                ("fallback", "B".to_string()),
            ]
        };

        // A template that does not exist is named by its field; nothing is saved.
        let (status, _, html) = form(&app, &path, Some(&cookie), &post(fields(999_999))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("variants[1].template_id"), "{html}");
        assert_eq!(app.get(&format!("/api/v1/campaigns/{c}/variants")).await.status, StatusCode::NOT_FOUND);

        // Defined: the API shows what the form said; the page offers to start.
        let (status, _, _) = form(&app, &path, Some(&cookie), &post(fields(b))).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let t = app.get(&format!("/api/v1/campaigns/{c}/variants")).await.body;
        assert_eq!((t["state"].as_str(), t["test_percent"].as_i64(), t["wait_minutes"].as_i64()), (Some("draft"), Some(50), Some(30)));
        assert_eq!((t["fallback"].as_str(), t["metric"].as_str()), (Some("B"), Some("clicks")));
        assert_eq!(t["variants"].as_array().unwrap().len(), 2, "the empty third is no variant: {t}");
        assert_eq!((t["variants"][1]["template_id"].as_i64(), t["variants"][1]["subject"].as_str()), (Some(b), Some("Beta for {{name}}")));
        let (_, html) = page(&app, &path, &cookie).await;
        assert!(html.contains("id=\"ab-start-form\"") && html.contains("value=\"Beta for {{name}}\""), "{html}");

        // Started: no more defining; the result says the sample is too small to tell yet.
        let (status, _, _) = form(&app, &format!("{path}/start"), Some(&cookie), &post(vec![("send_at", String::new())])).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.get(&format!("/api/v1/campaigns/{c}/variants")).await.body["state"], "testing");
        let (_, html) = page(&app, &path, &cookie).await;
        assert!(!html.contains("id=\"ab-define-form\"") && !html.contains("id=\"ab-start-form\""), "a started test keeps its variants");
        assert!(html.contains("id=\"ab-p\"") && html.contains("So far: The sample is too small to tell"), "{html}");
        // Starting again is refused, on the page as in the API.
        let (status, _, html) = form(&app, &format!("{path}/start"), Some(&cookie), &post(vec![("send_at", String::new())])).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("the test has started already"), "{html}");
    });
}
