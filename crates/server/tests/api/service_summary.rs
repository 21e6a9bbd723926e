//! The daily summary the service reports add up (migration 0040) and each ticket's reopened
//! flag stay equal to a recount from the tickets, their histories and their surveys through
//! every write that moves them: creation, transitions, a survey answer and its re-answer (which
//! reopens), a reopening, a change of owner, priority and category, a merge (which moves the
//! history and deletes the merged ticket) and a deletion; and the reports read them.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::json;
use sqlx::{Connection, Row};

use crate::each_backend;
use crate::helpers::TestApp;
use crate::surveys::{act, public};

/// The counts of the summary's columns, per key; a key whose counts are all zero is absent.
const COUNTS: &str = "n, reopened, fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors";

/// Every ticket's, resolution's and answer's contribution, counted again from the rows.
const RECOUNT: &str = "
    SELECT 'created' AS kind, substr(created_at, 1, 10) AS day, COALESCE(team_id, 0) AS team_id, COALESCE(owner_id, 0) AS owner_id,
        0 AS agent_id, priority, COALESCE(category, '') AS category, 1 AS n, 0 AS reopened,
        CASE WHEN first_response_secs >= 0 THEN 1 ELSE 0 END AS fr_n, CASE WHEN resolution_secs >= 0 THEN 1 ELSE 0 END AS res_n,
        0 AS csat_total, 0 AS c1, 0 AS c2, 0 AS c3, 0 AS c4, 0 AS c5, 0 AS promoters, 0 AS passives, 0 AS detractors
    FROM tickets WHERE deleted_at IS NULL
    UNION ALL
    SELECT 'resolved', substr(resolved_at, 1, 10), COALESCE(team_id, 0), COALESCE(owner_id, 0), 0, priority, COALESCE(category, ''), 1,
        CASE WHEN EXISTS (SELECT 1 FROM ticket_status_changes c WHERE c.ticket_id = tickets.id AND c.to_status = 'reopened') THEN 1 ELSE 0 END,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM tickets WHERE deleted_at IS NULL AND resolved_at IS NOT NULL
    UNION ALL
    SELECT 'answered', substr(v.answered_at, 1, 10), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0), COALESCE(v.agent_id, 0), x.priority,
        COALESCE(x.category, ''), 1, 0, 0, 0, COALESCE(v.csat, 0),
        CASE WHEN v.csat = 1 THEN 1 ELSE 0 END, CASE WHEN v.csat = 2 THEN 1 ELSE 0 END, CASE WHEN v.csat = 3 THEN 1 ELSE 0 END,
        CASE WHEN v.csat = 4 THEN 1 ELSE 0 END, CASE WHEN v.csat = 5 THEN 1 ELSE 0 END,
        CASE WHEN v.nps >= 9 THEN 1 ELSE 0 END, CASE WHEN v.nps >= 7 AND v.nps < 9 THEN 1 ELSE 0 END, CASE WHEN v.nps < 7 THEN 1 ELSE 0 END
    FROM ticket_surveys v JOIN tickets x ON x.id = v.ticket_id WHERE v.answered_at IS NOT NULL AND x.deleted_at IS NULL";

type Key = (String, String, i64, i64, i64, String, String);

async fn rows(conn: &mut sqlx::AnyConnection, from: &str) -> Vec<(Key, Vec<i64>)> {
    let sums: Vec<String> = COUNTS.split(", ").map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}")).collect();
    let q = format!(
        "SELECT kind, day, CAST(team_id AS BIGINT) AS team_id, CAST(owner_id AS BIGINT) AS owner_id, CAST(agent_id AS BIGINT) AS agent_id, \
         priority, category, {} FROM ({from}) r GROUP BY kind, day, team_id, owner_id, agent_id, priority, category \
         ORDER BY kind, day, team_id, owner_id, agent_id, priority, category",
        sums.join(", ")
    );
    // Constant text: no value of the test goes into it.
    let found = sqlx::query(sqlx::AssertSqlSafe(q)).fetch_all(conn).await.unwrap();
    found
        .iter()
        .map(|r| {
            let key = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6));
            (key, COUNTS.split(", ").map(|c| r.get::<i64, _>(c)).collect::<Vec<i64>>())
        })
        .filter(|(_, counts)| counts.iter().any(|n| *n != 0))
        .collect()
}

/// Asserts the stored summary and flags equal the recount; returns how many keys there are.
async fn recounted(app: &TestApp, step: &str) -> usize {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let stored = rows(&mut conn, "SELECT * FROM service_daily").await;
    let counted = rows(&mut conn, RECOUNT).await;
    assert_eq!(stored, counted, "{step}: the summary is not the recount");
    let wrong: i64 = sqlx::query(
        "SELECT COUNT(*) FROM tickets t WHERE t.reopened <> CASE WHEN EXISTS (SELECT 1 FROM ticket_status_changes c \
         WHERE c.ticket_id = t.id AND c.to_status = 'reopened') THEN 1 ELSE 0 END",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
    .get(0);
    assert_eq!(wrong, 0, "{step}: a reopened flag differs from the history");
    let weeks: i64 = sqlx::query("SELECT COUNT(*) FROM service_daily WHERE week > day").fetch_one(&mut conn).await.unwrap().get(0);
    assert_eq!(weeks, 0, "{step}: a week after its day");
    stored.len()
}

async fn answer(app: &TestApp, id: i64, form: &str) {
    let link = app.store.survey_link(id).await.unwrap().expect("a survey once resolved");
    let (status, _, page) = public(app, Method::POST, &link, form, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
}

async fn reopened_flag(app: &TestApp, id: i64) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    sqlx::query("SELECT CAST(reopened AS BIGINT) FROM tickets WHERE id = $1").bind(id).fetch_one(&mut conn).await.unwrap().get(0)
}

#[tokio::test]
async fn the_report_summary_and_reopened_flags_equal_a_recount_after_every_write() {
    each_backend!(|app| {
        let agent = app.user_token("agent@example.com", Role::SupportAgent).await;
        let me = app.call(Method::GET, "/api/v1/users/me", Some(&agent), None, &[]).await.body["id"].as_i64().unwrap();
        let ann = app.customer(json!({"name": "Ann Lee"})).await["id"].as_i64().unwrap();
        let mut ids = vec![];
        for (subject, priority, category, owner) in [
            ("Invoice", "high", Some("billing"), Some(me)),
            ("Refund", "normal", Some("billing"), Some(me)),
            ("Parcel", "low", None, Some(me)),
            ("Site", "urgent", Some("it"), Some(me)),
        ] {
            let r = app
                .post(
                    "/api/v1/tickets",
                    json!({"subject": subject, "customer_id": ann, "priority": priority, "category": category, "owner_id": owner}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            ids.push(r.body["id"].as_i64().unwrap());
        }
        let [t1, t2, t3, t4] = ids[..] else { unreachable!() };
        assert!(recounted(&app, "created").await >= 4);
        for id in [t1, t2, t3] {
            let m =
                app.call(Method::POST, &format!("/api/v1/tickets/{id}/messages"), Some(&agent), Some(json!({"body": "On it"})), &[]).await;
            assert_eq!(m.status, StatusCode::CREATED, "{}", m.body);
        }
        recounted(&app, "first replies").await;

        for id in [t1, t2, t3] {
            act(&app, &app.token, id, json!({"action": "resolve"})).await;
        }
        recounted(&app, "resolved").await;
        answer(&app, t1, "csat=5&nps=10&decision=confirm").await;
        answer(&app, t2, "csat=3&nps=6&decision=reopen").await;
        answer(&app, t3, "csat=1&nps=8&decision=reopen").await;
        assert_eq!((reopened_flag(&app, t1).await, reopened_flag(&app, t2).await), (0, 1), "the answer that reopens sets the flag");
        recounted(&app, "answered, two reopened").await;
        act(&app, &app.token, t2, json!({"action": "start"})).await;
        act(&app, &app.token, t2, json!({"action": "resolve"})).await;
        answer(&app, t2, "csat=2&nps=7&decision=confirm").await;
        recounted(&app, "resolved again and answered again").await;

        // (A resolved ticket keeps its assignee: the open one changes.)
        let cur = app.get(&format!("/api/v1/tickets/{t4}")).await.body;
        let r = app
            .patch(
                &format!("/api/v1/tickets/{t4}"),
                json!({"owner_id": null, "priority": "low", "category": "billing"}),
                cur["version"].as_i64(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        recounted(&app, "owner, priority and category changed").await;

        // The reopened ticket merged into one never reopened: its history (and flag) moves, its counts go.
        assert_eq!(reopened_flag(&app, t4).await, 0);
        let r = app.post(&format!("/api/v1/tickets/{t3}/merge"), json!({"into": t4})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(reopened_flag(&app, t4).await, 1, "the survivor has the merged ticket's reopening");
        recounted(&app, "merged").await;

        assert_eq!(app.delete(&format!("/api/v1/tickets/{t2}")).await.status, StatusCode::NO_CONTENT);
        recounted(&app, "deleted").await;

        // The reports read the summary: t1 (5, promoter) is the one answer left; nothing resolved is reopened but t4 (not resolved).
        let c = app.get("/api/v1/reports/service/csat").await.body;
        assert_eq!((c["count"].as_i64(), c["average"].as_f64()), (Some(1), Some(5.0)), "{c}");
        let n = app.get("/api/v1/reports/service/nps").await.body;
        assert_eq!((n["count"].as_i64(), n["promoters"].as_i64()), (Some(1), Some(1)), "{n}");
        let r = app.get("/api/v1/reports/service/reopen_rate").await.body;
        assert_eq!((r["resolved"].as_i64(), r["reopened"].as_i64()), (Some(1), Some(0)), "{r}");
        let trend = app.get("/api/v1/reports/service/trend?category=billing").await.body;
        let created: i64 = trend["rows"].as_array().unwrap().iter().map(|w| w["created"].as_i64().unwrap()).sum();
        assert_eq!(created, 2, "t1 and t4 (moved to billing): {trend}");
        let mine = app.get_as(&agent, "/api/v1/reports/service/trend").await.body;
        let seen: i64 = mine["rows"].as_array().unwrap().iter().map(|w| w["created"].as_i64().unwrap()).sum();
        assert_eq!(seen, 2, "the agent sees their own t1 and the unowned t4: {mine}");
    });
}
