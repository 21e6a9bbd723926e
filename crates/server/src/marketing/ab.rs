//! The A/B result of a campaign (counts, rates, the chi-square test of
//! [`rapport_analytics::ab`] and the decision), and the job that decides due tests exactly once:
//! it holds the `ab_decisions` lease while it works, and the store only lets a test still
//! `testing` be decided, so with several servers each winner is sent once.

use chrono::{DateTime, Utc};
use rapport_analytics::ab::{Verdict, decide};
use rapport_domain::marketing::ab::{AbOutcome, AbResult, AbState, AbTest, VariantResult};
use rapport_domain::permissions::Actor;
use rapport_store::{Result, Store};

/// The lease the decision job holds.
pub const LEASE: &str = "ab_decisions";

/// What the data of `variants` says for test `t` (`decided`: whether this is the decision taken).
pub fn evaluate(t: &AbTest, variants: Vec<VariantResult>, rest: i64, decided: bool) -> AbResult {
    let groups: Vec<(u64, u64)> =
        variants.iter().map(|v| (u64::try_from(v.successes).unwrap_or(0), u64::try_from(v.delivered).unwrap_or(0))).collect();
    let fallback = variants.iter().position(|v| v.key == t.fallback).unwrap_or(0);
    let (test, verdict) = decide(&groups, fallback);
    let metric = t.metric.as_str();
    let key = |i: usize| variants.get(i).map(|v| v.key.clone()).unwrap_or_else(|| t.fallback.clone());
    let (outcome, send_variant, decision) = match &verdict {
        Verdict::Winner(i) => {
            let p = test.as_ref().map(|t| t.p_value).unwrap_or(f64::NAN);
            (AbOutcome::Winner, key(*i), format!("Variant {} wins on {metric} per delivered mail (p = {p:.4} < 0.05).", key(*i)))
        }
        Verdict::NotSignificant => {
            let p = test.as_ref().map(|t| t.p_value).unwrap_or(f64::NAN);
            (
                AbOutcome::NotSignificant,
                t.fallback.clone(),
                format!("No significant difference in {metric} (p = {p:.4} ≥ 0.05): the fallback, variant {}, is sent.", t.fallback),
            )
        }
        Verdict::TooSmall(why) => (
            AbOutcome::TooSmall,
            t.fallback.clone(),
            format!("The sample is too small to tell ({why}): the fallback, variant {}, is sent.", t.fallback),
        ),
    };
    let ok = test.as_ref().ok();
    AbResult {
        campaign_id: t.campaign_id,
        state: t.state,
        metric: t.metric,
        variants,
        rest,
        chi_square: ok.map(|t| t.statistic),
        df: ok.map(|t| t.df as i64),
        p_value: ok.map(|t| t.p_value),
        min_expected: ok.map(|t| t.min_expected),
        outcome,
        send_variant,
        decision,
        decided,
        decide_at: t.decide_at.clone(),
    }
}

/// The campaign's A/B result: the decision taken, once decided; what the data says now before.
pub async fn result(store: &Store, actor: &Actor, campaign: i64) -> Result<AbResult> {
    let t = store.ab_test(actor, campaign).await?;
    if t.state == AbState::Decided
        && let Some(stored) = store.ab_decided_result(campaign).await?
        && let Ok(mut r) = serde_json::from_value::<AbResult>(stored)
    {
        r.state = AbState::Decided;
        r.decided = true;
        return Ok(r);
    }
    let (variants, rest) = store.ab_counts(&t).await?;
    Ok(evaluate(&t, variants, rest, false))
}

/// Decides every due test (testing, past its wait, its test mails handed over) while holding
/// the lease as `holder`: the winner or the fallback goes to the rest. How many this call decided.
pub async fn run_decisions(store: &Store, holder: &str, ttl: chrono::Duration, now: DateTime<Utc>) -> Result<usize> {
    if !store.acquire_lease(LEASE, holder, ttl, now).await? {
        return Ok(0);
    }
    let mut decided = 0;
    for mut t in store.due_ab_tests(now).await? {
        let (variants, rest) = store.ab_counts(&t).await?;
        t.state = AbState::Decided;
        let r = evaluate(&t, variants, rest, true);
        let json = serde_json::to_value(&r).unwrap_or_default();
        if store.decide_ab_test(t.campaign_id, &r.send_variant, &json, holder).await? {
            tracing::info!(campaign = t.campaign_id, variant = %r.send_variant, outcome = ?r.outcome, "A/B test decided");
            decided += 1;
        }
    }
    Ok(decided)
}
