//! Honest tracking: links rewritten to click redirects (only to the links of that message),
//! UTM parameters, and telling machine opens and clicks (link scanners, image proxies, a click
//! within seconds of delivery, HEAD requests) from people's, so that machines are recorded
//! apart and never counted.

/// Seconds after sending within which a click is taken for a scanner's: people do not open,
/// read and click a mail that fast, security gateways do.
pub const MACHINE_CLICK_SECS: i64 = 10;

/// User agents of link scanners, security gateways and image proxies (lower case fragments).
pub const MACHINE_AGENTS: [&str; 17] = [
    "googleimageproxy",
    "yahoomailproxy",
    "ggpht.com",
    "bot",
    "spider",
    "crawler",
    "barracuda",
    "mimecast",
    "proofpoint",
    "urldefense",
    "safelinks",
    "microsoft office",
    "ms-office",
    "python-requests",
    "curl/",
    "wget/",
    "headlesschrome",
];

/// Why a request to a tracking URL is a machine's, if it is.
pub fn machine_reason(head: bool, user_agent: Option<&str>, secs_since_sent: Option<i64>, click: bool) -> Option<&'static str> {
    if head {
        return Some("HEAD request");
    }
    let ua = user_agent.unwrap_or("").to_ascii_lowercase();
    if ua.trim().is_empty() {
        return Some("no user agent");
    }
    if MACHINE_AGENTS.iter().any(|m| ua.contains(m)) {
        return Some("scanner or proxy user agent");
    }
    if click && secs_since_sent.is_some_and(|s| s < MACHINE_CLICK_SECS) {
        return Some("clicked within seconds of delivery");
    }
    None
}

/// `url` with `utm_source`, `utm_medium` and `utm_campaign` added (kept when already there).
pub fn with_utm(url: &str, campaign: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let mut out = base.to_string();
    let slug: String = campaign
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    for (k, v) in [("utm_source", "rapport"), ("utm_medium", "email"), ("utm_campaign", slug.as_str())] {
        if !base.contains(&format!("{k}=")) {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(&format!("{k}={v}"));
        }
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn url_end(s: &str) -> usize {
    s.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')')).unwrap_or(s.len())
}

/// Rewrites the `http(s)://` links of `html` (in `href="…"`) and of `text` (bare URLs), except
/// those starting with one of `keep` (the unsubscribe and preference links), to
/// `redirect(n)`; the n-th link (with UTM) is `links[n]`, the same URL getting one number.
pub fn track_links(
    html: Option<&str>,
    text: &str,
    campaign: &str,
    keep: &[&str],
    redirect: impl Fn(usize) -> String,
) -> (Option<String>, String, Vec<String>) {
    let mut links: Vec<String> = Vec::new();
    let mut number = |url: &str| -> usize {
        let u = with_utm(url, campaign);
        match links.iter().position(|l| *l == u) {
            Some(n) => n,
            None => {
                links.push(u);
                links.len() - 1
            }
        }
    };
    let html = html.map(|h| {
        let mut out = String::with_capacity(h.len());
        let mut rest = h;
        while let Some(i) = rest.find("href=\"") {
            let start = i + 6;
            out.push_str(&rest[..start]);
            let after = &rest[start..];
            let end = after.find('"').unwrap_or(after.len());
            let url = &after[..end];
            let raw = url.replace("&amp;", "&");
            if (raw.starts_with("http://") || raw.starts_with("https://")) && !keep.iter().any(|k| raw.starts_with(k)) {
                out.push_str(&redirect(number(&raw)));
            } else {
                out.push_str(url);
            }
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    });
    let mut text_out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = [rest.find("http://"), rest.find("https://")].into_iter().flatten().min();
        let Some(i) = next else { break };
        text_out.push_str(&rest[..i]);
        let after = &rest[i..];
        let end = url_end(after);
        let url = after[..end].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        if keep.iter().any(|k| url.starts_with(k)) {
            text_out.push_str(url);
        } else {
            text_out.push_str(&redirect(number(url)));
        }
        rest = &after[url.len()..];
    }
    text_out.push_str(rest);
    (html, text_out, links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_numbered_once_with_utm_and_unsubscribe_is_kept() {
        let (html, text, links) = track_links(
            Some(
                r#"<a href="https://shop.example/a?x=1">A</a> <a href="https://crm/u/t">unsub</a> <a href="https://shop.example/a?x=1">again</a>"#,
            ),
            "See https://shop.example/b. Or https://crm/u/t",
            "Spring Sale!",
            &["https://crm/u/"],
            |n| format!("https://crm/m/c/T/{n}"),
        );
        assert_eq!(
            links,
            [
                "https://shop.example/a?x=1&utm_source=rapport&utm_medium=email&utm_campaign=spring-sale",
                "https://shop.example/b?utm_source=rapport&utm_medium=email&utm_campaign=spring-sale"
            ]
        );
        assert_eq!(
            html.unwrap(),
            r#"<a href="https://crm/m/c/T/0">A</a> <a href="https://crm/u/t">unsub</a> <a href="https://crm/m/c/T/0">again</a>"#
        );
        assert_eq!(text, "See https://crm/m/c/T/1. Or https://crm/u/t");
    }

    #[test]
    fn machines_are_told_apart() {
        let chrome = Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/120");
        assert_eq!(machine_reason(true, chrome, Some(100), true), Some("HEAD request"));
        assert!(machine_reason(false, Some("Mozilla/5.0 (via ggpht.com GoogleImageProxy)"), None, false).is_some());
        assert_eq!(machine_reason(false, chrome, Some(2), true), Some("clicked within seconds of delivery"));
        assert_eq!(machine_reason(false, chrome, Some(2), false), None);
        assert_eq!(machine_reason(false, chrome, Some(600), true), None);
    }
}
