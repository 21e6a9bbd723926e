//! Segment pages: the list of the shared record machinery (at `/segments` and
//! `/marketing/segments`) and the segment builder (`/segments/new`, `/segments/{id}`, also under
//! `/marketing/`): nested AND/OR groups of conditions over the fields the domain's catalogue
//! names (and people's custom fields), a live count as the rules change (`/segments/preview_count`,
//! the API's count for the session), each refused rule's error beside it (the 422 names its
//! path), and a static list's people added and removed by hand. The builder is `marketing.js`
//! over the rules' JSON, which stays an editable text area without it.

use std::collections::HashMap;

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::marketing::segments::{SPEC, Segment, SegmentInput};
use rapport_domain::permissions::{Action, Actor, Object};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::{FieldError, ValidationErrors};
use rapport_store::Error as StoreError;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::marketing::segments::rule_fields;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::records::{Pages, UiRecord, input_of, list_route, lookup_route, to_json};
use crate::ui::{UiUser, form_version, render};

pub(super) fn router() -> axum::Router<AppState> {
    let mut r = axum::Router::new()
        .route("/lookup/segments", lookup_route::<Segment>())
        .route("/segments/preview_count", post(preview_count))
        .route("/segments/{id}/delete", post(delete))
        .route("/segments/{id}/members", post(members));
    for base in ["/segments", "/marketing/segments"] {
        r = r
            .route(base, list_route::<Segment>())
            .route(&format!("{base}/new"), get(new_page).post(create))
            .route(&format!("{base}/{{id}}"), get(edit_page).post(save));
    }
    r
}

impl UiRecord for Segment {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["name", "kind", "description"],
        filters: &["kind"],
        sorts: &[("name", "Name A–Z"), ("-updated_at", "Recently changed"), ("relevance", "Best match")],
        search_hint: "Search name, description…",
        new_label: "New segment",
        form: &[("", &["name", "kind", "description"])],
    };

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_segments(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_segment(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        let input: SegmentInput = input_of(input)?;
        Ok(state.store.create_segment(actor, input).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        let input: SegmentInput = input_of(input)?;
        state.store.update_segment(actor, id, version, input).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_segment(actor, id, version).await
    }
}

#[derive(Template)]
#[template(path = "marketing_segment.html")]
struct BuilderPage {
    user_name: String,
    csrf: String,
    id: Option<i64>,
    version: i64,
    name: String,
    kind: String,
    description: String,
    /// The rules as JSON text (what the builder edits).
    rules: String,
    /// The segments whose members it may leave out: (id, name, left out now).
    exclusions: Vec<(i64, String, bool)>,
    /// The fields rules may name, with their types and operators, as JSON for the builder.
    fields_json: String,
    /// Cluster names, as JSON for the builder's cluster field.
    clusters_json: String,
    /// Every error, by path (`rules.all[1].op`).
    errors: Vec<FieldError>,
    /// The errors as JSON, for the builder to place beside their rules.
    errors_json: String,
    notice: Option<String>,
    /// People in it now (saved segments).
    count: Option<i64>,
    may_change: bool,
}

impl BuilderPage {
    /// The error of a top-level field, if any.
    fn err(&self, field: &str) -> String {
        self.errors.iter().filter(|e| e.field == field).map(|e| e.message.clone()).collect::<Vec<_>>().join("; ")
    }
}

/// The builder's fields and cluster names as JSON.
async fn catalogue_json(state: &AppState, actor: &Actor) -> Result<(String, String), ApiError> {
    let defs = state.store.customer_fields(actor).await?;
    let fields = serde_json::to_string(&rule_fields(&defs)).unwrap_or_else(|_| "[]".into());
    let clusters: Vec<Value> =
        state.store.cluster_names(actor).await?.into_iter().map(|c| json!({"cluster": c.cluster, "name": c.name})).collect();
    Ok((fields, Value::Array(clusters).to_string()))
}

struct Values {
    name: String,
    kind: String,
    description: String,
    rules: String,
    exclude: Vec<i64>,
}

impl Values {
    fn of(s: &Segment) -> Values {
        Values {
            name: s.data.name.clone(),
            kind: s.data.kind.clone(),
            description: s.data.description.clone().unwrap_or_default(),
            rules: if s.data.kind == "static" { String::new() } else { serde_json::to_string_pretty(&s.data.rules).unwrap_or_default() },
            exclude: s.data.exclude.clone(),
        }
    }

    fn from_form(form: &HashMap<String, String>) -> Values {
        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
        let exclude = exclude_of(form, &mut ValidationErrors::default());
        Values { name: get("name"), kind: get("kind"), description: get("description"), rules: get("rules"), exclude }
    }
}

#[allow(clippy::too_many_arguments)]
async fn builder(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    version: i64,
    v: Values,
    errors: Vec<FieldError>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let (fields_json, clusters_json) = catalogue_json(state, user.actor()).await?;
    let count = match id {
        Some(id) => {
            let a = state.store.audience(user.actor(), id).await?;
            Some(state.store.audience_count(user.actor(), &a).await?)
        }
        None => None,
    };
    let errors_json = serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into());
    let others = state.store.list_segments(user.actor(), &ListParams { limit: 500, ..ListParams::default() }).await?;
    let mut exclusions: Vec<(i64, String, bool)> =
        others.data.into_iter().filter(|s| Some(s.id) != id).map(|s| (s.id, s.data.name, v.exclude.contains(&s.id))).collect();
    // One left out but beyond the first 500 still shows, ticked.
    let beyond: Vec<i64> = v.exclude.iter().copied().filter(|x| !exclusions.iter().any(|e| e.0 == *x)).collect();
    exclusions.extend(beyond.into_iter().map(|x| (x, format!("segment {x}"), true)));
    let page = BuilderPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        id,
        version,
        name: v.name,
        kind: if v.kind.is_empty() { "dynamic".into() } else { v.kind },
        description: v.description,
        rules: v.rules,
        exclusions,
        fields_json,
        clusters_json,
        errors,
        errors_json,
        notice,
        count,
        may_change: user.actor().perms.allows(Object::Campaign, Action::Update),
    };
    Ok((status, render(&page)).into_response())
}

async fn new_page(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    let v = Values { name: String::new(), kind: "dynamic".into(), description: String::new(), rules: String::new(), exclude: vec![] };
    builder(&state, &user, None, 0, v, vec![], None, StatusCode::OK).await
}

async fn edit_page(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let s = state.store.get_segment(user.actor(), id).await?;
    builder(&state, &user, Some(id), s.version, Values::of(&s), vec![], None, StatusCode::OK).await
}

/// The segments a form leaves out: its ticked boxes (`exclude.<id>`), and the ids of its
/// `exclude` text (`1, 2`, what the live count sends); a word that is no id is the field's error.
fn exclude_of(form: &HashMap<String, String>, errs: &mut ValidationErrors) -> Vec<i64> {
    let mut out: Vec<i64> = form.keys().filter_map(|k| k.strip_prefix("exclude.")?.parse().ok()).collect();
    let text = form.get("exclude").map(String::as_str).unwrap_or("");
    for part in text.split([',', ' ']).map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<i64>() {
            Ok(i) => out.push(i),
            Err(_) => errs.add("exclude", format!("'{part}' is not a segment id")),
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The segment input a submitted builder form is, or its field errors.
fn input_of_form(form: &HashMap<String, String>, creating: bool) -> Result<SegmentInput, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let get = |k: &str| form.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let kind = get("kind");
    let rules_text = get("rules");
    let rules = if kind == "static" && rules_text.is_empty() {
        None
    } else if rules_text.is_empty() {
        Some(Value::Object(Default::default()))
    } else {
        match serde_json::from_str::<Value>(&rules_text) {
            Ok(v) => Some(v),
            Err(e) => {
                errs.add("rules", format!("is not JSON: {e}"));
                None
            }
        }
    };
    let exclude = exclude_of(form, &mut errs);
    let description = get("description");
    let input = SegmentInput {
        name: Some(get("name")),
        kind: if creating || !kind.is_empty() { Some(if kind.is_empty() { "dynamic".into() } else { kind }) } else { None },
        description: Some(Some(description).filter(|d| !d.is_empty())),
        rules,
        exclude: Some(exclude),
    };
    errs.into_result(input)
}

async fn refused(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    form: &HashMap<String, String>,
    e: StoreError,
) -> Result<Response, ApiError> {
    let version = form_version(form).unwrap_or(0);
    let (errors, notice) = match e {
        StoreError::Invalid(v) => (v.0, Some("Please correct the rules and fields marked below.".to_string())),
        other => {
            let (_, detail) = crate::ui::refusal(other)?;
            (vec![], Some(detail))
        }
    };
    builder(state, user, id, version, Values::from_form(form), errors, notice, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn create(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let r = match input_of_form(&form, true) {
        Ok(input) => state.store.create_segment(user.actor(), input).await,
        Err(v) => Err(StoreError::Invalid(v)),
    };
    match r {
        Ok(s) => Ok(Redirect::to(&format!("/segments/{}", s.id)).into_response()),
        Err(e) => refused(&state, &user, None, &form, e).await,
    }
}

async fn save(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let r = match input_of_form(&form, false) {
        Ok(input) => state.store.update_segment(user.actor(), id, form_version(&form), input).await,
        Err(v) => Err(StoreError::Invalid(v)),
    };
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/segments/{id}")).into_response()),
        Err(e) => refused(&state, &user, Some(id), &form, e).await,
    }
}

async fn delete(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    state.store.delete_segment(user.actor(), id, form_version(&form)).await?;
    Ok(Redirect::to("/marketing/segments").into_response())
}

/// The builder's live count: the rules (JSON text) and excluded ids of the form, counted as
/// `POST /api/v1/segments/preview_count` counts them; refused rules answer its 422, each
/// problem named by its path.
async fn preview_count(
    State(state): State<AppState>,
    user: UiUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut errs = ValidationErrors::default();
    let rules = match serde_json::from_str::<Value>(form.get("rules").map(String::as_str).unwrap_or("")) {
        Ok(v) => v,
        Err(e) => {
            errs.add("rules", format!("is not JSON: {e}"));
            Value::Null
        }
    };
    let exclude = exclude_of(&form, &mut errs);
    if !errs.0.is_empty() {
        return Err(StoreError::Invalid(errs).into());
    }
    let count = state.store.preview_count(user.actor(), &rules, &exclude).await?;
    Ok(Json(json!({"count": count})).into_response())
}

/// Adds (`add`) or removes (`remove`) one person, chosen by the type-ahead, to or from a list.
async fn members(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let person = form.get("person_id").and_then(|p| p.trim().parse::<i64>().ok());
    let r = match person {
        Some(p) if form.get("op").map(String::as_str) == Some("remove") => state.store.leave_list(user.actor(), id, &[p]).await,
        Some(p) => state.store.join_list(user.actor(), id, &[p]).await,
        None => Err(StoreError::Invalid(ValidationErrors::single("person_id", "choose a person"))),
    };
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/segments/{id}")).into_response()),
        Err(e) => {
            let s = state.store.get_segment(user.actor(), id).await?;
            let (errors, notice) = match e {
                StoreError::Invalid(v) => (v.0, Some("The list did not change.".to_string())),
                other => (vec![], Some(crate::ui::refusal(other)?.1)),
            };
            builder(&state, &user, Some(id), s.version, Values::of(&s), errors, notice, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}
