//! The web UI's server side: sessions, CSRF, and the pages rendering what the store allows.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, PASSWORD, TestApp};

pub async fn form(app: &TestApp, path: &str, cookie: Option<&str>, body: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let res = app.router.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let text = String::from_utf8_lossy(&axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()).into_owned();
    (status, headers, text)
}

pub async fn page(app: &TestApp, path: &str, cookie: &str) -> (StatusCode, String) {
    let req = Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    (status, String::from_utf8_lossy(&axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()).into_owned())
}

pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field") + 20;
    html[at..at + 32].to_string()
}

#[tokio::test]
async fn forms_need_the_session_and_its_csrf_token() {
    each_backend!(|app| {
        let (status, headers, _) =
            sign_in(&app, &format!("email={ADMIN_EMAIL}&password={}&next=/customers", PASSWORD.replace(' ', "+"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let set = headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_string();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
        let cookie = set.split(';').next().unwrap().to_string();
        let (status, html) = page(&app, "/customers/new", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = csrf_of(&html);
        let (status, _, _) = form(&app, "/customers/new", Some(&cookie), "name=Forged").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token, no change");
        let (status, _, _) = form(&app, "/customers/new", Some(&cookie), "name=Forged&_csrf=00000000000000000000000000000000").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Every form of a signed-in user is checked, whatever its handler does.
        for path in [
            "/logout",
            "/customers/1/edit",
            "/customers/1/delete",
            "/companies/new",
            "/companies/1/edit",
            "/companies/1/delete",
            "/admin/users",
            "/admin/users/update",
            "/admin/teams",
            "/admin/roles",
            "/analytics",
        ] {
            let (status, _, _) = form(&app, path, Some(&cookie), "name=Forged&id=1&_csrf=00000000000000000000000000000000").await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} without its CSRF token");
        }
        let (status, _, html) =
            form(&app, "/customers/new", Some(&cookie), &format!("name=Ann&email=not-an-email&lifecycle_stage=lead&_csrf={csrf}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("data-field=\"email\""), "the error sits beside the field");
        let (status, headers, _) =
            form(&app, "/customers/new", Some(&cookie), &format!("name=Ann&email=ann%40example.com&lifecycle_stage=lead&_csrf={csrf}"))
                .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(headers.get(header::LOCATION).unwrap().to_str().unwrap().starts_with("/customers/"));
        assert!(app.people("q=ann").await == ["Ann"]);
        let (status, _) = page(&app, "/customers", "rapport_session=rpt_forged").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "an unknown session goes to the login page");
    });
}

/// Posts the sign-in form as a browser does: fetch the page (its cookie and form token), then
/// submit `body` with both.
pub async fn sign_in(app: &TestApp, body: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let res = app.router.clone().oneshot(Request::get("/login").body(Body::empty()).unwrap()).await.unwrap();
    let cookie = res.headers().get(header::SET_COOKIE).expect("a sign-in cookie").to_str().unwrap().split(';').next().unwrap().to_string();
    let html = String::from_utf8_lossy(&axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()).into_owned();
    form(app, "/login", Some(&cookie), &format!("{body}&_csrf={}", csrf_of(&html))).await
}

/// The session cookie (`rapport_session=…`) of `email`, signed in through the form.
pub async fn session(app: &TestApp, email: &str) -> String {
    let (_, headers, _) = sign_in(app, &format!("email={email}&password={}", PASSWORD.replace(' ', "+"))).await;
    headers.get(header::SET_COOKIE).expect("signed in").to_str().unwrap().split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn admin_pages_manage_users_and_show_the_audit_log() {
    each_backend!(|app| {
        let admin = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/admin/users", &admin).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = csrf_of(&html);
        let body = format!("_csrf={csrf}&name=Rita&email=rita%40example.com&password=correct+horse+battery&role=sales_rep");
        let (status, _, _) = form(&app, "/admin/users", Some(&admin), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, "/admin/users", &admin).await;
        assert!(html.contains("rita@example.com"));
        let (status, _, html) =
            form(&app, "/admin/users", Some(&admin), &format!("_csrf={csrf}&name=X&email=x%40example.com&password=short&role=viewer"))
                .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("at least 10 characters"));
        let (_, html) = page(&app, "/admin/audit?object=user", &admin).await;
        assert!(html.contains("rita@example.com"), "the creation is in the audit log");
        let rita = session(&app, "rita@example.com").await;
        for path in ["/admin/audit", "/admin/teams"] {
            let (status, _) = page(&app, path, &rita).await;
            assert!(status == StatusCode::FORBIDDEN || path == "/admin/teams", "{path}: {status}");
        }
        let (_, html) = page(&app, "/admin/users", &rita).await;
        let rita_csrf = csrf_of(&html);
        let (status, _, _) =
            form(&app, "/admin/users/update", Some(&rita), &format!("_csrf={rita_csrf}&id=2&role=admin&is_active=on")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a sales rep cannot promote herself through the UI either");
    });
}

#[tokio::test]
async fn admins_define_custom_roles_in_the_ui() {
    each_backend!(|app| {
        let admin = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/admin/roles", &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("sales_rep") && html.contains("built-in"));
        let csrf = csrf_of(&html);
        assert!(
            html.contains(r#"name="analytics.run""#)
                && !html.contains(r#"name="analytics.read""#)
                && !html.contains(r#"name="customer.run""#)
        );
        let body = format!(
            "_csrf={csrf}&name=support_lead&visibility=team&customer.read=on&customer.update=on&customer.pii=on&audit_log.read=on&analytics.run=on"
        );
        let (status, _, _) = form(&app, "/admin/roles", Some(&admin), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let roles = app.get("/api/v1/roles").await;
        let lead = roles.body.as_array().unwrap().iter().find(|r| r["name"] == "support_lead").expect("saved").clone();
        assert_eq!(lead["permissions"]["grants"]["customer"], serde_json::json!(["read", "update", "pii"]));
        assert_eq!(lead["permissions"]["visibility"], "team");
        assert_eq!(lead["permissions"]["grants"]["analytics"], serde_json::json!(["run"]));
        let (status, _, html) = form(&app, "/admin/roles", Some(&admin), &format!("_csrf={csrf}&name=bad&customer.update=on")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("needs read"));
    });
}

#[tokio::test]
async fn the_analytics_page_starts_runs_and_shows_them() {
    each_backend!(|app| {
        let c = app.customer(serde_json::json!({"name": "Buyer"})).await;
        let plan = app.product("PRO", "Pro plan", 100, "USD").await;
        app.paid_order(&c, "2025-03-01", serde_json::json!([{"product_id": plan["id"]}])).await;
        let admin = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/analytics", &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Nothing has run yet"));
        let csrf = csrf_of(&html);
        let (status, headers, _) = form(&app, "/analytics", Some(&admin), &format!("_csrf={csrf}&kind=rfm")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "the run goes on in the background");
        let location = headers.get(header::LOCATION).unwrap().to_str().unwrap().to_string();
        assert!(location.starts_with("/analytics?run="), "{location}");
        let mut html = String::new();
        for _ in 0..200 {
            html = page(&app, &location, &admin).await.1;
            if !html.contains("is running") {
                break;
            }
            assert!(html.contains(r#"http-equiv="refresh""#), "a running run reloads its page");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(html.contains("is done") && html.contains("<td>rfm</td>") && html.contains("1 people scored"), "{html}");
        assert!(!html.contains(r#"http-equiv="refresh""#), "a finished run stops the reloading");
        let (status, _, html) = form(&app, "/analytics", Some(&admin), &format!("_csrf={csrf}&kind=weather")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("&#39;weather&#39; is not an analysis here") || html.contains("'weather' is not an analysis here"), "{html}");
        // A sales rep is offered only the runs that read, and refused the others.
        app.user_token("rita@example.com", rapport_domain::permissions::Role::SalesRep).await;
        let rita = session(&app, "rita@example.com").await;
        let (_, html) = page(&app, "/analytics", &rita).await;
        assert!(html.contains(r#"value="forecast""#) && !html.contains(r#"value="rfm""#), "{html}");
        let (status, _, html) = form(&app, "/analytics", Some(&rita), &format!("_csrf={}&kind=rfm", csrf_of(&html))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(html.contains("analytics run permission"), "{html}");
        let (_, html) = page(&app, "/analytics", &admin).await;
        assert_eq!(html.matches("<td>rfm</td>").count(), 1, "the refused run was not recorded");
        let (_, person) = page(&app, &format!("/customers/{}", c["id"]), &admin).await;
        assert!(person.contains("RFM tier") && person.contains("Pro plan"), "the person's page shows the score and the purchase");
    });
}

#[tokio::test]
async fn record_forms_offer_each_custom_field_with_its_input_type() {
    each_backend!(|app| {
        for (object, key, field_type, options) in [
            ("customer", "renewal", "date", serde_json::json!([])),
            ("company", "tier", "single_select", serde_json::json!(["gold", "silver"])),
        ] {
            let r = app
                .post(
                    "/api/v1/custom_fields",
                    serde_json::json!({"object": object, "key": key, "label": key, "field_type": field_type, "options": options}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        let admin = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/customers/new", &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"<input type="date" name="custom.renewal""#), "{html}");
        assert!(!html.contains("custom.tier"), "a company field is not offered for people");
        let (status, html) = page(&app, "/companies/new", &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"<select name="custom.tier"><option value="">—</option><option >gold</option>"#), "{html}");
        assert!(!html.contains("custom.renewal"));
    });
}

#[tokio::test]
async fn pages_show_phones_in_international_format() {
    each_backend!(|app| {
        let co = app.company(serde_json::json!({"name": "Initech", "phone": "+1 415 555 0123"})).await;
        let c = app
            .customer(serde_json::json!({"name": "Ann", "phone": "+442079460958", "additional_phones": ["+14155550134;ext=12"], "company_id": co["id"]}))
            .await;
        assert_eq!(c["phone"], "+442079460958", "the API keeps E.164");
        let admin = session(&app, ADMIN_EMAIL).await;
        let (_, person) = page(&app, &format!("/customers/{}", c["id"]), &admin).await;
        assert!(person.contains(r#"<a href="tel:+442079460958">+44 20 7946 0958</a>"#), "{person}");
        assert!(person.contains("+1 415-555-0134 ext. 12"), "{person}");
        let (_, list) = page(&app, "/customers", &admin).await;
        assert!(list.contains("<td>+44 20 7946 0958</td>"), "{list}");
        let (_, company) = page(&app, &format!("/companies/{}", co["id"]), &admin).await;
        assert!(company.contains("<dd>+1 415-555-0123</dd>"), "{company}");
        let (_, form) = page(&app, &format!("/customers/{}/edit", c["id"]), &admin).await;
        assert!(form.contains(r#"value="+44 20 7946 0958""#), "the edit form too: {form}");
    });
}

#[tokio::test]
async fn personal_data_is_never_cached_and_static_assets_are() {
    each_backend!(|app| {
        let c = app.customer(serde_json::json!({"name": "Ann", "email": "ann@example.com"})).await;
        let admin = session(&app, ADMIN_EMAIL).await;
        let cache_control = |path: String, cookie: Option<String>| {
            let router = app.router.clone();
            async move {
                let mut req = Request::get(&path);
                if let Some(c) = cookie {
                    req = req.header(header::COOKIE, c);
                }
                let res = router.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
                let value = res.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_string());
                (res.status(), value.unwrap_or_default())
            }
        };
        for page in ["/customers".to_string(), format!("/customers/{}", c["id"]), "/companies".into(), "/admin/users".into()] {
            let (status, cc) = cache_control(page.clone(), Some(admin.clone())).await;
            assert_eq!((status, cc.as_str()), (StatusCode::OK, "no-store"), "{page}");
        }
        for path in ["/api/v1/customers".to_string(), format!("/api/v1/customers/{}", c["id"]), "/api/v1/customers/999".into()] {
            let r = app.get(&path).await;
            assert_eq!(r.header("cache-control"), "no-store", "{path} ({})", r.status);
        }
        let unauthenticated = app.call(axum::http::Method::GET, "/api/v1/customers", None, None, &[]).await;
        assert_eq!(unauthenticated.header("cache-control"), "no-store");
        for asset in ["/static/app.css", "/static/app.js"] {
            let (status, cc) = cache_control(asset.to_string(), None).await;
            assert_eq!((status, cc.as_str()), (StatusCode::OK, "public, max-age=3600"), "{asset}");
        }
    });
}
