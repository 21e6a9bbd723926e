//! Files with a row per order line, as shops and ERPs export them: the order's own columns on
//! each row (or only on its first), and the line's product, quantity, price and discount. The
//! consecutive rows of one `external_id` become one order with every line; an order with a
//! rejected line is rejected whole, so no order is imported missing a line.

use serde_json::{Value, json};

use super::{Problem, Row};

/// A line's columns (header as [`super::field_for`] normalizes it) and the field each fills.
const COLUMNS: &[(&str, &str)] = &[
    ("product_id", "product_id"),
    ("product", "product_id"),
    ("sku", "sku"),
    ("product_sku", "sku"),
    ("quantity", "quantity"),
    ("qty", "quantity"),
    ("unit_price", "unit_price_minor"),
    ("unit_price_minor", "unit_price_minor"),
    ("price", "unit_price_minor"),
    ("discount", "discount_bp"),
    ("discount_bp", "discount_bp"),
    ("discount_minor", "discount_minor"),
];

/// The line field (`line.quantity`) a normalized header names, for a record type with lines.
pub(super) fn field(header: &str) -> Option<String> {
    COLUMNS.iter().find(|(h, _)| *h == header).map(|(_, f)| format!("line.{f}"))
}

/// Every line field, once each, in the order of [`COLUMNS`].
pub(super) fn fields() -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for (_, f) in COLUMNS {
        let f = format!("line.{f}");
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// A line cell as JSON: the SKU as text, the rest whole numbers.
pub(super) fn convert(field: &str, raw: &str) -> Option<Result<Value, String>> {
    let f = field.strip_prefix("line.")?;
    Some(if f == "sku" {
        Ok(json!(raw.trim()))
    } else {
        raw.trim().parse::<i64>().map(Value::from).map_err(|_| format!("'{raw}' is not a whole number"))
    })
}

/// What a rejected row of a group, or a group with one, becomes in the rejected file.
pub(super) struct Dropped {
    pub line: u64,
    pub cells: Vec<String>,
    pub why: String,
}

/// Gathers the rows of one order. Rows without line columns pass through unchanged, one row
/// behind (the next row tells whether the held one is complete).
#[derive(Default)]
pub(super) struct Grouper {
    held: Option<Row>,
    /// The key of an order one of whose lines was rejected: its other rows are rejected too.
    failed: Option<(Value, u64)>,
}

impl Grouper {
    /// Takes a row read whole; gives back the previous record once it is complete, and the rows
    /// this one drops (a later line of an order already rejected).
    pub fn row(&mut self, mut row: Row) -> (Option<Row>, Vec<Dropped>) {
        let line = row.data.remove("line");
        let key = row.data.get("external_id").cloned();
        if let (Some(k), Some((bad, at))) = (&key, &self.failed)
            && line.is_some()
            && k == bad
        {
            let why = format!("not imported: line {at} of this order was rejected");
            return (None, vec![Dropped { line: row.line, cells: row.cells, why }]);
        }
        if let (Some(l), Some(held)) = (&line, self.held.as_mut())
            && key.is_some()
            && key.as_ref() == held.data.get("external_id")
        {
            if let Some(Value::Array(ls)) = held.data.get_mut("lines") {
                ls.push(l.clone());
            }
            held.more.push((row.line, row.cells));
            return (None, vec![]);
        }
        if let Some(l) = line {
            match row.data.get_mut("lines") {
                Some(Value::Array(ls)) => ls.push(l),
                _ => {
                    row.data.insert("lines".into(), Value::Array(vec![l]));
                }
            }
        }
        self.failed = None;
        (self.held.replace(row), vec![])
    }

    /// A row rejected as read (`problems`, its `cells`, and `key`: its external id cell):
    /// when it belongs to the order being gathered, that order is rejected whole.
    pub fn rejected(&mut self, problems: &[Problem], key: Option<&str>) -> Vec<Dropped> {
        let line = problems.first().map(|p| p.line).unwrap_or(0);
        let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else { return vec![] };
        let key = Value::from(key);
        self.failed = Some((key.clone(), line));
        match self.held.take() {
            Some(held) if held.data.get("external_id") == Some(&key) => {
                let why = format!("not imported: line {line} of this order was rejected");
                std::iter::once((held.line, held.cells))
                    .chain(held.more)
                    .map(|(line, cells)| Dropped { line, cells, why: why.clone() })
                    .collect()
            }
            other => {
                self.held = other;
                vec![]
            }
        }
    }

    /// The record held at the end of the file.
    pub fn finish(&mut self) -> Option<Row> {
        self.held.take()
    }
}

/// Where a problem of a gathered order's line (`lines.2.quantity`) came from: the line of the
/// file that held it, and its field as the columns name it (`line.quantity`).
pub(super) fn locate(field: &str, row: &Row) -> Option<(u64, String)> {
    let rest = field.strip_prefix("lines.")?;
    let (index, f) = rest.split_once('.').unwrap_or((rest, ""));
    let index: usize = index.parse().ok()?;
    let line = if index == 0 { row.line } else { row.more.get(index - 1)?.0 };
    Some((line, if f.is_empty() { "lines".into() } else { format!("line.{f}") }))
}

/// Whether a record type's rows may be its lines.
pub(super) fn has_lines(spec: &rapport_domain::record::RecordSpec) -> bool {
    spec.fields.iter().any(|f| f.name == "lines")
}
