//! `/api/v1/mail/settings`: the SMTP relay, IMAP mailbox, From address and poll interval
//! `rapport serve`'s mail jobs use (admins). A field left unset falls back to the server's flag.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use rapport_domain::service::mail_settings::{MailSettings, MailSettingsInput};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::etag;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, update_settings))
}

/// The mail settings (admins): passwords only as `*_password_set`. `version` is 0 before the
/// first save.
#[utoipa::path(get, path = "/api/v1/mail/settings", tag = "admin", operation_id = "get_mail_settings", security(("bearer" = [])),
    responses((status = 200, body = MailSettings, headers(("ETag" = String, description = "The settings' version")))))]
async fn get_settings(State(state): State<AppState>, user: CurrentUser) -> Result<(HeaderMap, Json<MailSettings>), ApiError> {
    let s = state.store.mail_settings(&user.actor).await?;
    Ok((etag(s.version), Json(s)))
}

/// Change the mail settings (admins): a field left out stays, null clears it (the server's flag
/// applies again), a value sets it; the same for the passwords, which are sealed at rest and
/// never shown. The sender and the pollers pick the change up at their next pass.
#[utoipa::path(patch, path = "/api/v1/mail/settings", tag = "admin", operation_id = "update_mail_settings",
    request_body = MailSettingsInput, params(IfMatch), security(("bearer" = [])),
    responses((status = 200, body = MailSettings, headers(("ETag" = String, description = "The settings' new version")))))]
async fn update_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<MailSettingsInput>,
) -> Result<(HeaderMap, Json<MailSettings>), ApiError> {
    let s = state.store.save_mail_settings(&user.actor, version, input).await?;
    Ok((etag(s.version), Json(s)))
}
