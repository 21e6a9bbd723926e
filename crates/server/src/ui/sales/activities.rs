//! Activity pages: the shared list and form (see [`crate::ui::records`]), the activity's own
//! detail page, and the activities card of a person's or company's page with its "log a call,
//! add a note, add a task" links, which open the form prefilled.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object};
use rapport_domain::query::{ListParams, Page, SortField};
use rapport_domain::sales::activity::{Activity, ActivityInput, ActivityKind, SPEC};
use rapport_store::Error as StoreError;
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;
use crate::ui::records::{Pages, UiRecord, input_of, routes, to_json, users};
use crate::ui::{UiUser, render, urlencode};

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Activity>().route("/activities/{id}", get(detail))
}

/// The form's input as an [`ActivityInput`]. A form sends every field, and an unticked box is
/// `false`: for notes and emails, which are always done, that says nothing, so it is left out.
fn form_activity(mut input: Value) -> Result<ActivityInput, StoreError> {
    let always_done = input.get("kind").and_then(|k| k.as_str()).and_then(ActivityKind::parse).is_some_and(ActivityKind::always_done);
    if let (true, Some(m)) = (always_done, input.as_object_mut()) {
        m.remove("done");
    }
    input_of(input)
}

impl UiRecord for Activity {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["subject", "kind", "due_at", "starts_at", "customer_name", "company_name", "assignee_id", "done"],
        filters: &["kind", "assignee_id", "owner_id"],
        sorts: &[
            ("-created_at", "Newest"),
            ("due_at", "Due soonest"),
            ("-starts_at", "Latest start"),
            ("name", "Subject A–Z"),
            ("relevance", "Best match"),
        ],
        search_hint: "Search subjects…",
        new_label: "New activity",
        form: &[
            ("", &["kind", "subject", "customer_id", "company_id", "opportunity_id", "assignee_id", "owner_id"]),
            ("When", &["due_at", "starts_at", "ends_at", "done"]),
            ("", &["body"]),
        ],
    };

    /// The signed-in user is the one to do it, unless the form says otherwise.
    fn prefill(user_id: i64) -> Vec<(&'static str, String)> {
        vec![("assignee_id", user_id.to_string())]
    }

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_activities(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_activity(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        let input = form_activity(input)?.with_owner_defaults(actor.user_id);
        let now = now_rfc3339();
        Ok(state.store.create_activity(actor, || input.apply(None, &now)).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        let input = form_activity(input)?;
        let now = now_rfc3339();
        state.store.update_activity(actor, id, version, |cur| input.apply(Some(cur), &now)).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_activity(actor, id, version).await
    }
}

/// A stored time as people read it: `2026-03-12 09:30 UTC` (a task due on a day alone shows
/// the day).
pub(super) fn when(t: &str) -> String {
    match t.get(..10) {
        Some(day) if t.get(11..23) == Some("23:59:59.999") => day.to_string(),
        _ => format!("{} UTC", t.get(..16).unwrap_or(t).replace('T', " ")),
    }
}

/// The activities of one person or company, newest first, as the card on their page shows
/// them.
pub struct ActivityCard {
    /// The activities the reader reaches.
    pub rows: Vec<Activity>,
    /// The query that prefills a new activity's links (`customer_id=…&customer_id.title=…`).
    pub link: String,
    /// Whether the reader may add activities.
    pub may_create: bool,
    /// Users by id, for assignees' names.
    pub users: Vec<(i64, String)>,
}

impl ActivityCard {
    /// The name of user `id`.
    pub fn user(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.users.iter().find(|(i, _)| *i == id)).map(|(_, n)| n.clone()).unwrap_or_default()
    }

    /// When an activity is due or happened, as people read it.
    pub fn when(&self, a: &Activity) -> String {
        a.data.due_at.as_deref().or(a.data.starts_at.as_deref()).map(when).unwrap_or_default()
    }
}

/// The card for the record `field` (`customer_id` or `company_id`) names, titled `title`.
pub async fn activity_card(state: &AppState, user: &UiUser, field: &str, id: i64, title: &str) -> Result<ActivityCard, ApiError> {
    let actor = user.actor();
    let p = ListParams { limit: 50, sort: SortField::CreatedAt, desc: true, ..ListParams::default() }.with(&SPEC, field, id);
    let rows = state.store.list_activities(actor, &p).await?.data;
    Ok(ActivityCard {
        rows,
        link: format!("{field}={id}&{field}.title={}", urlencode(title)),
        may_create: actor.perms.allows(Object::Activity, Action::Create),
        users: users(state, actor).await?,
    })
}

#[derive(Template)]
#[template(path = "sales_activity.html")]
struct DetailPage {
    user_name: String,
    csrf: String,
    a: Activity,
    assignee: String,
    owner: String,
    due: String,
    starts: String,
    ends: String,
    done_at: String,
}

async fn detail(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let a = state.store.get_activity(user.actor(), id).await?;
    let people = users(&state, user.actor()).await?;
    let name = |id: Option<i64>| id.and_then(|id| people.iter().find(|(i, _)| *i == id)).map(|(_, n)| n.clone()).unwrap_or_default();
    let shown = |t: &Option<String>| t.as_deref().map(when).unwrap_or_default();
    let page = DetailPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        assignee: name(a.data.assignee_id),
        owner: name(a.data.owner_id),
        due: shown(&a.data.due_at),
        starts: shown(&a.data.starts_at),
        ends: shown(&a.data.ends_at),
        done_at: shown(&a.data.done_at),
        a,
    };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_utc_and_due_days_as_days() {
        assert_eq!(super::when("2026-03-12T09:30:00.000000Z"), "2026-03-12 09:30 UTC");
        assert_eq!(super::when("2026-03-12T23:59:59.999999Z"), "2026-03-12");
    }
}
