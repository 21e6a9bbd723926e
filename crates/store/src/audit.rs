//! The audit trail: one row per change, written inside the change's own transaction so the
//! log and the data cannot disagree.

use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::{Any, Transaction};

use crate::sql::sql;

async fn write(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    action: &str,
    object: &str,
    record_id: Option<i64>,
    diff: String,
) -> sqlx::Result<()> {
    sql(
        "INSERT INTO audit_log (at, actor_id, request_id, action, object, record_id, diff) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            now_rfc3339().into(),
            actor.user_id.into(),
            actor.request_id.clone().into(),
            action.into(),
            object.into(),
            record_id.into(),
            diff.into(),
        ],
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl crate::Store {
    /// Appends an audit row in the change's transaction; the diff is sealed when encrypting,
    /// since before/after values hold the same personal data as the records.
    pub(crate) async fn audit(
        &self,
        tx: &mut Transaction<'static, Any>,
        actor: &Actor,
        action: &str,
        object: &str,
        record_id: Option<i64>,
        diff: Value,
    ) -> sqlx::Result<()> {
        write(tx, actor, action, object, record_id, self.seal(&diff.to_string())).await
    }
}

/// `{field: [before, after]}` for every top-level field that differs.
pub(crate) fn diff<T: Serialize>(before: &T, after: &T) -> Value {
    let (Ok(Value::Object(b)), Ok(Value::Object(a))) = (serde_json::to_value(before), serde_json::to_value(after)) else {
        return Value::Null;
    };
    let mut out = Map::new();
    for (k, av) in &a {
        let bv = b.get(k).unwrap_or(&Value::Null);
        if bv != av {
            out.insert(k.clone(), json!([bv, av]));
        }
    }
    Value::Object(out)
}

/// One audit row as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Identifier; entries are only ever appended.
    pub id: i64,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Who (`null` for the system or an anonymous sign-in attempt).
    pub actor_id: Option<i64>,
    /// The HTTP request it came from.
    pub request_id: Option<String>,
    /// `create`, `update`, `delete`, `login`, `login_failed`, `role_change`, `export`…
    pub action: String,
    /// `customer`, `company`, `user`, `team`, `role`, `token`…
    pub object: String,
    /// The record, when there is one.
    pub record_id: Option<i64>,
    /// Before/after values of what changed.
    #[schema(value_type = Object)]
    pub diff: Value,
}

/// Filters of the audit log; newest first, paged by `before_id`.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this user's actions.
    pub actor_id: Option<i64>,
    /// Only this object kind.
    pub object: Option<String>,
    /// Only this record (with `object`).
    pub record_id: Option<i64>,
    /// Only this action.
    pub action: Option<String>,
    /// At or after this time (RFC 3339).
    pub since: Option<String>,
    /// Before this time.
    pub until: Option<String>,
    /// Entries older than this id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl crate::Store {
    /// Reads the audit log (admins only). There is deliberately no way to change or delete
    /// an entry through the store.
    pub async fn list_audit(&self, actor: &Actor, q: &AuditQuery) -> crate::Result<Vec<AuditEntry>> {
        use rapport_domain::permissions::{Action, Object, require};
        require(actor, Object::AuditLog, Action::Read)?;
        let mut s = crate::sql::Sql::new("SELECT id, at, actor_id, request_id, action, object, record_id, diff FROM audit_log WHERE 1 = 1");
        if let Some(v) = q.actor_id {
            s.push(" AND actor_id = ").arg(v);
        }
        if let Some(v) = &q.object {
            s.push(" AND object = ").arg(v.clone());
        }
        if let Some(v) = q.record_id {
            s.push(" AND record_id = ").arg(v);
        }
        if let Some(v) = &q.action {
            s.push(" AND action = ").arg(v.clone());
        }
        for (op, t) in [(">=", &q.since), ("<", &q.until)] {
            if let Some(t) = t {
                let t = rapport_domain::query::parse_time(t)
                    .map_err(|m| rapport_domain::ValidationErrors::single(if op == ">=" { "since" } else { "until" }, m))?;
                s.push(&format!(" AND at {op} ")).arg(t);
            }
        }
        if let Some(v) = q.before_id {
            s.push(" AND id < ").arg(v);
        }
        s.push(" ORDER BY id DESC LIMIT ").arg(q.limit.unwrap_or(100).clamp(1, 500));
        self.read(&s, |r| {
            Ok(AuditEntry {
                id: r.get("id")?,
                at: r.get("at")?,
                actor_id: r.get("actor_id")?,
                request_id: r.get("request_id")?,
                action: r.get("action")?,
                object: r.get("object")?,
                record_id: r.get("record_id")?,
                diff: serde_json::from_str(&self.open(r.get::<String>("diff")?)?).unwrap_or(Value::Null),
            })
        })
        .await
    }
}

impl crate::Store {
    /// Re-seals audit diffs not yet under the active key.
    pub(crate) async fn reseal_audit(&self) -> crate::Result<usize> {
        use sqlx::Row;
        let (mut last, mut n) = (0i64, 0usize);
        loop {
            let rows = crate::sql::sql(
                "SELECT id, diff FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",
                [last.into(), crate::sealed::BATCH.into()],
            )
            .fetch_all(&self.pool)
            .await?;
            let Some(l) = rows.last() else { return Ok(n) };
            last = l.try_get("id")?;
            for r in &rows {
                let diff: String = r.try_get("diff")?;
                if self.is_current(&Some(diff.clone())) {
                    continue;
                }
                let plain = self.open(diff.clone())?;
                n += crate::sql::sql(
                    "UPDATE audit_log SET diff = ? WHERE id = ? AND diff = ?",
                    [self.seal(&plain).into(), r.try_get::<i64, _>("id")?.into(), diff.into()],
                )
                .execute(&self.pool)
                .await? as usize;
            }
        }
    }
}
