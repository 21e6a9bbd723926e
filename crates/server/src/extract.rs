//! Extractors that turn a request into typed, checked values: the signed-in user, JSON bodies
//! whose errors name the field, `If-Match` versions and list parameters.

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
        let reading = matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD);
        if !reading && !user.scopes.write && parts.uri.path() != "/api/v1/auth/logout" {
            return Err(ApiError::Forbidden("this token is read-only: create one with the write scope to change data".into()));
        }
        Ok(user)
    }
}

/// A JSON body; malformed JSON and wrong types answer 400 naming the field.
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.starts_with("application/merge-patch+json"));
        if !is_json {
            return Err(ApiError::bad_field("Content-Type", "send the body as application/json"));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| ApiError::bad_field("body", e.body_text()))?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de).map(AppJson).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path.is_empty() {
                ApiError::bad_field("body", format!("is not valid JSON for this request: {inner}"))
            } else {
                ApiError::bad_field(&path, inner.to_string())
            }
        })
    }
}

/// The version a client expects, from `If-Match` (`3`, `"3"` or `W/"3"`); absent means "any".
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<i64>);

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
        serde_urlencoded::from_str(q).map(QueryPairs).map_err(|e| ApiError::bad_field("query", e.to_string()))
    }
}
