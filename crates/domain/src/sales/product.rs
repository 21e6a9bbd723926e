//! Products: what orders sell, with a unit price in one currency.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{apply_amount, apply_currency};
use crate::customer::{apply_name, apply_text};
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::{ValidationErrors, double_option, text};

/// Products as a record type: the catalogue, shared by everyone (not owned), searched by SKU,
/// name and description.
pub static SPEC: RecordSpec = RecordSpec {
    name: "product",
    plural: "products",
    label: "product",
    label_plural: "products",
    object: Object::Product,
    title: "name",
    owned: false,
    custom: None,
    fields: &[
        Field::new("sku", "SKU", Kind::Text).searched().unique().filtered().sorted(),
        Field::new("name", "Name", Kind::Text).searched().sorted(),
        Field::new("description", "Description", Kind::LongText).searched(),
        Field::new("unit_price_minor", "Unit price", Kind::Money).filtered().sorted(),
        Field::new("currency", "Currency", Kind::Text).filtered(),
        Field::new("active", "Active", Kind::Bool).filtered(),
    ],
};

/// A product's editable fields, always valid (built by [`ProductInput::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductData {
    /// Stock-keeping unit: 1 to 64 letters, digits, `-`, `_` or `.`, upper-cased; unique among
    /// live products (the store enforces that).
    pub sku: String,
    /// Name, 1 to 200 characters.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Price of one unit in minor units of `currency`, before discounts and tax.
    pub unit_price_minor: i64,
    /// ISO 4217 code of the price.
    pub currency: String,
    /// Whether new order lines may use the product (existing lines keep it).
    pub active: bool,
}

/// A product as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Product {
    /// Identifier.
    pub id: i64,
    /// Editable fields.
    #[serde(flatten)]
    pub data: ProductData,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Set on tombstones in sync listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Product {
    /// What a sync listing shows of a deleted product: that it is gone, and nothing else.
    pub fn tombstone(self) -> Product {
        Product { data: ProductData::default(), ..self }
    }
}

/// What a client sends to create (`sku`, `name`, `unit_price_minor` and `currency` required)
/// or update a product.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// SKU; letters are upper-cased.
    pub sku: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Description, or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Unit price in minor units, 0 or more.
    pub unit_price_minor: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// Whether the product can be ordered; new products are active unless this says otherwise.
    pub active: Option<bool>,
}

/// Checks and normalizes a SKU: trimmed, 1 to 64 ASCII letters, digits, `-`, `_` or `.`,
/// upper-cased (so `ab-1` and `AB-1` are one SKU).
pub fn parse_sku(raw: &str) -> Result<String, String> {
    let s = raw.trim().to_ascii_uppercase();
    if s.is_empty() || s.len() > 64 {
        return Err("must have 1 to 64 characters".into());
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(format!("'{}' may use only letters, digits, '-', '_' and '.'", raw.trim()));
    }
    Ok(s)
}

impl ProductInput {
    /// Merges onto `current` (or a new, active product) and validates.
    pub fn apply(self, current: Option<&ProductData>) -> Result<ProductData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or(ProductData { active: true, ..ProductData::default() });
        match self.sku {
            Some(s) => {
                if let Some(s) = errs.check("sku", parse_sku(&s)) {
                    d.sku = s;
                }
            }
            None if creating => errs.add("sku", "is required"),
            None => {}
        }
        apply_name(&mut errs, self.name, creating, &mut d.name);
        apply_text(&mut errs, "description", self.description, &mut d.description, 5000);
        if self.unit_price_minor.is_none() && creating {
            errs.add("unit_price_minor", "is required (in minor units: 1999 is 19.99)");
        }
        apply_amount(&mut errs, "unit_price_minor", self.unit_price_minor, &mut d.unit_price_minor);
        apply_currency(&mut errs, "currency", self.currency, creating, &mut d.currency);
        if let Some(a) = self.active {
            d.active = a;
        }
        errs.into_result(d)
    }
}

impl ProductData {
    /// The folded text full-text search indexes: SKU, name and description.
    pub fn search_name(&self) -> String {
        let parts = [Some(&self.sku), Some(&self.name), self.description.as_ref()];
        text::fold(&parts.into_iter().flatten().cloned().collect::<Vec<_>>().join(" "))
    }

    /// What an order line needs to know of the product.
    pub fn facts(&self) -> ProductFacts {
        ProductFacts {
            sku: self.sku.clone(),
            name: self.name.clone(),
            unit_price_minor: self.unit_price_minor,
            currency: self.currency.clone(),
            active: self.active,
        }
    }
}

/// What validating an order line needs to know of its product (looked up by the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFacts {
    /// SKU, copied onto the line.
    pub sku: String,
    /// Name, copied onto the line.
    pub name: String,
    /// Current unit price, the line's default.
    pub unit_price_minor: i64,
    /// ISO 4217 code of the price; must be the order's.
    pub currency: String,
    /// Inactive products cannot be put on new lines.
    pub active: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> ProductInput {
        serde_json::from_str(json).unwrap()
    }

    fn fields(e: &ValidationErrors) -> Vec<&str> {
        e.0.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_new_product_needs_sku_name_price_and_currency_and_is_active() {
        let e = input("{}").apply(None).unwrap_err();
        assert_eq!(fields(&e), ["sku", "name", "unit_price_minor", "currency"]);
        let p = input(r#"{"sku":" ab-1.x_2 ","name":" Widget ","unit_price_minor":1999,"currency":"usd"}"#).apply(None).unwrap();
        assert_eq!(
            p,
            ProductData {
                sku: "AB-1.X_2".into(),
                name: "Widget".into(),
                description: None,
                unit_price_minor: 1999,
                currency: "USD".into(),
                active: true
            }
        );
        let inactive = input(r#"{"sku":"A","name":"W","unit_price_minor":0,"currency":"EUR","active":false}"#).apply(None).unwrap();
        assert!(!inactive.active, "free and inactive is allowed");
    }

    #[test]
    fn bad_values_name_their_fields() {
        let e = input(r#"{"sku":"a b","name":"","unit_price_minor":-1,"currency":"EURO","description":"x"}"#).apply(None).unwrap_err();
        assert_eq!(fields(&e), ["sku", "name", "unit_price_minor", "currency"]);
        let e = input(r#"{"sku":"A","name":"W","unit_price_minor":9007199254740992,"currency":"USD"}"#).apply(None).unwrap_err();
        assert_eq!(fields(&e), ["unit_price_minor"]);
        assert!(serde_json::from_str::<ProductInput>(r#"{"colour":"red"}"#).is_err(), "unknown fields are refused");
    }

    #[test]
    fn skus_are_checked() {
        assert_eq!(parse_sku("x").unwrap(), "X");
        assert!(parse_sku(&"A".repeat(64)).is_ok());
        for bad in ["", "  ", &"A".repeat(65), "A/B", "É1", "A B", "A,B"] {
            assert!(parse_sku(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn patch_keeps_absent_fields_and_clears_nulls() {
        let p = input(r#"{"sku":"A","name":"W","unit_price_minor":100,"currency":"USD","description":"Blue"}"#).apply(None).unwrap();
        let q = input(r#"{"description":null,"active":false,"unit_price_minor":250}"#).apply(Some(&p)).unwrap();
        assert_eq!((q.sku.as_str(), q.name.as_str(), q.description.as_deref()), ("A", "W", None));
        assert_eq!((q.unit_price_minor, q.active, q.currency.as_str()), (250, false, "USD"));
        assert_eq!(fields(&input(r#"{"name":"  "}"#).apply(Some(&p)).unwrap_err()), ["name"]);
    }

    #[test]
    fn tombstones_keep_nothing_but_identity() {
        let data = input(r#"{"sku":"A","name":"W","unit_price_minor":100,"currency":"USD"}"#).apply(None).unwrap();
        let p = Product { id: 7, data, created_at: "t0".into(), updated_at: "t1".into(), deleted_at: Some("t2".into()), version: 3 };
        let json = serde_json::to_value(p.clone()).unwrap();
        assert_eq!(json["sku"], "A", "data is flattened");
        let t = p.tombstone();
        assert_eq!((t.id, t.version, t.deleted_at.as_deref()), (7, 3, Some("t2")));
        assert_eq!(t.data, ProductData::default());
    }

    #[test]
    fn search_and_facts() {
        let p = input(r#"{"sku":"ab-1","name":"Zoë Widget","unit_price_minor":100,"currency":"USD"}"#).apply(None).unwrap();
        assert_eq!(p.search_name(), "ab 1 zoe widget");
        let f = p.facts();
        assert_eq!((f.sku.as_str(), f.unit_price_minor, f.currency.as_str(), f.active), ("AB-1", 100, "USD", true));
    }
}
