use super::*;

const NOW: &str = "2026-12-07T10:00:00.000000Z";
const LATER: &str = "2026-12-07T11:00:00.000000Z";

fn input(json: &str) -> TicketInput {
    serde_json::from_str(json).unwrap()
}

fn fields(r: Rejected) -> Vec<String> {
    r.invalid().expect("field errors").0.iter().map(|e| e.field.clone()).collect()
}

fn created() -> TicketData {
    input(r#"{"subject":"  Printer on fire ","customer_id":7,"priority":"high","tags":["hw","hw","fire"],"channel":"phone"}"#)
        .apply(None, NOW)
        .unwrap()
}

#[test]
fn a_new_ticket_starts_new_in_the_queue_with_its_fields_normalised() {
    let d = created();
    assert_eq!(d.subject, "Printer on fire");
    assert_eq!((d.status, d.priority, d.channel), (TicketState::New, Priority::High, Channel::Phone));
    assert_eq!(d.tags, ["fire", "hw"]);
    assert_eq!(d.owner_id, None);
    assert_eq!(d.status_changed_at.as_deref(), Some(NOW));
    let defaults = input(r#"{"subject":"x","customer_id":1}"#).apply(None, NOW).unwrap();
    assert_eq!((defaults.priority, defaults.channel), (Priority::Normal, Channel::Api));
}

#[test]
fn wrong_input_names_every_field() {
    let r = input(r#"{"subject":"  ","category":""}"#).apply(None, NOW).unwrap_err();
    assert_eq!(fields(r), ["subject", "customer_id"]);
    assert!(serde_json::from_str::<TicketInput>(r#"{"subject":"x","status":"closed"}"#).is_err(), "status is not an input field");
    assert!(serde_json::from_str::<TicketInput>(r#"{"priority":"whenever"}"#).is_err());
    let r = input(r#"{"channel":"email","customer_id":null}"#).apply(Some(&created()), NOW).unwrap_err();
    assert_eq!(fields(r), ["channel", "customer_id"]);
}

#[test]
fn assigning_through_an_edit_is_the_assign_action_and_clearing_it_returns_the_ticket_to_the_queue() {
    let d = input(r#"{"subject":"x","customer_id":1,"owner_id":5}"#).apply(None, NOW).unwrap();
    assert_eq!((d.status, d.owner_id), (TicketState::Assigned, Some(5)));
    let working = d.perform(TicketAction::Start, Actor::Agent, None, None, NOW).unwrap();
    let back = input(r#"{"owner_id":null}"#).apply(Some(&working), LATER).unwrap();
    assert_eq!((back.status, back.owner_id), (TicketState::New, None));
    assert_eq!(back.status_changed_at.as_deref(), Some(LATER));
    // Another agent on a ticket being worked keeps its status.
    let moved = input(r#"{"owner_id":6}"#).apply(Some(&working), LATER).unwrap();
    assert_eq!((moved.status, moved.owner_id), (TicketState::InProgress, Some(6)));
    // A resolved ticket keeps its assignee.
    let resolved = working.perform(TicketAction::Resolve, Actor::Agent, None, None, LATER).unwrap();
    let r = input(r#"{"owner_id":6}"#).apply(Some(&resolved), LATER).unwrap_err();
    let refused = r.refused().unwrap();
    assert_eq!((refused.field, refused.state, refused.allowed.clone()), (Some("owner_id"), "resolved", vec!["reopen"]));
}

#[test]
fn actions_move_the_status_and_stamp_their_times() {
    let d = created();
    let r = d.perform(TicketAction::Assign, Actor::Agent, None, None, NOW).unwrap_err();
    assert_eq!(fields(r), ["owner_id"]);
    let d = d.perform(TicketAction::Assign, Actor::Agent, Some(3), None, NOW).unwrap();
    assert_eq!((d.status, d.owner_id), (TicketState::Assigned, Some(3)));
    let d = d.perform(TicketAction::Start, Actor::Agent, None, None, NOW).unwrap();
    let d = d.perform(TicketAction::Resolve, Actor::Agent, None, None, LATER).unwrap();
    assert_eq!((d.status, d.resolved_at.as_deref()), (TicketState::Resolved, Some(LATER)));
    let refused = d.perform(TicketAction::Confirm, Actor::Agent, None, None, LATER).unwrap_err();
    assert_eq!(refused.refused().unwrap().allowed, ["reopen"]);
    let closed = d.perform(TicketAction::Confirm, Actor::Customer, None, None, LATER).unwrap();
    assert_eq!((closed.status, closed.closed_at.as_deref()), (TicketState::Closed, Some(LATER)));
    let reopened = d.perform(TicketAction::CustomerReply, Actor::System, None, None, LATER).unwrap();
    assert_eq!(reopened.status, TicketState::Reopened);
}

#[test]
fn snoozing_needs_a_future_wake_up_time_that_waking_clears() {
    let d = created().perform(TicketAction::Assign, Actor::Agent, Some(3), None, NOW).unwrap();
    assert_eq!(fields(d.perform(TicketAction::Snooze, Actor::Agent, None, None, NOW).unwrap_err()), ["until"]);
    assert_eq!(fields(d.perform(TicketAction::Snooze, Actor::Agent, None, Some("2026-12-01"), NOW).unwrap_err()), ["until"]);
    assert_eq!(fields(d.perform(TicketAction::Snooze, Actor::Agent, None, Some("soon"), NOW).unwrap_err()), ["until"]);
    let s = d.perform(TicketAction::Snooze, Actor::Agent, None, Some("2026-12-09"), NOW).unwrap();
    assert_eq!((s.status, s.snoozed_until.as_deref()), (TicketState::Snoozed, Some("2026-12-09T00:00:00.000000Z")));
    let w = s.perform(TicketAction::Wake, Actor::System, None, None, LATER).unwrap();
    assert_eq!((w.status, w.snoozed_until), (TicketState::InProgress, None));
}

#[test]
fn the_history_records_creation_and_each_status_change_only() {
    let d = created();
    let first = StatusChange::between(None, &d, NOW, Some(1)).unwrap();
    assert_eq!((first.from_status, first.to_status), (None, TicketState::New));
    let same = input(r#"{"priority":"low"}"#).apply(Some(&d), LATER).unwrap();
    assert_eq!(StatusChange::between(Some(&d), &same, LATER, Some(1)), None);
    let a = d.perform(TicketAction::Assign, Actor::Agent, Some(2), None, LATER).unwrap();
    let c = StatusChange::between(Some(&d), &a, LATER, Some(1)).unwrap();
    assert_eq!((c.from_status, c.to_status, c.at.as_str()), (Some(TicketState::New), TicketState::Assigned, LATER));
}
