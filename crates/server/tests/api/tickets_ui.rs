//! The ticket pages (issue 11 item 10, first part): the queue, the form, and the ticket's page
//! whose buttons are exactly the actions its status allows, each moving it through the API's
//! rules (a stale page's button is refused).

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::each_backend;
use crate::helpers::ADMIN_EMAIL;
use crate::ui::{csrf_of, form, page, session};

#[tokio::test]
async fn an_agent_opens_a_ticket_in_the_form_and_moves_it_with_the_buttons_its_status_allows() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/tickets/new", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("name=\"subject\"") && html.contains("name=\"priority\"") && !html.contains("name=\"status\""), "{html}");
        let csrf = csrf_of(&html);
        let body = format!(
            "_csrf={csrf}&version=0&subject=Printer+on+fire&customer_id={}&priority=urgent&channel=phone&category=&description=Smoke",
            ann["id"]
        );
        let (status, headers, html) = form(&app, "/tickets/new", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let location = headers.get(header::LOCATION).unwrap().to_str().unwrap().to_string();
        let id = location.rsplit('/').next().unwrap().to_string();

        let (status, html) = page(&app, &format!("/tickets/{id}"), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Printer on fire") && html.contains(">new<") && html.contains("in the queue"), "{html}");
        assert!(html.contains(r#"value="assign""#) && !html.contains(r#"value="resolve""#) && !html.contains(r#"value="start""#));

        let button = |version: i64, action: &str| format!("_csrf={csrf}&version={version}&action={action}");
        let (status, _, _) = form(&app, &format!("/tickets/{id}/action"), Some(&cookie), &button(1, "assign")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, html) = form(&app, &format!("/tickets/{id}/action"), Some(&cookie), &button(1, "start")).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "a stale page's button is refused: {html}");
        let (_, html) = page(&app, &format!("/tickets/{id}"), &cookie).await;
        assert!(html.contains(">assigned<") && html.contains(r#"value="start""#) && html.contains(r#"value="resolve""#), "{html}");
        assert!(!html.contains(r#"value="assign""#));
        // Snoozing needs a date: without one the page says so.
        let (status, _, html) = form(&app, &format!("/tickets/{id}/action"), Some(&cookie), &button(2, "snooze")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("role=\"alert\"") && html.contains("until"), "{html}");
        let (status, _, _) = form(&app, &format!("/tickets/{id}/action"), Some(&cookie), &button(2, "resolve")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &format!("/tickets/{id}"), &cookie).await;
        assert!(html.contains(">resolved<") && html.contains(r#"value="reopen""#) && !html.contains(r#"value="resolve""#), "{html}");
        assert!(html.contains("id=\"ticket-history\"") && html.matches("<tr><td>").count() == 3, "new, assigned, resolved: {html}");

        // The reply box adds to the conversation; an internal note says so.
        let (status, headers, _) =
            form(&app, &format!("/tickets/{id}/messages"), Some(&cookie), &format!("_csrf={csrf}&body=Replaced+the+tray")).await;
        assert_eq!(
            (status, headers.get(header::LOCATION).map(|l| l.to_str().unwrap().to_string())),
            (StatusCode::SEE_OTHER, Some(format!("/tickets/{id}#conversation")))
        );
        form(&app, &format!("/tickets/{id}/messages"), Some(&cookie), &format!("_csrf={csrf}&body=Check+the+fuser&internal=on")).await;
        let (status, _, html) = form(&app, &format!("/tickets/{id}/messages"), Some(&cookie), &format!("_csrf={csrf}&body=")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        let (_, html) = page(&app, &format!("/tickets/{id}"), &cookie).await;
        assert!(
            html.contains("Replaced the tray")
                && html.contains("Check the fuser")
                && html.matches(r#"class="message internal""#).count() == 1,
            "{html}"
        );

        let (status, html) = page(&app, "/tickets?status=resolved", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Printer on fire") && html.contains("Ann Lee"), "{html}");
        let (_, html) = page(&app, "/tickets?status=new", &cookie).await;
        assert!(!html.contains("Printer on fire"));
        // The person's timeline shows the ticket's steps.
        let (_, html) = page(&app, &format!("/customers/{}/timeline", ann["id"]), &cookie).await;
        assert!(html.contains(&format!("/tickets/{id}")) && html.contains("assigned → resolved"), "{html}");
    });
}
