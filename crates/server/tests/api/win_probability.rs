//! Win probability of open deals, learned from closed ones (issue 9, §5), on planted data.

use axum::http::StatusCode;
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;
use crate::opportunities::{deal, patch_as};

/// Closes 60 deals in the Proposal stage, alternating two owners: Wendy wins 9 in 10 of hers,
/// Larry loses 9 in 10 of his; everything else about the deals is alike. Returns the tokens.
async fn plant(app: &TestApp) -> (String, String) {
    let wendy = app.user_token("wendy@example.com", Role::Manager).await;
    let larry = app.user_token("larry@example.com", Role::Manager).await;
    for i in 0..60 {
        let (token, wins) = if i % 2 == 0 { (&wendy, i % 20 != 10) } else { (&larry, i % 20 == 11) };
        let d =
            deal(app, token, json!({"name": format!("Closed {i}"), "currency": "USD", "amount_minor": 250000, "stage": "proposal"})).await;
        let close = if wins { json!({"stage": "won"}) } else { json!({"stage": "lost", "lost_reason": "Price"}) };
        let r = patch_as(app, token, &d["id"], close, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    (wendy, larry)
}

#[tokio::test]
async fn the_owners_record_predicts_and_the_report_says_so() {
    each_backend!(|app| {
        let (wendy, larry) = plant(&app).await;
        let w = deal(&app, &wendy, json!({"name": "Wendy's open", "currency": "USD", "amount_minor": 100000, "stage": "proposal"})).await;
        let l =
            deal(&app, &larry, json!({"name": "Larry's open", "currency": "USD", "amount_minor": 300000, "stage": "negotiation"})).await;
        let e =
            deal(&app, &larry, json!({"name": "Larry's euro", "currency": "EUR", "amount_minor": 55555, "stage": "qualification"})).await;
        let r = app.get("/api/v1/pipelines/1/win_probability").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let m = &r.body["model"];
        assert_eq!((m["n_closed"].as_u64(), m["n_won"].as_u64()), (Some(60), Some(30)), "{m}");
        assert_eq!(m["base_rate"].as_f64(), Some(0.5));
        let auc = m["holdout"]["auc"].as_f64().unwrap();
        assert!(auc > 0.7, "held-out AUC {auc}: {m}");
        assert!(m["holdout"]["n_test"].as_u64().unwrap() >= 10 && m["holdout"]["accuracy"].as_f64().unwrap() > 0.5, "{m}");
        let preds = r.body["predictions"].as_array().unwrap();
        assert_eq!(preds.len(), 3, "every open deal, none of the closed");
        let pred = |id: &Value| preds.iter().find(|p| p["opportunity_id"] == *id).unwrap().clone();
        let (pw, pl) = (pred(&w["id"]), pred(&l["id"]));
        assert!(pw["probability"].as_f64().unwrap() > 0.6 && pl["probability"].as_f64().unwrap() < 0.4, "{pw} {pl}");
        for (p, sign) in [(&pw, 1.0), (&pl, -1.0)] {
            let top = &p["factors"][0];
            assert_eq!(top["feature"], "owner_win_rate", "{p}");
            assert!(top["contribution"].as_f64().unwrap() * sign > 0.0, "{p}");
        }
        assert!(pw["factors"][0]["label"].as_str().unwrap().starts_with("owner often wins"), "{pw}");
        assert_eq!((pw["stage_probability"].as_f64(), pl["stage_probability"].as_f64()), (Some(0.5), Some(0.75)));
        // The weighted pipeline, per currency, both ways, against the amounts planted here.
        let weighted = r.body["weighted_pipeline"].as_array().unwrap();
        let usd = weighted.iter().find(|t| t["currency"] == "USD").unwrap();
        assert_eq!((usd["open_deals"].as_u64(), usd["amount_minor"].as_i64()), (Some(2), Some(400000)));
        assert_eq!(usd["weighted_by_stage_minor"].as_i64(), Some(100000 * 50 / 100 + 300000 * 75 / 100));
        let by_model = (100000.0 * pw["probability"].as_f64().unwrap()).round() + (300000.0 * pl["probability"].as_f64().unwrap()).round();
        assert_eq!(usd["weighted_by_model_minor"].as_f64(), Some(by_model));
        let eur = weighted.iter().find(|t| t["currency"] == "EUR").unwrap();
        assert_eq!(
            (eur["open_deals"].as_u64(), eur["amount_minor"].as_i64(), eur["weighted_by_stage_minor"].as_i64()),
            (Some(1), Some(55555), Some(5556))
        );
        assert_eq!(pred(&e["id"])["currency"], "EUR");

        // The board and the deal page read the same model through the session.
        let cookie = crate::ui::session(&app, crate::helpers::ADMIN_EMAIL).await;
        let (status, body) = crate::ui::page(&app, &format!("/pipelines/1/win_probability.json?opportunity={}", w["id"]), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        let ui: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(ui["predictions"].as_object().map(|p| p.len()), Some(3));
        assert_eq!(ui["deal"]["p"], pw["probability"]);
        assert!(ui["deal"]["factors"][0]["label"].as_str().unwrap().starts_with("owner often wins"), "{ui}");

        // Too few closed deals, as a rep who sees only their own (none closed): 422 saying so.
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        deal(&app, &rep, json!({"name": "Rep's", "currency": "USD"})).await;
        let r = app.get_as(&rep, "/api/v1/pipelines/1/win_probability").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["id".to_string()]), "{}", r.body);
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.contains("0 closed deals") && detail.contains("at least 20"), "{detail}");
        assert_eq!(app.get("/api/v1/pipelines/99/win_probability").await.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn one_outcome_only_is_refused_with_what_is_missing() {
    each_backend!(|app| {
        for i in 0..25 {
            let d = deal(&app, &app.token, json!({"name": format!("W{i}"), "currency": "USD", "amount_minor": 1000 + i})).await;
            assert_eq!(
                app.patch(&format!("/api/v1/opportunities/{}", d["id"]), json!({"stage": "won"}), None).await.status,
                StatusCode::OK
            );
        }
        let r = app.get("/api/v1/pipelines/1/win_probability").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body["detail"].as_str().unwrap().contains("0 lost deals among closed ones"), "{}", r.body);
    });
}
