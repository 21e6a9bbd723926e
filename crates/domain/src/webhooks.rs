//! Webhooks: which changes become which events, what a subscription may say, when a failed
//! delivery is tried again, and which target addresses are refused (server-side request
//! forgery: a subscription must not make the server post into its own network).

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::{ValidationErrors, double_option};

/// Every event a subscription can ask for (`*` asks for all).
pub const EVENT_TYPES: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.merged",
    "company.created",
    "company.updated",
    "company.deleted",
    "company.merged",
    "lead.converted",
    "opportunity.created",
    "opportunity.updated",
    "opportunity.stage_changed",
    "opportunity.deleted",
    "order.created",
    "order.updated",
    "order.paid",
    "order.deleted",
    "product.created",
    "product.updated",
    "product.deleted",
    "activity.created",
    "activity.updated",
    "activity.deleted",
    "ticket.created",
    "ticket.updated",
    "ticket.resolved",
    "ticket.merged",
    "ticket.deleted",
    "sla.breached",
    "sla.near_breach",
    "campaign.created",
    "campaign.updated",
    "campaign.deleted",
];

/// The records whose own creates, updates and deletes are events (`<object>.created` …).
const RECORD_OBJECTS: &[&str] = &["customer", "company", "opportunity", "order", "product", "activity", "ticket", "campaign"];

/// The events an audited change is: `object` and `action` as the audit log names them, `diff`
/// as it records them (`{"after": …}` for a create, `{field: [before, after]}` for an update).
/// Bulk loads (`bulk_create`) are no events: they are imports and demo data, not changes a
/// subscriber follows one by one.
pub fn events_of(object: &str, action: &str, diff: &Value) -> Vec<&'static str> {
    let after = |field: &str| diff.get(field).and_then(|v| v.get(1));
    let mut out = Vec::new();
    if RECORD_OBJECTS.contains(&object) {
        let verb = match action {
            "create" => Some("created"),
            "update" => Some("updated"),
            "delete" | "erase" => Some("deleted"),
            _ => None,
        };
        if let Some(verb) = verb
            && let Some(t) = event_type(object, verb)
        {
            out.push(t);
        }
    }
    match (object, action) {
        ("customer", "convert") => out.push("lead.converted"),
        ("customer", "merge") => out.push("customer.merged"),
        ("company", "merge") => out.push("company.merged"),
        ("ticket", "merge_into") => out.push("ticket.merged"),
        ("opportunity", "update") if diff.get("stage_id").is_some() => out.push("opportunity.stage_changed"),
        ("order", "update") if after("status") == Some(&Value::from("paid")) => out.push("order.paid"),
        ("order", "create") if diff.pointer("/after/status") == Some(&Value::from("paid")) => out.push("order.paid"),
        ("ticket", "update") if after("status") == Some(&Value::from("resolved")) => out.push("ticket.resolved"),
        _ => {}
    }
    out
}

/// The `&'static` name of `<object>.<verb>` among [`EVENT_TYPES`].
fn event_type(object: &str, verb: &str) -> Option<&'static str> {
    EVENT_TYPES.iter().copied().find(|t| t.split_once('.') == Some((object, verb)))
}

/// A subscription as the API returns it (the secret only once, in the create response).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    /// Identifier.
    pub id: i64,
    /// Where deliveries are posted (`https://…`, or `http://…`).
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// Subscribed event types, or `["*"]` for every event.
    pub events: Vec<String>,
    /// Whether events are delivered; turned off by an admin, or by the server after
    /// `disable_after_failures` failed attempts in a row (then `disabled_reason` says so).
    pub active: bool,
    /// Failed attempts since the last success.
    pub failure_streak: i64,
    /// Why the server disabled it.
    pub disabled_reason: Option<String>,
    /// The last successful delivery.
    pub last_success_at: Option<String>,
    /// The signing secret: returned when the subscription is created, never again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// A subscription's editable fields, valid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriptionData {
    /// Target URL.
    pub url: String,
    /// Description.
    pub description: Option<String>,
    /// Event types, sorted, or `["*"]`.
    pub events: Vec<String>,
    /// Delivering or not.
    pub active: bool,
}

/// What a client sends to create (`url` and `events` required) or change a subscription.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    /// `http://` or `https://` URL, at most 2,000 characters, without user or password.
    pub url: Option<String>,
    /// Description, or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Event types (see `GET /webhooks/event_types`), or `["*"]`.
    pub events: Option<Vec<String>>,
    /// Set `true` to turn a disabled subscription back on (its failure streak starts again).
    pub active: Option<bool>,
}

impl SubscriptionInput {
    /// Merges onto `current` (or a new, active subscription) and validates.
    pub fn apply(self, current: Option<&SubscriptionData>) -> Result<SubscriptionData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or(SubscriptionData { active: true, ..SubscriptionData::default() });
        match self.url {
            Some(u) => {
                if let Some(u) = errs.check("url", parse_target(&u).map(|u| u.to_string())) {
                    d.url = u;
                }
            }
            None if creating => errs.add("url", "is required"),
            None => {}
        }
        if let Some(desc) = self.description {
            let desc = desc.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            if desc.as_ref().is_some_and(|s| s.chars().count() > 500) {
                errs.add("description", "must have at most 500 characters");
            }
            d.description = desc;
        }
        match self.events {
            Some(events) => {
                if let Some(e) = errs.check("events", parse_events(&events)) {
                    d.events = e;
                }
            }
            None if creating => errs.add("events", "is required: a list of event types, or [\"*\"] for all"),
            None => {}
        }
        if let Some(a) = self.active {
            d.active = a;
        }
        errs.into_result(d)
    }
}

/// Checks a list of event types: known ones (or `*` alone), at least one; sorted and deduplicated.
pub fn parse_events(events: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = events.iter().map(|e| e.trim().to_ascii_lowercase()).collect();
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err("name at least one event type, or \"*\" for all".into());
    }
    if out.iter().any(|e| e == "*") {
        return if out.len() == 1 { Ok(out) } else { Err("\"*\" already means every event: send it alone".into()) };
    }
    if let Some(bad) = out.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
        return Err(format!("unknown event type '{bad}': use one of {}", EVENT_TYPES.join(", ")));
    }
    Ok(out)
}

/// The stored form of a subscription's events: between commas, so that one `LIKE '%,type,%'`
/// matches (or `*`).
pub fn events_column(events: &[String]) -> String {
    if events.iter().any(|e| e == "*") { "*".into() } else { format!(",{},", events.join(",")) }
}

/// The list back from [`events_column`].
pub fn events_from_column(stored: &str) -> Vec<String> {
    stored.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Checks a target URL: absolute `http` or `https`, with a host, no credentials, at most 2,000
/// characters. Whether its addresses are allowed is decided at delivery, after DNS.
pub fn parse_target(raw: &str) -> Result<url::Url, String> {
    let raw = raw.trim();
    if raw.chars().count() > 2000 {
        return Err("must have at most 2,000 characters".into());
    }
    let u = url::Url::parse(raw).map_err(|e| format!("is not an absolute URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("must be an http:// or https:// URL, not {}://", u.scheme()));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("needs a host".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not carry a user name or password: the signature authenticates deliveries".into());
    }
    Ok(u)
}

/// Why a resolved address may not be a target unless an admin allows private targets: loopback,
/// private, link-local (which holds cloud metadata services at 169.254.169.254), shared
/// (carrier-grade NAT), unspecified, multicast, broadcast, documentation and unique-local ranges.
pub fn refused_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return refused_v4(v4);
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a unique-local (private) address")
            } else if first == 0x2001 && v6.segments()[1] == 0x0db8 {
                Some("a documentation address")
            } else if first == 0x0064 && v6.segments()[1] == 0xff9b {
                // NAT64 embeds an IPv4 address in the last 32 bits.
                let s = v6.segments();
                refused_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
            } else {
                None
            }
        }
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (cloud metadata lives there)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_unspecified() || a == 0 {
        Some("the unspecified network")
    } else if ip.is_multicast() || a >= 240 {
        Some("a multicast or reserved address")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        Some("a documentation or benchmarking address")
    } else {
        None
    }
}

/// Attempts a delivery gets before it fails for good (the delays add up to about two and a half days).
pub const MAX_ATTEMPTS: i64 = 20;

/// How long after failed attempt number `attempts` (1 for the first) the next one is due, or
/// `None` when that was the last: 30 s doubling to at most 6 h, scaled by `jitter` (a random
/// factor the caller draws from 0.8..1.2, so receivers that fail together are not retried
/// together).
pub fn retry_delay(attempts: i64, jitter: f64) -> Option<std::time::Duration> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let base = 30.0 * 2f64.powi((attempts.max(1) - 1).min(20) as i32);
    Some(std::time::Duration::from_secs_f64(base.min(6.0 * 3600.0) * jitter.clamp(0.5, 1.5)))
}

/// One delivery of an event to a subscription, for the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// Identifier (redeliver with `POST /webhooks/deliveries/{id}/redeliver`).
    pub id: i64,
    /// The event: receivers deduplicate by it.
    pub event_id: i64,
    /// The event type.
    pub event_type: String,
    /// The subscription.
    pub subscription_id: i64,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: String,
    /// HTTP status of the last attempt.
    pub last_status: Option<i64>,
    /// What went wrong last.
    pub last_error: Option<String>,
    /// When a receiver answered 2xx.
    pub delivered_at: Option<String>,
    /// When the event happened.
    pub created_at: String,
}

/// One attempt of a delivery, for the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    /// When it was made.
    pub at: String,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<i64>,
    /// What went wrong.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
}

/// Sender settings (admins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Allow targets on loopback, private and link-local addresses (off by default: with it on,
    /// anyone who may create subscriptions can make the server post into its own network).
    pub allow_private_targets: bool,
    /// Failed attempts in a row after which a subscription is disabled (1 to 10,000).
    #[schema(minimum = 1, maximum = 10000)]
    pub disable_after_failures: i64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings { allow_private_targets: false, disable_after_failures: 50 }
    }
}

impl WebhookSettings {
    /// Checks the settings.
    pub fn validated(self) -> Result<WebhookSettings, ValidationErrors> {
        if !(1..=10_000).contains(&self.disable_after_failures) {
            return Err(ValidationErrors::single("disable_after_failures", "must be 1 to 10,000"));
        }
        Ok(self)
    }
}

#[cfg(test)]
#[path = "webhooks_tests.rs"]
mod tests;
