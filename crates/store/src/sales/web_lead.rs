//! The public web form: its settings, its per-client throttle, and what a submission writes.
//!
//! Nobody is signed in, so the submission is written as [`Actor::system`] (with the request
//! id), audited like any change. The throttle counts in the database, not in process memory,
//! so every server process over one database shares it.

use rapport_domain::customer::Customer;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::sales::activity::Activity;
use rapport_domain::sales::web_lead::{THROTTLE_MAX, THROTTLE_MINUTES, WebFormSettings, WebFormSettingsInput, WebLead, append_needs};
use rapport_domain::{ValidationErrors, now_rfc3339, text, time_in};
use serde_json::json;

use crate::records::engine::Checked;
use crate::records::{check_owner, check_version};
use crate::row::Row;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

/// What became of a submission that passed the throttle. The submitter is told the same
/// either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebLeadOutcome {
    /// A new person, at lifecycle stage `lead`.
    Created(i64),
    /// The email was known: the interest was recorded on that person.
    Recorded(i64),
}

fn settings_from(r: &dyn Row) -> Result<WebFormSettings> {
    Ok(WebFormSettings {
        allowed_origins: serde_json::from_str(&r.get::<String>("allowed_origins")?).unwrap_or_default(),
        default_owner_id: r.get("default_owner_id")?,
        double_opt_in: r.get::<i64>("double_opt_in")? == 1,
        updated_at: Some(r.get("updated_at")?),
        version: r.get("version")?,
    })
}

const SETTINGS: &str = "SELECT allowed_origins, default_owner_id, double_opt_in, updated_at, version FROM web_form_settings WHERE id = 1";

impl Store {
    /// The web form's settings (admins).
    pub async fn web_form_settings(&self, actor: &Actor) -> Result<WebFormSettings> {
        require(actor, Object::Setting, Action::Read)?;
        Ok(self.read_optional(&sql(SETTINGS, []), settings_from).await?.unwrap_or_default())
    }

    /// The web form's settings for its public side: the origins whose pages may submit, and
    /// whether sign-ups confirm by mail (read for every submission, so every process follows a
    /// change at once).
    pub async fn web_form_public_settings(&self) -> Result<WebFormSettings> {
        Ok(self.read_optional(&sql(SETTINGS, []), settings_from).await?.unwrap_or_default())
    }

    /// Changes the web form's settings (admins); a stale `if_match` is refused. Audited.
    pub async fn update_web_form_settings(
        &self,
        actor: &Actor,
        if_match: Option<i64>,
        input: WebFormSettingsInput,
    ) -> Result<WebFormSettings> {
        require(actor, Object::Setting, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let lock = self.backend.lock_rows();
        let before = tx.fetch_optional(&sql(&format!("{SETTINGS}{lock}"), []), settings_from).await?.unwrap_or_default();
        check_version(if_match, before.version)?;
        let after = input.apply(&before)?;
        check_owner(&mut tx, after.default_owner_id).await.map_err(|_| {
            let id = after.default_owner_id.unwrap_or(0);
            Error::Invalid(ValidationErrors::single("default_owner_id", format!("there is no active user with id {id}")))
        })?;
        let now = now_rfc3339();
        let origins = serde_json::to_string(&after.allowed_origins).unwrap_or_else(|_| "[]".into());
        tx.execute(&sql(
            "INSERT INTO web_form_settings (id, allowed_origins, default_owner_id, double_opt_in, updated_at, version) VALUES (1, ?, ?, ?, ?, 1) \
             ON CONFLICT (id) DO UPDATE SET allowed_origins = excluded.allowed_origins, default_owner_id = excluded.default_owner_id, \
             double_opt_in = excluded.double_opt_in, updated_at = excluded.updated_at, version = web_form_settings.version + 1",
            [origins.into(), after.default_owner_id.into(), i64::from(after.double_opt_in).into(), now.into()],
        ))
        .await?;
        let saved = tx.fetch_one(&sql(SETTINGS, []), settings_from).await?;
        let diff = json!({
            "allowed_origins": [before.allowed_origins, saved.allowed_origins],
            "default_owner_id": [before.default_owner_id, saved.default_owner_id],
            "double_opt_in": [before.double_opt_in, saved.double_opt_in],
        });
        self.audit(&mut tx, actor, "update", "web_form_settings", None, diff).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Counts a submission from `client` (an IP, or an IPv6 /64) in its window, in one atomic
    /// upsert: the first [`THROTTLE_MAX`] of each [`THROTTLE_MINUTES`]-minute window pass; past
    /// them this returns when the window ends (RFC 3339), and the first refusal is audited.
    pub async fn throttle_web_lead(&self, client: &str, request_id: Option<String>) -> Result<Option<String>> {
        self.throttle_public_form(client, ("web_lead_throttled", "customer"), request_id).await
    }

    /// The same throttle for the public ticket form, counted apart from the lead form's.
    pub async fn throttle_ticket_form(&self, client: &str, request_id: Option<String>) -> Result<Option<String>> {
        self.throttle_public_form(&format!("ticket:{client}"), ("ticket_form_throttled", "ticket"), request_id).await
    }

    /// Counts a submission under `key`; `(action, object)` name the audit row of the first
    /// refusal.
    async fn throttle_public_form(
        &self,
        client: &str,
        (action, object): (&str, &str),
        request_id: Option<String>,
    ) -> Result<Option<String>> {
        let now = now_rfc3339();
        let window_end = time_in(chrono::Duration::minutes(-THROTTLE_MINUTES));
        let mut tx = self.write_tx().await?;
        // A window that started at or before `window_end` is over, and starts again at 1.
        let (hits, start) = tx.fetch_one(&sql(
            "INSERT INTO web_lead_throttle (client, hits, window_start) VALUES (?, 1, ?) \
             ON CONFLICT (client) DO UPDATE SET \
             hits = CASE WHEN web_lead_throttle.window_start <= ? THEN 1 ELSE web_lead_throttle.hits + 1 END, \
             window_start = CASE WHEN web_lead_throttle.window_start <= ? THEN excluded.window_start ELSE web_lead_throttle.window_start END \
             RETURNING hits, window_start",
            [client.into(), now.into(), window_end.clone().into(), window_end.clone().into()],
        ), |r| Ok((r.get::<i64>("hits")?, r.get::<String>("window_start")?)))
        .await?;
        if hits == 1 {
            // A new window: a good moment to forget clients whose windows are over.
            tx.execute(&sql("DELETE FROM web_lead_throttle WHERE window_start <= ?", [window_end.into()])).await?;
        }
        let refused = hits > THROTTLE_MAX;
        if hits == THROTTLE_MAX + 1 {
            let actor = Actor { request_id, ..Actor::system() };
            self.audit(&mut tx, &actor, action, object, None, json!({"client": client, "window_start": start})).await?;
        }
        tx.commit().await?;
        Ok(refused.then(|| {
            chrono::DateTime::parse_from_rfc3339(&start)
                .map(|t| t.with_timezone(&chrono::Utc) + chrono::Duration::minutes(THROTTLE_MINUTES))
                .unwrap_or_else(|_| chrono::Utc::now() + chrono::Duration::minutes(THROTTLE_MINUTES))
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        }))
    }

    /// Writes a valid submission, as the system, in one transaction: a new email becomes a new
    /// lead (owned by the settings' default owner while that user is active, else unowned;
    /// linked to a live company of the same name if there is one) with a note of what was sent;
    /// a known email gets the interest appended to its needs and the note, and nothing else of
    /// that person changes. Two submissions racing with one new email end as one person.
    /// A sign-up for email asks for confirmation (double opt-in), or with single opt-in records
    /// the consent at once with the submitter's `ip`.
    pub async fn submit_web_lead(&self, lead: &WebLead, ip: Option<&str>, request_id: Option<String>) -> Result<WebLeadOutcome> {
        let actor = Actor { request_id, ..Actor::system() };
        match self.write_web_lead(&actor, lead, ip).await {
            // Another submission created the person between our look-up and our insert.
            Err(Error::Conflict { field, .. }) if field == "email" => self.write_web_lead(&actor, lead, ip).await,
            other => other,
        }
    }

    async fn write_web_lead(&self, actor: &Actor, lead: &WebLead, ip: Option<&str>) -> Result<WebLeadOutcome> {
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let lock = self.backend.lock_rows();
        let known = tx
            .fetch_optional(
                &sql(
                    &format!("SELECT id FROM customers WHERE email_hash = ? AND deleted_at IS NULL{lock}"),
                    [self.email_key(&lead.email).into()],
                ),
                |r| r.get::<i64>("id"),
            )
            .await?;
        let outcome = match known {
            Some(id) => {
                let line = lead.interest_line(now.get(..10).unwrap_or(""));
                let person = self
                    .update_in::<Customer, _, Error>(&mut tx, actor, id, None, |cur| {
                        let mut d = cur.clone();
                        d.needs = Some(append_needs(cur.needs.as_deref(), &line));
                        Ok(d)
                    })
                    .await?;
                self.log_note(&mut tx, actor, lead, id, person.data.owner_id, &now).await?;
                WebLeadOutcome::Recorded(id)
            }
            None => {
                let owner = tx.fetch_optional(&sql(
                    "SELECT s.default_owner_id FROM web_form_settings s JOIN users u ON u.id = s.default_owner_id AND u.is_active = 1 WHERE s.id = 1",
                    [],
                ), |r| r.get::<Option<i64>>("default_owner_id"))
                .await?
                .flatten();
                let company = match lead.company_name.as_deref() {
                    Some(name) => {
                        tx.fetch_optional(
                            &sql(
                                "SELECT id FROM companies WHERE sort_name = ? AND deleted_at IS NULL ORDER BY id LIMIT 1",
                                [text::fold(name).into()],
                            ),
                            |r| r.get::<i64>("id"),
                        )
                        .await?
                    }
                    None => None,
                };
                let person = lead.new_person(owner, company);
                let id = self.insert_record::<Customer>(&mut tx, actor, &person, &[], &mut Checked::default()).await?;
                self.audit(&mut tx, actor, "create", "customer", Some(id), json!({"after": &person, "via": "web_to_lead"})).await?;
                self.log_note(&mut tx, actor, lead, id, owner, &now).await?;
                WebLeadOutcome::Created(id)
            }
        };
        if let Some(topic) = &lead.subscribe {
            let (WebLeadOutcome::Created(id) | WebLeadOutcome::Recorded(id)) = outcome;
            let settings = tx.fetch_optional(&sql(SETTINGS, []), settings_from).await?.unwrap_or_default();
            if settings.double_opt_in {
                crate::marketing::request_confirmation(self, &mut tx, id, &lead.email, &lead.name, topic, "signup_form").await?;
            } else {
                crate::marketing::record_signup(&mut tx, id, topic, "signup_form", ip, &now).await?;
            }
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn log_note(&self, tx: &mut WriteTx, actor: &Actor, lead: &WebLead, person: i64, owner: Option<i64>, now: &str) -> Result<()> {
        let note = lead.note(person, owner, now)?;
        let id = self.insert_record::<Activity>(tx, actor, &note, &[], &mut Checked::default()).await?;
        self.audit(tx, actor, "create", "activity", Some(id), json!({"after": &note, "via": "web_to_lead"})).await?;
        Ok(())
    }
}
