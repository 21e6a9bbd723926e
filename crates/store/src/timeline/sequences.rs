//! Drip sequences on a person's timeline (issue 12 §7): when the person entered a sequence (by
//! hand, a segment or a sign-up) and when they left it — having run its last step, or taken
//! out by a user. Shown to those who read campaigns (sequences are shared marketing data).

use rapport_domain::permissions::{Actor, Object};
use rapport_domain::timeline::{EventKind, Subject, TimelineEvent};

use super::{Source, code};
use crate::Result;
use crate::row::Row;
use crate::sql::Sql;

pub(super) static SOURCE: Source = Source { object: Object::Campaign, select, decode };

fn select(q: &mut Sql, subject: Subject, _: &Actor) -> bool {
    let Subject::Customer(id) = subject else { return false };
    let from = "FROM sequence_enrollments e JOIN sequences s ON s.id = e.sequence_id WHERE s.deleted_at IS NULL AND e.person_id = ";
    q.push(&format!(
        "SELECT e.created_at AS at, {} AS kind, e.id AS id, s.id AS sequence_id, s.name AS title, e.source AS detail {from}",
        code(EventKind::SequenceEnrolled)
    ))
    .arg(id);
    q.push(&format!(
        " UNION ALL SELECT e.updated_at AS at, {} AS kind, e.id AS id, s.id AS sequence_id, s.name AS title, e.state AS detail {from}",
        code(EventKind::SequenceLeft)
    ))
    .arg(id)
    .push(" AND e.state IN ('done', 'exited')");
    true
}

fn decode(r: &dyn Row) -> Result<TimelineEvent> {
    let kind = EventKind::from_code(r.get("kind")?).unwrap_or(EventKind::SequenceEnrolled);
    let detail: String = r.get("detail")?;
    let summary = match (kind, detail.as_str()) {
        (EventKind::SequenceLeft, "exited") => "Taken out of the sequence".to_string(),
        (EventKind::SequenceLeft, _) => "Finished the sequence".to_string(),
        (_, "segment") => "Entered the sequence (joined its segment)".to_string(),
        (_, "signup") => "Entered the sequence (signed up)".to_string(),
        _ => "Entered the sequence (by hand)".to_string(),
    };
    let sequence: i64 = r.get("sequence_id")?;
    Ok(TimelineEvent {
        at: r.get("at")?,
        kind,
        id: r.get("id")?,
        record_type: "sequence".into(),
        record_id: sequence,
        title: r.get("title")?,
        summary,
        actor_id: None,
        actor_name: None,
        link: format!("/marketing/sequences/{sequence}"),
    })
}
