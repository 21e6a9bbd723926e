//! Tickets by email (issue 11 §2) through `POST /api/v1/inbound/email`: a new message opens a
//! ticket and queues its acknowledgement, a reply from the ticket's person threads onto it (by
//! Message-ID or subject tag) and reopens it when resolved, a stranger's reply with the same
//! subject opens a ticket of its own, a second delivery changes nothing, and only tokens with
//! the `inbound_mail` scope (or an admin's) may deliver. Real SMTP and IMAP: crates/cli/tests/mail.rs.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::{Res, TestApp};

fn mail(from: &str, subject: &str, id: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@rapport.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}Content-Type: text/plain\r\n\r\n{body}\r\n"
    )
}

async fn deliver(app: &TestApp, token: Option<&str>, content_type: &str, raw: &str) -> Res {
    let mut req = Request::builder().method(Method::POST).uri("/api/v1/inbound/email").header("content-type", content_type);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app.router.clone().oneshot(req.body(Body::from(raw.to_string())).unwrap()).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    Res { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

async fn ok(app: &TestApp, token: &str, raw: &str, outcome: &str) -> i64 {
    let r = deliver(app, Some(token), "message/rfc822", raw).await;
    let status = if outcome == "duplicate" { StatusCode::OK } else { StatusCode::CREATED };
    assert_eq!((r.status, r.body["outcome"].as_str()), (status, Some(outcome)), "{}", r.body);
    r.body["ticket_id"].as_i64().unwrap()
}

/// The queued mails about `ticket`, oldest first.
async fn queued(app: &TestApp, ticket: i64) -> Vec<Value> {
    let r = app.get("/api/v1/mail/queue").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut rows: Vec<Value> =
        r.body["recent"].as_array().unwrap().iter().filter(|m| m["ticket_id"].as_i64() == Some(ticket)).cloned().collect();
    rows.reverse();
    rows
}

async fn conversation(app: &TestApp, ticket: i64) -> Vec<String> {
    let r = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await;
    r.body.as_array().unwrap().iter().map(|m| format!("{}: {}", m["author"].as_str().unwrap(), m["body"].as_str().unwrap())).collect()
}

async fn act(app: &TestApp, ticket: i64, action: &str) -> Value {
    let r = app.post(&format!("/api/v1/tickets/{ticket}/actions"), json!({"action": action})).await;
    assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
    r.body
}

#[tokio::test]
async fn mail_opens_a_ticket_threads_replies_from_its_contacts_only_and_reopens_a_resolved_one() {
    each_backend!(|app| {
        let t = app.token.clone();
        app.store.set_public_url("https://crm.example.com/");
        let first = mail("\"Ann Lee\" <Ann@Example.com>", "Printer on fire", "q1@mail.example.com", "", "Smoke from tray 2.");
        let id = ok(&app, &t, &first, "opened").await;
        let ticket = app.get(&format!("/api/v1/tickets/{id}")).await.body;
        assert_eq!(
            (ticket["channel"].as_str(), ticket["status"].as_str(), ticket["subject"].as_str()),
            (Some("email"), Some("new"), Some("Printer on fire"))
        );
        assert_eq!(ticket["customer_name"].as_str(), Some("Ann Lee"));
        let person = app.get(&format!("/api/v1/customers/{}", ticket["customer_id"])).await.body;
        assert_eq!((person["email"].as_str(), person["source"].as_str()), (Some("ann@example.com"), Some("email")));
        assert_eq!(conversation(&app, id).await, ["customer: Smoke from tray 2."]);

        // The acknowledgement is queued with the ticket number and answers the customer's mail.
        let ack = queued(&app, id).await;
        assert_eq!(ack.len(), 1, "{ack:?}");
        assert_eq!((ack[0]["to_addr"].as_str(), ack[0]["state"].as_str()), (Some("ann@example.com"), Some("queued")));
        assert_eq!(ack[0]["subject"].as_str(), Some(format!("[#{id}] Printer on fire").as_str()));
        let ack_id = ack[0]["message_id"].as_str().unwrap().to_string();

        // A provider's retry of the same message changes nothing.
        assert_eq!(ok(&app, &t, &first, "duplicate").await, id);
        assert_eq!(conversation(&app, id).await.len(), 1);

        // Ann answers the acknowledgement: threaded by In-Reply-To, no second acknowledgement.
        let reply =
            mail("ann@example.com", "Re: something else", "r2@mail.example.com", &format!("In-Reply-To: <{ack_id}>\r\n"), "Still burning.");
        assert_eq!(ok(&app, &t, &reply, "replied").await, id);
        assert_eq!(conversation(&app, id).await, ["customer: Smoke from tray 2.", "customer: Still burning."]);
        assert_eq!(queued(&app, id).await.len(), 1);

        // A stranger with the same subject, tag and References opens a ticket of their own.
        let refs = format!("References: <q1@mail.example.com> <{ack_id}>\r\n");
        let stranger = mail("bob@example.org", &format!("Re: [#{id}] Printer on fire"), "s1@example.org", &refs, "Me too!");
        let other = ok(&app, &t, &stranger, "opened").await;
        assert_ne!(other, id);
        assert_eq!(conversation(&app, id).await.len(), 2);

        // Once Bob follows Ann's ticket, his reply to it threads there.
        let bob = app.get(&format!("/api/v1/tickets/{other}")).await.body["customer_id"].clone();
        let r = app.post(&format!("/api/v1/tickets/{id}/contacts"), json!({"customer_id": bob})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let follower = mail("bob@example.org", &format!("Re: [#{id}] Printer on fire"), "s2@example.org", "", "Same printer here.");
        assert_eq!(ok(&app, &t, &follower, "replied").await, id);
        assert_eq!(conversation(&app, id).await.len(), 3);

        // The agent answers publicly (queued, threaded on Ann's latest mail) and resolves it.
        act(&app, id, "assign").await;
        let r = app.post(&format!("/api/v1/tickets/{id}/messages"), json!({"body": "Pull the plug."})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let r = app.post(&format!("/api/v1/tickets/{id}/messages"), json!({"body": "VIP", "internal": true})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(act(&app, id, "resolve").await["status"].as_str(), Some("resolved"));
        let out = queued(&app, id).await;
        let subjects: Vec<&str> = out.iter().map(|m| m["subject"].as_str().unwrap()).collect();
        assert_eq!(
            subjects,
            [format!("[#{id}] Printer on fire"), format!("Re: [#{id}] Printer on fire"), format!("Resolved: [#{id}] Printer on fire")]
        );

        // Ann writes again with only the tag in the subject: the ticket reopens.
        let again = mail("ann@example.com", &format!("[#{id}] it is back"), "r3@mail.example.com", "", "It is on fire again.");
        assert_eq!(ok(&app, &t, &again, "replied").await, id);
        assert_eq!(app.get(&format!("/api/v1/tickets/{id}")).await.body["status"].as_str(), Some("reopened"));
        let history = app.get(&format!("/api/v1/tickets/{id}/history")).await.body;
        let states: Vec<&str> = history.as_array().unwrap().iter().map(|c| c["to_status"].as_str().unwrap()).collect();
        assert_eq!(states, ["new", "assigned", "resolved", "reopened"]);
        let audit = app.get("/api/v1/audit_log?object=ticket").await;
        assert!(audit.body.to_string().contains("r3@mail.example.com"), "the delivery is audited: {}", audit.body);

        // The resolution notice links to the ticket's survey at the server's public address.
        let claimed = app.store.claim_mail("test", 60, 100).await.unwrap();
        let notice = claimed.iter().find(|m| m.subject.starts_with("Resolved:")).expect("the resolution notice");
        let base = "https://crm.example.com";
        let link = notice.text_body.split_whitespace().find(|w| w.starts_with(base)).expect("a survey link");
        assert!(link.starts_with(&format!("{base}/support/surveys/")), "{}", notice.text_body);
        let r = app.router.clone().oneshot(Request::get(&link[base.len()..]).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "the link opens the survey");
    });
}

#[tokio::test]
async fn only_an_inbound_mail_token_or_an_admin_delivers_and_bad_mail_names_the_header() {
    each_backend!(|app| {
        let raw = mail("ann@example.com", "Hello", "h1@example.com", "", "Hi");
        assert_eq!(deliver(&app, None, "message/rfc822", &raw).await.status, StatusCode::UNAUTHORIZED);
        let agent = app.user_token("agent@example.com", Role::SupportAgent).await;
        assert_eq!(deliver(&app, Some(&agent), "message/rfc822", &raw).await.status, StatusCode::FORBIDDEN);

        let r = app.post("/api/v1/tokens", json!({"name": "provider webhook", "scopes": ["inbound_mail"]})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["info"]["scopes"].as_str(), Some("inbound_mail"));
        let hook = r.body["token"].as_str().unwrap().to_string();
        ok(&app, &hook, &raw, "opened").await;
        // The webhook's token delivers mail and does nothing else.
        assert_eq!(app.get_as(&hook, "/api/v1/tickets").await.status, StatusCode::FORBIDDEN);
        let r = app.post("/api/v1/tokens", json!({"name": "x", "scopes": ["send_mail"]})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["scopes".to_string()]));

        let r = deliver(&app, Some(&hook), "application/json", &raw).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["Content-Type".to_string()]));
        // Raw bytes from a generic client (what the OpenAPI document names) are a message too.
        let octets = mail("zed@example.com", "Sent as bytes", "o1@example.com", "", "Hello.");
        let r = deliver(&app, Some(&hook), "application/octet-stream", &octets).await;
        assert_eq!((r.status, r.body["outcome"].as_str()), (StatusCode::CREATED, Some("opened")), "{}", r.body);
        let r = deliver(&app, Some(&hook), "message/rfc822", "Subject: who?\r\n\r\nno sender\r\n").await;
        assert_eq!(r.error_fields(), ["From"], "{}", r.body);
        assert!(r.status.is_client_error());
    });
}

#[tokio::test]
async fn the_public_form_queues_the_acknowledgement_with_the_ticket() {
    each_backend!(|app| {
        let form = rapport_domain::service::public::PublicTicketInput {
            name: Some("Cy Doe".into()),
            email: Some("cy@example.com".into()),
            subject: Some("Where is my order".into()),
            message: Some("Ordered last week.".into()),
            website: None,
        };
        let (id, _) = app.store.open_public_ticket(&form.apply().unwrap(), None).await.unwrap();
        let q = queued(&app, id).await;
        assert_eq!(q.len(), 1);
        assert_eq!(
            (q[0]["to_addr"].as_str(), q[0]["subject"].as_str()),
            (Some("cy@example.com"), Some(format!("[#{id}] Where is my order").as_str()))
        );
    });
}

#[tokio::test]
async fn the_admin_mail_page_shows_the_queue_and_requeues_an_unconfirmed_mail() {
    use crate::helpers::ADMIN_EMAIL;
    use crate::ui::{csrf_of, form, page, session};
    each_backend!(|app| {
        let t = app.token.clone();
        let id = ok(&app, &t, &mail("ann@example.com", "Lost parcel", "p1@example.com", "", "Where is it?"), "opened").await;
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, &format!("/tickets/{id}"), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Where is it?"), "the inbound mail is in the conversation");

        // A sender dies mid-send: its lease runs out and the mail is unconfirmed, not resent.
        let claimed = app.store.claim_mail("dead-sender", 60, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(app.store.mails_sending(&[claimed[0].id], "other-sender", 60).await.unwrap().is_empty(), "only the lease holder sends");
        assert_eq!(app.store.mails_sending(&[claimed[0].id], "dead-sender", -1).await.unwrap(), vec![claimed[0].id]);
        assert_eq!(app.store.recover_mail().await.unwrap(), (0, 1));
        assert!(app.store.claim_mail("next-sender", 60, 10).await.unwrap().is_empty(), "an unconfirmed mail is not sent again by itself");

        let (status, html) = page(&app, "/admin/mail", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(&format!("[#{id}] Lost parcel")) && html.contains("unconfirmed") && html.contains("Requeue"), "{html}");
        let body = format!("_csrf={}&id={}", csrf_of(&html), claimed[0].id);
        let (status, _, _) = form(&app, "/admin/mail/requeue", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.store.claim_mail("next-sender", 60, 10).await.unwrap().len(), 1, "requeued by the admin");
        let audit = app.get("/api/v1/audit_log?object=mail").await;
        assert!(audit.body.to_string().contains("requeue"), "{}", audit.body);

        let agent = app.user_token("agent2@example.com", Role::SupportAgent).await;
        assert_eq!(app.get_as(&agent, "/api/v1/mail/queue").await.status, StatusCode::FORBIDDEN);
    });
}
