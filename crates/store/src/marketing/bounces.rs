//! Bounces and complaints: a provider's webhook events (authenticated by the API's tokens) and
//! bounce messages from an IMAP mailbox, found by the VERP return path of the mail they are
//! about. A hard bounce or a complaint suppresses the address at once; soft bounces after the
//! configured count.

use rapport_domain::ValidationErrors;
use rapport_domain::marketing::email::{BounceEvent, BounceKind, BounceOutcome, SOFT_BOUNCE_LIMIT, dsn_is_hard, verp_token};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use serde_json::json;

use super::consent::suppress;
use super::email::advance_member;
use super::tracking::{MailOfToken, event, mail_of_token};
use crate::service::mail::ImapCursor;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

impl Store {
    async fn bounce_in(
        &self,
        tx: &mut WriteTx,
        m: &MailOfToken,
        kind: BounceKind,
        reason: Option<&str>,
        source: &str,
    ) -> Result<BounceOutcome> {
        let now = now_rfc3339();
        event(tx, m, kind.as_str(), None, reason, None, None, &now).await?;
        let key = m.to_key.clone().unwrap_or_default();
        let suppressed = match kind {
            BounceKind::Hard | BounceKind::Complaint => true,
            BounceKind::Soft => {
                let q =
                    sql("SELECT COUNT(*) AS n FROM marketing_events WHERE email_key = ? AND kind = 'soft_bounce'", [key.clone().into()]);
                tx.fetch_one(&q, |r| r.get::<i64>("n")).await? >= self.soft_bounce_limit()
            }
        };
        if suppressed && !key.is_empty() {
            suppress(tx, &key, kind.as_str(), m.person_id, source, &now).await?;
        }
        if let (Some(c), Some(p)) = (m.campaign_id, m.person_id)
            && kind != BounceKind::Soft
        {
            advance_member(tx, c, p, if kind == BounceKind::Complaint { "complained" } else { "bounced" }, &now).await?;
        }
        self.audit(
            tx,
            &Actor::system(),
            kind.as_str(),
            "mail",
            Some(m.id),
            json!({"source": source, "suppressed": suppressed, "reason": reason}),
        )
        .await?;
        Ok(BounceOutcome { kind: kind.as_str(), suppressed, mail_id: (m.id > 0).then_some(m.id) })
    }

    /// Soft bounces after which an address is suppressed.
    pub(crate) fn soft_bounce_limit(&self) -> i64 {
        self.soft_bounces.get().copied().unwrap_or(SOFT_BOUNCE_LIMIT)
    }

    /// Sets the soft bounce count that suppresses an address; once per process.
    pub fn set_soft_bounce_limit(&self, n: i64) {
        let _ = self.soft_bounces.set(n.max(1));
    }

    /// A provider's bounce or complaint event, about a mail (by Message-ID) or an address.
    pub async fn record_bounce(&self, actor: &Actor, ev: BounceEvent) -> Result<BounceOutcome> {
        require(actor, Object::Campaign, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let m = match (&ev.message_id, &ev.email) {
            (Some(id), _) => {
                let id = id.trim().trim_start_matches('<').trim_end_matches('>').to_string();
                let q = sql("SELECT track_token FROM mail_queue WHERE message_id = ? AND track_token IS NOT NULL", [id.into()]);
                let token: Option<String> = tx.fetch_optional(&q, |r| r.get("track_token")).await?;
                let token =
                    token.ok_or_else(|| Error::Invalid(ValidationErrors::single("message_id", "no marketing mail has this Message-ID")))?;
                mail_of_token(&mut tx, &token).await?
            }
            (None, Some(email)) if email.contains('@') => {
                let key = self.email_key(&email.trim().to_lowercase());
                let q = sql("SELECT person_id FROM marketing_suppressions WHERE email_key = ?", [key.clone().into()]);
                let _ = tx.fetch_optional(&q, |r| r.get::<Option<i64>>("person_id")).await?;
                MailOfToken {
                    id: 0,
                    campaign_id: None,
                    person_id: None,
                    to_key: Some(key),
                    to_addr: email.clone(),
                    links: vec![],
                    sent_at: None,
                }
            }
            _ => return Err(Error::Invalid(ValidationErrors::single("message_id", "name the mail (message_id) or the address (email)"))),
        };
        let out = self.bounce_in(&mut tx, &m, ev.kind, ev.reason.as_deref(), "webhook").await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A message from the bounce mailbox: the VERP token in its recipients (or anywhere in the
    /// report) names the mail; a DSN status 5.x.x is hard, others soft, a feedback report a
    /// complaint. Messages naming no valid token are passed over. With `cursor`, the mailbox
    /// position advances in the same transaction.
    pub async fn receive_bounce_mail(&self, raw: &[u8], cursor: Option<&ImapCursor>) -> Result<Option<BounceOutcome>> {
        let text = String::from_utf8_lossy(raw);
        let token = verp_token(&text);
        let valid = match &token {
            Some(t) => self.marketing_token_ok(t).await?,
            None => false,
        };
        let mut tx = self.write_tx().await?;
        let mut out = None;
        if valid && let Some(t) = &token {
            match mail_of_token(&mut tx, t).await {
                Ok(m) => {
                    let lower = text.to_ascii_lowercase();
                    let kind = if lower.contains("report-type=feedback-report") || lower.contains("feedback-type: abuse") {
                        BounceKind::Complaint
                    } else if dsn_is_hard(&text) {
                        BounceKind::Hard
                    } else {
                        BounceKind::Soft
                    };
                    let reason: String = text
                        .lines()
                        .find(|l| l.to_ascii_lowercase().starts_with("diagnostic-code:"))
                        .unwrap_or("")
                        .chars()
                        .take(300)
                        .collect();
                    out = Some(self.bounce_in(&mut tx, &m, kind, Some(reason.as_str()).filter(|r| !r.is_empty()), "bounce_mailbox").await?);
                }
                Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(c) = cursor {
            crate::service::mail::save_cursor(&mut tx, c).await?;
        }
        tx.commit().await?;
        Ok(out)
    }
}
