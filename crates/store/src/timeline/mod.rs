//! The 360° timeline of a person, a company or an opportunity: one registry of event sources
//! ([`SOURCES`]), one small file per source, and the merge.
//!
//! A source yields one or more [`EventKind`]s from its own table. It appends to a query the
//! `SELECT` of a subject's events, with the columns every source gives — `at` (RFC 3339
//! text), `kind` (the kind's code, a BIGINT), `id` (the event's id within its kind) — plus its
//! own, and applies the record visibility of the records its events come from, so an event
//! shows only to those who may see its record. The merge wraps each source's query in the
//! keyset condition of the cursor over (at, kind, id), reads at most `limit + 1` of each, and
//! merges them newest first ([`rapport_domain::timeline::merge`]).
//!
//! A new kind (tickets, messages, survey answers) is one file here with its `SOURCE`, one line
//! in [`SOURCES`], and its variants in [`EventKind`]; the other sources do not change.

mod activities;
mod feedback;
mod leads;
mod messages;
mod orders;
mod sequences;
mod sla;
mod stages;
mod tickets;

use rapport_domain::company::Company;
use rapport_domain::customer::Customer;
use rapport_domain::permissions::{Action, Actor, Object};
use rapport_domain::query::Page;
use rapport_domain::sales::opportunity::Opportunity;
use rapport_domain::timeline::{EventKind, Subject, TimelineCursor, TimelineEvent, merge};

use crate::row::Row;
use crate::sql::Sql;
use crate::{Result, Store};

/// Where one or more kinds of event come from.
pub(crate) struct Source {
    /// The permission object of the records its events come from: without `read` on it, the
    /// source is left out.
    object: Object,
    /// Appends the `SELECT` of `subject`'s events that `actor` may see (columns `at`, `kind`,
    /// `id` and what `decode` reads), or returns `false` when it has none for such subjects.
    select: fn(&mut Sql, Subject, &Actor) -> bool,
    /// One row as an event.
    decode: fn(&dyn Row) -> Result<TimelineEvent>,
}

/// Every source of timeline events.
static SOURCES: &[&Source] = &[
    &activities::SOURCE,
    &stages::SOURCE,
    &leads::SOURCE,
    &orders::SOURCE,
    &tickets::SOURCE,
    &sla::SOURCE,
    &feedback::SOURCE,
    &messages::SOURCE,
    &sequences::SOURCE,
];

/// `CAST(<code> AS BIGINT)`: a kind's code as a column both engines read as a 64-bit integer.
fn code(kind: EventKind) -> String {
    format!("CAST({} AS BIGINT)", kind.code())
}

/// The event's author: the user's id and name, from the columns `actor_id` and `actor_name`.
fn actor(r: &dyn Row) -> Result<(Option<i64>, Option<String>)> {
    Ok((r.get("actor_id")?, r.get("actor_name")?))
}

impl Store {
    /// A page of `subject`'s timeline as `actor` may see it, newest first: at most `limit`
    /// events after `cursor`. A subject the actor cannot see is "not found".
    pub async fn timeline(
        &self,
        actor: &Actor,
        subject: Subject,
        limit: usize,
        cursor: Option<&TimelineCursor>,
    ) -> Result<Page<TimelineEvent>> {
        match subject {
            Subject::Customer(id) => self.record_visible::<Customer>(actor, id).await?,
            Subject::Company(id) => self.record_visible::<Company>(actor, id).await?,
            Subject::Opportunity(id) => self.record_visible::<Opportunity>(actor, id).await?,
        }
        let mut found = Vec::with_capacity(SOURCES.len());
        for source in SOURCES.iter().filter(|s| actor.perms.allows(s.object, Action::Read)) {
            let mut q = Sql::new("SELECT * FROM (");
            if !(source.select)(&mut q, subject, actor) {
                continue;
            }
            q.push(") e");
            if let Some(c) = cursor {
                q.push(" WHERE (e.at < ").arg(c.at.clone()).push(" OR (e.at = ").arg(c.at.clone());
                q.push(" AND (e.kind < ").arg(c.kind).push(" OR (e.kind = ").arg(c.kind).push(" AND e.id < ").arg(c.id).push("))))");
            }
            q.push(" ORDER BY e.at DESC, e.kind DESC, e.id DESC LIMIT ").arg(limit as i64 + 1);
            found.push(self.read(&q, source.decode).await?);
        }
        let (data, next_cursor) = merge(found, limit);
        Ok(Page { data, next_cursor, sync_token: None })
    }
}
