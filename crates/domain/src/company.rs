//! Companies: the organisations people work for.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::custom_field::{CustomField, FieldObject, merge_custom};
use crate::customer::{Address, apply_name, apply_tags, apply_text};
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::values::{Email, Phone, Region};
use crate::{ValidationErrors, double_option, text};

/// Companies as a record type.
pub static SPEC: RecordSpec = RecordSpec {
    name: "company",
    plural: "companies",
    label: "company",
    label_plural: "companies",
    object: Object::Company,
    title: "name",
    owned: true,
    custom: Some(FieldObject::Company),
    fields: &[
        Field::new("name", "Name", Kind::Text).searched().sorted(),
        Field::new("domain", "Domain", Kind::Text).searched().unique(),
        Field::new("email", "Email", Kind::Email).personal().searched(),
        Field::new("phone", "Phone", Kind::Phone).personal().searched(),
        Field::new("industry", "Industry", Kind::Text).searched(),
        Field::new("external_id", "External id", Kind::Text).unique().filtered(),
        Field::new("address.street", "Street", Kind::Text).personal(),
        Field::new("address.postal_code", "Postal code", Kind::Text).personal(),
        Field::new("address.city", "City", Kind::Text),
        Field::new("address.region", "Region", Kind::Text),
        Field::new("address.country", "Country", Kind::Text),
        Field::new("owner_id", "Owner", Kind::Ref("users")).filtered(),
        Field::new("tags", "Tags", Kind::Tags).filtered(),
        Field::new("notes", "Notes", Kind::LongText),
        Field::new("custom", "Custom fields", Kind::Custom),
        Field::new("people_count", "People", Kind::Int).computed(),
    ],
};

/// A company's editable fields, always valid (built by [`CompanyInput::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CompanyData {
    /// Company name.
    pub name: String,
    /// Web domain (`example.com`), unique among live companies.
    pub domain: Option<String>,
    /// General email.
    pub email: Option<String>,
    /// Main phone in E.164.
    pub phone: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// The company's id in the system it came from (unique among live companies): batch calls
    /// and imports upsert by it.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Postal address.
    pub address: Address,
    /// The user responsible for the account.
    pub owner_id: Option<i64>,
    /// Tags, sorted and without duplicates.
    pub tags: Vec<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Custom field values by key.
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
}

/// A company as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Company {
    /// Identifier.
    pub id: i64,
    /// Editable fields.
    #[serde(flatten)]
    pub data: CompanyData,
    /// Number of live people linked to the company (read-only).
    pub people_count: i64,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Set on tombstones in sync listings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Set on the tombstone of a company merged into another: the survivor's id, which a
    /// syncing client follows (the company's people and records moved there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<i64>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Company {
    /// What a sync listing shows of a deleted company: that it is gone, and nothing else.
    pub fn tombstone(self) -> Company {
        Company { data: CompanyData::default(), people_count: 0, ..self }
    }
}

/// What a client sends to create (`name` required) or update a company.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyInput {
    /// Name, 1 to 200 characters.
    pub name: Option<String>,
    /// Web domain; a URL is reduced to its host.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub domain: Option<Option<String>>,
    /// General email.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Main phone.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Industry.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub industry: Option<Option<String>>,
    /// The company's id in another system, unique among live companies (batch upserts use it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    /// Postal address (replaces the address).
    pub address: Option<Address>,
    /// Owner's user id.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
    /// Tags (replaces the list), at most 50.
    #[schema(max_items = 50)]
    pub tags: Option<Vec<String>>,
    /// Notes.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// Custom field values to set (`null` removes one).
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Map<String, Value>>,
}

/// Reduces `https://www.Example.com/about` to `example.com` and checks it is a host name.
fn parse_domain(raw: &str) -> Result<String, String> {
    let s = raw.trim().to_lowercase();
    let s = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(&s);
    let s = s.split('/').next().unwrap_or("");
    let s = s.strip_prefix("www.").unwrap_or(s);
    Email::parse(&format!("x@{s}")).map(|_| s.to_string()).map_err(|_| format!("'{raw}' is not a web domain like example.com"))
}

impl CompanyInput {
    /// Merges onto `current` (or an empty company) and validates; `region` reads phone
    /// numbers typed without a country code.
    pub fn apply(self, current: Option<&CompanyData>, defs: &[CustomField], region: Region) -> Result<CompanyData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or_default();
        apply_name(&mut errs, self.name, creating, &mut d.name);
        if let Some(v) = self.domain {
            d.domain = v.filter(|s| !s.trim().is_empty()).and_then(|s| errs.check("domain", parse_domain(&s)));
        }
        if let Some(e) = self.email {
            d.email = e.and_then(|s| errs.check("email", Email::parse(&s))).map(|e| e.to_string());
        }
        if let Some(p) = self.phone {
            d.phone = p.and_then(|s| errs.check("phone", Phone::parse(&s, region))).map(|p| p.to_string());
        }
        apply_text(&mut errs, "industry", self.industry, &mut d.industry, 100);
        apply_text(&mut errs, "external_id", self.external_id, &mut d.external_id, 100);
        if let Some(a) = self.address {
            d.address = a.validated(&mut errs);
        }
        if let Some(o) = self.owner_id {
            d.owner_id = o;
        }
        apply_tags(&mut errs, self.tags, &mut d.tags);
        apply_text(&mut errs, "notes", self.notes, &mut d.notes, 20000);
        if let Some(c) = self.custom {
            d.custom = merge_custom(defs, &d.custom, &c, &mut errs);
        }
        errs.into_result(d)
    }
}

impl CompanyData {
    /// The folded public text that full-text search indexes: name, domain and industry.
    pub fn search_name(&self) -> String {
        let parts = [Some(&self.name), self.domain.as_ref(), self.industry.as_ref()];
        text::fold(&parts.into_iter().flatten().cloned().collect::<Vec<_>>().join(" "))
    }

    /// The words of the company's email and phone, indexed as keyed tokens under encryption.
    pub fn private_search_terms(&self) -> Vec<String> {
        let mut terms: Vec<String> =
            self.email.iter().flat_map(|e| text::fold(e).split(' ').map(str::to_string).collect::<Vec<_>>()).collect();
        if let Some(p) = self.phone.as_deref() {
            terms.extend(Phone::search_forms_of(p));
        }
        terms.retain(|t| !t.is_empty());
        terms.sort();
        terms.dedup();
        terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_reduced_to_hosts() {
        assert_eq!(parse_domain("https://www.Example.com/about").unwrap(), "example.com");
        assert!(parse_domain("not a domain").is_err());
    }
}
