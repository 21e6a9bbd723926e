//! Value types that are valid by construction: once an [`Email`] or [`Phone`] exists it has
//! been checked and normalized, so the store keeps one canonical spelling of each. Phone
//! numbers are read with libphonenumber's metadata (the `phonenumber` crate) relative to a
//! default [`Region`]; text is NFC-normalized, so that canonically equal spellings are equal.

use std::fmt;

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, country};
use unicode_normalization::UnicodeNormalization;

/// An email address, trimmed, lower-cased and NFC-normalized, with its domain in Unicode
/// (CRMs treat addresses case-insensitively, and duplicate detection depends on one spelling:
/// `Anna@BÜCHER.example`, `anna@bücher.example` typed with a combining umlaut and
/// `anna@xn--bcher-kva.example` are all stored as `anna@bücher.example`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEmail(String);

impl Email {
    /// Parses an address in the practical form `local@domain.tld` (what HTML forms accept).
    /// The domain may be internationalized, typed in Unicode or as punycode (`xn--…`); it is
    /// checked by IDNA (UTS #46) rules and stored in Unicode, the form people read and search.
    pub fn parse(raw: &str) -> Result<Email, InvalidEmail> {
        let s: String = raw.trim().to_lowercase().nfc().collect();
        let bad = |why: &str| Err(InvalidEmail(format!("'{raw}' is not a valid email address: {why}")));
        // The limit is checked on the ASCII form below; this bounds the work on absurd input.
        if s.len() > 4 * 254 {
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
        let not_host = "the domain after @ is not a valid host name";
        // The ASCII (punycode) form is what DNS and mail servers see, so the host name rules
        // and the length limit apply to it.
        let Ok(ascii) = idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::STD3) else {
            return bad(not_host);
        };
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 {
            return bad("the domain needs a dot, like example.com");
        }
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if !labels.iter().all(label_ok) {
            return bad(not_host);
        }
        if local.len() + 1 + ascii.len() > 254 {
            return bad("longer than 254 characters");
        }
        let (unicode, ok) = idna::domain_to_unicode(&ascii);
        if ok.is_err() {
            return bad(not_host);
        }
        Ok(Email(format!("{local}@{unicode}")))
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

/// The country whose numbering plan reads phone numbers typed without a country code
/// (`020 7946 0958` is a London number when the region is `GB`), and whose international
/// dialling prefix introduces foreign numbers (`011 44 …` from the US, `00 44 …` from Germany).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(country::Id);

impl Default for Region {
    /// The United States, Rapport's default.
    fn default() -> Region {
        Region::US
    }
}

impl Region {
    /// The United States.
    pub const US: Region = Region(country::Id::US);

    /// Parses an ISO 3166-1 alpha-2 code (`GB`, `de`) of a region with a numbering plan.
    pub fn parse(code: &str) -> Result<Region, String> {
        let upper = code.trim().to_ascii_uppercase();
        match upper.parse::<country::Id>() {
            Ok(id) if DATABASE.by_id(id.as_ref()).is_some() => Ok(Region(id)),
            _ => Err(format!("'{code}' is not a region with phone numbers: use a two-letter ISO 3166 country code such as US, GB or DE")),
        }
    }

    /// The main region of a calling code (`1` is the US, `44` the UK, `7` Russia), as
    /// libphonenumber marks it; a leading `+` is allowed.
    pub fn for_calling_code(code: &str) -> Result<Region, String> {
        let bad = || format!("'{code}' is not a country calling code such as 1, 44 or 49");
        let n: u16 = code.trim().trim_start_matches('+').parse().map_err(|_| bad())?;
        let regions = DATABASE.by_code(&n).ok_or_else(bad)?;
        let main = regions.iter().find(|m| m.is_main_country_for_code()).or(regions.first()).ok_or_else(bad)?;
        main.id().parse::<country::Id>().map(Region).map_err(|_| bad())
    }

    /// The ISO code, e.g. `GB`.
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    /// The calling code of the region's numbering plan, e.g. `44` for `GB`.
    pub fn calling_code(&self) -> u16 {
        self.metadata().country_code()
    }

    fn metadata(&self) -> &'static phonenumber::Metadata {
        DATABASE.by_id(self.0.as_ref()).expect("a Region only exists for regions with metadata")
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A phone number as libphonenumber reads and validates it, kept in E.164 (`+442079460958`)
/// with an optional extension as `;ext=12` (RFC 3966).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidPhone(String);

impl Phone {
    /// Reads `raw` as libphonenumber does: a number with `+` and its country code, one that
    /// starts with `region`'s international dialling prefix (`011 44 20 7946 0958` from the
    /// US), or a national number of `region` (its trunk prefix, like the UK's `0`, dropped).
    /// Extensions (`ext. 12`, `x12`, `#12`) are kept. Only numbers that exist in the numbering
    /// plan's metadata are accepted; letters are refused rather than read as a keypad's digits,
    /// so that a typed `O` never becomes a `6`.
    pub fn parse(raw: &str, region: Region) -> Result<Phone, InvalidPhone> {
        if e164::known(raw) {
            return Ok(Phone(raw.to_string()));
        }
        let n = read(raw, region)?;
        let mut s = n.format().mode(Mode::E164).to_string();
        if let Some(ext) = n.extension().filter(|e| !e.is_empty()) {
            s.push_str(";ext=");
            s.push_str(ext);
        } else {
            e164::remember(&s);
        }
        Ok(Phone(s))
    }

    /// The E.164 form with extension, e.g. `+14155550134;ext=12`: what is stored and what the
    /// API sends.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as people read it, in international format: `+44 20 7946 0958`,
    /// `+1 415-555-0134 ext. 12`.
    pub fn international(&self) -> String {
        Phone::display(&self.0)
    }

    /// The international format of a stored number (the E.164 form [`Phone::as_str`] gives).
    /// Text that is not such a number (a masked `+•••••••0134`, or a number stored before
    /// numbers were validated by libphonenumber) is shown as it is.
    pub fn display(stored: &str) -> String {
        let natural = match stored.split_once(";ext=") {
            Some((number, ext)) => format!("{number} ext. {ext}"),
            None => stored.to_string(),
        };
        match phonenumber::parse(None, &natural) {
            Ok(n) if stored.starts_with('+') && n.is_valid() => n.format().mode(Mode::International).to_string(),
            _ => stored.to_string(),
        }
    }

    /// Digit strings under which a search should find this number: the full number, the last
    /// ten, seven and four digits (what people remember and type).
    pub fn search_forms(&self) -> Vec<String> {
        Phone::search_forms_of(&self.0)
    }

    /// [`Phone::search_forms`] of a stored number, which needs only its digits (so numbers
    /// stored under older, looser rules stay findable).
    pub(crate) fn search_forms_of(stored: &str) -> Vec<String> {
        let digits: String = stored.split(';').next().unwrap_or("").chars().filter(char::is_ascii_digit).collect();
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

/// The E.164 numbers read lately. Reading a number through libphonenumber's metadata is most of
/// what checking a person costs (an import cleans a row's phone to E.164, then validates the
/// person, which reads the E.164 form again): a number once read as valid stays valid, so its
/// E.164 form is taken as it is the next time. Bounded, oldest forgotten first.
mod e164 {
    use std::collections::{HashSet, VecDeque};
    use std::sync::{LazyLock, Mutex};

    const KEEP: usize = 16_384;

    type Seen = (HashSet<String>, VecDeque<String>);
    static SEEN: LazyLock<Mutex<Seen>> = LazyLock::new(Mutex::default);

    pub(super) fn known(raw: &str) -> bool {
        raw.starts_with('+') && SEEN.lock().is_ok_and(|s| s.0.contains(raw))
    }

    pub(super) fn remember(number: &str) {
        let Ok(mut s) = SEEN.lock() else { return };
        if s.0.insert(number.to_string()) {
            s.1.push_back(number.to_string());
            if s.1.len() > KEEP
                && let Some(old) = s.1.pop_front()
            {
                s.0.remove(&old);
            }
        }
    }
}

/// Parses and validates `raw` with libphonenumber's metadata.
fn read(raw: &str, region: Region) -> Result<PhoneNumber, InvalidPhone> {
    let bad = |why: String| InvalidPhone(format!("'{raw}' cannot be read as a phone number: {why}"));
    // Full-width digits and plus signs become ASCII, so the prefix arithmetic below sees them;
    // the stored form's `;ext=` (which the port reads only in a `tel:` URI) is spelled out, so
    // a client can send back what it was given.
    let text: String = raw.trim().nfkc().collect::<String>().replacen(";ext=", " ext. ", 1);
    if has_letters_outside_extension(&text) {
        return Err(bad("use digits, spaces, dashes, dots, parentheses, a leading + and an extension like 'ext. 12'".into()));
    }
    let parse_error = |e: phonenumber::ParseError| {
        bad(match e {
            phonenumber::ParseError::InvalidCountryCode => "it starts with an unknown country calling code".into(),
            phonenumber::ParseError::TooShortNsn | phonenumber::ParseError::TooShortAfterIdd => "it is too short".into(),
            phonenumber::ParseError::TooLong => "it is too long".into(),
            _ => "use digits, spaces, dashes, dots, parentheses and a leading +".into(),
        })
    };
    let first = phonenumber::parse(Some(region.0), &text).map_err(parse_error)?;
    let n = match first.code().source() {
        // The Rust port strips a trunk prefix by the rules of the default region, not of the
        // number's own country (with region US, `+44 (0)20 …` kept its 0 and `+33 1 …` lost
        // its 1), so a number that names its country is read again without a default region.
        country::Source::Plus => phonenumber::parse(None, &text).unwrap_or(first),
        country::Source::Idd => match after_international_prefix(&text, region) {
            Some(rest) => phonenumber::parse(None, format!("+{rest}")).unwrap_or(first),
            None => first,
        },
        country::Source::Number | country::Source::Default => first,
    };
    if n.is_valid() {
        return Ok(n);
    }
    let own_country = n.code().value() == region.calling_code() && n.code().source() != country::Source::Plus;
    let prefix = region.metadata().preferred_international_prefix().map(str::to_string).or_else(|| {
        let p = region.metadata().international_prefix()?.as_str();
        p.chars().all(|c| c.is_ascii_digit()).then(|| p.to_string())
    });
    Err(bad(match (own_country, prefix) {
        (true, Some(p)) => format!(
            "it is not a valid {region} number; write other countries' numbers with + and their country code (or {p}, the international prefix dialled from {region})"
        ),
        (true, None) => format!("it is not a valid {region} number; write other countries' numbers with + and their country code"),
        (false, _) => format!("it is not a valid number of country code +{}", n.code().value()),
    }))
}

/// Whether letters appear anywhere but in an extension marker (`ext. 12`, `x12`, `;ext=12`)
/// or a leading `tel:`.
fn has_letters_outside_extension(text: &str) -> bool {
    let lower = text.to_lowercase();
    let body = lower.strip_prefix("tel:").unwrap_or(&lower);
    let Some(i) = body.find(char::is_alphabetic) else {
        return false;
    };
    let tail = &body[i..];
    match ["extension", "extn", "ext", "x"].into_iter().find(|m| tail.starts_with(m)) {
        Some(marker) => tail[marker.len()..].chars().any(char::is_alphabetic),
        None => true,
    }
}

/// The text after `region`'s international dialling prefix at the start of `text`.
fn after_international_prefix(text: &str, region: Region) -> Option<&str> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let m = region.metadata().international_prefix()?.find(&digits).filter(|m| m.start() == 0)?;
    let mut seen = 0;
    for (i, c) in text.char_indices() {
        if seen == m.end() {
            return Some(&text[i..]);
        }
        if c.is_ascii_digit() {
            seen += 1;
        }
    }
    None
}

/// Trims and NFC-normalizes text (so `Zoë` typed with a combining diaeresis is stored like
/// `Zoë` typed with `ë`) and checks it is not longer than `max` characters; empty text becomes
/// `None`.
pub fn bounded_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    let t: String = raw.trim().nfc().collect();
    if t.chars().count() > max {
        return Err(format!("must be at most {max} characters (got {})", t.chars().count()));
    }
    Ok(if t.is_empty() { None } else { Some(t) })
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

    fn region(code: &str) -> Region {
        Region::parse(code).unwrap()
    }

    fn e164(raw: &str, r: Region) -> String {
        Phone::parse(raw, r).unwrap_or_else(|e| panic!("{raw} in {r}: {e}")).as_str().to_string()
    }

    #[test]
    fn a_number_read_once_is_taken_as_it_is_in_its_e164_form_and_only_valid_ones_are_kept() {
        let uk = region("GB");
        assert_eq!(e164("020 7946 0959", uk), "+442079460959");
        assert!(super::e164::known("+442079460959"), "remembered after a valid read");
        assert_eq!(e164("+442079460959", region("US")), "+442079460959", "the same number from anywhere");
        assert!(Phone::parse("+4420794", uk).is_err());
        assert!(!super::e164::known("+4420794"), "a refused number is never remembered");
        assert_eq!(e164("+1 415 555 0134 ext. 7", region("US")), "+14155550134;ext=7");
        assert!(!super::e164::known("+14155550134;ext=7"), "extensions are read every time");
    }

    #[test]
    fn emails_are_normalized_or_refused() {
        assert_eq!(Email::parse(" Ann.Lee@Example.COM ").unwrap().as_str(), "ann.lee@example.com");
        for bad in ["", "ann", "ann@", "@example.com", "ann@example", "a..b@example.com", "ann@exa mple.com", "ann@-x.com", "ann@x_y.com"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn emails_are_nfc_and_an_idn_domain_has_one_spelling() {
        let canonical = "anna@bücher.example";
        for spelling in ["anna@bücher.example", "anna@xn--bcher-kva.example", "Anna@BÜCHER.Example", "anna@bu\u{308}cher.example"] {
            assert_eq!(Email::parse(spelling).unwrap().as_str(), canonical, "{spelling}");
        }
        assert_eq!(Email::parse("zoe\u{308}@x.io").unwrap().as_str(), "zo\u{eb}@x.io");
        assert!(Email::parse("anna@xn--bcher-kva-.example").is_err(), "a malformed xn-- label is refused");
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err(), "too long");
        assert!(Email::parse(&format!("a@{}.example", "ü".repeat(60))).is_err(), "label too long once in punycode");
    }

    #[test]
    fn phones_are_read_as_libphonenumber_reads_them() {
        let (us, gb, de) = (Region::US, region("GB"), region("DE"));
        // Issue 8 item 17's examples.
        assert_eq!(e164("+44 (0)20 7946 0958", us), "+442079460958");
        assert_eq!(e164("+44 (0)20 7946 0958", gb), "+442079460958");
        // 001 is the international prefix of Hong Kong or Singapore (one carrier's), not of
        // the US, whose prefix is 011.
        assert_eq!(e164("001 44 20 7946 0958", region("HK")), "+442079460958");
        assert_eq!(e164("001 44 20 7946 0958", region("SG")), "+442079460958");
        assert_eq!(e164("011 44 20 7946 0958", us), "+442079460958");
        assert_eq!(e164("011 44 (0)20 7946 0958", us), "+442079460958");
        assert_eq!(e164("0044 20 7946 0958", gb), "+442079460958");
        assert_eq!(e164("020 7946 0958", gb), "+442079460958");
        assert_eq!(e164("+1 (415) 555-0134", us), "+14155550134");
        assert_eq!(e164("(415) 555-0134", us), "+14155550134");
        assert_eq!(e164("1 415 555 0134", us), "+14155550134");
        assert_eq!(e164("+1 415 555 0134", gb), "+14155550134");
        assert_eq!(e164("030 123456", de), "+4930123456");
        assert_eq!(e164("+33 1 23 45 67 89", us), "+33123456789", "a foreign 1 is not the US trunk prefix");
        assert_eq!(e164("＋４４ ２０ ７９４６ ０９５８", us), "+442079460958", "full-width digits");
    }

    #[test]
    fn phone_extensions_are_kept() {
        let us = Region::US;
        for raw in ["+1 415 555 0134 ext. 12", "+1 415 555 0134 x12", "415.555.0134 x12", "(415) 555-0134 ext 12", "+1 415 555 0134 #12"] {
            assert_eq!(e164(raw, us), "+14155550134;ext=12", "{raw}");
        }
        assert_eq!(e164("+44 20 7946 0958 extension 7", us), "+442079460958;ext=7");
    }

    #[test]
    fn the_stored_form_reads_back_as_itself() {
        for stored in ["+14155550134;ext=12", "+442079460958", "+4930123456", "+33123456789"] {
            for r in [Region::US, region("GB"), region("DE")] {
                assert_eq!(e164(stored, r), stored);
                assert_eq!(e164(&Phone::display(stored), r), stored, "the shown form too");
            }
        }
    }

    #[test]
    fn invalid_phones_are_refused_with_the_reason() {
        let us = Region::US;
        let why = |raw: &str, r: Region| Phone::parse(raw, r).expect_err(raw).to_string();
        assert!(why("+999 12345", us).contains("unknown country calling code"), "{}", why("+999 12345", us));
        assert!(why("+0 123 456 789", us).contains("unknown country calling code"));
        assert!(why("12", us).contains("too short"), "{}", why("12", us));
        for letters in ["call me", "abc", "415 555 CALL", "1-800-FLOWERS", "+1 415 555 O134"] {
            assert!(why(letters, us).contains("use digits"), "{letters}: {}", why(letters, us));
        }
        assert!(why("+1 415 555 0134 5678 999", us).contains("not a valid number of country code +1"));
        assert!(why("555 0134", us).contains("not a valid US number"));
        assert!(why("+44 1234", us).contains("not a valid number of country code +44"));
        // A number dialled with another country's prefix is not read as international; the
        // message names the prefix that is.
        assert!(why("001 44 20 7946 0958", us).contains("or 011, the international prefix dialled from US"));
        assert!(why("0044 20 7946 0958", us).contains("011"));
        assert!(why("001 44 20 7946 0958", region("GB")).contains("not a valid number of country code +1"));
    }

    #[test]
    fn phones_are_shown_in_international_format() {
        let us = Region::US;
        assert_eq!(Phone::parse("020 7946 0958", region("GB")).unwrap().international(), "+44 20 7946 0958");
        assert_eq!(Phone::parse("415 555 0123", us).unwrap().international(), "+1 415-555-0123");
        assert_eq!(Phone::display("+14155550134;ext=12"), "+1 415-555-0134 ext. 12");
        assert_eq!(Phone::display("+4930123456"), "+49 30 123456");
        for not_a_number in ["+•••••••0134", "", "+15555550134"] {
            assert_eq!(Phone::display(not_a_number), not_a_number, "shown as stored");
        }
    }

    #[test]
    fn regions_come_from_iso_codes_or_calling_codes() {
        assert_eq!(region("gb").as_str(), "GB");
        assert_eq!(region("GB").calling_code(), 44);
        assert_eq!(Region::default(), Region::US);
        for bad in ["", "XX", "UK", "USA", "44"] {
            assert!(Region::parse(bad).is_err(), "{bad}");
        }
        for (code, want) in [("1", "US"), ("44", "GB"), ("+49", "DE"), ("7", "RU"), ("39", "IT")] {
            assert_eq!(Region::for_calling_code(code).unwrap().as_str(), want, "{code}");
        }
        for bad in ["", "999", "abc", "0"] {
            assert!(Region::for_calling_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_search_forms_cover_what_people_type() {
        let p = Phone::parse("+1 415 555 0134", Region::US).unwrap();
        assert_eq!(p.search_forms(), vec!["14155550134", "4155550134", "5550134", "0134"]);
    }

    #[test]
    fn bounded_text_counts_characters() {
        assert_eq!(bounded_text("  ", 3).unwrap(), None);
        assert_eq!(bounded_text("été", 3).unwrap().as_deref(), Some("été"));
        assert!(bounded_text("abcd", 3).is_err());
    }

    #[test]
    fn bounded_text_is_nfc() {
        assert_eq!(bounded_text(" Zoe\u{308} ", 3).unwrap().as_deref(), Some("Zo\u{eb}"), "combining mark composed, 3 characters");
    }
}
