//! Report times in business hours (issue 11 §9): the first response and the resolution are
//! measured on the ticket's team calendar (else the default), leaving out the weekend, the
//! holidays and the time spent waiting on the customer, stored when the milestone happens
//! (a live reply and resolve) or by the backfill of tickets that were there before (the
//! expectations are worked out by hand in the comments).

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;
use crate::sla::{created, exec};

async fn act(app: &TestApp, id: i64, action: &str) {
    let r = app.call(Method::POST, &format!("/api/v1/tickets/{id}/actions"), Some(&app.token), Some(json!({"action": action})), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
}

/// Gives ticket `id`'s history rows, oldest first, the times `at` (the creation's too).
fn history_at(id: i64, at: &[&str]) -> Vec<String> {
    let mut s = vec![
        format!("UPDATE tickets SET created_at = '{}' WHERE id = {id}", at[0]),
        format!("UPDATE ticket_status_changes SET at = 'pending' WHERE ticket_id = {id}"),
    ];
    for t in at {
        s.push(format!(
            "UPDATE ticket_status_changes SET at = '{t}' WHERE id = (SELECT MIN(id) FROM ticket_status_changes WHERE ticket_id = {id} AND at = 'pending')"
        ));
    }
    s
}

fn hours(report: &Value, measure: &str) -> (Option<i64>, Option<f64>, Option<f64>, Option<String>) {
    let row = report["rows"].as_array().unwrap().iter().find(|r| r["measure"] == measure).unwrap();
    (row["count"].as_i64(), row["median_hours"].as_f64(), row["p90_hours"].as_f64(), row["clock"].as_str().map(String::from))
}

#[tokio::test]
async fn report_times_count_business_hours_without_weekends_holidays_or_waiting() {
    each_backend!(|app| {
        // The default calendar: New York, 09:00–12:00 and 13:00–17:00 on weekdays, Friday
        // 27 November 2026 a holiday. The day team works 08:00–16:00 UTC on weekdays.
        let day = json!(["09:00-12:00", "13:00-17:00"]);
        let week = json!({"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day});
        created(
            &app,
            "/api/v1/service/calendars",
            json!({"name": "NY", "is_default": true, "time_zone": "America/New_York", "week": week, "holidays": ["2026-11-27"]}),
        )
        .await;
        let team = created(&app, "/api/v1/teams", json!({"name": "Day team"})).await;
        let shift = json!(["08:00-16:00"]);
        let week = json!({"monday": shift, "tuesday": shift, "wednesday": shift, "thursday": shift, "friday": shift});
        created(&app, "/api/v1/service/calendars", json!({"name": "Day", "team_id": team["id"], "time_zone": "UTC", "week": week})).await;
        let ann = app.customer(json!({"name": "Ann Lee"})).await;

        // Live: opened Thursday 26 November 15:00 New York (20:00 UTC), started at once, waiting
        // on the customer from Monday 30 November 10:30 (15:30 UTC) until the agent replies and
        // resolves now. Thursday 15:00–17:00 (2 h) + Friday holiday + weekend + Monday
        // 09:00–10:30 (1.5 h) = 3.5 h for both, whenever "now" is: the clock is paused.
        let live = created(&app, "/api/v1/tickets", json!({"subject": "Invoice", "customer_id": ann["id"]})).await["id"].as_i64().unwrap();
        for a in ["assign", "start", "wait_on_customer"] {
            act(&app, live, a).await;
        }
        exec(
            &app,
            &history_at(
                live,
                &[
                    "2026-11-26T20:00:00.000000Z",
                    "2026-11-26T20:00:00.000000Z",
                    "2026-11-26T20:00:00.000000Z",
                    "2026-11-30T15:30:00.000000Z",
                ],
            ),
        )
        .await;
        let r = app.post(&format!("/api/v1/tickets/{live}/messages"), json!({"body": "Here is the corrected invoice"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let t = app.get("/api/v1/reports/service/times?period=2026-11").await.body;
        assert_eq!(hours(&t, "first_response"), (Some(1), Some(3.5), Some(3.5), Some("business".into())));
        assert_eq!(hours(&t, "resolution").0, Some(0));
        act(&app, live, "resolve").await;
        let t = app.get("/api/v1/reports/service/times?period=2026-11").await.body;
        assert_eq!(hours(&t, "resolution"), (Some(1), Some(3.5), Some(3.5), Some("business".into())));

        // Backfilled (written before the times were stored): the day team's ticket opened
        // Friday 20 November 15:00 UTC, answered Monday 23 November 09:00: Friday 15–16 + Monday
        // 08–09 = 2 h. Waiting on the customer Monday 12:00 to Tuesday 09:00, resolved Tuesday
        // 10:00: Friday 1 h + Monday 08–12 4 h + Tuesday 09–10 1 h = 6 h.
        let old =
            created(&app, "/api/v1/tickets", json!({"subject": "Outage", "customer_id": ann["id"], "team_id": team["id"]})).await["id"]
                .as_i64()
                .unwrap();
        for a in ["assign", "start"] {
            act(&app, old, a).await;
        }
        let r = app.post(&format!("/api/v1/tickets/{old}/messages"), json!({"body": "Looking"})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        for a in ["wait_on_customer", "resume", "resolve"] {
            act(&app, old, a).await;
        }
        let mut moves = history_at(
            old,
            &[
                "2026-11-20T15:00:00.000000Z",
                "2026-11-20T15:00:00.000000Z",
                "2026-11-20T15:00:00.000000Z",
                "2026-11-23T12:00:00.000000Z",
                "2026-11-24T09:00:00.000000Z",
                "2026-11-24T10:00:00.000000Z",
            ],
        );
        moves.push(format!("UPDATE ticket_messages SET at = '2026-11-23T09:00:00.000000Z' WHERE ticket_id = {old}"));
        moves.push(format!(
            "UPDATE tickets SET resolved_at = '2026-11-24T10:00:00.000000Z', first_response_secs = NULL, resolution_secs = NULL, times_pending = 1 WHERE id = {old}"
        ));
        exec(&app, &moves).await;
        assert_eq!(app.store.backfill_service_times().await.unwrap(), 1);
        assert_eq!(app.store.backfill_service_times().await.unwrap(), 0, "a backfilled ticket is done");

        // Both: first responses 2 h and 3.5 h (median 2.75, p90 2 + 0.9 × 1.5 = 3.35);
        // resolutions 6 h and 3.5 h (median 4.75, p90 3.5 + 0.9 × 2.5 = 5.75).
        let t = app.get("/api/v1/reports/service/times?period=2026-11").await.body;
        assert_eq!(hours(&t, "first_response"), (Some(2), Some(2.75), Some(3.35), Some("business".into())));
        assert_eq!(hours(&t, "resolution"), (Some(2), Some(4.75), Some(5.75), Some("business".into())));
        let t = app.get(&format!("/api/v1/reports/service/times?period=2026-11&team_id={}", team["id"])).await.body;
        assert_eq!((hours(&t, "first_response").1, hours(&t, "resolution").1), (Some(2.0), Some(6.0)));
    });
}
