//! Who sees and works which tickets: the team-scoped reach of tickets, automatic assignment by
//! each team's rule, bulk assignment, the queue filters and counts, the away flag, and tickets
//! returning to the team queue when their agent leaves the team or is deactivated.
//!
//! Automatic assignment reads the team's turn and its agents' loads after locking the team's
//! row and then its agents' user rows (`FOR UPDATE` / `FOR NO KEY UPDATE` on PostgreSQL; SQLite
//! has one writer) in the transaction that assigns, so several servers on one database hand out
//! turns one after another and never exceed a cap together, even for an agent in two teams
//! whose tickets are assigned at once (the team locks alone would not serialize those). Locks
//! are always taken in one order: teams by id, then users by id, then tickets by id.

use rapport_domain::ValidationErrors;
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, Permissions, Role, Visibility, require};
use rapport_domain::query::{CompareOp, FieldFilter, ListParams};
use rapport_domain::service::assignment::{
    AgentLoad, Assignee, AssignmentMode, BulkAssign, QueueFilter, TeamAssignment, TeamAssignmentInput, pick,
};
use rapport_domain::service::ticket::{SPEC, Ticket, TicketData, TicketInput};
use rapport_domain::service::workflow::TicketState;
use serde_json::{Value, json};

use crate::records::engine::Table;
use crate::records::visible;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx};

/// The states whose tickets count against an agent's cap and return to the queue when the agent
/// goes: every open one.
fn open_states() -> String {
    TicketState::NAMES
        .iter()
        .filter(|s| TicketState::parse(s).is_some_and(|t| t.is_open()))
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Appends the actor's reach of tickets aliased `a`. Tickets belong to teams rather than to
/// their assignee, so a role reaching its team's records (managers, and support agents, whose
/// ticket visibility [`Role::narrowed`] narrows) reaches the tickets of the teams it belongs to,
/// those assigned to it, and those in no team's queue and no one's hands (the general inbox the
/// public form fills). Roles that see their own records keep the owner rule of every record.
///
/// Like [`visible`], the rule is checked on each row a query reads, so a page is read in its
/// sort's index order; filters on the team or the assignee pick their indexes.
pub(crate) fn reach(q: &mut Sql, actor: &Actor, a: &str) {
    let Some(me) = actor.user_id else { return };
    match actor.visibility_of(Object::Ticket) {
        Visibility::All => {}
        Visibility::Own => visible(q, actor, a),
        Visibility::Team => {
            q.push(&format!(" AND (+{a}.owner_id = ")).arg(me);
            q.push(&format!(" OR +{a}.team_id IN (SELECT tm.team_id FROM team_members tm WHERE tm.user_id = ")).arg(me);
            q.push(&format!(") OR ({a}.team_id IS NULL AND {a}.owner_id IS NULL))"));
        }
    }
}

/// [`reach`] for counts: a count reads every reachable ticket, so a team-scoped reach is counted
/// in three disjoint branches whose counts add up (mine; my teams' held by others or nobody; the
/// general inbox), each read through the assignee and queue indexes, instead of checking every
/// ticket against the whole reach.
fn reach_for_counts(actor: &Actor) -> &'static [fn(&mut Sql, &Actor, &str)] {
    if actor.user_id.is_some() && actor.visibility_of(Object::Ticket) == Visibility::Team {
        &[mine, my_teams_not_mine, inbox]
    } else {
        &[reach]
    }
}

fn mine(q: &mut Sql, actor: &Actor, a: &str) {
    q.push(&format!(" AND {a}.owner_id = ")).arg(actor.user_id);
}

fn my_teams_not_mine(q: &mut Sql, actor: &Actor, a: &str) {
    q.push(&format!(" AND {a}.team_id IN (SELECT tm.team_id FROM team_members tm WHERE tm.user_id = ")).arg(actor.user_id);
    q.push(&format!(") AND ({a}.owner_id IS NULL OR {a}.owner_id <> ")).arg(actor.user_id).push(")");
}

fn inbox(q: &mut Sql, _: &Actor, a: &str) {
    q.push(&format!(" AND {a}.team_id IS NULL AND {a}.owner_id IS NULL"));
}

fn field(name: &str) -> &'static rapport_domain::record::Field {
    SPEC.param(name).unwrap_or_else(|| panic!("tickets have a field {name}"))
}

/// How a refused assignment of one ticket reads in a bulk answer.
fn reason(e: &Error) -> String {
    match e {
        Error::NotFound => "there is no such ticket that you can see".into(),
        e => e.to_string(),
    }
}

impl Store {
    /// The team ids `user` belongs to.
    async fn team_ids_of(&self, user: i64) -> Result<Vec<i64>> {
        self.read(&sql("SELECT team_id FROM team_members WHERE user_id = ? ORDER BY team_id", [user.into()]), |r| r.get("team_id")).await
    }

    /// `p` narrowed by the queue filters: an assignee (or none), the reader's teams.
    pub async fn queue_params(&self, actor: &Actor, f: QueueFilter, mut p: ListParams) -> Result<ListParams> {
        let eq = |name, value| FieldFilter { field: field(name), op: CompareOp::Eq, value };
        match f.assignee {
            Some(Assignee::User(u)) => p.filters.push(eq("owner_id", u.into())),
            Some(Assignee::Nobody) => p.filters.push(eq("owner_id", Value::Null)),
            Some(Assignee::Auto) | None => {}
        }
        if f.my_teams {
            let teams = match actor.user_id {
                Some(me) => self.team_ids_of(me).await?,
                None => vec![],
            };
            p.filters.push(eq("team_id", json!(teams)));
        }
        Ok(p)
    }

    /// How many tickets match `p` per status, as the actor reaches them (every status named,
    /// zeros included), with their total.
    pub async fn ticket_counts(&self, actor: &Actor, p: &ListParams) -> Result<(Vec<(String, i64)>, i64)> {
        require(actor, Object::Ticket, Action::Read)?;
        let found = self.count_rows_by(actor, &SPEC, reach_for_counts(actor), p, "status").await?;
        let counts: Vec<(String, i64)> =
            TicketState::NAMES.iter().map(|s| (s.to_string(), found.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n))).collect();
        let total = counts.iter().map(|(_, n)| n).sum();
        Ok((counts, total))
    }

    /// The engine's plans of the ticket list `p` and of its counts as `actor` would get them (see
    /// [`Store::explain_customer_list`]), for the tests that keep queues on their indexes.
    pub async fn explain_ticket_queue(&self, actor: &Actor, p: &ListParams, as_if_large: bool) -> Result<(String, String)> {
        let list = self.list_sql(actor, &SPEC, Ticket::extra_cols, Ticket::reach, p).await?;
        let counts = self.count_sql(actor, &SPEC, reach_for_counts(actor), p, "status")?;
        Ok((self.explain(&list, as_if_large).await?, self.explain(&counts, as_if_large).await?))
    }

    /// The members of `team` as assignment sees them, by user id.
    async fn agents_in(&self, tx: &mut WriteTx, team: i64) -> Result<Vec<AgentLoad>> {
        let q = sql(
            &format!(
                "SELECT u.id AS id, u.name AS name, u.role AS role, u.is_active AS active, u.away AS away, \
                 (SELECT COUNT(*) FROM tickets t WHERE t.owner_id = u.id AND t.status IN ({}) AND t.deleted_at IS NULL) AS open \
                 FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = ? ORDER BY u.id",
                open_states()
            ),
            [team.into()],
        );
        let rows = tx
            .fetch_all(&q, |r| {
                Ok((
                    r.get::<i64>("id")?,
                    r.get::<String>("name")?,
                    r.get::<String>("role")?,
                    r.get::<i64>("active")?,
                    r.get::<i64>("away")?,
                    r.get::<i64>("open")?,
                ))
            })
            .await?;
        let mut agents = Vec::with_capacity(rows.len());
        for (user_id, name, role, active, away, open) in rows {
            // Support agents work tickets; a custom role does when it may change them. Admins
            // and managers lead and are given tickets by hand.
            let agent = match Role::parse(&role) {
                Some(r) => r == Role::SupportAgent,
                None => {
                    let perms = tx
                        .fetch_optional(&sql("SELECT permissions FROM roles WHERE name = ?", [role.into()]), |r| {
                            r.get::<String>("permissions")
                        })
                        .await?;
                    perms
                        .and_then(|p| serde_json::from_str::<Permissions>(&p).ok())
                        .is_some_and(|p| p.allows(Object::Ticket, Action::Update))
                }
            };
            agents.push(AgentLoad { user_id, name, agent, away: away != 0, active: active != 0, open });
        }
        Ok(agents)
    }

    /// The agent `team`'s rule gives its next ticket to (none: the team assigns by hand or no
    /// agent is available), taking the turn: the team's row stays locked until `tx` ends.
    async fn take_turn(&self, tx: &mut WriteTx, team: i64) -> Result<(AssignmentMode, Option<i64>)> {
        let lock = self.backend.lock_rows();
        let q = sql(&format!("SELECT assignment_mode, max_open_per_agent, last_assigned_id FROM teams WHERE id = ?{lock}"), [team.into()]);
        let Some((mode, cap, last)) = tx
            .fetch_optional(&q, |r| {
                Ok((
                    r.get::<String>("assignment_mode")?,
                    r.get::<Option<i64>>("max_open_per_agent")?,
                    r.get::<Option<i64>>("last_assigned_id")?,
                ))
            })
            .await?
        else {
            return Err(Error::Invalid(ValidationErrors::single("team_id", format!("there is no team with id {team}"))));
        };
        let mode = AssignmentMode::parse(&mode).unwrap_or_default();
        if mode == AssignmentMode::Manual {
            return Ok((mode, None));
        }
        // The agents' loads count their open tickets in every team: another team's assignment
        // giving one of them a ticket right now must finish first, or both would see the same
        // load and push the agent over the cap together.
        let lock = self.backend.lock_rows_no_key();
        if !lock.is_empty() {
            let agents = sql(
                &format!("SELECT id FROM users WHERE id IN (SELECT user_id FROM team_members WHERE team_id = ?) ORDER BY id{lock}"),
                [team.into()],
            );
            tx.fetch_all(&agents, |r| r.get::<i64>("id")).await?;
        }
        let chosen = pick(mode, &self.agents_in(tx, team).await?, cap, last);
        if let Some(u) = chosen {
            tx.execute(&sql("UPDATE teams SET last_assigned_id = ? WHERE id = ?", [u.into(), team.into()])).await?;
        }
        Ok((mode, chosen))
    }

    /// Opens a ticket from what a client sent: `new` in the team queue, or `assigned` when it
    /// names an assignee (one the actor may give records to) or arrives unassigned in a team that
    /// assigns automatically and has an agent available. The person, company and team must be
    /// ones the actor can see.
    pub async fn create_ticket(&self, actor: &Actor, input: TicketInput) -> Result<Ticket> {
        require(actor, Object::Ticket, Action::Create)?;
        let now = now_rfc3339();
        let data = input.apply(None, &now)?;
        let mut tx = self.write_tx().await?;
        let data = self.auto_assigned(&mut tx, data, &now).await?;
        let id = self.create_record_in::<Ticket>(&mut tx, actor, &data).await?;
        let created = self.as_seen::<Ticket>(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// A new ticket as its team's rule assigns it: unchanged when it has an assignee, no team,
    /// or no agent available.
    pub(crate) async fn auto_assigned(&self, tx: &mut WriteTx, data: TicketData, now: &str) -> Result<TicketData> {
        let (None, Some(team)) = (data.owner_id, data.team_id) else { return Ok(data) };
        match self.take_turn(tx, team).await? {
            (_, Some(agent)) => Ok(TicketInput { owner_id: Some(Some(agent)), ..TicketInput::default() }.apply(Some(&data), now)?),
            (_, None) => Ok(data),
        }
    }

    /// Assigns every ticket of `b` (to a user, back to the queue, or by each ticket's team rule)
    /// in one transaction: all of them, or none with the reason of each one refused, by its
    /// position (`ids[2]`). Each change is authorized, checked and audited as an edit is.
    pub async fn bulk_assign(&self, actor: &Actor, b: &BulkAssign) -> Result<Vec<Ticket>> {
        require(actor, Object::Ticket, Action::Update)?;
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let mut errs = ValidationErrors::default();
        // Locks are taken in one order whatever the order of `ids`, so two bulk calls on
        // overlapping tickets queue behind each other instead of deadlocking on PostgreSQL: first
        // every team whose turn may be taken, by id, then all their agents by id (each turn
        // would otherwise lock its team's agents in between, out of the global order), then the
        // tickets by id.
        if b.assignee == Assignee::Auto {
            let (rows, agents) = (self.backend.lock_rows(), self.backend.lock_rows_no_key());
            let teams = "SELECT id FROM teams WHERE id IN (SELECT team_id FROM tickets WHERE id IN (";
            self.lock_rows_of(&mut tx, teams, "))", rows, &b.ids).await?;
            let users = "SELECT id FROM users WHERE id IN (SELECT m.user_id FROM team_members m JOIN tickets t ON t.team_id = m.team_id WHERE t.id IN (";
            self.lock_rows_of(&mut tx, users, "))", agents, &b.ids).await?;
        }
        // Locked, each ticket is read as the last writer left it: a concurrent call waits
        // instead of finding its version changed under it.
        self.lock_rows_of(&mut tx, "SELECT id FROM tickets WHERE id IN (", ")", self.backend.lock_rows(), &b.ids).await?;
        let mut order: Vec<(usize, &i64)> = b.ids.iter().enumerate().collect();
        order.sort_by_key(|(n, id)| (**id, *n));
        for (n, id) in order {
            let owner = match b.assignee {
                Assignee::User(u) => Some(u),
                Assignee::Nobody => None,
                Assignee::Auto => match self.auto_owner(&mut tx, actor, *id).await {
                    Ok(u) => Some(u),
                    Err(e @ Error::Db(_)) => return Err(e),
                    Err(e) => {
                        errs.add(format!("ids[{n}]"), format!("ticket {id}: {}", reason(&e)));
                        continue;
                    }
                },
            };
            let change = |cur: &TicketData| TicketInput { owner_id: Some(owner), ..TicketInput::default() }.apply(Some(cur), &now);
            match self.update_in::<Ticket, _, _>(&mut tx, actor, *id, None, change).await {
                Ok(_) => {}
                Err(e @ Error::Db(_)) => return Err(e),
                Err(e) => errs.add(format!("ids[{n}]"), format!("ticket {id}: {}", reason(&e))),
            }
        }
        errs.into_result(())?;
        let mut saved = Vec::with_capacity(b.ids.len());
        for id in &b.ids {
            saved.push(self.as_seen::<Ticket>(&mut tx, actor, *id).await?);
        }
        tx.commit().await?;
        Ok(saved)
    }

    /// Locks the rows `head … ids … tail` selects with `lock`, by id (PostgreSQL locks the rows
    /// of `ORDER BY … FOR UPDATE` in that order; SQLite has one writer).
    async fn lock_rows_of(&self, tx: &mut WriteTx, head: &str, tail: &str, lock: &str, ids: &[i64]) -> Result<()> {
        if lock.is_empty() || ids.is_empty() {
            return Ok(());
        }
        let mut q = Sql::new(head);
        for (k, id) in ids.iter().enumerate() {
            if k > 0 {
                q.push(", ");
            }
            q.arg(*id);
        }
        q.push(&format!("{tail} ORDER BY id{lock}"));
        tx.fetch_all(&q, |r| r.get::<i64>("id")).await?;
        Ok(())
    }

    /// Assigns one ticket by its team's rule, on request.
    pub async fn auto_assign_ticket(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<Ticket> {
        require(actor, Object::Ticket, Action::Update)?;
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let owner = self.auto_owner(&mut tx, actor, id).await?;
        let change = |cur: &TicketData| TicketInput { owner_id: Some(Some(owner)), ..TicketInput::default() }.apply(Some(cur), &now);
        self.update_in::<Ticket, _, _>(&mut tx, actor, id, if_match, change).await?;
        let saved = self.as_seen::<Ticket>(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// The agent ticket `id`'s team rule gives it to now, or why none.
    async fn auto_owner(&self, tx: &mut WriteTx, actor: &Actor, id: i64) -> Result<i64> {
        let t = self.record_in::<Ticket>(tx, actor, id, false).await?;
        let refuse = |m: String| Error::Invalid(ValidationErrors::single("assignee", m));
        let Some(team) = t.data.team_id else {
            return Err(refuse("it is in no team's queue, so no rule assigns it: name an assignee".into()));
        };
        match self.take_turn(tx, team).await? {
            (AssignmentMode::Manual, _) => Err(refuse(format!("team {team} assigns by hand: name an assignee"))),
            (_, None) => Err(refuse(format!("no agent of team {team} is available (all away, inactive or at their cap)"))),
            (_, Some(u)) => Ok(u),
        }
    }

    /// Returns the open tickets `user` holds (in `team` only, when given) to their team's
    /// queue, each audited as the edit that clears its assignee: what happens when an agent
    /// leaves a team or is deactivated. How many.
    pub(crate) async fn release_tickets(&self, tx: &mut WriteTx, actor: &Actor, user: i64, team: Option<i64>) -> Result<usize> {
        let mut q = Sql::new("SELECT id FROM tickets WHERE owner_id = ");
        q.arg(user).push(&format!(" AND status IN ({}) AND deleted_at IS NULL", open_states()));
        if let Some(t) = team {
            q.push(" AND team_id = ").arg(t);
        }
        q.push(" ORDER BY id");
        let ids: Vec<i64> = tx.fetch_all(&q, |r| r.get("id")).await?;
        let now = now_rfc3339();
        // As the system, whose reach and grants cover every ticket, on behalf of the actor: the
        // audit rows name who made the change that released them.
        let releaser = Actor { perms: Actor::system().perms, ..actor.clone() };
        for id in &ids {
            let change = |cur: &TicketData| TicketInput { owner_id: Some(None), ..TicketInput::default() }.apply(Some(cur), &now);
            self.update_in::<Ticket, _, _>(tx, &releaser, *id, None, change).await?;
        }
        Ok(ids.len())
    }

    /// Moves the live tickets of `team`, which is being deleted, to the general inbox (no team),
    /// each audited as an edit, so no ticket is left in a queue nobody can see. Their assignees
    /// keep them.
    pub(crate) async fn orphan_team_tickets(&self, tx: &mut WriteTx, actor: &Actor, team: i64) -> Result<usize> {
        let q = sql("SELECT id FROM tickets WHERE team_id = ? AND deleted_at IS NULL ORDER BY id", [team.into()]);
        let ids: Vec<i64> = tx.fetch_all(&q, |r| r.get("id")).await?;
        let now = now_rfc3339();
        let mover = Actor { perms: Actor::system().perms, ..actor.clone() };
        for id in &ids {
            let change = |cur: &TicketData| TicketInput { team_id: Some(None), ..TicketInput::default() }.apply(Some(cur), &now);
            self.update_in::<Ticket, _, _>(tx, &mover, *id, None, change).await?;
        }
        Ok(ids.len())
    }

    /// A team's assignment settings with its members' loads (for those who may read teams).
    pub async fn team_assignment(&self, actor: &Actor, team: i64) -> Result<TeamAssignment> {
        require(actor, Object::Team, Action::Read)?;
        let mut tx = self.write_tx().await?;
        let settings = self.team_assignment_in(&mut tx, team).await?;
        tx.commit().await?;
        Ok(settings)
    }

    async fn team_assignment_in(&self, tx: &mut WriteTx, team: i64) -> Result<TeamAssignment> {
        let q = sql("SELECT assignment_mode, max_open_per_agent, last_assigned_id FROM teams WHERE id = ?", [team.into()]);
        let (mode, max_open_per_agent, last_assigned_id) = tx
            .fetch_optional(&q, |r| {
                Ok((
                    r.get::<String>("assignment_mode")?,
                    r.get::<Option<i64>>("max_open_per_agent")?,
                    r.get::<Option<i64>>("last_assigned_id")?,
                ))
            })
            .await?
            .ok_or(Error::NotFound)?;
        let agents = self.agents_in(tx, team).await?;
        Ok(TeamAssignment {
            team_id: team,
            mode: AssignmentMode::parse(&mode).unwrap_or_default(),
            max_open_per_agent,
            last_assigned_id,
            agents,
        })
    }

    /// Whether `actor` leads `team`: admins lead every team, managers the teams they are in.
    async fn check_lead(&self, tx: &mut WriteTx, actor: &Actor, team: i64, what: &str) -> Result<()> {
        if actor.user_id.is_none() || actor.perms.allows(Object::Team, Action::Update) {
            return Ok(());
        }
        let manager = actor.visibility_of(Object::Ticket) == Visibility::Team && actor.perms.allows(Object::Ticket, Action::Assign);
        let member = tx
            .fetch_optional(
                &sql("SELECT user_id FROM team_members WHERE team_id = ? AND user_id = ?", [team.into(), actor.user_id.into()]),
                |_| Ok(()),
            )
            .await?
            .is_some();
        if manager && member && Role::parse(&actor.role) != Some(Role::SupportAgent) {
            return Ok(());
        }
        Err(Error::Forbidden { field: what.into(), message: "only admins and the team's managers change how it assigns".into() })
    }

    /// Changes a team's assignment rule or cap (admins, and managers of the team), audited.
    pub async fn save_team_assignment(&self, actor: &Actor, team: i64, input: TeamAssignmentInput) -> Result<TeamAssignment> {
        require(actor, Object::Team, Action::Read)?;
        input.validate()?;
        let mut tx = self.write_tx().await?;
        let before = self.team_assignment_in(&mut tx, team).await?;
        self.check_lead(&mut tx, actor, team, "mode").await?;
        let mode = input.mode.unwrap_or(before.mode);
        let cap = input.max_open_per_agent.unwrap_or(before.max_open_per_agent);
        tx.execute(&sql(
            "UPDATE teams SET assignment_mode = ?, max_open_per_agent = ?, updated_at = ?, version = version + 1 WHERE id = ?",
            [mode.as_str().into(), cap.into(), now_rfc3339().into(), team.into()],
        ))
        .await?;
        let after = self.team_assignment_in(&mut tx, team).await?;
        let diff = json!({"before": {"mode": before.mode, "max_open_per_agent": before.max_open_per_agent},
            "after": {"mode": after.mode, "max_open_per_agent": after.max_open_per_agent}});
        self.audit(&mut tx, actor, "assignment_settings", "team", Some(team), diff).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Marks `user` away (automatic assignment skips them) or back: themselves, an admin, or a
    /// manager of one of their teams. Audited.
    pub async fn set_away(&self, actor: &Actor, user: i64, away: bool) -> Result<bool> {
        require(actor, Object::User, Action::Read)?;
        let mut tx = self.write_tx().await?;
        let before: i64 = tx
            .fetch_optional(&sql("SELECT away FROM users WHERE id = ?", [user.into()]), |r| r.get("away"))
            .await?
            .ok_or(Error::NotFound)?;
        if actor.user_id != Some(user) && !actor.perms.allows(Object::User, Action::Update) {
            let teams: Vec<i64> =
                tx.fetch_all(&sql("SELECT team_id FROM team_members WHERE user_id = ?", [user.into()]), |r| r.get("team_id")).await?;
            let mut led = false;
            for t in teams {
                led = led || self.check_lead(&mut tx, actor, t, "away").await.is_ok();
            }
            if !led {
                return Err(Error::Forbidden {
                    field: "away".into(),
                    message: "you may mark yourself away, or the agents of teams you lead".into(),
                });
            }
        }
        tx.execute(&sql("UPDATE users SET away = ? WHERE id = ?", [i64::from(away).into(), user.into()])).await?;
        self.audit(&mut tx, actor, "away", "user", Some(user), json!({"before": before != 0, "after": away})).await?;
        tx.commit().await?;
        Ok(away)
    }
}
