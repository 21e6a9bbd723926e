//! The communication log on a person's timeline (issue 12 §11): each campaign message the
//! person was sent, and its delivery, opening, click, bounce, unsubscribe or complaint, at the
//! time the campaign membership first reached that milestone. Opens and clicks are people's
//! only: machine opens and clicks move no milestone (see `marketing::tracking`). Shown where
//! the user may see the campaign. A company's timeline has the messages of its people (those
//! the user may see), each naming its person.

use rapport_domain::permissions::{Actor, Object};
use rapport_domain::timeline::{EventKind, Subject, TimelineEvent};

use super::{Source, code};
use crate::Result;
use crate::records::visible;
use crate::row::Row;
use crate::sql::Sql;

pub(super) static SOURCE: Source = Source { object: Object::Campaign, select, decode };

/// Each event, the membership's column holding its time, and how it reads.
const EVENTS: [(EventKind, &str, &str); 7] = [
    (EventKind::MessageSent, "sent_at", "Sent"),
    (EventKind::MessageDelivered, "delivered_at", "Delivered"),
    (EventKind::MessageOpened, "opened_at", "Opened"),
    (EventKind::MessageClicked, "clicked_at", "Clicked a link"),
    (EventKind::MessageBounced, "bounced_at", "Bounced"),
    (EventKind::MessageUnsubscribed, "unsubscribed_at", "Unsubscribed"),
    (EventKind::MessageComplained, "complained_at", "Marked as spam"),
];

fn select(q: &mut Sql, subject: Subject, who: &Actor) -> bool {
    let (person, named, id) = match subject {
        Subject::Customer(id) => ("m.person_id = ", "CAST(NULL AS TEXT)", id),
        Subject::Company(id) => ("p.company_id = ", "p.name", id),
        Subject::Opportunity(_) => return false,
    };
    for (i, (kind, at, _)) in EVENTS.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push(&format!(
            "SELECT m.{at} AS at, {} AS kind, m.id AS id, c.id AS campaign_id, c.name AS title, c.channel AS channel, \
             {named} AS person_name \
             FROM campaign_members m JOIN campaigns c ON c.id = m.campaign_id JOIN customers p ON p.id = m.person_id \
             WHERE c.deleted_at IS NULL AND p.deleted_at IS NULL AND m.{at} IS NOT NULL AND {person}",
            code(*kind)
        ))
        .arg(id);
        visible(q, who, "c");
        if matches!(subject, Subject::Company(_)) {
            visible(q, who, "p");
        }
    }
    true
}

fn decode(r: &dyn Row) -> Result<TimelineEvent> {
    let kind = EventKind::from_code(r.get("kind")?).unwrap_or(EventKind::MessageSent);
    let what = EVENTS.iter().find(|(k, _, _)| *k == kind).map(|(_, _, w)| *w).unwrap_or("Sent");
    let campaign: i64 = r.get("campaign_id")?;
    let channel: Option<String> = r.get("channel")?;
    // On a company's timeline the person is named; on the person's own it is them.
    let to = match r.get::<Option<String>>("person_name")? {
        Some(name) if !name.is_empty() => format!(" ({name})"),
        _ => String::new(),
    };
    Ok(TimelineEvent {
        at: r.get("at")?,
        kind,
        id: r.get("id")?,
        record_type: "campaign".into(),
        record_id: campaign,
        title: r.get("title")?,
        summary: format!("{what}{to} · {} campaign", channel.unwrap_or_default().replace('_', " ")),
        actor_id: None,
        actor_name: None,
        link: format!("/marketing/campaigns/{campaign}"),
    })
}
