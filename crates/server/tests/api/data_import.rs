//! Imports (issue 13 §2) through `POST /api/v1/imports`: a background job with progress,
//! every problem with its line and column, the rejected rows as CSV, upserts so that a second
//! run creates nothing, the two modes and the dry run, encodings, delimiters and mappings;
//! and a seeded fuzz of malformed CSV through the importer itself.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rapport_domain::permissions::Actor;
use rapport_server::data::import::{ImportMode, Options, Problem, Progress, Sink, import};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::TestApp;

/// Uploads `body` and follows the job until it ends; the finished job.
pub(crate) async fn run_import(app: &TestApp, query: &str, body: impl Into<Vec<u8>>) -> Value {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/imports?{query}"))
        .header("authorization", format!("Bearer {}", app.token))
        .header("content-type", "text/csv")
        .body(Body::from(body.into()))
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    assert_eq!(status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&bytes));
    let location = location.expect("Location");
    // The job runs on this runtime: give it turns until it ends (no sleeping).
    for _ in 0..100_000 {
        let r = app.get(&location).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        if r.body["status"] == "done" || r.body["status"] == "failed" {
            return r.body;
        }
        tokio::task::yield_now().await;
    }
    panic!("the import did not end");
}

pub(crate) async fn problems(app: &TestApp, id: &Value) -> Vec<(i64, String, String)> {
    let r = app.get(&format!("/api/v1/imports/{id}/problems")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["line"].as_i64().unwrap(), p["column"].as_str().unwrap_or("").to_string(), p["message"].as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn a_best_effort_import_writes_the_good_rows_and_hands_back_the_rejected_ones() {
    each_backend!(|app| {
        // A BOM, `;` between cells, a quoted cell over two lines, a bad email, a short row.
        let csv = "\u{feff}Name;E-mail;External id;Town;Tags\n\
                   Ann;ann@example.com;c-1;Paris;vip|new\n\
                   Bad;not-an-email;c-2;Lyon;\n\
                   \"Cy\nSecond line\";cy@example.com;c-3;Nice;\n\
                   Short;short@example.com\n\
                   =HYPERLINK(\"x\");dee@example.com;c-5;;\n";
        let m = app
            .post(
                "/api/v1/import_mappings",
                json!({"kind": "customers", "name": "crm export", "mapping": {"E-mail": "email", "Town": "address.city"}}),
            )
            .await;
        assert_eq!(m.status, StatusCode::OK, "{}", m.body);
        let mid = m.body["id"].clone();
        let job = run_import(&app, &format!("kind=customers&mode=best_effort&mapping_id={mid}&file_name=people.csv"), csv).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!((job["created"].as_i64(), job["rejected"].as_i64(), job["rows"].as_i64()), (Some(3), Some(2), Some(5)), "{job}");
        assert_eq!(job["summary"]["upsert_key"], "external_id");
        assert_eq!(job["bytes"], job["total_bytes"]);
        let ps = problems(&app, &job["id"]).await;
        assert!(ps.iter().any(|p| p.0 == 3 && p.1 == "E-mail"), "{ps:?}");
        assert!(
            ps.iter().any(|p| p.0 == 6 && p.2.contains("has 2 cells where the header has 5")),
            "the short row, on its own line after the two-line cell: {ps:?}"
        );
        let mut names = app.people("").await;
        names.sort();
        // A name is one line: cleansing on import collapses the quoted cell's line break.
        assert_eq!(names, ["=HYPERLINK(\"x\")", "Ann", "Cy Second line"]);
        assert_eq!(job["summary"]["cleansed"], 1, "{job}");
        assert_eq!(job["summary"]["changes"][0]["field"], "name", "{job}");
        assert_eq!(job["summary"]["changes"][0]["line"], 4, "{job}");
        let ann = app.get("/api/v1/customers?external_id=c-1").await;
        assert_eq!(ann.body["data"][0]["tags"], json!(["new", "vip"]));
        assert_eq!(ann.body["data"][0]["address"]["city"], "Paris");

        let r = app.get(&format!("/api/v1/imports/{}/rejected", job["id"])).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.header("content-type").starts_with("text/csv"));
        let text = r.body.as_str().unwrap().to_string();
        let mut rd = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(rd.headers().unwrap().iter().collect::<Vec<_>>(), ["Name", "E-mail", "External id", "Town", "Tags", "line", "problems"]);
        let rows: Vec<Vec<String>> = rd.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
        assert_eq!(rows.len(), 2, "{text}");
        assert_eq!((rows[0][0].as_str(), rows[0][5].as_str()), ("Bad", "3"));
        assert!(rows[0][6].starts_with("E-mail: "), "{:?}", rows[0]);
        assert_eq!(rows[1][5], "6");

        // The same file again: upserts by external_id, so nothing is created twice.
        let again = run_import(&app, &format!("kind=customers&mode=best_effort&mapping_id={mid}"), csv).await;
        assert_eq!((again["created"].as_i64(), again["updated"].as_i64()), (Some(0), Some(3)), "{again}");
        assert_eq!(app.people("").await.len(), 3);
        // New records are audited per chunk (one bulk_create row naming how many), updates per record.
        let audit = app.get("/api/v1/audit_log?object=customer&action=bulk_create&limit=100").await;
        let rows = audit.body.as_array().unwrap();
        assert_eq!(rows.len(), 1, "one audit row for the chunk that created the records: {rows:?}");
        assert_eq!(rows[0]["diff"]["count"], 3, "{rows:?}");
        let audit = app.get("/api/v1/audit_log?object=customer&action=update&limit=100").await;
        assert_eq!(audit.body.as_array().unwrap().len(), 3, "one audit row per updated record");
    });
}

#[tokio::test]
async fn all_or_nothing_and_dry_runs_write_nothing_and_list_every_problem() {
    each_backend!(|app| {
        let csv = "name,email,lifecycle_stage\nAnn,ann@example.com,customer\nBo,bad,customer\nCy,cy@example.com,nonsense\nDee,,lead\n";
        let job = run_import(&app, "kind=people", csv).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(job["summary"]["written"], false);
        assert!(app.people("").await.is_empty(), "nothing written");
        let ps = problems(&app, &job["id"]).await;
        let at: Vec<(i64, &str)> = ps.iter().map(|p| (p.0, p.1.as_str())).collect();
        assert_eq!(at, [(3, "email"), (4, "lifecycle_stage")], "{ps:?}");

        let dry = run_import(&app, "kind=customers&mode=best_effort&dry_run=true", csv).await;
        assert_eq!(
            (dry["created"].as_i64(), dry["rejected"].as_i64()),
            (Some(2), Some(2)),
            "the dry run counts what would be written: {dry}"
        );
        assert!(app.people("").await.is_empty(), "a dry run writes nothing");
        let good = "name,email\nAnn,ann@example.com\nDee,dee@example.com\n";
        let ok = run_import(&app, "kind=customers", good).await;
        assert_eq!((ok["created"].as_i64(), ok["summary"]["written"].as_bool()), (Some(2), Some(true)), "{ok}");
        // Without an external id column, people upsert by email.
        let again = run_import(&app, "kind=customers", "email,notes\nann@example.com,again\n").await;
        assert_eq!((again["updated"].as_i64(), again["summary"]["upsert_key"].as_str()), (Some(1), Some("email")), "{again}");
    });
}

#[tokio::test]
async fn encodings_delimiters_and_json_lines() {
    each_backend!(|app| {
        let mut latin1 = b"name,city\nAnn,Paris\nJos".to_vec();
        latin1.extend([0xE9, b',', b'L', b'y', b'o', b'n', b'\n']);
        let job = run_import(&app, "kind=customers&mode=best_effort", latin1).await;
        let ps = problems(&app, &job["id"]).await;
        assert_eq!(ps.len(), 1, "{ps:?}");
        assert_eq!((ps[0].0, ps[0].1.as_str()), (3, "name"));
        assert!(ps[0].2.contains("not valid UTF-8") && ps[0].2.contains("0xE9"), "{ps:?}");
        assert_eq!(app.people("").await, ["Ann"]);

        let utf16 = [0xFF, 0xFE, b'n', 0, b'a', 0];
        let job = run_import(&app, "kind=customers", utf16.to_vec()).await;
        assert_eq!(job["status"], "failed");
        assert!(job["error"].as_str().unwrap().contains("UTF-16"), "{job}");

        let tabs = "name\tsku\tunit_price_minor\tcurrency\nWidget\tw-1\t1250\tEUR\nGadget\tg-1\tabc\tEUR\n";
        let job = run_import(&app, "kind=products&mode=best_effort", tabs).await;
        assert_eq!((job["created"].as_i64(), job["rejected"].as_i64()), (Some(1), Some(1)), "{job}");
        let ps = problems(&app, &job["id"]).await;
        assert_eq!((ps[0].0, ps[0].1.as_str()), (3, "unit_price_minor"), "{ps:?}");
        let p = app.get("/api/v1/products?sku=W-1").await;
        assert_eq!(p.body["data"][0]["unit_price_minor"], 1250, "{}", p.body);

        let jsonl = "{\"name\": \"Acme\", \"external_id\": \"co-1\", \"domain\": \"acme.io\"}\n\n{\"name\": \"\"}\nnot json\n";
        let job = run_import(&app, "kind=companies&mode=best_effort", jsonl).await;
        assert_eq!((job["created"].as_i64(), job["rejected"].as_i64()), (Some(1), Some(2)), "{job}");
        let ps = problems(&app, &job["id"]).await;
        assert_eq!(ps.iter().map(|p| p.0).collect::<Vec<_>>(), [3, 4], "{ps:?}");

        let r = app.call(Method::POST, "/api/v1/imports?kind=campaigns", Some(&app.token), None, &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["kind"]);
    });
}

/// A tiny deterministic generator (xorshift), so a failing case can be replayed by its seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// A cell that may be valid, malformed, huge, a formula, or bytes that are not UTF-8.
fn cell(g: &mut Gen) -> Vec<u8> {
    match g.next() % 12 {
        0 => b"\"unterminated".to_vec(),
        1 => b"a\"b\"c".to_vec(),
        2 => vec![0xC3, 0x28],
        3 => "=cmd|' /C calc'!A0".into(),
        4 => vec![b'x'; 150_000],
        5 => b"".to_vec(),
        6 => "\"quoted, with comma\"".into(),
        7 => "\"multi\nline\"".into(),
        8 => "+33 1 23 45 67 89".into(),
        _ => g.pick(&["Ann", "Bo", "Zoë", "x@example.com", "not-an-email", "  spaced  ", "-1", "@home"]).into(),
    }
}

struct Collect {
    problems: Vec<Problem>,
    rejected: Vec<u64>,
}

impl Sink for Collect {
    async fn progress(&mut self, _: &Progress) {}
    async fn problem(&mut self, p: &Problem) {
        self.problems.push(p.clone());
    }
    async fn rejected(&mut self, line: u64, _: &[String], _: &str) {
        self.rejected.push(line);
    }
    async fn header(&mut self, _: &[String]) {}
}

#[tokio::test]
async fn malformed_csv_never_panics_and_every_rejection_names_its_line() {
    each_backend!(|app| {
        let state = rapport_server::AppState::new(app.store.clone(), rapport_server::Config::default());
        let dir = std::env::temp_dir().join(format!("rapport-fuzz-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut total_created = 0;
        for seed in 1..=25u64 {
            let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut file = b"name,email,notes\n".to_vec();
            let rows = 1 + g.next() % 19;
            for _ in 0..rows {
                let cells = 1 + g.next() % 4; // wrong column counts too
                for c in 0..cells {
                    if c > 0 {
                        file.push(if g.next().is_multiple_of(10) { b';' } else { b',' });
                    }
                    file.extend(cell(&mut g));
                }
                file.extend(if g.next().is_multiple_of(5) { &b"\r\n"[..] } else { &b"\n"[..] });
            }
            let path = dir.join(format!("{seed}.csv"));
            std::fs::write(&path, &file).unwrap();
            let mut sink = Collect { problems: vec![], rejected: vec![] };
            let opts = Options { mode: ImportMode::BestEffort, ..Default::default() };
            let summary =
                import(&state, &Actor::system(), "customers", &path, &opts, &mut sink).await.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let p = &summary.progress;
            assert_eq!(p.rows, p.created + p.updated + p.rejected, "seed {seed}: every row accounted for");
            assert_eq!(sink.rejected.len() as u64, p.rejected, "seed {seed}: every rejected row handed back");
            for line in &sink.rejected {
                assert!(
                    *line >= 2 && sink.problems.iter().any(|x| x.line == *line),
                    "seed {seed}: rejected line {line} has a problem on its line"
                );
            }
            total_created += p.created;
            let people = app
                .store
                .list_customers(&Actor::system(), &rapport_domain::query::ListParams { limit: 500, ..Default::default() })
                .await
                .unwrap();
            assert_eq!(people.data.len() as u64, total_created, "seed {seed}: only written rows are in the database");
            for c in &people.data {
                assert!(!c.data.name.is_empty() && c.data.name.len() <= 200, "seed {seed}: no partial row");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}
