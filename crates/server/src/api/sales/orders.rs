//! `/api/v1/orders`: orders with their lines, priced on the server, their status actions, and
//! a preview that prices lines without storing them (the order form's live totals).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::query::ListParams;
use rapport_domain::sales::order::{Order, OrderAction, OrderInput, OrderLine, OrderTotals, SPEC};
use rapport_store::Page;
use serde::Serialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, created, etag, list_error};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(preview))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(action))
}

/// The query parameters of `GET /api/v1/orders`.
pub struct OrderListQuery;

impl IntoParams for OrderListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        super::list_params(&SPEC)
    }
}

/// List and filter orders, as far as you may see them (own / team / all, as people).
///
/// Ranged filters take `.gte=` and `.lte=` too (`order_date.gte=2026-01-01`,
/// `total_minor.gte=10000`, `paid_at.lte=`). `sort=name` sorts by the order date.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", operation_id = "list_orders", params(OrderListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Order>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Order>>, ApiError> {
    let params = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    Ok(Json(state.store.list_orders(&user.actor, &params).await.map_err(list_error)?))
}

/// Create an order with its lines: each line's product must exist, be active and be priced in
/// the order's one currency (the first line's product's when `currency` is absent); a line's
/// unit price defaults to the product's. Totals and tax are computed here, in minor units. It
/// starts as a draft unless `status` says otherwise (an import of past orders); without
/// `owner_id` you own it.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", operation_id = "create_order", request_body = OrderInput,
    security(("bearer" = [])),
    responses((status = 201, body = Order, headers(("Location" = String, description = "The order's URL"), ("ETag" = String, description = "The version, for `If-Match`")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(mut input): AppJson<OrderInput>,
) -> Result<(StatusCode, HeaderMap, Json<Order>), ApiError> {
    input.owner_id = Some(user.actor.owner_for_new(input.owner_id));
    let o = state.store.create_order(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/orders/{}", o.id), o.version);
    Ok((status, headers, Json(o)))
}

/// What an order's lines come to, priced as they would be stored.
#[derive(Serialize, ToSchema)]
pub struct OrderPreview {
    /// The order's currency.
    pub currency: String,
    /// The lines as they would be written (SKU, name and default prices filled in).
    pub lines: Vec<OrderLine>,
    /// The totals, line by line and for the order.
    pub totals: OrderTotals,
}

/// Price an order without storing it: the same validation and totals as a create (wrong lines
/// answer 422 naming `lines.N.field`), but no customer is needed and nothing is written.
#[utoipa::path(post, path = "/api/v1/orders/preview", tag = "orders", operation_id = "preview_order", request_body = OrderInput,
    security(("bearer" = [])), responses((status = 200, body = OrderPreview, description = "The priced lines and totals")))]
async fn preview(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<OrderInput>,
) -> Result<Json<OrderPreview>, ApiError> {
    Ok(Json(priced(state.store.price_order(&user.actor, input).await?)))
}

/// The preview of priced order data.
pub fn priced(d: rapport_domain::sales::order::OrderData) -> OrderPreview {
    let totals = d.totals().unwrap_or_default();
    OrderPreview { currency: d.currency, lines: d.lines, totals }
}

/// One order.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", operation_id = "get_order", security(("bearer" = [])),
    responses((status = 200, body = Order, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Order>), ApiError> {
    let o = state.store.get_order(&user.actor, id).await?;
    Ok((etag(o.version), Json(o)))
}

/// Change an order. `lines` replaces every line, and only while it is a draft, as do
/// `currency`, `tax_rate_bp`, `customer_id` and `order_date`; on a confirmed, paid, shipped or
/// cancelled order that answers 409 whose problem lists `allowed_actions`. `status` moves it
/// one step (draft → confirmed → paid → shipped; cancelled from draft or confirmed), else 409.
/// Notes, owner, company and the opportunity and campaign links stay editable. Send
/// `If-Match: <version>` (412 when stale).
#[utoipa::path(patch, path = "/api/v1/orders/{id}", tag = "orders", operation_id = "update_order", request_body = OrderInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Order, headers(("ETag" = String, description = "The new version"))),
        (status = 409, body = Problem, description = "The order's status does not allow the change: `allowed_actions` says what is allowed now")))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<OrderInput>,
) -> Result<(HeaderMap, Json<Order>), ApiError> {
    let o = state.store.update_order(&user.actor, id, version, input).await?;
    Ok((etag(o.version), Json(o)))
}

/// Take a status action: `confirm` (a draft with lines), `pay` (a confirmed order), `ship` (a
/// paid one) or `cancel` (a draft or confirmed one; a paid order is purchase history and is not
/// cancelled). An action the status does not allow answers 409 naming `allowed_actions`.
#[utoipa::path(post, path = "/api/v1/orders/{id}/{action}", tag = "orders", operation_id = "order_action", security(("bearer" = [])),
    params(IfMatch, ("action" = inline(OrderAction), Path, description = "The action")),
    responses((status = 200, body = Order, headers(("ETag" = String, description = "The new version"))),
        (status = 409, body = Problem, description = "The status does not allow the action: `allowed_actions` says what is allowed now")))]
async fn action(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, action)): Path<(i64, String)>,
    IfMatch(version): IfMatch,
) -> Result<(HeaderMap, Json<Order>), ApiError> {
    let Some(action) = OrderAction::ALL.into_iter().find(|a| a.as_str() == action) else {
        let names: Vec<&str> = OrderAction::ALL.iter().map(|a| a.as_str()).collect();
        let message = format!("'{action}' is not an order action: use one of {}", names.join(", "));
        return Err(bad_query(rapport_domain::ValidationErrors::single("action", message)));
    };
    let o = state.store.order_action(&user.actor, id, version, action).await?;
    Ok((etag(o.version), Json(o)))
}

/// Delete an order (kept as a tombstone for sync); its lines leave purchase history.
#[utoipa::path(delete, path = "/api/v1/orders/{id}", tag = "orders", operation_id = "delete_order", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_order(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}
