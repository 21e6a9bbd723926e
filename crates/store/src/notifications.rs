//! Notifications: [`notify`] is what other modules call, inside the transaction of the change
//! that causes them (an SLA breach, a mention), so a notification exists exactly when its cause
//! does; each user reads and marks only their own.

use rapport_domain::notification::{NewNotification, Notification};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use serde_json::json;

use crate::bulk::inserts;
use crate::row::Row;
use crate::sql::{Arg, Sql, sql};
use crate::{Error, Result, Store, WriteTx};

/// The most a list returns.
pub const MAX_LIST: i64 = 200;

fn from_row(r: &dyn Row) -> Result<Notification> {
    Ok(Notification {
        id: r.get("id")?,
        kind: r.get("kind")?,
        text: r.get("text")?,
        link: r.get("link")?,
        created_at: r.get("created_at")?,
        read_at: r.get("read_at")?,
    })
}

/// Writes `list` in `tx`, at `at`, in a few multi-row statements.
pub(crate) async fn notify(tx: &mut WriteTx, list: &[NewNotification], at: &str) -> Result<()> {
    let head = "INSERT INTO notifications (user_id, kind, text, link, created_at) VALUES ";
    for q in inserts(tx.backend, head, "", 5, list, |n| {
        [Arg::from(n.user_id), Arg::from(n.kind.clone()), Arg::from(n.text.clone()), Arg::from(n.link.clone()), Arg::from(at)]
    }) {
        tx.execute(&q).await?;
    }
    Ok(())
}

fn me(actor: &Actor) -> Result<i64> {
    // The system has no inbox.
    actor.user_id.ok_or(Error::NotFound)
}

impl Store {
    /// The actor's notifications, newest first: at most `limit` (up to 200) older than
    /// `before` (an id), only unread ones with `unread_only`.
    pub async fn notifications(&self, actor: &Actor, unread_only: bool, before: Option<i64>, limit: i64) -> Result<Vec<Notification>> {
        let mut q = Sql::new("SELECT id, kind, text, link, created_at, read_at FROM notifications WHERE user_id = ");
        q.arg(me(actor)?);
        if unread_only {
            q.push(" AND read_at IS NULL");
        }
        if let Some(b) = before {
            q.push(" AND id < ").arg(b);
        }
        q.push(" ORDER BY id DESC LIMIT ").arg(limit.clamp(1, MAX_LIST));
        self.read(&q, from_row).await
    }

    /// How many of the actor's notifications are unread (the badge).
    pub async fn unread_notifications(&self, actor: &Actor) -> Result<i64> {
        let Some(user) = actor.user_id else { return Ok(0) };
        let q = sql("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND read_at IS NULL", [user.into()]);
        Ok(self.read_optional(&q, |r| r.get::<i64>("n")).await?.unwrap_or(0))
    }

    /// Marks one of the actor's notifications read (`Some(id)`), or all of them (`None`);
    /// returns how many changed. Someone else's notification is "not found".
    pub async fn mark_notifications_read(&self, actor: &Actor, id: Option<i64>) -> Result<u64> {
        let user = me(actor)?;
        let mut tx = self.write_tx().await?;
        let now = now_rfc3339();
        let changed = match id {
            Some(id) => {
                let q = sql("SELECT read_at FROM notifications WHERE id = ? AND user_id = ?", [id.into(), user.into()]);
                let found = tx.fetch_optional(&q, |r| r.get::<Option<String>>("read_at")).await?.ok_or(Error::NotFound)?;
                if found.is_some() {
                    return Ok(0);
                }
                tx.execute(&sql("UPDATE notifications SET read_at = ? WHERE id = ?", [now.into(), id.into()])).await?
            }
            None => {
                tx.execute(&sql("UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL", [now.into(), user.into()]))
                    .await?
            }
        };
        if changed > 0 {
            self.audit(&mut tx, actor, "read", "notification", id, json!({"count": changed})).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
