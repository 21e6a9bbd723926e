//! Satisfaction surveys (issue 11 §8): resolving a ticket puts a survey link on the customer's
//! ticket page; opening it records nothing; the answer (CSAT, NPS, comment) closes or reopens
//! the ticket, is credited to the agent who replied last, and a second answer replaces the
//! first, audited. Cross-site posts are refused.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::TestApp;

/// A request without a session, as a customer's browser sends it.
pub async fn public(
    app: &TestApp,
    method: Method,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let mut req = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app.router.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = res.status();
    let location = res.headers().get(header::LOCATION).map(|l| l.to_str().unwrap().to_string());
    (status, location, String::from_utf8_lossy(&axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()).into_owned())
}

fn link_after(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let href = html[..at].rfind("href=\"")? + 6;
    Some(html[href..].split('"').next()?.to_string())
}

/// Opens a ticket through the public form: its number and the customer's link.
pub async fn open_ticket(app: &TestApp, subject: &str) -> (i64, String) {
    let body = format!("name=Ann+Lee&email=ann%40example.com&subject={}&message=Help&website=", subject.replace(' ', "+"));
    let (status, _, html) = public(app, Method::POST, "/support", &body, &[]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let at = html.find("id=\"ticket-link\">").expect("the ticket's link") + 17;
    let link = html[at..].split('<').next().unwrap().to_string();
    (link.split('/').nth(3).unwrap().parse().unwrap(), link)
}

/// Takes an action on a ticket with its current version, as `token`.
pub async fn act(app: &TestApp, token: &str, id: i64, body: Value) -> Value {
    let t = app.get_as(token, format!("/api/v1/tickets/{id}")).await.body;
    let v = t["version"].to_string();
    let r = app.call(Method::POST, &format!("/api/v1/tickets/{id}/actions"), Some(token), Some(body.clone()), &[("if-match", &v)]).await;
    assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.body);
    r.body
}

/// The survey link on the customer's ticket page, once resolved.
pub async fn survey_link(app: &TestApp, ticket_link: &str) -> Option<String> {
    let (status, _, page) = public(app, Method::GET, ticket_link, "", &[]).await;
    assert_eq!(status, StatusCode::OK);
    link_after(&page, "survey-link")
}

async fn me(app: &TestApp, token: &str) -> i64 {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_customer_rates_a_resolved_ticket_and_a_second_answer_replaces_the_first() {
    each_backend!(|app| {
        let admin = app.token.clone();
        let agent = app.user_token("agent@example.com", Role::SupportAgent).await;
        let (admin_id, agent_id) = (me(&app, &admin).await, me(&app, &agent).await);
        let (id, link) = open_ticket(&app, "Printer on fire").await;
        assert_eq!(survey_link(&app, &link).await, None, "no survey before the ticket is resolved");
        assert_eq!(app.get(&format!("/api/v1/tickets/{id}/survey")).await.status, StatusCode::NOT_FOUND);

        // The agent owns it, the admin answers publicly (and notes internally), the agent resolves.
        act(&app, &admin, id, json!({"action": "assign", "owner_id": agent_id})).await;
        let msgs = format!("/api/v1/tickets/{id}/messages");
        assert_eq!(app.post(&msgs, json!({"body": "Replace the fuser."})).await.status, StatusCode::CREATED);
        let note = app.call(Method::POST, &msgs, Some(&agent), Some(json!({"body": "internal", "internal": true})), &[]).await;
        assert_eq!(note.status, StatusCode::CREATED);
        act(&app, &agent, id, json!({"action": "resolve"})).await;
        let survey = survey_link(&app, &link).await.expect("the survey link on the customer's page");
        assert!(survey.starts_with("/support/surveys/") && survey.len() > 60, "{survey}");
        assert_eq!(app.store.survey_link(id).await.unwrap().as_deref(), Some(survey.as_str()), "the mail module's link is the same");

        // Opening the link (as a mail scanner does) records nothing.
        let before = app.get(&format!("/api/v1/tickets/{id}")).await.body;
        let audit = app.get(&format!("/api/v1/audit_log?object=ticket&record_id={id}&limit=100")).await.body;
        for _ in 0..2 {
            let (status, _, page) = public(&app, Method::GET, &survey, "", &[]).await;
            assert_eq!(status, StatusCode::OK);
            assert!(page.contains("id=\"survey-form\"") && page.contains("Printer on fire") && !page.contains("survey-answered"), "{page}");
        }
        assert_eq!(app.get(&format!("/api/v1/tickets/{id}")).await.body, before);
        assert_eq!(app.get(&format!("/api/v1/audit_log?object=ticket&record_id={id}&limit=100")).await.body, audit);
        let s = app.get(&format!("/api/v1/tickets/{id}/survey")).await.body;
        assert_eq!((s["answers"].as_i64(), &s["answer"]), (Some(0), &json!(null)));

        // Bad input names the fields; another site's form is refused; a wrong token finds nothing.
        let (status, _, page) = public(&app, Method::POST, &survey, "csat=9&nps=11&comment=", &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        for f in ["csat", "nps", "decision"] {
            assert!(page.contains(&format!("data-field=\"{f}\"")), "{f}: {page}");
        }
        let good = "csat=2&nps=5&comment=Still+smoking&decision=reopen";
        let (status, _, _) = public(&app, Method::POST, &survey, good, &[("sec-fetch-site", "cross-site")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = public(&app, Method::POST, &survey, good, &[("host", "rapport.test"), ("origin", "https://evil.test")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let wrong = format!("/support/surveys/{}", "0".repeat(64));
        assert_eq!(public(&app, Method::GET, &wrong, "", &[]).await.0, StatusCode::NOT_FOUND);
        assert_eq!(public(&app, Method::POST, &wrong, good, &[]).await.0, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&format!("/api/v1/tickets/{id}")).await.body["status"], "resolved", "nothing refused was kept");

        // Reopen with a low rating: credited to the admin, who replied publicly last.
        let same_site = [("host", "rapport.test"), ("origin", "https://rapport.test"), ("sec-fetch-site", "same-origin")];
        let (status, location, _) = public(&app, Method::POST, &survey, good, &same_site).await;
        assert_eq!((status, location), (StatusCode::SEE_OTHER, Some(format!("{survey}/thanks"))));
        let (_, _, thanks) = public(&app, Method::GET, &format!("{survey}/thanks"), "", &[]).await;
        assert!(thanks.contains("id=\"survey-csat\">2<") && thanks.contains("open again"), "{thanks}");
        assert_eq!(app.get(&format!("/api/v1/tickets/{id}")).await.body["status"], "reopened");
        let s = app.get(&format!("/api/v1/tickets/{id}/survey")).await.body;
        assert_eq!(s["answer"], json!({"csat": 2, "nps": 5, "comment": "Still smoking", "decision": "reopen"}));
        assert_eq!((s["agent_id"].as_i64(), s["answers"].as_i64()), (Some(admin_id), Some(1)));

        // The agent replies and resolves again; the customer changes their answer and confirms.
        let r = app.call(Method::POST, &msgs, Some(&agent), Some(json!({"body": "New fuser fitted."})), &[]).await;
        assert_eq!(r.status, StatusCode::CREATED);
        act(&app, &agent, id, json!({"action": "start"})).await;
        act(&app, &agent, id, json!({"action": "resolve"})).await;
        assert_eq!(survey_link(&app, &link).await.as_deref(), Some(survey.as_str()), "one survey per ticket");
        let (_, _, page) = public(&app, Method::GET, &survey, "", &[]).await;
        assert!(page.contains("survey-answered") && page.contains("value=\"2\" checked"), "the earlier answer to change: {page}");
        let (status, _, _) = public(&app, Method::POST, &survey, "csat=5&nps=10&comment=Great&decision=confirm", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let t = app.get(&format!("/api/v1/tickets/{id}")).await.body;
        assert_eq!(t["status"], "closed");
        let s = app.get(&format!("/api/v1/tickets/{id}/survey")).await.body;
        assert_eq!((s["answer"]["csat"].as_i64(), s["agent_id"].as_i64(), s["answers"].as_i64()), (Some(5), Some(agent_id), Some(2)));

        // A closed ticket cannot be reopened from the survey; the refused answer is not kept.
        let (status, _, page) = public(&app, Method::POST, &survey, "csat=1&decision=reopen", &[]).await;
        assert_eq!(status, StatusCode::CONFLICT, "{page}");
        let s2 = app.get(&format!("/api/v1/tickets/{id}/survey")).await.body;
        assert_eq!(s2, s);
        let audit = app.get(&format!("/api/v1/audit_log?object=ticket&record_id={id}&limit=100")).await.body;
        let answers: Vec<&Value> =
            audit.as_array().unwrap().iter().filter(|e| e["action"].as_str().unwrap().starts_with("survey_")).collect();
        let actions: Vec<&str> = answers.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["survey_reanswer", "survey_answer", "survey_create"], "newest first");
        let diff = &answers[0]["diff"];
        assert_eq!((diff["before"]["csat"].as_i64(), diff["after"]["csat"].as_i64()), (Some(2), Some(5)), "{diff}");

        // Without a public reply the assignee is credited; a reader who cannot see the ticket cannot read its survey.
        let (id2, link2) = open_ticket(&app, "Paper jam").await;
        act(&app, &admin, id2, json!({"action": "assign", "owner_id": agent_id})).await;
        act(&app, &agent, id2, json!({"action": "resolve"})).await;
        let survey2 = survey_link(&app, &link2).await.unwrap();
        assert_ne!(survey2, survey);
        assert_eq!(public(&app, Method::POST, &survey2, "csat=4&decision=confirm", &[]).await.0, StatusCode::SEE_OTHER);
        let s = app.get(&format!("/api/v1/tickets/{id2}/survey")).await.body;
        assert_eq!((s["agent_id"].as_i64(), s["answer"]["nps"].clone()), (Some(agent_id), json!(null)));
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let r = app.get_as(&rep, format!("/api/v1/tickets/{id2}/survey")).await;
        assert!(matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{}", r.status);
    });
}
