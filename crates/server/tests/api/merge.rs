//! Merging duplicate people (issue 13 §5): the survivor keeps the chosen value of each field,
//! every related record moves to it in one transaction, the loser stays a tombstone naming it
//! (410 on read, `merged_into` in sync listings), the merge is audited and queued as a
//! `customer.merged` event, summaries stay equal to a recount, and refusals write nothing. A
//! create warns about look-alikes; the merge page renders and posts.

use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, Res, TestApp};
use crate::sla::exec;
use crate::ui::{csrf_of, form, page, session};

async fn scalar(app: &TestApp, q: &str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(q.to_string())).fetch_one(&mut conn).await.unwrap_or_else(|e| panic!("{q}: {e}"))
}

async fn merge(app: &TestApp, survivor: i64, body: Value, version: Option<i64>) -> Res {
    let v = version.map(|v| v.to_string());
    let headers: Vec<(&str, &str)> = v.as_deref().map(|v| vec![("if-match", v)]).unwrap_or_default();
    app.call(Method::POST, &format!("/api/v1/customers/{survivor}/merge"), Some(&app.token), Some(body), &headers).await
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_merge_moves_every_related_record_and_leaves_a_tombstone_that_points_to_the_survivor() {
    each_backend!(|app| {
        let hook = app.post("/api/v1/webhooks", json!({"url": "https://hooks.example.com/m", "events": ["customer.merged"]})).await;
        assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
        let field =
            app.post("/api/v1/custom_fields", json!({"object": "customer", "key": "tier", "label": "Tier", "field_type": "text"})).await;
        assert_eq!(field.status, StatusCode::CREATED, "{}", field.body);
        let ann = app
            .customer(json!({"name": "Ann Lee", "email": "ann@example.com", "phone": "+442079460958", "tags": ["vip"], "address": {"city": "London"}, "custom": {"tier": "gold"}}))
            .await;
        let dup = app
            .customer(json!({"name": "Lee, Ann", "email": "ann.lee@work.example", "tags": ["newsletter"], "address": {"city": "Leeds"}, "notes": "met at fair"}))
            .await;
        let (a, d) = (id(&ann), id(&dup));
        let sync_from = rapport_domain::now_rfc3339();

        // Related records of the loser, of every kind.
        let widget = app.product("W-1", "Widget", 1000, "USD").await;
        let o1 = app.paid_order(&ann, "2026-11-02", json!([{"product_id": widget["id"], "quantity": 1}])).await;
        let o2 = app.paid_order(&dup, "2026-11-05", json!([{"product_id": widget["id"], "quantity": 2}])).await;
        let deal = app.post("/api/v1/opportunities", json!({"name": "Big deal", "currency": "USD", "customer_id": d})).await;
        assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.body);
        let act = app.post("/api/v1/activities", json!({"kind": "task", "subject": "Call back", "customer_id": d})).await;
        assert_eq!(act.status, StatusCode::CREATED, "{}", act.body);
        let own_ticket = app.post("/api/v1/tickets", json!({"subject": "Broken", "customer_id": d})).await;
        assert_eq!(own_ticket.status, StatusCode::CREATED, "{}", own_ticket.body);
        let anns_ticket = app.post("/api/v1/tickets", json!({"subject": "Late", "customer_id": a})).await.body;
        let other = app.customer(json!({"name": "Cy Other"})).await;
        let cys_ticket = app.post("/api/v1/tickets", json!({"subject": "Both follow", "customer_id": id(&other)})).await.body;
        let fb = app.post("/api/v1/feedback", json!({"body": "Great", "customer_id": d})).await;
        assert_eq!(fb.status, StatusCode::CREATED, "{}", fb.body);
        let camp = app
            .post(
                "/api/v1/campaigns",
                json!({"name": "Spring", "channel": "email", "currency": "EUR", "starts_on": "2026-01-01", "ends_on": "2026-01-31"}),
            )
            .await;
        assert_eq!(camp.status, StatusCode::CREATED, "{}", camp.body);
        let (c, now) = (id(&camp.body), "2026-01-02T00:00:00.000000Z");
        exec(
            &app,
            &[
                // Both follow Cy's ticket; the loser follows Ann's own ticket.
                format!("INSERT INTO ticket_contacts (ticket_id, customer_id, added_at) VALUES ({}, {a}, '{now}')", id(&cys_ticket)),
                format!("INSERT INTO ticket_contacts (ticket_id, customer_id, added_at) VALUES ({}, {d}, '{now}')", id(&cys_ticket)),
                format!("INSERT INTO ticket_contacts (ticket_id, customer_id, added_at) VALUES ({}, {d}, '{now}')", id(&anns_ticket)),
                // Both in one campaign: the loser opened it.
                format!("INSERT INTO campaign_members (campaign_id, person_id, status, added_at, updated_at) VALUES ({c}, {a}, 'member', '{now}', '{now}')"),
                format!("INSERT INTO campaign_members (campaign_id, person_id, status, added_at, opened_at, updated_at) VALUES ({c}, {d}, 'opened', '{now}', '{now}', '{now}')"),
                format!("INSERT INTO marketing_consents (person_id, topic, granted, legal_basis, source, at) VALUES ({d}, 'newsletter', 1, 'consent', 'form', '{now}')"),
            ],
        )
        .await;
        let before_buyers = scalar(&app, "SELECT customers FROM monthly_sales WHERE owner_key = 0 AND month = '2026-11'").await;
        assert_eq!(before_buyers, 2);

        let version = app.get(&format!("/api/v1/customers/{a}")).await.body["version"].as_i64().unwrap();
        let r = merge(&app, a, json!({"losers": [d], "fields": {"email": d, "address.city": d, "custom.tier": a}}), Some(version)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let s = &r.body;
        // Per-field choices, then blanks filled, lists united, the primary email that lost kept.
        assert_eq!(s["email"], "ann.lee@work.example");
        assert_eq!(s["address"]["city"], "Leeds");
        assert_eq!(s["name"], "Ann Lee", "not chosen: the survivor's");
        assert_eq!(s["notes"], "met at fair", "the survivor had none");
        assert_eq!(s["custom"]["tier"], "gold");
        assert_eq!(s["additional_emails"], json!(["ann@example.com"]));
        let mut tags: Vec<String> = s["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().into()).collect();
        tags.sort();
        assert_eq!(tags, ["newsletter", "vip"]);
        assert_eq!(r.header("etag"), format!("\"{}\"", s["version"]));

        // Every related record is the survivor's now.
        for (table, col) in [
            ("orders", "customer_id"),
            ("opportunities", "customer_id"),
            ("activities", "customer_id"),
            ("tickets", "customer_id"),
            ("feedback", "customer_id"),
            ("marketing_consents", "person_id"),
        ] {
            assert_eq!(scalar(&app, &format!("SELECT COUNT(*) FROM {table} WHERE {col} = {d}")).await, 0, "{table}");
        }
        assert_eq!(app.get(&format!("/api/v1/orders/{}", id(&o2))).await.body["customer_id"], a);
        assert_eq!(app.get(&format!("/api/v1/opportunities/{}", id(&deal.body))).await.body["customer_id"], a);
        assert_eq!(app.get(&format!("/api/v1/tickets/{}", id(&own_ticket.body))).await.body["customer_id"], a);
        // Conflicts resolved: one follow of Cy's ticket, none of Ann's own, one campaign membership with the loser's open.
        assert_eq!(scalar(&app, &format!("SELECT COUNT(*) FROM ticket_contacts WHERE ticket_id = {}", id(&cys_ticket))).await, 1);
        assert_eq!(scalar(&app, &format!("SELECT COUNT(*) FROM ticket_contacts WHERE ticket_id = {}", id(&anns_ticket))).await, 0);
        assert_eq!(scalar(&app, &format!("SELECT COUNT(*) FROM campaign_members WHERE campaign_id = {c}")).await, 1);
        assert_eq!(
            scalar(&app, &format!("SELECT COUNT(*) FROM campaign_members WHERE person_id = {a} AND opened_at IS NOT NULL")).await,
            1
        );
        // Summaries equal a recount: one buyer in November now.
        let recount = scalar(&app, "SELECT COUNT(DISTINCT customer_id) FROM orders WHERE status IN ('paid', 'shipped') AND deleted_at IS NULL AND paid_at LIKE '2026-11%'").await;
        assert_eq!(recount, 1);
        assert_eq!(scalar(&app, "SELECT customers FROM monthly_sales WHERE owner_key = 0 AND month = '2026-11'").await, recount);
        assert_eq!(scalar(&app, &format!("SELECT COUNT(*) FROM sales_presence WHERE customer_id = {d}")).await, 0);
        assert_eq!(scalar(&app, &format!("SELECT COUNT(*) FROM sales_buyers WHERE customer_id = {d}")).await, 0);
        assert_eq!(
            scalar(&app, &format!("SELECT COUNT(*) FROM orders WHERE customer_id = {a} AND id IN ({}, {})", id(&o1), id(&o2))).await,
            2
        );

        // The loser: 410 naming the survivor; gone from lists; a tombstone with merged_into in sync.
        let gone = app.get(&format!("/api/v1/customers/{d}")).await;
        assert_eq!(gone.status, StatusCode::GONE, "{}", gone.body);
        assert_eq!(gone.body["merged_into"], a);
        assert_eq!(gone.header("location"), format!("/api/v1/customers/{a}"));
        assert_eq!(app.people("").await, ["Ann Lee", "Cy Other"]);
        let sync = app.get(&format!("/api/v1/customers?updated_since={sync_from}")).await;
        let tomb = sync.body["data"].as_array().unwrap().iter().find(|c| c["id"] == d).cloned().expect("the loser is in the sync listing");
        assert!(tomb["deleted_at"].is_string(), "{tomb}");
        assert_eq!(tomb["merged_into"], a);
        assert!(sync.body["data"].as_array().unwrap().iter().any(|c| c["id"] == a && c["deleted_at"].is_null()));
        let moved = app.get(&format!("/api/v1/orders?updated_since={sync_from}")).await;
        assert!(
            moved.body["data"].as_array().unwrap().iter().any(|o| o["id"] == o2["id"] && o["customer_id"] == a),
            "moved orders sync again"
        );

        // Audited once, naming both; the loser's side points to the survivor; one webhook event.
        assert_eq!(
            scalar(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'merge' AND object = 'customer' AND record_id = {a}"))
                .await,
            1
        );
        assert_eq!(scalar(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'merged_into' AND record_id = {d}")).await, 1);
        assert_eq!(
            scalar(&app, &format!("SELECT COUNT(*) FROM webhook_events WHERE event_type = 'customer.merged' AND record_id = {a}")).await,
            1
        );
        let deliveries = app.get("/api/v1/webhooks/deliveries").await;
        assert!(deliveries.body.as_array().unwrap().iter().any(|x| x["event_type"] == "customer.merged"), "{}", deliveries.body);

        // Merging again into the merged one, or the tombstone into someone: refused.
        let again = merge(&app, d, json!({"losers": [id(&other)]}), None).await;
        assert_eq!((again.status, again.body["merged_into"].as_i64()), (StatusCode::GONE, Some(a)), "{}", again.body);
        let twice = merge(&app, a, json!({"losers": [d]}), None).await;
        assert_eq!((twice.status, twice.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["losers".to_string()]));
    });
}

#[tokio::test]
async fn refusals_name_the_field_and_write_nothing() {
    each_backend!(|app| {
        let a = app.customer(json!({"name": "Bo Kim", "email": "bo@example.com"})).await;
        let b = app.customer(json!({"name": "Bo Kim", "email": "bo.kim@example.com"})).await;
        let (ai, bi) = (id(&a), id(&b));
        let order = app.post("/api/v1/activities", json!({"kind": "task", "subject": "x", "customer_id": bi})).await.body;
        let v = a["version"].as_i64().unwrap();

        let stale = merge(&app, ai, json!({"losers": [bi]}), Some(v + 5)).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.body);
        let r = merge(&app, ai, json!({"losers": [bi], "fields": {"email": 999_999}}), Some(v)).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["fields.email".to_string()]), "{}", r.body);
        let r = merge(&app, ai, json!({"losers": [bi], "fields": {"shoe_size": ai}}), Some(v)).await;
        assert_eq!(r.error_fields(), ["fields.shoe_size"]);
        let r = merge(&app, ai, json!({"losers": [ai]}), Some(v)).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["losers".to_string()]));
        let r = merge(&app, ai, json!({"losers": []}), Some(v)).await;
        assert_eq!(r.error_fields(), ["losers"]);
        let r = merge(&app, ai, json!({"losers": [999_999]}), Some(v)).await;
        assert_eq!(r.error_fields(), ["losers"]);
        // Into a deleted person: refused.
        let c = app.customer(json!({"name": "Gone Soon"})).await;
        assert_eq!(app.delete(&format!("/api/v1/customers/{}", id(&c))).await.status, StatusCode::NO_CONTENT);
        let r = merge(&app, id(&c), json!({"losers": [bi]}), None).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["id".to_string()]), "{}", r.body);
        let r = merge(&app, ai, json!({"losers": [id(&c)]}), None).await;
        assert_eq!(r.error_fields(), ["losers"]);

        // Nothing was written by any of them.
        let now = app.get(&format!("/api/v1/customers/{bi}")).await;
        assert_eq!((now.status, now.body["version"].clone()), (StatusCode::OK, b["version"].clone()));
        assert_eq!(app.get(&format!("/api/v1/customers/{ai}")).await.body["version"], v);
        assert_eq!(app.get(&format!("/api/v1/activities/{}", id(&order))).await.body["customer_id"], bi);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM audit_log WHERE action IN ('merge', 'merged_into')").await, 0);

        // A merge that fails after the moves began (the loser's owner, chosen, is no longer an
        // active user) is undone whole.
        let rep = app
            .post(
                "/api/v1/users",
                json!({"email": "rep@example.com", "name": "Rep", "password": "correct horse battery", "role": "sales_rep"}),
            )
            .await;
        assert_eq!(rep.status, StatusCode::CREATED, "{}", rep.body);
        let r = app.patch(&format!("/api/v1/customers/{bi}"), json!({"owner_id": rep.body["id"]}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let bv = r.body["version"].clone();
        exec(&app, &[format!("UPDATE users SET is_active = 0 WHERE id = {}", id(&rep.body))]).await;
        let r = merge(&app, ai, json!({"losers": [bi], "fields": {"owner_id": bi}}), Some(v)).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["owner_id".to_string()]), "{}", r.body);
        let now = app.get(&format!("/api/v1/customers/{bi}")).await;
        assert_eq!((now.status, now.body["version"].clone()), (StatusCode::OK, bv), "the loser is no tombstone");
        assert_eq!(app.get(&format!("/api/v1/activities/{}", id(&order))).await.body["customer_id"], bi, "nothing moved");
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM audit_log WHERE action IN ('merge', 'merged_into')").await, 0);
    });
}

#[tokio::test]
async fn creating_a_look_alike_warns_and_refuses_only_when_asked() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee", "email": "ann@example.com", "phone": "+442079460958"})).await;
        assert!(ann.get("duplicates").is_none(), "nobody to look like: {ann}");
        let r = app.post("/api/v1/customers", json!({"name": "Lee Ann"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["duplicates"][0]["id"], ann["id"], "{}", r.body);
        assert_eq!(r.body["duplicates"][0]["reasons"], json!(["same_name"]));
        assert!(r.header("warning").contains(&format!("possible duplicates: {}", ann["id"])), "{:?}", r.headers);
        let r = app.post("/api/v1/customers", json!({"name": "A. Lee", "additional_emails": ["ann@example.com"]})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert!(
            r.body["duplicates"].as_array().unwrap().iter().any(|d| d["id"] == ann["id"] && d["reasons"][0] == "same_email"),
            "{}",
            r.body
        );
        let r = app.post("/api/v1/customers", json!({"name": "Someone Else", "phone": "+44 20 7946 0958"})).await;
        assert!(r.body["duplicates"].as_array().unwrap().iter().any(|d| d["id"] == ann["id"]), "same phone: {}", r.body);
        let n = app.people("").await.len();
        let r = app.post("/api/v1/customers?duplicates=refuse", json!({"name": "Ann Lee"})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::CONFLICT, vec!["duplicates".to_string()]), "{}", r.body);
        assert_eq!(app.people("").await.len(), n, "a refused create writes nothing");
        let r = app.post("/api/v1/customers?duplicates=refuse", json!({"name": "Zed Nobody"})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(app.post("/api/v1/customers?duplicates=maybe", json!({"name": "Q"})).await.status, StatusCode::BAD_REQUEST);
    });
}

#[tokio::test]
async fn the_merge_page_shows_both_people_and_merges_with_the_chosen_values() {
    each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let a = app.customer(json!({"name": "Ann Lee", "email": "ann@example.com", "address": {"city": "London"}})).await;
        let b = app.customer(json!({"name": "Lee Ann", "email": "lee@example.com", "address": {"city": "Leeds"}})).await;
        let (ai, bi) = (id(&a), id(&b));
        // The person page lists the look-alike with a link to merge; so does the data-quality page.
        let (status, html) = page(&app, &format!("/customers/{ai}"), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"possible-duplicates\"") && html.contains(&format!("/customers/{ai}/merge?with={bi}")), "{html}");
        let (_, html) = page(&app, "/data_quality", &cookie).await;
        assert!(html.contains(&format!("/customers/{ai}/merge?with={bi}")), "{html}");

        let (status, html) = page(&app, &format!("/customers/{ai}/merge?with={bi}"), &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"merge-form\"") && html.contains("London") && html.contains("Leeds"), "{html}");
        assert!(html.contains(&format!("name=\"f.address.city\" value=\"{bi}\"")), "{html}");
        let csrf = csrf_of(&html);
        let body = format!("_csrf={csrf}&with={bi}&version={}&f.name={ai}&f.address.city={bi}&f.email={ai}&f.tags=", a["version"]);
        let (status, headers, text) = form(&app, &format!("/customers/{ai}/merge"), Some(&cookie), &body).await;
        assert!(status.is_redirection(), "{status}: {text}");
        assert_eq!(headers.get(header::LOCATION).unwrap(), &format!("/customers/{ai}"));
        let kept = app.get(&format!("/api/v1/customers/{ai}")).await.body;
        assert_eq!(
            (kept["name"].as_str(), kept["address"]["city"].as_str(), kept["email"].as_str()),
            (Some("Ann Lee"), Some("Leeds"), Some("ann@example.com"))
        );
        assert_eq!(app.get(&format!("/api/v1/customers/{bi}")).await.status, StatusCode::GONE);
        // A stale page is refused with the reason on the page.
        let c = app.customer(json!({"name": "Cy"})).await;
        let body = format!("_csrf={csrf}&with={}&version=1", id(&c));
        let (status, _, text) = form(&app, &format!("/customers/{ai}/merge"), Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{text}");
        assert!(text.contains("id=\"merge-form\""), "{text}");
    });
}
