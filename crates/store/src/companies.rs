//! Companies: the same life cycle as people, plus keeping people's search text in step when a
//! company is renamed and unlinking its people when it is deleted.

use rapport_domain::company::{Company, CompanyData};
use rapport_domain::custom_field::{CustomField, FieldObject};
use rapport_domain::customer::Address;
use rapport_domain::permissions::{Action, Actor, Object, mask, require};
use rapport_domain::query::ListParams;
use rapport_domain::{ValidationErrors, now_rfc3339, text};
use serde_json::json;
use sqlx::{Any, Row as _, Transaction};

use crate::list::{Listing, Page};
use crate::records::{check_assignment, check_version, json_object, replace_tags, save_record, soft_delete, string_list, touch, visible};
use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx, audit, unique_violation};

const COLS: &str = "co.id, co.name, co.domain, co.email, co.phone, co.industry, co.address_street, co.address_city, co.address_region, \
    co.address_postal_code, co.address_country, co.owner_id, co.tags, co.notes, co.custom, co.custom_sealed, co.created_at, co.updated_at, \
    co.deleted_at, co.version";

/// The columns, with the number of the company's people the actor may see.
fn company_cols(q: &mut Sql, actor: &Actor) {
    q.push(COLS).push(", (SELECT COUNT(*) FROM customers p WHERE p.company_id = co.id AND p.deleted_at IS NULL");
    visible(q, actor, "p");
    q.push(") AS people_count");
}

const LISTING: Listing = Listing {
    alias: "co",
    table: "companies co",
    cols: company_cols,
    joins: |_, _| {},
    fts: "companies_fts",
    public_columns: "{search_text}",
    tags: ("company_tags", "company_id"),
    person: false,
    object: Object::Company,
};

const UNIQUE: &[(&str, &str, &str, &str)] =
    &[("companies_domain_key", "companies.domain", "domain", "another company already has this domain")];

const DATA_COLS: [&str; 18] = [
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
    "custom_sealed",
    "search_text",
    "private_text",
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
                    street: self.open_opt(r.get("address_street")?)?,
                    city: r.get("address_city")?,
                    region: r.get("address_region")?,
                    postal_code: self.open_opt(r.get("address_postal_code")?)?,
                    country: r.get("address_country")?,
                },
                owner_id: r.get("owner_id")?,
                tags: string_list(r, "tags")?,
                notes: r.get("notes")?,
                custom: self.join_custom(json_object(r, "custom")?, r.get("custom_sealed")?)?,
            },
            people_count: r.get("people_count")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            deleted_at: r.get("deleted_at")?,
            version: r.get("version")?,
        })
    }

    /// `UPDATE companies SET (<every data column>) = (<its values>)`, sealed: the one way a
    /// company's columns are rewritten. Callers add the rest of the SET list and the WHERE.
    fn set_company_columns(&self, d: &CompanyData, sensitive: &[String]) -> Sql {
        let mut q = Sql::new("UPDATE companies SET (");
        q.push(&DATA_COLS.join(", ")).push(") = (");
        self.bind_company(&mut q, d, sensitive);
        q.push(")");
        q
    }

    /// Appends the data columns' values in the order of `DATA_COLS`; a company's email, phone,
    /// street and postal code are sealed like a person's (a stolen file reveals none of them).
    fn bind_company(&self, q: &mut Sql, d: &CompanyData, sensitive: &[String]) {
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
        q.arg(self.seal_opt(&a.street)).push(", ").arg(a.city.clone()).push(", ").arg(a.region.clone()).push(", ");
        q.arg(self.seal_opt(&a.postal_code)).push(", ").arg(a.country.clone()).push(", ");
        q.arg(d.owner_id)
            .push(", ")
            .arg(serde_json::to_string(&d.tags).unwrap_or_else(|_| "[]".into()))
            .push(", ")
            .arg(d.notes.clone())
            .push(", ");
        let (custom, sealed) = self.split_custom(&d.custom, sensitive);
        q.arg(custom).push(", ").arg(sealed).push(", ");
        q.arg(d.search_name()).push(", ").arg(self.private_text(d.private_search_terms()));
    }
}

/// The company as `actor` may see it: its contacts and street masked without the `pii`
/// permission, exactly like a person's, and custom fields an admin marked sensitive.
fn shown(actor: &Actor, mut c: Company, masked: &[String]) -> Company {
    crate::custom_fields::mask_custom(&mut c.data.custom, masked);
    if !actor.sees_pii(Object::Company) {
        let d = &mut c.data;
        d.email = d.email.as_deref().map(mask);
        d.phone = d.phone.as_deref().map(mask);
        d.address.street = d.address.street.as_deref().map(mask);
        d.address.postal_code = d.address.postal_code.as_deref().map(mask);
    }
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

    /// A page of companies matching `p` (sync listings carry deleted ones as tombstones).
    pub async fn list_companies(&self, actor: &Actor, p: &ListParams) -> Result<Page<Company>> {
        require(actor, Object::Company, Action::Read)?;
        let masked = self.masked_keys(actor, FieldObject::Company).await?;
        self.list_rows(actor, &LISTING, p, |r| {
            let c = self.company_from_row(r)?;
            Ok(if c.deleted_at.is_some() { c.tombstone() } else { shown(actor, c, &masked) })
        })
        .await
    }

    /// Adds a company, owned by someone the actor may give records to.
    pub async fn create_company<F>(&self, actor: &Actor, build: F) -> Result<Company>
    where
        F: FnOnce() -> Result<CompanyData, ValidationErrors>,
    {
        require(actor, Object::Company, Action::Create)?;
        let data = build()?;
        let sensitive = self.sensitive_keys(FieldObject::Company).await?;
        let mut tx = self.write_tx().await?;
        check_assignment(&mut tx, actor, Object::Company, data.owner_id).await?;
        let id = self.insert_company(&mut tx, &data, &sensitive).await?;
        let mut created = self.company_in(&mut tx, &Actor::system(), id).await?;
        created.people_count = 0;
        self.audit(&mut tx, actor, "create", "company", Some(id), json!({"after": &created.data})).await?;
        tx.commit().await?;
        let masked = self.masked_keys(actor, FieldObject::Company).await?;
        Ok(shown(actor, created, &masked))
    }

    /// Inserts a company whose owner the caller checked.
    async fn insert_company(&self, tx: &mut WriteTx, data: &CompanyData, sensitive: &[String]) -> Result<i64> {
        let now = now_rfc3339();
        tx.changed("companies");
        let mut q =
            Sql::new(&format!("INSERT INTO companies ({}, created_at, updated_at, change_seq, version) VALUES (", DATA_COLS.join(", ")));
        self.bind_company(&mut q, data, sensitive);
        q.push(", ").arg(now.clone()).push(", ").arg(now).push(", NULL, 1) RETURNING id");
        let id: i64 = q.fetch_one(&mut ***tx).await.map_err(|e| unique_violation(e, UNIQUE))?.try_get("id")?;
        replace_tags(tx, "company_tags", "company_id", id, &data.tags).await?;
        Ok(id)
    }

    /// Changes a company (see [`Store::update_customer`] for the contract). A rename shows in
    /// its people's `company_name`, so they count as changed for sync clients.
    pub async fn update_company<F>(&self, actor: &Actor, id: i64, if_match: Option<i64>, change: F) -> Result<Company>
    where
        F: FnOnce(&CompanyData) -> Result<CompanyData, ValidationErrors>,
    {
        require(actor, Object::Company, Action::Update)?;
        let sensitive = self.sensitive_keys(FieldObject::Company).await?;
        let mut tx = self.write_tx().await?;
        let before = self.company_in(&mut tx, actor, id).await?;
        check_version(if_match, before.version)?;
        let data = change(&before.data)?;
        if data.owner_id != before.data.owner_id {
            check_assignment(&mut tx, actor, Object::Company, data.owner_id).await?;
        }
        save_record(&mut tx, "companies", self.set_company_columns(&data, &sensitive), id, before.version, UNIQUE).await?;
        replace_tags(&mut tx, "company_tags", "company_id", id, &data.tags).await?;
        if data.name != before.data.name {
            // People are found by their company's name too; keep their index in step.
            sql("UPDATE customers SET company_text = ? WHERE company_id = ?", [text::fold(&data.name).into(), id.into()])
                .execute(&mut **tx)
                .await?;
            touch(&mut tx, "customers", "company_id = ?", id).await?;
        }
        // Read back as the system: the change may have moved the record out of the actor's sight.
        let mut after = self.company_in(&mut tx, &Actor::system(), id).await?;
        self.audit(&mut tx, actor, "update", "company", Some(id), audit::diff(&before.data, &after.data)).await?;
        after.people_count = before.people_count;
        tx.commit().await?;
        let masked = self.masked_keys(actor, FieldObject::Company).await?;
        Ok(shown(actor, after, &masked))
    }

    /// Soft-deletes a company and unlinks its people (they stay, without a company), each as a
    /// change of its own: a new version and an audit row, so sync clients and the history see it.
    pub async fn delete_company(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        require(actor, Object::Company, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let before = self.company_in(&mut tx, actor, id).await?;
        check_version(if_match, before.version)?;
        let people: Vec<i64> = sql("SELECT id FROM customers WHERE company_id = ? AND deleted_at IS NULL ORDER BY id", [id.into()])
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<sqlx::Result<_>>()?;
        tx.changed("customers");
        for person in &people {
            sql(
                "UPDATE customers SET company_id = NULL, company_text = '', updated_at = ?, change_seq = NULL, version = version + 1 WHERE id = ?",
                [now_rfc3339().into(), (*person).into()],
            )
            .execute(&mut **tx)
            .await?;
            let diff = json!({"company_id": [id, null], "reason": "company deleted"});
            self.audit(&mut tx, actor, "update", "customer", Some(*person), diff).await?;
        }
        soft_delete(&mut tx, "companies", id).await?;
        self.audit(&mut tx, actor, "delete", "company", Some(id), json!({"before": &before.data, "people_unlinked": people.len()})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds many companies in one transaction with a single audit row.
    pub async fn create_companies_batch(&self, actor: &Actor, batch: &[CompanyData]) -> Result<Vec<i64>> {
        require(actor, Object::Company, Action::Create)?;
        let sensitive = self.sensitive_keys(FieldObject::Company).await?;
        let mut tx = self.write_tx().await?;
        let mut ids = Vec::with_capacity(batch.len());
        let mut owners = std::collections::HashSet::new();
        for d in batch {
            if owners.insert(d.owner_id) {
                check_assignment(&mut tx, actor, Object::Company, d.owner_id).await?;
            }
            ids.push(self.insert_company(&mut tx, d, &sensitive).await?);
        }
        self.audit(&mut tx, actor, "bulk_create", "company", None, json!({"count": batch.len()})).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// The custom field definitions of companies.
    pub async fn company_fields(&self, actor: &Actor) -> Result<Vec<CustomField>> {
        self.list_custom_fields(actor, Some(FieldObject::Company)).await
    }

    /// Rewrites companies whose stored form is out of date (see [`Store::rewrite_customers`]).
    pub(crate) async fn rewrite_companies(&self, reseal: bool) -> Result<usize> {
        use sqlx::Row;
        let (defined, sensitive) = self.custom_keys(FieldObject::Company).await?;
        let (mut last, mut n) = (0i64, 0usize);
        loop {
            let mut q = Sql::new(&format!(
                "SELECT {COLS}, CAST(0 AS BIGINT) AS people_count, CAST(CASE WHEN co.private_text IS NULL THEN 1 ELSE 0 END AS BIGINT) AS pending \
                 FROM companies co WHERE co.id > "
            ));
            q.arg(last);
            if !reseal {
                q.push(" AND co.private_text IS NULL");
            }
            q.push(" ORDER BY co.id LIMIT ").arg(crate::sealed::BATCH);
            let rows = q.fetch_all(&self.pool).await?;
            let Some(l) = rows.last() else { return Ok(n) };
            last = l.try_get("id")?;
            for r in &rows {
                let raw: Vec<Option<String>> = ["email", "phone", "address_street", "address_postal_code", "custom_sealed"]
                    .iter()
                    .map(|c| r.try_get::<Option<String>, _>(*c))
                    .collect::<sqlx::Result<_>>()?;
                if r.try_get::<i64, _>("pending")? == 0 && raw.iter().all(|v| self.is_current(v)) {
                    continue;
                }
                let mut c = self.company_from_row(r)?;
                // Values of fields deleted meanwhile go.
                c.data.custom.retain(|k, _| defined.contains(k));
                let mut q = self.set_company_columns(&c.data, &sensitive);
                q.push(" WHERE id = ").arg(c.id).push(" AND version = ").arg(c.version);
                n += q.execute(&self.pool).await? as usize;
            }
        }
    }
}
