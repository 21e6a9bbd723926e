use axum::http::StatusCode;
use serde_json::json;

use crate::each_backend;

#[tokio::test]
async fn companies_have_the_same_life_cycle_and_unique_domains() {
    each_backend!(|app| {
        let co = app.company(json!({"name": "Initech", "domain": "initech.example", "industry": "Software", "tags": ["partner"], "phone": "(415) 555-0134"})).await;
        assert_eq!(co["phone"], "+14155550134", "national numbers are read in the default region");
        let path = format!("/api/v1/companies/{}", co["id"]);
        let dup = app.post("/api/v1/companies", json!({"name": "Other", "domain": "INITECH.example"})).await;
        assert_eq!((dup.status, dup.error_fields()), (StatusCode::CONFLICT, vec!["domain".to_string()]));
        let bad = app.post("/api/v1/companies", json!({"name": "Other", "domain": "not a domain", "email": "nope"})).await;
        assert_eq!(bad.error_fields(), vec!["domain".to_string(), "email".to_string()]);
        let p = app.patch(&path, json!({"industry": "Consulting"}), Some(1)).await;
        assert_eq!((p.status, p.body["industry"].as_str()), (StatusCode::OK, Some("Consulting")));
        assert_eq!(app.patch(&path, json!({"industry": "X"}), Some(1)).await.status, StatusCode::PRECONDITION_FAILED);
        let person = app.customer(json!({"name": "Milton", "company_id": co["id"]})).await;
        assert_eq!(app.get(&path).await.body["people_count"], 1);
        assert_eq!(app.all_names("/api/v1/companies?q=initech").await, ["Initech"]);
        assert_eq!(app.all_names("/api/v1/companies?tag=partner").await, ["Initech"]);
        let r = app.get("/api/v1/companies?lifecycle_stage=lead").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "people-only filters are refused on companies");
        assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
        let milton = app.get(&format!("/api/v1/customers/{}", person["id"])).await;
        assert!(milton.body["company_id"].is_null(), "people of a deleted company are unlinked, not lost");
        let r = app.post("/api/v1/customers", json!({"name": "Late", "company_id": co["id"]})).await;
        assert_eq!(r.error_fields(), vec!["company_id".to_string()], "a deleted company cannot be linked");
        app.company(json!({"name": "Initech 2", "domain": "initech.example"})).await;
    });
}
