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

/// The text of the field error shown beside input `field`, if any.
fn field_error(html: &str, field: &str) -> Option<String> {
    let at = html.find(&format!("class=\"field-error\" data-field=\"{field}\">"))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    Some(rest[start..start + rest[start..].find("</span>")?].to_string())
}

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
        assert!(
            html.contains("role=\"alert\"") && html.contains("data-field=\"time_zone\"") && html.contains("data-field=\"week.monday\""),
            "{html}"
        );
        let body = format!("_csrf={csrf}&name=Bad&resolution_minutes=soon");
        let (status, _, html) = form(&app, "/admin/sla/policies", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("data-field=\"resolution_minutes\""), "{html}");

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

#[tokio::test]
async fn admins_edit_calendars_and_policies_in_the_form_with_errors_beside_the_fields() {
    each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let cal = created(
            &app,
            "/api/v1/service/calendars",
            json!({"name": "Berlin", "time_zone": "Europe/Berlin", "week": {"monday": ["09:00-17:00"]}, "holidays": ["2026-12-25"]}),
        )
        .await;
        let pol = created(&app, "/api/v1/service/sla_policies", json!({"name": "Standard", "first_response_minutes": 240})).await;
        let (cid, pid) = (cal["id"].as_i64().unwrap(), pol["id"].as_i64().unwrap());

        // The calendar opens in the form with what it holds, one input per weekday.
        let (status, html) = page(&app, &format!("/admin/sla/calendars/{cid}"), &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains(&format!("action=\"/admin/sla/calendars/{cid}\"")) && html.contains("Edit calendar"), "{html}");
        assert!(html.contains("name=\"week.monday\" value=\"09:00-17:00\"") && html.contains("name=\"week.tuesday\" value=\"\""), "{html}");
        assert!(html.contains("value=\"Europe/Berlin\"") && html.contains(">2026-12-25</textarea>"), "{html}");
        assert!(html.contains("name=\"version\" value=\"1\""), "{html}");
        let csrf = csrf_of(&html);

        // A wrong period and a wrong holiday: named beside their inputs, what was typed kept, nothing saved.
        let bad = format!(
            "_csrf={csrf}&version=1&name=Berlin&time_zone=Europe%2FBerlin&team_id=&week.monday=09%3A00-17%3A00&week.tuesday=9-5&holidays=2026-13-01"
        );
        let (status, _, html) = form(&app, &format!("/admin/sla/calendars/{cid}"), Some(&cookie), &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(field_error(&html, "week.tuesday").is_some_and(|e| e.contains("9-5")), "{html}");
        assert!(field_error(&html, "holidays").is_some_and(|e| e.contains("2026-13-01")), "{html}");
        assert_eq!(field_error(&html, "week.monday"), None, "{html}");
        assert!(html.contains("name=\"week.tuesday\" value=\"9-5\"") && html.contains("Edit calendar"), "{html}");
        let r = app.get(&format!("/api/v1/service/calendars/{cid}")).await;
        assert_eq!((r.body["version"].as_i64(), r.body["week"]["tuesday"].is_null()), (Some(1), true), "{}", r.body);

        // Corrected: saved, with two periods on Tuesday and Friday off.
        let good = format!(
            "_csrf={csrf}&version=1&name=Berlin+office&time_zone=Europe%2FBerlin&team_id=&week.monday=09%3A00-17%3A00&week.tuesday=08%3A00-12%3A00+13%3A00-16%3A00&week.friday=&holidays=2026-12-24%0A2026-12-25"
        );
        let (status, headers, html) = form(&app, &format!("/admin/sla/calendars/{cid}"), Some(&cookie), &good).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(headers.get(header::LOCATION).unwrap(), "/admin/sla");
        let r = app.get(&format!("/api/v1/service/calendars/{cid}")).await;
        assert_eq!(r.body["name"], "Berlin office");
        assert_eq!(r.body["week"], json!({"monday": ["09:00-17:00"], "tuesday": ["08:00-12:00", "13:00-16:00"]}));
        assert_eq!(r.body["holidays"], json!(["2026-12-24", "2026-12-25"]));
        let (_, html) = page(&app, "/admin/sla", &cookie).await;
        assert!(html.contains("tuesday 08:00-12:00 13:00-16:00") && html.contains("2026-12-24, 2026-12-25"), "{html}");

        // The same stale form again is refused: someone (this form) changed it since.
        let (status, _, html) = form(&app, &format!("/admin/sla/calendars/{cid}"), Some(&cookie), &good).await;
        assert_eq!(status, StatusCode::CONFLICT, "{html}");
        assert!(html.contains("role=\"alert\""), "{html}");

        // The policy opens in its form; a bad threshold is named beside it, then the fix is saved.
        let (status, html) = page(&app, &format!("/admin/sla/policies/{pid}"), &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("name=\"first_response_minutes\" value=\"240\"") && html.contains("Edit policy"), "{html}");
        let body = |pct: &str| {
            format!(
                "_csrf={csrf}&version=1&name=Urgent+email&position=0&priority=urgent&category=&channel=email&company_id=&first_response_minutes=30&next_response_minutes=&resolution_minutes=240&near_breach_percent={pct}"
            )
        };
        let (status, _, html) = form(&app, &format!("/admin/sla/policies/{pid}"), Some(&cookie), &body("120")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(field_error(&html, "near_breach_percent").is_some_and(|e| e.contains("1 to 99")), "{html}");
        assert!(html.contains("<option selected>urgent</option>") && html.contains("value=\"email\" selected"), "{html}");
        let (status, _, html) = form(&app, &format!("/admin/sla/policies/{pid}"), Some(&cookie), &body("75")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let r = app.get(&format!("/api/v1/service/sla_policies/{pid}")).await;
        assert_eq!(
            (
                &r.body["priority"],
                &r.body["channel"],
                &r.body["first_response_minutes"],
                &r.body["near_breach_percent"],
                &r.body["version"]
            ),
            (&json!("urgent"), &json!("email"), &json!(30), &json!(75), &json!(2)),
            "{}",
            r.body
        );
        let (_, html) = page(&app, "/admin/sla", &cookie).await;
        assert!(html.contains("priority urgent, channel email") && html.contains("30 min"), "{html}");

        // An agent opens the form but may not save it.
        app.user_token("agent@example.com", Role::SupportAgent).await;
        let agent = session(&app, "agent@example.com").await;
        let (status, html) = page(&app, &format!("/admin/sla/policies/{pid}"), &agent).await;
        assert_eq!(status, StatusCode::OK);
        let body = format!("_csrf={}&version=2&name=Mine&resolution_minutes=5", csrf_of(&html));
        let (status, _, _) = form(&app, &format!("/admin/sla/policies/{pid}"), Some(&agent), &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&format!("/api/v1/service/sla_policies/{pid}")).await.body["name"], "Urgent email");
    });
}
