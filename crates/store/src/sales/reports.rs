//! The sales reports (see [`rapport_domain::sales::report`] for what each counts): aggregate
//! queries over the opportunities (and their stage history, and the targets) that the reader
//! may see, grouped in SQL on indexed columns; Rust only joins the few grouped rows to their
//! stages' and users' names and divides.

use std::collections::{BTreeMap, HashMap};

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::sales::money::div_round_half_away;
use rapport_domain::sales::report::{CycleRow, FunnelRow, LeaderRow, PipelineRow, ReportFilter, WinRateRow, basis_points};
use rapport_domain::sales::target::{Target, TargetMeasure};

use crate::records::engine::Table;
use crate::records::visible;
use crate::sql::Sql;
use crate::{Backend, Result, Store};

/// Appends the filter's owner, team and pipeline conditions and the actor's visibility, for
/// live opportunities aliased `o`.
fn scope(q: &mut Sql, actor: &Actor, f: &ReportFilter) {
    owners(q, actor, f);
    if let Some(p) = f.pipeline_id {
        q.push(" AND o.pipeline_id = ").arg(p);
    }
}

/// Appends the filter's owner and team conditions and the actor's visibility, for live owned
/// records aliased `o`.
pub(super) fn owners(q: &mut Sql, actor: &Actor, f: &ReportFilter) {
    q.push(" AND o.deleted_at IS NULL");
    if let Some(o) = f.owner_id {
        q.push(" AND o.owner_id = ").arg(o);
    }
    if let Some(t) = f.team_id {
        q.push(" AND o.owner_id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id = ").arg(t).push(")");
    }
    visible(q, actor, "o");
}

/// Appends the filter's span of days as a condition on the stored day or time `col`.
fn span(q: &mut Sql, col: &str, f: &ReportFilter) {
    if let Some(from) = f.from_text() {
        q.push(&format!(" AND {col} >= ")).arg(from);
    }
    if let Some(to) = f.to_bound() {
        q.push(&format!(" AND {col} < ")).arg(to);
    }
}

/// A stage of a live pipeline, as the reports name it.
struct Stage {
    pipeline_name: String,
    name: String,
    position: i64,
    probability: i64,
    outcome: String,
}

impl Store {
    /// Every stage of every live pipeline, by (pipeline, key).
    async fn report_stages(&self) -> Result<BTreeMap<(i64, String), Stage>> {
        let q = Sql::new(
            "SELECT ps.pipeline_id, ps.stage_key, ps.position, ps.name, ps.probability, ps.outcome, p.name AS pipeline_name \
             FROM pipeline_stages ps JOIN pipelines p ON p.id = ps.pipeline_id WHERE p.deleted_at IS NULL",
        );
        let rows = self
            .read(&q, |r| {
                let stage = Stage {
                    pipeline_name: r.get("pipeline_name")?,
                    name: r.get("name")?,
                    position: r.get("position")?,
                    probability: r.get("probability")?,
                    outcome: r.get("outcome")?,
                };
                Ok(((r.get::<i64>("pipeline_id")?, r.get::<String>("stage_key")?), stage))
            })
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Users' names by id.
    async fn user_names(&self) -> Result<HashMap<i64, String>> {
        let rows = self.read(&Sql::new("SELECT id, name FROM users"), |r| Ok((r.get::<i64>("id")?, r.get::<String>("name")?))).await?;
        Ok(rows.into_iter().collect())
    }

    /// Pipeline by stage: count, amount and stage-weighted amount per stage and currency.
    pub async fn pipeline_report(&self, actor: &Actor, f: &ReportFilter) -> Result<Vec<PipelineRow>> {
        require(actor, Object::Opportunity, Action::Read)?;
        let mut q = Sql::new(
            "SELECT o.pipeline_id, o.stage, o.currency, COUNT(*) AS n, CAST(SUM(o.amount_minor) AS BIGINT) AS amount \
             FROM opportunities o WHERE 1 = 1",
        );
        scope(&mut q, actor, f);
        span(&mut q, "o.expected_close_date", f);
        q.push(" GROUP BY o.pipeline_id, o.stage, o.currency");
        let sums = self
            .read(&q, |r| {
                Ok((
                    r.get::<i64>("pipeline_id")?,
                    r.get::<String>("stage")?,
                    r.get::<String>("currency")?,
                    r.get::<i64>("n")?,
                    r.get::<i64>("amount")?,
                ))
            })
            .await?;
        let stages = self.report_stages().await?;
        let mut rows: Vec<PipelineRow> = sums
            .into_iter()
            .map(|(pipeline_id, stage, currency, count, amount_minor)| {
                let s = stages.get(&(pipeline_id, stage.clone()));
                let probability = s.map_or(0, |s| s.probability);
                PipelineRow {
                    pipeline_id,
                    pipeline_name: s.map(|s| s.pipeline_name.clone()).unwrap_or_default(),
                    stage_name: s.map_or_else(|| stage.clone(), |s| s.name.clone()),
                    position: s.map_or(i64::MAX, |s| s.position),
                    outcome: s.map_or_else(|| "open".into(), |s| s.outcome.clone()),
                    probability,
                    weighted_minor: div_round_half_away(amount_minor as i128 * probability as i128, 100) as i64,
                    stage,
                    currency,
                    count,
                    amount_minor,
                }
            })
            .collect();
        rows.sort_by(|a, b| (a.pipeline_id, a.position, &a.stage, &a.currency).cmp(&(b.pipeline_id, b.position, &b.stage, &b.currency)));
        Ok(rows)
    }

    /// Win rate per owner over the deals closed in the span, and the total.
    pub async fn win_rate_report(&self, actor: &Actor, f: &ReportFilter) -> Result<Vec<WinRateRow>> {
        require(actor, Object::Opportunity, Action::Read)?;
        let mut q = Sql::new("SELECT o.owner_id, o.status, COUNT(*) AS n FROM opportunities o WHERE o.status IN ('won', 'lost')");
        span(&mut q, "o.closed_at", f);
        scope(&mut q, actor, f);
        // Status first: the order of the (status, owner_id, …) index, read without sorting.
        q.push(" GROUP BY o.status, o.owner_id");
        let counts = self.read(&q, |r| Ok((r.get::<Option<i64>>("owner_id")?, r.get::<String>("status")?, r.get::<i64>("n")?))).await?;
        let names = self.user_names().await?;
        let mut by_owner: BTreeMap<Option<i64>, (i64, i64)> = BTreeMap::new();
        for (owner, status, n) in counts {
            let e = by_owner.entry(owner).or_default();
            if status == "won" { e.0 += n } else { e.1 += n }
        }
        let row = |owner_id: Option<i64>, owner_name: String, (won, lost): (i64, i64)| WinRateRow {
            owner_id,
            owner_name,
            won,
            lost,
            win_rate_bp: basis_points(won, won + lost),
        };
        let total = by_owner.values().fold((0, 0), |t, c| (t.0 + c.0, t.1 + c.1));
        let mut rows: Vec<WinRateRow> = by_owner
            .into_iter()
            .map(|(o, c)| row(o, o.map_or_else(|| "Unowned".into(), |id| names.get(&id).cloned().unwrap_or_default()), c))
            .collect();
        rows.sort_by(|a, b| b.win_rate_bp.cmp(&a.win_rate_bp).then(a.owner_name.cmp(&b.owner_name)));
        rows.push(WinRateRow { owner_id: None, ..row(None, "All".into(), total) });
        Ok(rows)
    }

    /// Average cycle length (creation to close, from the stage history) of the deals closed in
    /// the span, by outcome and over both.
    pub async fn cycle_report(&self, actor: &Actor, f: &ReportFilter) -> Result<Vec<CycleRow>> {
        require(actor, Object::Opportunity, Action::Read)?;
        let started = "(SELECT MIN(c.at) FROM opportunity_stage_changes c WHERE c.opportunity_id = o.id)";
        // Seconds between two stored times: the engines' date arithmetic differs.
        let seconds = match self.backend {
            Backend::Sqlite => format!("CAST(ROUND((julianday(o.closed_at) - julianday({started})) * 86400) AS BIGINT)"),
            Backend::Postgres => {
                format!("CAST(EXTRACT(EPOCH FROM (CAST(o.closed_at AS timestamptz) - CAST({started} AS timestamptz))) AS BIGINT)")
            }
        };
        let mut q = Sql::new(&format!(
            "SELECT x.status, COUNT(*) AS n, CAST(SUM(x.secs) AS BIGINT) AS secs FROM (SELECT o.status AS status, {seconds} AS secs \
             FROM opportunities o WHERE o.status IN ('won', 'lost')"
        ));
        span(&mut q, "o.closed_at", f);
        scope(&mut q, actor, f);
        q.push(") x WHERE x.secs >= 0 GROUP BY x.status");
        let sums = self.read(&q, |r| Ok((r.get::<String>("status")?, r.get::<i64>("n")?, r.get::<i64>("secs")?))).await?;
        let row = |outcome: &str, count: i64, secs: i64| {
            let average_seconds = (count > 0).then(|| secs / count);
            CycleRow {
                outcome: outcome.into(),
                count,
                average_seconds,
                average_days: average_seconds.map(|s| (s as f64 / 86_400.0 * 10.0).round() / 10.0),
            }
        };
        let of = |o: &str| sums.iter().find(|(s, _, _)| s == o).map_or((0, 0), |(_, n, s)| (*n, *s));
        let (won, lost) = (of("won"), of("lost"));
        Ok(vec![row("won", won.0, won.1), row("lost", lost.0, lost.1), row("all", won.0 + lost.0, won.1 + lost.1)])
    }

    /// Stage-to-stage conversion of the deals whose history starts in the span.
    pub async fn funnel_report(&self, actor: &Actor, f: &ReportFilter) -> Result<Vec<FunnelRow>> {
        require(actor, Object::Opportunity, Action::Read)?;
        // Each deal's furthest step (lost stages are exits, not steps), then deals per step.
        let mut q = Sql::new(
            "SELECT m.pipeline_id, m.top, COUNT(*) AS n FROM (SELECT o.pipeline_id AS pipeline_id, MAX(ps.position) AS top \
             FROM opportunities o JOIN opportunity_stage_changes c ON c.opportunity_id = o.id AND c.pipeline_id = o.pipeline_id \
             JOIN pipeline_stages ps ON ps.pipeline_id = c.pipeline_id AND ps.stage_key = c.to_stage AND ps.outcome <> 'lost' WHERE 1 = 1",
        );
        scope(&mut q, actor, f);
        if f.from.is_some() || f.to.is_some() {
            // A deal whose history starts in the span has a change in it: those are found on
            // the changes' time index, and only their histories are read.
            q.push(" AND o.id IN (SELECT c0.opportunity_id FROM opportunity_stage_changes c0 WHERE 1 = 1");
            span(&mut q, "c0.at", f);
            q.push(")");
        }
        // The cohort: deals whose history starts in the span (their creation; an imported deal
        // keeps the start its history gives).
        q.push(" GROUP BY o.id, o.pipeline_id HAVING 1 = 1");
        span(&mut q, "MIN(c.at)", f);
        q.push(") m GROUP BY m.pipeline_id, m.top");
        let tops = self.read(&q, |r| Ok((r.get::<i64>("pipeline_id")?, r.get::<i64>("top")?, r.get::<i64>("n")?))).await?;
        let stages = self.report_stages().await?;
        let mut steps: Vec<(&(i64, String), &Stage)> =
            stages.iter().filter(|((p, _), s)| s.outcome != "lost" && f.pipeline_id.is_none_or(|want| want == *p)).collect();
        steps.sort_by_key(|((p, _), s)| (*p, s.position));
        let reached = |p: i64, pos: i64| tops.iter().filter(|(tp, top, _)| *tp == p && *top >= pos).map(|(_, _, n)| n).sum::<i64>();
        let mut rows: Vec<FunnelRow> = steps
            .iter()
            .map(|((p, key), s)| FunnelRow {
                pipeline_id: *p,
                stage: key.clone(),
                stage_name: s.name.clone(),
                position: s.position,
                reached: reached(*p, s.position),
                to_next_bp: None,
            })
            .collect();
        for i in 0..rows.len().saturating_sub(1) {
            if rows[i + 1].pipeline_id == rows[i].pipeline_id {
                rows[i].to_next_bp = basis_points(rows[i + 1].reached, rows[i].reached);
            }
        }
        Ok(rows)
    }

    /// The reps' won deals in the span against their targets inside it, best first.
    pub async fn leaderboard_report(&self, actor: &Actor, f: &ReportFilter) -> Result<Vec<LeaderRow>> {
        require(actor, Object::Opportunity, Action::Read)?;
        require(actor, Object::Target, Action::Read)?;
        let mut q = Sql::new(
            "SELECT o.owner_id, o.currency, COUNT(*) AS n, CAST(SUM(o.amount_minor) AS BIGINT) AS amount \
             FROM opportunities o WHERE o.status = 'won' AND o.owner_id IS NOT NULL",
        );
        span(&mut q, "o.closed_at", f);
        scope(&mut q, actor, f);
        q.push(" GROUP BY o.owner_id, o.currency");
        let won = self
            .read(&q, |r| Ok((r.get::<i64>("owner_id")?, r.get::<String>("currency")?, r.get::<i64>("n")?, r.get::<i64>("amount")?)))
            .await?;
        let mut t = Sql::new(
            "SELECT r.user_id, r.currency, CAST(SUM(r.amount_minor) AS BIGINT) AS amount FROM targets r WHERE r.deleted_at IS NULL AND r.user_id IS NOT NULL AND r.measure = ",
        );
        t.arg(TargetMeasure::WonOpportunities.as_str());
        if let Some(from) = f.from_text() {
            t.push(" AND r.starts_on >= ").arg(from);
        }
        if let Some(to) = f.to_bound() {
            t.push(" AND r.ends_on < ").arg(to);
        }
        if let Some(o) = f.owner_id {
            t.push(" AND r.user_id = ").arg(o);
        }
        if let Some(team) = f.team_id {
            t.push(" AND r.user_id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id = ").arg(team).push(")");
        }
        <Target as Table>::reach(&mut t, actor, "r");
        t.push(" GROUP BY r.user_id, r.currency");
        let targets = self.read(&t, |r| Ok(((r.get::<i64>("user_id")?, r.get::<String>("currency")?), r.get::<i64>("amount")?))).await?;
        let names = self.user_names().await?;
        let mut cells: BTreeMap<(i64, String), (i64, i64, Option<i64>)> = BTreeMap::new();
        for (user, currency, n, amount) in won {
            cells.insert((user, currency), (n, amount, None));
        }
        for (key, amount) in targets {
            cells.entry(key).or_insert((0, 0, None)).2 = Some(amount);
        }
        let mut rows: Vec<LeaderRow> = cells
            .into_iter()
            .map(|((user_id, currency), (deals_won, won_minor, target_minor))| LeaderRow {
                user_id,
                name: names.get(&user_id).cloned().unwrap_or_default(),
                currency,
                deals_won,
                won_minor,
                target_minor,
                attainment_bp: target_minor.and_then(|t| basis_points(won_minor, t)),
            })
            .collect();
        LeaderRow::rank(&mut rows);
        Ok(rows)
    }
}
