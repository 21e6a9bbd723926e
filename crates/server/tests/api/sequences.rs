//! Issue 12 §7: drip sequences through the API and the store's job function on both engines:
//! steps checked on save (each problem named by its step's field), If-Match and audit, the
//! draft → active ⇄ paused actions; a person advances once per step, waits hold until their
//! time (an injected clock, no sleeps), branches on a human open, lists and the owner's
//! notification; entry by a dynamic segment and by a sign-up; the mail goes through the
//! marketing claim (paused sequences hold it, withdrawn consent skips it); and two stores on
//! one PostgreSQL racing the job run every step exactly once.

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use rapport_domain::marketing::email::MarketingLimits;
use rapport_store::Store;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, Backend, TestApp};
use crate::ui::{csrf_of, form, page, session};

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36";

async fn count(app: &TestApp, q: &str) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(q.to_string())).fetch_one(&mut conn).await.unwrap();
    n
}

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

async fn setup(app: &TestApp) -> (i64, i64) {
    app.store.set_public_url("https://crm.example.com");
    let c = created(
        app,
        "/api/v1/campaigns",
        json!({"name": "Onboarding", "channel": "email", "budget_minor": 0, "currency": "USD", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}),
    )
    .await;
    let t = created(
        app,
        "/api/v1/email_templates",
        json!({"name": "Welcome", "subject": "Welcome {{first_name}}", "text_body": "Hello {{name}}. https://shop.example/start",
               "html_body": "<p>Hello {{name}}</p><a href=\"https://shop.example/start\">Start</a>"}),
    )
    .await;
    (c, t)
}

async fn person(app: &TestApp, name: &str, email: Option<&str>, country: &str) -> i64 {
    app.customer(json!({"name": name, "email": email, "address": {"country": country}})).await["id"].as_i64().unwrap()
}

async fn run(app: &TestApp, when: DateTime<Utc>) -> u64 {
    app.store.run_sequences(when, 100).await.unwrap().steps
}

async fn act(app: &TestApp, id: i64, action: &str) -> crate::helpers::Res {
    app.post(&format!("/api/v1/sequences/{id}/actions"), json!({"action": action})).await
}

async fn kinds(app: &TestApp, id: i64) -> Vec<String> {
    let s = app.get(&format!("/api/v1/sequences/{id}")).await.body;
    s["steps"].as_array().unwrap().iter().map(|x| x["type"].as_str().unwrap().to_string()).collect()
}

fn unlimited() -> MarketingLimits {
    MarketingLimits { frequency_days: 7, ..MarketingLimits::default() }
}

#[tokio::test]
async fn sequences_are_checked_on_save_versioned_audited_and_move_draft_active_paused() {
    each_backend!(|app| {
        let (c, t) = setup(&app).await;
        let sms = created(
            &app,
            "/api/v1/campaigns",
            json!({"name": "Texts", "channel": "sms", "budget_minor": 0, "currency": "USD", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}),
        )
        .await;
        let dynamic =
            created(&app, "/api/v1/segments", json!({"name": "DE", "rules": {"field": "address.country", "op": "eq", "value": "DE"}}))
                .await;
        let r = app
            .post(
                "/api/v1/sequences",
                json!({"name": "Bad", "campaign_id": c, "steps": [
                    {"type": "send_email", "template_id": 999_999},
                    {"type": "branch", "condition": {"kind": "opened"}, "then_step": 0},
                    {"type": "add_to_list", "segment_id": dynamic}
                ]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["steps[1].then_step"], "the shape is checked first: {}", r.body);
        let r = app
            .post(
                "/api/v1/sequences",
                json!({"name": "Bad", "campaign_id": c, "steps": [
                    {"type": "send_email", "template_id": 999_999},
                    {"type": "add_to_list", "segment_id": dynamic}
                ]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["steps[0].template_id", "steps[1].segment_id"], "{}", r.body);
        let r = app
            .post("/api/v1/sequences", json!({"name": "Texts", "campaign_id": sms, "steps": [{"type": "send_email", "template_id": t}]}))
            .await;
        assert_eq!(r.error_fields(), ["campaign_id"], "{}", r.body);
        let r = app.post("/api/v1/sequences", json!({"name": "X", "campaign_id": c, "steps": [{"type": "wait", "weeks": 1}]})).await;
        assert!(r.status.is_client_error(), "an unknown step field is refused: {}", r.body);

        let r = app
            .post("/api/v1/sequences", json!({"name": "Welcome", "campaign_id": c, "steps": [{"type": "send_email", "template_id": t}]}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.body["id"].as_i64().unwrap();
        assert_eq!(r.header("location"), format!("/api/v1/sequences/{id}"));
        assert_eq!(
            (r.body["state"].as_str(), r.body["entry"].as_str(), r.body["topic"].as_str()),
            (Some("draft"), Some("manual"), Some("newsletter"))
        );
        assert!(r.body["owner_id"].is_i64(), "the creator owns it: {}", r.body);

        let path = format!("/api/v1/sequences/{id}");
        let r = app.patch(&path, json!({"name": "Welcome series"}), Some(1)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["name"].as_str(), r.body["steps"].as_array().unwrap().len()), (Some("Welcome series"), 1));
        assert_eq!(app.patch(&path, json!({"name": "Stale"}), Some(1)).await.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(app.get(&path).await.body["name"], "Welcome series");

        let r = act(&app, id, "pause").await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!(r.body["allowed_actions"], json!(["activate"]), "{}", r.body);
        assert_eq!(act(&app, id, "activate").await.body["state"], "active");
        assert_eq!(act(&app, id, "pause").await.body["state"], "paused");
        assert_eq!(act(&app, id, "resume").await.body["state"], "active");

        let list = app.get("/api/v1/sequences?limit=1").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(list.body["data"][0]["id"], id);
        let actions =
            texts(&app, &format!("SELECT action FROM audit_log WHERE object = 'sequence' AND record_id = {id} ORDER BY id")).await;
        assert_eq!(actions, ["create", "update", "activate", "pause", "resume"]);

        assert_eq!(
            app.call(Method::DELETE, &path, Some(&app.token), None, &[("if-match", "1")]).await.status,
            StatusCode::PRECONDITION_FAILED
        );
        assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn a_person_advances_once_per_step_waits_hold_until_due_and_branches_on_a_human_open() {
    each_backend!(|app| {
        let (c, t) = setup(&app).await;
        let list = created(&app, "/api/v1/segments", json!({"name": "Engaged", "kind": "static"})).await;
        let id = created(
            &app,
            "/api/v1/sequences",
            json!({"name": "Welcome", "campaign_id": c, "steps": [
                {"type": "send_email", "template_id": t},
                {"type": "wait", "days": 2},
                {"type": "branch", "condition": {"kind": "opened"}, "else_step": 5},
                {"type": "add_to_list", "segment_id": list},
                {"type": "notify_owner", "message": "opened the welcome mail"}
            ]}),
        )
        .await;
        let ann = person(&app, "Ann Lee", Some("ann@example.com"), "DE").await;
        let bob = person(&app, "Bob Roe", Some("bob@example.com"), "DE").await;
        let cy = person(&app, "Cy Noaddress", None, "DE").await;
        let path = format!("/api/v1/sequences/{id}/enrollments");
        let r = app.post(&path, json!({"person_ids": [ann, bob, cy]})).await;
        assert_eq!(r.body["enrolled"], 3, "{}", r.body);
        assert_eq!(app.post(&path, json!({"person_ids": [ann]})).await.body["enrolled"], 0, "a person enters once");

        // A draft runs nothing.
        let t0 = Utc::now() + Duration::minutes(1);
        assert_eq!(run(&app, t0).await, 0);
        act(&app, id, "activate").await;
        // Send and wait for each of the three; Cy has no address.
        assert_eq!(run(&app, t0).await, 6);
        assert_eq!(run(&app, t0).await, 0, "nothing twice");
        assert_eq!(run(&app, t0 + Duration::days(2) - Duration::minutes(1)).await, 0, "the wait holds until its time");
        let mails = texts(&app, &format!("SELECT to_addr FROM mail_queue WHERE sequence_id = {id} ORDER BY to_addr")).await;
        assert_eq!(mails, ["ann@example.com", "bob@example.com"]);

        // The mails go through the marketing claim; Ann opens hers (a person, not a proxy).
        let claimed = app.store.claim_marketing_mail("m", 60, 10, &unlimited()).await.unwrap();
        assert_eq!(claimed.len(), 2);
        let ids: Vec<i64> = claimed.iter().map(|m| m.id).collect();
        let mut marked = app.store.mails_sending(&ids, "m", 60).await.unwrap();
        marked.sort();
        assert_eq!(marked, ids);
        app.store.mails_sent(&ids, "m").await.unwrap();
        let ann_mail = claimed.iter().find(|m| m.to_addr == "ann@example.com").unwrap();
        assert_eq!(ann_mail.subject, "Welcome Ann");
        assert_eq!(ann_mail.headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
        let token = ann_mail.track_token.clone().unwrap();
        app.call(Method::GET, &format!("/m/o/{token}"), None, None, &[("user-agent", CHROME)]).await;
        let bob_token = claimed.iter().find(|m| m.to_addr == "bob@example.com").unwrap().track_token.clone().unwrap();
        app.call(Method::GET, &format!("/m/o/{bob_token}"), None, None, &[("user-agent", "Mozilla/5.0 (via ggpht.com GoogleImageProxy)")])
            .await;

        // Two days on: Ann takes the "opened" branch (list, notification), Bob's proxy open
        // does not count, Cy had no mail to open.
        assert_eq!(run(&app, t0 + Duration::days(2)).await, 5);
        assert_eq!(run(&app, t0 + Duration::days(30)).await, 0);
        let listed = count(&app, &format!("SELECT COUNT(*) FROM segment_members WHERE segment_id = {list} AND person_id = {ann}")).await;
        assert_eq!(listed, 1);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM segment_members WHERE segment_id = {list}")).await, 1);
        let notes = app.get("/api/v1/notifications").await.body;
        let texts_: Vec<&str> = notes["data"].as_array().unwrap().iter().filter_map(|n| n["text"].as_str()).collect();
        assert_eq!(texts_, ["Ann Lee: opened the welcome mail"], "{notes}");
        let members = texts(&app, &format!("SELECT status FROM campaign_members WHERE campaign_id = {c} ORDER BY person_id")).await;
        assert_eq!(members, ["opened", "sent"], "the sequence's mails count in its campaign");

        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let rows = page.body["data"].as_array().unwrap();
        let steps = |i: usize| -> Vec<i64> { rows[i]["history"].as_array().unwrap().iter().map(|h| h["step"].as_i64().unwrap()).collect() };
        assert_eq!(rows.iter().map(|e| e["state"].as_str().unwrap()).collect::<Vec<_>>(), ["done", "done", "done"]);
        assert_eq!(steps(0), [0, 1, 2, 3, 4], "Ann");
        assert_eq!(steps(1), [0, 1, 2], "Bob");
        assert_eq!(rows[1]["history"][2]["outcome"], "else");
        assert_eq!(rows[2]["history"][0]["outcome"], "not sent: no email address");
        assert_eq!(app.get(&format!("/api/v1/sequences/{id}")).await.body["enrolled"]["done"], 3);
        // Each person got the one mail of the one send step.
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM mail_queue WHERE sequence_id = {id}")).await, 2);
    });
}

#[tokio::test]
async fn a_segment_enrolls_its_new_matches_a_signup_enrolls_and_mail_respects_pause_and_consent() {
    each_backend!(|app| {
        let (c, t) = setup(&app).await;
        let de = created(&app, "/api/v1/segments", json!({"name": "DE", "rules": {"field": "address.country", "op": "eq", "value": "DE"}}))
            .await;
        let by_segment = created(
            &app,
            "/api/v1/sequences",
            json!({"name": "DE drip", "campaign_id": c, "entry": "segment", "segment_id": de, "topic": "tips", "steps": [
                {"type": "send_email", "template_id": t},
                {"type": "branch", "condition": {"kind": "in_segment", "segment_id": de}, "then_step": 3, "else_step": 2},
                {"type": "notify_owner"}
            ]}),
        )
        .await;
        person(&app, "Ann", Some("ann@example.com"), "DE").await;
        person(&app, "Fay", Some("fay@example.com"), "FR").await;
        act(&app, by_segment, "activate").await;
        let t0 = Utc::now() + Duration::minutes(1);
        let r = app.store.run_sequences(t0, 100).await.unwrap();
        assert_eq!((r.enrolled, r.steps), (1, 2), "{r:?}");
        let gus = person(&app, "Gus", Some("gus@example.com"), "DE").await;
        let r = app.store.run_sequences(t0, 100).await.unwrap();
        assert_eq!((r.enrolled, r.steps), (1, 2), "only the new match enters: {r:?}");
        let enrolled = texts(&app, &format!("SELECT source FROM sequence_enrollments WHERE sequence_id = {by_segment}")).await;
        assert_eq!(enrolled, ["segment", "segment"]);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications").await, 0, "both were in the segment: no notification");

        // Paused, its mail waits; Gus withdraws the sequence's topic: his is skipped on resume.
        act(&app, by_segment, "pause").await;
        assert!(app.store.claim_marketing_mail("m", 60, 10, &unlimited()).await.unwrap().is_empty());
        let r = app.post(&format!("/api/v1/customers/{gus}/consents"), json!({"topic": "tips", "granted": false})).await;
        assert!(r.status.is_success(), "{}", r.body);
        act(&app, by_segment, "resume").await;
        let claimed = app.store.claim_marketing_mail("m", 60, 10, &unlimited()).await.unwrap();
        assert_eq!(claimed.iter().map(|m| m.to_addr.as_str()).collect::<Vec<_>>(), ["ann@example.com"]);
        let skipped = texts(&app, &format!("SELECT error FROM mail_queue WHERE person_id = {gus} AND state = 'skipped'")).await;
        assert_eq!(skipped, ["consent withdrawn"]);

        // Sign-up: consent granted after activation enrolls; one granted before does not.
        let early = person(&app, "Early", Some("early@example.com"), "FR").await;
        app.post(&format!("/api/v1/customers/{early}/consents"), json!({"topic": "newsletter", "granted": true})).await;
        let by_signup = created(
            &app,
            "/api/v1/sequences",
            json!({"name": "Sign-up", "campaign_id": c, "entry": "signup", "steps": [{"type": "wait", "hours": 1}]}),
        )
        .await;
        act(&app, by_signup, "activate").await;
        let late = person(&app, "Late", Some("late@example.com"), "FR").await;
        let r = app.post(&format!("/api/v1/customers/{late}/consents"), json!({"topic": "newsletter", "granted": true})).await;
        assert!(r.status.is_success(), "{}", r.body);
        app.store.run_sequences(Utc::now(), 100).await.unwrap();
        let ids = texts(&app, &format!("SELECT CAST(person_id AS TEXT) FROM sequence_enrollments WHERE sequence_id = {by_signup}")).await;
        assert_eq!(ids, [late.to_string()]);
    });
}

#[tokio::test]
async fn two_job_runners_on_one_database_run_every_step_exactly_once() {
    each_backend!(|app| {
        let (c, t) = setup(&app).await;
        let id = created(
            &app,
            "/api/v1/sequences",
            json!({"name": "Race", "campaign_id": c, "steps": [
                {"type": "send_email", "template_id": t},
                {"type": "wait", "hours": 1},
                {"type": "notify_owner"}
            ]}),
        )
        .await;
        let mut people = vec![];
        for n in 0..40 {
            people.push(person(&app, &format!("P{n:02}"), Some(&format!("p{n}@example.com")), "DE").await);
        }
        app.post(&format!("/api/v1/sequences/{id}/enrollments"), json!({"person_ids": people})).await;
        act(&app, id, "activate").await;
        // Two servers' stores on one PostgreSQL database (on SQLite one process's writer is
        // shared instead).
        let a = app.store.clone();
        let b = match app.backend {
            Backend::Postgres => {
                let b = Store::connect(&app.url).await.unwrap();
                b.set_public_url("https://crm.example.com");
                b
            }
            Backend::Sqlite => app.store.clone(),
        };
        let t0 = Utc::now() + Duration::minutes(1);
        for when in [t0, t0 + Duration::hours(1)] {
            let mut total = 0;
            // Small batches, so that the runners interleave.
            for _ in 0..20 {
                let (r1, r2, r3, r4) =
                    tokio::join!(a.run_sequences(when, 3), b.run_sequences(when, 3), a.run_sequences(when, 3), b.run_sequences(when, 3));
                total += r1.unwrap().steps + r2.unwrap().steps + r3.unwrap().steps + r4.unwrap().steps;
            }
            assert_eq!(total, 80 / if when == t0 { 1 } else { 2 }, "at {when}");
        }
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM mail_queue WHERE sequence_id = {id}")).await, 40, "one mail each");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM notifications").await, 40, "one notification each");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM sequence_step_runs").await, 120);
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM sequence_enrollments WHERE sequence_id = {id} AND state = 'done'")).await,
            40
        );
        if app.backend == Backend::Postgres {
            b.close().await;
        }
    });
}

#[tokio::test]
async fn the_sequence_editor_adds_saves_reorders_and_removes_steps_and_shows_errors() {
    each_backend!(|app| {
        let (c, t) = setup(&app).await;
        let list = created(&app, "/api/v1/segments", json!({"name": "Warm list", "kind": "static"})).await;
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/marketing/sequences", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let csrf = csrf_of(&html);
        let (status, headers, html) = form(
            &app,
            "/marketing/sequences",
            Some(&cookie),
            &format!("_csrf={csrf}&name=Nurture&campaign_id={c}&template_id={t}&topic=newsletter&entry=manual"),
        )
        .await;
        assert!(status.is_redirection(), "{status}: {html}");
        let at = headers.get("location").unwrap().to_str().unwrap().to_string();
        let id: i64 = at.rsplit('/').next().unwrap().parse().unwrap();
        let steps_path = format!("{at}/steps");
        assert_eq!(kinds(&app, id).await, ["send_email"]);
        // Add a wait and a list step (each at the version the page showed).
        let (_, _, html) = form(&app, &steps_path, Some(&cookie), &format!("_csrf={csrf}&version=1&op=add&type=wait&days=3")).await;
        assert!(!html.contains("sequence-errors"), "{html}");
        form(&app, &steps_path, Some(&cookie), &format!("_csrf={csrf}&version=2&op=add&type=add_to_list&list_id={list}")).await;
        assert_eq!(kinds(&app, id).await, ["send_email", "wait", "add_to_list"]);
        let (status, html) = page(&app, &at, &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Wait 3 days 0 hours") && html.contains("Add to the list “Warm list”"), "{html}");
        // Move the list step up, save the wait as 2 hours, remove the first mail.
        form(&app, &steps_path, Some(&cookie), &format!("_csrf={csrf}&version=3&op=up&index=2")).await;
        assert_eq!(kinds(&app, id).await, ["send_email", "add_to_list", "wait"]);
        form(&app, &steps_path, Some(&cookie), &format!("_csrf={csrf}&version=4&op=save&index=2&type=wait&days=0&hours=2")).await;
        assert_eq!(app.get(&format!("/api/v1/sequences/{id}")).await.body["steps"][2], json!({"type": "wait", "days": 0, "hours": 2}));
        form(&app, &steps_path, Some(&cookie), &format!("_csrf={csrf}&version=5&op=remove&index=0")).await;
        assert_eq!(kinds(&app, id).await, ["add_to_list", "wait"]);
        // A branch backwards is refused, named by its field; a stale page changes nothing.
        let (status, _, html) =
            form(&app, &steps_path, Some(&cookie), &format!("_csrf={csrf}&version=6&op=add&type=branch&condition=opened&then_step=0"))
                .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("data-field=\"steps[2].then_step\""), "{html}");
        let (status, _, html) = form(&app, &steps_path, Some(&cookie), &format!("_csrf={csrf}&version=1&op=remove&index=0")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert_eq!(kinds(&app, id).await, ["add_to_list", "wait"]);
        // Activate from the page.
        form(&app, &format!("{at}/actions"), Some(&cookie), &format!("_csrf={csrf}&action=activate")).await;
        let (_, html) = page(&app, &at, &cookie).await;
        assert!(html.contains("State: <strong>active</strong>") && html.contains("value=\"pause\""), "{html}");
    });
}
