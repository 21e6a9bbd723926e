//! Migration 0009 on a database that already holds purchases: every other migration applied
//! except those that build on 0009 (as on an installation that ran the others first), purchases written as the old schema had
//! them, then the migration moves them into products and paid orders on either engine.

use std::borrow::Cow;

use rapport_domain::customer::CustomerData;
use rapport_domain::permissions::Actor;
use rapport_domain::query::ListParams;
use sqlx::migrate::Migrator;

use crate::sql::sql;
use crate::{Backend, Store};

async fn check(store: Store) {
    let all = match store.backend() {
        Backend::Sqlite => &super::super::SQLITE_MIGRATIONS,
        Backend::Postgres => &super::super::POSTGRES_MIGRATIONS,
    };
    // 0012, 0014 and 0049 change the orders table, 0022 and 0024 sum it, 0047 keeps
    // statistics of it (0054 replaces its PostgreSQL function) and 0052 rebuilds two of its
    // indexes, so every installation ran them after 0009.
    let before_orders = |v: i64| ![9, 12, 14, 22, 24, 47, 49, 52, 54].contains(&v);
    let before =
        Migrator { migrations: Cow::Owned(all.iter().filter(|m| before_orders(m.version)).cloned().collect()), ..Migrator::DEFAULT };
    before.run(&store.pool).await.expect("the other migrations");
    let system = Actor::system();
    let names = ["Ann", "Bob"].map(|n| CustomerData { name: n.into(), ..Default::default() });
    let ids = store.create_customers_batch(&system, &names).await.unwrap();
    // (person, invoice, product, quantity, amount, currency, time): Ann's invoice A1 has two
    // lines, one not a multiple of its quantity; Bob's B1 is in two currencies; B2 is a return.
    let rows = [
        (ids[0], "A1", "Tea", 3, 1000, "EUR", "2025-01-05T10:00:00.000000Z"),
        (ids[0], "A1", "Cup", 1, 250, "EUR", "2025-01-05T10:00:00.000000Z"),
        (ids[0], "A2", "Tea", 1, 400, "EUR", "2025-02-01T09:00:00.000000Z"),
        (ids[1], "B1", "Tea", 2, 900, "USD", "2025-03-01T00:00:00.000000Z"),
        (ids[1], "B1", "Cup", 1, 300, "EUR", "2025-03-01T00:00:00.000000Z"),
        (ids[1], "B2", "Tea", -1, -400, "EUR", "2025-03-02T00:00:00.000000Z"),
    ];
    for (c, inv, product, quantity, amount, currency, at) in rows {
        sql(
            "INSERT INTO purchases (customer_id, invoice, product, quantity, amount_minor, currency, purchased_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [c.into(), inv.into(), product.into(), (quantity as i64).into(), (amount as i64).into(), currency.into(), at.into(), at.into()],
        )
        .execute(&store.pool)
        .await
        .unwrap();
    }
    store.migrate().await.expect("migration 0009");

    let products = store.list_products(&system, &ListParams { limit: 50, ..Default::default() }).await.unwrap().data;
    let mut seen: Vec<(String, String, i64)> =
        products.iter().map(|p| (p.data.name.clone(), p.data.currency.clone(), p.data.unit_price_minor)).collect();
    seen.sort();
    let expected = [("Cup", "EUR", 300), ("Tea", "EUR", 400), ("Tea", "USD", 450)].map(|(a, b, c)| (a.to_string(), b.to_string(), c));
    assert_eq!(seen, expected, "a product per name and currency, at its latest unit price");
    assert!(products.iter().all(|p| p.data.sku.starts_with("MIGRATED-") && p.data.active));
    let p = ListParams { terms: rapport_domain::text::query_terms("tea"), ..Default::default() };
    assert_eq!(store.list_products(&system, &p).await.unwrap().data.len(), 2, "the store indexed the migrated products");

    let orders = store.list_orders(&system, &ListParams { limit: 50, ..Default::default() }).await.unwrap().data;
    assert_eq!(orders.len(), 4, "one order per person, invoice and currency; the return is dropped");
    let a1 = orders.iter().find(|o| o.data.notes.as_deref() == Some("Invoice A1")).expect("A1");
    assert_eq!(
        (a1.data.status.as_str(), a1.data.order_date.as_deref(), a1.data.paid_at.as_deref()),
        ("paid", Some("2025-01-05"), Some(rows[0].6))
    );
    assert_eq!(a1.data.lines.len(), 2);
    let tea = &a1.data.lines[0];
    assert_eq!((tea.quantity, tea.unit_price_minor, tea.discount_minor), (3, 334, 2), "3 × 3.34 less 0.02 is the 10.00 paid");
    assert_eq!(a1.totals, a1.data.totals().unwrap(), "stored totals are the domain's");
    assert_eq!(a1.totals.total_minor, 1250);

    let h = store.purchase_history(&system).await.unwrap();
    let mut history: Vec<(i64, String, i64)> =
        (0..h.len()).map(|i| (h.customer_id[i], h.product_name(i).to_string(), h.amount_minor[i])).collect();
    history.sort();
    let want = [(ids[0], "Cup", 250), (ids[0], "Tea", 400), (ids[0], "Tea", 1000), (ids[1], "Cup", 300), (ids[1], "Tea", 900)];
    assert_eq!(history, want.map(|(c, p, a)| (c, p.to_string(), a)), "every sale reaches analytics with its amount");
    assert!(sql("SELECT COUNT(*) AS n FROM purchases", []).fetch_all(&store.pool).await.is_err(), "the table is retired");
    store.close().await;
}

#[tokio::test]
async fn purchases_become_paid_orders_on_sqlite() {
    crate::test_db::on_sqlite("migrate", check).await;
}

#[tokio::test]
async fn purchases_become_paid_orders_on_postgres() {
    crate::test_db::on_postgres("migrate", check).await;
}
