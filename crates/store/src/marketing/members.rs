//! Campaign members: who a campaign reaches (added by id, from a segment's members at that
//! moment, or from a list) and how far each got ([`record_response`], which the API and the
//! email machinery share).

use std::collections::BTreeMap;

use rapport_domain::ValidationErrors;
use rapport_domain::marketing::campaigns::CampaignStatus;
use rapport_domain::marketing::members::{Member, ResponseState};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::Page;
use rapport_domain::sales::Refused;
use serde_json::json;

use super::segments::audience_condition;
use crate::records::visible;
use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx};

/// Who to add to a campaign.
#[derive(Debug, Clone, Default)]
pub struct AddMembers {
    /// People by id.
    pub person_ids: Vec<i64>,
    /// The members of this segment now (dynamic: its rules; static: its list).
    pub segment_id: Option<i64>,
}

/// Records that the member `person_id` of `campaign_id` reached `state` at `at` (RFC 3339),
/// inside the caller's transaction: the status moves only forward, each milestone keeps its
/// first time, and a forward state fills the earlier milestones not seen (a click is an open).
/// Returns the new status, or `None` when nothing changed (a late or repeated report); refuses
/// once the member unsubscribed, bounced or complained, and answers `NotFound` for a person who
/// is not a member.
pub(crate) async fn record_response(
    tx: &mut WriteTx,
    campaign_id: i64,
    person_id: i64,
    state: ResponseState,
    at: &str,
) -> Result<Option<ResponseState>> {
    let q = sql("SELECT status FROM campaign_members WHERE campaign_id = ? AND person_id = ?", [campaign_id.into(), person_id.into()]);
    let current: String = tx.fetch_optional(&q, |r| r.get("status")).await?.ok_or(Error::NotFound)?;
    let current = ResponseState::parse(&current).unwrap_or(ResponseState::Member);
    let Some(next) = current.record(state)? else { return Ok(None) };
    let mut q = Sql::new("UPDATE campaign_members SET status = ");
    q.arg(next.as_str()).push(", updated_at = ").arg(now_rfc3339());
    let filled: Vec<ResponseState> = if next.is_terminal() {
        vec![next]
    } else {
        ResponseState::ALL.into_iter().filter(|s| *s > ResponseState::Member && *s <= next).collect()
    };
    for s in filled {
        let col = s.column().unwrap_or("sent_at");
        q.push(&format!(", {col} = COALESCE({col}, ")).arg(at.to_string()).push(")");
    }
    q.push(" WHERE campaign_id = ").arg(campaign_id).push(" AND person_id = ").arg(person_id);
    tx.execute(&q).await?;
    Ok(Some(next))
}

fn member_row(r: &dyn Row) -> Result<Member> {
    let mut reached = BTreeMap::new();
    for s in ResponseState::ALL {
        if let Some(col) = s.column()
            && let Some(t) = r.get::<Option<String>>(col)?
        {
            reached.insert(s.as_str().to_string(), t);
        }
    }
    Ok(Member {
        campaign_id: r.get("campaign_id")?,
        person_id: r.get("person_id")?,
        person_name: r.get("person_name")?,
        status: ResponseState::parse(&r.get::<String>("status")?).unwrap_or(ResponseState::Member),
        source: r.get("source")?,
        added_at: r.get("added_at")?,
        reached,
    })
}

impl Store {
    /// Adds people to a campaign the actor may change: by id and/or a segment's members now.
    /// Only live people the actor may see join; those already members stay as they are.
    /// How many joined.
    pub async fn add_members(&self, actor: &Actor, campaign_id: i64, add: AddMembers) -> Result<u64> {
        require(actor, Object::Campaign, Action::Update)?;
        let c = self.get_campaign(actor, campaign_id).await?;
        if matches!(c.data.status, CampaignStatus::Completed | CampaignStatus::Cancelled) {
            let state = c.data.status.as_str();
            return Err(Error::Refused(Refused::new(
                "campaign",
                "add members",
                state,
                vec![],
                format!("a {state} campaign takes no new members"),
            )));
        }
        if add.person_ids.is_empty() && add.segment_id.is_none() {
            return Err(Error::Invalid(ValidationErrors::single("person_ids", "name people (person_ids) or a segment (segment_id)")));
        }
        if add.person_ids.len() > 10_000 {
            return Err(Error::Invalid(ValidationErrors::single("person_ids", "at most 10000 people at a time")));
        }
        let audience = match add.segment_id {
            Some(s) => Some(self.audience(actor, s).await.map_err(|e| match e {
                Error::NotFound => Error::Invalid(ValidationErrors::single("segment_id", format!("there is no segment with id {s}"))),
                other => other,
            })?),
            None => None,
        };
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let insert = |source: &str| {
            let mut q = Sql::new("INSERT INTO campaign_members (campaign_id, person_id, status, source, added_at, updated_at) SELECT ");
            q.arg(campaign_id).push(", p.id, 'member', ").arg(source.to_string()).push(", ").arg(now.clone()).push(", ").arg(now.clone());
            q.push(" FROM customers p WHERE p.deleted_at IS NULL");
            q
        };
        let mut added = 0;
        for chunk in add.person_ids.chunks(200) {
            let mut q = insert("manual");
            q.push(" AND p.id IN (");
            for (i, id) in chunk.iter().enumerate() {
                q.push(if i == 0 { "" } else { ", " }).arg(*id);
            }
            q.push(")");
            visible(&mut q, actor, "p");
            q.push(" ON CONFLICT (campaign_id, person_id) DO NOTHING");
            added += tx.execute(&q).await?;
        }
        if let Some(a) = &audience {
            let mut q = insert(if a.rules.is_none() { "list" } else { "segment" });
            q.push(" AND ");
            audience_condition(&mut q, self.backend, "p", a);
            visible(&mut q, actor, "p");
            q.push(" ON CONFLICT (campaign_id, person_id) DO NOTHING");
            added += tx.execute(&q).await?;
        }
        self.audit(&mut tx, actor, "update", "campaign", Some(campaign_id), json!({"members_added": added, "segment_id": add.segment_id}))
            .await?;
        tx.commit().await?;
        Ok(added)
    }

    /// A page of a campaign's members the actor may see, by person id, optionally in one status.
    pub async fn list_members(
        &self,
        actor: &Actor,
        campaign_id: i64,
        status: Option<ResponseState>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Page<Member>> {
        require(actor, Object::Customer, Action::Read)?;
        self.get_campaign(actor, campaign_id).await?;
        let mut q = Sql::new(
            "SELECT m.campaign_id, m.person_id, p.name AS person_name, m.status, m.source, m.added_at, m.sent_at, m.delivered_at, \
             m.opened_at, m.clicked_at, m.responded_at, m.converted_at, m.unsubscribed_at, m.bounced_at, m.complained_at \
             FROM campaign_members m JOIN customers p ON p.id = m.person_id AND p.deleted_at IS NULL WHERE m.campaign_id = ",
        );
        q.arg(campaign_id);
        if let Some(s) = status {
            q.push(" AND m.status = ").arg(s.as_str());
        }
        if let Some(a) = after {
            q.push(" AND m.person_id > ").arg(a);
        }
        visible(&mut q, actor, "p");
        let limit = limit.clamp(1, 500);
        q.push(" ORDER BY m.person_id LIMIT ").arg(limit as i64 + 1);
        let mut rows = self.read(&q, member_row).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|m| m.person_id.to_string()) } else { None };
        Ok(Page { data: rows, next_cursor, sync_token: None })
    }

    /// How many of a campaign's members the actor may see are in each status (every status
    /// named, zeros included).
    pub async fn member_counts(&self, actor: &Actor, campaign_id: i64) -> Result<BTreeMap<String, i64>> {
        self.get_campaign(actor, campaign_id).await?;
        let mut q = Sql::new(
            "SELECT m.status AS status, COUNT(*) AS n FROM campaign_members m JOIN customers p ON p.id = m.person_id \
             AND p.deleted_at IS NULL WHERE m.campaign_id = ",
        );
        q.arg(campaign_id);
        visible(&mut q, actor, "p");
        q.push(" GROUP BY m.status");
        let mut out: BTreeMap<String, i64> = ResponseState::NAMES.iter().map(|s| (s.to_string(), 0)).collect();
        for (s, n) in self.read(&q, |r| Ok((r.get::<String>("status")?, r.get::<i64>("n")?))).await? {
            out.insert(s, n);
        }
        Ok(out)
    }

    /// Records a member's response through the API (marketers and admins; audited): see
    /// [`record_response`].
    /// The member's status afterwards, and whether this response changed it.
    pub async fn respond(&self, actor: &Actor, campaign_id: i64, person_id: i64, state: ResponseState) -> Result<(ResponseState, bool)> {
        require(actor, Object::Campaign, Action::Update)?;
        self.get_campaign(actor, campaign_id).await?;
        let mut tx = self.write_tx().await?;
        let next = record_response(&mut tx, campaign_id, person_id, state, &now_rfc3339()).await?;
        let now = match next {
            Some(n) => {
                let diff = json!({"person_id": person_id, "response": n.as_str()});
                self.audit(&mut tx, actor, "update", "campaign", Some(campaign_id), diff).await?;
                n
            }
            None => {
                let q = sql(
                    "SELECT status FROM campaign_members WHERE campaign_id = ? AND person_id = ?",
                    [campaign_id.into(), person_id.into()],
                );
                let s: String = tx.fetch_one(&q, |r| r.get("status")).await?;
                ResponseState::parse(&s).unwrap_or(ResponseState::Member)
            }
        };
        tx.commit().await?;
        Ok((now, next.is_some()))
    }
}
