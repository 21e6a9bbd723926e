//! @mentions in a ticket's notes and replies notify the users they name (see
//! [`rapport_domain::service::mention`]), in the transaction that adds the message.

use rapport_domain::notification::NewNotification;
use rapport_domain::service::mention::{Mention, mentions};
use rapport_domain::service::ticket::Ticket;

use crate::notifications::notify;
use crate::sql::sql;
use crate::{Result, WriteTx};

/// Notifies each active user `body` mentions, other than its author.
pub(super) async fn notify_mentioned(
    tx: &mut WriteTx,
    ticket: &Ticket,
    author: Option<i64>,
    author_name: &str,
    body: &str,
    at: &str,
) -> Result<()> {
    let named = mentions(body);
    if named.is_empty() {
        return Ok(());
    }
    // Users are few (staff, not customers): matching in memory keeps the rule in one place.
    let users = tx
        .fetch_all(&sql("SELECT id, email, name FROM users WHERE is_active = 1", []), |r| {
            Ok((r.get::<i64>("id")?, r.get::<String>("email")?, r.get::<String>("name")?))
        })
        .await?;
    let mut to: Vec<i64> = users
        .iter()
        .filter(|(id, email, name)| {
            Some(*id) != author
                && named.iter().any(|m| match m {
                    Mention::Local(l) => email.split('@').next().is_some_and(|e| e.to_lowercase() == *l),
                    Mention::Name(n) => name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase() == *n,
                })
        })
        .map(|(id, _, _)| *id)
        .collect();
    to.sort_unstable();
    to.dedup();
    let list: Vec<NewNotification> = to
        .into_iter()
        .map(|user_id| NewNotification {
            user_id,
            kind: "mention".into(),
            text: format!("{author_name} mentioned you on #{} {}", ticket.id, ticket.data.subject),
            link: Some(format!("/tickets/{}", ticket.id)),
        })
        .collect();
    notify(tx, &list, at).await
}
