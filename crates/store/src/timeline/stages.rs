//! An opportunity's stage history on a timeline: its creation, each move, and its winning or
//! losing, with the stages' names (the key, for a stage since removed from the pipeline). On a
//! person's or a company's timeline, the histories of their deals the user may see.

use rapport_domain::permissions::{Actor, Object};
use rapport_domain::timeline::{EventKind, Subject, TimelineEvent};

use super::{Source, actor, code};
use crate::Result;
use crate::records::visible;
use crate::row::Row;
use crate::sql::Sql;

pub(super) static SOURCE: Source = Source { object: Object::Opportunity, select, decode };

fn select(q: &mut Sql, subject: Subject, who: &Actor) -> bool {
    let (column, id) = match subject {
        Subject::Customer(id) => ("customer_id", id),
        Subject::Company(id) => ("company_id", id),
        Subject::Opportunity(id) => ("id", id),
    };
    let kind = format!(
        "CASE WHEN c.from_stage IS NULL THEN {} WHEN c.outcome = 'won' THEN {} WHEN c.outcome = 'lost' THEN {} ELSE {} END",
        code(EventKind::OpportunityCreated),
        code(EventKind::OpportunityWon),
        code(EventKind::OpportunityLost),
        code(EventKind::StageChanged)
    );
    q.push(&format!(
        "SELECT c.at AS at, {kind} AS kind, c.id AS id, o.id AS opportunity_id, o.name AS title, \
         COALESCE(f.name, c.from_stage) AS from_name, COALESCE(t.name, c.to_stage) AS to_name, c.actor_id AS actor_id, u.name AS actor_name \
         FROM opportunity_stage_changes c JOIN opportunities o ON o.id = c.opportunity_id \
         LEFT JOIN pipeline_stages f ON f.pipeline_id = c.pipeline_id AND f.stage_key = c.from_stage \
         LEFT JOIN pipeline_stages t ON t.pipeline_id = c.pipeline_id AND t.stage_key = c.to_stage \
         LEFT JOIN users u ON u.id = c.actor_id WHERE o.deleted_at IS NULL AND o.{column} = "
    ))
    .arg(id);
    visible(q, who, "o");
    true
}

fn decode(r: &dyn Row) -> Result<TimelineEvent> {
    let kind = EventKind::from_code(r.get("kind")?).unwrap_or(EventKind::StageChanged);
    let to: String = r.get("to_name")?;
    let moved = || format!("{} → {to}", r.get::<Option<String>>("from_name").ok().flatten().unwrap_or_default());
    let summary = match kind {
        EventKind::OpportunityCreated => format!("Created in {to}"),
        EventKind::OpportunityWon => format!("Won: {}", moved()),
        EventKind::OpportunityLost => format!("Lost: {}", moved()),
        _ => moved(),
    };
    let opportunity: i64 = r.get("opportunity_id")?;
    let (actor_id, actor_name) = actor(r)?;
    Ok(TimelineEvent {
        at: r.get("at")?,
        kind,
        id: r.get("id")?,
        record_type: "opportunity".into(),
        record_id: opportunity,
        title: r.get("title")?,
        summary,
        actor_id,
        actor_name,
        link: format!("/opportunities/{opportunity}"),
    })
}
