//! Issue 11 §5: tickets handed out by each team's rule (round-robin in turn, least-open to the
//! lightest), skipping agents who are away, inactive or at the team's cap; tickets back in the
//! team queue when their agent leaves the team or is deactivated; bulk assignment, all or
//! nothing, naming each refused ticket.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;

pub(crate) async fn user_id(app: &TestApp, token: &str) -> i64 {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["id"].as_i64().unwrap()
}

/// `n` support agents: (token, id) each.
pub(crate) async fn agents(app: &TestApp, prefix: &str, n: usize) -> Vec<(String, i64)> {
    let mut out = vec![];
    for i in 0..n {
        let token = app.user_token(&format!("{prefix}{i}@example.com"), Role::SupportAgent).await;
        let id = user_id(app, &token).await;
        out.push((token, id));
    }
    out
}

pub(crate) async fn team(app: &TestApp, name: &str, members: &[i64]) -> i64 {
    let r = app.post("/api/v1/teams", json!({"name": name, "member_ids": members})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn settings(app: &TestApp, team: i64, body: Value) -> Value {
    let r = app.call(Method::PATCH, &format!("/api/v1/teams/{team}/assignment"), Some(&app.token), Some(body.clone()), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.body);
    r.body
}

/// Opens a ticket in `team`'s queue (no assignee named) and returns it.
pub(crate) async fn open(app: &TestApp, token: &str, team: i64, subject: &str) -> Value {
    let person = app.customer(json!({"name": format!("Asker of {subject}")})).await;
    let body = json!({"subject": subject, "customer_id": person["id"], "team_id": team});
    let r = app.call(Method::POST, "/api/v1/tickets", Some(token), Some(body), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn away(app: &TestApp, token: &str, user: i64, away: bool) -> crate::helpers::Res {
    app.call(Method::PUT, &format!("/api/v1/users/{user}/away"), Some(token), Some(json!({"away": away})), &[]).await
}

#[tokio::test]
async fn round_robin_takes_turns_skipping_away_agents_and_full_ones() {
    each_backend!(|app| {
        let ag = agents(&app, "rr", 3).await;
        let ids: Vec<i64> = ag.iter().map(|a| a.1).collect();
        let t = team(&app, "Support", &ids).await;
        // By hand (the default): a new ticket waits in the queue.
        let waiting = open(&app, &app.token, t, "manual").await;
        assert_eq!((waiting["owner_id"].as_i64(), waiting["status"].as_str()), (None, Some("new")));

        settings(&app, t, json!({"mode": "round_robin"})).await;
        let mut owners = vec![];
        for n in 0..4 {
            let tk = open(&app, &app.token, t, &format!("rr {n}")).await;
            assert_eq!(tk["status"], "assigned");
            owners.push(tk["owner_id"].as_i64().unwrap());
        }
        assert_eq!(owners, [ids[0], ids[1], ids[2], ids[0]], "in turn by id, wrapping");

        // The second agent marks themselves away: skipped until back.
        assert_eq!(away(&app, &ag[1].0, ids[1], true).await.status, StatusCode::OK);
        let r = away(&app, &ag[0].0, ids[1], false).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::FORBIDDEN, vec!["away".to_string()]), "not someone else");
        let next = open(&app, &app.token, t, "rr away").await;
        assert_eq!(next["owner_id"].as_i64(), Some(ids[2]), "after {} comes {} (away) then {}", ids[0], ids[1], ids[2]);
        let view = app.get(&format!("/api/v1/teams/{t}/assignment")).await.body;
        assert_eq!(view["agents"][1]["away"], true);
        assert_eq!(view["last_assigned_id"].as_i64(), Some(ids[2]));

        // A cap of 2: agent 0 holds 2, agent 2 holds 2, agent 1 (back) holds 1, so only 1 gets more.
        assert_eq!(away(&app, &app.token, ids[1], false).await.status, StatusCode::OK, "an admin may set it");
        settings(&app, t, json!({"max_open_per_agent": 2})).await;
        let capped = open(&app, &app.token, t, "rr capped").await;
        assert_eq!(capped["owner_id"].as_i64(), Some(ids[1]));
        let full = open(&app, &app.token, t, "rr full").await;
        assert_eq!((full["owner_id"].as_i64(), full["status"].as_str()), (None, Some("new")), "everyone at the cap: it waits");

        // On request: the full queue refuses, naming why; a cap raised lets it through.
        let path = format!("/api/v1/tickets/{}/auto_assign", full["id"]);
        let r = app.call(Method::POST, &path, Some(&app.token), None, &[]).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["assignee".to_string()]));
        assert!(r.body["detail"].as_str().unwrap().contains("no agent"), "{}", r.body);
        settings(&app, t, json!({"max_open_per_agent": null})).await;
        let r = app.call(Method::POST, &path, Some(&app.token), None, &[]).await;
        assert_eq!((r.status, r.body["owner_id"].as_i64()), (StatusCode::OK, Some(ids[2])), "{}", r.body);
        let r = app
            .call(Method::PATCH, &format!("/api/v1/teams/{t}/assignment"), Some(&app.token), Some(json!({"max_open_per_agent": 0})), &[])
            .await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["max_open_per_agent".to_string()]));
        let r =
            app.call(Method::PATCH, &format!("/api/v1/teams/{t}/assignment"), Some(&ag[0].0), Some(json!({"mode": "manual"})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "agents do not change the rule");
    });
}

#[tokio::test]
async fn least_open_gives_the_ticket_to_the_lightest_agent() {
    each_backend!(|app| {
        let ag = agents(&app, "lo", 3).await;
        let ids: Vec<i64> = ag.iter().map(|a| a.1).collect();
        let t = team(&app, "Billing", &ids).await;
        // Agent 0 holds two open tickets, agent 1 one, agent 2 one resolved (not open).
        let person = app.customer(json!({"name": "Load"})).await;
        for (owner, n) in [(ids[0], 2), (ids[1], 1), (ids[2], 1)] {
            for _ in 0..n {
                let body = json!({"subject": "held", "customer_id": person["id"], "owner_id": owner});
                app.post("/api/v1/tickets", body).await;
            }
        }
        let held = app.get(&format!("/api/v1/tickets?owner_id={}", ids[2])).await.body["data"][0].clone();
        let path = format!("/api/v1/tickets/{}/actions", held["id"]);
        for action in ["start", "resolve"] {
            let r = app.call(Method::POST, &path, Some(&ag[2].0), Some(json!({"action": action})), &[]).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        settings(&app, t, json!({"mode": "least_open"})).await;
        let first = open(&app, &app.token, t, "lo 1").await;
        assert_eq!(first["owner_id"].as_i64(), Some(ids[2]), "resolved tickets do not count");
        // Now 2 / 1 / 1: a tie between agents 1 and 2 goes in turn after the last one served (2).
        let second = open(&app, &app.token, t, "lo 2").await;
        assert_eq!(second["owner_id"].as_i64(), Some(ids[1]));
        let third = open(&app, &app.token, t, "lo 3").await;
        assert_eq!(third["owner_id"].as_i64(), Some(ids[2]));
        let view = app.get(&format!("/api/v1/teams/{t}/assignment")).await.body;
        let loads: Vec<i64> = view["agents"].as_array().unwrap().iter().map(|a| a["open"].as_i64().unwrap()).collect();
        assert_eq!(loads, [2, 2, 2]);
    });
}

#[tokio::test]
async fn leaving_the_team_or_being_deactivated_returns_open_tickets_to_the_queue() {
    each_backend!(|app| {
        let ag = agents(&app, "gone", 2).await;
        let ids: Vec<i64> = ag.iter().map(|a| a.1).collect();
        let north = team(&app, "North", &ids).await;
        let south = team(&app, "South", &[ids[0]]).await;
        let person = app.customer(json!({"name": "Left"})).await;
        let mk =
            |team: i64, owner: i64| json!({"subject": format!("t{team}"), "customer_id": person["id"], "team_id": team, "owner_id": owner});
        let in_north = app.post("/api/v1/tickets", mk(north, ids[0])).await.body;
        let in_south = app.post("/api/v1/tickets", mk(south, ids[0])).await.body;
        let started = app
            .call(
                Method::POST,
                &format!("/api/v1/tickets/{}/actions", in_north["id"]),
                Some(&ag[0].0),
                Some(json!({"action": "start"})),
                &[],
            )
            .await;
        assert_eq!(started.body["status"], "in_progress");

        // Agent 0 leaves North: the North ticket goes back to its queue, the South one stays.
        let r = app.patch(&format!("/api/v1/teams/{north}"), json!({"member_ids": [ids[1]]}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let back = app.get(&format!("/api/v1/tickets/{}", in_north["id"])).await.body;
        assert_eq!((back["owner_id"].as_i64(), back["status"].as_str(), back["team_id"].as_i64()), (None, Some("new"), Some(north)));
        assert_eq!(app.get(&format!("/api/v1/tickets/{}", in_south["id"])).await.body["owner_id"].as_i64(), Some(ids[0]));
        let audit = app.get(&format!("/api/v1/audit_log?object=ticket&record_id={}", in_north["id"])).await.body;
        assert_eq!(audit[0]["action"], "update", "{audit}");
        assert_eq!(audit[0]["diff"]["owner_id"], json!([ids[0], null]), "{audit}");

        // Deactivated: the South ticket returns too.
        let r = app.patch(&format!("/api/v1/users/{}", ids[0]), json!({"is_active": false}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let back = app.get(&format!("/api/v1/tickets/{}", in_south["id"])).await.body;
        assert_eq!((back["owner_id"].as_i64(), back["status"].as_str()), (None, Some("new")));
        let history = app.get(&format!("/api/v1/tickets/{}/history", in_south["id"])).await.body;
        assert_eq!(history.as_array().unwrap().last().unwrap()["to_status"], "new");

        // A deleted team's tickets move to the general inbox, where its agents still see them.
        assert_eq!(app.delete(&format!("/api/v1/teams/{north}")).await.status, StatusCode::NO_CONTENT);
        let moved = app.get(&format!("/api/v1/tickets/{}", in_north["id"])).await.body;
        assert_eq!((moved["team_id"].as_i64(), moved["owner_id"].as_i64()), (None, None));
        assert_eq!(app.get_as(&ag[1].0, format!("/api/v1/tickets/{}", in_north["id"])).await.status, StatusCode::OK);
    });
}

#[tokio::test]
async fn bulk_assignment_is_all_or_nothing_and_names_each_refused_ticket() {
    each_backend!(|app| {
        let ag = agents(&app, "bulk", 2).await;
        let ids: Vec<i64> = ag.iter().map(|a| a.1).collect();
        let t = team(&app, "Bulk", &ids).await;
        let a = open(&app, &app.token, t, "b1").await;
        let b = open(&app, &app.token, t, "b2").await;
        let bulk = |body: Value| app.call(Method::POST, "/api/v1/tickets/bulk_assign", Some(&app.token), Some(body), &[]);

        let r = bulk(json!({"ids": [a["id"], b["id"]], "assignee": ids[1]})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let owners: Vec<Option<i64>> = r.body["data"].as_array().unwrap().iter().map(|t| t["owner_id"].as_i64()).collect();
        assert_eq!(owners, [Some(ids[1]), Some(ids[1])]);

        // A missing ticket and a manual team's "auto": nothing changes, both are named.
        let r = bulk(json!({"ids": [a["id"], 999999], "assignee": ids[0]})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["ids[1]".to_string()]), "{}", r.body);
        assert_eq!(app.get(&format!("/api/v1/tickets/{}", a["id"])).await.body["owner_id"].as_i64(), Some(ids[1]), "all or nothing");
        let r = bulk(json!({"ids": [a["id"], b["id"]], "assignee": "auto"})).await;
        assert_eq!(r.error_fields(), ["ids[0]", "ids[1]"], "{}", r.body);
        assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("assigns by hand"), "{}", r.body);

        settings(&app, t, json!({"mode": "round_robin"})).await;
        let r = bulk(json!({"ids": [a["id"], b["id"]], "assignee": "auto"})).await;
        let owners: Vec<Option<i64>> = r.body["data"].as_array().unwrap().iter().map(|t| t["owner_id"].as_i64()).collect();
        assert_eq!(owners, [Some(ids[0]), Some(ids[1])], "{}", r.body);
        let r = bulk(json!({"ids": [a["id"]], "assignee": null})).await;
        assert_eq!((r.body["data"][0]["owner_id"].as_i64(), r.body["data"][0]["status"].as_str()), (None, Some("new")));

        // Bad input: 422 naming the field.
        for (body, field) in [
            (json!({"ids": [], "assignee": "auto"}), "ids"),
            (json!({"ids": ["x"], "assignee": "auto"}), "ids[0]"),
            (json!({"ids": [1], "assignee": "someone"}), "assignee"),
            (json!({"ids": [1]}), "assignee"),
        ] {
            let r = bulk(body.clone()).await;
            assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_string()]), "{body}");
        }
        let r = app.get("/api/v1/tickets?assignee=nobody").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["assignee".to_string()]));
    });
}

#[tokio::test]
async fn concurrent_tickets_take_turns_once_each() {
    each_backend!(|app| {
        let ag = agents(&app, "race", 3).await;
        let ids: Vec<i64> = ag.iter().map(|a| a.1).collect();
        let t = team(&app, "Race", &ids).await;
        settings(&app, t, json!({"mode": "round_robin"})).await;
        let person = app.customer(json!({"name": "Many Asks"})).await;
        // Twelve tickets opened at once (on PostgreSQL each on its own pooled connection, as
        // several servers would): every turn is taken once, so each agent gets four.
        let mut handles = vec![];
        for n in 0..12 {
            let router = app.router.clone();
            let token = app.token.clone();
            let body = json!({"subject": format!("race {n}"), "customer_id": person["id"], "team_id": t});
            handles.push(tokio::spawn(async move {
                let req = axum::http::Request::post("/api/v1/tickets")
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap();
                let res = tower::ServiceExt::oneshot(router, req).await.unwrap();
                assert_eq!(res.status(), StatusCode::CREATED);
                let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
                serde_json::from_slice::<Value>(&bytes).unwrap()["owner_id"].as_i64().unwrap()
            }));
        }
        let mut owners = vec![];
        for h in handles {
            owners.push(h.await.unwrap());
        }
        for id in &ids {
            assert_eq!(owners.iter().filter(|o| *o == id).count(), 4, "{owners:?}");
        }
    });
}
