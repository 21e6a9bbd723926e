//! `spawn_app` for every backend: a fresh, migrated database (a temp SQLite file, or a new
//! PostgreSQL database when `RAPPORT_TEST_POSTGRES_URL` is set) behind the real router, driven
//! in-process with `oneshot`.

use std::io::Write;
use std::sync::Once;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use rapport_domain::permissions::{Actor, Role};
use rapport_server::{AppState, Config, build_app};
use rapport_store::{NewUser, Store};
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    #[allow(dead_code)]
    pub backend: Backend,
    pub router: Router,
    pub store: Store,
    pub token: String,
    /// The database URL (for tests that act on the database directly, as time or an attacker would).
    pub url: String,
    cleanup: Option<(String, String)>,
    pub sqlite_path: Option<std::path::PathBuf>,
}

/// A response: status, headers and the JSON body (Null when empty or not JSON).
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Res {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The field names of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    }
}

fn unique_name() -> String {
    let n: u64 = rand::random();
    format!("rapport_test_{}_{n:x}", std::process::id())
}

static PG_NOTICE: Once = Once::new();

/// The backends this run can test: SQLite always, PostgreSQL when configured. Without
/// PostgreSQL the run says so loudly once (directly on stderr, past the test harness's capture).
pub fn backends() -> Vec<Backend> {
    match std::env::var("RAPPORT_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => vec![Backend::Sqlite, Backend::Postgres],
        _ => {
            PG_NOTICE.call_once(|| {
                let _ = std::io::stderr().write_all(
                    b"\n*** SKIPPED: PostgreSQL API tests (set RAPPORT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres to run every API test on PostgreSQL too) ***\n\n",
                );
            });
            vec![Backend::Sqlite]
        }
    }
}

/// A fresh app on `backend` with an admin signed in (`app.token`).
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with_keys(backend, None).await
}

/// The same, sealing sensitive columns under `keys`.
pub async fn spawn_app_with_keys(backend: Backend, keys: Option<rapport_store::crypto::SharedKeyring>) -> TestApp {
    spawn_app_with(backend, keys, Config::default()).await
}

/// The same, with `config` (another phone region, say).
pub async fn spawn_app_with(backend: Backend, keys: Option<rapport_store::crypto::SharedKeyring>, config: Config) -> TestApp {
    let name = unique_name();
    let (url, cleanup, sqlite_path) = match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            (path.display().to_string(), None, Some(path))
        }
        Backend::Postgres => {
            let admin = std::env::var("RAPPORT_TEST_POSTGRES_URL").expect("checked by backends()");
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&admin).await.expect("connect to RAPPORT_TEST_POSTGRES_URL");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin.clone());
            (format!("{base}/{name}"), Some((admin, name)), None)
        }
    };
    let store = Store::connect(&url).await.expect("connect").with_keys(keys);
    store.migrate().await.expect("migrate");
    store
        .create_user(
            &Actor::system(),
            NewUser { email: ADMIN_EMAIL.into(), name: "Admin".into(), password: PASSWORD.into(), role: Role::Admin.as_str().into() },
        )
        .await
        .expect("admin");
    let router = build_app(AppState::new(store.clone(), config));
    let mut app = TestApp { backend, router, store, token: String::new(), url: rapport_store::database_url(&url), cleanup, sqlite_path };
    app.token = app.login(ADMIN_EMAIL, PASSWORD).await;
    app
}

impl TestApp {
    /// Closes the pool and drops the test database.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some((admin, name)) = self.cleanup
            && let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await
        {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut conn).await;
        }
        if let Some(p) = self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let r =
            self.call(Method::POST, "/api/v1/auth/login", None, Some(serde_json::json!({"email": email, "password": password})), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "login as {email}: {}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    }

    /// Creates a user with `role` and returns a token for them.
    pub async fn user_token(&self, email: &str, role: Role) -> String {
        self.store
            .create_user(
                &Actor::system(),
                NewUser { email: email.into(), name: email.into(), password: PASSWORD.into(), role: role.as_str().into() },
            )
            .await
            .expect("user");
        self.login(email, PASSWORD).await
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>, headers: &[(&str, &str)]) -> Res {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Res { status, headers, body }
    }

    /// A request with a body sent as is (for bodies `call` cannot make: not JSON, oversize, trailing data).
    pub async fn call_raw(&self, method: Method, path: &str, content_type: &str, body: impl Into<Body>) -> Res {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", content_type)
            .body(body.into())
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Res { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Res {
        self.call(Method::GET, path, Some(&self.token), None, &[]).await
    }

    pub async fn get_as(&self, token: &str, path: impl AsRef<str>) -> Res {
        self.call(Method::GET, path.as_ref(), Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Res {
        self.call(Method::POST, path, Some(&self.token), Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, body: Value, if_match: Option<i64>) -> Res {
        let v = if_match.map(|v| v.to_string());
        let headers: Vec<(&str, &str)> = v.as_deref().map(|v| vec![("if-match", v)]).unwrap_or_default();
        self.call(Method::PATCH, path, Some(&self.token), Some(body), &headers).await
    }

    pub async fn delete(&self, path: &str) -> Res {
        self.call(Method::DELETE, path, Some(&self.token), None, &[]).await
    }

    /// Creates a person and returns the created record.
    pub async fn customer(&self, body: Value) -> Value {
        let r = self.post("/api/v1/customers", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    /// Creates a company and returns the created record.
    pub async fn company(&self, body: Value) -> Value {
        let r = self.post("/api/v1/companies", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    /// Names of every person `/api/v1/customers?{query}` returns, all pages.
    /// Creates a product as the admin and returns it.
    pub async fn product(&self, sku: &str, name: &str, unit_price_minor: i64, currency: &str) -> Value {
        let body = serde_json::json!({"sku": sku, "name": name, "unit_price_minor": unit_price_minor, "currency": currency});
        let r = self.post("/api/v1/products", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    /// Records a purchase as the admin: a paid order of person `customer`, dated `day`
    /// (paid at its midnight UTC), owned as the person is; `lines` as the API takes them.
    pub async fn paid_order(&self, customer: &Value, day: &str, lines: Value) -> Value {
        let body = serde_json::json!({"customer_id": customer["id"], "owner_id": customer["owner_id"], "order_date": day, "status": "paid", "lines": lines});
        let r = self.post("/api/v1/orders", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    pub async fn people(&self, query: &str) -> Vec<String> {
        self.all_names(&format!("/api/v1/customers?{query}")).await
    }

    /// Names of every person a list URL returns, following cursors to the end.
    pub async fn all_names(&self, path: &str) -> Vec<String> {
        let mut names = vec![];
        let mut url = path.to_string();
        loop {
            let r = self.get(&url).await;
            assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.body);
            names.extend(r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()));
            match r.body["next_cursor"].as_str() {
                Some(c) => url = format!("{path}{}cursor={c}", if path.contains('?') { "&" } else { "?" }),
                None => return names,
            }
        }
    }
}

/// Runs `test` once per backend on a fresh app, naming the backend if it fails.
#[macro_export]
macro_rules! each_backend {
    (|$app:ident| $body:block) => {
        for backend in $crate::helpers::backends() {
            let $app = $crate::helpers::spawn_app(backend).await;
            eprintln!("backend: {:?}", backend);
            $body
            $app.cleanup().await;
        }
    };
}

/// Moves every token's expiry into the past, as time would.
pub async fn expire_all_tokens(app: &TestApp) {
    let url = app.url.clone();
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql("UPDATE auth_tokens SET expires_at = '2000-01-01T00:00:00.000000Z'").execute(&mut conn).await.expect("expire");
}
