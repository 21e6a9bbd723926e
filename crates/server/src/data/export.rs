//! The formats of an export (issue 13 §3), shared by `GET /api/v1/exports/{kind}` and
//! `rapport export`: CSV with one column per field (cells that a spreadsheet would run as a
//! formula neutralized), or JSON lines with each record as the API shows it.

use rapport_domain::record::get_path;
use serde_json::{Map, Value};

/// CSV or JSON lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated, a header row of field paths, UTF-8.
    #[default]
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The media type of the body.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// Makes a text cell safe to open in a spreadsheet: one that starts with `=`, `+`, `-`, `@`, a
/// tab or a carriage return would be read as a formula (`=cmd|' /C calc'!A0`), so it gets a
/// leading `'`, which spreadsheets show as text (OWASP's CSV injection advice).
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// A record's value at a column as CSV text: lists of plain values joined with `;` (as the
/// importer splits them), structures as JSON, text neutralized.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => neutralize(s).into_owned(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let parts: Vec<String> = items.iter().map(|i| i.as_str().map(String::from).unwrap_or_else(|| i.to_string())).collect();
            neutralize(&parts.join(";")).into_owned()
        }
        Value::Array(_) | Value::Object(_) => neutralize(&v.to_string()).into_owned(),
        other => other.to_string(),
    }
}

/// Writes the records of one export, chunk by chunk.
pub struct Writer {
    format: Format,
    columns: Vec<String>,
}

impl Writer {
    /// A writer of `columns` (JSON paths) in `format`.
    pub fn new(format: Format, columns: Vec<String>) -> Writer {
        Writer { format, columns }
    }

    /// What comes before the first record: the CSV header.
    pub fn head(&self) -> Vec<u8> {
        match self.format {
            Format::Csv => self.csv_row(self.columns.iter().map(String::as_str)),
            Format::Jsonl => vec![],
        }
    }

    fn csv_row<'a>(&self, cells: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new().from_writer(vec![]);
        let _ = w.write_record(cells);
        w.into_inner().unwrap_or_default()
    }

    /// The records of one page.
    pub fn rows(&self, records: &[Value]) -> Vec<u8> {
        let mut out = vec![];
        for r in records {
            match self.format {
                Format::Jsonl => {
                    out.extend(serde_json::to_vec(r).unwrap_or_default());
                    out.push(b'\n');
                }
                Format::Csv => {
                    let empty = Map::new();
                    let m = r.as_object().unwrap_or(&empty);
                    let cells: Vec<String> = self.columns.iter().map(|c| cell(get_path(m, c))).collect();
                    out.extend(self.csv_row(cells.iter().map(String::as_str)));
                }
            }
        }
        out
    }
}

/// Starts an export of `spec` by `actor`: refused without `read` and `export` on the type,
/// audited, and the writer of its columns.
pub async fn start(
    store: &rapport_store::Store,
    actor: &rapport_domain::permissions::Actor,
    spec: &'static rapport_domain::record::RecordSpec,
    format: Format,
    via: &str,
) -> Result<Writer, rapport_store::Error> {
    let details = serde_json::json!({"kind": spec.plural, "format": format.extension(), "via": via});
    store.audit_export(actor, spec.object, spec.name, details).await?;
    Ok(Writer::new(format, store.export_columns(spec).await?))
}

/// Writes every record of `spec` that `actor` may see, page by page, into `out` (the CSV
/// header first); returns how many. Stops early, without error, when `out`'s receiver goes.
pub async fn pages(
    store: &rapport_store::Store,
    actor: &rapport_domain::permissions::Actor,
    spec: &'static rapport_domain::record::RecordSpec,
    writer: &Writer,
    out: tokio::sync::mpsc::Sender<Vec<u8>>,
) -> Result<u64, rapport_store::Error> {
    if out.send(writer.head()).await.is_err() {
        return Ok(0);
    }
    let (mut cursor, mut n) = (None, 0u64);
    loop {
        let (records, next) = store.export_page(actor, spec, cursor).await?;
        n += records.len() as u64;
        if out.send(writer.rows(&records)).await.is_err() {
            return Ok(n);
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized_and_lists_joined() {
        let w = Writer::new(Format::Csv, vec!["name".into(), "tags".into(), "address.city".into(), "n".into()]);
        let rows = w.rows(&[serde_json::json!({"name": "=cmd|' /C calc'!A0", "tags": ["a", "b"], "address": {"city": "@x"}, "n": -5})]);
        let mut rd = csv::ReaderBuilder::new().has_headers(false).from_reader(&rows[..]);
        let cells: Vec<String> = rd.records().next().unwrap().unwrap().iter().map(String::from).collect();
        assert_eq!(cells, ["'=cmd|' /C calc'!A0", "a;b", "'@x", "-5"], "numbers stay numbers");
        for s in ["+1", "-1", "\tx", "\rx"] {
            assert!(neutralize(s).starts_with('\''));
        }
        assert_eq!(neutralize("plain"), "plain");
    }
}
