//! Bulk imports (the demo's people and orders): many rows per statement must still give each
//! record its own id and data, check every reference, and write nothing when one is wrong.

use rapport_domain::customer::CustomerInput;
use rapport_domain::permissions::Actor;
use rapport_domain::sales::order::{OrderContext, OrderData, OrderInput, OrderLineInput, OrderStatus};
use rapport_domain::sales::product::ProductFacts;
use rapport_domain::values::Region;
use rapport_store::Error;

use crate::each_backend;

/// A paid order of `customer` for `quantity` of product `product`.
fn order(customer: i64, product: i64, facts: &ProductFacts, quantity: i64) -> OrderData {
    let input = OrderInput {
        customer_id: Some(customer),
        status: Some(OrderStatus::Paid),
        order_date: Some("2026-03-01".into()),
        lines: Some(vec![OrderLineInput { product_id: Some(product), quantity: Some(quantity), ..Default::default() }]),
        ..Default::default()
    };
    let lookup = |_| Some(facts.clone());
    input.apply(None, &OrderContext { product: &lookup, now: "2026-03-01T00:00:00.000000Z" }).unwrap()
}

#[tokio::test]
async fn bulk_imports_keep_each_rows_id_and_refuse_unknown_references_whole() {
    each_backend!(|app| {
        let system = Actor::system();
        let defs = app.store.customer_fields(&system).await.unwrap();
        // More than one statement's worth of rows (64), so ids must line up across statements.
        let people: Vec<_> = (0..150)
            .map(|i| {
                let input = CustomerInput { name: Some(format!("Person {i}")), ..Default::default() };
                input.apply(None, &defs, Region::US).unwrap()
            })
            .collect();
        let ids = app.store.create_customers_batch(&system, &people).await.unwrap();
        assert_eq!(ids.len(), 150);
        for (i, id) in ids.iter().enumerate().step_by(37) {
            let r = app.get(&format!("/api/v1/customers/{id}")).await;
            assert_eq!(r.body["name"], format!("Person {i}"), "{}", r.body);
        }

        let p = app.product("IMP-1", "Import widget", 1_000, "USD").await;
        let pid = p["id"].as_i64().unwrap();
        let facts = ProductFacts {
            sku: "IMP-1".into(),
            name: "Import widget".into(),
            unit_price_minor: 1_000,
            currency: "USD".into(),
            active: true,
        };
        let orders: Vec<OrderData> = ids.iter().enumerate().map(|(i, c)| order(*c, pid, &facts, 1 + i as i64 % 5)).collect();
        let order_ids = app.store.import_orders(&system, &orders).await.unwrap();
        assert_eq!(order_ids.len(), 150);
        for (i, oid) in order_ids.iter().enumerate().step_by(29) {
            let r = app.get(&format!("/api/v1/orders/{oid}")).await;
            assert_eq!(r.body["customer_id"], ids[i], "{}", r.body);
            assert_eq!(r.body["customer_name"], format!("Person {i}"));
            assert_eq!(r.body["lines"][0]["quantity"], 1 + i as i64 % 5);
            let bought = app.get(&format!("/api/v1/customers/{}/purchases", ids[i])).await;
            assert_eq!(bought.body.as_array().map(Vec::len), Some(1), "{}", bought.body);
        }

        // One order naming a person who does not exist: the batch is refused, naming the field.
        let mut wrong = orders[..70].to_vec();
        wrong[66].customer_id = Some(999_999);
        match app.store.import_orders(&system, &wrong).await {
            Err(Error::Invalid(e)) => assert_eq!(e.0.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["customer_id"]),
            other => panic!("expected the unknown customer refused, got {other:?}"),
        }
        let listed = app.get("/api/v1/orders?limit=500").await;
        assert_eq!(listed.body["data"].as_array().unwrap().len(), 150, "nothing of the refused batch was written");
    });
}
