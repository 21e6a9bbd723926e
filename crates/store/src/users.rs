//! Users, their passwords (argon2id) and their bearer tokens (random, stored only as SHA-256
//! hashes, so a leaked database does not leak working tokens).

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine;
use rapport_domain::permissions::{Action, Actor, Object, Role, require};
use rapport_domain::values::Email;
use rapport_domain::{ValidationErrors, now_rfc3339};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::sql;
use crate::{Error, Result, Store, audit, unique_violation};

/// A user account as the API shows it (never with its password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Identifier.
    pub id: i64,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Whether the account may sign in.
    pub is_active: bool,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Version.
    pub version: i64,
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Password in clear; hashed before it is stored.
    pub password: String,
    /// Role.
    pub role: Role,
}

/// How long a login token lives.
const TOKEN_DAYS: i64 = 30;

fn user_from_row(r: &AnyRow) -> sqlx::Result<User> {
    Ok(User {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: Role::parse(&r.try_get::<String, _>("role")?).unwrap_or(Role::Viewer),
        is_active: r.try_get::<i64, _>("is_active")? == 1,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

const USER_COLS: &str = "id, email, name, role, is_active, created_at, updated_at, version";

/// SHA-256 of a token, hex: what the database keeps.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| {
            Error::Invalid(ValidationErrors::single(
                "password",
                format!("cannot be hashed: {e}"),
            ))
        })
}

/// Checks a new password against the policy.
fn check_password(password: &str) -> Result<(), ValidationErrors> {
    if password.chars().count() < 10 {
        return Err(ValidationErrors::single(
            "password",
            "must have at least 10 characters",
        ));
    }
    Ok(())
}

impl Store {
    /// Creates a user (admins only).
    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<User> {
        require(actor, Object::User, Action::Create)?;
        let mut errs = ValidationErrors::default();
        let email = errs.check("email", Email::parse(&new.email));
        if let Err(e) = check_password(&new.password) {
            errs.0.extend(e.0);
        }
        let name = new.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            errs.add("name", "must have 1 to 100 characters");
        }
        let email = errs.into_result(email)?.expect("checked");
        let hash = hash_password(&new.password)?;
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let row = sql(
            &format!("INSERT INTO users (email, name, password_hash, role, is_active, created_at, updated_at, version) VALUES (?, ?, ?, ?, 1, ?, ?, 1) RETURNING {USER_COLS}"),
            [email.to_string().into(), name.into(), hash.into(), new.role.as_str().into(), now.clone().into(), now.into()],
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_violation(e, &[("users_email_key", "users.email", "email", "a user with this email already exists")]))?;
        let user = user_from_row(&row)?;
        audit::record(
            &mut tx,
            actor,
            "create",
            "user",
            Some(user.id),
            serde_json::json!({"after": &user}),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Lists users (everyone may see who their colleagues are).
    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<User>> {
        require(actor, Object::User, Action::Read)?;
        let rows = sql(&format!("SELECT {USER_COLS} FROM users ORDER BY id"), [])
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(user_from_row)
            .collect::<sqlx::Result<_>>()?)
    }

    /// Checks an email and password; on success issues a new token of `kind` (`api` for
    /// bearer tokens from the API, `session` for the UI's cookie) and returns it in clear,
    /// the only time it is ever visible. Failed attempts are audited.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        kind: &str,
        request_id: Option<String>,
    ) -> Result<Option<(String, User)>> {
        let email = email.trim().to_lowercase();
        let row = sql(
            &format!("SELECT {USER_COLS}, password_hash FROM users WHERE email = ?"),
            [email.clone().into()],
        )
        .fetch_optional(&self.pool)
        .await?;
        let verified = match &row {
            Some(r) => {
                let stored: String = r.try_get("password_hash")?;
                let ok = PasswordHash::new(&stored)
                    .map(|h| {
                        Argon2::default()
                            .verify_password(password.as_bytes(), &h)
                            .is_ok()
                    })
                    .unwrap_or(false);
                let user = user_from_row(r)?;
                if ok && user.is_active {
                    Some(user)
                } else {
                    None
                }
            }
            None => {
                // Spend the same time as a real check so response times do not reveal which emails exist.
                let _ = hash_password(password);
                None
            }
        };
        let mut tx = self.write_tx().await?;
        let Some(user) = verified else {
            let actor = Actor {
                user_id: row.as_ref().and_then(|r| r.try_get("id").ok()),
                role: Role::Viewer,
                request_id,
            };
            audit::record(
                &mut tx,
                &actor,
                "login_failed",
                "user",
                actor.user_id,
                serde_json::json!({"email": email}),
            )
            .await?;
            tx.commit().await?;
            return Ok(None);
        };
        let token = format!(
            "rpt_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
        );
        let now = chrono::Utc::now();
        let expires = (now + chrono::Duration::days(TOKEN_DAYS))
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        sql(
            "INSERT INTO auth_tokens (user_id, token_hash, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            [user.id.into(), token_hash(&token).into(), kind.into(), now_rfc3339().into(), expires.into()],
        )
        .execute(&mut *tx)
        .await?;
        let actor = Actor {
            user_id: Some(user.id),
            role: user.role,
            request_id,
        };
        audit::record(
            &mut tx,
            &actor,
            "login",
            "user",
            Some(user.id),
            serde_json::json!({"kind": kind}),
        )
        .await?;
        tx.commit().await?;
        Ok(Some((token, user)))
    }

    /// Resolves a bearer token to its user, if the token is live and the user active.
    pub async fn authenticate(&self, token: &str) -> Result<Option<User>> {
        let row = sql(
            "SELECT u.id, u.email, u.name, u.role, u.is_active, u.created_at, u.updated_at, u.version FROM auth_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.is_active = 1",
            [token_hash(token).into(), now_rfc3339().into()],
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    /// Revokes a token (logout); revoking an unknown token is not an error.
    pub async fn revoke_token(&self, actor: &Actor, token: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let n = sql(
            "UPDATE auth_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
            [now_rfc3339().into(), token_hash(token).into()],
        )
        .execute(&mut *tx)
        .await?;
        if n > 0 {
            audit::record(
                &mut tx,
                actor,
                "logout",
                "user",
                actor.user_id,
                serde_json::Value::Null,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Number of users (the CLI offers to create the first admin when there is none).
    pub async fn count_users(&self) -> Result<i64> {
        Ok(sql("SELECT COUNT(*) AS n FROM users", [])
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }
}
