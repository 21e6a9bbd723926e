use axum::http::{Method, StatusCode};

use crate::each_backend;

#[tokio::test]
async fn openapi_documents_every_api_route() {
    each_backend!(|app| {
        let doc = app.call(Method::GET, "/api/v1/openapi.json", None, None, &[]).await;
        assert_eq!(doc.status, StatusCode::OK);
        let paths = doc.body["paths"].as_object().unwrap();
        for (path, methods) in [
            ("/api/v1/auth/login", vec!["post"]),
            ("/api/v1/auth/logout", vec!["post"]),
            ("/api/v1/customers", vec!["get", "post"]),
            ("/api/v1/customers/{id}", vec!["get", "patch", "delete"]),
            ("/api/v1/companies", vec!["get", "post"]),
            ("/api/v1/companies/{id}", vec!["get", "patch", "delete"]),
            ("/api/v1/custom_fields", vec!["get", "post"]),
            ("/api/v1/custom_fields/{id}", vec!["patch", "delete"]),
            ("/api/v1/customers/{id}/privacy_export", vec!["get"]),
            ("/api/v1/customers/{id}/erase", vec!["post"]),
            ("/api/v1/users/{id}", vec!["patch"]),
            ("/api/v1/teams", vec!["get", "post"]),
            ("/api/v1/teams/{id}", vec!["patch", "delete"]),
            ("/api/v1/roles", vec!["get", "post"]),
            ("/api/v1/roles/{name}", vec!["delete"]),
            ("/api/v1/tokens", vec!["get", "post"]),
            ("/api/v1/tokens/{id}", vec!["delete"]),
            ("/api/v1/audit_log", vec!["get"]),
            ("/api/v1/analytics/{kind}", vec!["post"]),
            ("/api/v1/analytics/runs/{id}", vec!["get"]),
            ("/api/v1/customers/{id}/purchases", vec!["get"]),
            ("/api/v1/products", vec!["get", "post"]),
            ("/api/v1/products/{id}", vec!["get", "patch", "delete"]),
            ("/api/v1/orders", vec!["get", "post"]),
            ("/api/v1/orders/preview", vec!["post"]),
            ("/api/v1/orders/{id}", vec!["get", "patch", "delete"]),
            ("/api/v1/orders/{id}/{action}", vec!["post"]),
            ("/api/v1/campaigns", vec!["get", "post"]),
            ("/api/v1/campaigns/{id}", vec!["get", "patch", "delete"]),
            ("/api/v1/segments", vec!["get", "post"]),
            ("/api/v1/segments/{id}", vec!["get", "patch", "delete"]),
            ("/api/v1/users", vec!["get", "post"]),
            ("/api/v1/users/me", vec!["get"]),
            ("/healthz", vec!["get"]),
            ("/metrics", vec!["get"]),
        ] {
            for m in methods {
                assert!(paths.get(path).and_then(|p| p.get(m)).is_some(), "{m} {path} is not documented");
            }
        }
        assert!(doc.body["components"]["schemas"].get("Customer").is_some());
        assert!(doc.body["components"]["schemas"].get("Problem").is_some());
        assert!(doc.body["components"]["securitySchemes"].get("bearer").is_some());
        let ui = app.call(Method::GET, "/docs/", None, None, &[]).await;
        assert_eq!(ui.status, StatusCode::OK);
        assert!(ui.body.as_str().unwrap_or("").contains("swagger"), "Swagger UI is served from the binary");
    });
}

#[tokio::test]
async fn health_metrics_and_request_ids() {
    each_backend!(|app| {
        let h = app.call(Method::GET, "/healthz", None, None, &[]).await;
        assert_eq!((h.status, h.body["status"].as_str()), (StatusCode::OK, Some("ok")));
        let r = app.get("/api/v1/customers").await;
        assert_eq!(r.header("x-request-id").len(), 36, "every response carries its request id");
        let given = app.call(Method::GET, "/api/v1/customers", Some(&app.token), None, &[("x-request-id", "trace-me-123")]).await;
        assert_eq!(given.header("x-request-id"), "trace-me-123", "a caller's id is kept");
        let m = app.call(Method::GET, "/metrics", None, None, &[]).await;
        let text = m.body.as_str().unwrap();
        assert!(text.contains(r#"rapport_http_requests_total{method="GET",route="/api/v1/customers",status="200"} 2"#), "{text}");
        assert!(text.contains("rapport_http_request_duration_seconds_bucket"));
        let missing = app.get("/api/v1/nothing-here").await;
        assert_eq!((missing.status, missing.header("content-type")), (StatusCode::NOT_FOUND, "application/problem+json"));
    });
}

/// Issue 8, item 14: the document states the contract clients are generated from.
#[tokio::test]
async fn openapi_declares_every_status_as_problem_json_with_unique_operation_ids() {
    each_backend!(|app| {
        let doc = app.call(Method::GET, "/api/v1/openapi.json", None, None, &[]).await.body;
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let what = format!("{method} {path}");
                let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{what} has no operationId"));
                assert!(ids.insert(id.to_string()), "{what}: operationId {id} is used twice");
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                for p in &params {
                    let (name, place) = (p["name"].as_str().unwrap(), p["in"].as_str().unwrap());
                    if place == "path" {
                        assert!(path.contains(&format!("{{{name}}}")), "{what}: {name} is declared in the path but is not in it");
                    }
                }
                let responses = op["responses"].as_object().unwrap();
                for (status, r) in responses {
                    assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "{what} {status} has no description");
                    if status.as_str() >= "400" {
                        let content = r["content"].as_object().unwrap();
                        assert_eq!(content.keys().collect::<Vec<_>>(), ["application/problem+json"], "{what} {status}");
                        assert_eq!(
                            content["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                            "{what} {status}"
                        );
                    }
                }
                let has = |s: &str| responses.contains_key(s);
                if op.get("security").is_some() {
                    assert!(has("401") && has("403"), "{what} does not declare 401 and 403");
                }
                if path.contains('{') {
                    assert!(has("400") && has("404"), "{what} does not declare 400 and 404");
                }
                if op.get("requestBody").is_some() {
                    assert!(has("400") && has("413") && has("422"), "{what} does not declare 400, 413 and 422");
                }
                let versioned = [
                    "customers/{id}",
                    "companies/{id}",
                    "custom_fields/{id}",
                    "teams/{id}",
                    "roles/{name}",
                    "campaigns/{id}",
                    "segments/{id}",
                    "users/{id}",
                ];
                if (method == "patch" || method == "delete") && versioned.iter().any(|v| path.ends_with(v)) {
                    assert!(params.iter().any(|p| p["name"] == "If-Match" && p["in"] == "header"), "{what} does not take If-Match");
                    assert!(has("412"), "{what} does not declare 412");
                }
            }
        }
        let names = |path: &str| -> Vec<String> {
            doc["paths"][path]["get"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
        };
        let people = names("/api/v1/customers");
        for p in ["limit", "cursor", "q", "sort", "lifecycle_stage", "company_id", "email", "rfm_tier", "segment", "updated_since"] {
            assert!(people.contains(&p.to_string()), "customers list lacks {p}");
        }
        assert!(doc["paths"]["/api/v1/customers"]["get"]["description"].as_str().unwrap().contains("custom.<key>"));
        let companies = names("/api/v1/companies");
        assert!(
            !companies.iter().any(|p| ["lifecycle_stage", "company_id", "rfm_tier", "segment", "email"].contains(&p.as_str())),
            "{companies:?}"
        );
        let limit = &doc["paths"]["/api/v1/customers"]["get"]["parameters"][0];
        assert_eq!((limit["name"].as_str(), limit["schema"]["minimum"].as_i64()), (Some("limit"), Some(1)));
        let audit = &doc["paths"]["/api/v1/audit_log"]["get"]["parameters"];
        assert!(audit.as_array().unwrap().iter().all(|p| p["in"] == "query"), "{audit}");
        let export = &doc["paths"]["/api/v1/customers/{id}/privacy_export"]["get"]["responses"]["200"];
        assert_eq!(export["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/PrivacyExport");
        let page = &doc["components"]["schemas"]["Page_Customer"]["properties"]["data"]["items"];
        assert_eq!(page["$ref"], "#/components/schemas/Customer", "a page refers to its records' schema");
        let caps = &doc["components"]["schemas"]["CustomerInput"]["properties"];
        assert_eq!((caps["additional_emails"]["maxItems"].as_i64(), caps["tags"]["maxItems"].as_i64()), (Some(10), Some(50)));
    });
}
