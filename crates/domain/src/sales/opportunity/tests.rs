//! The opportunity rules: stage moves, closing and reopening, lost reasons, and the times
//! measured from the stage history.
use super::*;
use OpportunityAction::*;
use StageOutcome::*;

const NOW: &str = "2026-03-10T12:00:00.000000Z";

fn pipelines(id: i64) -> Option<PipelineData> {
    match id {
        1 => Some(PipelineData::default_sales()),
        2 => Some(PipelineData {
            name: "Renewals".into(),
            stages: vec![
                StageData { key: "due".into(), name: "Due".into(), probability: 60, outcome: Open },
                StageData { key: "renewed".into(), name: "Renewed".into(), probability: 100, outcome: Won },
                StageData { key: "won".into(), name: "Churned".into(), probability: 0, outcome: Lost },
            ],
        }),
        _ => None,
    }
}

fn ctx() -> OpportunityContext<'static> {
    OpportunityContext { pipeline: &pipelines, default_pipeline_id: Some(1), default_currency: None, now: NOW }
}

fn input(json: &str) -> OpportunityInput {
    serde_json::from_str(json).unwrap()
}

fn create(json: &str) -> OpportunityData {
    input(json).apply(None, &ctx()).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn patch(d: &OpportunityData, json: &str) -> Result<OpportunityData, Rejected> {
    input(json).apply(Some(d), &ctx())
}

fn fields(r: Rejected) -> Vec<String> {
    match r {
        Rejected::Invalid(e) => e.0.into_iter().map(|e| e.field).collect(),
        Rejected::Refused(r) => panic!("expected field errors, got refusal {r}"),
    }
}

fn refusal(r: Rejected) -> Refused {
    match r {
        Rejected::Refused(r) => r,
        Rejected::Invalid(e) => panic!("expected a refusal, got {e}"),
    }
}

#[test]
fn every_status_and_action() {
    let table = [
        (Open, Move, Ok(Open)),
        (Open, Win, Ok(Won)),
        (Open, Lose, Ok(Lost)),
        (Open, Reopen, Err(vec!["move", "win", "lose"])),
        (Won, Move, Err(vec!["reopen"])),
        (Won, Win, Err(vec!["reopen"])),
        (Won, Lose, Err(vec!["reopen"])),
        (Won, Reopen, Ok(Open)),
        (Lost, Move, Err(vec!["reopen"])),
        (Lost, Win, Err(vec!["reopen"])),
        (Lost, Lose, Err(vec!["reopen"])),
        (Lost, Reopen, Ok(Open)),
    ];
    assert_eq!(table.len(), StageOutcome::ALL.len() * OpportunityAction::ALL.len());
    for (state, action, want) in table {
        let got = state.transition(action);
        match want {
            Ok(s) => assert_eq!(got, Ok(s), "{state:?} {action:?}"),
            Err(allowed) => {
                let r = got.unwrap_err();
                assert_eq!((r.object, r.action, r.state), ("opportunity", action.as_str(), state.as_str()));
                assert_eq!(r.allowed, allowed, "{state:?} {action:?}");
                assert_eq!(r.allowed, state.allowed_actions());
            }
        }
    }
    assert_eq!(Won.transition(Move).unwrap_err().to_string(), "a won opportunity must be reopened before it moves: allowed now: reopen");
    assert_eq!(Open.transition(Reopen).unwrap_err().to_string(), "an open opportunity has nothing to reopen: allowed now: move, win, lose");
}

#[test]
fn moves_follow_the_stage_rules() {
    let p = PipelineData::default_sales();
    let m = move_to(&p, "qualification", "proposal", false, None).unwrap();
    assert_eq!((m.action, m.outcome, m.from.as_str(), m.to.as_str()), (Some(Move), Open, "qualification", "proposal"));
    assert_eq!(move_to(&p, "proposal", "qualification", false, None).unwrap().action, Some(Move), "backwards is fine");
    assert_eq!(move_to(&p, "proposal", "won", false, None).unwrap().outcome, Won);
    assert_eq!(move_to(&p, "proposal", "won", false, Some("x")).unwrap().lost_reason, None, "a reason is only kept for lost");
    let lost = move_to(&p, "proposal", "lost", false, Some("  Too expensive ")).unwrap();
    assert_eq!((lost.action, lost.outcome, lost.lost_reason.as_deref()), (Some(Lose), Lost, Some("Too expensive")));
    assert_eq!(move_to(&p, "proposal", "proposal", false, None).unwrap().action, None, "staying is no move");

    let e = move_to(&p, "proposal", "lost", false, None).unwrap_err();
    assert_eq!(e.invalid().unwrap().0[0].field, "lost_reason");
    let e = move_to(&p, "proposal", "lost", false, Some("  ")).unwrap_err();
    assert_eq!(e.invalid().unwrap().0[0].field, "lost_reason", "a blank reason is no reason");
    let e = move_to(&p, "proposal", "lost", false, Some(&"x".repeat(501))).unwrap_err();
    assert!(e.invalid().unwrap().0[0].message.contains("at most 500"));
    let e = move_to(&p, "proposal", "closed_won", false, None).unwrap_err();
    assert_eq!(e.invalid().unwrap().0[0].field, "stage");
    assert!(e.to_string().contains("use one of qualification, needs_analysis, proposal, negotiation, won, lost"), "{e}");

    for (from, to) in [("won", "proposal"), ("won", "lost"), ("lost", "won"), ("lost", "qualification")] {
        let r = refusal(move_to(&p, from, to, false, Some("r")).unwrap_err());
        assert_eq!((r.field, r.allowed.clone()), (Some("stage"), vec!["reopen"]), "{from} → {to}");
        assert_eq!(r.to_string(), format!("a {from} opportunity must be reopened before it moves: allowed now: reopen"));
    }
    let stay = move_to(&p, "won", "won", false, None).unwrap();
    assert_eq!((stay.action, stay.outcome), (None, Won));
    assert_eq!(move_to(&p, "lost", "lost", false, None).unwrap_err().invalid().unwrap().0[0].field, "lost_reason");
    assert_eq!(move_to(&p, "lost", "lost", false, Some("r")).unwrap().lost_reason.as_deref(), Some("r"));

    let reopened = move_to(&p, "won", "negotiation", true, None).unwrap();
    assert_eq!((reopened.action, reopened.outcome), (Some(Reopen), Open));
    assert_eq!(move_to(&p, "lost", "qualification", true, Some("old reason")).unwrap().lost_reason, None);
    for to in ["won", "lost"] {
        let e = move_to(&p, "lost", to, true, Some("r")).unwrap_err();
        assert_eq!(e.invalid().unwrap().0[0].field, "stage", "reopen into {to}");
        assert!(e.to_string().contains("goes to an open stage: use one of qualification, needs_analysis, proposal, negotiation"));
    }
    let r = refusal(move_to(&p, "proposal", "negotiation", true, None).unwrap_err());
    assert_eq!((r.field, r.action), (Some("reopen"), "reopen"));
    assert_eq!(move_to(&p, "gone_stage", "won", false, None).unwrap().action, Some(Win), "an unknown from counts as open");
}

#[test]
fn a_new_opportunity_starts_in_the_first_open_stage_of_the_default_pipeline() {
    let d =
        create(r#"{"name":" Acme renewal ","amount_minor":500000,"currency":"eur","customer_id":4,"expected_close_date":"2026-06-30"}"#);
    assert_eq!((d.name.as_str(), d.amount_minor, d.currency.as_str()), ("Acme renewal", 500000, "EUR"));
    assert_eq!((d.pipeline_id, d.stage.as_str(), d.status), (Some(1), "qualification", Open));
    assert_eq!((d.customer_id, d.expected_close_date.as_deref(), d.closed_at.as_deref()), (Some(4), Some("2026-06-30"), None));
    let d = create(r#"{"name":"R","currency":"USD","pipeline_id":2}"#);
    assert_eq!((d.stage.as_str(), d.amount_minor), ("due", 0));
    let with_default = OpportunityContext { default_currency: Some("GBP"), ..ctx() };
    assert_eq!(input(r#"{"name":"R"}"#).apply(None, &with_default).unwrap().currency, "GBP");
}

#[test]
fn creating_reports_every_bad_field() {
    let e = input(r#"{"amount_minor":-5,"expected_close_date":"soon","stage":"nope","next_step":""}"#).apply(None, &ctx()).unwrap_err();
    assert_eq!(fields(e), ["name", "amount_minor", "currency", "expected_close_date", "stage"]);
    let no_default = OpportunityContext { default_pipeline_id: None, ..ctx() };
    assert_eq!(fields(input(r#"{"name":"A","currency":"USD"}"#).apply(None, &no_default).unwrap_err()), ["pipeline_id"]);
    assert_eq!(fields(input(r#"{"name":"A","currency":"USD","pipeline_id":9}"#).apply(None, &ctx()).unwrap_err()), ["pipeline_id"]);
    let e = input(r#"{"name":"A","currency":"USD","stage":"lost"}"#).apply(None, &ctx()).unwrap_err();
    assert_eq!(fields(e), ["lost_reason"]);
    let e = input(r#"{"name":"A","currency":"USD","lost_reason":"x"}"#).apply(None, &ctx()).unwrap_err();
    assert_eq!(fields(e), ["lost_reason"], "a reason on an open deal");
    let e = input(r#"{"name":"A","currency":"USD","stage":"won","reopen":true}"#).apply(None, &ctx()).unwrap_err();
    assert_eq!(fields(e), ["reopen"]);
    assert!(serde_json::from_str::<OpportunityInput>(r#"{"status":"won"}"#).is_err(), "status follows the stage");
}

#[test]
fn importing_a_closed_deal_keeps_its_close_time() {
    let d = create(r#"{"name":"Old","currency":"USD","stage":"won","closed_at":"2024-05-01"}"#);
    assert_eq!((d.status, d.closed_at.as_deref()), (Won, Some("2024-05-01T00:00:00.000000Z")));
    let d = create(r#"{"name":"Old","currency":"USD","stage":"lost","lost_reason":"Budget"}"#);
    assert_eq!((d.status, d.closed_at.as_deref(), d.lost_reason.as_deref()), (Lost, Some(NOW), Some("Budget")));
    let e = input(r#"{"name":"Old","currency":"USD","closed_at":"2024-05-01"}"#).apply(None, &ctx()).unwrap_err();
    assert_eq!(fields(e), ["closed_at"]);
    let e = input(r#"{"name":"Old","currency":"USD","stage":"won","closed_at":"yesterday"}"#).apply(None, &ctx()).unwrap_err();
    assert_eq!(fields(e), ["closed_at"]);
    let e = patch(&d, r#"{"closed_at":"2024-05-01"}"#).unwrap_err();
    assert_eq!(fields(e), ["closed_at"]);
}

#[test]
fn winning_losing_and_reopening_through_patch() {
    let open = create(r#"{"name":"A","currency":"USD","amount_minor":1000}"#);
    let moved = patch(&open, r#"{"stage":"proposal","next_step":"Send quote"}"#).unwrap();
    assert_eq!((moved.stage.as_str(), moved.status, moved.next_step.as_deref()), ("proposal", Open, Some("Send quote")));

    let won = patch(&moved, r#"{"stage":"won"}"#).unwrap();
    assert_eq!((won.status, won.closed_at.as_deref()), (Won, Some(NOW)));
    let r = refusal(patch(&won, r#"{"stage":"proposal"}"#).unwrap_err());
    assert_eq!((r.field, r.allowed.clone()), (Some("stage"), vec!["reopen"]));
    let r = refusal(patch(&won, r#"{"stage":"lost","lost_reason":"Changed mind"}"#).unwrap_err());
    assert_eq!(r.state, "won", "won → lost needs a reopen, and the reason is not the problem");
    let edited = patch(&won, r#"{"amount_minor":1200,"stage":"won"}"#).unwrap();
    assert_eq!((edited.amount_minor, edited.closed_at.as_deref()), (1200, Some(NOW)), "other fields stay editable");
    let later = OpportunityContext { now: "2026-04-01T00:00:00.000000Z", ..ctx() };
    assert_eq!(
        input(r#"{"stage":"won"}"#).apply(Some(&won), &later).unwrap().closed_at.as_deref(),
        Some(NOW),
        "staying keeps the close time"
    );

    let reopened = patch(&won, r#"{"stage":"negotiation","reopen":true}"#).unwrap();
    assert_eq!((reopened.status, reopened.stage.as_str(), reopened.closed_at.as_deref()), (Open, "negotiation", None));
    assert_eq!(fields(patch(&won, r#"{"reopen":true}"#).unwrap_err()), ["stage"]);
    assert_eq!(fields(patch(&won, r#"{"reopen":true,"stage":"lost","lost_reason":"x"}"#).unwrap_err()), ["stage"]);
    let r = refusal(patch(&open, r#"{"reopen":true,"stage":"proposal"}"#).unwrap_err());
    assert_eq!(r.field, Some("reopen"));

    assert_eq!(fields(patch(&moved, r#"{"stage":"lost"}"#).unwrap_err()), ["lost_reason"]);
    assert_eq!(fields(patch(&moved, r#"{"stage":"lost","lost_reason":null}"#).unwrap_err()), ["lost_reason"]);
    let lost = patch(&moved, r#"{"stage":"lost","lost_reason":"Went with a competitor"}"#).unwrap();
    assert_eq!((lost.status, lost.lost_reason.as_deref(), lost.closed_at.as_deref()), (Lost, Some("Went with a competitor"), Some(NOW)));
    assert_eq!(patch(&lost, r#"{"lost_reason":"Price"}"#).unwrap().lost_reason.as_deref(), Some("Price"), "the reason can be corrected");
    assert_eq!(fields(patch(&lost, r#"{"lost_reason":null}"#).unwrap_err()), ["lost_reason"], "but not removed");
    assert_eq!(fields(patch(&lost, r#"{"lost_reason":"  "}"#).unwrap_err()), ["lost_reason"]);
    let back = patch(&lost, r#"{"stage":"qualification","reopen":true}"#).unwrap();
    assert_eq!((back.status, back.lost_reason.as_deref()), (Open, None), "reopening drops the reason");
    assert_eq!(fields(patch(&moved, r#"{"lost_reason":"x"}"#).unwrap_err()), ["lost_reason"]);
    assert_eq!(fields(patch(&moved, r#"{"stage":"nope"}"#).unwrap_err()), ["stage"]);
    let e = patch(&won, r#"{"stage":"proposal","name":""}"#).unwrap_err();
    assert_eq!(fields(e), ["name"], "field errors are reported before a refusal");
}

#[test]
fn moving_to_another_pipeline() {
    let open = create(r#"{"name":"A","currency":"USD","stage":"proposal"}"#);
    let d = patch(&open, r#"{"pipeline_id":2}"#).unwrap();
    assert_eq!((d.pipeline_id, d.stage.as_str()), (Some(2), "due"), "the first open stage unless told");
    let d = patch(&open, r#"{"pipeline_id":2,"stage":"renewed"}"#).unwrap();
    assert_eq!(d.status, Won);
    assert_eq!(fields(patch(&open, r#"{"pipeline_id":2,"stage":"proposal"}"#).unwrap_err()), ["stage"]);
    assert_eq!(fields(patch(&open, r#"{"pipeline_id":7}"#).unwrap_err()), ["pipeline_id"]);
    let won = patch(&open, r#"{"stage":"won"}"#).unwrap();
    // "won" is a lost stage in pipeline 2: the same key in another pipeline is another stage.
    let r = refusal(patch(&won, r#"{"pipeline_id":2,"stage":"won","lost_reason":"x"}"#).unwrap_err());
    assert_eq!(r.allowed, ["reopen"]);
    let d = patch(&won, r#"{"pipeline_id":2,"stage":"due","reopen":true}"#).unwrap();
    assert_eq!((d.pipeline_id, d.status), (Some(2), Open));
    let same = patch(&open, r#"{"pipeline_id":1,"name":"B"}"#).unwrap();
    assert_eq!((same.stage.as_str(), same.name.as_str()), ("proposal", "B"));
}

#[test]
fn a_patch_that_does_not_move_needs_no_pipeline() {
    let open = create(r#"{"name":"A","currency":"USD"}"#);
    let gone = OpportunityContext { pipeline: &|_| None, ..ctx() };
    let d = input(r#"{"name":"B","stage":"qualification"}"#).apply(Some(&open), &gone).unwrap();
    assert_eq!(d.name, "B");
    assert!(input(r#"{"stage":"proposal"}"#).apply(Some(&open), &gone).is_err());
}

#[test]
fn patch_clears_nulls_and_keeps_absent_fields() {
    let d = create(
        r#"{"name":"A","currency":"USD","owner_id":3,"company_id":5,"campaign_id":6,"next_step":"Call","description":"D","expected_close_date":"2026-01-01"}"#,
    );
    let e = patch(
        &d,
        r#"{"owner_id":null,"company_id":null,"campaign_id":null,"next_step":null,"description":null,"expected_close_date":null}"#,
    )
    .unwrap();
    assert_eq!(
        (e.owner_id, e.company_id, e.campaign_id, e.next_step, e.description, e.expected_close_date),
        (None, None, None, None, None, None)
    );
    assert_eq!((e.name.as_str(), e.currency.as_str(), e.stage.as_str()), ("A", "USD", "qualification"));
    let e = patch(&d, r#"{"currency":"JPY","amount_minor":9007199254740992}"#).unwrap_err();
    assert_eq!(fields(e), ["amount_minor"]);
}

#[test]
fn stage_changes_are_recorded_from_before_and_after() {
    let d = create(r#"{"name":"A","currency":"USD"}"#);
    let first = StageChange::between(None, &d, "t0", Some(9)).unwrap();
    assert_eq!((first.from_stage, first.to_stage.as_str(), first.outcome, first.actor_id), (None, "qualification", Open, Some(9)));
    let renamed = patch(&d, r#"{"name":"B"}"#).unwrap();
    assert_eq!(StageChange::between(Some(&d), &renamed, "t1", None), None);
    let won = patch(&d, r#"{"stage":"won"}"#).unwrap();
    let c = StageChange::between(Some(&d), &won, "t2", None).unwrap();
    assert_eq!((c.from_stage.as_deref(), c.to_stage.as_str(), c.outcome, c.pipeline_id), (Some("qualification"), "won", Won, Some(1)));
    let mut other = d.clone();
    other.pipeline_id = Some(2);
    assert!(StageChange::between(Some(&d), &other, "t3", None).is_some(), "same key, another pipeline");
}

fn change(to: &str, outcome: StageOutcome, at: &str) -> StageChange {
    StageChange { pipeline_id: Some(1), from_stage: None, to_stage: to.into(), outcome, at: at.into(), actor_id: None }
}

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    instant(s).unwrap()
}

#[test]
fn time_in_stage_and_cycle_length_come_from_history() {
    let day = 86_400;
    let history = vec![
        change("qualification", Open, "2026-03-01T00:00:00Z"),
        change("proposal", Open, "2026-03-03T00:00:00Z"),
        change("qualification", Open, "2026-03-04T00:00:00Z"),
        change("won", Won, "2026-03-08T00:00:00Z"),
    ];
    let now = t("2026-03-20T00:00:00Z");
    let times = time_in_stages(&history, now);
    let got: Vec<(&str, i64, u32)> = times.iter().map(|s| (s.stage.as_str(), s.seconds, s.visits)).collect();
    assert_eq!(got, [("qualification", 6 * day, 2), ("proposal", day, 1), ("won", 0, 1)]);
    assert_eq!(cycle_length(&history), Some(7 * day));
    assert_eq!(time_in_current_stage(&history, now), Some(12 * day));

    // Out of order, with an unreadable entry and a reopen: sorted, skipped, measured to the
    // latest close, and the time a deal sat won before being reopened counts.
    let mut h = vec![
        change("won", Won, "2026-03-05T00:00:00Z"),
        change("qualification", Open, "2026-03-01T00:00:00Z"),
        change("proposal", Open, "not a time"),
        change("negotiation", Open, "2026-03-06T00:00:00Z"),
    ];
    assert_eq!(cycle_length(&h), None, "open again");
    let got: Vec<(String, i64)> = time_in_stages(&h, t("2026-03-07T00:00:00Z")).into_iter().map(|s| (s.stage, s.seconds)).collect();
    assert_eq!(got, [("qualification".to_string(), 4 * day), ("won".into(), day), ("negotiation".into(), day)]);
    h.push(change("lost", Lost, "2026-03-09T00:00:00Z"));
    assert_eq!(cycle_length(&h), Some(8 * day));

    assert_eq!(cycle_length(&[]), None);
    assert_eq!(time_in_current_stage(&[], now), None);
    assert!(time_in_stages(&[], now).is_empty());
    let skewed = [change("qualification", Open, "2026-03-21T00:00:00Z")];
    assert_eq!(time_in_stages(&skewed, now)[0].seconds, 0, "a future entry counts as 0, not negative");
}

#[test]
fn weighted_amounts_and_helpers() {
    let d = create(r#"{"name":"Deal Zoë","currency":"USD","amount_minor":1005,"next_step":"Call Ann"}"#);
    assert_eq!(d.weighted_amount_minor(50), 503, "502.5 rounds half away from zero");
    assert_eq!(d.weighted_amount_minor(150), 1005, "probability is capped at 100");
    assert_eq!(d.stage_in(&PipelineData::default_sales()).unwrap().probability, 10);
    assert_eq!(d.search_name(), "deal zoe call ann");
    let o = Opportunity {
        id: 1,
        data: d,
        customer_name: None,
        company_name: None,
        pipeline_name: Some("Sales".into()),
        stage_name: Some("Qualification".into()),
        probability: Some(10),
        stage_entered_at: Some(NOW.into()),
        created_at: NOW.into(),
        updated_at: NOW.into(),
        deleted_at: None,
        version: 1,
    };
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(
        (json["stage"].as_str(), json["status"].as_str(), json["probability"].as_i64()),
        (Some("qualification"), Some("open"), Some(10))
    );
    let t = o.tombstone();
    assert_eq!((t.data, t.stage_name, t.probability), (OpportunityData::default(), None, None));
}
