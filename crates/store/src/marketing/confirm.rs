//! Double opt-in (issue 12 §4): a sign-up asks for confirmation by mail. [`request_confirmation`]
//! (in the sign-up's transaction) writes a pending confirmation with a signed token and a
//! transactional mail (no unsubscribe header, not subject to marketing opt-outs) linking to
//! `/m/confirm/{token}`. A GET of the link only shows a page; its POST records the consent,
//! with the time, the confirming client's IP, the sign-up's source and `consent` as legal
//! basis. Confirming twice changes nothing.

use rapport_domain::customer::Customer;
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use serde::Serialize;

use super::consent::{mask, write_consent};
use super::{base_url, key_in, new_token};
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

/// What the confirmation page shows.
#[derive(Debug, Clone, Serialize)]
pub struct ConfirmationView {
    /// The address, masked.
    pub email: String,
    /// The topic signed up for.
    pub topic: String,
    /// Whether it is confirmed already.
    pub confirmed: bool,
}

/// Asks `person` to confirm signing up for `topic` (from `source`), in the caller's
/// transaction; nothing when they have no email address or the server has no public address
/// for the link (logged: without confirmation no consent is recorded).
pub(crate) async fn request_confirmation(
    store: &Store,
    tx: &mut WriteTx,
    person: i64,
    email: &str,
    name: &str,
    topic: &str,
    source: &str,
) -> Result<()> {
    let base = match base_url(store) {
        Ok(b) => b,
        Err(_) => {
            tracing::warn!(person, "a sign-up asked for mail, but without --public-url no confirmation link can be sent");
            return Ok(());
        }
    };
    let key = key_in(store, tx).await?;
    let token = new_token(&key);
    let now = now_rfc3339();
    tx.execute(&sql(
        "INSERT INTO marketing_confirmations (token, person_id, topic, source, requested_at) VALUES (?, ?, ?, ?, ?)",
        [token.clone().into(), person.into(), topic.into(), source.into(), now.clone().into()],
    ))
    .await?;
    let link = format!("{base}/m/confirm/{token}");
    let text = format!(
        "Hello {name},\n\nplease confirm that you want to receive our email about \"{topic}\":\n\n{link}\n\n\
         If you did not sign up, ignore this mail: you will not hear from us about it."
    );
    let random = token.split('.').next().unwrap_or("").to_string();
    tx.execute(&sql(
        "INSERT INTO mail_queue (kind, to_addr, to_name, subject, text_body, headers, message_id, state, next_attempt_at, created_at) \
         VALUES ('transactional', ?, ?, ?, ?, '{}', ?, 'queued', ?, ?)",
        [
            email.into(),
            name.into(),
            "Please confirm your subscription".into(),
            text.into(),
            format!("{random}.confirm@rapport").into(),
            now.clone().into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Records a sign-up's consent to `topic` at once (single opt-in), in the caller's transaction,
/// with the submitter's `ip`, the source and `consent` as legal basis.
pub(crate) async fn record_signup(tx: &mut WriteTx, person: i64, topic: &str, source: &str, ip: Option<&str>, at: &str) -> Result<()> {
    write_consent(tx, person, topic, true, "consent", source, ip, at).await
}

impl Store {
    async fn confirmation_in(&self, tx: &mut WriteTx, token: &str) -> Result<(i64, i64, String, String, Option<String>)> {
        if !self.marketing_token_ok(token).await? {
            return Err(Error::NotFound);
        }
        let q = sql("SELECT id, person_id, topic, source, confirmed_at FROM marketing_confirmations WHERE token = ?", [token.into()]);
        tx.fetch_optional(&q, |r| Ok((r.get("id")?, r.get("person_id")?, r.get("topic")?, r.get("source")?, r.get("confirmed_at")?)))
            .await?
            .ok_or(Error::NotFound)
    }

    async fn confirmation_view_in(&self, tx: &mut WriteTx, person: i64, topic: String, confirmed: bool) -> Result<ConfirmationView> {
        let c = self.record_in::<Customer>(tx, &Actor::system(), person, true).await?;
        Ok(ConfirmationView { email: mask(c.data.email.as_deref().unwrap_or("")), topic, confirmed })
    }

    /// What the confirmation page of `token` shows; changes nothing.
    pub async fn confirmation_view(&self, token: &str) -> Result<ConfirmationView> {
        let mut tx = self.write_tx().await?;
        let (_, person, topic, _, confirmed) = self.confirmation_in(&mut tx, token).await?;
        let v = self.confirmation_view_in(&mut tx, person, topic, confirmed.is_some()).await?;
        tx.commit().await?;
        Ok(v)
    }

    /// Confirms the sign-up of `token` from a client at `ip`: the consent is recorded now (once).
    pub async fn confirm_subscription(&self, token: &str, ip: Option<&str>) -> Result<ConfirmationView> {
        let mut tx = self.write_tx().await?;
        let (id, person, topic, source, confirmed) = self.confirmation_in(&mut tx, token).await?;
        if confirmed.is_none() {
            let now = now_rfc3339();
            let n = tx
                .execute(&sql(
                    "UPDATE marketing_confirmations SET confirmed_at = ?, ip = ? WHERE id = ? AND confirmed_at IS NULL",
                    [now.clone().into(), ip.map(str::to_string).into(), id.into()],
                ))
                .await?;
            if n == 1 {
                write_consent(&mut tx, person, &topic, true, "consent", &source, ip, &now).await?;
            }
        }
        let v = self.confirmation_view_in(&mut tx, person, topic, true).await?;
        tx.commit().await?;
        Ok(v)
    }
}
