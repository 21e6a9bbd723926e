//! Teams: groups of users whose records a manager sees, and that sales reps may share with
//! each other (visibility `team`).

use rapport_domain::accounts::{Team, TeamChanges};
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::{ValidationErrors, now_rfc3339};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::sql::sql;
use crate::{Error, Result, Store, audit, unique_violation};

fn from_row(r: &AnyRow, members: Vec<i64>) -> sqlx::Result<Team> {
    Ok(Team {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        visibility: r.try_get("visibility")?,
        member_ids: members,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

const COLS: &str = "id, name, visibility, created_at, updated_at, version";

impl Store {
    async fn team_in(&self, tx: &mut Transaction<'static, Any>, id: i64) -> Result<Team> {
        let row =
            sql(&format!("SELECT {COLS} FROM teams WHERE id = ?"), [id.into()]).fetch_optional(&mut **tx).await?.ok_or(Error::NotFound)?;
        let members = sql("SELECT user_id FROM team_members WHERE team_id = ? ORDER BY user_id", [id.into()]).fetch_all(&mut **tx).await?;
        Ok(from_row(&row, members.iter().map(|m| m.try_get("user_id")).collect::<sqlx::Result<_>>()?)?)
    }

    /// Every team with its members.
    pub async fn list_teams(&self, actor: &Actor) -> Result<Vec<Team>> {
        require(actor, Object::Team, Action::Read)?;
        let mut tx = self.pool.begin().await?;
        let ids = sql("SELECT id FROM teams ORDER BY name", []).fetch_all(&mut *tx).await?;
        let mut out = vec![];
        for r in ids {
            out.push(self.team_in(&mut tx, r.try_get("id")?).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Creates (`id` None) or changes a team (admins only); membership changes are audited,
    /// since they change who sees which records.
    pub async fn save_team(&self, actor: &Actor, id: Option<i64>, if_match: Option<i64>, input: TeamChanges) -> Result<Team> {
        require(actor, Object::Team, if id.is_some() { Action::Update } else { Action::Create })?;
        let mut errs = ValidationErrors::default();
        if let Some(n) = &input.name {
            if n.trim().is_empty() || n.trim().chars().count() > 100 {
                errs.add("name", "must have 1 to 100 characters");
            }
        } else if id.is_none() {
            errs.add("name", "is required");
        }
        if let Some(v) = &input.visibility
            && v != "private"
            && v != "team"
        {
            errs.add("visibility", "use private or team");
        }
        errs.into_result(())?;
        let mut tx = self.write_tx().await?;
        let before = match id {
            Some(id) => Some(self.team_in(&mut tx, id).await?),
            None => None,
        };
        if let (Some(b), Some(v)) = (&before, if_match) {
            crate::records::check_version(Some(v), b.version)?;
        }
        let now = now_rfc3339();
        let name = input.name.map(|n| n.trim().to_string()).or(before.as_ref().map(|b| b.name.clone())).unwrap_or_default();
        let visibility = input.visibility.or(before.as_ref().map(|b| b.visibility.clone())).unwrap_or_else(|| "private".into());
        let conflict = |e| unique_violation(e, &[("teams_name_key", "teams.name", "name", "a team with this name already exists")]);
        let id = match &before {
            Some(b) => {
                sql(
                    "UPDATE teams SET name = ?, visibility = ?, updated_at = ?, version = version + 1 WHERE id = ?",
                    [name.into(), visibility.into(), now.into(), b.id.into()],
                )
                .execute(&mut **tx)
                .await
                .map_err(conflict)?;
                b.id
            }
            None => sql(
                "INSERT INTO teams (name, visibility, created_at, updated_at, version) VALUES (?, ?, ?, ?, 1) RETURNING id",
                [name.into(), visibility.into(), now.clone().into(), now.into()],
            )
            .fetch_one(&mut **tx)
            .await
            .map_err(conflict)?
            .try_get("id")?,
        };
        if let Some(members) = input.member_ids {
            sql("DELETE FROM team_members WHERE team_id = ?", [id.into()]).execute(&mut **tx).await?;
            for m in members {
                if sql("SELECT id FROM users WHERE id = ?", [m.into()]).fetch_optional(&mut **tx).await?.is_none() {
                    return Err(Error::Invalid(ValidationErrors::single("member_ids", format!("there is no user with id {m}"))));
                }
                sql("INSERT INTO team_members (team_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING", [id.into(), m.into()])
                    .execute(&mut **tx)
                    .await?;
            }
        }
        let after = self.team_in(&mut tx, id).await?;
        let diff = match &before {
            Some(b) => audit::diff(b, &after),
            None => json!({"after": &after}),
        };
        self.audit(&mut tx, actor, if before.is_some() { "update" } else { "create" }, "team", Some(id), diff).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a team (admins only); its members keep their records. With `if_match`, a team
    /// changed since that version is kept.
    pub async fn delete_team(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        require(actor, Object::Team, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let before = self.team_in(&mut tx, id).await?;
        crate::records::check_version(if_match, before.version)?;
        sql("DELETE FROM team_members WHERE team_id = ?", [id.into()]).execute(&mut **tx).await?;
        sql("DELETE FROM teams WHERE id = ?", [id.into()]).execute(&mut **tx).await?;
        self.audit(&mut tx, actor, "delete", "team", Some(id), json!({"before": before})).await?;
        tx.commit().await?;
        Ok(())
    }
}
