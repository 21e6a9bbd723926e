//! `POST /api/v1/imports` (issue 13 §2): upload a CSV or JSON lines file; it is spooled to a
//! temporary file (never held in memory) and imported by a background job whose progress,
//! problems (line and column) and rejected rows `GET /api/v1/imports/{id}…` report. Column
//! mappings are saved by name per record type (`/api/v1/import_mappings`) and reused.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use rapport_domain::permissions::Actor;
use rapport_store::data::imports::{ImportCounts, ImportJob, ImportMapping, StoredProblem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::data::import::{ImportMode, KINDS, Options, Problem, Progress, Sink, import};
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, Path, Query};

/// The largest file an import takes (bytes).
pub const MAX_UPLOAD: u64 = 4 * 1024 * 1024 * 1024;

/// How to import the uploaded file.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// customers, companies, products, activities, opportunities, orders or tickets.
    #[param(pattern = "^(customers|people|companies|products|activities|opportunities|orders|tickets)$")]
    kind: String,
    /// `all_or_nothing` (default: every row is checked first, nothing is written if one fails)
    /// or `best_effort` (the good rows are written; the rejected ones are listed with reasons).
    #[param(inline)]
    mode: Option<ImportMode>,
    /// Check every row and write nothing.
    dry_run: Option<bool>,
    /// The unique field rows upsert by (`external_id`, `email`, `domain`, `sku`).
    upsert_key: Option<String>,
    /// A saved column mapping to apply.
    mapping_id: Option<i64>,
    /// Cleanse each row as `rapport clean` does (default true): whitespace, email domains,
    /// phones to E.164, countries to ISO codes, names in capitals; the job's summary lists the
    /// changes. `false` imports the values as they are.
    clean: Option<bool>,
    /// The file's name, to show.
    file_name: Option<String>,
}

/// An import job (documentation of the store's JSON).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportJobDoc {
    id: i64,
    /// The record type.
    kind: String,
    /// `queued`, `running`, `done` or `failed`.
    status: String,
    /// `all_or_nothing` or `best_effort`.
    mode: String,
    dry_run: bool,
    file_name: Option<String>,
    /// The file's column headers.
    headers: Vec<String>,
    created_by: Option<i64>,
    created_at: String,
    updated_at: String,
    finished_at: Option<String>,
    /// Rows read so far.
    rows: i64,
    created: i64,
    updated: i64,
    rejected: i64,
    /// Bytes read so far, of `total_bytes`: the progress.
    bytes: i64,
    total_bytes: i64,
    /// Why it failed.
    error: Option<String>,
    /// What it did, once done.
    #[schema(value_type = Option<Object>)]
    summary: Option<serde_json::Value>,
}

/// One problem of an import (documentation of the store's JSON).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportProblemDoc {
    /// Cursor: pass as `after` for the next page.
    id: i64,
    /// The line of the file (the header is line 1).
    line: i64,
    /// The column's header.
    column: Option<String>,
    /// The field it maps to.
    field: Option<String>,
    message: String,
}

/// A page of problems.
#[derive(Serialize, ToSchema)]
pub struct ProblemPage {
    /// In line order.
    #[schema(value_type = Vec<ImportProblemDoc>)]
    data: Vec<StoredProblem>,
    /// Pass as `after` for the next page; null on the last.
    next_after: Option<i64>,
}

/// Paging of problems.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AfterQuery {
    /// The `id` of the last problem seen.
    after: Option<i64>,
    /// 1 to 1,000 (default 500).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// A mapping to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingInput {
    /// The record type.
    kind: String,
    /// Its name (saving a name again replaces it).
    name: String,
    /// Column header → field path (`email`, `address.city`, `custom.vip`); an empty path ignores the column.
    mapping: BTreeMap<String, String>,
}

/// A saved mapping (documentation of the store's JSON).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportMappingDoc {
    id: i64,
    kind: String,
    name: String,
    mapping: BTreeMap<String, String>,
    updated_at: String,
}

/// Which mappings.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MappingQuery {
    /// Only this record type's.
    kind: Option<String>,
}

/// Writes a running import's results to its job, a chunk at a time, and renews the job's lease.
struct JobSink {
    state: AppState,
    id: i64,
    lease: JobLease,
    headers: Option<Vec<String>>,
    problems: Vec<(u64, Option<String>, Option<String>, String)>,
    rejects: Vec<(u64, Vec<String>, String)>,
}

/// The lease of one run of an import job (`import {id}` in the lease table). Each run has a
/// holder name of its own, so the process that runs a job does not take it up a second time.
struct JobLease {
    name: String,
    holder: String,
    ttl: chrono::Duration,
}

impl JobLease {
    fn new(state: &AppState, id: i64) -> JobLease {
        let secs = state.config.import_lease_secs.max(1);
        JobLease { name: format!("import {id}"), holder: crate::jobs::holder_name(), ttl: chrono::Duration::seconds(secs) }
    }

    /// Takes or renews it; false when another run holds it.
    async fn hold(&self, state: &AppState) -> bool {
        match state.store.acquire_lease(&self.name, &self.holder, self.ttl, chrono::Utc::now()).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, lease = self.name, "cannot renew an import's lease");
                false
            }
        }
    }
}

impl Sink for JobSink {
    async fn progress(&mut self, p: &Progress) {
        if !self.lease.hold(&self.state).await {
            // Another server took the job up after this one stalled past its lease: the chunks'
            // checkpoints keep the two runs from writing a chunk twice.
            tracing::warn!(import = self.id, "an import's lease was taken by another run");
        }
        let counts = ImportCounts {
            rows: p.rows,
            created: p.created,
            updated: p.updated,
            rejected: p.rejected,
            bytes: p.bytes,
            total_bytes: p.total_bytes,
        };
        let headers = self.headers.take();
        let r = self.state.store.import_progress(self.id, "running", counts, headers.as_deref(), &self.problems, &self.rejects).await;
        if let Err(e) = r {
            tracing::error!(error = %e, import = self.id, "cannot save an import's progress");
        }
        self.problems.clear();
        self.rejects.clear();
    }
    async fn problem(&mut self, p: &Problem) {
        self.problems.push((p.line, p.column.clone(), p.field.clone(), p.message.clone()));
    }
    async fn rejected(&mut self, line: u64, cells: &[String], reasons: &str) {
        self.rejects.push((line, cells.to_vec(), reasons.to_string()));
    }
    async fn header(&mut self, headers: &[String]) {
        self.headers = Some(headers.to_vec());
    }
}

/// A temporary file for an upload, removed when dropped.
pub struct Spool(pub PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Copies a request body into a temporary file, chunk by chunk; its size.
pub async fn spool(body: axum::body::Body) -> Result<(Spool, u64), ApiError> {
    let path = std::env::temp_dir().join(format!("rapport-import-{:016x}", rand::random::<u64>()));
    let spool = Spool(path);
    use std::io::Write;
    let mut f = std::fs::File::create(&spool.0).map_err(|e| ApiError::Internal(format!("cannot spool an upload: {e}")))?;
    let mut body = body;
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_field("body", format!("the upload broke off: {e}")))?;
        if let Ok(data) = frame.into_data() {
            n += data.len() as u64;
            if n > MAX_UPLOAD {
                return Err(ApiError::TooLarge(MAX_UPLOAD as usize));
            }
            f.write_all(&data).map_err(|e| ApiError::Internal(format!("cannot spool an upload: {e}")))?;
        }
    }
    f.flush().map_err(|e| ApiError::Internal(format!("cannot spool an upload: {e}")))?;
    Ok((spool, n))
}

/// Starts the background job that imports `file` as import `id`, holding `lease`.
fn spawn_job(state: AppState, actor: Actor, id: i64, kind: String, file: Spool, opts: Options, lease: JobLease) {
    tokio::spawn(async move {
        let opts = Options { checkpoint: Some(id), ..opts };
        let mut sink = JobSink { state: state.clone(), id, lease, headers: None, problems: vec![], rejects: vec![] };
        let result = import(&state, &actor, &kind, &file.0, &opts, &mut sink).await;
        // What the last chunk left unsaved.
        if !sink.problems.is_empty() || !sink.rejects.is_empty() || sink.headers.is_some() {
            let job = state.store.get_import(&Actor::system(), id).await.ok();
            let counts = job
                .map(|j| ImportCounts {
                    rows: j.rows as u64,
                    created: j.created as u64,
                    updated: j.updated as u64,
                    rejected: j.rejected as u64,
                    bytes: j.bytes as u64,
                    total_bytes: j.total_bytes as u64,
                })
                .unwrap_or_default();
            let headers = sink.headers.take();
            let _ = state.store.import_progress(id, "running", counts, headers.as_deref(), &sink.problems, &sink.rejects).await;
        }
        let done = match result {
            Ok(summary) => state.store.finish_import(id, "done", None, serde_json::to_value(&summary).ok()).await,
            Err(e) => state.store.finish_import(id, "failed", Some(e.to_string()), None).await,
        };
        if let Err(e) = done {
            tracing::error!(error = %e, import = id, "cannot end an import");
        }
        let _ = state.store.release_lease(&sink.lease.name, &sink.lease.holder).await;
        drop(file);
    });
}

/// Takes up the import jobs whose server stopped (their lease ran out) and runs them again
/// from their stored options and uploaded file: the chunks they wrote are replayed from their
/// checkpoints, the rest written. A job whose file is gone, or whose user was deactivated,
/// fails with why. Returns how many it took up.
pub async fn resume_unfinished(state: &AppState) -> rapport_store::Result<usize> {
    let mut taken = 0;
    for job in state.store.unfinished_imports().await? {
        let lease = JobLease::new(state, job.id);
        if !lease.hold(state).await {
            continue;
        }
        let path = PathBuf::from(&job.spool_path);
        let actor = match job.created_by {
            Some(user) => state.store.user_actor(user).await?,
            None => Some(Actor::system()),
        };
        let gone = |what: String| format!("the server running it stopped and {what}");
        let run = match (actor, serde_json::from_value::<Options>(job.options)) {
            _ if !path.exists() => Err(gone(format!("its uploaded file {} is gone: upload the file again", path.display()))),
            (None, _) => Err(gone("the user who started it is no longer active".into())),
            (_, Err(e)) => Err(gone(format!("its options cannot be read: {e}"))),
            (Some(actor), Ok(opts)) => Ok((actor, opts)),
        };
        let (actor, opts) = match run {
            Ok(run) => run,
            Err(why) => {
                state.store.finish_import(job.id, "failed", Some(why), None).await?;
                let _ = state.store.release_lease(&lease.name, &lease.holder).await;
                continue;
            }
        };
        tracing::info!(import = job.id, kind = job.kind, "taking up an import whose server stopped");
        state.store.restart_import(job.id).await?;
        spawn_job(state.clone(), actor, job.id, job.kind, Spool(path), opts, lease);
        taken += 1;
    }
    Ok(taken)
}

/// The options of an import from its query.
async fn options(state: &AppState, actor: &Actor, q: &ImportQuery) -> Result<Options, ApiError> {
    let mapping = match q.mapping_id {
        Some(id) => {
            let m = state.store.import_mapping(actor, id).await.map_err(|e| match e {
                rapport_store::Error::NotFound => {
                    ApiError::Invalid(rapport_domain::ValidationErrors::single("mapping_id", format!("there is no saved mapping {id}")))
                }
                other => other.into(),
            })?;
            m.mapping
        }
        None => BTreeMap::new(),
    };
    Ok(Options {
        mode: q.mode.unwrap_or_default(),
        dry_run: q.dry_run.unwrap_or(false),
        mapping,
        upsert_key: q.upsert_key.clone(),
        no_clean: q.clean == Some(false),
        checkpoint: None,
    })
}

/// The kind as the store names it.
fn kind_of(raw: &str) -> Result<&'static str, ApiError> {
    let k = if raw == "people" { "customers" } else { raw };
    KINDS
        .iter()
        .copied()
        .find(|x| *x == k)
        .ok_or_else(|| ApiError::Invalid(rapport_domain::ValidationErrors::single("kind", format!("import one of {}", KINDS.join(", ")))))
}

/// Starts an import job of a file spooled already; the job's id.
pub async fn start(state: &AppState, actor: &Actor, q: &ImportQuery, file: Spool, size: u64) -> Result<i64, ApiError> {
    let kind = kind_of(&q.kind)?;
    let opts = options(state, actor, q).await?;
    let mode = match opts.mode {
        ImportMode::AllOrNothing => "all_or_nothing",
        ImportMode::BestEffort => "best_effort",
    };
    let stored = serde_json::to_value(&opts).unwrap_or_default();
    let spool_path = file.0.display().to_string();
    let id = state.store.create_import(actor, kind, mode, opts.dry_run, q.file_name.clone(), size, &stored, &spool_path).await?;
    let lease = JobLease::new(state, id);
    lease.hold(state).await;
    spawn_job(state.clone(), actor.clone(), id, kind.to_string(), file, opts, lease);
    Ok(id)
}

/// Upload a file to import: CSV (`,` `;` or tab, detected; UTF-8 with or without BOM) or JSON
/// lines, as the raw body. Answers 202 with the job at once; follow it at `Location`. Rows
/// upsert by `external_id` (people also by email, companies by domain, products by SKU), so
/// importing the same file twice creates nothing twice.
#[utoipa::path(post, path = "/api/v1/imports", tag = "data", operation_id = "create_import", security(("bearer" = [])), params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file, CSV or JSON lines, as its bytes (the body is read whatever its content type)"),
    responses((status = 202, body = ImportJobDoc, description = "The job, queued", headers(("Location" = String, description = "The job's URL")))))]
pub(super) async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ImportQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    kind_of(&q.kind)?;
    let (file, size) = spool(req.into_body()).await?;
    let id = start(&state, &user.actor, &q, file, size).await?;
    let job = state.store.get_import(&user.actor, id).await?;
    let mut res = (StatusCode::ACCEPTED, Json(job)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/imports/{id}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// An import job: its status and progress (`bytes` of `total_bytes`, rows, created, updated,
/// rejected) and, once done, its summary.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "data", operation_id = "get_import", security(("bearer" = [])),
    responses((status = 200, body = ImportJobDoc)))]
pub(super) async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<ImportJob>, ApiError> {
    Ok(Json(state.store.get_import(&user.actor, id).await?))
}

/// Every problem an import found, in line order, with line number, column and field.
#[utoipa::path(get, path = "/api/v1/imports/{id}/problems", tag = "data", operation_id = "list_import_problems", security(("bearer" = [])),
    params(AfterQuery), responses((status = 200, body = ProblemPage)))]
pub(super) async fn problems(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<AfterQuery>,
) -> Result<Json<ProblemPage>, ApiError> {
    let limit = q.limit.unwrap_or(500);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_field("limit", "must be 1 to 1000"));
    }
    let data = state.store.import_problems(&user.actor, id, q.after.unwrap_or(0), limit).await?;
    let next_after = if data.len() as i64 == limit { data.last().map(|p| p.id) } else { None };
    Ok(Json(ProblemPage { data, next_after }))
}

/// The rows a best-effort import rejected, as CSV: the file's columns, then `line` and `problems`.
#[utoipa::path(get, path = "/api/v1/imports/{id}/rejected", tag = "data", operation_id = "download_import_rejects", security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String, description = "The rejected rows with their reasons")))]
pub(super) async fn rejected(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let body = rejected_csv(&state, &user.actor, id).await?;
    let mut res = body.into_response();
    let h: &mut HeaderMap = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"import-{id}-rejected.csv\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The rejected rows of import `id` as CSV (the UI's download too).
pub async fn rejected_csv(state: &AppState, actor: &Actor, id: i64) -> Result<Vec<u8>, ApiError> {
    let job = state.store.get_import(actor, id).await?;
    let mut w = csv::Writer::from_writer(vec![]);
    let mut head = job.headers.clone();
    if head.is_empty() {
        head.push("row".into());
    }
    head.extend(["line".to_string(), "problems".to_string()]);
    let width = head.len();
    let _ = w.write_record(&head);
    let mut after = 0;
    loop {
        let page = state.store.import_rejects(actor, id, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.0;
        for (_, line, cells, reasons) in &page {
            let mut row: Vec<String> = cells.iter().map(|c| crate::data::export::neutralize(c).into_owned()).collect();
            row.resize(width - 2, String::new());
            row.push(line.to_string());
            row.push(reasons.clone());
            let _ = w.write_record(&row);
        }
    }
    Ok(w.into_inner().unwrap_or_default())
}

/// Save a column mapping by name for a record type (saving a name again replaces it).
#[utoipa::path(post, path = "/api/v1/import_mappings", tag = "data", operation_id = "save_import_mapping", security(("bearer" = [])),
    request_body = MappingInput, responses((status = 200, body = ImportMappingDoc)))]
pub(super) async fn save_mapping(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(m): AppJson<MappingInput>,
) -> Result<Json<ImportMapping>, ApiError> {
    let kind = kind_of(&m.kind)?;
    Ok(Json(state.store.save_import_mapping(&user.actor, kind, &m.name, &m.mapping).await?))
}

/// The saved column mappings, by record type and name.
#[utoipa::path(get, path = "/api/v1/import_mappings", tag = "data", operation_id = "list_import_mappings", security(("bearer" = [])),
    params(MappingQuery), responses((status = 200, body = Vec<ImportMappingDoc>)))]
pub(super) async fn list_mappings(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<MappingQuery>,
) -> Result<Json<Vec<ImportMapping>>, ApiError> {
    // A query value that names no kind is a bad request, as every query error is.
    let kind = q.kind.as_deref().map(kind_of).transpose().map_err(|e| match e {
        ApiError::Invalid(v) => crate::api::bad_query(v),
        other => other,
    })?;
    Ok(Json(state.store.import_mappings(&user.actor, kind).await?))
}
