//! People: create, read, update (optimistically versioned), soft delete, list and search.

use rapport_domain::custom_field::FieldObject;
use rapport_domain::customer::{Address, Customer, CustomerData, LifecycleStage};
use rapport_domain::permissions::{Action, Actor, Object, mask, require};
use rapport_domain::query::ListParams;
use rapport_domain::{ValidationErrors, now_rfc3339, text};
use serde_json::json;
use sqlx::{Any, Row as _, Transaction};

use crate::list::{Listing, Page};
use crate::records::{
    check_assignment, check_version, company_name, json_object, replace_tags, save_record, seen_company_name, soft_delete, string_list,
    visible,
};
use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx, audit, unique_violation};

const COLS: &str = "c.id, c.name, c.email, c.additional_emails, c.phone, c.additional_phones, c.address_street, c.address_city, \
    c.address_region, c.address_postal_code, c.address_country, c.company_id, c.lifecycle_stage, c.source, c.owner_id, c.tags, \
    c.needs, c.notes, c.custom, c.custom_sealed, c.created_at, c.updated_at, c.deleted_at, c.version, co.name AS company_name, \
    c.rfm_cell, c.rfm_tier, c.segment, c.purchase_propensity, c.churn_risk";

/// A person's company name shows only when the actor may see the company.
fn company_join(q: &mut Sql, actor: &Actor) {
    q.push(" LEFT JOIN companies co ON co.id = c.company_id AND co.deleted_at IS NULL");
    visible(q, actor, "co");
}

pub(crate) const LISTING: Listing = Listing {
    alias: "c",
    table: "customers c",
    cols: |q, _| {
        q.push(COLS);
    },
    joins: company_join,
    fts: "customers_fts",
    public_columns: "{search_text company_text}",
    tags: ("customer_tags", "customer_id"),
    person: true,
    object: Object::Customer,
};

const UNIQUE: &[(&str, &str, &str, &str)] =
    &[("customers_email_hash_key", "customers.email_hash", "email", "another person already has this email address")];

impl Store {
    /// A row as a person, with sealed columns opened.
    fn customer_from_row(&self, r: &dyn Row) -> Result<Customer> {
        let list = |col: &str| -> Result<Vec<String>> {
            let raw: String = r.get(col)?;
            Ok(serde_json::from_str(&self.open(raw)?).unwrap_or_default())
        };
        Ok(Customer {
            id: r.get("id")?,
            data: CustomerData {
                name: r.get("name")?,
                email: self.open_opt(r.get("email")?)?,
                additional_emails: list("additional_emails")?,
                phone: self.open_opt(r.get("phone")?)?,
                additional_phones: list("additional_phones")?,
                address: Address {
                    street: self.open_opt(r.get("address_street")?)?,
                    city: r.get("address_city")?,
                    region: r.get("address_region")?,
                    postal_code: self.open_opt(r.get("address_postal_code")?)?,
                    country: r.get("address_country")?,
                },
                company_id: r.get("company_id")?,
                lifecycle_stage: LifecycleStage::parse(&r.get::<String>("lifecycle_stage")?).unwrap_or_default(),
                source: r.get("source")?,
                owner_id: r.get("owner_id")?,
                tags: string_list(r, "tags")?,
                needs: r.get("needs")?,
                notes: r.get("notes")?,
                custom: self.join_custom(json_object(r, "custom")?, r.get("custom_sealed")?)?,
            },
            company_name: r.get("company_name")?,
            scores: rapport_domain::customer::CustomerScores {
                rfm_cell: r.get("rfm_cell")?,
                rfm_tier: r.get("rfm_tier")?,
                segment: r.get("segment")?,
                purchase_propensity: r.get("purchase_propensity")?,
                churn_risk: r.get("churn_risk")?,
            },
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            deleted_at: r.get("deleted_at")?,
            version: r.get("version")?,
        })
    }

    /// `UPDATE customers SET (<every data column>) = (<its values>)`, sealed: the one way a
    /// person's columns are rewritten (edits, erasure, re-sealing). Callers add the rest of the
    /// SET list and the WHERE clause.
    fn set_customer_columns(&self, d: &CustomerData, company: Option<&str>, sensitive: &[String]) -> Sql {
        let mut q = Sql::new("UPDATE customers SET (");
        q.push(&DATA_COLS.join(", ")).push(") = (");
        self.bind_customer(&mut q, d, &text::fold(company.unwrap_or("")), sensitive);
        q.push(")");
        q
    }

    /// Appends the data columns' values in the order of `DATA_COLS`, sealing the sensitive ones
    /// (contacts, street, postal code, and custom values whose field is in `sensitive`).
    fn bind_customer(&self, q: &mut Sql, d: &CustomerData, company_text: &str, sensitive: &[String]) {
        let list = |v: &Vec<String>| self.seal(&serde_json::to_string(v).unwrap_or_else(|_| "[]".into()));
        q.arg(d.name.clone()).push(", ").arg(text::fold(&d.name)).push(", ").arg(self.seal_opt(&d.email)).push(", ");
        q.arg(d.email.as_deref().map(|e| self.email_key(e))).push(", ").arg(list(&d.additional_emails)).push(", ");
        q.arg(self.seal_opt(&d.phone)).push(", ").arg(list(&d.additional_phones)).push(", ");
        let a = &d.address;
        q.arg(self.seal_opt(&a.street)).push(", ").arg(a.city.clone()).push(", ").arg(a.region.clone()).push(", ");
        q.arg(self.seal_opt(&a.postal_code)).push(", ").arg(a.country.clone()).push(", ");
        q.arg(d.company_id)
            .push(", ")
            .arg(d.lifecycle_stage.as_str())
            .push(", ")
            .arg(d.source.clone())
            .push(", ")
            .arg(d.owner_id)
            .push(", ");
        q.arg(serde_json::to_string(&d.tags).unwrap_or_else(|_| "[]".into()))
            .push(", ")
            .arg(d.needs.clone())
            .push(", ")
            .arg(d.notes.clone())
            .push(", ");
        let (custom, sealed) = self.split_custom(&d.custom, sensitive);
        q.arg(custom).push(", ").arg(sealed).push(", ");
        q.arg(d.search_name()).push(", ").arg(self.private_text(d.private_search_terms())).push(", ").arg(company_text.to_string());
    }
}

/// The record as `actor` may see it: sensitive fields masked without the `pii` permission.
fn shown(actor: &Actor, mut c: Customer, masked: &[String]) -> Customer {
    crate::custom_fields::mask_custom(&mut c.data.custom, masked);
    if !actor.sees_pii(Object::Customer) {
        let d = &mut c.data;
        d.email = d.email.as_deref().map(mask);
        d.phone = d.phone.as_deref().map(mask);
        d.additional_emails = d.additional_emails.iter().map(|e| mask(e)).collect();
        d.additional_phones = d.additional_phones.iter().map(|p| mask(p)).collect();
        // City, region and country stay: they locate nobody and segmentation needs them.
        d.address.street = d.address.street.as_deref().map(mask);
        d.address.postal_code = d.address.postal_code.as_deref().map(mask);
    }
    c
}

const DATA_COLS: [&str; 24] = [
    "name",
    "sort_name",
    "email",
    "email_hash",
    "additional_emails",
    "phone",
    "additional_phones",
    "address_street",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_country",
    "company_id",
    "lifecycle_stage",
    "source",
    "owner_id",
    "tags",
    "needs",
    "notes",
    "custom",
    "custom_sealed",
    "search_text",
    "private_text",
    "company_text",
];

impl Store {
    /// A live record the actor may see, unmasked (for merging updates); others are "not found".
    async fn customer_in(&self, tx: &mut Transaction<'static, Any>, actor: &Actor, id: i64) -> Result<Customer> {
        let row = LISTING.by_id(actor, id).fetch_optional(&mut **tx).await?;
        self.customer_from_row(&row.ok_or(Error::NotFound)?)
    }

    /// One live person.
    pub async fn get_customer(&self, actor: &Actor, id: i64) -> Result<Customer> {
        require(actor, Object::Customer, Action::Read)?;
        let found = self.read_optional(&LISTING.by_id(actor, id), |r| self.customer_from_row(r)).await?;
        let masked = self.masked_keys(actor, FieldObject::Customer).await?;
        Ok(shown(actor, found.ok_or(Error::NotFound)?, &masked))
    }

    /// Refuses (as "not found") a person the actor may not see, without reading their data.
    pub(crate) async fn check_customer_visible(&self, actor: &Actor, id: i64) -> Result<()> {
        require(actor, Object::Customer, Action::Read)?;
        self.read_optional(&LISTING.by_id(actor, id), |_| Ok(())).await?.ok_or(Error::NotFound)
    }

    /// A page of people matching `p`. Sync listings carry deleted people as tombstones, which
    /// hold nothing but their id and times.
    pub async fn list_customers(&self, actor: &Actor, p: &ListParams) -> Result<Page<Customer>> {
        require(actor, Object::Customer, Action::Read)?;
        let masked = self.masked_keys(actor, FieldObject::Customer).await?;
        self.list_rows(actor, &LISTING, p, |r| {
            let c = self.customer_from_row(r)?;
            Ok(if c.deleted_at.is_some() { c.tombstone() } else { shown(actor, c, &masked) })
        })
        .await
    }

    /// Adds a person; `build` validates the input (after the permission check, so a caller
    /// without the right learns nothing from validation messages). The owner must be one the
    /// actor may give records to, and the company one they can see.
    pub async fn create_customer<F>(&self, actor: &Actor, build: F) -> Result<Customer>
    where
        F: FnOnce() -> Result<CustomerData, ValidationErrors>,
    {
        require(actor, Object::Customer, Action::Create)?;
        let data = build()?;
        let sensitive = self.sensitive_keys(FieldObject::Customer).await?;
        let mut tx = self.write_tx().await?;
        check_assignment(&mut tx, actor, Object::Customer, data.owner_id).await?;
        let company = company_name(&mut tx, actor, data.company_id).await?;
        let id = self.insert_checked_customer(&mut tx, &data, company.as_deref(), &sensitive).await?;
        // As the system: the owner may be a teammate whose records the actor does not see.
        let created = self.customer_in(&mut tx, &Actor::system(), id).await?;
        self.audit(&mut tx, actor, "create", "customer", Some(id), json!({"after": &created.data})).await?;
        tx.commit().await?;
        let masked = self.masked_keys(actor, FieldObject::Customer).await?;
        Ok(shown(actor, created, &masked))
    }

    /// Inserts a person whose owner and company (named `company`) were checked by the caller.
    async fn insert_checked_customer(
        &self,
        tx: &mut WriteTx,
        data: &CustomerData,
        company: Option<&str>,
        sensitive: &[String],
    ) -> Result<i64> {
        let now = now_rfc3339();
        tx.changed("customers");
        let mut q =
            Sql::new(&format!("INSERT INTO customers ({}, created_at, updated_at, change_seq, version) VALUES (", DATA_COLS.join(", ")));
        self.bind_customer(&mut q, data, &text::fold(company.unwrap_or("")), sensitive);
        q.push(", ").arg(now.clone()).push(", ").arg(now).push(", NULL, 1) RETURNING id");
        let row = q.fetch_one(&mut ***tx).await.map_err(|e| unique_violation(e, UNIQUE))?;
        let id: i64 = row.try_get("id")?;
        replace_tags(tx, "customer_tags", "customer_id", id, &data.tags).await?;
        Ok(id)
    }

    /// Changes a person. `change` receives the current fields and returns the new ones (or the
    /// validation errors); it runs inside the transaction, so nothing is half-written. With
    /// `if_match`, a stale version is refused instead of overwriting someone else's edit. A new
    /// owner must be one the actor may give records to, a new company one they can see.
    pub async fn update_customer<F>(&self, actor: &Actor, id: i64, if_match: Option<i64>, change: F) -> Result<Customer>
    where
        F: FnOnce(&CustomerData) -> Result<CustomerData, ValidationErrors>,
    {
        require(actor, Object::Customer, Action::Update)?;
        let sensitive = self.sensitive_keys(FieldObject::Customer).await?;
        let mut tx = self.write_tx().await?;
        let before = self.customer_in(&mut tx, actor, id).await?;
        check_version(if_match, before.version)?;
        let data = change(&before.data)?;
        if data.owner_id != before.data.owner_id {
            check_assignment(&mut tx, actor, Object::Customer, data.owner_id).await?;
        }
        // The stored link keeps its name even when the actor cannot see the company.
        let linker = if data.company_id == before.data.company_id { Actor::system() } else { actor.clone() };
        let company = company_name(&mut tx, &linker, data.company_id).await?;
        save_record(&mut tx, "customers", self.set_customer_columns(&data, company.as_deref(), &sensitive), id, before.version, UNIQUE)
            .await?;
        replace_tags(&mut tx, "customer_tags", "customer_id", id, &data.tags).await?;
        // Read back as the system: the change may have moved the record out of the actor's sight.
        let mut after = self.customer_in(&mut tx, &Actor::system(), id).await?;
        self.audit(&mut tx, actor, "update", "customer", Some(id), audit::diff(&before.data, &after.data)).await?;
        after.company_name = match after.data.company_id {
            Some(c) => seen_company_name(&mut tx, actor, c).await?,
            None => None,
        };
        tx.commit().await?;
        let masked = self.masked_keys(actor, FieldObject::Customer).await?;
        Ok(shown(actor, after, &masked))
    }

    /// Soft-deletes a person: it disappears from lists and reads but stays as a tombstone that
    /// `updated_since` sync listings report.
    pub async fn delete_customer(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        require(actor, Object::Customer, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let before = self.customer_in(&mut tx, actor, id).await?;
        check_version(if_match, before.version)?;
        soft_delete(&mut tx, "customers", id).await?;
        self.audit(&mut tx, actor, "delete", "customer", Some(id), json!({"before": &before.data})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds many people in one transaction with a single audit row (demo data, bulk loads).
    pub async fn create_customers_batch(&self, actor: &Actor, batch: &[CustomerData]) -> Result<Vec<i64>> {
        require(actor, Object::Customer, Action::Create)?;
        let sensitive = self.sensitive_keys(FieldObject::Customer).await?;
        let mut tx = self.write_tx().await?;
        // Check each distinct owner and company once per batch, not once per person.
        let mut owners = std::collections::HashSet::new();
        let mut companies: std::collections::HashMap<i64, Option<String>> = std::collections::HashMap::new();
        let mut ids = Vec::with_capacity(batch.len());
        for d in batch {
            if owners.insert(d.owner_id) {
                check_assignment(&mut tx, actor, Object::Customer, d.owner_id).await?;
            }
            let company = match d.company_id {
                Some(c) => match companies.get(&c) {
                    Some(name) => name.clone(),
                    None => {
                        let name = company_name(&mut tx, actor, Some(c)).await?;
                        companies.insert(c, name.clone());
                        name
                    }
                },
                None => None,
            };
            ids.push(self.insert_checked_customer(&mut tx, d, company.as_deref(), &sensitive).await?);
        }
        self.audit(
            &mut tx,
            actor,
            "bulk_create",
            "customer",
            None,
            json!({"count": batch.len(), "first_id": ids.first(), "last_id": ids.last()}),
        )
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Everything held about one person, unmasked, for a privacy (subject access) request:
    /// the record, its company and its audit history. Needs `export` and `pii`; audited.
    pub async fn privacy_export(&self, actor: &Actor, id: i64) -> Result<serde_json::Value> {
        require(actor, Object::Customer, Action::Export)?;
        require(actor, Object::Customer, Action::Pii)?;
        let mut tx = self.write_tx().await?;
        let row = LISTING.by_id_with_deleted(actor, id).fetch_optional(&mut **tx).await?;
        let c = self.customer_from_row(&row.ok_or(Error::NotFound)?)?;
        let history = sql("SELECT at, actor_id, action, diff FROM audit_log WHERE object = 'customer' AND record_id = ? ORDER BY id", [id.into()])
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| -> sqlx::Result<serde_json::Value> {
                Ok(json!({"at": r.try_get::<String, _>("at")?, "actor_id": r.try_get::<Option<i64>, _>("actor_id")?, "action": r.try_get::<String, _>("action")?,
                    "diff": serde_json::from_str::<serde_json::Value>(&self.open(r.try_get::<String, _>("diff")?).unwrap_or_default()).unwrap_or_default()}))
            })
            .collect::<sqlx::Result<Vec<_>>>()?;
        self.audit(&mut tx, actor, "export", "customer", Some(id), json!({"kind": "privacy_export"})).await?;
        tx.commit().await?;
        let q = sql(
            "SELECT invoice, product, quantity, amount_minor, currency, purchased_at FROM purchases WHERE customer_id = ? ORDER BY purchased_at, id",
            [id.into()],
        );
        let purchases = self
            .read(&q, |r| {
                Ok(json!({"invoice": r.get::<String>("invoice")?, "product": r.get::<String>("product")?, "quantity": r.get::<i64>("quantity")?,
                    "amount_minor": r.get::<i64>("amount_minor")?, "currency": r.get::<String>("currency")?, "purchased_at": r.get::<String>("purchased_at")?}))
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
        let row = LISTING.by_id_with_deleted(actor, id).fetch_optional(&mut **tx).await?;
        let before = self.customer_from_row(&row.ok_or(Error::NotFound)?)?;
        let erased = CustomerData {
            name: format!("Erased person {id}"),
            lifecycle_stage: before.data.lifecycle_stage,
            company_id: before.data.company_id,
            owner_id: before.data.owner_id,
            ..Default::default()
        };
        let company = match erased.company_id {
            Some(c) => seen_company_name(&mut tx, &Actor::system(), c).await?,
            None => None,
        };
        tx.changed("customers");
        let mut q = self.set_customer_columns(&erased, company.as_deref(), &[]);
        q.push(", updated_at = ").arg(now_rfc3339()).push(", change_seq = NULL, version = version + 1 WHERE id = ").arg(id);
        q.execute(&mut **tx).await?;
        replace_tags(&mut tx, "customer_tags", "customer_id", id, &[]).await?;
        // The one change ever made to audit rows: erasure must not leave the data in the history.
        let redacted =
            sql("UPDATE audit_log SET diff = '{\"redacted\": \"erased\"}' WHERE object = 'customer' AND record_id = ?", [id.into()])
                .execute(&mut **tx)
                .await?;
        self.audit(
            &mut tx,
            actor,
            "erase",
            "customer",
            Some(id),
            json!({"fields": "all personal fields", "audit_entries_redacted": redacted}),
        )
        .await?;
        let row = LISTING.by_id_with_deleted(&Actor::system(), id).fetch_one(&mut **tx).await?;
        let after = self.customer_from_row(&row)?;
        tx.commit().await?;
        let masked = self.masked_keys(actor, FieldObject::Customer).await?;
        Ok(shown(actor, after, &masked))
    }

    /// The custom field definitions of people (for validating input).
    pub async fn customer_fields(&self, actor: &Actor) -> Result<Vec<rapport_domain::custom_field::CustomField>> {
        self.list_custom_fields(actor, Some(FieldObject::Customer)).await
    }

    /// Rewrites people whose stored form is out of date from their own values: rows marked for
    /// recomputing (`private_text IS NULL`: written before search words were split, or of an
    /// object whose custom field changed sensitivity) and, with `reseal`, rows holding values
    /// sealed under an older key or still in clear. Each row is rewritten only if its version is
    /// unchanged since it was read (an edit meanwhile rewrote it anyway), and neither its version
    /// nor its `updated_at` changes, so sync clients see nothing.
    pub(crate) async fn rewrite_customers(&self, reseal: bool) -> Result<usize> {
        use sqlx::Row;
        let (defined, sensitive) = self.custom_keys(FieldObject::Customer).await?;
        let (mut last, mut n) = (0i64, 0usize);
        loop {
            let mut q = Sql::new(&format!(
                "SELECT {COLS}, CAST(CASE WHEN c.private_text IS NULL THEN 1 ELSE 0 END AS BIGINT) AS pending \
                 FROM customers c LEFT JOIN companies co ON co.id = c.company_id WHERE c.id > "
            ));
            q.arg(last);
            if !reseal {
                q.push(" AND c.private_text IS NULL");
            }
            q.push(" ORDER BY c.id LIMIT ").arg(crate::sealed::BATCH);
            let rows = q.fetch_all(&self.pool).await?;
            let Some(l) = rows.last() else { return Ok(n) };
            last = l.try_get("id")?;
            for r in &rows {
                let raw: Vec<Option<String>> =
                    ["email", "additional_emails", "phone", "additional_phones", "address_street", "address_postal_code", "custom_sealed"]
                        .iter()
                        .map(|c| r.try_get::<Option<String>, _>(*c))
                        .collect::<sqlx::Result<_>>()?;
                if r.try_get::<i64, _>("pending")? == 0 && raw.iter().all(|v| self.is_current(v)) {
                    continue;
                }
                let mut c = self.customer_from_row(r)?;
                // Values of fields deleted meanwhile go.
                c.data.custom.retain(|k, _| defined.contains(k));
                // Same values, sealed under the active key, with blind index and tokens redone.
                let mut q = self.set_customer_columns(&c.data, c.company_name.as_deref(), &sensitive);
                q.push(" WHERE id = ").arg(c.id).push(" AND version = ").arg(c.version);
                n += q.execute(&self.pool).await? as usize;
            }
        }
    }
}
