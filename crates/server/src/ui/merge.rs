//! `/customers/{id}/merge?with=ID` and `/companies/{id}/merge?with=ID`: two records side by
//! side, a radio per field choosing whose value survives, and a button that merges the other
//! into this one (see [`rapport_store::Store::merge_customers`] and
//! [`rapport_store::Store::merge_companies`]) and opens the survivor.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_domain::permissions::Actor;
use rapport_domain::record::{RecordSpec, get_path};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{UiUser, refusal, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};

pub(super) fn router() -> axum::Router<AppState> {
    let routes = |o: Merged| {
        get(move |s: State<AppState>, u: UiUser, id: Path<i64>, q: Query<WithQuery>| page(o, s, u, id, q))
            .post(move |s: State<AppState>, u: UiUser, id: Path<i64>, f: Form<Vec<(String, String)>>| submit(o, s, u, id, f))
    };
    axum::Router::new().route("/customers/{id}/merge", routes(Merged::People)).route("/companies/{id}/merge", routes(Merged::Companies))
}

/// What a merge page merges.
#[derive(Clone, Copy)]
enum Merged {
    People,
    Companies,
}

impl Merged {
    fn plural(self) -> &'static str {
        match self {
            Merged::People => "customers",
            Merged::Companies => "companies",
        }
    }
    fn noun(self) -> &'static str {
        match self {
            Merged::People => "person",
            Merged::Companies => "company",
        }
    }
    fn spec(self) -> &'static RecordSpec {
        match self {
            Merged::People => &rapport_domain::customer::SPEC,
            Merged::Companies => &rapport_domain::company::SPEC,
        }
    }
    fn fields(self) -> Vec<&'static str> {
        match self {
            Merged::People => rapport_store::merge_fields(),
            Merged::Companies => rapport_store::company_merge_fields(),
        }
    }
    /// What the page says happens to the other record.
    fn moves(self) -> &'static str {
        match self {
            Merged::People => {
                "becomes a pointer to them, and their orders, deals, activities, tickets, memberships and consents move over. Other emails, phones and tags are kept from both unless you choose one side."
            }
            Merged::Companies => {
                "becomes a pointer to it, and its people, orders, deals, activities, tickets and SLA policies move over. Tags are kept from both unless you choose one side."
            }
        }
    }
    async fn load(self, state: &AppState, actor: &Actor, id: i64) -> Result<Side, rapport_store::Error> {
        Ok(match self {
            Merged::People => {
                let c = state.store.get_customer(actor, id).await?;
                Side { id: c.id, name: c.data.name.clone(), version: c.version, data: json(&c.data) }
            }
            Merged::Companies => {
                let c = state.store.get_company(actor, id).await?;
                Side { id: c.id, name: c.data.name.clone(), version: c.version, data: json(&c.data) }
            }
        })
    }
    async fn merge(
        self,
        state: &AppState,
        actor: &Actor,
        id: i64,
        with: i64,
        version: Option<i64>,
        chosen: &BTreeMap<String, i64>,
    ) -> Result<(), rapport_store::Error> {
        match self {
            Merged::People => state.store.merge_customers(actor, id, &[with], version, chosen).await.map(|_| ()),
            Merged::Companies => state.store.merge_companies(actor, id, &[with], version, chosen).await.map(|_| ()),
        }
    }
}

/// One of the two records on the page.
struct Side {
    id: i64,
    name: String,
    version: i64,
    data: Map<String, Value>,
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
#[template(path = "record_merge.html")]
struct MergePage {
    user_name: String,
    csrf: String,
    plural: &'static str,
    heading: &'static str,
    moves: &'static str,
    kept: Side,
    other: Side,
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

fn json<T: serde::Serialize>(d: &T) -> Map<String, Value> {
    match serde_json::to_value(d) {
        Ok(Value::Object(m)) => m,
        _ => Default::default(),
    }
}

async fn show(
    o: Merged,
    state: &AppState,
    user: &UiUser,
    id: i64,
    with: i64,
    chosen: &BTreeMap<String, i64>,
    notice: Option<(StatusCode, String)>,
) -> Result<Response, ApiError> {
    let kept = o.load(state, user.actor(), id).await?;
    let other = o.load(state, user.actor(), with).await?;
    let (a, b) = (&kept.data, &other.data);
    let labels: HashMap<&str, &str> = o.spec().fields.iter().map(|f| (f.name, f.label)).collect();
    let mut rows: Vec<Row> = o
        .fields()
        .into_iter()
        .map(|f| {
            let (x, y) = (get_path(a, f), get_path(b, f));
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
    let custom = |m: &Map<String, Value>| m.get("custom").and_then(Value::as_object).cloned().unwrap_or_default();
    let (ca, cb) = (custom(a), custom(b));
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
    let heading = match o {
        Merged::People => "Merge two people",
        Merged::Companies => "Merge two companies",
    };
    let page = MergePage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        plural: o.plural(),
        heading,
        moves: o.moves(),
        kept,
        other,
        rows,
        notice,
    };
    Ok((status, render(&page)).into_response())
}

async fn page(
    o: Merged,
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Query(q): Query<WithQuery>,
) -> Result<Response, ApiError> {
    let Some(with) = q.with else {
        return Err(ApiError::bad_field("with", format!("name the {} to merge into this one: ?with=ID", o.noun())));
    };
    show(o, &state, &user, id, with, &BTreeMap::new(), None).await
}

/// The form sends `with`, the survivor's `version`, and `f.<field>=<id>` per field.
async fn submit(
    o: Merged,
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let with: i64 = get("with")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::bad_field("with", format!("the {} to merge is missing", o.noun())))?;
    let version = get("version").and_then(|v| v.parse().ok());
    let mut chosen = BTreeMap::new();
    for (k, v) in &form {
        if let Some(field) = k.strip_prefix("f.").filter(|_| !v.is_empty()) {
            let id: i64 = v.parse().map_err(|_| ApiError::bad_field(k, format!("'{v}' is not an id of the merged records")))?;
            chosen.insert(field.to_string(), id);
        }
    }
    match o.merge(&state, user.actor(), id, with, version, &chosen).await {
        Ok(()) => Ok(Redirect::to(&format!("/{}/{id}", o.plural())).into_response()),
        Err(e) => {
            let notice = refusal(e)?;
            show(o, &state, &user, id, with, &chosen, Some(notice)).await
        }
    }
}
