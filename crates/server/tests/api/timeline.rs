//! The 360° timeline (issue 9 §4): activities, deals' stage histories and lead status changes
//! of a person, a company or a deal, merged newest first, keyset-paged, and shown only as far
//! as the caller may see each event's record.

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::TestApp;
use crate::opportunities::user_id;

/// Every event of a timeline as `token` sees it, following cursors with pages of `limit`.
async fn all_events(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let mut out = vec![];
    let mut url = format!("{path}?limit={limit}");
    loop {
        let r = app.get_as(token, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.body);
        let page = r.body["data"].as_array().unwrap();
        assert!(page.len() <= limit);
        out.extend(page.iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("{path}?limit={limit}&cursor={c}"),
            None => return out,
        }
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

async fn activity(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.call(Method::POST, "/api/v1/activities", Some(token), Some(body.clone()), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.body);
    r.body
}

/// Runs `sql` on the test database, as time passing would.
async fn exec(app: &TestApp, sql: &str) {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut conn).await.expect(sql);
}

#[tokio::test]
async fn a_person_s_timeline_merges_activities_stage_moves_and_the_conversion_newest_first() {
    each_backend!(|app| {
        let tok = app.token.clone();
        let lead = app.customer(json!({"name": "Ann Lead"})).await;
        let call = activity(
            &app,
            &tok,
            json!({"kind": "call", "subject": "First call", "customer_id": lead["id"], "starts_at": "2026-01-05T10:00:00Z"}),
        )
        .await;
        let r = app.post(&format!("/api/v1/customers/{}/convert", lead["id"]), json!({"currency": "EUR", "company_name": "Acme"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let deal = r.body["opportunity"].clone();
        let company = r.body["company"]["id"].clone();
        let r = app.patch(&format!("/api/v1/opportunities/{}", deal["id"]), json!({"stage": "proposal"}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let note = activity(
            &app,
            &tok,
            json!({"kind": "note", "subject": "Sent the offer", "customer_id": lead["id"], "opportunity_id": deal["id"]}),
        )
        .await;
        let r = app.patch(&format!("/api/v1/opportunities/{}", deal["id"]), json!({"stage": "won"}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        let events = all_events(&app, &tok, &format!("/api/v1/customers/{}/timeline", lead["id"]), 50).await;
        assert_eq!(
            kinds(&events),
            ["opportunity_won", "activity", "stage_changed", "lead_status_changed", "opportunity_created", "activity"]
        );
        let won = &events[0];
        assert_eq!((won["title"].as_str(), won["summary"].as_str()), (Some("Acme deal"), Some("Won: Proposal → Won")));
        assert_eq!((won["record_type"].as_str(), &won["record_id"]), (Some("opportunity"), &deal["id"]));
        assert_eq!(won["link"].as_str().unwrap(), format!("/opportunities/{}", deal["id"]));
        assert_eq!((won["actor_name"].as_str(), won["actor_id"].as_i64()), (Some("Admin"), Some(user_id(&app, &tok).await)));
        assert_eq!((events[1]["title"].as_str(), &events[1]["record_id"]), (Some("Sent the offer"), &note["id"]));
        assert_eq!(events[2]["summary"].as_str(), Some("Qualification → Proposal"));
        assert_eq!(events[3]["summary"].as_str(), Some("Converted into a deal: new → qualified"));
        assert_eq!(events[3]["link"].as_str().unwrap(), format!("/customers/{}", lead["id"]));
        assert_eq!(events[4]["summary"].as_str(), Some("Created in Qualification"));
        assert_eq!((events[5]["summary"].as_str(), events[5]["at"].as_str()), (Some("call"), Some("2026-01-05T10:00:00.000000Z")));
        assert_eq!(events[5]["link"].as_str().unwrap(), format!("/activities/{}", call["id"]));
        let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");

        // The deal's timeline: its history, its note and the conversion that made it.
        let events = all_events(&app, &tok, &format!("/api/v1/opportunities/{}/timeline", deal["id"]), 50).await;
        assert_eq!(kinds(&events), ["opportunity_won", "activity", "stage_changed", "lead_status_changed", "opportunity_created"]);
        // The company's: its deal's history and its person's conversion (the activities name the person only).
        let events = all_events(&app, &tok, &format!("/api/v1/companies/{company}/timeline"), 50).await;
        assert_eq!(kinds(&events), ["opportunity_won", "stage_changed", "lead_status_changed", "opportunity_created"]);
        // A status change by hand is an event too.
        let other = app.customer(json!({"name": "Bo Lead"})).await;
        let r = app.patch(&format!("/api/v1/customers/{}", other["id"]), json!({"lead_status": "working"}), None).await;
        assert_eq!(r.status, StatusCode::OK);
        let events = all_events(&app, &tok, &format!("/api/v1/customers/{}/timeline", other["id"]), 50).await;
        assert_eq!((kinds(&events), events[0]["summary"].as_str()), (vec!["lead_status_changed"], Some("Lead status: new → working")));
        // A deleted deal's events leave with it.
        let r = app.delete(&format!("/api/v1/opportunities/{}", deal["id"])).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let events = all_events(&app, &tok, &format!("/api/v1/customers/{}/timeline", lead["id"]), 50).await;
        assert_eq!(kinds(&events), ["activity", "lead_status_changed", "activity"]);
    });
}

#[tokio::test]
async fn pages_miss_nothing_and_repeat_nothing_across_equal_times() {
    each_backend!(|app| {
        let tok = app.token.clone();
        let p = app.customer(json!({"name": "Cy Busy"})).await;
        let at = "2026-02-01T09:00:00Z";
        let mut expected = HashSet::new();
        for i in 0..7 {
            let a = activity(
                &app,
                &tok,
                json!({"kind": "meeting", "subject": format!("Meeting {i}"), "customer_id": p["id"], "starts_at": at}),
            )
            .await;
            expected.insert(("activity".to_string(), a["id"].as_i64().unwrap()));
        }
        for i in 0..3 {
            let d =
                app.post("/api/v1/opportunities", json!({"name": format!("Deal {i}"), "currency": "EUR", "customer_id": p["id"]})).await;
            assert_eq!(d.status, StatusCode::CREATED);
            let r = app.patch(&format!("/api/v1/opportunities/{}", d.body["id"]), json!({"stage": "proposal"}), None).await;
            assert_eq!(r.status, StatusCode::OK);
        }
        // Every stage change at the same instant as the meetings.
        exec(&app, "UPDATE opportunity_stage_changes SET at = '2026-02-01T09:00:00.000000Z'").await;
        let full = all_events(&app, &tok, &format!("/api/v1/customers/{}/timeline", p["id"]), 200).await;
        assert_eq!(full.len(), 13);
        for e in full.iter().filter(|e| e["kind"] != "activity") {
            expected.insert((e["kind"].as_str().unwrap().to_string(), e["id"].as_i64().unwrap()));
        }
        assert_eq!(expected.len(), 13);
        for limit in [1, 2, 3, 5] {
            let paged = all_events(&app, &tok, &format!("/api/v1/customers/{}/timeline", p["id"]), limit).await;
            let keys: Vec<(String, i64)> =
                paged.iter().map(|e| (e["kind"].as_str().unwrap().to_string(), e["id"].as_i64().unwrap())).collect();
            assert_eq!(keys.iter().cloned().collect::<HashSet<_>>(), expected, "limit {limit}: none missed");
            assert_eq!(keys.len(), 13, "limit {limit}: none twice");
            assert_eq!(paged, full, "limit {limit}: the same order as one page");
        }
        // Equal times: stage changes (higher kind code) first, then by id, newest first.
        assert_eq!(kinds(&full[..6]), ["stage_changed"; 3].iter().chain(["opportunity_created"; 3].iter()).copied().collect::<Vec<_>>());
        let meeting_ids: Vec<i64> = full[6..].iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(meeting_ids.windows(2).all(|w| w[0] > w[1]), "{meeting_ids:?}");

        for bad in ["limit=0", "limit=201", "cursor=garbage", "sort=name"] {
            let r = app.get(&format!("/api/v1/customers/{}/timeline?{bad}", p["id"])).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
            assert_eq!(r.error_fields(), [bad.split('=').next().unwrap()]);
        }
        let r = app.get("/api/v1/customers/999999/timeline").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn an_event_shows_only_to_those_who_may_see_its_record() {
    each_backend!(|app| {
        let a = app.user_token("a@example.com", Role::SalesRep).await;
        let b = app.user_token("b@example.com", Role::SalesRep).await;
        let (a_id, b_id) = (user_id(&app, &a).await, user_id(&app, &b).await);
        // An unowned person every rep sees, with activities and a deal of each rep.
        let shared = app.customer(json!({"name": "Pool Person", "owner_id": null})).await;
        let company = app.company(json!({"name": "Pool Co", "owner_id": null})).await;
        for (who, owner) in [("a", a_id), ("b", b_id)] {
            let body = json!({"kind": "note", "subject": format!("{who}'s note"), "customer_id": shared["id"], "company_id": company["id"], "owner_id": owner});
            activity(&app, &app.token, body).await;
        }
        let a_deal = app
            .call(
                Method::POST,
                "/api/v1/opportunities",
                Some(&a),
                Some(json!({"name": "A's deal", "currency": "EUR", "customer_id": shared["id"], "company_id": company["id"]})),
                &[],
            )
            .await;
        assert_eq!(a_deal.status, StatusCode::CREATED, "{}", a_deal.body);
        // A lead of A's at the company, converted: B must not see that either.
        let r = app
            .call(Method::POST, "/api/v1/customers", Some(&a), Some(json!({"name": "A's lead", "company_id": company["id"]})), &[])
            .await;
        let r = app
            .call(Method::POST, &format!("/api/v1/customers/{}/convert", r.body["id"]), Some(&a), Some(json!({"currency": "EUR"})), &[])
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

        let titles = |events: &[Value]| -> Vec<String> {
            events.iter().map(|e| format!("{}: {}", e["kind"].as_str().unwrap(), e["title"].as_str().unwrap())).collect()
        };
        let path = format!("/api/v1/customers/{}/timeline", shared["id"]);
        let seen_by_b = all_events(&app, &b, &path, 50).await;
        assert_eq!(titles(&seen_by_b), ["activity: b's note"]);
        let seen_by_a = all_events(&app, &a, &path, 50).await;
        assert_eq!(titles(&seen_by_a), ["opportunity_created: A's deal", "activity: a's note"]);
        assert_eq!(all_events(&app, &app.token, &path, 50).await.len(), 3, "the admin sees everything");

        let path = format!("/api/v1/companies/{}/timeline", company["id"]);
        assert_eq!(titles(&all_events(&app, &b, &path, 50).await), ["activity: b's note"]);
        assert_eq!(
            titles(&all_events(&app, &a, &path, 50).await),
            ["lead_status_changed: A's lead", "opportunity_created: Pool Co deal", "opportunity_created: A's deal", "activity: a's note"]
        );

        // A deal B cannot see has no timeline for B.
        let r = app.get_as(&b, format!("/api/v1/opportunities/{}/timeline", a_deal.body["id"])).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn orders_show_their_creation_payment_shipping_and_cancellation_with_their_totals() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let p = app.customer(json!({"name": "Olga Orders", "owner_id": null})).await;
        let widget =
            app.post("/api/v1/products", json!({"sku": "WID-1", "name": "Widget", "unit_price_minor": 1999, "currency": "EUR"})).await;
        assert_eq!(widget.status, StatusCode::CREATED, "{}", widget.body);
        let order = |quantity: i64| json!({"customer_id": p["id"], "lines": [{"product_id": widget.body["id"], "quantity": quantity}]});
        let first = app.post("/api/v1/orders", order(2)).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
        let path = format!("/api/v1/orders/{}", first.body["id"]);
        for action in ["confirm", "pay", "ship"] {
            let r = app.call(Method::POST, &format!("{path}/{action}"), Some(&app.token), None, &[]).await;
            assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
        }
        let second = app.post("/api/v1/orders", order(1)).await;
        let r = app.call(Method::POST, &format!("/api/v1/orders/{}/cancel", second.body["id"]), Some(&app.token), None, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        let events = all_events(&app, &app.token, &format!("/api/v1/customers/{}/timeline", p["id"]), 2).await;
        assert_eq!(kinds(&events), ["order_cancelled", "order_created", "order_shipped", "order_paid", "order_created"]);
        let summaries: Vec<&str> = events.iter().map(|e| e["summary"].as_str().unwrap()).collect();
        assert_eq!(
            summaries,
            ["Cancelled · 19.99 EUR", "Created · 19.99 EUR", "Shipped · 39.98 EUR", "Paid · 39.98 EUR", "Created · 39.98 EUR"]
        );
        assert_eq!(
            (events[2]["link"].as_str().unwrap(), &events[2]["record_id"]),
            (format!("/orders/{}", first.body["id"]).as_str(), &first.body["id"])
        );
        // The admin's orders are not the rep's to see, though the person is.
        assert!(all_events(&app, &rep, &format!("/api/v1/customers/{}/timeline", p["id"]), 50).await.is_empty());
    });
}
