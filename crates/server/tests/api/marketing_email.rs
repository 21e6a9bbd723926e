//! Marketing email (issue 12 §3–6, §11) through the API and the store's job functions on both
//! engines: templates with merge fields checked on save and previewed for a person; a
//! campaign's sending written into the one mail queue in batches (each member once), claimed
//! under caps, skipping suppressed addresses and withdrawn consent; one-click unsubscribe
//! headers; the unsubscribe link (GET changes nothing, POST unsubscribes); tracking that keeps
//! machine opens and clicks apart; bounces and complaints that suppress; pausing after errors.
//! Real SMTP and IMAP: crates/cli/tests/marketing_mail.rs.

use axum::http::{Method, StatusCode};
use rapport_domain::marketing::email::MarketingLimits;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::TestApp;

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36";

async fn exec(app: &TestApp, q: &str) {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(q.to_string())).execute(&mut conn).await.unwrap();
}

async fn texts(app: &TestApp, q: &str) -> Vec<String> {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(q.to_string())).fetch_all(&mut conn).await.unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

/// Makes people members of a campaign, as the segments code will.
async fn add_members(app: &TestApp, campaign: i64, people: &[i64]) {
    for p in people {
        exec(
            app,
            &format!(
                "INSERT INTO campaign_members (campaign_id, person_id, status, source, added_at, updated_at) VALUES ({campaign}, {p}, 'member', 'test', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
            ),
        )
        .await;
    }
}

async fn campaign(app: &TestApp, name: &str) -> i64 {
    let r = app
        .post("/api/v1/campaigns", json!({"name": name, "channel": "email", "budget_minor": 0, "currency": "USD", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn template(app: &TestApp) -> i64 {
    let r = app
        .post(
            "/api/v1/email_templates",
            json!({"name": "Spring", "subject": "Hi {{first_name | default: \"friend\"}}", "text_body": "Hello {{name}} of {{company | default: \"your team\"}}. Shop https://shop.example/spring\nUnsubscribe: {{unsubscribe_url}}",
                   "html_body": "<p>Hello {{name}}</p><a href=\"https://shop.example/spring\">Shop</a> <a href=\"{{unsubscribe_url}}\">Unsubscribe</a>"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn person(app: &TestApp, name: &str, email: Option<&str>) -> i64 {
    app.customer(json!({"name": name, "email": email})).await["id"].as_i64().unwrap()
}

/// Runs the expansion job until the sending is fully written.
async fn expand(app: &TestApp) {
    for _ in 0..20 {
        app.store.expand_campaign_sends(2).await.unwrap();
    }
}

fn unlimited() -> MarketingLimits {
    MarketingLimits { frequency_days: 7, ..MarketingLimits::default() }
}

#[tokio::test]
async fn templates_check_merge_fields_and_preview_for_a_person() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        let r =
            app.post("/api/v1/custom_fields", json!({"object": "customer", "key": "tier", "label": "Tier", "field_type": "text"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let bad =
            app.post("/api/v1/email_templates", json!({"name": "x", "subject": "Hi {{nmae}}", "text_body": "{{tier}} {{ oops"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert_eq!(bad.error_fields(), ["subject", "text_body"]);
        assert!(bad.body.to_string().contains("nmae"), "the unknown field is named: {}", bad.body);

        let r = app
            .post(
                "/api/v1/email_templates",
                json!({"name": "Tiered", "subject": "{{first_name | default: \"friend\"}}, news", "text_body": "Dear {{name}} ({{custom.tier | default: \"basic\"}}) at {{company | default: \"home\"}}", "html_body": "<b>{{name}}</b>"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.body["id"].as_i64().unwrap();
        assert_eq!(r.body["fields"], json!(["first_name", "name", "tier", "company"]));
        let co = app.company(json!({"name": "Acme & Sons"})).await;
        let ann = app
            .customer(json!({"name": "Ann <Lee>", "email": "ann@example.com", "company_id": co["id"], "custom": {"tier": "gold"}}))
            .await;
        let p = app.get(&format!("/api/v1/email_templates/{id}/preview?person_id={}", ann["id"])).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        assert_eq!(p.body["subject"], "Ann, news");
        assert_eq!(p.body["text_body"], "Dear Ann <Lee> (gold) at Acme & Sons");
        assert_eq!(p.body["html_body"], "<b>Ann &lt;Lee&gt;</b>", "values are escaped in HTML");
        let bob = app.customer(json!({"name": "Bob", "email": "bob@example.com"})).await;
        let p = app.get(&format!("/api/v1/email_templates/{id}/preview?person_id={}", bob["id"])).await;
        assert_eq!(p.body["text_body"], "Dear Bob (basic) at home", "defaults fill empty values");
        let stale =
            app.patch(&format!("/api/v1/email_templates/{id}"), json!({"name": "T", "subject": "s", "text_body": "t"}), Some(7)).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.body);
        let missing = app.get(&format!("/api/v1/email_templates/{id}/preview?person_id=999999")).await;
        // A query parameter naming no person is a bad request (400), as the contract documents.
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);

        // The editor page shows the preview.
        let page = app.call(Method::GET, &format!("/marketing/templates/{id}?person_id={}", ann["id"]), None, None, &[]).await;
        assert!(page.status == StatusCode::OK || page.status.is_redirection(), "{}", page.status);
    });
}

#[tokio::test]
async fn a_sending_queues_each_member_once_with_unsubscribe_headers_and_skips_suppressed_people() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        let c = campaign(&app, "Spring Sale").await;
        let t = template(&app).await;
        let ann = person(&app, "Ann Lee", Some("ann@example.com")).await;
        let bob = person(&app, "Bob Roe", Some("bob@example.com")).await;
        let nomail = person(&app, "No Mail", None).await;
        let cara = person(&app, "Cara Diaz", Some("cara@example.com")).await;
        add_members(&app, c, &[ann, bob, nomail, cara]).await;
        // Cara withdrew consent for the newsletter before the campaign.
        let r = app
            .post(
                &format!("/api/v1/customers/{cara}/consents"),
                json!({"topic": "newsletter", "granted": false, "source": "phone", "legal_basis": "consent"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let h = app.get(&format!("/api/v1/customers/{cara}/consents")).await;
        assert_eq!(
            (h.body[0]["topic"].as_str(), h.body[0]["granted"].as_bool(), h.body[0]["source"].as_str()),
            (Some("newsletter"), Some(false), Some("phone"))
        );

        let bad = app.post(&format!("/api/v1/campaigns/{c}/send"), json!({"template_id": 999, "send_at": "soon"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert_eq!(bad.error_fields(), ["send_at"]);
        let r = app.post(&format!("/api/v1/campaigns/{c}/send"), json!({"template_id": t})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(r.body["state"], "scheduled");
        let again = app.post(&format!("/api/v1/campaigns/{c}/send"), json!({"template_id": t})).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        assert!(again.body.to_string().contains("cancel"), "names the allowed action: {}", again.body);

        // Written in batches of two; more runs of the job add nothing.
        expand(&app).await;
        let s = app.get(&format!("/api/v1/campaigns/{c}/send")).await.body;
        assert_eq!((s["state"].as_str(), s["queued"].as_i64(), s["skipped"].as_i64()), (Some("sending"), Some(3), Some(1)), "{s}");
        let queued = texts(&app, &format!("SELECT to_addr FROM mail_queue WHERE campaign_id = {c} ORDER BY to_addr")).await;
        assert_eq!(queued, ["ann@example.com", "bob@example.com", "cara@example.com"]);

        // Transactional claims never take marketing mail; the marketing claim skips Cara.
        assert!(app.store.claim_mail("t", 60, 100).await.unwrap().is_empty());
        let claimed = app.store.claim_marketing_mail("m", 60, 100, &unlimited()).await.unwrap();
        let to: Vec<&str> = claimed.iter().map(|m| m.to_addr.as_str()).collect();
        assert_eq!(to, ["ann@example.com", "bob@example.com"]);
        let skipped = texts(&app, &format!("SELECT error FROM mail_queue WHERE campaign_id = {c} AND state = 'skipped'")).await;
        assert_eq!(skipped, ["consent withdrawn"]);
        let m = &claimed[0];
        assert_eq!(m.subject, "Hi Ann");
        let token = m.track_token.clone().unwrap();
        assert_eq!(m.headers["List-Unsubscribe"], format!("<https://crm.example.com/m/u/{token}>"));
        assert_eq!(m.headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
        assert!(m.text_body.contains(&format!("https://crm.example.com/m/c/{token}/0")), "{}", m.text_body);
        assert!(
            m.text_body.contains(&format!("Unsubscribe: https://crm.example.com/m/u/{token}")),
            "the unsubscribe link is not tracked: {}",
            m.text_body
        );
        let html = m.html_body.clone().unwrap();
        assert!(html.contains(&format!("href=\"https://crm.example.com/m/c/{token}/0\"")) && html.contains("/m/o/"), "{html}");

        // Delivered: the member is `sent`, and when the queue is empty the sending is done.
        let ids: Vec<i64> = claimed.iter().map(|m| m.id).collect();
        assert_eq!(app.store.mails_sending(&ids, "m", 60).await.unwrap().len(), ids.len());
        app.store.mails_sent(&ids, "m").await.unwrap();
        app.store.expand_campaign_sends(2).await.unwrap();
        let s = app.get(&format!("/api/v1/campaigns/{c}/send")).await.body;
        assert_eq!(s["state"], "done", "{s}");
        let states = texts(&app, &format!("SELECT status FROM campaign_members WHERE campaign_id = {c} ORDER BY person_id")).await;
        assert_eq!(states, ["sent", "sent", "member", "member"]);
    });
}

#[tokio::test]
async fn unsubscribe_get_changes_nothing_post_suppresses_and_tracking_keeps_machines_apart() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        let c = campaign(&app, "News").await;
        let t = template(&app).await;
        let ann = person(&app, "Ann Lee", Some("ann@example.com")).await;
        add_members(&app, c, &[ann]).await;
        app.post(&format!("/api/v1/campaigns/{c}/send"), json!({"template_id": t})).await;
        expand(&app).await;
        let m = app.store.claim_marketing_mail("m", 60, 10, &unlimited()).await.unwrap().remove(0);
        app.store.mails_sending(&[m.id], "m", 60).await.unwrap();
        app.store.mails_sent(&[m.id], "m").await.unwrap();
        let token = m.track_token.unwrap();

        // A click within seconds of delivery, a HEAD and a proxy are machines: no member state moves.
        let r = app.call(Method::GET, &format!("/m/c/{token}/0"), None, None, &[("user-agent", CHROME)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(
            r.header("location").starts_with("https://shop.example/spring?utm_source=rapport&utm_medium=email&utm_campaign=news"),
            "{}",
            r.header("location")
        );
        app.call(Method::HEAD, &format!("/m/o/{token}"), None, None, &[("user-agent", CHROME)]).await;
        let px = app
            .call(Method::GET, &format!("/m/o/{token}"), None, None, &[("user-agent", "Mozilla/5.0 (via ggpht.com GoogleImageProxy)")])
            .await;
        assert_eq!(px.header("content-type"), "image/gif");
        assert_eq!(texts(&app, &format!("SELECT status FROM campaign_members WHERE campaign_id = {c}")).await, ["sent"]);
        // A link the mail does not have, and a forged token, are 404.
        assert_eq!(
            app.call(Method::GET, &format!("/m/c/{token}/7"), None, None, &[("user-agent", CHROME)]).await.status,
            StatusCode::NOT_FOUND
        );
        // Another last digit (never the same one: that would be the real token).
        let last = if token.ends_with('0') { '1' } else { '0' };
        let forged = format!("{}{last}", &token[..token.len() - 1]);
        assert_eq!(
            app.call(Method::GET, &format!("/m/c/{forged}/0"), None, None, &[("user-agent", CHROME)]).await.status,
            StatusCode::NOT_FOUND
        );
        // A person a minute later: opened and clicked.
        exec(&app, &format!("UPDATE mail_queue SET sent_at = '2020-01-01T00:00:00.000000Z' WHERE id = {}", m.id)).await;
        app.call(Method::GET, &format!("/m/c/{token}/0"), None, None, &[("user-agent", CHROME)]).await;
        assert_eq!(texts(&app, &format!("SELECT status FROM campaign_members WHERE campaign_id = {c}")).await, ["clicked"]);
        let kinds =
            texts(&app, &format!("SELECT kind || ':' || CAST(machine AS TEXT) FROM marketing_events WHERE mail_id = {} ORDER BY id", m.id))
                .await;
        assert_eq!(kinds, ["sent:0", "click:1", "open:1", "open:1", "click:0"]);

        // The unsubscribe link: GET shows a page and changes nothing; POST unsubscribes.
        let page = app.call(Method::GET, &format!("/m/u/{token}"), None, None, &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.as_str().unwrap().contains("a***@example.com"), "{}", page.body);
        let s = app.get("/api/v1/marketing/suppressions?email=ann@example.com").await;
        assert_eq!(s.body["suppressed"], false, "a GET (a mail scanner) unsubscribes nobody");
        let one_click =
            app.call_raw(Method::POST, &format!("/m/u/{token}"), "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click").await;
        assert_eq!(one_click.status, StatusCode::OK, "{}", one_click.body);
        let s = app.get("/api/v1/marketing/suppressions?email=ann@example.com").await;
        assert_eq!((s.body["suppressed"].as_bool(), s.body["reason"].as_str()), (Some(true), Some("unsubscribed")));
        assert_eq!(texts(&app, &format!("SELECT status FROM campaign_members WHERE campaign_id = {c}")).await, ["unsubscribed"]);

        // Another campaign later: Ann gets nothing.
        let c2 = campaign(&app, "Summer").await;
        add_members(&app, c2, &[ann]).await;
        app.post(&format!("/api/v1/campaigns/{c2}/send"), json!({"template_id": t})).await;
        expand(&app).await;
        assert!(app.store.claim_marketing_mail("m", 60, 10, &unlimited()).await.unwrap().is_empty());
        assert_eq!(texts(&app, &format!("SELECT error FROM mail_queue WHERE campaign_id = {c2}")).await, ["the address is suppressed"]);

        // The preference centre subscribes again.
        let p = app.call(Method::GET, &format!("/m/p/{token}"), None, None, &[]).await;
        assert!(p.body.as_str().unwrap().contains("newsletter"), "{}", p.body);
        app.call_raw(Method::POST, &format!("/m/p/{token}"), "application/x-www-form-urlencoded", "topic_newsletter=on").await;
        let s = app.get("/api/v1/marketing/suppressions?email=ann@example.com").await;
        assert_eq!(s.body["suppressed"], false);
    });
}

#[tokio::test]
async fn bounces_and_complaints_suppress_and_caps_and_errors_hold_a_sending_back() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        let c = campaign(&app, "Caps").await;
        let t = template(&app).await;
        let people = [
            person(&app, "A", Some("a@example.com")).await,
            person(&app, "B", Some("b@example.com")).await,
            person(&app, "C", Some("c@example.com")).await,
        ];
        add_members(&app, c, &people).await;
        app.post(&format!("/api/v1/campaigns/{c}/send"), json!({"template_id": t, "error_threshold": 1})).await;
        expand(&app).await;
        // A per-minute cap of one: one mail now, none until the next minute.
        let caps = MarketingLimits { per_minute: Some(1), ..unlimited() };
        let first = app.store.claim_marketing_mail("m", 60, 10, &caps).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(app.store.claim_marketing_mail("m", 60, 10, &caps).await.unwrap().is_empty());
        // One failure reaches the threshold: the sending pauses, nothing more is claimed.
        app.store.mails_sending(&[first[0].id], "m", 60).await.unwrap();
        app.store.mail_attempt_failed(&first[0], "m", "451 try later", false).await.unwrap();
        let s = app.get(&format!("/api/v1/campaigns/{c}/send")).await.body;
        assert_eq!((s["state"].as_str(), s["errors"].as_i64()), (Some("paused"), Some(1)), "{s}");
        assert!(app.store.claim_marketing_mail("m", 60, 10, &unlimited()).await.unwrap().is_empty());
        let wrong = app.post(&format!("/api/v1/campaigns/{c}/send/actions"), json!({"action": "resume"})).await;
        assert_eq!(wrong.status, StatusCode::OK, "{}", wrong.body);
        let again = app.post(&format!("/api/v1/campaigns/{c}/send/actions"), json!({"action": "resume"})).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "a running sending cannot be resumed: {}", again.body);
        app.store.expand_campaign_sends(2).await.unwrap();
        let rest = app.store.claim_marketing_mail("m", 60, 10, &unlimited()).await.unwrap();

        assert_eq!(rest.len(), 2, "the other two; the failed one waits for its retry");

        // A hard bounce by Message-ID suppresses at once; soft bounces after three.
        let r = app
            .post(
                "/api/v1/marketing/bounces",
                json!({"kind": "hard", "message_id": format!("<{}>", rest[0].message_id), "reason": "550 5.1.1 no such user"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["suppressed"], true);
        let email = rest[1].to_addr.clone();
        for n in 1..=3 {
            let r = app.post("/api/v1/marketing/bounces", json!({"kind": "soft", "email": email})).await;
            assert_eq!(r.body["suppressed"].as_bool(), Some(n == 3), "soft bounce {n}: {}", r.body);
        }
        let r = app.post("/api/v1/marketing/bounces", json!({"kind": "complaint"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let reasons = texts(&app, "SELECT reason FROM marketing_suppressions ORDER BY reason").await;
        assert_eq!(reasons, ["hard_bounce", "soft_bounce"]);
        let bounced = texts(&app, &format!("SELECT status FROM campaign_members WHERE campaign_id = {c} AND status = 'bounced'")).await;
        assert_eq!(bounced.len(), 1);
        let _ = Value::Null;
    });
}
