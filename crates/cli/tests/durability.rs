//! No acknowledged write is lost when the server dies: `rapport serve` on a SQLite file takes a
//! stream of creates from several clients and is killed (SIGKILL, no shutdown of any kind) in the
//! middle of it; every create it answered 201 to must be in the database afterwards, and the
//! database must pass SQLite's integrity check. Webhook events survive the same kind of death:
//! killed mid-delivery and restarted, the server still delivers every event at least once.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};

use rapport_domain::permissions::Actor;
use rapport_store::Store;
use sqlx::Connection;

mod sync_mirror;

/// An admin `boss@example.com` in a new SQLite file under a new directory; the directory and
/// the database's path.
fn new_database(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("rapport-{name}-{}-{:x}", std::process::id(), rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("d.db").display().to_string();
    let made = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["--database", &db, "user", "create", "--admin", "--email", "boss@example.com", "--password", "long enough secret"])
        .current_dir(&dir)
        .env_remove("RAPPORT_DATABASE_URL")
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    (dir, db)
}

/// A bearer token of the admin [`new_database`] made.
fn login(conn: &mut std::net::TcpStream) -> String {
    let (_, login) = request(conn, "POST", "/api/v1/auth/login", None, r#"{"email":"boss@example.com","password":"long enough secret"}"#)
        .expect("login");
    serde_json::from_str::<serde_json::Value>(&login).unwrap()["token"].as_str().unwrap().to_string()
}

/// Creates each client sends at most; the server is killed long before.
const PER_CLIENT: usize = 5_000;
const CLIENTS: usize = 4;
/// Acknowledged creates to wait for before the kill.
const KILL_AFTER: usize = 300;

/// One HTTP/1.1 request on `s` (kept alive): the status and the body, or None once the server is gone.
fn request(s: &mut std::net::TcpStream, method: &str, path: &str, token: Option<&str>, body: &str) -> Option<(u16, String)> {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: rapport\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(format!("{head}{body}").as_bytes()).ok()?;
    // Read the head byte by byte up to its blank line, then exactly Content-Length bytes.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let status = head.get(9..12)?.parse().ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim().to_string()))?
        .parse()
        .ok()?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some((status, String::from_utf8_lossy(&body).to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_create_survives_a_kill() {
    let (dir, db) = new_database("durability");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = start_server(&db, &dir, &addr);
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let token = login(&mut conn);

    // Each client streams creates on its own connection and records what was acknowledged.
    let acked = Arc::new((Mutex::new(Vec::<(i64, String)>::new()), Condvar::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (addr, token, acked) = (addr.clone(), token.clone(), acked.clone());
            std::thread::spawn(move || {
                let Ok(mut s) = std::net::TcpStream::connect(&addr) else { return };
                for i in 0..PER_CLIENT {
                    let email = format!("c{c}-{i}@example.com");
                    let body = serde_json::json!({"name": format!("Client {c} number {i}"), "email": email}).to_string();
                    let Some((status, answer)) = request(&mut s, "POST", "/api/v1/customers", Some(&token), &body) else { return };
                    assert_eq!(status, 201, "{answer}");
                    let id = serde_json::from_str::<serde_json::Value>(&answer).unwrap()["id"].as_i64().unwrap();
                    let (list, more) = &*acked;
                    list.lock().unwrap().push((id, email));
                    more.notify_all();
                }
            })
        })
        .collect();
    {
        let (list, more) = &*acked;
        let list = more.wait_while(list.lock().unwrap(), |l| l.len() < KILL_AFTER).unwrap();
        drop(list);
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.0.lock().unwrap().clone();
    assert!(acked.len() >= KILL_AFTER && acked.len() < CLIENTS * PER_CLIENT, "the kill came mid-stream ({} acknowledged)", acked.len());

    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{db}")).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut raw).await.unwrap();
    assert_eq!(check, "ok");
    raw.close().await.unwrap();
    let store = Store::connect(&db).await.unwrap();
    for (id, email) in &acked {
        let got = store.get_customer(&Actor::system(), *id).await.unwrap_or_else(|e| panic!("acknowledged create {id} is lost: {e}"));
        assert_eq!(got.data.email.as_deref(), Some(email.as_str()));
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A webhook receiver on loopback that answers each POST after `delay` (a slow receiver, so the
/// kill lands while deliveries are in flight) and records every body with its signature.
/// The bodies and signatures a receiver got, and a signal for each new one.
type Seen = Arc<(Mutex<Vec<(String, String)>>, Condvar)>;

fn slow_receiver(delay: std::time::Duration) -> (u16, Seen) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let (mut len, mut signature) = (0usize, String::new());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        match k.to_ascii_lowercase().as_str() {
                            "content-length" => len = v.trim().parse().unwrap_or(0),
                            "rapport-signature" => signature = v.trim().to_string(),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0u8; len];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                {
                    let (list, more) = &*record;
                    list.lock().unwrap().push((String::from_utf8_lossy(&body).to_string(), signature));
                    more.notify_all();
                }
                std::thread::sleep(delay);
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            });
        }
    });
    (port, seen)
}

fn start_server(db: &str, dir: &std::path::Path, addr: &str) -> std::process::Child {
    start_server_with(db, dir, addr, &[])
}

fn start_server_with(db: &str, dir: &std::path::Path, addr: &str, extra: &[&str]) -> std::process::Child {
    let mut server = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["--database", db, "serve", "--addr", addr, "--webhook-lease-secs", "11", "--sla-interval", "0"])
        .args(extra)
        .current_dir(dir)
        .env_remove("RAPPORT_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains("serving on"))), "the server never listened");
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_events_are_delivered_after_a_kill_mid_delivery() {
    const EVENTS: usize = 12;
    let (dir, db) = new_database("webhook-kill");
    let (hook_port, seen) = slow_receiver(std::time::Duration::from_millis(1500));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    println!("webhook receiver: http://127.0.0.1:{hook_port}/hook, server: http://{addr}");
    let mut server = start_server(&db, &dir, &addr);

    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let token = login(&mut conn);
    let (status, _) = request(
        &mut conn,
        "PUT",
        "/api/v1/webhooks/settings",
        Some(&token),
        r#"{"allow_private_targets":true,"disable_after_failures":50}"#,
    )
    .unwrap();
    assert_eq!(status, 200);
    let sub = serde_json::json!({"url": format!("http://127.0.0.1:{hook_port}/hook"), "events": ["customer.created"]}).to_string();
    let (status, answer) = request(&mut conn, "POST", "/api/v1/webhooks", Some(&token), &sub).unwrap();
    assert_eq!(status, 201, "{answer}");
    let secret = serde_json::from_str::<serde_json::Value>(&answer).unwrap()["secret"].as_str().unwrap().to_string();
    let mut people = std::collections::BTreeSet::new();
    for i in 0..EVENTS {
        let (status, answer) =
            request(&mut conn, "POST", "/api/v1/customers", Some(&token), &format!(r#"{{"name":"Hooked {i}"}}"#)).unwrap();
        assert_eq!(status, 201, "{answer}");
        people.insert(serde_json::from_str::<serde_json::Value>(&answer).unwrap()["id"].as_i64().unwrap());
    }

    // Kill it while the first deliveries wait for the slow receiver's answer.
    {
        let (list, more) = &*seen;
        drop(more.wait_while(list.lock().unwrap(), |l| l.is_empty()).unwrap());
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    // No delivery was answered before the kill (the receiver waits 1.5 s), so the killed server
    // recorded none: the restarted one must post every event again, from the outbox.
    let (list, more) = &*seen;
    let before_restart = list.lock().unwrap().len();
    let mut server = start_server(&db, &dir, &addr);

    // Every event arrives again, each with a signature that verifies.
    let delivered = |l: &[(String, String)]| {
        l.iter()
            .filter_map(|(b, _)| serde_json::from_str::<serde_json::Value>(b).ok()?["record_id"].as_i64())
            .collect::<std::collections::BTreeSet<_>>()
    };
    {
        let (got, timeout) = more
            .wait_timeout_while(list.lock().unwrap(), std::time::Duration::from_secs(90), |l| delivered(&l[before_restart..]) != people)
            .unwrap();
        assert!(!timeout.timed_out(), "only {:?} of {people:?} arrived after the restart", delivered(&got[before_restart..]));
        for (body, signature) in got.iter() {
            let t: i64 = signature.strip_prefix("t=").and_then(|s| s.split(',').next()).unwrap().parse().unwrap();
            assert_eq!(*signature, rapport_server::webhooks::signature(&secret, t, body));
        }
    }
    // And the restarted server records them delivered.
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, list) = request(&mut conn, "GET", "/api/v1/webhooks/deliveries?state=delivered", Some(&token), "").unwrap();
        let n = serde_json::from_str::<serde_json::Value>(&list).unwrap().as_array().map_or(0, Vec::len);
        if n == EVENTS {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{n} of {EVENTS} deliveries recorded as delivered");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Rows of the import killed mid-way; the importer commits them a chunk at a time.
const IMPORT_ROWS: usize = 15_000;

/// `rapport import` killed (SIGKILL) in the middle of a file and run again: every chunk it
/// committed is there whole (a multiple of the chunk size, each row as the file has it), none
/// half-written, the database passes its integrity check, and the second run finishes the file
/// without duplicating a row: rows upsert by `external_id`, so those already in are updated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_mid_file_resumes_without_duplicates_or_half_chunks() {
    let dir = std::env::temp_dir().join(format!("rapport-import-kill-{}-{:x}", std::process::id(), rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("i.db").display().to_string();
    let csv = dir.join("people.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(f, "external_id,name,email").unwrap();
    for i in 0..IMPORT_ROWS {
        writeln!(f, "p-{i},Person {i},person{i}@example.com").unwrap();
    }
    f.flush().unwrap();
    drop(f);
    let rapport = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rapport"));
        c.arg("--database").arg(&db).args(args).current_dir(&dir).env_remove("RAPPORT_DATABASE_URL");
        c
    };
    let migrated = rapport(&["migrate"]).output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let file = csv.display().to_string();
    let import = ["import", "customers", file.as_str(), "--mode", "best-effort", "--quiet"];

    let mut first = rapport(&import).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Kill it once its first chunk is committed (read through another connection).
    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{db}")).await.unwrap();
    loop {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers").fetch_one(&mut raw).await.unwrap_or(0);
        if n > 0 {
            break;
        }
        assert!(first.try_wait().unwrap().is_none(), "the import ended before a chunk was seen");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut raw).await.unwrap();
    assert_eq!(check, "ok");
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM customers").fetch_one(&mut raw).await.unwrap();
    let chunk = rapport_server::data::import::CHUNK as i64;
    assert!(kept > 0 && (kept as usize) < IMPORT_ROWS, "the kill came mid-file ({kept} rows kept)");
    assert_eq!(kept % chunk, 0, "only whole chunks are committed: {kept} rows is not a multiple of {chunk}");
    raw.close().await.unwrap();
    let store = Store::connect(&db).await.unwrap();
    let people =
        store.list_customers(&Actor::system(), &rapport_domain::query::ListParams { limit: 100, ..Default::default() }).await.unwrap();
    for p in &people.data {
        let ext = p.data.external_id.clone().unwrap();
        let i: usize = ext.trim_start_matches("p-").parse().unwrap();
        assert_eq!((p.data.name.clone(), p.data.email.clone()), (format!("Person {i}"), Some(format!("person{i}@example.com"))));
    }
    store.close().await;

    let second = rapport(&import).output().unwrap();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(summary["updated"].as_i64(), Some(kept), "the rows already in are updated, not made again: {summary}");
    assert_eq!(summary["created"].as_i64(), Some(IMPORT_ROWS as i64 - kept), "{summary}");
    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{db}")).await.unwrap();
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT external_id) FROM customers").fetch_one(&mut raw).await.unwrap();
    assert_eq!((rows, distinct), (IMPORT_ROWS as i64, IMPORT_ROWS as i64), "every row once");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut raw).await.unwrap();
    assert_eq!(check, "ok");
    raw.close().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Rows of the API import killed mid-job: four chunks.
const JOB_ROWS: usize = 4 * rapport_server::data::import::CHUNK;

/// An import job (`POST /api/v1/imports`) whose server is killed (SIGKILL) mid-file is taken up
/// by the restarted server once its lease runs out, and finishes the file: the rows have no
/// upsert key, so a chunk written twice would show as duplicates, yet every row is there once;
/// the job's counts are the whole file's, and its uploaded file is removed once it is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_job_killed_with_its_server_is_resumed_by_the_next_one() {
    let (dir, db) = new_database("import-job-kill");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    println!("server: http://{addr}");
    let lease = ["--import-lease-secs", "2"];
    let mut server = start_server_with(&db, &dir, &addr, &lease);
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let token = login(&mut conn);
    let mut csv = String::from("name,city\n");
    for i in 0..JOB_ROWS {
        csv.push_str(&format!("Imported {i},Town {}\n", i % 97));
    }
    let (status, answer) =
        request(&mut conn, "POST", "/api/v1/imports?kind=customers&mode=best_effort&file_name=people.csv", Some(&token), &csv).unwrap();
    assert_eq!(status, 202, "{answer}");
    let id = serde_json::from_str::<serde_json::Value>(&answer).unwrap()["id"].as_i64().unwrap();

    // Kill it once its first chunk is committed (read through another connection).
    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{db}")).await.unwrap();
    loop {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers").fetch_one(&mut raw).await.unwrap_or(0);
        if n > 0 {
            break;
        }
        assert!(server.try_wait().unwrap().is_none(), "the server stopped");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM customers").fetch_one(&mut raw).await.unwrap();
    assert!((kept as usize) < JOB_ROWS, "the kill came mid-file ({kept} rows kept)");
    let spool: String = sqlx::query_scalar("SELECT spool_path FROM imports WHERE id = ?").bind(id).fetch_one(&mut raw).await.unwrap();
    assert!(std::path::Path::new(&spool).exists(), "the killed server's upload is kept for the next one");

    let mut server = start_server_with(&db, &dir, &addr, &lease);
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let job = loop {
        let (_, body) = request(&mut conn, "GET", &format!("/api/v1/imports/{id}"), Some(&token), "").unwrap();
        let job: serde_json::Value = serde_json::from_str(&body).unwrap();
        if job["status"] == "done" || job["status"] == "failed" {
            break job;
        }
        assert!(std::time::Instant::now() < deadline, "the import was not taken up: {job}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(job["status"], "done", "{job}");
    let n = JOB_ROWS as i64;
    assert_eq!((job["rows"].as_i64(), job["created"].as_i64(), job["rejected"].as_i64()), (Some(n), Some(n), Some(0)), "{job}");
    let (rows, names): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT name) FROM customers").fetch_one(&mut raw).await.unwrap();
    assert_eq!((rows, names), (n, n), "every row once, none of the {kept} written before the kill again");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut raw).await.unwrap();
    assert_eq!(check, "ok");
    assert!(!std::path::Path::new(&spool).exists(), "the upload is removed once the import is done");
    raw.close().await.unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
