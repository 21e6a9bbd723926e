//! The `rapport` binary as a user runs it, in a fresh temp directory. Failures print the
//! command with its stdout and stderr.

use std::path::PathBuf;
use std::process::{Command, Output};

use rapport_domain::permissions::Actor;
use rapport_domain::query::ListParams;
use rapport_store::Store;
use sqlx::Connection;

mod data;

struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let p = std::env::temp_dir().join(format!("rapport-cli-{}-{:x}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn db(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rapport(dir: &Dir, args: &[&str]) -> Output {
    let out =
        Command::new(env!("CARGO_BIN_EXE_rapport")).args(args).current_dir(&dir.0).env_remove("RAPPORT_DATABASE_URL").output().unwrap();
    eprintln!(
        "$ rapport {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The store as `rapport` opens it from `dir`: with the key file `demo` created there.
async fn open_store(dir: &Dir, db: &str) -> Store {
    let key = dir.0.join("rapport.key");
    let keys = key.exists().then(|| rapport_store::crypto::SharedKeyring::fixed(rapport_store::crypto::Keyring::load(&key).unwrap()));
    Store::connect(db).await.unwrap().with_keys(keys)
}

async fn people(dir: &Dir, db: &str) -> Vec<(String, Option<String>, Vec<String>)> {
    let store = open_store(dir, db).await;
    let mut all = vec![];
    let mut p = ListParams { limit: 500, sort: rapport_domain::query::SortField::Id, ..Default::default() };
    loop {
        let page = store.list_customers(&Actor::system(), &p).await.unwrap();
        all.extend(page.data.into_iter().map(|c| (c.data.name, c.data.email, c.data.tags)));
        match page.next_cursor {
            Some(c) => p.cursor = Some(c),
            None => break,
        }
    }
    store.close().await;
    all
}

#[tokio::test]
async fn demo_builds_the_same_company_every_time() {
    let dir = Dir::new();
    let out = rapport(&dir, &["--database", &dir.db("a.db"), "demo", "--people", "120", "--companies", "20", "--no-serve"]);
    assert!(out.status.success());
    assert!(text(&out).contains("admin@rapport.test"), "the admin login is printed");
    rapport(&dir, &["--database", &dir.db("b.db"), "demo", "--people", "120", "--companies", "20", "--no-serve"]);
    let (a, b) = (people(&dir, &dir.db("a.db")).await, people(&dir, &dir.db("b.db")).await);
    assert_eq!(a.len(), 120);
    assert_eq!(a, b, "same seed, same people");
    assert!(a.iter().any(|(n, _, _)| !n.is_ascii()), "names exercise accents");
    let again = rapport(&dir, &["--database", &dir.db("a.db"), "demo", "--people", "5", "--no-serve"]);
    assert!(again.status.success() && text(&again).contains("already has data"));
    assert_eq!(people(&dir, &dir.db("a.db")).await.len(), 120, "an existing database is not touched");
    let other =
        rapport(&dir, &["--database", &dir.db("c.db"), "demo", "--people", "120", "--companies", "20", "--seed", "7", "--no-serve"]);
    assert!(other.status.success());
    assert_ne!(people(&dir, &dir.db("c.db")).await, a, "another seed, another company");
}

#[tokio::test]
async fn users_are_created_with_clear_errors() {
    let dir = Dir::new();
    let db = dir.db("u.db");
    assert!(rapport(&dir, &["--database", &db, "migrate"]).status.success());
    let short = rapport(&dir, &["--database", &db, "user", "create", "--admin", "--email", "boss@example.com", "--password", "short"]);
    assert!(!short.status.success());
    assert!(text(&short).contains("password: must have at least 10 characters"));
    let ok =
        rapport(&dir, &["--database", &db, "user", "create", "--admin", "--email", "boss@example.com", "--password", "long enough secret"]);
    assert!(ok.status.success() && text(&ok).contains("Created admin user boss@example.com"));
    let dup = rapport(&dir, &["--database", &db, "user", "create", "--email", "BOSS@example.com", "--password", "long enough secret"]);
    assert!(!dup.status.success() && text(&dup).contains("already exists"));
    let role = rapport(
        &dir,
        &["--database", &db, "user", "create", "--email", "x@example.com", "--password", "long enough secret", "--role", "king"],
    );
    assert!(!role.status.success() && text(&role).contains("there is no role 'king'"));
    let store = open_store(&dir, &db).await;
    let (token, user) = store.login("boss@example.com", "long enough secret", "api", None).await.unwrap().expect("the password works");
    assert!(token.starts_with("rpt_") && user.role == "admin");
    store.close().await;
}

#[tokio::test]
async fn bad_database_urls_are_explained() {
    let dir = Dir::new();
    let out = rapport(&dir, &["--database", "mysql://nope", "migrate"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("unsupported database URL"), "{}", text(&out));
}

#[tokio::test]
async fn the_same_binary_runs_on_postgres() {
    let Ok(admin) = std::env::var("RAPPORT_TEST_POSTGRES_URL") else {
        use std::io::Write;
        let _ = std::io::stderr().write_all(b"\n*** SKIPPED: CLI on PostgreSQL (set RAPPORT_TEST_POSTGRES_URL) ***\n\n");
        return;
    };
    sqlx::any::install_default_drivers();
    let name = format!("rapport_cli_{:x}", rand::random::<u64>());
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let dir = Dir::new();
    let out = rapport(&dir, &["--database", &url, "demo", "--people", "60", "--companies", "10", "--no-serve"]);
    assert!(out.status.success());
    let sqlite = dir.db("same.db");
    rapport(&dir, &["--database", &sqlite, "demo", "--people", "60", "--companies", "10", "--no-serve"]);
    assert_eq!(people(&dir, &url).await, people(&dir, &sqlite).await, "both databases hold the same demo company");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn analyze_runs_on_the_database_and_writes_scores_back() {
    let dir = Dir::new();
    let db = dir.db("a.db");
    assert!(rapport(&dir, &["--database", &db, "demo", "--people", "150", "--companies", "20", "--no-serve"]).status.success());
    let out = rapport(&dir, &["--database", &db, "analyze", "all"]);
    assert!(out.status.success());
    let table = text(&out);
    for kind in ["rfm", "segmentation", "propensity", "churn", "association_rules", "forecast", "campaign_effect"] {
        assert!(table.lines().any(|l| l.contains(kind) && l.contains("done")), "{kind} in\n{table}");
    }
    let json = rapport(&dir, &["--database", &db, "analyze", "rfm", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    assert_eq!(runs[0]["kind"], "rfm");
    assert!(runs[0]["result"]["people_scored"].as_i64().unwrap() > 0);
    let csv = rapport(&dir, &["--database", &db, "analyze", "segmentation", "--format", "csv"]);
    let csv = String::from_utf8_lossy(&csv.stdout).to_string();
    assert!(
        csv.starts_with("run,analysis,status,purchases,people_scored") && csv.lines().nth(1).unwrap().contains(",segmentation,done,"),
        "{csv}"
    );
    let store = open_store(&dir, &db).await;
    let p = ListParams { limit: 500, ..Default::default() }.with(&rapport_domain::customer::SPEC, "rfm_tier", "Champions");
    let champions = store.list_customers(&Actor::system(), &p).await.unwrap();
    assert!(!champions.data.is_empty() && champions.data.iter().all(|c| c.scores.rfm_tier.as_deref() == Some("Champions")));
    store.close().await;
    let bad = rapport(&dir, &["--database", &db, "analyze", "churn", "--transactions", "x.csv", "--out", "o"]);
    assert!(!bad.status.success() && text(&bad).contains("database only"));
    let bad = rapport(&dir, &["--database", &db, "analyze", "campaign_effect", "--transactions", "x.csv", "--out", "o"]);
    assert!(!bad.status.success() && text(&bad).contains("database only"));
}

/// One HTTP/1.1 request over a fresh connection: the status and the body.
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).ok()?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(format!("{head}{body}").as_bytes()).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    Some((head.get(9..12)?.parse().ok()?, body.to_string()))
}

/// Serves `db` with `env` set, creates a person whose phone is `phone`, and returns what was
/// stored and what the server printed on stderr.
fn stored_phone(dir: &Dir, db: &str, env: &[(&str, &str)], phone: &str) -> (String, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let log = dir.0.join(format!("serve-{port}.log"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rapport"));
    cmd.args(["--database", db, "serve", "--addr", &addr]).current_dir(&dir.0);
    for var in ["RAPPORT_DATABASE_URL", "RAPPORT_DEFAULT_REGION", "RAPPORT_PHONE_COUNTRY_CODE"] {
        cmd.env_remove(var);
    }
    let out = std::fs::File::create(&log).unwrap();
    let mut child = cmd.envs(env.iter().copied()).stdout(out.try_clone().unwrap()).stderr(out).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while http(&addr, "GET", "/healthz", None, "").is_none_or(|(s, _)| s != 200) {
        assert!(std::time::Instant::now() < deadline, "no /healthz: {}", std::fs::read_to_string(&log).unwrap_or_default());
        assert!(child.try_wait().unwrap().is_none(), "serve exited: {}", std::fs::read_to_string(&log).unwrap_or_default());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (_, login) =
        http(&addr, "POST", "/api/v1/auth/login", None, r#"{"email":"boss@example.com","password":"long enough secret"}"#).unwrap();
    let token = serde_json::from_str::<serde_json::Value>(&login).unwrap()["token"].as_str().unwrap().to_string();
    let body = serde_json::json!({"name": "Ann", "phone": phone}).to_string();
    let (status, created) = http(&addr, "POST", "/api/v1/customers", Some(&token), &body).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let printed = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(status, 201, "{created}\n{printed}");
    (serde_json::from_str::<serde_json::Value>(&created).unwrap()["phone"].as_str().unwrap().to_string(), printed)
}

#[tokio::test]
async fn the_phone_region_comes_from_the_region_or_the_calling_code() {
    let dir = Dir::new();
    let db = dir.db("r.db");
    assert!(
        rapport(&dir, &["--database", &db, "user", "create", "--admin", "--email", "boss@example.com", "--password", "long enough secret"])
            .status
            .success()
    );
    let (phone, _) = stored_phone(&dir, &db, &[("RAPPORT_DEFAULT_REGION", "GB")], "020 7946 0958");
    assert_eq!(phone, "+442079460958");
    let (phone, _) = stored_phone(&dir, &db, &[("RAPPORT_PHONE_COUNTRY_CODE", "44")], "020 7946 0958");
    assert_eq!(phone, "+442079460958", "the calling code still works: 44 is the UK's");
    let (phone, printed) =
        stored_phone(&dir, &db, &[("RAPPORT_DEFAULT_REGION", "GB"), ("RAPPORT_PHONE_COUNTRY_CODE", "49")], "020 7946 0958");
    assert_eq!(phone, "+442079460958", "the region wins");
    assert!(printed.contains("RAPPORT_DEFAULT_REGION=GB wins over RAPPORT_PHONE_COUNTRY_CODE=49"), "{printed}");
    let bad = rapport(&dir, &["--database", &db, "serve", "--default-region", "XX"]);
    assert!(
        !bad.status.success() && text(&bad).contains("RAPPORT_DEFAULT_REGION (--default-region): 'XX' is not a region"),
        "{}",
        text(&bad)
    );
    let bad = rapport(&dir, &["--database", &db, "serve", "--phone-country-code", "999"]);
    assert!(!bad.status.success() && text(&bad).contains("'999' is not a country calling code"), "{}", text(&bad));
}

#[tokio::test]
async fn reports_print_as_csv_or_json() {
    let dir = Dir::new();
    let db = dir.db("a.db");
    assert!(rapport(&dir, &["--database", &db, "demo", "--people", "150", "--companies", "20", "--no-serve"]).status.success());
    let out = rapport(&dir, &["--database", &db, "report", "pipeline"]);
    assert!(out.status.success(), "{}", text(&out));
    let csv = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("pipeline_id,pipeline_name,stage,stage_name,position,outcome,probability,currency,count,amount_minor,weighted_minor")
    );
    let counted: i64 = lines.map(|l| l.split(',').nth(8).unwrap().parse::<i64>().unwrap()).sum();
    let store = open_store(&dir, &db).await;
    let deals = store.list_opportunities(&Actor::system(), &ListParams { limit: 500, ..Default::default() }).await.unwrap();
    store.close().await;
    assert_eq!(counted, deals.data.len() as i64, "every deal in one stage row");
    let json = rapport(&dir, &["--database", &db, "report", "leaderboard", "--period", "2026-Q3", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    assert_eq!((&v["from"], &v["to"]), (&serde_json::json!("2026-07-01"), &serde_json::json!("2026-09-30")));
    let bad = rapport(&dir, &["--database", &db, "report", "sales"]);
    assert!(!bad.status.success() && text(&bad).contains("pipeline, win_rate"), "{}", text(&bad));
    let bad = rapport(&dir, &["--database", &db, "report", "funnel", "--period", "2026-Q7"]);
    assert!(!bad.status.success() && text(&bad).contains("period"), "{}", text(&bad));
}

/// Issue 11 §8: the demo's resolved tickets have surveys, a share answered (rated, some with
/// NPS and a comment, credited to the ticket's agent) through links that work, and feedback
/// records sit beside the tickets.
#[tokio::test]
async fn the_demo_answers_surveys_and_keeps_feedback() {
    let dir = Dir::new();
    let db = dir.db("s.db");
    let out = rapport(&dir, &["--database", &db, "demo", "--people", "2000", "--companies", "50", "--no-serve"]);
    assert!(out.status.success());
    assert!(text(&out).contains("answered); feedback: 13."), "one feedback record for every 150 people");
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{db}")).await.unwrap();
    let one = |q: &str| sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(q.to_string()));
    let resolved = one("SELECT COUNT(*) FROM tickets WHERE resolved_at IS NOT NULL").fetch_one(&mut conn).await.unwrap().0;
    let surveys = one("SELECT COUNT(*) FROM ticket_surveys").fetch_one(&mut conn).await.unwrap().0;
    let answered = one("SELECT COUNT(*) FROM ticket_surveys WHERE answered_at IS NOT NULL").fetch_one(&mut conn).await.unwrap().0;
    assert!(resolved > 20 && surveys == resolved, "every resolved ticket has its survey: {surveys} of {resolved}");
    assert!(answered > 5 && answered < surveys, "a share is answered: {answered} of {surveys}");
    let odd = one("SELECT COUNT(*) FROM ticket_surveys s JOIN tickets t ON t.id = s.ticket_id WHERE s.answered_at IS NOT NULL AND \
         (s.agent_id IS NOT t.owner_id OR s.csat NOT BETWEEN 1 AND 5 OR s.answered_at < s.created_at OR s.answers <> 1 \
          OR (s.decision = 'confirm') <> (t.status = 'closed'))")
    .fetch_one(&mut conn)
    .await
    .unwrap()
    .0;
    assert_eq!(odd, 0, "answers credited to the agent, rated 1 to 5, after the resolution, confirming only closed tickets");
    let with_nps = one("SELECT COUNT(*) FROM ticket_surveys WHERE nps IS NOT NULL").fetch_one(&mut conn).await.unwrap().0;
    let with_comment = one("SELECT COUNT(*) FROM ticket_surveys WHERE comment IS NOT NULL").fetch_one(&mut conn).await.unwrap().0;
    assert!(with_nps > 0 && with_nps < answered && with_comment > 0, "{with_nps} NPS, {with_comment} comments of {answered}");
    let feedback =
        one("SELECT COUNT(*) FROM feedback WHERE customer_id IS NOT NULL AND owner_id IS NOT NULL").fetch_one(&mut conn).await.unwrap().0;
    assert_eq!(feedback, 13);
    conn.close().await.unwrap();

    // The link of an answered survey opens it, showing the answer.
    let store = open_store(&dir, &db).await;
    let mut c2 = sqlx::AnyConnection::connect(&format!("sqlite://{db}")).await.unwrap();
    let id = one("SELECT MIN(ticket_id) FROM ticket_surveys WHERE answered_at IS NOT NULL").fetch_one(&mut c2).await.unwrap().0;
    c2.close().await.unwrap();
    let link = store.survey_link(id).await.unwrap().expect("a survey link");
    let view = store.public_survey(link.trim_start_matches("/support/surveys/")).await.unwrap();
    assert_eq!(view.ticket_id, id);
    assert!(view.answer.is_some_and(|a| (1..=5).contains(&a.csat)));
    store.close().await;
}

/// Issue 13 §4: `rapport clean` prints what it would change and writes nothing; with `--apply`
/// it writes exactly that.
#[tokio::test]
async fn clean_previews_and_applies() {
    let dir = Dir::new();
    let db = dir.db("clean.db");
    assert!(rapport(&dir, &["--database", &db, "migrate"]).status.success());
    let store = open_store(&dir, &db).await;
    let data = |name: &str, country: &str| rapport_domain::customer::CustomerData {
        name: name.into(),
        address: rapport_domain::customer::Address { country: Some(country.into()), ..Default::default() },
        ..Default::default()
    };
    store.create_customers_batch(&Actor::system(), &[data("JANE DOE", "France"), data("Ann Lee", "Atlantis")]).await.unwrap();
    store.close().await;

    let preview = rapport(&dir, &["--database", &db, "clean"]);
    assert!(preview.status.success(), "{}", text(&preview));
    let out = String::from_utf8_lossy(&preview.stdout).to_string();
    assert!(out.contains("name\t\"JANE DOE\" -> \"Jane Doe\"") && out.contains("address.country\t\"France\" -> \"FR\""), "{out}");
    assert!(out.contains("Atlantis") && text(&preview).contains("would change"), "{}", text(&preview));
    assert_eq!(people(&dir, &db).await[0].0, "JANE DOE", "a preview writes nothing");

    let applied = rapport(&dir, &["--database", &db, "clean", "--apply"]);
    assert!(applied.status.success() && text(&applied).contains("changed 1"), "{}", text(&applied));
    let names: Vec<String> = people(&dir, &db).await.into_iter().map(|p| p.0).collect();
    assert_eq!(names, vec!["Jane Doe", "Ann Lee"]);
    let again = rapport(&dir, &["--database", &db, "clean"]);
    assert!(!String::from_utf8_lossy(&again.stdout).contains("Jane"), "nothing left to change: {}", text(&again));
}

/// Issue 13 §5: `rapport merge SURVIVOR LOSER` merges as the API does, with `--field` choices;
/// a bad choice is refused and writes nothing; `--companies` merges companies.
#[tokio::test]
async fn merge_joins_two_people_into_one() {
    let dir = Dir::new();
    let db = dir.db("merge.db");
    assert!(rapport(&dir, &["--database", &db, "migrate"]).status.success());
    let store = open_store(&dir, &db).await;
    let data = |name: &str, email: &str, tags: &[&str]| rapport_domain::customer::CustomerData {
        name: name.into(),
        email: Some(email.into()),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    };
    let ids = store
        .create_customers_batch(
            &Actor::system(),
            &[data("Ann Lee", "ann@example.com", &["vip"]), data("Lee Ann", "lee@example.com", &["new"])],
        )
        .await
        .unwrap();
    let company = |name: &str, domain: Option<&str>| rapport_domain::company::CompanyData {
        name: name.into(),
        domain: domain.map(Into::into),
        ..Default::default()
    };
    let firms =
        store.create_companies_batch(&Actor::system(), &[company("Acme", None), company("ACME Ltd", Some("acme.example"))]).await.unwrap();
    store.close().await;
    let (a, b) = (ids[0].to_string(), ids[1].to_string());

    // Companies merge alike, with --companies.
    let (f, g) = (firms[0].to_string(), firms[1].to_string());
    let ok = rapport(&dir, &["--database", &db, "merge", "--companies", &f, &g]);
    assert!(ok.status.success() && text(&ok).contains("Acme"), "{}", text(&ok));
    let store = open_store(&dir, &db).await;
    let kept = store.get_company(&Actor::system(), firms[0]).await.unwrap();
    assert_eq!(kept.data.domain.as_deref(), Some("acme.example"), "the blank domain filled from the loser");
    assert!(matches!(store.get_company(&Actor::system(), firms[1]).await, Err(rapport_store::Error::Merged { .. })));
    store.close().await;

    let bad = rapport(&dir, &["--database", &db, "merge", &a, &b, "--field", "email=999"]);
    assert!(!bad.status.success() && text(&bad).contains("fields.email"), "{}", text(&bad));
    assert_eq!(people(&dir, &db).await.len(), 2, "a refused merge writes nothing");

    let ok = rapport(&dir, &["--database", &db, "merge", &a, &b, "--field", &format!("email={b}")]);
    assert!(ok.status.success(), "{}", text(&ok));
    let left = people(&dir, &db).await;
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].0.as_str(), left[0].1.as_deref()), ("Ann Lee", Some("lee@example.com")));
    let mut tags = left[0].2.clone();
    tags.sort();
    assert_eq!(tags, ["new", "vip"], "tags of both");
}
