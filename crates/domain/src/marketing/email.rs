//! Sending a campaign's email, consent and bounces: the request to send, where a sending
//! stands, the caps a sender keeps, consent records, bounce and complaint events, and VERP
//! return paths.
//!
//! Decisions where the issue is silent:
//! - One live sending per campaign; a finished or cancelled one may be followed by another
//!   (each person still gets one mail per sending).
//! - Caps count mails as they are claimed for SMTP; a mail skipped by the frequency cap is not
//!   postponed but skipped (state `skipped`), as a newsletter a week late is noise.
//! - A consent row for topic `*` is the global one: withdrawing it is a global unsubscribe and
//!   also suppresses the address. Without any consent row a person is mailed (legitimate
//!   interest of an existing customer relationship); a withdrawn topic is never mailed.
//! - Soft bounces suppress after [`SOFT_BOUNCE_LIMIT`] of them by default.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ValidationErrors;

/// Soft bounces of one address after which it is suppressed, unless configured otherwise.
pub const SOFT_BOUNCE_LIMIT: i64 = 3;

/// The topic of the global consent.
pub const GLOBAL_TOPIC: &str = "*";

/// What a client sends to `POST /campaigns/{id}/send`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    /// The template to send.
    pub template_id: i64,
    /// When to start (RFC 3339); now when absent.
    #[serde(default)]
    pub send_at: Option<String>,
    /// The consent topic the mail is about (default `newsletter`): people who withdrew it are skipped.
    #[serde(default)]
    pub topic: Option<String>,
    /// Failed attempts after which the sending pauses (default 50).
    #[serde(default)]
    pub error_threshold: Option<i64>,
    /// A local start, `YYYY-MM-DDTHH:MM` without a zone: each mail waits for that wall time in
    /// its recipient's time zone (see [`crate::marketing::windows`]).
    #[serde(default)]
    pub local_send_at: Option<String>,
    /// The zone of recipients whose person and company name none (IANA, default UTC).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Sending windows in the recipient's local time: mail outside them waits for the next opening.
    #[serde(default)]
    pub window: Option<crate::marketing::windows::WindowInput>,
}

/// A checked [`SendInput`].
#[derive(Debug, Clone, PartialEq)]
pub struct SendRequest {
    /// The template.
    pub template_id: i64,
    /// Start time, RFC 3339 UTC.
    pub send_at: String,
    /// Consent topic.
    pub topic: String,
    /// Pause threshold.
    pub error_threshold: i64,
    /// The local start (`YYYY-MM-DDTHH:MM:SS`), when one was asked for.
    pub local_send_at: Option<String>,
    /// The default zone's name.
    pub time_zone: Option<String>,
    /// The windows (stored as their JSON).
    pub window: Option<crate::marketing::windows::WindowInput>,
}

/// A consent topic's key: 1 to 50 lower-case letters, digits, `-` or `_`.
pub fn valid_topic(t: &str) -> bool {
    !t.is_empty() && t.len() <= 50 && t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

impl SendInput {
    /// Checks the request; `now` fills a missing `send_at`.
    pub fn validated(self, now: &str) -> Result<SendRequest, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let send_at = match self.send_at.as_deref() {
            None => now.to_string(),
            Some(s) => match chrono::DateTime::parse_from_rfc3339(s) {
                Ok(t) => t.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                Err(_) => {
                    errs.add("send_at", "must be an RFC 3339 time such as 2026-12-01T09:00:00Z");
                    String::new()
                }
            },
        };
        let topic = self.topic.unwrap_or_else(|| "newsletter".into());
        if !valid_topic(&topic) {
            errs.add("topic", "must be 1 to 50 lower-case letters, digits, - or _");
        }
        let error_threshold = self.error_threshold.unwrap_or(50);
        if !(1..=1_000_000).contains(&error_threshold) {
            errs.add("error_threshold", "must be between 1 and 1000000");
        }
        let local = self.local_send_at.as_deref().map(|l| (l, crate::marketing::windows::parse_local(l)));
        let mut send_at = send_at;
        let local_send_at = match local {
            None => None,
            Some((_, None)) => {
                errs.add("local_send_at", "must be a local time without a zone, such as 2026-12-01T09:00");
                None
            }
            Some((_, Some(l))) => {
                // The earliest zone (UTC+14) reaches that wall time first: expansion starts then.
                let first = chrono::TimeZone::from_utc_datetime(&chrono::Utc, &l) - chrono::Duration::hours(14);
                let first = first.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                if first > send_at {
                    send_at = first;
                }
                Some(l.format("%Y-%m-%dT%H:%M:%S").to_string())
            }
        };
        if let Some(z) = self.time_zone.as_deref()
            && crate::marketing::windows::zone(Some(z)).is_none()
        {
            errs.add("time_zone", format!("'{z}' is not an IANA time zone such as Europe/Berlin"));
        }
        let window = self.window.and_then(|w| w.parse("window", &mut errs).map(|w| w.input()));
        errs.into_result(SendRequest {
            template_id: self.template_id,
            send_at,
            topic,
            error_threshold,
            local_send_at,
            time_zone: self.time_zone.map(|z| z.trim().to_string()),
            window,
        })
    }
}

/// Where a sending stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Waiting for `send_at`.
    Scheduled,
    /// Writing the members' mails into the queue.
    Expanding,
    /// Every mail is queued; the sender delivers them.
    Sending,
    /// Stopped after too many errors, until resumed.
    Paused,
    /// Every mail was handed over (or failed, or skipped).
    Done,
    /// Stopped by hand; unsent mails are dropped.
    Cancelled,
}

impl SendState {
    /// Every state.
    pub const ALL: [SendState; 6] = [Self::Scheduled, Self::Expanding, Self::Sending, Self::Paused, Self::Done, Self::Cancelled];

    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Expanding => "expanding",
            Self::Sending => "sending",
            Self::Paused => "paused",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<SendState> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// What a user may do in this state (the 409 of an illegal action names these).
    pub fn allowed_actions(self) -> &'static [&'static str] {
        match self {
            Self::Scheduled | Self::Expanding | Self::Sending => &["cancel"],
            Self::Paused => &["resume", "cancel"],
            Self::Done | Self::Cancelled => &["send"],
        }
    }
}

/// A sending as the API shows it, with its mails per state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignSend {
    /// Identifier.
    pub id: i64,
    /// The campaign.
    pub campaign_id: i64,
    /// The template.
    pub template_id: i64,
    /// Consent topic.
    pub topic: String,
    /// Where it stands.
    pub state: SendState,
    /// Start time.
    pub send_at: String,
    /// Failed attempts after which it pauses.
    pub error_threshold: i64,
    /// Failed attempts since it started or resumed.
    pub errors: i64,
    /// The local start in each recipient's zone, when one was asked for.
    pub local_send_at: Option<String>,
    /// The zone of recipients without one.
    pub time_zone: Option<String>,
    /// The sending windows, in each recipient's local time.
    pub window: Option<crate::marketing::windows::WindowInput>,
    /// Mails written to the queue so far.
    pub queued: i64,
    /// Members without an email address (nothing queued for them).
    pub skipped: i64,
    /// The queue's mails of this sending per state (`queued`, `sent`, `skipped`, `failed`…).
    pub mails: Vec<crate::service::mail::StateCount>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// The limits a sender keeps for marketing mail (transactional mail has none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MarketingLimits {
    /// Mails per minute, per hour and per day (the provider's quota); `None` is unlimited.
    pub per_minute: Option<i64>,
    /// Per hour.
    pub per_hour: Option<i64>,
    /// Per day.
    pub per_day: Option<i64>,
    /// At most this many marketing mails to one address within `frequency_days`, across campaigns.
    pub frequency_max: Option<i64>,
    /// The frequency cap's window in days.
    pub frequency_days: i64,
}

/// One consent decision of a person about a topic.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Consent {
    /// The person.
    pub person_id: i64,
    /// Topic key, or `*` for all marketing.
    pub topic: String,
    /// Given (`true`) or withdrawn.
    pub granted: bool,
    /// `consent`, `legitimate_interest`, `contract`…
    pub legal_basis: String,
    /// Where it was recorded: `preference_centre`, `unsubscribe_link`, `api`, `signup_form`…
    pub source: String,
    /// The client's address.
    pub ip: Option<String>,
    /// When.
    pub at: String,
}

/// A consent a client records through the API.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// Topic key, or `*`.
    pub topic: String,
    /// Given or withdrawn.
    pub granted: bool,
    /// Legal basis (default `consent`).
    #[serde(default)]
    pub legal_basis: Option<String>,
    /// Source (default `api`).
    #[serde(default)]
    pub source: Option<String>,
    /// The person's address when they consented (for a record made elsewhere).
    #[serde(default)]
    pub ip: Option<String>,
}

/// The legal bases a consent row may name.
pub const LEGAL_BASES: [&str; 4] = ["consent", "legitimate_interest", "contract", "legal_obligation"];

impl ConsentInput {
    /// Checks topic and legal basis.
    pub fn validated(self) -> Result<ConsentInput, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        if self.topic != GLOBAL_TOPIC && !valid_topic(&self.topic) {
            errs.add("topic", "must be `*` or 1 to 50 lower-case letters, digits, - or _");
        }
        if let Some(b) = &self.legal_basis
            && !LEGAL_BASES.contains(&b.as_str())
        {
            errs.add("legal_basis", format!("use one of: {}", LEGAL_BASES.join(", ")));
        }
        if self.source.as_deref().is_some_and(|s| s.trim().is_empty() || s.len() > 100) {
            errs.add("source", "must have 1 to 100 characters");
        }
        errs.into_result(self)
    }
}

/// What a provider or a bounce message says happened to a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    /// Permanent: the address does not exist. Suppresses at once.
    Hard,
    /// Temporary: mailbox full, greylisting. Suppresses after the soft limit.
    Soft,
    /// The recipient marked it as spam. Suppresses at once.
    Complaint,
}

impl BounceKind {
    /// Name as stored in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hard => "hard_bounce",
            Self::Soft => "soft_bounce",
            Self::Complaint => "complaint",
        }
    }
}

/// What a bounce or complaint did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BounceOutcome {
    /// `hard_bounce`, `soft_bounce` or `complaint`.
    pub kind: &'static str,
    /// Whether the address is suppressed now.
    pub suppressed: bool,
    /// The queue row it was about, when known.
    pub mail_id: Option<i64>,
}

/// A bounce or complaint webhook event: the mail by its Message-ID, or the address.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BounceEvent {
    /// `hard`, `soft` or `complaint`.
    pub kind: BounceKind,
    /// The recipient's address.
    #[serde(default)]
    pub email: Option<String>,
    /// The Message-ID of the mail it is about (with or without angle brackets).
    #[serde(default)]
    pub message_id: Option<String>,
    /// The provider's diagnostic text.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The VERP return path of a mail: `local+b-{token}@domain` for a bounce address
/// `local@domain`, so that a bounce names the mail it is about.
pub fn verp(bounce_addr: &str, token: &str) -> Option<String> {
    let (local, domain) = bounce_addr.rsplit_once('@')?;
    Some(format!("{local}+b-{token}@{domain}"))
}

/// The token of a VERP address found in `text` (a bounce's headers and body), if any.
pub fn verp_token(text: &str) -> Option<String> {
    let i = text.find("+b-")?;
    let tok: String = text[i + 3..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
    (!tok.is_empty()).then_some(tok)
}

/// Whether a bounce message's text (its DSN) reports a permanent failure: a `5.x.x` status
/// or a 5xx SMTP reply; otherwise it is soft.
pub fn dsn_is_hard(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = lower.find("status:") {
        return lower[i + 7..].trim_start().starts_with('5');
    }
    lower.contains(" 550 ") || lower.contains(" 551 ") || lower.contains(" 553 ") || lower.contains("user unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verp_round_trip_and_dsn_status() {
        let v = verp("bounces@rapport.test", "abc123.9f").unwrap();
        assert_eq!(v, "bounces+b-abc123.9f@rapport.test");
        assert_eq!(verp_token(&format!("To: <{v}>\r\n")).as_deref(), Some("abc123.9f"));
        assert!(dsn_is_hard("Action: failed\r\nStatus: 5.1.1\r\n"));
        assert!(!dsn_is_hard("Action: delayed\r\nStatus: 4.2.2\r\n"));
    }

    #[test]
    fn send_input_names_bad_fields() {
        let e = SendInput {
            template_id: 1,
            send_at: Some("tomorrow".into()),
            topic: Some("Bad Topic".into()),
            error_threshold: Some(0),
            ..SendInput::default()
        }
        .validated("2026-01-01T00:00:00Z")
        .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["send_at", "topic", "error_threshold"]);
        let e = SendInput {
            template_id: 1,
            local_send_at: Some("2026-12-01 9am".into()),
            time_zone: Some("Mars/Olympus".into()),
            window: Some(crate::marketing::windows::WindowInput { days: vec![], start: "09:00".into(), end: "17:00".into() }),
            ..SendInput::default()
        }
        .validated("2026-01-01T00:00:00Z")
        .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["local_send_at", "time_zone", "window.days"]);
        // A local start begins expanding when the earliest zone (UTC+14) reaches it.
        let r = SendInput { template_id: 1, local_send_at: Some("2026-12-01T09:00".into()), ..SendInput::default() }
            .validated("2026-01-01T00:00:00Z")
            .unwrap();
        assert_eq!((r.send_at.as_str(), r.local_send_at.as_deref()), ("2026-11-30T19:00:00.000000Z", Some("2026-12-01T09:00:00")));
    }
}
