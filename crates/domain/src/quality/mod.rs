//! Data cleansing: the changes that make a record's text tidy and comparable without changing
//! what it says. Pure functions, so an import, `rapport clean` and the data-quality API all
//! propose the same change for the same value, and a preview shows exactly what applying it will
//! write.
//!
//! Each cleaner answers `None` when the value is already clean (or cannot be cleaned without
//! guessing: an invalid phone number stays as typed and is reported as invalid instead).

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Serialize;
use utoipa::ToSchema;

pub mod duplicates;

use crate::customer::CustomerData;
use crate::record::{Kind, RecordSpec};
use crate::text::fold;
use crate::values::{Email, Phone, Region};

/// One proposed change of one field of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Change {
    /// The field as the API names it (`name`, `email`, `additional_phones[1]`, `address.country`).
    pub field: String,
    /// The value now.
    pub before: String,
    /// The value cleansing would write.
    pub after: String,
}

/// A value cleansing cannot fix, reported so that a person can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// The field as the API names it.
    pub field: String,
    /// The value as stored.
    pub value: String,
    /// What is wrong with it.
    pub message: String,
}

/// What cleansing finds in one record: the changes it would make and the values it cannot fix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Findings {
    /// Changes in field order.
    pub changes: Vec<Change>,
    /// Invalid values left as they are.
    pub problems: Vec<Problem>,
}

impl Findings {
    fn propose(&mut self, field: &str, before: &str, after: Option<String>) {
        if let Some(after) = after.filter(|a| a != before) {
            self.changes.push(Change { field: field.to_string(), before: before.to_string(), after });
        }
    }

    /// The value `field` will have once the changes are applied (`before` when unchanged).
    pub fn after<'a>(&'a self, field: &str, before: &'a str) -> &'a str {
        self.changes.iter().find(|c| c.field == field).map_or(before, |c| c.after.as_str())
    }
}

/// Trims and turns every run of whitespace (tabs, newlines, non-breaking spaces) into one space.
pub fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The normalized form of an email address (trimmed, lower-cased, the domain in Unicode as
/// [`Email::parse`] stores it), or the reason it is not one.
pub fn clean_email(s: &str) -> Result<String, String> {
    Email::parse(s).map(|e| e.as_str().to_string()).map_err(|e| e.to_string())
}

/// The E.164 form of a phone number read as a number of `region` when it has no country code.
pub fn clean_phone(s: &str, region: Region) -> Result<String, String> {
    Phone::parse(s, region).map(|p| p.as_str().to_string()).map_err(|e| e.to_string())
}

/// Names people type for countries that ISO 3166's own names and aliases (from the `celes`
/// tables) do not cover, folded and without spaces as the lookup compares them.
const EXTRA_COUNTRY_NAMES: &[(&str, &str)] = &[
    ("usa", "US"),
    ("us", "US"),
    ("america", "US"),
    ("uk", "GB"),
    ("greatbritain", "GB"),
    ("britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("holland", "NL"),
    ("deutschland", "DE"),
    ("espana", "ES"),
    ("españa", "ES"),
    ("italia", "IT"),
    ("osterreich", "AT"),
    ("schweiz", "CH"),
    ("suisse", "CH"),
    ("brasil", "BR"),
    ("mexico", "MX"),
    ("southkorea", "KR"),
    ("korea", "KR"),
    ("northkorea", "KP"),
    ("russia", "RU"),
    ("czechia", "CZ"),
    ("czechrepublic", "CZ"),
    ("vietnam", "VN"),
    ("iran", "IR"),
    ("syria", "SY"),
    ("laos", "LA"),
    ("bolivia", "BO"),
    ("tanzania", "TZ"),
    ("moldova", "MD"),
    ("taiwan", "TW"),
    ("turkey", "TR"),
    ("turkiye", "TR"),
    ("ivorycoast", "CI"),
    ("uae", "AE"),
    ("unitedarabemirates", "AE"),
    ("netherlands", "NL"),
    ("philippines", "PH"),
];

/// The ISO 3166-1 alpha-2 code of a country typed as a name, an alias or a code
/// (`Germany`, `  united states `, `Deutschland`, `deu`, `gb`), or `None` when the text names no
/// country. Numeric codes are not read: a number in a country field is more likely a mistake
/// than ISO 3166's `276`.
pub fn country_code(s: &str) -> Option<&'static str> {
    let key: String = fold(s).chars().filter(|c| !c.is_whitespace()).collect();
    if key.is_empty() || key.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let key = key.strip_prefix("the").filter(|k| k.len() > 3).unwrap_or(&key);
    if let Some((_, code)) = EXTRA_COUNTRY_NAMES.iter().find(|(name, _)| *name == key) {
        return Some(code);
    }
    celes::Country::from_str(key).or_else(|_| celes::Country::from_alias(key)).ok().map(|c| c.alpha2)
}

/// Words that stay lower-case inside a name ("Ludwig van Beethoven", "Maria de la Cruz"),
/// except as its first word.
const NAME_PARTICLES: &[&str] =
    &["van", "von", "der", "den", "de", "del", "della", "di", "da", "das", "dos", "du", "la", "le", "ten", "ter", "y", "bin", "al"];

/// A name typed in capitals, in the case people write it: `JOHN O'BRIEN` → `John O'Brien`,
/// `MARIE-CLAIRE VAN DER BERG` → `Marie-Claire van der Berg`, `RONALD MCDONALD` →
/// `Ronald McDonald`. `None` when the name has lower-case letters already (its case was chosen
/// by someone: `danah boyd`, `DeShawn`), fewer than two letters, or characters no name is
/// written with (`=SUM(A1)`, a formula a spreadsheet would run: not a name to re-case).
pub fn name_case(s: &str) -> Option<String> {
    let letters = s.chars().filter(|c| c.is_alphabetic()).count();
    let wordlike = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | '’' | '.');
    if letters < 2 || s.chars().any(char::is_lowercase) || !s.chars().all(wordlike) {
        return None;
    }
    let words: Vec<String> = s
        .split(' ')
        .enumerate()
        .map(|(i, word)| {
            let lower = word.to_lowercase();
            if i > 0 && NAME_PARTICLES.contains(&lower.as_str()) { lower } else { title_word(&lower) }
        })
        .collect();
    Some(words.join(" "))
}

/// Capitalizes each part of a lower-case word split at hyphens and apostrophes, and the letter
/// after a `Mc` prefix.
fn title_word(lower: &str) -> String {
    let mut out = String::with_capacity(lower.len());
    let mut start = true;
    for c in lower.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = matches!(c, '-' | '\'' | '’') || (out == "Mc" && lower.chars().count() > 2);
    }
    out
}

/// The region a person's phone numbers are read in when they carry no country code: the
/// person's country when it has a numbering plan, else `default`.
pub fn phone_region(country: Option<&str>, default: Region) -> Region {
    country.and_then(country_code).and_then(|c| Region::parse(c).ok()).unwrap_or(default)
}

/// What cleansing would change in a person, and what it cannot fix. `default_region` is the
/// installation's default country for phone numbers without a country code.
pub fn clean_customer(c: &CustomerData, default_region: Region) -> Findings {
    let mut f = Findings::default();
    let name = collapse_whitespace(&c.name);
    let cased = name_case(&name).unwrap_or(name);
    f.propose("name", &c.name, Some(cased));

    let emails = c.email.iter().map(|e| ("email".to_string(), e));
    let more = c.additional_emails.iter().enumerate().map(|(i, e)| (format!("additional_emails[{i}]"), e));
    for (field, value) in emails.chain(more) {
        match clean_email(value) {
            Ok(clean) => f.propose(&field, value, Some(clean)),
            Err(message) => f.problems.push(Problem { field, value: value.clone(), message }),
        }
    }

    let address = &c.address;
    let parts = [
        ("address.street", &address.street),
        ("address.city", &address.city),
        ("address.region", &address.region),
        ("address.postal_code", &address.postal_code),
    ];
    for (field, value) in parts {
        if let Some(v) = value {
            f.propose(field, v, Some(collapse_whitespace(v)));
        }
    }
    if let Some(country) = &address.country {
        match country_code(country) {
            Some(code) => f.propose("address.country", country, Some(code.to_string())),
            None => f.problems.push(Problem {
                field: "address.country".into(),
                value: country.clone(),
                message: format!("'{country}' names no country: use its ISO 3166 code, such as DE or GB"),
            }),
        }
    }

    let region = phone_region(address.country.as_deref(), default_region);
    let phones = c.phone.iter().map(|p| ("phone".to_string(), p));
    let more = c.additional_phones.iter().enumerate().map(|(i, p)| (format!("additional_phones[{i}]"), p));
    for (field, value) in phones.chain(more) {
        match clean_phone(value, region) {
            Ok(clean) => f.propose(&field, value, Some(clean)),
            Err(message) => f.problems.push(Problem { field, value: value.clone(), message }),
        }
    }
    f
}

/// Cleanses one imported row, as `data` holds it before validation (the fields of `spec` at
/// their JSON paths), with the rules of [`clean_customer`]: every one-line text field trimmed
/// and its whitespace collapsed, emails normalized (domain lower-cased), phones to E.164 (read
/// in the row's country, else `default_region`), a `country` field to its ISO 3166 code, and a
/// person's name typed in capitals title-cased. Values cleansing cannot fix stay as they are,
/// for validation to refuse by name. The changes made, in field order.
pub fn clean_row(spec: &RecordSpec, data: &mut serde_json::Map<String, serde_json::Value>, default_region: Region) -> Vec<Change> {
    use serde_json::Value;
    let mut changes = vec![];
    let set = |changes: &mut Vec<Change>, data: &mut serde_json::Map<String, Value>, field: String, before: &str, after: String| {
        if after != before {
            changes.push(Change { field: field.clone(), before: before.to_string(), after: after.clone() });
            crate::record::set_path(data, &field, Value::String(after));
        }
    };
    let country = spec.fields.iter().find(|f| f.name.rsplit('.').next() == Some("country")).map(|f| f.name);
    if let Some(c) = country
        && let Some(raw) = crate::record::get_path(data, c).as_str().map(String::from)
        && let Some(code) = country_code(&raw)
    {
        set(&mut changes, data, c.to_string(), &raw, code.to_string());
    }
    let region = phone_region(country.and_then(|c| crate::record::get_path(data, c).as_str()), default_region);
    for f in spec.fields.iter().filter(|f| !f.read_only && Some(f.name) != country) {
        let v = crate::record::get_path(data, f.name);
        match (f.kind, v) {
            (Kind::Text, Value::String(raw)) => {
                let raw = raw.clone();
                let mut clean = collapse_whitespace(&raw);
                if spec.name == "customer" && f.name == "name" {
                    clean = name_case(&clean).unwrap_or(clean);
                }
                set(&mut changes, data, f.name.to_string(), &raw, clean);
            }
            (Kind::Email, Value::String(raw)) => {
                let raw = raw.clone();
                if let Ok(clean) = clean_email(&raw) {
                    set(&mut changes, data, f.name.to_string(), &raw, clean);
                }
            }
            (Kind::Phone, Value::String(raw)) => {
                let raw = raw.clone();
                if let Ok(clean) = clean_phone(&raw, region) {
                    set(&mut changes, data, f.name.to_string(), &raw, clean);
                }
            }
            (Kind::Emails | Kind::Phones, Value::Array(items)) => {
                let items = items.clone();
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let Some(raw) = item.as_str() else {
                        out.push(item.clone());
                        continue;
                    };
                    let clean = if f.kind == Kind::Emails { clean_email(raw) } else { clean_phone(raw, region) };
                    match clean {
                        Ok(c) if c != raw => {
                            changes.push(Change { field: format!("{}[{i}]", f.name), before: raw.to_string(), after: c.clone() });
                            out.push(Value::String(c));
                        }
                        _ => out.push(item.clone()),
                    }
                }
                crate::record::set_path(data, f.name, Value::Array(out));
            }
            _ => {}
        }
    }
    changes
}

/// One person with what cleansing finds in them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CleanRecord {
    /// The person.
    pub id: i64,
    /// The version the findings were computed from; applying needs it unchanged.
    pub version: i64,
    /// The person's name as stored.
    pub name: String,
    /// Changes and unfixable problems.
    #[serde(flatten)]
    pub findings: Findings,
}

/// A page of a cleansing preview.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CleanPage {
    /// People with something to change or fix, in id order.
    pub records: Vec<CleanRecord>,
    /// How many people were read to find them.
    pub scanned: usize,
    /// Pass as `cursor` to continue the scan; `null` when every person was read.
    pub next_cursor: Option<String>,
}

/// How complete and valid people's data is: what the data-quality page and
/// `GET /data_quality/report` show.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct QualityReport {
    /// The object reported on (`customers`).
    pub object: String,
    /// Live records read.
    pub records: usize,
    /// Records without a value, per field.
    pub missing: BTreeMap<String, usize>,
    /// Records with a value cleansing cannot fix, per field (`email`, `phone`, `address.country`).
    pub invalid: BTreeMap<String, usize>,
    /// Records cleansing would change.
    pub cleanable: usize,
    /// Records sharing their normalized email, phone or name with another record: suspected
    /// duplicates (the duplicates list scores them).
    pub suspected_duplicates: usize,
}

#[cfg(test)]
mod tests;
