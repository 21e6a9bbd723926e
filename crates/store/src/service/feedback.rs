//! Feedback outside tickets, on the shared record machinery: nothing of its own but the
//! person it must name (the machinery checks that the reader may see them).

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::record::RecordSpec;
use rapport_domain::service::feedback::{Feedback, FeedbackData, FeedbackInput};

use crate::records::engine::Table;
use crate::{Result, Store};

impl Table for Feedback {
    const SPEC: &'static RecordSpec = &rapport_domain::service::feedback::SPEC;
    type Data = FeedbackData;

    fn data(&self) -> &FeedbackData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Feedback {
        Feedback::tombstone(self)
    }
}

impl Store {
    /// One live feedback record.
    pub async fn get_feedback(&self, actor: &Actor, id: i64) -> Result<Feedback> {
        self.get_record(actor, id).await
    }

    /// A page of feedback matching `p`.
    pub async fn list_feedback(&self, actor: &Actor, p: &ListParams) -> Result<Page<Feedback>> {
        self.list_records(actor, p).await
    }

    /// Records feedback from a person (owned by the creator unless it names an owner).
    pub async fn create_feedback(&self, actor: &Actor, mut input: FeedbackInput) -> Result<Feedback> {
        require(actor, Object::Ticket, Action::Create)?;
        if input.owner_id.is_none() {
            input.owner_id = Some(actor.user_id);
        }
        let data = input.apply(None)?;
        self.create_record(actor, data).await
    }

    /// Changes feedback; with `if_match`, a stale version is refused.
    pub async fn update_feedback(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: FeedbackInput) -> Result<Feedback> {
        self.update_record(actor, id, if_match, |cur: &FeedbackData| input.apply(Some(cur))).await
    }

    /// Soft-deletes feedback.
    pub async fn delete_feedback(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Feedback>(actor, id, if_match).await
    }
}
