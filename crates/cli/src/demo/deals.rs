//! The demo company's deals: two pipelines ("Sales", seeded by the migrations, and
//! "Renewals"), one opportunity per person, each with a stage history simulated from its
//! creation up to the demo's "today" (the same seed gives the same deals). Deals advance stage
//! by stage after a few days to a few weeks in each, and are lost on the way with odds that
//! depend on their owner (some sellers win more) and their size (large deals are lost more), so
//! that the win-probability model has something real to find; the few that were lost and then
//! reopened show the reopen in their history. Deals still open at "today" stay where they are.

use anyhow::Context;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rapport_domain::customer::LifecycleStage;
use rapport_domain::permissions::Actor;
use rapport_domain::sales::opportunity::{OpportunityData, OpportunityInput, StageChange};
use rapport_domain::sales::pipeline::{PipelineData, PipelineInput, StageInput, StageOutcome};
use rapport_store::Store;

use super::{Rng, bar};

/// A person the demo gives a deal: id, company, owner, lifecycle stage.
pub(super) type Prospect = (i64, Option<i64>, Option<i64>, LifecycleStage);

const PRODUCTS: &[(&str, i64)] = &[
    ("Starter plan", 490_000),
    ("Pro plan", 1_990_000),
    ("Enterprise plan", 9_900_000),
    ("Onboarding", 1_500_000),
    ("Analytics add-on", 990_000),
];
const NEXT_STEPS: &[&str] =
    &["Send the proposal", "Schedule a demo", "Call the decision maker", "Security review", "Agree on the rollout date", "Chase the PO"];
const LOST_REASONS: &[&str] =
    &["Price too high", "Went with a competitor", "No budget this year", "No decision", "Bad timing", "Lost contact with the buyer"];
const RENEWAL_LOST: &[&str] = &["Moved to a competitor", "Company closed", "Cutting costs", "No longer needed"];

/// The demo's "today": histories run up to it, and deals not closed by then are open.
fn today() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).single().expect("a valid date")
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn renewals() -> PipelineInput {
    let stage = |name: &str, probability: Option<i64>, outcome| StageInput {
        key: None,
        name: Some(name.into()),
        probability,
        outcome: Some(outcome),
    };
    PipelineInput {
        name: Some("Renewals".into()),
        stages: Some(vec![
            stage("Due", Some(60), StageOutcome::Open),
            stage("Quote sent", Some(75), StageOutcome::Open),
            stage("Verbal yes", Some(90), StageOutcome::Open),
            stage("Renewed", None, StageOutcome::Won),
            stage("Churned", None, StageOutcome::Lost),
        ]),
    }
}

/// A simulated deal: its final data and its history.
struct Simulated {
    stage: String,
    closed_at: Option<DateTime<Utc>>,
    lost_reason: Option<String>,
    history: Vec<StageChange>,
}

/// Walks a deal through `p`'s open stages from `start`: after each stay it is lost with
/// `lose` percent, else moves on (or is won: after the last open stage, or now and then from
/// the later ones), unless "today" comes first. Some lost deals are reopened where they were lost, and go on from there.
fn simulate(
    rng: &mut Rng,
    pipeline_id: i64,
    p: &PipelineData,
    start: DateTime<Utc>,
    lose: u64,
    actor: Option<i64>,
    reasons: &[&str],
) -> Simulated {
    let open: Vec<&str> = p.keys_with(StageOutcome::Open);
    let won = p.won_stage().map(|s| s.key.clone()).unwrap_or_default();
    let lost = p.keys_with(StageOutcome::Lost)[0].to_string();
    let change = |from: Option<&str>, to: &str, outcome, at: DateTime<Utc>| StageChange {
        pipeline_id: Some(pipeline_id),
        from_stage: from.map(String::from),
        to_stage: to.into(),
        outcome,
        at: stamp(at),
        actor_id: actor,
    };
    let mut history = vec![change(None, open[0], StageOutcome::Open, start)];
    let (mut t, mut i, mut reopened) = (start, 0usize, false);
    loop {
        let stay = Duration::days(2 + rng.below(24) as i64) + Duration::seconds(rng.below(86_400) as i64);
        if t + stay > today() {
            return Simulated { stage: open[i].into(), closed_at: None, lost_reason: None, history };
        }
        t += stay;
        if rng.chance(lose) {
            let reason = rng.pick(reasons).to_string();
            history.push(change(Some(open[i]), &lost, StageOutcome::Lost, t));
            let back = t + Duration::days(10 + rng.below(30) as i64);
            if reopened || !rng.chance(4) || back > today() {
                return Simulated { stage: lost, closed_at: Some(t), lost_reason: Some(reason), history };
            }
            reopened = true;
            t = back;
            history.push(change(Some(&lost), open[i], StageOutcome::Open, t));
            continue;
        }
        // Past the middle of the pipeline, some buyers sign without the last steps.
        if i + 1 == open.len() || (2 * i >= open.len() && rng.chance(20)) {
            history.push(change(Some(open[i]), &won, StageOutcome::Won, t));
            return Simulated { stage: won, closed_at: Some(t), lost_reason: None, history };
        }
        history.push(change(Some(open[i]), open[i + 1], StageOutcome::Open, t));
        i += 1;
    }
}

/// Adds the Renewals pipeline and one deal per person of `people`.
pub(super) async fn build(
    store: &Store,
    owners: &[i64],
    company_names: &[(i64, String)],
    people: &[Prospect],
    seed: u64,
) -> anyhow::Result<()> {
    let system = Actor::system();
    let mut rng = Rng(seed ^ 0xDEA1_5EED);
    store.create_pipeline(&system, renewals()).await.context("creating the Renewals pipeline")?;
    let pipelines = store.pipeline_set().await?;
    let ids: Vec<i64> = store.all_pipelines(&system).await?.iter().map(|p| p.id).collect();
    let (sales_id, renewals_id) = (ids[0], ids[1]);
    // Each seller's knack: the percent of deals they lose at each stage.
    let lose_pct =
        |owner: Option<i64>| owner.and_then(|o| owners.iter().position(|x| *x == o)).map(|i| [12, 20, 8, 26, 16, 10][i % 6]).unwrap_or(24);
    let name_of = |company: Option<i64>| {
        company.and_then(|c| company_names.binary_search_by_key(&c, |(id, _)| *id).ok()).map(|i| company_names[i].1.clone())
    };
    let span = (today() - Utc.with_ymd_and_hms(2025, 1, 1, 8, 0, 0).single().expect("a valid date")).num_seconds() as u64;
    let pb = bar(people.len(), "deals");
    let mut counts = [0usize; 3];
    for chunk in people.chunks(super::PEOPLE_PER_WRITE) {
        let mut batch = Vec::with_capacity(chunk.len());
        for &(person, company, owner, stage) in chunk {
            let renewal = stage == LifecycleStage::Customer && rng.chance(40);
            let pipeline_id = if renewal { renewals_id } else { sales_id };
            let p = pipelines.get(pipeline_id).context("the demo pipelines")?;
            let (product, base) = PRODUCTS[rng.below(PRODUCTS.len())];
            let seats = 1 + rng.below(40) as i64;
            let amount = base / 10 * (5 + seats.min(20));
            // Large deals are lost more often.
            let lose = lose_pct(owner) + if amount > 5_000_000 { 10 } else { 0 };
            // A quarter of the deals came in over the last hundred days: the open pipeline.
            let back = if rng.chance(25) { 100 * 86_400 } else { span };
            let start = today() - Duration::seconds((rng.next() % back) as i64) - Duration::days(3);
            let reasons = if renewal { RENEWAL_LOST } else { LOST_REASONS };
            let sim = simulate(&mut rng, pipeline_id, p, start, lose, owner, reasons);
            let currency = ["USD", "USD", "USD", "USD", "USD", "USD", "EUR", "EUR", "GBP"][rng.below(9)];
            let buyer = name_of(company).unwrap_or_else(|| "Direct".into());
            let name = if renewal { format!("{buyer} renewal") } else { format!("{buyer} — {product} ({seats} seats)") };
            let close = (start + Duration::days(45 + rng.below(75) as i64)).format("%Y-%m-%d").to_string();
            counts[match sim.history.last().map(|c| c.outcome) {
                Some(StageOutcome::Won) => 1,
                Some(StageOutcome::Lost) => 2,
                _ => 0,
            }] += 1;
            let input = OpportunityInput {
                name: Some(name),
                amount_minor: Some(amount),
                currency: Some(currency.into()),
                expected_close_date: Some(Some(close)),
                owner_id: Some(owner),
                customer_id: Some(Some(person)),
                company_id: Some(company),
                pipeline_id: Some(pipeline_id),
                stage: Some(sim.stage.clone()),
                next_step: Some(sim.closed_at.is_none().then(|| rng.pick(NEXT_STEPS).to_string())),
                lost_reason: Some(sim.lost_reason.clone()),
                closed_at: sim.closed_at.map(stamp),
                ..Default::default()
            };
            let data: OpportunityData = pipelines
                .with_context(&stamp(start), |ctx| input.apply(None, ctx))
                .map_err(|e| anyhow::anyhow!("demo deal invalid: {e}"))?;
            batch.push((data, sim.history));
        }
        store.import_opportunities(&system, &batch).await?;
        pb.inc(chunk.len() as u64);
    }
    pb.finish();
    println!("Deals: {} open, {} won, {} lost, in two pipelines.", counts[0], counts[1], counts[2]);
    Ok(())
}
