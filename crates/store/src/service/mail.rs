//! Tickets by email. Inbound: [`Store::receive_email`] turns a parsed message into a new
//! ticket or a reply on its ticket (see `rapport_domain::service::mail` for the threading
//! rule), in one transaction with its Message-ID, its audit row and, for the IMAP poller, the
//! mailbox position. Outbound: ticket changes queue their mail in `mail_queue` in their own
//! transaction ([`queue_ticket_mail`]), and senders lease rows from it ([`Store::claim_mail`]).
//!
//! The delivery rule, which makes a restart never send a mail twice: a sender leases a row
//! (`claimed`), marks it `sending` (committed) just before the SMTP transaction and `sent` after
//! it (the mails of one sender that start or finish together share these writes). A `claimed`
//! row whose lease ran out was never handed to SMTP and is queued again; a `sending` one may or
//! may not have been delivered (the process died mid-transaction, or before its `sent` was
//! written), so it becomes `unconfirmed` and is never resent on its own: an admin who checked
//! may requeue it.
//! The queue rows are the delivery record; the sender's own state changes are not audited one
//! by one (an admin's requeue is).

use rapport_domain::customer::{Customer, CustomerData};
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::service::mail::{
    InboundMail, MailQueueSummary, MailReceipt, MailRow, MailState, TicketMailReason, references, retry_after, ticket_mail_text,
};
use rapport_domain::service::ticket::{Channel, Ticket, TicketData};
use rapport_domain::service::workflow::{self, TicketAction, TicketState};
use rapport_domain::{ValidationErrors, now_rfc3339};
use serde_json::json;

use super::tickets::{NewMessage, insert_message};
use crate::records::engine::Checked;
use crate::row::Row;
use crate::sql::{Arg, MAX_ARGS, marks, sql};
use crate::{Error, Result, Store, WriteTx};

/// The source a person created by an inbound email gets.
pub const EMAIL_SOURCE: &str = "email";

/// Where the IMAP poller stands in a mailbox: the message just read is `uid` of `uidvalidity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapCursor {
    /// `user@host:port/folder`, naming the mailbox.
    pub mailbox: String,
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: i64,
    /// The last UID taken.
    pub uid: i64,
}

/// A mail a sender has leased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Row id.
    pub id: i64,
    /// Recipient address.
    pub to_addr: String,
    /// Recipient name.
    pub to_name: Option<String>,
    /// Subject.
    pub subject: String,
    /// Text body.
    pub text_body: String,
    /// HTML body, if any.
    pub html_body: Option<String>,
    /// Extra headers (`In-Reply-To`, `References`, `Auto-Submitted`) as a JSON object.
    pub headers: serde_json::Map<String, serde_json::Value>,
    /// Message-ID without angle brackets.
    pub message_id: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// The campaign sending a marketing mail belongs to.
    pub send_id: Option<i64>,
    /// A marketing mail's token (its VERP return path names it).
    pub track_token: Option<String>,
}

fn time_in(secs: i64) -> String {
    rapport_domain::time_in(chrono::Duration::seconds(secs))
}

pub(crate) const QUEUE_COLS: &str =
    "id, to_addr, to_name, subject, text_body, html_body, headers, message_id, attempts, send_id, track_token";

pub(crate) fn queued(r: &dyn Row) -> Result<QueuedMail> {
    let headers: String = r.get("headers")?;
    Ok(QueuedMail {
        id: r.get("id")?,
        to_addr: r.get("to_addr")?,
        to_name: r.get("to_name")?,
        subject: r.get("subject")?,
        text_body: r.get("text_body")?,
        html_body: r.get("html_body")?,
        headers: serde_json::from_str(&headers).unwrap_or_default(),
        message_id: r.get("message_id")?,
        attempts: r.get("attempts")?,
        send_id: r.get("send_id")?,
        track_token: r.get("track_token")?,
    })
}

fn mail_row(r: &dyn Row) -> Result<MailRow> {
    Ok(MailRow {
        id: r.get("id")?,
        kind: r.get("kind")?,
        to_addr: r.get("to_addr")?,
        subject: r.get("subject")?,
        ticket_id: r.get("ticket_id")?,
        message_id: r.get("message_id")?,
        state: MailState::parse(&r.get::<String>("state")?).unwrap_or(MailState::Failed),
        attempts: r.get("attempts")?,
        next_attempt_at: r.get("next_attempt_at")?,
        sent_at: r.get("sent_at")?,
        error: r.get("error")?,
        created_at: r.get("created_at")?,
    })
}

/// A new Message-ID for an outgoing mail about `ticket`.
fn new_message_id(ticket: i64) -> String {
    format!("{}.t{ticket}@rapport", crate::crypto::hex(&rand::random::<[u8; 12]>()))
}

/// Queues the mail a ticket change causes, in that change's transaction: to the ticket's
/// person (nothing when they have no email), with the ticket number in the subject, a new
/// Message-ID stored for threading, `In-Reply-To` the customer's latest message and
/// `References` the thread.
pub(crate) async fn queue_ticket_mail(store: &Store, tx: &mut WriteTx, id: i64, reason: TicketMailReason, body: &str) -> Result<()> {
    let system = Actor::system();
    let t = store.record_in::<Ticket>(tx, &system, id, false).await?;
    let Some(person) = t.data.customer_id else { return Ok(()) };
    let c = store.record_in::<Customer>(tx, &system, person, false).await?;
    let Some(to) = c.data.email.clone() else { return Ok(()) };
    let thread: Vec<(String, String)> = tx
        .fetch_all(
            &sql("SELECT message_id, direction FROM mail_message_ids WHERE ticket_id = ? ORDER BY at, message_id", [id.into()]),
            |r| Ok((r.get("message_id")?, r.get("direction")?)),
        )
        .await?;
    let mut headers = serde_json::Map::new();
    if let Some((last, _)) = thread.iter().rev().find(|(_, d)| d == "in").or(thread.last()) {
        headers.insert("In-Reply-To".into(), format!("<{last}>").into());
        let ids: Vec<String> = thread.iter().map(|(m, _)| m.clone()).collect();
        let refs: Vec<String> = references(&ids).iter().map(|m| format!("<{m}>")).collect();
        headers.insert("References".into(), refs.join(" ").into());
    }
    if reason != TicketMailReason::Reply {
        // RFC 3834: robots do not answer automatic mail, so no reply loop with an autoresponder.
        headers.insert("Auto-Submitted".into(), "auto-replied".into());
    }
    let (subject, text) = ticket_mail_text(reason, id, &t.data.subject, body);
    let message_id = new_message_id(id);
    let now = now_rfc3339();
    let q = sql(
        "INSERT INTO mail_queue (kind, to_addr, to_name, subject, text_body, headers, message_id, ticket_id, state, next_attempt_at, created_at) \
         VALUES ('transactional', ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
        [
            to.into(),
            c.data.name.clone().into(),
            subject.into(),
            text.into(),
            serde_json::Value::Object(headers).to_string().into(),
            message_id.clone().into(),
            id.into(),
            now.clone().into(),
            now.clone().into(),
        ],
    );
    tx.execute(&q).await?;
    remember_id(tx, &message_id, id, "out", None, &now).await
}

async fn remember_id(tx: &mut WriteTx, message_id: &str, ticket: i64, direction: &str, msg: Option<i64>, at: &str) -> Result<()> {
    let q = sql(
        "INSERT INTO mail_message_ids (message_id, ticket_id, direction, ticket_message_id, at) VALUES (?, ?, ?, ?, ?)",
        [message_id.into(), ticket.into(), direction.into(), msg.into(), at.into()],
    );
    tx.execute(&q).await?;
    Ok(())
}

async fn known_id(tx: &mut WriteTx, message_id: &str) -> Result<Option<i64>> {
    tx.fetch_optional(&sql("SELECT ticket_id FROM mail_message_ids WHERE message_id = ?", [message_id.into()]), |r| r.get("ticket_id"))
        .await
}

pub(crate) async fn save_cursor(tx: &mut WriteTx, c: &ImapCursor) -> Result<()> {
    let q = sql(
        "INSERT INTO mail_imap_state (mailbox, uidvalidity, last_uid, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, updated_at = excluded.updated_at",
        [c.mailbox.clone().into(), c.uidvalidity.into(), c.uid.into(), now_rfc3339().into()],
    );
    tx.execute(&q).await?;
    Ok(())
}

impl Store {
    /// Takes in an inbound message as the system (the caller checked who may deliver mail; its
    /// id goes into the audit row): a duplicate Message-ID changes nothing; a reply from the
    /// ticket's person joins the conversation and moves the ticket as a customer reply does (a
    /// resolved one reopens); anything else opens a ticket from the channel `email`, for the
    /// person with the sender's email (a new one when unknown), acknowledged by mail. With
    /// `cursor` (the IMAP poller), the mailbox position advances in the same transaction.
    pub async fn receive_email(
        &self,
        mail: &InboundMail,
        received_by: Option<i64>,
        request_id: Option<String>,
        cursor: Option<&ImapCursor>,
    ) -> Result<MailReceipt> {
        // Two deliveries of one message racing on PostgreSQL: the loser's insert of the
        // Message-ID fails, and the second pass finds it a duplicate.
        match self.receive_once(mail, received_by, request_id.clone(), cursor).await {
            Err(Error::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                self.receive_once(mail, received_by, request_id, cursor).await
            }
            other => other,
        }
    }

    async fn receive_once(
        &self,
        mail: &InboundMail,
        received_by: Option<i64>,
        request_id: Option<String>,
        cursor: Option<&ImapCursor>,
    ) -> Result<MailReceipt> {
        let actor = Actor { request_id, ..Actor::system() };
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let receipt = |ticket_id, outcome| MailReceipt { ticket_id, outcome, message_id: mail.message_id.clone() };
        if let Some(ticket) = known_id(&mut tx, &mail.message_id).await? {
            if let Some(c) = cursor {
                save_cursor(&mut tx, c).await?;
            }
            tx.commit().await?;
            return Ok(receipt(ticket, "duplicate"));
        }
        let lock = self.backend.lock_rows();
        let q = sql(
            &format!("SELECT id FROM customers WHERE email_hash = ? AND deleted_at IS NULL{lock}"),
            [self.email_key(&mail.from_email).into()],
        );
        let sender: Option<i64> = tx.fetch_optional(&q, |r| r.get("id")).await?;
        let thread = self.thread_of(&mut tx, mail, sender).await?;
        let (ticket, outcome) = match thread {
            Some(id) => {
                self.update_in::<Ticket, _, _>(&mut tx, &actor, id, None, |cur: &TicketData| {
                    cur.perform(TicketAction::CustomerReply, workflow::Actor::Customer, None, None, &now)
                })
                .await?;
                (id, "replied")
            }
            None => {
                let person = match sender {
                    Some(p) => p,
                    None => {
                        let p = CustomerData {
                            name: mail.from_name.clone(),
                            email: Some(mail.from_email.clone()),
                            source: Some(EMAIL_SOURCE.into()),
                            ..CustomerData::default()
                        };
                        let id = self.insert_record::<Customer>(&mut tx, &actor, &p, &[], &mut Checked::default()).await?;
                        self.audit(&mut tx, &actor, "create", "customer", Some(id), json!({"after": &p, "via": "email"})).await?;
                        id
                    }
                };
                let data = TicketData {
                    subject: mail.subject.clone(),
                    description: Some(mail.body.chars().take(20_000).collect()),
                    channel: Channel::Email,
                    customer_id: Some(person),
                    status_changed_at: Some(now.clone()),
                    ..TicketData::default()
                };
                (self.create_record_in::<Ticket>(&mut tx, &actor, &data).await?, "opened")
            }
        };
        let m = NewMessage {
            author: workflow::Actor::Customer,
            author_id: None,
            author_name: Some(mail.from_name.clone()),
            internal: false,
            body: &mail.body,
        };
        let saved = insert_message(&mut tx, ticket, m, &now).await?;
        remember_id(&mut tx, &mail.message_id, ticket, "in", Some(saved.id), &now).await?;
        if outcome == "opened" && !mail.auto_submitted {
            queue_ticket_mail(self, &mut tx, ticket, TicketMailReason::Acknowledgement, "").await?;
        }
        let detail = json!({"message_id": saved.id, "kind": "email", "mail_message_id": &mail.message_id, "outcome": outcome, "received_by": received_by});
        self.audit(&mut tx, &actor, "message", "ticket", Some(ticket), detail).await?;
        if let Some(c) = cursor {
            save_cursor(&mut tx, c).await?;
        }
        tx.commit().await?;
        Ok(receipt(ticket, outcome))
    }

    /// The open ticket an inbound mail answers, by its Message-IDs or subject tag, when the
    /// sender is that ticket's person or a follower (closed tickets take no more replies).
    async fn thread_of(&self, tx: &mut WriteTx, mail: &InboundMail, sender: Option<i64>) -> Result<Option<i64>> {
        let Some(sender) = sender else { return Ok(None) };
        let mut candidate = None;
        for r in &mail.refers_to {
            if let Some(t) = known_id(tx, r).await? {
                candidate = Some(t);
                break;
            }
        }
        let Some(id) = candidate.or(mail.ticket_number()) else { return Ok(None) };
        let lock = self.backend.lock_rows();
        // A contact is the ticket's person or one of its followers.
        let q = sql(
            &format!(
                "SELECT status, CASE WHEN customer_id = ? OR EXISTS (SELECT 1 FROM ticket_contacts c WHERE c.ticket_id = tickets.id AND c.customer_id = ?) THEN 1 ELSE 0 END AS contact \
                 FROM tickets WHERE id = ? AND deleted_at IS NULL{lock}"
            ),
            [sender.into(), sender.into(), id.into()],
        );
        let found: Option<(String, i64)> = tx.fetch_optional(&q, |r| Ok((r.get("status")?, r.get("contact")?))).await?;
        Ok(match found {
            Some((status, 1)) if TicketState::parse(&status) != Some(TicketState::Closed) => Some(id),
            _ => None,
        })
    }

    /// The poller's position in `mailbox`: `(uidvalidity, last_uid)`.
    pub async fn imap_position(&self, mailbox: &str) -> Result<Option<(i64, i64)>> {
        let q = sql("SELECT uidvalidity, last_uid FROM mail_imap_state WHERE mailbox = ?", [mailbox.into()]);
        self.read_optional(&q, |r| Ok((r.get("uidvalidity")?, r.get("last_uid")?))).await
    }

    /// Moves the poller's position without importing (a message that is not usable mail, or a
    /// new UIDVALIDITY).
    pub async fn set_imap_position(&self, cursor: &ImapCursor) -> Result<()> {
        let mut tx = self.write_tx().await?;
        save_cursor(&mut tx, cursor).await?;
        tx.commit().await
    }

    /// Returns expired leases (see the module notes): `claimed` rows to the queue, `sending`
    /// rows to `unconfirmed`. The counts of each.
    pub async fn recover_mail(&self) -> Result<(u64, u64)> {
        let now = now_rfc3339();
        // Most passes find nothing: a read, so that an idle sender does not hold the writer.
        let expired =
            sql("SELECT id FROM mail_queue WHERE state IN ('claimed', 'sending') AND lease_until < ? LIMIT 1", [now.clone().into()]);
        if self.read_optional(&expired, |r| r.get::<i64>("id")).await?.is_none() {
            return Ok((0, 0));
        }
        let mut tx = self.write_tx().await?;
        let requeued = tx
            .execute(&sql(
                "UPDATE mail_queue SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_until = NULL WHERE state = 'claimed' AND lease_until < ?",
                [now.clone().into()],
            ))
            .await?;
        let unconfirmed = tx
            .execute(&sql(
                "UPDATE mail_queue SET state = 'unconfirmed', lease_owner = NULL, error = 'the sender stopped during the SMTP transaction: it may have been delivered, so it is not resent on its own' \
                 WHERE state = 'sending' AND lease_until < ?",
                [now.into()],
            ))
            .await?;
        tx.commit().await?;
        Ok((requeued, unconfirmed))
    }

    /// Leases up to `limit` due transactional mails to sender `owner` for `lease_secs`
    /// (`claimed`, one more attempt each), oldest first. Several processes may claim at once:
    /// each row goes to one. Marketing mail has caps and a suppression list of its own: see
    /// `claim_marketing_mail`.
    pub async fn claim_mail(&self, owner: &str, lease_secs: i64, limit: i64) -> Result<Vec<QueuedMail>> {
        let due = sql(
            "SELECT id FROM mail_queue WHERE state = 'queued' AND next_attempt_at <= ? AND kind <> 'marketing' LIMIT 1",
            [now_rfc3339().into()],
        );
        if self.read_optional(&due, |r| r.get::<i64>("id")).await?.is_none() {
            return Ok(Vec::new());
        }
        let skip = self.backend.skip_locked();
        let q = sql(
            &format!(
                // The batch is chosen once, in a materialized CTE: as `IN (subquery … LIMIT)`,
                // PostgreSQL ran the subquery again per row and one sender leased the whole
                // queue, leaving nothing for the others.
                "WITH batch AS MATERIALIZED (SELECT id FROM mail_queue WHERE state = 'queued' AND next_attempt_at <= ? AND kind <> 'marketing' \
                 ORDER BY next_attempt_at, id LIMIT ?{skip}) \
                 UPDATE mail_queue SET state = 'claimed', lease_owner = ?, lease_until = ?, attempts = attempts + 1 \
                 WHERE id IN (SELECT id FROM batch) AND state = 'queued' RETURNING {QUEUE_COLS}"
            ),
            [now_rfc3339().into(), limit.into(), owner.into(), time_in(lease_secs).into()],
        );
        let mut tx = self.write_tx().await?;
        let mut rows = tx.fetch_all(&q, queued).await?;
        tx.commit().await?;
        rows.sort_by_key(|m| m.id);
        Ok(rows)
    }

    /// Marks the leased mails of `ids` `sending`, committed, just before their SMTP
    /// transactions (renewing their leases): the ids marked. One whose lease was lost is left
    /// out, and must not be sent. A sender marks the mails that start together in one
    /// transaction.
    pub async fn mails_sending(&self, ids: &[i64], owner: &str, lease_secs: i64) -> Result<Vec<i64>> {
        let mut tx = self.write_tx().await?;
        let mut marked = Vec::with_capacity(ids.len());
        for part in ids.chunks(MAX_ARGS - 3) {
            let mut args: Vec<Arg> = vec![time_in(lease_secs).into(), owner.into(), now_rfc3339().into()];
            args.extend(part.iter().map(|i| Arg::from(*i)));
            let q = sql(
                &format!(
                    "UPDATE mail_queue SET state = 'sending', lease_until = ? WHERE state = 'claimed' AND lease_owner = ? AND lease_until > ? \
                     AND id IN {} RETURNING id",
                    marks(part.len())
                ),
                args,
            );
            marked.extend(tx.fetch_all(&q, |r| r.get::<i64>("id")).await?);
        }
        tx.commit().await?;
        Ok(marked)
    }

    /// Records that the SMTP server accepted the mails of `ids` (also those whose lease ran
    /// out: they are sent), and for campaign mail the member's `sent`, in one transaction: the
    /// ids recorded (not one an admin took out of `sending` or `unconfirmed` meanwhile).
    pub async fn mails_sent(&self, ids: &[i64], owner: &str) -> Result<Vec<i64>> {
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let mut recorded = Vec::with_capacity(ids.len());
        for part in ids.chunks(MAX_ARGS - 2) {
            let mut args: Vec<Arg> = vec![now.clone().into(), owner.into()];
            args.extend(part.iter().map(|i| Arg::from(*i)));
            let q = sql(
                &format!(
                    "UPDATE mail_queue SET state = 'sent', sent_at = ?, lease_owner = NULL, lease_until = NULL, error = NULL \
                     WHERE (lease_owner = ? OR lease_owner IS NULL) AND state IN ('sending', 'unconfirmed') AND id IN {} \
                     RETURNING id, campaign_id, person_id, to_key",
                    marks(part.len())
                ),
                args,
            );
            let sent = tx
                .fetch_all(&q, |r| {
                    Ok(crate::marketing::SentMail {
                        id: r.get("id")?,
                        campaign: r.get("campaign_id")?,
                        person: r.get("person_id")?,
                        key: r.get("to_key")?,
                    })
                })
                .await?;
            crate::marketing::mails_delivered(&mut tx, &sent, &now).await?;
            recorded.extend(sent.iter().map(|m| m.id));
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// Records a failed attempt: a temporary failure is queued again with backoff, a permanent
    /// one (or the last attempt) fails the mail. The state it is left in.
    pub async fn mail_attempt_failed(&self, m: &QueuedMail, owner: &str, error: &str, permanent: bool) -> Result<MailState> {
        let base = self.mail_retry_secs.get().copied().unwrap_or(60);
        let (state, next) = match retry_after(m.attempts, permanent) {
            Some(delay) => (MailState::Queued, time_in(delay / 60 * base)),
            None => (MailState::Failed, now_rfc3339()),
        };
        let error: String = error.chars().take(1000).collect();
        let mut tx = self.write_tx().await?;
        tx.execute(&sql(
            "UPDATE mail_queue SET state = ?, next_attempt_at = ?, error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
            [state.as_str().into(), next.into(), error.into(), m.id.into(), owner.into()],
        ))
        .await?;
        if let Some(send) = m.send_id {
            crate::marketing::count_failure(&mut tx, send).await?;
        }
        tx.commit().await?;
        Ok(state)
    }

    /// The queue at a glance (admins: it shows every recipient).
    pub async fn mail_queue_summary(&self, actor: &Actor, limit: i64) -> Result<MailQueueSummary> {
        require(actor, Object::User, Action::Update)?;
        let counts = self
            .read(&sql("SELECT state, COUNT(*) AS n FROM mail_queue GROUP BY state ORDER BY state", []), |r| {
                Ok(rapport_domain::service::mail::StateCount { state: r.get("state")?, count: r.get("n")? })
            })
            .await?;
        let q = sql(
            "SELECT id, kind, to_addr, subject, ticket_id, message_id, state, attempts, next_attempt_at, sent_at, error, created_at FROM mail_queue ORDER BY id DESC LIMIT ?",
            [limit.into()],
        );
        Ok(MailQueueSummary { counts, recent: self.read(&q, mail_row).await? })
    }

    /// An admin sends an `unconfirmed` or `failed` mail again (after checking it was not
    /// delivered), audited.
    pub async fn requeue_mail(&self, actor: &Actor, id: i64) -> Result<()> {
        require(actor, Object::User, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let n = tx
            .execute(&sql(
                "UPDATE mail_queue SET state = 'queued', next_attempt_at = ?, attempts = 0, error = NULL WHERE id = ? AND state IN ('unconfirmed', 'failed')",
                [now_rfc3339().into(), id.into()],
            ))
            .await?;
        if n == 0 {
            return Err(Error::Invalid(ValidationErrors::single("id", "only an unconfirmed or failed mail can be requeued")));
        }
        self.audit(&mut tx, actor, "requeue", "mail", Some(id), serde_json::Value::Null).await?;
        tx.commit().await
    }
}
