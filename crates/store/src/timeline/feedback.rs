//! Feedback on a timeline: each feedback, complaint or praise a person gave outside a ticket,
//! where the user may see it.

use rapport_domain::permissions::{Actor, Object};
use rapport_domain::timeline::{EventKind, Subject, TimelineEvent};

use super::{Source, actor, code};
use crate::Result;
use crate::records::visible;
use crate::row::Row;
use crate::sql::Sql;

pub(super) static SOURCE: Source = Source { object: Object::Ticket, select, decode };

fn select(q: &mut Sql, subject: Subject, who: &Actor) -> bool {
    let Subject::Customer(id) = subject else { return false };
    q.push(&format!(
        "SELECT o.created_at AS at, {} AS kind, o.id AS id, o.kind AS title, o.body AS body, o.channel AS channel, \
         o.owner_id AS actor_id, u.name AS actor_name FROM feedback o LEFT JOIN users u ON u.id = o.owner_id \
         WHERE o.deleted_at IS NULL AND o.customer_id = ",
        code(EventKind::FeedbackReceived)
    ))
    .arg(id);
    visible(q, who, "o");
    true
}

fn decode(r: &dyn Row) -> Result<TimelineEvent> {
    let id: i64 = r.get("id")?;
    let kind: String = r.get("title")?;
    let body: String = r.get("body")?;
    let short: String = body.chars().take(140).collect();
    let (actor_id, actor_name) = actor(r)?;
    let mut title = kind.clone();
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    Ok(TimelineEvent {
        at: r.get("at")?,
        kind: EventKind::FeedbackReceived,
        id,
        record_type: "feedback".into(),
        record_id: id,
        title: format!("{title} by {}", r.get::<String>("channel")?.replace('_', " ")),
        summary: if short.len() < body.len() { format!("{short}…") } else { short },
        actor_id,
        actor_name,
        link: format!("/feedback/{id}/edit"),
    })
}
