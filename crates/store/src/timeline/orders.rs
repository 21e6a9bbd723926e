//! Orders on a timeline: each order's creation, payment, shipping and cancellation, at the time
//! the order recorded for it, with its total. On a person's, a company's or a deal's timeline,
//! the orders linked to it that the user may see.

use rapport_domain::permissions::{Actor, Object};
use rapport_domain::sales::money::format_minor;
use rapport_domain::timeline::{EventKind, Subject, TimelineEvent};

use super::{Source, actor, code};
use crate::Result;
use crate::records::visible;
use crate::row::Row;
use crate::sql::Sql;

pub(super) static SOURCE: Source = Source { object: Object::Order, select, decode };

/// Each event and the order's column holding its time.
const EVENTS: [(EventKind, &str); 4] = [
    (EventKind::OrderCreated, "created_at"),
    (EventKind::OrderPaid, "paid_at"),
    (EventKind::OrderShipped, "shipped_at"),
    (EventKind::OrderCancelled, "cancelled_at"),
];

fn select(q: &mut Sql, subject: Subject, who: &Actor) -> bool {
    let (column, id) = match subject {
        Subject::Customer(id) => ("customer_id", id),
        Subject::Company(id) => ("company_id", id),
        Subject::Opportunity(id) => ("opportunity_id", id),
    };
    for (i, (kind, at)) in EVENTS.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push(&format!(
            "SELECT o.{at} AS at, {} AS kind, o.id AS id, o.total_minor AS total_minor, o.currency AS currency, \
             o.owner_id AS actor_id, u.name AS actor_name FROM orders o LEFT JOIN users u ON u.id = o.owner_id \
             WHERE o.deleted_at IS NULL AND o.{at} IS NOT NULL AND o.{column} = ",
            code(*kind)
        ))
        .arg(id);
        visible(q, who, "o");
    }
    true
}

fn decode(r: &dyn Row) -> Result<TimelineEvent> {
    let kind = EventKind::from_code(r.get("kind")?).unwrap_or(EventKind::OrderCreated);
    let id: i64 = r.get("id")?;
    let total = format_minor(r.get("total_minor")?, &r.get::<String>("currency")?);
    let what = match kind {
        EventKind::OrderPaid => "Paid",
        EventKind::OrderShipped => "Shipped",
        EventKind::OrderCancelled => "Cancelled",
        _ => "Created",
    };
    let (actor_id, actor_name) = actor(r)?;
    Ok(TimelineEvent {
        at: r.get("at")?,
        kind,
        id,
        record_type: "order".into(),
        record_id: id,
        title: format!("Order {id}"),
        summary: format!("{what} · {total}"),
        actor_id,
        actor_name,
        link: format!("/orders/{id}"),
    })
}
