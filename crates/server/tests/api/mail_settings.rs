//! Issue 11 §2, the mail settings admins keep: `/api/v1/mail/settings` reads and changes them
//! with a version check, names each bad field, never shows a password and seals it at rest,
//! audits each change; `/admin/mail/settings` is the same as a form with field errors; others
//! are refused.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use rapport_store::crypto::{Keyring, SharedKeyring};
use serde_json::{Value, json};
use sqlx::{Connection, Row};

use crate::helpers::{ADMIN_EMAIL, TestApp, backends, spawn_app_with_keys};
use crate::ui::{csrf_of, form, page, session};

const SMTP_SECRET: &str = "smtp-pass-Zq81";
const IMAP_SECRET: &str = "imap-pass-Xw42";

async fn stored(app: &TestApp) -> String {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let mut all = String::new();
    for q in ["SELECT settings, smtp_password, imap_password FROM mail_settings", "SELECT diff FROM audit_log"] {
        for r in sqlx::query(q).fetch_all(&mut conn).await.unwrap() {
            for i in 0..r.len() {
                all.push_str(&r.try_get::<Option<String>, _>(i).unwrap().unwrap_or_default());
                all.push('\n');
            }
        }
    }
    all
}

async fn patch(app: &TestApp, body: Value, if_match: Option<&str>) -> crate::helpers::Res {
    let headers: Vec<(&str, &str)> = if_match.map(|v| vec![("if-match", v)]).unwrap_or_default();
    app.call(Method::PATCH, "/api/v1/mail/settings", Some(&app.token), Some(body), &headers).await
}

#[tokio::test]
async fn admins_keep_the_mail_settings_with_a_version_check_and_sealed_passwords() {
    for backend in backends() {
        let app = spawn_app_with_keys(backend, Some(SharedKeyring::fixed(Keyring::generate()))).await;
        let r = app.get("/api/v1/mail/settings").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["version"].as_i64(), r.body["imap_host"].is_null(), r.header("etag")), (Some(0), true, "\"0\""));

        let body = json!({"smtp_host": "smtp.example.com", "smtp_tls": "starttls", "smtp_user": "relay", "smtp_password": SMTP_SECRET,
            "mail_from": "Help Desk <help@example.com>", "imap_host": "imap.example.com", "imap_tls": "tls", "imap_user": "support",
            "imap_password": IMAP_SECRET, "imap_poll_secs": 60});
        let r = patch(&app, body, Some("\"0\"")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["version"].as_i64(), r.header("etag")), (Some(1), "\"1\""));
        assert_eq!((r.body["smtp_password_set"].as_bool(), r.body["imap_password_set"].as_bool()), (Some(true), Some(true)));
        assert_eq!((r.body["imap_tls"].as_str(), r.body["smtp_tls"].as_str()), (Some("tls"), Some("starttls")));
        let text = r.body.to_string();
        assert!(!text.contains(SMTP_SECRET) && !text.contains(IMAP_SECRET), "passwords are never shown: {text}");

        // Left out: kept; null: cleared. A stale version changes nothing.
        let r = patch(&app, json!({"imap_port": 10993, "smtp_password": null}), Some("1")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["imap_port"].as_i64(), r.body["imap_host"].as_str()), (Some(10993), Some("imap.example.com")));
        assert_eq!((r.body["smtp_password_set"].as_bool(), r.body["imap_password_set"].as_bool()), (Some(false), Some(true)));
        let r = patch(&app, json!({"imap_host": "other.example.com"}), Some("1")).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.body);
        assert_eq!(app.get("/api/v1/mail/settings").await.body["imap_host"].as_str(), Some("imap.example.com"));

        // Each bad field is named; nothing is saved.
        let r =
            patch(&app, json!({"imap_port": 70000, "imap_tls": "ssl", "mail_from": "not an address", "imap_ca_pem": "hello"}), None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let mut fields = r.error_fields();
        fields.sort();
        assert_eq!(fields, ["imap_ca_pem", "imap_port", "imap_tls", "mail_from"]);
        assert_eq!(app.get("/api/v1/mail/settings").await.body["version"].as_i64(), Some(2));

        // The jobs read the passwords in the clear; the database holds them sealed, and the audit
        // log says only that they changed.
        let data = app.store.mail_settings_data().await.unwrap();
        assert_eq!((data.imap_password.as_deref(), data.smtp_password), (Some(IMAP_SECRET), None));
        let raw = stored(&app).await;
        assert!(!raw.contains(IMAP_SECRET) && !raw.contains(SMTP_SECRET), "{backend:?}: a password is stored in clear");
        let audit = app.get("/api/v1/audit_log?object=mail_settings").await.body;
        let entries = audit.as_array().or(audit["data"].as_array()).cloned().unwrap_or_default();
        assert_eq!(entries.len(), 2, "{audit}");
        assert!(audit.to_string().contains("changed") && audit.to_string().contains("cleared"), "{audit}");

        // Only admins.
        let agent = app.user_token("agent@example.com", Role::SupportAgent).await;
        let manager = app.user_token("manager@example.com", Role::Manager).await;
        for token in [&agent, &manager] {
            assert_eq!(app.get_as(token, "/api/v1/mail/settings").await.status, StatusCode::FORBIDDEN);
            let r = app.call(Method::PATCH, "/api/v1/mail/settings", Some(token), Some(json!({"imap_host": "x.example.com"})), &[]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        }
        app.cleanup().await;
    }
}

/// The text of the field error shown beside input `field`, if any.
fn has_error(html: &str, field: &str) -> bool {
    html.contains(&format!("class=\"field-error\" data-field=\"{field}\">"))
}

#[tokio::test]
async fn the_mail_settings_form_saves_names_bad_fields_and_refuses_a_stale_copy() {
    crate::each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/admin/mail/settings", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("name=\"imap_host\"") && html.contains("none stored"), "{html}");
        let csrf = csrf_of(&html);

        let fields = "smtp_host=&smtp_port=&smtp_tls=tls&smtp_user=&smtp_password=&mail_from=Support+%3Csupport%40example.com%3E\
            &imap_host=imap.example.com&imap_port=993&imap_tls=tls&imap_user=support&imap_password=s3cret&imap_folder=&imap_ca_pem=&imap_poll_secs=45";
        let (status, headers, html) = form(&app, "/admin/mail/settings", Some(&cookie), &format!("_csrf={csrf}&version=0&{fields}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(headers.get("location").unwrap(), "/admin/mail/settings?saved=1");
        let (_, html) = page(&app, "/admin/mail/settings?saved=1", &cookie).await;
        assert!(html.contains("value=\"imap.example.com\"") && html.contains("value=\"45\"") && html.contains("Saved."), "{html}");
        assert!(html.contains("stored: leave empty to keep") && !html.contains("s3cret"), "the password is kept, not shown: {html}");
        let saved = app.get("/api/v1/mail/settings").await.body;
        assert_eq!((saved["imap_port"].as_i64(), saved["smtp_host"].as_str(), saved["version"].as_i64()), (Some(993), None, Some(1)));

        // An empty password field keeps the stored one; bad values come back beside their fields.
        let bad = fields.replace("imap_port=993", "imap_port=port").replace("imap_poll_secs=45", "imap_poll_secs=1");
        let (status, _, html) = form(&app, "/admin/mail/settings", Some(&cookie), &format!("_csrf={csrf}&version=1&{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(has_error(&html, "imap_port") && html.contains("role=\"alert\""), "{html}");
        let bad = fields.replace("imap_poll_secs=45", "imap_poll_secs=1").replace("imap_tls=tls", "imap_tls=ssl");
        let (status, _, html) = form(&app, "/admin/mail/settings", Some(&cookie), &format!("_csrf={csrf}&version=1&{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(has_error(&html, "imap_poll_secs") && has_error(&html, "imap_tls"), "{html}");

        // A form filled in from an older version is refused, and says why.
        let (status, _, html) = form(&app, "/admin/mail/settings", Some(&cookie), &format!("_csrf={csrf}&version=0&{fields}")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{html}");
        assert!(html.contains("role=\"alert\""), "{html}");
        let (status, _, _) =
            form(&app, "/admin/mail/settings", Some(&cookie), &format!("_csrf={csrf}&version=1&{fields}&clear_imap_password=on")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.get("/api/v1/mail/settings").await.body["imap_password_set"].as_bool(), Some(false));

        // An agent gets no form.
        app.user_token("agent@example.com", Role::SupportAgent).await;
        let agent = session(&app, "agent@example.com").await;
        let (status, html) = page(&app, "/admin/mail/settings", &agent).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    });
}
