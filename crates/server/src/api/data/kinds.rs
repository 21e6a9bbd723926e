//! The record types the batch endpoint and the importer serve, each validated as its own
//! create and update endpoints validate it.

use std::collections::HashMap;

use rapport_domain::company::{CompanyData, CompanyInput};
use rapport_domain::custom_field::CustomField;
use rapport_domain::customer::{CustomerData, CustomerInput};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use rapport_domain::sales::activity::{ActivityData, ActivityInput};
use rapport_domain::sales::opportunity::{OpportunityData, OpportunityInput};
use rapport_domain::sales::order::{OrderContext, OrderData, OrderInput};
use rapport_domain::sales::product::{ProductData, ProductFacts, ProductInput, parse_sku};
use rapport_domain::service::ticket::{TicketData, TicketInput};
use rapport_domain::values::{Email, Region};
use rapport_domain::{FieldError, ValidationErrors};
use rapport_store::PipelineSet;
use rapport_store::data::Render;
use rapport_store::data::batch::{BatchItem, BatchMode, Idempotency};
use serde_json::Value;

use super::batch::BatchKind;
use crate::AppState;
use crate::error::ApiError;

/// A kind's [`BatchKind::run`]: the store's batch function of its record type.
macro_rules! store_batch {
    ($f:ident, $data:ty) => {
        async fn run<'a>(
            state: &'a AppState,
            actor: &'a Actor,
            items: Vec<BatchItem<$data>>,
            mode: BatchMode,
            idem: Option<&'a Idempotency>,
            bulk: bool,
            render: Render<'a>,
        ) -> rapport_store::Result<(u16, String)> {
            state.store.$f(actor, items, mode, idem, bulk, render).await
        }
    };
}

/// People.
pub struct People;
/// Companies.
pub struct Companies;
/// Products.
pub struct Products;
/// Activities (calls, meetings, notes, tasks).
pub struct Activities;
/// Opportunities (deals).
pub struct Opportunities;
/// Orders with their lines.
pub struct Orders;
/// Tickets.
pub struct Tickets;

impl BatchKind for People {
    const PLURAL: &'static str = "customers";
    const KEYS: &'static [&'static str] = &["external_id", "email"];
    type Input = CustomerInput;
    type Data = CustomerData;
    type Ctx = (Vec<CustomField>, Region);

    async fn ctx(state: &AppState, actor: &Actor) -> Result<Self::Ctx, ApiError> {
        Ok((state.store.customer_fields(actor).await?, state.config.phone_region))
    }
    fn creating(input: &mut CustomerInput, actor: &Actor) {
        input.owner_id = Some(actor.owner_for_new(input.owner_id));
    }
    fn apply(
        input: CustomerInput,
        current: Option<&CustomerData>,
        (defs, region): &Self::Ctx,
    ) -> Result<CustomerData, rapport_store::Error> {
        Ok(input.apply(current, defs, *region)?)
    }
    fn key_value(field: &str, raw: &str) -> Result<String, String> {
        match field {
            "email" => Email::parse(raw).map(|e| e.to_string()).map_err(|e| e.to_string()),
            _ => trimmed(raw),
        }
    }
    store_batch!(batch_customers, CustomerData);
}

impl BatchKind for Companies {
    const PLURAL: &'static str = "companies";
    const KEYS: &'static [&'static str] = &["external_id", "domain"];
    type Input = CompanyInput;
    type Data = CompanyData;
    type Ctx = (Vec<CustomField>, Region);

    async fn ctx(state: &AppState, actor: &Actor) -> Result<Self::Ctx, ApiError> {
        Ok((state.store.company_fields(actor).await?, state.config.phone_region))
    }
    fn creating(input: &mut CompanyInput, actor: &Actor) {
        input.owner_id = Some(actor.owner_for_new(input.owner_id));
    }
    fn apply(input: CompanyInput, current: Option<&CompanyData>, (defs, region): &Self::Ctx) -> Result<CompanyData, rapport_store::Error> {
        Ok(input.apply(current, defs, *region)?)
    }
    fn key_value(field: &str, raw: &str) -> Result<String, String> {
        match field {
            // As the domain stores it: the host of a URL, lower-cased, without `www.`.
            "domain" => CompanyInput { name: Some("x".into()), domain: Some(Some(raw.into())), ..Default::default() }
                .apply(None, &[], Region::US)
                .map_err(|e| e.0.first().map(|f| f.message.clone()).unwrap_or_default())
                .and_then(|d| d.domain.ok_or_else(|| "cannot be empty".to_string())),
            _ => trimmed(raw),
        }
    }
    store_batch!(batch_companies, CompanyData);
}

impl BatchKind for Products {
    const PLURAL: &'static str = "products";
    const KEYS: &'static [&'static str] = &["sku"];
    type Input = ProductInput;
    type Data = ProductData;
    type Ctx = ();

    async fn ctx(_: &AppState, _: &Actor) -> Result<(), ApiError> {
        Ok(())
    }
    fn creating(_: &mut ProductInput, _: &Actor) {}
    fn apply(input: ProductInput, current: Option<&ProductData>, _: &()) -> Result<ProductData, rapport_store::Error> {
        Ok(input.apply(current)?)
    }
    fn key_value(_: &str, raw: &str) -> Result<String, String> {
        parse_sku(raw)
    }
    store_batch!(batch_products, ProductData);
}

impl BatchKind for Activities {
    const PLURAL: &'static str = "activities";
    const KEYS: &'static [&'static str] = &[];
    type Input = ActivityInput;
    type Data = ActivityData;
    type Ctx = String;

    async fn ctx(_: &AppState, _: &Actor) -> Result<String, ApiError> {
        Ok(now_rfc3339())
    }
    fn creating(input: &mut ActivityInput, actor: &Actor) {
        *input = std::mem::take(input).with_owner_defaults(actor.user_id);
    }
    fn apply(input: ActivityInput, current: Option<&ActivityData>, now: &String) -> Result<ActivityData, rapport_store::Error> {
        Ok(input.apply(current, now)?)
    }
    store_batch!(batch_activities, ActivityData);
}

impl BatchKind for Opportunities {
    const PLURAL: &'static str = "opportunities";
    const KEYS: &'static [&'static str] = &["external_id"];
    type Input = OpportunityInput;
    type Data = OpportunityData;
    type Ctx = (PipelineSet, String);

    async fn ctx(state: &AppState, _: &Actor) -> Result<Self::Ctx, ApiError> {
        Ok((state.store.pipeline_set().await?, now_rfc3339()))
    }
    fn creating(input: &mut OpportunityInput, actor: &Actor) {
        input.owner_id = Some(actor.owner_for_new(input.owner_id));
    }
    fn apply(
        input: OpportunityInput,
        current: Option<&OpportunityData>,
        (pipelines, now): &Self::Ctx,
    ) -> Result<OpportunityData, rapport_store::Error> {
        Ok(pipelines.with_context(now, |ctx| input.apply(current, ctx))?)
    }
    store_batch!(batch_opportunities, OpportunityData);
}

impl BatchKind for Tickets {
    const PLURAL: &'static str = "tickets";
    const KEYS: &'static [&'static str] = &["external_id"];
    type Input = TicketInput;
    type Data = TicketData;
    type Ctx = String;

    async fn ctx(_: &AppState, _: &Actor) -> Result<String, ApiError> {
        Ok(now_rfc3339())
    }
    fn creating(_: &mut TicketInput, _: &Actor) {}
    fn apply(input: TicketInput, current: Option<&TicketData>, now: &String) -> Result<TicketData, rapport_store::Error> {
        Ok(input.apply(current, now)?)
    }
    store_batch!(batch_tickets, TicketData);
}

impl BatchKind for Orders {
    const PLURAL: &'static str = "orders";
    const KEYS: &'static [&'static str] = &["external_id"];
    type Input = OrderInput;
    type Data = OrderData;
    /// Every live product by id, their ids by SKU, and the time the batch was read at.
    type Ctx = (HashMap<i64, ProductFacts>, HashMap<String, i64>, String);

    async fn ctx(state: &AppState, actor: &Actor) -> Result<Self::Ctx, ApiError> {
        let products = state.store.product_catalog(actor).await?;
        let skus = products.iter().map(|(id, p)| (p.sku.clone(), *id)).collect();
        Ok((products, skus, now_rfc3339()))
    }
    fn creating(input: &mut OrderInput, actor: &Actor) {
        input.owner_id = Some(actor.owner_for_new(input.owner_id));
    }
    /// A line may name its product by `sku` instead of `product_id`, as a shop's export does.
    fn prepare(data: &mut Value, (_, skus, _): &Self::Ctx) -> Result<(), ValidationErrors> {
        let Some(lines) = data.get_mut("lines").and_then(Value::as_array_mut) else { return Ok(()) };
        let mut errs = vec![];
        for (i, line) in lines.iter_mut().enumerate() {
            let Some(l) = line.as_object_mut() else { continue };
            let Some(sku) = l.remove("sku") else { continue };
            let raw = sku.as_str().unwrap_or_default();
            match parse_sku(raw).ok().and_then(|s| skus.get(&s)) {
                Some(id) if l.get("product_id").is_none_or(|p| p.as_i64() == Some(*id)) => {
                    l.insert("product_id".into(), Value::from(*id));
                }
                Some(_) => errs.push(FieldError {
                    field: format!("lines.{i}.sku"),
                    message: format!("names product {raw}, another than the line's product_id"),
                }),
                None => errs.push(FieldError { field: format!("lines.{i}.sku"), message: format!("no live product has the SKU '{raw}'") }),
            }
        }
        if errs.is_empty() { Ok(()) } else { Err(ValidationErrors(errs)) }
    }
    fn apply(
        mut input: OrderInput,
        current: Option<&OrderData>,
        (products, _, now): &Self::Ctx,
    ) -> Result<OrderData, rapport_store::Error> {
        // A line of an order written before that names no price keeps the price it was written
        // at, not the product's price today: the same file imported again restates the order.
        if let (Some(cur), Some(lines)) = (current, input.lines.as_mut()) {
            for (l, c) in lines.iter_mut().zip(&cur.lines) {
                if l.unit_price_minor.is_none() && l.product_id == Some(c.product_id) {
                    l.unit_price_minor = Some(c.unit_price_minor);
                }
            }
        }
        let lookup = |id: i64| products.get(&id).cloned();
        Ok(input.apply(current, &OrderContext { product: &lookup, now })?)
    }
    store_batch!(batch_orders, OrderData);
}

fn trimmed(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() { Err("cannot be empty".into()) } else { Ok(v.to_string()) }
}
