use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::json;

use crate::each_backend;

#[tokio::test]
async fn custom_fields_are_defined_typed_validated_and_removed() {
    each_backend!(|app| {
        let r = app
            .post("/api/v1/custom_fields", json!({"object": "customer", "key": "renewal", "label": "Renewal date", "field_type": "date"}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let field_id = r.body["id"].as_i64().unwrap();
        let dup = app.post("/api/v1/custom_fields", json!({"object": "customer", "key": "renewal", "field_type": "text"})).await;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        app.post("/api/v1/custom_fields", json!({"object": "company", "key": "renewal", "field_type": "text"})).await;
        for (body, field) in [
            (json!({"object": "customer", "key": "Bad Key", "field_type": "text"}), "key"),
            (json!({"object": "customer", "key": "level", "field_type": "single_select"}), "options"),
            (json!({"object": "customer", "key": "n", "field_type": "number", "options": ["a"]}), "options"),
        ] {
            let r = app.post("/api/v1/custom_fields", body).await;
            assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_string()]));
        }
        let r = app.post("/api/v1/custom_fields", json!({"object": "deal", "key": "x", "field_type": "text"})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["object".to_string()]));
        let listed = app.get("/api/v1/custom_fields?object=customer").await;
        assert_eq!(listed.body.as_array().unwrap().len(), 1);

        let bad = app.post("/api/v1/customers", json!({"name": "A", "custom": {"renewal": "next spring"}})).await;
        assert_eq!(bad.error_fields(), vec!["custom.renewal".to_string()]);
        let c = app.customer(json!({"name": "A", "custom": {"renewal": "2027-03-01"}})).await;
        assert_eq!(c["custom"], json!({"renewal": "2027-03-01"}));
        assert_eq!(app.all_names("/api/v1/customers?custom.renewal.gte=2027-01-01").await, ["A"]);
        let cleared = app.patch(&format!("/api/v1/customers/{}", c["id"]), json!({"custom": {"renewal": null}}), None).await;
        assert_eq!(cleared.body["custom"], json!({}));
        app.patch(&format!("/api/v1/customers/{}", c["id"]), json!({"custom": {"renewal": "2027-04-01"}}), None).await;

        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let r = app
            .call(
                Method::POST,
                "/api/v1/custom_fields",
                Some(&rep),
                Some(json!({"object": "customer", "key": "x", "field_type": "text"})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app.call(Method::DELETE, &format!("/api/v1/custom_fields/{field_id}"), Some(&rep), None, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        assert_eq!(app.delete(&format!("/api/v1/custom_fields/{field_id}")).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&format!("/api/v1/customers/{}", c["id"])).await.body["custom"], json!({}), "values go with their field");
        let r = app.post("/api/v1/customers", json!({"name": "B", "custom": {"renewal": "2027-03-01"}})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    });
}

/// Issue 8, item 16: field definitions are the schema of records, not data; a role that may
/// read and edit people needs no `custom_field` grant to list and edit them.
#[tokio::test]
async fn roles_without_custom_field_grants_list_and_edit_people() {
    each_backend!(|app| {
        app.post("/api/v1/custom_fields", json!({"object": "customer", "key": "tier", "field_type": "text"})).await;
        app.post("/api/v1/custom_fields", json!({"object": "company", "key": "region", "field_type": "text"})).await;
        let role = json!({"name": "desk", "permissions": {"grants": {"customer": ["read", "update"]}, "visibility": "all"}});
        assert!(app.post("/api/v1/roles", role).await.status.is_success());
        let user = json!({"email": "desk@example.com", "name": "Desk", "password": crate::helpers::PASSWORD, "role": "desk"});
        assert_eq!(app.post("/api/v1/users", user).await.status, StatusCode::CREATED);
        let desk = app.login("desk@example.com", crate::helpers::PASSWORD).await;
        let c = app.customer(json!({"name": "Ann", "custom": {"tier": "gold"}})).await;

        let list = app.get_as(&desk, "/api/v1/customers?custom.tier=gold").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        assert_eq!(list.body["data"][0]["name"], "Ann");
        let url = format!("/api/v1/customers/{}", c["id"]);
        let r = app.call(Method::PATCH, &url, Some(&desk), Some(json!({"custom": {"tier": "silver"}})), &[]).await;
        assert_eq!((r.status, &r.body["custom"]["tier"]), (StatusCode::OK, &json!("silver")), "{}", r.body);

        // The definitions of what they may read, and only those.
        let defs = app.get_as(&desk, "/api/v1/custom_fields").await;
        let keys: Vec<&str> = defs.body.as_array().unwrap().iter().map(|d| d["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["tier"]);
        assert_eq!(app.get_as(&desk, "/api/v1/custom_fields?object=customer").await.status, StatusCode::OK);
        assert_eq!(app.get_as(&desk, "/api/v1/custom_fields?object=company").await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get_as(&desk, "/api/v1/companies").await.status, StatusCode::FORBIDDEN);
    });
}
