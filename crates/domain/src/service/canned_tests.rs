use super::*;

fn values() -> MergeValues {
    MergeValues {
        customer_name: Some("Ann Lee".into()),
        customer_email: Some("ann@example.com".into()),
        company_name: None,
        ticket_number: 42,
        ticket_subject: "Printer on fire".into(),
        ticket_status: "waiting_on_customer".into(),
        ticket_priority: "urgent".into(),
        agent_name: Some("Sam Agent".into()),
    }
}

#[test]
fn merge_fields_are_filled_and_empty_ones_take_their_default() {
    let body = "Hi {{customer.first_name}}, about {{ticket.number}} ({{ticket.subject}}) at {{company.name | default: \"your company\"}}: now {{ticket.status}}. {{agent.first_name}}";
    assert_eq!(render(body, &values()).unwrap(), "Hi Ann, about #42 (Printer on fire) at your company: now waiting on customer. Sam");
    let nobody = MergeValues { customer_name: Some("  ".into()), agent_name: None, ..values() };
    assert_eq!(render("Hello {{ customer.name | default: 'there' }}!{{agent.name}}", &nobody).unwrap(), "Hello there!");
    assert_eq!(render("no fields at all", &values()).unwrap(), "no fields at all");
    assert_eq!(render("{{customer.email}}{{ticket.priority}}", &values()).unwrap(), "ann@example.comurgent");
}

#[test]
fn a_body_with_an_unknown_or_unclosed_field_is_refused_naming_it() {
    let err = parse_template("Hi {{customer.shoe_size}}").unwrap_err();
    assert!(err.contains("{{customer.shoe_size}}") && err.contains("customer.first_name"), "{err}");
    assert!(parse_template("Hi {{customer.name").unwrap_err().contains("not closed"));
    assert!(parse_template("{{customer.name | there}}").unwrap_err().contains("default:"));
    assert!(parse_template("{{customer.name | default: \"a}}").is_err(), "an unbalanced quote");
    assert_eq!(
        parse_template("a{{ticket.number|default:\"?\"}}b").unwrap(),
        vec![Piece::Text("a".into()), Piece::Field { name: "ticket.number".into(), default: "?".into() }, Piece::Text("b".into())]
    );
}

#[test]
fn a_macro_is_validated_field_by_field() {
    let fields = |e: ValidationErrors| e.0.into_iter().map(|e| e.field).collect::<Vec<_>>();
    let ok = MacroInput {
        name: Some(" Ask for logs ".into()),
        body: Some("Hi {{customer.first_name}}, could you send the logs?".into()),
        action: Some(Some("wait_on_customer".into())),
        add_tags: Some(vec!["logs".into(), " logs".into()]),
        ..Default::default()
    }
    .apply(None)
    .unwrap();
    assert_eq!((ok.name.as_str(), ok.action, ok.internal), ("Ask for logs", Some(TicketAction::WaitOnCustomer), false));
    assert_eq!(ok.add_tags, ["logs"]);
    assert_eq!(fields(MacroInput::default().apply(None).unwrap_err()), ["name", "body"]);
    let bad = MacroInput {
        name: Some("x".into()),
        body: Some("{{ticket.nope}}".into()),
        action: Some(Some("confirm".into())),
        add_tags: Some(vec!["".into()]),
        ..Default::default()
    };
    assert_eq!(fields(bad.apply(None).unwrap_err()), ["body", "action", "add_tags"]);
    // An update changes only what it names; clearing the action is allowed.
    let cleared = MacroInput { action: Some(None), ..Default::default() }.apply(Some(&ok)).unwrap();
    assert_eq!((cleared.action, cleared.body), (None, ok.body.clone()));
}
