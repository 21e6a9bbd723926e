//! Issue 11 quality item 4: record-level permissions on tickets. Support agents see the queues
//! of their teams, the tickets assigned to them and the general inbox (no team, no assignee);
//! managers the same for the teams they lead; admins everything; in lists, counts, search, GET
//! and history alike. The queue lists and counts stay on their indexes.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use rapport_domain::query::ListParams;
use rapport_domain::service::assignment::QueueFilter;
use rapport_domain::service::ticket::SPEC;
use serde_json::{Value, json};

use crate::assignment::{agents, team, user_id};
use crate::each_backend;
use crate::helpers::{Backend, TestApp};

async fn subjects(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let r = app.get_as(token, path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    let mut s: Vec<String> = r.body["data"].as_array().unwrap().iter().map(|t| t["subject"].as_str().unwrap().to_string()).collect();
    s.sort();
    s
}

async fn counts(app: &TestApp, token: &str, query: &str) -> (i64, Value) {
    let r = app.get_as(token, format!("/api/v1/tickets/counts?{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    let by_status: serde_json::Map<String, Value> = r.body["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["count"] != 0)
        .map(|c| (c["status"].as_str().unwrap().to_string(), c["count"].clone()))
        .collect();
    (r.body["total"].as_i64().unwrap(), Value::Object(by_status))
}

#[tokio::test]
async fn agents_and_managers_see_their_teams_tickets_and_admins_all() {
    each_backend!(|app| {
        let ag = agents(&app, "vis", 2).await;
        let (a1, b1) = (&ag[0], &ag[1]);
        let lead = app.user_token("lead@example.com", Role::Manager).await;
        let lead_id = user_id(&app, &lead).await;
        let ta = team(&app, "Team A", &[a1.1, lead_id]).await;
        let tb = team(&app, "Team B", &[b1.1]).await;
        let person = app.customer(json!({"name": "Vera Visible"})).await;
        let mk = |subject: &str, team: Option<i64>, owner: Option<i64>| json!({"subject": subject, "customer_id": person["id"], "team_id": team, "owner_id": owner});
        let mut made = std::collections::HashMap::new();
        for (s, t, o) in [
            ("alpha queue", Some(ta), None),
            ("beta queue", Some(tb), None),
            ("beta for a1", Some(tb), Some(a1.1)),
            ("beta held", Some(tb), Some(b1.1)),
            ("inbox", None, None),
        ] {
            let r = app.post("/api/v1/tickets", mk(s, t, o)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            made.insert(s, r.body);
        }
        let all = ["alpha queue", "beta for a1", "beta held", "beta queue", "inbox"];
        assert_eq!(subjects(&app, &app.token, "/api/v1/tickets").await, all, "admins see everything");
        assert_eq!(counts(&app, &app.token, "").await.0, 5);

        // Agent of A: A's queue, what is assigned to them in B, the inbox; never B's own.
        assert_eq!(subjects(&app, &a1.0, "/api/v1/tickets").await, ["alpha queue", "beta for a1", "inbox"]);
        assert_eq!(counts(&app, &a1.0, "").await, (3, json!({"new": 2, "assigned": 1})));
        assert_eq!(subjects(&app, &a1.0, "/api/v1/tickets?q=beta").await, ["beta for a1"], "search too");
        assert_eq!(counts(&app, &a1.0, "q=beta").await.0, 1);
        for hidden in ["beta queue", "beta held"] {
            let id = &made[hidden]["id"];
            for path in [format!("/api/v1/tickets/{id}"), format!("/api/v1/tickets/{id}/history"), format!("/api/v1/tickets/{id}/messages")]
            {
                assert_eq!(app.get_as(&a1.0, &path).await.status, StatusCode::NOT_FOUND, "{path}");
            }
            let r =
                app.call(Method::POST, &format!("/api/v1/tickets/{id}/actions"), Some(&a1.0), Some(json!({"action": "assign"})), &[]).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "nor changed");
        }
        let r = app
            .call(
                Method::POST,
                "/api/v1/tickets/bulk_assign",
                Some(&a1.0),
                Some(json!({"ids": [made["beta queue"]["id"]], "assignee": a1.1})),
                &[],
            )
            .await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["ids[0]".to_string()]));
        let timeline = app.get_as(&a1.0, format!("/api/v1/customers/{}/timeline", person["id"])).await.body;
        let titles: Vec<&str> = timeline["data"].as_array().unwrap().iter().filter_map(|e| e["title"].as_str()).collect();
        assert!(titles.iter().all(|t| !t.contains("beta queue") && !t.contains("beta held")), "{titles:?}");

        // Queues: their own, their teams', the unassigned.
        assert_eq!(subjects(&app, &a1.0, "/api/v1/tickets?assignee=me").await, ["beta for a1"]);
        assert_eq!(subjects(&app, &a1.0, "/api/v1/tickets?queue=team").await, ["alpha queue"]);
        assert_eq!(subjects(&app, &a1.0, "/api/v1/tickets?assignee=unassigned").await, ["alpha queue", "inbox"]);
        assert_eq!(counts(&app, &a1.0, "assignee=unassigned&status=new").await, (2, json!({"new": 2})));

        // Agent of B sees B's three and the inbox.
        assert_eq!(subjects(&app, &b1.0, "/api/v1/tickets").await, ["beta for a1", "beta held", "beta queue", "inbox"]);
        // The manager of A: A's tickets and the inbox, not B's, even one held by A's agent.
        assert_eq!(subjects(&app, &lead, "/api/v1/tickets").await, ["alpha queue", "inbox"]);
        assert_eq!(counts(&app, &lead, "queue=team").await, (1, json!({"new": 1})));
        assert_eq!(app.get_as(&lead, format!("/api/v1/tickets/{}", made["beta for a1"]["id"])).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get_as(&lead, format!("/api/v1/tickets/{}", made["alpha queue"]["id"])).await.status, StatusCode::OK);

        // Counts add up the reach's branches, which never count one ticket twice: one held by
        // a1 in a1's own team is theirs and their team's.
        let r = app.post("/api/v1/tickets", mk("alpha for a1", Some(ta), Some(a1.1))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(counts(&app, &a1.0, "").await, (4, json!({"new": 2, "assigned": 2})));
        assert_eq!(counts(&app, &a1.0, "status=assigned").await, (2, json!({"assigned": 2})));
        assert_eq!(counts(&app, &a1.0, "q=alpha").await, (2, json!({"new": 1, "assigned": 1})));
        assert_eq!(counts(&app, &lead, "").await, (3, json!({"new": 2, "assigned": 1})), "the lead: team A's and the inbox");
    });
}

async fn plans(app: &TestApp, token: &str, query: &str) -> (String, String) {
    let actor = app.store.authenticate(token).await.unwrap().expect("a session").actor(None);
    let mut pairs: Vec<(String, String)> =
        query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let f = QueueFilter::take(&mut pairs, actor.user_id).unwrap();
    let p = ListParams::parse(&pairs, &SPEC, &[]).unwrap();
    let p = app.store.queue_params(&actor, f, p).await.unwrap();
    app.store.explain_ticket_queue(&actor, &p, true).await.unwrap()
}

/// No step reads the tickets table in full; with `ordered`, the page comes in index order.
fn check(backend: Backend, query: &str, plan: &str, ordered: bool) {
    if std::env::var("SHOW_PLANS").is_ok() {
        eprintln!("=== {query}\n{plan}");
    }
    match backend {
        Backend::Sqlite => {
            for l in plan.lines() {
                let step = l.trim();
                let bare_scan = step == "SCAN r" || step.starts_with("SCAN r ") && !step.contains("USING");
                assert!(!bare_scan, "{query}: a full scan of tickets\n{plan}");
            }
            let sorts_inside = plan.lines().any(|l| l.starts_with("  ") && l.contains("USE TEMP B-TREE FOR ORDER BY"));
            assert!(!(ordered && sorts_inside), "{query}: sorted instead of read in index order\n{plan}");
        }
        Backend::Postgres => {
            assert!(!plan.contains("Seq Scan on tickets"), "{query}: a full scan of tickets\n{plan}");
            assert!(plan.contains("on tickets"), "{query}: no index of tickets\n{plan}");
        }
    }
}

#[tokio::test]
async fn an_agents_queue_lists_and_counts_keep_their_indexes() {
    each_backend!(|app| {
        let ag = agents(&app, "plan", 1).await;
        team(&app, "Planned", &[ag[0].1]).await;
        for query in ["queue=team&status=new", "queue=team", "assignee=me", "assignee=me&status=assigned", "team_id=1&status=new"] {
            let (list, count) = plans(&app, &ag[0].0, query).await;
            check(app.backend, query, &list, false);
            check(app.backend, &format!("counts of {query}"), &count, false);
        }
        // Counts with no filter start from the reachable tickets, through their indexes.
        let (_, count) = plans(&app, &ag[0].0, "").await;
        check(app.backend, "counts of everything reachable", &count, false);
        // A page sorted by a key is read in that key's index order, visibility checked per row.
        // So is a queue's page (an agent's, a team's, the unassigned, one status), by subject
        // or by creation, through an index led by the queue's column: a queue holding a third of
        // the tickets is neither sorted whole nor found by walking past the other queues.
        for query in [
            "sort=-created_at",
            "sort=name",
            "status=new&sort=-created_at",
            "assignee=me",
            "assignee=me&sort=-created_at",
            "assignee=unassigned",
            "team_id=1",
            "team_id=1&sort=created_at",
            "status=new",
        ] {
            let (list, _) = plans(&app, &ag[0].0, query).await;
            check(app.backend, query, &list, true);
        }
    });
}
