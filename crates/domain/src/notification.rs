//! Notifications: what a user is told (an SLA warning, a mention), with a link to the thing
//! and whether they have read it. Any module may notify; each user reads only their own.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    /// Identifier.
    pub id: i64,
    /// What it is about: `sla_near_breach`, `sla_breach`, `mention`…
    pub kind: String,
    /// One line for people.
    pub text: String,
    /// The page it is about (`/tickets/12`).
    pub link: Option<String>,
    /// When (RFC 3339 UTC).
    pub created_at: String,
    /// When the user read it; null while unread.
    pub read_at: Option<String>,
}

/// A notification to send: to whom, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// The user told.
    pub user_id: i64,
    /// Kind (see [`Notification::kind`]).
    pub kind: String,
    /// Text.
    pub text: String,
    /// Link.
    pub link: Option<String>,
}
