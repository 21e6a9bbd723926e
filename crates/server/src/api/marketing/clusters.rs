//! `/api/v1/cluster_names`: the names of the segmentation run's k-means clusters, read
//! from their centres by each run ("recent, frequent, high spend"), and renamed by people.

use axum::Json;
use axum::extract::State;
use rapport_domain::marketing::clusters::{ClusterName, RenameCluster};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, Path};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(rename))
}

/// Every named cluster, by number (what `scores.segment` and the `cluster` segment rule hold).
#[utoipa::path(get, path = "/api/v1/cluster_names", tag = "analytics", operation_id = "list_cluster_names", security(("bearer" = [])),
    responses((status = 200, body = Vec<ClusterName>)))]
async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<ClusterName>>, ApiError> {
    Ok(Json(state.store.cluster_names(&user.actor).await?))
}

/// Rename a cluster (marketers and admins); later runs keep the name. A cluster no run named
/// is 404.
#[utoipa::path(put, path = "/api/v1/cluster_names/{cluster}", tag = "analytics", operation_id = "rename_cluster",
    request_body = RenameCluster, params(("cluster" = i64, Path, description = "The cluster's number")), security(("bearer" = [])),
    responses((status = 200, body = ClusterName)))]
async fn rename(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(cluster): Path<i64>,
    AppJson(input): AppJson<RenameCluster>,
) -> Result<Json<ClusterName>, ApiError> {
    let name = input.validated().map_err(rapport_store::Error::Invalid)?;
    Ok(Json(state.store.rename_cluster(&user.actor, cluster, &name).await?))
}
