//! Exports (issue 13 §3): every record type, page by page in id order, as the caller may see
//! it (record visibility and PII masking, as lists apply them), so an export of a million rows
//! streams with flat memory.

use rapport_domain::query::{ListParams, Page, SortField};
use rapport_domain::record::{Kind, RecordSpec};
use serde::Serialize;
use serde_json::Value;

use rapport_domain::company::Company;
use rapport_domain::customer::Customer;
use rapport_domain::marketing::campaigns::Campaign;
use rapport_domain::marketing::segments::Segment;
use rapport_domain::permissions::Actor;
use rapport_domain::sales::activity::Activity;
use rapport_domain::sales::opportunity::Opportunity;
use rapport_domain::sales::order::Order;
use rapport_domain::sales::pipeline::Pipeline;
use rapport_domain::sales::product::Product;
use rapport_domain::sales::target::Target;
use rapport_domain::service::canned::Macro;
use rapport_domain::service::feedback::Feedback;
use rapport_domain::service::ticket::Ticket;

use crate::{Error, Result, Store};

/// Every record type an export serves, by plural.
pub static EXPORTABLE: &[&RecordSpec] = &[
    &rapport_domain::customer::SPEC,
    &rapport_domain::company::SPEC,
    &rapport_domain::sales::product::SPEC,
    &rapport_domain::sales::opportunity::SPEC,
    &rapport_domain::sales::order::SPEC,
    &rapport_domain::sales::activity::SPEC,
    &rapport_domain::service::ticket::SPEC,
    &rapport_domain::marketing::campaigns::SPEC,
    &rapport_domain::marketing::segments::SPEC,
    &rapport_domain::sales::pipeline::SPEC,
    &rapport_domain::sales::target::SPEC,
    &rapport_domain::service::feedback::SPEC,
    &rapport_domain::service::canned::SPEC,
];

/// The record type an export of `plural` serves.
pub fn exportable(plural: &str) -> Option<&'static RecordSpec> {
    EXPORTABLE.iter().copied().find(|s| s.plural == plural)
}

fn values<T: Serialize>(page: Page<T>) -> (Vec<Value>, Option<String>) {
    (page.data.iter().map(|r| serde_json::to_value(r).unwrap_or_default()).collect(), page.next_cursor)
}

impl Store {
    /// The columns of an export of `spec`, as JSON paths into each record: its id, its fields
    /// (a reference's shown title beside it), its custom fields as `custom.<key>`, and its times
    /// and version.
    pub async fn export_columns(&self, spec: &RecordSpec) -> Result<Vec<String>> {
        let mut cols = vec!["id".to_string()];
        for f in spec.fields {
            if f.kind == Kind::Custom {
                if let Some(o) = spec.custom {
                    cols.extend(self.custom_keys(o).await?.0.into_iter().map(|k| format!("custom.{k}")));
                }
                continue;
            }
            cols.push(f.name.to_string());
            if let Some(shown) = f.shown_as {
                cols.push(shown.to_string());
            }
        }
        cols.extend(["created_at", "updated_at", "version"].map(String::from));
        Ok(cols)
    }

    /// One page (at most 500) of the live records of `spec` in id order, after `cursor`, as
    /// `actor` may see them; the cursor of the next page.
    pub async fn export_page(&self, actor: &Actor, spec: &RecordSpec, cursor: Option<String>) -> Result<(Vec<Value>, Option<String>)> {
        let p = ListParams { limit: 500, cursor, sort: SortField::Id, ..Default::default() };
        Ok(match spec.plural {
            "customers" => values(self.list_records::<Customer>(actor, &p).await?),
            "companies" => values(self.list_records::<Company>(actor, &p).await?),
            "products" => values(self.list_records::<Product>(actor, &p).await?),
            "opportunities" => values(self.list_records::<Opportunity>(actor, &p).await?),
            "orders" => values(self.list_records::<Order>(actor, &p).await?),
            "activities" => values(self.list_records::<Activity>(actor, &p).await?),
            "tickets" => values(self.list_records::<Ticket>(actor, &p).await?),
            "campaigns" => values(self.list_records::<Campaign>(actor, &p).await?),
            "segments" => values(self.list_records::<Segment>(actor, &p).await?),
            "pipelines" => values(self.list_records::<Pipeline>(actor, &p).await?),
            "targets" => values(self.list_records::<Target>(actor, &p).await?),
            "feedback" => values(self.list_records::<Feedback>(actor, &p).await?),
            "macros" => values(self.list_records::<Macro>(actor, &p).await?),
            _ => return Err(Error::NotFound),
        })
    }
}
