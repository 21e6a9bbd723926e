//! Cleansing (issue 13 §4): a preview lists every change and writes nothing; applying changes
//! exactly the previewed people at their previewed versions, through the audited update path;
//! values it cannot fix are reported; the data-quality report counts what is missing, invalid,
//! cleanable and duplicated.

use axum::http::StatusCode;
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::sla::exec;

fn changes(record: &Value) -> Vec<(String, String)> {
    record["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["field"].as_str().unwrap().into(), c["after"].as_str().unwrap().into()))
        .collect()
}

#[tokio::test]
async fn a_preview_lists_every_change_and_applying_writes_exactly_them() {
    each_backend!(|app| {
        let anna =
            app.customer(json!({"name": "ANNA VAN DER BERG", "address": {"street": "Hauptstraße   5", "country": "Deutschland"}})).await;
        let bob = app.customer(json!({"name": "Bob Lee", "email": "bob@example.com", "address": {"country": "GB"}})).await;
        let cy = app.customer(json!({"name": "Cy", "address": {"country": "Atlantis"}})).await;
        let (a, b, c) = (anna["id"].as_i64().unwrap(), bob["id"].as_i64().unwrap(), cy["id"].as_i64().unwrap());
        // A number stored before numbers were validated: national form, no country code.
        exec(&app, &[format!("UPDATE customers SET phone = '0151 23456789' WHERE id = {a}")]).await;

        let r = app.post("/api/v1/data_quality/clean", json!({"preview": true})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["scanned"], 3);
        assert!(r.body["next_cursor"].is_null());
        let records = r.body["records"].as_array().unwrap();
        let ids: Vec<i64> = records.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![a, c], "Bob is clean");
        assert_eq!(
            changes(&records[0]),
            vec![
                ("name".into(), "Anna van der Berg".into()),
                ("address.street".into(), "Hauptstraße 5".into()),
                ("address.country".into(), "DE".into()),
                ("phone".into(), "+4915123456789".into()),
            ]
        );
        assert_eq!(records[0]["changes"][0]["before"], "ANNA VAN DER BERG");
        assert!(records[1]["changes"].as_array().unwrap().is_empty());
        assert_eq!(records[1]["problems"][0]["field"], "address.country");
        let version = records[0]["version"].as_i64().unwrap();
        assert_eq!(app.get(&format!("/api/v1/customers/{a}")).await.body["name"], "ANNA VAN DER BERG", "a preview writes nothing");

        // A person changed since the preview: nothing is applied.
        let stale = app
            .post(
                "/api/v1/data_quality/clean",
                json!({"preview": false, "records": [{"id": a, "version": version - 1}, {"id": b, "version": 1}]}),
            )
            .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.body);
        assert_eq!(app.get(&format!("/api/v1/customers/{a}")).await.body["name"], "ANNA VAN DER BERG");

        let bob_version = bob["version"].as_i64().unwrap();
        let done = app
            .post(
                "/api/v1/data_quality/clean",
                json!({"preview": false, "records": [{"id": a, "version": version}, {"id": b, "version": bob_version}]}),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        let applied = done.body["records"].as_array().unwrap();
        assert_eq!(applied.len(), 1, "only Anna had changes: {}", done.body);
        assert_eq!(applied[0]["version"], version + 1);
        let now = app.get(&format!("/api/v1/customers/{a}")).await.body;
        assert_eq!(now["name"], "Anna van der Berg");
        assert_eq!(now["address"]["street"], "Hauptstraße 5");
        assert_eq!(now["address"]["country"], "DE");
        assert_eq!(now["phone"], "+4915123456789");
        assert_eq!(app.get(&format!("/api/v1/customers/{b}")).await.body["version"], bob_version, "a clean person is not written");
        let audit = app.get(&format!("/api/v1/audit_log?object=customer&record_id={a}")).await;
        assert!(audit.body.to_string().contains("Anna van der Berg"), "the change is audited: {}", audit.body);

        let again = app.post("/api/v1/data_quality/clean", json!({"preview": true})).await;
        let ids: Vec<i64> = again.body["records"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, vec![c], "cleansing is idempotent; Cy's country still needs a person");
    });
}

#[tokio::test]
async fn previews_page_by_cursor() {
    each_backend!(|app| {
        for i in 0..5 {
            app.customer(json!({"name": format!("PERSON NUMBER {i}")})).await;
        }
        let first = app.post("/api/v1/data_quality/clean", json!({"preview": true, "scan": 3})).await;
        assert_eq!(first.body["records"].as_array().unwrap().len(), 3, "{}", first.body);
        let cursor = first.body["next_cursor"].as_str().expect("more to read").to_string();
        let rest = app.post("/api/v1/data_quality/clean", json!({"preview": true, "scan": 3, "cursor": cursor})).await;
        assert_eq!(rest.body["records"].as_array().unwrap().len(), 2, "{}", rest.body);
        assert_eq!(rest.body["records"][1]["changes"][0]["after"], "Person Number 4");
        assert!(rest.body["next_cursor"].is_null());
    });
}

#[tokio::test]
async fn wrong_requests_name_the_field_and_cleansing_needs_personal_data() {
    each_backend!(|app| {
        for (body, field) in [
            (json!({"preview": false}), "records"),
            (json!({"preview": true, "scan": 0}), "scan"),
            (json!({"preview": true, "object": "deals"}), "object"),
            (json!({"preview": true, "records": [{"id": 1, "version": 1}]}), "records"),
        ] {
            let r = app.post("/api/v1/data_quality/clean", body.clone()).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.body);
            assert_eq!(r.error_fields(), vec![field.to_string()], "{body}");
        }
        let marketer = app.user_token("mia@example.com", Role::Marketer).await;
        let r =
            app.call(axum::http::Method::POST, "/api/v1/data_quality/clean", Some(&marketer), Some(json!({"preview": true})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = app.get_as(&marketer, "/api/v1/data_quality/report").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let bad = app.get("/api/v1/data_quality/report?object=deals").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    });
}

#[tokio::test]
async fn the_report_counts_missing_invalid_cleanable_and_duplicated() {
    each_backend!(|app| {
        app.customer(json!({"name": "Ann Lee", "email": "ann@example.com", "address": {"country": "Atlantis"}})).await;
        app.customer(json!({"name": "ANN LEE", "phone": "+14155550134"})).await;
        app.customer(json!({"name": "Bo", "email": "bo@example.com", "address": {"country": "France"}})).await;
        let r = app.get("/api/v1/data_quality/report?object=customers").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let b = &r.body;
        assert_eq!(b["records"], 3);
        assert_eq!(b["missing"]["email"], 1);
        assert_eq!(b["missing"]["phone"], 2);
        assert_eq!(b["missing"]["address.country"], 1);
        assert_eq!(b["invalid"]["address.country"], 1);
        assert_eq!(b["cleanable"], 2, "ANN LEE's case and France's code: {b}");
        assert_eq!(b["suspected_duplicates"], 2, "the two Ann Lees share a folded name: {b}");
    });
}

#[tokio::test]
async fn the_page_shows_the_report_and_applies_the_previewed_changes() {
    each_backend!(|app| {
        let p = app.customer(json!({"name": "ZOË ÅSTRÖM", "address": {"country": "Sweden"}})).await;
        let cookie = crate::ui::session(&app, crate::helpers::ADMIN_EMAIL).await;
        let (status, html) = crate::ui::page(&app, "/data_quality", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("<code>ZOË ÅSTRÖM</code>") && html.contains("<code>Zoë Åström</code>"), "{html}");
        assert!(html.contains("<code>SE</code>"), "{html}");
        let record = format!("{}:{}", p["id"], p["version"]);
        assert!(html.contains(&format!("value=\"{record}\"")), "{html}");
        let csrf = crate::ui::csrf_of(&html);
        let (status, _, html) =
            crate::ui::form(&app, "/data_quality", Some(&cookie), &format!("_csrf={csrf}&cursor=&record={}", record.replace(':', "%3A")))
                .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Cleansed 1 people"), "{html}");
        let now = app.get(&format!("/api/v1/customers/{}", p["id"])).await.body;
        assert_eq!((now["name"].as_str(), now["address"]["country"].as_str()), (Some("Zoë Åström"), Some("SE")));
        // The same form again names a version that is gone: nothing is applied.
        let (status, _, html) =
            crate::ui::form(&app, "/data_quality", Some(&cookie), &format!("_csrf={csrf}&cursor=&record={}", record.replace(':', "%3A")))
                .await;
        assert_eq!(status, StatusCode::CONFLICT, "{html}");
        assert!(html.contains("Nothing was applied"), "{html}");
    });
}

#[tokio::test]
async fn duplicates_are_found_by_blocking_and_scored_with_reasons() {
    each_backend!(|app| {
        let co = app.company(json!({"name": "Acme"})).await;
        let ann = app.customer(json!({"name": "Ann Lee", "email": "ann@example.com"})).await;
        let ann2 = app.customer(json!({"name": "Lee, Ann", "additional_emails": ["ann@example.com"]})).await;
        let jon = app.customer(json!({"name": "Jon Smith", "company_id": co["id"], "address": {"city": "Zürich"}})).await;
        let john = app.customer(json!({"name": "John Smith", "company_id": co["id"], "address": {"city": "Zurich"}})).await;
        app.customer(json!({"name": "Someone Else", "email": "else@example.com"})).await;
        let r = app.get("/api/v1/duplicates?object=customers").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let pairs = r.body.as_array().unwrap();
        let ids: Vec<(i64, i64)> = pairs.iter().map(|p| (p["a"].as_i64().unwrap(), p["b"].as_i64().unwrap())).collect();
        assert_eq!(
            ids,
            vec![(ann["id"].as_i64().unwrap(), ann2["id"].as_i64().unwrap()), (jon["id"].as_i64().unwrap(), john["id"].as_i64().unwrap())]
        );
        assert_eq!(pairs[0]["reasons"], json!(["same_email", "same_name"]));
        assert_eq!(pairs[1]["reasons"], json!(["similar_name", "same_company", "same_city"]));
        assert!(pairs[0]["score"].as_f64().unwrap() > 0.9);
        let strict = app.get("/api/v1/duplicates?min_score=0.9").await;
        assert_eq!(strict.body.as_array().unwrap().len(), 1, "{}", strict.body);
        for bad in ["min_score=2", "limit=0", "object=deals"] {
            let r = app.get(&format!("/api/v1/duplicates?{bad}")).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        }
        let marketer = app.user_token("mia@example.com", Role::Marketer).await;
        assert_eq!(app.get_as(&marketer, "/api/v1/duplicates").await.status, StatusCode::FORBIDDEN);
    });
}
