//! Purchase history, the input analytics read (the lines of the paid orders of the people the
//! actor may see: score runs read as the system, so everyone), the scores they write back onto
//! people, and analytics runs.

use rapport_domain::analytics::{AnalyticsRun, RunKind, RunParams};
use rapport_domain::customer::Purchase;
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use serde_json::{Value, json};

use crate::bulk;
use crate::records::visible;
use crate::row::Row;
use crate::sql::{Arg, Sql, sql};
use crate::{Error, Result, Store};

mod history;
pub use history::PurchaseHistory;

/// A score to write onto a person.
#[derive(Debug, Clone, PartialEq)]
pub enum Score {
    /// RFM cell and tier.
    Rfm {
        /// E.g. `545`.
        cell: String,
        /// Tier name.
        tier: String,
    },
    /// k-means segment.
    Segment(i64),
    /// Purchase propensity.
    Propensity(f64),
    /// Churn risk.
    Churn(f64),
}

/// The paid (and shipped) order lines of live orders of live people, as purchase history reads
/// them: `l` the line, `o` the order, `c` the person. Callers add the visibility rules.
const PAID_LINES: &str = "FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN customers c ON c.id = o.customer_id \
     WHERE o.deleted_at IS NULL AND o.status IN ('paid', 'shipped') AND c.deleted_at IS NULL";

impl Store {
    /// A person's purchases, newest first: the lines of their paid and shipped orders that the
    /// actor may see (the person and the order both visible). `invoice` is the order's id and
    /// `amount_minor` the line's net amount, before the order's tax.
    pub async fn purchases_of(&self, actor: &Actor, customer_id: i64, limit: i64) -> Result<Vec<Purchase>> {
        self.check_customer_visible(actor, customer_id).await?;
        require(actor, Object::Order, Action::Read)?;
        let mut q = Sql::new(&format!(
            "SELECT l.id, o.id AS order_id, l.name, l.quantity, l.net_minor, o.currency, o.paid_at {PAID_LINES} AND o.customer_id = "
        ));
        q.arg(customer_id);
        visible(&mut q, actor, "o");
        q.push(" ORDER BY o.paid_at DESC, l.id DESC LIMIT ").arg(limit);
        self.read(&q, |r| {
            Ok(Purchase {
                id: r.get("id")?,
                invoice: r.get::<i64>("order_id")?.to_string(),
                product: r.get("name")?,
                quantity: r.get("quantity")?,
                amount_minor: r.get("net_minor")?,
                currency: r.get("currency")?,
                purchased_at: r.get::<Option<String>>("paid_at")?.unwrap_or_default(),
            })
        })
        .await
    }

    /// Writes a run's scores onto people and audits it, in one transaction. Scores are written
    /// onto every live person whoever started the run (it needs the `analytics: run` grant),
    /// since a score run computes over every record, as the system. The audit row is the
    /// system's and names the starter: one per run. Scores are derived data: neither `version`
    /// nor `updated_at` change, so they never conflict with an edit.
    pub async fn write_scores(&self, starter: &Actor, run: i64, scores: &[(i64, Score)]) -> Result<usize> {
        require(starter, Object::Analytics, Action::Run)?;
        let mut tx = self.write_tx().await?;
        let q = sql("SELECT kind, params FROM analytics_runs WHERE id = ? AND status = 'running'", [run.into()]);
        let (kind, params): (String, String) =
            tx.fetch_optional(&q, |r| Ok((r.get("kind")?, r.get("params")?))).await?.ok_or(Error::NotFound)?;
        let mut n = 0;
        for q in score_updates(self.backend, scores) {
            n += tx.execute(&q).await? as usize;
        }
        let system = Actor { request_id: starter.request_id.clone(), ..Actor::system() };
        let params: Value = serde_json::from_str(&params).unwrap_or_default();
        let diff =
            json!({"kind": kind, "params": params, "started_by": starter.user_id, "started_by_role": starter.role, "people_scored": n});
        self.audit(&mut tx, &system, "analytics_run", "analytics", Some(run), diff).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Starts recording a run. A run that writes scores needs the `analytics: run` grant,
    /// covers every record (so its results are shared) and is audited when it writes; one that
    /// only reads needs read access to people, covers what its starter may see, and is
    /// audited here.
    pub async fn start_run(&self, actor: &Actor, kind: RunKind, params: &RunParams) -> Result<AnalyticsRun> {
        if kind.writes_scores() {
            require(actor, Object::Analytics, Action::Run)?;
        } else {
            require(actor, Object::Customer, Action::Read)?;
        }
        params.validate()?;
        let scope = if kind.writes_scores() { "all" } else { scope(actor) };
        let (kind_name, params) = (kind.as_str(), serde_json::to_value(params).unwrap_or_default());
        let mut tx = self.write_tx().await?;
        let id: i64 = tx.fetch_one(&sql(
            "INSERT INTO analytics_runs (kind, status, scope, actor_id, params, created_at) VALUES (?, 'running', ?, ?, ?, ?) RETURNING id",
            [kind_name.into(), scope.into(), actor.user_id.into(), params.to_string().into(), now_rfc3339().into()],
        ), |r| r.get("id"))
        .await?;
        if !kind.writes_scores() {
            self.audit(&mut tx, actor, "analytics_run", "analytics", Some(id), json!({"kind": kind_name, "params": params})).await?;
        }
        tx.commit().await?;
        // Its starter sees it even when their role cannot read runs (`analytics: run` alone).
        Ok(self.run_and_scope(id).await?.0)
    }

    /// Records what a running analysis is doing, for anyone polling it (any server process).
    pub async fn run_progress(&self, id: i64, stage: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        tx.execute(&sql("UPDATE analytics_runs SET progress = ? WHERE id = ? AND status = 'running'", [stage.into(), id.into()])).await?;
        tx.commit().await
    }

    /// Records how a run ended.
    pub async fn finish_run(&self, id: i64, outcome: std::result::Result<Value, String>) -> Result<()> {
        let (status, result, error) = match outcome {
            Ok(v) => ("done", Some(v.to_string()), None),
            Err(e) => ("failed", None, Some(e)),
        };
        let mut tx = self.write_tx().await?;
        tx.execute(&sql(
            "UPDATE analytics_runs SET status = ?, result = ?, error = ?, finished_at = ? WHERE id = ?",
            [status.into(), result.into(), error.into(), now_rfc3339().into(), id.into()],
        ))
        .await?;
        tx.commit().await
    }

    /// One run, if the actor started it, may read the audit log, or the run covered every
    /// record (its summary holds counts, aggregates and model quality, nobody's record).
    pub async fn get_run(&self, actor: &Actor, id: i64) -> Result<AnalyticsRun> {
        require(actor, Object::Customer, Action::Read)?;
        let (run, shared) = self.run_and_scope(id).await?;
        if run.actor_id != actor.user_id && shared != "all" && !actor.perms.allows(Object::AuditLog, Action::Read) {
            return Err(Error::NotFound);
        }
        Ok(run)
    }

    async fn run_and_scope(&self, id: i64) -> Result<(AnalyticsRun, String)> {
        let q = sql(&format!("SELECT {RUN_COLS} FROM analytics_runs WHERE id = ?"), [id.into()]);
        self.read_optional(&q, |r| Ok((run_from_row(r)?, r.get::<String>("scope")?))).await?.ok_or(Error::NotFound)
    }

    /// The newest finished run of `kind` the actor may read: their own, or a shared one.
    pub async fn latest_run(&self, actor: &Actor, kind: &str) -> Result<Option<AnalyticsRun>> {
        require(actor, Object::Customer, Action::Read)?;
        let q = sql(
            &format!(
                "SELECT {RUN_COLS} FROM analytics_runs WHERE kind = ? AND status = 'done' AND (actor_id = ? OR scope = 'all') ORDER BY id DESC LIMIT 1"
            ),
            [kind.into(), actor.user_id.into()],
        );
        self.read_optional(&q, run_from_row).await
    }

    /// The actor's recent runs and shared ones, newest first.
    pub async fn recent_runs(&self, actor: &Actor, limit: i64) -> Result<Vec<AnalyticsRun>> {
        require(actor, Object::Customer, Action::Read)?;
        let q = sql(
            &format!("SELECT {RUN_COLS} FROM analytics_runs WHERE actor_id = ? OR scope = 'all' ORDER BY id DESC LIMIT ?"),
            [actor.user_id.into(), limit.into()],
        );
        self.read(&q, run_from_row).await
    }
}

const RUN_COLS: &str = "id, kind, status, scope, actor_id, params, progress, result, error, created_at, finished_at";

/// Whether a run's results may be shown to everyone: only when its starter reached every record.
fn scope(actor: &Actor) -> &'static str {
    if actor.visibility() == rapport_domain::permissions::Visibility::All { "all" } else { "own" }
}

fn run_from_row(r: &dyn Row) -> Result<AnalyticsRun> {
    Ok(AnalyticsRun {
        id: r.get("id")?,
        kind: r.get("kind")?,
        status: r.get("status")?,
        actor_id: r.get("actor_id")?,
        params: serde_json::from_str(&r.get::<String>("params")?).unwrap_or_default(),
        progress: r.get("progress")?,
        result: r.get::<Option<String>>("result")?.and_then(|s| serde_json::from_str(&s).ok()),
        error: r.get("error")?,
        created_at: r.get("created_at")?,
        finished_at: r.get("finished_at")?,
    })
}

/// The statements that write `scores`: one `UPDATE … FROM (VALUES …)` per few thousand people
/// and kind of score, instead of a statement per person (a million statements on PostgreSQL
/// is a million round trips). Both engines name the columns of a `VALUES` list `column1`, ….
fn score_updates(backend: crate::Backend, scores: &[(i64, Score)]) -> Vec<Sql> {
    const TAIL: &str = ") AS v WHERE customers.id = v.column1 AND customers.deleted_at IS NULL";
    let (mut rfm, mut segment, mut propensity, mut churn) = (vec![], vec![], vec![], vec![]);
    for (id, s) in scores {
        match s {
            Score::Rfm { cell, tier } => rfm.push((*id, cell.as_str(), tier.as_str())),
            Score::Segment(v) => segment.push((*id, *v)),
            Score::Propensity(v) => propensity.push((*id, *v)),
            Score::Churn(v) => churn.push((*id, *v)),
        }
    }
    let head = |set: &str| format!("UPDATE customers SET {set} FROM (VALUES ");
    let rfm_head = head("rfm_cell = v.column2, rfm_tier = v.column3");
    let mut out: Vec<Sql> =
        bulk::inserts(backend, &rfm_head, TAIL, 3, &rfm, |(id, c, t)| [Arg::from(*id), Arg::from(*c), Arg::from(*t)]).collect();
    let segment_head = head("segment = v.column2");
    out.extend(bulk::inserts(backend, &segment_head, TAIL, 2, &segment, |(id, v)| [Arg::from(*id), Arg::from(*v)]));
    for (column, rows) in [("purchase_propensity", &propensity), ("churn_risk", &churn)] {
        let h = head(&format!("{column} = v.column2"));
        out.extend(bulk::inserts(backend, &h, TAIL, 2, rows, |(id, v)| [Arg::from(*id), Arg::from(*v)]));
    }
    out
}
