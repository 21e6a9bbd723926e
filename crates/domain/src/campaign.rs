//! Marketing campaigns: budget, channel and schedule.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ValidationErrors;

/// The channels a campaign can run through.
pub const CHANNELS: [&str; 6] = ["email", "search", "social", "events", "print", "partners"];

/// A campaign as the API returns it, and as clients send it (`id`, times and `version` are
/// ignored on input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    /// Identifier.
    #[serde(default)]
    pub id: i64,
    /// Name, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// One of `email`, `search`, `social`, `events`, `print`, `partners`.
    #[schema(pattern = "^(email|search|social|events|print|partners)$")]
    pub channel: String,
    /// Budget in minor units (cents).
    #[schema(minimum = 0)]
    pub budget_minor: i64,
    /// ISO 4217 currency code.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// First day (YYYY-MM-DD).
    #[schema(format = Date)]
    pub starts_on: String,
    /// Last day (YYYY-MM-DD), not before the first.
    #[schema(format = Date)]
    pub ends_on: String,
    /// The user responsible.
    #[serde(default)]
    pub owner_id: Option<i64>,
    /// Creation time.
    #[serde(default)]
    pub created_at: String,
    /// Last change.
    #[serde(default)]
    pub updated_at: String,
    /// Version.
    #[serde(default)]
    pub version: i64,
}

impl Campaign {
    /// Checks and normalizes a submitted campaign.
    pub fn validated(mut self) -> Result<Campaign, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        self.name = self.name.trim().to_string();
        if self.name.is_empty() || self.name.chars().count() > 200 {
            errs.add("name", "must have 1 to 200 characters");
        }
        if !CHANNELS.contains(&self.channel.as_str()) {
            errs.add("channel", format!("use one of: {}", CHANNELS.join(", ")));
        }
        if self.budget_minor < 0 {
            errs.add("budget_minor", "cannot be negative");
        }
        self.currency = self.currency.trim().to_uppercase();
        if self.currency.len() != 3 || !self.currency.chars().all(|c| c.is_ascii_uppercase()) {
            errs.add("currency", "must be a three-letter ISO 4217 code such as USD");
        }
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        match (day(&self.starts_on), day(&self.ends_on)) {
            (Some(a), Some(b)) if a <= b => {
                self.starts_on = a.to_string();
                self.ends_on = b.to_string();
            }
            (Some(_), Some(_)) => errs.add("ends_on", "must not be before starts_on"),
            (a, b) => {
                if a.is_none() {
                    errs.add("starts_on", "must be a date written YYYY-MM-DD");
                }
                if b.is_none() {
                    errs.add("ends_on", "must be a date written YYYY-MM-DD");
                }
            }
        }
        errs.into_result(self)
    }

    /// The campaign's budget spread evenly over the days it runs, summed per calendar month
    /// (`YYYY-MM`), in major units.
    pub fn spend_by_month(&self) -> Vec<(String, f64)> {
        let (Ok(a), Ok(b)) =
            (chrono::NaiveDate::parse_from_str(&self.starts_on, "%Y-%m-%d"), chrono::NaiveDate::parse_from_str(&self.ends_on, "%Y-%m-%d"))
        else {
            return vec![];
        };
        let days = (b - a).num_days() + 1;
        let per_day = self.budget_minor as f64 / 100.0 / days as f64;
        let mut out: Vec<(String, f64)> = vec![];
        for d in a.iter_days().take(days as usize) {
            let m = d.format("%Y-%m").to_string();
            match out.last_mut() {
                Some((lm, v)) if *lm == m => *v += per_day,
                _ => out.push((m, per_day)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(start: &str, end: &str, budget: i64) -> Campaign {
        Campaign {
            id: 0,
            name: "Spring".into(),
            channel: "email".into(),
            budget_minor: budget,
            currency: "usd".into(),
            starts_on: start.into(),
            ends_on: end.into(),
            owner_id: None,
            created_at: String::new(),
            updated_at: String::new(),
            version: 0,
        }
    }

    #[test]
    fn spend_is_spread_over_the_days_it_runs() {
        let spend = c("2025-01-22", "2025-02-10", 20_000).validated().unwrap().spend_by_month();
        assert_eq!(spend.len(), 2);
        assert!((spend[0].1 - 100.0).abs() < 1e-9 && (spend[1].1 - 100.0).abs() < 1e-9, "{spend:?}");
    }

    #[test]
    fn bad_campaigns_name_their_fields() {
        let e = c("2025-02-01", "2025-01-01", -1).validated().unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["budget_minor", "ends_on"]);
    }
}
