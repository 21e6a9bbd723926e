//! Every query the sales reports make over the big tables (opportunities, their stage changes,
//! orders and the monthly summary) reads an index rather than the whole table, with each
//! documented filter, as an admin and as a rep: so a later change to a query or an index cannot
//! silently bring a full scan back. On SQLite (EXPLAIN QUERY PLAN, planned with the 100k demo's
//! statistics) a query narrowed by a period, an owner or a pipeline must `SEARCH` its big
//! tables, never `SCAN` them; one over (nearly) everything may walk only a covering index. PostgreSQL plans an empty table as it likes, so there the check is weaker:
//! asked with sequential scans disabled, no `Seq Scan` may remain on a big table (an index
//! can serve each query).

use chrono::NaiveDate;
use rapport_domain::accounts::{NewUser, TeamChanges};
use rapport_domain::permissions::{Actor, Role};
use rapport_domain::sales::report::ReportFilter;
use sqlx::Row;

use crate::sql::{Sql, capture};
use crate::test_db::plan;
use crate::{Backend, Store};

/// The tables that grow with the business; the small ones (stages, users, teams, targets) may
/// be read whole.
const BIG: [&str; 6] = ["opportunities", "opportunity_stage_changes", "orders", "monthly_sales", "sales_presence", "sales_buyers"];

/// `sqlite_stat1` of the big tables in the 100,000-people demo (table|index|statistics).
const DEMO_STATISTICS: &str = "
    opportunities|opportunities_owner_report_idx|100000 33334 6667 2223 24 14 2 2
    opportunities|opportunities_closed_report_idx|100000 33334 2 2 2 2 2 2
    opportunities|opportunities_pipeline_close_idx|100000 50000 65 27 11 4 2 2
    opportunities|opportunities_close_report_idx|100000 130 65 27 11 4 2 2
    opportunities|opportunities_totals_idx|100000 50000 9091 3031 607 11 11
    opportunities|opportunities_in_stage_idx|100000 1 1
    opportunities|opportunities_closed_at_idx|100000 2 1
    opportunities|opportunities_close_date_idx|100000 130 1
    opportunities|opportunities_amount_idx|100000 1000 1
    opportunities|opportunities_status_idx|100000 33334
    opportunities|opportunities_board_idx|100000 50000 9091 93 1
    opportunities|opportunities_campaign_idx|100000 100000
    opportunities|opportunities_company_idx|100000 8
    opportunities|opportunities_customer_idx|100000 1
    opportunities|opportunities_owner_idx|100000 20000
    opportunities|opportunities_unstamped_idx|0 0
    opportunities|opportunities_change_idx|100000 1000 1
    opportunities|opportunities_created_idx|100000 1 1
    opportunities|opportunities_updated_idx|100000 1 1
    opportunities|opportunities_sort_name_idx|100000 2 1
    opportunity_stage_changes|opportunity_stage_changes_at_idx|364438 1 1
    opportunity_stage_changes|opportunity_stage_changes_opportunity_idx|364438 4 1 1 1 1 1
    orders|orders_owner_sales_idx|418515 83703 16741 65 65 1 1 1
    orders|orders_sales_report_idx|418515 83703 325 325 65 1 1 1
    orders|orders_total_idx|418515 10 1
    orders|orders_confirmed_at_idx|418515 649 1
    orders|orders_paid_at_idx|418515 649 1
    orders|orders_date_idx|418515 650 1
    orders|orders_status_idx|418515 83703
    orders|orders_campaign_idx|418515 418515 83703 1
    orders|orders_opportunity_idx|418515 418515
    orders|orders_company_idx|418515 31
    orders|orders_customer_idx|418515 8 4 1
    orders|orders_owner_idx|418515 83703
    orders|orders_change_idx|418515 1469 1
    orders|orders_created_idx|418515 1469 1
    orders|orders_updated_idx|418515 1469 1
    orders|orders_sort_name_idx|418515 650 1
    monthly_sales|sqlite_autoindex_monthly_sales_1|161 23 1 1
    sales_presence|sqlite_autoindex_sales_presence_1|350000 15000 15000 1 1
    sales_buyers|sqlite_autoindex_sales_buyers_1|350000 15000 15000 1
    sales_buyers|sales_buyers_shared_idx|100 5 5 1 1
";

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

/// How much of the big tables a query may read on SQLite.
#[derive(Clone, Copy, PartialEq)]
enum Allowed {
    /// A period, an owner or a pipeline narrows it: it must `SEARCH` its indexes, never `SCAN`.
    Search,
    /// It asks for (nearly) everything (all time, a team, a rep's reach): walking a covering
    /// index whole is the cheapest way, reading the table's rows is not.
    CoveringWalk,
    /// The all-time funnel reads every deal's history: it may walk the deals table itself.
    Everything,
}

/// The steps of a plan that read more of a big table than `allowed`.
fn full_scans(backend: Backend, plan: &[String], sql: &str, allowed: Allowed) -> Vec<String> {
    plan.iter()
        .filter(|step| match backend {
            // `SCAN o` (or `SCAN orders`): every row of the table, or of an index, is read.
            // Which alias is which big table is looked up in the statement.
            Backend::Sqlite => {
                let Some(rest) = step.trim().strip_prefix("SCAN ") else { return false };
                let alias = rest.split_whitespace().next().unwrap_or("");
                let big =
                    BIG.iter().any(|t| *t == alias || sql.contains(&format!("{t} {alias} ")) || sql.contains(&format!("{t} {alias})")));
                big && match allowed {
                    Allowed::Search => true,
                    Allowed::CoveringWalk => !rest.contains("COVERING INDEX"),
                    Allowed::Everything => false,
                }
            }
            Backend::Postgres => BIG.iter().any(|t| step.contains(&format!("Seq Scan on {t} "))),
        })
        .cloned()
        .collect()
}

/// SQLite plans an empty table by rules of thumb (a covering index walked whole looks cheap), so
/// the test gives it the statistics of the database it must be fast on: the 100,000-people demo
/// (`sqlite_stat1` of `bench/sales.sh`'s database after migration 0014), then opens it afresh
/// so that every connection plans with them.
async fn with_demo_statistics(store: Store) -> Store {
    if store.backend != Backend::Sqlite {
        return store;
    }
    let file: String = sqlx::query("PRAGMA database_list").fetch_one(&store.pool).await.expect("file").try_get("file").expect("file");
    let mut tx = store.pool.begin().await.expect("begin");
    for table in BIG {
        sqlx::query("DELETE FROM sqlite_stat1 WHERE tbl = $1").bind(table).execute(&mut *tx).await.expect("clear");
    }
    for line in DEMO_STATISTICS.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let [tbl, idx, stat] = line.splitn(3, '|').collect::<Vec<_>>()[..] else { panic!("bad statistics line {line}") };
        let q = sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ($1, $2, $3)").bind(tbl).bind(idx).bind(stat);
        q.execute(&mut *tx).await.expect("statistics");
    }
    tx.commit().await.expect("commit");
    store.close().await;
    Store::connect(&file).await.expect("reopen")
}

/// A sales rep in the first team, which shares its records.
async fn shared_team_member(store: &Store) -> i64 {
    let system = Actor::system();
    let new =
        NewUser { email: "plans@example.com".into(), name: "Plans".into(), password: "a long password 1".into(), role: "sales_rep".into() };
    let me = store.create_user(&system, new).await.expect("user").id;
    let team = TeamChanges { name: Some("Plans".into()), visibility: Some("team".into()), member_ids: Some(vec![me]) };
    assert_eq!(store.save_team(&system, None, None, team).await.expect("team").id, 1, "the filters' team");
    me
}

async fn check(store: Store) {
    store.migrate().await.expect("migrations");
    let store = with_demo_statistics(store).await;
    // A rep whose records are shared with team 1, and one in no team.
    let member = shared_team_member(&store).await;
    let teamed = Actor::user(member, Role::SalesRep);
    let admin = Actor::user(1, Role::Admin);
    let rep = Actor::user(member + 1, Role::SalesRep);
    let mut failures = vec![];
    let mut seen = 0;
    for (who, actor) in [("admin", &admin), ("rep", &rep), ("rep in a shared team", &teamed)] {
        for (filter, f) in filters() {
            for (report, reads) in report_reads(&store, actor, &f).await {
                for q in reads.iter().filter(|q| BIG.iter().any(|t| q.text.contains(t))) {
                    seen += 1;
                    let steps = plan(&store, q).await;
                    // Monthly sales do not narrow to a pipeline: over one, they are all time.
                    let whole = filter == "all time" || filter == "a team" || (report == "monthly_sales" && filter == "a pipeline");
                    let allowed = match (report, whole) {
                        ("funnel", true) => Allowed::Everything,
                        (_, true) => Allowed::CoveringWalk,
                        (_, false) => Allowed::Search,
                    };
                    let scans = full_scans(store.backend, &steps, &q.text, allowed);
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
