//! The SLA breach job (issue 11 §6): near breaches and breaches flagged exactly once, with the
//! assignee and the team's lead notified and the event on the person's timeline; the job's
//! lease keeps a second process out, and two processes racing on one database still flag each
//! breach once.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use rapport_domain::permissions::{Actor, Role};
use rapport_store::{NewUser, Store};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::{Backend, PASSWORD, TestApp};
use crate::sla::{created, exec, opened_at};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn user(app: &TestApp, email: &str, name: &str, role: Role) -> (i64, String) {
    let u = app
        .store
        .create_user(
            &Actor::system(),
            NewUser { email: email.into(), name: name.into(), password: PASSWORD.into(), role: role.as_str().into() },
        )
        .await
        .unwrap();
    (u.id, app.login(email, PASSWORD).await)
}

async fn count(app: &TestApp, query: &str) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let row: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(query.to_string())).fetch_one(&mut conn).await.unwrap();
    row.0
}

async fn texts(app: &TestApp, token: &str) -> Vec<String> {
    let r = app.get_as(token, "/api/v1/notifications").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap().to_string()).collect()
}

/// An hour's first-response target round the clock, and a ticket of `team` assigned to
/// `owner`, opened at 10:00 on 1 December 2026.
async fn setup(app: &TestApp, team: &Value, owner: i64) -> (Value, Value) {
    created(app, "/api/v1/service/sla_policies", json!({"name": "Hour", "first_response_minutes": 60})).await;
    let ann = app.customer(json!({"name": "Ann Lee"})).await;
    let t = created(
        app,
        "/api/v1/tickets",
        json!({"subject": "Printer on fire", "customer_id": ann["id"], "team_id": team["id"], "owner_id": owner}),
    )
    .await;
    exec(app, &opened_at(t["id"].as_i64().unwrap(), "2026-12-01T10:00:00.000000Z")).await;
    (ann, t)
}

#[tokio::test]
async fn each_near_breach_and_breach_is_flagged_once_and_told_to_the_assignee_and_the_team_lead() {
    each_backend!(|app| {
        let (agent, agent_token) = user(&app, "agent@example.com", "Alex Agent", Role::SupportAgent).await;
        let (lead, lead_token) = user(&app, "lead@example.com", "Lee Lead", Role::Manager).await;
        let (_, other_token) = user(&app, "other@example.com", "Otto Other", Role::Manager).await;
        let team = created(&app, "/api/v1/teams", json!({"name": "Support", "member_ids": [agent, lead]})).await;
        let (ann, t) = setup(&app, &team, agent).await;

        // 10:40: 40 of 60 minutes used, not yet at 80%.
        assert_eq!(app.store.flag_sla(at("2026-12-01T10:40:00Z")).await.unwrap().near_breaches, 0);
        // 10:50: near breach, flagged once however often the job runs.
        let run = app.store.flag_sla(at("2026-12-01T10:50:00Z")).await.unwrap();
        assert_eq!((run.tickets, run.with_policy, run.near_breaches, run.breaches, run.notifications), (1, 1, 1, 0, 2));
        let again = app.store.flag_sla(at("2026-12-01T10:55:00Z")).await.unwrap();
        assert_eq!((again.near_breaches, again.notifications), (0, 0));
        // 11:30: breached, once.
        assert_eq!(app.store.flag_sla(at("2026-12-01T11:30:00Z")).await.unwrap().breaches, 1);
        assert_eq!(app.store.flag_sla(at("2026-12-01T12:30:00Z")).await.unwrap().breaches, 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM sla_events").await, 2);

        let id = t["id"].as_i64().unwrap();
        let told = texts(&app, &agent_token).await;
        assert_eq!(
            told,
            [
                format!("#{id} Printer on fire: first response breached (Hour)"),
                format!("#{id} Printer on fire: first response due 2026-12-01 11:00 UTC (Hour)")
            ]
        );
        assert_eq!(texts(&app, &lead_token).await, told, "the team's manager is its lead");
        assert!(texts(&app, &other_token).await.is_empty(), "a manager outside the team is not told");

        // On Ann's timeline, newest first.
        let r = app.get(&format!("/api/v1/customers/{}/timeline", ann["id"])).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let kinds: Vec<&str> = r.body["data"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(&kinds[..2], ["sla_breached", "sla_near_breach"], "{}", r.body);
        // The job's writes are audited.
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'sla_flag'").await, 2);

        // Answered publicly, the ticket's first response is met late: nothing new to flag.
        let r = app.post(&format!("/api/v1/tickets/{id}/messages"), json!({"body": "On it"})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(app.store.flag_sla(Utc::now()).await.unwrap().breaches, 0);
    });
}

#[tokio::test]
async fn the_lease_keeps_a_second_process_out_until_it_runs_out() {
    each_backend!(|app| {
        let other = Store::connect(&app.url).await.unwrap();
        let now = Utc::now();
        let minute = Duration::minutes(1);
        assert!(app.store.acquire_lease("demo_job", "one", minute, now).await.unwrap());
        assert!(!other.acquire_lease("demo_job", "two", minute, now).await.unwrap(), "held by one");
        assert!(app.store.acquire_lease("demo_job", "one", minute, now + Duration::seconds(30)).await.unwrap(), "renewed");
        assert!(!other.acquire_lease("demo_job", "two", minute, now + Duration::seconds(70)).await.unwrap(), "renewed until 1:30");
        assert!(other.acquire_lease("demo_job", "two", minute, now + Duration::seconds(91)).await.unwrap(), "ran out");
        assert_eq!(app.store.lease("demo_job").await.unwrap().unwrap().holder, "two");
        other.release_lease("demo_job", "two").await.unwrap();
        assert!(app.store.acquire_lease("demo_job", "one", minute, now + Duration::seconds(92)).await.unwrap(), "released");
        other.close().await;
    });
}

#[tokio::test]
async fn two_processes_racing_flag_each_breach_once() {
    each_backend!(|app| {
        let (agent, agent_token) = user(&app, "agent@example.com", "Alex Agent", Role::SupportAgent).await;
        let team = created(&app, "/api/v1/teams", json!({"name": "Support", "member_ids": [agent]})).await;
        let (ann, _) = setup(&app, &team, agent).await;
        let mut moves = vec![];
        for n in 0..24 {
            let t =
                created(&app, "/api/v1/tickets", json!({"subject": format!("Ticket {n}"), "customer_id": ann["id"], "owner_id": agent}))
                    .await;
            moves.extend(opened_at(t["id"].as_i64().unwrap(), "2026-12-01T10:00:00.000000Z"));
        }
        exec(&app, &moves).await;
        // Two servers' stores on one PostgreSQL database (several servers share PostgreSQL, not
        // a SQLite file, whose one process's writer the two runs share instead).
        let a = app.store.clone();
        let b = match app.backend {
            Backend::Postgres => Store::connect(&app.url).await.unwrap(),
            Backend::Sqlite => app.store.clone(),
        };
        let when = at("2026-12-01T12:00:00Z");
        let ttl = Duration::minutes(3);
        // Through the lease: one of them runs the job.
        let (ra, rb) = tokio::join!(a.run_sla_job("server-a", ttl, when), b.run_sla_job("server-b", ttl, when));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(ra.is_some() as u8 + rb.is_some() as u8, 1, "exactly one holds the lease: {ra:?} {rb:?}");
        assert_eq!(ra.or(rb).unwrap().breaches, 25);
        // Without it (a stalled holder whose lease ran out, `rapport sla run`), racing
        // evaluations still flag each later breach once: reopen every clock and race again.
        exec(&app, &["DELETE FROM sla_events".to_string(), "DELETE FROM notifications".to_string()]).await;
        let runs: Vec<_> = futures_join(&a, &b, when).await;
        assert_eq!(runs.iter().map(|r| r.breaches).sum::<usize>(), 25, "{runs:?}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM sla_events").await, 25);
        let r = app.get_as(&agent_token, "/api/v1/notifications?limit=200").await;
        assert_eq!(r.body["data"].as_array().unwrap().len(), 25, "one notification per breach");
        if app.backend == Backend::Postgres {
            b.close().await;
        }
    });
}

/// Four evaluations at once, two from each store.
async fn futures_join(a: &Store, b: &Store, when: DateTime<Utc>) -> Vec<rapport_store::SlaRun> {
    let (r1, r2, r3, r4) = tokio::join!(a.flag_sla(when), b.flag_sla(when), a.flag_sla(when), b.flag_sla(when));
    vec![r1.unwrap(), r2.unwrap(), r3.unwrap(), r4.unwrap()]
}
