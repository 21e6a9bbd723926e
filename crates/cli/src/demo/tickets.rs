//! The demo's help desk: one ticket for about every twentieth person, opened over the last four
//! months by email, phone and the web form, and each taken as far through the workflow as its
//! age makes likely (old ones closed, recent ones still in the queue or being worked), with the
//! status history and the conversation that got it there, so queues, the SLA clock, the
//! reports and the timeline have real data. `rapport demo --tickets N` makes N of them (the
//! service benchmark uses 500,000), streamed in batches.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rapport_domain::permissions::Actor;
use rapport_domain::service::canned::MacroInput;
use rapport_domain::service::message::TicketMessage;
use rapport_domain::service::ticket::{Channel, Priority, StatusChange, TicketData};
use rapport_domain::service::workflow::{Actor as Who, TicketState};
use rapport_store::Store;

use super::Rng;

const SUBJECTS: &[(&str, &str)] = &[
    ("Cannot sign in after password reset", "access"),
    ("Invoice shows the wrong VAT number", "billing"),
    ("Refund for a duplicate charge", "billing"),
    ("Export to CSV times out", "product"),
    ("How do I add more seats?", "sales"),
    ("API returns 429 during the nightly sync", "api"),
    ("Onboarding call needs rescheduling", "onboarding"),
    ("Reports page is blank in Safari", "product"),
    ("Change the billing contact", "billing"),
    ("Two-factor codes are not arriving", "access"),
];

/// The states a ticket went through to reach `last`, in order.
fn path(last: TicketState) -> &'static [TicketState] {
    use TicketState::*;
    match last {
        New => &[New],
        Assigned => &[New, Assigned],
        InProgress => &[New, Assigned, InProgress],
        WaitingOnCustomer => &[New, Assigned, InProgress, WaitingOnCustomer],
        WaitingOnThirdParty => &[New, Assigned, InProgress, WaitingOnThirdParty],
        Resolved => &[New, Assigned, InProgress, Resolved],
        Reopened => &[New, Assigned, InProgress, Resolved, Reopened],
        Closed | Snoozed => &[New, Assigned, InProgress, Resolved, Closed],
    }
}

/// Where a ticket opened `days` ago is likely to be now.
fn last_state(rng: &mut Rng, days: i64) -> TicketState {
    use TicketState::*;
    let roll = rng.below(100);
    match days {
        0..=2 => [New, New, Assigned, InProgress, WaitingOnCustomer][roll % 5],
        3..=14 => [Assigned, InProgress, WaitingOnCustomer, WaitingOnThirdParty, Resolved, Resolved, Reopened][roll % 7],
        _ if roll < 80 => Closed,
        _ => Resolved,
    }
}

/// Tickets written per transaction: the build streams, so memory stays flat at any count.
const BATCH: usize = 2_000;

/// Adds tickets to `team`'s queue, worked by `agents`: with `count`, that many, each from a
/// person picked at random among `people` (id, company); without, one for about every
/// twentieth person. Each comes with its status history and its conversation (the
/// customer's message, the agent's first reply once it is being worked, a note now and then,
/// the customer's answer when asked, the agent's closing reply), written in batches. Returns
/// how many.
pub(super) async fn build(
    store: &Store,
    agents: &[i64],
    team: i64,
    people: &[(i64, Option<i64>)],
    seed: u64,
    count: Option<usize>,
) -> anyhow::Result<usize> {
    let mut rng = Rng(seed ^ 0x71c4_e75e);
    let now = Utc::now();
    let mut batch = Vec::with_capacity(BATCH);
    let mut made = 0;
    let pb = count.map(|n| super::bar(n, "tickets"));
    let mut next = 0;
    loop {
        let requester = match count {
            Some(n) if made + batch.len() >= n || people.is_empty() => None,
            Some(_) => Some(people[rng.below(people.len())]),
            None => loop {
                let Some(p) = people.get(next) else { break None };
                next += 1;
                if rng.chance(5) {
                    break Some(*p);
                }
            },
        };
        let Some((customer, company)) = requester else { break };
        batch.push(ticket(&mut rng, now, agents, team, customer, company));
        if batch.len() == BATCH {
            store.import_tickets(&Actor::system(), &batch).await?;
            made += batch.len();
            if let Some(pb) = &pb {
                pb.inc(batch.len() as u64);
            }
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.import_tickets(&Actor::system(), &batch).await?;
        made += batch.len();
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    macros(store).await?;
    Ok(made)
}

fn message(author: Who, author_id: Option<i64>, internal: bool, body: &str, at: DateTime<Utc>) -> TicketMessage {
    TicketMessage { id: 0, ticket_id: 0, author, author_id, author_name: None, internal, body: body.to_string(), at: stamp(at) }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// One ticket of `customer`'s, opened in the last four months, with its history and
/// conversation.
fn ticket(
    rng: &mut Rng,
    now: DateTime<Utc>,
    agents: &[i64],
    team: i64,
    customer: i64,
    company: Option<i64>,
) -> (TicketData, Vec<StatusChange>, Vec<TicketMessage>) {
    let days = rng.below(120) as i64;
    let last = last_state(rng, days);
    let opened = now - Duration::days(days) - Duration::minutes(rng.below(600) as i64);
    let mut at = opened;
    let agent = agents.get(rng.below(agents.len().max(1))).copied();
    let mut history: Vec<StatusChange> = Vec::new();
    for (i, state) in path(last).iter().enumerate() {
        if i > 0 {
            at = (at + Duration::minutes(20 + rng.below(36 * 60) as i64)).min(now);
        }
        let from = (i > 0).then(|| history[i - 1].to_status);
        history.push(StatusChange {
            from_status: from,
            to_status: *state,
            at: stamp(at),
            actor_id: if i == 0 { None } else { agent },
            merged_from_id: None,
        });
    }
    let (subject, category) = SUBJECTS[rng.below(SUBJECTS.len())];
    let when = |s: TicketState| history.iter().rev().find(|c| c.to_status == s).map(|c| c.at.clone());
    let step = |i: usize| history.get(i).and_then(|c| DateTime::parse_from_rfc3339(&c.at).ok()).map(|t| t.with_timezone(&Utc));
    let mut messages = vec![message(Who::Customer, None, false, &format!("{subject}. Can you help?"), opened)];
    // The first public reply comes while the ticket is assigned or worked, before its next step.
    if let Some(assigned) = step(1) {
        let bound = step(2).unwrap_or(now);
        let reply = (assigned + Duration::minutes(5 + rng.below(8 * 60) as i64)).min(bound);
        if step(2).is_some() || rng.chance(60) {
            messages.push(message(Who::Agent, agent, false, "Thanks for writing; I am looking into it now.", reply));
            if rng.chance(30) {
                messages.push(message(Who::Agent, agent, true, "Checked the account: nothing unusual in the logs.", reply));
            }
        }
    }
    if last == TicketState::WaitingOnCustomer
        && let Some(asked) = step(3)
    {
        messages.push(message(Who::Agent, agent, false, "Could you send a screenshot and the time it happened?", asked));
    }
    if let Some(i) = history.iter().position(|c| c.to_status == TicketState::Resolved)
        && let Some(done) = step(i)
    {
        messages.push(message(Who::Agent, agent, false, "This is solved now; reply if anything is still wrong.", done));
        if last == TicketState::Reopened
            && let Some(back) = step(i + 1)
        {
            messages.push(message(Who::Customer, None, false, "Sorry, it happened again this morning.", back));
        }
    }
    let data = TicketData {
        subject: subject.to_string(),
        description: Some(format!("{subject}. Reported by the customer; see the conversation for details.")),
        status: last,
        priority: [Priority::Low, Priority::Normal, Priority::Normal, Priority::Normal, Priority::High, Priority::Urgent][rng.below(6)],
        category: Some(category.to_string()),
        channel: [Channel::Email, Channel::Email, Channel::Phone, Channel::WebForm, Channel::Chat][rng.below(5)],
        customer_id: Some(customer),
        company_id: company,
        owner_id: if last == TicketState::New { None } else { agent },
        team_id: Some(team),
        tags: if rng.chance(20) { vec!["vip".to_string()] } else { vec![] },
        snoozed_until: None,
        status_changed_at: history.last().map(|c| c.at.clone()),
        resolved_at: when(TicketState::Resolved),
        closed_at: when(TicketState::Closed),
        external_id: None,
    };
    (data, history, messages)
}

/// The canned replies agents pick on the ticket page, each with the step it usually comes with.
async fn macros(store: &Store) -> anyhow::Result<()> {
    let canned: [(&str, &str, Option<&str>, &[&str]); 3] = [
        (
            "Looking into it",
            "Hi {{customer.first_name | default: \"there\"}},\n\nthanks for writing. I am looking into {{ticket.number}} now and will get back to you today.\n\n{{agent.name}}",
            Some("start"),
            &[],
        ),
        (
            "Ask for details",
            "Hi {{customer.first_name | default: \"there\"}},\n\ncould you send a screenshot and the time it happened? That will help us fix {{ticket.number}} quickly.\n\n{{agent.name}}",
            Some("wait_on_customer"),
            &["needs-info"],
        ),
        (
            "Solved, please confirm",
            "Hi {{customer.first_name | default: \"there\"}},\n\nwe believe {{ticket.number}} ({{ticket.subject}}) is solved. If anything is still wrong, just reply.\n\n{{agent.name}}",
            Some("resolve"),
            &[],
        ),
    ];
    for (name, body, action, tags) in canned {
        let input = MacroInput {
            name: Some(name.into()),
            body: Some(body.into()),
            action: Some(action.map(String::from)),
            add_tags: Some(tags.iter().map(|t| t.to_string()).collect()),
            ..Default::default()
        };
        store.create_macro(&Actor::system(), input).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_domain::service::workflow::TicketAction;

    #[test]
    fn every_demo_path_is_a_walk_the_workflow_allows() {
        for last in TicketState::ALL {
            let steps = path(last);
            assert_eq!(steps[0], TicketState::New);
            for w in steps.windows(2) {
                let legal = TicketAction::ALL
                    .into_iter()
                    .any(|a| [Who::Agent, Who::Customer, Who::System].into_iter().any(|who| w[0].transition(a, who) == Ok(w[1])));
                assert!(legal, "{:?} → {:?}", w[0], w[1]);
            }
        }
    }
}
