//! One person's marketing mail, as every marketing send writes it into the queue (a campaign's
//! sending and a sequence's send step): the template rendered with the person's merge values
//! and their signed links, links tracked, the open pixel, the one-click unsubscribe headers.

use std::collections::HashMap;

use rapport_domain::customer::Customer;
use rapport_domain::marketing::templates::{Compiled, escape_html};
use rapport_domain::marketing::tracking::track_links;

use super::new_token;
use super::templates::merge_values;

/// The queue values of one marketing mail.
pub(crate) struct Composed {
    pub to: String,
    pub to_name: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The headers, as the queue's JSON object.
    pub headers: String,
    pub message_id: String,
    pub token: String,
    /// The tracked links, as a JSON array.
    pub links: String,
}

/// What every mail of one sending shares: the public base URL, the token key, the campaign's
/// name (for UTM parameters) and id (in Message-IDs).
pub(crate) struct Composer<'a> {
    pub base: &'a str,
    pub key: &'a [u8],
    pub campaign_name: &'a str,
    pub campaign: i64,
}

impl Composer<'_> {
    /// `c`'s mail of `compiled`, or `None` when they have no email address.
    pub(crate) fn compose(&self, compiled: &Compiled, c: &Customer) -> Option<Composed> {
        let base = self.base;
        let to = c.data.email.clone()?;
        let token = new_token(self.key);
        let mut values: HashMap<String, String> = merge_values(c);
        values.insert("unsubscribe_url".into(), format!("{base}/m/u/{token}"));
        values.insert("preferences_url".into(), format!("{base}/m/p/{token}"));
        values.insert("web_view_url".into(), format!("{base}/m/v/{token}"));
        let (subject, text, html) = compiled.render(&values);
        let keep = [format!("{base}/m/u/"), format!("{base}/m/p/"), format!("{base}/m/v/")];
        let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
        let (html, text, links) = track_links(html.as_deref(), &text, self.campaign_name, &keep, |n| format!("{base}/m/c/{token}/{n}"));
        let html = html.map(|h| {
            let pixel = format!("<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\">", escape_html(&format!("{base}/m/o/{token}")));
            match h.rfind("</body>") {
                Some(i) => format!("{}{pixel}{}", &h[..i], &h[i..]),
                None => format!("{h}{pixel}"),
            }
        });
        let mut headers = serde_json::Map::new();
        headers.insert("List-Unsubscribe".into(), format!("<{base}/m/u/{token}>").into());
        // RFC 8058: a POST to the link unsubscribes at once; mail clients offer the button.
        headers.insert("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into());
        headers.insert("Precedence".into(), "bulk".into());
        let random = token.split('.').next().unwrap_or("").to_string();
        Some(Composed {
            to,
            to_name: c.data.name.clone(),
            subject,
            text,
            html,
            headers: serde_json::Value::Object(headers).to_string(),
            message_id: format!("{random}.c{}@rapport", self.campaign),
            token,
            links: serde_json::to_string(&links).unwrap_or_else(|_| "[]".into()),
        })
    }
}
