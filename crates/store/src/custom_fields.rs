//! Custom field definitions.

use rapport_domain::custom_field::{CustomField, FieldObject, FieldType, NewCustomField};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::records::string_list;
use crate::sql::sql;
use crate::{Backend, Error, Result, Store, unique_violation};

const COLS: &str = "id, object, key, label, field_type, options, created_at, updated_at, version";

fn from_row(r: &AnyRow) -> sqlx::Result<CustomField> {
    Ok(CustomField {
        id: r.try_get("id")?,
        object: FieldObject::parse(&r.try_get::<String, _>("object")?).unwrap_or(FieldObject::Customer),
        key: r.try_get("key")?,
        label: r.try_get("label")?,
        field_type: FieldType::parse(&r.try_get::<String, _>("field_type")?).unwrap_or(FieldType::Text),
        options: string_list(r, "options")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

impl Store {
    /// Definitions, of one object or all.
    pub async fn list_custom_fields(&self, actor: &Actor, object: Option<FieldObject>) -> Result<Vec<CustomField>> {
        require(actor, Object::CustomField, Action::Read)?;
        let rows = match object {
            Some(o) => {
                sql(&format!("SELECT {COLS} FROM custom_fields WHERE object = ? ORDER BY id"), [o.as_str().into()])
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sql(&format!("SELECT {COLS} FROM custom_fields ORDER BY id"), []).fetch_all(&self.pool).await?,
        };
        Ok(rows.iter().map(from_row).collect::<sqlx::Result<_>>()?)
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
        let row = sql(
            &format!("INSERT INTO custom_fields (object, key, label, field_type, options, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, 1) RETURNING {COLS}"),
            [
                f.object.as_str().into(),
                f.key.clone().into(),
                f.label.into(),
                f.field_type.as_str().into(),
                serde_json::to_string(&f.options).unwrap_or_default().into(),
                now.clone().into(),
                now.into(),
            ],
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, &[("custom_fields_key", "custom_fields.object", "key", "this object already has a custom field with this key")]))?;
        let field = from_row(&row)?;
        self.audit(&mut tx, actor, "create", "custom_field", Some(field.id), json!({"after": &field})).await?;
        tx.commit().await?;
        Ok(field)
    }

    /// Removes a definition and its values from every record of the object.
    pub async fn delete_custom_field(&self, actor: &Actor, id: i64) -> Result<()> {
        require(actor, Object::CustomField, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let row = sql(&format!("SELECT {COLS} FROM custom_fields WHERE id = ?"), [id.into()])
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound)?;
        let field = from_row(&row)?;
        let table = match field.object {
            FieldObject::Customer => "customers",
            FieldObject::Company => "companies",
        };
        let key = &field.key; // validated: [a-z0-9_]
        let strip = match self.backend {
            Backend::Sqlite => {
                format!("UPDATE {table} SET custom = json_remove(custom, '$.{key}') WHERE json_extract(custom, '$.{key}') IS NOT NULL")
            }
            Backend::Postgres => {
                format!("UPDATE {table} SET custom = ((custom::jsonb) - '{key}')::text WHERE (custom::jsonb) ->> '{key}' IS NOT NULL")
            }
        };
        sql(&strip, []).execute(&mut *tx).await?;
        sql("DELETE FROM custom_fields WHERE id = ?", [id.into()]).execute(&mut *tx).await?;
        self.audit(&mut tx, actor, "delete", "custom_field", Some(id), json!({"before": &field})).await?;
        tx.commit().await?;
        Ok(())
    }
}
