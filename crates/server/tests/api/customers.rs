use axum::http::StatusCode;
use serde_json::json;

use crate::each_backend;

#[tokio::test]
async fn create_read_update_delete_a_person() {
    each_backend!(|app| {
        let co = app.company(json!({"name": "Acme Corp", "domain": "https://www.acme.example/about"})).await;
        assert_eq!(co["domain"], "acme.example");
        let r = app
            .post(
                "/api/v1/customers",
                json!({"name": " Zoë Ng ", "email": "Zoe.Ng@Example.COM", "phone": "(415) 555-0134", "company_id": co["id"],
                       "lifecycle_stage": "prospect", "tags": ["vip", "beta", "vip"], "address": {"city": "Zürich", "country": "CH"},
                       "needs": "Wants a demo", "source": "web form"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.body["id"].as_i64().unwrap();
        assert_eq!(r.header("location"), format!("/api/v1/customers/{id}"));
        assert_eq!(r.header("etag"), "\"1\"");
        let c = &r.body;
        assert_eq!(
            (c["name"].as_str(), c["email"].as_str(), c["phone"].as_str()),
            (Some("Zoë Ng"), Some("zoe.ng@example.com"), Some("+14155550134"))
        );
        assert_eq!(c["company_name"], "Acme Corp");
        assert_eq!(c["tags"], json!(["beta", "vip"]));
        assert_eq!(c["version"], 1);
        assert!(c["created_at"].as_str().unwrap().ends_with('Z'));

        let got = app.get(&format!("/api/v1/customers/{id}")).await;
        assert_eq!(got.body, r.body);

        let p =
            app.patch(&format!("/api/v1/customers/{id}"), json!({"lifecycle_stage": "customer", "needs": null, "tags": []}), Some(1)).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        assert_eq!(
            (p.body["lifecycle_stage"].as_str(), p.body["needs"].is_null(), p.body["version"].as_i64()),
            (Some("customer"), true, Some(2))
        );
        assert_eq!(p.body["email"], "zoe.ng@example.com", "absent fields keep their values");
        assert_eq!(p.header("etag"), "\"2\"");

        assert_eq!(app.delete(&format!("/api/v1/customers/{id}")).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&format!("/api/v1/customers/{id}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.delete(&format!("/api/v1/customers/{id}")).await.status, StatusCode::NOT_FOUND);
        assert!(app.get("/api/v1/customers").await.body["data"].as_array().unwrap().is_empty());
        // The email is free again once its owner is deleted.
        app.customer(json!({"name": "Zoë Again", "email": "zoe.ng@example.com"})).await;
    });
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    each_backend!(|app| {
        app.customer(json!({"name": "Taken", "email": "taken@example.com"})).await;
        let cases = [
            (json!({"name": "A", "email": "not-an-email"}), StatusCode::UNPROCESSABLE_ENTITY, "email"),
            (json!({"name": "A", "phone": "call me maybe"}), StatusCode::UNPROCESSABLE_ENTITY, "phone"),
            (json!({"name": "A", "phone": "12"}), StatusCode::UNPROCESSABLE_ENTITY, "phone"),
            (json!({"name": "A", "company_id": 999}), StatusCode::UNPROCESSABLE_ENTITY, "company_id"),
            (json!({"name": "A", "owner_id": 999}), StatusCode::UNPROCESSABLE_ENTITY, "owner_id"),
            (json!({"name": "A", "custom": {"shoe_size": 42}}), StatusCode::UNPROCESSABLE_ENTITY, "custom.shoe_size"),
            (json!({"name": "x".repeat(201)}), StatusCode::UNPROCESSABLE_ENTITY, "name"),
            (json!({"name": "A", "address": {"city": "y".repeat(101)}}), StatusCode::UNPROCESSABLE_ENTITY, "address.city"),
            (json!({"email": "a@example.com"}), StatusCode::UNPROCESSABLE_ENTITY, "name"),
            (json!({"name": 5}), StatusCode::BAD_REQUEST, "name"),
            (json!({"name": "A", "tags": "vip"}), StatusCode::BAD_REQUEST, "tags"),
            (json!({"name": "A", "lifecycle_stage": "friend"}), StatusCode::BAD_REQUEST, "lifecycle_stage"),
            (json!({"name": "A", "favourite_colour": "blue"}), StatusCode::BAD_REQUEST, "favourite_colour"),
            (json!({"name": "A", "email": "TAKEN@example.com"}), StatusCode::CONFLICT, "email"),
        ];
        for (body, status, field) in cases {
            let r = app.post("/api/v1/customers", body.clone()).await;
            assert_eq!(r.status, status, "{body}: {}", r.body);
            assert_eq!(r.header("content-type"), "application/problem+json");
            assert!(r.error_fields().iter().any(|f| f == field), "{body} should name {field}: {}", r.body);
            assert!(!r.body["detail"].as_str().unwrap_or("").is_empty());
        }
        let r =
            app.call(axum::http::Method::POST, "/api/v1/customers", Some(&app.token), None, &[("content-type", "application/json")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let list = app.get("/api/v1/customers").await;
        assert_eq!(list.body["data"].as_array().unwrap().len(), 1, "no rejected row was written");

        // A rejected update leaves the record exactly as it was.
        let c = app.customer(json!({"name": "Keep Me", "email": "keep@example.com", "tags": ["a"]})).await;
        let path = format!("/api/v1/customers/{}", c["id"]);
        let r = app.patch(&path, json!({"name": "Changed", "tags": ["b"], "email": "taken@example.com"}), None).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        let r = app.patch(&path, json!({"name": "Changed", "tags": ["b"], "company_id": 12345}), None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.get(&path).await.body, c);
        assert_eq!(app.get("/api/v1/customers?tag=b").await.body["data"], json!([]));
    });
}

#[tokio::test]
async fn stale_if_match_is_refused_with_412() {
    each_backend!(|app| {
        let c = app.customer(json!({"name": "Ann"})).await;
        let path = format!("/api/v1/customers/{}", c["id"]);
        assert_eq!(app.patch(&path, json!({"source": "first editor"}), Some(1)).await.status, StatusCode::OK);
        let second = app.patch(&path, json!({"source": "second editor"}), Some(1)).await;
        assert_eq!(second.status, StatusCode::PRECONDITION_FAILED, "{}", second.body);
        assert!(second.body["detail"].as_str().unwrap().contains("version 2"));
        assert_eq!(app.get(&path).await.body["source"], "first editor", "the first edit survives");
        let quoted =
            app.call(axum::http::Method::PATCH, &path, Some(&app.token), Some(json!({"source": "third"})), &[("if-match", "\"2\"")]).await;
        assert_eq!(quoted.status, StatusCode::OK);
        let bad =
            app.call(axum::http::Method::PATCH, &path, Some(&app.token), Some(json!({"source": "x"})), &[("if-match", "yesterday")]).await;
        assert_eq!((bad.status, bad.error_fields()), (StatusCode::BAD_REQUEST, vec!["If-Match".to_string()]));
        let del = app.call(axum::http::Method::DELETE, &path, Some(&app.token), None, &[("if-match", "1")]).await;
        assert_eq!(del.status, StatusCode::PRECONDITION_FAILED);
    });
}

#[tokio::test]
async fn concurrent_edits_never_silently_overwrite() {
    each_backend!(|app| {
        let c = app.customer(json!({"name": "Race"})).await;
        let path = format!("/api/v1/customers/{}", c["id"]);
        let (a, b) = tokio::join!(app.patch(&path, json!({"source": "a"}), Some(1)), app.patch(&path, json!({"source": "b"}), Some(1)));
        let statuses = [a.status, b.status];
        assert!(statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::PRECONDITION_FAILED), "{statuses:?}");
        let winner = if a.status == StatusCode::OK { "a" } else { "b" };
        assert_eq!(app.get(&path).await.body["source"], winner);
    });
}
