//! First-response and resolution times in business hours, stored on the ticket when the
//! milestone happens (migration 0025), so the service reports aggregate two columns.
//!
//! A time is measured as the SLA clock measures it ([`rapport_domain::service::sla::elapsed`]):
//! business seconds of the ticket's team calendar (else the default calendar, else round the
//! clock), from the creation to the first public agent reply or to the (latest) resolution,
//! counting only the states whose clock runs and leaving out steps moved in by a merge.
//! Decisions where the issue is silent: the calendar is the team's at the moment of the
//! milestone (a later team change does not rewrite history); a reopened ticket keeps its last
//! resolution's time until it is resolved again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rapport_domain::service::business_time::CalendarSpan;
use rapport_domain::service::calendar::Calendar;
use rapport_domain::service::sla::{Change, elapsed};
use rapport_domain::service::work_calendar::WorkCalendar;
use rapport_domain::service::workflow::TicketState;

use super::sla::time;
use crate::bulk::inserts;
use crate::sql::{Arg, Sql};
use crate::{Result, Store, WriteTx};

/// Tickets per pass of a backfill (and per statement's id list).
const BATCH: usize = 500;

/// One ticket's stored times: id, first public reply, its business seconds, the resolution's.
type Times = (i64, Option<String>, Option<i64>, Option<i64>);

/// What is read of one ticket to time it.
struct Facts {
    team_id: Option<i64>,
    created: Option<DateTime<Utc>>,
    resolved: Option<DateTime<Utc>>,
    first_reply: Option<String>,
    history: Vec<Change>,
}

fn id_list(q: &mut Sql, ids: &[i64]) {
    q.push("(");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.arg(*id);
    }
    q.push(")");
}

/// Recomputes and stores the business-hours times of tickets `ids` inside `tx` (after the
/// write that moved a milestone: a public reply, a resolution, a merge, a split, an import).
pub(crate) async fn refresh(store: &Store, tx: &mut WriteTx, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let calendars = store.calendars().await?;
    for part in ids.chunks(BATCH) {
        let mut facts: HashMap<i64, Facts> = HashMap::new();
        let mut q = Sql::new(
            "SELECT t.id AS id, t.team_id AS team_id, t.created_at AS created_at, t.resolved_at AS resolved_at, \
             (SELECT MIN(m.at) FROM ticket_messages m WHERE m.ticket_id = t.id AND m.author = 'agent' AND m.internal = 0) AS first_reply \
             FROM tickets t WHERE t.id IN ",
        );
        id_list(&mut q, part);
        for (id, f) in tx
            .fetch_all(&q, |r| {
                let created: String = r.get("created_at")?;
                let resolved: Option<String> = r.get("resolved_at")?;
                Ok((
                    r.get::<i64>("id")?,
                    Facts {
                        team_id: r.get("team_id")?,
                        created: time(&created),
                        resolved: resolved.as_deref().and_then(time),
                        first_reply: r.get("first_reply")?,
                        history: vec![],
                    },
                ))
            })
            .await?
        {
            facts.insert(id, f);
        }
        let mut q = Sql::new("SELECT ticket_id, to_status, at FROM ticket_status_changes WHERE merged_from_id IS NULL AND ticket_id IN ");
        id_list(&mut q, part);
        q.push(" ORDER BY ticket_id, at, id");
        for (id, state, at) in
            tx.fetch_all(&q, |r| Ok((r.get::<i64>("ticket_id")?, r.get::<String>("to_status")?, r.get::<String>("at")?))).await?
        {
            if let (Some(f), Some(state), Some(at)) = (facts.get_mut(&id), TicketState::parse(&state), time(&at)) {
                f.history.push(Change { at, state });
            }
        }
        // One laid-out span per calendar over the batch's days answers every ticket quickly.
        let lo = facts.values().filter_map(|f| f.created).min();
        let hi = facts.values().flat_map(|f| [f.resolved, f.first_reply.as_deref().and_then(time)]).flatten().max();
        let mut spans: HashMap<Option<i64>, CalendarSpan> = HashMap::new();
        let mut rows: Vec<Times> = Vec::with_capacity(facts.len());
        for (id, f) in &facts {
            let (Some(created), Some(lo), Some(hi)) = (f.created, lo, hi.or(lo)) else {
                rows.push((*id, f.first_reply.clone(), None, None));
                continue;
            };
            let calendar = calendars.of(f.team_id);
            let span = spans
                .entry(calendar.map(|c| c.id))
                .or_insert_with(|| CalendarSpan::new(calendar.map_or_else(Calendar::always, WorkCalendar::calendar), lo, hi));
            let measure = |stop: Option<DateTime<Utc>>| stop.map(|s| elapsed(&*span, &f.history, created, s));
            let first = measure(f.first_reply.as_deref().and_then(time));
            let resolution = measure(f.resolved);
            rows.push((*id, f.first_reply.clone(), first, resolution));
        }
        rows.sort_by_key(|r| r.0);
        let head = "UPDATE tickets SET first_response_at = CAST(v.column2 AS TEXT), first_response_secs = CAST(v.column3 AS BIGINT), \
                    resolution_secs = CAST(v.column4 AS BIGINT), times_pending = 0 FROM (VALUES ";
        let tail = ") AS v WHERE tickets.id = v.column1";
        for q in inserts(tx.backend, head, tail, 4, &rows, |(id, at, first, res)| {
            [Arg::from(*id), Arg::from(at.clone()), Arg::from(*first), Arg::from(*res)]
        }) {
            tx.execute(&q).await?;
        }
    }
    Ok(())
}

impl Store {
    /// Computes the times of the tickets marked pending (the rows that were there when
    /// migration 0025 ran), a batch per transaction; how many. Run when the store migrates.
    pub async fn backfill_service_times(&self) -> Result<usize> {
        let mut done = 0;
        loop {
            let q = Sql::new(&format!("SELECT id FROM tickets WHERE times_pending = 1 ORDER BY id LIMIT {BATCH}"));
            let ids: Vec<i64> = self.read(&q, |r| r.get("id")).await?;
            if ids.is_empty() {
                return Ok(done);
            }
            let mut tx = self.write_tx().await?;
            refresh(self, &mut tx, &ids).await?;
            tx.commit().await?;
            done += ids.len();
        }
    }
}
