//! Email for the help desk: `POST /api/v1/inbound/email`, where a mail provider's inbound
//! webhook (or a local MTA's pipe) delivers raw RFC 5322 messages, and the outgoing mail queue
//! for admins (`/api/v1/mail/queue`).

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use rapport_domain::permissions::Role;
use rapport_domain::service::mail::{InboundMail, MailQueueSummary, MailReceipt};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{CurrentUser, Path, bearer, body_bytes, request_id};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(inbound)).routes(routes!(queue)).routes(routes!(requeue))
}

/// A raw message body sent as `message/rfc822`, or as `application/octet-stream` (what
/// generic HTTP clients and webhook relays send raw bytes as).
pub struct RawMail(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawMail {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let ct = ct.trim().to_ascii_lowercase();
        if !ct.starts_with("message/rfc822") && !ct.starts_with("application/octet-stream") {
            return Err(ApiError::bad_field("Content-Type", "send the raw message as message/rfc822 (or application/octet-stream)"));
        }
        Ok(RawMail(body_bytes(req, state).await?))
    }
}

/// Who may deliver mail: a token with the `inbound_mail` scope (what a provider's webhook is
/// given), or an admin's token with write access.
async fn deliverer(state: &AppState, headers: &HeaderMap) -> Result<CurrentUser, ApiError> {
    let token = bearer(headers).ok_or(ApiError::Unauthorized)?;
    let user = CurrentUser::from_token(state, token, headers).await?;
    let admin = user.user.role == Role::Admin.as_str() && user.scopes.write;
    if user.scopes.inbound_mail || admin {
        Ok(user)
    } else {
        Err(ApiError::Forbidden("delivering mail needs a token with the inbound_mail scope, or an admin's".into()))
    }
}

/// Deliver one raw RFC 5322 message (`Content-Type: message/rfc822`, or
/// `application/octet-stream`, which is what this document names since client generators
/// know no `message/*` types). A new message opens a
/// ticket from the channel `email` (for the person with the sender's address, created when
/// unknown) and queues the acknowledgement; a reply (by `In-Reply-To`/`References` or a
/// `[#123]` subject tag) from the ticket's person joins its conversation and reopens it when
/// resolved; anyone else's opens a new ticket. A Message-ID received before changes nothing
/// (`outcome: duplicate`), so providers may retry safely.
#[utoipa::path(post, path = "/api/v1/inbound/email", tag = "tickets", operation_id = "inbound_email",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The raw message (also accepted as `message/rfc822`)"),
    security(("bearer" = [])),
    responses((status = 201, body = MailReceipt, description = "A ticket was opened, or the reply joined its ticket"),
        (status = 200, body = MailReceipt, description = "A duplicate: nothing changed"),
        (status = 400, body = Problem, description = "Not a message, or no sender address (the header is named)")))]
async fn inbound(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawMail(raw): RawMail,
) -> Result<(StatusCode, Json<MailReceipt>), ApiError> {
    let user = deliverer(&state, &headers).await?;
    let mail = InboundMail::parse(&raw)?;
    let r = state.store.receive_email(&mail, Some(user.user.id), request_id(&headers), None).await?;
    let status = if r.outcome == "duplicate" { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(r)))
}

/// The outgoing mail queue: rows per state and the latest 100 (admins).
#[utoipa::path(get, path = "/api/v1/mail/queue", tag = "admin", operation_id = "mail_queue", security(("bearer" = [])),
    responses((status = 200, body = MailQueueSummary)))]
async fn queue(State(state): State<AppState>, user: CurrentUser) -> Result<Json<MailQueueSummary>, ApiError> {
    Ok(Json(state.store.mail_queue_summary(&user.actor, 100).await?))
}

/// Send an `unconfirmed` or `failed` mail again (admins), once you checked it was not
/// delivered: an `unconfirmed` one may have been.
#[utoipa::path(post, path = "/api/v1/mail/queue/{id}/requeue", tag = "admin", operation_id = "requeue_mail", security(("bearer" = [])),
    responses((status = 204, description = "Queued again"), (status = 422, body = Problem, description = "The mail is not unconfirmed or failed")))]
async fn requeue(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    state.store.requeue_mail(&user.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
