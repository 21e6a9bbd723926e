//! What people call the k-means clusters of the segmentation run (issue 12 §1): each run names
//! its clusters from their centres (`rapport_analytics::cluster_names`); people may rename one,
//! and a renamed cluster keeps its name through later runs until renamed again.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ValidationErrors;

/// A cluster's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClusterName {
    /// The cluster's number (the `cluster` segment rule field, a person's `scores.segment`).
    pub cluster: i64,
    /// Its name.
    pub name: String,
    /// Whether a person gave the name (a run then leaves it).
    pub renamed: bool,
    /// When it was last named (RFC 3339 UTC).
    pub updated_at: String,
}

/// A new name for a cluster.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameCluster {
    /// The name, 1 to 100 characters.
    pub name: String,
}

impl RenameCluster {
    /// The trimmed name, or the field's error.
    pub fn validated(&self) -> Result<String, ValidationErrors> {
        let n = self.name.trim();
        if n.is_empty() {
            return Err(ValidationErrors::single("name", "cannot be empty"));
        }
        if n.chars().count() > 100 {
            return Err(ValidationErrors::single("name", "at most 100 characters"));
        }
        Ok(n.to_string())
    }
}

/// How a cluster reads where a name is wanted: its name, or "Segment N" when no run named it.
pub fn shown(cluster: i64, names: &[ClusterName]) -> String {
    names.iter().find(|c| c.cluster == cluster).map(|c| c.name.clone()).unwrap_or_else(|| format!("Segment {cluster}"))
}
