//! Phone numbers, emails and names as the API stores them (issue 8 item 17): phones read with
//! libphonenumber's metadata in the configured region and kept as E.164, emails and names
//! NFC-normalized, and an internationalized email domain one address in either spelling.

use axum::http::StatusCode;
use rapport_domain::values::Region;
use rapport_server::Config;
use rapport_store::crypto::{Keyring, SharedKeyring};
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{Res, backends, spawn_app_with};

/// The message the problem gives for `field`.
fn message<'a>(r: &'a Res, field: &str) -> &'a str {
    let errors = r.body["errors"].as_array().map(Vec::as_slice).unwrap_or_default();
    errors
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no error on {field}: {}", r.body))
}

#[tokio::test]
async fn phones_are_stored_as_e164_with_their_extension() {
    each_backend!(|app| {
        let c = app
            .customer(json!({"name": "Ann", "phone": "+44 (0)20 7946 0958",
                             "additional_phones": ["011 44 20 7946 0958", "(415) 555-0123 x12", "+1 415 555 0123 ext. 12"]}))
            .await;
        assert_eq!(c["phone"], "+442079460958");
        assert_eq!(c["additional_phones"], json!(["+442079460958", "+14155550123;ext=12", "+14155550123;ext=12"]));
        let co = app.company(json!({"name": "Initech", "phone": "+33 1 23 45 67 89"})).await;
        assert_eq!(co["phone"], "+33123456789", "a French 1 is not a US trunk prefix");
        assert_eq!(app.get(&format!("/api/v1/customers/{}", c["id"])).await.body["phone"], "+442079460958", "the API sends E.164");
    });
}

#[tokio::test]
async fn invalid_phones_are_refused_naming_the_field() {
    each_backend!(|app| {
        let cases: [(Value, &str, &str); 7] = [
            (json!({"name": "A", "phone": "+999 12345"}), "phone", "unknown country calling code"),
            (json!({"name": "A", "phone": "12"}), "phone", "too short"),
            (json!({"name": "A", "phone": "415 555 CALL"}), "phone", "use digits"),
            (json!({"name": "A", "phone": "+1 555 555 5555"}), "phone", "not a valid number of country code +1"),
            (json!({"name": "A", "phone": "020 7946 0958"}), "phone", "not a valid US number"),
            (json!({"name": "A", "phone": "001 44 20 7946 0958"}), "phone", "011"),
            (json!({"name": "A", "additional_phones": ["+1 415 555 0123", "+999 12345"]}), "additional_phones.1", "unknown country"),
        ];
        for (body, field, why) in cases {
            let r = app.post("/api/v1/customers", body.clone()).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.body);
            assert_eq!(r.error_fields(), [field], "{body}");
            assert!(message(&r, field).contains(why), "{body}: {}", r.body);
        }
        let r = app.post("/api/v1/companies", json!({"name": "Co", "phone": "+999 12345"})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["phone".to_string()]));
        assert!(app.get("/api/v1/customers").await.body["data"].as_array().unwrap().is_empty(), "nothing was written");
        let c = app.customer(json!({"name": "B", "phone": "+1 415 555 0123"})).await;
        let r = app.patch(&format!("/api/v1/customers/{}", c["id"]), json!({"phone": "+999 12345"}), None).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["phone".to_string()]));
        assert_eq!(app.get(&format!("/api/v1/customers/{}", c["id"])).await.body["phone"], "+14155550123");
    });
}

#[tokio::test]
async fn national_numbers_are_read_in_the_configured_region() {
    for backend in backends() {
        let gb = Config { phone_region: Region::parse("GB").unwrap(), ..Config::default() };
        let app = spawn_app_with(backend, None, gb).await;
        let c = app
            .customer(json!({"name": "Ann", "phone": "020 7946 0958", "additional_phones": ["0044 20 7946 0958", "+1 415 555 0123"]}))
            .await;
        assert_eq!(c["phone"], "+442079460958");
        assert_eq!(c["additional_phones"], json!(["+442079460958", "+14155550123"]));
        let r = app.post("/api/v1/customers", json!({"name": "B", "phone": "(415) 555-0123"})).await;
        assert!(message(&r, "phone").contains("not a valid GB number"), "{}", r.body);
        app.cleanup().await;
    }
}

#[tokio::test]
async fn names_and_emails_are_nfc() {
    each_backend!(|app| {
        let c = app.customer(json!({"name": "Zoe\u{308} Ng", "email": "zoe\u{308}@example.com"})).await;
        assert_eq!((c["name"].as_str(), c["email"].as_str()), (Some("Zo\u{eb} Ng"), Some("zo\u{eb}@example.com")));
        let dup = app.post("/api/v1/customers", json!({"name": "Other", "email": "zo\u{eb}@example.com"})).await;
        assert_eq!((dup.status, dup.error_fields()), (StatusCode::CONFLICT, vec!["email".to_string()]));
        let co = app.company(json!({"name": "Cafe\u{301} Ltd"})).await;
        assert_eq!(co["name"], "Caf\u{e9} Ltd");
        assert_eq!(app.people("q=zo%C3%AB").await, ["Zo\u{eb} Ng"]);
    });
}

#[tokio::test]
async fn an_idn_email_and_its_punycode_are_one_address() {
    for sealed in [false, true] {
        for backend in backends() {
            let keys = sealed.then(|| SharedKeyring::fixed(Keyring::generate()));
            let app = spawn_app_with(backend, keys, Config::default()).await;
            let c = app.customer(json!({"name": "Anna", "email": "anna@bücher.example"})).await;
            assert_eq!(c["email"], "anna@bücher.example", "stored and shown in Unicode");
            for other in ["anna@xn--bcher-kva.example", "Anna@BÜCHER.example", "anna@bu\u{308}cher.example"] {
                let r = app.post("/api/v1/customers", json!({"name": "Other", "email": other})).await;
                assert_eq!((r.status, r.error_fields()), (StatusCode::CONFLICT, vec!["email".to_string()]), "{other} (sealed: {sealed})");
            }
            let b = app.customer(json!({"name": "Bert", "email": "bert@xn--bcher-kva.example"})).await;
            assert_eq!(b["email"], "bert@bücher.example", "punycode input is stored in Unicode");
            let r = app.post("/api/v1/customers", json!({"name": "Bert 2", "email": "bert@bücher.example"})).await;
            assert_eq!(r.status, StatusCode::CONFLICT, "sealed: {sealed}");
            app.cleanup().await;
        }
    }
}

#[tokio::test]
async fn users_sign_in_with_either_spelling_of_an_idn_email() {
    each_backend!(|app| {
        app.user_token("rep@bücher.example", rapport_domain::permissions::Role::SalesRep).await;
        for spelling in ["rep@xn--bcher-kva.example", "REP@bu\u{308}cher.example"] {
            let r = app.call(
                axum::http::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": spelling, "password": crate::helpers::PASSWORD})),
                &[],
            );
            assert_eq!(r.await.status, StatusCode::OK, "{spelling}");
        }
    });
}
