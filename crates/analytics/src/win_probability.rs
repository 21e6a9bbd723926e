//! Win probability of open opportunities, learned from closed ones.
//!
//! **What it does.** [`win_probability`] fits an L2-regularized logistic regression
//! ([`fit_logistic`], scikit-learn's objective) on closed deals — won or lost — and
//! scores every open deal with a probability and the few factors that pushed it up or
//! down. It also reports how well the model ranks deals it did not see: ROC AUC,
//! accuracy and log loss on a seeded, outcome-stratified held-out split.
//!
//! **Rows describe a deal as it stood while open.** A closed deal's final stage is
//! *Won* or *Lost*, which is the answer, not a feature. So the caller builds each
//! closed deal's [`DealFeatures`] as the deal looked just before it closed:
//!
//! - `stage`, `stage_probability`: the last *open* stage the deal was in before it was
//!   moved to won or lost, and that stage's fixed probability;
//! - `age_days`: days from creation to the close;
//! - `days_in_stage`: days from entering that last open stage to the close;
//! - `activities`: activities logged on the deal before the close;
//! - `owner_win_rate`: the owner's past win rate over deals closed strictly before
//!   this one closed ([`OwnerHistory::win_rate_before`] with `as_of = closed_at`);
//! - `amount`: the amount at the close.
//!
//! An open deal's row is the same measurements taken now (`as_of` = the scoring time).
//! This is an approximation worth knowing: a closed deal is described at its *end*,
//! an open one somewhere in its *middle*, so an open deal looks younger and less
//! active than it will be when it closes. Snapshotting open deals at regular dates
//! would remove that bias and needs stage history the caller may not have yet.
//!
//! **Features** ([`Feature`]), in this order: the stage's fixed probability (as is),
//! `ln(1 + age_days)`, `ln(1 + days_in_stage)`, `ln(1 + amount)`, `ln(1 + activities)`
//! and the owner's past win rate (as is); negative values count as 0 before the log.
//! Each is z-scored with the mean and population standard deviation of the rows the
//! model is fitted on (a constant column gets deviation 1, as scikit-learn's
//! `StandardScaler` does), and the means and deviations are kept in the model.
//!
//! - *Stage as its fixed probability, not one-hot.* One number works across pipelines
//!   whose stage names differ, scores a stage that no closed deal was last in, and costs
//!   one coefficient instead of one per stage — which matters with a few dozen closed
//!   deals. The price is that stage effects are assumed to follow the configured
//!   probabilities monotonically; the model can still learn that they are too
//!   optimistic or too timid, which is exactly the comparison the weighted pipeline
//!   shows ([`weighted_pipeline`]).
//! - *Logs for amount, age, time in stage and activity count,* because they are
//!   heavy-tailed: one enterprise deal should not stretch the scale for all others.
//!   With a log, the unit of `amount` barely matters (major or minor units differ by a
//!   constant that z-scoring removes); pass major units of one currency.
//!
//! **Held-out split and the scoring model.** Closed deals are ordered by id; within
//! each outcome, they are ordered by a seeded hash of the id ([`holdout_split`]) and
//! the first `round(test_fraction · n)` (at least one, at most `n − 1`) go to the
//! test set. The split therefore depends only on the ids, outcomes and seed — not on
//! the order rows arrive in. A model is fitted on the train split (scaled with
//! train-split statistics only) and measured on the test split ([`Holdout`]). The
//! model that scores open deals is then refitted on **all** closed deals: with CRM-sized
//! data a quarter more examples is worth more than scoring with the exact model that
//! was measured, and the held-out numbers are an honest estimate for the procedure.
//!
//! **Factors.** For a scored deal, each feature's contribution to the log-odds is
//! `coefficient × standardized value`, i.e. relative to an average closed deal (all
//! z = 0, whose log-odds is the intercept). The largest in absolute value, up to
//! [`WinParams::top_factors`], come with a label such as `amount is high (12,000)`
//! and print as `amount is high (12,000) (+0.8)`.
//!
//! **Refusals.** Fewer than [`MIN_CLOSED`] closed deals, or fewer than
//! [`MIN_PER_CLASS`] won or lost ones, is [`Error::TooFew`] naming what is short.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::error::{Error, Result};
use crate::logistic::{LogisticModel, fit_logistic, log_loss, roc_auc};
use crate::rfm::column_mean_std;

/// Fewest closed deals a model is fitted on.
pub const MIN_CLOSED: usize = 20;
/// Fewest won, and fewest lost, deals among them.
pub const MIN_PER_CLASS: usize = 5;
/// Pseudo-deals that pull an owner's past win rate toward the team's (see [`OwnerHistory`]).
pub const OWNER_PRIOR_WEIGHT: f64 = 5.0;

/// One opportunity, described as it stood while open (see the module docs for closed ones).
#[derive(Debug, Clone, PartialEq)]
pub struct DealFeatures {
    /// Opportunity id; unique in one call.
    pub id: i64,
    /// Name of the (last open) stage, for labels.
    pub stage: String,
    /// That stage's fixed probability, in `[0, 1]`.
    pub stage_probability: f64,
    /// Days since the deal was created.
    pub age_days: f64,
    /// Days since it entered its current (last open) stage.
    pub days_in_stage: f64,
    /// Amount in major units of one currency.
    pub amount: f64,
    /// Number of activities logged on the deal.
    pub activities: f64,
    /// The owner's past win rate in `[0, 1]`, from deals closed before the as-of date.
    pub owner_win_rate: f64,
    /// `Some(true)` won, `Some(false)` lost, `None` still open.
    pub outcome: Option<bool>,
}

/// A model input, in model order ([`Feature::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    /// The stage's fixed probability.
    StageProbability,
    /// `ln(1 + age in days)`.
    Age,
    /// `ln(1 + days in the current stage)`.
    DaysInStage,
    /// `ln(1 + amount)`.
    Amount,
    /// `ln(1 + number of activities)`.
    Activities,
    /// The owner's past win rate.
    OwnerWinRate,
}

impl Feature {
    /// Every feature, in the order of the model's coefficients.
    pub const ALL: [Feature; 6] =
        [Feature::StageProbability, Feature::Age, Feature::DaysInStage, Feature::Amount, Feature::Activities, Feature::OwnerWinRate];

    /// Stable snake_case name (the reference script's column name).
    pub fn name(self) -> &'static str {
        match self {
            Feature::StageProbability => "stage_probability",
            Feature::Age => "log_age_days",
            Feature::DaysInStage => "log_days_in_stage",
            Feature::Amount => "log_amount",
            Feature::Activities => "log_activities",
            Feature::OwnerWinRate => "owner_win_rate",
        }
    }

    /// The [`DealFeatures`] field this feature is computed from.
    pub fn field(self) -> &'static str {
        match self {
            Feature::StageProbability => "stage_probability",
            Feature::Age => "age_days",
            Feature::DaysInStage => "days_in_stage",
            Feature::Amount => "amount",
            Feature::Activities => "activities",
            Feature::OwnerWinRate => "owner_win_rate",
        }
    }

    /// The deal's raw (untransformed) value of this feature.
    pub fn raw(self, d: &DealFeatures) -> f64 {
        match self {
            Feature::StageProbability => d.stage_probability,
            Feature::Age => d.age_days,
            Feature::DaysInStage => d.days_in_stage,
            Feature::Amount => d.amount,
            Feature::Activities => d.activities,
            Feature::OwnerWinRate => d.owner_win_rate,
        }
    }

    /// The model's value before z-scoring: `ln(1 + max(v, 0))` for the heavy-tailed ones.
    pub fn transform(self, raw: f64) -> f64 {
        match self {
            Feature::StageProbability | Feature::OwnerWinRate => raw,
            _ => raw.max(0.0).ln_1p(),
        }
    }

    /// What a value above (`z > 0`) or below the average of closed deals means, in words.
    fn describe(self, d: &DealFeatures, z: f64) -> String {
        let high = z > 0.0;
        let days = |v: f64| {
            let n = v.max(0.0).round();
            if n == 1.0 { "1 day".to_string() } else { format!("{} days", group(n)) }
        };
        match self {
            Feature::StageProbability => {
                let p = format!("{}, {:.0}%", d.stage, d.stage_probability * 100.0);
                if high { format!("late stage ({p})") } else { format!("early stage ({p})") }
            }
            Feature::Age if high => format!("deal is old ({})", days(d.age_days)),
            Feature::Age => format!("deal is young ({})", days(d.age_days)),
            Feature::DaysInStage if high => format!("long in stage ({})", days(d.days_in_stage)),
            Feature::DaysInStage => format!("recently moved stage ({} in stage)", days(d.days_in_stage)),
            Feature::Amount if high => format!("amount is high ({})", group(d.amount.round())),
            Feature::Amount => format!("amount is low ({})", group(d.amount.round())),
            Feature::Activities if d.activities <= 0.0 => "no activities logged".to_string(),
            Feature::Activities if high => format!("many activities ({})", group(d.activities.round())),
            Feature::Activities => format!("few activities ({})", group(d.activities.round())),
            Feature::OwnerWinRate => {
                let r = format!("{:.0}%", d.owner_win_rate * 100.0);
                if high { format!("owner often wins ({r} past win rate)") } else { format!("owner seldom wins ({r} past win rate)") }
            }
        }
    }
}

/// A whole number with thousands separators (`12,500`).
fn group(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 && digits != "0" { format!("-{out}") } else { out }
}

/// Settings of [`win_probability`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WinParams {
    /// Inverse L2 strength (scikit-learn's `C`), positive.
    pub c: f64,
    /// Share of each outcome held out for testing, in `(0, 1)`.
    pub test_fraction: f64,
    /// Seed of the held-out split.
    pub seed: u64,
    /// Factors reported per prediction.
    pub top_factors: usize,
}

impl Default for WinParams {
    /// `C = 1`, 25% held out, seed 0, three factors.
    fn default() -> Self {
        WinParams { c: 1.0, test_fraction: 0.25, seed: 0, top_factors: 3 }
    }
}

/// How the model did on closed deals it was not fitted on.
#[derive(Debug, Clone, PartialEq)]
pub struct Holdout {
    /// Closed deals in the train split.
    pub n_train: usize,
    /// Closed deals in the test split (both outcomes present).
    pub n_test: usize,
    /// ROC AUC of the train-split model on the test split.
    pub test_auc: f64,
    /// Accuracy at probability 0.5 on the test split.
    pub test_accuracy: f64,
    /// Accuracy of always answering the test split's majority outcome (the bar to beat).
    pub test_majority_accuracy: f64,
    /// Mean log loss on the test split.
    pub test_log_loss: f64,
    /// Ids of the test split, ascending.
    pub test_ids: Vec<i64>,
    /// The model fitted on the train split (on z-scored features).
    pub model: LogisticModel,
    /// Feature means on the train split.
    pub scaler_mean: Vec<f64>,
    /// Feature standard deviations on the train split.
    pub scaler_std: Vec<f64>,
}

/// The fitted win-probability model (refitted on every closed deal) and its evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct WinModel {
    /// Closed deals fitted on.
    pub n_closed: usize,
    /// Won deals among them.
    pub n_won: usize,
    /// Share won among closed deals.
    pub base_rate: f64,
    /// Feature means over all closed deals (order of [`Feature::ALL`]).
    pub scaler_mean: Vec<f64>,
    /// Feature standard deviations over all closed deals.
    pub scaler_std: Vec<f64>,
    /// Coefficients on z-scored features, and the intercept.
    pub model: LogisticModel,
    /// The settings used.
    pub params: WinParams,
    /// Held-out evaluation of the same procedure.
    pub holdout: Holdout,
}

/// One feature's push on a prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// Which input.
    pub feature: Feature,
    /// Human wording, e.g. `no activities logged`.
    pub label: String,
    /// Contribution to the log-odds: coefficient × standardized value.
    pub contribution: f64,
}

impl fmt::Display for Factor {
    /// `amount is high (12,000) (+0.8)`, with a real minus sign for negative pushes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = format!("{:+.1}", self.contribution).replace('-', "\u{2212}");
        write!(f, "{} ({v})", self.label)
    }
}

/// A scored open deal.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Opportunity id.
    pub id: i64,
    /// Its stage.
    pub stage: String,
    /// Its amount (as given).
    pub amount: f64,
    /// Learned probability of winning.
    pub probability: f64,
    /// The stage's fixed probability, shown beside it.
    pub stage_probability: f64,
    /// The strongest contributions, largest absolute value first (zero ones left out).
    pub factors: Vec<Factor>,
}

/// Result of [`win_probability`].
#[derive(Debug, Clone, PartialEq)]
pub struct WinProbability {
    /// The model.
    pub model: WinModel,
    /// Every open deal of the input, by ascending id.
    pub predictions: Vec<Prediction>,
}

/// Pipeline totals weighted two ways.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightedPipeline {
    /// Open deals counted.
    pub open_deals: usize,
    /// Sum of amounts.
    pub amount: f64,
    /// Σ amount × stage's fixed probability.
    pub weighted_by_stage: f64,
    /// Σ amount × learned win probability.
    pub weighted_by_model: f64,
}

/// Totals of the open pipeline, weighted by the stages' fixed probabilities and by the model.
pub fn weighted_pipeline(predictions: &[Prediction]) -> WeightedPipeline {
    let mut w = WeightedPipeline { open_deals: predictions.len(), amount: 0.0, weighted_by_stage: 0.0, weighted_by_model: 0.0 };
    for p in predictions {
        w.amount += p.amount;
        w.weighted_by_stage += p.amount * p.stage_probability;
        w.weighted_by_model += p.amount * p.probability;
    }
    w
}

fn check_row(d: &DealFeatures) -> Result<()> {
    for f in Feature::ALL {
        let v = f.raw(d);
        if !v.is_finite() {
            return Err(Error::Parameter { name: f.field(), detail: format!("deal {}: not a finite number ({v})", d.id) });
        }
    }
    for (name, v) in [("stage_probability", d.stage_probability), ("owner_win_rate", d.owner_win_rate)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::Parameter { name, detail: format!("deal {}: {v} is outside [0, 1]", d.id) });
        }
    }
    Ok(())
}

fn check_rows(deals: &[DealFeatures]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for d in deals {
        if !seen.insert(d.id) {
            return Err(Error::Parameter { name: "id", detail: format!("deal {} appears twice", d.id) });
        }
        check_row(d)?;
    }
    Ok(())
}

fn transformed(d: &DealFeatures) -> Vec<f64> {
    Feature::ALL.iter().map(|f| f.transform(f.raw(d))).collect()
}

fn zscore(x: &[f64], mu: &[f64], sd: &[f64]) -> Vec<f64> {
    x.iter().zip(mu).zip(sd).map(|((v, m), s)| (v - m) / s).collect()
}

/// SplitMix64's finalizer: a well-mixed, portable hash of a 64-bit value.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seeded, outcome-stratified held-out split: `true` marks a test row.
///
/// Within each outcome, rows are ordered by `splitmix64(splitmix64(seed) ^ id as u64)`
/// (ties by id) and the first `clamp(floor(fraction · n + 0.5), 1, n − 1)` are test rows
/// (none if a class has fewer than two rows). The reference script implements the same rule.
pub fn holdout_split(ids: &[i64], outcomes: &[bool], fraction: f64, seed: u64) -> Result<Vec<bool>> {
    if ids.len() != outcomes.len() {
        return Err(Error::Shape(format!("{} ids for {} outcomes", ids.len(), outcomes.len())));
    }
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::Parameter { name: "test_fraction", detail: format!("must be in (0, 1), got {fraction}") });
    }
    let key = splitmix64(seed);
    let mut test = vec![false; ids.len()];
    for class in [false, true] {
        let mut rows: Vec<usize> = (0..ids.len()).filter(|&i| outcomes[i] == class).collect();
        let n = rows.len();
        if n < 2 {
            continue;
        }
        rows.sort_by_key(|&i| (splitmix64(key ^ ids[i] as u64), ids[i]));
        let k = ((fraction * n as f64 + 0.5).floor() as usize).clamp(1, n - 1);
        for &i in &rows[..k] {
            test[i] = true;
        }
    }
    Ok(test)
}

fn check_params(p: &WinParams) -> Result<()> {
    if !(p.c > 0.0) || !p.c.is_finite() {
        return Err(Error::Parameter { name: "C", detail: format!("must be positive, got {}", p.c) });
    }
    if !(p.test_fraction > 0.0 && p.test_fraction < 1.0) {
        return Err(Error::Parameter { name: "test_fraction", detail: format!("must be in (0, 1), got {}", p.test_fraction) });
    }
    Ok(())
}

/// Fit on the closed deals among `deals` (open ones are ignored) and measure on a held-out split.
pub fn fit_win_model(deals: &[DealFeatures], params: &WinParams) -> Result<WinModel> {
    check_params(params)?;
    check_rows(deals)?;
    let mut closed: Vec<&DealFeatures> = deals.iter().filter(|d| d.outcome.is_some()).collect();
    closed.sort_by_key(|d| d.id);
    let n = closed.len();
    if n < MIN_CLOSED {
        return Err(Error::TooFew { what: "closed deals", need: MIN_CLOSED, got: n });
    }
    let y: Vec<bool> = closed.iter().map(|d| d.outcome == Some(true)).collect();
    let n_won = y.iter().filter(|&&w| w).count();
    if n_won < MIN_PER_CLASS {
        return Err(Error::TooFew { what: "won deals among closed ones", need: MIN_PER_CLASS, got: n_won });
    }
    if n - n_won < MIN_PER_CLASS {
        return Err(Error::TooFew { what: "lost deals among closed ones", need: MIN_PER_CLASS, got: n - n_won });
    }
    let x: Vec<Vec<f64>> = closed.iter().map(|d| transformed(d)).collect();
    let ids: Vec<i64> = closed.iter().map(|d| d.id).collect();
    let is_test = holdout_split(&ids, &y, params.test_fraction, params.seed)?;

    // Train split: scale with its own statistics, fit, measure on the test split.
    let train: Vec<usize> = (0..n).filter(|&i| !is_test[i]).collect();
    let test: Vec<usize> = (0..n).filter(|&i| is_test[i]).collect();
    let (tmu, tsd) = column_mean_std(train.iter().map(|&i| &x[i]));
    let zt: Vec<Vec<f64>> = train.iter().map(|&i| zscore(&x[i], &tmu, &tsd)).collect();
    let yt: Vec<bool> = train.iter().map(|&i| y[i]).collect();
    let tmodel = fit_logistic(&zt, &yt, params.c)?;
    let (ty, tp): (Vec<bool>, Vec<f64>) = test.iter().map(|&i| (y[i], tmodel.predict_proba(&zscore(&x[i], &tmu, &tsd)))).unzip();
    let correct = ty.iter().zip(&tp).filter(|&(&yi, &pi)| (pi >= 0.5) == yi).count();
    let test_won = ty.iter().filter(|&&w| w).count();
    let holdout = Holdout {
        n_train: train.len(),
        n_test: test.len(),
        test_auc: roc_auc(&ty, &tp).ok_or(Error::Empty("one outcome in the test split"))?,
        test_accuracy: correct as f64 / test.len() as f64,
        test_majority_accuracy: test_won.max(test.len() - test_won) as f64 / test.len() as f64,
        test_log_loss: log_loss(&ty, &tp),
        test_ids: test.iter().map(|&i| ids[i]).collect(),
        model: tmodel,
        scaler_mean: tmu,
        scaler_std: tsd,
    };

    // The scoring model: every closed deal.
    let (mu, sd) = column_mean_std(x.iter());
    let z: Vec<Vec<f64>> = x.iter().map(|r| zscore(r, &mu, &sd)).collect();
    let model = fit_logistic(&z, &y, params.c)?;
    Ok(WinModel {
        n_closed: n,
        n_won,
        base_rate: n_won as f64 / n as f64,
        scaler_mean: mu,
        scaler_std: sd,
        model,
        params: *params,
        holdout,
    })
}

impl WinModel {
    /// The deal's features, transformed and z-scored with this model's statistics.
    pub fn standardize(&self, d: &DealFeatures) -> Vec<f64> {
        zscore(&transformed(d), &self.scaler_mean, &self.scaler_std)
    }

    /// Coefficient of one feature.
    pub fn coefficient(&self, f: Feature) -> f64 {
        self.model.coef[f as usize]
    }

    /// Score one deal (its outcome, if any, is ignored).
    pub fn predict(&self, d: &DealFeatures) -> Result<Prediction> {
        check_row(d)?;
        let z = self.standardize(d);
        let mut factors: Vec<Factor> = Feature::ALL
            .iter()
            .zip(&z)
            .map(|(&f, &zj)| Factor { feature: f, label: f.describe(d, zj), contribution: self.coefficient(f) * zj })
            .filter(|c| c.contribution != 0.0)
            .collect();
        factors.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()).then(a.feature.cmp(&b.feature)));
        factors.truncate(self.params.top_factors);
        Ok(Prediction {
            id: d.id,
            stage: d.stage.clone(),
            amount: d.amount,
            probability: self.model.predict_proba(&z),
            stage_probability: d.stage_probability,
            factors,
        })
    }
}

/// Fit on the closed deals of `deals` and score the open ones (see the module docs).
pub fn win_probability(deals: &[DealFeatures], params: &WinParams) -> Result<WinProbability> {
    let model = fit_win_model(deals, params)?;
    let mut open: Vec<&DealFeatures> = deals.iter().filter(|d| d.outcome.is_none()).collect();
    open.sort_by_key(|d| d.id);
    let predictions = open.into_iter().map(|d| model.predict(d)).collect::<Result<Vec<_>>>()?;
    Ok(WinProbability { model, predictions })
}

/// One closed deal in an owner's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedOutcome {
    /// Owner (user) id.
    pub owner: i64,
    /// When it closed (Unix seconds).
    pub closed_at: i64,
    /// Whether it was won.
    pub won: bool,
}

/// Past win rates of owners, computed without looking at the future.
///
/// The rate of `owner` as of time `t` uses only deals closed strictly before `t`
/// (so a closed deal's own outcome, and those of deals closing at the same instant,
/// never count toward its feature). It is smoothed toward the team's rate over the
/// same past, so that an owner's first closes do not read as 0% or 100%:
/// `(wins + m · team_rate) / (closed + m)` with `m` = [`OWNER_PRIOR_WEIGHT`]; the team
/// rate is 0.5 while nothing has closed yet.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnerHistory {
    prior_weight: f64,
    /// Close times ascending, with the number of wins up to and including each.
    team: Vec<(i64, usize)>,
    owners: BTreeMap<i64, Vec<(i64, usize)>>,
}

fn cumulative(mut rows: Vec<(i64, bool)>) -> Vec<(i64, usize)> {
    rows.sort();
    let mut wins = 0;
    rows.into_iter()
        .map(|(t, w)| {
            wins += w as usize;
            (t, wins)
        })
        .collect()
}

/// (wins, closed) among entries closed before `as_of`.
fn before(rows: &[(i64, usize)], as_of: i64) -> (usize, usize) {
    let k = rows.partition_point(|&(t, _)| t < as_of);
    (if k == 0 { 0 } else { rows[k - 1].1 }, k)
}

impl OwnerHistory {
    /// Index a history with the default prior weight.
    pub fn new(history: &[ClosedOutcome]) -> Self {
        Self::with_prior_weight(history, OWNER_PRIOR_WEIGHT)
    }

    /// Index a history; `prior_weight = 0` gives raw rates (and the team rate for an owner
    /// with no past closes).
    pub fn with_prior_weight(history: &[ClosedOutcome], prior_weight: f64) -> Self {
        let mut by_owner: BTreeMap<i64, Vec<(i64, bool)>> = BTreeMap::new();
        for h in history {
            by_owner.entry(h.owner).or_default().push((h.closed_at, h.won));
        }
        OwnerHistory {
            prior_weight: prior_weight.max(0.0),
            team: cumulative(history.iter().map(|h| (h.closed_at, h.won)).collect()),
            owners: by_owner.into_iter().map(|(o, rows)| (o, cumulative(rows))).collect(),
        }
    }

    /// `(wins, closed)` of `owner` over deals closed strictly before `as_of`.
    pub fn counts_before(&self, owner: i64, as_of: i64) -> (usize, usize) {
        self.owners.get(&owner).map_or((0, 0), |rows| before(rows, as_of))
    }

    /// The team's win rate over deals closed strictly before `as_of` (0.5 if none).
    pub fn team_rate_before(&self, as_of: i64) -> f64 {
        let (w, n) = before(&self.team, as_of);
        if n == 0 { 0.5 } else { w as f64 / n as f64 }
    }

    /// The owner's smoothed past win rate as of `as_of` (see the type's docs).
    pub fn win_rate_before(&self, owner: i64, as_of: i64) -> f64 {
        let (w, n) = self.counts_before(owner, as_of);
        let prior = self.team_rate_before(as_of);
        let m = self.prior_weight;
        if n == 0 && m == 0.0 { prior } else { (w as f64 + m * prior) / (n as f64 + m) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0.0), "0");
        assert_eq!(group(999.0), "999");
        assert_eq!(group(12500.0), "12,500");
        assert_eq!(group(-1234567.0), "-1,234,567");
    }

    #[test]
    fn factor_prints_a_real_minus() {
        let f = Factor { feature: Feature::Activities, label: "no activities logged".into(), contribution: -1.24 };
        assert_eq!(f.to_string(), "no activities logged (\u{2212}1.2)");
        let f = Factor { feature: Feature::Amount, label: "amount is high (12,000)".into(), contribution: 0.8 };
        assert_eq!(f.to_string(), "amount is high (12,000) (+0.8)");
    }

    #[test]
    fn split_is_stratified_and_order_free() {
        let ids: Vec<i64> = (1..=40).collect();
        let y: Vec<bool> = ids.iter().map(|i| i % 4 == 0).collect();
        let s = holdout_split(&ids, &y, 0.25, 7).unwrap();
        assert_eq!(s.iter().zip(&y).filter(|&(&t, &w)| t && w).count(), 3); // round(0.25 · 10) = 3 (2.5 rounds up)
        assert_eq!(s.iter().zip(&y).filter(|&(&t, &w)| t && !w).count(), 8); // 0.25 · 30 = 7.5 → 8
        let (rid, ry): (Vec<i64>, Vec<bool>) = ids.iter().rev().zip(y.iter().rev()).map(|(&a, &b)| (a, b)).unzip();
        let rs = holdout_split(&rid, &ry, 0.25, 7).unwrap();
        assert_eq!(s, rs.into_iter().rev().collect::<Vec<_>>());
        assert_ne!(s, holdout_split(&ids, &y, 0.25, 8).unwrap());
    }
}
