//! Marketing campaigns. They are shared marketing data: every role that may read campaigns sees
//! all of them; marketers and admins change them.

use crate::row::Row;
use rapport_domain::ValidationErrors;
use rapport_domain::campaign::Campaign;
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use serde_json::json;

use crate::records::{check_owner, check_version};
use crate::sql::sql;
use crate::{Error, Result, Store};

const COLS: &str = "id, name, channel, budget_minor, currency, starts_on, ends_on, owner_id, created_at, updated_at, version";

fn from_row(r: &dyn Row) -> Result<Campaign> {
    Ok(Campaign {
        id: r.get("id")?,
        name: r.get("name")?,
        channel: r.get("channel")?,
        budget_minor: r.get("budget_minor")?,
        currency: r.get("currency")?,
        starts_on: r.get("starts_on")?,
        ends_on: r.get("ends_on")?,
        owner_id: r.get("owner_id")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        version: r.get("version")?,
    })
}

impl Store {
    /// Every live campaign, by start date.
    pub async fn list_campaigns(&self, actor: &Actor) -> Result<Vec<Campaign>> {
        require(actor, Object::Campaign, Action::Read)?;
        self.read(&sql(&format!("SELECT {COLS} FROM campaigns WHERE deleted_at IS NULL ORDER BY starts_on, id"), []), from_row).await
    }

    /// Creates a campaign (marketers and admins; audited).
    pub async fn create_campaign(&self, actor: &Actor, c: Campaign) -> Result<Campaign> {
        require(actor, Object::Campaign, Action::Create)?;
        let c = c.validated()?;
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        check_owner(&mut tx, c.owner_id).await?;
        let created = tx.fetch_one(&sql(
            &format!("INSERT INTO campaigns (name, channel, budget_minor, currency, starts_on, ends_on, owner_id, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING {COLS}"),
            [c.name.into(), c.channel.into(), c.budget_minor.into(), c.currency.into(), c.starts_on.into(), c.ends_on.into(), c.owner_id.into(), now.clone().into(), now.into()],
        ), from_row)
        .await?;
        self.audit(&mut tx, actor, "create", "campaign", Some(created.id), json!({"after": &created})).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Replaces a campaign's fields (with `If-Match`, a stale version is refused).
    pub async fn update_campaign(&self, actor: &Actor, id: i64, if_match: Option<i64>, c: Campaign) -> Result<Campaign> {
        require(actor, Object::Campaign, Action::Update)?;
        let c = c.validated()?;
        let mut tx = self.write_tx().await?;
        let q = sql(&format!("SELECT {COLS} FROM campaigns WHERE id = ? AND deleted_at IS NULL"), [id.into()]);
        let before = tx.fetch_optional(&q, from_row).await?.ok_or(Error::NotFound)?;
        check_version(if_match, before.version)?;
        check_owner(&mut tx, c.owner_id).await?;
        let after = tx.fetch_optional(&sql(
            &format!(
                "UPDATE campaigns SET name = ?, channel = ?, budget_minor = ?, currency = ?, starts_on = ?, ends_on = ?, owner_id = ?, updated_at = ?, version = version + 1 \
                 WHERE id = ? AND version = ? RETURNING {COLS}"
            ),
            [c.name.into(), c.channel.into(), c.budget_minor.into(), c.currency.into(), c.starts_on.into(), c.ends_on.into(), c.owner_id.into(), now_rfc3339().into(), id.into(), before.version.into()],
        ), from_row)
        .await?
        .ok_or(Error::VersionMismatch { current: before.version + 1 })?;
        self.audit(&mut tx, actor, "update", "campaign", Some(id), crate::audit::diff(&before, &after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a campaign (soft; audited); with `if_match`, a campaign changed since that
    /// version is kept.
    pub async fn delete_campaign(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        require(actor, Object::Campaign, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let q = sql("SELECT version FROM campaigns WHERE id = ? AND deleted_at IS NULL", [id.into()]);
        let current: i64 = tx.fetch_optional(&q, |r| r.get("version")).await?.ok_or(Error::NotFound)?;
        check_version(if_match, current)?;
        let now = now_rfc3339();
        tx.execute(&sql(
            "UPDATE campaigns SET deleted_at = ?, updated_at = ?, version = version + 1 WHERE id = ? AND deleted_at IS NULL",
            [now.clone().into(), now.into(), id.into()],
        ))
        .await?;
        self.audit(&mut tx, actor, "delete", "campaign", Some(id), json!({})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds many campaigns at once (demo data).
    pub async fn create_campaigns_batch(&self, actor: &Actor, list: Vec<Campaign>) -> Result<()> {
        for c in list {
            self.create_campaign(actor, c).await.map_err(|e| match e {
                Error::Invalid(v) => Error::Invalid(ValidationErrors::single("campaigns", v.to_string())),
                other => other,
            })?;
        }
        Ok(())
    }
}
