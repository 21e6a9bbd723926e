//! The public side of tickets: the form that opens one without signing in, and the customer's
//! secret link, through which they read the public conversation, reply, confirm a resolution
//! or reopen it.
//!
//! Nobody is signed in, so everything is written as [`Actor::system`] (with the request id)
//! and audited like any change. The link's secret is 32 random bytes; only its SHA-256 is
//! stored, so a copy of the database does not open anyone's tickets.

use rapport_domain::customer::Customer;
use rapport_domain::permissions::Actor;
use rapport_domain::service::message::MessageInput;
use rapport_domain::service::public::{PublicTicket, PublicTicketView};
use rapport_domain::service::ticket::{Channel, Ticket, TicketData};
use rapport_domain::service::workflow::{self, TicketAction, TicketState};
use rapport_domain::{ValidationErrors, now_rfc3339};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::tickets::{MESSAGE_COLS, NewMessage, insert_message, message};
use crate::records::engine::Checked;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

fn secret_hash(secret: &str) -> String {
    crate::crypto::hex(&Sha256::digest(secret.as_bytes()))
}

/// The statement that reads a live ticket's stored link hash.
fn access_hash(id: i64) -> crate::sql::Sql {
    sql("SELECT access_hash FROM tickets WHERE id = ? AND deleted_at IS NULL", [id.into()])
}

/// Whether `secret` opens a ticket whose link hash is `stored`: "not found" otherwise.
fn opens(stored: Option<&str>, secret: &str) -> Result<()> {
    let given = secret_hash(secret);
    // Both are hex digests of equal length; compare without an early exit.
    let same = stored.is_some_and(|s| s.len() == given.len() && s.bytes().zip(given.bytes()).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0);
    if same { Ok(()) } else { Err(Error::NotFound) }
}

impl Store {
    /// Opens a ticket from the public form, as the system: the person with this email (a new,
    /// unowned one when the email is unknown), a `new` ticket from the web form in the queue,
    /// and the message as the first of its conversation, in one transaction. Returns the
    /// ticket's number and the secret of the customer's link (shown once, stored hashed).
    pub async fn open_public_ticket(&self, t: &PublicTicket, request_id: Option<String>) -> Result<(i64, String)> {
        let actor = Actor { request_id, ..Actor::system() };
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let lock = self.backend.lock_rows();
        let q =
            sql(&format!("SELECT id FROM customers WHERE email_hash = ? AND deleted_at IS NULL{lock}"), [self.email_key(&t.email).into()]);
        let known: Option<i64> = tx.fetch_optional(&q, |r| r.get("id")).await?;
        let person = match known {
            Some(id) => id,
            None => {
                let p = t.new_person();
                let id = self.insert_record::<Customer>(&mut tx, &actor, &p, &[], &mut Checked::default()).await?;
                self.audit(&mut tx, &actor, "create", "customer", Some(id), json!({"after": &p, "via": "ticket_form"})).await?;
                id
            }
        };
        let data = TicketData {
            subject: t.subject.clone(),
            description: Some(t.message.clone()),
            channel: Channel::WebForm,
            customer_id: Some(person),
            status_changed_at: Some(now.clone()),
            ..TicketData::default()
        };
        let id = self.create_record_in::<Ticket>(&mut tx, &actor, &data).await?;
        let secret = crate::crypto::hex(&rand::random::<[u8; 32]>());
        tx.execute(&sql("UPDATE tickets SET access_hash = ? WHERE id = ?", [secret_hash(&secret).into(), id.into()])).await?;
        let first = NewMessage {
            author: workflow::Actor::Customer,
            author_id: None,
            author_name: Some(t.name.clone()),
            internal: false,
            body: &t.message,
        };
        insert_message(&mut tx, id, first, &now).await?;
        super::mail::queue_ticket_mail(self, &mut tx, id, rapport_domain::service::mail::TicketMailReason::Acknowledgement, "").await?;
        tx.commit().await?;
        Ok((id, secret))
    }

    /// The ticket behind a customer's link, inside a change's transaction, or "not found" for a
    /// wrong number or secret (the same answer for both, so a guess learns nothing).
    async fn linked_ticket(&self, tx: &mut WriteTx, id: i64, secret: &str) -> Result<Ticket> {
        let stored: Option<String> = tx.fetch_optional(&access_hash(id), |r| r.get::<Option<String>>("access_hash")).await?.flatten();
        opens(stored.as_deref(), secret)?;
        self.record_in::<Ticket>(tx, &Actor::system(), id, false).await
    }

    /// What the customer's link shows (a read: no write transaction).
    pub async fn public_ticket(&self, id: i64, secret: &str) -> Result<PublicTicketView> {
        let stored: Option<String> = self.read_optional(&access_hash(id), |r| r.get::<Option<String>>("access_hash")).await?.flatten();
        opens(stored.as_deref(), secret)?;
        let t = self.get_record::<Ticket>(&Actor::system(), id).await?;
        let q = sql(&format!("SELECT {MESSAGE_COLS} FROM ticket_messages WHERE ticket_id = ? AND internal = 0 ORDER BY id"), [id.into()]);
        let messages = self.read(&q, message).await?;
        Ok(PublicTicketView::new(t.id, t.data.subject, t.data.status, messages))
    }

    /// The customer replies through their link: the message joins the conversation and the
    /// ticket moves as a customer reply moves it (a waiting ticket back in progress, a resolved
    /// one reopened). A closed ticket takes no more messages (409: a new ticket is the way).
    pub async fn public_ticket_reply(&self, id: i64, secret: &str, body: &str, request_id: Option<String>) -> Result<()> {
        let (body, _) = MessageInput { body: Some(body.to_string()), internal: false }.validate(workflow::Actor::Customer)?;
        let actor = Actor { request_id, ..Actor::system() };
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let t = self.linked_ticket(&mut tx, id, secret).await?;
        self.update_in::<Ticket, _, _>(&mut tx, &actor, id, None, |cur: &TicketData| {
            cur.perform(TicketAction::CustomerReply, workflow::Actor::Customer, None, None, &now)
        })
        .await?;
        let reply =
            NewMessage { author: workflow::Actor::Customer, author_id: None, author_name: t.customer_name, internal: false, body: &body };
        insert_message(&mut tx, id, reply, &now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The customer confirms the resolution (closing the ticket) or reopens it, through their
    /// link; anything else, or a status that does not allow it, is refused naming what is.
    pub async fn public_ticket_action(
        &self,
        id: i64,
        secret: &str,
        action: TicketAction,
        request_id: Option<String>,
    ) -> Result<TicketState> {
        if !matches!(action, TicketAction::Confirm | TicketAction::Reopen) {
            return Err(Error::Invalid(ValidationErrors::single("action", "use confirm or reopen")));
        }
        let actor = Actor { request_id, ..Actor::system() };
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        self.linked_ticket(&mut tx, id, secret).await?;
        let t = self
            .update_in::<Ticket, _, _>(&mut tx, &actor, id, None, |cur: &TicketData| {
                cur.perform(action, workflow::Actor::Customer, None, None, &now)
            })
            .await?;
        tx.commit().await?;
        Ok(t.data.status)
    }
}
