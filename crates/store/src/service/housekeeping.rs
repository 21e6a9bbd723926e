//! The help desk's housekeeping job: a resolved ticket the customer never confirmed closes by
//! itself after a configurable number of days (`auto_close`), and a snoozed ticket wakes when
//! its date comes (`wake`). Both go through the workflow as the system, so each step is in
//! the ticket's history and audit like any other. Several servers share it through a lease.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rapport_domain::permissions::Actor;
use rapport_domain::service::ticket::{Ticket, TicketData};
use rapport_domain::service::workflow::{self, TicketAction};
use serde::Serialize;

use crate::sql::sql;
use crate::{Error, Result, Store};

/// The lease's name in `job_leases`.
pub const HOUSEKEEPING_JOB: &str = "ticket_housekeeping";

/// Tickets moved per kind and run; the rest wait for the next run.
const PER_RUN: i64 = 500;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Housekeeping {
    /// Resolved tickets closed for want of an answer.
    pub closed: usize,
    /// Snoozed tickets woken.
    pub woken: usize,
}

impl Store {
    /// Runs [`Store::ticket_housekeeping`] when this process holds (or takes) the job's lease;
    /// `None` when another process holds it.
    pub async fn run_ticket_housekeeping(
        &self,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
        close_after: Option<Duration>,
    ) -> Result<Option<Housekeeping>> {
        if !self.acquire_lease(HOUSEKEEPING_JOB, holder, ttl, Utc::now()).await? {
            return Ok(None);
        }
        self.ticket_housekeeping(now, close_after).await.map(Some)
    }

    /// Closes the tickets resolved before `now - close_after` (none when `None`) and wakes those
    /// snoozed until `now` or earlier. A ticket someone changed meanwhile is left to them.
    pub async fn ticket_housekeeping(&self, now: DateTime<Utc>, close_after: Option<Duration>) -> Result<Housekeeping> {
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        let due = |status: &str, column: &str, before: String| {
            sql(
                &format!(
                    "SELECT id FROM tickets WHERE status = ? AND {column} <= ? AND deleted_at IS NULL ORDER BY {column}, id LIMIT {PER_RUN}"
                ),
                [status.into(), before.into()],
            )
        };
        let mut run = Housekeeping::default();
        let resolved: Vec<i64> = match close_after {
            Some(after) => self.read(&due("resolved", "resolved_at", stamp(now - after)), |r| r.get("id")).await?,
            None => vec![],
        };
        for id in resolved {
            run.closed += usize::from(self.system_action(id, TicketAction::AutoClose, &stamp(now)).await?);
        }
        let snoozed: Vec<i64> = self.read(&due("snoozed", "snoozed_until", stamp(now)), |r| r.get("id")).await?;
        for id in snoozed {
            run.woken += usize::from(self.system_action(id, TicketAction::Wake, &stamp(now)).await?);
        }
        Ok(run)
    }

    /// Takes `action` on a ticket as the system; `false` when its state no longer allows it.
    async fn system_action(&self, id: i64, action: TicketAction, at: &str) -> Result<bool> {
        let system = Actor::system();
        let done = self
            .update_record::<Ticket, _, _>(&system, id, None, |cur: &TicketData| {
                cur.perform(action, workflow::Actor::System, None, None, at)
            })
            .await;
        match done {
            Ok(_) => Ok(true),
            Err(Error::Refused(_) | Error::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
