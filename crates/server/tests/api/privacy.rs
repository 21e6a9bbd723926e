//! Personal data: sealed at rest, masked and not searchable without `pii`, and erasable for
//! good (issue 8, items 8–10).

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use rapport_store::crypto::{Keyring, SharedKeyring};
use serde_json::json;
use sqlx::{Connection, Row};

use crate::each_backend;
use crate::helpers::{TestApp, backends, spawn_app_with_keys};

/// Every text column of `table`'s rows, as stored.
async fn stored(app: &TestApp, table: &str) -> String {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let cols = match table {
        "customers" => "name, email, custom, custom_sealed, search_text, private_text",
        _ => "name, email, phone, address_street, address_postal_code, address_city, custom, custom_sealed, search_text, private_text",
    };
    let mut all = String::new();
    for r in sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {cols} FROM {table}"))).fetch_all(&mut conn).await.unwrap() {
        for i in 0..r.len() {
            all.push_str(&r.try_get::<Option<String>, _>(i).unwrap().unwrap_or_default());
            all.push('\n');
        }
    }
    all
}

#[tokio::test]
async fn sensitive_custom_fields_and_company_contacts_are_sealed_at_rest() {
    for backend in backends() {
        let app = spawn_app_with_keys(backend, Some(SharedKeyring::fixed(Keyring::generate()))).await;
        let budget = app
            .post("/api/v1/custom_fields", json!({"object": "customer", "key": "annual_budget", "field_type": "number", "sensitive": true}))
            .await;
        assert_eq!(budget.status, StatusCode::CREATED, "{}", budget.body);
        app.post("/api/v1/custom_fields", json!({"object": "customer", "key": "segment_note", "field_type": "text"})).await;
        let c = app.customer(json!({"name": "Ann", "custom": {"annual_budget": 987654, "segment_note": "plainly filterable"}})).await;
        let co = app
            .company(json!({"name": "Corp", "email": "sales@corp.example", "phone": "+1 415 555 0199", "address": {"street": "9 Quiet Road", "postal_code": "94107", "city": "Austin"}}))
            .await;
        let people = stored(&app, "customers").await;
        assert!(!people.contains("987654"), "{backend:?}: a sensitive custom value is stored in clear");
        assert!(people.contains("plainly filterable"), "other custom values stay filterable");
        let companies = stored(&app, "companies").await;
        for secret in ["sales@corp", "4155550199", "9 Quiet Road", "94107"] {
            assert!(!companies.contains(secret), "{backend:?}: company '{secret}' is stored in clear");
        }
        assert!(companies.contains("Austin"), "the city locates nobody and stays");
        // Read back whole by those who may, masked for the others.
        let got = app.get(&format!("/api/v1/customers/{}", c["id"])).await.body;
        assert_eq!(got["custom"]["annual_budget"], 987654.0);
        let viewer = app.user_token("viewer@example.com", Role::Viewer).await;
        let seen = app.get_as(&viewer, format!("/api/v1/customers/{}", c["id"])).await.body;
        assert_eq!(seen["custom"]["annual_budget"], "•••");
        let company = app.get_as(&viewer, format!("/api/v1/companies/{}", co["id"])).await.body;
        assert_eq!(
            (company["email"].as_str(), company["phone"].as_str(), company["address"]["street"].as_str()),
            (Some("s•••@corp.example"), Some("+•••••••0199"), Some("•••")),
            "company contacts are masked like a person's"
        );
        assert_eq!(app.get(&format!("/api/v1/companies/{}", co["id"])).await.body["address"]["street"], "9 Quiet Road");
        // Encrypted values cannot be filtered; the plain ones can.
        let r = app.get("/api/v1/customers?custom.annual_budget.gte=1").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["custom.annual_budget".to_string()]));
        assert_eq!(app.people("custom.segment_note=plainly%20filterable").await, ["Ann"]);
        // Marking a field sensitive seals its stored values; unmarking opens them again.
        let note =
            app.get("/api/v1/custom_fields").await.body.as_array().unwrap().iter().find(|f| f["key"] == "segment_note").unwrap().clone();
        let r = app.patch(&format!("/api/v1/custom_fields/{}", note["id"]), json!({"sensitive": true}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(!stored(&app, "customers").await.contains("plainly filterable"), "{backend:?}: sealed once it became sensitive");
        assert_eq!(app.get(&format!("/api/v1/customers/{}", c["id"])).await.body["custom"]["segment_note"], "plainly filterable");
        app.patch(&format!("/api/v1/custom_fields/{}", budget.body["id"]), json!({"sensitive": false}), None).await;
        assert!(stored(&app, "customers").await.contains("987654"));
        assert_eq!(app.people("custom.annual_budget=987654").await, ["Ann"], "filterable again");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn masked_fields_are_no_search_oracle() {
    each_backend!(|app| {
        app.post("/api/v1/custom_fields", json!({"object": "customer", "key": "budget", "field_type": "number", "sensitive": true})).await;
        app.customer(json!({"name": "Zed Quiet", "email": "zed.hidden@example.com", "phone": "+1 415 555 0177", "custom": {"budget": 5}}))
            .await;
        app.company(json!({"name": "Hushco", "email": "info@hush.example", "phone": "+1 415 555 0166"})).await;
        let viewer = app.user_token("viewer@example.com", Role::Viewer).await;
        let names = |r: crate::helpers::Res| -> Vec<String> {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
        };
        for q in ["zed.hidden@example.com", "hidden", "4155550177", "555%200177"] {
            assert!(names(app.get_as(&viewer, format!("/api/v1/customers?q={q}")).await).is_empty(), "a viewer's search for {q} matched");
            assert_eq!(names(app.get(&format!("/api/v1/customers?q={q}")).await), ["Zed Quiet"], "an admin's search for {q}");
        }
        assert!(names(app.get_as(&viewer, "/api/v1/companies?q=4155550166").await).is_empty());
        assert!(names(app.get_as(&viewer, "/api/v1/companies?q=info").await).is_empty());
        assert_eq!(names(app.get_as(&viewer, "/api/v1/companies?q=hushco").await), ["Hushco"], "names are searched by everyone");
        assert_eq!(names(app.get_as(&viewer, "/api/v1/customers?q=zed").await), ["Zed Quiet"]);
        let r = app.get_as(&viewer, "/api/v1/customers?email=zed.hidden@example.com").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::FORBIDDEN, vec!["email".to_string()]), "{}", r.body);
        let r = app.get_as(&viewer, "/api/v1/customers?custom.budget=5").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["custom.budget".to_string()]));
    });
}

#[tokio::test]
async fn erasure_reaches_deleted_people_and_needs_its_own_grant() {
    each_backend!(|app| {
        let c = app.customer(json!({"name": "Gone Girl", "email": "gone@example.com", "phone": "+1 415 555 0188"})).await;
        let path = format!("/api/v1/customers/{}", c["id"]);
        app.patch(&path, json!({"notes": "lives at 1 Secret St"}), None).await;
        assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
        // The sync tombstone says only that she is gone.
        let sync = app.get("/api/v1/customers?updated_since=2000-01-01").await.body;
        let tomb = sync["data"].as_array().unwrap().iter().find(|r| r["id"] == c["id"]).unwrap().clone();
        assert!(tomb["deleted_at"].is_string());
        // Digits long enough that no timestamp of the tombstone can hold them by chance.
        for field in ["gone", "Gone", "5550188", "Secret"] {
            assert!(!tomb.to_string().contains(field), "tombstone shows {field}: {tomb}");
        }
        // A manager may delete but not erase; a custom role granted erase may.
        let boss = app.user_token("boss@example.com", Role::Manager).await;
        let r = app.call(Method::POST, &format!("{path}/erase"), Some(&boss), None, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let role = app
            .post("/api/v1/roles", json!({"name": "dpo", "permissions": {"grants": {"customer": ["read", "erase"]}, "visibility": "all"}}))
            .await;
        assert!(role.status.is_success(), "{}", role.body);
        app.store
            .create_user(
                &rapport_domain::permissions::Actor::system(),
                rapport_store::NewUser {
                    email: "dpo@example.com".into(),
                    name: "DPO".into(),
                    password: crate::helpers::PASSWORD.into(),
                    role: "dpo".into(),
                },
            )
            .await
            .unwrap();
        let dpo = app.login("dpo@example.com", crate::helpers::PASSWORD).await;
        let r = app.call(Method::POST, &format!("{path}/erase"), Some(&dpo), None, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "a deleted person can be erased: {}", r.body);
        // Nothing of her is left in the history, the delete row's copy included; the erasure
        // itself is recorded.
        let history = app.get(&format!("/api/v1/audit_log?object=customer&record_id={}", c["id"])).await.body;
        let text = history.to_string();
        for field in ["gone@example.com", "Gone Girl", "Secret St"] {
            assert!(!text.contains(field), "the audit log still holds {field}: {history}");
        }
        let actions: Vec<&str> = history.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["erase", "delete", "update", "create"]);
        assert!(history[0]["diff"]["audit_entries_redacted"].as_i64().unwrap() >= 3);
    });
}
