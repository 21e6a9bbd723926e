//! Server secrets: random keys the server makes on first use and keeps in the database (so
//! that several processes over one database agree), cached in memory once read. Today one:
//! the key of the web UI's form tokens (CSRF), which an attacker who knows a session token
//! still cannot compute.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use serde_json::json;
use sha2::Sha256;

use crate::sql::sql;
use crate::{Error, Result, Store};

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
                let q = sql("SELECT value FROM server_secrets WHERE name = ?", [FORM_KEY.into()]);
                let stored = match self.read_optional(&q, |r| r.get::<String>("value")).await? {
                    Some(v) => v,
                    None => {
                        let fresh = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
                        let mut tx = self.write_tx().await?;
                        let made = tx
                            .execute(&sql(
                                "INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                                [FORM_KEY.into(), fresh.into(), now_rfc3339().into()],
                            ))
                            .await?;
                        if made == 1 {
                            self.audit(&mut tx, &Actor::system(), "secret_create", "server_secret", None, json!({"name": FORM_KEY}))
                                .await?;
                        }
                        let value: String = tx.fetch_one(&q, |r| r.get("value")).await?;
                        tx.commit().await?;
                        value
                    }
                };
                base64::engine::general_purpose::STANDARD
                    .decode(stored)
                    .map_err(|e| Error::Crypto(format!("server_secrets.{FORM_KEY} is not base64: {e}")))
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
