//! `GET /api/v1/exports/{kind}` (issue 13 §3): every record type as CSV or JSON lines,
//! streamed page by page, as the caller may see it (visibility and PII masking), audited.
//! The sales and service reports have their own CSVs (`GET /api/v1/reports/{name}?format=csv`).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::data::export::{Format, pages, start};
use crate::error::ApiError;
use crate::extract::{CurrentUser, Path, Query};

/// How to export.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `jsonl`.
    #[param(inline)]
    format: Option<Format>,
}

/// Export every record of a type that you may see, as CSV (one column per field; cells that
/// would run as spreadsheet formulas get a leading `'`) or JSON lines; needs `read` and
/// `export` on the type, and is audited. Personal fields are masked for roles without `pii`.
#[utoipa::path(get, path = "/api/v1/exports/{kind}", tag = "data", operation_id = "export_records", security(("bearer" = [])),
    params(("kind" = String, Path, description = "customers, companies, products, opportunities, orders, activities, tickets, campaigns, segments, pipelines, targets, feedback or macros",
        pattern = "^(customers|companies|products|opportunities|orders|activities|tickets|campaigns|segments|pipelines|targets|feedback|macros)$"), ExportQuery),
    responses((status = 200, description = "The records, streamed (CSV or JSON lines)", content((String = "text/csv"), (String = "application/x-ndjson")))))]
pub(super) async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(kind): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let spec = rapport_store::data::export::exportable(&kind).ok_or(ApiError::NotFound)?;
    let format = q.format.unwrap_or_default();
    // Refused (403) and audited before the answer starts.
    let writer = start(&state.store, &user.actor, spec, format, "api").await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let (store, actor) = (state.store.clone(), user.actor.clone());
    tokio::spawn(async move {
        if let Err(e) = pages(&store, &actor, spec, &writer, tx).await {
            tracing::error!(error = %e, "export failed mid-stream");
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)), rx))
    });
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{kind}.{}\"", format.extension())) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
