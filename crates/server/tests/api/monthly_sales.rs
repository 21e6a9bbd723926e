//! Monthly sales follow every order write exactly (issue 9 §5: the report reads a summary kept
//! in the order's write transaction): after each change (a sale, a payment, a move to another
//! owner, a shipment, a deletion, a bulk import) the report for all owners, per owner, per team
//! and over whole and partial months equals the totals this test computes from the orders it
//! made, distinct customers included.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::{Actor, Role};
use rapport_domain::sales::order::{OrderContext, OrderInput, OrderLineInput, OrderStatus};
use rapport_domain::sales::product::ProductFacts;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;
use crate::opportunities::user_id;
use crate::targets::team;

/// An order as this test made it: whether it counts (paid or shipped, not deleted), its paid
/// month, owner, customer, currency and net amount.
#[derive(Clone, Debug)]
struct Sale {
    id: i64,
    counts: bool,
    month: String,
    owner: Option<i64>,
    customer: i64,
    currency: String,
    net: i64,
}

type Totals = BTreeMap<(String, String), (i64, i64, i64)>;

/// (revenue, orders, distinct customers) per (month, currency) of the counted sales that `keep`
/// keeps, in months `from..=to`.
fn expect(sales: &[Sale], keep: impl Fn(&Sale) -> bool, from: &str, to: &str) -> Totals {
    let mut m: BTreeMap<(String, String), (i64, i64, BTreeSet<i64>)> = BTreeMap::new();
    for s in sales.iter().filter(|s| s.counts && keep(s) && s.month.as_str() >= from && s.month.as_str() <= to) {
        let e = m.entry((s.month.clone(), s.currency.clone())).or_default();
        e.0 += s.net;
        e.1 += 1;
        e.2.insert(s.customer);
    }
    m.into_iter().map(|(k, (rev, n, c))| (k, (rev, n, c.len() as i64))).collect()
}

/// The report at `path` as (month, currency) → (revenue, orders, customers).
async fn got(app: &TestApp, token: &str, path: &str) -> Totals {
    let r = app.call(Method::GET, path, Some(token), None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = (r["month"].as_str().unwrap().to_string(), r["currency"].as_str().unwrap().to_string());
            (key, (r["revenue_minor"].as_i64().unwrap(), r["orders"].as_i64().unwrap(), r["customers"].as_i64().unwrap()))
        })
        .collect()
}

/// Who the checks read as and filter by.
struct Cast {
    rep: String,
    rep_id: i64,
    mate_id: i64,
    west: i64,
}

/// Every reading of monthly sales equals what the sales give, after `step`.
async fn check(app: &TestApp, cast: &Cast, sales: &[Sale], step: &str) {
    let all = |_: &Sale| true;
    let by = |o: i64| move |s: &Sale| s.owner == Some(o);
    let admin = &app.token;
    let cases: Vec<(String, &str, Totals)> = vec![
        ("/api/v1/reports/monthly_sales".into(), admin, expect(sales, all, "0000", "9999")),
        ("/api/v1/reports/monthly_sales?period=2099-03".into(), admin, expect(sales, all, "2099-03", "2099-03")),
        ("/api/v1/reports/monthly_sales?from=2099-03-01&to=2099-04-30".into(), admin, expect(sales, all, "2099-03", "2099-04")),
        (format!("/api/v1/reports/monthly_sales?owner_id={}", cast.rep_id), admin, expect(sales, by(cast.rep_id), "0000", "9999")),
        (
            format!("/api/v1/reports/monthly_sales?owner_id={}&period=2099-Q1", cast.mate_id),
            admin,
            expect(sales, by(cast.mate_id), "2099-01", "2099-03"),
        ),
        (format!("/api/v1/reports/monthly_sales?team_id={}", cast.west), admin, expect(sales, by(cast.mate_id), "0000", "9999")),
        // A rep sees their own and the unowned orders: read from the orders, not the summary.
        (
            "/api/v1/reports/monthly_sales".into(),
            &cast.rep,
            expect(sales, |s| s.owner.is_none() || s.owner == Some(cast.rep_id), "0000", "9999"),
        ),
    ];
    for (path, token, want) in cases {
        assert_eq!(got(app, token, &path).await, want, "after {step}: {path}");
    }
    // A span ending inside a month is summed from the orders: it must agree with the summary.
    let whole = got(app, admin, "/api/v1/reports/monthly_sales?from=2099-03-01&to=2099-03-31").await;
    let days = got(app, admin, "/api/v1/reports/monthly_sales?from=2099-02-28&to=2099-03-31").await;
    let feb = got(app, admin, "/api/v1/reports/monthly_sales?period=2099-02").await;
    let march_only: Totals = days.into_iter().filter(|((m, _), _)| m == "2099-03").collect();
    assert_eq!(march_only, whole, "after {step}: summary and orders agree");
    assert!(feb.is_empty(), "no sale in February");
}

/// Creates an order as the admin and returns it as a sale.
async fn sell(app: &TestApp, owner: Option<i64>, customer: i64, product: &Value, quantity: i64, day: &str, status: &str) -> Sale {
    let body = json!({"customer_id": customer, "owner_id": owner, "order_date": day, "status": status,
        "lines": [{"product_id": product["id"], "quantity": quantity}]});
    let r = app.post("/api/v1/orders", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    Sale {
        id: r.body["id"].as_i64().unwrap(),
        counts: status == "paid" || status == "shipped",
        month: day[..7].to_string(),
        owner,
        customer,
        currency: product["currency"].as_str().unwrap().to_string(),
        net: quantity * product["unit_price_minor"].as_i64().unwrap(),
    }
}

#[tokio::test]
async fn monthly_sales_follow_every_order_write_exactly() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let mate = app.user_token("mate@example.com", Role::SalesRep).await;
        let (rep_id, mate_id) = (user_id(&app, &rep).await, user_id(&app, &mate).await);
        let west = team(&app, "West", "private", &[mate_id]).await;
        let cast = Cast { rep, rep_id, mate_id, west };
        let usd = app.product("MS-U", "Widget", 1_000, "USD").await;
        let eur = app.product("MS-E", "Gadget", 700, "EUR").await;
        let ann = app.customer(json!({"name": "Ann", "owner_id": rep_id})).await["id"].as_i64().unwrap();
        let bob = app.customer(json!({"name": "Bob", "owner_id": mate_id})).await["id"].as_i64().unwrap();
        let cy = app.customer(json!({"name": "Cy"})).await["id"].as_i64().unwrap();

        // Two owners sell to Ann in March: she is one customer of the month for all owners,
        // and one of each owner's.
        let mut sales = vec![
            sell(&app, Some(rep_id), ann, &usd, 2, "2099-03-05", "paid").await,
            sell(&app, Some(mate_id), ann, &usd, 3, "2099-03-10", "paid").await,
            sell(&app, Some(rep_id), bob, &usd, 1, "2099-04-01", "paid").await,
            sell(&app, Some(rep_id), ann, &eur, 4, "2099-03-31", "paid").await,
            sell(&app, None, cy, &usd, 5, "2099-03-20", "paid").await,
            sell(&app, Some(rep_id), bob, &usd, 9, "2099-03-15", "confirmed").await,
            sell(&app, Some(mate_id), cy, &usd, 6, "2099-03-16", "draft").await,
        ];
        let march = got(&app, &app.token, "/api/v1/reports/monthly_sales?period=2099-03").await;
        assert_eq!(march[&("2099-03".to_string(), "USD".to_string())], (10_000, 3, 2), "Ann counted once, with Cy");
        check(&app, &cast, &sales, "the first sales").await;

        // The confirmed order is paid now: it counts in this month.
        let id = sales[5].id;
        let r = app.call(Method::POST, &format!("/api/v1/orders/{id}/pay"), Some(&app.token), None, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        sales[5].counts = true;
        sales[5].month = r.body["paid_at"].as_str().unwrap()[..7].to_string();
        check(&app, &cast, &sales, "a payment").await;

        // Ann's first order moves to the other owner: the rep's March loses it, the mate's gains.
        let id = sales[0].id;
        let r = app.patch(&format!("/api/v1/orders/{id}"), json!({"owner_id": mate_id}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        sales[0].owner = Some(mate_id);
        check(&app, &cast, &sales, "a change of owner").await;

        // Shipping keeps an order counted; deleting removes it.
        let id = sales[1].id;
        let r = app.call(Method::POST, &format!("/api/v1/orders/{id}/ship"), Some(&app.token), None, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        check(&app, &cast, &sales, "a shipment").await;
        for i in [2, 4] {
            let r = app.delete(&format!("/api/v1/orders/{}", sales[i].id)).await;
            assert!(r.status.is_success(), "{}", r.body);
            sales[i].counts = false;
        }
        check(&app, &cast, &sales, "two deletions").await;

        // A bulk import (the demo's path) recomputes the months it sold in, once.
        let facts =
            ProductFacts { sku: "MS-U".into(), name: "Widget".into(), unit_price_minor: 1_000, currency: "USD".into(), active: true };
        let lookup = |_| Some(facts.clone());
        let order = |customer: i64, owner: i64, day: &str, status: OrderStatus| {
            let input = OrderInput {
                customer_id: Some(customer),
                owner_id: Some(Some(owner)),
                status: Some(status),
                order_date: Some(day.into()),
                lines: Some(vec![OrderLineInput { product_id: usd["id"].as_i64(), quantity: Some(7), ..Default::default() }]),
                ..Default::default()
            };
            input.apply(None, &OrderContext { product: &lookup, now: "2099-05-01T00:00:00.000000Z" }).unwrap()
        };
        let batch = vec![
            order(bob, mate_id, "2099-03-02", OrderStatus::Paid),
            order(ann, rep_id, "2099-04-09", OrderStatus::Shipped),
            order(cy, rep_id, "2099-03-03", OrderStatus::Draft),
        ];
        let ids = app.store.import_orders(&Actor::system(), &batch).await.unwrap();
        for (id, (d, (customer, owner))) in ids.iter().zip(batch.iter().zip([(bob, mate_id), (ann, rep_id), (cy, rep_id)])) {
            let counts = matches!(d.status, OrderStatus::Paid | OrderStatus::Shipped) && d.paid_at.is_some();
            let month = d.paid_at.as_deref().map_or(String::new(), |p| p[..7].to_string());
            sales.push(Sale { id: *id, counts, month, owner: Some(owner), customer, currency: "USD".into(), net: 7_000 });
        }
        check(&app, &cast, &sales, "a bulk import").await;
    });
}
