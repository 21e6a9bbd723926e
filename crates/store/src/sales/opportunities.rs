//! Opportunities, on the shared record machinery, with what only they do: every create and
//! every stage change writes a row of `opportunity_stage_changes` (time, actor, from, to,
//! outcome) in the same transaction and stamps `stage_entered_at`, so time in stage and cycle
//! length are measured from history; reads join their stage's name and probability.
//!
//! The stage rules themselves are the domain's ([`OpportunityInput::apply`]); the store gives
//! them the live pipelines and, inside the transaction, checks that the stage still exists
//! (locking its row on PostgreSQL, so a pipeline edit removing it waits or refuses).

use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::sales::opportunity::{Opportunity, OpportunityData, OpportunityInput, StageChange};
use rapport_domain::sales::pipeline::StageOutcome;
use rapport_domain::{ValidationErrors, record::RecordSpec};

use crate::records::columns::ALIAS;
use crate::records::engine::{Checked, Table};
use crate::records::{check_campaign, visible};
use crate::row::Row;
use crate::sql::{Arg, MAX_ARGS, Sql, sql};
use crate::{Error, Result, Store, WriteTx, bulk};

impl Table for Opportunity {
    const SPEC: &'static RecordSpec = &rapport_domain::sales::opportunity::SPEC;
    type Data = OpportunityData;

    fn data(&self) -> &OpportunityData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Opportunity {
        Opportunity::tombstone(self)
    }

    /// The current stage's name and probability, from the pipeline (one index lookup each).
    fn extra_cols(q: &mut Sql, _: &Actor) {
        let stage = format!("FROM pipeline_stages ps WHERE ps.pipeline_id = {ALIAS}.pipeline_id AND ps.stage_key = {ALIAS}.stage");
        q.push(&format!(", (SELECT ps.name {stage}) AS stage_name, (SELECT ps.probability {stage}) AS probability"));
    }

    async fn after_insert(store: &Store, tx: &mut WriteTx, actor: &Actor, id: i64, data: &OpportunityData) -> Result<()> {
        check_campaign(tx, data.campaign_id).await?;
        let change = StageChange::between(None, data, &now_rfc3339(), actor.user_id).expect("a creation is a change");
        store.record_stage_change(tx, id, &change).await
    }

    async fn after_update(
        store: &Store,
        tx: &mut WriteTx,
        actor: &Actor,
        id: i64,
        before: &OpportunityData,
        after: &OpportunityData,
    ) -> Result<()> {
        if after.campaign_id != before.campaign_id {
            check_campaign(tx, after.campaign_id).await?;
        }
        match StageChange::between(Some(before), after, &now_rfc3339(), actor.user_id) {
            Some(change) => store.record_stage_change(tx, id, &change).await,
            None => Ok(()),
        }
    }
}

/// A stage history row as the domain reads it.
fn stage_change(r: &dyn Row) -> Result<StageChange> {
    Ok(StageChange {
        pipeline_id: r.get("pipeline_id")?,
        from_stage: r.get("from_stage")?,
        to_stage: r.get("to_stage")?,
        outcome: StageOutcome::parse(&r.get::<String>("outcome")?).unwrap_or_default(),
        at: r.get("at")?,
        actor_id: r.get("actor_id")?,
    })
}

/// The columns [`stage_change`] reads, of `opportunity_stage_changes` aliased `c`.
const CHANGE_COLS: &str = "c.pipeline_id, c.from_stage, c.to_stage, c.outcome, c.at, c.actor_id";

/// One stage's opportunities on a board: how many, and their amounts by currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageTotal {
    /// Stage key.
    pub stage: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Opportunities in the stage with this currency.
    pub count: i64,
    /// Their amounts summed, in minor units.
    pub amount_minor: i64,
}

impl Store {
    /// Writes one entry of an opportunity's stage history and stamps its `stage_entered_at`,
    /// after checking that the stage entered is one of its pipeline (locked until the change
    /// commits on PostgreSQL).
    async fn record_stage_change(&self, tx: &mut WriteTx, id: i64, c: &StageChange) -> Result<()> {
        let lock = self.backend.lock_rows();
        let exists = tx
            .fetch_optional(
                &sql(
                    &format!("SELECT stage_key FROM pipeline_stages WHERE pipeline_id = ? AND stage_key = ?{lock}"),
                    [c.pipeline_id.into(), c.to_stage.clone().into()],
                ),
                |_| Ok(()),
            )
            .await?;
        if exists.is_none() {
            return Err(Error::Invalid(ValidationErrors::single(
                "stage",
                format!("'{}' is no longer a stage of this pipeline: reload it and choose again", c.to_stage),
            )));
        }
        self.insert_stage_change(tx, id, c).await?;
        tx.execute(&sql("UPDATE opportunities SET stage_entered_at = ? WHERE id = ?", [c.at.clone().into(), id.into()])).await?;
        Ok(())
    }

    async fn insert_stage_change(&self, tx: &mut WriteTx, id: i64, c: &StageChange) -> Result<()> {
        tx.execute(&sql(
            "INSERT INTO opportunity_stage_changes (opportunity_id, pipeline_id, from_stage, to_stage, outcome, at, actor_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                id.into(),
                c.pipeline_id.into(),
                c.from_stage.clone().into(),
                c.to_stage.clone().into(),
                c.outcome.as_str().into(),
                c.at.clone().into(),
                c.actor_id.into(),
            ],
        ))
        .await?;
        Ok(())
    }

    /// One live opportunity.
    pub async fn get_opportunity(&self, actor: &Actor, id: i64) -> Result<Opportunity> {
        self.get_record(actor, id).await
    }

    /// A page of opportunities matching `p` (sync listings carry deleted ones as tombstones).
    pub async fn list_opportunities(&self, actor: &Actor, p: &ListParams) -> Result<Page<Opportunity>> {
        self.list_records(actor, p).await
    }

    /// Adds an opportunity from what a client sent: validated (after the permission check)
    /// against the live pipelines, in the default pipeline's first open stage unless told
    /// otherwise. The owner must be one the actor may give records to, the person and company
    /// ones they can see.
    pub async fn create_opportunity(&self, actor: &Actor, input: OpportunityInput) -> Result<Opportunity> {
        require(actor, Object::Opportunity, Action::Create)?;
        let mut tx = self.write_tx().await?;
        let data = self.pipelines_in(&mut tx).await?.with_context(&now_rfc3339(), |ctx| input.apply(None, ctx))?;
        let id = self.create_opportunity_in(&mut tx, actor, &data).await?;
        let created = self.as_seen::<Opportunity>(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Adds an opportunity inside another change's transaction (lead conversion does, as
    /// [`Store::create_opportunity`] does): `data` is validated already, against
    /// [`Store::pipelines_in`] of the same transaction; the checks of owner, person, company and
    /// stage, the stage history and the audit row join the caller's transaction. Its id.
    pub(crate) async fn create_opportunity_in(&self, tx: &mut WriteTx, actor: &Actor, data: &OpportunityData) -> Result<i64> {
        self.create_record_in::<Opportunity>(tx, actor, data).await
    }

    /// Changes an opportunity. A new `stage` moves it by the stage rules: a closed one moves
    /// only with `reopen` (else [`Error::Refused`] naming `reopen`), a lost one needs a
    /// `lost_reason`. With `if_match`, a stale version is refused.
    pub async fn update_opportunity(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: OpportunityInput) -> Result<Opportunity> {
        require(actor, Object::Opportunity, Action::Update)?;
        let pipelines = self.pipeline_set().await?;
        let now = now_rfc3339();
        self.update_record(actor, id, if_match, |cur: &OpportunityData| pipelines.with_context(&now, |ctx| input.apply(Some(cur), ctx)))
            .await
    }

    /// Soft-deletes an opportunity (its stage history stays, for the record).
    pub async fn delete_opportunity(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Opportunity>(actor, id, if_match).await
    }

    /// The stage history of a live opportunity the actor may see, oldest first.
    pub async fn opportunity_history(&self, actor: &Actor, id: i64) -> Result<Vec<StageChange>> {
        self.record_visible::<Opportunity>(actor, id).await?;
        let q = sql(
            &format!("SELECT {CHANGE_COLS} FROM opportunity_stage_changes c WHERE c.opportunity_id = ? ORDER BY c.at, c.id"),
            [id.into()],
        );
        self.read(&q, |r| stage_change(r)).await
    }

    /// Adds opportunities that come with their stage history (imports, the demo): each history
    /// must start with the creation (`from_stage` empty) and end in the opportunity's stage.
    /// One transaction and one audit row for the batch.
    pub async fn import_opportunities(&self, actor: &Actor, batch: &[(OpportunityData, Vec<StageChange>)]) -> Result<Vec<i64>> {
        require(actor, Object::Opportunity, Action::Create)?;
        let mut tx = self.write_tx().await?;
        for (n, (data, history)) in batch.iter().enumerate() {
            let ends_in_stage =
                history.last().is_some_and(|c| c.to_stage == data.stage && c.pipeline_id == data.pipeline_id && c.outcome == data.status);
            if !ends_in_stage || history.first().is_some_and(|c| c.from_stage.is_some()) {
                let message = format!("row {}: the history must start with the creation and end in the stage '{}'", n + 1, data.stage);
                return Err(Error::Invalid(ValidationErrors::single("history", message)));
            }
        }
        let deals: Vec<OpportunityData> = batch.iter().map(|(d, _)| d.clone()).collect();
        let ids = self.insert_records::<Opportunity>(&mut tx, actor, &deals, &[], &mut Checked::default()).await?;
        let mut campaigns: Vec<i64> = deals.iter().filter_map(|d| d.campaign_id).collect();
        campaigns.sort_unstable();
        campaigns.dedup();
        for c in campaigns {
            check_campaign(&mut tx, Some(c)).await?;
        }
        // The histories in multi-row inserts, then each deal's time of entering its stage.
        let rows: Vec<(i64, &StageChange)> = ids.iter().zip(batch).flat_map(|(id, (_, h))| h.iter().map(move |c| (*id, c))).collect();
        let head =
            "INSERT INTO opportunity_stage_changes (opportunity_id, pipeline_id, from_stage, to_stage, outcome, at, actor_id) VALUES ";
        let values = |(id, c): &(i64, &StageChange)| {
            [
                Arg::from(*id),
                Arg::from(c.pipeline_id),
                Arg::from(c.from_stage.clone()),
                Arg::from(c.to_stage.clone()),
                Arg::from(c.outcome.as_str()),
                Arg::from(c.at.clone()),
                Arg::from(c.actor_id),
            ]
        };
        for q in bulk::inserts(self.backend, head, "", 7, &rows, values) {
            tx.execute(&q).await?;
        }
        for part in ids.chunks(MAX_ARGS) {
            let mut q = Sql::new(
                "UPDATE opportunities SET stage_entered_at = (SELECT MAX(c.at) FROM opportunity_stage_changes c WHERE c.opportunity_id = opportunities.id) \
                 WHERE id IN (",
            );
            for (i, id) in part.iter().enumerate() {
                q.push(if i == 0 { "" } else { ", " }).arg(*id);
            }
            tx.execute(q.push(")")).await?;
        }
        let summary = serde_json::json!({"count": batch.len(), "first_id": ids.first(), "last_id": ids.last(), "with_history": true});
        self.audit(&mut tx, actor, "bulk_create", "opportunity", None, summary).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// How many live opportunities of `pipeline_id` the actor may see are in each stage, and
    /// their amounts by currency (the board's column heads).
    pub async fn stage_totals(&self, actor: &Actor, pipeline_id: i64) -> Result<Vec<StageTotal>> {
        require(actor, Object::Opportunity, Action::Read)?;
        let a = ALIAS;
        let mut q = Sql::new(&format!(
            "SELECT {a}.stage AS stage, {a}.currency AS currency, COUNT(*) AS n, CAST(SUM({a}.amount_minor) AS BIGINT) AS amount \
             FROM opportunities {a} WHERE {a}.deleted_at IS NULL AND {a}.pipeline_id = "
        ));
        q.arg(pipeline_id);
        visible(&mut q, actor, a);
        q.push(&format!(" GROUP BY {a}.stage, {a}.currency ORDER BY {a}.stage, {a}.currency"));
        self.read(&q, |r| {
            Ok(StageTotal { stage: r.get("stage")?, currency: r.get("currency")?, count: r.get("n")?, amount_minor: r.get("amount")? })
        })
        .await
    }
}
