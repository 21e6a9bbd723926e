//! Marketing (issue 12): campaigns and segments on the shared record machinery, campaign
//! members and their responses, the compiler that turns segment rules into one SQL condition,
//! and marketing email on the service module's mail queue and sender: email
//! templates, the sending of a campaign (members' mails written into `mail_queue` as
//! `marketing` rows by a background job, claimed under caps and the suppression list), consent
//! and unsubscribe, open and click tracking, bounces and complaints.
//!
//! Every marketing mail carries one random token, signed with a server secret
//! (`server_secrets.marketing_token_key`): `{random}.{hmac}`. Its tracking pixel, click
//! redirects, web view, unsubscribe and preference links and its VERP return path all name
//! that token; a token whose signature does not verify is refused before any lookup.

pub(crate) mod campaigns;
pub(crate) mod members;
pub(crate) mod segments;

mod ab;
mod attribution;
#[cfg(test)]
mod attribution_plans;
mod bounces;
mod clusters;
mod compose;
mod confirm;
mod consent;
mod email;
mod funnel;
mod reports;
mod sends;
mod sequences;
mod templates;
mod tracking;
mod windows;

pub use confirm::ConfirmationView;
pub(crate) use confirm::{record_signup, request_confirmation};
pub use consent::{Preferences, UnsubscribeView};
pub use tracking::Tracked;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::sql::Arg;
use crate::{Error, Result, Store, WriteTx};

const KEY: &str = "marketing_token_key";

fn mac(key: &[u8], random: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(format!("marketing\0{random}").as_bytes());
    m
}

/// A new signed token.
pub(crate) fn new_token(key: &[u8]) -> String {
    let random = crate::crypto::hex(&rand::random::<[u8; 9]>());
    let sig = mac(key, &random).finalize().into_bytes();
    format!("{random}.{}", crate::crypto::hex(&sig[..10]))
}

/// Whether `token` carries a valid signature (checked in constant time).
pub(crate) fn verify(key: &[u8], token: &str) -> bool {
    let Some((random, sig)) = token.split_once('.') else { return false };
    if sig.len() != 20 || random.len() != 18 {
        return false;
    }
    let Some(bytes) = (0..10).map(|i| u8::from_str_radix(&sig[2 * i..2 * i + 2], 16).ok()).collect::<Option<Vec<u8>>>() else {
        return false;
    };
    mac(key, random).verify_truncated_left(&bytes).is_ok()
}

/// The token key, made inside the caller's transaction on first use.
pub(crate) async fn key_in(store: &Store, tx: &mut WriteTx) -> Result<Vec<u8>> {
    crate::secrets::key_in(store, tx, KEY).await
}

impl Store {
    /// Whether `token` is a marketing token this server signed (no key yet: none is).
    pub(crate) async fn marketing_token_ok(&self, token: &str) -> Result<bool> {
        Ok(crate::secrets::key_if_made(self, KEY).await?.is_some_and(|k| verify(&k, token)))
    }
}

/// The public base URL the links of marketing mail start with.
pub(crate) fn base_url(store: &Store) -> Result<String> {
    store.public_url().map(str::to_string).ok_or_else(|| {
        Error::Invalid(rapport_domain::ValidationErrors::single(
            "campaign",
            "marketing mail needs the server's public address for its unsubscribe and tracking links: start it with --public-url",
        ))
    })
}

pub(crate) use sends::count_failure;

/// A mail the SMTP server accepted, as `Store::mails_sent` read it back.
pub(crate) struct SentMail {
    pub id: i64,
    pub campaign: Option<i64>,
    pub person: Option<i64>,
    pub key: Option<String>,
}

/// What delivered marketing mails change, in the transaction that marks them sent: each
/// member reaches `sent` and each send goes on the person's timeline (a `sent` event). Nothing
/// for other mail.
pub(crate) async fn mails_delivered(tx: &mut WriteTx, sent: &[SentMail], at: &str) -> Result<()> {
    let campaign: Vec<(&SentMail, i64)> = sent.iter().filter_map(|m| m.campaign.map(|c| (m, c))).collect();
    for (m, c) in &campaign {
        if let Some(p) = m.person {
            email::advance_member(tx, *c, p, "sent", at).await?;
        }
    }
    let head = "INSERT INTO marketing_events (mail_id, campaign_id, person_id, email_key, kind, machine, at) VALUES ";
    let values = |(m, c): &(&SentMail, i64)| -> [Arg; 7] {
        [m.id.into(), (*c).into(), m.person.into(), m.key.clone().into(), "sent".into(), 0_i64.into(), at.into()]
    };
    for q in crate::bulk::inserts(tx.backend, head, "", 7, &campaign, values) {
        tx.execute(&q).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_verify_only_with_their_key() {
        let t = super::new_token(b"k1");
        assert!(super::verify(b"k1", &t));
        assert!(!super::verify(b"k2", &t));
        let mut forged = t.clone();
        forged.replace_range(0..1, if t.starts_with('0') { "1" } else { "0" });
        assert!(!super::verify(b"k1", &forged));
        assert!(!super::verify(b"k1", "nonsense"));
    }
}
