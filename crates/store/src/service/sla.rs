//! SLA clocks read from the database: a ticket's standing for its page and `GET`, and the
//! breach job, which evaluates every open ticket set-wise (a handful of queries whatever the
//! number of tickets: tickets, their status histories, their conversations' reply times, the
//! events flagged already) and flags each near breach and breach once, notifying the assignee
//! and the team's leads and recording the event for the timeline and webhooks, all in one
//! transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, SecondsFormat, Timelike, Utc};
use rapport_domain::notification::NewNotification;
use rapport_domain::permissions::Actor;
use rapport_domain::service::business_time::CalendarSpan;
use rapport_domain::service::calendar::Calendar;
use rapport_domain::service::sla::{Change, Standing};
use rapport_domain::service::sla_policy::{Clock, SlaPolicy, SlaStanding, Target, TargetStanding, choose, evaluate};
use rapport_domain::service::ticket::{Channel, Priority, Ticket, TicketData};
use rapport_domain::service::work_calendar::WorkCalendar;
use rapport_domain::service::workflow::TicketState;
use serde_json::json;

use super::sla_admin::calendar_row;
use crate::bulk::inserts;
use crate::notifications::notify;
use crate::row::Row;
use crate::sql::{Arg, Sql, sql};
use crate::{Result, Store};

/// The breach job's lease name.
pub const SLA_JOB: &str = "sla_breaches";

/// What one run of the breach job did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SlaRun {
    /// Open tickets evaluated.
    pub tickets: usize,
    /// Tickets a policy applies to.
    pub with_policy: usize,
    /// Near breaches flagged now.
    pub near_breaches: usize,
    /// Breaches flagged now.
    pub breaches: usize,
    /// Notifications sent.
    pub notifications: usize,
}

/// Parses a stored time to the whole second (SLA clocks count seconds; whole seconds let a
/// [`CalendarSpan`] answer without falling back to the calendar).
pub(super) fn time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)).and_then(|t| t.with_nanosecond(0))
}

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Which tickets a read covers.
#[derive(Clone, Copy)]
enum Scope {
    One(i64),
    Open,
}

impl Scope {
    /// Appends the condition on tickets `t`.
    fn filter(self, q: &mut Sql) {
        match self {
            Scope::One(id) => {
                q.push("t.id = ").arg(id);
            }
            Scope::Open => {
                q.push("t.deleted_at IS NULL AND t.status NOT IN ('resolved', 'closed')");
            }
        }
    }
}

/// The calendars: the default and each team's.
pub(super) struct Calendars {
    default: Option<WorkCalendar>,
    teams: HashMap<i64, WorkCalendar>,
}

impl Calendars {
    pub(super) fn of(&self, team: Option<i64>) -> Option<&WorkCalendar> {
        team.and_then(|t| self.teams.get(&t)).or(self.default.as_ref())
    }
}

impl Store {
    pub(super) async fn calendars(&self) -> Result<Calendars> {
        let all = self
            .read(
                &sql("SELECT id, name, team_id, is_default, time_zone, week, holidays, created_at, updated_at, version FROM calendars", []),
                calendar_row,
            )
            .await?;
        let default = all.iter().find(|c| c.is_default).cloned();
        let teams = all.into_iter().filter_map(|c| c.team_id.map(|t| (t, c))).collect();
        Ok(Calendars { default, teams })
    }

    /// Each ticket's clock facts: status history, first and latest public agent replies, and
    /// the first customer message after the latest reply.
    async fn clocks(&self, scope: Scope) -> Result<HashMap<i64, Clock>> {
        let mut clocks: HashMap<i64, Clock> = HashMap::new();
        let mut q = Sql::new(
            "SELECT c.ticket_id AS ticket_id, c.to_status AS to_status, c.at AS at FROM ticket_status_changes c JOIN tickets t ON t.id = c.ticket_id \
             WHERE c.merged_from_id IS NULL AND ",
        );
        // Steps moved in by a merge are the merged ticket's clock, not the survivor's.
        scope.filter(&mut q);
        q.push(" ORDER BY c.ticket_id, c.at, c.id");
        let rows = self.read(&q, |r| Ok((r.get::<i64>("ticket_id")?, r.get::<String>("to_status")?, r.get::<String>("at")?))).await?;
        for (id, state, at) in rows {
            if let (Some(state), Some(at)) = (TicketState::parse(&state), time(&at)) {
                clocks.entry(id).or_default().history.push(Change { at, state });
            }
        }
        let replies = "SELECT m.ticket_id AS ticket_id, MIN(m.at) AS first_reply, MAX(m.at) AS last_reply FROM ticket_messages m \
                       JOIN tickets t ON t.id = m.ticket_id WHERE m.author = 'agent' AND m.internal = 0 AND ";
        let mut q = Sql::new(replies);
        scope.filter(&mut q);
        q.push(" GROUP BY m.ticket_id");
        for (id, first) in self.read(&q, |r| Ok((r.get::<i64>("ticket_id")?, r.get::<String>("first_reply")?))).await? {
            if let Some(c) = clocks.get_mut(&id) {
                c.first_reply = time(&first);
            }
        }
        let mut q = Sql::new(&format!("SELECT c.ticket_id AS ticket_id, MIN(c.at) AS since FROM ticket_messages c JOIN ({replies}"));
        scope.filter(&mut q);
        q.push(
            " GROUP BY m.ticket_id) a ON a.ticket_id = c.ticket_id WHERE c.author = 'customer' AND c.at > a.last_reply GROUP BY c.ticket_id",
        );
        for (id, since) in self.read(&q, |r| Ok((r.get::<i64>("ticket_id")?, r.get::<String>("since")?))).await? {
            if let Some(c) = clocks.get_mut(&id) {
                c.awaiting_since = time(&since);
            }
        }
        Ok(clocks)
    }

    /// A ticket's SLA standing at `now` for those who may see the ticket; `None` when no
    /// policy applies.
    pub async fn ticket_sla(&self, actor: &Actor, id: i64, now: DateTime<Utc>) -> Result<Option<SlaStanding>> {
        let ticket: Ticket = self.get_ticket(actor, id).await?;
        self.ticket_sla_of(&ticket, now).await
    }

    /// The SLA standing of a ticket the caller has read already (so may see).
    pub async fn ticket_sla_of(&self, ticket: &Ticket, now: DateTime<Utc>) -> Result<Option<SlaStanding>> {
        let id = ticket.id;
        let policies = self.all_sla_policies().await?;
        let Some(policy) = choose(&policies, &ticket.data) else { return Ok(None) };
        let calendars = self.calendars().await?;
        let calendar = calendars.of(ticket.data.team_id);
        let mut clock = self.clocks(Scope::One(id)).await?.remove(&id).unwrap_or_default();
        if !ticket.data.status.is_open() {
            clock.resolved_at = ticket.data.resolved_at.as_deref().and_then(time);
        }
        let now = now.with_nanosecond(0).unwrap_or(now);
        let targets = match calendar {
            Some(c) => evaluate(&c.calendar(), &policy.data, &clock, now),
            None => evaluate(&Calendar::always(), &policy.data, &clock, now),
        };
        Ok(Some(SlaStanding {
            policy_id: policy.id,
            policy_name: policy.data.name.clone(),
            calendar_id: calendar.map(|c| c.id),
            calendar_name: calendar.map(|c| c.name.clone()),
            targets,
        }))
    }

    /// The breach job, once, if `holder` gets (or keeps) the job's lease: `None` when another
    /// process holds it. The lease lasts `ttl` past now, so the holder renews it each run.
    pub async fn run_sla_job(&self, holder: &str, ttl: Duration, now: DateTime<Utc>) -> Result<Option<SlaRun>> {
        if !self.acquire_lease(SLA_JOB, holder, ttl, Utc::now()).await? {
            return Ok(None);
        }
        self.flag_sla(now).await.map(Some)
    }

    /// Evaluates every open ticket at `now` and flags what is near breach or breached and not
    /// flagged before. Safe to run from several processes at once: the unique key on
    /// (ticket, target, kind, clock start) keeps each event, and so its notifications, single.
    pub async fn flag_sla(&self, now: DateTime<Utc>) -> Result<SlaRun> {
        let now = now.with_nanosecond(0).unwrap_or(now);
        let policies = self.all_sla_policies().await?;
        let mut run = SlaRun::default();
        if policies.is_empty() {
            return Ok(run);
        }
        let mut q = Sql::new(
            "SELECT t.id AS id, t.subject AS subject, t.priority AS priority, t.category AS category, t.channel AS channel, \
             t.company_id AS company_id, t.team_id AS team_id, t.owner_id AS owner_id FROM tickets t WHERE ",
        );
        Scope::Open.filter(&mut q);
        let tickets = self.read(&q, open_ticket).await?;
        run.tickets = tickets.len();
        let mut clocks = self.clocks(Scope::Open).await?;
        let calendars = self.calendars().await?;
        let mut q = Sql::new(
            "SELECT e.ticket_id AS ticket_id, e.target AS target, e.kind AS kind, e.started_at AS started_at FROM sla_events e \
             JOIN tickets t ON t.id = e.ticket_id WHERE ",
        );
        Scope::Open.filter(&mut q);
        let flagged: HashSet<(i64, String, String, String)> = self
            .read(&q, |r| Ok((r.get("ticket_id")?, r.get("target")?, r.get("kind")?, r.get("started_at")?)))
            .await?
            .into_iter()
            .collect();

        // One span per calendar, from the oldest open ticket to well past now (due times).
        let oldest = clocks.values().filter_map(|c| c.history.first().map(|h| h.at)).min().unwrap_or(now);
        let horizon = now + Duration::days(90);
        let mut spans: HashMap<Option<i64>, CalendarSpan> = HashMap::new();
        let mut fresh = Vec::new();
        for t in &tickets {
            let Some(policy) = choose(&policies, &t.data) else { continue };
            run.with_policy += 1;
            let Some(clock) = clocks.remove(&t.id) else { continue };
            let calendar = calendars.of(t.data.team_id);
            let span = spans
                .entry(calendar.map(|c| c.id))
                .or_insert_with(|| CalendarSpan::new(calendar.map_or_else(Calendar::always, WorkCalendar::calendar), oldest, horizon));
            for s in evaluate(&*span, &policy.data, &clock, now) {
                if let Some(e) = flag(t, policy, &s) {
                    let key = (t.id, e.target.as_str().to_string(), e.kind.to_string(), text(s.started_at));
                    if !flagged.contains(&key) {
                        fresh.push(e);
                    }
                }
            }
        }
        if fresh.is_empty() {
            return Ok(run);
        }
        let leads = self.team_leads().await?;
        let mut tx = self.write_tx().await?;
        let at = text(now);
        let head = "INSERT INTO sla_events (ticket_id, target, kind, started_at, due_at, at) VALUES ";
        let tail = " ON CONFLICT (ticket_id, target, kind, started_at) DO NOTHING RETURNING id, ticket_id, target, kind";
        let mut written = Vec::new();
        for q in inserts(tx.backend, head, tail, 6, &fresh, |e| {
            [
                Arg::from(e.ticket.id),
                Arg::from(e.target.as_str()),
                Arg::from(e.kind),
                Arg::from(text(e.started_at)),
                Arg::from(e.due.map(text)),
                Arg::from(at.clone()),
            ]
        }) {
            written.extend(
                tx.fetch_all(&q, |r| Ok((r.get::<i64>("ticket_id")?, r.get::<String>("target")?, r.get::<String>("kind")?))).await?,
            );
        }
        let won: HashSet<(i64, String, String)> = written.into_iter().collect();
        let mut notes = Vec::new();
        for e in fresh.iter().filter(|e| won.contains(&(e.ticket.id, e.target.as_str().to_string(), e.kind.to_string()))) {
            if e.kind == "breach" {
                run.breaches += 1;
            } else {
                run.near_breaches += 1;
            }
            let event = if e.kind == "breach" { "sla.breached" } else { "sla.near_breach" };
            let data =
                json!({"target": e.target.as_str(), "due_at": e.due.map(text), "policy": &e.policy, "started_at": text(e.started_at)});
            crate::webhooks::outbox::emit(self, &mut tx, event, "ticket", Some(e.ticket.id), &data).await?;
            let mut to: Vec<i64> = e.ticket.data.owner_id.into_iter().collect();
            to.extend(e.ticket.data.team_id.and_then(|t| leads.get(&t)).into_iter().flatten());
            to.sort_unstable();
            to.dedup();
            let what = match e.due {
                Some(due) => format!("{} due {} UTC", e.target.label(), due.format("%Y-%m-%d %H:%M")),
                None => format!("{} breached", e.target.label()),
            };
            for user_id in to {
                notes.push(NewNotification {
                    user_id,
                    kind: if e.kind == "breach" { "sla_breach".into() } else { "sla_near_breach".into() },
                    text: format!("#{} {}: {what} ({})", e.ticket.id, e.ticket.subject, e.policy),
                    link: Some(format!("/tickets/{}", e.ticket.id)),
                });
            }
        }
        run.notifications = notes.len();
        notify(&mut tx, &notes, &at).await?;
        if run.breaches + run.near_breaches > 0 {
            let summary = json!({"near_breaches": run.near_breaches, "breaches": run.breaches, "notifications": run.notifications});
            self.audit(&mut tx, &Actor::system(), "sla_flag", "ticket", None, summary).await?;
        }
        tx.commit().await?;
        Ok(run)
    }

    /// Each team's leads: its active members with the manager role.
    async fn team_leads(&self) -> Result<HashMap<i64, Vec<i64>>> {
        let q = sql(
            "SELECT m.team_id AS team_id, m.user_id AS user_id FROM team_members m JOIN users u ON u.id = m.user_id \
             WHERE u.role = 'manager' AND u.is_active = 1",
            [],
        );
        let mut leads: HashMap<i64, Vec<i64>> = HashMap::new();
        for (team, user) in self.read(&q, |r| Ok((r.get::<i64>("team_id")?, r.get::<i64>("user_id")?))).await? {
            leads.entry(team).or_default().push(user);
        }
        Ok(leads)
    }
}

/// An open ticket as the job reads it: what policies match on and whom to tell.
struct OpenTicket {
    id: i64,
    subject: String,
    data: TicketData,
}

fn open_ticket(r: &dyn Row) -> Result<OpenTicket> {
    let priority: Priority = serde_json::from_value(r.get::<String>("priority")?.into()).unwrap_or_default();
    let channel: Channel = serde_json::from_value(r.get::<String>("channel")?.into()).unwrap_or_default();
    Ok(OpenTicket {
        id: r.get("id")?,
        subject: r.get("subject")?,
        data: TicketData {
            priority,
            channel,
            category: r.get("category")?,
            company_id: r.get("company_id")?,
            team_id: r.get("team_id")?,
            owner_id: r.get("owner_id")?,
            ..TicketData::default()
        },
    })
}

/// An event to flag.
struct Flag<'a> {
    ticket: &'a OpenTicket,
    policy: &'a str,
    target: Target,
    kind: &'static str,
    started_at: DateTime<Utc>,
    due: Option<DateTime<Utc>>,
}

fn flag<'a>(ticket: &'a OpenTicket, policy: &'a SlaPolicy, s: &TargetStanding) -> Option<Flag<'a>> {
    let (kind, due) = match s.standing {
        Standing::NearBreach { due } => ("near", Some(due)),
        Standing::Breached { .. } | Standing::Missed { .. } => ("breach", None),
        _ => return None,
    };
    Some(Flag { ticket, policy: &policy.data.name, target: s.target, kind, started_at: s.started_at, due })
}
