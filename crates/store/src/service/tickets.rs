//! Tickets, on the shared record machinery, with what only they do: every creation and status
//! change writes a row of `ticket_status_changes` (time, actor, from, to) in the same
//! transaction, which the SLA clocks and the timeline read; a named team must exist.

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::record::RecordSpec;
use rapport_domain::service::mail::TicketMailReason;
use rapport_domain::service::message::{MessageInput, TicketMessage};
use rapport_domain::service::ticket::{StatusChange, Ticket, TicketActionInput, TicketData, TicketInput};
use rapport_domain::service::workflow::{self, TicketState};
use rapport_domain::{ValidationErrors, now_rfc3339};

use crate::bulk::inserts;
use crate::records::check_team;
use crate::records::engine::{Checked, Table};
use crate::row::Row;
use crate::sql::{Arg, Sql, sql};
use crate::{Error, Result, Store, WriteTx};

impl Table for Ticket {
    const SPEC: &'static RecordSpec = &rapport_domain::service::ticket::SPEC;
    type Data = TicketData;

    fn data(&self) -> &TicketData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Ticket {
        Ticket::tombstone(self)
    }

    /// Tickets are reached by team (see [`super::assignment::reach`]).
    fn reach(q: &mut Sql, actor: &Actor, a: &str) {
        super::assignment::reach(q, actor, a);
    }

    async fn after_insert(_: &Store, tx: &mut WriteTx, actor: &Actor, id: i64, data: &TicketData) -> Result<()> {
        check_team(tx, data.team_id).await?;
        record_change(tx, id, None, data, actor).await
    }

    async fn after_update(store: &Store, tx: &mut WriteTx, actor: &Actor, id: i64, before: &TicketData, after: &TicketData) -> Result<()> {
        if after.team_id != before.team_id {
            check_team(tx, after.team_id).await?;
        }
        super::surveys::on_status(store, tx, id, before, after).await?;
        record_change(tx, id, Some(before), after, actor).await?;
        if after.resolved_at != before.resolved_at {
            super::service_times::refresh(store, tx, &[id]).await?;
        }
        if after.status == TicketState::Resolved && before.status != TicketState::Resolved {
            // The notice carries the survey link when the server knows its public address.
            let link = match store.public_url() {
                Some(base) => super::surveys::survey_path_in(store, tx, id).await?.map(|p| format!("{base}{p}")),
                None => None,
            };
            super::mail::queue_ticket_mail(store, tx, id, TicketMailReason::Resolved, link.as_deref().unwrap_or("")).await?;
        }
        Ok(())
    }
}

/// Writes the history row of a creation or a status change (nothing when the status stayed).
async fn record_change(tx: &mut WriteTx, id: i64, before: Option<&TicketData>, after: &TicketData, actor: &Actor) -> Result<()> {
    let at = after.status_changed_at.clone().unwrap_or_else(now_rfc3339);
    let Some(c) = StatusChange::between(before, after, &at, actor.user_id) else {
        return Ok(());
    };
    let q = sql(
        "INSERT INTO ticket_status_changes (ticket_id, from_status, to_status, at, actor_id) VALUES (?, ?, ?, ?, ?)",
        [id.into(), c.from_status.map(|s| s.as_str().to_string()).into(), c.to_status.as_str().into(), c.at.into(), c.actor_id.into()],
    );
    tx.execute(&q).await?;
    Ok(())
}

fn status_change(r: &dyn Row) -> Result<StatusChange> {
    let state = |s: Option<String>| s.and_then(|s| TicketState::parse(&s));
    Ok(StatusChange {
        from_status: state(r.get("from_status")?),
        to_status: state(Some(r.get("to_status")?)).unwrap_or_default(),
        at: r.get("at")?,
        actor_id: r.get("actor_id")?,
        merged_from_id: r.get("merged_from_id")?,
    })
}

pub(super) fn message(r: &dyn Row) -> Result<TicketMessage> {
    Ok(TicketMessage {
        id: r.get("id")?,
        ticket_id: r.get("ticket_id")?,
        author: workflow::Actor::parse(&r.get::<String>("author")?).unwrap_or(workflow::Actor::Agent),
        author_id: r.get("author_id")?,
        author_name: r.get("author_name")?,
        internal: r.get::<i64>("internal")? != 0,
        body: r.get("body")?,
        at: r.get("at")?,
    })
}

fn name_of(m: &TicketMessage) -> &str {
    m.author_name.as_deref().unwrap_or("Someone")
}

/// Adds an agent's reply or note however it was written (typed, or a macro's): a public reply
/// is mailed to the customer and any message notifies the users it @mentions, all in the
/// transaction that adds it.
pub(super) async fn post_agent_message(
    store: &Store,
    tx: &mut WriteTx,
    ticket: &Ticket,
    m: NewMessage<'_>,
    at: &str,
) -> Result<TicketMessage> {
    let (internal, body, author) = (m.internal, m.body, m.author_id);
    let saved = insert_message(tx, ticket.id, m, at).await?;
    if !internal {
        super::mail::queue_ticket_mail(store, tx, ticket.id, TicketMailReason::Reply, body).await?;
        super::service_times::refresh(store, tx, &[ticket.id]).await?;
    }
    super::mentions::notify_mentioned(tx, ticket, author, name_of(&saved), body, &saved.at).await?;
    Ok(saved)
}

pub(super) const MESSAGE_COLS: &str = "id, ticket_id, author, author_id, author_name, internal, body, at";

/// One new message of a ticket's conversation: who wrote it, whether it is an internal note.
pub(super) struct NewMessage<'a> {
    pub author: workflow::Actor,
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub internal: bool,
    pub body: &'a str,
}

/// Adds one message to a ticket's conversation, at `at`.
pub(super) async fn insert_message(tx: &mut WriteTx, ticket: i64, m: NewMessage<'_>, at: &str) -> Result<TicketMessage> {
    let q = sql(
        &format!(
            "INSERT INTO ticket_messages (ticket_id, author, author_id, author_name, internal, body, at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {MESSAGE_COLS}"
        ),
        [
            ticket.into(),
            m.author.as_str().into(),
            m.author_id.into(),
            m.author_name.into(),
            i64::from(m.internal).into(),
            m.body.to_string().into(),
            at.to_string().into(),
        ],
    );
    tx.fetch_one(&q, message).await
}

impl Store {
    /// One live ticket.
    pub async fn get_ticket(&self, actor: &Actor, id: i64) -> Result<Ticket> {
        self.get_record(actor, id).await
    }

    /// A page of tickets matching `p` (sync listings carry deleted ones as tombstones).
    pub async fn list_tickets(&self, actor: &Actor, p: &ListParams) -> Result<Page<Ticket>> {
        self.list_records(actor, p).await
    }

    // Opening a ticket is in `assignment`: a team may assign it as it opens.

    /// Changes a ticket's fields (see [`TicketInput`]: the status moves by actions, an assignee
    /// given or taken away is the `assign` or `unassign` action). With `if_match`, a stale
    /// version is refused.
    pub async fn update_ticket(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: TicketInput) -> Result<Ticket> {
        let now = now_rfc3339();
        self.update_record(actor, id, if_match, |cur: &TicketData| input.apply(Some(cur), &now)).await
    }

    /// Takes a workflow action as a signed-in agent: `assign` gives the ticket to the named
    /// agent or to the caller. An action the status does not allow is [`Error::Refused`] naming
    /// the allowed ones.
    pub async fn ticket_action(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: TicketActionInput) -> Result<Ticket> {
        let now = now_rfc3339();
        let owner = input.owner_id.or(actor.user_id);
        let until = input.until.clone();
        self.update_record(actor, id, if_match, |cur: &TicketData| {
            cur.perform(input.action, workflow::Actor::Agent, owner, until.as_deref(), &now)
        })
        .await
    }

    /// Soft-deletes a ticket (its history stays, for the record).
    pub async fn delete_ticket(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Ticket>(actor, id, if_match).await
    }

    /// A ticket's status history, oldest first, for those who may see the ticket.
    pub async fn ticket_history(&self, actor: &Actor, id: i64) -> Result<Vec<StatusChange>> {
        self.record_visible::<Ticket>(actor, id).await?;
        let mut q = Sql::new("SELECT from_status, to_status, at, actor_id, merged_from_id FROM ticket_status_changes WHERE ticket_id = ");
        q.arg(id).push(" ORDER BY at, id");
        self.read(&q, status_change).await
    }

    /// Adds tickets that were validated already, each with its status history and its
    /// conversation (demo data, imports; a message's `id` and `ticket_id` are ignored), in one
    /// transaction with one audit row, their business-hours times computed in it: each history
    /// must start with the creation and end in the ticket's status.
    pub async fn import_tickets(&self, actor: &Actor, batch: &[(TicketData, Vec<StatusChange>, Vec<TicketMessage>)]) -> Result<Vec<i64>> {
        require(actor, Object::Ticket, Action::Create)?;
        for (n, (data, history, _)) in batch.iter().enumerate() {
            let starts = history.first().is_some_and(|c| c.from_status.is_none());
            if !starts || history.last().map(|c| c.to_status) != Some(data.status) {
                let message =
                    format!("row {}: the history must start with the creation and end in the status '{}'", n + 1, data.status.as_str());
                return Err(Error::Invalid(ValidationErrors::single("history", message)));
            }
        }
        let mut tx = self.write_tx().await?;
        let data: Vec<TicketData> = batch.iter().map(|(d, _, _)| d.clone()).collect();
        let ids = self.insert_records::<Ticket>(&mut tx, actor, &data, &[], &mut Checked::default()).await?;
        let rows: Vec<(i64, &StatusChange)> = ids.iter().zip(batch).flat_map(|(id, (_, h, _))| h.iter().map(move |c| (*id, c))).collect();
        let head = "INSERT INTO ticket_status_changes (ticket_id, from_status, to_status, at, actor_id) VALUES ";
        for q in inserts(self.backend, head, "", 5, &rows, |(id, c)| {
            let from = c.from_status.map(|s| s.as_str().to_string());
            [Arg::from(*id), Arg::from(from), Arg::from(c.to_status.as_str()), Arg::from(c.at.clone()), Arg::from(c.actor_id)]
        }) {
            tx.execute(&q).await?;
        }
        let messages: Vec<(i64, &TicketMessage)> =
            ids.iter().zip(batch).flat_map(|(id, (_, _, m))| m.iter().map(move |m| (*id, m))).collect();
        let head = "INSERT INTO ticket_messages (ticket_id, author, author_id, author_name, internal, body, at) VALUES ";
        for q in inserts(self.backend, head, "", 7, &messages, |(id, m)| {
            [
                Arg::from(*id),
                Arg::from(m.author.as_str()),
                Arg::from(m.author_id),
                Arg::from(m.author_name.clone()),
                Arg::from(i64::from(m.internal)),
                Arg::from(m.body.clone()),
                Arg::from(m.at.clone()),
            ]
        }) {
            tx.execute(&q).await?;
        }
        super::service_times::refresh(self, &mut tx, &ids).await?;
        let summary = serde_json::json!({"count": batch.len(), "first_id": ids.first(), "last_id": ids.last()});
        self.audit(&mut tx, actor, "bulk_create", "ticket", None, summary).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Adds an agent's public reply or internal note to a ticket the actor may change, audited
    /// in the same transaction.
    pub async fn add_ticket_message(&self, actor: &Actor, id: i64, input: MessageInput) -> Result<TicketMessage> {
        require(actor, Object::Ticket, Action::Update)?;
        let (body, internal) = input.validate(workflow::Actor::Agent)?;
        let mut tx = self.write_tx().await?;
        let ticket = self.record_in::<Ticket>(&mut tx, actor, id, false).await?;
        let name = match actor.user_id {
            Some(u) => tx.fetch_optional(&sql("SELECT name FROM users WHERE id = ?", [u.into()]), |r| r.get::<String>("name")).await?,
            None => None,
        };
        let m = NewMessage { author: workflow::Actor::Agent, author_id: actor.user_id, author_name: name, internal, body: &body };
        let saved = post_agent_message(self, &mut tx, &ticket, m, &now_rfc3339()).await?;
        let what = if internal { "note" } else { "reply" };
        self.audit(&mut tx, actor, "message", "ticket", Some(id), serde_json::json!({"message_id": saved.id, "kind": what})).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// A ticket's conversation, oldest first, for those who may see the ticket (agents see the
    /// internal notes too).
    pub async fn ticket_messages(&self, actor: &Actor, id: i64) -> Result<Vec<TicketMessage>> {
        self.record_visible::<Ticket>(actor, id).await?;
        let mut q = Sql::new(&format!("SELECT {MESSAGE_COLS} FROM ticket_messages WHERE ticket_id = "));
        q.arg(id).push(" ORDER BY id");
        self.read(&q, message).await
    }
}
