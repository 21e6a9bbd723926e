//! End-to-end test of the web UI in a real headless Chromium.
//!
//! Builds a small demo database in a temporary folder, starts `rapport serve` on a free
//! loopback port, and runs `node e2e/ui.mjs` (playwright-core driving Debian's
//! `/usr/bin/chromium`) from the repository root: login, wrong password, accent-tolerant live
//! search, a refused and then a saved customer edit, companies. Its screenshots go to
//! `target/tmp/e2e-screenshots/`, so a test run leaves the working tree as it was; with
//! `RAPPORT_REFRESH_SCREENSHOTS=1` it refreshes the tracked ones under `docs/screenshots/`.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium` or `$RAPPORT_CHROMIUM`) and
//! `npm ci --prefix e2e`. When one is missing the test passes but says loudly that it was
//! SKIPPED; with `RAPPORT_REQUIRE_E2E=1` (as in CI) a missing prerequisite fails it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RAPPORT: &str = env!("CARGO_BIN_EXE_rapport");
/// Upper bound for the whole browser run; ui.mjs has its own, shorter per-step timeouts.
const NODE_TIMEOUT: Duration = Duration::from_secs(300);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..").canonicalize().expect("repository root")
}

fn chromium() -> PathBuf {
    std::env::var_os("RAPPORT_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// The first missing prerequisite, if any.
fn missing_prerequisite(root: &Path) -> Option<String> {
    match Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(s) if s.success() => {}
        Ok(s) => {
            return Some(format!("`node --version` failed ({s}); install Node.js 20 or newer"));
        }
        Err(e) => {
            return Some(format!("`node` is not on PATH ({e}); install Node.js 20 or newer"));
        }
    }
    let chromium = chromium();
    if !chromium.is_file() {
        return Some(format!("no Chromium at {} (`apt-get install chromium`, or point RAPPORT_CHROMIUM at one)", chromium.display()));
    }
    if !root.join("e2e/node_modules/playwright-core/package.json").is_file() {
        return Some(format!("{} is missing; run `npm ci --prefix e2e`", root.join("e2e/node_modules/playwright-core").display()));
    }
    None
}

/// Skips loudly, or fails when `RAPPORT_REQUIRE_E2E=1`.
fn skip(reason: &str) {
    if std::env::var("RAPPORT_REQUIRE_E2E").is_ok_and(|v| v == "1") {
        panic!("RAPPORT_REQUIRE_E2E=1 but the end-to-end UI test cannot run: {reason}");
    }
    // Straight to stderr: libtest captures print!/eprint!, not writes to the stderr handle.
    let banner = "*".repeat(78);
    let msg = format!(
        "\n{banner}\n* SKIPPED: end-to-end UI test (crates/cli/tests/e2e.rs) did NOT run.\n* Reason: {reason}\n\
         * The test reports success anyway; set RAPPORT_REQUIRE_E2E=1 to make this a failure.\n{banner}\n\n"
    );
    let _ = std::io::stderr().write_all(msg.as_bytes());
}

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("rapport-e2e-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `rapport serve`, killed on drop (also when the test panics).
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port()
}

/// `GET path` over a raw HTTP/1.1 connection; the status code, if any answer came.
fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).ok()?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let head = String::from_utf8_lossy(&buf);
    head.strip_prefix("HTTP/1.1 ").and_then(|r| r.get(..3)).and_then(|c| c.parse().ok())
}

/// A minimal SMTP receiver on loopback for the marketing steps: it accepts every message and
/// writes each to `dir` as its own `.eml` file (written whole, then renamed), where ui.mjs
/// reads the campaign's mail and its tracked links. It runs until the test process ends.
fn start_smtp_receiver(dir: &Path) -> u16 {
    use std::io::BufRead;
    std::fs::create_dir_all(dir).expect("mail folder");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP receiver");
    let port = listener.local_addr().expect("its address").port();
    let dir = dir.to_path_buf();
    thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(conn) = conn else { continue };
            let dir = dir.clone();
            thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
                let mut out = match conn.try_clone() {
                    Ok(c) => c,
                    Err(_) => return,
                };
                let mut lines = std::io::BufReader::new(conn);
                let _ = out.write_all(b"220 e2e ESMTP\r\n");
                let mut seq = 0;
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let verb = line.trim_end().to_ascii_uppercase();
                    if verb == "DATA" {
                        let _ = out.write_all(b"354 end with a dot\r\n");
                        let mut message = String::new();
                        loop {
                            line.clear();
                            if lines.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line.trim_end_matches(['\r', '\n']) == "." {
                                break;
                            }
                            // A leading dot of the text is doubled on the wire (RFC 5321 §4.5.2).
                            message.push_str(if line.starts_with("..") { &line[1..] } else { &line });
                        }
                        seq += 1;
                        let name = format!("{n:05}-{seq:03}.eml");
                        let tmp = dir.join(format!("{name}.tmp"));
                        if std::fs::write(&tmp, &message).is_ok() {
                            let _ = std::fs::rename(&tmp, dir.join(name));
                        }
                        let _ = out.write_all(b"250 accepted\r\n");
                    } else if verb.starts_with("QUIT") {
                        let _ = out.write_all(b"221 bye\r\n");
                        return;
                    } else if verb.starts_with("EHLO") || verb.starts_with("HELO") {
                        let _ = out.write_all(b"250 e2e\r\n");
                    } else {
                        let _ = out.write_all(b"250 ok\r\n");
                    }
                }
            });
        }
    });
    port
}

/// Starts `rapport serve` (its mail going to the receiver on `smtp`) and waits for `/healthz`;
/// retries on another port if the chosen one was taken in the meantime.
fn start_server(db: &Path, dir: &Path, smtp: u16) -> (Server, SocketAddr) {
    let mut last_log = String::new();
    for attempt in 0..3 {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = dir.join(format!("server-{attempt}.log"));
        let out = std::fs::File::create(&log).expect("server log");
        let child = Command::new(RAPPORT)
            .arg("--database")
            .arg(db)
            .args(["serve", "--addr", &addr.to_string()])
            .args(["--smtp-url", &format!("smtp://127.0.0.1:{smtp}"), "--mail-poll-secs", "1", "--public-url", &format!("http://{addr}")])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .expect("start rapport serve");
        let mut server = Server { child, log };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if http_status(addr, "/healthz") == Some(200) {
                return (server, addr);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                last_log = format!("rapport serve on {addr} exited with {status}:\n{}", server.log());
                break;
            }
            if Instant::now() > deadline {
                panic!("rapport serve on {addr} did not answer /healthz with 200 within {STARTUP_TIMEOUT:?}:\n{}", server.log());
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("could not start rapport serve:\n{last_log}");
}

/// Runs a command with a time limit, returning its status, stdout and stderr.
fn run_with_timeout(mut cmd: Command, limit: Duration) -> (Option<ExitStatus>, String, String) {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start node");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    (status, out_t.join().unwrap_or_default(), err_t.join().unwrap_or_default())
}

/// Where the screenshots go: the tracked `docs/screenshots/` only when asked with
/// `RAPPORT_REFRESH_SCREENSHOTS=1`, else a folder under `target/` that git ignores.
fn screenshots_dir(root: &Path) -> PathBuf {
    if std::env::var("RAPPORT_REFRESH_SCREENSHOTS").is_ok_and(|v| v == "1") {
        root.join("docs").join("screenshots")
    } else {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-screenshots")
    }
}

#[test]
fn ui_login_search_edit_in_chromium() {
    let root = repo_root();
    if let Some(reason) = missing_prerequisite(&root) {
        skip(&reason);
        return;
    }

    let tmp = TempDir::new();
    let db = tmp.0.join("e2e.db");
    let demo = Command::new(RAPPORT)
        .arg("--database")
        .arg(&db)
        .args(["demo", "--people", "300", "--no-serve"])
        .output()
        .expect("run rapport demo");
    assert!(
        demo.status.success(),
        "rapport demo failed ({}):\n{}\n{}",
        demo.status,
        String::from_utf8_lossy(&demo.stdout),
        String::from_utf8_lossy(&demo.stderr)
    );

    let maildir = tmp.0.join("mail");
    let smtp = start_smtp_receiver(&maildir);
    let (server, addr) = start_server(&db, &tmp.0, smtp);
    let base = format!("http://{addr}");

    let shots = screenshots_dir(&root);
    let mut node = Command::new("node");
    node.arg("e2e/ui.mjs")
        .arg(&base)
        .arg(&shots)
        .current_dir(&root)
        .env("RAPPORT_CHROMIUM", chromium())
        .env("RAPPORT_E2E_MAILDIR", &maildir);
    let (status, stdout, stderr) = run_with_timeout(node, NODE_TIMEOUT);
    let server_log = server.log();
    drop(server);

    // Captured by libtest: shown with --nocapture, or together with a failure.
    println!("--- node e2e/ui.mjs {base} {}: stdout ---\n{stdout}", shots.display());
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!(
            "the end-to-end UI test failed (node exited with {s}).\n\
             --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- rapport serve log ---\n{server_log}"
        ),
        None => panic!(
            "the end-to-end UI test did not finish within {NODE_TIMEOUT:?} and was killed.\n\
             --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- rapport serve log ---\n{server_log}"
        ),
    }
}
