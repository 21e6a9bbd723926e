//! Sales reports (issue 9, §5): each compared with totals this test computes from the deals it
//! made, with the period, owner, team and pipeline filters, record visibility and CSV.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;
use crate::opportunities::user_id;
use crate::targets::team;

/// A deal as this test made it.
#[derive(Clone, Debug)]
struct Deal {
    id: i64,
    owner: Option<i64>,
    pipeline: i64,
    stage: String,
    outcome: &'static str,
    amount: i64,
    currency: &'static str,
    expected: Option<&'static str>,
    closed: Option<&'static str>,
}

/// The people and deals every report test reads.
struct World {
    rep: String,
    rep_id: i64,
    mate_id: i64,
    west: i64,
    renewals: i64,
    deals: Vec<Deal>,
    /// (pipeline, stage key) → (position, probability, outcome).
    stages: BTreeMap<(i64, String), (i64, i64, String)>,
}

/// Creates a deal as the admin; `days` are its expected close day and its close time.
async fn make(
    app: &TestApp,
    owner: Option<i64>,
    pipeline: i64,
    stage: &str,
    amount: i64,
    currency: &'static str,
    days: (Option<&'static str>, Option<&'static str>),
) -> Deal {
    let (expected, closed) = days;
    let mut body = json!({"name": format!("{stage} {amount}"), "amount_minor": amount, "currency": currency, "pipeline_id": pipeline,
        "stage": stage, "owner_id": owner, "expected_close_date": expected});
    if let Some(c) = closed {
        body["closed_at"] = json!(c);
    }
    if stage == "lost" || stage == "churned" {
        body["lost_reason"] = json!("Budget");
    }
    let r = app.post("/api/v1/opportunities", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let outcome = match r.body["status"].as_str().unwrap() {
        "won" => "won",
        "lost" => "lost",
        _ => "open",
    };
    Deal { id: r.body["id"].as_i64().unwrap(), owner, pipeline, stage: stage.into(), outcome, amount, currency, expected, closed }
}

async fn world(app: &TestApp) -> World {
    let rep = app.user_token("rep@example.com", Role::SalesRep).await;
    let mate = app.user_token("mate@example.com", Role::SalesRep).await;
    let (rep_id, mate_id) = (user_id(app, &rep).await, user_id(app, &mate).await);
    team(app, "East", "private", &[rep_id]).await;
    let west = team(app, "West", "private", &[mate_id]).await;
    let p = app
        .post(
            "/api/v1/pipelines",
            json!({"name": "Renewals", "stages": [{"name": "Due", "probability": 60}, {"name": "Quoted", "probability": 80},
            {"name": "Renewed", "outcome": "won"}, {"name": "Churned", "outcome": "lost"}]}),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let renewals = p.body["id"].as_i64().unwrap();
    let mut stages = BTreeMap::new();
    for pid in [1, renewals] {
        let p = app.get(&format!("/api/v1/pipelines/{pid}")).await.body;
        for (i, s) in p["stages"].as_array().unwrap().iter().enumerate() {
            let key = s["key"].as_str().unwrap().to_string();
            stages.insert((pid, key), (i as i64, s["probability"].as_i64().unwrap(), s["outcome"].as_str().unwrap().to_string()));
        }
    }
    let (r, m) = (Some(rep_id), Some(mate_id));
    let mut deals = vec![
        make(app, r, 1, "qualification", 100_000, "USD", (Some("2099-02-10"), None)).await,
        make(app, r, 1, "proposal", 250_000, "USD", (Some("2099-03-31"), None)).await,
        make(app, r, 1, "proposal", 40_000, "EUR", (Some("2099-01-05"), None)).await,
        make(app, m, 1, "proposal", 70_000, "USD", (Some("2099-04-01"), None)).await,
        make(app, m, 1, "negotiation", 333_333, "USD", (None, None)).await,
        make(app, None, 1, "qualification", 15_000, "USD", (Some("2099-02-01"), None)).await,
        make(app, m, renewals, "due", 90_000, "USD", (Some("2099-03-01"), None)).await,
        make(app, r, renewals, "quoted", 11_111, "USD", (Some("2099-02-20"), None)).await,
        // Closed ones, in 2099-Q1 unless said (the future, so that creation comes before).
        make(app, r, 1, "won", 500_000, "USD", (None, Some("2099-01-15T10:00:00Z"))).await,
        make(app, r, 1, "won", 120_000, "EUR", (None, Some("2099-03-31T23:59:59Z"))).await,
        make(app, r, 1, "lost", 80_000, "USD", (None, Some("2099-02-02"))).await,
        make(app, m, 1, "won", 200_000, "USD", (None, Some("2099-02-14"))).await,
        make(app, m, 1, "lost", 60_000, "USD", (None, Some("2099-03-03"))).await,
        make(app, m, 1, "lost", 10_000, "USD", (None, Some("2099-03-04"))).await,
        make(app, m, 1, "won", 999_999, "USD", (None, Some("2099-04-01"))).await,
        make(app, None, 1, "won", 30_000, "USD", (None, Some("2099-01-20"))).await,
        make(app, m, renewals, "renewed", 45_000, "USD", (None, Some("2099-02-25"))).await,
        make(app, r, renewals, "churned", 5_000, "USD", (None, Some("2099-03-10"))).await,
    ];
    // A deal that moves: qualification → negotiation → lost (the funnel counts how far it got).
    let mut moved = make(app, r, 1, "qualification", 20_000, "USD", (None, None)).await;
    let path = format!("/api/v1/opportunities/{}", moved.id);
    assert_eq!(app.patch(&path, json!({"stage": "negotiation"}), None).await.status, StatusCode::OK);
    let res = app.patch(&path, json!({"stage": "lost", "lost_reason": "Timing"}), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    moved.stage = "lost".into();
    moved.outcome = "lost";
    moved.closed = None; // closed now: outside 2099
    deals.push(moved);
    // A deleted deal counts nowhere.
    let gone = make(app, r, 1, "won", 1_000_000, "USD", (Some("2099-02-01"), Some("2099-02-01"))).await;
    let r = app.call(Method::DELETE, &format!("/api/v1/opportunities/{}", gone.id), Some(&app.token), None, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    World { rep, rep_id, mate_id, west, renewals, deals, stages }
}

/// `rows` of a report as `token` sees it, asserting a 200.
async fn rows(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let r = app.get_as(token, path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body["rows"].as_array().unwrap().clone()
}

/// Leaderboard cells: (rep, currency) → (deals won, amount won, target, attainment).
type Board = BTreeMap<(i64, String), (i64, i64, Option<i64>, Option<i64>)>;

fn in_span(day: Option<&str>, from: &str, to: &str) -> bool {
    day.is_some_and(|d| d[..10] >= *from && d[..10] <= *to)
}

#[tokio::test]
async fn pipeline_by_stage_sums_per_stage_and_currency_within_filters_and_reach() {
    each_backend!(|app| {
        let w = world(&app).await;
        // Expected: (pipeline, stage, currency) → (count, amount), from the deals made.
        let expect = |keep: &dyn Fn(&Deal) -> bool| {
            let mut m: BTreeMap<(i64, String, String), (i64, i64)> = BTreeMap::new();
            for d in w.deals.iter().filter(|d| keep(d)) {
                let e = m.entry((d.pipeline, d.stage.clone(), d.currency.to_string())).or_default();
                e.0 += 1;
                e.1 += d.amount;
            }
            m
        };
        let got = |rows: &[Value]| -> BTreeMap<(i64, String, String), (i64, i64)> {
            rows.iter()
                .map(|r| {
                    let key = (
                        r["pipeline_id"].as_i64().unwrap(),
                        r["stage"].as_str().unwrap().to_string(),
                        r["currency"].as_str().unwrap().to_string(),
                    );
                    let (_, probability, _) = &w.stages[&(key.0, key.1.clone())];
                    let amount = r["amount_minor"].as_i64().unwrap();
                    assert_eq!(r["probability"], *probability);
                    // Weighted by the stage's probability, half away from zero.
                    assert_eq!(r["weighted_minor"].as_i64().unwrap(), (amount * probability + 50) / 100, "{r}");
                    (key, (r["count"].as_i64().unwrap(), amount))
                })
                .collect()
        };
        let all = rows(&app, &app.token, "/api/v1/reports/pipeline").await;
        assert_eq!(got(&all), expect(&|_| true));
        let proposal = all.iter().find(|r| r["stage"] == "proposal" && r["currency"] == "USD").unwrap();
        assert_eq!(
            (&proposal["stage_name"], &proposal["pipeline_name"], &proposal["outcome"]),
            (&json!("Proposal"), &json!("Sales"), &json!("open"))
        );
        let q1 = rows(&app, &app.token, "/api/v1/reports/pipeline?period=2099-Q1").await;
        assert_eq!(got(&q1), expect(&|d| in_span(d.expected, "2099-01-01", "2099-03-31")));
        let span = rows(&app, &app.token, "/api/v1/reports/pipeline?from=2099-02-01&to=2099-02-28&pipeline_id=1").await;
        assert_eq!(got(&span), expect(&|d| d.pipeline == 1 && in_span(d.expected, "2099-02-01", "2099-02-28")));
        let mine = rows(&app, &app.token, &format!("/api/v1/reports/pipeline?owner_id={}", w.rep_id)).await;
        assert_eq!(got(&mine), expect(&|d| d.owner == Some(w.rep_id)));
        let west = rows(&app, &app.token, &format!("/api/v1/reports/pipeline?team_id={}&pipeline_id={}", w.west, w.renewals)).await;
        assert_eq!(got(&west), expect(&|d| d.owner == Some(w.mate_id) && d.pipeline == w.renewals));
        assert!(!west.is_empty());
        // The rep (own visibility, private team) counts only their own deals and unowned ones.
        let as_rep = rows(&app, &w.rep, "/api/v1/reports/pipeline").await;
        assert_eq!(got(&as_rep), expect(&|d| d.owner.is_none() || d.owner == Some(w.rep_id)));
    });
}

#[tokio::test]
async fn win_rate_cycle_and_funnel_count_the_closed_deals_and_their_history() {
    each_backend!(|app| {
        let w = world(&app).await;
        let q1 = |d: &&Deal| in_span(d.closed, "2099-01-01", "2099-03-31");
        // Win rate per owner in 2099-Q1.
        let mut expect: BTreeMap<Option<i64>, (i64, i64)> = BTreeMap::new();
        for d in w.deals.iter().filter(q1) {
            let e = expect.entry(d.owner).or_default();
            if d.outcome == "won" { e.0 += 1 } else { e.1 += 1 }
        }
        let got = rows(&app, &app.token, "/api/v1/reports/win_rate?period=2099-Q1").await;
        let (last, owners) = got.split_last().unwrap();
        let seen: BTreeMap<Option<i64>, (i64, i64)> =
            owners.iter().map(|r| (r["owner_id"].as_i64(), (r["won"].as_i64().unwrap(), r["lost"].as_i64().unwrap()))).collect();
        assert_eq!(seen, expect);
        let (won, lost) = expect.values().fold((0, 0), |t, c| (t.0 + c.0, t.1 + c.1));
        assert_eq!((&last["owner_name"], &last["won"], &last["lost"]), (&json!("All"), &json!(won), &json!(lost)));
        assert_eq!(last["win_rate_bp"], won * 10_000 / (won + lost));
        let rep_row = owners.iter().find(|r| r["owner_id"] == w.rep_id).unwrap();
        let me = app.get_as(&w.rep, "/api/v1/users/me").await.body;
        assert_eq!(rep_row["owner_name"], me["name"]);
        let (rw, rl) = expect[&Some(w.rep_id)];
        assert_eq!(rep_row["win_rate_bp"], rw * 10_000 / (rw + rl));
        // The rep sees their own and unowned deals only.
        let as_rep = rows(&app, &w.rep, "/api/v1/reports/win_rate?period=2099-Q1").await;
        let owners_seen: Vec<Option<i64>> = as_rep[..as_rep.len() - 1].iter().map(|r| r["owner_id"].as_i64()).collect();
        assert!(owners_seen.iter().all(|o| o.is_none() || *o == Some(w.rep_id)), "{as_rep:?}");
        let west = rows(&app, &app.token, &format!("/api/v1/reports/win_rate?period=2099-Q1&team_id={}", w.west)).await;
        assert_eq!(west.len(), 2, "the mate, then the total: {west:?}");
        assert_eq!((&west[1]["won"], &west[1]["lost"]), (&json!(expect[&Some(w.mate_id)].0), &json!(expect[&Some(w.mate_id)].1)));

        // Cycle length: from the first history entry to the close, per outcome.
        let mut secs: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for d in w.deals.iter().filter(q1).filter(|d| d.pipeline == 1) {
            let h = app.get(&format!("/api/v1/opportunities/{}/history", d.id)).await.body;
            let start = chrono::DateTime::parse_from_rfc3339(h["changes"][0]["at"].as_str().unwrap()).unwrap();
            let closed = app.get(&format!("/api/v1/opportunities/{}", d.id)).await.body["closed_at"].as_str().unwrap().to_string();
            let end = chrono::DateTime::parse_from_rfc3339(&closed).unwrap();
            let micros = (end - start).num_microseconds().unwrap();
            secs.entry(d.outcome).or_default().push((micros as f64 / 1e6).round() as i64);
        }
        let got = rows(&app, &app.token, "/api/v1/reports/cycle_length?period=2099-Q1&pipeline_id=1").await;
        let avg = |v: &[i64]| v.iter().sum::<i64>() / v.len() as i64;
        let both: Vec<i64> = secs.values().flatten().copied().collect();
        for (row, outcome, expected) in [(&got[0], "won", &secs["won"]), (&got[1], "lost", &secs["lost"]), (&got[2], "all", &both)] {
            assert_eq!((&row["outcome"], &row["count"]), (&json!(outcome), &json!(expected.len())));
            let a = row["average_seconds"].as_i64().unwrap();
            assert!((a - avg(expected)).abs() <= 1, "{outcome}: {a} vs {}", avg(expected));
            assert!((row["average_days"].as_f64().unwrap() - a as f64 / 86_400.0).abs() <= 0.05);
        }
        let none = rows(&app, &app.token, "/api/v1/reports/cycle_length?period=2098-01").await;
        assert_eq!((&none[2]["count"], &none[2]["average_seconds"]), (&json!(0), &Value::Null));

        // Funnel of pipeline 1: how far each deal got by its history (lost stages are exits).
        let steps: Vec<(String, i64)> =
            w.stages.iter().filter(|((p, _), (_, _, o))| *p == 1 && o != "lost").map(|((_, k), (pos, _, _))| (k.clone(), *pos)).collect();
        let mut furthest = vec![];
        for d in w.deals.iter().filter(|d| d.pipeline == 1) {
            let h = app.get(&format!("/api/v1/opportunities/{}/history", d.id)).await.body;
            let top = h["changes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| {
                    let (pos, _, o) = &w.stages[&(1, c["to_stage"].as_str().unwrap().to_string())];
                    (o != "lost").then_some(*pos)
                })
                .max();
            furthest.extend(top);
        }
        let got = rows(&app, &app.token, "/api/v1/reports/funnel?pipeline_id=1").await;
        let mut by_pos = steps.clone();
        by_pos.sort_by_key(|s| s.1);
        assert_eq!(got.len(), by_pos.len());
        let reached: Vec<i64> = by_pos.iter().map(|(_, pos)| furthest.iter().filter(|t| **t >= *pos).count() as i64).collect();
        for (i, row) in got.iter().enumerate() {
            assert_eq!((&row["stage"], &row["reached"]), (&json!(by_pos[i].0), &json!(reached[i])), "{row}");
            let next = reached.get(i + 1).filter(|_| reached[i] > 0).map(|n| n * 10_000 / reached[i]);
            assert_eq!(row["to_next_bp"].as_i64(), next, "{row}");
        }
        assert_eq!(reached[3], 7, "negotiation: the open deal there, the one moved through it, and the five won");
        let later = rows(&app, &app.token, "/api/v1/reports/funnel?pipeline_id=1&period=2098-01").await;
        assert!(later.iter().all(|r| r["reached"] == 0), "created in another span: {later:?}");
    });
}

#[tokio::test]
async fn leaderboard_ranks_reps_against_their_targets_and_reports_come_as_csv() {
    each_backend!(|app| {
        let w = world(&app).await;
        for (user, period, amount, currency) in [
            (w.rep_id, "2099-01", 300_000, "USD"),
            (w.rep_id, "2099-02", 400_000, "USD"),
            (w.rep_id, "2099-Q2", 9_000_000, "USD"),
            (w.mate_id, "2099-Q1", 100_000, "USD"),
        ] {
            let r = app.post("/api/v1/targets", json!({"user_id": user, "period": period, "amount_minor": amount, "currency": currency, "measure": "won_opportunities"})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        // Won in Q1 per (owner, currency).
        let mut won: BTreeMap<(i64, String), (i64, i64)> = BTreeMap::new();
        for d in w.deals.iter().filter(|d| d.outcome == "won" && d.owner.is_some() && in_span(d.closed, "2099-01-01", "2099-03-31")) {
            let e = won.entry((d.owner.unwrap(), d.currency.to_string())).or_default();
            e.0 += 1;
            e.1 += d.amount;
        }
        let targets: BTreeMap<(i64, String), i64> =
            [((w.rep_id, "USD".to_string()), 700_000), ((w.mate_id, "USD".to_string()), 100_000)].into();
        let got = rows(&app, &app.token, "/api/v1/reports/leaderboard?period=2099-Q1").await;
        let seen: Board = got
            .iter()
            .map(|r| {
                let key = (r["user_id"].as_i64().unwrap(), r["currency"].as_str().unwrap().to_string());
                (
                    key,
                    (
                        r["deals_won"].as_i64().unwrap(),
                        r["won_minor"].as_i64().unwrap(),
                        r["target_minor"].as_i64(),
                        r["attainment_bp"].as_i64(),
                    ),
                )
            })
            .collect();
        let mut expect = Board::new();
        for key in won.keys().chain(targets.keys()) {
            let (n, amount) = won.get(key).copied().unwrap_or((0, 0));
            let t = targets.get(key).copied();
            expect.insert(key.clone(), (n, amount, t, t.map(|t| amount * 10_000 / t)));
        }
        assert_eq!(seen, expect);
        // Best attainment first; the rep's EUR row has no target, so it is last.
        let order: Vec<Option<i64>> = got.iter().map(|r| r["attainment_bp"].as_i64()).collect();
        let mate_bp = won[&(w.mate_id, "USD".to_string())].1 * 10_000 / 100_000;
        assert!(mate_bp > 10_000, "the mate passed their target");
        assert_eq!(order, [Some(mate_bp), Some(500_000 * 10_000 / 700_000), None]);
        assert_eq!(got[2]["currency"], "EUR");
        let rep_only = rows(&app, &w.rep, "/api/v1/reports/leaderboard?period=2099-Q1").await;
        assert!(rep_only.iter().all(|r| r["user_id"] == w.rep_id), "the rep sees only their own deals and targets: {rep_only:?}");
        assert_eq!(rep_only.len(), 2);
        let west = rows(&app, &app.token, &format!("/api/v1/reports/leaderboard?period=2099-Q1&team_id={}", w.west)).await;
        assert_eq!(west.iter().map(|r| r["user_id"].as_i64().unwrap()).collect::<Vec<_>>(), [w.mate_id]);

        // CSV: a header row, then the JSON rows' values in the same columns.
        for (path, headers) in [
            ("/api/v1/reports/leaderboard?period=2099-Q1&format=csv", vec![]),
            ("/api/v1/reports/leaderboard?period=2099-Q1", vec![("accept", "text/csv")]),
        ] {
            let r = app.call(Method::GET, path, Some(&app.token), None, &headers).await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(r.header("content-type").starts_with("text/csv"), "{}", r.header("content-type"));
            let text = r.body.as_str().unwrap().to_string();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines[0], "user_id,name,currency,deals_won,won_minor,target_minor,attainment_bp");
            assert_eq!(lines.len(), got.len() + 1);
            for (line, row) in lines[1..].iter().zip(&got) {
                let cell = |k: &str| match &row[k] {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                let expected: Vec<String> = lines[0].split(',').map(cell).collect();
                assert_eq!(*line, expected.join(","));
            }
        }
        for report in ["pipeline", "win_rate", "cycle_length", "funnel", "leaderboard"] {
            let r =
                app.call(Method::GET, &format!("/api/v1/reports/{report}?format=csv&period=2098-07"), Some(&app.token), None, &[]).await;
            assert_eq!(r.status, StatusCode::OK, "{report}");
            assert!(r.body.as_str().unwrap().lines().next().unwrap().contains(','), "{report}: a header row even when empty");
            let json = app.get(&format!("/api/v1/reports/{report}?period=2098-07")).await;
            assert_eq!((&json.body["from"], &json.body["to"]), (&json!("2098-07-01"), &json!("2098-07-31")), "{report}");
        }
        // Bad filters are named.
        for (q, field) in [
            ("period=2099-Q5", "period"),
            ("from=2099-02-30", "from"),
            ("period=2099-01&to=2099-01-31", "period"),
            ("from=2099-03-01&to=2099-02-01", "to"),
            ("owner=4", "owner"),
            ("format=xml", "format"),
            ("team_id=x", "team_id"),
        ] {
            let r = app.get(&format!("/api/v1/reports/win_rate?{q}")).await;
            assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec![field.to_string()]), "{q}: {}", r.body);
        }
        let viewer = app.user_token("viewer@example.com", Role::Viewer).await;
        assert_eq!(app.get_as(&viewer, "/api/v1/reports/leaderboard").await.status, StatusCode::OK, "viewers read reports");
    });
}

#[tokio::test]
async fn monthly_sales_sum_paid_orders_net_of_discounts_and_tax_per_month_and_currency() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let mate = app.user_token("mate@example.com", Role::SalesRep).await;
        let (rep_id, mate_id) = (user_id(&app, &rep).await, user_id(&app, &mate).await);
        let west = team(&app, "West", "private", &[mate_id]).await;
        let usd = app.product("U", "Widget", 1_999, "USD").await;
        let eur = app.product("E", "Gadget", 5_000, "EUR").await;
        let people: Vec<Value> = [("Ann", Some(rep_id)), ("Bob", Some(rep_id)), ("Cy", Some(mate_id)), ("Di", None)]
            .iter()
            .map(|(n, o)| json!({"name": n, "owner_id": o}))
            .collect();
        let mut customers = vec![];
        for p in people {
            customers.push(app.customer(p).await);
        }
        // (customer, product, quantity, discount_minor, day, status): net = quantity × price − discount.
        let orders = [
            (0, &usd, 3, 500, "2099-01-05", "paid"),
            (0, &usd, 1, 0, "2099-01-20", "paid"),
            (1, &usd, 2, 0, "2099-01-31", "paid"),
            (1, &eur, 4, 1_000, "2099-01-10", "paid"),
            (2, &usd, 5, 0, "2099-02-01", "paid"),
            (2, &usd, 7, 0, "2099-01-15", "confirmed"),
            (3, &usd, 1, 0, "2099-02-14", "paid"),
            (0, &usd, 9, 0, "2099-02-03", "draft"),
        ];
        let mut rows = vec![];
        for (c, product, quantity, discount, day, status) in orders {
            let customer = &customers[c];
            let body = json!({"customer_id": customer["id"], "owner_id": customer["owner_id"], "order_date": day, "status": status, "tax_rate_bp": 2000,
                "lines": [{"product_id": product["id"], "quantity": quantity, "discount_minor": discount}]});
            let r = app.post("/api/v1/orders", body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            let net = quantity * product["unit_price_minor"].as_i64().unwrap() - discount;
            rows.push((
                customer["owner_id"].as_i64(),
                customer["id"].as_i64().unwrap(),
                product["currency"].as_str().unwrap().to_string(),
                net,
                day,
                status,
                r.body["id"].clone(),
            ));
        }
        // One paid order shipped later still counts; one cancelled from confirmed does not.
        let shipped = &rows[0].6;
        let r = app.call(Method::POST, &format!("/api/v1/orders/{shipped}/ship"), Some(&app.token), None, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let expect = |keep: &dyn Fn(Option<i64>) -> bool, from: &str, to: &str| {
            let mut m: BTreeMap<(String, String), (i64, i64, std::collections::BTreeSet<i64>)> = BTreeMap::new();
            for (owner, customer, currency, net, day, status, _) in &rows {
                if *status == "paid" && keep(*owner) && **day >= *from && **day <= *to {
                    let e = m.entry((day[..7].to_string(), currency.clone())).or_default();
                    e.0 += net;
                    e.1 += 1;
                    e.2.insert(*customer);
                }
            }
            m.into_iter().map(|(k, (rev, n, c))| (k, (rev, n, c.len() as i64))).collect::<BTreeMap<_, _>>()
        };
        let got = |rows: &[Value]| -> BTreeMap<(String, String), (i64, i64, i64)> {
            rows.iter()
                .map(|r| {
                    let key = (r["month"].as_str().unwrap().to_string(), r["currency"].as_str().unwrap().to_string());
                    (key, (r["revenue_minor"].as_i64().unwrap(), r["orders"].as_i64().unwrap(), r["customers"].as_i64().unwrap()))
                })
                .collect()
        };
        let all = rows_of(&app, &app.token, "/api/v1/reports/monthly_sales").await;
        assert_eq!(got(&all), expect(&|_| true, "0000", "9999"));
        assert_eq!(all[0]["month"], "2099-01", "oldest first");
        let jan = rows_of(&app, &app.token, "/api/v1/reports/monthly_sales?period=2099-01").await;
        assert_eq!(got(&jan), expect(&|_| true, "2099-01-01", "2099-01-31"));
        let span = rows_of(&app, &app.token, "/api/v1/reports/monthly_sales?from=2099-01-15&to=2099-02-01").await;
        assert_eq!(got(&span), expect(&|_| true, "2099-01-15", "2099-02-01"));
        let mine = rows_of(&app, &app.token, &format!("/api/v1/reports/monthly_sales?owner_id={rep_id}")).await;
        assert_eq!(got(&mine), expect(&|o| o == Some(rep_id), "0000", "9999"));
        let team_rows = rows_of(&app, &app.token, &format!("/api/v1/reports/monthly_sales?team_id={west}")).await;
        assert_eq!(got(&team_rows), expect(&|o| o == Some(mate_id), "0000", "9999"));
        let as_rep = rows_of(&app, &rep, "/api/v1/reports/monthly_sales").await;
        assert_eq!(got(&as_rep), expect(&|o| o.is_none() || o == Some(rep_id), "0000", "9999"), "the rep counts what they may see");
        let csv = app.call(Method::GET, "/api/v1/reports/monthly_sales?format=csv&period=2099-01", Some(&app.token), None, &[]).await;
        let text = csv.body.as_str().unwrap().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "month,currency,revenue_minor,orders,customers");
        let first = &jan[0];
        assert_eq!(
            lines[1],
            format!(
                "{},{},{},{},{}",
                first["month"].as_str().unwrap(),
                first["currency"].as_str().unwrap(),
                first["revenue_minor"],
                first["orders"],
                first["customers"]
            )
        );
        assert_eq!(lines.len(), jan.len() + 1);

        // Paid-order targets count the same orders: the rep's in January, in USD.
        let t = app
            .post(
                "/api/v1/targets",
                json!({"user_id": rep_id, "period": "2099-01", "amount_minor": 10_000, "currency": "USD", "measure": "paid_orders"}),
            )
            .await;
        assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
        let usd_jan = expect(&|o| o == Some(rep_id), "2099-01-01", "2099-01-31");
        let (rev, n, _) = usd_jan[&("2099-01".to_string(), "USD".to_string())];
        let eur_n = usd_jan.get(&("2099-01".to_string(), "EUR".to_string())).map_or(0, |v| v.1);
        assert_eq!(
            (&t.body["achieved_minor"], &t.body["counted"], &t.body["other_currency"]),
            (&json!(rev), &json!(n), &json!(eur_n)),
            "{}",
            t.body
        );
        assert_eq!(t.body["percent_bp"], rev * 10_000 / 10_000);
    });
}

/// `rows` of a report, asserting a 200.
async fn rows_of(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    rows(app, token, path).await
}
