//! SLAs (issue 11 §6): calendars and policies kept by admins, the policy chosen by first match
//! in order, and each ticket's standing computed on its team's calendar (else the default),
//! pausing while waiting on the customer; first response is the first public agent reply.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::TestApp;

/// Runs statements on the database directly, as time passing would.
pub async fn exec(app: &TestApp, statements: &[String]) {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    for s in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone())).execute(&mut conn).await.unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

pub async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.post(path, body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{path} {body}: {}", r.body);
    r.body
}

/// Office hours in New York, Monday to Friday in two periods, with Christmas Day off.
pub fn new_york() -> Value {
    let day = json!(["09:00-12:00", "13:00-17:00"]);
    json!({"name": "New York office", "is_default": true, "time_zone": "America/New_York",
        "week": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day}, "holidays": ["2026-12-25"]})
}

/// Moves a ticket's creation (and its first history row) to `at`.
pub fn opened_at(id: i64, at: &str) -> Vec<String> {
    vec![
        format!("UPDATE tickets SET created_at = '{at}' WHERE id = {id}"),
        format!("UPDATE ticket_status_changes SET at = '{at}' WHERE ticket_id = {id} AND from_status IS NULL"),
    ]
}

async fn sla_at(app: &TestApp, id: i64, at: &str) -> Value {
    let r = app.get(&format!("/api/v1/tickets/{id}/sla?at={at}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

fn target<'a>(sla: &'a Value, name: &str) -> &'a Value {
    sla["targets"].as_array().unwrap().iter().find(|t| t["target"] == name).unwrap_or_else(|| panic!("no {name} in {sla}"))
}

#[tokio::test]
async fn only_admins_keep_calendars_and_policies_and_bad_input_names_the_field() {
    each_backend!(|app| {
        let agent = app.user_token("agent@example.com", Role::SupportAgent).await;
        let manager = app.user_token("manager@example.com", Role::Manager).await;
        let cal = created(&app, "/api/v1/service/calendars", new_york()).await;
        assert_eq!((cal["time_zone"].as_str(), cal["is_default"].as_bool()), (Some("America/New_York"), Some(true)));
        let p = created(
            &app,
            "/api/v1/service/sla_policies",
            json!({"name": "Urgent", "priority": "urgent", "first_response_minutes": 30, "resolution_minutes": 480}),
        )
        .await;
        assert_eq!((p["position"].as_i64(), p["near_breach_percent"].as_i64()), (Some(0), Some(80)));
        let second = created(&app, "/api/v1/service/sla_policies", json!({"name": "Default", "resolution_minutes": 2400})).await;
        assert_eq!(second["position"], 1, "after the last");

        for token in [&agent, &manager] {
            let r = app
                .call(
                    Method::POST,
                    "/api/v1/service/sla_policies",
                    Some(token),
                    Some(json!({"name": "Mine", "resolution_minutes": 1})),
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
            let path = format!("/api/v1/service/calendars/{}", cal["id"]);
            let r = app.call(Method::PATCH, &path, Some(token), Some(json!({"name": "Mine"})), &[]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            let r = app.call(Method::DELETE, &format!("/api/v1/service/sla_policies/{}", p["id"]), Some(token), None, &[]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
            // Reading them is for everyone who reads tickets.
            assert_eq!(app.get_as(token, "/api/v1/service/sla_policies").await.body.as_array().unwrap().len(), 2);
            assert_eq!(app.get_as(token, "/api/v1/service/calendars").await.body[0]["name"], "New York office");
        }

        let r = app
            .post(
                "/api/v1/service/sla_policies",
                json!({"name": "Bad", "priority": "asap", "channel": "fax", "first_response_minutes": 0, "near_breach_percent": 100}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["priority", "channel", "first_response_minutes", "near_breach_percent"]);
        let r = app.post("/api/v1/service/sla_policies", json!({"name": "No target"})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["resolution_minutes".to_string()]));
        let r = app.post("/api/v1/service/sla_policies", json!({"name": "Ghost", "company_id": 999_999, "resolution_minutes": 60})).await;
        assert_eq!(r.error_fields(), ["company_id"]);
        let r = app.post("/api/v1/service/sla_policies", json!({"name": "Urgent", "resolution_minutes": 60})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::CONFLICT, vec!["name".to_string()]));
        let r = app
            .post(
                "/api/v1/service/calendars",
                json!({"name": "Bad", "time_zone": "Mars/Olympus", "week": {"monday": ["17:00-09:00"]}, "holidays": ["25/12/2026"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["time_zone", "week.monday[0]", "holidays[0]"]);
        let mut other = new_york();
        other["name"] = json!("Second default");
        let r = app.post("/api/v1/service/calendars", other).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::CONFLICT, vec!["is_default".to_string()]));
        let r = app.post("/api/v1/service/calendars", json!({"name": "Team-less", "time_zone": "UTC", "team_id": 999_999})).await;
        assert_eq!(r.error_fields(), ["team_id"]);

        // Changes keep what they do not name, check the version, and are audited.
        let path = format!("/api/v1/service/sla_policies/{}", p["id"]);
        let r = app.patch(&path, json!({"priority": null, "first_response_minutes": 45}), Some(1)).await;
        assert_eq!((r.status, r.body["priority"].clone(), r.body["resolution_minutes"].as_i64()), (StatusCode::OK, Value::Null, Some(480)));
        let r = app.patch(&path, json!({"name": "Late"}), Some(1)).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
        let audit = app.get("/api/v1/audit_log?limit=20").await;
        let objects: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|e| e["object"].as_str()).collect();
        assert!(objects.contains(&"sla_policy") && objects.contains(&"calendar"), "{objects:?}");
        assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn due_times_skip_the_holiday_and_the_weekend_on_the_teams_calendar() {
    each_backend!(|app| {
        created(&app, "/api/v1/service/calendars", new_york()).await;
        let team = created(&app, "/api/v1/teams", json!({"name": "Night shift"})).await;
        let every_day: serde_json::Map<String, Value> = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
            .iter()
            .map(|d| (d.to_string(), json!(["00:00-24:00"])))
            .collect();
        created(
            &app,
            "/api/v1/service/calendars",
            json!({"name": "Round the clock", "team_id": team["id"], "time_zone": "UTC", "week": every_day}),
        )
        .await;
        created(&app, "/api/v1/service/sla_policies", json!({"name": "Chat", "channel": "chat", "first_response_minutes": 15})).await;
        created(
            &app,
            "/api/v1/service/sla_policies",
            json!({"name": "Standard", "first_response_minutes": 240, "resolution_minutes": 960}),
        )
        .await;
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let office = created(&app, "/api/v1/tickets", json!({"subject": "Invoice", "customer_id": ann["id"]})).await;
        let night = created(&app, "/api/v1/tickets", json!({"subject": "Outage", "customer_id": ann["id"], "team_id": team["id"]})).await;
        let chat = created(&app, "/api/v1/tickets", json!({"subject": "Hi", "customer_id": ann["id"], "channel": "chat"})).await;
        // Opened Thursday 24 December 2026 at 15:00 New York (20:00 UTC).
        let mut moves = vec![];
        for t in [&office, &night, &chat] {
            moves.extend(opened_at(t["id"].as_i64().unwrap(), "2026-12-24T20:00:00.000000Z"));
        }
        exec(&app, &moves).await;

        let sla = sla_at(&app, office["id"].as_i64().unwrap(), "2026-12-24T21:00:00Z").await;
        assert_eq!((sla["policy_name"].as_str(), sla["calendar_name"].as_str()), (Some("Standard"), Some("New York office")));
        // 4 h: 1 h used, 1 h left Thursday, Friday is Christmas, the weekend has no hours, 2 h
        // on Monday 28 December from 09:00 New York: due 11:00 there, 16:00 UTC.
        assert_eq!(target(&sla, "first_response")["standing"], json!({"status": "running", "due": "2026-12-28T16:00:00Z"}));
        // 16 h: 2 Thursday, 7 Monday, 7 Tuesday: Tuesday 17:00 New York, 22:00 UTC.
        assert_eq!(target(&sla, "resolution")["standing"], json!({"status": "running", "due": "2026-12-29T22:00:00Z"}));
        // The night team's calendar runs round the clock: opened 20:00 UTC + 4 h.
        let sla = sla_at(&app, night["id"].as_i64().unwrap(), "2026-12-24T21:00:00Z").await;
        assert_eq!(sla["calendar_name"], "Round the clock");
        assert_eq!(target(&sla, "first_response")["standing"], json!({"status": "running", "due": "2026-12-25T00:00:00Z"}));
        // Chat matches the first policy in order; 15 minutes of the office's Thursday.
        let sla = sla_at(&app, chat["id"].as_i64().unwrap(), "2026-12-24T20:13:00Z").await;
        assert_eq!(sla["policy_name"], "Chat");
        assert_eq!(target(&sla, "first_response")["standing"], json!({"status": "near_breach", "due": "2026-12-24T20:15:00Z"}));
        let sla = sla_at(&app, chat["id"].as_i64().unwrap(), "2026-12-28T14:10:00Z").await;
        // Thursday 15:00–17:00 and Monday 09:00–09:10 New York: 130 minutes used of 15.
        assert_eq!(target(&sla, "first_response")["standing"], json!({"status": "breached", "over_seconds": 115 * 60}));

        // GET shows the standing now, and bad input to `at` names it.
        let r = app.get(&format!("/api/v1/tickets/{}", office["id"])).await;
        assert_eq!((r.body["subject"].as_str(), r.body["sla"]["policy_name"].as_str()), (Some("Invoice"), Some("Standard")));
        let r = app.get(&format!("/api/v1/tickets/{}/sla?at=yesterday", office["id"])).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["at".to_string()]));
    });
}

#[tokio::test]
async fn the_clock_pauses_while_waiting_and_only_public_agent_replies_answer() {
    each_backend!(|app| {
        created(&app, "/api/v1/service/calendars", new_york()).await;
        created(
            &app,
            "/api/v1/service/sla_policies",
            json!({"name": "Standard", "first_response_minutes": 240, "next_response_minutes": 120, "resolution_minutes": 960}),
        )
        .await;
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let t = created(&app, "/api/v1/tickets", json!({"subject": "Invoice", "customer_id": ann["id"]})).await;
        let id = t["id"].as_i64().unwrap();
        let note = app.post(&format!("/api/v1/tickets/{id}/messages"), json!({"body": "checking with billing", "internal": true})).await;
        assert_eq!(note.status, StatusCode::CREATED);
        let mut v = t["version"].as_i64().unwrap();
        for action in ["assign", "start", "wait_on_customer", "resume"] {
            let r = app
                .call(
                    Method::POST,
                    &format!("/api/v1/tickets/{id}/actions"),
                    Some(&app.token),
                    Some(json!({"action": action})),
                    &[("if-match", &v.to_string())],
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
            v = r.body["version"].as_i64().unwrap();
        }
        // Thursday 24 December 15:00 New York opened; the internal note at 15:30 answers
        // nobody; assigned and started Monday 28 at 10:00, waiting on the customer 15:00 (20:00
        // UTC) to Tuesday 09:30 (14:30 UTC).
        let mut moves = opened_at(id, "2026-12-24T20:00:00.000000Z");
        moves.push(format!("UPDATE ticket_messages SET at = '2026-12-24T20:30:00.000000Z' WHERE ticket_id = {id}"));
        // Each action's row, oldest first, gets its time.
        moves.push(format!("UPDATE ticket_status_changes SET at = 'pending' WHERE ticket_id = {id} AND from_status IS NOT NULL"));
        for at in ["2026-12-28T15:00:00", "2026-12-28T15:00:00", "2026-12-28T20:00:00", "2026-12-29T14:30:00"] {
            moves.push(format!("UPDATE ticket_status_changes SET at = '{at}.000000Z' WHERE id = (SELECT MIN(id) FROM ticket_status_changes WHERE ticket_id = {id} AND at = 'pending')"));
        }
        exec(&app, &moves).await;
        let sla = sla_at(&app, id, "2026-12-28T22:00:00Z").await;
        // First response: 2 h Thursday, Monday 09:00–12:00 and 13:00–15:00 until the wait: 7 h
        // used of 4 → breached by 3 h; resolution the same 7 h of 16, paused with 9 h left.
        assert_eq!(target(&sla, "first_response")["standing"], json!({"status": "breached", "over_seconds": 3 * 3600}));
        assert_eq!(target(&sla, "resolution")["standing"], json!({"status": "paused", "left_seconds": 9 * 3600}));
        // Resumed Tuesday 09:30: 9 h left run to Wednesday 11:30 New York (Tuesday's 6.5 h and
        // 2.5 h on Wednesday, with lunch) = 16:30 UTC.
        let sla = sla_at(&app, id, "2026-12-29T15:00:00Z").await;
        assert_eq!(target(&sla, "resolution")["standing"], json!({"status": "running", "due": "2026-12-30T16:30:00Z"}));
        assert!(sla["targets"].as_array().unwrap().iter().all(|t| t["target"] != "next_response"), "not answered yet: {sla}");

        // A public reply answers (Tuesday 10:00 New York); the customer's reply later that day
        // starts the next-response clock.
        let r = app.post(&format!("/api/v1/tickets/{id}/messages"), json!({"body": "Here is the corrected invoice"})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        exec(&app, &[
            format!("UPDATE ticket_messages SET at = '2026-12-29T15:00:00.000000Z' WHERE id = {}", r.body["id"]),
            format!("INSERT INTO ticket_messages (ticket_id, author, author_name, internal, body, at) VALUES ({id}, 'customer', 'Ann Lee', 0, 'Thanks, one more thing', '2026-12-29T20:00:00.000000Z')"),
        ]).await;
        let sla = sla_at(&app, id, "2026-12-29T21:00:00Z").await;
        assert_eq!(target(&sla, "first_response")["standing"]["status"], "missed");
        let next = target(&sla, "next_response");
        // From Tuesday 15:00 New York: 2 h run to 17:00 = 22:00 UTC.
        assert_eq!(
            (next["started_at"].as_str(), next["standing"].clone()),
            (Some("2026-12-29T20:00:00Z"), json!({"status": "running", "due": "2026-12-29T22:00:00Z"}))
        );
    });
}
