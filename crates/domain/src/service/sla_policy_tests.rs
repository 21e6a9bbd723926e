use super::*;
use crate::service::calendar::CalendarInput;
use crate::service::workflow::TicketState;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn policy(id: i64, position: i64, input: serde_json::Value) -> SlaPolicy {
    let input: SlaPolicyInput = serde_json::from_value(input).unwrap();
    SlaPolicy { id, data: input.apply(None, position).unwrap(), created_at: String::new(), updated_at: String::new(), version: 1 }
}

fn fields(e: ValidationErrors) -> Vec<String> {
    e.0.into_iter().map(|e| e.field).collect()
}

#[test]
fn the_first_matching_policy_in_order_applies() {
    let policies = vec![
        policy(1, 3, serde_json::json!({"name": "Default", "resolution_minutes": 2400})),
        policy(2, 1, serde_json::json!({"name": "Urgent", "priority": "urgent", "first_response_minutes": 30})),
        policy(3, 2, serde_json::json!({"name": "Acme billing", "company_id": 7, "category": "Billing", "first_response_minutes": 60})),
        policy(4, 0, serde_json::json!({"name": "Chat", "channel": "chat", "first_response_minutes": 5})),
    ];
    let t = |priority, category: Option<&str>, channel, company_id| TicketData {
        priority,
        category: category.map(String::from),
        channel,
        company_id,
        ..TicketData::default()
    };
    let name = |t: &TicketData| choose(&policies, t).map(|p| p.data.name.clone());
    assert_eq!(name(&t(Priority::Urgent, Some("billing"), Channel::Email, Some(7))).as_deref(), Some("Urgent"));
    assert_eq!(
        name(&t(Priority::Normal, Some("billing"), Channel::Email, Some(7))).as_deref(),
        Some("Acme billing"),
        "category case ignored"
    );
    assert_eq!(name(&t(Priority::Normal, Some("billing"), Channel::Email, Some(8))).as_deref(), Some("Default"));
    assert_eq!(name(&t(Priority::Urgent, None, Channel::Chat, None)).as_deref(), Some("Chat"), "position 0 before the urgent one");
    assert_eq!(name(&t(Priority::Low, None, Channel::Api, None)).as_deref(), Some("Default"));
    assert_eq!(choose(&[], &TicketData::default()), None);
}

#[test]
fn bad_input_names_each_field() {
    let bad: SlaPolicyInput = serde_json::from_value(serde_json::json!({
        "name": " ", "priority": "asap", "channel": "fax", "first_response_minutes": 0, "near_breach_percent": 100, "position": -1
    }))
    .unwrap();
    assert_eq!(
        fields(bad.apply(None, 0).unwrap_err()),
        ["name", "position", "priority", "channel", "first_response_minutes", "near_breach_percent"]
    );
    let none: SlaPolicyInput = serde_json::from_value(serde_json::json!({"name": "Empty"})).unwrap();
    assert_eq!(fields(none.apply(None, 0).unwrap_err()), ["resolution_minutes"], "at least one target");
    // A change keeps what it does not name and drops a condition sent as null.
    let before = policy(1, 4, serde_json::json!({"name": "P", "priority": "high", "first_response_minutes": 60})).data;
    let change: SlaPolicyInput = serde_json::from_value(serde_json::json!({"priority": null, "resolution_minutes": 480})).unwrap();
    let after = change.apply(Some(&before), 9).unwrap();
    assert_eq!((after.priority, after.position, after.first_response_minutes, after.resolution_minutes), (None, 4, Some(60), Some(480)));
}

/// Monday to Friday 09:00–12:00 and 13:00–17:00 in New York, with Friday 25 December 2026 off.
fn new_york() -> crate::service::calendar::Calendar {
    let day = vec!["09:00-12:00".to_string(), "13:00-17:00".to_string()];
    let week = ["monday", "tuesday", "wednesday", "thursday", "friday"].iter().map(|d| (d.to_string(), day.clone())).collect();
    CalendarInput { time_zone: "America/New_York".into(), week, holidays: vec!["2026-12-25".into()] }.validate().unwrap()
}

#[test]
fn due_times_skip_the_holiday_and_the_weekend_and_pause_while_waiting() {
    let c = new_york();
    let p = policy(
        1,
        0,
        serde_json::json!({"name": "P", "first_response_minutes": 240, "resolution_minutes": 960, "next_response_minutes": 120}),
    )
    .data;
    // Opened Thursday 24 December 15:00 New York (20:00 UTC).
    let opened = at("2026-12-24T20:00:00Z");
    let clock = Clock { history: vec![Change { at: opened, state: TicketState::New }], ..Clock::default() };
    let now = at("2026-12-24T21:00:00Z");
    let s = evaluate(&c, &p, &clock, now);
    // First response, 4 h: 1 h used by 16:00, 1 h left on Thursday, Friday is a holiday, the
    // weekend has no hours: the last 2 h run Monday 28 December 09:00–11:00 New York = 16:00 UTC.
    assert_eq!(s[0].target, Target::FirstResponse);
    assert_eq!(s[0].standing, Standing::Running { due: at("2026-12-28T16:00:00Z") });
    // Resolution, 16 h: 2 h Thursday, 7 h Monday, 7 h Tuesday → Tuesday 29 December 17:00
    // New York = 22:00 UTC.
    assert_eq!(s[1].target, Target::Resolution);
    assert_eq!(s[1].standing, Standing::Running { due: at("2026-12-29T22:00:00Z") });
    assert_eq!(s.len(), 2, "no next response before the first one");

    // Answered Monday 10:00 New York; the customer wrote back at 14:00; waiting on the
    // customer Monday 15:00 to Tuesday 09:30 pauses every clock.
    let clock = Clock {
        history: vec![
            Change { at: opened, state: TicketState::New },
            Change { at: at("2026-12-28T15:00:00Z"), state: TicketState::InProgress },
            Change { at: at("2026-12-28T20:00:00Z"), state: TicketState::WaitingOnCustomer },
            Change { at: at("2026-12-29T14:30:00Z"), state: TicketState::InProgress },
        ],
        first_reply: Some(at("2026-12-28T15:00:00Z")),
        awaiting_since: Some(at("2026-12-28T19:00:00Z")),
        resolved_at: None,
    };
    let s = evaluate(&c, &p, &clock, at("2026-12-29T15:00:00Z"));
    assert_eq!(s[0].standing, Standing::Met { seconds: 3 * 3600 }, "2 h Thursday and 1 h Monday");
    // Next response from Monday 14:00 New York: 1 h until the wait, then from Tuesday 09:30;
    // the second hour ends Tuesday 10:30 New York = 15:30 UTC. Half an hour left is more than
    // the 20% warning margin (24 minutes), so it runs.
    assert_eq!((s[1].target, s[1].started_at), (Target::NextResponse, at("2026-12-28T19:00:00Z")));
    assert_eq!(s[1].standing, Standing::Running { due: at("2026-12-29T15:30:00Z") });
    let later = evaluate(&c, &p, &clock, at("2026-12-29T15:10:00Z"));
    assert_eq!(later[1].standing, Standing::NearBreach { due: at("2026-12-29T15:30:00Z") }, "20 minutes left");
    let late = evaluate(&c, &p, &clock, at("2026-12-29T16:00:00Z"));
    assert_eq!(late[1].standing, Standing::Breached { over_seconds: 1800 });
    // While waiting, paused: resolution has used 2 + 6 h (Monday 09:00–17:00 less lunch, less
    // 15:00–17:00 waiting: 09:00–12:00 and 13:00–15:00 = 5 h) = 7 h of 16.
    let waiting = evaluate(&c, &p, &clock, at("2026-12-28T22:00:00Z"));
    assert_eq!(waiting[2].standing, Standing::Paused { left_seconds: 9 * 3600 });
}
