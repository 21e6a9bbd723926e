//! What the win-probability model learns from: a pipeline's opportunities as the actor may see
//! them, their stage histories, and when activities were logged on them. Turning these into
//! features (each closed deal "as it stood before it closed") is the caller's work, next to the
//! model; this is only the reading, with record visibility applied to every row.

use std::collections::HashMap;

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::sales::opportunity::StageChange;
use rapport_domain::sales::pipeline::StageOutcome;

use crate::records::visible;
use crate::sql::Sql;
use crate::{Result, Store};

/// One opportunity as the model reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct DealRow {
    /// Opportunity id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner_id: Option<i64>,
    /// Amount in minor units of `currency`.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Current stage key.
    pub stage: String,
    /// Open, won or lost.
    pub status: StageOutcome,
    /// When the record was created (RFC 3339 UTC).
    pub created_at: String,
    /// When it entered its current stage.
    pub stage_entered_at: Option<String>,
}

/// A pipeline's opportunities with their histories and activity times.
#[derive(Debug, Clone, Default)]
pub struct DealDataset {
    /// The opportunities, by id.
    pub deals: Vec<DealRow>,
    /// Each one's stage history, oldest first (without `from_stage` and `actor_id`, which the
    /// model does not read).
    pub history: HashMap<i64, Vec<StageChange>>,
    /// When activities were logged on each one (RFC 3339 UTC), in no particular order.
    pub activity_times: HashMap<i64, Vec<String>>,
}

impl Store {
    /// The live opportunities of `pipeline_id` the actor may see, with their stage histories
    /// and activity times.
    pub async fn deal_dataset(&self, actor: &Actor, pipeline_id: i64) -> Result<DealDataset> {
        require(actor, Object::Opportunity, Action::Read)?;
        let mut q = Sql::new(
            "SELECT r.id, r.name, r.owner_id, r.amount_minor, r.currency, r.stage, r.status, r.created_at, r.stage_entered_at \
             FROM opportunities r WHERE r.deleted_at IS NULL AND r.pipeline_id = ",
        );
        q.arg(pipeline_id);
        visible(&mut q, actor, "r");
        q.push(" ORDER BY r.id");
        let deals = self
            .read(&q, |r| {
                Ok(DealRow {
                    id: r.get("id")?,
                    name: r.get("name")?,
                    owner_id: r.get("owner_id")?,
                    amount_minor: r.get("amount_minor")?,
                    currency: r.get("currency")?,
                    stage: r.get("stage")?,
                    status: StageOutcome::parse(&r.get::<String>("status")?).unwrap_or_default(),
                    created_at: r.get("created_at")?,
                    stage_entered_at: r.get("stage_entered_at")?,
                })
            })
            .await?;
        // What the model needs of each change, from the covering index; sorted here, which is
        // cheaper than asking the engine to sort a join of every deal's history.
        let mut q = Sql::new(
            "SELECT c.id, c.opportunity_id, c.pipeline_id, c.to_stage, c.outcome, c.at FROM opportunities r \
             JOIN opportunity_stage_changes c ON c.opportunity_id = r.id WHERE r.deleted_at IS NULL AND r.pipeline_id = ",
        );
        q.arg(pipeline_id);
        visible(&mut q, actor, "r");
        let mut history: HashMap<i64, Vec<(String, i64, StageChange)>> = HashMap::new();
        let rows = self
            .read(&q, |r| {
                let change = StageChange {
                    pipeline_id: r.get("pipeline_id")?,
                    from_stage: None,
                    to_stage: r.get("to_stage")?,
                    outcome: StageOutcome::parse(&r.get::<String>("outcome")?).unwrap_or_default(),
                    at: r.get("at")?,
                    actor_id: None,
                };
                Ok((r.get::<i64>("opportunity_id")?, r.get::<i64>("id")?, change))
            })
            .await?;
        for (deal, id, c) in rows {
            history.entry(deal).or_default().push((c.at.clone(), id, c));
        }
        let history = history
            .into_iter()
            .map(|(deal, mut changes)| {
                changes.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
                (deal, changes.into_iter().map(|(_, _, c)| c).collect())
            })
            .collect();
        let activity_times = self.opportunity_activity_times(actor, pipeline_id).await?;
        Ok(DealDataset { deals, history, activity_times })
    }

    /// When activities were logged on the opportunities of `pipeline_id`, for the model's
    /// activity counts: only activities and opportunities the actor may see.
    pub(crate) async fn opportunity_activity_times(&self, actor: &Actor, pipeline_id: i64) -> Result<HashMap<i64, Vec<String>>> {
        let mut q = Sql::new(
            "SELECT a.opportunity_id AS opportunity_id, a.created_at AS at FROM activities a JOIN opportunities r ON r.id = a.opportunity_id \
             WHERE a.deleted_at IS NULL AND r.deleted_at IS NULL AND r.pipeline_id = ",
        );
        q.arg(pipeline_id);
        visible(&mut q, actor, "r");
        visible(&mut q, actor, "a");
        let mut times: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, at) in self.read(&q, |r| Ok((r.get::<i64>("opportunity_id")?, r.get::<String>("at")?))).await? {
            times.entry(id).or_default().push(at);
        }
        Ok(times)
    }
}
