//! Teams: groups of users whose records a manager sees, and that sales reps may share with
//! each other (visibility `team`).

use rapport_domain::accounts::{Team, TeamChanges};
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::{ValidationErrors, now_rfc3339};
use serde_json::json;

use crate::row::Row;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx, audit, unique_violation};

fn from_row(r: &dyn Row, members: Vec<i64>) -> Result<Team> {
    Ok(Team {
        id: r.get("id")?,
        name: r.get("name")?,
        visibility: r.get("visibility")?,
        member_ids: members,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        version: r.get("version")?,
    })
}

const COLS: &str = "id, name, visibility, created_at, updated_at, version";

impl Store {
    async fn team_in(&self, tx: &mut WriteTx, id: i64) -> Result<Team> {
        let q = sql(&format!("SELECT {COLS} FROM teams WHERE id = ?"), [id.into()]);
        let mut team = tx.fetch_optional(&q, |r| from_row(r, vec![])).await?.ok_or(Error::NotFound)?;
        let q = sql("SELECT user_id FROM team_members WHERE team_id = ? ORDER BY user_id", [id.into()]);
        team.member_ids = tx.fetch_all(&q, |r| r.get("user_id")).await?;
        Ok(team)
    }

    /// Every team with its members.
    pub async fn list_teams(&self, actor: &Actor) -> Result<Vec<Team>> {
        require(actor, Object::Team, Action::Read)?;
        // Two reads outside a transaction: members are matched to the teams read first, so a
        // team made in between is simply not listed.
        let mut teams = self.read(&sql(&format!("SELECT {COLS} FROM teams ORDER BY name"), []), |r| from_row(r, vec![])).await?;
        let q = sql("SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id", []);
        for (team, user) in self.read(&q, |r| Ok((r.get::<i64>("team_id")?, r.get::<i64>("user_id")?))).await? {
            if let Some(t) = teams.iter_mut().find(|t| t.id == team) {
                t.member_ids.push(user);
            }
        }
        Ok(teams)
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
                tx.execute(&sql(
                    "UPDATE teams SET name = ?, visibility = ?, updated_at = ?, version = version + 1 WHERE id = ?",
                    [name.into(), visibility.into(), now.into(), b.id.into()],
                ))
                .await
                .map_err(conflict)?;
                b.id
            }
            None => tx
                .fetch_one(
                    &sql(
                        "INSERT INTO teams (name, visibility, created_at, updated_at, version) VALUES (?, ?, ?, ?, 1) RETURNING id",
                        [name.into(), visibility.into(), now.clone().into(), now.into()],
                    ),
                    |r| r.get::<i64>("id"),
                )
                .await
                .map_err(conflict)?,
        };
        if let Some(members) = input.member_ids {
            // Whoever leaves the team hands its open tickets back to the team queue.
            for gone in before.iter().flat_map(|b| b.member_ids.iter()).filter(|m| !members.contains(m)) {
                self.release_tickets(&mut tx, actor, *gone, Some(id)).await?;
            }
            tx.execute(&sql("DELETE FROM team_members WHERE team_id = ?", [id.into()])).await?;
            for m in members {
                if tx.fetch_optional(&sql("SELECT id FROM users WHERE id = ?", [m.into()]), |_| Ok(())).await?.is_none() {
                    return Err(Error::Invalid(ValidationErrors::single("member_ids", format!("there is no user with id {m}"))));
                }
                tx.execute(&sql("INSERT INTO team_members (team_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING", [id.into(), m.into()]))
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
        self.orphan_team_tickets(&mut tx, actor, id).await?;
        tx.execute(&sql("DELETE FROM team_members WHERE team_id = ?", [id.into()])).await?;
        tx.execute(&sql("DELETE FROM teams WHERE id = ?", [id.into()])).await?;
        self.audit(&mut tx, actor, "delete", "team", Some(id), json!({"before": before})).await?;
        tx.commit().await?;
        Ok(())
    }
}
