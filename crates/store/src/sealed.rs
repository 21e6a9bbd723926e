//! Sealing sensitive columns: what the store writes and reads when a keyring is configured
//! (see [`crate::crypto`]). Without one, values are stored as they are, and the same code
//! paths run, so tests exercise both.

use rapport_domain::text;

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

    pub(crate) fn seal_opt(&self, v: &Option<String>) -> Option<String> {
        v.as_deref().map(|s| self.seal(s))
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

    /// The text full-text search indexes: public words in clear, private ones (email and phone
    /// words) as keyed tokens when encrypting.
    pub(crate) fn search_text(&self, public: String, private: Vec<String>) -> String {
        let private: Vec<String> = match self.keyring() {
            Some(k) => private.iter().map(|t| k.search_token(t)).collect(),
            None => private,
        };
        text::fold(&format!("{public} {}", private.join(" ")))
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

/// What a re-sealing pass rewrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResealSummary {
    /// People whose sensitive columns were re-sealed.
    pub customers: usize,
    /// Companies.
    pub companies: usize,
    /// Audit entries.
    pub audit_entries: usize,
}

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
            let pass = ResealSummary {
                customers: self.reseal_customers().await?,
                companies: self.reseal_companies().await?,
                audit_entries: self.reseal_audit().await?,
            };
            total.customers += pass.customers;
            total.companies += pass.companies;
            total.audit_entries += pass.audit_entries;
            if pass == ResealSummary::default() {
                return Ok(total);
            }
        }
    }
}
