//! Notifications and @mentions (issue 11 §7): a note or reply mentioning `@local-part` or
//! `@"Full Name"` notifies that user; each user reads and marks only their own.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::{Actor, Role};
use rapport_store::NewUser;
use serde_json::json;

use crate::each_backend;
use crate::helpers::{PASSWORD, TestApp};
use crate::sla::created;

async fn user(app: &TestApp, email: &str, name: &str, role: Role) -> String {
    app.store
        .create_user(
            &Actor::system(),
            NewUser { email: email.into(), name: name.into(), password: PASSWORD.into(), role: role.as_str().into() },
        )
        .await
        .unwrap();
    app.login(email, PASSWORD).await
}

#[tokio::test]
async fn a_mention_notifies_the_user_named_and_only_they_mark_it_read() {
    each_backend!(|app| {
        let carla = user(&app, "carla.diaz@example.com", "Carla Díaz", Role::SupportAgent).await;
        let dan = user(&app, "dan@example.com", "Dan Brown", Role::SupportAgent).await;
        let eve = user(&app, "eve@example.com", "Eve Stone", Role::SupportAgent).await;
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let t = created(&app, "/api/v1/tickets", json!({"subject": "Refund", "customer_id": ann["id"]})).await;
        let path = format!("/api/v1/tickets/{}/messages", t["id"]);
        let body = json!({"body": "@carla.diaz and @\"dan  brown\": see ann@example.com. Thanks @admin", "internal": true});
        assert_eq!(app.post(&path, body).await.status, StatusCode::CREATED);
        // A reply by Dan mentioning himself and Eve notifies Eve.
        let r = app.call(Method::POST, &path, Some(&dan), Some(json!({"body": "cc @eve, @dan here"})), &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

        let id = t["id"].as_i64().unwrap();
        let list = |token: String| {
            let app = &app;
            async move { app.get_as(&token, "/api/v1/notifications").await.body }
        };
        let c = list(carla.clone()).await;
        assert_eq!(c["unread"], 1);
        assert_eq!(
            (c["data"][0]["kind"].as_str(), c["data"][0]["link"].as_str()),
            (Some("mention"), Some(format!("/tickets/{id}").as_str()))
        );
        assert_eq!(c["data"][0]["text"], format!("Admin mentioned you on #{id} Refund"));
        assert_eq!(list(dan.clone()).await["data"][0]["text"], format!("Admin mentioned you on #{id} Refund"));
        assert_eq!(list(dan.clone()).await["unread"], 1, "Dan's own mention of himself tells him nothing");
        assert_eq!(list(eve.clone()).await["data"][0]["text"], format!("Dan Brown mentioned you on #{id} Refund"));
        assert_eq!(list(app.token.clone()).await["unread"], 0, "the author is not told of their own mention");

        // Someone else's notification is not found; one's own is marked once.
        let nid = c["data"][0]["id"].as_i64().unwrap();
        let r = app.call(Method::POST, &format!("/api/v1/notifications/{nid}/read"), Some(&eve), None, &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app.call(Method::POST, &format!("/api/v1/notifications/{nid}/read"), Some(&carla), None, &[]).await;
        assert_eq!((r.status, r.body["marked"].as_u64()), (StatusCode::OK, Some(1)));
        let r = app.call(Method::POST, &format!("/api/v1/notifications/{nid}/read"), Some(&carla), None, &[]).await;
        assert_eq!(r.body["marked"], 0);
        let c = list(carla.clone()).await;
        assert!((c["unread"] == 0) && c["data"][0]["read_at"].is_string(), "{c}");
        assert!(app.get_as(&carla, "/api/v1/notifications?unread=true").await.body["data"].as_array().unwrap().is_empty());
        let r = app.call(Method::POST, "/api/v1/notifications/read", Some(&eve), None, &[]).await;
        assert_eq!(r.body["marked"], 1);

        let r = app.get_as(&carla, "/api/v1/notifications?limit=0&unread=maybe").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["limit".to_string(), "unread".to_string()]));
    });
}

#[tokio::test]
async fn notifications_page_by_id() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let t = created(&app, "/api/v1/tickets", json!({"subject": "Refund", "customer_id": ann["id"]})).await;
        let bob = user(&app, "bob@example.com", "Bob", Role::SupportAgent).await;
        for n in 0..3 {
            let r = app
                .post(&format!("/api/v1/tickets/{}/messages", t["id"]), json!({"body": format!("@bob look {n}"), "internal": true}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED);
        }
        let first = app.get_as(&bob, "/api/v1/notifications?limit=2").await.body;
        assert_eq!(first["data"].as_array().unwrap().len(), 2);
        let next = first["next_before"].as_i64().expect("a next page");
        let rest = app.get_as(&bob, format!("/api/v1/notifications?limit=2&before={next}")).await.body;
        assert_eq!((rest["data"].as_array().unwrap().len(), rest["next_before"].clone()), (1, serde_json::Value::Null));
    });
}
