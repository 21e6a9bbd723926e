//! Leads: people at lifecycle stage `lead`, with a lead status, and their conversion into an
//! opportunity. There is no lead table: these are fields of the person ([`LeadData`]) and rules
//! the person's store applies.
//!
//! Status moves freely among `new`, `working`, `nurturing` and `disqualified` (which needs a
//! reason, and may be left again when a lead re-engages). `qualified` is reached only by
//! converting the lead, and is then final: converting twice is [`Refused`] (409), and so is
//! converting a disqualified lead before it is requalified (set back to new, working or
//! nurturing).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::opportunity::{OpportunityContext, OpportunityData, OpportunityInput};
use super::{Refused, Rejected, required_text};
use crate::customer::LifecycleStage;
use crate::values::bounded_text;
use crate::{ValidationErrors, double_option, text};

/// Where a lead stands in qualification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Not yet looked at.
    #[default]
    New,
    /// Being contacted.
    Working,
    /// Not ready to buy; kept warm.
    Nurturing,
    /// Converted into an opportunity (set only by conversion).
    Qualified,
    /// Not a fit, with a reason.
    Disqualified,
}

impl LeadStatus {
    /// Every status.
    pub const ALL: [LeadStatus; 5] = [Self::New, Self::Working, Self::Nurturing, Self::Qualified, Self::Disqualified];
    /// Their names, in the same order.
    pub const NAMES: &'static [&'static str] = &["new", "working", "nurturing", "qualified", "disqualified"];

    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Working => "working",
            Self::Nurturing => "nurturing",
            Self::Qualified => "qualified",
            Self::Disqualified => "disqualified",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<LeadStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// What may be done now: the other statuses a person may set, and `convert` (not for a
    /// disqualified lead, which is requalified first); nothing once qualified.
    pub fn allowed_actions(self) -> Vec<&'static str> {
        if self == Self::Qualified {
            return vec![];
        }
        let mut a: Vec<&'static str> =
            [Self::New, Self::Working, Self::Nurturing, Self::Disqualified].into_iter().filter(|s| *s != self).map(Self::as_str).collect();
        if self != Self::Disqualified {
            a.push("convert");
        }
        a
    }

    /// The status after a person sets `to`, or the refusal: `qualified` comes only from
    /// converting, and a qualified (converted) lead's status no longer changes. Setting the
    /// current status is no change and always fine.
    pub fn change_to(self, to: LeadStatus) -> Result<LeadStatus, Refused> {
        let refuse =
            |reason: &str| Err(Refused::new("lead", to.as_str(), self.as_str(), self.allowed_actions(), reason).on_field("lead_status"));
        if self == to {
            Ok(to)
        } else if self == Self::Qualified {
            refuse("a converted lead stays qualified")
        } else if to == Self::Qualified {
            refuse("a lead becomes qualified by converting it")
        } else {
            Ok(to)
        }
    }
}

/// The lead fields of a person, always valid (built by [`LeadInput::apply`] and
/// [`ConvertLeadInput::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeadData {
    /// Lead status.
    pub lead_status: LeadStatus,
    /// Why the lead was disqualified; present exactly when it is.
    pub disqualified_reason: Option<String>,
    /// When the lead was converted (read-only).
    pub converted_at: Option<String>,
    /// The opportunity the conversion created (read-only; the store sets it).
    pub converted_opportunity_id: Option<i64>,
}

/// What a client sends to change a lead's status.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    /// New status (not `qualified`: convert the lead instead).
    pub lead_status: Option<LeadStatus>,
    /// Reason, required to disqualify; refused on a lead that is not disqualified.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub disqualified_reason: Option<Option<String>>,
}

impl LeadInput {
    /// Applies a status change to the lead fields of a person at `lifecycle`. Only a lead has a
    /// lead status to change; the refusals of [`LeadStatus::change_to`] are 409s, a missing or
    /// misplaced reason is a field error (reported first).
    pub fn apply(self, current: &LeadData, lifecycle: LifecycleStage) -> Result<LeadData, Rejected> {
        if self.lead_status.is_none() && self.disqualified_reason.is_none() {
            return Ok(current.clone());
        }
        if lifecycle != LifecycleStage::Lead {
            let reason = format!("only a lead has a lead status, and this person is a {}", lifecycle.as_str());
            let action = self.lead_status.unwrap_or(current.lead_status).as_str();
            return Err(Refused::new("lead", action, lifecycle.as_str(), vec![], reason).on_field("lead_status").into());
        }
        let mut errs = ValidationErrors::default();
        let mut d = current.clone();
        let mut reason_ok = true;
        let reason_sent = self.disqualified_reason.map(|v| {
            v.and_then(|s| match bounded_text(&s, 500) {
                Ok(r) => r,
                Err(m) => {
                    reason_ok = false;
                    errs.add("disqualified_reason", m);
                    None
                }
            })
        });
        let reason = match &reason_sent {
            Some(v) => v.clone(),
            None => d.disqualified_reason.clone(),
        };
        let mut refusal = None;
        match current.lead_status.change_to(self.lead_status.unwrap_or(current.lead_status)) {
            Ok(s) => d.lead_status = s,
            Err(r) => refusal = Some(r),
        }
        if refusal.is_none() {
            if d.lead_status == LeadStatus::Disqualified {
                d.disqualified_reason = reason;
                if d.disqualified_reason.is_none() && reason_ok {
                    errs.add("disqualified_reason", "is required when a lead is disqualified");
                }
            } else {
                if matches!(reason_sent, Some(Some(_))) {
                    errs.add("disqualified_reason", "only a disqualified lead has a disqualification reason");
                }
                d.disqualified_reason = None;
            }
        }
        if !errs.0.is_empty() {
            return Err(errs.into());
        }
        match refusal {
            Some(r) => Err(r.into()),
            None => Ok(d),
        }
    }
}

/// What converting a lead needs to know of the person (read by the store in the converting
/// transaction).
#[derive(Debug, Clone, Copy)]
pub struct LeadFacts<'a> {
    /// The person's id.
    pub person_id: i64,
    /// The person's name.
    pub name: &'a str,
    /// The person's lifecycle stage.
    pub lifecycle_stage: LifecycleStage,
    /// The person's lead fields.
    pub lead: &'a LeadData,
    /// The company the person is linked to.
    pub company_id: Option<i64>,
    /// That company's name.
    pub company_name: Option<&'a str>,
    /// Who owns the opportunity when the input names nobody: the person's owner, or the
    /// converting user for an unowned lead.
    pub owner_id: Option<i64>,
}

/// Checks that the person is a lead not yet converted: a person past lifecycle stage `lead`,
/// or a lead already qualified or converted, is refused (409), so converting twice never makes
/// a second opportunity; a disqualified lead is refused too, naming the statuses that
/// requalify it.
pub fn check_convertible(lead: &LeadFacts) -> Result<(), Refused> {
    if lead.lifecycle_stage != LifecycleStage::Lead {
        let stage = lead.lifecycle_stage.as_str();
        return Err(Refused::new(
            "lead",
            "convert",
            stage,
            vec![],
            format!("this person is a {stage}, no longer a lead, so there is nothing to convert"),
        ));
    }
    if lead.lead.lead_status == LeadStatus::Qualified || lead.lead.converted_at.is_some() {
        return Err(Refused::new("lead", "convert", "qualified", vec![], "the lead was already converted"));
    }
    if lead.lead.lead_status == LeadStatus::Disqualified {
        let reason = "a disqualified lead is requalified (its status set to new, working or nurturing) before it is converted";
        return Err(
            Refused::new("lead", "convert", "disqualified", LeadStatus::Disqualified.allowed_actions(), reason).on_field("lead_status")
        );
    }
    Ok(())
}

/// The company a converted opportunity (and the person) is linked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompanyLink {
    /// No company.
    None,
    /// The company the lead is already linked to.
    Existing(i64),
    /// A company the store finds by this name (case- and accent-insensitively) or creates, and
    /// links both the person and the opportunity to.
    FindOrCreate(String),
}

/// What a conversion writes, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadConversion {
    /// The opportunity to create (`company_id` is still empty for [`CompanyLink::FindOrCreate`]).
    pub opportunity: OpportunityData,
    /// The company to link.
    pub company: CompanyLink,
    /// The person's new lead fields: qualified, converted now (set `converted_opportunity_id`
    /// once the opportunity has its id).
    pub lead: LeadData,
    /// The person's new lifecycle stage: prospect.
    pub lifecycle_stage: LifecycleStage,
}

/// What converting a lead made: the person as now (qualified, at stage `prospect`), the
/// opportunity, and the company linked, if any.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeadConverted {
    /// The person, converted.
    pub person: crate::customer::Customer,
    /// The opportunity created.
    pub opportunity: super::opportunity::Opportunity,
    /// The company the person and the opportunity are linked to.
    pub company: Option<crate::company::Company>,
    /// Whether that company was created by the conversion (else it existed).
    pub company_created: bool,
}

/// What a client sends to convert a lead: the opportunity to create (its currency required)
/// and, for a lead without a company, the name of the company to link or create. The
/// opportunity starts in the pipeline's first open stage.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertLeadInput {
    /// Pipeline of the opportunity; the default pipeline when left out.
    pub pipeline_id: Option<i64>,
    /// The opportunity's name; "<company or person> deal" when left out.
    pub name: Option<String>,
    /// Expected value in minor units, 0 or more (0 when left out).
    pub amount_minor: Option<i64>,
    /// ISO 4217 code of the amount.
    pub currency: Option<String>,
    /// Expected close day (YYYY-MM-DD).
    pub expected_close_date: Option<String>,
    /// The opportunity's owner; the lead's owner when left out, nobody with `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
    /// Company to link the lead and the opportunity to: an existing one you can see with this
    /// name (case and accents ignored), else a new one.
    pub company_name: Option<String>,
}

impl ConvertLeadInput {
    /// Checks the lead may be converted ([`check_convertible`], 409), then validates the input
    /// (errors on `company_name` and the opportunity's fields, by their names here).
    pub fn apply(self, lead: &LeadFacts, ctx: &OpportunityContext) -> Result<LeadConversion, Rejected> {
        check_convertible(lead)?;
        let mut errs = ValidationErrors::default();
        let company = match self.company_name.as_deref().filter(|n| !n.trim().is_empty()).map(|n| required_text(n, 200)) {
            None => lead.company_id.map_or(CompanyLink::None, CompanyLink::Existing),
            Some(Err(m)) => {
                errs.add("company_name", m);
                CompanyLink::None
            }
            Some(Ok(name)) => match (lead.company_id, lead.company_name) {
                (None, _) => CompanyLink::FindOrCreate(name),
                (Some(id), Some(existing)) if text::fold(existing) == text::fold(&name) => CompanyLink::Existing(id),
                (Some(_), existing) => {
                    let existing = existing.unwrap_or("another company");
                    errs.add("company_name", format!("the lead already works for {existing}: unlink it first, or leave company_name out"));
                    CompanyLink::None
                }
            },
        };
        let who = match &company {
            CompanyLink::FindOrCreate(name) => name.as_str(),
            _ => lead.company_name.unwrap_or(lead.name),
        };
        let opp = OpportunityInput {
            name: Some(self.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| format!("{who} deal"))),
            amount_minor: self.amount_minor,
            currency: self.currency,
            expected_close_date: self.expected_close_date.map(Some),
            owner_id: self.owner_id.or(lead.owner_id.map(Some)),
            customer_id: Some(Some(lead.person_id)),
            company_id: Some(match company {
                CompanyLink::Existing(id) => Some(id),
                _ => None,
            }),
            pipeline_id: self.pipeline_id,
            ..OpportunityInput::default()
        };
        let opportunity = match opp.apply(None, ctx) {
            Ok(o) => Some(o),
            Err(Rejected::Invalid(e)) => {
                errs.0.extend(e.0);
                None
            }
            Err(Rejected::Refused(r)) => return Err(r.into()),
        };
        let (Some(opportunity), true) = (opportunity, errs.0.is_empty()) else {
            return Err(errs.into());
        };
        let lead = LeadData {
            lead_status: LeadStatus::Qualified,
            disqualified_reason: None,
            converted_at: Some(ctx.now.to_string()),
            converted_opportunity_id: None,
        };
        Ok(LeadConversion { opportunity, company, lead, lifecycle_stage: LifecycleStage::Prospect })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sales::pipeline::{PipelineData, StageOutcome};
    use LeadStatus::*;

    const NOW: &str = "2026-03-10T12:00:00.000000Z";

    fn input(json: &str) -> LeadInput {
        serde_json::from_str(json).unwrap()
    }

    fn lead(status: LeadStatus, reason: Option<&str>) -> LeadData {
        LeadData { lead_status: status, disqualified_reason: reason.map(str::to_string), ..LeadData::default() }
    }

    fn fields(r: Rejected) -> Vec<String> {
        match r {
            Rejected::Invalid(e) => e.0.into_iter().map(|e| e.field).collect(),
            Rejected::Refused(r) => panic!("expected field errors, got refusal {r}"),
        }
    }

    fn refusal(r: Rejected) -> Refused {
        match r {
            Rejected::Refused(r) => r,
            Rejected::Invalid(e) => panic!("expected a refusal, got {e}"),
        }
    }

    #[test]
    fn every_status_change() {
        for from in LeadStatus::ALL {
            for to in LeadStatus::ALL {
                let got = from.change_to(to);
                let allowed = from == to || (from != Qualified && to != Qualified);
                assert_eq!(got.is_ok(), allowed, "{from:?} → {to:?}");
                match got {
                    Ok(s) => assert_eq!(s, to),
                    Err(r) => {
                        assert_eq!((r.object, r.action, r.state), ("lead", to.as_str(), from.as_str()));
                        assert_eq!((r.field, r.allowed.clone()), (Some("lead_status"), from.allowed_actions()));
                        let why = if from == Qualified {
                            "a converted lead stays qualified"
                        } else {
                            "a lead becomes qualified by converting it"
                        };
                        assert_eq!(r.reason, why);
                    }
                }
            }
        }
        assert_eq!(New.allowed_actions(), ["working", "nurturing", "disqualified", "convert"]);
        assert_eq!(Disqualified.allowed_actions(), ["new", "working", "nurturing"], "requalified before converting");
        assert!(Qualified.allowed_actions().is_empty());
        assert_eq!(
            New.change_to(Qualified).unwrap_err().to_string(),
            "a lead becomes qualified by converting it: allowed now: working, nurturing, disqualified, convert"
        );
        for s in LeadStatus::ALL {
            assert_eq!(LeadStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn disqualifying_needs_a_reason_and_only_then_keeps_one() {
        let new = LeadData::default();
        let lead_stage = LifecycleStage::Lead;
        assert_eq!(fields(input(r#"{"lead_status":"disqualified"}"#).apply(&new, lead_stage).unwrap_err()), ["disqualified_reason"]);
        assert_eq!(
            fields(input(r#"{"lead_status":"disqualified","disqualified_reason":"  "}"#).apply(&new, lead_stage).unwrap_err()),
            ["disqualified_reason"]
        );
        let long = format!(r#"{{"lead_status":"disqualified","disqualified_reason":"{}"}}"#, "x".repeat(501));
        let e = input(&long).apply(&new, lead_stage).unwrap_err();
        assert_eq!(fields(e), ["disqualified_reason"], "one error for a too long reason, not a second for a missing one");
        let d = input(r#"{"lead_status":"disqualified","disqualified_reason":" No budget "}"#).apply(&new, lead_stage).unwrap();
        assert_eq!((d.lead_status, d.disqualified_reason.as_deref()), (Disqualified, Some("No budget")));
        assert_eq!(
            input(r#"{"disqualified_reason":"Too small"}"#).apply(&d, lead_stage).unwrap().disqualified_reason.as_deref(),
            Some("Too small")
        );
        assert_eq!(fields(input(r#"{"disqualified_reason":null}"#).apply(&d, lead_stage).unwrap_err()), ["disqualified_reason"]);
        let back = input(r#"{"lead_status":"working"}"#).apply(&d, lead_stage).unwrap();
        assert_eq!((back.lead_status, back.disqualified_reason.as_deref()), (Working, None), "re-engaging drops the reason");
        assert_eq!(fields(input(r#"{"disqualified_reason":"x"}"#).apply(&back, lead_stage).unwrap_err()), ["disqualified_reason"]);
        assert_eq!(
            input(r#"{"lead_status":"nurturing","disqualified_reason":null}"#).apply(&back, lead_stage).unwrap().lead_status,
            Nurturing
        );
        assert_eq!(input("{}").apply(&d, LifecycleStage::Customer).unwrap(), d, "an empty input changes nothing");
    }

    #[test]
    fn status_refusals() {
        let r = refusal(input(r#"{"lead_status":"qualified"}"#).apply(&LeadData::default(), LifecycleStage::Lead).unwrap_err());
        assert_eq!((r.field, r.allowed.last().copied()), (Some("lead_status"), Some("convert")));
        let converted = LeadData { lead_status: Qualified, converted_at: Some(NOW.into()), ..LeadData::default() };
        let r = refusal(input(r#"{"lead_status":"working"}"#).apply(&converted, LifecycleStage::Lead).unwrap_err());
        assert_eq!(r.reason, "a converted lead stays qualified");
        assert_eq!(input(r#"{"lead_status":"qualified"}"#).apply(&converted, LifecycleStage::Lead).unwrap(), converted);
        let r = refusal(input(r#"{"lead_status":"working"}"#).apply(&LeadData::default(), LifecycleStage::Prospect).unwrap_err());
        assert_eq!(r.to_string(), "only a lead has a lead status, and this person is a prospect: no action is allowed now");
        let r = refusal(input(r#"{"lead_status":"disqualified"}"#).apply(&converted, LifecycleStage::Lead).unwrap_err());
        assert_eq!(r.state, "qualified", "the refusal wins over the missing reason of a status not reached");
        assert!(serde_json::from_str::<LeadInput>(r#"{"status":"new"}"#).is_err());
    }

    fn pipelines(id: i64) -> Option<PipelineData> {
        (id == 1).then(PipelineData::default_sales)
    }

    fn ctx() -> OpportunityContext<'static> {
        OpportunityContext { pipeline: &pipelines, default_pipeline_id: Some(1), default_currency: Some("USD"), now: NOW }
    }

    fn convert(json: &str, facts: &LeadFacts) -> Result<LeadConversion, Rejected> {
        serde_json::from_str::<ConvertLeadInput>(json).unwrap().apply(facts, &ctx())
    }

    fn facts<'a>(lead: &'a LeadData, company: Option<(i64, &'a str)>) -> LeadFacts<'a> {
        LeadFacts {
            person_id: 42,
            name: "Ann Lee",
            lifecycle_stage: LifecycleStage::Lead,
            lead,
            company_id: company.map(|c| c.0),
            company_name: company.map(|c| c.1),
            owner_id: Some(3),
        }
    }

    #[test]
    fn converting_qualifies_the_lead_and_makes_an_opportunity() {
        let l = lead(Working, None);
        let c = convert(r#"{"currency":"usd"}"#, &facts(&l, None)).unwrap();
        assert_eq!((c.opportunity.name.as_str(), c.opportunity.customer_id, c.opportunity.company_id), ("Ann Lee deal", Some(42), None));
        assert_eq!(
            (c.opportunity.owner_id, c.opportunity.currency.as_str(), c.opportunity.stage.as_str()),
            (Some(3), "USD", "qualification")
        );
        assert_eq!((c.company.clone(), c.lifecycle_stage), (CompanyLink::None, LifecycleStage::Prospect));
        assert_eq!(
            c.lead,
            LeadData { lead_status: Qualified, disqualified_reason: None, converted_at: Some(NOW.into()), converted_opportunity_id: None }
        );

        let c = convert(r#"{"company_name":" Acme ","currency":"USD"}"#, &facts(&l, None)).unwrap();
        assert_eq!((c.company, c.opportunity.name.as_str()), (CompanyLink::FindOrCreate("Acme".into()), "Acme deal"));
        let c = convert(r#"{"currency":"USD"}"#, &facts(&l, Some((8, "Acme")))).unwrap();
        assert_eq!((c.company, c.opportunity.company_id, c.opportunity.name.as_str()), (CompanyLink::Existing(8), Some(8), "Acme deal"));
        let c = convert(r#"{"company_name":"ACMÉ","currency":"USD"}"#, &facts(&l, Some((8, "Acme")))).unwrap();
        assert_eq!(c.company, CompanyLink::Existing(8), "the same company, spelt differently");

        let c = convert(
            r#"{"name":"Pilot","amount_minor":250000,"currency":"EUR","owner_id":null,"expected_close_date":"2026-05-01","pipeline_id":1}"#,
            &facts(&lead(New, None), None),
        )
        .unwrap();
        assert_eq!((c.opportunity.name.as_str(), c.opportunity.amount_minor, c.opportunity.currency.as_str()), ("Pilot", 250000, "EUR"));
        assert_eq!(
            (c.opportunity.stage.as_str(), c.opportunity.owner_id, c.opportunity.expected_close_date.as_deref()),
            ("qualification", None, Some("2026-05-01")),
            "the pipeline's first stage; null leaves it unowned"
        );
        assert_eq!(c.opportunity.status, StageOutcome::Open);
        let unowned = LeadFacts { owner_id: None, ..facts(&l, None) };
        assert_eq!(
            convert(r#"{"currency":"USD"}"#, &unowned).unwrap().opportunity.owner_id,
            None,
            "left for the store to give the converting user"
        );
    }

    #[test]
    fn converting_twice_a_non_lead_or_a_disqualified_lead_is_refused() {
        let converted =
            LeadData { lead_status: Qualified, converted_at: Some(NOW.into()), converted_opportunity_id: Some(5), ..LeadData::default() };
        let r = refusal(convert("{}", &facts(&converted, None)).unwrap_err());
        assert_eq!((r.action, r.state, r.reason.as_str()), ("convert", "qualified", "the lead was already converted"));
        let stamped = LeadData { converted_at: Some(NOW.into()), ..LeadData::default() };
        assert!(check_convertible(&facts(&stamped, None)).is_err(), "a conversion time alone is enough");
        let l = LeadData::default();
        for stage in [LifecycleStage::Prospect, LifecycleStage::Customer, LifecycleStage::Churned] {
            let f = LeadFacts { lifecycle_stage: stage, ..facts(&l, None) };
            let r = refusal(convert(r#"{"company_name":"x"}"#, &f).unwrap_err());
            assert_eq!(r.state, stage.as_str(), "refused before the input is looked at");
        }
        let out = lead(Disqualified, Some("Was too early"));
        let r = refusal(convert(r#"{"currency":"USD"}"#, &facts(&out, None)).unwrap_err());
        assert_eq!((r.state, r.allowed.clone(), r.field), ("disqualified", vec!["new", "working", "nurturing"], Some("lead_status")));
        assert!(check_convertible(&facts(&l, None)).is_ok());
    }

    #[test]
    fn bad_conversions_name_their_fields() {
        let l = LeadData::default();
        let e = convert(r#"{"company_name":"Other Co","currency":"USD"}"#, &facts(&l, Some((8, "Acme")))).unwrap_err();
        assert_eq!(fields(e), ["company_name"]);
        let long = format!(
            r#"{{"company_name":"{}","amount_minor":-1,"currency":"XX","expected_close_date":"soon","pipeline_id":9}}"#,
            "x".repeat(201)
        );
        let e = convert(&long, &facts(&l, None)).unwrap_err();
        assert_eq!(fields(e), ["company_name", "amount_minor", "currency", "expected_close_date", "pipeline_id"]);
        let no_currency = OpportunityContext { default_currency: None, ..ctx() };
        let e = serde_json::from_str::<ConvertLeadInput>("{}").unwrap().apply(&facts(&l, None), &no_currency).unwrap_err();
        assert_eq!(fields(e), ["currency"]);
        assert!(serde_json::from_str::<ConvertLeadInput>(r#"{"stage":"won"}"#).is_err(), "the stage is the pipeline's first");
    }
}
