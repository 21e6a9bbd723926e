//! The names of k-means clusters (`cluster_names`): written by the segmentation run from the
//! clusters' centres, renamed by people. A run leaves renamed clusters as people named them and
//! forgets the names of clusters it no longer has, unless people named those.

use rapport_domain::marketing::clusters::ClusterName;
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use serde_json::json;

use crate::row::Row;
use crate::sql::sql;
use crate::{Error, Result, Store};

fn row(r: &dyn Row) -> Result<ClusterName> {
    Ok(ClusterName {
        cluster: r.get("cluster")?,
        name: r.get("name")?,
        renamed: r.get::<i64>("renamed")? != 0,
        updated_at: r.get("updated_at")?,
    })
}

impl Store {
    /// Every named cluster, by number.
    pub async fn cluster_names(&self, actor: &Actor) -> Result<Vec<ClusterName>> {
        require(actor, Object::Customer, Action::Read)?;
        self.read(&sql("SELECT cluster, name, renamed, updated_at FROM cluster_names ORDER BY cluster", []), row).await
    }

    /// Names clusters `0..names.len()` after a segmentation run of `starter` (who needs the
    /// `analytics: run` grant, as for its scores); clusters people renamed keep their names.
    pub async fn name_clusters(&self, starter: &Actor, names: &[String]) -> Result<()> {
        require(starter, Object::Analytics, Action::Run)?;
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        for (i, name) in names.iter().enumerate() {
            let q = sql(
                "INSERT INTO cluster_names (cluster, name, renamed, updated_at) VALUES (?, ?, 0, ?) \
                 ON CONFLICT (cluster) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at WHERE cluster_names.renamed = 0",
                [(i as i64).into(), name.clone().into(), now.clone().into()],
            );
            tx.execute(&q).await?;
        }
        tx.execute(&sql("DELETE FROM cluster_names WHERE cluster >= ? AND renamed = 0", [(names.len() as i64).into()])).await?;
        tx.commit().await
    }

    /// Renames a cluster a run named (marketers and admins; audited). A cluster no run named is
    /// "not found".
    pub async fn rename_cluster(&self, actor: &Actor, cluster: i64, name: &str) -> Result<ClusterName> {
        require(actor, Object::Campaign, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let q = sql("SELECT cluster, name, renamed, updated_at FROM cluster_names WHERE cluster = ?", [cluster.into()]);
        let before = tx.fetch_optional(&q, row).await?.ok_or(Error::NotFound)?;
        let now = now_rfc3339();
        let q = sql(
            "UPDATE cluster_names SET name = ?, renamed = 1, updated_at = ? WHERE cluster = ?",
            [name.into(), now.clone().into(), cluster.into()],
        );
        tx.execute(&q).await?;
        self.audit(&mut tx, actor, "update", "cluster_name", Some(cluster), json!({"name": [before.name, name]})).await?;
        tx.commit().await?;
        Ok(ClusterName { cluster, name: name.to_string(), renamed: true, updated_at: now })
    }
}
