//! `rapport import` and `rapport export` (issue 13 §2, §3) on SQLite and, when
//! `RAPPORT_TEST_POSTGRES_URL` is set, PostgreSQL: upserts make a second import create nothing,
//! problems are printed with line and column, rejected rows are written with their reasons, and
//! an export imports back into another database as the same people.

use sqlx::Connection;

use super::{Dir, people, rapport, text};

/// The databases to run on: a SQLite file, and a fresh PostgreSQL database if configured
/// (dropped by the returned guard's caller).
async fn databases(dir: &Dir, name: &str) -> Vec<(String, Option<String>)> {
    let mut dbs = vec![(dir.db(&format!("{name}.db")), None)];
    if let Ok(admin) = std::env::var("RAPPORT_TEST_POSTGRES_URL") {
        sqlx::any::install_default_drivers();
        let db = format!("rapport_cli_data_{:x}", rand::random::<u64>());
        let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut conn).await.unwrap();
        dbs.push((format!("{}/{db}", admin.rsplit_once('/').unwrap().0), Some(db)));
    }
    dbs
}

async fn drop_database(db: Option<String>) {
    let (Some(db), Ok(admin)) = (db, std::env::var("RAPPORT_TEST_POSTGRES_URL")) else { return };
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {db} WITH (FORCE)"))).execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn import_twice_creates_once_reports_problems_and_exports_back() {
    let dir = Dir::new();
    let csv = dir.0.join("people.csv");
    std::fs::write(
        &csv,
        "\u{feff}name;email;external_id;tags\nAnn;ann@example.com;p-1;vip|new\nBad;nope;p-2;\n=SUM(A1);sum@example.com;p-3;\n",
    )
    .unwrap();
    for (url, pg) in databases(&dir, "import").await {
        let rejects = dir.0.join("rejects.csv").display().to_string();
        let f = csv.display().to_string();
        let out =
            rapport(&dir, &["--database", &url, "import", "customers", &f, "--mode", "best-effort", "--rejects", &rejects, "--quiet"]);
        assert!(out.status.success(), "{}", text(&out));
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!((summary["created"].as_i64(), summary["rejected"].as_i64()), (Some(2), Some(1)), "{summary}");
        assert!(text(&out).contains("line 3, column email:"), "problems name line and column");
        let rejected = std::fs::read_to_string(&rejects).unwrap();
        assert!(rejected.starts_with("name,email,external_id,tags,line,problems\nBad,nope,p-2,,3,\"email: "), "{rejected}");

        let again = rapport(&dir, &["--database", &url, "import", "people", &f, "--mode", "best-effort", "--quiet"]);
        let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
        assert_eq!((summary["created"].as_i64(), summary["updated"].as_i64()), (Some(0), Some(2)), "{summary}");
        assert_eq!(people(&dir, &url).await.len(), 2);

        // All or nothing (the default): one bad row, nothing written, a failing exit.
        let out = rapport(
            &dir,
            &["--database", &url, "import", "companies", &write(&dir, "c.csv", "name,domain\nAcme,acme.io\nBad,not a domain\n"), "--quiet"],
        );
        assert!(!out.status.success());
        assert!(text(&out).contains("nothing was written"), "{}", text(&out));
        assert!(text(&out).contains("line 3, column domain:"), "{}", text(&out));

        let exported = dir.0.join("export.csv").display().to_string();
        let out = rapport(&dir, &["--database", &url, "export", "customers", "--out", &exported]);
        assert!(out.status.success(), "{}", text(&out));
        let body = std::fs::read_to_string(&exported).unwrap();
        assert!(body.contains(",'=SUM(A1),"), "formulas neutralized: {body}");
        let jsonl = rapport(&dir, &["--database", &url, "export", "customers", "--format", "jsonl"]);
        assert_eq!(String::from_utf8_lossy(&jsonl.stdout).lines().count(), 2);

        // The export imports into an empty database as the same people.
        let copy = dir.db("copy.db");
        let out = rapport(&dir, &["--database", &copy, "import", "customers", &exported, "--quiet"]);
        assert!(out.status.success(), "{}", text(&out));
        let mut a = people(&dir, &url).await;
        let mut b = people(&dir, &copy).await;
        a.sort();
        b.sort();
        assert_eq!(a, b, "round trip");
        let _ = std::fs::remove_file(&copy);
        drop_database(pg).await;
    }
}

fn write(dir: &Dir, name: &str, body: &str) -> String {
    let p = dir.0.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}
