//! The monthly summary follows changes the API does not offer today but any write path may make
//! (the generic update every order write goes through): a paid order cancelled, moved to another
//! month, sold to another customer, re-priced. After each, the report for all owners and per
//! owner equals the totals computed here from the orders as the test changed them.

use std::collections::{BTreeMap, BTreeSet};

use rapport_domain::accounts::NewUser;
use rapport_domain::customer::CustomerData;
use rapport_domain::permissions::Actor;
use rapport_domain::sales::order::{Order, OrderData, OrderInput, OrderLineInput, OrderStatus};
use rapport_domain::sales::product::ProductInput;
use rapport_domain::sales::report::ReportFilter;

use crate::{Error, Store};

type Totals = BTreeMap<(String, String), (i64, i64, i64)>;

/// A change to an order's data, given the id of another customer it may move to.
type Change = fn(&mut OrderData, i64);

/// (revenue, orders, customers) per (month, currency) of `orders` (id, owner, data) that count
/// and that `owner` keeps (all when `None`).
fn expect(orders: &[(i64, OrderData)], owner: Option<i64>) -> Totals {
    let mut m: BTreeMap<(String, String), (i64, i64, BTreeSet<i64>)> = BTreeMap::new();
    for (_, d) in orders {
        let counts = matches!(d.status, OrderStatus::Paid | OrderStatus::Shipped);
        let (Some(paid), true) = (&d.paid_at, counts && owner.is_none_or(|o| d.owner_id == Some(o))) else { continue };
        let net: i64 = d.lines.iter().map(|l| l.quantity * l.unit_price_minor).sum();
        let e = m.entry((paid[..7].to_string(), d.currency.clone())).or_default();
        e.0 += net;
        e.1 += 1;
        e.2.extend(d.customer_id);
    }
    m.into_iter().map(|(k, (r, n, c))| (k, (r, n, c.len() as i64))).collect()
}

async fn report(store: &Store, owner: Option<i64>) -> Totals {
    let f = ReportFilter { owner_id: owner, ..Default::default() };
    let rows = store.monthly_sales_report(&Actor::system(), &f).await.unwrap();
    rows.into_iter().map(|r| ((r.month, r.currency), (r.revenue_minor, r.orders, r.customers))).collect()
}

async fn check(store: Store) {
    store.migrate().await.unwrap();
    let system = Actor::system();
    let mut users = vec![];
    for who in ["rep", "mate"] {
        let new = NewUser {
            email: format!("{who}@example.com"),
            name: who.into(),
            password: "a long password 1".into(),
            role: "sales_rep".into(),
        };
        users.push(store.create_user(&system, new).await.unwrap().id);
    }
    let (rep, mate) = (users[0], users[1]);
    let people = ["Ann", "Bob"].map(|n| CustomerData { name: n.into(), ..Default::default() });
    let ids = store.create_customers_batch(&system, &people).await.unwrap();
    let (ann, bob) = (ids[0], ids[1]);
    let product = ProductInput {
        sku: Some("F-1".into()),
        name: Some("Widget".into()),
        unit_price_minor: Some(1_000),
        currency: Some("USD".into()),
        ..Default::default()
    };
    let product = store.create_product(&system, product).await.unwrap().id;
    let mut orders: Vec<(i64, OrderData)> = vec![];
    for (owner, customer, day, quantity) in [(rep, ann, "2099-03-05", 2), (mate, ann, "2099-03-06", 1), (rep, bob, "2099-03-07", 3)] {
        let input = OrderInput {
            customer_id: Some(customer),
            owner_id: Some(Some(owner)),
            status: Some(OrderStatus::Paid),
            order_date: Some(day.into()),
            lines: Some(vec![OrderLineInput { product_id: Some(product), quantity: Some(quantity), ..Default::default() }]),
            ..Default::default()
        };
        let o = store.create_order(&system, input).await.unwrap();
        orders.push((o.id, o.data));
    }
    let agree = |orders: Vec<(i64, OrderData)>, step: &'static str| {
        let store = &store;
        async move {
            assert_eq!(report(store, None).await, expect(&orders, None), "after {step}: all owners");
            for o in [rep, mate] {
                assert_eq!(report(store, Some(o)).await, expect(&orders, Some(o)), "after {step}: owner {o}");
            }
        }
    };
    agree(orders.clone(), "the sales").await;
    assert_eq!(report(&store, None).await[&("2099-03".to_string(), "USD".to_string())].2, 2, "Ann once, and Bob");

    let changes: [(usize, &'static str, Change); 4] = [
        (0, "a paid order cancelled", |d, _| {
            d.status = OrderStatus::Cancelled;
            d.cancelled_at = Some("2099-03-08T00:00:00.000000Z".into());
        }),
        (1, "a move to another month", |d, _| d.paid_at = Some("2099-04-02T00:00:00.000000Z".into())),
        (2, "another customer", |d, ann| d.customer_id = Some(ann)),
        (2, "a new price", |d, _| d.lines[0].unit_price_minor = 1_500),
    ];
    for (i, step, change) in changes {
        let (id, before) = orders[i].clone();
        let mut after = before.clone();
        change(&mut after, ann);
        store.update_record::<Order, _, Error>(&system, id, None, |_| Ok(after.clone())).await.unwrap();
        orders[i].1 = after;
        agree(orders.clone(), step).await;
    }
}

#[tokio::test]
async fn monthly_sales_follow_any_order_change_on_sqlite() {
    crate::test_db::on_sqlite("follow", check).await;
}

#[tokio::test]
async fn monthly_sales_follow_any_order_change_on_postgres() {
    crate::test_db::on_postgres("follow", check).await;
}
