//! Data in and out (issue 13): batch writes of any record type, and the audit of exports.
//! Public batch functions stay concrete per record type (see `batch_fns!`) over the generic ones.

pub mod batch;
pub mod export;
pub mod imports;

use rapport_domain::company::CompanyData;
use rapport_domain::customer::CustomerData;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::sales::activity::ActivityData;
use rapport_domain::sales::opportunity::OpportunityData;
use rapport_domain::sales::order::OrderData;
use rapport_domain::sales::product::ProductData;
use rapport_domain::service::ticket::TicketData;
use serde_json::Value;

use self::batch::{BatchItem, BatchMode, Done, Idempotency};
use crate::{Result, Store};

/// Renders a batch's outcomes into its response (status and body).
pub type Render<'a> = Box<dyn FnOnce(Vec<Done>) -> (u16, String) + Send + 'a>;

/// The batch function of each record type, one line each over [`Store::batch_records`] (whose
/// record trait stays inside the store).
macro_rules! batch_fns {
    ($($(#[$doc:meta])* $name:ident: $record:ty, $data:ty;)*) => {
        impl Store {
            $(
                $(#[$doc])*
                pub async fn $name(
                    &self,
                    actor: &Actor,
                    items: Vec<BatchItem<$data>>,
                    mode: BatchMode,
                    idem: Option<&Idempotency>,
                    bulk: bool,
                    render: Render<'_>,
                ) -> Result<(u16, String)> {
                    self.batch_records::<$record>(actor, items, mode, idem, bulk, render).await
                }
            )*
        }
    };
}

batch_fns! {
    /// A batch of people (see [`batch`]).
    batch_customers: rapport_domain::customer::Customer, CustomerData;
    /// A batch of companies (see [`batch`]).
    batch_companies: rapport_domain::company::Company, CompanyData;
    /// A batch of products (see [`batch`]).
    batch_products: rapport_domain::sales::product::Product, ProductData;
    /// A batch of activities (see [`batch`]).
    batch_activities: rapport_domain::sales::activity::Activity, ActivityData;
    /// A batch of opportunities (see [`batch`]): created and updated as the record machinery
    /// does (stage history, audit), not moved through the pipeline's stage rules.
    batch_opportunities: rapport_domain::sales::opportunity::Opportunity, OpportunityData;
    /// A batch of tickets (see [`batch`]): a new ticket keeps the assignee it is given (no
    /// team rule assigns it) and starts `new`, as one created through the API does.
    batch_tickets: rapport_domain::service::ticket::Ticket, TicketData;
    /// A batch of orders (see [`batch`]), their lines validated against the products the caller
    /// read (see `Store::product_catalog`); each written order mirrors its lines and joins the
    /// sales summaries as one created through the API does.
    batch_orders: rapport_domain::sales::order::Order, OrderData;
}

impl Store {
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
