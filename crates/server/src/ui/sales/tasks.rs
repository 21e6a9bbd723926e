//! `/tasks`: a user's open tasks due today, overdue or upcoming, each checked off in place
//! (a small form per row, which the page's script sends without leaving the page).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::now_rfc3339;
use rapport_domain::query::ListParams;
use rapport_domain::sales::activity::{Activity, ActivityInput, TaskView};

use super::activities::when;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path, Query};
use crate::ui::records::users;
use crate::ui::{UiUser, form_version, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/tasks", get(list)).route("/tasks/{id}/done", post(done))
}

/// One row of the list.
struct Row {
    task: Activity,
    due: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "sales_tasks.html")]
struct TasksPage {
    user_name: String,
    csrf: String,
    view: &'static str,
    views: Vec<(&'static str, &'static str, String)>,
    assignee: i64,
    users: Vec<(i64, String)>,
    rows: Vec<Row>,
    next_url: Option<String>,
    back: String,
    notice: Option<String>,
}

fn view_of(q: &HashMap<String, String>) -> TaskView {
    TaskView::ALL.into_iter().find(|v| q.get("view").map(String::as_str) == Some(v.as_str())).unwrap_or_default()
}

async fn list(State(state): State<AppState>, user: UiUser, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    page(&state, &user, &q, None).await
}

async fn page(state: &AppState, user: &UiUser, q: &HashMap<String, String>, notice: Option<String>) -> Result<Response, ApiError> {
    let view = view_of(q);
    let assignee = q.get("assignee_id").and_then(|a| a.parse().ok()).unwrap_or(user.user().id);
    let p = ListParams { limit: 50, cursor: q.get("cursor").filter(|c| !c.is_empty()).cloned(), ..ListParams::default() };
    let now = chrono::Utc::now();
    let found = match state.store.list_tasks(user.actor(), view, Some(assignee), now, &p).await {
        Ok(page) => page,
        // A cursor of another view or a stale link: start again at the first page.
        Err(rapport_store::Error::Invalid(_)) => {
            state.store.list_tasks(user.actor(), view, Some(assignee), now, &ListParams { cursor: None, ..p }).await?
        }
        Err(e) => return Err(e.into()),
    };
    let url = |v: TaskView| format!("/tasks?view={}&assignee_id={assignee}", v.as_str());
    let rows = found
        .data
        .into_iter()
        .map(|task| Row { due: task.data.due_at.as_deref().map(when).unwrap_or_default(), overdue: task.data.is_overdue(now), task })
        .collect();
    let labels = [(TaskView::Today, "Due today"), (TaskView::Overdue, "Overdue"), (TaskView::Upcoming, "Upcoming")];
    let page = TasksPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        view: view.as_str(),
        views: labels.iter().map(|(v, l)| (v.as_str(), *l, url(*v))).collect(),
        assignee,
        users: users(state, user.actor()).await?,
        rows,
        next_url: found.next_cursor.map(|c| format!("{}&cursor={c}", url(view))),
        back: url(view),
        notice: notice.clone(),
    };
    let status = if notice.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    Ok((status, render(&page)).into_response())
}

/// Checks a task off (as the version the page showed), then back to the list it came from.
async fn done(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let now = now_rfc3339();
    let input = ActivityInput { done: Some(true), ..ActivityInput::default() };
    let back: HashMap<String, String> = form
        .get("back")
        .map(|b| serde_urlencoded::from_str(b.split_once('?').map(|(_, q)| q).unwrap_or("")).unwrap_or_default())
        .unwrap_or_default();
    match state.store.update_activity(user.actor(), id, form_version(&form), |cur| input.apply(Some(cur), &now)).await {
        Ok(_) => {
            let view = view_of(&back);
            let assignee = back.get("assignee_id").and_then(|a| a.parse::<i64>().ok()).unwrap_or(user.user().id);
            Ok(Redirect::to(&format!("/tasks?view={}&assignee_id={assignee}", view.as_str())).into_response())
        }
        Err(e @ rapport_store::Error::VersionMismatch { .. }) => {
            page(&state, &user, &back, Some(format!("{e}: the list below shows the task as it is now."))).await
        }
        Err(e) => Err(e.into()),
    }
}
