//! Custom field definitions.

use rapport_domain::custom_field::{CustomField, FieldObject, FieldType, NewCustomField};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use serde_json::json;

use crate::records::{check_version, string_list};
use crate::row::Row;
use crate::sql::sql;
use crate::{Backend, Error, Result, Store, unique_violation};

type Tx = crate::WriteTx;

const COLS: &str = "id, object, key, label, field_type, options, sensitive, created_at, updated_at, version";

fn from_row(r: &dyn Row) -> Result<CustomField> {
    Ok(CustomField {
        id: r.get("id")?,
        object: FieldObject::parse(&r.get::<String>("object")?).unwrap_or(FieldObject::Customer),
        key: r.get("key")?,
        label: r.get("label")?,
        field_type: FieldType::parse(&r.get::<String>("field_type")?).unwrap_or(FieldType::Text),
        options: string_list(r, "options")?,
        sensitive: r.get::<i64>("sensitive")? == 1,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        version: r.get("version")?,
    })
}

impl Store {
    /// Definitions, of one object or all. They are the schema of records, not data: besides
    /// `custom_field:read`, reading the object they belong to is enough to see them (a role that
    /// may list and edit people must know their fields). Without either, 403.
    pub async fn list_custom_fields(&self, actor: &Actor, object: Option<FieldObject>) -> Result<Vec<CustomField>> {
        let readable =
            |o: FieldObject| actor.perms.allows(Object::CustomField, Action::Read) || actor.perms.allows(record_object(o), Action::Read);
        let objects: Vec<FieldObject> = match object {
            Some(o) => vec![o],
            None => [FieldObject::Customer, FieldObject::Company].into_iter().filter(|o| readable(*o)).collect(),
        };
        if objects.is_empty() || !objects.iter().all(|o| readable(*o)) {
            // Name the grant that would have allowed it.
            require(actor, Object::CustomField, Action::Read)?;
        }
        let mut q = crate::sql::Sql::new(&format!("SELECT {COLS} FROM custom_fields WHERE object IN ("));
        for (i, o) in objects.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.arg(o.as_str());
        }
        q.push(") ORDER BY id");
        self.read(&q, from_row).await
    }

    /// Defines a field (admins only); a key used twice on one object is a conflict.
    pub async fn create_custom_field<F>(&self, actor: &Actor, build: F) -> Result<CustomField>
    where
        F: FnOnce() -> Result<NewCustomField, rapport_domain::ValidationErrors>,
    {
        require(actor, Object::CustomField, Action::Create)?;
        let f = build()?;
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let field = tx.fetch_one(&sql(
            &format!("INSERT INTO custom_fields (object, key, label, field_type, options, sensitive, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING {COLS}"),
            [
                f.object.as_str().into(),
                f.key.clone().into(),
                f.label.into(),
                f.field_type.as_str().into(),
                serde_json::to_string(&f.options).unwrap_or_default().into(),
                (f.sensitive as i64).into(),
                now.clone().into(),
                now.into(),
            ],
        ), from_row)
        .await
        .map_err(|e| unique_violation(e, &[("custom_fields_key", "custom_fields.object", "key", "this object already has a custom field with this key")]))?;
        self.audit(&mut tx, actor, "create", "custom_field", Some(field.id), json!({"after": &field})).await?;
        tx.commit().await?;
        Ok(field)
    }

    /// Removes a definition and its values from every record of the object; with `if_match`,
    /// only if the definition is still at that version.
    pub async fn delete_custom_field(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        require(actor, Object::CustomField, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let q = sql(&format!("SELECT {COLS} FROM custom_fields WHERE id = ?"), [id.into()]);
        let field = tx.fetch_optional(&q, from_row).await?.ok_or(Error::NotFound)?;
        check_version(if_match, field.version)?;
        let table = table_of(field.object);
        let key = &field.key; // validated: [a-z0-9_]
        let strip = match self.backend {
            Backend::Sqlite => {
                format!("UPDATE {table} SET custom = json_remove(custom, '$.{key}') WHERE json_extract(custom, '$.{key}') IS NOT NULL")
            }
            Backend::Postgres => {
                format!("UPDATE {table} SET custom = ((custom::jsonb) - '{key}')::text WHERE (custom::jsonb) ->> '{key}' IS NOT NULL")
            }
        };
        tx.execute(&sql(&strip, [])).await?;
        if field.sensitive {
            // Sealed values are dropped by the rewrite, which keeps only defined fields.
            mark_sealed_rows(&mut tx, table).await?;
        }
        tx.execute(&sql("DELETE FROM custom_fields WHERE id = ?", [id.into()])).await?;
        self.audit(&mut tx, actor, "delete", "custom_field", Some(id), json!({"before": &field})).await?;
        tx.commit().await?;
        self.rewrite_pending().await?;
        Ok(())
    }

    /// Changes a field's label or sensitivity (admins only; audited). Type and key stay: values
    /// already stored depend on them. With `if_match`, a definition changed since that version
    /// is refused.
    pub async fn update_custom_field(
        &self,
        actor: &Actor,
        id: i64,
        if_match: Option<i64>,
        label: Option<String>,
        sensitive: Option<bool>,
    ) -> Result<CustomField> {
        require(actor, Object::CustomField, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let q = sql(&format!("SELECT {COLS} FROM custom_fields WHERE id = ?"), [id.into()]);
        let before = tx.fetch_optional(&q, from_row).await?.ok_or(Error::NotFound)?;
        check_version(if_match, before.version)?;
        let label = label.map(|l| l.trim().to_string()).unwrap_or(before.label.clone());
        if label.is_empty() || label.chars().count() > 100 {
            return Err(Error::Invalid(rapport_domain::ValidationErrors::single("label", "must have 1 to 100 characters")));
        }
        let sensitive = sensitive.unwrap_or(before.sensitive);
        tx.execute(&sql(
            "UPDATE custom_fields SET label = ?, sensitive = ?, updated_at = ?, version = version + 1 WHERE id = ?",
            [label.into(), (sensitive as i64).into(), now_rfc3339().into(), id.into()],
        ))
        .await?;
        let after = tx.fetch_one(&sql(&format!("SELECT {COLS} FROM custom_fields WHERE id = ?"), [id.into()]), from_row).await?;
        if after.sensitive != before.sensitive {
            // The values move between the filterable and the sealed column.
            let table = table_of(after.object);
            let key = &after.key; // validated: [a-z0-9_]
            let has_key = match self.backend {
                Backend::Sqlite => format!("json_extract(custom, '$.{key}') IS NOT NULL"),
                Backend::Postgres => format!("(custom::jsonb) ->> '{key}' IS NOT NULL"),
            };
            tx.execute(&sql(&format!("UPDATE {table} SET private_text = NULL WHERE custom_sealed IS NOT NULL OR {has_key}"), [])).await?;
        }
        self.audit(&mut tx, actor, "update", "custom_field", Some(id), crate::audit::diff(&before, &after)).await?;
        tx.commit().await?;
        if after.sensitive != before.sensitive {
            self.rewrite_pending().await?;
        }
        Ok(after)
    }

    /// The keys of the object's fields, and which of them are sensitive (sealed at rest).
    pub(crate) async fn custom_keys(&self, object: FieldObject) -> Result<(Vec<String>, Vec<String>)> {
        let q = sql("SELECT key, sensitive FROM custom_fields WHERE object = ?", [object.as_str().into()]);
        let rows = self.read(&q, |r| Ok((r.get::<String>("key")?, r.get::<i64>("sensitive")? == 1))).await?;
        let sensitive = rows.iter().filter(|(_, s)| *s).map(|(k, _)| k.clone()).collect();
        Ok((rows.into_iter().map(|(k, _)| k).collect(), sensitive))
    }

    /// Keys of the object's custom fields marked sensitive (masked without `pii`); `tx` is the
    /// write transaction open meanwhile, if any (see [`Store::read_in`]).
    pub(crate) async fn sensitive_keys(&self, tx: Option<&mut Tx>, object: FieldObject) -> Result<Vec<String>> {
        let q = sql("SELECT key FROM custom_fields WHERE object = ? AND sensitive = 1", [object.as_str().into()]);
        self.read_in(tx, &q, |r| r.get("key")).await
    }

    /// The keys to mask for `actor` on `object`: none when they see personal data.
    pub(crate) async fn masked_keys(&self, tx: Option<&mut Tx>, actor: &Actor, object: FieldObject) -> Result<Vec<String>> {
        if actor.sees_pii(record_object(object)) { Ok(vec![]) } else { self.sensitive_keys(tx, object).await }
    }
}

/// The permission object of the records a field belongs to.
fn record_object(object: FieldObject) -> Object {
    match object {
        FieldObject::Customer => Object::Customer,
        FieldObject::Company => Object::Company,
    }
}

fn table_of(object: FieldObject) -> &'static str {
    match object {
        FieldObject::Customer => "customers",
        FieldObject::Company => "companies",
    }
}

/// Marks every record of `table` holding sealed custom values for rewriting.
async fn mark_sealed_rows(tx: &mut Tx, table: &str) -> Result<()> {
    tx.execute(&sql(&format!("UPDATE {table} SET private_text = NULL WHERE custom_sealed IS NOT NULL"), [])).await?;
    Ok(())
}

/// Masks the listed custom values.
pub(crate) fn mask_custom(custom: &mut serde_json::Map<String, serde_json::Value>, keys: &[String]) {
    for k in keys {
        if let Some(v) = custom.get_mut(k) {
            *v = serde_json::Value::String(rapport_domain::permissions::mask(""));
        }
    }
}
