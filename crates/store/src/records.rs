//! Pieces every record table shares: reference checks, tag rows, JSON columns.

use rapport_domain::{ValidationErrors, now_rfc3339};
use serde_json::{Map, Value};
use sqlx::{Any, Row as _, Transaction};

use rapport_domain::permissions::{Actor, Visibility};

use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Error, Result, unique_violation};

/// Refuses an owner id that is not an active user, naming the field.
pub(crate) async fn check_owner(tx: &mut Transaction<'static, Any>, owner_id: Option<i64>) -> Result<()> {
    if let Some(id) = owner_id {
        if sql("SELECT id FROM users WHERE id = ? AND is_active = 1", [id.into()]).fetch_optional(&mut **tx).await?.is_none() {
            return Err(Error::Invalid(ValidationErrors::single("owner_id", format!("there is no active user with id {id}"))));
        }
    }
    Ok(())
}

/// The live company's name, or a field error naming `company_id`.
pub(crate) async fn company_name(tx: &mut Transaction<'static, Any>, company_id: Option<i64>) -> Result<Option<String>> {
    let Some(id) = company_id else {
        return Ok(None);
    };
    match sql("SELECT name FROM companies WHERE id = ? AND deleted_at IS NULL", [id.into()]).fetch_optional(&mut **tx).await? {
        Some(r) => Ok(Some(r.try_get("name")?)),
        None => Err(Error::Invalid(ValidationErrors::single("company_id", format!("there is no company with id {id}")))),
    }
}

/// Replaces a record's rows in its tag table.
pub(crate) async fn replace_tags(tx: &mut Transaction<'static, Any>, table: &str, fk: &str, id: i64, tags: &[String]) -> Result<()> {
    sql(&format!("DELETE FROM {table} WHERE {fk} = ?"), [id.into()]).execute(&mut **tx).await?;
    for t in tags {
        sql(&format!("INSERT INTO {table} (tag, {fk}) VALUES (?, ?)"), [t.clone().into(), id.into()]).execute(&mut **tx).await?;
    }
    Ok(())
}

/// A JSON array of strings stored as text.
pub(crate) fn string_list(row: &dyn Row, col: &str) -> Result<Vec<String>> {
    let s: String = row.get(col)?;
    Ok(serde_json::from_str(&s).unwrap_or_default())
}

/// A JSON object stored as text.
pub(crate) fn json_object(row: &dyn Row, col: &str) -> Result<Map<String, Value>> {
    let s: String = row.get(col)?;
    Ok(serde_json::from_str(&s).unwrap_or_default())
}

/// Ends `q`, an `UPDATE <table> SET …` of record `id` as read at `version`, with the bookkeeping
/// every edit makes, and runs it: refused as a version mismatch when someone saved in between.
/// `unique` names the table's unique indexes for [`unique_violation`].
pub(crate) async fn save_versioned(
    tx: &mut Transaction<'static, Any>,
    mut q: Sql,
    id: i64,
    version: i64,
    unique: &[(&str, &str, &str, &str)],
) -> Result<()> {
    q.push(", updated_at = ").arg(now_rfc3339()).push(", version = version + 1 WHERE id = ").arg(id).push(" AND version = ").arg(version);
    if q.execute(&mut **tx).await.map_err(|e| unique_violation(e, unique))? == 0 {
        return Err(Error::VersionMismatch { current: version + 1 });
    }
    Ok(())
}

/// Marks record `id` of `table` deleted: it leaves reads and lists but stays as a tombstone that
/// `updated_since` sync reports.
pub(crate) async fn soft_delete(tx: &mut Transaction<'static, Any>, table: &str, id: i64) -> Result<()> {
    let now = now_rfc3339();
    sql(
        &format!("UPDATE {table} SET deleted_at = ?, updated_at = ?, version = version + 1 WHERE id = ?"),
        [now.clone().into(), now.into(), id.into()],
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Checks `If-Match` against the stored version.
pub(crate) fn check_version(if_match: Option<i64>, current: i64) -> Result<()> {
    match if_match {
        Some(v) if v != current => Err(Error::VersionMismatch { current }),
        _ => Ok(()),
    }
}

/// Appends the actor's record-visibility rule for the table aliased `a` (which has
/// `owner_id`). Unowned records are visible to everyone who may read the object.
pub(crate) fn visible(q: &mut Sql, actor: &Actor, a: &str) {
    let Some(me) = actor.user_id else { return };
    let shared = match actor.visibility() {
        Visibility::All => return,
        Visibility::Team => "",
        Visibility::Own => " AND t.visibility = 'team'",
    };
    q.push(&format!(" AND ({a}.owner_id IS NULL OR {a}.owner_id = ")).arg(me);
    q.push(&format!(
        " OR {a}.owner_id IN (SELECT m2.user_id FROM team_members m1 JOIN team_members m2 ON m2.team_id = m1.team_id \
         JOIN teams t ON t.id = m1.team_id WHERE m1.user_id = "
    ))
    .arg(me)
    .push(shared)
    .push("))");
}
