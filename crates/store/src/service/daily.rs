//! The daily service summary (migration 0040) recounted from the tickets and surveys. The
//! triggers keep it exact write by write; a restore, whose inserts fire those triggers on top of
//! the summary rows the backup already holds, recounts it instead.

use crate::sql::sql;
use crate::{Backend, Result, WriteTx};

const COLUMNS: &str = "kind, day, week, team_id, owner_id, agent_id, priority, category, n, reopened, fr_n, res_n, \
                       csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors";

pub(crate) async fn rebuild(tx: &mut WriteTx) -> Result<()> {
    // The Monday of a YYYY-MM-DD day, as each engine's migration computes it.
    let week = |day: &str| match tx.backend {
        Backend::Sqlite => format!("date({day}, '-6 days', 'weekday 1')"),
        Backend::Postgres => format!("service_week({day})"),
    };
    let (created, resolved, answered) =
        (week("substr(created_at, 1, 10)"), week("substr(resolved_at, 1, 10)"), week("substr(v.answered_at, 1, 10)"));
    let inserts = [
        format!(
            "INSERT INTO service_daily ({COLUMNS}) \
             SELECT 'created', substr(created_at, 1, 10), {created}, COALESCE(team_id, 0), COALESCE(owner_id, 0), 0, \
             priority, COALESCE(category, ''), COUNT(*), 0, SUM(CASE WHEN first_response_secs >= 0 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN resolution_secs >= 0 THEN 1 ELSE 0 END), 0, 0, 0, 0, 0, 0, 0, 0, 0 \
             FROM tickets WHERE deleted_at IS NULL \
             GROUP BY substr(created_at, 1, 10), COALESCE(team_id, 0), COALESCE(owner_id, 0), priority, COALESCE(category, '')"
        ),
        format!(
            "INSERT INTO service_daily ({COLUMNS}) \
             SELECT 'resolved', substr(resolved_at, 1, 10), {resolved}, COALESCE(team_id, 0), COALESCE(owner_id, 0), 0, \
             priority, COALESCE(category, ''), COUNT(*), CAST(SUM(reopened) AS BIGINT), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 \
             FROM tickets WHERE deleted_at IS NULL AND resolved_at IS NOT NULL \
             GROUP BY substr(resolved_at, 1, 10), COALESCE(team_id, 0), COALESCE(owner_id, 0), priority, COALESCE(category, '')"
        ),
        format!(
            "INSERT INTO service_daily ({COLUMNS}) \
             SELECT 'answered', substr(v.answered_at, 1, 10), {answered}, COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0), \
             COALESCE(v.agent_id, 0), x.priority, COALESCE(x.category, ''), COUNT(*), 0, 0, 0, COALESCE(SUM(v.csat), 0), \
             SUM(CASE WHEN v.csat = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN v.csat = 2 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN v.csat = 3 THEN 1 ELSE 0 END), SUM(CASE WHEN v.csat = 4 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN v.csat = 5 THEN 1 ELSE 0 END), SUM(CASE WHEN v.nps >= 9 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN v.nps >= 7 AND v.nps < 9 THEN 1 ELSE 0 END), SUM(CASE WHEN v.nps < 7 THEN 1 ELSE 0 END) \
             FROM ticket_surveys v JOIN tickets x ON x.id = v.ticket_id \
             WHERE v.answered_at IS NOT NULL AND x.deleted_at IS NULL \
             GROUP BY substr(v.answered_at, 1, 10), COALESCE(x.team_id, 0), COALESCE(x.owner_id, 0), COALESCE(v.agent_id, 0), \
             x.priority, COALESCE(x.category, '')"
        ),
    ];
    tx.execute(&sql("DELETE FROM service_daily", [])).await?;
    for q in &inserts {
        tx.execute(&sql(q, [])).await?;
    }
    Ok(())
}
