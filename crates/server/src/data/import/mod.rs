//! The importer (issue 13 §2), shared by `rapport import` and `POST /api/v1/imports`: reads
//! CSV or JSON lines as a stream (one chunk of rows in memory at a time), maps columns to
//! fields by header, and writes chunks through the batch path, so every row is validated,
//! authorized and audited as the API would, and upserts (by `external_id`, email, domain or
//! SKU) make a second run of the same file create nothing.
//!
//! Modes: `best_effort` writes the good rows and reports (and hands back) the rejected ones
//! with their reasons; `all_or_nothing` first checks every row (a dry run over the whole file)
//! and writes only when none has a problem. A dry run checks every row, database constraints
//! included, and writes nothing.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rapport_domain::custom_field::{CustomField, FieldType};
use rapport_domain::permissions::Actor;
use rapport_domain::record::{Kind, RecordSpec, set_path};
use rapport_store::data::batch::{BatchMode, Done, Idempotency};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api::data::batch::{BatchKind, Operation, item};
use crate::api::data::kinds::{Activities, Companies, Opportunities, Orders, People, Products, Tickets};
use crate::error::ApiError;

mod lines;

/// Rows written per batch.
pub const CHUNK: usize = 5000;
/// The longest cell taken, in bytes.
pub const MAX_CELL: usize = 100_000;

/// What an import does with rows that fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Every row is checked first; nothing is written if any row has a problem.
    #[default]
    AllOrNothing,
    /// The good rows are written; the rejected ones are reported with their reasons.
    BestEffort,
}

/// How to import (stored with an import job, so that another server can take it up).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Options {
    /// The mode.
    pub mode: ImportMode,
    /// Check only, write nothing.
    pub dry_run: bool,
    /// Column header → field path (`address.city`, `custom.vip`); headers not named here are
    /// matched to fields by name or label.
    pub mapping: BTreeMap<String, String>,
    /// The unique field rows are upserted by; by default the first of the type's keys that a
    /// column maps to.
    pub upsert_key: Option<String>,
    /// Import the values as they are: no cleansing (see [`rapport_domain::quality::clean_row`]).
    pub no_clean: bool,
    /// The import job whose chunks leave their outcome under an idempotency key in their own
    /// transaction: a job run again after its server died replays the chunks written already
    /// instead of writing them twice.
    #[serde(skip)]
    pub checkpoint: Option<i64>,
}

/// What became of one row's record, as a chunk's checkpoint stores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Created,
    Updated,
    RolledBack,
    /// Refused: the problem's detail and its field errors (field, message).
    Failed {
        detail: String,
        errors: Vec<(String, String)>,
    },
}

impl From<Done> for Outcome {
    fn from(d: Done) -> Self {
        match d {
            Done::Created(_) => Outcome::Created,
            Done::Updated(..) => Outcome::Updated,
            Done::RolledBack => Outcome::RolledBack,
            Done::Failed(e) => {
                let p = ApiError::from(e).problem();
                Outcome::Failed { errors: p.errors.iter().map(|f| (f.field.clone(), f.message.clone())).collect(), detail: p.detail }
            }
        }
    }
}

/// The most cleansing changes a summary lists (all are counted).
pub const MAX_CHANGES: usize = 1000;

/// One value cleansing changed in an imported row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cleansed {
    /// The line of the file where the row starts.
    pub line: u64,
    /// The field, as the API names it (`email`, `address.country`, `additional_phones[1]`).
    pub field: String,
    /// The value in the file.
    pub before: String,
    /// The value imported.
    pub after: String,
}

/// One problem of one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// The line of the file where the row starts (the header is line 1).
    pub line: u64,
    /// The column's header, when the problem is one cell's.
    pub column: Option<String>,
    /// The field it maps to.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Where an import stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    /// Rows read so far.
    pub rows: u64,
    /// Records created.
    pub created: u64,
    /// Records updated.
    pub updated: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Rows whose values cleansing changed.
    #[serde(default)]
    pub cleansed: u64,
    /// Bytes of the file read.
    pub bytes: u64,
    /// The file's size.
    pub total_bytes: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Summary {
    /// Counts.
    #[serde(flatten)]
    pub progress: Progress,
    /// Whether anything was written (false for a dry run, and for an all-or-nothing import
    /// with problems).
    pub written: bool,
    /// Columns that map to no field (ignored).
    pub ignored_columns: Vec<String>,
    /// The upsert key used, if any.
    pub upsert_key: Option<String>,
    /// What cleansing changed, in line order: the first [`MAX_CHANGES`] changes (a dry run
    /// shows them before anything is written; `cleansed` counts every row changed).
    #[serde(default)]
    pub changes: Vec<Cleansed>,
}

/// Why an import could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not UTF-8, or not readable as CSV or JSON lines.
    #[error("{0}")]
    File(String),
    /// The store refused (permission) or failed.
    #[error(transparent)]
    Store(#[from] ApiError),
}

impl From<rapport_store::Error> for ImportError {
    fn from(e: rapport_store::Error) -> Self {
        ImportError::Store(e.into())
    }
}

/// What receives an import's results as they come.
pub trait Sink: Send {
    /// After each chunk.
    fn progress(&mut self, p: &Progress) -> impl Future<Output = ()> + Send;
    /// Every problem, in line order.
    fn problem(&mut self, p: &Problem) -> impl Future<Output = ()> + Send;
    /// A row that was not written (best effort), as read, with its reasons.
    fn rejected(&mut self, line: u64, cells: &[String], reasons: &str) -> impl Future<Output = ()> + Send;
    /// The header of the file, before any row (for a file of rejected rows).
    fn header(&mut self, headers: &[String]) -> impl Future<Output = ()> + Send;
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// The delimiter of a CSV whose first line is `head`: the most frequent of `,` `;` and tab
/// outside quotes (`,` on a tie or when none).
pub fn detect_delimiter(head: &[u8]) -> u8 {
    let line = head.split(|b| *b == b'\n').next().unwrap_or(head);
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|i| (counts[*i], std::cmp::Reverse(*i))).unwrap_or(0);
    [b',', b';', b'\t'][if counts[best] == 0 { 0 } else { best }]
}

/// Drops a UTF-8 byte order mark; refuses UTF-16 and UTF-32 marks, naming the encoding.
fn skip_bom<R: BufRead>(r: &mut R) -> Result<(), ImportError> {
    let head = r.fill_buf().map_err(|e| ImportError::File(format!("cannot read the file: {e}")))?;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        r.consume(3);
    } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(ImportError::File(
            "the file is UTF-16 (it starts with a UTF-16 byte order mark at byte 0): save it as UTF-8 (\"CSV UTF-8\") and import it again"
                .into(),
        ));
    }
    Ok(())
}

/// Checks a cell is UTF-8, naming where it is not.
fn utf8(bytes: &[u8], line: u64, column: &str, offset: u64) -> Result<String, Problem> {
    std::str::from_utf8(bytes).map(String::from).map_err(|e| Problem {
        line,
        column: Some(column.to_string()),
        field: None,
        message: format!(
            "is not valid UTF-8: byte {} of the cell (about byte {} of the file) is 0x{:02X}; save the file as UTF-8",
            e.valid_up_to() + 1,
            offset + e.valid_up_to() as u64,
            bytes.get(e.valid_up_to()).copied().unwrap_or(0)
        ),
    })
}

/// Every field a column of a `spec` file can be mapped to, as the import page offers them: the
/// record's own, an order line's (`line.sku`…), then the custom fields.
pub fn mapping_choices(spec: &RecordSpec, defs: &[CustomField]) -> Vec<String> {
    let mut fields: Vec<String> = spec.writable().filter(|f| f.kind != Kind::Custom).map(|f| f.name.to_string()).collect();
    if lines::has_lines(spec) {
        fields.extend(lines::fields());
    }
    fields.extend(defs.iter().map(|d| format!("custom.{}", d.key)));
    fields
}

/// The field the importer fills from a column named `header` when no mapping names it.
pub fn guess_field(header: &str, spec: &RecordSpec, defs: &[CustomField]) -> Option<String> {
    field_for(header, spec, defs, &BTreeMap::new())
}

/// The field a column header names: the mapping's, else a field whose name, column or label
/// matches (case, spaces and `-` ignored), else `custom.<key>` of a defined custom field.
fn field_for(header: &str, spec: &RecordSpec, defs: &[CustomField], mapping: &BTreeMap<String, String>) -> Option<String> {
    if let Some(f) = mapping.get(header) {
        return Some(f.clone()).filter(|f| !f.is_empty());
    }
    let norm = |s: &str| s.trim().to_lowercase().replace([' ', '-'], "_");
    let h = norm(header);
    if let Some(f) = spec.writable().find(|f| f.kind != Kind::Custom && (norm(f.name) == h || f.column() == h || norm(f.label) == h)) {
        return Some(f.name.to_string());
    }
    if lines::has_lines(spec)
        && let Some(f) = lines::field(&h)
    {
        return Some(f);
    }
    let key = h.strip_prefix("custom.").unwrap_or(&h);
    defs.iter().find(|d| d.key == key || norm(&d.label) == h).map(|d| format!("custom.{}", d.key))
}

/// A CSV cell as the JSON its field takes.
fn convert(raw: &str, field: &str, spec: &RecordSpec, defs: &[CustomField]) -> Result<Value, String> {
    // What our exports neutralized comes back as it was.
    let raw = match raw.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => raw,
    };
    if let Some(v) = lines::convert(field, raw) {
        return v;
    }
    let list = || Value::Array(raw.split([';', '|']).map(str::trim).filter(|s| !s.is_empty()).map(|s| json!(s)).collect());
    if let Some(key) = field.strip_prefix("custom.") {
        let t = defs.iter().find(|d| d.key == key).map(|d| d.field_type);
        return Ok(match t {
            Some(FieldType::Number) => json!(raw.trim().parse::<f64>().map_err(|_| format!("'{raw}' is not a number"))?),
            Some(FieldType::Boolean) => json!(boolean(raw)?),
            _ => json!(raw),
        });
    }
    let kind = spec.fields.iter().find(|f| f.name == field).map(|f| f.kind).unwrap_or(Kind::Text);
    Ok(match kind {
        Kind::Int | Kind::Ref(_) | Kind::Money => json!(raw.trim().parse::<i64>().map_err(|_| format!("'{raw}' is not a whole number"))?),
        Kind::Number => json!(raw.trim().parse::<f64>().map_err(|_| format!("'{raw}' is not a number"))?),
        Kind::Bool => json!(boolean(raw)?),
        Kind::Tags | Kind::Emails | Kind::Phones => list(),
        Kind::Json => serde_json::from_str(raw).map_err(|e| format!("is not JSON: {e}"))?,
        _ => json!(raw),
    })
}

fn boolean(raw: &str) -> Result<bool, String> {
    match raw.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(true),
        "false" | "no" | "n" | "0" => Ok(false),
        _ => Err(format!("'{raw}' is not true or false")),
    }
}

/// One row read: where it starts, its data, and its cells as read (for the rejected file).
struct Row {
    line: u64,
    data: Map<String, Value>,
    cells: Vec<String>,
    /// The later rows of a record spread over several (an order's lines), as read.
    more: Vec<(u64, Vec<String>)>,
}

/// A row refused whole: its problems, and its cells as read.
type Refused = (Vec<Problem>, Vec<String>);

/// The rows of a file, CSV or JSON lines.
enum Rows<R: Read> {
    Csv { reader: csv::Reader<R>, headers: Vec<String>, fields: Vec<Option<String>> },
    Jsonl { reader: R, line: u64, buf: Vec<u8> },
}

impl<R: BufRead> Rows<R> {
    /// The next row, a problem that rejects it whole, or the end.
    fn next(&mut self, spec: &RecordSpec, defs: &[CustomField], mapping: &BTreeMap<String, String>) -> Option<Result<Row, Refused>> {
        match self {
            Rows::Csv { reader, headers, fields } => {
                let mut rec = csv::ByteRecord::new();
                match reader.read_byte_record(&mut rec) {
                    Ok(false) => None,
                    Err(e) => {
                        let line = e.position().map(|p| p.line()).unwrap_or(0);
                        Some(Err((
                            vec![Problem { line, column: None, field: None, message: format!("cannot be read as CSV: {e}") }],
                            vec![],
                        )))
                    }
                    Ok(true) => {
                        let pos = rec.position().cloned().unwrap_or_else(csv::Position::new);
                        let line = pos.line();
                        let mut problems = vec![];
                        if rec.len() != headers.len() {
                            problems.push(Problem {
                                line,
                                column: None,
                                field: None,
                                message: format!("has {} cells where the header has {}", rec.len(), headers.len()),
                            });
                        }
                        let mut cells = Vec::with_capacity(rec.len());
                        let mut data = Map::new();
                        for (i, bytes) in rec.iter().enumerate() {
                            let column = headers.get(i).map(String::as_str).unwrap_or("");
                            if bytes.len() > MAX_CELL {
                                problems.push(Problem {
                                    line,
                                    column: Some(column.into()),
                                    field: None,
                                    message: format!("is {} bytes long; a cell takes at most {MAX_CELL}", bytes.len()),
                                });
                                cells.push(String::new());
                                continue;
                            }
                            let text = match utf8(bytes, line, column, pos.byte()) {
                                Ok(t) => t,
                                Err(p) => {
                                    problems.push(p);
                                    cells.push(String::from_utf8_lossy(bytes).into_owned());
                                    continue;
                                }
                            };
                            if let Some(Some(field)) = fields.get(i)
                                && !text.trim().is_empty()
                            {
                                match convert(&text, field, spec, defs) {
                                    Ok(v) => set_path(&mut data, field, v),
                                    Err(m) => {
                                        problems.push(Problem { line, column: Some(column.into()), field: Some(field.clone()), message: m })
                                    }
                                }
                            }
                            cells.push(text);
                        }
                        Some(if problems.is_empty() { Ok(Row { line, data, cells, more: vec![] }) } else { Err((problems, cells)) })
                    }
                }
            }
            Rows::Jsonl { reader, line, buf } => loop {
                buf.clear();
                *line += 1;
                match reader.read_until(b'\n', buf) {
                    Ok(0) => return None,
                    Err(e) => {
                        let message = format!("cannot be read: {e}");
                        return Some(Err((vec![Problem { line: *line, column: None, field: None, message }], vec![])));
                    }
                    Ok(_) => {}
                }
                let l = *line;
                let text = match std::str::from_utf8(buf) {
                    Ok(t) => t.trim().to_string(),
                    Err(e) => {
                        let message = format!("is not valid UTF-8 at byte {} of the line: save the file as UTF-8", e.valid_up_to() + 1);
                        return Some(Err((vec![Problem { line: l, column: None, field: None, message }], vec![])));
                    }
                };
                if text.is_empty() {
                    continue;
                }
                return Some(match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(m)) => {
                        let mut data = Map::new();
                        for (k, v) in m {
                            // Keys that name no field stay, so that the type's input refuses them by name.
                            let f = field_for(&k, spec, defs, mapping).unwrap_or(k);
                            set_path(&mut data, &f, v);
                        }
                        Ok(Row { line: l, data, cells: vec![text], more: vec![] })
                    }
                    Ok(_) => {
                        Err((vec![Problem { line: l, column: None, field: None, message: "is not a JSON object".into() }], vec![text]))
                    }
                    Err(e) => Err((vec![Problem { line: l, column: None, field: None, message: format!("is not JSON: {e}") }], vec![text])),
                });
            },
        }
    }
}

/// Imports `file` into the record type `plural` as `actor` (see the module's documentation).
pub async fn import<S: Sink>(
    state: &AppState,
    actor: &Actor,
    plural: &str,
    file: &std::path::Path,
    opts: &Options,
    sink: &mut S,
) -> Result<Summary, ImportError> {
    match plural {
        "customers" | "people" => run::<People, S>(state, actor, file, opts, sink).await,
        "companies" => run::<Companies, S>(state, actor, file, opts, sink).await,
        "products" => run::<Products, S>(state, actor, file, opts, sink).await,
        "activities" => run::<Activities, S>(state, actor, file, opts, sink).await,
        "opportunities" => run::<Opportunities, S>(state, actor, file, opts, sink).await,
        "orders" => run::<Orders, S>(state, actor, file, opts, sink).await,
        "tickets" => run::<Tickets, S>(state, actor, file, opts, sink).await,
        other => Err(ImportError::File(format!("'{other}' cannot be imported: import one of {}", KINDS.join(", ")))),
    }
}

/// The kinds an import takes.
pub const KINDS: &[&str] = &["customers", "companies", "products", "activities", "opportunities", "orders", "tickets"];

struct Opened<R: Read> {
    rows: Rows<R>,
    headers: Vec<String>,
    ignored: Vec<String>,
}

fn open(
    file: &std::path::Path,
    spec: &RecordSpec,
    defs: &[CustomField],
    mapping: &BTreeMap<String, String>,
    read: Arc<AtomicU64>,
) -> Result<Opened<BufReader<Counting<std::fs::File>>>, ImportError> {
    let f = std::fs::File::open(file).map_err(|e| ImportError::File(format!("cannot open {}: {e}", file.display())))?;
    let mut r = BufReader::with_capacity(64 * 1024, Counting { inner: f, n: read });
    skip_bom(&mut r)?;
    let head = r.fill_buf().map_err(|e| ImportError::File(format!("cannot read the file: {e}")))?;
    let jsonl = head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if jsonl {
        return Ok(Opened { rows: Rows::Jsonl { reader: r, line: 0, buf: vec![] }, headers: vec![], ignored: vec![] });
    }
    let delimiter = detect_delimiter(head);
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(r);
    let raw = reader.byte_headers().map_err(|e| ImportError::File(format!("the header line cannot be read as CSV: {e}")))?.clone();
    let mut headers = vec![];
    for (i, h) in raw.iter().enumerate() {
        let h = std::str::from_utf8(h).map_err(|e| {
            ImportError::File(format!(
                "the header is not valid UTF-8 (line 1, column {}, byte {} of its name): save the file as UTF-8",
                i + 1,
                e.valid_up_to() + 1
            ))
        })?;
        headers.push(h.trim().to_string());
    }
    if headers.iter().all(|h| h.is_empty()) {
        return Err(ImportError::File("the file is empty: its first line must name the columns".into()));
    }
    let fields: Vec<Option<String>> = headers.iter().map(|h| field_for(h, spec, defs, mapping)).collect();
    let ignored = headers.iter().zip(&fields).filter(|(_, f)| f.is_none()).map(|(h, _)| h.clone()).collect();
    Ok(Opened { rows: Rows::Csv { reader, headers: headers.clone(), fields }, headers, ignored })
}

/// The header of the column that `field` (an error's field, maybe `address.city` or
/// `additional_emails.1`) came from.
fn column_of(
    field: &str,
    headers: &[String],
    spec: &RecordSpec,
    defs: &[CustomField],
    mapping: &BTreeMap<String, String>,
) -> Option<String> {
    headers
        .iter()
        .filter_map(|h| field_for(h, spec, defs, mapping).map(|f| (h, f)))
        .filter(|(_, f)| field == f || field.starts_with(&format!("{f}.")))
        .max_by_key(|(_, f)| f.len())
        .map(|(h, _)| h.clone())
}

async fn run<K: BatchKind, S: Sink>(
    state: &AppState,
    actor: &Actor,
    file: &std::path::Path,
    opts: &Options,
    sink: &mut S,
) -> Result<Summary, ImportError> {
    let spec = rapport_store::data::export::exportable(K::PLURAL).ok_or_else(|| ImportError::File("unknown kind".into()))?;
    let defs = match spec.custom {
        Some(o) => state.store.list_custom_fields(actor, Some(o)).await?,
        None => vec![],
    };
    let total_bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let probe = open(file, spec, &defs, &opts.mapping, Arc::default())?;
    let mapped: Vec<String> = probe.headers.iter().filter_map(|h| field_for(h, spec, &defs, &opts.mapping)).collect();
    let key: Option<&'static str> = match &opts.upsert_key {
        Some(k) => Some(K::KEYS.iter().copied().find(|x| x == k).ok_or_else(|| {
            ImportError::Store(ApiError::Invalid(rapport_domain::ValidationErrors::single(
                "upsert_key",
                format!("{} are upserted by {}", K::PLURAL, if K::KEYS.is_empty() { "nothing".into() } else { K::KEYS.join(" or ") }),
            )))
        })?),
        // JSON lines name their fields per row: the first key wins.
        None if probe.headers.is_empty() => K::KEYS.first().copied(),
        None => K::KEYS.iter().copied().find(|k| mapped.iter().any(|m| m == k)),
    };
    drop(probe);
    let ctx = Arc::new(K::ctx(state, actor).await?);
    let mut summary = Summary { upsert_key: key.map(String::from), ..Default::default() };
    let passes: &[BatchMode] = match (opts.dry_run, opts.mode) {
        (true, _) => &[BatchMode::DryRun],
        (false, ImportMode::BestEffort) => &[BatchMode::BestEffort],
        (false, ImportMode::AllOrNothing) => &[BatchMode::DryRun, BatchMode::AllOrNothing],
    };
    for (n, mode) in passes.iter().enumerate() {
        let last = n + 1 == passes.len();
        let read = Arc::new(AtomicU64::new(0));
        let Opened { rows, headers, ignored } = open(file, spec, &defs, &opts.mapping, read.clone())?;
        summary.ignored_columns = ignored;
        if last {
            sink.header(&headers).await;
        }
        let mut progress = Progress { total_bytes, ..Default::default() };
        let mut problems = 0u64;
        let mut chunks = read_ahead(Reader {
            // An order's rows are gathered into one record (see `lines`); the column holding its key.
            key_col: lines::has_lines(spec)
                .then(|| headers.iter().position(|h| field_for(h, spec, &defs, &opts.mapping).as_deref() == Some("external_id")))
                .flatten(),
            rows,
            orders: lines::Grouper::default(),
            spec,
            defs: defs.clone(),
            mapping: opts.mapping.clone(),
            clean: (!opts.no_clean).then_some(state.config.phone_region),
            changes_room: if last { MAX_CHANGES } else { 0 },
        });
        let mut chunk_no = 0u64;
        let mut done = false;
        while !done {
            let Some(got) = chunks.recv().await else {
                return Err(ImportError::File("the file's reader stopped before its end".into()));
            };
            done = got.done;
            progress.rows += got.rows;
            progress.rejected += got.rejected;
            progress.cleansed += got.cleansed;
            problems += got.problems;
            summary.changes.extend(got.changes);
            // This chunk's refused rows, handed on in line order once its batch ran.
            let mut refused = got.refused;
            let chunk = got.chunk;
            progress.rows += chunk.iter().map(|r| 1 + r.more.len() as u64).sum::<u64>();
            let items = chunk
                .iter()
                .map(|row| {
                    let op = if key.is_some_and(|k| row.data.get(k).is_some_and(|v| !v.is_null())) { "upsert" } else { "create" };
                    item::<K>(json!({"operation": op, "data": row.data}), Operation::Create, key, actor, &ctx)
                })
                .collect();
            let checkpoint = opts.checkpoint.filter(|_| *mode != BatchMode::DryRun).map(|job| {
                // The same rows read again from the same file.
                let rows = format!("{} records from line {}", chunk.len(), chunk.first().map_or(0, |r| r.line));
                Idempotency::import_chunk(job, n, chunk_no, rows)
            });
            chunk_no += 1;
            let replayed = match &checkpoint {
                Some(c) => state.store.idempotent_response(c).await?,
                None => None,
            };
            let mut outcomes: Option<Vec<Outcome>> = None;
            if let Some((_, body)) = replayed {
                let stored =
                    serde_json::from_str(&body).map_err(|e| ImportError::File(format!("a chunk's checkpoint cannot be read: {e}")))?;
                outcomes = Some(stored);
            } else if !chunk.is_empty() {
                let slot = &mut outcomes;
                K::run(
                    state,
                    actor,
                    items,
                    *mode,
                    checkpoint.as_ref(),
                    true,
                    Box::new(move |d| {
                        let o: Vec<Outcome> = d.into_iter().map(Outcome::from).collect();
                        let body = serde_json::to_string(&o).unwrap_or_default();
                        *slot = Some(o);
                        (200, body)
                    }),
                )
                .await?;
            }
            for (row, d) in chunk.iter().zip(outcomes.unwrap_or_default()) {
                match d {
                    Outcome::Created => progress.created += 1,
                    Outcome::Updated => progress.updated += 1,
                    Outcome::RolledBack => {
                        let why = "not written: another row of this all-or-nothing import failed".to_string();
                        reject(&mut progress, &mut refused, row, vec![], why);
                    }
                    Outcome::Failed { detail, errors } => {
                        let mut ps: Vec<Problem> = errors
                            .iter()
                            .map(|(field, message)| {
                                // An order line's problem names the row and column that line came from.
                                let (line, source) = match lines::locate(field, row) {
                                    Some((line, source)) => (line, source),
                                    None => (row.line, field.clone()),
                                };
                                Problem {
                                    line,
                                    column: column_of(&source, &headers, spec, &defs, &opts.mapping),
                                    field: Some(field.clone()).filter(|f| !f.is_empty()),
                                    message: message.clone(),
                                }
                            })
                            .collect();
                        if ps.is_empty() {
                            ps.push(Problem { line: row.line, column: None, field: None, message: detail });
                        }
                        problems += ps.len() as u64;
                        let why = reasons(&ps);
                        reject(&mut progress, &mut refused, row, ps, why);
                    }
                }
            }
            refused.sort_by_key(|r| r.0);
            for (line, ps, cells, why) in &refused {
                for p in ps {
                    sink.problem(p).await;
                }
                if last {
                    sink.rejected(*line, cells, why).await;
                }
            }
            progress.bytes = read.load(Ordering::Relaxed).min(total_bytes.max(1));
            sink.progress(&progress).await;
        }
        progress.bytes = total_bytes;
        sink.progress(&progress).await;
        summary.progress = progress;
        summary.written = !matches!(mode, BatchMode::DryRun) && (summary.progress.created + summary.progress.updated) > 0;
        if !last && problems > 0 {
            // An all-or-nothing import stops at its check: nothing is written.
            summary.progress.created = 0;
            summary.progress.updated = 0;
            return Ok(summary);
        }
    }
    Ok(summary)
}

/// One chunk of a file as read: its records (at most [`CHUNK`]), the rows refused on reading,
/// and what reading counted.
#[derive(Default)]
struct ReadChunk {
    chunk: Vec<Row>,
    refused: Vec<Refusal>,
    /// Rows read and refused (the chunk's own rows are counted as they are written).
    rows: u64,
    rejected: u64,
    cleansed: u64,
    problems: u64,
    /// What cleansing changed, while there is room (see [`MAX_CHANGES`]).
    changes: Vec<Cleansed>,
    /// The file ends here.
    done: bool,
}

/// Reads a file chunk by chunk: parses, converts and cleanses each row (see [`Rows::next`]) and
/// gathers an order's rows into one record.
struct Reader<R: Read> {
    rows: Rows<R>,
    orders: lines::Grouper,
    key_col: Option<usize>,
    spec: &'static RecordSpec,
    defs: Vec<CustomField>,
    mapping: BTreeMap<String, String>,
    /// The default phone region cleansing reads numbers in; none: no cleansing.
    clean: Option<rapport_domain::values::Region>,
    /// How many more changes cleansing reports.
    changes_room: usize,
}

impl<R: BufRead> Reader<R> {
    fn chunk(&mut self) -> ReadChunk {
        let mut out = ReadChunk { chunk: Vec::with_capacity(CHUNK), ..Default::default() };
        while out.chunk.len() < CHUNK {
            match self.rows.next(self.spec, &self.defs, &self.mapping) {
                None => {
                    out.chunk.extend(self.orders.finish());
                    out.done = true;
                    break;
                }
                Some(Ok(mut row)) => {
                    if let Some(region) = self.clean {
                        let changed = rapport_domain::quality::clean_row(self.spec, &mut row.data, region);
                        if !changed.is_empty() {
                            out.cleansed += 1;
                            let take = changed.len().min(self.changes_room);
                            self.changes_room -= take;
                            out.changes.extend(changed.into_iter().take(take).map(|c| Cleansed {
                                line: row.line,
                                field: c.field,
                                before: c.before,
                                after: c.after,
                            }));
                        }
                    }
                    let (complete, dropped) = self.orders.row(row);
                    out.chunk.extend(complete);
                    out.refuse_dropped(dropped);
                }
                Some(Err((ps, cells))) => {
                    out.rows += 1;
                    out.rejected += 1;
                    out.problems += ps.len() as u64;
                    let dropped = self.orders.rejected(&ps, self.key_col.and_then(|i| cells.get(i)).map(String::as_str));
                    out.refuse_dropped(dropped);
                    let line = ps.first().map(|p| p.line).unwrap_or(0);
                    let reasons = reasons(&ps);
                    out.refused.push((line, ps, cells, reasons));
                }
            }
        }
        out
    }
}

impl ReadChunk {
    /// Rows the grouping of an order's lines drops (see `lines`): read, and refused with their reason.
    fn refuse_dropped(&mut self, dropped: Vec<lines::Dropped>) {
        for d in dropped {
            self.rows += 1;
            self.rejected += 1;
            self.refused.push((d.line, vec![], d.cells, d.why));
        }
    }
}

/// The chunks of `reader`, read on a thread of their own one chunk ahead of the writing: the
/// parsing, converting and cleansing of the next chunk (a third of an import's work, phone
/// numbers above all) overlaps the writing of this one. At most two chunks are in memory, the
/// one being written and the one read next; the reader stops when the receiver is dropped.
fn read_ahead<R: BufRead + Send + 'static>(mut reader: Reader<R>) -> tokio::sync::mpsc::Receiver<ReadChunk> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        // A slot is free only once the previous chunk was taken.
        while let Ok(slot) = handle.block_on(tx.reserve()) {
            let read = reader.chunk();
            let done = read.done;
            slot.send(read);
            if done {
                break;
            }
        }
    });
    rx
}

/// A refused row in the rejected file: its problems and reasons, and every row of the file it
/// was read from (an order's lines) with the same reasons.
type Refusal = (u64, Vec<Problem>, Vec<String>, String);

fn reject(progress: &mut Progress, refused: &mut Vec<Refusal>, row: &Row, ps: Vec<Problem>, why: String) {
    progress.rejected += 1 + row.more.len() as u64;
    for (line, cells) in &row.more {
        refused.push((*line, vec![], cells.clone(), why.clone()));
    }
    refused.push((row.line, ps, row.cells.clone(), why));
}

fn reasons(ps: &[Problem]) -> String {
    ps.iter()
        .map(|p| match (&p.column, &p.field) {
            (Some(c), _) => format!("{c}: {}", p.message),
            (None, Some(f)) => format!("{f}: {}", p.message),
            _ => p.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_detected_outside_quotes() {
        assert_eq!(detect_delimiter(b"name;email;city\nx;y;z"), b';');
        assert_eq!(detect_delimiter(b"name\temail\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"a;b;c\",d\n"), b',');
        assert_eq!(detect_delimiter(b"name\n"), b',');
    }
}
