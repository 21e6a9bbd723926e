//! Products and orders (issue 9, §3): the catalogue, orders priced on the server, the status
//! rules, wrong input named by field with nothing written, record visibility, and purchase
//! history read from paid orders.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{Res, TestApp};

/// Calls as `token`, with `If-Match` when given.
async fn call(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>, version: Option<i64>) -> Res {
    let v = version.map(|v| v.to_string());
    let headers: Vec<(&str, &str)> = v.as_deref().map(|v| vec![("if-match", v)]).unwrap_or_default();
    app.call(method, path, Some(token), body, &headers).await
}

async fn order_count(app: &TestApp) -> usize {
    app.get("/api/v1/orders?limit=500").await.body["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn the_catalogue_keeps_unique_skus_and_only_admins_and_managers_change_it() {
    each_backend!(|app| {
        let w = app.product(" wid-1 ", "Blue widget", 1999, "usd").await;
        assert_eq!((w["sku"].as_str(), w["currency"].as_str(), w["active"].as_bool()), (Some("WID-1"), Some("USD"), Some(true)));
        let dup = app.post("/api/v1/products", json!({"sku": "WID-1", "name": "Other", "unit_price_minor": 1, "currency": "USD"})).await;
        assert_eq!((dup.status, dup.error_fields()), (StatusCode::CONFLICT, vec!["sku".to_string()]));
        let bad = app.post("/api/v1/products", json!({"sku": "a b", "name": "", "unit_price_minor": -5, "currency": "EURO"})).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.error_fields(), ["sku", "name", "unit_price_minor", "currency"]);
        app.product("GAD-2", "Gadget deluxe", 500, "EUR").await;

        let found = app.get("/api/v1/products?q=widg").await;
        let skus: Vec<&str> = found.body["data"].as_array().unwrap().iter().map(|p| p["sku"].as_str().unwrap()).collect();
        assert_eq!(skus, ["WID-1"], "searched by name");
        let by_sku = app.get("/api/v1/products?q=gad").await;
        assert_eq!(by_sku.body["data"][0]["name"], "Gadget deluxe");
        let sorted = app.get("/api/v1/products?sort=-unit_price_minor").await;
        assert_eq!(sorted.body["data"][0]["sku"], "WID-1");

        let path = format!("/api/v1/products/{}", w["id"]);
        let stale = app.patch(&path, json!({"active": false}), Some(w["version"].as_i64().unwrap() + 1)).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
        let off = app.patch(&path, json!({"active": false}), w["version"].as_i64()).await;
        assert_eq!((off.status, off.body["active"].as_bool()), (StatusCode::OK, Some(false)));
        let active = app.get("/api/v1/products?active=true").await;
        assert_eq!(active.body["data"].as_array().unwrap().len(), 1);

        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let r = call(&app, &rep, Method::GET, &path, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "everyone reads the catalogue");
        let body = json!({"sku": "REP", "name": "Mine", "unit_price_minor": 1, "currency": "USD"});
        let r = call(&app, &rep, Method::POST, "/api/v1/products", Some(body.clone()), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let manager = app.user_token("boss@example.com", Role::Manager).await;
        let r = call(&app, &manager, Method::POST, "/api/v1/products", Some(body), None).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(
            call(&app, &manager, Method::DELETE, &format!("/api/v1/products/{}", r.body["id"]), None, None).await.status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(app.get(&format!("/api/v1/products/{}", r.body["id"])).await.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn orders_are_priced_on_the_server_and_move_through_their_statuses() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Buyer"})).await;
        let acme = app.company(json!({"name": "Acme"})).await;
        let w = app.product("W", "Widget", 1999, "USD").await;
        let g = app.product("G", "Gadget", 500, "USD").await;
        let lines = json!([
            {"product_id": w["id"], "quantity": 3, "discount_bp": 1250},
            {"product_id": g["id"], "quantity": 2, "unit_price_minor": 450, "discount_minor": 100}
        ]);
        // By hand: 3 × 19.99 = 59.97 less 12.5 % (7.49625, rounded to 7.50) = 52.47; 2 × 4.50 =
        // 9.00 less 1.00 = 8.00; net 60.47; tax 20 % = 12.094, rounded to 12.09; total 72.56.
        let body =
            json!({"customer_id": ann["id"], "company_id": acme["id"], "lines": lines, "tax_rate_bp": 2000, "order_date": "2026-03-02"});
        let preview = app.post("/api/v1/orders/preview", json!({"lines": lines, "tax_rate_bp": 2000})).await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert_eq!(preview.body["totals"]["total_minor"], 7256);
        assert_eq!(preview.body["lines"][0]["unit_price_minor"], 1999, "the product's price by default");
        assert_eq!(order_count(&app).await, 0, "a preview stores nothing");

        let r = app.post("/api/v1/orders", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let o = r.body;
        assert_eq!(r.headers["location"], format!("/api/v1/orders/{}", o["id"]).as_str());
        let t = &o["totals"];
        assert_eq!(
            (
                t["subtotal_minor"].as_i64(),
                t["discount_minor"].as_i64(),
                t["net_minor"].as_i64(),
                t["tax_minor"].as_i64(),
                t["total_minor"].as_i64()
            ),
            (Some(6897), Some(850), Some(6047), Some(1209), Some(7256))
        );
        assert_eq!(
            t["lines"],
            json!([{"gross_minor": 5997, "discount_minor": 750, "net_minor": 5247}, {"gross_minor": 900, "discount_minor": 100, "net_minor": 800}])
        );
        assert_eq!((o["status"].as_str(), o["currency"].as_str(), o["lines"][1]["sku"].as_str()), (Some("draft"), Some("USD"), Some("G")));
        assert_eq!((o["customer_name"].as_str(), o["company_name"].as_str()), (Some("Ann Buyer"), Some("Acme")));
        let admin_id = app.get("/api/v1/users/me").await.body["id"].clone();
        assert_eq!(o["owner_id"], admin_id, "the creator owns it");
        let path = format!("/api/v1/orders/{}", o["id"]);

        // A draft's lines are replaced whole.
        let r = app.patch(&path, json!({"lines": [{"product_id": w["id"], "quantity": 1}], "tax_rate_bp": 0}), o["version"].as_i64()).await;
        assert_eq!((r.status, r.body["totals"]["total_minor"].as_i64()), (StatusCode::OK, Some(1999)), "{}", r.body);
        let purchases = app.get(&format!("/api/v1/customers/{}/purchases", ann["id"])).await;
        assert_eq!(purchases.body, json!([]), "a draft is no purchase");

        let r = call(&app, &app.token, Method::POST, &format!("{path}/pay"), None, None).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert_eq!(r.body["allowed_actions"], json!(["confirm", "cancel"]));
        let r = call(&app, &app.token, Method::POST, &format!("{path}/confirm"), None, None).await;
        assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("confirmed")), "{}", r.body);
        assert!(r.body["confirmed_at"].is_string());

        // Lines are frozen after confirmation.
        let r = app.patch(&path, json!({"lines": [{"product_id": g["id"], "quantity": 5}]}), None).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!(r.body["allowed_actions"], json!(["pay", "cancel"]));
        assert_eq!(r.error_fields(), ["lines"]);
        let r = app.patch(&path, json!({"notes": "Deliver Monday"}), None).await;
        assert_eq!((r.status, r.body["notes"].as_str()), (StatusCode::OK, Some("Deliver Monday")), "notes stay editable");
        assert_eq!(r.body["lines"].as_array().unwrap().len(), 1);

        let paid = app.patch(&path, json!({"status": "paid"}), r.body["version"].as_i64()).await;
        assert_eq!((paid.status, paid.body["status"].as_str()), (StatusCode::OK, Some("paid")), "{}", paid.body);
        let r = call(&app, &app.token, Method::POST, &format!("{path}/cancel"), None, None).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "a paid order is not cancelled");
        assert_eq!(r.body["allowed_actions"], json!(["ship"]));
        let purchases = app.get(&format!("/api/v1/customers/{}/purchases", ann["id"])).await;
        assert_eq!(purchases.body.as_array().unwrap().len(), 1);
        let p = &purchases.body[0];
        assert_eq!((p["product"].as_str(), p["amount_minor"].as_i64(), p["quantity"].as_i64()), (Some("Widget"), Some(1999), Some(1)));
        assert_eq!((p["invoice"].as_str(), p["purchased_at"].clone()), (Some(o["id"].to_string().as_str()), paid.body["paid_at"].clone()));

        let shipped = call(&app, &app.token, Method::POST, &format!("{path}/ship"), None, paid.body["version"].as_i64()).await;
        assert_eq!(shipped.body["status"], "shipped");
        let r = call(&app, &app.token, Method::POST, &format!("{path}/confirm"), None, None).await;
        assert_eq!((r.status, r.body["allowed_actions"].clone()), (StatusCode::CONFLICT, json!([])));
        assert_eq!(
            app.get(&format!("/api/v1/customers/{}/purchases", ann["id"])).await.body.as_array().unwrap().len(),
            1,
            "shipped counts"
        );

        // A confirmed order can be cancelled, and leaves purchase history.
        let second = app.post("/api/v1/orders", json!({"customer_id": ann["id"], "lines": [{"product_id": g["id"]}]})).await.body;
        let p2 = format!("/api/v1/orders/{}", second["id"]);
        call(&app, &app.token, Method::POST, &format!("{p2}/confirm"), None, None).await;
        let r = call(&app, &app.token, Method::POST, &format!("{p2}/cancel"), None, None).await;
        assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("cancelled")));

        let paid_list = app.get(&format!("/api/v1/orders?status=shipped&customer_id={}", ann["id"])).await;
        let ids: Vec<&Value> = paid_list.body["data"].as_array().unwrap().iter().map(|o| &o["id"]).collect();
        assert_eq!(ids, [&o["id"]]);
        let big = app.get("/api/v1/orders?total_minor.gte=1000&sort=-total_minor").await;
        assert_eq!(big.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(big.body["data"][0]["id"], o["id"]);
        let audit = app.get(&format!("/api/v1/audit_log?object=order&record_id={}", o["id"])).await;
        assert_eq!(audit.body.as_array().unwrap().len(), 6, "create, lines, confirm, notes, pay, ship; nothing refused: {}", audit.body);
    });
}

#[tokio::test]
async fn wrong_lines_are_named_and_nothing_is_written() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann"})).await;
        let w = app.product("W", "Widget", 1999, "USD").await;
        let e = app.product("E", "Euro thing", 1000, "EUR").await;
        let old = app.product("OLD", "Old thing", 100, "USD").await;
        app.patch(&format!("/api/v1/products/{}", old["id"]), json!({"active": false}), None).await;
        let order = |lines: Value| json!({"customer_id": ann["id"], "currency": "USD", "lines": lines});
        for (lines, field, message) in [
            (json!([{"product_id": w["id"], "quantity": 0}]), "lines.0.quantity", "at least 1"),
            (json!([{"product_id": w["id"]}, {"product_id": w["id"], "quantity": -2}]), "lines.1.quantity", "at least 1"),
            (json!([{"product_id": 987654}]), "lines.0.product_id", "there is no product 987654"),
            (json!([{"product_id": old["id"]}]), "lines.0.product_id", "inactive"),
            (json!([{"product_id": w["id"]}, {"product_id": e["id"]}]), "lines.1.product_id", "one currency"),
        ] {
            for path in ["/api/v1/orders", "/api/v1/orders/preview"] {
                let r = app.post(path, order(lines.clone())).await;
                assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {lines}: {}", r.body);
                assert_eq!(r.error_fields(), [field], "{lines}");
                assert!(r.body["errors"][0]["message"].as_str().unwrap().contains(message), "{}", r.body);
            }
        }
        let r = app.post("/api/v1/orders", json!({"lines": [{"product_id": w["id"]}]})).await;
        assert_eq!(r.error_fields(), ["customer_id"]);
        let r = app.post("/api/v1/orders", json!({"customer_id": 424242, "lines": [{"product_id": w["id"]}]})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["customer_id".to_string()]));
        let r = app.post("/api/v1/orders", json!({"customer_id": ann["id"], "campaign_id": 999, "lines": [{"product_id": w["id"]}]})).await;
        assert_eq!(r.error_fields(), ["campaign_id"], "{}", r.body);
        assert_eq!(order_count(&app).await, 0, "no order was half-written");
        assert_eq!(app.get("/api/v1/audit_log?object=order").await.body, json!([]));

        // A draft whose new lines are wrong keeps its old ones.
        let d = app.post("/api/v1/orders", order(json!([{"product_id": w["id"], "quantity": 2}]))).await.body;
        let r =
            app.patch(&format!("/api/v1/orders/{}", d["id"]), json!({"lines": [{"product_id": e["id"]}], "currency": "USD"}), None).await;
        assert_eq!(r.error_fields(), ["lines.0.product_id"]);
        let now = app.get(&format!("/api/v1/orders/{}", d["id"])).await.body;
        assert_eq!((now["version"].clone(), now["totals"]["total_minor"].as_i64()), (d["version"].clone(), Some(3998)));
        let r = app.post(&format!("/api/v1/orders/{}/refund", d["id"]), json!({})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "unknown actions are bad paths");
    });
}

#[tokio::test]
async fn orders_are_visible_as_people_are() {
    each_backend!(|app| {
        let w = app.product("W", "Widget", 1000, "USD").await;
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let other = app.user_token("other@example.com", Role::SalesRep).await;
        let viewer = app.user_token("viewer@example.com", Role::Viewer).await;
        let mine = call(&app, &rep, Method::POST, "/api/v1/customers", Some(json!({"name": "Rep's customer"})), None).await.body;
        let r = call(
            &app,
            &rep,
            Method::POST,
            "/api/v1/orders",
            Some(json!({"customer_id": mine["id"], "lines": [{"product_id": w["id"]}]})),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let path = format!("/api/v1/orders/{}", r.body["id"]);
        assert_eq!(call(&app, &other, Method::GET, &path, None, None).await.status, StatusCode::NOT_FOUND);
        let listed = call(&app, &other, Method::GET, "/api/v1/orders", None, None).await;
        assert_eq!(listed.body["data"], json!([]), "another rep's orders are not listed");
        let r2 = call(
            &app,
            &other,
            Method::POST,
            "/api/v1/orders",
            Some(json!({"customer_id": mine["id"], "lines": [{"product_id": w["id"]}]})),
            None,
        )
        .await;
        assert_eq!(r2.error_fields(), ["customer_id"], "nor can they order for a person they cannot see");
        assert_eq!(call(&app, &other, Method::POST, &format!("{path}/confirm"), None, None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(call(&app, &viewer, Method::GET, &path, None, None).await.status, StatusCode::OK);
        let r = call(&app, &viewer, Method::POST, &format!("{path}/confirm"), None, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "viewers read orders only");
        let r = call(&app, &viewer, Method::POST, "/api/v1/orders/preview", Some(json!({"lines": [{"product_id": w["id"]}]})), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    });
}
