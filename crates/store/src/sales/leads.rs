//! Converting a lead: in one transaction the person is qualified and becomes a prospect, an
//! opportunity is created in the pipeline's first open stage, and the company named is found
//! among those the user can see (by name, case and accents ignored) or created, and linked to
//! both. Every write is audited in that transaction, so a refused or failed conversion leaves
//! nothing behind.

use rapport_domain::company::{Company, CompanyData};
use rapport_domain::customer::Customer;
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::sales::lead::{CompanyLink, ConvertLeadInput, LeadConverted, LeadFacts};
use rapport_domain::sales::opportunity::Opportunity;
use rapport_domain::text;
use serde_json::json;

use crate::records::visible;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx};

impl Store {
    /// Converts lead `id` (see the module). A person the actor cannot see is "not found"; one
    /// who is not a lead, was converted already or is disqualified is [`Error::Refused`] with the
    /// allowed actions; wrong input is [`Error::Invalid`] naming the field.
    pub async fn convert_lead(&self, actor: &Actor, id: i64, input: ConvertLeadInput) -> Result<LeadConverted> {
        require(actor, Object::Customer, Action::Update)?;
        require(actor, Object::Opportunity, Action::Create)?;
        let mut tx = self.write_tx().await?;
        // Two conversions of one lead at once: the second waits here, then finds it converted.
        let lock = self.backend.lock_rows();
        tx.fetch_optional(&sql(&format!("SELECT id FROM customers WHERE id = ?{lock}"), [id.into()]), |_| Ok(())).await?;
        let person = self.record_in::<Customer>(&mut tx, actor, id, false).await?;
        let facts = LeadFacts {
            person_id: id,
            name: &person.data.name,
            lifecycle_stage: person.data.lifecycle_stage,
            lead: &person.data.lead,
            company_id: person.data.company_id,
            company_name: person.company_name.as_deref(),
            owner_id: person.data.owner_id.or(actor.user_id),
        };
        let conversion = self.pipelines_in(&mut tx).await?.with_context(&now_rfc3339(), |ctx| input.apply(&facts, ctx))?;
        let mut opportunity = conversion.opportunity;
        let (company_id, company_created) = match &conversion.company {
            CompanyLink::None => (None, false),
            CompanyLink::Existing(c) => (Some(*c), false),
            CompanyLink::FindOrCreate(name) => match self.visible_company_named(&mut tx, actor, name).await? {
                Some(c) => (Some(c), false),
                None => {
                    let data = CompanyData { name: name.clone(), owner_id: opportunity.owner_id, ..CompanyData::default() };
                    (Some(self.create_record_in::<Company>(&mut tx, actor, &data).await?), true)
                }
            },
        };
        opportunity.company_id = company_id;
        let opportunity_id = self.create_opportunity_in(&mut tx, actor, &opportunity).await?;
        let mut lead = conversion.lead;
        lead.converted_opportunity_id = Some(opportunity_id);
        let stage = conversion.lifecycle_stage;
        self.update_in::<Customer, _, Error>(&mut tx, actor, id, None, |cur| {
            let mut d = cur.clone();
            d.lead = lead;
            d.lifecycle_stage = stage;
            d.company_id = cur.company_id.or(company_id);
            Ok(d)
        })
        .await?;
        let diff = json!({"opportunity_id": opportunity_id, "company_id": company_id, "company_created": company_created});
        self.audit(&mut tx, actor, "convert", "customer", Some(id), diff).await?;
        let converted = LeadConverted {
            person: self.as_seen::<Customer>(&mut tx, actor, id).await?,
            opportunity: self.as_seen::<Opportunity>(&mut tx, actor, opportunity_id).await?,
            company: match company_id {
                Some(c) => Some(self.as_seen::<Company>(&mut tx, actor, c).await?),
                None => None,
            },
            company_created,
        };
        tx.commit().await?;
        Ok(converted)
    }

    /// The oldest live company named `name` (case and accents ignored) that the actor can see.
    async fn visible_company_named(&self, tx: &mut WriteTx, actor: &Actor, name: &str) -> Result<Option<i64>> {
        let mut q = Sql::new("SELECT t.id FROM companies t WHERE t.sort_name = ");
        q.arg(text::fold(name)).push(" AND t.deleted_at IS NULL");
        visible(&mut q, actor, "t");
        q.push(" ORDER BY t.id LIMIT 1");
        tx.fetch_optional(&q, |r| r.get::<i64>("id")).await
    }
}
