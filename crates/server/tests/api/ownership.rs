//! Who owns a record, and what leaks across ownership (issue 8, items 1–3).

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::json;

use crate::each_backend;
use crate::helpers::TestApp;

async fn user_id(app: &TestApp, token: &str) -> i64 {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_record_created_without_owner_belongs_to_its_creator() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let rep_id = user_id(&app, &rep).await;
        for plural in ["customers", "companies"] {
            let r = app.call(Method::POST, &format!("/api/v1/{plural}"), Some(&rep), Some(json!({"name": "Mine"})), &[]).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            assert_eq!(r.body["owner_id"], rep_id, "{plural}: the creator owns it");
            let r = app.post(&format!("/api/v1/{plural}"), json!({"name": "The admin's"})).await;
            assert_ne!(r.body["owner_id"], json!(null), "{plural}: an admin's record is theirs unless they ask otherwise");
            // So a second rep in no team of the first does not reach it.
            let other = app.user_token(&format!("other-{plural}@example.com"), Role::SalesRep).await;
            let path = format!("/api/v1/{plural}/{}", r.body["id"]);
            assert_eq!(app.get_as(&other, &path).await.status, StatusCode::NOT_FOUND);
        }
    });
}

#[tokio::test]
async fn only_roles_that_assign_make_unowned_records_or_give_them_away() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let mate = app.user_token("mate@example.com", Role::SalesRep).await;
        let stranger = app.user_token("stranger@example.com", Role::SalesRep).await;
        let boss = app.user_token("boss@example.com", Role::Manager).await;
        let (rep_id, mate_id, stranger_id) = (user_id(&app, &rep).await, user_id(&app, &mate).await, user_id(&app, &stranger).await);
        app.post("/api/v1/teams", json!({"name": "East", "visibility": "private", "member_ids": [rep_id, mate_id]})).await;
        for plural in ["customers", "companies"] {
            let create = |token: &str, owner: serde_json::Value| {
                let token = token.to_string();
                let app = &app;
                async move {
                    app.call(Method::POST, &format!("/api/v1/{plural}"), Some(&token), Some(json!({"name": "X", "owner_id": owner})), &[])
                        .await
                }
            };
            for owner in [json!(null), json!(stranger_id)] {
                let r = create(&rep, owner.clone()).await;
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{plural}, owner {owner}: {}", r.body);
                assert_eq!(r.error_fields(), ["owner_id"]);
            }
            assert_eq!(create(&rep, json!(mate_id)).await.status, StatusCode::CREATED, "a teammate may get it");
            assert_eq!(create(&boss, json!(null)).await.status, StatusCode::CREATED, "managers may leave records unowned");
            assert_eq!(create(&boss, json!(stranger_id)).await.status, StatusCode::CREATED, "and give them to anyone");
            // Giving an own record away later is held to the same rule.
            let mine = create(&rep, json!(rep_id)).await.body;
            let path = format!("/api/v1/{plural}/{}", mine["id"]);
            let r = app.call(Method::PATCH, &path, Some(&rep), Some(json!({"owner_id": stranger_id})), &[]).await;
            assert_eq!((r.status, r.error_fields()), (StatusCode::FORBIDDEN, vec!["owner_id".to_string()]));
            assert_eq!(app.get_as(&rep, &path).await.body["owner_id"], rep_id, "nothing changed");
            // Edits that leave the owner alone need no grant.
            let r = app.call(Method::PATCH, &path, Some(&rep), Some(json!({"name": "Renamed"})), &[]).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    });
}

#[tokio::test]
async fn a_company_out_of_reach_is_as_unknown_as_a_missing_one() {
    each_backend!(|app| {
        let rep_a = app.user_token("a@example.com", Role::SalesRep).await;
        let rep_b = app.user_token("b@example.com", Role::SalesRep).await;
        let b_id = user_id(&app, &rep_b).await;
        let private = app.company(json!({"name": "Secret Ventures", "owner_id": b_id})).await;
        let person = app.call(Method::POST, "/api/v1/customers", Some(&rep_a), Some(json!({"name": "Ann"})), &[]).await.body;
        let path = format!("/api/v1/customers/{}", person["id"]);
        let linked = app.call(Method::PATCH, &path, Some(&rep_a), Some(json!({"company_id": private["id"]})), &[]).await;
        let missing = app.call(Method::PATCH, &path, Some(&rep_a), Some(json!({"company_id": 999_999})), &[]).await;
        assert_eq!(linked.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", linked.body);
        assert_eq!(linked.error_fields(), ["company_id"]);
        assert!(!linked.body.to_string().contains("Secret"), "the name does not leak: {}", linked.body);
        assert_eq!(
            linked.body["errors"][0]["message"].as_str().unwrap().replace(&private["id"].to_string(), "N"),
            missing.body["errors"][0]["message"].as_str().unwrap().replace("999999", "N"),
            "refused exactly like an unknown id"
        );
        // When someone who may see both links them, the rep sees the link but not the name.
        app.patch(&path, json!({"company_id": private["id"]}), None).await;
        let seen = app.get_as(&rep_a, &path).await;
        assert_eq!(seen.body["company_id"], private["id"]);
        assert_eq!(seen.body["company_name"], json!(null), "{}", seen.body);
        let listed = app.get_as(&rep_a, "/api/v1/customers").await;
        assert!(!listed.body.to_string().contains("Secret"));
        // The rep can still edit the person without the hidden link getting in the way.
        let r = app.call(Method::PATCH, &path, Some(&rep_a), Some(json!({"source": "fair"})), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["company_name"], json!(null), "the answer does not name it either");
        // people_count counts only people the caller may see.
        app.call(Method::POST, "/api/v1/customers", Some(&rep_b), Some(json!({"name": "Bea", "company_id": private["id"]})), &[]).await;
        let shared = app.company(json!({"name": "Shared", "owner_id": null})).await;
        for (token, name) in [(&rep_a, "Al"), (&rep_b, "Bo")] {
            let r = app
                .call(Method::POST, "/api/v1/customers", Some(token), Some(json!({"name": name, "company_id": shared["id"]})), &[])
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        }
        let shared_path = format!("/api/v1/companies/{}", shared["id"]);
        assert_eq!(app.get(&shared_path).await.body["people_count"], 2);
        assert_eq!(app.get_as(&rep_a, &shared_path).await.body["people_count"], 1, "Bo is out of A's reach");
        assert_eq!(app.get(&format!("/api/v1/companies/{}", private["id"])).await.body["people_count"], 2);
    });
}

#[tokio::test]
async fn deleting_a_company_unlinks_each_person_as_a_change_of_its_own() {
    each_backend!(|app| {
        let co = app.company(json!({"name": "Initech"})).await;
        let a = app.customer(json!({"name": "Peter", "company_id": co["id"]})).await;
        let b = app.customer(json!({"name": "Milton", "company_id": co["id"]})).await;
        // A rename is a change of what its people show: sync clients fetch them again.
        let token = app.get("/api/v1/customers?updated_since=2000-01-01").await.body["sync_token"].as_str().unwrap().to_string();
        app.patch(&format!("/api/v1/companies/{}", co["id"]), json!({"name": "Initrode"}), None).await;
        let changed = app.get(&format!("/api/v1/customers?sync_token={token}")).await;
        let names: Vec<&str> = changed.body["data"].as_array().unwrap().iter().map(|c| c["company_name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Initrode", "Initrode"], "{}", changed.body);
        let after_rename = app.get(&format!("/api/v1/customers/{}", a["id"])).await.body;
        assert!(after_rename["updated_at"].as_str() > a["updated_at"].as_str());
        assert_eq!(after_rename["version"], a["version"], "the person's own fields did not change");
        let r = app.delete(&format!("/api/v1/companies/{}", co["id"])).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        for p in [&a, &b] {
            let now = app.get(&format!("/api/v1/customers/{}", p["id"])).await.body;
            assert_eq!(now["company_id"], json!(null));
            assert_eq!(now["version"], p["version"].as_i64().unwrap() + 1, "each person gets a new version");
            assert!(now["updated_at"].as_str() > after_rename["updated_at"].as_str());
            let audit = app.get(&format!("/api/v1/audit_log?object=customer&record_id={}&action=update", p["id"])).await;
            let entries = audit.body.as_array().unwrap();
            assert_eq!(entries.len(), 1, "one audit row per unlinked person: {}", audit.body);
            assert_eq!(entries[0]["diff"]["company_id"], json!([co["id"], null]));
        }
    });
}
