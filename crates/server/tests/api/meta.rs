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
            ("/api/v1/customers/{id}/purchases", vec!["get", "post"]),
            ("/api/v1/campaigns", vec!["get", "post"]),
            ("/api/v1/campaigns/{id}", vec!["patch", "delete"]),
            ("/api/v1/users", vec!["get", "post"]),
            ("/api/v1/users/me", vec!["get"]),
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
