//! Imports on the bulk path (issue 13 §2): each row cleansed as `rapport clean` does (listed
//! by a dry run, off with `clean=false`), new records written in multi-row inserts with one
//! audit row per chunk, a key repeated in the file updating the record its first row made, and
//! a unique value taken by another row failing that row alone.

use axum::http::StatusCode;
use serde_json::json;

use crate::data_import::run_import;
use crate::each_backend;

#[tokio::test]
async fn an_import_cleanses_each_row_and_a_dry_run_lists_the_changes() {
    each_backend!(|app| {
        let csv = "external_id,name,email,phone,country\n\
                   k-1,  ANN   LEE ,Ann@Example.COM,(415) 555-0100,united states\n\
                   k-2,Bo Ek,bo@example.com,+46 70 123 45 67,SE\n";
        let dry = run_import(&app, "kind=customers&dry_run=true", csv).await;
        assert_eq!(dry["status"], "done", "{dry}");
        assert_eq!(app.people("").await.len(), 0, "a dry run writes nothing");
        let changes: Vec<(i64, String, String, String)> = dry["summary"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let s = |k: &str| c[k].as_str().unwrap().to_string();
                (c["line"].as_i64().unwrap(), s("field"), s("before"), s("after"))
            })
            .collect();
        let want = |line: i64, field: &str, before: &str, after: &str| (line, field.to_string(), before.to_string(), after.to_string());
        assert_eq!(
            changes,
            [
                want(2, "address.country", "united states", "US"),
                want(2, "name", "  ANN   LEE ", "Ann Lee"),
                want(2, "email", "Ann@Example.COM", "ann@example.com"),
                want(2, "phone", "(415) 555-0100", "+14155550100"),
                want(3, "phone", "+46 70 123 45 67", "+46701234567"),
            ]
        );
        assert_eq!(dry["summary"]["cleansed"], 2, "{dry}");

        let job = run_import(&app, "kind=customers", csv).await;
        assert_eq!(job["created"], 2, "{job}");
        let ann = app.get("/api/v1/customers?external_id=k-1").await;
        let ann = &ann.body["data"][0];
        assert_eq!((ann["name"].as_str(), ann["email"].as_str()), (Some("Ann Lee"), Some("ann@example.com")), "{ann}");
        assert_eq!((ann["phone"].as_str(), ann["address"]["country"].as_str()), (Some("+14155550100"), Some("US")), "{ann}");

        // Turned off, the values go in as typed (what validation accepts).
        let raw = run_import(&app, "kind=customers&clean=false", "external_id,name\nk-3,BOB  SMITH\n").await;
        assert_eq!(raw["created"], 1, "{raw}");
        assert_eq!(raw["summary"]["cleansed"], 0, "{raw}");
        let bob = app.get("/api/v1/customers?external_id=k-3").await;
        assert_eq!(bob.body["data"][0]["name"], "BOB  SMITH");
    });
}

#[tokio::test]
async fn a_bulk_chunk_upserts_a_repeated_key_and_fails_only_the_row_whose_unique_value_is_taken() {
    each_backend!(|app| {
        let csv = "external_id,name,email,city\n\
                   x-1,Ann,ann@example.com,Paris\n\
                   x-1,Ann Two,ann@example.com,Lyon\n\
                   x-2,Cy,ann@example.com,Nice\n\
                   x-3,Dee Quill,dee@example.com,Oslo\n";
        let job = run_import(&app, "kind=customers&mode=best_effort", csv).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!((job["created"].as_i64(), job["updated"].as_i64(), job["rejected"].as_i64()), (Some(2), Some(1), Some(1)), "{job}");
        let r = app.get(&format!("/api/v1/imports/{}/problems", job["id"])).await;
        let ps = r.body["data"].as_array().unwrap();
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!(ps[0]["line"], 4, "the row that took a taken email: {ps:?}");
        let mut names = app.people("").await;
        names.sort();
        assert_eq!(names, ["Ann Two", "Dee Quill"]);

        // What the multi-row insert wrote is found as a record created one by one is: by its
        // words, by its sealed email's blind index, and decrypted on read.
        let found = app.get("/api/v1/customers?q=quill").await;
        assert_eq!(found.body["data"][0]["external_id"], "x-3", "{}", found.body);
        let by_email = app.get("/api/v1/customers?email=dee@example.com").await;
        assert_eq!(by_email.body["data"].as_array().map(Vec::len), Some(1), "{}", by_email.body);
        assert_eq!(by_email.body["data"][0]["address"]["city"], "Oslo");

        let audit = app.get("/api/v1/audit_log?object=customer&action=bulk_create&limit=100").await;
        assert_eq!(audit.status, StatusCode::OK);
        let rows = audit.body.as_array().unwrap();
        let counted: i64 = rows.iter().map(|r| r["diff"]["count"].as_i64().unwrap()).sum();
        assert_eq!(rows[0]["diff"]["source"], json!("import"));
        // A multi-row insert that a taken value refused is written again row by row, each of
        // those rows with its own create audit row.
        let one_by_one = app.get("/api/v1/audit_log?object=customer&action=create&limit=100").await;
        let one_by_one = one_by_one.body.as_array().unwrap().len() as i64;
        assert_eq!((counted, one_by_one), (1, 1), "every created record is audited once: {rows:?}");
    });
}
