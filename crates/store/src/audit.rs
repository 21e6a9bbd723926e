//! The audit trail: one row per change, written inside the change's own transaction so the
//! log and the data cannot disagree.

use rapport_domain::audit::{AuditEntry, AuditFilter};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::sql::sql;
use crate::{Result, WriteTx};

pub(crate) async fn write(tx: &mut WriteTx, actor: &Actor, action: &str, object: &str, record_id: Option<i64>, diff: String) -> Result<()> {
    tx.execute(&sql(
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
    ))
    .await?;
    Ok(())
}

impl crate::Store {
    /// Appends an audit row in the change's transaction; the diff is sealed when encrypting,
    /// since before/after values hold the same personal data as the records. The webhook
    /// events the change is go into the outbox in the same transaction.
    pub(crate) async fn audit(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        action: &str,
        object: &str,
        record_id: Option<i64>,
        diff: Value,
    ) -> Result<()> {
        crate::webhooks::outbox::emit_audited(self, tx, object, action, record_id, &diff).await?;
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

impl crate::Store {
    /// Reads the audit log (admins only). There is deliberately no way to change or delete
    /// an entry through the store.
    pub async fn list_audit(&self, actor: &Actor, q: &AuditFilter) -> crate::Result<Vec<AuditEntry>> {
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
