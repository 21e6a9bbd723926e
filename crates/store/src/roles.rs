//! Roles: the six built-in ones (defined in the domain) and custom permission sets that admins
//! define. Users refer to roles by name.

use rapport_domain::accounts::{RoleDefinition, RoleInfo};
use rapport_domain::permissions::{Action, Actor, Object, Role, require};
use rapport_domain::{ValidationErrors, now_rfc3339};
use serde_json::json;

use crate::sql::sql;
use crate::{Error, Result, Store, unique_violation};

impl Store {
    /// Built-in roles, then custom ones.
    pub async fn list_roles(&self, actor: &Actor) -> Result<Vec<RoleInfo>> {
        require(actor, Object::RoleDef, Action::Read)?;
        let mut out: Vec<RoleInfo> = Role::ALL
            .iter()
            .map(|r| RoleInfo { name: r.as_str().into(), builtin: true, permissions: r.permissions(), version: 1 })
            .collect();
        let q = sql("SELECT name, permissions, version FROM roles ORDER BY name", []);
        let custom = self.read(&q, |r| {
            let permissions =
                serde_json::from_str(&r.get::<String>("permissions")?).map_err(|e| Error::Db(sqlx::Error::Decode(Box::new(e))))?;
            Ok(RoleInfo { name: r.get("name")?, builtin: false, permissions, version: r.get("version")? })
        });
        out.extend(custom.await?);
        Ok(out)
    }

    /// Creates or replaces a custom role (admins only). Changing a role changes what every
    /// user holding it may do, at their next request; it is audited with before and after.
    /// The answer's `version` is 1 when the role was created by this call.
    pub async fn save_role(&self, actor: &Actor, input: RoleDefinition) -> Result<RoleInfo> {
        require(actor, Object::RoleDef, Action::Create)?;
        let name = input.name.trim().to_string();
        let mut errs = ValidationErrors::default();
        if name.is_empty() || name.len() > 40 || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            errs.add("name", "use 1 to 40 lower-case letters, digits or _");
        }
        if Role::parse(&name).is_some() || name == "system" {
            errs.add("name", "built-in roles cannot be redefined: pick another name");
        }
        if let Err(e) = input.permissions.validate() {
            errs.0.extend(e.0);
        }
        errs.into_result(())?;
        let perms = serde_json::to_string(&input.permissions).unwrap_or_default();
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let q = sql("SELECT permissions FROM roles WHERE name = ?", [name.clone().into()]);
        let before: Option<String> = tx.fetch_optional(&q, |r| r.get("permissions")).await?;
        let version: i64 = tx.fetch_one(&sql(
            "INSERT INTO roles (name, permissions, created_at, updated_at, version) VALUES (?, ?, ?, ?, 1) \
             ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, updated_at = excluded.updated_at, version = roles.version + 1 \
             RETURNING version",
            [name.clone().into(), perms.clone().into(), now.clone().into(), now.into()],
        ), |r| r.get("version"))
        .await
        .map_err(|e| unique_violation(e, &[("roles_name_key", "roles.name", "name", "a role with this name already exists")]))?;
        let before: Option<serde_json::Value> = before.and_then(|b| serde_json::from_str(&b).ok());
        self.audit(&mut tx, actor, "permission_change", "role", None, json!({"role": name, "before": before, "after": input.permissions}))
            .await?;
        tx.commit().await?;
        self.sessions.clear();
        Ok(RoleInfo { name, builtin: false, permissions: input.permissions, version })
    }

    /// Deletes a custom role that no user holds (admins only); with `if_match`, only if the
    /// role is still at that version.
    pub async fn delete_role(&self, actor: &Actor, name: &str, if_match: Option<i64>) -> Result<()> {
        require(actor, Object::RoleDef, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let current: Option<i64> =
            tx.fetch_optional(&sql("SELECT version FROM roles WHERE name = ?", [name.into()]), |r| r.get("version")).await?;
        crate::records::check_version(if_match, current.ok_or(Error::NotFound)?)?;
        let held: i64 = tx.fetch_one(&sql("SELECT COUNT(*) AS n FROM users WHERE role = ?", [name.into()]), |r| r.get("n")).await?;
        if held > 0 {
            return Err(Error::Invalid(ValidationErrors::single(
                "name",
                format!("{held} user(s) still hold role '{name}': give them another role first"),
            )));
        }
        if tx.execute(&sql("DELETE FROM roles WHERE name = ?", [name.into()])).await? == 0 {
            return Err(Error::NotFound);
        }
        self.audit(&mut tx, actor, "permission_change", "role", None, json!({"role": name, "deleted": true})).await?;
        tx.commit().await?;
        self.sessions.clear();
        Ok(())
    }
}
