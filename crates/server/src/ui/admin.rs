//! Admin pages: users and their roles, teams, and the audit log. The store refuses every
//! action here to roles without the permission, so these handlers check nothing themselves.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::accounts::{NewUser, RoleDefinition, RoleInfo, Team, TeamChanges, User, UserChanges};
use rapport_domain::audit::{AuditEntry, AuditFilter};
use rapport_domain::permissions::{Action, Object, Permissions, Visibility};

use super::{UiUser, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Query};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/update", post(update_user))
        .route("/admin/teams", get(teams).post(save_team))
        .route("/admin/roles", get(roles).post(save_role))
        .route("/admin/audit", get(audit))
}

/// A refused admin action is shown as a page, not a bare error.
fn refused(e: rapport_store::Error) -> Result<Response, ApiError> {
    match e {
        rapport_store::Error::Denied(d) => {
            Ok((StatusCode::FORBIDDEN, axum::response::Html(format!("<h1>Not allowed</h1><p>{d}</p>"))).into_response())
        }
        other => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    user_name: String,
    csrf: String,
    users: Vec<User>,
    roles: Vec<RoleInfo>,
    notice: Option<String>,
}

async fn users_page(state: &AppState, user: &UiUser, notice: Option<String>) -> Result<Response, ApiError> {
    let users = match state.store.list_users(user.actor()).await {
        Ok(u) => u,
        Err(e) => return refused(e),
    };
    let roles = state.store.list_roles(user.actor()).await?;
    let status = if notice.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(&UsersPage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), users, roles, notice })).into_response())
}

async fn users(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    users_page(&state, &user, None).await
}

async fn create_user(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let new = NewUser { email: get("email"), name: get("name"), password: get("password"), role: get("role") };
    match state.store.create_user(user.actor(), new).await {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(rapport_store::Error::Invalid(v)) => users_page(&state, &user, Some(v.to_string())).await,
        Err(rapport_store::Error::Conflict { message, .. }) => users_page(&state, &user, Some(message)).await,
        Err(e) => refused(e),
    }
}

async fn update_user(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let id = form.get("id").and_then(|v| v.parse().ok()).unwrap_or(0);
    let patch = UserChanges { role: form.get("role").cloned(), is_active: Some(form.contains_key("is_active")), ..Default::default() };
    match state.store.update_user(user.actor(), id, super::form_version(&form), patch).await {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(rapport_store::Error::Invalid(v)) => users_page(&state, &user, Some(v.to_string())).await,
        Err(e @ rapport_store::Error::VersionMismatch { .. }) => {
            users_page(&state, &user, Some(format!("{e}: this list now shows their change; apply yours again if it still makes sense.")))
                .await
        }
        Err(e) => refused(e),
    }
}

#[derive(Template)]
#[template(path = "admin_teams.html")]
struct TeamsPage {
    user_name: String,
    csrf: String,
    teams: Vec<Team>,
    users: Vec<User>,
}

impl TeamsPage {
    fn member_names(&self, t: &Team) -> String {
        self.users.iter().filter(|u| t.member_ids.contains(&u.id)).map(|u| u.name.clone()).collect::<Vec<_>>().join(", ")
    }
}

async fn teams(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    let teams = match state.store.list_teams(user.actor()).await {
        Ok(t) => t,
        Err(e) => return refused(e),
    };
    let users = state.store.list_users(user.actor()).await?;
    Ok(render(&TeamsPage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), teams, users }))
}

async fn save_team(State(state): State<AppState>, user: UiUser, Form(form): Form<Vec<(String, String)>>) -> Result<Response, ApiError> {
    let single: HashMap<String, String> = form.iter().cloned().collect();
    let members = form.iter().filter(|(k, _)| k == "member").filter_map(|(_, v)| v.parse().ok()).collect();
    let id = single.get("id").and_then(|v| v.parse().ok());
    let input = TeamChanges { name: single.get("name").cloned(), visibility: single.get("visibility").cloned(), member_ids: Some(members) };
    match state.store.save_team(user.actor(), id, None, input).await {
        Ok(_) => Ok(Redirect::to("/admin/teams").into_response()),
        Err(e @ (rapport_store::Error::Invalid(_) | rapport_store::Error::Conflict { .. })) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, axum::response::Html(format!("<p>{e}</p><p><a href=\"/admin/teams\">Back</a></p>")))
                .into_response())
        }
        Err(e) => refused(e),
    }
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    user_name: String,
    csrf: String,
    entries: Vec<AuditEntry>,
    action: String,
    object: String,
    next_url: Option<String>,
}

async fn audit(State(state): State<AppState>, user: UiUser, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let pick = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let query = AuditFilter {
        action: pick("action"),
        object: pick("object"),
        actor_id: pick("actor_id").and_then(|v| v.parse().ok()),
        before_id: pick("before_id").and_then(|v| v.parse().ok()),
        limit: Some(100),
        ..Default::default()
    };
    let entries = match state.store.list_audit(user.actor(), &query).await {
        Ok(e) => e,
        Err(e) => return refused(e),
    };
    let next_url = (entries.len() == 100).then(|| {
        let last = entries.last().map(|e| e.id).unwrap_or(0);
        format!(
            "/admin/audit?action={}&object={}&before_id={last}",
            query.action.clone().unwrap_or_default(),
            query.object.clone().unwrap_or_default()
        )
    });
    let page = AuditPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        action: query.action.unwrap_or_default(),
        object: query.object.unwrap_or_default(),
        entries,
        next_url,
    };
    Ok(render(&page))
}

/// Every object and every action with its name as the API spells it (the roles page's grid and
/// its form names), so that a new object appears on the page without being listed here.
fn named<T: serde::Serialize + Copy>(all: &[T]) -> Vec<(T, String)> {
    all.iter().map(|x| (*x, serde_json::to_value(x).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())).collect()
}

#[derive(Template)]
#[template(path = "admin_roles.html")]
struct RolesPage {
    user_name: String,
    csrf: String,
    roles: Vec<RoleInfo>,
    objects: Vec<(Object, String)>,
    actions: Vec<(Action, String)>,
    notice: Option<String>,
}

impl RolesPage {
    fn grants(&self, r: &RoleInfo, o: &Object) -> String {
        let names: Vec<String> = named(&Action::ALL).into_iter().filter(|(a, _)| r.permissions.allows(*o, *a)).map(|(_, n)| n).collect();
        if names.is_empty() { "—".into() } else { names.join(", ") }
    }

    /// Whether the grid offers `action` on `object` (`run` is for analytics only).
    fn offers(&self, o: &Object, a: &Action) -> bool {
        rapport_domain::permissions::applies(*o, *a)
    }

    fn visibility(&self, r: &RoleInfo) -> &'static str {
        match r.permissions.visibility {
            Visibility::All => "all records",
            Visibility::Team => "their teams' records",
            Visibility::Own => "own and team-shared records",
        }
    }
}

async fn roles_page(state: &AppState, user: &UiUser, notice: Option<String>) -> Result<Response, ApiError> {
    let roles = match state.store.list_roles(user.actor()).await {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    let status = if notice.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = RolesPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        roles,
        objects: named(&Object::ALL),
        actions: named(&Action::ALL),
        notice,
    };
    Ok((status, render(&page)).into_response())
}

async fn roles(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    roles_page(&state, &user, None).await
}

/// A custom role from the grid of checkboxes named `<object>.<action>`.
async fn save_role(State(state): State<AppState>, user: UiUser, Form(form): Form<Vec<(String, String)>>) -> Result<Response, ApiError> {
    let single: HashMap<String, String> = form.iter().cloned().collect();
    let mut grants = std::collections::BTreeMap::new();
    for (o, on) in named(&Object::ALL) {
        let actions: std::collections::BTreeSet<Action> =
            named(&Action::ALL).into_iter().filter(|(_, an)| single.contains_key(&format!("{on}.{an}"))).map(|(a, _)| a).collect();
        if !actions.is_empty() {
            grants.insert(o, actions);
        }
    }
    let visibility = match single.get("visibility").map(String::as_str) {
        Some("all") => Visibility::All,
        Some("team") => Visibility::Team,
        _ => Visibility::Own,
    };
    let input = RoleDefinition { name: single.get("name").cloned().unwrap_or_default(), permissions: Permissions { grants, visibility } };
    match state.store.save_role(user.actor(), input).await {
        Ok(_) => Ok(Redirect::to("/admin/roles").into_response()),
        Err(rapport_store::Error::Invalid(v)) => roles_page(&state, &user, Some(v.to_string())).await,
        Err(e) => refused(e),
    }
}
