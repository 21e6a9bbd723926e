//! Activities (tasks, calls, meetings, notes, logged emails) on the shared record machinery,
//! and the task lists built from them.

use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{CompareOp, FieldFilter, ListParams, Page, SortField};
use rapport_domain::record::RecordSpec;
use rapport_domain::sales::activity::{self, Activity, ActivityData, TaskView};

use crate::records::engine::Table;
use crate::{Error, Result, Store};

impl Table for Activity {
    const SPEC: &'static RecordSpec = &activity::SPEC;
    type Data = ActivityData;

    fn data(&self) -> &ActivityData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Activity {
        Activity::tombstone(self)
    }
}

impl Store {
    /// One live activity.
    pub async fn get_activity(&self, actor: &Actor, id: i64) -> Result<Activity> {
        self.get_record(actor, id).await
    }

    /// A page of activities matching `p` (sync listings carry deleted ones as tombstones).
    pub async fn list_activities(&self, actor: &Actor, p: &ListParams) -> Result<Page<Activity>> {
        self.list_records(actor, p).await
    }

    /// Adds an activity; `build` validates it after the permission check. The owner must be
    /// one the actor may give records to, and the person and company ones they can see.
    pub async fn create_activity<F, E>(&self, actor: &Actor, build: F) -> Result<Activity>
    where
        F: FnOnce() -> Result<ActivityData, E>,
        E: Into<Error>,
    {
        require(actor, Object::Activity, Action::Create)?;
        self.create_record(actor, build().map_err(Into::into)?).await
    }

    /// Changes an activity (see [`Store::update_record`] for the contract).
    pub async fn update_activity<F, E>(&self, actor: &Actor, id: i64, if_match: Option<i64>, change: F) -> Result<Activity>
    where
        F: FnOnce(&ActivityData) -> Result<ActivityData, E>,
        E: Into<Error>,
    {
        self.update_record(actor, id, if_match, change).await
    }

    /// Soft-deletes an activity.
    pub async fn delete_activity(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Activity>(actor, id, if_match).await
    }

    /// Adds many activities in one transaction with a single audit row (demo data).
    pub async fn create_activities_batch(&self, actor: &Actor, batch: &[ActivityData]) -> Result<Vec<i64>> {
        self.create_records::<Activity>(actor, batch).await
    }

    /// A task list: the open tasks of `view` (due today, overdue or upcoming, in UTC days as of
    /// `now`), soonest due first, of `assignee_id` (everyone's when `None`), among the
    /// activities the actor reaches. `page` carries the limit and the cursor.
    pub async fn list_tasks(
        &self,
        actor: &Actor,
        view: TaskView,
        assignee_id: Option<i64>,
        now: chrono::DateTime<chrono::Utc>,
        page: &ListParams,
    ) -> Result<Page<Activity>> {
        let spec = &activity::SPEC;
        let field = |name: &str| spec.param(name).expect("an activity field");
        let eq = |name: &str, value: serde_json::Value| FieldFilter { field: field(name), op: CompareOp::Eq, value };
        let mut filters = vec![eq("kind", "task".into()), eq("done", false.into())];
        if let Some(a) = assignee_id {
            filters.push(eq("assignee_id", a.into()));
        }
        let (from, to) = view.due_range(now);
        for (op, bound) in [(CompareOp::Gte, from), (CompareOp::Lte, to)] {
            if let Some(b) = bound {
                filters.push(FieldFilter { field: field("due_at"), op, value: b.into() });
            }
        }
        let p = ListParams { filters, sort: SortField::Field(field("due_at")), desc: false, ..page.clone() };
        self.list_records(actor, &p).await
    }
}
