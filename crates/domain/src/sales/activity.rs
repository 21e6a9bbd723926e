//! Activities: tasks, calls, meetings, notes and logged emails, each linked to a person, a
//! company or an opportunity (and, later, a ticket) — the timeline of working a customer.
//!
//! What each kind carries:
//!
//! | kind    | `due_at` | `starts_at` | `ends_at` | `done`            |
//! |---------|----------|-------------|-----------|-------------------|
//! | task    | optional | —           | —         | set by the user   |
//! | call    | —        | optional    | optional  | set by the user   |
//! | meeting | —        | required    | optional  | set by the user   |
//! | note    | —        | —           | —         | always            |
//! | email   | —        | optional (sent) | —     | always            |
//!
//! Days are UTC days: a task due on a day without a time is due by the end of that UTC day,
//! and "due today" compares UTC dates (per-user time zones can come later by passing an
//! offset).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{apply_time, instant, parse_day, required_text, utc_day};
use crate::customer::apply_text;
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::{ValidationErrors, double_option, text};

/// Activities as a record type. The owner decides who reaches an activity, as for every owned
/// record; the assignee is who is to do it (the task lists are per assignee). `done_at` is
/// stored from what [`ActivityInput::apply`] stamps, which no client input sets.
pub static SPEC: RecordSpec = RecordSpec {
    name: "activity",
    plural: "activities",
    label: "activity",
    label_plural: "activities",
    object: Object::Activity,
    title: "subject",
    owned: true,
    custom: None,
    fields: &[
        Field::new("kind", "Kind", Kind::Choice(ActivityKind::NAMES)).filtered(),
        Field::new("subject", "Subject", Kind::Text).searched().sorted(),
        Field::new("body", "Details", Kind::LongText),
        Field::new("due_at", "Due", Kind::Time).filtered().sorted(),
        Field::new("starts_at", "Starts", Kind::Time).filtered().sorted(),
        Field::new("ends_at", "Ends", Kind::Time),
        Field::new("done", "Done", Kind::Bool).filtered(),
        Field::new("done_at", "Done at", Kind::Time).filtered().sorted(),
        Field::new("assignee_id", "Assigned to", Kind::Ref("users")).filtered(),
        Field::new("owner_id", "Owner", Kind::Ref("users")).filtered(),
        Field::new("customer_id", "Person", Kind::Ref("customers")).filtered().shown_as("customer_name"),
        Field::new("company_id", "Company", Kind::Ref("companies")).filtered().shown_as("company_name"),
        Field::new("opportunity_id", "Opportunity", Kind::Int).filtered(),
    ],
};

/// The kinds of activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// Something to do, by a due time.
    #[default]
    Task,
    /// A phone call.
    Call,
    /// A meeting.
    Meeting,
    /// A note.
    Note,
    /// An email, logged.
    Email,
}

impl ActivityKind {
    /// Every kind.
    pub const ALL: [ActivityKind; 5] = [Self::Task, Self::Call, Self::Meeting, Self::Note, Self::Email];
    /// Their names, in the same order.
    pub const NAMES: &'static [&'static str] = &["task", "call", "meeting", "note", "email"];

    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::Call => "call",
            Self::Meeting => "meeting",
            Self::Note => "note",
            Self::Email => "email",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<ActivityKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Notes and emails record what happened, so they are always done.
    pub fn always_done(self) -> bool {
        matches!(self, Self::Note | Self::Email)
    }
}

/// An activity's editable fields, always valid (built by [`ActivityInput::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ActivityData {
    /// Kind (fixed once created).
    pub kind: ActivityKind,
    /// Subject, 1 to 200 characters.
    pub subject: String,
    /// Text: the note, the email, the call's summary.
    pub body: Option<String>,
    /// Tasks: when it is due (RFC 3339 UTC).
    pub due_at: Option<String>,
    /// Calls and meetings: when they start; emails: when sent (RFC 3339 UTC).
    pub starts_at: Option<String>,
    /// Calls and meetings: when they end, not before `starts_at`.
    pub ends_at: Option<String>,
    /// Whether it is done (always for notes and emails).
    pub done: bool,
    /// When it was marked done (read-only).
    pub done_at: Option<String>,
    /// The user who is to do it.
    pub assignee_id: Option<i64>,
    /// The user who owns the record.
    pub owner_id: Option<i64>,
    /// The person it is about.
    pub customer_id: Option<i64>,
    /// The company it is about.
    pub company_id: Option<i64>,
    /// The opportunity it is about.
    pub opportunity_id: Option<i64>,
}

impl ActivityData {
    /// An open task whose due time has passed.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.open_task_due().is_some_and(|due| instant(due).is_some_and(|d| d < now))
    }

    /// An open task due on `now`'s UTC day (whether or not its time has passed).
    pub fn is_due_today(&self, now: DateTime<Utc>) -> bool {
        self.open_task_due().and_then(utc_day) == Some(now.date_naive())
    }

    fn open_task_due(&self) -> Option<&str> {
        (self.kind == ActivityKind::Task && !self.done).then_some(self.due_at.as_deref()).flatten()
    }

    /// The folded subject, which full-text search indexes (bodies may hold personal details).
    pub fn search_name(&self) -> String {
        text::fold(&self.subject)
    }
}

/// The views of a task list: open tasks by when they are due, in UTC days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskView {
    /// Due on today's UTC day (including those whose time today has passed).
    #[default]
    Today,
    /// Due before now.
    Overdue,
    /// Due from tomorrow on.
    Upcoming,
}

impl TaskView {
    /// Every view.
    pub const ALL: [TaskView; 3] = [Self::Today, Self::Overdue, Self::Upcoming];

    /// Name as in `view=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::Overdue => "overdue",
            Self::Upcoming => "upcoming",
        }
    }

    /// The due times the view takes as of `now`: (at or after, at or before), in the stored
    /// form (canonical RFC 3339 UTC text, which sorts as time does).
    pub fn due_range(self, now: DateTime<Utc>) -> (Option<String>, Option<String>) {
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let day = now.date_naive();
        match self {
            Self::Today => (Some(format!("{day}T00:00:00.000000Z")), Some(format!("{day}T23:59:59.999999Z"))),
            Self::Overdue => (None, Some(stamp(now - chrono::Duration::microseconds(1)))),
            Self::Upcoming => (day.succ_opt().map(|d| format!("{d}T00:00:00.000000Z")), None),
        }
    }

    /// Whether an activity belongs in this view as of `now` (what [`TaskView::due_range`]
    /// selects, as the domain's own rule).
    pub fn shows(self, a: &ActivityData, now: DateTime<Utc>) -> bool {
        match self {
            Self::Today => a.is_due_today(now),
            Self::Overdue => a.is_overdue(now),
            Self::Upcoming => a.open_task_due().and_then(utc_day).is_some_and(|d| d > now.date_naive()),
        }
    }
}

/// An activity as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    /// Identifier.
    pub id: i64,
    /// Editable fields.
    #[serde(flatten)]
    pub data: ActivityData,
    /// Name of the linked person, where the reader may see them (read-only).
    #[serde(default)]
    pub customer_name: Option<String>,
    /// Name of the linked company, where the reader may see it (read-only).
    #[serde(default)]
    pub company_name: Option<String>,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Set on tombstones in sync listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Activity {
    /// What a sync listing shows of a deleted activity: that it is gone, and nothing else.
    pub fn tombstone(self) -> Activity {
        Activity { data: ActivityData::default(), customer_name: None, company_name: None, ..self }
    }
}

/// What a client sends to create (`kind`, `subject` and at least one of `customer_id`,
/// `company_id`, `opportunity_id` required) or update an activity.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    /// Kind; cannot change once created.
    pub kind: Option<ActivityKind>,
    /// Subject.
    pub subject: Option<String>,
    /// Body, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub body: Option<Option<String>>,
    /// Due time or day (a day alone means by the end of that UTC day), or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub due_at: Option<Option<String>>,
    /// Start time, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub starts_at: Option<Option<String>>,
    /// End time, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub ends_at: Option<Option<String>>,
    /// Done or not.
    pub done: Option<bool>,
    /// Assignee's user id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    /// Owner's user id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
    /// Person id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub customer_id: Option<Option<i64>>,
    /// Company id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub company_id: Option<Option<i64>>,
    /// Opportunity id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub opportunity_id: Option<Option<i64>>,
}

/// Reads a due time; a day alone is due by the end of that UTC day.
fn parse_due(raw: &str) -> Result<String, String> {
    match parse_day(raw) {
        Ok(day) => Ok(format!("{day}T23:59:59.999999Z")),
        Err(_) => crate::query::parse_time(raw.trim()),
    }
}

impl ActivityInput {
    /// Fills in who a new activity belongs to when the input does not say: the owner (who
    /// reaches it) is the assignee, or else `creator`; the assignee is the owner. So a task given
    /// to someone is theirs to see, as in CRMs where "assigned to" is the owner.
    pub fn with_owner_defaults(mut self, creator: Option<i64>) -> ActivityInput {
        if self.owner_id.is_none() {
            self.owner_id = Some(self.assignee_id.flatten().or(creator));
        }
        if self.assignee_id.is_none() {
            self.assignee_id = Some(self.owner_id.flatten());
        }
        self
    }

    /// Merges onto `current` (or a new activity) and validates it for its kind; `now` (RFC 3339
    /// UTC) stamps `done_at` when it becomes done.
    pub fn apply(self, current: Option<&ActivityData>, now: &str) -> Result<ActivityData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or_default();
        let was_done = current.is_some_and(|c| c.done);
        match (self.kind, current) {
            (Some(k), None) => d.kind = k,
            (None, None) => errs.add("kind", "is required: task, call, meeting, note or email"),
            (Some(k), Some(c)) if k != c.kind => errs.add("kind", "cannot change: create a new activity of the other kind"),
            _ => {}
        }
        match self.subject.map(|s| required_text(&s, 200)) {
            Some(Ok(s)) => d.subject = s,
            Some(Err(m)) => errs.add("subject", m),
            None if creating => errs.add("subject", "is required"),
            None => {}
        }
        apply_text(&mut errs, "body", self.body, &mut d.body, 20000);
        if let Some(v) = self.due_at {
            d.due_at = v.filter(|s| !s.trim().is_empty()).and_then(|s| errs.check("due_at", parse_due(&s)));
        }
        apply_time(&mut errs, "starts_at", self.starts_at, &mut d.starts_at);
        apply_time(&mut errs, "ends_at", self.ends_at, &mut d.ends_at);
        for (input, target) in [
            (self.assignee_id, &mut d.assignee_id),
            (self.owner_id, &mut d.owner_id),
            (self.customer_id, &mut d.customer_id),
            (self.company_id, &mut d.company_id),
            (self.opportunity_id, &mut d.opportunity_id),
        ] {
            if let Some(v) = input {
                *target = v;
            }
        }

        use ActivityKind::*;
        let kind = d.kind;
        if d.due_at.is_some() && kind != Task {
            errs.add("due_at", format!("only tasks have a due time; a {} does not", kind.as_str()));
        }
        if d.starts_at.is_some() && matches!(kind, Task | Note) {
            errs.add("starts_at", format!("a {} has no start time{}", kind.as_str(), if kind == Task { "; use due_at" } else { "" }));
        }
        if d.ends_at.is_some() && !matches!(kind, Call | Meeting) {
            errs.add("ends_at", format!("only calls and meetings have an end time; a {} does not", kind.as_str()));
        }
        if kind == Meeting && d.starts_at.is_none() && !errs.0.iter().any(|e| e.field == "starts_at") {
            errs.add("starts_at", "is required for a meeting");
        }
        if matches!(kind, Call | Meeting) {
            match (d.starts_at.as_deref(), d.ends_at.as_deref()) {
                (Some(s), Some(e)) if instant(e) < instant(s) => errs.add("ends_at", "must not be before starts_at"),
                (None, Some(_)) if kind == Call => errs.add("ends_at", "needs starts_at"),
                _ => {}
            }
        }
        if kind.always_done() {
            if self.done == Some(false) {
                errs.add("done", format!("a {} records what happened and is always done", kind.as_str()));
            }
            d.done = true;
        } else if let Some(done) = self.done {
            d.done = done;
        }
        if d.done && (creating || !was_done) {
            d.done_at = Some(now.to_string());
        } else if !d.done {
            d.done_at = None;
        }
        if d.customer_id.is_none() && d.company_id.is_none() && d.opportunity_id.is_none() {
            errs.add(
                "customer_id",
                "link the activity to a person, a company or an opportunity (customer_id, company_id or opportunity_id)",
            );
        }
        errs.into_result(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActivityKind::*;

    const NOW: &str = "2026-03-10T12:00:00.000000Z";

    fn input(json: &str) -> ActivityInput {
        serde_json::from_str(json).unwrap()
    }

    fn create(json: &str) -> ActivityData {
        input(json).apply(None, NOW).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn fields(e: ValidationErrors) -> Vec<String> {
        e.0.into_iter().map(|e| e.field).collect()
    }

    fn at(s: &str) -> DateTime<Utc> {
        instant(s).unwrap()
    }

    #[test]
    fn each_kind_is_created_with_its_fields() {
        let t = create(r#"{"kind":"task","subject":" Send quote ","due_at":"2026-03-12","assignee_id":4,"customer_id":1}"#);
        assert_eq!(
            (t.subject.as_str(), t.due_at.as_deref(), t.done, t.done_at.as_deref()),
            ("Send quote", Some("2026-03-12T23:59:59.999999Z"), false, None)
        );
        assert_eq!(t.assignee_id, Some(4));
        let t = create(r#"{"kind":"task","subject":"Call back","due_at":"2026-03-12T09:30:00+02:00","company_id":1}"#);
        assert_eq!(t.due_at.as_deref(), Some("2026-03-12T07:30:00.000000Z"));
        let c = create(
            r#"{"kind":"call","subject":"Intro","starts_at":"2026-03-10T10:00:00Z","ends_at":"2026-03-10T10:20:00Z","done":true,"opportunity_id":3}"#,
        );
        assert_eq!((c.done, c.done_at.as_deref()), (true, Some(NOW)));
        let m = create(r#"{"kind":"meeting","subject":"Demo","starts_at":"2026-03-11T15:00:00Z","customer_id":1}"#);
        assert_eq!((m.kind, m.done, m.ends_at), (Meeting, false, None));
        let n = create(r#"{"kind":"note","subject":"Prefers email","body":"Not before 10am","customer_id":1}"#);
        assert_eq!((n.done, n.done_at.as_deref(), n.body.as_deref()), (true, Some(NOW), Some("Not before 10am")));
        let e = create(r#"{"kind":"email","subject":"Re: pricing","starts_at":"2026-03-09T08:00:00Z","customer_id":1}"#);
        assert!(e.done);
    }

    #[test]
    fn fields_that_do_not_fit_the_kind_are_refused() {
        let cases = [
            (r#"{"kind":"call","subject":"x","customer_id":1,"due_at":"2026-03-12"}"#, vec!["due_at"]),
            (r#"{"kind":"task","subject":"x","customer_id":1,"starts_at":"2026-03-12"}"#, vec!["starts_at"]),
            (
                r#"{"kind":"note","subject":"x","customer_id":1,"starts_at":"2026-03-12","ends_at":"2026-03-12"}"#,
                vec!["starts_at", "ends_at"],
            ),
            (r#"{"kind":"email","subject":"x","customer_id":1,"ends_at":"2026-03-12"}"#, vec!["ends_at"]),
            (r#"{"kind":"meeting","subject":"x","customer_id":1}"#, vec!["starts_at"]),
            (r#"{"kind":"meeting","subject":"x","customer_id":1,"starts_at":"whenever"}"#, vec!["starts_at"]),
            (
                r#"{"kind":"meeting","subject":"x","customer_id":1,"starts_at":"2026-03-12T10:00:00Z","ends_at":"2026-03-12T09:00:00Z"}"#,
                vec!["ends_at"],
            ),
            (r#"{"kind":"call","subject":"x","customer_id":1,"ends_at":"2026-03-12T09:00:00Z"}"#, vec!["ends_at"]),
            (r#"{"kind":"note","subject":"x","customer_id":1,"done":false}"#, vec!["done"]),
            (r#"{"kind":"task","subject":"x"}"#, vec!["customer_id"]),
            (r#"{"subject":"","body":null}"#, vec!["kind", "subject", "customer_id"]),
            (r#"{"kind":"task","subject":"x","customer_id":1,"due_at":"next week"}"#, vec!["due_at"]),
        ];
        for (json, want) in cases {
            assert_eq!(fields(input(json).apply(None, NOW).unwrap_err()), want, "{json}");
        }
        assert!(serde_json::from_str::<ActivityInput>(r#"{"kind":"visit"}"#).is_err());
        assert!(serde_json::from_str::<ActivityInput>(r#"{"ticket_id":1}"#).is_err());
    }

    #[test]
    fn patches_keep_kind_and_stamp_done() {
        let t = create(r#"{"kind":"task","subject":"Send quote","due_at":"2026-03-12","customer_id":1}"#);
        assert_eq!(fields(input(r#"{"kind":"note"}"#).apply(Some(&t), NOW).unwrap_err()), ["kind"]);
        assert!(input(r#"{"kind":"task"}"#).apply(Some(&t), NOW).is_ok(), "restating the kind is fine");
        let done = input(r#"{"done":true}"#).apply(Some(&t), NOW).unwrap();
        assert_eq!((done.done, done.done_at.as_deref()), (true, Some(NOW)));
        let again = input(r#"{"done":true,"subject":"Sent quote"}"#).apply(Some(&done), "2026-03-11T00:00:00Z").unwrap();
        assert_eq!(again.done_at.as_deref(), Some(NOW), "still done since the first time");
        let undone = input(r#"{"done":false}"#).apply(Some(&done), NOW).unwrap();
        assert_eq!((undone.done, undone.done_at), (false, None));
        assert_eq!(fields(input(r#"{"customer_id":null}"#).apply(Some(&t), NOW).unwrap_err()), ["customer_id"], "the last link cannot go");
        let moved = input(r#"{"customer_id":null,"opportunity_id":5,"due_at":null}"#).apply(Some(&t), NOW).unwrap();
        assert_eq!((moved.customer_id, moved.opportunity_id, moved.due_at), (None, Some(5), None));
    }

    #[test]
    fn overdue_and_due_today_are_for_open_tasks_in_utc_days() {
        let task = |due: &str| create(&format!(r#"{{"kind":"task","subject":"x","customer_id":1,"due_at":"{due}"}}"#));
        let now = at("2026-03-10T12:00:00Z");
        let today = task("2026-03-10");
        assert!(today.is_due_today(now) && !today.is_overdue(now), "a day alone is due by the end of it");
        assert!(today.is_overdue(at("2026-03-11T00:00:00Z")));
        let morning = task("2026-03-10T09:00:00Z");
        assert!(morning.is_due_today(now) && morning.is_overdue(now));
        let yesterday = task("2026-03-09");
        assert!(!yesterday.is_due_today(now) && yesterday.is_overdue(now));
        let tomorrow = task("2026-03-11T00:30:00+02:00"); // 22:30 UTC on the 10th
        assert!(tomorrow.is_due_today(now) && !tomorrow.is_overdue(now), "UTC days, not the writer's");
        let done = input(r#"{"done":true}"#).apply(Some(&yesterday), NOW).unwrap();
        assert!(!done.is_overdue(now) && !done.is_due_today(now));
        let undated = create(r#"{"kind":"task","subject":"x","customer_id":1}"#);
        assert!(!undated.is_overdue(now) && !undated.is_due_today(now));
        let meeting = create(r#"{"kind":"meeting","subject":"x","customer_id":1,"starts_at":"2026-03-09T10:00:00Z"}"#);
        assert!(!meeting.is_overdue(now), "only tasks are overdue");
    }

    #[test]
    fn owner_and_assignee_default_to_each_other_and_to_the_creator() {
        let d = |json: &str| {
            let i = input(json).with_owner_defaults(Some(7));
            (i.owner_id, i.assignee_id)
        };
        assert_eq!(d("{}"), (Some(Some(7)), Some(Some(7))));
        assert_eq!(d(r#"{"assignee_id":3}"#), (Some(Some(3)), Some(Some(3))));
        assert_eq!(d(r#"{"owner_id":4}"#), (Some(Some(4)), Some(Some(4))));
        assert_eq!(d(r#"{"owner_id":4,"assignee_id":3}"#), (Some(Some(4)), Some(Some(3))));
        assert_eq!(d(r#"{"owner_id":null}"#), (Some(None), Some(None)));
        assert_eq!(d(r#"{"assignee_id":null}"#), (Some(Some(7)), Some(None)));
    }

    #[test]
    fn task_views_select_by_due_range_as_the_rules_say() {
        let task = |due: &str| create(&format!(r#"{{"kind":"task","subject":"x","customer_id":1,"due_at":"{due}"}}"#));
        let now = at("2026-03-10T12:00:00Z");
        let cases = [
            ("2026-03-09T23:59:59Z", [false, true, false]),
            ("2026-03-10T00:00:00Z", [true, true, false]),
            ("2026-03-10T11:59:59Z", [true, true, false]),
            ("2026-03-10T12:00:01Z", [true, false, false]),
            ("2026-03-10", [true, false, false]),
            ("2026-03-11T00:00:00Z", [false, false, true]),
            ("2027-01-01", [false, false, true]),
        ];
        for (due, want) in cases {
            let t = task(due);
            let stored = t.due_at.clone().unwrap();
            for (view, want) in TaskView::ALL.into_iter().zip(want) {
                assert_eq!(view.shows(&t, now), want, "{due} in {view:?}");
                let (from, to) = view.due_range(now);
                let in_range = from.is_none_or(|f| stored >= f) && to.is_none_or(|t| stored <= t);
                assert_eq!(in_range, want, "{due} in the range of {view:?}");
            }
        }
        assert_eq!(TaskView::Upcoming.due_range(now), (Some("2026-03-11T00:00:00.000000Z".into()), None));
    }

    #[test]
    fn kinds_names_search_and_tombstones() {
        for k in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(ActivityKind::ALL.into_iter().filter(|k| k.always_done()).collect::<Vec<_>>(), [Note, Email]);
        let n = create(r#"{"kind":"note","subject":"Zoë's budget","customer_id":1}"#);
        assert_eq!(n.search_name(), "zoe s budget");
        let a = Activity {
            id: 2,
            data: n,
            customer_name: Some("Zoë Ng".into()),
            company_name: None,
            created_at: NOW.into(),
            updated_at: NOW.into(),
            deleted_at: Some(NOW.into()),
            version: 4,
        };
        assert_eq!(serde_json::to_value(&a).unwrap()["kind"], "note");
        let t = a.tombstone();
        assert_eq!((t.data, t.customer_name), (ActivityData::default(), None));
        assert_eq!(ActivityKind::NAMES, ActivityKind::ALL.map(ActivityKind::as_str));
        assert!(SPEC.writable().any(|f| f.name == "done_at"), "stored from what apply stamps");
    }
}
