//! `POST /api/v1/{customers,companies,products,activities,opportunities,orders,tickets}/batch` (issue 13 §1): up to 1,000
//! creates, updates or upserts in one call, one result per record in order, all or nothing or
//! best effort, and an `Idempotency-Key` that makes a retried call change nothing twice.
//!
//! One implementation serves every record type: a [`BatchKind`] says how the type's input is
//! validated (as its own create and update endpoints do) and which unique fields upsert it.

use std::future::Future;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_domain::permissions::Actor;
use rapport_domain::{FieldError, ValidationErrors};
use rapport_store::data::Render;
use rapport_store::data::batch::{BatchItem, BatchMode, BatchOp, Build, Done, Idempotency};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::CurrentUser;

/// The most records one call takes.
pub const MAX_RECORDS: usize = 1000;

/// What a batch does with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Make a new record.
    Create,
    /// Change the record named by `id`.
    Update,
    /// Change the live record whose `upsert_key` field holds the record's value, or make one.
    Upsert,
}

/// Whether one failing record undoes the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One transaction: nothing is written if any record fails (the default).
    #[default]
    AllOrNothing,
    /// Each record in its own savepoint: the good ones are written, the others reported.
    BestEffort,
}

/// A batch call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// What to do with records that do not say (default `create`).
    operation: Option<Operation>,
    /// `all_or_nothing` (default) or `best_effort`.
    mode: Option<Mode>,
    /// The unique field upserts match on: `external_id` (default) or `email` for people,
    /// `external_id` or `domain` for companies, `sku` for products.
    upsert_key: Option<String>,
    /// 1 to 1,000 records.
    #[schema(value_type = Vec<BatchRecord>, min_items = 1, max_items = 1000)]
    records: Vec<Value>,
}

/// One record of a batch call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRecord {
    /// Overrides the call's `operation` for this record.
    operation: Option<Operation>,
    /// The record to change (`update` only).
    id: Option<i64>,
    /// With `update`: the version read, refused (412 in the record's result) if it moved on.
    version: Option<i64>,
    /// The fields, as the type's create and update endpoints take them.
    #[schema(value_type = Object)]
    data: Value,
}

/// What became of one record.
#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    /// The record's position in `records`, from 0.
    index: usize,
    /// Its HTTP status: 201 created, 200 updated, 4xx refused (`error` says why), 424 not
    /// written because another record of an all-or-nothing call failed.
    status: u16,
    /// `created`, `updated`, `failed` or `rolled_back`.
    outcome: String,
    /// The record's id (created or updated).
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    /// Its version now.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    /// Why it was refused: problem+json whose fields are named `records[<index>].<field>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Problem>,
}

/// The answer to a batch call: one result per record, in order.
#[derive(Serialize, ToSchema)]
pub struct BatchResponse {
    /// The mode the call ran in.
    mode: Mode,
    /// Records created.
    created: usize,
    /// Records updated.
    updated: usize,
    /// Records refused.
    failed: usize,
    /// Records not written because another failed (all or nothing).
    rolled_back: usize,
    /// One per record, in order.
    results: Vec<BatchResult>,
}

/// A record type the batch endpoint serves.
pub trait BatchKind: 'static {
    /// The plural (the path).
    const PLURAL: &'static str;
    /// The unique fields upserts may match on, the default first.
    const KEYS: &'static [&'static str];
    /// What clients send.
    type Input: DeserializeOwned + Clone + Send + Sync + 'static;
    /// What the domain validated.
    type Data: Send + Sync + 'static;
    /// What validation needs (custom field definitions, the phone region…).
    type Ctx: Send + Sync + 'static;

    /// Reads what validation needs.
    fn ctx(state: &AppState, actor: &Actor) -> impl Future<Output = Result<Self::Ctx, ApiError>> + Send;
    /// Defaults a new record's input as the create endpoint does (the owner is the creator).
    fn creating(input: &mut Self::Input, actor: &Actor);
    /// Validates `input` onto `current` (or a new record).
    fn apply(input: Self::Input, current: Option<&Self::Data>, ctx: &Self::Ctx) -> Result<Self::Data, rapport_store::Error>;
    /// Rewrites a record's fields before they are read as the type's input: what a file from
    /// another system names differently (an order line's product by its SKU).
    fn prepare(data: &mut Value, ctx: &Self::Ctx) -> Result<(), ValidationErrors> {
        let _ = (data, ctx);
        Ok(())
    }
    /// An upsert key's value as the field stores it (emails lower-cased, SKUs upper-cased).
    fn key_value(field: &str, raw: &str) -> Result<String, String> {
        let _ = field;
        let v = raw.trim();
        if v.is_empty() { Err("cannot be empty".into()) } else { Ok(v.to_string()) }
    }
    /// Runs the batch in the store; `bulk` (an import's chunk) writes new records in multi-row
    /// inserts with one audit row for them all.
    fn run<'a>(
        state: &'a AppState,
        actor: &'a Actor,
        items: Vec<BatchItem<Self::Data>>,
        mode: BatchMode,
        idem: Option<&'a Idempotency>,
        bulk: bool,
        render: Render<'a>,
    ) -> impl Future<Output = rapport_store::Result<(u16, String)>> + Send + 'a;
}

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let s = v.to_str().map_err(|_| ApiError::bad_field("Idempotency-Key", "must be visible ASCII"))?.trim();
    if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_field("Idempotency-Key", "must be 1 to 255 visible ASCII characters (a UUID is usual)"));
    }
    Ok(Some(s.to_string()))
}

/// Prefixes a problem's fields with the record they belong to.
fn record_problem(index: usize, e: rapport_store::Error) -> Problem {
    let mut p = ApiError::from(e).problem();
    for f in &mut p.errors {
        f.field = format!("records[{index}].{}", f.field);
    }
    p
}

/// A record whose input is refused before anything is read.
fn refused<D: 'static>(e: ValidationErrors) -> BatchItem<D> {
    BatchItem { op: BatchOp::Create, build: Box::new(move |_| Err(rapport_store::Error::Invalid(e.clone()))) }
}

fn invalid(field: String, message: impl Into<String>) -> ValidationErrors {
    ValidationErrors(vec![FieldError { field, message: message.into() }])
}

/// One record's item: its operation, and its data built from its input (owner defaults on create).
pub(crate) fn item<K: BatchKind>(
    raw: Value,
    default_op: Operation,
    key: Option<&'static str>,
    actor: &Actor,
    ctx: &std::sync::Arc<K::Ctx>,
) -> BatchItem<K::Data> {
    let rec: BatchRecord = match serde_path_to_error::deserialize(raw) {
        Ok(r) => r,
        Err(e) => {
            let path = e.path().to_string();
            let field = if path == "." { String::new() } else { path };
            return refused(invalid(field, e.into_inner().to_string()));
        }
    };
    let op = rec.operation.unwrap_or(default_op);
    let mut data = rec.data.clone();
    if let Err(e) = K::prepare(&mut data, ctx) {
        return refused(e);
    }
    let input: K::Input = match serde_path_to_error::deserialize(data) {
        Ok(i) => i,
        Err(e) => {
            let path = e.path().to_string();
            let field = if path == "." { "data".to_string() } else { path };
            return refused(invalid(field, e.into_inner().to_string()));
        }
    };
    let op = match op {
        Operation::Create => BatchOp::Create,
        Operation::Update => match rec.id {
            Some(id) => BatchOp::Update { id, if_match: rec.version },
            None => return refused(invalid("id".into(), "an update names the record's id")),
        },
        Operation::Upsert => {
            let Some(key) = key else {
                return refused(invalid(
                    "operation".into(),
                    format!("{} have no unique field to upsert by: create or update them", K::PLURAL),
                ));
            };
            match rec.data.get(key).and_then(Value::as_str).map(|raw| K::key_value(key, raw)) {
                Some(Ok(value)) => BatchOp::Upsert { field: key, value },
                Some(Err(m)) => return refused(invalid(key.into(), m)),
                None => return refused(invalid(key.into(), format!("an upsert by {key} needs the record's {key}"))),
            }
        }
    };
    let (actor, ctx) = (actor.clone(), ctx.clone());
    let build: Build<K::Data> = Box::new(move |cur| {
        let mut input = input.clone();
        if cur.is_none() {
            K::creating(&mut input, &actor);
        }
        K::apply(input, cur, &ctx)
    });
    BatchItem { op, build }
}

/// The response of a batch, from its outcomes.
fn render(mode: Mode, done: Vec<Done>) -> (u16, String) {
    let mut r = BatchResponse { mode, created: 0, updated: 0, failed: 0, rolled_back: 0, results: Vec::with_capacity(done.len()) };
    for (index, d) in done.into_iter().enumerate() {
        let res = |status, outcome: &str, id, version, error| BatchResult { index, status, outcome: outcome.into(), id, version, error };
        r.results.push(match d {
            Done::Created(id) => {
                r.created += 1;
                res(201, "created", Some(id), Some(1), None)
            }
            Done::Updated(id, v) => {
                r.updated += 1;
                res(200, "updated", Some(id), Some(v), None)
            }
            Done::Failed(e) => {
                r.failed += 1;
                let p = record_problem(index, e);
                res(p.status, "failed", None, None, Some(p))
            }
            Done::RolledBack => {
                r.rolled_back += 1;
                let p = Problem {
                    kind: "/problems/rolled-back".into(),
                    title: "Not written".into(),
                    status: 424,
                    detail: "another record of this all-or-nothing call failed, so nothing was written".into(),
                    errors: vec![],
                    allowed_actions: None,
                    merged_into: None,
                };
                res(424, "rolled_back", None, None, Some(p))
            }
        });
    }
    (200, serde_json::to_string(&r).unwrap_or_default())
}

/// The answer, stored or fresh, as JSON with its status.
fn respond(status: u16, body: String, replayed: bool) -> Response {
    let mut res = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if replayed {
        res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// Runs a batch call of `K`.
pub async fn handle<K: BatchKind>(state: AppState, user: CurrentUser, headers: HeaderMap, body: Value) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let idem = key.map(|key| Idempotency {
        scope: format!("{} POST /api/v1/{}/batch", user.actor.user_id.unwrap_or(0), K::PLURAL),
        key,
        hash: sha2::Sha256::digest(body.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect(),
    });
    if let Some(idem) = &idem
        && let Some((status, body)) = state.store.idempotent_response(idem).await?
    {
        return Ok(respond(status, body, true));
    }
    let req: BatchRequest = serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        ApiError::bad_field(if path == "." { "body" } else { &path }, e.into_inner().to_string())
    })?;
    if req.records.is_empty() || req.records.len() > MAX_RECORDS {
        return Err(ApiError::Invalid(ValidationErrors::single(
            "records",
            format!("a batch takes 1 to {MAX_RECORDS} records; this one has {}: split it", req.records.len()),
        )));
    }
    let key = match req.upsert_key.as_deref() {
        None => K::KEYS.first().copied(),
        Some(k) => Some(K::KEYS.iter().copied().find(|x| *x == k).ok_or_else(|| {
            let message = match K::KEYS {
                [] => format!("{} have no unique field to upsert by", K::PLURAL),
                keys => format!("{} are upserted by {}", K::PLURAL, keys.join(" or ")),
            };
            ApiError::Invalid(ValidationErrors::single("upsert_key", message))
        })?),
    };
    let mode = req.mode.unwrap_or_default();
    let ctx = std::sync::Arc::new(K::ctx(&state, &user.actor).await?);
    let default_op = req.operation.unwrap_or(Operation::Create);
    let items: Vec<BatchItem<K::Data>> = req.records.into_iter().map(|raw| item::<K>(raw, default_op, key, &user.actor, &ctx)).collect();
    let store_mode = match mode {
        Mode::AllOrNothing => BatchMode::AllOrNothing,
        Mode::BestEffort => BatchMode::BestEffort,
    };
    let (status, body) = K::run(&state, &user.actor, items, store_mode, idem.as_ref(), false, Box::new(move |d| render(mode, d))).await?;
    Ok(respond(status, body, false))
}

/// The handler of one record type's batch path, documented.
macro_rules! batch_route {
    ($fn:ident, $kind:ty, $path:literal, $tag:literal, $op:literal) => {
        #[doc = "Create, update or upsert up to 1,000 records in one call: one result per record, in order; `mode` all_or_nothing (default) or best_effort; send `Idempotency-Key` so that a retry changes nothing twice (the same key with another body answers 422)."]
        #[utoipa::path(post, path = $path, tag = $tag, operation_id = $op, request_body = BatchRequest, security(("bearer" = [])),
            params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried call answer the first call's response without writing again")),
            responses((status = 200, body = BatchResponse, description = "One result per record, in order (a replay carries `Idempotent-Replayed: true`)")))]
        pub(super) async fn $fn(
            State(state): State<AppState>,
            user: CurrentUser,
            headers: HeaderMap,
            AppJson(body): AppJson<Value>,
        ) -> Result<Response, ApiError> {
            handle::<$kind>(state, user, headers, body).await
        }
    };
}
pub(super) use batch_route;
