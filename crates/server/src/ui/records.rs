//! The web UI every record type shares, drawn from its [`RecordSpec`]: the list page (live
//! search, filters, sort, cursor paging) and the create and edit form (each field with the
//! input its kind takes, references as a type-ahead over the referenced list, every error
//! beside its field, a stale version refused). A record type describes its pages once in a
//! [`Pages`] and connects them to the store in [`UiRecord`]; its detail page stays its own.

use std::collections::HashMap;
use std::future::Future;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::ValidationErrors;
use rapport_domain::custom_field::CustomField;
use rapport_domain::permissions::{Action, Actor, Object};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::record::{Field, Kind, RecordSpec, get_path, set_path};
use rapport_domain::sales::money::{Currency, Money, format_minor};
use rapport_domain::values::Phone;
use rapport_store::Error as StoreError;
use serde_json::{Map, Value};

use super::forms::{FormState, number_text};
use super::{UiUser, render, urlencode};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path, QueryPairs};

/// How a record type's list and form look.
pub struct Pages {
    /// The record type.
    pub spec: &'static RecordSpec,
    /// Fields shown as list columns (JSON paths, or the `shown_as` name of a reference); the
    /// first links to the record.
    pub columns: &'static [&'static str],
    /// Filters offered above the list (list parameters of filterable fields).
    pub filters: &'static [&'static str],
    /// Sort choices: (`sort=` value, label).
    pub sorts: &'static [(&'static str, &'static str)],
    /// The search box's hint.
    pub search_hint: &'static str,
    /// The "new" button's label.
    pub new_label: &'static str,
    /// Form sections: (legend, or "" for the top, field names in order).
    pub form: &'static [(&'static str, &'static [&'static str])],
}

/// What the shared pages need of a record type's store calls; records travel as their JSON
/// form, which the pages read through the spec.
pub trait UiRecord: Send + Sync + 'static {
    /// The pages.
    const PAGES: Pages;
    /// Where the list is served, when not at `/{plural}` (a second list of the same records,
    /// such as the leads among people; see [`list_route`]).
    const LIST_PATH: Option<&'static str> = None;
    /// Whether the type serves its own list page at `/{plural}` (the ticket queue, with counts
    /// and bulk assignment), so [`routes`] leaves that route out.
    const OWN_LIST: bool = false;
    /// Whether the list takes `segment_id=` (people: only a segment's members), with a
    /// type-ahead over segments above it.
    const SEGMENT_FILTER: bool = false;

    /// Values a new record's form starts with beyond the owner and the first choices (the
    /// signed-in user is `user_id`).
    fn prefill(_user_id: i64) -> Vec<(&'static str, String)> {
        vec![]
    }

    /// A button at the end of a list row (label, link), for what one does to the record from
    /// the list (convert a lead).
    fn row_action(_record: &Map<String, Value>) -> Option<(&'static str, String)> {
        None
    }

    /// A page of records.
    fn list(state: &AppState, actor: &Actor, p: &ListParams) -> impl Future<Output = Result<Page<Value>, StoreError>> + Send;
    /// One record and its version.
    fn get(state: &AppState, actor: &Actor, id: i64) -> impl Future<Output = Result<Value, StoreError>> + Send;
    /// Creates a record from its input as JSON (the API's create body); its new id.
    fn create(state: &AppState, actor: &Actor, input: Value) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// Changes a record from its input as JSON, if still at `version`.
    fn update(
        state: &AppState,
        actor: &Actor,
        id: i64,
        version: Option<i64>,
        input: Value,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes a record, if still at `version`.
    fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The list, form and lookup routes of `T` (its detail page `/{plural}/{id}` is its own).
pub fn routes<T: UiRecord>() -> axum::Router<AppState> {
    let p = T::PAGES.spec.plural;
    let router = axum::Router::new();
    let router = if T::OWN_LIST { router } else { router.route(&format!("/{p}"), get(list::<T>)) };
    router
        .route(&format!("/{p}/new"), get(new_form::<T>).post(create::<T>))
        .route(&format!("/{p}/{{id}}/edit"), get(edit_form::<T>).post(save::<T>))
        .route(&format!("/{p}/{{id}}/delete"), post(delete::<T>))
        .route(&format!("/lookup/{p}"), get(lookup::<T>))
}

/// The list page of `T` alone, for a second list of a record type served at `T::LIST_PATH`.
pub fn list_route<T: UiRecord>() -> axum::routing::MethodRouter<AppState> {
    get(list::<T>)
}

/// The type-ahead route of `T` alone (`/lookup/{plural}`), for a type whose pages are its own.
pub fn lookup_route<T: UiRecord>() -> axum::routing::MethodRouter<AppState> {
    get(lookup::<T>)
}

/// A record as the JSON form the API answers with.
pub fn to_json<S: serde::Serialize>(record: &S) -> Value {
    serde_json::to_value(record).unwrap_or(Value::Null)
}

/// A decoded input for a store call: the JSON a form became, as the type's input, or the
/// field errors of a value the input refuses.
pub fn input_of<I: serde::de::DeserializeOwned>(json: Value) -> Result<I, StoreError> {
    serde_path_to_error::deserialize(json).map_err(|e| {
        let path = e.path().to_string();
        StoreError::Invalid(ValidationErrors::single(if path == "." { "body".to_string() } else { path }, e.into_inner().to_string()))
    })
}

fn store_pii(actor: &Actor, object: Object) -> bool {
    actor.sees_pii(object)
}

// ---------------------------------------------------------------------------------------- list

/// One cell of a list row.
pub struct Cell {
    /// Text shown.
    pub text: String,
    /// Where it links, if anywhere.
    pub href: Option<String>,
    /// A badge class (choices), tags, or a plain cell.
    pub style: CellStyle,
}

/// How a cell is drawn.
#[derive(PartialEq)]
pub enum CellStyle {
    /// Text.
    Plain,
    /// Right-aligned number.
    Number,
    /// A coloured badge (`class="stage {text}"`).
    Badge,
    /// Tags, split by commas.
    Tags,
    /// A button linking to an action on the record.
    Action,
}

/// A filter control above the list.
pub struct FilterControl {
    /// List parameter.
    pub param: String,
    /// Label.
    pub label: String,
    /// Current value.
    pub value: String,
    /// Choices for a select (value, label); empty means a text input.
    pub options: Vec<(String, String)>,
    /// For a type-ahead: the lookup it searches (`/lookup/segments`), and the chosen record's title.
    pub lookup: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "record_list.html")]
struct ListPage {
    user_name: String,
    csrf: String,
    title: String,
    path: String,
    new_label: String,
    may_create: bool,
    q: String,
    search_hint: String,
    searched: bool,
    controls: Vec<FilterControl>,
    sort: String,
    sorts: Vec<(String, String)>,
    headers: Vec<(String, bool)>,
    rows: Vec<Vec<Cell>>,
    error: Option<String>,
    has_cursor: bool,
    first_url: String,
    next_url: Option<String>,
}

fn query_url(path: &str, pairs: &[(String, String)], cursor: Option<&str>) -> String {
    let mut parts: Vec<String> =
        pairs.iter().filter(|(k, v)| k != "cursor" && !v.is_empty()).map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
    if let Some(c) = cursor {
        parts.push(format!("cursor={c}"));
    }
    if parts.is_empty() { path.to_string() } else { format!("{path}?{}", parts.join("&")) }
}

/// The field a list column shows: a field of the spec, or a reference shown by title.
fn column_field(spec: &RecordSpec, column: &str) -> Option<&'static Field> {
    spec.field(column).or_else(|| spec.fields.iter().find(|f| f.shown_as == Some(column)))
}

/// A field's value as people read it.
fn shown_value(f: &Field, record: &Map<String, Value>, users: &[(i64, String)]) -> String {
    let v = get_path(record, f.name);
    match f.kind {
        Kind::Phone => v.as_str().map(Phone::display).unwrap_or_default(),
        Kind::Phones | Kind::Emails | Kind::Tags => v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .map(|s| if f.kind == Kind::Phones { Phone::display(s) } else { s.to_string() })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        Kind::Money => match (v.as_i64(), record.get("currency").and_then(|c| c.as_str())) {
            (Some(m), Some(c)) => format_minor(m, c),
            (Some(m), None) => m.to_string(),
            _ => String::new(),
        },
        Kind::Ref("users") => v.as_i64().and_then(|id| users.iter().find(|(i, _)| *i == id)).map(|(_, n)| n.clone()).unwrap_or_default(),
        Kind::Ref(_) => match f.shown_as {
            Some(s) => record.get(s).and_then(|t| t.as_str()).unwrap_or("").to_string(),
            None => v.as_i64().map(|i| i.to_string()).unwrap_or_default(),
        },
        Kind::Bool => if v.as_bool() == Some(true) { "yes" } else { "" }.into(),
        Kind::Number => v.as_f64().map(|n| if n.fract() == 0.0 { format!("{n}") } else { format!("{n:.2}") }).unwrap_or_default(),
        _ => match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        },
    }
}

fn cell(spec: &RecordSpec, column: &str, record: &Map<String, Value>, users: &[(i64, String)], first: bool) -> Cell {
    let id = record.get("id").and_then(|v| v.as_i64()).unwrap_or(0);
    let Some(f) = column_field(spec, column) else {
        return Cell { text: String::new(), href: None, style: CellStyle::Plain };
    };
    let text = match (f.kind, get_path(record, f.name).as_str()) {
        (Kind::Time, Some(t)) => t.get(..16).unwrap_or(t).replace('T', " "),
        _ => shown_value(f, record, users),
    };
    let href = if first {
        Some(format!("/{}/{id}", spec.plural))
    } else if let (Kind::Ref(target), Some(rid)) = (f.kind, get_path(record, f.name).as_i64()) {
        (target != "users" && !text.is_empty()).then(|| format!("/{target}/{rid}"))
    } else {
        None
    };
    let style = match f.kind {
        Kind::Choice(_) => CellStyle::Badge,
        Kind::Tags => CellStyle::Tags,
        Kind::Int | Kind::Number | Kind::Money => CellStyle::Number,
        _ => CellStyle::Plain,
    };
    Cell { text, href, style }
}

/// The users as (id, name), for owner names and owner choices.
pub async fn users(state: &AppState, actor: &Actor) -> Result<Vec<(i64, String)>, ApiError> {
    Ok(state.store.list_users(actor).await?.into_iter().map(|u| (u.id, u.name)).collect())
}

async fn custom_defs(state: &AppState, actor: &Actor, spec: &RecordSpec) -> Result<Vec<CustomField>, ApiError> {
    Ok(match spec.custom {
        Some(o) => state.store.list_custom_fields(actor, Some(o)).await?,
        None => vec![],
    })
}

async fn list<T: UiRecord>(State(state): State<AppState>, user: UiUser, QueryPairs(pairs): QueryPairs) -> Result<Response, ApiError> {
    let pages = T::PAGES;
    let spec = pages.spec;
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let users = users(&state, user.actor()).await?;
    let defs = custom_defs(&state, user.actor(), spec).await?;
    let mut params_pairs = pairs.clone();
    // Without a query there is nothing to rank; with one, the best matches come first unless
    // the user picked another order.
    if get("sort") == "relevance" && get("q").trim().is_empty() {
        params_pairs.retain(|(k, _)| k != "sort");
    }
    // `segment_id=`: only the segment's members (an unknown segment is the list's error).
    let mut segment = None;
    if T::SEGMENT_FILTER {
        let (rest, s) = super::marketing::segment_filter(&state, user.actor(), params_pairs).await?;
        params_pairs = rest;
        segment = Some(s);
    }
    let (rows, next, error) = match (ListParams::parse(&params_pairs, spec, &defs), &segment) {
        (_, Some(Err(e))) => (vec![], None, Some(e.clone())),
        (Ok(p), _) => {
            let audience = segment.as_ref().and_then(|s| s.as_ref().ok()).and_then(|s| s.as_ref()).map(|(a, _)| a.clone());
            let page = T::list(&state, user.actor(), &ListParams { limit: 50, audience, ..p }).await?;
            (page.data, page.next_cursor, None)
        }
        (Err(e), _) => (vec![], None, Some(e.to_string())),
    };
    let rows: Vec<Vec<Cell>> = rows
        .iter()
        .filter_map(|r| r.as_object())
        .map(|r| {
            let mut cells: Vec<Cell> = pages.columns.iter().enumerate().map(|(i, c)| cell(spec, c, r, &users, i == 0)).collect();
            if let Some((label, href)) = T::row_action(r) {
                cells.push(Cell { text: label.into(), href: Some(href), style: CellStyle::Action });
            }
            cells
        })
        .collect();
    let actions = rows.iter().any(|r| r.len() > pages.columns.len());
    let mut controls: Vec<FilterControl> = pages
        .filters
        .iter()
        .filter_map(|param| {
            let f = spec.param(param)?;
            let options: Vec<(String, String)> = match f.kind {
                Kind::Choice(choices) => choices.iter().map(|c| (c.to_string(), c.replace('_', " "))).collect(),
                Kind::Ref("users") => users.iter().map(|(i, n)| (i.to_string(), n.clone())).collect(),
                _ => vec![],
            };
            let label = if options.is_empty() { f.label.to_string() } else { format!("Any {}", f.label.to_lowercase()) };
            Some(FilterControl { param: param.to_string(), label, value: get(param), options, lookup: None })
        })
        .collect();
    if T::SEGMENT_FILTER {
        let title = segment.and_then(|s| s.ok()).flatten().map(|(_, name)| name).unwrap_or_default();
        controls.push(FilterControl {
            param: "segment_id".into(),
            label: "In segment".into(),
            value: get("segment_id"),
            options: vec![],
            lookup: Some(("/lookup/segments".into(), title)),
        });
    }
    let path = T::LIST_PATH.map(String::from).unwrap_or_else(|| format!("/{}", spec.plural));
    let page = ListPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        title: T::LIST_PATH.and_then(|p| p.strip_prefix('/')).map(capitalized).unwrap_or_else(|| capitalized(spec.label_plural)),
        new_label: pages.new_label.into(),
        may_create: user.actor().perms.allows(spec.object, Action::Create),
        q: get("q"),
        search_hint: pages.search_hint.into(),
        searched: spec.searched(),
        controls,
        sort: get("sort"),
        sorts: pages.sorts.iter().map(|(v, l)| (v.to_string(), l.to_string())).collect(),
        headers: pages
            .columns
            .iter()
            .map(|c| {
                let f = column_field(spec, c);
                let label = f.map(|f| f.label).unwrap_or(c);
                (label.to_string(), f.is_some_and(|f| matches!(f.kind, Kind::Int | Kind::Number | Kind::Money)))
            })
            .chain(actions.then(|| (String::new(), false)))
            .collect(),
        rows,
        error,
        has_cursor: !get("cursor").is_empty(),
        first_url: query_url(&path, &pairs, None),
        next_url: next.map(|c| query_url(&path, &pairs, Some(&c))),
        path,
    };
    Ok(render(&page))
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// `/lookup/{plural}?q=…`: the type-ahead of reference fields, the first matches as
/// `[{"id", "title"}]`.
async fn lookup<T: UiRecord>(State(state): State<AppState>, user: UiUser, QueryPairs(pairs): QueryPairs) -> Result<Response, ApiError> {
    let spec = T::PAGES.spec;
    let q = pairs.iter().find(|(k, _)| k == "q").map(|(_, v)| v.as_str()).unwrap_or("");
    let mut p = ListParams { limit: 20, ..Default::default() };
    p.terms = rapport_domain::text::query_terms(q);
    if !p.terms.is_empty() {
        p.sort = rapport_domain::query::SortField::Relevance;
    }
    let page = T::list(&state, user.actor(), &p).await?;
    let found: Vec<Value> = page
        .data
        .iter()
        .filter_map(|r| Some(serde_json::json!({"id": r.get("id")?, "title": get_path(r.as_object()?, spec.title)})))
        .collect();
    Ok(Json(found).into_response())
}

// ---------------------------------------------------------------------------------------- form

/// One input of a form.
pub struct Input {
    /// Field name (the input's `name`, and where its error is shown).
    pub name: String,
    /// Label.
    pub label: String,
    /// `text`, `textarea`, `select`, `checkbox`, `date`, `datetime`, `number`, `money`, `lookup`.
    pub widget: &'static str,
    /// Choices of a select (value, label).
    pub options: Vec<(String, String)>,
    /// For lookups: the list searched, and the title of the record now chosen.
    pub lookup: String,
    /// The chosen record's title (lookups).
    pub title: String,
    /// Shown masked and not editable (personal data without `pii`).
    pub disabled: bool,
    /// Whether it spans the form's width.
    pub wide: bool,
}

/// A group of inputs.
pub struct Section {
    /// Legend ("" for the top group).
    pub legend: String,
    /// Inputs.
    pub inputs: Vec<Input>,
}

#[derive(Template)]
#[template(path = "record_form.html")]
struct FormPage {
    user_name: String,
    csrf: String,
    title: String,
    form_id: String,
    action: String,
    cancel: String,
    version: String,
    notice: Option<String>,
    form: FormState,
    sections: Vec<Section>,
    defs: Vec<CustomField>,
}

fn widget(f: &Field) -> &'static str {
    match f.kind {
        Kind::LongText | Kind::Json => "textarea",
        Kind::Choice(_) | Kind::Ref("users") => "select",
        Kind::Ref(_) => "lookup",
        Kind::Bool => "checkbox",
        Kind::Date => "date",
        Kind::Time => "datetime",
        Kind::Int | Kind::Number => "number",
        Kind::Money => "money",
        _ => "text",
    }
}

/// The sections of `T`'s form, for `actor`.
fn sections(pages: &Pages, actor: &Actor, users: &[(i64, String)], form: &FormState) -> Vec<Section> {
    let spec = pages.spec;
    let pii = store_pii(actor, spec.object);
    pages
        .form
        .iter()
        .map(|(legend, names)| Section {
            legend: legend.to_string(),
            inputs: names
                .iter()
                .filter_map(|n| spec.field(n))
                .filter(|f| !matches!(f.kind, Kind::Custom) && !f.read_only)
                .map(|f| {
                    let options = match f.kind {
                        Kind::Choice(choices) => choices.iter().map(|c| (c.to_string(), c.replace('_', " "))).collect(),
                        Kind::Ref("users") => users.iter().map(|(i, n)| (i.to_string(), n.clone())).collect(),
                        _ => vec![],
                    };
                    let lookup = match f.kind {
                        Kind::Ref(t) if t != "users" => format!("/lookup/{t}"),
                        _ => String::new(),
                    };
                    Input {
                        name: f.name.to_string(),
                        label: f.label.to_string(),
                        widget: widget(f),
                        options,
                        title: form.v(&format!("{}.title", f.name)).to_string(),
                        lookup,
                        disabled: f.personal && !pii,
                        wide: matches!(f.kind, Kind::LongText | Kind::Json),
                    }
                })
                .collect(),
        })
        .collect()
}

/// A record's values as form inputs, by input name (`address.street`, `custom.tier`, and
/// `<ref>.title` for the title a lookup shows).
pub fn form_values(spec: &RecordSpec, record: &Map<String, Value>) -> FormState {
    let mut values = HashMap::new();
    for f in spec.writable() {
        let v = get_path(record, f.name);
        match f.kind {
            Kind::Custom => {
                for (k, v) in v.as_object().into_iter().flatten() {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        Value::Bool(true) => "on".into(),
                        Value::Bool(false) | Value::Null => String::new(),
                        other => number_text(other),
                    };
                    values.insert(format!("custom.{k}"), s);
                }
            }
            Kind::Money => {
                let text = match (v.as_i64(), record.get("currency").and_then(|c| c.as_str()).and_then(|c| Currency::parse(c).ok())) {
                    (Some(m), Some(c)) => Money::new(m, c).format_amount(),
                    (Some(m), None) => m.to_string(),
                    _ => String::new(),
                };
                values.insert(f.name.to_string(), text);
            }
            Kind::Bool => {
                values.insert(f.name.to_string(), if v.as_bool() == Some(true) { "on".into() } else { String::new() });
            }
            _ => {
                values.insert(f.name.to_string(), shown_value(f, record, &[]));
                if let (Kind::Ref(_), Some(s)) = (f.kind, f.shown_as) {
                    values.insert(format!("{}.title", f.name), record.get(s).and_then(|t| t.as_str()).unwrap_or("").to_string());
                }
                if let Kind::Ref(_) = f.kind {
                    values.insert(f.name.to_string(), v.as_i64().map(|i| i.to_string()).unwrap_or_default());
                }
            }
        }
    }
    FormState { values, errors: HashMap::new() }
}

fn text(form: &HashMap<String, String>, k: &str) -> Option<String> {
    form.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A submitted form as the record type's input JSON (what the API's create and PATCH take).
/// Every field of the form is sent, so it replaces all; personal fields are left out for roles
/// that see them masked (their inputs are disabled), so they keep their stored values.
pub fn form_input(pages: &Pages, actor: &Actor, form: &HashMap<String, String>, defs: &[CustomField]) -> Value {
    let spec = pages.spec;
    let pii = store_pii(actor, spec.object);
    let mut out = Map::new();
    let on_form: Vec<&str> = pages.form.iter().flat_map(|(_, names)| names.iter().copied()).collect();
    for f in spec.writable().filter(|f| on_form.contains(&f.name)) {
        if f.personal && !pii {
            continue;
        }
        let list = |sep: &[char]| -> Value {
            Value::Array(
                form.get(f.name)
                    .map(|s| s.split(sep).map(str::trim).filter(|t| !t.is_empty()).map(|t| Value::String(t.to_string())).collect())
                    .unwrap_or_default(),
            )
        };
        let v = match f.kind {
            Kind::Custom => Value::Object(super::forms::custom_values(form, defs)),
            Kind::Tags => list(&[',']),
            Kind::Emails | Kind::Phones => list(&[',', '\n', ';']),
            Kind::Bool => Value::Bool(form.contains_key(f.name)),
            Kind::Int | Kind::Ref(_) => match text(form, f.name) {
                Some(s) => s.parse::<i64>().map(Value::from).unwrap_or(Value::String(s)),
                None => Value::Null,
            },
            Kind::Number => match text(form, f.name) {
                Some(s) => s.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number).unwrap_or(Value::String(s)),
                None => Value::Null,
            },
            Kind::Money => match text(form, f.name) {
                Some(s) => {
                    let currency = text(form, "currency").and_then(|c| Currency::parse(&c).ok());
                    match currency.map(|c| Money::parse_major(&s, c)) {
                        Some(Ok(m)) => Value::from(m.minor()),
                        _ => Value::String(s),
                    }
                }
                None => Value::Null,
            },
            // Structured fields travel as JSON text (the page's script writes it); text that is
            // not JSON goes as it is, for the input to refuse naming the field.
            Kind::Json => match text(form, f.name) {
                Some(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                None => Value::Array(vec![]),
            },
            Kind::Choice(_) if text(form, f.name).is_none() => continue,
            _ => text(form, f.name).map(Value::String).unwrap_or(Value::Null),
        };
        set_path(&mut out, f.name, v);
    }
    Value::Object(out)
}

async fn form_page<T: UiRecord>(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    version: i64,
    form: FormState,
    notice: Option<String>,
) -> Result<Response, ApiError> {
    let pages = T::PAGES;
    let spec = pages.spec;
    let users = users(state, user.actor()).await?;
    let status = if notice.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let title = match id {
        Some(_) => format!("Edit {}", form.v(spec.title)),
        None => pages.new_label.to_string(),
    };
    let page = FormPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        title,
        form_id: format!("{}-form", spec.name),
        action: id.map(|i| format!("/{}/{i}/edit", spec.plural)).unwrap_or_else(|| format!("/{}/new", spec.plural)),
        cancel: id.map(|i| format!("/{}/{i}", spec.plural)).unwrap_or_else(|| format!("/{}", spec.plural)),
        version: version.to_string(),
        notice,
        sections: sections(&pages, user.actor(), &users, &form),
        defs: custom_defs(state, user.actor(), spec).await?,
        form,
    };
    Ok((status, render(&page)).into_response())
}

/// The defaults of a new record's form: owned by its creator, the first of each choice.
fn new_values(spec: &RecordSpec, user: &UiUser) -> FormState {
    let mut form = FormState::default();
    if spec.owned {
        form.values.insert("owner_id".into(), user.user().id.to_string());
    }
    for f in spec.writable() {
        if let Kind::Choice(choices) = f.kind {
            form.values.insert(f.name.into(), choices.first().copied().unwrap_or("").into());
        }
    }
    form
}

async fn new_form<T: UiRecord>(State(state): State<AppState>, user: UiUser, QueryPairs(pairs): QueryPairs) -> Result<Response, ApiError> {
    let mut form = new_values(T::PAGES.spec, &user);
    for (k, v) in T::prefill(user.user().id) {
        form.values.insert(k.to_string(), v);
    }
    // Links such as "new deal for this person" prefill reference fields (and the title a
    // lookup shows, as `<field>.title`).
    let spec = T::PAGES.spec;
    for (k, v) in pairs {
        if spec.field(&k).is_some() || k.strip_suffix(".title").and_then(|f| spec.field(f)).is_some() {
            form.values.insert(k, v);
        }
    }
    form_page::<T>(&state, &user, None, 0, form, None).await
}

async fn edit_form<T: UiRecord>(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let record = T::get(&state, user.actor(), id).await?;
    let version = record.get("version").and_then(|v| v.as_i64()).unwrap_or(0);
    let values = form_values(T::PAGES.spec, record.as_object().unwrap_or(&Map::new()));
    form_page::<T>(&state, &user, Some(id), version, values, None).await
}

/// A refused submission: the form again with the submitted values and each error beside its
/// field. Errors that are not about the input are answered as such.
async fn rejected<T: UiRecord>(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    form: HashMap<String, String>,
    e: StoreError,
) -> Result<Response, ApiError> {
    let version = super::form_version(&form).unwrap_or(0);
    let (fs, notice) = super::form_errors(form, e)?;
    form_page::<T>(state, user, id, version, fs, notice).await
}

async fn create<T: UiRecord>(
    State(state): State<AppState>,
    user: UiUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let defs = custom_defs(&state, user.actor(), T::PAGES.spec).await?;
    let input = form_input(&T::PAGES, user.actor(), &form, &defs);
    match T::create(&state, user.actor(), input).await {
        Ok(id) => Ok(Redirect::to(&format!("/{}/{id}", T::PAGES.spec.plural)).into_response()),
        Err(e) => rejected::<T>(&state, &user, None, form, e).await,
    }
}

async fn save<T: UiRecord>(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let defs = custom_defs(&state, user.actor(), T::PAGES.spec).await?;
    let input = form_input(&T::PAGES, user.actor(), &form, &defs);
    match T::update(&state, user.actor(), id, super::form_version(&form), input).await {
        Ok(()) => Ok(Redirect::to(&format!("/{}/{id}", T::PAGES.spec.plural)).into_response()),
        Err(e) => rejected::<T>(&state, &user, Some(id), form, e).await,
    }
}

async fn delete<T: UiRecord>(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    T::delete(&state, user.actor(), id, super::form_version(&form)).await?;
    Ok(Redirect::to(&format!("/{}", T::PAGES.spec.plural)).into_response())
}
