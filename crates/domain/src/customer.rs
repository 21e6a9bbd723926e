//! People: the customers, prospects and leads a team works with.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::custom_field::{CustomField, FieldObject, merge_custom};
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::sales::Rejected;
use crate::sales::lead::{LeadData, LeadInput, LeadStatus};
use crate::values::{Email, Phone, Region, bounded_text, tag};
use crate::{ValidationErrors, double_option, text};

/// Where a person stands in the customer lifecycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// Not yet qualified.
    #[default]
    Lead,
    /// Qualified, in conversation.
    Prospect,
    /// Has bought.
    Customer,
    /// Has stopped buying.
    Churned,
}

/// People as a record type: what the store, the lists and the forms make of them.
pub static SPEC: RecordSpec = RecordSpec {
    name: "customer",
    plural: "customers",
    label: "person",
    label_plural: "people",
    object: Object::Customer,
    title: "name",
    owned: true,
    custom: Some(FieldObject::Customer),
    fields: &[
        Field::new("name", "Name", Kind::Text).searched().sorted(),
        Field::new("email", "Email", Kind::Email).personal().searched().unique().filtered(),
        Field::new("additional_emails", "Other emails", Kind::Emails).personal().searched(),
        Field::new("phone", "Phone", Kind::Phone).personal().searched(),
        Field::new("additional_phones", "Other phones", Kind::Phones).personal().searched(),
        Field::new("address.street", "Street", Kind::Text).personal(),
        Field::new("address.postal_code", "Postal code", Kind::Text).personal(),
        Field::new("address.city", "City", Kind::Text),
        Field::new("address.region", "Region", Kind::Text),
        Field::new("address.country", "Country", Kind::Text),
        Field::new("company_id", "Company", Kind::Ref("companies")).filtered().shown_as("company_name"),
        Field::new("lifecycle_stage", "Lifecycle stage", Kind::Choice(LifecycleStage::NAMES)).filtered(),
        Field::new("lead_status", "Lead status", Kind::Choice(LeadStatus::NAMES)).filtered(),
        Field::new("disqualified_reason", "Disqualified because", Kind::Text),
        Field::new("converted_at", "Converted", Kind::Time).read_only().filtered(),
        Field::new("converted_opportunity_id", "Converted into opportunity", Kind::Int).read_only().filtered(),
        Field::new("source", "Source", Kind::Text),
        Field::new("external_id", "External id", Kind::Text).unique().filtered(),
        Field::new("owner_id", "Owner", Kind::Ref("users")).filtered(),
        Field::new("tags", "Tags", Kind::Tags).filtered(),
        Field::new("needs", "Needs", Kind::LongText),
        Field::new("notes", "Notes", Kind::LongText),
        Field::new("custom", "Custom fields", Kind::Custom),
        Field::new("scores.rfm_cell", "RFM cell", Kind::Text).read_only().key("rfm_cell"),
        Field::new("scores.rfm_tier", "RFM tier", Kind::Text).read_only().key("rfm_tier").filtered(),
        Field::new("scores.segment", "Segment", Kind::Int).read_only().key("segment").filtered(),
        Field::new("scores.purchase_propensity", "Buys again", Kind::Number).read_only().key("purchase_propensity"),
        Field::new("scores.churn_risk", "Churn risk", Kind::Number).read_only().key("churn_risk"),
    ],
};

impl LifecycleStage {
    /// Every stage, in lifecycle order.
    pub const ALL: [LifecycleStage; 4] = [Self::Lead, Self::Prospect, Self::Customer, Self::Churned];
    /// Their names, in the same order.
    pub const NAMES: &'static [&'static str] = &["lead", "prospect", "customer", "churned"];

    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Prospect => "prospect",
            Self::Customer => "customer",
            Self::Churned => "churned",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A postal address; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State, province or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country (name or ISO code, as typed).
    pub country: Option<String>,
}

impl Address {
    /// Trims every part, checks lengths and reports errors as `address.<part>`.
    pub fn validated(self, errs: &mut ValidationErrors) -> Address {
        let mut part = |name: &str, v: Option<String>, max: usize| {
            v.and_then(|s| errs.check(&format!("address.{name}"), bounded_text(&s, max)).flatten())
        };
        Address {
            street: part("street", self.street, 200),
            city: part("city", self.city, 100),
            region: part("region", self.region, 100),
            postal_code: part("postal_code", self.postal_code, 20),
            country: part("country", self.country, 60),
        }
    }

    /// The address on one line, as lists show it.
    pub fn one_line(&self) -> String {
        [&self.street, &self.postal_code, &self.city, &self.region, &self.country]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A person's editable fields, always valid: built only by [`CustomerInput::apply`] (or read
/// back from the store, which only ever stored such values).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CustomerData {
    /// Full name as the person writes it.
    pub name: String,
    /// Primary email, unique among live people.
    pub email: Option<String>,
    /// Further email addresses.
    pub additional_emails: Vec<String>,
    /// Primary phone in E.164.
    pub phone: Option<String>,
    /// Further phone numbers in E.164.
    pub additional_phones: Vec<String>,
    /// Postal address.
    pub address: Address,
    /// The company the person works for.
    pub company_id: Option<i64>,
    /// Lifecycle stage.
    pub lifecycle_stage: LifecycleStage,
    /// Lead status, disqualification reason and conversion (see [`crate::sales::lead`]).
    #[serde(flatten)]
    pub lead: LeadData,
    /// Where the person came from (web form, referral, event…).
    pub source: Option<String>,
    /// The person's id in the system they came from (unique among live people): batch calls
    /// and imports upsert by it.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The user responsible for this person.
    pub owner_id: Option<i64>,
    /// Tags, sorted and without duplicates.
    pub tags: Vec<String>,
    /// What the person needs or is looking for.
    pub needs: Option<String>,
    /// Free-text notes.
    pub notes: Option<String>,
    /// Custom field values by key.
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
}

/// A person as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    /// Identifier.
    pub id: i64,
    /// Editable fields.
    #[serde(flatten)]
    pub data: CustomerData,
    /// Name of the linked company (read-only).
    pub company_name: Option<String>,
    /// What the latest analytics runs found (read-only).
    pub scores: CustomerScores,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Set when the person was deleted; only sync listings (`updated_since`, `sync_token`) show
    /// such tombstones, which carry nothing but `id`, the times and `version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Set on the tombstone of a person merged into another: the survivor's id, which a
    /// syncing client follows (the person's related records moved there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<i64>,
    /// Only in the answer to a create: people already stored who share an email, a phone
    /// number or the name with the new one, best first (absent when there are none); merge
    /// them through `POST /customers/{id}/merge`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<crate::quality::duplicates::DuplicateCandidate>,
    /// Optimistic-concurrency version; send it back as `If-Match`.
    pub version: i64,
}

impl Customer {
    /// What a sync listing shows of a deleted person: that it is gone, and nothing personal.
    pub fn tombstone(self) -> Customer {
        Customer { data: CustomerData::default(), company_name: None, scores: CustomerScores::default(), ..self }
    }
}

/// Scores that analytics runs write back onto a person; each is absent until its analysis ran
/// over data that includes the person's purchases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CustomerScores {
    /// RFM cell: recency, frequency and monetary quintile scores, e.g. `545`.
    pub rfm_cell: Option<String>,
    /// Named RFM tier ("Champions", "At risk"…).
    pub rfm_tier: Option<String>,
    /// k-means segment (0-based cluster label).
    pub segment: Option<i64>,
    /// Probability of buying again in the next period (logistic regression).
    pub purchase_propensity: Option<f64>,
    /// Probability of not buying again (the churn decision tree's leaf share).
    pub churn_risk: Option<f64>,
}

/// One purchased line of a person's purchase history: a line of one of their paid (or
/// shipped) orders, as `GET /customers/{id}/purchases` reads it. Purchases are recorded as
/// orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Purchase {
    /// The order line's identifier.
    pub id: i64,
    /// The order's id: lines of one order count as one purchase.
    pub invoice: String,
    /// Product name, as on the line.
    pub product: String,
    /// Quantity, at least 1.
    pub quantity: i64,
    /// The line's net amount in minor units (after its discount, before the order's tax).
    pub amount_minor: i64,
    /// ISO 4217 currency code of the order.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// When the order was paid (RFC 3339 UTC).
    #[schema(format = DateTime)]
    pub purchased_at: String,
}

/// What a client sends to create (`name` required) or update (only the fields present change;
/// `null` clears a field) a person.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// Full name, 1 to 200 characters.
    pub name: Option<String>,
    /// Primary email.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Further emails (replaces the list), at most 10.
    #[schema(max_items = 10)]
    pub additional_emails: Option<Vec<String>>,
    /// Primary phone, international (`+44 20…`) or national to the default country.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Further phones (replaces the list), at most 10.
    #[schema(max_items = 10)]
    pub additional_phones: Option<Vec<String>>,
    /// Postal address (replaces the address).
    pub address: Option<Address>,
    /// Company id, or null to unlink.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub company_id: Option<Option<i64>>,
    /// Lifecycle stage.
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Lead status of a lead: `new`, `working`, `nurturing` or `disqualified` (`qualified`
    /// comes only from converting the lead). Sending the current status changes nothing.
    pub lead_status: Option<LeadStatus>,
    /// Why the lead is disqualified: required with `disqualified`, refused otherwise.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub disqualified_reason: Option<Option<String>>,
    /// Source.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
    /// The person's id in another system, unique among live people (batch upserts use it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    /// Owner's user id, or null for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
    /// Tags (replaces the list), at most 50.
    #[schema(max_items = 50)]
    pub tags: Option<Vec<String>>,
    /// Needs.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub needs: Option<Option<String>>,
    /// Notes.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// Custom field values to set (`null` removes one); other keys keep their values.
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Map<String, Value>>,
}

/// Applies a record's name: required when creating, never empty, at most 200 characters.
pub(crate) fn apply_name(errs: &mut ValidationErrors, input: Option<String>, creating: bool, target: &mut String) {
    match input {
        Some(n) => match bounded_text(&n, 200) {
            Ok(Some(n)) => *target = n,
            Ok(None) => errs.add("name", "cannot be empty"),
            Err(m) => errs.add("name", m),
        },
        None if creating => errs.add("name", "is required"),
        None => {}
    }
}

/// Applies a nullable text field: absent keeps, null clears, a value is trimmed and checked.
pub(crate) fn apply_text(errs: &mut ValidationErrors, field: &str, input: Option<Option<String>>, target: &mut Option<String>, max: usize) {
    if let Some(v) = input {
        *target = v.and_then(|s| errs.check(field, bounded_text(&s, max)).flatten());
    }
}

/// The most further emails or phones a person keeps.
pub const MAX_ADDITIONAL: usize = 10;

/// The most tags a record keeps.
pub const MAX_TAGS: usize = 50;

/// Validates a list of tags into sorted, de-duplicated form.
pub(crate) fn apply_tags(errs: &mut ValidationErrors, input: Option<Vec<String>>, target: &mut Vec<String>) {
    if let Some(tags) = input {
        if tags.len() > MAX_TAGS {
            errs.add("tags", format!("at most {MAX_TAGS} tags"));
        }
        let mut out: Vec<String> = tags.iter().filter_map(|t| errs.check("tags", tag(t))).collect();
        out.sort();
        out.dedup();
        *target = out;
    }
}

impl CustomerInput {
    /// Merges this input onto `current` (or onto an empty person when creating) and validates
    /// the result. `defs` are the customer custom fields; `region` reads phone numbers typed
    /// without a country code. Field errors come first (422); a lead status the person's
    /// state does not allow is refused (409, see [`LeadInput::apply`]).
    pub fn apply(self, current: Option<&CustomerData>, defs: &[CustomField], region: Region) -> Result<CustomerData, Rejected> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or_default();
        apply_name(&mut errs, self.name, creating, &mut d.name);
        if let Some(e) = self.email {
            d.email = e.and_then(|s| errs.check("email", Email::parse(&s))).map(|e| e.to_string());
        }
        for (field, list) in [("additional_emails", &self.additional_emails), ("additional_phones", &self.additional_phones)] {
            if list.as_ref().is_some_and(|l| l.len() > MAX_ADDITIONAL) {
                errs.add(field, format!("at most {MAX_ADDITIONAL} entries"));
            }
        }
        if let Some(list) = self.additional_emails {
            d.additional_emails = (list.iter().enumerate())
                .filter_map(|(i, s)| errs.check(&format!("additional_emails.{i}"), Email::parse(s)))
                .map(|e| e.to_string())
                .collect();
        }
        if let Some(p) = self.phone {
            d.phone = p.and_then(|s| errs.check("phone", Phone::parse(&s, region))).map(|p| p.to_string());
        }
        if let Some(list) = self.additional_phones {
            d.additional_phones = (list.iter().enumerate())
                .filter_map(|(i, s)| errs.check(&format!("additional_phones.{i}"), Phone::parse(s, region)))
                .map(|p| p.to_string())
                .collect();
        }
        if let Some(a) = self.address {
            d.address = a.validated(&mut errs);
        }
        if let Some(c) = self.company_id {
            d.company_id = c;
        }
        if let Some(s) = self.lifecycle_stage {
            d.lifecycle_stage = s;
        }
        apply_text(&mut errs, "source", self.source, &mut d.source, 100);
        apply_text(&mut errs, "external_id", self.external_id, &mut d.external_id, 100);
        if let Some(o) = self.owner_id {
            d.owner_id = o;
        }
        apply_tags(&mut errs, self.tags, &mut d.tags);
        apply_text(&mut errs, "needs", self.needs, &mut d.needs, 5000);
        apply_text(&mut errs, "notes", self.notes, &mut d.notes, 20000);
        if let Some(c) = self.custom {
            d.custom = merge_custom(defs, &d.custom, &c, &mut errs);
        }
        // Forms send every field: the status and reason the person already has are no change
        // (so a customer's form, which shows their old lead status, saves).
        let same_reason =
            |r: &Option<String>| r.as_deref().map(str::trim).filter(|s| !s.is_empty()) == d.lead.disqualified_reason.as_deref();
        let lead = LeadInput {
            lead_status: self.lead_status.filter(|s| *s != d.lead.lead_status),
            disqualified_reason: self.disqualified_reason.filter(|r| !same_reason(r)),
        };
        match lead.apply(&d.lead, d.lifecycle_stage) {
            Ok(l) => d.lead = l,
            Err(Rejected::Invalid(e)) => errs.0.extend(e.0),
            Err(refused) if errs.0.is_empty() => return Err(refused),
            Err(_) => {}
        }
        Ok(errs.into_result(d)?)
    }
}

impl CustomerData {
    /// The folded name, which full-text search indexes in clear (company names are indexed
    /// separately so that renaming a company does not rewrite each person).
    pub fn search_name(&self) -> String {
        text::fold(&self.name)
    }

    /// The words of the person's emails and phone numbers that search should find. They are
    /// personal data, so the store indexes them as keyed tokens when encryption is on.
    pub fn private_search_terms(&self) -> Vec<String> {
        let mut terms: Vec<String> = Vec::new();
        for e in self.email.iter().chain(&self.additional_emails) {
            terms.extend(text::fold(e).split(' ').filter(|t| !t.is_empty()).map(str::to_string));
        }
        for p in self.phone.iter().chain(&self.additional_phones) {
            terms.extend(Phone::search_forms_of(p));
        }
        terms.sort();
        terms.dedup();
        terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> CustomerInput {
        serde_json::from_str(json).unwrap()
    }

    fn invalid(r: Rejected) -> ValidationErrors {
        r.invalid().cloned().unwrap_or_else(|| panic!("expected field errors, got {r}"))
    }

    #[test]
    fn create_requires_a_name_and_reports_every_bad_field() {
        let errs = invalid(input(r#"{"email":"nope","phone":"abc","tags":["a,b"]}"#).apply(None, &[], Region::US).unwrap_err());
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "email", "phone", "tags"]);
    }

    #[test]
    fn list_errors_name_the_entry() {
        let errs = invalid(
            input(r#"{"name":"Ann","additional_phones":["+44 20 7946 0958","+999 12345"],"additional_emails":["x"]}"#)
                .apply(None, &[], Region::US)
                .unwrap_err(),
        );
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["additional_emails.0", "additional_phones.1"]);
    }

    #[test]
    fn names_are_nfc() {
        let d = input(r#"{"name":"Zoe\u0308 Ng"}"#).apply(None, &[], Region::US).unwrap();
        assert_eq!(d.name, "Zo\u{eb} Ng");
    }

    #[test]
    fn patch_keeps_absent_fields_and_clears_nulls() {
        let d = input(r#"{"name":"Zoë Ng","email":"ZOE@x.io","source":"web","tags":["b","a","b"]}"#).apply(None, &[], Region::US).unwrap();
        assert_eq!(d.email.as_deref(), Some("zoe@x.io"));
        assert_eq!(d.tags, vec!["a", "b"]);
        let d2 = input(r#"{"source":null}"#).apply(Some(&d), &[], Region::US).unwrap();
        assert_eq!(d2.name, "Zoë Ng");
        assert_eq!(d2.source, None);
        assert_eq!(d2.email.as_deref(), Some("zoe@x.io"));
    }

    #[test]
    fn list_lengths_are_capped() {
        let eleven: Vec<String> = (0..11).map(|i| format!("\"p{i}@x.io\"")).collect();
        let json = format!(r#"{{"name":"Ann","additional_emails":[{}]}}"#, eleven.join(","));
        let errs = invalid(input(&json).apply(None, &[], Region::US).unwrap_err());
        assert_eq!(errs.0[0].field, "additional_emails");
        let json = format!(r#"{{"name":"Ann","additional_emails":[{}]}}"#, eleven[..10].join(","));
        assert_eq!(input(&json).apply(None, &[], Region::US).unwrap().additional_emails.len(), 10);
    }

    #[test]
    fn lead_status_rules_apply_to_leads_and_forms_may_resend_what_is_there() {
        let lead = input(r#"{"name":"Ann"}"#).apply(None, &[], Region::US).unwrap();
        assert_eq!((lead.lifecycle_stage, lead.lead.lead_status), (LifecycleStage::Lead, LeadStatus::New));
        let errs = invalid(input(r#"{"lead_status":"disqualified","email":"x"}"#).apply(Some(&lead), &[], Region::US).unwrap_err());
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "disqualified_reason"], "every field error, the person's first");
        let out = input(r#"{"lead_status":"disqualified","disqualified_reason":"No budget"}"#).apply(Some(&lead), &[], Region::US).unwrap();
        assert_eq!(out.lead.disqualified_reason.as_deref(), Some("No budget"));
        let same = input(r#"{"lead_status":"disqualified","disqualified_reason":" No budget ","notes":"x"}"#);
        assert_eq!(same.apply(Some(&out), &[], Region::US).unwrap().lead, out.lead, "resending the same status and reason is no change");
        let customer = input(r#"{"name":"Bo","lifecycle_stage":"customer"}"#).apply(None, &[], Region::US).unwrap();
        let resent = input(r#"{"lead_status":"new","disqualified_reason":null}"#).apply(Some(&customer), &[], Region::US);
        assert!(resent.is_ok(), "a customer's form resends the old status");
        let refused = input(r#"{"lead_status":"working"}"#).apply(Some(&customer), &[], Region::US).unwrap_err();
        assert_eq!(refused.refused().map(|r| r.field), Some(Some("lead_status")));
        let qualified = input(r#"{"lead_status":"qualified"}"#).apply(Some(&lead), &[], Region::US).unwrap_err();
        assert_eq!(qualified.refused().map(|r| r.allowed.last().copied()), Some(Some("convert")));
        let both = input(r#"{"lead_status":"qualified","phone":"abc"}"#).apply(Some(&lead), &[], Region::US).unwrap_err();
        assert!(both.invalid().is_some(), "field errors are reported before a refusal");
    }

    #[test]
    fn search_terms_are_folded_and_have_phone_forms() {
        let d = input(r#"{"name":"Zoë Ng","email":"zoe@x.io","phone":"+1 415 555 0134"}"#).apply(None, &[], Region::US).unwrap();
        assert_eq!(d.search_name(), "zoe ng");
        assert_eq!(d.private_search_terms(), ["0134", "14155550134", "4155550134", "5550134", "io", "x", "zoe"]);
    }
}
