//! Issue 11 §5, edge cases: an agent in two teams is held to a team's cap by their open tickets
//! in every team, also when both teams assign at the same moment (the agent's user row is
//! locked, so the second team waits for the first's ticket); and two bulk assignments over the
//! same tickets in opposite orders, at once, both finish (their locks are taken in one order,
//! so PostgreSQL never sees a deadlock).

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::assignment::{agents, open, team};
use crate::each_backend;
use crate::helpers::TestApp;

async fn settings(app: &TestApp, team: i64, body: Value) {
    let r = app.call(Method::PATCH, &format!("/api/v1/teams/{team}/assignment"), Some(&app.token), Some(body.clone()), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.body);
}

fn load_of(view: &Value, agent: i64) -> i64 {
    view["agents"].as_array().unwrap().iter().find(|a| a["user_id"].as_i64() == Some(agent)).unwrap()["open"].as_i64().unwrap()
}

#[tokio::test]
async fn an_agent_in_two_teams_is_capped_by_their_open_tickets_in_both() {
    each_backend!(|app| {
        let ag = agents(&app, "two", 2).await;
        let (both, only) = (ag[0].1, ag[1].1);
        let first = team(&app, "First line", &[both, only]).await;
        let second = team(&app, "Second line", &[both]).await;
        settings(&app, first, json!({"mode": "round_robin", "max_open_per_agent": 2})).await;
        settings(&app, second, json!({"mode": "round_robin"})).await;

        // Two open tickets in the second team's queue make `both` full for the first team.
        let held: Vec<Value> = [open(&app, &app.token, second, "second 1").await, open(&app, &app.token, second, "second 2").await].into();
        assert!(held.iter().all(|t| t["owner_id"].as_i64() == Some(both)), "{held:?}");
        let view = app.get(&format!("/api/v1/teams/{first}/assignment")).await.body;
        assert_eq!(load_of(&view, both), 2, "the first team sees their load in every team: {view}");

        let mut owners = vec![];
        for n in 0..3 {
            owners.push(open(&app, &app.token, first, &format!("first {n}")).await["owner_id"].as_i64());
        }
        assert_eq!(owners, [Some(only), Some(only), None], "at the cap across teams, `both` is skipped; then no one is free");

        // Resolving one of their second-team tickets frees a place in the first team.
        let id = held[0]["id"].as_i64().unwrap();
        for action in ["start", "resolve"] {
            let r = app.post(&format!("/api/v1/tickets/{id}/actions"), json!({"action": action})).await;
            assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
        }
        assert_eq!(open(&app, &app.token, first, "first 3").await["owner_id"].as_i64(), Some(both));
        let r = app.post("/api/v1/tickets/bulk_assign", json!({"ids": [held[1]["id"]], "assignee": "auto"})).await;
        assert_eq!(r.status, StatusCode::OK, "the second team has no cap: {}", r.body);
        assert_eq!(r.body["data"][0]["owner_id"].as_i64(), Some(both));
    });
}

/// `POST /api/v1/tickets/bulk_assign` on its own task (on PostgreSQL, its own connection).
fn bulk(app: &TestApp, ids: Vec<i64>, assignee: Value) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    let (router, token) = (app.router.clone(), app.token.clone());
    tokio::spawn(async move {
        let req = axum::http::Request::post("/api/v1/tickets/bulk_assign")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(json!({"ids": ids, "assignee": assignee}).to_string()))
            .unwrap();
        let res = tower::ServiceExt::oneshot(router, req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    })
}

#[tokio::test]
async fn two_bulk_assignments_in_opposite_orders_at_once_both_finish() {
    each_backend!(|app| {
        let ag = agents(&app, "lock", 3).await;
        let ids: Vec<i64> = ag.iter().map(|a| a.1).collect();
        let red = team(&app, "Red", &ids[..2]).await;
        let blue = team(&app, "Blue", &ids[1..]).await;
        settings(&app, red, json!({"mode": "round_robin"})).await;
        settings(&app, blue, json!({"mode": "least_open"})).await;
        // The tickets alternate between the teams, so every order crosses from one to the other.
        let mut tickets = vec![];
        for n in 0..16 {
            let t = open(&app, &app.token, if n % 2 == 0 { red } else { blue }, &format!("lock {n}")).await;
            tickets.push(t["id"].as_i64().unwrap());
        }
        let mut reversed = tickets.clone();
        reversed.reverse();
        for round in 0..4 {
            // By each team's rule, and to one agent, from both ends at once.
            let calls = [
                bulk(&app, tickets.clone(), json!("auto")),
                bulk(&app, reversed.clone(), json!("auto")),
                bulk(&app, tickets.clone(), json!(ids[1])),
                bulk(&app, reversed.clone(), json!(null)),
            ];
            for (k, c) in calls.into_iter().enumerate() {
                let (status, body) = c.await.unwrap();
                assert_eq!(status, StatusCode::OK, "round {round}, call {k}: {body}");
                assert_eq!(body["data"].as_array().map(Vec::len), Some(16), "{body}");
            }
        }
        // Every answer lists the tickets in the order asked, whatever order they were locked in.
        let (status, body) = bulk(&app, reversed.clone(), json!("auto")).await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        let got: Vec<i64> = body["data"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
        assert_eq!(got, reversed);
        // And the round-robin turns were taken one after another: red's tickets alternate agents.
        let red_owners: Vec<i64> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["team_id"].as_i64() == Some(red))
            .map(|t| t["owner_id"].as_i64().unwrap())
            .collect();
        assert!(red_owners.iter().all(|o| ids[..2].contains(o)), "{red_owners:?}");
        assert_eq!(red_owners.iter().filter(|o| **o == ids[0]).count(), 4, "{red_owners:?}");
    });
}

/// `POST /api/v1/tickets` on its own task (on PostgreSQL, its own pooled connection): the owner.
fn create(app: &TestApp, body: Value) -> tokio::task::JoinHandle<Option<i64>> {
    let (router, token) = (app.router.clone(), app.token.clone());
    tokio::spawn(async move {
        let req = axum::http::Request::post("/api/v1/tickets")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let res = tower::ServiceExt::oneshot(router, req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["owner_id"].as_i64()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_teams_assigning_at_once_never_push_their_shared_agent_over_the_cap() {
    each_backend!(|app| {
        const CAP: usize = 2;
        let person = app.customer(json!({"name": "Asks Twice"})).await;
        for round in 0..4 {
            // One agent, alone in two teams that both cap them at two: of the tickets opened in
            // both queues at once, exactly two reach the agent and the rest wait in the queues.
            let agent = agents(&app, &format!("cap{round}-"), 1).await[0].1;
            let red = team(&app, &format!("Cap red {round}"), &[agent]).await;
            let blue = team(&app, &format!("Cap blue {round}"), &[agent]).await;
            settings(&app, red, json!({"mode": "least_open", "max_open_per_agent": CAP})).await;
            settings(&app, blue, json!({"mode": "round_robin", "max_open_per_agent": CAP})).await;
            let calls: Vec<_> = (0..10)
                .map(|n| {
                    let t = if n % 2 == 0 { red } else { blue };
                    create(&app, json!({"subject": format!("cap {round}.{n}"), "customer_id": person["id"], "team_id": t}))
                })
                .collect();
            let mut owners = vec![];
            for c in calls {
                owners.push(c.await.unwrap());
            }
            let given = owners.iter().filter(|o| **o == Some(agent)).count();
            assert_eq!(given, CAP, "round {round}: the agent got {given} tickets at once, cap {CAP}: {owners:?}");
            let load = load_of(&app.get(&format!("/api/v1/teams/{red}/assignment")).await.body, agent);
            assert_eq!(load, CAP as i64, "round {round}");
        }
    });
}
