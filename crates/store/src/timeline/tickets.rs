//! Tickets on a timeline: each opening and each status change of the tickets of a person or a
//! company that the user may see.

use rapport_domain::permissions::{Actor, Object};
use rapport_domain::timeline::{EventKind, Subject, TimelineEvent};

use super::{Source, actor, code};
use crate::Result;
use crate::row::Row;
use crate::sql::Sql;

pub(super) static SOURCE: Source = Source { object: Object::Ticket, select, decode };

fn select(q: &mut Sql, subject: Subject, who: &Actor) -> bool {
    let (column, id) = match subject {
        Subject::Customer(id) => ("customer_id", id),
        Subject::Company(id) => ("company_id", id),
        Subject::Opportunity(_) => return false,
    };
    let kind =
        format!("CASE WHEN c.from_status IS NULL THEN {} ELSE {} END", code(EventKind::TicketOpened), code(EventKind::TicketStatusChanged));
    q.push(&format!(
        "SELECT c.at AS at, {kind} AS kind, c.id AS id, o.id AS ticket_id, o.subject AS title, c.from_status AS from_status, \
         c.to_status AS to_status, c.merged_from_id AS merged_from_id, c.actor_id AS actor_id, u.name AS actor_name \
         FROM ticket_status_changes c JOIN tickets o ON o.id = c.ticket_id LEFT JOIN users u ON u.id = c.actor_id \
         WHERE o.deleted_at IS NULL AND o.{column} = "
    ))
    .arg(id);
    crate::service::assignment::reach(q, who, "o");
    true
}

fn decode(r: &dyn Row) -> Result<TimelineEvent> {
    let kind = EventKind::from_code(r.get("kind")?).unwrap_or(EventKind::TicketStatusChanged);
    let shown = |s: String| s.replace('_', " ");
    let to = shown(r.get("to_status")?);
    let mut summary = match r.get::<Option<String>>("from_status")? {
        None => format!("Opened ({to})"),
        Some(from) => format!("{} → {to}", shown(from)),
    };
    // A step taken on a ticket since merged into this one says where it was taken.
    if let Some(from) = r.get::<Option<i64>>("merged_from_id")? {
        summary.push_str(&format!(" (as #{from}, merged)"));
    }
    let ticket: i64 = r.get("ticket_id")?;
    let (actor_id, actor_name) = actor(r)?;
    Ok(TimelineEvent {
        at: r.get("at")?,
        kind,
        id: r.get("id")?,
        record_type: "ticket".into(),
        record_id: ticket,
        title: format!("#{ticket} {}", r.get::<String>("title")?),
        summary,
        actor_id,
        actor_name,
        link: format!("/tickets/{ticket}"),
    })
}
