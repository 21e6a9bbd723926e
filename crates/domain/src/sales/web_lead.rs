//! Web-to-lead: what the public lead form sends, what becomes of it, and the settings admins
//! give the form.
//!
//! A submission names a person (name and email required). A new email becomes a person at
//! lifecycle stage `lead`, lead status `new`, source [`SOURCE`]; a known email records the new
//! interest on the existing person (a line appended to their needs, and a note) and changes
//! nothing else about them: an anonymous submitter could be anyone, so the name, phone and
//! company they typed go into the note, never over what the person's record says. Either
//! way the submitter gets the same answer, so the form does not reveal whether an email is
//! known. A filled honeypot field ([`WebLeadInput::website`]) marks a bot: answered the same,
//! nothing stored.
//!
//! Each client IP may submit [`THROTTLE_MAX`] times per [`THROTTLE_MINUTES`]; browsers on
//! other sites may submit only from the [`WebFormSettings::allowed_origins`] an admin lists.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::activity::{ActivityData, ActivityInput, ActivityKind};
use super::required_text;
use crate::customer::{CustomerData, LifecycleStage};
use crate::values::{Email, Phone, Region, bounded_text};
use crate::{ValidationErrors, double_option};

/// Submissions one client IP may make per window.
pub const THROTTLE_MAX: i64 = 5;
/// The throttle's window, in minutes.
pub const THROTTLE_MINUTES: i64 = 10;
/// The source of people the web form creates.
pub const SOURCE: &str = "web form";
/// The longest message, and the longest `needs` a person keeps (as [`CustomerData`] allows).
pub const MAX_MESSAGE: usize = 5000;
/// The most allowed origins.
pub const MAX_ORIGINS: usize = 50;

/// What the public lead form (or a site posting to the API) sends: JSON or form-encoded.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebLeadInput {
    /// Full name, 1 to 200 characters (required).
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// Email (required).
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Phone, international or national to the server's region.
    pub phone: Option<String>,
    /// The company the person works for, as typed.
    #[schema(max_length = 200)]
    pub company_name: Option<String>,
    /// What they need, or their message.
    #[schema(max_length = 5000)]
    pub message: Option<String>,
    /// Leave empty: the form hides this field from people, so only bots fill it in (such
    /// submissions are answered as received and stored nowhere).
    pub website: Option<String>,
    /// `true` (or a checked box's `on`) to sign up for marketing email: a confirmation mail
    /// goes out, and consent is recorded only when its link is confirmed (double opt-in).
    pub subscribe: Option<String>,
    /// The consent topic signed up for (default `newsletter`).
    pub topic: Option<String>,
}

/// A valid submission (built by [`WebLeadInput::apply`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WebLead {
    /// Name.
    pub name: String,
    /// Email, canonical.
    pub email: String,
    /// Phone in E.164.
    pub phone: Option<String>,
    /// Company name as typed.
    pub company_name: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// The consent topic the person asked to sign up for (confirmed by mail before it counts).
    pub subscribe: Option<String>,
}

impl WebLeadInput {
    /// Whether the honeypot field is filled in (a bot).
    pub fn is_bot(&self) -> bool {
        self.website.as_deref().is_some_and(|w| !w.trim().is_empty())
    }

    /// Validates the submission, naming every wrong field.
    pub fn apply(self, region: Region) -> Result<WebLead, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let name = match self.name.as_deref().map(|n| required_text(n, 200)) {
            Some(Ok(n)) => Some(n),
            Some(Err(m)) => {
                errs.add("name", m);
                None
            }
            None => {
                errs.add("name", "is required");
                None
            }
        };
        let email = match self.email.as_deref().filter(|e| !e.trim().is_empty()) {
            Some(e) => errs.check("email", Email::parse(e)).map(|e| e.to_string()),
            None => {
                errs.add("email", "is required, so that we can answer you");
                None
            }
        };
        let phone = self.phone.filter(|p| !p.trim().is_empty()).and_then(|p| errs.check("phone", Phone::parse(&p, region)));
        let company_name = self.company_name.and_then(|c| errs.check("company_name", bounded_text(&c, 200)).flatten());
        let message = self.message.and_then(|m| errs.check("message", bounded_text(&m, MAX_MESSAGE)).flatten());
        let wants = self
            .subscribe
            .as_deref()
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| matches!(v.as_str(), "true" | "on" | "1" | "yes"));
        let topic = self.topic.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).unwrap_or_else(|| "newsletter".into());
        if wants && !crate::marketing::email::valid_topic(&topic) {
            errs.add("topic", "must be 1 to 50 lower-case letters, digits, - or _");
        }
        let (Some(name), Some(email), true) = (name, email, errs.0.is_empty()) else {
            return Err(errs);
        };
        let subscribe = wants.then_some(topic);
        Ok(WebLead { name, email, phone: phone.map(|p| p.to_string()), company_name, message, subscribe })
    }
}

impl WebLead {
    /// The person a new email becomes: a `new` lead from the web form, owned by `owner` (none:
    /// the lead pool every rep sees), linked to `company_id` when the company is known.
    pub fn new_person(&self, owner: Option<i64>, company_id: Option<i64>) -> CustomerData {
        CustomerData {
            name: self.name.clone(),
            email: Some(self.email.clone()),
            phone: self.phone.clone(),
            company_id,
            lifecycle_stage: LifecycleStage::Lead,
            source: Some(SOURCE.into()),
            owner_id: owner,
            needs: self.message.clone(),
            ..CustomerData::default()
        }
    }

    /// The line a submission adds to a known person's needs, dated `day` (`YYYY-MM-DD`).
    pub fn interest_line(&self, day: &str) -> String {
        let what = self.message.as_deref().unwrap_or("asked to be contacted (no message)");
        format!("[{day}, {SOURCE}] {what}")
    }

    /// The note logged on the person for this submission: what was typed, all of it.
    pub fn note(&self, customer_id: i64, owner: Option<i64>, now: &str) -> Result<ActivityData, ValidationErrors> {
        let mut body = format!("Name: {}\nEmail: {}", self.name, self.email);
        for (label, v) in [("Phone", &self.phone), ("Company", &self.company_name)] {
            if let Some(v) = v {
                body.push_str(&format!("\n{label}: {v}"));
            }
        }
        if let Some(m) = &self.message {
            body.push_str("\n\n");
            body.push_str(m);
        }
        let subject = match &self.message {
            Some(m) => format!("Web form: {}", m.chars().take(120).collect::<String>().lines().next().unwrap_or("")),
            None => "Web form: asked to be contacted".to_string(),
        };
        ActivityInput {
            kind: Some(ActivityKind::Note),
            subject: Some(subject),
            body: Some(Some(body)),
            assignee_id: Some(owner),
            owner_id: Some(owner),
            customer_id: Some(Some(customer_id)),
            ..ActivityInput::default()
        }
        .apply(None, now)
    }
}

/// `needs` with `line` appended on a paragraph of its own; when that is longer than a person's
/// needs may be, the oldest text goes.
pub fn append_needs(needs: Option<&str>, line: &str) -> String {
    let all = match needs.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("{n}\n\n{line}"),
        None => line.to_string(),
    };
    let n = all.chars().count();
    if n <= MAX_MESSAGE { all } else { all.chars().skip(n - MAX_MESSAGE).collect::<String>().trim_start().to_string() }
}

/// How the web form is set up (admins only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebFormSettings {
    /// Sites (origins such as `https://www.example.com`) whose pages may submit leads; the
    /// form Rapport serves itself is always allowed.
    pub allowed_origins: Vec<String>,
    /// Who owns the leads the form creates; `null` leaves them unowned, in the lead pool
    /// every sales rep sees.
    pub default_owner_id: Option<i64>,
    /// Whether a sign-up for email must confirm by a mailed link before its consent is recorded
    /// (double opt-in, the default); `false` records the consent at once (single opt-in, with
    /// the submitter's IP), where the law allows it.
    pub double_opt_in: bool,
    /// Last change (RFC 3339 UTC); `null` until first saved.
    pub updated_at: Option<String>,
    /// Optimistic-concurrency version (0 until first saved); send it back as `If-Match`.
    pub version: i64,
}

/// What an admin sends to change the web form's settings; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebFormSettingsInput {
    /// The complete list of allowed origins (replaces it), at most 50.
    #[schema(max_items = 50)]
    pub allowed_origins: Option<Vec<String>>,
    /// Owner of new web leads, or `null` for the lead pool.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub default_owner_id: Option<Option<i64>>,
    /// Double opt-in (`true`) or single opt-in (`false`) for sign-ups.
    pub double_opt_in: Option<bool>,
}

impl Default for WebFormSettings {
    fn default() -> Self {
        WebFormSettings { allowed_origins: vec![], default_owner_id: None, double_opt_in: true, updated_at: None, version: 0 }
    }
}

impl WebFormSettingsInput {
    /// Merges onto `current`, checking every origin (errors at `allowed_origins.<i>`).
    pub fn apply(self, current: &WebFormSettings) -> Result<WebFormSettings, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let mut s = current.clone();
        if let Some(list) = self.allowed_origins {
            if list.len() > MAX_ORIGINS {
                errs.add("allowed_origins", format!("at most {MAX_ORIGINS} origins"));
            }
            let mut out: Vec<String> = (list.iter().enumerate())
                .filter(|(_, o)| !o.trim().is_empty())
                .filter_map(|(i, o)| errs.check(&format!("allowed_origins.{i}"), parse_origin(o)))
                .collect();
            out.sort();
            out.dedup();
            s.allowed_origins = out;
        }
        if let Some(o) = self.default_owner_id {
            s.default_owner_id = o;
        }
        if let Some(d) = self.double_opt_in {
            s.double_opt_in = d;
        }
        errs.into_result(s)
    }
}

/// An origin as browsers send it in `Origin`: `scheme://host[:port]`, lower case, without the
/// scheme's default port, path, query or credentials.
pub fn parse_origin(raw: &str) -> Result<String, String> {
    let bad = || format!("'{raw}' is not an origin such as https://www.example.com (scheme and host, no path)");
    let s = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return Err(bad()),
    };
    let host = rest.strip_suffix(default_port).unwrap_or(rest);
    let (name, port) = match host.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or_else(bad)?;
            (&host[..addr.len() + 2], if after.is_empty() { None } else { Some(after.strip_prefix(':').ok_or_else(bad)?) })
        }
        None => match host.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        },
    };
    let name_ok = if let Some(v6) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !name.is_empty()
            && name.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if name_ok && port_ok { Ok(format!("{scheme}://{host}")) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-03-10T12:00:00.000000Z";

    fn input(json: &str) -> WebLeadInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_submission_needs_a_name_and_an_email_and_names_every_bad_field() {
        let e = input(r#"{"phone":"abc","company_name":"  "}"#).apply(Region::US).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "email", "phone"]);
        let long = format!(r#"{{"name":"Ann","email":"ann@x.io","message":"{}"}}"#, "x".repeat(MAX_MESSAGE + 1));
        assert_eq!(input(&long).apply(Region::US).unwrap_err().0[0].field, "message");
        let l =
            input(r#"{"name":" Ann Lee ","email":"ANN@X.io","phone":"415 555 0134","company_name":"Acme","message":"Quote for 40 seats"}"#)
                .apply(Region::US)
                .unwrap();
        assert_eq!((l.name.as_str(), l.email.as_str(), l.phone.as_deref()), ("Ann Lee", "ann@x.io", Some("+14155550134")));
        assert!(serde_json::from_str::<WebLeadInput>(r#"{"name":"x","owner_id":1}"#).is_err(), "unknown fields are refused");
    }

    #[test]
    fn the_honeypot_marks_bots() {
        assert!(input(r#"{"name":"x","website":"http://spam.example"}"#).is_bot());
        assert!(!input(r#"{"name":"x","website":"  "}"#).is_bot());
        assert!(!input(r#"{"name":"x"}"#).is_bot());
    }

    #[test]
    fn a_new_person_is_a_new_lead_from_the_web_form_and_a_note_keeps_what_was_typed() {
        let l = input(r#"{"name":"Ann","email":"ann@x.io","phone":"+44 20 7946 0958","company_name":"Acme","message":"Call me\nsoon"}"#)
            .apply(Region::US)
            .unwrap();
        let p = l.new_person(None, Some(4));
        assert_eq!((p.lifecycle_stage, p.lead.lead_status), (LifecycleStage::Lead, crate::sales::lead::LeadStatus::New));
        assert_eq!(
            (p.source.as_deref(), p.owner_id, p.company_id, p.needs.as_deref()),
            (Some(SOURCE), None, Some(4), Some("Call me\nsoon"))
        );
        let n = l.note(9, Some(2), NOW).unwrap();
        assert_eq!((n.kind, n.done, n.customer_id, n.owner_id, n.assignee_id), (ActivityKind::Note, true, Some(9), Some(2), Some(2)));
        assert_eq!(n.subject, "Web form: Call me");
        assert_eq!(n.body.as_deref(), Some("Name: Ann\nEmail: ann@x.io\nPhone: +442079460958\nCompany: Acme\n\nCall me\nsoon"));
        assert_eq!(l.interest_line("2026-03-10"), "[2026-03-10, web form] Call me\nsoon");
    }

    #[test]
    fn needs_grow_by_paragraphs_and_drop_the_oldest_text_when_full() {
        assert_eq!(append_needs(None, "b"), "b");
        assert_eq!(append_needs(Some(" a "), "b"), "a\n\nb");
        let full = "x".repeat(MAX_MESSAGE);
        let out = append_needs(Some(&full), "newest");
        assert_eq!(out.chars().count(), MAX_MESSAGE);
        assert!(out.ends_with("\n\nnewest"));
    }

    #[test]
    fn origins_are_checked_and_normalized() {
        for (raw, want) in [
            ("https://www.Example.com/", "https://www.example.com"),
            ("https://example.com:443", "https://example.com"),
            ("http://localhost:8080", "http://localhost:8080"),
            ("http://[::1]:3000", "http://[::1]:3000"),
        ] {
            assert_eq!(parse_origin(raw).as_deref(), Ok(want), "{raw}");
        }
        for bad in [
            "example.com",
            "ftp://example.com",
            "https://example.com/path",
            "https://user@example.com",
            "https://ex ample.com",
            "https://x:99999",
            "null",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
        let s = serde_json::from_str::<WebFormSettingsInput>(
            r#"{"allowed_origins":["https://b.example","nope","https://a.example/","https://b.example"],"default_owner_id":3}"#,
        )
        .unwrap()
        .apply(&WebFormSettings::default())
        .unwrap_err();
        assert_eq!(s.0[0].field, "allowed_origins.1");
        let s = serde_json::from_str::<WebFormSettingsInput>(
            r#"{"allowed_origins":["https://b.example","https://a.example/"," "],"default_owner_id":3}"#,
        )
        .unwrap()
        .apply(&WebFormSettings::default())
        .unwrap();
        assert_eq!(
            (s.allowed_origins, s.default_owner_id),
            (vec!["https://a.example".to_string(), "https://b.example".to_string()], Some(3))
        );
    }
}
