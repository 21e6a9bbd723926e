//! Lead status on people (issue 9 §1): a lead is a person at lifecycle stage `lead`, in the
//! one list of people, with a lead status and its rules.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::each_backend;

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default()
}

#[tokio::test]
async fn a_lead_moves_between_statuses_and_needs_a_reason_to_be_disqualified() {
    each_backend!(|app| {
        let lead = app.customer(json!({"name": "Ann Lead", "source": "referral"})).await;
        assert_eq!((lead["lifecycle_stage"].as_str(), lead["lead_status"].as_str()), (Some("lead"), Some("new")));
        assert_eq!(
            (&lead["disqualified_reason"], &lead["converted_at"], &lead["converted_opportunity_id"]),
            (&json!(null), &json!(null), &json!(null))
        );
        let path = format!("/api/v1/customers/{}", lead["id"]);

        let r = app.patch(&path, json!({"lead_status": "disqualified"}), None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["disqualified_reason"]);
        let r = app.patch(&path, json!({"lead_status": "disqualified", "disqualified_reason": "  "}), None).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["disqualified_reason".to_string()]));
        assert_eq!(app.get(&path).await.body["version"], lead["version"], "a refused change changes nothing");

        let r = app.patch(&path, json!({"lead_status": "disqualified", "disqualified_reason": "No budget this year"}), Some(1)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            (r.body["lead_status"].as_str(), r.body["disqualified_reason"].as_str()),
            (Some("disqualified"), Some("No budget this year"))
        );
        let r = app.patch(&path, json!({"disqualified_reason": null}), None).await;
        assert_eq!(r.error_fields(), ["disqualified_reason"], "a disqualified lead keeps a reason");

        let r = app.patch(&path, json!({"lead_status": "working"}), None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            (r.body["lead_status"].as_str(), &r.body["disqualified_reason"]),
            (Some("working"), &json!(null)),
            "re-engaging drops the reason"
        );
        let r = app.patch(&path, json!({"disqualified_reason": "Too small"}), None).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["disqualified_reason".to_string()]));

        // `qualified` comes only from converting: a 409 naming what is allowed now.
        let r = app.patch(&path, json!({"lead_status": "qualified"}), None).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!(r.header("content-type"), "application/problem+json");
        assert_eq!(r.error_fields(), ["lead_status"]);
        assert_eq!(strings(&r.body["allowed_actions"]), ["new", "nurturing", "disqualified", "convert"]);
        assert!(r.body["detail"].as_str().unwrap().contains("allowed now: new, nurturing, disqualified, convert"), "{}", r.body);

        // Field errors come before the refusal.
        let r = app.patch(&path, json!({"lead_status": "qualified", "email": "not an email"}), None).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["email".to_string()]));
    });
}

#[tokio::test]
async fn only_leads_have_a_lead_status_to_change_and_their_forms_still_save() {
    each_backend!(|app| {
        let c = app.customer(json!({"name": "Bo Customer", "lifecycle_stage": "customer"})).await;
        let path = format!("/api/v1/customers/{}", c["id"]);
        let r = app.patch(&path, json!({"lead_status": "working"}), None).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert_eq!((r.error_fields(), strings(&r.body["allowed_actions"])), (vec!["lead_status".to_string()], vec![]));
        // What a form sends back unchanged is no change.
        let r =
            app.patch(&path, json!({"lead_status": c["lead_status"], "disqualified_reason": null, "notes": "Renewal in May"}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        // Created as a customer with a lead status: refused too.
        let r = app.post("/api/v1/customers", json!({"name": "Cy", "lifecycle_stage": "prospect", "lead_status": "nurturing"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert!(app.people("q=cy").await.is_empty(), "nothing was created");
        // Moving a person back to lead makes the status theirs to change again.
        let r = app.patch(&path, json!({"lifecycle_stage": "lead", "lead_status": "nurturing"}), None).await;
        assert_eq!((r.status, r.body["lead_status"].as_str()), (StatusCode::OK, Some("nurturing")), "{}", r.body);
        assert!(app.post("/api/v1/customers", json!({"name": "Di", "lead_status": "bogus"})).await.status.is_client_error());
    });
}

#[tokio::test]
async fn the_people_list_filters_leads_by_status() {
    each_backend!(|app| {
        let mut want: Vec<(String, &str, &str)> = vec![];
        for (i, (stage, status)) in
            [("lead", "new"), ("lead", "working"), ("lead", "working"), ("lead", "nurturing"), ("customer", "new"), ("prospect", "new")]
                .into_iter()
                .enumerate()
        {
            let name = format!("Person {i}");
            let p = app.customer(json!({"name": name, "lifecycle_stage": stage})).await;
            if status != "new" {
                let r = app.patch(&format!("/api/v1/customers/{}", p["id"]), json!({"lead_status": status}), None).await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            }
            want.push((name, stage, status));
        }
        for status in ["new", "working", "nurturing", "disqualified"] {
            let expected: Vec<String> = want.iter().filter(|(_, st, s)| *st == "lead" && *s == status).map(|(n, _, _)| n.clone()).collect();
            assert_eq!(app.people(&format!("lifecycle_stage=lead&lead_status={status}&sort=name")).await, expected, "{status}");
        }
        let all_new: Vec<String> = want.iter().filter(|(_, _, s)| *s == "new").map(|(n, _, _)| n.clone()).collect();
        assert_eq!(app.people("lead_status=new&sort=name").await, all_new, "the status filter alone covers every stage");
        let r = app.get("/api/v1/customers?lead_status=hot").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["lead_status".to_string()]));
        let r = app.get("/api/v1/customers?converted_at.gte=2026-01-01").await;
        assert_eq!(r.status, StatusCode::OK, "conversion times filter (none converted yet): {}", r.body);
        assert_eq!(r.body["data"], json!([]));
    });
}
