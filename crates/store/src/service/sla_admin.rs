//! Working calendars and SLA policies: admins (whoever may change settings) keep them; everyone
//! who reads tickets may read them, since they explain the due times tickets show.

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::service::calendar::CalendarInput;
use rapport_domain::service::sla_policy::{SlaPolicy, SlaPolicyData, SlaPolicyInput};
use rapport_domain::service::ticket::{Channel, Priority};
use rapport_domain::service::work_calendar::{WorkCalendar, WorkCalendarInput};
use rapport_domain::{ValidationErrors, now_rfc3339};
use serde_json::json;

use crate::records::{check_team, check_version};
use crate::row::Row;
use crate::sql::{Arg, sql};
use crate::{Error, Result, Store, WriteTx, audit, unique_violation};

const CALENDAR_COLS: &str = "id, name, team_id, is_default, time_zone, week, holidays, created_at, updated_at, version";
const POLICY_COLS: &str = "id, name, position, priority, category, channel, company_id, first_response_minutes, \
     next_response_minutes, resolution_minutes, near_breach_percent, created_at, updated_at, version";

pub(crate) fn calendar_row(r: &dyn Row) -> Result<WorkCalendar> {
    let json = |col: &str| -> Result<String> { r.get(col) };
    Ok(WorkCalendar {
        id: r.get("id")?,
        name: r.get("name")?,
        team_id: r.get("team_id")?,
        is_default: r.get::<i64>("is_default")? != 0,
        hours: CalendarInput {
            time_zone: r.get("time_zone")?,
            week: serde_json::from_str(&json("week")?).unwrap_or_default(),
            holidays: serde_json::from_str(&json("holidays")?).unwrap_or_default(),
        },
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        version: r.get("version")?,
    })
}

pub(crate) fn policy_row(r: &dyn Row) -> Result<SlaPolicy> {
    // Stored names were checked when written.
    let priority: Option<Priority> = r.get::<Option<String>>("priority")?.and_then(|p| serde_json::from_value(p.into()).ok());
    let channel: Option<Channel> = r.get::<Option<String>>("channel")?.and_then(|c| serde_json::from_value(c.into()).ok());
    Ok(SlaPolicy {
        id: r.get("id")?,
        data: SlaPolicyData {
            name: r.get("name")?,
            position: r.get("position")?,
            priority,
            category: r.get("category")?,
            channel,
            company_id: r.get("company_id")?,
            first_response_minutes: r.get("first_response_minutes")?,
            next_response_minutes: r.get("next_response_minutes")?,
            resolution_minutes: r.get("resolution_minutes")?,
            near_breach_percent: r.get("near_breach_percent")?,
        },
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        version: r.get("version")?,
    })
}

fn manage(actor: &Actor) -> Result<()> {
    require(actor, Object::Setting, Action::Update)?;
    Ok(())
}

impl Store {
    /// Every calendar, by name.
    pub async fn list_calendars(&self, actor: &Actor) -> Result<Vec<WorkCalendar>> {
        require(actor, Object::Ticket, Action::Read)?;
        self.read(&sql(&format!("SELECT {CALENDAR_COLS} FROM calendars ORDER BY name, id"), []), calendar_row).await
    }

    /// One calendar.
    pub async fn get_calendar(&self, actor: &Actor, id: i64) -> Result<WorkCalendar> {
        require(actor, Object::Ticket, Action::Read)?;
        let q = sql(&format!("SELECT {CALENDAR_COLS} FROM calendars WHERE id = ?"), [id.into()]);
        self.read_optional(&q, calendar_row).await?.ok_or(Error::NotFound)
    }

    async fn calendar_in(tx: &mut WriteTx, id: i64) -> Result<WorkCalendar> {
        let q = sql(&format!("SELECT {CALENDAR_COLS} FROM calendars WHERE id = ?"), [id.into()]);
        tx.fetch_optional(&q, calendar_row).await?.ok_or(Error::NotFound)
    }

    /// Creates (`id` None) or changes a calendar, audited. A team has at most one calendar and
    /// there is at most one default.
    pub async fn save_calendar(
        &self,
        actor: &Actor,
        id: Option<i64>,
        if_match: Option<i64>,
        input: WorkCalendarInput,
    ) -> Result<WorkCalendar> {
        manage(actor)?;
        let mut tx = self.write_tx().await?;
        let before = match id {
            Some(id) => Some(Self::calendar_in(&mut tx, id).await?),
            None => None,
        };
        if let Some(b) = &before {
            check_version(if_match, b.version)?;
        }
        let c = input.apply(before.as_ref())?;
        if c.team_id != before.as_ref().and_then(|b| b.team_id) {
            check_team(&mut tx, c.team_id).await?;
        }
        let now = now_rfc3339();
        let conflict = |e| {
            unique_violation(
                e,
                &[
                    ("calendars_name_key", "calendars.name", "name", "a calendar with this name already exists"),
                    ("calendars_team_key", "calendars.team_id", "team_id", "this team has a calendar already"),
                    ("calendars_default_key", "calendars.is_default", "is_default", "another calendar is the default already"),
                ],
            )
        };
        let (week, holidays) = (json!(c.hours.week).to_string(), json!(c.hours.holidays).to_string());
        let args: [Arg; 7] = [
            c.name.into(),
            c.team_id.into(),
            i64::from(c.is_default).into(),
            c.hours.time_zone.into(),
            week.into(),
            holidays.into(),
            now.clone().into(),
        ];
        let id = match &before {
            Some(b) => {
                let q = sql(
                    "UPDATE calendars SET name = ?, team_id = ?, is_default = ?, time_zone = ?, week = ?, holidays = ?, updated_at = ?, \
                     version = version + 1 WHERE id = ?",
                    args.into_iter().chain([b.id.into()]),
                );
                tx.execute(&q).await.map_err(conflict)?;
                b.id
            }
            None => {
                let q = sql(
                    "INSERT INTO calendars (name, team_id, is_default, time_zone, week, holidays, updated_at, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    args.into_iter().chain([now.into()]),
                );
                tx.fetch_one(&q, |r| r.get::<i64>("id")).await.map_err(conflict)?
            }
        };
        let after = Self::calendar_in(&mut tx, id).await?;
        let diff = match &before {
            Some(b) => audit::diff(b, &after),
            None => json!({"after": &after}),
        };
        self.audit(&mut tx, actor, if before.is_some() { "update" } else { "create" }, "calendar", Some(id), diff).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a calendar (its team falls back to the default), audited.
    pub async fn delete_calendar(&self, actor: &Actor, id: i64) -> Result<()> {
        manage(actor)?;
        let mut tx = self.write_tx().await?;
        let before = Self::calendar_in(&mut tx, id).await?;
        tx.execute(&sql("DELETE FROM calendars WHERE id = ?", [id.into()])).await?;
        self.audit(&mut tx, actor, "delete", "calendar", Some(id), json!({"before": before})).await?;
        tx.commit().await
    }

    /// Every policy in the order they are tried.
    pub async fn list_sla_policies(&self, actor: &Actor) -> Result<Vec<SlaPolicy>> {
        require(actor, Object::Ticket, Action::Read)?;
        self.all_sla_policies().await
    }

    pub(crate) async fn all_sla_policies(&self) -> Result<Vec<SlaPolicy>> {
        self.read(&sql(&format!("SELECT {POLICY_COLS} FROM sla_policies ORDER BY position, id"), []), policy_row).await
    }

    /// One policy.
    pub async fn get_sla_policy(&self, actor: &Actor, id: i64) -> Result<SlaPolicy> {
        require(actor, Object::Ticket, Action::Read)?;
        let q = sql(&format!("SELECT {POLICY_COLS} FROM sla_policies WHERE id = ?"), [id.into()]);
        self.read_optional(&q, policy_row).await?.ok_or(Error::NotFound)
    }

    async fn policy_in(tx: &mut WriteTx, id: i64) -> Result<SlaPolicy> {
        let q = sql(&format!("SELECT {POLICY_COLS} FROM sla_policies WHERE id = ?"), [id.into()]);
        tx.fetch_optional(&q, policy_row).await?.ok_or(Error::NotFound)
    }

    /// Creates (`id` None) or changes a policy, audited; a new one without a position goes
    /// after the last.
    pub async fn save_sla_policy(&self, actor: &Actor, id: Option<i64>, if_match: Option<i64>, input: SlaPolicyInput) -> Result<SlaPolicy> {
        manage(actor)?;
        let mut tx = self.write_tx().await?;
        let before = match id {
            Some(id) => Some(Self::policy_in(&mut tx, id).await?),
            None => None,
        };
        if let Some(b) = &before {
            check_version(if_match, b.version)?;
        }
        let q = sql("SELECT COALESCE(MAX(position), -1) + 1 AS next FROM sla_policies", []);
        let next = tx.fetch_one(&q, |r| r.get::<i64>("next")).await?;
        let p = input.apply(before.as_ref().map(|b| &b.data), next)?;
        if let Some(c) = p.company_id
            && p.company_id != before.as_ref().and_then(|b| b.data.company_id)
        {
            let q = sql("SELECT id FROM companies WHERE id = ? AND deleted_at IS NULL", [c.into()]);
            if tx.fetch_optional(&q, |_| Ok(())).await?.is_none() {
                return Err(Error::Invalid(ValidationErrors::single("company_id", format!("there is no company with id {c}"))));
            }
        }
        let now = now_rfc3339();
        let conflict =
            |e| unique_violation(e, &[("sla_policies_name_key", "sla_policies.name", "name", "a policy with this name already exists")]);
        let args: [Arg; 11] = [
            p.name.into(),
            p.position.into(),
            p.priority.map(|x| x.as_str().to_string()).into(),
            p.category.into(),
            p.channel.map(|x| x.as_str().to_string()).into(),
            p.company_id.into(),
            p.first_response_minutes.into(),
            p.next_response_minutes.into(),
            p.resolution_minutes.into(),
            p.near_breach_percent.into(),
            now.clone().into(),
        ];
        let id = match &before {
            Some(b) => {
                let q = sql(
                    "UPDATE sla_policies SET name = ?, position = ?, priority = ?, category = ?, channel = ?, company_id = ?, \
                     first_response_minutes = ?, next_response_minutes = ?, resolution_minutes = ?, near_breach_percent = ?, \
                     updated_at = ?, version = version + 1 WHERE id = ?",
                    args.into_iter().chain([b.id.into()]),
                );
                tx.execute(&q).await.map_err(conflict)?;
                b.id
            }
            None => {
                let q = sql(
                    "INSERT INTO sla_policies (name, position, priority, category, channel, company_id, first_response_minutes, \
                     next_response_minutes, resolution_minutes, near_breach_percent, updated_at, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    args.into_iter().chain([now.into()]),
                );
                tx.fetch_one(&q, |r| r.get::<i64>("id")).await.map_err(conflict)?
            }
        };
        let after = Self::policy_in(&mut tx, id).await?;
        let diff = match &before {
            Some(b) => audit::diff(b, &after),
            None => json!({"after": &after}),
        };
        self.audit(&mut tx, actor, if before.is_some() { "update" } else { "create" }, "sla_policy", Some(id), diff).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a policy, audited (flagged events of its tickets stay).
    pub async fn delete_sla_policy(&self, actor: &Actor, id: i64) -> Result<()> {
        manage(actor)?;
        let mut tx = self.write_tx().await?;
        let before = Self::policy_in(&mut tx, id).await?;
        tx.execute(&sql("DELETE FROM sla_policies WHERE id = ?", [id.into()])).await?;
        self.audit(&mut tx, actor, "delete", "sla_policy", Some(id), json!({"before": before})).await?;
        tx.commit().await
    }
}
