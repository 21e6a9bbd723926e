//! Tickets by email: reading an inbound RFC 5322 message (one parser for the inbound endpoint
//! and the IMAP poller), the ticket number in subjects, the texts of outgoing mail, and the
//! delivery rules of the mail queue (which SMTP answers are retried, and when).
//!
//! Decisions where the issue is silent:
//! - A sender whose email matches no person becomes a new, unowned person (source `email`),
//!   like the public form's; a lead-less contact, since an email to support is not a sales lead.
//! - A reply threads onto a ticket found by `In-Reply-To`/`References` (any Message-ID Rapport
//!   stored for it, inbound or outbound), else by a `[#123]` tag in the subject, and only when
//!   the sender is the ticket's person; a closed ticket is final, so a reply to it opens a new
//!   ticket. Everything else opens a new ticket.
//! - Mail marked `Auto-Submitted` (out-of-office, bounces) is kept in the conversation but
//!   gets no acknowledgement, so two robots never answer each other forever.

use mail_parser::{HeaderValue, MessageParser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::message::MAX_BODY;
use crate::ValidationErrors;
use crate::values::Email;

/// The longest raw message accepted, in bytes (attachments beyond this belong in a file store).
pub const MAX_RAW: usize = 2 * 1024 * 1024;

/// What Rapport keeps of an inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// Its Message-ID without angle brackets (one is made up from the content when missing, so
    /// that a second delivery of the same message is still recognised).
    pub message_id: String,
    /// The Message-IDs it answers: `In-Reply-To` first, then `References` newest first.
    pub refers_to: Vec<String>,
    /// The sender's address, canonical.
    pub from_email: String,
    /// The sender's display name, or the part before `@`.
    pub from_name: String,
    /// The subject (`(no subject)` when empty), at most 200 characters.
    pub subject: String,
    /// The text (HTML-only mail converted to text), at most [`MAX_BODY`] characters.
    pub body: String,
    /// Sent by a robot (`Auto-Submitted` other than `no`): never acknowledged.
    pub auto_submitted: bool,
}

fn strip_id(s: &str) -> String {
    s.trim().trim_start_matches('<').trim_end_matches('>').trim().to_string()
}

fn ids(v: &HeaderValue) -> Vec<String> {
    v.as_text_list().map(|l| l.iter().map(|s| strip_id(s)).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
}

/// At most `max` characters, without NUL (which PostgreSQL text cannot hold).
fn truncate(s: &str, max: usize) -> String {
    s.chars().filter(|c| *c != '\0').take(max).collect()
}

impl InboundMail {
    /// Parses a raw message, naming what makes it unusable (no sender address, too big).
    pub fn parse(raw: &[u8]) -> Result<InboundMail, ValidationErrors> {
        if raw.len() > MAX_RAW {
            return Err(ValidationErrors::single("body", format!("the message is over {MAX_RAW} bytes")));
        }
        let msg = MessageParser::default()
            .parse(raw)
            .filter(|m| !m.parts.is_empty() && !m.parts[0].headers.is_empty())
            .ok_or_else(|| ValidationErrors::single("body", "is not an RFC 5322 message"))?;
        let from = msg.from().and_then(|a| a.first());
        let from_email = from
            .and_then(|a| a.address())
            .ok_or_else(|| ValidationErrors::single("From", "the message has no sender address"))
            .and_then(|a| Email::parse(a).map_err(|m| ValidationErrors::single("From", m.to_string())))?
            .to_string();
        let from_name = from
            .and_then(|a| a.name())
            .map(|n| truncate(n, 200).trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| from_email.split('@').next().unwrap_or("").to_string());
        let mut refers_to = ids(msg.in_reply_to());
        let mut refs = ids(msg.references());
        refs.reverse();
        for r in refs {
            if !refers_to.contains(&r) {
                refers_to.push(r);
            }
        }
        let subject = msg.subject().map(|s| truncate(s, 200)).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let subject = subject.unwrap_or_else(|| "(no subject)".into());
        let body = msg.body_text(0).map(|b| truncate(&b, MAX_BODY).trim().to_string()).filter(|b| !b.is_empty());
        let body = body.unwrap_or_else(|| "(empty message)".into());
        let message_id = match msg.message_id().map(strip_id).filter(|m| !m.is_empty()) {
            Some(m) => m,
            None => format!("missing-{:016x}@rapport", fnv(raw)),
        };
        let auto_submitted = msg.header("Auto-Submitted").and_then(|v| v.as_text()).is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
        Ok(InboundMail {
            message_id: truncate(&message_id, 250),
            refers_to: refers_to.into_iter().take(50).map(|r| truncate(&r, 250)).collect(),
            from_email,
            from_name: truncate(&from_name, 200),
            subject,
            body,
            auto_submitted,
        })
    }

    /// The ticket number a `[#123]` tag in the subject names, if any.
    pub fn ticket_number(&self) -> Option<i64> {
        ticket_number(&self.subject)
    }
}

/// A stable 64-bit digest (FNV-1a) for the made-up Message-ID of a message without one.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The number of the first `[#123]` tag in `subject`.
pub fn ticket_number(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            return digits.parse().ok();
        }
        rest = after;
    }
    None
}

/// The subject of an outgoing mail about ticket `id`: its tag, then the ticket's subject.
pub fn subject_for(id: i64, prefix: &str, subject: &str) -> String {
    let tag = format!("[#{id}]");
    let bare = subject.replace(&tag, "");
    let bare = bare.trim();
    if prefix.is_empty() { format!("{tag} {bare}") } else { format!("{prefix}: {tag} {bare}") }
}

/// The References header of a mail in a ticket's thread: the thread's first message and the
/// latest ones (at most 10 ids, as mail clients trim them).
pub fn references(thread: &[String]) -> Vec<String> {
    if thread.len() <= 10 {
        return thread.to_vec();
    }
    let mut out = vec![thread[0].clone()];
    out.extend_from_slice(&thread[thread.len() - 9..]);
    out
}

/// Why a ticket mail is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketMailReason {
    /// The ticket was opened (by email or the public form).
    Acknowledgement,
    /// An agent's public reply.
    Reply,
    /// The ticket was resolved.
    Resolved,
}

/// The subject and text of a ticket mail; `body` is the agent's reply for [`TicketMailReason::Reply`].
pub fn ticket_mail_text(reason: TicketMailReason, id: i64, subject: &str, body: &str) -> (String, String) {
    let footer = format!("\n\n--\nTicket #{id}. Reply to this email to add to the conversation; keep [#{id}] in the subject.");
    match reason {
        TicketMailReason::Acknowledgement => (
            subject_for(id, "", subject),
            format!("Hello,\n\nwe received your request \"{subject}\" and opened ticket #{id}. We will answer as soon as we can.{footer}"),
        ),
        TicketMailReason::Reply => (subject_for(id, "Re", subject), format!("{body}{footer}")),
        // `body` is the survey link, when there is one.
        TicketMailReason::Resolved => {
            let survey = if body.is_empty() { String::new() } else { format!("\n\nHow did we do? Tell us here: {body}") };
            (
                subject_for(id, "Resolved", subject),
                format!(
                    "Hello,\n\nwe have resolved ticket #{id} \"{subject}\". If it is not solved for you, just reply to this email and the ticket reopens.{survey}{footer}"
                ),
            )
        }
    }
}

/// Where a queued mail stands (see the `mail_queue` migration for the life cycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    /// Waiting to be sent (again) at `next_attempt_at`.
    Queued,
    /// Leased by a sender that has not handed it to SMTP yet.
    Claimed,
    /// Handed to SMTP; `sent` follows when the server accepts it.
    Sending,
    /// Accepted by the SMTP server.
    Sent,
    /// Refused for good (5xx) or out of attempts.
    Failed,
    /// Its sender died while the SMTP transaction was open: it may have been delivered, so it
    /// is not resent unless an admin requeues it.
    Unconfirmed,
    /// A marketing mail not sent, and never to be: its address is suppressed, its person
    /// withdrew consent, the frequency cap was reached, or its sending was cancelled.
    Skipped,
}

impl MailState {
    /// Every state.
    pub const ALL: [MailState; 7] =
        [Self::Queued, Self::Claimed, Self::Sending, Self::Sent, Self::Failed, Self::Unconfirmed, Self::Skipped];

    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Claimed => "claimed",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Unconfirmed => "unconfirmed",
            Self::Skipped => "skipped",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<MailState> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// How many times a mail is tried before it is failed.
pub const MAX_ATTEMPTS: i64 = 6;

/// What a sender does after attempt number `attempts` (1 for the first) failed: `Some(delay in
/// seconds)` to retry a temporary failure (4xx, no connection) with exponential backoff of 1,
/// 2, 4, 8… minutes, `None` to fail it (a permanent 5xx, or out of attempts).
pub fn retry_after(attempts: i64, permanent: bool) -> Option<i64> {
    if permanent || attempts >= MAX_ATTEMPTS {
        return None;
    }
    Some(60 * (1i64 << (attempts.clamp(1, 10) - 1)))
}

/// What happened to an inbound message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailReceipt {
    /// The ticket it opened or joined.
    pub ticket_id: i64,
    /// `opened` (a new ticket), `replied` (threaded onto the ticket) or `duplicate` (this
    /// Message-ID was received before; nothing changed).
    pub outcome: &'static str,
    /// The message's Message-ID.
    pub message_id: String,
}

/// One row of the queue as the admin page shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailRow {
    /// Row id.
    pub id: i64,
    /// `transactional` or `marketing`.
    pub kind: String,
    /// Recipient.
    pub to_addr: String,
    /// Subject.
    pub subject: String,
    /// The ticket it is about.
    pub ticket_id: Option<i64>,
    /// Its Message-ID.
    pub message_id: String,
    /// Where it stands.
    pub state: MailState,
    /// Attempts so far.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: String,
    /// When the SMTP server accepted it.
    pub sent_at: Option<String>,
    /// The last error.
    pub error: Option<String>,
    /// Queued at.
    pub created_at: String,
}

/// How many mails are in one state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StateCount {
    /// The state.
    pub state: String,
    /// Mails in it.
    pub count: i64,
}

/// The queue at a glance: rows per state, and the latest rows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MailQueueSummary {
    /// Every state that has rows, with its count (an object each, so that generated clients
    /// read it: OpenAPI describes tuples poorly).
    pub counts: Vec<StateCount>,
    /// The latest rows, newest first.
    pub recent: Vec<MailRow>,
}

#[cfg(test)]
#[path = "mail_tests.rs"]
mod tests;
