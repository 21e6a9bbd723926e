//! Deals and tickets in and out of other systems (issue 13 §1–2): imported from CSV and sent
//! through the batch API, upserted by the `external_id` they had there, so the same file twice
//! creates nothing twice, and each bad row is rejected naming its line and column.

use axum::http::StatusCode;
use serde_json::json;

use crate::data_import::{problems, run_import};
use crate::each_backend;

#[tokio::test]
async fn deals_import_twice_and_upsert_by_external_id() {
    each_backend!(|app| {
        let csv = |amount: i64| {
            format!("Name,Amount,Currency,External id\nBig deal,{amount},EUR,o-1\nSmall deal,500,EUR,o-2\nBad,lots,EUR,o-3\n")
        };
        let job = run_import(&app, "kind=opportunities&mode=best_effort", csv(120_000)).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!((job["created"].as_i64(), job["rejected"].as_i64()), (Some(2), Some(1)), "{job}");
        assert_eq!(job["summary"]["upsert_key"], "external_id", "{job}");
        let ps = problems(&app, &job["id"]).await;
        assert!(ps.iter().any(|p| p.0 == 4 && p.1 == "Amount" && p.2.contains("whole number")), "{ps:?}");

        let again = run_import(&app, "kind=opportunities&mode=best_effort", csv(130_000)).await;
        assert_eq!((again["created"].as_i64(), again["updated"].as_i64()), (Some(0), Some(2)), "{again}");
        let listed = app.get("/api/v1/opportunities?limit=100").await;
        assert_eq!(listed.body["data"].as_array().unwrap().len(), 2, "nothing created twice: {}", listed.body);
        let big = app.get("/api/v1/opportunities?external_id=o-1").await;
        let big = &big.body["data"][0];
        assert_eq!(big["amount_minor"], 130_000, "{big}");
        assert_eq!(big["status"], "open");
        assert!(big["stage"].as_str().is_some_and(|s| !s.is_empty()), "a new deal enters the pipeline's first stage: {big}");
        assert!(big["stage_entered_at"].is_string(), "its stage history starts: {big}");

        // The batch API upserts by the same key; a taken key on create is the record's own error.
        let body = json!({"operation": "upsert", "records": [{"data": {"external_id": "o-2", "name": "Renamed"}}]});
        let r = app.post("/api/v1/opportunities/batch", body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["results"][0]["status"], 200, "{}", r.body);
        let body = json!({"operation": "create", "mode": "best_effort", "records": [
            {"data": {"external_id": "o-1", "name": "Twin", "currency": "EUR"}}]});
        let r = app.post("/api/v1/opportunities/batch", body).await;
        assert_eq!(r.body["results"][0]["status"], 409, "{}", r.body);
        let names = app.all_names("/api/v1/opportunities").await;
        assert!(names.contains(&"Renamed".to_string()) && !names.contains(&"Twin".to_string()), "{names:?}");
    });
}

#[tokio::test]
async fn tickets_import_twice_and_start_new_with_their_person() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann"})).await["id"].as_i64().unwrap();
        let csv = |priority: &str| {
            format!(
                "Subject,Person,Priority,Channel,External id\n\
                 Printer on fire,{ann},{priority},email,t-1\n\
                 Nobody asked,,low,email,t-2\n\
                 Odd,{ann},whenever,email,t-3\n"
            )
        };
        let job = run_import(&app, "kind=tickets&mode=best_effort", csv("urgent")).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!((job["created"].as_i64(), job["rejected"].as_i64()), (Some(1), Some(2)), "{job}");
        let ps = problems(&app, &job["id"]).await;
        assert!(ps.iter().any(|p| p.0 == 3 && p.2.contains("is required")), "a ticket needs its person: {ps:?}");
        assert!(ps.iter().any(|p| p.0 == 4), "an unknown priority: {ps:?}");

        let again = run_import(&app, "kind=tickets&mode=best_effort", csv("high")).await;
        assert_eq!((again["created"].as_i64(), again["updated"].as_i64()), (Some(0), Some(1)), "{again}");
        let t = app.get("/api/v1/tickets?external_id=t-1").await;
        assert_eq!(t.body["data"].as_array().unwrap().len(), 1, "{}", t.body);
        let t = &t.body["data"][0];
        assert_eq!(
            (t["status"].as_str(), t["priority"].as_str(), t["customer_id"].as_i64()),
            (Some("new"), Some("high"), Some(ann)),
            "{t}"
        );

        // All or nothing: one bad row and nothing is written.
        let body = json!({"operation": "upsert", "records": [
            {"data": {"external_id": "t-9", "subject": "Fine", "customer_id": ann}},
            {"data": {"external_id": "t-10", "subject": ""}}]});
        let r = app.post("/api/v1/tickets/batch", body).await;
        assert_eq!(r.body["results"][0]["status"], 424, "{}", r.body);
        assert_eq!(app.get("/api/v1/tickets?external_id=t-9").await.body["data"], json!([]));
    });
}

#[tokio::test]
async fn orders_import_a_row_per_line_and_reject_an_order_with_a_bad_line_whole() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann"})).await["id"].as_i64().unwrap();
        for (sku, price) in [("WID-1", 1000), ("GAD-2", 2500)] {
            let p = app.post("/api/v1/products", json!({"sku": sku, "name": sku, "unit_price_minor": price, "currency": "EUR"})).await;
            assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
        }
        let csv = format!(
            "External id,Customer,Status,Order date,SKU,Quantity,Unit price\n\
             s-1,{ann},paid,2026-03-01,WID-1,2,\n\
             s-1,,,,GAD-2,1,2000\n\
             s-2,{ann},paid,2026-03-02,wid-1,1,\n\
             s-3,{ann},paid,2026-03-03,WID-1,1,\n\
             s-3,,,,NOPE-9,1,\n\
             s-4,{ann},draft,2026-03-04,WID-1,lots,\n\
             s-4,,,,WID-1,1,\n"
        );
        let job = run_import(&app, "kind=orders&mode=best_effort", csv.clone()).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(
            (job["created"].as_i64(), job["rejected"].as_i64(), job["rows"].as_i64()),
            (Some(2), Some(4), Some(7)),
            "two orders from three rows; s-3 and s-4 rejected with all their rows: {job}"
        );
        let ps = problems(&app, &job["id"]).await;
        assert!(ps.iter().any(|p| p.0 == 7 && p.1 == "Quantity" && p.2.contains("whole number")), "{ps:?}");
        assert!(
            ps.iter().any(|p| p.0 == 6 && p.1 == "SKU" && p.2.contains("NOPE-9")),
            "an unknown SKU names itself, on the row and in the column of its line: {ps:?}"
        );
        let r = app.get(&format!("/api/v1/imports/{}/rejected", job["id"])).await;
        let text = r.body.as_str().unwrap().to_string();
        let mut rd = csv::Reader::from_reader(text.as_bytes());
        let lines: Vec<String> = rd.records().map(|r| r.unwrap()[7].to_string()).collect();
        assert_eq!(lines, ["5", "6", "7", "8"], "every row of a rejected order is handed back: {text}");

        let s1 = app.get("/api/v1/orders?external_id=s-1").await;
        let s1 = &s1.body["data"][0];
        assert_eq!(s1["status"], "paid", "{s1}");
        assert_eq!(s1["lines"].as_array().unwrap().len(), 2, "{s1}");
        assert_eq!(s1["totals"]["net_minor"], 2 * 1000 + 2000, "the product's price, or the row's: {s1}");
        assert!(s1["paid_at"].as_str().is_some_and(|t| t.starts_with("2026-03-01")), "paid on its order date: {s1}");
        let purchases = app.get(&format!("/api/v1/customers/{ann}/purchases")).await;
        assert_eq!(purchases.body.as_array().unwrap().len(), 3, "the paid lines are purchase history: {}", purchases.body);
        assert_eq!(app.get("/api/v1/orders?external_id=s-3").await.body["data"], json!([]), "no order is missing a line");

        // The same file again changes nothing; the batch API takes lines by SKU too.
        let again = run_import(&app, "kind=orders&mode=best_effort", csv).await;
        assert_eq!((again["created"].as_i64(), again["updated"].as_i64()), (Some(0), Some(2)), "{again}");
        assert_eq!(app.get("/api/v1/orders?limit=100").await.body["data"].as_array().unwrap().len(), 2, "nothing created twice");
        let s1_again = app.get("/api/v1/orders?external_id=s-1").await;
        assert_eq!(s1_again.body["data"][0]["totals"], s1["totals"]);
        let body = json!({"records": [{"data": {"customer_id": ann, "currency": "EUR", "lines": [{"sku": "GAD-2", "quantity": 3}]}}]});
        let r = app.post("/api/v1/orders/batch", body).await;
        assert_eq!(r.body["results"][0]["status"], 201, "{}", r.body);
        let body = json!({"records": [{"data": {"customer_id": ann, "lines": [{"sku": "MISSING"}]}}]});
        let r = app.post("/api/v1/orders/batch", body).await;
        assert_eq!(r.body["results"][0]["error"]["errors"][0]["field"], "records[0].lines.0.sku", "{}", r.body);
    });
}
