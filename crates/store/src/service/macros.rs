//! Macros on the shared record machinery, and applying one to a ticket: the rendered reply is
//! posted and the macro's assignee, tags and workflow action applied in one transaction, with
//! one audit row saying which macro did it; an action the ticket's status does not allow undoes
//! it all (409 naming the allowed actions).

use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::record::RecordSpec;
use rapport_domain::sales::Rejected;
use rapport_domain::service::canned::{Macro, MacroData, MacroInput, render};
use rapport_domain::service::links::{MacroApplied, merge_values};
use rapport_domain::service::ticket::{Ticket, TicketData, TicketInput};
use rapport_domain::service::workflow;
use rapport_domain::{ValidationErrors, values};

use super::tickets::{NewMessage, post_agent_message};
use crate::records::engine::Table;
use crate::sql::sql;
use crate::{Error, Result, Store};

impl Table for Macro {
    const SPEC: &'static RecordSpec = &rapport_domain::service::canned::SPEC;
    type Data = MacroData;

    fn data(&self) -> &MacroData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Macro {
        Macro::tombstone(self)
    }
}

/// The ticket after the first step of macro `m`, from `cur`: its assignee (which assigns a new
/// ticket) and its tags added.
fn assigned_and_tagged(m: &MacroData, cur: &TicketData, now: &str) -> std::result::Result<TicketData, Rejected> {
    let mut d = cur.clone();
    if let Some(a) = m.assignee_id.filter(|a| d.owner_id != Some(*a)) {
        d = TicketInput { owner_id: Some(Some(a)), ..Default::default() }.apply(Some(&d), now)?;
    }
    if m.add_tags.iter().any(|t| !d.tags.contains(t)) {
        let tags = d.tags.iter().chain(&m.add_tags).cloned().collect();
        d = TicketInput { tags: Some(tags), ..Default::default() }.apply(Some(&d), now)?;
    }
    Ok(d)
}

/// The second step: the macro's workflow action, if any.
fn acted(m: &MacroData, cur: &TicketData, now: &str) -> std::result::Result<TicketData, Rejected> {
    match m.action {
        Some(action) => cur.perform(action, workflow::Actor::Agent, cur.owner_id, None, now),
        None => Ok(cur.clone()),
    }
}

impl Store {
    /// One live macro.
    pub async fn get_macro(&self, actor: &Actor, id: i64) -> Result<Macro> {
        self.get_record(actor, id).await
    }

    /// A page of macros (sync listings carry deleted ones as tombstones).
    pub async fn list_macros(&self, actor: &Actor, p: &ListParams) -> Result<Page<Macro>> {
        self.list_records(actor, p).await
    }

    /// Adds a macro (admins and managers); a name another live macro has is a conflict on
    /// `name`, an unknown merge field a field error on `body`.
    pub async fn create_macro(&self, actor: &Actor, input: MacroInput) -> Result<Macro> {
        require(actor, Object::Macro, Action::Create)?;
        self.create_record(actor, input.apply(None)?).await
    }

    /// Changes a macro; with `if_match`, a stale version is refused.
    pub async fn update_macro(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: MacroInput) -> Result<Macro> {
        self.update_record(actor, id, if_match, |cur: &MacroData| input.apply(Some(cur))).await
    }

    /// Soft-deletes a macro (replies it posted stay).
    pub async fn delete_macro(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Macro>(actor, id, if_match).await
    }

    /// Applies macro `macro_id` to ticket `id` as `actor`: posts its reply with the merge
    /// fields filled (the ticket's status as the macro leaves it) and applies its actions, all
    /// in one transaction. With `preview`, renders and computes the same and changes nothing.
    pub async fn apply_macro(&self, actor: &Actor, id: i64, macro_id: i64, preview: bool) -> Result<MacroApplied> {
        require(actor, Object::Ticket, Action::Update)?;
        let m = self.get_macro(actor, macro_id).await?;
        let seen = self.get_ticket(actor, id).await?;
        let email = match seen.data.customer_id {
            Some(c) => self.get_customer(actor, c).await.ok().and_then(|c| c.data.email),
            None => None,
        };
        let agent = match actor.user_id {
            Some(u) => self.read_optional(&sql("SELECT name FROM users WHERE id = ?", [u.into()]), |r| r.get::<String>("name")).await?,
            None => None,
        };
        let now = now_rfc3339();
        let body_of = |t: &Ticket| -> Result<String> {
            let body = render(&m.data.body, &merge_values(t, email.clone(), agent.clone()))
                .map_err(|e| Error::Invalid(ValidationErrors::single("body", e)))?;
            values::bounded_text(&body, rapport_domain::service::message::MAX_BODY)
                .map_err(|e| Error::Invalid(ValidationErrors::single("body", e)))?
                .ok_or_else(|| Error::Invalid(ValidationErrors::single("body", "the macro's reply renders empty for this ticket")))
        };
        if preview {
            let data = acted(&m.data, &assigned_and_tagged(&m.data, &seen.data, &now)?, &now)?;
            let ticket = Ticket { data, ..seen };
            let body = body_of(&ticket)?;
            return Ok(MacroApplied { body, internal: m.data.internal, message: None, ticket, preview: true });
        }
        let mut tx = self.write_tx().await?;
        // Each step that changes the ticket is its own update, so the status history keeps
        // every state entered (new → assigned → waiting), as separate clicks would.
        let cur = self.record_in::<Ticket>(&mut tx, actor, id, false).await?;
        let first = assigned_and_tagged(&m.data, &cur.data, &now)?;
        if first != cur.data {
            self.update_in::<Ticket, _, _>(&mut tx, actor, id, None, |_: &TicketData| Ok::<_, Rejected>(first.clone())).await?;
        }
        if m.data.action.is_some() {
            self.update_in::<Ticket, _, _>(&mut tx, actor, id, None, |cur: &TicketData| acted(&m.data, cur, &now)).await?;
        }
        let ticket = self.as_seen::<Ticket>(&mut tx, actor, id).await?;
        let body = body_of(&ticket)?;
        let note = NewMessage {
            author: workflow::Actor::Agent,
            author_id: actor.user_id,
            author_name: agent.clone(),
            internal: m.data.internal,
            body: &body,
        };
        let message = post_agent_message(self, &mut tx, &ticket, note, &now).await?;
        let summary = serde_json::json!({"macro_id": macro_id, "macro": m.data.name, "message_id": message.id});
        self.audit(&mut tx, actor, "apply_macro", "ticket", Some(id), summary).await?;
        tx.commit().await?;
        Ok(MacroApplied { body, internal: m.data.internal, message: Some(message), ticket, preview: false })
    }
}
