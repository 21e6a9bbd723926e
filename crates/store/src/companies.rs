//! Companies, on the shared record machinery, with what only companies do: count their people,
//! keep their people's search words in step when renamed, and unlink them when deleted.

use rapport_domain::company::{Company, CompanyData};
use rapport_domain::custom_field::{CustomField, FieldObject};
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::{ValidationErrors, now_rfc3339, text};
use serde_json::{Value, json};

use crate::records::columns::ALIAS;
use crate::records::engine::Table;
use crate::records::{touch, visible};
use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Result, Store, WriteTx};

impl Table for Company {
    const SPEC: &'static rapport_domain::record::RecordSpec = &rapport_domain::company::SPEC;
    type Data = CompanyData;

    fn data(&self) -> &CompanyData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Company {
        Company::tombstone(self)
    }

    /// The number of the company's people the actor may see, and the survivor a merged
    /// company's tombstone points to.
    fn extra_cols(q: &mut Sql, actor: &Actor) {
        q.push(&format!(", (SELECT COUNT(*) FROM customers p WHERE p.company_id = {ALIAS}.id AND p.deleted_at IS NULL"));
        visible(q, actor, "p");
        q.push(&format!(") AS people_count, {ALIAS}.merged_into AS merged_into"));
    }
    fn extra_json(r: &dyn Row, m: &mut serde_json::Map<String, serde_json::Value>) -> Result<()> {
        m.insert("merged_into".into(), r.get::<Option<i64>>("merged_into")?.into());
        Ok(())
    }

    /// A rename shows in its people's `company_name` and search words, so they count as changed
    /// for sync clients (without a new version: their own fields did not change).
    async fn after_update(_: &Store, tx: &mut WriteTx, _: &Actor, id: i64, before: &CompanyData, after: &CompanyData) -> Result<()> {
        if after.name != before.name {
            tx.execute(&sql("UPDATE customers SET company_text = ? WHERE company_id = ?", [text::fold(&after.name).into(), id.into()]))
                .await?;
            touch(tx, "customers", "company_id = ?", id).await?;
        }
        Ok(())
    }

    /// Its people stay, without a company, each unlinked as a change of its own: a new version
    /// and an audit row, so sync clients and the history see it.
    async fn before_delete(store: &Store, tx: &mut WriteTx, actor: &Actor, id: i64) -> Result<Value> {
        let q = sql("SELECT id FROM customers WHERE company_id = ? AND deleted_at IS NULL ORDER BY id", [id.into()]);
        let people: Vec<i64> = tx.fetch_all(&q, |r| r.get("id")).await?;
        let seq = tx.change_seq().await?;
        for person in &people {
            tx.execute(&sql(
                "UPDATE customers SET company_id = NULL, company_text = '', updated_at = ?, change_seq = ?, version = version + 1 WHERE id = ?",
                [now_rfc3339().into(), seq.into(), (*person).into()],
            ))
            .await?;
            let diff = json!({"company_id": [id, null], "reason": "company deleted"});
            store.audit(tx, actor, "update", "customer", Some(*person), diff).await?;
        }
        Ok(json!({"people_unlinked": people.len()}))
    }
}

impl Store {
    /// One live company; a company merged into another is [`crate::Error::Merged`], naming the
    /// survivor when the actor may see it.
    pub async fn get_company(&self, actor: &Actor, id: i64) -> Result<Company> {
        match self.get_record(actor, id).await {
            Err(crate::Error::NotFound) => Err(self.merged_or_not_found::<Company>(actor, id).await),
            other => other,
        }
    }

    /// A page of companies matching `p` (sync listings carry deleted ones as tombstones).
    pub async fn list_companies(&self, actor: &Actor, p: &ListParams) -> Result<Page<Company>> {
        self.list_records(actor, p).await
    }

    /// Adds a company, owned by someone the actor may give records to.
    pub async fn create_company<F>(&self, actor: &Actor, build: F) -> Result<Company>
    where
        F: FnOnce() -> Result<CompanyData, ValidationErrors>,
    {
        require(actor, Object::Company, Action::Create)?;
        self.create_record(actor, build()?).await
    }

    /// Changes a company (see [`Store::update_record`] for the contract).
    pub async fn update_company<F>(&self, actor: &Actor, id: i64, if_match: Option<i64>, change: F) -> Result<Company>
    where
        F: FnOnce(&CompanyData) -> Result<CompanyData, ValidationErrors>,
    {
        self.update_record(actor, id, if_match, change).await
    }

    /// Soft-deletes a company and unlinks its people.
    pub async fn delete_company(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Company>(actor, id, if_match).await
    }

    /// Adds many companies in one transaction with a single audit row.
    pub async fn create_companies_batch(&self, actor: &Actor, batch: &[CompanyData]) -> Result<Vec<i64>> {
        self.create_records::<Company>(actor, batch).await
    }

    /// The custom field definitions of companies.
    pub async fn company_fields(&self, actor: &Actor) -> Result<Vec<CustomField>> {
        self.list_custom_fields(actor, Some(FieldObject::Company)).await
    }
}
