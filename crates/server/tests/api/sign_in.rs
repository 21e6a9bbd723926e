//! Issue 8, items 5 and 6: what the web UI accepts as a session, CSRF tokens that need a
//! server secret, login CSRF, and where `next=` may send someone after signing in.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Connection;
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, PASSWORD, TestApp};
use crate::ui::{csrf_of, form, page, session, sign_in};

/// The CSRF token as it used to be derived: from the session token alone, with no secret.
fn unkeyed_csrf(token: &str) -> String {
    Sha256::digest(format!("csrf:{token}").as_bytes())[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A second server process over the same database (its own token cache, its own memory).
async fn other_process(app: &TestApp) -> axum::Router {
    let store = rapport_store::Store::connect(&app.url).await.unwrap();
    rapport_server::build_app(rapport_server::AppState::new(store, Default::default()))
}

fn location(headers: &axum::http::HeaderMap) -> &str {
    headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn login_body(next: &str) -> String {
    format!("email={ADMIN_EMAIL}&password={}&next={next}", PASSWORD.replace(' ', "+"))
}

#[tokio::test]
async fn api_tokens_in_the_cookie_count_as_signed_out() {
    each_backend!(|app| {
        let r = app.post("/api/v1/tokens", json!({"name": "report", "scopes": ["read"]})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let read_only = r.body["token"].as_str().unwrap().to_string();
        let api = app.login(ADMIN_EMAIL, PASSWORD).await;
        for token in [read_only, api] {
            let cookie = format!("rapport_session={token}");
            let (status, _) = page(&app, "/customers", &cookie).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "a non-session token does not sign anyone in to the UI");
            let body = format!("name=Forged&lifecycle_stage=lead&_csrf={}", unkeyed_csrf(&token));
            let (status, headers, _) = form(&app, "/customers/new", Some(&cookie), &body).await;
            assert_eq!((status, location(&headers)), (StatusCode::SEE_OTHER, "/login"), "no change through the UI");
        }
        assert!(app.people("q=forged").await.is_empty(), "nothing was created");
    });
}

#[tokio::test]
async fn csrf_tokens_need_the_server_secret_and_every_process_shares_it() {
    each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let token = cookie.trim_start_matches("rapport_session=");
        let (_, html) = page(&app, "/customers/new", &cookie).await;
        let csrf = csrf_of(&html);
        assert_ne!(csrf, unkeyed_csrf(token));
        let (status, _, _) = form(&app, "/customers/new", Some(&cookie), &format!("name=Forged&_csrf={}", unkeyed_csrf(token))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a token computed from the session alone is refused");
        // Another process over the same database signs with the same key.
        let other = other_process(&app).await;
        let req = Request::post("/customers/new")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &cookie)
            .body(Body::from(format!("name=Ann&lifecycle_stage=lead&_csrf={csrf}")))
            .unwrap();
        let res = other.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(location(res.headers()).starts_with("/customers/"), "{:?}", res.headers());
        assert_eq!(app.people("q=ann").await, ["Ann"]);
    });
}

#[tokio::test]
async fn a_read_only_session_cannot_post() {
    each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
        sqlx::raw_sql("UPDATE auth_tokens SET scopes = 'read' WHERE kind = 'session'").execute(&mut conn).await.unwrap();
        let other = other_process(&app).await;
        let send = |req: Request<Body>| other.clone().oneshot(req);
        let res = send(Request::get("/customers/new").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "reading still works");
        let html = String::from_utf8_lossy(&axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()).into_owned();
        let req = Request::post("/customers/new")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &cookie)
            .body(Body::from(format!("name=Ann&lifecycle_stage=lead&_csrf={}", csrf_of(&html))))
            .unwrap();
        assert_eq!(send(req).await.unwrap().status(), StatusCode::FORBIDDEN);
        assert!(app.people("q=ann").await.is_empty());
    });
}

#[tokio::test]
async fn the_login_form_refuses_login_csrf() {
    each_backend!(|app| {
        let creds = login_body("/customers");
        let signed_in = |headers: &axum::http::HeaderMap| {
            headers.get_all(header::SET_COOKIE).iter().any(|v| v.to_str().unwrap().starts_with("rapport_session="))
        };
        // A cross-site form posts credentials without the sign-in cookie or its token.
        let (status, headers, html) = form(&app, "/login", None, &creds).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(!signed_in(&headers) && html.contains("expired"));
        // The page's cookie and token pair up: neither works without the other.
        let res = app.router.clone().oneshot(Request::get("/login").body(Body::empty()).unwrap()).await.unwrap();
        let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
        assert!(res.headers()[header::SET_COOKIE].to_str().unwrap().contains("HttpOnly"));
        let csrf = csrf_of(&String::from_utf8_lossy(&axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap()));
        let (status, headers, _) = form(&app, "/login", None, &format!("{creds}&_csrf={csrf}")).await;
        assert!(status == StatusCode::FORBIDDEN && !signed_in(&headers), "token without its cookie");
        let (status, headers, _) = form(&app, "/login", Some(&cookie), &format!("{creds}&_csrf={}", "0".repeat(32))).await;
        assert!(status == StatusCode::FORBIDDEN && !signed_in(&headers), "cookie without its token");
        // A browser that says the form comes from another site is refused even with both.
        let post = |origin: &'static str, referer: bool| {
            let mut req = Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::HOST, "crm.example.com")
                .header(header::COOKIE, &cookie);
            req = if referer { req.header(header::REFERER, origin) } else { req.header(header::ORIGIN, origin) };
            app.router.clone().oneshot(req.body(Body::from(format!("{creds}&_csrf={csrf}"))).unwrap())
        };
        for (origin, referer) in [("https://evil.example", false), ("null", false), ("https://evil.example/login", true)] {
            let res = post(origin, referer).await.unwrap();
            assert!(res.status() == StatusCode::FORBIDDEN && !signed_in(res.headers()), "from {origin}");
        }
        let res = post("https://crm.example.com", false).await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(signed_in(res.headers()));
        let res = post("https://crm.example.com/login?next=/customers", true).await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    });
}

#[tokio::test]
async fn next_after_sign_in_stays_on_this_site() {
    each_backend!(|app| {
        // As they appear in the form body (percent-encoded once, as a browser sends them).
        let bad = [
            "/%5Cevil.example",
            "/%09/evil.example",
            "//evil.example",
            "/%2F/evil.example",
            "///evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "%2F%2Fevil.example",
            // Encoded once more than the form needs: the server sees `/%2F…`, a browser may decode it.
            "/%252Fevil.example",
            "/%255Cevil.example",
            "/%2509/evil.example",
            "%0d%0a",
            "/%0d%0aSet-Cookie:%20a=b",
            "/customers%00",
            "/%7f",
            "/%C2%85",
            "",
        ];
        for next in bad {
            let (status, headers, _) = sign_in(&app, &login_body(next)).await;
            assert_eq!((status, location(&headers)), (StatusCode::SEE_OTHER, "/customers"), "next={next}");
        }
        let good = [
            ("/customers/12%3Ftab%3Dnotes", "/customers/12?tab=notes"),
            ("/companies%3Fq%3Dcaf%25C3%25A9", "/companies?q=caf%C3%A9"),
            ("/companies%3Fq%3Dcaf%C3%A9", "/companies?q=caf%C3%A9"),
            ("/admin/users", "/admin/users"),
        ];
        for (next, to) in good {
            let (status, headers, _) = sign_in(&app, &login_body(next)).await;
            assert_eq!((status, location(&headers)), (StatusCode::SEE_OTHER, to), "next={next}");
        }
        // The login page itself never echoes a bad target into its form.
        for next in ["%0d%0a", "//evil.example", "/%5Cevil.example"] {
            let r = app.call(Method::GET, &format!("/login?next={next}"), None, None, &[]).await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(r.body.as_str().unwrap().contains(r#"name="next" value="/customers""#), "next={next}");
        }
    });
}
