//! Feedback outside tickets (issue 11 §8): a record type on the shared machinery (create,
//! list with filters and search, get, patch with versions, delete), naming bad fields, with
//! the tickets' permissions and record-level visibility, on the person's timeline, and with
//! its list and form in the UI.

use axum::http::{Method, StatusCode, header};
use rapport_domain::permissions::Role;
use serde_json::json;

use crate::each_backend;
use crate::helpers::ADMIN_EMAIL;
use crate::ui::{csrf_of, form, page, session};

#[tokio::test]
async fn feedback_is_recorded_listed_changed_and_shown_on_the_person_s_timeline() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let bad = app.post("/api/v1/feedback", json!({"kind": "rant", "channel": "fax"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert_eq!(bad.error_fields(), ["kind", "body", "channel", "customer_id"]);
        let missing = app.post("/api/v1/feedback", json!({"body": "x", "customer_id": 999_999})).await;
        assert_eq!((missing.status, missing.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["customer_id".to_string()]));

        let r = app.post("/api/v1/feedback", json!({"kind": "complaint", "body": "The courier threw the parcel over the fence.", "channel": "phone", "customer_id": ann["id"]})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let c = r.body;
        assert_eq!(r.headers.get(header::LOCATION).unwrap().to_str().unwrap(), format!("/api/v1/feedback/{}", c["id"]));
        assert_eq!((c["kind"].as_str(), c["customer_name"].as_str(), c["version"].as_i64()), (Some("complaint"), Some("Ann Lee"), Some(1)));
        assert!(c["owner_id"].is_i64(), "owned by its creator");
        let p = app
            .post(
                "/api/v1/feedback",
                json!({"kind": "praise", "body": "Lovely support from Bea", "channel": "review", "customer_id": ann["id"]}),
            )
            .await
            .body;

        let list = |q: &str| {
            let app = &app;
            let q = q.to_string();
            async move {
                app.get(&format!("/api/v1/feedback?{q}")).await.body["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["id"].as_i64().unwrap())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(list("kind=complaint").await, [c["id"].as_i64().unwrap()]);
        assert_eq!(list("q=courier").await, [c["id"].as_i64().unwrap()]);
        assert_eq!(
            list(&format!("customer_id={}&sort=created_at", ann["id"])).await,
            [c["id"].as_i64().unwrap(), p["id"].as_i64().unwrap()]
        );
        assert_eq!(app.get("/api/v1/feedback?kind=rant").await.status, StatusCode::BAD_REQUEST);

        let path = format!("/api/v1/feedback/{}", c["id"]);
        let stale = app.patch(&path, json!({"kind": "feedback"}), Some(7)).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
        let changed = app.patch(&path, json!({"kind": "feedback", "channel": "letter"}), Some(1)).await;
        assert_eq!(
            (changed.status, changed.body["kind"].as_str(), changed.body["version"].as_i64()),
            (StatusCode::OK, Some("feedback"), Some(2))
        );
        let audit = app.get(&format!("/api/v1/audit_log?object=feedback&record_id={}", c["id"])).await.body;
        let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["update", "create"]);

        // On Ann's timeline, newest first.
        let t = app.get(&format!("/api/v1/customers/{}/timeline", ann["id"])).await.body;
        let events: Vec<(&str, &str)> = t["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "feedback_received")
            .map(|e| (e["title"].as_str().unwrap(), e["summary"].as_str().unwrap()))
            .collect();
        assert_eq!(
            events,
            [("Praise by review", "Lovely support from Bea"), ("Feedback by letter", "The courier threw the parcel over the fence.")]
        );

        // A sales rep reads tickets' things but does not record them; deleting leaves a 404.
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let r = app.call(Method::POST, "/api/v1/feedback", Some(&rep), Some(json!({"body": "x", "customer_id": ann["id"]})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(app.call(Method::DELETE, &path, Some(&app.token), None, &[("if-match", "2")]).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);

        // The UI: the list and the form.
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/feedback", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Lovely support from Bea") && !html.contains("courier"), "{html}");
        let (status, html) = page(&app, "/feedback/new", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("name=\"body\"") && html.contains("name=\"kind\""), "{html}");
        let csrf = csrf_of(&html);
        let body = format!("_csrf={csrf}&version=0&kind=complaint&customer_id={}&channel=email&owner_id=&body=", ann["id"]);
        let (status, _, html) = form(&app, "/feedback/new", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("data-field=\"body\""), "{html}");
        let body =
            format!("_csrf={csrf}&version=0&kind=complaint&customer_id={}&channel=email&owner_id=&body=Invoice+sent+twice", ann["id"]);
        let (status, _, html) = form(&app, "/feedback/new", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(list("q=twice").await.len(), 1);
    });
}
