//! The demo's satisfaction: after the help desk is built, the survey each resolved ticket got,
//! answered by a share of the customers as a help desk sees it (most confirmed tickets rated
//! well, reopened ones rated poorly, an NPS score and a comment now and then), each answer
//! credited as a live one is (the last agent who replied publicly, else the assignee); and a
//! few feedback records, complaints and praise that arrived outside a ticket.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rapport_domain::permissions::Actor;
use rapport_domain::service::feedback::FeedbackInput;
use rapport_domain::service::survey::{Decision, SurveyAnswer};
use rapport_domain::service::workflow::TicketState;
use rapport_store::{ImportedSurvey, Store};

use super::Rng;

const GOOD: &[&str] = &["Quick and friendly.", "Solved on the first reply, thank you!", "Clear answer, all working again.", "Great help."];
const BAD: &[&str] = &["Still broken after the fix.", "Took far too long.", "I had to explain it three times.", "Not solved at all."];
const FEEDBACK: &[(&str, &str)] = &[
    ("praise", "Your support team was wonderful during our migration."),
    ("complaint", "The invoice email arrives with a broken PDF every month."),
    ("feedback", "It would help to export reports as PDF."),
    ("complaint", "Nobody called back after I left a voicemail."),
    ("praise", "The new dashboard saves me an hour a week."),
    ("feedback", "Please add dark mode to the mobile pages."),
];
const CHANNELS: &[&str] = &["email", "phone", "social", "review", "letter"];

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc))
}

/// The answer a customer gives `share` percent of the time: a rating that mostly matches
/// whether the ticket stayed solved.
fn answer(rng: &mut Rng, solved: bool) -> SurveyAnswer {
    let csat = if solved { [5, 5, 5, 5, 4, 4, 4, 3, 2, 1][rng.below(10)] } else { [1, 1, 2, 2, 3][rng.below(5)] };
    let nps = rng.chance(40).then(|| if csat >= 4 { 8 + rng.below(3) } else { rng.below(7) } as u8);
    let comment = rng.chance(30).then(|| rng.pick(if csat >= 4 { GOOD } else { BAD }).to_string());
    SurveyAnswer { csat, nps, comment, decision: if solved { Decision::Confirm } else { Decision::Reopen } }
}

/// Adds the surveys of the resolved tickets and feedback from `people` (id, company), owned by
/// `agents`, and says how many.
pub(super) async fn build(store: &Store, agents: &[i64], people: &[(i64, Option<i64>)], seed: u64) -> anyhow::Result<()> {
    let system = Actor::system();
    let mut rng = Rng(seed ^ 0x50f7_ca5e_0c5a_7000);
    let started = std::time::Instant::now();
    let now = Utc::now();
    let mut rows = Vec::new();
    for (ticket_id, resolved_at, closed_at, status) in store.tickets_without_survey(&system).await? {
        let Some(resolved) = parse(&resolved_at) else { continue };
        // Confirming closes the ticket, so a confirmed one was answered when it closed; a
        // reopened one some hours after its resolution.
        let answered = match status {
            TicketState::Closed if rng.chance(55) => {
                let at = closed_at.as_deref().and_then(parse).unwrap_or(resolved + Duration::hours(2));
                Some((answer(&mut rng, true), stamp(at.min(now))))
            }
            TicketState::Reopened if rng.chance(60) => {
                let at = resolved + Duration::minutes(30 + rng.below(24 * 60) as i64);
                Some((answer(&mut rng, false), stamp(at.min(now))))
            }
            _ => None,
        };
        rows.push(ImportedSurvey { ticket_id, created_at: resolved_at, answer: answered });
    }
    let answered = rows.iter().filter(|r| r.answer.is_some()).count();
    let mut surveys = 0;
    for part in rows.chunks(5_000) {
        surveys += store.import_surveys(&system, part).await?;
    }
    let mut feedback = 0;
    if !people.is_empty() {
        for _ in 0..(people.len() / 150).clamp(3, 1_000) {
            let (kind, body) = FEEDBACK[rng.below(FEEDBACK.len())];
            let input = FeedbackInput {
                kind: Some(kind.into()),
                body: Some(body.into()),
                channel: Some(rng.pick(CHANNELS).into()),
                customer_id: Some(Some(people[rng.below(people.len())].0)),
                owner_id: Some(agents.get(rng.below(agents.len().max(1))).copied()),
            };
            store.create_feedback(&system, input).await?;
            feedback += 1;
        }
    }
    println!("Surveys: {surveys} ({answered} answered); feedback: {feedback}.");
    tracing::info!(stage = "surveys", secs = started.elapsed().as_secs_f64(), "demo stage done");
    Ok(())
}
