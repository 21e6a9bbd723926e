//! Every query the sales reports make over the big tables (opportunities, their stage changes,
//! orders and the monthly summary) reads an index rather than the whole table, with each
//! documented filter, as an admin and as a rep: so a later change to a query or an index cannot
//! silently bring a full scan back. On SQLite (EXPLAIN QUERY PLAN) a narrowed query must
//! `SEARCH` its big tables, never `SCAN` them, and an admin's all-time report may walk only a
//! covering index. PostgreSQL plans an empty table as it likes, so there the check is weaker:
//! asked with sequential scans disabled, no `Seq Scan` may remain on a big table (an index
//! can serve each query).

use chrono::NaiveDate;
use rapport_domain::permissions::{Actor, Role};
use rapport_domain::sales::report::ReportFilter;
use sqlx::Row;

use crate::sql::{Sql, capture};
use crate::{Backend, Store};

/// The tables that grow with the business; the small ones (stages, users, teams, targets) may
/// be read whole.
const BIG: [&str; 4] = ["opportunities", "opportunity_stage_changes", "orders", "monthly_sales"];

/// The filters every report is tried with.
fn filters() -> Vec<(&'static str, ReportFilter)> {
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let quarter = ReportFilter { from: day("2026-10-01"), to: day("2026-12-31"), ..Default::default() };
    vec![
        ("all time", ReportFilter::default()),
        ("a quarter", quarter.clone()),
        ("days inside months", ReportFilter { from: day("2026-10-15"), to: day("2026-11-14"), ..Default::default() }),
        ("an owner", ReportFilter { owner_id: Some(1), ..Default::default() }),
        ("an owner in a quarter", ReportFilter { owner_id: Some(1), ..quarter.clone() }),
        ("a team", ReportFilter { team_id: Some(1), ..Default::default() }),
        ("a team in a quarter", ReportFilter { team_id: Some(1), ..quarter.clone() }),
        ("a pipeline", ReportFilter { pipeline_id: Some(1), ..Default::default() }),
        ("a pipeline in a quarter", ReportFilter { pipeline_id: Some(1), ..quarter }),
    ]
}

/// The reads each report makes for `actor` over `f`, by report name.
async fn report_reads(store: &Store, actor: &Actor, f: &ReportFilter) -> Vec<(&'static str, Vec<Sql>)> {
    vec![
        ("pipeline", capture(store.pipeline_report(actor, f)).await.1),
        ("win_rate", capture(store.win_rate_report(actor, f)).await.1),
        ("cycle_length", capture(store.cycle_report(actor, f)).await.1),
        ("funnel", capture(store.funnel_report(actor, f)).await.1),
        ("leaderboard", capture(store.leaderboard_report(actor, f)).await.1),
        ("monthly_sales", capture(store.monthly_sales_report(actor, f)).await.1),
    ]
}

/// The plan of `q`, one line per step.
async fn plan(store: &Store, q: &Sql) -> Vec<String> {
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

/// The steps of a plan that read a big table whole. `everything`: the query asks for every
/// record (an admin's all-time report), so reading all of a covering index is what it must do;
/// any narrower query must search its index (SQLite), not walk it.
fn full_scans(backend: Backend, plan: &[String], sql: &str, everything: bool) -> Vec<String> {
    plan.iter()
        .filter(|step| match backend {
            // `SCAN o` (or `SCAN orders`): every row of the table, or of an index, is read.
            // Which alias is which big table is looked up in the statement.
            Backend::Sqlite => {
                let Some(rest) = step.trim().strip_prefix("SCAN ") else { return false };
                let alias = rest.split_whitespace().next().unwrap_or("");
                let big =
                    BIG.iter().any(|t| *t == alias || sql.contains(&format!("{t} {alias} ")) || sql.contains(&format!("{t} {alias})")));
                big && !(everything && rest.contains("INDEX"))
            }
            Backend::Postgres => BIG.iter().any(|t| step.contains(&format!("Seq Scan on {t} "))),
        })
        .cloned()
        .collect()
}

async fn check(store: Store) {
    store.migrate().await.expect("migrations");
    let admin = Actor::user(1, Role::Admin);
    let rep = Actor::user(1, Role::SalesRep);
    let mut failures = vec![];
    let mut seen = 0;
    for (who, actor) in [("admin", &admin), ("rep", &rep)] {
        for (filter, f) in filters() {
            for (report, reads) in report_reads(&store, actor, &f).await {
                for q in reads.iter().filter(|q| BIG.iter().any(|t| q.text.contains(t))) {
                    seen += 1;
                    let steps = plan(&store, q).await;
                    let scans = full_scans(store.backend, &steps, &q.text, who == "admin" && filter == "all time");
                    if !scans.is_empty() {
                        failures.push(format!("{report} as {who}, {filter}: {scans:?}\n  {}\n  plan: {steps:#?}", q.text));
                    }
                }
            }
        }
    }
    assert!(seen >= 2 * 9 * 6, "every report read a big table ({seen} reads)");
    assert!(failures.is_empty(), "full scans on {:?}:\n{}", store.backend, failures.join("\n"));
}

#[tokio::test]
async fn report_queries_read_indexes_on_sqlite() {
    crate::test_db::on_sqlite("plans", check).await;
}

#[tokio::test]
async fn report_queries_read_indexes_on_postgres() {
    crate::test_db::on_postgres("plans", check).await;
}
