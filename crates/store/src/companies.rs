//! Companies: the same life cycle as people, plus keeping people's search text in step when a
//! company is renamed and unlinking its people when it is deleted.

use rapport_domain::company::{Company, CompanyData};
use rapport_domain::custom_field::{CustomField, FieldObject};
use rapport_domain::customer::Address;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::ListParams;
use rapport_domain::{ValidationErrors, now_rfc3339, text};
use serde_json::json;
use sqlx::{Any, Row as _, Transaction};

use crate::list::{Listing, Page};
use crate::records::{check_owner, check_version, json_object, replace_tags, save_versioned, soft_delete, string_list};
use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, audit, unique_violation};

const COLS: &str = "co.id, co.name, co.domain, co.email, co.phone, co.industry, co.address_street, co.address_city, co.address_region, \
    co.address_postal_code, co.address_country, co.owner_id, co.tags, co.notes, co.custom, co.created_at, co.updated_at, co.deleted_at, co.version, \
    (SELECT COUNT(*) FROM customers p WHERE p.company_id = co.id AND p.deleted_at IS NULL) AS people_count";
const FROM: &str = "companies co";

const LISTING: Listing =
    Listing { alias: "co", table: FROM, joins: "", cols: COLS, fts: "companies_fts", tags: ("company_tags", "company_id"), person: false };

const UNIQUE: &[(&str, &str, &str, &str)] =
    &[("companies_domain_key", "companies.domain", "domain", "another company already has this domain")];

const DATA_COLS: [&str; 16] = [
    "name",
    "sort_name",
    "domain",
    "email",
    "phone",
    "industry",
    "address_street",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_country",
    "owner_id",
    "tags",
    "notes",
    "custom",
    "search_text",
];

impl Store {
    /// A row as a company, with sealed columns opened.
    fn company_from_row(&self, r: &dyn Row) -> Result<Company> {
        Ok(Company {
            id: r.get("id")?,
            data: CompanyData {
                name: r.get("name")?,
                domain: r.get("domain")?,
                email: self.open_opt(r.get("email")?)?,
                phone: self.open_opt(r.get("phone")?)?,
                industry: r.get("industry")?,
                address: Address {
                    street: r.get("address_street")?,
                    city: r.get("address_city")?,
                    region: r.get("address_region")?,
                    postal_code: r.get("address_postal_code")?,
                    country: r.get("address_country")?,
                },
                owner_id: r.get("owner_id")?,
                tags: string_list(r, "tags")?,
                notes: r.get("notes")?,
                custom: json_object(r, "custom")?,
            },
            people_count: r.get("people_count")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            deleted_at: r.get("deleted_at")?,
            version: r.get("version")?,
        })
    }

    /// Appends the data columns' values in the order of `DATA_COLS`; a company's email and
    /// phone are sealed like a person's (a stolen file reveals no email or phone).
    fn bind_company(&self, q: &mut Sql, d: &CompanyData) {
        q.arg(d.name.clone())
            .push(", ")
            .arg(text::fold(&d.name))
            .push(", ")
            .arg(d.domain.clone())
            .push(", ")
            .arg(self.seal_opt(&d.email))
            .push(", ");
        q.arg(self.seal_opt(&d.phone)).push(", ").arg(d.industry.clone()).push(", ");
        let a = &d.address;
        for part in [&a.street, &a.city, &a.region, &a.postal_code, &a.country] {
            q.arg(part.clone()).push(", ");
        }
        q.arg(d.owner_id)
            .push(", ")
            .arg(serde_json::to_string(&d.tags).unwrap_or_else(|_| "[]".into()))
            .push(", ")
            .arg(d.notes.clone())
            .push(", ");
        q.arg(serde_json::Value::Object(d.custom.clone()).to_string()).push(", ");
        q.arg(self.search_text(d.search_name(), d.private_search_terms()));
    }
}

/// Company contacts are business data, not personal data: shown to everyone who may read,
/// except custom fields an admin marked sensitive.
fn shown(_: &Actor, mut c: Company, masked: &[String]) -> Company {
    crate::custom_fields::mask_custom(&mut c.data.custom, masked);
    c
}

impl Store {
    /// A live record the actor may see, unmasked (for merging updates); others are "not found".
    async fn company_in(&self, tx: &mut Transaction<'static, Any>, actor: &Actor, id: i64) -> Result<Company> {
        let row = LISTING.by_id(actor, id).fetch_optional(&mut **tx).await?;
        self.company_from_row(&row.ok_or(Error::NotFound)?)
    }

    /// One live company.
    pub async fn get_company(&self, actor: &Actor, id: i64) -> Result<Company> {
        require(actor, Object::Company, Action::Read)?;
        let found = self.read_optional(&LISTING.by_id(actor, id), |r| self.company_from_row(r)).await?;
        let masked = self.masked_keys(actor, FieldObject::Company).await?;
        Ok(shown(actor, found.ok_or(Error::NotFound)?, &masked))
    }

    /// A page of companies matching `p`.
    pub async fn list_companies(&self, actor: &Actor, p: &ListParams) -> Result<Page<Company>> {
        require(actor, Object::Company, Action::Read)?;
        let masked = self.masked_keys(actor, FieldObject::Company).await?;
        let (data, next_cursor) = self.list_rows(actor, &LISTING, p, |r| Ok(shown(actor, self.company_from_row(r)?, &masked))).await?;
        Ok(Page { data, next_cursor })
    }

    /// Adds a company.
    pub async fn create_company<F>(&self, actor: &Actor, build: F) -> Result<Company>
    where
        F: FnOnce() -> Result<CompanyData, ValidationErrors>,
    {
        require(actor, Object::Company, Action::Create)?;
        let data = build()?;
        let mut tx = self.write_tx().await?;
        let id = self.insert_company(&mut tx, &data).await?;
        let created = self.company_in(&mut tx, &Actor::system(), id).await?;
        self.audit(&mut tx, actor, "create", "company", Some(id), json!({"after": &created.data})).await?;
        tx.commit().await?;
        let masked = self.masked_keys(actor, FieldObject::Company).await?;
        Ok(shown(actor, created, &masked))
    }

    pub(crate) async fn insert_company(&self, tx: &mut Transaction<'static, Any>, data: &CompanyData) -> Result<i64> {
        check_owner(tx, data.owner_id).await?;
        let now = now_rfc3339();
        let mut q = Sql::new(&format!("INSERT INTO companies ({}, created_at, updated_at, version) VALUES (", DATA_COLS.join(", ")));
        self.bind_company(&mut q, data);
        q.push(", ").arg(now.clone()).push(", ").arg(now).push(", 1) RETURNING id");
        let id: i64 = q.fetch_one(&mut **tx).await.map_err(|e| unique_violation(e, UNIQUE))?.try_get("id")?;
        replace_tags(tx, "company_tags", "company_id", id, &data.tags).await?;
        Ok(id)
    }

    /// Changes a company (see [`Store::update_customer`] for the contract).
    pub async fn update_company<F>(&self, actor: &Actor, id: i64, if_match: Option<i64>, change: F) -> Result<Company>
    where
        F: FnOnce(&CompanyData) -> Result<CompanyData, ValidationErrors>,
    {
        require(actor, Object::Company, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let before = self.company_in(&mut tx, actor, id).await?;
        check_version(if_match, before.version)?;
        let data = change(&before.data)?;
        check_owner(&mut tx, data.owner_id).await?;
        let mut q = Sql::new("UPDATE companies SET (");
        q.push(&DATA_COLS.join(", ")).push(") = (");
        self.bind_company(&mut q, &data);
        q.push(")");
        save_versioned(&mut tx, q, id, before.version, UNIQUE).await?;
        replace_tags(&mut tx, "company_tags", "company_id", id, &data.tags).await?;
        if data.name != before.data.name {
            // People are found by their company's name too; keep their index in step.
            sql("UPDATE customers SET company_text = ? WHERE company_id = ?", [text::fold(&data.name).into(), id.into()])
                .execute(&mut **tx)
                .await?;
        }
        // Read back as the system: the change may have moved the record out of the actor's sight.
        let after = self.company_in(&mut tx, &Actor::system(), id).await?;
        self.audit(&mut tx, actor, "update", "company", Some(id), audit::diff(&before.data, &after.data)).await?;
        tx.commit().await?;
        let masked = self.masked_keys(actor, FieldObject::Company).await?;
        Ok(shown(actor, after, &masked))
    }

    /// Soft-deletes a company and unlinks its people (they stay, without a company).
    pub async fn delete_company(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        require(actor, Object::Company, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let before = self.company_in(&mut tx, actor, id).await?;
        check_version(if_match, before.version)?;
        let unlinked = sql(
            "UPDATE customers SET company_id = NULL, company_text = '', updated_at = ?, version = version + 1 WHERE company_id = ? AND deleted_at IS NULL",
            [now_rfc3339().into(), id.into()],
        )
        .execute(&mut **tx)
        .await?;
        soft_delete(&mut tx, "companies", id).await?;
        self.audit(&mut tx, actor, "delete", "company", Some(id), json!({"before": &before.data, "people_unlinked": unlinked})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds many companies in one transaction with a single audit row.
    pub async fn create_companies_batch(&self, actor: &Actor, batch: &[CompanyData]) -> Result<Vec<i64>> {
        require(actor, Object::Company, Action::Create)?;
        let mut tx = self.write_tx().await?;
        let mut ids = Vec::with_capacity(batch.len());
        for d in batch {
            ids.push(self.insert_company(&mut tx, d).await?);
        }
        self.audit(&mut tx, actor, "bulk_create", "company", None, json!({"count": batch.len()})).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// The custom field definitions of companies.
    pub async fn company_fields(&self, actor: &Actor) -> Result<Vec<CustomField>> {
        self.list_custom_fields(actor, Some(FieldObject::Company)).await
    }

    /// Re-seals companies not yet under the active key.
    pub(crate) async fn reseal_companies(&self) -> Result<usize> {
        use sqlx::Row;
        let (mut last, mut n) = (0i64, 0usize);
        loop {
            let rows = crate::sql::sql(
                "SELECT id, version, name, domain, industry, email, phone FROM companies WHERE id > ? ORDER BY id LIMIT ?",
                [last.into(), crate::sealed::BATCH.into()],
            )
            .fetch_all(&self.pool)
            .await?;
            let Some(l) = rows.last() else { return Ok(n) };
            last = l.try_get("id")?;
            for r in &rows {
                let (email, phone): (Option<String>, Option<String>) = (r.try_get("email")?, r.try_get("phone")?);
                if self.is_current(&email) && self.is_current(&phone) {
                    continue;
                }
                let d = rapport_domain::company::CompanyData {
                    name: r.try_get("name")?,
                    domain: r.try_get("domain")?,
                    industry: r.try_get("industry")?,
                    email: self.open_opt(email)?,
                    phone: self.open_opt(phone)?,
                    ..Default::default()
                };
                let mut q = crate::sql::Sql::new("UPDATE companies SET email = ");
                q.arg(self.seal_opt(&d.email)).push(", phone = ").arg(self.seal_opt(&d.phone));
                q.push(", search_text = ").arg(self.search_text(d.search_name(), d.private_search_terms()));
                q.push(" WHERE id = ").arg(r.try_get::<i64, _>("id")?).push(" AND version = ").arg(r.try_get::<i64, _>("version")?);
                n += q.execute(&self.pool).await? as usize;
            }
        }
    }
}
