//! The demo company's catalogue and its customers' orders: Rapport's purchase history. Each
//! customer orders a few times a year over 2025–2026; an order has a first product, its usual
//! companions (so cross-sell rules have something real to find) and now and then more. Orders
//! placed long ago are shipped (a few paid but not yet shipped, some cancelled); recent ones are
//! spread over every status. With `--people 100000` they come to about a million lines.

use std::collections::HashMap;

use rapport_domain::customer::LifecycleStage;
use rapport_domain::permissions::Actor;
use rapport_domain::sales::order::{OrderContext, OrderData, OrderInput, OrderLineInput, OrderStatus};
use rapport_domain::sales::product::{ProductData, ProductFacts};
use rapport_store::Store;

use super::Rng;

/// Name, unit price in cents (USD), and whether it can still be ordered.
const PRODUCTS: &[(&str, i64, bool)] = &[
    ("Starter plan", 4_900, true),
    ("Pro plan", 19_900, true),
    ("Enterprise plan", 99_000, true),
    ("Onboarding", 150_000, true),
    ("Extra seats", 2_500, true),
    ("Support add-on", 9_900, true),
    ("Training day", 120_000, true),
    ("API access", 14_900, true),
    ("Reporting pack", 7_900, true),
    ("Premium SLA", 29_900, true),
    ("Legacy plan", 2_900, false),
];

/// Products bought together: after the first, each companion is added with its probability.
const COMPANIONS: &[(&str, &str, u64)] = &[
    ("Pro plan", "Onboarding", 45),
    ("Enterprise plan", "Support add-on", 60),
    ("Enterprise plan", "Onboarding", 35),
    ("Starter plan", "Extra seats", 30),
    ("Pro plan", "Extra seats", 25),
    ("Enterprise plan", "Premium SLA", 40),
    ("Pro plan", "Reporting pack", 20),
];

/// The plans an order starts with; add-ons follow them.
const FIRSTS: &[&str] = &["Starter plan", "Pro plan", "Enterprise plan", "Onboarding", "Training day", "API access"];

/// The demo catalogue as stored: product ids and facts by name.
pub(super) struct Catalogue {
    by_name: HashMap<&'static str, i64>,
    facts: HashMap<i64, ProductFacts>,
}

/// Creates the catalogue.
pub(super) async fn catalogue(store: &Store) -> anyhow::Result<Catalogue> {
    let data: Vec<ProductData> = PRODUCTS
        .iter()
        .map(|(name, price, active)| ProductData {
            sku: name.to_ascii_uppercase().replace(' ', "-"),
            name: name.to_string(),
            description: Some(format!("{name}, billed per unit.")),
            unit_price_minor: *price,
            currency: "USD".into(),
            active: *active,
        })
        .collect();
    let ids = store.create_products_batch(&Actor::system(), &data).await?;
    Ok(Catalogue {
        by_name: PRODUCTS.iter().map(|p| p.0).zip(ids.iter().copied()).collect(),
        facts: ids.iter().copied().zip(data.iter().map(ProductData::facts)).collect(),
    })
}

/// A person as the orders need them: id, company, owner, lifecycle stage.
pub(super) type Buyer = (i64, Option<i64>, Option<i64>, LifecycleStage);

/// A person's orders: customers order often, churned customers did (long ago), some prospects
/// made a first small order; leads have none.
pub(super) fn orders_of(rng: &mut Rng, catalogue: &Catalogue, buyer: Buyer) -> anyhow::Result<Vec<OrderData>> {
    let (id, company_id, owner_id, stage) = buyer;
    let (count, last_month) = match stage {
        LifecycleStage::Customer => (1 + rng.below(20), 23),
        LifecycleStage::Churned => (1 + rng.below(8), 10),
        LifecycleStage::Prospect if rng.chance(30) => (1, 23),
        _ => (0, 0),
    };
    let mut out = Vec::with_capacity(count);
    let facts = |pid: i64| catalogue.facts.get(&pid).cloned();
    for _ in 0..count {
        let month = rng.below(last_month);
        let day = format!("{}-{:02}-{:02}", 2025 + month / 12, 1 + month % 12, 1 + rng.below(28));
        let first = FIRSTS[rng.below(FIRSTS.len())];
        let mut products = vec![first];
        for (with, companion, chance) in COMPANIONS {
            if *with == first && !products.contains(companion) && rng.chance(*chance) {
                products.push(companion);
            }
        }
        for _ in 0..2 {
            let (extra, _, active) = PRODUCTS[rng.below(PRODUCTS.len())];
            if active && !products.contains(&extra) && rng.chance(50) {
                products.push(extra);
            }
        }
        let lines = products
            .iter()
            .map(|p| OrderLineInput {
                product_id: Some(catalogue.by_name[p]),
                quantity: Some(1 + rng.below(3) as i64),
                discount_bp: rng.chance(15).then(|| 500 * (1 + rng.below(4)) as i64),
                ..Default::default()
            })
            .collect();
        let recent = month >= 21;
        let status = match (recent, rng.below(100)) {
            (false, 0..=4) => OrderStatus::Cancelled,
            (false, 5..=14) => OrderStatus::Paid,
            (false, _) => OrderStatus::Shipped,
            (true, 0..=19) => OrderStatus::Draft,
            (true, 20..=44) => OrderStatus::Confirmed,
            (true, 45..=49) => OrderStatus::Cancelled,
            (true, 50..=79) => OrderStatus::Paid,
            (true, _) => OrderStatus::Shipped,
        };
        let input = OrderInput {
            customer_id: Some(id),
            company_id: Some(company_id),
            owner_id: Some(owner_id),
            status: Some(status),
            order_date: Some(day),
            lines: Some(lines),
            tax_rate_bp: Some(if rng.chance(70) { 800 } else { 0 }),
            ..Default::default()
        };
        let data = input.apply(None, &OrderContext { product: &facts, now: "2026-11-30T09:00:00.000000Z" });
        out.push(data.map_err(|e| anyhow::anyhow!("demo order invalid: {e}"))?);
    }
    Ok(out)
}
