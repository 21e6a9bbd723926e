//! Server secrets: random keys the server makes on first use and keeps in the database (so
//! that several processes over one database agree): the key of the web UI's form tokens
//! (CSRF, cached in memory once read), which an attacker who knows a session token still cannot
//! compute, and the keys that sign survey links and marketing mail's tokens.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use serde_json::json;
use sha2::Sha256;

use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

fn decode(name: &str, stored: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(stored).map_err(|e| Error::Crypto(format!("server_secrets.{name} is not base64: {e}")))
}

/// The key `name`, made inside the caller's transaction on first use (so a change that needs
/// it does not wait on a second write transaction: SQLite has one writer); whichever process
/// asks first makes it (`ON CONFLICT DO NOTHING`, then everyone reads the winner's), audited.
pub(crate) async fn key_in(store: &Store, tx: &mut WriteTx, name: &str) -> Result<Vec<u8>> {
    let q = sql("SELECT value FROM server_secrets WHERE name = ?", [name.into()]);
    if let Some(v) = tx.fetch_optional(&q, |r| r.get::<String>("value")).await? {
        return decode(name, &v);
    }
    let fresh = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let made = tx
        .execute(&sql(
            "INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
            [name.into(), fresh.into(), now_rfc3339().into()],
        ))
        .await?;
    if made == 1 {
        store.audit(tx, &Actor::system(), "secret_create", "server_secret", None, json!({"name": name})).await?;
    }
    decode(name, &tx.fetch_one(&q, |r| r.get::<String>("value")).await?)
}

/// The key `name` if it was made already.
pub(crate) async fn key_if_made(store: &Store, name: &str) -> Result<Option<Vec<u8>>> {
    let q = sql("SELECT value FROM server_secrets WHERE name = ?", [name.into()]);
    store.read_optional(&q, |r| r.get::<String>("value")).await?.map(|v| decode(name, &v)).transpose()
}

/// The cached key, read (or made) once per process.
pub(crate) type SecretCell = std::sync::Arc<tokio::sync::OnceCell<Vec<u8>>>;

const FORM_KEY: &str = "form_token_key";

impl Store {
    /// The form-token key: read from `server_secrets`, or made and stored by whichever process
    /// asks first (`ON CONFLICT DO NOTHING`, then everyone reads the winner's).
    async fn form_key(&self) -> Result<&[u8]> {
        let key = self
            .secret
            .get_or_try_init(|| async {
                if let Some(k) = key_if_made(self, FORM_KEY).await? {
                    return Ok::<Vec<u8>, Error>(k);
                }
                let mut tx = self.write_tx().await?;
                let k = key_in(self, &mut tx, FORM_KEY).await?;
                tx.commit().await?;
                Ok(k)
            })
            .await?;
        Ok(key)
    }

    /// The token a form must carry to prove it was rendered by this server for `subject`:
    /// HMAC-SHA256 of `purpose` and `subject` under the server's form key, 128 bits in hex.
    /// `purpose` keeps tokens for one use (`session`, `login`) from passing for another.
    pub async fn form_token(&self, purpose: &str, subject: &str) -> Result<String> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.form_key().await?).expect("HMAC accepts any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(subject.as_bytes());
        Ok(crate::crypto::hex(&mac.finalize().into_bytes()[..16]))
    }

    /// Whether `token` is [`Store::form_token`] of `purpose` and `subject`, compared in
    /// constant time.
    pub async fn check_form_token(&self, purpose: &str, subject: &str, token: &str) -> Result<bool> {
        let expected = self.form_token(purpose, subject).await?;
        let (a, b) = (expected.as_bytes(), token.as_bytes());
        Ok(a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0)
    }
}
