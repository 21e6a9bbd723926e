//! Tickets (issue 11 items 1 and 3): a record type like any other (fields, filters, search,
//! record-level visibility, audit), moved through the workflow by actions that answer 409 with
//! the actions allowed now, with every status change in the ticket's history and on the
//! person's timeline.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;

async fn me(app: &TestApp, token: &str) -> i64 {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["id"].as_i64().unwrap()
}

async fn ticket(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.call(Method::POST, "/api/v1/tickets", Some(token), Some(body.clone()), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.body);
    r.body
}

/// Takes an action with the ticket's current version.
async fn act(app: &TestApp, token: &str, t: &Value, body: Value) -> crate::helpers::Res {
    let version = t["version"].to_string();
    let path = format!("/api/v1/tickets/{}/actions", t["id"]);
    app.call(Method::POST, &path, Some(token), Some(body), &[("if-match", &version)]).await
}

async fn step(app: &TestApp, token: &str, t: &Value, body: Value) -> Value {
    let r = act(app, token, t, body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.body);
    r.body
}

async fn subjects(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let r = app.get_as(token, path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body["data"].as_array().unwrap().iter().map(|t| t["subject"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_ticket_goes_through_the_workflow_and_refuses_what_its_status_does_not_allow() {
    each_backend!(|app| {
        let t = app.token.clone();
        let admin = me(&app, &t).await;
        let acme = app.company(json!({"name": "Acme"})).await;
        let ann = app.customer(json!({"name": "Ann Lee", "company_id": acme["id"]})).await;
        let new = ticket(&app, &t, json!({"subject": "Printer on fire", "description": "Smoke from tray 2", "customer_id": ann["id"], "company_id": acme["id"], "priority": "urgent", "channel": "phone", "tags": ["hw"]})).await;
        assert_eq!((new["status"].as_str(), new["owner_id"].as_i64(), new["customer_name"].as_str()), (Some("new"), None, Some("Ann Lee")));
        assert_eq!(
            (new["priority"].as_str(), new["channel"].as_str(), new["company_name"].as_str()),
            (Some("urgent"), Some("phone"), Some("Acme"))
        );

        // Not assigned yet: it cannot be started or resolved, and says what is allowed.
        let r = act(&app, &t, &new, json!({"action": "start"})).await;
        assert_eq!((r.status, r.body["allowed_actions"].clone()), (StatusCode::CONFLICT, json!(["assign"])));
        assert!(r.body["detail"].as_str().unwrap().contains("must be assigned first"), "{}", r.body);
        let r = act(&app, &t, &new, json!({"action": "resolve"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT);

        let assigned = step(&app, &t, &new, json!({"action": "assign"})).await;
        assert_eq!((assigned["status"].as_str(), assigned["owner_id"].as_i64()), (Some("assigned"), Some(admin)), "assigned to the caller");
        // A stale version is refused.
        let r = act(&app, &t, &new, json!({"action": "start"})).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
        let working = step(&app, &t, &assigned, json!({"action": "start"})).await;
        let waiting = step(&app, &t, &working, json!({"action": "wait_on_customer"})).await;
        assert_eq!(waiting["status"], "waiting_on_customer");
        let r = act(&app, &t, &waiting, json!({"action": "snooze"})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["until".to_string()]));
        let r = act(&app, &t, &waiting, json!({"action": "snooze", "until": "2001-01-01"})).await;
        assert_eq!(r.error_fields(), ["until"], "not in the past");
        let snoozed = step(&app, &t, &waiting, json!({"action": "snooze", "until": "2099-01-01"})).await;
        assert_eq!((snoozed["status"].as_str(), snoozed["snoozed_until"].as_str()), (Some("snoozed"), Some("2099-01-01T00:00:00.000000Z")));
        let woken = step(&app, &t, &snoozed, json!({"action": "wake"})).await;
        assert_eq!((woken["status"].as_str(), woken["snoozed_until"].as_str()), (Some("in_progress"), None));
        let resolved = step(&app, &t, &woken, json!({"action": "resolve"})).await;
        assert!(resolved["resolved_at"].is_string());
        // Confirming is the customer's, closing automatically the system's.
        let r = act(&app, &t, &resolved, json!({"action": "confirm"})).await;
        assert_eq!((r.status, r.body["allowed_actions"].clone()), (StatusCode::CONFLICT, json!(["reopen"])));
        let r = act(&app, &t, &resolved, json!({"action": "auto_close"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        // A resolved ticket keeps its assignee.
        let r = app.patch(&format!("/api/v1/tickets/{}", resolved["id"]), json!({"owner_id": null}), resolved["version"].as_i64()).await;
        assert_eq!((r.status, r.body["allowed_actions"].clone()), (StatusCode::CONFLICT, json!(["reopen"])));
        let reopened = step(&app, &t, &resolved, json!({"action": "reopen"})).await;
        assert_eq!(reopened["status"], "reopened");
        let r = act(&app, &t, &reopened, json!({"action": "fly"})).await;
        assert!(r.status.is_client_error() && r.status != StatusCode::NOT_FOUND, "{}", r.status);

        // The history has every state entered, in order, with the actor.
        let h = app.get(&format!("/api/v1/tickets/{}/history", new["id"])).await;
        assert_eq!(h.status, StatusCode::OK);
        let states: Vec<&str> = h.body.as_array().unwrap().iter().map(|c| c["to_status"].as_str().unwrap()).collect();
        assert_eq!(states, ["new", "assigned", "in_progress", "waiting_on_customer", "snoozed", "in_progress", "resolved", "reopened"]);
        assert_eq!(h.body[0]["from_status"], Value::Null);
        assert_eq!((h.body[1]["from_status"].as_str(), h.body[1]["actor_id"].as_i64()), (Some("new"), Some(admin)));

        // …and so does the person's timeline, newest first.
        let tl = app.get(&format!("/api/v1/customers/{}/timeline?limit=50", ann["id"])).await;
        let kinds: Vec<(&str, &str)> = tl.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["record_type"] == "ticket")
            .map(|e| (e["kind"].as_str().unwrap(), e["summary"].as_str().unwrap()))
            .collect();
        assert_eq!(kinds.len(), 8, "{kinds:?}");
        assert_eq!(kinds[0], ("ticket_status_changed", "resolved → reopened"));
        assert_eq!(kinds[7], ("ticket_opened", "Opened (new)"));
        let company_tl = app.get(&format!("/api/v1/companies/{}/timeline?limit=50", acme["id"])).await;
        assert!(company_tl.body["data"].as_array().unwrap().iter().any(|e| e["kind"] == "ticket_opened"));
    });
}

#[tokio::test]
async fn wrong_input_names_the_field_and_leaves_nothing_behind() {
    each_backend!(|app| {
        let t = app.token.clone();
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let r = app.post("/api/v1/tickets", json!({"subject": " "})).await;
        assert_eq!(
            (r.status, r.error_fields()),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["subject".to_string(), "customer_id".to_string()])
        );
        let r = app.post("/api/v1/tickets", json!({"subject": "x", "customer_id": 999_999})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["customer_id".to_string()]));
        let r = app.post("/api/v1/tickets", json!({"subject": "x", "customer_id": ann["id"], "team_id": 999_999})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["team_id".to_string()]));
        let r = app.post("/api/v1/tickets", json!({"subject": "x", "customer_id": ann["id"], "status": "closed"})).await;
        assert!(r.status.is_client_error(), "the status is not an input field: {}", r.status);
        let r = app.post("/api/v1/tickets", json!({"subject": "x", "customer_id": ann["id"], "priority": "whenever"})).await;
        assert!(r.status.is_client_error());
        assert_eq!(subjects(&app, &t, "/api/v1/tickets").await, Vec::<String>::new(), "nothing half-written");
        let h = ticket(&app, &t, json!({"subject": "x", "customer_id": ann["id"], "channel": "email"})).await;
        let r = app.patch(&format!("/api/v1/tickets/{}", h["id"]), json!({"channel": "chat"}), h["version"].as_i64()).await;
        assert_eq!(r.error_fields(), ["channel"]);
    });
}

#[tokio::test]
async fn queues_filter_and_search_and_record_visibility_reaches_tickets_as_it_reaches_people() {
    each_backend!(|app| {
        let t = app.token.clone();
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let agent = app.user_token("agent@example.com", Role::SupportAgent).await;
        let agent_id = me(&app, &agent).await;
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let rep_id = me(&app, &rep).await;
        let marketer = app.user_token("mk@example.com", Role::Marketer).await;

        // Agents open tickets and assign them to themselves.
        let mine = ticket(
            &app,
            &agent,
            json!({"subject": "Refund for order 12", "customer_id": ann["id"], "owner_id": agent_id, "priority": "high"}),
        )
        .await;
        assert_eq!(mine["status"], "assigned", "named at creation, assigned at once");
        let queue = ticket(&app, &agent, json!({"subject": "Login broken", "customer_id": ann["id"], "category": "access"})).await;
        let reps = ticket(&app, &t, json!({"subject": "Invoice question", "customer_id": ann["id"], "owner_id": rep_id})).await;
        assert_eq!(reps["owner_id"].as_i64(), Some(rep_id));

        assert_eq!(subjects(&app, &t, "/api/v1/tickets?status=new").await, ["Login broken"]);
        assert_eq!(subjects(&app, &t, &format!("/api/v1/tickets?owner_id={agent_id}")).await, ["Refund for order 12"]);
        assert_eq!(subjects(&app, &t, "/api/v1/tickets?priority=high").await, ["Refund for order 12"]);
        assert_eq!(subjects(&app, &t, "/api/v1/tickets?category=access").await, ["Login broken"]);
        assert_eq!(subjects(&app, &t, "/api/v1/tickets?q=refund").await, ["Refund for order 12"]);
        assert_eq!(subjects(&app, &t, "/api/v1/tickets?sort=name").await, ["Invoice question", "Login broken", "Refund for order 12"]);
        let r = app.get("/api/v1/tickets?status=open").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["status".to_string()]));

        // A rep (own visibility) reads their own and the unassigned queue, and changes none.
        assert_eq!(subjects(&app, &rep, "/api/v1/tickets?sort=name").await, ["Invoice question", "Login broken"]);
        let r = app.get_as(&rep, format!("/api/v1/tickets/{}", mine["id"])).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app.call(Method::POST, "/api/v1/tickets", Some(&rep), Some(json!({"subject": "x", "customer_id": ann["id"]})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = act(&app, &rep, &queue, json!({"action": "assign"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Marketers do not see tickets at all.
        assert_eq!(app.get_as(&marketer, "/api/v1/tickets").await.status, StatusCode::FORBIDDEN);

        // Taking the assignee away through an edit returns the ticket to the queue.
        let back = app.patch(&format!("/api/v1/tickets/{}", mine["id"]), json!({"owner_id": null}), mine["version"].as_i64()).await;
        assert_eq!((back.status, back.body["status"].as_str()), (StatusCode::OK, Some("new")));
        // Every change is audited.
        let audit = app.get(&format!("/api/v1/audit_log?object=ticket&record_id={}", mine["id"])).await;
        let actions: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions, ["update", "create"]);
    });
}

#[tokio::test]
async fn agents_reply_and_add_internal_notes_to_the_conversation() {
    each_backend!(|app| {
        let t = app.token.clone();
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let h = ticket(&app, &t, json!({"subject": "Where is my order?", "customer_id": ann["id"]})).await;
        let path = format!("/api/v1/tickets/{}/messages", h["id"]);
        let r = app.post(&path, json!({"body": "  It ships tomorrow. "})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(
            (r.body["author"].as_str(), r.body["internal"].as_bool(), r.body["body"].as_str()),
            (Some("agent"), Some(false), Some("It ships tomorrow."))
        );
        assert_eq!(r.body["author_id"].as_i64(), Some(me(&app, &t).await));
        let r = app.post(&path, json!({"body": "Courier delayed, do not promise dates", "internal": true})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let r = app.post(&path, json!({"body": " "})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["body".to_string()]));
        let r = app.post("/api/v1/tickets/999999/messages", json!({"body": "x"})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let all = app.get(&path).await.body;
        let shown: Vec<(bool, &str)> =
            all.as_array().unwrap().iter().map(|m| (m["internal"].as_bool().unwrap(), m["body"].as_str().unwrap())).collect();
        assert_eq!(shown, [(false, "It ships tomorrow."), (true, "Courier delayed, do not promise dates")]);
        // A rep reading the ticket reads its conversation; writing to it needs the right to change tickets.
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        assert_eq!(app.get_as(&rep, &path).await.status, StatusCode::OK);
        let r = app.call(Method::POST, &path, Some(&rep), Some(json!({"body": "hi"})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    });
}
