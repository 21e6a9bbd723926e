//! The audit trail: one row per change, written inside the change's own transaction so the
//! log and the data cannot disagree.

use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::{Any, Transaction};

use crate::sql::sql;

/// Appends an audit row for `action` on `object`/`record_id` with `diff`.
pub(crate) async fn record(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    action: &str,
    object: &str,
    record_id: Option<i64>,
    diff: Value,
) -> sqlx::Result<()> {
    sql(
        "INSERT INTO audit_log (at, actor_id, request_id, action, object, record_id, diff) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [now_rfc3339().into(), actor.user_id.into(), actor.request_id.clone().into(), action.into(), object.into(), record_id.into(), diff.to_string().into()],
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `{field: [before, after]}` for every top-level field that differs.
pub(crate) fn diff<T: Serialize>(before: &T, after: &T) -> Value {
    let (Ok(Value::Object(b)), Ok(Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
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
