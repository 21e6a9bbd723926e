//! Opportunities and pipelines (issue 9, §2): stage moves and their history, the closed-deal
//! rules, pipeline stages in use, versions and record visibility.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{Res, TestApp};

pub async fn user_id(app: &TestApp, token: &str) -> i64 {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["id"].as_i64().unwrap()
}

/// Creates an opportunity as `token` and returns it.
pub async fn deal(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.call(Method::POST, "/api/v1/opportunities", Some(token), Some(body), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

/// PATCHes an opportunity as `token`, with `If-Match` when given.
pub async fn patch_as(app: &TestApp, token: &str, id: &Value, body: Value, version: Option<i64>) -> Res {
    let v = version.map(|v| v.to_string());
    let headers: Vec<(&str, &str)> = v.as_deref().map(|v| vec![("if-match", v)]).unwrap_or_default();
    app.call(Method::PATCH, &format!("/api/v1/opportunities/{id}"), Some(token), Some(body), &headers).await
}

fn time(s: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s.as_str().unwrap()).unwrap().with_timezone(&chrono::Utc)
}

#[tokio::test]
async fn every_stage_move_is_recorded_with_its_time_and_actor() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let rep_id = user_id(&app, &rep).await;
        let before = chrono::Utc::now();
        let d = deal(&app, &rep, json!({"name": "Acme renewal", "amount_minor": 120000, "currency": "eur"})).await;
        assert_eq!((d["pipeline_id"].as_i64(), d["stage"].as_str(), d["status"].as_str()), (Some(1), Some("qualification"), Some("open")));
        assert_eq!(
            (d["stage_name"].as_str(), d["probability"].as_i64(), d["pipeline_name"].as_str()),
            (Some("Qualification"), Some(10), Some("Sales"))
        );
        assert_eq!((d["owner_id"].as_i64(), d["currency"].as_str()), (Some(rep_id), Some("EUR")));
        let r = patch_as(&app, &rep, &d["id"], json!({"stage": "proposal"}), d["version"].as_i64()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["stage_name"].as_str(), r.body["probability"].as_i64()), (Some("Proposal"), Some(50)));
        let moved_at = time(&r.body["stage_entered_at"]);
        // Someone else (the admin) wins it.
        let admin_id = user_id(&app, &app.token).await;
        let r = app.patch(&format!("/api/v1/opportunities/{}", d["id"]), json!({"stage": "won"}), None).await;
        assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("won")), "{}", r.body);
        assert!(r.body["closed_at"].is_string());
        // Renaming is not a stage change.
        let r = app.patch(&format!("/api/v1/opportunities/{}", d["id"]), json!({"name": "Acme renewal 2027"}), None).await;
        assert_eq!(r.status, StatusCode::OK);

        let h = app.get_as(&rep, format!("/api/v1/opportunities/{}/history", d["id"])).await;
        assert_eq!(h.status, StatusCode::OK, "{}", h.body);
        let changes = h.body["changes"].as_array().unwrap();
        let seen: Vec<(Value, Value, Value, Value)> =
            changes.iter().map(|c| (c["from_stage"].clone(), c["to_stage"].clone(), c["outcome"].clone(), c["actor_id"].clone())).collect();
        assert_eq!(
            seen,
            [
                (json!(null), json!("qualification"), json!("open"), json!(rep_id)),
                (json!("qualification"), json!("proposal"), json!("open"), json!(rep_id)),
                (json!("proposal"), json!("won"), json!("won"), json!(admin_id)),
            ]
        );
        let times: Vec<_> = changes.iter().map(|c| time(&c["at"])).collect();
        assert!(times[0] >= before && times[0] <= times[1] && times[1] <= times[2] && times[2] <= chrono::Utc::now());
        assert_eq!(times[1], moved_at, "stage_entered_at is the time of the move");
        assert!(changes.iter().all(|c| c["pipeline_id"] == 1));
        // Time in stage and cycle length are measured from these entries.
        let stages: Vec<&str> = h.body["time_in_stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
        assert_eq!(stages, ["qualification", "proposal", "won"]);
        let in_proposal = h.body["time_in_stages"][1]["seconds"].as_i64().unwrap();
        assert_eq!(in_proposal, (times[2] - times[1]).num_seconds());
        assert_eq!(h.body["cycle_seconds"].as_i64(), Some((times[2] - times[0]).num_seconds()));
        assert_eq!(h.body["seconds_in_current_stage"], json!(null), "a closed deal is in no stage it is working");
        // The audit log has each change too.
        let audit = app.get("/api/v1/audit_log?object=opportunity").await;
        assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
        assert_eq!(audit.body.as_array().map(|a| a.len()), Some(4), "{}", audit.body);
    });
}

#[tokio::test]
async fn a_closed_deal_moves_only_after_an_explicit_reopen() {
    each_backend!(|app| {
        let d =
            deal(&app, &app.token, json!({"name": "Big one", "currency": "USD", "amount_minor": 5000000, "stage": "negotiation"})).await;
        let path = format!("/api/v1/opportunities/{}", d["id"]);
        let won = app.patch(&path, json!({"stage": "won"}), None).await;
        assert_eq!(won.status, StatusCode::OK);
        for body in [json!({"stage": "proposal"}), json!({"stage": "lost", "lost_reason": "Changed their mind"})] {
            let r = app.patch(&path, body.clone(), None).await;
            assert_eq!(r.status, StatusCode::CONFLICT, "{body}: {}", r.body);
            assert_eq!(r.header("content-type"), "application/problem+json");
            assert_eq!(r.body["allowed_actions"], json!(["reopen"]), "{}", r.body);
            assert_eq!(r.error_fields(), ["stage"]);
            assert!(r.body["detail"].as_str().unwrap().contains("must be reopened"), "{}", r.body);
        }
        let r = app.get(&path).await;
        assert_eq!((r.body["stage"].as_str(), r.body["version"].as_i64()), (Some("won"), won.body["version"].as_i64()), "nothing moved");
        // Other fields of a won deal stay editable.
        let r = app.patch(&path, json!({"next_step": "Kick-off call"}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        // Reopening needs an open stage; then the deal moves again.
        let r = app.patch(&path, json!({"reopen": true, "stage": "lost", "lost_reason": "x"}), None).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["stage".to_string()]));
        let r = app.patch(&path, json!({"reopen": true, "stage": "negotiation"}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["status"].as_str(), r.body["closed_at"].clone()), (Some("open"), json!(null)));
        let r = app.patch(&path, json!({"stage": "proposal"}), None).await;
        assert_eq!((r.status, r.body["stage"].as_str()), (StatusCode::OK, Some("proposal")));
        // Reopening an open deal is refused too, naming what an open deal may do.
        let r = app.patch(&path, json!({"reopen": true, "stage": "negotiation"}), None).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!((r.body["allowed_actions"].clone(), r.error_fields()), (json!(["move", "win", "lose"]), vec!["reopen".to_string()]));
        let h = app.get(&format!("{path}/history")).await;
        let to: Vec<&str> = h.body["changes"].as_array().unwrap().iter().map(|c| c["to_stage"].as_str().unwrap()).collect();
        assert_eq!(to, ["negotiation", "won", "negotiation", "proposal"]);
    });
}

#[tokio::test]
async fn lost_needs_a_reason_and_stages_must_exist() {
    each_backend!(|app| {
        let d = deal(&app, &app.token, json!({"name": "Maybe", "currency": "GBP"})).await;
        let path = format!("/api/v1/opportunities/{}", d["id"]);
        let r = app.patch(&path, json!({"stage": "lost"}), None).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["lost_reason".to_string()]), "{}", r.body);
        let r = app.patch(&path, json!({"stage": "lost", "lost_reason": "   "}), None).await;
        assert_eq!(r.error_fields(), ["lost_reason"]);
        let r = app.patch(&path, json!({"stage": "closed_won"}), None).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["stage".to_string()]));
        assert!(r.body["detail"].as_str().unwrap().contains("use one of qualification"), "{}", r.body);
        let r = app.post("/api/v1/opportunities", json!({"name": "Gone", "currency": "USD", "stage": "lost"})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["lost_reason".to_string()]));
        let r = app.post("/api/v1/opportunities", json!({"name": "Nowhere", "currency": "USD", "pipeline_id": 999})).await;
        assert_eq!(r.error_fields(), ["pipeline_id"]);
        let r = app.post("/api/v1/opportunities", json!({"name": "Who", "currency": "USD", "customer_id": 999, "campaign_id": 999})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["customer_id".to_string()]));
        let r = app.post("/api/v1/opportunities", json!({"name": "Which", "currency": "USD", "campaign_id": 999})).await;
        assert_eq!(r.error_fields(), ["campaign_id"]);
        let r = app.patch(&path, json!({"stage": "lost", "lost_reason": "Went with a competitor"}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["status"].as_str(), r.body["lost_reason"].as_str()), (Some("lost"), Some("Went with a competitor")));
        let r = app.patch(&path, json!({"lost_reason": null}), None).await;
        assert_eq!(r.error_fields(), ["lost_reason"], "a lost deal keeps a reason");
        assert_eq!(app.get(&path).await.body["lost_reason"], "Went with a competitor");
    });
}

#[tokio::test]
async fn a_stale_version_is_refused_and_nothing_moves() {
    each_backend!(|app| {
        let d = deal(&app, &app.token, json!({"name": "Race", "currency": "USD"})).await;
        let v = d["version"].as_i64();
        let first = patch_as(&app, &app.token, &d["id"], json!({"stage": "proposal"}), v).await;
        assert_eq!(first.status, StatusCode::OK);
        let second = patch_as(&app, &app.token, &d["id"], json!({"stage": "negotiation"}), v).await;
        assert_eq!(second.status, StatusCode::PRECONDITION_FAILED, "{}", second.body);
        let now = app.get(&format!("/api/v1/opportunities/{}", d["id"])).await;
        assert_eq!(now.body["stage"], "proposal");
        let h = app.get(&format!("/api/v1/opportunities/{}/history", d["id"])).await;
        assert_eq!(h.body["changes"].as_array().unwrap().len(), 2, "the refused move left no history");
    });
}

#[tokio::test]
async fn pipelines_are_configured_by_admins_and_keep_the_stages_in_use() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let list = app.get_as(&rep, "/api/v1/pipelines").await;
        assert_eq!(list.status, StatusCode::OK);
        let names: Vec<&str> = list.body["data"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Sales"], "the migration seeds one pipeline");
        let stages: Vec<&str> = list.body["data"][0]["stages"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
        assert_eq!(stages, ["qualification", "needs_analysis", "proposal", "negotiation", "won", "lost"]);
        let body = json!({"name": "Renewals", "stages": [
            {"name": "Due", "probability": 60}, {"name": "Quoted", "probability": 80},
            {"name": "Renewed", "outcome": "won"}, {"name": "Churned", "outcome": "lost"}]});
        let r = app.call(Method::POST, "/api/v1/pipelines", Some(&rep), Some(body.clone()), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "only admins configure pipelines");
        let p = app.post("/api/v1/pipelines", body).await;
        assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
        let pid = p.body["id"].clone();
        let path = format!("/api/v1/pipelines/{pid}");
        let open = deal(&app, &rep, json!({"name": "Open one", "currency": "USD", "pipeline_id": pid, "stage": "quoted"})).await;
        let churned = deal(
            &app,
            &rep,
            json!({"name": "Lost one", "currency": "USD", "pipeline_id": pid, "stage": "churned", "lost_reason": "Budget"}),
        )
        .await;
        assert_eq!((open["stage_name"].as_str(), open["probability"].as_i64()), (Some("Quoted"), Some(80)));
        // Removing a stage a deal is in, open or closed, is refused and changes nothing.
        let version = p.body["version"].as_i64();
        let keep = |keys: &[&str]| json!({"stages": keys.iter().map(|k| json!({"key": k})).collect::<Vec<_>>()});
        let gone = json!({"stages": [{"key": "due"}, {"key": "quoted"}, {"key": "renewed"}, {"name": "Gone", "outcome": "lost"}]});
        for (stages, used) in [(keep(&["due", "renewed", "churned"]), "quoted"), (gone, "churned")] {
            let r = app.patch(&path, stages, version).await;
            assert_eq!((r.status, r.error_fields()), (StatusCode::CONFLICT, vec!["stages".to_string()]), "{}", r.body);
            assert!(r.body["detail"].as_str().unwrap().contains(&format!("'{used}' (1 opportunities)")), "{}", r.body);
        }
        assert_eq!(app.get(&path).await.body["version"].as_i64(), version, "nothing changed");
        // Renaming and re-weighting a stage in use is fine, and shows on its deals.
        let r = app.patch(&path, json!({"stages": [{"key": "due"}, {"key": "quoted", "name": "Quote sent", "probability": 70}, {"key": "renewed"}, {"key": "churned"}]}), version).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let o = app.get(&format!("/api/v1/opportunities/{}", open["id"])).await;
        assert_eq!((o.body["stage_name"].as_str(), o.body["probability"].as_i64()), (Some("Quote sent"), Some(70)));
        assert!(o.body["updated_at"].as_str() > open["updated_at"].as_str(), "its deals count as changed for sync");
        let r = app.call(Method::PATCH, &path, Some(&rep), Some(json!({"name": "Mine"})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Once the deals are out of it, the stage goes.
        let r = patch_as(&app, &rep, &open["id"], json!({"stage": "due"}), None).await;
        assert_eq!(r.status, StatusCode::OK);
        let r = app.patch(&path, keep(&["due", "renewed", "churned"]), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        // A pipeline with deals is not deleted; an empty one is.
        let r = app.delete(&path).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::CONFLICT, vec!["opportunities".to_string()]), "{}", r.body);
        for id in [&open["id"], &churned["id"]] {
            assert_eq!(app.delete(&format!("/api/v1/opportunities/{id}")).await.status, StatusCode::NO_CONTENT);
        }
        assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
        let r = app.post("/api/v1/opportunities", json!({"name": "Late", "currency": "USD", "pipeline_id": pid})).await;
        assert_eq!(r.error_fields(), ["pipeline_id"]);
        // Bad stage lists name the stage and field.
        let r = app.post("/api/v1/pipelines", json!({"name": "Bad", "stages": [{"name": "Only", "probability": 5}]})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.error_fields().iter().all(|f| f == "stages"), "{}", r.body);
    });
}

#[tokio::test]
async fn lists_filter_and_sort_opportunities() {
    each_backend!(|app| {
        let company = app.company(json!({"name": "Globex"})).await;
        let person = app.customer(json!({"name": "Hank Scorpio", "company_id": company["id"]})).await;
        for (name, amount, stage, close) in [
            ("Small", 1000, "proposal", "2026-05-01"),
            ("Large", 900000, "proposal", "2026-04-01"),
            ("Medium", 50000, "qualification", "2026-06-01"),
        ] {
            deal(
                &app,
                &app.token,
                json!({"name": name, "currency": "USD", "amount_minor": amount, "stage": stage,
                "expected_close_date": close, "company_id": company["id"], "customer_id": person["id"], "next_step": "Send the quote"}),
            )
            .await;
        }
        deal(&app, &app.token, json!({"name": "Elsewhere", "currency": "USD", "amount_minor": 1})).await;
        assert_eq!(app.all_names("/api/v1/opportunities?stage=proposal&sort=-amount_minor").await, ["Large", "Small"]);
        assert_eq!(
            app.all_names(&format!("/api/v1/opportunities?company_id={}&sort=expected_close_date", company["id"])).await,
            ["Large", "Small", "Medium"]
        );
        assert_eq!(
            app.all_names(&format!("/api/v1/opportunities?customer_id={}&amount_minor.gte=50000&sort=name", person["id"])).await,
            ["Large", "Medium"]
        );
        assert_eq!(
            app.all_names("/api/v1/opportunities?pipeline_id=1&status=open&sort=amount_minor&limit=2").await,
            ["Elsewhere", "Small", "Medium", "Large"]
        );
        assert_eq!(app.all_names("/api/v1/opportunities?q=quote&sort=name").await, ["Large", "Medium", "Small"]);
        let one = app.get("/api/v1/opportunities?q=large").await;
        assert_eq!(
            (one.body["data"][0]["company_name"].as_str(), one.body["data"][0]["customer_name"].as_str()),
            (Some("Globex"), Some("Hank Scorpio"))
        );
        let r = app.get("/api/v1/opportunities?sort=probability").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["sort".to_string()]));
        let r = app.get("/api/v1/opportunities?status=maybe").await;
        assert_eq!(r.error_fields(), ["status"]);
    });
}

#[tokio::test]
async fn a_rep_sees_only_the_deals_visibility_gives_them() {
    each_backend!(|app| {
        let a = app.user_token("a@example.com", Role::SalesRep).await;
        let b = app.user_token("b@example.com", Role::SalesRep).await;
        let theirs = deal(&app, &b, json!({"name": "B's secret deal", "currency": "USD", "amount_minor": 777})).await;
        deal(&app, &a, json!({"name": "A's deal", "currency": "USD", "amount_minor": 1})).await;
        let path = format!("/api/v1/opportunities/{}", theirs["id"]);
        assert_eq!(app.get_as(&a, &path).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get_as(&a, format!("{path}/history")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(patch_as(&app, &a, &theirs["id"], json!({"stage": "won"}), None).await.status, StatusCode::NOT_FOUND);
        let list = app.get_as(&a, "/api/v1/opportunities").await;
        let names: Vec<&str> = list.body["data"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["A's deal"]);
        // Nor does a person or company the rep cannot see become reachable through a deal.
        let hidden = app.call(Method::POST, "/api/v1/companies", Some(&b), Some(json!({"name": "Hidden Co"})), &[]).await.body;
        let r = app
            .call(
                Method::POST,
                "/api/v1/opportunities",
                Some(&a),
                Some(json!({"name": "X", "currency": "USD", "company_id": hidden["id"]})),
                &[],
            )
            .await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["company_id".to_string()]));
        // The admin sees both.
        assert_eq!(app.all_names("/api/v1/opportunities?sort=name").await, ["A's deal", "B's secret deal"]);
    });
}
