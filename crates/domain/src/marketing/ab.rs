//! A/B tests of an email campaign (issue 12 §8): two or more variants (a template, optionally
//! with another subject), a test share of the audience, a wait, and the metric the winner is
//! chosen by; the rest of the audience then gets the winner.
//!
//! Decisions where the issue is silent:
//! - Variants are keyed `A`, `B`, `C`… in the order given (at most 5); the fallback, sent when
//!   the test cannot tell, is `A` unless the user names another.
//! - A member's variant is a pure function of the test's seed and the person's id
//!   ([`assign`]): the same seed and person always give the same variant, whoever else is in
//!   the audience. Shares are therefore exact only in expectation (binomial spread).
//! - "Delivered" is a member whose mail the receiving server accepted (`sent_at`) and that did
//!   not bounce. Only human opens, clicks and conversions count (machine ones never reach the
//!   member's milestones).
//! - The decision waits for the wait time after the test's start *and* for the test's mails to
//!   be all handed over, so that a slow sending does not shorten the wait.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ValidationErrors;

/// Most variants of one test.
pub const MAX_VARIANTS: usize = 5;
/// The variant keys, in order.
pub const KEYS: [&str; MAX_VARIANTS] = ["A", "B", "C", "D", "E"];

/// What the winner is chosen by, each counted over delivered mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbMetric {
    /// Members who clicked (human clicks) / delivered. The default.
    #[default]
    Clicks,
    /// Members who converted / delivered.
    Conversions,
    /// Members who opened (human opens) / delivered; allowed, not advised (image proxies and
    /// privacy features make opens unreliable).
    Opens,
}

impl AbMetric {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AbMetric::Clicks => "clicks",
            AbMetric::Conversions => "conversions",
            AbMetric::Opens => "opens",
        }
    }

    /// The metric named `s`.
    pub fn parse(s: &str) -> Option<AbMetric> {
        [AbMetric::Clicks, AbMetric::Conversions, AbMetric::Opens].into_iter().find(|m| m.as_str() == s)
    }

    /// The member milestone column that counts as a success.
    pub fn column(self) -> &'static str {
        match self {
            AbMetric::Clicks => "clicked_at",
            AbMetric::Conversions => "converted_at",
            AbMetric::Opens => "opened_at",
        }
    }
}

/// Where a test stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbState {
    /// Defined, not started: variants may still change.
    Draft,
    /// The test share got its variants; waiting to decide.
    Testing,
    /// Decided: the winner (or the fallback) went to the rest.
    Decided,
}

impl AbState {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AbState::Draft => "draft",
            AbState::Testing => "testing",
            AbState::Decided => "decided",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> AbState {
        match s {
            "testing" => AbState::Testing,
            "decided" => AbState::Decided,
            _ => AbState::Draft,
        }
    }
}

/// One variant a client defines.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    /// The email template of this variant.
    pub template_id: i64,
    /// Another subject line (merge fields allowed) instead of the template's.
    #[serde(default)]
    pub subject: Option<String>,
}

/// What `PUT /campaigns/{id}/variants` takes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbTestInput {
    /// Two to five variants, keyed A, B, C… in this order.
    pub variants: Vec<VariantInput>,
    /// Share of the audience in the test, in percent (1–100; default 20).
    #[serde(default)]
    pub test_percent: Option<i64>,
    /// Minutes to wait after the test starts before deciding (1–43200; default 240).
    #[serde(default)]
    pub wait_minutes: Option<i64>,
    /// `clicks` (default), `conversions` or `opens`.
    #[serde(default)]
    pub metric: Option<String>,
    /// The variant sent to the rest when the test cannot tell (default `A`).
    #[serde(default)]
    pub fallback: Option<String>,
    /// Seed of the assignment (default: drawn at random); the same seed assigns the same people alike.
    #[serde(default)]
    pub seed: Option<i64>,
    /// Consent topic of the mails (default `newsletter`).
    #[serde(default)]
    pub topic: Option<String>,
}

/// A checked [`AbTestInput`].
#[derive(Debug, Clone, PartialEq)]
pub struct AbTestSpec {
    /// `(template_id, subject)` per variant, in key order.
    pub variants: Vec<(i64, Option<String>)>,
    /// Test share in percent.
    pub test_percent: i64,
    /// Wait in minutes.
    pub wait_minutes: i64,
    /// Winning metric.
    pub metric: AbMetric,
    /// Fallback key.
    pub fallback: String,
    /// Seed, when given.
    pub seed: Option<i64>,
    /// Consent topic.
    pub topic: String,
}

impl AbTestInput {
    /// Checks the definition, naming each bad field.
    pub fn validated(self) -> Result<AbTestSpec, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        if !(2..=MAX_VARIANTS).contains(&self.variants.len()) {
            errs.add("variants", format!("give 2 to {MAX_VARIANTS} variants"));
        }
        for (i, v) in self.variants.iter().enumerate() {
            if let Some(s) = &v.subject
                && (s.trim().is_empty() || s.chars().count() > 300)
            {
                errs.add(format!("variants[{i}].subject"), "must have 1 to 300 characters");
            }
        }
        let test_percent = self.test_percent.unwrap_or(20);
        if !(1..=100).contains(&test_percent) {
            errs.add("test_percent", "must be between 1 and 100");
        }
        let wait_minutes = self.wait_minutes.unwrap_or(240);
        if !(1..=43_200).contains(&wait_minutes) {
            errs.add("wait_minutes", "must be between 1 and 43200 (30 days)");
        }
        let metric = match self.metric.as_deref() {
            None => AbMetric::Clicks,
            Some(m) => AbMetric::parse(m).unwrap_or_else(|| {
                errs.add("metric", "use clicks, conversions or opens");
                AbMetric::Clicks
            }),
        };
        let fallback = self.fallback.unwrap_or_else(|| "A".into());
        if !KEYS[..self.variants.len().min(MAX_VARIANTS)].contains(&fallback.as_str()) {
            errs.add("fallback", "must name one of the variants (A, B, …)");
        }
        let topic = self.topic.unwrap_or_else(|| "newsletter".into());
        if !super::email::valid_topic(&topic) {
            errs.add("topic", "must be 1 to 50 lower-case letters, digits, - or _");
        }
        let variants = self.variants.into_iter().map(|v| (v.template_id, v.subject.map(|s| s.trim().to_string()))).collect();
        errs.into_result(AbTestSpec { variants, test_percent, wait_minutes, metric, fallback, seed: self.seed, topic })
    }
}

/// One variant as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Variant {
    /// `A`, `B`, …
    pub key: String,
    /// Its template.
    pub template_id: i64,
    /// Its own subject, when it has one.
    pub subject: Option<String>,
}

/// A campaign's A/B test as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AbTest {
    /// The campaign.
    pub campaign_id: i64,
    /// The variants.
    pub variants: Vec<Variant>,
    /// Test share in percent.
    pub test_percent: i64,
    /// Wait in minutes.
    pub wait_minutes: i64,
    /// Winning metric.
    pub metric: AbMetric,
    /// Sent to the rest when the test cannot tell.
    pub fallback: String,
    /// Seed of the assignment.
    pub seed: i64,
    /// Consent topic.
    pub topic: String,
    /// Where it stands.
    pub state: AbState,
    /// The test's sending, once started.
    pub test_send_id: Option<i64>,
    /// When the decision is due (the test's mails must also be all handed over).
    pub decide_at: Option<String>,
    /// The variant sent to the rest, once decided.
    pub winner: Option<String>,
    /// The sending to the rest, once decided.
    pub winner_send_id: Option<i64>,
    /// When it was decided.
    pub decided_at: Option<String>,
}

/// What `POST /campaigns/{id}/variants/send` takes.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbStartInput {
    /// When to send the test (RFC 3339); now when absent.
    #[serde(default)]
    pub send_at: Option<String>,
    /// Failed attempts after which a sending pauses (default 50).
    #[serde(default)]
    pub error_threshold: Option<i64>,
}

/// One variant's counts and rate in a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VariantResult {
    /// `A`, `B`, …
    pub key: String,
    /// Members assigned to it.
    pub members: i64,
    /// Delivered mails (sent, not bounced).
    pub delivered: i64,
    /// Delivered members who opened (human opens).
    pub opened: i64,
    /// Delivered members who clicked (human clicks).
    pub clicked: i64,
    /// Delivered members who converted.
    pub converted: i64,
    /// Successes of the test's metric.
    pub successes: i64,
    /// successes / delivered, 0–1 (absent without deliveries).
    pub rate: Option<f64>,
}

/// The outcome of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbOutcome {
    /// p < 0.05 and enough data: the best rate wins.
    Winner,
    /// Enough data, but p ≥ 0.05: the fallback is sent.
    NotSignificant,
    /// Too little data for a chi-square test (an expected count under 5, or no delivery or no
    /// success at all): the fallback is sent.
    TooSmall,
}

/// An A/B result: counts, rates, the chi-square test and the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AbResult {
    /// The campaign.
    pub campaign_id: i64,
    /// Where the test stands.
    pub state: AbState,
    /// The metric compared.
    pub metric: AbMetric,
    /// Per variant.
    pub variants: Vec<VariantResult>,
    /// Members not in the test (they get the winner).
    pub rest: i64,
    /// Pearson's chi-square statistic of the variants × (success, no success) table, with
    /// Yates' correction for two variants (scipy's `chi2_contingency` default).
    pub chi_square: Option<f64>,
    /// Its degrees of freedom.
    pub df: Option<i64>,
    /// Its p value.
    pub p_value: Option<f64>,
    /// The smallest expected count of the table.
    pub min_expected: Option<f64>,
    /// What the data says.
    pub outcome: AbOutcome,
    /// The variant that goes (or went) to the rest.
    pub send_variant: String,
    /// The decision in words.
    pub decision: String,
    /// Whether this is the decision taken (`true`) or what would be decided now.
    pub decided: bool,
    /// When the decision is due.
    pub decide_at: Option<String>,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The variant (an index below `variants`) of person `person_id` in a test with `seed` and a
/// test share of `test_percent`, or `None` when the person is in the rest. A pure function of
/// its arguments (SplitMix64 of seed and id): the share is `test_percent` in expectation and
/// the variants split the test share evenly.
pub fn assign(seed: i64, person_id: i64, test_percent: i64, variants: usize) -> Option<usize> {
    const SCALE: u64 = 1_000_000;
    let h = splitmix(splitmix(seed as u64) ^ (person_id as u64));
    let x = h % SCALE;
    let cut = test_percent.clamp(0, 100) as u64 * (SCALE / 100);
    (x < cut && variants > 0).then(|| ((x * variants as u64) / cut) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_is_deterministic_and_keeps_the_shares() {
        let n = 10_000;
        let mut counts = [0usize; 3];
        let mut rest = 0;
        for p in 1..=n {
            match assign(42, p, 20, 3) {
                Some(v) => counts[v] += 1,
                None => rest += 1,
            }
            assert_eq!(assign(42, p, 20, 3), assign(42, p, 20, 3));
        }
        let share = |c: usize| c as f64 / n as f64;
        assert!((share(rest) - 0.8).abs() < 0.015, "rest {rest}");
        for c in counts {
            assert!((share(c) - 0.2 / 3.0).abs() < 0.01, "variant {c} of {counts:?}");
        }
        let other: Vec<_> = (1..=200).map(|p| assign(43, p, 20, 3)).collect();
        let same: Vec<_> = (1..=200).map(|p| assign(42, p, 20, 3)).collect();
        assert_ne!(other, same, "another seed assigns otherwise");
        assert!((1..=1000).all(|p| assign(7, p, 100, 2).is_some()), "100 % tests everyone");
    }

    #[test]
    fn bad_definitions_name_their_fields() {
        let e = AbTestInput {
            variants: vec![VariantInput { template_id: 1, subject: Some(" ".into()) }],
            test_percent: Some(0),
            wait_minutes: Some(0),
            metric: Some("likes".into()),
            fallback: Some("C".into()),
            seed: None,
            topic: None,
        }
        .validated()
        .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["variants", "variants[0].subject", "test_percent", "wait_minutes", "metric", "fallback"]);
    }
}
