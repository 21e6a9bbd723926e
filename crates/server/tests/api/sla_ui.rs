//! The SLA and notification pages (issue 11 §6, §7 and §10): admins add calendars and policies
//! on /admin/sla (others are refused, bad input is named), the ticket's page shows its SLA
//! standing, and a mention shows on the notifications page until it is opened.

use axum::http::{StatusCode, header};
use rapport_domain::permissions::Role;
use serde_json::json;

use crate::each_backend;
use crate::helpers::ADMIN_EMAIL;
use crate::sla::created;
use crate::ui::{csrf_of, form, page, session};

#[tokio::test]
async fn admins_keep_calendars_and_policies_on_their_page_and_tickets_show_their_sla() {
    each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/admin/sla", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("No calendars yet") && html.contains("No policies yet"), "{html}");
        let csrf = csrf_of(&html);
        let body = format!(
            "_csrf={csrf}&name=Berlin&time_zone=Europe%2FBerlin&team_id=&is_default=on&week=monday+09%3A00-12%3A00+13%3A00-17%3A00%0Atuesday+09%3A00-17%3A00&holidays=2026-12-25"
        );
        let (status, _, html) = form(&app, "/admin/sla/calendars", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let body = format!(
            "_csrf={csrf}&name=Standard&position=&priority=&category=&channel=&company_id=&first_response_minutes=240&next_response_minutes=&resolution_minutes=960&near_breach_percent=80"
        );
        let (status, _, html) = form(&app, "/admin/sla/policies", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let (_, html) = page(&app, "/admin/sla", &cookie).await;
        assert!(html.contains("Europe/Berlin") && html.contains("monday 09:00-12:00 13:00-17:00") && html.contains("2026-12-25"), "{html}");
        assert!(html.contains("Standard") && html.contains("every ticket") && html.contains("4 h") && html.contains("16 h"), "{html}");

        // Bad input comes back on the page, naming the field.
        let body = format!("_csrf={csrf}&name=Bad&time_zone=Mars%2FOlympus&week=monday+9-5");
        let (status, _, html) = form(&app, "/admin/sla/calendars", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("role=\"alert\"") && html.contains("time_zone") && html.contains("week.monday[0]"), "{html}");
        let body = format!("_csrf={csrf}&name=Bad&resolution_minutes=soon");
        let (status, _, html) = form(&app, "/admin/sla/policies", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("resolution_minutes"), "{html}");

        // An agent reads the page but may not add to it.
        app.user_token("agent@example.com", Role::SupportAgent).await;
        let agent = session(&app, "agent@example.com").await;
        let (status, html) = page(&app, "/admin/sla", &agent).await;
        assert_eq!(status, StatusCode::OK);
        let body = format!("_csrf={}&name=Mine&resolution_minutes=5", csrf_of(&html));
        let (status, _, _) = form(&app, "/admin/sla/policies", Some(&agent), &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // The ticket's page shows its standing.
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let t = created(&app, "/api/v1/tickets", json!({"subject": "Invoice", "customer_id": ann["id"]})).await;
        let (status, html) = page(&app, &format!("/tickets/{}", t["id"]), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"ticket-sla\"") && html.contains("Standard · Berlin"), "{html}");
        assert!(html.contains("first response (4 h)") && html.contains("resolution (16 h)"), "{html}");
    });
}

#[tokio::test]
async fn a_mention_shows_on_the_notifications_page_until_opened() {
    each_backend!(|app| {
        app.user_token("bob@example.com", Role::SupportAgent).await;
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let t = created(&app, "/api/v1/tickets", json!({"subject": "Refund", "customer_id": ann["id"]})).await;
        let r = app.post(&format!("/api/v1/tickets/{}/messages", t["id"]), json!({"body": "@bob please check", "internal": true})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let bob = session(&app, "bob@example.com").await;
        assert_eq!(page(&app, "/notifications/badge", &bob).await.1, "1");
        let (status, html) = page(&app, "/notifications", &bob).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"notifications-link\"") && html.contains("id=\"unread-count\""), "{html}");
        let text = format!("Admin mentioned you on #{} Refund", t["id"]);
        assert!(html.contains(&text) && html.contains("class=\"unread\""), "{html}");
        // The last form on the page is the one item's "Open".
        let at = html.rfind("action=\"/notifications/").unwrap() + 8;
        let path: String = html[at..].chars().take_while(|c| *c != '"').collect();
        assert!(path.ends_with("/open"), "{path}");
        let (status, headers, _) = form(&app, &path, Some(&bob), &format!("_csrf={}", csrf_of(&html))).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers.get(header::LOCATION).unwrap(), &format!("/tickets/{}", t["id"]));
        assert_eq!(page(&app, "/notifications/badge", &bob).await.1, "", "read now");
    });
}
