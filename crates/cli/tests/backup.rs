//! `rapport backup` and `rapport restore` (issue 3, item 7), on SQLite and, when
//! `RAPPORT_TEST_POSTGRES_URL` is set, on PostgreSQL: round trips of the demo company, a backup
//! taken while a writer keeps creating people (the restored data is exactly one point in
//! time), a SQLite backup restored into PostgreSQL, and the refusals (non-empty target,
//! truncated or corrupt file, newer schema). Failures print each command with its output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rapport_domain::customer::CustomerInput;
use rapport_domain::permissions::Actor;
use rapport_domain::query::{ListParams, SortField};
use rapport_store::Store;
use rapport_store::crypto::{Keyring, SharedKeyring};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, Row};

struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let p = std::env::temp_dir().join(format!("rapport-backup-{}-{:x}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rapport(dir: &Dir, db: &str, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .arg("--database")
        .arg(db)
        .args(args)
        .current_dir(&dir.0)
        .env_remove("RAPPORT_DATABASE_URL")
        .output()
        .unwrap();
    eprintln!(
        "$ rapport --database {db} {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "command failed: {}", text(o));
    text(o)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Engine {
    Sqlite,
    Postgres,
}

fn postgres_url() -> Option<String> {
    std::env::var("RAPPORT_TEST_POSTGRES_URL").ok()
}

fn skipped_without_postgres() -> bool {
    let skip = postgres_url().is_none();
    if skip {
        use std::io::Write;
        let _ = std::io::stderr().write_all(
            b"\n*** SKIPPED: backup tests on PostgreSQL (set RAPPORT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres) ***\n\n",
        );
    }
    skip
}

fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Sqlite];
    if !skipped_without_postgres() {
        v.push(Engine::Postgres);
    }
    v
}

/// A fresh database: a file in `dir`, or a uniquely named PostgreSQL database dropped by `drop`.
struct Db {
    url: String,
    pg_name: Option<String>,
}

impl Db {
    async fn new(engine: Engine, dir: &Dir, name: &str) -> Db {
        match engine {
            Engine::Sqlite => Db { url: dir.path(&format!("{name}.db")).display().to_string(), pg_name: None },
            Engine::Postgres => {
                let admin = postgres_url().expect("checked by engines()");
                let pg = format!("rapport_backup_{name}_{:x}", rand::random::<u64>());
                sqlx::any::install_default_drivers();
                let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {pg}"))).execute(&mut conn).await.unwrap();
                Db { url: format!("{}/{pg}", admin.rsplit_once('/').unwrap().0), pg_name: Some(pg) }
            }
        }
    }

    /// The store as `rapport` opens it from `dir`: with the key file `demo` created there
    /// (every database of a test shares it, as restoring encrypted fields needs the same key).
    async fn store(&self, dir: &Dir) -> Store {
        let key = dir.path("rapport.key");
        let keys = key.exists().then(|| SharedKeyring::fixed(Keyring::load(&key).unwrap()));
        let s = Store::connect(&self.url).await.unwrap().with_keys(keys);
        s.migrate().await.unwrap();
        s
    }

    async fn drop(self) {
        if let Some(pg) = self.pg_name {
            let admin = postgres_url().unwrap();
            let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {pg} WITH (FORCE)"))).execute(&mut conn).await.unwrap();
        }
    }
}

/// A backup file's content: table → rows as {column: value}, sorted.
type Content = BTreeMap<String, Vec<BTreeMap<String, Value>>>;

fn read_backup(path: &Path) -> (serde_json::Map<String, Value>, Content) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let mut content = Content::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        if let Some(t) = v.get("table") {
            let cols = v["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
            let t = t.as_str().unwrap().to_string();
            content.entry(t.clone()).or_default();
            current = Some((t, cols));
        } else if let Value::Array(row) = v {
            let (t, cols) = current.as_ref().unwrap();
            content.get_mut(t).unwrap().push(cols.iter().cloned().zip(row).collect());
        }
    }
    // Rows go in primary-key order, and text keys sort by each engine's collation: compare
    // sets of rows, not sequences.
    for rows in content.values_mut() {
        rows.sort_by_cached_key(|r| serde_json::to_string(r).unwrap());
    }
    (header.as_object().unwrap().clone(), content)
}

/// Removes the audit rows that restores and backups add, which are not part of the data, and
/// the service summary's rows that count nothing (left behind by writes that moved a ticket's
/// contribution elsewhere): a restore recounts the summary from the tickets.
fn without_operator_rows(mut c: Content) -> Content {
    if let Some(rows) = c.get_mut("audit_log") {
        rows.retain(|r| r["object"] != "database");
    }
    if let Some(rows) = c.get_mut("service_daily") {
        rows.retain(|r| r["n"] != 0);
    }
    c
}

/// Every person, in id order, as JSON (through the store's public API).
async fn customers(store: &Store) -> Vec<Value> {
    let mut all = vec![];
    let mut p = ListParams { limit: 500, sort: SortField::Id, ..Default::default() };
    loop {
        let page = store.list_customers(&Actor::system(), &p).await.unwrap();
        all.extend(page.data.iter().map(|c| serde_json::to_value(c).unwrap()));
        match page.next_cursor {
            Some(c) => p.cursor = Some(c),
            None => break,
        }
    }
    all
}

async fn count(url: &str, table: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&rapport_store::database_url(url)).await.unwrap();
    let n = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}")))
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap();
    conn.close().await.unwrap();
    n
}

/// Ids of people whose creation the audit log records.
async fn audited_creations(url: &str) -> Vec<i64> {
    let mut conn = sqlx::AnyConnection::connect(&rapport_store::database_url(url)).await.unwrap();
    let ids = sqlx::query("SELECT record_id FROM audit_log WHERE object = 'customer' AND action = 'create' ORDER BY record_id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<i64, _>("record_id").unwrap())
        .collect();
    conn.close().await.unwrap();
    ids
}

fn search(q: &str) -> ListParams {
    ListParams { limit: 500, sort: SortField::Id, terms: vec![q.to_string()], ..Default::default() }
}

/// Builds the demo company in `db` through the binary.
fn demo(dir: &Dir, db: &Db) {
    ok(&rapport(dir, &db.url, &["demo", "--people", "300", "--no-serve"]));
}

#[tokio::test]
async fn a_backup_of_the_demo_company_restores_to_equal_data() {
    for engine in engines() {
        let dir = Dir::new();
        let a = Db::new(engine, &dir, "a").await;
        demo(&dir, &a);
        let file = dir.path("a.backup");
        let out = ok(&rapport(&dir, &a.url, &["backup", file.to_str().unwrap()]));
        assert!(out.contains("Backed up"), "{engine:?}: {out}");
        let (header, original) = read_backup(&file);
        assert_eq!(header["format"], "rapport-backup");
        assert!(!header["migrations"].as_array().unwrap().is_empty());
        // The file holds every row of every table (counted independently).
        for (table, rows) in &original {
            assert_eq!(
                count(&a.url, table).await,
                rows.len() as i64 + i64::from(table == "audit_log"),
                "{engine:?}: table {table} (plus the backup's own audit row)"
            );
        }
        for t in ["users", "companies", "customers", "customer_tags", "audit_log"] {
            assert!(!original[t].is_empty(), "{engine:?}: {t} has rows");
        }
        assert!(
            !original.keys().any(|t| t.contains("fts") || t == "_sqlx_migrations"),
            "{engine:?}: only data tables: {:?}",
            original.keys()
        );

        let b = Db::new(engine, &dir, "b").await;
        let out = ok(&rapport(&dir, &b.url, &["restore", file.to_str().unwrap()]));
        assert!(out.contains("Restored"), "{out}");
        let again = dir.path("b.backup");
        ok(&rapport(&dir, &b.url, &["backup", again.to_str().unwrap()]));
        let (_, restored) = read_backup(&again);
        assert_eq!(
            without_operator_rows(restored),
            without_operator_rows(original),
            "{engine:?}: every table's rows survive the round trip"
        );

        let (sa, sb) = (a.store(&dir).await, b.store(&dir).await);
        let people = customers(&sa).await;
        assert_eq!(people.len(), 300);
        assert_eq!(customers(&sb).await, people, "{engine:?}: same people");
        // Full-text search works on the restored data (SQLite FTS5 rebuilt by its triggers,
        // PostgreSQL's generated tsvector recomputed).
        let name = people[7]["name"].as_str().unwrap().to_lowercase();
        let word = name.split_whitespace().last().unwrap();
        let hits = |s: &Store| {
            let s = s.clone();
            let q = search(word);
            async move { s.list_customers(&Actor::system(), &q).await.unwrap().data.iter().map(|c| c.id).collect::<Vec<_>>() }
        };
        let found = hits(&sb).await;
        assert!(!found.is_empty(), "{engine:?}: search for {word} finds people");
        assert_eq!(found, hits(&sa).await, "{engine:?}: same search results");
        // New records continue after the restored ids (PostgreSQL sequences were moved).
        let max = people.iter().map(|p| p["id"].as_i64().unwrap()).max().unwrap();
        let new = sb
            .create_customer(&Actor::system(), || {
                CustomerInput {
                    name: Some("After Restore".into()),
                    email: Some(Some("after.restore@example.test".into())),
                    ..Default::default()
                }
                .apply(None, &[], rapport_domain::values::Region::US)
            })
            .await
            .unwrap();
        assert_eq!(new.id, max + 1, "{engine:?}");
        sa.close().await;
        sb.close().await;
        a.drop().await;
        b.drop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_backup_taken_during_writes_restores_exactly_one_point_in_time() {
    for engine in engines() {
        let dir = Dir::new();
        let a = Db::new(engine, &dir, "live").await;
        demo(&dir, &a);
        let store = a.store(&dir).await;
        let stop = Arc::new(AtomicBool::new(false));
        // The writer: people created one per transaction (with their audit row), each id
        // recorded with the instant its transaction committed.
        let writer = {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                let mut created: Vec<(i64, Instant)> = vec![];
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let c = store
                        .create_customer(&Actor::system(), || {
                            CustomerInput {
                                name: Some(format!("Writer Number{i}")),
                                email: Some(Some(format!("writer{i}@example.test"))),
                                tags: Some(vec!["written-live".into()]),
                                ..Default::default()
                            }
                            .apply(None, &[], rapport_domain::values::Region::US)
                        })
                        .await
                        .unwrap();
                    created.push((c.id, Instant::now()));
                }
                created
            })
        };
        let initial = 300;
        let wait_for = |n: usize| {
            let store = store.clone();
            async move {
                loop {
                    if count_live(&store).await >= n {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        };
        wait_for(initial + 20).await;
        let file = dir.path("live.backup");
        let started = Instant::now();
        let summary = store.backup(&file).await.unwrap();
        let finished = Instant::now();
        let after_backup = count_live(&store).await;
        wait_for(after_backup + 20).await;
        stop.store(true, Ordering::Relaxed);
        let created = writer.await.unwrap();
        let during = created.iter().filter(|(_, t)| *t > started && *t < finished).count();
        eprintln!(
            "{engine:?}: {} people written, {during} while the backup ran ({:?}); backup holds {:?}",
            created.len(),
            finished - started,
            summary.tables
        );
        assert!(during > 0, "{engine:?}: writes committed while the backup was reading");

        let b = Db::new(engine, &dir, "snapshot").await;
        let restored_store = b.store(&dir).await;
        let r = restored_store.restore(&file, false).await.unwrap();
        assert_eq!(r.tables, summary.tables);

        let all = customers(&store).await;
        let restored = customers(&restored_store).await;
        let ids: Vec<i64> = created.iter().map(|(id, _)| *id).collect();
        let kept: Vec<i64> = restored.iter().map(|c| c["id"].as_i64().unwrap()).filter(|id| ids.contains(id)).collect();
        // The snapshot is one instant: the people it holds are exactly the first k written…
        assert_eq!(kept, ids[..kept.len()], "{engine:?}: a prefix of the writes");
        assert!(
            kept.len() >= 20 && kept.len() <= ids.len() - 20,
            "{engine:?}: writes before and after the snapshot ({} of {})",
            kept.len(),
            ids.len()
        );
        // …every restored row equals the original, nothing else is there…
        assert_eq!(restored.len(), initial + kept.len());
        assert_eq!(restored, all[..restored.len()], "{engine:?}: restored rows equal the originals");
        // …and tables written in the same transactions agree: each restored person has its
        // audit row and its tag row, and no audit row or tag row names a person left out.
        let audited: Vec<i64> = audited_creations(&b.url).await.into_iter().filter(|id| ids.contains(id)).collect();
        assert_eq!(audited, kept, "{engine:?}: audit rows match the people");
        let tagged = count(&b.url, "customer_tags WHERE tag = 'written-live'").await;
        assert_eq!(tagged as usize, kept.len(), "{engine:?}: tag rows match the people");
        assert_eq!(count(&b.url, "customer_tags").await, summary.tables.iter().find(|(t, _)| t == "customer_tags").unwrap().1 as i64);
        store.close().await;
        restored_store.close().await;
        a.drop().await;
        b.drop().await;
    }
}

async fn count_live(store: &Store) -> usize {
    let mut n = 0;
    let mut p = ListParams { limit: 500, sort: SortField::Id, ..Default::default() };
    loop {
        let page = store.list_customers(&Actor::system(), &p).await.unwrap();
        n += page.data.len();
        match page.next_cursor {
            Some(c) => p.cursor = Some(c),
            None => return n,
        }
    }
}

#[tokio::test]
async fn a_sqlite_backup_restores_into_postgres() {
    if skipped_without_postgres() {
        return;
    }
    let dir = Dir::new();
    let lite = Db::new(Engine::Sqlite, &dir, "lite").await;
    demo(&dir, &lite);
    let file = dir.path("lite.backup");
    ok(&rapport(&dir, &lite.url, &["backup", file.to_str().unwrap()]));
    let pg = Db::new(Engine::Postgres, &dir, "grown").await;
    let out = ok(&rapport(&dir, &pg.url, &["restore", file.to_str().unwrap()]));
    assert!(out.contains("a sqlite backup"), "{out}");
    // The restore loads orders with their statistics trigger off and recounts the statistics
    // at the end (the comparison below checks them): the trigger is on again.
    let mut db = sqlx::AnyConnection::connect(&pg.url).await.unwrap();
    let enabled: String = sqlx::query("SELECT CAST(tgenabled AS TEXT) AS e FROM pg_trigger WHERE tgname = 'orders_stats'")
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get("e");
    assert_eq!(enabled, "O", "the order statistics trigger fires again after a restore");
    let again = dir.path("grown.backup");
    ok(&rapport(&dir, &pg.url, &["backup", again.to_str().unwrap()]));
    let (header, from_pg) = read_backup(&again);
    assert_eq!(header["backend"], "postgres");
    assert_eq!(without_operator_rows(from_pg), without_operator_rows(read_backup(&file).1), "PostgreSQL holds exactly the SQLite data");
    let (sl, sp) = (lite.store(&dir).await, pg.store(&dir).await);
    assert_eq!(customers(&sp).await, customers(&sl).await);
    // And back: the PostgreSQL backup restores into a new SQLite file.
    let back = Db::new(Engine::Sqlite, &dir, "back").await;
    ok(&rapport(&dir, &back.url, &["restore", again.to_str().unwrap()]));
    let sb = back.store(&dir).await;
    assert_eq!(customers(&sb).await, customers(&sl).await);
    sl.close().await;
    sp.close().await;
    sb.close().await;
    pg.drop().await;
}

/// Writes `lines` as a file next to `file` and returns its path.
fn variant(file: &Path, name: &str, lines: &[&str], tail: &str) -> PathBuf {
    let p = file.with_file_name(name);
    let mut s = lines.join("\n");
    s.push('\n');
    s.push_str(tail);
    std::fs::write(&p, s).unwrap();
    p
}

#[tokio::test]
async fn restore_refuses_a_database_with_data_and_a_damaged_file() {
    for engine in engines() {
        let dir = Dir::new();
        let a = Db::new(engine, &dir, "src").await;
        demo(&dir, &a);
        let file = dir.path("src.backup");
        ok(&rapport(&dir, &a.url, &["backup", file.to_str().unwrap()]));
        let people = count(&a.url, "customers").await;

        // A database holding data is left alone unless --force.
        let out = rapport(&dir, &a.url, &["restore", file.to_str().unwrap()]);
        assert!(!out.status.success());
        assert!(text(&out).contains("not empty") && text(&out).contains("--force"), "{engine:?}: {}", text(&out));
        let extra = a.store(&dir).await;
        extra
            .create_customer(&Actor::system(), || {
                CustomerInput { name: Some("Not In The Backup".into()), ..Default::default() }.apply(
                    None,
                    &[],
                    rapport_domain::values::Region::US,
                )
            })
            .await
            .unwrap();
        extra.close().await;
        assert_eq!(count(&a.url, "customers").await, people + 1);
        let out = ok(&rapport(&dir, &a.url, &["restore", "--force", file.to_str().unwrap()]));
        assert!(out.contains("erased"), "{out}");
        assert_eq!(count(&a.url, "customers").await, people, "{engine:?}: --force replaces the data with the backup's");

        let text_of = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text_of.lines().collect();
        let n = lines.len();
        let target = Db::new(engine, &dir, "dst").await;
        let refused = |path: PathBuf, wants: Vec<String>| {
            let (dir, url) = (&dir, target.url.clone());
            async move {
                let out = rapport(dir, &url, &["restore", path.to_str().unwrap()]);
                assert!(!out.status.success(), "{engine:?}: {path:?} is refused");
                for w in wants {
                    assert!(text(&out).contains(&w), "{engine:?}: {path:?}: wants {w:?} in {}", text(&out));
                }
                // All or nothing: the rows before the damage were rolled back.
                assert_eq!(count(&url, "customers").await, 0, "{engine:?}: {path:?}");
                assert_eq!(count(&url, "users").await, 0, "{engine:?}: {path:?}");
            }
        };
        // Cut at a line end: the end line is missing.
        refused(variant(&file, "cut.backup", &lines[..n - 5], ""), vec![format!("line {}", n - 5), "truncated".into()]).await;
        // Cut inside a line.
        let half = &lines[n - 3][..lines[n - 3].len() / 2];
        refused(variant(&file, "half.backup", &lines[..n - 3], half), vec![format!("line {}", n - 2), "truncated".into()]).await;
        // A garbled row late in the file, after thousands of rows were inserted.
        let mut garbled = lines.clone();
        garbled[n - 4] = "[1, \"oops\"";
        refused(variant(&file, "garbled.backup", &garbled, ""), vec![format!("line {}", n - 3), "not valid JSON".into()]).await;
        // A row of the wrong shape.
        let mut short = lines.clone();
        let row_line = lines.iter().position(|l| l.starts_with('[')).unwrap();
        short[row_line] = "[1]";
        refused(variant(&file, "short.backup", &short, ""), vec![format!("line {}", row_line + 1), "has 1 values".into()]).await;
        // A row dropped: the end line's counts catch it.
        let mut dropped = lines.clone();
        dropped.remove(lines.iter().rposition(|l| l.starts_with('[')).unwrap());
        refused(variant(&file, "dropped.backup", &dropped, ""), vec!["damaged".into()]).await;
        // Not a backup at all.
        refused(variant(&file, "other.backup", &["name,email", "a,b"], ""), vec!["line 1".into(), "not valid JSON".into()]).await;
        // A backup from a newer Rapport (a migration this binary lacks).
        let mut header: Value = serde_json::from_str(lines[0]).unwrap();
        header["migrations"].as_array_mut().unwrap().push(99999.into());
        let header = header.to_string();
        let mut newer = lines.clone();
        newer[0] = &header;
        refused(variant(&file, "newer.backup", &newer, ""), vec!["newer version of Rapport".into(), "99999".into()]).await;
        // The undamaged file still restores into the same database.
        ok(&rapport(&dir, &target.url, &["restore", file.to_str().unwrap()]));
        assert_eq!(count(&target.url, "customers").await, people);
        a.drop().await;
        target.drop().await;
    }
}
