//! The per-team monthly sales summary (migration 0022): per team, paid month and currency, the
//! revenue, orders and distinct customers of the team's members' counted orders, and of its
//! reach (those plus the unowned orders: what a rep sees whose one shared team it is).
//!
//! As with [`super::monthly_sales`], no row is adjusted by a difference, since distinct
//! customers do not add up: a write recomputes the rows it can change from the orders, in its
//! transaction. An order counts for the teams its owner belongs to, and an unowned one for
//! every team's reach, so an order write recomputes its months for those teams; a membership
//! change moves a member's every order in or out, so it recomputes the whole team.

use std::collections::BTreeSet;

use rapport_domain::permissions::{Actor, Visibility};
use rapport_domain::sales::order::OrderData;
use rapport_domain::sales::report::{MonthlySalesRow, ReportFilter};

use super::monthly_sales::{COUNTED, month_of, next_month};
use crate::records::sees_all;
use crate::sql::{Sql, sql};
use crate::{Result, Store, WriteTx};

/// The paid month and owner of an order that counts (see [`month_of`]).
pub(crate) fn touch(d: &OrderData) -> Option<(String, Option<i64>)> {
    month_of(d).map(|(month, _)| (month, d.owner_id))
}

/// Recomputes the rows of the months orders of these owners count in (`None`: unowned), for
/// every team those orders count for.
pub(crate) async fn refresh(tx: &mut WriteTx, touched: impl IntoIterator<Item = (String, Option<i64>)>) -> Result<()> {
    let mut months = BTreeSet::new();
    let mut owners = BTreeSet::new();
    let mut unowned = false;
    for (month, owner) in touched {
        months.insert(month);
        match owner {
            Some(o) => {
                owners.insert(o);
            }
            None => unowned = true,
        }
    }
    if months.is_empty() {
        return Ok(());
    }
    let teams: Vec<i64> = if unowned {
        tx.fetch_all(&sql("SELECT id AS team_id FROM teams", []), |r| r.get("team_id")).await?
    } else {
        let mut q = Sql::new("SELECT DISTINCT team_id FROM team_members WHERE user_id IN (");
        for (i, o) in owners.iter().enumerate() {
            q.push(if i == 0 { "" } else { ", " }).arg(*o);
        }
        q.push(")");
        tx.fetch_all(&q, |r| r.get("team_id")).await?
    };
    // One or two months (an order written, or moved) are recomputed each on its own; a batch
    // selling across many months is recomputed over its whole span, one range per team.
    let spans: Vec<(String, String)> = if months.len() <= 2 {
        months.iter().map(|m| (m.clone(), m.clone())).collect()
    } else {
        vec![(months.first().cloned().unwrap_or_default(), months.last().cloned().unwrap_or_default())]
    };
    for team in teams {
        for (first, last) in &spans {
            recompute(tx, Some(team), Some((first, last))).await?;
        }
    }
    Ok(())
}

/// Recomputes every row of a team whose members changed (or that was created): all of its
/// months change at once. A deleted team's rows go with it.
pub(crate) async fn refresh_team(tx: &mut WriteTx, team: i64) -> Result<()> {
    recompute(tx, Some(team), None).await
}

/// Recomputes the whole summary (after a restore, whose backup may predate it).
pub(crate) async fn rebuild(tx: &mut WriteTx) -> Result<()> {
    recompute(tx, None, None).await
}

/// Replaces the rows of `team` (every team when `None`) in the months `first..=last` (every
/// month when `None`) by those counted from the orders.
async fn recompute(tx: &mut WriteTx, team: Option<i64>, months: Option<(&String, &String)>) -> Result<()> {
    let end = match months {
        Some((_, last)) => match next_month(last) {
            Some(end) => Some(end),
            None => return Ok(()),
        },
        None => None,
    };
    let mut del = Sql::new("DELETE FROM team_sales WHERE 1 = 1");
    let mut ins = Sql::new(&format!(
        "INSERT INTO team_sales (team_id, month, currency, revenue_minor, orders, customers, reach_revenue_minor, reach_orders, reach_customers) \
         SELECT t.id, substr(o.paid_at, 1, 7), o.currency, \
         CAST(COALESCE(SUM(CASE WHEN o.owner_id IS NOT NULL THEN o.net_minor END), 0) AS BIGINT), COUNT(o.owner_id), \
         COUNT(DISTINCT CASE WHEN o.owner_id IS NOT NULL THEN o.customer_id END), \
         CAST(SUM(o.net_minor) AS BIGINT), COUNT(*), COUNT(DISTINCT o.customer_id) \
         FROM teams t JOIN orders o ON o.owner_id IS NULL OR o.owner_id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id = t.id) \
         WHERE {COUNTED}"
    ));
    if let Some(team) = team {
        del.push(" AND team_id = ").arg(team);
        ins.push(" AND t.id = ").arg(team);
    }
    if let (Some((first, last)), Some(end)) = (months, end) {
        del.push(" AND month >= ").arg(first.clone()).push(" AND month <= ").arg(last.clone());
        // A month's paid times are a range of the (status, paid_at, …) index.
        ins.push(" AND o.paid_at >= ").arg(first.clone()).push(" AND o.paid_at < ").arg(end);
    }
    ins.push(" GROUP BY t.id, substr(o.paid_at, 1, 7), o.currency");
    tx.execute(&del).await?;
    tx.execute(&ins).await?;
    Ok(())
}

/// What the summary holds for a reader: a team's own orders, or its reach.
enum Part {
    Own,
    Reach,
}

impl Store {
    /// The teams whose members' records the actor sees beside their own (the teams of
    /// [`crate::records::visible`]'s rule).
    async fn shared_teams(&self, actor: &Actor) -> Result<Vec<i64>> {
        let Some(me) = actor.user_id else { return Ok(vec![]) };
        let mut q = Sql::new("SELECT m1.team_id FROM team_members m1 JOIN teams t ON t.id = m1.team_id WHERE m1.user_id = ");
        q.arg(me);
        if actor.visibility() == Visibility::Own {
            q.push(" AND t.visibility = 'team'");
        }
        self.read(&q, |r| r.get("team_id")).await
    }

    /// Monthly sales from the team summary when its rows are exactly what the reader asks for,
    /// else `None`. They are for a span of whole months, no single owner, and either a team
    /// the reader sees whole (every team for those who see everything, the reader's shared
    /// teams otherwise), or everything a reader sees whose records are shared with one team:
    /// their own and that team's (they are a member) and the unowned ones, the team's reach.
    pub(crate) async fn team_sales_report(&self, actor: &Actor, f: &ReportFilter) -> Result<Option<Vec<MonthlySalesRow>>> {
        let (Some((from, to)), None) = (f.whole_months(), f.owner_id) else { return Ok(None) };
        let (team, part) = match (f.team_id, sees_all(actor)) {
            (Some(t), true) => (t, Part::Own),
            (None, true) => return Ok(None),
            (t, false) => {
                let shared = self.shared_teams(actor).await?;
                match (t, &shared[..]) {
                    (Some(t), _) if shared.contains(&t) => (t, Part::Own),
                    (None, [only]) => (*only, Part::Reach),
                    _ => return Ok(None),
                }
            }
        };
        let cols = match part {
            Part::Own => "s.revenue_minor AS revenue, s.orders AS n, s.customers",
            Part::Reach => "s.reach_revenue_minor AS revenue, s.reach_orders AS n, s.reach_customers AS customers",
        };
        let mut q = Sql::new(&format!("SELECT s.month, s.currency, {cols} FROM team_sales s WHERE s.team_id = "));
        q.arg(team);
        if let Some(from) = from {
            q.push(" AND s.month >= ").arg(from);
        }
        if let Some(to) = to {
            q.push(" AND s.month <= ").arg(to);
        }
        // A reach row exists when the team or the pool sold; the team's own only when it did.
        q.push(match part {
            Part::Own => " AND s.orders > 0",
            Part::Reach => " AND s.reach_orders > 0",
        });
        q.push(" ORDER BY s.month, s.currency");
        let rows = self
            .read(&q, |r| {
                Ok(MonthlySalesRow {
                    month: r.get("month")?,
                    currency: r.get("currency")?,
                    revenue_minor: r.get("revenue")?,
                    orders: r.get("n")?,
                    customers: r.get("customers")?,
                })
            })
            .await?;
        Ok(Some(rows))
    }
}
