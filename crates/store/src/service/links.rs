//! Tickets beyond their own record: the people following them, merges into a survivor, messages
//! split off into child tickets, and the agents replying right now.
//!
//! A merge and a split each run in one transaction with their audit rows: what moves (the
//! conversation, the status history marked with the ticket it came from, followers, tags,
//! children) moves entirely or not at all. The merged ticket stays as a tombstone naming its
//! survivor (`merged_into_id`), which `GET` and sync listings report.

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::service::links::{
    Follower, FollowerInput, MAX_DEPTH, MergeInput, PRESENCE_SECONDS, ParentInput, Replying, SplitInput, split_subject,
};
use rapport_domain::service::ticket::{Ticket, TicketData, TicketInput};
use rapport_domain::service::workflow;
use rapport_domain::{ValidationErrors, now_rfc3339};

use super::tickets::{NewMessage, insert_message};
use crate::records::{soft_delete, visible};
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx};

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::Invalid(ValidationErrors::single(field, message))
}

/// Adds a note by the system to a ticket's conversation (merges and splits say so on both
/// tickets).
async fn system_note(tx: &mut WriteTx, ticket: i64, body: &str, at: &str) -> Result<()> {
    let m = NewMessage { author: workflow::Actor::System, author_id: None, author_name: None, internal: true, body };
    insert_message(tx, ticket, m, at).await.map(|_| ())
}

/// Stamps the tickets matched by `cond` as changed (with `set`, e.g. `, parent_id = ?`, and
/// `args` for the placeholders of both), so sync clients fetch them again. Their version stays:
/// links and followers are not what an edit form holds, so no open form goes stale.
async fn stamp_tickets(tx: &mut WriteTx, set: &str, cond: &str, args: Vec<crate::sql::Arg>) -> Result<u64> {
    let seq = tx.change_seq().await?;
    let mut all = vec![now_rfc3339().into(), seq.into()];
    all.extend(args);
    tx.execute(&sql(&format!("UPDATE tickets SET updated_at = ?, change_seq = ?{set} WHERE {cond}"), all)).await
}

impl Store {
    /// The people a ticket is for, its own person first and then its followers, whoever asks:
    /// for system jobs (email threading accepts a reply only from one of them).
    pub async fn ticket_contact_ids(&self, ticket_id: i64) -> Result<Vec<i64>> {
        let q = sql(
            "SELECT customer_id, 0 AS pos FROM tickets WHERE id = ? AND customer_id IS NOT NULL \
             UNION ALL SELECT customer_id, 1 AS pos FROM ticket_contacts WHERE ticket_id = ? ORDER BY pos, customer_id",
            [ticket_id.into(), ticket_id.into()],
        );
        let mut ids: Vec<i64> = self.read(&q, |r| r.get("customer_id")).await?;
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(*id));
        Ok(ids)
    }

    /// Whether `customer_id` is the ticket's person or one of its followers (for system jobs).
    pub async fn is_ticket_contact(&self, ticket_id: i64, customer_id: i64) -> Result<bool> {
        Ok(self.ticket_contact_ids(ticket_id).await?.contains(&customer_id))
    }

    /// The people following a ticket (beside its own person), in the order they were added,
    /// named where `actor` may see them.
    pub async fn ticket_followers(&self, actor: &Actor, id: i64) -> Result<Vec<Follower>> {
        self.record_visible::<Ticket>(actor, id).await?;
        let mut q = followers_query(actor, id);
        q.push(" ORDER BY f.added_at, f.customer_id");
        self.read(&q, follower).await
    }

    /// Adds a follower: a person `actor` may see, not the ticket's own person. Whether they
    /// were new (a second add changes nothing), and the follower.
    pub async fn add_ticket_follower(&self, actor: &Actor, id: i64, input: FollowerInput) -> Result<(bool, Follower)> {
        require(actor, Object::Ticket, Action::Update)?;
        let customer = input.customer_id.ok_or_else(|| invalid("customer_id", "is required: the person who follows"))?;
        let mut tx = self.write_tx().await?;
        let t = self.record_in::<Ticket>(&mut tx, actor, id, false).await?;
        if t.data.customer_id == Some(customer) {
            return Err(invalid("customer_id", "is the ticket's own person, who follows it already"));
        }
        let mut seen = sql("SELECT c.id FROM customers c WHERE c.deleted_at IS NULL AND c.id = ?", [customer.into()]);
        visible(&mut seen, actor, "c");
        if tx.fetch_optional(&seen, |_| Ok(())).await?.is_none() {
            return Err(invalid("customer_id", format!("there is no person with id {customer}")));
        }
        let now = now_rfc3339();
        let added = tx
            .execute(&sql(
                "INSERT INTO ticket_contacts (ticket_id, customer_id, added_at, added_by) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [id.into(), customer.into(), now.into(), actor.user_id.into()],
            ))
            .await?
            > 0;
        if added {
            stamp_tickets(&mut tx, "", "id = ?", vec![id.into()]).await?;
            self.audit(&mut tx, actor, "follower_add", "ticket", Some(id), serde_json::json!({"customer_id": customer})).await?;
        }
        let mut q = followers_query(actor, id);
        q.push(" AND f.customer_id = ").arg(customer);
        let f = tx.fetch_one(&q, follower).await?;
        tx.commit().await?;
        Ok((added, f))
    }

    /// Removes a follower; one who does not follow the ticket is "not found".
    pub async fn remove_ticket_follower(&self, actor: &Actor, id: i64, customer_id: i64) -> Result<()> {
        require(actor, Object::Ticket, Action::Update)?;
        let mut tx = self.write_tx().await?;
        self.record_in::<Ticket>(&mut tx, actor, id, false).await?;
        let q = sql("DELETE FROM ticket_contacts WHERE ticket_id = ? AND customer_id = ?", [id.into(), customer_id.into()]);
        if tx.execute(&q).await? == 0 {
            return Err(Error::NotFound);
        }
        stamp_tickets(&mut tx, "", "id = ?", vec![id.into()]).await?;
        self.audit(&mut tx, actor, "follower_remove", "ticket", Some(id), serde_json::json!({"customer_id": customer_id})).await?;
        tx.commit().await
    }

    /// The survivor a ticket `actor` reaches was merged into, if it is such a tombstone.
    pub async fn ticket_merged_into(&self, actor: &Actor, id: i64) -> Result<Option<i64>> {
        require(actor, Object::Ticket, Action::Read)?;
        let mut q = sql("SELECT r.merged_into_id FROM tickets r WHERE r.id = ? AND r.deleted_at IS NOT NULL", [id.into()]);
        visible(&mut q, actor, "r");
        Ok(self.read_optional(&q, |r| r.get::<Option<i64>>("merged_into_id")).await?.flatten())
    }

    /// Merges ticket `id` into the survivor `input.into`: its conversation, status history
    /// (marked as from `id`), followers (its own person among them) and tags join the
    /// survivor, its children become the survivor's, and it becomes a tombstone pointing at the
    /// survivor. Both must be live tickets `actor` may change. The survivor as it is now.
    pub async fn merge_ticket(&self, actor: &Actor, id: i64, input: MergeInput) -> Result<Ticket> {
        require(actor, Object::Ticket, Action::Update)?;
        let into = input.into.ok_or_else(|| invalid("into", "is required: the ticket to merge into"))?;
        if into == id {
            return Err(invalid("into", "a ticket cannot be merged into itself"));
        }
        let mut tx = self.write_tx().await?;
        let merged = self.record_in::<Ticket>(&mut tx, actor, id, false).await?;
        let survivor = match self.record_in::<Ticket>(&mut tx, actor, into, true).await {
            Err(Error::NotFound) => return Err(invalid("into", format!("there is no ticket with id {into}"))),
            other => other?,
        };
        if survivor.deleted_at.is_some() {
            let why = match survivor.merged_into_id {
                Some(s) => format!("ticket #{into} was merged into #{s}: merge into #{s} instead"),
                None => format!("ticket #{into} was deleted"),
            };
            return Err(invalid("into", why));
        }
        let now = now_rfc3339();
        let moved = |table: &str| {
            sql(
                &format!("UPDATE {table} SET merged_from_id = COALESCE(merged_from_id, ticket_id), ticket_id = ? WHERE ticket_id = ?"),
                [into.into(), id.into()],
            )
        };
        let messages = tx.execute(&moved("ticket_messages")).await?;
        let history = tx.execute(&moved("ticket_status_changes")).await?;
        // Followers, and the merged ticket's own person when not the survivor's.
        let keep = survivor.data.customer_id.unwrap_or(-1);
        tx.execute(&sql(
            "INSERT INTO ticket_contacts (ticket_id, customer_id, added_at, added_by) \
             SELECT ?, customer_id, added_at, added_by FROM ticket_contacts WHERE ticket_id = ? AND customer_id <> ? ON CONFLICT DO NOTHING",
            [into.into(), id.into(), keep.into()],
        ))
        .await?;
        if let Some(c) = merged.data.customer_id.filter(|c| *c != keep) {
            tx.execute(&sql(
                "INSERT INTO ticket_contacts (ticket_id, customer_id, added_at, added_by) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [into.into(), c.into(), now.clone().into(), actor.user_id.into()],
            ))
            .await?;
        }
        tx.execute(&sql("DELETE FROM ticket_contacts WHERE ticket_id = ?", [id.into()])).await?;
        tx.execute(&sql("DELETE FROM ticket_presence WHERE ticket_id = ?", [id.into()])).await?;
        // Its children become the survivor's (the survivor itself, if it was one, takes the
        // merged ticket's parent).
        stamp_tickets(&mut tx, ", parent_id = ?", "parent_id = ? AND id <> ?", vec![into.into(), id.into(), into.into()]).await?;
        if survivor.parent_id == Some(id) {
            stamp_tickets(&mut tx, ", parent_id = ?", "id = ?", vec![merged.parent_id.into(), into.into()]).await?;
        }
        let tags: Vec<String> = survivor.data.tags.iter().chain(&merged.data.tags).cloned().collect();
        self.update_in::<Ticket, _, _>(&mut tx, actor, into, None, |cur: &TicketData| {
            TicketInput { tags: Some(tags), ..Default::default() }.apply(Some(cur), &now)
        })
        .await?;
        soft_delete(&mut tx, "tickets", id).await?;
        tx.execute(&sql("UPDATE tickets SET merged_into_id = ? WHERE id = ?", [into.into(), id.into()])).await?;
        system_note(&mut tx, into, &format!("Ticket #{id} “{}” was merged into this ticket.", merged.data.subject), &now).await?;
        system_note(&mut tx, id, &format!("Merged into ticket #{into}."), &now).await?;
        super::service_times::refresh(self, &mut tx, &[into]).await?;
        let summary = serde_json::json!({"into": into, "messages": messages, "history": history});
        self.audit(&mut tx, actor, "merge", "ticket", Some(id), summary).await?;
        self.audit(&mut tx, actor, "merge_into", "ticket", Some(into), serde_json::json!({"from": id})).await?;
        let seen = self.as_seen::<Ticket>(&mut tx, actor, into).await?;
        tx.commit().await?;
        Ok(seen)
    }

    /// Splits message `input.message_id` off ticket `id` into a new ticket for the same person,
    /// company, team, priority and category, in the team queue, linked as its child; the message
    /// moves there. The new ticket.
    pub async fn split_ticket(&self, actor: &Actor, id: i64, input: SplitInput) -> Result<Ticket> {
        require(actor, Object::Ticket, Action::Update)?;
        require(actor, Object::Ticket, Action::Create)?;
        let message = input.message_id.ok_or_else(|| invalid("message_id", "is required: the message that becomes the new ticket"))?;
        let mut tx = self.write_tx().await?;
        let parent = self.record_in::<Ticket>(&mut tx, actor, id, false).await?;
        let q = sql("SELECT id FROM ticket_messages WHERE id = ? AND ticket_id = ?", [message.into(), id.into()]);
        if tx.fetch_optional(&q, |_| Ok(())).await?.is_none() {
            return Err(invalid("message_id", format!("ticket #{id} has no message with id {message}")));
        }
        let now = now_rfc3339();
        let p = &parent.data;
        let child = TicketInput {
            subject: Some(input.subject.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| split_subject(id, &p.subject))),
            priority: Some(p.priority),
            category: Some(p.category.clone()),
            channel: Some(p.channel),
            customer_id: Some(p.customer_id),
            company_id: Some(p.company_id),
            team_id: Some(p.team_id),
            tags: Some(p.tags.clone()),
            ..Default::default()
        }
        .apply(None, &now)?;
        let child_id = self.create_record_in::<Ticket>(&mut tx, actor, &child).await?;
        tx.execute(&sql("UPDATE tickets SET parent_id = ? WHERE id = ?", [id.into(), child_id.into()])).await?;
        tx.execute(&sql("UPDATE ticket_messages SET ticket_id = ? WHERE id = ?", [child_id.into(), message.into()])).await?;
        stamp_tickets(&mut tx, "", "id = ?", vec![id.into()]).await?;
        super::service_times::refresh(self, &mut tx, &[id, child_id]).await?;
        system_note(&mut tx, child_id, &format!("Split off ticket #{id} “{}”.", p.subject), &now).await?;
        system_note(&mut tx, id, &format!("A message was split off into ticket #{child_id}."), &now).await?;
        self.audit(&mut tx, actor, "split", "ticket", Some(id), serde_json::json!({"child": child_id, "message_id": message})).await?;
        let seen = self.as_seen::<Ticket>(&mut tx, actor, child_id).await?;
        tx.commit().await?;
        Ok(seen)
    }

    /// Links ticket `id` under `input.parent_id` (a live ticket `actor` may see, not the
    /// ticket itself nor one of its descendants), or unlinks it. The ticket as it is now.
    pub async fn set_ticket_parent(&self, actor: &Actor, id: i64, input: ParentInput) -> Result<Ticket> {
        require(actor, Object::Ticket, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let t = self.record_in::<Ticket>(&mut tx, actor, id, false).await?;
        if let Some(p) = input.parent_id {
            if p == id {
                return Err(invalid("parent_id", "a ticket cannot be its own parent"));
            }
            let mut up = match self.record_in::<Ticket>(&mut tx, actor, p, false).await {
                Err(Error::NotFound) => return Err(invalid("parent_id", format!("there is no ticket with id {p}"))),
                other => other?.parent_id,
            };
            // Walk up from the new parent: meeting this ticket would make a loop.
            for _ in 0..MAX_DEPTH {
                let Some(a) = up else { break };
                if a == id {
                    return Err(invalid("parent_id", format!("ticket #{p} is split off this one: linking it as the parent makes a loop")));
                }
                up = tx
                    .fetch_optional(&sql("SELECT parent_id FROM tickets WHERE id = ?", [a.into()]), |r| r.get::<Option<i64>>("parent_id"))
                    .await?
                    .flatten();
            }
        }
        if t.parent_id != input.parent_id {
            stamp_tickets(&mut tx, ", parent_id = ?", "id = ?", vec![input.parent_id.into(), id.into()]).await?;
            let diff = serde_json::json!({"parent_id": [t.parent_id, input.parent_id]});
            self.audit(&mut tx, actor, "link_parent", "ticket", Some(id), diff).await?;
        }
        let seen = self.as_seen::<Ticket>(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(seen)
    }

    /// Records that `actor` is replying to ticket `id` for the next [`PRESENCE_SECONDS`] (or,
    /// with `replying` false, no longer is). The other agents replying now.
    pub async fn set_ticket_presence(&self, actor: &Actor, id: i64, replying: bool) -> Result<Vec<Replying>> {
        require(actor, Object::Ticket, Action::Update)?;
        let me = actor.user_id.ok_or(Error::NotFound)?;
        self.record_visible::<Ticket>(actor, id).await?;
        let mut tx = self.write_tx().await?;
        let now = chrono::Utc::now();
        let until = (now + chrono::Duration::seconds(PRESENCE_SECONDS)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let stamp = now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        // Expired rows of every ticket go here, so the table holds only the present.
        tx.execute(&sql("DELETE FROM ticket_presence WHERE expires_at < ?", [stamp.into()])).await?;
        let q = if replying {
            sql(
                "INSERT INTO ticket_presence (ticket_id, user_id, expires_at) VALUES (?, ?, ?) \
                 ON CONFLICT (ticket_id, user_id) DO UPDATE SET expires_at = excluded.expires_at",
                [id.into(), me.into(), until.into()],
            )
        } else {
            sql("DELETE FROM ticket_presence WHERE ticket_id = ? AND user_id = ?", [id.into(), me.into()])
        };
        tx.execute(&q).await?;
        tx.commit().await?;
        self.ticket_replying(actor, id).await
    }

    /// The agents other than `actor` replying to ticket `id` now.
    pub async fn ticket_replying(&self, actor: &Actor, id: i64) -> Result<Vec<Replying>> {
        self.record_visible::<Ticket>(actor, id).await?;
        let mut q =
            Sql::new("SELECT p.user_id, u.name, p.expires_at FROM ticket_presence p JOIN users u ON u.id = p.user_id WHERE p.ticket_id = ");
        q.arg(id).push(" AND p.expires_at > ").arg(now_rfc3339());
        if let Some(me) = actor.user_id {
            q.push(" AND p.user_id <> ").arg(me);
        }
        q.push(" ORDER BY u.name, p.user_id");
        self.read(&q, |r| Ok(Replying { user_id: r.get("user_id")?, name: r.get("name")?, until: r.get("expires_at")? })).await
    }
}

/// The followers of ticket `id`, with the names `actor` may see.
fn followers_query(actor: &Actor, id: i64) -> Sql {
    let mut q = Sql::new(
        "SELECT f.customer_id, f.added_at, c.name AS name FROM ticket_contacts f \
         LEFT JOIN customers c ON c.id = f.customer_id AND c.deleted_at IS NULL",
    );
    visible(&mut q, actor, "c");
    q.push(" WHERE f.ticket_id = ").arg(id);
    q
}

fn follower(r: &dyn crate::row::Row) -> Result<Follower> {
    Ok(Follower { customer_id: r.get("customer_id")?, name: r.get("name")?, added_at: r.get("added_at")? })
}
