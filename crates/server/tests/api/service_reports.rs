//! Service reports (issue 11 §9) on a small help desk whose times are set by hand: backlog by
//! age and priority, first-response and resolution medians and p90, CSAT, NPS, reopen rate and
//! weekly trend, each narrowed by the filter and linking to the tickets behind its numbers,
//! as JSON and CSV; and the comparison of two agents with its significance tests.

use axum::http::{Method, StatusCode};
use rapport_analytics::compare::compare_csat;
use rapport_domain::permissions::Role;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::surveys::{act, public};
use crate::ui::{page, session};

async fn me(app: &TestApp, token: &str) -> i64 {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["id"].as_i64().unwrap()
}

/// A ticket assigned to `agent`, answered publicly by them.
async fn worked(app: &TestApp, agent: (&str, i64), customer: i64, subject: &str, priority: &str, category: &str) -> i64 {
    let body = json!({"subject": subject, "customer_id": customer, "priority": priority, "category": category, "owner_id": agent.1});
    let r = app.post("/api/v1/tickets", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_i64().unwrap();
    let m = app.call(Method::POST, &format!("/api/v1/tickets/{id}/messages"), Some(agent.0), Some(json!({"body": "On it"})), &[]).await;
    assert_eq!(m.status, StatusCode::CREATED);
    id
}

async fn answer(app: &TestApp, id: i64, form: &str) {
    let link = app.store.survey_link(id).await.unwrap().expect("a survey once resolved");
    let (status, _, page) = public(app, Method::POST, &link, form, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
}

/// Moves a ticket's times to the given hours after its creation (as the clock would have):
/// its history to the creation, the steps from its first resolution on to the resolution,
/// and its stored times recomputed as the backfill does (no calendar: round the clock).
async fn set_times(app: &TestApp, id: i64, created: &str, reply_h: i64, resolved_h: Option<i64>, answered: Option<&str>) {
    let at = |h: i64| {
        (chrono::DateTime::parse_from_rfc3339(created).unwrap() + chrono::Duration::hours(h)).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    };
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let mut stmts = vec![
        format!("UPDATE tickets SET created_at = '{}' WHERE id = {id}", at(0)),
        format!("UPDATE ticket_messages SET at = '{}' WHERE ticket_id = {id} AND author = 'agent'", at(reply_h)),
        format!(
            "UPDATE ticket_status_changes SET at = CASE WHEN id >= (SELECT MIN(c.id) FROM ticket_status_changes c WHERE c.ticket_id = {id} \
             AND c.to_status = 'resolved') THEN '{}' ELSE '{}' END WHERE ticket_id = {id}",
            at(resolved_h.unwrap_or(0)),
            at(0)
        ),
        format!("UPDATE tickets SET times_pending = 1 WHERE id = {id}"),
    ];
    if let Some(h) = resolved_h {
        stmts.push(format!("UPDATE tickets SET resolved_at = '{}' WHERE id = {id}", at(h)));
    }
    if let Some(a) = answered {
        stmts.push(format!("UPDATE ticket_surveys SET answered_at = '{a}' WHERE ticket_id = {id}"));
    }
    for s in stmts {
        // Only ids and times this test wrote go into the text.
        sqlx::query(sqlx::AssertSqlSafe(s)).execute(&mut conn).await.unwrap();
    }
    assert_eq!(app.store.backfill_service_times().await.unwrap(), 1);
}

fn ids(list: &Value) -> Vec<i64> {
    let mut v: Vec<i64> = list["data"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn service_reports_count_the_tickets_behind_them_and_compare_two_agents() {
    each_backend!(|app| {
        let (t1k, t2k) =
            (app.user_token("a1@example.com", Role::SupportAgent).await, app.user_token("a2@example.com", Role::SupportAgent).await);
        let (a1, a2) = ((t1k.as_str(), me(&app, &t1k).await), (t2k.as_str(), me(&app, &t2k).await));
        let ann = app.customer(json!({"name": "Ann Lee"})).await["id"].as_i64().unwrap();
        let t1 = worked(&app, a1, ann, "Invoice wrong", "high", "billing").await;
        let t2 = worked(&app, a1, ann, "Refund late", "normal", "billing").await;
        let t3 = worked(&app, a2, ann, "Parcel lost", "normal", "shipping").await;
        let t4 = worked(&app, a2, ann, "Site down", "urgent", "it").await;
        let r = app.post("/api/v1/tickets", json!({"subject": "Question", "customer_id": ann})).await;
        let t5 = r.body["id"].as_i64().unwrap();
        for (id, token) in [(t1, a1.0), (t2, a1.0), (t3, a2.0)] {
            act(&app, token, id, json!({"action": "resolve"})).await;
        }
        answer(&app, t1, "csat=5&nps=10&decision=confirm").await;
        answer(&app, t2, "csat=3&nps=6&decision=reopen").await;
        act(&app, a1.0, t2, json!({"action": "start"})).await;
        act(&app, a1.0, t2, json!({"action": "resolve"})).await;
        answer(&app, t2, "csat=2&nps=6&decision=confirm").await;
        answer(&app, t3, "csat=1&nps=3&decision=confirm").await;
        set_times(&app, t1, "2026-07-06T08:00:00Z", 2, Some(10), Some("2026-07-07T09:00:00.000000Z")).await;
        set_times(&app, t2, "2026-07-07T08:00:00Z", 4, Some(20), Some("2026-07-09T09:00:00.000000Z")).await;
        set_times(&app, t3, "2026-07-14T08:00:00Z", 6, Some(30), Some("2026-07-16T09:00:00.000000Z")).await;
        set_times(&app, t4, "2026-07-15T00:00:00Z", 1, None, None).await;
        let july = "period=2026-07";

        // Backlog: the urgent ticket is over 30 days old, the new question under a day; each row's link lists exactly its tickets.
        let b = app.get("/api/v1/reports/service/backlog").await;
        assert_eq!(b.status, StatusCode::OK, "{}", b.body);
        let rows = b.body["rows"].as_array().unwrap();
        let cells: Vec<(&str, &str, &str, i64)> = rows
            .iter()
            .map(|r| {
                (r["age"].as_str().unwrap(), r["priority"].as_str().unwrap(), r["status"].as_str().unwrap(), r["count"].as_i64().unwrap())
            })
            .collect();
        assert_eq!(cells, [("under 1 day", "normal", "new", 1), ("over 30 days", "urgent", "assigned", 1)]);
        assert_eq!(ids(&app.get(rows[0]["link"].as_str().unwrap()).await.body), [t5]);
        assert_eq!(ids(&app.get(rows[1]["link"].as_str().unwrap()).await.body), [t4]);

        // Times over July's tickets: replies after 2, 4, 6 and 1 hours; resolutions after 10, 20, 30.
        let t = app.get(&format!("/api/v1/reports/service/times?{july}")).await.body;
        assert_eq!((t["from"].as_str(), t["to"].as_str()), (Some("2026-07-01"), Some("2026-07-31")));
        let first = &t["rows"][0];
        assert_eq!(
            (first["measure"].as_str(), first["count"].as_i64(), first["clock"].as_str()),
            (Some("first_response"), Some(4), Some("business"))
        );
        assert_eq!((first["median_hours"].as_f64(), first["p90_hours"].as_f64()), (Some(3.0), Some(5.4)));
        let res = &t["rows"][1];
        assert_eq!((res["count"].as_i64(), res["median_hours"].as_f64(), res["p90_hours"].as_f64()), (Some(3), Some(20.0), Some(28.0)));
        assert_eq!(ids(&app.get(first["link"].as_str().unwrap()).await.body), [t1, t2, t3, t4]);
        let only_a1 = app.get(&format!("/api/v1/reports/service/times?{july}&agent_id={}", a1.1)).await.body;
        assert_eq!(only_a1["rows"][1]["median_hours"].as_f64(), Some(15.0));

        // CSAT and NPS count each ticket's latest answer; the agent is the one credited.
        let c = app.get(&format!("/api/v1/reports/service/csat?{july}")).await.body;
        assert_eq!((c["count"].as_i64(), c["average"].as_f64(), c["satisfied_percent"].as_f64()), (Some(3), Some(2.67), Some(33.3)));
        let dist: Vec<i64> = c["distribution"].as_array().unwrap().iter().map(|d| d["count"].as_i64().unwrap()).collect();
        assert_eq!(dist, [1, 1, 0, 0, 1]);
        let high = app.get(&format!("/api/v1/reports/service/csat?{july}&priority=high")).await.body;
        assert_eq!((high["count"].as_i64(), high["average"].as_f64()), (Some(1), Some(5.0)));
        let billing = app.get(&format!("/api/v1/reports/service/csat?{july}&category=billing&agent_id={}", a1.1)).await.body;
        assert_eq!(billing["count"].as_i64(), Some(2));
        assert_eq!(app.get("/api/v1/reports/service/csat?period=2026-08").await.body["count"].as_i64(), Some(0));
        let n = app.get(&format!("/api/v1/reports/service/nps?{july}")).await.body;
        assert_eq!(
            (n["promoters"].as_i64(), n["passives"].as_i64(), n["detractors"].as_i64(), n["score"].as_f64()),
            (Some(1), Some(0), Some(2), Some(-33.3))
        );

        // Reopen rate: one of the three resolved in July was reopened.
        let r = app.get(&format!("/api/v1/reports/service/reopen_rate?{july}")).await.body;
        assert_eq!((r["resolved"].as_i64(), r["reopened"].as_i64(), r["rate_percent"].as_f64()), (Some(3), Some(1), Some(33.3)));
        assert_eq!(ids(&app.get(r["link"].as_str().unwrap()).await.body), [t1, t2, t3]);

        // Weekly trend, weeks from Monday.
        let w = app.get(&format!("/api/v1/reports/service/trend?{july}")).await.body;
        let weeks: Vec<(&str, i64, i64, i64, Option<f64>)> = w["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["week"].as_str().unwrap(),
                    r["created"].as_i64().unwrap(),
                    r["resolved"].as_i64().unwrap(),
                    r["csat_count"].as_i64().unwrap(),
                    r["csat_average"].as_f64(),
                )
            })
            .collect();
        assert_eq!(weeks, [("2026-07-06", 2, 2, 2, Some(3.5)), ("2026-07-13", 2, 1, 1, Some(1.0))]);
        assert_eq!(ids(&app.get(w["rows"][1]["link"].as_str().unwrap()).await.body), [t3, t4]);

        // CSV, and bad parameters named.
        let csv = app.call(Method::GET, "/api/v1/reports/service/backlog?format=csv", Some(&app.token), None, &[]).await;
        assert!(csv.header("content-type").starts_with("text/csv"));
        let text = csv.body.as_str().unwrap().to_string();
        assert!(text.starts_with("age,priority,status,count,link\n") && text.contains("over 30 days,urgent,assigned,1,"), "{text}");
        for report in ["backlog", "times", "csat", "nps", "reopen_rate", "trend"] {
            let r = app
                .call(
                    Method::GET,
                    &format!("/api/v1/reports/service/{report}?format=csv&period=2099-01&agent_id=999"),
                    Some(&app.token),
                    None,
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{report}");
            assert!(r.body.as_str().unwrap().lines().next().unwrap().contains(','), "{report}: a header row even when empty");
        }
        let bad = app.get("/api/v1/reports/service/csat?priority=soon&colour=red").await;
        assert_eq!((bad.status, bad.error_fields()), (StatusCode::BAD_REQUEST, vec!["priority".to_string(), "colour".to_string()]));

        // Compare the two agents' July ratings: the numbers are the analytics' on the same counts.
        let cmp = app.get(&format!("/api/v1/reports/service/compare?{july}&a=agent:{}&b=agent:{}", a1.1, a2.1)).await;
        assert_eq!(cmp.status, StatusCode::OK, "{}", cmp.body);
        let want = compare_csat(&[0, 1, 0, 0, 1], &[1, 0, 0, 0, 0]);
        assert_eq!((cmp.body["a"]["count"].as_u64(), cmp.body["b"]["count"].as_u64()), (Some(2), Some(1)));
        assert_eq!(cmp.body["a"]["distribution"], json!([0, 1, 0, 0, 1]));
        assert!(cmp.body["welch_t_test"]["undefined"].is_string(), "one rating on a side: {}", cmp.body);
        let chi = &cmp.body["chi_square"];
        assert_eq!(
            (chi["statistic"].as_f64(), chi["p_value"].as_f64()),
            (Some(want.chi_square.as_ref().unwrap().statistic), Some(want.chi_square.as_ref().unwrap().p_value))
        );
        let periods = app.get("/api/v1/reports/service/compare?a=period:2026-07&b=period:2026-08").await.body;
        assert_eq!((periods["a"]["count"].as_u64(), periods["b"]["count"].as_u64()), (Some(3), Some(0)));
        let bad = app.get("/api/v1/reports/service/compare?a=agent:x").await;
        assert_eq!((bad.status, bad.error_fields()), (StatusCode::BAD_REQUEST, vec!["a".to_string()]));

        // The dashboard draws the same numbers, each linking to the tickets page behind it.
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, &format!("/service?{july}"), &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        for id in ["service-backlog", "service-csat", "service-times", "service-trend"] {
            let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("{id}: {html}"));
            assert!(html[at..].trim_start_matches(|c| c != '<').starts_with("><svg") || html[at..].contains("<svg"), "{id} has a chart");
        }
        assert!(html.contains("id=\"csat-average\">2.67<") && html.contains("id=\"nps-score\">-33.3<"), "{html}");
        assert!(html.contains("id=\"reopen-rate\">33.3<") && html.contains("href=\"/tickets?"), "{html}");
        let (status, html) = page(&app, "/service?priority=soon", &cookie).await;
        assert!(status == StatusCode::OK && html.contains("role=\"alert\""), "a bad filter is said: {html}");

        // Record-level visibility: a rep who owns none of these sees only the unassigned queue.
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let b = app.get_as(&rep, "/api/v1/reports/service/backlog").await;
        if b.status == StatusCode::OK {
            let counts: i64 = b.body["rows"].as_array().unwrap().iter().map(|r| r["count"].as_i64().unwrap()).sum();
            assert_eq!(counts, 1, "{}", b.body);
            assert_eq!(app.get_as(&rep, format!("/api/v1/reports/service/csat?{july}")).await.body["count"].as_i64(), Some(0));
        } else {
            assert_eq!(b.status, StatusCode::FORBIDDEN);
        }
    });
}
