//! Targets (issue 9, §5): who sets them, who reads them, one per rep or team, period and
//! measure, and their attainment from won deals as far as the reader may see them.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;
use crate::opportunities::user_id;

/// A won deal owned by `owner`, closed on `closed` (created by the admin, who may assign).
pub async fn won(app: &TestApp, owner: i64, amount: i64, currency: &str, closed: &str) -> Value {
    let body = json!({"name": format!("Won {amount} {currency} {closed}"), "amount_minor": amount, "currency": currency,
        "stage": "won", "closed_at": closed, "owner_id": owner});
    let r = app.post("/api/v1/opportunities", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

/// A team of `members` with the given visibility; its id.
pub async fn team(app: &TestApp, name: &str, visibility: &str, members: &[i64]) -> i64 {
    let r = app.post("/api/v1/teams", json!({"name": name, "visibility": visibility, "member_ids": members})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

fn ids(page: &Value) -> Vec<i64> {
    let mut v: Vec<i64> = page["data"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn managers_set_targets_in_their_teams_and_reps_read_their_own_and_their_teams() {
    each_backend!(|app| {
        let manager = app.user_token("boss@example.com", Role::Manager).await;
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let other = app.user_token("other@example.com", Role::SalesRep).await;
        let (manager_id, rep_id, other_id) = (user_id(&app, &manager).await, user_id(&app, &rep).await, user_id(&app, &other).await);
        let east = team(&app, "East", "private", &[manager_id, rep_id]).await;
        let west = team(&app, "West", "private", &[other_id]).await;

        let body = |whom: Value| {
            let mut b = json!({"period": "2026-q3", "amount_minor": 5_000_000, "currency": "usd", "measure": "won_opportunities"});
            b.as_object_mut().unwrap().extend(whom.as_object().unwrap().clone());
            b
        };
        let r = app.call(Method::POST, "/api/v1/targets", Some(&rep), Some(body(json!({"user_id": rep_id}))), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "reps do not set targets: {}", r.body);
        let mine = app.call(Method::POST, "/api/v1/targets", Some(&manager), Some(body(json!({"user_id": rep_id}))), &[]).await;
        assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.body);
        assert_eq!(mine.header("location"), format!("/api/v1/targets/{}", mine.body["id"]));
        assert_eq!(
            (&mine.body["period"], &mine.body["currency"], &mine.body["starts_on"], &mine.body["ends_on"]),
            (&json!("2026-Q3"), &json!("USD"), &json!("2026-07-01"), &json!("2026-09-30"))
        );
        let east_t = app.call(Method::POST, "/api/v1/targets", Some(&manager), Some(body(json!({"team_id": east}))), &[]).await;
        assert_eq!(east_t.status, StatusCode::CREATED, "{}", east_t.body);
        // Outside the manager's teams: refused, naming the field, and nothing is left behind.
        for (whom, field) in [(json!({"user_id": other_id}), "user_id"), (json!({"team_id": west}), "team_id")] {
            let r = app.call(Method::POST, "/api/v1/targets", Some(&manager), Some(body(whom)), &[]).await;
            assert_eq!((r.status, r.error_fields()), (StatusCode::FORBIDDEN, vec![field.to_string()]), "{}", r.body);
        }
        // The admin sets any.
        let theirs = app.post("/api/v1/targets", body(json!({"user_id": other_id}))).await;
        assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
        let west_t = app.post("/api/v1/targets", body(json!({"team_id": west}))).await;
        assert_eq!(west_t.status, StatusCode::CREATED, "{}", west_t.body);
        let all = app.get("/api/v1/targets").await;
        assert_eq!(ids(&all.body).len(), 4, "the failed creates left nothing: {}", all.body);

        let id = |r: &crate::helpers::Res| r.body["id"].as_i64().unwrap();
        let mut expect_rep = vec![id(&mine), id(&east_t)];
        expect_rep.sort();
        assert_eq!(ids(&app.get_as(&rep, "/api/v1/targets").await.body), expect_rep);
        assert_eq!(ids(&app.get_as(&manager, "/api/v1/targets").await.body), expect_rep);
        let mut expect_other = vec![id(&theirs), id(&west_t)];
        expect_other.sort();
        assert_eq!(ids(&app.get_as(&other, "/api/v1/targets").await.body), expect_other);
        let r = app.get_as(&rep, format!("/api/v1/targets/{}", id(&theirs))).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "another rep's target is out of reach");
        let filtered = app.get(&format!("/api/v1/targets?team_id={east}")).await;
        assert_eq!(ids(&filtered.body), [id(&east_t)]);

        // One per rep (or team), period and measure.
        let dup = app.call(Method::POST, "/api/v1/targets", Some(&manager), Some(body(json!({"user_id": rep_id}))), &[]).await;
        assert_eq!((dup.status, dup.error_fields()), (StatusCode::CONFLICT, vec!["period".to_string()]), "{}", dup.body);
        let dup = app.post("/api/v1/targets", body(json!({"team_id": east}))).await;
        assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.body);
        let paid = app
            .post(
                "/api/v1/targets",
                json!({"user_id": rep_id, "period": "2026-Q3", "amount_minor": 100, "currency": "USD", "measure": "paid_orders"}),
            )
            .await;
        assert_eq!(paid.status, StatusCode::CREATED, "another measure is another target: {}", paid.body);

        // Wrong input names its fields.
        let r = app
            .post("/api/v1/targets", json!({"user_id": rep_id, "team_id": east, "period": "2026-Q5", "amount_minor": 0, "currency": "ZZZ"}))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["user_id", "period", "amount_minor", "currency", "measure"]);
        let r = app.post("/api/v1/targets", body(json!({"team_id": 999_999}))).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["team_id".to_string()]));
        let r = app.post("/api/v1/targets", body(json!({"user_id": 999_999}))).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["user_id".to_string()]));

        // Versioned edits; a period change moves the days.
        let path = format!("/api/v1/targets/{}", id(&mine));
        let r = app.call(Method::PATCH, &path, Some(&manager), Some(json!({"period": "2026-08"})), &[("if-match", "1")]).await;
        assert_eq!((r.status, &r.body["starts_on"], &r.body["ends_on"]), (StatusCode::OK, &json!("2026-08-01"), &json!("2026-08-31")));
        let r = app.call(Method::PATCH, &path, Some(&manager), Some(json!({"amount_minor": 7})), &[("if-match", "1")]).await;
        assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
        let r = app.call(Method::PATCH, &path, Some(&rep), Some(json!({"amount_minor": 7})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app.call(Method::PATCH, &path, Some(&manager), Some(json!({"user_id": other_id})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "nor moved out of the manager's teams");
        assert_eq!(app.get(&path).await.body["user_id"], rep_id, "the refused move left it as it was");
        let r = app.call(Method::DELETE, &path, Some(&manager), None, &[("if-match", "2")]).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn attainment_counts_won_deals_of_the_period_currency_and_reach() {
    each_backend!(|app| {
        let manager = app.user_token("boss@example.com", Role::Manager).await;
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let mate = app.user_token("mate@example.com", Role::SalesRep).await;
        let (manager_id, rep_id, mate_id) = (user_id(&app, &manager).await, user_id(&app, &rep).await, user_id(&app, &mate).await);
        let east = team(&app, "East", "private", &[manager_id, rep_id, mate_id]).await;
        // The rep's deals: two in July (USD), one in EUR, one the day after the quarter, one lost.
        let deals = [
            (rep_id, 300_000, "USD", "2026-07-01T00:00:00Z"),
            (rep_id, 150_000, "USD", "2026-09-30T23:59:59Z"),
            (rep_id, 999_000, "EUR", "2026-08-15"),
            (rep_id, 777_000, "USD", "2026-10-01"),
            (mate_id, 50_000, "USD", "2026-07-20"),
        ];
        for (owner, amount, currency, closed) in deals {
            won(&app, owner, amount, currency, closed).await;
        }
        let lost = json!({"name": "Lost", "amount_minor": 1_000_000, "currency": "USD", "stage": "lost", "lost_reason": "Budget",
            "closed_at": "2026-08-01", "owner_id": rep_id});
        assert_eq!(app.post("/api/v1/opportunities", lost).await.status, StatusCode::CREATED);
        let q3 = |whom: Value| {
            let mut b = json!({"period": "2026-Q3", "amount_minor": 1_000_000, "currency": "USD", "measure": "won_opportunities"});
            b.as_object_mut().unwrap().extend(whom.as_object().unwrap().clone());
            b
        };
        let mine = app.post("/api/v1/targets", q3(json!({"user_id": rep_id}))).await.body;
        let theirs = app.post("/api/v1/targets", q3(json!({"team_id": east}))).await.body;
        // Expected from the rows above: in Q3, USD, won.
        let in_q3 = |owner: i64| {
            deals
                .iter()
                .filter(|(o, _, c, d)| *o == owner && *c == "USD" && d.starts_with("2026-0") && !d.starts_with("2026-10"))
                .map(|d| d.1)
                .sum::<i64>()
        };
        let rep_usd = in_q3(rep_id);
        assert_eq!(rep_usd, 450_000);
        let t = app.get(&format!("/api/v1/targets/{}", mine["id"])).await.body;
        assert_eq!(
            (&t["achieved_minor"], &t["counted"], &t["other_currency"], &t["percent_bp"]),
            (&json!(rep_usd), &json!(2), &json!(1), &json!(rep_usd * 10_000 / 1_000_000)),
            "{t}"
        );
        let team_usd = rep_usd + in_q3(mate_id);
        let t = app.get(&format!("/api/v1/targets/{}", theirs["id"])).await.body;
        assert_eq!((&t["achieved_minor"], &t["counted"]), (&json!(team_usd), &json!(3)), "{t}");
        // The manager (team visibility) sees all the team's deals; the rep, in a private team,
        // only their own: the team's attainment counts what each may see.
        let as_manager = app.get_as(&manager, format!("/api/v1/targets/{}", theirs["id"])).await.body;
        assert_eq!(as_manager["achieved_minor"], team_usd);
        let as_rep = app.get_as(&rep, format!("/api/v1/targets/{}", theirs["id"])).await.body;
        assert_eq!((&as_rep["achieved_minor"], &as_rep["counted"]), (&json!(rep_usd), &json!(2)), "{as_rep}");
        let listed = app.get_as(&rep, "/api/v1/targets?period=2026-Q3").await.body;
        let row = listed["data"].as_array().unwrap().iter().find(|r| r["id"] == theirs["id"]).unwrap().clone();
        assert_eq!(row["achieved_minor"], rep_usd, "lists count the same");
        // Reopening a won deal takes it out.
        let july = app.get(&format!("/api/v1/opportunities?owner_id={rep_id}&amount_minor=300000")).await.body;
        let deal = &july["data"][0];
        let r = app.patch(&format!("/api/v1/opportunities/{}", deal["id"]), json!({"stage": "proposal", "reopen": true}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let t = app.get(&format!("/api/v1/targets/{}", mine["id"])).await.body;
        assert_eq!((&t["achieved_minor"], &t["counted"]), (&json!(150_000), &json!(1)));
        // A paid-orders target counts paid orders, not deals: none here.
        let paid = app
            .post(
                "/api/v1/targets",
                json!({"user_id": rep_id, "period": "2026-Q3", "amount_minor": 1, "currency": "USD", "measure": "paid_orders"}),
            )
            .await
            .body;
        assert_eq!((&paid["achieved_minor"], &paid["counted"]), (&json!(0), &json!(0)), "orders count, not deals: {paid}");
    });
}
