//! Encryption at rest: what a stolen database reveals, lookups that still work, and key
//! rotation while edits go on.

use axum::http::StatusCode;
use rapport_store::crypto::{Keyring, SharedKeyring};
use serde_json::json;
use sqlx::{Connection, Row};

use crate::helpers::{TestApp, backends, spawn_app_with_keys};

const SECRETS: [&str; 5] = ["ann.secret@example.com", "4155550134", "5550134", "7 Hidden Lane", "bob.private@corp.example"];

/// Every text value of the tables that hold personal data, as stored.
async fn raw_values(app: &TestApp) -> String {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let mut all = String::new();
    for q in [
        "SELECT email, phone, additional_emails, additional_phones, address_street, address_postal_code, search_text, company_text, email_hash FROM customers",
        "SELECT email, phone, search_text, name FROM companies",
        "SELECT diff FROM audit_log",
    ] {
        for r in sqlx::query(q).fetch_all(&mut conn).await.unwrap() {
            for i in 0..r.len() {
                all.push_str(&r.try_get::<Option<String>, _>(i).unwrap().unwrap_or_default());
                all.push('\n');
            }
        }
    }
    all
}

#[tokio::test]
async fn a_stolen_database_reveals_no_email_or_phone() {
    for backend in backends() {
        let app = spawn_app_with_keys(backend, Some(SharedKeyring::fixed(Keyring::generate()))).await;
        let co = app.company(json!({"name": "Corp", "email": "bob.private@corp.example"})).await;
        let c = app
            .customer(json!({"name": "Ann Secret", "email": "ann.secret@example.com", "phone": "+1 415 555 0134", "address": {"street": "7 Hidden Lane", "city": "Austin"}, "company_id": co["id"]}))
            .await;
        app.patch(&format!("/api/v1/customers/{}", c["id"]), json!({"additional_emails": ["ann.other@example.com"]}), None).await;
        let stored = raw_values(&app).await;
        for s in SECRETS.iter().chain(&["ann.other"]) {
            assert!(!stored.contains(s), "{backend:?}: '{s}' is stored in clear");
        }
        assert!(stored.contains("enc1:"), "values are sealed");
        if let Some(path) = &app.sqlite_path {
            // The file itself, write-ahead log included, as a thief would copy it.
            let mut bytes = std::fs::read(path).unwrap();
            bytes.extend(std::fs::read(format!("{}-wal", path.display())).unwrap_or_default());
            let text = String::from_utf8_lossy(&bytes);
            for s in SECRETS {
                assert!(!text.contains(s), "'{s}' is in the database file");
            }
        }
        // Through the API everything reads, searches and looks up as before.
        let got = app.get(&format!("/api/v1/customers/{}", c["id"])).await;
        assert_eq!((got.body["email"].as_str(), got.body["phone"].as_str()), (Some("ann.secret@example.com"), Some("+14155550134")));
        assert_eq!(app.people("email=ANN.SECRET@example.com").await, ["Ann Secret"], "equality lookup through the blind index");
        assert_eq!(app.people("q=ann").await, ["Ann Secret"]);
        assert_eq!(app.people("q=ann.secret@example.com").await, ["Ann Secret"], "whole email words match their tokens");
        assert_eq!(app.people("q=555%200134").await, ["Ann Secret"], "so do phone numbers");
        let dup = app.post("/api/v1/customers", json!({"name": "Copy", "email": "Ann.Secret@example.com"})).await;
        assert_eq!(dup.status, StatusCode::CONFLICT, "uniqueness holds on ciphertext");
        let log = app.get(&format!("/api/v1/audit_log?object=customer&record_id={}", c["id"])).await;
        assert_eq!(log.body[1]["diff"]["after"]["email"], "ann.secret@example.com", "admins read the audit log in clear");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn rotation_reencrypts_everything_while_edits_go_on() {
    for backend in backends() {
        // The server follows a key file, as `rapport serve` does, so it learns the new key.
        let old = Keyring::generate();
        let file = std::env::temp_dir().join(format!("rapport-keys-{:x}", rand::random::<u64>()));
        old.create_file(&file).unwrap();
        let app = spawn_app_with_keys(backend, Some(SharedKeyring::from_file(&file, std::time::Duration::from_secs(1)).unwrap())).await;
        let mut ids = vec![];
        for i in 0..40 {
            ids.push(
                app.customer(
                    json!({"name": format!("P{i}"), "email": format!("p{i}@example.com"), "phone": format!("+1 415 555 {:04}", i)}),
                )
                .await["id"]
                    .as_i64()
                    .unwrap(),
            );
        }
        let mut new = old.clone();
        let new_id = new.add_data_key();
        new.save(&file).unwrap();
        let rotated = rapport_store::Store::connect(&app.url).await.unwrap().with_keys(Some(SharedKeyring::fixed(new.clone())));
        let edits = async {
            for (n, id) in ids.iter().enumerate().take(20) {
                let r = app.patch(&format!("/api/v1/customers/{id}"), json!({"source": format!("edit {n}")}), None).await;
                assert_eq!(r.status, StatusCode::OK);
            }
        };
        let (summary, ()) = tokio::join!(rotated.reseal_all(), edits);
        let summary = summary.unwrap();
        // Rows the server rewrote under the new key meanwhile need no re-sealing, so fewer than 40.
        assert!(summary.customers > 0 && summary.audit_entries > 0, "{summary:?}");
        // The servers still run with the old keyring and may have written under k1 meanwhile:
        // a second pass (as `keys rotate` loops) leaves nothing behind.
        rotated.reseal_all().await.unwrap();
        let stored = raw_values(&app).await;
        assert!(!stored.contains(&format!("enc1:{}:", old.active_key_id())), "nothing is left under the old key");
        assert!(stored.contains(&format!("enc1:{new_id}:")));
        let page = rotated
            .list_customers(
                &rapport_domain::permissions::Actor::system(),
                &rapport_domain::query::ListParams { limit: 100, ..Default::default() },
            )
            .await
            .unwrap();
        assert_eq!(page.data.len(), 40);
        for c in &page.data {
            assert!(c.data.email.as_deref().unwrap().ends_with("@example.com"));
            let n: usize = c.data.name[1..].parse().unwrap();
            if n < 20 {
                assert_eq!(c.data.source.as_deref(), Some(format!("edit {n}").as_str()), "no edit made during rotation is lost");
            }
        }
        // The old key alone cannot open the data any more.
        let stale = rapport_store::Store::connect(&app.url).await.unwrap().with_keys(Some(SharedKeyring::fixed(old)));
        let err = stale.get_customer(&rapport_domain::permissions::Actor::system(), ids[0]).await.unwrap_err();
        assert!(err.to_string().contains(&new_id), "the error names the missing key: {err}");
        stale.close().await;
        rotated.close().await;
        let _ = std::fs::remove_file(&file);
        app.cleanup().await;
    }
}

/// `keys rotate` re-seals what lives outside the record tables too: a webhook subscription's
/// signing secret and the payloads of events still queued for delivery, and mail passwords.
/// After rotation nothing is left under the old key, and the queued deliveries still open and
/// sign with the same secret and body.
#[tokio::test]
async fn rotation_reseals_webhook_secrets_queued_payloads_and_mail_passwords() {
    for backend in backends() {
        let old = Keyring::generate();
        let app = spawn_app_with_keys(backend, Some(SharedKeyring::fixed(old.clone()))).await;
        let s = app.post("/api/v1/webhooks", json!({"url": "https://hooks.example.com/crm", "events": ["customer.created"]})).await;
        assert_eq!(s.status, StatusCode::CREATED, "{}", s.body);
        let secret = s.body["secret"].as_str().unwrap().to_string();
        for n in 0..3 {
            app.customer(json!({"name": format!("Hooked {n}"), "email": format!("hooked{n}@example.com")})).await;
        }
        let r = app
            .call(
                axum::http::Method::PATCH,
                "/api/v1/mail/settings",
                Some(&app.token),
                Some(json!({"smtp_host": "smtp.example.com", "smtp_password": "smtp-pass-1", "imap_host": "imap.example.com", "imap_password": "imap-pass-1"})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let sealed = || async {
            let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
            let mut all = vec![];
            for q in [
                "SELECT secret AS v FROM webhook_subscriptions",
                "SELECT payload AS v FROM webhook_events",
                "SELECT smtp_password AS v FROM mail_settings",
                "SELECT imap_password AS v FROM mail_settings",
            ] {
                for r in sqlx::query(q).fetch_all(&mut conn).await.unwrap() {
                    all.push(r.try_get::<String, _>("v").unwrap());
                }
            }
            conn.close().await.unwrap();
            all
        };
        let before = sealed().await;
        assert_eq!(before.len(), 1 + 3 + 2, "one secret, three queued events, two passwords: {before:?}");
        let old_prefix = format!("enc1:{}:", old.active_key_id());
        assert!(before.iter().all(|v| v.starts_with(&old_prefix)), "sealed under the old key: {before:?}");

        let mut new = old.clone();
        let new_id = new.add_data_key();
        let rotated = rapport_store::Store::connect(&app.url).await.unwrap().with_keys(Some(SharedKeyring::fixed(new.clone())));
        let summary = rotated.reseal_all().await.unwrap();
        assert_eq!((summary.webhook_secrets, summary.webhook_events, summary.mail_passwords), (1, 3, 2), "{summary:?}");
        let after = sealed().await;
        assert!(after.iter().all(|v| v.starts_with(&format!("enc1:{new_id}:"))), "all under the new key: {after:?}");
        assert_eq!(rotated.reseal_all().await.unwrap().webhook_events, 0, "a second pass finds nothing left");

        // Without the old key, what is queued still opens: same secret, same bodies.
        let mut new_only = new.clone();
        new_only.remove_data_key(old.active_key_id()).unwrap();
        rotated.close().await;
        let rotated = rapport_store::Store::connect(&app.url).await.unwrap().with_keys(Some(SharedKeyring::fixed(new_only)));
        let due = rotated.claim_webhook_deliveries("rotation-test", 30, 10).await.unwrap();
        assert_eq!(due.len(), 3);
        for d in &due {
            assert_eq!(d.secret, secret);
            assert!(d.body.contains("Hooked"), "{}", d.body);
        }
        rotated.close().await;
        app.cleanup().await;
    }
}
