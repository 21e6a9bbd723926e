use super::*;

/// The whole workflow written out by hand: for each state, every action that is legal there
/// and where it leads. Every (state, action) pair not listed must be refused.
const LEGAL: &[(&str, &[(&str, &str)])] = &[
    ("new", &[("assign", "assigned"), ("customer_reply", "new")]),
    (
        "assigned",
        &[
            ("unassign", "new"),
            ("start", "in_progress"),
            ("wait_on_customer", "waiting_on_customer"),
            ("wait_on_third_party", "waiting_on_third_party"),
            ("snooze", "snoozed"),
            ("customer_reply", "assigned"),
            ("resolve", "resolved"),
        ],
    ),
    (
        "in_progress",
        &[
            ("unassign", "new"),
            ("wait_on_customer", "waiting_on_customer"),
            ("wait_on_third_party", "waiting_on_third_party"),
            ("snooze", "snoozed"),
            ("customer_reply", "in_progress"),
            ("resolve", "resolved"),
        ],
    ),
    (
        "waiting_on_customer",
        &[
            ("unassign", "new"),
            ("wait_on_third_party", "waiting_on_third_party"),
            ("resume", "in_progress"),
            ("snooze", "snoozed"),
            ("customer_reply", "in_progress"),
            ("resolve", "resolved"),
        ],
    ),
    (
        "waiting_on_third_party",
        &[
            ("unassign", "new"),
            ("wait_on_customer", "waiting_on_customer"),
            ("resume", "in_progress"),
            ("snooze", "snoozed"),
            ("customer_reply", "in_progress"),
            ("resolve", "resolved"),
        ],
    ),
    ("snoozed", &[("unassign", "new"), ("wake", "in_progress"), ("customer_reply", "in_progress"), ("resolve", "resolved")]),
    ("resolved", &[("customer_reply", "reopened"), ("confirm", "closed"), ("auto_close", "closed"), ("reopen", "reopened")]),
    (
        "reopened",
        &[
            ("unassign", "new"),
            ("start", "in_progress"),
            ("wait_on_customer", "waiting_on_customer"),
            ("wait_on_third_party", "waiting_on_third_party"),
            ("snooze", "snoozed"),
            ("customer_reply", "reopened"),
            ("resolve", "resolved"),
        ],
    ),
    ("closed", &[]),
];

/// The actor that may take each action (the customer's and the system's own actions need
/// them; everything else is tried as an agent, or as the system for replies).
fn actor_for(action: TicketAction) -> Actor {
    match action {
        TicketAction::Confirm => Actor::Customer,
        TicketAction::AutoClose | TicketAction::CustomerReply => Actor::System,
        _ => Actor::Agent,
    }
}

#[test]
fn every_state_and_action_pair_leads_where_the_table_says_or_is_refused_naming_what_is_allowed() {
    assert_eq!(LEGAL.len(), TicketState::ALL.len(), "the table lists every state");
    for state in TicketState::ALL {
        let row = LEGAL.iter().find(|(s, _)| *s == state.as_str()).expect("state in table").1;
        for action in TicketAction::ALL {
            let actor = actor_for(action);
            let expected = row.iter().find(|(a, _)| *a == action.as_str()).map(|(_, to)| *to);
            match (state.transition(action, actor), expected) {
                (Ok(to), Some(want)) => assert_eq!(to.as_str(), want, "{} + {}", state.as_str(), action.as_str()),
                (Err(r), None) => {
                    assert_eq!((r.object, r.action, r.state, r.field), ("ticket", action.as_str(), state.as_str(), Some("status")));
                    assert_eq!(r.allowed, state.allowed_actions(actor), "{} + {}", state.as_str(), action.as_str());
                    assert!(!r.allowed.contains(&action.as_str()));
                }
                (got, want) => panic!("{} + {}: got {got:?}, the table says {want:?}", state.as_str(), action.as_str()),
            }
        }
    }
}

#[test]
fn allowed_actions_are_exactly_the_legal_ones_for_each_actor() {
    for (state, row) in LEGAL {
        let state = TicketState::parse(state).unwrap();
        let legal = |actor: Actor| -> Vec<&str> {
            TicketAction::ALL
                .into_iter()
                .filter(|a| a.permitted(actor) && row.iter().any(|(x, _)| *x == a.as_str()))
                .map(TicketAction::as_str)
                .collect()
        };
        for actor in [Actor::Agent, Actor::Customer, Actor::System] {
            assert_eq!(state.allowed_actions(actor), legal(actor), "{} as {actor:?}", state.as_str());
        }
    }
    assert_eq!(TicketState::Resolved.allowed_actions(Actor::Customer), ["customer_reply", "confirm", "reopen"]);
    assert_eq!(TicketState::Resolved.allowed_actions(Actor::Agent), ["reopen"]);
    assert!(TicketState::Closed.allowed_actions(Actor::Agent).is_empty());
}

#[test]
fn actions_of_the_customer_and_of_the_system_are_refused_to_others_with_the_reason() {
    let r = TicketState::Resolved.transition(TicketAction::Confirm, Actor::Agent).unwrap_err();
    assert_eq!(r.reason, "only the customer confirms a resolution");
    assert_eq!(r.to_string(), "only the customer confirms a resolution: allowed now: reopen");
    let r = TicketState::Resolved.transition(TicketAction::AutoClose, Actor::Customer).unwrap_err();
    assert_eq!(r.reason, "only the system closes a ticket automatically");
    let r = TicketState::InProgress.transition(TicketAction::Resolve, Actor::Customer).unwrap_err();
    assert_eq!(r.reason, "the customer cannot do this");
    assert_eq!(r.allowed, ["customer_reply"]);
}

#[test]
fn refusals_explain_themselves() {
    let r = TicketState::New.transition(TicketAction::Resolve, Actor::Agent).unwrap_err();
    assert_eq!(r.to_string(), "a new ticket must be assigned first: allowed now: assign");
    let r = TicketState::Closed.transition(TicketAction::Reopen, Actor::Customer).unwrap_err();
    assert_eq!(r.to_string(), "a closed ticket is final; a new message opens a new ticket: no action is allowed now");
    let r = TicketState::Resolved.transition(TicketAction::Start, Actor::Agent).unwrap_err();
    assert_eq!(r.reason, "a ticket that is resolved cannot start");
}

#[test]
fn the_sla_clock_pauses_only_while_the_customer_is_awaited_and_stops_once_resolved() {
    let running: Vec<&str> = TicketState::ALL.into_iter().filter(|s| s.sla_clock_runs()).map(TicketState::as_str).collect();
    assert_eq!(running, ["new", "assigned", "in_progress", "waiting_on_third_party", "snoozed", "reopened"]);
    let open: Vec<&str> = TicketState::ALL.into_iter().filter(|s| s.is_open()).map(TicketState::as_str).collect();
    assert_eq!(open, ["new", "assigned", "in_progress", "waiting_on_customer", "waiting_on_third_party", "snoozed", "reopened"]);
}

#[test]
fn names_round_trip() {
    for s in TicketState::ALL {
        assert_eq!(TicketState::parse(s.as_str()), Some(s));
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    for a in TicketAction::ALL {
        assert_eq!(TicketAction::parse(a.as_str()), Some(a));
        assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
    }
    assert_eq!(TicketState::parse("open"), None);
}
