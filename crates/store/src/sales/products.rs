//! Products, on the shared record machinery: the catalogue orders sell from. Nothing beyond the
//! machinery but the facts an order line needs of its product.

use std::collections::HashMap;

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::record::RecordSpec;
use rapport_domain::sales::product::{Product, ProductData, ProductFacts, ProductInput};

use crate::records::engine::Table;
use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Result, Store};

impl Table for Product {
    const SPEC: &'static RecordSpec = &rapport_domain::sales::product::SPEC;
    type Data = ProductData;

    fn data(&self) -> &ProductData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Product {
        Product::tombstone(self)
    }
}

/// What order lines need to know of the live products, row by row (see [`facts_row`]).
const FACTS: &str = "SELECT id, sku, name, unit_price_minor, currency, active FROM products WHERE deleted_at IS NULL";

/// The query for the facts of the live products among `ids`.
pub(crate) fn facts_query(ids: &[i64]) -> Sql {
    let mut q = Sql::new(&format!("{FACTS} AND id IN ("));
    for (i, id) in ids.iter().enumerate() {
        q.push(if i == 0 { "" } else { ", " }).arg(*id);
    }
    if ids.is_empty() {
        q.push("NULL");
    }
    q.push(")");
    q
}

/// One row of [`facts_query`].
pub(crate) fn facts_row(r: &dyn Row) -> Result<(i64, ProductFacts)> {
    Ok((
        r.get("id")?,
        ProductFacts {
            sku: r.get("sku")?,
            name: r.get("name")?,
            unit_price_minor: r.get("unit_price_minor")?,
            currency: r.get("currency")?,
            active: r.get::<i64>("active")? != 0,
        },
    ))
}

impl Store {
    /// One live product.
    pub async fn get_product(&self, actor: &Actor, id: i64) -> Result<Product> {
        self.get_record(actor, id).await
    }

    /// A page of products matching `p` (sync listings carry deleted ones as tombstones).
    pub async fn list_products(&self, actor: &Actor, p: &ListParams) -> Result<Page<Product>> {
        self.list_records(actor, p).await
    }

    /// Adds a product from what a client sent (validated after the permission check); a SKU
    /// another live product has is a conflict on `sku`.
    pub async fn create_product(&self, actor: &Actor, input: ProductInput) -> Result<Product> {
        require(actor, Object::Product, Action::Create)?;
        self.create_record(actor, input.apply(None)?).await
    }

    /// Adds many products in one transaction with one audit row (demo data, imports).
    pub async fn create_products_batch(&self, actor: &Actor, batch: &[ProductData]) -> Result<Vec<i64>> {
        self.create_records::<Product>(actor, batch).await
    }

    /// Changes a product. Orders keep the SKU, name and price their lines were written with.
    pub async fn update_product(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: ProductInput) -> Result<Product> {
        self.update_record(actor, id, if_match, |cur: &ProductData| input.apply(Some(cur))).await
    }

    /// Soft-deletes a product: new lines can no longer use it; existing lines keep it.
    pub async fn delete_product(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Product>(actor, id, if_match).await
    }

    /// What order lines need to know of every live product, by id: what a batch of orders (an
    /// import) validates its lines against, read once for the whole batch. Needs the grant to
    /// create orders.
    pub async fn product_catalog(&self, actor: &Actor) -> Result<HashMap<i64, ProductFacts>> {
        require(actor, Object::Order, Action::Create)?;
        Ok(self.read(&sql(FACTS, []), facts_row).await?.into_iter().collect())
    }

    /// What order lines need to know of the live products among `ids`, by id.
    pub(crate) async fn product_facts(&self, ids: &[i64]) -> Result<HashMap<i64, ProductFacts>> {
        Ok(self.read(&facts_query(ids), facts_row).await?.into_iter().collect())
    }
}
