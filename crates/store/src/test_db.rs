//! Fresh databases for the store's own tests: a SQLite file, and a PostgreSQL database when
//! `RAPPORT_TEST_POSTGRES_URL` names a server (skipped otherwise), each removed afterwards.

use std::future::Future;

use sqlx::Row;

use crate::sql::Sql;
use crate::{Backend, Store};

/// Runs `check` on a new, unmigrated SQLite file named after `name`.
pub(crate) async fn on_sqlite<F: Future<Output = ()>>(name: &str, check: impl FnOnce(Store) -> F) {
    let path = std::env::temp_dir().join(format!("rapport-{name}-{}-{}.db", std::process::id(), rand::random::<u32>()));
    check(Store::connect(path.to_str().unwrap()).await.unwrap()).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Runs `check` on a new, unmigrated PostgreSQL database named after `name`, if a server is given.
pub(crate) async fn on_postgres<F: Future<Output = ()>>(name: &str, check: impl FnOnce(Store) -> F) {
    use sqlx::Connection;
    let Ok(admin) = std::env::var("RAPPORT_TEST_POSTGRES_URL") else { return };
    sqlx::any::install_default_drivers();
    let db = format!("rapport_{name}_{}_{:x}", std::process::id(), rand::random::<u32>());
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut conn).await.unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin.clone());
    check(Store::connect(&format!("{base}/{db}")).await.unwrap()).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))).execute(&mut conn).await.unwrap();
}

/// The plan of `q`, one line per step. PostgreSQL is told to avoid sequential scans, so that
/// on the few rows of a test database a plan shows the index it would use at scale.
pub(crate) async fn plan(store: &Store, q: &Sql) -> Vec<String> {
    match store.backend {
        Backend::Sqlite => {
            let rows = q.prefixed("EXPLAIN QUERY PLAN ").fetch_all(&store.pool).await.expect("explain");
            rows.iter().map(|r| r.try_get::<String, _>("detail").expect("detail")).collect()
        }
        Backend::Postgres => {
            let mut tx = store.pool.begin().await.expect("begin");
            sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await.expect("set");
            let rows = q.prefixed("EXPLAIN ").fetch_all(&mut *tx).await.expect("explain");
            rows.iter().map(|r| r.try_get::<String, _>(0).expect("plan line")).collect()
        }
    }
}
