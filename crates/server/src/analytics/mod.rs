//! Analytics runs on the live data: the service the HTTP API, the web UI and the CLI call to
//! start an analysis (HTTP or CLI → here → store). A run is recorded (kind, parameters,
//! status, progress, summary), its purchases are loaded through the store, the computation
//! runs on a blocking thread ([`compute`]), and its scores are written back through the store.
//! The runs of one batch ([`run_batch`]: `rapport analyze all`, the demo) read the purchase
//! history once and share it; each still records its own run and result.
//!
//! Runs that write scores onto people ([`RunKind::writes_scores`]) are started only by roles
//! holding the `analytics: run` grant and compute over every record as the system, so a sales
//! rep cannot overwrite everyone's scores with results from their own subset; the runs that
//! only read compute over what their starter may see.
//!
//! Nothing here speaks HTTP. Starting a run fails with the store's [`rapport_store::Error`]
//! (refused, invalid parameters, database down), which each caller maps to its own answer;
//! a computation that fails ([`Error`]) is recorded on its run, not returned.

use rapport_domain::analytics::{AnalyticsRun, RunKind, RunParams};
use rapport_domain::permissions::{Actor, Visibility};
use rapport_store::{PurchaseHistory, Store};
use serde_json::{Value, json};
use std::sync::Arc;

mod compute;
pub use compute::{campaign_effect, compute, recommend};

/// Why a computation failed; its text becomes the run's `error`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Loading the input or writing the scores failed.
    #[error(transparent)]
    Store(#[from] rapport_store::Error),
    /// The algorithm refused the data (too little of it, a degenerate model…).
    #[error(transparent)]
    Analytics(#[from] rapport_analytics::Error),
    /// The data cannot answer the question; the message says what is missing.
    #[error("{0}")]
    Data(String),
    /// The blocking computation panicked or was cancelled.
    #[error("the computation stopped unexpectedly: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Records a run and computes it in the background; returns at once with the run (status
/// `running`), whose status and summary to read with [`Store::get_run`].
#[tracing::instrument(skip_all, fields(kind = %kind))]
pub async fn start(store: &Store, actor: &Actor, kind: RunKind, params: RunParams) -> rapport_store::Result<AnalyticsRun> {
    let run = store.start_run(actor, kind, &params).await?;
    let (store, actor, id) = (store.clone(), actor.clone(), run.id);
    tokio::spawn(async move {
        if let Err(e) = finish(&store, &actor, id, kind, &params, &mut Histories::default()).await {
            tracing::error!(run = id, error = %e, "could not record the end of an analytics run");
        }
    });
    Ok(run)
}

/// Runs an analysis to the end before returning.
#[tracing::instrument(skip_all, fields(kind = %kind))]
pub async fn run_now(store: &Store, actor: &Actor, kind: RunKind, params: &RunParams) -> rapport_store::Result<AnalyticsRun> {
    Ok(run_batch(store, actor, &[kind], params).await?.remove(0))
}

/// Runs analyses one after another, each to the end, reading the purchase history once for all
/// of them (once per distinct reader: a score run reads everything, a read-only run what its
/// starter may see, which is the same history when they may see everything). Each run is
/// recorded and finishes on its own, as if started alone; the first that cannot be recorded
/// (refused, invalid parameters) stops the batch. The CLI and the demo use this.
pub async fn run_batch(store: &Store, actor: &Actor, kinds: &[RunKind], params: &RunParams) -> rapport_store::Result<Vec<AnalyticsRun>> {
    let mut shared = Histories::default();
    let mut runs = Vec::with_capacity(kinds.len());
    for &kind in kinds {
        let started = std::time::Instant::now();
        let run = store.start_run(actor, kind, params).await?;
        finish(store, actor, run.id, kind, params, &mut shared).await?;
        tracing::info!(%kind, secs = started.elapsed().as_secs_f64(), "analytics run done");
        runs.push(store.get_run(actor, run.id).await?);
    }
    Ok(runs)
}

/// The purchase histories a batch has read, by reader.
#[derive(Default)]
struct Histories {
    /// Read by someone who sees every record (the system, or a role seeing all).
    everything: Option<Arc<PurchaseHistory>>,
    /// Read by a starter who sees only some records.
    visible: Option<Arc<PurchaseHistory>>,
}

impl Histories {
    async fn get(&mut self, store: &Store, reader: &Actor) -> Result<Arc<PurchaseHistory>, Error> {
        let all = reader.user_id.is_none() || reader.visibility() == Visibility::All;
        let slot = if all { &mut self.everything } else { &mut self.visible };
        if let Some(h) = slot {
            return Ok(h.clone());
        }
        let h = Arc::new(store.purchase_history(reader).await?);
        *slot = Some(h.clone());
        Ok(h)
    }
}

/// Computes a recorded run and records how it ended.
async fn finish(
    store: &Store,
    actor: &Actor,
    id: i64,
    kind: RunKind,
    params: &RunParams,
    shared: &mut Histories,
) -> rapport_store::Result<()> {
    let outcome = execute(store, actor, id, kind, params, shared).await.map_err(|e| e.to_string());
    store.finish_run(id, outcome).await
}

/// Loads the purchases (unless the batch has them), computes off the async threads, writes the
/// scores back. A score run reads every record as the system, whoever started it (the store
/// checked their `analytics: run` grant when the run was recorded, and checks it again before
/// writing): scores written onto everyone must not depend on who pressed the button. A run that
/// only reads covers the purchases its starter may see.
async fn execute(
    store: &Store,
    actor: &Actor,
    run: i64,
    kind: RunKind,
    params: &RunParams,
    shared: &mut Histories,
) -> Result<Value, Error> {
    let reader = if kind.writes_scores() { Actor { request_id: actor.request_id.clone(), ..Actor::system() } } else { actor.clone() };
    store.run_progress(run, "loading purchases").await?;
    let history = shared.get(store, &reader).await?;
    let campaigns = if kind == RunKind::CampaignEffect { store.all_campaigns(&reader).await? } else { vec![] };
    store.run_progress(run, &format!("computing over {} purchase lines", history.len())).await?;
    let params = params.clone();
    let (scores, summary) = tokio::task::spawn_blocking(move || compute(kind, &history, &campaigns, &params)).await??;
    let written = if kind.writes_scores() {
        store.run_progress(run, &format!("writing {} scores", scores.len())).await?;
        let n = store.write_scores(actor, run, &scores).await?;
        if let Some(names) = summary["names"].as_array() {
            let names: Vec<String> = names.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
            store.name_clusters(actor, &names).await?;
        }
        n
    } else {
        0
    };
    Ok(json!({"people_scored": written, "purchases": summary["purchases"], "summary": summary}))
}
