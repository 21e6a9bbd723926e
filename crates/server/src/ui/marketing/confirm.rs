//! `/m/confirm/{token}`: double opt-in. A GET shows the confirmation page and changes nothing
//! (mail scanners follow links); the page's POST confirms, and only then is the consent
//! recorded (time, the confirming client's IP, the sign-up's source, legal basis `consent`).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rapport_store::ConfirmationView;

use super::consent::ip;
use crate::AppState;
use crate::api::sales::web_to_lead::Caller;
use crate::error::ApiError;
use crate::extract::Path;
use crate::ui::render;

pub(super) fn public_router() -> axum::Router<AppState> {
    axum::Router::new().route("/m/confirm/{token}", get(page).post(confirm))
}

#[derive(Template)]
#[template(path = "marketing_confirm.html")]
struct ConfirmPage {
    v: ConfirmationView,
    action: String,
}

async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let v = state.store.confirmation_view(&token).await?;
    Ok(render(&ConfirmPage { v, action: format!("/m/confirm/{token}") }))
}

async fn confirm(State(state): State<AppState>, caller: Caller, Path(token): Path<String>) -> Result<Response, ApiError> {
    let v = state.store.confirm_subscription(&token, ip(&caller)).await?;
    Ok(render(&ConfirmPage { v, action: format!("/m/confirm/{token}") }))
}
