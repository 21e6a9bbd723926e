//! The public help desk (issue 11 item 1): a customer opens a ticket without signing in, gets a
//! secret link, and through it reads the public conversation (never the internal notes),
//! replies (which reopens a resolved ticket), and confirms the resolution; the form keeps the
//! lead form's honeypot and per-client throttle.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::TestApp;

async fn public(app: &TestApp, method: Method, path: &str, body: &str) -> (StatusCode, Option<String>, String) {
    let req = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let res = app.router.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = res.status();
    let location = res.headers().get(header::LOCATION).map(|l| l.to_str().unwrap().to_string());
    (status, location, String::from_utf8_lossy(&axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()).into_owned())
}

fn link_in(html: &str) -> String {
    let at = html.find("id=\"ticket-link\">").expect("the ticket's link") + 17;
    html[at..].split('<').next().unwrap().to_string()
}

async fn act(app: &TestApp, id: i64, action: &str) -> Value {
    let t = app.get(&format!("/api/v1/tickets/{id}")).await.body;
    let v = t["version"].to_string();
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{id}/actions"),
            Some(&app.token),
            Some(json!({"action": action})),
            &[("if-match", &v)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
    r.body
}

#[tokio::test]
async fn a_customer_opens_follows_answers_and_confirms_a_ticket_through_its_secret_link() {
    each_backend!(|app| {
        let (status, _, html) = public(&app, Method::GET, "/support", "").await;
        assert_eq!(status, StatusCode::OK, "no sign-in needed");
        assert!(html.contains("id=\"support-form\"") && html.contains("name=\"website\""));
        let (status, _, html) = public(&app, Method::POST, "/support", "name=&email=nope&subject=&message=&website=").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        for f in ["name", "email", "subject", "message"] {
            assert!(html.contains(&format!("data-field=\"{f}\"")), "{f}: {html}");
        }

        let (status, _, html) = public(
            &app,
            Method::POST,
            "/support",
            "name=Ann+Lee&email=ann%40example.com&subject=Printer+on+fire&message=Smoke+from+tray+2&website=",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let link = link_in(&html);
        let id: i64 = link.split('/').nth(3).unwrap().parse().unwrap();
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.body;
        assert_eq!(
            (t["status"].as_str(), t["channel"].as_str(), t["customer_name"].as_str()),
            (Some("new"), Some("web_form"), Some("Ann Lee"))
        );
        let person = app.get(&format!("/api/v1/customers/{}", t["customer_id"])).await.body;
        assert_eq!(person["source"], "support form");

        let (status, _, page) = public(&app, Method::GET, &link, "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Printer on fire") && page.contains("Smoke from tray 2") && page.contains(">new<"), "{page}");
        let wrong = format!("/support/tickets/{id}/{}", "0".repeat(64));
        assert_eq!(public(&app, Method::GET, &wrong, "").await.0, StatusCode::NOT_FOUND, "a wrong secret opens nothing");

        // The agent answers, notes something internal, and resolves.
        let msgs = format!("/api/v1/tickets/{id}/messages");
        assert_eq!(app.post(&msgs, json!({"body": "Replace the fuser unit."})).await.status, StatusCode::CREATED);
        assert_eq!(app.post(&msgs, json!({"body": "Warranty expired", "internal": true})).await.status, StatusCode::CREATED);
        act(&app, id, "assign").await;
        act(&app, id, "resolve").await;
        let (_, _, page) = public(&app, Method::GET, &link, "").await;
        assert!(page.contains("Replace the fuser unit.") && !page.contains("Warranty expired"), "no internal notes: {page}");
        assert!(page.contains("value=\"confirm\"") && page.contains("value=\"reopen\""), "{page}");

        // Replying to a resolved ticket reopens it; confirming closes it.
        let (status, location, _) = public(&app, Method::POST, &format!("{link}/reply"), "body=Still+smoking").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some(link.as_str())));
        assert_eq!(app.get(&format!("/api/v1/tickets/{id}")).await.body["status"], "reopened");
        let all = app.get(&msgs).await.body;
        let authors: Vec<&str> = all.as_array().unwrap().iter().map(|m| m["author"].as_str().unwrap()).collect();
        assert_eq!(authors, ["customer", "agent", "agent", "customer"]);
        let (status, _, page) = public(&app, Method::POST, &format!("{link}/action"), "action=confirm").await;
        assert_eq!(status, StatusCode::CONFLICT, "a reopened ticket is not the customer's to close: {page}");
        act(&app, id, "resolve").await;
        let (status, _, _) = public(&app, Method::POST, &format!("{link}/action"), "action=confirm").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.body;
        assert_eq!(t["status"], "closed");
        assert!(t["closed_at"].is_string());
        let (_, _, page) = public(&app, Method::GET, &link, "").await;
        assert!(page.contains(">closed<") && !page.contains("id=\"support-reply\""), "{page}");
        let (status, _, _) = public(&app, Method::POST, &format!("{link}/reply"), "body=one+more+thing").await;
        assert_eq!(status, StatusCode::CONFLICT, "a closed ticket takes no more messages");
        let h = app.get(&format!("/api/v1/tickets/{id}/history")).await.body;
        let states: Vec<&str> = h.as_array().unwrap().iter().map(|c| c["to_status"].as_str().unwrap()).collect();
        assert_eq!(states, ["new", "assigned", "resolved", "reopened", "resolved", "closed"]);
    });
}

#[tokio::test]
async fn the_ticket_form_thanks_bots_without_storing_them_and_throttles_a_flood() {
    each_backend!(|app| {
        let (status, _, html) =
            public(&app, Method::POST, "/support", "name=Bot&email=bot%40example.com&subject=x&message=y&website=http%3A%2F%2Fspam").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"ticket-opened\"") && !html.contains("id=\"ticket-link\""));
        assert_eq!(app.get("/api/v1/tickets").await.body["data"], json!([]));
        let body = "name=Ann&email=ann%40example.com&subject=Again&message=Hello&website=";
        let mut statuses = vec![];
        for _ in 0..6 {
            statuses.push(public(&app, Method::POST, "/support", body).await.0);
        }
        // The bot's submission counted too: four more pass, then the window is full.
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::OK, StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS, StatusCode::TOO_MANY_REQUESTS]
        );
        assert_eq!(app.get("/api/v1/tickets").await.body["data"].as_array().unwrap().len(), 4);
        // The lead form keeps its own count.
        let (status, _, _) = public(&app, Method::POST, "/forms/lead", "name=Ann&email=ann%40example.com&website=").await;
        assert_eq!(status, StatusCode::OK);
    });
}
