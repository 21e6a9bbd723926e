//! Email templates (see [`rapport_domain::marketing::templates`]): shared marketing data like
//! campaigns (every role that reads campaigns reads them; marketers and admins change them),
//! checked on save against the people's custom fields, audited.

use std::collections::HashMap;

use rapport_domain::ValidationErrors;
use rapport_domain::customer::Customer;
use rapport_domain::marketing::templates::{Compiled, EmailTemplate, Preview, TemplateData};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use serde_json::{Value, json};

use crate::records::check_version;
use crate::row::Row;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

const COLS: &str = "id, name, subject, text_body, html_body, created_at, updated_at, version";

fn from_row(r: &dyn Row) -> Result<EmailTemplate> {
    let data =
        TemplateData { name: r.get("name")?, subject: r.get("subject")?, text_body: r.get("text_body")?, html_body: r.get("html_body")? };
    let fields = data.clone().validated(&[]).map(|(_, c)| c.fields()).unwrap_or_else(|_| {
        // Saved templates were valid when saved; a custom field deleted since only shows here.
        let mut all = rapport_domain::marketing::templates::parse(&data.subject).unwrap_or_default();
        all.extend(rapport_domain::marketing::templates::parse(&data.text_body).unwrap_or_default());
        all.extend(
            data.html_body.as_deref().map(|h| rapport_domain::marketing::templates::parse(h).unwrap_or_default()).unwrap_or_default(),
        );
        rapport_domain::marketing::templates::fields(&all)
    });
    Ok(EmailTemplate {
        id: r.get("id")?,
        data,
        fields,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        version: r.get("version")?,
    })
}

/// The merge values of a person: name parts, email, company and custom fields.
pub(crate) fn merge_values(c: &Customer) -> HashMap<String, String> {
    let mut v = HashMap::new();
    let name = c.data.name.trim().to_string();
    let mut words = name.split_whitespace();
    v.insert("first_name".into(), words.next().unwrap_or("").to_string());
    v.insert("last_name".into(), words.collect::<Vec<_>>().join(" "));
    v.insert("name".into(), name);
    v.insert("email".into(), c.data.email.clone().unwrap_or_default());
    v.insert("company".into(), c.company_name.clone().unwrap_or_default());
    for (k, val) in &c.data.custom {
        let text = match val {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Array(a) => {
                a.iter().map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).collect::<Vec<_>>().join(", ")
            }
            other => other.to_string(),
        };
        v.entry(k.clone()).or_insert(text);
    }
    v
}

impl Store {
    pub(crate) async fn template_keys(&self, tx: &mut WriteTx) -> Result<Vec<String>> {
        tx.fetch_all(&sql("SELECT key FROM custom_fields WHERE object = 'customer' ORDER BY key", []), |r| r.get("key")).await
    }

    /// A live template, parsed, inside a transaction.
    pub(crate) async fn template_in(&self, tx: &mut WriteTx, id: i64) -> Result<(EmailTemplate, Compiled)> {
        let q = sql(&format!("SELECT {COLS} FROM email_templates WHERE id = ? AND deleted_at IS NULL"), [id.into()]);
        let t = tx.fetch_optional(&q, from_row).await?.ok_or(Error::NotFound)?;
        let keys = self.template_keys(tx).await?;
        let (_, compiled) = t.data.clone().validated(&keys).map_err(|e| {
            let mut v = ValidationErrors::default();
            for f in e.0 {
                v.add("template_id", format!("the template's {}: {}", f.field, f.message));
            }
            Error::Invalid(v)
        })?;
        Ok((t, compiled))
    }

    /// Every live template, newest first.
    pub async fn list_email_templates(&self, actor: &Actor) -> Result<Vec<EmailTemplate>> {
        require(actor, Object::Campaign, Action::Read)?;
        self.read(&sql(&format!("SELECT {COLS} FROM email_templates WHERE deleted_at IS NULL ORDER BY id DESC"), []), from_row).await
    }

    /// One live template.
    pub async fn get_email_template(&self, actor: &Actor, id: i64) -> Result<EmailTemplate> {
        require(actor, Object::Campaign, Action::Read)?;
        let q = sql(&format!("SELECT {COLS} FROM email_templates WHERE id = ? AND deleted_at IS NULL"), [id.into()]);
        self.read_optional(&q, from_row).await?.ok_or(Error::NotFound)
    }

    /// Creates a template (an unknown merge field is refused, naming it); audited.
    pub async fn create_email_template(&self, actor: &Actor, data: TemplateData) -> Result<EmailTemplate> {
        require(actor, Object::Campaign, Action::Create)?;
        let mut tx = self.write_tx().await?;
        let keys = self.template_keys(&mut tx).await?;
        let (d, _) = data.validated(&keys)?;
        let now = now_rfc3339();
        let q = sql(
            &format!(
                "INSERT INTO email_templates (name, subject, text_body, html_body, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, 1) RETURNING {COLS}"
            ),
            [d.name.into(), d.subject.into(), d.text_body.into(), d.html_body.into(), now.clone().into(), now.into()],
        );
        let t = tx.fetch_one(&q, from_row).await?;
        self.audit(&mut tx, actor, "create", "email_template", Some(t.id), json!({"after": &t})).await?;
        tx.commit().await?;
        Ok(t)
    }

    /// Replaces a template's fields; `If-Match` refuses a stale version.
    pub async fn update_email_template(&self, actor: &Actor, id: i64, if_match: Option<i64>, data: TemplateData) -> Result<EmailTemplate> {
        require(actor, Object::Campaign, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let lock = self.backend.lock_rows();
        let q = sql(&format!("SELECT {COLS} FROM email_templates WHERE id = ? AND deleted_at IS NULL{lock}"), [id.into()]);
        let before = tx.fetch_optional(&q, from_row).await?.ok_or(Error::NotFound)?;
        check_version(if_match, before.version)?;
        let keys = self.template_keys(&mut tx).await?;
        let (d, _) = data.validated(&keys)?;
        let q = sql(
            &format!(
                "UPDATE email_templates SET name = ?, subject = ?, text_body = ?, html_body = ?, updated_at = ?, version = version + 1 WHERE id = ? RETURNING {COLS}"
            ),
            [d.name.into(), d.subject.into(), d.text_body.into(), d.html_body.into(), now_rfc3339().into(), id.into()],
        );
        let after = tx.fetch_one(&q, from_row).await?;
        self.audit(&mut tx, actor, "update", "email_template", Some(id), crate::audit::diff(&before, &after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a template (soft; audited).
    pub async fn delete_email_template(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        require(actor, Object::Campaign, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let q = sql("SELECT version FROM email_templates WHERE id = ? AND deleted_at IS NULL", [id.into()]);
        let current: i64 = tx.fetch_optional(&q, |r| r.get("version")).await?.ok_or(Error::NotFound)?;
        check_version(if_match, current)?;
        let now = now_rfc3339();
        tx.execute(&sql(
            "UPDATE email_templates SET deleted_at = ?, updated_at = ?, version = version + 1 WHERE id = ?",
            [now.clone().into(), now.into(), id.into()],
        ))
        .await?;
        self.audit(&mut tx, actor, "delete", "email_template", Some(id), json!({})).await?;
        tx.commit().await
    }

    /// Renders a template for `person` as they would receive it (links are placeholders; no
    /// tracking). The actor must be able to see the person.
    pub async fn preview_email_template(&self, actor: &Actor, id: i64, person: i64) -> Result<Preview> {
        require(actor, Object::Campaign, Action::Read)?;
        let c = self.get_record::<Customer>(actor, person).await.map_err(|e| match e {
            Error::NotFound => Error::Invalid(ValidationErrors::single("person_id", "no such person")),
            other => other,
        })?;
        let mut tx = self.write_tx().await?;
        let (_, compiled) = self.template_in(&mut tx, id).await?;
        tx.commit().await?;
        let mut values = merge_values(&c);
        let base = self.public_url().unwrap_or("").to_string();
        values.insert("unsubscribe_url".into(), format!("{base}/m/u/preview"));
        values.insert("preferences_url".into(), format!("{base}/m/p/preview"));
        values.insert("web_view_url".into(), format!("{base}/m/v/preview"));
        let (subject, text_body, html_body) = compiled.render(&values);
        Ok(Preview { person_id: person, subject, text_body, html_body })
    }
}
