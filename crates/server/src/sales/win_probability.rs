//! Win probability of a pipeline's open deals, learned from its closed ones (issue 9, §5),
//! and the weighted pipeline next to the one the stages' fixed probabilities give.
//!
//! The store reads the deals the actor may see with their stage histories and activity times
//! ([`Store::deal_dataset`]); here each becomes the model's row
//! ([`rapport_analytics::win_probability::DealFeatures`]) as the analytics module asks:
//!
//! - a **closed** deal as it stood just before it closed: the stage of the history entry before
//!   the final close (its last open stage) with that stage's probability, its age and time in
//!   that stage at the close, the activities logged before the close, and its owner's win rate
//!   over deals closed strictly before. A closed deal whose history has no open stage before
//!   the close (imported closed) says nothing about how it stood while open and is left out
//!   (counted in `left_out`);
//! - an **open** deal as it stands now.
//!
//! Ages come from the stage history (its first entry is the creation), not from `created_at`,
//! so imported deals keep their real age. Amounts enter the model in major units of their own
//! currency (no exchange rates are kept; the model takes their logarithm, so a pipeline mostly
//! in one currency is what it is meant for). Owner win rates are computed within the pipeline.
//! The computation runs on a blocking thread.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rapport_analytics::win_probability::{ClosedOutcome, DealFeatures, MIN_CLOSED, MIN_PER_CLASS, OwnerHistory, WinParams};
use rapport_domain::permissions::Actor;
use rapport_domain::sales::money::{Currency, div_round_half_away};
use rapport_domain::sales::pipeline::StageOutcome;
use rapport_store::{DealDataset, PipelineSet, Store};
use serde::Serialize;
use utoipa::ToSchema;

/// Why no model came out.
#[derive(Debug, thiserror::Error)]
pub enum WinError {
    /// Reading failed or was refused.
    #[error(transparent)]
    Store(#[from] rapport_store::Error),
    /// The data cannot make a model (too few closed deals, one outcome only…); the message
    /// says what is short.
    #[error("{0}")]
    Data(String),
    /// The computation stopped.
    #[error("the computation stopped unexpectedly: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The model's evaluation on closed deals it was not fitted on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldoutSummary {
    /// Closed deals fitted on.
    pub n_train: usize,
    /// Closed deals held out.
    pub n_test: usize,
    /// ROC AUC on the held-out deals (0.5 is guessing, 1 is perfect ranking).
    pub auc: f64,
    /// Share of held-out deals whose outcome the model called right at 50 %.
    pub accuracy: f64,
    /// Accuracy of always answering the held-out deals' majority outcome (the bar to beat).
    pub majority_accuracy: f64,
    /// Mean log loss on the held-out deals.
    pub log_loss: f64,
}

/// One input of the model and its weight on the standardized scale.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Coefficient {
    /// `stage_probability`, `log_age_days`, `log_days_in_stage`, `log_amount`,
    /// `log_activities` or `owner_win_rate`.
    pub feature: String,
    /// Change in log-odds per standard deviation.
    pub coefficient: f64,
}

/// The fitted model.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelSummary {
    /// Closed deals it learned from (refitted on all of them after the held-out test).
    pub n_closed: usize,
    /// Won deals among them.
    pub n_won: usize,
    /// Share won among them.
    pub base_rate: f64,
    /// How it did on held-out deals.
    pub holdout: HoldoutSummary,
    /// Its weights.
    pub coefficients: Vec<Coefficient>,
}

/// One input's push on one prediction.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Factor {
    /// Which input (see [`Coefficient::feature`]).
    pub feature: String,
    /// In words: `owner often wins (84% past win rate)`.
    pub label: String,
    /// Push on the log-odds, relative to an average closed deal.
    pub contribution: f64,
}

/// An open deal's learned win probability.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Prediction {
    /// The opportunity.
    pub opportunity_id: i64,
    /// Its name.
    pub name: String,
    /// Its stage key.
    pub stage: String,
    /// Its amount in minor units.
    pub amount_minor: i64,
    /// Its currency.
    pub currency: String,
    /// Learned probability of winning, 0 to 1.
    pub probability: f64,
    /// The stage's fixed probability, 0 to 1.
    pub stage_probability: f64,
    /// The strongest pushes on it, strongest first.
    pub factors: Vec<Factor>,
}

/// The open pipeline of one currency, weighted two ways.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeightedTotal {
    /// ISO 4217 code.
    pub currency: String,
    /// Open deals.
    pub open_deals: usize,
    /// Their amounts, in minor units.
    pub amount_minor: i64,
    /// Σ amount × the stage's fixed probability.
    pub weighted_by_stage_minor: i64,
    /// Σ amount × the learned probability.
    pub weighted_by_model_minor: i64,
}

/// `GET /api/v1/pipelines/{id}/win_probability`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WinReport {
    /// The pipeline.
    pub pipeline_id: i64,
    /// The model and its held-out evaluation.
    pub model: ModelSummary,
    /// Every open deal you may see, by id.
    pub predictions: Vec<Prediction>,
    /// The weighted open pipeline per currency.
    pub weighted_pipeline: Vec<WeightedTotal>,
    /// Closed deals left out: their history has no open stage before the close.
    pub left_out: usize,
}

impl WinReport {
    /// The prediction for one opportunity, if it is open and in the report.
    pub fn prediction(&self, id: i64) -> Option<&Prediction> {
        self.predictions.binary_search_by_key(&id, |p| p.opportunity_id).ok().map(|i| &self.predictions[i])
    }
}

/// Fits the model on the closed deals of `pipeline_id` the actor may see and scores the open
/// ones.
pub async fn win_probability(store: &Store, actor: &Actor, pipeline_id: i64) -> Result<WinReport, WinError> {
    store.get_pipeline(actor, pipeline_id).await?;
    let pipelines = store.pipeline_set().await?;
    let data = store.deal_dataset(actor, pipeline_id).await?;
    let now = Utc::now();
    tokio::task::spawn_blocking(move || compute(pipeline_id, &pipelines, &data, now)).await?
}

fn at(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| t.with_timezone(&Utc))
}

fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_seconds() as f64 / 86_400.0).max(0.0)
}

/// What a prediction shows of its deal beyond the model's row.
struct Shown {
    name: String,
    stage: String,
    amount_minor: i64,
    currency: String,
    probability: i64,
}

fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

fn compute(pipeline_id: i64, pipelines: &PipelineSet, data: &DealDataset, now: DateTime<Utc>) -> Result<WinReport, WinError> {
    let empty = vec![];
    let probability_of = |pipeline: Option<i64>, stage: &str| pipelines.get(pipeline?)?.stage(stage).map(|s| s.probability);
    // Each closed deal's close: the time of its history's last entry, a won or lost stage.
    let closes: HashMap<i64, (DateTime<Utc>, bool)> = data
        .deals
        .iter()
        .filter(|d| d.status.is_closed())
        .filter_map(|d| {
            let last = data.history.get(&d.id)?.last().filter(|c| c.outcome.is_closed())?;
            Some((d.id, (at(&last.at)?, last.outcome == StageOutcome::Won)))
        })
        .collect();
    let owner_key = |o: Option<i64>| o.unwrap_or(-1);
    // Close times in microseconds: the history only orders them, and deals closing within the
    // same second still come one after the other.
    let outcomes: Vec<ClosedOutcome> = data
        .deals
        .iter()
        .filter_map(|d| {
            closes.get(&d.id).map(|(t, won)| ClosedOutcome { owner: owner_key(d.owner_id), closed_at: t.timestamp_micros(), won: *won })
        })
        .collect();
    let owners = OwnerHistory::new(&outcomes);
    let mut rows = Vec::with_capacity(data.deals.len());
    let mut shown: HashMap<i64, Shown> = HashMap::new();
    let mut left_out = 0;
    for d in &data.deals {
        let history = data.history.get(&d.id).unwrap_or(&empty);
        let first = history.first().and_then(|c| at(&c.at)).or_else(|| at(&d.created_at)).unwrap_or(now);
        let activities = data.activity_times.get(&d.id).map(Vec::as_slice).unwrap_or(&[]);
        let per_major = Currency::parse(&d.currency).map(|c| c.minor_per_major()).unwrap_or(100) as f64;
        let (stage, probability, entered, as_of, outcome) = if d.status.is_closed() {
            // The entry before the final close is the last open stage the deal was in.
            let before = history.len().checked_sub(2).map(|i| &history[i]).filter(|c| c.outcome == StageOutcome::Open);
            let (Some(&(closed, won)), Some(c)) = (closes.get(&d.id), before) else {
                left_out += 1;
                continue;
            };
            let Some(p) = probability_of(c.pipeline_id, &c.to_stage) else {
                left_out += 1;
                continue;
            };
            (c.to_stage.clone(), p, at(&c.at).unwrap_or(first), closed, Some(won))
        } else {
            let p = probability_of(Some(pipeline_id), &d.stage).unwrap_or(0);
            let entered = d.stage_entered_at.as_deref().and_then(at).unwrap_or(first);
            (d.stage.clone(), p, entered, now, None)
        };
        rows.push(DealFeatures {
            id: d.id,
            stage: pipelines.get(pipeline_id).and_then(|p| p.stage(&stage)).map(|s| s.name.clone()).unwrap_or_else(|| stage.clone()),
            stage_probability: probability as f64 / 100.0,
            age_days: days(first, as_of),
            days_in_stage: days(entered, as_of),
            amount: d.amount_minor as f64 / per_major,
            activities: activities.iter().filter_map(|t| at(t)).filter(|t| *t < as_of).count() as f64,
            owner_win_rate: owners.win_rate_before(owner_key(d.owner_id), as_of.timestamp_micros()),
            outcome,
        });
        if outcome.is_none() {
            shown.insert(
                d.id,
                Shown {
                    name: d.name.clone(),
                    stage: d.stage.clone(),
                    amount_minor: d.amount_minor,
                    currency: d.currency.clone(),
                    probability,
                },
            );
        }
    }
    let result = rapport_analytics::win_probability::win_probability(&rows, &WinParams::default()).map_err(|e| match e {
        rapport_analytics::Error::TooFew { what, need, got } => WinError::Data(format!(
            "the model learns from closed deals: this pipeline has {got} {what} you may see, and needs at least {need} \
             (at least {MIN_CLOSED} closed deals, of them at least {MIN_PER_CLASS} won and {MIN_PER_CLASS} lost)"
        )),
        other => WinError::Data(format!("the model could not be fitted on these deals: {other}")),
    })?;
    let m = &result.model;
    let h = &m.holdout;
    let model = ModelSummary {
        n_closed: m.n_closed,
        n_won: m.n_won,
        base_rate: finite(m.base_rate),
        holdout: HoldoutSummary {
            n_train: h.n_train,
            n_test: h.n_test,
            auc: finite(h.test_auc),
            accuracy: finite(h.test_accuracy),
            majority_accuracy: finite(h.test_majority_accuracy),
            log_loss: finite(h.test_log_loss),
        },
        coefficients: rapport_analytics::win_probability::Feature::ALL
            .iter()
            .map(|f| Coefficient { feature: f.name().into(), coefficient: finite(m.coefficient(*f)) })
            .collect(),
    };
    let mut weighted: BTreeMap<String, WeightedTotal> = BTreeMap::new();
    let mut predictions = Vec::with_capacity(result.predictions.len());
    for p in result.predictions {
        let Some(s) = shown.remove(&p.id) else { continue };
        let w = weighted.entry(s.currency.clone()).or_insert_with(|| WeightedTotal {
            currency: s.currency.clone(),
            open_deals: 0,
            amount_minor: 0,
            weighted_by_stage_minor: 0,
            weighted_by_model_minor: 0,
        });
        w.open_deals += 1;
        w.amount_minor += s.amount_minor;
        w.weighted_by_stage_minor += div_round_half_away(s.amount_minor as i128 * s.probability as i128, 100) as i64;
        w.weighted_by_model_minor += (s.amount_minor as f64 * finite(p.probability)).round() as i64;
        predictions.push(Prediction {
            opportunity_id: p.id,
            name: s.name,
            stage: s.stage,
            amount_minor: s.amount_minor,
            currency: s.currency,
            probability: finite(p.probability),
            stage_probability: finite(p.stage_probability),
            factors: p
                .factors
                .iter()
                .map(|f| Factor { feature: f.feature.name().into(), label: f.label.clone(), contribution: finite(f.contribution) })
                .collect(),
        });
    }
    Ok(WinReport { pipeline_id, model, predictions, weighted_pipeline: weighted.into_values().collect(), left_out })
}
