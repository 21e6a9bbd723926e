//! Webhook subscriptions and the sender's settings, kept by admins (whoever may change
//! settings). The outbox that turns changes into deliveries is in [`outbox`].

pub(crate) mod outbox;

use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::webhooks::{Subscription, SubscriptionData, SubscriptionInput, WebhookSettings, events_column, events_from_column};
use serde_json::json;

use crate::records::check_version;
use crate::row::Row;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx, audit};

const COLS: &str =
    "id, url, description, events, active, failure_streak, disabled_reason, last_success_at, created_at, updated_at, version";

fn subscription_row(r: &dyn Row) -> Result<Subscription> {
    Ok(Subscription {
        id: r.get("id")?,
        url: r.get("url")?,
        description: r.get("description")?,
        events: events_from_column(&r.get::<String>("events")?),
        active: r.get::<i64>("active")? != 0,
        failure_streak: r.get("failure_streak")?,
        disabled_reason: r.get("disabled_reason")?,
        last_success_at: r.get("last_success_at")?,
        secret: None,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        version: r.get("version")?,
    })
}

fn manage(actor: &Actor) -> Result<()> {
    require(actor, Object::Setting, Action::Update)?;
    Ok(())
}

/// A new signing secret: 32 random bytes, shown to the admin once.
fn new_secret() -> String {
    format!("whsec_{}", crate::crypto::hex(&rand::random::<[u8; 32]>()))
}

async fn subscription_in(tx: &mut WriteTx, id: i64) -> Result<Subscription> {
    let q = sql(&format!("SELECT {COLS} FROM webhook_subscriptions WHERE id = ?"), [id.into()]);
    tx.fetch_optional(&q, subscription_row).await?.ok_or(Error::NotFound)
}

fn data_of(s: &Subscription) -> SubscriptionData {
    SubscriptionData { url: s.url.clone(), description: s.description.clone(), events: s.events.clone(), active: s.active }
}

impl Store {
    /// Every subscription, oldest first.
    pub async fn list_webhooks(&self, actor: &Actor) -> Result<Vec<Subscription>> {
        manage(actor)?;
        self.read(&sql(&format!("SELECT {COLS} FROM webhook_subscriptions ORDER BY id"), []), subscription_row).await
    }

    /// One subscription.
    pub async fn get_webhook(&self, actor: &Actor, id: i64) -> Result<Subscription> {
        manage(actor)?;
        let q = sql(&format!("SELECT {COLS} FROM webhook_subscriptions WHERE id = ?"), [id.into()]);
        self.read_optional(&q, subscription_row).await?.ok_or(Error::NotFound)
    }

    /// Creates a subscription with a new signing secret, returned this once; audited (without
    /// the secret).
    pub async fn create_webhook(&self, actor: &Actor, input: SubscriptionInput) -> Result<Subscription> {
        manage(actor)?;
        let d = input.apply(None)?;
        let secret = new_secret();
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let q = sql(
            "INSERT INTO webhook_subscriptions (url, description, events, secret, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                d.url.into(),
                d.description.into(),
                events_column(&d.events).into(),
                self.seal(&secret).into(),
                i64::from(d.active).into(),
                now.clone().into(),
                now.into(),
            ],
        );
        let id = tx.fetch_one(&q, |r| r.get::<i64>("id")).await?;
        let saved = subscription_in(&mut tx, id).await?;
        self.audit(&mut tx, actor, "create", "webhook", Some(id), json!({"after": &saved})).await?;
        tx.commit().await?;
        Ok(Subscription { secret: Some(secret), ..saved })
    }

    /// Changes a subscription (only the fields sent), audited. Turning it back on starts its
    /// failure streak again.
    pub async fn update_webhook(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: SubscriptionInput) -> Result<Subscription> {
        manage(actor)?;
        let mut tx = self.write_tx().await?;
        let before = subscription_in(&mut tx, id).await?;
        check_version(if_match, before.version)?;
        let d = input.apply(Some(&data_of(&before)))?;
        let reenabled = d.active && !before.active;
        tx.execute(&sql(
            "UPDATE webhook_subscriptions SET url = ?, description = ?, events = ?, active = ?, \
             failure_streak = CASE WHEN ? = 1 THEN 0 ELSE failure_streak END, \
             disabled_reason = CASE WHEN ? = 1 THEN NULL ELSE disabled_reason END, updated_at = ?, version = version + 1 WHERE id = ?",
            [
                d.url.into(),
                d.description.into(),
                events_column(&d.events).into(),
                i64::from(d.active).into(),
                i64::from(reenabled).into(),
                i64::from(reenabled).into(),
                now_rfc3339().into(),
                id.into(),
            ],
        ))
        .await?;
        let after = subscription_in(&mut tx, id).await?;
        self.audit(&mut tx, actor, "update", "webhook", Some(id), audit::diff(&before, &after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a subscription and its deliveries (and their log), audited.
    pub async fn delete_webhook(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        manage(actor)?;
        let mut tx = self.write_tx().await?;
        let before = subscription_in(&mut tx, id).await?;
        check_version(if_match, before.version)?;
        tx.execute(&sql(
            "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE subscription_id = ?)",
            [id.into()],
        ))
        .await?;
        tx.execute(&sql("DELETE FROM webhook_deliveries WHERE subscription_id = ?", [id.into()])).await?;
        tx.execute(&sql("DELETE FROM webhook_subscriptions WHERE id = ?", [id.into()])).await?;
        self.audit(&mut tx, actor, "delete", "webhook", Some(id), json!({"before": before})).await?;
        tx.commit().await
    }

    /// The sender's settings (defaults until an admin saves them).
    pub async fn webhook_settings(&self, actor: &Actor) -> Result<WebhookSettings> {
        manage(actor)?;
        self.webhook_settings_now().await
    }

    /// The settings as the sender reads them (no actor: the server itself).
    pub async fn webhook_sender_settings(&self) -> Result<WebhookSettings> {
        self.webhook_settings_now().await
    }

    pub(crate) async fn webhook_settings_now(&self) -> Result<WebhookSettings> {
        let q = sql("SELECT allow_private_targets, disable_after_failures FROM webhook_settings WHERE id = 1", []);
        let saved = self
            .read_optional(&q, |r| {
                Ok(WebhookSettings {
                    allow_private_targets: r.get::<i64>("allow_private_targets")? != 0,
                    disable_after_failures: r.get("disable_after_failures")?,
                })
            })
            .await?;
        Ok(saved.unwrap_or_default())
    }

    /// Saves the sender's settings, audited.
    pub async fn save_webhook_settings(&self, actor: &Actor, settings: WebhookSettings) -> Result<WebhookSettings> {
        manage(actor)?;
        let s = settings.validated()?;
        let before = self.webhook_settings_now().await?;
        let mut tx = self.write_tx().await?;
        tx.execute(&sql(
            "INSERT INTO webhook_settings (id, allow_private_targets, disable_after_failures, updated_at) VALUES (1, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET allow_private_targets = excluded.allow_private_targets, \
             disable_after_failures = excluded.disable_after_failures, updated_at = excluded.updated_at",
            [i64::from(s.allow_private_targets).into(), s.disable_after_failures.into(), now_rfc3339().into()],
        ))
        .await?;
        self.audit(&mut tx, actor, "update", "webhook_settings", None, audit::diff(&before, &s)).await?;
        tx.commit().await?;
        Ok(s)
    }
}
