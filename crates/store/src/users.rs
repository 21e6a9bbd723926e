//! Users, their passwords (argon2id), sign-in throttling, and bearer tokens (random, stored
//! only as SHA-256 hashes, so a leaked database does not leak working tokens).

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine;
use rapport_domain::accounts::{NewUser, TokenInfo, User, UserChanges};
use rapport_domain::permissions::{Action, Actor, Object, Permissions, Role, require};
use rapport_domain::values::Email;
use rapport_domain::{ValidationErrors, now_rfc3339, time_in};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::records::{check_version, save_versioned};
use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx, audit, unique_violation};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes {
    /// GET requests.
    pub read: bool,
    /// Everything else.
    pub write: bool,
    /// Delivering raw mail to `POST /api/v1/inbound/email` (what a mail provider's inbound
    /// webhook is given, alone).
    pub inbound_mail: bool,
}

impl Scopes {
    fn parse(s: &str) -> Scopes {
        let has = |name: &str| s.split(' ').any(|x| x == name);
        Scopes { read: has("read"), write: has("write"), inbound_mail: has("inbound_mail") }
    }
}

/// A live sign-in: who, with which permissions, through which token.
#[derive(Debug, Clone)]
pub struct Session {
    /// The account.
    pub user: User,
    /// Its role's permissions (built-in or custom).
    pub perms: std::sync::Arc<Permissions>,
    /// What the token allows.
    pub scopes: Scopes,
    /// The token's id (for revocation).
    pub token_id: i64,
    /// The token's kind: `session` (the web UI's cookie), `api` (from sign-in) or `personal`.
    pub kind: String,
}

impl Session {
    /// The session as the store's actor.
    pub fn actor(&self, request_id: Option<String>) -> Actor {
        Actor { user_id: Some(self.user.id), role: self.user.role.clone(), perms: self.perms.clone(), request_id }
    }
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefused {
    /// Unknown email, wrong password or disabled account (not told apart, on purpose).
    BadCredentials,
    /// Too many failures: try again after this time.
    Locked {
        /// RFC 3339 time the lock ends.
        until: String,
    },
}

/// Recently validated tokens, so that a burst of requests costs one token lookup instead of
/// one each. Entries live [`SESSION_TTL`]; this process drops them at once when it revokes a
/// token or changes a user or role, and other processes follow within the TTL.
#[derive(Default)]
pub(crate) struct SessionCache {
    map: std::sync::Mutex<std::collections::HashMap<String, (Session, std::time::Instant)>>,
}

/// How long a validated token is trusted without asking the database again.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl SessionCache {
    fn get(&self, hash: &str) -> Option<Session> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(hash).filter(|(_, at)| at.elapsed() < SESSION_TTL).map(|(s, _)| s.clone())
    }

    fn put(&self, hash: String, s: Session) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (_, at)| at.elapsed() < SESSION_TTL);
        }
        map.insert(hash, (s, std::time::Instant::now()));
    }

    fn forget(&self, keep: impl Fn(&Session) -> bool) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, (s, _)| keep(s));
    }

    /// Drops every entry (a role's permissions changed).
    pub(crate) fn clear(&self) {
        self.forget(|_| false);
    }
}

/// How long a sign-in token lives.
const TOKEN_DAYS: i64 = 30;
/// Failures within [`THROTTLE_MINUTES`] that lock an email for as long.
const MAX_FAILURES: i64 = 5;
const THROTTLE_MINUTES: i64 = 15;

const USER_COLS: &str = "u.id, u.email, u.name, u.role, u.is_active, u.created_at, u.updated_at, u.version";

/// The tokens matching `cond` (with one `?`, bound to `arg`), newest first.
fn tokens_query(cond: &str, arg: i64) -> Sql {
    sql(
        &format!(
            "SELECT t.id, t.kind, t.name, t.scopes, t.created_at, t.expires_at, t.last_used_at, t.revoked_at FROM auth_tokens t WHERE {cond} ORDER BY t.id DESC"
        ),
        [arg.into()],
    )
}

fn token_row(r: &dyn Row) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.get("id")?,
        kind: r.get("kind")?,
        name: r.get("name")?,
        scopes: r.get("scopes")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        last_used_at: r.get("last_used_at")?,
        revoked_at: r.get("revoked_at")?,
    })
}

fn user_from_row(r: &dyn Row) -> Result<User> {
    Ok(User {
        id: r.get("id")?,
        email: r.get("email")?,
        name: r.get("name")?,
        role: r.get("role")?,
        is_active: r.get::<i64>("is_active")? == 1,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        version: r.get("version")?,
    })
}

/// SHA-256 of a token, hex: what the database keeps.
fn token_hash(token: &str) -> String {
    crate::crypto::hex(&Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    format!("rpt_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
}

fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Invalid(ValidationErrors::single("password", format!("cannot be hashed: {e}"))))
}

/// The password policy: long enough, and not the email or a famous weak password.
fn check_password(password: &str, email: &str, errs: &mut ValidationErrors) {
    const WEAK: [&str; 6] = ["password123", "1234567890", "qwertyuiop", "letmein123", "password1234", "administrator"];
    let lower = password.to_lowercase();
    if password.chars().count() < 10 {
        errs.add("password", "must have at least 10 characters");
    } else if password.chars().count() > 200 {
        errs.add("password", "must have at most 200 characters");
    } else if WEAK.contains(&lower.as_str())
        || lower == email.to_lowercase()
        || lower.chars().all(|c| c == lower.chars().next().unwrap_or(' '))
    {
        errs.add("password", "is too easy to guess: use a passphrase of several words");
    }
}

impl Store {
    /// Whether `role` names a built-in role or an existing custom role.
    async fn check_role(&self, tx: &mut WriteTx, role: &str) -> Result<()> {
        if Role::parse(role).is_some()
            || tx.fetch_optional(&sql("SELECT id FROM roles WHERE name = ?", [role.into()]), |_| Ok(())).await?.is_some()
        {
            Ok(())
        } else {
            Err(Error::Invalid(ValidationErrors::single("role", format!("there is no role '{role}'"))))
        }
    }

    /// Creates a user (admins only).
    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<User> {
        require(actor, Object::User, Action::Create)?;
        let mut errs = ValidationErrors::default();
        let email = errs.check("email", Email::parse(&new.email));
        check_password(&new.password, &new.email, &mut errs);
        let name = new.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            errs.add("name", "must have 1 to 100 characters");
        }
        let email = errs.into_result(email)?.expect("checked");
        let hash = hash_password(&new.password)?;
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        self.check_role(&mut tx, &new.role).await?;
        let id: i64 = tx.fetch_one(&sql(
            "INSERT INTO users (email, name, password_hash, role, is_active, created_at, updated_at, version) VALUES (?, ?, ?, ?, 1, ?, ?, 1) RETURNING id",
            [email.to_string().into(), name.into(), hash.into(), new.role.clone().into(), now.clone().into(), now.into()],
        ), |r| r.get("id"))
        .await
        .map_err(|e| unique_violation(e, &[("users_email_key", "users.email", "email", "a user with this email already exists")]))?;
        let user = self.user_in(&mut tx, id).await?;
        self.audit(&mut tx, actor, "create", "user", Some(user.id), json!({"after": &user})).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn user_in(&self, tx: &mut WriteTx, id: i64) -> Result<User> {
        tx.fetch_optional(&sql(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?"), [id.into()]), user_from_row)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Changes a user (admins only). Role changes, deactivation and password resets are
    /// audited; deactivating revokes every token at once; the last active admin cannot be
    /// demoted or disabled, so the system always has someone who can manage it, even when two
    /// admins act at the same moment. Like every record, the save is version-checked: a change
    /// saved in between answers [`Error::VersionMismatch`].
    pub async fn update_user(&self, actor: &Actor, id: i64, if_match: Option<i64>, patch: UserChanges) -> Result<User> {
        require(actor, Object::User, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let before = self.user_in(&mut tx, id).await?;
        check_version(if_match, before.version)?;
        let mut after = before.clone();
        let mut errs = ValidationErrors::default();
        if let Some(n) = patch.name {
            after.name = n.trim().to_string();
            if after.name.is_empty() || after.name.chars().count() > 100 {
                errs.add("name", "must have 1 to 100 characters");
            }
        }
        if let Some(p) = &patch.password {
            check_password(p, &before.email, &mut errs);
        }
        errs.into_result(())?;
        if let Some(r) = patch.role {
            self.check_role(&mut tx, &r).await?;
            after.role = r;
        }
        if let Some(a) = patch.is_active {
            after.is_active = a;
        }
        let demotes_admin = before.role == "admin" && before.is_active && (after.role != "admin" || !after.is_active);
        if demotes_admin {
            // Lock every active admin's row (in id order, so two of these never deadlock) before
            // counting them: two admins demoting each other at the same moment would otherwise
            // each count two and both succeed. A writer that waited here counts what the other
            // committed.
            let q = format!("SELECT id FROM users WHERE role = 'admin' AND is_active = 1 ORDER BY id{}", self.backend.lock_rows());
            let admins: Vec<i64> = tx.fetch_all(&sql(&q, []), |r| r.get("id")).await?;
            if !admins.contains(&id) {
                // Someone else changed this user after it was read here.
                return Err(Error::VersionMismatch { current: self.user_in(&mut tx, id).await?.version });
            }
            if admins.len() <= 1 {
                return Err(Error::Invalid(ValidationErrors::single(
                    if after.is_active { "role" } else { "is_active" },
                    "this is the last active admin: make someone else admin first",
                )));
            }
        }
        let now = now_rfc3339();
        let change = sql(
            "UPDATE users SET name = ?, role = ?, is_active = ?",
            [after.name.clone().into(), after.role.clone().into(), (after.is_active as i64).into()],
        );
        save_versioned(&mut tx, change, id, before.version, &[]).await?;
        if let Some(p) = &patch.password {
            tx.execute(&sql("UPDATE users SET password_hash = ? WHERE id = ?", [hash_password(p)?.into(), id.into()])).await?;
        }
        if !after.is_active || patch.password.is_some() {
            tx.execute(&sql("UPDATE auth_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", [now.into(), id.into()]))
                .await?;
        }
        if before.is_active && !after.is_active {
            // A deactivated agent's open tickets go back to their teams' queues.
            self.release_tickets(&mut tx, actor, id, None).await?;
        }
        let user = self.user_in(&mut tx, id).await?;
        self.sessions.forget(|s| s.user.id != id);
        let mut diff = audit::diff(&before, &user);
        if patch.password.is_some() {
            diff["password"] = json!("changed");
        }
        let action = if before.role != user.role { "role_change" } else { "update" };
        self.audit(&mut tx, actor, action, "user", Some(id), diff).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Lists users (everyone may see who their colleagues are).
    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<User>> {
        require(actor, Object::User, Action::Read)?;
        self.read(&sql(&format!("SELECT {USER_COLS} FROM users u ORDER BY u.id"), []), user_from_row).await
    }

    /// Checks an email and password; on success issues a new token of `kind` (`api` for
    /// bearer tokens from the API, `session` for the UI's cookie) and returns it in clear,
    /// the only time it is ever visible.
    ///
    /// Throttling: each attempt first claims a numbered slot of its email's fifteen-minute
    /// window, in one atomic upsert (serialized on SQLite, row-locked on PostgreSQL), and only
    /// the first five slots get their password checked: parallel guesses cannot all pass
    /// before the failures are counted. The fifth slot locks the email for fifteen minutes
    /// (the window restarts with the lock, so the lock ends when the window does); a success
    /// clears the count. The count lives in the database, so it holds across processes.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        kind: &str,
        request_id: Option<String>,
    ) -> Result<Result<(String, User), LoginRefused>> {
        // The spelling accounts are stored under, so another spelling of the same address
        // (punycode, decomposed accents) neither fails to sign in nor escapes the lockout.
        let email = Email::parse(email).map(|e| e.to_string()).unwrap_or_else(|_| email.trim().to_lowercase());
        let now = now_rfc3339();
        let window_end = time_in(chrono::Duration::minutes(-THROTTLE_MINUTES));
        let lock_end = time_in(chrono::Duration::minutes(THROTTLE_MINUTES));
        let mut tx = self.write_tx().await?;
        // `failures` counts the window's attempts, the one in flight included; a window that
        // started before `window_end` is over (and with it any lock) and starts again at 1.
        let (attempt, locked_until) = tx
            .fetch_one(
                &sql(
                    "INSERT INTO login_throttle (email, failures, window_start, locked_until) VALUES (?, 1, ?, NULL) \
             ON CONFLICT (email) DO UPDATE SET \
             failures = CASE WHEN login_throttle.window_start <= ? THEN 1 ELSE login_throttle.failures + 1 END, \
             window_start = CASE WHEN login_throttle.window_start <= ? OR login_throttle.failures + 1 = ? \
                 THEN excluded.window_start ELSE login_throttle.window_start END, \
             locked_until = CASE WHEN login_throttle.window_start <= ? THEN NULL \
                 WHEN login_throttle.failures + 1 = ? THEN ? ELSE login_throttle.locked_until END \
             RETURNING failures, locked_until",
                    [
                        email.clone().into(),
                        now.clone().into(),
                        window_end.clone().into(),
                        window_end.clone().into(),
                        MAX_FAILURES.into(),
                        window_end.into(),
                        MAX_FAILURES.into(),
                        lock_end.clone().into(),
                    ],
                ),
                |r| Ok((r.get::<i64>("failures")?, r.get::<Option<String>>("locked_until")?)),
            )
            .await?;
        if attempt > MAX_FAILURES {
            let actor = Actor::anonymous(None, request_id);
            self.audit(&mut tx, &actor, "login_locked", "user", None, json!({"email": email})).await?;
            tx.commit().await?;
            return Ok(Err(LoginRefused::Locked { until: locked_until.unwrap_or(lock_end) }));
        }
        // The slot is taken for everyone else before the (slow) password check; the write
        // lock is not held during it.
        tx.commit().await?;
        let q = sql(&format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.email = ?"), [email.clone().into()]);
        let found = self.read_optional(&q, |r| Ok((user_from_row(r)?, r.get::<String>("password_hash")?))).await?;
        let user_id = found.as_ref().map(|(u, _)| u.id);
        let verified = match found {
            Some((user, stored)) => {
                let ok =
                    PasswordHash::new(&stored).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false);
                (ok && user.is_active).then_some(user)
            }
            None => {
                // Spend the same time as a real check so response times do not reveal which emails exist.
                let _ = hash_password(password);
                None
            }
        };
        let mut tx = self.write_tx().await?;
        let Some(user) = verified else {
            let actor = Actor::anonymous(user_id, request_id);
            self.audit(
                &mut tx,
                &actor,
                "login_failed",
                "user",
                user_id,
                json!({"email": email, "failures": attempt, "locked_until": locked_until}),
            )
            .await?;
            tx.commit().await?;
            return Ok(Err(LoginRefused::BadCredentials));
        };
        tx.execute(&sql("DELETE FROM login_throttle WHERE email = ?", [email.into()])).await?;
        let token = new_token();
        tx.execute(&sql(
            "INSERT INTO auth_tokens (user_id, token_hash, kind, created_at, expires_at, scopes) VALUES (?, ?, ?, ?, ?, 'read write')",
            [user.id.into(), token_hash(&token).into(), kind.into(), now.into(), time_in(chrono::Duration::days(TOKEN_DAYS)).into()],
        ))
        .await?;
        let actor = Actor { user_id: Some(user.id), role: user.role.clone(), perms: Role::Viewer.permissions().into(), request_id };
        self.audit(&mut tx, &actor, "login", "user", Some(user.id), json!({"kind": kind})).await?;
        tx.commit().await?;
        Ok(Ok((token, user)))
    }

    /// Resolves a bearer token to its session, if the token is live and the user active.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Session>> {
        let hash = token_hash(token);
        if let Some(s) = self.sessions.get(&hash) {
            return Ok(Some(s));
        }
        let now = now_rfc3339();
        let q = sql(
            &format!(
                "SELECT {USER_COLS}, t.id AS token_id, t.kind, t.scopes, t.last_used_at, r.permissions FROM auth_tokens t JOIN users u ON u.id = t.user_id \
                 LEFT JOIN roles r ON r.name = u.role \
                 WHERE t.token_hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.is_active = 1"
            ),
            [hash.clone().into(), now.clone().into()],
        );
        let found = self
            .read_optional(&q, |r| {
                let user = user_from_row(r)?;
                Ok((
                    user,
                    r.get::<Option<String>>("permissions")?,
                    r.get::<i64>("token_id")?,
                    r.get::<Option<String>>("last_used_at")?,
                    r.get::<String>("scopes")?,
                    r.get::<String>("kind")?,
                ))
            })
            .await?;
        let Some((user, custom, token_id, last, scopes, kind)) = found else { return Ok(None) };
        let perms = role_permissions(&user.role, custom)?;
        // Record use at most once a minute: a write per request would serialize every read.
        if last.is_none_or(|l| l < time_in(chrono::Duration::minutes(-1))) {
            self.note_token_use(token_id, now).await;
        }
        let session = Session { user, perms: perms.into(), scopes: Scopes::parse(&scopes), token_id, kind };
        self.sessions.put(hash, session.clone());
        Ok(Some(session))
    }

    /// Active user `id` as an actor with their role's permissions, for work done on their
    /// behalf after the request that started it (an import taken up by another server); `None`
    /// when they are gone or deactivated.
    pub async fn user_actor(&self, id: i64) -> Result<Option<Actor>> {
        let q = sql(
            &format!(
                "SELECT {USER_COLS}, r.permissions FROM users u LEFT JOIN roles r ON r.name = u.role WHERE u.id = ? AND u.is_active = 1"
            ),
            [id.into()],
        );
        let found = self.read_optional(&q, |r| Ok((user_from_row(r)?, r.get::<Option<String>>("permissions")?))).await?;
        let Some((user, custom)) = found else { return Ok(None) };
        let perms = role_permissions(&user.role, custom)?;
        Ok(Some(Actor { user_id: Some(user.id), role: user.role, perms: perms.into(), request_id: None }))
    }

    /// Stamps a token's last use; best effort (a failure must not refuse the request).
    async fn note_token_use(&self, token_id: i64, now: String) {
        let Ok(mut tx) = self.write_tx().await else { return };
        if tx.execute(&sql("UPDATE auth_tokens SET last_used_at = ? WHERE id = ?", [now.into(), token_id.into()])).await.is_ok() {
            let _ = tx.commit().await;
        }
    }

    /// Revokes the token a request came with (logout); revoking twice is not an error.
    pub async fn revoke_token(&self, actor: &Actor, token: &str) -> Result<()> {
        self.sessions.forget(|_| false);
        let mut tx = self.write_tx().await?;
        let n = tx
            .execute(&sql(
                "UPDATE auth_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                [now_rfc3339().into(), token_hash(token).into()],
            ))
            .await?;
        if n > 0 {
            self.audit(&mut tx, actor, "logout", "token", None, serde_json::Value::Null).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Issues a personal API token for the actor, shown once. `write` adds write access to
    /// reading; `days` is its lifetime (1 to 365).
    pub async fn create_personal_token(&self, actor: &Actor, name: &str, write: bool, days: i64) -> Result<(String, TokenInfo)> {
        self.create_scoped_token(actor, name, if write { "read write" } else { "read" }, days).await
    }

    /// Issues a personal token with `scopes` (space-separated: `read`, `write`, `inbound_mail`),
    /// shown once.
    pub async fn create_scoped_token(&self, actor: &Actor, name: &str, scopes: &str, days: i64) -> Result<(String, TokenInfo)> {
        let user_id = actor.user_id.ok_or(Error::NotFound)?;
        let mut errs = ValidationErrors::default();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errs.add("name", "must have 1 to 100 characters");
        }
        if !(1..=365).contains(&days) {
            errs.add("expires_in_days", "must be from 1 to 365");
        }
        errs.into_result(())?;
        let token = new_token();
        let mut tx = self.write_tx().await?;
        let id: i64 = tx.fetch_one(&sql(
            "INSERT INTO auth_tokens (user_id, token_hash, kind, name, created_at, expires_at, scopes) VALUES (?, ?, 'personal', ?, ?, ?, ?) RETURNING id",
            [user_id.into(), token_hash(&token).into(), name.into(), now_rfc3339().into(), time_in(chrono::Duration::days(days)).into(), scopes.into()],
        ), |r| r.get("id"))
        .await?;
        self.audit(&mut tx, actor, "token_create", "token", Some(id), json!({"name": name, "scopes": scopes, "days": days})).await?;
        let info = self.tokens_where(&mut tx, "t.id = ?", id).await?.pop().ok_or(Error::NotFound)?;
        tx.commit().await?;
        Ok((token, info))
    }

    async fn tokens_where(&self, tx: &mut WriteTx, cond: &str, arg: i64) -> Result<Vec<TokenInfo>> {
        tx.fetch_all(&tokens_query(cond, arg), token_row).await
    }

    /// The actor's own tokens, newest first.
    pub async fn list_tokens(&self, actor: &Actor) -> Result<Vec<TokenInfo>> {
        let user_id = actor.user_id.ok_or(Error::NotFound)?;
        self.read(&tokens_query("t.user_id = ?", user_id), token_row).await
    }

    /// Revokes one of the actor's tokens (admins may revoke anyone's).
    pub async fn revoke_token_id(&self, actor: &Actor, id: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let owner: Option<i64> =
            tx.fetch_optional(&sql("SELECT user_id FROM auth_tokens WHERE id = ?", [id.into()]), |r| r.get("user_id")).await?;
        let allowed = owner.is_some() && (owner == actor.user_id || actor.perms.allows(Object::User, Action::Update));
        if !allowed {
            return Err(Error::NotFound);
        }
        tx.execute(&sql("UPDATE auth_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [now_rfc3339().into(), id.into()]))
            .await?;
        self.audit(&mut tx, actor, "token_revoke", "token", Some(id), json!({"user_id": owner})).await?;
        tx.commit().await?;
        self.sessions.forget(|s| s.token_id != id);
        Ok(())
    }

    /// Number of users (the CLI offers to create the first admin when there is none).
    pub async fn count_users(&self) -> Result<i64> {
        let counted = self.read(&sql("SELECT COUNT(*) AS n FROM users", []), |r| r.get::<i64>("n")).await?;
        Ok(counted.into_iter().next().unwrap_or(0))
    }
}

/// A role's permissions: a built-in role's, else the custom role's stored ones.
fn role_permissions(role: &str, custom: Option<String>) -> Result<Permissions> {
    Ok(match (Role::parse(role), custom) {
        (Some(r), _) => r.permissions(),
        (None, Some(json)) => serde_json::from_str(&json).map_err(|e| Error::Db(sqlx::Error::Decode(Box::new(e))))?,
        // A role deleted under a user leaves them with nothing but their own profile.
        (None, None) => Permissions { grants: Default::default(), visibility: rapport_domain::permissions::Visibility::Own },
    })
}
