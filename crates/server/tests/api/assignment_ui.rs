//! The queue page (issue 11 item 10): filters with "me" and "unassigned", counts per status for
//! the current filters and the reader's visibility, checkboxes and bulk assignment (all or
//! nothing, the refusal shown); and a team's assignment settings with the away toggles.

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::assignment::{agents, open, team};
use crate::each_backend;
use crate::helpers::ADMIN_EMAIL;
use crate::ui::{csrf_of, form, page, session};

/// The count shown for `status` (`all` for the total).
fn count(html: &str, status: &str) -> i64 {
    let marker = format!("data-status=\"{status}\">");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no count of {status}")) + marker.len();
    html[at..].split('<').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_queue_filters_counts_and_bulk_assigns_what_is_checked() {
    each_backend!(|app| {
        let ag = agents(&app, "qui", 2).await;
        let north = team(&app, "North", &[ag[0].1]).await;
        let south = team(&app, "South", &[ag[1].1]).await;
        let a = open(&app, &app.token, north, "Paper jam").await;
        let b = open(&app, &app.token, north, "Toner low").await;
        open(&app, &app.token, south, "Screen flicker").await;

        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/tickets", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert_eq!((count(&html, "all"), count(&html, "new"), count(&html, "assigned")), (3, 3, 0));
        assert!(html.contains(r#"name="ids""#) && html.contains(r#"value="unassigned""#) && html.contains(r#"value="me""#), "{html}");
        let (_, html) = page(&app, &format!("/tickets?team_id={north}&assignee=unassigned"), &cookie).await;
        assert_eq!(count(&html, "all"), 2);
        assert!(html.contains("Paper jam") && !html.contains("Screen flicker"), "{html}");

        // Check two and give them to the North agent: back to the same filters, saying so.
        let csrf = csrf_of(&html);
        let body = format!("_csrf={csrf}&back=team_id%3D{north}&ids={}&ids={}&assignee={}", a["id"], b["id"], ag[0].1);
        let (status, headers, html) = form(&app, "/tickets/bulk_assign", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let back = headers.get(header::LOCATION).unwrap().to_str().unwrap().to_string();
        assert_eq!(back, format!("/tickets?team_id={north}&assigned=2"));
        let (_, html) = page(&app, &back, &cookie).await;
        assert!(html.contains("Assigned 2 tickets."), "{html}");
        assert_eq!((count(&html, "new"), count(&html, "assigned")), (0, 2));

        // A missing ticket among the checked: nothing changes and the page names it.
        let body = format!("_csrf={csrf}&back=&ids={}&ids=999999&assignee=unassigned", a["id"]);
        let (status, _, html) = form(&app, "/tickets/bulk_assign", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("Nothing was assigned") && html.contains("ticket 999999"), "{html}");
        assert_eq!(app.get(&format!("/api/v1/tickets/{}", a["id"])).await.body["owner_id"].as_i64(), Some(ag[0].1));

        // The North agent's queue: their own tickets, never South's, in the list and the counts.
        let agent = session(&app, "qui0@example.com").await;
        let (_, html) = page(&app, "/tickets?assignee=me", &agent).await;
        assert!(html.contains("Paper jam") && html.contains("Toner low"), "{html}");
        assert_eq!(count(&html, "assigned"), 2);
        let (_, html) = page(&app, "/tickets", &agent).await;
        assert!(!html.contains("Screen flicker"), "{html}");
        assert_eq!(count(&html, "all"), 2);
        let (status, html) = page(&app, "/tickets?assignee=whoever", &agent).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("role=\"alert\"") && html.contains("assignee"), "{html}");
    });
}

#[tokio::test]
async fn the_team_page_sets_the_rule_the_cap_and_who_is_away() {
    each_backend!(|app| {
        let ag = agents(&app, "set", 2).await;
        let t = team(&app, "Desk", &[ag[0].1, ag[1].1]).await;
        let cookie = session(&app, ADMIN_EMAIL).await;
        let path = format!("/teams/{t}/assignment");
        let (status, html) = page(&app, &path, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("set0@example.com") && html.contains("Mark away"), "{html}");
        let csrf = csrf_of(&html);

        let (status, _, html) = form(&app, &path, Some(&cookie), &format!("_csrf={csrf}&mode=round_robin&max_open_per_agent=3")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let (status, _, _) =
            form(&app, &format!("{path}/away"), Some(&cookie), &format!("_csrf={csrf}&user_id={}&away=true", ag[0].1)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &path, &cookie).await;
        assert!(html.contains(r#"value="round_robin" selected"#) && html.contains(r#"value="3""#), "{html}");
        assert!(html.contains("no (away)") && html.contains("Mark back"), "{html}");
        // Away is skipped: the next ticket goes to the other agent.
        let next = open(&app, &app.token, t, "After the toggle").await;
        assert_eq!(next["owner_id"].as_i64(), Some(ag[1].1));
        let settings = app.get(&format!("/api/v1/teams/{t}/assignment")).await.body;
        assert_eq!((settings["mode"].clone(), settings["max_open_per_agent"].clone()), (json!("round_robin"), json!(3)));

        let (status, _, html) = form(&app, &path, Some(&cookie), &format!("_csrf={csrf}&mode=round_robin&max_open_per_agent=0")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("role=\"alert\"") && html.contains("max_open_per_agent"), "{html}");
        // An agent may not change the rule.
        let agent = session(&app, "set1@example.com").await;
        let (_, html) = page(&app, &path, &agent).await;
        let (status, _, html) = form(&app, &path, Some(&agent), &format!("_csrf={}&mode=manual", csrf_of(&html))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
        assert_eq!(app.get(&format!("/api/v1/teams/{t}/assignment")).await.body["mode"], "round_robin");
    });
}
