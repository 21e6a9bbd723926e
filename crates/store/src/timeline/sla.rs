//! SLA warnings on a timeline: each near breach and breach the job flagged on the tickets of a
//! person or a company that the user may see.

use rapport_domain::permissions::{Actor, Object};
use rapport_domain::service::sla_policy::Target;
use rapport_domain::timeline::{EventKind, Subject, TimelineEvent};

use super::{Source, code};
use crate::Result;
use crate::records::visible;
use crate::row::Row;
use crate::sql::Sql;

pub(super) static SOURCE: Source = Source { object: Object::Ticket, select, decode };

fn select(q: &mut Sql, subject: Subject, who: &Actor) -> bool {
    let (column, id) = match subject {
        Subject::Customer(id) => ("customer_id", id),
        Subject::Company(id) => ("company_id", id),
        Subject::Opportunity(_) => return false,
    };
    let kind = format!("CASE WHEN e.kind = 'breach' THEN {} ELSE {} END", code(EventKind::SlaBreached), code(EventKind::SlaNearBreach));
    q.push(&format!(
        "SELECT e.at AS at, {kind} AS kind, e.id AS id, o.id AS ticket_id, o.subject AS title, e.target AS target, \
         e.due_at AS due_at FROM sla_events e JOIN tickets o ON o.id = e.ticket_id WHERE o.deleted_at IS NULL AND o.{column} = "
    ))
    .arg(id);
    visible(q, who, "o");
    true
}

fn decode(r: &dyn Row) -> Result<TimelineEvent> {
    let kind = EventKind::from_code(r.get("kind")?).unwrap_or(EventKind::SlaBreached);
    let target = Target::parse(&r.get::<String>("target")?).map_or("SLA", |t| t.label());
    let summary = match (kind, r.get::<Option<String>>("due_at")?) {
        (EventKind::SlaNearBreach, Some(due)) => format!("{target} near breach, due {}", due.get(..16).unwrap_or(&due).replace('T', " ")),
        _ => format!("{target} breached"),
    };
    let ticket: i64 = r.get("ticket_id")?;
    Ok(TimelineEvent {
        at: r.get("at")?,
        kind,
        id: r.get("id")?,
        record_type: "ticket".into(),
        record_id: ticket,
        title: format!("#{ticket} {}", r.get::<String>("title")?),
        summary,
        actor_id: None,
        actor_name: None,
        link: format!("/tickets/{ticket}"),
    })
}
