//! Issue 10 item 2: every documented people filter and sort, and the search paths, keep their
//! indexes. The plans are the engines' own (`EXPLAIN QUERY PLAN` on SQLite, which without
//! statistics plans for a large table; `EXPLAIN` with sequential scans off on PostgreSQL, which
//! makes a small table planned as a large one would be), so a change that loses an index fails
//! here rather than at a million people.

use rapport_domain::customer::SPEC;
use rapport_domain::permissions::{Actor, Role};
use rapport_domain::query::ListParams;
use serde_json::json;
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::{Backend, TestApp};

async fn actor(app: &TestApp, token: &str) -> Actor {
    app.store.authenticate(token).await.unwrap().expect("a session").actor(None)
}

async fn plan(app: &TestApp, actor: &Actor, query: &str) -> String {
    let pairs: Vec<(String, String)> =
        query.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.replace('+', " "))).collect();
    let p = ListParams::parse(&pairs, &SPEC, &[]).unwrap_or_else(|e| panic!("{query}: {e}"));
    app.store.explain_customer_list(actor, &p, true).await.unwrap_or_else(|e| panic!("{query}: {e}"))
}

/// No step reads the people table in full without an index (SQLite's `SCAN r` walks the table
/// itself, which is in id order: fine for a page sorted by id that stops when full). With
/// `ordered`, the page's rows come in the order of an index: the page query sorts nothing.
fn check(backend: Backend, query: &str, plan: &str, ordered: bool) {
    if std::env::var("SHOW_PLANS").is_ok() {
        eprintln!("=== {query}\n{plan}");
    }
    let by_id = query.contains("sort=id") || query.contains("sort=-id");
    match backend {
        Backend::Sqlite => {
            // The page query is nested (the `k` of the list's SQL): its steps are indented.
            let sorts_inside = plan.lines().any(|l| l.starts_with("  ") && l.contains("USE TEMP B-TREE FOR ORDER BY"));
            for l in plan.lines() {
                let step = l.trim();
                let bare_scan = step == "SCAN r" || step.starts_with("SCAN r ") && !step.contains("USING");
                assert!(!bare_scan || (by_id && !sorts_inside), "{query}: a full scan of people\n{plan}");
            }
            assert!(!(ordered && sorts_inside), "{query}: the matches are sorted instead of read in index order\n{plan}");
        }
        Backend::Postgres => {
            assert!(!plan.contains("Seq Scan on customers"), "{query}: a full scan of people\n{plan}");
            assert!(plan.contains("Index") && plan.contains("on customers"), "{query}: no index of people\n{plan}");
            // The page query is what the first limit cuts off (a sort above it orders the page).
            let page_query = plan.split_once("Limit").map(|(_, rest)| rest).unwrap_or("");
            assert!(!(ordered && page_query.contains("Sort")), "{query}: the matches are sorted instead of read in index order\n{plan}");
        }
    }
}

/// A relevance search ranks a bounded set: the candidates come from their index newest first
/// (SQLite: FTS5 walks its rowids backwards, no sort of the matches) and are cut off
/// (PostgreSQL: a limit below the ranking's own).
fn check_bounded(backend: Backend, query: &str, plan: &str) {
    match backend {
        Backend::Sqlite => {
            assert!(plan.contains("VIRTUAL TABLE INDEX"), "{query}: not from the full-text index\n{plan}");
            let deep_sort = plan.lines().any(|l| l.starts_with("    ") && l.contains("USE TEMP B-TREE FOR ORDER BY"));
            assert!(!deep_sort, "{query}: every match is sorted to pick the candidates\n{plan}");
        }
        Backend::Postgres => {
            assert!(plan.matches("Limit").count() >= 2, "{query}: the ranking is not bounded\n{plan}");
        }
    }
}

const SORTS: [&str; 8] = ["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "id", "-id"];

/// Filters walked in the order of a composite index (filter column, sort key, id) or checked per
/// row while walking the sort key's own index.
const ORDERED_FILTERS: [&str; 11] = [
    "",
    "lifecycle_stage=customer",
    "lead_status=working",
    "owner_id=1",
    "rfm_tier=Champions",
    "segment=1",
    "tag=vip",
    "lifecycle_stage=lead&lead_status=new",
    "lifecycle_stage=customer&tag=vip",
    "rfm_tier=Champions&owner_id=1",
    "lifecycle_stage=customer&segment=2",
];

/// Filters selective enough to read their few matches through their own index and sort them.
const SELECTIVE_FILTERS: [&str; 4] = ["company_id=1", "email=zoe@example.com", "company_id=1&lifecycle_stage=lead", "tag=vip&company_id=1"];

async fn people(app: &TestApp) {
    let co = app.company(json!({"name": "Globex"})).await;
    for (i, (name, stage)) in
        [("Zoe Chen", "customer"), ("Jose Garcia", "lead"), ("Ana Zorro", "prospect"), ("Al Chen", "churned")].iter().enumerate()
    {
        let tags = if i % 2 == 0 { json!(["vip"]) } else { json!([]) };
        app.customer(json!({"name": name, "lifecycle_stage": stage, "company_id": co["id"], "tags": tags,
            "email": format!("p{i}@example.com")}))
            .await;
    }
}

/// On PostgreSQL, enough people with planner statistics that the plans are those of a large
/// table (with a handful of rows any plan is as cheap as any other): stages, lead statuses,
/// owners, tiers, segments and a tag spread as in the demo, words shared by many.
async fn many_people(app: &TestApp) {
    if app.backend != Backend::Postgres {
        return;
    }
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.expect("connect");
    let fill = "INSERT INTO customers (name, sort_name, lifecycle_stage, lead_status, owner_id, rfm_tier, segment, company_id, \
                search_text, created_at, updated_at) \
         SELECT 'Person ' || g, 'person ' || lpad(g::text, 6, '0'), (ARRAY['lead', 'prospect', 'customer', 'churned'])[1 + g % 4], \
                (ARRAY['new', 'working', 'nurturing', 'qualified', 'disqualified'])[1 + g % 5], CASE WHEN g % 3 = 0 THEN NULL ELSE 1 END, \
                (ARRAY['Champions', 'Loyal', 'At risk', 'Hibernating'])[1 + g % 4], g % 5, CASE WHEN g % 1000 = 0 THEN 1 END, \
                'person ' || (ARRAY['zoe', 'jose', 'garcia', 'chen', 'ana', 'al', 'bo', 'cy'])[1 + g % 8] || ' w' || g, \
                to_char(timestamp '2024-01-01' + g * interval '1 minute', 'YYYY-MM-DD\"T\"HH24:MI:SS\".000000Z\"'), \
                to_char(timestamp '2024-01-01' + g * interval '1 minute', 'YYYY-MM-DD\"T\"HH24:MI:SS\".000000Z\"') \
         FROM generate_series(1, 30000) g; \
         INSERT INTO customer_tags (tag, customer_id) SELECT 'vip', id FROM customers WHERE id % 10 = 0 ON CONFLICT DO NOTHING; \
         ANALYZE";
    sqlx::raw_sql(fill).execute(&mut conn).await.expect("fill people");
}

#[tokio::test]
async fn every_documented_filter_and_sort_reads_an_index() {
    each_backend!(|app| {
        people(&app).await;
        many_people(&app).await;
        let rep_token = app.user_token("rep@example.com", Role::SalesRep).await;
        let admin = actor(&app, &app.token).await;
        let rep = actor(&app, &rep_token).await;
        for (who, a) in [("admin", &admin), ("rep", &rep)] {
            for sort in SORTS {
                for f in ORDERED_FILTERS {
                    let q = format!("{f}&sort={sort}&limit=20");
                    check(app.backend, &format!("{who}: {q}"), &plan(&app, a, &q).await, true);
                }
                for f in SELECTIVE_FILTERS {
                    let q = format!("{f}&sort={sort}&limit=20");
                    check(app.backend, &format!("{who}: {q}"), &plan(&app, a, &q).await, false);
                }
            }
            for (range, sort) in [("created_after=2024-01-01", "-created_at"), ("updated_after=2024-01-01", "updated_at")] {
                let q = format!("{range}&sort={sort}");
                check(app.backend, &format!("{who}: {q}"), &plan(&app, a, &q).await, true);
            }
        }
    });
}

#[tokio::test]
async fn searches_rank_a_bounded_set_of_indexed_matches() {
    each_backend!(|app| {
        people(&app).await;
        many_people(&app).await;
        let rep_token = app.user_token("rep@example.com", Role::SalesRep).await;
        let admin = actor(&app, &app.token).await;
        let rep = actor(&app, &rep_token).await;
        for (who, a) in [("admin", &admin), ("rep", &rep)] {
            // Long words, several words, one- and two-letter prefixes; beside a filter; sorted.
            for q in
                ["q=zoe", "q=jose+garcia", "q=chen", "q=a", "q=zo", "q=chen&lifecycle_stage=customer", "q=a&tag=vip", "q=zoe&sort=name"]
            {
                let plan = plan(&app, a, q).await;
                check(app.backend, &format!("{who}: {q}"), &plan, false);
                if !q.contains('&') {
                    check_bounded(app.backend, &format!("{who}: {q}"), &plan);
                }
            }
        }
        // The searches find what they should.
        let r = app.get("/api/v1/customers?q=al+chen").await;
        let names: Vec<&str> = r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Al Chen"], "{}", r.body);
        let r = app.get("/api/v1/customers?q=zorro").await;
        let names: Vec<&str> = r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Ana Zorro"], "{}", r.body);
    });
}

#[tokio::test]
async fn a_relevance_search_ranks_the_newest_matches_and_other_sorts_page_through_all() {
    each_backend!(|app| {
        let n = rapport_store::SEARCH_CANDIDATES + 5;
        let batch: Vec<_> =
            (0..n).map(|i| rapport_domain::customer::CustomerData { name: format!("Cand {i:05}"), ..Default::default() }).collect();
        let admin = actor(&app, &app.token).await;
        let ids = app.store.create_customers_batch(&admin, &batch).await.unwrap();
        let walk = |first: String| {
            let app = &app;
            async move {
                let (mut seen, mut url) = (Vec::new(), first.clone());
                loop {
                    let r = app.get(&url).await;
                    seen.extend(r.body["data"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()));
                    match r.body["next_cursor"].as_str() {
                        Some(c) => url = format!("{first}&cursor={c}"),
                        None => return seen,
                    }
                }
            }
        };
        let mut ranked = walk("/api/v1/customers?q=cand&limit=300".into()).await;
        ranked.sort();
        let newest: Vec<i64> = ids[n - rapport_store::SEARCH_CANDIDATES..].to_vec();
        assert_eq!(ranked, newest, "the newest matches, each once");
        assert_eq!(walk("/api/v1/customers?q=cand&sort=name&limit=300".into()).await.len(), n, "every match by name");
    });
}
