//! Issue 12 §1–2: campaigns on the record machinery (lifecycle, members, responses) and
//! segments (rules over every field kind, nesting, engagement, exclusion, validation, counts
//! that equal the people list, and a rep's counts limited to the people the rep may see).

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;

fn campaign(name: &str) -> Value {
    json!({"name": name, "channel": "email", "budget_minor": 50_000, "currency": "EUR", "starts_on": "2026-01-01", "ends_on": "2026-01-31"})
}

async fn count(app: &TestApp, rules: Value) -> i64 {
    let r = app.post("/api/v1/segments/preview_count", json!({"rules": rules})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["count"].as_i64().unwrap()
}

async fn segment(app: &TestApp, body: Value) -> i64 {
    let r = app.post("/api/v1/segments", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

async fn respond(app: &TestApp, members: &str, p: &Value, state: &str) -> crate::helpers::Res {
    app.post(&format!("{members}/{}/responses", p["id"]), json!({"state": state})).await
}

async fn members_of(app: &TestApp, segment: i64) -> Vec<String> {
    let mut names = app.people(&format!("segment_id={segment}")).await;
    names.sort();
    names
}

#[tokio::test]
async fn campaigns_move_through_their_lifecycle_and_patch_only_what_is_sent() {
    each_backend!(|app| {
        let bad = app
            .post(
                "/api/v1/campaigns",
                json!({"name": "X", "channel": "search", "currency": "EUR", "starts_on": "2026-01-01", "ends_on": "2026-01-31"}),
            )
            .await;
        assert_eq!(bad.error_fields(), ["channel"], "the old channel names are gone: {}", bad.body);
        let c = app.post("/api/v1/campaigns", campaign("Spring sale")).await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
        assert_eq!(c.body["status"], "planned");
        let url = format!("/api/v1/campaigns/{}", c.body["id"]);
        let r = app.patch(&url, json!({"actual_spend_minor": 12_345}), Some(1)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            (r.body["actual_spend_minor"].as_i64(), r.body["budget_minor"].as_i64(), r.body["name"].as_str()),
            (Some(12_345), Some(50_000), Some("Spring sale"))
        );
        let skip = app.patch(&url, json!({"status": "completed"}), None).await;
        assert_eq!(skip.status, StatusCode::CONFLICT, "{}", skip.body);
        assert!(
            skip.body.to_string().contains("active") && skip.body.to_string().contains("cancelled"),
            "names the allowed steps: {}",
            skip.body
        );
        assert_eq!(app.patch(&url, json!({"status": "active"}), None).await.body["status"], "active");
        assert_eq!(app.patch(&url, json!({"status": "completed"}), None).await.body["status"], "completed");
        assert_eq!(app.patch(&url, json!({"status": "active"}), None).await.status, StatusCode::CONFLICT, "completed is final");
        // A parent must exist and must not lead back to the campaign.
        let child = app.post("/api/v1/campaigns", json!({"parent_id": c.body["id"], "name": "Spring email", "channel": "sms", "currency": "EUR", "starts_on": "2026-01-02", "ends_on": "2026-01-09"})).await;
        assert_eq!(child.status, StatusCode::CREATED, "{}", child.body);
        assert_eq!(child.body["parent_name"], "Spring sale");
        let r = app.patch(&url, json!({"parent_id": child.body["id"]}), None).await;
        assert_eq!(r.error_fields(), ["parent_id"], "{}", r.body);
        assert_eq!(app.post("/api/v1/campaigns", json!({"segment_id": 999, "name": "Q", "channel": "sms", "currency": "EUR", "starts_on": "2026-01-02", "ends_on": "2026-01-09"})).await.error_fields(), ["segment_id"]);
        // Lists filter, sort and search.
        let names = |r: &crate::helpers::Res| {
            r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(names(&app.get("/api/v1/campaigns?channel=sms").await), ["Spring email"]);
        assert_eq!(names(&app.get("/api/v1/campaigns?sort=-starts_on").await), ["Spring email", "Spring sale"]);
        assert_eq!(names(&app.get("/api/v1/campaigns?q=email").await), ["Spring email"]);
        assert_eq!(names(&app.get("/api/v1/campaigns?status=completed").await), ["Spring sale"]);
        assert_eq!(app.get("/api/v1/campaigns?colour=red").await.status, StatusCode::BAD_REQUEST);
    });
}

#[tokio::test]
async fn segment_rules_cover_each_field_kind_nest_and_count_what_the_list_shows() {
    each_backend!(|app| {
        let f = app
            .post("/api/v1/custom_fields", json!({"object": "customer", "key": "shoe_size", "label": "Shoe size", "field_type": "number"}))
            .await;
        assert_eq!(f.status, StatusCode::CREATED, "{}", f.body);
        let acme = app.company(json!({"name": "Acme", "industry": "Retail"})).await;
        let ann = app.customer(json!({"name": "Ann", "address": {"country": "DE"}, "tags": ["vip"], "company_id": acme["id"], "custom": {"shoe_size": 38}})).await;
        let bob = app.customer(json!({"name": "Bob", "address": {"country": "FR"}, "custom": {"shoe_size": 44}})).await;
        let cy = app.customer(json!({"name": "Cy", "address": {"country": "DE"}})).await;
        let plan = app.product("P1", "Plan", 10_000, "EUR").await;
        let today = chrono::Utc::now().date_naive();
        let recent = (today - chrono::Duration::days(10)).to_string();
        app.paid_order(&ann, &recent, json!([{"product_id": plan["id"], "quantity": 3}])).await;
        app.paid_order(&bob, "2020-01-15", json!([{"product_id": plan["id"]}])).await;
        let _ = cy;
        let cond = |field: &str, op: &str, value: Value| json!({"field": field, "op": op, "value": value});
        assert_eq!(count(&app, cond("address.country", "eq", json!("DE"))).await, 2, "a person field");
        assert_eq!(count(&app, cond("address.country", "ne", json!("DE"))).await, 1);
        assert_eq!(count(&app, cond("tag", "has", json!("vip"))).await, 1, "tags");
        assert_eq!(count(&app, cond("tag", "has_not", json!("vip"))).await, 2);
        assert_eq!(count(&app, cond("custom.shoe_size", "gt", json!(40))).await, 1, "a custom field");
        assert_eq!(count(&app, cond("company.industry", "eq", json!("Retail"))).await, 1, "a company field");
        assert_eq!(count(&app, cond("orders.total_spend", "gte", json!(20_000))).await, 1, "total spend");
        assert_eq!(count(&app, cond("orders.count", "eq", json!(0))).await, 1, "order count: Cy has none");
        assert_eq!(count(&app, cond("orders.last_order_date", "within_last_days", json!(30))).await, 1, "last order date");
        assert_eq!(count(&app, cond("orders.last_order_date", "not_within_last_days", json!(30))).await, 2, "Bob's is old, Cy has none");
        assert_eq!(count(&app, cond("address.country", "in", json!(["DE", "FR"]))).await, 3);
        assert_eq!(count(&app, cond("address.city", "is_empty", Value::Null)).await, 3);
        // Nesting: DE and (spent a lot or wears large shoes), and not vip.
        let nested = json!({"all": [cond("address.country", "eq", json!("DE")),
            {"any": [cond("orders.total_spend", "gte", json!(20_000)), cond("custom.shoe_size", "gte", json!(40))]}]});
        assert_eq!(count(&app, nested.clone()).await, 1);
        assert_eq!(count(&app, json!({"not": nested.clone()})).await, 2, "not is the complement");
        let id = segment(&app, json!({"name": "Big DE spenders", "rules": nested})).await;
        assert_eq!(members_of(&app, id).await, ["Ann"], "the people list filtered by segment");
        assert_eq!(app.get(&format!("/api/v1/segments/{id}/count")).await.body["count"], 1);
        // Exclusion: everyone in DE but the big spenders.
        let de = segment(&app, json!({"name": "DE", "rules": cond("address.country", "eq", json!("DE")), "exclude": [id]})).await;
        assert_eq!(members_of(&app, de).await, ["Cy"]);
        assert_eq!(app.get(&format!("/api/v1/segments/{de}/count")).await.body["count"], 1, "the count equals the list");
        let r = app.patch(&format!("/api/v1/segments/{id}"), json!({"exclude": [de]}), None).await;
        assert_eq!(r.error_fields(), ["exclude[0]"], "a loop of exclusions is refused: {}", r.body);
        // A static list: people join by API.
        let list = segment(&app, json!({"name": "Hand-picked", "kind": "static"})).await;
        let r = app.post(&format!("/api/v1/segments/{list}/members"), json!({"person_ids": [bob["id"], cy["id"]]})).await;
        assert_eq!(r.body["changed"], 2, "{}", r.body);
        assert_eq!(members_of(&app, list).await, ["Bob", "Cy"]);
        assert_eq!(
            app.post(&format!("/api/v1/segments/{id}/members"), json!({"person_ids": [bob["id"]]})).await.error_fields(),
            ["segment_id"]
        );
        assert_eq!(app.get("/api/v1/customers?segment_id=999").await.status, StatusCode::BAD_REQUEST);
    });
}

#[tokio::test]
async fn wrong_rules_are_refused_naming_their_path() {
    each_backend!(|app| {
        let r = app
            .post(
                "/api/v1/segments",
                json!({"name": "Bad", "rules": {"all": [
            {"field": "address.country", "op": "eq", "value": "DE"},
            {"field": "shoe_size", "op": "eq", "value": 1},
            {"any": [{"field": "orders.count", "op": "contains", "value": 1}, {"field": "created_at", "op": "gt", "value": "soon"}]}]}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), ["rules.all[1].field", "rules.all[2].any[0].op", "rules.all[2].any[1].value"]);
        let r = app.post("/api/v1/segments/preview_count", json!({"rules": {"field": "custom.nope", "op": "eq", "value": 1}})).await;
        assert_eq!(r.error_fields(), ["rules.field"]);
        assert_eq!(app.post("/api/v1/segments", json!({"name": "Empty"})).await.error_fields(), ["rules"]);
        let f = app.get("/api/v1/segments/fields").await;
        assert!(f.body.as_array().unwrap().iter().any(|f| f["field"] == "engagement.opened" && f["ops"] == json!(["eq"])), "{}", f.body);
    });
}

#[tokio::test]
async fn members_join_from_ids_and_segments_and_their_responses_only_move_forward() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann", "address": {"country": "DE"}})).await;
        let bob = app.customer(json!({"name": "Bob", "address": {"country": "DE"}})).await;
        let cy = app.customer(json!({"name": "Cy", "address": {"country": "FR"}})).await;
        let de = segment(&app, json!({"name": "DE", "rules": {"field": "address.country", "op": "eq", "value": "DE"}})).await;
        let c = app.post("/api/v1/campaigns", campaign("Launch")).await.body;
        let cid = c["id"].as_i64().unwrap();
        let members = format!("/api/v1/campaigns/{cid}/members");
        assert_eq!(app.post(&members, json!({"segment_id": de})).await.body["added"], 2);
        assert_eq!(app.post(&members, json!({"person_ids": [ann["id"], cy["id"]]})).await.body["added"], 1, "Ann was already a member");
        let page = app.get(&members).await;
        assert_eq!(page.body["data"].as_array().unwrap().len(), 3, "{}", page.body);
        assert_eq!(page.body["data"][0]["source"], "segment");
        assert_eq!(page.body["counts"]["member"], 3);
        assert_eq!(respond(&app, &members, &ann, "clicked").await.body["status"], "clicked");
        let late = respond(&app, &members, &ann, "opened").await;
        assert_eq!((late.body["status"].as_str(), late.body["changed"].as_bool()), (Some("clicked"), Some(false)), "{}", late.body);
        assert_eq!(respond(&app, &members, &bob, "sent").await.body["status"], "sent");
        assert_eq!(respond(&app, &members, &bob, "bounced").await.body["status"], "bounced");
        let after = respond(&app, &members, &bob, "opened").await;
        assert_eq!(after.status, StatusCode::CONFLICT, "bounced ends the path: {}", after.body);
        assert_eq!(respond(&app, &members, &cy, "telepathy").await.error_fields(), ["state"]);
        let outsider = app.customer(json!({"name": "Dee"})).await;
        assert_eq!(respond(&app, &members, &outsider, "sent").await.status, StatusCode::NOT_FOUND);
        let counts = app.get(&members).await.body["counts"].clone();
        assert_eq!(
            (counts["clicked"].as_i64(), counts["bounced"].as_i64(), counts["member"].as_i64()),
            (Some(1), Some(1), Some(1)),
            "{counts}"
        );
        assert_eq!(app.get(&format!("/api/v1/campaigns/{cid}")).await.body["members_count"], 3);
        assert_eq!(app.get(&format!("{members}?status=clicked")).await.body["data"][0]["person_name"], "Ann");
        // Engagement rules read the members: a click counts as an open.
        let cond = |field: &str| json!({"field": field, "op": "eq", "value": cid});
        assert_eq!(count(&app, cond("engagement.opened")).await, 1);
        assert_eq!(count(&app, cond("engagement.member")).await, 3);
        assert_eq!(count(&app, cond("engagement.received")).await, 1, "Ann; Bob bounced");
        assert_eq!(count(&app, json!({"all": [cond("engagement.member"), {"not": cond("engagement.clicked")}]})).await, 2);
        // A finished campaign takes no new members.
        app.patch(&format!("/api/v1/campaigns/{cid}"), json!({"status": "cancelled"}), None).await;
        assert_eq!(app.post(&members, json!({"person_ids": [outsider["id"]]})).await.status, StatusCode::CONFLICT);
    });
}

#[tokio::test]
async fn a_reps_segment_counts_only_the_people_the_rep_may_see() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let marketer = app.user_token("mk@example.com", Role::Marketer).await;
        for n in ["Own one", "Own two"] {
            let r =
                app.call(Method::POST, "/api/v1/customers", Some(&rep), Some(json!({"name": n, "address": {"country": "DE"}})), &[]).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        app.customer(json!({"name": "Admin's", "address": {"country": "DE"}})).await;
        let r = app
            .call(
                Method::POST,
                "/api/v1/segments",
                Some(&marketer),
                Some(json!({"name": "DE", "rules": {"field": "address.country", "op": "eq", "value": "DE"}})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let url = format!("/api/v1/segments/{}/count", r.body["id"]);
        assert_eq!(app.call(Method::GET, &url, Some(&marketer), None, &[]).await.body["count"], 3);
        assert_eq!(app.call(Method::GET, &url, Some(&rep), None, &[]).await.body["count"], 2);
        let list = app.call(Method::GET, &format!("/api/v1/customers?segment_id={}", r.body["id"]), Some(&rep), None, &[]).await;
        assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
        let r = app.call(Method::POST, "/api/v1/segments", Some(&rep), Some(json!({"name": "Mine", "rules": {"all": []}})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "reps read segments, marketers make them");
    });
}
