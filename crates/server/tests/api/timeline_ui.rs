//! The pages of Convert and of the timeline: the Convert buttons and form (prefilled, errors
//! beside their fields, the deal's page on success) and the timeline card on people,
//! companies and deals with its "Show more" pages.

use axum::http::{StatusCode, header};
use rapport_domain::permissions::Role;
use serde_json::json;

use crate::each_backend;
use crate::helpers::ADMIN_EMAIL;
use crate::ui::{csrf_of, form, page, session};

#[tokio::test]
async fn a_lead_converts_through_its_form_and_its_timeline_shows_it() {
    each_backend!(|app| {
        let lead = app.customer(json!({"name": "Ann Lead"})).await;
        let out = app.customer(json!({"name": "Out Lead"})).await;
        let r = app
            .patch(&format!("/api/v1/customers/{}", out["id"]), json!({"lead_status": "disqualified", "disqualified_reason": "No"}), None)
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/leads", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains(&format!("href=\"/customers/{}/convert\"", lead["id"])), "a Convert button on the lead's row");
        assert!(!html.contains(&format!("href=\"/customers/{}/convert\"", out["id"])), "none for a disqualified lead");
        let (_, html) = page(&app, &format!("/customers/{}", lead["id"]), &cookie).await;
        assert!(html.contains(&format!("href=\"/customers/{}/convert\"", lead["id"])), "and on the person's page");

        let path = format!("/customers/{}/convert", lead["id"]);
        let (status, html) = page(&app, &path, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("value=\"Ann Lead deal\""), "prefilled name");
        assert!(html.contains("<option value=\"1\" selected>Sales</option>"), "the default pipeline: {html}");
        let csrf = csrf_of(&html);
        // A bad amount and a bad date: shown beside their fields, nothing converted.
        let (status, _, html) =
            form(&app, &path, Some(&cookie), &format!("_csrf={csrf}&name=Pilot&amount_minor=12.345&currency=EUR&pipeline_id=1&owner_id=1"))
                .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("data-field=\"amount_minor\""), "{html}");
        let (status, _, html) = form(
            &app,
            &path,
            Some(&cookie),
            &format!("_csrf={csrf}&name=Pilot&currency=EUR&expected_close_date=31.12.2026&pipeline_id=1&owner_id=1"),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("data-field=\"expected_close_date\"") && html.contains("value=\"Pilot\""),
            "errors beside fields, values kept: {html}"
        );
        assert_eq!(app.get(&format!("/api/v1/customers/{}", lead["id"])).await.body["lifecycle_stage"], "lead");

        let (status, headers, _) = form(
            &app,
            &path,
            Some(&cookie),
            &format!("_csrf={csrf}&name=Pilot&amount_minor=1%2C500.00&currency=EUR&pipeline_id=1&owner_id=1&company_name=Nordwind"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let deal = headers.get(header::LOCATION).unwrap().to_str().unwrap().to_string();
        let (status, html) = page(&app, &deal, &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Pilot") && html.contains("1,500.00 EUR") && html.contains("Nordwind"), "{html}");
        assert!(html.contains("id=\"timeline\"") && html.contains("Created in Qualification"), "the deal's timeline");
        // Converting again from the form: refused on top.
        let (status, _, html) = form(&app, &path, Some(&cookie), &format!("_csrf={csrf}&currency=EUR&pipeline_id=1&owner_id=1")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(html.contains("role=\"alert\"") && html.contains("no longer a lead"), "{html}");

        // The person's page shows the conversion and the deal's creation, newest first.
        let (_, html) = page(&app, &format!("/customers/{}", lead["id"]), &cookie).await;
        let conversion = html.find("Converted into a deal: new → qualified").expect("the conversion on the timeline");
        let created = html.find("Created in Qualification").expect("the deal's creation");
        assert!(conversion < created, "newest first");
        assert!(html.contains(&format!("href=\"{deal}\"")) && !html.contains(&format!("href=\"/customers/{}/convert\"", lead["id"])));
        let company = app.get(&format!("/api/v1/customers/{}", lead["id"])).await.body["company_id"].clone();
        let (_, html) = page(&app, &format!("/companies/{company}"), &cookie).await;
        assert!(html.contains("id=\"timeline\"") && html.contains("Converted into a deal"), "the company's timeline");
    });
}

#[tokio::test]
async fn show_more_pages_on_and_a_rep_sees_only_their_events() {
    each_backend!(|app| {
        let p = app.customer(json!({"name": "Busy Person", "owner_id": null})).await;
        for i in 0..55 {
            let r = app
                .post("/api/v1/activities", json!({"kind": "note", "subject": format!("Note number {i:02}"), "customer_id": p["id"]}))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (_, html) = page(&app, &format!("/customers/{}", p["id"]), &cookie).await;
        assert!(html.contains("Note number 54") && !html.contains("Note number 04"), "the first page holds the newest 50");
        let at = html.find("data-timeline-more").expect("a Show more link");
        let start = html[..at].rfind("href=\"").unwrap() + 6;
        let more = html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&");
        assert!(more.starts_with(&format!("/customers/{}/timeline?cursor=", p["id"])), "{more}");
        let (status, html) = page(&app, &more, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Note number 04") && html.contains("Note number 00") && !html.contains("Note number 05"), "{html}");
        assert!(!html.contains("data-timeline-more"), "the last page");
        let (status, _) = page(&app, &format!("/customers/{}/timeline?cursor=nonsense", p["id"]), &cookie).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // A rep sees the shared person but not the admin's notes (owned by the admin).
        app.user_token("rep@example.com", Role::SalesRep).await;
        let rep = session(&app, "rep@example.com").await;
        let (status, html) = page(&app, &format!("/customers/{}", p["id"]), &rep).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("Note number") && html.contains("Nothing has happened yet."), "{html}");
    });
}
