//! The transactional outbox: an event is stored in the transaction of the change it reports
//! (so a change and its event commit or vanish together), with one delivery row per
//! subscription that wants it. The sender (`rapport_server::webhooks`) leases due deliveries,
//! posts them and records each attempt here.

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::webhooks::{Attempt, Delivery, events_of};
use rapport_domain::{now_rfc3339, time_in};
use serde_json::{Value, json};

use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx};

/// The subscriptions that want `event_type`: active ones subscribed to it or to everything.
const WANTS: &str = "active = 1 AND (events = '*' OR events LIKE ?)";

fn pattern(event_type: &str) -> String {
    format!("%,{event_type},%")
}

/// Whether any active subscription wants `event_type` (a bulk write asks once per chunk).
pub(crate) async fn wanted(tx: &mut WriteTx, event_type: &str) -> Result<bool> {
    let q = sql(&format!("SELECT id FROM webhook_subscriptions WHERE {WANTS} LIMIT 1"), [pattern(event_type).into()]);
    Ok(tx.fetch_optional(&q, |r| r.get::<i64>("id")).await?.is_some())
}

/// Stores `event_type` about `object` `record_id` with `data` in `tx`, with a delivery for each
/// subscription that wants it; nothing at all when none does (the common case costs one
/// indexed read of a small table).
pub(crate) async fn emit(
    store: &Store,
    tx: &mut WriteTx,
    event_type: &str,
    object: &str,
    record_id: Option<i64>,
    data: &Value,
) -> Result<()> {
    let wanted = sql(&format!("SELECT id FROM webhook_subscriptions WHERE {WANTS} LIMIT 1"), [pattern(event_type).into()]);
    if tx.fetch_optional(&wanted, |r| r.get::<i64>("id")).await?.is_none() {
        return Ok(());
    }
    let now = now_rfc3339();
    let q = sql(
        "INSERT INTO webhook_events (event_type, object, record_id, payload, occurred_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        [event_type.into(), object.into(), record_id.into(), store.seal(&data.to_string()).into(), now.clone().into()],
    );
    let event = tx.fetch_one(&q, |r| r.get::<i64>("id")).await?;
    tx.execute(&sql(
        &format!(
            "INSERT INTO webhook_deliveries (event_id, subscription_id, state, attempts, next_attempt_at, created_at) \
             SELECT ?, id, 'pending', 0, ?, ? FROM webhook_subscriptions WHERE {WANTS}"
        ),
        [event.into(), now.clone().into(), now.into(), pattern(event_type).into()],
    ))
    .await?;
    Ok(())
}

/// Stores the events an audited change is (see [`events_of`]).
pub(crate) async fn emit_audited(
    store: &Store,
    tx: &mut WriteTx,
    object: &str,
    action: &str,
    record_id: Option<i64>,
    diff: &Value,
) -> Result<()> {
    for event_type in events_of(object, action, diff) {
        emit(store, tx, event_type, object, record_id, diff).await?;
    }
    Ok(())
}

/// A delivery leased to a sender, with all it needs to post it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// The delivery.
    pub id: i64,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// The subscription.
    pub subscription_id: i64,
    /// Where to post.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// The body: `{"id", "type", "occurred_at", "object", "record_id", "data"}`, the same
    /// bytes on every attempt.
    pub body: String,
    /// The event id, also sent as a header.
    pub event_id: i64,
    /// The event type, also sent as a header.
    pub event_type: String,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    /// The receiver's HTTP status, when it answered.
    pub status: Option<i64>,
    /// What went wrong (`None` for a 2xx).
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: i64,
}

fn delivery_row(r: &dyn Row) -> Result<Delivery> {
    Ok(Delivery {
        id: r.get("id")?,
        event_id: r.get("event_id")?,
        event_type: r.get("event_type")?,
        subscription_id: r.get("subscription_id")?,
        state: r.get("state")?,
        attempts: r.get("attempts")?,
        next_attempt_at: r.get("next_attempt_at")?,
        last_status: r.get("last_status")?,
        last_error: r.get("last_error")?,
        delivered_at: r.get("delivered_at")?,
        created_at: r.get("created_at")?,
    })
}

const DELIVERY_COLS: &str = "d.id AS id, d.event_id AS event_id, e.event_type AS event_type, d.subscription_id AS subscription_id, \
     d.state AS state, d.attempts AS attempts, d.next_attempt_at AS next_attempt_at, d.last_status AS last_status, \
     d.last_error AS last_error, d.delivered_at AS delivered_at, d.created_at AS created_at";

impl Store {
    /// Leases up to `limit` due deliveries of active subscriptions to sender `owner` for
    /// `lease_secs`, oldest first: each goes to one sender at a time, and one whose sender died
    /// is due again when its lease runs out.
    pub async fn claim_webhook_deliveries(&self, owner: &str, lease_secs: i64, limit: i64) -> Result<Vec<DueDelivery>> {
        let now = now_rfc3339();
        let due = "state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?) \
                   AND subscription_id IN (SELECT id FROM webhook_subscriptions WHERE active = 1)";
        // Most passes find nothing: a read, so that an idle sender does not hold the writer.
        let any = sql(&format!("SELECT id FROM webhook_deliveries WHERE {due} LIMIT 1"), [now.clone().into(), now.clone().into()]);
        if self.read_optional(&any, |r| r.get::<i64>("id")).await?.is_none() {
            return Ok(Vec::new());
        }
        let skip = self.backend.skip_locked();
        let q = sql(
            &format!(
                // The batch is chosen once, in a materialized CTE: as `IN (subquery … LIMIT)`,
                // PostgreSQL may run the subquery again per row and lease more than `limit`.
                "WITH batch AS MATERIALIZED (SELECT id FROM webhook_deliveries WHERE {due} ORDER BY next_attempt_at, id LIMIT ?{skip}) \
                 UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM batch) AND state = 'pending' AND (lease_until IS NULL OR lease_until < ?) RETURNING id"
            ),
            [
                now.clone().into(),
                now.clone().into(),
                limit.into(),
                owner.into(),
                time_in(chrono::Duration::seconds(lease_secs)).into(),
                now.into(),
            ],
        );
        let mut tx = self.write_tx().await?;
        let ids = tx.fetch_all(&q, |r| r.get::<i64>("id")).await?;
        tx.commit().await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(
            "SELECT d.id AS id, d.attempts AS attempts, d.subscription_id AS subscription_id, s.url AS url, s.secret AS secret, \
             e.id AS event_id, e.event_type AS event_type, e.object AS object, e.record_id AS record_id, e.payload AS payload, \
             e.occurred_at AS occurred_at FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
             JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.id IN (",
        );
        for (i, id) in ids.iter().enumerate() {
            q.push(if i == 0 { "" } else { ", " }).arg(*id);
        }
        q.push(") ORDER BY d.id");
        let rows = self
            .read(&q, |r| {
                Ok((
                    r.get::<i64>("id")?,
                    r.get::<i64>("attempts")?,
                    r.get::<i64>("subscription_id")?,
                    r.get::<String>("url")?,
                    r.get::<String>("secret")?,
                    r.get::<i64>("event_id")?,
                    r.get::<String>("event_type")?,
                    r.get::<String>("object")?,
                    r.get::<Option<i64>>("record_id")?,
                    r.get::<String>("payload")?,
                    r.get::<String>("occurred_at")?,
                ))
            })
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, attempts, subscription_id, url, secret, event_id, event_type, object, record_id, payload, occurred_at) in rows {
            let data: Value = serde_json::from_str(&self.open(payload)?).unwrap_or(Value::Null);
            let body = json!({
                "id": event_id,
                "type": &event_type,
                "occurred_at": occurred_at,
                "object": object,
                "record_id": record_id,
                "data": data,
            });
            out.push(DueDelivery {
                id,
                attempts,
                subscription_id,
                url,
                secret: self.open(secret)?,
                body: body.to_string(),
                event_id,
                event_type,
            });
        }
        Ok(out)
    }

    /// Records an attempt of a leased delivery. A 2xx delivers it and ends the subscription's
    /// failure streak; otherwise it is due again after `retry_in` (or fails for good when
    /// `None`), and a subscription whose streak reaches the settings' limit is disabled, audited.
    /// Nothing changes when `owner` no longer holds the lease (another sender took it over).
    pub async fn record_webhook_attempt(
        &self,
        d: &DueDelivery,
        owner: &str,
        outcome: &AttemptOutcome,
        retry_in: Option<std::time::Duration>,
    ) -> Result<()> {
        let settings = self.webhook_settings_now().await?;
        let now = now_rfc3339();
        let error: Option<String> = outcome.error.as_ref().map(|e| e.chars().take(1000).collect());
        let mut tx = self.write_tx().await?;
        let (state, next) = match (&error, retry_in) {
            (None, _) => ("delivered", now.clone()),
            (Some(_), Some(delay)) => ("pending", time_in(chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(6)))),
            (Some(_), None) => ("failed", now.clone()),
        };
        let n = tx
            .execute(&sql(
                "UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, last_status = ?, last_error = ?, \
                 delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, lease_owner = NULL, lease_until = NULL \
                 WHERE id = ? AND lease_owner = ? AND state = 'pending'",
                [
                    state.into(),
                    next.into(),
                    outcome.status.into(),
                    error.clone().into(),
                    state.into(),
                    now.clone().into(),
                    d.id.into(),
                    owner.into(),
                ],
            ))
            .await?;
        if n == 0 {
            return tx.commit().await;
        }
        tx.execute(&sql(
            "INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms) VALUES (?, ?, ?, ?, ?)",
            [d.id.into(), now.clone().into(), outcome.status.into(), error.clone().into(), outcome.duration_ms.into()],
        ))
        .await?;
        if error.is_none() {
            tx.execute(&sql(
                "UPDATE webhook_subscriptions SET failure_streak = 0, last_success_at = ? WHERE id = ?",
                [now.into(), d.subscription_id.into()],
            ))
            .await?;
            return tx.commit().await;
        }
        let streak = tx
            .fetch_one(
                &sql(
                    "UPDATE webhook_subscriptions SET failure_streak = failure_streak + 1 WHERE id = ? RETURNING failure_streak, active",
                    [d.subscription_id.into()],
                ),
                |r| Ok((r.get::<i64>("failure_streak")?, r.get::<i64>("active")? != 0)),
            )
            .await?;
        if streak.1 && streak.0 >= settings.disable_after_failures {
            let reason = format!(
                "disabled after {} failed deliveries in a row (last: {}); fix the receiver, then set active to true",
                streak.0,
                error.unwrap_or_default()
            );
            tx.execute(&sql(
                "UPDATE webhook_subscriptions SET active = 0, disabled_reason = ?, updated_at = ?, version = version + 1 WHERE id = ?",
                [reason.clone().into(), now_rfc3339().into(), d.subscription_id.into()],
            ))
            .await?;
            let diff = json!({"active": [true, false], "disabled_reason": [null, reason]});
            self.audit(&mut tx, &Actor::system(), "disable", "webhook", Some(d.subscription_id), diff).await?;
        }
        tx.commit().await
    }

    /// Deliveries, newest first: of one subscription and/or in one state.
    pub async fn list_webhook_deliveries(
        &self,
        actor: &Actor,
        subscription_id: Option<i64>,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        require(actor, Object::Setting, Action::Update)?;
        let mut q =
            Sql::new(&format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE 1 = 1"));
        if let Some(s) = subscription_id {
            q.push(" AND d.subscription_id = ").arg(s);
        }
        if let Some(s) = state {
            if !["pending", "delivered", "failed"].contains(&s) {
                return Err(rapport_domain::ValidationErrors::single("state", "use one of: pending, delivered, failed").into());
            }
            q.push(" AND d.state = ").arg(s.to_string());
        }
        q.push(" ORDER BY d.id DESC LIMIT ").arg(limit.clamp(1, 500));
        self.read(&q, delivery_row).await
    }

    /// One delivery and its attempts, oldest first.
    pub async fn webhook_delivery(&self, actor: &Actor, id: i64) -> Result<(Delivery, Vec<Attempt>)> {
        require(actor, Object::Setting, Action::Update)?;
        let q = sql(
            &format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE d.id = ?"),
            [id.into()],
        );
        let d = self.read_optional(&q, delivery_row).await?.ok_or(Error::NotFound)?;
        let attempts = self
            .read(&sql("SELECT at, status, error, duration_ms FROM webhook_attempts WHERE delivery_id = ? ORDER BY id", [id.into()]), |r| {
                Ok(Attempt { at: r.get("at")?, status: r.get("status")?, error: r.get("error")?, duration_ms: r.get("duration_ms")? })
            })
            .await?;
        Ok((d, attempts))
    }

    /// Sends a delivery again from its first attempt (same event id, so a receiver that saw it
    /// already ignores it), audited. A delivery being attempted right now is left alone (409).
    pub async fn redeliver_webhook(&self, actor: &Actor, id: i64) -> Result<Delivery> {
        require(actor, Object::Setting, Action::Update)?;
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let q = sql(
            &format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE d.id = ?"),
            [id.into()],
        );
        let before = tx.fetch_optional(&q, delivery_row).await?.ok_or(Error::NotFound)?;
        let n = tx
            .execute(&sql(
                "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL \
                 WHERE id = ? AND (lease_until IS NULL OR lease_until < ?)",
                [now.clone().into(), id.into(), now.into()],
            ))
            .await?;
        if n == 0 {
            let why = "a sender is attempting this delivery right now: redeliver it once the attempt is recorded";
            return Err(rapport_domain::sales::Refused::new("webhook_delivery", "redeliver", "sending", vec![], why).into());
        }
        let after = tx.fetch_one(&q, delivery_row).await?;
        self.audit(&mut tx, actor, "redeliver", "webhook_delivery", Some(id), crate::audit::diff(&before, &after)).await?;
        tx.commit().await?;
        Ok(after)
    }
}
