//! Targets (quotas per rep or team and period) on the shared record machinery, with what only
//! they do:
//!
//! - they are reached by whom they are for, not by an owner: everyone with `all` visibility
//!   reaches every target; a manager (`team`) the targets of their teams and of their teams'
//!   members; a rep (`own`) their own and their teams' ([`Table::reach`]). A target written for
//!   someone the writer does not reach is refused, so a manager sets quotas only in their teams;
//! - `starts_on`/`ends_on` are the period's days, derived on every write;
//! - reading one sums its attainment in SQL: the won opportunities (or the paid orders, at their
//!   net amount) of the rep or of the team's members in the period, in the target's currency,
//!   that the reader may see.

use rapport_domain::permissions::{Action, Actor, Object, Visibility, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::record::RecordSpec;
use rapport_domain::sales::target::{self, Attainment, Period, Target, TargetData, TargetInput, TargetMeasure};

use crate::records::check_team;
use crate::records::columns::{ALIAS, Stored};
use crate::records::engine::{Table, Titles};
use crate::records::visible;
use crate::sql::{Arg, Sql, sql};
use crate::{Error, Result, Store, WriteTx};

/// `FROM … o WHERE …`: what counts toward the target aliased [`ALIAS`] by `measure` (won
/// opportunities closed in its period, or orders paid in it — paid or shipped since — at their
/// net amount), of its rep or its team's members, in its currency when `currency` is `=`, in
/// another when `<>`, as far as `actor` may see them.
fn counting(q: &mut Sql, actor: &Actor, measure: TargetMeasure, currency: &str) {
    let a = ALIAS;
    let (table, done, at) = match measure {
        TargetMeasure::WonOpportunities => ("opportunities", "o.status = 'won'", "o.closed_at"),
        TargetMeasure::PaidOrders => ("orders", "o.status IN ('paid', 'shipped')", "o.paid_at"),
    };
    q.push(&format!(
        " FROM {table} o WHERE o.deleted_at IS NULL AND {done} \
         AND {at} >= {a}.starts_on AND {at} < ({a}.ends_on || 'T24') AND o.currency {currency} {a}.currency \
         AND (o.owner_id = {a}.user_id OR o.owner_id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id = {a}.team_id))"
    ));
    visible(q, actor, "o");
}

impl Table for Target {
    const SPEC: &'static RecordSpec = &target::SPEC;
    type Data = TargetData;

    fn data(&self) -> &TargetData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Target {
        Target::tombstone(self)
    }

    /// The attainment sums, from what the target's measure counts.
    fn extra_cols(q: &mut Sql, actor: &Actor) {
        let sums = [
            ("CAST(COALESCE(SUM(o.amount_minor), 0) AS BIGINT)", "CAST(COALESCE(SUM(o.net_minor), 0) AS BIGINT)", "=", "achieved_minor"),
            ("COUNT(*)", "COUNT(*)", "=", "counted"),
            ("COUNT(*)", "COUNT(*)", "<>", "other_currency"),
        ];
        for (won, paid, currency, col) in sums {
            q.push(&format!(", CASE {ALIAS}.measure WHEN '{}' THEN (SELECT {won}", TargetMeasure::WonOpportunities.as_str()));
            counting(q, actor, TargetMeasure::WonOpportunities, currency);
            q.push(&format!(") WHEN '{}' THEN (SELECT {paid}", TargetMeasure::PaidOrders.as_str()));
            counting(q, actor, TargetMeasure::PaidOrders, currency);
            q.push(&format!(") END AS {col}"));
        }
    }

    /// A target is reached by whom it is for (see the module's documentation).
    fn reach(q: &mut Sql, actor: &Actor, a: &str) {
        let Some(me) = actor.user_id else { return };
        let teammates = "SELECT m2.user_id FROM team_members m1 JOIN team_members m2 ON m2.team_id = m1.team_id WHERE m1.user_id = ";
        match actor.visibility() {
            Visibility::All => return,
            Visibility::Team => {
                q.push(&format!(" AND ({a}.user_id = ")).arg(me).push(&format!(" OR {a}.user_id IN ({teammates}")).arg(me).push(")");
            }
            Visibility::Own => {
                q.push(&format!(" AND ({a}.user_id = ")).arg(me);
            }
        }
        q.push(&format!(" OR {a}.team_id IN (SELECT tm.team_id FROM team_members tm WHERE tm.user_id = ")).arg(me).push("))");
    }

    /// The period's first and last days.
    fn derived(stored: &mut Stored, _: &Titles) {
        let period = stored.cols.iter().find(|(c, _)| c == "period").and_then(|(_, v)| match v {
            Arg::Text(Some(p)) => Period::parse(p).ok(),
            _ => None,
        });
        if let Some(p) = period {
            stored.set("starts_on", Arg::from(p.start().format("%Y-%m-%d").to_string()));
            stored.set("ends_on", Arg::from(p.end().format("%Y-%m-%d").to_string()));
        }
    }

    async fn after_insert(_: &Store, tx: &mut WriteTx, actor: &Actor, id: i64, data: &TargetData) -> Result<()> {
        check_whom(tx, actor, id, data).await
    }

    async fn after_update(_: &Store, tx: &mut WriteTx, actor: &Actor, id: i64, _: &TargetData, after: &TargetData) -> Result<()> {
        check_whom(tx, actor, id, after).await
    }
}

/// Refuses a team id that names no team, and a target for someone the writer does not reach.
async fn check_whom(tx: &mut WriteTx, actor: &Actor, id: i64, data: &TargetData) -> Result<()> {
    check_team(tx, data.team_id).await?;
    let mut q = sql(&format!("SELECT {ALIAS}.id FROM targets {ALIAS} WHERE {ALIAS}.id = ?"), [id.into()]);
    <Target as Table>::reach(&mut q, actor, ALIAS);
    if tx.fetch_optional(&q, |_| Ok(())).await?.is_none() {
        let field = if data.team_id.is_some() { "team_id" } else { "user_id" };
        let message = "you may set targets only for yourself, your teams and their members";
        return Err(Error::Forbidden { field: field.into(), message: message.into() });
    }
    Ok(())
}

/// Fills in what is computed from the sums the query made.
fn with_percent(mut t: Target) -> Target {
    t.percent_bp = t.achieved_minor.map(|a| Attainment::of(t.data.amount_minor, a as i128, 0, 0).percent_bp);
    t
}

impl Store {
    /// One live target, with its attainment as the actor may see it.
    pub async fn get_target(&self, actor: &Actor, id: i64) -> Result<Target> {
        self.get_record(actor, id).await.map(with_percent)
    }

    /// A page of targets matching `p` (sync listings carry deleted ones as tombstones).
    pub async fn list_targets(&self, actor: &Actor, p: &ListParams) -> Result<Page<Target>> {
        let page = self.list_records::<Target>(actor, p).await?;
        Ok(Page { data: page.data.into_iter().map(with_percent).collect(), ..page })
    }

    /// Adds a target from what a client sent, validated after the permission check.
    pub async fn create_target(&self, actor: &Actor, input: TargetInput) -> Result<Target> {
        require(actor, Object::Target, Action::Create)?;
        self.create_record(actor, input.apply(None)?).await.map(with_percent)
    }

    /// Changes a target (see [`Store::update_record`] for the contract).
    pub async fn update_target(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: TargetInput) -> Result<Target> {
        self.update_record(actor, id, if_match, |cur: &TargetData| input.apply(Some(cur))).await.map(with_percent)
    }

    /// Soft-deletes a target.
    pub async fn delete_target(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Target>(actor, id, if_match).await
    }
}
