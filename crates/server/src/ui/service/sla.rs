//! SLA pages: the admin page of working calendars and SLA policies (`/admin/sla`), where admins
//! add and change them (`/admin/sla/calendars/{id}` opens one in the form) with each field's
//! error shown beside it, and the SLA card of a ticket's page. The store refuses changes to
//! those who may not make them.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::ValidationErrors;
use rapport_domain::service::calendar::WEEKDAYS;
use rapport_domain::service::sla::Standing;
use rapport_domain::service::sla_policy::{SlaPolicy, SlaPolicyInput};
use rapport_domain::service::ticket::{Channel, Priority, Ticket};
use rapport_domain::service::work_calendar::{WorkCalendar, WorkCalendarInput};
use rapport_store::Team;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::forms::FormState;
use crate::ui::{UiUser, form_errors, form_version, refusal, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/sla", get(page))
        .route("/admin/sla/calendars", post(save_calendar))
        .route("/admin/sla/calendars/{id}", get(edit_calendar).post(update_calendar))
        .route("/admin/sla/calendars/{id}/delete", post(delete_calendar))
        .route("/admin/sla/policies", post(save_policy))
        .route("/admin/sla/policies/{id}", get(edit_policy).post(update_policy))
        .route("/admin/sla/policies/{id}/delete", post(delete_policy))
}

/// The page's two forms: a new calendar or policy, or the one being edited (`id`), with what
/// was typed and each field's error.
#[derive(Default)]
struct Editing {
    calendar: FormState,
    calendar_id: Option<i64>,
    policy: FormState,
    policy_id: Option<i64>,
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
    weekdays: &'static [&'static str],
    notice: Option<String>,
    cal: FormState,
    cal_id: Option<i64>,
    pol: FormState,
    pol_id: Option<i64>,
}

impl AdminPage {
    fn team_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.teams.iter().find(|t| t.id == id)).map(|t| t.name.clone()).unwrap_or_default()
    }

    /// A calendar's week as one line per working day.
    fn week_lines(&self, c: &WorkCalendar) -> Vec<String> {
        WEEKDAYS.iter().filter_map(|d| c.hours.week.get(*d).filter(|p| !p.is_empty()).map(|p| format!("{d} {}", p.join(" ")))).collect()
    }

    /// The errors of a weekday's input (`week.monday`, `week.monday[1]`), joined.
    fn day_error(&self, day: &str) -> String {
        errors_under(&self.cal, &format!("week.{day}"))
    }

    /// The errors of the holidays (`holidays[2]`), joined.
    fn holiday_error(&self) -> String {
        errors_under(&self.cal, "holidays")
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

/// The messages of `key` and of the keys under it (`key.x`, `key[0]`), joined.
fn errors_under(form: &FormState, key: &str) -> String {
    let mut found: Vec<(&String, &String)> = form
        .errors
        .iter()
        .filter(|(k, _)| k.as_str() == key || k.starts_with(&format!("{key}[")) || k.starts_with(&format!("{key}.")))
        .collect();
    found.sort();
    found.into_iter().map(|(k, m)| if k == key { m.clone() } else { format!("{}: {m}", &k[key.len()..]) }).collect::<Vec<_>>().join("; ")
}

/// Business minutes as people read them: `45 min`, `4 h`, `2 h 30 min`.
fn business(m: i64) -> String {
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

async fn admin_page(state: &AppState, user: &UiUser, notice: Option<String>, status: StatusCode, e: Editing) -> Result<Response, ApiError> {
    let actor = user.actor();
    let mut pol = e.policy;
    if e.policy_id.is_none() && pol.values.is_empty() {
        pol.values.insert("near_breach_percent".into(), "80".into());
    }
    let page = AdminPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        calendars: state.store.list_calendars(actor).await?,
        policies: state.store.list_sla_policies(actor).await?,
        teams: state.store.list_teams(actor).await.unwrap_or_default(),
        priorities: Priority::NAMES,
        channels: Channel::NAMES,
        weekdays: &WEEKDAYS,
        notice,
        cal: e.calendar,
        cal_id: e.calendar_id,
        pol,
        pol_id: e.policy_id,
    };
    Ok((status, render(&page)).into_response())
}

async fn page(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    admin_page(&state, &user, None, StatusCode::OK, Editing::default()).await
}

/// Back to the page, or the page with what the store refused: field errors beside the fields
/// of the form that was sent (`calendar` or `policy`), other refusals on top.
async fn answer<T>(
    state: &AppState,
    user: &UiUser,
    r: Result<T, rapport_store::Error>,
    form: HashMap<String, String>,
    which: Which,
) -> Result<Response, ApiError> {
    let e = match r {
        Ok(_) => return Ok(Redirect::to("/admin/sla").into_response()),
        Err(e) => e,
    };
    let status = match &e {
        rapport_store::Error::Denied(_) | rapport_store::Error::NotFound => {
            let (status, detail) = refusal(e)?;
            return admin_page(state, user, Some(detail), status, Editing::default()).await;
        }
        rapport_store::Error::VersionMismatch { .. } | rapport_store::Error::Conflict { .. } => StatusCode::CONFLICT,
        rapport_store::Error::Forbidden { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let (fs, notice) = form_errors(form, e)?;
    admin_page(state, user, notice, status, which.editing(fs)).await
}

/// Which form a submission came from.
#[derive(Clone, Copy)]
enum Which {
    Calendar(Option<i64>),
    Policy(Option<i64>),
}

impl Which {
    fn editing(self, fs: FormState) -> Editing {
        match self {
            Which::Calendar(id) => Editing { calendar: fs, calendar_id: id, ..Editing::default() },
            Which::Policy(id) => Editing { policy: fs, policy_id: id, ..Editing::default() },
        }
    }
}

fn text(form: &HashMap<String, String>, key: &str) -> Option<String> {
    form.get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The week of a calendar form: one input per weekday (`week.monday` = `09:00-12:00
/// 13:00-17:00`), or one text of lines `monday 09:00-12:00 13:00-17:00` (`week`).
fn week_of(form: &HashMap<String, String>) -> BTreeMap<String, Vec<String>> {
    let periods = |raw: &str| raw.split([' ', ',', ';']).map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect::<Vec<_>>();
    let mut week: BTreeMap<String, Vec<String>> = form
        .get("week")
        .map(String::as_str)
        .unwrap_or("")
        .lines()
        .filter_map(|l| {
            let (day, rest) = l.trim().split_once(char::is_whitespace).unwrap_or((l.trim(), ""));
            (!day.is_empty()).then(|| (day.trim_end_matches(':').to_lowercase(), periods(rest)))
        })
        .collect();
    for day in WEEKDAYS {
        if let Some(raw) = form.get(&format!("week.{day}")) {
            let p = periods(raw);
            if !p.is_empty() {
                week.insert(day.to_string(), p);
            }
        }
    }
    week
}

/// The form fields of a stored calendar.
fn calendar_values(c: &WorkCalendar) -> FormState {
    let mut v = HashMap::from([
        ("name".to_string(), c.name.clone()),
        ("time_zone".to_string(), c.hours.time_zone.clone()),
        ("team_id".to_string(), c.team_id.map(|t| t.to_string()).unwrap_or_default()),
        ("holidays".to_string(), c.hours.holidays.join("\n")),
        ("version".to_string(), c.version.to_string()),
    ]);
    if c.is_default {
        v.insert("is_default".into(), "on".into());
    }
    for day in WEEKDAYS {
        v.insert(format!("week.{day}"), c.hours.week.get(day).map(|p| p.join(" ")).unwrap_or_default());
    }
    FormState { values: v, errors: HashMap::new() }
}

/// The form fields of a stored policy.
fn policy_values(p: &SlaPolicy) -> FormState {
    let d = &p.data;
    let n = |x: Option<i64>| x.map(|x| x.to_string()).unwrap_or_default();
    let v = HashMap::from([
        ("name".to_string(), d.name.clone()),
        ("position".to_string(), d.position.to_string()),
        ("priority".to_string(), d.priority.map(|x| x.as_str().to_string()).unwrap_or_default()),
        ("category".to_string(), d.category.clone().unwrap_or_default()),
        ("channel".to_string(), d.channel.map(|x| x.as_str().to_string()).unwrap_or_default()),
        ("company_id".to_string(), n(d.company_id)),
        ("first_response_minutes".to_string(), n(d.first_response_minutes)),
        ("next_response_minutes".to_string(), n(d.next_response_minutes)),
        ("resolution_minutes".to_string(), n(d.resolution_minutes)),
        ("near_breach_percent".to_string(), d.near_breach_percent.to_string()),
        ("version".to_string(), p.version.to_string()),
    ]);
    FormState { values: v, errors: HashMap::new() }
}

fn calendar_input(form: &HashMap<String, String>) -> Result<WorkCalendarInput, ValidationErrors> {
    let team_id = match text(form, "team_id") {
        None => None,
        Some(t) => Some(t.parse::<i64>().map_err(|_| ValidationErrors::single("team_id", format!("'{t}' is not a team")))?),
    };
    Ok(WorkCalendarInput {
        name: form.get("name").cloned(),
        team_id: Some(team_id),
        is_default: Some(form.get("is_default").is_some_and(|v| v == "on")),
        time_zone: form.get("time_zone").cloned(),
        week: Some(week_of(form)),
        holidays: Some(
            form.get("holidays")
                .map(|h| h.split([',', '\n', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
                .unwrap_or_default(),
        ),
    })
}

async fn save_calendar(
    State(state): State<AppState>,
    user: UiUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    calendar_saved(&state, &user, None, form).await
}

async fn update_calendar(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    calendar_saved(&state, &user, Some(id), form).await
}

async fn calendar_saved(state: &AppState, user: &UiUser, id: Option<i64>, form: HashMap<String, String>) -> Result<Response, ApiError> {
    let r = match calendar_input(&form) {
        Ok(input) => state.store.save_calendar(user.actor(), id, id.and(form_version(&form)), input).await,
        Err(e) => Err(rapport_store::Error::Invalid(e)),
    };
    answer(state, user, r, form, Which::Calendar(id)).await
}

/// The page with calendar `id` in the form, to change it.
async fn edit_calendar(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let c = state.store.get_calendar(user.actor(), id).await?;
    let e = Editing { calendar: calendar_values(&c), calendar_id: Some(id), ..Editing::default() };
    admin_page(&state, &user, None, StatusCode::OK, e).await
}

async fn delete_calendar(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let r = state.store.delete_calendar(user.actor(), id).await;
    answer(&state, &user, r, HashMap::new(), Which::Calendar(None)).await
}

fn policy_input(form: &HashMap<String, String>) -> Result<SlaPolicyInput, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut number = |key: &str| -> Option<i64> {
        let raw = text(form, key)?;
        raw.parse().map_err(|_| errors.add(key, format!("'{raw}' is not a whole number"))).ok()
    };
    let input = SlaPolicyInput {
        name: form.get("name").cloned(),
        position: number("position"),
        priority: Some(text(form, "priority")),
        category: Some(text(form, "category")),
        channel: Some(text(form, "channel")),
        company_id: Some(number("company_id")),
        first_response_minutes: Some(number("first_response_minutes")),
        next_response_minutes: Some(number("next_response_minutes")),
        resolution_minutes: Some(number("resolution_minutes")),
        near_breach_percent: number("near_breach_percent"),
    };
    errors.into_result(input)
}

async fn save_policy(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    policy_saved(&state, &user, None, form).await
}

async fn update_policy(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    policy_saved(&state, &user, Some(id), form).await
}

async fn policy_saved(state: &AppState, user: &UiUser, id: Option<i64>, form: HashMap<String, String>) -> Result<Response, ApiError> {
    let r = match policy_input(&form) {
        Ok(input) => state.store.save_sla_policy(user.actor(), id, id.and(form_version(&form)), input).await,
        Err(e) => Err(rapport_store::Error::Invalid(e)),
    };
    answer(state, user, r, form, Which::Policy(id)).await
}

/// The page with policy `id` in the form, to change it.
async fn edit_policy(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let p = state.store.get_sla_policy(user.actor(), id).await?;
    let e = Editing { policy: policy_values(&p), policy_id: Some(id), ..Editing::default() };
    admin_page(&state, &user, None, StatusCode::OK, e).await
}

async fn delete_policy(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let r = state.store.delete_sla_policy(user.actor(), id).await;
    answer(&state, &user, r, HashMap::new(), Which::Policy(None)).await
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
