//! Order pages: the shared list and form (see [`crate::ui::records`]; the form's lines are the
//! JSON the API takes, which the page's script turns into line rows with live totals from
//! `/orders/preview`), the order's own page with its lines, totals and status buttons, and the
//! orders card on a person's page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::permissions::{Action, Actor, Object};
use rapport_domain::query::{ListParams, Page, SortField};
use rapport_domain::sales::order::{Order, OrderAction, OrderInput, SPEC};
use rapport_store::Error as StoreError;
use serde_json::Value;

use super::money;
use crate::AppState;
use crate::api::sales::orders::priced;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::records::{Pages, UiRecord, form_input, input_of, routes, to_json, users};
use crate::ui::{UiUser, render, urlencode};

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Order>().route("/orders/preview", post(preview)).route("/orders/{id}", get(detail)).route("/orders/{id}/action", post(action))
}

impl UiRecord for Order {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["order_date", "customer_name", "company_name", "status", "totals.total_minor", "owner_id", "paid_at"],
        filters: &["status", "owner_id", "currency"],
        sorts: &[("-name", "Newest first"), ("name", "Oldest first"), ("-total_minor", "Largest first"), ("-created_at", "Entered last")],
        search_hint: "",
        new_label: "New order",
        form: &[
            ("", &["customer_id", "company_id", "order_date", "owner_id", "opportunity_id", "currency", "tax_rate_bp"]),
            ("Lines", &["lines"]),
            ("", &["notes"]),
        ],
    };

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_orders(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_order(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        Ok(state.store.create_order(actor, order_input(input)?).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        state.store.update_order(actor, id, version, order_input(input)?).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_order(actor, id, version).await
    }
}

/// What a line of the form sends: the form shows stored lines (with their SKU and name), and
/// sends back only what a line input takes.
const LINE_INPUTS: [&str; 5] = ["product_id", "quantity", "unit_price_minor", "discount_bp", "discount_minor"];

/// The form's JSON as an order input: lines cut to what an input takes.
fn order_input(mut input: Value) -> Result<OrderInput, StoreError> {
    if let Some(Value::Array(lines)) = input.get_mut("lines") {
        for l in lines.iter_mut() {
            if let Value::Object(m) = l {
                m.retain(|k, _| LINE_INPUTS.contains(&k.as_str()));
            }
        }
    }
    input_of(input)
}

/// `POST /orders/preview`: the order form as it stands, priced (the script's live totals), or
/// the problem naming the wrong fields.
async fn preview(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let input = form_input(&Order::PAGES, user.actor(), &form, &[]);
    let priced_or = match order_input(input) {
        Ok(i) => state.store.price_order(user.actor(), i).await,
        Err(e) => Err(e),
    };
    Ok(match priced_or {
        Ok(d) => Json(priced(d)).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    })
}

#[derive(Template)]
#[template(path = "sales_order.html")]
struct DetailPage {
    user_name: String,
    csrf: String,
    o: Order,
    owner: String,
    /// Per line: SKU, name, quantity, unit price, discount, net.
    lines: Vec<[String; 6]>,
    /// (label, amount) of the order's totals.
    totals: Vec<(String, String)>,
    actions: Vec<&'static str>,
    may_update: bool,
    notice: Option<String>,
}

async fn detail_page(state: &AppState, user: &UiUser, id: i64, notice: Option<String>, status: StatusCode) -> Result<Response, ApiError> {
    let actor = user.actor();
    let o = state.store.get_order(actor, id).await?;
    let owners = users(state, actor).await?;
    let owner = o.data.owner_id.and_then(|id| owners.iter().find(|(i, _)| *i == id)).map(|(_, n)| n.clone()).unwrap_or_default();
    let m = |minor: i64| money(minor, &o.data.currency);
    let lines = o
        .data
        .lines
        .iter()
        .zip(&o.totals.lines)
        .map(|(l, t)| {
            let discount = match (l.discount_bp, t.discount_minor) {
                (_, 0) => String::new(),
                (0, d) => m(d),
                (bp, d) => format!("{} ({} %)", m(d), bp as f64 / 100.0),
            };
            [l.sku.clone(), l.name.clone(), l.quantity.to_string(), m(l.unit_price_minor), discount, m(t.net_minor)]
        })
        .collect();
    let t = &o.totals;
    let tax = format!("Tax ({} %)", o.data.tax_rate_bp as f64 / 100.0);
    let totals = vec![
        ("Subtotal".to_string(), m(t.subtotal_minor)),
        ("Discounts".to_string(), m(t.discount_minor)),
        ("Net".to_string(), m(t.net_minor)),
        (tax, m(t.tax_minor)),
        ("Total".to_string(), m(t.total_minor)),
    ];
    let may_update = actor.perms.allows(Object::Order, Action::Update);
    let page = DetailPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        owner,
        lines,
        totals,
        actions: if may_update { o.data.status.allowed_actions() } else { vec![] },
        may_update,
        notice,
        o,
    };
    Ok((status, render(&page)).into_response())
}

async fn detail(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    detail_page(&state, &user, id, None, StatusCode::OK).await
}

/// `POST /orders/{id}/action` (`action`, `version`): a status button. Back to the order, or
/// the order with what went wrong (a stale page, a status that no longer allows it).
async fn action(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let wanted = form.get("action").map(String::as_str).unwrap_or("");
    let Some(action) = OrderAction::ALL.into_iter().find(|a| a.as_str() == wanted) else {
        return detail_page(&state, &user, id, Some(format!("'{wanted}' is not an order action")), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    match state.store.order_action(user.actor(), id, crate::ui::form_version(&form), action).await {
        Ok(_) => Ok(Redirect::to(&format!("/orders/{id}")).into_response()),
        Err(e) => {
            let (status, detail) = crate::ui::refusal(e)?;
            detail_page(&state, &user, id, Some(detail), status).await
        }
    }
}

/// The orders of one person, newest first, as the card on their page shows them.
pub struct OrderCard {
    /// The orders the reader reaches: id, day, status, total.
    pub rows: Vec<(i64, String, &'static str, String)>,
    /// The query that prefills a new order's customer.
    pub link: String,
    /// Whether the reader may enter orders.
    pub may_create: bool,
}

/// The card for person `id`, named `name`.
pub async fn order_card(state: &AppState, user: &UiUser, id: i64, name: &str) -> Result<OrderCard, ApiError> {
    let actor = user.actor();
    let p = ListParams { limit: 20, sort: SortField::Name, desc: true, ..ListParams::default() }.with(&SPEC, "customer_id", id);
    let rows = state
        .store
        .list_orders(actor, &p)
        .await?
        .data
        .into_iter()
        .map(|o| {
            (o.id, o.data.order_date.clone().unwrap_or_default(), o.data.status.as_str(), money(o.totals.total_minor, &o.data.currency))
        })
        .collect();
    Ok(OrderCard {
        rows,
        link: format!("customer_id={id}&customer_id.title={}", urlencode(name)),
        may_create: actor.perms.allows(Object::Order, Action::Create),
    })
}
