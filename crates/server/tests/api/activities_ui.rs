//! The sales pages' server side (issue 9 §1, §4): the public lead form, the lead list, the
//! task lists with their in-place done, activities on people and companies, the web form's
//! admin page.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rapport_domain::permissions::Role;
use serde_json::json;
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::ui::{csrf_of, form, page, session};

/// The `version` hidden field of the form whose action is `action`.
fn version_in(html: &str, action: &str) -> String {
    let at = html.find(&format!("action=\"{action}\"")).unwrap_or_else(|| panic!("a form posting to {action}"));
    let rest = &html[at..];
    let v = rest.find("name=\"version\" value=\"").expect("a version field") + 22;
    rest[v..].split('"').next().unwrap().to_string()
}

async fn public_post(app: &TestApp, body: &str, origin: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::post("/forms/lead").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    let res = app.router.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = res.status();
    (status, String::from_utf8_lossy(&axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()).into_owned())
}

#[tokio::test]
async fn the_public_lead_form_needs_no_sign_in() {
    each_backend!(|app| {
        let res = app.router.clone().oneshot(Request::get("/forms/lead").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "no redirect to the login page");
        let html = String::from_utf8_lossy(&axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()).into_owned();
        assert!(html.contains("id=\"lead-form\"") && html.contains("name=\"website\""), "the form with its honeypot");

        let (status, html) = public_post(&app, "name=&email=nope&phone=&company_name=&message=&website=", None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("data-field=\"name\"") && html.contains("data-field=\"email\""), "errors beside their fields");
        assert!(html.contains("value=\"nope\""), "what was typed stays");

        let (status, html) =
            public_post(&app, "name=Wanda+Web&email=wanda%40example.com&phone=&company_name=Globex&message=Call+me&website=", None).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"lead-thanks\""));
        let p = app.get("/api/v1/customers?email=wanda@example.com").await.body["data"][0].clone();
        assert_eq!(
            (p["lifecycle_stage"].as_str(), p["source"].as_str(), p["needs"].as_str()),
            (Some("lead"), Some("web form"), Some("Call me"))
        );

        let (status, html) = public_post(&app, "name=Bot&email=bot%40example.com&website=http%3A%2F%2Fspam", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"lead-thanks\""), "a bot is thanked too");
        assert_eq!(app.get("/api/v1/customers?email=bot@example.com").await.body["data"], json!([]));

        let (status, _) = public_post(&app, "name=Eve&email=eve%40example.com", Some("https://evil.example")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(app.get("/api/v1/customers?email=eve@example.com").await.body["data"], json!([]));
    });
}

#[tokio::test]
async fn the_lead_list_shows_leads_with_their_status_and_forms_refuse_what_the_status_does_not_allow() {
    each_backend!(|app| {
        let lead = app.customer(json!({"name": "Lena Lead"})).await;
        app.patch(&format!("/api/v1/customers/{}", lead["id"]), json!({"lead_status": "working"}), None).await;
        app.customer(json!({"name": "Carl Customer", "lifecycle_stage": "customer"})).await;
        let admin = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/leads", &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<h1>Leads</h1>") && html.contains("Lena Lead") && !html.contains("Carl Customer"), "leads only");
        assert!(html.contains("<span class=\"stage working\">working</span>"), "with their status");
        assert!(html.contains(&format!("href=\"/customers/{}\"", lead["id"])), "rows open the person");
        assert!(html.contains("action=\"/leads\""), "the filters stay on the lead list");
        let (_, html) = page(&app, "/leads?lead_status=new", &admin).await;
        assert!(!html.contains("Lena Lead"));
        let res = app
            .router
            .clone()
            .oneshot(Request::get("/leads/new").header(header::COOKIE, &admin).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.headers()[header::LOCATION], "/customers/new?lifecycle_stage=lead");

        // The person's form: a status the lead may not take now is refused beside its field.
        let edit = format!("/customers/{}/edit", lead["id"]);
        let (_, html) = page(&app, &edit, &admin).await;
        assert!(html.contains("name=\"lead_status\"") && html.contains("name=\"disqualified_reason\""));
        let csrf = csrf_of(&html);
        let version = version_in(&html, &edit);
        let body = format!("_csrf={csrf}&version={version}&name=Lena+Lead&lifecycle_stage=lead&lead_status=qualified&disqualified_reason=");
        let (status, _, html) = form(&app, &edit, Some(&admin), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("data-field=\"lead_status\"") && html.contains("convert"), "the refusal names what is allowed");
        let body =
            format!("_csrf={csrf}&version={version}&name=Lena+Lead&lifecycle_stage=lead&lead_status=disqualified&disqualified_reason=");
        let (status, _, html) = form(&app, &edit, Some(&admin), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("data-field=\"disqualified_reason\""));
        let body = format!(
            "_csrf={csrf}&version={version}&name=Lena+Lead&lifecycle_stage=lead&lead_status=disqualified&disqualified_reason=Chose+a+rival"
        );
        assert_eq!(form(&app, &edit, Some(&admin), &body).await.0, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &format!("/customers/{}", lead["id"]), &admin).await;
        assert!(html.contains("stage disqualified") && html.contains("Chose a rival"));
    });
}

#[tokio::test]
async fn activities_show_on_people_and_companies_and_their_links_prefill_the_form() {
    each_backend!(|app| {
        let acme = app.company(json!({"name": "Acme & Co"})).await;
        let ann = app.customer(json!({"name": "Ann Lee", "company_id": acme["id"]})).await;
        app.post(
            "/api/v1/activities",
            json!({"kind": "call", "subject": "Intro call", "customer_id": ann["id"], "company_id": acme["id"]}),
        )
        .await;
        let admin = session(&app, ADMIN_EMAIL).await;
        let (_, html) = page(&app, &format!("/customers/{}", ann["id"]), &admin).await;
        assert!(html.contains("id=\"activities\"") && html.contains("Intro call"));
        let link = format!("/activities/new?kind=note&amp;customer_id={}&amp;customer_id.title=Ann%20Lee", ann["id"]);
        // (Templates escape `&` as `&#38;`, which is `&amp;` too.)
        assert!(html.replace("&#38;", "&amp;").contains(&link), "an add-a-note link naming the person: {link}");
        let (_, html) = page(&app, &format!("/companies/{}", acme["id"]), &admin).await;
        assert!(html.contains("Intro call") && html.contains("company_id.title=Acme%20%26%20Co"));

        let (status, html) =
            page(&app, &format!("/activities/new?kind=note&customer_id={}&customer_id.title=Ann%20Lee", ann["id"]), &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<option value=\"note\" selected>"), "the kind is chosen");
        assert!(
            html.contains(&format!("name=\"customer_id\" value=\"{}\"", ann["id"])) && html.contains("value=\"Ann Lee\""),
            "the person is chosen"
        );
        // A note's form without the done box ticked: a note is done anyway.
        let csrf = csrf_of(&html);
        let body = format!(
            "_csrf={csrf}&version=0&kind=note&subject=Prefers+email&customer_id={}&company_id=&opportunity_id=&assignee_id=&owner_id=&due_at=&starts_at=&ends_at=&body=Mornings",
            ann["id"]
        );
        let (status, headers, html) = form(&app, "/activities/new", Some(&admin), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let at = headers[header::LOCATION].to_str().unwrap().to_string();
        let (status, html) = page(&app, &at, &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Prefers email") && html.contains("Mornings") && html.contains(">Ann Lee</a>"));
        let body = format!("_csrf={csrf}&version=0&kind=meeting&subject=Demo&customer_id={}&starts_at=", ann["id"]);
        let (status, _, html) = form(&app, "/activities/new", Some(&admin), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("data-field=\"starts_at\""), "a meeting needs its start, beside the field");
    });
}

#[tokio::test]
async fn the_task_list_checks_tasks_off_in_place() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann"})).await;
        let today = chrono::Utc::now().date_naive();
        let t = app
            .post(
                "/api/v1/activities",
                json!({"kind": "task", "subject": "Send the quote", "customer_id": ann["id"], "due_at": today.to_string()}),
            )
            .await
            .body;
        let old = app
            .post("/api/v1/activities", json!({"kind": "task", "subject": "Chase invoice", "customer_id": ann["id"], "due_at": (today - chrono::Duration::days(3)).to_string()}))
            .await
            .body;
        let admin = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/tasks", &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Send the quote") && !html.contains("Chase invoice"), "today's view by default");
        let (_, overdue) = page(&app, "/tasks?view=overdue", &admin).await;
        assert!(overdue.contains("Chase invoice") && overdue.contains("class=\"overdue\""));
        let action = format!("/tasks/{}/done", t["id"]);
        assert!(html.contains(&format!("action=\"{action}\"")) && html.contains("data-inplace"));
        let csrf = csrf_of(&html);
        let (status, _, _) = form(&app, &action, Some(&admin), "version=1").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the CSRF token is checked");
        let (status, _, page_html) = form(&app, &action, Some(&admin), &format!("_csrf={csrf}&version=9&back=/tasks?view=today")).await;
        assert_eq!(status, StatusCode::CONFLICT, "a stale version is refused");
        assert!(page_html.contains("role=\"alert\""));
        let (status, headers, _) = form(&app, &action, Some(&admin), &format!("_csrf={csrf}&version=1&back=%2Ftasks%3Fview%3Dtoday")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(headers[header::LOCATION].to_str().unwrap().starts_with("/tasks?view=today"));
        assert_eq!(app.get(&format!("/api/v1/activities/{}", t["id"])).await.body["done"], true);
        let (_, html) = page(&app, "/tasks", &admin).await;
        assert!(!html.contains("Send the quote"), "done tasks leave the list");
        assert_eq!(old["done"], false);
    });
}

#[tokio::test]
async fn admins_set_the_allowed_origins_on_the_web_form_page() {
    each_backend!(|app| {
        let admin = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/admin/web_form", &admin).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = csrf_of(&html);
        let (status, _, html) = form(
            &app,
            "/admin/web_form",
            Some(&admin),
            &format!("_csrf={csrf}&version=0&allowed_origins=https%3A%2F%2Fok.example%0Anot+an+origin&default_owner_id="),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("data-field=\"allowed_origins.1\""), "the bad line is named");
        let (status, _, _) = form(
            &app,
            "/admin/web_form",
            Some(&admin),
            &format!("_csrf={csrf}&version=0&allowed_origins=https%3A%2F%2Fok.example%0A&default_owner_id="),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.get("/api/v1/settings/web_form").await.body["allowed_origins"], json!(["https://ok.example"]));
        let (status, _) = public_post(&app, "name=Ok&email=ok%40example.com", Some("https://ok.example")).await;
        assert_eq!(status, StatusCode::OK);
        app.user_token("rep@example.com", Role::SalesRep).await;
        let rep = session(&app, "rep@example.com").await;
        assert_eq!(page(&app, "/admin/web_form", &rep).await.0, StatusCode::FORBIDDEN);
    });
}
