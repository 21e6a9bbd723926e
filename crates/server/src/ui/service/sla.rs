//! SLA pages: the admin page of working calendars and SLA policies (`/admin/sla`), and the SLA
//! card of a ticket's page. The store refuses changes to those who may not make them.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::service::sla::Standing;
use rapport_domain::service::sla_policy::{SlaPolicy, SlaPolicyInput};
use rapport_domain::service::ticket::{Channel, Priority, Ticket};
use rapport_domain::service::work_calendar::{WorkCalendar, WorkCalendarInput};
use rapport_store::Team;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::{UiUser, refusal, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/sla", get(page))
        .route("/admin/sla/calendars", post(save_calendar))
        .route("/admin/sla/calendars/{id}/delete", post(delete_calendar))
        .route("/admin/sla/policies", post(save_policy))
        .route("/admin/sla/policies/{id}/delete", post(delete_policy))
}

#[derive(Template)]
#[template(path = "service_sla_admin.html")]
struct AdminPage {
    user_name: String,
    csrf: String,
    calendars: Vec<WorkCalendar>,
    policies: Vec<SlaPolicy>,
    teams: Vec<Team>,
    priorities: &'static [&'static str],
    channels: &'static [&'static str],
    notice: Option<String>,
}

impl AdminPage {
    fn team_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.teams.iter().find(|t| t.id == id)).map(|t| t.name.clone()).unwrap_or_default()
    }

    /// A calendar's week as one line per working day.
    fn week_lines(&self, c: &WorkCalendar) -> Vec<String> {
        rapport_domain::service::calendar::WEEKDAYS
            .iter()
            .filter_map(|d| c.hours.week.get(*d).filter(|p| !p.is_empty()).map(|p| format!("{d} {}", p.join(" "))))
            .collect()
    }

    fn conditions(&self, p: &SlaPolicy) -> String {
        let d = &p.data;
        let mut parts = vec![];
        if let Some(x) = d.priority {
            parts.push(format!("priority {}", x.as_str()));
        }
        if let Some(x) = &d.category {
            parts.push(format!("category {x}"));
        }
        if let Some(x) = d.channel {
            parts.push(format!("channel {}", x.as_str().replace('_', " ")));
        }
        if let Some(x) = d.company_id {
            parts.push(format!("company #{x}"));
        }
        if parts.is_empty() { "every ticket".into() } else { parts.join(", ") }
    }

    fn minutes(&self, m: &Option<i64>) -> String {
        m.map(business).unwrap_or_else(|| "—".into())
    }
}

/// Business minutes as people read them: `45 min`, `4 h`, `2 h 30 min`.
fn business(m: i64) -> String {
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

async fn admin_page(state: &AppState, user: &UiUser, notice: Option<String>, status: StatusCode) -> Result<Response, ApiError> {
    let actor = user.actor();
    let page = AdminPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        calendars: state.store.list_calendars(actor).await?,
        policies: state.store.list_sla_policies(actor).await?,
        teams: state.store.list_teams(actor).await.unwrap_or_default(),
        priorities: Priority::NAMES,
        channels: Channel::NAMES,
        notice,
    };
    Ok((status, render(&page)).into_response())
}

async fn page(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    admin_page(&state, &user, None, StatusCode::OK).await
}

/// Back to the page, or the page with what the store refused.
async fn answer<T>(state: &AppState, user: &UiUser, r: Result<T, rapport_store::Error>) -> Result<Response, ApiError> {
    match r {
        Ok(_) => Ok(Redirect::to("/admin/sla").into_response()),
        Err(e) => {
            let (status, detail) = refusal(e)?;
            admin_page(state, user, Some(detail), status).await
        }
    }
}

fn text(form: &HashMap<String, String>, key: &str) -> Option<String> {
    form.get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// `monday 09:00-12:00 13:00-17:00`, one working day a line.
fn week_of(raw: &str) -> BTreeMap<String, Vec<String>> {
    raw.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let day = words.next()?.trim_end_matches(':').to_lowercase();
            Some((day, words.map(|w| w.trim_end_matches(',').to_string()).collect()))
        })
        .collect()
}

async fn save_calendar(
    State(state): State<AppState>,
    user: UiUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let input = WorkCalendarInput {
        name: form.get("name").cloned(),
        team_id: Some(text(&form, "team_id").and_then(|t| t.parse().ok())),
        is_default: Some(form.get("is_default").is_some_and(|v| v == "on")),
        time_zone: form.get("time_zone").cloned(),
        week: Some(week_of(form.get("week").map(String::as_str).unwrap_or(""))),
        holidays: Some(
            form.get("holidays")
                .map(|h| h.split([',', '\n', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
                .unwrap_or_default(),
        ),
    };
    let r = state.store.save_calendar(user.actor(), None, None, input).await;
    answer(&state, &user, r).await
}

async fn delete_calendar(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let r = state.store.delete_calendar(user.actor(), id).await;
    answer(&state, &user, r).await
}

async fn save_policy(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let mut errors = rapport_domain::ValidationErrors::default();
    let mut number = |key: &str| -> Option<i64> {
        let raw = text(&form, key)?;
        raw.parse().map_err(|_| errors.add(key, format!("'{raw}' is not a whole number"))).ok()
    };
    let input = SlaPolicyInput {
        name: form.get("name").cloned(),
        position: number("position"),
        priority: Some(text(&form, "priority")),
        category: Some(text(&form, "category")),
        channel: Some(text(&form, "channel")),
        company_id: Some(number("company_id")),
        first_response_minutes: Some(number("first_response_minutes")),
        next_response_minutes: Some(number("next_response_minutes")),
        resolution_minutes: Some(number("resolution_minutes")),
        near_breach_percent: number("near_breach_percent"),
    };
    if !errors.0.is_empty() {
        return admin_page(&state, &user, Some(errors.to_string()), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let r = state.store.save_sla_policy(user.actor(), None, None, input).await;
    answer(&state, &user, r).await
}

async fn delete_policy(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let r = state.store.delete_sla_policy(user.actor(), id).await;
    answer(&state, &user, r).await
}

/// A ticket's SLA as its page shows it.
pub(super) struct SlaCard {
    pub policy: String,
    pub calendar: String,
    /// (target, class, status, detail) per target.
    pub rows: Vec<(String, &'static str, &'static str, String)>,
}

fn minutes_of(seconds: i64) -> String {
    business(seconds.max(0) / 60)
}

/// The SLA card of a ticket the reader sees, if a policy applies.
pub(super) async fn card(state: &AppState, ticket: &Ticket) -> Result<Option<SlaCard>, rapport_store::Error> {
    let Some(s) = state.store.ticket_sla_of(ticket, chrono::Utc::now()).await? else { return Ok(None) };
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let rows = s
        .targets
        .iter()
        .map(|t| {
            let (class, status, detail) = match t.standing {
                Standing::Running { due } => ("ok", "running", format!("due {}", when(due))),
                Standing::NearBreach { due } => ("warn", "near breach", format!("due {}", when(due))),
                Standing::Breached { over_seconds } => ("bad", "breached", format!("{} over", minutes_of(over_seconds))),
                Standing::Paused { left_seconds } => ("muted", "paused", format!("{} left", minutes_of(left_seconds))),
                Standing::Met { seconds } => ("ok", "met", format!("in {}", minutes_of(seconds))),
                Standing::Missed { over_seconds } => ("bad", "missed", format!("{} late", minutes_of(over_seconds))),
            };
            (format!("{} ({})", t.target.label(), business(t.minutes)), class, status, detail)
        })
        .collect();
    Ok(Some(SlaCard { policy: s.policy_name, calendar: s.calendar_name.unwrap_or_else(|| "round the clock".into()), rows }))
}
