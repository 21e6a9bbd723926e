//! Rapport's domain: the records a CRM keeps, the value types they are made of, and the
//! rules that decide what is valid and who may do what.
//!
//! Nothing here performs I/O. Input arrives as loosely typed `*Input` structs (what a client
//! sent) and leaves as validated `*Changes` (what the store may write): "parse, don't
//! validate", so code downstream of [`customer::CustomerInput::validate`] never re-checks.
//! Validation collects every problem with the field it belongs to ([`ValidationErrors`]), so a
//! user sees all that is wrong with a form at once.
#![deny(missing_docs)]

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod company;
pub mod custom_field;
pub mod customer;
pub mod marketing;
pub mod notification;
pub mod permissions;
pub mod quality;
pub mod query;
pub mod record;
pub mod sales;
pub mod service;
pub mod text;
pub mod timeline;
pub mod values;
pub mod webhooks;

mod errors;
pub use errors::{FieldError, ValidationErrors};

/// Current time as the RFC 3339 UTC text every record carries (microsecond precision, `Z`),
/// which sorts lexicographically in the same order as time.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The time `d` from now, in the same form as [`now_rfc3339`] (leases, retries, expiries).
pub fn time_in(d: chrono::Duration) -> String {
    (chrono::Utc::now() + d).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Deserializes a field so that "absent" (outer `None`), "null" (`Some(None)`) and a value
/// (`Some(Some(v))`) stay distinguishable: PATCH clears a field only when it is sent as null.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}
