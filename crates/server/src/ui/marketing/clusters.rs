//! The names of k-means clusters in the UI: what the analytics page, a person's page and the
//! segment builder show instead of "segment 3", and the analytics page's rename form
//! (`POST /analytics/clusters/{cluster}`).

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use rapport_domain::marketing::clusters::{ClusterName, RenameCluster, shown};
use rapport_domain::permissions::{Action, Actor, Object};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::UiUser;

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/analytics/clusters/{cluster}", post(rename))
}

/// The clusters' names as a page shows them.
pub struct ClusterLabels {
    /// Every named cluster.
    pub names: Vec<ClusterName>,
    /// Whether the reader may rename them.
    pub may_rename: bool,
}

impl ClusterLabels {
    /// Cluster `n`'s name ("Segment n" when no run named it).
    pub fn name(&self, n: impl std::borrow::Borrow<i64>) -> String {
        shown(*n.borrow(), &self.names)
    }
}

/// The clusters' names for `actor`.
pub async fn cluster_labels(state: &AppState, actor: &Actor) -> Result<ClusterLabels, ApiError> {
    Ok(ClusterLabels { names: state.store.cluster_names(actor).await?, may_rename: actor.perms.allows(Object::Campaign, Action::Update) })
}

async fn rename(
    State(state): State<AppState>,
    user: UiUser,
    Path(cluster): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let input = RenameCluster { name: form.get("name").cloned().unwrap_or_default() };
    let name = input.validated().map_err(rapport_store::Error::Invalid)?;
    state.store.rename_cluster(user.actor(), cluster, &name).await?;
    Ok(Redirect::to("/analytics#clusters").into_response())
}
