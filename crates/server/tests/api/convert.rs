//! Converting a lead (issue 9 §1): one transaction qualifies the lead, creates the opportunity
//! in the pipeline's first stage, finds or creates the company, and makes the person a
//! prospect; twice, or from a state that does not allow it, is a 409; wrong input a 422 that
//! leaves nothing behind.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{Res, TestApp};
use crate::opportunities::user_id;

async fn convert_as(app: &TestApp, token: &str, id: &Value, body: Value) -> Res {
    app.call(Method::POST, &format!("/api/v1/customers/{id}/convert"), Some(token), Some(body), &[]).await
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default()
}

async fn count(app: &TestApp, path: &str) -> usize {
    let r = app.get(path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn converting_qualifies_the_lead_creates_the_deal_and_the_company() {
    each_backend!(|app| {
        let lead = app.customer(json!({"name": "Ann Lead", "email": "ann@lead.example"})).await;
        let body = json!({"name": "Ann's pilot", "amount_minor": 250000, "currency": "eur", "expected_close_date": "2026-06-30", "company_name": "Nordwind GmbH"});
        let r = app.post(&format!("/api/v1/customers/{}/convert", lead["id"]), body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let o = &r.body["opportunity"];
        assert_eq!(r.header("location"), format!("/api/v1/opportunities/{}", o["id"]));
        assert_eq!(
            (o["name"].as_str(), o["amount_minor"].as_i64(), o["currency"].as_str(), o["expected_close_date"].as_str()),
            (Some("Ann's pilot"), Some(250000), Some("EUR"), Some("2026-06-30"))
        );
        assert_eq!((o["pipeline_id"].as_i64(), o["stage"].as_str(), o["status"].as_str()), (Some(1), Some("qualification"), Some("open")));
        assert_eq!((&o["customer_id"], o["owner_id"].as_i64()), (&lead["id"], lead["owner_id"].as_i64()));
        assert_eq!(r.body["company_created"], json!(true));
        let company = &r.body["company"];
        assert_eq!((company["name"].as_str(), &o["company_id"]), (Some("Nordwind GmbH"), &company["id"]));

        let p = app.get(&format!("/api/v1/customers/{}", lead["id"])).await.body;
        assert_eq!((p["lifecycle_stage"].as_str(), p["lead_status"].as_str()), (Some("prospect"), Some("qualified")));
        assert_eq!((&p["converted_opportunity_id"], &p["company_id"]), (&o["id"], &company["id"]));
        assert!(p["converted_at"].is_string());
        let h = app.get(&format!("/api/v1/opportunities/{}/history", o["id"])).await.body;
        assert_eq!(h["changes"].as_array().unwrap().len(), 1, "the creation is in the stage history");

        // Audited in the same transaction: the company, the deal, the person and the conversion.
        let audit = app.get(&format!("/api/v1/audit_log?object=customer&record_id={}", lead["id"])).await;
        assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
        let actions: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions, ["convert", "update", "create"], "newest first");
        let audit = app.get(&format!("/api/v1/audit_log?object=company&record_id={}", company["id"])).await;
        assert_eq!(audit.body.as_array().map(Vec::len), Some(1), "{}", audit.body);

        // Converting twice: 409, no second deal.
        let r = app.post(&format!("/api/v1/customers/{}/convert", lead["id"]), json!({"currency": "EUR"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!(r.header("content-type"), "application/problem+json");
        assert_eq!(strings(&r.body["allowed_actions"]), Vec::<String>::new());
        assert_eq!(count(&app, &format!("/api/v1/opportunities?customer_id={}", lead["id"])).await, 1);

        // A second lead naming the same company, spelt otherwise, is linked to it.
        let bo = app.customer(json!({"name": "Bo Lead"})).await;
        let r =
            app.post(&format!("/api/v1/customers/{}/convert", bo["id"]), json!({"currency": "EUR", "company_name": "NORDWIND gmbh"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!((r.body["company_created"].clone(), &r.body["company"]["id"]), (json!(false), &company["id"]));
        assert_eq!(r.body["opportunity"]["name"].as_str(), Some("NORDWIND gmbh deal"), "named after the company by default");
        assert_eq!(count(&app, "/api/v1/companies").await, 1);

        // Without a company, the deal is named after the person, in the pipeline asked for.
        let second = app
            .post("/api/v1/pipelines", json!({"name": "Renewals", "stages": [{"key": "talk", "name": "Talk", "probability": 20}, {"key": "signed", "name": "Signed", "probability": 100, "outcome": "won"}, {"key": "gone", "name": "Gone", "probability": 0, "outcome": "lost"}]}))
            .await;
        assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
        let cy = app.customer(json!({"name": "Cy Lead"})).await;
        let r = app
            .post(&format!("/api/v1/customers/{}/convert", cy["id"]), json!({"currency": "USD", "pipeline_id": second.body["id"]}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!((r.body["opportunity"]["name"].as_str(), r.body["opportunity"]["stage"].as_str()), (Some("Cy Lead deal"), Some("talk")));
        assert!(r.body["company"].is_null());
    });
}

#[tokio::test]
async fn only_a_lead_that_is_not_disqualified_converts() {
    each_backend!(|app| {
        let c = app.customer(json!({"name": "Dee Customer", "lifecycle_stage": "customer"})).await;
        let r = app.post(&format!("/api/v1/customers/{}/convert", c["id"]), json!({"currency": "EUR"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert!(r.body["detail"].as_str().unwrap().contains("no longer a lead"), "{}", r.body);

        let l = app.customer(json!({"name": "Eve Lead"})).await;
        let path = format!("/api/v1/customers/{}", l["id"]);
        let r = app.patch(&path, json!({"lead_status": "disqualified", "disqualified_reason": "No budget"}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = app.post(&format!("{path}/convert"), json!({"currency": "EUR"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!(strings(&r.body["allowed_actions"]), ["new", "working", "nurturing"], "requalify first");
        assert_eq!(r.error_fields(), ["lead_status"]);
        assert_eq!(count(&app, "/api/v1/opportunities").await, 0);

        let r = app.patch(&path, json!({"lead_status": "working"}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = app.post(&format!("{path}/convert"), json!({"currency": "EUR"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "requalified, it converts: {}", r.body);

        let r = app.post("/api/v1/customers/999999/convert", json!({"currency": "EUR"})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn wrong_input_names_the_field_and_writes_nothing() {
    each_backend!(|app| {
        let lead = app.customer(json!({"name": "Fay Lead"})).await;
        let path = format!("/api/v1/customers/{}/convert", lead["id"]);
        let r = app
            .post(&path, json!({"company_name": "Half Written Ltd", "amount_minor": -5, "currency": "XX", "expected_close_date": "soon"}))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["amount_minor", "currency", "expected_close_date"]);
        let r = app.post(&path, json!({"currency": "EUR", "pipeline_id": 4242})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["pipeline_id".to_string()]));
        // Valid for the domain, refused by the store after the company was written: an owner
        // who is no user. The company is rolled back with the rest.
        let r = app.post(&path, json!({"currency": "EUR", "company_name": "Half Written Ltd", "owner_id": 987654})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["owner_id".to_string()]), "{}", r.body);
        let r = app.post(&path, json!({"currency": "EUR", "stage": "won"})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "the stage is the pipeline's first: {}", r.body);

        let p = app.get(&format!("/api/v1/customers/{}", lead["id"])).await.body;
        assert_eq!((p["lifecycle_stage"].as_str(), p["lead_status"].as_str(), &p["company_id"]), (Some("lead"), Some("new"), &json!(null)));
        assert_eq!((p["version"].clone(), count(&app, "/api/v1/companies").await), (lead["version"].clone(), 0));
        assert_eq!(count(&app, "/api/v1/opportunities").await, 0);
    });
}

#[tokio::test]
async fn a_rep_converts_only_the_leads_they_can_see() {
    each_backend!(|app| {
        let a = app.user_token("a@example.com", Role::SalesRep).await;
        let b = app.user_token("b@example.com", Role::SalesRep).await;
        let a_id = user_id(&app, &a).await;
        let r = app.call(Method::POST, "/api/v1/customers", Some(&a), Some(json!({"name": "Gus Lead"})), &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let lead = r.body;
        // B cannot see A's lead: not found, and nothing changes.
        let r = convert_as(&app, &b, &lead["id"], json!({"currency": "EUR", "company_name": "Secret Co"})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert_eq!(count(&app, "/api/v1/companies").await, 0);
        // A company B cannot see is not linked for B's conversion: B's own lead gets a new one.
        let r = app.call(Method::POST, "/api/v1/companies", Some(&a), Some(json!({"name": "Shared Name"})), &[]).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let a_company = r.body["id"].clone();
        let r = app.call(Method::POST, "/api/v1/customers", Some(&b), Some(json!({"name": "Hal Lead"})), &[]).await;
        let r = convert_as(&app, &b, &r.body["id"], json!({"currency": "EUR", "company_name": "shared name"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["company_created"], json!(true));
        assert_ne!(r.body["company"]["id"], a_company);
        // A converts their own lead; the deal is theirs.
        let r = convert_as(&app, &a, &lead["id"], json!({"currency": "EUR"})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["opportunity"]["owner_id"].as_i64(), Some(a_id));
    });
}
