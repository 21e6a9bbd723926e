//! Sealing sensitive columns: what the store writes and reads when a keyring is configured
//! (see [`crate::crypto`]). Without one, values are stored as they are, and the same code
//! paths run, so tests exercise both.

use rapport_domain::text;
use serde_json::{Map, Value};

use rapport_domain::company::Company;
use rapport_domain::customer::Customer;

use crate::crypto::Keyring;
use crate::{Error, Result, Store};

impl Store {
    fn keyring(&self) -> Option<std::sync::Arc<Keyring>> {
        self.keys.as_ref().map(|k| k.current())
    }

    /// Whether sensitive columns are encrypted.
    pub fn encrypts(&self) -> bool {
        self.keys.is_some()
    }

    /// Ciphertext of `v` under the active key, or `v` itself without a keyring.
    pub(crate) fn seal(&self, v: &str) -> String {
        match self.keyring() {
            Some(k) => k.encrypt(v),
            None => v.to_string(),
        }
    }

    /// Plaintext of a stored value; plaintext written before encryption passes through.
    pub(crate) fn open(&self, stored: String) -> Result<String> {
        match &self.keys {
            Some(k) => k.decrypt(&stored).map_err(|e| Error::Crypto(e.to_string())),
            None if stored.starts_with(crate::crypto::PREFIX) => Err(Error::Crypto(
                "the database holds encrypted values but no key is configured: set RAPPORT_KEY_FILE (or RAPPORT_KEYS)".into(),
            )),
            None => Ok(stored),
        }
    }

    pub(crate) fn open_opt(&self, v: Option<String>) -> Result<Option<String>> {
        v.map(|s| self.open(s)).transpose()
    }

    /// What the unique index and equality lookups compare for an email: its keyed blind index,
    /// or the email itself without a keyring.
    pub(crate) fn email_key(&self, email: &str) -> String {
        match self.keyring() {
            Some(k) => k.blind_index(email),
            None => email.to_string(),
        }
    }

    /// The private words full-text search indexes (email and phone words), in a column of their
    /// own that only roles with `pii` search: keyed tokens when encrypting, so they match whole
    /// words only, the words themselves otherwise.
    pub(crate) fn private_text(&self, private: Vec<String>) -> String {
        let private: Vec<String> = match self.keyring() {
            Some(k) => private.iter().map(|t| k.search_token(t)).collect(),
            None => private,
        };
        text::fold(&private.join(" "))
    }

    /// A record's custom values as stored: the filterable ones as JSON, and the ones whose field
    /// is marked sensitive sealed together (`None` when there are none).
    pub(crate) fn split_custom(&self, custom: &Map<String, Value>, sensitive: &[String]) -> (String, Option<String>) {
        let (secret, open): (Map<String, Value>, Map<String, Value>) =
            custom.clone().into_iter().partition(|(k, _)| sensitive.iter().any(|s| s == k));
        let sealed = (!secret.is_empty()).then(|| self.seal(&Value::Object(secret).to_string()));
        (Value::Object(open).to_string(), sealed)
    }

    /// The custom values of a stored record: the filterable ones and the opened sensitive ones.
    pub(crate) fn join_custom(&self, mut custom: Map<String, Value>, sealed: Option<String>) -> Result<Map<String, Value>> {
        if let Some(s) = sealed
            && let Ok(Value::Object(secret)) = serde_json::from_str(&self.open(s)?)
        {
            custom.extend(secret);
        }
        Ok(custom)
    }

    /// A search term's keyed token, when encrypting: it matches whole private words.
    pub(crate) fn term_token(&self, term: &str) -> Option<String> {
        self.keyring().map(|k| k.search_token(term))
    }

    /// Whether a stored value is already sealed under the active key (or needs no sealing).
    pub(crate) fn is_current(&self, stored: &Option<String>) -> bool {
        match (stored, self.keyring()) {
            (Some(v), Some(k)) => k.is_current(v),
            _ => true,
        }
    }
}

impl Store {
    /// Recomputes the stored form of records marked for it (see the 0008 migration): done when
    /// migrating, and after a custom field's sensitivity changes. Returns how many were rewritten.
    pub async fn rewrite_pending(&self) -> Result<usize> {
        Ok(self.rewrite_records::<Customer>(false).await?
            + self.rewrite_records::<Company>(false).await?
            + self.rewrite_records::<rapport_domain::sales::product::Product>(false).await?)
    }
}

/// What a re-sealing pass rewrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResealSummary {
    /// People whose sensitive columns were re-sealed.
    pub customers: usize,
    /// Companies.
    pub companies: usize,
    /// Audit entries.
    pub audit_entries: usize,
    /// Webhook subscriptions' signing secrets.
    pub webhook_secrets: usize,
    /// Webhook events in the outbox (their payloads; queued ones are signed and sent from them).
    pub webhook_events: usize,
    /// Mail passwords (SMTP and IMAP).
    pub mail_passwords: usize,
    /// Rejected import rows kept for download (their cells).
    pub import_rejects: usize,
}

/// The sealed columns outside record tables that a re-sealing pass brings under the active key:
/// (table, column), each table keyed by an integer `id`.
const SEALED_COLUMNS: [(&str, &str); 5] = [
    ("webhook_subscriptions", "secret"),
    ("webhook_events", "payload"),
    ("mail_settings", "smtp_password"),
    ("mail_settings", "imap_password"),
    ("import_rejects", "cells"),
];

/// Rows per query of a re-sealing pass.
pub(crate) const BATCH: i64 = 500;

impl Store {
    /// Brings every sensitive value under the active key: values under older keys and values
    /// still in clear (written before encryption was switched on) are re-sealed, and blind
    /// indexes and search tokens are recomputed. Safe while servers are writing: each row is
    /// rewritten only if its version is unchanged since it was read (a row edited meanwhile was
    /// just written by a server, and the next pass looks at it again), and neither its version
    /// nor its `updated_at` changes, so sync clients see nothing. Repeats until a pass finds
    /// nothing to do.
    pub async fn reseal_all(&self) -> Result<ResealSummary> {
        if !self.encrypts() {
            return Err(Error::Crypto("no key is configured: create one with `rapport keys init` and set RAPPORT_KEY_FILE".into()));
        }
        let mut total = ResealSummary::default();
        loop {
            let [webhook_secrets, webhook_events, smtp, imap, import_rejects] = {
                let mut n = [0; SEALED_COLUMNS.len()];
                for (i, (table, column)) in SEALED_COLUMNS.iter().enumerate() {
                    n[i] = self.reseal_column(table, column).await?;
                }
                n
            };
            let pass = ResealSummary {
                customers: self.rewrite_records::<Customer>(true).await?,
                companies: self.rewrite_records::<Company>(true).await?,
                audit_entries: self.reseal_audit().await?,
                webhook_secrets,
                webhook_events,
                mail_passwords: smtp + imap,
                import_rejects,
            };
            total.customers += pass.customers;
            total.companies += pass.companies;
            total.audit_entries += pass.audit_entries;
            total.webhook_secrets += pass.webhook_secrets;
            total.webhook_events += pass.webhook_events;
            total.mail_passwords += pass.mail_passwords;
            total.import_rejects += pass.import_rejects;
            if pass == ResealSummary::default() {
                return Ok(total);
            }
        }
    }
}

impl Store {
    /// Re-seals the values of `table.column` not yet under the active key (values in clear
    /// included), in batches by id. Each row is rewritten only if the value is still the one
    /// read, so a value a server changed meanwhile is left for the next pass; nothing else of
    /// the row changes. `table` and `column` come from [`SEALED_COLUMNS`], never from input.
    async fn reseal_column(&self, table: &str, column: &str) -> Result<usize> {
        use sqlx::Row;
        let (mut last, mut n) = (0i64, 0usize);
        loop {
            let rows = crate::sql::sql(
                &format!("SELECT id, {column} AS v FROM {table} WHERE id > ? ORDER BY id LIMIT ?"),
                [last.into(), BATCH.into()],
            )
            .fetch_all(&self.pool)
            .await?;
            let Some(l) = rows.last() else { return Ok(n) };
            last = l.try_get("id")?;
            for r in &rows {
                let stored: Option<String> = r.try_get("v")?;
                if self.is_current(&stored) {
                    continue;
                }
                let Some(stored) = stored else { continue };
                let plain = self.open(stored.clone())?;
                n += crate::sql::sql(
                    &format!("UPDATE {table} SET {column} = ? WHERE id = ? AND {column} = ?"),
                    [self.seal(&plain).into(), r.try_get::<i64, _>("id")?.into(), stored.into()],
                )
                .execute(&self.pool)
                .await? as usize;
            }
        }
    }
}
