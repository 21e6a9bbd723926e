//! The service reports (see [`rapport_domain::service::report`]): grouped SQL over the tickets
//! the reader may see. Counts (trend, CSAT, NPS, reopen rate, how many times there are) add up
//! the daily summary of migration 0040, which triggers keep in each write's transaction; a
//! company filter (not a key of the summary) reads the tickets through their company index
//! instead, on the report indexes of migration 0021. Percentiles are read as the one or two rows
//! at their rank (`ORDER BY … LIMIT 2 OFFSET k`, from the nearer end), so no list of durations
//! leaves the database.

use std::collections::BTreeMap;

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::service::report::{
    AGE_BUCKETS, BacklogRow, CsatBucket, CsatReport, NpsReport, ReopenReport, ServiceFilter, TimeRow, TrendRow, percent,
};
use rapport_domain::service::workflow::TicketState;

use crate::records::visible;
use crate::sql::Sql;
use crate::{Backend, Result, Store};

/// Appends the filter's team, agent, category, priority and company and the reader's
/// visibility, for live tickets aliased `t`; with `credited`, the agent is the one a survey
/// answer (aliased `s`) credits.
fn scope(q: &mut Sql, actor: &Actor, f: &ServiceFilter, credited: bool) {
    q.push(" AND t.deleted_at IS NULL");
    if let Some(t) = f.team_id {
        q.push(" AND t.team_id = ").arg(t);
    }
    if let Some(a) = f.agent_id {
        q.push(if credited { " AND s.agent_id = " } else { " AND t.owner_id = " }).arg(a);
    }
    if let Some(c) = &f.category {
        q.push(" AND t.category = ").arg(c.clone());
    }
    if let Some(p) = f.priority {
        q.push(" AND t.priority = ").arg(p.as_str());
    }
    if let Some(c) = f.company_id {
        q.push(" AND t.company_id = ").arg(c);
    }
    visible(q, actor, "t");
}

/// Migration 0040's daily summary, aliased `t`, its unowned rows' owner NULL so that the
/// reader's visibility reads it as it reads the tickets.
const DAILY: &str = "(SELECT kind, day, week, team_id, NULLIF(owner_id, 0) AS owner_id, agent_id, priority, category, n, reopened, \
                     fr_n, res_n, csat_total, c1, c2, c3, c4, c5, promoters, passives, detractors FROM service_daily) t";

/// Whether the summary answers the filter: every key but the company is one of its columns.
fn summarized(f: &ServiceFilter) -> bool {
    f.company_id.is_none()
}

/// Appends the filter and the reader's visibility for the summary rows of `kind` (every kind
/// when `None`), aliased `t`: the agent is the credited one for survey answers, else the owner.
fn daily_scope(q: &mut Sql, actor: &Actor, f: &ServiceFilter, kind: Option<&'static str>) {
    if let Some(k) = kind {
        q.push(&format!(" AND t.kind = '{k}'"));
    }
    span(q, "t.day", f);
    if let Some(t) = f.team_id {
        q.push(" AND t.team_id = ").arg(t);
    }
    if let Some(a) = f.agent_id {
        q.push(match kind {
            Some("answered") => " AND t.agent_id = ",
            Some(_) => " AND t.owner_id = ",
            None => " AND CASE WHEN t.kind = 'answered' THEN t.agent_id ELSE t.owner_id END = ",
        })
        .arg(a);
    }
    if let Some(c) = &f.category {
        q.push(" AND t.category = ").arg(c.clone());
    }
    if let Some(p) = f.priority {
        q.push(" AND t.priority = ").arg(p.as_str());
    }
    visible(q, actor, "t");
}

/// `SUM(t.col)` as a BIGINT, 0 over no rows.
fn total(col: &str) -> String {
    format!("CAST(COALESCE(SUM(t.{col}), 0) AS BIGINT) AS {col}")
}

/// Appends the filter's span as a condition on the stored time `col`.
fn span(q: &mut Sql, col: &str, f: &ServiceFilter) {
    if let Some(from) = f.from_text() {
        q.push(&format!(" AND {col} >= ")).arg(from);
    }
    if let Some(to) = f.to_bound() {
        q.push(&format!(" AND {col} < ")).arg(to);
    }
}

/// The Monday of the stored time `col`'s week, as `YYYY-MM-DD`.
pub(crate) fn week(backend: Backend, col: &str) -> String {
    match backend {
        Backend::Sqlite => format!("date({col}, '-6 days', 'weekday 1')"),
        Backend::Postgres => format!("to_char(date_trunc('week', CAST({col} AS timestamptz) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"),
    }
}

/// The condition of a percentile's walk: the unary `+` keeps it out of index ranges, so that the
/// only way to the rank is the duration index's own order. As a range, it let SQLite, with the
/// `sqlite_stat4` samples of a large table, skip-scan the per-team duration index and sort all
/// 500,000 durations instead (200–270 ms, against about 20 ms walking the order).
const WALKED: &str = "+x.secs >= 0";

/// The open states, listed (an `IN` list searches the status index; `NOT IN` would scan).
const OPEN: &str = "t.status IN ('new', 'assigned', 'in_progress', 'waiting_on_customer', 'waiting_on_third_party', 'snoozed', 'reopened')";

impl Store {
    /// Open tickets by age bucket, priority and status.
    pub async fn service_backlog(&self, actor: &Actor, f: &ServiceFilter) -> Result<Vec<BacklogRow>> {
        require(actor, Object::Ticket, Action::Read)?;
        let now = chrono::Utc::now();
        let bound = |hours: i64| (now - chrono::Duration::hours(hours)).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let mut q = Sql::new("SELECT x.age, x.priority, x.status, COUNT(*) AS n FROM (SELECT CASE");
        for (i, (_, hours)) in AGE_BUCKETS.iter().enumerate() {
            if let Some(h) = hours {
                q.push(" WHEN t.created_at >= ").arg(bound(*h)).push(&format!(" THEN {i}"));
            }
        }
        q.push(&format!(
            " ELSE {} END AS age, t.priority AS priority, t.status AS status FROM tickets t WHERE {OPEN}",
            AGE_BUCKETS.len() - 1
        ));
        scope(&mut q, actor, f, false);
        span(&mut q, "t.created_at", f);
        q.push(") x GROUP BY x.age, x.priority, x.status");
        let rows = self
            .read(&q, |r| Ok((r.get::<i64>("age")?, r.get::<String>("priority")?, r.get::<String>("status")?, r.get::<i64>("n")?)))
            .await?;
        let mut out: Vec<(i64, usize, usize, BacklogRow)> = rows
            .into_iter()
            .map(|(age, priority, status, count)| {
                let a = usize::try_from(age).unwrap_or(0).min(AGE_BUCKETS.len() - 1);
                let mut extra = vec![("priority", priority.clone()), ("status", status.clone())];
                if let Some(h) = AGE_BUCKETS[a].1 {
                    extra.push(("created_after", bound(h)));
                }
                if let Some(h) = a.checked_sub(1).and_then(|p| AGE_BUCKETS[p].1) {
                    extra.push(("created_before", bound(h)));
                }
                let p = rapport_domain::service::ticket::Priority::NAMES.iter().position(|n| *n == priority).unwrap_or(0);
                let s = TicketState::NAMES.iter().position(|n| *n == status).unwrap_or(0);
                let link = f.tickets_link(Some("created_at"), &extra);
                (age, usize::MAX - p, s, BacklogRow { age: AGE_BUCKETS[a].0.to_string(), priority, status, count, link })
            })
            .collect();
        out.sort_by_key(|(a, p, s, _)| (*a, *p, *s));
        Ok(out.into_iter().map(|(_, _, _, r)| r).collect())
    }

    /// The value at quantile `p` of the non-negative durations selected by `inner` (a query
    /// whose one column is `secs`), interpolated between ranks; and how many there are (`known`
    /// when the summary counted them). A rank past the middle is read from the top of the order,
    /// so each percentile walks the shorter side of the index.
    async fn quantiles(&self, inner: &Sql, ps: &[f64], known: Option<i64>) -> Result<(i64, Vec<Option<f64>>)> {
        let n = match known {
            Some(n) => n,
            None => {
                let mut counted = inner.prefixed("SELECT COUNT(*) AS n FROM (");
                counted.push(") x WHERE x.secs >= 0");
                self.read(&counted, |r| r.get("n")).await?.first().copied().unwrap_or(0)
            }
        };
        let mut out = vec![];
        for &p in ps {
            if n <= 0 {
                out.push(None);
                continue;
            }
            let pos = p * (n - 1) as f64;
            let lo = pos.floor() as i64;
            let hi = (lo + 1).min(n - 1);
            let (a, b) = if lo > (n - 1) / 2 {
                // Descending from the top: rank `hi` first, then `hi - 1` (which is `lo` unless `lo` is the last).
                let mut q = inner.prefixed("SELECT x.secs FROM (");
                q.push(&format!(") x WHERE {WALKED} ORDER BY x.secs DESC LIMIT 2 OFFSET ")).arg(n - 1 - hi);
                let v: Vec<i64> = self.read(&q, |r| r.get("secs")).await?;
                let top = v.first().copied().unwrap_or(0) as f64;
                if hi == lo { (top, top) } else { (v.get(1).copied().map_or(top, |a| a as f64), top) }
            } else {
                let mut q = inner.prefixed("SELECT x.secs FROM (");
                q.push(&format!(") x WHERE {WALKED} ORDER BY x.secs LIMIT 2 OFFSET ")).arg(lo);
                let v: Vec<i64> = self.read(&q, |r| r.get("secs")).await?;
                let a = v.first().copied().unwrap_or(0) as f64;
                (a, v.get(1).copied().map_or(a, |b| b as f64))
            };
            out.push(Some(((a + (pos - lo as f64) * (b - a)) / 3600.0 * 100.0).round() / 100.0));
        }
        Ok((n, out))
    }

    /// First-response and resolution times (median and p90, business hours) of the tickets
    /// created in the span, from the business seconds stored at each milestone (see
    /// [`super::service_times`]).
    pub async fn service_times(&self, actor: &Actor, f: &ServiceFilter) -> Result<Vec<TimeRow>> {
        require(actor, Object::Ticket, Action::Read)?;
        let counts = if summarized(f) {
            let mut q = Sql::new(&format!("SELECT {}, {} FROM {DAILY} WHERE 1 = 1", total("fr_n"), total("res_n")));
            daily_scope(&mut q, actor, f, Some("created"));
            let n = self.read(&q, |r| Ok((r.get::<i64>("fr_n")?, r.get::<i64>("res_n")?))).await?.first().copied().unwrap_or((0, 0));
            [Some(n.0), Some(n.1)]
        } else {
            [None, None]
        };
        let mut rows = vec![];
        for ((measure, col), known) in
            [("first_response", "t.first_response_secs"), ("resolution", "t.resolution_secs")].into_iter().zip(counts)
        {
            let mut q = Sql::new(&format!("SELECT {col} AS secs FROM tickets t WHERE {col} IS NOT NULL"));
            scope(&mut q, actor, f, false);
            span(&mut q, "t.created_at", f);
            let (count, qs) = self.quantiles(&q, &[0.5, 0.9], known).await?;
            rows.push(TimeRow {
                measure: measure.into(),
                count,
                median_hours: qs[0],
                p90_hours: qs[1],
                clock: "business".into(),
                link: f.tickets_link(Some("created_at"), &[]),
            });
        }
        Ok(rows)
    }

    /// Counts of each CSAT rating given in the span (the agent filter is the credited one):
    /// what the CSAT report and the significance tests read.
    pub async fn csat_counts(&self, actor: &Actor, f: &ServiceFilter) -> Result<[i64; 5]> {
        require(actor, Object::Ticket, Action::Read)?;
        if summarized(f) {
            let cols: Vec<String> = (1..=5).map(|i| total(&format!("c{i}"))).collect();
            let mut q = Sql::new(&format!("SELECT {} FROM {DAILY} WHERE 1 = 1", cols.join(", ")));
            daily_scope(&mut q, actor, f, Some("answered"));
            let rows = self.read(&q, |r| Ok([r.get("c1")?, r.get("c2")?, r.get("c3")?, r.get("c4")?, r.get("c5")?])).await?;
            return Ok(rows.first().copied().unwrap_or_default());
        }
        let mut q = Sql::new(
            "SELECT s.csat, COUNT(*) AS n FROM ticket_surveys s JOIN tickets t ON t.id = s.ticket_id \
             WHERE s.answered_at IS NOT NULL",
        );
        span(&mut q, "s.answered_at", f);
        scope(&mut q, actor, f, true);
        q.push(" GROUP BY s.csat");
        let mut counts = [0; 5];
        for (rating, n) in self.read(&q, |r| Ok((r.get::<i64>("csat")?, r.get::<i64>("n")?))).await? {
            if let Some(c) = usize::try_from(rating - 1).ok().and_then(|i| counts.get_mut(i)) {
                *c += n;
            }
        }
        Ok(counts)
    }

    /// CSAT: average, satisfied share and distribution of the answers given in the span.
    pub async fn service_csat(&self, actor: &Actor, f: &ServiceFilter) -> Result<CsatReport> {
        let counts = self.csat_counts(actor, f).await?;
        let count: i64 = counts.iter().sum();
        let total: i64 = counts.iter().enumerate().map(|(i, n)| (i as i64 + 1) * n).sum();
        let satisfied = counts[3] + counts[4];
        Ok(CsatReport {
            count,
            average: (count > 0).then(|| (100.0 * total as f64 / count as f64).round() / 100.0),
            satisfied_percent: percent(satisfied, count),
            distribution: counts.iter().enumerate().map(|(i, n)| CsatBucket { rating: i as i64 + 1, count: *n }).collect(),
            link: f.tickets_link(None, &[]),
        })
    }

    /// NPS of the answers given in the span that rated it.
    pub async fn service_nps(&self, actor: &Actor, f: &ServiceFilter) -> Result<NpsReport> {
        require(actor, Object::Ticket, Action::Read)?;
        let mut c = [0i64; 3];
        if summarized(f) {
            let mut q = Sql::new(&format!(
                "SELECT {}, {}, {} FROM {DAILY} WHERE 1 = 1",
                total("detractors"),
                total("passives"),
                total("promoters")
            ));
            daily_scope(&mut q, actor, f, Some("answered"));
            let rows = self.read(&q, |r| Ok([r.get("detractors")?, r.get("passives")?, r.get("promoters")?])).await?;
            c = rows.first().copied().unwrap_or_default();
        } else {
            let mut q = Sql::new(
                "SELECT CASE WHEN s.nps >= 9 THEN 2 WHEN s.nps >= 7 THEN 1 ELSE 0 END AS class, COUNT(*) AS n \
                 FROM ticket_surveys s JOIN tickets t ON t.id = s.ticket_id WHERE s.answered_at IS NOT NULL AND s.nps IS NOT NULL",
            );
            span(&mut q, "s.answered_at", f);
            scope(&mut q, actor, f, true);
            q.push(" GROUP BY CASE WHEN s.nps >= 9 THEN 2 WHEN s.nps >= 7 THEN 1 ELSE 0 END");
            for (class, n) in self.read(&q, |r| Ok((r.get::<i64>("class")?, r.get::<i64>("n")?))).await? {
                c[usize::try_from(class).unwrap_or(0).min(2)] += n;
            }
        }
        let count = c.iter().sum();
        Ok(NpsReport {
            count,
            promoters: c[2],
            passives: c[1],
            detractors: c[0],
            score: (count > 0).then(|| (1000.0 * (c[2] - c[0]) as f64 / count as f64).round() / 10.0),
            link: f.tickets_link(None, &[]),
        })
    }

    /// The share of the tickets resolved in the span (by their last resolution) that were
    /// reopened at least once (the ticket's `reopened` flag, migration 0040).
    pub async fn service_reopen_rate(&self, actor: &Actor, f: &ServiceFilter) -> Result<ReopenReport> {
        require(actor, Object::Ticket, Action::Read)?;
        let q = if summarized(f) {
            let mut q = Sql::new(&format!("SELECT {}, {} FROM {DAILY} WHERE 1 = 1", total("n"), total("reopened")));
            daily_scope(&mut q, actor, f, Some("resolved"));
            q
        } else {
            let mut q = Sql::new(
                "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(t.reopened), 0) AS BIGINT) AS reopened FROM tickets t WHERE t.resolved_at IS NOT NULL",
            );
            span(&mut q, "t.resolved_at", f);
            scope(&mut q, actor, f, false);
            q
        };
        let (resolved, reopened) =
            self.read(&q, |r| Ok((r.get::<i64>("n")?, r.get::<i64>("reopened")?))).await?.first().copied().unwrap_or((0, 0));
        Ok(ReopenReport {
            resolved,
            reopened,
            rate_percent: percent(reopened, resolved),
            link: f.tickets_link(Some("resolved_at"), &[]),
            reopened_link: f.tickets_link(None, &[("status", "reopened".into())]),
        })
    }

    /// Per week (Monday, UTC): tickets opened, tickets resolved, and survey answers with their
    /// mean rating.
    pub async fn service_trend(&self, actor: &Actor, f: &ServiceFilter) -> Result<Vec<TrendRow>> {
        require(actor, Object::Ticket, Action::Read)?;
        let mut weeks: BTreeMap<String, (i64, i64, i64, i64)> = BTreeMap::new();
        if summarized(f) {
            let mut q = Sql::new(&format!(
                "SELECT t.week AS week, t.kind AS kind, {}, {} FROM {DAILY} WHERE 1 = 1",
                total("n"),
                total("csat_total")
            ));
            daily_scope(&mut q, actor, f, None);
            q.push(" GROUP BY t.week, t.kind HAVING SUM(t.n) > 0");
            let rows = self
                .read(&q, |r| Ok((r.get::<String>("week")?, r.get::<String>("kind")?, r.get::<i64>("n")?, r.get::<i64>("csat_total")?)))
                .await?;
            for (wk, kind, n, total) in rows {
                let e = weeks.entry(wk).or_default();
                match kind.as_str() {
                    "created" => e.0 = n,
                    "resolved" => e.1 = n,
                    _ => (e.2, e.3) = (n, total),
                }
            }
        }
        for (col, from, cond, credited) in [
            ("t.created_at", "tickets t", "1 = 1", false),
            ("t.resolved_at", "tickets t", "t.resolved_at IS NOT NULL", false),
            ("s.answered_at", "ticket_surveys s JOIN tickets t ON t.id = s.ticket_id", "s.answered_at IS NOT NULL", true),
        ]
        .into_iter()
        .filter(|_| !summarized(f))
        {
            let w = week(self.backend, col);
            let sum = if credited { "CAST(SUM(s.csat) AS BIGINT)" } else { "CAST(0 AS BIGINT)" };
            let mut q = Sql::new(&format!("SELECT {w} AS week, COUNT(*) AS n, {sum} AS total FROM {from} WHERE {cond}"));
            span(&mut q, col, f);
            scope(&mut q, actor, f, credited);
            q.push(&format!(" GROUP BY {w}"));
            for (wk, n, total) in self.read(&q, |r| Ok((r.get::<String>("week")?, r.get::<i64>("n")?, r.get::<i64>("total")?))).await? {
                let e = weeks.entry(wk).or_default();
                match col {
                    "t.created_at" => e.0 = n,
                    "t.resolved_at" => e.1 = n,
                    _ => (e.2, e.3) = (n, total),
                }
            }
        }
        Ok(weeks
            .into_iter()
            .map(|(week, (created, resolved, n, total))| {
                let monday = chrono::NaiveDate::parse_from_str(&week, "%Y-%m-%d").ok();
                let narrowed = ServiceFilter { from: monday, to: monday.map(|d| d + chrono::Duration::days(6)), ..f.clone() };
                TrendRow {
                    link: narrowed.tickets_link(Some("created_at"), &[]),
                    week,
                    created,
                    resolved,
                    csat_count: n,
                    csat_average: (n > 0).then(|| (100.0 * total as f64 / n as f64).round() / 100.0),
                }
            })
            .collect())
    }
}
