//! Accounts and access as the store keeps them: users, their API tokens, teams and role
//! definitions, and the changes an admin makes to them. What a client sends over HTTP is the
//! server's business; these are what the store takes and returns.

use serde::Serialize;
use utoipa::ToSchema;

use crate::permissions::Permissions;

/// A user account as the API shows it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct User {
    /// Identifier.
    pub id: i64,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role name: a built-in role or a custom one.
    pub role: String,
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
    /// Role name: built-in (`admin`, `sales_rep`…) or custom.
    pub role: String,
}

/// Changes an admin makes to a user; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserChanges {
    /// Display name.
    pub name: Option<String>,
    /// Role name (built-in or custom).
    pub role: Option<String>,
    /// Disable (false) or re-enable (true) sign-in; disabling revokes every token.
    pub is_active: Option<bool>,
    /// A new password (at least 10 characters).
    pub password: Option<String>,
}

/// A token as listed (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenInfo {
    /// Identifier.
    pub id: i64,
    /// `personal` (made by the user), `api` (from sign-in) or `session` (the web UI).
    pub kind: String,
    /// The user's label for a personal token.
    pub name: Option<String>,
    /// `read`, or `read write`.
    pub scopes: String,
    /// Creation time.
    pub created_at: String,
    /// Expiry.
    pub expires_at: Option<String>,
    /// Last use (updated at most once a minute).
    pub last_used_at: Option<String>,
    /// Set once revoked.
    pub revoked_at: Option<String>,
}

/// A team and its members.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Team {
    /// Identifier.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// `private`: members see only their own records; `team`: members see each other's.
    pub visibility: String,
    /// User ids of the members.
    pub member_ids: Vec<i64>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Version.
    pub version: i64,
}

/// A new team, or changes to one; on update, `None` fields stay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamChanges {
    /// Name, 1 to 100 characters.
    pub name: Option<String>,
    /// `private` or `team`.
    pub visibility: Option<String>,
    /// The complete member list (replaces it).
    pub member_ids: Option<Vec<i64>>,
}

/// A role as listed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RoleInfo {
    /// Name users refer to.
    pub name: String,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
    /// What the role may do.
    pub permissions: Permissions,
    /// Version, counting replacements (1 when created; built-in roles stay at 1); send it as
    /// `If-Match` to delete only the definition you saw.
    pub version: i64,
}

/// A custom role to create or replace.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleDefinition {
    /// Name: lower-case letters, digits and `_`.
    pub name: String,
    /// Grants and visibility.
    pub permissions: Permissions,
}
