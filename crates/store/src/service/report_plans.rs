//! Every query of the service reports reads the big tables (tickets, their messages, status
//! changes and surveys) through an index, with each documented filter, as an admin and as an
//! agent, so that a later change to a query or an index cannot bring a full scan back
//! unnoticed. On SQLite (EXPLAIN QUERY PLAN, planned with the statistics of a 500,000-ticket
//! help desk written below by hand) a query narrowed by a period or an agent must `SEARCH`
//! its big tables, and so must every correlated lookup (first reply, reopen) of a query over
//! everything, whose outer walk of the tickets is the cheapest way to read them all.
//! On PostgreSQL, asked with sequential scans disabled, no `Seq Scan` may remain on a big table.
//! The counts read migration 0040's daily summary, never a big table; one kind of it (what
//! every report but the trend reads) is searched through its key on SQLite.

use chrono::NaiveDate;
use rapport_domain::permissions::{Actor, Role};
use rapport_domain::service::report::ServiceFilter;
use rapport_domain::service::ticket::Priority;
use sqlx::Row;

use crate::sql::{Sql, capture};
use crate::test_db::plan;
use crate::{Backend, Store};

const BIG: [&str; 4] = ["tickets", "ticket_messages", "ticket_status_changes", "ticket_surveys"];

/// `sqlite_stat1` of a help desk of 500,000 tickets, 2 million messages and status changes and
/// 150,000 answered surveys, 100 agents and 10 teams (table|index|statistics). `deleted_at`, the
/// last column of the covering indexes, is NULL in each entry: it divides nothing.
const STATISTICS: &str = "
    tickets|tickets_report_created_idx|500000 2 2 2 2 2
    tickets|tickets_report_resolved_idx|400000 2 2 2 2
    tickets|tickets_report_owner_created_idx|500000 5000 2
    tickets|tickets_report_owner_resolved_idx|400000 4000 2
    tickets|tickets_status_idx|500000 55556 2 1
    tickets|tickets_owner_idx|500000 5000 600
    tickets|tickets_queue_idx|500000 50000 6000 2 1
    tickets|tickets_created_idx|500000 1 1
    tickets|tickets_first_response_cover_idx|450000 3 2 2 2 2 2 2 2
    tickets|tickets_resolution_cover_idx|400000 3 2 2 2 2 2 2 2
    tickets|tickets_status_live_idx|500000 55556 50000 600 600
    tickets|tickets_team_status_live_idx|500000 50000 6000 600 600
    tickets|tickets_owner_status_live_idx|500000 5000 600 500 500
    tickets|tickets_owner_first_response_idx|450000 4500 3 2 2 2
    tickets|tickets_owner_resolution_idx|400000 4000 3 2 2 2
    tickets|tickets_team_first_response_idx|450000 45000 3 2 2 2
    tickets|tickets_team_resolution_idx|400000 40000 3 2 2 2
    tickets|tickets_customer_idx|500000 5 1
    tickets|tickets_category_first_response_cover_idx|450000 75000 3 2 2 2 2 2 2
    tickets|tickets_category_resolution_cover_idx|400000 66667 3 2 2 2 2 2 2
    tickets|tickets_priority_first_response_cover_idx|450000 112500 3 2 2 2 2 2 2
    tickets|tickets_priority_resolution_cover_idx|400000 100000 3 2 2 2 2 2 2
    tickets|tickets_backlog_cover_idx|500000 55556 2 2 2 2 2 2 2
    tickets|tickets_company_idx|500000 50 1
    tickets|tickets_owner_name_idx|500000 5000 2 1
    tickets|tickets_owner_created_idx|500000 5000 1 1
    tickets|tickets_team_name_idx|500000 50000 2 1
    tickets|tickets_team_created_idx|500000 50000 1 1
    tickets|tickets_status_name_idx|500000 55556 2 1
    ticket_surveys|ticket_surveys_answered_idx|150000 2 1 1 1 1
    ticket_surveys|ticket_surveys_agent_idx|150000 1500 2 1 1
    ticket_surveys|sqlite_autoindex_ticket_surveys_1|150000 1
    ticket_surveys|sqlite_autoindex_ticket_surveys_2|150000 1
    ticket_messages|ticket_messages_agent_reply_idx|1000000 2 1
    ticket_messages|ticket_messages_ticket_idx|2000000 4 1
    ticket_status_changes|ticket_status_changes_reopen_idx|50000 1
    ticket_status_changes|ticket_status_changes_ticket_idx|2000000 4 1 1
";

/// The filters each report is tried with, and whether they narrow it (a period or an agent).
fn filters() -> Vec<(&'static str, ServiceFilter, bool)> {
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let month = ServiceFilter { from: day("2026-10-01"), to: day("2026-10-31"), ..Default::default() };
    vec![
        ("all time", ServiceFilter::default(), false),
        ("a month", month.clone(), true),
        ("an agent", ServiceFilter { agent_id: Some(1), ..Default::default() }, true),
        ("an agent in a month", ServiceFilter { agent_id: Some(1), ..month.clone() }, true),
        ("a team", ServiceFilter { team_id: Some(1), ..Default::default() }, false),
        ("a team in a month", ServiceFilter { team_id: Some(1), ..month.clone() }, true),
        ("a priority in a month", ServiceFilter { priority: Some(Priority::High), ..month.clone() }, true),
        ("a category in a month", ServiceFilter { category: Some("billing".into()), ..month.clone() }, true),
        ("a company in a month", ServiceFilter { company_id: Some(1), ..month }, true),
        ("a company", ServiceFilter { company_id: Some(1), ..Default::default() }, true),
    ]
}

async fn report_reads(store: &Store, actor: &Actor, f: &ServiceFilter) -> Vec<(&'static str, Vec<Sql>)> {
    vec![
        ("backlog", capture(store.service_backlog(actor, f)).await.1),
        ("times", capture(store.service_times(actor, f)).await.1),
        ("csat", capture(store.service_csat(actor, f)).await.1),
        ("nps", capture(store.service_nps(actor, f)).await.1),
        ("reopen_rate", capture(store.service_reopen_rate(actor, f)).await.1),
        ("trend", capture(store.service_trend(actor, f)).await.1),
    ]
}

/// The steps that read more of a big table than allowed: on SQLite any `SCAN` of one when the
/// filter narrows the query, and otherwise any `SCAN` but the outer walk of the tickets.
fn full_scans(backend: Backend, plan: &[String], sql: &str, narrowed: bool) -> Vec<String> {
    plan.iter()
        .filter(|step| match backend {
            Backend::Sqlite => {
                let Some(rest) = step.trim().strip_prefix("SCAN ") else { return false };
                let alias = rest.split_whitespace().next().unwrap_or("");
                let big =
                    BIG.iter().any(|t| *t == alias || sql.contains(&format!("{t} {alias} ")) || sql.contains(&format!("{t} {alias})")));
                big && (narrowed || alias != "t")
            }
            Backend::Postgres => BIG.iter().any(|t| step.contains(&format!("Seq Scan on {t} "))),
        })
        .cloned()
        .collect()
}

async fn with_statistics(store: Store) -> Store {
    if store.backend != Backend::Sqlite {
        return store;
    }
    let file: String = sqlx::query("PRAGMA database_list").fetch_one(&store.pool).await.expect("file").try_get("file").expect("file");
    let mut tx = store.pool.begin().await.expect("begin");
    sqlx::query("ANALYZE").execute(&mut *tx).await.expect("analyze");
    for table in BIG {
        sqlx::query("DELETE FROM sqlite_stat1 WHERE tbl = $1").bind(table).execute(&mut *tx).await.expect("clear");
    }
    for line in STATISTICS.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let [tbl, idx, stat] = line.splitn(3, '|').collect::<Vec<_>>()[..] else { panic!("bad statistics line {line}") };
        let q = sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ($1, $2, $3)").bind(tbl).bind(idx).bind(stat);
        q.execute(&mut *tx).await.expect("statistics");
    }
    tx.commit().await.expect("commit");
    store.close().await;
    Store::connect(&file).await.expect("reopen")
}

async fn check(store: Store) {
    store.migrate().await.expect("migrations");
    let store = with_statistics(store).await;
    // Durations counted in the summary for every filter's team, agent, category and priorities,
    // so that the times report reads its percentiles (it reads none of nothing).
    for priority in ["high", "urgent"] {
        sqlx::query(
            "INSERT INTO service_daily (kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, \
             csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors) \
             VALUES ('created', '2026-10-15', '2026-10-12', 1, 1, 0, $1, 'billing', 5, 0, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0)",
        )
        .bind(priority)
        .execute(&store.pool)
        .await
        .expect("summary row");
    }
    let admin = Actor::user(1, Role::Admin);
    let agent = Actor::user(1, Role::SupportAgent);
    let mut failures = vec![];
    let mut seen = 0;
    let mut summary_reads = 0;
    for (who, actor) in [("admin", &admin), ("agent", &agent)] {
        for (filter, f, narrowed) in filters() {
            for (report, reads) in report_reads(&store, actor, &f).await {
                assert!(!reads.is_empty(), "{report} as {who}, {filter}: no query");
                for q in reads.iter().filter(|q| q.text.contains("FROM service_daily")) {
                    summary_reads += 1;
                    assert!(f.company_id.is_none(), "{report}, {filter}: the summary has no company: {}", q.text);
                    let big = BIG.iter().any(|t| q.text.contains(&format!("{t} ")) || q.text.contains(&format!("{t})")));
                    assert!(!big, "{report} as {who}, {filter}: the summary read joins a big table: {}", q.text);
                    let steps = plan(&store, q).await.join("\n");
                    if store.backend == Backend::Sqlite && q.text.contains("AND t.kind = '") {
                        assert!(
                            steps.contains("SEARCH") && steps.contains("kind=?"),
                            "{report}, {filter}: not by the key\n  {}\n  {steps}",
                            q.text
                        );
                    }
                }
                for q in reads.iter().filter(|q| BIG.iter().any(|t| q.text.contains(t))) {
                    seen += 1;
                    let steps = plan(&store, q).await;
                    let scans = full_scans(store.backend, &steps, &q.text, narrowed);
                    if !scans.is_empty() {
                        failures.push(format!("{report} as {who}, {filter}: {scans:?}\n  {}\n  plan: {steps:#?}", q.text));
                    }
                }
            }
        }
    }
    // Every filter but a company's: times counts, CSAT, NPS, reopen rate, trend.
    assert!(summary_reads >= 2 * 8 * 5, "the counts read the summary ({summary_reads} reads)");
    // Backlog and the times' four percentile walks always, and every query of every report
    // filtered by a company.
    assert!(seen >= 2 * (8 * 5 + 2 * 9), "reports read the big tables ({seen} reads)");
    // The times report reads the stored business-hours durations through migration 0025's
    // indexes (never the conversations), for everything, an agent and a team (a month
    // searches the creation index, checked above).
    if store.backend == Backend::Sqlite {
        for (filter, f, _) in filters().into_iter().filter(|(n, _, _)| ["all time", "an agent", "a team"].contains(n)) {
            for actor in [&admin, &agent] {
                for q in capture(store.service_times(actor, &f)).await.1.into_iter().filter(|q| !q.text.contains("service_daily")) {
                    assert!(!q.text.contains("ticket_messages"), "{filter}: {}", q.text);
                    let steps = plan(&store, &q).await.join("\n");
                    let uses = ["_first_response_", "_resolution_"].iter().any(|i| steps.contains(i));
                    assert!(uses, "times, {filter}: no 0025 index\n  {}\n  {steps}", q.text);
                    // A percentile walks its index in order and stops at its rank: sorting would
                    // read every duration first (as a skip-scan of the per-team index did).
                    let sorted = q.text.contains("LIMIT 2 OFFSET") && steps.contains("USE TEMP B-TREE FOR ORDER BY");
                    assert!(!sorted, "times, {filter}: a percentile sorted instead of walked\n  {}\n  {steps}", q.text);
                }
            }
        }
    }
    // Migration 0030: filtered by a category or a priority (no index of its own), the times
    // report walks the covering index of its measure, never the tickets' rows; and the queue
    // counts of everything, of a team and of an agent read their live-ticket indexes.
    if store.backend == Backend::Sqlite {
        // (With a period, the creation index narrows first; checked above.)
        let by = [
            ServiceFilter { category: Some("billing".into()), ..Default::default() },
            ServiceFilter { priority: Some(Priority::Urgent), ..Default::default() },
        ];
        // Migration 0041: with the category or the priority leading, only its durations are walked.
        for (f, lead) in by.iter().zip(["tickets_category_", "tickets_priority_"]) {
            let reads: Vec<Sql> =
                capture(store.service_times(&admin, f)).await.1.into_iter().filter(|q| !q.text.contains("service_daily")).collect();
            assert_eq!(reads.len(), 4, "times by {f:?}: a median and a p90 per measure");
            for q in reads {
                let steps = plan(&store, &q).await.join("\n");
                assert!(
                    steps.contains(lead) && steps.contains("_cover_idx"),
                    "times by {f:?}: not {lead}…_cover_idx\n  {}\n  {steps}",
                    q.text
                );
            }
        }
        // The backlog of everything (every open ticket) reads its covering index, never a
        // ticket's row (a team's, an agent's or a company's are searched by their indexes).
        for (filter, f, _) in filters().into_iter().filter(|(n, _, _)| *n == "all time") {
            for actor in [&admin, &agent] {
                for q in capture(store.service_backlog(actor, &f)).await.1 {
                    let steps = plan(&store, &q).await.join("\n");
                    let indexed = steps.contains("COVERING INDEX") && !steps.contains("SCAN t\n") && !steps.ends_with("SCAN t");
                    assert!(indexed, "backlog, {filter}: not from an index alone\n  {}\n  {steps}", q.text);
                }
            }
        }
        for (query, index) in [
            ("", "tickets_status_live_idx"),
            ("team_id=1", "tickets_team_status_live_idx"),
            ("owner_id=1", "tickets_owner_status_live_idx"),
        ] {
            let pairs: Vec<(String, String)> =
                query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let p = rapport_domain::query::ListParams::parse(&pairs, &rapport_domain::service::ticket::SPEC, &[]).expect("params");
            let (_, counts) = store.explain_ticket_queue(&admin, &p, false).await.expect("plan");
            assert!(counts.contains(index), "counts of '{query}': not {index}\n{counts}");
        }
    }
    assert!(failures.is_empty(), "{} full scans on {:?}:\n{}", failures.len(), store.backend, failures.join("\n"));
}

#[tokio::test]
async fn service_report_queries_read_indexes_on_sqlite() {
    crate::test_db::on_sqlite("service_plans", check).await;
}

#[tokio::test]
async fn service_report_queries_read_indexes_on_postgres() {
    crate::test_db::on_postgres("service_plans", check).await;
}
