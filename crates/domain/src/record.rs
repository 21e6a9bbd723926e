//! Record types described as data.
//!
//! Every record type (people, companies, products, opportunities, orders, activities, and the
//! tickets and campaigns to come) is one [`RecordSpec`]: its fields with their kinds and what
//! each field takes part in (search, sealing, filters, sorts, uniqueness, references). The
//! store turns a spec into SQL (get, list with cursor, filters, sort and search, create,
//! versioned update, soft delete with tombstone, audit); the list parser ([`crate::query`])
//! checks filters and sorts against it; the web UI draws list columns and forms from it. A
//! record type's own rules stay beside it in plain code (its `Input::apply` and a few store
//! hooks), never in a copy of the generic path.
//!
//! A field's `name` is its JSON path in the record (`address.street`); its column is the path
//! with dots turned into underscores (`address_street`).

use crate::custom_field::FieldObject;
use crate::permissions::Object;

/// What a field holds, which decides how it is stored, filtered, masked, searched and edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One line of text.
    Text,
    /// Free text over several lines.
    LongText,
    /// An email address (its words are searchable as whole words).
    Email,
    /// A phone number in E.164 (searchable by its usual digit forms).
    Phone,
    /// Further email addresses, a JSON list.
    Emails,
    /// Further phone numbers, a JSON list.
    Phones,
    /// A whole number.
    Int,
    /// A decimal number.
    Number,
    /// An amount of money in minor units; the record's `currency` field names the currency.
    Money,
    /// `true` or `false`.
    Bool,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A point in time, RFC 3339 UTC.
    Time,
    /// One of the listed values.
    Choice(&'static [&'static str]),
    /// The id of a record of the type with this plural name (`companies`, `users`).
    Ref(&'static str),
    /// The record's tags: a sorted list, also kept in a tag table for filtering.
    Tags,
    /// The values of the object's custom fields.
    Custom,
    /// Structured data stored as JSON text (order lines, stage lists).
    Json,
}

/// Whom full-text search finds a record for by this field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Not searched.
    No,
    /// Searched by everyone who may read the record (names).
    Public,
    /// Searched only by roles that see personal data (emails, phones).
    Private,
}

/// One field of a record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// JSON path in the record, e.g. `address.street`.
    pub name: &'static str,
    /// Label in forms, lists and filters.
    pub label: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// Personal data: sealed at rest, masked for roles without `pii`, searched privately.
    pub personal: bool,
    /// Full-text search.
    pub search: Search,
    /// Lists can be filtered by it (`name=value`, numbers, money and dates also `.gte`/`.lte`).
    pub filter: bool,
    /// Lists can be sorted by it.
    pub sort: bool,
    /// Unique among live records (personal unique fields compare a keyed blind index).
    pub unique: bool,
    /// Written by the system, not by clients (scores, stamps): shown and filtered, never edited.
    pub read_only: bool,
    /// For references: the JSON name under which the referenced record's title is shown.
    pub shown_as: Option<&'static str>,
    /// Not a column of the record's table: computed by the query (counts), so read-only.
    pub computed: bool,
    /// The column and list-parameter name, when not the path with `.` as `_` (`rfm_tier` for
    /// `scores.rfm_tier`).
    pub key: Option<&'static str>,
}

impl Field {
    /// A field of `kind`, taking part in nothing yet.
    pub const fn new(name: &'static str, label: &'static str, kind: Kind) -> Field {
        Field {
            name,
            label,
            kind,
            personal: false,
            search: Search::No,
            filter: false,
            sort: false,
            unique: false,
            read_only: false,
            shown_as: None,
            computed: false,
            key: None,
        }
    }

    /// Personal data (sealed, masked, searched privately when searched).
    pub const fn personal(mut self) -> Field {
        self.personal = true;
        self
    }

    /// Searched by everyone who may read the record.
    pub const fn searched(mut self) -> Field {
        self.search = if self.personal { Search::Private } else { Search::Public };
        self
    }

    /// Lists filter by it.
    pub const fn filtered(mut self) -> Field {
        self.filter = true;
        self
    }

    /// Lists sort by it.
    pub const fn sorted(mut self) -> Field {
        self.sort = true;
        self
    }

    /// Unique among live records.
    pub const fn unique(mut self) -> Field {
        self.unique = true;
        self
    }

    /// Written by the system only.
    pub const fn read_only(mut self) -> Field {
        self.read_only = true;
        self
    }

    /// Computed by the query that reads the record, not stored.
    pub const fn computed(mut self) -> Field {
        self.read_only = true;
        self.computed = true;
        self
    }

    /// A reference whose target's title is shown under `name`.
    pub const fn shown_as(mut self, name: &'static str) -> Field {
        self.shown_as = Some(name);
        self
    }

    /// Stored in column `key`, and filtered and sorted as `key`.
    pub const fn key(mut self, key: &'static str) -> Field {
        self.key = Some(key);
        self
    }

    /// The column holding the field: its `key`, or its path with `.` as `_`.
    pub fn column(&self) -> String {
        match self.key {
            Some(k) => k.to_string(),
            None => self.name.replace('.', "_"),
        }
    }

    /// The name lists filter and sort it by: its `key`, or its path.
    pub fn param(&self) -> &'static str {
        self.key.unwrap_or(self.name)
    }

    /// Whether filters compare it as a range too (`.gte`, `.lte`).
    pub fn ranged(&self) -> bool {
        matches!(self.kind, Kind::Int | Kind::Number | Kind::Money | Kind::Date | Kind::Time)
    }
}

/// A record type.
#[derive(Debug)]
pub struct RecordSpec {
    /// Singular name: the audit log's object and the custom fields' object (`customer`).
    pub name: &'static str,
    /// Plural name: the table, the API path and the UI path (`customers`).
    pub plural: &'static str,
    /// What people call one, in the UI (`person`).
    pub label: &'static str,
    /// And several (`people`).
    pub label_plural: &'static str,
    /// The permission object.
    pub object: Object,
    /// The field that names a record (folded into `sort_name` for sorting by name).
    pub title: &'static str,
    /// Whether records have an `owner_id` that decides who reaches them.
    pub owned: bool,
    /// The object whose custom fields records carry, if any.
    pub custom: Option<FieldObject>,
    /// The fields, in form order.
    pub fields: &'static [Field],
}

impl RecordSpec {
    /// The field with JSON path `name`.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field lists filter or sort by `param` (`tag` names the tags).
    pub fn param(&self, param: &str) -> Option<&'static Field> {
        match param {
            "tag" => self.tags(),
            _ => self.fields.iter().find(|f| f.param() == param),
        }
    }

    /// Whether any field is searched (the table then has full-text search columns).
    pub fn searched(&self) -> bool {
        self.fields.iter().any(|f| f.search != Search::No)
    }

    /// The tags field, if records have tags.
    pub fn tags(&self) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.kind == Kind::Tags)
    }

    /// Fields clients write.
    pub fn writable(&self) -> impl Iterator<Item = &'static Field> + '_ {
        self.fields.iter().filter(|f| !f.read_only)
    }
}

/// The value at JSON path `path` (`address.street`) of a record's JSON form (`Null` if absent).
pub fn get_path<'a>(map: &'a serde_json::Map<String, serde_json::Value>, path: &str) -> &'a serde_json::Value {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or("");
    let mut v = map.get(first).unwrap_or(&serde_json::Value::Null);
    for p in parts {
        v = v.get(p).unwrap_or(&serde_json::Value::Null);
    }
    v
}

/// Sets the value at JSON path `path`, making the objects on the way.
pub fn set_path(map: &mut serde_json::Map<String, serde_json::Value>, path: &str, value: serde_json::Value) {
    match path.split_once('.') {
        None => {
            map.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let inner = map.entry(head.to_string()).or_insert_with(|| serde_json::Value::Object(Default::default()));
            if !inner.is_object() {
                *inner = serde_json::Value::Object(Default::default());
            }
            if let serde_json::Value::Object(m) = inner {
                set_path(m, rest, value);
            }
        }
    }
}

/// What full-text search indexes for a record given as its JSON form: the folded public words
/// (everyone searches them), and the private words (emails' words, phones' digit forms) that
/// only roles seeing personal data search.
pub fn search_words(spec: &RecordSpec, data: &serde_json::Map<String, serde_json::Value>) -> (String, Vec<String>) {
    let mut public: Vec<String> = vec![];
    let mut private: Vec<String> = vec![];
    for f in spec.fields.iter().filter(|f| f.search != Search::No) {
        let v = get_path(data, f.name);
        let values: Vec<&str> = match v {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
            _ => vec![],
        };
        for s in values {
            match (f.search, f.kind) {
                (Search::Public, _) => public.push(crate::text::fold(s)),
                (_, Kind::Phone | Kind::Phones) => private.extend(crate::values::Phone::search_forms_of(s)),
                _ => private.extend(crate::text::fold(s).split(' ').filter(|t| !t.is_empty()).map(str::to_string)),
            }
        }
    }
    private.sort();
    private.dedup();
    (public.into_iter().filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" "), private)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[Field] = &[
        Field::new("name", "Name", Kind::Text).searched().sorted(),
        Field::new("email", "Email", Kind::Email).personal().searched().unique().filtered(),
        Field::new("address.street", "Street", Kind::Text).personal(),
        Field::new("amount_minor", "Amount", Kind::Money).filtered().sorted(),
        Field::new("score", "Score", Kind::Number).read_only().filtered(),
    ];

    #[test]
    fn personal_fields_are_searched_privately_and_columns_follow_paths() {
        assert_eq!(FIELDS[0].search, Search::Public);
        assert_eq!(FIELDS[1].search, Search::Private);
        assert_eq!(FIELDS[2].column(), "address_street");
        assert!(FIELDS[3].ranged() && !FIELDS[1].ranged());
    }

    #[test]
    fn a_spec_finds_its_fields() {
        let spec = RecordSpec {
            name: "thing",
            plural: "things",
            label: "thing",
            label_plural: "things",
            object: Object::Customer,
            title: "name",
            owned: true,
            custom: None,
            fields: FIELDS,
        };
        assert_eq!(spec.field("email").map(|f| f.kind), Some(Kind::Email));
        assert!(spec.field("nope").is_none());
        assert!(spec.searched());
        assert_eq!(spec.writable().count(), 4);
    }

    #[test]
    fn paths_nest_and_search_words_split_public_from_private() {
        let mut m = serde_json::Map::new();
        set_path(&mut m, "address.street", "1 Main St".into());
        set_path(&mut m, "name", "Zoë Ng".into());
        set_path(&mut m, "email", "zoe@x.io".into());
        assert_eq!(get_path(&m, "address.street"), "1 Main St");
        assert!(get_path(&m, "address.city").is_null());
        let spec = RecordSpec {
            name: "thing",
            plural: "things",
            label: "thing",
            label_plural: "things",
            object: Object::Customer,
            title: "name",
            owned: true,
            custom: None,
            fields: FIELDS,
        };
        assert_eq!(search_words(&spec, &m), ("zoe ng".to_string(), vec!["io".to_string(), "x".to_string(), "zoe".to_string()]));
        assert_eq!(search_words(&crate::customer::SPEC, &m).0, "zoe ng");
    }
}
