//! Pipelines, on the shared record machinery, with what only pipelines do: keep
//! `pipeline_stages` (one row per stage, which opportunities join for their stage's name and
//! probability) in step with the stage list, refuse to drop a stage or a pipeline that
//! opportunities use, and mark those opportunities changed for sync clients when what they
//! show of their stage (its name, its probability) changes.

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page, SortField};
use rapport_domain::sales::opportunity::OpportunityContext;
use rapport_domain::sales::pipeline::{Pipeline, PipelineData, PipelineInput};
use serde_json::{Value, json};

use crate::records::engine::Table;
use crate::records::touch;
use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx};

impl Table for Pipeline {
    const SPEC: &'static rapport_domain::record::RecordSpec = &rapport_domain::sales::pipeline::SPEC;
    type Data = PipelineData;

    fn data(&self) -> &PipelineData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Pipeline {
        Pipeline::tombstone(self)
    }

    async fn after_insert(_: &Store, tx: &mut WriteTx, _: &Actor, id: i64, data: &PipelineData) -> Result<()> {
        write_stages(tx, id, data).await
    }

    /// Stages removed while opportunities are in them are refused (after the stage rows are
    /// rewritten, so that on PostgreSQL an opportunity moving into one meanwhile either waits
    /// for this change or is counted here). Renamed or re-weighted stages show in their
    /// opportunities, which therefore count as changed for sync clients.
    async fn after_update(_: &Store, tx: &mut WriteTx, _: &Actor, id: i64, before: &PipelineData, after: &PipelineData) -> Result<()> {
        if before.stages == after.stages {
            return Ok(());
        }
        write_stages(tx, id, after).await?;
        let removed = before.removed_keys(after);
        if !removed.is_empty() {
            let mut q = Sql::new("SELECT stage, COUNT(*) AS n FROM opportunities WHERE deleted_at IS NULL AND pipeline_id = ");
            q.arg(id).push(" AND stage IN (");
            for (i, k) in removed.iter().enumerate() {
                q.push(if i == 0 { "" } else { ", " }).arg(k.clone());
            }
            q.push(") GROUP BY stage ORDER BY stage");
            let used: Vec<String> =
                tx.fetch_all(&q, |r| Ok(format!("'{}' ({} opportunities)", r.get::<String>("stage")?, r.get::<i64>("n")?))).await?;
            if !used.is_empty() {
                return Err(Error::Conflict {
                    field: "stages".into(),
                    message: format!(
                        "cannot remove stage {}: move those opportunities to another stage first (closed ones are reopened and moved, or deleted)",
                        used.join(", ")
                    ),
                });
            }
        }
        let shown = |d: &PipelineData, key: &str| d.stage(key).map(|s| (s.name.clone(), s.probability));
        if after.stages.iter().any(|s| shown(before, &s.key) != shown(after, &s.key)) {
            touch(tx, "opportunities", "pipeline_id = ?", id).await?;
        }
        Ok(())
    }

    /// A pipeline that live opportunities are in stays.
    async fn before_delete(_: &Store, tx: &mut WriteTx, _: &Actor, id: i64) -> Result<Value> {
        let q = sql("SELECT COUNT(*) AS n FROM opportunities WHERE pipeline_id = ? AND deleted_at IS NULL", [id.into()]);
        let n: i64 = tx.fetch_one(&q, |r| r.get("n")).await?;
        if n > 0 {
            return Err(Error::Conflict {
                field: "opportunities".into(),
                message: format!("{n} opportunities are in this pipeline: move them to another pipeline or delete them first"),
            });
        }
        Ok(json!({}))
    }
}

/// Rewrites a pipeline's rows in `pipeline_stages` from its stage list.
async fn write_stages(tx: &mut WriteTx, id: i64, data: &PipelineData) -> Result<()> {
    tx.execute(&sql("DELETE FROM pipeline_stages WHERE pipeline_id = ?", [id.into()])).await?;
    for (position, s) in data.stages.iter().enumerate() {
        tx.execute(&sql(
            "INSERT INTO pipeline_stages (pipeline_id, stage_key, position, name, probability, outcome) VALUES (?, ?, ?, ?, ?, ?)",
            [
                id.into(),
                s.key.clone().into(),
                (position as i64).into(),
                s.name.clone().into(),
                s.probability.into(),
                s.outcome.as_str().into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// The live pipelines, as every opportunity write is validated against them.
#[derive(Debug, Clone, Default)]
pub struct PipelineSet {
    pipelines: Vec<(i64, PipelineData)>,
}

impl PipelineSet {
    /// The pipeline with `id`.
    pub fn get(&self, id: i64) -> Option<&PipelineData> {
        self.pipelines.iter().find(|(i, _)| *i == id).map(|(_, p)| p)
    }

    /// Where opportunities go when no pipeline is named: the oldest live pipeline.
    pub fn default_id(&self) -> Option<i64> {
        self.pipelines.first().map(|(i, _)| *i)
    }

    /// Runs `f` with the context [`rapport_domain::sales::opportunity::OpportunityInput::apply`]
    /// validates against, at time `now`.
    pub fn with_context<R>(&self, now: &str, f: impl FnOnce(&OpportunityContext) -> R) -> R {
        let lookup = |id: i64| self.get(id).cloned();
        f(&OpportunityContext { pipeline: &lookup, default_pipeline_id: self.default_id(), default_currency: None, now })
    }

    fn from_rows(rows: Vec<(i64, String, String)>) -> PipelineSet {
        let pipelines = rows
            .into_iter()
            .map(|(id, name, stages)| (id, PipelineData { name, stages: serde_json::from_str(&stages).unwrap_or_default() }))
            .collect();
        PipelineSet { pipelines }
    }
}

const LIVE_PIPELINES: &str = "SELECT id, name, stages FROM pipelines WHERE deleted_at IS NULL ORDER BY id";

fn pipeline_row(r: &dyn Row) -> Result<(i64, String, String)> {
    Ok((r.get("id")?, r.get("name")?, r.get("stages")?))
}

impl Store {
    /// One live pipeline.
    pub async fn get_pipeline(&self, actor: &Actor, id: i64) -> Result<Pipeline> {
        self.get_record(actor, id).await
    }

    /// A page of pipelines (sync listings carry deleted ones as tombstones).
    pub async fn list_pipelines(&self, actor: &Actor, p: &ListParams) -> Result<Page<Pipeline>> {
        self.list_records(actor, p).await
    }

    /// Every live pipeline, oldest first (board tabs, forms).
    pub async fn all_pipelines(&self, actor: &Actor) -> Result<Vec<Pipeline>> {
        let p = ListParams { limit: 500, sort: SortField::Id, ..Default::default() };
        Ok(self.list_pipelines(actor, &p).await?.data)
    }

    /// Adds a pipeline (admins); `input` is validated after the permission check.
    pub async fn create_pipeline(&self, actor: &Actor, input: PipelineInput) -> Result<Pipeline> {
        require(actor, Object::Pipeline, Action::Create)?;
        self.create_record(actor, input.apply(None)?).await
    }

    /// Changes a pipeline's name or stages; removing a stage that opportunities are in is a
    /// conflict on `stages`.
    pub async fn update_pipeline(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: PipelineInput) -> Result<Pipeline> {
        self.update_record(actor, id, if_match, |cur: &PipelineData| input.apply(Some(cur))).await
    }

    /// Soft-deletes a pipeline no live opportunity is in.
    pub async fn delete_pipeline(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Pipeline>(actor, id, if_match).await
    }

    /// The live pipelines every opportunity write is validated against (no permission: a
    /// writer of opportunities needs their stage rules, whatever their role reads).
    pub async fn pipeline_set(&self) -> Result<PipelineSet> {
        Ok(PipelineSet::from_rows(self.read(&Sql::new(LIVE_PIPELINES), pipeline_row).await?))
    }

    /// [`Store::pipeline_set`] inside a transaction (lead conversion validates the opportunity
    /// it creates against the pipelines as its own transaction sees them).
    pub(crate) async fn pipelines_in(&self, tx: &mut WriteTx) -> Result<PipelineSet> {
        Ok(PipelineSet::from_rows(tx.fetch_all(&Sql::new(LIVE_PIPELINES), pipeline_row).await?))
    }
}
