//! The order pages: the catalogue list, entering an order through the form (its lines as the
//! page's script writes them), the live totals the form asks for, the order's page with its
//! status buttons, and the orders card on the person's page.

use axum::http::{StatusCode, header};
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::ADMIN_EMAIL;
use crate::ui::{csrf_of, form, page, session};

fn enc(s: &str) -> String {
    rapport_server::ui::urlencode(s).replace('/', "%2F")
}

#[tokio::test]
async fn an_order_is_entered_priced_and_moved_through_the_pages() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Buyer"})).await;
        let w = app.product("W-1", "Widget", 1999, "USD").await;
        let g = app.product("G-1", "Gadget", 500, "USD").await;
        let cookie = session(&app, ADMIN_EMAIL).await;

        let (status, html) = page(&app, "/products?q=widg", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Widget") && html.contains("19.99 USD") && !html.contains("Gadget"), "{html}");
        let (status, html) = page(&app, "/lookup/products?q=gad", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(serde_json::from_str::<Value>(&html).unwrap(), json!([{"id": g["id"], "title": "Gadget"}]));

        let (status, html) = page(&app, &format!("/orders/new?customer_id={}&customer_id.title=Ann%20Buyer", ann["id"]), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"id="order-form""#) && html.contains(r#"name="lines""#) && html.contains("Ann Buyer"), "{html}");
        let csrf = csrf_of(&html);
        let lines =
            json!([{"product_id": w["id"], "quantity": 2}, {"product_id": g["id"], "quantity": 1, "discount_bp": 1000}]).to_string();
        let body = format!(
            "_csrf={csrf}&version=0&customer_id={}&tax_rate_bp=1000&currency=&order_date=2026-03-02&lines={}",
            ann["id"],
            enc(&lines)
        );

        // What the form's script asks for as lines change: 2 × 19.99 + 5.00 less 10 % = 44.48,
        // tax 10 % = 4.448 → 4.45, total 48.93.
        let (status, _, priced) = form(&app, "/orders/preview", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::OK, "{priced}");
        let priced: Value = serde_json::from_str(&priced).unwrap();
        assert_eq!((priced["totals"]["total_minor"].as_i64(), priced["lines"][1]["name"].as_str()), (Some(4893), Some("Gadget")));
        let bad = body.replace(&enc(&lines), &enc(&json!([{"product_id": w["id"], "quantity": 0}]).to_string()));
        let (status, _, problem) = form(&app, "/orders/preview", Some(&cookie), &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(problem.contains("lines.0.quantity"), "{problem}");

        let (status, headers, html) = form(&app, "/orders/new", Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let location = headers.get(header::LOCATION).unwrap().to_str().unwrap().to_string();
        let (status, html) = page(&app, &location, &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("48.93 USD") && html.contains("Widget") && html.contains("Gadget") && html.contains(">draft<"), "{html}");
        assert!(html.contains(r#"value="confirm""#) && html.contains(r#"value="cancel""#) && !html.contains(r#"value="pay""#));

        // The edit form sends the stored lines back (with their SKU and name), unchanged.
        let id = location.rsplit('/').next().unwrap();
        let (_, edit) = page(&app, &format!("/orders/{id}/edit"), &cookie).await;
        assert!(edit.contains("&#34;sku&#34;:&#34;W-1&#34;"), "{edit}");
        let order = app.get(&format!("/api/v1/orders/{id}")).await.body;
        let stored = order["lines"].to_string();
        let again = format!(
            "_csrf={csrf}&version={}&customer_id={}&tax_rate_bp=1000&order_date=2026-03-02&notes=Gift&lines={}",
            order["version"],
            ann["id"],
            enc(&stored)
        );
        let (status, _, html) = form(&app, &format!("/orders/{id}/edit"), Some(&cookie), &again).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert_eq!(app.get(&format!("/api/v1/orders/{id}")).await.body["notes"], "Gift");

        let version = app.get(&format!("/api/v1/orders/{id}")).await.body["version"].clone();
        let (status, _, _) =
            form(&app, &format!("/orders/{id}/action"), Some(&cookie), &format!("_csrf={csrf}&version={version}&action=confirm")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, html) =
            form(&app, &format!("/orders/{id}/action"), Some(&cookie), &format!("_csrf={csrf}&version={version}&action=pay")).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "a stale page's button is refused: {html}");
        let (_, html) = page(&app, &location, &cookie).await;
        assert!(html.contains(">confirmed<") && html.contains(r#"value="pay""#), "{html}");

        let (_, person) = page(&app, &format!("/customers/{}", ann["id"]), &cookie).await;
        assert!(
            person.contains(r#"id="orders""#) && person.contains(&format!(r#"href="/orders/{id}""#)) && person.contains("48.93 USD"),
            "{person}"
        );
        let (_, list) = page(&app, "/orders?status=confirmed", &cookie).await;
        assert!(list.contains("Ann Buyer") && list.contains("48.93 USD"), "{list}");
    });
}
