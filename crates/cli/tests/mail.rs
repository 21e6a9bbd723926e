//! Tickets by email against real servers on loopback (issue 11 §2): Debian's Dovecot, started
//! here as a throwaway IMAP server (passwd-file auth, maildir in a temp folder), and an SMTP
//! receiver (Python aiosmtpd, pinned, in a virtual environment made once under
//! `target/mail-venv`) that writes each message to a folder. `rapport serve` polls the mailbox
//! and sends its queue to the receiver:
//! - a new mail opens a ticket and its acknowledgement arrives with the ticket number in the
//!   subject, a Message-ID, and `In-Reply-To`/`References` naming the customer's mail;
//! - the customer's reply threads onto the ticket; a stranger's mail with the same subject
//!   opens another;
//! - a restart (SIGKILL) imports nothing twice;
//! - a SIGKILL in the middle of sending, and a restart, sends no mail twice;
//! - two servers on one PostgreSQL database send a queue they both see each mail once
//!   (needs `RAPPORT_TEST_POSTGRES_URL`).
//!
//! Without Dovecot or python3 the test says loudly that it skipped, unless
//! `RAPPORT_REQUIRE_MAIL=1`, which makes that a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rapport_domain::service::mail::InboundMail;
use serde_json::Value;

/// The mails the sender has in SMTP transactions at once (`--smtp-connections`, 10 by default): a kill
/// leaves at most these unconfirmed.
const IN_FLIGHT: i64 = 10;

const RAPPORT: &str = env!("CARGO_BIN_EXE_rapport");
const DOVECOT: &str = "/usr/sbin/dovecot";
const REQUIREMENTS: &str = "aiosmtpd==1.4.6\n";
const EMAIL: &str = "boss@example.com";
const PASSWORD: &str = "long enough secret";

fn say(msg: &str) {
    let _ = std::io::stderr().write_all(format!("{msg}\n").as_bytes());
}

fn skip(reason: &str) {
    if std::env::var("RAPPORT_REQUIRE_MAIL").is_ok_and(|v| v == "1") {
        panic!("RAPPORT_REQUIRE_MAIL=1 but the mail test cannot run: {reason}");
    }
    let banner = "*".repeat(78);
    say(&format!(
        "\n{banner}\n* SKIPPED: the email test (crates/cli/tests/mail.rs) did NOT run.\n* Reason: {reason}\n\
         * The test reports success anyway; set RAPPORT_REQUIRE_MAIL=1 to make this a failure.\n{banner}\n"
    ));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits for `check` to give a value, up to `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The virtual environment with aiosmtpd, made once (again when the pin changes).
fn ensure_venv() -> Result<PathBuf, String> {
    // The tests of this binary run on threads at once: one makes the environment, the others wait.
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _making = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target directory").join("mail-venv");
    let stamp = dir.join("requirements.txt");
    if dir.join("bin/python").is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == REQUIREMENTS) {
        return Ok(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let made = Command::new("python3").arg("-m").arg("venv").arg(&dir).output().map_err(|e| format!("python3: {e}"))?;
    if !made.status.success() {
        return Err(format!("python3 -m venv: {}", String::from_utf8_lossy(&made.stderr)));
    }
    let pip = Command::new(dir.join("bin/python"))
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", REQUIREMENTS.trim()])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !pip.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(format!("pip install {} (is PyPI reachable?): {}", REQUIREMENTS.trim(), String::from_utf8_lossy(&pip.stderr)));
    }
    std::fs::write(&stamp, REQUIREMENTS).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The admin every mail test signs in as, made by `rapport user create` in database `db`.
fn create_admin(db: &str) {
    let made = Command::new(RAPPORT)
        .args(["--database", db, "user", "create", "--admin", "--email", EMAIL, "--password", PASSWORD])
        .env_remove("RAPPORT_DATABASE_URL")
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
}

fn id_of(flag: &str, user: Option<&str>) -> u32 {
    let out = Command::new("id").arg(flag).args(user).output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("numeric id")
}

/// Dovecot on a free loopback port with user `support` / `secret`, run as this user (as root,
/// Dovecot refuses to run its login and mail processes as root: they run as its own users).
fn start_dovecot(dir: &Path) -> (Proc, u16) {
    let (proc, port, _) = start_dovecot_with(dir, None);
    (proc, port)
}

/// [`start_dovecot`], with TLS when given a certificate and its key (PEM files): STARTTLS on
/// the first port, and imaps on the second (0 without TLS).
fn start_dovecot_with(dir: &Path, tls: Option<(&Path, &Path)>) -> (Proc, u16, u16) {
    let port = free_port();
    let imaps = if tls.is_some() { free_port() } else { 0 };
    let ssl = match tls {
        Some((cert, key)) => format!("ssl = yes\nssl_cert = <{}\nssl_key = <{}\n", cert.display(), key.display()),
        None => "ssl = no\n".into(),
    };
    let root = id_of("-u", None) == 0;
    let me = String::from_utf8_lossy(&Command::new("id").arg("-un").output().unwrap().stdout).trim().to_string();
    let group = String::from_utf8_lossy(&Command::new("id").arg("-gn").output().unwrap().stdout).trim().to_string();
    let (internal, internal_group, login) =
        if root { ("dovecot".to_string(), "dovecot".to_string(), "dovenull".to_string()) } else { (me.clone(), group, me) };
    let (uid, gid) =
        if root { (id_of("-u", Some("dovecot")), id_of("-g", Some("dovecot"))) } else { (id_of("-u", None), id_of("-g", None)) };
    let d = dir.display();
    for sub in ["base", "state", "mail"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    if root {
        std::os::unix::fs::chown(dir.join("mail"), Some(uid), Some(gid)).unwrap();
    }
    std::fs::write(dir.join("passwd"), "support:{PLAIN}secret::::\nbounces:{PLAIN}secret::::\n").unwrap();
    let conf = format!(
        "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/base\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n{ssl}\
         disable_plaintext_auth = no\nauth_mechanisms = plain login\ndefault_internal_user = {internal}\ndefault_internal_group = {internal_group}\n\
         default_login_user = {login}\nfirst_valid_uid = 1\nfirst_valid_gid = 1\nmail_location = maildir:{d}/mail/%u\n\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
         userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/mail/%u\n}}\n\
         service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps}\n  }}\n  chroot =\n}}\n\
         service anvil {{\n  chroot =\n}}\n"
    );
    std::fs::write(dir.join("dovecot.conf"), conf).unwrap();
    let child = Command::new(DOVECOT)
        .arg("-F")
        .arg("-c")
        .arg(dir.join("dovecot.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dovecot");
    let proc = Proc(child);
    wait_for("Dovecot to listen", Duration::from_secs(20), || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
    if imaps != 0 {
        wait_for("Dovecot to listen for imaps", Duration::from_secs(20), || std::net::TcpStream::connect(("127.0.0.1", imaps)).ok());
    }
    (proc, port, imaps)
}

/// The SMTP receiver, writing to `dir/inbox`.
fn start_sink(venv: &Path, dir: &Path) -> (Proc, u16) {
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail/smtp_sink.py");
    let mut child = Command::new(venv.join("bin/python"))
        .arg(script)
        .arg(port.to_string())
        .arg(dir.join("inbox"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the SMTP receiver");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the SMTP receiver did not start");
    (Proc(child), port)
}

/// Every message the receiver got, parsed, with its raw text.
fn received(dir: &Path) -> Vec<(InboundMail, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("inbox"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).unwrap();
            (InboundMail::parse(&raw).unwrap(), String::from_utf8_lossy(&raw).to_string())
        })
        .collect()
}

/// Puts a message into the support mailbox, as an MTA would.
async fn append(port: u16, raw: &str) {
    append_to(port, "support", raw).await
}

/// Puts a message into `user`'s mailbox.
async fn append_to(port: u16, user: &str, raw: &str) {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap();
    let mut s = client.login(user, "secret").await.map_err(|(e, _)| e).unwrap();
    s.append("INBOX", None, None, raw.as_bytes()).await.unwrap();
    s.logout().await.unwrap();
}

fn mail(from: &str, subject: &str, id: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@rapport.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}Content-Type: text/plain\r\n\r\n{body}\r\n"
    )
}

/// One HTTP/1.1 request on a new connection: status and JSON body.
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let (status, text) = http_as(addr, method, path, token, "application/json", body);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// One HTTP/1.1 request with a body of `content_type`: status and body text.
fn http_as(addr: &str, method: &str, path: &str, token: Option<&str>, content_type: &str, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: rapport\r\nConnection: close\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head[9..12].parse().unwrap(), body.to_string())
}

struct Server {
    proc: Proc,
    addr: String,
}

fn serve(db: &str, dir: &Path, imap: u16, smtp: u16) -> Server {
    serve_with(db, dir, imap, smtp, &[])
}

/// The server with `extra` flags (`{addr}` in them is replaced by its address).
fn serve_with(db: &str, dir: &Path, imap: u16, smtp: u16, extra: &[&str]) -> Server {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let extra: Vec<String> = extra.iter().map(|e| e.replace("{addr}", &addr)).collect();
    let mut child = Command::new(RAPPORT)
        .args([
            "--database",
            db,
            "serve",
            "--addr",
            &addr,
            "--imap-host",
            "127.0.0.1",
            "--imap-user",
            "support",
            "--imap-password",
            "secret",
        ])
        .args(["--imap-port", &imap.to_string(), "--imap-poll-secs", "1", "--mail-poll-secs", "1", "--mail-lease-secs", "3"])
        .args(["--smtp-url", &format!("smtp://127.0.0.1:{smtp}"), "--mail-from", "Support <support@rapport.test>"])
        .args(&extra)
        .current_dir(dir)
        .env_remove("RAPPORT_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains("serving on"))), "the server never listened");
    Server { proc: Proc(child), addr }
}

fn login(addr: &str) -> String {
    let (status, body) = http(addr, "POST", "/api/v1/auth/login", None, &format!(r#"{{"email":"{EMAIL}","password":"{PASSWORD}"}}"#));
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

fn tickets(addr: &str, token: &str) -> Vec<Value> {
    let (_, body) = http(addr, "GET", "/api/v1/tickets?limit=100", Some(token), "");
    body["data"].as_array().cloned().unwrap_or_default()
}

fn messages(addr: &str, token: &str, id: i64) -> Vec<String> {
    let (_, body) = http(addr, "GET", &format!("/api/v1/tickets/{id}/messages"), Some(token), "");
    body.as_array().map(|a| a.iter().map(|m| m["body"].as_str().unwrap_or("").to_string()).collect()).unwrap_or_default()
}

fn queue_counts(addr: &str, token: &str) -> std::collections::HashMap<String, i64> {
    let (_, body) = http(addr, "GET", "/api/v1/mail/queue", Some(token), "");
    body["counts"].as_array().unwrap().iter().map(|c| (c["state"].as_str().unwrap().to_string(), c["count"].as_i64().unwrap())).collect()
}

#[path = "mail/marketing.rs"]
mod marketing;
#[path = "mail/tls.rs"]
mod tls;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_in_and_out_through_dovecot_and_smtp_survives_kills() {
    if !Path::new(DOVECOT).is_file() {
        return skip("Dovecot is not installed (Debian: apt-get install dovecot-imapd)");
    }
    let venv = match ensure_venv() {
        Ok(v) => v,
        Err(e) => return skip(&format!("no Python SMTP receiver: {e}")),
    };
    let dir = std::env::temp_dir().join(format!("rapport-mail-{}-{:x}", std::process::id(), rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_dovecot, imap) = start_dovecot(&dir.join("dovecot"));
    let (_sink, smtp) = start_sink(&venv, &dir);
    let db = dir.join("mail.db").display().to_string();
    create_admin(&db);
    say(&format!("mail: IMAP 127.0.0.1:{imap}, SMTP 127.0.0.1:{smtp}, files in {}", dir.display()));

    let server = serve(&db, &dir, imap, smtp);
    let token = login(&server.addr);

    // A new mail opens a ticket, and the acknowledgement comes back threaded on it.
    append(imap, &mail("\"Ann Lee\" <ann@example.com>", "Printer on fire", "q1@mail.example.com", "", "Smoke from tray 2.")).await;
    let ack = wait_for("the acknowledgement", Duration::from_secs(30), || received(&dir).into_iter().next());
    let t = tickets(&server.addr, &token);
    assert_eq!(t.len(), 1, "{t:?}");
    let id = t[0]["id"].as_i64().unwrap();
    assert_eq!(t[0]["channel"].as_str(), Some("email"));
    assert_eq!(ack.0.subject, format!("[#{id}] Printer on fire"));
    assert_eq!(ack.0.refers_to, ["q1@mail.example.com"], "In-Reply-To and References name the customer's mail");
    assert!(ack.1.contains("References: <q1@mail.example.com>"), "{}", ack.1);
    assert!(ack.1.contains("To: \"Ann Lee\" <ann@example.com>") || ack.1.contains("To: Ann Lee <ann@example.com>"), "{}", ack.1);
    assert!(ack.0.message_id.ends_with(&format!(".t{id}@rapport")), "{}", ack.0.message_id);

    // Ann answers the acknowledgement; a stranger writes with the same subject.
    let in_reply = format!("In-Reply-To: <{}>\r\nReferences: <q1@mail.example.com> <{}>\r\n", ack.0.message_id, ack.0.message_id);
    append(imap, &mail("ann@example.com", &format!("Re: [#{id}] Printer on fire"), "r2@mail.example.com", &in_reply, "Still burning."))
        .await;
    append(imap, &mail("bob@example.org", &format!("Re: [#{id}] Printer on fire"), "s1@example.org", &in_reply, "Mine too!")).await;
    wait_for("both mails taken", Duration::from_secs(30), || (tickets(&server.addr, &token).len() == 2).then_some(()));
    assert_eq!(messages(&server.addr, &token, id), ["Smoke from tray 2.", "Still burning."]);
    let other = tickets(&server.addr, &token).into_iter().find(|t| t["id"].as_i64() != Some(id)).unwrap();
    assert_eq!(messages(&server.addr, &token, other["id"].as_i64().unwrap()), ["Mine too!"]);
    wait_for("the stranger's acknowledgement", Duration::from_secs(30), || (received(&dir).len() == 2).then_some(()));

    // Killed and restarted, the poller resumes after the last UID: nothing is imported twice.
    drop(server);
    let server = serve(&db, &dir, imap, smtp);
    let token = login(&server.addr);
    append(imap, &mail("ann@example.com", &format!("[#{id}] one more thing"), "r3@mail.example.com", "", "Also the fax.")).await;
    wait_for("the third mail", Duration::from_secs(30), || (messages(&server.addr, &token, id).len() == 3).then_some(()));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(tickets(&server.addr, &token).len(), 2);
    assert_eq!(messages(&server.addr, &token, id), ["Smoke from tray 2.", "Still burning.", "Also the fax."]);

    // Slow delivery down, queue a dozen replies, and kill the server while it sends them.
    std::fs::write(dir.join("delay"), "0.4").unwrap();
    let before = received(&dir).len();
    const REPLIES: usize = 12;
    for n in 0..REPLIES {
        let (status, body) =
            http(&server.addr, "POST", &format!("/api/v1/tickets/{id}/messages"), Some(&token), &format!(r#"{{"body":"Answer {n}"}}"#));
        assert_eq!(status, 201, "{body}");
    }
    wait_for("the first replies to arrive", Duration::from_secs(30), || (received(&dir).len() >= before + 3).then_some(()));
    let Server { proc: mut p, .. } = server;
    p.0.kill().unwrap(); // SIGKILL
    p.0.wait().unwrap();
    let at_kill = received(&dir).len() - before;
    assert!(at_kill < REPLIES, "the kill came mid-send ({at_kill} of {REPLIES} delivered)");

    std::fs::write(dir.join("delay"), "0").unwrap();
    let server = serve(&db, &dir, imap, smtp);
    let token = login(&server.addr);
    let counts = wait_for("the queue to drain", Duration::from_secs(60), || {
        let c = queue_counts(&server.addr, &token);
        (["queued", "claimed", "sending"].iter().all(|s| !c.contains_key(*s))).then_some(c)
    });
    std::thread::sleep(Duration::from_secs(1));
    let all = received(&dir);
    let mut ids: Vec<&str> = all.iter().map(|(m, _)| m.message_id.as_str()).collect();
    ids.sort_unstable();
    let unique = {
        let mut u = ids.clone();
        u.dedup();
        u.len()
    };
    assert_eq!(unique, ids.len(), "a mail was sent twice: {ids:?}");
    let replies = all.iter().filter(|(m, _)| m.subject == format!("Re: [#{id}] Printer on fire")).count();
    let unconfirmed = counts.get("unconfirmed").copied().unwrap_or(0);
    assert_eq!(counts.get("sent").copied().unwrap_or(0) + unconfirmed, (REPLIES + 2) as i64, "{counts:?}");
    assert!(unconfirmed <= IN_FLIGHT, "at most the mails in flight at the kill are unconfirmed: {counts:?}");
    assert!(replies >= REPLIES - unconfirmed as usize && replies <= REPLIES, "{replies} replies received, {counts:?}");
    say(&format!("mail: {at_kill} replies delivered before the kill, {replies} in all, {unconfirmed} unconfirmed"));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rapport serve` with only the mail sender (no IMAP), sending from `from`; without `smtp` mail
/// stays queued. Spawned, not yet listening: see [`listening`].
fn serve_sender(db: &str, dir: &Path, smtp: Option<u16>, from: &str) -> (Proc, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut cmd = Command::new(RAPPORT);
    cmd.args(["--database", db, "serve", "--addr", &addr, "--mail-poll-secs", "1", "--mail-lease-secs", "30", "--mail-from", from]);
    if let Some(port) = smtp {
        cmd.args(["--smtp-url", &format!("smtp://127.0.0.1:{port}")]);
    }
    let child = cmd
        .current_dir(dir)
        .env_remove("RAPPORT_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    (Proc(child), addr)
}

/// Waits for a server of [`serve_sender`] to listen.
fn listening(p: &mut Proc) {
    let mut lines = BufReader::new(p.0.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains("serving on"))), "the server never listened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_send_each_queued_mail_once() {
    let Ok(admin) = std::env::var("RAPPORT_TEST_POSTGRES_URL") else {
        return skip("RAPPORT_TEST_POSTGRES_URL is not set: two senders share a PostgreSQL database");
    };
    let venv = match ensure_venv() {
        Ok(v) => v,
        Err(e) => return skip(&format!("no Python SMTP receiver: {e}")),
    };
    let dir = std::env::temp_dir().join(format!("rapport-mail2-{}-{:x}", std::process::id(), rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    sqlx::any::install_default_drivers();
    let name = format!("rapport_mail_{:x}", rand::random::<u64>());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    let db = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    create_admin(&db);

    // A server without SMTP queues the replies of one ticket, then stops: the queue waits.
    const MAILS: usize = 60;
    let (mut p, addr) = serve_sender(&db, &dir, None, "Support <support@rapport.test>");
    listening(&mut p);
    say(&format!("mail: queueing {MAILS} replies through http://{addr}"));
    let token = login(&addr);
    let (status, ann) = http(&addr, "POST", "/api/v1/customers", Some(&token), r#"{"name":"Ann Lee","email":"ann@example.com"}"#);
    assert_eq!(status, 201, "{ann}");
    let (status, t) =
        http(&addr, "POST", "/api/v1/tickets", Some(&token), &format!(r#"{{"subject":"Printer","customer_id":{}}}"#, ann["id"]));
    assert_eq!(status, 201, "{t}");
    for n in 0..MAILS {
        let (status, body) =
            http(&addr, "POST", &format!("/api/v1/tickets/{}/messages", t["id"]), Some(&token), &format!(r#"{{"body":"Answer {n}"}}"#));
        assert_eq!(status, 201, "{body}");
    }
    let queued = queue_counts(&addr, &token).get("queued").copied().unwrap_or(0);
    assert!(queued >= MAILS as i64, "{queued} queued");
    drop(p);

    // Two servers, each with its own From address to tell them apart, start on it at once.
    let (_sink, smtp) = start_sink(&venv, &dir);
    std::fs::write(dir.join("delay"), "0.1").unwrap();
    let (mut a, addr_a) = serve_sender(&db, &dir, Some(smtp), "Support A <support-a@rapport.test>");
    let (mut b, addr_b) = serve_sender(&db, &dir, Some(smtp), "Support B <support-b@rapport.test>");
    listening(&mut a);
    listening(&mut b);
    say(&format!("mail: two senders at http://{addr_a} and http://{addr_b}, SMTP 127.0.0.1:{smtp}"));
    let token = login(&addr_a);
    let counts = wait_for("the queue to drain", Duration::from_secs(120), || {
        let c = queue_counts(&addr_a, &token);
        (["queued", "claimed", "sending"].iter().all(|s| !c.contains_key(*s))).then_some(c)
    });
    assert_eq!(counts.get("sent").copied(), Some(queued), "{counts:?}");
    let all = wait_for("every mail to be written", Duration::from_secs(30), || {
        let r = received(&dir);
        (r.len() >= queued as usize).then_some(r)
    });
    let mut ids: Vec<&str> = all.iter().map(|(m, _)| m.message_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((all.len(), ids.len()), (queued as usize, queued as usize), "each queued mail arrives once");
    let by_a = all.iter().filter(|(m, _)| m.from_email == "support-a@rapport.test").count();
    let by_b = all.iter().filter(|(m, _)| m.from_email == "support-b@rapport.test").count();
    say(&format!("mail: server A sent {by_a}, server B {by_b}"));
    assert_eq!(by_a + by_b, queued as usize);
    assert!(by_a > 0 && by_b > 0, "both servers took part: A {by_a}, B {by_b}");
    drop((a, b));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&mut conn).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
