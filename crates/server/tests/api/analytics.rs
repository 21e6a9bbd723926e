//! Analytics on the live data: score runs over everyone (for roles granted them), read-only
//! runs over visible purchases, scores written back and filterable.

use axum::http::{Method, StatusCode};
use rapport_domain::accounts::NewUser;
use rapport_domain::permissions::{Actor, Role};
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{PASSWORD, TestApp};

/// Starts a run and waits for it to end; returns the finished run.
pub async fn run(app: &TestApp, token: &str, kind: &str, body: Option<Value>) -> Value {
    let r = app.call(Method::POST, &format!("/api/v1/analytics/{kind}"), Some(token), body, &[]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let location = r.header("location").to_string();
    for _ in 0..200 {
        let run = app.call(Method::GET, &location, Some(token), None, &[]).await.body;
        if run["status"] != "running" {
            assert_eq!(run["status"], "done", "{run}");
            assert!(
                run["progress"].as_str().is_some_and(|p| p.starts_with("computing") || p.starts_with("writing")),
                "the last stage is recorded: {run}"
            );
            assert!(run["finished_at"].is_string() && run["params"].is_object());
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the {kind} run did not finish");
}

/// Products by name, one per name, priced at 1.00 USD (lines name their own prices).
async fn catalogue(app: &TestApp, names: &[&str]) -> std::collections::HashMap<String, Value> {
    let mut out = std::collections::HashMap::new();
    for (i, n) in names.iter().enumerate() {
        out.insert(n.to_string(), app.product(&format!("P{i}"), n, 100, "USD").await["id"].clone());
    }
    out
}

/// 30 people with 1 to 6 paid orders each over 2025, spends growing with the index.
async fn people_with_purchases(app: &TestApp, owner_of: impl Fn(usize) -> Option<i64>) -> Vec<PersonLines> {
    let products = catalogue(app, &["Pro plan", "Starter"]).await;
    let mut out = vec![];
    for i in 0..30usize {
        let c = app.customer(json!({"name": format!("Buyer {i:02}"), "owner_id": owner_of(i)})).await;
        let id = c["id"].as_i64().unwrap();
        let lines: Vec<(String, i64, String)> = (0..=(i % 6))
            .map(|j| {
                (
                    format!("inv-{i}-{j}"),
                    1000 + (i as i64) * 250 + (j as i64) * 10,
                    format!("2025-{:02}-{:02}T00:00:00Z", 1 + (i + j) % 12, 1 + (i * 3 + j) % 27),
                )
            })
            .collect();
        let product = &products[if i % 2 == 0 { "Pro plan" } else { "Starter" }];
        for (_, amount, at) in &lines {
            app.paid_order(&c, &at[..10], json!([{"product_id": product, "unit_price_minor": amount}])).await;
        }
        // The order ids are the invoices.
        let orders = app.get(&format!("/api/v1/orders?customer_id={id}&sort=id&limit=10")).await.body;
        let ids: Vec<String> = orders["data"].as_array().unwrap().iter().map(|o| o["id"].to_string()).collect();
        let lines = lines.into_iter().zip(ids).map(|((_, amount, at), inv)| (inv, amount, at)).collect();
        out.push((id, lines));
    }
    out
}

/// A person's id and their purchase lines: (invoice, that is the order id, amount in minor
/// units, time).
type PersonLines = (i64, Vec<(String, i64, String)>);

/// What the analytics crate computes for the same purchases.
fn expected_rfm(data: &[PersonLines]) -> std::collections::HashMap<i64, (String, String)> {
    use rapport_analytics::rfm::{Transaction, rfm};
    let tx: Vec<Transaction> = data
        .iter()
        .flat_map(|(id, lines)| {
            lines.iter().map(move |(inv, amount, at)| Transaction {
                invoice: inv.clone(),
                customer_id: id.to_string(),
                product: String::new(),
                timestamp: rapport_analytics::dates::parse_timestamp(at).unwrap(),
                amount: *amount as f64 / 100.0,
            })
        })
        .collect();
    rfm(&tx).unwrap().customers.iter().map(|c| (c.customer_id.parse().unwrap(), (c.cell(), c.tier().name().to_string()))).collect()
}

#[tokio::test]
async fn rfm_segmentation_and_propensity_are_written_back_and_filterable() {
    each_backend!(|app| {
        let data = people_with_purchases(&app, |_| None).await;
        let retired = app.post(&format!("/api/v1/customers/{}/purchases", data[0].0), json!([])).await;
        assert_eq!(retired.status, StatusCode::METHOD_NOT_ALLOWED, "purchases are recorded as orders");
        let done = run(&app, &app.token, "rfm", None).await;
        assert_eq!(done["result"]["people_scored"], 30);
        let expected = expected_rfm(&data);
        for (id, _) in &data {
            let c = app.get(&format!("/api/v1/customers/{id}")).await.body;
            let (cell, tier) = &expected[id];
            assert_eq!(
                (c["scores"]["rfm_cell"].as_str(), c["scores"]["rfm_tier"].as_str()),
                (Some(cell.as_str()), Some(tier.as_str())),
                "person {id}"
            );
        }
        let some_tier = expected.values().next().unwrap().1.clone();
        let want = expected.values().filter(|(_, t)| *t == some_tier).count();
        let got = app.people(&format!("rfm_tier={}", some_tier.replace(' ', "%20").replace('\'', "%27"))).await;
        assert_eq!(got.len(), want, "filtering by tier");

        let seg = run(&app, &app.token, "segmentation", Some(json!({"k": 3}))).await;
        assert_eq!(seg["params"]["k"], 3);
        let mut total = 0;
        for s in 0..3 {
            total += app.people(&format!("segment={s}")).await.len();
        }
        assert_eq!(total, 30, "every buyer is in one of the 3 segments");
        let sizes: Vec<i64> = seg["result"]["summary"]["sizes"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert_eq!(sizes.iter().sum::<i64>(), 30);
        // The run names its clusters from their centres (issue 12 §1), as the API lists them.
        let names: Vec<Value> = app.get("/api/v1/cluster_names").await.body.as_array().unwrap().iter().map(|c| c["name"].clone()).collect();
        assert_eq!(Value::Array(names.clone()), seg["result"]["summary"]["names"], "one name per cluster");
        assert_eq!(names.len(), 3);
        assert!(names.iter().all(|n| n.as_str().is_some_and(|n| !n.is_empty() && !n.contains("segment"))), "{names:?}");
        let scatter = rapport_server::ui::scatter_svg(&seg["result"]["summary"]);
        assert_eq!(scatter.matches("<circle").count(), 30, "one dot per person (sampled above 600)");
        let prop = run(&app, &app.token, "propensity", None).await;
        assert!(prop["result"]["summary"]["people"].as_i64().unwrap() > 0);
        let c = app.get(&format!("/api/v1/customers/{}", data[5].0)).await.body;
        let p = c["scores"]["purchase_propensity"].as_f64();
        assert!(p.is_none() || p.is_some_and(|p| (0.0..=1.0).contains(&p)));

        let churn = run(&app, &app.token, "churn", None).await;
        let s = &churn["result"]["summary"];
        assert!(!s["rules"].as_array().unwrap().is_empty(), "the tree reads as rules");
        let m: i64 =
            s["confusion"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_i64().unwrap())).sum();
        assert!(m > 0, "the test customers are counted");
        let scored = churn["result"]["people_scored"].as_i64().unwrap();
        assert!(scored > 0);
        for (id, _) in &data {
            let c = app.get(&format!("/api/v1/customers/{id}")).await.body;
            if let Some(p) = c["scores"]["churn_risk"].as_f64() {
                assert!((0.0..=1.0).contains(&p));
            }
        }
        let r = app.post("/api/v1/analytics/weather", json!({})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["kind".to_string()]));
        let r = app.post("/api/v1/analytics/segmentation", json!({"k": 40})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let history = app.get(&format!("/api/v1/customers/{}/purchases", data[5].0)).await;
        assert_eq!(history.body.as_array().unwrap().len(), 6);
        assert_eq!(history.body[0]["currency"], "USD");
    });
}

async fn user_id(app: &TestApp, token: &str) -> i64 {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["id"].as_i64().unwrap()
}

/// The audit rows of analytics runs, newest first.
async fn run_audit(app: &TestApp) -> Vec<Value> {
    app.get("/api/v1/audit_log?object=analytics").await.body.as_array().cloned().unwrap_or_default()
}

/// Issue 8, item 13: a sales rep starting a score run used to overwrite everyone's scores with
/// results computed from their own subset.
#[tokio::test]
async fn r8_score_runs_need_the_analytics_grant_and_score_everyone_as_the_system() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let (rep_id, admin_id) = (user_id(&app, &rep).await, user_id(&app, &app.token).await);
        let data = people_with_purchases(&app, |i| Some(if i < 10 { rep_id } else { admin_id })).await;
        let viewer = app.user_token("v@example.com", Role::Viewer).await;
        for (who, token) in [("rep", &rep), ("viewer", &viewer)] {
            for kind in ["rfm", "segmentation", "propensity", "churn"] {
                let r = app.call(Method::POST, &format!("/api/v1/analytics/{kind}"), Some(token), None, &[]).await;
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{who} {kind}: {}", r.body);
            }
        }
        assert!(run_audit(&app).await.is_empty(), "a refused run records nothing");
        for (id, _) in &data {
            assert!(app.get(&format!("/api/v1/customers/{id}")).await.body["scores"]["rfm_cell"].is_null(), "nobody is scored");
        }

        // An admin's run scores everyone from all the data, the rep's people included.
        let all = expected_rfm(&data);
        let subset = expected_rfm(&data[..10]);
        assert!(data[..10].iter().any(|(id, _)| all[id] != subset[id]), "the rep's subset alone would score differently");
        let done = run(&app, &app.token, "rfm", None).await;
        assert_eq!(done["result"]["people_scored"], 30);
        let r = app.call(Method::POST, "/api/v1/analytics/rfm", Some(&rep), None, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        // Reading scores stays permissioned: the rep sees the scores of their own people only.
        for (i, (id, _)) in data.iter().enumerate() {
            let c = app.get_as(&rep, format!("/api/v1/customers/{id}")).await;
            if i < 10 {
                assert_eq!(c.body["scores"]["rfm_cell"].as_str(), Some(all[id].0.as_str()), "person {i} keeps the all-data score");
            } else {
                assert_eq!(c.status, StatusCode::NOT_FOUND, "person {i}");
                let c = app.get(&format!("/api/v1/customers/{id}")).await.body;
                assert_eq!(c["scores"]["rfm_cell"].as_str(), Some(all[id].0.as_str()), "person {i} is scored too");
            }
        }
        // One audit row per run: the system's, naming who started it.
        let audit = run_audit(&app).await;
        assert_eq!(audit.len(), 1, "{audit:?}");
        let row = &audit[0];
        assert_eq!((row["action"].as_str(), row["record_id"].as_i64()), (Some("analytics_run"), done["id"].as_i64()));
        assert!(row["actor_id"].is_null(), "the system wrote the scores: {row}");
        assert_eq!((row["diff"]["started_by"].as_i64(), row["diff"]["kind"].as_str()), (Some(admin_id), Some("rfm")));
        assert_eq!(row["diff"]["people_scored"], 30);

        // The grant is given to custom roles like any other; it does not need read.
        let r = app
            .post(
                "/api/v1/roles",
                json!({"name": "analyst", "permissions": {"grants": {"customer": ["read"], "analytics": ["run"]}, "visibility": "own"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let bad = app
            .post("/api/v1/roles", json!({"name": "odd", "permissions": {"grants": {"customer": ["read", "run"]}, "visibility": "own"}}))
            .await;
        assert_eq!((bad.status, bad.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["permissions.grants".to_string()]));
        let new = NewUser { email: "ana@example.com".into(), name: "Ana".into(), password: PASSWORD.into(), role: "analyst".into() };
        app.store.create_user(&Actor::system(), new).await.unwrap();
        let analyst = app.login("ana@example.com", PASSWORD).await;
        let seg = run(&app, &analyst, "segmentation", Some(json!({"k": 3}))).await;
        assert_eq!(seg["result"]["people_scored"], 30, "the analyst owns nobody, yet everyone is segmented");
        let audit = run_audit(&app).await;
        assert_eq!(audit.len(), 2);
        assert_eq!(audit[0]["diff"]["started_by"].as_i64(), Some(user_id(&app, &analyst).await));
        // Managers hold it by default.
        let manager = app.user_token("m@example.com", Role::Manager).await;
        assert_eq!(run(&app, &manager, "propensity", None).await["status"], "done");

        // Runs that only read need no grant, and cover the purchases their starter may see.
        let rules = run(&app, &rep, "association_rules", None).await;
        let rep_lines: usize = data[..10].iter().map(|(_, l)| l.len()).sum();
        assert_eq!(rules["result"]["purchases"], rep_lines);
        assert_eq!(rules["result"]["people_scored"], 0);
        let r = app.call(Method::GET, &format!("/api/v1/customers/{}/purchases", data[20].0), Some(&rep), None, &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "another owner's purchases do not exist for the rep");
    });
}

#[tokio::test]
async fn rules_feed_recommendations_and_the_forecast_has_an_interval() {
    each_backend!(|app| {
        // Three in four who buy the Pro plan also take Onboarding, in the same order.
        let products = catalogue(&app, &["Pro plan", "Onboarding"]).await;
        for i in 0..24 {
            let c = app.customer(json!({"name": format!("P{i}")})).await;
            for m in 0..(1 + i % 3) {
                let day = format!("{}-{:02}-15", 2024 + (i + m * 7) / 12, 1 + (i + m * 7) % 12);
                let mut lines = vec![json!({"product_id": products["Pro plan"], "unit_price_minor": 19900 + i * 100})];
                if i % 4 != 3 {
                    lines.push(json!({"product_id": products["Onboarding"], "unit_price_minor": 150000}));
                }
                app.paid_order(&c, &day, Value::Array(lines)).await;
            }
        }
        let rules = run(&app, &app.token, "association_rules", Some(json!({"min_support": 0.1, "min_confidence": 0.5}))).await;
        let list = rules["result"]["summary"]["rules"].as_array().unwrap().clone();
        let onboarding = list
            .iter()
            .find(|r| r["antecedents"] == json!(["Pro plan"]) && r["consequents"] == json!(["Onboarding"]))
            .expect("Pro plan → Onboarding");
        assert!((onboarding["confidence"].as_f64().unwrap() - 0.75).abs() < 0.1, "{onboarding}");
        let recs = rapport_server::analytics::recommend(&Value::Array(list), &["Pro plan".to_string()]);
        assert_eq!(recs.first().map(|r| r.0.as_str()), Some("Onboarding"));

        let forecast = run(&app, &app.token, "forecast", None).await;
        let s = &forecast["result"]["summary"];
        let (mean, lower, upper) = (s["forecast"].as_array().unwrap(), s["lower95"].as_array().unwrap(), s["upper95"].as_array().unwrap());
        assert_eq!(mean.len(), 12);
        for i in 0..12 {
            let (l, m, u) = (lower[i].as_f64().unwrap(), mean[i].as_f64().unwrap(), upper[i].as_f64().unwrap());
            assert!(l <= m && m <= u, "month {i}: {l} {m} {u}");
        }
        assert_eq!(s["months"].as_array().unwrap().len(), s["sales"].as_array().unwrap().len());
        let svg = rapport_server::ui::forecast_svg(s);
        assert!(svg.starts_with("<svg") && svg.contains("class=\"band\"") && svg.contains("class=\"forecast\""));
    });
}

#[tokio::test]
async fn campaigns_and_their_measured_effect_on_sales() {
    each_backend!(|app| {
        let marketer = app.user_token("m@example.com", Role::Marketer).await;
        let rep = app.user_token("r@example.com", Role::SalesRep).await;
        let campaign = |m: usize, channel: &str| {
            json!({"name": format!("C{m}"), "channel": channel, "budget_minor": 100_000 * (m as i64 + 1), "currency": "usd",
                   "starts_on": format!("2025-{:02}-01", m + 1), "ends_on": format!("2025-{:02}-28", m + 1)})
        };
        let r = app.call(Method::POST, "/api/v1/campaigns", Some(&rep), Some(campaign(0, "email")), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "only marketers and admins run campaigns");
        let bad = app.call(Method::POST, "/api/v1/campaigns", Some(&marketer), Some(json!({"name": "", "channel": "telepathy", "budget_minor": -5, "currency": "usd", "starts_on": "2025-02-01", "ends_on": "2025-01-01"})), &[]).await;
        assert_eq!(bad.error_fields(), ["name", "channel", "budget_minor", "ends_on"]);
        // Sales in each month are exactly 5,000 + 3 × that month's spend.
        let buyer = app.customer(json!({"name": "Market"})).await;
        let plan = catalogue(&app, &["Plan"]).await["Plan"].clone();
        for m in 0..12usize {
            let r = app
                .call(
                    Method::POST,
                    "/api/v1/campaigns",
                    Some(&marketer),
                    Some(campaign(m, if m % 2 == 0 { "email" } else { "paid_ads" })),
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            let spend = 1000.0 * (m as f64 + 1.0);
            let amount = ((5000.0 + 3.0 * spend) * 100.0) as i64;
            app.paid_order(&buyer, &format!("2025-{:02}-15", m + 1), json!([{"product_id": plan, "unit_price_minor": amount}])).await;
        }
        let list = app.call(Method::GET, "/api/v1/campaigns", Some(&rep), None, &[]).await;
        assert_eq!(list.body["data"].as_array().unwrap().len(), 0, "a rep reaches only campaigns of their own or their team");
        let list = app.call(Method::GET, "/api/v1/campaigns?sort=starts_on", Some(&marketer), None, &[]).await;
        assert_eq!(list.body["data"].as_array().unwrap().len(), 12, "{}", list.body);
        let first = list.body["data"][0].clone();
        let stale = app
            .call(
                Method::PATCH,
                &format!("/api/v1/campaigns/{}", first["id"]),
                Some(&marketer),
                Some(json!({"goal": "More"})),
                &[("if-match", "7")],
            )
            .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);

        let done = run(&app, &app.token, "campaign_effect", None).await;
        let s = &done["result"]["summary"];
        assert_eq!(s["months"], 12);
        let coef = |name: &str| {
            s["coefficients"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name} in {s}"))["coef"]
                .as_f64()
                .unwrap()
        };
        assert!((coef("budget_k") - 3000.0).abs() < 1e-6, "{s}");
        assert!((coef("Intercept") - 5000.0).abs() < 1e-6, "{s}");
        assert!(coef("channel[T.paid_ads]").abs() < 1e-6, "{s}");
        assert!(s["r_squared"].as_f64().unwrap() > 0.999_999);
        assert_eq!(app.delete(&format!("/api/v1/campaigns/{}", first["id"])).await.status, StatusCode::NO_CONTENT);
    });
}

#[tokio::test]
async fn a_batch_reads_the_purchase_history_once_and_computes_what_runs_started_alone_do() {
    use rapport_domain::analytics::{RunKind, RunParams};
    each_backend!(|app| {
        let data = people_with_purchases(&app, |_| None).await;
        for m in 0..6 {
            let c = json!({"name": format!("C{m}"), "channel": if m % 2 == 0 { "email" } else { "paid_ads" }, "budget_minor": 100_000 * (m + 1),
                           "currency": "usd", "starts_on": format!("2025-{:02}-01", m + 1), "ends_on": format!("2025-{:02}-28", m + 1)});
            assert_eq!(app.post("/api/v1/campaigns", c).await.status, StatusCode::CREATED);
        }
        let lines: usize = data.iter().map(|(_, l)| l.len()).sum();
        // Started alone, each run reads the history itself.
        let before = app.store.history_reads();
        let mut alone = vec![];
        for kind in RunKind::ALL {
            alone.push(run(&app, &app.token, kind.as_str(), None).await);
        }
        assert_eq!(app.store.history_reads() - before, RunKind::ALL.len() as u64, "every run started alone reads");
        // One batch of the same runs reads once, and each run records what it did alone.
        let before = app.store.history_reads();
        let batch = rapport_server::analytics::run_batch(&app.store, &Actor::system(), &RunKind::ALL, &RunParams::default()).await.unwrap();
        assert_eq!(app.store.history_reads() - before, 1, "the batch shares one read");
        assert_eq!(batch.len(), RunKind::ALL.len());
        let ids: std::collections::HashSet<i64> = batch.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), batch.len(), "each run of the batch is recorded on its own");
        for (b, a) in batch.iter().zip(&alone) {
            assert_eq!(b.kind, a["kind"].as_str().unwrap());
            assert_eq!(b.status, "done", "{b:?}");
            let result = b.result.clone().unwrap();
            assert_eq!(result["purchases"], lines, "{}", b.kind);
            assert_eq!(result, a["result"], "{} computes the same in a batch", b.kind);
        }
    });
}

#[tokio::test]
async fn a_batch_reads_once_per_reader_when_its_starter_sees_only_some_records() {
    use rapport_domain::analytics::{RunKind, RunParams};
    each_backend!(|app| {
        let manager = app.user_token("lead@example.com", Role::Manager).await;
        let (manager_id, admin_id) = (user_id(&app, &manager).await, user_id(&app, &app.token).await);
        let data = people_with_purchases(&app, |i| Some(if i < 10 { manager_id } else { admin_id })).await;
        let (all_lines, own_lines): (usize, usize) =
            (data.iter().map(|(_, l)| l.len()).sum(), data[..10].iter().map(|(_, l)| l.len()).sum());
        let actor =
            Actor { user_id: Some(manager_id), role: "manager".into(), perms: Role::Manager.permissions().into(), request_id: None };
        let kinds = [RunKind::Rfm, RunKind::AssociationRules, RunKind::Segmentation];
        let before = app.store.history_reads();
        let runs = rapport_server::analytics::run_batch(&app.store, &actor, &kinds, &RunParams::default()).await.unwrap();
        assert_eq!(app.store.history_reads() - before, 2, "everything for the score runs, the manager's records for the other");
        let result = |i: usize| runs[i].result.clone().unwrap_or_else(|| panic!("{:?}", runs[i]));
        assert_eq!((result(0)["purchases"].as_u64(), result(0)["people_scored"].as_u64()), (Some(all_lines as u64), Some(30)));
        assert_eq!(result(1)["purchases"], own_lines, "a read-only run covers what its starter may see");
        assert_eq!(result(2)["purchases"], all_lines, "the second score run reuses the first one's read");
    });
}
