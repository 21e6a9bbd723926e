//! People, on the shared record machinery (see [`crate::records::engine`]), with what only
//! people have: their company's name in their search words, privacy exports and erasure.

use rapport_domain::custom_field::{CustomField, FieldObject};
use rapport_domain::customer::{Customer, CustomerData};
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::sales::lead::LeadStatus;
use rapport_domain::{now_rfc3339, text};
use serde_json::json;

use crate::records::columns::Stored;
use crate::records::engine::{Table, Titles};
use crate::records::replace_tags;
use crate::row::Row;
use crate::sql::{Arg, Sql, sql};
use crate::{Result, Store, WriteTx};

impl Table for Customer {
    const SPEC: &'static rapport_domain::record::RecordSpec = &rapport_domain::customer::SPEC;
    type Data = CustomerData;

    fn data(&self) -> &CustomerData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Customer {
        Customer::tombstone(self)
    }

    /// The survivor a merged person's tombstone points to.
    fn extra_cols(q: &mut Sql, _: &Actor) {
        q.push(", r.merged_into AS merged_into");
    }
    fn extra_json(r: &dyn Row, m: &mut serde_json::Map<String, serde_json::Value>) -> Result<()> {
        m.insert("merged_into".into(), r.get::<Option<i64>>("merged_into")?.into());
        Ok(())
    }

    /// People are found by their company's name too; it is indexed apart from their own words
    /// so that renaming a company rewrites one column of its people, not their whole index.
    fn derived(stored: &mut Stored, titles: &Titles) {
        let company = titles.get("company_id").cloned().flatten().unwrap_or_default();
        stored.set("company_text", Arg::from(text::fold(&company)));
    }

    /// A lead's status change is kept with its time and who made it (the timeline shows it);
    /// a conversion's stamps, read-only to clients, are written here.
    async fn after_update(_: &Store, tx: &mut WriteTx, actor: &Actor, id: i64, before: &CustomerData, after: &CustomerData) -> Result<()> {
        let (b, a) = (&before.lead, &after.lead);
        if (&b.converted_at, b.converted_opportunity_id) != (&a.converted_at, a.converted_opportunity_id) {
            tx.execute(&sql(
                "UPDATE customers SET converted_at = ?, converted_opportunity_id = ? WHERE id = ?",
                [a.converted_at.clone().into(), a.converted_opportunity_id.into(), id.into()],
            ))
            .await?;
        }
        let (from, to) = (before.lead.lead_status, after.lead.lead_status);
        if from == to {
            return Ok(());
        }
        let opportunity = after.lead.converted_opportunity_id.filter(|_| to == LeadStatus::Qualified);
        tx.execute(&sql(
            "INSERT INTO lead_status_changes (customer_id, from_status, to_status, opportunity_id, at, actor_id) VALUES (?, ?, ?, ?, ?, ?)",
            [id.into(), from.as_str().into(), to.as_str().into(), opportunity.into(), now_rfc3339().into(), actor.user_id.into()],
        ))
        .await?;
        Ok(())
    }
}

impl Store {
    /// One live person; a person merged into another is [`crate::Error::Merged`], naming the
    /// survivor when the actor may see them.
    pub async fn get_customer(&self, actor: &Actor, id: i64) -> Result<Customer> {
        match self.get_record(actor, id).await {
            Err(crate::Error::NotFound) => Err(self.merged_or_not_found::<Customer>(actor, id).await),
            other => other,
        }
    }

    /// Refuses (as "not found") a person the actor may not see, without reading their data.
    pub(crate) async fn check_customer_visible(&self, actor: &Actor, id: i64) -> Result<()> {
        self.record_visible::<Customer>(actor, id).await
    }

    /// A page of people matching `p`. Sync listings carry deleted people as tombstones, which
    /// hold nothing but their id and times.
    pub async fn list_customers(&self, actor: &Actor, p: &ListParams) -> Result<Page<Customer>> {
        self.list_records(actor, p).await
    }

    /// Adds a person; `build` validates the input (after the permission check, so a caller
    /// without the right learns nothing from validation messages). The owner must be one the
    /// actor may give records to, and the company one they can see.
    pub async fn create_customer<F, E>(&self, actor: &Actor, build: F) -> Result<Customer>
    where
        F: FnOnce() -> Result<CustomerData, E>,
        E: Into<crate::Error>,
    {
        require(actor, Object::Customer, Action::Create)?;
        self.create_record(actor, build().map_err(Into::into)?).await
    }

    /// Changes a person (see [`Store::update_record`] for the contract); a lead status the
    /// person's state does not allow is [`crate::Error::Refused`].
    pub async fn update_customer<F, E>(&self, actor: &Actor, id: i64, if_match: Option<i64>, change: F) -> Result<Customer>
    where
        F: FnOnce(&CustomerData) -> Result<CustomerData, E>,
        E: Into<crate::Error>,
    {
        self.update_record(actor, id, if_match, change).await
    }

    /// Changes many people in one transaction, each as [`Store::update_customer`] changes one
    /// (its own checks and audit row); one refusal undoes them all. How many changed.
    pub async fn update_customers_batch<F, E>(&self, actor: &Actor, changes: impl IntoIterator<Item = (i64, F)>) -> Result<usize>
    where
        F: FnOnce(&CustomerData) -> Result<CustomerData, E>,
        E: Into<crate::Error>,
    {
        self.update_records::<Customer, F, E>(actor, changes).await
    }

    /// Soft-deletes a person: it disappears from lists and reads but stays as a tombstone that
    /// sync listings report.
    pub async fn delete_customer(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Customer>(actor, id, if_match).await
    }

    /// Adds many people in one transaction with a single audit row (demo data, bulk loads).
    pub async fn create_customers_batch(&self, actor: &Actor, batch: &[CustomerData]) -> Result<Vec<i64>> {
        self.create_records::<Customer>(actor, batch).await
    }

    /// Everything held about one person, unmasked, for a privacy (subject access) request:
    /// the record (deleted or not), its purchases and its audit history. Needs `export` and
    /// `pii`; audited.
    pub async fn privacy_export(&self, actor: &Actor, id: i64) -> Result<serde_json::Value> {
        require(actor, Object::Customer, Action::Export)?;
        require(actor, Object::Customer, Action::Pii)?;
        let mut tx = self.write_tx().await?;
        let c = self.record_in::<Customer>(&mut tx, actor, id, true).await?;
        let q =
            sql("SELECT at, actor_id, action, diff FROM audit_log WHERE object = 'customer' AND record_id = ? ORDER BY id", [id.into()]);
        let history = tx
            .fetch_all(&q, |r| {
                Ok(json!({"at": r.get::<String>("at")?, "actor_id": r.get::<Option<i64>>("actor_id")?, "action": r.get::<String>("action")?,
                    "diff": serde_json::from_str::<serde_json::Value>(&self.open(r.get::<String>("diff")?).unwrap_or_default()).unwrap_or_default()}))
            })
            .await?;
        self.audit(&mut tx, actor, "export", "customer", Some(id), json!({"kind": "privacy_export"})).await?;
        tx.commit().await?;
        // Every line of every order of theirs, whatever its status.
        let q = sql(
            "SELECT o.id AS order_id, o.status, o.order_date, l.sku, l.name, l.quantity, l.net_minor, o.currency, o.paid_at \
             FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.customer_id = ? AND o.deleted_at IS NULL ORDER BY o.id, l.position",
            [id.into()],
        );
        let purchases = self
            .read(&q, |r| {
                Ok(json!({"order_id": r.get::<i64>("order_id")?, "status": r.get::<String>("status")?, "order_date": r.get::<Option<String>>("order_date")?,
                    "sku": r.get::<String>("sku")?, "product": r.get::<String>("name")?, "quantity": r.get::<i64>("quantity")?,
                    "amount_minor": r.get::<i64>("net_minor")?, "currency": r.get::<String>("currency")?, "paid_at": r.get::<Option<String>>("paid_at")?}))
            })
            .await?;
        Ok(json!({"exported_at": now_rfc3339(), "person": c, "purchases": purchases, "history": history}))
    }

    /// Erases a person's personal data (the right to be forgotten): name, contacts, address,
    /// notes, tags and custom values are replaced or cleared, and earlier audit entries of the
    /// record lose their before/after values. The record itself stays, so order totals and
    /// counts remain correct for accounting; a deleted person can be erased too. Needs
    /// `erase`; audited.
    pub async fn erase_customer(&self, actor: &Actor, id: i64) -> Result<Customer> {
        require(actor, Object::Customer, Action::Erase)?;
        let mut tx = self.write_tx().await?;
        let before = self.record_in::<Customer>(&mut tx, actor, id, true).await?;
        // The lead status stays (a reason may name the person, so it goes).
        let mut lead = before.data.lead.clone();
        lead.disqualified_reason = lead.disqualified_reason.map(|_| "erased".to_string());
        let erased = CustomerData {
            name: format!("Erased person {id}"),
            lifecycle_stage: before.data.lifecycle_stage,
            lead,
            company_id: before.data.company_id,
            owner_id: before.data.owner_id,
            ..Default::default()
        };
        let json = serde_json::to_value(&erased).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default();
        let mut stored = self.stored_form(Customer::SPEC, &json, &[]);
        Customer::derived(&mut stored, &Titles::from([("company_id", before.company_name.clone())]));
        let seq = tx.change_seq().await?;
        let mut q = Sql::new(&format!("UPDATE customers SET ({}) = (", stored.names()));
        stored.bind(&mut q);
        q.push("), updated_at = ").arg(now_rfc3339()).push(", change_seq = ").arg(seq).push(", version = version + 1 WHERE id = ").arg(id);
        tx.execute(&q).await?;
        replace_tags(&mut tx, "customer_tags", "customer_id", id, &[]).await?;
        // The one change ever made to audit rows: erasure must not leave the data in the history.
        let redacted = tx
            .execute(&sql(
                "UPDATE audit_log SET diff = '{\"redacted\": \"erased\"}' WHERE object = 'customer' AND record_id = ?",
                [id.into()],
            ))
            .await?;
        let diff = json!({"fields": "all personal fields", "audit_entries_redacted": redacted});
        self.audit(&mut tx, actor, "erase", "customer", Some(id), diff).await?;
        let after = self.record_in::<Customer>(&mut tx, &Actor::system(), id, true).await?;
        tx.commit().await?;
        let masked = self.masked_keys(None, actor, FieldObject::Customer).await?;
        Ok(crate::records::engine::shown(actor, after, &masked))
    }

    /// The custom field definitions of people (for validating input).
    pub async fn customer_fields(&self, actor: &Actor) -> Result<Vec<CustomField>> {
        self.list_custom_fields(actor, Some(FieldObject::Customer)).await
    }
}
