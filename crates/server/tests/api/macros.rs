//! Issue 11 §7: macros (canned replies) with merge fields, kept by admins and managers, applied
//! to a ticket in one transaction: the reply posted, the assignee, tags and workflow action
//! applied, or nothing at all when the action is not allowed now.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;

async fn me(app: &TestApp, token: &str) -> i64 {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["id"].as_i64().unwrap()
}

async fn new_macro(app: &TestApp, body: Value) -> Value {
    let r = app.post("/api/v1/macros", body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.body);
    r.body
}

async fn apply(app: &TestApp, ticket: &Value, m: &Value, preview: bool) -> crate::helpers::Res {
    let path = format!("/api/v1/tickets/{}/macros/{}/apply{}", ticket["id"], m["id"], if preview { "?preview=true" } else { "" });
    app.call(Method::POST, &path, Some(&app.token), None, &[]).await
}

#[tokio::test]
async fn managers_keep_macros_and_a_body_with_an_unknown_merge_field_is_refused() {
    each_backend!(|app| {
        let r = app.post("/api/v1/macros", json!({"name": "Thanks", "body": "Thanks {{customer.first_name | default: \"there\"}}!"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let m = r.body.clone();
        assert_eq!(r.header("location"), format!("/api/v1/macros/{}", m["id"]));
        let r = app.post("/api/v1/macros", json!({"name": "Bad", "body": "Hi {{customer.shoe_size}}"})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["body".to_string()]));
        assert!(r.body.to_string().contains("customer.shoe_size"), "names the field: {}", r.body);
        let r = app.post("/api/v1/macros", json!({"name": "Bad", "body": "x", "action": "confirm"})).await;
        assert_eq!(r.error_fields(), ["action"]);
        let r = app.post("/api/v1/macros", json!({"name": "Thanks", "body": "again"})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::CONFLICT, vec!["name".to_string()]));

        let manager = app.user_token("boss@example.com", Role::Manager).await;
        let agent = app.user_token("agent@example.com", Role::SupportAgent).await;
        let r = app.call(Method::POST, "/api/v1/macros", Some(&manager), Some(json!({"name": "Bye", "body": "Bye"})), &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let r = app.call(Method::POST, "/api/v1/macros", Some(&agent), Some(json!({"name": "Mine", "body": "x"})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let listed = app.get_as(&agent, "/api/v1/macros?sort=name").await.body;
        let names: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Bye", "Thanks"], "agents read them");

        let path = format!("/api/v1/macros/{}", m["id"]);
        let r = app.patch(&path, json!({"body": "{{agent.nam}}"}), m["version"].as_i64()).await;
        assert_eq!(r.error_fields(), ["body"]);
        let r = app.patch(&path, json!({"body": "Thanks, {{agent.name}}"}), m["version"].as_i64()).await;
        assert_eq!((r.status, r.body["body"].as_str()), (StatusCode::OK, Some("Thanks, {{agent.name}}")));
        let r = app.patch(&path, json!({"name": "Stale"}), m["version"].as_i64()).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
        let audit = app.get(&format!("/api/v1/audit_log?object=macro&record_id={}", m["id"])).await.body;
        let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions, ["delete", "update", "create"]);
    });
}

#[tokio::test]
async fn applying_a_macro_posts_the_reply_and_its_actions_in_one_go_or_not_at_all() {
    each_backend!(|app| {
        let admin = me(&app, &app.token).await;
        let acme = app.company(json!({"name": "Acme"})).await;
        let ann = app.customer(json!({"name": "Ann Lee", "email": "ann@example.com", "company_id": acme["id"]})).await;
        let r = app.post("/api/v1/tickets", json!({"subject": "Printer", "customer_id": ann["id"], "company_id": acme["id"]})).await;
        let t = r.body;
        let ask = new_macro(
            &app,
            json!({
                "name": "Ask for logs",
                "body": "Hi {{customer.first_name}}, about {{ticket.number}} at {{company.name}}: please send the logs. Now {{ticket.status}}. {{agent.name | default: \"Support\"}}",
                "action": "wait_on_customer",
                "add_tags": ["logs"],
                "assignee_id": admin
            }),
        )
        .await;
        // A preview renders and computes, and changes nothing.
        let r = apply(&app, &t, &ask, true).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["preview"].as_bool(), r.body["ticket"]["status"].as_str()), (Some(true), Some("waiting_on_customer")));
        assert!(
            r.body["body"]
                .as_str()
                .unwrap()
                .starts_with(&format!("Hi Ann, about #{} at Acme: please send the logs. Now waiting on customer.", t["id"])),
            "{}",
            r.body
        );
        let msgs = app.get(&format!("/api/v1/tickets/{}/messages", t["id"])).await.body;
        assert_eq!(msgs.as_array().unwrap().len(), 0);
        assert_eq!(app.get(&format!("/api/v1/tickets/{}", t["id"])).await.body["status"], "new");

        let r = apply(&app, &t, &ask, false).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let after = &r.body["ticket"];
        assert_eq!(
            (after["status"].as_str(), after["owner_id"].as_i64(), after["tags"].clone()),
            (Some("waiting_on_customer"), Some(admin), json!(["logs"]))
        );
        assert_eq!(r.body["message"]["author_id"].as_i64(), Some(admin));
        let msgs = app.get(&format!("/api/v1/tickets/{}/messages", t["id"])).await.body;
        assert_eq!(msgs[0]["body"], r.body["body"]);
        let h = app.get(&format!("/api/v1/tickets/{}/history", t["id"])).await.body;
        let states: Vec<&str> = h.as_array().unwrap().iter().map(|c| c["to_status"].as_str().unwrap()).collect();
        assert_eq!(states, ["new", "assigned", "waiting_on_customer"]);

        // Now waiting on the customer: asking again is not a legal step. 409 naming what is
        // allowed, and no reply is posted.
        let r = apply(&app, &after.clone(), &ask, false).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        let allowed: Vec<&str> = r.body["allowed_actions"].as_array().unwrap().iter().filter_map(|a| a.as_str()).collect();
        assert!(allowed.contains(&"resume") && allowed.contains(&"resolve"), "{allowed:?}");
        assert_eq!(app.get(&format!("/api/v1/tickets/{}/messages", t["id"])).await.body.as_array().unwrap().len(), 1);

        // A note-only macro: an internal note, no change to the ticket.
        let note = new_macro(&app, json!({"name": "VIP", "body": "VIP customer: {{customer.name}}", "internal": true})).await;
        let r = apply(&app, &t, &note, false).await;
        assert_eq!(
            (r.status, r.body["internal"].as_bool(), r.body["body"].as_str()),
            (StatusCode::OK, Some(true), Some("VIP customer: Ann Lee"))
        );
        assert_eq!(r.body["ticket"]["version"], after["version"]);
        let audit = app.get(&format!("/api/v1/audit_log?object=ticket&record_id={}", t["id"])).await.body;
        let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions.iter().filter(|a| **a == "apply_macro").count(), 2);
        // The public reply is mailed to Ann like a typed one; the note is not.
        let queue = app.get("/api/v1/mail/queue").await.body;
        let mailed: Vec<&str> = queue["recent"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["ticket_id"] == t["id"])
            .filter_map(|m| m["subject"].as_str())
            .collect();
        assert_eq!(mailed, [format!("Re: [#{}] Printer", t["id"])], "{queue}");

        // Unknown macro or ticket: 404; a rep may read tickets but not apply macros.
        assert_eq!(apply(&app, &t, &json!({"id": 999_999}), false).await.status, StatusCode::NOT_FOUND);
        assert_eq!(apply(&app, &json!({"id": 999_999}), &note, false).await.status, StatusCode::NOT_FOUND);
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let path = format!("/api/v1/tickets/{}/macros/{}/apply", t["id"], note["id"]);
        assert_eq!(app.call(Method::POST, &path, Some(&rep), None, &[]).await.status, StatusCode::FORBIDDEN);
    });
}
