//! Analytics runs as the rest of Rapport sees them: which analyses exist, which of them write
//! scores onto people (and so run over every record, see [`RunKind::writes_scores`]), the
//! parameters a run takes, and the record of a run.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::ValidationErrors;

/// An analysis that runs on the live data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// RFM cells and tiers, written onto people.
    Rfm,
    /// k-means segments, written onto people.
    Segmentation,
    /// Purchase propensity, written onto people.
    Propensity,
    /// Churn risk from a decision tree, written onto people.
    Churn,
    /// Cross-sell rules (Apriori); feed the recommended products.
    AssociationRules,
    /// Monthly sales forecast (ARIMA, Holt-Winters).
    Forecast,
    /// Campaign spend and channel regressed on monthly sales.
    CampaignEffect,
}

impl RunKind {
    /// Every analysis, in the order the UI offers them.
    pub const ALL: [RunKind; 7] = [
        RunKind::Rfm,
        RunKind::Segmentation,
        RunKind::Propensity,
        RunKind::Churn,
        RunKind::AssociationRules,
        RunKind::Forecast,
        RunKind::CampaignEffect,
    ];

    /// Name as stored and as used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Rfm => "rfm",
            RunKind::Segmentation => "segmentation",
            RunKind::Propensity => "propensity",
            RunKind::Churn => "churn",
            RunKind::AssociationRules => "association_rules",
            RunKind::Forecast => "forecast",
            RunKind::CampaignEffect => "campaign_effect",
        }
    }

    /// Parses a kind's name; an unknown one is an error on the field `kind` that lists them all.
    pub fn parse(s: &str) -> Result<RunKind, ValidationErrors> {
        RunKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = RunKind::ALL.iter().map(|k| k.as_str()).collect();
            ValidationErrors::single("kind", format!("'{s}' is not an analysis here: use {}", names.join(", ")))
        })
    }

    /// Whether the run writes scores onto people. Such a run changes data every user sees, so
    /// it needs the `analytics: run` grant and computes over every record as the system: the
    /// scores mean the same whoever started it. The other runs only read, over what their
    /// starter may see.
    pub fn writes_scores(self) -> bool {
        matches!(self, RunKind::Rfm | RunKind::Segmentation | RunKind::Propensity | RunKind::Churn)
    }
}

impl std::fmt::Display for RunKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parameters of a run; each analysis reads the ones it needs.
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// Segmentation: number of clusters (2 to 12, default 4).
    pub k: Option<usize>,
    /// Propensity and churn: length of the holdout period in days (default: half the data's span).
    pub horizon_days: Option<i64>,
    /// Association rules: minimum support of an itemset (default 0.01).
    pub min_support: Option<f64>,
    /// Association rules: minimum confidence of a rule (default 0.2).
    pub min_confidence: Option<f64>,
}

impl RunParams {
    /// Checks the ranges, naming each field out of range.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        if self.k.is_some_and(|k| !(2..=12).contains(&k)) {
            errs.add("k", "must be from 2 to 12");
        }
        for (field, v) in [("min_support", self.min_support), ("min_confidence", self.min_confidence)] {
            if v.is_some_and(|v| !(v > 0.0 && v <= 1.0)) {
                errs.add(field, "must be above 0 and at most 1");
            }
        }
        errs.into_result(())
    }
}

/// An analytics run: what ran, who started it, with what parameters, and how it ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnalyticsRun {
    /// Identifier.
    pub id: i64,
    /// `rfm`, `segmentation`, `propensity`, `churn`, `association_rules`, `forecast` or
    /// `campaign_effect` (a [`RunKind`]).
    pub kind: String,
    /// `running`, `done` or `failed`.
    pub status: String,
    /// Who started it (`null`: the system, e.g. `rapport analyze`).
    pub actor_id: Option<i64>,
    /// Parameters.
    #[schema(value_type = Object)]
    pub params: Value,
    /// What a running analysis is doing now (`loading purchases`, `computing`, `writing scores`).
    pub progress: Option<String>,
    /// Summary of the result (counts, model quality).
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// Start.
    pub created_at: String,
    /// End.
    pub finished_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_ones_name_the_field() {
        for k in RunKind::ALL {
            assert_eq!(RunKind::parse(k.as_str()), Ok(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        let e = RunKind::parse("weather").unwrap_err();
        assert_eq!(e.0[0].field, "kind");
        assert!(e.0[0].message.contains("rfm, segmentation"), "{e}");
        assert_eq!(RunKind::ALL.iter().filter(|k| k.writes_scores()).count(), 4);
    }

    #[test]
    fn params_out_of_range_are_named() {
        let p = RunParams { k: Some(40), min_support: Some(0.0), ..Default::default() };
        let fields: Vec<String> = p.validate().unwrap_err().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["k", "min_support"]);
        assert!(RunParams::default().validate().is_ok());
    }
}
