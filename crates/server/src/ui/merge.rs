//! `/customers/{id}/merge?with=ID`: two people side by side, a radio per field choosing whose
//! value survives, and a button that merges the other into this one (see
//! [`rapport_store::Store::merge_customers`]) and opens the survivor.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_domain::customer::Customer;
use rapport_domain::record::get_path;
use serde::Deserialize;
use serde_json::Value;

use super::{UiUser, refusal, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/customers/{id}/merge", get(page).post(submit))
}

/// One field of the page: its name (the radio's), label, both values as shown, and which side
/// is chosen.
struct Row {
    field: String,
    label: String,
    kept: String,
    other: String,
    other_chosen: bool,
    /// A list (other emails, phones, tags): a third radio keeps both.
    list: bool,
    both: bool,
}

#[derive(Template)]
#[template(path = "customer_merge.html")]
struct MergePage {
    user_name: String,
    csrf: String,
    kept: Customer,
    other: Customer,
    rows: Vec<Row>,
    notice: Option<String>,
}

#[derive(Deserialize)]
struct WithQuery {
    with: Option<i64>,
}

fn shown(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(String::from).unwrap_or_else(|| x.to_string())).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn json(c: &Customer) -> serde_json::Map<String, Value> {
    match serde_json::to_value(&c.data) {
        Ok(Value::Object(m)) => m,
        _ => Default::default(),
    }
}

async fn show(
    state: &AppState,
    user: &UiUser,
    id: i64,
    with: i64,
    chosen: &BTreeMap<String, i64>,
    notice: Option<(StatusCode, String)>,
) -> Result<Response, ApiError> {
    let kept = state.store.get_customer(user.actor(), id).await?;
    let other = state.store.get_customer(user.actor(), with).await?;
    let (a, b) = (json(&kept), json(&other));
    let labels: HashMap<&str, &str> = rapport_domain::customer::SPEC.fields.iter().map(|f| (f.name, f.label)).collect();
    let mut rows: Vec<Row> = rapport_store::merge_fields()
        .into_iter()
        .map(|f| {
            let (x, y) = (get_path(&a, f), get_path(&b, f));
            // Without a choice the survivor's value stays, or the other's fills a blank.
            let blank = shown(x).is_empty();
            let list = x.is_array();
            Row {
                list,
                both: list && !chosen.contains_key(f),
                field: f.to_string(),
                label: labels.get(f).copied().unwrap_or(f).to_string(),
                kept: shown(x),
                other: shown(y),
                other_chosen: chosen.get(f).map(|c| *c == with).unwrap_or(blank && !shown(y).is_empty()),
            }
        })
        .collect();
    let custom = |m: &serde_json::Map<String, Value>| m.get("custom").and_then(Value::as_object).cloned().unwrap_or_default();
    let (ca, cb) = (custom(&a), custom(&b));
    let mut keys: Vec<&String> = ca.keys().chain(cb.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let field = format!("custom.{k}");
        let (x, y) = (ca.get(k).map(shown).unwrap_or_default(), cb.get(k).map(shown).unwrap_or_default());
        let other_chosen = chosen.get(&field).map(|c| *c == with).unwrap_or(x.is_empty() && !y.is_empty());
        rows.push(Row { label: k.clone(), field, kept: x, other: y, other_chosen, list: false, both: false });
    }
    let (status, notice) = match notice {
        Some((s, n)) => (s, Some(n)),
        None => (StatusCode::OK, None),
    };
    let page = MergePage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), kept, other, rows, notice };
    Ok((status, render(&page)).into_response())
}

async fn page(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>, Query(q): Query<WithQuery>) -> Result<Response, ApiError> {
    let Some(with) = q.with else {
        return Err(ApiError::bad_field("with", "name the person to merge into this one: ?with=ID"));
    };
    show(&state, &user, id, with, &BTreeMap::new(), None).await
}

/// The form sends `with`, the survivor's `version`, and `f.<field>=<id>` per field.
async fn submit(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let with: i64 =
        get("with").and_then(|v| v.parse().ok()).ok_or_else(|| ApiError::bad_field("with", "the person to merge is missing"))?;
    let version = get("version").and_then(|v| v.parse().ok());
    let mut chosen = BTreeMap::new();
    for (k, v) in &form {
        if let Some(field) = k.strip_prefix("f.").filter(|_| !v.is_empty()) {
            let id: i64 = v.parse().map_err(|_| ApiError::bad_field(k, format!("'{v}' is not a person's id")))?;
            chosen.insert(field.to_string(), id);
        }
    }
    match state.store.merge_customers(user.actor(), id, &[with], version, &chosen).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}")).into_response()),
        Err(e) => {
            let notice = refusal(e)?;
            show(&state, &user, id, with, &chosen, Some(notice)).await
        }
    }
}
