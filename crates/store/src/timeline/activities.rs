//! Activities on a timeline: every task, call, meeting, note and logged email linked to the
//! subject (web-to-lead submissions are notes too). A call or meeting stands at its start,
//! anything else at its creation; the author is the activity's owner.

use rapport_domain::permissions::{Actor, Object};
use rapport_domain::timeline::{EventKind, Subject, TimelineEvent};

use super::{Source, actor, code};
use crate::Result;
use crate::records::visible;
use crate::row::Row;
use crate::sql::Sql;

pub(super) static SOURCE: Source = Source { object: Object::Activity, select, decode };

fn select(q: &mut Sql, subject: Subject, who: &Actor) -> bool {
    let (column, id) = match subject {
        Subject::Customer(id) => ("customer_id", id),
        Subject::Company(id) => ("company_id", id),
        Subject::Opportunity(id) => ("opportunity_id", id),
    };
    q.push(&format!(
        "SELECT COALESCE(a.starts_at, a.created_at) AS at, {} AS kind, a.id AS id, a.subject AS title, a.kind AS activity_kind, \
         a.done AS done, a.owner_id AS actor_id, u.name AS actor_name \
         FROM activities a LEFT JOIN users u ON u.id = a.owner_id WHERE a.deleted_at IS NULL AND a.{column} = ",
        code(EventKind::Activity)
    ))
    .arg(id);
    visible(q, who, "a");
    true
}

fn decode(r: &dyn Row) -> Result<TimelineEvent> {
    let id: i64 = r.get("id")?;
    let kind: String = r.get("activity_kind")?;
    let (actor_id, actor_name) = actor(r)?;
    let summary = if kind == "task" && r.get::<i64>("done")? != 0 { "task · done".to_string() } else { kind };
    Ok(TimelineEvent {
        at: r.get("at")?,
        kind: EventKind::Activity,
        id,
        record_type: "activity".into(),
        record_id: id,
        title: r.get("title")?,
        summary,
        actor_id,
        actor_name,
        link: format!("/activities/{id}"),
    })
}
