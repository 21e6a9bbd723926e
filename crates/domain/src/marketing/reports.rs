//! Marketing reports (issue 12 §9–10): attribution of orders to campaigns, and the rates,
//! costs, revenue and ROI per campaign, per channel and over time.
//!
//! Decisions where the issue is silent:
//! - Revenue is the total of paid orders (by `paid_at`), in the campaign's currency (orders in
//!   another currency are not converted and not counted).
//! - An order with a `campaign_id` belongs wholly to that campaign under every model. Any
//!   other order is attributed through its buyer's campaign responses: a member's touch is the
//!   first of clicked / responded / converted, and counts when it lies within `window_days`
//!   (default 30) before the payment. First touch gives the order to the earliest touch, last
//!   touch to the latest, linear splits it evenly (each share rounded to the minor unit after
//!   summing per campaign).
//! - A parent campaign's rolled-up revenue is its own plus every descendant's.
//! - A campaign is in a period when its dates overlap it; its members, spend and attributed
//!   revenue (whenever paid) count whole.
//!   Over time, each milestone counts in the week (from Monday, UTC) or month it happened, and
//!   revenue in the week or month it was paid.
//! - Open and click rates are over delivered mails (sent and not bounced); response and
//!   conversion rates over reach (members), so that they mean the same for every channel.
//!   Leads are members who responded (or converted); acquisitions are members who converted.
//!   Cost per lead and per acquisition divide the actual spend; ROI is
//!   (revenue − spend) / spend under the chosen model (default last touch).
//! - Only campaigns the reader may see are reported (record-level visibility as for
//!   campaigns); their members and orders count whole.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::campaigns::CHANNELS;
use crate::ValidationErrors;
use crate::service::report::ServiceFilter;

/// An attribution model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// The earliest touch in the window gets the order.
    FirstTouch,
    /// The latest touch in the window gets the order (the default).
    #[default]
    LastTouch,
    /// Every touch in the window gets an equal share.
    Linear,
}

impl Model {
    /// Every model's name.
    pub const NAMES: [&'static str; 3] = ["first_touch", "last_touch", "linear"];

    /// The model named `s`.
    pub fn parse(s: &str) -> Option<Model> {
        match s {
            "first_touch" => Some(Model::FirstTouch),
            "last_touch" => Some(Model::LastTouch),
            "linear" => Some(Model::Linear),
            _ => None,
        }
    }
}

/// Weeks or months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interval {
    /// Weeks from Monday (UTC).
    #[default]
    Week,
    /// Calendar months.
    Month,
}

/// What a marketing report is narrowed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketingFilter {
    /// First day counted (UTC).
    pub from: Option<NaiveDate>,
    /// Last day counted, included.
    pub to: Option<NaiveDate>,
    /// Only campaigns of this channel.
    pub channel: Option<String>,
    /// Only this campaign (and, for attribution, nothing else).
    pub campaign_id: Option<i64>,
    /// The model revenue and ROI are shown under.
    pub model: Model,
    /// Days before a payment in which a response counts.
    pub window_days: i64,
    /// Over time: weeks or months.
    pub interval: Interval,
}

impl Default for MarketingFilter {
    fn default() -> Self {
        MarketingFilter {
            from: None,
            to: None,
            channel: None,
            campaign_id: None,
            model: Model::LastTouch,
            window_days: 30,
            interval: Interval::Week,
        }
    }
}

/// The parameters every marketing report takes (besides `format`).
pub const FILTER_PARAMS: [&str; 8] = ["period", "from", "to", "channel", "campaign_id", "model", "window_days", "interval"];

impl MarketingFilter {
    /// Reads the filter from query pairs, naming unknown parameters and bad values.
    pub fn parse(pairs: &[(String, String)]) -> Result<MarketingFilter, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let mut f = MarketingFilter::default();
        // The span reads as the service reports' does (period, or from and to).
        let span: Vec<(String, String)> = pairs.iter().filter(|(k, _)| ["period", "from", "to"].contains(&k.as_str())).cloned().collect();
        match ServiceFilter::parse(&span, &[]) {
            Ok(s) => (f.from, f.to) = (s.from, s.to),
            Err(e) => errs.0.extend(e.0),
        }
        for (k, v) in pairs {
            let v = v.trim();
            match k.as_str() {
                "period" | "from" | "to" => {}
                "channel" if CHANNELS.contains(&v) => f.channel = Some(v.to_string()),
                "channel" => errs.add(k, format!("use {}", crate::query::or_list(CHANNELS))),
                "campaign_id" => match v.parse::<i64>() {
                    Ok(n) if n > 0 => f.campaign_id = Some(n),
                    _ => errs.add(k, format!("'{v}' is not an id")),
                },
                "model" => match Model::parse(v) {
                    Some(m) => f.model = m,
                    None => errs.add(k, format!("use {}", crate::query::or_list(&Model::NAMES))),
                },
                "window_days" => match v.parse::<i64>() {
                    Ok(n) if (1..=365).contains(&n) => f.window_days = n,
                    _ => errs.add(k, "must be a whole number of days from 1 to 365"),
                },
                "interval" => match v {
                    "week" => f.interval = Interval::Week,
                    "month" => f.interval = Interval::Month,
                    _ => errs.add(k, "use week or month"),
                },
                other => errs.add(other, format!("is not a parameter of this report: use {}", FILTER_PARAMS.join(", "))),
            }
        }
        errs.into_result(f)
    }

    fn span(&self) -> ServiceFilter {
        ServiceFilter { from: self.from, to: self.to, ..ServiceFilter::default() }
    }

    /// The first day as stored text, which sorts before every time of that day.
    pub fn from_text(&self) -> Option<String> {
        self.span().from_text()
    }

    /// A bound that sorts after every stored time of the last day.
    pub fn to_bound(&self) -> Option<String> {
        self.span().to_bound()
    }
}

/// Revenue attributed to one campaign under each model, in minor units of its currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Attributed {
    /// Earliest touch.
    pub first_touch_minor: i64,
    /// Latest touch.
    pub last_touch_minor: i64,
    /// Even shares.
    pub linear_minor: i64,
}

impl Attributed {
    /// The amount under `m`.
    pub fn under(&self, m: Model) -> i64 {
        match m {
            Model::FirstTouch => self.first_touch_minor,
            Model::LastTouch => self.last_touch_minor,
            Model::Linear => self.linear_minor,
        }
    }

    /// Adds `o` to this.
    pub fn add(&mut self, o: &Attributed) {
        self.first_touch_minor += o.first_touch_minor;
        self.last_touch_minor += o.last_touch_minor;
        self.linear_minor += o.linear_minor;
    }
}

/// One campaign's attributed revenue.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttributionRow {
    /// The campaign.
    pub campaign_id: i64,
    /// Its name.
    pub name: String,
    /// Its parent.
    pub parent_id: Option<i64>,
    /// Its currency (revenue counts orders in it).
    pub currency: String,
    /// Orders linked directly (`order.campaign_id`).
    pub direct_orders: i64,
    /// Orders reached through a member's response in the window.
    pub touched_orders: i64,
    /// Its own revenue.
    #[serde(flatten)]
    pub revenue: Attributed,
    /// Its own plus every descendant's (in the CSV: `rolled_up_first_touch_minor`…).
    pub rolled_up: Attributed,
}

/// Counts and rates of one campaign, or of one channel's campaigns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Performance {
    /// Members (reach).
    pub reach: i64,
    /// Mails handed over.
    pub sent: i64,
    /// Sent and not bounced.
    pub delivered: i64,
    /// Bounced.
    pub bounced: i64,
    /// Opened (human opens).
    pub opened: i64,
    /// Clicked (human clicks).
    pub clicked: i64,
    /// Responded (leads).
    pub responded: i64,
    /// Converted (acquisitions).
    pub converted: i64,
    /// delivered / sent, percent.
    pub delivery_rate: Option<f64>,
    /// bounced / sent, percent.
    pub bounce_rate: Option<f64>,
    /// opened / delivered, percent.
    pub open_rate: Option<f64>,
    /// clicked / delivered, percent.
    pub click_rate: Option<f64>,
    /// responded / reach, percent.
    pub response_rate: Option<f64>,
    /// converted / reach, percent.
    pub conversion_rate: Option<f64>,
    /// Actual spend, minor units.
    pub spend_minor: i64,
    /// spend / leads, minor units.
    pub cost_per_lead_minor: Option<i64>,
    /// spend / acquisitions, minor units.
    pub cost_per_acquisition_minor: Option<i64>,
    /// Attributed revenue under the chosen model, minor units.
    pub revenue_minor: i64,
    /// (revenue − spend) / spend.
    pub roi: Option<f64>,
}

fn pct(part: i64, whole: i64) -> Option<f64> {
    crate::service::report::percent(part, whole)
}

impl Performance {
    /// Fills the rates, costs and ROI from the counts, spend and revenue.
    pub fn finish(mut self) -> Performance {
        self.delivery_rate = pct(self.delivered, self.sent);
        self.bounce_rate = pct(self.bounced, self.sent);
        self.open_rate = pct(self.opened, self.delivered);
        self.click_rate = pct(self.clicked, self.delivered);
        self.response_rate = pct(self.responded, self.reach);
        self.conversion_rate = pct(self.converted, self.reach);
        let per = |n: i64| (n > 0).then(|| (self.spend_minor as f64 / n as f64).round() as i64);
        self.cost_per_lead_minor = per(self.responded);
        self.cost_per_acquisition_minor = per(self.converted);
        self.roi = (self.spend_minor > 0)
            .then(|| ((self.revenue_minor - self.spend_minor) as f64 / self.spend_minor as f64 * 10_000.0).round() / 10_000.0);
        self
    }

    /// Adds the counts, spend and revenue of `o` (rates are filled again by [`Self::finish`]).
    pub fn add(&mut self, o: &Performance) {
        self.reach += o.reach;
        self.sent += o.sent;
        self.delivered += o.delivered;
        self.bounced += o.bounced;
        self.opened += o.opened;
        self.clicked += o.clicked;
        self.responded += o.responded;
        self.converted += o.converted;
        self.spend_minor += o.spend_minor;
        self.revenue_minor += o.revenue_minor;
    }
}

/// One campaign in the campaigns report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CampaignRow {
    /// The campaign.
    pub campaign_id: i64,
    /// Its name.
    pub name: String,
    /// Its channel.
    pub channel: String,
    /// Its currency.
    pub currency: String,
    /// Counts, rates, costs, revenue and ROI.
    #[serde(flatten)]
    pub performance: Performance,
}

/// One channel (and currency) in the channels report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChannelRow {
    /// The channel.
    pub channel: String,
    /// The currency of its spend and revenue.
    pub currency: String,
    /// Its campaigns.
    pub campaigns: i64,
    /// Counts, rates, costs, revenue and ROI.
    #[serde(flatten)]
    pub performance: Performance,
}

/// One week or month of the over-time report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct OverTimeRow {
    /// The week's Monday or the month (`YYYY-MM`).
    pub period: String,
    /// Mails handed over.
    pub sent: i64,
    /// Bounces.
    pub bounced: i64,
    /// Members who first opened then.
    pub opened: i64,
    /// Members who first clicked then.
    pub clicked: i64,
    /// Members who first responded then.
    pub responded: i64,
    /// Members who converted then.
    pub converted: i64,
    /// Revenue paid then and attributed (under the chosen model), in minor units of the
    /// campaigns' currencies added up (one currency in practice).
    pub revenue_minor: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_filter_names_bad_parameters() {
        let f = MarketingFilter::parse(&pairs(&[("period", "2026-Q3"), ("channel", "email"), ("model", "linear")])).unwrap();
        assert_eq!((f.from.unwrap().to_string(), f.to.unwrap().to_string()), ("2026-07-01".into(), "2026-09-30".into()));
        assert_eq!(f.model, Model::Linear);
        let e = MarketingFilter::parse(&pairs(&[("channel", "fax"), ("window_days", "0"), ("x", "1"), ("interval", "day")])).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["channel", "window_days", "x", "interval"]);
    }

    #[test]
    fn rates_costs_and_roi() {
        let p = Performance {
            reach: 200,
            sent: 100,
            delivered: 90,
            bounced: 10,
            opened: 45,
            clicked: 9,
            responded: 4,
            converted: 2,
            spend_minor: 1000,
            revenue_minor: 2500,
            ..Performance::default()
        }
        .finish();
        assert_eq!((p.delivery_rate, p.bounce_rate, p.open_rate, p.click_rate), (Some(90.0), Some(10.0), Some(50.0), Some(10.0)));
        assert_eq!((p.response_rate, p.conversion_rate), (Some(2.0), Some(1.0)));
        assert_eq!((p.cost_per_lead_minor, p.cost_per_acquisition_minor, p.roi), (Some(250), Some(500), Some(1.5)));
    }
}
