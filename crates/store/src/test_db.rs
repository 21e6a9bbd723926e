//! Fresh databases for the store's own tests: a SQLite file, and a PostgreSQL database when
//! `RAPPORT_TEST_POSTGRES_URL` names a server (skipped otherwise), each removed afterwards.

use std::future::Future;

use crate::Store;

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
