//! Orders, on the shared record machinery, with what only they do: lines are validated against
//! the live products inside the write's transaction, the totals are computed by the domain
//! ([`OrderData::totals`]) and stored beside the lines, and every write mirrors the lines into
//! `order_lines`, the table purchase history and analytics read (see [`crate::purchases`]).

use std::collections::HashMap;

use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::record::RecordSpec;
use rapport_domain::sales::order::{Order, OrderAction, OrderContext, OrderData, OrderInput, OrderLine};
use rapport_domain::sales::product::ProductFacts;

use super::monthly_sales;
use super::products::{facts_query, facts_row};
use crate::records::check_campaign;
use crate::records::columns::Stored;
use crate::records::engine::{Checked, Table};
use crate::sql::{Arg, sql};
use crate::{Result, Store, WriteTx, bulk};

impl Table for Order {
    const SPEC: &'static RecordSpec = &rapport_domain::sales::order::SPEC;
    type Data = OrderData;

    fn data(&self) -> &OrderData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Order {
        Order::tombstone(self)
    }

    /// The totals as the domain computes them (the domain validated them already, so they fit).
    fn computed_cols(data: &OrderData, stored: &mut Stored) {
        let totals = data.totals().unwrap_or_default();
        stored.set("total_minor", Arg::Int(Some(totals.total_minor)));
        // What the sales reports and paid-order targets sum (migration 0012).
        stored.set("net_minor", Arg::Int(Some(totals.net_minor)));
        stored.set("totals", Arg::from(serde_json::to_string(&totals).unwrap_or_else(|_| "{}".into())));
    }

    async fn after_insert(_: &Store, tx: &mut WriteTx, _: &Actor, id: i64, data: &OrderData) -> Result<()> {
        check_campaign(tx, data.campaign_id).await?;
        write_lines(tx, &[(id, data)]).await?;
        monthly_sales::apply(tx, [], [data]).await
    }

    async fn after_update(_: &Store, tx: &mut WriteTx, _: &Actor, id: i64, before: &OrderData, after: &OrderData) -> Result<()> {
        if after.campaign_id != before.campaign_id {
            check_campaign(tx, after.campaign_id).await?;
        }
        if after.lines != before.lines {
            tx.execute(&sql("DELETE FROM order_lines WHERE order_id = ?", [id.into()])).await?;
            write_lines(tx, &[(id, after)]).await?;
        }
        // Status, paid time, owner, currency, customer or net amount may have changed: the
        // order's part before leaves the summaries and its part after joins them.
        monthly_sales::apply(tx, [before], [after]).await
    }

    async fn after_delete(_: &Store, tx: &mut WriteTx, _: &Actor, _: i64, before: &OrderData) -> Result<()> {
        monthly_sales::apply(tx, [before], []).await
    }
}

/// Writes the `order_lines` rows of orders, in multi-row inserts.
async fn write_lines(tx: &mut WriteTx, orders: &[(i64, &OrderData)]) -> Result<()> {
    let rows: Vec<(i64, usize, &OrderLine, i64)> = orders
        .iter()
        .flat_map(|(id, d)| {
            let nets: Vec<i64> = d.totals().map(|t| t.lines.iter().map(|l| l.net_minor).collect()).unwrap_or_default();
            d.lines.iter().enumerate().map(move |(i, l)| (*id, i, l, nets.get(i).copied().unwrap_or(0)))
        })
        .collect();
    let head = "INSERT INTO order_lines (order_id, position, product_id, sku, name, quantity, unit_price_minor, discount_bp, discount_minor, net_minor) VALUES ";
    let values = |(id, i, l, net): &(i64, usize, &OrderLine, i64)| {
        [
            Arg::from(*id),
            Arg::from(*i as i64),
            Arg::from(l.product_id),
            Arg::from(l.sku.clone()),
            Arg::from(l.name.clone()),
            Arg::from(l.quantity),
            Arg::from(l.unit_price_minor),
            Arg::from(l.discount_bp),
            Arg::from(l.discount_minor),
            Arg::from(*net),
        ]
    };
    for q in bulk::inserts(tx.backend, head, "", 10, &rows, values) {
        tx.execute(&q).await?;
    }
    Ok(())
}

/// The products an input's lines name.
fn product_ids(input: &OrderInput) -> Vec<i64> {
    let mut ids: Vec<i64> = input.lines.iter().flatten().filter_map(|l| l.product_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The facts of the products an input names, read inside the write's transaction.
async fn facts_in(tx: &mut WriteTx, input: &OrderInput) -> Result<HashMap<i64, ProductFacts>> {
    Ok(tx.fetch_all(&facts_query(&product_ids(input)), facts_row).await?.into_iter().collect())
}

/// Applies `input` onto `current` against `facts`, at `now`.
fn apply(input: OrderInput, current: Option<&OrderData>, facts: &HashMap<i64, ProductFacts>, now: &str) -> Result<OrderData> {
    let lookup = |id: i64| facts.get(&id).cloned();
    Ok(input.apply(current, &OrderContext { product: &lookup, now })?)
}

impl Store {
    /// One live order.
    pub async fn get_order(&self, actor: &Actor, id: i64) -> Result<Order> {
        self.get_record(actor, id).await
    }

    /// A page of orders matching `p` (sync listings carry deleted ones as tombstones).
    pub async fn list_orders(&self, actor: &Actor, p: &ListParams) -> Result<Page<Order>> {
        self.list_records(actor, p).await
    }

    /// Adds an order from what a client sent: its lines checked against the live products (each
    /// active and in the order's one currency, priced at the product's price unless the line
    /// names one) in the transaction that writes it. The owner must be one the actor may give
    /// records to, the customer, company and opportunity ones they can see.
    pub async fn create_order(&self, actor: &Actor, input: OrderInput) -> Result<Order> {
        require(actor, Object::Order, Action::Create)?;
        let mut tx = self.write_tx().await?;
        let facts = facts_in(&mut tx, &input).await?;
        let data = apply(input, None, &facts, &now_rfc3339())?;
        let id = self.create_record_in::<Order>(&mut tx, actor, &data).await?;
        let created = self.as_seen::<Order>(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Changes an order. Lines, currency, tax rate, customer and date change only on a draft
    /// (else [`crate::Error::Refused`] naming the allowed actions); `status` moves it one step
    /// by the status rules. With `if_match`, a stale version is refused.
    pub async fn update_order(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: OrderInput) -> Result<Order> {
        require(actor, Object::Order, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let facts = facts_in(&mut tx, &input).await?;
        let now = now_rfc3339();
        self.update_in::<Order, _, _>(&mut tx, actor, id, if_match, |cur: &OrderData| apply(input, Some(cur), &facts, &now)).await?;
        let seen = self.as_seen::<Order>(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(seen)
    }

    /// Takes one status action on an order (confirm, pay, ship, cancel), stamping its time.
    pub async fn order_action(&self, actor: &Actor, id: i64, if_match: Option<i64>, action: OrderAction) -> Result<Order> {
        let now = now_rfc3339();
        self.update_record(actor, id, if_match, |cur: &OrderData| cur.perform(action, &now)).await
    }

    /// Soft-deletes an order (its lines leave purchase history with it).
    pub async fn delete_order(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Order>(actor, id, if_match).await
    }

    /// Prices an order without storing anything: its lines as they would be written, for the
    /// totals (the order form's live totals). Needs the grant to create orders; the customer is
    /// not needed to price, so none is required.
    pub async fn price_order(&self, actor: &Actor, mut input: OrderInput) -> Result<OrderData> {
        require(actor, Object::Order, Action::Create)?;
        input.customer_id.get_or_insert(0);
        input.status = None;
        let facts = self.product_facts(&product_ids(&input)).await?;
        apply(input, None, &facts, &now_rfc3339())
    }

    /// Adds orders that were validated already (demo data, imports), in one transaction with
    /// one audit row. Owners, customers, companies and campaigns are checked once per batch;
    /// orders and their lines go in multi-row inserts.
    pub async fn import_orders(&self, actor: &Actor, batch: &[OrderData]) -> Result<Vec<i64>> {
        require(actor, Object::Order, Action::Create)?;
        let mut tx = self.write_tx().await?;
        let ids = self.insert_records::<Order>(&mut tx, actor, batch, &[], &mut Checked::default()).await?;
        let mut campaigns: Vec<i64> = batch.iter().filter_map(|d| d.campaign_id).collect();
        campaigns.sort_unstable();
        campaigns.dedup();
        for c in campaigns {
            check_campaign(&mut tx, Some(c)).await?;
        }
        let orders: Vec<(i64, &OrderData)> = ids.iter().copied().zip(batch).collect();
        write_lines(&mut tx, &orders).await?;
        // The batch's sales join the summaries at once, in a few multi-row statements.
        monthly_sales::apply(&mut tx, [], batch).await?;
        let summary = serde_json::json!({"count": batch.len(), "first_id": ids.first(), "last_id": ids.last()});
        self.audit(&mut tx, actor, "bulk_create", "order", None, summary).await?;
        tx.commit().await?;
        Ok(ids)
    }
}
