//! Campaigns, on the shared record machinery, with what only campaigns do: count their
//! members, and keep their parent chain free of loops.

use rapport_domain::ValidationErrors;
use rapport_domain::marketing::campaigns::{Campaign, CampaignData};
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::record::RecordSpec;
use rapport_domain::sales::Rejected;

use crate::records::columns::ALIAS;
use crate::records::engine::Table;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx};

impl Table for Campaign {
    const SPEC: &'static RecordSpec = &rapport_domain::marketing::campaigns::SPEC;
    type Data = CampaignData;

    fn data(&self) -> &CampaignData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Campaign {
        Campaign::tombstone(self)
    }

    fn extra_cols(q: &mut Sql, _actor: &Actor) {
        q.push(&format!(", (SELECT COUNT(*) FROM campaign_members m WHERE m.campaign_id = {ALIAS}.id) AS members_count"));
    }

    async fn after_update(_: &Store, tx: &mut WriteTx, _: &Actor, id: i64, before: &CampaignData, after: &CampaignData) -> Result<()> {
        if after.parent_id != before.parent_id {
            check_parent(tx, id, after.parent_id).await?;
        }
        Ok(())
    }
}

/// Refuses a parent that is the campaign itself or one of its descendants.
async fn check_parent(tx: &mut WriteTx, id: i64, parent: Option<i64>) -> Result<()> {
    let mut at = parent;
    for _ in 0..100 {
        let Some(p) = at else { return Ok(()) };
        if p == id {
            return Err(Error::Invalid(ValidationErrors::single("parent_id", "a campaign cannot be its own parent or its descendant's")));
        }
        at = tx.fetch_optional(&sql("SELECT parent_id FROM campaigns WHERE id = ?", [p.into()]), |r| r.get("parent_id")).await?.flatten();
    }
    Err(Error::Invalid(ValidationErrors::single("parent_id", "campaigns nest at most 100 deep")))
}

impl Store {
    /// One live campaign the actor reaches.
    pub async fn get_campaign(&self, actor: &Actor, id: i64) -> Result<Campaign> {
        self.get_record(actor, id).await
    }

    /// A page of campaigns matching `p`.
    pub async fn list_campaigns(&self, actor: &Actor, p: &ListParams) -> Result<Page<Campaign>> {
        self.list_records(actor, p).await
    }

    /// Every live campaign the actor reaches (the campaign-effect analysis reads them all).
    pub async fn all_campaigns(&self, actor: &Actor) -> Result<Vec<Campaign>> {
        let mut out = vec![];
        let mut p = ListParams { limit: 500, ..ListParams::default() };
        loop {
            let page = self.list_campaigns(actor, &p).await?;
            out.extend(page.data);
            match page.next_cursor {
                Some(c) => p.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Adds a campaign.
    pub async fn create_campaign<F>(&self, actor: &Actor, build: F) -> Result<Campaign>
    where
        F: FnOnce() -> std::result::Result<CampaignData, Rejected>,
    {
        require(actor, Object::Campaign, Action::Create)?;
        self.create_record(actor, build()?).await
    }

    /// Changes the fields of a campaign that were sent; a status step the machine does not
    /// allow is refused with the allowed ones.
    pub async fn update_campaign<F>(&self, actor: &Actor, id: i64, if_match: Option<i64>, change: F) -> Result<Campaign>
    where
        F: FnOnce(&CampaignData) -> std::result::Result<CampaignData, Rejected>,
    {
        self.update_record(actor, id, if_match, change).await
    }

    /// Soft-deletes a campaign (its members stay, for the reports).
    pub async fn delete_campaign(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Campaign>(actor, id, if_match).await
    }

    /// Adds many campaigns in one transaction with one audit row (demo data).
    pub async fn create_campaigns_batch(&self, actor: &Actor, batch: &[CampaignData]) -> Result<Vec<i64>> {
        self.create_records::<Campaign>(actor, batch).await
    }
}
