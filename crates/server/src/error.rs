//! One error type for every handler, answered as RFC 9457 `application/problem+json` that
//! names the offending field. Server faults are logged with their cause and answered with a
//! generic 500, never with internals.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_domain::{FieldError, ValidationErrors};
use serde::Serialize;

/// Everything a handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, wrong type, bad header).
    #[error("{detail}")]
    BadRequest {
        /// What is wrong.
        detail: String,
        /// Per-field problems.
        errors: Vec<FieldError>,
    },
    /// 422: well-formed but invalid values.
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// 401: missing, unknown, expired or revoked credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 403: allowed to make this kind of change, but not with this value of the field.
    #[error("{message}")]
    ForbiddenField {
        /// The field whose value is refused.
        field: String,
        /// Why, and what is allowed instead.
        message: String,
    },
    /// 404.
    #[error("not found")]
    NotFound,
    /// 409: a unique value is taken.
    #[error("{message}")]
    Conflict {
        /// Field holding the duplicate.
        field: String,
        /// What is duplicated.
        message: String,
    },
    /// 409: the record's state does not allow the change now (a won deal moved without
    /// reopening); the problem names the field and the actions allowed instead.
    #[error("{0}")]
    Refused(rapport_domain::sales::Refused),
    /// 429: too many failed sign-ins; the `String` is when to try again (RFC 3339).
    #[error("too many failed sign-ins for this email: try again after {0}")]
    Locked(String),
    /// 429: too many submissions of a public form from one address; when to try again.
    #[error("too many submissions from your address: try again after {0}")]
    Throttled(String),
    /// 410: the record was merged into another; the problem's `merged_into` names the survivor,
    /// of the record type (`customers`, `companies`) given.
    #[error("this record was merged into another: read /api/v1/{1}/{0}")]
    Merged(i64, &'static str),
    /// 412: `If-Match` is stale.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 405: the path exists but not with this method (the router adds `Allow`).
    #[error("this path does not take this method: the Allow header lists those it takes")]
    MethodNotAllowed,
    /// 413: the body is larger than the server accepts (the `usize` is the limit in bytes).
    #[error("the body is larger than the {0} bytes this server accepts")]
    TooLarge(usize),
    /// 503: the database does not answer; the cause is logged only.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an unavailable database; the cause is logged only.
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize, utoipa::ToSchema)]
/// RFC 9457 problem details.
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Explanation for this occurrence.
    pub detail: String,
    /// Per-field problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a change the record's state refuses (409 `refused`): the actions allowed now, e.g.
    /// `["reopen"]` for a won deal (empty when the state is final).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_actions: Option<Vec<String>>,
    /// For a person merged into another (410 `merged`): the survivor's id, where their records
    /// went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<i64>,
}

impl ApiError {
    /// A 400 that names one field.
    pub fn bad_field(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::BadRequest { detail: format!("{field}: {message}"), errors: vec![FieldError { field: field.into(), message }] }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad-request", "The request is malformed"),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation-error", "Some fields are invalid"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required"),
            ApiError::Forbidden(_) | ApiError::ForbiddenField { .. } => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Merged(..) => (StatusCode::GONE, "merged", "Merged into another record"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Refused(_) => (StatusCode::CONFLICT, "refused", "Not allowed in the record's current state"),
            ApiError::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, "version-mismatch", "The record has changed"),
            ApiError::Locked(_) => (StatusCode::TOO_MANY_REQUESTS, "locked", "Temporarily locked"),
            ApiError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "throttled", "Too many requests"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request body too large"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal server error"),
        }
    }

    /// The problem document this error is answered with.
    pub fn problem(&self) -> Problem {
        let (status, kind, title) = self.parts();
        let (detail, errors) = match self {
            ApiError::BadRequest { detail, errors } => (detail.clone(), errors.clone()),
            ApiError::Invalid(e) => (e.to_string(), e.0.clone()),
            ApiError::Unauthorized => ("send Authorization: Bearer <token>; get a token from POST /api/v1/auth/login".into(), vec![]),
            ApiError::Conflict { field, message } | ApiError::ForbiddenField { field, message } => {
                (message.clone(), vec![FieldError { field: field.clone(), message: message.clone() }])
            }
            ApiError::Internal(_) => ("something went wrong on our side; it has been logged".into(), vec![]),
            ApiError::Unavailable(_) => ("the database does not answer; the cause is in the server log".into(), vec![]),
            ApiError::TooLarge(_) => (self.to_string(), vec![FieldError { field: "body".into(), message: self.to_string() }]),
            ApiError::Refused(r) => {
                let field = r.field.unwrap_or(r.object).to_string();
                (r.to_string(), vec![FieldError { field, message: r.to_string() }])
            }
            other => (other.to_string(), vec![]),
        };
        let allowed_actions = match self {
            ApiError::Refused(r) => Some(r.allowed.iter().map(|a| a.to_string()).collect()),
            _ => None,
        };
        let merged_into = match self {
            ApiError::Merged(into, _) => Some(*into),
            _ => None,
        };
        Problem {
            kind: format!("/problems/{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            errors,
            allowed_actions,
            merged_into,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::error!(%cause, "database unavailable"),
            _ => {}
        }
        let p = self.problem();
        let mut res =
            (StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), serde_json::to_string(&p).unwrap_or_default())
                .into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/problem+json"));
        if let ApiError::Locked(until) | ApiError::Throttled(until) = &self {
            let secs = chrono::DateTime::parse_from_rfc3339(until)
                .map(|t| (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds().max(1))
                .unwrap_or(60);
            if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if let ApiError::Merged(into, plural) = &self
            && let Ok(v) = header::HeaderValue::from_str(&format!("/api/v1/{plural}/{into}"))
        {
            res.headers_mut().insert(header::LOCATION, v);
        }
        if matches!(self, ApiError::Unauthorized) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<rapport_store::Error> for ApiError {
    fn from(e: rapport_store::Error) -> ApiError {
        use rapport_store::Error as E;
        match e {
            E::NotFound => ApiError::NotFound,
            E::Merged { into, plural } => ApiError::Merged(into, plural),
            E::Denied(d) => ApiError::Forbidden(d.to_string()),
            E::Invalid(v) => ApiError::Invalid(v),
            E::Conflict { field, message } => ApiError::Conflict { field, message },
            E::Refused(r) => ApiError::Refused(r),
            E::Forbidden { field, message } => ApiError::ForbiddenField { field, message },
            e @ E::VersionMismatch { .. } => ApiError::PreconditionFailed(format!("{e}; reload it and apply your change again")),
            e @ (E::Db(_) | E::Sqlite(_)) => ApiError::Internal(e.to_string()),
            E::Crypto(e) => ApiError::Internal(e),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> ApiError {
        ApiError::Invalid(e)
    }
}
