//! The mail settings admins keep in the database (issue 11 §2): the SMTP relay outgoing mail
//! goes through, the IMAP mailbox tickets arrive in (and how both connections are secured), the
//! From address and how often the mailbox is read. `rapport serve` reads them before each pass
//! of its sender and poller, so a change applies without a restart.
//!
//! Decisions where the issue is silent:
//! - Every field is optional: one left unset falls back to the server's flag or environment
//!   variable (`--smtp-url`, `--imap-host`, …), then to the built-in default. What an admin saved
//!   wins over a flag; clearing it (null) hands the field back to the flag.
//! - Passwords are write-only: the API and the form say whether one is set, never what it is;
//!   the store seals them at rest like other secrets.
//! - A custom CA (PEM text) is trusted besides the public roots, for a server with a self-signed
//!   certificate or a private CA; verification itself cannot be turned off.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::values::{Email, bounded_text};
use crate::{ValidationErrors, double_option};

/// How the connection to a mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// TLS from the first byte (IMAP on 993, SMTP submission on 465).
    #[default]
    Tls,
    /// A plain connection upgraded with STARTTLS before logging in (IMAP 143, SMTP 587).
    Starttls,
    /// No encryption: only for a server on this machine or behind a tunnel.
    None,
}

impl TlsMode {
    /// Every mode's name.
    pub const NAMES: &'static [&'static str] = &["tls", "starttls", "none"];

    /// Name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Tls => "tls",
            TlsMode::Starttls => "starttls",
            TlsMode::None => "none",
        }
    }

    /// The mode of a name.
    pub fn parse(s: &str) -> Option<TlsMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tls" | "implicit" | "imaps" | "smtps" => Some(TlsMode::Tls),
            "starttls" => Some(TlsMode::Starttls),
            "none" | "plain" => Some(TlsMode::None),
            _ => None,
        }
    }

    /// The usual IMAP port of the mode.
    pub fn imap_port(self) -> u16 {
        if self == TlsMode::Tls { 993 } else { 143 }
    }

    /// The usual SMTP port of the mode.
    pub fn smtp_port(self) -> u16 {
        match self {
            TlsMode::Tls => 465,
            TlsMode::Starttls => 587,
            TlsMode::None => 25,
        }
    }
}

/// The mail settings as stored (passwords only said to be set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct MailSettings {
    /// The SMTP relay's host name; null: the `--smtp-url` flag's.
    pub smtp_host: Option<String>,
    /// Its port; null: the usual one of `smtp_tls`.
    pub smtp_port: Option<i64>,
    /// How the SMTP connection is secured; null: `tls`.
    pub smtp_tls: Option<TlsMode>,
    /// The SMTP user; null: none (a relay that needs no login).
    pub smtp_user: Option<String>,
    /// Whether an SMTP password is stored (it is never shown).
    pub smtp_password_set: bool,
    /// The From address of outgoing mail (`Support <support@example.com>`); null: the flag's.
    pub mail_from: Option<String>,
    /// The IMAP server's host name; null: the `--imap-host` flag's (none: not polled).
    pub imap_host: Option<String>,
    /// Its port; null: the usual one of `imap_tls`.
    pub imap_port: Option<i64>,
    /// How the IMAP connection is secured; null: `tls`.
    pub imap_tls: Option<TlsMode>,
    /// The IMAP user.
    pub imap_user: Option<String>,
    /// Whether an IMAP password is stored (it is never shown).
    pub imap_password_set: bool,
    /// The folder read; null: `INBOX`.
    pub imap_folder: Option<String>,
    /// Certificates (PEM) trusted besides the public roots for the IMAP server, for a
    /// self-signed certificate or a private CA.
    pub imap_ca_pem: Option<String>,
    /// Seconds between reads of the mailbox; null: the flag's (30).
    pub imap_poll_secs: Option<i64>,
    /// Changes with every save (`If-Match`).
    pub version: i64,
    /// When they were last saved (RFC 3339), null before the first save.
    pub updated_at: Option<String>,
}

/// A change of the mail settings: a field left out stays, null clears it (back to the flag's),
/// a value sets it. Passwords likewise: left out, the stored one stays.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailSettingsInput {
    /// The SMTP relay's host name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub smtp_host: Option<Option<String>>,
    /// Its port.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub smtp_port: Option<Option<i64>>,
    /// How the SMTP connection is secured: `tls`, `starttls` or `none`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub smtp_tls: Option<Option<String>>,
    /// The SMTP user.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub smtp_user: Option<Option<String>>,
    /// The SMTP password (write-only).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub smtp_password: Option<Option<String>>,
    /// The From address of outgoing mail.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub mail_from: Option<Option<String>>,
    /// The IMAP server's host name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub imap_host: Option<Option<String>>,
    /// Its port.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub imap_port: Option<Option<i64>>,
    /// How the IMAP connection is secured: `tls`, `starttls` or `none`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub imap_tls: Option<Option<String>>,
    /// The IMAP user.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub imap_user: Option<Option<String>>,
    /// The IMAP password (write-only).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub imap_password: Option<Option<String>>,
    /// The folder read.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub imap_folder: Option<Option<String>>,
    /// PEM certificates trusted besides the public roots.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub imap_ca_pem: Option<Option<String>>,
    /// Seconds between reads of the mailbox.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub imap_poll_secs: Option<Option<i64>>,
}

/// The stored fields, passwords in the clear (the store seals them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailSettingsData {
    /// The SMTP relay's host name.
    pub smtp_host: Option<String>,
    /// Its port.
    pub smtp_port: Option<i64>,
    /// How the SMTP connection is secured: `tls`, `starttls` or `none`.
    pub smtp_tls: Option<TlsMode>,
    /// The SMTP user.
    pub smtp_user: Option<String>,
    /// The SMTP password (write-only).
    pub smtp_password: Option<String>,
    /// The From address of outgoing mail.
    pub mail_from: Option<String>,
    /// The IMAP server's host name.
    pub imap_host: Option<String>,
    /// Its port.
    pub imap_port: Option<i64>,
    /// How the IMAP connection is secured: `tls`, `starttls` or `none`.
    pub imap_tls: Option<TlsMode>,
    /// The IMAP user.
    pub imap_user: Option<String>,
    /// The IMAP password (write-only).
    pub imap_password: Option<String>,
    /// The folder read.
    pub imap_folder: Option<String>,
    /// PEM certificates trusted besides the public roots.
    pub imap_ca_pem: Option<String>,
    /// Seconds between reads of the mailbox.
    pub imap_poll_secs: Option<i64>,
}

/// The fewest and most seconds between reads of the mailbox.
pub const POLL_SECS: (i64, i64) = (5, 86_400);

fn host(raw: &str) -> Result<Option<String>, String> {
    let h = bounded_text(raw, 253)?;
    if let Some(h) = &h
        && !h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
    {
        return Err("must be a host name or IP address (letters, digits, dots and dashes)".into());
    }
    Ok(h)
}

fn port(p: i64) -> Result<i64, String> {
    if (1..=65_535).contains(&p) { Ok(p) } else { Err("must be a port from 1 to 65535".into()) }
}

fn tls(raw: &str) -> Result<Option<TlsMode>, String> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    TlsMode::parse(raw).map(Some).ok_or_else(|| format!("must be one of {}", TlsMode::NAMES.join(", ")))
}

/// A From address: `addr@example.com` or `Display Name <addr@example.com>`.
pub fn mailbox(raw: &str) -> Result<Option<String>, String> {
    let Some(t) = bounded_text(raw, 320)? else { return Ok(None) };
    let addr = match (t.rfind('<'), t.ends_with('>')) {
        (Some(open), true) => &t[open + 1..t.len() - 1],
        (None, false) => t.as_str(),
        _ => return Err("must be an address, or a name and <address>".into()),
    };
    Email::parse(addr).map_err(|e| e.to_string())?;
    if t.contains(['\r', '\n']) {
        return Err("must be one line".into());
    }
    Ok(Some(t))
}

fn ca_pem(raw: &str) -> Result<Option<String>, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.len() > 64 * 1024 {
        return Err("must be at most 64 KiB of PEM".into());
    }
    if !(t.contains("-----BEGIN CERTIFICATE-----") && t.contains("-----END CERTIFICATE-----")) {
        return Err("must be one or more PEM certificates (-----BEGIN CERTIFICATE----- …)".into());
    }
    Ok(Some(t.replace("\r\n", "\n")))
}

impl MailSettingsInput {
    /// The settings after this change, or every field's error.
    pub fn apply(self, cur: &MailSettingsData) -> Result<MailSettingsData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let mut out = cur.clone();
        fn set<T, U>(
            errs: &mut ValidationErrors,
            name: &str,
            v: Option<Option<T>>,
            slot: &mut Option<U>,
            f: impl Fn(T) -> Result<Option<U>, String>,
        ) {
            match v {
                None => {}
                Some(None) => *slot = None,
                Some(Some(v)) => match f(v) {
                    Ok(v) => *slot = v,
                    Err(m) => errs.add(name, m),
                },
            }
        }
        let text = |max: usize| move |s: String| bounded_text(&s, max);
        set(&mut errs, "smtp_host", self.smtp_host, &mut out.smtp_host, |s: String| host(&s));
        set(&mut errs, "smtp_port", self.smtp_port, &mut out.smtp_port, |p| port(p).map(Some));
        set(&mut errs, "smtp_tls", self.smtp_tls, &mut out.smtp_tls, |s: String| tls(&s));
        set(&mut errs, "smtp_user", self.smtp_user, &mut out.smtp_user, text(320));
        set(&mut errs, "smtp_password", self.smtp_password, &mut out.smtp_password, |s: String| {
            if s.chars().count() > 1024 { Err("must be at most 1024 characters".into()) } else { Ok((!s.is_empty()).then_some(s)) }
        });
        set(&mut errs, "mail_from", self.mail_from, &mut out.mail_from, |s: String| mailbox(&s));
        set(&mut errs, "imap_host", self.imap_host, &mut out.imap_host, |s: String| host(&s));
        set(&mut errs, "imap_port", self.imap_port, &mut out.imap_port, |p| port(p).map(Some));
        set(&mut errs, "imap_tls", self.imap_tls, &mut out.imap_tls, |s: String| tls(&s));
        set(&mut errs, "imap_user", self.imap_user, &mut out.imap_user, text(320));
        set(&mut errs, "imap_password", self.imap_password, &mut out.imap_password, |s: String| {
            if s.chars().count() > 1024 { Err("must be at most 1024 characters".into()) } else { Ok((!s.is_empty()).then_some(s)) }
        });
        set(&mut errs, "imap_folder", self.imap_folder, &mut out.imap_folder, text(200));
        set(&mut errs, "imap_ca_pem", self.imap_ca_pem, &mut out.imap_ca_pem, |s: String| ca_pem(&s));
        set(&mut errs, "imap_poll_secs", self.imap_poll_secs, &mut out.imap_poll_secs, |n| {
            if (POLL_SECS.0..=POLL_SECS.1).contains(&n) {
                Ok(Some(n))
            } else {
                Err(format!("must be from {} to {} seconds", POLL_SECS.0, POLL_SECS.1))
            }
        });
        errs.into_result(out)
    }
}

impl MailSettingsData {
    /// What the API shows of them.
    pub fn shown(&self, version: i64, updated_at: Option<String>) -> MailSettings {
        MailSettings {
            smtp_host: self.smtp_host.clone(),
            smtp_port: self.smtp_port,
            smtp_tls: self.smtp_tls,
            smtp_user: self.smtp_user.clone(),
            smtp_password_set: self.smtp_password.is_some(),
            mail_from: self.mail_from.clone(),
            imap_host: self.imap_host.clone(),
            imap_port: self.imap_port,
            imap_tls: self.imap_tls,
            imap_user: self.imap_user.clone(),
            imap_password_set: self.imap_password.is_some(),
            imap_folder: self.imap_folder.clone(),
            imap_ca_pem: self.imap_ca_pem.clone(),
            imap_poll_secs: self.imap_poll_secs,
            version,
            updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_sets_clears_and_keeps_fields_and_names_each_bad_one() {
        let cur = MailSettingsData { imap_user: Some("support".into()), smtp_password: Some("old".into()), ..Default::default() };
        let input: MailSettingsInput = serde_json::from_value(serde_json::json!({
            "imap_host": "imap.example.com", "imap_tls": "starttls", "imap_port": 143, "smtp_password": null,
            "mail_from": "Support <help@example.com>"
        }))
        .unwrap();
        let out = input.apply(&cur).unwrap();
        assert_eq!(out.imap_host.as_deref(), Some("imap.example.com"));
        assert_eq!((out.imap_tls, out.imap_port), (Some(TlsMode::Starttls), Some(143)));
        assert_eq!(out.imap_user.as_deref(), Some("support"), "left out: kept");
        assert_eq!(out.smtp_password, None, "null: cleared");

        let bad: MailSettingsInput = serde_json::from_value(serde_json::json!({
            "imap_host": "bad host", "imap_port": 0, "imap_tls": "ssl3", "mail_from": "nobody", "imap_poll_secs": 1,
            "imap_ca_pem": "not a certificate"
        }))
        .unwrap();
        let errs = bad.apply(&cur).unwrap_err();
        let mut fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["imap_ca_pem", "imap_host", "imap_poll_secs", "imap_port", "imap_tls", "mail_from"]);
    }

    #[test]
    fn modes_parse_and_know_their_ports() {
        for name in TlsMode::NAMES {
            assert_eq!(TlsMode::parse(name).unwrap().as_str(), *name);
        }
        assert_eq!(TlsMode::parse("imaps"), Some(TlsMode::Tls));
        assert_eq!(TlsMode::parse("ssl"), None);
        assert_eq!((TlsMode::Tls.imap_port(), TlsMode::Starttls.imap_port()), (993, 143));
        assert_eq!((TlsMode::Tls.smtp_port(), TlsMode::Starttls.smtp_port(), TlsMode::None.smtp_port()), (465, 587, 25));
    }
}
