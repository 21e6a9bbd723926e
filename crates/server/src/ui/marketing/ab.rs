//! `/marketing/campaigns/{id}/ab`: a campaign's A/B result — its variants, per variant the
//! members, deliveries, opens, clicks and conversions with the metric's rate (drawn as bars),
//! the chi-square statistic and p value, and the decision in words (the one taken, or what the
//! data says now). The campaign page links here; the same numbers are
//! `/api/v1/campaigns/{id}/ab_result`.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rapport_domain::marketing::ab::{AbResult, AbTest};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;
use crate::ui::charts;
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/marketing/campaigns/{id}/ab", get(page))
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
}

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
    Ok(render(&AbPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        campaign_id: id,
        campaign_name: campaign.data.name,
        test,
        result,
        rates_svg,
    }))
}
