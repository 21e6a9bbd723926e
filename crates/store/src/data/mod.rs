//! Data in and out (issue 13): batch writes of any record type, and the audit of exports.
//! Public functions stay concrete per record type, one line each over the generic ones.

pub mod batch;
pub mod export;
pub mod imports;

use rapport_domain::company::CompanyData;
use rapport_domain::customer::CustomerData;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::sales::activity::ActivityData;
use rapport_domain::sales::opportunity::OpportunityData;
use rapport_domain::sales::product::ProductData;
use rapport_domain::service::ticket::TicketData;
use serde_json::Value;

use self::batch::{BatchItem, BatchMode, Done, Idempotency};
use crate::{Result, Store};

/// Renders a batch's outcomes into its response (status and body).
pub type Render<'a> = Box<dyn FnOnce(Vec<Done>) -> (u16, String) + Send + 'a>;

impl Store {
    /// A batch of people (see [`batch`]).
    pub async fn batch_customers(
        &self,
        actor: &Actor,
        items: Vec<BatchItem<CustomerData>>,
        mode: BatchMode,
        idem: Option<&Idempotency>,
        bulk: bool,
        render: Render<'_>,
    ) -> Result<(u16, String)> {
        self.batch_records::<rapport_domain::customer::Customer>(actor, items, mode, idem, bulk, render).await
    }

    /// A batch of companies (see [`batch`]).
    pub async fn batch_companies(
        &self,
        actor: &Actor,
        items: Vec<BatchItem<CompanyData>>,
        mode: BatchMode,
        idem: Option<&Idempotency>,
        bulk: bool,
        render: Render<'_>,
    ) -> Result<(u16, String)> {
        self.batch_records::<rapport_domain::company::Company>(actor, items, mode, idem, bulk, render).await
    }

    /// A batch of products (see [`batch`]).
    pub async fn batch_products(
        &self,
        actor: &Actor,
        items: Vec<BatchItem<ProductData>>,
        mode: BatchMode,
        idem: Option<&Idempotency>,
        bulk: bool,
        render: Render<'_>,
    ) -> Result<(u16, String)> {
        self.batch_records::<rapport_domain::sales::product::Product>(actor, items, mode, idem, bulk, render).await
    }

    /// A batch of activities (see [`batch`]).
    pub async fn batch_activities(
        &self,
        actor: &Actor,
        items: Vec<BatchItem<ActivityData>>,
        mode: BatchMode,
        idem: Option<&Idempotency>,
        bulk: bool,
        render: Render<'_>,
    ) -> Result<(u16, String)> {
        self.batch_records::<rapport_domain::sales::activity::Activity>(actor, items, mode, idem, bulk, render).await
    }

    /// A batch of opportunities (see [`batch`]): created and updated as the record machinery
    /// does (stage history, audit), not moved through the pipeline's stage rules.
    pub async fn batch_opportunities(
        &self,
        actor: &Actor,
        items: Vec<BatchItem<OpportunityData>>,
        mode: BatchMode,
        idem: Option<&Idempotency>,
        bulk: bool,
        render: Render<'_>,
    ) -> Result<(u16, String)> {
        self.batch_records::<rapport_domain::sales::opportunity::Opportunity>(actor, items, mode, idem, bulk, render).await
    }

    /// A batch of tickets (see [`batch`]): a new ticket keeps the assignee it is given (no
    /// team rule assigns it) and starts `new`, as one created through the API does.
    pub async fn batch_tickets(
        &self,
        actor: &Actor,
        items: Vec<BatchItem<TicketData>>,
        mode: BatchMode,
        idem: Option<&Idempotency>,
        bulk: bool,
        render: Render<'_>,
    ) -> Result<(u16, String)> {
        self.batch_records::<rapport_domain::service::ticket::Ticket>(actor, items, mode, idem, bulk, render).await
    }

    /// Records that `actor` exported records of `object` (`customer`…): needs `read` and
    /// `export` on it. `details` (format, filters) join the audit row.
    pub async fn audit_export(&self, actor: &Actor, permission: Object, object: &str, details: Value) -> Result<()> {
        require(actor, permission, Action::Read)?;
        require(actor, permission, Action::Export)?;
        let mut tx = self.write_tx().await?;
        self.audit(&mut tx, actor, "export", object, None, details).await?;
        tx.commit().await
    }
}
