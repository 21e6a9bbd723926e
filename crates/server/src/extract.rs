//! Extractors that turn a request into typed, checked values: the signed-in user, JSON bodies
//! whose errors name the field, `If-Match` versions and list parameters.
//!
//! [`Path`], [`Query`] and [`Form`] stand in for axum's extractors of the same names: axum
//! rejects a bad value with `text/plain`, these with problem+json naming the parameter, like
//! every other error of the API.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use rapport_domain::permissions::Actor;
use rapport_store::{Scopes, User};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// The user a bearer token belongs to. Handlers that take it cannot run unauthenticated.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The account.
    pub user: User,
    /// The account as the store's actor, with this request's id for the audit log.
    pub actor: Actor,
    /// What the token allows.
    pub scopes: Scopes,
}

/// The `x-request-id` set by the request-id layer.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

impl CurrentUser {
    /// Resolves a token to the user and actor.
    pub async fn from_token(state: &AppState, token: &str, headers: &HeaderMap) -> Result<CurrentUser, ApiError> {
        let session = state.store.authenticate(token).await?.ok_or(ApiError::Unauthorized)?;
        let actor = session.actor(request_id(headers));
        Ok(CurrentUser { user: session.user, actor, scopes: session.scopes })
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let user = CurrentUser::from_token(state, token, &parts.headers).await?;
        if !user.scopes.read && !user.scopes.write {
            return Err(ApiError::Forbidden("this token only delivers inbound mail (POST /api/v1/inbound/email)".into()));
        }
        let reading = matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD);
        if !reading && !user.scopes.write && parts.uri.path() != "/api/v1/auth/logout" {
            return Err(ApiError::Forbidden("this token is read-only: create one with the write scope to change data".into()));
        }
        Ok(user)
    }
}

/// The largest request body the server reads, in bytes; a larger one answers 413.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON body; malformed JSON, trailing data and wrong types answer 400 naming the field, a
/// body over [`BODY_LIMIT`] 413.
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::bad_field("Content-Type", "send the body as application/json"));
        }
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(AppJson)
    }
}

/// An optional JSON body: an empty one (or `null`) is `T::default()`, anything else is read as
/// [`AppJson`].
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json(req.headers());
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(OptionalJson(T::default()));
        }
        if !json {
            return Err(ApiError::bad_field("Content-Type", "send the body as application/json"));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// A body sent either as JSON or as a submitted HTML form (`application/x-www-form-urlencoded`),
/// read into the same `T`; errors as [`AppJson`] and [`Form`] give them.
#[derive(Debug)]
pub struct JsonOrForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonOrForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = (req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()))
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form && !is_json(req.headers()) {
            return Err(ApiError::bad_field("Content-Type", "send the body as application/json or application/x-www-form-urlencoded"));
        }
        let bytes = body_bytes(req, state).await?;
        if form { urlencoded(&bytes, "body").map(JsonOrForm) } else { parse_json(&bytes).map(JsonOrForm) }
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("application/merge-patch+json"))
}

/// The whole body, at most [`BODY_LIMIT`] bytes (413 beyond).
pub(crate) async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<axum::body::Bytes, ApiError> {
    axum::body::Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(BODY_LIMIT)
        } else {
            ApiError::bad_field("body", e.body_text())
        }
    })
}

/// One JSON value and nothing after it, without NUL characters; errors name the field they
/// are about.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_json::Value::deserialize(&mut de).map_err(|e| ApiError::bad_field("body", format!("is not valid JSON: {e}")))?;
    de.end().map_err(|e| ApiError::bad_field("body", format!("has data after the JSON value: {e}")))?;
    refuse_nul_json(&value, "")?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::bad_field("body", format!("does not fit this request: {inner}"))
        } else {
            ApiError::bad_field(&path, inner.to_string())
        }
    })
}

/// PostgreSQL cannot store U+0000 in text and no field of ours means it, so it is refused
/// at the door, naming the field, and both engines answer alike.
fn refuse_nul(field: &str, text: &str) -> Result<(), ApiError> {
    if text.contains('\0') { Err(ApiError::bad_field(field, "must not contain the NUL character (U+0000)")) } else { Ok(()) }
}

fn refuse_nul_json(v: &serde_json::Value, path: &str) -> Result<(), ApiError> {
    let at = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match v {
        serde_json::Value::String(s) => refuse_nul(if path.is_empty() { "body" } else { path }, s),
        serde_json::Value::Array(items) => items.iter().enumerate().try_for_each(|(i, x)| refuse_nul_json(x, &at(&i.to_string()))),
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, x)| {
            refuse_nul(&at(k), k)?;
            refuse_nul_json(x, &at(k))
        }),
        _ => Ok(()),
    }
}

/// Path parameters, as `axum::extract::Path`; a value of the wrong type answers 400 naming the
/// parameter (`id: 'abc' is not a whole number`).
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::{ErrorKind, RawPathParams};
        use axum::extract::rejection::PathRejection;
        if let Ok(raw) = RawPathParams::from_request_parts(parts, state).await {
            raw.iter().try_for_each(|(k, v)| refuse_nul(k, v))?;
        }
        let e = match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => return Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => e,
            Err(other) => return Err(ApiError::Internal(other.body_text())),
        };
        let names: Vec<String> = match RawPathParams::from_request_parts(parts, state).await {
            Ok(raw) => raw.iter().map(|(k, _)| k.to_string()).collect(),
            Err(_) => vec![],
        };
        let only = || names.first().filter(|_| names.len() == 1).cloned().unwrap_or_else(|| "path".into());
        let (field, message) = match e.into_kind() {
            ErrorKind::ParseErrorAtKey { key, value, expected_type } => (key, not_a(&value, expected_type)),
            ErrorKind::ParseErrorAtIndex { index, value, expected_type } => {
                (names.get(index).cloned().unwrap_or_else(|| "path".into()), not_a(&value, expected_type))
            }
            ErrorKind::ParseError { value, expected_type } => (only(), not_a(&value, expected_type)),
            ErrorKind::InvalidUtf8InPathParam { key } => (key, "is not valid UTF-8".into()),
            ErrorKind::DeserializeError { key, value, message } => (key, format!("'{value}': {message}")),
            other => return Err(ApiError::Internal(other.to_string())),
        };
        Err(ApiError::bad_field(&field, message))
    }
}

/// "'abc' is not a whole number" for what a path or query value failed to parse as.
fn not_a(value: &str, expected_type: &str) -> String {
    let what = match expected_type {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => "a whole number in range",
        "f32" | "f64" => "a number",
        "bool" => "true or false",
        other => other,
    };
    format!("'{value}' is not {what}")
}

/// A query string read into `T`, as `axum::extract::Query`; a bad value or an unknown
/// parameter answers 400 naming it.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        urlencoded(parts.uri.query().unwrap_or("").as_bytes(), "query").map(Query)
    }
}

/// A submitted HTML form (`application/x-www-form-urlencoded`), as `axum::Form`; a bad body
/// answers problem+json, a body over [`BODY_LIMIT`] 413.
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(ApiError::bad_field("Content-Type", "send the form as application/x-www-form-urlencoded"));
        }
        let bytes = body_bytes(req, state).await?;
        urlencoded(&bytes, "body").map(Form)
    }
}

/// `key=value&…` read into `T`, errors naming the key (`whole` names the input when no key is
/// to blame).
fn urlencoded<T: DeserializeOwned>(bytes: &[u8], whole: &str) -> Result<T, ApiError> {
    for (k, v) in form_urlencoded::parse(bytes) {
        refuse_nul(&k, &k)?;
        refuse_nul(&k, &v)?;
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if path != "." && !path.is_empty() {
            return ApiError::bad_field(&path, message);
        }
        // serde names an unknown key only in its message: "unknown field `x`, expected …".
        match message.strip_prefix("unknown field `").and_then(|m| m.split_once('`')) {
            Some((key, _)) => ApiError::bad_field(key, "is not a parameter here (see /docs)"),
            None => ApiError::bad_field(whole, message),
        }
    })
}

/// The version a client expects, from `If-Match` (`3`, `"3"` or `W/"3"`); absent means "any".
/// As `params(IfMatch)` in an operation's documentation it declares the header.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<i64>);

impl utoipa::IntoParams for IfMatch {
    fn into_params(_: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, Required, Type};
        let schema = ObjectBuilder::new().schema_type(Type::String).pattern(Some(r#"^(\*|(W/)?"?[0-9]{1,18}"?)$"#));
        vec![
            ParameterBuilder::new()
                .name("If-Match")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The record's version as its `ETag` gave it (`3`, `\"3\"` or `W/\"3\"`); a stale one answers 412 and changes nothing. Without it the change applies to whatever version is current.",
                ))
                .schema(Some(schema))
                .build(),
        ]
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let s = v.to_str().unwrap_or("").trim();
        if s == "*" {
            return Ok(IfMatch(None));
        }
        let s = s.trim_start_matches("W/").trim_matches('"');
        s.parse::<i64>()
            .map(|n| IfMatch(Some(n)))
            .map_err(|_| ApiError::bad_field("If-Match", "must be the record's version, as returned in its ETag"))
    }
}

/// Raw query-string pairs, in order (lists parse them with the object's custom fields).
#[derive(Debug, Clone)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).map_err(|e| ApiError::bad_field("query", e.to_string()))?;
        for (k, v) in &pairs {
            refuse_nul(k, k)?;
            refuse_nul(k, v)?;
        }
        Ok(QueryPairs(pairs))
    }
}
