//! The audit trail as it is read back: entries and the filters that select them.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One audit row as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Identifier; entries are only ever appended.
    pub id: i64,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Who (`null` for the system or an anonymous sign-in attempt).
    pub actor_id: Option<i64>,
    /// The HTTP request it came from.
    pub request_id: Option<String>,
    /// `create`, `update`, `delete`, `login`, `login_failed`, `role_change`, `export`…
    pub action: String,
    /// `customer`, `company`, `user`, `team`, `role`, `token`…
    pub object: String,
    /// The record, when there is one.
    pub record_id: Option<i64>,
    /// Before/after values of what changed.
    #[schema(value_type = Object)]
    pub diff: Value,
}

/// Which entries to read; newest first, paged by `before_id`. `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Only this user's actions.
    pub actor_id: Option<i64>,
    /// Only this object kind.
    pub object: Option<String>,
    /// Only this record (with `object`).
    pub record_id: Option<i64>,
    /// Only this action.
    pub action: Option<String>,
    /// At or after this time (RFC 3339).
    pub since: Option<String>,
    /// Before this time.
    pub until: Option<String>,
    /// Entries older than this id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<i64>,
}
