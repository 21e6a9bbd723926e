//! The record types the batch endpoint and the importer serve, each validated as its own
//! create and update endpoints validate it.

use rapport_domain::company::{CompanyData, CompanyInput};
use rapport_domain::custom_field::CustomField;
use rapport_domain::customer::{CustomerData, CustomerInput};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use rapport_domain::sales::activity::{ActivityData, ActivityInput};
use rapport_domain::sales::opportunity::{OpportunityData, OpportunityInput};
use rapport_domain::sales::product::{ProductData, ProductInput, parse_sku};
use rapport_domain::service::ticket::{TicketData, TicketInput};
use rapport_domain::values::{Email, Region};
use rapport_store::PipelineSet;
use rapport_store::data::Render;
use rapport_store::data::batch::{BatchItem, BatchMode, Idempotency};

use super::batch::BatchKind;
use crate::AppState;
use crate::error::ApiError;

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
    async fn run<'a>(
        state: &'a AppState,
        actor: &'a Actor,
        items: Vec<BatchItem<CustomerData>>,
        mode: BatchMode,
        idem: Option<&'a Idempotency>,
        bulk: bool,
        render: Render<'a>,
    ) -> rapport_store::Result<(u16, String)> {
        state.store.batch_customers(actor, items, mode, idem, bulk, render).await
    }
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
    async fn run<'a>(
        state: &'a AppState,
        actor: &'a Actor,
        items: Vec<BatchItem<CompanyData>>,
        mode: BatchMode,
        idem: Option<&'a Idempotency>,
        bulk: bool,
        render: Render<'a>,
    ) -> rapport_store::Result<(u16, String)> {
        state.store.batch_companies(actor, items, mode, idem, bulk, render).await
    }
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
    async fn run<'a>(
        state: &'a AppState,
        actor: &'a Actor,
        items: Vec<BatchItem<ProductData>>,
        mode: BatchMode,
        idem: Option<&'a Idempotency>,
        bulk: bool,
        render: Render<'a>,
    ) -> rapport_store::Result<(u16, String)> {
        state.store.batch_products(actor, items, mode, idem, bulk, render).await
    }
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
    async fn run<'a>(
        state: &'a AppState,
        actor: &'a Actor,
        items: Vec<BatchItem<ActivityData>>,
        mode: BatchMode,
        idem: Option<&'a Idempotency>,
        bulk: bool,
        render: Render<'a>,
    ) -> rapport_store::Result<(u16, String)> {
        state.store.batch_activities(actor, items, mode, idem, bulk, render).await
    }
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
    async fn run<'a>(
        state: &'a AppState,
        actor: &'a Actor,
        items: Vec<BatchItem<OpportunityData>>,
        mode: BatchMode,
        idem: Option<&'a Idempotency>,
        bulk: bool,
        render: Render<'a>,
    ) -> rapport_store::Result<(u16, String)> {
        state.store.batch_opportunities(actor, items, mode, idem, bulk, render).await
    }
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
    async fn run<'a>(
        state: &'a AppState,
        actor: &'a Actor,
        items: Vec<BatchItem<TicketData>>,
        mode: BatchMode,
        idem: Option<&'a Idempotency>,
        bulk: bool,
        render: Render<'a>,
    ) -> rapport_store::Result<(u16, String)> {
        state.store.batch_tickets(actor, items, mode, idem, bulk, render).await
    }
}

fn trimmed(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() { Err("cannot be empty".into()) } else { Ok(v.to_string()) }
}
