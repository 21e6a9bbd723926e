use serde_json::json;

use super::*;

fn agent(user_id: i64, open: i64) -> AgentLoad {
    AgentLoad { user_id, name: format!("agent {user_id}"), agent: true, away: false, active: true, open }
}

#[test]
fn round_robin_goes_in_id_order_after_the_last_one_served_and_wraps() {
    let team = [agent(7, 0), agent(3, 5), agent(5, 1)];
    let rr = |last| pick(AssignmentMode::RoundRobin, &team, None, last);
    assert_eq!(rr(None), Some(3));
    assert_eq!(rr(Some(3)), Some(5));
    assert_eq!(rr(Some(5)), Some(7));
    assert_eq!(rr(Some(7)), Some(3), "wraps to the first");
    assert_eq!(rr(Some(4)), Some(5), "a last agent who left the team resumes after their id");
}

#[test]
fn least_open_takes_the_lightest_and_breaks_ties_in_turn_order() {
    let team = [agent(1, 4), agent(2, 2), agent(3, 2), agent(4, 9)];
    assert_eq!(pick(AssignmentMode::LeastOpen, &team, None, None), Some(2));
    assert_eq!(pick(AssignmentMode::LeastOpen, &team, None, Some(2)), Some(3), "tie: the next in turn");
    assert_eq!(pick(AssignmentMode::LeastOpen, &team, None, Some(3)), Some(2));
}

#[test]
fn away_inactive_non_agents_and_full_agents_are_skipped() {
    let mut team = vec![agent(1, 0), agent(2, 0), agent(3, 0), agent(4, 3), agent(5, 2)];
    team[0].away = true;
    team[1].active = false;
    team[2].agent = false;
    assert_eq!(pick(AssignmentMode::RoundRobin, &team, Some(3), None), Some(5), "4 holds the cap of 3");
    assert_eq!(pick(AssignmentMode::LeastOpen, &team, Some(2), None), None, "everyone eligible is full");
    assert_eq!(pick(AssignmentMode::Manual, &team, None, None), None, "manual teams never pick");
}

#[test]
fn bulk_assignments_name_each_bad_field() {
    let ok = BulkAssign::parse(&json!({"ids": [3, 1], "assignee": "auto"})).unwrap();
    assert_eq!(ok, BulkAssign { ids: vec![3, 1], assignee: Assignee::Auto });
    assert_eq!(BulkAssign::parse(&json!({"ids": [1], "assignee": null})).unwrap().assignee, Assignee::Nobody);
    assert_eq!(BulkAssign::parse(&json!({"ids": [1], "assignee": 9})).unwrap().assignee, Assignee::User(9));
    let fields = |v| BulkAssign::parse(&v).unwrap_err().0.into_iter().map(|e| e.field).collect::<Vec<_>>();
    assert_eq!(fields(json!({"ids": []})), ["ids", "assignee"]);
    assert_eq!(fields(json!({"ids": [1, "x", 1], "assignee": "bob"})), ["ids[1]", "ids[2]", "assignee"]);
    assert_eq!(fields(json!({"ids": [1], "assignee": 2, "owner": 3})), ["owner"]);
}

#[test]
fn queue_filters_leave_the_other_pairs_to_the_list() {
    let mut pairs = vec![("assignee".to_string(), "me".to_string()), ("status".into(), "new".into()), ("queue".into(), "team".into())];
    let f = QueueFilter::take(&mut pairs, Some(4)).unwrap();
    assert_eq!(f, QueueFilter { assignee: Some(Assignee::User(4)), my_teams: true });
    assert_eq!(pairs, [("status".to_string(), "new".to_string())]);
    let mut bad = vec![("assignee".to_string(), "them".to_string()), ("queue".into(), "x".into())];
    let fields: Vec<String> = QueueFilter::take(&mut bad, Some(4)).unwrap_err().0.into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["assignee", "queue"]);
    let mut none = vec![("assignee".to_string(), "unassigned".to_string())];
    assert_eq!(QueueFilter::take(&mut none, None).unwrap().assignee, Some(Assignee::Nobody));
}

#[test]
fn caps_are_bounded() {
    let input = |n| TeamAssignmentInput { mode: None, max_open_per_agent: Some(n) };
    assert!(input(Some(0)).validate().is_err());
    assert!(input(Some(10)).validate().is_ok());
    assert!(input(None).validate().is_ok());
}
