use serde_json::json;

use super::*;

#[test]
fn record_changes_are_their_events() {
    assert_eq!(events_of("customer", "create", &json!({"after": {}})), ["customer.created"]);
    assert_eq!(events_of("company", "delete", &json!({"before": {}})), ["company.deleted"]);
    assert_eq!(events_of("customer", "erase", &json!({})), ["customer.deleted"]);
    assert_eq!(events_of("customer", "convert", &json!({})), ["lead.converted"]);
    assert!(events_of("customer", "bulk_create", &json!({"count": 10})).is_empty(), "bulk loads are no events");
    assert!(events_of("user", "login", &json!({})).is_empty());
    assert!(events_of("team", "update", &json!({})).is_empty(), "only the listed records have events");
}

#[test]
fn some_updates_are_also_a_named_step() {
    let stage = json!({"stage_id": [1, 2], "updated_at": ["a", "b"]});
    assert_eq!(events_of("opportunity", "update", &stage), ["opportunity.updated", "opportunity.stage_changed"]);
    assert_eq!(events_of("opportunity", "update", &json!({"name": ["a", "b"]})), ["opportunity.updated"]);
    assert_eq!(events_of("order", "update", &json!({"status": ["confirmed", "paid"]})), ["order.updated", "order.paid"]);
    assert_eq!(events_of("order", "update", &json!({"status": ["paid", "shipped"]})), ["order.updated"]);
    assert_eq!(events_of("order", "create", &json!({"after": {"status": "paid"}})), ["order.created", "order.paid"], "recorded as paid");
    assert_eq!(events_of("order", "create", &json!({"after": {"status": "draft"}})), ["order.created"]);
    assert_eq!(events_of("ticket", "update", &json!({"status": ["in_progress", "resolved"]})), ["ticket.updated", "ticket.resolved"]);
    assert_eq!(events_of("ticket", "merge_into", &json!({})), ["ticket.merged"]);
}

#[test]
fn every_derived_event_is_a_listed_type() {
    for object in RECORD_OBJECTS {
        for verb in ["created", "updated", "deleted"] {
            assert!(event_type(object, verb).is_some(), "{object}.{verb}");
        }
    }
}

fn input(v: serde_json::Value) -> SubscriptionInput {
    serde_json::from_value(v).unwrap()
}

#[test]
fn subscriptions_need_a_url_and_known_events() {
    let e = input(json!({})).apply(None).unwrap_err();
    assert_eq!(e.0.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["url", "events"]);
    let d = input(json!({"url": " https://hooks.example.com/x ", "events": ["ticket.resolved", "Customer.Created", "ticket.resolved"]}))
        .apply(None)
        .unwrap();
    assert_eq!(d.url, "https://hooks.example.com/x");
    assert_eq!(d.events, ["customer.created", "ticket.resolved"]);
    assert!(d.active);
    assert_eq!(events_column(&d.events), ",customer.created,ticket.resolved,");
    assert_eq!(events_from_column(",customer.created,ticket.resolved,"), d.events);
    assert_eq!(events_from_column("*"), ["*"]);
    for (body, field) in [
        (json!({"url": "ftp://x.example", "events": ["*"]}), "url"),
        (json!({"url": "https://u:p@x.example", "events": ["*"]}), "url"),
        (json!({"url": "/relative", "events": ["*"]}), "url"),
        (json!({"url": "https://x.example", "events": []}), "events"),
        (json!({"url": "https://x.example", "events": ["customer.exploded"]}), "events"),
        (json!({"url": "https://x.example", "events": ["*", "order.paid"]}), "events"),
    ] {
        let e = input(body.clone()).apply(None).unwrap_err();
        assert_eq!(e.0[0].field, field, "{body}");
    }
    assert!(serde_json::from_value::<SubscriptionInput>(json!({"secret": "x"})).is_err(), "unknown fields are refused");
}

#[test]
fn patch_keeps_what_is_not_sent() {
    let d = input(json!({"url": "https://x.example/a", "events": ["*"], "description": "CRM sync"})).apply(None).unwrap();
    let p = input(json!({"active": false, "description": null})).apply(Some(&d)).unwrap();
    assert_eq!(
        (p.url.as_str(), p.events.as_slice(), p.active, p.description),
        ("https://x.example/a", &["*".to_string()][..], false, None)
    );
}

#[test]
fn internal_addresses_are_refused() {
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "2001:db8::1",
    ] {
        assert!(refused_address(ip.parse().unwrap()).is_some(), "{ip} must be refused");
    }
    for ip in ["93.184.216.34", "8.8.8.8", "100.128.0.1", "2606:4700::1111", "64:ff9b::808:808"] {
        assert_eq!(refused_address(ip.parse().unwrap()), None, "{ip} is public");
    }
}

#[test]
fn retries_back_off_to_a_cap_and_end() {
    let secs = |n| retry_delay(n, 1.0).map(|d| d.as_secs());
    assert_eq!(secs(1), Some(30));
    assert_eq!(secs(2), Some(60));
    assert_eq!(secs(5), Some(480));
    assert_eq!(secs(12), Some(6 * 3600), "capped at six hours");
    assert_eq!(secs(MAX_ATTEMPTS), None);
    let total: u64 = (1..MAX_ATTEMPTS).filter_map(secs).sum();
    assert!((2 * 86_400..4 * 86_400).contains(&total), "days in all: {total}");
    assert_eq!(retry_delay(1, 0.8).unwrap().as_secs(), 24, "jitter scales the delay");
}

#[test]
fn settings_are_checked() {
    assert!(WebhookSettings { allow_private_targets: true, disable_after_failures: 0 }.validated().is_err());
    assert!(WebhookSettings::default().validated().is_ok());
}
