//! Value types that are valid by construction: once an [`Email`] or [`Phone`] exists it has
//! been checked and normalized, so the store keeps one canonical spelling of each.

use std::fmt;

/// An email address, trimmed and lower-cased (CRMs treat addresses case-insensitively, and
/// duplicate detection depends on one spelling).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEmail(String);

impl Email {
    /// Parses an address in the practical form `local@domain.tld` (what HTML forms accept).
    pub fn parse(raw: &str) -> Result<Email, InvalidEmail> {
        let s = raw.trim().to_lowercase();
        let bad = |why: &str| Err(InvalidEmail(format!("'{raw}' is not a valid email address: {why}")));
        if s.len() > 254 {
            return bad("longer than 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad("it needs an @ between name and domain, like ann@example.com");
        };
        if local.is_empty() || local.len() > 64 {
            return bad("the part before @ must have 1 to 64 characters");
        }
        let local_ok = local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        if !local_ok || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return bad("the part before @ has characters an address cannot have");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return bad("the domain needs a dot, like example.com");
        }
        for l in &labels {
            let ok = !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-');
            if !ok {
                return bad("the domain after @ is not a valid host name");
            }
        }
        Ok(Email(s))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number normalized to E.164 (`+` and 8 to 15 digits), with an optional extension
/// kept as `;ext=123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidPhone(String);

impl Phone {
    /// Normalizes `raw`. International numbers start with `+` or `00`; anything else is read as
    /// a national number of the country whose calling code is `default_country_code` (a leading
    /// trunk `0` is dropped), which is how people type numbers of their own country.
    pub fn parse(raw: &str, default_country_code: &str) -> Result<Phone, InvalidPhone> {
        let bad = |why: &str| Err(InvalidPhone(format!("'{raw}' cannot be read as a phone number: {why}")));
        let lower = raw.trim().to_lowercase();
        let (number, ext) = match lower.find(|c| c == 'x' || c == ';' || c == '#') {
            Some(i) => {
                let ext: String = lower[i..].chars().filter(|c| c.is_ascii_digit()).collect();
                (&lower[..i], if ext.is_empty() { None } else { Some(ext) })
            }
            None => (lower.as_str(), None),
        };
        let mut international = false;
        let mut digits = String::new();
        for (i, c) in number.trim().chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => international = true,
                ' ' | '-' | '.' | '(' | ')' | '/' => {}
                _ => return bad("use digits, spaces, dashes, dots, parentheses and a leading +"),
            }
        }
        if !international && digits.starts_with("00") {
            international = true;
            digits.drain(..2);
        }
        if !international {
            let national = digits.strip_prefix('0').unwrap_or(&digits).to_string();
            digits = format!("{default_country_code}{national}");
        }
        if digits.len() < 8 || digits.len() > 15 {
            return bad("a full number has 8 to 15 digits including the country code, like +1 415 555 0134");
        }
        if digits.starts_with('0') {
            return bad("country codes do not start with 0");
        }
        let mut s = format!("+{digits}");
        if let Some(ext) = ext {
            s.push_str(";ext=");
            s.push_str(&ext);
        }
        Ok(Phone(s))
    }

    /// The E.164 form, e.g. `+14155550134`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Digit strings under which a search should find this number: the full number, the last
    /// ten, seven and four digits (what people remember and type).
    pub fn search_forms(&self) -> Vec<String> {
        let digits: String = self.0.split(';').next().unwrap_or("").chars().filter(char::is_ascii_digit).collect();
        let mut forms = vec![digits.clone()];
        for n in [10, 7, 4] {
            if digits.len() > n {
                forms.push(digits[digits.len() - n..].to_string());
            }
        }
        forms
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks that trimmed text is not longer than `max` characters; empty text becomes `None`.
pub fn bounded_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    let t = raw.trim();
    if t.chars().count() > max {
        return Err(format!("must be at most {max} characters (got {})", t.chars().count()));
    }
    Ok(if t.is_empty() { None } else { Some(t.to_string()) })
}

/// Validates a tag: 1 to 50 characters, no commas (tags are typed as comma lists in forms).
pub fn tag(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("tags cannot be empty".into());
    }
    if t.chars().count() > 50 || t.contains(',') {
        return Err(format!("tag '{t}' must be at most 50 characters and contain no comma"));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_or_refused() {
        assert_eq!(Email::parse(" Ann.Lee@Example.COM ").unwrap().as_str(), "ann.lee@example.com");
        for bad in ["", "ann", "ann@", "@example.com", "ann@example", "a..b@example.com", "ann@exa mple.com", "ann@-x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn phones_are_normalized_to_e164() {
        assert_eq!(Phone::parse("+1 (415) 555-0134", "1").unwrap().as_str(), "+14155550134");
        assert_eq!(Phone::parse("0044 20 7946 0958", "1").unwrap().as_str(), "+442079460958");
        assert_eq!(Phone::parse("030 123456", "49").unwrap().as_str(), "+4930123456");
        assert_eq!(Phone::parse("415.555.0134 x12", "1").unwrap().as_str(), "+14155550134;ext=12");
        for bad in ["call me", "12", "+1 415 555 0134 5678 999", "+0 123 456 789"] {
            assert!(Phone::parse(bad, "1").is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn phone_search_forms_cover_what_people_type() {
        let p = Phone::parse("+1 415 555 0134", "1").unwrap();
        assert_eq!(p.search_forms(), vec!["14155550134", "4155550134", "5550134", "0134"]);
    }

    #[test]
    fn bounded_text_counts_characters() {
        assert_eq!(bounded_text("  ", 3).unwrap(), None);
        assert_eq!(bounded_text("été", 3).unwrap().as_deref(), Some("été"));
        assert!(bounded_text("abcd", 3).is_err());
    }
}
