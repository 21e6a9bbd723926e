//! Consent and unsubscribe: consent rows per person and topic (time, IP, source, legal basis),
//! the public unsubscribe page and one-click POST, the preference centre, and the suppression
//! list every later marketing send checks (see `claim_marketing_mail`).

use rapport_domain::ValidationErrors;
use rapport_domain::customer::Customer;
use rapport_domain::marketing::email::{Consent, ConsentInput, GLOBAL_TOPIC};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use serde::Serialize;
use serde_json::json;

use super::email::advance_member;
use super::tracking::{MailOfToken, event, mail_of_token};
use crate::row::Row;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

/// What the unsubscribe page shows (nothing that identifies more than the address, masked).
#[derive(Debug, Clone, Serialize)]
pub struct UnsubscribeView {
    /// The address, masked (`a***@example.com`).
    pub email: String,
    /// Whether it is unsubscribed already.
    pub unsubscribed: bool,
}

/// The preference centre of the person a mail went to.
#[derive(Debug, Clone, Serialize)]
pub struct Preferences {
    /// The address, masked.
    pub email: String,
    /// Every topic they were mailed about or decided on, with whether they receive it.
    pub topics: Vec<(String, bool)>,
    /// Unsubscribed from all marketing mail.
    pub unsubscribed: bool,
}

pub(super) fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((l, d)) => format!("{}***@{d}", l.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

fn consent_row(r: &dyn Row) -> Result<Consent> {
    Ok(Consent {
        person_id: r.get("person_id")?,
        topic: r.get("topic")?,
        granted: r.get::<i64>("granted")? == 1,
        legal_basis: r.get("legal_basis")?,
        source: r.get("source")?,
        ip: r.get("ip")?,
        at: r.get("at")?,
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn write_consent(
    tx: &mut WriteTx,
    person: i64,
    topic: &str,
    granted: bool,
    basis: &str,
    source: &str,
    ip: Option<&str>,
    at: &str,
) -> Result<()> {
    tx.execute(&sql(
        "INSERT INTO marketing_consents (person_id, topic, granted, legal_basis, source, ip, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [person.into(), topic.into(), i64::from(granted).into(), basis.into(), source.into(), ip.map(str::to_string).into(), at.into()],
    ))
    .await?;
    Ok(())
}

/// Puts `key` on the suppression list (the first reason stays).
pub(crate) async fn suppress(tx: &mut WriteTx, key: &str, reason: &str, person: Option<i64>, source: &str, at: &str) -> Result<()> {
    tx.execute(&sql(
        "INSERT INTO marketing_suppressions (email_key, reason, person_id, source, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (email_key) DO NOTHING",
        [key.into(), reason.into(), person.into(), source.into(), at.into()],
    ))
    .await?;
    Ok(())
}

/// The latest decision per topic of `person`.
async fn latest(tx: &mut WriteTx, person: i64) -> Result<Vec<(String, bool)>> {
    let q = sql(
        "SELECT c.topic, c.granted FROM marketing_consents c WHERE c.person_id = ? \
         AND c.id = (SELECT MAX(c2.id) FROM marketing_consents c2 WHERE c2.person_id = c.person_id AND c2.topic = c.topic) ORDER BY c.topic",
        [person.into()],
    );
    tx.fetch_all(&q, |r| Ok((r.get("topic")?, r.get::<i64>("granted")? == 1))).await
}

async fn suppressed(tx: &mut WriteTx, key: Option<&str>) -> Result<bool> {
    let Some(k) = key else { return Ok(false) };
    Ok(tx
        .fetch_optional(&sql("SELECT reason FROM marketing_suppressions WHERE email_key = ?", [k.into()]), |r| r.get::<String>("reason"))
        .await?
        .is_some())
}

impl Store {
    async fn token_mail(&self, tx: &mut WriteTx, token: &str) -> Result<MailOfToken> {
        if !self.marketing_token_ok(token).await? {
            return Err(Error::NotFound);
        }
        mail_of_token(tx, token).await
    }

    /// What the unsubscribe page of `token` shows; changes nothing (mail scanners open links).
    pub async fn unsubscribe_view(&self, token: &str) -> Result<UnsubscribeView> {
        let mut tx = self.write_tx().await?;
        let m = self.token_mail(&mut tx, token).await?;
        let unsubscribed = suppressed(&mut tx, m.to_key.as_deref()).await?;
        tx.commit().await?;
        Ok(UnsubscribeView { email: mask(&m.to_addr), unsubscribed })
    }

    async fn unsubscribe_in(&self, tx: &mut WriteTx, m: &MailOfToken, ip: Option<&str>, source: &str) -> Result<()> {
        let now = now_rfc3339();
        if let Some(key) = &m.to_key {
            suppress(tx, key, "unsubscribed", m.person_id, source, &now).await?;
        }
        if let Some(p) = m.person_id {
            write_consent(tx, p, GLOBAL_TOPIC, false, "consent", source, ip, &now).await?;
            if let Some(c) = m.campaign_id {
                advance_member(tx, c, p, "unsubscribed", &now).await?;
            }
        }
        event(tx, m, "unsubscribed", None, Some(source), None, None, &now).await?;
        let actor = Actor::system();
        self.audit(tx, &actor, "unsubscribe", "customer", m.person_id, json!({"mail_id": m.id, "source": source, "ip": ip})).await
    }

    /// Unsubscribes the recipient of the mail with `token` from all marketing mail (the POST of
    /// the link, one-click or the confirmation page's button): suppressed, consent withdrawn,
    /// the member `unsubscribed`, on the timeline; audited. Repeating it changes nothing more.
    pub async fn unsubscribe(&self, token: &str, ip: Option<&str>, source: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let m = self.token_mail(&mut tx, token).await?;
        if !suppressed(&mut tx, m.to_key.as_deref()).await? {
            self.unsubscribe_in(&mut tx, &m, ip, source).await?;
        }
        tx.commit().await
    }

    /// The preference centre of the mail with `token`.
    pub async fn preferences(&self, token: &str) -> Result<Preferences> {
        let mut tx = self.write_tx().await?;
        let m = self.token_mail(&mut tx, token).await?;
        let unsubscribed = suppressed(&mut tx, m.to_key.as_deref()).await?;
        let mut topics: Vec<(String, bool)> = Vec::new();
        let known: Vec<String> =
            tx.fetch_all(&sql("SELECT DISTINCT topic FROM campaign_sends ORDER BY topic", []), |r| r.get("topic")).await?;
        let decided = match m.person_id {
            Some(p) => latest(&mut tx, p).await?,
            None => vec![],
        };
        for t in known.iter().chain(decided.iter().map(|(t, _)| t)) {
            if t != GLOBAL_TOPIC && !topics.iter().any(|(x, _)| x == t) {
                let granted = decided.iter().find(|(x, _)| x == t).map(|(_, g)| *g).unwrap_or(true);
                topics.push((t.clone(), granted));
            }
        }
        topics.sort();
        tx.commit().await?;
        Ok(Preferences { email: mask(&m.to_addr), topics, unsubscribed })
    }

    /// Saves the preference centre: the topics in `receive` are granted, the other known ones
    /// withdrawn; `unsubscribe_all` unsubscribes from everything, and unticking it after an
    /// unsubscribe subscribes again (a bounce or complaint stays suppressed).
    pub async fn save_preferences(&self, token: &str, receive: &[String], unsubscribe_all: bool, ip: Option<&str>) -> Result<Preferences> {
        let before = self.preferences(token).await?;
        let mut tx = self.write_tx().await?;
        let m = self.token_mail(&mut tx, token).await?;
        let now = now_rfc3339();
        if let Some(p) = m.person_id {
            for (t, was) in &before.topics {
                let now_granted = receive.contains(t);
                if now_granted != *was {
                    write_consent(&mut tx, p, t, now_granted, "consent", "preference_centre", ip, &now).await?;
                }
            }
        }
        if unsubscribe_all && !before.unsubscribed {
            self.unsubscribe_in(&mut tx, &m, ip, "preference_centre").await?;
        } else if !unsubscribe_all && before.unsubscribed {
            if let Some(k) = &m.to_key {
                tx.execute(&sql("DELETE FROM marketing_suppressions WHERE email_key = ? AND reason = 'unsubscribed'", [k.clone().into()]))
                    .await?;
            }
            if let Some(p) = m.person_id {
                write_consent(&mut tx, p, GLOBAL_TOPIC, true, "consent", "preference_centre", ip, &now).await?;
            }
        }
        self.audit(
            &mut tx,
            &Actor::system(),
            "preferences",
            "customer",
            m.person_id,
            json!({"receive": receive, "unsubscribe_all": unsubscribe_all, "ip": ip}),
        )
        .await?;
        tx.commit().await?;
        self.preferences(token).await
    }

    /// Records a consent decision for a person (a sign-up form, a call, an import); audited.
    /// Withdrawing the global consent also suppresses the person's address.
    pub async fn record_consent(&self, actor: &Actor, person: i64, input: ConsentInput) -> Result<Consent> {
        require(actor, Object::Customer, Action::Update)?;
        let input = input.validated()?;
        self.record_visible::<Customer>(actor, person).await?;
        let mut tx = self.write_tx().await?;
        let now = now_rfc3339();
        let basis = input.legal_basis.clone().unwrap_or_else(|| "consent".into());
        let source = input.source.clone().unwrap_or_else(|| "api".into());
        write_consent(&mut tx, person, &input.topic, input.granted, &basis, &source, input.ip.as_deref(), &now).await?;
        if input.topic == GLOBAL_TOPIC && !input.granted {
            let c = self.record_in::<Customer>(&mut tx, &Actor::system(), person, false).await?;
            if let Some(e) = &c.data.email {
                suppress(&mut tx, &self.email_key(e), "unsubscribed", Some(person), &source, &now).await?;
            }
        }
        self.audit(
            &mut tx,
            actor,
            "consent",
            "customer",
            Some(person),
            json!({"topic": &input.topic, "granted": input.granted, "legal_basis": &basis, "source": &source}),
        )
        .await?;
        tx.commit().await?;
        Ok(Consent { person_id: person, topic: input.topic, granted: input.granted, legal_basis: basis, source, ip: input.ip, at: now })
    }

    /// A person's consent history, newest first.
    pub async fn list_consents(&self, actor: &Actor, person: i64) -> Result<Vec<Consent>> {
        self.record_visible::<Customer>(actor, person).await?;
        let q = sql(
            "SELECT person_id, topic, granted, legal_basis, source, ip, at FROM marketing_consents WHERE person_id = ? ORDER BY id DESC",
            [person.into()],
        );
        self.read(&q, consent_row).await
    }

    /// Whether marketing mail to `email` is suppressed, and why.
    pub async fn suppression_of(&self, actor: &Actor, email: &str) -> Result<Option<String>> {
        require(actor, Object::Campaign, Action::Read)?;
        if !email.contains('@') {
            return Err(Error::Invalid(ValidationErrors::single("email", "is not an email address")));
        }
        let key = self.email_key(&email.trim().to_lowercase());
        self.read_optional(&sql("SELECT reason FROM marketing_suppressions WHERE email_key = ?", [key.into()]), |r| r.get("reason")).await
    }
}
