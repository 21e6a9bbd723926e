//! `/marketing/campaigns/{id}/ab`: a campaign's A/B result — its variants, per variant the
//! members, deliveries, opens, clicks and conversions with the metric's rate (drawn as bars),
//! the chi-square statistic and p value, and the decision in words (the one taken, or what the
//! data says now). The campaign page links here; the same numbers are
//! `/api/v1/campaigns/{id}/ab_result`. While the test is a draft (or not defined yet) the page
//! has the form that defines it — up to three variants (a template and another subject each),
//! the share tested, the wait, the winning metric and the fallback — and the button that
//! starts it, through the same store functions as the API; a refused one shows the page again
//! with the errors named by field (`variants[1].template_id`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::marketing::ab::{AbResult, AbStartInput, AbState, AbTest, AbTestInput, VariantInput};
use rapport_domain::marketing::templates::EmailTemplate;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::charts;
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/marketing/campaigns/{id}/ab", get(page).post(define))
        .route("/marketing/campaigns/{id}/ab/start", post(start))
}

#[derive(Template)]
#[template(path = "marketing_ab.html")]
struct AbPage {
    user_name: String,
    csrf: String,
    campaign_id: i64,
    campaign_name: String,
    test: Option<AbTest>,
    result: Option<AbResult>,
    rates_svg: String,
    /// Whether the test may still be defined (none yet, or a draft).
    draft: bool,
    /// Whether there are templates to choose from.
    has_templates: bool,
    variant_forms: Vec<VariantForm>,
    test_percent: i64,
    wait_minutes: i64,
    metrics: Vec<Choice>,
    fallbacks: Vec<Choice>,
    errors: Vec<(String, String)>,
}

/// One option of a choice in the form.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// One variant's fields in the form.
struct VariantForm {
    index: usize,
    key: &'static str,
    templates: Vec<Choice>,
    subject: String,
}

fn choices(options: impl IntoIterator<Item = (String, String)>, chosen: &str) -> Vec<Choice> {
    options.into_iter().map(|(value, label)| Choice { selected: value == chosen, value, label }).collect()
}

/// Variants the form offers.
const FORM_KEYS: [&str; 3] = ["A", "B", "C"];

impl AbPage {
    fn rate(&self, r: &Option<f64>) -> String {
        r.map(charts::fmt_percent).unwrap_or_else(|| "—".into())
    }

    fn statistic(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "—".into())
    }

    fn p(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "—".into())
    }

    fn expected(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into())
    }

    fn subject(&self, s: &Option<String>) -> String {
        s.clone().unwrap_or_else(|| "(the template's)".into())
    }
}

/// The campaign's A/B test and its result.
async fn page(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    ab_page(&state, &user, id, Vec::new()).await
}

async fn ab_page(state: &AppState, user: &UiUser, id: i64, errors: Vec<(String, String)>) -> Result<Response, ApiError> {
    let actor = user.actor();
    let campaign = state.store.get_campaign(actor, id).await?;
    let test = match state.store.ab_test(actor, id).await {
        Ok(t) => Some(t),
        Err(rapport_store::Error::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let result = match &test {
        Some(_) => Some(crate::marketing::ab::result(&state.store, actor, id).await?),
        None => None,
    };
    let rates_svg = match &result {
        Some(r) => {
            let bars: Vec<(String, f64)> = r.variants.iter().map(|v| (format!("Variant {}", v.key), v.rate.unwrap_or(f64::NAN))).collect();
            charts::bar_chart(&format!("{} per delivered mail", r.metric.as_str()), &bars, &charts::fmt_percent)
        }
        None => String::new(),
    };
    let draft = campaign.data.channel == "email" && test.as_ref().is_none_or(|t| t.state == AbState::Draft);
    let templates: Vec<EmailTemplate> = if draft { state.store.list_email_templates(actor).await? } else { Vec::new() };
    let variant_forms = FORM_KEYS
        .iter()
        .enumerate()
        .map(|(index, key)| {
            let v = test.as_ref().and_then(|t| t.variants.get(index));
            // A new test offers the first templates for A and B; C stays empty unless defined.
            let proposed = if index < 2 { templates.get(index).map_or(0, |t| t.id) } else { 0 };
            let chosen = v.map_or(proposed, |v| v.template_id).to_string();
            let none = (index >= 2).then(|| (String::new(), "— none —".to_string()));
            let options = none.into_iter().chain(templates.iter().map(|t| (t.id.to_string(), t.data.name.clone())));
            VariantForm { index, key, templates: choices(options, &chosen), subject: v.and_then(|v| v.subject.clone()).unwrap_or_default() }
        })
        .collect();
    let metric = test.as_ref().map_or("clicks", |t| t.metric.as_str());
    let metrics =
        [("clicks", "Clicks per delivered mail"), ("conversions", "Conversions per delivered mail"), ("opens", "Opens (unreliable)")];
    let fallback = test.as_ref().map_or("A".to_string(), |t| t.fallback.clone());
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = AbPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        campaign_id: id,
        campaign_name: campaign.data.name,
        test_percent: test.as_ref().map_or(20, |t| t.test_percent),
        wait_minutes: test.as_ref().map_or(240, |t| t.wait_minutes),
        metrics: choices(metrics.map(|(m, l)| (m.to_string(), l.to_string())), metric),
        fallbacks: choices(FORM_KEYS.map(|k| (k.to_string(), format!("Variant {k}"))), &fallback),
        has_templates: !templates.is_empty(),
        test,
        result,
        rates_svg,
        draft,
        variant_forms,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

fn errors_of(e: rapport_store::Error) -> Result<Vec<(String, String)>, ApiError> {
    match e {
        rapport_store::Error::Invalid(v) => Ok(v.0.into_iter().map(|f| (f.field, f.message)).collect()),
        rapport_store::Error::Refused(r) => Ok(vec![(r.field.unwrap_or("state").to_string(), r.to_string())]),
        other => Err(other.into()),
    }
}

/// A whole number from the form (empty: absent); a wrong one is an error naming the field.
fn number(form: &HashMap<String, String>, k: &str) -> Result<Option<i64>, (String, String)> {
    match form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| (k.to_string(), "must be a whole number".to_string())),
    }
}

/// The test the form defines: the variants with a template, in order.
fn input_of(form: &HashMap<String, String>) -> Result<AbTestInput, (String, String)> {
    let mut variants = Vec::new();
    for i in 0..FORM_KEYS.len() {
        let Some(template_id) =
            number(form, &format!("template_{i}")).map_err(|_| (format!("variants[{i}].template_id"), "choose a template".to_string()))?
        else {
            continue;
        };
        let subject = form.get(&format!("subject_{i}")).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        variants.push(VariantInput { template_id, subject });
    }
    Ok(AbTestInput {
        variants,
        test_percent: number(form, "test_percent")?,
        wait_minutes: number(form, "wait_minutes")?,
        metric: form.get("metric").cloned().filter(|m| !m.is_empty()),
        fallback: form.get("fallback").cloned().filter(|m| !m.is_empty()),
        seed: None,
        topic: None,
    })
}

/// Defines (or, while a draft, redefines) the test, as `PUT /api/v1/campaigns/{id}/variants`.
async fn define(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let input = match input_of(&form) {
        Ok(i) => i,
        Err(e) => return ab_page(&state, &user, id, vec![e]).await,
    };
    match state.store.put_ab_test(user.actor(), id, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/marketing/campaigns/{id}/ab")).into_response()),
        Err(e) => ab_page(&state, &user, id, errors_of(e)?).await,
    }
}

/// Starts the test, as `POST /api/v1/campaigns/{id}/variants/send`.
async fn start(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let send_at = form.get("send_at").map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    match state.store.start_ab_test(user.actor(), id, AbStartInput { send_at, error_threshold: None }).await {
        Ok(_) => Ok(Redirect::to(&format!("/marketing/campaigns/{id}/ab")).into_response()),
        Err(e) => ab_page(&state, &user, id, errors_of(e)?).await,
    }
}
