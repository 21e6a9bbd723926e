//! The ticket page's links (issue 11 items 4, 7 and 10): followers, the macro picker with its
//! preview, split and merge buttons (a merged ticket's page is its survivor's), the macro
//! admin pages, and the "X is replying" notice.

use axum::http::{Method, StatusCode, header};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::ui::{csrf_of, form, page, session};

async fn ticket(app: &TestApp, body: Value) -> i64 {
    let r = app.post("/api/v1/tickets", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

fn location(headers: &axum::http::HeaderMap) -> String {
    headers.get(header::LOCATION).map(|l| l.to_str().unwrap().to_string()).unwrap_or_default()
}

#[tokio::test]
async fn the_ticket_page_adds_followers_applies_macros_splits_and_merges() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let bob = app.customer(json!({"name": "Bob Ray"})).await;
        let id = ticket(&app, json!({"subject": "Printer on fire", "customer_id": ann["id"]})).await;
        let dup = ticket(&app, json!({"subject": "Printer burning", "customer_id": bob["id"]})).await;
        let cookie = session(&app, ADMIN_EMAIL).await;

        // The macro admin pages: a body with an unknown merge field is refused on the form.
        let (status, html) = page(&app, "/macros/new", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("name=\"body\"") && html.contains("name=\"action\""), "{html}");
        let csrf = csrf_of(&html);
        let bad = format!("_csrf={csrf}&version=0&name=Oops&body=Hi+%7B%7Bcustomer.age%7D%7D&action=&assignee_id=&add_tags=");
        let (status, _, html) = form(&app, "/macros/new", Some(&cookie), &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("customer.age"), "{html}");
        let good = format!(
            "_csrf={csrf}&version=0&name=Ask+for+logs&body=Hi+%7B%7Bcustomer.first_name%7D%7D%2C+send+logs+please&action=&assignee_id=&add_tags=logs"
        );
        let (status, _, html) = form(&app, "/macros/new", Some(&cookie), &good).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let (_, html) = page(&app, "/macros", &cookie).await;
        assert!(html.contains("Ask for logs"), "{html}");
        let m = app.get("/api/v1/macros").await.body["data"][0].clone();
        assert_eq!((m["action"].clone(), m["add_tags"].clone()), (Value::Null, json!(["logs"])));

        let (status, html) = page(&app, &format!("/tickets/{id}"), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"macro-picker\"") && html.contains("Ask for logs"), "the picker lists the macro: {html}");
        assert!(html.contains("id=\"merge\"") && html.contains("data-lookup=\"/lookup/tickets\""), "{html}");
        assert!(html.contains("Only the ticket's person."));

        // Followers.
        let (status, headers, html) =
            form(&app, &format!("/tickets/{id}/followers"), Some(&cookie), &format!("_csrf={csrf}&customer_id={}", bob["id"])).await;
        assert_eq!((status, location(&headers)), (StatusCode::SEE_OTHER, format!("/tickets/{id}#followers")), "{html}");
        let (status, _, html) =
            form(&app, &format!("/tickets/{id}/followers"), Some(&cookie), &format!("_csrf={csrf}&customer_id={}", ann["id"])).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the ticket's own person: {html}");
        let (_, html) = page(&app, &format!("/tickets/{id}"), &cookie).await;
        assert!(html.contains(&format!("/customers/{}\">Bob Ray", bob["id"])), "{html}");

        // The macro picker: a preview shows the reply and posts nothing; applying posts it.
        let (status, _, html) =
            form(&app, &format!("/tickets/{id}/macro"), Some(&cookie), &format!("_csrf={csrf}&macro_id={}&preview=1", m["id"])).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Preview (reply, then new): Hi Ann, send logs please"), "{html}");
        assert_eq!(app.get(&format!("/api/v1/tickets/{id}/messages")).await.body.as_array().unwrap().len(), 0);
        let (status, headers, _) =
            form(&app, &format!("/tickets/{id}/macro"), Some(&cookie), &format!("_csrf={csrf}&macro_id={}", m["id"])).await;
        assert_eq!((status, location(&headers)), (StatusCode::SEE_OTHER, format!("/tickets/{id}#conversation")));
        form(&app, &format!("/tickets/{id}/messages"), Some(&cookie), &format!("_csrf={csrf}&body=Also+the+scanner")).await;
        let (_, html) = page(&app, &format!("/tickets/{id}"), &cookie).await;
        assert!(html.contains("Hi Ann, send logs please") && html.matches("Split off into a new ticket").count() == 2, "{html}");

        // Split the second message off; the child names its parent and the parent its child.
        let msgs = app.get(&format!("/api/v1/tickets/{id}/messages")).await.body;
        let second = msgs[1]["id"].as_i64().unwrap();
        let (status, headers, html) =
            form(&app, &format!("/tickets/{id}/split"), Some(&cookie), &format!("_csrf={csrf}&message_id={second}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let child = location(&headers);
        let (_, html) = page(&app, &child, &cookie).await;
        assert!(html.contains("Also the scanner") && html.contains(&format!("href=\"/tickets/{id}\">#{id} Printer on fire")), "{html}");
        let (_, html) = page(&app, &format!("/tickets/{id}"), &cookie).await;
        assert!(html.contains("id=\"ticket-children\"") && html.contains(&format!("href=\"{child}\"")), "{html}");
        // The child's page unlinks it from its parent, and links it again.
        let child_id = child.rsplit('/').next().unwrap().to_string();
        let (_, html) = page(&app, &child, &cookie).await;
        assert!(html.contains("Unlink from parent"), "{html}");
        let (status, _, _) = form(&app, &format!("{child}/parent"), Some(&cookie), &format!("_csrf={csrf}&parent_id=")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.get(&format!("/api/v1/tickets/{child_id}")).await.body["parent_id"], Value::Null);
        let (status, _, html) = form(&app, &format!("{child}/parent"), Some(&cookie), &format!("_csrf={csrf}&parent_id={child_id}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        form(&app, &format!("{child}/parent"), Some(&cookie), &format!("_csrf={csrf}&parent_id={id}")).await;
        assert_eq!(app.get(&format!("/api/v1/tickets/{child_id}")).await.body["parent_id"].as_i64(), Some(id));

        // Merge the duplicate into this ticket: on to the survivor; the duplicate's page follows.
        let (status, headers, html) =
            form(&app, &format!("/tickets/{dup}/merge"), Some(&cookie), &format!("_csrf={csrf}&into={dup}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not into itself: {html}");
        assert!(html.contains("itself") && location(&headers).is_empty());
        let (status, headers, _) = form(&app, &format!("/tickets/{dup}/merge"), Some(&cookie), &format!("_csrf={csrf}&into={id}")).await;
        assert_eq!((status, location(&headers)), (StatusCode::SEE_OTHER, format!("/tickets/{id}")));
        let (status, html) = page(&app, &format!("/tickets/{dup}"), &cookie).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let (_, html) = page(&app, &format!("/tickets/{id}"), &cookie).await;
        assert!(html.contains(&format!("Ticket #{dup} “Printer burning” was merged into this ticket.")), "{html}");
    });
}

#[tokio::test]
async fn the_ticket_page_says_who_else_is_replying() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let id = ticket(&app, json!({"subject": "Help", "customer_id": ann["id"]})).await;
        app.user_token("sam@example.com", Role::SupportAgent).await;
        let admin = session(&app, ADMIN_EMAIL).await;
        let sam = session(&app, "sam@example.com").await;
        let (_, html) = page(&app, &format!("/tickets/{id}"), &admin).await;
        assert!(html.contains("id=\"replying\"") && html.contains("/static/service.js"), "{html}");
        assert!(!html.contains("is replying"));

        // Sam's page says he opened the reply box (as its script does).
        let (_, sam_page) = page(&app, &format!("/tickets/{id}"), &sam).await;
        let sam_csrf = csrf_of(&sam_page);
        let (status, _, body) = form(&app, &format!("/tickets/{id}/presence"), Some(&sam), &format!("_csrf={sam_csrf}&replying=1")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, html) = page(&app, &format!("/tickets/{id}"), &admin).await;
        assert!(html.contains("sam@example.com is replying…"), "{html}");
        let (status, json) = page(&app, &format!("/tickets/{id}/presence"), &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap()["text"], "sam@example.com is replying…");
        // Without the page's CSRF token, nothing is said.
        let (status, _, _) = form(&app, &format!("/tickets/{id}/presence"), Some(&sam), "replying=0").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        form(&app, &format!("/tickets/{id}/presence"), Some(&sam), &format!("_csrf={sam_csrf}&replying=0")).await;
        let (_, html) = page(&app, &format!("/tickets/{id}"), &admin).await;
        assert!(!html.contains("is replying"));
        let js = app.call(Method::GET, "/static/service.js", None, None, &[]).await;
        assert_eq!(js.status, StatusCode::OK);
    });
}
