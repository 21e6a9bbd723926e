//! `/api/v1/macros`: canned replies with merge fields, kept by admins and managers, and
//! `/api/v1/tickets/{id}/macros/{macro_id}/apply`, which posts one and applies its actions.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::query::ListParams;
use rapport_domain::service::canned::{Macro, MacroInput, SPEC};
use rapport_domain::service::links::{ApplyQuery, MacroApplied};
use rapport_store::Page;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, created, etag, list_error};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, Query, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete)).routes(routes!(apply))
}

/// The query parameters of `GET /api/v1/macros`.
pub struct MacroListQuery;

impl IntoParams for MacroListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        crate::api::sales::list_params(&SPEC)
    }
}

/// List macros (everyone who signs in reads them).
#[utoipa::path(get, path = "/api/v1/macros", tag = "macros", operation_id = "list_macros", params(MacroListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Macro>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Macro>>, ApiError> {
    let params = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    Ok(Json(state.store.list_macros(&user.actor, &params).await.map_err(list_error)?))
}

/// Create a macro (admins and managers). The body's merge fields are checked: an unknown one
/// answers 422 naming it; a name another live macro has answers 409.
#[utoipa::path(post, path = "/api/v1/macros", tag = "macros", operation_id = "create_macro", request_body = MacroInput,
    security(("bearer" = [])),
    responses((status = 201, body = Macro, headers(("Location" = String, description = "The macro's URL"), ("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 422, body = Problem, description = "A field is wrong, e.g. an unknown merge field in `body`"),
        (status = 409, body = Problem, description = "Another live macro has this name")))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<MacroInput>,
) -> Result<(StatusCode, HeaderMap, Json<Macro>), ApiError> {
    let m = state.store.create_macro(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/macros/{}", m.id), m.version);
    Ok((status, headers, Json(m)))
}

/// One macro.
#[utoipa::path(get, path = "/api/v1/macros/{id}", tag = "macros", operation_id = "get_macro", security(("bearer" = [])),
    responses((status = 200, body = Macro, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Macro>), ApiError> {
    let m = state.store.get_macro(&user.actor, id).await?;
    Ok((etag(m.version), Json(m)))
}

/// Change a macro. Send `If-Match: <version>` (412 when stale).
#[utoipa::path(patch, path = "/api/v1/macros/{id}", tag = "macros", operation_id = "update_macro", request_body = MacroInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Macro, headers(("ETag" = String, description = "The new version"))),
        (status = 409, body = Problem, description = "Another live macro has this name")))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<MacroInput>,
) -> Result<(HeaderMap, Json<Macro>), ApiError> {
    let m = state.store.update_macro(&user.actor, id, version, input).await?;
    Ok((etag(m.version), Json(m)))
}

/// Delete a macro (kept as a tombstone for sync; replies it posted stay).
#[utoipa::path(delete, path = "/api/v1/macros/{id}", tag = "macros", operation_id = "delete_macro", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_macro(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Apply a macro to a ticket: posts its reply (merge fields filled, the status as the macro
/// leaves it) and applies its assignee, tags and workflow action in one transaction. An action
/// the ticket's status does not allow changes nothing and answers 409 naming `allowed_actions`.
/// With `?preview=true`, answers the reply and the ticket as they would be, changing nothing.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/macros/{macro_id}/apply", tag = "tickets", operation_id = "apply_macro",
    params(ApplyQuery), security(("bearer" = [])),
    responses((status = 200, body = MacroApplied),
        (status = 409, body = Problem, description = "The ticket's status does not allow the macro's action: `allowed_actions` says what is allowed now")))]
async fn apply(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, macro_id)): Path<(i64, i64)>,
    Query(q): Query<ApplyQuery>,
) -> Result<Json<MacroApplied>, ApiError> {
    Ok(Json(state.store.apply_macro(&user.actor, id, macro_id, q.preview).await?))
}
