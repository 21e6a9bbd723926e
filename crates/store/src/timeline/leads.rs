//! Lead status changes on a timeline, a conversion among them (`… → qualified`). On a person's
//! timeline their own, on a company's those of its people, on an opportunity's the conversion
//! that created it; each only where the user may see the person.

use rapport_domain::permissions::{Actor, Object};
use rapport_domain::timeline::{EventKind, Subject, TimelineEvent};

use super::{Source, actor, code};
use crate::Result;
use crate::records::visible;
use crate::row::Row;
use crate::sql::Sql;

pub(super) static SOURCE: Source = Source { object: Object::Customer, select, decode };

fn select(q: &mut Sql, subject: Subject, who: &Actor) -> bool {
    let (condition, id) = match subject {
        Subject::Customer(id) => ("l.customer_id", id),
        Subject::Company(id) => ("p.company_id", id),
        Subject::Opportunity(id) => ("l.opportunity_id", id),
    };
    q.push(&format!(
        "SELECT l.at AS at, {} AS kind, l.id AS id, p.id AS customer_id, p.name AS title, l.from_status AS from_status, \
         l.to_status AS to_status, l.opportunity_id AS opportunity_id, l.actor_id AS actor_id, u.name AS actor_name \
         FROM lead_status_changes l JOIN customers p ON p.id = l.customer_id LEFT JOIN users u ON u.id = l.actor_id \
         WHERE p.deleted_at IS NULL AND {condition} = ",
        code(EventKind::LeadStatusChanged)
    ))
    .arg(id);
    visible(q, who, "p");
    true
}

fn decode(r: &dyn Row) -> Result<TimelineEvent> {
    let person: i64 = r.get("customer_id")?;
    let (from, to): (Option<String>, String) = (r.get("from_status")?, r.get("to_status")?);
    let moved = format!("{} → {to}", from.unwrap_or_default());
    let summary = match r.get::<Option<i64>>("opportunity_id")? {
        Some(_) => format!("Converted into a deal: {moved}"),
        None => format!("Lead status: {moved}"),
    };
    let (actor_id, actor_name) = actor(r)?;
    Ok(TimelineEvent {
        at: r.get("at")?,
        kind: EventKind::LeadStatusChanged,
        id: r.get("id")?,
        record_type: "customer".into(),
        record_id: person,
        title: r.get("title")?,
        summary,
        actor_id,
        actor_name,
        link: format!("/customers/{person}"),
    })
}
