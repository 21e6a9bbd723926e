//! `/marketing`: the marketing dashboard. The marketing reports (`/api/v1/reports/marketing/…`,
//! read through the same store calls, so it counts only the campaigns the signed-in user may
//! see) drawn as server-side SVG charts — rates per channel, revenue against spend per
//! campaign, the milestones and attributed revenue over time — with the campaigns and channels
//! tables (costs, revenue, ROI) and the campaign-effect regression of the latest analytics run;
//! narrowed by a GET form (period, channel, model, window, interval).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rapport_domain::marketing::campaigns::CHANNELS;
use rapport_domain::marketing::reports::{CampaignRow, ChannelRow, MarketingFilter, OverTimeRow};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::ui::charts::{self, BarLayout, BarSeries, Series};
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/marketing", get(page))
}

#[derive(Template)]
#[template(path = "marketing_dashboard.html")]
struct DashboardPage {
    user_name: String,
    csrf: String,
    form: HashMap<String, String>,
    error: Option<String>,
    channels_list: &'static [&'static str],
    rates_svg: String,
    revenue_svg: String,
    activity_svg: String,
    revenue_time_svg: String,
    campaigns: Vec<CampaignRow>,
    channels: Vec<ChannelRow>,
    over_time: Vec<OverTimeRow>,
    regression: Vec<(String, String, String, String)>,
    regression_note: String,
}

impl DashboardPage {
    fn chosen(&self, param: &str, value: &str) -> bool {
        self.form.get(param).is_some_and(|v| v == value)
    }

    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{v} %")).unwrap_or_else(|| "—".into())
    }

    fn money(&self, minor: &i64, currency: &str) -> String {
        format!("{:.2} {currency}", *minor as f64 / 100.0)
    }

    fn money_opt(&self, minor: &Option<i64>, currency: &str) -> String {
        minor.map(|m| self.money(&m, currency)).unwrap_or_else(|| "—".into())
    }

    fn roi(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{:.0} %", v * 100.0)).unwrap_or_else(|| "—".into())
    }
}

async fn page(State(state): State<AppState>, user: UiUser, QueryPairs(pairs): QueryPairs) -> Result<Response, ApiError> {
    let actor = user.actor();
    let form: HashMap<String, String> = pairs.iter().filter(|(_, v)| !v.trim().is_empty()).cloned().collect();
    let given: Vec<(String, String)> = form.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let (f, error) = match MarketingFilter::parse(&given) {
        Ok(f) => (f, None),
        Err(e) => (MarketingFilter::default(), Some(e.to_string())),
    };
    let store = &state.store;
    let campaigns = store.marketing_campaigns(actor, &f).await?;
    let channels = store.marketing_channels(actor, &f).await?;
    let over_time = store.marketing_over_time(actor, &f).await?;

    let names: Vec<String> = channels.iter().map(|c| format!("{} ({})", c.channel, c.currency)).collect();
    let rate = |g: fn(&ChannelRow) -> Option<f64>| channels.iter().map(|c| g(c).map_or(f64::NAN, |v| v / 100.0)).collect::<Vec<f64>>();
    let (open, click, conv) =
        (rate(|c| c.performance.open_rate), rate(|c| c.performance.click_rate), rate(|c| c.performance.conversion_rate));
    let rates_svg = charts::grouped_bars(
        "Rates per channel",
        &names,
        &[
            BarSeries { name: "Open (of delivered)", values: &open },
            BarSeries { name: "Click (of delivered)", values: &click },
            BarSeries { name: "Conversion (of reach)", values: &conv },
        ],
        BarLayout::Grouped,
        &charts::fmt_percent,
    );
    let mut top: Vec<&CampaignRow> = campaigns.iter().collect();
    top.sort_by_key(|c| std::cmp::Reverse(c.performance.revenue_minor.max(c.performance.spend_minor)));
    top.truncate(10);
    let currency = top.first().map(|c| c.currency.clone()).unwrap_or_else(|| "USD".into());
    let labels: Vec<&str> = top.iter().map(|c| c.name.as_str()).collect();
    let revenue: Vec<f64> = top.iter().map(|c| c.performance.revenue_minor as f64 / 100.0).collect();
    let spend: Vec<f64> = top.iter().map(|c| c.performance.spend_minor as f64 / 100.0).collect();
    let revenue_svg = charts::grouped_bars(
        "Attributed revenue and spend per campaign",
        &labels,
        &[BarSeries { name: "Revenue", values: &revenue }, BarSeries { name: "Spend", values: &spend }],
        BarLayout::Grouped,
        &charts::money(&currency),
    );
    let points = |g: fn(&OverTimeRow) -> i64| over_time.iter().map(|r| (r.period.clone(), g(r) as f64)).collect::<Vec<(String, f64)>>();
    let (sent, opened, clicked) = (points(|r| r.sent), points(|r| r.opened), points(|r| r.clicked));
    let activity_svg = if over_time.is_empty() {
        charts::no_data("Mails over time")
    } else {
        charts::line_chart(
            "Mails over time",
            &[
                Series { name: "Sent", points: &sent, dashed: false },
                Series { name: "Opened", points: &opened, dashed: false },
                Series { name: "Clicked", points: &clicked, dashed: false },
            ],
            None,
            &charts::fmt_number,
        )
    };
    let paid: Vec<(String, f64)> = over_time.iter().map(|r| (r.period.clone(), r.revenue_minor as f64 / 100.0)).collect();
    let revenue_time_svg = charts::bar_chart("Attributed revenue over time", &paid, &charts::money(&currency));

    let effect = store.latest_run(actor, "campaign_effect").await.ok().flatten().and_then(|r| r.result);
    let regression = effect.as_ref().map(crate::ui::analytics::regression_rows).unwrap_or_default();
    let regression_note = effect
        .map(|e| format!("{} months; R² {:.3}", e["summary"]["months"], e["summary"]["r_squared"].as_f64().unwrap_or(0.0)))
        .unwrap_or_default();
    Ok(render(&DashboardPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        form,
        error,
        channels_list: CHANNELS,
        rates_svg,
        revenue_svg,
        activity_svg,
        revenue_time_svg,
        campaigns,
        channels,
        over_time,
        regression,
        regression_note,
    }))
}
