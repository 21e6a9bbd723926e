//! The data pages (issue 13 §2, §3): upload an import from `/data/import` (the CSRF token in a
//! header), follow its job page to the end with its problems and the rejected rows to
//! download, save its column mapping, and download exports.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::ui::{csrf_of, form, page, session};

async fn upload(app: &TestApp, cookie: &str, csrf: &str, query: &str, body: &str) -> (StatusCode, String) {
    let req = Request::post(format!("/data/import/upload?{query}"))
        .header(header::COOKIE, cookie)
        .header("x-csrf-token", csrf)
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let location = res.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, location)
}

#[tokio::test]
async fn the_import_page_uploads_follows_the_job_and_saves_its_mapping() {
    each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/data/import", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"import-form\""), "{html}");
        let csrf = csrf_of(&html);
        let (status, _) = upload(&app, &cookie, "wrong", "kind=customers", "name\nAnn\n").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the upload needs the form's token");

        let csv = "Full name,Mail\nAnn,ann@example.com\nBo,not-an-email\n";
        let (status, location) = upload(&app, &cookie, &csrf, "kind=customers&mode=best_effort&file_name=fair.csv", csv).await;
        assert_eq!(status, StatusCode::CREATED);
        let mut html = String::new();
        for _ in 0..100_000 {
            html = page(&app, &location, &cookie).await.1;
            if html.contains("data-status=\"done\"") || html.contains("data-status=\"failed\"") {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(html.contains("data-status=\"done\""), "{html}");
        // Neither header names a field: both columns are ignored and every row lacks a name.
        assert!(html.contains("<td>2</td><td>name</td>"), "the problem with its line and field: {html}");
        assert!(html.contains("rejected.csv"), "{html}");
        let (status, rejected) = page(&app, &format!("{location}/rejected.csv"), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(rejected.starts_with("Full name,Mail,line,problems\nAnn,ann@example.com,2,"), "{rejected}");

        let body = format!("_csrf={}&kind=customers&name=fair&map.Full+name=name&map.Mail=email", csrf_of(&html));
        let (status, headers, _) = form(&app, "/data/import/mappings", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let next = headers.get(header::LOCATION).unwrap().to_str().unwrap().to_string();
        let mapping_id = next.rsplit('=').next().unwrap().to_string();
        let (_, picked) = page(&app, &next, &cookie).await;
        assert!(picked.contains("selected>customers: fair</option>"), "{picked}");
        let (status, location) =
            upload(&app, &cookie, &csrf, &format!("kind=customers&mode=best_effort&mapping_id={mapping_id}"), csv).await;
        assert_eq!(status, StatusCode::CREATED);
        for _ in 0..100_000 {
            html = page(&app, &location, &cookie).await.1;
            if html.contains("data-status=\"done\"") {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(html.contains("1 created"), "the saved mapping imported Ann: {html}");
        assert!(html.contains("<td>3</td><td>Mail</td>"), "{html}");
        assert_eq!(app.people("").await, ["Ann"]);

        let (status, html) = page(&app, "/data/export", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("/data/export/customers?format=csv"), "{html}");
        let (status, csv) = page(&app, "/data/export/customers?format=csv", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(csv.starts_with("id,name,email,") && csv.contains("Ann,ann@example.com"), "{csv}");
    });
}

/// An order file's mapping form offers an order line's fields as well as the order's, and
/// guesses them from the headers the importer reads (`SKU` → `line.sku`).
#[tokio::test]
async fn the_mapping_of_an_order_file_offers_the_line_fields() {
    each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let csrf = csrf_of(&page(&app, "/data/import", &cookie).await.1);
        let csv = "External id,Customer,SKU,Qty,Unit price,Remark\nA-1,1,NOPE,2,100,x\n";
        let (status, location) = upload(&app, &cookie, &csrf, "kind=orders&dry_run=true", csv).await;
        assert_eq!(status, StatusCode::CREATED);
        let mut html = String::new();
        for _ in 0..100_000 {
            html = page(&app, &location, &cookie).await.1;
            if html.contains("data-status=\"done\"") || html.contains("data-status=\"failed\"") {
                break;
            }
            tokio::task::yield_now().await;
        }
        let select = |header: &str| {
            let start = html.find(&format!("name=\"map.{header}\"")).unwrap_or_else(|| panic!("no select for {header}: {html}"));
            html[start..].split("</select>").next().unwrap().to_string()
        };
        for (header, field) in
            [("External id", "external_id"), ("SKU", "line.sku"), ("Qty", "line.quantity"), ("Unit price", "line.unit_price_minor")]
        {
            assert!(select(header).contains(&format!("<option value=\"{field}\" selected>")), "{header} → {field}: {}", select(header));
        }
        let remark = select("Remark");
        assert!(!remark.contains(" selected>"), "an unknown column is ignored: {remark}");
        assert!(remark.contains("<option value=\"line.discount_bp\">") && remark.contains("<option value=\"status\">"), "{remark}");
    });
}
