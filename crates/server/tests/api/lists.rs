use axum::http::StatusCode;
use serde_json::json;

use crate::each_backend;

#[tokio::test]
async fn cursor_pages_cover_every_record_once_in_order() {
    each_backend!(|app| {
        let names = ["bea", "Ann", "ann", "Cleo", "Ávila", "dan", "Eve", "ann", "Bob", "Zed", "émile", "Fay"];
        for n in names {
            app.customer(json!({"name": n})).await;
        }
        let got = app.all_names("/api/v1/customers?limit=5").await;
        let mut expected: Vec<(String, usize)> = names.iter().enumerate().map(|(i, n)| (rapport_domain::text::fold(n), i)).collect();
        expected.sort();
        let expected: Vec<String> = expected.into_iter().map(|(_, i)| names[i].to_string()).collect();
        assert_eq!(got, expected, "name order ignores case and accents; ties by id");
        let mut desc = app.all_names("/api/v1/customers?limit=4&sort=-name").await;
        desc.reverse();
        let fold: Vec<String> = desc.iter().map(|n| rapport_domain::text::fold(n)).collect();
        let exp_fold: Vec<String> = expected.iter().map(|n| rapport_domain::text::fold(n)).collect();
        assert_eq!(fold, exp_fold);
        let by_created = app.all_names("/api/v1/customers?limit=3&sort=created_at").await;
        assert_eq!(by_created, names.to_vec());
        let bad = app.get("/api/v1/customers?cursor=garbage").await;
        assert_eq!((bad.status, bad.error_fields()), (StatusCode::BAD_REQUEST, vec!["cursor".to_string()]));
        let first = app.get("/api/v1/customers?limit=2&sort=name").await;
        let c = first.body["next_cursor"].as_str().unwrap();
        let mismatched = app.get(&format!("/api/v1/customers?limit=2&sort=-created_at&cursor={c}")).await;
        assert_eq!(mismatched.status, StatusCode::BAD_REQUEST, "a cursor belongs to its sort");
    });
}

#[tokio::test]
async fn filters_narrow_the_list() {
    each_backend!(|app| {
        let rep = app.store.list_users(&rapport_domain::permissions::Actor::system()).await.unwrap()[0].id;
        let co = app.company(json!({"name": "Globex"})).await;
        app.post("/api/v1/custom_fields", json!({"object": "customer", "key": "budget", "field_type": "number"})).await;
        app.post("/api/v1/custom_fields", json!({"object": "customer", "key": "vip", "field_type": "boolean"})).await;
        app.post(
            "/api/v1/custom_fields",
            json!({"object": "customer", "key": "tier", "field_type": "single_select", "options": ["gold", "silver"]}),
        )
        .await;
        app.customer(json!({"name": "A", "tags": ["vip"], "lifecycle_stage": "customer", "company_id": co["id"], "owner_id": rep, "custom": {"budget": 500, "vip": true, "tier": "gold"}})).await;
        app.customer(json!({"name": "B", "owner_id": null, "tags": ["newsletter"], "lifecycle_stage": "lead", "custom": {"budget": 5000, "vip": false, "tier": "silver"}})).await;
        app.customer(
            json!({"name": "C", "owner_id": null, "tags": ["vip", "newsletter"], "lifecycle_stage": "customer", "custom": {"budget": 50}}),
        )
        .await;
        assert_eq!(app.people("tag=vip").await, ["A", "C"]);
        assert_eq!(app.people("tag=vip&lifecycle_stage=customer&tag=newsletter").await, ["C"], "repeated filters: last one wins for tag");
        assert_eq!(app.people(&format!("company_id={}", co["id"])).await, ["A"]);
        assert_eq!(app.people(&format!("owner_id={rep}")).await, ["A"]);
        assert_eq!(app.people("lifecycle_stage=lead").await, ["B"]);
        assert_eq!(app.people("custom.budget.gte=500").await, ["A", "B"]);
        assert_eq!(app.people("custom.budget.lte=500&custom.budget.gte=100").await, ["A"]);
        assert_eq!(app.people("custom.budget=50").await, ["C"]);
        assert_eq!(app.people("custom.vip=true").await, ["A"]);
        assert_eq!(app.people("custom.vip=false").await, ["B"]);
        assert_eq!(app.people("custom.tier=silver").await, ["B"]);
        assert_eq!(app.people("created_after=2000-01-01&created_before=2999-01-01").await, ["A", "B", "C"]);
        assert!(app.people("created_after=2999-01-01").await.is_empty());
        for (bad, field) in [
            ("lifecycle_stage=friend", "lifecycle_stage"),
            ("custom.nope=1", "custom.nope"),
            ("custom.budget=lots", "custom.budget"),
            ("custom.tier.gte=gold", "custom.tier.gte"),
            ("limit=0", "limit"),
            ("limit=100000", "limit"),
            ("created_after=last%20week", "created_after"),
            ("sort=shoe_size", "sort"),
            ("colour=blue", "colour"),
        ] {
            let r = app.get(&format!("/api/v1/customers?{bad}")).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
            assert_eq!(r.error_fields(), vec![field.to_string()], "{bad}");
        }
    });
}

#[tokio::test]
async fn search_is_ranked_and_tolerant_of_case_and_accents() {
    each_backend!(|app| {
        let co = app.company(json!({"name": "Bäckerei Schmidt"})).await;
        app.customer(json!({"name": "Zoë Ångström", "email": "zoe@north.example", "phone": "+1 415 555 0134"})).await;
        app.customer(json!({"name": "José Müller", "email": "jm@example.com", "company_id": co["id"]})).await;
        app.customer(json!({"name": "Zoe Zoe Zoellner", "email": "zz@example.com"})).await;
        app.customer(json!({"name": "Peter Pan", "email": "peter@neverland.example"})).await;
        let zoe = app.people("q=ZOE").await;
        assert_eq!(zoe.len(), 2);
        assert_eq!(zoe[0], "Zoe Zoe Zoellner", "more matching terms rank first");
        assert_eq!(app.people("q=angstrom").await, ["Zoë Ångström"]);
        assert_eq!(app.people("q=müll").await, ["José Müller"], "prefixes match");
        assert_eq!(app.people("q=jose%20mul").await, ["José Müller"], "every term must match");
        assert_eq!(app.people("q=backerei").await, ["José Müller"], "company names are searched");
        assert_eq!(app.people("q=neverland").await, ["Peter Pan"], "email domains are searched");
        assert_eq!(app.people("q=(415)%20555-0134").await, ["Zoë Ångström"], "phones in any format");
        assert_eq!(app.people("q=555%200134").await, ["Zoë Ångström"]);
        assert!(app.people("q=nobody").await.is_empty());
        assert_eq!(app.all_names("/api/v1/customers?q=zoe&sort=name").await, ["Zoë Ångström", "Zoe Zoe Zoellner"]);
        // Renaming the company keeps its people findable by the new name.
        app.patch(&format!("/api/v1/companies/{}", co["id"]), json!({"name": "Konditorei Weiß"}), None).await;
        assert_eq!(app.people("q=konditorei").await, ["José Müller"]);
        assert!(app.people("q=backerei").await.is_empty());
        // Search pages like any list.
        for i in 0..7 {
            app.customer(json!({"name": format!("Zoë Number {i}")})).await;
        }
        assert_eq!(app.all_names("/api/v1/customers?q=zoe&limit=3").await.len(), 9);
    });
}

#[tokio::test]
async fn updated_since_reports_changes_and_tombstones_in_order() {
    each_backend!(|app| {
        let a = app.customer(json!({"name": "A"})).await;
        let b = app.customer(json!({"name": "B"})).await;
        let since = b["updated_at"].as_str().unwrap().to_string();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        app.patch(&format!("/api/v1/customers/{}", a["id"]), json!({"source": "changed"}), None).await;
        app.delete(&format!("/api/v1/customers/{}", b["id"])).await;
        let c = app.customer(json!({"name": "C"})).await;
        let r = app.get(&format!("/api/v1/customers?updated_since={since}&limit=2")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let page1 = r.body["data"].as_array().unwrap().clone();
        assert_eq!(page1.iter().map(|x| x["id"].clone()).collect::<Vec<_>>(), [a["id"].clone(), b["id"].clone()]);
        assert_eq!(page1[0]["name"], "A");
        assert!(page1[0].get("deleted_at").is_none());
        assert!(page1[1]["deleted_at"].is_string(), "deleted records come back as tombstones");
        assert_eq!(page1[1]["name"], "", "a tombstone carries nothing of the person");
        let next = r.body["next_cursor"].as_str().unwrap();
        let r2 = app.get(&format!("/api/v1/customers?updated_since={since}&limit=2&cursor={next}")).await;
        assert_eq!(r2.body["data"][0]["id"], c["id"]);
        assert!(r2.body["next_cursor"].is_null());
        let latest = r2.body["data"][0]["updated_at"].as_str().unwrap();
        assert!(app.get(&format!("/api/v1/customers?updated_since={latest}")).await.body["data"].as_array().unwrap().is_empty());
    });
}
