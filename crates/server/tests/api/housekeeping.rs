//! The help desk's housekeeping job (issue 11 item 3): a resolved ticket nobody answered
//! closes by itself after the configured days, a snoozed one wakes on its date, each through
//! the workflow as the system (in the history with no actor), and a ticket that is not due is
//! left alone.

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;

async fn act(app: &TestApp, id: &Value, action: Value) -> Value {
    let r = app.post(&format!("/api/v1/tickets/{id}/actions"), action.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
    r.body
}

async fn opened(app: &TestApp, subject: &str) -> Value {
    let ann = app.customer(json!({"name": "Ann Lee"})).await;
    let r = app.post("/api/v1/tickets", json!({"subject": subject, "customer_id": ann["id"]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    act(app, &r.body["id"], json!({"action": "assign"})).await;
    r.body["id"].clone()
}

async fn status(app: &TestApp, id: &Value) -> String {
    app.get(&format!("/api/v1/tickets/{id}")).await.body["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn resolved_tickets_close_after_the_configured_days_and_snoozed_ones_wake_on_their_date() {
    each_backend!(|app| {
        let quiet = opened(&app, "Printer").await;
        act(&app, &quiet, json!({"action": "resolve"})).await;
        let sleepy = opened(&app, "Call back in spring").await;
        act(&app, &sleepy, json!({"action": "start"})).await;
        act(&app, &sleepy, json!({"action": "snooze", "until": "2099-03-01"})).await;
        let busy = opened(&app, "Still working").await;

        // Six days on, with a week to answer: nothing is due.
        let week = Some(Duration::days(7));
        let run = app.store.ticket_housekeeping(Utc::now() + Duration::days(6), week).await.unwrap();
        assert_eq!((run.closed, run.woken), (0, 0));
        assert_eq!(status(&app, &quiet).await, "resolved");

        // Eight days on the resolved ticket closes; without auto-close it would not have.
        let later = Utc::now() + Duration::days(8);
        let run = app.store.ticket_housekeeping(later, None).await.unwrap();
        assert_eq!(run.closed, 0);
        let run = app.store.ticket_housekeeping(later, week).await.unwrap();
        assert_eq!((run.closed, run.woken), (1, 0));
        assert_eq!(status(&app, &quiet).await, "closed");
        let history = app.get(&format!("/api/v1/tickets/{quiet}/history")).await.body;
        let last = history.as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (last["from_status"].as_str(), last["to_status"].as_str(), &last["actor_id"]),
            (Some("resolved"), Some("closed"), &Value::Null)
        );

        // On its date the snoozed ticket wakes into work; the one being worked is untouched.
        let spring = "2099-03-01T00:00:01Z".parse().unwrap();
        let run = app.store.ticket_housekeeping(spring, week).await.unwrap();
        assert_eq!((run.closed, run.woken), (0, 1));
        assert_eq!(status(&app, &sleepy).await, "in_progress");
        assert_eq!(status(&app, &busy).await, "assigned");

        // A second run finds nothing left to do, and the job's lease keeps a second holder out.
        let run = app.store.ticket_housekeeping(spring, week).await.unwrap();
        assert_eq!((run.closed, run.woken), (0, 0));
        let ttl = Duration::minutes(3);
        assert!(app.store.run_ticket_housekeeping("a", ttl, spring, week).await.unwrap().is_some());
        assert!(app.store.run_ticket_housekeeping("b", ttl, spring, week).await.unwrap().is_none());
    });
}
