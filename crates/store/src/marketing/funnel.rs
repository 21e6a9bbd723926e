//! A campaign's funnel: how many of its members (that the reader may see) reached each
//! response milestone. A member counts at every milestone up to the furthest one reached
//! (`record_response` fills the earlier ones), and opens and clicks are people's only, as
//! machine opens and clicks move no milestone.

use rapport_domain::marketing::members::ResponseState;
use rapport_domain::permissions::Actor;

use crate::records::visible;
use crate::sql::Sql;
use crate::{Result, Store};

impl Store {
    /// Members per milestone, for every state after `member` in path order (sent, delivered,
    /// opened, clicked, responded, converted, then unsubscribed, bounced, complained).
    pub async fn campaign_funnel(&self, actor: &Actor, campaign_id: i64) -> Result<Vec<(ResponseState, i64)>> {
        self.get_campaign(actor, campaign_id).await?;
        let states: Vec<(ResponseState, &str)> = ResponseState::ALL.into_iter().filter_map(|s| Some((s, s.column()?))).collect();
        let counts: Vec<String> = states.iter().map(|(s, col)| format!("COUNT(m.{col}) AS {}", s.as_str())).collect();
        let mut q = Sql::new(&format!(
            "SELECT {} FROM campaign_members m JOIN customers p ON p.id = m.person_id AND p.deleted_at IS NULL WHERE m.campaign_id = ",
            counts.join(", ")
        ));
        q.arg(campaign_id);
        visible(&mut q, actor, "p");
        let row = self.read(&q, |r| states.iter().map(|(s, _)| Ok((*s, r.get::<i64>(s.as_str())?))).collect::<Result<Vec<_>>>()).await?;
        Ok(row.into_iter().next().unwrap_or_default())
    }
}
